"""Results of the issue-19 model classes (quadlib.glmm._result.GLMMResult): the parameter blocks beyond beta
(zi~, disp~, thresholds, family_params), their covariance, summary rows, predictions of the zero-inflated
mean and probability, simulation, and pickling. Expected values are computed by numpy from the fitted
parameters (never by the method under test).
"""
import pickle

import numpy as np
import pandas as pd
import pytest

from quadlib.glmm import build_design, make_objective


def crossed_poisson_data():
    rng = np.random.default_rng(7)
    data = pd.DataFrame({"a": np.repeat(list("abcdefgh"), 8), "b": np.tile(list("stuvwxyz"), 8)})
    data["y"] = rng.poisson(2.0, 64)
    return data


def test_pickled_blocked_objective_keeps_its_value():
    """A BlockedFactor's diagonal views are remade on unpickling (they were stale copies: a crossed fit's
    objective, pickled inside a result to a Dask worker, gave another log-likelihood)."""
    objective = make_objective(build_design("y ~ 1 + (1 | a) + (1 | b)", crossed_poisson_data()), "poisson")
    x = np.array([0.7, 0.3, 0.2])
    value = objective(x)
    fresh = pickle.loads(pickle.dumps(make_objective(objective.design, "poisson")))
    assert fresh(x) == pytest.approx(value, abs=1e-10)
    used = pickle.loads(pickle.dumps(objective))
    assert used(x) == pytest.approx(value, abs=1e-10)


# ------------------------------------------------------------------------------------------------ helpers
import math
import warnings

from scipy import special

from quadlib.glmm import GLMMResult, OptimizeOutcome, datasets
from quadlib.glmm._result import _Held

Z975 = 1.959963984540054


def result_at(objective, x, seed=0):
    """A GLMMResult of `objective` at the chosen parameters `x` with a known covariance: the outcome's Hessian
    is -(A A' + I) (A seeded), so the covariance of x is inv(A A' + I), computed here by numpy."""
    x = np.asarray(x, dtype=float)
    rng = np.random.default_rng(seed)
    A = rng.normal(scale=0.3, size=(x.size, x.size))
    precision = A @ A.T + np.eye(x.size)
    outcome = OptimizeOutcome(x, float(objective(x)), np.zeros(x.size), -precision, np.ones(x.size, bool), True,
                              "converged", 0)
    return GLMMResult(objective, outcome, "Laplace Approximation", objective.design.formula), np.linalg.inv(precision)


def salamanders_zi(family="poisson", ziformula="~ mined"):
    data = datasets.load("salamanders")
    design = build_design("count ~ mined + (1 | site)", data, ziformula=ziformula)
    return data, make_objective(design, family)


def mined_dummy(frame):
    return (frame["mined"].astype(str) == "no").to_numpy(float)


# ------------------------------------------------------------------------------------------------ zero-inflation
def test_zi_params_names_order_and_covariance():
    data, objective = salamanders_zi()
    x = np.array([-1.2, 2.0, 0.6, 0.9, -1.9])      # (Intercept), minedno, sd(site), zi~(Intercept), zi~minedno
    res, cov = result_at(objective, x)
    assert list(res.params.index) == ["(Intercept)", "minedno", "zi~(Intercept)", "zi~minedno"]
    np.testing.assert_array_equal(res.params.to_numpy(), x[[0, 1, 3, 4]])
    # reported order: params, then theta; the covariance permuted so (no Jacobian beyond a permutation)
    order = [0, 1, 3, 4, 2]
    np.testing.assert_allclose(res.covariance, cov[np.ix_(order, order)], rtol=1e-12)
    np.testing.assert_allclose(res.x_covariance, cov, rtol=1e-12)
    np.testing.assert_allclose(res.bse.to_numpy(), np.sqrt(np.diag(cov))[[0, 1, 3, 4]], rtol=1e-12)
    ci = res.conf_int()
    np.testing.assert_allclose(ci["lower"].to_numpy(), x[[0, 1, 3, 4]] - Z975 * np.sqrt(np.diag(cov))[[0, 1, 3, 4]],
                               rtol=1e-12)
    assert res.dispersion is None and res.family_params == {} and res.df_modelwc == 5
    text = res.summary()
    assert "zi~(Intercept)" in text and "zi~minedno" in text


