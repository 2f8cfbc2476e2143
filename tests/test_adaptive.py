"""quad: behaviour, modes (scalar, vectorized, vector-valued, complex, batched, LowLevelCallable) and
bad input. Accuracy and honesty over the battery of problems are in tests/test_battery.py."""
import ctypes
import ctypes.util
import warnings

import numpy as np
import pytest
import scipy
import scipy.integrate

import quadlib
from quadlib import IntegrationWarning, _adaptive


def test_matches_quadpack_evaluation_counts():
    # Same algorithm as QUADPACK's QAGS: the same number of evaluations as scipy on these
    # (our Kronrod nodes are the correctly rounded ones, so the values may differ in the last bits).
    for f, a, b in [(np.exp, 0, 1), (np.log, 0, 1), (lambda x: 1 / np.sqrt(x), 0, 1),
                    (lambda x: np.sin(30 * x) * np.exp(x), 0, 3), (lambda x: np.abs(x - 0.3), 0, 1)]:
        ours = quadlib.quad(f, a, b, rtol=1e-10)
        ref = scipy.integrate.quad(f, a, b, epsabs=0, epsrel=1e-10, full_output=True)
        assert ours.nfev == ref[2]["neval"]
        assert ours.success and abs(ours.integral - ref[0]) <= ours.error + ref[1]


@pytest.mark.parametrize("name", sorted(_adaptive.RULES))
def test_null_rules_of_the_error_estimate(name):
    # the kernel's second opinion on |K - G|: symmetric rules that give 0 on every polynomial up to degrees
    # 2n - 3 and 2n - 5 (n Gauss nodes) but not on the next even degree, orthogonal to K - G and to each other,
    # with its norm
    from scipy.special import eval_legendre

    nodes, wk, wg, null2, null3 = _adaptive._kronrod_arrays(name)
    n = (nodes.size - 1) // 2
    difference = wk - wg
    for rule, degree in ((null2, 2 * n - 3), (null3, 2 * n - 5)):
        moments = np.array([rule @ eval_legendre(k, nodes) for k in range(degree + 2)])
        assert np.all(np.abs(moments[:degree + 1]) <= 1e-14) and abs(moments[degree + 1]) > 1e-6
        assert np.allclose(rule[np.argsort(nodes)], rule[np.argsort(-nodes)], rtol=0, atol=1e-15)
        assert np.linalg.norm(rule) == pytest.approx(np.linalg.norm(difference), rel=1e-12)
    assert abs(null2 @ difference) + abs(null3 @ difference) + abs(null2 @ null3) <= 1e-14


def test_vectorized_equals_scalar():
    f = lambda x: np.cos(40 * x) / (1 + x * x)  # noqa: E731
    scalar = quadlib.quad(f, -2.0, 3.0)
    vector = quadlib.quad(f, -2.0, 3.0, vectorized=True)
    assert scalar.integral == vector.integral and scalar.nfev == vector.nfev and scalar.error == vector.error


def test_vectorized_calls_once_per_batch_of_intervals():
    calls = []

    def f(x):
        calls.append(x.size)
        return np.sqrt(x)

    res = quadlib.quad(f, 0.0, 1.0, vectorized=True)
    assert res.success and sum(calls) == res.nfev
    assert calls[0] == 21 and set(calls[1:]) <= {42}  # the first pass, then both halves of one bisection


def test_infinite_ranges_and_breakpoints():
    res = quadlib.quad(lambda x: np.exp(-x * x), -np.inf, np.inf)
    assert abs(res.integral - np.sqrt(np.pi)) <= max(res.error, 1e-15) and res.error < 1e-10
    res = quadlib.quad(lambda x: 1 / (1 + x * x), 1.0, np.inf)
    assert abs(res.integral - np.pi / 4) < 1e-12
    res = quadlib.quad(lambda x: np.exp(x), -np.inf, 0.0)
    assert abs(res.integral - 1) < 1e-12
    # breakpoints with an infinite range: split into finite and infinite pieces
    res = quadlib.quad(lambda x: np.exp(-np.abs(x - 1)), -np.inf, np.inf, points=[1.0])
    assert abs(res.integral - 2) < 1e-12
    res = quadlib.quad(lambda x: np.floor(x), 0.0, 3.0, points=[1.0, 2.0])
    assert res.integral == pytest.approx(3.0, rel=1e-14) and res.nfev == 63


