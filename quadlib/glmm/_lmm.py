"""Linear mixed models in closed form, as lme4's ``lmer`` fits them: :func:`lmm`.

The model is ``y = X beta + offset + Z b + e`` with ``b = Lambda_theta u``, ``u ~ N(0, sigma^2 I)`` and
``e ~ N(0, sigma^2 W^-1)`` (``W`` the prior weights). ``Lambda_theta`` is block diagonal: one lower-triangular
block ``T_k`` (the relative Cholesky factor of term k's covariance, ``Cov(b_k) = sigma^2 T_k T_k'``) per level
of each random term; ``theta`` stacks the lower triangles of the ``T_k`` column by column (lme4's order), only
their diagonals for an uncorrelated ``(x || g)`` term.

For a given ``theta`` the penalized least-squares problem

    min over (beta, u) of  |W^1/2 (y - offset - X beta - Z Lambda u)|^2 + |u|^2

has a closed-form solution through the Cholesky factor of ``A = Lambda' Z' W Z Lambda + I``. Three engines
factor it (:attr:`LMMObjective.engine`):

* ``"dense"`` (random-effects dimension q <= 250): dense LAPACK, with an analytic gradient;
* ``"blocked"`` (q > 250): the blocked Cholesky factor of :mod:`quadlib.glmm._blocked` (MixedModels.jl's
  scheme: the random-effect blocks ordered by size, the first one diagonal or block diagonal, later ones
  dense or block diagonal as their fill dictates, with ``[X y]`` as the last block), its symbolic analysis
  made once; the criterion comes from the factor's last block, without a q x q matrix, and theta is
  optimized without derivatives (COBYQA, :mod:`quadlib.glmm._optimize`), as lme4 and MixedModels.jl do
  with BOBYQA;
* ``"splu"``: a sparse LU with a symmetric fill-reducing ordering (scipy has no sparse Cholesky, and with
  ``diag_pivot_thresh=0`` the LU of the positive definite ``A`` is its LDL'), only where the blocked
  structure refuses the model (:class:`~quadlib.glmm._blocked.BlockedUnsupported`: a dense block over its
  memory bound).

With ``r2`` the penalized weighted residual sum of squares at the solution, ``sigma^2`` and ``beta`` profile
out (Bates, Maechler, Bolker and Walker 2015, eqs. 34-42):

    ML:   d(theta)    = log|A| + n (1 + log(2 pi r2 / n)) - sum(log w)
    REML: d_R(theta)  = log|A| + log|R_X' R_X| + (n - p) (1 + log(2 pi r2 / (n - p))) - sum(log w)

and only ``theta`` (a handful of numbers) is optimized, with bounds ``diag(T_k) >= 0``: by L-BFGS-B with the
analytic gradient (envelope theorem for ``r2``, trace identities for the log-determinants) on the dense
engine, by COBYQA on the others (their ``value_and_grad`` is a central difference, for callers that ask).
"""
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
import copy
import math
import warnings

import numpy as np

from .. import _validation as v
from . import _blocked
from ._covariance import ThetaLayout
from ._design import build_design, check_random_effects, identifiers, random_matrix
from ._formula import parse_formula
from ._optimize import LMM_OPTIONS, ConvergenceWarning, blas_controller, optimize, warn_singular
from ._linalg import cho_inverse, cho_solve, cholesky, lambda_u, left_lambda_t, right_lambda
from ._lmm_result import LMMResult

__all__ = ["lmm", "LMMResult", "LMMObjective", "ProfiledLikelihood", "check_identifiable", "optimize_theta"]

_SPARSE_MIN = 250        # random-effects dimension up to which A is factored as a dense matrix
_ILL_CONDITIONED = 1e5   # theta above this loses ~eps * theta^2 > 1e-6 of the precision of A and R_X'R_X
_MAX_ITER = 1000         # L-BFGS-B iterations (and 5 times as many evaluations)
_MAX_NEWTON = 8          # Newton polishing steps (the other constants: quadlib.glmm._optimize.LMM_OPTIONS)
_WARM_RADIUS = 0.05      # COBYQA's initial trust-region radius from a given start (see _lmm_options)