def test_predict_zero_inflated_by_hand():
    data, objective = salamanders_zi()
    x = np.array([-1.2, 2.0, 0.6, 0.9, -1.9])
    res, _ = result_at(objective, x)
    b = res.random_effects["site"]["(Intercept)"]
    eta = x[0] + x[1] * mined_dummy(data) + b.loc[data["site"].astype(str)].to_numpy()
    pi = special.expit(x[3] + x[4] * mined_dummy(data))
    np.testing.assert_allclose(res.predict().to_numpy(), eta, rtol=1e-12)
    np.testing.assert_allclose(res.predict(type="conditional").to_numpy(), np.exp(eta), rtol=1e-12)
    np.testing.assert_allclose(res.predict(type="zprob").to_numpy(), pi, rtol=1e-12)
    np.testing.assert_allclose(res.predict(type="response").to_numpy(), (1 - pi) * np.exp(eta), rtol=1e-12)
    # new rows, population level: the zero-inflation model evaluated on them
    new = data.iloc[[3, 100, 400, 640]]
    eta_new = x[0] + x[1] * mined_dummy(new)
    pi_new = special.expit(x[3] + x[4] * mined_dummy(new))
    got = res.predict(new, type="response", re=False)
    assert list(got.index) == list(new.index)
    np.testing.assert_allclose(got.to_numpy(), (1 - pi_new) * np.exp(eta_new), rtol=1e-12)
    np.testing.assert_allclose(res.predict(new, type="zprob").to_numpy(), pi_new, rtol=1e-12)


def test_predict_hurdle_by_hand():
    data, objective = salamanders_zi("truncated_poisson")
    x = np.array([-0.1, 1.0, 0.3, 1.7, -2.4])
    res, _ = result_at(objective, x)
    eta = res.predict().to_numpy()
    mu = np.exp(eta)
    pi = special.expit(x[3] + x[4] * mined_dummy(data))
    np.testing.assert_allclose(res.predict(type="response").to_numpy(), (1 - pi) * mu / -np.expm1(-mu), rtol=1e-12)
    np.testing.assert_allclose(res.predict(type="conditional").to_numpy(), mu, rtol=1e-12)


def test_predict_type_errors():
    res, _ = result_at(make_objective(build_design("count ~ mined + (1 | site)", datasets.load("salamanders")),
                                      "poisson"), [-1.0, 2.0, 0.5])
    with pytest.raises(ValueError, match="`type`: 'zprob' needs a model with a `ziformula`"):
        res.predict(type="zprob")
    with pytest.raises(ValueError, match="`type`"):
        res.predict(type="mean")
    # a plain model: "response" is the inverse link, as before
    np.testing.assert_allclose(res.predict(type="response").to_numpy(), np.exp(res.predict().to_numpy()))


def test_simulate_zero_inflated():
    """No random-effect variance (sd 0): each row is 0 with probability pi + (1 - pi) exp(-mu), its mean
    (1 - pi) mu; 4000 draws, within 5 standard errors."""
    data, objective = salamanders_zi()
    x = np.array([-0.5, 1.5, 0.0, 0.4, -1.0])
    res, _ = result_at(objective, x)
    draws = res.simulate(4000, seed=1)
    assert draws.shape == (644, 4000)
    rows = data.iloc[objective.design.rows]     # simulate's rows are in the design's order
    mu = np.exp(x[0] + x[1] * mined_dummy(rows))
    pi = special.expit(x[3] + x[4] * mined_dummy(rows))
    for mask in (mined_dummy(rows) == 0, mined_dummy(rows) == 1):
        p0 = float((pi + (1 - pi) * np.exp(-mu))[mask][0])
        zeros = float(np.mean(draws[mask] == 0))
        assert abs(zeros - p0) < 5 * math.sqrt(p0 * (1 - p0) / draws[mask].size)
        mean = float(((1 - pi) * mu)[mask][0])
        var = float(((1 - pi) * mu * (1 + pi * mu))[mask][0])
        assert abs(draws[mask].mean() - mean) < 5 * math.sqrt(var / draws[mask].size)


