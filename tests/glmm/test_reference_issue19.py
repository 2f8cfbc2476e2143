"""Issue 19's model classes against glmmTMB 1.1.5 (design note, section 8) and the shipped data sets.

The reference numbers are tests/reference/issue19_reference.json, produced by tests/reference/issue19_reference.R
(glmmTMB with tight nlminb tolerances, then Newton-polished on TMB's exact gradient; sdreport SEs at that point).
The contract's tolerances (Laplace): parameters 1e-5 (absolute), log-likelihood 1e-6 (relative), standard errors
1e-3 (relative); where a parameter differs by more, quadlib's log-likelihood must be at least the peer's and its
gradient zero. The ordinal fits (wine vs clmm) are in test_ordinal.py.

Scales (glmmTMB -> quadlib): theta = log SD -> SD = exp (a correlation parameter t -> t / sqrt(1 + t^2) for a
2 x 2 term); betad = log(phi) -> quadlib's log(phi) / disp~ coefficients, except glmmTMB 1.1.5's gaussian betad
= log(sigma^2), halved (quadlib, as glmmTMB >= 1.1.9: log(sigma)); psi -> tweedie logit(power - 1), t log(df)
(the same coordinates). SEs are compared for beta, zi, disp and psi (same scales; halved for the gaussian
dispersion); never for theta (quadlib's coordinate is the SD, glmmTMB's the log SD).

The Gcsemv fits use the rows with ``course`` observed and y = (course/100 (n - 1) + 0.5)/n (Smithson &
Verkuilen 2006), as the R script does; the squeeze is here, not in the shipped file.
"""
import json
from pathlib import Path
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import quadlib
from quadlib.glmm import build_design, datasets, fit

REFERENCE = json.loads((Path(__file__).parents[1] / "reference" / "issue19_reference.json").read_text())
LEVELS = json.loads((Path(datasets.__file__).parent / "factor_levels.json").read_text())


def _gcse():
    gc = datasets.load("gcsemv")
    gc = gc[gc["course"].notna()].copy()
    n = len(gc)
    gc["y"] = (gc["course"] / 100 * (n - 1) + 0.5) / n
    return gc


SAL = "count ~ spp + mined + (1 | site)"
OWL = "SiblingNegotiation ~ FoodTreatment * SexParent + offset(logBroodSize) + (1 | Nest)"
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
# key -> (formula, data set, fit arguments)
FITS = {
    "sal_poisson": (SAL, "salamanders", dict(family="poisson")),
    "sal_zip": (SAL, "salamanders", dict(family="poisson", ziformula="~ spp + mined")),
    "sal_zinb2": (SAL, "salamanders", dict(family="nbinom2", ziformula="~ spp + mined")),
    "sal_hurdle_poisson": (SAL, "salamanders", dict(family="truncated_poisson", ziformula="~ spp + mined")),
    "sal_hurdle_nb2": (SAL, "salamanders", dict(family="truncated_nbinom2", ziformula="~ spp + mined")),
    "sal_zip_1": (SAL, "salamanders", dict(family="poisson", ziformula="~ 1")),
    "sal_zinb1": (SAL, "salamanders", dict(family="nbinom1", ziformula="~ spp + mined")),
    "owls_nb1": (OWL, "owls", dict(family="nbinom1")),
    "owls_zinb1": (OWL, "owls", dict(family="nbinom1", ziformula="~ 1")),
    "owls_nb2_disp": (OWL, "owls", dict(family="nbinom2", dispformula="~ FoodTreatment")),
    "owls_tweedie": ("NegPerChick ~ FoodTreatment * SexParent + (1 | Nest)", "owls", dict(family="tweedie")),
    "cbpp_betabinomial": (CBPP, "cbpp", dict(family="betabinomial")),
    "gcse_beta": ("y ~ gender + (1 | school)", "gcse", dict(family="beta")),
    "gcse_beta_disp": ("y ~ gender + (1 | school)", "gcse", dict(family="beta", dispformula="~ gender")),
    "sleep_t": ("Reaction ~ Days + (Days | Subject)", "sleepstudy", dict(family="t_family")),
    "sleep_gauss_disp": ("Reaction ~ Days + (1 | Subject)", "sleepstudy", dict(family="gaussian",
                                                                              dispformula="~ Days")),
    "sleep_gauss_reml": ("Reaction ~ Days + (Days | Subject)", "sleepstudy", dict(family="gaussian", reml=True)),
    "cbpp_binomial_reml": (CBPP, "cbpp", dict(family="binomial", reml=True)),
    "sal_poisson_reml": (SAL, "salamanders", dict(family="poisson", reml=True)),
    "owls_nb2_reml": (OWL, "owls", dict(family="nbinom2", reml=True)),
}
# fits that may not meet the contract yet: key -> the missing piece (strict xfail)
KNOWN = {}
# (sal_hurdle_nb2 was here: the optimizer ended at SD(site) = 0, a minimum along the SD with zero gradient by
# symmetry; the restart off a zero SD now tries steps of 0.1, 0.01 and 0.001 and reaches glmmTMB's optimum)
# fits whose zero-inflation part is separated (estimates diverge, the log-likelihood is a supremum): glmmTMB
# stops on the ridge; quadlib warns, its log-likelihood is at least glmmTMB's, and at glmmTMB's parameters its
# objective equals glmmTMB's log-likelihood
SEPARATED = ("sal_zinb1", "sal_zinb2")