@dataclass(frozen=True, eq=False)
class _Solution:
    """The penalized least-squares solution at one theta."""

    theta: np.ndarray
    criterion: float       # ML deviance or REML criterion
    beta: np.ndarray
    u: np.ndarray
    b: np.ndarray
    r2: float              # penalized weighted residual sum of squares
    log_det_A: float
    log_det_K: float
    K: np.ndarray          # R_X' R_X
    factor: object = field(repr=False)   # ("dense", cho_factor), ("sparse", splu) or ("blocked", BlockedFactor)


# ---------------------------------------------------------------------------------------------------------
# stage 2: the profiled criterion as a function of theta
# ---------------------------------------------------------------------------------------------------------
class LMMObjective:
    """The profiled deviance (ML) or REML criterion of a linear mixed model as a function of theta.

    Parameters
    ----------
    design : Design
        From :func:`build_design`.
    reml : bool
        REML criterion (True) or ML deviance.
    sparse : bool, optional
        Factor ``A`` with the blocked engine (True) or as a dense matrix (False). Default: blocked when the
        random-effects dimension q exceeds 250. Where the blocked structure refuses the model (a dense block
        over its memory bound, :class:`~quadlib.glmm._blocked.BlockedUnsupported`), a sparse LU.

    Attributes
    ----------
    engine : {"dense", "blocked", "splu"}
        How ``A`` is factored (module notes); ``sparse`` is ``engine != "dense"``.
    derivatives : {"gradient", "values"}
        What the optimizer should use (:mod:`quadlib.glmm._optimize`): the analytic gradient of the dense
        engine, or values only.

    Notes
    -----
    ``objective(theta)`` is the criterion, ``objective.value_and_grad(theta)`` also its gradient,
    ``objective.solve(theta)`` the whole penalized least-squares solution; ``objective.start`` and
    ``objective.bounds`` are lme4's starting values (1 on the diagonals, 0 elsewhere) and bounds. The blocked
    engine keeps one numeric factor, refilled in place at every evaluation; ``solve`` hands a copy of it to
    its solution.

    Examples
    --------
    >>> from quadlib.glmm import datasets, build_design
    >>> d = build_design("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> objective = LMMObjective(d, reml=True)
    >>> round(objective([0.9667, 0.0152, 0.2309]), 3)
    1743.628
    """

    def __init__(self, design, reml=True, *, sparse=None):
        w = np.ones(design.nobs) if design.weights is None else np.asarray(design.weights, float)
        terms = list(design.terms)
        self.terms, self.layout = terms, ThetaLayout.from_terms(terms, by="term")
        self.offset = np.asarray(design.offset, dtype=float)   # with_response subtracts it from a new response
        self._setup(design.response - design.offset, w, design.X, random_matrix(self.layout.blocks, design.nobs),
                    terms, reml, sparse)

    def _setup(self, y, w, X, Z, terms, reml, sparse, structure=None):
        import scipy.sparse as sp

        self.reml = bool(reml)
        self.y, self.w, self.X, self.Z = y, w, X, Z
        # one block per term, in the formula's order (lme4's theta); theta is relative to sigma (made once
        # per list of terms: the profile's refits set up the same terms again)
        if getattr(self, "terms", None) is not terms or getattr(self, "layout", None) is None:
            self.layout = ThetaLayout.from_terms(terms, by="term")
        self.terms = terms
        self._fixed_structures = {}   # the blocked structures of _with_fixed, per column (this X only)
        self.nobs, self.p = X.shape
        layout = self.layout
        self.q, self.n_theta = layout.n_random, layout.n_theta
        self.ZtW = (Z.multiply(w[:, None])).T.tocsr()
        self.XtWX = X.T @ (w[:, None] * X)
        self.log_det_W = float(np.sum(np.log(w)))
        self.start = layout.start(1.0)
        self.lower = layout.lower
        engine = "dense" if sparse is False or (sparse is None and self.q <= _SPARSE_MIN) else "blocked"
        if engine == "blocked":
            try:
                if structure is None:
                    structure = _blocked.BlockedStructure.from_blocks(layout.blocks, X, self.nobs, response=y,
                                                                      weights=w)
                    self._factor_blocked = _blocked.BlockedFactor(structure)
                else:   # made for this X and w (a profile's refit): the response is new
                    self._factor_blocked = _blocked.BlockedFactor(structure)
                    self._factor_blocked.set_weights_inplace(w, y)
                self._structure = structure
            except _blocked.BlockedUnsupported:
                engine = "splu"
        self.engine = engine
        self.sparse = engine != "dense"
        self.derivatives = "gradient" if engine == "dense" else "values"
        if engine == "blocked":
            return
        M = (self.ZtW @ Z)
        self.Qc = np.column_stack([self.ZtW @ X, self.ZtW @ y]) if self.p else (self.ZtW @ y)[:, None]
        if engine == "splu":
            self.M = M.tocsc()
            rows, cols, which = layout.lambda_indices()
            lam = sp.csc_matrix((np.arange(1, rows.size + 1, dtype=float), (rows, cols)), shape=(self.q, self.q))
            self._lind = which[lam.data.astype(np.intp) - 1]
            self._lam = lam
            self._eye = sp.identity(self.q, format="csc")
        else:
            self.M = M.toarray()

    @property
    def bounds(self):
        """(lower, upper) bounds of theta, as scipy.optimize.Bounds takes them."""
        return self.lower, np.full(self.n_theta, np.inf)

    def __repr__(self):
        kind = "REML criterion" if self.reml else "ML deviance"
        return f"LMMObjective({kind}, {self.n_theta} theta, q={self.q} random effects, {self.engine})"

    # -----------------------------------------------------------------------------------------------------
    def solve(self, theta):
        """The penalized least-squares solution and the criterion at `theta` (a :class:`_Solution`)."""
        theta = np.asarray(theta, dtype=float)
        if self.engine == "blocked":
            return self._solve_blocked(theta, snapshot=True)
        return self._solve(theta)[0]

    def __call__(self, theta):
        theta = np.asarray(theta, dtype=float)
        if self.engine == "blocked":
            return self._criterion_blocked(theta)
        return self._solve(theta)[0].criterion

    def value_and_grad(self, theta):
        """The criterion and its gradient with respect to theta."""
        theta = np.asarray(theta, dtype=float)
        if self.sparse:   # central differences (the optimizer uses values only: `derivatives`)
            value = self(theta)
            grad = np.empty_like(theta)
            for j in range(theta.size):
                h = 6e-6 * max(1.0, abs(theta[j]))
                step = np.zeros_like(theta)
                step[j] = h
                grad[j] = (self(theta + step) - self(theta - step)) / (2 * h)
            return value, grad
        sol, parts = self._solve(theta, gradient=True)
        return sol.criterion, parts

    def _factor(self, Ts, theta):
        """A's factor, log|A| and, for the dense gradient, M Lambda."""
        if self.engine == "splu":
            from scipy.sparse.linalg import splu

            self._lam.data = theta[self._lind]
            A = (self._lam.T @ self.M @ self._lam + self._eye).tocsc()
            lu = splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
            pivots = lu.U.diagonal()
            if not np.all(pivots > 0):
                raise np.linalg.LinAlgError("A is not positive definite")
            return ("sparse", lu), float(np.sum(np.log(pivots))), None
        N = right_lambda(self.M, Ts, self.layout.blocks)
        A = left_lambda_t(N, Ts, self.layout.blocks)
        A[np.diag_indices_from(A)] += 1.0
        L = cholesky(A)
        return ("dense", L), 2.0 * float(np.sum(np.log(np.diag(L)))), N

    # the blocked engine ---------------------------------------------------------------------------------
    def _update_blocked(self, theta):
        """Refill the blocked factor at `theta` (in place); raises LinAlgError where A is not positive definite."""
        factor = self._factor_blocked
        if factor.update_inplace(self.layout.factors(theta)) != 0:
            raise np.linalg.LinAlgError("A or R_X'R_X is not positive definite")
        return factor

    def _profiled(self, log_det_A, log_det_K, r2):
        """The ML deviance or REML criterion from the log-determinants and the penalized RSS."""
        if not r2 > 0:
            raise np.linalg.LinAlgError("the penalized residual sum of squares is 0")
        n, p = self.nobs, self.p
        if self.reml:   # log_det_K enters only here
            m = n - p
            return log_det_A + log_det_K + m * (1.0 + math.log(2.0 * math.pi * r2 / m)) - self.log_det_W
        return log_det_A + n * (1.0 + math.log(2.0 * math.pi * r2 / n)) - self.log_det_W

    def _penalized_rss(self, factor, theta):
        """(beta, u, b, r2) at the penalized least-squares solution of the factor at `theta`. r2 is summed from
        the residuals, as the dense engine does: the factor's last diagonal entry squared (``pwrss``) is
        y'Wy minus the part explained, which cancels to ~1e-13 relative (crit noise 1e-10 on lme4's crossed
        example, enough to stop a derivative-free method 2e-6 short of the optimum); the residuals cost one
        back substitution and a product with the sparse Z."""
        beta, u = factor.beta(), factor.u()
        b = lambda_u(u, self.layout.factors(theta), self.layout.blocks)
        residual = self.y - self.X @ beta - self.Z @ b
        return beta, u, b, float(np.dot(self.w * residual, residual) + np.dot(u, u))

    def _criterion_blocked(self, theta):
        factor = self._update_blocked(theta)
        log_det_K = factor.logdet_x() if self.reml else 0.0
        return self._profiled(factor.logdet_re(), log_det_K, self._penalized_rss(factor, theta)[3])

    def _solve_blocked(self, theta, snapshot=False):
        factor = self._update_blocked(theta)
        log_det_A, log_det_K = factor.logdet_re(), factor.logdet_x()
        beta, u, b, r2 = self._penalized_rss(factor, theta)
        criterion = self._profiled(log_det_A, log_det_K, r2)
        R = factor.x_factor()
        K = R @ R.T
        return _Solution(theta.copy(), criterion, beta, u, b, r2, log_det_A, log_det_K, K,
                         ("blocked", factor.copy() if snapshot else factor))

    @staticmethod
    def _apply_inverse(factor, rhs):
        kind, f = factor
        return f.solve(rhs) if kind == "sparse" else cho_solve(f, rhs)

    def _solve(self, theta, gradient=False):
        if self.engine == "blocked":
            return self._solve_blocked(theta), None
        Ts = self.layout.factors(theta)
        factor, log_det_A, N = self._factor(Ts, theta)
        if self.engine == "splu":
            rhs = np.asarray(self._lam.T @ self.Qc)
        else:
            rhs = left_lambda_t(self.Qc, Ts, self.layout.blocks)
        sol = self._apply_inverse(factor, rhs)
        p = self.p
        S, s, B, c = sol[:, :p], sol[:, p], rhs[:, :p], rhs[:, p]
        if p:
            K = self.XtWX - B.T @ S
            Kf = cholesky(K)
            log_det_K = 2.0 * float(np.sum(np.log(np.diag(Kf))))
            beta = cho_solve(Kf, self.X.T @ (self.w * self.y) - B.T @ s)
            u = s - S @ beta
        else:
            K, log_det_K, beta, u = np.zeros((0, 0)), 0.0, np.zeros(0), s
        b = lambda_u(u, Ts, self.layout.blocks)
        residual = self.y - self.X @ beta - self.Z @ b
        r2 = float(np.dot(self.w * residual, residual) + np.dot(u, u))
        criterion = self._profiled(log_det_A, log_det_K, r2)
        n = self.nobs
        solution = _Solution(theta.copy(), criterion, beta, u, b, r2, log_det_A, log_det_K, K, factor)
        if not gradient:
            return solution, None
        # d log|A| / d theta_j = 2 sum over positions (a, b) of theta_j in Lambda of (M Lambda A^-1)[a, b];
        # d r2 = -2 (Z'W residual)' Lambda_j u (envelope theorem);
        # d log|K| = -2 sum over positions of (G K^-1 S')[a, b], G = Z'WX - M Lambda S, S = A^-1 Lambda' Z'WX.
        A_inv = cho_inverse(factor[1])
        g = self.ZtW @ residual
        if self.reml and p:
            G = self.Qc[:, :p] - N @ S
            H = cho_solve(Kf, G.T).T
        grad = np.empty(self.n_theta)
        scale = (n - p if self.reml else n) / r2
        for lay in self.layout.blocks:
            L, q, rows, cols = lay.n_levels, lay.q, lay.rows, lay.cols
            Nk = N[lay.start:lay.stop].reshape(L, q, self.q)
            Ak = A_inv[:, lay.start:lay.stop].reshape(self.q, L, q)
            E = np.einsum("lrm,mlc->lrc", Nk, Ak)
            d_log_det_A = 2.0 * E[:, rows, cols].sum(axis=0)
            gk, uk = g[lay.start:lay.stop].reshape(L, q), u[lay.start:lay.stop].reshape(L, q)
            d_r2 = -2.0 * (gk[:, rows] * uk[:, cols]).sum(axis=0)
            grad[lay.theta] = d_log_det_A + scale * d_r2
            if self.reml and p:
                Hk, Sk = H[lay.start:lay.stop].reshape(L, q, p), S[lay.start:lay.stop].reshape(L, q, p)
                grad[lay.theta] -= 2.0 * (Hk[:, rows, :] * Sk[:, cols, :]).sum(axis=(0, 2))
        return solution, grad

    # -----------------------------------------------------------------------------------------------------
    def with_response(self, y):
        """The same model (X, Z, weights, terms, REML or ML, engine) on another response `y` (design row
        order, the offset included as in ``design.response``): the parametric bootstrap's refits. The blocked
        engine's symbolic analysis is reused; this objective is unchanged.

        Raises
        ------
        ValueError
            If `y` is not a finite vector of ``nobs`` values.
        """
        y = np.asarray(y, dtype=float)
        if y.shape != (self.nobs,) or not np.all(np.isfinite(y)):
            raise ValueError(f"`y` must be a finite vector of {self.nobs} values, got shape {y.shape}")
        new = copy.copy(self)
        offset = getattr(self, "offset", None)
        new._setup(y if offset is None else y - offset, self.w, self.X, self.Z, self.terms, self.reml,
                   self.engine != "dense", getattr(self, "_structure", None))
        return new

    def optimize_theta(self, start=None, **options):
        """:func:`optimize_theta` of this objective: its criterion minimized over theta from `start`, with
        that function's keyword `options` (``restarts``, ...). The refits of the bootstrap and of ``anova``
        call it through the objective they were given, not through this module."""
        return optimize_theta(self, start, **options)

    # -----------------------------------------------------------------------------------------------------
    def _with_fixed(self, j, value):
        """The ML objective with fixed effect j held at `value` (moved into the offset), for profiling.
        The blocked engine's symbolic analysis of the model without column j is made once per j."""
        new = copy.copy(self)
        keep = [k for k in range(self.p) if k != j]
        structure = None
        if self.engine == "blocked":
            cache = self._fixed_structures
            if j not in cache:
                try:
                    cache[j] = _blocked.BlockedStructure.from_blocks(self.layout.blocks, self.X[:, keep], self.nobs,
                                                                     weights=self.w)
                except _blocked.BlockedUnsupported:
                    cache[j] = None
            structure = cache[j]
        new._setup(self.y - self.X[:, j] * value, self.w, self.X[:, keep], self.Z, self.terms, False,
                   self.engine != "dense", structure)
        return new


