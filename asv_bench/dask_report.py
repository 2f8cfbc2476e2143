"""Fit a GLMM on a Dask DataFrame against the same fit on pandas (issue 18): overhead, scaling, driver memory and
the cost model, measured in one run, as README's and docs/scale.rst's figures.

    python asv_bench/dask_report.py                  # everything (about 5 minutes; run it on a quiet machine)
    python asv_bench/dask_report.py --quick          # small sizes (about a minute): checks the script, not the claims
    python asv_bench/dask_report.py --sections overhead,memory --json FILE

The model is ``y ~ x + (1 | g)``, binary, Laplace, 20 rows per group (the prototype's and the issue's case). The
data are generated inside the partitions (``dd.from_map``, whole groups per partition, one seed per partition) and
persisted on the workers before any clock starts, so no row passes through the driver; the one-machine reference
fits the same rows collected into one pandas frame. Every cluster is a ``LocalCluster`` of single-thread worker
processes on 127.0.0.1 started with ``OMP_NUM_THREADS=1`` (this process sets it too, before numpy loads) and, as
docs/scale.rst recommends, without Dask's ``MALLOC_TRIM_THRESHOLD_=65536`` (the overhead section also measures the
workers with it).

Sections (``--sections``, comma-separated):

overhead  1e6 rows in 4 partitions on 2 workers: the Dask fit's wall time over the pandas fit's (best of 3 each,
          interleaved so that a change of load hits both; then again with Dask's malloc setting), the passes per
          fit, the median time of an optimizer pass (from the progress lines of one-pass steps) split into the
          tasks' compute per worker and the rest (latency), and the fit's stages (the objective's ``timings``).
scale     1 and 2 workers at 1.25e5 .. 1e6 rows per worker (2 partitions per worker): rows per second per worker in
          an evaluation pass, and the cost model ``t_pass = c * rows/worker + lambda`` and ``t_setup = a * rows/worker
          + mu`` (agreement pass, grouping check, build) fitted by least squares over all of them; then, on the same
          clusters, 2e5 rows in 2, 8, 32 partitions: ``latency = l0 + tau_w * K/W + sigma * W`` for K partitions on W
          workers (a pass is one task per worker over its K/W partitions), with sigma, the client's and scheduler's
          time per task, timed on no-op tasks (4 to 200 of them).
memory    the driver's peak RSS growth (psutil, sampled every 2 ms in a thread) during a Dask fit of 4e6 rows against
          the data's in-memory size (pandas' deep memory usage summed over partitions); target < 10 %. The driver
          holds the LocalCluster's scheduler too, so this is an upper bound for a client on its own. Two small Dask
          fits run first, so that imports and first-call caches are not counted as growth.
model     (printed with scale) bytes per pass, passes per fit, and the extrapolation to 1e9 rows on 100 workers
          (200 partitions) from the fitted constants.

The machine's 1-minute load average (``os.getloadavg``) is printed before and after each section: the ratio holds on
an otherwise idle machine only (two worker processes need both cores).
"""
import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")   # before numpy: the workers inherit it, and the reference runs as they do

import argparse  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import quadlib  # noqa: E402
from quadlib.glmm import fit  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from benchmarks._machine import cpu_name  # noqa: E402
FORMULA = "y ~ x + (1 | g)"
GROUP_SIZE = 20
SECTIONS = ("overhead", "scale", "memory")
FULL = {"overhead_rows": 1_000_000, "overhead_parts": 4, "repeat": 3,
        "scale_rows_per_worker": (125_000, 250_000, 500_000, 1_000_000), "latency_rows": 200_000,
        "latency_parts": (2, 8, 32), "memory_rows": 4_000_000, "memory_parts": 16}
QUICK = {"overhead_rows": 100_000, "overhead_parts": 4, "repeat": 1,
         "scale_rows_per_worker": (25_000, 50_000, 100_000), "latency_rows": 40_000,
         "latency_parts": (2, 8), "memory_rows": 400_000, "memory_parts": 8}
