"""The result of :func:`~quadlib.glmm.pql`: :class:`PQLResult`, a GLMM fitted by penalized quasi-likelihood. It
holds the last working linear mixed model (an :class:`~quadlib.glmm.LMMResult`) and reads the variance
components, conditional modes and predictions from it; PQL has no likelihood, so ``llf`` and the information
criteria are NaN.
"""
from dataclasses import dataclass, field
import math

import numpy as np

from .. import _validation as v
from ._inference import WaldInference

__all__ = ["PQLResult"]


@dataclass(frozen=True, eq=False)
class PQLResult(WaldInference):
    """A GLMM fitted by penalized quasi-likelihood (the statsmodels names of :class:`GLMMResult`).

    Attributes
    ----------
    params, bse, tvalues, pvalues : pandas.Series
        Fixed effects, their standard errors from the last working LMM, t values and two-sided p-values from
        the normal distribution (glmmPQL prints t tests with nlme's denominator degrees of freedom). The
        covariance (:meth:`cov_params`) is ``sigma^2 (X' V^-1 X)^-1``; with ``dispersion="estimate"`` it is
        multiplied by ``N / (N - p)``, i.e. sigma^2 is the unbiased ``r2 / (N - p)`` instead of the ML
        ``r2 / N``, as ``summary(glmmPQL(...))`` reports (nlme's ``adjustSigma``; R's ``vcov()`` is not
        adjusted). With ``dispersion="fixed"``, sigma = 1 is known and nothing is adjusted (nlme still
        multiplies by sqrt(N / (N - p)) in ``summary``).
    cov_re, sd_re, corr_re : dict
        Per random term (keyed by the grouping factor): covariance matrix, standard deviations and
        correlations of the random effects.
    sigma : float
        The working LMM's residual standard deviation (glmmPQL's ``fit$sigma``); 1 with
        ``dispersion="fixed"``.
    dispersion : float
        The quasi-likelihood dispersion ``sigma^2``.
    dispersion_method : str
        ``"estimate"`` or ``"fixed"``.
    random_effects : dict
        Per grouping factor, a DataFrame of the conditional modes (BLUPs) of the last working LMM and their
        conditional standard deviations (columns ``"<name> sd"``), as :class:`GLMMResult` lays them out.
    llf : float
        NaN: PQL maximizes a penalized quasi-likelihood, not a likelihood (glmmPQL's ``logLik`` is NA);
        ``aic``, ``bic`` and ``deviance`` are NaN too.
    converged, n_iter, message, history
        The convergence flag, the number of working LMMs fitted, a message and the relative change of the
        fixed effects after each working LMM.
    working_lmm : LMMResult
        The last working linear mixed model (response ``z``, weights ``w``).
    family, formula, nobs, ngroups, method, singular
    """

    formula: str
    family: object
    dispersion_method: str
    params: object
    sigma: float
    covariance: np.ndarray = field(repr=False)
    converged: bool
    n_iter: int
    message: str
    history: list = field(repr=False)
    working_lmm: object = field(repr=False)
    method: str = "PQL"
    llf: float = math.nan

    @classmethod
    def _from_lmm(cls, lmm, family, dispersion, converged, message, n_iter, history):
        n, p = lmm.nobs, len(lmm.params)
        covariance = lmm.covariance * (n / (n - p) if dispersion == "estimate" else 1.0)
        return cls(lmm.formula, family, dispersion, lmm.params.copy(), float(lmm.sigma), covariance,
                   bool(converged), int(n_iter), message, list(history), lmm)

    def __repr__(self):
        return (f"PQLResult({self.formula!r}, {self.family!r}, params={self.params.round(6).to_dict()}, "
                f"sigma={self.sigma:.6g}, n_iter={self.n_iter}, converged={self.converged})")

    # from the last working LMM -----------------------------------------------------------------------------
    @property
    def dispersion(self):
        return self.sigma ** 2

    @property
    def nobs(self):
        return self.working_lmm.nobs

    @property
    def ngroups(self):
        return dict(self.working_lmm.ngroups)

    @property
    def singular(self):
        return self.working_lmm.singular

    @property
    def cov_re(self):
        return self.working_lmm.cov_re

    @property
    def sd_re(self):
        return self.working_lmm.sd_re

    @property
    def corr_re(self):
        return self.working_lmm.corr_re

    @property
    def random_effects(self):
        out = {}
        for group, frame in self.working_lmm.random_effects.items():
            renamed = {c: f"{c[3:-1]} sd" for c in frame.columns if c.startswith("sd(") and c.endswith(")")}
            out[group] = frame.rename(columns=renamed)
        return out

    # fixed effects --------------------------------------------------------------------------------------------
    @property
    def aic(self):
        return math.nan

    @property
    def bic(self):
        return math.nan

    @property
    def deviance(self):
        return math.nan

    # prediction ---------------------------------------------------------------------------------------------
    def predict(self, newdata=None, type="link", re=True, offset=None):
        """Predictions ``X beta + offset (+ Z b)`` on the link scale, or the mean (``type="response"``; per
        trial for binomial). New grouping levels get b = 0 (lme4's ``allow.new.levels``)."""
        type = v.choice(type, ("link", "response"), "type")
        eta = self.working_lmm.predict(newdata, re, offset=offset)
        if type == "link":
            return eta
        return eta.__class__(self.family.inverse_link(eta.to_numpy()), index=eta.index, name="predicted")

    # summary ------------------------------------------------------------------------------------------------
    def summary(self):
        """A text summary in the layout of :meth:`GLMMResult.summary`."""
        fam = self.family
        lines = ["Generalized linear mixed model fit by penalized quasi-likelihood (PQL)",
                 f" Family: {fam.name}  ( {fam.link} )", f"Formula: {self.formula}",
                 " logLik: NA (PQL maximizes no likelihood)", "", "Random effects:",
                 f" {'Groups':<12}{'Name':<16}{'Std.Dev.':>10}  Corr"]
        for group, sd in self.sd_re.items():
            corr = self.corr_re[group].to_numpy()
            for i, name in enumerate(sd.index):
                corr_text = " ".join(f"{corr[i, j]:6.3f}" for j in range(i))
                lines.append(f" {group if i == 0 else '':<12}{name:<16}{sd.iloc[i]:10.6f}  {corr_text}".rstrip())
        kind = "estimated" if self.dispersion_method == "estimate" else "fixed"
        lines.append(f" {'Residual':<12}{'':<16}{self.sigma:10.6f}  (dispersion {self.dispersion:.6g}, {kind})")
        groups = "; ".join(f"{g}, {m}" for g, m in self.ngroups.items())
        lines += [f"Number of obs: {self.nobs}, groups:  {groups}", "", "Fixed effects:"]
        lines += self.coef_table("t")
        lines += ["", f"{self.n_iter} working LMM(s); p-values from the normal distribution"]
        if self.singular:
            lines.append("\nboundary (singular) fit: a random-effect standard deviation is at zero")
        if not self.converged:
            lines.append(f"\nWARNING: PQL did not converge: {self.message}")
        return "\n".join(lines)
