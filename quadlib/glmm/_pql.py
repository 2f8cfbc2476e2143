"""Penalized quasi-likelihood (PQL): a GLMM fitted by iterated working linear mixed models, :func:`pql`.

PQL (Breslow and Clayton 1993; MASS::glmmPQL's algorithm) linearizes the model around the current linear
predictor ``eta`` and fits the working linear mixed model

    z = X beta + Z b + e,   z = eta - offset + (y - mu) d eta/d mu,   Var(e_i) = sigma^2 / w_i,
    w_i = prior_weight_i (d mu/d eta)^2 / V(mu_i),

with the core's closed-form LMM machinery (:class:`LMMObjective` and its optimizer, by maximum likelihood as
glmmPQL's ``lme(method = "ML")``), then updates ``eta = X beta + Z b + offset`` with the fixed effects and
the conditional modes (BLUPs) ``b`` and repeats until the fixed effects settle.

``z`` and ``w`` come from the family's compiled kernel (:meth:`Family.terms`) rather than a table of
``mu.eta`` functions: the log-density is affine in y, so its first derivative in eta is
``d1 = n (y - mu) mu' / V`` and minus its second derivative at ``y = E[y]`` is the Fisher weight
``n mu'^2 / V``; ``d1 / w`` is then the working residual ``(y - mu) / mu'``. The unit dispersion (phi = 1)
gives R's variance functions (gaussian 1, Gamma mu^2).

Dispersion. ``"estimate"`` (glmmPQL's default): the residual variance ``sigma^2`` of the working LMM,
profiled out as :func:`lmm` does, is the quasi-likelihood dispersion. ``"fixed"``: ``sigma = 1``, as
glmmPQL with ``control = lmeControl(sigma = 1)``. With sigma fixed only beta profiles out of the ML deviance:
for a given theta the penalized least-squares solution ``(beta, u)`` of :class:`LMMObjective` is unchanged
and the deviance is

    d_1(theta) = log|A| + r2 + n log(2 pi) - sum(log w)

instead of the profiled ``log|A| + n (1 + log(2 pi r2 / n)) - sum(log w)``. :class:`_UnitScale` builds
``d_1`` from :meth:`LMMObjective.solve`'s pieces and its gradient from the profiled one:
``grad d_1 = grad d + (1 - n / r2) grad r2``, with ``d r2 / d theta_j = -2 (Z'W r)' Lambda_j u``
(the envelope theorem: r2 is minimal in (beta, u)). The core's optimizer minimizes it.

PQL has no likelihood: ``llf`` (and AIC, BIC, the deviance) are NaN, as glmmPQL reports ``logLik = NA``.
"""
from dataclasses import replace
from functools import partial
import math
import warnings

import numpy as np

from .. import _validation as v
from ._design import build_design, normalize_response
from ._linalg import cho_inverse, cholesky
from ._lmm import LMMObjective, LMMResult, optimize_theta
from ._families import make_family
from ._objective import check_response, glm_start, separation, separation_message
from ._optimize import ConvergenceWarning, blas_controller, warn_singular
from ._pql_result import PQLResult

__all__ = ["pql", "PQLResult"]

_SAME_DATA = 1e-13   # working data that moved less than this (relative) repeat the last working LMM
_MAX_ITER_LIMIT = 10_000   # the largest `max_iter`: working LMMs, each a full LMM fit


# ---------------------------------------------------------------------------------------------------------
# the working model
# ---------------------------------------------------------------------------------------------------------
def _working_data(family, y, n, eta, offset):
    """The working response (offset removed) and weights at the linear predictor `eta`."""
    mu = family.inverse_link(eta)
    expected = n * mu if family.name in ("binomial", "bernoulli") else mu
    phi = 1.0 if family.has_dispersion else None
    d1 = family.terms(y, n, eta, phi, order=1).d1
    w = -family.terms(expected, n, eta, phi, order=2).d2
    # a weight that underflows (|eta| of several hundred) would make log(w) -inf in the LMM's criterion:
    # the smallest normal number keeps the row in the fit at no weight
    w = np.maximum(w, np.finfo(float).tiny)
    return eta - offset + d1 / w, w


class _UnitScale:
    """The ML deviance of a working LMM with the residual SD held at 1 (see the module notes).

    The LMM optimizer (:func:`quadlib.glmm._lmm.optimize_theta`, its `criterion`) needs ``value_and_grad`` and
    ``__call__``.
    """

    def __init__(self, objective):
        if objective.reml:
            raise ValueError("the unit-scale criterion is the ML deviance")
        self.objective = objective
        self.constant = objective.nobs * math.log(2.0 * math.pi) - objective.log_det_W

    def criterion(self, solution):
        return solution.log_det_A + solution.r2 + self.constant

    def __call__(self, theta):
        return self.criterion(self.objective.solve(theta))

    def value_and_grad(self, theta):
        theta = np.asarray(theta, dtype=float)
        if self.objective.sparse:  # the core's central differences
            grad = self.objective.value_and_grad(theta)[1]
            solution = self.objective.solve(theta)
        else:
            solution, grad = self.objective._solve(theta, gradient=True)
        return self.criterion(solution), grad + (1.0 - self.objective.nobs / solution.r2) * self.r2_gradient(
            solution)

    def r2_gradient(self, solution):
        """d r2 / d theta at the penalized least-squares solution (envelope theorem)."""
        o = self.objective
        g = o.ZtW @ (o.y - o.X @ solution.beta - o.Z @ solution.b)
        out = np.empty(o.n_theta)
        for lay in o.layout.blocks:
            gk = g[lay.start:lay.stop].reshape(lay.n_levels, lay.q)
            uk = solution.u[lay.start:lay.stop].reshape(lay.n_levels, lay.q)
            out[lay.theta] = -2.0 * (gk[:, lay.rows] * uk[:, lay.cols]).sum(axis=0)
        return out


