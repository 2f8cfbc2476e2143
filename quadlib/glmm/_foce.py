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

__all__ = ["foce", "pnls", "LinearizedML"]

_PNLS_ITER = 200       # Gauss–Newton iterations of one penalized nonlinear least-squares step
_PNLS_TOL = 1e-11      # ... stop when the step is below this (relative)
_FOCE_ITER = 200       # Lindstrom–Bates iterations
_FOCE_TOL = 1e-9       # ... stop when beta, theta and sigma change by less than this (relative)
_LMM_NEWTON_ITER = 50  # Newton steps of one LMM step


def _pnls_sums(model, x, u, T, W, newton_curvature):
    """The pieces of the PNLS normal equations at (beta, u): per-group sums of the row curvature in phi,
    ``S_g`` (M, P, P), and of ``J_j r_j``, ``s_g`` (M, P); with `newton_curvature` the exact curvature
    ``J J' - r d2f`` (and the Gauss–Newton one ``J J'`` to fall back on), else only the Gauss–Newton one."""
    P = W.shape[0]
    phi = model.phi(x[:P], u @ T.T)
    if newton_curvature:
        f, J, H = model.second_derivatives(phi, np.arange(P))
    else:
        f, J = model.jacobian(phi, np.arange(P))
    r = model.y - f
    gauss_newton = np.add.reduceat(J[:, :, None] * J[:, None, :], model.starts, axis=0)
    exact = gauss_newton - np.add.reduceat(r[:, None, None] * H, model.starts, axis=0) if newton_curvature else None
    return np.add.reduceat(J * r[:, None], model.starts, axis=0), gauss_newton, exact


def _pnls_direction(S, s, u, W):
    """The step (d_beta, d_u) of the PNLS normal equations with the per-group curvature sums S (M, P, P):
    one q x q block per group (``W' S_g W + I``, W = d phi / d u) bordered by the p fixed effects, solved
    through the Schur complement of the blocks; None unless every block and the complement are positive
    definite (a Newton step is then a descent direction)."""
    A = np.einsum("pa,mpr,rb->mab", W, S, W)
    A[:, np.arange(W.shape[1]), np.arange(W.shape[1])] += 1.0
    B = np.einsum("pa,mpr->mar", W, S)                                   # (M, q, P)
    c = s @ W - u                                                         # (M, q)
    try:
        La = np.linalg.cholesky(A)
        AB = np.linalg.solve(A, B)
        Ac = np.linalg.solve(A, c[:, :, None])[:, :, 0]
        schur = S.sum(axis=0) - np.einsum("mqi,mqj->ij", B, AB)
        rhs = s.sum(axis=0) - np.einsum("mqi,mq->i", B, Ac)
        Ls = np.linalg.cholesky(schur)
    except np.linalg.LinAlgError:
        return None
    del La, Ls   # the factorizations only certify positive definiteness
    d_beta = np.linalg.solve(schur, rhs)
    return d_beta, Ac - np.einsum("mij,j->mi", AB, d_beta)


def pnls(model, beta, u, T, *, newton_curvature=True):
    """Penalized nonlinear least squares: min over (beta, u) of |y - f(beta, b = T u)|^2 + |u|^2.

    Newton's method with the exact curvature (``J'J - sum r d2f``, the second derivatives of f by
    :meth:`~quadlib.glmm.NonlinearModel.second_derivatives`) where it is positive definite, Gauss–Newton
    where not, with step halving: Gauss–Newton alone converges only linearly when the residuals are not
    small (30-45 iterations to 1e-11 on Theoph, 2-6 with Newton). The normal equations have one q x q block
    per group bordered by the p fixed effects, solved through the Schur complement of the blocks. At most
    200 iterations. Returns beta, u, the converged flag.
    """
    M, q = model.n_groups, model.q
    y = model.y
    p = len(beta)
    W = np.zeros((p, q))
    W[model.random_index] = T          # d phi / d u_g
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
        s, gauss_newton, exact = _pnls_sums(model, x, u, T, W, newton_curvature)
        step = None if exact is None else _pnls_direction(exact, s, u, W)
        if step is None:
            step = _pnls_direction(gauss_newton, s, u, W)
        if step is None:
            return None
        d_beta, d_u = step
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
    # no decrease along the direction: converged only if the step was already tiny
    converged = res.converged or (res.status == NO_PROGRESS and state["size"] < 1e-7)
    return beta, u, converged