# ---------------------------------------------------------------------------------------------------------
# stage 3: optimization of theta
# ---------------------------------------------------------------------------------------------------------
class ProfiledLikelihood:
    """A profiled LMM criterion as the objective of :func:`quadlib.glmm.optimize`: the log-likelihood
    ``-criterion / 2`` of theta (the ML or REML log-likelihood, beta and sigma profiled out).

    Parameters
    ----------
    objective : LMMObjective
    criterion : object, optional
        The criterion minimized, with ``value_and_grad(theta)`` and ``__call__`` (default `objective`
        itself; :func:`quadlib.glmm.pql` passes its unit-scale deviance).

    Notes
    -----
    Where the criterion cannot be computed (``A`` or ``R_X' R_X`` numerically singular, a zero residual sum
    of squares) the log-likelihood is -inf, which the optimizer avoids. ``derivatives`` is the objective's:
    the optimizer uses the gradient of the dense engine and values only on the others.
    """

    def __init__(self, objective, criterion=None):
        self.objective = objective
        self.criterion = objective if criterion is None else criterion
        self.derivatives = objective.derivatives
        self.layout = objective.layout
        self.names = objective.layout.names
        self.n_params = objective.n_theta
        self.bounds = objective.layout.bounds
        self.evaluations = 0

    def start(self):
        return self.objective.start.copy()

    def value_and_gradient(self, theta):
        self.evaluations += 1
        try:
            value, grad = self.criterion.value_and_grad(theta)
        except (np.linalg.LinAlgError, ValueError):   # A or R_X'R_X numerically singular, r2 = 0, ...
            return -np.inf, np.full(self.n_params, np.nan)
        return -0.5 * value, -0.5 * grad

    def log_likelihood(self, theta):
        self.evaluations += 1
        try:
            return -0.5 * self.criterion(theta)
        except (np.linalg.LinAlgError, ValueError):
            return -np.inf

    __call__ = log_likelihood


