"""`nsum`: sums of finite and infinite series, direct summation plus an integral-test tail.

The terms ``f(a), f(a + step), ...`` are summed directly, in blocks of doubling length, until the next
term is below the tolerance and the terms decrease; the rest of the series is replaced by the integral
of `f` over the rest of the range (:func:`quad`), which the integral test brackets: for non-increasing
terms g(j), ``I + g(N) <= sum_{j=k}^{N} g(j) <= I + g(k)`` with ``I = integral_k^N g``. The midpoint of
that bracket is the estimate and its half-width (plus the quadrature error) the error. The bracket holds
only for a tail that does not increase, so every value of `f` evaluated in the tail is checked.
"""
import math
import numbers
import warnings

import numpy as np

from . import _validation as v
from ._adaptive import quad
from ._integrand import Integrand
from ._result import IntegrationResult, IntegrationWarning, warn_unsuccessful

__all__ = ["nsum"]

#: Largest `maxterms`: 2**24 terms is about a second of a cheap vectorized `f`, and what the direct
#: summation may evaluate (it is never held in memory at once: see _CHUNK).
MAX_TERMS = 2 ** 24
#: Most points `f` is called with at once (2 MiB of abscissae).
_CHUNK = 2 ** 18
#: Bound on the evaluations of the tail integral (quad's `max_nfev`).
TAIL_MAX_NFEV = 100_000
_EPS = np.finfo(float).eps
# The direct part's error: terms accurate to about 50 units in the last place (as quad's rounding floor). The
# terms are f's and their rounding is unknown; an exp of a sum of logs of size 100 (a Poisson pmf) is already
# off by ~100 ulp, which 2 eps * sum|terms| would not cover.
_ROUNDING = 50 * _EPS

MESSAGES = {
    0: "converged",
    1: "the bound on the tail exceeds the tolerance after `maxterms` terms: the terms decrease too slowly (increase "
       "`maxterms` or loosen the tolerance)",
    2: "`f` returned a non-finite value, or the sum overflowed",
    3: "the integral of the tail did not converge: the series diverges or converges too slowly",
    4: "the terms of the tail are not non-increasing (or change sign), so the integral test does not bound the tail",
}


def _nsum_iv(f, a, b, step, args, log, maxterms, atol, rtol):
    v.callable_(f, "f")
    a = v.real_scalar(a, "a", finite=False)
    b = v.real_scalar(b, "b", finite=False)
    if a == math.inf:
        raise ValueError("`a` must be finite or -inf, got inf")
    if b == -math.inf:
        raise ValueError("`b` must be finite or inf, got -inf")
    step = v.real_scalar(step, "step")
    if not step > 0:
        raise ValueError(f"`step` must be positive, got {step}")
    if not isinstance(log, (bool, np.bool_)):
        raise TypeError(f"`log` must be True or False, got {log!r}")
    if isinstance(maxterms, numbers.Real) and not isinstance(maxterms, (bool, np.bool_, numbers.Integral)) \
            and float(maxterms).is_integer():
        maxterms = int(maxterms)   # scipy's docs pass maxterms=1e3
    maxterms = v.positive_int(maxterms, "maxterms", minimum=2, maximum=MAX_TERMS)
    atol, rtol = v.tolerances(atol, math.sqrt(_EPS) if rtol is None else rtol)
    return f, a, b, step, v.args_tuple(args), bool(log), maxterms, atol, rtol


