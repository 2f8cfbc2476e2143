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
import functools
import itertools

import numpy as np

from . import _validation as v
from ._extensions._smolyak import count_points, enumerate_points, smolyak_weights
from ._gauss import gauss_hermite, gauss_legendre
from ._nested import clenshaw_curtis, fejer, gauss_patterson, genz_keister
from ._rule import Rule

__all__ = ["product_rule", "sparse_grid", "leja"]

MAX_POINTS = 10_000_000  # the default memory guard: 10^7 points of d doubles


def product_rule(rules, *, max_points=MAX_POINTS):
    """The tensor product of 1-D rules, as a d-dimensional Rule (nodes of shape (N, d)).

    Parameters
    ----------
    rules : sequence of Rule
        One 1-D rule per dimension.
    max_points : int
        Refuse products with more points than this (``n^d`` grows fast).

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> rule = quadlib.product_rule([quadlib.gauss_legendre(5)] * 3)
    >>> rule.nodes.shape
    (125, 3)
    >>> round(float(rule.integrate(lambda x: np.exp(x.sum(axis=1)), [0, 0, 0], [1, 1, 1])), 12)  # (e - 1)^3
    5.073214111767
    """
    rules = list(rules)
    if not rules or not all(isinstance(r, Rule) and r.dim == 1 for r in rules):
        raise TypeError("`rules` must be a non-empty sequence of 1-D Rule objects")
    max_points = v.positive_int(max_points, "max_points")
    count = int(np.prod([float(r.n) for r in rules]))
    if count > max_points:
        raise ValueError(f"the product rule would have {count} points, more than `max_points`={max_points}")
    grids = np.meshgrid(*[r.nodes for r in rules], indexing="ij")
    nodes = np.stack([g.ravel() for g in grids], axis=1)
    weights = functools.reduce(np.multiply.outer, [r.weights for r in rules]).ravel()
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


# rule name -> (constructor of the level-l 1-D rule, nested, largest level or None)
_LEVEL_RULES = {
    "clenshaw_curtis": (lambda l: clenshaw_curtis(1 if l == 0 else 2 ** l + 1), True, 20),
    "fejer": (lambda l: fejer(2 ** (l + 1) - 1, kind=2), True, 20),
    "gauss_patterson": (lambda l: gauss_patterson(l), True, 7),
    "genz_keister": (lambda l: genz_keister(l), True, 4),
    "leja": (lambda l: leja(2 * l + 1), True, 99),
    "gauss_legendre": (lambda l: gauss_legendre(l + 1), False, 1000),
    "gauss_hermite": (lambda l: gauss_hermite(l + 1, kind="normal"), False, 1000),
}


