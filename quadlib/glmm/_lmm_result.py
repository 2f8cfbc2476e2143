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
from ._result import MixedResult
from ._summary import align_columns, coef_table
from ._linalg import block_diagonal, cho_inverse, cholesky, lambda_u

__all__ = ["LMMResult", "conditional_variances"]

_SINGULAR_TOL = 1e-4     # lme4's isSingular(): a diagonal element of theta below this is a boundary fit


def _unique_names(names):
    """lme4's VarCorr names: a repeated group name gets .1, .2, ..."""
    seen, out = {}, []
    for name in names:
        k = seen.get(name, 0)
        out.append(name if k == 0 else f"{name}.{k}")
        seen[name] = k + 1
    return out


def conditional_variances(objective, solution, theta, sigma):
    """Var(b | y) of a linear mixed model at `theta` and `sigma`: the diagonals of sigma^2 T_k (A^-1)_{ll} T_k',
    one array (levels, q) per random term of `objective` (an :class:`~quadlib.glmm.LMMObjective`), from the
    factor of A in `solution` (its :meth:`~quadlib.glmm.LMMObjective.solve` at `theta`).

    The blocked engine's factor gives the level blocks of A^-1 directly
    (:meth:`~quadlib.glmm._blocked.BlockedFactor.condvar_blocks`), without a q x q matrix; the sparse LU
    solves for the unit vectors in chunks of at most 256 columns."""
    factor = solution.factor
    q = objective.q
    if factor[0] == "dense":
        diag_blocks = block_diagonal(cho_inverse(factor[1]), objective.layout.blocks)
    elif factor[0] == "blocked":
        diag_blocks = factor[1].condvar_blocks()
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
        T = lay.factor(theta[lay.theta])
        out.append(sigma ** 2 * np.einsum("rc,lcd,rd->lr", T, blocks, T))
    return out


