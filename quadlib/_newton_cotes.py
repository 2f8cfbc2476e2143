"""Newton–Cotes rules with exact rational weights, the composite rules built on them, and Romberg.

The weights are integrals of Lagrange basis polynomials on equally spaced nodes. They are computed in
rational arithmetic (:class:`fractions.Fraction`), so the only rounding is the final, correctly rounded
conversion to float64. The composite functions apply those rules through :meth:`Rule.integrate`;
:func:`romberg` extrapolates the composite trapezoid rule.
"""
from fractions import Fraction
import functools
import math
import warnings

import numpy as np

from . import _validation as v
from ._integrand import Integrand
from ._result import IntegrationResult, warn_unsuccessful
from ._rule import Rule

__all__ = ["NegativeWeightsWarning", "newton_cotes", "composite_midpoint", "composite_trapezoid",
           "composite_simpson", "composite_simpson38", "composite_boole", "romberg"]

_MAX_POINTS = 30
# 2**25 + 1 abscissae (a quarter of a gigabyte, a second or so of a cheap vectorized integrand) is where
# Romberg stops being the right tool; one Python call per sample allows 2**20 of them.
_MAX_LEVELS = 25
_MAX_SCALAR_LEVELS = 20
# Composite rules: 10^7 subintervals (80 MB of abscissae, a few seconds).
MAX_SUBINTERVALS = 10 ** 7
# Accepting a tolerance from the very first levels lets an integrand that vanishes on the first dyadic
# grids (sin(2*pi*x)**2 on [0, 1] is 0 at 0, 1/2, 1) pass as converged to a wrong value; 9 samples is
# the least we trust. No fixed number is enough for every integrand (sin(2**m*pi*x)**2).
_MIN_LEVEL = 3


class NegativeWeightsWarning(UserWarning):
    """A Newton–Cotes rule has negative weights: it amplifies rounding and noise in the integrand.

    Closed rules have negative weights for 9 points and from 11 points on, open rules for 3 points and
    from 5 points on.
    """


# --------------------------------------------------------------------------------------------------
# Exact rules


def _exact_nodes(n, open_):
    if open_:
        return tuple(Fraction(2 * k, n + 1) - 1 for k in range(1, n + 1))
    return tuple(Fraction(2 * k, n - 1) - 1 for k in range(n))


@functools.lru_cache(maxsize=None)
def _exact_weights(n, open_):
    """Weights on [-1, 1] as Fractions: the integral of each Lagrange basis polynomial."""
    nodes = _exact_nodes(n, open_)
    # Coefficients of the node polynomial prod_j (x - x_j), highest power first.
    node_poly = [Fraction(1)]
    for xj in nodes:
        node_poly = [c - xj * p for c, p in zip(node_poly + [0], [0] + node_poly)]
    weights = []
    for xk in nodes:
        # Synthetic division by (x - x_k) leaves prod_{j != k} (x - x_j), highest power first.
        quotient = [node_poly[0]]
        for c in node_poly[1:-1]:
            quotient.append(c + xk * quotient[-1])
        # Over [-1, 1] odd powers integrate to zero and x**m to 2 / (m + 1).
        integral = sum(2 * c / (m + 1) for m, c in enumerate(reversed(quotient)) if m % 2 == 0)
        scale = math.prod(xk - xj for xj in nodes if xj != xk)
        weights.append(integral / scale)
    return tuple(weights)


def _newton_cotes_iv(n, open):
    if not isinstance(open, (bool, np.bool_)):
        raise TypeError(f"`open` must be True or False, got {open!r}")
    open = bool(open)
    n = v.positive_int(n, "n", minimum=1 if open else 2, maximum=_MAX_POINTS)
    return n, open


def _rule(n, open):
    exact = _exact_weights(n, open)
    # float(Fraction) divides two ints, which CPython rounds correctly.
    return Rule(nodes=[float(x) for x in _exact_nodes(n, open)],
                weights=[float(w) for w in exact],
                domain=(-1.0, 1.0),
                weight_function="1",
                # A symmetric rule with an odd number of nodes also integrates the next (odd) power.
                degree=n if n % 2 else n - 1,
                family=f"newton_cotes({n}, open={open})",
                extra={"exact_weights": exact})


