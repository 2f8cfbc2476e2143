"""GLMM fits. The issue's target for the cbpp Laplace fit is 20 ms (lme4: 81 ms measured by the issue's
author); compare the timings printed by asv_bench/report.py, which runs lme4 side by side when R is present."""
from quadlib.glmm import datasets, fit

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


class Cbpp:
    params = [["laplace", "agq25"]]
    param_names = ["method"]

    def setup(self, method):
        self.data = datasets.load("cbpp")

    def time_fit(self, method):
        fit(CBPP, self.data, method="laplace" if method == "laplace" else "agq", nagq=25)
