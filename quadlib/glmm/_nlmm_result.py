"""The result of :func:`~quadlib.glmm.nlmm`: :class:`NLMMResult`, a fitted nonlinear mixed-effects model
(statsmodels names) built from the likelihood optimum (Laplace, adaptive Gauss–Hermite) or from the FOCE
(Lindstrom–Bates) iterations; prediction, fitted values, residuals and the summary.
"""
import math

import numpy as np

from ._design import group_labels
from ._inference import WaldInference
from ._linalg import cho_inverse, cholesky

__all__ = ["NLMMResult"]


class NLMMResult(WaldInference):
    """A fitted nonlinear mixed-effects model (statsmodels names).

    Attributes
    ----------
    params, bse, tvalues, pvalues : pandas.Series
        Fixed effects, their standard errors (laplace, agq: from the Hessian of the log-likelihood at the
        optimum; foce: nlme's, those of the linearized model), t values and normal two-sided p-values.
    sigma : float
        The residual standard deviation.
    cov_re, sd_re, corr_re : dict
        ``{group: ...}``: the covariance matrix D (DataFrame), the standard deviations (Series) and the
        correlations of the random effects.
    llf : float
        The maximized log-likelihood (laplace: its Laplace approximation; foce: of the linearized model).
        ``aic`` and ``bic`` count ``df_modelwc`` = fixed effects + covariance parameters + 1.
    random_effects : dict
        The conditional modes of the random effects, one row per group.
    nobs, ngroups, converged, message, method, history
        Rows used, ``{group: number of groups}``, the convergence flag and message, the method (with its
        number of nodes), the log-likelihood after each iteration.
    """

    def __init__(self, model, method, beta, covariance, D, sigma, llf, b, converged, message, history, data,
                 n_theta, extra=None):
        import pandas as pd

        self.model, self.method, self.formula = model, method, model.formula
        self.params = pd.Series(np.asarray(beta, dtype=float), index=list(model.parameters), name="params")
        self.covariance = np.asarray(covariance, dtype=float)
        self.sigma, self.llf = float(sigma), float(llf)
        self.nobs, self.ngroups = model.nobs, {model.group: model.n_groups}
        self.converged, self.message, self.history = bool(converged), str(message), list(history)
        self.n_theta = n_theta
        names = list(model.random)
        sd = np.sqrt(np.clip(np.diag(D), 0.0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = D / np.outer(sd, sd)
        np.fill_diagonal(corr, 1.0)
        self.cov_re = {model.group: pd.DataFrame(D, index=names, columns=names)}
        self.sd_re = {model.group: pd.Series(sd, index=names, name=model.group)}
        self.corr_re = {model.group: pd.DataFrame(corr, index=names, columns=names)}
        self._b = np.asarray(b, dtype=float)
        # a dict keyed by the grouping factor, as GLMMResult and LMMResult have it
        self.random_effects = {model.group: pd.DataFrame(self._b, columns=names,
                                                         index=pd.Index(model.levels, name=model.group))}
        self._index = data.index[np.sort(model.rows)]
        self._data_order = np.argsort(model.rows, kind="stable")
        self.extra = {} if extra is None else extra

    @classmethod
    def _from_optimum(cls, model, objective, outcome, method, nagq, data):
        beta, L, sigma = objective.split(outcome.x)
        k = objective.n_params
        full = np.full((k, k), np.nan)
        free = np.flatnonzero(outcome.free)
        try:
            inner = np.linalg.inv(-outcome.hessian)
            if np.all(np.diag(inner) > 0):
                full[np.ix_(free, free)] = inner
        except np.linalg.LinAlgError:
            pass
        p = objective.n_beta
        b, _ = objective.conditional_modes(outcome.x)
        name = "laplace" if method == "laplace" else f"agq({nagq})"
        return cls(model, name, beta, full[:p, :p], L @ L.T, sigma, outcome.llf, b, outcome.converged,
                   outcome.message, outcome.history, data, objective.n_theta,
                   {"x": outcome.x, "names": objective.names, "cov_all": full, "objective": objective,
                    "outcome": outcome})

    @classmethod
    def _from_foce(cls, model, state, data):
        solution = state["solution"]
        sigma = state["sigma"]
        covariance = sigma ** 2 * cho_inverse(cholesky(solution.K))
        T = state["T"]
        return cls(model, "foce", state["beta"], covariance, sigma ** 2 * T @ T.T, sigma, -0.5 * solution.criterion,
                   state["b"], state["converged"], state["message"], state["history"], data, state["theta"].size,
                   {"theta": state["theta"], "iterations": state["iterations"], "objective": state["objective"]})

    def __repr__(self):
        return (f"NLMMResult({self.formula!r}, method={self.method!r}, nobs={self.nobs}, "
                f"params={self.params.round(6).to_dict()}, sigma={self.sigma:.6g}, llf={self.llf:.6f}, "
                f"converged={self.converged})")

    @property
    def df_modelwc(self):
        """Number of estimated parameters: fixed effects, covariance parameters and sigma."""
        return len(self.params) + self.n_theta + 1

    @property
    def aic(self):
        return -2 * self.llf + 2 * self.df_modelwc

    @property
    def bic(self):
        return -2 * self.llf + math.log(self.nobs) * self.df_modelwc

    def predict(self, newdata=None, re=True):
        """Predictions ``f(beta + b_g)`` (``re=True``: the conditional modes of the group; a group not in
        the fit, or ``re=False``, gets b = 0).

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
            Rows with the columns the model uses (and the grouping column if `re`); default the data used.
        re : bool

        Returns
        -------
        pandas.Series
            Indexed like `newdata` (or the data rows used).
        """
        import pandas as pd

        if not isinstance(re, (bool, np.bool_)):
            raise TypeError(f"`re` must be True or False, got {re!r}")
        m = self.model
        beta = self.params.to_numpy()
        if newdata is None:
            out = m.evaluate(m.phi(beta, self._b if re else None))
            return pd.Series(out[self._data_order], index=self._index, name="predicted")
        if not isinstance(newdata, pd.DataFrame):
            raise TypeError(f"`newdata` must be a pandas DataFrame, got {type(newdata).__name__}")
        missing = [c for c in m.columns if c not in newdata.columns and c != m.response_name]
        if missing:
            raise ValueError(f"`newdata` has no column(s) {', '.join(map(repr, missing))}")
        columns = {c: np.asarray(newdata[c].to_numpy(), dtype=float if newdata[c].dtype.kind in "biuf" else None)
                   for c in m.columns if c in newdata.columns}
        phi = {name: np.full(len(newdata), float(beta[i])) for i, name in enumerate(m.parameters)}
        if re:
            for name in m.group.split(":"):
                if name not in newdata.columns:
                    raise ValueError(f"`newdata` has no column {name!r} (the grouping factor)")
            position = {level: i for i, level in enumerate(m.levels)}
            index = np.array([position.get(label, -1) for label in group_labels(newdata, m.group)], dtype=np.intp)
            known = index >= 0
            for r, i in enumerate(m.random_index):
                name = m.parameters[i]
                phi[name][known] += self._b[index[known], r]
        return pd.Series(m.evaluate(phi, columns), index=newdata.index, name="predicted")

    @property
    def fittedvalues(self):
        """``f(beta + b_g)`` in the order of the data rows used."""
        return self.predict().rename("fitted")

    @property
    def resid(self):
        """Response minus fitted values, in the order of the data rows used."""
        import pandas as pd

        return pd.Series(self.model.y[self._data_order], index=self._index) - self.fittedvalues

    def summary(self):
        """A text summary laid out like nlme's ``summary.nlme``."""
        kind = {"laplace": "Laplace approximation (Gauss–Newton curvature, as nlmer)",
                "foce": "Lindstrom–Bates linearization (as nlme)"}.get(self.method,
                                                                       f"adaptive Gauss–Hermite quadrature, "
                                                                       f"{self.method[4:-1]} nodes")
        lines = [f"Nonlinear mixed-effects model fit by maximum likelihood: {kind}",
                 f"  Model: {self.formula}",
                 f"  Data: {self.nobs} observations, {self.model.n_groups} groups of {self.model.group}", "",
                 f"{'AIC':>12}{'BIC':>12}{'logLik':>12}", f"{self.aic:12.4f}{self.bic:12.4f}{self.llf:12.4f}", "",
                 "Random effects:"]
        group = self.model.group
        C, sd, R = self.cov_re[group], self.sd_re[group], self.corr_re[group]
        width = max(8, len(group), *(len(n) for n in C.index))
        lines.append(f" {'Groups':<{width}} {'Name':<{width}} {'Variance':>12} {'Std.Dev.':>10}  Corr")
        correlated = self.model.covariance == "unstructured"
        for i, name in enumerate(C.index):
            corr = " ".join(f"{R.iloc[i, j]:6.3f}" for j in range(i)) if correlated and i else ""
            lines.append(f" {group if i == 0 else '':<{width}} {name:<{width}} {C.iloc[i, i]:12.4f} "
                         f"{sd.iloc[i]:10.4f}  {corr}".rstrip())
        lines.append(f" {'Residual':<{width}} {'':<{width}} {self.sigma ** 2:12.4f} {self.sigma:10.4f}")
        lines += ["", "Fixed effects:"]
        lines += self.coef_table("t", pvalues=False)
        if not self.converged:
            lines += ["", f"WARNING: the fit did not converge: {self.message}"]
        return "\n".join(lines)
