"""Variance components on the standard-deviation scale: estimates, delta-method standard errors and profile
likelihoods (lme4's ``confint(method = "profile")`` for ``.sig01``, ``.sigma``, ...).

A random term's covariance is reported as its standard deviations and correlations, named as lme4's
``oldNames = FALSE``: ``sd_(Intercept)|Subject``, ``cor_Days.(Intercept)|Subject``, ``sd_Days|Subject``, and
``sigma`` for the residual standard deviation of a linear mixed model (and of the gaussian GLMM). Each block is
ordered like theta, column by column through the lower triangle: a diagonal entry gives an sd, an off-diagonal
one a correlation (for two effects: sd1, cor21, sd2, lme4's ``.sig01 .sig02 .sig03``).

The profiles follow lme4's ``devfun2``: the likelihood is written in the natural parameters psi, and one of them
is held while the others are maximized. Per block, the covariance factor is ``L = diag(s) C``, whose rows C_k
are the unit-normalized rows of a unit lower-triangular matrix U: s holds the standard deviations, the free
entries of U are unconstrained and every correlation matrix with a positive-definite leading part is reached.
A GLMM's psi is x with its theta block replaced by (s, U) (beta and the auxiliary coordinates stay, the
gaussian ``log(sigma)`` among them); a linear mixed model's is (s, U) per term and ``log(sigma)``, beta profiled
out in closed form by :meth:`~quadlib.glmm.LMMObjective.solve` and theta = L / sigma. Each profile point
maximizes over the free coordinates with :func:`~quadlib.glmm.optimize`, warm-started at the previous point. A
REML fit is profiled by maximum likelihood, as lme4 (``devfun2`` begins with ``refitML``).

References
----------
D. Bates, M. Maechler, B. Bolker and S. Walker, "Fitting linear mixed-effects models using lme4", Journal of
Statistical Software 67 (2015), section 5.1 (profiles, ``devfun2``).
J. C. Pinheiro and D. M. Bates, "Unconstrained parametrizations for variance-covariance matrices", Statistics
and Computing 6 (1996) 289-296 (the Cholesky parametrization of a correlation matrix).
A. Kuznetsova, P. B. Brockhoff and R. H. B. Christensen, "lmerTest package: tests in linear mixed effects
models", Journal of Statistical Software 82 (2017), section 3 (the covariance of (theta, sigma)).
"""
from dataclasses import replace
import math
import warnings

import numpy as np

from .. import _validation as v
from ._inference import check_alpha, covariance_over_free, profile_interval
from ._optimize import ConvergenceWarning, GLMM_OPTIONS, optimize
from ._smallsample import variance_parameter_covariance

__all__ = ["lmm_deviance", "profile_trace", "sd_scale", "sd_scale_covariance", "sd_scale_values",
           "varcomp_conf_int", "varcomp_profiles"]

_MAX_TRACE_POINTS = 200     # the bound on profile_trace's grid
_STATIONARY_GRADIENT = 1e-3  # largest |gradient| (llf scale) of a profile refit that counts as a maximum
_UNIT_FLOOR = 1e-8          # the smallest diagonal of C when a singular factor is written as U (a warm start)
_MAP_STEP = 1e-7            # relative step of the central differences of the psi -> x map (the chain rule)
_GRADIENT_STEP = 1e-6       # relative step of the LMM profile's gradient (central differences of the deviance)
_PROFILE_OPTIONS = replace(GLMM_OPTIONS, warn=False, final_hessian=False)


