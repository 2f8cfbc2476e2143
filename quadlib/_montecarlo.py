"""`qmc_quad`: randomized quasi-Monte Carlo (and plain Monte Carlo) integration over a box, with a standard error.

The estimate is the mean of `n_randomizations` independent estimates, each an equal-weight average over
`n_points` points: one independently scrambled Sobol' or Halton point set per estimate ("sobol", "halton"),
or a batch of pseudo-random uniform points ("mc"). The independent replicates make the spread of the
estimates an unbiased measure of the error, so the reported ``error`` is the standard error of their mean,
``std(estimates, ddof=1) / sqrt(n_randomizations)``: a statistical statement, not a bound.

Infinite limits are handled per coordinate by a change of variables from the unit interval with algebraic
(Cauchy-like) tails, whose Jacobian grows like ``x**2``; see `qmc_quad`.

References
----------
I. M. Sobol', "On the distribution of points in a cube and the approximate evaluation of integrals",
USSR Comput. Math. Math. Phys. 7 (1967).
J. H. Halton, "On the efficiency of certain quasi-random sequences of points in evaluating
multi-dimensional integrals", Numer. Math. 2 (1960).
A. B. Owen, "Randomly permuted (t, m, s)-nets and (t, s)-sequences", in Monte Carlo and Quasi-Monte Carlo
Methods in Scientific Computing, Springer (1995).
J. Matoušek, "On the L2-discrepancy for anchored boxes", J. Complexity 14 (1998) (linear matrix scrambling).
P. L'Ecuyer and C. Lemieux, "Recent advances in randomized quasi-Monte Carlo methods", in Modeling
Uncertainty, Kluwer (2002), section 3 (independent replicates and their standard error).
"""
import inspect
import numbers

import numpy as np
from scipy.stats import qmc

from . import _validation as v
from ._integrand import Integrand
from ._result import IntegrationResult, warn_unsuccessful

__all__ = ["qmc_quad"]

METHODS = ("sobol", "halton", "mc")
MESSAGES = {0: "standard error from {} randomizations", 7: "the integrand returned inf or NaN"}
_OVERFLOW = ("the integrand times the Jacobian of the map from the unit cube (the volume of the finite coordinates, "
             "the change of variables of the infinite ones) overflowed to inf or NaN; rescale the variables so "
             "that the integrand lives at unit scale")
_SOBOL_MAX_DIM = 21201          # scipy's table of direction numbers (Joe and Kuo)
_SOBOL_BITS = 30                # scipy's default: points k / 2**30 (more bits make scrambling several times slower)
_CHUNK_ELEMENTS = 2 ** 22       # an (N, d) float64 array of at most 32 MB per call to f
# Sobol' points k / 2**30 move to the centres of their grid cells: the mean of a coordinate is then 1/2 rather
# than 1/2 - 2**-31 (a bias that would dominate the standard error of very smooth integrands at large N), and
# no coordinate is 0. Halton points and numpy's uniforms (k / 2**53) are only clipped off the faces.
_OFFSET = {"sobol": 2.0 ** -(_SOBOL_BITS + 1), "halton": 0.0, "mc": 0.0}
_T_MIN, _T_MAX = 2.0 ** -54, 1.0 - 2.0 ** -53
# scipy 1.15 renamed the engines' `seed` to `rng`
_RNG_KEYWORD = "rng" if "rng" in inspect.signature(qmc.Sobol).parameters else "seed"


def _qmc_quad_iv(f, a, b, n_points, n_randomizations, method, seed, args, vectorized):
    v.callable_(f, "f")
    a, b = v.box(a, b)
    n_points = v.positive_int(n_points, "n_points")
    n_randomizations = v.positive_int(n_randomizations, "n_randomizations", minimum=2)
    if not isinstance(method, str):
        raise TypeError(f"`method` must be a string, got {type(method).__name__}")
    method = v.choice(method, METHODS, "method")
    if method == "sobol":
        if n_points & (n_points - 1):
            lower = 1 << (n_points.bit_length() - 1)
            raise ValueError(f"`n_points` must be a power of 2 for method='sobol' (the balance of a Sobol' net), "
                             f"got {n_points}; use {lower} or {2 * lower}, or method='halton'")
        if n_points > 2 ** _SOBOL_BITS:
            raise ValueError(f"`n_points` must be at most 2**{_SOBOL_BITS} for method='sobol', got {n_points}")
        if a.size > _SOBOL_MAX_DIM:
            raise ValueError(f"method='sobol' supports at most {_SOBOL_MAX_DIM} dimensions, but `a` and `b` have "
                             f"{a.size}; use method='halton' or 'mc'")
    if seed is not None and not isinstance(seed, np.random.Generator):
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"`seed` must be None, an int or a numpy.random.Generator, got {type(seed).__name__}")
        if seed < 0:
            raise ValueError(f"`seed` must be a non-negative integer, got {seed}")
    rng = np.random.default_rng(seed)
    args = v.args_tuple(args)
    return f, a, b, n_points, n_randomizations, method, rng, args, bool(vectorized)


