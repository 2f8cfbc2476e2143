"""quadlib.glmm._conditional (conditional logistic and conditional Poisson regression) and its compiled kernel
quadlib._extensions._conditional.

The reference numbers are in tests/reference/conditional_reference.json, written by
tests/reference/conditional_reference.R: survival::clogit(method = "exact") for the binary fits, a Poisson GLM with
subject fixed effects and gnm(eliminate = ) for the counts. The kernel is checked independently of R against
brute-force enumeration of the subsets, a slow pure-Python twin (the unnormalized derivative recursions of Gail,
Lubin and Rubinstein 1981), mpmath at 30 digits (a stratum of 1000 rows and 500 events, and linear predictors
whose exponentials overflow a double) and central differences.
"""
import functools
import itertools
import json
import math
from pathlib import Path
import warnings

import numpy as np
import pandas as pd
import pytest

from quadlib._extensions import _conditional as kernel
from quadlib.glmm import datasets
from quadlib.glmm._conditional import ConditionalObjective, ConditionalResult, _conditional_iv, conditional_fit
from quadlib.glmm._optimize import ConvergenceWarning

REFERENCE = json.loads((Path(__file__).resolve().parent.parent / "reference" / "conditional_reference.json")
                       .read_text())
FITS = REFERENCE["fits"]


# ---------------------------------------------------------------------------------------------------------
# data and fits
# ---------------------------------------------------------------------------------------------------------
def _big():
    j = np.arange(1, 1001)
    return pd.DataFrame({"y": ((7 * j) % 10 < 5).astype(int), "x1": np.sin(j), "x2": 2 * np.cos(0.37 * j),
                         "s": 1})


@functools.lru_cache(maxsize=None)
def load(name):
    if name == "infert":
        data = datasets.load("infert")
        return data.assign(inducedf=data.induced.astype(str), control=1 - data.case)
    if name == "epilepsy":
        return datasets.load("epilepsy")
    if name == "longitudinal":
        return pd.DataFrame(REFERENCE["data"]["longitudinal"])
    if name == "big":
        return _big()
    raise KeyError(name)


# the Python formula of each R fit (the same model; R's extra columns are NA, ours dropped)
FORMULAS = {
    "infert": "case ~ spontaneous + induced",
    "infert_factor": "case ~ spontaneous + inducedf",
    "infert_education": "case ~ spontaneous + induced + education",
    "infert_control": "control ~ spontaneous + induced",
    "longitudinal": "y ~ x1 + x2 + z",
    "big": "y ~ x1 + x2",
    "epil": "y ~ V4",
    "epil_interaction": "y ~ V4 + V4:trt + lbase:trt",
    "epil_period": "y ~ period",
}


@functools.lru_cache(maxsize=None)
def fitted(key):
    ref = FITS[key]
    family = "poisson" if key.startswith("epil") else "binomial"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = conditional_fit(FORMULAS[key], load(ref["data"]), group=ref["group"], family=family)
    return result, [str(w.message) for w in caught]


def _listed(value):
    return [value] if isinstance(value, str) else list(value)  # jsonlite unboxes length-1 vectors


# ---------------------------------------------------------------------------------------------------------
# the data sets are R's
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["infert", "epilepsy"])
def test_datasets_equal_R(name):
    ours, theirs = datasets.load(name), REFERENCE["data"][name]
    renamed = {"pooled_stratum": "pooled.stratum"}
    for column, values in theirs.items():
        column = renamed.get(column, column)
        if isinstance(values[0], str):
            assert ours[column].tolist() == values, column
        else:
            np.testing.assert_allclose(ours[column].astype(float), values, rtol=0, atol=1e-12, err_msg=column)


