import numpy as np
import pytest

import quadlib


def test_disc_area_with_variable_limits():
    res = quadlib.nquad(lambda x: np.ones(len(x)), [(-1, 1), lambda x1: (-np.sqrt(1 - x1 ** 2), np.sqrt(1 - x1 ** 2))])
    assert res.success and abs(res.integral - np.pi) <= res.error


def test_gaussian_over_the_plane_and_a_box():
    res = quadlib.nquad(lambda x: np.exp(-np.sum(x ** 2, axis=1)), [(-np.inf, np.inf)] * 2, rtol=1e-8)
    assert res.success and abs(res.integral - np.pi) <= res.error
    res = quadlib.nquad(lambda x, c: np.exp(c * x.sum(axis=1)), [(0, 1), (0, 2), (0, 3)], args=(0.5,), rtol=1e-8)
    exact = np.prod([(np.exp(0.5 * b) - 1) / 0.5 for b in (1, 2, 3)])
    assert res.success and abs(res.integral - exact) <= res.error and res.error < 1e-7 * exact


def test_f_is_called_with_batches_of_points():
    shapes = []

    def f(x):
        shapes.append(x.shape)
        return x[:, 0] * x[:, 1]

    res = quadlib.nquad(f, [(0, 1), (0, 1)])
    assert abs(res.integral - 0.25) <= res.error
    assert all(s[1] == 2 for s in shapes) and max(s[0] for s in shapes) > 21


def test_budget_and_inner_failures_are_reported():
    with pytest.warns(quadlib.IntegrationWarning, match="max_nfev"):
        res = quadlib.nquad(lambda x: np.exp(-np.sum(x ** 2, axis=1)), [(-np.inf, np.inf)] * 3, max_nfev=10_000)
    assert not res.success and res.status == 6
    with pytest.warns(quadlib.IntegrationWarning):
        res = quadlib.nquad(lambda x: 1 / (x[:, 0] * x[:, 1]), [(0, 1), (0, 1)], max_nfev=10 ** 6)
    assert not res.success


def test_input_validation():
    with pytest.raises(TypeError, match="`f`"):
        quadlib.nquad(None, [(0, 1)])
    with pytest.raises(ValueError, match="`ranges`"):
        quadlib.nquad(np.sum, [])
    with pytest.raises(ValueError, match=r"`ranges\[1\]`"):
        quadlib.nquad(np.sum, [(0, 1), (0, 1, 2)])
    with pytest.raises(ValueError, match="`atol` and `rtol`"):
        quadlib.nquad(np.sum, [(0, 1)], rtol=0.0)
    with pytest.raises(ValueError, match="`f`"):
        quadlib.nquad(lambda x: np.ones(3), [(0, 1)])