# ------------------------------------------------------------------------------------------------ dispersion model
def test_dispersion_model_params_and_per_row_simulation():
    """gaussian with disp~Days: s_i = log sigma_i = g0 + g1 Days_i; sd(Subject) 0: each row's simulated SD is
    its sigma_i."""
    data = datasets.load("sleepstudy")
    objective = make_objective(build_design("Reaction ~ Days + (1 | Subject)", data, dispformula="~ Days"),
                               "gaussian")
    x = np.array([250.0, 10.0, 0.0, 2.5, 0.15])
    res, cov = result_at(objective, x)
    assert list(res.params.index) == ["(Intercept)", "Days", "disp~(Intercept)", "disp~Days"]
    np.testing.assert_allclose(res.covariance[:4, :4], cov[np.ix_([0, 1, 3, 4], [0, 1, 3, 4])], rtol=1e-12)
    assert res.dispersion is None and math.isnan(res.sigma)
    assert "Residual" not in res.summary()
    draws = res.simulate(3000, seed=2)
    days = data["Days"].to_numpy()[objective.design.rows]     # simulate's rows are in the design's order
    sigma = np.exp(x[3] + x[4] * days)
    for day in (0, 9):
        rows = days == day
        sd = draws[rows].std(axis=1, ddof=1)
        np.testing.assert_allclose(sd, sigma[rows], rtol=0.1)
        assert abs(np.mean(sd / sigma[rows]) - 1) < 0.02


# ------------------------------------------------------------------------------------------------ shapes
def test_tweedie_power_reported_with_delta_method():
    data = datasets.load("owls")
    objective = make_objective(build_design("NegPerChick ~ FoodTreatment + (1 | Nest)", data), "tweedie")
    assert objective.names[-2:] == ["log(phi)", "logit(power - 1)"]
    x = np.array([0.7, -0.9, 0.3, 0.28, -0.87])
    res, cov = result_at(objective, x)
    power = 1 + special.expit(x[4])
    assert res.family_params == {"power": pytest.approx(power, rel=1e-14)}
    assert res.dispersion == pytest.approx(math.exp(x[3]), rel=1e-14)
    assert list(res.params.index) == ["(Intercept)", "FoodTreatmentSatiated"]
    # reported: params, theta, log(phi), power; power's variance by the delta method
    slope = special.expit(x[4]) * (1 - special.expit(x[4]))
    assert res.covariance[4, 4] == pytest.approx(slope ** 2 * cov[4, 4], rel=1e-12)
    assert res.covariance[0, 4] == pytest.approx(slope * cov[0, 4], rel=1e-12)
    text = res.summary()
    assert f" power = {power:.6g}" in text and f" phi = {math.exp(x[3]):.6g}" in text


def test_student_t_df_reported():
    data = datasets.load("sleepstudy")
    objective = make_objective(build_design("Reaction ~ Days + (1 | Subject)", data), "student_t")
    x = np.array([251.0, 10.7, 30.0, 2.67, 1.06])
    res, _ = result_at(objective, x)
    assert res.family_params == {"df": pytest.approx(math.exp(1.06), rel=1e-14)}
    assert res.sigma == pytest.approx(math.exp(2.67), rel=1e-14)
    assert f" df = {math.exp(1.06):.6g}" in res.summary()


# ------------------------------------------------------------------------------------------------ ordinal
def wine_result():
    data = datasets.load("wine")
    objective = make_objective(build_design("rating ~ temp + contact + (1 | judge)", data, response="ordinal"),
                               "ordinal")
    alpha = np.array([-1.6, math.log(3.1), math.log(2.7), math.log(1.9)])
    x = np.concatenate([[3.06, 1.83, 1.13], alpha])
    res, cov = result_at(objective, x)
    return data, res, cov, x


def test_ordinal_thresholds_first_with_delta_method():
    data, res, cov, x = wine_result()
    alpha = x[3:]
    thresholds = alpha[0] + np.concatenate([[0.0], np.cumsum(np.exp(alpha[1:]))])
    assert list(res.params.index) == ["1|2", "2|3", "3|4", "4|5", "tempwarm", "contactyes"]
    np.testing.assert_allclose(res.params.to_numpy()[:4], thresholds, rtol=1e-14)
    # d theta / d alpha: ones in the first column, exp(alpha_k) in rows j >= k
    J = np.zeros((4, 7))
    J[:, 3] = 1.0
    for j in range(4):
        for k in range(1, j + 1):
            J[j, 3 + k] = math.exp(alpha[k])
    full = np.vstack([J, np.eye(7)[[0, 1]]])
    np.testing.assert_allclose(res.cov_params().to_numpy(), full @ cov @ full.T, rtol=1e-12)
    text = res.summary()
    assert "1|2" in text and "tempwarm" in text