def _data(name):
    return _gcse() if name == "gcse" else datasets.load(name)


def _fit(key):
    formula, data, kwargs = FITS[key]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit(formula, _data(data), **kwargs)
    return res, [str(w.message) for w in caught]


def _glmmtmb_blocks(ref):
    """glmmTMB's polished parameters and SEs by block: beta, betazi, betad, theta, psi."""
    # (jsonlite writes a one-parameter fit's vectors as scalars)
    names, par = np.atleast_1d(ref["par_names"]).tolist(), np.atleast_1d(np.asarray(ref["par"], dtype=float))
    se = np.asarray(list(ref["se_par"].values()), dtype=float) if ref.get("se_par") else np.full(par.size, np.nan)
    blocks = {}
    for block in ("beta", "betazi", "betad", "theta", "psi"):
        mask = np.array([n == block for n in names])
        blocks[block] = (par[mask], se[mask])
    if ref["family"] == "gaussian":          # 1.1.5: log(sigma^2); quadlib: log(sigma)
        blocks["betad"] = (blocks["betad"][0] / 2, blocks["betad"][1] / 2)
    return blocks


def _quadlib_blocks(res):
    """quadlib's estimates and SEs in glmmTMB's blocks and scales (theta: log SD, correlation parameter)."""
    names = list(res.objective.names)
    x = np.asarray(res.x, dtype=float)
    se = np.sqrt(np.abs(np.diag(np.asarray(res.x_covariance, dtype=float))))
    p = res.objective.n_beta

    def pick(test):
        idx = [i for i, n in enumerate(names) if i >= p and test(n)]
        return x[idx], se[idx]

    blocks = {"beta": (x[:p], se[:p]),
              "betazi": pick(lambda n: n.startswith("zi~")),
              "betad": pick(lambda n: n.startswith("disp~") or n in ("log(phi)", "log(theta)", "log(sigma)",
                                                                        "log(shape)")),
              "psi": pick(lambda n: n in ("logit(power - 1)", "log(df)"))}
    theta = []
    for cov in res.cov_re.values():
        cov = np.asarray(cov, dtype=float)
        sd = np.sqrt(np.diag(cov))
        with np.errstate(divide="ignore"):       # a boundary fit's SD 0: log SD -inf, compared as SD
            theta.extend(np.log(sd))
        if cov.shape == (2, 2):
            corr = cov[0, 1] / (sd[0] * sd[1])
            theta.append(corr / np.sqrt(1 - corr ** 2))      # glmmTMB's t: corr = t / sqrt(1 + t^2)
    blocks["theta"] = (np.array(theta), np.full(len(theta), np.nan))
    return blocks


