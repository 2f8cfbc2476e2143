"""The results of quadlib.glmm: one base, :class:`MixedResult`, and the fitted GLMM of the pipeline's stage 4,
:class:`GLMMResult`.

:class:`MixedResult` owns what every fitted model shares and computes it one way: Wald inference (``bse``,
``tvalues``, ``pvalues``, ``cov_params()``, ``conf_int()``, with profile intervals where a model can refit),
issue 20's inference as thin methods over the modules that compute it (``wald_test``: ``_hypothesis``;
``cov_params(kind="sandwich")``: ``_sandwich``; ``re_params``, ``re_bse``, ``conf_int(parm=...)``,
``plot_profile``: ``_varcomp``; ``bootstrap``, ``conf_int(method="boot")``: ``_bootstrap``; ``compare``:
``_anova``),
the information criteria (``aic``, ``bic``, ``deviance``; NaN without a likelihood), the standard deviations
and correlations of the random effects from ``cov_re``, the caterpillar plot and ``summary()`` in one layout
(:mod:`quadlib.glmm._summary`). A result is a frozen dataclass with keyword-only fields, built by its
``from_fit`` classmethod from the fit's named pieces. The other results derive from it, each in a module of
its own (:class:`~quadlib.glmm.LMMResult` in ``_lmm_result.py``, :class:`~quadlib.glmm.PQLResult` in
``_pql_result.py``, :class:`~quadlib.glmm.NLMMResult` in ``_nlmm_result.py``,
:class:`~quadlib.glmm.ConditionalResult` in ``_conditional_result.py``); the model modules import them, never
the other way round.
"""
from dataclasses import dataclass, field, replace
import math
import warnings

import numpy as np

from .. import _validation as v
from ._inference import (check_alpha, covariance_over_free, information_criteria, normal_pvalues, profile_interval,
                         reported_parameters, response_model, transformed_covariance, wald_interval)
from ._objective import make_objective
from ._optimize import ConvergenceWarning, optimize
from ._summary import coef_table, criteria_table, format_summary, random_effects_table
from . import plotting

__all__ = ["GLMMResult", "MixedResult", "RandomEffects", "profile_ends", "random_effects_frame"]

_SINGULAR_TOL = 1e-4   # lme4's isSingular(): a relative diagonal element of a covariance factor below this


def random_effects_frame(modes, sds, columns, levels, group):
    """The one layout of a result's ``random_effects[group]``: the conditional modes (or means) in columns named
    after the effects, then their conditional standard deviations in columns ``sd(<name>)`` (lme4's
    ``ranef(condVar = TRUE)``), one row per level of `group`.

    Examples
    --------
    >>> random_effects_frame([[0.5], [-0.5]], [[0.1], [0.2]], ["(Intercept)"], ["a", "b"], "g")
       (Intercept)  sd((Intercept))
    g
    a          0.5              0.1
    b         -0.5              0.2
    """
    import pandas as pd

    columns = [str(c) for c in columns]
    values = np.hstack([np.asarray(modes, dtype=float), np.asarray(sds, dtype=float)])
    return pd.DataFrame(values, columns=columns + [f"sd({c})" for c in columns],
                        index=pd.Index(list(levels), name=group))


