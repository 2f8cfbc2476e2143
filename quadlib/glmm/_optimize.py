"""Stage 3 of the pipeline: maximize an objective, :func:`optimize` (the one optimizer of quadlib.glmm).

Every model of the package is fitted here: the marginal likelihoods of :func:`~quadlib.glmm.fit` and
:func:`~quadlib.glmm.nlmm`, the profiled criteria of :func:`~quadlib.glmm.lmm`, :func:`~quadlib.glmm.pql`'s
working models and nlmm's FOCE step (through :class:`~quadlib.glmm._lmm.ProfiledLikelihood`, which reports
``-criterion / 2``), and :func:`~quadlib.glmm.conditional_fit`'s conditional likelihood (Newton-Raphson with its
exact Hessian). One sign convention: the objective's log-likelihood is maximized.

L-BFGS-B with the objective's gradient and lme4's bounds (covariance-factor diagonals >= 0), then a few
Newton steps (:func:`quadlib.glmm._newton.newton`) with a Hessian from central differences of the gradient:
quasi-Newton methods stop short of 1e-6 in the parameters, and the same Hessian gives the standard errors
(lme4's defaults can be badly off, lme4 #998). A standard deviation held at its bound 0 is tried again off
the bound. The constants of the two conventions (the marginal likelihoods' and lme4's for the profiled LMM
criteria) are :class:`OptimizeOptions`: :data:`GLMM_OPTIONS` (the default) and :data:`LMM_OPTIONS`.

The objective protocol
----------------------
``names``, ``n_params``, ``bounds`` (``(lower or None, None)`` per parameter), ``start()``,
``value_and_gradient(x)`` (the log-likelihood and its gradient; -inf where it cannot be computed),
``log_likelihood(x)``, ``evaluations`` (a count), and optionally ``layout`` (a
:class:`~quadlib.glmm._covariance.ThetaLayout`, whose off-diagonal entries are scaled like their block's
diagonal), ``value_gradient_hessian(x)`` (for ``optimizer="newton"``), ``derivatives``, and
``batch_gradients`` (True: ``values_and_gradients(points)`` returns ``[(value, gradient)]`` for several
points in one call, which the Hessian's differences then use: a Dask objective's one distributed pass).

Derivative-free objectives
--------------------------
An objective declares what it computes in its attribute ``derivatives``: ``"gradient"`` (the default when
the attribute is absent) or ``"values"``, an objective whose gradient would cost more than the few
evaluations a model-based derivative-free method needs (the blocked engine of several grouping factors,
whose gradient would need a selected inverse). For ``"values"`` the default method is COBYQA (Powell's
derivative-free trust-region method with quadratic models, as lme4's and MixedModels.jl's BOBYQA; Ragonneau
and Zhang), started at radius ``options.initial_radius`` and stopped at ``options.final_radius``; only
``log_likelihood`` is called, there is no gradient polish and no restart (optionally, ``value_polish_steps``
Newton steps from second differences of the values), ``converged`` is the method's own success with a finite
log-likelihood, and the final Hessian (``options.final_hessian``) comes from :func:`value_hessian`. Its ``value_and_gradient`` is called only when a gradient method is asked for by
name.

References
----------
T. M. Ragonneau and Z. Zhang, "COBYQA: Constrained Optimization BY Quadratic Approximations", PhD thesis,
Hong Kong Polytechnic University (2022); scipy.optimize's method="COBYQA".
M. J. D. Powell, "The BOBYQA algorithm for bound constrained optimization without derivatives", Technical
report DAMTP 2009/NA06, University of Cambridge (2009).
"""
from dataclasses import dataclass, field, replace
import math
import time
import warnings

import numpy as np
from scipy import optimize as scipy_optimize

from .. import _validation as v
from . import _newton
from ._linalg import cho_inverse, cho_solve, cholesky

__all__ = ["ConvergenceWarning", "OptimizeOutcome", "OptimizeOptions", "GLMM_OPTIONS", "LMM_OPTIONS", "REFIT_OPTIONS",
           "optimize", "canonical_theta",
           "optimizer_options", "hessian", "value_gradient", "value_hessian", "warn_singular"]

_MAX_ITER_LIMIT = 10 ** 6   # the largest `max_iter` accepted (an L-BFGS-B iteration costs a few evaluations)
_MAX_FALLBACK_ITER = 1000   # the refit mode's L-BFGS-B iterations after a failed quasi-Newton iteration
# the scipy.optimize.minimize methods that need no Hessian (the others would fail without one), and Newton's
# method with the objective's exact Hessian
_OPTIMIZERS = ("L-BFGS-B", "TNC", "SLSQP", "trust-constr", "BFGS", "CG", "Newton-CG", "Nelder-Mead", "Powell",
               "COBYLA", "COBYQA", "newton")
