"""The common API of every result of quadlib.glmm, tested once across the five result classes.

fit (Laplace and AGQ 25 on cbpp), lmm (sleepstudy by ML), pql (cbpp), nlmm (Orange, Laplace) and conditional_fit
(infert) each give a result derived from MixedResult, built by its from_fit classmethod, with the same names:
params, bse, tvalues, pvalues, cov_params(), conf_int(), llf/aic/bic/deviance (NaN without a likelihood), nobs,
ngroups as a dict, converged/message/history, cov_re/sd_re/corr_re, random_effects with the SD columns "sd(x)",
and a summary() in one layout. The information criteria are checked against the peers' stored values
(tests/reference: lme4, nlmer, survival::clogit) and the closed forms.
"""
import dataclasses
import functools
import json
import math
from pathlib import Path
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from quadlib import AdaptiveGaussHermite
from quadlib.glmm import (ConditionalResult, GLMMResult, LMMResult, NLMMResult, PQLResult, build_design,
                          conditional_fit, datasets, fit, lmm, make_objective, nlmm, optimize, pql)
from quadlib.glmm._result import MixedResult

REFERENCE = Path(__file__).resolve().parent.parent / "reference"
GLMM_REF = {entry["id"]: entry for entry in json.loads((REFERENCE / "glmm_reference_more.json").read_text())["fits"]}
LMM_REF = json.loads((REFERENCE / "lmm_reference.json").read_text())["fits"]
NLMM_REF = json.loads((REFERENCE / "nlmm_reference.json").read_text())["fits"]
CONDITIONAL_REF = json.loads((REFERENCE / "conditional_reference.json").read_text())["fits"]

Z975 = 1.959963984540054   # the standard normal 0.975 quantile
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
ORANGE = "circumference ~ Asym / (1 + exp((xmid - age) / scal))"

# name -> (class, ngroups, the peer's log-likelihood and number of parameters, or None for no likelihood)
CASES = {
    "laplace": (GLMMResult, {"herd": 15}, (GLMM_REF["cbpp_logit_laplace__lme4"]["logLik"], 5)),
    "agq": (GLMMResult, {"herd": 15}, (GLMM_REF["cbpp_logit_agq25__lme4"]["logLik"], 5)),
    "lmm": (LMMResult, {"Subject": 18}, (LMM_REF["sleepstudy_corr_ml"]["logLik"], LMM_REF["sleepstudy_corr_ml"]["df"])),
    "pql": (PQLResult, {"herd": 15}, None),
    "nlmm": (NLMMResult, {"Tree": 5}, (NLMM_REF["orange_nlmer"]["converged"]["logLik"], 5)),
    "conditional": (ConditionalResult, {"stratum": 83}, (CONDITIONAL_REF["infert"]["loglik"], 2)),
}