# ---------------------------------------------------------------------------------------------------------
# the model behind a result
# ---------------------------------------------------------------------------------------------------------
class _Model:
    """What this module needs of a fitted result, the same for GLMMs and LMMs: its blocks (with lme4's block
    names), the parameter vector psi of the module notes, the map psi -> the model's own coordinates and the
    log-likelihood there."""

    def __init__(self, result):
        objective = getattr(result, "objective", None)
        if objective is None or not hasattr(result, "cov_re"):
            raise TypeError(f"`result` must be a fitted GLMMResult or LMMResult, got {type(result).__name__}")
        self.result, self.objective = result, objective
        self.linear = hasattr(objective, "solve") and hasattr(result, "theta")
        if not self.linear and not hasattr(result, "x"):
            raise TypeError(f"`result` must be a fitted GLMMResult or LMMResult, got {type(result).__name__}")
        layout = objective.layout
        self.blocks = list(layout.blocks)
        self.block_names = list(result.cov_re)
        if len(self.block_names) != len(self.blocks):   # a model whose cov_re does not follow its layout
            self.block_names = [block.group for block in self.blocks]
        self.theta_slice = layout.slice
        self.sigma_index = None          # a GLMM: the coordinate of log(sigma) (gaussian), else None
        if not self.linear:
            family = result.family
            if family.name == "gaussian" and result.dispersion is not None:
                response = getattr(objective, "response", None)
                if response is None or response.plain:
                    self.sigma_index = objective.n_params - 1
                else:
                    self.sigma_index = objective.n_params - response.n_params + response.slices["disp"].start
        self.names = [n for name, block in zip(self.block_names, self.blocks) for n in _entry_names(name, block)]
        if self.linear or self.sigma_index is not None:
            self.names.append("sigma")

    # theta -> sd, cor -------------------------------------------------------------------------------------
    def sd_values(self, theta, sigma):
        """The sd/cor values of `theta` (a GLMM's factor entries, or an LMM's relative ones with `sigma`) and
        their Jacobian over theta."""
        values, rows = [], []
        offset = self.theta_slice.start
        n = self.theta_slice.stop - offset
        for block in self.blocks:
            part = slice(block.theta.start - offset, block.theta.stop - offset)
            L = block.factor(theta[part]) * sigma
            vals, jac = _sd_cor(L, block.rows, block.cols)
            J = np.zeros((vals.size, n))
            J[:, part] = jac * sigma
            values.append(vals)
            rows.append(J)
        return np.concatenate(values), np.vstack(rows)

    # psi <-> the model's coordinates ---------------------------------------------------------------------
    def psi_of(self, point):
        """psi at the model's `point` (a GLMM's x; an LMM's (theta, sigma))."""
        if self.linear:
            theta, sigma = point[:-1], point[-1]
            return np.concatenate([_natural(theta * sigma, self.blocks, self.theta_slice.start), [math.log(sigma)]])
        x = np.array(point, dtype=float)
        x[self.theta_slice] = _natural(x[self.theta_slice], self.blocks, self.theta_slice.start)
        return x

    def point_of(self, psi):
        """The model's coordinates at `psi` (the inverse of :meth:`psi_of`)."""
        if self.linear:
            sigma = math.exp(psi[-1])
            return np.concatenate([_factor_entries(psi[:-1], self.blocks, 0) / sigma, [sigma]])
        x = np.array(psi, dtype=float)
        x[self.theta_slice] = _factor_entries(psi[self.theta_slice], self.blocks, self.theta_slice.start)
        return x

    @property
    def theta_psi(self):
        """Where the blocks' (s, U) sit in psi."""
        return slice(0, self.objective.n_theta) if self.linear else self.theta_slice

    def psi_bounds(self):
        lower = [None] * (self.objective.n_theta + 1 if self.linear else self.objective.n_params)
        if not self.linear:
            lower = [lo for lo, _ in self.objective.bounds]
        start = self.theta_psi.start
        for block in self.blocks:
            for k, diagonal in enumerate(block.diagonal):
                lower[start + k] = 0.0 if diagonal else None
            start += block.n_theta
        return [(lo, None) for lo in lower]

    def log_likelihood(self, psi):
        """The log-likelihood at `psi`: a GLMM's objective; an LMM's ML ``-devfun2 / 2``."""
        point = self.point_of(psi)
        if self.linear:
            try:
                return -0.5 * lmm_deviance(self.objective, point[:-1], point[-1], reml=False)
            except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
                return -math.inf
        return float(self.objective.log_likelihood(point))

    def value_and_gradient(self, psi, free):
        """The log-likelihood and its gradient over psi's `free` coordinates (chain rule through the map for
        a GLMM; central differences of the ML deviance for an LMM, whose gradient in theta at fixed sigma the
        objective does not give)."""
        psi = np.asarray(psi, dtype=float)
        if self.linear:
            value = self.log_likelihood(psi)
            grad = np.empty(free.size)
            for n, k in enumerate(free):
                h = _GRADIENT_STEP * max(1.0, abs(psi[k]))
                up, down = psi.copy(), psi.copy()
                up[k] += h
                down[k] -= h
                grad[n] = (self.log_likelihood(up) - self.log_likelihood(down)) / (2 * h)
            return value, grad
        x = self.point_of(psi)
        value, g = self.objective.value_and_gradient(x)
        out = np.array(g, dtype=float)
        part = self.theta_slice
        if part.stop > part.start:   # d x_theta / d psi_theta: central differences of the (cheap) map
            start = part.start
            base = psi[part]
            jac = np.empty((base.size, base.size))
            for k in range(base.size):
                h = _MAP_STEP * max(1.0, abs(base[k]))
                up, down = base.copy(), base.copy()
                up[k] += h
                down[k] -= h
                jac[:, k] = (_factor_entries(up, self.blocks, start) - _factor_entries(down, self.blocks, start)) / (2 * h)
            out[part] = jac.T @ np.asarray(g, dtype=float)[part]
        return value, out[free]

    @property
    def evaluations(self):
        return getattr(self.objective, "evaluations", 0)


