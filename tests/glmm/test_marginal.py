"""Empirical Bayes summaries and the marginal (population-averaged) interpretation of a GLMM fit,
against closed forms (probit: exact attenuation and bivariate-normal moments; Poisson-log: lognormal
moments) and direct numerical integration (scipy.integrate.quad)."""
import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from scipy.special import gammaln
from scipy.stats import multivariate_normal, norm

from quadlib.glmm import datasets, fit

matplotlib.use("Agg")
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
EPIL = "y ~ lbase*trt + lage + V4 + (1 | subject)"


@pytest.fixture(scope="module")
def probit():
    return fit(CBPP, datasets.load("cbpp"), link="probit")


@pytest.fixture(scope="module")
def poisson():
    return fit(EPIL, datasets.load("epilepsy"), family="poisson")


def test_probit_marginal_coefficients_are_the_exact_attenuation(probit):
    sigma = float(probit.sd_re["herd"].iloc[0])
    table = probit.marginal_coefs()
    exact = probit.params / np.sqrt(1 + sigma ** 2)
    np.testing.assert_allclose(table["marginal"], exact, rtol=1e-9)
    np.testing.assert_allclose(table["closed form"], exact, rtol=1e-12)
    # delta-method SEs: the attenuation factor's own uncertainty is second order for the intercept ...
    assert np.all(table["se"] > 0) and np.all(table["se"] < probit.bse)


def test_logit_marginal_coefficients_near_the_zeger_liang_albert_approximation():
    res = fit(CBPP, datasets.load("cbpp"))
    table = res.marginal_coefs(std_errors=False)
    sigma = float(res.sd_re["herd"].iloc[0])
    c = 16 * np.sqrt(3) / (15 * np.pi)
    np.testing.assert_allclose(table["closed form"], res.params / np.sqrt(1 + c ** 2 * sigma ** 2), rtol=1e-12)
    # the exact marginal logits of the four periods (X is saturated in period), by adaptive quadrature
    beta = res.params.to_numpy()
    logits = []
    for eta in (beta[0], beta[0] + beta[1], beta[0] + beta[2], beta[0] + beta[3]):
        p = quad(lambda z: norm.pdf(z) / (1 + np.exp(-(eta + sigma * z))), -12, 12, epsabs=0, epsrel=1e-13)[0]
        logits.append(np.log(p / (1 - p)))
    exact = np.array([logits[0], logits[1] - logits[0], logits[2] - logits[0], logits[3] - logits[0]])
    np.testing.assert_allclose(table["marginal"], exact, rtol=1e-9)
    np.testing.assert_allclose(table["marginal"], table["closed form"], rtol=3e-2)  # an approximation
    assert np.all(np.abs(table["marginal"]) < np.abs(res.params))                  # attenuated


def test_probit_marginal_moments_are_bivariate_normal_probabilities(probit):
    sigma = float(probit.sd_re["herd"].iloc[0])
    moments = probit.marginal_moments()
    d = probit.objective.design
    eta = d.offset + d.X @ probit.params.to_numpy()
    a = eta / np.sqrt(1 + sigma ** 2)
    rho = sigma ** 2 / (1 + sigma ** 2)
    n = d.trials
    mean = n * norm.cdf(a)
    np.testing.assert_allclose(moments.mean.to_numpy(), mean, rtol=1e-9)
    # rows 0 and 1 are herd 1's periods 1 and 2
    second = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]])
    e_mu2 = second.cdf([a[0], a[0]])
    var0 = n[0] * (norm.cdf(a[0]) - e_mu2) + n[0] ** 2 * (e_mu2 - norm.cdf(a[0]) ** 2)
    assert abs(moments.var.iloc[0] - var0) < 1e-6 * var0
    cov01 = n[0] * n[1] * (second.cdf([a[0], a[1]]) - norm.cdf(a[0]) * norm.cdf(a[1]))
    herd1 = moments.cov["1"]
    assert abs(herd1.iloc[0, 1] - cov01) < 1e-6 * abs(cov01)
    assert herd1.shape == (4, 4)


