"""glmmTMB's model classes on 20,000 groups (issue 19's speed contract: quadlib at most 0.25x glmmTMB's time).

Data: 20,000 groups x 5 rows, simulated here with a seeded generator, each class from its own model (zip, beta,
nb1 and ordinal are the model of the design note's R scripts, /work/notes/issue19/issue19_speed.R and
issue19_speed2.R):

    x ~ N(0, 1), b_g ~ N(0, 0.5^2) (ordinal: 0.8^2), eta = 0.5 + 0.3 x + b (mu = exp(eta)) unless stated
    zip:       y = 0 with probability 0.2, else Poisson(mu)                          y ~ x + (1 | g), zi = ~1
    beta:      y ~ Beta(20 m, 20 (1 - m)), m = expit(-0.3 + 0.4 x + b)                y ~ x + (1 | g)
    nb1:       y ~ NB(mean mu, size mu / 1.5) (variance mu (1 + 1.5))                 y ~ x + (1 | g)
    ordinal:   y = 1 + #{j: u > theta_j - 0.6 x - b}, u logistic, theta = (-1.5, -0.3, 0.8, 2.0)
    negative_binomial (NB2):  y ~ NB(mean mu, size 2)                                 y ~ x + (1 | g)
    beta_binomial:  y ~ Binomial(10, p), p ~ Beta(10 m, 10 (1 - m)), m = expit(-0.3 + 0.4 x + b)
                                                                           cbind(y, n - y) ~ x + (1 | g), n = 10
    hurdle_poisson: y = 0 with probability 0.3, else zero-truncated Poisson(mu)        y ~ x + (1 | g), zi = ~1
    hurdle_nb2:     y = 0 with probability 0.3, else zero-truncated NB(mean mu, size 2) y ~ x + (1 | g), zi = ~1
    tweedie:   compound Poisson-Gamma with mean mu, power 1.5, phi 1 (exact zeros)    y ~ x + (1 | g)
    student_t: y = eta + t_5 (scale 1)                                                 y ~ x + (1 | g)
    disp_gaussian: y ~ N(eta, sigma_i^2), log sigma_i = -0.5 + 0.4 x                 y ~ x + (1 | g), disp = ~x
    disp_nb2:  y ~ NB(mean mu, size theta_i), log theta_i = 0.5 + 0.5 x              y ~ x + (1 | g), disp = ~x

The hurdles are a truncated family with ``ziformula="~1"`` (glmmTMB's truncated_poisson / truncated_nbinom2 with
``ziformula = ~1``); the zero-truncated draws are by inversion of the truncated CDF (scipy.stats ``ppf`` at
``P(0) + U (1 - P(0))``). glmmTMB 1.1.5's gaussian dispersion model is on log sigma^2 (quadlib's, as glmmTMB >=
1.1.9's, on log sigma): the same model, the same log-likelihood.

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
# class -> (formula, quadlib keywords, glmmTMB's arguments after the formula and data); None: no glmmTMB counterpart
CASES = {
    "zip": (FORMULA, {"family": "poisson", "ziformula": "~1"}, "ziformula = ~ 1, family = poisson"),
    "beta": (FORMULA, {"family": "beta"}, "family = beta_family"),
    "nb1": (FORMULA, {"family": "negative_binomial1"}, "family = nbinom1"),
    "ordinal": (FORMULA, {"family": "ordinal"}, None),
    "negative_binomial": (FORMULA, {"family": "negative_binomial"}, "family = nbinom2"),
    "beta_binomial": ("cbind(y, n - y) ~ x + (1 | g)", {"family": "beta_binomial"}, "family = betabinomial"),
    "hurdle_poisson": (FORMULA, {"family": "truncated_poisson", "ziformula": "~1"},
                       "ziformula = ~ 1, family = truncated_poisson"),
    "hurdle_nb2": (FORMULA, {"family": "truncated_negative_binomial", "ziformula": "~1"},
                   "ziformula = ~ 1, family = truncated_nbinom2"),
    "tweedie": (FORMULA, {"family": "tweedie"}, "family = tweedie"),
    "student_t": (FORMULA, {"family": "student_t"}, "family = t_family"),
    "disp_gaussian": (FORMULA, {"family": "gaussian", "dispformula": "~ x"}, "dispformula = ~ x, family = gaussian"),
    "disp_nb2": (FORMULA, {"family": "negative_binomial", "dispformula": "~ x"},
                 "dispformula = ~ x, family = nbinom2"),
}
TRIALS = 10     # beta_binomial's trials per row


def _truncated_draw(rng, dist):
    """Zero-truncated draws from the frozen scipy.stats count distribution `dist` by inversion: the quantile
    at ``P(0) + U (1 - P(0))`` (no rejection loop)."""
    p0 = dist.cdf(0)
    u = p0 + rng.random(p0.shape) * (1.0 - p0)
    return np.maximum(dist.ppf(np.minimum(u, np.nextafter(1.0, 0.0))), 1.0)


def simulate(kind, n_groups=N_GROUPS, n_per_group=N_PER_GROUP, seed=19):
    """The data of one class (module notes): columns ``g`` (labels "g00001", ...), ``x``, ``y`` (and ``n``, the
    trials, for beta_binomial); deterministic in (kind, n_groups, n_per_group, seed). The ordinal ``y`` is an
    ordered Categorical of 1..5."""
    from scipy import stats

    if kind not in CASES:
        raise ValueError(f"`kind` must be one of {', '.join(CASES)}, got {kind!r}")
    rng = np.random.default_rng(seed)
    n = n_groups * n_per_group
    gi = np.repeat(np.arange(n_groups), n_per_group)
    x = rng.standard_normal(n)
    b = rng.normal(0.0, 0.8 if kind == "ordinal" else 0.5, n_groups)[gi]
    eta = 0.5 + 0.3 * x + b
    mu = np.exp(eta)
    columns = {}
    if kind == "zip":
        y = np.where(rng.random(n) < 0.2, 0, rng.poisson(mu)).astype(float)
    elif kind == "beta":
        m = 1.0 / (1.0 + np.exp(-(-0.3 + 0.4 * x + b)))
        y = rng.beta(20 * m, 20 * (1 - m))
        y = np.clip(y, 1e-12, 1 - 1e-12)         # a draw that rounds to 0 or 1 is outside the beta family
    elif kind == "nb1":
        size = mu / 1.5
        y = rng.negative_binomial(size, size / (size + mu)).astype(float)
    elif kind == "ordinal":
        theta = np.array([-1.5, -0.3, 0.8, 2.0])
        u = rng.logistic(size=n)
        codes = 1 + np.sum(u[:, None] > theta[None, :] - (0.6 * x + b)[:, None], axis=1)
        y = pd.Categorical(codes, categories=[1, 2, 3, 4, 5], ordered=True)
    elif kind == "negative_binomial":
        y = rng.negative_binomial(2.0, 2.0 / (2.0 + mu)).astype(float)
    elif kind == "beta_binomial":
        m = 1.0 / (1.0 + np.exp(-(-0.3 + 0.4 * x + b)))
        y = rng.binomial(TRIALS, rng.beta(10 * m, 10 * (1 - m))).astype(float)
        columns["n"] = np.full(n, float(TRIALS))
    elif kind in ("hurdle_poisson", "hurdle_nb2"):
        dist = stats.poisson(mu) if kind == "hurdle_poisson" else stats.nbinom(2.0, 2.0 / (2.0 + mu))
        y = np.where(rng.random(n) < 0.3, 0.0, _truncated_draw(rng, dist))
    elif kind == "tweedie":
        power, phi = 1.5, 1.0
        counts = rng.poisson(mu ** (2 - power) / (phi * (2 - power)))
        alpha, scale = (2 - power) / (power - 1), phi * (power - 1) * mu ** (power - 1)
        y = np.where(counts > 0, rng.gamma(np.maximum(counts, 1) * alpha, scale), 0.0)
    elif kind == "student_t":
        y = eta + rng.standard_t(5.0, n)
    elif kind == "disp_gaussian":
        y = eta + np.exp(-0.5 + 0.4 * x) * rng.standard_normal(n)
    else:   # disp_nb2
        size = np.exp(0.5 + 0.5 * x)
        y = rng.negative_binomial(size, size / (size + mu)).astype(float)
    width = max(5, len(str(n_groups)))
    labels = np.array([f"g{i:0{width}d}" for i in range(1, n_groups + 1)])
    return pd.DataFrame({"g": labels[gi], "x": x, "y": y, **columns})


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
        return r_seconds(("glmmTMB",), setup, f"glmmTMB({CASES[kind][0]}, data = d, {CASES[kind][2]})", repeat=1,
                         warmup=False, timeout=timeout)


def _glmmtmb_fit(kind, data, timeout=900):
    """(elapsed seconds, logLik) of one glmmTMB fit (the report's: the log-likelihoods are compared too)."""
    import subprocess

    require_r("glmmTMB")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"{kind}.csv")
        data.to_csv(path, index=False, float_format="%.17g")
        script = (f'suppressMessages(library(glmmTMB)); d <- read.csv("{path}"); d$g <- factor(d$g); '
                  f"t <- system.time(m <- glmmTMB({CASES[kind][0]}, data = d, {CASES[kind][2]})); "
                  "cat(sprintf('SECONDS %.6f LOGLIK %.9f\\n', t[['elapsed']], as.numeric(logLik(m))))")
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=timeout)
    for line in out.stdout.splitlines():
        if line.startswith("SECONDS "):
            parts = line.split()
            return float(parts[1]), float(parts[3])
    raise RuntimeError(f"Rscript failed:\n{out.stderr[-2000:]}")


