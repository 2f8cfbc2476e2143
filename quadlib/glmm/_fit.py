"""GLMM fitting as a pipeline of public stages, in the spirit of lme4's modular glmer:

    build_design(formula, data)            -> Design        (response, X, random terms: _design.py)
    make_objective(design, family, integr.) -> Objective     (the marginal log-likelihood: _objective.py)
    optimize(objective, start)              -> OptimizeOutcome (L-BFGS-B + Newton polish: _optimize.py)
    GLMMResult(objective, outcome, ...)     -> the fit       (statsmodels names: _result.py)

``fit`` is a thin wrapper over these. The integrals over the random effects are computed by the core's
integrators (quadlib.Laplace, quadlib.AdaptiveGaussHermite, quadlib.QMCIntegrator, ...) and, for several
grouping factors, by PIRLS on the blocked Cholesky factor (:mod:`quadlib.glmm._blocked_laplace`; or
quadlib.sparse_laplace where the blocked structure refuses the design): this layer has no quadrature code of
its own. ``method="pql"`` hands the model to :func:`quadlib.glmm._pql.pql` (penalized quasi-likelihood:
iterated working linear mixed models, no integrals).

Two routes besides the default one (neither is taken with an explicit `start` or `optimizer`):

* An objective that computes values only (``derivatives = "values"``: several grouping factors) is fitted in
  lme4's two stages: first over theta with beta in the PIRLS (nAGQ = 0,
  :meth:`~quadlib.glmm._blocked_laplace.BlockedLaplaceObjective.beta_profiled`, to a trust radius of 1e-2),
  then over all parameters from there (COBYQA to radius 1e-5, then one Newton step on value differences,
  whose Hessian is the final one: :data:`STAGE_TWO`).
* The gaussian family with the identity link and several grouping factors is a linear mixed model: it is
  fitted by :func:`quadlib.glmm.lmm`'s engine with ``reml=False`` (:func:`gaussian_outcome`; the Laplace
  approximation is exact there) and mapped to fit's parameters. With a `dispformula` the residual variance
  varies by row, which lmm's engine has no place for: those go to the two stages.

glmmTMB's model classes (issue 19) ride on the same pipeline: `ziformula` and `dispformula` become model
matrices of the design (:func:`~quadlib.glmm.build_design`), the objective's response model owns their
coefficients, ``family="ordinal"`` reads an ordered response, and ``reml=True`` fits glmmTMB's REML (the fixed
effects integrated with the random effects by the Laplace approximation, :mod:`quadlib.glmm._reml`).
"""
from dataclasses import replace
import warnings

import numpy as np

from .. import _validation as v
from .._integrators import AdaptiveGaussHermite, Laplace, QMCIntegrator
from ._design import build_design, check_random_effects
from ._families import make_family
from ._formula import parse_formula, parse_one_sided
from ._inference import covariance_over_free
from ._lmm import LMMObjective, check_identifiable, optimize_theta
from ._objective import fitted_at_bounds, make_objective, separation, separation_message
from ._optimize import (GLMM_OPTIONS, ConvergenceWarning, OptimizeOutcome, blas_controller, optimize,
                        optimizer_options, value_hessian, warn_singular)
from ._pql import pql
from ._result import GLMMResult

__all__ = ["fit", "fit_in_stages", "gaussian_outcome", "STAGE_ONE", "STAGE_TWO"]

# lme4's glmer: a loose first stage over theta (nAGQ = 0), then all parameters to a tight radius
STAGE_ONE = replace(GLMM_OPTIONS, final_radius=1e-2, final_hessian=False, warn=False)
STAGE_TWO = replace(GLMM_OPTIONS, initial_radius=0.02, final_radius=1e-5, value_polish_steps=1)

