"""Cluster-robust covariance (quadlib.glmm._sandwich): clubSandwich's vcovCR on LMMs, the closed forms of
balanced designs, and the GLMM cluster sandwich against the per-herd Laplace scores coded by hand in R
(tests/reference/issue20_reference.R, issue20_profile_exact.R)."""
import json
import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest

from quadlib.glmm import datasets, fit, lmm
from quadlib.glmm import _sandwich
from quadlib.glmm._sandwich import cluster_scores, cov_params, sandwich_covariance

REFERENCE = pathlib.Path(__file__).resolve().parents[1] / "reference"
REF = json.loads((REFERENCE / "issue20_reference.json").read_text())
EXACT = json.loads((REFERENCE / "issue20_profile_exact.json").read_text())
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
R_ORDER = [4, 0, 1, 2, 3]        # quadlib (beta, theta) -> R (.sig01, beta)


@pytest.fixture(scope="module")
def sleep_reml():
    return lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))


@pytest.fixture(scope="module")
def sleep_ml():
    return lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"), reml=False)


@pytest.fixture(scope="module")
def cbpp():
    return fit(CBPP, datasets.load("cbpp"), family="binomial")


def _se(V):
    return np.sqrt(np.diag(V))


# ---------------------------------------------------------------------------------------- LMM: clubSandwich
@pytest.mark.parametrize("name, formula, key", [
    ("orthodont", "distance ~ age + Sex + (1 | Subject)", "cr2_orthodont_reml"),
    ("chickweight", "weight ~ Time + Diet + (Time | Chick)", "cr2_chickweight_reml"),
])
def test_lmm_equals_clubsandwich(name, formula, key):
    res = lmm(formula, datasets.load(name))
    ref = EXACT[key]
    assert list(res.params.index) == ref["names"]
    for correction in ("CR0", "CR1", "CR2"):
        V, R = sandwich_covariance(res, correction), np.array(ref[correction])
        np.testing.assert_allclose(_se(V), _se(R), rtol=1e-6, err_msg=correction)
        # the whole matrix (ChickWeight's theta differs from lme4's at optimizer level: 8.8e-7)
        np.testing.assert_allclose(V, R, rtol=0, atol=2e-6 * np.abs(R).max(), err_msg=correction)
    # CR2 is the default, and clubSandwich's coef_test SEs
    np.testing.assert_allclose(_se(sandwich_covariance(res)), ref["coef_test_CR2"]["SE"], rtol=1e-6)


def test_orthodont_table_of_the_design_note():
    res = lmm("distance ~ age + Sex + (1 | Subject)", datasets.load("orthodont"))
    expected = {"CR2": (0.909472, 0.071253, 0.782201), "CR0": (0.889456, 0.069921, 0.749771),
                "CR1": (0.906400, 0.071253, 0.764053)}
    for correction, se in expected.items():
        np.testing.assert_allclose(_se(sandwich_covariance(res, correction)), se, atol=1e-6)


@pytest.mark.parametrize("reml", [True, False])
def test_sleepstudy_equals_clubsandwich(reml, sleep_reml, sleep_ml):
    res = sleep_reml if reml else sleep_ml
    ref = REF["sandwich_sleepstudy"]["reml" if reml else "ml"]
    for correction in ("CR0", "CR1", "CR2"):
        np.testing.assert_allclose(sandwich_covariance(res, correction), ref[correction], rtol=1e-6)
    np.testing.assert_allclose(_se(sandwich_covariance(res, "CR0")), (6.63227681, 1.50223678), rtol=1e-8)


def test_sleepstudy_closed_forms(sleep_reml, sleep_ml):
    """One design per cluster and an unstructured block equal to the fixed-effects columns (Z_j = X_j): at the
    REML optimum CR2 = CR1 = the model-based covariance; at the ML optimum CR0 = the model-based one (the score
    equations of the block's entries are the moment match X'W S W X = X'W X)."""
    model = np.asarray(sleep_reml.covariance)
    for correction in ("CR1", "CR2"):
        np.testing.assert_allclose(sandwich_covariance(sleep_reml, correction), model, rtol=1e-6)
    np.testing.assert_allclose(sandwich_covariance(sleep_ml, "CR0"), np.asarray(sleep_ml.covariance), rtol=1e-6)
    # and not trivially: CR0 differs from the REML model-based covariance by m/(m-1)
    m = sleep_reml.ngroups["Subject"]
    np.testing.assert_allclose(sandwich_covariance(sleep_reml, "CR0") * m / (m - 1), model, rtol=1e-6)


