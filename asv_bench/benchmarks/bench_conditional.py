"""Conditional logistic / Poisson regression (quadlib.glmm.conditional_fit), with survival::clogit as the baseline.

The issue's target: one group of m = 1000 rows with t = 500 events, p = 2, in under 10 ms per evaluation of the
log conditional likelihood. ``BinaryKernel`` times one evaluation, the value only and with the gradient and
Hessian, through the ratio recursion (the automatic choice for these data) and through the log-space one.

``Fit`` times whole fits beside survival's ``clogit(method = "exact")`` (the exact conditional likelihood,
clogit's default; for epil's conditional Poisson model, R's equivalent is the Poisson GLM with subject fixed
effects, ``glm(y ~ V4 + subject, family = poisson)``, whose V4 estimate is the conditional one), run under
Rscript with the clock read inside R around the fit (``track_r_peer``, seconds); skipped when Rscript or
survival is missing. ``ExactEvaluation`` adds clogit's own kernel on the 1000/500 stratum:
``survival:::coxexact.fit`` with iter.max = 0 (log-likelihood, score and information at one beta), the peer of
``BinaryKernel``'s "gradient_hessian" evaluation.
"""
import warnings

import numpy as np
import pandas as pd

from quadlib._extensions import _conditional as kernel
from quadlib.glmm import datasets
from quadlib.glmm._conditional import conditional_fit

from ._rscript import needs_r, r_seconds, read_csv_code

# The 1000/500 stratum of tests/reference/conditional_reference.R, built the same way in R.
BIG_STRATUM_R = ("j <- 1:1000; big <- data.frame(y = as.integer((7 * j) %% 10 < 5), x1 = sin(j), "
                 "x2 = 2 * cos(0.37 * j), s = 1)")
R_FITS = {  # case -> (R setup, R call)
    "infert": (read_csv_code("d", "infert"),
               "clogit(case ~ spontaneous + induced + strata(stratum), data = d, method = 'exact')"),
    "epilepsy": (read_csv_code("d", "epilepsy", factors=("subject",)),
                 "glm(y ~ V4 + subject, family = poisson, data = d)"),
    "stratum_1000_500": (BIG_STRATUM_R, "clogit(y ~ x1 + x2 + strata(s), data = big, method = 'exact')"),
}


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

    params = [list(R_FITS)]
    param_names = ["case"]
    timeout = 120

    def setup(self, case):
        if case == "infert":
            self.args = ("case ~ spontaneous + induced", datasets.load("infert")), {"group": "stratum"}
        elif case == "epilepsy":
            self.args = ("y ~ V4", datasets.load("epilepsy")), {"group": "subject", "family": "poisson"}
        else:
            self.args = ("y ~ x1 + x2", _big_stratum()), {"group": "s"}

    def time_quadlib(self, case):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            conditional_fit(*self.args[0], **self.args[1])

    @needs_r("survival")
    def track_r_peer(self, case):
        return r_seconds(("survival",), *R_FITS[case], repeat=5)

    track_r_peer.unit = "seconds"


class ExactEvaluation:
    """One exact conditional log-likelihood with score and information on the 1000/500 stratum, p = 2:
    quadlib's kernel against survival:::coxexact.fit (iter.max = 0), as in conditional_reference.R."""

    timeout = 120

    def setup(self):
        self.kernel = BinaryKernel()
        self.kernel.setup("1000/500", "gradient_hessian", 2, "auto")

    def time_quadlib(self):
        self.kernel.time_loglik("1000/500", "gradient_hessian", 2, "auto")

    @needs_r("survival")
    def track_survival_coxexact(self):
        setup = (BIG_STRATUM_R + "; xb <- as.matrix(big[, c('x1', 'x2')]); "
                 "yb <- Surv(rep(1, 1000), big$y); beta0 <- c(0.1, -0.2); ctl <- coxph.control(iter.max = 0)")
        call = ("survival:::coxexact.fit(xb, yb, strata = rep(1L, 1000), offset = NULL, init = beta0, "
                "control = ctl, weights = NULL, method = 'exact', rownames = NULL)")
        return r_seconds(("survival",), setup, call, repeat=10)

    track_survival_coxexact.unit = "seconds"
