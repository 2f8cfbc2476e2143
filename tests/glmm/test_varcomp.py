"""Variance components on the standard-deviation scale (quadlib.glmm._varcomp): lme4's oldNames = FALSE names,
delta-method standard errors and profile intervals of sds, correlations and sigma, and the profile plot.

References (tests/reference, read only): issue20_reference.json (``sd_se``: numDeriv Hessians of lme4's devfun2
and of the Laplace devfun, lmerTest's vcov_varpar; ``profile``: lme4's confint(profile) on a fine grid) and
issue20_profile_exact.json (the profile ends by root finding on lme4's own deviance functions, no spline).
"""
import json
import math
from pathlib import Path
import warnings

import numpy as np
import pandas as pd
import pytest

from quadlib.glmm import ConvergenceWarning, datasets, fit, lmm
from quadlib.glmm._varcomp import (lmm_deviance, profile_trace, sd_scale,
                                   sd_scale_covariance, varcomp_conf_int, varcomp_profiles)

REFERENCE = Path(__file__).resolve().parent.parent / "reference"
REF = json.loads((REFERENCE / "issue20_reference.json").read_text())
EXACT = json.loads((REFERENCE / "issue20_profile_exact.json").read_text())
SLEEP_NAMES = ["sd_(Intercept)|Subject", "cor_Days.(Intercept)|Subject", "sd_Days|Subject", "sigma"]
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
SLEEP = "Reaction ~ Days + (Days | Subject)"


@pytest.fixture(scope="module")
def sleep_ml():
    return lmm(SLEEP, datasets.load("sleepstudy"), reml=False)


@pytest.fixture(scope="module")
def sleep_reml():
    return lmm(SLEEP, datasets.load("sleepstudy"))


@pytest.fixture(scope="module")
def cbpp():
    return fit(CBPP, datasets.load("cbpp"), family="binomial")