# ---------------------------------------------------------------------------------------------------------
# estimates against R
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(FITS))
def test_against_R(key):
    ref = FITS[key]
    result, _ = fitted(key)
    assert result.converged, result.message
    assert list(result.params.index) == list(ref["coef"])
    # the issue's tolerances: coefficients 1e-6, SEs 1e-5 relative, llf 1e-8 relative (these are exact methods)
    np.testing.assert_allclose(result.params, list(ref["coef"].values()), rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.bse, list(ref["se"].values()), rtol=1e-5)
    np.testing.assert_allclose(result.cov_params().to_numpy(), np.array(ref["vcov"], dtype=float).reshape(
        len(ref["coef"]), -1), rtol=1e-5, atol=1e-12)
    assert result.llf == pytest.approx(ref["loglik"], rel=1e-8)
    assert result.llnull == pytest.approx(ref["loglik_null"], rel=1e-8)
    if key.startswith("epil"):
        # the conditional Poisson fit is the GLM with subject fixed effects, and gnm(eliminate = subject)
        assert result.llf == pytest.approx(ref["glm_loglik_minus_totals"], rel=1e-8)
        np.testing.assert_allclose(result.params, list(ref["gnm_coef"].values()), rtol=0, atol=1e-6)
        np.testing.assert_allclose(result.bse, list(ref["gnm_se"].values()), rtol=1e-5)
        assert result.nobs - result.n_dropped_rows == ref["n"]
        assert result.ngroups == {result.group: ref["ngroups"]}
        assert result.n_dropped_groups == ref["dropped_groups"]
    else:
        assert result.nobs == ref["n"]
        assert result.n_events == ref["nevent"]
        assert set(_listed(ref["aliased"])) <= set(result.dropped_columns)
        assert result.llr == pytest.approx(2 * (ref["loglik"] - ref["loglik_null"]), rel=1e-8)


def test_issue_numbers():
    """The numbers quoted in the issue (rounded), for the two headline models."""
    infert, _ = fitted("infert")
    np.testing.assert_allclose(infert.params, [1.98588, 1.40901], atol=5e-6)
    np.testing.assert_allclose(infert.bse, [0.35244, 0.36071], atol=5e-6)
    assert infert.llf == pytest.approx(-64.2022, abs=5e-5)
    epil, _ = fitted("epil")
    assert epil.params["V4"] == pytest.approx(-0.15977, abs=5e-6)
    assert epil.bse["V4"] == pytest.approx(0.05458, abs=5e-6)


def test_dropped_columns_and_groups():
    result, messages = fitted("infert_education")
    assert result.dropped_columns == ["(Intercept)", "education12+ yrs", "education6-11yrs"]
    assert any("education12+ yrs, education6-11yrs" in m for m in messages)
    result, messages = fitted("longitudinal")
    assert result.dropped_columns == ["(Intercept)", "z"]
    assert result.n_dropped_groups == FITS["longitudinal"]["dropped_groups"] == 16
    assert result.n_dropped_rows == FITS["longitudinal"]["dropped_rows"]
    assert result.ngroups == {result.group: 60 - 16}
    assert any("dropped 16 group(s) of 'id'" in m for m in messages)
    assert "Dropped 16 group(s) (104 rows) without information" in result.summary()
    result, messages = fitted("epil_interaction")
    assert result.dropped_columns == ["(Intercept)", "lbase:trtplacebo", "lbase:trtprogabide"]
    assert result.n_dropped_groups == 1 and result.n_dropped_rows == 4
    result, messages = fitted("infert")
    assert result.dropped_columns == ["(Intercept)"] and result.n_dropped_groups == 0
    assert not any("identifiable" in m for m in messages)  # the intercept is noted in the result, not warned


def test_uninformative_groups_change_nothing():
    data = load("infert")
    extra = pd.DataFrame({"case": [0, 0, 1, 1, 1], "spontaneous": [2, 0, 1, 0, 2], "induced": [0, 1, 2, 1, 0],
                          "stratum": [900, 900, 901, 901, 902]})
    with pytest.warns(UserWarning, match=r"dropped 3 group\(s\) of 'stratum' with no event or no non-event"):
        result = conditional_fit("case ~ spontaneous + induced", pd.concat([data, extra], ignore_index=True),
                                 group="stratum")
    base, _ = fitted("infert")
    np.testing.assert_allclose(result.params, base.params, rtol=1e-12)
    assert result.llf == pytest.approx(base.llf, rel=1e-13)
    assert (result.n_dropped_groups, result.n_dropped_rows, result.nobs) == (3, 5, base.nobs + 5)


