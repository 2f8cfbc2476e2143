"""`cubature`: adaptive integration over boxes in d dimensions.

Two deterministic methods, each with an error estimate meant to be an upper bound, and two randomized ones
whose error is a standard error:

* ``"genz_malik"``: h-adaptive bisection with DCUHRE's degree-7 rule (of the Genz–Malik family) and four
  null rules. A region's estimate is Berntsen, Espelid and Genz's: the largest null-rule value in the
  plane of two successive null rules, taken as is when they decrease fast (asymptotic) and five times the
  largest of them otherwise; plus, where a split's halves extrapolate to different values or slopes at
  their common face, the error a jump or kink hidden there (beyond every node) could make. No success is
  claimed on a wave of splits whose halves disagreed with their parent by more than its estimate, or at a
  face (see _extensions/_cubature.pyx).
* ``"sparse_adaptive"``: Gerstner and Griebel's dimension-adaptive sparse grid on nested Clenshaw–Curtis
  (Fejér on mapped infinite axes) rules. The estimate predicts the surpluses still missing from those of
  the level vectors that miss a forward neighbour (the active set, plus any refined vector whose forward
  neighbours were not all admissible yet, which the textbook estimate drops), from the decay of the
  surpluses along each axis where it is clean; where it is not (a kink, a jump), those surpluses count
  whole.
* ``"qmc"`` and ``"mc"``: scrambled Sobol' or plain Monte Carlo points, 16 randomizations.

Both deterministic estimates are floored at QUADPACK's ``50 eps`` times the integral of |f| (the rounding
error of the weighted sums), and a non-finite integral or estimate is a failure (status 9), never a
success. Complex integrands are integrated as their real and imaginary parts.

Measured on Genz's six families (tests/test_cubature.py, asv_bench/genz_honesty_report.py): no silent
failures with `points` at the kinks and jumps. Without `points`, a region on the box's boundary gets one
extra node per outer face, 1e-3 of its half-width inside it, which bounds a jump or kink between its
outermost nodes and the face (nothing lies beyond the box to compare with). Still out of view (5 silent
failures in the protocol's 6000 runs): a feature closer to the boundary than that node or off its axis line
(a corner), a jump next to a cut that none of the compared lines crosses, a peak narrower than the node
spacing. Give `points` for features you know of.
"""
import itertools
import math

import numpy as np

from . import _validation as v
from ._extensions._cubature import GenzMalik
from ._extensions._surplus import SurplusBlocks
from ._integrand import Integrand
from ._result import IntegrationResult, warn_unsuccessful
from ._sparse import LEVEL_RULES

__all__ = ["cubature"]

METHODS = ("auto", "genz_malik", "sparse_adaptive", "qmc", "mc")
_ROUNDING = 50 * np.finfo(float).eps  # QUADPACK's rounding floor, relative to the integral of |f|
_ABS_RTOL = 1e-3  # how far the sparse grids' integral of |f| must settle on an infinite box
MESSAGES = {
    0: "converged",
    1: "the 1-D rules ran out of levels",
    2: "roundoff: the integral is zero to within the rounding error of the sums (50 eps times the integral "
       "of |f|), so only `atol` can be met",
    5: "the integral appears divergent (or converges too slowly): the subdivision reached the infinite end "
       "of the range at the rounding level",
    6: "max_nfev reached before the tolerance was met",
    7: "the integrand returned inf or NaN",
    9: "overflow: the integrand's values are finite, but their product with the Jacobian of the map of an "
       "infinite range, the integral or its error estimate is not; rescale the integrand",
}
_DIVERGENT = "; the range is infinite, and the integral appears divergent (or converges too slowly)"


