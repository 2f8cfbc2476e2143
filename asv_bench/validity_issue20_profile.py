"""Issue 20 validity simulation (design note section 9): the coverage of the profile-likelihood interval of the
fixed slope, and of the random-intercept SD, in a binomial random-intercept model.

    python asv_bench/validity_issue20_profile.py                          # 1000 sets
    python asv_bench/validity_issue20_profile.py --sets 100 --workers 2
    python asv_bench/validity_issue20_profile.py --no-sd                  # the slope only (the contract's figure)

The model: binomial (Bernoulli), 20 groups x 5, eta = -0.5 + 1.0 x + b_g, x ~ N(0, 1) within groups, b ~ N(0, 1),
drawn by ``benchmarks._simulate.binomial_intercept`` with seed ``seed + s`` for set s, fitted as
``y ~ x + (1 | g)`` by the Laplace approximation. The figure is the share of sets whose 95 % profile interval
``conf_int(method="profile")`` of the slope covers 1.0; the contract's band is [93.5, 96.5] % (Monte Carlo SE
0.69 % with 1000 sets). Beside it, the coverage of the true SD 1.0 by the variance component's profile interval
(``quadlib.glmm._varcomp.varcomp_conf_int``, lme4's devfun2 construction), which has no contract band: the
Laplace approximation biases the SD of a binary model downward, so it may fall short.

A fit that does not converge, or an interval with a NaN end, is counted, printed and left out. The loop is
bounded by ``--sets`` (at most 100,000); each fit and each profile refit by the optimizer's iteration limit,
each interval end by ``profile_interval``'s 60 bracketing steps.
"""
import argparse
import math
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

TRUE_SLOPE, TRUE_SD = 1.0, 1.0


def one_set(s, seed, sd):
    """(slope covered, sd covered or NaN, usable slope, usable sd) of set s."""
    from benchmarks._simulate import binomial_intercept
    from quadlib.glmm import fit
    from quadlib.glmm._varcomp import varcomp_conf_int

    data = binomial_intercept(20, 5, beta=(-0.5, TRUE_SLOPE), sd=TRUE_SD, seed=seed + s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit("y ~ x + (1 | g)", data, family="binomial")
        if not result.converged:
            return math.nan, math.nan, False, False
        lower, upper = result.conf_int(method="profile").loc["x"]
        slope_ok = math.isfinite(lower) and math.isfinite(upper)
        covered = float(lower <= TRUE_SLOPE <= upper) if slope_ok else math.nan
        sd_covered, sd_ok = math.nan, False
        if sd:
            low, high = varcomp_conf_int(result).iloc[0]
            sd_ok = math.isfinite(low) and math.isfinite(high)
            sd_covered = float(low <= TRUE_SD <= high) if sd_ok else math.nan
    return covered, sd_covered, slope_ok, sd_ok


def _chunk(args):
    start, stop, seed, sd = args
    from quadlib.glmm._optimize import blas_controller   # one BLAS thread per worker

    with blas_controller().limit(limits=1, user_api="blas"):
        return [one_set(s, seed, sd) for s in range(start, stop)]


def profile_coverage(sets=1000, seed=2021, workers=1, sd=True):
    """Run the simulation; returns a dict with the coverages (%), the sets used and the seconds."""
    if not 1 <= sets <= 100_000:
        raise ValueError(f"`sets` must be between 1 and 100000, got {sets}")
    if not 1 <= workers <= 256:
        raise ValueError(f"`workers` must be between 1 and 256, got {workers}")
    t0 = time.perf_counter()
    if workers == 1:
        rows = [one_set(s, seed, sd) for s in range(sets)]
    else:
        step = max(1, sets // (4 * workers))
        chunks = [(a, min(a + step, sets), seed, sd) for a in range(0, sets, step)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = [row for part in pool.map(_chunk, chunks) for row in part]
    seconds = time.perf_counter() - t0
    covered, sd_covered, ok, sd_ok = (np.array(col) for col in zip(*rows))
    ok, sd_ok = ok.astype(bool), sd_ok.astype(bool)
    n, n_sd = int(ok.sum()), int(sd_ok.sum())
    return {"sets": sets, "used": n, "failed": sets - n, "seconds": seconds,
            "coverage": 100.0 * np.mean(covered[ok]) if n else math.nan,
            "mc_se": 100.0 * math.sqrt(0.05 * 0.95 / max(n, 1)),
            "sd_used": n_sd, "sd_coverage": 100.0 * np.mean(sd_covered[sd_ok]) if n_sd else math.nan}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-sd", dest="sd", action="store_false", help="skip the SD's profile intervals")
    args = parser.parse_args(argv)
    r = profile_coverage(args.sets, args.seed, args.workers, args.sd)
    print(f"profile slope: coverage {r['coverage']:.1f} % at 95 % (band [93.5, 96.5]; MC SE {r['mc_se']:.2f} %); "
          f"{r['used']} of {r['sets']} sets (not converged or NaN end {r['failed']}), seed {args.seed}, "
          f"{r['seconds']:.1f} s with {args.workers} worker(s)")
    if args.sd:
        print(f"profile sd(Intercept): coverage of the true SD {TRUE_SD} {r['sd_coverage']:.1f} % "
              f"({r['sd_used']} sets with both ends)")


if __name__ == "__main__":
    main()
