"""The result of :func:`~quadlib.glmm.lmm`: :class:`LMMResult`, a fitted linear mixed model with lme4's numbers
under statsmodels names (fixed-effect inference, variance components, conditional modes, profile intervals,
prediction and simulation). It owns what is computed from a fitted :class:`~quadlib.glmm.LMMObjective`; the
fitting itself (the objective and its optimizer) stays in :mod:`quadlib.glmm._lmm`, which passes its optimizer
in for the ML refits of the profile intervals.
"""
from dataclasses import dataclass, field
from functools import cached_property
import copy
import math

import numpy as np

from .. import _validation as v
from ._design import evaluate_new_data, group_labels
from ._inference import WaldInference
from ._linalg import block_diagonal, cho_inverse, cholesky, lambda_u

__all__ = ["LMMResult"]

_SINGULAR_TOL = 1e-4     # lme4's isSingular(): a diagonal element of theta below this is a boundary fit


def _unique_names(names):
    """lme4's VarCorr names: a repeated group name gets .1, .2, ..."""
    seen, out = {}, []
    for name in names:
        k = seen.get(name, 0)
        out.append(name if k == 0 else f"{name}.{k}")
        seen[name] = k + 1
    return out


@dataclass(frozen=True, eq=False)
class LMMResult(WaldInference):
    """A fitted linear mixed model (statsmodels names; the numbers are lme4's).

    Attributes
    ----------
    params, bse, tvalues, pvalues : pandas.Series
        Fixed effects, their standard errors (lme4's ``vcov``, conditional on theta), t values and two-sided
        p-values from the *normal* approximation (lme4 prints none; Satterthwaite/Kenward-Roger degrees of
        freedom are not implemented).
    sigma : float
        The residual standard deviation.
    cov_re, sd_re, corr_re : dict
        Per random term (keyed by the grouping factor, ``g.1`` for a second term of g, as lme4's VarCorr):
        covariance matrix, standard deviations and correlations of the random effects.
    llf : float
        The maximized log-likelihood; for a REML fit the REML log-likelihood ``-reml_criterion / 2``, as
        lme4's ``logLik(fit)`` reports it. ``aic``, ``bic`` and ``deviance`` (``-2 llf``; for REML fits the REML
        criterion, as lme4's deprecated ``deviance()`` of a REML fit) follow from it, with
        ``df = p + len(theta) + 1`` parameters.
    reml_criterion : float or None
        lme4's ``REMLcrit`` for a REML fit.
    theta : numpy.ndarray
        lme4's theta (relative Cholesky factors, column-wise lower triangles per term).
    random_effects : dict
        Per grouping factor, a DataFrame of the conditional modes (BLUPs) with one row per level and the
        conditional standard deviations in columns ``sd(<name>)``.
    nobs, ngroups, converged, singular, history
        Observations used, levels per grouping factor, the convergence flag, lme4's ``isSingular`` and the
        criterion after each optimizer iteration.
    """

    formula: str
    reml: bool
    params: object
    sigma: float
    llf: float
    reml_criterion: object
    theta: np.ndarray
    nobs: int
    ngroups: dict
    converged: bool
    singular: bool
    message: str
    history: list = field(repr=False)
    covariance: np.ndarray = field(repr=False)
    design: object = field(repr=False)
    _objective: object = field(repr=False)
    _solution: object = field(repr=False)
    _index: object = field(repr=False)       # the index labels of the data rows used, in data order
    _offset_arg: object = field(repr=False)  # the `offset` argument (column name or array) of the fit

    _optimizer: object = field(default=None, repr=False)  # the LMM optimizer, to refit in profiles

    @classmethod
    def _from_fit(cls, design, objective, optimum, data, offset, optimizer=None):
        solution = objective.solve(optimum.theta)
        n, p = design.nobs, design.X.shape[1]
        sigma2 = solution.r2 / (n - p if objective.reml else n)
        import pandas as pd

        params = pd.Series(solution.beta, index=list(design.fixed_names), name="params")
        covariance = sigma2 * cho_inverse(cholesky(solution.K)) if p else np.zeros((0, 0))
        llf = -0.5 * solution.criterion
        ngroups = {}
        for term in design.terms:
            ngroups.setdefault(term.group, term.n_levels)
        singular = bool(np.any(optimum.theta[objective.layout.diagonal] < _SINGULAR_TOL))
        data_rows = np.sort(design.rows)
        return cls(design.formula, objective.reml, params, math.sqrt(sigma2), llf,
                   solution.criterion if objective.reml else None, optimum.theta.copy(), n, ngroups,
                   optimum.converged, bool(singular), optimum.message, optimum.history, covariance, design,
                   objective, solution, data.index[data_rows], offset, optimizer)

    def __repr__(self):
        kind = "REML" if self.reml else "ML"
        return (f"LMMResult({self.formula!r}, {kind}, nobs={self.nobs}, params={self.params.round(6).to_dict()}, "
                f"sigma={self.sigma:.6g}, llf={self.llf:.6f}, converged={self.converged})")

    # fixed effects ------------------------------------------------------------------------------------------
    @property
    def df_modelwc(self):
        """Number of estimated parameters: fixed effects, theta and sigma."""
        return len(self.params) + self.theta.size + 1

    @property
    def aic(self):
        return -2 * self.llf + 2 * self.df_modelwc

    @property
    def bic(self):
        return -2 * self.llf + math.log(self.nobs) * self.df_modelwc

    @property
    def deviance(self):
        return -2 * self.llf

    def conf_int(self, alpha=0.05, method="wald"):
        """Confidence intervals for the fixed effects.

        Parameters
        ----------
        alpha : float
            1 - the confidence level.
        method : {"wald", "profile"}
            ``"wald"``: ``params -/+ z bse``. ``"profile"``: likelihood-ratio intervals, where the profiled ML
            deviance (all other parameters re-optimized, beta_j held fixed as an offset) exceeds its minimum by
            the chi-square(1) quantile; as lme4's ``confint(method = "profile")``, a REML fit is first refitted
            by ML, and the roots are found by bracketing and Brent's method (lme4 interpolates a spline).

        Returns
        -------
        pandas.DataFrame
            Columns ``lower`` and ``upper``, one row per fixed effect.
        """
        import pandas as pd

        alpha = self._alpha_iv(alpha)
        method = v.choice(method, ("wald", "profile"), "method")
        if method == "wald":
            return self._wald_interval(alpha)
        lower, upper = self._profile_intervals(alpha)
        return pd.DataFrame({"lower": np.asarray(lower, float), "upper": np.asarray(upper, float)},
                            index=self.params.index)

    def _profile_intervals(self, alpha):
        from scipy.optimize import brentq
        from scipy.stats import norm

        if self._optimizer is None:
            raise ValueError("profile intervals need the optimizer the model was fitted with; this result was "
                             "built without one")
        _optimize = self._optimizer
        ml = copy.copy(self._objective)
        ml._setup(ml.y, ml.w, ml.X, ml.Z, ml.terms, False, ml.sparse)
        optimum = _optimize(ml, self.theta)
        solution = ml.solve(optimum.theta)
        beta = solution.beta
        se = np.sqrt(np.diag(solution.r2 / ml.nobs * np.linalg.inv(solution.K)))
        target = norm.isf(alpha / 2)  # the signed root of the deviance change, sqrt(chi2(1) quantile)
        lower, upper = np.empty(ml.p), np.empty(ml.p)
        for j in range(ml.p):
            warm = [optimum.theta]

            def excess(value, j=j):
                """|zeta| - target, where zeta = the signed root of the ML deviance change."""
                fit = _optimize(ml._with_fixed(j, value), warm[0])
                warm[0] = fit.theta
                return math.sqrt(max(fit.criterion - optimum.criterion, 0.0)) - target

            for sign, out in ((-1.0, lower), (1.0, upper)):
                # zeta is close to linear in beta_j: from the Wald endpoint, extrapolate linearly (each step
                # between 0.1 and 10 times the distance from the estimate) until the root is bracketed
                near, f_near = beta[j], -target
                far = beta[j] + sign * target * se[j]
                f_far = excess(far)
                for _ in range(60):
                    if f_far >= 0:
                        break
                    slope = (f_far - f_near) / abs(far - near)
                    distance = abs(far - beta[j])
                    step = -f_far / slope if slope > 0 else distance
                    step = min(max(step * 1.05, 0.1 * distance), 10 * distance)
                    near, f_near = far, f_far
                    far = far + sign * step
                    f_far = excess(far)
                else:
                    raise RuntimeError(f"the profile of {self.params.index[j]} does not reach the cutoff")
                out[j] = brentq(excess, min(near, far), max(near, far), xtol=1e-9 * se[j], rtol=1e-15,
                                maxiter=100)
        return lower, upper

    # random effects --------------------------------------------------------------------------------------
    @cached_property
    def _term_names(self):
        return _unique_names([term.group for term in self.design.terms])

    def _cov_blocks(self):
        for name, term, lay in zip(self._term_names, self.design.terms, self._objective.layout.blocks):
            T = lay.factor(self.theta[lay.theta])
            yield name, term, self.sigma ** 2 * (T @ T.T)

    @cached_property
    def cov_re(self):
        import pandas as pd

        return {name: pd.DataFrame(C, index=term.columns, columns=term.columns) for name, term, C in
                self._cov_blocks()}

    @cached_property
    def sd_re(self):
        import pandas as pd

        return {name: pd.Series(np.sqrt(np.diag(C.to_numpy())), index=C.index, name=name)
                for name, C in self.cov_re.items()}

    @cached_property
    def corr_re(self):
        import pandas as pd

        out = {}
        for name, C in self.cov_re.items():
            sd = self.sd_re[name].to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                R = C.to_numpy() / np.outer(sd, sd)
            np.fill_diagonal(R, 1.0)
            out[name] = pd.DataFrame(R, index=C.index, columns=C.columns)
        return out

    @cached_property
    def random_effects(self):
        import pandas as pd

        variances = self._conditional_variances()
        frames = {}
        for term, lay, var in zip(self.design.terms, self._objective.layout.blocks, variances):
            modes = self._solution.b[lay.start:lay.stop].reshape(lay.n_levels, lay.q)
            modes_df = pd.DataFrame(modes, index=pd.Index(term.levels, name=term.group), columns=term.columns)
            sd_df = pd.DataFrame(np.sqrt(var), index=modes_df.index, columns=[f"sd({c})" for c in term.columns])
            if term.group in frames:  # a second term of the same factor: lme4's ranef merges the columns
                old_modes, old_sd = frames[term.group]
                modes_df.columns = [c if c not in old_modes.columns else f"{c}.1" for c in modes_df.columns]
                sd_df.columns = [f"sd({c})" for c in modes_df.columns]
                modes_df, sd_df = old_modes.join(modes_df), old_sd.join(sd_df)
            frames[term.group] = (modes_df, sd_df)
        return {group: modes.join(sd) for group, (modes, sd) in frames.items()}

    def _conditional_variances(self):
        """The diagonals of sigma^2 T_k (A^-1)_{ll} T_k' per level: Var(b | y) at the estimates."""
        objective, factor = self._objective, self._solution.factor
        q = objective.q
        if factor[0] == "dense":
            diag_blocks = block_diagonal(cho_inverse(factor[1]), objective.layout.blocks)
        else:
            blocks = [np.empty((lay.n_levels, lay.q, lay.q)) for lay in objective.layout.blocks]
            width = max(1, min(256, 4_000_000 // q))  # columns of the identity solved at once
            for start in range(0, q, width):
                stop = min(start + width, q)
                E = np.zeros((q, stop - start))
                E[np.arange(start, stop), np.arange(stop - start)] = 1.0
                X = factor[1].solve(E)
                for lay, out in zip(objective.layout.blocks, blocks):
                    cols = np.arange(max(start, lay.start), min(stop, lay.stop))
                    level, c = np.divmod(cols - lay.start, lay.q)
                    rows = lay.start + level[:, None] * lay.q + np.arange(lay.q)
                    out[level, :, c] = X[rows, (cols - start)[:, None]]
            diag_blocks = blocks
        out = []
        for lay, blocks in zip(objective.layout.blocks, diag_blocks):
            T = lay.factor(self.theta[lay.theta])
            out.append(self.sigma ** 2 * np.einsum("rc,lcd,rd->lr", T, blocks, T))
        return out

    # fitted values, prediction, simulation ------------------------------------------------------------------
    @cached_property
    def _data_order(self):
        return np.argsort(self.design.rows, kind="stable")

    def _linear_predictor(self, re=True):
        d, sol = self.design, self._solution
        eta = d.X @ sol.beta + d.offset
        if re:
            eta = eta + self._objective.Z @ sol.b
        return eta[self._data_order]

    @property
    def fittedvalues(self):
        """Fitted values ``X beta + offset + Z b`` in the order of the data rows used."""
        import pandas as pd

        return pd.Series(self._linear_predictor(), index=self._index, name="fitted")

    @property
    def resid(self):
        """Response minus fitted values, in the order of the data rows used."""
        import pandas as pd

        return pd.Series(self.design.response[self._data_order], index=self._index) - self.fittedvalues

    def predict(self, newdata=None, re=True, *, offset=None):
        """Predictions ``X beta + offset (+ Z b)``.

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
            New rows with the columns of the fixed part and the grouping factors (not the response). Factor
            levels of the fixed part must occur in the fitted data. A grouping level not in the fitted data gets
            a zero random effect (lme4's ``allow.new.levels = TRUE``); so does a missing grouping value.
            Default: the fitted data.
        re : bool
            Include the random effects (conditional modes); False gives the population-level prediction.
        offset : array_like or str, optional
            The offset of `newdata` when the fit's `offset` was an array (a column name is looked up in
            `newdata`; ``offset(...)`` terms in the formula are evaluated on `newdata`).

        Returns
        -------
        pandas.Series
            Indexed like `newdata` (or the data rows used).
        """
        import pandas as pd

        if not isinstance(re, (bool, np.bool_)):
            raise TypeError(f"`re` must be True or False, got {re!r}")
        if newdata is None:
            if offset is not None:
                raise ValueError("`offset` is only used with `newdata`")
            return pd.Series(self._linear_predictor(bool(re)), index=self._index, name="predicted")
        if not isinstance(newdata, pd.DataFrame):
            raise TypeError(f"`newdata` must be a pandas DataFrame, got {type(newdata).__name__}")
        d = self.design
        X, formula_offset = evaluate_new_data(d.fixed_model, d.fixed_keep, d.fixed_offset, newdata,
                                              "the fixed effects")
        eta = X @ self.params.to_numpy() + formula_offset
        if offset is None and self._offset_arg is not None:
            if not isinstance(self._offset_arg, str):
                raise ValueError("the model was fitted with an `offset` array: pass `offset` for `newdata`")
            offset = self._offset_arg
        if offset is not None:
            if isinstance(offset, str):
                if offset not in newdata:
                    raise ValueError(f"`offset` column {offset!r} is not in `newdata`")
                offset = newdata[offset]
            offset = np.asarray(offset, dtype=float)
            if offset.shape != (len(newdata),):
                raise ValueError(f"`offset` must have one value per row of `newdata` ({len(newdata)}), "
                                 f"got shape {offset.shape}")
            eta = eta + offset
        if re:
            for term, lay in zip(d.terms, self._objective.layout.blocks):
                for name in term.group.split(":"):
                    if name not in newdata:
                        raise ValueError(f"`newdata` has no column {name!r} (grouping factor of {term})")
                Z, _ = evaluate_new_data(term.model, term.keep, [], newdata, f"the random term {term}")
                position = {level: i for i, level in enumerate(term.levels)}
                index = np.array([position.get(label, -1) for label in group_labels(newdata, term.group)],
                                 dtype=np.intp)
                b = self._solution.b[lay.start:lay.stop].reshape(lay.n_levels, lay.q)
                known = index >= 0
                contribution = np.zeros(len(newdata))
                contribution[known] = np.sum(Z[known] * b[index[known]], axis=1)
                eta = eta + contribution
        return pd.Series(eta, index=newdata.index, name="predicted")

    def simulate(self, n=1, seed=None):
        """`n` response vectors drawn from the fitted model (new random effects and residuals).

        Returns
        -------
        numpy.ndarray
            Shape ``(nobs, n)``, rows in the order of the data rows used.
        """
        n = v.positive_int(n, "n")
        rng = np.random.default_rng(seed)
        objective, d = self._objective, self.design
        # one row of draws per simulation, so the first k of n simulations are those of simulate(k)
        draws = rng.standard_normal((n, objective.q + d.nobs)) * self.sigma
        Ts = [lay.factor(self.theta[lay.theta]) for lay in objective.layout.blocks]
        b = np.column_stack([lambda_u(draws[k, :objective.q], Ts, objective.layout.blocks) for k in range(n)])
        noise = draws[:, objective.q:].T / np.sqrt(objective.w)[:, None]
        mean = d.X @ self.params.to_numpy() + d.offset
        y = mean[:, None] + objective.Z @ b + noise
        return y[self._data_order]

    # summary -----------------------------------------------------------------------------------------------
    def summary(self):
        """A text summary laid out like lme4's ``summary.lmerMod``."""
        kind = "REML" if self.reml else "maximum likelihood"
        lines = [f"Linear mixed model fit by {kind}", f"Formula: {self.formula}", ""]
        if self.reml:
            lines.append(f"REML criterion at convergence: {self.reml_criterion:.4f}")
        else:
            lines.append(f"{'AIC':>12}{'BIC':>12}{'logLik':>12}{'deviance':>12}{'df.resid':>10}")
            lines.append(f"{self.aic:12.4f}{self.bic:12.4f}{self.llf:12.4f}{self.deviance:12.4f}"
                         f"{self.nobs - self.df_modelwc:10d}")
        scaled = self.resid.to_numpy() * np.sqrt(self._objective.w[self._data_order]) / self.sigma
        q = np.quantile(scaled, [0, 0.25, 0.5, 0.75, 1])
        lines += ["", "Scaled residuals:", "".join(f"{h:>10}" for h in ("Min", "1Q", "Median", "3Q", "Max")),
                  "".join(f"{x:10.4f}" for x in q), "", "Random effects:"]
        rows = []
        for name, C in self.cov_re.items():
            sd, R = self.sd_re[name].to_numpy(), self.corr_re[name].to_numpy()
            correlated = next(t for t, nm in zip(self.design.terms, self._term_names) if nm == name).correlated
            for i, column in enumerate(C.columns):
                corr = " ".join(f"{R[i, j]:6.3f}" for j in range(i)) if correlated and i else ""
                rows.append((name if i == 0 else "", column, C.iloc[i, i], sd[i], corr))
        rows.append(("Residual", "", self.sigma ** 2, self.sigma, ""))
        w_group = max(6, *(len(r[0]) for r in rows))
        w_name = max(4, *(len(r[1]) for r in rows))
        lines.append(f" {'Groups':<{w_group}} {'Name':<{w_name}} {'Variance':>12} {'Std.Dev.':>10}  Corr")
        for group, column, var, sd, corr in rows:
            lines.append(f" {group:<{w_group}} {column:<{w_name}} {var:12.4f} {sd:10.4f}  {corr}".rstrip())
        groups = ", ".join(f"{g}, {k}" for g, k in self.ngroups.items())
        lines += [f"Number of obs: {self.nobs}, groups:  {groups}", "", "Fixed effects:"]
        w_par = max(12, *(len(name) for name in self.params.index)) if len(self.params) else 12
        lines += self.coef_table("t", pvalues=False)
        if len(self.params) > 1:
            corr = self.covariance / np.outer(self.bse, self.bse)
            names = list(self.params.index)
            lines += ["", "Correlation of Fixed Effects:",
                      f"{'':<{w_par}}" + "".join(f"{nm[:6]:>8}" for nm in names[:-1])]
            for i in range(1, len(names)):
                lines.append(f"{names[i]:<{w_par}}" + "".join(f"{corr[i, j]:8.3f}" for j in range(i)))
        if self.singular:
            lines += ["", "boundary (singular) fit"]
        if not self.converged:
            lines += ["", f"WARNING: the optimizer did not converge: {self.message}"]
        return "\n".join(lines)

