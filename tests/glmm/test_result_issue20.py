"""Issue 20's surface of the result classes (quadlib.glmm._result.MixedResult, GLMMResult, LMMResult): the
read-only fit pieces and the inference methods that delegate to the inference modules. The numbers come
from R (tests/reference/issue20_reference.json, issue20_profile_exact.json) or from closed forms; the
delegating modules' own tests cover their algorithms.
"""
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quadlib.glmm import datasets, lmm

REFERENCE = Path(__file__).resolve().parents[1] / "reference"



def reference(name="issue20_reference.json"):
    return json.loads((REFERENCE / name).read_text())


@pytest.fixture(scope="module")
def sleep_reml():
    return lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))


# ------------------------------------------------------------------------------ the fit's pieces, read-only
def test_lmm_objective_solution_optimizer_are_public_and_read_only(sleep_reml):
    r = sleep_reml
    assert r.objective.reml is True
    # the solution is the objective's at the reported theta: its beta is params, its r2 gives sigma
    # (REML: sigma^2 = r2 / (n - p))
    np.testing.assert_allclose(r.solution.beta, r.params.to_numpy(), rtol=1e-12)
    n, p = r.nobs, len(r.params)
    assert np.sqrt(r.solution.r2 / (n - p)) == pytest.approx(r.sigma, rel=1e-12)
    # the optimizer refits the objective to the same optimum
    again = r.optimizer(r.objective, r.theta)
    np.testing.assert_allclose(again.x, r.theta, rtol=1e-5, atol=1e-7)
    for name in ("objective", "solution", "optimizer"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(r, name, None)


@pytest.fixture(scope="module")
def sleep_ml():
    return lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"), reml=False)


@pytest.fixture(scope="module")
def cbpp():
    from quadlib.glmm import fit

    return fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"), family="binomial")


def table(entry):
    """A JSON table {rows, columns, data} as a DataFrame."""
    rows = entry["rows"] if isinstance(entry["rows"], list) else [entry["rows"]]
    data = {c: (v if isinstance(v, list) else [v]) for c, v in entry["data"].items()}
    return pd.DataFrame(data, index=rows)[entry["columns"]]


# ------------------------------------------------------------------------------ cov_params(kind=), wald_test
def test_cov_params_sandwich_equals_clubsandwich(sleep_ml, sleep_reml):
    ref = reference()["sandwich_sleepstudy"]
    np.testing.assert_allclose(sleep_ml.cov_params("sandwich", correction="CR0").to_numpy(), ref["ml"]["CR0"],
                               rtol=1e-5)
    # balanced, one design per cluster, unstructured block: CR2 = the model-based covariance (closed form)
    np.testing.assert_allclose(sleep_reml.cov_params("sandwich").to_numpy(), sleep_reml.cov_params().to_numpy(),
                               rtol=1e-6)
    assert list(sleep_reml.cov_params(kind="sandwich").index) == ["(Intercept)", "Days"]
    with pytest.raises(ValueError, match="`kind` must be one of"):
        sleep_reml.cov_params("robust")
    with pytest.raises(ValueError, match="`correction` applies to kind='sandwich'"):
        sleep_reml.cov_params(correction="CR0")


def test_wald_test_of_a_glmm_by_hand(cbpp):
    test = cbpp.wald_test("period2 = 0, period3 = 0, period4 = 0")
    beta, C = cbpp.params.to_numpy()[1:], cbpp.cov_params().to_numpy()[1:, 1:]
    expected = float(beta @ np.linalg.solve(C, beta))
    assert test.statistic == pytest.approx(expected, rel=1e-12) and test.df == 3
    from scipy import stats
    assert test.pvalue == pytest.approx(stats.chi2.sf(expected, 3), rel=1e-12)
    one = cbpp.wald_test("period4 = 0")
    assert one.pvalue == pytest.approx(cbpp.pvalues["period4"], rel=1e-10)
    assert cbpp.wald_test([0, 0, 0, 1]).statistic == pytest.approx(one.statistic, rel=1e-14)
    with pytest.raises(ValueError, match="unknown coefficient 'period5'"):
        cbpp.wald_test("period5 = 0")
    with pytest.raises(ValueError, match="`cov` must be one of"):
        cbpp.wald_test("period4 = 0", cov="robust")


def test_wald_test_with_the_sandwich_equals_r(cbpp):
    """cbpp, CR1 of the per-herd Laplace scores coded in R (reference order .sig01, beta)."""
    ref = reference()["sandwich_cbpp"]
    cr1 = np.array(ref["CR1"])[1:, 1:]
    test = cbpp.wald_test("period2 = 0, period3 = 0, period4 = 0", cov="sandwich")
    beta = cbpp.params.to_numpy()[1:]
    assert test.statistic == pytest.approx(float(beta @ np.linalg.solve(cr1[1:, 1:], beta)), rel=1e-4)
    ci = cbpp.conf_int(cov="sandwich")
    se = np.sqrt(np.diag(cr1))
    np.testing.assert_allclose((ci["upper"] - ci["lower"]).to_numpy(), 2 * 1.959963984540054 * se, rtol=1e-4)


# ------------------------------------------------------------------------------ variance components
@pytest.mark.parametrize("fixture, key", [("sleep_ml", "sleepstudy_ml"), ("sleep_reml", "sleepstudy_reml"),
                                          ("cbpp", "cbpp")])
def test_re_params_and_re_bse_equal_r(fixture, key, request):
    result = request.getfixturevalue(fixture)
    ref = reference()["sd_se"][key]
    k = sum(name.startswith(".sig") for name in ref["names"])   # the variance components (cbpp: then beta)
    np.testing.assert_allclose(result.re_params.to_numpy(), ref["estimate"][:k], rtol=1e-4)
    np.testing.assert_allclose(result.re_bse.to_numpy(), ref["se"][:k], rtol=1e-4)
    assert result.re_params.index.equals(result.re_bse.index)
    assert result.re_params.index[0].startswith("sd_(Intercept)|")


@pytest.mark.slow
def test_conf_int_parm_all_profile_equals_the_exact_ends(cbpp):
    """lme4's order (variance components, then beta); the exact ends of uniroot on lme4's deviance."""
    ref = reference("issue20_profile_exact.json")["cbpp"]
    ci = cbpp.conf_int(method="profile", parm="all")
    assert list(ci.index) == ["sd_(Intercept)|herd", "(Intercept)", "period2", "period3", "period4"]
    np.testing.assert_allclose(ci["lower"].to_numpy(), ref["lower"], rtol=1e-6)
    np.testing.assert_allclose(ci["upper"].to_numpy(), ref["upper"], rtol=1e-6)


@pytest.mark.slow
def test_conf_int_parm_all_profile_of_an_lmm_equals_the_exact_ends(sleep_ml):
    ref = reference("issue20_profile_exact.json")["sleepstudy_ml"]
    ci = sleep_ml.conf_int(method="profile", parm="all")
    assert list(ci.index) == list(sleep_ml.re_params.index) + ["(Intercept)", "Days"]
    np.testing.assert_allclose(ci["lower"].to_numpy(), ref["lower"], rtol=1e-6)
    np.testing.assert_allclose(ci["upper"].to_numpy(), ref["upper"], rtol=1e-6)


def test_conf_int_parm_and_arguments(sleep_reml):
    wald = sleep_reml.conf_int(parm="re")
    se, value = sleep_reml.re_bse, sleep_reml.re_params
    np.testing.assert_allclose(wald["upper"].to_numpy(), (value + 1.959963984540054 * se).to_numpy(), rtol=1e-10)
    assert list(sleep_reml.conf_int(parm="all").index) == list(value.index) + ["(Intercept)", "Days"]
    pd.testing.assert_frame_equal(sleep_reml.conf_int(parm="beta"), sleep_reml.conf_int())
    with pytest.raises(ValueError, match="`parm` must be one of"):
        sleep_reml.conf_int(parm="theta")
    with pytest.raises(ValueError, match="`cov` applies to method='wald'"):
        sleep_reml.conf_int(method="profile", cov="sandwich")
    with pytest.raises(ValueError, match="apply to method='boot'"):
        sleep_reml.conf_int(seed=1)
    with pytest.raises(ValueError, match="apply to method='boot'"):
        sleep_reml.conf_int(kind="bca")
    with pytest.raises(ValueError, match="`kind` must be one of"):    # refused before any refit
        sleep_reml.conf_int(method="boot", kind="student", n=10 ** 6)
    with pytest.raises(ValueError, match="`method` must be one of"):
        sleep_reml.conf_int(method="bootstrap")


# ------------------------------------------------------------------------------ small-sample LMM tests
def test_t_test_and_summary_ddf_equal_lmertest(sleep_reml):
    ref = reference()["smallsample_sleepstudy"]
    for ddf, key in (("satterthwaite", "satterthwaite"), ("Kenward-Roger", "kenward_roger")):
        expected = table(ref[key])
        got = sleep_reml.t_test(ddf)
        assert list(got.columns) == ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]
        np.testing.assert_allclose(got["df"].to_numpy(), expected["df"].to_numpy(), rtol=1e-4)
        np.testing.assert_allclose(got["Pr(>|t|)"].to_numpy(), expected["Pr(>|t|)"].to_numpy(), rtol=1e-4)
    text = sleep_reml.summary(ddf="satterthwaite")
    assert "t-tests use Satterthwaite's method" in text
    lines = text.splitlines()
    header = lines[lines.index("Fixed effects:") + 1]
    assert header.split() == ["Estimate", "Std.", "Error", "df", "t", "value", "Pr(>|t|)"]
    assert lines[lines.index("Fixed effects:") + 3].split() == ["Days", "10.467", "1.546", "17.000", "6.771",
                                                                "3.26e-06"]
    assert sleep_reml.summary() == sleep_reml.summary(ddf=None)
    assert "df" not in sleep_reml.summary().split("Fixed effects:")[1].splitlines()[1].split()
    with pytest.raises(ValueError, match="`ddf` must be"):
        sleep_reml.summary(ddf="containment")


