"""`nquad`: iterated adaptive integration over d variables, each level a batched `quad`.

The integral over x_k of the inner integral is one call of `quad` whose integrand is itself a batch of
inner integrals: every abscissa the outer level asks for becomes one integral of the next level, and all
of them are computed in one batched `quad` call. The user's f is therefore called with many points at
once, (N, d) arrays, like every multi-dimensional integrand here.

Each level integrates three components: the inner value, the inner error estimate and an indicator of
inner failure. So the reported error is the outer estimate plus the integral of the inner estimates,
and a failure anywhere inside makes the result fail.
"""
import warnings

import numpy as np

from . import _validation as v
from ._adaptive import quad
from ._result import IntegrationResult, IntegrationWarning, warn_unsuccessful

__all__ = ["nquad"]


def _nquad_iv(f, ranges, args, atol, rtol, max_nfev):
    v.callable_(f, "f")
    try:
        ranges = list(ranges)
    except TypeError:
        raise TypeError("`ranges` must be a sequence of (a, b) pairs or callables") from None
    if not ranges:
        raise ValueError("`ranges` must not be empty")
    for i, r in enumerate(ranges):
        if not callable(r) and (np.ndim(r) != 1 or len(r) != 2):
            raise ValueError(f"`ranges[{i}]` must be a pair (a, b) or a callable of the outer variables")
    atol = v.nonnegative_tolerance(atol, "atol")
    rtol = v.nonnegative_tolerance(rtol, "rtol")
    if atol == 0 and rtol == 0:
        raise ValueError("`atol` and `rtol` cannot both be zero")
    max_nfev = v.positive_int(max_nfev, "max_nfev")
    if not isinstance(args, tuple):
        args = (args,)
    return f, ranges, args, atol, rtol, max_nfev


def nquad(f, ranges, *, args=(), atol=0.0, rtol=1e-8, max_nfev=10_000_000):
    """Iterated adaptive integration of ``f(x_1, ..., x_d)``, over ``x_d`` innermost and ``x_1`` outermost.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` with ``x`` of shape (N, d) (column i is x_(i+1)), returning shape (N,).
    ranges : sequence
        ``ranges[i]`` is ``(a, b)`` (may be infinite) or a callable ``(x_1, ..., x_i) -> (a, b)`` giving
        the limits of ``x_(i+1)`` from the outer variables as arrays (vectorized), as for a
        triangle or a disc.
    atol, rtol : float
        Tolerances; inner levels use a tenth of them.
    max_nfev : int
        Bound on the evaluations of `f`; the result fails when it is reached.

    Returns
    -------
    IntegrationResult
        ``error`` is the outer error estimate plus the integral of the inner ones.

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
    d = len(ranges)
    count = {"nfev": 0}

    def limits(k, outer):
        r = ranges[k]
        if callable(r):
            lo, hi = r(*outer)
        else:
            lo, hi = r
        n = outer[0].shape[0] if outer else 1
        return np.broadcast_to(np.asarray(lo, dtype=float), (n,)), np.broadcast_to(np.asarray(hi, dtype=float), (n,))

    def level(k, outer):
        """[value, error, failed] of the integral over x_(k+1..d), for each outer point (columns)."""
        lo, hi = limits(k, outer)

        def integrand(x, *outer_here):
            points = list(outer_here) + [x]
            if k == d - 1:
                if count["nfev"] + x.size > max_nfev:
                    raise _Budget
                count["nfev"] += x.size
                y = np.asarray(f(np.column_stack(points), *args), dtype=float)
                if y.shape != x.shape:
                    raise ValueError(f"`f` must return shape ({x.size},) for points of shape ({x.size}, {d}), "
                                     f"got {y.shape}")
                return np.stack([y, np.zeros_like(y), np.zeros_like(y)], axis=1)
            return level(k + 1, points)

        scale = 1.0 if k == 0 else 0.1
        with np.errstate(all="ignore"):
            res = quad(integrand, lo, hi, args=tuple(outer), vectorized=True, rtol=rtol * scale,
                       atol=atol * scale, max_nfev=max_nfev)
        values = np.atleast_2d(res.integral)
        error = np.atleast_1d(res.error) + np.abs(values[:, 1])
        failed = (~np.atleast_1d(res.success)).astype(float) + np.abs(values[:, 2])
        return np.stack([values[:, 0], error, failed], axis=1)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IntegrationWarning)  # reported below, once
            out = level(0, [])[0]
        value, error, failed = out
        success = failed == 0
        status = 0 if success else 1
        message = "converged" if success else "an inner or the outer integration did not converge"
    except _Budget:
        value, error, success, status = np.nan, np.inf, False, 6
        message = "max_nfev reached before the tolerance was met"
    result = IntegrationResult(value, float(error), count["nfev"], status, bool(success), message)
    return warn_unsuccessful(result)


class _Budget(Exception):
    """max_nfev reached (raised through the nested quad calls)."""
