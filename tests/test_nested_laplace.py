"""quadlib.nested_laplace against brute-force quadrature (tests/reference/nested_laplace_reference.json,
made by make_nested_laplace_reference.py with nested scipy quad, independent of quadlib): the log marginal
likelihood within 1e-3 and posterior means of theta within 1%."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit, gammaln

import quadlib

REFERENCE = json.loads((Path(__file__).parent / "reference" / "nested_laplace_reference.json").read_text())


def _model(name):
    spec = REFERENCE["models"][name]
    y = np.array(spec["y"], dtype=float)
    k = y.size
    if name == "poisson":
        const = -np.sum(gammaln(y + 1))

        def loglik(x, theta):
            eta = x[0] + x[1:]
            return float(np.sum(y * eta - np.exp(eta)) + const)

        def weights(x):
            return np.exp(x[0] + x[1:]), y - np.exp(x[0] + x[1:])
    else:
        n = np.array(spec["n"], dtype=float)
        const = float(np.sum(gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)))

        def loglik(x, theta):
            eta = x[0] + x[1:]
            return float(np.sum(y * eta - n * np.logaddexp(0, eta)) + const)

        def weights(x):
            p = expit(x[0] + x[1:])
            return n * p * (1 - p), y - n * p

    def gradient(x, theta):
        _, r = weights(x)
        return np.r_[r.sum(), r]

    def hessian(x, theta):
        w, _ = weights(x)
        H = np.zeros((k + 1, k + 1))
        H[0, 0] = -w.sum()
        H[0, 1:] = H[1:, 0] = -w
        H[1:, 1:] = -np.diag(w)
        return H

    def precision(theta):
        return np.diag([1 / spec["beta0_prior_variance"]] + [math.exp(theta[0])] * k)

    def log_prior(theta):
        mu, sd = spec["theta_prior_mean"], spec["theta_prior_sd"]
        return -0.5 * ((theta[0] - mu) / sd) ** 2 - math.log(sd * math.sqrt(2 * math.pi))

    return spec, loglik, gradient, hessian, precision, log_prior, k + 1


# (model, inner_order, analytic derivatives, tolerance on the log marginal likelihood). Measured errors:
# Poisson order 1: 6.8e-4 (both ways), order 2: 2.3e-7; binomial order 1: 1.5e-2 (the inner Laplace
# approximation with 9..41 successes: not within 1e-3), order 2: 4.3e-5. Order 2 by differences alone
# works (1.2e-6, 4.3e-5) but takes minutes: differences of differences of values.
CASES = [("poisson", 1, True, 1e-3), ("poisson", 1, False, 1e-3), ("poisson", 2, True, 1e-6),
         ("binomial", 1, True, 2e-2), ("binomial", 1, False, 2e-2), ("binomial", 2, True, 1e-4)]


@pytest.mark.parametrize("name, inner_order, derivatives, tolerance", CASES)
def test_against_brute_force_quadrature(name, inner_order, derivatives, tolerance):
    spec, loglik, gradient, hessian, precision, log_prior, n_latent = _model(name)
    res = quadlib.nested_laplace(loglik, precision, [0.0], n_latent=n_latent, log_prior=log_prior,
                                 gradient=gradient if derivatives else None, hessian=hessian if derivatives else None,
                                 inner_order=inner_order)
    assert res.success
    error = abs(res.log_marginal_likelihood - spec["log_marginal_likelihood"])
    assert error < tolerance
    if name == "binomial" and inner_order == 1:
        assert error > 1e-3  # documented: plain Laplace misses the 1e-3 target on this model
    assert abs(res.theta_mean[0] / spec["theta"]["mean"] - 1) < 0.01
    assert abs(res.theta_sd[0] / spec["theta"]["sd"] - 1) < 0.02
    # latent marginals (the Gaussian strategy): within 5% of the posterior sd (measured 0.5% and 3.4%)
    assert abs(res.latent_mean[0] - spec["beta0"]["mean"]) < 0.05 * spec["beta0"]["sd"]
    assert abs(res.latent_mean[1] - spec["u1"]["mean"]) < 0.05 * spec["u1"]["sd"]
    assert abs(res.latent_sd[0] / spec["beta0"]["sd"] - 1) < 0.02
    # the marginal densities integrate to one
    for grid, density in res.theta_marginals + res.latent_marginals:
        assert abs(np.trapezoid(density, grid) - 1) < 1e-3


def test_log_posterior_of_theta_matches_the_reference_curve():
    from quadlib._nested_laplace import _Inner

    spec, loglik, gradient, hessian, precision, log_prior, n_latent = _model("poisson")
    grid = np.array(spec["log_joint_theta_grid"]["theta"])
    ref = np.array(spec["log_joint_theta_grid"]["log_joint"])
    for order, tolerance in ((1, 1e-3), (2, 1e-6)):
        inner = _Inner(loglik, gradient, hessian, precision, n_latent, (), order)
        ours = np.array([inner(np.array([t]))[0] + log_prior([t]) for t in grid])
        assert np.max(np.abs(ours - ref)) < tolerance, order


@pytest.mark.slow  # ~4 s
def test_two_hyperparameters():
    # a Poisson model with two precisions (two groups of random effects): runs, and agrees with the
    # one-hyperparameter fit when both groups share a prior and the data are exchangeable
    y = np.array([420.0, 515.0, 380.0, 610.0])
    loglik = lambda x, theta: float(np.sum(y * (x[0] + x[1:]) - np.exp(x[0] + x[1:])))  # noqa: E731
    precision = lambda theta: np.diag([0.01, *[math.exp(theta[0])] * 2, *[math.exp(theta[1])] * 2])  # noqa: E731
    log_prior = lambda theta: float(np.sum(-0.5 * (np.asarray(theta) - 1) ** 2 - 0.5 * math.log(2 * math.pi)))  # noqa: E731
    res = quadlib.nested_laplace(loglik, precision, [1.0, 1.0], n_latent=5, log_prior=log_prior)
    assert res.success and res.points.shape[1] == 2 and len(res.theta_marginals) == 2
    assert np.all(res.theta_sd > 0.3)


def test_bad_input():
    loglik = lambda x, theta: -float(x @ x)  # noqa: E731
    precision = lambda theta: np.eye(2)  # noqa: E731
    with pytest.raises(TypeError, match="`log_likelihood`"):
        quadlib.nested_laplace(None, precision, [0.0], n_latent=2)
    with pytest.raises(ValueError, match="`precision`"):
        quadlib.nested_laplace(loglik, lambda theta: np.eye(3), [0.0], n_latent=2)
    with pytest.raises(ValueError, match="`precision`"):
        quadlib.nested_laplace(loglik, lambda theta: -np.eye(2), [0.0], n_latent=2)
    with pytest.raises(ValueError, match="`n_latent`"):
        quadlib.nested_laplace(loglik, precision, [0.0], n_latent=0)
    with pytest.raises(ValueError, match="`theta0`"):
        quadlib.nested_laplace(loglik, precision, [0.0] * 4, n_latent=2)
    with pytest.raises(ValueError, match="`gradient`"):
        quadlib.nested_laplace(loglik, precision, [0.0], n_latent=2, gradient=lambda x, t: x)
    with pytest.raises(ValueError, match="`latent`"):
        quadlib.nested_laplace(loglik, precision, [0.0], n_latent=2, latent=[5])
