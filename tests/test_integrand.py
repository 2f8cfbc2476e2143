"""The one integrand wrapper (quadlib._integrand.Integrand) and the integrators that call f through it."""
import math

import numpy as np
import pytest

import quadlib
from quadlib._integrand import Integrand


def test_vectorized_values_keep_their_shape_and_are_counted():
    calls = []

    def f(x, c):
        calls.append(x.shape)
        return c * x

    integrand = Integrand(f, (2.0,))
    x = np.linspace(0.0, 1.0, 7)
    np.testing.assert_array_equal(integrand(x), 2.0 * x)
    np.testing.assert_array_equal(integrand(x[:3], args=(3.0,)), 3.0 * x[:3])   # per-call arguments
    assert calls == [(7,), (3,)]                   # one call per batch, never one per point
    assert integrand.nfev == 10 and integrand.value_shape == () and integrand.is_complex is False


@pytest.mark.parametrize("value_ndim, shape, ok", [
    (0, (5,), True), (0, (5, 1), False),
    (1, (5,), True), (1, (5, 2), True), (1, (5, 2, 3), False),
    (None, (5, 2, 3), True), (None, (), False), (None, (4,), False),
])
def test_value_shapes(value_ndim, shape, ok):
    integrand = Integrand(lambda x: np.ones(shape), value_ndim=value_ndim)
    x = np.zeros(5)
    if ok:
        assert integrand(x).shape == shape
    else:
        with pytest.raises(ValueError, match=r"`f` must return an array of shape \(5,.*got shape"):
            integrand(x)


def test_pointwise_points_are_floats_or_rows_and_equal_the_vectorized_call():
    seen = []

    def f(t):
        seen.append(type(t))
        return [math.sin(t), math.cos(t)]

    x = np.linspace(0.0, 1.0, 9)
    pointwise = Integrand(f, vectorized=False, value_ndim=1)
    vectorized = Integrand(lambda x: np.stack([np.sin(x), np.cos(x)], axis=1), value_ndim=1)
    np.testing.assert_allclose(pointwise(x), vectorized(x), rtol=0, atol=1e-15)
    assert set(seen) == {float} and pointwise.nfev == 9

    rows = []
    box = Integrand(lambda row: rows.append(row.shape) or row.sum(), vectorized=False)
    np.testing.assert_array_equal(box(np.ones((4, 3))), np.full(4, 3.0))
    assert rows == [(3,)] * 4


def test_pointwise_shape_errors():
    with pytest.raises(ValueError, match="`f` must return values of one shape at every point"):
        Integrand(lambda t: [t] if t < 0.5 else [t, t], vectorized=False)(np.linspace(0, 1, 5))
    with pytest.raises(ValueError, match=r"`f` must return a number at each point when vectorized=False, got "
                                          r"shape \(2,\)"):
        Integrand(lambda t: [t, t], vectorized=False, value_ndim=0)(np.linspace(0, 1, 5))
    empty = Integrand(lambda t: t, vectorized=False)(np.zeros(0))
    assert empty.shape == (0,) and empty.dtype == np.float64


def test_the_shape_must_not_change_between_calls():
    integrand = Integrand(lambda x: np.ones((len(x), 2 if len(x) < 5 else 3)), value_ndim=1)
    integrand(np.zeros(3))
    with pytest.raises(ValueError, match=r"first \(2,\), then \(3,\)"):
        integrand(np.zeros(6))
    # a call with no points fixes nothing (f(empty) need not show the shape of its values)
    later = Integrand(lambda x: np.zeros(len(x)) if len(x) == 0 else np.ones((len(x), 2)), value_ndim=1)
    assert later(np.zeros(0)).shape == (0,)
    assert later(np.zeros(4)).shape == (4, 2) and later.value_shape == (2,)


def test_complex_values_are_kept():
    integrand = Integrand(lambda x: np.exp(1j * x).astype(np.complex64))
    y = integrand(np.linspace(0, 1, 4))
    assert y.dtype == np.complex128 and integrand.is_complex
    real_first = Integrand(lambda x: np.exp(1j * x) if x[0] > 0 else np.ones(len(x)))
    real_first(np.zeros(2))
    with pytest.raises(ValueError, match="`f` returned complex values after real ones"):
        real_first(np.ones(2))
    # real after complex is fine (a complex integrand that happens to be real somewhere)
    complex_first = Integrand(lambda x: np.exp(1j * x) if x[0] > 0 else np.ones(len(x)))
    complex_first(np.ones(2))
    assert complex_first(np.zeros(2)).dtype == np.complex128
    with pytest.raises(TypeError, match="`f` must return real numbers, got dtype complex128"):
        Integrand(lambda x: 1j * x, real=True)(np.ones(2))


