"""quadlib.glmm._pql (penalized quasi-likelihood, MASS::glmmPQL's algorithm) against MASS::glmmPQL.

The reference numbers are in tests/reference/pql_reference.json, written by tests/reference/pql_reference.R
(MASS 7.3-58.2, nlme 3.1-162), which also simulated tests/reference/pql_binary.csv. Per model it stores
glmmPQL as users run it ("default", its loose stopping rule), glmmPQL iterated to its fixed point
("converged", the target of tol=1e-8) and glmmPQL with niter = 1 ("first": the first working LMM).
"""
import functools
import json
import math
from pathlib import Path
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from quadlib.glmm import datasets, fit, lmm
from quadlib.glmm._design import build_design
from quadlib.glmm._families import make_family
from quadlib.glmm._lmm import LMMObjective
from quadlib.glmm._optimize import ConvergenceWarning
from quadlib.glmm._pql import PQLResult, _UnitScale, _working_data, pql

REFERENCE = Path(__file__).resolve().parent.parent / "reference"
FITS = json.loads((REFERENCE / "pql_reference.json").read_text())["fits"]
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


@functools.lru_cache(maxsize=None)
def load(name):
    if name == "cbpp":
        return datasets.load("cbpp")
    if name == "epil":
        data = datasets.load("epilepsy")
        return data.assign(visit=(2 * data.period.astype(int) - 5) / 10)  # Breslow & Clayton's Visit
    return pd.read_csv(REFERENCE / f"pql_{name}.csv", dtype={"group": str})


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@functools.lru_cache(maxsize=None)
def fitted(key, max_iter=50):
    ref = FITS[key]["converged"]
    return quiet(pql, ref["formula"], load(ref["data"]), family=ref["family"], link=ref["link"],
                 dispersion=ref["dispersion"], max_iter=max_iter)


def _modes(result):
    frame = next(iter(result.random_effects.values()))
    return frame[[c for c in frame.columns if not c.startswith("sd(")]].to_numpy()


# ---------------------------------------------------------------------------------------------------------
# against MASS::glmmPQL
# ---------------------------------------------------------------------------------------------------------
def test_cbpp_issue_numbers():
    """The issue's glmmPQL numbers (dispersion estimated), to 1e-4."""
    res = pql(CBPP, load("cbpp"))
    assert res.converged
    np.testing.assert_allclose(res.params, [-1.32736, -1.01613, -1.14998, -1.60522], atol=1e-4)
    assert float(res.sd_re["herd"].iloc[0]) == pytest.approx(0.55635, abs=1e-4)
    assert res.sigma == pytest.approx(1.18453, abs=1e-4)
    assert res.dispersion == pytest.approx(res.sigma ** 2)


@pytest.mark.parametrize("key", sorted(FITS))
def test_against_glmmPQL_converged(key):
    """The fixed point of glmmPQL's iteration: estimates, SEs, SDs, covariance and modes to 1e-6."""
    ref = FITS[key]["converged"]
    res = fitted(key)
    assert res.converged and res.dispersion_method == ref["dispersion"]
    names = list(ref["fixef"])
    np.testing.assert_allclose(res.params[names], list(ref["fixef"].values()), rtol=0, atol=1e-6)
    # nlme's summary() multiplies the ML standard errors by sqrt(N / (N - p)), also with sigma fixed; we do
    # that only when sigma is estimated (it replaces the ML sigma^2 by the unbiased one): R's vcov() otherwise
    se = ref["se"] if ref["dispersion"] == "estimate" else ref["se_vcov"]
    np.testing.assert_allclose(res.bse[names], list(se.values()), rtol=1e-6)
    cov = next(iter(res.cov_re.values())).to_numpy()
    np.testing.assert_allclose(cov, np.reshape(ref["cov_re"], cov.shape), rtol=0, atol=1e-6)
    np.testing.assert_allclose(next(iter(res.sd_re.values())), list(ref["sd_re"].values()), atol=1e-6)
    assert res.sigma == pytest.approx(ref["sigma"], abs=1e-6)
    modes = np.reshape(ref["ranef"]["mode"], _modes(res).shape)
    np.testing.assert_allclose(_modes(res), modes, rtol=0, atol=2e-6)
    assert list(next(iter(res.random_effects.values())).index) == list(ref["ranef"]["levels"])


@pytest.mark.parametrize("key", ["cbpp", "cbpp_fixed", "epil"])
def test_against_glmmPQL_default(key):
    """glmmPQL as users run it stops early (sum of squared eta changes below 1e-6 sum(eta^2)): 1e-4."""
    ref = FITS[key]["default"]
    res = fitted(key)
    np.testing.assert_allclose(res.params[list(ref["fixef"])], list(ref["fixef"].values()), atol=1e-4)
    np.testing.assert_allclose(next(iter(res.sd_re.values())), list(ref["sd_re"].values()), atol=1e-4)
    assert res.sigma == pytest.approx(ref["sigma"], abs=1e-4)