def test_f_test_equals_lmertest():
    ref = reference()["smallsample_chickweight"]
    res = lmm("weight ~ Time + Diet + (Time | Chick)", datasets.load("chickweight"))
    diet = res.f_test("Diet")
    expected = table(ref["anova_satterthwaite"]).loc["Diet"]
    assert diet["DenDF"].iloc[0] == pytest.approx(expected["DenDF"], rel=1e-4)
    assert diet["F value"].iloc[0] == pytest.approx(expected["F value"], rel=1e-4)
    # the contrast of the reference as a hypothesis string, in the coefficients' names
    L = np.array(ref["contrast_L"], dtype=float)
    names = list(res.params.index)
    text = ", ".join(" + ".join(f"{c:g}*{n}" for c, n in zip(row, names) if c) + " = 0" for row in L)
    kr = res.f_test(text, ddf="kr")
    expected = table(ref["contest_kenward_roger"]).iloc[0]
    assert kr["DenDF"].iloc[0] == pytest.approx(expected["DenDF"], rel=1e-4)
    assert kr["F value"].iloc[0] == pytest.approx(expected["F value"], rel=1e-4)
    assert kr.index[0] == text
    np.testing.assert_allclose(res.f_test(L, ddf="kr").to_numpy(), kr.to_numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="`rhs` applies to a matrix"):
        res.f_test("Diet2 = 0", rhs=1.0)