@dataclass(frozen=True, eq=False, kw_only=True, repr=False)
class MixedResult:
    """What every fitted model of quadlib.glmm has, computed one way (statsmodels names).

    Attributes
    ----------
    formula : str
    params : pandas.Series
        The fixed effects.
    covariance : numpy.ndarray
        Covariance matrix of the estimates; its leading block, one row per fixed effect, is ``cov_params()``.
    llf : float
        The maximized log-likelihood; NaN for a model without one (PQL).
    df_modelwc : int
        The number of estimated parameters (for AIC and BIC).
    nobs : int
        Observations used.
    ngroups : dict
        Grouping factor -> number of its levels (groups, strata).
    converged : bool
    message : str
        Why the fit stopped.
    history : list
        The objective after each iteration.

    Notes
    -----
    A subclass provides ``cov_re`` (grouping factor -> covariance matrix of its random effects, a DataFrame)
    and ``random_effects`` (grouping factor -> DataFrame of :func:`random_effects_frame`), both empty for a model
    without random effects; ``sd_re`` and ``corr_re`` follow from ``cov_re`` here. For ``summary()`` it gives
    ``_summary_title()`` and may extend the other ``_summary_*`` hooks; for profile intervals, ``_profiles()``;
    for the parametric bootstrap, ``refitter()`` (the base raises TypeError: no refits).
    """

    formula: str
    params: object
    covariance: np.ndarray = field(repr=False)
    llf: float
    df_modelwc: int
    nobs: int
    ngroups: dict
    converged: bool
    message: str
    history: list = field(repr=False)

    _statistic = "z"        # the Wald statistic's name in the coefficient table
    _print_pvalues = True   # lme4 prints none for linear mixed models

    # Wald inference ----------------------------------------------------------------------------------------
    def cov_params(self, kind="model", *, correction=None):
        """Covariance matrix of the fixed effects (DataFrame).

        Parameters
        ----------
        kind : {"model", "sandwich"}
            ``"model"``: the fit's own (the leading block of ``covariance``). ``"sandwich"``: cluster-robust,
            clustered on the top-level grouping factor (:func:`quadlib.glmm._sandwich.sandwich_covariance`:
            clubSandwich's CR2 for a linear mixed model, ``H^-1 (sum_g s_g s_g') H^-1`` with CR1 for a GLMM of
            one grouping factor).
        correction : {"CR0", "CR1", "CR2"}, optional
            The sandwich's small-sample correction (default CR2 for an LMM, CR1 for a GLMM); only with
            ``kind="sandwich"``.
        """
        if kind == "model" and correction is None:
            import pandas as pd

            p = len(self.params)
            return pd.DataFrame(np.asarray(self.covariance)[:p, :p], index=self.params.index,
                                columns=self.params.index)
        from ._sandwich import cov_params

        return cov_params(self, kind, correction)

    @property
    def bse(self):
        """Standard errors of the fixed effects."""
        import pandas as pd

        p = len(self.params)
        return pd.Series(np.sqrt(np.diag(np.asarray(self.covariance)[:p, :p])), index=self.params.index, name="bse")

    @property
    def tvalues(self):
        """Wald statistics ``params / bse``."""
        return (self.params / self.bse).rename("tvalues")

    @property
    def pvalues(self):
        """Two-sided p-values of the Wald statistics from the standard normal distribution."""
        import pandas as pd

        return pd.Series(normal_pvalues(self.tvalues.to_numpy()), index=self.params.index, name="pvalues")

    def conf_int(self, alpha=0.05, method="wald", client=None, *, parm=None, cov="model", kind="percentile",
                 n=1000, seed=None, boot=None, workers=None):
        """Confidence intervals for the fixed effects and, with `parm`, the variance components.

        Parameters
        ----------
        alpha : float
            1 - the confidence level.
        method : {"wald", "profile", "boot"}
            ``"wald"``: ``estimate -/+ z_{1 - alpha/2} se`` (the variance components' delta-method standard
            errors, :attr:`re_bse`, the ends kept within the parameter's range). ``"profile"`` (where the model
            can refit with a parameter held fixed): the likelihood-ratio interval, found by
            :func:`quadlib.glmm._inference.profile_interval` (the variance components' by
            :func:`quadlib.glmm._varcomp.varcomp_conf_int`, lme4's ``devfun2`` profiles, by maximum likelihood
            also for a REML fit). ``"boot"``: the parametric bootstrap's interval of `kind` from
            :meth:`bootstrap` (`n` replicates, `seed`), or from `boot`.
        client : distributed.Client, optional
            method="profile": compute the fixed effects' profiles as tasks on this Dask cluster (one task per
            fixed effect, each refitting the model along its profile; the result is sent to the workers
            pickled). The intervals are those of the sequential computation (the same refits from the same
            warm starts); the workers' warnings are re-issued here. Without it the profiles run one after
            another in this process (the variance components' always do). method="boot": the cluster of the
            bootstrap's refits.
        parm : {"beta", "re", "all"}, optional
            The fixed effects, the variance components on the standard-deviation scale (names of
            :attr:`re_params`), or both: the variance components first, then the fixed effects (lme4's order).
            Default: "beta" for the Wald and profile intervals, "all" for the bootstrap's (lme4's
            ``confint(method = "boot")``, whose default statistic covers both).
        cov : {"model", "sandwich"}
            method="wald", fixed effects: the covariance of :meth:`cov_params`.
        kind : {"percentile", "basic", "bca"}
            method="boot": the bootstrap interval (:meth:`quadlib.glmm._bootstrap.BootstrapResult.conf_int`).
        n : int
            method="boot": replicates when `boot` is not given (at most 10**6).
        seed : int or numpy.random.SeedSequence, optional
            method="boot": the bootstrap's seed.
        boot : BootstrapResult, optional
            method="boot": a bootstrap of this result to reuse (its default statistic covers ``params`` and the
            variance components).
        workers : int, optional
            method="boot": local processes of the bootstrap.

        Returns
        -------
        pandas.DataFrame
            Columns ``lower`` and ``upper``, one row per parameter of `parm`.
        """
        import pandas as pd

        alpha = check_alpha(alpha)
        method = v.choice(method, ("wald", "profile", "boot"), "method")
        parm = ("all" if method == "boot" else "beta") if parm is None else v.choice(parm, ("beta", "re", "all"),
                                                                                        "parm")
        cov = v.choice(cov, ("model", "sandwich"), "cov")
        if client is not None:
            v.dask_client(client)
            if method == "wald":
                raise ValueError("`client` applies to method='profile' or 'boot' (Wald intervals need no refits)")
        if cov != "model" and method != "wald":
            raise ValueError(f"`cov` applies to method='wald', got cov={cov!r} with method={method!r}")
        if method == "boot":
            kind = v.choice(kind, ("percentile", "basic", "bca"), "kind")   # before any refit
        elif boot is not None or workers is not None or seed is not None or kind != "percentile":
            raise ValueError("`boot`, `seed`, `workers` and `kind` apply to method='boot'")
        if method == "boot":
            return self._boot_interval(alpha, parm, kind, n, seed, boot, client, workers)
        frames = []
        if parm in ("re", "all"):
            from ._varcomp import varcomp_conf_int

            frames.append(varcomp_conf_int(self, alpha, method))
        if parm in ("beta", "all"):
            frames.append(self._beta_interval(alpha, method, client, cov))
        return frames[0] if len(frames) == 1 else pd.concat(frames)

    def _beta_interval(self, alpha, method, client, cov):
        """The fixed effects' Wald or profile intervals (:meth:`conf_int`, its arguments checked)."""
        import pandas as pd

        if method == "wald":
            bse = self.bse.to_numpy() if cov == "model" else np.sqrt(np.diag(self.cov_params(cov).to_numpy()))
            lower, upper = wald_interval(self.params.to_numpy(), bse, alpha)
        elif client is None:
            ends = [profile_interval(llf, estimate, se, llf_max, alpha, name=name)
                    for name, (llf, estimate, se, llf_max) in zip(self.params.index, self._profiles())]
            lower, upper = [e[0] for e in ends], [e[1] for e in ends]
        else:
            self._profiles()    # a model without profiles says so here, before any task is sent
            shared = client.scatter(self, broadcast=True)
            futures = [client.submit(profile_ends, shared, j, alpha, pure=False) for j in range(len(self.params))]
            ends = []
            for future in futures:
                pair, caught = future.result()
                for message, category in caught:   # the workers' warnings, at the caller's line
                    warnings.warn(message, category, stacklevel=3)
                ends.append(pair)
            lower, upper = [e[0] for e in ends], [e[1] for e in ends]
        return pd.DataFrame({"lower": np.asarray(lower, dtype=float), "upper": np.asarray(upper, dtype=float)},
                            index=self.params.index)

    def _boot_interval(self, alpha, parm, kind, n, seed, boot, client, workers):
        """method="boot" of :meth:`conf_int`: the rows of `parm` from the bootstrap's intervals."""
        import pandas as pd

        if boot is None:
            boot = self.bootstrap(n, seed=seed, client=client, workers=workers)
        elif seed is not None or client is not None or workers is not None:
            raise ValueError("`boot` is a finished bootstrap: `seed`, `client` and `workers` do not apply")
        if not (callable(getattr(boot, "conf_int", None)) and hasattr(boot, "estimate")):
            raise TypeError(f"`boot` must be a BootstrapResult (from this fit's bootstrap), got {type(boot).__name__}")
        frame = boot.conf_int(alpha=alpha, kind=kind)
        names = []
        if parm in ("re", "all"):
            names += list(self.re_params.index)
        if parm in ("beta", "all"):
            names += list(self.params.index)
        missing = [name for name in names if name not in frame.index]
        if missing:
            raise ValueError(f"`boot` has no draws of {', '.join(missing)} (a bootstrap with another `statistic`?)")
        # a bootstrap of another fit with the same names would give that fit's intervals: its estimate must be ours
        ours = pd.concat([self.re_params, self.params])[names].to_numpy(dtype=float)
        theirs = np.asarray(boot.estimate[names], dtype=float)
        if not np.allclose(theirs, ours, rtol=1e-8, atol=1e-10, equal_nan=True):
            raise ValueError("`boot` is a bootstrap of another fit: its estimates differ from this fit's")
        return frame.loc[names]

    def _profiles(self):
        """Per fixed effect: (profiled log-likelihood callable, estimate, standard error, maximized llf)."""
        raise ValueError(f"`method`: profile intervals are not available for a {type(self).__name__}; use 'wald'")

    # tests, variance components, bootstrap (each delegates to the module that computes it) ------------------
    def wald_test(self, hypothesis, *, cov="model", use_f=False, rhs=None):
        """The Wald test of a linear hypothesis about the fixed effects, ``H0: L beta = rhs``
        (:func:`quadlib.glmm._hypothesis.wald_test`; statsmodels' ``wald_test``).

        Parameters
        ----------
        hypothesis : str, array_like or tuple
            Equations in the names of ``params`` (``"period2 = 0, period3 = period4"``, ``"2*a + b = 1"``; read
            by a parser, never evaluated: :func:`~quadlib.glmm._hypothesis.parse_hypothesis`), a matrix L with
            one column per coefficient, a vector (one equation) or a pair ``(L, rhs)``.
        cov : {"model", "sandwich"}
            The covariance of ``params`` (:meth:`cov_params`). With the sandwich the chi-square reference is
            the asymptotic one (clubSandwich's small-sample ``Wald_test`` corrections, HTZ, are not applied).
        use_f : bool
            Report ``F = chi2 / q`` (denominator df infinite; a linear mixed model's finite-df F test is
            :meth:`~quadlib.glmm.LMMResult.f_test`).
        rhs : float or array_like, optional
            The right-hand side of a matrix hypothesis (default 0).

        Returns
        -------
        WaldTestResult
            ``statistic``, ``df``, ``pvalue``, ``L``, ``rhs``.

        Examples
        --------
        >>> from quadlib.glmm import datasets, fit
        >>> res = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"),
        ...           family="binomial")
        >>> test = res.wald_test("period2 = 0, period3 = 0, period4 = 0")
        >>> test.df, bool(test.pvalue < 1e-4)
        (3, True)
        """
        from ._hypothesis import wald_test

        cov = v.choice(cov, ("model", "sandwich"), "cov")
        return wald_test(self.params, self.cov_params(cov).to_numpy(), hypothesis, rhs=rhs, use_f=use_f)

    @property
    def re_params(self):
        """The variance components on the standard-deviation scale (Series, lme4's ``oldNames = FALSE`` names:
        ``sd_(Intercept)|Subject``, ``cor_Days.(Intercept)|Subject``, ``sigma``), by
        :func:`quadlib.glmm._varcomp.sd_scale`."""
        import pandas as pd
        from ._varcomp import sd_scale

        names, values, _ = sd_scale(self)
        return pd.Series(values, index=names, name="re_params")

    @property
    def re_bse(self):
        """Delta-method standard errors of :attr:`re_params` (:func:`quadlib.glmm._varcomp.sd_scale_covariance`;
        NaN for a parameter at a bound)."""
        import pandas as pd
        from ._varcomp import sd_scale, sd_scale_covariance

        names = sd_scale(self)[0]
        covariance = sd_scale_covariance(self)
        return pd.Series(np.sqrt(np.clip(np.diag(covariance), 0.0, None)), index=names, name="re_bse")

    def plot_profile(self, parm="all", ax=None, alpha=0.05, n_points=20):
        """The profile zeta plots of the variance components (lme4's ``xyplot(profile(m))``; `n_points` refits
        per panel, at most 200): :func:`quadlib.glmm.plotting.plot_profile`."""
        return plotting.plot_profile(self, parm=parm, ax=ax, alpha=alpha, n_points=n_points)

    def compare(self, other, **kwargs):
        """The likelihood-ratio test of this model against `other`: ``anova(self, other, **kwargs)``
        (:func:`quadlib.glmm.anova`; `kwargs`: `names`, `method`, `n`, `seed`, `client`, `workers`)."""
        from ._anova import anova

        return anova(self, other, **kwargs)

    def refitter(self):
        """The bootstrap's refit protocol for this model (:class:`quadlib.glmm._bootstrap.Refitter`); a result
        that cannot refit on a new response raises TypeError."""
        raise TypeError(f"a {type(self).__name__} cannot be refitted on simulated responses (the bootstrap needs "
                        "a GLMMResult or an LMMResult)")

    def bootstrap(self, n, *, seed=None, statistic=None, client=None, workers=None, progress=True):
        """The parametric bootstrap: `n` refits on responses simulated from the fit, warm-started at it
        (:func:`quadlib.glmm._bootstrap.bootstrap`, which documents the arguments; lme4's ``bootMer``).

        Returns
        -------
        BootstrapResult
            ``draws`` (one row per replicate, NaN for a failed one), ``estimate``, ``n_failed``,
            ``failed_share``, ``errors``, ``conf_int(alpha, kind)``.
        """
        from ._bootstrap import bootstrap

        return bootstrap(self, n, seed=seed, statistic=statistic, client=client, workers=workers,
                         progress=progress)

    # information criteria ------------------------------------------------------------------------------------
    @property
    def _criteria(self):
        return information_criteria(self.llf, self.df_modelwc, self._bic_nobs)

    @property
    def _bic_nobs(self):
        return self.nobs

    @property
    def aic(self):
        """Akaike's information criterion ``-2 llf + 2 df_modelwc`` (NaN without a likelihood)."""
        return self._criteria.aic

    @property
    def bic(self):
        """The Bayesian information criterion ``-2 llf + log(nobs) df_modelwc`` (NaN without a likelihood)."""
        return self._criteria.bic

    @property
    def deviance(self):
        """``-2 llf`` (lme4's ``deviance()`` of a GLMM is a different, conditional quantity)."""
        return self._criteria.deviance

    # random effects (a subclass provides cov_re and random_effects) -----------------------------------------
    @property
    def sd_re(self):
        """Grouping factor -> standard deviations of its random effects (Series)."""
        import pandas as pd

        return {g: pd.Series(np.sqrt(np.clip(np.diag(C.to_numpy()), 0.0, None)), index=C.index, name=g)
                for g, C in self.cov_re.items()}

    @property
    def corr_re(self):
        """Grouping factor -> correlations of its random effects (DataFrame; NaN beside a zero SD)."""
        import pandas as pd

        out = {}
        for g, C in self.cov_re.items():
            sd = np.sqrt(np.clip(np.diag(C.to_numpy()), 0.0, None))
            with np.errstate(invalid="ignore", divide="ignore"):
                R = C.to_numpy() / np.outer(sd, sd)
            np.fill_diagonal(R, 1.0)
            out[g] = pd.DataFrame(R, index=C.index, columns=C.columns)
        return out

    def plot_random_effects(self, group=None, kind="mode", ax=None, alpha=0.05):
        """Caterpillar plot of the random effects: :func:`quadlib.glmm.plotting.plot_random_effects`."""
        return plotting.plot_random_effects(self, group, kind, ax, alpha)

    # prediction (a subclass that predicts gives _predict) ---------------------------------------------------
    def predict(self, newdata=None, re=True, *, offset=None):
        """Predictions of the fitted model: the linear predictor ``X beta + offset (+ Z b)`` of a linear or
        generalized linear mixed model (:func:`~quadlib.glmm.fit` and :func:`~quadlib.glmm.pql` on the link
        scale by default, the mean with ``type="response"``), ``f(beta + b_g)`` of a nonlinear one.

        Parameters
        ----------
        newdata : pandas.DataFrame, optional
            New rows with the columns the model uses and the grouping factors (not the response); factor
            levels of the fixed part must occur in the fitted data. Default: the fitted data.
        re : bool
            Include the random effects (their conditional modes); False gives the population-level
            prediction (b = 0). A grouping level not in the fitted data, or a missing grouping value, gets a
            zero random effect (lme4's ``allow.new.levels = TRUE``).
        offset : array_like, float or str, optional
            The offset of `newdata`, one value per row or one for all (a column name is looked up in
            `newdata`), for a model fitted with an offset; ``offset(...)`` terms in the formula are evaluated on
            `newdata` without it. A model fitted with an offset column looks that column up in `newdata` by
            default, and one fitted with an offset array needs it. Only with `newdata`.

        Returns
        -------
        pandas.Series
            Indexed like `newdata` (or the data rows used).

        Raises
        ------
        TypeError
            `re` not a bool, `newdata` not a DataFrame, `offset` not numbers, or a result without predictions
            (:class:`~quadlib.glmm.ConditionalResult`: the conditional likelihood eliminates each stratum's
            effect, which a prediction would need).
        ValueError
            `offset` without `newdata`, or not one value per row of it; `newdata` without a column the model
            uses.
        """
        if not isinstance(re, (bool, np.bool_)):
            raise TypeError(f"`re` must be True or False, got {re!r}")
        if newdata is None:
            if offset is not None:
                raise ValueError("`offset` is only used with `newdata`")
        else:
            import pandas as pd

            if not isinstance(newdata, pd.DataFrame):
                raise TypeError(f"`newdata` must be a pandas DataFrame, got {type(newdata).__name__}")
        return self._predict(newdata, bool(re), offset)

    def _predict(self, newdata, re, offset):
        """The predictions of :meth:`predict`, its arguments checked (`newdata` None or a DataFrame, `re` a bool,
        `offset` None without `newdata`)."""
        raise TypeError(f"a {type(self).__name__} has no predictions")

    @staticmethod
    def _newdata_offset(newdata, offset):
        """`offset` for the rows of `newdata` (a column name looked up in it, a scalar repeated) as a float
        array, or None."""
        if offset is None:
            return None
        if isinstance(offset, str):
            if offset not in newdata:
                raise ValueError(f"`offset` column {offset!r} is not in `newdata`")
            offset = newdata[offset]
        try:
            values = np.asarray(offset, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"`offset` must be numbers or a column name, got {type(offset).__name__}") from None
        if values.ndim == 0:
            return np.full(len(newdata), float(values))
        if values.shape != (len(newdata),):
            raise ValueError(f"`offset` must have one value per row of `newdata` ({len(newdata)}), got shape "
                             f"{values.shape}")
        return values

    # summary -------------------------------------------------------------------------------------------------
    def summary(self):
        """A text summary laid out like lme4's ``summary()`` (one layout for every result of quadlib.glmm:
        :func:`quadlib.glmm._summary.format_summary`)."""
        return self._summary_text()

    def _summary_text(self, coefficients=None, title=None):
        """:meth:`summary` with another coefficient table (lines of :func:`~quadlib.glmm._summary.coef_table`)
        or title."""
        family = getattr(self, "family", None)
        criteria = ()
        if math.isfinite(self.llf):
            criteria = criteria_table(self.aic, self.bic, self.llf, self.deviance, self.nobs - self.df_modelwc)
        random_effects = ()
        if self.cov_re:
            random_effects = random_effects_table(self.cov_re, self.corr_re, residual=self._residual_sd())
        if coefficients is None:
            coefficients = coef_table(self.params.index, self.params.to_numpy(), self.bse.to_numpy(),
                                      self.tvalues.to_numpy(),
                                      self.pvalues.to_numpy() if self._print_pvalues else None,
                                      statistic=self._statistic, style=self._coef_style)
        notes = []
        if getattr(self, "singular", False):
            notes.append("boundary (singular) fit: a random-effect standard deviation is at zero")
        if not self.converged:
            notes.append(f"WARNING: did not converge: {self.message}")
        return format_summary(
            title=self._summary_title() if title is None else title, formula=self.formula,
            coefficients=coefficients,
            family=(family.name, family.link) if hasattr(family, "link") else None, header=self._summary_header(),
            criteria=criteria, random_effects=random_effects, dispersion=self._summary_dispersion(), nobs=self.nobs,
            ngroups=self.ngroups, before=self._summary_before(), after=self._summary_after(), notes=notes)

    _coef_style = "lme4"

    def _summary_title(self):
        return f"{type(self).__name__}"

    def _residual_sd(self):
        """The residual standard deviation (a ``Residual`` row of the variance components), or None."""
        return None

    def _summary_header(self):
        return ()

    def _summary_dispersion(self):
        return ()

    def _summary_before(self):
        return ()

    def _summary_after(self):
        return ()


