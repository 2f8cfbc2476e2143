"""Nested rules: Clenshaw–Curtis and Fejér weights against interpolatory weights solved in mpmath,
Gauss–Patterson and Genz–Keister against exactness, nesting, and published values."""
import mpmath
import numpy as np
import pytest

import quadlib

EPS = np.finfo(float).eps


def interpolatory_weights(nodes):
    """Weights of the interpolatory rule on `nodes` for weight 1 on [-1, 1], by solving the moment
    equations at 60 digits (an independent definition of the rule)."""
    with mpmath.workdps(60):
        n = len(nodes)
        vander = mpmath.matrix([[x ** k for x in nodes] for k in range(n)])
        moments = mpmath.matrix([mpmath.mpf(1 + (-1) ** k) / (k + 1) for k in range(n)])
        return [float(w) for w in mpmath.lu_solve(vander, moments)]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 9, 17, 33])
def test_clenshaw_curtis_is_the_interpolatory_rule(n):
    rule = quadlib.clenshaw_curtis(n)
    with mpmath.workdps(60):
        exact_nodes = [mpmath.mpf(0)] if n == 1 else [-mpmath.cos(k * mpmath.pi / (n - 1)) for k in range(n)]
    np.testing.assert_allclose(rule.nodes, [float(x) for x in exact_nodes], rtol=0, atol=2 * EPS)
    np.testing.assert_allclose(rule.weights, interpolatory_weights(exact_nodes), rtol=4 * EPS * max(1, np.log2(n)))


@pytest.mark.parametrize("kind", [1, 2])
@pytest.mark.parametrize("n", [1, 2, 4, 7, 15, 31])
def test_fejer_is_the_interpolatory_rule(n, kind):
    rule = quadlib.fejer(n, kind)
    with mpmath.workdps(60):
        if kind == 1:
            exact_nodes = [-mpmath.cos((2 * k - 1) * mpmath.pi / (2 * n)) for k in range(1, n + 1)]
        else:
            exact_nodes = [-mpmath.cos(k * mpmath.pi / (n + 1)) for k in range(1, n + 1)]
    np.testing.assert_allclose(rule.nodes, [float(x) for x in exact_nodes], rtol=0, atol=2 * EPS)
    np.testing.assert_allclose(rule.weights, interpolatory_weights(exact_nodes), rtol=8 * EPS * max(1, np.log2(n)))


def _exactness(rule, moment):
    for k in range(rule.degree + 1):
        got = mpmath.fsum(mpmath.mpf(w) * mpmath.mpf(x) ** k for w, x in zip(rule.weights, rule.nodes))
        scale = mpmath.fsum(abs(mpmath.mpf(w) * mpmath.mpf(x) ** k) for w, x in zip(rule.weights, rule.nodes))
        assert abs(got - moment(k)) <= 1e-14 * scale, (rule, k)


def _uniform_moment(k):
    return mpmath.mpf(1 + (-1) ** k) / (k + 1)


def _normal_moment(k):
    return mpmath.mpf(0) if k % 2 else mpmath.fac2(k - 1)


@pytest.mark.parametrize("rule", [quadlib.clenshaw_curtis(n) for n in (1, 2, 3, 9, 17)]
                         + [quadlib.fejer(n, k) for n in (1, 4, 7, 15) for k in (1, 2)], ids=repr)
def test_cc_fejer_exactness(rule):
    _exactness(rule, _uniform_moment)


def test_clenshaw_curtis_and_fejer2_are_nested():
    for coarse, fine in [(3, 5), (5, 9), (9, 17), (17, 33)]:
        assert set(quadlib.clenshaw_curtis(coarse).nodes) <= set(quadlib.clenshaw_curtis(fine).nodes)
    for coarse, fine in [(1, 3), (3, 7), (7, 15)]:
        small, big = quadlib.fejer(coarse, 2).nodes, quadlib.fejer(fine, 2).nodes
        assert np.max(np.min(np.abs(small[:, None] - big[None, :]), axis=1)) <= EPS


PATTERSON_LEVELS = range(0, 8)


@pytest.mark.parametrize("level", PATTERSON_LEVELS)
def test_gauss_patterson(level):
    try:
        rule = quadlib.gauss_patterson(level)
    except ValueError:
        pytest.fail(f"gauss_patterson({level}) is not tabulated")
    assert rule.n == 2 ** (level + 1) - 1
    _exactness(rule, _uniform_moment)
    if level:
        coarse = quadlib.gauss_patterson(level - 1).nodes
        assert np.max(np.min(np.abs(coarse[:, None] - rule.nodes[None, :]), axis=1)) == 0.0


def test_gauss_patterson_level1_is_gauss_legendre_3():
    np.testing.assert_array_max_ulp(quadlib.gauss_patterson(1).nodes, quadlib.gauss_legendre(3).nodes, maxulp=1)
    np.testing.assert_array_max_ulp(quadlib.gauss_patterson(1).weights, quadlib.gauss_legendre(3).weights, maxulp=1)


@pytest.mark.parametrize("level", range(0, 5))
def test_genz_keister(level):
    rule = quadlib.genz_keister(level)
    assert rule.n == (1, 3, 9, 19, 35)[level]
    _exactness(rule, _normal_moment)
    if level:
        coarse = quadlib.genz_keister(level - 1).nodes
        assert np.max(np.min(np.abs(coarse[:, None] - rule.nodes[None, :]), axis=1)) == 0.0
    if level == 1:  # the 3-point Gauss–Hermite rule for N(0, 1): nodes 0, +-sqrt(3)
        np.testing.assert_allclose(rule.nodes, [-np.sqrt(3), 0, np.sqrt(3)], rtol=2 * EPS)
        np.testing.assert_allclose(rule.weights, [1 / 6, 2 / 3, 1 / 6], rtol=2 * EPS)


def test_input_validation():
    with pytest.raises(ValueError, match="`n`"):
        quadlib.clenshaw_curtis(0)
    with pytest.raises(TypeError, match="`n`"):
        quadlib.fejer(1.5)
    with pytest.raises(ValueError, match="`kind`"):
        quadlib.fejer(3, kind=3)
    with pytest.raises(ValueError, match="`level`"):
        quadlib.gauss_patterson(-1)
    with pytest.raises(ValueError, match="`level`"):
        quadlib.genz_keister(99)
    with pytest.raises(TypeError, match="`level`"):
        quadlib.genz_keister(None)