# ------------------------------------------------------------------------------ anova, bootstrap, plots
def test_compare_equals_lme4_anova(cbpp):
    from quadlib.glmm import fit

    m0 = fit("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", datasets.load("cbpp"), family="binomial")
    expected = table(reference()["anova_cbpp"]["table"])
    frame = cbpp.compare(m0)
    assert list(frame["npar"]) == [2, 5]          # sorted by npar, as lme4
    assert frame["Chisq"].iloc[1] == pytest.approx(expected["Chisq"].iloc[1], rel=1e-6)
    assert frame["Pr(>Chisq)"].iloc[1] == pytest.approx(expected["Pr(>Chisq)"].iloc[1], rel=1e-6)
    named = cbpp.compare(m0, names=["cb1", "cb0"])             # the keywords go to anova
    assert list(named.index) == ["cb0", "cb1"]
    assert named["Chisq"].iloc[1] == pytest.approx(expected["Chisq"].iloc[1], rel=1e-6)


def test_refitter_is_declared():
    from quadlib.glmm import pql

    res = pql("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"),
              family="binomial")
    with pytest.raises(TypeError, match="cannot be refitted"):
        res.refitter()
    with pytest.raises(TypeError, match="cannot be refitted"):
        res.bootstrap(2, progress=False)


def test_bootstrap_and_boot_intervals(cbpp, sleep_reml):
    for result in (cbpp, sleep_reml):
        refitter = result.refitter()
        assert sorted(refitter.names) == sorted(list(result.params.index) + list(result.re_params.index))
    boot = cbpp.bootstrap(20, seed=1, workers=1, progress=False)
    assert boot.draws.shape == (20, 5) and boot.n_failed == 0
    # percentile ends: type-7 quantiles of the draws (numpy's default)
    ci = cbpp.conf_int(method="boot", boot=boot, parm="beta")
    np.testing.assert_allclose(ci["lower"].to_numpy(), np.quantile(boot.draws[cbpp.params.index], 0.025, axis=0),
                               rtol=1e-12)
    # the default covers the variance components and the fixed effects (lme4's confint(method = "boot"))
    assert list(cbpp.conf_int(method="boot", boot=boot).index) == ["sd_(Intercept)|herd"] + list(cbpp.params.index)
    both = cbpp.conf_int(method="boot", boot=boot, parm="all", kind="basic")
    assert list(both.index) == ["sd_(Intercept)|herd"] + list(cbpp.params.index)
    again = cbpp.conf_int(method="boot", n=20, seed=1, workers=1, parm="beta")
    pd.testing.assert_frame_equal(again, ci)
    with pytest.raises(ValueError, match="`n` must be a positive integer"):
        cbpp.bootstrap(0)
    with pytest.raises(ValueError, match="`boot` is a finished bootstrap"):
        cbpp.conf_int(method="boot", boot=boot, seed=2)


def test_plot_profile(cbpp):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    figure = cbpp.plot_profile(n_points=3)
    assert len(figure.axes) == 1


def test_boot_interval_refuses_a_bootstrap_of_another_fit_and_a_non_bootstrap():
    """Regression (review): conf_int(method="boot", boot=b) with b from another fit whose names match returned
    that fit's intervals silently; boot=3 leaked an AttributeError."""
    import warnings

    from quadlib.glmm import datasets, fit

    cbpp = datasets.load("cbpp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m0 = fit("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", cbpp)
        m1 = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp)
        boot = m1.bootstrap(5, seed=1, workers=1, progress=False)
    with pytest.raises(ValueError, match="`boot` is a bootstrap of another fit"):
        m0.conf_int(method="boot", boot=boot)
    with pytest.raises(TypeError, match="`boot` must be a BootstrapResult"):
        m1.conf_int(method="boot", boot=3)
    assert m1.conf_int(method="boot", boot=boot).shape == (5, 2)   # its own fit: accepted