def _sd_cor(L, rows, cols):
    """(sd, cor) of the entries (rows, cols) of ``L L'`` and their Jacobian over ``L[rows, cols]``."""
    S = L @ L.T
    s = np.sqrt(np.clip(np.diag(S), 0.0, None))
    m = rows.size
    values = np.empty(m)
    ds = np.zeros((L.shape[0], m))      # d s_k / d theta_t
    dS = np.zeros((m, L.shape[0], L.shape[0]))
    for t, (i, j) in enumerate(zip(rows, cols)):
        # d S_ab / d L_ij = [a = i] L_bj + [b = i] L_aj
        dS[t, i, :] += L[:, j]
        dS[t, :, i] += L[:, j]
        if s[i] > 0:
            ds[i, t] = L[i, j] / s[i]
        elif i == j:    # the one-sided derivative at a zero row: along the diagonal entry
            ds[i, t] = 1.0
    J = np.zeros((m, m))
    for t, (r, c) in enumerate(zip(rows, cols)):
        if r == c:
            values[t] = s[r]
            J[t] = ds[r]
        elif s[r] > 0 and s[c] > 0:
            cor = S[r, c] / (s[r] * s[c])
            values[t] = cor
            J[t] = dS[:, r, c] / (s[r] * s[c]) - cor * (ds[r] / s[r] + ds[c] / s[c])
        else:   # a correlation beside a zero standard deviation is undefined
            values[t] = np.nan
            J[t] = np.nan
    return values, J


def _entry_names(name, block):
    """lme4's ``oldNames = FALSE`` names of a block's theta entries: ``sd_<effect>|<name>`` on the diagonal,
    ``cor_<row effect>.<column effect>|<name>`` below it."""
    cols = block.columns
    return [f"sd_{cols[r]}|{name}" if r == c else f"cor_{cols[r]}.{cols[c]}|{name}"
            for r, c in zip(block.rows, block.cols)]


def sd_scale_values(blocks, factors, sigma=None, names=None):
    """The standard deviations and correlations of covariance factors, without a result object (a bootstrap
    replicate's statistic): the values of :func:`sd_scale`.

    Parameters
    ----------
    blocks : list of CovarianceBlock
        A theta layout's blocks (``objective.layout.blocks``).
    factors : list of numpy.ndarray
        Each block's covariance factor L (Cov = L L'; an LMM's ``sigma T``).
    sigma : float, optional
        The residual standard deviation, reported last as ``sigma``.
    names : list of str, optional
        The blocks' names in the parameter names (default ``block.group``; an LMM result's ``list(cov_re)``,
        where a second term of a factor is ``g.1``).

    Returns
    -------
    names : list of str
    values : numpy.ndarray
        A correlation beside a zero standard deviation is NaN.

    Examples
    --------
    >>> from quadlib.glmm._covariance import ThetaLayout
    >>> layout = ThetaLayout.single("g", ["(Intercept)", "x"], True, 10)
    >>> names, values = sd_scale_values(layout.blocks, [np.array([[3.0, 0.0], [2.0, 2.0]])], sigma=1.5)
    >>> names
    ['sd_(Intercept)|g', 'cor_x.(Intercept)|g', 'sd_x|g', 'sigma']
    >>> values.round(6).tolist()          # sd 3, cor 6 / (3 sqrt(8)), sd sqrt(8)
    [3.0, 0.707107, 2.828427, 1.5]
    """
    blocks = list(blocks)
    names = [block.group for block in blocks] if names is None else list(names)
    if len(names) != len(blocks) or len(list(factors)) != len(blocks):
        raise ValueError("`factors` and `names` must have one entry per block")
    out_names, values = [], []
    for name, block, L in zip(names, blocks, factors):
        vals, _ = _sd_cor(np.asarray(L, dtype=float), block.rows, block.cols)
        out_names += _entry_names(name, block)
        values.append(vals)
    if sigma is not None:
        out_names.append("sigma")
        values.append([float(sigma)])
    return out_names, np.concatenate(values) if values else np.zeros(0)


def _natural(theta, blocks, offset):
    """(s, U) per block, in theta's entry order, of the factor entries `theta` (blocks' slices from `offset`)."""
    out = np.empty(len(theta))
    for block in blocks:
        part = slice(block.theta.start - offset, block.theta.stop - offset)
        L = block.factor(theta[part])
        s = np.sqrt(np.sum(L * L, axis=1))
        C = np.where(s[:, None] > 0, L / np.where(s > 0, s, 1.0)[:, None], np.eye(block.q))
        diagonal = np.maximum(np.abs(np.diag(C)), _UNIT_FLOOR)
        U = C / diagonal[:, None]
        out[part] = np.where(block.diagonal, s[block.rows], U[block.rows, block.cols])
    return out


