"""GLMM fits, with lme4 as the baseline: the issue's targets and lme4's times on this machine.

| case                                          | target  | lme4 (asv_bench/lme4_timings.json) |
|-----------------------------------------------|---------|------------------------------------|
| cbpp Laplace                                  | 20 ms   | see the JSON (median of 20)        |
| 20,000 groups x 10 binary, (1 | g), Laplace   | 1 s     |                                    |
| same, AGQ 10                                  | 1.5 s   |                                    |
| (x | g), Laplace                              | 2 s     | (and glmmTMB)                      |
| 10^6 rows, (1 | g), Laplace                   | 8 s     |                                    |

asv cannot run R, so lme4's side is the JSON written by ``asv_bench/lme4_large.R`` (re-measured by
``python asv_bench/glmm_report.py --with-r``, which prints both sides and their ratios in one run).
"""
import warnings

from quadlib.glmm import datasets, fit

from ._simulate import simulated_binary

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


class Cbpp:
    params = [["laplace", "agq25"]]
    param_names = ["method"]

    def setup(self, method):
        self.data = datasets.load("cbpp")

    def time_fit(self, method):
        fit(CBPP, self.data, method="laplace" if method == "laplace" else "agq", nagq=None if method == "laplace" else 25)


class LargeBinary:
    """20,000 groups x 10 observations, binary outcome."""

    params = [["intercept_laplace", "intercept_agq10", "slope_laplace"]]
    param_names = ["case"]
    timeout = 300

    def setup(self, case):
        self.data = simulated_binary(20_000, 10, slope=case.startswith("slope"), seed=0)
        self.formula = "y ~ x + (x | g)" if case.startswith("slope") else "y ~ x + (1 | g)"
        self.method, self.nagq = ("agq", 10) if case.endswith("agq10") else ("laplace", None)

    def time_fit(self, case):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit(self.formula, self.data, method=self.method, nagq=self.nagq)

    def peakmem_fit(self, case):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit(self.formula, self.data, method=self.method, nagq=self.nagq)


class MillionRows:
    """100,000 groups x 10 observations (10^6 rows), random intercept, Laplace."""

    timeout = 600

    def setup(self):
        self.data = simulated_binary(100_000, 10, seed=0)

    def time_fit(self):
        fit("y ~ x + (1 | g)", self.data)