_GRADIENT_METHODS = ("L-BFGS-B", "TNC", "SLSQP", "trust-constr", "BFGS", "CG", "Newton-CG")
_DERIVATIVES = ("gradient", "values")   # what an objective declares in `derivatives` (module notes)
_AT_BOUND = 1e-10     # a parameter within this of its lower bound, its gradient pushing out, is held there
# the largest counts OptimizeOptions accepts: each bounds a loop of optimize (Newton steps, trial points per
# step, optimizer runs) or scipy's work, far beyond the defaults
_OPTION_LIMITS = {"maxcor": 1000, "polish_steps": 1000, "value_polish_steps": 100, "polish_halvings": 200,
                  "restarts": 100, "newton_halvings": 200, "max_evaluations": 10 ** 8, "refit_steps": 1000}

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
    Hessian at ``x`` (the Hessian over the parameters not held at a bound: ``free``; NaN where it was not
    computed), and the record: ``history`` (the log-likelihood after each iteration, Newton steps included),
    ``n_iter`` (optimizer iterations) and ``n_evaluations`` (the objective's count)."""

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
    n_iter: int = 0
    start_gradient: object = field(repr=False, default=None)   # refit mode: the gradient at the start


@dataclass(frozen=True)
class OptimizeOptions:
    """The constants of :func:`optimize`: :data:`GLMM_OPTIONS` (the default: the marginal likelihoods) and
    :data:`LMM_OPTIONS` (lme4's for the profiled criteria of linear mixed models).

    A frozen dataclass: change a few constants of one of the two with :func:`dataclasses.replace`, e.g.
    ``optimize(objective, options=replace(GLMM_OPTIONS, polish_steps=0, warn=False))``. The values are
    checked when it is made (a ValueError or TypeError naming the field), and the counts that bound loops
    are bounded themselves: ``polish_steps``, ``maxcor`` and ``refit_steps`` at most 1000, ``polish_halvings`` and
    ``newton_halvings`` at most 200, ``restarts`` and ``value_polish_steps`` at most 100, ``max_evaluations``
    at most 10**8.

    Attributes
    ----------
    deviance : bool
        Work on the deviance ``-2 llf`` (lme4's scale for LMMs): the tolerances ``gtol``, ``accept_slack`` and
        ``rounding`` apply to it. Otherwise on ``-llf``.
    rescale : bool
        Optimize ``x / scale`` with ``scale = clip(|x0|, 1e-8, 1)`` (parameters far below 1 in size brought to
        unit size; off-diagonal covariance entries take their block's smallest diagonal scale).
    ftol, gtol, maxcor, max_evaluations
        L-BFGS-B's options (``max_evaluations``: ``maxfun``, None for scipy's default).
    polish_steps, polish_halvings
        Bounds on the Newton steps after the optimizer and on the trial points of each.
    hessian_step
        Relative step of the central differences of the gradient: ``hessian_step * max(scale, |x|)``,
        one-sided down to the bound.
    hessian_every_step : bool
        Difference the gradient before every Newton step; otherwise once, and again after a step larger
        than 1e-2 (scaled).
    accept_slack, accept_by_gradient
        A trial point is accepted when its criterion is below the current one, or within ``accept_slack *
        max(1, |criterion|)`` of it (rounding) and, with ``accept_by_gradient``, its projected gradient is
        smaller.
    outside : {"halve", "project"}
        A Newton step leaving the bounds is halved until it is inside, or projected onto them.
    indefinite : {"stop", "gradient"}
        Where the Hessian is not definite: stop polishing, or take a gradient step scaled by its largest
        diagonal entry.
    stop_step, min_step
        Stop after an accepted step below ``stop_step`` (scaled), or before a full step below ``min_step``
        (relative to ``1 + max |x|``); None: no such rule.
    rounding, step_polished
        Skip the Newton steps when the projected gradient is below ``rounding * max(1, |criterion|)`` or
        the step estimated by L-BFGS-B's inverse Hessian (relative) is below ``step_polished``; None: no
        such rule.
    convergence : {"gradient", "step"}
        ``"gradient"``: converged when the log-likelihood is finite, its largest free gradient entry below
        ``gradient_tol`` and the Hessian negative definite. ``"step"``: when the projected gradient is at
        rounding level (``rounding``) or the last Newton step (relative) is below ``step_tol``.
    final_hessian : bool
        Compute the Hessian at the end if the Newton steps did not leave it current.
    restarts : int
        Bound on the restarts off a standard deviation held at 0.
    warn : bool
        Warn (:class:`ConvergenceWarning`) when not converged.
    initial_radius, final_radius
        The derivative-free methods (objectives with ``derivatives = "values"``): COBYQA's initial and final
        trust-region radii (``initial_tr_radius``, ``final_tr_radius``; COBYLA's ``rhobeg`` and ``tol``), in
        the optimized (rescaled, with `rescale`) parameters. Powell's methods stop when the radius has shrunk
        to ``final_radius``, which is not the error of the parameters: that is set by the curvature and the
        rounding of the criterion near the optimum (1e-6 relative on lme4's crossed examples at radius 1e-7).
    mode : {"optimize", "refit"}
        ``"optimize"``: the scipy method, the Newton polish and the final Hessian (every fit). ``"refit"``
        (:data:`REFIT_OPTIONS`): a quasi-Newton (BFGS) iteration started from the inverse Hessian given to
        :func:`optimize` (`inverse_hessian`: a fit's covariance), for many refits of one model on new
        responses (the parametric bootstrap), whose optima lie within a few standard errors of the start.
        Each step is projected onto the bounds and halved (at most ``polish_halvings`` times) until the
        criterion does not rise; the iteration stops when the largest projected gradient entry (of the
        log-likelihood) is below ``refit_gtol`` (converged), after a step below ``refit_min_step``
        (relative to ``1 + max |x|``) or after ``refit_steps`` steps; no final Hessian, no polish. Where it
        stops short of ``refit_gtol``, L-BFGS-B (the full mode's method, at most 1000 iterations) continues from
        there, and converged then means the full mode's gradient rule (largest projected entry below
        ``gradient_tol``). The restarts off a zero standard deviation (``restarts``) apply, and theta's diagonal entries come back
        non-negative (:func:`canonical_theta`). The outcome's ``start_gradient`` is the gradient at the
        start (the score of the new response at the original estimate: the bootstrap's BCa acceleration).
    refit_gtol, refit_steps, refit_min_step
        The refit mode's stopping rules (above).
    value_polish_steps, value_step
        The derivative-free methods: at most this many Newton steps after the method, each from the gradient
        and Hessian of second differences of the values (:func:`value_hessian`, ``2 n^2 + 1`` evaluations
        over n free parameters) with relative step ``value_step``, which also gives the final Hessian. A step
        is taken when the criterion does not rise by more than ``accept_slack`` (relative), and the steps stop
        after one below ``min_step`` (relative; 1e-12 if None).
    newton_halvings, newton_decrement, newton_rounding, check
        ``optimizer="newton"``: trial points per step; converged when a full step had a Newton decrement
        ``g' (-H)^-1 g`` below ``newton_decrement`` (or no step raised the log-likelihood and it is below
        ``newton_rounding``); ``check(x, llf, gradient, hessian) -> str or None`` after each step stops the
        iteration with that message (e.g. separation).
    """

    deviance: bool = False
    rescale: bool = True
    ftol: float = 1e-13
    gtol: float = 1e-7
    maxcor: int = 20
    max_evaluations: object = None
    polish_steps: int = 20
    polish_halvings: int = 12
    hessian_step: float = 1e-4
    hessian_every_step: bool = False
    accept_slack: float = 1e-12
    accept_by_gradient: bool = False
    outside: str = "halve"
    indefinite: str = "stop"
    stop_step: object = 1e-9
    min_step: object = None
    rounding: object = None
    step_polished: object = None
    convergence: str = "gradient"
    gradient_tol: float = 1e-3
    step_tol: float = 1e-6
    final_hessian: bool = True
    restarts: int = 3
    warn: bool = True
    newton_halvings: int = 40
    newton_decrement: float = 1e-20
    newton_rounding: float = 1e-10
    check: object = None
    initial_radius: float = 0.5
    final_radius: float = 1e-7
    value_polish_steps: int = 0
    value_step: float = 1e-4
    mode: str = "optimize"
    refit_gtol: float = 1e-6
    refit_steps: int = 50
    refit_min_step: float = 1e-10

    def __post_init__(self):
        for name in ("deviance", "rescale", "hessian_every_step", "accept_by_gradient", "final_hessian", "warn"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"`{name}` must be True or False, got {getattr(self, name)!r}")
        for name, minimum in (("maxcor", 1), ("polish_steps", 0), ("value_polish_steps", 0), ("polish_halvings", 0),
                              ("restarts", 0), ("refit_steps", 1),
                              ("newton_halvings", 1)):
            v.positive_int(getattr(self, name), name, minimum=minimum, maximum=_OPTION_LIMITS[name])
        if self.max_evaluations is not None:
            v.positive_int(self.max_evaluations, "max_evaluations", maximum=_OPTION_LIMITS["max_evaluations"])
        for name in ("ftol", "gtol", "accept_slack", "step_tol", "newton_decrement", "newton_rounding"):
            v.nonnegative_tolerance(getattr(self, name), name)
        for name in ("stop_step", "min_step", "rounding", "step_polished"):
            if getattr(self, name) is not None:
                v.nonnegative_tolerance(getattr(self, name), name)
        for name in ("hessian_step", "gradient_tol", "initial_radius", "final_radius", "value_step", "refit_gtol",
                     "refit_min_step"):
            v.greater_than(getattr(self, name), 0, name)
        if not self.final_radius <= self.initial_radius:
            raise ValueError(f"`final_radius` must be at most `initial_radius` ({self.initial_radius}), "
                             f"got {self.final_radius}")
        for name in ("hessian_step", "value_step"):
            if not getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be below 1 (a relative step), got {getattr(self, name)}")
        v.choice(self.outside, ("halve", "project"), "outside")
        v.choice(self.indefinite, ("stop", "gradient"), "indefinite")
        v.choice(self.convergence, ("gradient", "step"), "convergence")
        v.choice(self.mode, ("optimize", "refit"), "mode")
        if self.convergence == "step" and self.rounding is None:
            raise ValueError("`rounding` must be a number when `convergence` is 'step' (its rule uses it)")
        if self.check is not None:
            v.callable_(self.check, "check")


def _documented(options, doc):
    """`options` with a docstring of its own: autodoc and IPython read an instance's ``__doc__`` (a
    module-level string after the assignment is seen only in this module, not where quadlib.glmm exports it)."""
    object.__setattr__(options, "__doc__", doc)
    return options


GLMM_OPTIONS = _documented(OptimizeOptions(), """The default constants of :func:`optimize`, those of the marginal
likelihoods (:func:`~quadlib.glmm.fit`, :func:`~quadlib.glmm.nlmm`).

Rescaled parameters, L-BFGS-B to ftol 1e-13 and gtol 1e-7, at most 20 Newton steps of 12 trials each, at most
3 restarts off a zero standard deviation; converged when the largest gradient entry is below 1e-3 and the
Hessian negative definite, a :class:`ConvergenceWarning` otherwise.""")

LMM_OPTIONS = _documented(OptimizeOptions(
    deviance=True, rescale=False, ftol=1e-15, gtol=1e-10, max_evaluations=5000, polish_steps=8,
    polish_halvings=30, hessian_step=1e-5, hessian_every_step=True, accept_slack=1e-15, accept_by_gradient=True,
    outside="project", indefinite="gradient", stop_step=None, min_step=1e-12, rounding=1e-10,
    step_polished=1e-8, convergence="step", final_hessian=False, warn=False, initial_radius=1.0),
    """lme4's constants for the profiled criteria of linear mixed models (:func:`~quadlib.glmm.lmm`,
:func:`~quadlib.glmm.pql`, nlmm's FOCE).

The deviance scale, no rescaling, L-BFGS-B to ftol 1e-15 and gtol 1e-10, at most 8 Newton steps (a Hessian
each) of 30 trials; converged when the projected gradient is at rounding level (1e-10 relative) or the last
Newton step is below 1e-6 (relative); no warning (the caller warns). Derivative-free (the blocked engine of
several grouping factors): COBYQA from trust-region radius 1 (lme4's start is theta = 1) down to 1e-7.""")


REFIT_OPTIONS = _documented(OptimizeOptions(mode="refit", final_hessian=False, polish_steps=0, warn=False),
                            """The constants of :func:`optimize`'s refit mode (``mode="refit"``): a quasi-Newton
iteration from a given inverse Hessian (``optimize(objective, start, options=REFIT_OPTIONS, inverse_hessian=H0)``), for
the parametric bootstrap's refits of a model on simulated responses, warm-started at the fit.

At most 50 steps of at most 12 halvings each, stopped when the largest projected gradient entry is below 1e-6
(log-likelihood scale: converged) or a step is below 1e-10 (relative); no final Hessian, at most 3 restarts off a
zero standard deviation, no warning (the caller counts the failures). On cbpp a refit takes ~14 evaluations, against
~27 and the final Hessian's for :data:`GLMM_OPTIONS`, and its optimum equals a full :func:`optimize` to 1e-6.""")


def _difference_hessian(gradient, x, free, lower, relative_step, scale, gradients=None):
    """Central differences of ``gradient(x)`` (symmetrized) over the `free` parameters, steps
    ``relative_step * max(scale_k, |x_k|)``, the lower point held at the bound; None if a gradient fails.
    `gradients` (optional): all the points' gradients in one call (an objective that declares
    ``batch_gradients``)."""
    index = np.flatnonzero(free)
    H = np.empty((index.size, index.size))
    pairs = []
    for k in index:
        h = relative_step * max(scale[k], abs(x[k]))
        up, down = x.copy(), x.copy()
        up[k] += h
        down[k] = max(x[k] - h, lower[k])
        pairs.append((up, down))
    found = gradients([z for pair in pairs for z in pair]) if gradients is not None and pairs else None
    for col, (k, (up, down)) in enumerate(zip(index, pairs)):
        if found is None:
            g_up, g_down = gradient(up), gradient(down)
        else:
            g_up, g_down = found[2 * col], found[2 * col + 1]
        if g_up is None or g_down is None:
            return None
        H[:, col] = (g_up[index] - g_down[index]) / (up[k] - down[k])
    return 0.5 * (H + H.T)


def hessian(objective, x, free=None, relative_step=1e-4, scale=None):
    """The Hessian of ``objective``'s log-likelihood at `x` by central differences of its gradient
    (symmetrized), over the `free` parameters (default all), steps ``relative_step * max(scale_k, |x_k|)``
    (scale default 1), one-sided down to a lower bound; NaN where the gradient cannot be computed."""
    x = np.asarray(x, dtype=float)
    free = np.ones(x.size, bool) if free is None else np.asarray(free, bool)
    scale = np.ones(x.size) if scale is None else np.asarray(scale, dtype=float)
    lower = np.array([-np.inf if lo is None else lo for lo, _ in objective.bounds])
    H = _difference_hessian(lambda z: objective.value_and_gradient(z)[1], x, free, lower, relative_step, scale)
    return np.full((free.sum(), free.sum()), np.nan) if H is None else H


def _value_derivatives(value, x, free, lower, relative_step, scale):
    """``(f(x), gradient, Hessian)`` of ``value`` over the `free` parameters from its values alone (steps and
    stencils as in :func:`value_hessian`; the gradient from the same points); None if a value is not finite."""
    index = np.flatnonzero(free)
    n = index.size
    f0 = value(x)
    if not math.isfinite(f0):
        return None
    h = np.array([relative_step * max(scale[k], abs(x[k])) for k in index])
    up = x[index] + h
    down = np.maximum(x[index] - h, lower[index])
    cache = {}

    def at(points):
        """value at x with the parameters {position: value} moved (memoized: the stencils share points)."""
        key = tuple(sorted(points.items()))
        if key not in cache:
            z = x.copy()
            for i, value_i in points.items():
                z[index[i]] = value_i
            cache[key] = value(z)
        return cache[key]

    g = np.empty(n)
    H = np.empty((n, n))
    for i in range(n):
        if down[i] < x[index[i]]:
            # three points, unequal spacing where the lower one was moved up to the bound
            left, right = x[index[i]] - down[i], h[i]
            f_up, f_down = at({i: up[i]}), at({i: down[i]})
            H[i, i] = 2.0 * ((f_up - f0) / right - (f0 - f_down) / left) / (left + right)
            g[i] = ((f_up - f0) * left / right + (f0 - f_down) * right / left) / (left + right)
        else:   # at the bound: forward differences, x, x + h, x + 2h
            f_1, f_2 = at({i: up[i]}), at({i: x[index[i]] + 2.0 * h[i]})
            H[i, i] = (f_2 - 2.0 * f_1 + f0) / h[i] ** 2
            g[i] = (4.0 * f_1 - 3.0 * f0 - f_2) / (2.0 * h[i])
        for j in range(i):
            H[i, j] = H[j, i] = ((at({i: up[i], j: up[j]}) - at({i: up[i], j: down[j]})
                                  - at({i: down[i], j: up[j]}) + at({i: down[i], j: down[j]}))
                                 / ((up[i] - down[i]) * (up[j] - down[j])))
    if not (np.all(np.isfinite(H)) and np.all(np.isfinite(g))):
        return None
    return f0, g, H


def value_gradient(objective, x, relative_step=1e-6):
    """``(log_likelihood(x), its central differences)`` from ``objective``'s values alone, steps
    ``relative_step * max(1, |x_k|)``; ``log_likelihood(x)`` is called again last, so that an objective
    keeping a warm start is left at `x`. 2 n + 2 evaluations: for objectives with ``derivatives = "values"``
    whose gradient a method asked for by name needs."""
    x = np.asarray(x, dtype=float)
    value = objective.log_likelihood(x)
    grad = np.empty(x.size)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = relative_step * max(1.0, abs(x[k]))
        grad[k] = (objective.log_likelihood(x + e) - objective.log_likelihood(x - e)) / (2 * e[k])
    objective.log_likelihood(x)   # the warm start back at x
    return value, grad


def value_hessian(objective, x, free=None, relative_step=1e-4, scale=None):
    """The Hessian of ``objective``'s log-likelihood at `x` from its values alone (second differences),
    over the `free` parameters (default all): for objectives that declare ``derivatives = "values"``.

    Steps ``h_k = relative_step * max(scale_k, |x_k|)`` (scale default 1). Diagonal entries from three
    points, the lower one moved up to a lower bound (unequal spacing) or, at the bound, forward differences
    ``x, x + h, x + 2h``; off-diagonal entries from the four corners ``(x_k +- h_k, x_l +- h_l)``. At most
    ``2 n^2 + 1`` evaluations for n free parameters. The error is O(h^2) plus the rounding of the
    log-likelihood over h^2: 1e-4 suits a value good to about 1e-12 relative.

    Parameters
    ----------
    objective : object
        With ``log_likelihood(x)`` and ``bounds`` (the protocol of :func:`optimize`).
    x : array_like
        Where.
    free : array_like of bool, optional
        The parameters to differentiate in.
    relative_step : float
        The relative step.
    scale : array_like, optional
        The smallest absolute step scale per parameter.

    Returns
    -------
    ndarray
        The (n_free, n_free) Hessian, NaN if the log-likelihood is not finite at some point of the stencil.

    Examples
    --------
    >>> import numpy as np
    >>> class Paraboloid:
    ...     bounds = [(None, None), (0.0, None)]
    ...     def log_likelihood(self, x):
    ...         return -(x[0] - 1.0) ** 2 - x[0] * x[1] - 3.0 * x[1] ** 2
    >>> np.round(value_hessian(Paraboloid(), [1.0, 0.0]), 6)
    array([[-2., -1.],
           [-1., -6.]])
    """
    x = np.asarray(x, dtype=float)
    free = np.ones(x.size, bool) if free is None else np.asarray(free, bool)
    scale = np.ones(x.size) if scale is None else np.asarray(scale, dtype=float)
    lower = np.array([-np.inf if lo is None else lo for lo, _ in objective.bounds])
    found = _value_derivatives(objective.log_likelihood, x, free, lower, relative_step, scale)
    return np.full((free.sum(), free.sum()), np.nan) if found is None else found[2]


def derivatives_of(objective):
    """What `objective` declares it computes: ``"gradient"`` (the default) or ``"values"`` (module notes).

    Raises
    ------
    ValueError
        When the declaration is neither.
    """
    declared = getattr(objective, "derivatives", "gradient")
    if declared not in _DERIVATIVES:
        raise ValueError(f"`objective.derivatives` must be one of {', '.join(map(repr, _DERIVATIVES))}, "
                         f"got {declared!r}")
    return declared


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


def optimize(objective, start=None, *, optimizer=None, max_iter=1000, verbose=False, progress=False, options=None,
             inverse_hessian=None):
    """Stage 3: maximize ``objective`` over its parameters.

    Parameters
    ----------
    objective : Objective
        Or any object with the protocol of the module notes.
    start : array_like, optional
        Starting parameters (``objective.names``); default ``objective.start()``.
    optimizer : str, optional
        A ``scipy.optimize.minimize`` method that needs no Hessian: ``"L-BFGS-B"`` (default), ``"TNC"``,
        ``"SLSQP"``, ``"trust-constr"``, ``"BFGS"``, ``"CG"``, ``"Newton-CG"``, ``"Nelder-Mead"``,
        ``"Powell"``, ``"COBYLA"``, ``"COBYQA"`` (case-insensitive); or ``"newton"``: Newton-Raphson with the
        objective's exact Hessian (``value_gradient_hessian``), step halving, no bounds. The default is
        ``"COBYQA"`` for an objective with ``derivatives = "values"`` (module notes).
    max_iter : int
        Bound on the optimizer's iterations (at most 10**6); the Newton polish adds at most
        ``options.polish_steps`` steps and the restarts off a zero standard deviation at most
        ``options.restarts`` more optimizer runs. A derivative-free method is also bounded by
        ``options.max_evaluations`` evaluations (scipy's default when None: 500 per parameter for COBYQA).
    verbose : bool
        Print the log-likelihood at every iteration (derivative-free methods: at every evaluation).
    progress : bool
        Print a line every two seconds (for long fits); derivative-free methods print one line per
        iteration that improves the log-likelihood, with the evaluations and the time so far.
    options : OptimizeOptions, optional
        The constants, an :class:`OptimizeOptions`: default :data:`GLMM_OPTIONS`; :data:`LMM_OPTIONS` for
        lme4's LMM conventions; :data:`REFIT_OPTIONS` for the refit mode (``mode="refit"``: many refits of a
        model on new responses, warm-started at its fit); ``dataclasses.replace(GLMM_OPTIONS, ...)`` to change
        a few of them.
    inverse_hessian : array_like, optional
        The refit mode's starting inverse Hessian of ``-llf`` over all the parameters, (n, n), symmetric
        positive definite: the fit's covariance of x (an entry of a parameter held at a bound: any positive
        variance, e.g. 1e-2). Default: the inverse of the central-difference Hessian at `start` (2 n
        gradient evaluations; the identity where that is not positive definite). Only with ``mode="refit"``.

    Returns
    -------
    OptimizeOutcome
        ``converged`` is False, with a :class:`ConvergenceWarning` (``options.warn``), when the convergence
        rule of `options` is not met.
    """
    x0, method, max_iter, verbose, progress = _optimize_iv(objective, start, optimizer, max_iter, verbose, progress)
    options = GLMM_OPTIONS if options is None else options
    if not isinstance(options, OptimizeOptions):
        raise TypeError(f"`options` must be an OptimizeOptions, got {type(options).__name__}")
    values_only = derivatives_of(objective) == "values"
    if inverse_hessian is not None and options.mode != "refit":
        raise ValueError("`inverse_hessian` is for the refit mode (options.mode='refit', REFIT_OPTIONS)")
    if values_only and optimizer is None:
        method = "COBYQA"
    if options.mode == "refit":
        if values_only or optimizer is not None:
            raise ValueError("`options`: the refit mode is a gradient method of its own: no `optimizer`, and an "
                             "objective with a gradient (derivatives='gradient')")
        outcome = _refit(objective, x0, _inverse_hessian_iv(inverse_hessian, objective.n_params), options)
    elif method == "newton":
        outcome = _newton_raphson(objective, x0, max_iter, options)
    elif values_only and method not in _GRADIENT_METHODS:
        outcome = _derivative_free(objective, x0, method, max_iter, verbose, progress, options)
    else:
        outcome = _quasi_newton(objective, x0, method, max_iter, verbose, progress, options)
    if options.warn and not outcome.converged:
        warnings.warn(f"the optimizer did not converge: {outcome.message}", ConvergenceWarning,
                      stacklevel=v.outside_stacklevel())
    return outcome


class _Steps(list):
    """The history of a fit: each iterate's log-likelihood, reported to an objective that declares
    ``report_step(k, llf)`` (its own progress lines: a Dask fit's give each step's distributed passes) when
    `progress` is on; every site that records an iterate (the scipy method's callback, the Newton polish)
    appends here."""

    def __init__(self, report=None):
        super().__init__()
        self._report = report

    def append(self, llf):
        super().append(llf)
        if self._report is not None:
            self._report(len(self), llf)


def _restart_off_zero(objective, run, state, x0, lower, scale, held, c, options):
    """At most ``options.restarts`` runs from off a standard deviation held at 0, each kept where it ends
    lower. `run(start)` returns a state ``(x, f, g, ...)``; the best state is returned.

    A standard deviation at its bound 0 has zero gradient by symmetry (the likelihood is even in a
    diagonal Cholesky entry), so a quasi-Newton method can stop there at a minimum along it. Where
    moving off the bound increases the likelihood, restart from there. The trial steps shrink by 10
    (three of them): at a minimum along the SD the likelihood rises as s^2 near 0 but may fall again
    before a step of 0.1 (the other parameters are those of the SD-0 fit; Salamanders' truncated NB2
    hurdle: better at SD 0.01, worse at 0.1)."""
    x, f, g = state[:3]
    for _ in range(options.restarts):
        if g is None:
            break
        at_zero = np.flatnonzero(held(x, g) & (lower == 0))
        if at_zero.size == 0:
            break
        trial = None
        for step in (0.1, 0.01, 0.001):
            point = x.copy()
            point[at_zero] = step * np.maximum(scale[at_zero], np.abs(x0[at_zero]))
            if -c * objective.log_likelihood(point) < f - 1e-9 * max(1.0, abs(f)):
                trial = point
                break
        if trial is None:
            break
        candidate = run(trial)
        if not candidate[1] < f:
            break
        state = candidate
        x, f, g = state[:3]
    return state


def canonical_theta(objective, x):
    """`x` with each covariance factor's columns signed so that its diagonal entry is non-negative: the
    likelihood depends on theta through L L' alone, which a column's sign does not change (an optimizer
    without bounds can end at -s instead of s). Needs the objective's ``layout`` (else `x` unchanged)."""
    layout = getattr(objective, "layout", None)
    x = np.array(x, dtype=float)
    for block in (layout.blocks if layout is not None else ()):
        theta = x[block.theta]
        negative = block.cols[block.diagonal][theta[block.diagonal] < 0]
        if negative.size:
            theta[np.isin(block.cols, negative)] *= -1.0
            x[block.theta] = theta
    return x


def _inverse_hessian_iv(inverse_hessian, n):
    """The refit mode's `inverse_hessian` checked: None, or a finite symmetric (n, n) array."""
    if inverse_hessian is None:
        return None
    try:
        H0 = np.array(inverse_hessian, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("`inverse_hessian` must be an (n, n) array of numbers") from None
    if H0.shape != (n, n):
        raise ValueError(f"`inverse_hessian` must have shape ({n}, {n}), got {H0.shape}")
    if not (np.all(np.isfinite(H0)) and np.allclose(H0, H0.T, rtol=1e-8, atol=1e-12 * np.max(np.abs(H0), initial=0))):
        raise ValueError("`inverse_hessian` must be finite and symmetric")
    return 0.5 * (H0 + H0.T)


def _refit(objective, x0, H0, options):
    """The refit mode (``options.mode == "refit"``, :data:`REFIT_OPTIONS`): BFGS on ``-llf`` from `x0` and the
    inverse Hessian `H0`, steps projected onto the bounds and halved, the restarts off a zero SD (module
    notes of :class:`OptimizeOptions`)."""
    lower = np.array([-np.inf if lo is None else lo for lo, _ in objective.bounds])
    x0, scale = _scales(objective, x0, lower, options)
    history = []
    first = {}

    def criterion(x):
        value, grad = objective.value_and_gradient(x)
        if not (math.isfinite(value) and np.all(np.isfinite(grad))):
            return np.inf, None
        return -value, -np.asarray(grad, dtype=float)

    def held(x, g):
        return (x <= lower + _AT_BOUND) & (g >= 0)

    def start_inverse(x, g):
        if H0 is not None:
            return H0.copy()
        H = _difference_hessian(lambda z: criterion(z)[1], x, np.ones(x.size, bool), lower, options.hessian_step,
                                scale)
        try:
            return cho_inverse(cholesky(H)) if H is not None else np.diag(scale ** 2)
        except np.linalg.LinAlgError:
            return np.diag(scale ** 2)

    def run(start):
        x = np.maximum(np.asarray(start, dtype=float), lower)
        f, g = criterion(x)
        if "g" not in first:
            first["g"] = None if g is None else -g
        if g is None:
            return x, f, g, 0, "the log-likelihood or its gradient is not finite at the start"
        Hi = start_inverse(x, g)
        message = f"no convergence in {options.refit_steps} steps"
        steps = 0
        for steps in range(1, options.refit_steps + 1):
            free = ~held(x, g)
            if np.max(np.abs(g[free]), initial=0.0) < options.refit_gtol:
                return x, f, g, steps - 1, "converged"
            direction = np.zeros(x.size)
            direction[free] = -Hi[np.ix_(free, free)] @ g[free]
            if not (np.all(np.isfinite(direction)) and g @ direction < 0):
                Hi = np.diag(scale ** 2)   # not a descent direction: start the metric again
                direction = np.where(free, -scale ** 2 * g, 0.0)
            t, accepted = 1.0, None
            for _ in range(options.polish_halvings + 1):
                trial = np.maximum(x + t * direction, lower)
                f_t, g_t = criterion(trial)
                if g_t is not None and f_t <= f + options.accept_slack * max(1.0, abs(f)):
                    accepted = (trial, f_t, g_t)
                    break
                t *= 0.5
            if accepted is None:
                message = "no step along the quasi-Newton direction lowers -llf"
                break
            trial, f_t, g_t = accepted
            s_k, y_k = trial - x, g_t - g
            x, f, g = trial, f_t, g_t
            history.append(-f)
            sy = float(s_k @ y_k)
            if sy > 1e-12 * np.linalg.norm(s_k) * np.linalg.norm(y_k):   # curvature condition: keep H positive
                rho = 1.0 / sy
                Hy = Hi @ y_k
                Hi = (Hi - rho * (np.outer(s_k, Hy) + np.outer(Hy, s_k))
                      + (rho * rho * (y_k @ Hy) + rho) * np.outer(s_k, s_k))
            if np.max(np.abs(s_k)) <= options.refit_min_step * (1.0 + np.max(np.abs(x))):
                message = "the last step is below refit_min_step"
                break
        return x, f, g, steps, message

    x, f, g, n_iter, message = _restart_off_zero(objective, run, run(x0), x0, lower, scale, held, 1.0, options)

    def largest(g_x, x_):
        return np.inf if g_x is None else float(np.max(np.abs(np.where(held(x_, g_x), 0.0, g_x)), initial=0.0))

    tolerance = options.refit_gtol
    if np.isfinite(f) and not largest(g, x) < tolerance:
        # the quasi-Newton iteration failed (a start far from the optimum: a fit at a bound whose replicate is
        # not, a line search stopped by rounding): the full mode's method from where it ended, judged by the
        # full mode's gradient rule (no final Hessian)
        fallback = _quasi_newton(objective, x, "L-BFGS-B", _MAX_FALLBACK_ITER, False, False,
                                 replace(options, mode="optimize", final_hessian=False))
        g_fb = None if not np.all(np.isfinite(fallback.gradient)) else -fallback.gradient
        if fallback.llf >= -f and g_fb is not None:
            x, f, g = fallback.x, -fallback.llf, g_fb
            n_iter += fallback.n_iter
            history.extend(fallback.history)
            message = f"{message}; then L-BFGS-B: {fallback.message}"
        tolerance = options.gradient_tol
    x = canonical_theta(objective, x)
    free = np.ones(x.size, bool) if g is None else ~held(x, g)
    gradient = np.full(x.size, np.nan) if g is None else -g
    converged = bool(np.isfinite(f) and largest(g, x) < tolerance)
    if not converged and g is not None:
        message = f"{message}; the largest gradient entry is {np.max(np.abs(g[free]), initial=0.0):.2g} at the end"
    elif converged:
        message = "converged"
    return OptimizeOutcome(x, float(-f), gradient, np.full((free.sum(), free.sum()), np.nan), free, converged,
                           message, objective.evaluations, history, n_iter=int(n_iter),
                           start_gradient=first.get("g"))


def _quasi_newton(objective, x0, method, max_iter, verbose, progress, options):
    """A scipy method from x0, Newton steps after it, restarts off zero standard deviations (module notes)."""
    c = 2.0 if options.deviance else 1.0          # the criterion minimized: -c llf
    lower = np.array([-np.inf if lo is None else lo for lo, _ in objective.bounds])
    x0, scale = _scales(objective, x0, lower, options)
    report = getattr(objective, "report_step", None) if progress and not verbose else None
    history = _Steps(report)
    clock = [time.perf_counter()]
    last = [np.nan]

    def criterion(x):
        """(-c llf, its gradient), or (inf, None) where they are not finite."""
        value, grad = objective.value_and_gradient(x)
        last[0] = value
        if not (math.isfinite(value) and np.isfinite(grad).all()):
            return np.inf, None
        return -c * value, -c * grad

    gradients = None
    if getattr(objective, "batch_gradients", False):
        # a declared capability (a Dask objective: one distributed pass for all the Hessian's points)
        def gradients(points):
            out = []
            for value, grad in objective.values_and_gradients(points):
                finite = math.isfinite(value) and grad is not None and np.isfinite(grad).all()
                out.append(-c * grad if finite else None)
            return out

    def negative(z):
        f, g = criterion(z * scale)
        if g is None:
            return 1e300, np.zeros_like(z)
        return f, g * scale

    def record(x, *args):
        history.append(float(last[0]))
        if verbose:
            print(f"  iteration {len(history):4d}: log-likelihood {history[-1]:.8f}", flush=True)
        elif progress and report is None and time.perf_counter() - clock[0] > 2.0:
            clock[0] = time.perf_counter()
            print(f"  ... iteration {len(history)}", flush=True)

    scipy_options = {"maxiter": max_iter}
    if method == "L-BFGS-B":
        scipy_options.update(ftol=options.ftol, gtol=options.gtol, maxcor=options.maxcor)
        if options.max_evaluations is not None:
            scipy_options["maxfun"] = options.max_evaluations
    bounds = [(None if lo is None else lo / s, None) for (lo, _), s in zip(objective.bounds, scale)]

    def held(x, g):
        """The parameters at their lower bound with the criterion's gradient pushing them out."""
        return (x <= lower + _AT_BOUND) & (g >= 0)

    def run(start):
        gradient = method in _GRADIENT_METHODS
        opt = scipy_optimize.minimize(negative if gradient else (lambda z: negative(z)[0]), start / scale,
                                      method=method, jac=True if gradient else None,
                                      bounds=None if method in ("BFGS", "CG", "Newton-CG") else bounds,
                                      callback=record, options=scipy_options)
        x = np.maximum(opt.x * scale, lower)
        jac = getattr(opt, "jac", None)
        if not options.rescale and np.array_equal(x, opt.x) and jac is not None and opt.fun < 1e300:
            f, g = float(opt.fun), np.asarray(jac, dtype=float)   # where the optimizer evaluated them last
        else:
            f, g = criterion(x)
        step_size = np.inf
        if options.step_polished is not None and g is not None and hasattr(opt, "hess_inv"):
            # the optimizer's own inverse-Hessian estimate of the remaining step (relative)
            step_size = float(np.max(np.abs(opt.hess_inv @ np.where(held(x, g), 0.0, g)), initial=0.0)
                              / (1.0 + np.max(np.abs(x), initial=0.0)))
        return _polish(criterion, x, f, g, step_size, lower, scale, held, history, c, options,
                       gradients=gradients) + (opt,)

    x, f, g, H, free, step_size, opt = _restart_off_zero(objective, run, run(x0), x0, lower, scale, held, c,
                                                         options)
    llf = -f / c
    gradient = np.full(x.size, np.nan) if g is None else -g / c
    if options.convergence == "gradient":
        negative_definite = H is not None and _negative_definite(-H)
        small = bool(g is not None and np.max(np.abs(gradient[free]), initial=0.0) < options.gradient_tol)
        converged = bool(np.isfinite(llf) and small and negative_definite)
        if converged:
            message = "converged"
        else:
            reasons = []
            if not np.isfinite(llf):
                reasons.append("the log-likelihood is not finite at the end")
            if not small:
                largest = np.max(np.abs(gradient[free]), initial=0.0)
                reasons.append(f"the gradient is {largest:.2g} at the end ({opt.message})")
            if not negative_definite:
                reasons.append("the Hessian is not negative definite at the end")
            message = "; ".join(reasons)
    else:
        gmax = np.inf if g is None else float(np.max(np.abs(np.where(held(x, g), 0.0, g)), initial=0.0))
        converged = bool(np.isfinite(f) and (gmax <= options.rounding * max(1.0, abs(f))
                                             or step_size <= options.step_tol))
        message = str(opt.message)
        if not converged:
            message = f"{message}; projected gradient {gmax:.2e}, last Newton step {step_size:.2e}"
    hess = np.full((free.sum(), free.sum()), np.nan) if H is None else -H / c
    return OptimizeOutcome(x, float(llf), gradient, hess, free, converged, message, objective.evaluations,
                           list(history), n_iter=int(getattr(opt, "nit", 0)))


def _scales(objective, x0, lower, options):
    """The scale of each parameter (``options.rescale``: module notes of OptimizeOptions), x0 within bounds."""
    x0 = np.maximum(x0, lower)
    scale = np.ones(x0.size)
    if options.rescale:
        # parameters far below 1 in size (an inverse link's coefficients, say) are brought to unit size
        scale = np.where(np.abs(x0) > 0, np.clip(np.abs(x0), 1e-8, 1.0), 1.0)
        layout = getattr(objective, "layout", None)   # optional in the protocol
        for block in (layout.blocks if layout is not None else ()):
            diag = scale[block.theta][block.diagonal]
            scale[block.theta] = np.where(block.diagonal, scale[block.theta], np.min(diag) if diag.size else 1.0)
    return x0, scale


def _derivative_free(objective, x0, method, max_iter, verbose, progress, options):
    """A derivative-free scipy method (COBYQA by default) on ``log_likelihood`` alone, the Hessian by
    :func:`value_hessian` at the end (module notes)."""
    c = 2.0 if options.deviance else 1.0          # the criterion minimized: -c llf
    lower = np.array([-np.inf if lo is None else lo for lo, _ in objective.bounds])
    x0, scale = _scales(objective, x0, lower, options)
    history = []
    best = {"f": np.inf, "x": x0.copy(), "count": 0}
    started = time.perf_counter()

    def negative(z):
        x = np.maximum(z * scale, lower)
        value = objective.log_likelihood(x)
        best["count"] += 1
        f = -c * value if math.isfinite(value) else np.inf
        if verbose:
            print(f"  evaluation {best['count']:5d}: log-likelihood {value:.10f}", flush=True)
        if f < best["f"]:
            best.update(f=f, x=x)
            history.append(float(value))
            if progress and not verbose:
                print(f"  iteration {len(history):4d}: log-likelihood {value:.10f}  ({best['count']} evaluations, "
                      f"{time.perf_counter() - started:.1f} s)", flush=True)
        # COBYQA replaces inf by its barrier; 1e300 keeps the other methods' arithmetic finite too
        return f if f < np.inf else 1e300

    bounds = [(lo / s if np.isfinite(lo) else None, None) for lo, s in zip(lower, scale)]
    scipy_options = {"maxiter": max_iter}
    if method == "COBYQA":
        scipy_options.update(initial_tr_radius=options.initial_radius, final_tr_radius=options.final_radius)
        if options.max_evaluations is not None:
            scipy_options["maxfev"] = options.max_evaluations
    elif method == "COBYLA":
        scipy_options.update(rhobeg=options.initial_radius, tol=options.final_radius)
    elif method in ("Nelder-Mead", "Powell") and options.max_evaluations is not None:
        scipy_options["maxfev"] = options.max_evaluations
    with warnings.catch_warnings():
        # scipy's own remarks (e.g. COBYQA's "maximum number of evaluations") become this outcome's message
        warnings.simplefilter("ignore", RuntimeWarning)
        opt = scipy_optimize.minimize(negative, x0 / scale, method=method, bounds=bounds, options=scipy_options)
    # the best point evaluated (a method may report another one after a failure)
    x, f = best["x"], best["f"]
    x, f, found = _value_polish(objective, x, f, lower, scale, history, c, options)
    llf = -f / c
    converged = bool(opt.success and np.isfinite(llf))
    message = str(opt.message)
    if not np.isfinite(llf):
        message = f"{message}; the log-likelihood is not finite at the end"
    free = x > lower + _AT_BOUND
    hess = np.full((free.sum(), free.sum()), np.nan)
    if options.final_hessian and np.isfinite(llf):
        if found is not None and np.array_equal(found[0], free):   # the last polishing step's, where it was taken
            hess = -found[1] / c
        else:
            hess = value_hessian(objective, x, free, options.value_step, scale)
    return OptimizeOutcome(x, float(llf), np.full(x.size, np.nan), hess, free, converged, message,
                           objective.evaluations, history, n_iter=int(getattr(opt, "nit", 0)))


def _value_polish(objective, x, f, lower, scale, history, c, options):
    """At most ``options.value_polish_steps`` Newton steps on the criterion ``-c llf`` from (x, f), its
    derivatives from values (:func:`_value_derivatives`); returns (x, f, found): found is (free, Hessian of
    the criterion) where that Hessian is still current at the returned x, else None."""
    min_step = 1e-12 if options.min_step is None else options.min_step
    found = None

    def criterion(z):
        value = objective.log_likelihood(z)
        return -c * value if math.isfinite(value) else np.inf

    for _ in range(options.value_polish_steps):
        free = x > lower + _AT_BOUND
        if not (np.isfinite(f) and free.any()):
            break
        derivatives = _value_derivatives(criterion, x, free, lower, options.value_step, scale)
        if derivatives is None:
            break
        f0, g, H = derivatives
        try:
            step = -cho_solve(cholesky(H), g)   # only where the criterion is locally convex
        except np.linalg.LinAlgError:
            break
        trial = x.copy()
        trial[free] += step
        trial = np.maximum(trial, lower)
        f_trial = criterion(trial)
        if not f_trial <= f0 + options.accept_slack * max(1.0, abs(f0)):
            found = (free, H)
            break
        # a step well inside the stencil leaves its Hessian current (the final Hessian needs no new one)
        inside = np.max(np.abs(step) / (options.value_step * np.maximum(scale[free], np.abs(x[free])))) < 0.1
        x, f, found = trial, f_trial, ((free, H) if inside else None)
        history.append(-f / c)
        if np.max(np.abs(step)) <= min_step * (1.0 + np.max(np.abs(x))):
            break
    return x, f, found


def _polish(criterion, x, f, g, step_size, lower, scale, held, history, c, options, gradients=None):
    """Newton steps on the criterion from (x, f, g), the Hessian by differences of its gradient; returns
    (x, f, g, H over free, free, last relative step size)."""
    state = {"H": None, "free": None, "stale": True, "step": step_size, "moved": 0.0}

    def gradient(z):
        return criterion(z)[1]

    def evaluate(z):   # newton maximizes: the negated criterion, and (z, its gradient) as the info
        f_z, g_z = criterion(z)
        return -f_z, (z, g_z)

    def projected(z, g_z):
        return float(np.max(np.abs(np.where(held(z, g_z), 0.0, g_z)), initial=0.0))

    def direction(z, value, info):
        g_z = info[1]
        if g_z is None:
            return None
        if options.rounding is not None and projected(z, g_z) <= options.rounding * max(1.0, abs(value)):
            state["step"] = 0.0   # the gradient is at rounding level: converged
            return None
        if options.step_polished is not None and state["step"] <= options.step_polished:
            return None
        if state["stale"] or options.hessian_every_step:
            free = ~held(z, g_z)
            H = _difference_hessian(gradient, z, free, lower, options.hessian_step, scale, gradients)
            if H is None:   # the gradient fails next to z
                return None
            state.update(H=H, free=free, stale=False)
        H, free = state["H"], state["free"]
        g_free = g_z[free]
        if options.indefinite == "gradient":
            try:
                definite = bool(np.all(np.linalg.eigvalsh(H) > 0))
            except np.linalg.LinAlgError:
                definite = False
            if definite:
                step = -np.linalg.solve(H, g_free)
            else:   # not locally convex: a gradient step scaled by the curvature
                step = -g_free / max(np.max(np.abs(np.diag(H)), initial=0.0), 1.0)
        else:
            try:
                step = -np.linalg.solve(H, g_free)
            except np.linalg.LinAlgError:
                return None
            # not finite, or H is not positive definite here: no Newton descent direction
            if not (np.all(np.isfinite(step)) and g_free @ step < 0):
                return None
        state["step"] = float(np.max(np.abs(step), initial=0.0) / (1.0 + np.max(np.abs(z[free]), initial=0.0)))
        if options.min_step is not None and state["step"] <= options.min_step:
            return None
        full = np.zeros(z.size)
        full[free] = step
        return full

    def accept(t_value, t_info, value, info):
        (t_z, t_g), f_t, f_z = t_info, -t_value, -value
        if t_g is None or not np.isfinite(f_t):
            return False
        if f_t < f_z:
            return True
        if not f_t <= f_z + options.accept_slack * max(1.0, abs(f_z)):
            return False
        return not options.accept_by_gradient or projected(t_z, t_g) < projected(*info)

    def done(change, t, old, new):
        history.append(new / c)   # newton maximizes c llf (evaluate returns -criterion)
        moved = float(np.max(np.abs(change / scale), initial=0.0))
        state["moved"] += moved
        if moved > 1e-2:   # far from where H was taken
            state["stale"] = True
        return options.stop_step is not None and moved < options.stop_step

    if g is not None and options.polish_steps > 0:
        res = _newton.newton(evaluate, direction, x, max_iter=options.polish_steps,
                             max_halvings=options.polish_halvings, accept=accept, lower=lower,
                             outside=options.outside, done=done, initial=(-f, (x, g)))
        x, f, g = res.x, -res.value, res.info[1]
    H, free = state["H"], state["free"]
    if g is not None and options.final_hessian and (H is None or state["moved"] > 1e-4 or state["stale"]):
        free = ~held(x, g)
        H = _difference_hessian(gradient, x, free, lower, options.hessian_step, scale, gradients)
    if free is None:
        free = np.ones(x.size, bool) if g is None else ~held(x, g)
    if H is not None and H.shape[0] != free.sum():
        H = None
    return x, f, g, H, free, state["step"]


def _newton_raphson(objective, x0, max_iter, options):
    """Newton-Raphson with the objective's exact Hessian (``optimizer="newton"``): step halving until the
    log-likelihood does not fall by more than rounding (1e-12 relative), stopped by ``options.check``."""
    if not callable(getattr(objective, "value_gradient_hessian", None)):
        raise TypeError("`optimizer`='newton' needs an objective with an exact Hessian (value_gradient_hessian)")
    state = {"decrement": np.nan}

    def evaluate(x):
        value, gradient, hess = objective.value_gradient_hessian(x)
        return value, (gradient, hess)

    def direction(x, value, info):
        gradient, hess = info
        try:
            factor = cholesky(-hess)
        except np.linalg.LinAlgError:
            return None
        step = cho_solve(factor, gradient)
        state["decrement"] = float(gradient @ step)
        return step

    check = None if options.check is None else (lambda x, value, info: options.check(x, value, *info))
    initial = evaluate(np.array(x0, dtype=float))
    res = _newton.newton(evaluate, direction, x0, max_iter=max_iter, max_halvings=options.newton_halvings,
                         rtol=1e-12, atol=1e-12, check=check, initial=initial,
                         done=lambda change, t, old, new: state["decrement"] < options.newton_decrement and t == 1.0)
    decrement = state["decrement"]
    converged = res.status == _newton.CONVERGED
    message = "converged"
    if res.status == _newton.NO_DIRECTION:
        message = "the Hessian is not negative definite (an estimate is running off to infinity?)"
    elif res.status == _newton.NO_PROGRESS:
        converged = decrement < options.newton_rounding
        message = ("converged (at rounding level)" if converged else
                   f"no step along the Newton direction raises the log-likelihood (decrement {decrement:.2g})")
    elif res.status == _newton.STOPPED:
        message = res.message
    elif res.status == _newton.MAX_ITER:
        message = f"no convergence in {max_iter} Newton iterations (decrement {decrement:.2g})"
    elif res.status == _newton.NOT_FINITE:
        message = "the log-likelihood is not finite at the start"
    gradient, hess = res.info
    # the iterations begun: a failed one (no direction, no acceptable step) counts
    n_iter = res.n_iter + (res.status in (_newton.NO_DIRECTION, _newton.NO_PROGRESS))
    return OptimizeOutcome(res.x, float(res.value), gradient, hess, np.ones(res.x.size, bool), converged, message,
                           objective.evaluations, [float(initial[0])] + list(res.history), n_iter=int(n_iter))
