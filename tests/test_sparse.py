"""Product rules and Smolyak sparse grids: published node counts, exactness against closed-form moments,
and input validation."""
import itertools
import math
import time

import mpmath
import numpy as np
import pytest

import quadlib

# Clenshaw–Curtis sparse-grid sizes in the usual level convention (1-D levels from 0, sum of levels
# <= L), as tabulated by Gerstner & Griebel (1998) and in J. Burkardt's sparse_grid_cc tables.
CC_COUNTS = {
    (2, 0): 1, (2, 1): 5, (2, 2): 13, (2, 3): 29, (2, 4): 65, (2, 5): 145,
    (3, 0): 1, (3, 1): 7, (3, 2): 25, (3, 3): 69, (3, 4): 177, (3, 5): 441,
    (5, 4): 801, (10, 1): 21, (10, 2): 221, (10, 3): 1581, (10, 4): 8801, (10, 5): 41265,
}


@pytest.mark.parametrize("dim, level", sorted(CC_COUNTS))
def test_clenshaw_curtis_counts(dim, level):
    assert quadlib.sparse_grid(dim, level).n == CC_COUNTS[dim, level]


def _uniform_moment(alpha):
    """integral of prod x_i^alpha_i over [-1, 1]^d."""
    return math.prod(0.0 if a % 2 else 2.0 / (a + 1) for a in alpha)


def _normal_moment(alpha):
    """E prod Z_i^alpha_i for independent standard normals."""
    return math.prod(0.0 if a % 2 else float(mpmath.fac2(a - 1)) for a in alpha)


def _monomials(dim, degree):
    for total in range(degree + 1):
        for cut in itertools.combinations(range(total + dim - 1), dim - 1):
            bounds = (-1,) + cut + (total + dim - 1,)
            yield tuple(bounds[i + 1] - bounds[i] - 1 for i in range(dim))


GRIDS = [
    (2, 4, "clenshaw_curtis"), (3, 3, "clenshaw_curtis"), (5, 3, "clenshaw_curtis"), (3, 3, "fejer"),
    (3, 2, "gauss_patterson"), (2, 4, "leja"), (3, 3, "gauss_legendre"),
    (3, 3, "genz_keister"), (4, 2, "genz_keister"), (3, 3, "gauss_hermite"),
]


@pytest.mark.parametrize("dim, level, rule", GRIDS)
def test_sparse_grid_exact_to_its_degree(dim, level, rule):
    grid = quadlib.sparse_grid(dim, level, rule)
    normal = rule in ("genz_keister", "gauss_hermite")
    moment = _normal_moment if normal else _uniform_moment
    assert grid.degree >= 2 * level + 1 or rule == "leja"
    for alpha in _monomials(dim, grid.degree):
        values = np.prod(grid.nodes ** np.array(alpha), axis=1)
        got = np.sum(grid.weights * values)
        scale = np.sum(np.abs(grid.weights * values))
        assert abs(got - moment(alpha)) <= 1e-13 * max(scale, 1.0), (alpha, got, moment(alpha))
    # and the degree is sharp: some monomial of the next total degree is not integrated exactly
    errors = [abs(np.sum(grid.weights * np.prod(grid.nodes ** np.array(a), axis=1)) - moment(a))
              for a in _monomials(dim, grid.degree + 1) if sum(a) == grid.degree + 1]
    assert max(errors) > 1e-10


def test_nested_grids_have_no_repeated_points():
    for rule in ("clenshaw_curtis", "fejer", "gauss_patterson", "genz_keister", "leja"):
        grid = quadlib.sparse_grid(3, 3, rule)
        assert np.unique(grid.nodes, axis=0).shape[0] == grid.n


def test_sparse_grid_beats_the_product_rule_in_points():
    # five dimensions, level 4: 801 points against 17^5 for the product of the level-4 1-D rule
    grid = quadlib.sparse_grid(5, 4)
    f = lambda x: np.exp(np.sum(x, axis=1) / 5)  # noqa: E731
    exact = (5 * (np.exp(0.2) - np.exp(-0.2))) ** 5
    assert abs(grid.integrate(f) - exact) < 1e-9 * exact  # measured 2e-11
    assert grid.n < 17 ** 5 / 1000


def test_anisotropic_grid_is_coarser_in_expensive_dimensions():
    grid = quadlib.sparse_grid(2, 4, anisotropy=[1, 2])
    assert np.unique(grid.nodes[:, 0]).size > np.unique(grid.nodes[:, 1]).size
    for alpha in [(0, 0), (4, 0), (8, 0), (0, 4), (2, 2)]:
        got = np.sum(grid.weights * np.prod(grid.nodes ** np.array(alpha), axis=1))
        assert abs(got - _uniform_moment(alpha)) < 1e-13
    assert grid.n < quadlib.sparse_grid(2, 4).n


