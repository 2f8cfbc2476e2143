"""Stage 4 of the pipeline: a fitted GLMM (:class:`GLMMResult`, statsmodels names)."""
import numpy as np

from ._inference import WaldInference, align_columns

__all__ = ["GLMMResult", "RandomEffects"]


class RandomEffects(dict):
    """Grouping factor -> DataFrame of the conditional modes of the random effects and their conditional
    SDs (the empirical Bayes modes: ``result.random_effects["herd"]``). Called, it gives other summaries
    of the posterior of b given y: ``result.random_effects(kind="mean")`` computes posterior means and SDs
    by adaptive Gauss–Hermite quadrature (one grouping factor)."""

    def __init__(self, modes, result):
        super().__init__(modes)
        self._result = result

    def __call__(self, kind="mode", nagq=None):
        """``kind="mode"``: the modes (this mapping); ``"mean"``: posterior means and SDs by adaptive
        Gauss–Hermite quadrature with `nagq` nodes per dimension (default 30 for one random effect per
        level, 12 for two, 6 beyond)."""
        import pandas as pd

        from .._integrators import AdaptiveGaussHermite

        if kind not in ("mode", "mean"):
            raise ValueError(f"`kind` must be 'mode' or 'mean', got {kind!r}")
        if kind == "mode":
            return dict(self)
        obj = self._result.objective
        block = obj.blocks[0]
        n = nagq if nagq is not None else {1: 30, 2: 12}.get(block.q, 6)
        mean, cov, res = obj.posterior_moments(self._result.x, AdaptiveGaussHermite(n))
        cols = block.columns
        sd = np.sqrt(np.clip(np.einsum("mii->mi", cov), 0, None))
        frame = pd.DataFrame(np.hstack([mean, sd]), columns=cols + [f"{c} sd" for c in cols],
                             index=pd.Index(block.levels, name=block.group))
        return {block.group: frame}


