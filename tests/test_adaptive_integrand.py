"""quad calls a complex or vector-valued `f`, and batches of integrals, through the one wrapper
(quadlib._integrand.Integrand): arguments, pointwise and vectorized calls, complex values, and the errors
for values of the wrong shape or type. Expected values are closed forms."""
import math

import numpy as np
import pytest

import quadlib


def _exp_ik(k):
    """The integral of exp(i k x) over [0, 1]."""
    return complex(math.sin(k), 1.0 - math.cos(k)) / k


@pytest.mark.parametrize("vectorized", [False, True])
def test_complex_values_pointwise_and_vectorized(vectorized):
    seen = []

    def f(x, k):
        seen.append(type(x))
        return np.exp(1j * k * x)

    res = quadlib.quad(f, 0.0, 1.0, args=(3.0,), vectorized=vectorized)
    assert res.success and isinstance(res.integral, complex)
    assert abs(res.integral - _exp_ik(3.0)) < 1e-13
    # a pointwise f gets Python floats, a vectorized one arrays of abscissae
    assert set(seen) == ({np.ndarray} if vectorized else {float})


@pytest.mark.parametrize("vectorized", [False, True])
def test_args_that_are_not_a_tuple_are_the_one_extra_argument(vectorized):
    # complex f and breakpoints take the Python path, where `args` is normalized by args_tuple
    res = quadlib.quad(lambda x, c: c * 1j * x, 0.0, 1.0, args=2.0, vectorized=vectorized)
    assert abs(res.integral - 1j) < 1e-14
    res = quadlib.quad(lambda x, c: c * abs(x - 0.3), 0.0, 1.0, args=2.0, points=[0.3], vectorized=vectorized)
    assert abs(res.integral - 2.0 * (0.3 ** 2 + 0.7 ** 2) / 2) < 1e-14


def test_batched_integrals_pass_each_point_its_own_argument():
    k = np.array([1.0, 2.0, 5.0])
    calls = []

    def f(x, k):
        calls.append((x.shape, np.shape(k)))
        return np.exp(1j * k * x)

    res = quadlib.quad(f, 0.0, 1.0, args=(k,), vectorized=True)
    assert res.integral.shape == (3,) and np.all(res.success)
    np.testing.assert_allclose(res.integral, [_exp_ik(kk) for kk in k], rtol=1e-13)
    assert all(x_shape == k_shape for x_shape, k_shape in calls)   # one argument per abscissa


def test_vector_valued_complex_integrand():
    exact = [0.5, 0.5j, _exp_ik(2.0)]
    for vectorized, f in [(False, lambda x: np.array([x, 1j * x, np.exp(2j * x)])),
                          (True, lambda x: np.stack([x, 1j * x, np.exp(2j * x)], axis=1))]:
        res = quadlib.quad(f, 0.0, 1.0, vectorized=vectorized)
        assert res.success and res.integral.shape == (3,)
        np.testing.assert_allclose(res.integral, exact, rtol=1e-13, atol=1e-15)


def test_complex_over_the_real_line():
    res = quadlib.quad(lambda x: (1 + 2j) * np.exp(-x * x), -np.inf, np.inf)
    assert res.success and abs(res.integral - (1 + 2j) * math.sqrt(math.pi)) < 1e-12


class _Switches:
    """Real at the first `n` calls, then complex (or the reverse)."""

    def __init__(self, n, complex_first=False):
        self.n, self.calls, self.complex_first = n, 0, complex_first

    def __call__(self, x):
        self.calls += 1
        return 1j * x if (self.calls > self.n) != self.complex_first else x


def test_complex_after_real_is_an_error_and_real_after_complex_is_complex():
    with pytest.raises(ValueError, match="`f` returned .*after real"):
        quadlib.quad(_Switches(3), 0.0, 1.0)
    # a complex integrand that happens to be real at some points is still integrated as complex
    res = quadlib.quad(_Switches(30, complex_first=True), 0.0, 1.0)
    assert res.success and isinstance(res.integral, complex)


@pytest.mark.parametrize("f, vectorized, match", [
    (lambda x: np.ones(3), True, r"`f` must return an array of shape \(21,\) or \(21, m\)"),
    (lambda x: np.ones((len(x), 2, 3)), True, r"`f` must return an array of shape \(21,\) or \(21, m\)"),
    (lambda x: 1.0, True, r"`f` must return an array of shape .*got shape \(\)"),
    (lambda x: np.ones((2, 2)), False, r"`f` must return a number or an array of shape \(m,\)"),
    (lambda x: [x] if x < 0.5 else [x, x], False, "`f` must return values of one shape at every point"),
], ids=["wrong-length", "3-d", "scalar", "pointwise-2-d", "ragged"])
def test_values_of_the_wrong_shape_name_f(f, vectorized, match):
    with pytest.raises(ValueError, match=match):
        quadlib.quad(f, 0.0, 1.0, vectorized=vectorized)


def test_the_shape_must_not_change_between_calls():
    def f(x):
        # the first request is one panel (21 abscissae), later ones are the two halves of a bisection
        return np.stack([np.sin(30 * x)] * (2 if len(x) == 21 else 3), axis=1)

    # the message names f and what it returned against what the first call set (2 real values per point)
    with pytest.raises(ValueError, match=r"`f` must return 84 real values \(2 per point\), got an array of "
                                         r"shape \(42, 3\)"):
        quadlib.quad(f, 0.0, 1.0, vectorized=True)


@pytest.mark.parametrize("f", [lambda x: np.array(["a"] * len(x)), lambda x: np.array([None] * len(x))],
                         ids=["strings", "objects"])
def test_values_that_are_not_numbers_are_a_type_error_naming_f(f):
    with pytest.raises(TypeError, match="`f` must return real or complex numbers, got dtype"):
        quadlib.quad(f, 0.0, 1.0, vectorized=True)


def test_exceptions_from_f_say_they_came_from_the_integrand():
    def f(x):
        if x > 0.6:
            raise KeyError("boom")
        return 1j * x

    with pytest.raises(KeyError) as info:
        quadlib.quad(f, 0.0, 1.0)
    notes = getattr(info.value, "__notes__", [])
    assert len(notes) == 1 and "quadlib.quad, called at x = 0.6" in notes[0]


@pytest.mark.parametrize("kwargs", [{}, {"points": [0.5]}, {"vectorized": True}], ids=["quick", "points", "vec"])
def test_tolerances_alike_on_every_path(kwargs):
    # an infinite tolerance accepts the first estimate on the compiled path and the Python path alike
    for f in (np.sin, lambda x: np.exp(1j * x)):
        res = quadlib.quad(f, 0.0, 1.0, atol=np.inf, **kwargs)
        assert res.success and res.n_subdivisions == (2 if kwargs.get("points") else 1)
        for bad, error, match in [({"atol": np.nan}, ValueError, "`atol` must be finite, got nan"),
                                  ({"rtol": -1.0}, ValueError, "`rtol` must be non-negative"),
                                  ({"rtol": 0.0}, ValueError, "`atol` and `rtol` cannot both be zero"),
                                  ({"atol": "1e-3"}, TypeError, "`atol` must be a real number")]:
            with pytest.raises(error, match=match):
                quadlib.quad(f, 0.0, 1.0, **bad, **kwargs)
