"""The parametric bootstrap (issue 20, design note section 2): quadlib.glmm._bootstrap and the refit mode of
quadlib.glmm.optimize.

References: lme4's bootMer / confint(method = "boot") and pbkrtest's PBmodcomp on cbpp
(tests/reference/issue20_reference.json, compared within Monte Carlo error: the random number generators
differ), scipy.stats.bootstrap's BCa (an independent implementation) and closed forms (the exponential
mean's acceleration 1/(3 sqrt(n)); PBtest's (1 + #{T* >= T}) / (1 + n))."""
import json
import math
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from quadlib.glmm import ConvergenceWarning, datasets, fit, lmm, optimize
from quadlib.glmm._bootstrap import (BootstrapResult, RefitOutcome, bootstrap, bootstrap_interval, bootstrap_lrt,
                                     jackknife_acceleration, skewness_acceleration)
from quadlib.glmm._optimize import GLMM_OPTIONS, REFIT_OPTIONS, canonical_theta

REFERENCE = json.loads((Path(__file__).resolve().parents[1] / "reference" / "issue20_reference.json").read_text())
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


@pytest.fixture(scope="module")
def cbpp():
    return fit(CBPP, datasets.load("cbpp"), family="binomial")


@pytest.fixture(scope="module")
def cbpp0():
    return fit("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", datasets.load("cbpp"), family="binomial")


@pytest.fixture(scope="module")
def sleep():
    return lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))


# ---------------------------------------------------------------------------------------------------------
# the refit mode of optimize
# ---------------------------------------------------------------------------------------------------------
def test_refit_mode_equals_full_optimize_on_20_cbpp_replicates(cbpp):
    obj, d = cbpp.objective, cbpp.objective.design
    Y = cbpp.simulate(20, seed=1)
    evaluations = []
    for k in range(20):
        full = optimize(obj.rebuild(replace(d, response=Y[:, k])), cbpp.x,
                        options=replace(GLMM_OPTIONS, warn=False))
        quick_objective = obj.rebuild(replace(d, response=Y[:, k]))
        quick = optimize(quick_objective, cbpp.x, options=REFIT_OPTIONS, inverse_hessian=cbpp.x_covariance)
        assert quick.converged and full.converged
        np.testing.assert_allclose(quick.x, full.x, rtol=0, atol=1e-5)
        assert abs(quick.llf - full.llf) < 1e-8
        assert np.max(np.abs(quick.gradient)) < 1e-6   # its own convergence rule
        assert np.all(np.isnan(quick.hessian))            # no final Hessian
        evaluations.append(quick_objective.evaluations)
        assert quick.x[-1] >= 0   # replicate 0 (SD 0.084, via a restart off 0) once ended at -0.084
    # the refit's evaluations: well below a full fit's ~27 plus its Hessian's (replicate 0 restarts off SD 0)
    assert np.mean(evaluations) <= 14 and max(evaluations) <= 40


def test_refit_mode_restarts_off_a_zero_standard_deviation(cbpp):
    # from the estimate with the herd SD at 0 the gradient along it is 0 (the likelihood is even in it):
    # the refit must leave the bound and reach the optimum
    start = cbpp.x.copy()
    start[-1] = 0.0
    out = optimize(cbpp.objective, start, options=REFIT_OPTIONS, inverse_hessian=cbpp.x_covariance)
    assert out.converged
    np.testing.assert_allclose(out.x, cbpp.x, atol=1e-5)


def test_refit_mode_start_gradient_is_the_score_at_the_start(cbpp):
    out = optimize(cbpp.objective, cbpp.x + 0.01, options=REFIT_OPTIONS, inverse_hessian=cbpp.x_covariance)
    np.testing.assert_allclose(out.start_gradient, cbpp.objective.value_and_gradient(cbpp.x + 0.01)[1], rtol=1e-12)


def test_refit_mode_without_inverse_hessian(cbpp):
    out = optimize(cbpp.objective, cbpp.x + 0.05, options=REFIT_OPTIONS)
    assert out.converged
    np.testing.assert_allclose(out.x, cbpp.x, atol=1e-5)