def _check(key, res, tol=1e-5):
    ref = REFERENCE[key]
    reml = FITS[key][2].get("reml", False)
    assert res.converged
    assert abs(res.llf - ref["logLik"]) <= 1e-6 * abs(ref["logLik"]), (res.llf, ref["logLik"])
    ours, theirs = _quadlib_blocks(res), _glmmtmb_blocks(ref)
    if reml:    # glmmTMB's REML beta: at the joint mode of (b, beta)
        theirs["beta"] = (np.asarray(ref["beta_at_joint_mode"], dtype=float), theirs["beta"][1])
    worst = 0.0
    for block in ("beta", "betazi", "betad", "psi", "theta"):
        a, b = ours[block][0], theirs[block][0]
        assert a.shape == b.shape, (block, a, b)
        if block == "theta" and np.any(b < -8):        # boundary: SD ~ 0 on both sides, compare SDs
            worst = max(worst, np.max(np.abs(np.exp(a) - np.exp(b)), initial=0.0))
        else:
            worst = max(worst, np.max(np.abs(a - b), initial=0.0))
    if worst > tol:
        # the peer stopped short: quadlib's optimum must be at least as high and stationary
        assert res.llf >= ref["logLik"] - 1e-9 * abs(ref["logLik"]), (key, worst)
        _, gradient = res.objective.value_and_gradient(res.x)
        assert np.max(np.abs(gradient)) < 1e-4, (key, worst)
    if not reml:     # glmmTMB's REML SEs come from the joint precision (design note, section 6): not compared
        for block in ("beta", "betazi", "betad", "psi"):
            a, b = ours[block][1], theirs[block][1]
            np.testing.assert_allclose(a, b, rtol=1e-3, err_msg=f"{key}: SE of {block}")
    return worst


CONTRACT = [k for k in FITS if k not in SEPARATED]


SLOW = ("gcse_beta",)      # 2.5-6 s on the shared machine (gcse_beta_disp covers the beta family quickly)


def _marks(key):
    marks = [pytest.mark.xfail(strict=True, reason=KNOWN[key])] if key in KNOWN else []
    return marks + ([pytest.mark.slow] if key in SLOW else [])


@pytest.mark.parametrize("key", [pytest.param(k, marks=_marks(k)) for k in CONTRACT])
def test_equals_glmmtmb(key):
    res, caught = _fit(key)
    _check(key, res)


@pytest.mark.parametrize("key", SEPARATED)
def test_separated_zero_inflation(key):
    ref = REFERENCE[key]
    res, caught = _fit(key)
    assert any("separated" in m for m in caught), caught
    assert res.llf >= ref["logLik"] - 1e-6 * abs(ref["logLik"])
    # at glmmTMB's parameters quadlib's objective is glmmTMB's log-likelihood (the same function)
    theirs = _glmmtmb_blocks(ref)
    names = list(res.objective.names)
    p = res.objective.n_beta
    x = np.concatenate([theirs["beta"][0], np.exp(theirs["theta"][0]), theirs["betazi"][0], theirs["betad"][0]])
    assert len(names) == x.size and names[p].startswith("theta[")
    assert abs(res.objective.log_likelihood(x) - ref["logLik"]) <= 1e-6 * abs(ref["logLik"])
    # and quadlib's value at its own (higher) point is the model's: scipy.stats rows, the zi mixture by hand,
    # quadlib.Laplace on them (sal_zinb2: -814.908, 2.24 above glmmTMB's stationary point, a local maximum)
    assert abs(_scipy_zi_laplace(key, res) - res.llf) <= 1e-9 * abs(res.llf)