def _factor_entries(psi, blocks, offset):
    """The factor entries of (s, U) per block (the inverse of :func:`_natural`)."""
    out = np.empty(len(psi))
    for block in blocks:
        part = slice(block.theta.start - offset, block.theta.stop - offset)
        values = psi[part]
        U = np.eye(block.q)
        off = ~block.diagonal
        U[block.rows[off], block.cols[off]] = values[off]
        s = np.zeros(block.q)
        s[block.rows[block.diagonal]] = values[block.diagonal]
        L = U / np.sqrt(np.sum(U * U, axis=1))[:, None] * s[:, None]
        out[part] = L[block.rows, block.cols]
    return out


class _Held:
    """The model's log-likelihood over psi with coordinate `i` held at `value` (None: nothing held), the
    others free: the objective protocol of :func:`~quadlib.glmm.optimize`."""

    derivatives = "gradient"

    def __init__(self, model, i, value):
        self.model, self.i, self.value = model, i, value
        n = len(model.psi_bounds())
        self.free = np.array([k for k in range(n) if k != i], dtype=np.intp)
        bounds = model.psi_bounds()
        self.bounds = [bounds[k] for k in self.free]
        self.n_params = self.free.size
        self.names = [f"psi[{k}]" for k in self.free]
        self._size = n

    @property
    def evaluations(self):
        return self.model.evaluations

    def full(self, z):
        psi = np.empty(self._size)
        psi[self.free] = z
        if self.i is not None:
            psi[self.i] = self.value
        return psi

    def start(self):
        raise ValueError("a profile refit is always warm-started")

    def log_likelihood(self, z):
        return self.model.log_likelihood(self.full(np.asarray(z, dtype=float)))

    __call__ = log_likelihood

    def value_and_gradient(self, z):
        return self.model.value_and_gradient(self.full(np.asarray(z, dtype=float)), self.free)


# ---------------------------------------------------------------------------------------------------------
# the LMM's deviance in (theta, sigma)
# ---------------------------------------------------------------------------------------------------------
def lmm_deviance(objective, theta, sigma, reml=False):
    """The deviance of a linear mixed model at relative covariance factor `theta` and residual SD `sigma`, beta
    profiled out: ``log|A|^2 + PWRSS / sigma^2 + n log(2 pi sigma^2) - log|W|``, and with `reml` the REML
    criterion, which adds ``log|R_X|^2 - p log(2 pi sigma^2)`` (lmerTest's ``devfun_vp``; at ``sigma^2 =
    PWRSS / n`` (ML) or ``/ (n - p)`` (REML) it is the profiled criterion the fit minimized).

    Parameters
    ----------
    objective : LMMObjective
        Its :meth:`~quadlib.glmm.LMMObjective.solve` gives the penalized least-squares solution at `theta`
        (which does not depend on the objective's own REML flag).
    theta : array_like
    sigma : float
        Positive.
    reml : bool

    Examples
    --------
    >>> from quadlib.glmm import datasets, lmm
    >>> fit = lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"), reml=False)
    >>> round(lmm_deviance(fit.objective, fit.theta, fit.sigma), 6) == round(-2 * fit.llf, 6)
    True
    """
    sigma = float(sigma)
    if not sigma > 0:
        raise ValueError(f"`sigma` must be positive, got {sigma}")
    solution = objective.solve(np.asarray(theta, dtype=float))
    n, p = objective.nobs, objective.p
    log_scale = math.log(2.0 * math.pi * sigma ** 2)
    deviance = solution.log_det_A + solution.r2 / sigma ** 2 + n * log_scale - objective.log_det_W
    if reml:
        deviance += solution.log_det_K - p * log_scale
    return float(deviance)