def optimize_theta(objective, start=None, *, criterion=None, restarts=3, progress=False):
    """Minimize an LMM criterion over theta: :func:`quadlib.glmm.optimize` of its
    :class:`ProfiledLikelihood` with lme4's constants (:data:`~quadlib.glmm._optimize.LMM_OPTIONS`).

    L-BFGS-B with the analytic (or central-difference) gradient runs until the criterion stops decreasing in
    floating point. Unless the projected gradient is then at rounding level (1e-10 relative to the
    criterion) or L-BFGS-B's inverse-Hessian estimate of the remaining step is below 1e-8 (relative to
    theta), Newton steps on the free parameters, with a central-difference Hessian of the gradient, polish
    theta; the size of the last step estimates the remaining error. Converged: a projected gradient at
    rounding level, or a last (estimated) step below 1e-6. The criterion is even in each diagonal entry of a
    Cholesky factor, so its gradient there is zero at 0 and L-BFGS-B can stop on the bound at a maximum along
    it (seen on cbpp's first PQL working model and on a weighted sleepstudy fit): where moving off the bound
    lowers the criterion, the fit restarts from there (at most `restarts` times). On the blocked and splu
    engines (``objective.derivatives == "values"``) COBYQA minimizes the criterion from its values alone,
    from trust-region radius 1 (0.05 from a given `start`) to 1e-7. `progress` prints a line per iteration
    that lowers the criterion (the derivative-free path) or every two seconds.

    Returns
    -------
    OptimizeOutcome
        ``x`` is theta, ``llf = -criterion / 2`` and ``history`` the log-likelihood after each iteration; it
        does not warn.
    """
    likelihood = ProfiledLikelihood(objective, criterion)
    return optimize(likelihood, likelihood.start() if start is None else start, max_iter=_MAX_ITER,
                    progress=progress, options=_lmm_options(_MAX_NEWTON, _MAX_ITER, restarts, start is not None))