@pytest.mark.parametrize("key", ["cbpp", "cbpp_fixed"])
def test_first_working_lmm(key):
    """One iteration from the GLM is glmmPQL(niter = 1): the working data and the first LMM on their own.

    On cbpp the core's optimizer stops at a zero SD from lme4's start (the criterion is even in theta, so
    its gradient vanishes at the bound); the restart finds lme's interior minimum (SD 0.5436)."""
    ref = FITS[key]["first"]
    with pytest.warns(ConvergenceWarning, match="after 1 iterations"):
        res = pql(CBPP, load("cbpp"), dispersion=ref["dispersion"], max_iter=1)
    assert not res.converged and res.n_iter == 1
    # the GLM start (R's glm and ours stop at 1e-8 by different rules) leaves a few 1e-7
    np.testing.assert_allclose(res.params[list(ref["fixef"])], list(ref["fixef"].values()), atol=2e-6)
    np.testing.assert_allclose(res.sd_re["herd"], list(ref["sd_re"].values()), atol=2e-6)
    assert res.sigma == pytest.approx(ref["sigma"], abs=2e-6)


def test_fit_dispatch():
    a = fit(CBPP, load("cbpp"), method="pql")
    b = pql(CBPP, load("cbpp"))
    assert isinstance(a, PQLResult) and a.method == "PQL"
    pd.testing.assert_series_equal(a.params, b.params)
    c = fit(CBPP, load("cbpp"), method="pql", dispersion="fixed")
    assert c.dispersion_method == "fixed" and c.sigma == 1.0
    np.testing.assert_allclose(c.params, list(FITS["cbpp_fixed"]["converged"]["fixef"].values()), atol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# the working model
# ---------------------------------------------------------------------------------------------------------
_MU_ETA = {"logit": lambda e: special.expit(e) * special.expit(-e), "probit": stats.norm.pdf,
           "cloglog": lambda e: np.exp(e - np.exp(e)), "log": np.exp, "inverse": lambda e: -1 / e ** 2,
           "identity": np.ones_like}
_VARIANCE = {"binomial": lambda m: m * (1 - m), "poisson": lambda m: m, "gaussian": np.ones_like,
             "Gamma": lambda m: m ** 2}


@pytest.mark.parametrize("family, link", [("binomial", "logit"), ("binomial", "probit"), ("binomial", "cloglog"),
                                          ("poisson", "log"), ("gaussian", "identity"), ("Gamma", "inverse"),
                                          ("Gamma", "log")])
def test_working_data_are_fisher_scoring(family, link):
    """z - offset = eta - offset + (y - mu) / mu', w = n mu'^2 / V(mu) with R's mu.eta and variance
    functions (closed forms here; the module takes them from the family kernel's d1 and d2)."""
    rng = np.random.default_rng(7)
    fam = make_family(family, link)
    N = 40
    eta = rng.uniform(-2, 1, N) if family == "binomial" else rng.uniform(0.3, 2, N)
    offset = rng.normal(0, 0.1, N)
    mu = fam.inverse_link(eta)
    n = rng.integers(1, 9, N).astype(float) if family == "binomial" else rng.uniform(0.5, 2, N)
    y = {"binomial": lambda: rng.binomial(n.astype(int), mu).astype(float), "poisson": lambda: rng.poisson(mu * 2.0),
         "gaussian": lambda: mu + rng.normal(0, 1, N), "Gamma": lambda: rng.gamma(2.0, mu / 2.0)}[family]()
    z, w = _working_data(fam, y, n, eta, offset)
    mu_eta = _MU_ETA[link](eta)
    per_trial = y / n if family == "binomial" else y
    np.testing.assert_allclose(w, n * mu_eta ** 2 / _VARIANCE[family](mu), rtol=1e-12)
    np.testing.assert_allclose(z, eta - offset + (per_trial - mu) / mu_eta, rtol=1e-11, atol=1e-12)


def test_unit_scale_criterion_is_the_gaussian_deviance():
    """With sigma = 1 the criterion is -2 max_beta log N(z; X beta, Z D Z' + W^-1) (dense, computed
    directly), and its gradient is that of the criterion."""
    d = build_design("Reaction ~ Days + (Days | Subject)", load_sleep())
    objective = LMMObjective(d, reml=False)
    crit = _UnitScale(objective)
    Z = objective.Z.toarray()
    y, X, w = objective.y, objective.X, objective.w
    for theta in ([0.9, 0.02, 0.25], [1.5, -0.3, 0.1], [0.0, 0.0, 0.4]):
        theta = np.array(theta) * 30  # sigma = 1: the relative factors become absolute
        T = np.array([[theta[0], 0], [theta[1], theta[2]]])
        D = np.kron(np.eye(18), T @ T.T)
        V = Z @ D @ Z.T + np.diag(1 / w)
        Vi = np.linalg.inv(V)
        beta = np.linalg.solve(X.T @ Vi @ X, X.T @ Vi @ y)
        direct = -2 * stats.multivariate_normal(X @ beta, V).logpdf(y)
        assert crit(theta) == pytest.approx(direct, rel=1e-10)
        value, grad = crit.value_and_grad(theta)
        assert value == pytest.approx(direct, rel=1e-10)
        h = 1e-5
        numeric = [(crit(theta + h * e) - crit(theta - h * e)) / (2 * h) for e in np.eye(3)]
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def load_sleep():
    data = datasets.load("sleepstudy")
    return data.assign(w=1 + (data.Days % 3) / 2, o=0.5 * data.Days)


def test_gaussian_identity_is_the_lmm():
    """For the gaussian family with the identity link the working model is the model: one working LMM,
    equal to lmm(..., reml=False) (unbalanced data, weights and an offset)."""
    data = load_sleep().drop(index=[5, 33, 60, 100, 101]).reset_index(drop=True)
    formula = "Reaction ~ Days + (Days | Subject)"
    res = pql(formula, data, family="gaussian", weights="w", offset="o")
    ref = lmm(formula, data, reml=False, weights="w", offset="o")
    assert res.converged and res.n_iter == 1
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-9)
    assert res.sigma == pytest.approx(ref.sigma, rel=1e-7)
    np.testing.assert_allclose(res.cov_re["Subject"], ref.cov_re["Subject"], rtol=1e-6)
    n, p = ref.nobs, len(ref.params)
    np.testing.assert_allclose(res.cov_params() * (n - p) / n, ref.cov_params(), rtol=1e-6)
    np.testing.assert_allclose(res.random_effects["Subject"].iloc[:, :2], ref.random_effects["Subject"].iloc[:, :2],
                               rtol=1e-6)
    np.testing.assert_allclose(res.predict(), ref.predict(), rtol=1e-9)