def profile_ends(result, j, alpha):
    """The profile-likelihood interval of fixed effect `j` of `result` (a fitted :class:`MixedResult`) and the
    warnings its search raised, as (message, category) pairs: one task of ``conf_int(method="profile",
    client=...)``, run on a Dask worker (the warnings go back to the caller, who re-issues them)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        llf, estimate, se, llf_max = result._profiles()[j]
        pair = profile_interval(llf, estimate, se, llf_max, alpha, name=result.params.index[j])
    return pair, [(str(w.message), w.category) for w in caught]


class _Held:
    """`objective` with its coordinate `i` held by a profile: ``x_i = value - sum_k exp(x_k)`` over the
    coordinates `dependents` (none: ``x_i = value``; an ordinal threshold ``theta_m = alpha_1 + sum_{2 <= k <= m}
    exp(alpha_k)`` held at `value` fixes alpha_1 so), the other coordinates free; the protocol of
    :func:`~quadlib.glmm.optimize`, the gradient by the chain rule from the objective's. `i` lies after theta
    (an auxiliary coordinate), so the objective's theta layout holds here too."""

    def __init__(self, objective, i, value, dependents=()):
        self.objective, self.i, self.value, self.dependents = objective, i, float(value), list(dependents)
        self.keep = [j for j in range(objective.n_params) if j != i]
        self.names = [objective.names[j] for j in self.keep]
        self.n_params = len(self.keep)
        self.bounds = [objective.bounds[j] for j in self.keep]
        self.layout = objective.layout
        self.derivatives = getattr(objective, "derivatives", "gradient")

    @property
    def evaluations(self):
        return self.objective.evaluations

    def full(self, z):
        x = np.empty(self.objective.n_params)
        x[self.keep] = z
        x[self.i] = self.value - float(np.sum(np.exp(x[self.dependents]))) if self.dependents else self.value
        return x

    def start(self):
        return np.delete(self.objective.start(), self.i)

    def log_likelihood(self, z):
        return self.objective.log_likelihood(self.full(np.asarray(z, dtype=float)))

    __call__ = log_likelihood

    def value_and_gradient(self, z):
        x = self.full(np.asarray(z, dtype=float))
        value, g = self.objective.value_and_gradient(x)
        out = g[self.keep].copy()
        for k in self.dependents:   # k > i: its position among the kept coordinates is k - 1
            out[k - 1] -= np.exp(x[k]) * g[self.i]
        return value, out