class _Mapped:
    """f on the finite box of the variable t, where each infinite coordinate of x is mapped:
    [a, inf): x = a + t / (1 - t) and (-inf, b]: x = b - t / (1 - t), t in [0, 1), Jacobian
    1 / (1 - t)^2; (-inf, inf) with ``split=True``: both halves, x = t / (1 - t) and x = -t / (1 - t) on
    [0, 1), and with ``split=False``: x = t / (1 - t^2) on (-1, 1), Jacobian (1 + t^2) / (1 - t^2)^2.
    The Jacobian multiplies the values.

    Split, the integrals over the 2^k orthants of the k axes infinite at both ends are separate
    components, each of which must converge (Genz–Malik). Mapped whole, a symmetric rule cancels an odd
    integrand such as x_1 to an exact, "converged" zero although the integral diverges; the sparse grids,
    whose symmetric rules are much more efficient on the whole line, map it whole and check that the
    integral of |f| settles instead. Complex values are carried as real and imaginary parts. The values
    handed to the rules have ``m * parts`` columns, user component j owning columns ``j * parts`` to
    ``(j + 1) * parts - 1`` (orthant-major, then real and imaginary part): see `combine`.
    """

    def __init__(self, f, a, b, args, split=True):
        self.both = ~np.isfinite(a) & ~np.isfinite(b)
        self.upper = np.isfinite(a) & ~np.isfinite(b)
        self.lower = ~np.isfinite(a) & np.isfinite(b)
        self.a, self.b = a, b
        self.split = split
        self.any = bool(self.both.any() or self.upper.any() or self.lower.any())
        self.ta = np.where(self.both & (not split), -1.0, np.where(self.both | self.upper | self.lower, 0.0, a))
        self.tb = np.where(self.both | self.upper | self.lower, 1.0, b)
        k = int(np.count_nonzero(self.both)) if split else 0
        # one row of signs per orthant of the axes infinite at both ends
        self.signs = np.array(list(itertools.product((1.0, -1.0), repeat=k))).reshape(2 ** k, k)
        self.orthants = 2 ** k
        self.integrand = Integrand(f, args, value_ndim=1, caller="quadlib.cubature")
        self.m = None           # the user's components

    @property
    def is_complex(self):
        return self.integrand.is_complex

    @property
    def parts(self):
        return self.orthants * (2 if self.is_complex else 1)

    def to_t(self, i, x):
        """The mapped coordinate of x along axis i (inverse of the change of variables); for an axis
        split at 0 the cut applies to both halves."""
        if self.both[i] and self.split:
            return abs(x) / (1 + abs(x))
        if self.both[i]:
            return 0.0 if x == 0 else (np.sqrt(1 + 4 * x * x) - 1) / (2 * x)
        if self.upper[i]:
            return (x - self.a[i]) / (1 + x - self.a[i])
        if self.lower[i]:
            return (self.b[i] - x) / (1 + self.b[i] - x)
        return x

    def __call__(self, t):
        n = t.shape[0]
        x, jac = t, None
        if self.any:
            x = t.copy()
            with np.errstate(divide="ignore", over="ignore"):
                step = t / (1 - t)
                if self.split:
                    jac = np.prod(1.0 / (1 - t[:, ~np.isfinite(self.a) | ~np.isfinite(self.b)]) ** 2, axis=1)
                else:
                    jac = np.prod(1.0 / (1 - t[:, self.upper | self.lower]) ** 2, axis=1)
                    u = t[:, self.both]
                    step[:, self.both] = u / (1 - u * u)
                    jac = jac * np.prod((1 + u * u) / (1 - u * u) ** 2, axis=1)
            x[:, self.upper] = self.a[self.upper] + step[:, self.upper]
            x[:, self.lower] = self.b[self.lower] - step[:, self.lower]
            if self.orthants > 1:
                x = np.repeat(x[None], self.orthants, axis=0)
                x[:, :, self.both] = self.signs[:, None, :] * step[None, :, self.both]
                x = x.reshape(self.orthants * n, -1)
            else:
                x[:, self.both] = step[:, self.both]
            if not np.all(np.isfinite(x)):
                # t has come within rounding of 1: the refinement chased the integrand to infinity
                raise _ReachedInfinity
        y = self.integrand(x)
        self.raw_finite = bool(np.all(np.isfinite(y)))  # else the values given are the culprit, not the map
        self.m = y.shape[1] if y.ndim == 2 else 1
        # (orthant, point, component[, real/imaginary part]) -> (point, component, orthant[, part])
        y = self.integrand.real_columns(y).reshape(self.orthants, n, self.m, -1)
        y = np.moveaxis(y, 0, 2).reshape(n, -1)
        if jac is not None:
            with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported with the result
                y = y * jac[:, None]
        return np.ascontiguousarray(y)

    def failure(self):
        """Status and message for values that are not all finite."""
        return (7, MESSAGES[7]) if not self.raw_finite else (9, MESSAGES[9])

    def combine(self, totals):
        """The user's integral (m,), and the sum of the moduli of its parts' integrals (m,), the scale a
        relative tolerance refers to, from the column totals (m * parts,)."""
        parts = np.asarray(totals, dtype=float).reshape(self.m, self.orthants, -1)
        if self.is_complex:
            parts = parts[..., 0] + 1j * parts[..., 1]
        else:
            parts = parts[..., 0]
        return parts.sum(axis=1), np.abs(parts).sum(axis=1)

    def group_sum(self, columns):
        """Per user component, the sum over its parts of the (non-negative) column quantities."""
        return np.asarray(columns, dtype=float).reshape(self.m, self.parts).sum(axis=1)


