"""Issue 20 validity simulation (design note section 9): coverage of the fixed slope's parametric-bootstrap
percentile interval.

    python asv_bench/validity_issue20_boot.py                          # 1000 sets x B = 499, 2 processes
    python asv_bench/validity_issue20_boot.py --sets 100 --replicates 199

The model: binomial (Bernoulli), 20 groups x 5, eta = -0.5 + 1.0 x + b_g, x ~ N(0, 1) within groups,
b ~ N(0, 1), fitted by Laplace (``benchmarks._simulate.binomial_intercept`` with seed ``seed + s`` for set s).
For each set, ``bootstrap(result, B, seed=seed + s)`` (the refit mode of quadlib.glmm.optimize, in one process:
the sets are spread over the worker processes instead) and the 95 % percentile interval of the slope. The figure
is the share of the intervals that cover the true slope 1.0; the basic and BCa intervals are printed beside it.
The contract's band is [93.5, 96.5] % (Monte Carlo SE 0.69 % with 1000 sets). B = 499 rather than 999 keeps the
run near half an hour on 2 cores (~7 ms per refit); the percentile interval's Monte Carlo error from B = 499 is
small beside the coverage's. A set whose fit does not converge, or whose bootstrap lost more than 10 % of its
replicates, is counted and left out (printed). The loops are bounded by ``--sets`` (at most 100,000) and
``--replicates`` (at most 10**6, bootstrap's bound).
"""
import argparse
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from benchmarks._simulate import binomial_intercept  # noqa: E402

from quadlib.glmm import fit  # noqa: E402
from quadlib.glmm._bootstrap import bootstrap  # noqa: E402

N_GROUPS, SIZE, BETA = 20, 5, (-0.5, 1.0)
MAX_SETS = 100_000
KINDS = ("percentile", "basic", "bca")


def one_set(args):
    """(usable, covered by percentile, basic, BCa, failed replicates) for one simulated data set."""
    seed, replicates = args
    data = binomial_intercept(N_GROUPS, SIZE, BETA, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit("y ~ x + (1 | g)", data, family="binomial")
        if not res.converged:
            return (False, False, False, False, replicates)
        boot = bootstrap(res, replicates, seed=seed, workers=1, progress=False)
        if boot.failed_share > 0.1:
            return (False, False, False, False, boot.n_failed)
        covered = []
        for kind in KINDS:
            lower, upper = boot.conf_int(kind=kind).loc["x"]
            covered.append(bool(lower <= BETA[1] <= upper))
    return (True, *covered, boot.n_failed)


def run(n_sets, replicates, seed, workers):
    tasks = [(seed + s, replicates) for s in range(n_sets)]
    start = time.perf_counter()
    if workers == 1:
        rows = [one_set(t) for t in tasks]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(one_set, tasks, chunksize=max(1, n_sets // (8 * workers))))
    elapsed = time.perf_counter() - start
    flags = np.array([r[:4] for r in rows], dtype=bool)
    failed = int(sum(r[4] for r in rows))
    ok = flags[:, 0]
    n_ok = int(ok.sum())
    cover = 100 * flags[ok, 1:].mean(axis=0) if n_ok else np.full(3, np.nan)
    mc = 100 * np.sqrt(0.05 * 0.95 / max(n_ok, 1))
    inside = 93.5 <= cover[0] <= 96.5
    print(f"{n_sets} sets x B = {replicates}, {n_sets - n_ok} left out, {failed} failed replicates in all, "
          f"{elapsed:.1f} s ({elapsed / n_sets:.2f} s/set, {workers} worker(s))")
    print(f"coverage of the slope (95 %): percentile {cover[0]:.1f} %  basic {cover[1]:.1f} %  BCa {cover[2]:.1f} %  "
          f"(MC SE {mc:.2f} %; percentile {'inside' if inside else 'OUTSIDE'} [93.5, 96.5])")
    return cover, elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", type=int, default=1000)
    parser.add_argument("--replicates", type=int, default=499)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if not 1 <= args.sets <= MAX_SETS:
        parser.error(f"--sets must be in [1, {MAX_SETS}]")
    if not 1 <= args.replicates <= 10 ** 6:
        parser.error("--replicates must be in [1, 10**6]")
    if args.workers < 1:
        parser.error("--workers must be a positive integer")
    return run(args.sets, args.replicates, args.seed, args.workers)


if __name__ == "__main__":
    main()