def test_canonical_theta_flips_a_column():
    class Block:   # a 2 x 2 factor: theta = (L11, L21, L22) at positions 1..3
        theta = slice(1, 4)
        rows = np.array([0, 1, 1])
        cols = np.array([0, 0, 1])
        diagonal = rows == cols

    class Objective:
        class layout:
            blocks = [Block()]

    x = np.array([5.0, -2.0, 0.5, -3.0])
    L = np.array([[-2.0, 0.0], [0.5, -3.0]])
    y = canonical_theta(Objective(), x)
    np.testing.assert_array_equal(y, [5.0, 2.0, -0.5, 3.0])
    M = np.array([[y[1], 0.0], [y[2], y[3]]])
    np.testing.assert_allclose(M @ M.T, L @ L.T)   # the covariance is unchanged


def test_refit_mode_input_validation(cbpp):
    with pytest.raises(ValueError, match="`inverse_hessian` must have shape"):
        optimize(cbpp.objective, cbpp.x, options=REFIT_OPTIONS, inverse_hessian=np.eye(3))
    with pytest.raises(ValueError, match="`inverse_hessian` is for the refit mode"):
        optimize(cbpp.objective, cbpp.x, inverse_hessian=np.eye(5))
    with pytest.raises(ValueError, match="`inverse_hessian` must be finite and symmetric"):
        optimize(cbpp.objective, cbpp.x, options=REFIT_OPTIONS, inverse_hessian=np.triu(np.ones((5, 5))))
    with pytest.raises(ValueError, match="`mode` must be"):
        replace(GLMM_OPTIONS, mode="fast")
    with pytest.raises(ValueError, match="refit mode is a gradient method"):
        optimize(cbpp.objective, cbpp.x, optimizer="BFGS", options=REFIT_OPTIONS)


# ---------------------------------------------------------------------------------------------------------
# intervals
# ---------------------------------------------------------------------------------------------------------
def test_percentile_and_basic_by_hand():
    rng = np.random.default_rng(0)
    draws = rng.normal(size=999)
    draws[[3, 7]] = np.nan   # failed replicates are dropped
    ok = draws[np.isfinite(draws)]
    lower, upper = np.percentile(ok, [2.5, 97.5])   # type 7
    assert bootstrap_interval(draws, 0.1, 0.05, "percentile") == pytest.approx((lower, upper), abs=1e-15)
    assert bootstrap_interval(draws, 0.1, 0.05, "basic") == pytest.approx((0.2 - upper, 0.2 - lower), abs=1e-15)
    # type 7 on 1..5 at 10 %: 1 + 0.4 = 1.4
    assert bootstrap_interval([5, 4, 3, 2, 1], 3.0, 0.2, "percentile") == pytest.approx((1.4, 4.6))


def test_bca_equals_scipy_with_the_same_jackknife_acceleration():
    rng = np.random.default_rng(1)
    data = rng.exponential(size=30)
    res = stats.bootstrap((data,), np.mean, n_resamples=2000, method="BCa", confidence_level=0.9,
                          random_state=np.random.default_rng(2))
    jack = np.array([np.delete(data, i).mean() for i in range(data.size)])
    a = jackknife_acceleration(jack)   # scipy's jackknife acceleration, written out below
    d = jack.mean() - jack
    assert a == pytest.approx(np.sum(d ** 3) / (6 * np.sum(d ** 2) ** 1.5), rel=1e-14)
    ours = bootstrap_interval(res.bootstrap_distribution, data.mean(), 0.1, "bca", a)
    np.testing.assert_allclose(ours, [res.confidence_interval.low, res.confidence_interval.high], rtol=1e-12)
    # a = 0, z0 = 0 is the percentile interval
    sym = np.concatenate([-np.arange(1, 500.0), [0.0], np.arange(1, 500.0)])
    assert bootstrap_interval(sym, 0.0, 0.1, "bca", 0.0) == pytest.approx(bootstrap_interval(sym, 0.0, 0.1,
                                                                                             "percentile"))


