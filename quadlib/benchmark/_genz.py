"""Genz's six families of test integrands on the unit cube, with their integrals in closed form.

This module owns the families (their integrands, closed forms and TESTPACK's standard difficulties) and
:func:`genz_problem`, which draws a member as a :class:`~quadlib.benchmark.Problem` of kind ``"genz"``
on ``[0, 1]^d``: ``family`` names the family, ``parameters`` holds ``c`` and ``w``, ``points`` the kinks
and jumps axis by axis. It imports numpy and the standard library; mpmath only inside the closed forms
that need it.

Alan Genz (1984, 1987) proposed six parametrized families of integrands on ``[0, 1]^d``, each
with a feature that troubles some class of cubature rule. A problem is drawn from a family by
choosing a difficulty vector ``c`` (``c_i > 0``; larger is harder) and a shift vector ``w``
(``w_i`` in ``[0, 1]``; where the feature sits):

=================  ==========================================================  ====================
family             integrand ``f(x)``                                          what makes it hard
=================  ==========================================================  ====================
``oscillatory``    ``cos(2 pi w_1 + sum c_i x_i)``                             oscillation
``product_peak``   ``prod 1/(c_i**-2 + (x_i - w_i)**2)``                       a peak at ``w``
``corner_peak``    ``(1 + sum c_i x_i)**-(d + 1)``                             a peak at the origin
``gaussian``       ``exp(-sum c_i**2 (x_i - w_i)**2)``                         a peak at ``w``
``continuous``     ``exp(-sum c_i |x_i - w_i|)``                               a kink at ``w``
``discontinuous``  ``0`` if ``x_1 > w_1`` or ``x_2 > w_2``, else               a jump at ``w_1``,
                   ``exp(sum c_i x_i)`` (for ``d = 1`` only ``x_1`` counts)    ``w_2``
=================  ==========================================================  ====================

Only ``w_1`` enters the oscillatory family, no ``w_i`` the corner peak, and only ``w_1, w_2`` the
discontinuous family; the other entries of ``w`` are drawn anyway, so that a seed gives the same
``w`` for every family.

Closed forms
------------
Four families are products of one-dimensional integrals, each evaluated without cancellation:

* product peak: ``prod c_i (atan(c_i (1 - w_i)) + atan(c_i w_i))``;
* Gaussian: ``prod sqrt(pi)/(2 c_i) (erf(c_i (1 - w_i)) + erf(c_i w_i))``;
* continuous: ``prod (-expm1(-c_i w_i) - expm1(-c_i (1 - w_i)))/c_i``;
* discontinuous: ``prod_{i <= 2} expm1(c_i w_i)/c_i * prod_{i > 2} expm1(c_i)/c_i``.

The oscillatory integral is the real part of ``exp(2 pi i w_1) prod (exp(i c_k) - 1)/(i c_k)``,
that is ``cos(2 pi w_1 + sum c_k/2) prod sin(c_k/2)/(c_k/2)``. Its phase is evaluated in mpmath
(40 digits), so the value keeps its relative accuracy where the cosine is small.

The corner peak integral follows by integrating out one variable at a time (each step lowers the
power by one and takes a difference between the faces ``x_k = 0`` and ``x_k = 1``)::

    I = 1/(d! prod c_i) * sum over v in {0, 1}^d of (-1)^|v| / (1 + c.v).

The ``2^d`` terms are of size up to 1 while their sum is ``d! prod(c) I``, which falls like
``prod c`` for small ``c`` (for ``d = 10`` and all ``c_i = 0.1`` it is 5e-6, for ``c_i = 0.005``
3e-17): the sum cancels catastrophically in double precision. It is evaluated in mpmath with
``64 + 2 d`` bits beyond the digits the cancellation can cost, bounded a priori by
``I >= (1 + sum c)^-(d + 1)``. Past ``d = 16`` (65536 terms) the equivalent one-dimensional form
``I = 1/d! int_0^inf exp(-t) prod (1 - exp(-c_i t))/c_i dt``, whose integrand is positive, is
evaluated by ``mpmath.quad`` at 40 digits instead (about a second for ``d = 20``, 3 s for ``d = 50``).

Every ``exact`` is thus accurate to a few units in the last place of a double (about 1e-15
relative) for the parameters as stored.

Difficulty
----------
:func:`genz_problem` draws ``c`` and ``w`` uniformly and then scales ``c`` so that ``sum(c)`` is the
difficulty of Genz's test driver MULTST in TESTPACK (Genz 1987),
``sum(c) = DIFCLT / d**EXPNTS`` with

=================  ========  ========
family             DIFCLT    EXPNTS
=================  ========  ========
oscillatory        110       1.5
product_peak       600       2
corner_peak        600       2
gaussian           100       1
continuous         150       2
discontinuous      100       2
=================  ========  ========

(from TESTPACK's main program, as carried into J. Burkardt's C, C++ and MATLAB translations).
TESTPACK integrates the oscillatory and corner-peak families with unit coefficients over
``[0, c_1] x ... x [0, c_d]`` rather than over ``[0, 1]^d``, which is the same problem after
``z = c x`` (the integral differs by the factor ``prod c``); it also moves the corner peak to a
random corner, where quadlib keeps it at the origin as in Genz (1984).

Examples
--------
>>> import numpy as np
>>> from quadlib.benchmark import genz_problem
>>> p = genz_problem("gaussian", 3, seed=1)
>>> p.name, p.dimension, p.family
('genz_gaussian_3d', 3, 'gaussian')
>>> c = p.parameters["c"]
>>> c.shape, round(float(c.sum()), 12)    # 100 / 3
((3,), 33.333333333333)
>>> x = np.random.default_rng(0).random((1000, 3))
>>> p.f(x).shape
(1000,)
>>> genz_problem("continuous", 2, seed=1).points    # the kinks, axis by axis
((0.14415961271963373,), (0.9486494471372439,))

References
----------
A. Genz, "Testing multidimensional integration routines", in B. Ford, J. C. Rault and
F. Thomasset (eds.), Tools, Methods and Languages for Scientific and Engineering Computation,
North-Holland (1984), 81-94.

A. Genz, "A package for testing multiple integration subroutines", in P. Keast and G. Fairweather
(eds.), Numerical Integration: Recent Developments, Software and Applications, Reidel (1987),
337-340 (TESTPACK).
"""
import math

