"""quadlib.laplace: exact on Gaussian integrands in any dimension, the seed's Gamma-probability example
(error O(1/alpha), reference scipy.special.gammainc), the order-2 correction (Stirling's series), boxes,
and bad input."""
import math
import warnings

import numpy as np
import pytest
from scipy.integrate import dblquad
from scipy.special import gammainc, gammaln

import quadlib


def _gaussian(d, seed):
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(d, d))
    P = B @ B.T + d * np.eye(d)
    m = rng.normal(size=d)
    c0 = 1.7
    exact = c0 + 0.5 * d * math.log(2 * math.pi) - 0.5 * np.linalg.slogdet(P)[1]
    return (lambda x: c0 - 0.5 * (x - m) @ P @ (x - m)), (lambda x: -P @ (x - m)), (lambda x: -P), m, exact


@pytest.mark.parametrize("d", [1, 2, 3, 5, 8])
def test_exact_on_gaussian_integrands(d):
    log_f, grad, hess, m, exact = _gaussian(d, d)
    res = quadlib.laplace(log_f, np.zeros(d), grad=grad, hess=hess)
    assert res.success
    assert abs(res.log_integral - exact) <= 1e-13 * max(1.0, abs(exact))
    np.testing.assert_allclose(res.mode, m, atol=1e-12)
    # derivatives by differences: exact but for rounding
    res = quadlib.laplace(log_f, np.zeros(d))
    assert abs(res.log_integral - exact) <= 1e-11 * max(1.0, abs(exact))


def test_scalar_x0_calls_log_f_with_floats():
    res = quadlib.laplace(lambda x: -0.5 * (x - 2.0) ** 2 / 9.0, 0.0)
    assert abs(res.integral - 3 * math.sqrt(2 * math.pi)) < 1e-13 * res.integral
    assert res.mode.shape == (1,) and res.hessian.shape == (1, 1)


def gamma_probability_errors(alphas, beta=2.0, width=1.5):
    """The seed's example 6.12: P(a < X < b), X ~ Gamma(alpha, scale beta), a, b = mode -+ width sd of
    the Laplace approximation. Relative errors of laplace(..., bounds=[(a, b)]) against gammainc."""
    out = []
    for alpha in alphas:
        mode = (alpha - 1) * beta
        sd = mode / math.sqrt(alpha - 1)
        a, b = mode - width * sd, mode + width * sd

        def log_f(x):
            if x <= 0:
                return -math.inf
            return (alpha - 1) * math.log(x) - x / beta - gammaln(alpha) - alpha * math.log(beta)

        res = quadlib.laplace(log_f, 0.8 * mode, bounds=[(a, b)])
        exact = gammainc(alpha, b / beta) - gammainc(alpha, a / beta)
        out.append(res.integral / exact - 1)
    return np.array(out)


def test_gamma_probability_error_falls_like_one_over_alpha():
    alphas = np.array([5, 10, 20, 40, 80, 160, 320, 1000])
    errors = gamma_probability_errors(alphas)
    # measured: 3.1e-2 ... 1.1e-4; alpha * error -> 0.108
    assert np.all(np.abs(errors[1:]) < np.abs(errors[:-1]))
    scaled = alphas * errors
    assert np.all((scaled > 0.09) & (scaled < 0.16))
    assert abs(scaled[-1] / scaled[-2] - 1) < 0.01  # the constant has settled