def test_balanced_intercept_only_closed_form():
    """GLS = OLS = the grand mean: CR0 = sum (ybar_j - ybar)^2 / m^2 and CR2 = var(ybar_j) / m."""
    ref = REF["sandwich_balanced"]
    data = pd.DataFrame({"y": ref["data"]["y"], "g": [f"g{g}" for g in ref["data"]["g"]]})
    res = lmm("y ~ 1 + (1 | g)", data)
    means = data.groupby("g")["y"].mean().to_numpy()
    m = means.size
    cr0 = np.sum((means - means.mean()) ** 2) / m ** 2
    cr2 = np.var(means, ddof=1) / m
    np.testing.assert_allclose(sandwich_covariance(res, "CR0")[0, 0], cr0, rtol=1e-10)
    np.testing.assert_allclose(sandwich_covariance(res)[0, 0], cr2, rtol=1e-10)
    np.testing.assert_allclose(sandwich_covariance(res, "CR1")[0, 0], cr2, rtol=1e-10)
    np.testing.assert_allclose([cr0, cr2], [ref["CR0"][0][0], ref["CR2"][0][0]], rtol=1e-12)


def _dense_vcovcr(res, data, cluster, correction):
    """clubSandwich's formulas with the full n x n V from the public cov_re and sigma (one term per factor), the
    rows in data order: an independent twin for models the R reference does not cover (weights, nesting)."""
    d = res.design
    n = d.nobs
    V = np.diag(res.sigma ** 2 / (np.ones(n) if d.weights is None else np.asarray(d.weights)))
    for term in d.terms:
        G = res.cov_re[term.group].to_numpy()
        Zd = np.zeros((n, term.n_levels * term.q))
        for c in range(term.q):
            Zd[np.arange(n), term.index * term.q + c] = term.Z[:, c]
        V += Zd @ np.kron(np.eye(term.n_levels), G) @ Zd.T
    X, e = d.X, d.response - d.offset - d.X @ res.params.to_numpy()
    W = np.linalg.inv(V)
    M = np.linalg.inv(X.T @ W @ X)
    labels = data[cluster].to_numpy()[np.asarray(d.rows)]
    meat, clusters = 0, np.unique(labels)
    for g in clusters:
        r = np.flatnonzero(labels == g)
        A = np.eye(r.size)
        if correction == "CR2":
            D = np.linalg.cholesky(V[np.ix_(r, r)]).T
            w, U = np.linalg.eigh(D @ (V[np.ix_(r, r)] - X[r] @ M @ X[r].T) @ D.T)
            A = D.T @ (U / np.sqrt(w)) @ U.T @ D
        u = X[r].T @ W[np.ix_(r, r)] @ A @ e[r]
        meat = meat + np.outer(u, u)
    out = M @ meat @ M
    return out * clusters.size / (clusters.size - 1) if correction == "CR1" else out


@pytest.mark.parametrize("correction", ["CR0", "CR1", "CR2"])
def test_lmm_nested_and_weighted_equal_the_dense_twin(correction):
    data = pd.read_csv(REFERENCE / "lmm_nested.csv")
    data["w"] = 0.5 + (np.arange(len(data)) % 3) / 2
    res = lmm("y ~ x + (1 | school/classroom)", data, weights="w")
    V = sandwich_covariance(res, correction)
    np.testing.assert_allclose(V, _dense_vcovcr(res, data, "school", correction), rtol=1e-9)


def test_lmm_scores(sleep_reml):
    """X_j' V_j^-1 e_j: they sum to 0 (the GLS normal equations) and cov S'S cov is CR0."""
    S = cluster_scores(sleep_reml)
    assert S.shape == (18, 2)
    model = np.asarray(sleep_reml.covariance)
    np.testing.assert_allclose(S.sum(axis=0), 0, atol=1e-10 * np.abs(S).max())
    np.testing.assert_allclose(model @ S.T @ S @ model, sandwich_covariance(sleep_reml, "CR0"), rtol=1e-10)


