"""Issue 21, item 5: the efficiency of quadlib's error estimates, each figure against its peer in ONE run.

1. The d = 5 Genz Gaussian peak exp(-sum 9 (x_i - 0.4)^2) on [0, 1]^5 to rtol 1e-8 with
   ``cubature(method="sparse_adaptive")`` and ``method="genz_malik"``: time (best of the repeats), nfev,
   the estimate, the true error (closed form, erf) and their ratio. Contract: < 1 s, the estimate within
   100x of the true error and never below it.
2. A batch of 10^4 integrals of exp(-k x) on [0, 1], k = 0.1 .. 10, at rtol 1e-12: ``quad`` batched over
   `args` (vectorized) against ``scipy.integrate.tanhsinh`` (contract: <= 0.3x its time), and the shared
   subdivision (``quad(..., shared=True)`` and ``quad_vec``, whichever quadlib exposes) against
   ``scipy.integrate.quad_vec`` (contract: <= 1.0x). Every result is checked against (1 - e^-k) / k.
3. With ``--battery``: the honesty of sparse_adaptive on Genz's six families, d = 2..6, random parameters,
   rtol 1e-6 and 1e-10 (claimed successes, silent failures, honest failures, median nfev). ``--json FILE``
   writes the rows, ``--before FILE`` prints the median nfev of an earlier run (e.g. the previous commit
   run with ``--json``) beside this one.

Usage: python asv_bench/efficiency_report.py [--repeat 5] [--battery [--draws 20] [--seed 90000]
[--max-nfev 1000000] [--json FILE] [--before FILE]]. Timings are only meaningful on a quiet machine.
"""
import argparse
import collections
import datetime
import json
import platform
import sys
import time
import warnings

import numpy as np
import scipy
import scipy.integrate as si
from scipy.special import erf

import quadlib


