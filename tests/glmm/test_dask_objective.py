"""quadlib.glmm._dask's DistributedObjective: its passes sum the partitions' objectives, are checked against the
build's totals, and fail loudly (issue 18). The public behaviour of fit on Dask data is in test_dask.py."""
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed", reason="quadlib[dask] (dask and distributed) not installed")
import dask.dataframe as dd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

from quadlib.glmm import build_design, fit, make_objective  # noqa: E402
from quadlib.glmm import _dask  # noqa: E402

FORMULA = "y ~ x + (1 | g)"


def _partition(k, rows=600, size=15):
    """Partition k: whole groups only (labels k*m ... (k+1)*m - 1), from its own seed."""
    rng = np.random.default_rng([18, k])
    m = rows // size
    g = np.repeat(np.arange(k * m, (k + 1) * m), size)
    x = rng.normal(size=g.size)
    b = rng.normal(0.0, 0.8, m)[g - k * m]
    p = 1 / (1 + np.exp(-(-0.5 + 0.7 * x + b)))
    return pd.DataFrame({"y": (rng.random(g.size) < p).astype(float), "x": x, "g": g})


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
    with Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def data():
    return pd.concat([_partition(k) for k in range(3)], ignore_index=True)


@pytest.fixture(scope="module")
def ddf():
    return dd.from_map(_partition, range(3))


@pytest.fixture(scope="module")
def dask_fit(client, ddf):
    with warnings.catch_warnings():
        warnings.simplefilter("error")    # nothing to warn about on these data
        return fit(FORMULA, ddf)


def test_pass_sums_partitions(dask_fit, data):
    """A pass is the one-machine objective's value and gradient (a sum over clusters, taken by partition)."""
    whole = make_objective(build_design(FORMULA, data), "binomial")
    objective = dask_fit.objective
    assert objective.n_partitions == 3 and objective.n_rows == 1800 and objective.n_clusters == 120
    for x in ([-0.3, 0.5, 1.2], [0.1, -0.2, 0.4]):
        value, grad = objective.value_and_gradient(x)
        expected, expected_grad = whole.value_and_gradient(x)
        assert value == pytest.approx(expected, rel=1e-13)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-10)
        assert objective.log_likelihood(x) == pytest.approx(expected, rel=1e-13)
    batch = objective.values_and_gradients([[-0.3, 0.5, 1.2], [0.1, -0.2, 0.4]])
    assert batch[1][0] == pytest.approx(whole.log_likelihood([0.1, -0.2, 0.4]), rel=1e-12)


def test_fit_equals_pandas(dask_fit, data):
    ref = fit(FORMULA, data)
    np.testing.assert_allclose(dask_fit.x, ref.x, rtol=0, atol=1e-7)
    assert dask_fit.llf == pytest.approx(ref.llf, rel=1e-9)
    np.testing.assert_allclose(dask_fit.bse, ref.bse, rtol=1e-6)
    assert dask_fit.nobs == 1800 and dask_fit.ngroups == {"g": 120}
    modes = dask_fit.random_effects["g"]
    assert isinstance(modes, dd.DataFrame) and modes.npartitions == 3
    frame = modes.compute()
    expected = ref.random_effects["g"]
    pd.testing.assert_frame_equal(frame.loc[expected.index], expected, rtol=1e-6, check_index_type=False)
    means = dask_fit.random_effects(kind="mean")["g"].compute()
    np.testing.assert_allclose(means.loc[expected.index].to_numpy(), ref.random_effects(kind="mean")["g"].to_numpy(),
                               atol=1e-6)
    assert "Number of obs: 1800, groups:  g, 120" in dask_fit.summary().__str__()


def test_pass_checks_totals(dask_fit):
    """A pass that covers other clusters or rows than the build stops the fit: never a wrong sum."""
    objective = dask_fit.objective
    saved = objective.n_rows
    objective.n_rows = saved + 1
    try:
        with pytest.raises(RuntimeError, match="covered 120 clusters and 1800 rows, expected 120 and 1801"):
            objective.log_likelihood(dask_fit.x)
    finally:
        objective.n_rows = saved


def test_failed_task_stops_the_fit(dask_fit, monkeypatch):
    """Any task error in a pass is a RuntimeError saying the fit stopped, chained from the error."""
    def broken(objective, points, gradient):
        raise ArithmeticError("boom")

    monkeypatch.setattr(_dask, "_evaluate_part", broken)
    with pytest.raises(RuntimeError, match=r"the distributed pass \d+ failed \(ArithmeticError: boom\): fit stopped, "
                                           "no result") as info:
        dask_fit.objective.value_and_gradient(dask_fit.x)
    assert isinstance(info.value.__cause__, ArithmeticError)


def test_pass_timeout(dask_fit, monkeypatch):
    def slow(objective, points, gradient):
        import time
        time.sleep(2)

    monkeypatch.setattr(_dask, "_evaluate_part", slow)
    monkeypatch.setattr(_dask, "PASS_TIMEOUT", 0.2)
    with pytest.raises(RuntimeError, match=r"the distributed pass \d+ failed \(TimeoutError"):
        dask_fit.objective.log_likelihood(dask_fit.x)


def test_local_scheduler_path(client, ddf, dask_fit, monkeypatch):
    """Without a current Client the partition objectives live in this process: the same numbers."""
    import distributed

    def no_client():
        raise ValueError("No clients found")

    monkeypatch.setattr(distributed, "get_client", no_client)
    res = fit(FORMULA, ddf)
    assert isinstance(res.objective.runner, _dask._LocalRunner)
    np.testing.assert_allclose(res.x, dask_fit.x, rtol=0, atol=1e-12)
    assert res.random_effects["g"].compute().shape == (120, 2)