@lru_cache(maxsize=8)
def _lmm_options(polish_steps, max_iter, restarts, warm=False):
    """LMM_OPTIONS with this module's bounds (read at each call: tests lower them), made once per setting.
    A warm start (a profile's refits, pql's and FOCE's iterations) begins COBYQA's trust region at radius
    0.05 instead of 1: on lme4's crossed random-slope example the profile's refits take 40 % fewer
    evaluations."""
    options = replace(LMM_OPTIONS, polish_steps=polish_steps, max_evaluations=5 * max_iter, restarts=restarts)
    return replace(options, initial_radius=_WARM_RADIUS) if warm else options


# ---------------------------------------------------------------------------------------------------------
# the public function
# ---------------------------------------------------------------------------------------------------------
def _lmm_iv(formula, data, reml, weights, offset, progress):
    for name, value in (("reml", reml), ("progress", progress)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"`{name}` must be True or False, got {value!r}")
    parsed = parse_formula(formula)
    if parsed.cbind is not None:
        raise ValueError("`formula`: a cbind(successes, failures) response is for binomial models, not `lmm`")
    if hasattr(data, "columns"):  # build_design checks the type; formulae would dummy-code a string response
        import pandas as pd

        for name in identifiers(parsed.response):
            if name in data.columns and not (pd.api.types.is_numeric_dtype(data[name])
                                             or pd.api.types.is_bool_dtype(data[name])):
                raise TypeError(f"`formula`: the response column {name!r} must be numeric, got dtype "
                                f"{data[name].dtype}")
    design = build_design(formula, data, weights=weights, offset=offset)
    check_identifiable(design, parsed.random)
    return design, bool(reml), bool(progress)


