"""Restricted maximum likelihood (REML) for GLMMs, as glmmTMB defines it: :class:`REMLObjective`.

glmmTMB's ``REML = TRUE`` adds the fixed effects beta to TMB's random effects: the Laplace approximation then
integrates (u, beta) jointly, beta under a flat prior. With params x' = (theta, aux) (aux: the dispersion and
any other parameters outside the linear predictor) and h(u, beta) = sum_i log p(y_i | eta_i) - |u|^2 / 2,

    llf_REML(x') = h(u*, beta*) - log|I + Lambda'Z'WZ Lambda| / 2 - log|R_X'R_X| / 2 + (p / 2) log(2 pi),

(u*, beta*) the joint mode and W = -d^2 log p / d eta^2 there; ``R_X'R_X = X'WX - X'WZ Lambda (Lambda'Z'WZ
Lambda + I)^-1 Lambda'Z'WX`` is the Schur complement of the joint negative Hessian, so the two determinants
are that of the joint Hessian of (u, beta). For the gaussian family this is exactly lmer's REML
log-likelihood (the Laplace approximation is exact and beta's integral is a gaussian one). The joint mode and
the first two terms are :class:`~quadlib.glmm._blocked_laplace.BetaProfiledLaplace`'s (lme4's nAGQ = 0 stage,
which runs PIRLS over (u, beta) on the blocked Cholesky factor with the fixed effects as its last block); the
factor also holds ``log|R_X'R_X|`` (:meth:`~quadlib.glmm._blocked.BlockedFactor.logdet_x`).

As glmmTMB (``mkTMBStruc``: ``if (REML) randomArg <- c(randomArg, "beta")``), only the conditional model's
fixed effects are integrated: the zero-inflation coefficients, the dispersion model's and the shapes (t's df,
tweedie's power) are coordinates of x', maximized with theta.

Rows that are not log-concave. For NB1, beta, beta-binomial, truncated NB2, student_t and zero-inflated rows,
``w = -d2`` can be negative (large counts, outlying t residuals, zeros the zero-inflation explains), so
lme4's PIRLS, whose working weights must be positive, does not apply. The mode search here
(``BetaProfiledLaplace.modified_newton``) takes, at each step, Newton's step with the observed weights when the
blocked factor of the joint negative Hessian exists (it is positive definite: an ascent direction), and
otherwise the step with each row's ``|d2|`` (a positive definite stand-in: still an ascent direction for the
step halving; Newton's step again once near a concave mode, so convergence stays quadratic there). The value
always uses the observed Hessian at the mode, which is what TMB's Laplace approximation computes; a mode where
it is not negative definite (the factor fails) is a value of -inf with the reason in ``profiled.last``, never an
exception.

The fixed effects reported are beta* at the optimum (glmmTMB's REML estimates: the mode of the joint
integrand, for the gaussian family lmer's GLS estimate). Their covariance (:meth:`REMLObjective.covariance`) is
glmmTMB's, ``vcov(m)$cond`` under ``REML = TRUE``: beta's block of TMB's ``sdreport`` for random effects,
``solve(jointPrecision)``, which adds the outer parameters' uncertainty to the covariance given them,

    Cov(beta) = (L_X L_X')^-1 + J V J',    Cov(beta, x') = J V,

``(L_X L_X')^-1`` the beta block of the inverse joint negative Hessian of (u, beta) at the mode
(:meth:`REMLObjective.beta_covariance`, L_X the factor's fixed-effects block with the observed weights there: the
Schur complement's inverse, which is glmmTMB's ``solve(H_rr)`` beta block whatever the scale of u),
``J = d beta*/d x'`` by central differences of the joint mode (:meth:`REMLObjective.mode_jacobian`) and V the
covariance of x' from the optimizer's Hessian of the REML criterion (the outcome's). This holds for every family,
the gaussian one included: ``fit(..., family="gaussian", reml=True)`` has glmmTMB as its peer and reports its
standard errors, which exceed lmer's REML ``vcov`` (``sigma^2 (R_X'R_X)^-1``, conditional on theta: the first
term alone) wherever beta* moves with theta (J = 0 only where GLS is OLS, as in the balanced sleepstudy).
:func:`quadlib.glmm.lmm` ``(..., reml=True)`` is lme4's peer and keeps lmer's conditional ``vcov``.

Scope. The Laplace approximation only (adaptive Gauss–Hermite over beta as well would need a (q + p)-variate
rule); every family but the ordinal one (:data:`REML_FAMILIES`; its thresholds play the intercept's part, and
neither peer defines ordinal REML: glmmTMB has no cumulative-link family, ordinal::clmm no REML). The
objective is evaluated by values only (``derivatives = "values"``): :func:`fit_reml` maximizes it with COBYQA
and one Newton step on value differences, as the second stage of a fit with several grouping factors.

Bounds. One evaluation is one joint mode search (at most ``MAX_PIRLS`` Newton steps of at most
``MAX_HALVINGS`` halvings, and at most two factorizations per step, :mod:`quadlib.glmm._blocked_laplace`); a
failed search is a value of -inf, never an exception.

References
----------
D. Bates, M. Maechler, B. Bolker and S. Walker, "Fitting linear mixed-effects models using lme4", Journal of
Statistical Software 67(1), 2015, section 3.4 (the REML criterion) and 3.6 (PIRLS).
M. E. Brooks et al., "glmmTMB balances speed and flexibility among packages for zero-inflated generalized
linear mixed modeling", The R Journal 9(2), 2017 (``REML = TRUE``: beta integrated by the Laplace
approximation).
D. A. Harville, "Bayesian inference for variance components using only error contrasts", Biometrika 61
(1974), 383-385 (REML as the marginal likelihood under a flat prior on beta).
"""
from dataclasses import replace
import math