def test_sparse_grid_on_a_box_and_the_real_line():
    grid = quadlib.sparse_grid(3, 6)
    value = grid.integrate(lambda x: np.prod(np.cos(x), axis=1), [0, 0, 0], [1, 2, 3])
    assert abs(value - np.sin(1) * np.sin(2) * np.sin(3)) < 1e-10
    normal = quadlib.sparse_grid(4, 4, "genz_keister")  # E exp(0.3 sum Z) = exp(0.045 d)
    assert abs(normal.integrate(lambda x: np.exp(0.3 * x.sum(axis=1))) - np.exp(0.045 * 4)) < 1e-8  # measured 2.4e-9
    with pytest.raises(ValueError, match="`a` and `b`"):
        normal.integrate(np.sum, [0] * 4, [1] * 4)


def test_construction_time_of_a_large_grid():
    # the target is < 100 ms for sparse_grid(10, 5); timed in asv, only sanity-checked here
    start = time.perf_counter()
    grid = quadlib.sparse_grid(10, 5)
    assert grid.n == 41265 and time.perf_counter() - start < 5.0
    assert abs(grid.weights.sum() - 2.0 ** 10) < 1e-9


def test_product_rule():
    rules = [quadlib.gauss_legendre(4), quadlib.gauss_legendre(3), quadlib.clenshaw_curtis(5)]
    rule = quadlib.product_rule(rules)
    assert rule.nodes.shape == (60, 3) and rule.dim == 3 and rule.degree == 5
    i, j, k = 3, 2, 4  # node order is lexicographic
    assert np.array_equal(rule.nodes[i * 15 + j * 5 + k], [rules[0].nodes[i], rules[1].nodes[j], rules[2].nodes[k]])
    assert rule.weights[i * 15 + j * 5 + k] == rules[0].weights[i] * rules[1].weights[j] * rules[2].weights[k]
    value = rule.integrate(lambda x: x[:, 0] ** 6 * x[:, 1] ** 4 * x[:, 2] ** 2, [0, 0, 0], [1, 2, 3])
    assert abs(value - (1 / 7) * (32 / 5) * 9) < 1e-12
    hermite = quadlib.product_rule([quadlib.gauss_hermite(6, "normal")] * 2)
    assert abs(hermite.integrate(lambda x: x[:, 0] ** 2 * x[:, 1] ** 4) - 3.0) < 1e-13


def test_leja_rules_are_nested_and_interpolatory():
    for n in (1, 2, 5, 9, 15):
        rule = quadlib.leja(n)
        assert set(quadlib.leja(max(n - 1, 1)).nodes) <= set(rule.nodes)
        for k in range(n):
            assert abs(np.sum(rule.weights * rule.nodes ** k) - _uniform_moment((k,))) < 1e-12


def test_input_validation():
    with pytest.raises(ValueError, match="`dim`"):
        quadlib.sparse_grid(0, 2)
    with pytest.raises(ValueError, match="`level`"):
        quadlib.sparse_grid(2, -1)
    with pytest.raises(TypeError, match="`level`"):
        quadlib.sparse_grid(2, 1.5)
    with pytest.raises(ValueError, match="`rule`"):
        quadlib.sparse_grid(2, 2, "simpson")
    with pytest.raises(ValueError, match="`max_points`"):
        quadlib.sparse_grid(10, 6, max_points=50_000)
    with pytest.raises(ValueError, match="`anisotropy`"):
        quadlib.sparse_grid(2, 2, anisotropy=[1.5, 1])
    with pytest.raises(ValueError, match="`anisotropy`"):
        quadlib.sparse_grid(2, 2, anisotropy=[1, 0])
    with pytest.raises(ValueError, match="`level`"):
        quadlib.sparse_grid(2, 5, "genz_keister")
    with pytest.raises(TypeError, match="`rules`"):
        quadlib.product_rule([])
    with pytest.raises(ValueError, match="`max_points`"):
        quadlib.product_rule([quadlib.gauss_legendre(100)] * 4, max_points=10 ** 6)
    rule = quadlib.product_rule([quadlib.gauss_legendre(2)] * 2)
    with pytest.raises(ValueError, match="`a` and `b`"):
        rule.integrate(np.sum, [0, 0, 0], [1, 1, 1])
    with pytest.raises(ValueError, match="`panels`"):
        rule.integrate(np.sum, [0, 0], [1, 1], panels=2)
    with pytest.raises(ValueError, match="`n`"):
        quadlib.leja(0)


@pytest.mark.parametrize("rule, reference", [("gauss_legendre", quadlib.gauss_legendre),
                                             ("gauss_hermite", None)])
def test_non_nested_grids_drop_cancelled_nodes(rule, reference):
    # In 1-D a Smolyak grid is its top-level rule; the lower levels' nodes cancel to weight zero exactly.
    grid = quadlib.sparse_grid(1, 4, rule)
    assert np.all(grid.weights != 0)
    if reference is not None:
        top = reference(grid.n)
        order = np.argsort(grid.nodes[:, 0])
        np.testing.assert_allclose(grid.nodes[order, 0], top.nodes, atol=1e-15)
        np.testing.assert_allclose(grid.weights[order], top.weights, rtol=1e-13)
    assert np.all(quadlib.sparse_grid(3, 4, rule).weights != 0)
