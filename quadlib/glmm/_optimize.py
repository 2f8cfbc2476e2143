"""Stage 3 of the pipeline: maximize an :class:`Objective`.

L-BFGS-B with the objective's gradient and lme4's bounds (covariance-factor diagonals >= 0), then a few
Newton steps with a Hessian from central differences of the gradient: quasi-Newton methods stop short of
1e-6 in the parameters, and the same Hessian gives the standard errors (lme4's defaults can be badly
off, lme4 #998).
"""
from dataclasses import dataclass, field
import time
import warnings

import numpy as np
from scipy import optimize as scipy_optimize

from .. import _validation as v

__all__ = ["ConvergenceWarning", "OptimizeOutcome", "optimize", "optimizer_options", "warn_singular"]

_MAX_ITER_LIMIT = 10 ** 6   # the largest `max_iter` accepted (an L-BFGS-B iteration costs a few evaluations)
# the scipy.optimize.minimize methods that need no Hessian (the others would fail without one)
_OPTIMIZERS = ("L-BFGS-B", "TNC", "SLSQP", "trust-constr", "BFGS", "CG", "Newton-CG", "Nelder-Mead", "Powell",
               "COBYLA", "COBYQA")

# lme4's "boundary (singular) fit", in the words of every fitting function of quadlib.glmm
SINGULAR_FIT_MESSAGE = ("boundary (singular) fit: the estimated covariance of a random term is singular (a standard "
                        "deviation at 0 or a correlation at +-1; see `cov_re`); a singular fit is valid, on the "
                        "boundary of the parameter space")


_CONTROLLER = []


def blas_controller():
    """threadpoolctl's controller, made once (finding the BLAS libraries reads /proc: ~4 ms).

    The fits limit BLAS to one thread: their linear algebra is small (q x q blocks, p-vectors), and
    OpenBLAS's thread wake-ups made the cbpp fit 5x slower on a loaded 2-core machine."""
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


class ConvergenceWarning(UserWarning):
    """The optimizer did not converge, or the maximum likelihood estimate does not exist (separated data):
    the result has ``converged=False``."""


def warn_singular(stacklevel=3):
    """Warn that a fit is on the boundary (lme4's ``isSingular``): one message for fit, lmm and pql.
    The default `stacklevel` points at the caller of the function that calls this."""
    warnings.warn(SINGULAR_FIT_MESSAGE, UserWarning, stacklevel=stacklevel)


@dataclass(frozen=True, eq=False)
class OptimizeOutcome:
    """Where the maximization ended: parameters ``x``, the log-likelihood ``llf``, its gradient and
    Hessian at ``x`` (the Hessian over the parameters not at a bound: ``free``), and the record."""

    x: np.ndarray
    llf: float
    gradient: np.ndarray
    hessian: np.ndarray
    free: np.ndarray
    converged: bool
    message: str
    n_evaluations: int
    history: list = field(repr=False, default_factory=list)
    separation: tuple = ()   # fixed effects whose estimates are infinite (separated data): see fit()


def hessian(objective, x, free=None, relative_step=1e-4, scale=None):
    """Central differences of the gradient (symmetrized) over the `free` parameters; steps relative to
    max(|x_k|, scale_k) (scale default 1)."""
    free = np.ones(x.size, bool) if free is None else free
    scale = np.ones(x.size) if scale is None else scale
    index = np.flatnonzero(free)
    H = np.zeros((index.size, index.size))
    for col, k in enumerate(index):
        h = relative_step * max(scale[k], abs(x[k]))
        if objective.bounds[k][0] is not None:  # one-sided near a bound
            h = min(h, max(x[k] - objective.bounds[k][0], 0.0)) or h
        e = np.zeros(x.size)
        e[k] = h
        lo = x - e if objective.bounds[k][0] is None or x[k] - h >= objective.bounds[k][0] else x
        hi = x + e
        g_hi = objective.value_and_gradient(hi)[1]
        g_lo = objective.value_and_gradient(lo)[1]
        H[:, col] = (g_hi[index] - g_lo[index]) / (hi[k] - lo[k])
    return 0.5 * (H + H.T)