def _initial_boxes(ta, tb, points, mapped):
    """The grid of boxes cut by the per-axis breakpoints (in the mapped variable t)."""
    cuts = []
    for i in range(ta.size):
        inner = []
        if points is not None and points[i] is not None:
            for p in np.atleast_1d(np.asarray(points[i], dtype=float)):
                if not np.isfinite(p):
                    raise ValueError("`points` must be finite")
                t = mapped.to_t(i, p)
                if ta[i] < t < tb[i]:
                    inner.append(t)
        cuts.append(np.unique(np.r_[ta[i], inner, tb[i]]))
    lows = np.stack(np.meshgrid(*[c[:-1] for c in cuts], indexing="ij"), -1).reshape(-1, ta.size)
    highs = np.stack(np.meshgrid(*[c[1:] for c in cuts], indexing="ij"), -1).reshape(-1, ta.size)
    return np.ascontiguousarray(lows), np.ascontiguousarray(highs)


def _cubature_iv(f, a, b, rtol, atol, method, max_nfev, args, batch, points):
    v.callable_(f, "f")
    a, b = v.box(a, b)
    if points is not None:
        points = list(points)
        if len(points) != a.size:
            raise ValueError(f"`points` must give one sequence of breakpoints per dimension ({a.size}), "
                             f"got {len(points)}")
    atol, rtol = v.tolerances(atol, rtol)
    v.choice(method, METHODS, "method")
    max_nfev = v.max_nfev(max_nfev)
    batch = v.positive_int(batch, "batch", maximum=1 << 16)
    args = v.args_tuple(args)
    return f, a, b, rtol, atol, method, max_nfev, args, batch, points


def cubature(f, a, b, *, rtol=1e-8, atol=0.0, method="auto", max_nfev=1_000_000, args=(), batch=64,
             points=None, seed=None):
    """Integrate ``f`` over a box, the product of the intervals ``[a_k, b_k]`` (limits may be infinite).

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` with ``x`` of shape (N, d), returning real or complex values of shape (N,) or
        (N, m) (vector-valued); any other shape is a ValueError.
    a, b : array_like, shape (d,)
        Limits, real numbers with ``a < b`` in every coordinate; infinite ones are mapped onto finite
        intervals. An axis infinite at both ends is split at 0 by ``"genz_malik"``, whose orthants are
        integrated as separate parts that must each converge (the relative tolerance then refers to the
        sum of the moduli of the orthants' integrals); the sparse grids map it whole, and require the
        integral of ``|f|`` to settle as well (to ``max(rtol, 1e-3)``). Either way, a divergent integral
        such as that of ``x_1`` over the plane fails instead of cancelling to 0.
    rtol, atol : float
        Stop when the error estimate is below ``max(atol, rtol * |integral|)`` (largest component). The
        estimate is never below the rounding error of the sums, ``50 eps`` times the integral of ``|f|``
        (QUADPACK's floor), so an integral that cancels to zero can only meet `atol`.
    method : {"auto", "genz_malik", "sparse_adaptive", "qmc", "mc"}
        ``"auto"`` (default): ``"genz_malik"`` when `points` are given, else ``"sparse_adaptive"``.
        ``"genz_malik"``: globally adaptive bisection with DCUHRE's degree-7 rule and four null rules
        (``2^d + 2d^2 + 4d + 1`` points per region), which also checks each cut for a jump or kink
        between the nodes. Robust on peaks and kinks; its cost per region grows like ``2^d``, so it suits
        d up to about 10.
        ``"sparse_adaptive"``: dimension-adaptive sparse grid (Gerstner–Griebel), error from the
        hierarchical surpluses. Far fewer evaluations on smooth integrands, especially with few important
        dimensions; slow on sharp peaks, and `points` are ignored.
        ``"qmc"``, ``"mc"``: scrambled Sobol' or plain Monte Carlo with 16 independent randomizations,
        the points per randomization quadrupled from 1024 until the standard error meets the tolerance.
        The error reported is that **standard error**, not a bound (``result.standard_error`` is True).
    max_nfev : int
        Bound on the number of integrand evaluations (points), at most 10**9.
    args : tuple
        Extra arguments of `f`; a value that is not a tuple is passed as the one extra argument, as in scipy.
    batch : int
        Up to this many regions are bisected per call of `f` (those whose error is at least half the
        largest).
    points : sequence of sequences, optional
        Per dimension, coordinates where `f` has a kink or jump: the box is first cut there (as
        scipy's cubature does), since a feature between a region's nodes cannot be seen. Used by
        ``"genz_malik"`` only.
    seed : None, int or numpy.random.Generator
        For ``"qmc"`` and ``"mc"``.

    Returns
    -------
    IntegrationResult
        ``integral`` (complex for a complex f), ``error``, ``nfev``, ``status``, ``success``, ``message``,
        and ``n_regions`` (``"genz_malik"``), ``n_levels`` (``"sparse_adaptive"``, the number of level
        vectors) or ``standard_error`` (``"qmc"``, ``"mc"``). Status: 0 converged; 1 the 1-D rules ran
        out of levels; 2 the integral is zero to within rounding (only `atol` can be met); 5 the
        subdivision reached the infinite end of a range (the integral appears divergent); 6 `max_nfev`
        reached (on an infinite box the message adds that the integral appears divergent or converges too
        slowly); 7 f returned inf or NaN; 9 overflow (finite values whose mapped values, integral or error
        estimate are not). Any status but 0 has ``success=False`` and warns with an
        :class:`IntegrationWarning`.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> res = quadlib.cubature(lambda x: np.exp(-np.sum(x * x, axis=1)), [-np.inf] * 3, [np.inf] * 3)
    >>> bool(abs(res.integral - np.pi ** 1.5) <= res.error <= 1e-8 * np.pi ** 1.5), res.success
    (True, True)

    The null-rule estimate of ``"genz_malik"`` is that of a degree-5 rule (pessimistic for the degree-7 rule it
    bounds), so it suits moderate tolerances; it is the method that uses `points`:

    >>> f = lambda x: np.abs(x[:, 0] - 0.3) * np.exp(x[:, 1])
    >>> res = quadlib.cubature(f, [0, 0], [1, 1], rtol=1e-6, points=[[0.3], []])
    >>> bool(abs(res.integral - 0.29 * (np.e - 1)) <= res.error), res.success
    (True, True)

    A smooth integrand in 6 dimensions with a dimension-adaptive sparse grid:

    >>> res = quadlib.cubature(lambda x: np.cos(x.sum(axis=1)), [0] * 6, [1] * 6, rtol=1e-10,
    ...                        method="sparse_adaptive")
    >>> exact = np.cos(3) * np.sinc(0.5 / np.pi) ** 6  # Re e^{i 6/2} (sin(1/2)/(1/2))^6
    >>> bool(abs(res.integral - exact) <= res.error <= 1e-10 * abs(exact)), res.nfev < 100_000
    (True, True)

    References
    ----------
    T. Gerstner and M. Griebel, "Dimension-adaptive tensor-product quadrature", Computing 71 (2003).
    A. C. Genz and A. A. Malik, "An adaptive algorithm for numerical integration over an N-dimensional
    rectangular region", J. Comput. Appl. Math. 6 (1980).
    J. Berntsen, T. O. Espelid and A. Genz, "An adaptive algorithm for the approximate calculation of
    multiple integrals", ACM TOMS 17 (1991) 437-451 (DCUHRE); J. Berntsen and T. O. Espelid, "Error
    estimation in automatic quadrature routines", ACM TOMS 17 (1991) 233-252.
    """
    f, a, b, rtol, atol, method, max_nfev, args, batch, points = _cubature_iv(f, a, b, rtol, atol, method,
                                                                              max_nfev, args, batch, points)
    if method in ("qmc", "mc"):
        return warn_unsuccessful(_randomized(f, a, b, args, rtol, atol, max_nfev, method, seed))
    if method == "auto":
        method = "genz_malik" if points is not None else "sparse_adaptive"
    if method == "sparse_adaptive":
        return warn_unsuccessful(_dimension_adaptive(_Mapped(f, a, b, args, split=False), rtol, atol, max_nfev))
    mapped = _Mapped(f, a, b, args)
    return warn_unsuccessful(_genz_malik(mapped, points, rtol, atol, max_nfev, batch))


