"""Cluster-robust ("sandwich") covariance of a fitted mixed model, clustered on the top-level grouping factor.

Linear mixed models (:class:`~quadlib.glmm.LMMResult`), the fixed effects only, as clubSandwich's ``vcovCR``
(Pustejovsky & Tipton 2018): the working model is the fitted marginal covariance ``V = sigma^2 (W^-1 + Z Lambda
Lambda' Z')`` (W the prior weights), ``M = (X' V^-1 X)^-1`` and the residuals ``e_j = y_j - X_j beta_hat`` of cluster
j give ::

    V_CR = M [sum_j X_j' V_j^-1 A_j e_j e_j' A_j' V_j^-1 X_j] M

with ``A_j = I`` (CR0), CR0 times ``m / (m - 1)`` (CR1, m clusters) or Bell & McCaffrey's bias-reduced
adjustment (CR2, the default): ``A_j = D_j' B_j^-1/2 D_j``, ``D_j`` the upper Cholesky factor of ``V_j``
(``V_j = D_j' D_j``) and ``B_j = D_j (V_j - X_j M X_j') D_j'``, whose symmetric inverse square root drops the
eigenvalues below 1e-12 times the largest (a pseudo-inverse, as clubSandwich's ``Sym_power``). ``V_CR`` does not
depend on sigma^2, so the blocks are computed relative to it. Every other grouping factor must be nested in the
cluster factor, so that V is block diagonal over the clusters; crossed factors have no cluster.

GLMMs (:class:`~quadlib.glmm.GLMMResult` of a model with one grouping factor), every parameter: the
log-likelihood is a sum over the levels of the grouping factor (:meth:`ClusterObjective.cluster_log_likelihoods`),
whose scores ``s_g`` at the optimum (central differences) and the fit's Hessian H over the free parameters give
``V = H^-1 (sum_g s_g s_g') H^-1`` (CR0) and ``G / (G - 1)`` times it (CR1, the default: Stata's
``vce(cluster)`` for maximum-likelihood estimators), mapped to the reported parameter vector by the delta method
of the result (``J C J'``, J of :func:`~quadlib.glmm._result.reported_parameters`). A parameter at a bound has no
variance (NaN), as in the model-based covariance.
"""
import warnings

import numpy as np

from .. import _validation as v
from ._inference import reported_parameters

__all__ = ["cluster_scores", "sandwich_covariance", "cov_params", "cluster_index"]

CORRECTIONS = ("CR0", "CR1", "CR2")
KINDS = ("model", "sandwich")
MAX_CLUSTER_SIZE = 5000      # rows of one cluster: the LMM's dense n_j x n_j blocks
MAX_PARAMS = 1000            # GLMM parameters: 2 k evaluations of the likelihood for the scores
_SCORE_STEP = 1e-5           # relative step of the scores' central differences
_PINV_TOL = 1e-12            # eigenvalues of B_j below this times the largest are dropped (CR2)


# --------------------------------------------------------------------------------------------------- checks
def _model_kind(result):
    """``"lmm"`` for a fitted linear mixed model (its objective solves the penalized least squares: ``solve``),
    ``"glmm"`` for a marginal-likelihood fit (an ``outcome`` and the optimum ``x``); TypeError otherwise."""
    objective = getattr(result, "objective", None)
    if objective is not None and callable(getattr(objective, "solve", None)) and hasattr(result, "theta"):
        return "lmm"
    if objective is not None and getattr(result, "outcome", None) is not None and hasattr(result, "x"):
        return "glmm"
    raise TypeError(f"`result` must be a fitted LMMResult or GLMMResult, got {type(result).__name__}")


def _correction(correction, kind):
    """The normalized correction name: None gives the default (CR2 for an LMM, CR1 for a GLMM)."""
    if correction is None:
        return "CR2" if kind == "lmm" else "CR1"
    if not isinstance(correction, str):
        raise TypeError(f"`correction` must be a string (one of 'CR0', 'CR1', 'CR2') or None, "
                        f"got {type(correction).__name__}")
    name = v.choice(correction.upper(), CORRECTIONS, "correction")
    if kind == "glmm" and name == "CR2":
        raise ValueError("`correction`: CR2 is defined for linear mixed models only (it needs the hat matrix of "
                         "a linear estimator); use 'CR0' or 'CR1' for a GLMM")
    return name


