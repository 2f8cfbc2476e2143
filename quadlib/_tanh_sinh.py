"""`tanh_sinh`: double-exponential quadrature (tanh-sinh, exp-sinh, sinh-sinh) with a cautious error estimate.

Each level halves the step in t and evaluates only the new points, in one call for a vectorized
integrand. The reported error of level k is ``|I_k - I_(k-1)|`` (the error of the previous level, a bound
on this one's) once the changes have been seen to shrink double-exponentially for four levels running,
and twice the largest of the last three changes otherwise (an interior kink or singularity makes the
convergence algebraic and erratic, and one change can be small by accident); plus the size of the
truncated tails and the rounding floor. It is pessimistic rather than optimistic. Abscissae are formed
from their distance to the nearest endpoint, so endpoint singularities are sampled down to ~1e-300 away,
and a point that would round onto an endpoint is dropped: the endpoints are never evaluated. The
integrand is called through the one integrand wrapper, quadlib/_integrand.py.

References
----------
H. Takahasi and M. Mori, "Double exponential formulas for numerical integration", Publ. RIMS 9 (1974).
D. H. Bailey, K. Jeyabalan and X. S. Li, "A comparison of three high-precision quadrature schemes",
Experimental Mathematics 14 (2005).
"""
import numpy as np

from . import _validation as v
from ._integrand import Integrand
from ._result import IntegrationResult, warn_unsuccessful

__all__ = ["tanh_sinh"]

MESSAGES = {
    0: "converged",
    2: "the integrand returned inf or NaN",
    3: "overflow: the integrand's values are finite, but their weighted sum is not; rescale the integrand",
}
_ROUNDING = 50 * np.finfo(float).eps  # relative rounding floor of a weighted sum (QUADPACK's 50 eps)
_HALF_PI = 0.5 * np.pi
_T_MAX = {"tanh_sinh": 6.1, "exp_sinh": 5.0, "sinh_sinh": 5.0}
_T_MIN_EXP = -6.7  # exp-sinh: exp(pi/2 sinh t) reaches ~1e-300 here


def _abscissae(kind, a, b, t):
    """Points x(t) and weights dx/dt, dropping points that round onto a finite endpoint."""
    u = _HALF_PI * np.sinh(t)
    with np.errstate(over="ignore", under="ignore"):
        if kind == "tanh_sinh":
            half = 0.5 * (b - a)
            e = np.exp(-2 * np.abs(u))
            distance = 2 * half * e / (1 + e)              # to the nearer endpoint, without cancellation
            x = np.where(t > 0, b - distance, a + distance)
            w = half * _HALF_PI * np.cosh(t) * 4 * e / (1 + e) ** 2
            # keep a point only if x carries its distance to the endpoint to within 1%: closer points
            # would hand f a rounded x (f could not tell 1 - 1e-20 from 1 - 1e-16)
            represented = np.where(t > 0, b - x, x - a)
            keep = (distance > 0) & (x > a) & (x < b) & (np.abs(represented - distance) <= 0.01 * distance)
        elif kind == "exp_sinh":                             # [a, inf) or, mirrored, (-inf, b]
            step = np.exp(u)
            x = a + step if np.isfinite(a) else b - step
            w = _HALF_PI * np.cosh(t) * step
            end = a if np.isfinite(a) else b
            keep = (step > 0) & np.isfinite(x) & (np.abs(np.abs(x - end) - step) <= 0.01 * step)
        else:
            x = np.sinh(u)
            w = _HALF_PI * np.cosh(t) * np.cosh(u)
            keep = np.isfinite(x) & np.isfinite(w)
    return x[keep], w[keep], t[keep]


def _tanh_sinh_iv(f, a, b, args, atol, rtol, vectorized, max_level):
    v.callable_(f, "f")
    a = v.real_scalar(a, "a", finite=False)
    b = v.real_scalar(b, "b", finite=False)
    atol, rtol = v.tolerances(atol, rtol)
    max_level = v.positive_int(max_level, "max_level", maximum=20)
    args = v.args_tuple(args)
    return f, a, b, args, atol, rtol, bool(vectorized), max_level


