"""quadlib.glmm._smallsample: Satterthwaite and Kenward-Roger t and F tests of LMM fixed effects.

References: lmerTest 3.1.3 and pbkrtest 0.5.2 numbers stored by tests/reference/issue20_reference.R
(issue20_reference.json: ``smallsample_*``, ``sd_se``), and closed forms of balanced designs (the df of a
between-group and of a within-group contrast of a balanced random-intercept model are m - 2 and m (n - 1) - 1
for both methods)."""
import json
import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest

from quadlib.glmm import datasets, lmm
from quadlib.glmm import _smallsample as ss

REFERENCE = json.loads((pathlib.Path(__file__).parents[1] / "reference" / "issue20_reference.json").read_text())
FORMULAS = {"sleepstudy": "Reaction ~ Days + (Days | Subject)",
            "orthodont": "distance ~ age + Sex + (1 | Subject)",
            "chickweight": "weight ~ Time + Diet + (Time | Chick)"}
T_COLUMNS = ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]
F_COLUMNS = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]
RTOL = 1e-4   # the tolerance (ChickWeight's lme4 fit has max|grad| 9.7e-5: not tighter)


@pytest.fixture(scope="module")
def fits():
    return {name: lmm(formula, datasets.load(name)) for name, formula in FORMULAS.items()}


def _table(ref):
    return {column: np.array(ref["data"][column], dtype=float) for column in ref["columns"]}


# ---------------------------------------------------------------------------------------------------------
# the data sets are R's
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, file, factor", [("orthodont", "Orthodont", "Sex"), ("chickweight", "ChickWeight", "Diet")])
def test_datasets_equal_the_R_export(name, file, factor):
    ours = datasets.load(name)
    theirs = pd.read_csv(pathlib.Path(__file__).parents[1] / "reference" / f"{file}.csv", dtype=str)
    info = REFERENCE["data"][file]
    assert ours.shape == (info["rows"], 4)
    assert list(ours[factor].cat.categories) == info["factor_levels"][factor]
    for column in theirs:
        if column in (factor, "Subject", "Chick"):
            assert ours[column].astype(str).tolist() == theirs[column].tolist(), column
        else:
            np.testing.assert_array_equal(ours[column].to_numpy(float), theirs[column].astype(float), err_msg=column)


# ---------------------------------------------------------------------------------------------------------
# against lmerTest / pbkrtest
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FORMULAS))
@pytest.mark.parametrize("ddf, key", [("satterthwaite", "satterthwaite"), ("Kenward-Roger", "kenward_roger")])
def test_t_test_equals_lmerTest(fits, name, ddf, key):
    table = ss.t_test(fits[name], ddf)
    ref = REFERENCE[f"smallsample_{name}"][key]
    assert list(table.columns) == T_COLUMNS
    assert list(table.index) == ref["rows"]
    for column, values in _table(ref).items():
        np.testing.assert_allclose(table[column].to_numpy(), values, rtol=RTOL, err_msg=column)


@pytest.mark.parametrize("name", ["orthodont", "chickweight"])
@pytest.mark.parametrize("ddf, key", [("satterthwaite", "anova_satterthwaite"), ("kr", "anova_kenward_roger")])
def test_f_test_of_a_term_equals_lmerTest_anova(fits, name, ddf, key):
    # main-effect models: lmerTest's type III anova tests each term's coefficients jointly
    ref = REFERENCE[f"smallsample_{name}"][key]
    expected = _table(ref)
    for k, term in enumerate(ref["rows"]):
        row = ss.f_test(fits[name], term, ddf)
        assert list(row.columns) == F_COLUMNS and list(row.index) == [term]
        for column in F_COLUMNS:
            np.testing.assert_allclose(row[column].iloc[0], expected[column][k], rtol=RTOL, err_msg=f"{term} {column}")