# the extrapolation's target
TARGET_ROWS, TARGET_WORKERS = 1_000_000_000, 100


# ------------------------------------------------------------------------------------------------ on the workers
def make_partition(k, rows, seed=18):
    """Partition `k` of the simulated data: `rows` // GROUP_SIZE whole groups (ids k*m .. (k+1)*m - 1), drawn from
    the partition's own seed, so the data never exist anywhere but on the worker that holds them.

    True model: logit P(y = 1) = -0.5 + 0.7 x + b_g, b_g ~ N(0, 0.8^2), x ~ N(0, 1)."""
    rng = np.random.default_rng([seed, k])
    m = rows // GROUP_SIZE
    g = np.repeat(np.arange(k * m, (k + 1) * m, dtype=np.int64), GROUP_SIZE)
    x = rng.standard_normal(g.size)
    b = rng.normal(0.0, 0.8, m)[g - k * m]
    p = 1.0 / (1.0 + np.exp(-(-0.5 + 0.7 * x + b)))
    return pd.DataFrame({"y": (rng.random(g.size) < p).astype(np.float64), "x": x, "g": g})


def no_op(x):
    return x


# ------------------------------------------------------------------------------------------------ on the driver
def load_average():
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def start_cluster(workers, dask_malloc=False):
    """A LocalCluster of `workers` single-thread worker processes on 127.0.0.1, and its client.

    Workers start without Dask's ``MALLOC_TRIM_THRESHOLD_=65536`` (docs/scale.rst: it fixes glibc's mmap threshold
    at 128 kB and slows a pass 2-3x) unless `dask_malloc` (Dask's default, for comparison)."""
    import dask
    from distributed import Client, LocalCluster

    # a nanny sets its pre-spawn variables in this process's environment, which every later worker inherits
    os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    trim = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 65536 if dask_malloc else None}
    with warnings.catch_warnings(), dask.config.set(trim):
        # the scheduler's HTTP server moves off a busy port 8787 by itself
        warnings.filterwarnings("ignore", message="Port 8787 is already in use", category=UserWarning)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None,
                               env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    client = Client(cluster)
    client.wait_for_workers(workers)
    return cluster, client


def persisted(client, rows, parts):
    """The simulated frame of `rows` rows in `parts` partitions, generated and held on the workers."""
    import dask.dataframe as dd
    from distributed import wait

    per_part = rows // parts
    meta = make_partition(0, GROUP_SIZE).iloc[:0]
    ddf = dd.from_map(make_partition, range(parts), rows=per_part, meta=meta).persist()
    wait(ddf)
    return ddf


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


# fit(..., progress=True) on a Dask frame: one line per optimizer step with its distributed passes and their time
PROGRESS = re.compile(r"step\s+\d+: log-likelihood \S+\s+(\d+) pass(?:es)? (\d+) ms")


def dask_fit(ddf, client):
    """The timed Dask fit: the call a user makes (grouping check included), wall seconds and the result, with
    ``res.eval_ms``: the wall time of every optimizer step made of a single distributed pass (from the progress
    lines; the others hold line-search trials or the Hessian's batched pass)."""
    lines = io.StringIO()
    began = time.perf_counter()
    with contextlib.redirect_stdout(lines):
        res = quiet(fit, FORMULA, ddf, client=client, progress=True)
    wall = time.perf_counter() - began
    res.eval_ms = [int(m.group(2)) for m in PROGRESS.finditer(lines.getvalue()) if m.group(1) == "1"]
    return wall, res


def pandas_fit(frame):
    began = time.perf_counter()
    res = quiet(fit, FORMULA, frame)
    return time.perf_counter() - began, res