class RandomEffects(dict):
    """Grouping factor -> DataFrame of the conditional modes of the random effects and their conditional
    SDs (the empirical Bayes modes: ``result.random_effects["herd"]``, columns ``<name>`` and ``sd(<name>)``).
    Called, it gives other summaries of the posterior of b given y: ``result.random_effects(kind="mean")``
    computes posterior means and SDs by adaptive Gauss–Hermite quadrature (one grouping factor).

    For a fit on a Dask DataFrame the frames are lazy Dask DataFrames (one partition per partition of the
    data), built by the objective's ``random_effects_frames(x, kind, nagq)``: an objective that has this
    method gives its own frames instead of the arrays of ``conditional_modes``."""

    def __init__(self, modes, objective, x):
        super().__init__(modes)
        self._objective, self._x = objective, x

    def __call__(self, kind="mode", nagq=None):
        """``kind="mode"``: the modes (this mapping); ``"mean"``: posterior means and SDs by adaptive
        Gauss–Hermite quadrature with `nagq` nodes per dimension (default 30 for one random effect per
        level, 12 for two, 6 beyond)."""
        from .._integrators import AdaptiveGaussHermite

        if kind not in ("mode", "mean"):
            raise ValueError(f"`kind` must be 'mode' or 'mean', got {kind!r}")
        if kind == "mode":
            return dict(self)
        obj = self._objective
        frames = getattr(obj, "random_effects_frames", None)
        if frames is not None:   # a Dask fit's: lazy frames computed where the data are
            return frames(self._x, kind="mean", nagq=nagq)
        block = obj.blocks[0]
        n = nagq if nagq is not None else {1: 30, 2: 12}.get(block.q, 6)
        mean, cov, res = obj.posterior_moments(self._x, AdaptiveGaussHermite(n))
        sd = np.sqrt(np.clip(np.einsum("mii->mi", cov), 0, None))
        return {block.group: random_effects_frame(mean, sd, block.columns, block.levels, block.group)}


