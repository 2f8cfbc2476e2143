"""glmmTMB's model classes on 20,000 groups (issue 19's speed contract: quadlib at most 0.25x glmmTMB's time).

Data: 20,000 groups x 5 rows, simulated here with a seeded generator (the model of the design note's R scripts,
/work/notes/issue19/issue19_speed.R and issue19_speed2.R):

    x ~ N(0, 1), b_g ~ N(0, 0.5^2) (ordinal: 0.8^2)
    zip:      y = 0 with probability 0.2, else Poisson(exp(0.5 + 0.3 x + b))         y ~ x + (1 | g), zi = ~1
    beta:     y ~ Beta(20 mu, 20 (1 - mu)), mu = expit(-0.3 + 0.4 x + b)              y ~ x + (1 | g)
    nb1:      y ~ NB(mean mu, size mu / 1.5), mu = exp(0.5 + 0.3 x + b)               y ~ x + (1 | g)
    ordinal:  y = 1 + #{j: u > theta_j - 0.6 x - b}, u logistic, theta = (-1.5, -0.3, 0.8, 2.0)

Each class times quadlib's Laplace fit (``time_quadlib``) and reports glmmTMB's time on the same data
(``track_glmmTMB``, seconds, default controls, the clock read inside R around the fit alone: _rscript.py); the
data go to R as a CSV written with 17 significant digits. Skipped without Rscript or glmmTMB. glmmTMB has no
cumulative link model: the ordinal peer is ordinal::clmm, which did not finish in 840 s on these 20,000 groups
(design note §9), so its track is skipped at this size.

Run as a script for the one-off ratio report (both sides in the same run, the load average printed):
``python -m asv_bench.benchmarks.bench_issue19 [class ...]`` from the repository root.
"""
import os
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

from quadlib.glmm import fit

from ._rscript import needs_r, r_seconds, require_r

N_GROUPS = 20_000
N_PER_GROUP = 5
FORMULA = "y ~ x + (1 | g)"
# class -> (quadlib keywords, glmmTMB's arguments after the formula and data); None: no glmmTMB counterpart
CASES = {
    "zip": ({"family": "poisson", "ziformula": "~1"}, "ziformula = ~ 1, family = poisson"),
    "beta": ({"family": "beta"}, "family = beta_family"),
    "nb1": ({"family": "negative_binomial1"}, "family = nbinom1"),
    "ordinal": ({"family": "ordinal"}, None),
}


def simulate(kind, n_groups=N_GROUPS, n_per_group=N_PER_GROUP, seed=19):
    """The data of one class (module notes): columns ``g`` (labels "g00001", ...), ``x``, ``y``; deterministic
    in (kind, n_groups, n_per_group, seed). The ordinal ``y`` is an ordered Categorical of 1..5."""
    rng = np.random.default_rng(seed)
    n = n_groups * n_per_group
    gi = np.repeat(np.arange(n_groups), n_per_group)
    x = rng.standard_normal(n)
    b = rng.normal(0.0, 0.8 if kind == "ordinal" else 0.5, n_groups)[gi]
    if kind == "zip":
        y = np.where(rng.random(n) < 0.2, 0, rng.poisson(np.exp(0.5 + 0.3 * x + b))).astype(float)
    elif kind == "beta":
        mu = 1.0 / (1.0 + np.exp(-(-0.3 + 0.4 * x + b)))
        y = rng.beta(20 * mu, 20 * (1 - mu))
        y = np.clip(y, 1e-12, 1 - 1e-12)         # a draw that rounds to 0 or 1 is outside the beta family
    elif kind == "nb1":
        mu = np.exp(0.5 + 0.3 * x + b)
        size = mu / 1.5
        y = rng.negative_binomial(size, size / (size + mu)).astype(float)
    elif kind == "ordinal":
        theta = np.array([-1.5, -0.3, 0.8, 2.0])
        u = rng.logistic(size=n)
        codes = 1 + np.sum(u[:, None] > theta[None, :] - (0.6 * x + b)[:, None], axis=1)
        y = pd.Categorical(codes, categories=[1, 2, 3, 4, 5], ordered=True)
    else:
        raise ValueError(f"`kind` must be one of {', '.join(CASES)}, got {kind!r}")
    width = max(5, len(str(n_groups)))
    labels = np.array([f"g{i:0{width}d}" for i in range(1, n_groups + 1)])
    return pd.DataFrame({"g": labels[gi], "x": x, "y": y})