def test_order_two_is_stirlings_series():
    for n in (10, 100, 1000):
        log_f = lambda x, n=n: n * math.log(x) - x if x > 0 else -math.inf  # noqa: E731
        exact = math.lgamma(n + 1)
        one = quadlib.laplace(log_f, 0.5 * n)
        two = quadlib.laplace(log_f, 0.5 * n, order=2)
        analytic = quadlib.laplace(log_f, 0.5 * n, order=2, grad=lambda x, n=n: n / x - 1,
                                   hess=lambda x, n=n: -n / x ** 2)
        # log Gamma(n+1) - log(Laplace) = 1/(12n) - 1/(360 n^3) ...; order 2 takes log(1 + 1/(12 n))
        assert abs(one.log_integral - exact + 1 / (12 * n)) < 1 / (200 * n ** 2)
        assert abs(analytic.log_integral - exact + 1 / (288 * n ** 2)) < 1e-3 / n ** 2
        # by differences of values: also rounding, eps |log f| / step^4 (log f ~ 5900 at n = 1000)
        assert abs(two.log_integral - exact) < 4e-3 / n ** 2 + 1e-10 * abs(exact)


def test_order_two_in_two_dimensions():
    def log_f(z):
        if min(z) <= 0:
            return -math.inf
        return 20 * math.log(z[0]) + 20 * math.log(z[1]) - z[0] - z[1] - 0.02 * z[0] * z[1]

    exact = math.log(dblquad(lambda y, x: math.exp(log_f([x, y]) - 70), 0, 200, 0, 200, epsabs=0,
                             epsrel=1e-12)[0]) + 70
    one = quadlib.laplace(log_f, [10.0, 10.0])
    two = quadlib.laplace(log_f, [10.0, 10.0], order=2)
    # measured: 4.3e-4 and 7.2e-5
    assert 3e-4 < abs(one.log_integral - exact) < 6e-4
    assert abs(two.log_integral - exact) < abs(one.log_integral - exact) / 4


def test_box_in_two_dimensions():
    log_f, grad, hess, m, exact = _gaussian(2, 7)
    bounds = [(m[0] - 0.5, m[0] + 1.0), (-np.inf, m[1])]
    res = quadlib.laplace(log_f, np.zeros(2), grad=grad, hess=hess, bounds=bounds)
    # a Gaussian: the box probability is exact (scipy's MVN cdf, ~1e-8)
    P = -hess(m)
    ref = dblquad(lambda y, x: math.exp(log_f(np.array([x, y]))), m[0] - 0.5, m[0] + 1.0, m[1] - 12, m[1],
                  epsabs=0, epsrel=1e-11)[0]
    assert abs(res.integral / ref - 1) < 1e-6
    assert 0 < res.box_probability < 1 and np.allclose(res.hessian, -P)


def test_log_space_does_not_overflow():
    res = quadlib.laplace(lambda x: 5000.0 - 0.5 * x @ x, np.ones(2))
    assert res.integral == math.inf and abs(res.log_integral - (5000 + math.log(2 * math.pi))) < 1e-9


def test_the_result_is_an_integration_result():
    # one result type for every integral (issue 16); LaplaceResult is a deprecated alias of it
    log_f, grad, hess, m, exact = _gaussian(2, 0)
    res = quadlib.laplace(log_f, np.zeros(2))
    assert type(res) is quadlib.IntegrationResult
    assert res.status == 0 and res.success and math.isnan(res.error)
    assert abs(res.log_integral - exact) < 1e-10 and res.integral == pytest.approx(math.exp(exact), rel=1e-10)
    np.testing.assert_allclose(res.mode, m, atol=1e-8)
    assert res.order == 1 and res.correction == 0.0 and res.box_probability == 1.0 and res.hessian.shape == (2, 2)
    assert "log_integral" in repr(res) and "mode" in repr(res)
    with pytest.warns(DeprecationWarning, match="quadlib.LaplaceResult is deprecated"):
        alias = quadlib.LaplaceResult
    assert alias is quadlib.IntegrationResult and isinstance(res, alias)


