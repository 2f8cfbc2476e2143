"""FOCE: nlme's Lindstrom–Bates algorithm for a nonlinear mixed-effects model, :func:`foce`.

This module owns ``nlmm(..., method="foce")``'s algorithm: the alternation of a penalized nonlinear
least-squares step (:func:`pnls`: the conditional modes of b and beta given the relative covariance, by
Gauss–Newton steps of :func:`quadlib.glmm._newton.newton`) and a linear mixed-model step (the ML estimates
of the covariance, beta and sigma for the model linearized at those modes: :class:`quadlib.glmm.LMMObjective`
and :func:`quadlib.glmm._lmm.optimize_theta`), to its fixed point. The linearized model is a
:class:`~quadlib.glmm.Design` like any other (:func:`quadlib.glmm._design.design_from_arrays`, its random term
the model's: :meth:`~quadlib.glmm.NonlinearModel.random_term`), so theta has one layout, the model's
:meth:`~quadlib.glmm.NonlinearModel.theta_layout`; it is relative to sigma here, as in the LMM step. ``llf`` is
the log-likelihood of the linearized model there, as nlme reports it.

References
----------
M. J. Lindstrom and D. M. Bates, "Nonlinear mixed effects models for repeated measures data",
Biometrics 46 (1990) 673-687.
"""
import math

import numpy as np

from ._design import design_from_arrays
from ._lmm import LMMObjective, optimize_theta
from ._newton import NO_PROGRESS, NOT_FINITE, newton

__all__ = ["foce", "pnls"]

_PNLS_ITER = 200       # Gauss–Newton iterations of one penalized nonlinear least-squares step
_PNLS_TOL = 1e-11      # ... stop when the step is below this (relative)
_FOCE_ITER = 200       # Lindstrom–Bates iterations
_FOCE_TOL = 1e-9       # ... stop when beta, theta and sigma change by less than this (relative)


def pnls(model, beta, u, T):
    """Penalized nonlinear least squares: min over (beta, u) of |y - f(beta, b = T u)|^2 + |u|^2.

    Gauss–Newton with step halving; the normal equations have one q x q block per group bordered by the
    p fixed effects, solved through the Schur complement of the blocks. Returns beta, u, the converged flag.
    """
    M, q = model.n_groups, model.q
    starts, y = model.starts, model.y
    everything = np.arange(len(model.parameters))
    eye = np.eye(q)
    p = len(beta)
    state = {"size": np.inf}

    def split(x):
        return x[:p], x[p:].reshape(M, q)

    def evaluate(x):   # newton maximizes: the negated criterion
        beta, u = split(x)
        f = model.evaluate(model.phi(beta, u @ T.T))
        value = float(np.sum((y - f) ** 2) + np.sum(u * u))
        return (-value if np.isfinite(value) else -np.inf), None

    def direction(x, value, info):
        beta, u = split(x)
        f, X = model.jacobian(model.phi(beta, u @ T.T), everything)
        r = y - f
        Zu = X[:, model.random_index] @ T                                           # d f / d u
        A = np.add.reduceat(Zu[:, :, None] * Zu[:, None, :], starts, axis=0) + eye  # (M, q, q)
        B = np.add.reduceat(Zu[:, :, None] * X[:, None, :], starts, axis=0)         # (M, q, p)
        c = np.add.reduceat(Zu * r[:, None], starts, axis=0) - u                    # (M, q)
        A_inv = np.linalg.inv(A)
        AB, Ac = A_inv @ B, np.einsum("mij,mj->mi", A_inv, c)
        schur = X.T @ X - np.einsum("mqi,mqj->ij", B, AB)
        rhs = X.T @ r - np.einsum("mqi,mq->i", B, Ac)
        try:
            d_beta = np.linalg.solve(schur, rhs)
        except np.linalg.LinAlgError:
            return None
        d_u = Ac - np.einsum("mij,j->mi", AB, d_beta)
        size = max(np.max(np.abs(d_beta) / np.maximum(np.abs(beta), 1.0)), np.max(np.abs(d_u), initial=0.0))
        state["size"] = size
        return np.concatenate([d_beta, d_u.ravel()]) if np.isfinite(size) else None

    # near the solution the criterion changes at rounding level: a step that does not increase it by more
    # than 8 eps (relative) is accepted, against the smallest value seen (the ratchet)
    res = newton(evaluate, direction, np.concatenate([beta, u.ravel()]), max_iter=_PNLS_ITER, max_halvings=40,
                 rtol=8 * np.finfo(float).eps, ratchet=True, done=lambda *args: state["size"] < _PNLS_TOL)
    if res.status == NOT_FINITE:
        raise ValueError("`model` predictions are not finite at the start values")
    beta, u = split(res.x)
    # no decrease along the Gauss–Newton direction: converged only if the step was already tiny
    converged = res.converged or (res.status == NO_PROGRESS and state["size"] < 1e-7)
    return beta, u, converged