@dataclass(frozen=True, eq=False, kw_only=True, repr=False)
class _GLMMFields(MixedResult):
    objective: object = field(repr=False)
    outcome: object = field(repr=False)
    method: str
    family: object
    x: np.ndarray = field(repr=False)
    dispersion: object
    sigma: float
    cov_re: dict
    singular: bool
    random_effects: dict
    reml: bool = False
    reml_objective: object = field(default=None, repr=False)
    family_params: dict = field(default_factory=dict)
    x_covariance: np.ndarray = field(default=None, repr=False)


class GLMMResult(_GLMMFields):
    """A GLMM fitted by maximum (approximate) marginal likelihood, or by REML (glmmTMB's: beta integrated with
    the random effects by the Laplace approximation, :class:`~quadlib.glmm._reml.REMLObjective`).

    Build it with :meth:`from_fit` (``GLMMResult(objective, outcome, method, formula)`` does the same).

    Attributes
    ----------
    params, bse : pandas.Series
        The coefficients (:func:`reported_parameters`): an ordinal model's thresholds first (``1|2``, ... as
        clmm), the fixed effects (lme4's names), then the zero-inflation (hurdle) coefficients ``zi~<name>``
        and a dispersion model's ``disp~<name>`` (glmmTMB's ``betazi`` and ``betad``); and their standard
        errors, from the Hessian of the marginal log-likelihood at the optimum (central differences of its
        gradient; the thresholds' by the delta method). ``tvalues``, ``pvalues``, ``cov_params()`` and
        ``conf_int()`` (Wald or profile) come from :class:`MixedResult`.
    covariance : numpy.ndarray
        The covariance of the reported vector: ``params``, then theta, a single ``log(phi)`` and the natural
        shape parameters (``power``, ``df``); ``x_covariance`` is the same over ``objective.names`` (the
        optimizer's coordinates, before the delta method).
    cov_re : dict
        Grouping factor -> covariance matrix of its random effects (DataFrame).
    sd_re, corr_re : dict
        Grouping factor -> standard deviations (Series) and correlations (DataFrame).
    dispersion : float or None
        The family's single dispersion: gaussian residual SD, Gamma shape, negative-binomial theta, the phi of
        NB1, beta, beta-binomial and Tweedie, the student_t scale; None with a dispersion model (its
        coefficients are in ``params``) or for a family without one.
    family_params : dict
        The family's free shape parameters on their natural scale: ``{"power": p}`` (Tweedie),
        ``{"df": nu}`` (student_t); empty otherwise.
    sigma : float
        lme4's ``sigma()``: the gaussian residual SD (the student_t scale), ``1/sqrt(shape)`` for Gamma,
        else 1; NaN for a gaussian or student_t model with a dispersion model.
    llf : float
        The full log-likelihood (every constant included) for every method and number of nodes; for a REML
        fit the REML log-likelihood (glmmTMB's ``logLik`` of a ``REML = TRUE`` fit; lmer's for the gaussian
        family).
    reml : bool
        Whether the fit is by REML; then beta is the joint mode of (b, beta), ``cov_params()`` is
        ``(L_X L_X')^-1`` at it (lmer's REML ``vcov`` for the gaussian family), theta's and the dispersion's
        covariance comes from the REML Hessian and their covariance with beta is 0; ``reml_objective`` is the
        criterion, ``objective`` the model's maximum-likelihood objective (predictions, random effects).
    aic, bic, deviance, nobs, ngroups, converged, message, history, method, singular
    random_effects : RandomEffects
        Grouping factor -> DataFrame of the conditional modes of the random effects (empirical Bayes)
        and their conditional standard deviations (columns ``"sd(<name>)"``).
    objective, outcome, x
        The objective, the optimizer's outcome and the optimum (all parameters, ``objective.names``).
    """

    _FIT_ARGUMENTS = ("objective", "outcome", "method", "formula")

    def __init__(self, *args, **fields):
        if len(args) + len(fields) <= 4 and set(fields) <= set(self._FIT_ARGUMENTS):
            # the documented GLMMResult(objective, outcome, method, formula): a fit's result
            fields = self._fit_fields(**dict(zip(self._FIT_ARGUMENTS, args)), **fields)
        elif args:
            raise TypeError("GLMMResult takes (objective, outcome, method, formula) or keyword-only fields")
        super().__init__(**fields)

    @classmethod
    def from_fit(cls, *, objective, outcome, method, formula):
        """The result of a fit: the :class:`~quadlib.glmm.Objective` and the :class:`~quadlib.glmm.OptimizeOutcome`
        of :func:`~quadlib.glmm.optimize` at its optimum, the method's name and the formula.

        Examples
        --------
        >>> from quadlib import Laplace
        >>> from quadlib.glmm import GLMMResult, build_design, datasets, make_objective, optimize
        >>> design = build_design("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"))
        >>> objective = make_objective(design, "binomial", Laplace())
        >>> result = GLMMResult.from_fit(objective=objective, outcome=optimize(objective), method="Laplace",
        ...                              formula=design.formula)
        >>> round(result.llf, 6), result.ngroups
        (-92.026282, {'herd': 15})
        """
        return cls(**cls._fit_fields(objective=objective, outcome=outcome, method=method, formula=formula))

    @staticmethod
    def _fit_fields(*, objective, outcome, method, formula):
        import pandas as pd

        reml_objective = None
        if getattr(objective, "reml", False):
            # a REML fit (quadlib.glmm._reml): its outcome is over (theta, aux); the result holds the model's
            # parameters with beta at the joint mode, and the model's objective for everything else
            reml_objective, objective = objective, objective.model_objective()
            x = reml_objective.full_params(outcome.x)
            covariance = reml_objective.covariance(outcome)     # glmmTMB's: theta's uncertainty in beta's
        else:
            x = np.asarray(outcome.x, dtype=float)
            # covariance of all parameters over the free ones (those not at a bound); NaN elsewhere
            covariance = covariance_over_free(outcome, objective.n_params)
        d = objective.design
        beta, factors, _ = objective.split(x)
        family = objective.family
        names, values, J, n_reported, phi, family_params = reported_parameters(objective, x)
        x_covariance = covariance
        if response_model(objective) is not None:   # the reported order (and the delta method for shapes)
            covariance = transformed_covariance(J, x_covariance)
        if phi is None:
            sigma = np.nan if family.name in ("gaussian", "student_t") else 1.0
        elif family.name in ("gaussian", "student_t"):
            sigma = phi
        elif family.name == "Gamma":
            sigma = 1.0 / np.sqrt(phi)
        else:
            sigma = 1.0
        cov_re = {block.group: pd.DataFrame(L @ L.T, index=block.columns, columns=block.columns)
                  for block, L in zip(objective.blocks, factors)}
        k = objective.n_params
        singular = bool(any(np.any(np.abs(np.diag(L)) < _SINGULAR_TOL * max(1.0, np.max(np.abs(L))))
                            for L in factors))
        # an objective whose data are elsewhere (a Dask fit's) gives its own frames, lazy
        frames = getattr(objective, "random_effects_frames", None)
        if frames is not None:
            random_effects = RandomEffects(frames(x), objective, x)
        else:
            modes = objective.conditional_modes(x)
            random_effects = RandomEffects({}, objective, x)
            for block in objective.blocks:
                b, cov = modes[block.group]
                sd = np.sqrt(np.clip(np.einsum("mii->mi", cov), 0, None))
                random_effects[block.group] = random_effects_frame(b, sd, block.columns, block.levels, block.group)
        params = pd.Series(values[:n_reported], index=names[:n_reported], name="params")
        return dict(formula=formula, params=params, covariance=covariance,
                    llf=float(outcome.llf), df_modelwc=int(k), nobs=int(d.nobs),
                    ngroups={block.group: block.n_levels for block in objective.blocks},
                    converged=bool(outcome.converged), message=str(outcome.message), history=list(outcome.history),
                    objective=objective, outcome=outcome, method=method, family=family, x=x, dispersion=phi,
                    sigma=sigma, cov_re=cov_re, singular=singular, random_effects=random_effects,
                    reml=reml_objective is not None, reml_objective=reml_objective, family_params=family_params,
                    x_covariance=x_covariance)

    def refitter(self):
        """The bootstrap's refit protocol for this GLMM (:func:`quadlib.glmm._bootstrap.glmm_refitter`)."""
        from ._bootstrap import glmm_refitter

        return glmm_refitter(self)

    # ------------------------------------------------------------------------------------------ profiles
    def _profiles(self):
        """The profile of beta_j refits the model with beta_j x_j moved into the offset (lme4's profile),
        by :func:`~quadlib.glmm.optimize` from the previous refit's optimum; a zero-inflation or dispersion
        coefficient, or an ordinal threshold, is held by :class:`_Held` (the other parameters refitted). A REML
        fit is first refitted by maximum likelihood (as lme4's ``confint``; beta is no parameter of the REML
        criterion)."""
        obj = self.objective
        d = obj.design
        x, llf_max, covariance = self.x, self.llf, self.covariance
        if self.reml:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                ml = optimize(obj, x)
            x, llf_max = np.asarray(ml.x, dtype=float), float(ml.llf)
            J = reported_parameters(obj, x)[2]
            covariance = transformed_covariance(J, covariance_over_free(ml, obj.n_params))
        bse = np.sqrt(np.abs(np.diag(covariance)[:len(self.params)]))
        values = reported_parameters(obj, x)[1]
        rebuild = getattr(obj, "rebuild", None)
        response = response_model(obj)
        out = []
        for j, name in enumerate(self.params.index):
            if name in d.fixed_names:
                out.append((self._beta_profile(d.fixed_names.index(name), x, rebuild), float(values[j]),
                            float(bse[j]), llf_max))
                continue
            i, dependents = obj.names.index(name) if name in obj.names else None, ()
            if i is None:   # an ordinal threshold theta_m = alpha_1 + sum_{k <= m} exp(alpha_k): alpha_1 follows
                first = obj.n_params - response.n_params + response.slices["shape"].start
                m = list(response.shape_names).index(name)
                i, dependents = first, tuple(range(first + 1, first + m + 1))
            warm = [np.delete(x, i)]

            def llf(value, i=i, dependents=dependents, warm=warm):
                held = _Held(obj, i, value, dependents)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    outcome = optimize(held, warm[0])
                if np.all(np.isfinite(outcome.x)):
                    warm[0] = outcome.x
                return outcome.llf

            out.append((llf, float(values[j]), float(bse[j]), llf_max))
        return out

    def _beta_profile(self, j, x, rebuild):
        """The profiled log-likelihood of beta_j (beta_j x_j in the offset), warm-started along the profile."""
        obj = self.objective
        d = obj.design
        keep = [k for k in range(obj.n_beta) if k != j]
        fixed = replace(d, X=np.ascontiguousarray(d.X[:, keep]), fixed_names=[d.fixed_names[k] for k in keep])
        warm = [np.delete(x, j)]

        def llf(value):
            design = replace(fixed, offset=d.offset + value * d.X[:, j])
            objective = rebuild(design) if rebuild is not None else make_objective(design, obj.family, obj.integrator)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                outcome = optimize(objective, warm[0])
            if np.all(np.isfinite(outcome.x)):
                warm[0] = outcome.x
            return outcome.llf

        return llf

    # ------------------------------------------------------------------------------------------ prediction
    def _predict(self, newdata, re, offset):
        """The linear predictor (:meth:`MixedResult.predict`), indexed by the positions of the data rows used
        when `newdata` is None."""
        import pandas as pd
        from ._design import evaluate_new_data, group_labels

        obj = self.objective
        d = obj.design
        beta, factors, _ = obj.split(self.x)
        if newdata is None:
            eta = d.offset + d.X @ beta
            if re:
                for block in obj.blocks:
                    b = self.random_effects[block.group].to_numpy()[:, :block.q]
                    eta = eta + np.einsum("nq,nq->n", block.Z, b[block.index])
            series = pd.Series(np.empty(d.nobs), index=d.rows)
            series.iloc[:] = eta
            return series.sort_index()
        if offset is None and d.offset_argument is not None:
            if not isinstance(d.offset_argument, str):
                raise ValueError("the model was fitted with an `offset` array: pass `offset` for `newdata`")
            offset = d.offset_argument
        offset = self._newdata_offset(newdata, offset)
        X, formula_offset = evaluate_new_data(d.fixed_model, d.fixed_keep, d.fixed_offset, newdata, "the fixed effects")
        eta = X @ beta + formula_offset
        if offset is not None:
            eta = eta + offset
        if re:
            for block in obj.blocks:
                b = self.random_effects[block.group].to_numpy()[:, :block.q]
                position = {level: i for i, level in enumerate(block.levels)}
                labels = group_labels(newdata, block.group)
                rows = np.array([position.get(label, -1) for label in labels])
                col = 0
                for term in block.terms:
                    Z, _ = evaluate_new_data(term.model, term.keep, [], newdata, f"the random term of {block.group}")
                    known = rows >= 0
                    eta[known] += np.einsum("nq,nq->n", Z[known], b[rows[known], col:col + term.q])
                    col += term.q
        return pd.Series(eta, index=newdata.index)

    def predict(self, newdata=None, type="link", re=True, offset=None):
        """:meth:`MixedResult.predict` (`newdata`, `re`, `offset`) on the link scale or the response scale.

        Parameters
        ----------
        type : {"link", "response", "conditional", "zprob"}
            ``"link"``: the linear predictor eta of the conditional (count) model. ``"response"``: E[y | b],
            the mean per trial for binomial; with zero-inflation ``(1 - pi) mean``, for a hurdle (a truncated
            family) ``(1 - pi) mu / (1 - P(0))`` (glmmTMB's corrected ``ziPredictCode``); for an ordinal model a
            DataFrame of the category probabilities (columns: the categories). ``"conditional"``: the
            conditional model's mean ``mu = h(eta)``, without zero-inflation or truncation (glmmTMB's name).
            ``"zprob"``: the zero-inflation (hurdle) probability pi of each row (a model with a `ziformula`).
            The zero-inflation and dispersion models are evaluated on `newdata` where it is given.

        Raises
        ------
        ValueError
            `type` not one of these; "zprob" without a `ziformula`; "conditional" or "zprob" for an ordinal
            model.
        """
        import pandas as pd

        type = v.choice(type, ("link", "response", "conditional", "zprob"), "type")
        eta = super().predict(newdata, re, offset=offset)
        if type == "link":
            return eta
        fam = self.family
        response = response_model(self.objective)
        if fam.name == "ordinal":
            if type != "response":
                raise ValueError(f"`type`: {type!r} does not apply to an ordinal model (use 'link' or 'response')")
            from ._ordinal import category_probabilities

            values = self._aux_rows(newdata, eta.index)
            probabilities = category_probabilities(eta.to_numpy(), values.shape, fam.link)
            return pd.DataFrame(probabilities, index=eta.index, columns=list(response.response_levels))
        zi = response is not None and response.X_zi is not None
        if type == "zprob":
            if not zi:
                raise ValueError("`type`: 'zprob' needs a model with a `ziformula` (zero-inflation or a hurdle)")
            from scipy.special import expit

            return pd.Series(expit(self._aux_rows(newdata, eta.index).zeta), index=eta.index)
        mu = fam.inverse_link(eta.to_numpy())
        if type == "conditional":
            return pd.Series(mu, index=eta.index)
        mean = mu
        if response is None:
            if getattr(fam, "truncated", False):
                mean = fam.mean(mu, self.dispersion)
            return pd.Series(mean, index=eta.index)
        values = self._aux_rows(newdata, eta.index)
        if getattr(fam, "truncated", False):
            mean = fam.mean(mu, values.phi)
        if zi:
            from scipy.special import expit

            mean = mean * expit(-values.zeta)     # 1 - pi
        return pd.Series(mean, index=eta.index)

    def _aux_rows(self, newdata, index):
        """The response model's per-row values (:class:`~quadlib.glmm._response.AuxValues`: zeta, phi, shape)
        for the fitted rows in the order of `index` (positions of the data rows), or for `newdata`."""
        from ._design import evaluate_new_data
        from ._response import AuxValues

        obj = self.objective
        response = response_model(obj)
        d = obj.design
        aux = obj.aux(self.x)
        if newdata is None:
            values = response.unpack(aux)
            order = np.argsort(d.rows)[np.searchsorted(np.sort(d.rows), np.asarray(index))]
            zeta = None if values.zeta is None else values.zeta[order]
            phi = values.phi[order] if np.ndim(values.phi) == 1 else values.phi
            return AuxValues(zeta, phi, values.shape)
        shape = response.unpack(aux).shape
        zeta = phi = None
        if response.X_zi is not None:
            X_zi = evaluate_new_data(d.zi_model, d.zi_keep, [], newdata, "the zero-inflation model")[0]
            zeta = X_zi @ aux[response.slices["zi"]]
        if obj.family.has_dispersion:
            if response.X_disp is None:
                phi = float(np.exp(aux[response.slices["disp"]][0]))
            else:
                X_disp = evaluate_new_data(d.disp_model, d.disp_keep, [], newdata, "the dispersion model")[0]
                phi = np.exp(X_disp @ aux[response.slices["disp"]])
        return AuxValues(zeta, phi, shape)

    def simulate(self, n=1, seed=None):
        """`n` new responses from the fitted model (new random effects each time), shape (nobs, n), rows in
        the design's order (``objective.design.rows`` gives their positions in the data). With zero-inflation
        a row is a structural zero with probability pi (a hurdle: 0 with probability pi, else a draw of the
        truncated family); a dispersion model gives each row its phi; ordinal responses are category codes
        1..K."""
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"`n` must be a positive integer, got {n!r}")
        rng = np.random.default_rng(seed)
        obj = self.objective
        d = obj.design
        beta, factors, phi = obj.split(self.x)
        response = response_model(obj)
        extra, pi = {}, None
        if response is not None:
            from scipy.special import expit

            values = response.unpack(obj.aux(self.x))
            phi = values.phi
            if values.shape is not None:
                extra["shape"] = values.shape
            if values.zeta is not None:
                pi = expit(values.zeta)
        eta0 = d.offset + d.X @ beta
        out = np.empty((d.nobs, n))
        for k in range(n):
            eta = eta0.copy()
            for block, L in zip(obj.blocks, factors):
                b = rng.standard_normal((len(block.levels), block.q)) @ L.T
                eta += np.einsum("nq,nq->n", block.Z, b[block.index])
            out[:, k] = self.family.simulate(eta, obj.n, phi, rng, **extra)
            if pi is not None:
                out[rng.random(d.nobs) < pi, k] = 0.0
        return out

    def _row_index(self, newdata):
        return self.objective.design.rows if newdata is None else newdata.index.to_numpy()

    def predict_interval(self, newdata, alpha=0.05, type="response", parameter_uncertainty=True):
        """Prediction intervals for the mean response of rows in NEW groups (b drawn from N(0, D)):
        the linear predictor is normal with mean x'β and variance z'Dz (+ x' Cov(β) x with
        `parameter_uncertainty`); the interval's ends are mapped by the inverse link (monotone).
        Returns a DataFrame with ``fit`` (at b = 0), ``lower`` and ``upper``."""
        import pandas as pd
        from scipy.stats import norm

        from ._design import evaluate_new_data

        if type not in ("link", "response"):
            raise ValueError(f"`type` must be 'link' or 'response', got {type!r}")
        if not (0 < alpha < 1):
            raise ValueError(f"`alpha` must be in (0, 1), got {alpha!r}")
        if not isinstance(newdata, pd.DataFrame):
            raise TypeError("`newdata` must be a pandas DataFrame")
        response = response_model(self.objective)
        if type == "response" and (getattr(self.family, "truncated", False) or self.family.name == "ordinal"
                                   or (response is not None and response.X_zi is not None)):
            # the mean is no monotone map of eta alone there (zero-inflation, truncation, categories)
            raise ValueError("`type`: 'response' intervals are not available for zero-inflated, hurdle, truncated "
                             "or ordinal models; use type='link'")
        obj = self.objective
        d = obj.design
        beta, factors, _ = obj.split(self.x)
        X, offset = evaluate_new_data(d.fixed_model, d.fixed_keep, d.fixed_offset, newdata, "the fixed effects")
        eta = offset + X @ beta
        var = np.zeros(len(newdata))
        for block, L in zip(obj.blocks, factors):
            Z = np.hstack([evaluate_new_data(t.model, t.keep, [], newdata, "the random terms")[0] for t in block.terms])
            var += np.einsum("nq,qr,nr->n", Z, L @ L.T, Z)
        if parameter_uncertainty:
            p = obj.n_beta
            cov_x = self.covariance if self.x_covariance is None else self.x_covariance
            var += np.einsum("np,pr,nr->n", X, np.nan_to_num(cov_x[:p, :p]), X)
        z = norm.isf(alpha / 2)
        frame = pd.DataFrame({"fit": eta, "lower": eta - z * np.sqrt(var), "upper": eta + z * np.sqrt(var)},
                             index=newdata.index)
        if type == "response":
            frame = frame.apply(lambda col: self.family.inverse_link(col.to_numpy()))
            if self.family.link == "inverse":   # decreasing: the ends swap
                frame[["lower", "upper"]] = frame[["upper", "lower"]].to_numpy()
        return frame

    def marginal_moments(self, newdata=None, n_points=None):
        """E(Y), Var(Y) and within-group Cov(Y_ij, Y_ik), integrated over the random effects
        (see :func:`quadlib.glmm._marginal.marginal_moments`)."""
        from ._marginal import marginal_moments

        return marginal_moments(self, newdata, n_points)

    def marginal_coefs(self, std_errors=True, n_points=None):
        """Population-averaged coefficients with delta-method SEs, beside the closed-form attenuations
        (see :func:`quadlib.glmm._marginal.marginal_coefs`)."""
        from ._marginal import marginal_coefs

        return marginal_coefs(self, std_errors, n_points)

    def plot_marginal(self, x, newdata=None, n_conditional=9, ax=None, n_grid=101):
        """Conditional and population-averaged response curves: :func:`quadlib.glmm.plotting.plot_marginal`."""
        return plotting.plot_marginal(self, x, newdata, n_conditional, ax, n_grid)

    # ------------------------------------------------------------------------------------------ summary
    def _summary_title(self):
        how = "REML" if self.reml else "maximum likelihood"
        return f"Generalized linear mixed model fit by {how} ({self.method})"

    def _summary_header(self):
        return [f"REML criterion at convergence: {-2.0 * self.llf:.4f}"] if self.reml else ()

    def _residual_sd(self):
        return float(self.sigma) if self.family.name == "gaussian" and self.dispersion is not None else None

    def _summary_dispersion(self):
        fam = self.family
        lines = []
        if fam.has_dispersion and fam.name != "gaussian" and self.dispersion is not None:
            lines.append(f" {fam.dispersion_name} = {self.dispersion:.6g}")
        lines += [f" {name} = {value:.6g}" for name, value in self.family_params.items()]
        return lines

    def __repr__(self):
        return (f"GLMMResult({self.formula!r}, {self.family!r}, {self.method}{', REML' if self.reml else ''}, "
                f"llf={self.llf:.6f}, converged={self.converged})")