import numpy as np

from .._validation import choice, positive_int, real_scalar
from ._problem import Problem

__all__ = ["FAMILIES", "genz_problem", "standard_difficulty"]

FAMILIES = ("oscillatory", "product_peak", "corner_peak", "gaussian", "continuous", "discontinuous")

# TESTPACK, MULTST: sum(c) = DIFCLT / d**EXPNTS.
_DIFCLT = {"oscillatory": 110.0, "product_peak": 600.0, "corner_peak": 600.0,
           "gaussian": 100.0, "continuous": 150.0, "discontinuous": 100.0}
_EXPNTS = {"oscillatory": 1.5, "product_peak": 2.0, "corner_peak": 2.0,
           "gaussian": 1.0, "continuous": 2.0, "discontinuous": 2.0}

_SOURCE = "Genz (1984, 1987): the {} family on [0, 1]^d; value by its closed form"
# what makes each family hard, in the benchmark's vocabulary (quadlib.benchmark.TAGS)
_TAGS = {"oscillatory": ("smooth", "oscillatory"), "product_peak": ("smooth", "peak"),
         "corner_peak": ("smooth", "peak"), "gaussian": ("smooth", "peak"), "continuous": ("kink",),
         "discontinuous": ("discontinuous",)}

# Past this dimension the corner peak's 2**d-term sum gives way to its one-dimensional form.
_CORNER_SUM_MAX_D = 16


def standard_difficulty(family, d):
    """Genz's standard value of ``sum(c)`` for `family` in dimension `d`: ``DIFCLT / d**EXPNTS``.

    Examples
    --------
    >>> from quadlib.benchmark._genz import standard_difficulty
    >>> standard_difficulty("product_peak", 2)
    150.0
    """
    family = _family_iv(family)
    d = positive_int(d, "d")
    return _DIFCLT[family] / d ** _EXPNTS[family]


# --------------------------------------------------------------------------------------------------
# The integrands, for points x of shape (..., d).

def _oscillatory(x, c, w):
    return np.cos(2.0 * np.pi * w[0] + np.sum(x * c, axis=-1))