def test_chickweight_diet_acceptance_numbers(fits):
    fit = fits["chickweight"]
    F, numdf, dendf = ss.satterthwaite_df(fit, ss.term_contrasts(fit, "Diet"))
    np.testing.assert_allclose([F, numdf, dendf], [5.19380149417311, 3, 45.5315365536966], rtol=RTOL)
    np.testing.assert_allclose(ss.f_test(fit, "Diet")["Pr(>F)"].iloc[0], 3.59807145110529e-3, rtol=RTOL)
    F, numdf, dendf, _ = ss.kenward_roger(fit, ss.term_contrasts(fit, "Diet"))
    np.testing.assert_allclose([F, numdf, dendf], [4.97310132849648, 3, 45.1199497980953], rtol=RTOL)
    np.testing.assert_allclose(ss.f_test(fit, "Diet", "KR")["Pr(>F)"].iloc[0], 4.57700516561998e-3, rtol=RTOL)


@pytest.mark.parametrize("ddf, key", [("satterthwaite", "contest_satterthwaite"), ("kr", "contest_kenward_roger")])
def test_f_test_of_a_matrix_equals_lmerTest_contest(fits, ddf, key):
    ref = REFERENCE["smallsample_chickweight"]
    L = np.array(ref["contrast_L"], dtype=float)
    row = ss.f_test(fits["chickweight"], L, ddf)
    for column in F_COLUMNS:
        np.testing.assert_allclose(row[column].iloc[0], ref[key]["data"][column], rtol=RTOL, err_msg=column)
    # a 1-D vector is one row (lmerTest's contest1D)
    one = ss.f_test(fits["chickweight"], L[0], ddf)
    for column in F_COLUMNS:
        np.testing.assert_allclose(one[column].iloc[0], ref[key.replace("contest", "contest1D")]["data"][column],
                                   rtol=RTOL, err_msg=column)


def test_kenward_roger_equals_pbkrtest(fits):
    ref = REFERENCE["smallsample_chickweight"]
    stats = _table(ref["KRmodcomp"]["stats"])
    F, numdf, dendf, _ = ss.kenward_roger(fits["chickweight"], np.array(ref["contrast_L"], dtype=float))
    np.testing.assert_allclose([F, numdf, dendf], [stats["stat"][0], stats["ndf"][0], stats["ddf"][0]], rtol=RTOL)
    # the adjusted covariance, pbkrtest's vcovAdj
    _, _, _, phi_a = ss.kenward_roger(fits["sleepstudy"], [0, 1])
    np.testing.assert_allclose(phi_a, REFERENCE["smallsample_sleepstudy"]["vcov_beta_kr"], rtol=RTOL)


def test_variance_parameter_covariance_equals_lmerTest(fits):
    ref = REFERENCE["smallsample_sleepstudy"]
    names, values, cov = ss.variance_parameter_covariance(fits["sleepstudy"])
    assert names[-1] == "sigma" and len(names) == 4
    np.testing.assert_allclose(values, ref["varpar"], rtol=1e-5)
    np.testing.assert_allclose(cov, ref["vcov_varpar"], rtol=1e-3)


@pytest.mark.parametrize("reml, key", [(False, "sleepstudy_ml"), (True, "sleepstudy_reml")])
def test_delta_method_sds_equal_R(reml, key):
    # (theta, sigma) -> (sd1, cor, sd2, sigma) in closed form; ML: against numDeriv's Hessian of lme4's devfun2
    # (another parameterization: equal at an interior optimum), REML: lmerTest's vcov_varpar mapped
    fit = lmm(FORMULAS["sleepstudy"], datasets.load("sleepstudy"), reml=reml)
    _, (t1, t2, t3, s), cov = ss.variance_parameter_covariance(fit)
    r = np.hypot(t2, t3)
    J = np.array([[s, 0, 0, t1],
                  [0, t3 ** 2 / r ** 3, -t2 * t3 / r ** 3, 0],
                  [0, s * t2 / r, s * t3 / r, r],
                  [0, 0, 0, 1]])
    ref = REFERENCE["sd_se"][key]
    np.testing.assert_allclose([s * t1, t2 / r, s * r, s], ref["estimate"], rtol=1e-5)
    np.testing.assert_allclose(np.sqrt(np.diag(J @ cov @ J.T)), ref["se"], rtol=RTOL)