class _ExponentialMean:
    """A model with a closed form: n i.i.d. exponential observations, mean mu, the MLE the sample mean; the
    refitter protocol of quadlib.glmm._bootstrap. BCa's acceleration of mu is 1/(3 sqrt(n))."""

    names = ["mu"]

    def __init__(self, y):
        self.y = np.asarray(y, float)
        self.n = self.y.size
        self.mu = self.y.mean()
        self.estimate = np.array([self.mu])
        self.rows = np.arange(self.n)

    def simulate(self, seed):
        return np.random.default_rng(seed).exponential(self.mu, self.n)

    def refit(self, y):
        score = np.array([np.sum(y / self.mu ** 2 - 1 / self.mu)])   # at the original estimate
        return RefitOutcome(np.array([y.mean()]), float(-self.n * np.log(y.mean()) - self.n), True, score)

    def statistic(self, outcome):
        return outcome.x

    def statistic_jacobian(self):
        return np.eye(1)

    def covariance(self):
        return np.array([[self.mu ** 2 / self.n]])


def test_score_based_acceleration_has_the_exponential_closed_form():
    n = 25
    model = _ExponentialMean(np.random.default_rng(3).exponential(2.0, n))
    boot = bootstrap(model, 20000, seed=4, workers=1, progress=False)
    a = boot.acceleration()["mu"]
    # 1/(3 sqrt(25)) = 0.0667; the sample skewness of 20,000 Gamma(25) sums has SE ~ 0.025 (a: 0.004)
    assert a == pytest.approx(1 / (3 * math.sqrt(n)), abs=0.012)
    # the score-based formula uses moments: the same skewness from sums would shrink with the replicates
    assert skewness_acceleration(boot.scores[:, 0]) == pytest.approx(a, rel=1e-12)
    lower, upper = boot.conf_int(kind="bca").loc["mu"]
    assert (lower, upper) == pytest.approx(bootstrap_interval(boot.draws["mu"], model.mu, 0.05, "bca", a))
    # the exact interval of an exponential mean, 2 n ybar / chi2_{2n}: BCa is second-order right here
    exact = 2 * n * model.mu / stats.chi2.ppf([0.975, 0.025], 2 * n)
    np.testing.assert_allclose([lower, upper], exact, rtol=0.03)


# ---------------------------------------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------------------------------------
def test_bootstrap_input_validation(cbpp):
    with pytest.raises(ValueError, match="`n` must be a positive integer, got 0"):
        bootstrap(cbpp, 0)
    with pytest.raises(ValueError, match="`n` must be a positive integer, got -3"):
        bootstrap(cbpp, -3)
    with pytest.raises(TypeError, match="`n` must be a positive integer"):
        bootstrap(cbpp, 2.5)
    with pytest.raises(ValueError, match="`n` must be at most 1000000"):
        bootstrap(cbpp, 10 ** 6 + 1)
    with pytest.raises(ValueError, match="`workers` must be a positive integer, got 0"):
        bootstrap(cbpp, 5, workers=0)
    with pytest.raises(TypeError, match="`statistic`"):
        bootstrap(cbpp, 5, statistic="params")
    with pytest.raises(TypeError, match="`progress`"):
        bootstrap(cbpp, 5, progress="yes")
    with pytest.raises(TypeError, match="`seed`"):
        bootstrap(cbpp, 5, seed=1.5)
    with pytest.raises(TypeError, match="`result` must be a fitted"):
        bootstrap(object(), 5)
    with pytest.raises(TypeError, match="`client`"):
        bootstrap(cbpp, 5, client="tcp://nowhere")
    with pytest.raises(ValueError, match="`statistic` fails on the original fit"):
        bootstrap(cbpp, 5, statistic=lambda r: 1 / 0)
    with pytest.raises(ValueError, match="`kind` must be"):
        bootstrap_interval([1.0, 2.0], 1.0, 0.05, "student")
    with pytest.raises(ValueError, match="`alpha`"):
        bootstrap_interval([1.0, 2.0], 1.0, 1.5, "percentile")
    with pytest.raises(ValueError, match="`acceleration` is required"):
        bootstrap_interval([1.0, 2.0], 1.0, 0.05, "bca")


