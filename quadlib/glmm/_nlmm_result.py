"""The result of :func:`~quadlib.glmm.nlmm`: :class:`NLMMResult`, a fitted nonlinear mixed-effects model
(statsmodels names) built from the likelihood optimum (Laplace, adaptive Gauss–Hermite) or from the FOCE
(Lindstrom–Bates) iterations; prediction, fitted values, residuals and the summary.
"""
from dataclasses import dataclass, field

import numpy as np

from ._design import group_labels
from ._inference import covariance_over_free
from ._linalg import cho_inverse, cholesky
from ._lmm_result import conditional_variances
from ._result import MixedResult, random_effects_frame

__all__ = ["NLMMResult"]


@dataclass(frozen=True, eq=False, kw_only=True, repr=False)
class NLMMResult(MixedResult):
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
        ``{group: DataFrame}``: the conditional modes of the random effects, one row per group, and their
        conditional standard deviations (columns ``sd(<name>)``; laplace, agq: the inverse curvature at the mode;
        foce: those of the linearized model).
    nobs, ngroups, converged, message, method, history
        Rows used, ``{group: number of groups}``, the convergence flag and message, the method (with its
        number of nodes), the log-likelihood after each iteration.
    model : NonlinearModel
    extra : dict
        What the method leaves behind (laplace, agq: the optimum ``x``, the parameter ``names``, the covariance
        of all parameters ``cov_all``, the ``objective`` and the optimizer's ``outcome``; foce: ``theta``, the
        number of ``iterations`` and the linearized ``objective``).

    Build it with :meth:`from_fit`.
    """

    model: object = field(repr=False)
    method: str
    sigma: float
    n_theta: int
    cov_re: dict
    random_effects: dict
    extra: dict = field(repr=False)
    _b: np.ndarray = field(repr=False)
    _index: object = field(repr=False)
    _data_order: np.ndarray = field(repr=False)

    _statistic = "t"
    _print_pvalues = False   # as nlme's and lme4's summaries of a nonlinear fit

    @classmethod
    def from_fit(cls, *, model, data, method, objective=None, outcome=None, nagq=None, foce=None):
        """The result of :func:`~quadlib.glmm.nlmm`'s fit of `model` to `data`.

        Parameters
        ----------
        model : NonlinearModel
        data : pandas.DataFrame
            The data the model was built from (its index labels the fitted values).
        method : {"laplace", "agq", "foce"}
        objective, outcome
            laplace, agq: the :class:`~quadlib.glmm.NLMMObjective` and the
            :class:`~quadlib.glmm.OptimizeOutcome` at its optimum.
        nagq : int, optional
            agq: the number of nodes per dimension.
        foce : dict, optional
            foce: the Lindstrom–Bates fixed point (``beta``, ``theta``, ``sigma``, ``b``, ``T``, the linearized
            ``objective`` and its ``solution``, ``converged``, ``message``, ``history``, ``iterations``).
        """
        import pandas as pd

        if method == "foce":
            state = foce
            solution, sigma, T = state["solution"], float(state["sigma"]), state["T"]
            variances = conditional_variances(state["objective"], solution, state["theta"], sigma)[0]
            beta, b, b_sd = state["beta"], state["b"], np.sqrt(variances)
            covariance, D = sigma ** 2 * cho_inverse(cholesky(solution.K)), sigma ** 2 * T @ T.T
            llf, n_theta = -0.5 * solution.criterion, state["theta"].size
            converged, message, history = state["converged"], state["message"], state["history"]
            extra = {"theta": state["theta"], "iterations": state["iterations"], "objective": state["objective"]}
        else:
            beta, L, sigma = objective.split(outcome.x)
            k, p = objective.n_params, objective.n_beta
            full = covariance_over_free(outcome, k)
            b, cov = objective.conditional_modes(outcome.x)
            b_sd = np.sqrt(np.clip(np.einsum("mii->mi", cov), 0.0, None))
            covariance, D = full[:p, :p], L @ L.T
            llf, n_theta = outcome.llf, objective.n_theta
            converged, message, history = outcome.converged, outcome.message, outcome.history
            method = "laplace" if method == "laplace" else f"agq({nagq})"
            extra = {"x": outcome.x, "names": objective.names, "cov_all": full, "objective": objective,
                     "outcome": outcome}
        names = list(model.random)
        D, b = np.asarray(D, dtype=float), np.asarray(b, dtype=float)
        return cls(formula=model.formula,
                   params=pd.Series(np.asarray(beta, dtype=float), index=list(model.parameters), name="params"),
                   covariance=np.asarray(covariance, dtype=float), llf=float(llf),
                   df_modelwc=len(model.parameters) + int(n_theta) + 1, nobs=model.nobs,
                   ngroups={model.group: model.n_groups}, converged=bool(converged), message=str(message),
                   history=list(history), model=model, method=method, sigma=float(sigma), n_theta=int(n_theta),
                   cov_re={model.group: pd.DataFrame(D, index=names, columns=names)},
                   random_effects={model.group: random_effects_frame(b, b_sd, names, model.levels, model.group)},
                   extra=extra, _b=b, _index=data.index[np.sort(model.rows)],
                   _data_order=np.argsort(model.rows, kind="stable"))

    def __repr__(self):
        return (f"NLMMResult({self.formula!r}, method={self.method!r}, nobs={self.nobs}, "
                f"params={self.params.round(6).to_dict()}, sigma={self.sigma:.6g}, llf={self.llf:.6f}, "
                f"converged={self.converged})")

    def _predict(self, newdata, re, offset):
        """``f(beta + b_g)`` (:meth:`MixedResult.predict`); a nonlinear model has no offset."""
        import pandas as pd

        if offset is not None:
            raise ValueError("`offset`: a nonlinear mixed-effects model has no offset (put it in the model)")
        m = self.model
        beta = self.params.to_numpy()
        if newdata is None:
            out = m.evaluate(m.phi(beta, self._b if re else None))
            return pd.Series(out[self._data_order], index=self._index, name="predicted")
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

    # summary (the layout of MixedResult.summary) -----------------------------------------------------------
    def _summary_title(self):
        kind = {"laplace": "Laplace approximation (Gauss–Newton curvature, as nlmer)",
                "foce": "Lindstrom–Bates linearization (as nlme)"}.get(self.method,
                                                                       f"adaptive Gauss–Hermite quadrature, "
                                                                       f"{self.method[4:-1]} nodes")
        return f"Nonlinear mixed-effects model fit by maximum likelihood: {kind}"

    def _residual_sd(self):
        return float(self.sigma)