@dataclass(frozen=True, eq=False, kw_only=True, repr=False)
class LMMResult(MixedResult):
    """A fitted linear mixed model (statsmodels names; the numbers are lme4's).

    Attributes
    ----------
    params, bse, tvalues, pvalues : pandas.Series
        Fixed effects, their standard errors (lme4's ``vcov``, conditional on theta), t values and two-sided
        p-values from the *normal* approximation (lme4 prints none); :meth:`t_test`, :meth:`f_test` and
        ``summary(ddf=...)`` give Satterthwaite's or Kenward-Roger's degrees of freedom (lmerTest, pbkrtest).
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
    nobs, ngroups, converged, singular, message, history
        Observations used, levels per grouping factor, the convergence flag, lme4's ``isSingular``, why the
        optimizer stopped and the criterion after each optimizer iteration.
    design : Design
        The model's design.

    objective, solution, optimizer
        Read-only: the :class:`~quadlib.glmm.LMMObjective` that was minimized, its ``solve`` at ``theta`` and
        the optimizer of the fit (the inference modules refit and differentiate with them).

    Build it with :meth:`from_fit`. ``conf_int(method="profile")`` needs the optimizer the model was fitted
    with (:func:`~quadlib.glmm.lmm` passes it). The inference shared with every result (Wald tests of linear
    hypotheses, the sandwich covariance, variance components on the standard-deviation scale, the parametric
    bootstrap, likelihood-ratio tests) is :class:`~quadlib.glmm._result.MixedResult`'s.
    """

    reml: bool
    sigma: float
    reml_criterion: object
    theta: np.ndarray
    singular: bool
    design: object = field(repr=False)
    _objective: object = field(repr=False)
    _solution: object = field(repr=False)
    _index: object = field(repr=False)       # the index labels of the data rows used, in data order
    _offset_arg: object = field(repr=False)  # the `offset` argument (column name or array) of the fit
    _optimizer: object = field(default=None, repr=False)  # the LMM optimizer, to refit in profiles

    _statistic = "t"
    _print_pvalues = False   # as lme4

    @classmethod
    def from_fit(cls, *, design, objective, optimum, data, offset=None, optimizer=None):
        """The result at the optimum of an :class:`~quadlib.glmm.LMMObjective`.

        Parameters
        ----------
        design : Design
            The model's design (:func:`~quadlib.glmm.build_design`).
        objective : LMMObjective
            The profiled criterion that was minimized.
        optimum : OptimizeOutcome
            Where :func:`quadlib.glmm._lmm.optimize_theta` stopped: theta (``x``), ``converged``, ``message``,
            ``history`` (the log-likelihood, ``-criterion / 2``, after each iteration).
        data : pandas.DataFrame
            The data frame the design was built from (its index labels the fitted values).
        offset : str or array_like, optional
            The fit's `offset` argument (a column name is looked up again in new data).
        optimizer : callable, optional
            ``optimizer(objective, start)`` -> OptimizeOutcome: the refits of the profile intervals.
        """
        import pandas as pd

        solution = objective.solve(optimum.x)
        n, p = design.nobs, design.X.shape[1]
        sigma2 = solution.r2 / (n - p if objective.reml else n)
        ngroups = {}
        for term in design.terms:
            ngroups.setdefault(term.group, term.n_levels)
        theta = np.array(optimum.x, dtype=float)
        return cls(formula=design.formula, reml=objective.reml,
                   params=pd.Series(solution.beta, index=list(design.fixed_names), name="params"),
                   covariance=sigma2 * cho_inverse(cholesky(solution.K)) if p else np.zeros((0, 0)),
                   llf=-0.5 * solution.criterion, df_modelwc=p + theta.size + 1, nobs=n, ngroups=ngroups,
                   converged=bool(optimum.converged), message=str(optimum.message),
                   history=[-2.0 * h for h in optimum.history],
                   sigma=math.sqrt(sigma2), reml_criterion=solution.criterion if objective.reml else None,
                   theta=theta, singular=bool(np.any(theta[objective.layout.diagonal] < _SINGULAR_TOL)),
                   design=design, _objective=objective, _solution=solution,
                   _index=data.index[np.sort(design.rows)], _offset_arg=offset, _optimizer=optimizer)

    # the fit's pieces, read-only (the inference modules build refits and derivatives from them) ------------
    @property
    def objective(self):
        """The :class:`~quadlib.glmm.LMMObjective` that was minimized (its ``reml`` is the fit's)."""
        return self._objective

    @property
    def solution(self):
        """The objective's :meth:`~quadlib.glmm.LMMObjective.solve` at ``theta`` (beta, the modes b, the
        factor of A, ``r2``, ``K``, the criterion)."""
        return self._solution

    @property
    def optimizer(self):
        """``optimizer(objective, start)`` -> OptimizeOutcome, the optimizer the model was fitted with (it refits
        in profiles and bootstraps), or None for a result built without one."""
        return self._optimizer

    def refitter(self):
        """The bootstrap's refit protocol for this linear mixed model
        (:func:`quadlib.glmm._bootstrap.lmm_refitter`: ``LMMObjective.with_response``, REML refitted by REML)."""
        from ._bootstrap import lmm_refitter

        return lmm_refitter(self)

    def __repr__(self):
        kind = "REML" if self.reml else "ML"
        return (f"LMMResult({self.formula!r}, {kind}, nobs={self.nobs}, params={self.params.round(6).to_dict()}, "
                f"sigma={self.sigma:.6g}, llf={self.llf:.6f}, converged={self.converged})")

    # profile intervals -----------------------------------------------------------------------------------
    def _profiles(self):
        """As lme4's ``confint(method = "profile")``: a REML fit is first refitted by ML; the profile of beta_j
        refits theta with beta_j x_j moved into the offset (beta and sigma profile out in closed form), each
        refit started from the previous one."""
        if self._optimizer is None:
            raise ValueError("`method`: profile intervals need the optimizer the model was fitted with; this "
                             "result was built without one (see LMMResult.from_fit)")
        refit = self._optimizer
        ml = copy.copy(self._objective)
        # the same X and weights: the blocked engine's symbolic analysis is reused
        ml._setup(ml.y, ml.w, ml.X, ml.Z, ml.terms, False, ml.sparse, getattr(ml, "_structure", None))
        optimum = refit(ml, self.theta)
        solution = ml.solve(optimum.x)
        se = np.sqrt(np.diag(solution.r2 / ml.nobs * np.linalg.inv(solution.K)))
        out = []
        for j in range(ml.p):
            warm = [optimum.x]

            def llf(value, j=j, warm=warm):
                fit = refit(ml._with_fixed(j, value), warm[0])
                warm[0] = fit.x
                return fit.llf

            out.append((llf, float(solution.beta[j]), float(se[j]), optimum.llf))
        return out

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
        return conditional_variances(self._objective, self._solution, self.theta, self.sigma)

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

    def _predict(self, newdata, re, offset):
        """``X beta + offset (+ Z b)`` (:meth:`MixedResult.predict`); the fit's offset column is looked up in
        `newdata` by default, and an offset array given to the fit needs one for `newdata`."""
        import pandas as pd

        if newdata is None:
            return pd.Series(self._linear_predictor(re), index=self._index, name="predicted")
        d = self.design
        X, formula_offset = evaluate_new_data(d.fixed_model, d.fixed_keep, d.fixed_offset, newdata,
                                              "the fixed effects")
        eta = X @ self.params.to_numpy() + formula_offset
        if offset is None and self._offset_arg is not None:
            if not isinstance(self._offset_arg, str):
                raise ValueError("the model was fitted with an `offset` array: pass `offset` for `newdata`")
            offset = self._offset_arg
        offset = self._newdata_offset(newdata, offset)
        if offset is not None:
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

    # small-sample tests (quadlib.glmm._smallsample) --------------------------------------------------------
    def t_test(self, ddf="satterthwaite"):
        """t tests of the fixed effects with Satterthwaite's or Kenward-Roger's degrees of freedom (lmerTest's
        coefficient table): :func:`quadlib.glmm._smallsample.t_test`.

        Parameters
        ----------
        ddf : {"satterthwaite", "kenward-roger", "kr"}
            Case-insensitive; Kenward-Roger needs a REML fit (its standard errors are the adjusted ones).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``params``; columns ``Estimate``, ``Std. Error``, ``df``, ``t value``, ``Pr(>|t|)``.

        Examples
        --------
        >>> from quadlib.glmm import datasets, lmm
        >>> fit = lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
        >>> fit.t_test()["df"].round(4).tolist()           # lmerTest: 17, 17
        [17.0, 17.0]
        """
        from ._smallsample import t_test

        return t_test(self, ddf)

    def f_test(self, term_or_L, ddf="satterthwaite", rhs=0.0):
        """The F test of a formula term, of ``L beta = rhs`` or of a hypothesis string, with Satterthwaite's or
        Kenward-Roger's denominator degrees of freedom (lmerTest's ``anova`` row of a term, ``contest``):
        :func:`quadlib.glmm._smallsample.f_test`.

        Parameters
        ----------
        term_or_L : str or array_like
            A term of the fixed-effects formula (``"Diet"``: its coefficients jointly), equations in the
            coefficients' names (a string with ``=``: :func:`~quadlib.glmm._hypothesis.parse_hypothesis`, then
            `rhs` is part of the string), or a matrix L with one column per coefficient.
        ddf : {"satterthwaite", "kenward-roger", "kr"}
        rhs : float or array_like
            The right-hand side of a matrix hypothesis.

        Returns
        -------
        pandas.DataFrame
            One row: ``Sum Sq``, ``Mean Sq``, ``NumDF``, ``DenDF``, ``F value``, ``Pr(>F)``.

        Examples
        --------
        >>> from quadlib.glmm import datasets, lmm
        >>> fit = lmm("weight ~ Time + Diet + (Time | Chick)", datasets.load("chickweight"))
        >>> round(float(fit.f_test("Diet")["DenDF"].iloc[0]), 2)    # lmerTest: 45.5315
        45.53
        """
        from ._smallsample import f_test

        if isinstance(term_or_L, str) and "=" in term_or_L:
            from ._hypothesis import parse_hypothesis

            if np.any(np.asarray(rhs, dtype=float) != 0):
                raise ValueError("`rhs` applies to a matrix hypothesis; write it into the string ('a = 1')")
            L, rhs = parse_hypothesis(term_or_L, list(self.params.index))
            return f_test(self, L, ddf, rhs).rename(index={"L": term_or_L})
        return f_test(self, term_or_L, ddf, rhs)

    def summary(self, ddf=None):
        """A text summary laid out like lme4's ``summary()``; with `ddf` the fixed effects' table has lmerTest's
        ``df`` and ``Pr(>|t|)`` columns (:meth:`t_test`, Satterthwaite's or Kenward-Roger's method).

        Parameters
        ----------
        ddf : {None, "satterthwaite", "kenward-roger", "kr"}
            None: lme4's table (no p-values).
        """
        if ddf is None:
            return super().summary()
        from ._smallsample import check_ddf

        method = check_ddf(ddf)
        table = self.t_test(method)
        coefficients = coef_table(table.index, table["Estimate"].to_numpy(), table["Std. Error"].to_numpy(),
                                  table["t value"].to_numpy(), table["Pr(>|t|)"].to_numpy(), statistic="t",
                                  df=table["df"].to_numpy())
        name = "Satterthwaite's" if method == "satterthwaite" else "Kenward-Roger's"
        return self._summary_text(coefficients, title=f"{self._summary_title()}. t-tests use {name} method")

    # summary (the layout of MixedResult.summary) -----------------------------------------------------------
    def _summary_title(self):
        return f"Linear mixed model fit by {'REML' if self.reml else 'maximum likelihood'}"

    def _summary_header(self):
        return [f"REML criterion at convergence: {self.reml_criterion:.4f}"] if self.reml else ()

    def _residual_sd(self):
        return float(self.sigma)

    def _summary_before(self):
        scaled = self.resid.to_numpy() * np.sqrt(self._objective.w[self._data_order]) / self.sigma
        quartiles = np.quantile(scaled, [0, 0.25, 0.5, 0.75, 1]) if scaled.size else np.full(5, np.nan)
        return ["Scaled residuals:"] + align_columns([["Min", "1Q", "Median", "3Q", "Max"],
                                                      [f"{x:.4f}" for x in quartiles]], left=0)

    def _summary_after(self):
        if len(self.params) < 2:
            return ()
        bse = self.bse.to_numpy()
        corr = self.covariance / np.outer(bse, bse)
        names = list(self.params.index)
        rows = [[""] + [name[:6] for name in names[:-1]]]
        rows += [[names[i]] + [f"{corr[i, j]:.3f}" for j in range(i)] for i in range(1, len(names))]
        return ["Correlation of Fixed Effects:"] + align_columns(rows)