def _fit_working(design, z, w, dispersion, theta, data, offset):
    """The working LMM ``z ~ X + random terms`` with weights `w`, by ML, started at `theta`."""
    # the offset stays in the design (so predictions carry it) and is added to z, which the LMM subtracts
    working = replace(design, response=z + design.offset, trials=None, weights=w)
    objective = LMMObjective(working, reml=False)
    criterion = None if dispersion == "estimate" else _UnitScale(objective)
    optimum = optimize_theta(objective, theta, criterion=criterion)
    result = LMMResult.from_fit(design=working, objective=objective, optimum=optimum, data=data, offset=offset,
                                optimizer=optimize_theta)
    if dispersion == "fixed":
        solution = objective.solve(optimum.x)
        covariance = cho_inverse(cholesky(solution.K)) if objective.p else np.zeros((0, 0))
        result = replace(result, sigma=1.0, covariance=covariance, llf=optimum.llf)
    return result, objective, optimum


# ---------------------------------------------------------------------------------------------------------
# the public function
# ---------------------------------------------------------------------------------------------------------
def _pql_iv(formula, data, family, link, weights, offset, dispersion, max_iter, tol, start, verbose):
    dispersion = v.choice(dispersion, ("estimate", "fixed"), "dispersion")
    max_iter = v.positive_int(max_iter, "max_iter", maximum=_MAX_ITER_LIMIT)
    tol = v.real_scalar(tol, "tol")
    if not tol > 0:
        raise ValueError(f"`tol` must be positive, got {tol}")
    if not isinstance(verbose, (bool, np.bool_)):
        raise TypeError(f"`verbose` must be True or False, got {verbose!r}")
    design = build_design(formula, data, weights=weights, offset=offset)
    # the response as (y, n): cbind, a proportion with weights, 0/1, counts; validated against the family
    fam = make_family(family, link)
    y, n = normalize_response(design, fam)
    if fam.name == "negative_binomial":
        raise ValueError("`family`: PQL needs a variance function without unknown parameters; the negative "
                         "binomial's theta is estimated (use method='laplace' or 'agq')")
    check_response(fam, y, n, design)
    p = design.X.shape[1]
    if start is None:
        beta = glm_start(fam, y, n, design)
    else:
        try:
            beta = np.asarray(start, dtype=float)
        except (TypeError, ValueError):
            raise TypeError("`start` must be an array of numbers (the fixed effects)") from None
        if beta.shape != (p,):
            raise ValueError(f"`start` must have {p} values (the fixed effects {', '.join(design.fixed_names)}), "
                             f"got shape {beta.shape}")
        if not np.all(np.isfinite(beta)):
            raise ValueError("`start` must be finite")
    if dispersion == "estimate":
        q = sum(term.q * term.n_levels for term in design.terms)
        if design.nobs <= q + p:
            raise ValueError(f"the number of observations ({design.nobs}) must exceed the number of random and "
                             f"fixed effects ({q + p}) to estimate the dispersion; use dispersion='fixed'")
    return design, fam, y, n, beta, dispersion, max_iter, tol, bool(verbose)