def _finish(mapped, columns, error, nfev, status, message, extra):
    """The IntegrationResult from the column totals: the user's integral, and overflow or divergence
    said in the message."""
    if mapped.m is None or columns is None:  # nothing (finite) was evaluated
        return IntegrationResult(np.nan, np.inf, int(nfev), status, False, message, extra=extra)
    integral, _ = mapped.combine(columns)
    if status == 0 and not (np.all(np.isfinite(integral)) and np.isfinite(error)):
        status, message = 9, MESSAGES[9]
    if status in (7, 9):
        error = np.inf  # the estimate was formed from values that are not finite
    if status in (1, 6) and mapped.any:
        message += _DIVERGENT
    value = integral[0] if integral.size == 1 else integral
    return IntegrationResult(value, float(error), int(nfev), status, status == 0, message, extra=extra)


_MAPPED_SAFETY = 2.0
# ... and, there, no success before each orthant is cut into this many regions: a peak of the mapped integrand
# inside one region can fool both rules of the pair (a Gaussian on R^2 was accepted 8x below its error on one
# region per orthant)
_MAPPED_MIN_REGIONS = 16


def _genz_malik(mapped, points, rtol, atol, max_nfev, batch):
    """Globally adaptive Genz–Malik cubature of the mapped integrand (see _extensions/_cubature.pyx)."""
    lows, highs = _initial_boxes(mapped.ta, mapped.tb, points, mapped)
    orthants = mapped.orthants  # f is evaluated at this many x per point t
    budget = max_nfev // orthants
    state = GenzMalik(lows, highs, orthants, batch, orthants)
    status, message = 6, MESSAGES[6]
    first, seen = True, False
    columns, error, n_regions = np.zeros(orthants), np.inf, 0
    while True:
        t = state.request(budget)
        if not t.shape[0]:
            break
        try:
            y = mapped(t)
        except _ReachedInfinity:
            status, message = 5, MESSAGES[5]
            break
        if first and y.shape[1] != orthants:  # vector-valued or complex: start again with room for them
            state = GenzMalik(lows, highs, y.shape[1], batch, mapped.parts)
            state.request(budget)
        first = False
        if not np.all(np.isfinite(y)):
            status, message = mapped.failure()
            state.nfev += y.shape[0]
            break
        state.receive(y)
        seen = seen or bool(np.any(y != 0))
        columns, error, n_regions = state.totals()
        # an infinite range mapped to a box makes the integrand rougher near the mapped ends, where the
        # rule's estimate was seen to understate the error by up to 1.3x (a Gaussian on R^2 at rtol 1e-4): a
        # safety factor of 2 there
        error = _MAPPED_SAFETY * error if mapped.any else error
        _, scale = mapped.combine(columns)
        tolerance = max(atol, rtol * np.max(scale))
        # a parent/children disagreement far below the tolerance cannot matter: it does not block success
        state.floor = 1e-3 * tolerance
        if not (np.all(np.isfinite(columns)) and np.isfinite(error)):
            status, message = 9, MESSAGES[9]
            break
        # an integrand that was zero at every point so far has not been seen at all: keep refining; and a
        # wave of splits that revealed an estimate below the truth (state.disagreed) is not the last one
        if seen and error <= tolerance and not state.disagreed and \
                (not mapped.any or n_regions >= _MAPPED_MIN_REGIONS * orthants):
            status, message = 0, MESSAGES[0]
            break
    if status in (7, 9) and not n_regions:
        columns, error = np.full(mapped.parts * (mapped.m or 1), np.nan), np.inf
    return _finish(mapped, columns, error, state.nfev * orthants, status, message, {"n_regions": int(n_regions)})


