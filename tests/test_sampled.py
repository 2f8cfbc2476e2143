"""Tests for quadlib._sampled against scipy.integrate, the peer whose behaviour it follows."""
from hypothesis import given, settings, strategies as st
import numpy as np
import pytest
import scipy.integrate

from quadlib._sampled import cumulative_trapezoid, simpson, trapezoid

RTOL = 1e-13


def _random_problem(rng, n=None):
    """Random y (1-3 dimensions), an axis, and x: None, 1-D, full shape, or broadcastable; uneven,
    sometimes decreasing."""
    ndim = int(rng.integers(1, 4))
    shape = [int(s) for s in rng.integers(1, 5, size=ndim)]
    axis = int(rng.integers(-ndim, ndim))
    shape[axis] = int(rng.integers(2, 14)) if n is None else n
    n = shape[axis]
    y = rng.standard_normal(shape)
    if rng.random() < 0.2:
        y = y + 1j * rng.standard_normal(shape)
    kind = rng.choice(["none", "1d", "full", "broadcast"])
    sign = -1.0 if rng.random() < 0.2 else 1.0
    start = rng.uniform(-5, 5)
    if kind == "none":
        return y, None, float(rng.uniform(0.01, 3.0)) * sign, axis
    if kind == "1d":
        x = start + sign * np.cumsum(rng.uniform(0.05, 1.0, size=n))
        return y, x, 1.0, axis
    xshape = list(shape) if kind == "full" else [1] * ndim
    xshape[axis] = n
    x = start + sign * np.cumsum(rng.uniform(0.05, 1.0, size=xshape), axis=axis)
    return y, x, 1.0, axis


def _scaled_error(ours, ref, scale):
    """Largest |ours - ref| relative to a scale that does not vanish when the integral cancels."""
    return np.max(np.abs(np.asarray(ours) - np.asarray(ref)) / np.maximum(np.abs(ref), scale))


def _scale(y, x, dx, axis):
    # The integral of |y| over |spacing|: the size of the terms that the sums add up.
    return np.max(np.abs(scipy.integrate.trapezoid(np.abs(y), x=x, dx=abs(dx), axis=axis)))


def _compare(ours_fn, ref_fn, y, x, dx, axis, **kwargs):
    ours = ours_fn(y, x, dx=dx, axis=axis, **kwargs)
    ref = ref_fn(y, x=x, dx=dx, axis=axis, **kwargs)
    assert np.shape(ours) == np.shape(ref)
    assert np.asarray(ours).dtype == np.asarray(ref).dtype
    err = _scaled_error(ours, ref, _scale(y, x, dx, axis))
    assert err <= RTOL, err
    return err


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_trapezoid_matches_scipy(seed):
    _compare(trapezoid, scipy.integrate.trapezoid, *_random_problem(np.random.default_rng(seed)))


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_simpson_matches_scipy(seed):
    _compare(simpson, scipy.integrate.simpson, *_random_problem(np.random.default_rng(seed)))


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), initial=st.sampled_from([None, 0]))
def test_cumulative_trapezoid_matches_scipy(seed, initial):
    _compare(cumulative_trapezoid, scipy.integrate.cumulative_trapezoid,
             *_random_problem(np.random.default_rng(seed)), initial=initial)


@pytest.mark.parametrize("n", range(2, 16))
def test_every_sample_count_matches_scipy(n):
    # Even and odd counts (Cartwright's last-interval correction for even ones), each x layout.
    rng = np.random.default_rng(n)
    for _ in range(40):
        problem = _random_problem(rng, n=n)
        _compare(simpson, scipy.integrate.simpson, *problem)
        _compare(trapezoid, scipy.integrate.trapezoid, *problem)
        _compare(cumulative_trapezoid, scipy.integrate.cumulative_trapezoid, *problem, initial=0)


def test_integer_input_and_scalar_output():
    y = np.arange(10)
    for ours, ref in [(trapezoid, scipy.integrate.trapezoid), (simpson, scipy.integrate.simpson)]:
        value = ours(y)
        assert isinstance(value, np.float64)
        assert value == ref(y)
    assert trapezoid([1.0, 2.0, 3.0]) == 4.0


@pytest.mark.parametrize("n", [3, 4, 5, 8, 9])
def test_simpson_exactness(n):
    rng = np.random.default_rng(n)
    x = np.sort(rng.uniform(-1, 2, size=n))
    exact = (x[-1] ** 3 - x[0] ** 3) / 3 - (x[-1] ** 2 - x[0] ** 2)
    assert simpson(x ** 2 - 2 * x, x) == pytest.approx(exact, rel=1e-13)  # quadratics, any spacing
    if n % 2:
        xe = np.linspace(0.0, 2.0, n)
        assert simpson(xe ** 3, dx=xe[1] - xe[0]) == pytest.approx(4.0, rel=1e-14)  # cubics, even grid


def test_cumulative_trapezoid_consistent_with_trapezoid():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((3, 7))
    x = np.cumsum(rng.uniform(0.1, 1, 7))
    c = cumulative_trapezoid(y, x, initial=0)
    assert c.shape == y.shape and np.all(c[:, 0] == 0)
    for i in range(1, 7):
        np.testing.assert_allclose(c[:, i], trapezoid(y[:, :i + 1], x[:i + 1]), rtol=1e-14, atol=1e-15)
    assert cumulative_trapezoid([5.0]).shape == (0,)
    np.testing.assert_array_equal(cumulative_trapezoid([5.0], initial=0), [0.0])


@pytest.mark.parametrize("func", [trapezoid, simpson, cumulative_trapezoid])
def test_input_validation(func):
    y = np.ones((3, 5))
    with pytest.raises(ValueError, match="`x`"):
        func(y, np.arange(4.0))                     # wrong length along axis
    with pytest.raises(ValueError, match="`x`"):
        func(y, np.ones((3, 4)))                    # full shape, wrong length along axis
    with pytest.raises(ValueError, match="`x`"):
        func(y, np.ones((2, 5)))                    # does not broadcast to y
    with pytest.raises(ValueError, match="`x`"):
        func(y, np.ones((1, 3, 5)))                 # too many dimensions
    with pytest.raises(ValueError, match="`x`"):
        func(y, np.array([0.0, 1.0, np.nan, 3.0, 4.0]))
    with pytest.raises(TypeError, match="`x`"):
        func(y, np.arange(5) * 1j)
    with pytest.raises(ValueError, match="`dx`"):
        func(y, dx=np.inf)
    with pytest.raises(TypeError, match="`dx`"):
        func(y, dx=np.ones(5))
    with pytest.raises(ValueError, match="`axis`"):
        func(y, axis=2)
    with pytest.raises(TypeError, match="`axis`"):
        func(y, axis=1.0)
    with pytest.raises(ValueError, match="`y`"):
        func(3.0)
    with pytest.raises(TypeError, match="`y`"):
        func(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="`y`"):
        func(np.ones((3, 0)))
    if func is not cumulative_trapezoid:
        with pytest.raises(ValueError, match="`y` must have at least 2 samples"):
            func(np.ones((3, 1)))
    if func is simpson:
        with pytest.raises(ValueError, match="`x` must not repeat"):
            func(np.ones(4), [0.0, 1.0, 1.0, 2.0])
    if func is cumulative_trapezoid:
        with pytest.raises(ValueError, match="`initial`"):
            func(y, initial=1.0)
        with pytest.raises(TypeError, match="`initial`"):
            func(y, initial=np.zeros(3))