def test_statistic_that_raises_fails_its_replicate_and_the_run_goes_on(cbpp):
    calls = []

    def statistic(result):   # call 0 is the original fit, call k + 1 replicate k (workers=1: in order)
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("no good")
        return result.params

    with pytest.warns(ConvergenceWarning, match="1 of 6 replicates failed") as record:
        boot = bootstrap(cbpp, 6, seed=1, statistic=statistic, workers=1, progress=False)
    assert record[0].filename == __file__   # stacklevel: the caller's line
    assert boot.n_failed == 1 and boot.failed_share == pytest.approx(1 / 6)
    assert boot.errors == ((3, "RuntimeError: no good"),)
    assert boot.draws.loc[3].isna().all() and boot.draws.drop(3).notna().all().all()
    assert list(boot.draws.columns) == list(cbpp.params.index)
    # the full refit of a user statistic equals the refit mode's estimate
    default = bootstrap(cbpp, 6, seed=1, workers=1, progress=False)
    np.testing.assert_allclose(boot.draws.drop(3)[list(cbpp.params.index)],
                               default.draws.drop(3)[list(cbpp.params.index)], atol=1e-5)


def test_workers_one_and_two_give_identical_draws(cbpp):
    one = bootstrap(cbpp, 12, seed=5, workers=1, progress=False)
    two = bootstrap(cbpp, 12, seed=5, workers=2, progress=False)
    np.testing.assert_array_equal(one.draws.to_numpy(), two.draws.to_numpy())
    np.testing.assert_array_equal(one.scores, two.scores)
    # replicate k is its own seed: the first 5 of 12 are the 5 of a run of 5
    five = bootstrap(cbpp, 5, seed=5, workers=1, progress=False)
    np.testing.assert_array_equal(five.draws.to_numpy(), one.draws.to_numpy()[:5])
    other = bootstrap(cbpp, 5, seed=6, workers=1, progress=False)
    assert not np.array_equal(other.draws.to_numpy(), five.draws.to_numpy())


def test_bootstrap_default_statistic_and_progress(cbpp, capsys):
    boot = bootstrap(cbpp, 10, seed=1, workers=1, progress=True)
    assert "bootstrap: 10/10 replicates, 0 failed" in capsys.readouterr().out
    assert list(boot.draws.columns) == ["sd_(Intercept)|herd", "(Intercept)", "period2", "period3", "period4"]
    np.testing.assert_allclose(boot.estimate.to_numpy()[1:], cbpp.params.to_numpy(), rtol=1e-14)
    assert boot.estimate.iloc[0] == pytest.approx(math.sqrt(cbpp.cov_re["herd"].iloc[0, 0]), rel=1e-14)
    assert boot.scores.shape == (10, 5) and boot.n_failed == 0
    assert isinstance(boot, BootstrapResult) and "n_failed=0" in repr(boot)
    assert boot.draws.shape == (10, 5) and boot.draws.notna().all().all()


def test_bootstrap_lrt_pbmodcomp_format(cbpp, cbpp0):
    ref = REFERENCE["pbmodcomp_cbpp"]["test"]["data"]
    boot = bootstrap_lrt(cbpp0, cbpp, 50, seed=1, workers=1)
    table = boot.lrt_table()
    assert list(table.index) == ["LRT", "PBtest"] and list(table.columns) == ["stat", "df", "p.value"]
    np.testing.assert_allclose(table["stat"], ref["stat"], rtol=1e-6)
    assert table.loc["LRT", "df"] == 3
    assert table.loc["LRT", "p.value"] == pytest.approx(ref["p.value"][0], rel=1e-6)
    draws = boot.draws["LRT"].to_numpy()
    assert np.all(draws >= 0) and boot.n_failed == 0
    # PBtest's formula; with no T* >= 25.6 among 50 (R's run had none either) it is 1/51
    assert boot.pvalue() == pytest.approx((1 + np.sum(draws >= table.loc["LRT", "stat"])) / 51)
    assert boot.pvalue() == pytest.approx(ref["p.value"][1], rel=1e-12)
    # under the null T* is roughly chi2_3: its mean is about 3 (50 draws: SE ~ 0.35)
    assert 1.5 < draws.mean() < 4.5