class _Nested1D:
    """One dimension of a dimension-adaptive grid: the nested 1-D rules of levels 0, 1, ... with node ids
    in order of first appearance, so the nodes new at level l are ids count[l-1] .. count[l] - 1, and
    the difference weights D_l = w_l - w_(l-1) as dense vectors over ids 0 .. count[l] - 1."""

    def __init__(self, rule, lo, hi):
        family = LEVEL_RULES[rule]
        self.make, self.limit = family.make, family.max_level
        self.lo, self.hi = lo, hi
        self.values = []          # node coordinates, by id
        self.index = {}           # coordinate -> id
        self.count = []           # number of nodes up to level l
        self.diff = []            # D_l over ids 0 .. count[l] - 1
        self._previous = np.zeros(0)

    def ensure(self, level):
        if level > self.limit:
            raise OverflowError(level)
        while len(self.count) <= level:
            l = len(self.count)
            try:
                rule = self.make(l)
            except ValueError:  # more nodes than a 1-D rule may have (10^6: Clenshaw–Curtis level 20)
                raise OverflowError(l) from None
            scale = (self.hi - self.lo) / (rule.domain[1] - rule.domain[0])
            x = self.lo + (rule.nodes - rule.domain[0]) * scale
            for xi in x.tolist():
                if xi not in self.index:
                    self.index[xi] = len(self.values)
                    self.values.append(xi)
            weights = np.zeros(len(self.values))
            weights[[self.index[xi] for xi in x.tolist()]] = rule.weights * scale
            diff = weights.copy()
            diff[:self._previous.size] -= self._previous
            self._previous = weights
            self.count.append(len(self.values))
            self.diff.append(diff)

    def new(self, level):
        """Coordinates of the nodes new at `level`."""
        start = self.count[level - 1] if level else 0
        return np.array(self.values[start:self.count[level]])

    def weights(self, level, block):
        """D_level restricted to the nodes new at level `block` (<= level)."""
        start = self.count[block - 1] if block else 0
        return self.diff[level][start:self.count[block]]


class _OutOfBudget(Exception):
    pass


class _ReachedInfinity(Exception):
    """A point of the mapped box rounds onto an infinite limit (see _Mapped.__call__)."""