def _product_peak(x, c, w):
    return np.prod(1.0 / (c ** -2.0 + (x - w) ** 2), axis=-1)


def _corner_peak(x, c, w):
    return (1.0 + np.sum(x * c, axis=-1)) ** -(c.size + 1.0)


def _gaussian(x, c, w):
    return np.exp(-np.sum((c * (x - w)) ** 2, axis=-1))


def _continuous(x, c, w):
    return np.exp(-np.sum(c * np.abs(x - w), axis=-1))


def _discontinuous(x, c, w):
    inside = x[..., 0] <= w[0]
    if c.size > 1:
        inside &= x[..., 1] <= w[1]
    return np.where(inside, np.exp(np.sum(x * c, axis=-1)), 0.0)


_KERNELS = {"oscillatory": _oscillatory, "product_peak": _product_peak, "corner_peak": _corner_peak,
            "gaussian": _gaussian, "continuous": _continuous, "discontinuous": _discontinuous}


def _points_iv(x, d):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0 or x.shape[-1] != d:
        raise ValueError(f"`x` must have shape (N, {d}) (or ({d},) for one point), got {x.shape}")
    # One memory layout, so that a row gives the same sum whether alone or in a batch.
    return np.ascontiguousarray(x)


class _GenzIntegrand:
    """``f(x)`` for x of shape (N, d) -> (N,), or (d,) -> scalar. A class, so problems pickle."""

    __slots__ = ("family", "c", "w")

    def __init__(self, family, c, w):
        self.family = family
        self.c = c
        self.w = w

    def __call__(self, x):
        x = _points_iv(x, self.c.size)
        # Always a 2-D batch: one point alone would reduce to NumPy scalars, whose arithmetic (pow)
        # can differ in the last bit from the array loops.
        # exp overflowing outside the discontinuous family's support, or underflowing far from a
        # peak, gives the right value (discarded, or 0).
        with np.errstate(over="ignore", under="ignore"):
            y = _KERNELS[self.family](x.reshape(-1, self.c.size), self.c, self.w)
        return y.reshape(x.shape[:-1])[()]

    def __repr__(self):
        return f"<Genz {self.family} integrand, d={self.c.size}>"


# --------------------------------------------------------------------------------------------------
# The integrals over [0, 1]^d.

def _exact_oscillatory(c, w):
    import mpmath

    with mpmath.workdps(40):
        half = [mpmath.mpf(ck) / 2 for ck in c]
        phase = 2 * mpmath.pi * mpmath.mpf(w[0]) + mpmath.fsum(half)
        return float(mpmath.cos(phase) * mpmath.fprod(mpmath.sin(h) / h for h in half))


def _exact_corner_peak(c):
    import mpmath

    d = len(c)
    if d > _CORNER_SUM_MAX_D:
        return _corner_peak_laplace(c)
    # The sum s = d! prod(c) I of 2**d terms of size <= 1 loses about log2(2**d / s) bits; the bound
    # I >= (1 + sum c)**-(d + 1) (the integrand's minimum) bounds that loss before computing.
    log2_s = (math.lgamma(d + 1) + math.fsum(math.log(ck) for ck in c)
              - (d + 1) * math.log1p(math.fsum(c))) / math.log(2.0)
    with mpmath.workprec(64 + 2 * d + max(0, math.ceil(-log2_s))):
        denominators = [mpmath.mpf(1)]
        signs = [1]
        for ck in c:
            ck = mpmath.mpf(ck)
            denominators += [t + ck for t in denominators]
            signs += [-s for s in signs]
        s = mpmath.fsum([sign / t for sign, t in zip(signs, denominators)])
        return float(s / (mpmath.factorial(d) * mpmath.fprod(mpmath.mpf(ck) for ck in c)))