_PRODUCT_LIMIT = 100_000     # points per level for a product Gauss–Hermite rule
_POINT_LIMIT = 2 ** 24       # rows x points per level: the size of the largest arrays of one evaluation
# the families before issue 19: the only ones method="pql" and Dask data know
_CLASSIC_FAMILIES = ("binomial", "bernoulli", "poisson", "gaussian", "Gamma", "negative_binomial")
# REML's optimizer works on values only (its objective has no gradient)
_VALUE_OPTIMIZERS = ("nelder-mead", "powell", "cobyla", "cobyqa")
# a zero-inflation coefficient beyond this in absolute value, with a standard error above _ZI_SE_RATIO times
# it (or none), is on the ridge of a (quasi-)separated zero-inflation model: glmmTMB's sal_zinb1 stops at
# zi~sppPR = -29 (SE 1e6)
_ZI_DIVERGED = 10.0
_ZI_SE_RATIO = 10.0


def _fit_iv(method, nagq, max_iter, verbose, progress, optimizer, ziformula=None, dispformula=None, reml=False):
    """Every option checked before the data are read (method="pql" checks its own `max_iter` bound); returns
    them normalized, the zero-inflation and dispersion terms (None without, as for "~0") last."""
    if isinstance(method, str):
        v.choice(method, ("laplace", "agq", "qmc", "pql"), "method")
    if nagq is not None:
        nagq = v.positive_int(nagq, "nagq")
    _, max_iter, verbose, progress = optimizer_options(optimizer, max_iter, verbose, progress)
    if not isinstance(reml, (bool, np.bool_)):
        raise TypeError(f"`reml` must be True or False, got {reml!r}")
    zi = None if ziformula is None else parse_one_sided(ziformula, "ziformula")
    disp = None if dispformula is None else parse_one_sided(dispformula, "dispformula")
    return nagq, max_iter, verbose, progress, bool(reml), zi, disp


def _check_model_options(fam, method, optimizer, zi, disp, reml):
    """The refusals of issue 19's options that need only the family (before the data are read)."""
    if zi is not None and not (getattr(fam, "discrete", fam.name in ("binomial", "poisson", "negative_binomial"))
                               or getattr(fam, "truncated", False)):
        raise ValueError("`ziformula`: zero-inflation needs a count family (poisson, negative_binomial, "
                         "negative_binomial1, binomial, beta_binomial) or a truncated one for a hurdle model, got "
                         f"{fam.name!r}")
    if disp is not None and not fam.has_dispersion:
        raise ValueError(f"`dispformula`: {fam.name} has no dispersion parameter")
    if not reml:
        return
    if not (isinstance(method, str) and method == "laplace"):
        shown = repr(method) if isinstance(method, str) else "an integrator object"
        raise ValueError(f"`reml`: REML is implemented with the Laplace approximation only (method='laplace'), "
                         f"got method={shown}")
    if fam.name == "ordinal":
        raise ValueError("`reml`: REML is not defined for the ordinal family (its thresholds take the intercept's "
                         "place) and neither peer has it (glmmTMB has no cumulative-link family, ordinal::clmm no "
                         "REML): use reml=False")
    if optimizer is not None and str(optimizer).lower() not in _VALUE_OPTIMIZERS:
        raise ValueError("`reml`: the REML objective has values only: `optimizer` must be one of 'Nelder-Mead', "
                         f"'Powell', 'COBYLA', 'COBYQA', got {optimizer!r}")


def _new_options(fam, zi, disp, reml):
    """The issue-19 options a model uses, as a phrase for refusals (empty: none)."""
    used = [name for name, on in (("ziformula", zi is not None), ("dispformula", disp is not None),
                                  ("reml=True", reml)) if on]
    if fam.name not in _CLASSIC_FAMILIES:
        used.append(f"family={fam.name!r}")
    return ", ".join(used)