def best_time(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def gaussian_peak():
    d, c, w = 5, 3.0, 0.4
    exact = (np.sqrt(np.pi) / (2 * c) * (erf(c * (1 - w)) + erf(c * w))) ** d
    return (lambda x: np.exp(-np.sum((c * (x - w)) ** 2, axis=1))), d, float(exact)


def peak_section(repeat):
    f, d, exact = gaussian_peak()
    print(f"== d = 5 Gaussian peak (c = 3, w = 0.4) on [0, 1]^5, rtol 1e-8; exact {exact!r}; best of {repeat}")
    print(f"   {'method':16s} {'time':>8s} {'nfev':>9s} {'success':>7s} {'estimate':>9s} {'true err':>9s} "
          f"{'est/true':>9s}")
    for method in ("sparse_adaptive", "genz_malik"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, res = best_time(lambda: quadlib.cubature(f, np.zeros(d), np.ones(d), rtol=1e-8, method=method),
                               repeat)
        err = abs(float(res.integral) - exact)
        ratio = res.error / err if err > 0 else np.inf
        print(f"   {method:16s} {t:7.3f}s {res.nfev:9d} {str(res.success):>7s} {res.error:9.2e} {err:9.2e} "
              f"{ratio:9.1e}")
    print("   contract: sparse_adaptive < 1 s with 1 <= est/true <= 100")


def batch_section(repeat):
    k = np.linspace(0.1, 10.0, 10_000)
    exact = -np.expm1(-k) / k
    g = lambda x, k: np.exp(-k * x)  # noqa: E731
    print(f"== 10^4 integrals of exp(-k x) on [0, 1], k = 0.1 .. 10, rtol 1e-12; best of {repeat}")
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows.append(("quadlib quad, batch over args", *best_time(
            lambda: quadlib.quad(g, 0.0, 1.0, args=(k,), vectorized=True, rtol=1e-12), repeat)))
        rows.append(("scipy tanhsinh", *best_time(lambda: si.tanhsinh(g, 0.0, 1.0, args=(k,), rtol=1e-12), repeat)))
        shared = []
        try:
            quadlib.quad(g, 0.0, 1.0, args=(k,), vectorized=True, rtol=1e-12, shared=True)
            shared.append(("quadlib quad shared=True", *best_time(
                lambda: quadlib.quad(g, 0.0, 1.0, args=(k,), vectorized=True, rtol=1e-12, shared=True), repeat)))
        except TypeError:  # not there yet
            pass
        if hasattr(quadlib, "quad_vec"):
            shared.append(("quadlib quad_vec norm=max", *best_time(
                lambda: quadlib.quad_vec(lambda x: np.exp(-k * x), 0.0, 1.0, rtol=1e-12, norm="max"), repeat)))
        # the vector-valued integrand on the ordinary engine (one state, m = 10^4 components)
        shared.append(("quadlib quad, vector-valued f", *best_time(
            lambda: quadlib.quad(lambda x: np.exp(-k * x), 0.0, 1.0, rtol=1e-12), repeat)))
        rows += shared
        rows.append(("scipy quad_vec norm=max", *best_time(
            lambda: si.quad_vec(lambda x: np.exp(-k * x), 0.0, 1.0, epsabs=0.0, epsrel=1e-12, norm="max"),
            repeat)))
    times = {name: t for name, t, _ in rows}
    for name, t, res in rows:
        integral = np.asarray(res[0] if isinstance(res, tuple) else res.integral)
        err = float(np.max(np.abs(integral - exact) / exact))
        if isinstance(res, tuple):  # scipy quad_vec: (integral, error)
            ok, nfev = "-", "-"
        else:
            ok = str(bool(np.all(res.success)))
            nfev = int(np.sum(res.nfev)) if np.ndim(res.nfev) and name.startswith(("quadlib quad,", "scipy")) \
                and "shared" not in name else int(np.max(res.nfev))
        print(f"   {name:32s} {t:8.4f} s  max rel. error {err:.1e}  success {ok:5s} nfev {nfev}")
    ours = times["quadlib quad, batch over args"]
    print(f"   batch / tanhsinh: {ours / times['scipy tanhsinh']:.2f} (contract <= 0.3)")
    for name, t, _ in shared:
        print(f"   {name} / scipy quad_vec: {t / times['scipy quad_vec norm=max']:.2f} (contract <= 1.0)")


# ------------------------------------------------------------------------------------------ Genz battery
def battery_rows(draws, seed, max_nfev, families=None, dims=range(2, 7), rtols=(1e-6, 1e-10),
                 method="sparse_adaptive", progress=False):
    """One row per run: the claimed success, the estimate, the true error (closed form) and nfev; a run that
    raised is a row with status -1 and the exception (progress on stderr if asked)."""
    from quadlib.benchmark import genz_problem
    from quadlib.benchmark._genz import FAMILIES

    rows = []
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rtol in rtols:
            for family in families or FAMILIES:
                for d in dims:
                    for s in range(seed, seed + draws):
                        p = genz_problem(family, d, seed=s)
                        try:
                            res = quadlib.cubature(p.f, np.zeros(d), np.ones(d), rtol=rtol, method=method,
                                                   max_nfev=max_nfev)
                        except Exception as exc:  # a defect (an exception must never reach the user): counted
                            rows.append(dict(rtol=rtol, family=family, d=d, seed=s, success=False, status=-1,
                                             estimate=np.nan, error=np.nan, tolerance=np.nan, nfev=max_nfev,
                                             exception=f"{type(exc).__name__}: {exc}"))
                            continue
                        rows.append(dict(rtol=rtol, family=family, d=d, seed=s, success=bool(res.success),
                                         status=int(res.status), estimate=float(res.error),
                                         error=float(abs(res.integral - p.exact)),
                                         tolerance=rtol * abs(float(res.integral)), nfev=int(res.nfev)))
                    if progress:
                        print(f"   ... rtol {rtol:.0e} {family} d={d} done, {time.perf_counter() - start:.0f} s",
                              file=sys.stderr, flush=True)
    return rows


def silent(row):
    """success=True with a true error above the estimate or above the tolerance."""
    return row["success"] and (row["error"] > row["estimate"] or row["error"] > row["tolerance"])


def battery_table(rows, before=None):
    cells = collections.defaultdict(list)
    for r in rows:
        cells[(r["rtol"], r["family"], r["d"])].append(r)
    old = collections.defaultdict(list)
    for r in before or []:
        old[(r["rtol"], r["family"], r["d"])].append(r)
    print(f"   {'rtol':6s} {'family':14s} {'d':>2s} {'runs':>4s} {'claimed':>7s} {'silent':>6s} {'honest':>6s} "
          f"{'med nfev':>9s}" + (f" {'before':>9s} {'claimed':>7s}" if before else "") + f" {'med est/true':>12s}")
    totals = collections.Counter()
    for key in sorted(cells, key=lambda k: (-k[0], k[1], k[2])):
        rs = cells[key]
        claimed = [r for r in rs if r["success"]]
        bad = [r for r in rs if silent(r)]
        crashed = [r for r in rs if r.get("exception")]
        ratios = [r["estimate"] / r["error"] for r in claimed if r["error"] > 0]
        line = (f"   {key[0]:6.0e} {key[1]:14s} {key[2]:2d} {len(rs):4d} {len(claimed):7d} {len(bad):6d} "
                f"{len(rs) - len(claimed):6d} {np.median([r['nfev'] for r in rs]):9.0f}")
        if before:
            ob = old.get(key, [])
            line += (f" {np.median([r['nfev'] for r in ob]) if ob else np.nan:9.0f} "
                     f"{sum(r['success'] for r in ob):7d}")
            totals["claimed before"] += sum(r["success"] for r in ob)
            totals["silent before"] += sum(silent(r) for r in ob)
        line += f" {np.median(ratios) if ratios else np.nan:12.1e}"
        print(line)
        for r in crashed:
            print(f"      EXCEPTION: seed {r['seed']}: {r['exception']}")
        totals["exceptions"] += len(crashed)
        if before:
            totals["exceptions before"] += sum(bool(r.get("exception")) for r in old.get(key, []))
        for r in bad:
            print(f"      SILENT: seed {r['seed']} estimate {r['estimate']:.2e} true error {r['error']:.2e} "
                  f"tolerance {r['tolerance']:.2e}")
        totals["runs"] += len(rs)
        totals["claimed"] += len(claimed)
        totals["silent"] += len(bad)
    totals["honest failures"] = totals["runs"] - totals["claimed"] - totals["exceptions"]
    print("   totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    if before:
        common = [(r, o) for r in rows for o in before
                  if (r["rtol"], r["family"], r["d"], r["seed"]) == (o["rtol"], o["family"], o["d"], o["seed"])]
        if common:
            both = [(r, o) for r, o in common if r["success"] and o["success"]]
            print(f"   median nfev, all runs: {np.median([r['nfev'] for r, _ in common]):.0f} after, "
                  f"{np.median([o['nfev'] for _, o in common]):.0f} before; on the runs both claimed "
                  f"({len(both)}): median ratio after/before "
                  f"{np.median([r['nfev'] / o['nfev'] for r, o in both]) if both else np.nan:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--battery", action="store_true")
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--seed", type=int, default=90_000)
    parser.add_argument("--max-nfev", type=int, default=1_000_000)
    parser.add_argument("--json")
    parser.add_argument("--before")
    parser.add_argument("--skip-timings", action="store_true")
    args = parser.parse_args()
    print(f"# quadlib {quadlib.__version__}, scipy {scipy.__version__}, numpy {np.__version__}, "
          f"{platform.machine()} {platform.python_version()}, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    if not args.skip_timings:
        peak_section(args.repeat)
        batch_section(args.repeat)
    if args.battery:
        print(f"== sparse_adaptive on Genz's six families, d = 2..6, rtol 1e-6 and 1e-10, {args.draws} draws "
              f"(seeds {args.seed}..{args.seed + args.draws - 1}), max_nfev {args.max_nfev}")
        rows = battery_rows(args.draws, args.seed, args.max_nfev, progress=True)
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(rows, fh)
        before = None
        if args.before:
            with open(args.before) as fh:
                before = json.load(fh)
        battery_table(rows, before)


if __name__ == "__main__":
    main()
