"""`nquad`: iterated adaptive integration over d variables, each level a batched `quad`; `dblquad` and
`tplquad`, scipy's two- and three-dimensional forms of it.

The integral over x_k of the inner integral is one call of `quad` whose integrand is itself a batch of
inner integrals: every abscissa the outer level asks for becomes one integral of the next level, and all
of them are computed in one batched `quad` call. The user's f is therefore called with many points at
once, (N, d) arrays, like every multi-dimensional integrand here.

Each level integrates three components: the inner value, the inner error estimate and an indicator of
inner failure. So the reported error is the outer estimate plus the integral of the inner estimates,
and a failure anywhere inside makes the result fail.
"""
import math
import numbers
import warnings

import numpy as np

from . import _validation as v
from ._adaptive import MESSAGES as QUAD_MESSAGES, quad
from ._integrand import Integrand
from ._result import IntegrationResult, IntegrationWarning, warn_unsuccessful

__all__ = ["nquad", "dblquad", "tplquad"]

#: Most points `f` is called with at once; every level's batch of inner integrals is cut into chunks so that
#: no call of f, and no level's array of abscissae, holds more (an (N, d) array of at most 2 MiB * d).
MAX_POINTS = 2 ** 18
# abscissae one integral asks for in its first pass, and at most in any later round (two halves of
# its worst intervals), by kind of range: GK21 on a finite one, GK15 on a half-line, both halves of the
# real line; a callable range may be either
_FIRST = {"finite": 21, "half": 15, "line": 30, "callable": 15}
_ROUND = {"finite": 42, "half": 30, "line": 60, "callable": 60}
_COLUMNS = 4  # each level integrates (real part, imaginary part, inner error, inner failure)
_OVERFLOW = ("overflow: the integral or its error estimate is not finite, though the integrand's values are (their "
             "weighted sums overflowed); rescale the integrand")


def _kind(r):
    if callable(r):
        return "callable"
    lo, hi = r
    if np.isfinite(lo) and np.isfinite(hi):
        return "finite"
    return "line" if not (np.isfinite(lo) or np.isfinite(hi)) else "half"


def _nquad_iv(f, ranges, args, atol, rtol, max_nfev):
    v.callable_(f, "f")
    if isinstance(ranges, (str, bytes)):
        raise TypeError("`ranges` must be a sequence of (a, b) pairs or callables")
    try:
        ranges = list(ranges)
    except TypeError:
        raise TypeError("`ranges` must be a sequence of (a, b) pairs or callables") from None
    if not ranges:
        raise ValueError("`ranges` must not be empty")
    checked = []
    for i, r in enumerate(ranges):
        if callable(r):
            checked.append(r)
            continue
        if isinstance(r, (str, bytes)) or np.ndim(r) != 1 or len(r) != 2:
            raise ValueError(f"`ranges[{i}]` must be a pair (a, b) or a callable of the outer variables")
        lo = v.real_scalar(r[0], f"ranges[{i}][0]", finite=False)
        hi = v.real_scalar(r[1], f"ranges[{i}][1]", finite=False)
        checked.append((lo, hi))
    atol, rtol = v.tolerances(atol, rtol)
    max_nfev = v.max_nfev(max_nfev)
    args = v.args_tuple(args)
    return f, checked, args, atol, rtol, max_nfev


