"""Linear mixed models: quadlib.glmm.lmm against statsmodels' MixedLM and lme4's lmer in the same suite.

sleepstudy (180 rows, 18 subjects), Reaction ~ Days + (Days | Subject), REML and ML. statsmodels runs in
this process (``time_statsmodels``: ``MixedLM.from_formula(..., re_formula="~Days").fit(reml=...)``, its
default optimizer); lmer runs under Rscript (``track_lme4``, seconds measured inside R around the fit),
skipped when Rscript or lme4 is missing. All three reach the same optimum here (llf to ~1e-9).
"""
import warnings

from statsmodels.regression.mixed_linear_model import MixedLM

from quadlib.glmm import datasets, lmm

from ._rscript import needs_r, r_seconds, read_csv_code

FORMULA = "Reaction ~ Days + (Days | Subject)"


def statsmodels_sleepstudy(data, reml):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MixedLM.from_formula("Reaction ~ Days", data, groups=data["Subject"], re_formula="~Days").fit(reml=reml)


def lme4_sleepstudy_seconds(reml, repeat=10):
    return r_seconds(("lme4",), read_csv_code("d", "sleepstudy", factors=("Subject",)),
                     f"lmer({FORMULA}, data = d, REML = {'TRUE' if reml else 'FALSE'})", repeat=repeat)


class SleepStudy:
    params = [["REML", "ML"]]
    param_names = ["criterion"]

    def setup(self, criterion):
        self.data = datasets.load("sleepstudy")
        self.reml = criterion == "REML"

    def time_quadlib(self, criterion):
        lmm(FORMULA, self.data, reml=self.reml)

    def time_statsmodels(self, criterion):
        statsmodels_sleepstudy(self.data, self.reml)

    @needs_r("lme4")
    def track_lme4(self, criterion):
        return lme4_sleepstudy_seconds(self.reml)

    track_lme4.unit = "seconds"