# ---------------------------------------------------------------------------------------------------------
# the public functions
# ---------------------------------------------------------------------------------------------------------
def sd_scale(result, x=None):
    """The variance components of `result` on the standard-deviation scale, with lme4's ``oldNames = FALSE``
    names, and the Jacobian of the map from the model's coordinates.

    Parameters
    ----------
    result : GLMMResult or LMMResult
    x : array_like, optional
        Other coordinates of the same model (a bootstrap refit's): a GLMM's full parameter vector
        (``objective.names``), an LMM's theta (sigma then follows from the penalized residual sum of squares,
        divided by ``n - p`` for a REML fit, else n). Default: the fit's.

    Returns
    -------
    names : list of str
        ``sd_<effect>|<group>`` and ``cor_<effect>.<effect>|<group>`` per block in theta's order, then
        ``sigma`` (linear mixed models, the gaussian GLMM).
    values : numpy.ndarray
        The values; a correlation beside a zero standard deviation is NaN.
    J : numpy.ndarray
        d(values)/d(coordinates): for a GLMM over all of x (``objective.names``; zero outside theta and
        ``log(sigma)``), for an LMM over (theta, sigma).

    Examples
    --------
    >>> from quadlib.glmm import datasets, lmm
    >>> fit = lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"), reml=False)
    >>> names, values, J = sd_scale(fit)
    >>> names
    ['sd_(Intercept)|Subject', 'cor_Days.(Intercept)|Subject', 'sd_Days|Subject', 'sigma']
    >>> values.round(4).tolist()        # lme4: 23.7806, 0.0813, 5.7168, 25.5918
    [23.7806, 0.0813, 5.7168, 25.5918]
    """
    model = _Model(result)
    objective = model.objective
    if model.linear:
        if x is None:
            theta, sigma = np.asarray(result.theta, dtype=float), float(result.sigma)
        else:
            theta = _vector(x, objective.n_theta, "x")
            solution = objective.solve(theta)
            sigma = math.sqrt(solution.r2 / (objective.nobs - objective.p if result.reml else objective.nobs))
        values, J = model.sd_values(theta, sigma)
        dsigma = np.zeros((values.size, 1))
        for block in model.blocks:   # sd = sigma * |row of T|: d sd / d sigma = sd / sigma
            for t in range(block.theta.start, block.theta.stop):
                if block.diagonal[t - block.theta.start]:
                    dsigma[t, 0] = values[t] / sigma
        values = np.concatenate([values, [sigma]])
        J = np.vstack([np.hstack([J, dsigma]), np.concatenate([np.zeros(theta.size), [1.0]])])
        return list(model.names), values, J
    x = np.asarray(result.x, dtype=float) if x is None else _vector(x, objective.n_params, "x")
    values, Jt = model.sd_values(x[model.theta_slice], 1.0)
    J = np.zeros((values.size, x.size))
    J[:, model.theta_slice] = Jt
    if model.sigma_index is not None:
        sigma = math.exp(x[model.sigma_index])
        values = np.concatenate([values, [sigma]])
        row = np.zeros(x.size)
        row[model.sigma_index] = sigma
        J = np.vstack([J, row])
    return list(model.names), values, J


def sd_scale_covariance(result):
    """The delta-method covariance of :func:`sd_scale`'s values, ``J C J'``.

    For a GLMM, C is the fit's ``x_covariance`` (the inverse Hessian of the marginal log-likelihood; NaN rows
    for a coordinate at a bound stay NaN). For a linear mixed model, C is the covariance of (theta, sigma) from
    the Hessian of the deviance in (theta, sigma),
    :func:`quadlib.glmm._smallsample.variance_parameter_covariance` (the REML criterion for a REML fit, as
    lmerTest's ``vcov_varpar``; the ML deviance otherwise); as for a GLMM, a diagonal theta at its bound 0 (a
    singular fit) has no variance there, so the rows that depend on it are NaN.

    Returns
    -------
    numpy.ndarray
        (k, k) over the names of :func:`sd_scale`.

    Examples
    --------
    >>> from quadlib.glmm import datasets, lmm
    >>> fit = lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"), reml=False)
    >>> np.sqrt(np.diag(sd_scale_covariance(fit))).round(3).tolist()   # numDeriv on lme4's devfun2
    [5.577, 0.324, 1.187, 1.508]
    """
    model = _Model(result)
    _, _, J = sd_scale(result)
    if model.linear:
        C = np.array(variance_parameter_covariance(result)[2], dtype=float)
        at_bound = np.flatnonzero(np.asarray(model.objective.layout.diagonal) & (np.asarray(result.theta) <= 0.0))
        C[at_bound, :] = np.nan
        C[:, at_bound] = np.nan
    else:
        C = result.x_covariance
        if C is None:
            return np.full((J.shape[0], J.shape[0]), np.nan)
    return _delta(J, C)


def _delta(J, C):
    """``J C J'``; a coordinate without a variance (NaN on C's diagonal: at a bound) makes every row and
    column that depends on it NaN, and only those."""
    C = np.asarray(C, dtype=float)
    missing = ~np.isfinite(np.diag(C))
    inner = np.where(np.isfinite(C), C, 0.0)
    inner[missing, :] = 0.0
    inner[:, missing] = 0.0
    out = J @ inner @ J.T
    touched = np.any(J[:, missing] != 0, axis=1)
    out[touched, :] = np.nan
    out[:, touched] = np.nan
    return out


def _vector(x, size, name):
    try:
        x = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be an array of numbers") from None
    if x.shape != (size,):
        raise ValueError(f"`{name}` must have {size} values, got shape {x.shape}")
    return x


