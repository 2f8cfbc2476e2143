"""quadlib.glmm.fit on a Dask DataFrame (issue 18) against quadlib.glmm.fit on the same rows in pandas.

The reference is always the one-machine fit (itself checked against lme4 in test_fit.py), never the Dask
path. Partitions are built so that each level of the grouping factor lies in one partition (the contract's
precondition), except where a test splits them on purpose. Quick tier: one in-process LocalCluster for the
module (two single-thread workers), small data. Slow tier: the issue's contract sizes, and a worker process
killed in the middle of a fit.
"""
import contextlib
import io
import os
import re
import subprocess
import sys
import threading
import warnings

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed", reason="quadlib[dask] is not installed")
dd = pytest.importorskip("dask.dataframe", reason="quadlib[dask] is not installed")

from quadlib import AdaptiveGaussHermite  # noqa: E402
from quadlib.glmm import GLMMResult, build_design, fit, make_objective, optimize  # noqa: E402

BINARY = "y ~ x + (1 | g)"
SLOPE = "y ~ x + (x | g)"
# the scheduler starts its HTTP routes even with dashboard_address=None, then on port 8787, which another
# process may hold: any free port instead
_HTTP = ":0"
_STEP = re.compile(r"log-likelihood\s+(-?\d+\.\d+(?:e[-+]?\d+)?)")


# ---------------------------------------------------------------------------------------------- data
def simulate(k, rows, *, group_size=20, slope=False, only_in=None):
    """Partition `k`: whole levels ``k*m ... (k+1)*m - 1`` of `g`, from its own seed (the same rows wherever
    it is made). Columns: a binary `y` and a Poisson `count` with exposure `t` (``log_t``), covariates `x`
    and `z`, a string factor `f` whose level "c" occurs only in partition `only_in`, and a Categorical `h`
    whose categories are in a custom order (reference level "mid")."""
    rng = np.random.default_rng([18, k])
    m = rows // group_size
    g = np.repeat(np.arange(k * m, (k + 1) * m), group_size)
    n = g.size
    x = rng.normal(size=n)
    z = rng.normal(2.0, 3.0, n)
    f = rng.choice(["a", "b", "c"] if k == only_in else ["a", "b"], size=n)
    h = rng.choice(["low", "mid", "high"], size=n)
    t = rng.uniform(0.5, 2.0, n)
    b0 = rng.normal(0.0, 0.8, m)[g - k * m]
    b1 = rng.normal(0.0, 0.5, m)[g - k * m] if slope else 0.0
    eta = -0.5 + 0.7 * x + 0.1 * z + b0 + b1 * x + 0.5 * (f == "b") - 0.8 * (f == "c") + 0.4 * (h == "low")
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    count = rng.poisson(t * np.exp(eta - 0.5)).astype(float)
    return pd.DataFrame({"y": y, "count": count, "x": x, "z": z, "f": f,
                         "h": pd.Categorical(h, categories=["mid", "low", "high"]), "t": t, "log_t": np.log(t),
                         "g": g})


def binary_part(k, rows, slope=False):
    """The contract's simulated binary data, partition `k` (lean: only y, x, g)."""
    rng = np.random.default_rng([1018, k])
    m = rows // 20
    g = np.repeat(np.arange(k * m, (k + 1) * m), 20)
    x = rng.normal(size=g.size)
    b0 = rng.normal(0.0, 0.8, m)[g - k * m]
    b1 = rng.normal(0.0, 0.5, m)[g - k * m] if slope else 0.0
    p = 1 / (1 + np.exp(-(-0.5 + 0.7 * x + b0 + b1 * x)))
    return pd.DataFrame({"y": (rng.random(g.size) < p).astype(float), "x": x, "g": g})


def _identity(frame):
    return frame


def dask_frame(frames, meta=None):
    """A Dask DataFrame with exactly these partitions (`meta`: what the frame claims, default the first's)."""
    return dd.from_map(_identity, frames, meta=frames[0].iloc[:0] if meta is None else meta)


def whole(frames):
    return pd.concat(frames, ignore_index=True)


def quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(*args, **kwargs)


