"""The result of :func:`~quadlib.glmm.pql`: :class:`PQLResult`, a GLMM fitted by penalized quasi-likelihood. It
holds the last working linear mixed model (an :class:`~quadlib.glmm.LMMResult`) and reads the variance
components, conditional modes and predictions from it; PQL has no likelihood, so ``llf`` and the information
criteria are NaN.
"""
from dataclasses import dataclass, field
import math

from .. import _validation as v
from ._result import MixedResult

__all__ = ["PQLResult"]


@dataclass(frozen=True, eq=False, kw_only=True, repr=False)
class PQLResult(MixedResult):
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
        conditional standard deviations (columns ``"sd(<name>)"``), as every result lays them out.
    llf : float
        NaN: PQL maximizes a penalized quasi-likelihood, not a likelihood (glmmPQL's ``logLik`` is NA);
        ``aic``, ``bic`` and ``deviance`` are NaN too.
    converged, n_iter, message, history
        The convergence flag, the number of working LMMs fitted, a message and the relative change of the
        fixed effects after each working LMM.
    working_lmm : LMMResult
        The last working linear mixed model (response ``z``, weights ``w``).
    family, formula, nobs, ngroups, method, singular

    Build it with :meth:`from_fit`.
    """

    family: object
    dispersion_method: str
    sigma: float
    n_iter: int
    singular: bool
    working_lmm: object = field(repr=False)
    method: str = "PQL"

    _statistic = "t"

    @classmethod
    def from_fit(cls, *, working_lmm, family, dispersion, converged, message, n_iter, history):
        """The result of PQL's last working linear mixed model `working_lmm` (an
        :class:`~quadlib.glmm.LMMResult`), with the quasi-likelihood `family` and the `dispersion` method
        (``"estimate"`` or ``"fixed"``), PQL's convergence flag and `message`, its number of working LMMs
        `n_iter` and the relative changes of the fixed effects (`history`)."""
        n, p = working_lmm.nobs, len(working_lmm.params)
        covariance = working_lmm.covariance * (n / (n - p) if dispersion == "estimate" else 1.0)
        return cls(formula=working_lmm.formula, params=working_lmm.params.copy(), covariance=covariance, llf=math.nan,
                   df_modelwc=working_lmm.df_modelwc, nobs=n, ngroups=dict(working_lmm.ngroups),
                   converged=bool(converged), message=str(message), history=list(history), family=family,
                   dispersion_method=dispersion, sigma=float(working_lmm.sigma), n_iter=int(n_iter),
                   singular=bool(working_lmm.singular), working_lmm=working_lmm)

    def __repr__(self):
        return (f"PQLResult({self.formula!r}, {self.family!r}, params={self.params.round(6).to_dict()}, "
                f"sigma={self.sigma:.6g}, n_iter={self.n_iter}, converged={self.converged})")

    # from the last working LMM -----------------------------------------------------------------------------
    @property
    def dispersion(self):
        return self.sigma ** 2

    @property
    def cov_re(self):
        return self.working_lmm.cov_re

    @property
    def random_effects(self):
        return self.working_lmm.random_effects

    # prediction ---------------------------------------------------------------------------------------------
    def predict(self, newdata=None, type="link", re=True, offset=None):
        """:meth:`MixedResult.predict` (`newdata`, `re`, `offset`: ``X beta + offset (+ Z b)``, from the last
        working LMM) on the link scale, or the mean (``type="response"``; per trial for binomial). New grouping
        levels get b = 0 (lme4's ``allow.new.levels``)."""
        type = v.choice(type, ("link", "response"), "type")
        eta = self.working_lmm.predict(newdata, re, offset=offset)
        if type == "link":
            return eta
        return eta.__class__(self.family.inverse_link(eta.to_numpy()), index=eta.index, name="predicted")

    # summary (the layout of MixedResult.summary) -----------------------------------------------------------
    def _summary_title(self):
        return "Generalized linear mixed model fit by penalized quasi-likelihood (PQL)"

    def _summary_header(self):
        return [" logLik: NA (PQL maximizes no likelihood)"]

    def _residual_sd(self):
        return float(self.sigma)

    def _summary_dispersion(self):
        kind = "estimated" if self.dispersion_method == "estimate" else "fixed"
        return [f" (dispersion {self.dispersion:.6g}, {kind})"]

    def _summary_after(self):
        return [f"{self.n_iter} working LMM(s); p-values from the normal distribution"]