def optimizer_options(optimizer, max_iter, verbose, progress):
    """The options of :func:`optimize` checked and normalized: (method name, max_iter, verbose, progress).

    Raises
    ------
    TypeError, ValueError
        Naming the argument: `optimizer` not a method listed in :func:`optimize` (None is L-BFGS-B),
        `max_iter` not an integer in [1, 10**6], `verbose` or `progress` not a bool.
    """
    if optimizer is not None and not isinstance(optimizer, str):
        raise TypeError(f"`optimizer` must be a scipy.optimize.minimize method name or None, got {optimizer!r}")
    method = "L-BFGS-B"
    if optimizer is not None:
        names = {name.lower(): name for name in _OPTIMIZERS}
        if optimizer.lower() not in names:
            raise ValueError(f"`optimizer` must be one of {', '.join(map(repr, _OPTIMIZERS))}, got {optimizer!r}")
        method = names[optimizer.lower()]
    max_iter = v.positive_int(max_iter, "max_iter", maximum=_MAX_ITER_LIMIT)
    for name, value in (("verbose", verbose), ("progress", progress)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"`{name}` must be True or False, got {value!r}")
    return method, max_iter, bool(verbose), bool(progress)


def _optimize_iv(objective, start, optimizer, max_iter, verbose, progress):
    method, max_iter, verbose, progress = optimizer_options(optimizer, max_iter, verbose, progress)
    if start is None:
        x0 = objective.start()
    else:
        try:
            x0 = np.asarray(start, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"`start` must be an array of numbers ({', '.join(objective.names)})") from None
    if x0.shape != (objective.n_params,):
        raise ValueError(f"`start` must have {objective.n_params} values ({', '.join(objective.names)}), "
                         f"got shape {x0.shape}")
    if not np.all(np.isfinite(x0)):
        raise ValueError("`start` must be finite")
    return x0, method, max_iter, verbose, progress


def _negative_definite(H):
    """Whether the symmetric H is negative definite; False if it is not finite (no eigenvalues then)."""
    if H.size == 0:
        return True
    if not np.all(np.isfinite(H)):
        return False
    try:
        return bool(np.all(np.linalg.eigvalsh(H) < 0))
    except np.linalg.LinAlgError:
        return False


