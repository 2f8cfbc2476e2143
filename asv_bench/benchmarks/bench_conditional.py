"""Conditional logistic / Poisson regression (quadlib.glmm.conditional_fit), with survival::clogit as the baseline.

The issue's target: one group of m = 1000 rows with t = 500 events, p = 2, in under 10 ms per evaluation of the
log conditional likelihood. ``BinaryKernel`` times one evaluation, the value only and with the gradient and
Hessian, through the ratio recursion (the automatic choice for these data) and through the log-space one.

asv cannot run R, so clogit's side is the number stored by tests/reference/conditional_reference.R in
tests/reference/conditional_reference.json (median of 20 ``survival:::coxexact.fit`` calls with iter.max = 0 on
the same 1000/500 stratum: clogit's exact log-likelihood, score and information at one beta, and of 10 whole
``clogit(method = "exact")`` fits), reported here by the ``track_`` benchmarks beside ours.
"""
import json
from pathlib import Path
import warnings

import numpy as np
import pandas as pd

from quadlib._extensions import _conditional as kernel
from quadlib.glmm import datasets
from quadlib.glmm._conditional import conditional_fit

_REFERENCE = Path(__file__).resolve().parents[2] / "tests" / "reference" / "conditional_reference.json"


def _stratum(m, t, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, p))
    y = (rng.permutation(m) < t).astype(float)
    return X, y


def _big_stratum():
    """The 1000/500 stratum of conditional_reference.R (x1 = sin(j), x2 = 2 cos(0.37 j), y = 1 if 7j mod 10 < 5)."""
    j = np.arange(1, 1001)
    return pd.DataFrame({"y": ((7 * j) % 10 < 5).astype(int), "x1": np.sin(j), "x2": 2 * np.cos(0.37 * j),
                         "s": 1})


class BinaryKernel:
    """One evaluation of the conditional log-likelihood of one group (m rows, t events, p covariates)."""

    params = [["100/50", "1000/100", "1000/500", "2000/1000"], ["value", "gradient_hessian"], [2, 10],
              ["auto", "logspace"]]
    param_names = ["m/t", "derivatives", "p", "path"]

    def setup(self, size, derivatives, p, path):
        m, t = (int(k) for k in size.split("/"))
        self.X, self.y = _stratum(m, t, p)
        self.offset, self.beta = np.zeros(m), np.linspace(-0.3, 0.3, p)
        self.starts = np.array([0, m], dtype=np.intp)
        self.eta, self.group_llf = np.empty(m), np.empty(1)
        self.gradient, self.hessian = np.empty(p), np.empty((p, p))
        self.work = np.empty(kernel.binary_workspace(self.starts, self.y, p))
        self.order = 0 if derivatives == "value" else 2
        self.path = 0 if path == "auto" else 2

    def time_loglik(self, size, derivatives, p, path):
        kernel.binary_loglik(self.X, self.offset, self.beta, self.y, self.starts, self.order, self.eta,
                             self.group_llf, self.gradient, self.hessian, self.work, self.path)


class Fit:
    """Whole fits: clogit on infert (83 strata), the conditional Poisson model of epil (59 subjects), the
    1000/500 stratum (Newton from 0: a handful of evaluations with derivatives)."""

    params = [["infert", "epilepsy", "stratum_1000_500"]]
    param_names = ["case"]

    def setup(self, case):
        if case == "infert":
            self.args = ("case ~ spontaneous + induced", datasets.load("infert")), {"group": "stratum"}
        elif case == "epilepsy":
            self.args = ("y ~ V4", datasets.load("epilepsy")), {"group": "subject", "family": "poisson"}
        else:
            self.args = ("y ~ x1 + x2", _big_stratum()), {"group": "s"}

    def time_fit(self, case):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            conditional_fit(*self.args[0], **self.args[1])


def _r_seconds(key):
    return json.loads(_REFERENCE.read_text())["meta"][key]


def track_clogit_exact_1000_500_one_evaluation():
    """survival's exact method: log-likelihood, score and information at one beta (seconds, measured in R)."""
    return _r_seconds("clogit_exact_1000_500_one_evaluation_median_seconds")


track_clogit_exact_1000_500_one_evaluation.unit = "seconds"


def track_clogit_exact_1000_500_fit():
    """A whole clogit(method = "exact") fit of the 1000/500 stratum (seconds, measured in R)."""
    return _r_seconds("clogit_exact_1000_500_fit_median_seconds")


track_clogit_exact_1000_500_fit.unit = "seconds"