def _scipy_zi_laplace(key, res):
    ours = _quadlib_blocks(res)
    sal = datasets.load("salamanders")
    design = build_design(SAL, sal)
    zeta = (build_design("count ~ spp + mined + (1 | site)", sal).X @ ours["betazi"][0])[:, None]
    y, eta0, phi = design.response, design.offset + design.X @ ours["beta"][0], np.exp(ours["betad"][0][0])
    term = design.terms[0]
    group, z = term.index, term.Z[:, 0]

    def log_g(b):              # (M, K, 1) -> (M, K): each site's sum of row log-densities at K points
        mu = np.exp(eta0[:, None] + z[:, None] * b[group, :, 0])
        if key == "sal_zinb2":
            logp = stats.nbinom.logpmf(y[:, None], phi, phi / (phi + mu))
        else:                  # NB1: size mu/phi, var = mu (1 + phi)
            logp = stats.nbinom.logpmf(y[:, None], mu / phi, 1 / (1 + phi))
        rows = np.where((y == 0)[:, None], np.logaddexp(zeta, logp), logp) - np.logaddexp(0, zeta)
        return np.stack([np.bincount(group, weights=c, minlength=b.shape[0]) for c in rows.T], axis=1)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = quadlib.Laplace().log_integrals(log_g, int(group.max()) + 1, 1, factor=[[np.exp(ours["theta"][0][0])]])
    return float(np.sum(out.log_integral))


def test_lmm_reml_equals_lmer():
    ref = REFERENCE["sleep_lmer_reml"]
    res, _ = _fit("sleep_gauss_reml")
    assert abs(res.llf - ref["logLik"]) <= 1e-9 * abs(ref["logLik"])
    np.testing.assert_allclose(res.params[["(Intercept)", "Days"]], [ref["fixef"]["(Intercept)"],
                                                                     ref["fixef"]["Days"]], atol=1e-6)


# --- the shipped data sets ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, rows, columns", [
    ("salamanders", 644, ["site", "mined", "cover", "sample", "DOP", "Wtemp", "DOY", "spp", "count"]),
    ("owls", 599, ["Nest", "FoodTreatment", "SexParent", "ArrivalTime", "SiblingNegotiation", "BroodSize",
                   "NegPerChick", "logBroodSize"]),
    ("wine", 72, ["response", "rating", "temp", "contact", "bottle", "judge"]),
    ("gcsemv", 1905, ["school", "student", "gender", "written", "course"]),
])
def test_datasets_keep_r_levels(name, rows, columns):
    frame = datasets.load(name)
    assert frame.shape == (rows, len(columns)) and list(frame.columns) == columns
    key = {"salamanders": "Salamanders", "owls": "Owls", "wine": "wine", "gcsemv": "Gcsemv"}[name]
    for column, spec in LEVELS[key].items():
        assert isinstance(frame[column].dtype, pd.CategoricalDtype), column
        assert list(frame[column].cat.categories) == spec["levels"]
        assert frame[column].cat.ordered == spec["ordered"]
        assert frame[column].notna().all()


def test_dataset_details():
    sal = datasets.load("salamanders")
    assert list(sal["mined"].cat.categories) == ["yes", "no"]
    assert list(sal["spp"].cat.categories) == ["GP", "PR", "DM", "EC-A", "EC-L", "DES-L", "DF"]
    assert int(sal["count"].sum()) == 852 and int((sal["count"] == 0).sum()) == 387
    wine = datasets.load("wine")
    assert wine["rating"].cat.ordered and list(wine["rating"].cat.categories) == ["1", "2", "3", "4", "5"]
    assert wine["rating"].value_counts().sort_index().tolist() == [5, 22, 26, 12, 7]
    gc = datasets.load("gcsemv")
    assert int(gc["course"].isna().sum()) == 180 and gc["school"].cat.categories.size == 73
    owls = datasets.load("owls")
    np.testing.assert_allclose(owls["logBroodSize"], np.log(owls["BroodSize"]), rtol=1e-12)
    # the older data sets still load as strings
    herd = datasets.load("cbpp")["herd"]
    assert not isinstance(herd.dtype, pd.CategoricalDtype) and isinstance(herd.iloc[0], str)