# The remaining-error model of the dimension-adaptive grid (see _dimension_adaptive). A ratio of successive
# surpluses along an axis above this is not a clean decay: the axis gets no credit.
_CLEAN_DECAY = 0.5
# The predicted tails are multiplied by this: the decay ratios come from a product model, and on Genz's
# corner peak (not a product) the prediction alone was up to 3x below the true error in d = 2.
_CREDIT_SAFETY = 6.0
# ... and where the last ratios are not a clean decay (a kink, a jump: erratic ratios around 1/4 or 1/2),
# the surpluses still missing along that axis are taken as this many times the frontier's: their sum
# was up to 1.2x the frontier's on Genz's continuous family (d = 2) and equal to it on a product peak.
_NOT_DECAYING = 2.0
# The estimate is formed again only when nfev has grown by this factor since it was last formed: it costs
# O(frontier * d), which per refinement step was a quarter of the run on a d = 5 Gaussian peak.
_ESTIMATE_GROWTH = 1.05


def _cartesian(axes):
    """The tensor grid of the 1-D node arrays, one point per row, the last axis fastest (as
    ``np.meshgrid(*axes, indexing="ij")`` stacked; a third of its time on the grids' many small blocks)."""
    sizes = [x.size for x in axes]
    n = math.prod(sizes)
    grid = np.empty((n, len(axes)))
    if not n:
        return grid
    inner, outer = n, 1
    for i, x in enumerate(axes):
        inner //= sizes[i]
        grid[:, i] = x[0] if sizes[i] == 1 else np.tile(np.repeat(x, inner), outer)
        outer *= sizes[i]
    return grid


def _tail_factors(num, den, noise):
    """Per axis j and level l, the predicted sum of |surplus| over the levels l + 1, l + 2, ... along j,
    relative to |surplus| at level l; 1 (no credit) on an axis whose decay is not clean.

    ``num[j, l] / den[j, l]`` is the decay ratio from level l to l + 1 along j: the sums, over the pairs
    (k, k - e_j) with ``k_j = l + 1`` on the grid, of ``|s(k)|`` and ``|s(k - e_j)|`` (for a product
    integrand every pair gives the same ratio, that of its 1-D factor). The sequence of ratios stops at the
    first level whose surpluses are at the rounding level `noise`. The decay is clean when the last two
    ratios are below ``_CLEAN_DECAY`` and not growing (Clenshaw–Curtis on an analytic integrand: the
    ratios fall level after level); the levels beyond are then extrapolated with the last ratio. Else
    (a kink, a jump, a peak not yet resolved) the axis gets no credit, and the surpluses still missing along
    it are taken as ``_NOT_DECAYING`` times the frontier's; an axis with fewer than two ratios, as the
    frontier's (factor 1).
    """
    d, n = num.shape
    factors = np.ones((d, n + 2))
    for j in range(d):
        cut = 0
        while cut < n and num[j, cut] > noise and den[j, cut] > 0:
            cut += 1
        if cut < 2:
            continue
        rho = num[j, :cut] / den[j, :cut]
        last = cut - 1
        if not (rho[last] < _CLEAN_DECAY and rho[last - 1] < _CLEAN_DECAY and rho[last] <= rho[last - 1]):
            factors[j] = _NOT_DECAYING
            continue
        tail = rho[last] / (1.0 - rho[last])
        factors[j, last + 1:] = tail
        for l in range(last, -1, -1):
            tail = rho[l] * (1.0 + tail)
            factors[j, l] = tail
    return factors


