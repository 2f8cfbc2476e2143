"""GLMM fitting as a pipeline of public stages, in the spirit of lme4's modular glmer:

    design(formula, data, family)  ->  Design        (response, X, the grouping factor)
    objective(design, integrator)   ->  Objective     (the marginal log-likelihood of (beta, sigma))
    optimize(objective)             ->  the maximum   (scipy.optimize, L-BFGS-B, sigma >= 0)
    fit(...)                        ->  GLMMResult    (all of the above, plus standard errors)

The marginal likelihood prod_i ∫ p(y_i | b) N(b; 0, sigma²) db is computed by a core integrator
(quadlib.Laplace, quadlib.AdaptiveGaussHermite, ...): this layer has no quadrature code of its own.

Scope of this version: one grouping factor with a random intercept ``(1 | g)``; families binomial (logit),
bernoulli (logit) and poisson (log). Wider formulas, families and the LMM are the rest of issue 6.
"""
from dataclasses import dataclass, field
import re
import warnings

import numpy as np
from scipy import optimize as scipy_optimize
from scipy.special import expit, gammaln

from .. import _validation as v
from .._integrators import AdaptiveGaussHermite, Laplace, QMCIntegrator, _AdaptiveRule

__all__ = ["Design", "Objective", "GLMMResult", "design", "objective", "fit"]

FAMILIES = {"binomial": "logit", "poisson": "log"}
_RANDOM = re.compile(r"\(\s*([^()|]+?)\s*\|\s*([A-Za-z_][\w.]*)\s*\)")
_CBIND = re.compile(r"^\s*cbind\s*\((.+),(.+)\)\s*$")


@dataclass(frozen=True, eq=False)
class Design:
    """The model's data: response y with trials n (1 for Bernoulli, 0 for Poisson), fixed-effects matrix X
    (rows sorted by group), group index, and names."""

    family: str
    y: np.ndarray
    n: np.ndarray
    X: np.ndarray
    group: np.ndarray          # group number of each row (sorted)
    starts: np.ndarray         # first row of each group
    names: list
    group_name: str
    levels: list
    order: np.ndarray          # row order relative to the data frame used
    constant: float            # log binomial coefficients / -log y! (the full log-likelihood's constant)

    @property
    def n_groups(self):
        return len(self.levels)


def _lme4_name(label):
    # formulae writes factor columns as name[level]; lme4 writes namelevel
    return "(Intercept)" if label == "Intercept" else re.sub(r"\[(.*)\]$", r"\1", label)


