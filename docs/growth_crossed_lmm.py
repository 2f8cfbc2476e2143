"""How the time of a crossed linear mixed model fit grows with the number of rows (issue 17's growth plot).

    python docs/growth_crossed_lmm.py                   # 1e4 .. 1e6 rows (a few minutes)
    python docs/growth_crossed_lmm.py --sizes 10000,100000 --out /tmp/growth.png

Model: ``y ~ x + (1 | subj) + (1 | item)`` (REML, quadlib.glmm.lmm with its defaults), simulated with a fixed
seed: every subject rates 20 distinct items, so there are N / 20 subjects (500 to 50,000); the item factor has
1,000 levels at every size. The second factor is kept fixed (the issue asks for at most 5,000 levels) because
the blocked Cholesky factor holds a dense block for it: its cost is m_item^3 / 3 flops per evaluation whatever
N is, while the rest of the work (the scatter of Z'Z, the sparse rank update of the item block by the subject
block, the solves) is linear in N. So the fitted slope of log(time) against log(N) says how the rows cost:
below 1 while the fixed dense part still weighs, 1 at most once the linear part dominates. The slope over the
sizes from 1e5 on is printed too. Times are CPU seconds (time.process_time) of the whole ``lmm`` call (design,
fit and results), one run per size after a warm-up fit, BLAS at one thread.

Writes the figure (default docs/images/growth_crossed_lmm.png) and the measurements beside it (.json), and
prints the slope.
"""
import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIZES = (10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000)
PER_SUBJECT = 20
N_ITEMS = 1_000


def simulate(n, seed=17):
    """The crossed data set with `n` rows (a multiple of 20): subjects, items, x and y."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_subj = n // PER_SUBJECT
    n_item = N_ITEMS
    subj = np.repeat(np.arange(n_subj), PER_SUBJECT)
    # each subject sees 20 distinct items, evenly spaced from a random first one
    spacing = max(1, n_item // PER_SUBJECT)
    item = ((rng.integers(0, n_item, n_subj)[:, None] + spacing * np.arange(PER_SUBJECT)) % n_item).ravel()
    x = rng.standard_normal(n)
    y = (1.0 + 0.5 * x + 0.8 * rng.standard_normal(n_subj)[subj] + 0.5 * rng.standard_normal(n_item)[item]
         + rng.standard_normal(n))
    return pd.DataFrame({
        "y": y, "x": x,
        "subj": pd.Categorical.from_codes(subj, [f"s{i}" for i in range(n_subj)]),
        "item": pd.Categorical.from_codes(item, [f"i{i}" for i in range(n_item)]),
    })


def time_fit(data):
    from quadlib.glmm import lmm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        began_cpu, began = time.process_time(), time.perf_counter()
        result = lmm("y ~ x + (1 | subj) + (1 | item)", data)
        return time.process_time() - began_cpu, time.perf_counter() - began, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES), help="rows, comma-separated")
    parser.add_argument("--out", default=str(HERE / "images" / "growth_crossed_lmm.png"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if any(n < N_ITEMS or n % PER_SUBJECT or n > 10_000_000 for n in sizes) or len(sizes) < 2:
        parser.error(f"`--sizes`: at least two row counts, multiples of {PER_SUBJECT} in [{N_ITEMS}, 1e7]")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import quadlib

    time_fit(simulate(4_000))   # warm-up: imports and first calls
    rows = []
    for n in sizes:
        data = simulate(n)
        cpu, wall, result = time_fit(data)
        rows.append({"rows": n, "subjects": int(data.subj.cat.categories.size),
                     "items": int(data.item.cat.categories.size), "cpu_seconds": cpu, "wall_seconds": wall,
                     "converged": bool(result.converged), "theta": np.asarray(result.theta).tolist()})
        print(f"{n:>9d} rows, {rows[-1]['subjects']:>6d} x {rows[-1]['items']:>5d}: {cpu:8.2f} s CPU "
              f"({wall:.2f} s wall), converged {result.converged}", flush=True)
        del data, result
    n = np.array([r["rows"] for r in rows], dtype=float)
    t = np.array([r["cpu_seconds"] for r in rows])
    slope, intercept = np.polyfit(np.log10(n), np.log10(t), 1)
    large = n >= 1e5
    tail = float(np.polyfit(np.log10(n[large]), np.log10(t[large]), 1)[0]) if large.sum() >= 2 else None
    print(f"log-log slope {slope:.2f} (time ~ rows^{slope:.2f})"
          + (f"; from 1e5 rows on {tail:.2f}" if tail is not None else ""))

    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.loglog(n, t, "o", label="quadlib.glmm.lmm (CPU seconds)")
    grid = np.logspace(np.log10(n.min()), np.log10(n.max()), 50)
    ax.loglog(grid, 10 ** intercept * grid ** slope, "-", label=f"fit: time ~ rows$^{{{slope:.2f}}}$")
    ax.loglog(grid, t[0] * grid / n[0], ":", color="gray", label="linear (slope 1)")
    ax.set_xlabel("rows")
    ax.set_ylabel("fit time (s)")
    ax.set_title("y ~ x + (1 | subj) + (1 | item), REML: 20 items per subject,\n"
                 f"N/20 subjects, {N_ITEMS} items" + (f"; slope from 1e5 rows: {tail:.2f}" if tail is not None
                                                       else ""), fontsize=10)
    ax.legend(fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    out.with_suffix(".json").write_text(json.dumps({
        "model": "y ~ x + (1 | subj) + (1 | item), REML", "slope": slope, "slope_from_1e5": tail, "measurements": rows,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "quadlib": quadlib.__version__,
        "machine": f"{platform.platform()}, {cpu}, {os.cpu_count()} cores",
        "python": platform.python_version(), "numpy": np.__version__}, indent=2) + "\n")
    print(f"wrote {out} and {out.with_suffix('.json')}")
    return slope


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