def _dimension_adaptive(mapped, rtol, atol, max_nfev):
    """Gerstner & Griebel's dimension-adaptive sparse grid: grow a downward-closed set of level vectors,
    each new one where the hierarchical surplus of its neighbours is largest.

    The values are kept in blocks, one per level vector k: f on the nodes new at level k_i in every
    dimension i. Every point lies in exactly one block (the rules are nested), so nothing is evaluated
    twice, and the surplus of k is the sum over the blocks k' <= k of the block contracted with the
    difference weights D_(k_i) restricted to the block's nodes.

    The integral includes the surpluses of every level vector on the grid, so the error is what the
    missing ones would add. The error estimate predicts it from the frontier (the vectors k with a forward
    neighbour k + e_j missing): ``|s(k)| * min(1, sum over the missing j of T_j(k_j))``, where T_j(l) is the
    tail of the surpluses beyond level l along axis j relative to level l, from the measured decay ratios
    along j (`_tail_factors`). Where the decay is clean (ratios at most 1/2 and falling: an analytic
    integrand) the estimate is far below the frontier's surpluses, which it was before (5e5 times the true
    error on a d = 5 Gaussian peak); where it is not (a kink, a jump, a peak not yet resolved), T = 1 and
    the frontier surpluses must be below the tolerance outright.

    T. Gerstner and M. Griebel, "Dimension-adaptive tensor-product quadrature", Computing 71 (2003).
    """
    import heapq

    d = mapped.ta.size
    rule = "fejer" if mapped.any else "clenshaw_curtis"
    dims = [_Nested1D(rule, mapped.ta[i], mapped.tb[i]) for i in range(d)]
    levels = dims[0].limit + 1  # the 1-D rules' levels: bounds the decay tables
    blocks = set()
    store = None
    state = {"nfev": 0, "seen": False}
    orthants = mapped.orthants  # f is evaluated at this many x per grid point

    def add_block(k):
        nonlocal store
        for i in range(d):
            if len(dims[i].count) <= k[i]:
                dims[i].ensure(k[i])
                if store is not None:
                    store.set_dimension(i, dims[i].count, dims[i].diff)
        axes = [dims[i].new(k[i]) for i in range(d)]
        if state["nfev"] + orthants * math.prod(x.size for x in axes) > max_nfev:
            raise _OutOfBudget
        grid = _cartesian(axes)
        y = mapped(grid)
        state["nfev"] += orthants * grid.shape[0]
        if not np.all(np.isfinite(y)):
            raise FloatingPointError
        # the sum of |f| over each user component's parts rides along: its integral sets the rounding floor
        y = np.hstack([y, np.abs(y).reshape(y.shape[0], mapped.m, -1).sum(axis=2)])
        if store is None:  # the first block tells the number of components
            store = SurplusBlocks(d, y.shape[1])
            for i in range(d):
                store.set_dimension(i, dims[i].count, dims[i].diff)
        state["seen"] = state["seen"] or bool(np.any(y != 0))
        store.add(k, y)
        blocks.add(k)

    def forwards(k):
        return [k[:i] + (k[i] + 1,) + k[i + 1:] for i in range(d)]

    def backwards(k):
        return [k[:i] + (k[i] - 1,) + k[i + 1:] for i in range(d) if k[i]]

    active, old = set(), set()
    # The frontier: the level vectors with a forward neighbour still missing (bit j of `missing[k]` set while
    # k + e_j is). That is the active set plus any refined vector whose forward neighbours were not all
    # admissible yet; the textbook estimate (active set only) drops those and was fooled by peaks.
    frontier, missing, by_size = {}, {}, []
    frontier_abs = {}  # the same for the integral of |f|
    norm = {}  # |surplus| of every vector on the grid (the largest user component's)
    num, den = np.zeros((d, levels)), np.zeros((d, levels))  # the decay ratios' sums (_tail_factors)
    total = [None]

    def insert(k):
        add_block(k)
        g = store.surplus(k)
        total[0] = g.copy() if total[0] is None else total[0] + g
        active.add(k)
        # the error of a user component is at most the sum of its parts' errors
        norm[k] = frontier[k] = float(np.max(mapped.group_sum(np.abs(g[:mapped.m * mapped.parts]))))
        frontier_abs[k] = np.abs(g[mapped.m * mapped.parts:])
        missing[k] = sum(1 << j for j, x in enumerate(forwards(k)) if x not in blocks)
        for j in range(d):
            if k[j]:
                num[j, k[j] - 1] += norm[k]
                den[j, k[j] - 1] += norm[k[:j] + (k[j] - 1,) + k[j + 1:]]
        # refine the largest surplus first; on an infinite box that of |f| counts, scaled to its looser
        # tolerance, so that an f whose surpluses vanish by symmetry is still refined where |f| is not done
        priority = frontier[k]
        if mapped.any:
            priority += float(np.max(frontier_abs[k])) * rtol / max(rtol, _ABS_RTOL)
        heapq.heappush(by_size, (-priority, k))
        for j, b in enumerate(k[:i] + (k[i] - 1,) + k[i + 1:] for i in range(d)):
            if k[j] and b in missing:
                missing[b] &= ~(1 << j)
                if not missing[b]:
                    del missing[b]
                    frontier.pop(b, None)
                    frontier_abs.pop(b, None)

    def refine(k):
        active.discard(k)
        old.add(k)
        for j in forwards(k):
            if j not in blocks and all(b in old for b in backwards(j)):
                insert(j)

    def blocker(k):
        """An active vector whose refinement brings a missing forward neighbour of k closer to admissible:
        refining the largest surplus alone can leave a large frontier term blocked behind small ones."""
        x = next(j for j in forwards(k) if j not in blocks)
        for _ in range(sum(x) + 1):  # each step lowers |x| by one
            pending = [b for b in backwards(x) if b not in old]
            if not pending:
                return x  # admissible but missing: cannot happen unless a rule ran out of levels
            inside = [b for b in pending if b in active]
            if inside:
                return inside[0]
            x = pending[0]
        raise RuntimeError("unreachable: the index set is downward closed")

    def estimate():
        """The error estimate (the predicted remaining surpluses, at least QUADPACK's rounding floor
        50 eps int|f|), the tolerance it is held to, and whether the integral of |f| has settled.

        On an infinite box the integral of |f| must settle too (its frontier within max(rtol, 1e-3) of
        it): a divergent integral whose symmetric parts cancel (an odd f on the real line) has surpluses
        of exactly zero, while those of |f| grow. This also fails a merely conditionally convergent one."""
        columns = total[0][:mapped.m * mapped.parts]
        absolute = np.abs(total[0][mapped.m * mapped.parts:])
        _, scale = mapped.combine(columns)
        rounding = _ROUNDING * float(np.max(absolute))
        keys = list(frontier)
        vectors = np.array(keys, dtype=np.intp).reshape(len(keys), d)
        gaps = (np.array([missing[k] for k in keys], dtype=np.int64)[:, None] >> np.arange(d)) & 1
        factors = _tail_factors(num, den, rounding)
        tails = gaps * factors[np.arange(d), vectors]
        credit = np.where(np.max(tails, axis=1) >= _NOT_DECAYING, _NOT_DECAYING,
                          np.minimum(1.0, _CREDIT_SAFETY * np.sum(tails, axis=1)))
        remaining = math.fsum(np.array([frontier[k] for k in keys]) * credit)
        state["rounding_bound"] = remaining <= rounding
        settled = True
        if mapped.any:
            spread = np.sum(list(frontier_abs.values()), axis=0) if frontier_abs else np.zeros_like(absolute)
            settled = bool(np.all(spread <= np.maximum(atol, max(rtol, _ABS_RTOL) * absolute)))
        return max(remaining, rounding), max(atol, rtol * float(np.max(scale))), settled

    status, message = 6, MESSAGES[6]
    error = np.inf
    checked = 0  # nfev when the estimate was last formed
    try:
        insert((0,) * d)
        while True:
            if state["nfev"] >= _ESTIMATE_GROWTH * checked or state["nfev"] >= max_nfev or not by_size:
                checked = state["nfev"]
                error, tolerance, settled = estimate()
                if not (np.all(np.isfinite(total[0])) and np.isfinite(error)):
                    status, message = 9, MESSAGES[9]
                    break
                if state["seen"] and error <= tolerance and settled:
                    status, message = 0, MESSAGES[0]
                    break
                if state["seen"] and settled and state["rounding_bound"] and \
                        np.all(np.abs(mapped.combine(total[0][:mapped.m * mapped.parts])[0]) <= error):
                    status, message = 2, MESSAGES[2]  # refining cannot lower the rounding floor
                    break
            if state["nfev"] >= max_nfev:
                break
            while by_size and by_size[0][1] not in frontier:
                heapq.heappop(by_size)
            if not by_size:
                break
            top = by_size[0][1]
            if top in active:
                refine(top)
            else:
                target = blocker(top)
                refine(target) if target in active else insert(target)
    except OverflowError:
        status, message = 1, MESSAGES[1]
        error = estimate()[0]
    except _OutOfBudget:  # the next block would pass max_nfev
        if total[0] is not None:
            error = estimate()[0]
    except FloatingPointError:
        status, message = mapped.failure()
        error = np.inf
    except _ReachedInfinity:
        status, message = 5, MESSAGES[5]
        if total[0] is not None:
            error = estimate()[0]
    if total[0] is None:
        return _finish(mapped, None, np.inf, state["nfev"], status, message, {"n_levels": 0})
    columns = total[0][:mapped.m * mapped.parts]
    if status in (7, 9) and not np.all(np.isfinite(columns)):
        error = np.inf
    return _finish(mapped, columns, error, state["nfev"], status, message, {"n_levels": len(blocks)})