def _corner_peak_laplace(c):
    """The corner peak integral from (1 + u)**-(d+1) = 1/d! int_0^inf t**d exp(-t (1 + u)) dt.

    Integrating over the cube first gives I = 1/d! int_0^inf exp(-t) prod (1 - exp(-c_i t))/c_i dt,
    a positive integrand: no cancellation, and O(d) work per node instead of 2**d terms.
    """
    import mpmath

    d = len(c)
    with mpmath.workdps(40):
        cs = [mpmath.mpf(ck) for ck in c]

        def log_integrand(t):
            return -t + mpmath.fsum(mpmath.log(-mpmath.expm1(-t * ck) / ck) for ck in cs)

        # Breaks where the factors saturate (t = 1/c_i) and around the t**d exp(-t) bump (t ~ d).
        breaks = sorted({float(1 / ck) for ck in cs} | {d / 2, float(d), 2.0 * d})
        # mpmath.quad's tolerance is absolute: scale the integrand to about 1 where it is largest.
        scale = max(log_integrand(mpmath.mpf(t)) for t in breaks)

        def integrand(t):
            return mpmath.exp(-t - scale) * mpmath.fprod(-mpmath.expm1(-t * ck) / ck for ck in cs)

        value, error = mpmath.quad(integrand, [0, *breaks, mpmath.inf], error=True)
        if not error <= 1e-25 * value:
            raise RuntimeError("corner peak integral: mpmath.quad reached only "
                               f"{float(error / value):.1e} relative accuracy")
        return float(value * mpmath.exp(scale) / mpmath.factorial(d))


def _exact(family, c, w):
    d = len(c)
    if family == "oscillatory":
        return _exact_oscillatory(c, w)
    if family == "corner_peak":
        return _exact_corner_peak(c)
    if family == "product_peak":
        factors = [ck * (math.atan(ck * (1.0 - wk)) + math.atan(ck * wk)) for ck, wk in zip(c, w)]
    elif family == "gaussian":
        factors = [math.sqrt(math.pi) / (2.0 * ck) * (math.erf(ck * (1.0 - wk)) + math.erf(ck * wk))
                   for ck, wk in zip(c, w)]
    elif family == "continuous":
        factors = [(-math.expm1(-ck * wk) - math.expm1(-ck * (1.0 - wk))) / ck for ck, wk in zip(c, w)]
    else:  # discontinuous: the first min(d, 2) coordinates stop at w_i
        factors = [math.expm1(ck * wk) / ck if i < 2 else math.expm1(ck) / ck
                   for i, (ck, wk) in enumerate(zip(c, w))]
    return math.prod(factors)


def _points(family, w):
    """Per axis, the interior coordinates where f has a kink or a jump."""
    axes = {"continuous": range(len(w)), "discontinuous": range(min(len(w), 2))}.get(family, ())
    return tuple((float(w[i]),) if i in axes and 0.0 < w[i] < 1.0 else () for i in range(len(w)))


# --------------------------------------------------------------------------------------------------

def _family_iv(family):
    if not isinstance(family, str):
        raise TypeError(f"`family` must be a string, one of {FAMILIES}, got {family!r}")
    return choice(family, FAMILIES, "family")


def _parameter_iv(value, name, d):
    if isinstance(value, (str, bytes)):
        raise TypeError(f"`{name}` must be an array of {d} real numbers, got {value!r}")
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be an array of {d} real numbers, got {value!r}") from None
    if arr.shape != (d,):
        raise ValueError(f"`{name}` must have shape ({d},) for d={d}, got shape {arr.shape}")
    return arr


def _genz_problem_iv(family, d, difficulty, seed, c, w):
    family = _family_iv(family)
    d = positive_int(d, "d")
    if difficulty is not None:
        if c is not None:
            raise ValueError("`difficulty` and `c` exclude each other: `difficulty` sets the sum of the "
                             "random `c`; pass one of them")
        difficulty = real_scalar(difficulty, "difficulty")
        if not difficulty > 0:
            raise ValueError(f"`difficulty` must be positive, got {difficulty}")
    if c is not None:
        c = _parameter_iv(c, "c", d)
        if not np.all((c > 0) & np.isfinite(c)):
            raise ValueError(f"`c` must be positive and finite, got {c}")
    if w is not None:
        w = _parameter_iv(w, "w", d)
        if not np.all((w >= 0) & (w <= 1)):
            raise ValueError(f"`w` must lie in [0, 1], got {w}")
    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`seed` must be None, an integer, a SeedSequence or a Generator, got {seed!r}") from exc
    return family, d, difficulty, rng, c, w


