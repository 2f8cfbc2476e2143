"""GLMM fitting as a pipeline of public stages, in the spirit of lme4's modular glmer:

    build_design(formula, data)            -> Design        (response, X, random terms: _design.py)
    make_objective(design, family, integr.) -> Objective     (the marginal log-likelihood: _objective.py)
    optimize(objective, start)              -> OptimizeOutcome (L-BFGS-B + Newton polish: _optimize.py)
    GLMMResult(objective, outcome, ...)     -> the fit       (statsmodels names: _result.py)

``fit`` is a thin wrapper over these. The integrals over the random effects are computed by the core's
integrators (quadlib.Laplace, quadlib.AdaptiveGaussHermite, quadlib.QMCIntegrator, ...) and, for several
grouping factors, quadlib.sparse_laplace: this layer has no quadrature code of its own. ``method="pql"``
hands the model to :func:`quadlib.glmm._pql.pql` (penalized quasi-likelihood: iterated working linear
mixed models, no integrals).
"""
from dataclasses import replace
import warnings

import numpy as np

from .. import _validation as v
from .._integrators import AdaptiveGaussHermite, Laplace, QMCIntegrator
from ._design import build_design
from ._formula import parse_formula
from ._lmm import check_identifiable
from ._objective import make_objective, separation_message
from ._optimize import ConvergenceWarning, blas_controller, optimize, optimizer_options, warn_singular
from ._pql import pql
from ._result import GLMMResult

__all__ = ["fit"]

_PRODUCT_LIMIT = 100_000     # points per level for a product Gauss–Hermite rule
_POINT_LIMIT = 2 ** 24       # rows x points per level: the size of the largest arrays of one evaluation
_FITTED_EPS = 10 * np.finfo(float).eps   # R's glm.fit: a fitted probability within this of 0 or 1


def _fit_iv(method, nagq, max_iter, verbose, progress, optimizer):
    """Every option checked before the data are read (method="pql" checks its own `max_iter` bound)."""
    if isinstance(method, str):
        v.choice(method, ("laplace", "agq", "qmc", "pql"), "method")
    if nagq is not None:
        nagq = v.positive_int(nagq, "nagq")
    _, max_iter, verbose, progress = optimizer_options(optimizer, max_iter, verbose, progress)
    return nagq, max_iter, verbose, progress


def _integrator_for(method, nagq, q, nobs):
    """The core integrator for `method` and a description for the summary."""
    if not isinstance(method, str):
        # the core integrators and any other object following the protocol (docs/integrators.rst)
        if callable(getattr(method, "log_integrals", None)):
            if nagq is not None:
                raise ValueError("`nagq` applies to method='agq' or 'qmc', not to an integrator object")
            return method, getattr(method, "name", None) or repr(method)
        raise TypeError("`method` must be 'laplace', 'agq', 'qmc', 'pql' or an integrator object (one with a "
                        f"`log_integrals` method), got {type(method).__name__}")
    if method == "laplace":
        if nagq not in (None, 1):
            raise ValueError("`nagq` applies to method='agq' or 'qmc'; use method='agq' for nagq > 1")
        return Laplace(), "Laplace Approximation"
    if method == "agq":
        n = v.positive_int(10 if nagq is None else nagq, "nagq", maximum=200)
        if n ** q > _PRODUCT_LIMIT:
            raise ValueError(f"`nagq`={n} with {q} random effects per level is a {n}^{q}-point product rule; "
                             "use fewer nodes or a SparseGridGaussHermite(level) integrator as `method`")
        points, integrator = n ** q, AdaptiveGaussHermite(n)
        name = f"Adaptive Gauss-Hermite Quadrature, nAGQ = {n}"
    else:
        n = 1024 if nagq is None else nagq
        points, integrator = n, None
        name = f"randomized QMC importance sampling, {n} points"
    if nobs * points > _POINT_LIMIT:
        raise ValueError(f"`nagq`={n} gives {points} points per level for {nobs} rows: arrays of {nobs * points} "
                         f"values per evaluation exceed the limit of {_POINT_LIMIT}; use fewer points")
    return integrator or QMCIntegrator(n, seed=0), name


