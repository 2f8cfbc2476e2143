"""anova / test_random (issue 20, design note section 1): likelihood-ratio tests between nested mixed models.

The numbers are lme4's ``anova`` (cbpp, sleepstudy by ML, REML with ``refit = FALSE``) and the hand-computed
LRTs against the GLM / LM stored by tests/reference/issue20_reference.R; the chi-bar-square p-values are closed
forms (Self & Liang 1987, Stram & Lee 1994) recomputed here with scipy. Every refusal of the contract is tested.
"""
import dataclasses
import json
import math
import pickle
from pathlib import Path
import warnings

import numpy as np
import pytest
from scipy.stats import chi2

from quadlib.glmm import datasets, fit, lmm
from quadlib.glmm import _anova

REF = json.loads((Path(__file__).resolve().parent.parent / "reference" / "issue20_reference.json").read_text())
CBPP1 = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
CBPP0 = "cbind(incidence, size - incidence) ~ 1 + (1 | herd)"
RTOL = 1e-6


def _fit(formula, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(formula, data, **kw)


@pytest.fixture(scope="module")
def cbpp():
    data = datasets.load("cbpp")
    return data, _fit(CBPP0, data, family="binomial"), _fit(CBPP1, data, family="binomial")


@pytest.fixture(scope="module")
def sleep():
    data = datasets.load("sleepstudy").copy()
    data["D2"] = data["Days"] ** 2
    fits = {(f, reml): lmm(f"Reaction ~ Days + ({f} | Subject)", data, reml=reml)
            for f in ("1", "Days") for reml in (False, True)}
    return data, fits


def _compare(frame, table):
    for column in table["columns"]:
        expected = np.array([np.nan if x is None else x for x in table["data"][column]], dtype=float)
        np.testing.assert_allclose(frame[column].to_numpy(dtype=float), expected, rtol=RTOL, err_msg=column)


def test_anova_cbpp_equals_lme4(cbpp):
    _, m0, m1 = cbpp
    frame = _anova.anova(m0, m1, names=["cb0", "cb1"])
    ref = REF["anova_cbpp"]["table"]
    assert list(frame.index) == ref["rows"]
    assert list(frame.columns) == _anova.COLUMNS
    _compare(frame, ref)
    assert math.isnan(frame["Pr(>chibar2)"].iloc[1])          # no variance component tested
    assert frame.attrs["chibar"] == ["", ""]


def test_anova_sleepstudy_random_slope_ml(sleep):
    _, fits = sleep
    frame = _anova.anova(fits["1", False], fits["Days", False], names=["ss0m", "ss1m"])
    _compare(frame, REF["anova_sleepstudy"]["table_ml"])
    chibar = REF["anova_sleepstudy"]["chibar"]
    assert frame["Pr(>chibar2)"].iloc[1] == pytest.approx(chibar["p_mixture"], rel=RTOL)
    # the closed form 0.5 chi2_1 + 0.5 chi2_2, by scipy at lme4's statistic
    T = chibar["statistic"]
    assert chibar["p_mixture"] == pytest.approx(0.5 * chi2.sf(T, 1) + 0.5 * chi2.sf(T, 2), rel=1e-12)
    assert frame.attrs["chibar"][1] == "0.5 chi2_1 + 0.5 chi2_2"


def test_anova_reml_same_fixed_effects_is_refit_false(sleep):
    _, fits = sleep
    frame = _anova.anova(fits["Days", True], fits["1", True], names=["ss1r", "ss0r"])
    assert list(frame.index) == ["ss0r", "ss1r"]               # sorted by npar, as lme4
    _compare(frame, REF["anova_sleepstudy"]["table_reml_refit_false"])


def test_test_random_against_glm(cbpp):
    _, _, m1 = cbpp
    ref = REF["re_test_cbpp"]
    frame = _anova.test_random(m1, "herd")
    assert list(frame.index) == ["m0", "m1"]
    assert frame["logLik"].iloc[0] == pytest.approx(ref["logLik_glm"], rel=RTOL)
    assert frame["npar"].tolist() == [4, 5]
    assert frame["Chisq"].iloc[1] == pytest.approx(ref["statistic"], rel=RTOL)
    assert frame["Pr(>Chisq)"].iloc[1] == pytest.approx(ref["p_naive"], rel=RTOL)
    assert frame["Pr(>chibar2)"].iloc[1] == pytest.approx(ref["p_mixture"], rel=RTOL)
    assert "~ period\n" in repr(frame)                         # the null model's formula: the fixed part


def test_test_random_against_lm(sleep):
    _, fits = sleep
    ref = REF["re_test_sleepstudy_intercept"]
    frame = _anova.test_random(fits["1", False], "Subject")
    assert frame["logLik"].iloc[0] == pytest.approx(ref["logLik_lm"], rel=RTOL)
    assert frame["Chisq"].iloc[1] == pytest.approx(ref["statistic"], rel=RTOL)
    assert frame["Pr(>chibar2)"].iloc[1] == pytest.approx(ref["p_mixture"], rel=RTOL)
    assert frame["Pr(>Chisq)"].iloc[1] == pytest.approx(ref["p_naive"], rel=RTOL)


def test_gaussian_glmm_null_is_the_lm(sleep):
    data, _ = sleep
    gaussian = _fit("Reaction ~ Days + (1 | Subject)", data, family="gaussian")
    frame = _anova.test_random(gaussian, "Subject")
    assert frame["logLik"].iloc[0] == pytest.approx(REF["re_test_sleepstudy_intercept"]["logLik_lm"], rel=RTOL)
    assert frame["npar"].tolist() == [3, 4]


def test_null_lm_reml_criterion_is_the_lmm_criterion_at_theta_zero(sleep):
    """The REML LM in closed form equals the LMM's REML criterion at theta = 0 (the boundary model)."""
    data, fits = sleep
    r0 = fits["1", True]
    frame = _anova.test_random(r0, "Subject")
    criterion = r0.objective.solve(np.zeros(1)).criterion
    assert frame["logLik"].iloc[0] == pytest.approx(-0.5 * criterion, rel=1e-10)
    # R 4.2.2: print(logLik(lm(Reaction ~ Days, lme4::sleepstudy), REML = TRUE), digits = 15)
    assert frame["logLik"].iloc[0] == pytest.approx(-946.831831736054, rel=1e-12)


def test_null_glm_poisson_equals_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    data = datasets.load("cbpp")
    m = _fit("incidence ~ period + (1 | herd)", data, family="poisson")
    frame = _anova.test_random(m, "herd")
    X = np.column_stack([np.ones(len(data))] + [(data["period"].astype(str) == k).to_numpy(float)
                                                for k in ("2", "3", "4")])
    llf = sm.GLM(data["incidence"].to_numpy(float), X, family=sm.families.Poisson()).fit(tol=1e-12).llf
    assert frame["logLik"].iloc[0] == pytest.approx(llf, rel=1e-9)


def test_null_glm_negative_binomial_equals_statsmodels():
    """The null GLM's dispersion (theta) is estimated with it: statsmodels' NB2 maximum likelihood."""
    sm = pytest.importorskip("statsmodels.api")
    data = datasets.load("salamanders")
    m = _fit("count ~ mined + (1 | site)", data, family="negative_binomial")
    frame = _anova.test_random(m, "site")
    X = np.column_stack([np.ones(len(data)), (data["mined"].astype(str) == "no").to_numpy(float)])
    peer = sm.NegativeBinomial(data["count"].to_numpy(float), X).fit(disp=0, method="bfgs", maxiter=500,
                                                                      gtol=1e-10)
    assert frame["logLik"].iloc[0] == pytest.approx(peer.llf, rel=1e-9)
    assert frame["npar"].tolist() == [3, 4]


def test_test_random_keeps_the_other_terms(sleep):
    """With another random term left, the null is the mixed model without the tested one (refitted): the
    diagonal (Days || Subject) tested against (1 | Subject) has one variance on the boundary."""
    data, fits = sleep
    data = data.assign(S2=data["Subject"])
    both = lmm("Reaction ~ Days + (1 | Subject) + (0 + Days | S2)", data, reml=False)
    frame = _anova.test_random(both, "S2")
    assert frame["logLik"].iloc[0] == pytest.approx(fits["1", False].llf, rel=1e-8)
    T = frame["Chisq"].iloc[1]
    assert frame["Pr(>chibar2)"].iloc[1] == pytest.approx(0.5 * chi2.sf(T, 1), rel=1e-12)
    assert "(1 | Subject)" in frame.heading.splitlines()[1]


def test_two_independent_variances_binomial_weights(sleep):
    data, _ = sleep
    diag = lmm("Reaction ~ Days + (Days || Subject)", data, reml=False)
    frame = _anova.test_random(diag, "Subject")
    T = frame["Chisq"].iloc[1]
    assert frame["Df"].iloc[1] == 2
    expected = 0.5 * chi2.sf(T, 1) + 0.25 * chi2.sf(T, 2)
    assert frame["Pr(>chibar2)"].iloc[1] == pytest.approx(expected, rel=1e-12)


def test_no_closed_form_is_nan_with_a_note(sleep):
    _, fits = sleep
    frame = _anova.test_random(fits["Days", False], "Subject")   # a whole 2 x 2 block from nothing
    assert math.isnan(frame["Pr(>chibar2)"].iloc[1])
    assert frame.attrs["chibar"][1] == _anova.NO_CLOSED_FORM
    assert "no closed form" in repr(frame)


def test_chibar_closed_forms():
    assert _anova.chibar_weights(3).tolist() == [0.125, 0.375, 0.375, 0.125]
    assert _anova.chibar_pvalue(3.0, [0.5, 0.5], [0, 1]) == pytest.approx(0.5 * chi2.sf(3.0, 1), rel=1e-14)
    assert _anova.chibar_pvalue(0.0, [0.5, 0.5], [0, 1]) == 1.0
    assert _anova.chibar_pvalue(-1e-9, [0.5, 0.5], [1, 2]) == 1.0
    # the 5 % critical value of 0.5 chi2_0 + 0.5 chi2_1 is chi2_1's 10 % one
    assert _anova.chibar_pvalue(chi2.isf(0.10, 1), [0.5, 0.5], [0, 1]) == pytest.approx(0.05, rel=1e-12)
    blocks = [("g", ("(Intercept)",), True)]
    assert _anova._mixture([], blocks, 1)[2] == "0.5 chi2_0 + 0.5 chi2_1"
    slope = [("g", ("(Intercept)", "x"), True)]
    assert _anova._mixture(blocks, slope, 2)[2] == "0.5 chi2_1 + 0.5 chi2_2"
    assert _anova._mixture(blocks, slope, 5)[2] == "0.5 chi2_4 + 0.5 chi2_5"   # 3 fixed effects more
    assert _anova._mixture(blocks, blocks, 3) == (None, None, "")
    assert _anova._mixture([], slope, 3)[2] == _anova.NO_CLOSED_FORM
    diagonal = [("g", ("(Intercept)",), True), ("g", ("x",), True)]
    assert _anova._mixture(blocks, diagonal, 1)[2] == "0.5 chi2_0 + 0.5 chi2_1"
    assert _anova._mixture([], diagonal, 2)[2] == "0.25 chi2_0 + 0.5 chi2_1 + 0.25 chi2_2"
    weights, dfs, note = _anova._mixture(diagonal, slope, 1)      # a covariance alone: interior, naive
    assert weights.tolist() == [1.0] and dfs == [1] and note == "chi2_1 (no variance on the boundary)"


def test_print_layout_is_r(cbpp):
    _, m0, m1 = cbpp
    text = repr(_anova.anova(m1, m0))
    lines = text.splitlines()
    assert lines[:3] == ["Models:", f"m2: {CBPP0}", f"m1: {CBPP1}"]
    assert lines[3].split() == ["npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"]
    assert lines[4].split() == ["m2", "2", "213.66", "217.71", "-104.831", "209.66"]          # NaN is blank
    assert lines[5].split() == ["m1", "5", "194.05", "204.18", "-92.026", "184.05", "25.61", "3", "1.151e-05",
                                "***"]
    assert lines[6:] == ["---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"]


# R 4.2.2, lme4 1.1-31: print(anova(s00, s0, s1)) of lmer(Reaction ~ 1 + (1 | Subject)), ~ Days + (1 | Subject)
# and ~ Days + (Days | Subject), REML = FALSE, on sleepstudy (the Data: line and trailing blanks left out)
R_PRINT = """\
    npar    AIC    BIC  logLik deviance   Chisq Df Pr(>Chisq)
s00    3 1916.5 1926.1 -955.27   1910.5
s0     4 1802.1 1814.8 -897.04   1794.1 116.462  1  < 2.2e-16 ***
s1     6 1763.9 1783.1 -875.97   1751.9  42.139  2  7.072e-10 ***"""


def test_print_equals_r_character_for_character(sleep):
    data, fits = sleep
    none = lmm("Reaction ~ 1 + (1 | Subject)", data, reml=False)
    frame = _anova.anova(none, fits["1", False], fits["Days", False], names=["s00", "s0", "s1"])
    # R has no chi-bar-square column: print the same table without it
    text = _anova.format_anova(frame.drop(columns="Pr(>chibar2)"))
    assert text.splitlines()[:4] == R_PRINT.splitlines()
    assert "3.961e-10 ***" in repr(frame) and "< 2.2e-16              ***" in repr(frame)


def test_chisq_is_clipped_at_zero_as_lme4():
    """lme4: chisq <- 2 * pmax(0, diff(llk)); a larger model that fits worse (an optimizer's tolerance) tests
    T = 0 with p = 1, and prints 0, not -0."""
    from types import SimpleNamespace

    rows = [SimpleNamespace(label=f"m{i}", npar=k, llf=llf, aic=0.0, bic=0.0)
            for i, (k, llf) in enumerate([(4, -10.0), (5, -10.0 - 1e-9)])]
    frame = _anova._table(rows, None, [(np.array([0.5, 0.5]), [0, 1], "0.5 chi2_0 + 0.5 chi2_1")], "")
    assert frame["Chisq"].iloc[1] == 0.0 and str(frame["Chisq"].iloc[1]) == "0.0"
    assert frame["Pr(>Chisq)"].iloc[1] == 1.0 and frame["Pr(>chibar2)"].iloc[1] == 1.0
    assert repr(frame).splitlines()[2].split()[6] == "0"


def test_frame_slices_are_plain_dataframes(cbpp):
    import pandas as pd

    _, m0, m1 = cbpp
    frame = _anova.anova(m0, m1)
    assert isinstance(frame, pd.DataFrame) and frame.heading.startswith("Models:")
    assert type(frame[["AIC", "BIC"]]) is pd.DataFrame
    assert type(frame.iloc[:1]) is pd.DataFrame
    again = pickle.loads(pickle.dumps(frame))
    assert isinstance(again, _anova.AnovaFrame) and again.heading == frame.heading and repr(again) == repr(frame)


# ------------------------------------------------------------------------------------------------ refusals
def test_input_validation(cbpp, sleep):
    data, m0, m1 = cbpp
    sdata, fits = sleep
    with pytest.raises(ValueError, match="at least 2 fitted models"):
        _anova.anova(m1)
    with pytest.raises(TypeError, match=r"`models\[1\]` must be a fitted GLMMResult or LMMResult"):
        _anova.anova(m1, "m0")
    with pytest.raises(ValueError, match="`names` must name the 2 models"):
        _anova.anova(m0, m1, names=["a"])
    with pytest.raises(TypeError, match="`names` must be a sequence of strings"):
        _anova.anova(m0, m1, names=3)
    assert list(_anova.anova(m0, m1, names=(s for s in ["a", "b"])).index) == ["a", "b"]
    with pytest.raises(ValueError, match="`names` must be distinct"):
        _anova.anova(m0, m1, names=["a", "a"])
    with pytest.raises(ValueError, match="`method`"):
        _anova.anova(m0, m1, method="kr")
    with pytest.raises(ValueError, match="`n` must be a positive integer, got 0"):
        _anova.anova(m0, m1, method="boot", n=0)
    with pytest.raises(TypeError, match="`group` must be a string"):
        _anova.test_random(m1, 1)
    with pytest.raises(ValueError, match="`group`: the model has no random term for 'heard'"):
        _anova.test_random(m1, "heard")
    with pytest.raises(TypeError, match="`result` must be a fitted"):
        _anova.test_random(None, "herd")
    with pytest.raises(ValueError, match="`weights` must not be NaN"):
        _anova.chibar_pvalue(1.0, [0.5, math.nan], [0, 1])
    with pytest.raises(ValueError, match="`weights` must be non-negative and sum to 1"):
        _anova.chibar_pvalue(1.0, [0.5, 0.6], [0, 1])
    with pytest.raises(ValueError, match="`df` must be non-negative"):
        _anova.chibar_pvalue(1.0, [1.0], [-1])
    with pytest.raises(ValueError, match="same length"):
        _anova.chibar_pvalue(1.0, [0.5, 0.5], [1])
    with pytest.raises(TypeError, match="`statistic` must be a real number"):
        _anova.chibar_pvalue("T", [1.0], [1])
    with pytest.raises(ValueError, match="`k` must be at most 100"):
        _anova.chibar_weights(101)


def test_refuses_results_without_a_likelihood_to_compare(cbpp):
    """PQL (no likelihood), a conditional likelihood and an NLMM fit are not models anova compares."""
    from quadlib.glmm import conditional_fit, nlmm, pql

    data, m0, m1 = cbpp
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        others = [pql(CBPP1, data, family="binomial"),
                  conditional_fit("case ~ spontaneous + induced + strata(stratum)", datasets.load("infert")),
                  nlmm("circumference ~ Asym / (1 + exp((xmid - age) / scal))", datasets.load("orange"),
                       fixed=["Asym", "xmid", "scal"], random=["Asym"], group="Tree",
                       start={"Asym": 200, "xmid": 725, "scal": 350})]
    for other in others:
        with pytest.raises(TypeError, match=r"`models\[1\]` must be a fitted GLMMResult or LMMResult"):
            _anova.anova(m0, other)


def test_refuses_different_data(cbpp, sleep):
    data, m0, m1 = cbpp
    part = _fit(CBPP0, data.iloc[:50], family="binomial")
    with pytest.raises(ValueError, match="different data: 50 and 56 observations"):
        _anova.anova(part, m1)
    shuffled = data.assign(incidence=np.minimum(data["incidence"].to_numpy()[::-1], data["size"].to_numpy()))
    other = _fit(CBPP0, shuffled, family="binomial")
    with pytest.raises(ValueError, match="different data: the response values differ"):
        _anova.anova(other, m1)


def test_refuses_different_family_or_method(cbpp, sleep):
    data, m0, m1 = cbpp
    agq = _fit(CBPP0, data, family="binomial", method="agq", nagq=5)
    with pytest.raises(ValueError, match="different models: .* their likelihoods are not comparable"):
        _anova.anova(agq, m1)
    sdata, fits = sleep
    gauss = _fit("Reaction ~ Days + (1 | Subject)", sdata, family="gaussian")
    with pytest.raises(ValueError, match="different models"):
        _anova.anova(gauss, fits["Days", False])


def test_refuses_reml_with_different_fixed_effects_and_mixes(sleep):
    sdata, fits = sleep
    small = lmm("Reaction ~ 1 + (1 | Subject)", sdata)
    with pytest.raises(ValueError, match="REML likelihoods of models with different fixed effects are not "
                                         "comparable; refit with reml=False"):
        _anova.anova(small, fits["Days", True])
    with pytest.raises(ValueError, match="a mix of REML and ML fits"):
        _anova.anova(fits["1", True], fits["Days", False])


def test_refuses_models_that_are_not_nested(cbpp, sleep):
    sdata, fits = sleep
    square = lmm("Reaction ~ D2 + (1 | Subject)", sdata, reml=False)
    with pytest.raises(ValueError, match="same number of parameters: not nested"):
        _anova.anova(square, fits["1", False])
    with pytest.raises(ValueError, match=r"not nested: the fixed effects of .* are not in the column space"):
        _anova.anova(square, fits["Days", False])
    data, m0, m1 = cbpp
    rows = _fit("cbind(incidence, size - incidence) ~ period + (1 | obs)", data.assign(obs=np.arange(len(data))),
                family="binomial")
    with pytest.raises(ValueError, match="not nested: .* has no random term for 'herd'"):
        _anova.anova(m0, rows)


def test_three_models_each_against_the_previous(sleep):
    sdata, fits = sleep
    none = lmm("Reaction ~ 1 + (1 | Subject)", sdata, reml=False)
    frame = _anova.anova(fits["Days", False], none, fits["1", False])
    assert list(frame.index) == ["m2", "m3", "m1"] and frame["npar"].tolist() == [3, 4, 6]
    llf = [none.llf, fits["1", False].llf, fits["Days", False].llf]
    np.testing.assert_allclose(frame["Chisq"].iloc[1:], 2 * np.diff(llf), rtol=1e-12)
    assert frame["Pr(>Chisq)"].iloc[1] == pytest.approx(chi2.sf(2 * (llf[1] - llf[0]), 1), rel=1e-12)
    assert math.isnan(frame["Pr(>chibar2)"].iloc[1]) and frame.attrs["chibar"][1] == ""   # a fixed effect
    ref = REF["anova_sleepstudy"]["table_ml"]["data"]
    for column in ("npar", "AIC", "BIC", "logLik", "deviance"):
        np.testing.assert_allclose(frame[column].iloc[1:], ref[column], rtol=RTOL, err_msg=column)
    for column in ("Chisq", "Df", "Pr(>Chisq)"):
        assert frame[column].iloc[2] == pytest.approx(ref[column][1], rel=RTOL)


def test_refuses_a_zero_inflation_model_that_is_not_nested():
    data = datasets.load("salamanders")
    small = _fit("count ~ mined + (1 | site)", data, family="poisson", ziformula="~ mined")
    large = _fit("count ~ mined + spp + (1 | site)", data, family="poisson", ziformula="~ 1")
    with pytest.raises(ValueError, match="not nested: the zero-inflation model of m1 is not within m2's"):
        _anova.anova(small, large)
    nested = _fit("count ~ mined + spp + (1 | site)", data, family="poisson", ziformula="~ mined")
    frame = _anova.anova(small, nested)
    assert frame["Chisq"].iloc[1] == pytest.approx(2 * (nested.llf - small.llf), rel=1e-12)


def test_names_and_order(cbpp):
    _, m0, m1 = cbpp
    frame = _anova.anova(m1, m0, names=["big", "small"])
    assert list(frame.index) == ["small", "big"]
    assert frame["Df"].iloc[1] == 3 and math.isnan(frame["Chisq"].iloc[0])


# ---------------------------------------------------------------------------------------------- bootstrap
def test_anova_boot_is_pbmodcomp(cbpp):
    _, m0, m1 = cbpp
    frame = _anova.anova(m0, m1, method="boot", n=20, seed=1, workers=1)
    run = frame.attrs["bootstrap"][0]
    draws = run["draws"]
    ok = draws[np.isfinite(draws)]
    T = frame["Chisq"].iloc[1]
    assert draws.shape == (20,) and run["n_failed"] == 20 - ok.size
    assert frame["Pr(boot)"].iloc[1] == (1 + np.count_nonzero(ok >= T)) / (1 + ok.size)
    assert math.isnan(frame["Pr(boot)"].iloc[0])
    assert "Pr(boot)" in repr(frame)


@pytest.mark.parametrize("case", ["glm", "lm"])
def test_test_random_boot_from_the_null_model(case, cbpp, sleep):
    """The bootstrap under the null GLM / LM: the draws are LRTs (>= 0, about half of them 0 for a random
    intercept: the boundary null), and the p-value is PBmodcomp's formula."""
    result = cbpp[2] if case == "glm" else sleep[1]["1", False]
    group = "herd" if case == "glm" else "Subject"
    frame = _anova.test_random(result, group, method="boot", n=24, seed=3, workers=1)
    draws = frame.attrs["bootstrap"][0]["draws"]
    ok = draws[np.isfinite(draws)]
    assert ok.size >= 20 and np.all(ok >= 0)
    assert 0.2 <= np.mean(ok < 1e-6) <= 0.9
    T = frame["Chisq"].iloc[1]
    assert frame["Pr(boot)"].iloc[1] == (1 + np.count_nonzero(ok >= T)) / (1 + ok.size)
    # T is far in the tail of the null here: no draw reaches it
    assert frame["Pr(boot)"].iloc[1] == 1 / (1 + ok.size)


def test_boot_with_a_proportion_response_and_trials_as_weights(cbpp):
    """y / n simulated, y = round(proportion x weights) refitted: (7 / 25) * 25 is 7.000000000000001."""
    data = cbpp[0].assign(prop=cbpp[0]["incidence"] / cbpp[0]["size"])
    m = _fit("prop ~ period + (1 | herd)", data, family="binomial", weights="size")
    frame = _anova.test_random(m, "herd", method="boot", n=8, seed=1, workers=1)
    assert frame["logLik"].iloc[0] == pytest.approx(REF["re_test_cbpp"]["logLik_glm"], rel=RTOL)
    assert frame.attrs["bootstrap"][0]["n_failed"] == 0


def test_null_model_simulate_is_reproducible(cbpp):
    _, _, m1 = cbpp
    design = m1.objective.design
    null = _anova.NullModel(m1, dataclasses.replace(design, terms=[]), False)
    a, b = null.simulate(np.random.SeedSequence(5)), null.simulate(np.random.SeedSequence(5))
    assert np.array_equal(a, b) and np.all((0 <= a) & (a <= design.trials))
    assert null.refit(design.response).llf == pytest.approx(REF["re_test_cbpp"]["logLik_glm"], rel=RTOL)


@pytest.fixture(scope="module")
def chibar_size_run():
    """The contract's validity run (design note sections 9 and 10.3): 1000 binomial data sets (20 x 5) with a
    zero random-intercept variance, fitted by AGQ(15), tested by 0.5 chi2_0 + 0.5 chi2_1 at level 5 %."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "asv_bench" / "validity_issue20_chibar.py"
    spec = importlib.util.spec_from_file_location("validity_issue20_chibar", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    # workers=1: a module loaded from a path does not pickle into a process pool
    return script.chibar_size(sets=1000, seed=2020, method="agq", workers=1)


@pytest.mark.slow
def test_chibar_size_is_not_above_the_band(chibar_size_run):
    """The mixture test is not anti-conservative: size at most 6 % (the contract band's upper end)."""
    assert chibar_size_run["failed"] <= 10
    assert chibar_size_run["size"] <= 6.0, chibar_size_run


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="contract figure not reached: measured size 3.8 % on these 1000 sets "
                   "(MC SE 0.69 %; Laplace 3.1 %). With 20 groups of 5 binary rows P(T = 0) is 58.6 %, not the "
                   "asymptotic 50 %, so the 50:50 mixture is conservative (Crainiceanu & Ruppert 2004); reported "
                   "on issue 20, method='boot' is the calibrated test. Not tuned: same seed as the run in the note")
def test_chibar_size_reaches_the_band(chibar_size_run):
    """The contract's lower end: size at least 4 %."""
    assert chibar_size_run["size"] >= 4.0, chibar_size_run