def nquad(f, ranges, *, args=(), atol=0.0, rtol=1e-8, max_nfev=10_000_000):
    """Iterated adaptive integration of ``f(x_1, ..., x_d)``, over ``x_d`` innermost and ``x_1`` outermost.

    Each level is a batched :func:`quad`: every abscissa an outer level asks for becomes one integral of
    the next level, and all of them are computed together, so `f` is called with many points at once.
    Each level integrates the inner value, the inner error estimate and an indicator of inner failure, so
    the reported error is the outer estimate plus the integral of the inner estimates, and a failure
    anywhere inside makes the result fail. Like `quad`, an infinite range (-inf, inf) is integrated as
    its two halves, each of which must converge.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` with ``x`` of shape (N, d) (column i is x_(i+1)), returning real or complex
        values of shape (N,).
    ranges : sequence
        ``ranges[i]`` is ``(a, b)`` of real numbers (may be infinite; ``a == b`` gives 0) or a callable
        ``(x_1, ..., x_i) -> (a, b)`` giving the limits of ``x_(i+1)`` from the outer variables as arrays
        (vectorized), as for a triangle or a disc.
    atol, rtol : float
        Tolerances: the outer level is held to half of them and inner levels to a tenth, and the result
        succeeds only if the integral of the inner errors fits in the other half (as `quad` does, the
        relative tolerance refers to each half of a range (-inf, inf) when the outer range is one).
    max_nfev : int
        Bound on the evaluations of `f`, at most 10**9; the result fails when it is reached. A budget
        below one pass of the rules over every level (21 points per finite range, 15 per half-line, 30
        for the real line: 21**d for d finite ranges) fails at once, without evaluating `f`.

    Returns
    -------
    IntegrationResult
        ``error`` is the outer error estimate plus the integral of the inner ones. ``status``: 0
        converged, 1 an inner or the outer integration failed (the message names how; an inner integral
        over an infinite range that does not settle stops the computation at once, with the message that
        the integral appears divergent), 6 `max_nfev` reached, 7 the integrand returned inf or NaN (as
        :func:`quad`), 9 overflow (finite values whose integral or error estimate is not finite).

    Notes
    -----
    Memory is bounded: `f` is called with at most ``MAX_POINTS = 2**18`` points at a time, and the inner
    integrals of a level are computed in chunks small enough for that, so no level allocates more than
    about ``MAX_POINTS`` abscissae (times d coordinates) at once, whatever d.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> # the area of the unit disc, with x_2 between -sqrt(1 - x_1^2) and sqrt(1 - x_1^2)
    >>> res = quadlib.nquad(lambda x: np.ones(len(x)), [(-1, 1), lambda x1: (-np.sqrt(1 - x1**2), np.sqrt(1 - x1**2))])
    >>> round(float(res.integral), 8)
    3.14159265

    References
    ----------
    P. J. Davis and P. Rabinowitz, "Methods of Numerical Integration", 2nd ed., Academic Press (1984),
    section 5.4 (iterated integration).
    """
    f, ranges, args, atol, rtol, max_nfev = _nquad_iv(f, ranges, args, atol, rtol, max_nfev)
    return warn_unsuccessful(_nquad(f, ranges, args, atol, rtol, max_nfev))