def one_machine(formula, data, integrator, family="binomial"):
    """The one-machine fit through the pipeline's public stages: :func:`fit` refuses AGQ 10 at the
    contract sizes (rows x points > 2**24 in one evaluation's arrays), the stages do not."""
    objective = make_objective(build_design(formula, data), family, integrator)
    outcome = optimize(objective)
    return GLMMResult.from_fit(objective=objective, outcome=outcome, method="agq", formula=formula)


def assert_same_fit(got, want, *, params=1e-7, llf=1e-9, bse=1e-5):
    """The contract: fixed effects within `params` (absolute), llf within `llf` (relative), SEs within `bse`
    (relative); every parameter (the covariance's too) within `params`; the same rows and levels."""
    assert got.converged and want.converged
    assert list(got.params.index) == list(want.params.index)
    np.testing.assert_allclose(got.params.to_numpy(), want.params.to_numpy(), rtol=0, atol=params)
    np.testing.assert_allclose(np.asarray(got.x), np.asarray(want.x), rtol=0, atol=params)
    assert abs(got.llf - want.llf) <= llf * abs(want.llf), (got.llf, want.llf)
    np.testing.assert_allclose(got.bse.to_numpy(), want.bse.to_numpy(), rtol=bse, atol=0)
    assert got.nobs == want.nobs
    assert got.ngroups == want.ngroups


def assert_same_random_effects(lazy, want, atol=1e-6):
    """A lazy random-effects frame, computed and sorted by level, equals the pandas fit's."""
    assert isinstance(lazy, dd.DataFrame), type(lazy)
    got = lazy.compute()
    assert not got.index.has_duplicates
    got, want = got.sort_index(), want.sort_index()
    assert list(got.columns) == list(want.columns)
    np.testing.assert_array_equal(got.index.to_numpy(dtype=float), want.index.to_numpy(dtype=float))
    np.testing.assert_allclose(got.to_numpy(dtype=float), want.to_numpy(dtype=float), rtol=0, atol=atol)


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def client():
    """Two single-thread workers in this process. Not the default client: a test asks for it by `client=`
    or makes it current (``client.as_current()``), so the local-scheduler path can be tested too."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=_HTTP) \
            as cluster, distributed.Client(cluster, set_as_default=False) as c:
        yield c


def executed(client):
    """The tasks the cluster's (in-process) workers have run."""
    return sum(worker.state.executed_count for worker in client.cluster.workers.values())


@pytest.fixture(scope="module")
def binary():
    """(partitions, pandas fit Laplace): 2e4 binary rows, 8 partitions, 1000 levels."""
    frames = [simulate(k, 2500) for k in range(8)]
    return frames, quiet_fit(BINARY, whole(frames))


@pytest.fixture(scope="module")
def binary_dask(client, binary):
    frames, _ = binary
    return quiet_fit(BINARY, dask_frame(frames), client=client)


# ---------------------------------------------------------------------------------------------- equality
def test_binary_random_intercept_laplace_equals_pandas(binary, binary_dask):
    assert_same_fit(binary_dask, binary[1])


def test_binary_random_intercept_agq10_equals_pandas(client, binary):
    frames, _ = binary
    want = quiet_fit(BINARY, whole(frames), method="agq", nagq=10)
    got = quiet_fit(BINARY, dask_frame(frames), method="agq", nagq=10, client=client)
    assert_same_fit(got, want)
    # AGQ is not Laplace here (else the test could not tell the rules apart)
    assert abs(want.llf - binary[1].llf) > 1.0