def test_reversed_and_empty_ranges():
    assert quadlib.quad(np.exp, 1.0, 0.0).integral == pytest.approx(1 - np.e, rel=1e-14)
    assert quadlib.quad(np.exp, -np.inf, 0.0).integral == pytest.approx(-quadlib.quad(np.exp, 0.0, -np.inf).integral)
    res = quadlib.quad(np.exp, 2.0, 2.0)
    assert res.integral == 0.0 and res.nfev == 0 and res.success


def test_complex_and_vector_valued():
    res = quadlib.quad(lambda x: np.exp(1j * 3 * x), 0.0, 1.0)
    assert abs(res.integral - (np.exp(3j) - 1) / 3j) < 1e-13
    res = quadlib.quad(lambda x: np.stack([x, x ** 2, np.cos(x)], axis=-1), 0.0, 1.0, vectorized=True)
    np.testing.assert_allclose(res.integral, [0.5, 1 / 3, np.sin(1.0)], rtol=1e-13)
    scalar = quadlib.quad(lambda x: [x, x ** 2, np.cos(x)], 0.0, 1.0)
    np.testing.assert_array_equal(scalar.integral, res.integral)


def test_batched_integrals_match_one_by_one():
    k = np.linspace(0.1, 30.0, 50)
    batch = quadlib.quad(lambda x, k: np.exp(-k * x), 0.0, 1.0, args=(k,), vectorized=True, rtol=1e-12)
    exact = -np.expm1(-k) / k
    assert batch.integral.shape == (50,) and np.all(batch.success)
    np.testing.assert_allclose(batch.integral, exact, rtol=1e-12)
    for i in (0, 17, 49):
        one = quadlib.quad(lambda x: np.exp(-k[i] * x), 0.0, 1.0, rtol=1e-12)
        assert one.integral == batch.integral[i] and one.nfev == batch.nfev[i]
    # limits broadcast too, including infinite ones and empty ranges
    b = np.array([[1.0, np.inf, 0.0]])
    res = quadlib.quad(lambda x: np.exp(-x), np.zeros((2, 1)), b, vectorized=True)
    assert res.integral.shape == (2, 3)
    np.testing.assert_allclose(res.integral, [[1 - np.exp(-1), 1.0, 0.0]] * 2, rtol=1e-13)


def test_batch_reports_failures_per_integral():
    with pytest.warns(IntegrationWarning, match="1 of 2"):
        res = quadlib.quad(lambda x, p: x ** p, 0.0, 1.0, args=(np.array([0.5, -1.0]),), vectorized=True)
    assert res.success.tolist() == [True, False]


def _libm_cos():
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.cos.restype, libm.cos.argtypes = ctypes.c_double, [ctypes.c_double]
    return libm.cos


def test_low_level_callable():
    res = quadlib.quad(scipy.LowLevelCallable(_libm_cos()), 0.0, np.pi / 2)
    assert res.success and abs(res.integral - 1.0) < 1e-14
    proto = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_int, ctypes.POINTER(ctypes.c_double))
    packed = proto(lambda n, xx: xx[0] ** xx[1])  # f(x, p) = x**p with args packed after x
    llc = scipy.LowLevelCallable(packed)
    res = quadlib.quad(llc, 0.0, 1.0, args=(2.5,))
    assert abs(res.integral - 1 / 3.5) < 1e-13


def test_integrand_errors_propagate_with_context():
    def f(x):
        raise KeyError("boom")

    with pytest.raises(KeyError) as info:
        quadlib.quad(f, 0.0, 1.0)
    assert any("quadlib.quad" in note for note in getattr(info.value, "__notes__", ["quadlib.quad"]))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nonfinite_values_stop_with_a_status(value):
    with pytest.warns(IntegrationWarning, match="inf or NaN"):
        res = quadlib.quad(lambda x: value if x > 0.7 else 1.0, 0.0, 1.0)
    assert not res.success and res.status == 7