class _Half:
    """Sum of g(j) = f(start + sign * j * step) for j = 0 .. last (last may be inf), one direction.

    `log` says the values are logs of the terms. Sums are kept as (value, sum of |terms|) in linear mode
    and as logs in log mode.
    """

    def __init__(self, integrand, start, sign, step, last, log, atol, rtol, maxterms):
        self.integrand, self.start, self.sign, self.step = integrand, start, sign, step
        self.last, self.log, self.atol, self.rtol, self.maxterms = last, log, atol, rtol, maxterms

    def x(self, j):
        return self.start + self.sign * (np.asarray(j, dtype=float) * self.step)

    def g(self, j):
        x = self.x(j)
        return self.integrand(np.atleast_1d(x))

    def direct(self, j0, j1):
        """Sum of the terms j0 <= j < j1, a chunk at a time: (sum, sum of |terms|) or (log sum, log sum)."""
        parts, absparts, finite = [], [], True
        for lo in range(j0, j1, _CHUNK):
            y = self.g(np.arange(lo, min(j1, lo + _CHUNK)))
            if self.log:
                finite &= not np.any(np.isnan(y) | (y == np.inf))
                top = np.max(y) if y.size else -np.inf
                parts.append(top + math.log(np.sum(np.exp(y - top))) if np.isfinite(top) else top)
            else:
                finite &= bool(np.all(np.isfinite(y)))
                # math.fsum: the sum of the terms correctly rounded, so its only error is the terms' own
                parts.append(_fsum(y.tolist()))
                with np.errstate(over="ignore"):
                    absparts.append(float(np.sum(np.abs(y))))
        if self.log:
            return _logsum(parts), None, finite
        return _fsum(parts), _fsum(absparts), finite

    def target(self, total):
        """The tolerance max(atol, rtol |S|) for the running sum, in the mode's units."""
        if self.log:
            return max(math.log(self.atol) if self.atol > 0 else -math.inf,
                       math.log(self.rtol) + total if self.rtol > 0 else -math.inf)
        return max(self.atol, self.rtol * abs(total))

    def run(self):
        """(sum, error, status, direct terms); sum and error are logs in log mode."""
        if self.last < self.maxterms:
            total, absolute, finite = self.direct(0, int(self.last) + 1)
            error = (total + math.log(_ROUNDING)) if self.log else _ROUNDING * absolute
            return total, error, 0 if finite else 2, int(self.last) + 1
        # blocks of doubling length, until the next term is small and the terms decrease
        k, total, absolute = 0, (-math.inf if self.log else 0.0), 0.0
        while True:
            k_next = min(max(1, 2 * k), self.maxterms)
            s, sa, finite = self.direct(k, k_next)
            if not finite:
                return math.nan, math.nan, 2, k_next
            total = _logsum([total, s]) if self.log else total + s
            absolute += sa or 0.0
            k = k_next
            gk, gk1 = self.g([k, k + 1])
            # a log term of -inf is a zero term
            if np.isnan(gk) or np.isnan(gk1) or gk == np.inf or gk1 == np.inf or (
                    not self.log and not (np.isfinite(gk) and np.isfinite(gk1))):
                return math.nan, math.nan, 2, k
            if self.log:
                small, decreasing = gk <= self.target(total), gk1 <= gk
            else:
                small = abs(gk) <= self.target(total)
                decreasing = abs(gk1) <= abs(gk) and gk * gk1 >= 0
            if (small and decreasing) or k >= self.maxterms:
                break
        return self.tail(k, total, absolute, gk, gk1)

    def tail(self, k, total, absolute, gk, gk1):
        # sign of the tail (linear mode): non-positive terms are summed as their negatives
        sign = -1.0 if (not self.log and (gk < 0 or (gk == 0 and gk1 < 0))) else 1.0
        shift = gk if self.log and gk > -math.inf else 0.0
        seen_x, seen_y = [], []

        def scaled(x):
            # the terms relative to the first tail term, so that in log mode nothing overflows
            y = self.integrand(x if self.sign > 0 else -x)
            seen_x.append(x)
            seen_y.append(y)
            return np.exp(y - shift) if self.log else sign * y

        x_k = self.sign * float(self.x(k))
        x_last = math.inf if self.last == math.inf else self.sign * float(self.x(self.last))
        g_last = (-math.inf if self.log else 0.0) if self.last == math.inf else float(self.g(self.last)[0])
        target = self.target(total)
        # quad's absolute tolerance in the units of the scaled terms: a quarter of the sum's tolerance
        atol = 0.25 * self.step * (math.exp(min(target - shift, 700.0)) if self.log else target)
        res = None
        if x_last > x_k:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", IntegrationWarning)   # reported in this result's status
                res = quad(scaled, x_k, x_last, vectorized=True, atol=atol, rtol=0.25 * self.rtol,
                           max_nfev=TAIL_MAX_NFEV)
        integral = 0.0 if res is None else float(res.integral) / self.step
        quad_error = 0.0 if res is None else float(res.error) / self.step
        quad_ok = res is None or (res.success and np.isfinite(integral) and np.isfinite(quad_error))
        values = np.concatenate([np.atleast_1d(y) for y in seen_y] + [np.array([gk, gk1])])
        xs = np.concatenate([np.atleast_1d(x) for x in seen_x] + [np.array([x_k, x_k + self.step])])
        finite = bool(np.all(np.isfinite(values) | (self.log & (values == -np.inf))))
        monotone = _non_increasing(xs, values if self.log else sign * values, self.log)
        if self.log:
            last = math.exp(g_last - shift) if g_last > -math.inf else 0.0
            tail = integral + 0.5 * (1.0 + last)
            tail_error = quad_error + 0.5 * (1.0 - last)
            estimate = _logsum([total, shift + math.log(tail)]) if tail > 0 else total
            error = _logsum([total + math.log(_ROUNDING),
                             shift + math.log(tail_error) if tail_error > 0 else -math.inf])
        else:
            last = sign * g_last
            estimate = total + sign * (integral + 0.5 * (sign * gk + last))
            error = _ROUNDING * absolute + quad_error + 0.5 * (sign * gk - last)
        # a tail that increases voids the bracket whatever the quadrature says, so that comes first
        if not finite:
            status = 2
        elif not monotone:
            status = 4
        elif not quad_ok:
            status = 3
        elif error > self.target(estimate):
            status = 1
        else:
            status = 0
        return estimate, error, status, k


