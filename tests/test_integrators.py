"""The random-effects integrators (Laplace, AdaptiveGaussHermite, SparseGridGaussHermite, QMCIntegrator):
exactness on Gaussian integrands, convergence of AGQ(n) on logistic-normal and Poisson-normal integrals
against scipy's adaptive quad (an independent reference), the protocol's shapes, and bad input."""
import warnings

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import expit, gammaln

import quadlib
from quadlib import AdaptiveGaussHermite, IntegrationWarning, Laplace, QMCIntegrator, SparseGridGaussHermite


def _linear_problem():
    # log g(b) = c_i . b: E exp(c.b) = exp(c' D c / 2) for b ~ N(0, D), exactly Gaussian after the shift
    D = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, -0.2], [0.1, -0.2, 0.7]])
    c = np.array([[0.3, -0.7, 0.1], [1.0, 0.2, -0.5], [-2.0, 0.0, 1.0]])
    exact = 0.5 * np.einsum("mi,ij,mj->m", c, D, c)
    return (lambda b: np.einsum("mkq,mq->mk", b, c)), c, D, exact


@pytest.mark.parametrize("integrator", [Laplace(), AdaptiveGaussHermite(1), AdaptiveGaussHermite(4),
                                        SparseGridGaussHermite(2), SparseGridGaussHermite(3, "gauss_hermite"),
                                        QMCIntegrator(128, seed=0)], ids=repr)
def test_exact_on_gaussian_integrands_with_derivatives(integrator):
    log_g, c, D, exact = _linear_problem()

    def derivatives(b):
        return np.einsum("mq,mq->m", b, c), c.copy(), np.zeros((3, 3, 3))

    res = integrator.log_integrals(log_g, 3, 3, cov=D, derivatives=derivatives)
    assert res.success and res.converged.all()
    np.testing.assert_allclose(res.log_integral, exact, rtol=0, atol=1e-13)
    # the mode of c.b - b'D^-1 b/2 is D c
    np.testing.assert_allclose(res.mode, c @ D, rtol=0, atol=1e-12)


def test_differences_are_accurate_without_derivatives():
    log_g, c, D, exact = _linear_problem()
    res = Laplace().log_integrals(log_g, 3, 3, cov=D)
    np.testing.assert_allclose(res.log_integral, exact, rtol=0, atol=1e-9)


def test_adaptive_gauss_hermite_one_is_laplace():
    a = np.linspace(-2, 2, 7)
    log_g = lambda b: -np.logaddexp(0, -(a[:, None] + b[..., 0]))  # noqa: E731
    one = AdaptiveGaussHermite(1).log_integrals(log_g, 7, 1, cov=[[2.0]])
    lap = Laplace().log_integrals(log_g, 7, 1, cov=[[2.0]])
    np.testing.assert_array_equal(one.log_integral, lap.log_integral)


def _logistic_reference(a, sigma):
    return np.array([quad(lambda b: expit(ai + b) * np.exp(-0.5 * (b / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi)),
                          -np.inf, np.inf, epsabs=0, epsrel=1e-13, limit=200)[0] for ai in a])


def _poisson_reference(y, a, sigma):
    # Poisson(y | exp(a + b)) N(b; 0, sigma^2), scaled at the integrand's peak to keep quad in range
    out = []
    for yi, ai in zip(y, a):
        def log_h(b):
            eta = min(ai + b, 700.0)  # beyond, exp(-exp(eta)) is 0 anyway
            return yi * eta - np.exp(eta) - gammaln(yi + 1) - 0.5 * (b / sigma) ** 2 - np.log(sigma * np.sqrt(2 * np.pi))
        peak = max(log_h(b) for b in np.linspace(-8 * sigma, 8 * sigma, 2001))
        value = quad(lambda b: np.exp(log_h(b) - peak), -np.inf, np.inf, epsabs=0, epsrel=1e-13, limit=200)[0]
        out.append(np.log(value) + peak)
    return np.array(out)


def agq_error_table():
    """max |log error| of AGQ(n) against quad, for n = 1, 2, 3, 5, 8, 12, 20 (logistic- and Poisson-normal)."""
    a = np.array([-3.0, -1.0, 0.0, 0.5, 2.5])
    sigma = 1.5
    y = np.array([0, 1, 3, 10, 40])
    logistic_ref = np.log(_logistic_reference(a, sigma))
    poisson_ref = _poisson_reference(y, a, sigma)

    def logistic(b):
        return -np.logaddexp(0, -(a[:, None] + b[..., 0]))

    def poisson(b):
        eta = a[:, None] + b[..., 0]
        return y[:, None] * eta - np.exp(eta) - gammaln(y + 1)[:, None]

    rows = []
    for n in (1, 2, 3, 5, 8, 12, 20):
        integ = AdaptiveGaussHermite(n)
        e1 = np.max(np.abs(integ.log_integrals(logistic, 5, 1, cov=[[sigma ** 2]]).log_integral - logistic_ref))
        e2 = np.max(np.abs(integ.log_integrals(poisson, 5, 1, cov=[[sigma ** 2]]).log_integral - poisson_ref))
        rows.append((n, e1, e2))
    return rows