def _warn_zi_separation(objective, outcome):
    """ConvergenceWarning when zero-inflation coefficients diverge (module constants); True if it warned."""
    names = list(objective.names)
    zi = [j for j, name in enumerate(names) if name.startswith("zi~")]
    if not zi:
        return False
    covariance = covariance_over_free(outcome, len(names))
    diverged = []
    for j in zi:
        estimate, variance = float(outcome.x[j]), float(covariance[j, j])
        se = np.sqrt(variance) if variance >= 0 else np.nan
        if abs(estimate) > _ZI_DIVERGED and not se <= _ZI_SE_RATIO * abs(estimate):
            diverged.append(f"{names[j]} = {estimate:.3g}")
    if diverged:
        warnings.warn("the zero-inflation part is (quasi-)separated: zi estimates diverge "
                      f"({', '.join(diverged)}; their standard errors are huge or undefined): the zero-inflation "
                      "probability of some groups is 0 or 1, the log-likelihood is a supremum and the estimates "
                      "are where the optimizer stopped; drop those terms from `ziformula`",
                      ConvergenceWarning, stacklevel=3)
        return True
    return False


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


def _separation(objective, design, fam):
    """The separated fixed effects (as :meth:`Objective.separation`) and the family that names them. With a
    zero-inflation model the count part's linear program does not apply (a zero may come from either part);
    a hurdle's zero part is a logistic regression of 1[y = 0] on X_zi, whose separation is searched for."""
    if design.X_zi is None:
        return objective.separation(), fam
    if not getattr(fam, "truncated", False):
        return [], fam
    binomial = make_family("binomial")
    zeros = (np.asarray(objective.y) == 0).astype(float)
    zero_part = replace(design, X=design.X_zi, fixed_names=list(design.zi_names))
    found = separation(binomial, zeros, np.ones_like(zeros), zero_part)
    return [f"zi~{name}" for name in found], binomial


def _check_response_model(objective, design):
    """The objective must carry the design's zero-inflation and dispersion models (their coefficients in its
    parameters); an objective that ignored them would fit another model without a word."""
    names = list(objective.names)
    for present, prefix, argument in ((design.X_zi is not None, "zi~", "ziformula"),
                                      (design.X_disp is not None, "disp~", "dispformula")):
        if present and not any(name.startswith(prefix) for name in names):
            raise NotImplementedError(f"`{argument}`: {type(objective).__name__} has no parameters of this model "
                                      "(the response model is not available)")


def fit_in_stages(objective, *, max_iter=1000, verbose=False, progress=False):
    """lme4's two stages for an objective with ``derivatives = "values"`` (module notes): the optimum over
    theta (and log phi) with beta in the PIRLS (:data:`STAGE_ONE`), then over all parameters from there
    (:data:`STAGE_TWO`). The outcome's ``history`` and ``n_evaluations`` cover both stages.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from quadlib.glmm import build_design, make_objective
    >>> rng = np.random.default_rng(2)
    >>> data = pd.DataFrame({"a": np.repeat(list("abcdefgh"), 16), "b": np.tile(list("ijklmnopqrstuvwx"), 8)})
    >>> data["y"] = rng.poisson(np.exp(0.5 + rng.normal(0, 0.5, 8)[np.repeat(np.arange(8), 16)]))
    >>> objective = make_objective(build_design("y ~ 1 + (1 | a) + (1 | b)", data), "poisson")
    >>> outcome = fit_in_stages(objective)
    >>> outcome.converged, bool(abs(outcome.llf - objective(outcome.x)) < 1e-9)
    (True, True)
    """
    profiled = objective.beta_profiled()
    first = optimize(profiled, max_iter=max_iter, verbose=verbose, progress=progress, options=STAGE_ONE)
    start = profiled.start_from(first) if np.isfinite(first.llf) else None
    if start is not None:
        objective.warm_modes = profiled.warm_modes      # the joint mode at the first stage's optimum
    outcome = optimize(objective, start, max_iter=max_iter, verbose=verbose, progress=progress,
                       options=STAGE_TWO)
    return replace(outcome, history=list(first.history) + list(outcome.history),
                   n_evaluations=outcome.n_evaluations + profiled.evaluations)


