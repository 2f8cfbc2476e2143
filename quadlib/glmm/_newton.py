"""One damped Newton iteration for the dense inner problems of :mod:`quadlib.glmm`: :func:`newton`.

The GLM start of a marginal likelihood, the nonlinear least-squares start and the penalized nonlinear
least-squares step of a nonlinear mixed model, the Newton polish after the quasi-Newton optimizer and the
conditional likelihood's Newton-Raphson all have the same shape: from the current point a direction (a Newton,
Gauss–Newton or gradient step, each computed its own way), the step halved until the objective does not fall
by more than a rounding slack, and a stopping rule. This module owns that loop, its bounds and its status; the
callers own their directions and stopping rules. (The batched per-cluster Newton iterations of the core
integrators are compiled and live in :mod:`quadlib._integrators`.)

The objective is MAXIMIZED; a minimization passes the negated criterion.
"""
from dataclasses import dataclass, field

import numpy as np

__all__ = ["NewtonResult", "newton", "CONVERGED", "MAX_ITER", "NO_PROGRESS", "NO_DIRECTION", "STOPPED",
           "NOT_FINITE"]

CONVERGED = 0      # the stopping rule (`done`) held after an accepted step
MAX_ITER = 1       # `max_iter` steps accepted without meeting it
NO_PROGRESS = 2    # no trial point along the direction was acceptable in `max_halvings` tries
NO_DIRECTION = 3   # `direction` returned None (no ascent direction: a singular or indefinite curvature, ...)
STOPPED = 4        # `check` stopped the iteration (its message says why)
NOT_FINITE = 5     # the objective is not finite at the start

_MESSAGES = {CONVERGED: "converged", MAX_ITER: "the iteration limit was reached",
             NO_PROGRESS: "no step along the direction was acceptable", NO_DIRECTION: "no ascent direction",
             NOT_FINITE: "the objective is not finite at the start"}


@dataclass(frozen=True, eq=False)
class NewtonResult:
    """Where :func:`newton` stopped.

    Attributes
    ----------
    x : ndarray
        The last accepted point.
    value, info
        The objective there and what `evaluate` returned with it.
    status : int
        One of the module's constants: CONVERGED (0), MAX_ITER (1), NO_PROGRESS (2), NO_DIRECTION (3),
        STOPPED (4), NOT_FINITE (5).
    message : str
    n_iter : int
        Accepted steps.
    history : list of float
        The objective after each accepted step.
    last_t : float
        The fraction of the full step taken by the last accepted step (1.0: a full step; NaN if none).
    """

    x: np.ndarray
    value: float
    info: object = field(repr=False)
    status: int
    message: str
    n_iter: int
    history: list = field(repr=False, default_factory=list)
    last_t: float = np.nan

    @property
    def converged(self):
        return self.status == CONVERGED


def newton(evaluate, direction, x0, *, max_iter, max_halvings=30, rtol=0.0, atol=0.0, accept=None, lower=None,
           outside="project", done=None, tol=0.0, check=None, ratchet=False, initial=None):
    """Maximize by damped Newton steps: ``x <- x + t d``, t = 1, 1/2, 1/4, ... until a trial is acceptable.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(x) -> (value, info)``: the objective (to maximize; -inf or NaN where it is undefined) and
        anything `direction`, `accept`, `check` need (a gradient, a Hessian, ...), evaluated at every trial
        point and passed on when the trial is accepted.
    direction : callable
        ``direction(x, value, info) -> d`` (an array like x, the full step), or None to stop (status
        NO_DIRECTION).
    x0 : array_like
        The start.
    max_iter : int
        Bound on the accepted steps.
    max_halvings : int
        Bound on the trial points per step: t = 1, 1/2, ..., 2^-(max_halvings - 1); none acceptable: status
        NO_PROGRESS.
    rtol, atol : float
        The default acceptance: a finite trial value at least ``value - (atol + rtol |value|)`` (a rounding
        slack: near the optimum the objective changes at rounding level).
    accept : callable, optional
        ``accept(trial_value, trial_info, value, info) -> bool``, replacing the default acceptance.
    lower : array_like, optional
        Lower bounds of x.
    outside : {"project", "halve"}
        With `lower`: trial points are projected onto the bounds (``max(x + t d, lower)``), or the step is
        halved, without evaluating, while the trial point is outside them.
    done : callable, optional
        ``done(change, t, old_value, new_value) -> bool`` after each accepted step (``change`` = new x - old x):
        True stops with status CONVERGED. Default: ``max |change| <= tol``.
    tol : float
        The default stopping rule's step size.
    check : callable, optional
        ``check(x, value, info) -> str or None`` after each accepted step (before `done`): a message stops
        the iteration with status STOPPED.
    ratchet : bool
        Keep as the reference value of the next acceptance test the larger of the new and the old value (with
        a slack, the value could otherwise creep down by the slack at every step).
    initial : tuple, optional
        ``(value, info)`` at `x0` when the caller has it (saves one evaluation).

    Returns
    -------
    NewtonResult

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda x: (-np.sum((x - 1.0) ** 4), -4 * (x - 1.0) ** 3)           # value, gradient
    >>> d = lambda x, value, g: g / (12 * (x - 1.0) ** 2)                      # Newton: -H^-1 g
    >>> res = newton(f, d, [3.0, -2.0], max_iter=100, tol=1e-10)
    >>> res.status == CONVERGED, np.round(res.x, 6).tolist()
    (True, [1.0, 1.0])
    """
    if outside not in ("project", "halve"):
        raise ValueError(f"`outside` must be 'project' or 'halve', got {outside!r}")
    x = np.array(x0, dtype=float)
    lower = None if lower is None else np.asarray(lower, dtype=float)
    value, info = evaluate(x) if initial is None else initial
    history, n_iter, last_t = [], 0, np.nan
    if not np.isfinite(value):
        return NewtonResult(x, value, info, NOT_FINITE, _MESSAGES[NOT_FINITE], 0, history)
    if done is None:
        def done(change, t, old, new):
            return float(np.max(np.abs(change), initial=0.0)) <= tol
    status, message = MAX_ITER, _MESSAGES[MAX_ITER]
    for _ in range(max_iter):
        step = direction(x, value, info)
        if step is None:
            status, message = NO_DIRECTION, _MESSAGES[NO_DIRECTION]
            break
        t = 1.0
        for _ in range(max_halvings):
            trial = x + t * step
            if lower is not None:
                if outside == "project":
                    trial = np.maximum(trial, lower)
                elif np.any(trial < lower):
                    t *= 0.5
                    continue
            t_value, t_info = evaluate(trial)
            if accept is not None:
                ok = accept(t_value, t_info, value, info)
            else:
                ok = np.isfinite(t_value) and t_value >= value - (atol + rtol * abs(value))
            if ok:
                break
            t *= 0.5
        else:
            status, message = NO_PROGRESS, _MESSAGES[NO_PROGRESS]
            break
        change, old = trial - x, value
        x, info = trial, t_info
        value = max(t_value, value) if ratchet else t_value
        history.append(t_value)
        n_iter += 1
        last_t = t
        if check is not None:
            reason = check(x, value, info)
            if reason:
                status, message = STOPPED, reason
                break
        if done(change, t, old, value):
            status, message = CONVERGED, _MESSAGES[CONVERGED]
            break
    return NewtonResult(x, value, info, status, message, n_iter, history, last_t)