def cluster_index(design):
    """The cluster of each row of `design`: the top-level grouping factor, in which every other factor is
    nested.

    Returns
    -------
    (group, index, levels)
        The factor's name, its level (0-based) per design row and its level names.

    Raises
    ------
    ValueError
        A model without random effects, or crossed factors (no factor has every other nested in it).
    """
    factors = {}
    for term in design.terms:
        factors.setdefault(term.group, term)
    if not factors:
        raise ValueError("`result`: the model has no grouping factor to cluster on")
    # the factor with the fewest levels, tried first: a factor in which all others are nested has no more
    # levels than any of them
    for group, term in sorted(factors.items(), key=lambda item: item[1].n_levels):
        index = np.asarray(term.index, dtype=np.intp)
        nested = True
        for other, t in factors.items():
            if other == group:
                continue
            inner = np.asarray(t.index, dtype=np.intp)
            # nested: each level of the other factor lies in a single cluster
            pairs = np.unique(inner.astype(np.int64) * (index.max() + 1) + index)
            if pairs.size != np.unique(inner).size:
                nested = False
                break
        if nested:
            return group, index, list(term.levels)
    raise ValueError(f"`result`: crossed factors ({', '.join(factors)}): no cluster; the sandwich needs a grouping "
                     "factor in which every other one is nested")


# ------------------------------------------------------------------------------------------------------ LMM
def _inv_sqrt(B):
    """The symmetric inverse square root of the positive semi-definite `B`, eigenvalues at or below 1e-12 times
    the largest dropped (a pseudo-inverse)."""
    w, U = np.linalg.eigh(B)
    keep = w > _PINV_TOL * max(w[-1], 0.0)
    if not np.any(keep):
        return np.zeros_like(B)
    return (U[:, keep] / np.sqrt(w[keep])) @ U[:, keep].T


def _lmm_clusters(result):
    """The clusters of an LMM fit, one at a time: (level, X_j, V_j, e_j), V_j the cluster's block of the fitted
    marginal covariance relative to sigma^2 (``W_j^-1 + Z_j Lambda Lambda' Z_j'``, built from the random-effect
    columns the cluster's rows use) and e_j its residuals at beta_hat. Each block is at most 5000 x 5000
    (checked before any is made)."""
    import scipy.sparse as sp

    objective = result.objective
    _, index, levels = cluster_index(result.design)
    X, y, w, Z = objective.X, objective.y, objective.w, sp.csr_matrix(objective.Z)
    sizes = np.bincount(index, minlength=len(levels))
    if sizes.max(initial=0) > MAX_CLUSTER_SIZE:
        raise ValueError(f"`result`: a cluster has {sizes.max()} rows; the sandwich of a linear mixed model builds "
                         f"dense n_j x n_j blocks and accepts at most {MAX_CLUSTER_SIZE} rows per cluster")
    rows, cols, which = objective.layout.lambda_indices()
    theta = np.asarray(result.theta, dtype=float)
    Lam = sp.csr_matrix((theta[which], (rows, cols)), shape=(objective.q, objective.q))
    ZL = (Z @ Lam).tocsr()
    e = y - X @ result.params.to_numpy()
    order = np.argsort(index, kind="stable")
    bounds = np.r_[0, np.cumsum(sizes)]
    for j in range(len(levels)):
        r = order[bounds[j]:bounds[j + 1]]
        if r.size == 0:
            continue
        block = ZL[r]
        used = np.unique(block.indices)
        dense = block[:, used].toarray()
        Vj = np.diag(1.0 / w[r]) + dense @ dense.T
        yield j, X[r], Vj, e[r]