def _non_increasing(x, y, log):
    """Whether y, ordered by x, never increases beyond rounding, and (linear mode) is non-negative."""
    order = np.argsort(x, kind="stable")
    y = y[order]
    if not log and np.any(y < 0):
        return False
    slack = 8 * _EPS * np.abs(y[:-1])
    if log:
        slack = slack + 8 * _EPS   # log values near 0: rounding of the log itself
    with np.errstate(invalid="ignore"):
        rise = y[1:] - y[:-1]
    rise = np.where(np.isnan(rise), 0.0, rise)   # -inf to -inf in log mode: two zero terms
    return bool(np.all(rise <= slack))


def _fsum(values):
    """math.fsum, or the plain sum (inf or nan) where fsum overflows or meets inf - inf."""
    try:
        return math.fsum(values)
    except (OverflowError, ValueError):
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.sum(values))


def _logsum(logs):
    logs = [float(t) for t in logs if t != -math.inf]
    if not logs:
        return -math.inf
    top = max(logs)
    if not math.isfinite(top):
        return top
    return top + math.log(math.fsum(math.exp(t - top) for t in logs))


def nsum(f, a, b, *, step=1, args=(), log=False, maxterms=2 ** 20, atol=0.0, rtol=None):
    """Sum the series ``f(a) + f(a + step) + ...`` up to `b` (which may be infinite), with an error bound.

    Finite sums of at most `maxterms` terms are summed directly. Longer or infinite ones are summed
    directly until the next term is below the tolerance and the terms decrease, and the rest is replaced
    by the integral of `f` over the rest of the range (:func:`quad`), bracketed by the integral test:
    ``I + g(N) <= sum of the tail <= I + g(k)`` for non-increasing terms g. The estimate is the middle
    of the bracket and the error its half-width plus the quadrature error. This is the method of
    :func:`scipy.integrate.nsum`, with one difference: the bracket needs a tail that does not increase,
    and here that is checked at every point where `f` is evaluated in the tail; where it fails the result
    says so (``success=False``) instead of returning an unfounded bound.

    Parameters
    ----------
    f : callable
        ``f(x, *args)``, called with a 1-D array of points and returning the terms at those points
        (the logs of the terms with ``log=True``), real numbers of the same shape. For an infinite or
        a long sum, `f` must be defined at all reals of the range, since the tail is integrated.
    a, b : float
        The first and last points: the terms are at ``a + j * step`` for ``j = 0, 1, ...`` while they are
        at most `b` (``floor((b - a) / step) + 1`` terms, as in scipy; adjust `b` so that it is one of
        them if you mean to include it). `a` may be -inf and `b` inf; with both infinite the terms are at
        ``j * step`` for every integer j. ``b < a`` is the empty sum, 0. Scalars: one sum per call
        (scipy's broadcasting over arrays of limits is not provided).
    step : float, optional
        Positive, finite spacing of the terms. Default 1.
    args : tuple, optional
        Extra arguments of `f`; a value that is not a tuple is the one extra argument, as in scipy.
    log : bool, optional
        `f` returns the logs of the terms (which must then be positive); the sum is computed in log
        space, so terms that overflow or underflow as numbers are summed correctly. The result's
        ``log_integral`` is the log of the sum and ``log_error`` the log of the error.
    maxterms : int, optional
        Most terms summed directly (2 <= maxterms <= 2**24; default 2**20). The evaluations of `f`
        are at most ``2 * maxterms + 2 log2(maxterms)`` for the direct part plus at most
        ``TAIL_MAX_NFEV = 100000`` for the tail integral; `f` is never called with more than 2**18
        points at once.
    atol, rtol : float, optional
        Tolerances on the sum: success when the error bound is at most ``max(atol, rtol * |sum|)``.
        Default ``atol = 0`` and ``rtol = sqrt(eps)`` (about 1.5e-8), scipy's. Unlike scipy's, they are
        never logs, also with ``log=True``.

    Returns
    -------
    IntegrationResult
        ``integral`` is the sum (``exp(log_integral)`` with ``log=True``: inf or 0 where that overflows
        or underflows) and ``error`` a bound on its error, assuming the terms `f` returns are accurate
        to about 50 units in the last place (the directly summed part is summed exactly, by
        :func:`math.fsum`, and charged ``50 eps sum |terms|``). ``status``: 0 converged; 1 the tail's bound
        exceeds the tolerance after `maxterms` terms; 2 `f` returned NaN or inf, or the sum overflowed; 3 the tail integral did not converge (the series diverges, or
        converges too slowly); 4 the terms of the tail increase or change sign, so the integral test
        does not bound them. ``extra``: ``n_terms``, the number of terms summed directly (per side for a
        two-sided sum, their total), and ``log_error`` with ``log=True``.

    Warns
    -----
    IntegrationWarning
        When ``success`` is False.

    Notes
    -----
    A sum of terms that are not non-increasing in the tail (an alternating series, say) can still be
    summed by passing the sum of adjacent pairs of terms with twice the step, as in scipy's example
    below. With both limits infinite, the two sides ``j >= 0`` and ``j < 0`` are summed separately, each
    with its own tail. A term that is 0 in log mode is ``-inf``.

    References
    ----------
    .. [1] K. Knopp, *Theory and Application of Infinite Series*, Blackie, 1951, section 72 (the
           integral test).
    .. [2] :func:`scipy.integrate.nsum` (scipy >= 1.15), whose method and meaning of the arguments
           this follows.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> res = quadlib.nsum(lambda k: 1 / k**2, 1, np.inf)
    >>> res.success, bool(abs(res.integral - np.pi**2 / 6) <= res.error <= 1.5e-8 * res.integral)
    (True, True)

    The alternating harmonic series, as a series of pairs:

    >>> res = quadlib.nsum(lambda k: 1 / k - 1 / (k + 1), 1, np.inf, step=2)
    >>> bool(abs(res.integral - np.log(2)) <= res.error)
    True

    The harmonic series diverges; the result says so:

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = quadlib.nsum(lambda k: 1 / k, 1, np.inf)
    >>> res.success, res.status
    (False, 3)
    """
    f, a, b, step, args, log, maxterms, atol, rtol = _nsum_iv(f, a, b, step, args, log, maxterms, atol, rtol)
    integrand = Integrand(f, args, vectorized=True, value_ndim=0, real=True, caller="quadlib.nsum")
    count = (b - a) / step
    if math.isfinite(a) and math.isfinite(b) and not math.isfinite(count):
        raise ValueError(f"`(b - a) / step` must be finite for finite `a` and `b`, got {count}")
    if b < a:
        return IntegrationResult._fast(0.0, 0.0, 0, 0, True, "`b` is less than `a`: the empty sum",
                                       {"n_terms": 0, **({"log_error": -math.inf} if log else {})},
                                       -math.inf if log else None)
    if math.isfinite(a) and math.isfinite(b):
        halves = [_Half(integrand, a, 1.0, step, math.floor(count), log, atol, rtol, maxterms)]
    elif math.isfinite(a):
        halves = [_Half(integrand, a, 1.0, step, math.inf, log, atol, rtol, maxterms)]
    elif math.isfinite(b):
        halves = [_Half(integrand, b, -1.0, step, math.inf, log, atol, rtol, maxterms)]
    else:
        # each side gets half the absolute tolerance; its relative tolerance refers to its own sum, which
        # for terms of one sign is at most the whole
        halves = [_Half(integrand, 0.0, 1.0, step, math.inf, log, 0.5 * atol, rtol, maxterms),
                  _Half(integrand, -step, -1.0, step, math.inf, log, 0.5 * atol, rtol, maxterms)]
    sums, errors, statuses, n_terms = zip(*(half.run() for half in halves))
    if log:
        total, error = _logsum(sums), _logsum(errors)
    else:
        total, error = _fsum(sums), _fsum(errors)
    # the most serious failure of the two sides: non-finite, not monotone, divergent, too few terms
    status = max(statuses, key=lambda s: {0: 0, 1: 1, 3: 2, 4: 3, 2: 4}[s])
    if status == 0:
        if log:
            target = max(math.log(atol) if atol > 0 else -math.inf, math.log(rtol) + total if rtol > 0 else -math.inf)
        else:
            target = max(atol, rtol * abs(total))
        status = 1 if error > target else 0
    if not log and not (math.isfinite(total) and math.isfinite(error)):
        status = 2   # finite terms whose sum overflowed
    if status == 2:
        total, error = math.nan, math.nan
    message = MESSAGES[status]
    extra = {"n_terms": sum(n_terms)}
    if log:
        extra["log_error"] = error
        with np.errstate(over="ignore"):
            linear = float(np.exp(total)), float(np.exp(error))
        result = IntegrationResult._fast(*linear, integrand.nfev, status, status == 0, message, extra, total)
    else:
        result = IntegrationResult(total, error, integrand.nfev, status, status == 0, message, extra)
    return warn_unsuccessful(result)