def test_zero_integral_with_rtol_only_terminates():
    with pytest.warns(IntegrationWarning):
        res = quadlib.quad(np.sin, 0.0, 2 * np.pi, rtol=1e-10)
    assert not res.success and abs(res.integral) < 1e-14 and res.nfev < 10_000
    res = quadlib.quad(np.sin, 0.0, 2 * np.pi, atol=1e-12)  # an absolute tolerance makes it meetable
    assert res.success


def test_work_is_bounded():
    with pytest.warns(IntegrationWarning, match="max_subdivisions"):
        res = quadlib.quad(lambda x: np.sin(1 / x), 0.0, 1.0, max_subdivisions=10)
    assert res.n_subdivisions <= 10 and not res.success
    with pytest.warns(IntegrationWarning, match="max_nfev"):
        res = quadlib.quad(lambda x: np.sin(1 / x), 0.0, 1.0, max_nfev=200)
    assert res.nfev <= 200 and not res.success


def test_input_validation():
    with pytest.raises(TypeError, match="`f`"):
        quadlib.quad(3.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="`a`"):
        quadlib.quad(np.exp, np.nan, 1.0)
    with pytest.raises(ValueError, match="`b`"):
        quadlib.quad(np.exp, 0.0, np.nan)
    with pytest.raises(ValueError, match="`rtol`"):
        quadlib.quad(np.exp, 0.0, 1.0, rtol=-1.0)
    with pytest.raises(ValueError, match="`atol`"):
        quadlib.quad(np.exp, 0.0, 1.0, atol=-1.0)
    with pytest.raises(ValueError, match="`atol` and `rtol`"):
        quadlib.quad(np.exp, 0.0, 1.0, rtol=0.0)
    with pytest.raises(ValueError, match="`rule`"):
        quadlib.quad(np.exp, 0.0, 1.0, rule="gk99")
    with pytest.raises(ValueError, match="`max_nfev`"):
        quadlib.quad(np.exp, 0.0, 1.0, max_nfev=0)
    with pytest.raises(ValueError, match="broadcast"):
        quadlib.quad(np.exp, np.zeros(2), np.ones(3), vectorized=True)
    with pytest.raises(ValueError, match="`points`"):
        quadlib.quad(np.exp, 0.0, 1.0, points=[np.nan])
    with pytest.raises(ValueError, match="`f`"):
        quadlib.quad(lambda x: np.ones(3), 0.0, 1.0, vectorized=True)
    with pytest.raises(TypeError, match="`f`"):
        quadlib.tanh_sinh("sin", 0.0, 1.0)
    with pytest.raises(ValueError, match="`a`"):
        quadlib.tanh_sinh(np.exp, np.nan, 1.0)
    with pytest.raises(ValueError, match="`max_level`"):
        quadlib.tanh_sinh(np.exp, 0.0, 1.0, max_level=0)


def test_tanh_sinh_never_evaluates_an_endpoint():
    seen = []

    def f(x):
        seen.append(np.array(x, copy=True))
        return 1 / np.sqrt(x * (1 - x))

    with pytest.warns(IntegrationWarning):  # at x = 1 the rounding of 1 - x limits it to ~1e-8, and it says so
        res = quadlib.tanh_sinh(f, 0.0, 1.0, vectorized=True)
    x = np.concatenate(seen)
    assert np.all((x > 0) & (x < 1)) and abs(res.integral - np.pi) <= res.error
    for a, b in [(0.0, np.inf), (-np.inf, 2.0), (-np.inf, np.inf)]:
        seen.clear()
        res = quadlib.tanh_sinh(lambda t: np.exp(-t * t) + 0 * f(0.5 + 0 * t), a, b, vectorized=True)
        assert res.success


def test_tanh_sinh_vectorized_equals_scalar():
    f = lambda x: np.exp(x) * np.log(x)  # noqa: E731
    assert quadlib.tanh_sinh(f, 0.0, 1.0).integral == quadlib.tanh_sinh(f, 0.0, 1.0, vectorized=True).integral


