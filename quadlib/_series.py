"""`nsum`: sums of finite and infinite series, direct summation plus an integral-test tail.

The terms ``f(a), f(a + step), ...`` are summed directly, in blocks of doubling length, until the next
term is below the tolerance and the terms decrease; the rest of the series is replaced by the integral
of `f` over the rest of the range (:func:`quad`), which the integral test brackets: for non-increasing
terms g(j), ``I + g(N) <= sum_{j=k}^{N} g(j) <= I + g(k)`` with ``I = integral_k^N g``. The midpoint of
that bracket is the estimate and its half-width (plus the quadrature error) the error. The bracket holds
only for a tail that does not increase, so every value of `f` evaluated in the tail (by the quadrature) is
checked; values between those points are not seen. The tail integral is taken over pieces of doubling width
with a relative tolerance each, and past 2**24 times the starting point, in the variable log x scaled by
the decay rate measured on the last pieces.
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
#: Pieces of doubling width of an infinite tail before the rest is integrated in one piece.
TAIL_PIECES = 24
# Relative tolerance of the tail's pieces: at most 1e-4 (a looser one lets quad accept a first pass that
# misses part of the piece), at least 20x quad's rounding floor.
_TAIL_RTOL_MAX = 1e-4
_TAIL_RTOL_MIN = 1e-13
_MIN_PIECE_NFEV = 200
# The far tail's integral stops here (f is not called at inf), the rest extrapolated at the measured decay.
_X_MAX = 1e300
# Error of a piece that failed its relative tolerance and still counts as converged, relative to the sum's
# tolerance (room for ~1000 such pieces).
_TAIL_ATOL_FRACTION = 2.5e-4
_EPS = np.finfo(float).eps
# The direct part's error: terms accurate to about 50 units in the last place (as quad's rounding floor). The
# terms are f's and their rounding is unknown; an exp of a sum of logs of size 100 (a Poisson pmf) is already
# off by ~100 ulp, which 2 eps * sum|terms| would not cover.
_ROUNDING = 50 * _EPS

MESSAGES = {
    0: "converged",
    1: "the bound on the tail exceeds the tolerance after `maxterms` terms: the terms decrease too slowly (increase "
       "`maxterms` or loosen the tolerance)",
    2: "`f` returned a non-finite value, an abscissa a + j * step overflowed, or the sum overflowed",
    3: "the integral of the tail did not converge: the series diverges or converges too slowly",
    4: "the terms of the tail are not non-increasing (or change sign), so the integral test does not bound the tail",
    5: "the error bound is the rounding floor, 50 eps * sum |terms| (the terms' own rounding), which exceeds the "
       "tolerance: the sum is as accurate as its terms allow (loosen `rtol` or `atol` to at least that)",
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
        j = np.asarray(j, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            x = self.start + self.sign * (j * self.step)
            # j step may overflow where start + j step does not (a = -1e308, step = 1e308, j = 2)
            return np.where(np.isfinite(x), x, 2.0 * (0.5 * self.start + self.sign * (j * (0.5 * self.step))))

    def g(self, j):
        x = np.atleast_1d(self.x(j))
        if not np.all(np.isfinite(x)):
            # a + j step overflowed (a = 1e308, step = 1e308): no term there, and no finite sum
            return np.full(x.shape, np.nan)
        return self.integrand(x)

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
            return total, error, 0 if finite else 2, int(self.last) + 1, error
        # blocks of doubling length, until the next term is small and the terms decrease
        k, total, absolute = 0, (-math.inf if self.log else 0.0), 0.0
        while True:
            k_next = min(max(1, 2 * k), self.maxterms)
            s, sa, finite = self.direct(k, k_next)
            if not finite:
                return math.nan, math.nan, 2, k_next, math.nan
            total = _logsum([total, s]) if self.log else total + s
            absolute += sa or 0.0
            k = k_next
            gk, gk1 = self.g([k, k + 1])
            # a log term of -inf is a zero term
            if np.isnan(gk) or np.isnan(gk1) or gk == np.inf or gk1 == np.inf or (
                    not self.log and not (np.isfinite(gk) and np.isfinite(gk1))):
                return math.nan, math.nan, 2, k, math.nan
            if self.log:
                small, decreasing = gk <= self.target(total), gk1 <= gk
            else:
                small = abs(gk) <= self.target(total)
                decreasing = abs(gk1) <= abs(gk) and gk * gk1 >= 0
            # leading zero terms (a Poisson(800) pmf underflows below k = 400) say nothing about the tail
            started = total > -math.inf if self.log else total != 0
            if (small and decreasing and started) or k >= self.maxterms:
                break
        return self.tail(k, total, absolute, gk, gk1)

    def _tail_integral(self, scaled, x_k, x_last, target, total, shift):
        """The tail's integral over [x_k, x_last] in units of the sum: (integral, error, converged).

        quad with an absolute tolerance accepted first passes that were 30x short (a slowly decaying part
        hidden under a fast one, or a range of 1e12 whose mass sits in its first 1e4), so the tolerance is
        relative (on each piece), and the range is cut into pieces of doubling width from x_k, so that each
        piece has the scale of its own part of the tail. Past TAIL_PIECES pieces (a factor 2**40 in
        distance) the rest of an infinite range is one piece, which quad maps to a finite interval.
        """
        if not x_last > x_k:
            return 0.0, 0.0, True
        # relative tolerance of the pieces: the tail is in units of the sum, whose tolerance relative to the
        # direct part is target / |total|; the error of a piece is rq |piece|, and the tail at most the sum
        ratio = math.exp(min(target - total, 0.0)) if self.log else (
            target / abs(total) if total != 0 else 0.0)
        rq = min(max(0.25 * ratio, _TAIL_RTOL_MIN), _TAIL_RTOL_MAX) if math.isfinite(ratio) else _TAIL_RTOL_MAX
        # the error below which a piece that fails its relative tolerance is negligible
        aq = _TAIL_ATOL_FRACTION * self.step * (math.exp(min(target - shift, 700.0)) if self.log else target)
        if not (math.isfinite(aq) and math.isfinite(x_k)):
            return math.nan, math.nan, False   # an overflowed sum (status 2 says so)
        integral, error, ok, nfev, i, lo, pieces = 0.0, 0.0, True, 0, 0, x_k, []
        # the first piece as wide as the distance from 0, so that the pieces of a power tail are in the
        # ratio 2**(1 - p) from the start, and its rate measured on the last ones is its asymptotic one
        width = max(self.step, abs(x_k))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IntegrationWarning)   # reported in this result's status
            while lo < x_last:
                if i < TAIL_PIECES or x_last < math.inf:
                    hi = min(x_k + (2.0 ** (i + 1) - 1.0) * width, x_last)
                else:
                    hi = math.inf
                budget = TAIL_MAX_NFEV - nfev
                if budget < _MIN_PIECE_NFEV:
                    return integral / self.step, math.inf, False
                if hi < math.inf:
                    res = quad(scaled, lo, hi, vectorized=True, atol=0.0, rtol=rq, max_nfev=budget)
                    pieces.append(float(res.integral))
                    beyond = beyond_error = 0.0
                else:
                    res, beyond, beyond_error = self._far_piece(scaled, lo, pieces, rq, budget)
                    if res is None:
                        return integral / self.step, math.inf, False
                nfev += res.nfev
                integral += float(res.integral) + beyond
                error += float(res.error) + beyond_error
                # an absolute tolerance would let quad accept a first pass 30x short, so the tolerance is
                # relative, and a piece that fails it (its terms are rounding noise: 1/k - 1/(k+1) at k = 1e12)
                # is accepted only if its error estimate, after refinement, is negligible for the sum
                ok = ok and (bool(res.success) or float(res.error) <= aq)
                if not ok:
                    break
                lo, i = hi, i + 1
        integral, error = integral / self.step, error / self.step
        return integral, error, ok and math.isfinite(integral) and math.isfinite(error)

    def _far_piece(self, scaled, lo, pieces, rq, budget):
        """The integral over [lo, inf): (quad's result, or None if it cannot be had; beyond; its error).

        Over [lo, inf) quad's own map turns a slow power tail x^-p (p = 1.01) into a near-singularity it
        underestimates at once; in w = rate log(x / lo), with the decay rate (p - 1) measured on the last
        pieces of doubling width (two measurements, which must agree), such a tail is e^-w, of unit scale.
        The range ends at x = _X_MAX; the rest, for a tail of that rate, is X f(X) / rate ("beyond"), with
        the error of the rate.
        """
        if pieces[-1] == 0.0:
            # the terms are 0 at lo and non-increasing (checked): the rest is 0
            return _ZeroResult(), 0.0, 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            rates = -np.log2(np.array(pieces[-2:]) / np.array(pieces[-3:-1]))
        if not (np.all(np.isfinite(rates)) and np.all(rates > 0)):
            return None, 0.0, 0.0   # the tail does not decrease over a doubling: divergent, or too slow to tell
        rate_change = abs(rates[1] - rates[0])
        # a power tail has one rate (up to the pieces' relative error rq); 1 / (x log x), divergent, has a rate
        # that falls by 2.5% a doubling at 2**40: that tail cannot be extrapolated
        if rate_change > 1e-3 * rates[1] + 8 * rq:
            return None, 0.0, 0.0
        rate = min(float(rates[1]), 1.0)
        w_max = rate * (math.log(_X_MAX) - math.log(lo))

        def g(w):
            # f is called here at points up to 1e300, where 1 / k**2 overflows in k**2 on its way to a right 0:
            # numpy's overflow warnings from the user's f would be noise (a non-finite value is quad's to report)
            with np.errstate(over="ignore", under="ignore"):
                x = lo * np.exp(w / rate)
                return np.where(np.isfinite(x), x * scaled(np.minimum(x, _X_MAX)), 0.0) / rate

        res = quad(g, 0.0, w_max, vectorized=True, atol=0.0, rtol=rq, max_nfev=budget - 1)   # 1 for beyond
        # beyond _X_MAX a power tail x^-p has integral X f(X) / (p - 1); its error is that of the rate
        beyond = float(g(np.array([w_max]))[0]) if w_max < 745 else 0.0
        beyond_error = beyond * (rate_change / min(rates) + 4 * rq)
        return res, beyond, beyond_error

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
        integral, quad_error, quad_ok = self._tail_integral(scaled, x_k, x_last, target, total, shift)
        values = np.concatenate([np.atleast_1d(y) for y in seen_y] + [np.array([gk, gk1])])
        xs = np.concatenate([np.atleast_1d(x) for x in seen_x] + [np.array([x_k, x_k + self.step])])
        finite = bool(np.all(np.isfinite(values) | (self.log & (values == -np.inf))))
        # terms whose part of the sum is negligible (1/k - 1/(k+1) at k = 1e15, rounding noise) may wobble
        tiny = _TAIL_ATOL_FRACTION * (math.exp(min(target - shift, 700.0)) if self.log else target)
        with np.errstate(over="ignore", invalid="ignore"):
            mags = np.exp(values - shift) if self.log else np.abs(values)
            negligible = mags * (np.abs(xs - x_k) + self.step) / self.step <= tiny
        monotone, wobbled = _non_increasing(xs, values if self.log else sign * values, self.log, negligible)
        if self.log:
            first = math.exp(gk - shift) if gk > -math.inf else 0.0   # a zero term adds nothing
            last = math.exp(g_last - shift) if g_last > -math.inf else 0.0
            tail = integral + 0.5 * (first + last)
            tail_error = quad_error + 0.5 * (first - last)
            estimate = _logsum([total, shift + math.log(tail)]) if tail > 0 else total
            floor = total + math.log(_ROUNDING)
            error = _logsum([floor, shift + math.log(tail_error) if tail_error > 0 else -math.inf])
        else:
            last = sign * g_last
            estimate = total + sign * (integral + 0.5 * (sign * gk + last))
            floor = _ROUNDING * absolute
            error = floor + quad_error + 0.5 * (sign * gk - last)
        if wobbled:
            # the bracket's error from negligible terms that do not decrease: each under tiny, in at most
            # ~64 doublings of the range
            error = _logsum([error, shift + math.log(64 * tiny)]) if self.log else error + 64 * tiny
        # a tail that increases voids the bracket whatever the quadrature says, so that comes first
        if not finite:
            status = 2
        elif not monotone:
            status = 4
            error = math.inf   # the bracket does not hold: no bound (its formula could even be negative)
        elif not quad_ok:
            status = 3
        elif error > self.target(estimate):
            status = 1
        else:
            status = 0
        return estimate, error, status, k, floor


class _ZeroResult:
    integral, error, nfev, success = 0.0, 0.0, 0, True


def _non_increasing(x, y, log, negligible):
    """(Whether y, ordered by x, never increases beyond rounding and (linear mode) is non-negative, except
    at points marked negligible; whether it did at such points)."""
    order = np.argsort(x, kind="stable")
    y, negligible = y[order], negligible[order]
    slack = 8 * _EPS * np.abs(y[:-1])
    if log:
        slack = slack + 8 * _EPS   # log values near 0: rounding of the log itself
    with np.errstate(invalid="ignore"):
        rise = y[1:] - y[:-1]
    rise = np.where(np.isnan(rise), 0.0, rise)   # -inf to -inf in log mode: two zero terms
    bad = np.concatenate([[False], rise > slack])
    if not log:
        bad |= y < 0
    return not np.any(bad & ~negligible), bool(np.any(bad))


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
    :func:`scipy.integrate.nsum`, with these differences. The bracket needs a tail that does not
    increase: that is checked at the points where `f` is evaluated in the tail (the quadrature's nodes,
    a few hundred to some thousands of points, not every term; a bump between them is not seen), and
    where it fails the result says so (``success=False``, ``error = inf``) instead of returning an
    unfounded bound. Rises of terms whose part of the sum is below 2.5e-4 of the tolerance (rounding
    noise) are allowed and charged to the error. The tail integral is computed over pieces of doubling
    width from the stopping point, each to a relative tolerance (an absolute one let the quadrature accept
    a first pass that missed a slowly decaying part of the tail); past 2**24 times the stopping point the
    rest is integrated in the variable log x scaled by the decay rate measured on the last pieces, which
    must agree (a power tail), and the part beyond x = 1e300 is extrapolated at that rate, its error being
    that of the rate. Tails whose rate drifts (1 / (x log^2 x)) fail with status 3.

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
        points at once. Until a nonzero term has been seen, the direct summation goes on (up to
        `maxterms`), so that leading zero terms do not stop it. For a two-sided sum (``a = -inf`` and
        ``b = inf``) each side is summed separately, so these bounds hold twice.
    atol, rtol : float, optional
        Tolerances on the sum: success when the error bound is at most ``max(atol, rtol * |sum|)``
        (``rtol`` below about 50 eps is below the rounding floor: status 5).
        Default ``atol = 0`` and ``rtol = sqrt(eps)`` (about 1.5e-8), scipy's. Unlike scipy's, they are
        never logs, also with ``log=True``.

    Returns
    -------
    IntegrationResult
        ``integral`` is the sum (``exp(log_integral)`` with ``log=True``: inf or 0 where that overflows
        or underflows) and ``error`` a bound on its error (never negative; inf when there is none),
        assuming the terms `f` returns are accurate to about 50 units in the last place: the directly
        summed part is summed exactly, by :func:`math.fsum`, and charged ``50 eps sum |terms|``, the
        rounding floor (terms such as ``exp(k log(lam) - lam - gammaln(k + 1))`` with arguments of size
        1e3 are off by more, which the bound does not cover). ``status``: 0 converged; 1 the tail's bound
        exceeds the tolerance after `maxterms` terms; 2 `f` returned NaN or inf, an abscissa
        ``a + j * step`` overflowed, or the sum overflowed; 3 the tail integral did not converge (the
        series diverges, or converges too slowly, or its decay rate drifts); 4 the terms of the tail
        increase or change sign, so the integral test does not bound them (``error`` is inf); 5 the
        tolerance is below the rounding floor: everything else is within it. ``extra``: ``n_terms``, the
        number of terms summed directly (per side for a two-sided sum, their total), and ``log_error``
        with ``log=True``.

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
    if not math.isfinite(count) and math.isfinite(a) and math.isfinite(b):
        count = b / step - a / step   # b - a overflowed (a = -1e308, b = 1e308)
    if math.isfinite(a) and math.isfinite(b) and not math.isfinite(count):
        raise ValueError(f"`(b - a) / step` must be finite for finite `a` and `b` (at most ~1.8e308 terms), "
                         f"got {count} for a = {a}, b = {b}, step = {step}")
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
    sums, errors, statuses, n_terms, floors = zip(*(half.run() for half in halves))
    if log:
        total, error, floor = _logsum(sums), _logsum(errors), _logsum(floors)
    else:
        total, error, floor = _fsum(sums), _fsum(errors), _fsum(floors)
    # the most serious failure of the two sides: non-finite, not monotone, divergent, too few terms, rounding
    status = max(statuses, key=lambda s: {0: 0, 5: 1, 1: 2, 3: 3, 4: 4, 2: 5}[s])
    if status in (0, 1):
        if log:
            target = max(math.log(atol) if atol > 0 else -math.inf, math.log(rtol) + total if rtol > 0 else -math.inf)
            rest = (math.log(-math.expm1(floor - error)) + error) if error > floor else -math.inf
        else:
            target = max(atol, rtol * abs(total))
            rest = error - floor
        if error <= target:
            status = 0
        elif rest <= target:
            status = 5   # everything but the rounding charge is within the tolerance
        else:
            status = 1
    if not log and not (math.isfinite(total) and (math.isfinite(error) or status in (3, 4))):
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