class LinearizedML:
    """The ML deviance of the model linearized at (beta, b), profiled over beta and sigma, as a function of
    theta (relative to sigma), for several theta at once: the LMM step's criterion, the one of
    :class:`quadlib.glmm.LMMObjective` (ML) on the linearized design, in per-group form (one grouping
    factor: ``A = blockdiag(T' Z_g' Z_g T) + I`` is M blocks q x q).

    ``deviances(thetas)`` (S, n_theta) -> the deviance (S,) and its analytic gradient (S, n_theta) (module
    :mod:`quadlib.glmm._lmm`'s formulas: ``d log|A| = 2 sum (Z'Z T A^-1)[r, c]``, ``d r2 = -2 (Z'res)_r u_c``
    over the positions (r, c) of each entry); :meth:`minimize` is Newton's method from a start.
    """

    def __init__(self, model, y, X, block):
        starts = model.starts
        Z = X[:, model.random_index]
        self.n, self.model, self.block = y.size, model, block
        self.y, self.X, self.Z = y, X, Z
        self.ZtZ = np.add.reduceat(Z[:, :, None] * Z[:, None, :], starts, axis=0)   # (M, q, q)
        self.ZtX = np.add.reduceat(Z[:, :, None] * X[:, None, :], starts, axis=0)   # (M, q, P)
        self.Zty = np.add.reduceat(Z * y[:, None], starts, axis=0)                  # (M, q)
        self.XtX, self.Xty = X.T @ X, X.T @ y
        self.rows, self.cols = block.rows, block.cols

    def factors(self, thetas):
        T = np.zeros((thetas.shape[0], self.block.q, self.block.q))
        T[:, self.rows, self.cols] = thetas
        return T

    def solution(self, theta):
        """beta, the penalized residual sum of squares r2 and the deviance at one theta."""
        return self._evaluate(theta[None, :], gradient=False)

    def deviances(self, thetas):
        """The ML deviance (S,) and its gradient (S, n_theta) at the rows of `thetas`."""
        return self._evaluate(thetas, gradient=True)

    def _evaluate(self, thetas, gradient):
        T = self.factors(thetas)
        q, n = self.block.q, self.n
        MT = np.einsum("mab,sbc->smac", self.ZtZ, T)                         # Z_g'Z_g T
        A = np.einsum("sba,smbc->smac", T, MT)
        A[..., np.arange(q), np.arange(q)] += 1.0
        # A^-1 once (q is small) instead of triangular solves with its factor: R_ZX'R_ZX = (T'Z'X)' A^-1 T'Z'X
        sign, log_dets = np.linalg.slogdet(A)
        if np.any(sign <= 0):
            raise np.linalg.LinAlgError("A is not positive definite")
        log_det = log_dets.sum(axis=1)
        A_inv = np.linalg.inv(A)                                             # (S, M, q, q)
        TZX = np.einsum("sba,mbp->smap", T, self.ZtX)
        TZy = np.einsum("sba,mb->sma", T, self.Zty)
        AZX = A_inv @ TZX
        K = self.XtX - np.einsum("smap,smar->spr", TZX, AZX)
        rhs = self.Xty - np.einsum("smap,sma->sp", AZX, TZy)
        beta = np.linalg.solve(K, rhs[..., None])[..., 0]                   # (S, P)
        u = np.einsum("smab,smb->sma", A_inv, TZy) - np.einsum("smap,sp->sma", AZX, beta)
        b = np.einsum("sab,smb->sma", T, u)                                  # (S, M, q)
        # the residual itself, not y'y minus the fitted sum of squares (no cancellation)
        residual = self.y - beta @ self.X.T - np.einsum("nq,snq->sn", self.Z, b[:, self.model.index])
        r2 = np.einsum("sn,sn->s", residual, residual) + np.einsum("smq,smq->s", u, u)
        deviance = log_det + n * (1.0 + np.log(2.0 * np.pi * r2 / n))
        if not gradient:
            return beta[0], float(r2[0]), float(deviance[0])
        E = MT @ A_inv                                                       # Z'Z T A^-1
        Zr = self.Zty - np.einsum("mqp,sp->smq", self.ZtX, beta) - np.einsum("mab,smb->sma", self.ZtZ, b)
        grad = (2.0 * E[:, :, self.rows, self.cols].sum(axis=1)
                - (2.0 * n / r2)[:, None] * (Zr[:, :, self.rows] * u[:, :, self.cols]).sum(axis=1))
        return deviance, grad

    def minimize(self, theta):
        """Newton's method on theta from `theta` (the Hessian by central differences of the analytic gradient,
        all points in one batch; the step halved until the deviance does not rise). At most 50 steps; stops
        when the step is below 1e-10 relative. Returns theta, or None where Newton cannot go on (a Hessian
        not positive definite, a diagonal entry of the factor reaching 0, a deviance that cannot be
        computed): the caller then runs the general optimizer."""
        n_theta = theta.size
        lower = np.where(self.block.diagonal, 0.0, -np.inf)
        eye = np.eye(n_theta)

        def stencil(theta):   # the deviance, its gradient and the central-difference Hessian of the gradient
            h = 1e-4 * np.maximum(np.abs(theta), 1.0)
            values, grads = self.deviances(np.concatenate([theta[None, :], theta + h[:, None] * eye,
                                                           theta - h[:, None] * eye]))
            H = (grads[1:n_theta + 1] - grads[n_theta + 1:]) / (2 * h)[:, None]
            return values[0], grads[0], 0.5 * (H + H.T)

        with np.errstate(all="ignore"):
            try:
                value, g, H = stencil(theta)
                for _ in range(_LMM_NEWTON_ITER):
                    np.linalg.cholesky(H)   # a Newton step is a descent direction only where H is positive definite
                    if not (np.isfinite(value) and np.all(np.isfinite(g))):
                        return None
                    step = -np.linalg.solve(H, g)
                    # the full step with its stencil (the next iteration's) first, shorter ones only if it rises
                    trial = theta + step
                    if not np.all(trial > lower):
                        return None
                    trial_value, trial_g, trial_H = stencil(trial)
                    t = 1.0
                    while not trial_value <= value + 1e-13 * abs(value):
                        t *= 0.5
                        if t < 1e-3:
                            return None
                        trial = theta + t * step
                        trial_value, trial_g, trial_H = stencil(trial)
                    small = np.all(np.abs(t * step) <= 1e-10 * np.maximum(np.abs(trial), 1.0))
                    theta, value, g, H = trial, trial_value, trial_g, trial_H
                    if small:
                        return theta
            except np.linalg.LinAlgError:
                return None
        return None