# ---------------------------------------------------------------------------------------------------------
# closed forms and properties (independent of R)
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def balanced():
    rng = np.random.default_rng(20)
    m, n = 12, 5
    group = np.repeat(np.arange(m), n)
    x = np.tile(np.arange(n), m).astype(float)          # within groups, the same in each
    z = np.repeat(rng.standard_normal(m), n)             # between groups
    y = 1 + 0.5 * x + 0.3 * z + 1.5 * np.repeat(rng.standard_normal(m), n) + rng.standard_normal(m * n)
    data = pd.DataFrame({"y": y, "x": x, "z": z, "g": [f"g{k:02d}" for k in group]})
    return lmm("y ~ x + z + (1 | g)", data), m, n


@pytest.mark.parametrize("ddf", ["satterthwaite", "kr"])
def test_balanced_random_intercept_df_closed_form(balanced, ddf):
    fit, m, n = balanced
    assert not fit.singular
    df = ss.t_test(fit, ddf)["df"]
    np.testing.assert_allclose(df[["x", "z"]], [m * (n - 1) - 1, m - 2], rtol=1e-6)


@pytest.mark.parametrize("ddf", ["satterthwaite", "kr"])
def test_one_column_term_is_the_squared_t(fits, ddf):
    fit = fits["chickweight"]
    t = ss.t_test(fit, ddf).loc["Time"]
    row = ss.f_test(fit, "Time", ddf).iloc[0]
    np.testing.assert_allclose([row["F value"], row["DenDF"], row["Pr(>F)"]], [t["t value"] ** 2, t["df"],
                                                                               t["Pr(>|t|)"]], rtol=1e-10)


def test_hypothesis_invariances(fits):
    fit = fits["chickweight"]
    L = np.array(REFERENCE["smallsample_chickweight"]["contrast_L"], dtype=float)
    M = np.array([[2.0, 1.0], [-1.0, 3.0]])
    # Kenward-Roger is invariant to an invertible recombination of the rows; both to scaling L
    np.testing.assert_allclose(ss.kenward_roger(fit, M @ L)[:3], ss.kenward_roger(fit, L)[:3], rtol=1e-8)
    np.testing.assert_allclose(ss.satterthwaite_df(fit, 7.0 * L), ss.satterthwaite_df(fit, L), rtol=1e-8)
    # testing the estimates themselves: F = 0, p = 1
    beta = fit.params.to_numpy()
    for ddf in ("satterthwaite", "kr"):
        row = ss.f_test(fit, L, ddf, rhs=L @ beta).iloc[0]
        assert abs(row["F value"]) < 1e-12 and row["Pr(>F)"] == pytest.approx(1.0)


def test_interaction_term_in_either_order():
    fit = lmm("weight ~ Time * Diet + (Time | Chick)", datasets.load("chickweight"))
    L = ss.term_contrasts(fit, "Diet:Time")
    np.testing.assert_array_equal(L, ss.term_contrasts(fit, "Time:Diet"))
    assert [fit.params.index[j] for j in np.flatnonzero(L.any(axis=0))] == ["Time:Diet2", "Time:Diet3", "Time:Diet4"]
    np.testing.assert_array_equal(ss.term_contrasts(fit, "(Intercept)"), np.eye(8)[:1])