def _nquad(f, ranges, args, atol, rtol, max_nfev):
    """nquad on validated arguments; the result, without a warning (the public callers warn)."""
    d = len(ranges)
    kinds = [_kind(r) for r in ranges]
    first_pass = math.prod(_FIRST[k] for k in kinds)
    if max_nfev < first_pass:
        result = IntegrationResult(np.nan, np.inf, 0, 6, False,
                                   f"max_nfev={max_nfev} is below the {first_pass} evaluations of one pass of the "
                                   f"rules over the {d} levels; nothing was evaluated")
        return result
    # points a level-k integrand's chunk of n outer points turns into, at most, in one call of f
    fan_out = [math.prod(_ROUND[kinds[j]] for j in range(k + 1, d)) for k in range(d)]
    integrand = Integrand(f, args, value_ndim=0, caller="quadlib.nquad")
    count = {"complex": False, "failures": set(), "divergent": False, "f_finite": True}

    def limits(k, outer):
        r = ranges[k]
        n = outer[0].shape[0] if outer else 1
        if not callable(r):
            return np.full(n, r[0]), np.full(n, r[1])
        lo, hi = r(*outer)
        lo = v.real_array(lo, f"ranges[{k}](...)[0]")
        hi = v.real_array(hi, f"ranges[{k}](...)[1]")
        try:
            return np.broadcast_to(lo, (n,)), np.broadcast_to(hi, (n,))
        except ValueError:
            raise ValueError(f"`ranges[{k}]` must return limits of shape ({n},) or scalars, got shapes "
                             f"{lo.shape} and {hi.shape}") from None

    def innermost(points):
        n = points[0].size
        if integrand.nfev + n > max_nfev:
            raise _Budget
        y = integrand(np.column_stack(points))
        count["complex"] = count["complex"] or y.dtype.kind == "c"
        count["f_finite"] = count["f_finite"] and bool(np.all(np.isfinite(y)))
        zeros = np.zeros(n)
        return np.stack([y.real.astype(float), y.imag.astype(float) if y.dtype.kind == "c" else zeros, zeros,
                         zeros], axis=1)

    def level(k, outer):
        """[real, imaginary, error, failed] of the integral over x_(k+1..d), for each outer point (rows)."""
        lo, hi = limits(k, outer)
        n = lo.shape[0]
        chunk = max(1, MAX_POINTS // fan_out[k])

        def integrand(x, *outer_here):
            # (quad's one-by-one second look hands the outer point over as scalars)
            points = [np.broadcast_to(p, x.shape) for p in outer_here] + [x]
            if k == d - 1:
                return innermost(points)
            if x.size <= chunk:
                return level(k + 1, points)
            # bounded memory: the inner integrals of this many points are computed a chunk at a time
            return np.concatenate([level(k + 1, [p[i:i + chunk] for p in points]) for i in range(0, x.size, chunk)])

        # the outer level leaves half the tolerance to the integral of the inner errors
        scale = 0.5 if k == 0 else 0.1
        with np.errstate(all="ignore"):
            res = quad(integrand, lo, hi, args=tuple(outer), vectorized=True, rtol=rtol * scale,
                       atol=atol * scale, max_nfev=max_nfev)
        status = np.atleast_1d(res.status)
        if np.any(status):
            count["failures"].update(int(c) for c in np.unique(status[status != 0]))
            infinite = ~(np.isfinite(lo) & np.isfinite(hi))
            if np.any(infinite & np.isin(status, (1, 3, 4, 5))):
                count["divergent"] = True
                if k > 0:
                    # an inner integral that does not settle over an infinite range diverges (or converges
                    # too slowly) for this outer point: the outer integral cannot succeed, so stop here
                    raise _Diverged
        values = np.asarray(res.integral, dtype=float).reshape(n, -1)
        if values.shape[1] != _COLUMNS:  # every range was empty: quad evaluated nothing
            values = np.zeros((n, _COLUMNS))
        error = np.atleast_1d(res.error) + np.abs(values[:, 2])
        failed = (status != 0).astype(float) + np.abs(values[:, 3])
        if k == 0:
            count["outer_error"], count["inner_error"] = float(np.max(res.error)), float(np.abs(values[0, 2]))
        return np.stack([values[:, 0], values[:, 1], error, failed], axis=1)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IntegrationWarning)  # reported below, once
            re, im, error, failed = level(0, [])[0]
        value = complex(re, im) if count["complex"] else float(re)
        overflow = 9 in count["failures"] or (7 in count["failures"] and count["f_finite"])
        if not count["f_finite"]:
            # as 1-D quad: the integrand's own inf or NaN, not an overflow of finite values
            status, message = 7, QUAD_MESSAGES[7]
            value, error = (value if not np.isfinite(value) else np.nan), np.inf
        elif overflow or not (np.isfinite(re) and np.isfinite(im) and np.isfinite(error)):
            status, message = 9, _OVERFLOW
            value, error = (value if not np.isfinite(value) else np.nan), np.inf
        elif failed == 0 and count["inner_error"] > max(0.5 * max(atol, rtol * abs(value)), count["outer_error"]):
            # The outer level met half the tolerance (relative to each half of a real line, as quad does),
            # and so did its error estimate; the inner errors must fit in the other half, which neither
            # bound exceeds
            status, message = 1, ("every level converged, but the integral of the inner error estimates exceeds "
                                  "the tolerance")
        elif failed == 0:
            status, message = 0, "converged"
        else:
            status, message = 1, _failure_message(count)
    except _Budget:
        value, error, status = np.nan, np.inf, 6
        message = "max_nfev reached before the tolerance was met"
    except _Diverged:
        value, error, status = np.nan, np.inf, 1
        message = _failure_message(count)
    return IntegrationResult(value, float(error), integrand.nfev, status, status == 0, message)


def _failure_message(count):
    message = "an inner or the outer integration did not converge"
    if count["divergent"]:
        message += ("; over an infinite range the integral appears divergent (or converges too slowly): it did "
                    "not settle")
    if count["failures"]:
        message += " (" + "; ".join(f"status {c}: {QUAD_MESSAGES[c]}" for c in sorted(count["failures"])) + ")"
    return message


class _Budget(Exception):
    """max_nfev reached (raised through the nested quad calls)."""


class _Diverged(Exception):
    """An inner integral over an infinite range did not settle (raised through the nested quad calls)."""


# --------------------------------------------------------------------------------------------------
# dblquad, tplquad: scipy's argument order (innermost variable first) over quadlib's nquad (outermost
# first), so that code written for scipy.integrate runs unchanged