def test_poisson_marginal_moments_are_lognormal(poisson):
    s2 = float(poisson.sd_re["subject"].iloc[0]) ** 2
    moments = poisson.marginal_moments()
    d = poisson.objective.design
    eta = d.offset + d.X @ poisson.params.to_numpy()
    mean = np.exp(eta + s2 / 2)
    np.testing.assert_allclose(moments.mean.to_numpy(), mean, rtol=1e-10)
    np.testing.assert_allclose(moments.var.to_numpy(), mean + mean ** 2 * np.expm1(s2), rtol=1e-9)
    first = moments.cov["1"]
    np.testing.assert_allclose(first.iloc[0, 1], mean[0] * mean[1] * np.expm1(s2), rtol=1e-9)
    table = poisson.marginal_coefs(std_errors=False)
    np.testing.assert_allclose(table["marginal"], table["closed form"], rtol=1e-9, atol=1e-12)


def test_posterior_means_match_direct_integration(poisson):
    means = poisson.random_effects(kind="mean")["subject"]
    modes = poisson.random_effects["subject"]
    assert poisson.random_effects(kind="mode")["subject"] is modes
    d = poisson.objective.design
    sd = float(poisson.sd_re["subject"].iloc[0])
    eta0 = d.offset + d.X @ poisson.params.to_numpy()
    index = poisson.objective.blocks[0].index
    for level in (0, 10, 49):
        rows = index == level
        y, e0 = d.response[rows], eta0[rows]
        m = modes["(Intercept)"].iloc[level]
        peak = np.sum(y * (e0 + m) - np.exp(e0 + m)) - 0.5 * (m / sd) ** 2

        def density(b, power):
            return b ** power * np.exp(np.sum(y * (e0 + b) - np.exp(e0 + b)) - 0.5 * (b / sd) ** 2 - peak)
        z = [quad(density, m - 3, m + 3, args=(k,), epsabs=0, epsrel=1e-12)[0] for k in range(3)]
        mean, var = z[1] / z[0], z[2] / z[0] - (z[1] / z[0]) ** 2
        assert abs(means["(Intercept)"].iloc[level] - mean) < 1e-8
        assert abs(means["sd((Intercept))"].iloc[level] - np.sqrt(var)) < 1e-8
    with pytest.raises(ValueError, match="`kind`"):
        poisson.random_effects(kind="median")


def test_prediction_interval_for_new_groups_covers(probit):
    new = pd.DataFrame({"period": ["1", "4"], "herd": ["new", "new"], "incidence": [0, 0], "size": [1, 1]})
    interval = probit.predict_interval(new, parameter_uncertainty=False)
    sigma = float(probit.sd_re["herd"].iloc[0])
    rng = np.random.default_rng(0)
    b = sigma * rng.standard_normal(200_000)
    eta = probit.predict(new, re=False).to_numpy()
    for row in range(2):
        p = norm.cdf(eta[row] + b)
        inside = np.mean((p >= interval["lower"].iloc[row]) & (p <= interval["upper"].iloc[row]))
        assert abs(inside - 0.95) < 0.005
    wider = probit.predict_interval(new)
    assert np.all(wider["upper"] - wider["lower"] > interval["upper"] - interval["lower"])
    with pytest.raises(ValueError, match="`alpha`"):
        probit.predict_interval(new, alpha=2)


def test_plots(probit, poisson):
    axes = probit.plot_random_effects()
    assert len(axes) == 1 and len(axes[0].get_yticklabels()) == 15
    axes = poisson.plot_random_effects(kind="mean")
    ax = probit.plot_marginal("size", newdata=datasets.load("cbpp"))
    lines = ax.get_lines()
    marginal, conditional = lines[-1].get_ydata(), lines[-2].get_ydata()
    assert len(lines) == 11 and not np.allclose(marginal, conditional)
    with pytest.raises(ValueError, match="`group`"):
        probit.plot_random_effects(group="nope")
    with pytest.raises(ValueError, match="`x`"):
        probit.plot_marginal("nope", newdata=datasets.load("cbpp"))


def test_poisson_random_slope_marginal_coefficients_are_the_lognormal_shift():
    res = fit("y ~ lbase*trt + lage + V4 + (V4 | subject)", datasets.load("epilepsy"), family="poisson")
    table = res.marginal_coefs(std_errors=False)
    D = res.cov_re["subject"].to_numpy()
    # z = (1, V4) with V4 in {0, 1}: z'Dz / 2 = D00/2 + (D01 + D11/2) V4
    shift = pd.Series(0.0, index=res.params.index)
    shift["(Intercept)"], shift["V4"] = D[0, 0] / 2, D[0, 1] + D[1, 1] / 2
    np.testing.assert_allclose(table["marginal"], res.params + shift, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(table["closed form"], res.params + shift, rtol=1e-12, atol=1e-12)