def design(formula, data, family="binomial"):
    """Stage 1: parse an lme4 formula with one random intercept, ``response ~ fixed + (1 | group)``."""
    import formulae
    import pandas as pd

    if not isinstance(formula, str) or "~" not in formula:
        raise ValueError(f"`formula` must be a string 'response ~ terms', got {formula!r}")
    if not isinstance(data, pd.DataFrame):
        raise TypeError("`data` must be a pandas DataFrame")
    v.choice(family, ("binomial", "bernoulli", "poisson"), "family")
    lhs, rhs = formula.split("~", 1)
    terms = _RANDOM.findall(rhs)
    if len(terms) != 1 or terms[0][0].strip() != "1":
        raise ValueError(f"this version fits exactly one random intercept '(1 | group)'; `formula` has "
                         f"{[f'({e} | {g})' for e, g in terms] or 'none'}")
    group_name = terms[0][1]
    fixed = _RANDOM.sub("", rhs).strip().rstrip("+").strip() or "1"
    fixed = re.sub(r"\+\s*\+", "+", fixed)
    if group_name not in data:
        raise ValueError(f"`formula`: grouping factor {group_name!r} is not a column of `data`")
    cbind = _CBIND.match(lhs)
    if cbind:
        if family == "poisson":
            raise ValueError("`formula`: cbind(successes, failures) needs family='binomial'")
        success_expr, failure_expr = cbind.group(1), cbind.group(2)
    used = data
    try:
        if cbind:
            successes = np.asarray(used.eval(success_expr), dtype=float)
            failures = np.asarray(used.eval(failure_expr), dtype=float)
        else:
            successes = np.asarray(used.eval(lhs.strip()), dtype=float)
            failures = None
    except Exception as error:  # pandas raises several types for an unknown name
        raise ValueError(f"`formula`: cannot evaluate the response {lhs.strip()!r}: {error}") from None
    keep = np.isfinite(successes) & used[group_name].notna().to_numpy()
    if failures is not None:
        keep &= np.isfinite(failures)
    if not keep.all():
        warnings.warn(f"dropped {int((~keep).sum())} row(s) with missing values", UserWarning, stacklevel=3)
    frame = used.loc[keep].reset_index(drop=True)
    successes = successes[keep]
    try:
        matrices = formulae.design_matrices(f"{lhs.strip() if not cbind else 'quadlib_response'} ~ {fixed}",
                                            frame.assign(quadlib_response=successes) if cbind else frame, na_action="error")
    except Exception as error:
        raise ValueError(f"`formula`: {error}") from None
    X = np.asarray(matrices.common.design_matrix, dtype=float)
    names = [_lme4_name(label) for label in matrices.common.as_dataframe().columns]
    if family == "poisson":
        y, n = successes, np.zeros_like(successes)
        if np.any(y < 0) or np.any(y != np.round(y)):
            raise ValueError("poisson responses must be non-negative integers")
        constant = -float(np.sum(gammaln(y + 1)))
    else:
        n = successes + failures[keep] if cbind else np.ones_like(successes)
        y = successes
        if np.any(y < 0) or np.any(y > n) or np.any(y != np.round(y)):
            raise ValueError("binomial responses must be integers with 0 <= successes <= trials"
                             if cbind else "bernoulli responses must be 0 or 1")
        constant = float(np.sum(gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)))
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("`formula`: the fixed-effects matrix is rank deficient")
    labels = frame[group_name].astype(str).to_numpy()
    levels, group = np.unique(labels, return_inverse=True)
    if levels.size < 2:
        raise ValueError(f"grouping factor {group_name!r} has a single level: no random effect can be estimated")
    order = np.argsort(group, kind="stable")
    group = group[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    return Design("poisson" if family == "poisson" else "binomial", y[order], n[order], X[order], group, starts,
                  names, group_name, list(levels), order, constant)


class Objective:
    """Stage 2: the marginal log-likelihood of params = (beta, sigma) for one integrator."""

    def __init__(self, design, integrator):
        self.design, self.integrator = design, integrator
        self.modes = None  # warm starts for the integrator's Newton iteration
        self.evaluations = 0

    def _cluster_terms(self, eta):
        """log p(y | eta) per row without its constant, and its first two derivatives in eta."""
        d = self.design
        y, n = (d.y, d.n) if eta.ndim == 1 else (d.y[:, None], d.n[:, None])
        if d.family == "poisson":
            mu = np.exp(eta)
            return y * eta - mu, y - mu, -mu
        p = expit(eta)
        return y * eta - n * np.logaddexp(0, eta), y - n * p, -n * p * (1 - p)

    def log_likelihood(self, params):
        d = self.design
        beta, sigma = params[:-1], float(params[-1])
        eta0 = d.X @ beta
        M = d.n_groups

        def log_g(b):  # b (M, K, 1): every group at K points
            eta = eta0[:, None] + b[d.group, :, 0]
            value = self._cluster_terms(eta)[0]
            return np.add.reduceat(value, d.starts, axis=0)

        def derivatives(b):
            eta = eta0 + b[d.group, 0]
            value, first, second = self._cluster_terms(eta)
            return (np.add.reduceat(value, d.starts), np.add.reduceat(first, d.starts)[:, None],
                    np.add.reduceat(second, d.starts)[:, None, None])

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failed cluster gives NaN, handled below
            res = self.integrator.log_integrals(log_g, M, 1, cov=[[sigma * sigma]], derivatives=derivatives,
                                                start=self.modes)
        self.evaluations += 1
        if res.success:
            self.modes = res.mode_u
        self.last = res
        total = float(np.sum(res.log_integral)) + d.constant
        return total if np.isfinite(total) else -np.inf

    __call__ = log_likelihood


@dataclass(frozen=True, eq=False)
class GLMMResult:
    """A fitted GLMM (statsmodels names)."""

    params: object          # pandas Series of fixed effects
    bse: object
    sigma: float
    sigma_se: float
    llf: float
    nobs: int
    ngroups: int
    converged: bool
    method: str
    group_name: str
    family: str
    formula: str
    random_effects: object  # DataFrame: mode and conditional sd per group
    history: list = field(repr=False, default_factory=list)
    covariance: np.ndarray = field(repr=False, default=None)

    @property
    def aic(self):
        return -2 * self.llf + 2 * (len(self.params) + 1)

    @property
    def bic(self):
        return -2 * self.llf + np.log(self.nobs) * (len(self.params) + 1)

    @property
    def deviance(self):
        return -2 * self.llf

    @property
    def tvalues(self):
        return self.params / self.bse

    @property
    def pvalues(self):
        from scipy.stats import norm
        import pandas as pd

        return pd.Series(2 * norm.sf(np.abs(self.tvalues)), index=self.params.index)

    def cov_params(self):
        import pandas as pd

        k = len(self.params)
        return pd.DataFrame(self.covariance[:k, :k], index=self.params.index, columns=self.params.index)

    def summary(self):
        """A text summary laid out like lme4's."""
        lines = [f"Generalized linear mixed model fit by maximum likelihood ({self.method})",
                 f" Family: {self.family}",
                 f"Formula: {self.formula}",
                 "",
                 f"{'AIC':>10} {'BIC':>10} {'logLik':>10} {'deviance':>10}",
                 f"{self.aic:10.4f} {self.bic:10.4f} {self.llf:10.4f} {self.deviance:10.4f}",
                 "",
                 "Random effects:",
                 f" Groups {self.group_name:>10} Name (Intercept)  Std.Dev. {self.sigma:.6f}",
                 f"Number of obs: {self.nobs}, groups: {self.group_name}, {self.ngroups}",
                 "",
                 "Fixed effects:",
                 f"{'':14s}{'Estimate':>12}{'Std. Error':>12}{'z value':>10}{'Pr(>|z|)':>12}"]
        for name in self.params.index:
            lines.append(f"{name:14s}{self.params[name]:12.6f}{self.bse[name]:12.6f}{self.tvalues[name]:10.3f}"
                         f"{self.pvalues[name]:12.3g}")
        if not self.converged:
            lines.append("\nWARNING: the optimizer did not converge")
        return "\n".join(lines)


def _integrator_for(method, nagq):
    if isinstance(method, _AdaptiveRule):
        return method, repr(method)
    v.choice(method, ("laplace", "agq", "qmc"), "method")
    if method == "laplace":
        return Laplace(), "Laplace approximation"
    if method == "agq":
        n = v.positive_int(10 if nagq is None else nagq, "nagq", maximum=200)
        return AdaptiveGaussHermite(n), f"adaptive Gauss-Hermite quadrature, nAGQ = {n}"
    return QMCIntegrator(1024 if nagq is None else v.positive_int(nagq, "nagq"), seed=0), "randomized QMC"


def _hessian(f, x, steps, richardson=False):
    """Central-difference Hessian, optionally with Richardson extrapolation (steps and half steps)."""
    def at(h):
        k = x.size
        H = np.empty((k, k))
        f0 = f(x)
        for i in range(k):
            ei = np.zeros(k)
            ei[i] = h[i]
            H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
            for j in range(i):
                ej = np.zeros(k)
                ej[j] = h[j]
                H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
        return H
    return (4 * at(0.5 * steps) - at(steps)) / 3 if richardson else at(steps)


def fit(formula, data, *, family="binomial", method="laplace", nagq=None, start=None, verbose=False):
    """Fit a GLMM with one random intercept by maximum marginal likelihood.

    Parameters
    ----------
    formula : str
        lme4 syntax: ``"cbind(successes, failures) ~ x + (1 | g)"``, ``"y01 ~ x + (1 | g)"`` (bernoulli) or
        a count response with ``family="poisson"``.
    data : pandas.DataFrame
    family : {"binomial", "bernoulli", "poisson"}
        Canonical links (logit, log).
    method : {"laplace", "agq", "qmc"} or an integrator object
        ``"agq"`` uses ``nagq`` adaptive Gauss–Hermite nodes (default 10).
    start : array_like, optional
        (beta..., sigma).
    verbose : bool
        Print the log-likelihood at each optimizer iteration.

    Returns
    -------
    GLMMResult
        ``llf`` is the full log-likelihood (binomial coefficients included) for every method and nagq.

    Examples
    --------
    >>> from quadlib.glmm import datasets, fit
    >>> res = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"))
    >>> round(res.llf, 4), round(res.sigma, 4)   # lme4 (tolPwrss=1e-12) and glmmTMB: -92.026282, 0.642270
    (-92.0263, 0.6423)
    """
    import pandas as pd

    d = design(formula, data, family)
    integrator, method_name = _integrator_for(method, nagq)
    obj = Objective(d, integrator)
    k = d.X.shape[1]
    if start is None:
        # a GLM fit without the random effect, then sigma = 1
        y_rate = (d.y + 0.5) / (d.n + 1.0) if d.family == "binomial" else d.y + 0.5
        z = np.log(y_rate / (1 - y_rate)) if d.family == "binomial" else np.log(y_rate)
        beta0 = np.linalg.lstsq(d.X, z, rcond=None)[0]
        x0 = np.r_[beta0, 1.0]
    else:
        x0 = np.asarray(start, dtype=float)
        if x0.shape != (k + 1,):
            raise ValueError(f"`start` must have {k + 1} values (beta..., sigma), got shape {x0.shape}")
    history = []

    def negative(params):
        value = obj(params)
        return -value if np.isfinite(value) else 1e300

    def record(params):
        history.append(-negative(params))
        if verbose:
            print(f"  iteration {len(history):3d}: log-likelihood {history[-1]:.8f}", flush=True)

    bounds = [(None, None)] * k + [(0.0, None)]
    opt = scipy_optimize.minimize(negative, x0, method="L-BFGS-B", bounds=bounds, callback=record,
                                  options={"ftol": 1e-12, "gtol": 1e-6, "maxiter": 500})
    # polish: Newton steps with one accurate Hessian (L-BFGS-B stops short of 1e-6 in the parameters); the
    # Hessian is recomputed once at the end for the standard errors if the point moved
    x = opt.x
    steps = np.full(k + 1, 1e-4)  # O(step^2) = 1e-8 relative: plenty for Newton steps and 1e-3 SEs
    H = _hessian(obj, x, steps)
    moved = False
    for _ in range(10):
        g = np.array([(obj(x + e) - obj(x - e)) / (2 * s) for e, s in zip(np.diag(steps * 1e-2), steps * 1e-2)])
        try:
            step = np.linalg.solve(-H, g)
        except np.linalg.LinAlgError:
            break
        if x[-1] + step[-1] < 0 or obj(x + step) < obj(x) - 1e-12:  # boundary, or no gain: keep x
            break
        x, moved = x + step, moved or np.max(np.abs(step)) > 1e-5
        if np.max(np.abs(step)) < 1e-9:
            break
    if moved:  # the Hessian used for the standard errors is taken at the final point
        H = _hessian(obj, x, steps)
    llf = obj(x)
    converged = bool(opt.success or np.max(np.abs(opt.jac)) < 1e-4)
    try:
        covariance = np.linalg.inv(-H)
        se = np.sqrt(np.diag(covariance))
    except (np.linalg.LinAlgError, TypeError):
        covariance, se = np.full((k + 1, k + 1), np.nan), np.full(k + 1, np.nan)
    if not converged:
        warnings.warn(f"the optimizer did not converge: {opt.message}", RuntimeWarning, stacklevel=2)
    if x[-1] < 1e-4:
        warnings.warn("singular fit: the random-effect standard deviation is at (or near) zero", UserWarning,
                      stacklevel=2)
    obj(x)
    last = obj.last
    conditional_sd = x[-1] / np.sqrt(last.curvature[:, 0, 0])
    random_effects = pd.DataFrame({"mode": last.mode[:, 0], "conditional_sd": conditional_sd},
                                  index=pd.Index(d.levels, name=d.group_name))
    params = pd.Series(x[:k], index=d.names)
    bse = pd.Series(se[:k], index=d.names)
    family_name = {"binomial": "binomial  ( logit )", "poisson": "poisson  ( log )"}[d.family]
    return GLMMResult(params, bse, float(x[-1]), float(se[-1]), float(llf), int(d.y.size), d.n_groups, converged,
                      method_name, d.group_name, family_name, formula, random_effects, history, covariance)