def _warn_unconverged(outcome, what):
    """A ConvergenceWarning when `outcome` did not reach a maximum (the interval built on it may be off); True if
    so. A stationary point whose Hessian is only semidefinite counts as reached: holding an SD at 0 leaves its
    correlations unidentified (a flat direction), and the profile needs the maximized value, not its curvature."""
    gradient = np.asarray(outcome.gradient, dtype=float)
    free = np.ones(gradient.size, dtype=bool)
    if np.size(outcome.free) == gradient.size:
        free = np.asarray(outcome.free, dtype=bool)
    stationary = gradient.size == 0 or bool(np.all(np.isfinite(gradient[free]))
                                            and np.max(np.abs(gradient[free]), initial=0.0) <= _STATIONARY_GRADIENT)
    if outcome.converged or (math.isfinite(outcome.llf) and stationary):
        return False
    warnings.warn(f"{what} did not converge ({outcome.message}); the variance components' profile intervals "
                  "may be off", ConvergenceWarning, stacklevel=4)
    return True


def _ml_start(model):
    """(psi, llf, covariance of the sd-scale values, values) at the maximum-likelihood fit: the fit's own,
    or for a REML fit the ML refit from it (lme4's ``refitML``)."""
    result = model.result
    if model.linear:
        point = np.concatenate([np.asarray(result.theta, dtype=float), [float(result.sigma)]])
        psi = model.psi_of(point)
        if result.reml:
            held = _Held(model, None, None)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                outcome = optimize(held, psi, options=_PROFILE_OPTIONS)
            _warn_unconverged(outcome, "the ML refit of the REML fit (the profiles' start)")
            psi, llf = held.full(outcome.x), float(outcome.llf)
            point = model.point_of(psi)
        else:
            llf = float(result.llf)
        theta, sigma = point[:-1], point[-1]
        values = np.concatenate([model.sd_values(theta, sigma)[0], [sigma]])
        # the Wald SEs set only the first step and the tolerance of the interval search: a REML fit's serve
        # its ML refit
        return psi, llf, sd_scale_covariance(result), values
    x, llf, C = np.asarray(result.x, dtype=float), float(result.llf), result.x_covariance
    if result.reml:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ml = optimize(model.objective, x)
        _warn_unconverged(ml, "the ML refit of the REML fit (the profiles' start)")
        x, llf = np.asarray(ml.x, dtype=float), float(ml.llf)
        C = covariance_over_free(ml, model.objective.n_params)
    _, values, J = sd_scale(result, x)
    if C is None:
        C = np.full((x.size, x.size), np.nan)
    return model.psi_of(x), llf, _delta(J, C), values


def _held_coordinate(model, j):
    """Where parameter j of :func:`sd_scale` sits in psi and the map from its value to that coordinate, or
    None (a correlation that is not one coordinate of psi: blocks beyond two correlated effects)."""
    if j == len(model.names) - 1 and model.names[j] == "sigma":
        index = model.objective.n_theta if model.linear else model.sigma_index
        return index, (lambda value: math.log(value) if value > 0 else None)
    start = model.theta_psi.start
    for block in model.blocks:
        if j < block.n_theta:
            r, c = int(block.rows[j]), int(block.cols[j])
            if r == c:
                return start + j, (lambda value: value if value >= 0 else None)
            off = ~block.diagonal
            # cor_rc is the single coordinate U_rc when row c of U has no free entry and row r only this one
            alone = (np.sum(block.rows[off] == r) == 1) and not np.any(block.rows[off] == c)
            if not alone:
                return None
            return start + j, (lambda value: value / math.sqrt(1.0 - value * value) if abs(value) < 1 else None)
        j -= block.n_theta
        start += block.n_theta
    raise AssertionError("unreachable: j indexes the names")


def _profile_callable(model, index, to_psi, psi_hat):
    """The profiled log-likelihood of the coordinate `index` of psi, held at ``to_psi(value)`` (None: outside
    the parameter space, -inf), warm-started along the profile."""
    warm = [np.delete(psi_hat, index)]
    warned = [False]

    def llf(value):
        value = float(value)
        held_value = to_psi(value) if math.isfinite(value) else None
        if held_value is None:
            return -math.inf
        held = _Held(model, index, held_value)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            outcome = optimize(held, warm[0], options=_PROFILE_OPTIONS)
        if not warned[0] and not outcome.converged:   # once per parameter: a low profile narrows the interval
            warned[0] = _warn_unconverged(outcome, f"a profile refit (held at {value:.6g})")
        if np.all(np.isfinite(outcome.x)) and math.isfinite(outcome.llf):
            warm[0] = np.asarray(outcome.x, dtype=float)
        return float(outcome.llf)

    return llf