def test_weighted_input_validation():
    # issue 21: every bad weighted input is a ValueError or TypeError naming the argument
    f = np.exp
    with pytest.raises(ValueError, match="`wvar` is required.*'cos'"):
        quadlib.quad(f, 0.0, 1.0, weight="cos")
    with pytest.raises(ValueError, match="`wvar` is given without `weight`"):
        quadlib.quad(f, 0.0, 1.0, wvar=2.0)
    with pytest.raises(ValueError, match="`weight` must be one of 'cos', 'sin', 'cauchy', 'alg', 'alg-loga', "
                                         "'alg-logb', 'alg-log', got 'jacobi'"):
        quadlib.quad(f, 0.0, 1.0, weight="jacobi", wvar=1.0)
    with pytest.raises(ValueError, match="`weight`"):
        quadlib.quad(f, 0.0, 1.0, weight=3, wvar=1.0)
    # wrong shape of wvar for the weight
    with pytest.raises(ValueError, match=r"`wvar` must be a pair \(alpha, beta\)"):
        quadlib.quad(f, 0.0, 1.0, weight="alg", wvar=0.5)
    with pytest.raises(ValueError, match=r"`wvar` must be a pair \(alpha, beta\)"):
        quadlib.quad(f, 0.0, 1.0, weight="alg-log", wvar=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="`wvar`.*broadcast"):
        quadlib.quad(f, 0.0, 1.0, weight="cos", wvar=np.ones(3), args=(np.ones(2),), vectorized=True)
    with pytest.raises(TypeError, match="`wvar`"):
        quadlib.quad(f, 0.0, 1.0, weight="cos", wvar="fast")
    with pytest.raises(ValueError, match="`wvar` must be finite"):
        quadlib.quad(f, 0.0, 1.0, weight="sin", wvar=np.nan)
    # the pole: at an end, outside
    for c in (0.0, 1.0, 1.5, -0.2):
        with pytest.raises(ValueError, match="`wvar` \\(the pole c\\) must lie strictly between `a` and `b`"):
            quadlib.quad(f, 0.0, 1.0, weight="cauchy", wvar=c)
    with pytest.raises(ValueError, match="`points` must not contain the pole `wvar`"):
        quadlib.quad(f, 0.0, 1.0, weight="cauchy", wvar=0.5, points=[0.5])
    # alpha or beta <= -1
    for pair in ((-1.0, 0.0), (0.0, -1.0), (-2.0, 0.5)):
        with pytest.raises(ValueError, match="`wvar` = \\(alpha, beta\\) must have alpha > -1 and beta > -1"):
            quadlib.quad(f, 0.0, 1.0, weight="alg", wvar=pair)
    # infinite ranges: both ends for cos/sin; any for cauchy and the alg weights
    with pytest.raises(ValueError, match="`a`, `b`: weight='cos'.*not over the whole real line"):
        quadlib.quad(f, -np.inf, np.inf, weight="cos", wvar=1.0)
    for weight, wvar in (("cauchy", 0.5), ("alg", (0.0, 0.0)), ("alg-loga", (0.0, 0.0))):
        with pytest.raises(ValueError, match="`a` and `b` must be finite"):
            quadlib.quad(f, 0.0, np.inf, weight=weight, wvar=wvar)
        with pytest.raises(ValueError, match="`a` and `b` must be finite"):
            quadlib.quad(f, -np.inf, 1.0, weight=weight, wvar=wvar)
    # points with a weight other than cauchy; rule and shared with a weight
    for weight, wvar in (("cos", 1.0), ("sin", 1.0), ("alg", (0.0, 0.0))):
        with pytest.raises(ValueError, match="`points` cannot be combined with weight="):
            quadlib.quad(f, 0.0, 1.0, weight=weight, wvar=wvar, points=[0.5])
    with pytest.raises(ValueError, match="`rule` cannot be combined with `weight`"):
        quadlib.quad(f, 0.0, 1.0, weight="cos", wvar=1.0, rule="gk21")
    with pytest.raises(ValueError, match="`shared=True` cannot be combined with `weight`"):
        quadlib.quad(f, 0.0, 1.0, weight="cos", wvar=1.0, shared=True)
    # a complex integrand
    with pytest.raises((TypeError, ValueError), match="`f`"):
        quadlib.quad(lambda x: 1j * x, 0.0, 1.0, weight="cos", wvar=1.0)
    with pytest.raises((TypeError, ValueError), match="`f`"):
        quadlib.quad(lambda x: 1j * x, 0.0, 1.0, weight="cos", wvar=1.0, vectorized=True)
    # the usual arguments are still checked
    with pytest.raises(ValueError, match="`rtol`"):
        quadlib.quad(f, 0.0, 1.0, weight="cos", wvar=1.0, rtol=-1.0)
    with pytest.raises(TypeError, match="`f`"):
        quadlib.quad("exp", 0.0, 1.0, weight="cos", wvar=1.0)
    # shared and quad_vec
    with pytest.raises(ValueError, match="`a` and `b` must be scalars with `shared=True`"):
        quadlib.quad(f, np.zeros(2), 1.0, args=(np.ones(2),), shared=True)
    with pytest.raises(TypeError, match="`shared`"):
        quadlib.quad(f, 0.0, 1.0, shared="yes")
    with pytest.raises(ValueError, match="`norm`"):
        quadlib.quad_vec(lambda x: np.ones(2), 0.0, 1.0, norm="1")
    with pytest.raises(ValueError, match="`a` and `b` must be scalars"):
        quadlib.quad_vec(lambda x: np.ones(2), np.zeros(2), 1.0)
    with pytest.raises(TypeError, match="`f`"):
        quadlib.quad_vec(3.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="`atol` and `rtol`"):
        quadlib.quad_vec(lambda x: np.ones(2), 0.0, 1.0, rtol=0.0)