def _lmm_sandwich(result, correction):
    """clubSandwich's vcovCR of an LMM fit over its fixed effects (module notes); NaN with a warning where a
    factorization fails (an ill-conditioned fit)."""
    from scipy.linalg import cho_factor, cho_solve

    p = result.params.size
    clusters = []
    information = np.zeros((p, p))
    try:
        for j, Xj, Vj, ej in _lmm_clusters(result):
            cho = cho_factor(Vj, lower=True)
            WX = cho_solve(cho, Xj)
            information += Xj.T @ WX
            clusters.append((Xj, Vj, ej, cho, WX))
        m = len(clusters)
        if m < 2:
            raise ValueError(f"`result`: the sandwich needs at least 2 clusters, got {m}")
        M = np.linalg.inv(information)
        meat = np.zeros((p, p))
        for Xj, Vj, ej, cho, WX in clusters:
            if correction == "CR2":
                L = np.tril(cho[0])                              # V_j = L L', D_j = L'
                B = L.T @ (Vj - Xj @ M @ Xj.T) @ L
                ej = L @ (_inv_sqrt(B) @ (L.T @ ej))             # A_j e_j
            u = WX.T @ ej
            meat += np.outer(u, u)
    except np.linalg.LinAlgError:
        warnings.warn("sandwich covariance: a cluster's V_j or X' V^-1 X could not be factored (an ill-conditioned "
                      "fit); it is NaN", UserWarning, stacklevel=v.outside_stacklevel())
        return np.full((p, p), np.nan)
    V = M @ meat @ M
    if correction == "CR1":
        V *= m / (m - 1)
    return 0.5 * (V + V.T)


def _lmm_scores(result):
    """The scores of beta per cluster of an LMM fit: ``X_j' V_j^-1 e_j`` (V with sigma^2), (m, p)."""
    from scipy.linalg import cho_factor, cho_solve

    _, _, levels = cluster_index(result.design)
    out = np.zeros((len(levels), result.params.size))
    try:
        for j, Xj, Vj, ej in _lmm_clusters(result):
            out[j] = Xj.T @ cho_solve(cho_factor(Vj, lower=True), ej)
    except np.linalg.LinAlgError:
        warnings.warn("cluster scores: a cluster's V_j could not be factored (an ill-conditioned fit); they are NaN",
                      UserWarning, stacklevel=v.outside_stacklevel())
        out[:] = np.nan
    return out / result.sigma ** 2


# ----------------------------------------------------------------------------------------------------- GLMM
def _glmm_objective(result):
    """The result's objective when it has per-cluster log-likelihoods (ValueError otherwise)."""
    if getattr(result, "reml", False):
        raise ValueError("`result`: the sandwich of a REML GLMM fit is not implemented (its Hessian is the REML "
                         "criterion's, not the likelihood's the scores come from); refit with reml=False")
    objective = result.objective
    if not callable(getattr(objective, "cluster_log_likelihoods", None)):
        raise ValueError("`result`: sandwich covariance needs one grouping factor and the data in this process "
                         f"(the objective {type(objective).__name__} has no per-cluster log-likelihoods: several "
                         "grouping factors or a Dask fit)")
    if objective.n_params > MAX_PARAMS:
        raise ValueError(f"`result`: the sandwich's scores take 2 k likelihood evaluations; at most {MAX_PARAMS} "
                         f"parameters, got {objective.n_params}")
    return objective


def _glmm_scores(result):
    """Per-level scores of a GLMM at its optimum by central differences of the per-level log-likelihoods
    (step 1e-5 max(1, |x_i|)), summed into the levels of the grouping factor: (G, k) over ``objective.names``."""
    objective = _glmm_objective(result)
    x = np.asarray(result.x, dtype=float)
    k = x.size
    block = objective.blocks[0]
    segment_level = np.asarray(objective.row_group)[np.asarray(objective.row_bounds)[:-1]]
    per_segment = np.empty((segment_level.size, k))
    for i in range(k):
        h = _SCORE_STEP * max(1.0, abs(x[i]))
        step = np.zeros(k)
        step[i] = h
        per_segment[:, i] = (objective.cluster_log_likelihoods(x + step)
                             - objective.cluster_log_likelihoods(x - step)) / (2 * h)
    scores = np.zeros((block.n_levels, k))
    np.add.at(scores, segment_level, per_segment)
    return scores