def passes_of(res, workers):
    """What a Dask fit recorded: its passes (all, and the optimizer's evaluation passes), the median wall time of
    an evaluation pass (of the optimizer steps made of one pass; medians, as the polish's batched passes carry 2n
    points), the median compute of the evaluation passes' tasks per worker, the rest (latency: the client, the
    scheduler, the transfers), and the setup stages (agreement pass, grouping check, build)."""
    objective = res.objective
    timings = dict(objective.timings)
    seconds = np.asarray(objective.pass_seconds, dtype=float)
    wall = np.asarray(res.eval_ms, dtype=float) / 1e3
    task = np.asarray(objective.task_seconds, dtype=float) / workers
    if wall.size == 0:
        raise RuntimeError("no progress line of a one-pass optimizer step: the progress format changed, update "
                           "PROGRESS")
    return {"passes": int(objective.passes), "eval_passes": int(task.size),
            "evaluations": int(objective.evaluations),
            "pass_seconds": seconds.tolist(), "eval_pass_seconds": wall.tolist(),
            "eval_pass": float(np.median(wall)), "task_per_worker": float(np.median(task)),
            "latency": float(np.median(wall) - np.median(task)), "timings": timings,
            "setup": timings["agreement"] + timings.get("grouping", 0.0) + timings["build"]}


def agreement(res, ref):
    return (float(np.max(np.abs(np.asarray(res.x) - np.asarray(ref.x)))),
            float(abs(res.llf - ref.llf) / abs(ref.llf)))


def fmt(seconds):
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1e3:.0f} ms"


def overhead(conf):
    rows, parts, repeat = conf["overhead_rows"], conf["overhead_parts"], conf["repeat"]
    out = {}
    for label, dask_malloc in (("recommended", False), ("dask_default_malloc", True)):
        print(f"== overhead ({label}): {rows:.0e} rows, {parts} partitions, 2 workers; best of {repeat} "
              f"(load {load_average():.2f})")
        out[label] = overhead_one(rows, parts, repeat, dask_malloc)
    return out


def overhead_one(rows, parts, repeat, dask_malloc):
    cluster, client = start_cluster(2, dask_malloc)
    try:
        ddf = persisted(client, rows, parts)
        frame = ddf.compute().reset_index(drop=True)   # the reference's copy, collected once, outside the clocks
        data_bytes = int(frame.memory_usage(deep=True).sum())
        quiet(fit, FORMULA, frame.iloc[:20_000])        # warm-ups: first calls here and on the workers
        dask_fit(persisted(client, 20_000, parts), client)
        dask_times, pandas_times, loads, cpu = [], [], [], []
        for _ in range(repeat):
            loads.append(load_average())
            began = time.process_time()
            t, ref = pandas_fit(frame)
            pandas_cpu = time.process_time() - began
            pandas_times.append(t)
            # CPU seconds as well as wall: on a shared machine they show what the load took away
            workers_before, began = client.run(time.process_time), time.process_time()
            t, res = dask_fit(ddf, client)
            driver_cpu = time.process_time() - began
            workers_cpu = [after - workers_before[w] for w, after in client.run(time.process_time).items()]
            cpu.append({"pandas": pandas_cpu, "driver": driver_cpu, "workers": workers_cpu})
            if not dask_times or t < min(dask_times):
                best = passes_of(res, 2)
            dask_times.append(t)
        loads.append(load_average())
        dx, dllf = agreement(res, ref)
        out = {"rows": rows, "partitions": parts, "workers": 2, "dask_malloc": dask_malloc, "data_bytes": data_bytes,
               "pandas_seconds": pandas_times, "dask_seconds": dask_times,
               "ratio": min(dask_times) / min(pandas_times), **best,
               "pandas_evaluations": int(ref.outcome.n_evaluations), "pandas_per_evaluation":
               min(pandas_times) / int(ref.outcome.n_evaluations),
               "max_abs_dx": dx, "rel_dllf": dllf, "converged": bool(res.converged), "load": loads, "cpu": cpu,
               "cpu_pandas": min(c["pandas"] for c in cpu), "cpu_busiest_worker": min(max(c["workers"]) for c in cpu),
               "cpu_driver": min(c["driver"] for c in cpu)}
    finally:
        client.close()
        cluster.close()
    print(f"  pandas fit {fmt(min(pandas_times))} (best of {[round(t, 2) for t in pandas_times]}), "
          f"{out['pandas_evaluations']} evaluations; CPU: pandas fit {fmt(out['cpu_pandas'])}, Dask fit's busiest "
          f"worker {fmt(out['cpu_busiest_worker'])} and driver (client and scheduler) {fmt(out['cpu_driver'])}")
    print(f"  Dask fit   {fmt(min(dask_times))} (best of {[round(t, 2) for t in dask_times]}): {best['passes']} "
          f"passes ({best['eval_passes']} of the optimizer, {best['evaluations']} points), evaluation pass "
          f"{fmt(best['eval_pass'])} (tasks "
          f"{fmt(best['task_per_worker'])} per worker, latency {fmt(best['latency'])}), stages "
          + ", ".join(f"{k} {fmt(v)}" for k, v in best["timings"].items()))
    print(f"  ratio {out['ratio']:.2f}   max |dx| {dx:.1e}   rel. d llf {dllf:.1e}   "
          f"load {[round(x, 2) for x in loads]}")
    return out