# ---------------------------------------------------------------------------------------------------------
# convergence, results, errors
# ---------------------------------------------------------------------------------------------------------
def test_convergence():
    res = fitted("cbpp")
    assert res.converged and res.message == "converged"
    assert res.n_iter == len(res.history) < 15
    assert res.history[-1] <= 1e-8 and all(b < a for a, b in zip(res.history[1:], res.history[2:]))
    loose = pql(CBPP, load("cbpp"), tol=1e-3)
    assert loose.converged and loose.n_iter < res.n_iter
    np.testing.assert_allclose(loose.params, res.params, atol=1e-3)
    with pytest.warns(ConvergenceWarning, match="after 3 iterations"):
        short = pql(CBPP, load("cbpp"), max_iter=3)
    assert not short.converged and short.n_iter == 3 and "WARNING" in short.summary()
    started = pql(CBPP, load("cbpp"), start=[-1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(started.params, res.params, atol=1e-7)


def test_result_names():
    res = fitted("cbpp")
    assert math.isnan(res.llf) and math.isnan(res.aic) and math.isnan(res.bic) and math.isnan(res.deviance)
    assert list(res.params.index) == ["(Intercept)", "period2", "period3", "period4"]
    np.testing.assert_allclose(np.diag(res.cov_params()), res.bse ** 2)
    np.testing.assert_allclose(res.tvalues, res.params / res.bse)
    np.testing.assert_allclose(res.pvalues, 2 * stats.norm.sf(np.abs(res.tvalues)))
    ci = res.conf_int(0.1)
    assert list(ci.columns) == ["lower", "upper"]
    np.testing.assert_allclose(ci["upper"] - res.params, stats.norm.isf(0.05) * res.bse)
    assert list(res.random_effects["herd"].columns) == ["(Intercept)", "sd((Intercept))"]
    assert res.random_effects["herd"].index.name == "herd" and len(res.random_effects["herd"]) == 15
    assert res.nobs == 56 and res.ngroups == {"herd": 15} and not res.singular
    eta = res.predict()
    np.testing.assert_allclose(res.predict(type="response"), special.expit(eta))
    new = load("cbpp").iloc[:3].assign(herd=["1", "2", "new"])
    population = res.predict(new, re=False)
    np.testing.assert_allclose(population, [res.params.iloc[0], res.params.iloc[0] + res.params.iloc[1],
                                            res.params.iloc[0] + res.params.iloc[2]])
    assert res.predict(new).iloc[2] == pytest.approx(population.iloc[2])  # a new level gets b = 0
    text = res.summary()
    assert "penalized quasi-likelihood" in text and "logLik: NA" in text and "Residual" in text
    assert "PQLResult(" in repr(res)


def test_singular_fit_warns():
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"y": rng.poisson(3.0, 200).astype(float), "g": np.repeat(np.arange(20), 10).astype(str)})
    with pytest.warns(UserWarning, match="singular"):
        res = pql("y ~ 1 + (1 | g)", data, family="poisson", dispersion="fixed")
    assert res.singular and res.converged
    assert float(res.sd_re["g"].iloc[0]) < 1e-4