def _glmm_sandwich(result, correction):
    """H^-1 (sum_g s_g s_g') H^-1 over the free parameters (x), then the delta method to the reported vector."""
    objective = _glmm_objective(result)
    outcome = result.outcome
    k = objective.n_params
    free = np.flatnonzero(np.asarray(outcome.free, dtype=bool))
    covariance = np.full((k, k), np.nan)
    scores = _glmm_scores(result)
    G = scores.shape[0]
    if G < 2:
        raise ValueError(f"`result`: the sandwich needs at least 2 clusters, got {G}")
    S = scores[:, free]
    problem = None
    if not np.all(np.isfinite(S)):
        problem = "a cluster's log-likelihood is not finite next to the optimum"
    else:
        try:
            bread = np.linalg.inv(-np.asarray(outcome.hessian, dtype=float))
        except np.linalg.LinAlgError:
            bread = None
        if bread is None or not np.all(np.isfinite(bread)) or not np.all(np.diag(bread) > 0):
            problem = "the Hessian at the optimum is singular or not negative definite"
        else:
            inner = bread @ (S.T @ S) @ bread
            if correction == "CR1":
                inner *= G / (G - 1)
            covariance[np.ix_(free, free)] = 0.5 * (inner + inner.T)
    if problem is not None:
        warnings.warn(f"sandwich covariance: {problem}; it is NaN", UserWarning, stacklevel=v.outside_stacklevel())
    J = reported_parameters(objective, np.asarray(result.x, dtype=float))[2]
    return _delta_method(J, covariance, free)


def _delta_method(J, covariance, free):
    """``J C J'`` over the free parameters, NaN in the rows and columns of the reported parameters that depend
    on one at a bound. (``_result.transformed_covariance`` marks every row with any NaN entry as missing, so a
    single parameter at a bound would blank the whole matrix.)"""
    held = np.ones(J.shape[1], dtype=bool)
    held[free] = False
    inner = covariance[np.ix_(free, free)]
    out = J[:, free] @ inner @ J[:, free].T
    touched = np.any(J[:, held] != 0, axis=1) | ~np.all(np.isfinite(inner))
    out[touched, :] = np.nan
    out[:, touched] = np.nan
    return out


# --------------------------------------------------------------------------------------------------- public
def cluster_scores(result):
    """The score of each cluster (level of the top-level grouping factor) at the estimates.

    Parameters
    ----------
    result : GLMMResult or LMMResult
        A GLMM fit with one grouping factor, or a linear mixed model.

    Returns
    -------
    numpy.ndarray, shape (G, k)
        One row per level of the grouping factor, in its ``levels`` order. A GLMM: the derivatives of each
        level's log-likelihood (:meth:`~quadlib.glmm.ClusterObjective.cluster_log_likelihoods`) over all the
        optimizer's coordinates ``result.objective.names`` (beta, theta, the response model's), by central
        differences with step ``1e-5 max(1, |x_i|)``: 2 k evaluations of the likelihood (k <= 1000, checked).
        They sum to the gradient at the optimum, about 0. An LMM: the scores of the fixed effects,
        ``X_j' V_j^-1 e_j``, with V the fitted marginal covariance.

    Raises
    ------
    ValueError
        Several crossed grouping factors (LMM), several grouping factors or a Dask fit (GLMM), a REML GLMM fit.
    TypeError
        `result` is not a fitted LMMResult or GLMMResult.

    Examples
    --------
    >>> from quadlib.glmm import datasets, fit
    >>> res = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"),
    ...           family="binomial")
    >>> s = cluster_scores(res)
    >>> s.shape, bool(abs(s.sum(axis=0)).max() < 1e-4)
    ((15, 5), True)
    """
    kind = _model_kind(result)
    return _lmm_scores(result) if kind == "lmm" else _glmm_scores(result)


