"""Issue 21's Genz protocol for ``cubature(method="genz_malik")`` without `points`.

Genz's six families in d = 2..6, `--draws` random members each (seeds ``--seed0 + draw``), at rtol 1e-6 and
1e-10, ``max_nfev = 10**6``. Per family, d and rtol the table gives: the runs that claimed success, the
silent failures among them (true error above the tolerance or above the reported estimate; ">tol" counts
those above the tolerance, the contract's definition; both must be 0),
the honest failures (success=False), the cases the baseline claimed wrongly that now fail honestly, and the
median ratio nfev(now) / nfev(baseline) over the cases both solve (the contract asks <= 1.5).

The exact integrals are Genz's closed forms (`quadlib.benchmark.genz_problem`), never the code under test.
The baseline is a JSON file of the same records made by this script with an earlier quadlib (``--out``
on that checkout): commit 573137e, before the null rules, is stored beside this script as
``genz_honesty_baseline.json.gz`` (seeds 73000-73099).

Usage::

    python asv_bench/genz_honesty_report.py --out now.json [--baseline asv_bench/genz_honesty_baseline.json.gz]
        [--draws 100] [--seed0 73000] [--families gaussian,continuous] [--dims 2,3]
"""
import argparse
import gzip
import json
import math
import os
import time
import warnings

import numpy as np

import quadlib
from quadlib.benchmark import genz_problem
from quadlib.benchmark._genz import FAMILIES

RTOLS = (1e-6, 1e-10)
MAX_NFEV = 10 ** 6


def run_case(family, d, seed, rtol):
    """One run: the record (family, d, seed, rtol, success, estimate, true error, nfev, tolerance)."""
    problem = genz_problem(family, d, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = quadlib.cubature(problem.f, np.zeros(d), np.ones(d), rtol=rtol, method="genz_malik",
                               max_nfev=MAX_NFEV)
    return {"family": family, "d": d, "seed": seed, "rtol": rtol, "success": bool(res.success),
            "error": float(res.error), "true": float(abs(res.integral - problem.exact)), "nfev": int(res.nfev),
            "tolerance": float(rtol * abs(problem.exact))}


def silent(rec):
    """A claimed success whose true error exceeds the tolerance or the reported estimate."""
    return rec["success"] and (rec["true"] > rec["tolerance"] or rec["true"] > rec["error"])


def over_tolerance(rec):
    """A claimed success whose true error exceeds the tolerance (the contract's silent failure)."""
    return rec["success"] and rec["true"] > rec["tolerance"]


def table(records, baseline=None):
    """The protocol table as text lines."""
    base = {(r["family"], r["d"], r["seed"], r["rtol"]): r for r in (baseline or [])}
    lines = [f"{'family':14s} {'d':>2s} {'rtol':>6s} {'runs':>5s} {'claimed':>7s} {'silent':>6s} {'>tol':>4s} "
             f"{'honest':>6s} "
             f"{'base claimed':>12s} {'base silent':>11s} {'fixed':>5s} {'both':>4s} {'nfev ratio':>10s}"]
    groups = {}
    for r in records:
        groups.setdefault((r["family"], r["d"], r["rtol"]), []).append(r)
    totals = {"runs": 0, "claimed": 0, "silent": 0, "over": 0, "honest": 0, "fixed": 0, "base_silent": 0}
    ratios_all = []
    for (family, d, rtol), recs in sorted(groups.items(), key=lambda kv: (FAMILIES.index(kv[0][0]), kv[0][1],
                                                                           -kv[0][2])):
        claimed = sum(r["success"] for r in recs)
        bad = sum(silent(r) for r in recs)
        honest = sum(not r["success"] for r in recs)
        old = [base.get((family, d, r["seed"], rtol)) for r in recs]
        have = [o for o in old if o is not None]
        fixed = sum(1 for r, o in zip(recs, old) if o is not None and silent(o) and not r["success"])
        ratios = [r["nfev"] / o["nfev"] for r, o in zip(recs, old)
                  if o is not None and r["success"] and o["success"] and not silent(o) and o["nfev"]]
        ratios_all += ratios
        ratio = f"{np.median(ratios):10.2f}" if ratios else f"{'-':>10s}"
        base_claimed = f"{sum(o['success'] for o in have):12d}" if have else f"{'-':>12s}"
        base_silent = f"{sum(silent(o) for o in have):11d}" if have else f"{'-':>11s}"
        lines.append(f"{family:14s} {d:2d} {rtol:6.0e} {len(recs):5d} {claimed:7d} {bad:6d} "
                     f"{sum(over_tolerance(r) for r in recs):4d} {honest:6d} "
                     f"{base_claimed} {base_silent} {fixed:5d} {len(ratios):4d} {ratio}")
        totals["runs"] += len(recs)
        totals["claimed"] += claimed
        totals["silent"] += bad
        totals["over"] += sum(over_tolerance(r) for r in recs)
        totals["honest"] += honest
        totals["fixed"] += fixed
        totals["base_silent"] += sum(silent(o) for o in have)
    lines.append(f"total: {totals['runs']} runs, {totals['claimed']} claimed, {totals['silent']} silent "
                 f"({totals['over']} beyond the tolerance), "
                 f"{totals['honest']} honest failures; baseline silent {totals['base_silent']}, of which "
                 f"{totals['fixed']} now fail honestly; median nfev ratio over {len(ratios_all)} cases both "
                 f"solve: {np.median(ratios_all) if ratios_all else math.nan:.2f}")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--seed0", type=int, default=73_000)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--dims", default="2,3,4,5,6")
    parser.add_argument("--rtols", default=",".join(str(r) for r in RTOLS))
    parser.add_argument("--out", default=None, help="write the records (JSON) here")
    parser.add_argument("--baseline", default=os.path.join(os.path.dirname(__file__),
                                                           "genz_honesty_baseline.json.gz"))
    opts = parser.parse_args()
    families = opts.families.split(",")
    dims = [int(x) for x in opts.dims.split(",")]
    rtols = [float(x) for x in opts.rtols.split(",")]
    records, start = [], time.perf_counter()
    for family in families:
        for d in dims:
            for rtol in rtols:
                for draw in range(opts.draws):
                    records.append(run_case(family, d, opts.seed0 + draw, rtol))
            print(f"# {family} d={d} done at {time.perf_counter() - start:.0f} s", flush=True)
    if opts.out:
        with (gzip.open if opts.out.endswith(".gz") else open)(opts.out, "wt") as fh:
            json.dump(records, fh)
    baseline = None
    if opts.baseline and os.path.exists(opts.baseline):
        with (gzip.open if opts.baseline.endswith(".gz") else open)(opts.baseline, "rt") as fh:
            baseline = json.load(fh)
    print(f"quadlib {quadlib.__version__}, draws {opts.draws}, seeds {opts.seed0}..{opts.seed0 + opts.draws - 1}, "
          f"max_nfev {MAX_NFEV}, {time.perf_counter() - start:.0f} s")
    print("\n".join(table(records, baseline)))


if __name__ == "__main__":
    main()