def test_bootstrap_lrt_refuses_other_rows(cbpp):
    other = fit(CBPP, datasets.load("cbpp").iloc[:40], family="binomial")
    with pytest.raises(ValueError, match="same data rows"):
        bootstrap_lrt(other, cbpp, 5)


def test_lmm_bootstrap_mean_of_days(sleep):
    boot = bootstrap(sleep, 100, seed=1, workers=1, progress=False)
    assert boot.n_failed == 0
    assert list(boot.draws.columns) == ["sd_(Intercept)|Subject", "cor_Days.(Intercept)|Subject",
                                        "sd_Days|Subject", "sigma", "(Intercept)", "Days"]
    days = boot.draws["Days"]
    assert abs(days.mean() - 10.4673) < 4 * days.std() / math.sqrt(days.size)
    # Days' bootstrap SD estimates its standard error (1.5458, lme4's vcov), to Monte Carlo error (~7 %)
    assert days.std() == pytest.approx(sleep.bse["Days"], rel=0.25)
    np.testing.assert_allclose(boot.estimate[["sd_(Intercept)|Subject", "sd_Days|Subject", "sigma"]],
                               [24.7405, 5.9221, 25.5918], atol=1e-3)


def test_client_gives_the_local_draws(cbpp):
    distributed = pytest.importorskip("distributed", reason="quadlib[dask] is not installed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                           dashboard_address=None)
        with distributed.Client(cluster) as client:
            there = bootstrap(cbpp, 8, seed=2, client=client, progress=False)
        cluster.close()
    here = bootstrap(cbpp, 8, seed=2, workers=1, progress=False)
    np.testing.assert_array_equal(there.draws.to_numpy(), here.draws.to_numpy())


@pytest.mark.slow
def test_cbpp_1000_replicates_against_bootmer(cbpp):
    ref = REFERENCE["bootmer_cbpp"]
    boot = bootstrap(cbpp, 1000, seed=1, progress=False)
    assert boot.n_failed == 0   # bootMer: no failures either
    fixed = list(cbpp.params.index)
    # the bootstrap SDs to 10 % (the SE of an SD from 1000 draws is ~2.2 %) but period4's: a response with no
    # period-4 case (P = 1.5e-4 per replicate) separates, and the refit stops near -22 (glmer too), which alone
    # moves the SD from ~0.44 to ~0.77; bootMer's 0.774 is that of one such draw among its 1000
    sd = boot.draws[fixed].std().to_numpy()
    np.testing.assert_allclose(sd[:3], ref["boot_sd"][:3], rtol=0.10)
    assert 0.35 < sd[3] <= ref["boot_sd"][3]
    ci = boot.conf_int()
    ends = np.array(ref["percentile_ci"])
    np.testing.assert_allclose(ci.loc[fixed[:3]].to_numpy(), ends[:3], atol=0.08)
    np.testing.assert_allclose(ci.loc[fixed[3]].to_numpy(), ends[3], atol=0.2)   # heavy-tailed
    sig = REFERENCE["bootmer_cbpp"]["confint_boot"]["data"]
    np.testing.assert_allclose(ci.loc["sd_(Intercept)|herd"].to_numpy(), [sig["2.5 %"][0], sig["97.5 %"][0]],
                               atol=0.1)
    bca = boot.conf_int(kind="bca")
    assert np.all(bca["lower"] < bca["upper"]) and np.all(np.isfinite(bca.to_numpy()))


def test_lmm_score_at_the_estimate_against_the_marginal_normal(sleep):
    """The LMM refitter's score (BCa's acceleration) over (beta, theta, sigma) equals central differences of
    scipy's multivariate normal log-density of y ~ N(X beta, sigma^2 (Z T T' Z' + I)), built here by hand
    (sleepstudy: per subject the rows (1, Days) and T = [[t1, 0], [t2, t3]])."""
    from quadlib.glmm._bootstrap import lmm_refitter

    data = datasets.load("sleepstudy")
    refitter = lmm_refitter(sleep)
    rows = np.asarray(sleep.design.rows)
    y_data = data["Reaction"].to_numpy() + np.random.default_rng(0).normal(0, 10, len(data))
    days, subject = data["Days"].to_numpy(float), data["Subject"].to_numpy()

    def log_density(x):
        beta, (t1, t2, t3), sigma = x[:2], x[2:5], x[5]
        T = np.array([[t1, 0.0], [t2, t3]])
        Zi = np.column_stack([np.ones_like(days), days])
        same = subject[:, None] == subject[None, :]
        V = np.where(same, Zi @ T @ T.T @ Zi.T, 0.0) + np.eye(days.size)
        return stats.multivariate_normal.logpdf(y_data, beta[0] + beta[1] * days, sigma ** 2 * V)

    x0 = np.concatenate([sleep.params.to_numpy(), sleep.theta, [sleep.sigma]])
    numeric = []
    for k in range(x0.size):
        h = 1e-5 * max(1.0, abs(x0[k]))
        e = np.zeros(x0.size)
        e[k] = h
        numeric.append((log_density(x0 + e) - log_density(x0 - e)) / (2 * h))
    score = refitter._score_at_estimate(y_data[rows])
    np.testing.assert_allclose(score, numeric, rtol=1e-6, atol=1e-7)


def test_lmm_bca_interval(sleep):
    boot = bootstrap(sleep, 60, seed=2, workers=1, progress=False)
    a = boot.acceleration()
    assert np.all(np.isfinite(a.to_numpy())) and np.all(np.abs(a.to_numpy()) < 0.3)
    # the fixed effects' scores are linear in y (normal): their acceleration is 0 to Monte Carlo error (the
    # sample skewness of 60 normal draws has SE 0.32: a's is 0.05)
    assert abs(a["Days"]) < 0.15
    bca = boot.conf_int(kind="bca")
    assert np.all(bca["lower"] < boot.estimate) and np.all(boot.estimate < bca["upper"])


def test_refit_of_a_separated_replicate_stops_like_glmer(cbpp):
    """A response without a period-4 case: the MLE of period4 is -inf; the refit mode stops where the gradient is
    below 1e-6 (near -23; glmer near -22), converged, within its 50 steps."""
    d = cbpp.objective.design
    y = d.response.copy()
    y[d.X[:, 3] == 1] = 0.0
    out = optimize(cbpp.objective.rebuild(replace(d, response=y)), cbpp.x, options=REFIT_OPTIONS,
                   inverse_hessian=cbpp.x_covariance)
    assert out.converged and out.n_iter <= REFIT_OPTIONS.refit_steps
    assert -40 < out.x[3] < -15


def _binomial_intercept(seed, n_groups=20, size=5):
    """asv_bench/benchmarks/_simulate.binomial_intercept's normal case (eta = -0.5 + x + b, b ~ N(0, 1))."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    b = rng.standard_normal(n_groups)
    gi = np.repeat(np.arange(n_groups), size)
    x = rng.standard_normal(gi.size)
    y = (rng.random(gi.size) < 1 / (1 + np.exp(-(-0.5 + x + b[gi])))).astype(int)
    return pd.DataFrame({"g": [f"g{i:05d}" for i in gi], "x": x, "y": y})


def test_bootstrap_of_a_singular_fit():
    """A fit at SD 0 (seed 58): the refits start from its covariance over the free parameters (once all NaN,
    which left 20 of 199 refits unconverged) and, where the quasi-Newton iteration stops short (replicates far
    from the fit's SD 0), L-BFGS-B goes on: no failures, each refit equal to a full optimize."""
    from quadlib.glmm._bootstrap import glmm_refitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit("y ~ x + (1 | g)", _binomial_intercept(58), family="binomial")
    assert res.x[-1] == 0.0
    refitter = glmm_refitter(res)
    np.testing.assert_array_equal(refitter.inverse_hessian[:2, :2], res.x_covariance[:2, :2])
    boot = bootstrap(res, 40, seed=58, workers=1, progress=False)
    assert boot.n_failed == 0
    y = refitter.simulate(np.random.SeedSequence(58, spawn_key=(7,)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = optimize(refitter._objective_for(y), res.x)
    np.testing.assert_allclose(boot.draws.loc[7, ["(Intercept)", "x"]], full.x[:2], atol=1e-5)


def test_group_jackknife_equals_fits_without_each_group(cbpp, sleep):
    """The delete-one-group refits (a user statistic's BCa) equal fits of the data frame without the group,
    built from scratch (build_design on the subset)."""
    from quadlib.glmm._bootstrap import group_jackknife

    data = datasets.load("cbpp")
    values = group_jackknife(cbpp, lambda r: r.params)
    levels = list(cbpp.objective.design.terms[0].levels)
    assert values.shape == (15, 4)
    for herd in (levels[0], levels[7]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            direct = fit(CBPP, data[data["herd"] != herd], family="binomial")
        np.testing.assert_allclose(values[levels.index(herd)], direct.params.to_numpy(), atol=1e-5)
    sleepstudy = datasets.load("sleepstudy")
    values = group_jackknife(sleep, lambda r: np.append(r.params.to_numpy(), r.sigma))
    subjects = list(sleep.design.terms[0].levels)
    direct = lmm("Reaction ~ Days + (Days | Subject)", sleepstudy[sleepstudy["Subject"] != subjects[3]])
    np.testing.assert_allclose(values[3], np.append(direct.params.to_numpy(), direct.sigma), rtol=1e-6)


def test_user_statistic_bca_uses_the_group_jackknife(cbpp):
    from quadlib.glmm._bootstrap import group_jackknife, jackknife_acceleration

    boot = bootstrap(cbpp, 30, seed=3, statistic=lambda r: r.params, workers=1, progress=False)
    assert boot.scores is None
    expected = [jackknife_acceleration(col) for col in group_jackknife(cbpp, lambda r: r.params).T]
    np.testing.assert_allclose(boot.acceleration().to_numpy(), expected, rtol=1e-12)
    bca = boot.conf_int(kind="bca")
    assert np.all(bca["lower"] < bca["upper"])


def test_glmm_reml_fit_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit("Reaction ~ Days + (1 | Subject)", datasets.load("sleepstudy"), family="gaussian", reml=True)
    with pytest.raises(ValueError, match="fitted by REML is not implemented; refit with reml=False"):
        bootstrap(res, 5)


def test_bootstrap_lrt_refuses_a_reversed_or_repeated_pair():
    """Regression (review): the pair reversed, or one model twice, ran and gave p = 1."""
    import warnings

    from quadlib.glmm import bootstrap_lrt, datasets, fit

    cbpp = datasets.load("cbpp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m0 = fit("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", cbpp)
        m1 = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp)
    with pytest.raises(ValueError, match="`m1` must have more parameters than `m0`"):
        bootstrap_lrt(m1, m0, 5, seed=1, workers=1)
    with pytest.raises(ValueError, match="`m1` must have more parameters than `m0`"):
        bootstrap_lrt(m1, m1, 5, seed=1, workers=1)


def test_bca_with_every_draw_on_one_side_warns():
    """Regression (review): the NaN BCa interval of draws all above the estimate came without a warning."""
    with pytest.warns(ConvergenceWarning, match="all 4 finite draws lie on one side"):
        lower, upper = bootstrap_interval([2.0, 3.0, 4.0, 5.0], 1.0, 0.05, "bca", acceleration=0.0)
    assert math.isnan(lower) and math.isnan(upper)