def least_squares(u, t):
    """(slope, intercept) of t = slope * u + intercept."""
    A = np.column_stack([np.asarray(u, dtype=float), np.ones(len(u))])
    (slope, intercept), *_ = np.linalg.lstsq(A, np.asarray(t, dtype=float), rcond=None)
    return float(slope), float(intercept)


def task_overhead(client, counts=(4, 40, 200), repeat=5):
    """Seconds per task of the client and scheduler (slope of the time to submit and gather n no-op tasks on the
    same few floats a pass sends, best of `repeat`): at W workers a pass pays it W times."""
    x = np.zeros(3)
    best = []
    for n in counts:
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            client.gather([client.submit(no_op, x, pure=False) for _ in range(n)])
            times.append(time.perf_counter() - began)
        best.append(min(times))
    sigma, base = least_squares(counts, best)
    return max(sigma, 0.0), {"counts": list(counts), "seconds": best, "base": base}


def scale(conf):
    print(f"== scale: 1 and 2 workers, 2 partitions per worker (load {load_average():.2f})")
    runs, latency = [], []
    for workers in (1, 2):
        cluster, client = start_cluster(workers)
        try:
            dask_fit(persisted(client, 20_000, 2 * workers), client)      # warm-up: imports on every worker
            for per_worker in conf["scale_rows_per_worker"]:
                rows = per_worker * workers
                ddf = persisted(client, rows, 2 * workers)
                load = load_average()
                wall, res = dask_fit(ddf, client)
                run = {"workers": workers, "rows": rows, "rows_per_worker": per_worker, "wall": wall,
                       **passes_of(res, workers), "load": load}
                run["pass_rows_per_s_per_worker"] = per_worker / run["eval_pass"]
                runs.append(run)
                print(f"  W={workers} rows={rows:.2e} ({per_worker:.2e}/worker): fit {fmt(wall)}, {run['passes']} "
                      f"passes, evaluation pass {fmt(run['eval_pass'])} (latency {fmt(run['latency'])}), setup "
                      f"{fmt(run['setup'])}; {run['pass_rows_per_s_per_worker'] / 1e6:.2f}M rows/s/worker in a pass "
                      f"(load {load:.2f})")
                del ddf
            if workers == 2:
                sigma, tasks = task_overhead(client)
                timed = ", ".join(f"{n} in {fmt(s)}" for n, s in zip(tasks["counts"], tasks["seconds"]))
                print(f"  no-op tasks: {timed}: {sigma * 1e3:.2f} ms per task")
            # the latency of a pass against the number of partitions, the rows fixed
            for parts in conf["latency_parts"]:
                ddf = persisted(client, conf["latency_rows"], parts)
                wall, res = dask_fit(ddf, client)
                record = {"workers": workers, "partitions": parts, "wall": wall, **passes_of(res, workers)}
                latency.append(record)
                print(f"  W={workers} {conf['latency_rows']:.0e} rows in {parts} partitions: evaluation pass "
                      f"{fmt(record['eval_pass'])} (latency {fmt(record['latency'])})")
                del ddf
        finally:
            client.close()
            cluster.close()
    c, lam = least_squares([r["rows_per_worker"] for r in runs], [r["eval_pass"] for r in runs])
    a, mu = least_squares([r["rows_per_worker"] for r in runs], [r["setup"] for r in runs])
    # a pass is one task per worker over its K/W partitions: latency = l0 + tau_worker K/W (per partition, in the
    # worker's task) + sigma W (per task: the client and the scheduler, measured on no-op tasks above, since two
    # workers on two cores cannot show how it grows with W); non-negative least squares: a cost below zero is
    # noise (a loaded machine), not a saving
    from scipy.optimize import nnls

    A = np.array([[1.0, r["partitions"] / r["workers"]] for r in latency])
    (l0, tau_worker), _ = nnls(A, np.array([r["latency"] - sigma * r["workers"] for r in latency]))
    print(f"  t_pass = {c * 1e6:.3f} us * rows/worker + {lam * 1e3:.1f} ms;   "
          f"t_setup = {a * 1e6:.3f} us * rows/worker + {mu * 1e3:.0f} ms")
    print(f"  latency of a pass = {l0 * 1e3:.1f} ms + {tau_worker * 1e3:.2f} ms x partitions/worker + "
          f"{sigma * 1e3:.2f} ms x workers")
    return {"runs": runs, "c": c, "lambda": lam, "a": a, "mu": mu, "latency": latency, "l0": float(l0),
            "tau_worker": float(tau_worker), "sigma": float(sigma), "no_op_tasks": tasks}


