"""lebedev_rule: scipy's Lebedev–Laikov tables as quadlib Rules, checked by spherical-harmonic exactness."""
import math

import numpy as np
import pytest
import scipy.integrate
from scipy.special import gamma, sph_harm_y, sph_harm_y_all

import quadlib
from quadlib._sphere import ORDERS, lebedev_rule


def _angles(nodes):
    theta = np.arccos(np.clip(nodes[:, 2], -1.0, 1.0))
    phi = np.arctan2(nodes[:, 1], nodes[:, 0])
    return theta, phi


def _harmonic_sums(rule, degree):
    """S[l, m] = sum_k w_k Y_l^m(x_k) for 0 <= m <= l <= degree (negative m: conjugates, up to sign).

    Orthonormal Y_l^m = Pbar_l^m(cos theta) e^{i m phi} by the standard stable recurrences of the fully
    normalized associated Legendre functions, vectorized over the nodes: about degree**2 / 2 vector steps,
    so every harmonic of the order-131 rule (5810 nodes) takes a fraction of a second, where
    scipy.special.sph_harm_y (a recurrence per value) takes minutes. Checked against sph_harm_y below.
    """
    theta, phi = _angles(rule.nodes)
    c, s = np.cos(theta), np.sin(theta)
    sums = np.zeros((degree + 1, degree + 1), dtype=complex)
    diagonal = np.full_like(c, 1 / math.sqrt(4 * math.pi))          # Pbar_m^m, m = 0, 1, ...
    for m in range(degree + 1):
        if m > 0:
            diagonal = -math.sqrt((2 * m + 1) / (2 * m)) * s * diagonal
        weights = rule.weights * np.exp(1j * m * phi)
        previous, current = np.zeros_like(c), diagonal
        sums[m, m] = weights @ current
        for l in range(m + 1, degree + 1):
            a = math.sqrt((4 * l * l - 1) / (l * l - m * m))
            b = math.sqrt(((l - 1) ** 2 - m * m) / (4 * (l - 1) ** 2 - 1))
            previous, current = current, a * (c * current - b * previous)
            sums[l, m] = weights @ current
    return sums


def _harmonic_error(rule, degree):
    """max over l <= degree, m of |sum_k w_k Y_l^m(x_k) - sqrt(4 pi) delta_l0|.

    The integral of Y_l^m over the sphere is sqrt(4 pi) delta_l0 (Y_0^0 = 1/sqrt(4 pi)): exactness for every
    polynomial of degree <= order restricted to the sphere is exactness for every Y_l^m with l <= order.
    """
    sums = _harmonic_sums(rule, degree)
    sums[0, 0] -= math.sqrt(4 * math.pi)
    return float(np.max(np.abs(sums)))


def test_harmonic_recurrence_matches_scipy():
    rule = lebedev_rule(131)
    theta, phi = _angles(rule.nodes)
    sums = _harmonic_sums(rule, 131)
    for l, m in [(0, 0), (1, 0), (1, 1), (7, 3), (20, 20), (64, 17), (131, 0), (131, 1), (131, 66), (131, 131)]:
        ref = rule.weights @ sph_harm_y(l, m, theta, phi)
        assert abs(sums[l, m] - ref) <= 1e-14


@pytest.mark.parametrize("order", ORDERS)
def test_every_order_is_exact_for_every_harmonic(order):
    assert _harmonic_error(lebedev_rule(order), order) <= 1e-13


@pytest.mark.parametrize("order", [o for o in ORDERS if o <= 31])
def test_small_orders_by_scipy_harmonics(order):
    # the same check with scipy's sph_harm_y_all, independent of the recurrence above (it costs minutes at
    # the largest orders, hence the small ones here and sampled degrees below)
    rule = lebedev_rule(order)
    theta, phi = _angles(rule.nodes)
    sums = sph_harm_y_all(order, order, theta, phi) @ rule.weights
    sums[0, 0] -= math.sqrt(4 * math.pi)
    assert float(np.max(np.abs(sums))) <= 1e-13


