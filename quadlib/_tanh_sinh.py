"""`tanh_sinh`: double-exponential quadrature (tanh-sinh, exp-sinh, sinh-sinh) with a cautious error estimate.

Each level halves the step in t and evaluates only the new points, in one call for a vectorized
integrand. The reported error of level k is ``|I_k - I_(k-1)|`` (the error of the previous level, a bound
on this one's once the method is converging double-exponentially) plus the size of the truncated tails and
the rounding floor, so it is pessimistic rather than optimistic. Abscissae are formed from their distance
to the nearest endpoint, so endpoint singularities are sampled down to ~1e-300 away, and a point that
would round onto an endpoint is dropped: the endpoints are never evaluated.

References
----------
H. Takahasi and M. Mori, "Double exponential formulas for numerical integration", Publ. RIMS 9 (1974).
D. H. Bailey, K. Jeyabalan and X. S. Li, "A comparison of three high-precision quadrature schemes",
Experimental Mathematics 14 (2005).
"""
import numpy as np

from . import _validation as v
from ._result import IntegrationResult, warn_unsuccessful

__all__ = ["tanh_sinh"]

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
    atol = v.nonnegative_tolerance(atol, "atol")
    rtol = v.nonnegative_tolerance(rtol, "rtol")
    if atol == 0 and rtol == 0:
        raise ValueError("`atol` and `rtol` cannot both be zero")
    max_level = v.positive_int(max_level, "max_level", maximum=20)
    if not isinstance(args, tuple):
        args = (args,)
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
    atol, rtol : float
        Tolerances (not both zero).
    vectorized : bool
    max_level : int
        Number of step halvings (<= 20); level k has about ``12 * 2^k`` points.

    Returns
    -------
    IntegrationResult
        With ``level`` in its extras. ``success=False`` and an IntegrationWarning when `max_level` is
        reached or the integrand returns inf/NaN.

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

    def evaluate(x):
        if vectorized:
            y = np.asarray(f(x, *args))
            if y.ndim == 0 or y.shape[0] != x.shape[0]:
                raise ValueError(f"`f` must return an array whose first axis has the length of its input "
                                 f"({x.shape[0]}) when vectorized=True, got shape {y.shape}")
            return y
        return np.array([f(float(t), *args) for t in x])

    total = None        # sum of w f over all points so far (step 1 units)
    magnitude = 0.0     # sum of |w f|, for the rounding floor
    nfev = 0
    history = []
    status, message = 1, f"max_level={max_level} reached before the tolerance was met"
    tails = 0.0
    edge_t, edge_terms = [np.inf, -np.inf], [0.0, 0.0]
    for level in range(max_level + 1):
        h = 2.0 ** -level
        if level == 0:
            t = np.arange(np.ceil(t_min), np.floor(t_max) + 1.0)
        else:
            t = h * np.arange(np.ceil(t_min / h), np.floor(t_max / h) + 1.0)
            t = t[np.abs(np.round(t / h)) % 2 == 1]
        x, w, t = _abscissae(kind, a, b, t)
        y = evaluate(x)
        nfev += x.size
        terms = w.reshape((-1,) + (1,) * (y.ndim - 1)) * y
        if not np.all(np.isfinite(terms)):
            status, message = 2, "the integrand returned inf or NaN"
            break
        part = terms.sum(axis=0)
        total = part if total is None else total + part
        magnitude += np.abs(terms).sum(axis=0) if terms.size else 0.0
        if terms.size:
            # the outermost terms so far bound the truncated tails: beyond them the terms decay
            # double-exponentially, or the points were dropped as too close to an endpoint
            if t[0] < edge_t[0]:
                edge_t[0], edge_terms[0] = t[0], np.abs(terms[0])
            if t[-1] > edge_t[1]:
                edge_t[1], edge_terms[1] = t[-1], np.abs(terms[-1])
        tails = edge_terms[0] + edge_terms[1]  # per unit of t: generous, so the estimate stays honest
        history.append(h * total)
        if level >= 2:
            estimate = history[-1]
            change = np.max(np.abs(history[-1] - history[-2]))
            rounding = 10 * np.finfo(float).eps * np.max(h * magnitude)
            error = change + np.max(tails) + rounding
            # an integrand that was exactly zero at every point so far has not been seen at all
            # (a narrow peak between the points): keep refining rather than accept zero
            if error <= max(atol, rtol * np.max(np.abs(estimate))) and np.any(magnitude > 0):
                status, message = 0, "converged"
                break
    if status == 1 and not np.any(magnitude > 0):
        message = (f"the integrand was zero at all {nfev} points: either it vanishes, or it has features "
                   "narrower than the finest spacing; give breakpoints to quad, or raise max_level")
    if status == 2 or not history:
        estimate, error = (history[-1] if history else 0.0), np.inf
    else:
        estimate = history[-1]
        if len(history) >= 2:
            change = np.max(np.abs(history[-1] - history[-2]))
            error = change + np.max(tails) + 10 * np.finfo(float).eps * np.max(h * magnitude)
        else:
            error = np.inf
    result = IntegrationResult(sign * np.asarray(estimate)[()], float(error), int(nfev), status, status == 0,
                               message, extra={"level": level})
    return warn_unsuccessful(result)