def test_weighted_omega_zero_and_qawf_relative_tolerance():
    # omega = 0 reduces (documented), and QAWF takes a purely relative tolerance (scipy requires epsabs > 0)
    res = quadlib.quad(np.exp, 0.0, 1.0, weight="cos", wvar=0.0)
    assert res.success and res.extra["method"] == "QAGS" and abs(res.integral - (np.e - 1)) < 1e-14
    res = quadlib.quad(np.exp, 0.0, 1.0, weight="sin", wvar=0.0)
    assert res.success and res.integral == 0.0 and res.extra["method"] == "zero"
    res = quadlib.quad(lambda x: 1 / (1 + x * x), 0.0, np.inf, weight="cos", wvar=1.0, atol=0.0, rtol=1e-10)
    assert res.success and res.extra["method"] == "QAWF"
    assert abs(res.integral - np.pi / 2 / np.e) <= res.error <= 1e-10 * res.integral
    # a non-decaying f on [a, inf) is an honest failure, never a success
    with pytest.warns(IntegrationWarning):
        res = quadlib.quad(lambda x: 1.0 + 0 * x, 0.0, np.inf, weight="cos", wvar=1.0, vectorized=True)
    assert not res.success


# issue 21 review: quad_vec and shared=True


K3 = np.array([1.0, 2.0, 3.0])


def _exp_closed(k, a, b):
    return (np.exp(-k * a) - np.exp(-k * b)) / k


def test_vector_valued_empty_range_and_tiny_budget():
    # a == b: zeros (as scipy); a budget below one panel: status 6, success False, a warning (was a reshape error)
    res = quadlib.quad_vec(lambda x: np.exp(-K3 * x), 1.0, 1.0)
    assert res.success and res.integral.shape == (3,) and np.all(res.integral == 0)
    res = quadlib.quad(lambda x, k: np.exp(-k * x), 1.0, 1.0, args=(K3,), shared=True)
    assert np.all(res.success) and res.integral.shape == (3,) and np.all(res.integral == 0)
    for max_nfev in (1, 5, 20):
        with pytest.warns(IntegrationWarning):
            res = quadlib.quad_vec(lambda x: np.exp(-K3 * x), 0.0, 1.0, max_nfev=max_nfev)
        assert res.status == 6 and not res.success and res.integral.shape == (3,)
        with pytest.warns(IntegrationWarning):
            res = quadlib.quad(lambda x, k: np.exp(-k * x), 0.0, 1.0, args=(K3,), shared=True, max_nfev=max_nfev)
        assert np.all(res.status == 6) and not np.any(res.success) and res.integral.shape == (3,)
    # one panel (21 points) is enough here: the closed form
    res = quadlib.quad_vec(lambda x: np.exp(-K3 * x), 0.0, 1.0, max_nfev=21)
    assert res.success and np.allclose(res.integral, _exp_closed(K3, 0.0, 1.0), rtol=1e-13, atol=0)