def test_agq_converges_on_logistic_and_poisson_normal_integrals():
    rows = agq_error_table()
    print("\n   n   logistic-normal   Poisson-normal   (max |error| of the log-integral)")
    for n, e1, e2 in rows:
        print(f"{n:4d}   {e1:15.2e}   {e2:14.2e}")
    errors = np.array([[e1, e2] for _, e1, e2 in rows])
    # measured (n = 1, 2, 3, 5, 8, 12, 20): logistic 2.5e-2 1.5e-2 3.1e-3 2.5e-4 2.5e-5 1.3e-6 1.7e-8,
    # Poisson 2.0e-2 2.2e-2 2.2e-2 2.4e-3 5.0e-4 5.3e-5 3.4e-7 (clusters with y = 0 and a = -3 are the
    # slow ones: one tail of the integrand is the prior's, far from the Laplace curvature)
    assert np.all(errors[0] > 1e-3)            # Laplace alone is visibly off
    assert np.all(errors[-1] < 1e-6)           # AGQ(20)
    assert np.all(errors[3] < errors[0] / 8)   # n = 5
    assert np.all(errors[3:] <= errors[2:-1])  # from n = 3 on, every step helps


def test_vector_random_effects_against_a_product_rule():
    # two independent logistic-normal factors: the q = 2 integral is the product of q = 1 integrals
    a = np.array([-1.0, 0.5])
    sig = np.array([1.2, 0.6])
    ref = np.log(_logistic_reference(a[:1], sig[0])[0] * _logistic_reference(a[1:], sig[1])[0])
    log_g = lambda b: -np.logaddexp(0, -(a[0] + b[..., 0])) - np.logaddexp(0, -(a[1] + b[..., 1]))  # noqa: E731
    D = np.diag(sig ** 2)
    for integrator, tol in ((AdaptiveGaussHermite(20), 1e-7), (SparseGridGaussHermite(4), 1e-4),
                            (QMCIntegrator(4096, seed=3), 1e-4)):
        res = integrator.log_integrals(log_g, 1, 2, cov=D)
        assert abs(res.log_integral[0] - ref) < tol, (integrator, res.log_integral[0] - ref)


def test_singular_covariance_is_allowed():
    # a zero variance: the integral is g at b = 0 in that coordinate
    log_g = lambda b: -np.logaddexp(0, -(0.3 + b[..., 0] + b[..., 1]))  # noqa: E731
    res = AdaptiveGaussHermite(20).log_integrals(log_g, 1, 2, cov=np.diag([1.0, 0.0]))
    assert abs(res.log_integral[0] - np.log(_logistic_reference([0.3], 1.0)[0])) < 1e-10


def test_non_concave_clusters_are_reported():
    # log g = 2 b^2 grows faster than the prior falls: the curvature at the stationary point is -3
    with pytest.warns(IntegrationWarning):
        res = Laplace().log_integrals(lambda b: 2 * b[..., 0] ** 2, 2, 1, max_iter=20)
    assert not res.success and not res.converged.any() and np.isnan(res.log_integral).all()


def test_bad_input():
    ok = lambda b: -b[..., 0] ** 2  # noqa: E731
    with pytest.raises(ValueError, match="`n`"):
        AdaptiveGaussHermite(0)
    with pytest.raises(TypeError, match="`n`"):
        AdaptiveGaussHermite(2.5)
    with pytest.raises(ValueError, match="`level`"):
        SparseGridGaussHermite(-1)
    with pytest.raises(ValueError, match="`n_points`"):
        QMCIntegrator(0)
    with pytest.raises(ValueError, match="`cov`"):
        Laplace().log_integrals(ok, 2, 1, cov=np.eye(2))
    with pytest.raises(ValueError, match="`cov`"):
        Laplace().log_integrals(ok, 2, 2, cov=[[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match="`log_g`"):
        Laplace().log_integrals(lambda b: np.ones(3), 2, 1)
    with pytest.raises(quadlib.DomainError, match="`log_g` is not finite at the start"):
        Laplace().log_integrals(lambda b: np.full(b.shape[:2], np.nan), 2, 1)
    with pytest.raises(ValueError, match="`derivatives`"):
        Laplace().log_integrals(ok, 2, 1, derivatives=lambda b: (np.zeros(2), np.zeros(2), np.zeros(2)))
    with pytest.raises(ValueError, match="`start`"):
        Laplace().log_integrals(ok, 2, 1, start=np.zeros(3))
    with pytest.raises(TypeError, match="`log_g`"):
        Laplace().log_integrals(None, 2, 1)


def test_non_finite_log_integrand_is_a_domain_error():
    # glmm treats parameters outside a family's domain as infeasible by catching the type, not the text
    assert issubclass(quadlib.DomainError, ValueError)
    log_g = lambda b: np.where(np.arange(3)[:, None] == 1, -np.inf, -b[..., 0] ** 2)  # noqa: E731
    with pytest.raises(quadlib.DomainError, match="1 cluster\\(s\\) \\(first: 1\\)"), np.errstate(invalid="ignore"):
        AdaptiveGaussHermite(3).log_integrals(log_g, 3, 1)
    # a bad argument stays a plain ValueError
    with pytest.raises(ValueError, match="`start`") as info:
        Laplace().log_integrals(lambda b: -b[..., 0] ** 2, 2, 1, start=np.full((2, 1), np.nan))
    assert not isinstance(info.value, quadlib.DomainError)


def test_many_clusters_in_one_pass():
    rng = np.random.default_rng(0)
    M = 20_000
    eta = rng.normal(size=M)
    y = rng.integers(0, 2, M).astype(float)

    def log_g(b):
        e = eta[:, None] + b[..., 0]
        return y[:, None] * e - np.logaddexp(0, e)

    res = AdaptiveGaussHermite(10).log_integrals(log_g, M, 1, cov=[[1.5]])
    assert res.success and res.nfev < 20  # a handful of batched calls, not one per cluster or point
    i = 17
    ref = np.log(_logistic_reference([eta[i] if y[i] else -eta[i]], np.sqrt(1.5))[0])
    assert abs(res.log_integral[i] - ref) < 1e-6
