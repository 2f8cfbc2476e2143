"""Profile intervals mapped over a Dask cluster (issue 18, item 3): ``conf_int(method="profile", client=...)``
gives the sequential intervals, for a GLMM and an LMM, on a process cluster (the result pickled to the
workers) and re-issues the workers' warnings; bad `client` arguments."""
import warnings

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="quadlib[dask] is not installed")

from quadlib.glmm import ConvergenceWarning, datasets, fit, lmm  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.mark.slow
def test_glmm_profile_on_workers_equals_sequential(client):
    res = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"))
    here = res.conf_int(method="profile")
    there = res.conf_int(method="profile", client=client)
    # the same refits from the same warm starts: equal to the root finder's tolerance
    np.testing.assert_allclose(there.to_numpy(), here.to_numpy(), rtol=0, atol=1e-8)
    # and an interval, not the Wald one: the profile of period2's lower end differs from Wald by > 1e-3
    wald = res.conf_int()
    assert np.max(np.abs(there.to_numpy() - wald.to_numpy())) > 1e-3


@pytest.mark.slow
def test_lmm_profile_on_workers_equals_sequential(client):
    res = lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    here = res.conf_int(method="profile")
    there = res.conf_int(method="profile", client=client)
    np.testing.assert_allclose(there.to_numpy(), here.to_numpy(), rtol=0, atol=1e-7)
    # lme4's confint(fm1, parm = "beta_", method = "profile"): Days 7.359 .. 13.576 (a closed check on the value)
    assert there.loc["Days", "lower"] == pytest.approx(7.359, abs=2e-3)
    assert there.loc["Days", "upper"] == pytest.approx(13.576, abs=2e-3)


@pytest.mark.slow
def test_workers_warnings_reach_the_caller(client):
    # z = 1 on three rows, all successes: quasi-separated, so z's profile levels off above the estimate and its
    # upper end is NaN with a ConvergenceWarning raised on the worker
    import pandas as pd

    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(12), 5)
    z = np.zeros(g.size)
    z[[3, 17, 40]] = 1
    y = (rng.random(g.size) < 0.4).astype(float)
    y[z == 1] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit("y ~ z + (1 | g)", pd.DataFrame({"y": y, "z": z, "g": g}))
    with pytest.warns(ConvergenceWarning, match="the profile of z does not fall to the cut-off") as caught:
        remote = res.conf_int(method="profile", client=client)
    assert np.isnan(remote.loc["z", "upper"]) and np.isfinite(remote.loc["z", "lower"])
    assert all(w.filename == __file__ for w in caught if issubclass(w.category, ConvergenceWarning))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = res.conf_int(method="profile")
    np.testing.assert_allclose(remote.to_numpy(), local.to_numpy(), rtol=0, atol=1e-6, equal_nan=True)


def test_profile_bracket_keeps_its_ends():
    """Brent's method re-evaluates the bracket's ends; a profile whose refits depend on their warm start (here:
    a value that changes on the second call at the same point) must not break the search (it raised
    'f(a) and f(b) must have different signs')."""
    from quadlib.glmm._inference import profile_interval

    calls = {}

    def llf(value):   # quadratic profile, but a point's second evaluation finds the maximum (a better refit)
        calls[value] = calls.get(value, 0) + 1
        return 0.0 if calls[value] > 1 else -0.5 * (value - 1.0) ** 2 / 0.25

    lower, upper = profile_interval(llf, 1.0, 0.5, 0.0)
    # the roots of the first evaluations: 1 -/+ 1.959963985 * 0.5
    assert lower == pytest.approx(0.02001801, abs=1e-7) and upper == pytest.approx(1.97998199, abs=1e-7)


def test_client_must_be_a_client():
    res = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"))
    with pytest.raises(TypeError, match="`client` must be a distributed.Client"):
        res.conf_int(method="profile", client="tcp://127.0.0.1:8786")


def test_client_applies_to_profile_only():
    res = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"))
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as c:
        with pytest.raises(ValueError, match="`client` applies to method='profile'"):
            res.conf_int(client=c)