def genz_problem(family, d, *, difficulty=None, seed=0, c=None, w=None, name=None):
    """A random member of one of Genz's six test families, with its exact integral.

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`: ``"oscillatory"``, ``"product_peak"``, ``"corner_peak"``,
        ``"gaussian"``, ``"continuous"``, ``"discontinuous"``.
    d : int
        The dimension, at least 1.
    difficulty : float, optional
        The value of ``sum(c)``. Default: Genz's standard difficulty for the family,
        ``DIFCLT / d**EXPNTS`` (see :func:`standard_difficulty` and the module notes).
        Cannot be combined with `c`.
    seed : None, int, SeedSequence or Generator, optional
        Seeds ``numpy.random.default_rng``. It draws ``u`` uniform on ``(0, 1]^d`` and then `w`
        uniform on ``[0, 1)^d``; ``c = u * difficulty / sum(u)``. Both are always drawn, so a seed
        gives the same `w` whether or not `c` is given.
    c, w : array_like of shape (d,), optional
        Explicit parameters, used as given instead of the random ones: ``c_i > 0`` finite,
        ``0 <= w_i <= 1``.
    name : str, optional
        The problem's name; default ``"genz_{family}_{d}d"``.

    Returns
    -------
    Problem
        Of kind ``"genz"`` on ``[0, 1]^d`` (``a = (0.0,) * d``, ``b = (1.0,) * d``), with:

        * ``f``: vectorized over points, an array of shape ``(N, d)`` gives shape ``(N,)``, one point of
          shape ``(d,)`` a scalar; the last axis must have length `d`. Picklable.
        * ``exact``: the integral over the cube from the closed form (see the module notes), accurate to
          about 1e-15 relative.
        * ``points``: ``points[i]`` lists the coordinates strictly inside ``(0, 1)`` at which f has a
          kink or a jump across the hyperplane ``x_i = const``: ``(w_i,)`` on every axis for
          ``continuous``, on the first two axes for ``discontinuous``; empty otherwise. (The peaks of
          ``product_peak`` and ``gaussian`` sit at `w`, where f is smooth.)
        * ``family``, and ``parameters``: ``{"c": c, "w": w}``, read-only arrays of shape (d,), the
          difficulty parameters (all positive) and the shifts (in ``[0, 1]``).

    Raises
    ------
    ValueError
        If `family` is unknown, ``d < 1``, `difficulty` is not positive, `c` or `w` has the wrong
        shape or values, or the integral overflows a double (``exp(c_i)`` beyond 1e308).

    Examples
    --------
    >>> from quadlib.benchmark import genz_problem
    >>> p = genz_problem("discontinuous", 2, c=[1.0, 2.0], w=[0.5, 0.25])
    >>> p.exact    # (e**0.5 - 1) * (e**0.5 - 1)/2
    0.2104196435293945
    >>> p.points
    ((0.5,), (0.25,))
    >>> genz_problem("corner_peak", 10, seed=7).exact
    2.89087072914893...e-06

    References
    ----------
    A. Genz, "A package for testing multiple integration subroutines", in P. Keast and
    G. Fairweather (eds.), Numerical Integration: Recent Developments, Software and Applications,
    Reidel (1987), 337-340.
    """
    family, d, difficulty, rng, c_given, w_given = _genz_problem_iv(family, d, difficulty, seed, c, w)
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"`name` must be a non-empty string or None, got {name!r}")
    u = 1.0 - rng.random(d)
    w_random = rng.random(d)
    if c_given is None:
        total = standard_difficulty(family, d) if difficulty is None else difficulty
        c = u * (total / u.sum())
    else:
        c = c_given
    w = w_random if w_given is None else w_given
    c.flags.writeable = False
    w.flags.writeable = False
    try:
        exact = float(_exact(family, c.tolist(), w.tolist()))
    except OverflowError:
        exact = math.inf
    if not math.isfinite(exact):
        raise ValueError(f"the {family} integral overflows a double for c={c}; use a smaller `c` or "
                         "`difficulty`")
    return Problem(f"genz_{family}_{d}d" if name is None else name, _GenzIntegrand(family, c, w), (0.0,) * d,
                   (1.0,) * d, exact, kind="genz", source=_SOURCE.format(family), points=_points(family, w),
                   tags=_TAGS[family], family=family, parameters={"c": c, "w": w})