def test_bad_input():
    good = lambda x: -0.5 * x @ x  # noqa: E731
    with pytest.raises(ValueError, match="`log_f` must be finite at `x0`"):
        quadlib.laplace(lambda x: math.log(x) if x > 0 else -math.inf, -1.0)
    with pytest.raises(ValueError, match="not negative definite"):
        quadlib.laplace(lambda x: -0.5 * x[0] ** 2 + 0.5 * x[1] ** 2, [0.0, 0.0], grad=lambda x: np.array([-x[0], x[1]]),
                        hess=lambda x: np.diag([-1.0, 1.0]))
    with pytest.raises(ValueError, match="`x0`"):
        quadlib.laplace(good, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="`grad`"):
        quadlib.laplace(good, np.zeros(2), grad=lambda x: np.zeros(3))
    with pytest.raises(ValueError, match="`hess`"):
        quadlib.laplace(good, np.zeros(2), grad=lambda x: -x, hess=lambda x: np.eye(3))
    with pytest.raises(ValueError, match="`order`"):
        quadlib.laplace(good, np.zeros(2), order=3)
    with pytest.raises(ValueError, match="`bounds`"):
        quadlib.laplace(good, np.zeros(2), bounds=[(0, 1)])
    with pytest.raises(ValueError, match="`bounds`"):
        quadlib.laplace(good, np.zeros(1), bounds=[(1, 0)])
    with pytest.raises(TypeError, match="`log_f`"):
        quadlib.laplace(None, 0.0)
    with pytest.raises(ValueError, match="`log_f` must return a scalar"):
        quadlib.laplace(lambda x: np.ones(2), np.zeros(2))


def test_complex_step_derivatives():
    # a non-Gaussian 2-D integrand written with analytic numpy functions: complex input works
    def log_f(z):
        return 20 * np.log(z[0]) + 20 * np.log(z[1]) - z[0] - z[1] - 0.02 * z[0] * z[1]

    def real_log_f(z):
        return float(np.real(log_f(np.asarray(z, dtype=float)))) if min(z) > 0 else -math.inf

    exact = math.log(dblquad(lambda y, x: math.exp(real_log_f([x, y]) - 70), 0, 200, 0, 200, epsabs=0,
                             epsrel=1e-12)[0]) + 70
    g = lambda z: np.array([20 / z[0] - 1 - 0.02 * z[1], 20 / z[1] - 1 - 0.02 * z[0]])  # noqa: E731
    h = lambda z: np.array([[-20 / z[0] ** 2, -0.02], [-0.02, -20 / z[1] ** 2]])  # noqa: E731
    analytic = quadlib.laplace(real_log_f, [10.0, 10.0], grad=g, hess=h)
    plain = quadlib.laplace(real_log_f, [10.0, 10.0])
    stepped = quadlib.laplace(log_f, [10.0, 10.0], complex_step=True)
    # measured 2.1e-8 (differences of values) and 1.1e-10 (complex-step gradient)
    assert stepped.success and abs(stepped.log_integral - analytic.log_integral) < 1e-9
    assert abs(plain.log_integral - analytic.log_integral) < 1e-7
    assert abs(stepped.log_integral - exact) < 6e-4  # the Laplace error itself (4.3e-4)
    with pytest.raises(ValueError, match="`complex_step`"):
        quadlib.laplace(log_f, [10.0, 10.0], complex_step=True, grad=lambda z: z)


@pytest.mark.parametrize("n", [120, 300, 1000])
def test_flat_mode_within_rounding_is_converged(n):
    # log f = n log x - x at x ~ n is flat to its rounding (|log f| ~ n log n) over steps of ~1e-9 that
    # the polish used to halve into stagnation and report as non-convergence (issue 9's gallery)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = quadlib.laplace(lambda x: n * math.log(x) - x if x > 0 else -math.inf, 0.5 * n,
                              grad=lambda x: n / x - 1, hess=lambda x: -n / x ** 2)
    assert res.success
    assert abs(res.mode[0] - n) < 1e-9 * n
    stirling = 0.5 * math.log(2 * math.pi * n) + n * math.log(n) - n  # Laplace's value is Stirling's formula
    assert abs(res.log_integral - stirling) < 1e-12 * stirling