def _relative(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.max(np.abs(a - b) / np.abs(b))


# ------------------------------------------------------------------------------------------------- estimates
def test_names_and_values_follow_lme4(sleep_ml, sleep_reml, cbpp):
    names, values, J = sd_scale(sleep_ml)
    assert names == SLEEP_NAMES
    assert _relative(values, REF["sd_se"]["sleepstudy_ml"]["estimate"]) < 1e-5
    assert J.shape == (4, 4)
    names, values, _ = sd_scale(sleep_reml)
    assert _relative(values, REF["sd_se"]["sleepstudy_reml"]["estimate"]) < 1e-5
    names, values, J = sd_scale(cbpp)
    assert names == ["sd_(Intercept)|herd"] and J.shape == (1, cbpp.x.size)
    assert values[0] == pytest.approx(cbpp.sd_re["herd"].iloc[0], rel=1e-12)


def test_jacobian_is_the_derivative_of_the_map(sleep_reml):
    """J over (theta, sigma) against central differences of the values at other theta (sigma follows from
    the PWRSS there, so the theta columns are the total derivative through sigma as well)."""
    names, values, J = sd_scale(sleep_reml)
    theta = sleep_reml.theta
    solution = sleep_reml.objective.solve(theta)
    n, p = sleep_reml.nobs, len(sleep_reml.params)
    sigma_of = lambda t: math.sqrt(sleep_reml.objective.solve(t).r2 / (n - p))
    assert sigma_of(theta) == pytest.approx(sleep_reml.sigma, rel=1e-12)
    assert math.sqrt(solution.r2 / (n - p)) == pytest.approx(values[-1], rel=1e-12)
    for k in range(theta.size):
        h = 1e-6
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        numeric = (sd_scale(sleep_reml, up)[1] - sd_scale(sleep_reml, down)[1]) / (2 * h)
        dsigma = (sigma_of(up) - sigma_of(down)) / (2 * h)
        total = J[:, k] + J[:, -1] * dsigma
        np.testing.assert_allclose(numeric, total, rtol=1e-5, atol=1e-7)


def test_bootstrap_coordinates(cbpp):
    """sd_scale at another x of the same model (a refit's) maps that x."""
    x = cbpp.x.copy()
    i = cbpp.objective.layout.slice.start
    x[i] = 0.5
    assert sd_scale(cbpp, x)[1][0] == pytest.approx(0.5, rel=1e-15)


# --------------------------------------------------------------------------------------- delta-method SEs
def test_wald_se_sleepstudy_ml_equals_devfun2_hessian(sleep_ml):
    se = np.sqrt(np.diag(sd_scale_covariance(sleep_ml)))
    assert _relative(se, REF["sd_se"]["sleepstudy_ml"]["se"]) < 1e-4
    assert _relative(sd_scale_covariance(sleep_ml), REF["sd_se"]["sleepstudy_ml"]["cov"]) < 1e-3


def test_wald_se_sleepstudy_reml_equals_lmertest(sleep_reml):
    se = np.sqrt(np.diag(sd_scale_covariance(sleep_reml)))
    assert _relative(se, REF["sd_se"]["sleepstudy_reml"]["se"]) < 1e-4


def test_wald_se_cbpp(cbpp):
    se = np.sqrt(np.diag(sd_scale_covariance(cbpp)))
    assert se[0] == pytest.approx(0.178562027447197, rel=1e-4)


def test_lmm_deviance(sleep_ml, sleep_reml):
    # at sigma^2 = PWRSS / n (ML) or / (n - p) (REML) the deviance is the criterion the fit minimized
    assert lmm_deviance(sleep_ml.objective, sleep_ml.theta, sleep_ml.sigma) == pytest.approx(-2 * sleep_ml.llf,
                                                                                           rel=1e-12)
    assert lmm_deviance(sleep_reml.objective, sleep_reml.theta, sleep_reml.sigma, reml=True) == pytest.approx(
        sleep_reml.reml_criterion, rel=1e-12)
    # the minimum over sigma is at PWRSS / n
    assert lmm_deviance(sleep_ml.objective, sleep_ml.theta, 1.01 * sleep_ml.sigma) > -2 * sleep_ml.llf
    assert lmm_deviance(sleep_ml.objective, sleep_ml.theta, 0.99 * sleep_ml.sigma) > -2 * sleep_ml.llf
    with pytest.raises(ValueError, match="`sigma`"):
        lmm_deviance(sleep_ml.objective, sleep_ml.theta, 0.0)


def test_singular_fit_has_no_sd_se_and_a_zero_lower_end():
    data = pd.read_csv(REFERENCE / "lmm_singular.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = lmm("y ~ x + (1 | g)", data, reml=False)
    assert result.theta[0] == 0.0
    se = np.sqrt(np.diag(sd_scale_covariance(result)))
    assert math.isnan(se[0]) and se[1] > 0
    ci = varcomp_conf_int(result)
    assert ci.loc["sd_(Intercept)|g", "lower"] == 0.0
    assert ci.loc["sd_(Intercept)|g", "upper"] > 0.0
    # the upper end is where the likelihood-ratio statistic reaches the chi-square(1) quantile
    llf, estimate, _, llf_max = varcomp_profiles(result)[0]
    upper = ci.loc["sd_(Intercept)|g", "upper"]
    assert 2 * (llf_max - llf(upper)) == pytest.approx(3.841458820694124, rel=1e-6)


# ------------------------------------------------------------------------------------------------- profiles
def test_profile_cbpp_equals_the_exact_ends(cbpp):
    ci = varcomp_conf_int(cbpp)
    assert list(ci.index) == ["sd_(Intercept)|herd"]
    exact = EXACT["cbpp"]
    assert ci.iloc[0]["lower"] == pytest.approx(exact["lower"][0], rel=1e-6)
    assert ci.iloc[0]["upper"] == pytest.approx(exact["upper"][0], rel=1e-6)
    fine = REF["profile"]["cbpp_fine"]["data"]
    assert ci.iloc[0]["lower"] == pytest.approx(fine["2.5 %"][0], rel=1e-4)
    assert ci.iloc[0]["upper"] == pytest.approx(fine["97.5 %"][0], rel=1e-4)


@pytest.mark.slow
def test_profile_sleepstudy_ml_equals_the_exact_ends(sleep_ml):
    ci = varcomp_conf_int(sleep_ml)
    assert list(ci.index) == SLEEP_NAMES
    exact = EXACT["sleepstudy_ml"]
    assert _relative(ci["lower"], exact["lower"][:4]) < 1e-6
    assert _relative(ci["upper"], exact["upper"][:4]) < 1e-6
    fine = REF["profile"]["sleepstudy_ml_fine"]["data"]
    assert _relative(ci["lower"], fine["2.5 %"][:4]) < 1e-4
    assert _relative(ci["upper"], fine["97.5 %"][:4]) < 1e-4


@pytest.mark.slow
def test_profile_of_a_reml_fit_is_the_ml_profile(sleep_reml):
    """lme4's devfun2 starts with refitML: sleepstudy_reml = sleepstudy_ml."""
    ci = varcomp_conf_int(sleep_reml)
    exact = EXACT["sleepstudy_ml"]
    assert _relative(ci["lower"], exact["lower"][:4]) < 1e-6
    assert _relative(ci["upper"], exact["upper"][:4]) < 1e-6


@pytest.mark.slow
def test_profile_gaussian_glmm_equals_the_lmm_ends():
    result = fit(SLEEP, datasets.load("sleepstudy"), family="gaussian")
    names, values, _ = sd_scale(result)
    assert names == SLEEP_NAMES
    se = np.sqrt(np.diag(sd_scale_covariance(result)))
    assert _relative(se, REF["sd_se"]["sleepstudy_ml"]["se"]) < 1e-4
    ci = varcomp_conf_int(result)
    exact = EXACT["sleepstudy_ml"]
    assert _relative(ci["lower"], exact["lower"][:4]) < 1e-6
    assert _relative(ci["upper"], exact["upper"][:4]) < 1e-6


@pytest.mark.slow
def test_profile_of_a_reml_glmm_is_the_ml_profile():
    """A GLMM fitted by REML (gaussian: lmer's REML) has lmerTest's REML SEs and lme4's ML profile ends."""
    result = fit(SLEEP, datasets.load("sleepstudy"), family="gaussian", reml=True)
    se = np.sqrt(np.diag(sd_scale_covariance(result)))
    assert _relative(se, REF["sd_se"]["sleepstudy_reml"]["se"]) < 1e-4
    ci = varcomp_conf_int(result)
    exact = EXACT["sleepstudy_ml"]
    assert _relative(ci["lower"], exact["lower"][:4]) < 1e-6
    assert _relative(ci["upper"], exact["upper"][:4]) < 1e-6


def test_profile_values_are_likelihood_ratios(cbpp):
    """At the estimate the profile is the maximum; outside the parameter space it is -inf."""
    llf, estimate, se, llf_max = varcomp_profiles(cbpp)[0]
    assert llf_max == pytest.approx(cbpp.llf, rel=1e-12)
    assert llf(estimate) == pytest.approx(llf_max, abs=1e-6)
    assert llf(-0.1) == -math.inf
    assert llf(estimate + se) < llf_max


def test_correlation_in_a_three_effect_block_is_refused_with_a_warning():
    data = datasets.load("sleepstudy")
    data["D2"] = data["Days"] ** 2 / 10
    result = lmm("Reaction ~ Days + (Days + D2 | Subject)", data, reml=False)
    names = sd_scale(result)[0]
    assert names[:3] == ["sd_(Intercept)|Subject", "cor_Days.(Intercept)|Subject", "cor_D2.(Intercept)|Subject"]
    with pytest.warns(ConvergenceWarning, match="cor_D2.(Intercept)|Subject"):
        profiles = varcomp_profiles(result)
    assert math.isnan(profiles[2][0](0.1))
    assert profiles[1][0] is not profiles[2][0]


def test_wald_conf_int(sleep_ml):
    from scipy.stats import norm

    ci = varcomp_conf_int(sleep_ml, method="wald")
    se = np.asarray(REF["sd_se"]["sleepstudy_ml"]["se"])
    est = np.asarray(REF["sd_se"]["sleepstudy_ml"]["estimate"])
    np.testing.assert_allclose(ci["lower"], est - norm.isf(0.025) * se, rtol=1e-4)
    np.testing.assert_allclose(ci["upper"], est + norm.isf(0.025) * se, rtol=1e-4)


# ----------------------------------------------------------------------------------------------- the trace
def test_profile_trace_crosses_the_cut_off_at_the_ends(cbpp):
    trace = profile_trace(cbpp, "sd_(Intercept)|herd", n_points=7)
    assert list(trace.columns) == ["value", "zeta"] and len(trace) == 7
    assert trace["zeta"].is_monotonic_increasing
    lower, upper = trace.attrs["lower"], trace.attrs["upper"]
    width = upper - lower
    assert trace["value"].iloc[0] == pytest.approx(lower - 0.1 * width, rel=1e-12)
    assert trace["value"].iloc[-1] == pytest.approx(upper + 0.1 * width, rel=1e-12)
    # zeta is close to linear here: interpolating at the ends gives -/+ 1.96 within the grid's spacing error
    z = np.interp([lower, upper], trace["value"], trace["zeta"])
    np.testing.assert_allclose(z, [-1.959963984540054, 1.959963984540054], atol=0.05)


def test_plot_profile(cbpp):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from quadlib.glmm.plotting import plot_profile

    figure = plot_profile(cbpp, n_points=5)
    axes = figure.get_axes()
    assert len(axes) == 1 and axes[0].get_xlabel() == "sd_(Intercept)|herd"
    line = axes[0].get_lines()[0]
    assert len(line.get_xdata()) == 5
    levels = sorted(l.get_ydata()[0] for l in axes[0].get_lines()[1:3])
    np.testing.assert_allclose(levels, [-1.959963984540054, 1.959963984540054], rtol=1e-12)
    plt.close(figure)
    with pytest.raises(ValueError, match="`parm`"):
        plot_profile(cbpp, parm="sd_x|herd")
    with pytest.raises(TypeError, match="`parm`"):
        plot_profile(cbpp, parm=3)
    _, ax = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="`ax`"):
        plot_profile(cbpp, ax=ax)
    plt.close("all")


# ----------------------------------------------------------------------------------------- bad input
def test_input_validation(cbpp, sleep_ml):
    with pytest.raises(TypeError, match="`result`"):
        sd_scale(object())
    with pytest.raises(TypeError, match="`result`"):
        sd_scale_covariance(cbpp.params)
    with pytest.raises(ValueError, match="`x`"):
        sd_scale(cbpp, [1.0, 2.0])
    with pytest.raises(ValueError, match="`x`"):
        sd_scale(sleep_ml, np.ones(5))
    with pytest.raises(TypeError, match="`x`"):
        sd_scale(sleep_ml, ["a", "b", "c"])
    with pytest.raises(ValueError, match="`method`"):
        varcomp_conf_int(cbpp, method="boot")
    with pytest.raises(ValueError, match="`alpha`"):
        varcomp_conf_int(cbpp, alpha=1.5)
    with pytest.raises(ValueError, match="`parm`"):
        profile_trace(cbpp, "period2")
    with pytest.raises(ValueError, match="`n_points`"):
        profile_trace(cbpp, "sd_(Intercept)|herd", n_points=201)
    with pytest.raises(ValueError, match="`n_points`"):
        profile_trace(cbpp, "sd_(Intercept)|herd", n_points=2)


def test_sd_scale_values_closed_form_and_agreement(sleep_ml):
    from quadlib.glmm._covariance import ThetaLayout
    from quadlib.glmm._varcomp import sd_scale_values

    layout = ThetaLayout.single("g", ["(Intercept)", "x"], True, 10)
    names, values = sd_scale_values(layout.blocks, [np.array([[3.0, 0.0], [2.0, 2.0]])], sigma=1.5)
    assert names == ["sd_(Intercept)|g", "cor_x.(Intercept)|g", "sd_x|g", "sigma"]
    # Cov = [[9, 6], [6, 8]]
    np.testing.assert_allclose(values, [3.0, 6.0 / (3.0 * math.sqrt(8.0)), math.sqrt(8.0), 1.5], rtol=1e-15)
    names, values = sd_scale_values(layout.blocks, [np.zeros((2, 2))])
    assert values[0] == 0.0 and math.isnan(values[1])
    blocks = sleep_ml.objective.layout.blocks
    factors = [sleep_ml.sigma * b.factor(sleep_ml.theta[b.theta]) for b in blocks]
    got = sd_scale_values(blocks, factors, sleep_ml.sigma, names=list(sleep_ml.cov_re))
    expected = sd_scale(sleep_ml)
    assert got[0] == expected[0]
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-14)
    with pytest.raises(ValueError, match="`factors`"):
        sd_scale_values(blocks, [])


def test_an_unconverged_refit_under_a_profile_warns():
    """Regression (review): the ML refit of a REML fit and the profile refits ran with ConvergenceWarning
    silenced and their outcome unchecked; a refit that stopped short (large gradient) now warns, while a
    stationary point with a semidefinite Hessian (an SD held at 0 leaves its correlation flat) does not."""
    from types import SimpleNamespace

    from quadlib.glmm import ConvergenceWarning
    from quadlib.glmm._varcomp import _warn_unconverged

    short = SimpleNamespace(converged=False, llf=-10.0, gradient=np.array([0.5, 1e-6]), free=np.array([True, True]),
                            message="stopped at max_evaluations")
    flat = SimpleNamespace(converged=False, llf=-10.0, gradient=np.array([1e-7, 0.0]), free=np.array([True, True]),
                           message="the Hessian is not negative definite at the end")
    with pytest.warns(ConvergenceWarning, match="a profile refit did not converge"):
        assert _warn_unconverged(short, "a profile refit") is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _warn_unconverged(flat, "a profile refit") is False