class PeakRSS:
    """The largest resident set size of this process seen while the block runs, sampled in a thread."""

    def __init__(self, interval=0.002):
        import psutil

        self.process, self.interval = psutil.Process(), interval
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self):
        gc.collect()
        self.start = self.process.memory_info().rss
        self.peak = self.start
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth(self):
        return self.peak - self.start


def memory(conf):
    rows, parts = conf["memory_rows"], conf["memory_parts"]
    print(f"== memory: {rows:.0e} rows, {parts} partitions, 2 workers (load {load_average():.2f})")
    cluster, client = start_cluster(2)
    try:
        warm = persisted(client, 40_000, parts)
        dask_fit(warm, client)       # imports and first-call caches are not the data's growth
        dask_fit(warm, client)
        del warm
        ddf = persisted(client, rows, parts)
        data_bytes = int(ddf.memory_usage(deep=True).sum().compute())
        with PeakRSS() as rss:
            wall, res = dask_fit(ddf, client)
        out = {"rows": rows, "partitions": parts, "data_bytes": data_bytes, "rss_start": rss.start,
               "rss_peak": rss.peak, "growth": rss.growth, "fraction": rss.growth / data_bytes, "wall": wall,
               "converged": bool(res.converged), "load": load_average()}
    finally:
        client.close()
        cluster.close()
    print(f"  data {data_bytes / 2**20:.1f} MiB on the workers; driver RSS {rss.start / 2**20:.1f} -> peak "
          f"{rss.peak / 2**20:.1f} MiB: growth {rss.growth / 2**20:.2f} MiB = {100 * out['fraction']:.2f} % of the "
          f"data (target < 10 %); fit {fmt(wall)}")
    return out