def test_strata_term_and_row_order():
    data = load("infert")
    base, _ = fitted("infert")
    via_strata = conditional_fit("case ~ spontaneous + induced + strata(stratum)", data)
    np.testing.assert_array_equal(via_strata.params, base.params)
    shuffled = data.sample(frac=1.0, random_state=3)
    result = conditional_fit("case ~ spontaneous + induced", shuffled, group="stratum")
    np.testing.assert_allclose(result.params, base.params, rtol=1e-12)
    assert result.llf == pytest.approx(base.llf, rel=1e-13)
    # groups given by two columns
    two = data.assign(half=data.stratum % 2, stratum2=data.stratum // 2)
    result = conditional_fit("case ~ spontaneous + induced", two, group="stratum2:half")
    np.testing.assert_allclose(result.params, base.params, rtol=1e-12)


def test_offset_and_logical_response():
    data = load("infert").assign(case_logical=lambda d: d.case.astype(bool))
    base, _ = fitted("infert")
    shifted = conditional_fit("case_logical ~ spontaneous + induced + offset(0.5 * induced)", data, group="stratum")
    np.testing.assert_allclose(shifted.params, base.params - [0.0, 0.5], rtol=1e-10)
    assert shifted.llf == pytest.approx(base.llf, rel=1e-13)


def test_missing_values_dropped():
    data = load("infert").copy()
    data.loc[[0, 5], "induced"] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = conditional_fit("case ~ spontaneous + induced", data, group="stratum")
    messages = [str(w.message) for w in caught]
    assert any("dropped 2 row(s) with missing values" in m for m in messages)
    # rows 0 and 5 were the cases of strata 1 and 6: those strata are left without an event
    assert any("dropped 2 group(s) of 'stratum' with no event" in m for m in messages)
    assert result.nobs == 246 and result.n_dropped_groups == 2
    assert result.converged


def test_result_api():
    result, _ = fitted("infert")
    ci = result.conf_int()
    np.testing.assert_allclose(ci["lower"], result.params - 1.959963984540054 * result.bse)
    np.testing.assert_allclose(result.conf_int(0.1)["upper"], result.params + 1.6448536269514729 * result.bse)
    ref = FITS["infert"]
    np.testing.assert_allclose(result.tvalues, np.divide(list(ref["coef"].values()), list(ref["se"].values())),
                               rtol=1e-6)
    np.testing.assert_allclose(result.tvalues, [5.635, 3.906], atol=5e-4)  # clogit's print
    np.testing.assert_allclose(result.pvalues, [1.75e-08, 9.38e-05], rtol=5e-3)
    assert result.llr == pytest.approx(53.15, abs=0.005) and result.llr_pvalue == pytest.approx(2.869e-12, rel=1e-3)
    assert result.aic == pytest.approx(-2 * result.llf + 4)
    cov = result.cov_params()
    assert (cov.to_numpy() == cov.to_numpy().T).all()
    text = result.summary()
    for piece in ("exp(coef)", "spontaneous  1.9859     7.2854    0.3524  5.635  1.75e-08",
                  "Likelihood ratio test=53.15  on 2 df, p=2.869e-12", "n= 248, number of events= 83, groups= 83",
                  "Log-likelihood: -64.2022", "dropped: (Intercept)"):
        assert piece in text, piece
    assert "ConditionalResult('case ~ spontaneous + induced'" in repr(result)
    assert isinstance(result, ConditionalResult)


def test_control_is_the_mirror_image():
    """Swapping events and non-events (every stratum then has t > m / 2: the kernel's t -> m - t path) negates
    the coefficients and leaves the likelihood unchanged."""
    case, _ = fitted("infert")
    control, _ = fitted("infert_control")
    np.testing.assert_allclose(control.params, -case.params, rtol=1e-10)
    np.testing.assert_allclose(control.bse, case.bse, rtol=1e-10)
    assert control.llf == pytest.approx(case.llf, rel=1e-13)


def test_big_stratum_against_R():
    """One stratum of 1000 rows and 500 events: clogit's exact log-likelihood at a fixed beta."""
    at = FITS["big"]["at_beta"]
    objective = fitted("big")[0].objective
    value, gradient, hessian = objective.loglik(np.array(at["beta"]))
    assert value == pytest.approx(at["loglik"], rel=1e-12)
    assert np.all(np.isfinite(gradient)) and np.all(np.linalg.eigvalsh(hessian) < 0)


# ---------------------------------------------------------------------------------------------------------
# separation and input validation
# ---------------------------------------------------------------------------------------------------------
def test_separation_does_not_converge():
    rng = np.random.default_rng(7)
    data = pd.DataFrame({"g": np.repeat(np.arange(20), 4), "x": rng.normal(size=80), "w": rng.normal(size=80)})
    # within each group the event is the row with the largest x: the x coefficient runs off to +infinity
    data["y"] = (data.x == data.groupby("g").x.transform("max")).astype(int)
    with pytest.warns(ConvergenceWarning, match="did not converge: .* an estimate is running off to infinity"):
        result = conditional_fit("y ~ x + w", data, group="g")
    assert not result.converged
    assert result.n_iter < 50 and result.params["x"] > 20 and result.bse["x"] > 100
    assert "WARNING: did not converge" in result.summary()


def test_input_validation():
    data = load("infert")
    formula = "case ~ spontaneous + induced"
    with pytest.raises(ValueError, match=r"`group` names column 'nope', which is not in `data`"):
        conditional_fit(formula, data, group="nope")
    with pytest.raises(ValueError, match=r"`group` names column 'nope'"):
        conditional_fit("case ~ spontaneous + strata(nope)", data)
    with pytest.raises(ValueError, match=r"`group` is required"):
        conditional_fit(formula, data)
    with pytest.raises(TypeError, match=r"`group` must be a column name"):
        conditional_fit(formula, data, group=3)
    with pytest.raises(ValueError, match=r"`group`='pooled.stratum' and the formula's strata\(stratum\)"):
        conditional_fit(formula + " + strata(stratum)", data, group="pooled.stratum")
    with pytest.raises(ValueError, match=r"the response 'parity' must be 0/1 for family='binomial'.*got 2, 3, 4"):
        conditional_fit("parity ~ spontaneous", data, group="stratum")
    with pytest.raises(ValueError, match=r"the response 'y' must be non-negative integer counts"):
        conditional_fit("y ~ V4", load("epilepsy").assign(y=lambda d: d.y - 0.5), group="subject", family="poisson")
    with pytest.raises(TypeError, match=r"the response column 'education' must be numeric"):
        conditional_fit("education ~ spontaneous", data, group="stratum")
    with pytest.raises(ValueError, match=r"`family` must be one of 'binomial', 'poisson', got 'gaussian'"):
        conditional_fit(formula, data, group="stratum", family="gaussian")
    with pytest.raises(ValueError, match=r"`formula` has random terms \(\(1 \| stratum\)\)"):
        conditional_fit(formula + " + (1 | stratum)", data, group="stratum")
    with pytest.raises(ValueError, match=r"cbind\(successes, failures\) response is not supported"):
        conditional_fit("cbind(case, 1 - case) ~ spontaneous", data, group="stratum")
    with pytest.raises(ValueError, match=r"no column varies within the groups of 'stratum'"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            conditional_fit("case ~ education", data, group="stratum")
    with pytest.raises(ValueError, match=r"no group of `group`='stratum' has both an event and a non-event"):
        conditional_fit(formula, data.assign(case=0), group="stratum")
    with pytest.raises(TypeError, match=r"`data` must be a pandas DataFrame"):
        conditional_fit(formula, data.to_dict(), group="stratum")
    with pytest.raises(TypeError, match=r"`max_iter` must be a positive integer"):
        conditional_fit(formula, data, group="stratum", max_iter=2.5)
    with pytest.raises(ValueError, match=r"`alpha` must be in \(0, 1\)"):
        fitted("infert")[0].conf_int(alpha=1.5)


# ---------------------------------------------------------------------------------------------------------
# the kernel: brute force, a slow twin, mpmath, central differences
# ---------------------------------------------------------------------------------------------------------
def run_binary(X, y, beta, starts=None, offset=None, order=2, path=0):
    X = np.ascontiguousarray(X, dtype=float)
    n, p = X.shape
    starts = np.array([0, n], dtype=np.intp) if starts is None else np.asarray(starts, dtype=np.intp)
    offset = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    y = np.asarray(y, dtype=float)
    eta, group_llf = np.empty(n), np.empty(starts.size - 1)
    gradient, hessian = np.empty(p), np.empty((p, p))
    work = np.empty(kernel.binary_workspace(starts, y, p))
    status = kernel.binary_loglik(X, offset, np.asarray(beta, dtype=float), y, starts, order, eta, group_llf,
                                  gradient, hessian, work, path)
    assert status == 0
    return group_llf, gradient, hessian


def brute_force(X, y, beta, offset=0.0):
    """Sum over every subset of size t (itertools.combinations): value, gradient, Hessian of one group."""
    eta = X @ beta + offset
    t = int(y.sum())
    subsets = [list(s) for s in itertools.combinations(range(len(y)), t)]
    log_w = np.array([eta[s].sum() for s in subsets])
    sums = np.array([X[s].sum(axis=0) for s in subsets]).reshape(len(subsets), -1)
    top = log_w.max()
    prob = np.exp(log_w - top) / np.exp(log_w - top).sum()
    mean = prob @ sums
    cov = (sums - mean).T @ (prob[:, None] * (sums - mean))
    return eta[y > 0].sum() - top - math.log(np.exp(log_w - top).sum()), X[y > 0].sum(axis=0) - mean, -cov


def slow_twin(X, y, beta):
    """Gail, Lubin and Rubinstein's recursions for B, its gradient G and Hessian H, unnormalized, in Python floats
    (fine for small groups with moderate linear predictors)."""
    m, p = X.shape
    eta = [float(sum(X[j, r] * beta[r] for r in range(p))) for j in range(m)]
    t = int(sum(y))
    B = [1.0] + [0.0] * t
    G = [[0.0] * p for _ in range(t + 1)]
    H = [[[0.0] * p for _ in range(p)] for _ in range(t + 1)]
    for j in range(m):
        w, x = math.exp(eta[j]), [float(v) for v in X[j]]
        for k in range(min(j + 1, t), 0, -1):
            for r in range(p):
                for u in range(p):
                    H[k][r][u] += w * (H[k - 1][r][u] + x[r] * G[k - 1][u] + G[k - 1][r] * x[u]
                                       + x[r] * x[u] * B[k - 1])
            for r in range(p):
                G[k][r] += w * (G[k - 1][r] + x[r] * B[k - 1])
            B[k] += w * B[k - 1]
    mean = [G[t][r] / B[t] for r in range(p)]
    value = sum(eta[j] for j in range(m) if y[j]) - math.log(B[t])
    gradient = [sum(X[j, r] for j in range(m) if y[j]) - mean[r] for r in range(p)]
    hessian = [[-(H[t][r][u] / B[t] - mean[r] * mean[u]) for u in range(p)] for r in range(p)]
    return value, np.array(gradient), np.array(hessian)


def mp_reference(X, y, beta, order=2, dps=30):
    """The same recursions in mpmath at `dps` digits (no overflow, no rounding to speak of), pruned to the cells
    that reach B(m, t)."""
    import mpmath as mp

    with mp.workdps(dps):
        m, p = X.shape
        t = int(sum(y))
        eta = [mp.fsum(mp.mpf(float(X[j, r])) * mp.mpf(float(beta[r])) for r in range(p)) for j in range(m)]
        B = [mp.mpf(1)] + [mp.mpf(0)] * t
        G = [[mp.mpf(0)] * p for _ in range(t + 1)]
        H = [[[mp.mpf(0)] * p for _ in range(p)] for _ in range(t + 1)]
        for j in range(m):
            w, x = mp.exp(eta[j]), [mp.mpf(float(v)) for v in X[j]]
            for k in range(min(j + 1, t), max(1, t - (m - j - 1)) - 1, -1):
                if order >= 2:
                    for r in range(p):
                        for u in range(r, p):
                            H[k][r][u] += w * (H[k - 1][r][u] + x[r] * G[k - 1][u] + G[k - 1][r] * x[u]
                                               + x[r] * x[u] * B[k - 1])
                if order >= 1:
                    for r in range(p):
                        G[k][r] += w * (G[k - 1][r] + x[r] * B[k - 1])
                B[k] += w * B[k - 1]
        value = mp.fsum(eta[j] for j in range(m) if y[j]) - mp.log(B[t])
        mean = [G[t][r] / B[t] for r in range(p)]
        gradient = np.array([float(mp.fsum(x for x, e in zip(X[:, r], y) if e) - mean[r]) for r in range(p)])
        hessian = np.array([[float(-(H[t][min(r, u)][max(r, u)] / B[t] - mean[r] * mean[u])) for u in range(p)]
                            for r in range(p)])
        return float(value), gradient, hessian


@pytest.mark.parametrize("path", [1, 2])
def test_kernel_against_enumeration(path):
    rng = np.random.default_rng(2024)
    for _ in range(150):
        m, p = int(rng.integers(2, 11)), int(rng.integers(1, 4))
        X = rng.normal(size=(m, p)) * rng.uniform(0.1, 3.0)
        beta = rng.normal(size=p)
        y = np.zeros(m)
        y[rng.choice(m, int(rng.integers(1, m)), replace=False)] = 1.0  # every t, both sides of m / 2
        value, gradient, hessian = run_binary(X, y, beta, path=path)
        bf_value, bf_gradient, bf_hessian = brute_force(X, y, beta)
        assert value[0] == pytest.approx(bf_value, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(gradient, bf_gradient, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(hessian, bf_hessian, rtol=1e-10, atol=1e-12)


def test_kernel_groups_and_offset_against_enumeration():
    rng = np.random.default_rng(5)
    sizes = [3, 7, 2, 9, 5]
    n, p = sum(sizes), 2
    X, offset, beta = rng.normal(size=(n, p)), rng.normal(size=n), np.array([0.7, -1.1])
    y = np.concatenate([(rng.permutation(s) < rng.integers(1, s)).astype(float) for s in sizes])
    starts = np.concatenate([[0], np.cumsum(sizes)])
    values, gradient, hessian = run_binary(X, y, beta, starts=starts, offset=offset)
    total_gradient, total_hessian = np.zeros(p), np.zeros((p, p))
    for g in range(len(sizes)):
        rows = slice(starts[g], starts[g + 1])
        v, gr, h = brute_force(X[rows], y[rows], beta, offset[rows])
        assert values[g] == pytest.approx(v, rel=1e-12)
        total_gradient += gr
        total_hessian += h
    np.testing.assert_allclose(gradient, total_gradient, rtol=1e-11)
    np.testing.assert_allclose(hessian, total_hessian, rtol=1e-11)


def test_kernel_against_slow_twin():
    rng = np.random.default_rng(11)
    for _ in range(40):
        m, p = int(rng.integers(10, 41)), int(rng.integers(1, 5))
        X, beta = rng.normal(size=(m, p)), 0.5 * rng.normal(size=p)
        y = (rng.random(m) < rng.uniform(0.1, 0.9)).astype(float)
        if y.sum() in (0, m):
            continue
        twin = slow_twin(X, y, beta)
        for path in (0, 1, 2):
            value, gradient, hessian = run_binary(X, y, beta, path=path)
            assert value[0] == pytest.approx(twin[0], rel=1e-11)
            np.testing.assert_allclose(gradient, twin[1], rtol=1e-9, atol=1e-11)
            np.testing.assert_allclose(hessian, twin[2], rtol=1e-9, atol=1e-11)
        # orders 0 and 1 give the same value (and gradient) as order 2
        value, gradient, _ = run_binary(X, y, beta)
        assert run_binary(X, y, beta, order=0)[0][0] == value[0]
        np.testing.assert_array_equal(run_binary(X, y, beta, order=1)[1], gradient)


def test_kernel_symmetry_events_nonevents():
    """l(beta; y, X) = l(beta; 1 - y, -X): conditioning on the non-events."""
    rng = np.random.default_rng(3)
    for m in (5, 12, 31):
        X, beta = rng.normal(size=(m, 3)), rng.normal(size=3)
        for t in range(1, m):
            y = (rng.permutation(m) < t).astype(float)
            a = run_binary(X, y, beta)
            b = run_binary(-X, 1 - y, beta)
            assert a[0][0] == pytest.approx(b[0][0], rel=1e-12, abs=1e-12)
            np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(a[2], b[2], rtol=1e-10, atol=1e-12)


def test_large_stratum_no_overflow_against_mpmath():
    """m = 1000, t = 500: the denominator has C(1000, 500) ~ 2.7e299 terms; finite and equal to mpmath."""
    rng = np.random.default_rng(17)
    m, t = 1000, 500
    X = rng.normal(size=(m, 2))
    y = (rng.permutation(m) < t).astype(float)
    beta = np.array([0.8, -0.5])
    fast = run_binary(X, y, beta, path=1)
    logspace = run_binary(X, y, beta, path=2)
    assert np.isfinite(fast[0][0]) and np.all(np.isfinite(fast[1])) and np.all(np.isfinite(fast[2]))
    value, _, _ = mp_reference(X, y, beta, order=0)
    assert fast[0][0] == pytest.approx(value, rel=1e-12)
    assert logspace[0][0] == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(fast[1], logspace[1], rtol=1e-10)
    np.testing.assert_allclose(fast[2], logspace[2], rtol=1e-10)
    # value, gradient and Hessian on a smaller stratum
    m, t = 240, 120
    X, y = X[:m], (rng.permutation(m) < t).astype(float)
    value, gradient, hessian = mp_reference(X, y, beta)
    for path in (1, 2):
        ours = run_binary(X, y, beta, path=path)
        assert ours[0][0] == pytest.approx(value, rel=1e-13)
        np.testing.assert_allclose(ours[1], gradient, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(ours[2], hessian, rtol=1e-10)


@pytest.mark.parametrize("spread, paths", [(20.0, (0, 1, 2)), (250.0, (0, 1, 2)), (3000.0, (0, 2))])
def test_extreme_linear_predictors_against_mpmath(spread, paths):
    """Linear predictors spanning about 40, 500 (both paths) and 6000 (log space only: exp overflows a double)."""
    rng = np.random.default_rng(int(spread))
    m, t = 60, 25
    X = np.column_stack([np.linspace(-1, 1, m), 0.1 * rng.normal(size=m)])
    y = (rng.permutation(m) < t).astype(float)
    beta = np.array([spread, 0.3])
    value, gradient, hessian = mp_reference(X, y, beta, dps=60)
    for path in paths:
        ours = run_binary(X, y, beta, path=path)
        assert ours[0][0] == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(ours[1], gradient, rtol=1e-9, atol=1e-12 * spread)
        np.testing.assert_allclose(ours[2], hessian, rtol=1e-8, atol=1e-10 * np.abs(hessian).max())


def run_poisson(X, y, beta, starts, order=2):
    n, p = X.shape
    eta, group_llf = np.empty(n), np.empty(len(starts) - 1)
    gradient, hessian = np.empty(p), np.empty((p, p))
    work = np.empty(int(np.diff(starts).max()) + 2 * p)
    status = kernel.poisson_loglik(np.ascontiguousarray(X), np.zeros(n), beta, y, np.asarray(starts, np.intp), order,
                                   eta, group_llf, gradient, hessian, work)
    assert status == 0
    return group_llf, gradient, hessian


def test_poisson_kernel_against_twin():
    rng = np.random.default_rng(8)
    sizes = rng.integers(2, 9, size=12)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    n, p = starts[-1], 3
    X, beta = rng.normal(size=(n, p)), rng.normal(size=p)
    y = rng.poisson(3.0, size=n).astype(float)
    values, gradient, hessian = run_poisson(X, y, beta, starts)
    total_gradient, total_hessian = np.zeros(p), np.zeros((p, p))
    for g in range(sizes.size):
        rows = slice(starts[g], starts[g + 1])
        x, counts = X[rows], y[rows]
        eta = x @ beta
        prob = np.exp(eta - eta.max()) / np.exp(eta - eta.max()).sum()
        assert values[g] == pytest.approx(float(counts @ np.log(prob)) if counts.sum() else 0.0, rel=1e-12, abs=1e-13)
        mean = prob @ x
        total_gradient += counts @ x - counts.sum() * mean
        total_hessian -= counts.sum() * (x - mean).T @ (prob[:, None] * (x - mean))
    np.testing.assert_allclose(gradient, total_gradient, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hessian, total_hessian, rtol=1e-12)


@pytest.mark.parametrize("key", ["infert_factor", "longitudinal", "epil_interaction", "epil_period"])
def test_gradient_and_hessian_against_central_differences(key):
    objective = fitted(key)[0].objective
    rng = np.random.default_rng(1)
    beta = rng.normal(scale=0.5, size=objective.n_params)
    _, gradient, hessian = objective.loglik(beta)
    h = 1e-5
    for r in range(objective.n_params):
        e = np.zeros(objective.n_params)
        e[r] = h
        plus, minus = objective.loglik(beta + e), objective.loglik(beta - e)
        assert gradient[r] == pytest.approx((plus[0] - minus[0]) / (2 * h), rel=1e-6, abs=1e-6)
        np.testing.assert_allclose(hessian[:, r], (plus[1] - minus[1]) / (2 * h), rtol=1e-6, atol=1e-6)


def test_objective_value_includes_multinomial_constant():
    """The Poisson llf is sum_i log P(y_i | n_i): at beta = 0, p_j = 1 / m_i, so it is
    sum_i [log n_i! - sum_j log y_j! - n_i log m_i]."""
    from scipy.special import gammaln

    result, _ = fitted("epil")
    data = load("epilepsy")
    totals = data.groupby("subject").y.agg(["sum", "size"])
    totals = totals[totals["sum"] > 0]
    used = data[data.subject.isin(totals.index)]
    expected = (gammaln(totals["sum"] + 1).sum() - gammaln(used.y + 1).sum()
                - (totals["sum"] * np.log(totals["size"])).sum())
    assert result.llnull == pytest.approx(expected, rel=1e-12)
    assert isinstance(result.objective, ConditionalObjective)


def test_iv_returns_centred_design():
    family, max_iter, group, groups = _conditional_iv("case ~ spontaneous + induced", load("infert"), "stratum",
                                                      "binomial", 10)
    assert (family, max_iter, group) == ("binomial", 10, "stratum")
    sums = np.add.reduceat(groups.X, groups.starts[:-1], axis=0)
    np.testing.assert_allclose(sums, 0.0, atol=1e-12)
    assert groups.names == ["spontaneous", "induced"] and groups.ngroups == 83