class _Uniform:
    """Plain Monte Carlo in the engines' interface: ``random(n)`` gives the next n pseudo-random points."""

    def __init__(self, d, rng):
        self.d, self.rng = d, rng

    def random(self, n):
        return self.rng.random((n, self.d))


def _engines(method, d, n_randomizations, rng):
    """One independently randomized point generator per replicate, seeded from `rng`."""
    # entropy drawn from the user's generator works for any Generator (spawn() needs a SeedSequence)
    entropy = rng.integers(2 ** 63, size=(n_randomizations, 2), dtype=np.uint64)
    children = [np.random.default_rng(row) for row in entropy]
    if method == "sobol":
        return [qmc.Sobol(d, scramble=True, bits=_SOBOL_BITS, **{_RNG_KEYWORD: c}) for c in children]
    if method == "halton":
        return [qmc.Halton(d, scramble=True, **{_RNG_KEYWORD: c}) for c in children]
    return [_Uniform(d, c) for c in children]


class _Box:
    """The map from the unit cube onto the box [a, b], coordinate by coordinate, and its Jacobian."""

    def __init__(self, a, b, offset):
        self.offset = offset
        lo_inf, hi_inf = np.isinf(a), np.isinf(b)
        self.a, self.b = a, b
        self.finite = np.flatnonzero(~lo_inf & ~hi_inf)
        self.upper = np.flatnonzero(~lo_inf & hi_inf)     # [a, inf)
        self.lower = np.flatnonzero(lo_inf & ~hi_inf)     # (-inf, b]
        self.both = np.flatnonzero(lo_inf & hi_inf)       # (-inf, inf)
        self.width = (b - a)[self.finite]
        with np.errstate(over="ignore"):                   # an infinite volume is reported with the result
            self.volume = float(np.prod(self.width))       # the finite coordinates' Jacobian is constant
        self.infinite = self.finite.size < a.size

    def __call__(self, t):
        """Points x (N, d) and the Jacobian of the infinite coordinates (N,), or None if all are finite."""
        # keep off the faces: no evaluation at a finite limit, no infinite x or Jacobian (Halton points and
        # numpy's uniforms can be exactly 0); a copy, as an engine may hand out its own storage
        t = np.clip(t + self.offset, _T_MIN, _T_MAX)
        if not self.infinite:
            t *= self.b - self.a
            t += self.a
            return t, None
        x = np.empty_like(t)
        x[:, self.finite] = self.a[self.finite] + self.width * t[:, self.finite]
        jac = np.ones(t.shape[0])
        for cols, limit, sign in ((self.upper, self.a, 1.0), (self.lower, self.b, -1.0)):
            if cols.size:
                s = t[:, cols]
                u = 1.0 - s
                x[:, cols] = limit[cols] + sign * (s / u)          # x = a + t / (1 - t), mirrored for (-inf, b]
                jac *= np.prod(1.0 / (u * u), axis=1)
        if self.both.size:
            s = t[:, self.both]
            # x = tan(pi (t - 1/2)), formed from the distance to the nearer face so that the tails keep
            # their relative accuracy
            xb = np.where(s < 0.5, -1.0 / np.tan(np.pi * s), 1.0 / np.tan(np.pi * (1.0 - s)))
            x[:, self.both] = xb
            jac *= np.prod(np.pi * (1.0 + xb * xb), axis=1)
        return x, jac