@functools.lru_cache(maxsize=None)
def fitted(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "laplace":
            return fit(CBPP, datasets.load("cbpp"))
        if name == "agq":
            return fit(CBPP, datasets.load("cbpp"), method="agq", nagq=25)
        if name == "lmm":
            return lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"), reml=False)
        if name == "pql":
            return pql(CBPP, datasets.load("cbpp"))
        if name == "nlmm":
            return nlmm(ORANGE, datasets.load("orange"), fixed=["Asym", "xmid", "scal"], random=["Asym"],
                        group="Tree", start={"Asym": 200, "xmid": 725, "scal": 350})
        return conditional_fit("case ~ spontaneous + induced + strata(stratum)", datasets.load("infert"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_base_built_one_way(name):
    result = fitted(name)
    cls = CASES[name][0]
    assert type(result) is cls and isinstance(result, MixedResult)
    assert callable(cls.from_fit)
    # a frozen dataclass with keyword-only fields: no positional constructor of a dozen arguments
    assert dataclasses.is_dataclass(result)
    assert all(f.kw_only for f in dataclasses.fields(result))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.llf = 0.0
    assert type(result).__name__ + "(" in repr(result)


@pytest.mark.parametrize("name", sorted(CASES))
def test_wald_inference(name):
    result = fitted(name)
    params, bse = result.params, result.bse
    assert isinstance(params, pd.Series) and isinstance(bse, pd.Series)
    assert list(bse.index) == list(params.index) and np.all(np.isfinite(bse)) and np.all(bse > 0)
    np.testing.assert_allclose(result.tvalues, params / bse, rtol=1e-15)
    # two-sided normal p-values: p(|z| = 1.96) = 0.05, so the interval's ends have |t| = z exactly
    from scipy.special import erfc
    np.testing.assert_allclose(result.pvalues, erfc(np.abs(result.tvalues) / math.sqrt(2)), rtol=1e-12)
    cov = result.cov_params()
    assert isinstance(cov, pd.DataFrame) and list(cov.index) == list(params.index) == list(cov.columns)
    np.testing.assert_allclose(cov.to_numpy(), cov.to_numpy().T, rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.sqrt(np.diag(cov.to_numpy())), bse, rtol=1e-15)
    ci = result.conf_int()
    assert list(ci.columns) == ["lower", "upper"] and list(ci.index) == list(params.index)
    np.testing.assert_allclose(ci["lower"], params - Z975 * bse, rtol=1e-12)
    np.testing.assert_allclose(ci["upper"], params + Z975 * bse, rtol=1e-12)
    np.testing.assert_allclose(result.conf_int(0.1)["upper"], params + 1.6448536269514729 * bse, rtol=1e-12)
    with pytest.raises(ValueError, match="`alpha` must be in"):
        result.conf_int(1.5)
    with pytest.raises(ValueError, match="`method` must be one of"):
        result.conf_int(method="bootstrap")


@pytest.mark.parametrize("name", ["pql", "nlmm", "conditional"])
def test_profile_intervals_where_the_model_cannot_refit(name):
    with pytest.raises(ValueError, match="`method`: profile intervals are not available"):
        fitted(name).conf_int(method="profile")


@pytest.mark.parametrize("name", sorted(CASES))
def test_information_criteria(name):
    result = fitted(name)
    reference = CASES[name][2]
    if reference is None:   # PQL maximizes no likelihood (glmmPQL's logLik is NA)
        assert all(math.isnan(x) for x in (result.llf, result.aic, result.bic, result.deviance))
        return
    llf, df = reference
    assert result.llf == pytest.approx(llf, rel=1e-7)
    assert result.df_modelwc == df
    n = result.n_events if name == "conditional" else result.nobs   # R's BIC(clogit) counts the events
    assert result.aic == pytest.approx(-2 * llf + 2 * df, rel=1e-7)
    assert result.bic == pytest.approx(-2 * llf + math.log(n) * df, rel=1e-7)
    assert result.deviance == pytest.approx(-2 * llf, rel=1e-7)
    if name == "lmm":   # lme4's own AIC and BIC
        ref = LMM_REF["sleepstudy_corr_ml"]
        assert result.aic == pytest.approx(ref["AIC"], rel=1e-6) and result.bic == pytest.approx(ref["BIC"], rel=1e-6)
    if name == "conditional":
        assert result.n_events == CONDITIONAL_REF["infert"]["nevent"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_counts_and_convergence(name):
    result = fitted(name)
    assert result.ngroups == CASES[name][1]
    assert isinstance(result.ngroups, dict) and all(isinstance(m, int) for m in result.ngroups.values())
    assert isinstance(result.nobs, int) and result.nobs > 0
    assert result.converged is True and isinstance(result.message, str) and isinstance(result.history, list)


@pytest.mark.parametrize("name", sorted(CASES))
def test_random_effects_one_naming(name):
    result = fitted(name)
    if name == "conditional":   # the group effects are conditioned away
        assert result.cov_re == {} and result.random_effects == {} and result.sd_re == {} and result.corr_re == {}
        return
    assert list(result.random_effects) == list(result.ngroups) == list(result.cov_re)
    assert list(result.sd_re) == list(result.corr_re) == list(result.cov_re)
    for group, frame in result.random_effects.items():
        names = list(result.cov_re[group].columns)
        assert list(frame.columns) == names + [f"sd({c})" for c in names]
        assert frame.index.name == group and len(frame) == result.ngroups[group]
        sd = frame[[f"sd({c})" for c in names]].to_numpy()
        assert np.all(np.isfinite(sd)) and np.all(sd > 0)
        C = result.cov_re[group].to_numpy()
        np.testing.assert_allclose(result.sd_re[group], np.sqrt(np.diag(C)), rtol=1e-15)
        np.testing.assert_allclose(np.diag(result.corr_re[group].to_numpy()), 1.0)


def _check_right_aligned(lines):
    """A table of align_columns: the header's names are separated by two spaces or more; each row is a name and
    one cell per header, every cell ending where its header ends, two spaces at least from its neighbour."""
    header = lines[0]
    names = re.split(r"\s{2,}", header.strip())
    ends, position = [], 0
    for name in names:
        position = header.index(name, position) + len(name)
        ends.append(position)
    for row in lines[1:]:
        cells = row.split()
        assert len(cells) == 1 + len(names), row
        position, found = len(cells[0]), []
        for cell in cells[1:]:
            start = row.index(cell, position)
            assert start - position >= 2, row
            position = start + len(cell)
            found.append(position)
        assert found == ends, (row, header)


@pytest.mark.parametrize("name", sorted(CASES))
def test_summary_one_layout(name):
    result = fitted(name)
    text = result.summary()
    assert isinstance(text, str)
    lines = text.splitlines()
    # the sections in the one order: title, formula, [criteria], [random effects], counts, fixed effects
    assert lines[1].startswith(" Family:") or lines[1].startswith("Formula:")
    assert any(line == f"Formula: {result.formula}" for line in lines[:3])
    groups = "; ".join(f"{g}, {m}" for g, m in result.ngroups.items())
    count = lines.index(f"Number of obs: {result.nobs}, groups:  {groups}")
    fixed = lines.index("Fixed effects:")
    assert count < fixed
    if math.isfinite(result.llf):
        criteria = next(i for i, line in enumerate(lines) if line.split()[:4] == ["AIC", "BIC", "logLik", "deviance"])
        assert criteria < count and f"{result.llf:.4f}" in lines[criteria + 1]
    # the coefficient table: one row per fixed effect, every cell right-aligned under its header
    table = lines[fixed + 1:fixed + 2 + len(result.params)]
    assert [row.split()[0] for row in table[1:]] == list(result.params.index)
    _check_right_aligned(table)
    if result.cov_re:
        start = lines.index("Random effects:") + 1
        assert start < count
        assert lines[start].split() == ["Groups", "Name", "Variance", "Std.Dev.", "Corr"]
        varcorr = lines[start:count]
        names = [c for C in result.cov_re.values() for c in C.columns]
        for line, name in zip(varcorr[1:], names):
            assert f" {name} " in line
        header = varcorr[0]
        for column in ("Variance", "Std.Dev."):   # numbers right-aligned under their headers
            end = header.index(column) + len(column)
            for line in varcorr[1:len(names) + 1]:
                assert line[end - 1] != " " and (len(line) == end or line[end] == " "), (line, column)


def test_glmm_result_documented_constructor_equals_from_fit():
    """docs/glmm.rst's GLMMResult(objective, outcome, method, formula) is kept: it is from_fit."""
    design = build_design(CBPP, datasets.load("cbpp"))
    objective = make_objective(design, "binomial", AdaptiveGaussHermite(25))
    outcome = optimize(objective)
    old = GLMMResult(objective, outcome, "AGQ 25", design.formula)
    new = GLMMResult.from_fit(objective=objective, outcome=outcome, method="AGQ 25", formula=design.formula)
    assert old.llf == new.llf == pytest.approx(-91.983369, abs=5e-7)   # the AGQ 25 value
    np.testing.assert_array_equal(old.params, new.params)
    np.testing.assert_array_equal(old.covariance, new.covariance)
    assert old.random_effects["herd"].equals(new.random_effects["herd"])
    with pytest.raises(TypeError):
        GLMMResult(objective, outcome, "AGQ 25", design.formula, "extra")


def test_pql_random_effects_are_the_working_lmms():
    result = fitted("pql")
    assert result.random_effects["herd"].equals(result.working_lmm.random_effects["herd"])


def test_nlmm_conditional_sds_from_the_curvature():
    """Laplace's conditional SDs are the inverse curvature at each group's mode, mapped to b."""
    result = fitted("nlmm")
    objective = result.extra["objective"]
    b, cov = objective.conditional_modes(result.extra["x"])
    frame = result.random_effects["Tree"]
    np.testing.assert_allclose(frame["Asym"], b[:, 0], rtol=1e-12)
    np.testing.assert_allclose(frame["sd(Asym)"], np.sqrt(cov[:, 0, 0]), rtol=1e-12)


def test_plot_random_effects_reads_the_sd_columns():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for name in ("laplace", "lmm", "pql", "nlmm"):
        result = fitted(name)
        axes = result.plot_random_effects()
        group = next(iter(result.random_effects))
        frame = result.random_effects[group]
        first = frame.columns[0]
        # the error bars are +- z conditional SDs around the sorted effects
        bars = axes[0].containers[0]
        x = bars.lines[0].get_xdata()
        np.testing.assert_allclose(np.sort(x), np.sort(frame[first].to_numpy()))
        plt.close("all")
    with pytest.raises(ValueError, match="no random effects"):
        fitted("conditional").plot_random_effects()
    with pytest.raises(ValueError, match="`kind`"):
        fitted("lmm").plot_random_effects(kind="mean")
    with pytest.raises(ValueError, match="`group` must be one of"):
        fitted("laplace").plot_random_effects(group="nope")


# ------------------------------------------------------------------------------------------------ prediction
PREDICTING = ["agq", "laplace", "lmm", "nlmm", "pql"]


def _new_rows(name):
    """Two new rows: a level of the fit and one it has not seen; their population-level predictions by hand."""
    if name == "lmm":
        rows = pd.DataFrame({"Days": [2.0, 5.0], "Subject": ["308", "new"]})
        return rows, lambda p: p["(Intercept)"] + p["Days"] * rows["Days"].to_numpy()
    if name == "nlmm":
        rows = pd.DataFrame({"age": [500.0, 1000.0], "Tree": ["3", "new"]})
        return rows, lambda p: p["Asym"] / (1 + np.exp((p["xmid"] - rows["age"].to_numpy()) / p["scal"]))
    rows = datasets.load("cbpp").iloc[[0, 20]].assign(herd=["1", "new"])
    periods = rows["period"].astype(str).to_numpy()
    return rows, lambda p: p["(Intercept)"] + np.array([p.get(f"period{k}", 0.0) for k in periods])


@pytest.mark.parametrize("name", PREDICTING)
def test_predict_one_api(name):
    """predict(newdata, re, offset) is MixedResult's for every result that predicts: the same checks, b = 0 for a
    new level and re=False, the data rows used by default."""
    result = fitted(name)
    rows, population = _new_rows(name)
    expected = population(result.params)
    np.testing.assert_allclose(result.predict(rows, re=False), expected, rtol=1e-13)
    with_re = result.predict(rows)
    assert list(with_re.index) == list(rows.index)
    assert with_re.iloc[1] == pytest.approx(expected[1], rel=1e-13)           # a new level: b = 0
    assert with_re.iloc[0] != pytest.approx(expected[0], rel=1e-6)            # a fitted level: its mode
    assert len(result.predict()) == result.nobs
    with pytest.raises(TypeError, match="`re` must be True or False, got 'yes'"):
        result.predict(rows, re="yes")
    with pytest.raises(TypeError, match="`newdata` must be a pandas DataFrame, got list"):
        result.predict([[1.0, 2.0]])
    with pytest.raises(ValueError, match="`offset` is only used with `newdata`"):
        result.predict(offset=np.zeros(result.nobs))
    if name in ("lmm", "nlmm"):                    # no scale to choose: the base's method and docstring
        assert type(result).predict is MixedResult.predict
    elif name in ("laplace", "agq"):               # the scale (`type`) on top of the base's
        assert GLMMResult.predict.__doc__.startswith(":meth:`MixedResult.predict`")


@pytest.mark.parametrize("name", ["laplace", "lmm"])
def test_predict_offset(name):
    """An offset for new rows is added to the linear predictor: an array, a scalar for every row, or a column."""
    result = fitted(name)
    rows, _ = _new_rows(name)
    base = result.predict(rows).to_numpy()
    np.testing.assert_allclose(result.predict(rows, offset=[0.5, -1.0]), base + [0.5, -1.0], rtol=1e-14)
    np.testing.assert_allclose(result.predict(rows, offset=2.0), base + 2.0, rtol=1e-14)
    np.testing.assert_allclose(result.predict(rows.assign(o=[1.0, 3.0]), offset="o"), base + [1.0, 3.0], rtol=1e-14)
    with pytest.raises(ValueError, match=r"`offset` must have one value per row of `newdata` \(2\), got shape \(3,\)"):
        result.predict(rows, offset=np.zeros(3))
    with pytest.raises(ValueError, match="`offset` column 'o' is not in `newdata`"):
        result.predict(rows, offset="o")
    with pytest.raises(TypeError, match="`offset` must be numbers or a column name, got list"):
        result.predict(rows, offset=["a", "b"])


def test_predict_where_there_is_nothing_to_predict():
    with pytest.raises(ValueError, match="`offset`: a nonlinear mixed-effects model has no offset"):
        fitted("nlmm").predict(_new_rows("nlmm")[0], offset=1.0)
    with pytest.raises(TypeError, match="a ConditionalResult has no predictions"):
        fitted("conditional").predict()


def test_glmm_predict_new_data_keeps_the_fits_offset():
    """A GLMM fitted with an offset column predicts new rows with that column (as lme4's predict does); one
    fitted with an offset array refuses to guess the new rows' offset (it used to predict with 0)."""
    from quadlib.glmm import datasets, fit

    data = datasets.load("epilepsy").copy()
    data["exposure"] = np.log(2.0 + (data.index % 3))
    formula = "y ~ V4 + (1 | subject)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_column = fit(formula, data, family="poisson", offset="exposure")
        by_array = fit(formula, data, family="poisson", offset=data["exposure"].to_numpy())
    new = data.iloc[:5].copy()
    beta = by_column.params
    expected = beta["(Intercept)"] + beta["V4"] * new["V4"].to_numpy() + new["exposure"].to_numpy()
    np.testing.assert_allclose(np.asarray(by_column.predict(new, re=False)), expected, rtol=1e-12)
    new["exposure"] = 0.5
    np.testing.assert_allclose(np.asarray(by_column.predict(new, re=False)),
                               beta["(Intercept)"] + beta["V4"] * new["V4"].to_numpy() + 0.5, rtol=1e-12)
    with pytest.raises(ValueError, match="offset"):
        by_array.predict(new, re=False)
    np.testing.assert_allclose(np.asarray(by_array.predict(new, re=False, offset=0.5)),
                               np.asarray(by_column.predict(new, re=False)), rtol=1e-6)


def test_results_pickle():
    """Fitted results survive pickle (saved to disk, or sent to another process): they used to fail to load
    (the formula namespace recursed in __getattr__, a Family refused its own slots)."""
    import pickle

    from quadlib.glmm import conditional_fit, datasets, fit, lmm, make_family, nlmm, pql

    for name in ("binomial", "poisson", "gaussian", "Gamma", "negative_binomial"):
        family = make_family(name)
        assert pickle.loads(pickle.dumps(family)) == family
    cbpp, sleep = datasets.load("cbpp"), datasets.load("sleepstudy")
    crossed = pd.DataFrame({"a": np.repeat(np.arange(12), 6), "b": np.tile(np.arange(6), 12)})
    crossed["y"] = np.random.default_rng(3).poisson(2.0, len(crossed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = [fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp),
                   fit("y ~ 1 + (1 | a) + (1 | b)", crossed, family="poisson"),
                   lmm("Reaction ~ Days + (Days | Subject)", sleep),
                   pql("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp),
                   nlmm("circumference ~ Asym / (1 + exp((xmid - age) / scal))", datasets.load("orange"),
                        fixed=["Asym", "xmid", "scal"], random=["Asym"], group="Tree",
                        start={"Asym": 170, "xmid": 700, "scal": 350}, method="foce"),
                   conditional_fit("case ~ spontaneous + induced", datasets.load("infert"), group="stratum")]
    for res in results:
        back = pickle.loads(pickle.dumps(res))
        pd.testing.assert_series_equal(back.params, res.params)
        if not isinstance(res, ConditionalResult):
            pd.testing.assert_series_equal(back.predict(), res.predict())