def cost_model(scale_out, overhead_out, n_params=3):
    """Bytes per pass, passes per fit and the extrapolation to TARGET_ROWS on TARGET_WORKERS workers (2 partitions
    per worker) from the constants fitted in `scale_out` and the passes counted in `overhead_out`.

    Every pass pays the latency; the compute is c N/W per point (the polish's batched pass carries 2n points), and
    the GLM start's and the checks' passes are counted at a point's cost too (they cost less: no integrals)."""
    record = overhead_out["recommended"] if overhead_out else max(scale_out["runs"], key=lambda r: r["rows"])
    passes, eval_passes, evaluations = record["passes"], record["eval_passes"], record["evaluations"]
    parts = 2 * TARGET_WORKERS
    per_worker = TARGET_ROWS / TARGET_WORKERS
    out_bytes = 8 * n_params * TARGET_WORKERS               # the parameters, to each worker's task
    back_bytes = 8 * (n_params + 1) * parts                 # a value and a gradient, from every partition
    latency = (scale_out["l0"] + scale_out["tau_worker"] * parts / TARGET_WORKERS
               + scale_out["sigma"] * TARGET_WORKERS)
    t_point = scale_out["c"] * per_worker
    t_setup = scale_out["a"] * per_worker + scale_out["mu"]
    points = evaluations + (passes - eval_passes)
    total = t_setup + passes * latency + points * t_point
    model = {"n_params": n_params, "partitions": parts, "bytes_out_per_pass": out_bytes,
             "bytes_back_per_pass": back_bytes, "passes_per_fit": passes, "evaluation_passes": eval_passes,
             "evaluations": evaluations, "rows": TARGET_ROWS, "workers": TARGET_WORKERS, "rows_per_worker": per_worker,
             "latency": latency, "t_point": t_point, "t_pass": t_point + latency, "t_setup": t_setup, "total": total}
    print(f"== cost model (y ~ x + (1 | g), Laplace, n = {n_params} parameters)")
    print(f"  per pass and point: 8 n W = {out_bytes} B out (one task per worker) and 8 (n+1) K = {back_bytes} B back "
          f"for W = {TARGET_WORKERS} workers, K = {parts} partitions (plus, per partition, the groups and rows it "
          f"covered and its compute time); the polish's batched pass carries 2n = {2 * n_params} points")
    print(f"  passes per fit: {passes} = {eval_passes} of the optimizer ({evaluations} points: L-BFGS-B's, and the "
          f"Newton polish's Hessians, 2n points in one pass) + {passes - eval_passes} for the GLM start, the "
          "separation certificate and the fitted-values check (measured above)")
    print(f"  {TARGET_ROWS:.0e} rows on {TARGET_WORKERS} workers ({per_worker:.0e} rows/worker): a point "
          f"{scale_out['c'] * 1e6:.3f} us x {per_worker:.0e} = {fmt(t_point)}, latency {fmt(latency)} per pass; "
          f"setup {scale_out['a'] * 1e6:.3f} us x {per_worker:.0e} + {fmt(scale_out['mu'])} = {fmt(t_setup)}; fit "
          f"~ {fmt(t_setup)} + {passes} x {fmt(latency)} + {points} x {fmt(t_point)} = {total / 60:.1f} min (plus "
          "one shuffle if the data are not laid out by group)")
    return model


def machine():
    cpu = cpu_name()
    import dask
    import distributed

    return [f"date {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
            f"machine {platform.platform()}, {cpu}, {os.cpu_count()} cores (1-min load {load_average():.2f})",
            f"quadlib {quadlib.__version__}, Python {platform.python_version()}, numpy {np.__version__}, "
            f"pandas {pd.__version__}, dask {dask.__version__}, distributed {distributed.__version__}"]