class _Profiles:
    """The maximum-likelihood start of the profiles (:func:`_ml_start`) and a fresh profile callable per
    parameter (each keeps its own warm start)."""

    def __init__(self, result):
        self.model = _Model(result)
        self.psi_hat, self.llf_max, covariance, self.values = _ml_start(self.model)
        # no Wald SE (a bound): inf, with which profile_interval starts its search at the estimate's scale
        self.se = np.nan_to_num(np.sqrt(np.abs(np.diag(covariance))), nan=np.inf)
        self.names = self.model.names

    def llf(self, j):
        """A new profile callable of parameter j, or None where it is not supported."""
        where = _held_coordinate(self.model, j)
        if where is None:
            return None
        return _profile_callable(self.model, where[0], where[1], self.psi_hat)


def _unsupported(name):
    warnings.warn(f"the profile of {name} is not available (a correlation in a block of three or more "
                  "correlated effects): it is NaN", ConvergenceWarning, stacklevel=3)


def varcomp_profiles(result):
    """The profiles of the variance components on the standard-deviation scale (lme4's ``devfun2``
    construction; module notes), one per name of :func:`sd_scale`, in the protocol of the fixed effects'
    profiles: ``(llf, estimate, se, llf_max)``.

    ``llf(value)`` is the maximum-likelihood log-likelihood maximized over every other parameter with this one
    held at `value`, warm-started at the previous call's optimum (so call it moving outward from the
    estimate); it is -inf outside the parameter space (a negative sd or sigma, ``|cor| >= 1``). The estimate,
    the delta-method standard error (inf where there is none: at a bound) and ``llf_max`` are those of the maximum-likelihood fit: a REML fit is
    refitted by maximum likelihood first, as lme4's profile does.

    A correlation is held as one coordinate of the factor's parametrization: in a block of two correlated
    effects (and, generally, where it is the only free entry of its row of U). Other correlations (three or
    more correlated effects) get a profile that is NaN everywhere, with a
    :class:`~quadlib.glmm.ConvergenceWarning`: not supported in this version.

    Returns
    -------
    list of (callable, float, float, float)

    Examples
    --------
    >>> from quadlib.glmm import datasets, fit
    >>> from quadlib.glmm._inference import profile_interval
    >>> cbpp = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"),
    ...            family="binomial")
    >>> llf, estimate, se, llf_max = varcomp_profiles(cbpp)[0]
    >>> [round(end, 4) for end in profile_interval(llf, estimate, se, llf_max)]   # lme4: 0.3461, 1.1000
    [0.3461, 1.1]
    """
    profiles = _Profiles(result)
    out = []
    for j, name in enumerate(profiles.names):
        llf = profiles.llf(j)
        if llf is None:
            _unsupported(name)
            llf = _nan_profile
        out.append((llf, float(profiles.values[j]), float(profiles.se[j]), profiles.llf_max))
    return out


def _nan_profile(value):
    return math.nan


def _domain(name):
    if name == "sigma" or name.startswith("sd_"):
        return 0.0, math.inf
    return -1.0, 1.0


def varcomp_conf_int(result, alpha=0.05, method="profile"):
    """Confidence intervals for the variance components on the standard-deviation scale.

    Parameters
    ----------
    result : GLMMResult or LMMResult
    alpha : float
        1 - the confidence level.
    method : {"profile", "wald"}
        ``"profile"``: the likelihood-ratio interval of :func:`varcomp_profiles` (lme4's
        ``confint(method = "profile")``, maximum likelihood also for a REML fit), found by
        :func:`~quadlib.glmm._inference.profile_interval`; an sd whose profile at 0 is within the cut-off gets
        the lower end 0 (lme4's convention), and a correlation's ends stay within [-1, 1]. ``"wald"``:
        ``value -/+ z se`` with the delta-method standard errors of :func:`sd_scale_covariance` (lme4 has
        none), clipped to the same ranges.

    Returns
    -------
    pandas.DataFrame
        Columns ``lower`` and ``upper``, indexed by the names of :func:`sd_scale`.

    Examples
    --------
    >>> from quadlib.glmm import datasets, fit
    >>> cbpp = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"),
    ...            family="binomial")
    >>> varcomp_conf_int(cbpp).round(4)         # lme4's exact ends: 0.3461, 1.1000
                          lower  upper
    sd_(Intercept)|herd  0.3461    1.1
    """
    import pandas as pd
    from scipy.stats import norm

    alpha = check_alpha(alpha)
    method = v.choice(method, ("profile", "wald"), "method")
    names, values, _ = sd_scale(result)
    if method == "wald":
        se = np.sqrt(np.diag(sd_scale_covariance(result)))
        z = norm.isf(alpha / 2)
        lower, upper = values - z * se, values + z * se
    else:
        profiles = _Profiles(result)
        lower, upper = np.empty(len(names)), np.empty(len(names))
        for j, name in enumerate(names):
            lower[j], upper[j] = _profile_ends(profiles, j, alpha)
    for j, name in enumerate(names):
        low, high = _domain(name)
        lower[j], upper[j] = np.clip(lower[j], low, high), np.clip(upper[j], low, high)
    return pd.DataFrame({"lower": lower, "upper": upper}, index=names)