def qmc_quad(f, a, b, *, n_points=2 ** 12, n_randomizations=16, method="sobol", seed=None, args=(),
             vectorized=True):
    """Randomized quasi-Monte Carlo integration of ``f`` over the box [a, b], with a standard error.

    The integral is estimated `n_randomizations` times, each time by the average of ``f`` (times the box
    volume) over `n_points` points: an independently scrambled Sobol' net or Halton set (randomized QMC), or
    independent uniform points (``method="mc"``). The result is the mean of these estimates and ``error`` is
    the **standard error** of that mean, ``std(estimates, ddof=1) / sqrt(n_randomizations)``, not a bound:
    ``(integral - exact) / error`` is approximately Student-t distributed with ``n_randomizations - 1``
    degrees of freedom, so the exact value lies within ``2.13 * error`` about 95% of the time for the
    default 16 randomizations. For smooth integrands the scrambled nets' error falls much faster than
    plain Monte Carlo's ``1 / sqrt(N)``. There is no tolerance loop: the work is ``n_points *
    n_randomizations`` evaluations.

    Parameters
    ----------
    f : callable
        ``f(x, *args)``. With ``vectorized=True`` (default), `x` has shape (N, d) (one point per row) and
        ``f`` returns shape (N,) or, for a vector-valued integrand whose components share the points,
        (N, m) (any trailing shape works). ``f`` may be called several times, with different N. With
        ``vectorized=False``, `x` is one point, of shape (d,), and ``f`` returns a scalar or an array of
        shape (m,). Complex values are accepted.
    a, b : array_like
        Lower and upper limits, 1-D of length d >= 1 (a scalar means d = 1), with ``a < b`` in every
        coordinate. Entries may be infinite: ``a[i] = -inf``, ``b[i] = inf`` or both. Each infinite
        coordinate is mapped from t in (0, 1) by

        - [a, inf): ``x = a + t / (1 - t)``, Jacobian ``(1 + x - a)**2``;
        - (-inf, b]: ``x = b - t / (1 - t)``, Jacobian ``(1 + b - x)**2``;
        - (-inf, inf): ``x = tan(pi (t - 1/2))``, Jacobian ``pi (1 + x**2)``.

        These maps have algebraic tails: the transformed integrand stays bounded for any ``f = O(|x|**-2)``
        and has finite variance for any ``f = O(|x|**-(1.5 + eps))``, whatever the shape of the decay
        (the normal-quantile map ``x = Phi^-1(t)`` has infinite variance already for ``exp(-x**2 / 8)``).
        They assume the integrand lives at unit scale (its mass within a few units of the finite limit,
        or of 0); rescale the variables otherwise. A zero value of ``f`` counts as zero even where the
        Jacobian overflows.
    n_points : int
        Points per randomization; a power of 2 for ``method="sobol"`` (ValueError otherwise: the
        balance of a Sobol' net is lost for other sizes).
    n_randomizations : int
        Number of independent randomizations, at least 2 (the standard error needs two).
    method : {"sobol", "halton", "mc"}
        Scrambled Sobol' points (linear matrix scrambling and a digital shift, 30 bits), scrambled Halton
        points (random digit permutations), or pseudo-random uniform points.
    seed : None, int or numpy.random.Generator
        Source of the randomizations; each randomization is seeded from it. The same int (or a Generator
        in the same state) gives the same result.
    args : tuple
        Extra arguments to `f`; a value that is not a tuple is passed as the one extra argument, as in scipy.
    vectorized : bool
        Whether `f` takes all points of a batch at once (see `f`). Both modes give the same numbers for the
        same seed. Points are passed in chunks of at most 2**22 coordinates (32 MB).

    Returns
    -------
    IntegrationResult
        ``integral`` (float, complex or array of f's trailing shape), ``error`` (the standard error),
        ``nfev = n_points * n_randomizations``, ``status`` (0, or 7 if f, or f times the Jacobian of the
        change of variables, was inf or NaN somewhere; then ``success=False`` and an
        :class:`IntegrationWarning` is raised), ``success``, ``message``, and ``estimates`` (the
        per-randomization estimates, shape ``(n_randomizations, ...)``), ``n_randomizations`` and
        ``n_points``.

    See Also
    --------
    scipy.integrate.qmc_quad : the same estimator over finite boxes, for scalar integrands.

    Notes
    -----
    Sobol' points lie on a grid of spacing 2**-30 and are moved to the centres of its cells, which makes the
    estimate unbiased (the grid's corners would bias every coordinate's mean by -2**-31, a bias that can exceed
    the standard error of a very smooth integrand). Points are kept off the faces of the unit cube, so
    neither a finite limit nor an infinite one is evaluated (up to the rounding of ``a + (b - a) t``).

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> f = lambda x: np.prod(np.cos(x), axis=-1)          # integral over [0, 1]^3: sin(1)^3
    >>> res = quadlib.qmc_quad(f, [0, 0, 0], [1, 1, 1], seed=1)
    >>> bool(abs(res.integral - np.sin(1) ** 3) < 4 * res.error), bool(res.error < 1e-6), res.nfev
    (True, True, 65536)
    >>> res = quadlib.qmc_quad(f, [0, 0, 0], [1, 1, 1], method="mc", seed=1)   # plain Monte Carlo
    >>> bool(abs(res.integral - np.sin(1) ** 3) < 4 * res.error), bool(res.error > 1e-4)
    (True, True)

    Infinite limits, and a vector-valued integrand:

    >>> g = lambda x: np.exp(-np.sum(x ** 2, axis=-1))     # over R^3: pi^(3/2)
    >>> res = quadlib.qmc_quad(g, [-np.inf] * 3, [np.inf] * 3, seed=2)
    >>> bool(abs(res.integral - np.pi ** 1.5) < 4 * res.error)
    True
    >>> h = lambda x: np.stack([x[:, 0], x[:, 1]], axis=-1)
    >>> res = quadlib.qmc_quad(h, [0, 0], [1, 2], seed=3)
    >>> np.round(res.integral, 6)                          # [1, 2]
    array([1., 2.])

    References
    ----------
    A. B. Owen, "Randomly permuted (t, m, s)-nets and (t, s)-sequences", Springer (1995).
    P. L'Ecuyer and C. Lemieux, "Recent advances in randomized quasi-Monte Carlo methods", Kluwer (2002).
    """
    (f, a, b, n_points, n_randomizations, method, rng, args,
     vectorized) = _qmc_quad_iv(f, a, b, n_points, n_randomizations, method, seed, args, vectorized)
    d = a.size
    box = _Box(a, b, _OFFSET[method])
    engines = _engines(method, d, n_randomizations, rng)
    integrand = Integrand(f, args, vectorized=vectorized, caller="quadlib.qmc_quad")

    rows = max(1, _CHUNK_ELEMENTS // d)
    if method == "sobol":
        rows = 1 << (rows.bit_length() - 1)  # a power of 2, so it divides n_points or is a multiple of it
    sums = None
    bad_f = False

    def accumulate(t, replicate, whole):
        # `whole`: t holds whole replicates replicate, replicate + 1, ... (n_points rows each)
        nonlocal sums, bad_f
        with np.errstate(over="ignore"):  # an overflowing Jacobian is handled (and reported) below
            x, jac = box(t)
        y = integrand(x)
        y = y.reshape(y.shape[0], -1)
        if not np.isfinite(y).all():
            bad_f = True
        if jac is None:
            g = y
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                g = y * jac[:, None]
            if not np.isfinite(jac).all():
                g[y == 0] = 0  # 0 * inf: f has underflowed where the Jacobian overflowed
        if sums is None:
            sums = np.zeros((n_randomizations, g.shape[1]), dtype=np.result_type(g.dtype, np.float64))
        with np.errstate(over="ignore", invalid="ignore"):  # reported through the non-finite estimates
            if whole:
                k = g.shape[0] // n_points
                sums[replicate:replicate + k] += g.reshape(k, n_points, -1).sum(axis=1)
            else:
                sums[replicate] += g.sum(axis=0)

    if n_points <= rows:
        # small point sets: several randomizations share one call to f
        group = rows // n_points
        for start in range(0, n_randomizations, group):
            stop = min(start + group, n_randomizations)
            accumulate(np.concatenate([engines[r].random(n_points) for r in range(start, stop)]), start, True)
    else:
        for r in range(n_randomizations):
            for first in range(0, n_points, rows):
                accumulate(engines[r].random(min(rows, n_points - first)), r, False)

    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN are reported by the status
        estimates = sums * (box.volume / n_points)
        integral = estimates.mean(axis=0)
        error = estimates.std(axis=0, ddof=1) / np.sqrt(n_randomizations)
    # f was finite, yet the transformed values, their sums or the spread of the estimates were not
    overflow = not (np.isfinite(estimates).all() and np.isfinite(integral).all() and np.isfinite(error).all())
    shape = integrand.value_shape
    estimates = estimates.reshape((n_randomizations,) + shape)
    integral, error = integral.reshape(shape), error.reshape(shape)
    if shape == ():
        integral, error = integral[()], float(error[()])
        integral = complex(integral) if integrand.is_complex else float(integral)
    if bad_f or overflow:
        status, message = 7, MESSAGES[7] if bad_f else _OVERFLOW
    else:
        status, message = 0, MESSAGES[0].format(n_randomizations)
    result = IntegrationResult._fast(integral, error, n_points * n_randomizations, status, status == 0, message,
                                     {"estimates": estimates, "n_randomizations": n_randomizations,
                                      "n_points": n_points})
    return warn_unsuccessful(result)
