"""Issue 20's speed contract: a 1,000-replicate parametric bootstrap of the cbpp Laplace fit against lme4's
``bootMer`` on the same model and number of replicates, measured in the same run.

``time_quadlib`` times :func:`quadlib.glmm._bootstrap.bootstrap` (default: local worker processes, one per core;
``workers=1``: in this process); ``track_bootmer`` runs ``bootMer(m, fixef, nsim, seed = 1)`` under Rscript with
lme4's default glmerControl (the clock read inside R around bootMer alone; the fit and the packages are loaded
before). The contract is quadlib <= 0.25 x bootMer. The machine's load changes both figures, so compare the two
of one run (``python -m benchmarks.bench_issue20 [nsim]`` from asv_bench/ runs them back to back, twice,
alternating, with the load average printed, and prints the ratios).
"""
import os
import sys
import time
import warnings

from quadlib.glmm import datasets, fit
from quadlib.glmm._bootstrap import bootstrap

from ._rscript import needs_r, r_seconds, read_csv_code

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
CBPP_R = read_csv_code("d", "cbpp", factors=("herd", "period"))


def _cbpp_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(CBPP, datasets.load("cbpp"), family="binomial")


def bootmer_seconds(nsim):
    """bootMer's elapsed seconds for `nsim` cbpp replicates (default glmerControl, use.u = FALSE)."""
    setup = f"{CBPP_R}; m <- glmer({CBPP}, data = d, family = binomial)"
    return r_seconds(("lme4",), setup, f"bootMer(m, fixef, nsim = {int(nsim)}, seed = 1)", repeat=1,
                     warmup=False, timeout=3600)


class CbppBootstrap:
    """cbpp (56 rows, 15 herds), 1,000 replicates of quadlib's bootstrap (workers: None = one process per core,
    1 = in process); bootMer's time on the same replicates is :class:`CbppBootMer`'s."""

    params = [[None, 1]]
    param_names = ["workers"]
    timeout = 600
    number = 1
    repeat = 1
    nsim = 1000

    def setup(self, workers):
        self.result = _cbpp_fit()

    def time_quadlib(self, workers):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bootstrap(self.result, self.nsim, seed=1, workers=workers, progress=False)


class CbppBootMer:
    """The baseline of :class:`CbppBootstrap`: ``bootMer(m, fixef, nsim = 1000, seed = 1)`` on the cbpp glmer fit
    (seconds, read inside R around bootMer alone)."""

    timeout = 3600
    nsim = 1000

    @needs_r("lme4")
    def track_bootmer(self):
        return bootmer_seconds(self.nsim)

    track_bootmer.unit = "seconds"


def _load():
    try:
        return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average unknown"


def paired(nsim=1000, rounds=2):
    """bootMer and quadlib's bootstrap (default workers, and workers=1) alternately, `rounds` times; prints
    each time, the load before it and the ratios. Returns the list of (bootmer, quadlib, quadlib_1) seconds."""
    result = _cbpp_fit()
    out = []
    for r in range(rounds):
        print(f"round {r + 1}: {_load()}", flush=True)
        t_r = bootmer_seconds(nsim)
        print(f"  bootMer nsim={nsim}: {t_r:.2f} s ({1e3 * t_r / nsim:.1f} ms/replicate)  [{_load()}]", flush=True)
        timings = []
        for workers in (None, 1):
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                boot = bootstrap(result, nsim, seed=1, workers=workers, progress=False)
            t_q = time.perf_counter() - started
            timings.append(t_q)
            label = f"workers={workers or os.cpu_count()}"
            print(f"  quadlib bootstrap {label}: {t_q:.2f} s ({1e3 * t_q / nsim:.1f} ms/replicate), "
                  f"n_failed {boot.n_failed}, ratio to bootMer {t_q / t_r:.3f}  [{_load()}]", flush=True)
        out.append((t_r, *timings))
    return out


if __name__ == "__main__":   # cd asv_bench && python -m benchmarks.bench_issue20 [nsim] [rounds]
    paired(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, int(sys.argv[2]) if len(sys.argv) > 2 else 2)
