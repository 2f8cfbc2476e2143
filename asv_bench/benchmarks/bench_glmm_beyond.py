"""quadlib.glmm beyond maximum likelihood: PQL, nonlinear mixed models, marginal coefficients.

Peers (measured in R on this machine by the helpers' reference scripts, same data): MASS::glmmPQL on
cbpp; nlme (foce) and lme4::nlmer (laplace) on Orange and Theoph — nlme 10 ms / 18 ms, nlmer 49 ms /
280 ms (medians, tests/reference/nlmm_reference.R). asv cannot run R; the numbers are quoted here.
"""
import warnings

from quadlib.glmm import datasets, fit, nlmm

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
ORANGE = "circumference ~ Asym / (1 + exp((xmid - age) / scal))"
THEOPH = ("conc ~ Dose * exp(lKe + lKa - lCl) * (exp(-exp(lKe) * Time) - exp(-exp(lKa) * Time))"
          " / (exp(lKa) - exp(lKe))")


class PQL:
    def setup(self):
        self.data = datasets.load("cbpp")

    def time_pql_cbpp(self):
        fit(CBPP, self.data, method="pql")


class NonlinearMixed:
    params = [["orange", "theoph"], ["foce", "laplace", "agq"]]
    param_names = ["data", "method"]
    timeout = 120

    def setup(self, data, method):
        if data == "orange":
            self.args = (ORANGE, datasets.load("orange"))
            self.kw = dict(fixed=["Asym", "xmid", "scal"], random=["Asym"], group="Tree",
                           start={"Asym": 170.0, "xmid": 700.0, "scal": 350.0})
        else:
            self.args = (THEOPH, datasets.load("theoph"))
            self.kw = dict(fixed=["lKe", "lKa", "lCl"], random=["lKa", "lCl"], group="Subject",
                           start={"lKe": -2.5, "lKa": 0.5, "lCl": -3.2})

    def time_fit(self, data, method):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nlmm(*self.args, method=method, nagq=10 if method == "agq" else None, **self.kw)


class Marginal:
    def setup(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.res = fit(CBPP, datasets.load("cbpp"))

    def time_marginal_coefs(self):
        self.res.marginal_coefs()

    def time_posterior_means(self):
        self.res.random_effects(kind="mean")
