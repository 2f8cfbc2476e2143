"""FOCE: nlme's Lindstrom–Bates algorithm for a nonlinear mixed-effects model, :func:`foce`.

This module owns ``nlmm(..., method="foce")``'s algorithm: the alternation of a penalized nonlinear
least-squares step (:func:`pnls`: the conditional modes of b and beta given the relative covariance, by
Newton steps of :func:`quadlib.glmm._newton.newton` with the exact curvature) and a linear mixed-model step
(the ML estimates of the covariance, beta and sigma for the model linearized at those modes), to its fixed
point. ``llf`` is the log-likelihood of the linearized model there, as nlme reports it.

The LMM step is :class:`LinearizedML`, the ML deviance of :class:`quadlib.glmm.LMMObjective` profiled over
beta and sigma, written per group (one grouping factor: q x q blocks), batched over theta, with its analytic
gradient; Newton's method on it from the previous theta takes one to four batched evaluations where the
general optimizer (:func:`quadlib.glmm._lmm.optimize_theta`, L-BFGS-B) took ten to twenty; the optimizer
remains for a covariance on the boundary. The alternation converges linearly; Anderson's mixing of its
iterates reaches the same fixed point in fewer steps (Theoph: 6 instead of 9), and the PNLS steps far from
the fixed point stop early (their tolerance follows the last change). The estimates are those of the linearized model
at the fixed point: a :class:`~quadlib.glmm.Design` like any other (:func:`quadlib.glmm._design.design_from_arrays`,
its random term the model's: :meth:`~quadlib.glmm.NonlinearModel.random_term`), so theta has one layout, the
model's :meth:`~quadlib.glmm.NonlinearModel.theta_layout`; it is relative to sigma here, as in the LMM step.

Bounds: at most 200 Lindstrom–Bates iterations, 200 Newton steps per PNLS step, 50 per LMM step.

References
----------
M. J. Lindstrom and D. M. Bates, "Nonlinear mixed effects models for repeated measures data",
Biometrics 46 (1990) 673-687.
H. F. Walker and P. Ni, "Anderson acceleration for fixed-point iterations", SIAM Journal on Numerical
Analysis 49 (2011) 1715-1735.
"""
import math

import numpy as np

from ._design import design_from_arrays
from ._lmm import LMMObjective, optimize_theta
from ._newton import CONVERGED, NO_DIRECTION, NO_PROGRESS, NOT_FINITE, newton

__all__ = ["foce", "pnls", "LinearizedML"]

_PNLS_ITER = 200       # Newton iterations of one penalized nonlinear least-squares step
_PNLS_TOL = 1e-11      # ... stop when the step is below this (relative)
_PNLS_LOOSE = 1e-2     # ... or this, far from the fixed point (at most 1e-3 times the last change, at least _PNLS_TOL)
_FOCE_ITER = 200       # Lindstrom–Bates iterations
_FOCE_TOL = 1e-9       # ... stop when beta, theta and sigma change by less than this (relative)
_LMM_NEWTON_ITER = 50  # Newton steps of one LMM step
_LMM_HALVINGS = 10     # trial points per step (t = 1 ... 2^-9 of the capped step)
_LOG_THETA_MIN = math.log(1e-6)   # ... handing over to the bounded optimizer below this diagonal entry


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
    Wt = W.T
    B = Wt @ S                                                            # (M, q, P)
    A = B @ W
    A[:, np.arange(W.shape[1]), np.arange(W.shape[1])] += 1.0
    c = s @ W - u                                                         # (M, q)
    try:
        np.linalg.cholesky(A)        # certifies positive definiteness (q is small: the inverse is cheap)
        A_inv = np.linalg.inv(A)
        AB, Ac = A_inv @ B, (A_inv @ c[:, :, None])[:, :, 0]
        schur = S.sum(axis=0) - np.einsum("mqi,mqj->ij", B, AB)
        rhs = s.sum(axis=0) - np.einsum("mqi,mq->i", B, Ac)
        np.linalg.cholesky(schur)
    except np.linalg.LinAlgError:
        return None
    d_beta = np.linalg.solve(schur, rhs)
    return d_beta, Ac - AB @ d_beta