def check_identifiable(design, specs):
    """lmer's checks that a linear mixed model's residual variance can be estimated (also for
    ``fit(..., family="gaussian")``); `specs` are the formula's random terms (``parse_formula(f).random``).

    The checks of the random-effect design are lme4's (:func:`quadlib.glmm._design.check_random_effects`:
    a grouping factor with a single level, as many levels as observations, a term with as many random effects
    as observations, and a warning naming the terms of a rank-deficient Z), the last one first, in this
    module's words with lme4's message; the warning names the user's line.

    Raises
    ------
    ValueError
        If the observations do not outnumber the random effects of a term (lme4: "number of observations (=n)
        <= number of random effects (=q) for term ...") or the fixed effects, a grouping factor has a single
        level, or the fixed effects fit the response exactly (e.g. a constant response).

    Warns
    -----
    UserWarning
        When Z is rank deficient (a term given twice, a slope constant within every level, ...).
    """
    if design.weights is not None and not np.all(design.weights > 0):
        raise ValueError("`weights` must be positive")
    n = design.nobs
    for term, spec in zip(design.terms, specs):
        n_re = term.q * term.n_levels
        if n <= n_re:
            raise ValueError(f"`data`: the number of observations ({n}) is not larger than the number of random "
                             f"effects ({n_re}) of the term {spec}: its variance and the residual variance cannot "
                             f"both be estimated (lme4: number of observations (={n}) <= number of random effects "
                             f"(={n_re}) for term {spec}; the random-effects parameters and the residual variance "
                             "(or scale parameter) are probably unidentifiable)")
    check_random_effects(design, specs, residual=True)
    if n <= design.X.shape[1]:
        raise ValueError(f"`data`: the number of observations ({n}) must exceed the number of fixed effects "
                         f"({design.X.shape[1]})")
    y = design.response - design.offset
    if design.X.shape[1]:
        beta = np.linalg.lstsq(design.X, y, rcond=None)[0]
        y = y - design.X @ beta
    if np.linalg.norm(y) <= 1e-12 * max(np.linalg.norm(design.response), 1e-300):
        raise ValueError("`formula`: the fixed effects fit the response exactly (e.g. a constant response): there "
                         "is no variance left to estimate")