def table(results):
    """The markdown table for README and docs/scale.rst."""
    lines = ["| measure | value |", "|---|---|"]
    o = results.get("overhead", {}).get("recommended")
    d = results.get("overhead", {}).get("dask_default_malloc")
    if o:
        lines += [f"| {o['rows']:.0e} rows, {o['partitions']} partitions, 2 worker processes: Dask fit / pandas fit | "
                  f"{fmt(min(o['dask_seconds']))} / {fmt(min(o['pandas_seconds']))} = **{o['ratio']:.2f}** |",
                  f"| passes per fit (of the optimizer); median evaluation pass, its latency (pandas: time per "
                  f"evaluation) | {o['passes']} ({o['eval_passes']}); {fmt(o['eval_pass'])}, {fmt(o['latency'])} "
                  f"({fmt(o['pandas_per_evaluation'])}) |",
                  f"| stages of the Dask fit | " + ", ".join(f"{k} {fmt(v)}" for k, v in o["timings"].items()) + " |",
                  f"| CPU: pandas fit; Dask fit's busiest worker, driver (client and scheduler) | "
                  f"{fmt(o['cpu_pandas'])}; {fmt(o['cpu_busiest_worker'])}, {fmt(o['cpu_driver'])} |",
                  f"| agreement with the pandas fit: max abs dx, rel. d llf | {o['max_abs_dx']:.1e}, "
                  f"{o['rel_dllf']:.1e} |"]
    if d:
        lines += [f"| the same, workers with Dask's MALLOC_TRIM_THRESHOLD_=65536: Dask fit / pandas fit; evaluation "
                  f"pass | {fmt(min(d['dask_seconds']))} / {fmt(min(d['pandas_seconds']))} = {d['ratio']:.2f}; "
                  f"{fmt(d['eval_pass'])} |"]
    s = results.get("scale")
    if s:
        for workers in (1, 2):
            runs = [r for r in s["runs"] if r["workers"] == workers]
            if runs:
                cells = ", ".join(f"{r['rows_per_worker']:.3g}: {r['pass_rows_per_s_per_worker'] / 1e6:.2f}M "
                                  f"({fmt(r['wall'])})" for r in runs)
                lines.append(f"| {workers} worker(s), rows/worker: rows/s/worker in an evaluation pass (fit) | "
                             f"{cells} |")
        lines += [f"| t_pass = c N/W + lambda | c = {s['c'] * 1e6:.3f} us/row, lambda = {s['lambda'] * 1e3:.1f} ms |",
                  f"| t_setup = a N/W + mu (agreement, grouping check, build) | a = {s['a'] * 1e6:.3f} us/row, "
                  f"mu = {s['mu'] * 1e3:.0f} ms |",
                  f"| latency of a pass, K partitions on W workers | {s['l0'] * 1e3:.1f} ms + "
                  f"{s['tau_worker'] * 1e3:.2f} ms x K/W + {s['sigma'] * 1e3:.2f} ms x W |"]
    m = results.get("model")
    if m:
        lines.append(f"| extrapolated: {m['rows']:.0e} rows on {m['workers']} workers ({m['partitions']} partitions) | "
                     f"{fmt(m['t_point'])} per point + {fmt(m['latency'])} per pass, {m['passes_per_fit']} passes, "
                     f"setup {fmt(m['t_setup'])}: ~{m['total'] / 60:.1f} min |")
    mem = results.get("memory")
    if mem:
        lines.append(f"| driver peak RSS growth, {mem['rows']:.0e} rows ({mem['data_bytes'] / 2**20:.0f} MiB of "
                     f"data) | {mem['growth'] / 2**20:.2f} MiB = **{100 * mem['fraction']:.2f} %** of the data |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the script, not the claims")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated, from: " + ", ".join(SECTIONS))
    parser.add_argument("--json", default=str(HERE / "dask_report.json"), help="where the figures are written")
    args = parser.parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    try:
        import distributed  # noqa: F401
        import psutil  # noqa: F401
    except ImportError as missing:
        parser.error(f"{missing.name} is not installed: pip install 'quadlib[dask]' psutil")
    conf = QUICK if args.quick else FULL
    info = machine()
    for line in info:
        print(line)
    results = {"machine": info, "quick": args.quick, "config": conf}
    if "overhead" in sections:
        results["overhead"] = overhead(conf)
    if "scale" in sections:
        results["scale"] = scale(conf)
        results["model"] = cost_model(results["scale"], results.get("overhead"))
    if "memory" in sections:
        results["memory"] = memory(conf)
    results["load_end"] = load_average()
    print("\n" + table(results))
    print(f"  {info[0]}; 1-min load at the end {results['load_end']:.2f}")
    Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    print(f"  written to {args.json}")


if __name__ == "__main__":
    main()