def sandwich_covariance(result, correction=None):
    """The cluster-robust covariance of a mixed model's estimates, clustered on the top-level grouping factor.

    Parameters
    ----------
    result : LMMResult or GLMMResult
    correction : {"CR0", "CR1", "CR2"}, optional
        The small-sample correction (case-insensitive). Default: "CR2" for a linear mixed model (clubSandwich's
        default), "CR1" (``G / (G - 1)``, Stata's ``vce(cluster)``) for a GLMM, where "CR2" is refused.

    Returns
    -------
    numpy.ndarray
        An LMM: (p, p) over ``params``. A GLMM: over the reported vector, in the order of ``result.covariance``
        (``params``, then theta and the response model's parameters), NaN for a parameter at a bound.

    Raises
    ------
    ValueError
        An unknown `correction`, CR2 for a GLMM, crossed grouping factors (LMM) or several grouping factors or a
        Dask fit (GLMM; v1), a REML GLMM fit, fewer than 2 clusters, an LMM cluster of more than 5000 rows.
    TypeError
        `result` is not a fitted LMMResult or GLMMResult.

    Warns
    -----
    UserWarning
        A GLMM whose Hessian is singular, or whose scores are not finite: the covariance is NaN.

    Notes
    -----
    See the module notes for the formulas. LMM: each cluster's dense n_j x n_j block of V is factored (bounded
    by 5000 rows per cluster, checked before allocating); the loop runs over the clusters. GLMM: the scores
    take 2 k evaluations of the likelihood (:func:`cluster_scores`), the bread is the fit's Hessian.

    References
    ----------
    J. E. Pustejovsky and E. Tipton, "Small-sample methods for cluster-robust variance estimation and hypothesis
    testing in fixed effects models", Journal of Business & Economic Statistics 36(4), 2018.
    R. M. Bell and D. F. McCaffrey, "Bias reduction in standard errors for linear regression with multi-stage
    samples", Survey Methodology 28(2), 2002.

    Examples
    --------
    >>> import numpy as np
    >>> from quadlib.glmm import datasets, lmm
    >>> res = lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> np.sqrt(np.diag(sandwich_covariance(res, "CR0"))).round(4).tolist()
    [6.6323, 1.5022]
    """
    kind = _model_kind(result)
    correction = _correction(correction, kind)
    if kind == "lmm":
        return _lmm_sandwich(result, correction)
    return _glmm_sandwich(result, correction)


def cov_params(result, kind="model", correction=None):
    """The covariance matrix of the fixed effects, model-based or cluster-robust (``MixedResult.cov_params``).

    Parameters
    ----------
    result : LMMResult or GLMMResult
    kind : {"model", "sandwich"}
        "model": the fit's own covariance (the leading block of ``result.covariance``); "sandwich":
        :func:`sandwich_covariance`'s leading block.
    correction : {"CR0", "CR1", "CR2"}, optional
        The sandwich's correction (its defaults); only with ``kind="sandwich"``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``params.index`` on both axes.

    Examples
    --------
    >>> from quadlib.glmm import datasets, lmm
    >>> res = lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> cov_params(res, "sandwich", "CR0").round(3)
                 (Intercept)   Days
    (Intercept)       43.987 -1.370
    Days              -1.370  2.257
    """
    import pandas as pd

    if not isinstance(kind, str):
        raise TypeError(f"`kind` must be 'model' or 'sandwich', got {type(kind).__name__}")
    kind = v.choice(kind.lower(), KINDS, "kind")
    params = getattr(result, "params", None)
    if params is None or not hasattr(result, "covariance"):
        raise TypeError(f"`result` must be a fitted LMMResult or GLMMResult, got {type(result).__name__}")
    p = len(params)
    if kind == "model":
        if correction is not None:
            raise ValueError(f"`correction` applies to kind='sandwich' only, got {correction!r} with kind='model'")
        covariance = np.asarray(result.covariance, dtype=float)[:p, :p]
    else:
        covariance = sandwich_covariance(result, correction)[:p, :p]
    return pd.DataFrame(covariance, index=params.index, columns=params.index)