def test_ml_fit_satterthwaite_and_boundary_fit():
    data = datasets.load("sleepstudy")
    ml = lmm(FORMULAS["sleepstudy"], data, reml=False)
    table = ss.t_test(ml)
    assert np.all(np.isfinite(table.to_numpy())) and np.all(table["df"] > 1)
    # a variance at 0 (theta on its bound): forward differences, finite df (the OLS residual df here)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"y": rng.standard_normal(60), "x": np.tile(np.arange(5.0), 12),
                          "g": np.repeat([f"g{k}" for k in range(12)], 5)})
    frame["y"] += 0.5 * frame["x"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # the boundary (singular) fit warning of lmm
        fit = lmm("y ~ x + (1 | g)", frame)
    assert fit.singular and fit.theta[0] == 0.0
    np.testing.assert_allclose(ss.t_test(fit)["df"], 58.0, rtol=1e-6)
    assert np.all(np.isfinite(ss.t_test(fit, "kr").to_numpy()))


def test_engines_agree():
    # the blocked engine (lme4-like sparse factor) gives the same df as the dense one: the recipe only uses
    # LMMObjective.solve and Z (5e-6: the blocked engine's r2 rounds differently, and second differences with
    # steps 1e-4 amplify it)
    from types import SimpleNamespace

    from quadlib.glmm import build_design
    from quadlib.glmm._lmm import LMMObjective, LMMResult

    data = datasets.load("chickweight")
    design = build_design(FORMULAS["chickweight"], data)
    # both at lme4's optimum (no refit: the blocked engine's derivative-free optimizer takes seconds)
    optimum = SimpleNamespace(x=np.array(REFERENCE["smallsample_chickweight"]["fit"]["theta"]), converged=True,
                              message="lme4's theta", history=[])
    tables = []
    for sparse in (False, True):
        objective = LMMObjective(design, reml=True, sparse=sparse)
        fit = LMMResult.from_fit(design=design, objective=objective, optimum=optimum, data=data)
        assert objective.engine == ("blocked" if sparse else "dense")
        tables.append(pd.concat([ss.t_test(fit), ss.t_test(fit, "kr")]))
    np.testing.assert_allclose(tables[1].to_numpy(), tables[0].to_numpy(), rtol=2e-5)


# ---------------------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------------------
def test_input_validation(fits, monkeypatch):
    fit = fits["chickweight"]
    ml = lmm(FORMULAS["orthodont"], datasets.load("orthodont"), reml=False)
    with pytest.raises(ValueError, match="only available for REML"):
        ss.t_test(ml, "kenward-roger")
    with pytest.raises(ValueError, match="only available for REML"):
        ss.f_test(ml, "age", "kr")
    with pytest.raises(ValueError, match="only available for REML"):
        ss.kenward_roger(ml, [0, 1, 0])
    with pytest.raises(ValueError, match="`term`: unknown term 'Diett'.*'Diet'"):
        ss.f_test(fit, "Diett")
    with pytest.raises(TypeError, match="`term`"):
        ss.term_contrasts(fit, 3)
    with pytest.raises(ValueError, match="`term_or_L` must have 5 columns"):
        ss.f_test(fit, np.ones((2, 3)))
    with pytest.raises(ValueError, match="`L` must have 5 columns"):
        ss.satterthwaite_df(fit, [1.0, 0.0])
    with pytest.raises(ValueError, match="`L` must have 5 columns"):
        ss.kenward_roger(fit, np.ones((1, 4)))
    with pytest.raises(ValueError, match="`L`"):
        ss.satterthwaite_df(fit, np.ones((2, 2, 5)))
    with pytest.raises(ValueError, match="`L` is zero"):
        ss.satterthwaite_df(fit, np.zeros(5))
    with pytest.raises(TypeError, match="`L`"):
        ss.satterthwaite_df(fit, ["a"] * 5)
    with pytest.raises(ValueError, match="`L`.*ragged"):
        ss.satterthwaite_df(fit, [[0, 0, 1, 0, 0], [0, 1]])
    with pytest.raises(ValueError, match="`L` must have linearly independent rows"):
        ss.kenward_roger(fit, np.array([[0, 0, 1, 0, 0], [0, 0, 2, 0, 0]]))
    with pytest.raises(ValueError, match="`rhs`"):
        ss.f_test(fit, "Diet", rhs=[0.0, 1.0])
    with pytest.raises(ValueError, match="`ddf` must be"):
        ss.t_test(fit, "containment")
    with pytest.raises(TypeError, match="`ddf`"):
        ss.t_test(fit, 1)
    with pytest.raises(TypeError, match="`result`"):
        ss.t_test("not a fit")
    from quadlib.glmm import fit as glmm_fit
    cbpp = glmm_fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"),
                    family="binomial")
    with pytest.raises(TypeError, match="`result` must be a fitted linear mixed model.*GLMMResult"):
        ss.f_test(cbpp, "period")
    # the dense n x n bound is checked before anything is allocated
    monkeypatch.setattr(ss, "KR_MAX_NOBS", 100)
    with pytest.raises(ValueError, match=r"Kenward.Roger needs dense n x n matrices \(n = 578"):
        ss.t_test(fit, "kr")
    assert ss.check_ddf(" Kenward_Roger ") == "kenward-roger"