def optimize(objective, start=None, *, optimizer=None, max_iter=1000, verbose=False, progress=False):
    """Stage 3: maximize ``objective`` over its parameters.

    Parameters
    ----------
    objective : Objective
    start : array_like, optional
        Starting parameters (``objective.names``); default ``objective.start()``.
    optimizer : str, optional
        A ``scipy.optimize.minimize`` method that needs no Hessian: ``"L-BFGS-B"`` (default), ``"TNC"``,
        ``"SLSQP"``, ``"trust-constr"``, ``"BFGS"``, ``"CG"``, ``"Newton-CG"``, ``"Nelder-Mead"``,
        ``"Powell"``, ``"COBYLA"``, ``"COBYQA"`` (case-insensitive).
    max_iter : int
        Bound on the optimizer's iterations (at most 10**6); the Newton polish adds at most 20 steps
        and the restarts off a zero standard deviation at most three more optimizer runs.
    verbose : bool
        Print the log-likelihood at every iteration.
    progress : bool
        Print a line every two seconds (for long fits).

    Returns
    -------
    OptimizeOutcome
        ``converged`` is False, with a :class:`ConvergenceWarning`, when the gradient at the end is not
        small or the Hessian is not negative definite.
    """
    x0, method, max_iter, verbose, progress = _optimize_iv(objective, start, optimizer, max_iter, verbose, progress)
    lower = np.array([-np.inf if lo is None else lo for lo, _ in objective.bounds])
    x0 = np.maximum(x0, lower)
    # the optimizer works on x / scale: parameters far below 1 in size (an inverse link's coefficients, say)
    # are brought to unit size; the others are left alone
    scale = np.where(np.abs(x0) > 0, np.clip(np.abs(x0), 1e-8, 1.0), 1.0)
    layout = getattr(objective, "layout", None)   # optional in the protocol: no covariance parameters to scale
    for block in (layout.blocks if layout is not None else ()):
        diag = scale[block.theta][block.diagonal]
        scale[block.theta] = np.where(block.diagonal, scale[block.theta], np.min(diag) if diag.size else 1.0)
    history = []
    clock = [time.perf_counter()]
    last = [np.nan]

    def negative(z):
        value, grad = objective.value_and_gradient(z * scale)
        last[0] = value
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros_like(z)
        return -value, -grad * scale

    def record(x, *args):
        history.append(float(last[0]))
        if verbose:
            print(f"  iteration {len(history):4d}: log-likelihood {history[-1]:.8f}", flush=True)
        elif progress and time.perf_counter() - clock[0] > 2.0:
            clock[0] = time.perf_counter()
            print(f"  ... iteration {len(history)}", flush=True)

    options = {"maxiter": max_iter}
    if method == "L-BFGS-B":
        options.update(ftol=1e-13, gtol=1e-7, maxcor=20)
    gradient_methods = ("L-BFGS-B", "TNC", "SLSQP", "trust-constr", "BFGS", "CG", "Newton-CG")
    bounds = [(None if lo is None else lo / s, None) for (lo, _), s in zip(objective.bounds, scale)]

    def maximize(start):
        """L-BFGS-B from `start`, then Newton steps over the parameters not held at a bound."""
        opt = scipy_optimize.minimize(negative, start / scale, method=method,
                                      jac=True if method in gradient_methods else None,
                                      bounds=bounds if method not in ("BFGS", "CG", "Newton-CG") else None,
                                      callback=record, options=options) \
            if method in gradient_methods else \
            scipy_optimize.minimize(lambda z: negative(z)[0], start / scale, method=method, bounds=bounds,
                                    callback=record, options=options)
        x = np.maximum(opt.x * scale, lower)
        value, grad = objective.value_and_gradient(x)
        free = ~((x <= lower + 1e-10) & (grad <= 0))
        H = hessian(objective, x, free, scale=scale)
        moved = 0.0
        for _ in range(20):
            try:
                step = np.linalg.solve(-H, grad[free])
            except np.linalg.LinAlgError:
                break
            # not finite, or H is not negative definite here: no Newton ascent direction
            if not (np.all(np.isfinite(step)) and grad[free] @ step > 0):
                break
            for _ in range(12):  # step halving
                trial = x.copy()
                trial[free] += step
                if np.all(trial >= lower):
                    v_trial, g_trial = objective.value_and_gradient(trial)
                    if np.isfinite(v_trial) and v_trial >= value - 1e-12 * max(1.0, abs(value)):
                        break
                step = 0.5 * step
            else:
                break
            x, value, grad = trial, v_trial, g_trial
            moved += np.max(np.abs(step / scale[free]))
            if np.max(np.abs(step / scale[free])) < 1e-9:
                break
            if np.max(np.abs(step / scale[free])) > 1e-2:  # far from where H was taken
                H = hessian(objective, x, free, scale=scale)
        if moved > 1e-4:  # the Hessian for the standard errors is taken where the polish ended
            H = hessian(objective, x, free, scale=scale)
            value, grad = objective.value_and_gradient(x)
        return x, value, grad, H, free, opt

    x, value, grad, H, free, opt = maximize(x0)
    # A standard deviation at its bound 0 has zero gradient by symmetry (the likelihood is even in a
    # diagonal Cholesky entry), so a quasi-Newton method can stop there at a minimum along it. Where
    # moving off the bound increases the likelihood, restart from there (at most three times).
    for _ in range(3):
        trial = x.copy()
        held = np.flatnonzero(~free & (lower == 0))
        if held.size == 0:
            break
        trial[held] = 0.1 * np.maximum(scale[held], np.abs(x0[held]))
        if not objective.log_likelihood(trial) > value + 1e-9 * max(1.0, abs(value)):
            break
        candidate = maximize(trial)
        if not candidate[1] > value:
            break
        x, value, grad, H, free, opt = candidate
    negative_definite = _negative_definite(H)
    small_gradient = bool(np.all(np.isfinite(grad[free])) and np.max(np.abs(grad[free]), initial=0.0) < 1e-3)
    converged = bool(np.isfinite(value) and small_gradient and negative_definite)
    if converged:
        message = "converged"
    else:
        reasons = []
        if not np.isfinite(value):
            reasons.append("the log-likelihood is not finite at the end")
        if not small_gradient:
            largest = np.max(np.abs(grad[free]), initial=0.0)
            reasons.append(f"the gradient is {largest:.2g} at the end ({opt.message})")
        if not negative_definite:
            reasons.append("the Hessian is not negative definite at the end")
        message = "; ".join(reasons)
        warnings.warn(f"the optimizer did not converge: {message}", ConvergenceWarning, stacklevel=2)
    objective.log_likelihood(x)
    return OptimizeOutcome(x, float(value), grad, H, free, converged, message, objective.evaluations, history)