def gaussian_outcome(objective, design):
    """The maximum likelihood fit of a gaussian model with the identity link by :func:`quadlib.glmm.lmm`'s
    engine (``reml=False``: theta relative to sigma, beta and sigma profiled out), as an
    :class:`~quadlib.glmm.OptimizeOutcome` of `objective` (fit's parameters: beta, sigma times each term's
    relative factor placed in its grouping factor's block, log sigma). ``llf`` is ``-deviance / 2``; the
    Hessian comes from value differences of `objective` (whose Laplace approximation is exact here), over the
    parameters not at a bound.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from quadlib.glmm import build_design, lmm, make_objective
    >>> rng = np.random.default_rng(3)
    >>> data = pd.DataFrame({"a": np.repeat(list("abcdef"), 12), "b": np.tile(list("ghijkl"), 12)})
    >>> a, b = np.repeat(np.arange(6), 12), np.tile(np.arange(6), 12)
    >>> data["y"] = rng.normal(size=72) + rng.normal(size=6)[a] + rng.normal(size=6)[b]
    >>> formula = "y ~ 1 + (1 | a) + (1 | b)"
    >>> objective = make_objective(build_design(formula, data), "gaussian")
    >>> outcome = gaussian_outcome(objective, objective.design)
    >>> bool(abs(outcome.llf - lmm(formula, data, reml=False).llf) < 1e-9)
    True
    """
    lmm_objective = LMMObjective(design, reml=False)
    theta = optimize_theta(lmm_objective)
    solution = lmm_objective.solve(theta.x)
    sigma = float(np.sqrt(solution.r2 / design.nobs))
    relative = {id(block.terms[0]): theta.x[block.theta] for block in lmm_objective.layout.blocks}
    x = np.concatenate([solution.beta] + [sigma * relative[id(term)] for block in objective.blocks
                                          for term in block.terms] + [[np.log(sigma)]])
    lower = np.array([-np.inf if lo is None else lo for lo, _ in objective.bounds])
    free = ~(x <= lower + 1e-10)
    objective.reset_warm_start()
    hessian = value_hessian(objective, x, free)
    llf = -0.5 * float(solution.criterion)
    converged = bool(theta.converged and np.isfinite(llf) and np.all(np.isfinite(hessian)))
    message = "converged" if converged else f"lmm's theta: {theta.message}"
    if not converged:
        warnings.warn(f"the optimizer did not converge: {message}", ConvergenceWarning,
                      stacklevel=v.outside_stacklevel())
    return OptimizeOutcome(x, llf, np.full(x.size, np.nan), hessian, free, converged, message,
                           theta.n_evaluations + objective.evaluations, list(theta.history), n_iter=theta.n_iter)