def _linearize(model, beta, u, T):
    """The model linearized at (beta, b = T u): the pseudo-response and the derivatives X (N, P)."""
    everything = np.arange(len(model.parameters))
    b = u @ T.T
    f, X = model.jacobian(model.phi(beta, b), everything)
    Z = X[:, model.random_index]
    return model.y - f + X @ beta + np.sum(Z * b[model.index], axis=1), X


def _lmm_objective(model, pseudo, X):
    """The linearized model as an LMM: :class:`quadlib.glmm.LMMObjective` (ML) of its design."""
    Z = np.ascontiguousarray(X[:, model.random_index])
    design = design_from_arrays(pseudo, X, model.parameters, [model.random_term(Z)], formula=model.formula,
                                rows=model.rows)
    return LMMObjective(design, reml=False)


def _lmm_step(model, block, pseudo, X, theta_start):
    """The LME step: the ML fit of the linearized model, theta by Newton on :class:`LinearizedML` from the
    previous theta, or by the general optimizer (:func:`quadlib.glmm._lmm.optimize_theta`) where Newton
    cannot go on. Returns theta, its converged flag, beta, r2, the deviance, and the LMMObjective if made."""
    linear = LinearizedML(model, pseudo, X, block)
    theta = linear.minimize(theta_start)
    if theta is not None:
        return (theta, True) + linear.solution(theta) + (None,)
    objective = _lmm_objective(model, pseudo, X)
    optimum = optimize_theta(objective, theta_start, restarts=0)
    solution = objective.solve(optimum.x)
    return optimum.x, optimum.converged, solution.beta, solution.r2, solution.criterion, objective


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
        pseudo, X = _linearize(model, beta, u, T)
        new_theta, lmm_ok, new_beta, r2, criterion, _ = _lmm_step(model, block, pseudo, X, theta)
        new_sigma = math.sqrt(r2 / model.nobs)
        history.append(-0.5 * criterion)
        change = max(np.max(np.abs(new_theta - theta) / np.maximum(np.abs(theta), 1.0)),
                     np.max(np.abs(new_beta - beta) / np.maximum(np.abs(beta), 1.0)),
                     abs(new_sigma - sigma) / new_sigma if np.isfinite(sigma) else np.inf)
        if verbose:
            print(f"  iteration {iteration + 1:4d}: log-likelihood {history[-1]:.10f}, relative change "
                  f"{change:.2e}", flush=True)
        # u in the new factor: b = T u held fixed (the previous modes are the best start)
        T_new = block.factor(new_theta)
        b = u @ T.T
        u = np.linalg.lstsq(T_new, b.T, rcond=None)[0].T if np.any(T_new) else np.zeros_like(u)
        theta, sigma = new_theta, new_sigma
        if change < _FOCE_TOL and pnls_ok and lmm_ok:
            converged, message = True, "converged"
            break
    else:
        if not pnls_ok:
            message += " (the penalized nonlinear least-squares step did not converge)"
    # the estimates: the final PNLS step and the LME fit linearized there
    T = block.factor(theta)
    beta, u, pnls_ok = pnls(model, beta, u, T)
    pseudo, X = _linearize(model, beta, u, T)
    theta, lmm_ok, _, _, _, objective = _lmm_step(model, block, pseudo, X, theta)
    objective = _lmm_objective(model, pseudo, X) if objective is None else objective
    solution = objective.solve(theta)
    converged = converged and pnls_ok and lmm_ok
    return dict(beta=solution.beta, theta=theta, sigma=math.sqrt(solution.r2 / model.nobs),
                b=(u @ T.T), T=block.factor(theta), objective=objective, solution=solution,
                converged=converged, message=message, history=history, iterations=iteration + 1)