def pnls(model, beta, u, T, *, newton_curvature=True, tol=_PNLS_TOL):
    """Penalized nonlinear least squares: min over (beta, u) of |y - f(beta, b = T u)|^2 + |u|^2.

    Newton's method with the exact curvature (``J'J - sum r d2f``, the second derivatives of f by
    :meth:`~quadlib.glmm.NonlinearModel.second_derivatives`) where it is positive definite, Gauss–Newton
    where not, with step halving: Gauss–Newton alone converges only linearly when the residuals are not
    small (30-45 iterations to 1e-11 on Theoph, 2-6 with Newton). The normal equations have one q x q block
    per group bordered by the p fixed effects, solved through the Schur complement of the blocks. At most
    200 iterations, until a step below `tol` (relative). Returns beta, u, the converged flag.
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
                 rtol=8 * np.finfo(float).eps, ratchet=True, done=lambda *args: state["size"] < tol)
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
        return self._evaluate(thetas, gradient=True)[:2]

    def _evaluate(self, thetas, gradient):
        # arrays (S, M, q, .): theta s, group m (batched matmul: the blocks are small)
        T = self.factors(thetas)[:, None]
        Tt = np.swapaxes(T, 2, 3)
        q, n = self.block.q, self.n
        MT = self.ZtZ @ T                                                    # Z_g'Z_g T
        A = Tt @ MT
        A[..., np.arange(q), np.arange(q)] += 1.0
        # A^-1 once (q is small) instead of triangular solves with its factor: R_ZX'R_ZX = (T'Z'X)' A^-1 T'Z'X
        sign, log_dets = np.linalg.slogdet(A)
        if np.any(sign <= 0):
            raise np.linalg.LinAlgError("A is not positive definite")
        A_inv = np.linalg.inv(A)
        TZX = Tt @ self.ZtX                                                  # (S, M, q, P)
        TZy = Tt @ self.Zty[:, :, None]                                      # (S, M, q, 1)
        AZX = A_inv @ TZX
        K = self.XtX - (np.swapaxes(TZX, 2, 3) @ AZX).sum(axis=1)
        rhs = self.Xty[:, None] - (np.swapaxes(AZX, 2, 3) @ TZy).sum(axis=1)
        beta = np.linalg.solve(K, rhs)                                       # (S, P, 1)
        u = A_inv @ TZy - AZX @ beta[:, None]                                # (S, M, q, 1)
        b = (T @ u)[..., 0]                                                  # (S, M, q)
        beta = beta[..., 0]
        # the residual itself, not y'y minus the fitted sum of squares (no cancellation)
        residual = self.y - beta @ self.X.T - (self.Z * b[:, self.model.index]).sum(axis=2)
        r2 = (residual * residual).sum(axis=1) + (u * u).sum(axis=(1, 2, 3))
        deviance = log_dets.sum(axis=1) + n * (1.0 + np.log(2.0 * np.pi * r2 / n))
        if not gradient:
            return beta[0], float(r2[0]), float(deviance[0])
        E = MT @ A_inv                                                       # Z'Z T A^-1
        Zr = self.Zty - (self.ZtX @ beta[:, None, :, None])[..., 0] - (self.ZtZ @ b[..., None])[..., 0]
        u = u[..., 0]
        grad = (2.0 * E[:, :, self.rows, self.cols].sum(axis=1)
                - (2.0 * n / r2)[:, None] * (Zr[:, :, self.rows] * u[:, :, self.cols]).sum(axis=1))
        return deviance, grad, beta[0], float(r2[0])

    def newton_optimum(self, theta):
        """Newton's method from `theta` in ``x``: the log of the diagonal entries of the factor (positive: the
        deviance is even in each column's sign, and closer to quadratic in the log far from the optimum)
        and the off-diagonal entries themselves. The Hessian by central differences of the analytic
        gradient (all points in one batch), its spectrum made positive where it is not (far from the
        optimum); the step halved until the deviance does not rise (the one damped Newton,
        :func:`quadlib.glmm._newton.newton`). At most 50 steps; stops when the step in x is below 1e-10
        (relative). Returns theta and (beta, r2, deviance) at the last point evaluated (at
        most the last step, below the tolerance, from theta), or None where Newton does not get there (a
        deviance that cannot be computed, no decrease along the step, the step limit, a diagonal entry at 0:
        a fit on the boundary ends so): the caller then runs the general optimizer."""
        n_theta = theta.size
        diagonal = self.block.diagonal
        if np.any(theta[diagonal] <= 0):
            return None
        eye = np.eye(n_theta)

        def to_theta(x):
            return np.where(diagonal, np.exp(np.where(diagonal, x, 0.0)), x)

        def stencil(x):   # the deviance, its gradient in x and the central-difference Hessian of the gradient
            h = 1e-4 * np.where(diagonal, 1.0, np.maximum(np.abs(x), 1.0))
            points = np.concatenate([x[None, :], x + h[:, None] * eye, x - h[:, None] * eye])
            thetas = to_theta(points)
            values, grads, beta, r2 = self._evaluate(thetas, gradient=True)
            grads = grads * np.where(diagonal, thetas, 1.0)          # d theta / d x
            H = (grads[1:n_theta + 1] - grads[n_theta + 1:]) / (2 * h)[:, None]
            return values[0], grads[0], 0.5 * (H + H.T), (beta, r2, float(values[0]))

        def scale_at(x):   # the step tolerance's scale: 1 for log diagonal entries, |x| for the others
            return np.where(diagonal, 1.0, np.maximum(np.abs(x), 1.0))

        last = {}   # the scale at the current point; the final step taken without evaluating (direction)

        def evaluate(x):   # the one damped Newton (quadlib.glmm._newton) maximizes: the negated deviance
            value, g, H, solution = stencil(x)
            return -value, (g, H, solution)

        def direction(x, value, info):
            g, H, _ = info
            if not (np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
                return None
            w, V = np.linalg.eigh(H)
            # a Newton step descends only where H is positive definite: else flip and floor its spectrum
            step = -V @ ((V.T @ g) / np.maximum(np.abs(w), 1e-6 * max(np.max(np.abs(w)), 1.0)))
            last["scale"] = scale = scale_at(x)
            if w[0] > 0 and np.all(np.abs(step) <= 1e-10 * scale):
                # the last Newton step is below the tolerance: take it without another evaluation
                last["final"] = x + step
                return None
            # at most a factor e in a diagonal entry per step (Newton far from the optimum overshoots)
            return min(1.0, 1.0 / np.max(np.abs(step) / scale)) * step

        def check(x, value, info):
            if np.any(x[diagonal] < _LOG_THETA_MIN):
                return "towards the boundary (theta = 0): the bounded optimizer's case"
            return None

        def done(change, t, old, new):
            return bool(np.all(np.abs(change) <= 1e-10 * last["scale"]))

        x0 = np.where(diagonal, np.log(np.where(diagonal, theta, 1.0)), theta)
        with np.errstate(all="ignore"):
            try:
                res = newton(evaluate, direction, x0, max_iter=_LMM_NEWTON_ITER, max_halvings=_LMM_HALVINGS,
                             rtol=1e-13, check=check, done=done)
            except np.linalg.LinAlgError:
                return None
        solution = res.info[2] if res.info is not None else None
        if res.status == CONVERGED:
            return to_theta(res.x), solution
        if res.status == NO_DIRECTION and "final" in last:
            return to_theta(last["final"]), solution
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
    found = LinearizedML(model, pseudo, X, block).newton_optimum(theta_start)
    if found is not None:
        return (found[0], True) + found[1] + (None,)
    objective = _lmm_objective(model, pseudo, X)
    optimum = optimize_theta(objective, theta_start, restarts=0)
    solution = objective.solve(optimum.x)
    return optimum.x, optimum.converged, solution.beta, solution.r2, solution.criterion, objective


def _anderson(history, lower):
    """The next theta of the fixed-point iteration theta -> F(theta) from its last iterates `history`
    (pairs theta_k, F(theta_k)), by Anderson's mixing (Walker and Ni 2011, "type II"): ``F_k - dF gamma``,
    gamma the least-squares fit of the last residual r_k = F_k - theta_k by the differences of residuals; the
    plain step F_k where that is not in the domain or the residual did not fall."""
    theta, F = history[-1]
    if len(history) < 2:
        return F
    R = np.array([f - t for t, f in history])
    if np.linalg.norm(R[-1]) >= np.linalg.norm(R[-2]):
        del history[:-1]   # no progress: restart the memory
        return F
    Fs = np.array([f for _, f in history])
    gamma = np.linalg.lstsq(np.diff(R, axis=0).T, R[-1], rcond=None)[0]
    mixed = F - np.diff(Fs, axis=0).T @ gamma
    return mixed if np.all(np.isfinite(mixed)) and np.all(mixed > lower) else F


def foce(model, beta, verbose=False):
    """Lindstrom–Bates to its fixed point: (beta, theta, sigma, b, the LME objective and solution, flag,
    message, history).

    The iteration theta -> F(theta) (a PNLS step at theta, the LME step's theta of the model linearized
    there) converges linearly (a factor ~0.1 per step on Theoph); its iterates are mixed by Anderson
    acceleration (memory n_theta + 1), which converges faster to the same fixed point. Every step warm-starts
    from the last: the PNLS step from the modes (b held fixed), the LME step from theta."""
    M, q = model.n_groups, model.q
    # theta relative to sigma, as the LMM step's (whose layout is this one: the model's random term)
    layout = model.theta_layout()
    block, theta = layout.blocks[0], layout.start(1.0)
    lower = np.where(block.diagonal, 0.0, -np.inf)
    u = np.zeros((M, q))
    history, iterates = [], []
    converged, message = False, f"no fixed point in {_FOCE_ITER} iterations"
    sigma, change = np.nan, np.inf
    for iteration in range(_FOCE_ITER):
        T = block.factor(theta)
        # far from the fixed point the modes need not be exact: the PNLS tolerance follows the last change
        tol = max(_PNLS_TOL, min(_PNLS_LOOSE, 1e-3 * change)) if iteration else _PNLS_LOOSE
        beta, u, pnls_ok = pnls(model, beta, u, T, tol=tol)
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
        if change < _FOCE_TOL and pnls_ok and lmm_ok:
            next_theta = new_theta
            converged, message = True, "converged"
        elif iteration == 0:
            next_theta = new_theta   # the start is far from the fixed point: no secant information from it
        else:
            iterates = iterates[-theta.size:] + [(theta, new_theta)]
            next_theta = _anderson(iterates, lower)
        # u in the new factor: b = T u held fixed (the previous modes are the best start)
        T_new = block.factor(next_theta)
        b = u @ T.T
        u = np.linalg.lstsq(T_new, b.T, rcond=None)[0].T if np.any(T_new) else np.zeros_like(u)
        theta, sigma = next_theta, new_sigma
        if converged:
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