def _index_set(budget, alpha):
    """All l >= 0 with sum alpha_i l_i <= budget, as an (M, d) int array."""
    d = len(alpha)
    out = []

    def extend(prefix, remaining, i):
        if i == d:
            out.append(prefix)
            return
        for l in range(remaining // alpha[i] + 1):
            extend(prefix + (l,), remaining - alpha[i] * l, i + 1)

    extend((), budget, 0)
    return np.array(out, dtype=np.intc).reshape(-1, d)


def _dimension_tables(rule, max_level):
    """Per-level 1-D rules merged on one node list: values, first level of each node, and the difference
    weights D[l, j] = w_l(j) - w_(l-1)(j)."""
    make = _LEVEL_RULES[rule][0]
    levels = [make(l) for l in range(max_level + 1)]
    values = np.unique(np.concatenate([r.nodes for r in levels]))
    weights = np.zeros((max_level + 1, values.size))
    present = np.zeros((max_level + 1, values.size), dtype=bool)
    for l, r in enumerate(levels):
        j = np.searchsorted(values, r.nodes)
        weights[l, j] = r.weights
        present[l, j] = True
    first = np.argmax(present, axis=0)
    diff = np.diff(weights, axis=0, prepend=0.0)
    return values, first, diff, levels[-1]


def _total_degree(rule, alpha, budget):
    """Largest D such that the grid integrates every monomial of total degree <= D exactly.

    Monomial x^a is exact when some level vector l in the index set has 1-D degree p(l_i) >= a_i, i.e.
    when sum_i alpha_i c(a_i) <= budget with c(a) the lowest level of degree >= a. D is where the
    costliest way of spreading the degree over the dimensions first exceeds the budget.
    """
    make, _, limit = _LEVEL_RULES[rule]
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


def _sparse_grid_iv(dim, level, rule, anisotropy, max_points):
    dim = v.positive_int(dim, "dim")
    level = v.positive_int(level, "level", minimum=0)
    v.choice(rule, tuple(_LEVEL_RULES), "rule")
    if anisotropy is None:
        alpha = np.ones(dim, dtype=np.intc)
    else:
        alpha = np.asarray(anisotropy)
        if alpha.shape != (dim,) or not np.issubdtype(alpha.dtype, np.integer) or np.any(alpha < 1):
            raise ValueError(f"`anisotropy` must be {dim} positive integers (the cost of a level in each "
                             f"dimension), got {anisotropy!r}")
        alpha = alpha.astype(np.intc)
    max_points = v.positive_int(max_points, "max_points")
    return dim, level, rule, alpha, max_points


def sparse_grid(dim, level, rule="clenshaw_curtis", *, anisotropy=None, max_points=MAX_POINTS):
    """Smolyak sparse grid of `level` in `dim` dimensions, as a d-dimensional Rule.

    Parameters
    ----------
    dim : int
        Number of dimensions.
    level : int
        Level L >= 0: the grid combines tensor rules of 1-D levels with ``l_1 + ... + l_d <= L``
        (see the module docstring for the points per level of each rule).
    rule : str
        ``"clenshaw_curtis"``, ``"fejer"``, ``"gauss_patterson"``, ``"leja"`` or ``"gauss_legendre"`` on
        [-1, 1]^d; ``"genz_keister"`` or ``"gauss_hermite"`` for the standard normal density on R^d.
        Nested rules share their nodes across levels, so every point appears once; with the non-nested
        Gauss rules, nodes whose combined weight cancels to exactly zero are left out.
    anisotropy : sequence of int, optional
        Cost of one level in each dimension: the grid combines levels with ``sum alpha_i l_i <=
        L * min(alpha)``, so dimensions with larger alpha get coarser rules.
    max_points : int
        Memory guard: refuse grids with more points than this.

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
    dim, level, rule, alpha, max_points = _sparse_grid_iv(dim, level, rule, anisotropy, max_points)
    budget = level * int(alpha.min())
    max_levels = budget // alpha
    limit = _LEVEL_RULES[rule][2]
    if max_levels.max() > limit:
        raise ValueError(f"`level` {level} needs 1-D level {max_levels.max()} of {rule}, which goes up to {limit}")
    tables = {m: _dimension_tables(rule, m) for m in set(max_levels.tolist())}
    per_dim = [tables[m] for m in max_levels]
    # nodes new at each level (first level l), per dimension, in CSR form: level l of dimension i owns
    # new_ids[new_start[level_offset[i] + l] : new_start[level_offset[i] + l + 1]]
    level_offset, new_start, new_ids = [], [0], []
    for (_, first, _, _), m in zip(per_dim, max_levels):
        level_offset.append(len(new_start) - 1)
        for l in range(m + 1):
            new_ids.extend(np.flatnonzero(first == l).tolist())
            new_start.append(len(new_ids))
    level_offset = np.array(level_offset, dtype=np.int_)
    new_start = np.array(new_start, dtype=np.int_)
    index_set = _index_set(budget, alpha)
    count = count_points(index_set, level_offset, new_start)
    if count > max_points:
        raise ValueError(f"the sparse grid would have {count} points, more than `max_points`={max_points}")
    ids = np.empty((count, dim), dtype=np.intc)
    enumerate_points(index_set, level_offset, new_start, np.array(new_ids, dtype=np.intc), ids)
    # the (level, difference weight) entries of every node, dimension after dimension
    offsets, starts, entry_level, entry_value, nodes = [0], [0], [], [], np.empty((count, dim))
    for i, (values, _, diff, _) in enumerate(per_dim):
        nodes[:, i] = values[ids[:, i]]
        for j in range(values.size):
            levels = np.flatnonzero(diff[:, j])
            entry_level.extend(levels.tolist())
            entry_value.extend(diff[levels, j].tolist())
            starts.append(len(entry_level))
        offsets.append(offsets[-1] + values.size)
    weights = np.empty(count)
    smolyak_weights(ids, np.array(offsets[:-1], dtype=np.int_), np.array(starts, dtype=np.int_),
                    np.array(entry_level, dtype=np.intc), np.array(entry_value), alpha, budget, weights)
    # With non-nested rules (Gauss-Legendre, Gauss-Hermite) the combination cancels some nodes' weights
    # exactly; evaluating the integrand there would be wasted work.
    nested = _LEVEL_RULES[rule][1]
    if not nested and (weights == 0.0).any():
        keep = weights != 0.0
        nodes, weights = nodes[keep], weights[keep]
    top = per_dim[int(np.argmax(max_levels))][3]
    domain = [top.domain] * dim
    degree = _total_degree(rule, alpha, budget)
    return Rule(nodes=nodes, weights=weights, domain=domain,
                weight_function=" x ".join([top.weight_function] * dim) if dim <= 3 else f"({top.weight_function})^{dim}",
                degree=degree, family=f"sparse_grid({dim}, {level}, {rule!r})")