def test_input_validation():
    data = load("cbpp")
    with pytest.raises(ValueError, match="`dispersion` must be one of 'estimate', 'fixed'"):
        pql(CBPP, data, dispersion="free")
    with pytest.raises(ValueError, match="`max_iter` must be a positive integer"):
        pql(CBPP, data, max_iter=0)
    with pytest.raises(TypeError, match="`max_iter`"):
        pql(CBPP, data, max_iter=2.5)
    with pytest.raises(ValueError, match="`tol` must be positive"):
        pql(CBPP, data, tol=0)
    with pytest.raises(ValueError, match="`tol` must be finite"):
        pql(CBPP, data, tol=float("nan"))
    with pytest.raises(ValueError, match="`start` must have 4 values"):
        pql(CBPP, data, start=[0.0, 1.0])
    with pytest.raises(ValueError, match="`start` must be finite"):
        pql(CBPP, data, start=[0.0, 1.0, np.inf, 0.0])
    with pytest.raises(TypeError, match="`verbose`"):
        pql(CBPP, data, verbose="yes")
    with pytest.raises(ValueError, match="`family`: PQL needs a variance function"):
        pql("y ~ trt + (1 | subject)", datasets.load("epilepsy"), family="negative_binomial")
    with pytest.raises(ValueError, match="`link` must be one of"):
        pql(CBPP, data, link="log")
    with pytest.raises(ValueError, match="cbind"):
        pql(CBPP, data, family="poisson")
    tiny = pd.DataFrame({"y": [1.0, 0.0, 1.0], "g": ["a", "a", "b"]})
    with pytest.raises(ValueError, match="use dispersion='fixed'"):
        pql("y ~ 1 + (1 | g)", tiny)
    with pytest.raises(ValueError, match="`dispersion` applies to method='pql' only"):
        fit(CBPP, data, dispersion="fixed")
    with pytest.raises(ValueError, match="`nagq` does not apply to method='pql'"):
        fit(CBPP, data, method="pql", nagq=5)
    with pytest.raises(ValueError, match="`optimizer` does not apply"):
        fit(CBPP, data, method="pql", optimizer="BFGS")
    with pytest.raises(ValueError, match="`method` must be one of 'laplace', 'agq', 'qmc', 'pql'"):
        fit(CBPP, data, method="PQL")
    res = fitted("cbpp")
    with pytest.raises(ValueError, match="`alpha` must be in"):
        res.conf_int(1.5)
    with pytest.raises(ValueError, match="`type` must be one of"):
        res.predict(type="mean")


# ---------------------------------------------------------------------------------------------------------
# the bias for binary data with few observations per group (docs/pql.rst, docs/examples/pql_bias.py)
# ---------------------------------------------------------------------------------------------------------
def test_bias_direction_binary_small_groups():
    """100 groups of 5 binary observations, random-intercept SD 2: PQL's SD is below AGQ's on average (and
    in most replicates), and so, with dispersion 1, is the slope. Directions only, not sizes."""
    rng = np.random.default_rng(613)
    sds, slopes = [], []
    for _ in range(6):
        group = np.repeat(np.arange(100), 5)
        x = rng.standard_normal(500)
        eta = -0.5 + x + rng.normal(0, 2, 100)[group]
        data = pd.DataFrame({"y": (rng.random(500) < special.expit(eta)).astype(float), "x": x,
                             "group": group.astype(str)})
        fits = [quiet(fit, "y ~ x + (1 | group)", data, method="pql", dispersion="fixed"),
                quiet(fit, "y ~ x + (1 | group)", data, method="pql"),
                quiet(fit, "y ~ x + (1 | group)", data, method="agq", nagq=20)]
        sds.append([float(f.sd_re["group"].iloc[0]) for f in fits])
        slopes.append([f.params["x"] for f in fits])
    sds, slopes = np.array(sds), np.array(slopes)
    assert sds[:, 0].mean() < sds[:, 2].mean() and sds[:, 1].mean() < sds[:, 2].mean()
    assert np.mean(sds[:, 0] < sds[:, 2]) >= 5 / 6
    assert slopes[:, 0].mean() < slopes[:, 2].mean()
