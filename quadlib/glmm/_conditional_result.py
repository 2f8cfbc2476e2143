"""The result of :func:`~quadlib.glmm.conditional_fit`: :class:`ConditionalResult`, a conditional logistic or
conditional Poisson regression (statsmodels names; R's ``survival::clogit`` numbers), with the likelihood-ratio
test of all coefficients and a summary laid out like R's ``print(clogit(...))``.
"""
from dataclasses import dataclass, field

import numpy as np

from ._linalg import cho_inverse, cholesky
from ._result import MixedResult

__all__ = ["ConditionalResult"]


@dataclass(frozen=True, eq=False, kw_only=True, repr=False)
class ConditionalResult(MixedResult):
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
    ngroups : dict
        ``{group: number of groups}``: the groups (strata) that carry information (enter the likelihood).
    n_dropped_groups, n_dropped_rows : int
        Groups without information (binary: no event or no non-event; Poisson: total 0 or one row), and their rows.
    n_events : float
        Events (binary) or the total count (Poisson) over the ``nobs`` rows (R's ``nevent``).
    dropped_columns : list of str
        Model-matrix columns that cannot be estimated from within-group contrasts (the intercept, columns constant
        within every group, aliased columns).
    converged, message, n_iter, history
        Whether Newton-Raphson converged, why it stopped, its iterations and the log-likelihood after each.
    aic, bic, deviance
        From ``llf`` with ``df_modelwc = len(params)`` parameters; BIC's ``n`` is the number of events for the
        binary model (R's ``BIC(clogit)``: a Cox model's) and the number of rows for counts.
    cov_re, random_effects
        Empty: the group effects are conditioned away, not estimated.

    Build it with :meth:`from_fit`.
    """

    family: str
    group: str
    llnull: float
    n_dropped_groups: int
    n_dropped_rows: int
    n_events: float
    dropped_columns: list
    n_iter: int
    gradient: np.ndarray = field(repr=False)
    objective: object = field(repr=False)

    _coef_style = "survival"

    @classmethod
    def from_fit(cls, *, formula, family, group, groups, objective, newton, llnull):
        """The result of Newton-Raphson's maximization (`newton`: ``beta``, ``llf``, ``gradient``, ``hessian``,
        ``converged``, ``message``, ``n_iter``, ``history``) of the conditional log-likelihood `objective` of
        the grouped data `groups`, with `llnull` its value at beta = 0."""
        import pandas as pd

        hessian = np.asarray(newton.hessian, dtype=float)
        try:   # the inverse of the observed information
            covariance = cho_inverse(cholesky(-hessian)) if hessian.size else np.zeros(hessian.shape)
        except np.linalg.LinAlgError:
            covariance = np.full(newton.hessian.shape, np.nan)
        params = pd.Series(newton.x, index=list(groups.names), name="params")
        return cls(formula=formula, params=params, covariance=covariance, llf=float(newton.llf),
                   df_modelwc=len(params), nobs=int(groups.nobs), ngroups={group: int(groups.ngroups)},
                   converged=bool(newton.converged), message=str(newton.message), history=list(newton.history),
                   family=family, group=group, llnull=float(llnull), n_dropped_groups=groups.n_dropped_groups,
                   n_dropped_rows=groups.n_dropped_rows, n_events=groups.n_events,
                   dropped_columns=list(groups.dropped_columns), n_iter=newton.n_iter, gradient=newton.gradient,
                   objective=objective)

    def __repr__(self):
        return (f"ConditionalResult({self.formula!r}, family={self.family!r}, group={self.group!r}, "
                f"params={self.params.round(6).to_dict()}, llf={self.llf:.6f}, ngroups={self.ngroups}, "
                f"n_dropped_groups={self.n_dropped_groups}, converged={self.converged})")

    @property
    def df_model(self):
        return len(self.params)

    @property
    def llr(self):
        return 2.0 * (self.llf - self.llnull)

    @property
    def llr_pvalue(self):
        from scipy.stats import chi2

        return float(chi2.sf(self.llr, self.df_model))

    @property
    def _bic_nobs(self):
        return max(1, int(round(self.n_events))) if self.family == "binomial" else self.nobs

    @property
    def cov_re(self):
        return {}

    @property
    def random_effects(self):
        return {}

    # summary (the layout of MixedResult.summary; the coefficients as R's print(clogit(...))) ---------------
    def _summary_title(self):
        return ("Conditional logistic regression (exact conditional likelihood)" if self.family == "binomial" else
                "Conditional Poisson regression (multinomial likelihood given each group's total)")

    def _summary_after(self):
        events = "number of events" if self.family == "binomial" else "total count"
        lines = [f"Log-likelihood: {self.llf:.4f} (null model: {self.llnull:.4f})",
                 f"Likelihood ratio test={self.llr:.2f}  on {self.df_model} df, p={self.llr_pvalue:.4g}",
                 f"n= {self.nobs}, {events}= {self.n_events:g}, groups= {self.ngroups[self.group]}"]
        if self.n_dropped_groups:
            what = "no event or no non-event" if self.family == "binomial" else "total 0 or a single row"
            lines.append(f"Dropped {self.n_dropped_groups} group(s) ({self.n_dropped_rows} rows) without information "
                         f"({what})")
        if self.dropped_columns:
            lines.append(f"Not identifiable within groups, dropped: {', '.join(self.dropped_columns)}")
        return lines