import numpy as np

from ._blocked_laplace import BetaProfiledLaplace, BlockedLaplaceObjective
from ._inference import covariance_over_free
from ._objective import Objective, gradient_path
from ._optimize import GLMM_OPTIONS, optimize, value_gradient

__all__ = ["REMLObjective", "REML_OPTIONS", "REML_FAMILIES", "fit_reml"]

_LOG_2PI = math.log(2.0 * math.pi)
# PIRLS to a tighter relative decrement than the nAGQ = 0 stage, and the full step after it: the REML value
# is compared with lmer's and glmmTMB's to 1e-9
_REML_PIRLS_TOL = 1e-14
# relative step of d beta*/d x': the mode is good to about 1e-12 (PIRLS to _REML_PIRLS_TOL), so the central
# differences' rounding (1e-12 / h) and truncation (h^2) errors are both near 1e-8
_JACOBIAN_STEP = 1e-4
# COBYQA to a trust radius of 1e-6, then one Newton step on value differences (the Hessian's stencil)
REML_OPTIONS = replace(GLMM_OPTIONS, initial_radius=0.2, final_radius=1e-6, value_polish_steps=1)
# every family but the ordinal one (module notes: the mode search of rows that are not log-concave)
REML_FAMILIES = ("gaussian", "binomial", "bernoulli", "poisson", "negative_binomial", "Gamma", "tweedie",
                 "truncated_poisson", "negative_binomial1", "truncated_negative_binomial", "beta", "beta_binomial",
                 "student_t")
_REFUSED_FAMILIES = {"ordinal": "its thresholds take the intercept's place and are not integrated, and neither "
                                "peer defines it (glmmTMB has no cumulative-link family, ordinal::clmm no REML)"}


def _check_reml_model(design, family, integrator):
    """The models REML is defined for here (module notes), ValueErrors naming the argument otherwise."""
    if gradient_path(integrator) != "laplace":
        raise ValueError("`reml`: REML is computed with the Laplace approximation only (beta is integrated "
                         "with the random effects); use method='laplace'")
    if family.name in _REFUSED_FAMILIES:
        raise ValueError(f"`reml`: REML is not available for the {family.name} family: "
                         f"{_REFUSED_FAMILIES[family.name]}")
    if family.name not in REML_FAMILIES:
        raise ValueError(f"`reml`: REML is not available for the {family.name} family; it is available for "
                         f"{', '.join(REML_FAMILIES)}")
    if design.X.shape[1] == 0:
        raise ValueError("`reml`: the model has no fixed effects: REML and maximum likelihood coincide (use "
                         "reml=False)")