def _profile_ends(profiles, j, alpha):
    """The profile interval of parameter j; an sd whose profile at 0 is within the cut-off gets the lower end
    0 without a search (lme4's convention), NaN ends for a profile that is not supported."""
    from scipy.stats import norm

    name, estimate = profiles.names[j], float(profiles.values[j])
    se, llf_max = float(profiles.se[j]), profiles.llf_max
    if profiles.llf(j) is None:
        _unsupported(name)
        return math.nan, math.nan
    if not math.isfinite(estimate):
        return math.nan, math.nan
    if name.startswith("sd_"):
        at_zero = profiles.llf(j)(0.0)
        target = float(norm.isf(alpha / 2))
        if math.isfinite(at_zero) and 2.0 * (llf_max - at_zero) <= target ** 2:
            # the upper end only: below the estimate the search sees the boundary at once, without refits
            llf = profiles.llf(j)
            upper = profile_interval(lambda value: llf(value) if value >= estimate else -math.inf, estimate, se,
                                     llf_max, alpha, name=name)[1]
            return 0.0, upper
    return profile_interval(profiles.llf(j), estimate, se, llf_max, alpha, name=name)


def profile_trace(result, parm, n_points=20, alpha=0.05):
    """The signed root of the likelihood-ratio statistic, zeta, along the profile of one variance component
    (lme4's ``profile()`` trace, which :func:`quadlib.glmm.plotting.plot_profile` draws).

    zeta(value) = sign(value - estimate) sqrt(2 (llf_max - llf(value))) at `n_points` values evenly spread
    over the profile interval at level `alpha`, widened by 10 % of its width on each side (within the
    parameter's range), computed outward from the estimate (one refit per point, after the interval's
    search).

    Parameters
    ----------
    result : GLMMResult or LMMResult
    parm : str
        A name of :func:`sd_scale`.
    n_points : int
        At least 3, at most 200.
    alpha : float

    Returns
    -------
    pandas.DataFrame
        Columns ``value`` and ``zeta``, sorted by value; the attributes ``estimate``, ``lower`` and ``upper``
        (``frame.attrs``) give the estimate and the interval.

    Examples
    --------
    >>> from quadlib.glmm import datasets, fit
    >>> cbpp = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"),
    ...            family="binomial")
    >>> trace = profile_trace(cbpp, "sd_(Intercept)|herd", n_points=5)
    >>> trace.shape, bool(trace["zeta"].is_monotonic_increasing)
    ((5, 2), True)
    """
    import pandas as pd

    alpha = check_alpha(alpha)
    n_points = v.positive_int(n_points, "n_points", minimum=3, maximum=_MAX_TRACE_POINTS)
    names = sd_scale(result)[0]
    if not isinstance(parm, str) or parm not in names:
        raise ValueError(f"`parm` must be one of {names}, got {parm!r}")
    j = names.index(parm)
    profiles = _Profiles(result)
    estimate, llf_max = float(profiles.values[j]), profiles.llf_max
    lower, upper = _profile_ends(profiles, j, alpha)
    low, high = _domain(parm)
    width = upper - lower if math.isfinite(upper - lower) else max(abs(estimate), 1.0)
    a = max(lower - 0.1 * width, low) if math.isfinite(lower) else max(estimate - width, low)
    b = min(upper + 0.1 * width, high) if math.isfinite(upper) else min(estimate + width, high)
    if low == -1.0:    # a correlation: stay inside (-1, 1)
        a, b = max(a, -1 + 1e-6), min(b, 1 - 1e-6)
    grid = np.linspace(a, b, n_points)
    zeta = np.full(n_points, np.nan)
    if profiles.llf(j) is not None and math.isfinite(estimate):
        for side in (grid >= estimate, grid < estimate):
            walk = profiles.llf(j)     # a fresh warm start for each side, walking outward
            order = np.flatnonzero(side)
            for k in order[np.argsort(np.abs(grid[order] - estimate))]:
                value = walk(grid[k])
                if math.isfinite(value):
                    zeta[k] = math.copysign(math.sqrt(2.0 * max(llf_max - value, 0.0)), grid[k] - estimate)
    frame = pd.DataFrame({"value": grid, "zeta": zeta})
    frame.attrs.update(estimate=estimate, lower=lower, upper=upper)
    return frame
