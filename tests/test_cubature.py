"""The Genz–Malik kernel (quadlib._cubature is not exported yet: its error estimate is still being made
honest on non-smooth integrands). Exactness of the rule pair and convergence on smooth integrands."""
import itertools

import numpy as np
import pytest

from quadlib._cubature import cubature
from quadlib._extensions._cubature import genz_malik_template, genz_malik_weights


def _moment(alpha):
    return float(np.prod([0.0 if a % 2 else 2.0 / (a + 1) for a in alpha]))


@pytest.mark.parametrize("d", [1, 2, 3, 4, 6])
def test_rule_pair_degrees(d):
    points, kind = genz_malik_template(d)
    assert points.shape == (2 ** d + 2 * d * d + 2 * d + 1, d)
    w7, w5 = (w[kind] for w in genz_malik_weights(d))
    for degree, weights in ((7, w7), (5, w5)):
        for alpha in itertools.product(range(degree + 1), repeat=d):
            if sum(alpha) > degree:
                continue
            got = np.sum(weights * np.prod(points ** np.array(alpha), axis=1))
            assert abs(got - _moment(alpha)) <= 1e-13 * 2 ** d, (degree, alpha)


def test_converges_on_smooth_integrands():
    res = cubature(lambda x: np.exp(-np.sum(x * x, axis=1)), [-np.inf] * 3, [np.inf] * 3, rtol=1e-6)
    assert res.success and abs(res.integral - np.pi ** 1.5) <= res.error
    res = cubature(lambda x: np.cos(x.sum(axis=1)), [0, 0], [1, 2], rtol=1e-10)
    exact = np.cos(1) + np.cos(2) - np.cos(3) - 1
    assert res.success and abs(res.integral - exact) <= res.error
    res = cubature(lambda x: np.stack([x[:, 0], x[:, 1] ** 2], axis=1), [0, 0], [1, 1])
    np.testing.assert_allclose(res.integral, [0.5, 1 / 3], rtol=1e-14)


def test_input_validation():
    f = lambda x: x[:, 0]  # noqa: E731
    with pytest.raises(ValueError, match="`b`"):
        cubature(f, [0, 0], [1])
    with pytest.raises(ValueError, match="`a` must be below `b`"):
        cubature(f, [0, 1], [1, 1])
    with pytest.raises(ValueError, match="`method`"):
        cubature(f, [0], [1], method="magic")
    with pytest.raises(TypeError, match="`f`"):
        cubature(None, [0], [1])
    with pytest.raises(ValueError, match="`f`"):
        cubature(lambda x: np.ones(3), [0, 0], [1, 1])


def test_breakpoints_cut_the_box():
    # a jump at x = 0.3 between the nodes of the whole box: cut there, the result is exact
    f = lambda x: np.where(x[:, 0] < 0.3, 1.0, 2.0) * np.exp(x[:, 1])  # noqa: E731
    exact = (0.3 + 2 * 0.7) * (np.e - 1)
    res = cubature(f, [0, 0], [1, 1], rtol=1e-10, points=[[0.3], []])
    assert res.success and abs(res.integral - exact) <= res.error
    with pytest.raises(ValueError, match="`points`"):
        cubature(f, [0, 0], [1, 1], points=[[0.3]])


def test_never_accepts_an_integrand_it_has_not_seen():
    # zero at every node of the first pass (the bump sits between them): it must keep looking
    f = lambda x: np.exp(-((x[:, 0] - 0.51) ** 2 + (x[:, 1] - 0.49) ** 2) / 1e-4)  # noqa: E731
    res = cubature(f, [0, 0], [1, 1], rtol=1e-6, max_nfev=200_000)
    assert not res.success or abs(res.integral - np.pi * 1e-4) <= res.error


def test_dimension_adaptive_on_a_product_gaussian():
    from scipy.special import erf

    d, c, w = 5, 3.0, 0.4
    f = lambda x: np.exp(-np.sum((c * (x - w)) ** 2, axis=1))  # noqa: E731
    exact = (np.sqrt(np.pi) / (2 * c) * (erf(c * (1 - w)) + erf(c * w))) ** d
    res = cubature(f, [0] * d, [1] * d, rtol=1e-8, method="sparse_adaptive", max_nfev=10 ** 6)
    assert res.success and abs(res.integral - exact) <= res.error and res.error <= 1e-8 * exact


@pytest.mark.parametrize("method", ["qmc", "mc"])
def test_randomized_methods_report_standard_errors(method):
    f = lambda x: np.prod(np.cos(x), axis=1)  # noqa: E731
    exact = np.sin(1.0) ** 4
    rtol = 1e-4 if method == "qmc" else 2e-3  # plain MC converges like n^(-1/2)
    res = cubature(f, [0] * 4, [1] * 4, rtol=rtol, method=method, seed=3, max_nfev=10 ** 7)
    assert res.success and res.standard_error
    assert abs(res.integral - exact) <= 5 * res.error  # a standard error, not a bound
    with pytest.warns(Warning):
        res = cubature(f, [0] * 4, [1] * 4, rtol=1e-12, method=method, seed=3, max_nfev=10 ** 5)
    assert not res.success