# ---------------------------------------------------------------------------------------------------- GLMM
def test_cluster_log_likelihoods_sum_to_the_llf(cbpp):
    objective, x = cbpp.objective, cbpp.x
    warm = None if objective.warm_modes is None else objective.warm_modes.copy()
    per = objective.cluster_log_likelihoods(x)
    assert per.shape == (15,)
    assert per.sum() + objective.constant == pytest.approx(cbpp.llf, abs=1e-8)
    # the warm start is untouched
    assert (warm is None and objective.warm_modes is None) or np.array_equal(objective.warm_modes, warm)
    with pytest.raises(ValueError, match="`params` must have 5 values"):
        objective.cluster_log_likelihoods(x[:3])
    assert np.all(np.isnan(objective.cluster_log_likelihoods(np.r_[x[:4], np.nan])))


def test_cbpp_scores_equal_r(cbpp):
    ref = REF["sandwich_cbpp"]
    S = cluster_scores(cbpp)
    assert S.shape == (15, 5)
    np.testing.assert_allclose(S[:, R_ORDER], ref["scores"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(S.sum(axis=0), 0, atol=1e-5)


def test_cbpp_sandwich_equals_r(cbpp):
    ref = REF["sandwich_cbpp"]
    V0 = sandwich_covariance(cbpp, "CR0")
    expected = (0.10906745, 0.28623959, 0.45431438, 0.51321448, 0.36181705)
    np.testing.assert_allclose(_se(V0)[R_ORDER], expected, rtol=1e-6)
    np.testing.assert_allclose(_se(V0)[R_ORDER], _se(np.array(ref["CR0"])), rtol=1e-6)
    V1 = sandwich_covariance(cbpp)                      # CR1 by default
    np.testing.assert_allclose(V1, V0 * 15 / 14, rtol=1e-12)
    np.testing.assert_allclose(_se(V1)[R_ORDER], _se(np.array(ref["CR1"])), rtol=1e-6)
    # the model-based SEs of the design note, for contrast (the same bread)
    np.testing.assert_allclose(_se(cbpp.covariance)[R_ORDER], (0.178562, 0.232472, 0.306643, 0.326638, 0.427437),
                               atol=2e-6)


def test_gaussian_glmm_equals_the_lmm_sandwich():
    """Two independent routes: the GLMM's per-cluster scores of the (exact, gaussian) marginal likelihood with
    the Hessian as bread, and clubSandwich's formula on the ML LMM fit: the fixed effects' CR1 agree."""
    data = datasets.load("sleepstudy")
    glmm = fit("Reaction ~ Days + (1 | Subject)", data, family="gaussian")
    linear = lmm("Reaction ~ Days + (1 | Subject)", data, reml=False)
    np.testing.assert_allclose(cov_params(glmm, "sandwich").to_numpy(), cov_params(linear, "sandwich", "CR1"),
                               rtol=1e-5)
    V = sandwich_covariance(glmm)
    assert V.shape == (4, 4) and np.all(np.isfinite(V))     # beta, theta, log(sigma)


def test_glmm_parameter_at_a_bound_has_no_variance():
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(30), 6)
    x = rng.standard_normal(g.size)
    data = pd.DataFrame({"y": rng.poisson(np.exp(0.2 + 0.3 * x)), "x": x, "g": [f"g{i}" for i in g]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit("y ~ x + (1 | g)", data, family="poisson")
    if np.all(res.outcome.free):
        pytest.skip("the fit did not stop at the bound")
    V = sandwich_covariance(res)
    free = np.asarray(res.outcome.free)
    assert np.all(np.isnan(V[~free])) and np.all(np.isfinite(V[np.ix_(free, free)]))


def test_glmm_response_model_at_a_bound_keeps_the_other_parameters():
    """A zero-inflated fit with the random SD at 0: only theta's row and column are NaN (the reported order puts
    zi~ beside params and theta after them; the delta method must not blank the whole matrix)."""
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(30), 6)
    x = rng.standard_normal(g.size)
    y = rng.poisson(np.exp(0.2 + 0.3 * x)) * (rng.random(g.size) > 0.2)
    data = pd.DataFrame({"y": y, "x": x, "g": [f"g{i}" for i in g]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit("y ~ x + (1 | g)", data, family="poisson", ziformula="~1")
    if np.all(res.outcome.free):
        pytest.skip("the fit did not stop at the bound")
    V = sandwich_covariance(res)
    assert list(res.params.index) == ["(Intercept)", "x", "zi~(Intercept)"]
    assert np.all(np.isfinite(V[:3, :3])) and np.all(np.isnan(V[3])) and np.all(np.isnan(V[:, 3]))
    S = cluster_scores(res)[:, np.asarray(res.outcome.free)]
    np.testing.assert_allclose(S.sum(axis=0), 0, atol=1e-4)


# ------------------------------------------------------------------------------------------------ cov_params
def test_cov_params(cbpp, sleep_reml):
    frame = cov_params(sleep_reml, "sandwich")
    assert list(frame.index) == list(frame.columns) == ["(Intercept)", "Days"]
    np.testing.assert_allclose(frame.to_numpy(), sandwich_covariance(sleep_reml, "CR2"))
    pd.testing.assert_frame_equal(cov_params(sleep_reml), sleep_reml.cov_params())
    pd.testing.assert_frame_equal(cov_params(cbpp, "MODEL"), cbpp.cov_params())
    np.testing.assert_allclose(cov_params(cbpp, "sandwich", "cr0").to_numpy(), sandwich_covariance(cbpp, "CR0")[:4, :4])


# -------------------------------------------------------------------------------------------------- refusals
def test_input_validation(cbpp, sleep_reml):
    with pytest.raises(ValueError, match="`correction` must be one of"):
        sandwich_covariance(sleep_reml, "HC3")
    with pytest.raises(TypeError, match="`correction`"):
        sandwich_covariance(sleep_reml, 2)
    with pytest.raises(ValueError, match="`correction`: CR2 is defined for linear mixed models only"):
        sandwich_covariance(cbpp, "CR2")
    with pytest.raises(ValueError, match="`kind` must be one of"):
        cov_params(cbpp, "robust")
    with pytest.raises(TypeError, match="`kind`"):
        cov_params(cbpp, None)
    with pytest.raises(ValueError, match="`correction` applies to kind='sandwich' only"):
        cov_params(cbpp, "model", "CR1")
    for bad in (None, object(), "fit"):
        with pytest.raises(TypeError, match="`result` must be a fitted LMMResult or GLMMResult"):
            sandwich_covariance(bad)
        with pytest.raises(TypeError, match="`result` must be a fitted LMMResult or GLMMResult"):
            cluster_scores(bad)


def test_crossed_lmm_has_no_cluster():
    data = pd.read_csv(REFERENCE / "lmm_crossed.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lmm("y ~ x + (1 | plate) + (1 | sample)", data)
    with pytest.raises(ValueError, match="crossed factors .*no cluster"):
        sandwich_covariance(res)


def test_glmm_with_several_factors_is_refused():
    data = pd.read_csv(REFERENCE / "crossed_binary.csv")
    res = fit("y ~ x + (1 | subject) + (1 | item)", data, family="binomial")
    with pytest.raises(ValueError, match="sandwich covariance needs one grouping factor"):
        sandwich_covariance(res)
    with pytest.raises(ValueError, match="sandwich covariance needs one grouping factor"):
        cluster_scores(res)


def test_reml_glmm_is_refused():
    res = fit("Reaction ~ Days + (1 | Subject)", datasets.load("sleepstudy"), family="gaussian", reml=True)
    with pytest.raises(ValueError, match="REML GLMM fit"):
        sandwich_covariance(res)


def test_lmm_cluster_size_bound(sleep_reml, monkeypatch):
    monkeypatch.setattr(_sandwich, "MAX_CLUSTER_SIZE", 9)     # sleepstudy's clusters have 10 rows
    with pytest.raises(ValueError, match="at most 9 rows per cluster"):
        sandwich_covariance(sleep_reml)


def test_glmm_singular_hessian_warns(cbpp):
    from dataclasses import replace

    broken = replace(cbpp, outcome=replace(cbpp.outcome, hessian=np.zeros_like(cbpp.outcome.hessian)))
    with pytest.warns(UserWarning, match="sandwich covariance: the Hessian"):
        V = sandwich_covariance(broken)
    assert np.all(np.isnan(V))


def test_lmm_failed_factorization_warns(sleep_reml, monkeypatch):
    def broken(B):
        raise np.linalg.LinAlgError("eigh did not converge")

    monkeypatch.setattr(_sandwich, "_inv_sqrt", broken)
    with pytest.warns(UserWarning, match="sandwich covariance: .*could not be factored"):
        V = sandwich_covariance(sleep_reml, "CR2")
    assert V.shape == (2, 2) and np.all(np.isnan(V))
    assert np.all(np.isfinite(sandwich_covariance(sleep_reml, "CR0")))     # CR0 needs no B_j