def _limit(value, name, vectorized):
    """A limit given as a number or a callable of the outer variables -> a callable of their arrays."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value[()]   # a 0-d real array, as scipy accepts
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a real number or a callable, got {value!r}")
    if not callable(value):
        if not isinstance(value, numbers.Real):
            raise TypeError(f"`{name}` must be a real number or a callable, got {value!r}")
        constant = v.real_scalar(value, name, finite=False)
        return lambda *outer: np.full(outer[0].shape, constant)

    def limit(*outer):
        if vectorized:
            values = value(*outer)
        else:
            # one call per outer point with floats, as scipy makes them; bounded by nquad's batch size
            values = [value(*point) for point in zip(*(o.tolist() for o in outer))]
        values = v.real_array(values, f"{name}(...)")
        try:
            return np.broadcast_to(values, outer[0].shape)
        except ValueError:
            raise ValueError(f"`{name}` must return one limit per point (shape {outer[0].shape}) or a scalar, "
                             f"got shape {values.shape}") from None
    return limit


def _iterated_iv(f, a, b, limits, args, atol, rtol, vectorized, max_nfev):
    v.callable_(f, "f")
    a = v.real_scalar(a, "a", finite=False)
    b = v.real_scalar(b, "b", finite=False)
    if not isinstance(vectorized, (bool, np.bool_)):
        raise TypeError(f"`vectorized` must be True or False, got {vectorized!r}")
    limits = [_limit(value, name, bool(vectorized)) for name, value in limits]
    atol, rtol = v.tolerances(atol, rtol)
    return f, a, b, limits, v.args_tuple(args), atol, rtol, bool(vectorized), v.max_nfev(max_nfev)


def _reversed_integrand(f, vectorized):
    """f(x_d, ..., x_1, *args) of scipy's order as nquad's f(points (N, d), *args)."""
    if vectorized:
        return lambda points, *args: f(*points.T[::-1], *args)
    return lambda points, *args: [f(*point[::-1], *args) for point in points.tolist()]


def dblquad(f, a, b, gfun, hfun, *, args=(), atol=0.0, rtol=1.49e-8, vectorized=False, max_nfev=10_000_000):
    """Double integral of ``f(y, x)`` for x from `a` to `b` and y from ``gfun(x)`` to ``hfun(x)``.

    scipy's :func:`scipy.integrate.dblquad` with quadlib's tolerances and result: the same argument
    order (the inner variable y first in `f`), limits that are numbers or callables, computed by
    :func:`nquad` (every level a batched adaptive `quad`, so the reported error includes the inner
    errors and a failure anywhere inside makes the result fail).

    Parameters
    ----------
    f : callable
        ``f(y, x, *args)``. With ``vectorized=False`` (default, as scipy) it is called with one pair of
        floats at a time and returns a number; with ``vectorized=True`` it is called with two 1-D arrays
        of equal length and returns an array of that length, which is much faster.
    a, b : float
        Limits of x; may be infinite.
    gfun, hfun : callable or float
        Lower and upper limits of y: numbers, or callables of x (of floats, or of arrays with
        ``vectorized=True``); may be infinite.
    args : tuple, optional
        Extra arguments of `f` (not of the limits, as in scipy).
    atol, rtol : float, optional
        Tolerances on the double integral, as in :func:`nquad`: ``max(atol, rtol * |I|)``. Default
        ``atol = 0``, ``rtol = 1.49e-8`` (scipy's `epsrel`; scipy's ``epsabs = 1.49e-8`` is not the default
        here, so a small integral is computed to relative accuracy).
    vectorized : bool, optional
        Whether `f` and the callable limits take arrays.
    max_nfev : int, optional
        Bound on the evaluations of `f` (at most 10**9); the result fails when it is reached.

    Returns
    -------
    IntegrationResult
        As :func:`nquad` (``status`` 0 converged, 1 an inner or the outer integration failed, 6
        `max_nfev` reached, 7 the integrand returned inf or NaN, 9 overflow); ``integral`` is scipy's first return value, ``error`` its second.

    Warns
    -----
    IntegrationWarning
        When ``success`` is False.

    See Also
    --------
    nquad : the same for any dimension, in quadlib's order (outermost variable first; f of an (N, d) array).
    tplquad

    Notes
    -----
    ``dblquad(f, a, b, g, h)`` is ``nquad(lambda p: f(p[:, 1], p[:, 0]), [(a, b), lambda x: (g(x), h(x))])``:
    quadlib's :func:`nquad` lists the outermost variable first, scipy's `dblquad` passes the innermost
    first to `f`.

    References
    ----------
    .. [1] P. J. Davis and P. Rabinowitz, "Methods of Numerical Integration", 2nd ed., Academic Press
           (1984), section 5.4 (iterated integration).

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> # x*y over the triangle 0 <= y <= x <= 1 is 1/8
    >>> res = quadlib.dblquad(lambda y, x: x * y, 0, 1, 0, lambda x: x)
    >>> res.success, round(float(res.integral), 12)
    (True, 0.125)
    >>> res = quadlib.dblquad(lambda y, x: np.exp(-x**2 - y**2), -np.inf, np.inf, -np.inf, np.inf, vectorized=True)
    >>> round(float(res.integral), 10) == round(np.pi, 10)
    True
    """
    f, a, b, (lo, hi), args, atol, rtol, vectorized, max_nfev = _iterated_iv(
        f, a, b, [("gfun", gfun), ("hfun", hfun)], args, atol, rtol, vectorized, max_nfev)
    ranges = [(a, b), lambda x: (lo(x), hi(x))]
    return warn_unsuccessful(_nquad(_reversed_integrand(f, vectorized), ranges, args, atol, rtol, max_nfev))


def tplquad(f, a, b, gfun, hfun, qfun, rfun, *, args=(), atol=0.0, rtol=1.49e-8, vectorized=False,
            max_nfev=10_000_000):
    """Triple integral of ``f(z, y, x)``: x from `a` to `b`, y from ``gfun(x)`` to ``hfun(x)``, z from
    ``qfun(x, y)`` to ``rfun(x, y)``.

    scipy's :func:`scipy.integrate.tplquad` with quadlib's tolerances and result: the same argument order
    (the innermost variable z first in `f`), limits that are numbers or callables, computed by
    :func:`nquad`.

    Parameters
    ----------
    f : callable
        ``f(z, y, x, *args)``: floats one point at a time (``vectorized=False``, default, as scipy), or
        three 1-D arrays of equal length (``vectorized=True``), returning a number or an array.
    a, b : float
        Limits of x; may be infinite.
    gfun, hfun : callable or float
        Limits of y: numbers or callables of x.
    qfun, rfun : callable or float
        Limits of z: numbers or callables of (x, y), in that order (scipy's).
    args : tuple, optional
        Extra arguments of `f` (not of the limits, as in scipy).
    atol, rtol : float, optional
        Tolerances on the triple integral, ``max(atol, rtol * |I|)``; default ``atol = 0``,
        ``rtol = 1.49e-8``.
    vectorized : bool, optional
        Whether `f` and the callable limits take arrays.
    max_nfev : int, optional
        Bound on the evaluations of `f` (at most 10**9); the result fails when it is reached.

    Returns
    -------
    IntegrationResult
        As :func:`nquad`.

    Warns
    -----
    IntegrationWarning
        When ``success`` is False.

    See Also
    --------
    nquad : any dimension, outermost variable first.
    dblquad

    References
    ----------
    .. [1] P. J. Davis and P. Rabinowitz, "Methods of Numerical Integration", 2nd ed., Academic Press
           (1984), section 5.4 (iterated integration).

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> # the volume of the unit ball, z between -sqrt(1 - x^2 - y^2) and +sqrt(...)
    >>> top = lambda x, y: np.sqrt(np.maximum(1 - x**2 - y**2, 0))
    >>> res = quadlib.tplquad(lambda z, y, x: np.ones_like(z), -1, 1, lambda x: -np.sqrt(1 - x**2),
    ...                       lambda x: np.sqrt(1 - x**2), lambda x, y: -top(x, y), top, vectorized=True)
    >>> res.success, round(float(res.integral), 8) == round(4 * np.pi / 3, 8)
    (True, True)
    """
    f, a, b, (g, h, q, r), args, atol, rtol, vectorized, max_nfev = _iterated_iv(
        f, a, b, [("gfun", gfun), ("hfun", hfun), ("qfun", qfun), ("rfun", rfun)], args, atol, rtol,
        vectorized, max_nfev)
    ranges = [(a, b), lambda x: (g(x), h(x)), lambda x, y: (q(x, y), r(x, y))]
    return warn_unsuccessful(_nquad(_reversed_integrand(f, vectorized), ranges, args, atol, rtol, max_nfev))