class REMLObjective:
    """The REML log-likelihood of a GLMM over x' = (theta, aux), beta integrated with the random effects by
    the Laplace approximation (module notes); the protocol of :func:`quadlib.glmm.optimize` with
    ``derivatives = "values"``.

    Parameters
    ----------
    design : Design
    family : str or Family
    integrator : object, optional
        The Laplace integrator (default); anything else is refused.
    link : str, optional
    response : None
        Reserved (the design note's signature): the response model (a dispersion formula's) is built from
        the design, as :class:`~quadlib.glmm.Objective` builds it.

    Attributes
    ----------
    names, n_params, bounds, layout
        Those of theta and aux (the model's parameters after beta).
    laplace : BlockedLaplaceObjective
        The model's Laplace objective over all parameters (beta, theta, aux), built on the blocked factor for
        any number of grouping factors.
    profiled : BetaProfiledLaplace
        The joint PIRLS over (u, beta) and its factor.
    design, family, integrator, n_beta
        The model's.

    Raises
    ------
    ValueError
        An integrator other than the Laplace approximation, the ordinal family, or no fixed effects (REML is
        ML then).

    Examples
    --------
    >>> from quadlib.glmm import build_design, datasets, optimize
    >>> design = build_design("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> objective = REMLObjective(design, "gaussian")
    >>> objective.names[-2:]
    ['theta[Subject: Days, Days]', 'log(sigma)']
    >>> outcome = fit_reml(objective)
    >>> round(outcome.llf, 6)     # lmer(REML = TRUE): -871.8141359792453
    -871.814136
    >>> objective.fixed_effects(outcome.x).round(6).tolist()     # lmer: 251.405105, 10.467286
    [251.405105, 10.467286]
    """

    derivatives = "values"
    reml = True

    def __init__(self, design, family="binomial", integrator=None, *, link=None, response=None):
        from .._integrators import Laplace
        from ._families import make_family

        if response is not None:
            raise ValueError("`response`: the response model comes from the design (build_design's `ziformula` and "
                             "`dispformula`); pass None")
        integrator = Laplace() if integrator is None else integrator
        fam = make_family(family, link)
        _check_reml_model(design, fam, integrator)
        self._arguments = (design, fam, integrator)
        self.laplace = BlockedLaplaceObjective(design, fam, integrator)
        self.profiled = BetaProfiledLaplace(self.laplace)
        self.profiled.tolerance = _REML_PIRLS_TOL
        self.profiled.final_step = True    # the factor at the mode to rounding: log|C| and log|R_X'R_X| there
        self.profiled.modified_newton = True     # rows that are not log-concave (module notes)
        self.names = self.profiled.names
        self.n_params = self.profiled.n_params
        self.bounds = self.profiled.bounds
        self.layout = self.profiled.layout
        self._model = None

    # --------------------------------------------------------------------------------------- the model
    @property
    def design(self):
        return self.laplace.design

    @property
    def family(self):
        return self.laplace.family

    @property
    def integrator(self):
        return self.laplace.integrator

    @property
    def n_beta(self):
        return self.laplace.n_beta

    @property
    def y(self):
        return self.laplace.y

    @property
    def n(self):
        return self.laplace.n

    @property
    def response(self):
        """The response model (zero-inflation, dispersion model, shapes): the model objective's."""
        return self.laplace.response

    @property
    def evaluations(self):
        return self.profiled.evaluations

    def __repr__(self):
        return (f"REMLObjective({self.family!r}, {self.n_params} parameters (beta integrated), "
                f"{self.design.nobs} rows)")

    def model_objective(self):
        """The model's maximum-likelihood objective over (beta, theta, aux) (:func:`make_objective`'s, made
        once): what a REML result predicts, simulates and computes random effects with."""
        if self._model is None:
            design, fam, integrator = self._arguments
            self._model = Objective(design, fam, integrator)
        return self._model

    def rebuild(self, design):
        """This objective for another design of the same model (a profile's)."""
        _, fam, integrator = self._arguments
        return REMLObjective(design, fam, integrator)

    def start(self):
        """theta and aux of the model's start (:meth:`Objective.start`)."""
        return self.profiled.start()

    def reset_warm_start(self):
        self.profiled.reset_warm_start()

    def check_response(self):
        self.laplace.check_response()

    def separation(self):
        return self.laplace.separation()

    # -------------------------------------------------------------------------------------------- values
    def log_likelihood(self, x):
        """The REML log-likelihood at x' = (theta, aux) (module notes); -inf where the joint PIRLS fails."""
        value = self.profiled.log_likelihood(x)
        if not math.isfinite(value):
            return -np.inf
        total = value - 0.5 * self.profiled.factor.logdet_x() + 0.5 * self.n_beta * _LOG_2PI
        return float(total) if math.isfinite(total) else -np.inf

    __call__ = log_likelihood

    def value_and_gradient(self, x):
        """The value and its central differences (relative step 1e-6); only for a gradient method asked for
        by name."""
        return value_gradient(self, x)

    def _at(self, x):
        """Evaluate at x (the factor then holds the joint mode); beta there, or None."""
        if not math.isfinite(self.log_likelihood(x)):
            return None
        return self.profiled.warm_beta.copy()

    def fixed_effects(self, x):
        """beta at the joint mode of (u, beta) at x' (glmmTMB's REML estimates; lmer's GLS estimate for the
        gaussian family); None where there is none."""
        return self._at(x)

    def beta_covariance(self, x):
        """``(L_X L_X')^-1`` at the joint mode at x' (p x p): the covariance of beta given x' (lmer's REML
        ``vcov`` for the gaussian family; glmmTMB's ``solve(H_rr)`` beta block), NaN where it cannot be
        computed. The reported covariance adds x''s uncertainty (:meth:`covariance`)."""
        p = self.n_beta
        if self._at(x) is None:
            return np.full((p, p), np.nan)
        L = self.profiled.factor.x_factor()
        try:
            inverse = np.linalg.inv(L)
        except np.linalg.LinAlgError:
            return np.full((p, p), np.nan)
        covariance = inverse.T @ inverse
        return covariance if np.all(np.isfinite(covariance)) else np.full((p, p), np.nan)

    def mode_jacobian(self, x, columns=None):
        """``J = d beta*/d x'`` (p x n_params) by central differences of the joint mode at x', steps
        ``_JACOBIAN_STEP * max(1, |x_k|)`` (one-sided, from x, where the central step would cross a bound).

        Parameters
        ----------
        x : array_like
            x' = (theta, aux).
        columns : array_like of bool, optional
            The parameters to differentiate in (default all); the other columns are NaN.

        Returns
        -------
        ndarray
            NaN in a column where the joint mode fails at a step.

        Notes
        -----
        Bound: two evaluations (joint mode searches) per column, plus one at x in all if a column is one-sided
        (its error then O(h), not O(h^2): a parameter within a step of its bound). The warm start then holds
        the last step's mode: evaluate at x again before reading the factor.
        """
        x = np.asarray(x, dtype=float)
        k, p = self.n_params, self.n_beta
        columns = np.ones(k, bool) if columns is None else np.asarray(columns, bool)
        J = np.full((p, k), np.nan)
        centre = None
        for j in np.flatnonzero(columns):
            h = _JACOBIAN_STEP * max(1.0, abs(x[j]))
            lower, upper = self.bounds[j]
            ends = [x[j] - h, x[j] + h]
            if lower is not None and ends[0] < lower:
                ends[0] = x[j]
            if upper is not None and ends[1] > upper:
                ends[1] = x[j]
            if ends[0] == ends[1]:
                continue
            modes = []
            for end in ends:
                if end == x[j]:
                    if centre is None:
                        centre = self._at(x)
                    modes.append(centre)
                    continue
                step = x.copy()
                step[j] = end
                modes.append(self._at(step))
            if modes[0] is not None and modes[1] is not None:
                J[:, j] = (modes[1] - modes[0]) / (ends[1] - ends[0])
        return J

    def covariance(self, outcome):
        """The covariance of the model's parameters (beta, x') at a REML optimum (module notes: glmmTMB's under
        ``REML = TRUE``): ``Cov(beta) = (L_X L_X')^-1 + J V J'``, ``Cov(beta, x') = J V``, ``Cov(x') = V``.

        Parameters
        ----------
        outcome : OptimizeOutcome
            :func:`fit_reml`'s (or :func:`~quadlib.glmm.optimize`'s) over x' = (theta, aux): its optimum and
            Hessian, whose inverse over the free parameters is V (NaN in the rows of parameters held at a
            bound, which then add nothing to beta's covariance: their uncertainty is not estimated).

        Returns
        -------
        ndarray
            (p + n_params) square; beta's rows are NaN when V is (a singular Hessian: no Wald inference) or
            J cannot be computed.

        Notes
        -----
        Bound: at most two joint mode searches per free parameter (:meth:`mode_jacobian`) and one at the optimum.

        Examples
        --------
        >>> from quadlib.glmm import build_design, datasets
        >>> design = build_design("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"))
        >>> objective = REMLObjective(design, "binomial")
        >>> outcome = fit_reml(objective)
        >>> se = np.sqrt(np.diag(objective.covariance(outcome))[:4])
        >>> se.round(6).tolist()     # glmmTMB(REML = TRUE): 0.2376397346 0.3055017685 0.3254787286 0.4264868187
        [0.23764, 0.305502, 0.325479, 0.426487]
        """
        x = np.asarray(outcome.x, dtype=float)
        p, k = self.n_beta, self.n_params
        V = covariance_over_free(outcome, k)
        out = np.full((p + k, p + k), np.nan)
        out[p:, p:] = V
        free = np.isfinite(np.diag(V))
        if not free.any():
            return out
        J = self.mode_jacobian(x, free)[:, free]
        conditional = self.beta_covariance(x)     # last: the factor then holds the mode at x
        Vf = V[np.ix_(free, free)]
        cross = J @ Vf
        beta_block = conditional + cross @ J.T
        if not (np.all(np.isfinite(beta_block)) and np.all(np.isfinite(cross))):
            return out
        out[:p, :p] = 0.5 * (beta_block + beta_block.T)
        out[:p, p:][:, free] = cross
        out[p:, :p][free, :] = cross.T
        return out

    def full_params(self, x):
        """(beta at the joint mode, theta, aux): the model's parameter vector at x' (NaN beta where there is
        no joint mode)."""
        beta = self._at(x)
        if beta is None:
            beta = np.full(self.n_beta, np.nan)
        return np.concatenate([beta, np.asarray(x, dtype=float)])


def fit_reml(objective, *, max_iter=1000, verbose=False, progress=False, options=None):
    """Maximize a :class:`REMLObjective` (COBYQA, :data:`REML_OPTIONS`; the Hessian over x' from value
    differences): the :class:`~quadlib.glmm.OptimizeOutcome` over x' = (theta, aux). ``objective.
    full_params(outcome.x)`` gives the model's parameters, :class:`~quadlib.glmm.GLMMResult` the result.

    Examples
    --------
    >>> from quadlib.glmm import GLMMResult, build_design, datasets
    >>> design = build_design("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"))
    >>> objective = REMLObjective(design, "binomial")
    >>> result = GLMMResult(objective, fit_reml(objective), "Laplace Approximation", design.formula)
    >>> round(result.llf, 6), result.reml          # glmmTMB(REML = TRUE): -93.1990671011
    (-93.199067, True)
    """
    return optimize(objective, max_iter=max_iter, verbose=verbose, progress=progress,
                    options=REML_OPTIONS if options is None else options)