def _quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(*args, **kwargs)


def _glmmtmb_seconds(kind, data, timeout=900):
    """glmmTMB's elapsed seconds for one fit of `kind` on `data` (written to a temporary CSV for R)."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"{kind}.csv")
        data.to_csv(path, index=False, float_format="%.17g")
        setup = f'd <- read.csv("{path}"); d$g <- factor(d$g)'
        return r_seconds(("glmmTMB",), setup, f"glmmTMB({FORMULA}, data = d, {CASES[kind][1]})", repeat=1,
                         warmup=False, timeout=timeout)


def _glmmtmb_fit(kind, data, timeout=900):
    """(elapsed seconds, logLik) of one glmmTMB fit (the report's: the log-likelihoods are compared too)."""
    import subprocess

    require_r("glmmTMB")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"{kind}.csv")
        data.to_csv(path, index=False, float_format="%.17g")
        script = (f'suppressMessages(library(glmmTMB)); d <- read.csv("{path}"); d$g <- factor(d$g); '
                  f"t <- system.time(m <- glmmTMB({FORMULA}, data = d, {CASES[kind][1]})); "
                  "cat(sprintf('SECONDS %.6f LOGLIK %.9f\\n', t[['elapsed']], as.numeric(logLik(m))))")
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=timeout)
    for line in out.stdout.splitlines():
        if line.startswith("SECONDS "):
            parts = line.split()
            return float(parts[1]), float(parts[3])
    raise RuntimeError(f"Rscript failed:\n{out.stderr[-2000:]}")


def _needs_peer(kind):
    if CASES[kind][1] is None:
        raise NotImplementedError("no glmmTMB counterpart (ordinal::clmm did not finish in 840 s at this size)")
    return ("glmmTMB",)


class GlmmTMBClasses:
    """20,000 groups x 5 rows: ZIP, beta, NB1, ordinal (logit); quadlib Laplace against glmmTMB's default fit."""

    params = [list(CASES)]
    param_names = ["model"]
    timeout = 900
    number = 1
    repeat = 1

    def setup(self, model):
        self.data = simulate(model)

    def time_quadlib(self, model):
        _quiet_fit(FORMULA, self.data, **CASES[model][0])

    @needs_r(per_params=_needs_peer)
    def track_glmmTMB(self, model):
        return _glmmtmb_seconds(model, self.data)

    track_glmmTMB.unit = "seconds"


def report(kinds=None):
    """Time quadlib and glmmTMB on each class once, back to back, and print the ratios with the load average
    (``uptime``) before and after: the one-off figure of the speed contract on a shared machine."""
    import subprocess

    def uptime():
        try:
            return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "uptime unavailable"

    print("before:", uptime(), flush=True)
    for kind in kinds or list(CASES):
        data = simulate(kind)
        start = time.perf_counter()
        try:
            res = _quiet_fit(FORMULA, data, **CASES[kind][0])
        except Exception as error:      # a class that does not fit yet: say so and go on
            print(f"{kind:8s} quadlib failed: {type(error).__name__}: {error}", flush=True)
            continue
        ours = time.perf_counter() - start
        line = (f"{kind:8s} quadlib {ours:7.2f} s  llf {res.llf:.6f}  converged {res.converged}  "
                f"evaluations {res.outcome.n_evaluations}")
        if CASES[kind][1] is None:
            print(line + "  (no glmmTMB counterpart)", flush=True)
            continue
        try:
            peer, peer_llf = _glmmtmb_fit(kind, data)
        except (NotImplementedError, RuntimeError, OSError) as error:
            print(line + f"  glmmTMB unavailable: {error}", flush=True)
            continue
        print(line + f"  glmmTMB {peer:7.2f} s  llf {peer_llf:.6f}  ratio {ours / peer:.3f}", flush=True)
    print("after: ", uptime(), flush=True)


if __name__ == "__main__":
    import sys

    report(sys.argv[1:] or None)
