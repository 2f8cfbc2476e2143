"""Nonlinear mixed models: quadlib.glmm.nlmm against nlme (FOCE, Lindstrom–Bates) and lme4::nlmer (Laplace).

Orange (35 rows, random Asym by Tree) and Theoph (132 rows, diagonal random lKa, lCl by Subject), the models
of tests/reference/nlmm_reference.R. The R side runs under Rscript (``track_*``, seconds measured inside R
around the fit: nlme(method = "ML") and nlmer with their default controls and the starting values of the
reference script), skipped when Rscript or the package is missing. quadlib's foce is nlme's estimator;
its laplace and agq are nlmer's (agq has no R peer for these models: nlmer allows nAGQ > 1 only for one
scalar random effect, so Orange's agq is compared with nlmer's Laplace, the fit R offers).
"""
import warnings

from quadlib.glmm import datasets, nlmm

from ._rscript import needs_r, r_seconds, read_csv_code

ORANGE = "circumference ~ Asym / (1 + exp((xmid - age) / scal))"
THEOPH = ("conc ~ Dose * exp(lKe + lKa - lCl) * (exp(-exp(lKe) * Time) - exp(-exp(lKa) * Time))"
          " / (exp(lKa) - exp(lKe))")
MODELS = {
    "orange": dict(
        args=(ORANGE, "orange"),
        kw=dict(fixed=["Asym", "xmid", "scal"], random=["Asym"], group="Tree",
                start={"Asym": 170.0, "xmid": 700.0, "scal": 350.0}),
        r_setup=read_csv_code("d", "orange", factors=("Tree",)),
        nlme="nlme(circumference ~ SSlogis(age, Asym, xmid, scal), data = d, fixed = Asym + xmid + scal ~ 1, "
             "random = Asym ~ 1 | Tree, start = c(Asym = 170, xmid = 700, scal = 350), method = 'ML')",
        nlmer="nlmer(circumference ~ SSlogis(age, Asym, xmid, scal) ~ Asym | Tree, d, "
              "start = c(Asym = 200, xmid = 725, scal = 350))"),
    "theoph": dict(
        args=(THEOPH, "theoph"),
        kw=dict(fixed=["lKe", "lKa", "lCl"], random=["lKa", "lCl"], group="Subject",
                start={"lKe": -2.5, "lKa": 0.5, "lCl": -3.2}),
        r_setup=read_csv_code("d", "theoph", factors=("Subject",)),
        nlme="nlme(conc ~ SSfol(Dose, Time, lKe, lKa, lCl), data = d, fixed = lKe + lKa + lCl ~ 1, "
             "random = pdDiag(lKa + lCl ~ 1), groups = ~Subject, start = c(lKe = -2.4, lKa = 0.45, lCl = -3.2), "
             "method = 'ML')",
        nlmer="nlmer(conc ~ SSfol(Dose, Time, lKe, lKa, lCl) ~ 0 + lKe + lKa + lCl + (0 + lKa | Subject) + "
              "(0 + lCl | Subject), d, start = c(lKe = -2.4, lKa = 0.45, lCl = -3.2))"),
}
PEER = {"foce": ("nlme", "nlme"), "laplace": ("lme4", "nlmer"), "agq": ("lme4", "nlmer")}


def quadlib_nlmm(data_name, method, data=None):
    model = MODELS[data_name]
    data = datasets.load(model["args"][1]) if data is None else data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nlmm(model["args"][0], data, method=method, nagq=10 if method == "agq" else None, **model["kw"])


def r_nlmm_seconds(data_name, method, repeat=5):
    package, key = PEER[method]
    return r_seconds((package,), MODELS[data_name]["r_setup"], MODELS[data_name][key], repeat=repeat)


class NonlinearMixed:
    params = [list(MODELS), list(PEER)]
    param_names = ["data", "method"]
    timeout = 180

    def setup(self, data, method):
        self.data = datasets.load(MODELS[data]["args"][1])

    def time_quadlib(self, data, method):
        quadlib_nlmm(data, method, self.data)

    @needs_r(per_params=lambda data, method: (PEER[method][0],))
    def track_r_peer(self, data, method):
        return r_nlmm_seconds(data, method)

    track_r_peer.unit = "seconds"