def lmm(formula, data, *, reml=True, weights=None, offset=None, progress=False):
    """Fit a linear mixed model by REML or maximum likelihood, as lme4's ``lmer``.

    Parameters
    ----------
    formula : str
        lme4 syntax: ``"Reaction ~ Days + (Days | Subject)"``, uncorrelated ``(x || g)``, crossed
        ``(1 | a) + (1 | b)``, nested ``(1 | a/b)``; any number of random terms.
    data : pandas.DataFrame
    reml : bool, default True
        Restricted maximum likelihood (lme4's default) or maximum likelihood.
    weights, offset : array_like or str, optional
        Prior weights (the residual variance of row i is ``sigma^2 / weights[i]``) and an offset, or the names
        of columns of `data`.
    progress : bool, default False
        Print a line per optimizer iteration that lowers the criterion (for long fits: several grouping factors
        with many levels), with the evaluations and seconds so far.

    Returns
    -------
    LMMResult

    Warns
    -----
    ConvergenceWarning
        If theta is not converged (``converged=False``): on the dense engine, the last polishing Newton step
        is above 1e-6 (relative) and the gradient is not at rounding level; on the others, COBYQA did not
        shrink its trust region to 1e-7 within its evaluations.
    UserWarning
        "boundary (singular) fit" when a random term's covariance is singular (a relative standard deviation below 1e-4,
        lme4's ``isSingular``): the fit is valid, on the boundary of the parameter space.
        "ill-conditioned fit" when a relative standard deviation (theta) exceeds 1e5: the residual variance is
        nearly 0 and the criterion has lost precision.
        "the random-effect matrix is rank deficient" naming the terms (a term given twice, a slope constant
        within every level of its factor, ...): lme4 fits these silently.

    Raises
    ------
    ValueError
        lme4's checks (:func:`check_identifiable`): a grouping factor with a single level, as many random
        effects in a term as observations (lme4's message), a response the fixed effects fit exactly.

    Notes
    -----
    Only the relative covariance parameters theta are optimized; beta and sigma are profiled out in
    closed form (see the module docstring). With few random effects (q <= 250) ``A`` is a dense matrix and
    the gradient of the criterion is analytic (L-BFGS-B, then Newton steps). With more, ``A`` is factored by
    the blocked engine of several grouping factors (crossed, nested or partially crossed, as lme4 and
    MixedModels.jl do it; InstEval's 4128 random effects take about 20 ms per evaluation) and theta is
    optimized by COBYQA from the criterion's values alone; conditional variances come from the factor's
    diagonal blocks, never from a q x q inverse. A model whose dense blocks would exceed 2 GiB (a second
    grouping factor with of the order of 15,000 levels crossed with the first) falls back to a sparse LU.
    Standard errors are lme4's ``vcov``: ``sigma^2 (X' V^-1 X)^-1`` at the estimates (conditional on theta).

    References
    ----------
    D. Bates, M. Maechler, B. Bolker and S. Walker, "Fitting linear mixed-effects models using lme4",
    Journal of Statistical Software 67(1), 2015, section 3.

    Examples
    --------
    >>> from quadlib.glmm import datasets
    >>> fit = lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> fit.params.round(4).tolist(), round(fit.sigma, 4)
    ([251.4051, 10.4673], 25.5918)
    >>> fit.sd_re["Subject"].round(4).tolist(), round(fit.reml_criterion, 4)
    ([24.7405, 5.9221], 1743.6283)
    """
    design, reml, progress = _lmm_iv(formula, data, reml, weights, offset, progress)
    objective = LMMObjective(design, reml)
    with blas_controller().limit(limits=1, user_api="blas"):  # small dense algebra: see _optimize.py
        outcome = optimize_theta(objective, progress=progress)
        result = LMMResult.from_fit(design=design, objective=objective, optimum=outcome, data=data, offset=offset,
                                    optimizer=partial(optimize_theta, restarts=0))
    if not result.converged:
        warnings.warn(f"lmm: the optimizer did not converge ({outcome.message})", ConvergenceWarning, stacklevel=2)
    if np.max(np.abs(result.theta), initial=0.0) > _ILL_CONDITIONED:
        warnings.warn(f"ill-conditioned fit: a random-effect standard deviation is {np.max(np.abs(result.theta)):.3g} "
                      "times the residual one (the random effects fit the response almost exactly); the estimates "
                      "have lost precision", UserWarning, stacklevel=2)
    if result.singular:
        warn_singular()
    return result