def test_shared_rejects_lowlevelcallable():
    with pytest.raises(TypeError, match="`f` must be a Python callable with `shared=True`"):
        quadlib.quad(scipy.LowLevelCallable(_libm_cos()), 0.0, 1.0, shared=True)
    with pytest.raises(TypeError, match="`f` must be callable"):
        quadlib.quad(3.0, 0.0, 1.0, args=(K3,), shared=True)


def test_batch_and_value_size_bounds():
    # checked before any allocation or work (was 96 s, then a MemoryError)
    with pytest.raises(ValueError, match=r"batch of `a`, `b`, `wvar` and `args` has 100000000 integrals"):
        quadlib.quad(lambda x: np.exp(-x), 0.0, 1.0, weight="cos", wvar=np.broadcast_to(1.0, (10 ** 8,)))
    with pytest.raises(ValueError, match=r"batch of `a`, `b` and `args` has 100000000 integrals"):
        quadlib.quad(lambda x, k: x, 0.0, 1.0, args=(np.broadcast_to(1.0, (10 ** 8,)),))
    with pytest.raises(ValueError, match=r"batch of `args` has 100000000 integrals"):
        quadlib.quad(lambda x, k: x * k, 0.0, 1.0, args=(np.broadcast_to(1.0, (10 ** 8,)),), shared=True)
    with pytest.raises(ValueError, match=r"`f`: 100000000 components per value"):
        quadlib.quad_vec(lambda x: np.broadcast_to(x, (10 ** 8,)), 0.0, 1.0)
    with pytest.raises(ValueError, match=r"`f`: 1000000 components per value"):
        quadlib.quad_vec(lambda x: np.broadcast_to(x, (10 ** 6,)), 0.0, 1.0, max_subdivisions=1000)


def test_bad_integrand_messages_name_f():
    with pytest.raises(ValueError, match=r"`f` must return values of one shape: \(2,\) at the first call, got \(3,\)"):
        quadlib.quad_vec(lambda x: np.ones(3 if x > 0.5 else 2), 0.0, 1.0)
    with pytest.raises(ValueError, match=r"`f` \(vectorized\) must return an array of shape \(N, ...\)"):
        quadlib.quad_vec(lambda x: np.stack([x, x, x]), 0.0, 1.0, vectorized=True)
    with pytest.raises(ValueError, match=r"`f` \(vectorized\) must return shape \(N, ...\) = \(21, 1\)"):
        quadlib.quad_vec(lambda x: np.ones((1, 1)) if x.size == 1 else np.ones((x.size, 2)), 0.0, 1.0,
                         vectorized=True)
    with pytest.raises(ValueError, match="`f` must return a non-empty array"):
        quadlib.quad_vec(lambda x: np.array([]), 0.0, 1.0)
    with pytest.raises(ValueError, match=r"`f` \(shared=True\) must return an array of shape \(3,\).*got shape \(2,\)"):
        quadlib.quad(lambda x, k: np.ones(2), 0.0, 1.0, args=(K3,), shared=True)
    with pytest.raises(ValueError, match=r"`f` \(vectorized, shared=True\) must return 3 values"):
        quadlib.quad(lambda x, k: np.ones((1, 2)), 0.0, 1.0, args=(K3,), shared=True, vectorized=True)
    for bad in ("a", None):
        for kw in (dict(weight="cos", wvar=1.0), dict(weight="cauchy", wvar=0.5), dict(weight="alg", wvar=(0.5, 0.5)),
                   dict(weight="cos", wvar=np.array([1.0, 2.0]))):
            with pytest.raises(TypeError, match="`f` must return a real number"):
                quadlib.quad(lambda x: bad, 0.0, 1.0, **kw)
        with pytest.raises(TypeError, match="`f` must return a real number"):
            quadlib.quad(lambda x: bad, 0.0, np.inf, weight="sin", wvar=2.0)