def test_ordinal_predict_probabilities_by_hand():
    data, res, _, x = wine_result()
    alpha = x[3:]
    thresholds = alpha[0] + np.concatenate([[0.0], np.cumsum(np.exp(alpha[1:]))])
    eta = res.predict().to_numpy()
    b = res.random_effects["judge"]["(Intercept)"]
    warm = (data["temp"].astype(str) == "warm").to_numpy(float)
    yes = (data["contact"].astype(str) == "yes").to_numpy(float)
    np.testing.assert_allclose(eta, x[0] * warm + x[1] * yes + b.loc[data["judge"].astype(str)].to_numpy(),
                               rtol=1e-12, atol=1e-12)
    F = special.expit(thresholds[None, :] - eta[:, None])
    expected = np.diff(np.hstack([np.zeros((len(eta), 1)), F, np.ones((len(eta), 1))]), axis=1)
    got = res.predict(type="response")
    assert list(got.columns) == ["1", "2", "3", "4", "5"]
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12, atol=1e-15)
    for kind in ("conditional", "zprob"):
        with pytest.raises(ValueError, match="does not apply to an ordinal model"):
            res.predict(type=kind)


def test_marginal_refused_for_zi_and_ordinal():
    _, res, _, _ = wine_result()
    with pytest.raises(ValueError, match="not defined for an ordinal model"):
        res.marginal_coefs()
    _, objective = salamanders_zi()
    zi, _ = result_at(objective, [-1.2, 2.0, 0.6, 0.9, -1.9])
    with pytest.raises(ValueError, match="zero-inflated or hurdle"):
        zi.marginal_coefs()
    with pytest.raises(ValueError, match="zero-inflated or hurdle"):
        zi.marginal_moments()


# ------------------------------------------------------------------------------------------------ profiles
class _Quadratic:
    """A smooth stand-in objective with its exact gradient: -(x - c)' Q (x - c) / 2 + sum sin(x)."""

    def __init__(self, k, seed=3):
        rng = np.random.default_rng(seed)
        A = rng.normal(size=(k, k))
        self.Q, self.c = A @ A.T + np.eye(k), rng.normal(size=k)
        self.n_params, self.names, self.bounds = k, [f"x{j}" for j in range(k)], [(None, None)] * k
        self.layout, self.evaluations = None, 0

    def log_likelihood(self, x):
        r = x - self.c
        return float(-0.5 * r @ self.Q @ r + np.sum(np.sin(x)))

    __call__ = log_likelihood

    def value_and_gradient(self, x):
        return self.log_likelihood(x), -self.Q @ (x - self.c) + np.cos(x)


def test_held_threshold_objective_value_and_gradient():
    """The profile's objective for threshold 3|4 held at v: alpha_1 = v - exp(alpha_2) - exp(alpha_3), the
    other coordinates free; its value is the model's at the full vector, its gradient (chain rule) matches
    central differences of its value."""
    _, res, _, x = wine_result()
    thresholds = res.params.to_numpy()[:4]
    held = _Held(res.objective, 3, thresholds[2], (4, 5))
    z = np.delete(x, 3)
    np.testing.assert_allclose(held.full(z), x, rtol=1e-14)
    assert held(z) == pytest.approx(res.objective(x), abs=1e-12)
    assert held.names == [n for j, n in enumerate(res.objective.names) if j != 3]
    stand_in = _Held(_Quadratic(7), 3, 0.4, (4, 5))
    z = np.linspace(-0.5, 0.5, 6)
    value, grad = stand_in.value_and_gradient(z)
    for k in range(z.size):
        e = np.zeros(z.size)
        e[k] = 1e-6
        assert grad[k] == pytest.approx((stand_in(z + e) - stand_in(z - e)) / 2e-6, abs=1e-7)