@pytest.mark.parametrize("value", [np.array(["1", "2"]), np.array([None, None]), np.array([1, 2], dtype="M8[D]")])
@pytest.mark.parametrize("vectorized", [True, False])
def test_values_that_are_not_numbers_are_a_type_error(value, vectorized):
    f = (lambda x: value) if vectorized else (lambda t: value[0])
    with pytest.raises(TypeError, match="`f` must return real or complex numbers, got dtype"):
        Integrand(f, vectorized=vectorized)(np.zeros(2))


def test_integer_and_boolean_values_become_float64():
    assert Integrand(lambda x: x > 0)(np.array([-1.0, 1.0])).dtype == np.float64
    assert Integrand(lambda t: 1, vectorized=False)(np.zeros(3)).dtype == np.float64


def test_exceptions_from_f_name_the_integrator_and_the_point():
    def f(t):
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError) as info:
        Integrand(f, vectorized=False, caller="quadlib.tanh_sinh")(np.array([0.25]))
    assert info.value.__notes__ == ["(raised by the integrand passed to quadlib.tanh_sinh, called at x = 0.25)"]
    with pytest.raises(ZeroDivisionError) as info:
        Integrand(lambda x: f(0.0), caller="quadlib.qmc_quad")(np.zeros((2, 2)))
    assert info.value.__notes__ == ["(raised by the integrand passed to quadlib.qmc_quad)"]


def test_real_columns_split_complex_components():
    real = Integrand(lambda x: np.stack([x, 2 * x], axis=1), value_ndim=1)
    y = real(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(real.real_columns(y), [[1, 2], [2, 4]])
    cplx = Integrand(lambda x: np.stack([x + 1j, 2 * x - 3j], axis=1), value_ndim=1)
    columns = cplx.real_columns(cplx(np.array([1.0, 2.0])))
    np.testing.assert_array_equal(columns, [[1, 1, 2, -3], [2, 1, 4, -3]])
    assert columns.flags.c_contiguous and columns.dtype == np.float64


# --------------------------------------------------------------------------------- the integrators use it

STRINGS = lambda x: np.array(["1"] * len(x))  # noqa: E731

NON_NUMERIC = {
    "tanh_sinh": lambda: quadlib.tanh_sinh(STRINGS, 0.0, 1.0, vectorized=True),
    "tanh_sinh-scalar": lambda: quadlib.tanh_sinh(lambda t: "1", 0.0, 1.0),
    "romberg": lambda: quadlib.romberg(STRINGS, 0.0, 1.0),
    "qmc_quad": lambda: quadlib.qmc_quad(STRINGS, [0.0], [1.0]),
    "cubature": lambda: quadlib.cubature(STRINGS, [0.0], [1.0]),
    "nquad": lambda: quadlib.nquad(STRINGS, [(0.0, 1.0)]),
    "Rule.integrate": lambda: quadlib.gauss_legendre(4).integrate(STRINGS, 0.0, 1.0),
}


@pytest.mark.parametrize("name", NON_NUMERIC)
def test_non_numeric_values_are_a_type_error_in_every_integrator(name):
    with pytest.raises(TypeError, match="`f` must return real"):
        NON_NUMERIC[name]()


def test_tanh_sinh_values_that_change_shape_are_an_error_not_a_broadcast():
    # tanh_sinh added the levels' sums without checking: (2,) + (3,) leaked numpy's broadcasting error
    def f(x):
        return np.ones((len(x), 2 if f.calls == 0 else 3)) * (f.__setattr__("calls", f.calls + 1) or 1)

    f.calls = 0
    with pytest.raises(ValueError, match=r"`f` must return values of one shape at every point: first \(2,\)"):
        quadlib.tanh_sinh(f, 0.0, 1.0, vectorized=True)


@pytest.mark.parametrize("integrate", [
    lambda f: quadlib.tanh_sinh(f, 0.0, 1.0, vectorized=True),
    lambda f: quadlib.romberg(f, 0.0, 1.0),
    lambda f: quadlib.qmc_quad(lambda x: f(x[:, 0]), [0.0], [1.0], n_points=64, n_randomizations=4),
    lambda f: quadlib.cubature(lambda x: f(x[:, 0]), [0.0], [1.0]),
    lambda f: quadlib.nquad(lambda x: f(x[:, 0]), [(0.0, 1.0)]),
], ids=["tanh_sinh", "romberg", "qmc_quad", "cubature", "nquad"])
def test_nfev_counts_the_points_f_was_given(integrate):
    points = []

    def f(x):
        points.append(len(x))
        return np.exp(x)

    res = integrate(f)
    assert res.nfev == sum(points) > 0