@pytest.mark.parametrize("weight, wvar", [("cos", "1"), ("cos", ["1", "2"]), ("cos", True), ("sin", np.array([True])),
                                          ("cauchy", "0.5"), ("alg", (True, False)), ("alg-log", ("0", "0"))])
def test_wvar_numbers_only(weight, wvar):
    with pytest.raises(TypeError, match="`wvar` must be .*real numbers, not bool or str"):
        quadlib.quad(lambda x: x, 0.0, 1.0, weight=weight, wvar=wvar)


def test_points_outside_the_range_are_ignored_as_by_scipy():
    # documented: plain quad, quad_vec and the Cauchy weight all ignore them (scipy does)
    assert quadlib.quad(lambda x: x, 0.0, 1.0, points=[5.0]).integral == pytest.approx(0.5, rel=1e-14)
    res = quadlib.quad_vec(lambda x: np.array([x, x * x]), 0.0, 1.0, points=[5.0])
    assert np.allclose(res.integral, [0.5, 1 / 3], rtol=1e-13, atol=0)
    # PV int_-1^1 1 / (x - 0.5) dx = log(1/3)
    res = quadlib.quad(lambda x: 1.0, -1.0, 1.0, weight="cauchy", wvar=0.5, points=[3.0])
    assert res.integral == pytest.approx(np.log(1 / 3), rel=1e-12)


@pytest.mark.parametrize("weight", ["alg", "alg-loga", "alg-logb", "alg-log"])
def test_alg_reversed_limits_negate_as_scipy(weight):
    # scipy: quad(f, b, a, weight="alg*") = -quad(f, a, b), the weight taken on the ordered range
    import mpmath
    alpha, beta = 0.5, -0.3
    logs = {"alg": lambda x: 1, "alg-loga": lambda x: mpmath.log(x), "alg-logb": lambda x: mpmath.log(1 - x),
            "alg-log": lambda x: mpmath.log(x) * mpmath.log(1 - x)}[weight]
    with mpmath.workdps(30):
        exact = float(mpmath.quad(lambda x: x * x ** alpha * (1 - x) ** beta * logs(x), [0, 0.5, 1]))
    forward = quadlib.quad(lambda x: x, 0.0, 1.0, weight=weight, wvar=(alpha, beta))
    backward = quadlib.quad(lambda x: x, 1.0, 0.0, weight=weight, wvar=(alpha, beta))
    assert forward.success and backward.success
    assert forward.integral == pytest.approx(exact, rel=1e-10)
    assert backward.integral == pytest.approx(-exact, rel=1e-10)
    batch = quadlib.quad(lambda x: x, np.array([1.0, 0.0]), np.array([0.0, 1.0]), weight=weight,
                         wvar=(alpha, beta), vectorized=True)
    assert np.allclose(batch.integral, [-exact, exact], rtol=1e-10, atol=0)


def test_weighted_vectorized_column_is_read_as_a_vector_as_plain_quad():
    # int_0^1 cos x dx = sin 1, for one integral and a batch (plain quad reads (N, 1) as (N,) too)
    column = lambda x: np.ones((x.size, 1))  # noqa: E731
    assert quadlib.quad(column, 0.0, 1.0, vectorized=True).integral == pytest.approx(1.0, rel=1e-14)
    one = quadlib.quad(column, 0.0, 1.0, weight="cos", wvar=1.0, vectorized=True)
    assert one.integral == pytest.approx(np.sin(1.0), rel=1e-12)
    batch = quadlib.quad(column, 0.0, np.array([1.0, 2.0]), weight="cos", wvar=1.0, vectorized=True)
    assert np.allclose(batch.integral, np.sin([1.0, 2.0]), rtol=1e-12, atol=0)
    listed = quadlib.quad(lambda x: list(np.ones(x.size)), 0.0, np.array([1.0, 2.0]), weight="cos", wvar=1.0,
                          vectorized=True)
    assert np.allclose(listed.integral, np.sin([1.0, 2.0]), rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match=r"`f` must return real numbers, an array of shape"):
        quadlib.quad(lambda x: np.ones((x.size, 2)), 0.0, np.array([1.0, 2.0]), weight="cos", wvar=1.0,
                     vectorized=True)
