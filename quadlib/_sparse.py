"""Multi-dimensional rules: tensor products and Smolyak sparse grids, as d-dimensional `Rule` values.

A p-dimensional product of n-point rules costs n^p evaluations; a Smolyak sparse grid of level L reaches
polynomial exactness of total degree comparable to the 1-D level-L rule with far fewer points (801 against
33^5 = 39 million for Clenshaw–Curtis in five dimensions at level 4).

Level convention (the usual one; Gerstner & Griebel 1998, Novak & Ritter 1996): 1-D levels count from 0,
and the isotropic grid of level L in d dimensions combines the tensor rules of levels l with
l_1 + ... + l_d <= L. The 1-D rule of level l has

================  ==============================  ======
rule              points at level l               nested
================  ==============================  ======
clenshaw_curtis   1, then 2^l + 1                 yes
fejer             2^(l+1) - 1 (Fejér type 2)      yes
gauss_patterson   2^(l+1) - 1                     yes
genz_keister      1, 3, 9, 19, 35 (l <= 4)        yes
leja              2 l + 1                          yes
gauss_legendre    l + 1                           no
gauss_hermite     l + 1 (normal weight)           no
================  ==============================  ======

References
----------
S. A. Smolyak, "Quadrature and interpolation formulas for tensor products of certain classes of
functions", Soviet Math. Dokl. 4 (1963).
T. Gerstner and M. Griebel, "Numerical integration using sparse grids", Numer. Algorithms 18 (1998).
E. Novak and K. Ritter, "High dimensional integration of smooth functions over cubes", Numer. Math. 75 (1996).
"""
import collections
import functools
import itertools
import math
import numbers
import operator

import numpy as np

from . import _validation as v
from ._extensions._smolyak import count_points, enumerate_points, smolyak_weights
from ._gauss import gauss_hermite, gauss_legendre
from ._nested import clenshaw_curtis, fejer, gauss_patterson, genz_keister
from ._rule import Rule

__all__ = ["product_rule", "sparse_grid", "leja"]

MAX_POINTS = 10_000_000  # the default memory guard: 10^7 points of d doubles
MAX_DIM = 10_000
MAX_COORDINATES = 10 ** 8  # points x dimensions: the node array (800 MB) and its node ids
MAX_COST = 1000  # level * min(anisotropy) / gcd: the length of the weights' dynamic programme


def _size_guard(count, dim, max_points):
    described = f"{count:.0f}" if count < _COUNT_CAP else f"over {_COUNT_CAP:.2g}"
    if count > max_points:
        raise ValueError(f"the sparse grid would have {described} points, more than `max_points`={max_points}")
    if count * dim > MAX_COORDINATES:
        raise ValueError(f"the sparse grid would have {described} points of `dim`={dim} coordinates, more than "
                         f"{MAX_COORDINATES:.0e} in all; lower `level` or `dim`")