@pytest.mark.parametrize("order", [o for o in ORDERS if o > 31])
def test_large_orders_by_scipy_harmonics_at_sampled_degrees(order):
    rule = lebedev_rule(order)
    theta, phi = _angles(rule.nodes)
    for l in (1, 2, 5):
        m = np.arange(-l, l + 1)
        assert np.max(np.abs(sph_harm_y(l, m[:, None], theta, phi) @ rule.weights)) <= 1e-13


@pytest.mark.slow
@pytest.mark.parametrize("order", [o for o in ORDERS if o > 31])
def test_large_orders_by_scipy_harmonics_at_the_top_degrees(order):
    rule = lebedev_rule(order)
    theta, phi = _angles(rule.nodes)
    for l in (order // 2, order - 1, order):
        m = np.arange(-l, l + 1)
        assert np.max(np.abs(sph_harm_y(l, m[:, None], theta, phi) @ rule.weights)) <= 1e-13


@pytest.mark.parametrize("order", [3, 7, 17, 31, 41, 89, 131])
def test_not_exact_one_degree_beyond(order):
    # the check above can fail: one degree beyond its order (odd degrees vanish by the rules' central
    # symmetry, and every order is odd) some harmonic is not integrated exactly
    sums = _harmonic_sums(lebedev_rule(order), order + 1)
    assert np.max(np.abs(sums[order + 1])) > 1e-3


@pytest.mark.parametrize("order", ORDERS)
def test_rule_fields_and_scipy_identity(order):
    rule = lebedev_rule(order)
    x, w = scipy.integrate.lebedev_rule(order)
    assert isinstance(rule, quadlib.Rule)
    assert rule.nodes.shape == (w.size, 3) and rule.weights.shape == (w.size,)
    np.testing.assert_array_equal(rule.nodes, x.T)
    np.testing.assert_array_equal(rule.weights, w)
    np.testing.assert_allclose(np.linalg.norm(rule.nodes, axis=1), 1.0, rtol=0, atol=1e-15)
    assert abs(rule.weights.sum() - 4 * math.pi) <= 1e-13
    assert rule.degree == order and rule.family == f"lebedev({order})"
    assert rule.weight_function == "surface measure on S^2"
    assert not rule.nodes.flags.writeable and lebedev_rule(order) is rule   # cached, immutable


def _monomial_integral(a, b, c):
    """Integral of x^a y^b z^c over the unit sphere (closed form; 0 unless a, b, c are all even)."""
    if a % 2 or b % 2 or c % 2:
        return 0.0
    return 2 * gamma((a + 1) / 2) * gamma((b + 1) / 2) * gamma((c + 1) / 2) / gamma((a + b + c + 3) / 2)


# (order, f on (N, 3) nodes, exact) — monomials up to the order, and smooth functions with closed forms
# (e^x: 4 pi sinh(1); e^(x+y+z): 4 pi sinh(sqrt 3)/sqrt 3; 1/(2 - z): 2 pi log 3), integrated with our Rule
# and with scipy's own (x, w) in the same test
_PARITY_CASES = [
    (3, lambda p: p[:, 0] ** 2, _monomial_integral(2, 0, 0)),
    (5, lambda p: p[:, 0] ** 2 * p[:, 1] ** 2, _monomial_integral(2, 2, 0)),
    (5, lambda p: p[:, 2] ** 4, _monomial_integral(0, 0, 4)),
    (7, lambda p: p[:, 0] ** 2 * p[:, 1] ** 2 * p[:, 2] ** 2, _monomial_integral(2, 2, 2)),
    (9, lambda p: p[:, 0] ** 8, _monomial_integral(8, 0, 0)),
    (11, lambda p: p[:, 0] ** 4 * p[:, 1] ** 6, _monomial_integral(4, 6, 0)),
    (13, lambda p: p[:, 0] ** 3 * p[:, 1] ** 5 * p[:, 2] ** 2, 0.0),
    (15, lambda p: p[:, 0] ** 6 * p[:, 1] ** 4 * p[:, 2] ** 4, _monomial_integral(6, 4, 4)),
    (21, lambda p: p[:, 1] ** 20, _monomial_integral(0, 20, 0)),
    (25, lambda p: p[:, 0] ** 10 * p[:, 2] ** 14, _monomial_integral(10, 0, 14)),
    (31, lambda p: p[:, 0] ** 10 * p[:, 1] ** 10 * p[:, 2] ** 10, _monomial_integral(10, 10, 10)),
    (41, lambda p: p[:, 0] ** 40, _monomial_integral(40, 0, 0)),
    (59, lambda p: p[:, 0] ** 20 * p[:, 1] ** 18 * p[:, 2] ** 20, _monomial_integral(20, 18, 20)),
    (89, lambda p: p[:, 2] ** 88, _monomial_integral(0, 0, 88)),
    (131, lambda p: p[:, 0] ** 40 * p[:, 1] ** 50 * p[:, 2] ** 40, _monomial_integral(40, 50, 40)),
    (131, lambda p: (p[:, 0] + 2 * p[:, 1] - p[:, 2]) ** 2, 4 * math.pi / 3 * 6),
    (17, lambda p: np.exp(p[:, 0]), 4 * math.pi * math.sinh(1.0)),
    (29, lambda p: np.exp(p[:, 0]), 4 * math.pi * math.sinh(1.0)),
    (23, lambda p: np.exp(p.sum(axis=1)), 4 * math.pi * math.sinh(math.sqrt(3)) / math.sqrt(3)),
    (35, lambda p: np.cos(p[:, 0] + p[:, 1]), 4 * math.pi * math.sin(math.sqrt(2)) / math.sqrt(2)),
    (77, lambda p: 1 / (2 - p[:, 2]), 2 * math.pi * math.log(3)),
    (131, lambda p: 1 / (2 - p[:, 2]), 2 * math.pi * math.log(3)),
    (47, lambda p: np.exp(3 * p[:, 1]), 4 * math.pi * math.sinh(3.0) / 3),
]


@pytest.mark.parametrize("case", _PARITY_CASES, ids=[f"{i}-order{c[0]}" for i, c in enumerate(_PARITY_CASES)])
def test_parity_with_closed_forms_and_scipy(case):
    order, f, exact = case
    ours = lebedev_rule(order).integrate(f)
    x, w = scipy.integrate.lebedev_rule(order)
    ref = w @ f(x.T)
    assert abs(ours - exact) <= 1e-13 * (1 + abs(exact))
    assert abs(ref - exact) <= 1e-13 * (1 + abs(exact))
    assert abs(ours - ref) <= 1e-15 * (1 + abs(exact))


def test_a_sphere_rule_is_not_mapped_onto_a_box():
    rule = lebedev_rule(5)
    with pytest.raises(ValueError, match="`a` and `b`"):
        rule.integrate(lambda p: p[:, 0], a=[0, 0, 0], b=[1, 1, 1])


def test_input_validation():
    with pytest.raises(ValueError, match=r"`order` must be one of 3, 5, .*, 131; got 4"):
        lebedev_rule(4)
    with pytest.raises(ValueError, match="`order`"):
        lebedev_rule(33)
    with pytest.raises(ValueError, match="`order`"):
        lebedev_rule(133)
    with pytest.raises(ValueError, match="`order`"):
        lebedev_rule(-3)
    with pytest.raises(TypeError, match="`order`"):
        lebedev_rule(7.0)
    with pytest.raises(TypeError, match="`order`"):
        lebedev_rule(True)
    with pytest.raises(TypeError, match="`order`"):
        lebedev_rule("7")
    assert lebedev_rule(np.int64(7)).degree == 7


def test_a_0d_integer_array_is_an_order():
    # scipy accepts np.array(7); the rule's weights sum to 4 pi and integrate x^2 to 4 pi / 3
    rule = lebedev_rule(np.array(7))
    assert rule.degree == 7 and np.isclose(rule.weights.sum(), 4 * np.pi, rtol=1e-14, atol=0)
    assert np.isclose(rule.weights @ rule.nodes[:, 0]**2, 4 * np.pi / 3, rtol=1e-14, atol=0)
    with pytest.raises(TypeError, match="`order`"):
        lebedev_rule(np.array(True))