def _randomized(f, a, b, args, rtol, atol, max_nfev, method, seed):
    """qmc_quad with 16 randomizations, the points per randomization quadrupled until the standard
    error meets the tolerance. The error reported is that standard error (not a bound)."""
    from ._montecarlo import qmc_quad

    rng = np.random.default_rng(seed)
    n, randomizations, nfev = 2 ** 10, 16, 0
    result = None
    while nfev + n * randomizations <= max_nfev:
        result = qmc_quad(f, a, b, n_points=n, n_randomizations=randomizations, args=args, seed=rng,
                          method="sobol" if method == "qmc" else "mc")
        nfev += result.nfev
        if not result.success:
            return IntegrationResult._fast(result.integral, result.error, nfev, result.status, False,
                                           result.message, {"standard_error": True})
        if np.max(result.error) <= max(atol, rtol * np.max(np.abs(result.integral))):
            return IntegrationResult._fast(result.integral, result.error, nfev, 0, True,
                                           "converged (the error is a standard error)", {"standard_error": True})
        n *= 4
    message = MESSAGES[6] + (_DIVERGENT if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))) else "")
    if result is None:
        return IntegrationResult._fast(np.nan, np.inf, 0, 6, False, message, {"standard_error": True})
    return IntegrationResult._fast(result.integral, result.error, nfev, 6, False, message, {"standard_error": True})