def tanh_sinh(f, a, b, *, args=(), atol=0.0, rtol=1e-10, vectorized=False, max_level=10):
    """Double-exponential quadrature of ``f`` from `a` to `b` (either may be infinite).

    tanh-sinh on finite intervals, exp-sinh on half-lines and sinh-sinh on the real line. Very effective
    for integrands analytic inside the interval, including those with endpoint singularities.

    Parameters
    ----------
    f : callable
        ``f(x, *args)``; with ``vectorized=True`` it takes and returns arrays (vector-valued f returns
        shape (N, m)).
    a, b : float
    args : tuple
        Extra arguments of `f`; a value that is not a tuple is passed as the one extra argument, as in scipy.
    atol, rtol : float
        Tolerances (not both zero).
    vectorized : bool
    max_level : int
        Number of step halvings (<= 20); level k has about ``12 * 2^k`` points. A success needs at
        least three levels beyond the first, and usually five (the convergence must be seen).

    Returns
    -------
    IntegrationResult
        With ``level`` in its extras. ``status``: 0 converged, 1 `max_level` reached (on an infinite
        range, with terms at its ends that do not decay, the message says the integral appears
        divergent), 2 the integrand returned inf or NaN, 3 overflow (finite values whose weighted sum is
        not). Any status but 0 comes with ``success=False`` and an IntegrationWarning.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> res = quadlib.tanh_sinh(lambda x: 1 / np.sqrt(x), 0.0, 1.0, vectorized=True)
    >>> round(float(res.integral), 12), res.success
    (2.0, True)

    References
    ----------
    H. Takahasi and M. Mori, Publ. RIMS 9 (1974); D. H. Bailey et al., Exp. Math. 14 (2005).
    """
    f, a, b, args, atol, rtol, vectorized, max_level = _tanh_sinh_iv(f, a, b, args, atol, rtol, vectorized, max_level)
    if a == b:
        return IntegrationResult(0.0, 0.0, 0, extra={"level": 0})
    sign = 1.0
    if a > b:
        a, b, sign = b, a, -1.0
    if np.isfinite(a) and np.isfinite(b):
        kind = "tanh_sinh"
    elif np.isfinite(a) or np.isfinite(b):
        kind = "exp_sinh"
    else:
        kind = "sinh_sinh"
    t_max = _T_MAX[kind]
    t_min = _T_MIN_EXP if kind == "exp_sinh" else -t_max

    evaluate = Integrand(f, args, vectorized=vectorized, value_ndim=1, caller="quadlib.tanh_sinh")

    total = None        # sum of w f over all points so far (step 1 units)
    magnitude = 0.0     # sum of |w f|, for the rounding floor and the scale of the changes
    history, changes = [], []
    status, message = 1, f"max_level={max_level} reached before the tolerance was met"
    tails = 0.0
    edge_t, edge_terms = [np.inf, -np.inf], [0.0, 0.0]
    error = np.inf
    for level in range(max_level + 1):
        h = 2.0 ** -level
        if level == 0:
            t = np.arange(np.ceil(t_min), np.floor(t_max) + 1.0)
        else:
            t = h * np.arange(np.ceil(t_min / h), np.floor(t_max / h) + 1.0)
            t = t[np.abs(np.round(t / h)) % 2 == 1]
        x, w, t = _abscissae(kind, a, b, t)
        y = evaluate(x)
        if not np.all(np.isfinite(y)):
            status, message = 2, MESSAGES[2]
            break
        with np.errstate(over="ignore", invalid="ignore"):  # reported as status 3
            terms = w.reshape((-1,) + (1,) * (y.ndim - 1)) * y
            part = terms.sum(axis=0)
            total = part if total is None else total + part
            magnitude = magnitude + (np.abs(terms).sum(axis=0) if terms.size else 0.0)
        if not (np.all(np.isfinite(total)) and np.all(np.isfinite(magnitude))):
            status, message = 3, MESSAGES[3]
            break
        if terms.size:
            # the outermost terms so far bound the truncated tails: beyond them the terms decay
            # double-exponentially, or the points were dropped as too close to an endpoint
            if t[0] < edge_t[0]:
                edge_t[0], edge_terms[0] = t[0], np.abs(terms[0])
            if t[-1] > edge_t[1]:
                edge_t[1], edge_terms[1] = t[-1], np.abs(terms[-1])
        tails = np.max(edge_terms[0] + edge_terms[1])  # per unit of t: generous, so the estimate stays honest
        history.append(h * total)
        if level:
            changes.append(float(np.max(np.abs(history[-1] - history[-2]))))
        error = _error_estimate(changes, float(np.max(h * magnitude)), tails)
        # an integrand that was exactly zero at every point so far has not been seen at all (a narrow peak
        # between the points): keep refining rather than accept zero
        if error <= max(atol, rtol * np.max(np.abs(history[-1]))) and np.any(magnitude > 0):
            status, message = 0, MESSAGES[0]
            break
    # nothing summed without overflow: no estimate to show
    estimate = history[-1] if history else np.full(np.shape(part) if total is not None else (), np.nan)
    nfev = evaluate.nfev
    if status in (2, 3):
        error = np.inf
    elif status == 1 and not np.any(magnitude > 0):
        message = (f"the integrand was zero at all {nfev} points: either it vanishes, or it has features "
                   "narrower than the finest spacing; give breakpoints to quad, or raise max_level")
    elif status == 1 and kind != "tanh_sinh" and tails > max(atol, rtol * np.max(np.abs(estimate))):
        message += ("; the integral appears divergent (or converges too slowly): the terms at the ends of the "
                    "infinite range do not decay")
    result = IntegrationResult(sign * np.asarray(estimate)[()], float(error), int(nfev), status, status == 0,
                               message, extra={"level": level})
    return warn_unsuccessful(result)


def _error_estimate(changes, scale, tails):
    """A conservative error estimate for the latest level, from the changes between levels.

    Once the method is seen to converge double-exponentially (four relative changes running, each at
    most the one before to the power 1.5), the latest change bounds the previous level's error and so,
    with room to spare, this one's. An integrand with an interior kink or singularity converges only
    algebraically and erratically, and changes can be small by accident (measured: |x - 1/16|^(1/2) on
    [0, 1/2] has a change of 3.7e-5 where the error is 1.0e-4, and |x - 1/3| three changes running that
    shrink like a double-exponential start, then grow): then the estimate is twice the largest of the
    last three changes. Four steps, not three, is what made 1500 such integrands (60 random kinks, 5
    powers, 5 tolerances) free of silent failures, at about 1.5 times the evaluations on smooth ones.
    Changes at the rounding level count as converged, and the rounding floor is QUADPACK's
    ``50 eps sum |w f|``. Below three changes nothing is known: inf.
    """
    if len(changes) < 3:
        return np.inf
    noise = _ROUNDING * scale
    r = [c / scale if scale > 0 else 0.0 for c in changes[-5:]]
    double_exponential = len(r) == 5 and r[0] < 1.0 and all(
        r[i + 1] <= max(r[i] ** 1.5, _ROUNDING) for i in range(4))
    change = changes[-1] if double_exponential else 2.0 * max(changes[-3:])
    return change + tails + noise