def product_rule(rules, *, max_points=MAX_POINTS):
    """The tensor product of 1-D rules, as a d-dimensional Rule (nodes of shape (N, d)).

    Parameters
    ----------
    rules : sequence of Rule
        One 1-D rule per dimension, at most ``MAX_DIM`` (10^4) of them.
    max_points : int
        Refuse products with more points than this (``n^d`` grows fast); products with more than
        ``MAX_COORDINATES`` (10^8) coordinates in all are refused whatever it is.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> rule = quadlib.product_rule([quadlib.gauss_legendre(5)] * 3)
    >>> rule.nodes.shape
    (125, 3)
    >>> round(float(rule.integrate(lambda x: np.exp(x.sum(axis=1)), [0, 0, 0], [1, 1, 1])), 12)  # (e - 1)^3
    5.073214111767
    """
    if isinstance(rules, (str, bytes)) or not hasattr(rules, "__iter__"):
        raise TypeError("`rules` must be a non-empty sequence of 1-D Rule objects")
    rules = list(itertools.islice(rules, MAX_DIM + 1))
    if not rules or not all(isinstance(r, Rule) and r.dim == 1 for r in rules):
        raise TypeError("`rules` must be a non-empty sequence of 1-D Rule objects")
    if len(rules) > MAX_DIM:
        raise ValueError(f"`rules` must hold at most {MAX_DIM} rules (one per dimension)")
    max_points = v.positive_int(max_points, "max_points")
    count = math.prod(r.n for r in rules)
    # an exact int, possibly far beyond a float: described by its number of digits then
    described = str(count) if count < 10 ** 15 else f"about 1e{len(str(count)) - 1}"
    if count > max_points:
        raise ValueError(f"the product rule would have {described} points, more than `max_points`={max_points}")
    if count * len(rules) > MAX_COORDINATES:
        raise ValueError(f"the product rule would have {described} points of {len(rules)} coordinates, more than "
                         f"{MAX_COORDINATES:.0e} in all")
    # lexicographic order, built column by column (a meshgrid is limited to 64 dimensions)
    nodes = np.empty((count, len(rules)))
    inner = count
    for i, r in enumerate(rules):
        inner //= r.n
        nodes[:, i] = np.tile(np.repeat(r.nodes, inner), count // (inner * r.n))
    with np.errstate(over="ignore"):
        weights = functools.reduce(lambda w, u: np.multiply.outer(w, u).ravel(), [r.weights for r in rules])
    if not np.all(np.isfinite(weights)):
        raise ValueError("the product of the weights in `rules` exceeds the double range")
    return Rule(nodes=nodes, weights=weights, domain=[r.domain for r in rules],
                weight_function=" x ".join(f"({r.weight_function})" for r in rules),
                degree=min(r.degree for r in rules), family="product_rule(" + ", ".join(r.family for r in rules) + ")")


@functools.lru_cache(maxsize=None)
def _leja_points(n):
    """The first n unweighted Leja points on [-1, 1] (x0 = 1, then argmax prod |x - x_j|)."""
    grid = np.sin(np.linspace(-0.5 * np.pi, 0.5 * np.pi, 20001))  # Chebyshev-like, with 0 exactly
    points = [1.0]
    log_product = np.log(np.abs(grid - 1.0) + 1e-300)
    for _ in range(1, n):
        candidate = grid[np.argmax(log_product)]
        # polish the maximizer of sum log|x - x_j| by Newton steps on its derivative
        for _ in range(20):
            d1 = np.sum(1.0 / (candidate - np.array(points)))
            d2 = -np.sum(1.0 / (candidate - np.array(points)) ** 2)
            step = d1 / d2
            if not np.isfinite(step) or abs(step) > 1e-2:
                break
            candidate = min(1.0, max(-1.0, candidate - step))
            if abs(step) < 1e-15:
                break
        points.append(float(candidate))
        log_product += np.log(np.abs(grid - candidate) + 1e-300)
    return np.array(points)


def leja(n):
    """The interpolatory rule on the first `n` Leja points of [-1, 1] (weight 1), nested in `n`.

    Leja points are chosen greedily (each maximizes the product of distances to the previous ones), so
    every rule is the previous one plus a point: a nested family of any size, used by sparse grids.
    Exact to degree ``n - 1``. Weights come from the moment equations in the Legendre basis.

    Examples
    --------
    >>> import quadlib
    >>> quadlib.leja(3).nodes
    array([-1.,  0.,  1.])

    References
    ----------
    F. Leja, Ann. Polon. Math. 4 (1957); A. Narayan and J. D. Jakeman, SIAM J. Sci. Comput. 36 (2014).
    """
    n = v.positive_int(n, "n", maximum=200)
    x = _leja_points(n)
    legendre = np.polynomial.legendre.legvander(x, n - 1).T  # P_k(x_j)
    moments = np.zeros(n)
    moments[0] = 2.0
    w = np.linalg.solve(legendre, moments)
    order = np.argsort(x)
    return Rule(nodes=x[order], weights=w[order], domain=(-1, 1), weight_function="1", degree=n - 1,
                family=f"leja({n})")


class LevelRules(collections.namedtuple("LevelRules", "make nested max_level")):
    """A family of 1-D rules indexed by level, as the sparse grids (and cubature's dimension-adaptive
    grids) use them: ``make(l)`` is the level-l rule, `nested` whether each level's nodes contain the
    previous level's, `max_level` the largest level the family has."""

    __slots__ = ()


#: rule name -> its :class:`LevelRules`, for `sparse_grid(rule=...)` and cubature's sparse methods
LEVEL_RULES = {
    "clenshaw_curtis": LevelRules(lambda l: clenshaw_curtis(1 if l == 0 else 2 ** l + 1), True, 20),
    "fejer": LevelRules(lambda l: fejer(2 ** (l + 1) - 1, kind=2), True, 20),
    "gauss_patterson": LevelRules(lambda l: gauss_patterson(l), True, 7),
    "genz_keister": LevelRules(lambda l: genz_keister(l), True, 4),
    "leja": LevelRules(lambda l: leja(2 * l + 1), True, 99),
    "gauss_legendre": LevelRules(lambda l: gauss_legendre(l + 1), False, 1000),
    "gauss_hermite": LevelRules(lambda l: gauss_hermite(l + 1, kind="normal"), False, 1000),
}
# rule name -> number of points of its level-l rule, in closed form: grids are counted before any rule is made
_LEVEL_SIZES = {
    "clenshaw_curtis": lambda l: 1 if l == 0 else 2 ** l + 1,
    "fejer": lambda l: 2 ** (l + 1) - 1,
    "gauss_patterson": lambda l: 2 ** (l + 1) - 1,
    "genz_keister": lambda l: (1, 3, 9, 19, 35)[l],
    "leja": lambda l: 2 * l + 1,
    "gauss_legendre": lambda l: l + 1,
    "gauss_hermite": lambda l: l + 1,
}
# Counts above this are only "too many"; capping keeps the float counting free of inf and NaN.
_COUNT_CAP = 2.0 ** 60


def _new_points(rule, level):
    """Points that the level-`level` 1-D rule adds to the lower levels (an upper bound for the non-nested
    rules, exact unless two Gauss rules share a node other than 0)."""
    size = _LEVEL_SIZES[rule]
    if LEVEL_RULES[rule].nested:
        return size(level) - (size(level - 1) if level else 0)
    # the symmetric Gauss rules of odd size all have the node 0
    return size(level) - (1 if level and size(level) % 2 else 0)


def _truncated_product(p, q, budget):
    return np.minimum(np.convolve(p, q)[:budget + 1], _COUNT_CAP)


def _count_grid(rule, budget, alpha):
    """Number of points of the grid over {l : sum alpha_i l_i <= budget}, without enumerating it.

    The count is sum over the index set of prod_i new_i(l_i), the sum of the coefficients of
    prod_i P_i(z) truncated at z^budget, P_i(z) = sum_l new(l) z^(alpha_i l). Dimensions sharing alpha
    share P, raised to its multiplicity by squaring, so the cost is O(budget^2 log d) at most.
    """
    total = np.zeros(budget + 1)
    total[0] = 1.0
    for a, multiplicity in collections.Counter(alpha).items():
        factor = np.zeros(budget + 1)
        for l in range(budget // a + 1):
            factor[a * l] = _new_points(rule, l)
        if multiplicity == 1:
            total = _truncated_product(total, factor, budget)
            continue
        power = None
        while multiplicity:
            if multiplicity & 1:
                power = factor if power is None else _truncated_product(power, factor, budget)
            multiplicity >>= 1
            if multiplicity:
                factor = _truncated_product(factor, factor, budget)
        total = _truncated_product(total, power, budget)
    return min(float(total.sum()), _COUNT_CAP)


def _index_set(budget, alpha):
    """All l >= 0 with sum alpha_i l_i <= budget, as an (M, d) intc array in lexicographic order.

    Built dimension by dimension without recursion: each partial index spawns its children, and the
    columns are read back through the parent links at the end (O(M d) work and memory).
    """
    remaining = np.array([budget], dtype=np.int64)
    columns, parents = [], []
    for a in alpha:
        children = remaining // a + 1
        parent = np.repeat(np.arange(remaining.size), children)
        # 0, 1, ..., children[k] - 1 for each parent k, concatenated
        level = np.arange(parent.size) - np.repeat(np.cumsum(children) - children, children)
        remaining = remaining[parent] - a * level
        columns.append(level)
        parents.append(parent)
    out = np.empty((remaining.size, len(alpha)), dtype=np.intc)
    rows = np.arange(remaining.size)
    for i in range(len(alpha) - 1, -1, -1):
        out[:, i] = columns[i][rows]
        rows = parents[i][rows]
    return out


def _dimension_table(rule, max_level):
    """The 1-D rules of levels 0..max_level merged on one sorted node list.

    Returns the node values, the first level of each node, the difference weights
    D[l, j] = w_l(j) - w_(l-1)(j) as CSR rows per node (``start``, ``level``, ``value``, levels increasing,
    exact zeros left out) and the top rule. Built from the rules' own arrays, O(total points).
    """
    make = LEVEL_RULES[rule].make
    rules = [make(l) for l in range(max_level + 1)]
    values = np.unique(np.concatenate([r.nodes for r in rules]))
    node = np.concatenate([np.searchsorted(values, r.nodes) for r in rules])
    level = np.concatenate([np.full(r.n, l) for l, r in enumerate(rules)])
    weight = np.concatenate([r.weights for r in rules])
    first = np.full(values.size, max_level + 1)
    np.minimum.at(first, node, level)
    # w_l(j) enters D at level l, and leaves it (negated) at level l + 1
    later = level < max_level
    node = np.r_[node, node[later]]
    level = np.r_[level, level[later] + 1]
    weight = np.r_[weight, -weight[later]]
    order = np.lexsort((level, node))
    node, level, weight = node[order], level[order], weight[order]
    # at most two terms meet at one (node, level): w_l(j) + (-w_(l-1)(j)), the same double as the difference
    starts = np.flatnonzero(np.r_[True, (node[1:] != node[:-1]) | (level[1:] != level[:-1])])
    value = np.add.reduceat(weight, starts)
    node, level = node[starts], level[starts]
    keep = value != 0.0
    node, level, value = node[keep], level[keep], value[keep]
    start = np.r_[0, np.cumsum(np.bincount(node, minlength=values.size))]
    return values, first, start, level, value, rules[-1]


def _total_degree(rule, alpha, budget):
    """Largest D such that the grid integrates every monomial of total degree <= D exactly.

    Monomial x^a is exact when some level vector l in the index set has 1-D degree p(l_i) >= a_i, i.e.
    when sum_i alpha_i c(a_i) <= budget with c(a) the lowest level of degree >= a. D is where the
    costliest way of spreading the degree over the dimensions first exceeds the budget.
    """
    make, limit = LEVEL_RULES[rule].make, LEVEL_RULES[rule].max_level
    top = min(limit, int(budget // alpha.min()))
    degrees = [make(l).degree for l in range(top + 1)]
    # worst[t]: the largest cost of a total degree t spread over the dimensions so far; no total degree
    # beyond the top 1-D degree can be exact (x_1^t needs it), so the table stops there
    size = degrees[-1] + 2
    # cost(s), the lowest level of 1-D degree >= s, is a step function; since worst[] is nondecreasing
    # (more degree never costs less), the max over the s of one step is at the step's first s
    steps = [(0, 0)] + [(l, degrees[l - 1] + 1) for l in range(1, top + 1) if degrees[l] > degrees[l - 1]]
    worst = np.zeros(size, dtype=np.int64)
    for a_i in alpha:
        new = np.full(size, -1, dtype=np.int64)
        for l, s in steps:
            np.maximum(new[s:], worst[:size - s] + int(a_i) * l, out=new[s:])
        new[degrees[-1] + 1:] = budget + 1   # x_i^t with t above the top 1-D degree is never exact
        worst = new
    degree = 0
    while degree + 1 < size and worst[degree + 1] <= budget:
        degree += 1
    return degree


def _anisotropy_iv(anisotropy, dim, level):
    """Anisotropy weights as Python ints divided by their gcd, and the budget level * min(alpha).

    Weights larger than the budget mean level 0 in that dimension whatever their size, so they are
    capped at budget + 1: the index set is the same and every product alpha_i l_i fits a C int.
    """
    if anisotropy is None:
        return [1] * dim, level
    message = (f"`anisotropy` must be {dim} positive integers (the cost of a level in each dimension), "
               f"got {anisotropy!r}")
    if isinstance(anisotropy, (str, bytes)) or not hasattr(anisotropy, "__len__"):
        raise ValueError(message)
    if len(anisotropy) != dim:
        raise ValueError(message)
    alpha = []
    for a in (anisotropy.tolist() if isinstance(anisotropy, np.ndarray) else anisotropy):
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, numbers.Integral) or a < 1:
            raise ValueError(message)
        alpha.append(operator.index(a))
    divisor = math.gcd(*alpha)
    alpha = [a // divisor for a in alpha]
    budget = level * min(alpha)
    if budget > MAX_COST:
        raise ValueError(f"`anisotropy` and `level`: level * min(anisotropy) / gcd(anisotropy) = {budget} must be "
                         f"at most {MAX_COST} (the weights' cost axis; use smaller, coprime anisotropy weights)")
    return [min(a, budget + 1) for a in alpha], budget


def _sparse_grid_iv(dim, level, rule, anisotropy, max_points):
    dim = v.positive_int(dim, "dim", maximum=MAX_DIM)
    level = v.positive_int(level, "level", minimum=0)
    v.choice(rule, tuple(LEVEL_RULES), "rule")
    limit = LEVEL_RULES[rule].max_level
    if level > limit:
        raise ValueError(f"`level` must be at most {limit} for {rule}, got {level}")
    alpha, budget = _anisotropy_iv(anisotropy, dim, level)
    max_points = v.positive_int(max_points, "max_points")
    return dim, level, rule, alpha, budget, max_points


def sparse_grid(dim, level, rule="clenshaw_curtis", *, anisotropy=None, max_points=MAX_POINTS):
    """Smolyak sparse grid of `level` in `dim` dimensions, as a d-dimensional Rule.

    Parameters
    ----------
    dim : int
        Number of dimensions, ``1 <= dim <= MAX_DIM`` (10^4).
    level : int
        Level L >= 0: the grid combines tensor rules of 1-D levels with ``l_1 + ... + l_d <= L``
        (see the module docstring for the points per level of each rule). At most the rule's largest
        level: 20 (Clenshaw–Curtis, Fejér), 7 (Gauss–Patterson), 4 (Genz–Keister), 99 (Leja),
        1000 (Gauss–Legendre, Gauss–Hermite).
    rule : str
        ``"clenshaw_curtis"``, ``"fejer"``, ``"gauss_patterson"``, ``"leja"`` or ``"gauss_legendre"`` on
        [-1, 1]^d; ``"genz_keister"`` or ``"gauss_hermite"`` for the standard normal density on R^d.
        Nested rules share their nodes across levels, so every point appears once; with the non-nested
        Gauss rules, nodes whose combined weight cancels to exactly zero are left out.
    anisotropy : sequence of int, optional
        Cost of one level in each dimension: the grid combines levels with ``sum alpha_i l_i <=
        L * min(alpha)``, so dimensions with larger alpha get coarser rules. Positive integers of any
        size; only their ratios matter, and ``L * min(alpha) / gcd(alpha)`` must be at most
        ``MAX_COST`` (1000).
    max_points : int
        Memory guard: refuse grids with more points than this. Whatever it is, grids with more than
        ``MAX_COORDINATES`` (10^8) coordinates in all (points times `dim`) are refused too.

    Raises
    ------
    ValueError
        For arguments outside these ranges, and for grids over either size limit. The grid is counted
        in closed form before anything is built, so a refusal costs milliseconds.

    Returns
    -------
    Rule
        ``nodes`` of shape (N, dim); ``degree`` is the total polynomial degree the grid is exact for when
        the 1-D rules are (the 1-D degree of level L for Clenshaw–Curtis-like rules).

    Examples
    --------
    >>> import quadlib
    >>> quadlib.sparse_grid(5, 4).n, quadlib.sparse_grid(10, 4).n
    (801, 8801)
    >>> round(float(quadlib.sparse_grid(3, 3, "genz_keister").integrate(lambda x: (x ** 2).sum(axis=1))), 12)
    3.0

    References
    ----------
    T. Gerstner and M. Griebel, "Numerical integration using sparse grids", Numer. Algorithms 18 (1998).
    """
    dim, level, rule, alpha, budget, max_points = _sparse_grid_iv(dim, level, rule, anisotropy, max_points)
    # Count first (closed forms, no rule built): every level adds at least one point, so the index set
    # is no larger than the grid, and both are bounded before either is enumerated.
    expected = _count_grid(rule, budget, alpha)
    _size_guard(expected, dim, max_points)
    max_levels = [budget // a for a in alpha]
    # one table per distinct top level, shared by the dimensions that have it
    tables = {m: _dimension_table(rule, m) for m in sorted(set(max_levels))}
    node_start, level_start, new_start, new_ids, entry_start, entry_level, entry_value = {}, {}, [0], [], [], [], []
    nodes_so_far = entries_so_far = 0
    for m, (values, first, start, lev, value, _) in tables.items():
        node_start[m], level_start[m] = nodes_so_far, len(new_start) - 1
        # nodes new at level l of this table: new_ids[new_start[level_start + l] : new_start[level_start + l + 1]]
        for l in range(m + 1):
            new_ids.append(np.flatnonzero(first == l))
            new_start.append(new_start[-1] + new_ids[-1].size)
        entry_start.append(start[:-1] + entries_so_far)
        entry_level.append(lev)
        entry_value.append(value)
        nodes_so_far += values.size
        entries_so_far += value.size
    entry_start.append([entries_so_far])
    level_offset = np.array([level_start[m] for m in max_levels], dtype=np.int_)
    new_start = np.array(new_start, dtype=np.int_)
    index_set = _index_set(budget, alpha)
    count = count_points(index_set, level_offset, new_start)
    _size_guard(count, dim, max_points)
    ids = np.empty((count, dim), dtype=np.intc)
    enumerate_points(index_set, level_offset, new_start, np.concatenate(new_ids).astype(np.intc), ids)
    del index_set
    nodes = np.empty((count, dim))
    for i, m in enumerate(max_levels):
        nodes[:, i] = tables[m][0][ids[:, i]]
    weights = np.empty(count)
    smolyak_weights(ids, np.array([node_start[m] for m in max_levels], dtype=np.int_),
                    np.concatenate(entry_start).astype(np.int_), np.concatenate(entry_level).astype(np.intc),
                    np.concatenate(entry_value).astype(float), np.array(alpha, dtype=np.intc), budget, weights)
    if not np.all(np.isfinite(weights)):
        raise ValueError(f"the weights of this grid exceed the double range (a rule on [-1, 1]^dim has total "
                         f"weight 2^dim, and Smolyak weights can be larger still): lower `dim`={dim} (below about "
                         f"1000 with {rule!r})")
    # With non-nested rules (Gauss-Legendre, Gauss-Hermite) the combination cancels some nodes' weights
    # exactly; evaluating the integrand there would be wasted work.
    nested = LEVEL_RULES[rule].nested
    if not nested and (weights == 0.0).any():
        keep = weights != 0.0
        nodes, weights = nodes[keep], weights[keep]
    top = tables[max(max_levels)][5]
    domain = [top.domain] * dim
    degree = _total_degree(rule, np.array(alpha, dtype=np.int64), budget)
    weight = " x ".join([top.weight_function] * dim) if dim <= 3 else f"({top.weight_function})^{dim}"
    return Rule(nodes=nodes, weights=weights, domain=domain, weight_function=weight, degree=degree,
                family=f"sparse_grid({dim}, {level}, {rule!r})")