def test_progress_lines(client, ddf, capsys):
    res = fit(FORMULA, ddf, progress=True)
    lines = capsys.readouterr().out.splitlines()
    pattern = r"^  step +\d+: log-likelihood -\d+\.\d{10}  (\d+) pass(?:es)? \d+ ms \(3 partitions\)$"
    # one line per optimizer step, with the distributed passes it took (line-search trials, the Hessian's
    # batch of points in one pass); the GLM start's passes come before the first step
    assert len(lines) == len(res.history) and all(pd.Series(lines).str.match(pattern))
    passes = pd.Series(lines).str.extract(pattern)[0].astype(int)
    assert passes.min() >= 1 and passes.sum() < res.objective.passes


def test_one_machine_only(dask_fit):
    for call in (lambda: dask_fit.predict(), lambda: dask_fit.simulate(), lambda: dask_fit.marginal_coefs(),
                 lambda: dask_fit.conf_int(method="profile")):
        with pytest.raises(NotImplementedError, match=r"ddf.compute\(\)"):
            call()
    assert dask_fit.conf_int().shape == (2, 2)


def test_input_validation(client, ddf, data):
    with pytest.raises(TypeError, match="`data` must be a pandas or Dask DataFrame, got list"):
        fit(FORMULA, [1, 2])
    with pytest.raises(TypeError, match="`data` must be a pandas or Dask DataFrame, got Series"):
        fit(FORMULA, ddf["x"])
    with pytest.raises(ValueError, match="`client` applies to a Dask DataFrame"):
        fit(FORMULA, data, client=client)
    with pytest.raises(ValueError, match="`assume_grouped` applies to a Dask DataFrame"):
        fit(FORMULA, data, assume_grouped=True)
    with pytest.raises(TypeError, match="`assume_grouped` must be True or False"):
        fit(FORMULA, ddf, assume_grouped="yes")
    with pytest.raises(TypeError, match="`client` must be a distributed.Client, got str"):
        fit(FORMULA, ddf, client="tcp://127.0.0.1:8786")
    for method in ("pql", "qmc"):
        with pytest.raises(NotImplementedError, match=rf"method='{method}'.*ddf.compute\(\)"):
            fit(FORMULA, ddf, method=method)
    with pytest.raises(TypeError, match="`weights` must be a column name"):
        fit(FORMULA, ddf, weights=np.ones(1800))
    with pytest.raises(ValueError, match="`offset` column 'w' is not a column of `data`"):
        fit(FORMULA, ddf, offset="w")
    with pytest.raises(ValueError, match="grouping factor 'h' is not a column of `data`"):
        fit("y ~ x + (1 | h)", ddf)
    with pytest.raises(ValueError, match="`nagq`"):          # fit's own option checks come first
        fit(FORMULA, ddf, method="laplace", nagq=3)


def test_response_checks(client):
    frame = pd.concat([_partition(k) for k in range(2)], ignore_index=True).assign(y=0.0)
    with pytest.raises(ValueError, match="has no successes"):
        fit(FORMULA, dd.from_pandas(frame, npartitions=2, sort=False), assume_grouped=True)


def test_import_does_not_import_dask():
    code = "import sys, quadlib.glmm; print(any(m.split('.')[0] in ('dask', 'distributed') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_population_prediction(dask_fit, data):
    """predict(newdata, re=False) needs no rows of the fit: X beta of the new rows."""
    new = data.iloc[:5]
    expected = dask_fit.params["(Intercept)"] + dask_fit.params["x"] * new["x"]
    np.testing.assert_allclose(dask_fit.predict(new, re=False).to_numpy(), expected.to_numpy(), rtol=1e-14)
    with pytest.raises(NotImplementedError, match="re=False"):
        dask_fit.predict(new)


def test_counts_from_totals(client):
    """The counts of levels against random effects use every partition's levels (each partition has 2)."""
    frame = pd.concat([_partition(k, rows=30, size=15) for k in range(2)], ignore_index=True)
    ddf = dd.from_pandas(frame, npartitions=2, sort=False)
    with pytest.raises(ValueError, match=r"has 4 random effects per level but only 4 levels of 'g'"):
        fit("y ~ x + (x + I(x**2) + I(x**3) | g)", ddf)


def test_separation_not_certified_is_not_converged(client, monkeypatch):
    """Separated data: no certificate, fitted probabilities at 0 or 1, and the linear program would need the
    rows on one machine: converged=False with a ConvergenceWarning (never a converged fit at infinity).
    The local path: in-process workers' threads enter warnings.catch_warnings too, which is not thread-safe."""
    import distributed

    from quadlib.glmm import ConvergenceWarning

    def no_client():
        raise ValueError("No clients found")

    monkeypatch.setattr(distributed, "get_client", no_client)
    frame = pd.concat([_partition(k) for k in range(2)], ignore_index=True)
    frame["y"] = (frame["x"] > 0).astype(float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit(FORMULA, dd.from_pandas(frame, npartitions=2, sort=False), assume_grouped=True)
    assert not res.converged and "separation was not checked on the 1200 rows" in res.message
    found = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(found) == 1 and found[0].filename == __file__


def test_history_is_log_likelihoods(dask_fit):
    """The record ends at the optimum's log-likelihood, every entry a log-likelihood (the Newton polish's
    steps were recorded negated: the history ended at -llf)."""
    history = np.array(dask_fit.history)
    assert history[-1] == pytest.approx(dask_fit.llf, rel=1e-12)
    assert np.all(history < 0) and np.all(history <= dask_fit.llf + 1e-9 * abs(dask_fit.llf))