def newton_cotes(n, open=False):
    """Newton–Cotes rule with `n` equally spaced nodes on [-1, 1], weights exact to the last bit.

    Parameters
    ----------
    n : int
        Number of nodes, ``2 <= n <= 30`` for a closed rule and ``1 <= n <= 30`` for an open one.
    open : bool, optional
        False (default): the closed rule, whose nodes ``-1 + 2k/(n-1)``, ``k = 0, ..., n-1``, include
        both endpoints (it needs ``n >= 2``). True: the open rule, whose nodes are the `n` interior
        points ``-1 + 2k/(n+1)``, ``k = 1, ..., n``, of ``n + 1`` equal subintervals.

    Returns
    -------
    Rule
        ``degree`` is ``n - 1`` for even `n` and ``n`` for odd `n` (the rules are symmetric).
        ``extra["exact_weights"]`` holds the weights as :class:`fractions.Fraction`.

    Warns
    -----
    NegativeWeightsWarning
        When any weight is negative: closed rules with 9 or with 11 and more points, open rules with 3
        or with 5 and more points. Such rules amplify rounding; prefer a composite rule or a Gauss rule.

    Notes
    -----
    Each weight is the integral over [-1, 1] of a Lagrange basis polynomial, evaluated in rational
    arithmetic; the float64 weights are the correctly rounded values of those fractions. Rules are
    cached, so repeated calls cost nothing.

    References
    ----------
    .. [1] P. J. Davis and P. Rabinowitz, *Methods of Numerical Integration*, 2nd ed., Academic Press,
           1984, section 2.5.
    .. [2] M. Abramowitz and I. A. Stegun, *Handbook of Mathematical Functions*, Dover, 1964,
           formulas 25.4.13-25.4.20 (closed) and 25.4.21-25.4.26 (open).

    Examples
    --------
    Simpson's rule is the closed rule with three nodes:

    >>> import numpy as np, quadlib
    >>> rule = quadlib.newton_cotes(3)
    >>> rule.nodes, rule.weights * 3
    (array([-1.,  0.,  1.]), array([1., 4., 1.]))
    >>> rule.degree
    3
    >>> rule.extra["exact_weights"]
    (Fraction(1, 3), Fraction(4, 3), Fraction(1, 3))

    Mapped onto [0, 1] and applied over 10 panels:

    >>> round(float(rule.integrate(np.exp, 0.0, 1.0, panels=10)), 12)  # e - 1 = 1.718281828459045...
    1.718281888104
    """
    n, open = _newton_cotes_iv(n, open)
    rule = _rule(n, open)
    if np.any(rule.weights < 0):
        warnings.warn(f"{rule.family} has negative weights; it amplifies rounding errors",
                      NegativeWeightsWarning, stacklevel=2)
    return rule


# --------------------------------------------------------------------------------------------------
# Composite rules

def _composite_iv(f, a, b, n, args, multiple_of):
    v.callable_(f, "f")
    a = v.real_scalar(a, "a")
    b = v.real_scalar(b, "b")
    n = v.positive_int(n, "n", maximum=MAX_SUBINTERVALS)
    if n % multiple_of:
        raise ValueError(f"`n` must be a multiple of {multiple_of}, got {n}")
    return f, a, b, n, v.args_tuple(args)