@pytest.mark.parametrize("method, rows", [("laplace", 10_000), ("agq", 2_000)])
def test_random_slope_equals_pandas(client, method, rows):
    # AGQ 10 on a vector random effect: the 100-point product rule in the rotated space
    frames = [simulate(k, rows // 4, slope=True) for k in range(4)]
    nagq = 10 if method == "agq" else None
    want = quiet_fit(SLOPE, whole(frames), method=method, nagq=nagq)
    got = quiet_fit(SLOPE, dask_frame(frames), method=method, nagq=nagq, client=client)
    assert_same_fit(got, want)
    assert list(got.cov_re["g"].index) == ["(Intercept)", "x"]


def test_poisson_with_offset_column_equals_pandas(client):
    frames = [simulate(k, 1000) for k in range(4)]
    want = quiet_fit("count ~ x + (1 | g)", whole(frames), family="poisson", offset="log_t")
    got = quiet_fit("count ~ x + (1 | g)", dask_frame(frames), family="poisson", offset="log_t", client=client)
    assert_same_fit(got, want)
    # the offset matters: without it the fit differs
    assert abs(quiet_fit("count ~ x + (1 | g)", whole(frames), family="poisson").llf - want.llf) > 1.0


@pytest.mark.parametrize("formula, weights", [("cbind(s, n - s) ~ x + (1 | g)", None), ("p ~ x + (1 | g)", "n")])
def test_binomial_counts_and_proportions_with_weights_equal_pandas(client, formula, weights):
    frames = [simulate(k, 500) for k in range(4)]
    for k, frame in enumerate(frames):
        rng = np.random.default_rng([7, k])
        frame["n"] = rng.integers(1, 6, len(frame)).astype(float)
        eta = -0.3 + 0.7 * frame["x"].to_numpy() + rng.normal(0, 0.8, len(frame) // 20).repeat(20)
        frame["s"] = rng.binomial(frame["n"].astype(int), 1 / (1 + np.exp(-eta))).astype(float)
        frame["p"] = frame["s"] / frame["n"]
    want = quiet_fit(formula, whole(frames), weights=weights)
    got = quiet_fit(formula, dask_frame(frames), weights=weights, client=client)
    assert_same_fit(got, want)


def test_factors_a_level_in_one_partition_and_a_categorical_order_equal_pandas(client):
    frames = [simulate(k, 1000, only_in=2) for k in range(4)]
    assert [("c" in set(f["f"])) for f in frames] == [False, False, True, False]
    formula = "y ~ x + f + h + (1 | g)"
    want = quiet_fit(formula, whole(frames))
    got = quiet_fit(formula, dask_frame(frames), client=client)
    # (Intercept), x, the two contrasts of f and of h; h's reference level is its first category ("mid"),
    # not the first in sorted order ("high")
    assert len(want.params) == 6
    assert not any("mid" in name for name in want.params.index)
    assert sum("high" in name for name in want.params.index) == 1
    assert_same_fit(got, want)
    # the population-level prediction (documented to work on a Dask fit) reads the agreed levels
    new = whole(frames).iloc[::97]
    np.testing.assert_allclose(got.predict(new, re=False).to_numpy(), want.predict(new, re=False).to_numpy(),
                               rtol=0, atol=1e-7)


def test_stateful_transforms_use_the_whole_data(client):
    # the partitions' means and SDs differ from the whole data's: partition-local ones would change the fit
    frames = [simulate(k, 1000) for k in range(4)]
    frames[1]["z"] += 3.0
    frames[2]["t"] *= 2.0
    formula = "y ~ center(z) + scale(t) + (1 | g)"
    want = quiet_fit(formula, whole(frames))
    got = quiet_fit(formula, dask_frame(frames), client=client)
    assert_same_fit(got, want)


# ---------------------------------------------------------------------------------------------- results
def test_random_effects_are_a_lazy_dask_frame_equal_to_pandas(binary, binary_dask):
    assert_same_random_effects(binary_dask.random_effects["g"], binary[1].random_effects["g"])


def test_random_effects_mean_is_a_lazy_dask_frame_equal_to_pandas(binary, binary_dask):
    got = binary_dask.random_effects(kind="mean")["g"]
    want = binary[1].random_effects(kind="mean")["g"]
    assert_same_random_effects(got, want)
    # posterior means are not the modes (else the test could not tell them apart)
    assert np.max(np.abs(want.to_numpy()[:, 0] - binary[1].random_effects["g"].sort_index().to_numpy()[:, 0])) \
        > 1e-4


def test_progress_prints_one_line_per_step_with_the_log_likelihood(client, binary, capsys):
    frames = [simulate(k, 1000) for k in range(4)]
    capsys.readouterr()
    res = quiet_fit(BINARY, dask_frame(frames), client=client, progress=True)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    steps = [line for line in lines if _STEP.search(line)]
    assert steps, lines
    assert len(steps) == len(res.history)      # one line per optimizer step, numbered 1, 2, ...
    assert [int(re.search(r"step\s+(\d+)", line).group(1)) for line in steps] == list(range(1, len(steps) + 1))
    for line in steps:   # the wall time of the step's distributed passes
        assert re.search(r"\d+ pass(es)? \d+ ms", _STEP.sub("", line)), line
    printed = np.array([float(_STEP.search(line).group(1)) for line in steps])
    # every optimizer step's log-likelihood is printed (to the line's 10 decimals), in order
    np.testing.assert_allclose(printed, res.history, rtol=1e-10)
    assert np.all(printed <= res.llf + 1e-9 * abs(res.llf))
    assert abs(printed.max() - res.llf) <= 1e-9 * abs(res.llf)


def test_what_needs_the_rows_on_one_machine_says_so(binary, binary_dask):
    frames, _ = binary
    with pytest.raises(NotImplementedError, match=r"one machine"):
        binary_dask.predict(frames[0], re=True)
    with pytest.raises(NotImplementedError, match=r"one machine"):
        binary_dask.simulate(2, seed=0)


def test_current_client_is_used(client):
    frames = [simulate(k, 1000) for k in range(4)]
    want = quiet_fit(BINARY, whole(frames))
    before = executed(client)
    with client.as_current():
        res = quiet_fit(BINARY, dask_frame(frames))
    assert executed(client) > before
    assert_same_fit(res, want)


def test_without_a_client_the_local_scheduler_gives_the_same_fit(client, binary):
    frames, want = binary
    with pytest.raises(ValueError):
        distributed.get_client()     # the module's client is not the default one
    before = executed(client)
    res = quiet_fit(BINARY, dask_frame(frames))
    assert executed(client) == before
    assert_same_fit(res, want)
    assert_same_random_effects(res.random_effects["g"], want.random_effects["g"])


# ---------------------------------------------------------------------------------------------- grouping
def _scattered(rows=4000, partitions=4):
    """Rows in random order, cut into partitions by position: most levels span several partitions."""
    data = whole([simulate(k, rows // 4) for k in range(4)]).sample(frac=1.0, random_state=0)
    return data, dd.from_pandas(data.reset_index(drop=True), npartitions=partitions, sort=False)


def test_split_groups_are_shuffled_with_a_warning_and_the_same_fit(client):
    data, ddf = _scattered()
    want = quiet_fit(BINARY, data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = fit(BINARY, ddf, client=client)
    spans = [w for w in caught if issubclass(w.category, UserWarning) and "span" in str(w.message)]
    assert len(spans) == 1, [str(w.message) for w in caught]
    message = str(spans[0].message)
    assert "'g'" in message and "shuffle" in message and re.search(r"\d+ bytes", message), message
    assert spans[0].filename == __file__
    assert_same_fit(got, want)
    assert_same_random_effects(got.random_effects["g"], want.random_effects["g"])


def test_grouped_string_labels_with_overlapping_ranges_do_not_warn(client):
    # every level in one partition, but the partitions' label ranges overlap ("L0..." to "L9..." in each):
    # the exact count must find them grouped, no shuffle and no warning
    frames = [simulate(k, 1000) for k in range(4)]
    labels = np.random.default_rng(5).permutation(200)
    for frame in frames:
        frame["g"] = [f"L{labels[level]}" for level in frame["g"]]
    want = quiet_fit(BINARY, whole(frames))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = fit(BINARY, dask_frame(frames), client=client)
    assert_same_fit(got, want)
    modes = got.random_effects["g"].compute().sort_index()
    reference = want.random_effects["g"].sort_index()
    assert list(modes.index) == list(reference.index)
    np.testing.assert_allclose(modes.to_numpy(dtype=float), reference.to_numpy(dtype=float), rtol=0, atol=1e-6)


def test_assume_grouped_on_split_data_is_an_error(client):
    # fit's docstring: the grouping is always checked; with assume_grouped=True a split level is a ValueError
    # (never a fit whose likelihood multiplies a level's pieces) and no shuffle runs
    _, ddf = _scattered()
    with pytest.raises(ValueError, match="`assume_grouped`: levels of 'g' span partitions"):
        fit(BINARY, ddf, client=client, assume_grouped=True)


def test_assume_grouped_on_grouped_data_is_the_same_fit(client):
    frames = [simulate(k, 1000) for k in range(4)]
    want = quiet_fit(BINARY, whole(frames))
    assert_same_fit(quiet_fit(BINARY, dask_frame(frames), client=client, assume_grouped=True), want)


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("data", [[1.0, 2.0], np.zeros((4, 3)), {"y": [0, 1], "x": [1, 2], "g": [1, 2]}])
def test_data_neither_pandas_nor_dask(data):
    with pytest.raises(TypeError, match="`data`"):
        fit(BINARY, data)


def test_grouping_column_missing(client, binary):
    frames, _ = binary
    ddf = dask_frame([f.drop(columns="g") for f in frames[:2]])
    with pytest.raises(ValueError, match="'g'"):
        fit(BINARY, ddf, client=client)


def test_grouping_column_missing_from_one_partition(client, binary):
    frames, _ = binary
    parts = [f.copy() for f in frames[:4]]
    parts[3] = parts[3].drop(columns="g")      # the meta (partition 0's) says the column is there
    with pytest.raises((TypeError, ValueError), match=r"(?s)partition 3\b.*'g'|'g'.*partition 3\b"):
        fit(BINARY, dask_frame(parts), client=client)


def test_partitions_with_mismatched_dtypes(client, binary):
    frames, _ = binary
    parts = [f.copy() for f in frames[:4]]
    parts[3]["x"] = parts[3]["x"].map(repr).astype(object)   # strings where the meta says float64
    with pytest.raises(TypeError, match=r"(?s)partition 3\b.*'x'|'x'.*partition 3\b"):
        fit(BINARY, dask_frame(parts), client=client)


def test_empty_partition_gives_the_same_fit(client):
    frames = [simulate(k, 1000) for k in range(4)]
    want = quiet_fit(BINARY, whole(frames))
    parts = frames[:2] + [frames[2].iloc[:0]] + frames[2:]
    got = quiet_fit(BINARY, dask_frame(parts), client=client)
    assert_same_fit(got, want)
    assert_same_random_effects(got.random_effects["g"], want.random_effects["g"])


def test_only_empty_partitions(client):
    frame = simulate(0, 1000).iloc[:0]
    with pytest.raises(ValueError, match="`data` has no rows"):
        fit(BINARY, dask_frame([frame, frame]), client=client)


def test_nan_in_a_partition_drops_rows_with_one_warning(client):
    frames = [simulate(k, 1000) for k in range(4)]
    frames[1].loc[[3, 40, 41, 500, 700, 701, 999], "x"] = np.nan
    frames[3].loc[[0, 10, 20], "y"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = fit(BINARY, whole(frames))
    assert want.nobs == 4000 - 10
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = fit(BINARY, dask_frame(frames), client=client)
    dropped = [w for w in caught if "missing" in str(w.message) or "dropped" in str(w.message)]
    assert len(dropped) == 1, [str(w.message) for w in caught]
    assert issubclass(dropped[0].category, UserWarning)
    assert re.search(r"\b10\b", str(dropped[0].message)), str(dropped[0].message)
    assert dropped[0].filename == __file__
    assert_same_fit(got, want)


@pytest.mark.parametrize("formula", ["y ~ x + (1 | g) + (1 | f)", "y ~ x + (1 | f) + (x | g)"])
def test_crossed_random_effects(client, binary, formula):
    frames, _ = binary
    with pytest.raises(NotImplementedError, match="do not decompose into independent clusters") as info:
        fit(formula, dask_frame(frames[:2]), client=client)
    assert "quadlib.glmm.fit" in str(info.value) and "compute()" in str(info.value)


@pytest.mark.parametrize("bad", ["tcp://127.0.0.1:8786", object(), 1])
def test_client_not_a_client(binary, bad):
    frames, _ = binary
    with pytest.raises(TypeError, match="`client`"):
        fit(BINARY, dask_frame(frames[:2]), client=bad)


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_assume_grouped_not_a_bool(binary, bad):
    frames, _ = binary
    with pytest.raises(TypeError, match="`assume_grouped`"):
        fit(BINARY, dask_frame(frames[:2]), assume_grouped=bad)


def test_client_with_pandas_data(client, binary):
    frames, _ = binary
    with pytest.raises(ValueError, match="`client`"):
        fit(BINARY, frames[0], client=client)


def test_import_does_not_import_dask():
    code = ("import sys, quadlib.glmm\n"
            "from quadlib.glmm import datasets, fit\n"
            "fit('cbind(incidence, size - incidence) ~ period + (1 | herd)', datasets.load('cbpp'))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout


# ---------------------------------------------------------------------------------------------- slow
@pytest.fixture(scope="module")
def process_client():
    """Two single-thread worker processes on 127.0.0.1 (the contract's sizes run in parallel)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=_HTTP,
                                  env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}) as cluster, \
            distributed.Client(cluster, set_as_default=False) as c:
        yield c


@pytest.mark.slow
@pytest.mark.parametrize("nagq", [1, 10])
def test_contract_binary_2e6_rows_16_partitions(process_client, nagq):
    rows, parts = 2_000_000, 16
    ddf = dd.from_map(binary_part, range(parts), rows=rows // parts)       # made on the workers
    data = whole([binary_part(k, rows // parts) for k in range(parts)])
    if nagq == 1:
        want = quiet_fit(BINARY, data)
        got = quiet_fit(BINARY, ddf, client=process_client)
    else:
        want = one_machine(BINARY, data, AdaptiveGaussHermite(10))
        got = quiet_fit(BINARY, ddf, method="agq", nagq=10, client=process_client)
    del data
    assert got.nobs == rows and got.ngroups == {"g": rows // 20}
    assert_same_fit(got, want)


@pytest.mark.slow
@pytest.mark.parametrize("nagq", [1, 10])
def test_contract_random_slope_5e5_rows(process_client, nagq):
    rows, parts = 500_000, 16
    ddf = dd.from_map(binary_part, range(parts), rows=rows // parts, slope=True)
    data = whole([binary_part(k, rows // parts, slope=True) for k in range(parts)])
    if nagq == 1:
        want = quiet_fit(SLOPE, data)
        got = quiet_fit(SLOPE, ddf, client=process_client)
    else:
        want = one_machine(SLOPE, data, AdaptiveGaussHermite(10))
        got = quiet_fit(SLOPE, ddf, method="agq", nagq=10, client=process_client)
    del data
    assert_same_fit(got, want)


class _KillAtStep(io.TextIOBase):
    """stdout for a fit with progress=True: at the `at`-th step line it kills `address`'s worker process,
    between two passes (``delay=None``) or from a thread `delay` seconds later (inside the next pass)."""

    def __init__(self, client, address, at, delay=None):
        self.client, self.address, self.at, self.delay = client, address, at, delay
        self.steps, self.killed_after, self.text = 0, None, []
        self.timer = None

    def writable(self):
        return True

    def kill(self):
        with contextlib.suppress(Exception):      # the worker dies before it answers
            self.client.run(os._exit, 1, workers=[self.address])
        self.killed_after = self.steps

    def write(self, text):
        self.text.append(text)
        self.steps += len(_STEP.findall(text))
        if self.steps >= self.at and self.timer is None and self.killed_after is None:
            if self.delay is None:
                self.kill()
            else:
                self.timer = threading.Timer(self.delay, self.kill)
                self.timer.start()
        return len(text)


@pytest.mark.slow
@pytest.mark.parametrize("delay", [None, 0.02], ids=["between-passes", "during-a-pass"])
def test_a_worker_killed_mid_fit_never_changes_the_result(delay):
    rows, parts = 100_000, 4
    data = whole([binary_part(k, rows // parts) for k in range(parts)])
    want = quiet_fit(BINARY, data)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=_HTTP,
                                  env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        with client.as_current():     # the data loaded on the workers before the fit
            ddf = dd.from_map(binary_part, range(parts), rows=rows // parts).persist()
            distributed.wait(ddf)
        victim = sorted(client.scheduler_info()["workers"])[0]
        stream = _KillAtStep(client, victim, at=5, delay=delay)
        result = error = None
        with contextlib.redirect_stdout(stream):
            try:
                result = quiet_fit(BINARY, ddf, client=client, progress=True)
            except RuntimeError as caught:
                error = caught
        if stream.timer is not None:
            stream.timer.join()
    # the fault happened during the fit: passes came after the kill (or the fit stopped)
    text = "".join(stream.text)
    assert stream.killed_after is not None, text
    if error is not None:
        assert re.search(r"pass|worker", str(error), re.IGNORECASE), str(error)
    else:
        assert stream.steps > stream.killed_after, text
        assert_same_fit(result, want)