def pql(formula, data, *, family="binomial", link=None, weights=None, offset=None, dispersion="estimate",
        max_iter=50, tol=1e-8, start=None, verbose=False):
    """Fit a generalized linear mixed model by penalized quasi-likelihood (MASS::glmmPQL's algorithm).

    Parameters
    ----------
    formula : str
        lme4 syntax, as :func:`quadlib.glmm.fit` takes it (``cbind``, random slopes, ``||``, nested and
        crossed factors, ``offset(...)``).
    data : pandas.DataFrame
    family : str or Family
        ``"binomial"`` (default), ``"bernoulli"``, ``"poisson"``, ``"gaussian"`` or ``"Gamma"``. The
        negative binomial is not available (its variance function has the unknown theta).
    link : str, optional
        As for :func:`quadlib.glmm.fit` (binomial: logit, probit, cloglog; Gamma: inverse or log).
    weights, offset : array_like or str, optional
        Prior weights (binomial: the trials of a proportion response) and an offset.
    dispersion : {"estimate", "fixed"}
        ``"estimate"``: the working LMM's residual variance is the dispersion (glmmPQL's default).
        ``"fixed"``: the residual SD is held at 1 (glmmPQL with ``control = lmeControl(sigma = 1)``), the
        binomial and Poisson models without overdispersion.
    max_iter : int
        Bound on the number of working LMMs (at most 10000).
    tol : float
        Converged when no fixed effect moves by more than ``tol * (1 + |beta_j|)`` from one working LMM to
        the next (or the working data stop changing, as for the gaussian family with the identity link,
        where the first working LMM is the fit).
    start : array_like, optional
        Starting fixed effects (default: the GLM without random effects, as glmmPQL).
    verbose : bool
        Print the fixed effects after every working LMM.

    Returns
    -------
    PQLResult
        ``llf`` is NaN: PQL maximizes no likelihood.

    Warns
    -----
    ConvergenceWarning
        ``converged=False``: `max_iter` working LMMs without convergence, the last working LMM's optimizer
        not converged, the working response overflowed, or the data are separated by the fixed effects
        (no estimate exists: see :func:`quadlib.glmm.fit`).
    UserWarning
        A boundary (singular) fit of the last working LMM.

    Notes
    -----
    Each iteration fits ``z ~ fixed + random terms`` with weights ``w`` (see the module notes) by maximum
    likelihood, as glmmPQL does (it sets ``method = "ML"`` in its ``lme`` call; REML is not used), warm
    started at the previous theta. glmmPQL stops when ``sum((eta - eta_old)^2) < 1e-6 sum(eta^2)`` (at most
    10 iterations); the default ``tol`` here goes to the fixed point, which differs from glmmPQL's printed
    estimates by about 1e-5 on cbpp.

    PQL is biased for binary data with few observations per cluster: the variance components and, with
    them, the fixed effects are shrunk towards zero (Breslow and Lin 1995); see the documentation's PQL
    page for a simulation against the Laplace approximation and adaptive quadrature.

    References
    ----------
    N. E. Breslow and D. G. Clayton, "Approximate inference in generalized linear mixed models", Journal of
    the American Statistical Association 88 (1993), 9-25.
    N. E. Breslow and X. Lin, "Bias correction in generalised linear mixed models with a single component
    of dispersion", Biometrika 82 (1995), 81-91.
    W. N. Venables and B. D. Ripley, Modern Applied Statistics with S, 4th ed. (2002), section 10.4
    (MASS::glmmPQL).

    Examples
    --------
    >>> from quadlib.glmm import datasets
    >>> res = pql("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"))
    >>> res.params.round(4).tolist()   # MASS::glmmPQL: -1.3274 -1.0161 -1.1500 -1.6052
    [-1.3274, -1.0161, -1.15, -1.6052]
    >>> round(float(res.sd_re["herd"].iloc[0]), 4), round(res.sigma, 4)   # glmmPQL: 0.5564, 1.1845
    (0.5563, 1.1846)
    >>> res.llf
    nan
    """
    design, fam, y, n, beta, dispersion, max_iter, tol, verbose = _pql_iv(
        formula, data, family, link, weights, offset, dispersion, max_iter, tol, start, verbose)
    eta = design.X @ beta + design.offset
    z, w = _working_data(fam, y, n, eta, design.offset)
    theta, converged, message, history = None, False, "", []
    k = 0
    with blas_controller().limit(limits=1, user_api="blas"):  # small dense algebra: see _optimize.py
        for k in range(1, max_iter + 1):
            result, lmm_objective, optimum = _fit_working(design, z, w, dispersion, theta, data, offset)
            new_beta = result.params.to_numpy()
            change = float(np.max(np.abs(new_beta - beta) / (1.0 + np.abs(new_beta)), initial=0.0))
            history.append(change)
            beta, theta = new_beta, optimum.x
            if verbose:
                print(f"  PQL iteration {k:3d}: beta {np.array2string(beta, precision=6)}, change {change:.2e}",
                      flush=True)
            eta = design.X @ beta + lmm_objective.Z @ result._solution.b + design.offset
            new_z, new_w = _working_data(fam, y, n, eta, design.offset)
            if not (np.all(np.isfinite(new_z)) and np.all(np.isfinite(new_w))):
                message = f"the working response overflowed after iteration {k} (|eta| up to {np.max(np.abs(eta)):.3g})"
                break
            if change <= tol or (_close(new_z, z) and _close(new_w, w)):
                converged = True
                message = "converged"
                break
            z, w = new_z, new_w
        else:
            message = f"the fixed effects still moved by {history[-1]:.2e} (relative) after {max_iter} iterations"
    if converged and not result.converged:
        converged, message = False, f"the last working LMM did not converge: {result.message}"
    separated = separation(fam, y, n, design)
    if separated:  # no estimate exists, whether the iterations stopped or not
        converged, message = False, separation_message(fam, separated)
    out = PQLResult.from_fit(working_lmm=result, family=fam, dispersion=dispersion, converged=converged,
                             message=message, n_iter=k, history=history)
    if not converged:
        warnings.warn(f"pql: not converged ({message})", ConvergenceWarning, stacklevel=2)
    if out.singular:
        warn_singular()
    return out


def _close(a, b):
    return float(np.max(np.abs(a - b), initial=0.0)) <= _SAME_DATA * float(np.max(np.abs(b), initial=1.0))