def _needs_peer(kind):
    if CASES[kind][2] is None:
        raise NotImplementedError("no glmmTMB counterpart (ordinal::clmm did not finish in 840 s at this size)")
    return ("glmmTMB",)


class GlmmTMBClasses:
    """20,000 groups x 5 rows, one model class each (module notes); quadlib Laplace against glmmTMB's default fit."""

    params = [list(CASES)]
    param_names = ["model"]
    timeout = 900
    number = 1
    repeat = 1

    def setup(self, model):
        self.data = simulate(model)

    def time_quadlib(self, model):
        _quiet_fit(CASES[model][0], self.data, **CASES[model][1])

    @needs_r(per_params=_needs_peer)
    def track_glmmTMB(self, model):
        return _glmmtmb_seconds(model, self.data)

    track_glmmTMB.unit = "seconds"


def report(kinds=None):
    """Time quadlib and glmmTMB on each class once, back to back, and print the ratios with the load average
    (``uptime``) before and after: the one-off figure of the speed contract on a shared machine. Each class
    is first fitted once on 200 groups (untimed: imports and first calls, which R's clock around the fit
    leaves out too); the log-likelihoods are compared (relative difference) and quadlib's estimates printed."""
    import subprocess

    def uptime():
        try:
            return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "uptime unavailable"

    print("before:", uptime(), flush=True)
    for kind in kinds or list(CASES):
        data = simulate(kind)
        try:    # warm-up on 200 groups: imports and first calls out of the timing, as R's clock leaves out
            _quiet_fit(CASES[kind][0], simulate(kind, n_groups=200), **CASES[kind][1])   # library(glmmTMB)
        except Exception:
            pass
        start = time.perf_counter()
        try:
            res = _quiet_fit(CASES[kind][0], data, **CASES[kind][1])
        except Exception as error:      # a class that does not fit yet: say so and go on
            print(f"{kind:8s} quadlib failed: {type(error).__name__}: {error}", flush=True)
            continue
        ours = time.perf_counter() - start
        line = (f"{kind:8s} quadlib {ours:7.2f} s  llf {res.llf:.6f}  converged {res.converged}  "
                f"evaluations {res.outcome.n_evaluations}")
        estimates = ", ".join(f"{name} {value:.3f}" for name, value in zip(res.objective.names, res.x))
        print(f"{kind:8s} quadlib estimates: {estimates}", flush=True)
        if CASES[kind][2] is None:
            print(line + "  (no glmmTMB counterpart)", flush=True)
            continue
        try:
            peer, peer_llf = _glmmtmb_fit(kind, data)
        except (NotImplementedError, RuntimeError, OSError) as error:
            print(line + f"  glmmTMB unavailable: {error}", flush=True)
            continue
        relative = abs(res.llf - peer_llf) / abs(peer_llf)
        print(line + f"  glmmTMB {peer:7.2f} s  llf {peer_llf:.6f}  llf rel. diff {relative:.1e}  "
              f"ratio {ours / peer:.3f}", flush=True)
    print("after: ", uptime(), flush=True)


if __name__ == "__main__":
    import sys

    report(sys.argv[1:] or None)