def _fitted_at_bounds(objective, x):
    """R's glm.fit warnings: fitted probabilities within 10 eps of 0 or 1, fitted rates below 10 eps."""
    fam = objective.family
    if fam.name not in ("binomial", "bernoulli", "poisson", "negative_binomial"):
        return None
    try:
        mu = fam.inverse_link(objective.linear_predictor(x))
    except (ArithmeticError, ValueError, np.linalg.LinAlgError):  # no modes there: nothing to say
        return None
    if fam.name in ("binomial", "bernoulli"):
        if np.any(mu < _FITTED_EPS) or np.any(mu > 1 - _FITTED_EPS):
            return "fitted probabilities numerically 0 or 1 occurred"
    elif np.any(mu < _FITTED_EPS):
        return "fitted rates numerically 0 occurred"
    return None


def fit(formula, data, *, family="binomial", link=None, method="laplace", nagq=None, weights=None, offset=None,
        start=None, optimizer=None, max_iter=1000, verbose=False, progress=False, dispersion=None):
    """Fit a generalized linear mixed model by maximum marginal likelihood (or penalized quasi-likelihood).

    Parameters
    ----------
    formula : str
        lme4 syntax: ``"cbind(successes, failures) ~ x + (1 | g)"``, ``"y ~ x + (x | g)"``,
        ``"y ~ x + (x || g)"`` (uncorrelated), ``"y ~ x + (1 | a/b)"`` (nested), ``"y ~ x + (1 | a) + (1 | b)"``
        (crossed), ``offset(expr)`` in the fixed part.
    data : pandas.DataFrame
    family : str
        ``"binomial"`` (successes out of trials: cbind, a proportion with `weights`, or 0/1),
        ``"bernoulli"``, ``"poisson"``, ``"gaussian"``, ``"Gamma"``, ``"negative_binomial"`` (NB2, theta
        estimated).
    link : str, optional
        binomial: logit (default), probit, cloglog; poisson and negative_binomial: log; gaussian: identity;
        Gamma: inverse (default, as in R) or log.
    method : {"laplace", "agq", "qmc", "pql"} or an integrator object
        An integrator object is a core one (``quadlib.AdaptiveGaussHermite(n)``, ...) or any object with
        the protocol's ``log_integrals`` method (see the user guide's integrator page).
        ``"agq"``: adaptive Gauss–Hermite with `nagq` nodes per dimension (default 10; a vector random
        effect gets the product rule in the rotated space; pass ``quadlib.SparseGridGaussHermite(level)``
        for a sparse Genz–Keister grid). ``"qmc"``: `nagq` randomized Sobol' points (default 1024). With
        several grouping factors only ``"laplace"`` applies (the sparse joint Laplace approximation).
        ``"pql"``: penalized quasi-likelihood, MASS::glmmPQL's iterated working LMMs (no likelihood: see
        :func:`quadlib.glmm._pql.pql`; biased for binary data with few observations per group).
    nagq : int, optional
        Nodes per dimension (agq, at most 200, and a product rule of at most 100000 points) or points
        (qmc); rows x points per level may not exceed 2**24 (the size of one evaluation's arrays).
    weights, offset : array_like or str, optional
        Prior weights (binomial: the trials of a proportion response) and an offset (arrays or columns).
    start : array_like, optional
        Starting parameters in the order of ``make_objective(...).names`` (method="pql": the fixed effects).
    optimizer : str, optional
        A scipy.optimize.minimize method that needs no Hessian (default "L-BFGS-B"; the list is in
        :func:`quadlib.glmm.optimize`).
    max_iter : int
        Bound on the optimizer's iterations (method="pql": on the working LMMs); at most 10**6.
    verbose, progress : bool
        Print every iteration / a line every two seconds (method="pql": `verbose` only).
    dispersion : {"estimate", "fixed"}, optional
        method="pql" only (default "estimate"): the working LMM's residual variance is estimated (glmmPQL)
        or fixed at 1.

    Returns
    -------
    GLMMResult or PQLResult
        ``llf`` is the full log-likelihood (binomial coefficients included) for every method and nagq;
        method="pql" returns a PQLResult (the same names; ``llf`` is NaN). For separated data (below)
        ``converged`` is False and ``result.outcome.separation`` names the fixed effects whose estimates
        are infinite (an empty tuple otherwise).

    Raises
    ------
    ValueError
        Besides bad arguments (each named): a response from which nothing can be estimated (binomial
        with no successes or no failures at all, counts all 0, a gaussian or Gamma response the fixed
        effects fit exactly; lme4 fits these and returns estimates near infinity with warnings), fewer
        observations than parameters, and, for the gaussian family, lmer's checks (more observations
        than the random effects of each term, as :func:`quadlib.glmm.lmm`).
    TypeError
        For an argument of the wrong type, or a data column mixing numbers and strings.

    Warns
    -----
    ConvergenceWarning
        The optimizer did not converge; or the data are separated (complete or quasi-complete separation
        by the fixed effects, found by a linear program before the fit): the maximum likelihood estimate
        does not exist, lme4 and R's glm warn "fitted probabilities numerically 0 or 1 occurred", and
        the result has ``converged=False``.
    UserWarning
        "boundary (singular) fit" (lme4's ``isSingular``), as :func:`quadlib.glmm.lmm` and
        :func:`quadlib.glmm.pql` warn; "fitted probabilities numerically 0 or 1 occurred" (R's glm.fit
        rule, fitted values within 10 eps of 0 or 1) without separation.

    Examples
    --------
    >>> from quadlib.glmm import datasets, fit
    >>> res = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"))
    >>> round(res.llf, 4), round(float(res.sd_re["herd"].iloc[0]), 4)   # converged lme4, glmmTMB: -92.026282, 0.64226
    (-92.0263, 0.6423)
    >>> res.params.round(4).tolist()
    [-1.3985, -0.9923, -1.1287, -1.5803]
    >>> fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"),
    ...     method="pql").params.round(4).tolist()   # MASS::glmmPQL
    [-1.3274, -1.0161, -1.15, -1.6052]
    """
    nagq, max_iter, verbose, progress = _fit_iv(method, nagq, max_iter, verbose, progress, optimizer)
    if isinstance(method, str) and method == "pql":
        for name, value in (("nagq", nagq), ("optimizer", optimizer)):
            if value is not None:
                raise ValueError(f"`{name}` does not apply to method='pql'")
        if progress:
            raise ValueError("`progress` does not apply to method='pql' (use verbose=True)")
        return pql(formula, data, family=family, link=link, weights=weights, offset=offset,
                   dispersion="estimate" if dispersion is None else dispersion, max_iter=max_iter, start=start,
                   verbose=verbose)
    if dispersion is not None:
        raise ValueError("`dispersion` applies to method='pql' only")
    design = build_design(formula, data, weights=weights, offset=offset)
    q = max(sum(t.q for t in design.terms if t.group == g) for g in {t.group for t in design.terms})
    integrator, method_name = _integrator_for(method, nagq, q, design.nobs)
    objective = make_objective(design, family, integrator, link=link)
    if objective.family.name == "gaussian":  # lme4's glmer hands these to lmer, with lmer's checks
        check_identifiable(design, parse_formula(formula).random)
    if design.nobs < objective.n_params:
        raise ValueError(f"`data`: the number of observations ({design.nobs}) is smaller than the number of "
                         f"parameters ({objective.n_params}: {', '.join(objective.names)}): they cannot all be "
                         "estimated")
    objective.check_response()
    separated = objective.separation()
    # the linear algebra here is small (q x q blocks, p-vectors): BLAS threads only add wake-up latency,
    # which on a loaded machine made the cbpp fit 5x slower
    with blas_controller().limit(limits=1, user_api="blas"):
        outcome = optimize(objective, start, optimizer=optimizer, max_iter=max_iter, verbose=verbose,
                           progress=progress)
        at_bounds = _fitted_at_bounds(objective, outcome.x)
        if separated:
            message = separation_message(objective.family, separated)
            if at_bounds:
                message = f"{at_bounds}: {message}"
            outcome = replace(outcome, converged=False, message=message, separation=tuple(separated))
        result = GLMMResult(objective, outcome, method_name, formula)
    if separated:
        warnings.warn(outcome.message, ConvergenceWarning, stacklevel=2)
    elif at_bounds:
        warnings.warn(f"{at_bounds}: some fitted values are at the edge of the family's range (extreme covariate "
                      "values or near-separation)", UserWarning, stacklevel=2)
    if result.singular and np.all(np.isfinite(outcome.x)):
        warn_singular()
    return result
