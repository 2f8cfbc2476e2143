"""The result of :func:`~quadlib.glmm.conditional_fit`: :class:`ConditionalResult`, a conditional logistic or
conditional Poisson regression (statsmodels names; R's ``survival::clogit`` numbers), with the likelihood-ratio
test of all coefficients and a summary laid out like R's ``print(clogit(...))``.
"""
from dataclasses import dataclass, field

import numpy as np

from ._inference import WaldInference, format_coef_table

__all__ = ["ConditionalResult"]


@dataclass(frozen=True, eq=False)
class ConditionalResult(WaldInference):
    """A conditional logistic or conditional Poisson regression (statsmodels names; the numbers are R's
    ``survival::clogit`` / a Poisson GLM with group fixed effects).

    Attributes
    ----------
    params, bse, tvalues, pvalues : pandas.Series
        Coefficients (R's names: ``spontaneous``, factor levels as ``trtprogabide``), their standard errors from
        the observed conditional information, z values and two-sided normal p-values.
    llf : float
        The maximized conditional log-likelihood (see :func:`conditional_fit`, Notes, for what it includes);
        ``llnull`` its value at 0, ``llr = 2 (llf - llnull)`` and ``llr_pvalue`` the likelihood-ratio test of all
        coefficients (R's "Likelihood ratio test").
    nobs : int
        Rows without missing values (R's ``n``: those of the dropped groups included).
    ngroups : int
        Groups that carry information (enter the likelihood).
    n_dropped_groups, n_dropped_rows : int
        Groups without information (binary: no event or no non-event; Poisson: total 0 or one row), and their rows.
    n_events : float
        Events (binary) or the total count (Poisson) over the ``nobs`` rows (R's ``nevent``).
    dropped_columns : list of str
        Model-matrix columns that cannot be estimated from within-group contrasts (the intercept, columns constant
        within every group, aliased columns).
    converged, message, n_iter, history
        Whether Newton-Raphson converged, why it stopped, its iterations and the log-likelihood after each.
    """

    formula: str
    family: str
    group: str
    params: object
    covariance: np.ndarray = field(repr=False)
    llf: float
    llnull: float
    nobs: int
    ngroups: int
    n_dropped_groups: int
    n_dropped_rows: int
    n_events: float
    dropped_columns: list
    converged: bool
    message: str
    n_iter: int
    history: list = field(repr=False)
    gradient: np.ndarray = field(repr=False)
    objective: object = field(repr=False)

    @classmethod
    def _from_fit(cls, formula, family, group, groups, objective, newton, llnull):
        import pandas as pd
        from scipy.linalg import solve_triangular

        try:
            factor = np.linalg.cholesky(-newton.hessian)
            inverse = solve_triangular(factor, solve_triangular(factor, np.eye(factor.shape[0]), lower=True),
                                       lower=True, trans="T")
            covariance = 0.5 * (inverse + inverse.T)
        except np.linalg.LinAlgError:
            covariance = np.full(newton.hessian.shape, np.nan)
        params = pd.Series(newton.beta, index=list(groups.names), name="params")
        return cls(formula, family, group, params, covariance, float(newton.llf), float(llnull), groups.nobs,
                   groups.ngroups, groups.n_dropped_groups, groups.n_dropped_rows, groups.n_events,
                   list(groups.dropped_columns), newton.converged, newton.message, newton.n_iter, list(newton.history),
                   newton.gradient, objective)

    def __repr__(self):
        return (f"ConditionalResult({self.formula!r}, family={self.family!r}, group={self.group!r}, "
                f"params={self.params.round(6).to_dict()}, llf={self.llf:.6f}, ngroups={self.ngroups}, "
                f"n_dropped_groups={self.n_dropped_groups}, converged={self.converged})")

    @property
    def df_model(self):
        return len(self.params)

    @property
    def aic(self):
        """``-2 llf + 2 df_model`` (R's ``AIC(clogit)``)."""
        return -2.0 * self.llf + 2.0 * self.df_model

    @property
    def llr(self):
        return 2.0 * (self.llf - self.llnull)

    @property
    def llr_pvalue(self):
        from scipy.stats import chi2

        return float(chi2.sf(self.llr, self.df_model))

    def summary(self):
        """A text summary laid out like R's ``print(clogit(...))``, with the log-likelihood."""
        title = ("Conditional logistic regression (exact conditional likelihood)" if self.family == "binomial" else
                 "Conditional Poisson regression (multinomial likelihood given each group's total)")
        lines = [title, f"Formula: {self.formula}", f"Groups: {self.group}", ""]
        coef = self.params.to_numpy()
        with np.errstate(over="ignore"):
            columns = [("coef", coef, "estimate"), ("exp(coef)", np.exp(coef), "estimate"),
                       ("se(coef)", self.bse.to_numpy(), "estimate"), ("z", self.tvalues.to_numpy(), "statistic"),
                       ("p", self.pvalues.to_numpy(), "pvalue")]
        lines += format_coef_table(list(self.params.index), columns)
        events = "number of events" if self.family == "binomial" else "total count"
        lines += ["", f"Log-likelihood: {self.llf:.4f} (null model: {self.llnull:.4f})",
                  f"Likelihood ratio test={self.llr:.2f}  on {self.df_model} df, p={self.llr_pvalue:.4g}",
                  f"n= {self.nobs}, {events}= {self.n_events:g}, groups= {self.ngroups}"]
        if self.n_dropped_groups:
            what = "no event or no non-event" if self.family == "binomial" else "total 0 or a single row"
            lines.append(f"Dropped {self.n_dropped_groups} group(s) ({self.n_dropped_rows} rows) without information "
                         f"({what})")
        if self.dropped_columns:
            lines.append(f"Not identifiable within groups, dropped: {', '.join(self.dropped_columns)}")
        if not self.converged:
            lines += ["", f"WARNING: did not converge: {self.message}"]
        return "\n".join(lines)