def _linearized(model, beta, u, T, theta_start):
    """The LME step: the model linearized at (beta, b = T u), its ML fit by the closed-form LMM."""
    everything = np.arange(len(model.parameters))
    b = u @ T.T
    f, X = model.jacobian(model.phi(beta, b), everything)
    Z = np.ascontiguousarray(X[:, model.random_index])
    pseudo = model.y - f + X @ beta + np.sum(Z * b[model.index], axis=1)
    design = design_from_arrays(pseudo, X, model.parameters, [model.random_term(Z)], formula=model.formula,
                                rows=model.rows)
    objective = LMMObjective(design, reml=False)
    optimum = optimize_theta(objective, theta_start, restarts=0)
    return objective, optimum, objective.solve(optimum.x)


def foce(model, beta, verbose=False):
    """Lindstrom–Bates to its fixed point: (beta, theta, sigma, b, the LME objective and solution, flag,
    message, history)."""
    M, q = model.n_groups, model.q
    # theta relative to sigma, as the LMM step's (whose layout is this one: the model's random term)
    layout = model.theta_layout()
    block, theta = layout.blocks[0], layout.start(1.0)
    u = np.zeros((M, q))
    history = []
    converged, message = False, f"no fixed point in {_FOCE_ITER} iterations"
    sigma = np.nan
    for iteration in range(_FOCE_ITER):
        T = block.factor(theta)
        beta, u, pnls_ok = pnls(model, beta, u, T)
        objective, optimum, solution = _linearized(model, beta, u, T, theta)
        new_theta = optimum.x
        new_sigma = math.sqrt(solution.r2 / model.nobs)
        history.append(-0.5 * solution.criterion)
        change = max(np.max(np.abs(new_theta - theta) / np.maximum(np.abs(theta), 1.0)),
                     np.max(np.abs(solution.beta - beta) / np.maximum(np.abs(beta), 1.0)),
                     abs(new_sigma - sigma) / new_sigma if np.isfinite(sigma) else np.inf)
        if verbose:
            print(f"  iteration {iteration + 1:4d}: log-likelihood {history[-1]:.10f}, relative change "
                  f"{change:.2e}", flush=True)
        # u in the new factor: b = T u held fixed (the previous modes are the best start)
        T_new = block.factor(new_theta)
        b = u @ T.T
        u = np.linalg.lstsq(T_new, b.T, rcond=None)[0].T if np.any(T_new) else np.zeros_like(u)
        theta, sigma = new_theta, new_sigma
        if change < _FOCE_TOL and pnls_ok and optimum.converged:
            converged, message = True, "converged"
            break
    else:
        if not pnls_ok:
            message += " (the penalized nonlinear least-squares step did not converge)"
    # the estimates: the final PNLS step and the LME fit linearized there
    T = block.factor(theta)
    beta, u, pnls_ok = pnls(model, beta, u, T)
    objective, optimum, solution = _linearized(model, beta, u, T, theta)
    converged = converged and pnls_ok and optimum.converged
    return dict(beta=solution.beta, theta=optimum.x, sigma=math.sqrt(solution.r2 / model.nobs),
                b=(u @ T.T), T=block.factor(optimum.x), objective=objective, solution=solution,
                converged=converged, message=message, history=history, iterations=iteration + 1)