def _composite(f, a, b, n, args, points, open):
    subintervals_per_panel = max(points - 1, 1)
    f, a, b, n, args = _composite_iv(f, a, b, n, args, subintervals_per_panel)
    return _rule(points, open).integrate(f, a, b, panels=n // subintervals_per_panel, args=args)


_COMPOSITE_PARAMETERS = """
    f : callable
        ``f(x, *args)``, called once with the 1-D array of all abscissae; returns an array of shape
        ``(N,)``, or ``(N, ...)`` for a vector-valued integrand.
    a, b : float
        Finite limits; ``b < a`` gives the negated integral.
    n : int
        Number of equal subintervals of [a, b]{constraint}; at most ``MAX_SUBINTERVALS`` (10^7).
    args : tuple, optional
        Extra arguments passed to `f`; a value that is not a tuple is passed as the one extra argument, as in scipy.

    Returns
    -------
    float or ndarray
        The estimate; an array of shape ``(...)`` for a vector-valued `f`.
"""
_COMPOSITE_REFERENCES = """
    .. [1] P. J. Davis and P. Rabinowitz, *Methods of Numerical Integration*, 2nd ed., Academic Press,
           1984, section 2.2.
"""


def composite_midpoint(f, a, b, n, *, args=()):
    """Composite midpoint rule on `n` equal subintervals of [a, b].

    Parameters
    ----------{parameters}
    Notes
    -----
    ``newton_cotes(1, open=True).integrate(f, a, b, panels=n)``: `f` is sampled at the `n` midpoints.
    The error is ``O(h**2)`` with ``h = (b - a) / n`` for a smooth integrand.

    References
    ----------{references}
    Examples
    --------
    >>> import numpy as np, quadlib
    >>> round(float(quadlib.composite_midpoint(np.exp, 0.0, 1.0, 100)), 12)  # e - 1 = 1.718281828459045...
    1.718274668972
    """
    return _composite(f, a, b, n, args, 1, True)


def composite_trapezoid(f, a, b, n, *, args=()):
    """Composite trapezoidal rule on `n` equal subintervals of [a, b].

    Parameters
    ----------{parameters}
    Notes
    -----
    ``newton_cotes(2).integrate(f, a, b, panels=n)``. The error is ``O(h**2)`` with
    ``h = (b - a) / n`` for a smooth integrand. Neighbouring panels share
    their endpoint, which is evaluated once: ``n + 1`` abscissae.

    References
    ----------{references}
    Examples
    --------
    >>> import numpy as np, quadlib
    >>> round(float(quadlib.composite_trapezoid(np.exp, 0.0, 1.0, 100)), 12)  # e - 1 = 1.718281828459045...
    1.71829614745
    """
    return _composite(f, a, b, n, args, 2, False)


def composite_simpson(f, a, b, n, *, args=()):
    """Composite Simpson's rule on `n` (even) equal subintervals of [a, b].

    Parameters
    ----------{parameters}
    Notes
    -----
    ``newton_cotes(3).integrate(f, a, b, panels=n // 2)``. The error is ``O(h**4)`` with
    ``h = (b - a) / n`` for a smooth integrand. Shared panel endpoints are
    evaluated once: ``n + 1`` abscissae.

    References
    ----------{references}
    Examples
    --------
    >>> import numpy as np, quadlib
    >>> round(float(quadlib.composite_simpson(np.exp, 0.0, 1.0, 10)), 12)  # e - 1 = 1.718281828459045...
    1.718282781925
    """
    return _composite(f, a, b, n, args, 3, False)


def composite_simpson38(f, a, b, n, *, args=()):
    """Composite Simpson's 3/8 rule on `n` (a multiple of 3) equal subintervals of [a, b].

    Parameters
    ----------{parameters}
    Notes
    -----
    ``newton_cotes(4).integrate(f, a, b, panels=n // 3)``. The error is ``O(h**4)`` with
    ``h = (b - a) / n`` for a smooth integrand. Shared panel endpoints are
    evaluated once: ``n + 1`` abscissae.

    References
    ----------{references}
    Examples
    --------
    >>> import numpy as np, quadlib
    >>> round(float(quadlib.composite_simpson38(np.exp, 0.0, 1.0, 12)), 12)  # e - 1 = 1.718281828459045...
    1.718282862557
    """
    return _composite(f, a, b, n, args, 4, False)


def composite_boole(f, a, b, n, *, args=()):
    """Composite Boole's rule on `n` (a multiple of 4) equal subintervals of [a, b].

    Parameters
    ----------{parameters}
    Notes
    -----
    ``newton_cotes(5).integrate(f, a, b, panels=n // 4)``, with weights ``(7, 32, 12, 32, 7) h/45``
    per panel. The error is ``O(h**6)`` with ``h = (b - a) / n`` for a smooth integrand. Shared panel
    endpoints are evaluated once: ``n + 1`` abscissae.

    References
    ----------{references}
    Examples
    --------
    >>> import numpy as np, quadlib
    >>> round(float(quadlib.composite_boole(np.exp, 0.0, 1.0, 12)), 12)  # e - 1 = 1.718281828459045...
    1.718281829672
    """
    return _composite(f, a, b, n, args, 5, False)


for _func, _constraint in [(composite_midpoint, ""), (composite_trapezoid, ""),
                           (composite_simpson, "; even"), (composite_simpson38, "; a multiple of 3"),
                           (composite_boole, "; a multiple of 4")]:
    # The shared sections are written once; numpydoc sees the finished docstring (none under -OO).
    if _func.__doc__:
        _func.__doc__ = _func.__doc__.format(
            parameters=_COMPOSITE_PARAMETERS.format(constraint=_constraint),
            references=_COMPOSITE_REFERENCES)
del _func, _constraint


# --------------------------------------------------------------------------------------------------
# Romberg

def _romberg_iv(f, a, b, args, rtol, atol, max_level, vectorized):
    v.callable_(f, "f")
    a = v.real_scalar(a, "a")
    b = v.real_scalar(b, "b")
    args = v.args_tuple(args)
    atol, rtol = v.tolerances(atol, rtol)
    max_level = v.positive_int(max_level, "max_level", minimum=_MIN_LEVEL, maximum=_MAX_LEVELS)
    if not isinstance(vectorized, (bool, np.bool_)):
        raise TypeError(f"`vectorized` must be True or False, got {vectorized!r}")
    if not vectorized and max_level > _MAX_SCALAR_LEVELS:
        raise ValueError(f"`max_level` must be at most {_MAX_SCALAR_LEVELS} when `vectorized` is False (one "
                         f"Python call per sample), got {max_level}")
    return f, a, b, args, rtol, atol, max_level, bool(vectorized)


def romberg_row(previous, trapezoid):
    """Row k of the Romberg tableau from row k - 1 and the trapezoid sum ``T[k, 0]`` on step h / 2**k.

    ``T[k, j] = T[k, j-1] + (T[k, j-1] - T[k-1, j-1]) / (4**j - 1)``: column j removes the h**(2j) term of
    the Euler–Maclaurin expansion. `previous` holds the k entries ``T[k-1, 0..k-1]``; the entries may be
    numbers or arrays (one tableau per integral, for sampled data along other axes). Returns the k + 1
    entries ``T[k, 0..k]`` as a list. Shared by :func:`romberg` and :func:`quadlib.romb`.
    """
    row = [trapezoid]
    for j in range(1, len(previous) + 1):
        row.append(row[j - 1] + (row[j - 1] - previous[j - 1]) / (4 ** j - 1))
    return row


def _romberg(f, a, b, args, rtol, atol, max_level, vectorized):
    """Romberg on [a, b] with a < b; returns the result without warning."""
    table = np.full((max_level + 1, max_level + 1), np.nan)
    sample = Integrand(f, args, vectorized=vectorized, value_ndim=0, real=True, caller="quadlib.romberg")
    y = sample(np.array([a, b]))
    width = b - a
    table[0, 0] = 0.5 * width * (y[0] + y[1])
    status, message, error = 1, None, np.inf
    for k in range(max_level + 1):
        if k > 0:
            # Level k adds the 2**(k-1) midpoints of level k-1; earlier samples live on in table[k-1, 0].
            h = width / 2 ** k
            x = a + h * np.arange(1, 2 ** k, 2, dtype=np.float64)
            y = sample(x)
            table[k, :k + 1] = romberg_row(table[k - 1, :k], 0.5 * table[k - 1, 0] + h * y.sum())
        if not np.all(np.isfinite(y)):
            bad = (np.array([a, b]) if k == 0 else x)[~np.isfinite(y)][0]
            status, error = 2, np.nan
            message = f"`f` returned a non-finite value at x = {float(bad)!r}; stopped at level {k}"
            break
        if k == 0:
            continue
        # |T[k, k] - T[k, k-1]| alone is the last correction divided by 4**k - 1: far too small where
        # the h**2 expansion fails (sqrt(x) on [0, 1] reports 4e-11 at an actual error of 6e-6). The
        # step along the diagonal, |T[k, k] - T[k-1, k-1]|, tracks the actual error there.
        error = max(abs(table[k, k] - table[k, k - 1]), abs(table[k, k] - table[k - 1, k - 1]))
        if k >= _MIN_LEVEL and error <= max(atol, rtol * abs(table[k, k])):
            status, message = 0, f"converged at level {k}"
            break
    else:
        message = (f"reached `max_level` = {max_level} with estimated error {error:.3g} above the "
                   f"tolerance max(atol, rtol*|I|) = {max(atol, rtol * abs(table[k, k])):.3g}")
    integral = np.nan if status == 2 else table[k, k]
    return IntegrationResult(integral=float(integral), error=float(error), nfev=sample.nfev, status=status,
                             success=status == 0, message=message,
                             extra={"level": k, "levels": k, "table": table[:k + 1, :k + 1]})


def romberg(f, a, b, *, args=(), rtol=1e-10, atol=0.0, max_level=20, vectorized=True, max_levels=None):
    """Integrate `f` over [a, b] by Romberg's method: trapezoid sums on halved steps, extrapolated.

    Parameters
    ----------
    f : callable
        ``f(x, *args)``, real-valued. With ``vectorized=True`` it is called once per level with a
        1-D array of abscissae and must return an array of that shape; otherwise it is called with
        one float at a time and must return a scalar.
    a, b : float
        Finite limits. ``a == b`` gives exactly 0; ``b < a`` gives the negated integral over [b, a].
    args : tuple, optional
        Extra arguments passed to `f`; a value that is not a tuple is passed as the one extra argument, as in scipy.
    rtol, atol : float, optional
        Stop when the error estimate is at most ``max(atol, rtol * |integral|)``. Not both zero.
    max_level : int, optional
        Largest number of step halvings, from 3 to 25 (to 20 when `vectorized` is False); level ``k``
        has ``2**k + 1`` samples in all. (The name `tanh_sinh` uses for its own bound.)
    vectorized : bool, optional
        Whether `f` accepts and returns arrays.
    max_levels : int, optional
        Deprecated name of `max_level` (a DeprecationWarning; not with `max_level`).

    Returns
    -------
    IntegrationResult
        ``status`` is 0 on convergence, 1 when `max_level` was reached, 2 when `f` returned NaN or
        infinity (then ``integral`` is NaN). ``extra`` holds ``level``, the last level reached (also
        under its former name ``levels``), and ``table``, the Romberg tableau ``T[k, j]`` (NaN above the
        diagonal); ``nfev`` counts samples.

    Warns
    -----
    IntegrationWarning
        When ``success`` is False.

    Notes
    -----
    Level ``k`` evaluates `f` only at the ``2**(k-1)`` new midpoints and reuses the earlier samples
    through the previous trapezoid sum ``T[k-1, 0]``. Column ``j`` of the tableau removes the
    ``h**(2j)`` term of the Euler–Maclaurin expansion [1]_, [2]_:
    ``T[k, j] = T[k, j-1] + (T[k, j-1] - T[k-1, j-1]) / (4**j - 1)``.
    The estimate is ``T[k, k]``; its error estimate is the larger of ``|T[k, k] - T[k, k-1]|`` and
    ``|T[k, k] - T[k-1, k-1]|``. The first alone is the last correction divided by ``4**k - 1`` and
    is far too small when the expansion does not hold (for ``sqrt(x)`` on [0, 1] it is ``4e-11`` at
    level 9, where the actual error is ``6e-6``); the second follows the actual error there.
    Convergence is not accepted before level 3 (9 samples), so that an integrand which vanishes on
    the first dyadic grids, like ``sin(2*pi*x)**2`` on [0, 1], is not taken for zero; no fixed number
    of levels protects against every such integrand. The expansion needs a smooth integrand: for an
    endpoint singularity or a discontinuity Romberg converges slowly and typically reports failure.

    References
    ----------
    .. [1] W. Romberg, "Vereinfachte numerische Integration", *Det Kongelige Norske Videnskabers
           Selskab Forhandlinger* 28 (7), 1955.
    .. [2] P. J. Davis and P. Rabinowitz, *Methods of Numerical Integration*, 2nd ed., Academic Press,
           1984, section 6.3.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> res = quadlib.romberg(np.exp, 0.0, 1.0)
    >>> res.success, res.nfev, res.level
    (True, 33, 5)
    >>> bool(abs(res.integral - (np.e - 1)) <= res.error <= 1e-10 * res.integral)
    True

    A square-root singularity defeats the extrapolation; the result says so and a warning is emitted:

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = quadlib.romberg(np.sqrt, 0.0, 1.0, max_level=5)
    >>> res.success, res.status
    (False, 1)
    """
    if max_levels is not None:
        if max_level != 20:
            raise TypeError("give `max_level` or its deprecated name `max_levels`, not both")
        warnings.warn("romberg's `max_levels` is deprecated; use `max_level` (as tanh_sinh does)", DeprecationWarning,
                      stacklevel=2)
        max_level = max_levels
    f, a, b, args, rtol, atol, max_level, vectorized = _romberg_iv(
        f, a, b, args, rtol, atol, max_level, vectorized)
    if a == b:
        return IntegrationResult(integral=0.0, error=0.0, nfev=0, message="`a` equals `b`",
                                 extra={"level": 0, "levels": 0, "table": np.zeros((1, 1))})
    if a < b:
        result = _romberg(f, a, b, args, rtol, atol, max_level, vectorized)
    else:
        flipped = _romberg(f, b, a, args, rtol, atol, max_level, vectorized)
        result = IntegrationResult(integral=-flipped.integral, error=flipped.error, nfev=flipped.nfev,
                                   status=flipped.status, success=flipped.success,
                                   message=flipped.message,
                                   extra={**flipped.extra, "table": -flipped.extra["table"]})
    return warn_unsuccessful(result, stacklevel=3)
