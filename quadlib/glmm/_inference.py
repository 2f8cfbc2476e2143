"""Wald inference shared by every result class of quadlib.glmm (statsmodels names).

A result sets ``params`` (pandas Series of fixed effects) and ``covariance`` (ndarray whose leading
block, one row per fixed effect, is their covariance); this mixin derives the rest.
"""
import numpy as np

from .. import _validation as v

__all__ = ["WaldInference"]


class WaldInference:
    """``bse``, ``tvalues``, ``pvalues`` (normal reference: mixed-model t statistics have no exact one),
    ``cov_params()`` and Wald intervals (columns ``lower`` and ``upper``)."""

    def cov_params(self):
        """Covariance matrix of the fixed effects (DataFrame)."""
        import pandas as pd

        p = len(self.params)
        return pd.DataFrame(np.asarray(self.covariance)[:p, :p], index=self.params.index, columns=self.params.index)

    @property
    def bse(self):
        import pandas as pd

        p = len(self.params)
        return pd.Series(np.sqrt(np.diag(np.asarray(self.covariance)[:p, :p])), index=self.params.index, name="bse")

    @property
    def tvalues(self):
        return (self.params / self.bse).rename("tvalues")

    @property
    def pvalues(self):
        """Two-sided p-values of the z (t) values from the standard normal distribution."""
        import pandas as pd
        from scipy.stats import norm

        return pd.Series(2 * norm.sf(np.abs(self.tvalues.to_numpy())), index=self.params.index, name="pvalues")

    @staticmethod
    def _alpha_iv(alpha):
        alpha = v.real_scalar(alpha, "alpha")
        if not 0 < alpha < 1:
            raise ValueError(f"`alpha` must be in (0, 1), got {alpha}")
        return alpha

    def _wald_interval(self, alpha):
        import pandas as pd
        from scipy.stats import norm

        z = norm.isf(self._alpha_iv(alpha) / 2)
        return pd.DataFrame({"lower": (self.params - z * self.bse).to_numpy(),
                             "upper": (self.params + z * self.bse).to_numpy()}, index=self.params.index)

    def conf_int(self, alpha=0.05):
        """Wald confidence intervals ``params -/+ z_{1 - alpha/2} bse`` (columns ``lower``, ``upper``)."""
        return self._wald_interval(alpha)