def test_profile_of_a_zi_coefficient_peaks_at_the_estimate():
    data, objective = salamanders_zi(ziformula="~ 1")
    from quadlib.glmm import optimize

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = optimize(objective)
    res = GLMMResult(objective, outcome, "Laplace Approximation", objective.design.formula)
    profiles = dict(zip(res.params.index, res._profiles()))
    llf, estimate, se, llf_max = profiles["zi~(Intercept)"]
    assert estimate == res.params["zi~(Intercept)"] and se == res.bse["zi~(Intercept)"]
    assert llf(estimate) == pytest.approx(llf_max, abs=1e-6)
    assert llf(estimate + se) < llf_max - 0.3


def test_zi_result_pickles():
    _, objective = salamanders_zi()
    res, _ = result_at(objective, [-1.2, 2.0, 0.6, 0.9, -1.9])
    back = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(back.predict(type="response").to_numpy(), res.predict(type="response").to_numpy())
    assert list(back.params.index) == list(res.params.index)


def test_predict_hurdle_nb2_with_dispersion_model_on_new_rows():
    """Truncated NB2 hurdle with disp~mined: E[y] = (1 - pi) mu / (1 - (theta / (theta + mu))^theta), theta per
    row from the dispersion model, evaluated on new rows."""
    data = datasets.load("salamanders")
    design = build_design("count ~ mined + (1 | site)", data, ziformula="~ mined", dispformula="~ mined")
    objective = make_objective(design, "truncated_negative_binomial")
    assert objective.names[-4:] == ["zi~(Intercept)", "zi~minedno", "disp~(Intercept)", "disp~minedno"]
    x = np.array([-0.3, 1.1, 0.2, 1.7, -2.4, 0.4, 0.3])
    res, _ = result_at(objective, x)
    assert list(res.params.index) == ["(Intercept)", "minedno", "zi~(Intercept)", "zi~minedno", "disp~(Intercept)",
                                      "disp~minedno"]
    new = data.iloc[[0, 5, 300, 600]]
    m = mined_dummy(new)
    mu = np.exp(x[0] + x[1] * m)
    pi = special.expit(x[3] + x[4] * m)
    theta = np.exp(x[5] + x[6] * m)
    expected = (1 - pi) * mu / (1 - (theta / (theta + mu)) ** theta)
    np.testing.assert_allclose(res.predict(new, type="response", re=False).to_numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(res.predict(new, type="conditional", re=False).to_numpy(), mu, rtol=1e-12)


def test_simulate_hurdle_and_ordinal():
    """Hurdle: 0 with probability pi exactly, else a draw of the truncated family (>= 1). Ordinal: codes 1..K
    with the category probabilities (sd(judge) 0), within 5 standard errors."""
    data, objective = salamanders_zi("truncated_poisson")
    x = np.array([-0.1, 1.0, 0.0, 1.7, -2.4])
    res, _ = result_at(objective, x)
    draws = res.simulate(400, seed=4)
    rows = data.iloc[objective.design.rows]
    pi = special.expit(x[3] + x[4] * mined_dummy(rows))
    for mask in (mined_dummy(rows) == 0, mined_dummy(rows) == 1):
        p = float(pi[mask][0])
        assert abs(np.mean(draws[mask] == 0) - p) < 5 * math.sqrt(p * (1 - p) / draws[mask].size)
    assert np.all(draws[draws != 0] >= 1)
    wine = datasets.load("wine")
    objective = make_objective(build_design("rating ~ temp + (1 | judge)", wine, response="ordinal"), "ordinal")
    alpha = np.array([-1.0, 0.5, 0.2, 0.1])
    res, _ = result_at(objective, np.concatenate([[2.0, 0.0], alpha]))
    draws = res.simulate(2000, seed=5)
    assert set(np.unique(draws)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    thresholds = alpha[0] + np.concatenate([[0.0], np.cumsum(np.exp(alpha[1:]))])
    warm = (wine["temp"].astype(str) == "warm").to_numpy()[objective.design.rows]
    for eta, mask in ((0.0, ~warm), (2.0, warm)):
        probabilities = np.diff(np.concatenate([[0.0], special.expit(thresholds - eta), [1.0]]))
        for k, p in enumerate(probabilities, start=1):
            share = np.mean(draws[mask] == k)
            assert abs(share - p) < 5 * math.sqrt(p * (1 - p) / draws[mask].size) + 1e-12


# ------------------------------------------------------------------------------------------------ vs glmmTMB
def _glmmtmb(key):
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "reference" / "issue19_reference.json"
    entry = json.loads(path.read_text())[key]
    names = np.array(entry["par_names"]).ravel()
    par = np.array(entry["par"], dtype=float).ravel()
    se = np.array(list(entry["se_par"].values()), dtype=float)
    return entry, names, par, se


@pytest.mark.parametrize("key, formula, family, options", [
    ("sal_zip", "count ~ spp + mined + (1 | site)", "poisson", {"ziformula": "~ spp + mined"}),
    ("owls_nb2_disp", "SiblingNegotiation ~ FoodTreatment * SexParent + offset(logBroodSize) + (1 | Nest)",
     "negative_binomial", {"dispformula": "~ FoodTreatment"}),
    ("owls_tweedie", "NegPerChick ~ FoodTreatment * SexParent + (1 | Nest)", "tweedie", {}),
])
def test_reported_blocks_match_glmmtmb(key, formula, family, options):
    """The result's params (beta, zi~, disp~), their SEs and family_params against glmmTMB's sdreport
    (issue19_reference.json; same scales: log link coefficients, logit zi, log theta), to the contract's
    1e-5 / 1e-3 relative."""
    from quadlib.glmm import fit

    data = datasets.load("salamanders" if key.startswith("sal") else "owls")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit(formula, data, family=family, **options)
    entry, names, par, se = _glmmtmb(key)
    blocks = ["beta", "betazi"] + (["betad"] if "dispformula" in options else [])
    keep = np.isin(names, blocks)
    order = np.concatenate([np.flatnonzero(names == b) for b in blocks])   # glmmTMB: beta, betazi, betad
    assert abs(res.llf - entry["logLik"]) < 1e-6 * abs(entry["logLik"])
    np.testing.assert_allclose(res.params.to_numpy(), par[order], atol=1e-5)
    np.testing.assert_allclose(res.bse.to_numpy(), se[order], rtol=1e-3)
    assert keep.sum() == len(res.params)
    if family == "tweedie":
        assert res.family_params["power"] == pytest.approx(1 + special.expit(par[names == "psi"][0]), abs=1e-5)
        assert math.log(res.dispersion) == pytest.approx(par[names == "betad"][0], abs=1e-5)


def test_predict_interval_response_refused_where_the_mean_is_not_h_eta():
    data, objective = salamanders_zi()
    res, cov = result_at(objective, [-1.2, 2.0, 0.6, 0.9, -1.9])
    new = data.iloc[[0, 400]]
    with pytest.raises(ValueError, match="`type`: 'response' intervals are not available"):
        res.predict_interval(new)
    frame = res.predict_interval(new, type="link", parameter_uncertainty=True)
    m = mined_dummy(new)
    X = np.column_stack([np.ones(2), m])
    var = 0.6 ** 2 + np.einsum("np,pr,nr->n", X, cov[:2, :2], X)     # z'Dz + x' Cov(beta) x
    np.testing.assert_allclose(frame["fit"].to_numpy(), -1.2 + 2.0 * m, rtol=1e-12)
    np.testing.assert_allclose(frame["upper"].to_numpy(), -1.2 + 2.0 * m + Z975 * np.sqrt(var), rtol=1e-12)


def test_transformed_covariance_blanks_only_what_depends_on_a_parameter_without_variance():
    """A parameter at a bound has NaN in its row and its column; the others keep their (co)variances
    (regression: the row test saw a NaN in every row and blanked the whole matrix)."""
    from quadlib.glmm._inference import transformed_covariance

    cov = np.array([[np.nan, np.nan, np.nan], [np.nan, 4.0, 1.0], [np.nan, 1.0, 9.0]])
    J = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
    out = transformed_covariance(J, cov)
    assert np.all(np.isnan(out[0])) and np.all(np.isnan(out[:, 0]))
    np.testing.assert_array_equal(out[1:, 1:], [[16.0, 2.0], [2.0, 9.0]])