def fit(formula, data, *, family="binomial", link=None, method="laplace", nagq=None, weights=None, offset=None,
        start=None, optimizer=None, max_iter=1000, verbose=False, progress=False, dispersion=None, client=None,
        assume_grouped=False, ziformula=None, dispformula=None, reml=False):
    """Fit a generalized linear mixed model by maximum marginal likelihood (or penalized quasi-likelihood).

    Parameters
    ----------
    formula : str
        lme4 syntax: ``"cbind(successes, failures) ~ x + (1 | g)"``, ``"y ~ x + (x | g)"``,
        ``"y ~ x + (x || g)"`` (uncorrelated), ``"y ~ x + (1 | a/b)"`` (nested), ``"y ~ x + (1 | a) + (1 | b)"``
        (crossed), ``offset(expr)`` in the fixed part.
    data : pandas.DataFrame or dask.dataframe.DataFrame
        A Dask DataFrame is fitted where its partitions are, without collecting its rows
        (:mod:`quadlib.glmm._dask`: one grouping factor, methods "laplace", "agq" and integrator objects that
        pickle; the same estimates as the pandas fit). Each level of the grouping factor must lie in one
        partition: if not, the frame is repartitioned with ``ddf.shuffle(on=group)`` after a UserWarning
        (see `assume_grouped`).
    family : str or Family
        ``"binomial"`` (successes out of trials: cbind, a proportion with `weights`, or 0/1),
        ``"bernoulli"``, ``"poisson"``, ``"gaussian"``, ``"Gamma"``, ``"negative_binomial"`` (NB2, theta
        estimated), and glmmTMB's families as :func:`~quadlib.glmm.make_family` lists them
        (``"negative_binomial1"``, ``"beta"``, ``"beta_binomial"``, ``"truncated_poisson"``,
        ``"truncated_negative_binomial"``, ``"tweedie"``, ``"student_t"``), or ``"ordinal"`` (a cumulative link
        model, clmm's: the response an ordered Categorical or integer categories, no intercept, one threshold
        between consecutive categories).
    link : str, optional
        binomial: logit (default), probit, cloglog; poisson and negative_binomial: log; gaussian: identity;
        Gamma: inverse (default, as in R) or log.
    method : {"laplace", "agq", "qmc", "pql"} or an integrator object
        An integrator object is a core one (``quadlib.AdaptiveGaussHermite(n)``, ...) or any object with
        the protocol's ``log_integrals`` method (see the user guide's integrator page).
        ``"agq"``: adaptive Gauss–Hermite with `nagq` nodes per dimension (default 10; a vector random
        effect gets the product rule in the rotated space; pass ``quadlib.SparseGridGaussHermite(level)``
        for a sparse Genz–Keister grid). ``"qmc"``: `nagq` randomized Sobol' points (default 1024). With
        several grouping factors only ``"laplace"`` applies (the joint Laplace approximation, by PIRLS on the
        blocked Cholesky factor, fitted in lme4's two stages: see the module notes).
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
        A scipy.optimize.minimize method that needs no Hessian (default "L-BFGS-B"; with several grouping
        factors COBYQA in two stages, or lmm's engine for the gaussian family with the identity link; the
        list is in :func:`quadlib.glmm.optimize`).
    max_iter : int
        Bound on the optimizer's iterations (method="pql": on the working LMMs); at most 10**6.
    verbose, progress : bool
        Print every iteration / a line every two seconds (method="pql": `verbose` only). Dask `data`:
        `progress` prints one line per distributed pass, ``step k: log-likelihood ...  pass ... ms (n
        partitions)``.
    dispersion : {"estimate", "fixed"}, optional
        method="pql" only (default "estimate"): the working LMM's residual variance is estimated (glmmPQL)
        or fixed at 1.
    client : distributed.Client, optional
        Dask `data` only: the cluster to fit on. Default: the current client (``distributed.get_client()``)
        if there is one, else the per-partition objectives are built and evaluated in this process, one
        partition at a time (Dask's local scheduler reads the partitions): the same numbers, no parallelism
        and no memory saving.
    assume_grouped : bool
        Dask `data` only. Each level of the grouping factor must lie in one partition; this is checked
        (free when the partitions' ranges of the grouping column do not overlap, else one count of its
        distinct values on the workers). False: a split grouping is repartitioned with Dask's shuffle,
        after a UserWarning giving its cost. True (data written grouped, e.g. shuffled by group before
        ``to_parquet``): a split grouping is a ValueError, and no shuffle ever runs.
    ziformula : str, optional
        glmmTMB's zero-inflation model, one-sided with fixed effects only: ``"~1"``, ``"~ spp + mined"``;
        ``"~0"`` means none. The probability of an extra zero is ``expit(X_zi b_zi)``; with a truncated
        family it is a hurdle model (zeros only from this part). Count families only; one grouping factor.
    dispformula : str, optional
        glmmTMB's dispersion model, one-sided with fixed effects only: the log of the family's dispersion
        (gaussian: log sigma, as glmmTMB >= 1.1.9; negative_binomial: log theta; beta: log phi, ...) is
        ``X_disp b_disp`` row by row. Families with a dispersion parameter only.
    reml : bool
        glmmTMB's REML: the fixed effects integrated out with the random effects by the Laplace
        approximation (method="laplace" only, every family but the ordinal one, `optimizer` a values method);
        as glmmTMB, only the conditional model's fixed effects are integrated (not `ziformula`'s nor
        `dispformula`'s); the gaussian family's equals :func:`quadlib.glmm.lmm`'s REML.

    Returns
    -------
    GLMMResult or PQLResult
        ``llf`` is the full log-likelihood (binomial coefficients included) for every method and nagq;
        method="pql" returns a PQLResult (the same names; ``llf`` is NaN). For separated data (below)
        ``converged`` is False and ``result.outcome.separation`` names the fixed effects whose estimates
        are infinite (an empty tuple otherwise). Dask `data`: a
        :class:`~quadlib.glmm._dask.DistributedGLMMResult` (a GLMMResult whose ``random_effects`` are lazy
        Dask DataFrames; separation is not searched for: data without the non-separation certificate and
        with fitted values at the edge give ``converged=False``).

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
        `ziformula` or `dispformula` not one-sided or with random effects; zero-inflation with a family that
        is not for counts, a dispersion model for a family without dispersion; `ziformula` or the student_t
        family with several grouping factors; `reml` with another method than "laplace" or with the ordinal
        family; method="pql" with any of issue 19's options or families.
    NotImplementedError
        Dask `data` with crossed or nested random effects, method "pql" or "qmc", or any of `ziformula`,
        `dispformula`, ``reml=True`` and the families added with them (collect the data with
        ``ddf.compute()`` and fit on one machine).
    RuntimeError
        Dask `data`: a distributed pass failed (a task error, a worker lost beyond Dask's retries, a pass
        longer than :data:`quadlib.glmm._dask.PASS_TIMEOUT`) or did not cover every row: no result.

    Warns
    -----
    ConvergenceWarning
        The optimizer did not converge; zero-inflation coefficients diverge (``|estimate| > 10`` with a standard
        error above 10 times it, or none: a (quasi-)separated zero-inflation model); or the data are separated (complete or quasi-complete separation
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
    >>> zip_ = fit("count ~ spp + mined + (1 | site)", datasets.load("salamanders"), family="poisson",
    ...            ziformula="~ spp + mined")         # zero-inflated Poisson
    >>> round(zip_.llf, 6)                             # glmmTMB: -875.74688017
    -875.74688
    """
    nagq, max_iter, verbose, progress, reml, zi, disp = _fit_iv(method, nagq, max_iter, verbose, progress,
                                                                 optimizer, ziformula, dispformula, reml)
    if not isinstance(assume_grouped, (bool, np.bool_)):
        raise TypeError(f"`assume_grouped` must be True or False, got {assume_grouped!r}")
    fam = make_family(family, link)
    _check_model_options(fam, method, optimizer, zi, disp, reml)
    new_options = _new_options(fam, zi, disp, reml)
    # recognised before dask is imported: `import quadlib.glmm` never imports it (1.2 s)
    if type(data).__module__.startswith("dask"):
        if dispersion is not None and not (isinstance(method, str) and method == "pql"):
            raise ValueError("`dispersion` applies to method='pql' only")
        if new_options:
            # _dask.py evaluates its own copy of the objective, which knows the classic families only
            raise NotImplementedError(f"Dask `data` with {new_options} is not supported: collect the data with "
                                      "ddf.compute() and fit on one machine")
        from ._dask import fit_dask

        return fit_dask(formula, data, family=family, link=link, method=method, nagq=nagq, weights=weights,
                        offset=offset, start=start, optimizer=optimizer, max_iter=max_iter, verbose=verbose,
                        progress=progress, client=client, assume_grouped=bool(assume_grouped),
                        integrator_for=_integrator_for)
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"`data` must be a pandas or Dask DataFrame, got {type(data).__name__}")
    if client is not None:
        raise ValueError("`client` applies to a Dask DataFrame `data` only (a pandas DataFrame is fitted in this "
                         "process)")
    if assume_grouped:
        raise ValueError("`assume_grouped` applies to a Dask DataFrame `data` only")
    if isinstance(method, str) and method == "pql":
        if new_options:
            raise ValueError(f"method='pql' does not support {new_options} (its working linear mixed models "
                             "know the classic families only): use method='laplace' or 'agq'")
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
    design = build_design(formula, data, weights=weights, offset=offset, ziformula=ziformula,
                          dispformula=dispformula, response="ordinal" if fam.name == "ordinal" else "numeric")
    groups = {t.group for t in design.terms}
    if len(groups) > 1 and (design.X_zi is not None or fam.name == "student_t"):
        what = "`ziformula`" if design.X_zi is not None else "the student_t family"
        raise ValueError(f"{what} is not supported with several grouping factors ({', '.join(sorted(groups))}): "
                         "its rows are not log-concave, which the joint Laplace approximation's PIRLS needs")
    q = max(sum(t.q for t in design.terms if t.group == g) for g in groups)
    integrator, method_name = _integrator_for(method, nagq, q, design.nobs)
    if reml:
        from ._reml import REMLObjective

        objective = REMLObjective(design, fam, integrator)
    else:
        objective = make_objective(design, fam, integrator)
    _check_response_model(objective, design)
    if fam.name == "gaussian":  # lme4's glmer hands these to lmer, with lmer's checks
        check_identifiable(design, parse_formula(formula).random)
    else:   # glmer's: an observation-level random effect allowed (no residual variance)
        check_random_effects(design, parse_formula(formula).random, residual=False)
    if design.nobs < objective.n_params:
        raise ValueError(f"`data`: the number of observations ({design.nobs}) is smaller than the number of "
                         f"parameters ({objective.n_params}: {', '.join(objective.names)}): they cannot all be "
                         "estimated")
    objective.check_response()
    separated, separation_family = _separation(objective, design, fam)
    # the linear algebra here is small (q x q blocks, p-vectors): BLAS threads only add wake-up latency,
    # which on a loaded machine made the cbpp fit 5x slower
    default = start is None and optimizer is None
    values_only = getattr(objective, "derivatives", "gradient") == "values"
    with blas_controller().limit(limits=1, user_api="blas"):
        if reml:
            from ._reml import REML_OPTIONS, fit_reml

            if default:
                outcome = fit_reml(objective, max_iter=max_iter, verbose=verbose, progress=progress)
            else:
                outcome = optimize(objective, start, optimizer=optimizer, max_iter=max_iter, verbose=verbose,
                                   progress=progress, options=REML_OPTIONS)
        elif default and values_only and fam.name == "gaussian" and fam.link == "identity" \
                and design.X_disp is None:
            outcome = gaussian_outcome(objective, design)      # a linear mixed model: lmm's engine
        elif default and values_only:
            outcome = fit_in_stages(objective, max_iter=max_iter, verbose=verbose, progress=progress)
        else:
            outcome = optimize(objective, start, optimizer=optimizer, max_iter=max_iter, verbose=verbose,
                               progress=progress)
        if reml:   # the outcome is over (theta, aux); the fitted values need beta at the joint mode
            at_bounds = fitted_at_bounds(objective.model_objective(), objective.full_params(outcome.x))
        else:
            at_bounds = fitted_at_bounds(objective, outcome.x)
        if separated:
            message = separation_message(separation_family, separated)
            if at_bounds:
                message = f"{at_bounds}: {message}"
            outcome = replace(outcome, converged=False, message=message, separation=tuple(separated))
        result = GLMMResult(objective, outcome, method_name, formula)
    if separated:
        warnings.warn(outcome.message, ConvergenceWarning, stacklevel=2)
    elif _warn_zi_separation(objective, outcome):
        pass
    elif at_bounds:
        warnings.warn(f"{at_bounds}: some fitted values are at the edge of the family's range (extreme covariate "
                      "values or near-separation)", UserWarning, stacklevel=2)
    if result.singular and np.all(np.isfinite(outcome.x)):
        warn_singular()
    return result
