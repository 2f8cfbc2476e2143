"""GLMM fits (quadlib.glmm.fit: Laplace, AGQ, QMC, PQL), with lme4, glmmTMB and MASS::glmmPQL as the baseline.

Each class times quadlib's fit (``time_quadlib``) and reports the peer's time on the same data (``track_*``,
seconds): asv runs Python only, so the peer runs under Rscript (asv_bench/benchmarks/_rscript.py), its clock
read inside R around the fit alone, after the packages and the data are loaded; skipped when Rscript or the
package is missing. Both sides use their default controls (a speed comparison; see lme4_timings.json for how
far lme4's default optimum is from the converged one on the large data).

| case                                          | target  |
|-----------------------------------------------|---------|
| cbpp Laplace                                  | 20 ms   |
| 20,000 groups x 10 binary, (1 | g), Laplace   | 1 s     |
| same, AGQ 10                                  | 1.5 s   |
| (x | g), Laplace                              | 2 s     |
| 10^6 rows, (1 | g), Laplace                   | 8 s     |

statsmodels' BinomialBayesMixedGLM is left out: it is a variational Bayes posterior approximation, not the
maximum-likelihood estimator the rest of this table fits, so its time says nothing about the same work.
"""
import os
import tempfile
import warnings

from quadlib.glmm import datasets, fit

from ._rscript import needs_r, r_seconds, read_csv_code
from ._simulate import simulated_binary, simulated_binary_csv

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
CBPP_R = read_csv_code("d", "cbpp", factors=("herd", "period"))
# method -> (quadlib keywords, R packages, R call); qmc has no R counterpart: glmer's 25-point AGQ is the
# same marginal likelihood by deterministic quadrature, the fit a user of R would run instead.
CBPP_CASES = {
    "laplace": ({"method": "laplace"}, ("lme4",), f"glmer({CBPP}, data = d, family = binomial)"),
    "agq25": ({"method": "agq", "nagq": 25}, ("lme4",), f"glmer({CBPP}, data = d, family = binomial, nAGQ = 25)"),
    "qmc": ({"method": "qmc"}, ("lme4",), f"glmer({CBPP}, data = d, family = binomial, nAGQ = 25)"),
    "pql": ({"method": "pql"}, ("MASS",),
            "glmmPQL(cbind(incidence, size - incidence) ~ period, random = ~ 1 | herd, data = d, "
            "family = binomial, verbose = FALSE)"),
}


def _quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(*args, **kwargs)


class Cbpp:
    """cbpp (56 rows, 15 herds). Peers: lme4::glmer (nAGQ 1 and 25; for qmc, glmer nAGQ = 25, the same
    likelihood by quadrature), MASS::glmmPQL for pql (both default controls)."""

    params = [list(CBPP_CASES)]
    param_names = ["method"]
    timeout = 120

    def setup(self, method):
        self.data = datasets.load("cbpp")
        self.kwargs = CBPP_CASES[method][0]

    def time_quadlib(self, method):
        _quiet_fit(CBPP, self.data, **self.kwargs)

    @needs_r(per_params=lambda method: CBPP_CASES[method][1])
    def track_r_peer(self, method):
        _, packages, call = CBPP_CASES[method]
        return r_seconds(packages, CBPP_R, call, repeat=5)

    track_r_peer.unit = "seconds"


class CbppGlmmTMB:
    """cbpp Laplace against glmmTMB (TMB's automatic differentiation, Laplace only)."""

    timeout = 120

    def setup(self):
        self.data = datasets.load("cbpp")

    def time_quadlib(self):
        _quiet_fit(CBPP, self.data)

    @needs_r("glmmTMB")
    def track_glmmtmb(self):
        return r_seconds(("glmmTMB",), CBPP_R, f"glmmTMB({CBPP}, data = d, family = binomial)", repeat=5)

    track_glmmtmb.unit = "seconds"


LARGE_CASES = {  # case -> (slope, formula, quadlib keywords, lme4 nAGQ)
    "intercept_laplace": (False, "y ~ x + (1 | g)", {"method": "laplace"}, 1),
    "intercept_agq10": (False, "y ~ x + (1 | g)", {"method": "agq", "nagq": 10}, 10),
    "slope_laplace": (True, "y ~ x + (x | g)", {"method": "laplace"}, 1),
}


def _lme4_on_simulated(n_groups, slope, formula, nagq, repeat):
    """glmer on the same simulated data (written to CSV for R; reading it is not timed)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = simulated_binary_csv(os.path.join(tmp, "data.csv"), n_groups=n_groups, n_per_group=10,
                                    slope=slope, seed=0)
        setup = f'd <- read.csv("{path}"); d$g <- factor(d$g)'
        return r_seconds(("lme4",), setup, f"glmer({formula}, data = d, family = binomial, nAGQ = {nagq})",
                         repeat=repeat, timeout=1800, warmup=False)


class LargeBinary:
    """20,000 groups x 10 observations, binary outcome (asv_bench/benchmarks/_simulate.py, seed 0)."""

    params = [list(LARGE_CASES)]
    param_names = ["case"]
    timeout = 600
    number = 1
    repeat = (1, 3, 60.0)

    def setup(self, case):
        slope, self.formula, self.kwargs, _ = LARGE_CASES[case]
        self.data = simulated_binary(20_000, 10, slope=slope, seed=0)

    def time_quadlib(self, case):
        _quiet_fit(self.formula, self.data, **self.kwargs)

    def peakmem_quadlib(self, case):
        _quiet_fit(self.formula, self.data, **self.kwargs)

    @needs_r("lme4")
    def track_lme4(self, case):
        slope, formula, _, nagq = LARGE_CASES[case]
        return _lme4_on_simulated(20_000, slope, formula, nagq, repeat=1)

    track_lme4.unit = "seconds"


class MillionRows:
    """100,000 groups x 10 observations (10^6 rows), random intercept, Laplace."""

    timeout = 1200
    number = 1
    repeat = (1, 2, 60.0)

    def setup(self):
        self.data = simulated_binary(100_000, 10, seed=0)

    def time_quadlib(self):
        _quiet_fit("y ~ x + (1 | g)", self.data)

    @needs_r("lme4")
    def track_lme4(self):
        return _lme4_on_simulated(100_000, False, "y ~ x + (1 | g)", 1, repeat=1)

    track_lme4.unit = "seconds"


class Marginal:
    """Post-fit summaries of a cbpp fit (no peer: lme4 has neither; a user would write the quadrature)."""

    def setup(self):
        self.res = _quiet_fit(CBPP, datasets.load("cbpp"))

    def time_marginal_coefs(self):
        self.res.marginal_coefs()

    def time_posterior_means(self):
        self.res.random_effects(kind="mean")