class GLMMResult(WaldInference):
    """A GLMM fitted by maximum (approximate) marginal likelihood.

    Attributes
    ----------
    params, bse : pandas.Series
        Fixed effects (lme4's names) and their standard errors, from the Hessian of the marginal
        log-likelihood at the optimum (central differences of its gradient); ``tvalues``, ``pvalues``,
        ``cov_params()`` and Wald intervals come from :class:`WaldInference`.
    cov_re : dict
        Grouping factor -> covariance matrix of its random effects (DataFrame).
    sd_re, corr_re : dict
        Grouping factor -> standard deviations (Series) and correlations (DataFrame).
    dispersion : float or None
        The family's dispersion: gaussian residual SD, Gamma shape, negative-binomial theta.
    sigma : float
        lme4's ``sigma()``: the gaussian residual SD, ``1/sqrt(shape)`` for Gamma, else 1.
    llf : float
        The full log-likelihood (every constant included) for every method and number of nodes.
    aic, bic, deviance, nobs, ngroups, converged, history, method
    random_effects : dict
        Grouping factor -> DataFrame of the conditional modes of the random effects (empirical Bayes)
        and their conditional standard deviations (columns ``"<name> sd"``).
    """

    def __init__(self, objective, outcome, method, formula):
        import pandas as pd

        self.objective, self.outcome = objective, outcome
        self.method, self.formula = method, formula
        self.family = objective.family
        d = objective.design
        x = outcome.x
        self.x = x
        beta, factors, phi = objective.split(x)
        self.params = pd.Series(beta, index=d.fixed_names, name="params")
        self.llf = float(outcome.llf)
        self.nobs = int(d.nobs)
        self.converged = bool(outcome.converged)
        self.history = list(outcome.history)
        self.ngroups = {block.group: len(block.levels) for block in objective.blocks}
        self.dispersion = phi
        if self.family.name == "gaussian":
            self.sigma = phi
        elif self.family.name == "Gamma":
            self.sigma = 1.0 / np.sqrt(phi)
        else:
            self.sigma = 1.0
        self.cov_re, self.sd_re, self.corr_re = {}, {}, {}
        for block, L in zip(objective.blocks, factors):
            cols = block.columns
            cov = L @ L.T
            sd = np.sqrt(np.diag(cov))
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = cov / np.outer(sd, sd)
            self.cov_re[block.group] = pd.DataFrame(cov, index=cols, columns=cols)
            self.sd_re[block.group] = pd.Series(sd, index=cols)
            self.corr_re[block.group] = pd.DataFrame(corr, index=cols, columns=cols)
        # covariance of all parameters over the free ones (those not at a bound); NaN elsewhere
        k = objective.n_params
        self.covariance = np.full((k, k), np.nan)
        free = np.flatnonzero(outcome.free)
        try:
            inner = np.linalg.inv(-outcome.hessian)
            if np.all(np.diag(inner) > 0):
                self.covariance[np.ix_(free, free)] = inner
        except np.linalg.LinAlgError:
            pass
        self.singular = bool(any(np.any(np.abs(np.diag(L)) < 1e-4 * max(1.0, np.max(np.abs(L)))) for L in factors))
        modes = objective.conditional_modes(x)
        self.random_effects = RandomEffects({}, self)
        for block in objective.blocks:
            b, cov = modes[block.group]
            cols = block.columns
            sd = np.sqrt(np.clip(np.einsum("mii->mi", cov), 0, None))
            frame = pd.DataFrame(np.hstack([b, sd]), columns=cols + [f"{c} sd" for c in cols],
                                 index=pd.Index(block.levels, name=block.group))
            self.random_effects[block.group] = frame

    # ------------------------------------------------------------------------------------------ summaries
    @property
    def df_modelwc(self):
        """Number of estimated parameters (fixed effects, covariance parameters, dispersion)."""
        return self.objective.n_params

    @property
    def aic(self):
        return -2 * self.llf + 2 * self.df_modelwc

    @property
    def bic(self):
        return -2 * self.llf + np.log(self.nobs) * self.df_modelwc

    @property
    def deviance(self):
        """-2 llf (lme4's deviance() for GLMMs is a different, conditional quantity)."""
        return -2 * self.llf

    def conf_int(self, alpha=0.05, method="wald"):
        """Confidence intervals for the fixed effects: ``"wald"`` (estimate +- z SE) or ``"profile"``
        (the likelihood-ratio interval: where the profile log-likelihood falls by chi2_1(1 - alpha) / 2)."""
        import pandas as pd
        from scipy.stats import chi2

        alpha = self._alpha_iv(alpha)
        if method not in ("wald", "profile"):
            raise ValueError(f"`method` must be 'wald' or 'profile', got {method!r}")
        if method == "wald":
            return self._wald_interval(alpha)
        drop = 0.5 * chi2.isf(alpha, 1)
        bounds = [self._profile_interval(j, drop) for j in range(self.objective.n_beta)]
        return pd.DataFrame({"lower": [b[0] for b in bounds], "upper": [b[1] for b in bounds]},
                            index=self.params.index)

    def _profile(self, j, value, start):
        """max of the log-likelihood over the other parameters with beta_j = value (warm-started)."""
        from scipy import optimize as scipy_optimize

        obj = self.objective
        others = [k for k in range(obj.n_params) if k != j]

        def negative(z):
            x = np.insert(z, j, value)
            f, g = obj.value_and_gradient(x)
            if not np.isfinite(f):
                return 1e300, np.zeros_like(z)
            return -f, -g[others]

        opt = scipy_optimize.minimize(negative, start, jac=True, method="L-BFGS-B",
                                      bounds=[obj.bounds[k] for k in others],
                                      options={"ftol": 1e-14, "gtol": 1e-8, "maxiter": 500})
        return -opt.fun, opt.x

    def _profile_interval(self, j, drop):
        from scipy.optimize import brentq

        x, se = self.x, float(self.bse.iloc[j])
        start = np.delete(x, j)
        ends = []
        for sign in (-1.0, 1.0):
            step = 2.0 * se if np.isfinite(se) and se > 0 else 1.0
            state = {"start": start}

            def gap(value):
                llf, z = self._profile(j, value, state["start"])
                state["start"] = z
                return self.llf - llf - drop

            a, b = x[j], x[j] + sign * step
            for _ in range(20):  # widen until the profile has fallen far enough
                if gap(b) > 0:
                    break
                a, b = b, x[j] + sign * (abs(b - x[j]) * 2)
            else:
                ends.append(np.nan)
                continue
            state["start"] = start
            ends.append(brentq(gap, min(a, b), max(a, b), xtol=1e-8, maxiter=100))
        self.objective.log_likelihood(self.x)
        return tuple(ends)

    # ------------------------------------------------------------------------------------------ prediction
    def _linear_predictor(self, newdata, re, offset):
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
        if not isinstance(newdata, pd.DataFrame):
            raise TypeError("`newdata` must be a pandas DataFrame")
        X, formula_offset = evaluate_new_data(d.fixed_model, d.fixed_keep, d.fixed_offset, newdata, "the fixed effects")
        eta = X @ beta + formula_offset
        if offset is not None:
            eta = eta + np.asarray(offset, dtype=float)
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
        """Predictions on the link (``type="link"``) or response (``"response"``: the mean, per trial for
        binomial) scale, with the conditional modes of the random effects (``re=True``) or without them
        (population level at b = 0). New levels in `newdata` get b = 0 (lme4's allow.new.levels)."""
        if type not in ("link", "response"):
            raise ValueError(f"`type` must be 'link' or 'response', got {type!r}")
        eta = self._linear_predictor(newdata, bool(re), offset)
        if type == "link":
            return eta
        return eta.__class__(self.family.inverse_link(eta.to_numpy()), index=eta.index)

    def simulate(self, n=1, seed=None):
        """`n` new responses from the fitted model (new random effects each time), shape (nobs, n), rows in
        the design's order (``objective.design.rows`` gives their positions in the data)."""
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"`n` must be a positive integer, got {n!r}")
        rng = np.random.default_rng(seed)
        obj = self.objective
        d = obj.design
        beta, factors, phi = obj.split(self.x)
        eta0 = d.offset + d.X @ beta
        out = np.empty((d.nobs, n))
        for k in range(n):
            eta = eta0.copy()
            for block, L in zip(obj.blocks, factors):
                b = rng.standard_normal((len(block.levels), block.q)) @ L.T
                eta += np.einsum("nq,nq->n", block.Z, b[block.index])
            out[:, k] = self.family.simulate(eta, obj.n, phi, rng)
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
            var += np.einsum("np,pr,nr->n", X, np.nan_to_num(self.covariance[:p, :p]), X)
        z = norm.isf(alpha / 2)
        frame = pd.DataFrame({"fit": eta, "lower": eta - z * np.sqrt(var), "upper": eta + z * np.sqrt(var)},
                             index=newdata.index)
        if type == "response":
            frame = frame.apply(lambda col: self.family.inverse_link(col.to_numpy()))
            if self.family.link == "inverse":   # decreasing: the ends swap
                frame[["lower", "upper"]] = frame[["upper", "lower"]].to_numpy()
        return frame

    def plot_random_effects(self, group=None, kind="mode", ax=None, alpha=0.05):
        """Caterpillar plot of the random effects: :func:`quadlib.glmm.plotting.plot_random_effects`."""
        from .plotting import plot_random_effects

        return plot_random_effects(self, group, kind, ax, alpha)

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
        from .plotting import plot_marginal

        return plot_marginal(self, x, newdata, n_conditional, ax, n_grid)

    def summary(self):
        """A text summary laid out like lme4's ``summary(glmer)``; every table's columns are as wide as
        their widest entry (:func:`quadlib.glmm._inference.align_columns`)."""
        fam = self.family
        lines = [f"Generalized linear mixed model fit by maximum likelihood ({self.method})",
                 f" Family: {fam.name}  ( {fam.link} )",
                 f"Formula: {self.formula}", ""]
        lines += align_columns([["AIC", "BIC", "logLik", "deviance"],
                                [f"{x:.4f}" for x in (self.aic, self.bic, self.llf, self.deviance)]], left=0)
        rows, corr_text = [["Groups", "Name", "Std.Dev."]], ["Corr"]
        for group, sd in self.sd_re.items():
            corr = self.corr_re[group].to_numpy()
            for i, name in enumerate(sd.index):
                rows.append([group if i == 0 else "", name, f"{sd.iloc[i]:.6f}"])
                corr_text.append(" ".join(f"{corr[i, j]:6.3f}" for j in range(i)))
        lines += ["", "Random effects:"]
        lines += [f" {line}  {corr}".rstrip() for line, corr in zip(align_columns(rows, left=2), corr_text)]
        if fam.has_dispersion:
            lines.append(f" {fam.dispersion_name} = {self.dispersion:.6g}")
        groups = "; ".join(f"{g}, {m}" for g, m in self.ngroups.items())
        lines += [f"Number of obs: {self.nobs}, groups:  {groups}", "", "Fixed effects:"]
        lines += self.coef_table("z")
        if self.singular:
            lines.append("\nboundary (singular) fit: a random-effect standard deviation is at zero")
        if not self.converged:
            lines.append(f"\nWARNING: the optimizer did not converge: {self.outcome.message}")
        return "\n".join(lines)

    def __repr__(self):
        return (f"GLMMResult({self.formula!r}, {self.family!r}, {self.method}, llf={self.llf:.6f}, "
                f"converged={self.converged})")

