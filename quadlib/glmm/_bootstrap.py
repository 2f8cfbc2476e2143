"""The parametric bootstrap of a fitted mixed model: :func:`bootstrap`, its intervals
(:func:`bootstrap_interval`: percentile, basic, BCa) and the bootstrap likelihood-ratio test
(:func:`bootstrap_lrt`, pbkrtest's ``PBmodcomp``).

A replicate simulates a response from the fitted model (the result's ``simulate``), refits the model to it,
warm-started at the estimate, and evaluates a statistic on the refit. The refits go through a **refitter**, an
object with the protocol

``names``
    the statistic's names;
``simulate(seed) -> y``
    one simulated response vector, in the design's row order (``rows``: their positions in the data);
``refit(y) -> RefitOutcome``
    the refit (``x``, ``llf``, ``converged``, ``score_at_start``, the gradient of the log-likelihood of `y`
    at the original estimate, and ``extra``: what ``statistic`` needs beyond x);
``statistic(outcome) -> array``
    the default statistic of a refit: the variance components on the standard-deviation scale (lme4's
    ``.sig01``... in its ``oldNames = FALSE`` names, ``sd_(Intercept)|herd``, ``cor_Days.(Intercept)|Subject``,
    ``sigma``) then the reported parameters ``params``;
``refit_result(y)``
    a full refit wrapped in the model's result class (for a user's ``statistic(result)``),

so that this module never branches on the model's class (:func:`glmm_refitter`, :func:`lmm_refitter`; any
object with the protocol may be passed instead of a result). A GLMM's refit is :func:`~quadlib.glmm.optimize`'s
refit mode (:data:`~quadlib.glmm._optimize.REFIT_OPTIONS`: BFGS from the fit's covariance, no final Hessian:
~14 evaluations per cbpp refit, a fifth of a full fit's time); an LMM's is
:func:`~quadlib.glmm._lmm.optimize_theta` of :meth:`~quadlib.glmm.LMMObjective.with_response` from the fit's
theta (REML fits are refitted by REML).

Reproducibility: replicate k draws with ``numpy.random.SeedSequence(seed).spawn(n)[k]``, so the draws are the
same for any number of workers, chunks or a Dask cluster.

References
----------
B. Efron, "Better bootstrap confidence intervals", Journal of the American Statistical Association 82(397),
171-185 (1987): BCa, the acceleration from the least-favourable family's score (sections 4-5).
T. J. DiCiccio and B. Efron, "Bootstrap confidence intervals", Statistical Science 11(3), 189-228 (1996).
U. Halekoh and S. Hojsgaard, "A Kenward-Roger approximation and parametric bootstrap methods for tests in
linear mixed models - the R package pbkrtest", Journal of Statistical Software 59(9) (2014): PBmodcomp.
"""
from dataclasses import dataclass, field, replace
import math
import os
import time
from typing import Protocol
import warnings

import numpy as np

from .. import _validation as v
from ._inference import check_alpha
from ._optimize import REFIT_OPTIONS, ConvergenceWarning, blas_controller, optimize
from ._varcomp import sd_scale_values

__all__ = ["BootstrapResult", "RefitOutcome", "Refitter", "bootstrap", "bootstrap_interval", "bootstrap_lrt",
           "bootstrap_chunk", "glmm_refitter", "lmm_refitter", "as_refitter", "skewness_acceleration",
           "jackknife_acceleration", "group_jackknife", "design_without"]

_MAX_N = 10 ** 6          # the largest number of replicates
_MAX_ERRORS = 20          # error messages kept (all are counted)
_KINDS = ("percentile", "basic", "bca")
_MAX_JACKKNIFE = 2000     # groups of the delete-one-group jackknife (a user statistic's BCa)
_AT_BOUND_VARIANCE = 1e-2  # the refit's starting inverse Hessian for a parameter held at a bound by the fit
_MAX_SCORE_ROWS = 5000     # an LMM's scores (BCa) need V^-1, dense n x n: up to this many rows
_MAX_SCORE_RANDOM = 2000   # ... and Z Lambda, dense n x q


@dataclass(frozen=True)
class RefitOutcome:
    """One refit: parameters ``x``, log-likelihood ``llf``, ``converged``, the gradient of the new response's
    log-likelihood at the original estimate (``score_at_start``, None where not computed) and ``extra`` (what
    the refitter's ``statistic`` needs beyond x: an LMM's penalized least-squares solution)."""

    x: np.ndarray
    llf: float
    converged: bool
    score_at_start: object = None
    extra: object = field(default=None, repr=False)
    message: str = ""


class Refitter(Protocol):
    """What :func:`bootstrap` and :func:`bootstrap_lrt` need of a model (module notes): ``names``, ``rows``,
    ``simulate(seed)``, ``refit(y)``, ``statistic(outcome)``; optionally ``estimate`` (the default statistic on
    the fit), ``refit_result(y)`` (user statistics), ``statistic_jacobian()`` and ``covariance()`` (BCa's
    score directions)."""

    names: list
    rows: object

    def simulate(self, seed):
        """One simulated response vector, in the design's row order."""

    def refit(self, y):
        """The refit to response `y`: a :class:`RefitOutcome`."""

    def statistic(self, outcome):
        """The default statistic of a refit, from its parameters."""


@dataclass(frozen=True)
class BootstrapResult:
    """The draws of a parametric bootstrap.

    Attributes
    ----------
    draws : pandas.DataFrame
        One row per replicate (0..n-1), one column per statistic; a failed replicate's row is NaN.
    estimate : pandas.Series
        The statistic on the original fit.
    n_failed : int
        Replicates whose refit did not converge or whose statistic raised.
    failed_share : float
        ``n_failed / n``.
    errors : tuple
        ``((replicate, "ExceptionType: message"), ...)``: the first 20 failures (all are counted in
        `n_failed`); a refit that did not converge is ``"ConvergenceWarning: <why>"``.
    seed : object
        The seed (a :class:`numpy.random.SeedSequence`'s entropy when none was given).
    scores : numpy.ndarray or None
        (n, k): the score (gradient of the log-likelihood) of each simulated response at the original
        estimate, over the model's k parameters; None where not computed.
    score_directions : numpy.ndarray or None
        (k, columns): ``Cov(x) d statistic / dx'`` at the estimate, so that ``scores @ score_directions``
        are the least-favourable family's scores of each statistic (BCa's acceleration).
    lrt_df : int or None
        For :func:`bootstrap_lrt`: the difference in the number of parameters.
    jackknife : object or None
        For a user statistic: computes BCa's acceleration by the delete-one-group jackknife when
        :meth:`acceleration` is first asked for it (:func:`group_jackknife`: one refit per top-level group).
    """

    draws: object
    estimate: object
    n_failed: int
    failed_share: float
    errors: tuple
    seed: object
    scores: object = None
    score_directions: object = None
    lrt_df: object = None
    jackknife: object = field(default=None, repr=False, compare=False)

    def __repr__(self):
        return (f"BootstrapResult(n={len(self.draws)}, statistics={list(self.draws.columns)}, "
                f"n_failed={self.n_failed}, failed_share={self.failed_share:.3g})")

    def acceleration(self):
        """BCa's acceleration per statistic (pandas.Series): ``skew(l)/6`` of the least-favourable family's
        scores ``l = scores @ score_directions`` (Efron 1987, section 4); for a user statistic, the
        delete-one-group jackknife's (:func:`group_jackknife`, computed once on first use: one refit per group,
        at most 2000 groups); NaN when neither is available."""
        import pandas as pd

        out = np.full(self.draws.shape[1], np.nan)
        if self.scores is not None and self.score_directions is not None:
            ok = np.all(np.isfinite(self.scores), axis=1)
            for j in range(out.size):
                out[j] = skewness_acceleration(self.scores[ok] @ self.score_directions[:, j])
        elif self.jackknife is not None:
            out = self.jackknife.acceleration()
        return pd.Series(out, index=self.draws.columns, name="acceleration")

    def conf_int(self, alpha=0.05, kind="percentile"):
        """Bootstrap confidence intervals of every statistic (:func:`bootstrap_interval`; ``kind="bca"``
        with :meth:`acceleration`).

        Returns
        -------
        pandas.DataFrame
            Columns ``lower`` and ``upper``, one row per statistic.
        """
        import pandas as pd

        alpha = check_alpha(alpha)
        kind = v.choice(kind, _KINDS, "kind")
        a = self.acceleration() if kind == "bca" else None
        if kind == "bca" and not np.all(np.isfinite(a.to_numpy())):
            raise ValueError("`kind`: 'bca' needs an acceleration: the scores of the replicates or a group jackknife "
                             "(this bootstrap has neither, or they failed); use 'percentile' or 'basic'")
        rows = []
        for j, name in enumerate(self.draws.columns):
            rows.append(bootstrap_interval(self.draws[name].to_numpy(), float(self.estimate[name]), alpha, kind,
                                           None if a is None else float(a.iloc[j])))
        return pd.DataFrame(rows, index=self.draws.columns, columns=["lower", "upper"], dtype=float)

    def pvalue(self):
        """:func:`bootstrap_lrt`'s p-value ``(1 + #{T* >= T}) / (1 + n_ok)`` (PBmodcomp's ``PBtest``)."""
        if self.lrt_df is None:
            raise ValueError("a p-value needs a bootstrap_lrt result")
        draws = self.draws["LRT"].to_numpy()
        draws = draws[np.isfinite(draws)]
        return float((1 + np.sum(draws >= float(self.estimate["LRT"]))) / (1 + draws.size))

    def lrt_table(self):
        """PBmodcomp's table: rows ``LRT`` (the chi-square p-value) and ``PBtest``, columns ``stat``, ``df``,
        ``p.value``."""
        import pandas as pd
        from scipy import stats

        statistic = float(self.estimate["LRT"])
        chi2 = float(stats.chi2.sf(statistic, self.lrt_df)) if self.lrt_df > 0 else np.nan
        return pd.DataFrame({"stat": [statistic, statistic], "df": [float(self.lrt_df), np.nan],
                             "p.value": [chi2, self.pvalue()]}, index=["LRT", "PBtest"])


# ---------------------------------------------------------------------------------------------------------
# intervals
# ---------------------------------------------------------------------------------------------------------
def skewness_acceleration(scores):
    """BCa's acceleration from the least-favourable family's scores `l` of the replicates (Efron 1987, section
    4): a sixth of their standardized skewness, ``mean((l - m)^3) / (6 mean((l - m)^2)^1.5)`` (moments, not
    sums: for the mean of n exponential observations it is 1/(3 sqrt(n)) whatever the number of replicates).
    NaN with fewer than 3 finite scores."""
    scores = np.asarray(scores, dtype=float)
    scores = scores[np.isfinite(scores)]
    if scores.size < 3:
        return np.nan
    d = scores - scores.mean()
    m2 = float(np.mean(d * d))
    return float(np.mean(d ** 3) / (6.0 * m2 ** 1.5)) if m2 > 0 else 0.0


def jackknife_acceleration(values):
    """BCa's acceleration from the leave-one-out (or leave-one-group-out) estimates `values`:
    ``sum(d^3) / (6 sum(d^2)^1.5)``, ``d = mean(values) - values`` (Efron 1987; scipy.stats.bootstrap's)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 3:
        return np.nan
    d = values.mean() - values
    s2 = float(np.sum(d * d))
    return float(np.sum(d ** 3) / (6.0 * s2 ** 1.5)) if s2 > 0 else 0.0


def bootstrap_interval(draws, estimate, alpha, kind, acceleration=None):
    """A bootstrap confidence interval from the draws of one statistic.

    Parameters
    ----------
    draws : array_like
        The bootstrap replicates of the statistic (NaN: failed replicates, dropped).
    estimate : float
        The statistic on the original data.
    alpha : float
        1 - the confidence level.
    kind : {"percentile", "basic", "bca"}
        ``percentile``: the alpha/2 and 1 - alpha/2 quantiles of the draws (type-7 quantiles, numpy's
        default). ``basic``: ``2 estimate - q_{1-alpha/2}``, ``2 estimate - q_{alpha/2}``. ``bca``: the quantiles
        ``Phi(z0 + (z0 + z_a) / (1 - acc (z0 + z_a)))`` with ``z0 = Phi^-1(#{draws < estimate}/B + #{draws ==
        estimate}/(2B))`` (Efron 1987; scipy.stats.bootstrap's BCa for the same acceleration).
    acceleration : float, optional
        BCa's acceleration (required for ``bca``; 0 gives the bias-corrected percentile interval).

    Returns
    -------
    (lower, upper) : tuple of float
        NaN when fewer than two draws are finite, and for BCa (with a ConvergenceWarning) when every draw
        lies on one side of the estimate.

    Examples
    --------
    >>> bootstrap_interval([1.0, 2.0, 3.0, 4.0, 5.0], 3.0, 0.5, "percentile")
    (2.0, 4.0)
    >>> bootstrap_interval([1.0, 2.0, 3.0, 4.0, 5.0], 3.0, 0.5, "basic")
    (2.0, 4.0)
    """
    from scipy.special import ndtr, ndtri

    alpha = check_alpha(alpha)
    kind = v.choice(kind, _KINDS, "kind")
    try:
        draws = np.asarray(draws, dtype=float).ravel()
    except (TypeError, ValueError):
        raise TypeError("`draws` must be an array of numbers") from None
    estimate = v.real_scalar(estimate, "estimate", finite=False)
    draws = draws[np.isfinite(draws)]
    if draws.size < 2 or not math.isfinite(estimate):
        return (np.nan, np.nan)
    levels = np.array([alpha / 2, 1 - alpha / 2])
    if kind == "bca":
        if acceleration is None:
            raise ValueError("`acceleration` is required for kind='bca'")
        a = v.real_scalar(acceleration, "acceleration")
        share = (np.sum(draws < estimate) + 0.5 * np.sum(draws == estimate)) / draws.size
        z0 = float(ndtri(share))
        if not math.isfinite(z0):   # every draw on one side: no bias correction is possible
            warnings.warn(f"BCa interval: all {draws.size} finite draws lie on one side of the estimate, so the "
                          "bias correction is infinite; the interval is NaN (use more replicates or another "
                          "`kind`)", ConvergenceWarning, stacklevel=2)
            return (np.nan, np.nan)
        z = ndtri(levels)
        levels = ndtr(z0 + (z0 + z) / (1 - a * (z0 + z)))
    q = np.percentile(draws, 100 * levels)
    if kind == "basic":
        return (float(2 * estimate - q[1]), float(2 * estimate - q[0]))
    return (float(q[0]), float(q[1]))


# ---------------------------------------------------------------------------------------------------------
# refitters
# ---------------------------------------------------------------------------------------------------------
def _positions(rows):
    """{data position: design row} as an inverse permutation array."""
    rows = np.asarray(rows, dtype=np.intp)
    inverse = np.full(rows.max(initial=-1) + 1, -1, dtype=np.intp)
    inverse[rows] = np.arange(rows.size)
    return inverse


class _GLMMRefitter:
    """The refitter of a :class:`~quadlib.glmm.GLMMResult` (module notes)."""

    def __init__(self, result):
        from ._inference import reported_parameters

        if getattr(result, "reml", False):
            raise ValueError("`result`: the bootstrap of a GLMM fitted by REML is not implemented; refit with "
                             "reml=False (lmm fits by REML are supported)")
        obj = result.objective
        if not callable(getattr(obj, "rebuild", None)):
            raise ValueError(f"`result`: its objective ({type(obj).__name__}) cannot be rebuilt on a new response")
        self.result, self.objective = result, obj
        self.design = obj.design
        self.rows = np.asarray(self.design.rows)
        self.x = np.asarray(result.x, dtype=float)
        cov = np.array(result.x_covariance, dtype=float)
        # a parameter at a bound has no variance in the fit (NaN row and column): start it uncorrelated
        missing = ~np.isfinite(np.diag(cov))
        cov[~np.isfinite(cov)] = 0.0
        cov[missing, missing] = _AT_BOUND_VARIANCE
        self.inverse_hessian = cov
        # a proportion response with trials as weights: simulate gives successes
        self._per_trial = (self.design.trials is None and self.design.weights is not None
                           and bool(getattr(result.family, "weights_are_trials",
                                            result.family.name in ("binomial", "bernoulli"))))
        self._report = reported_parameters
        self.names = list(self._statistic_at(self.x)[0])
        self.estimate = self._statistic_at(self.x)[1]

    def _statistic_at(self, x):
        names, values, _, n_params, phi, _ = self._report(self.objective, x)
        _, factors, _ = self.objective.split(x)
        sigma = phi if self.result.family.name == "gaussian" and phi is not None else None
        sd_names, sd_values = sd_scale_values(self.objective.blocks, factors, sigma)
        return sd_names + list(names[:n_params]), np.concatenate([sd_values, values[:n_params]])

    def simulate(self, seed):
        y = self.result.simulate(1, seed=seed)[:, 0]
        return y / self.objective.n if self._per_trial else y

    def _objective_for(self, y):
        return self.objective.rebuild(replace(self.design, response=np.asarray(y, dtype=float)))

    def refit(self, y):
        out = optimize(self._objective_for(y), self.x, options=REFIT_OPTIONS, inverse_hessian=self.inverse_hessian)
        return RefitOutcome(out.x, out.llf, out.converged, out.start_gradient, message=out.message)

    def statistic(self, outcome):
        return self._statistic_at(outcome.x)[1]

    def statistic_jacobian(self):
        """d statistic / dx at the estimate (central differences; the map is cheap)."""
        return _jacobian(lambda x: self._statistic_at(x)[1], self.x)

    def covariance(self):
        return np.array(self.result.x_covariance, dtype=float)

    def refit_result(self, y):
        return self._full_refit(self._objective_for(y))

    def refit_without(self, keep):
        """The model refitted (full mode) to the rows `keep` of its design: a result (the group jackknife)."""
        return self._full_refit(self.objective.rebuild(design_without(self.design, keep)))

    def _full_refit(self, objective):
        """`objective` optimized in full mode from the estimate, as a result of the fit's class."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            outcome = optimize(objective, self.x)
        if not outcome.converged:
            raise _NotConverged(outcome.message)
        return type(self.result).from_fit(objective=objective, outcome=outcome, method=self.result.method,
                                          formula=self.result.formula)


class _LMMRefitter:
    """The refitter of an :class:`~quadlib.glmm.LMMResult` (module notes)."""

    def __init__(self, result):
        self.result, self.objective = result, result.objective
        self.design = result.design
        self._block_names = list(result.cov_re)   # re_params's names: a second term of a factor is ``g.1``
        self.rows = np.asarray(self.design.rows)
        self.theta = np.asarray(result.theta, dtype=float)
        self._order = np.argsort(self.rows, kind="stable")   # design rows -> data order (LMMResult.simulate)
        self.names = list(self._statistic_of(self.objective, result.solution)[0])
        self.estimate = self._statistic_of(self.objective, result.solution)[1]
        self._score = self._score_parts()

    def _score_parts(self):
        """What the score at the estimate needs, made once: the marginal covariance's inverse ``V^-1`` (``Cov(y)
        = sigma^2 V``, ``V = W^-1 + Z Lambda Lambda' Z'``), ``Z Lambda`` and ``Z dLambda/dtheta_j`` (Lambda is
        linear in theta), and the constant trace terms; None above 5000 rows or 2000 random effects (dense
        n x n algebra)."""
        from ._linalg import right_lambda

        obj, sol = self.objective, self.result.solution
        n, q = obj.nobs, obj.q
        if n > _MAX_SCORE_ROWS or q > _MAX_SCORE_RANDOM:
            return None
        layout = obj.layout
        Z = obj.Z.toarray() if hasattr(obj.Z, "toarray") else np.asarray(obj.Z)
        ZL = right_lambda(Z, layout.factors(self.theta), layout.blocks)
        V = ZL @ ZL.T
        V[np.diag_indices(n)] += 1.0 / obj.w
        try:
            V_inv = np.linalg.inv(V)
        except np.linalg.LinAlgError:
            return None
        units = np.eye(self.theta.size)
        ZL_j = [right_lambda(Z, layout.factors(units[j]), layout.blocks) for j in range(self.theta.size)]
        traces = np.array([2.0 * np.sum((V_inv @ ZL) * Zj) for Zj in ZL_j])
        sigma = math.sqrt(sol.r2 / (n - obj.p if obj.reml else n))
        mean = obj.X @ sol.beta
        return {"V_inv": V_inv, "ZL": ZL, "ZL_j": ZL_j, "traces": traces, "sigma": sigma, "mean": mean,
                "x": np.concatenate([sol.beta, self.theta, [sigma]])}

    def _score_at_estimate(self, y):
        """The gradient of the ML log-likelihood of `y` (design order, offset included) over (beta, theta,
        sigma) at the estimate."""
        parts = self._score
        if parts is None:
            return None
        obj, sigma = self.objective, parts["sigma"]
        r = y - obj.offset - parts["mean"]
        a = parts["V_inv"] @ r
        s2 = sigma * sigma
        u = parts["ZL"].T @ a
        s_theta = -0.5 * parts["traces"] + np.array([(Zj.T @ a) @ u for Zj in parts["ZL_j"]]) / s2
        s_sigma = -obj.nobs / sigma + (r @ a) / (s2 * sigma)
        return np.concatenate([obj.X.T @ a / s2, s_theta, [s_sigma]])

    def _statistic_full(self, x):
        """The default statistic as a function of (beta, theta, sigma)."""
        obj = self.objective
        p, k = obj.p, self.theta.size
        beta, theta, sigma = x[:p], x[p:p + k], x[p + k]
        factors = [sigma * block.factor(theta[block.theta]) for block in obj.layout.blocks]
        return np.concatenate([sd_scale_values(obj.layout.blocks, factors, sigma, names=self._block_names)[1], beta])

    def statistic_jacobian(self):
        """d statistic / d(beta, theta, sigma) at the estimate (central differences)."""
        return None if self._score is None else _jacobian(self._statistic_full, self._score["x"])

    def covariance(self):
        """None: the bootstrap takes the inverse of the replicates' score covariance (the Fisher information at
        the estimate, estimated from the very draws the scores come from)."""
        return None

    def _statistic_of(self, objective, solution):
        n, p = objective.nobs, objective.p
        sigma = math.sqrt(solution.r2 / (n - p if objective.reml else n))
        factors = [sigma * block.factor(solution.theta[block.theta]) for block in objective.layout.blocks]
        names, values = sd_scale_values(objective.layout.blocks, factors, sigma, names=self._block_names)
        return names + list(self.design.fixed_names), np.concatenate([values, solution.beta])

    def simulate(self, seed):
        y = self.result.simulate(1, seed=seed)[:, 0]   # data order
        out = np.empty_like(y)
        out[self._order] = y
        return out

    def refit(self, y):
        objective = self.objective.with_response(y)
        out = objective.optimize_theta(start=self.theta, restarts=REFIT_OPTIONS.restarts)
        solution = objective.solve(out.x) if np.all(np.isfinite(out.x)) else None
        return RefitOutcome(out.x, out.llf, bool(out.converged and solution is not None), self._score_at_estimate(y),
                            (objective, solution), message=str(out.message))

    def statistic(self, outcome):
        objective, solution = outcome.extra
        return self._statistic_of(objective, solution)[1]

    def refit_result(self, y):
        from types import SimpleNamespace

        import pandas as pd

        objective = self.objective.with_response(y)
        out = objective.optimize_theta(start=self.theta)
        if not out.converged:
            raise _NotConverged(out.message)
        data = SimpleNamespace(index=pd.RangeIndex(int(self.rows.max(initial=-1)) + 1))
        return type(self.result).from_fit(design=replace(self.design, response=np.asarray(y, dtype=float)),
                                          objective=objective, optimum=out, data=data,
                                          optimizer=self.result.optimizer)

    def refit_without(self, keep):
        """The model refitted to the rows `keep` of its design: a result (the group jackknife)."""
        from types import SimpleNamespace

        import pandas as pd

        design = design_without(self.design, keep)
        objective = type(self.objective)(design, self.objective.reml)
        out = objective.optimize_theta(start=self.theta)
        if not out.converged:
            raise _NotConverged(out.message)
        data = SimpleNamespace(index=pd.RangeIndex(int(self.rows.max(initial=-1)) + 1))
        return type(self.result).from_fit(design=design, objective=objective, optimum=out, data=data,
                                          optimizer=self.result.optimizer)


class _NotConverged(Exception):
    """A replicate's refit did not converge (counted as failed, reported as a ConvergenceWarning)."""


def design_without(design, keep):
    """`design` restricted to the rows `keep` (a boolean mask over its rows): every per-row array subset, each
    random term's levels without rows dropped and its level index renumbered. For the delete-one-group
    jackknife."""
    keep = np.asarray(keep, dtype=bool)

    def take(array):
        return None if array is None else np.asarray(array)[keep]

    terms = []
    for term in design.terms:
        index = np.asarray(term.index)[keep]
        used = np.unique(index)
        terms.append(replace(term, Z=np.asarray(term.Z)[keep], index=np.searchsorted(used, index).astype(index.dtype),
                             levels=[term.levels[i] for i in used]))
    return replace(design, response=take(design.response), trials=take(design.trials), weights=take(design.weights),
                   offset=take(design.offset), X=np.ascontiguousarray(take(design.X)), terms=terms,
                   rows=take(design.rows), X_zi=take(design.X_zi), X_disp=take(design.X_disp),
                   row_labels=take(design.row_labels))


class _GroupJackknife:
    """The delete-one-group jackknife of a user statistic (BCa's acceleration), computed on first use."""

    def __init__(self, refitter, statistic, width):
        self.refitter, self.statistic, self.width = refitter, statistic, width
        self._values = None

    def values(self):
        if self._values is None:
            self._values = group_jackknife(self.refitter, self.statistic, self.width)
        return self._values

    def acceleration(self):
        values = self.values()
        return np.array([jackknife_acceleration(values[:, j]) for j in range(values.shape[1])])


def group_jackknife(result, statistic, width=None):
    """The statistic refitted without each level of the top-level grouping factor (the factor in which every
    other one is nested; :func:`quadlib.glmm._sandwich.cluster_index`): an array (G, width), a NaN row where the
    refit or the statistic fails. G refits, at most 2000 groups (checked before any refit).

    Raises
    ------
    ValueError
        More than 2000 groups, crossed factors (no top-level factor), or a refitter without ``refit_without``.
    """
    from ._sandwich import cluster_index

    refitter = as_refitter(result)
    if not callable(getattr(refitter, "refit_without", None)):
        raise ValueError("`result`: this model has no delete-one-group refit (a group jackknife)")
    _, index, levels = cluster_index(refitter.design)
    if len(levels) > _MAX_JACKKNIFE:
        raise ValueError(f"`result`: the group jackknife refits once per group; {len(levels)} groups exceed its bound "
                         f"of {_MAX_JACKKNIFE}")
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for g in range(len(levels)):
            try:
                values = np.asarray(statistic(refitter.refit_without(index != g)), dtype=float).ravel()
            except Exception:   # a refit or statistic that fails leaves its row NaN
                values = None
            rows.append(values)
    width = width or max((r.size for r in rows if r is not None), default=0)
    out = np.full((len(levels), width), np.nan)
    for g, values in enumerate(rows):
        if values is not None and values.size == width:
            out[g] = values
    return out


def glmm_refitter(result):
    """The refitter (module notes) of a fitted :class:`~quadlib.glmm.GLMMResult`: its refits are
    :func:`~quadlib.glmm.optimize`'s refit mode warm-started at ``result.x`` from ``result.x_covariance``."""
    return _GLMMRefitter(result)


def lmm_refitter(result):
    """The refitter (module notes) of a fitted :class:`~quadlib.glmm.LMMResult`: its refits are
    :func:`~quadlib.glmm._lmm.optimize_theta` on :meth:`~quadlib.glmm.LMMObjective.with_response` from the
    fit's theta (REML fits by REML)."""
    return _LMMRefitter(result)


def as_refitter(source):
    """`source`'s refitter: itself when it has the protocol (``simulate``, ``refit``, ``statistic``, ``names``),
    else its ``refitter()`` method's, else the refitter its capabilities give (an LMM objective that takes a new
    response: :func:`lmm_refitter`; an objective that rebuilds on a new design: :func:`glmm_refitter`).

    Raises
    ------
    TypeError
        If `source` is neither a fitted result nor a refitter.
    """
    if all(hasattr(source, name) for name in ("simulate", "refit", "statistic", "names")):
        return source
    if callable(getattr(source, "refitter", None)):
        return source.refitter()
    objective = getattr(source, "objective", None)
    if callable(getattr(objective, "with_response", None)):
        return lmm_refitter(source)
    if callable(getattr(objective, "rebuild", None)) and hasattr(source, "x_covariance"):
        return glmm_refitter(source)
    raise TypeError(f"`result` must be a fitted GLMMResult or LMMResult (or a refitter), got {type(source).__name__}")


def _jacobian(f, x, step=1e-6):
    x = np.asarray(x, dtype=float)
    f0 = np.asarray(f(x), dtype=float)
    J = np.empty((f0.size, x.size))
    for k in range(x.size):
        h = step * max(1.0, abs(x[k]))
        up, down = x.copy(), x.copy()
        up[k] += h
        down[k] -= h
        J[:, k] = (np.asarray(f(up)) - np.asarray(f(down))) / (2 * h)
    return J


# ---------------------------------------------------------------------------------------------------------
# the replicates
# ---------------------------------------------------------------------------------------------------------
def _child(entropy, k):
    """``SeedSequence(entropy).spawn(n)[k]`` without spawning the n - 1 others."""
    return np.random.SeedSequence(entropy, spawn_key=(int(k),))


def _describe(error):
    return f"{type(error).__name__}: {error}"


def _one_statistic(job, k, entropy):
    """Replicate k of a statistic job: (k, values or None, score or None, error or None)."""
    refitter, statistic = job["refitter"], job["statistic"]
    try:
        y = refitter.simulate(_child(entropy, k))
        if statistic is None:
            outcome = refitter.refit(y)
            if not outcome.converged:
                why = getattr(outcome, "message", "") or "the refit did not converge"
                return k, None, outcome.score_at_start, f"ConvergenceWarning: {why}"
            values = np.asarray(refitter.statistic(outcome), dtype=float)
            return k, values, outcome.score_at_start, None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = refitter.refit_result(y)
        values = np.asarray(statistic(result), dtype=float).ravel()
        return k, values, None, None
    except _NotConverged as error:
        return k, None, None, f"ConvergenceWarning: {error}"
    except Exception as error:   # a user's statistic or a refit that raises: counted, the run goes on
        return k, None, None, _describe(error)


def _one_lrt(job, k, entropy):
    """Replicate k of a likelihood-ratio job: T* = 2 (llf1 - llf0), clipped at 0."""
    null, alternative, to_alternative = job["null"], job["alternative"], job["to_alternative"]
    try:
        y0 = null.simulate(_child(entropy, k))
        fit0 = null.refit(y0)
        fit1 = alternative.refit(y0[to_alternative])
        if not (fit0.converged and fit1.converged):
            return k, None, None, "ConvergenceWarning: a refit did not converge"
        return k, np.array([max(0.0, 2.0 * (fit1.llf - fit0.llf))]), None, None
    except Exception as error:
        return k, None, None, _describe(error)


def bootstrap_chunk(job, entropy, replicates):
    """Run the `replicates` (indices) of a bootstrap `job` with seed `entropy`: one task of :func:`bootstrap`
    and :func:`bootstrap_lrt` (in this process, a worker process, or on a Dask worker; a public module-level
    function, pickled by reference). BLAS runs on one thread. Returns a list of ``(k, values or None, score or
    None, error or None)``."""
    run = _one_lrt if job["kind"] == "lrt" else _one_statistic
    with blas_controller().limit(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")   # failures are counted and summarized by the caller
        return [run(job, int(k), entropy) for k in replicates]


_WORKER_JOB = {}


def _pool_initializer(job):
    _WORKER_JOB["job"] = job   # the job (the fitted result) is sent once per worker process


def _pool_chunk(entropy, replicates):
    return bootstrap_chunk(_WORKER_JOB["job"], entropy, replicates)


def _run(job, n, entropy, client, workers, progress):
    """All n replicates, in chunks of about n / (4 workers): in process (workers=1), in a process pool, or as
    Dask tasks. Returns the records sorted by replicate."""
    started, last = time.perf_counter(), [time.perf_counter()]
    done, failed = [0], [0]

    def report(records, final=False):
        done[0] += len(records)
        failed[0] += sum(r[1] is None for r in records)
        now = time.perf_counter()
        if progress and (final or now - last[0] >= 2.0):
            last[0] = now
            print(f"  bootstrap: {done[0]}/{n} replicates, {failed[0]} failed, {now - started:.1f} s", flush=True)

    if client is not None:
        n_workers = max(1, len(getattr(client, "scheduler_info", lambda: {})().get("workers", {})) or 1)
    else:
        n_workers = workers if workers is not None else (os.cpu_count() or 1)
    size = max(1, math.ceil(n / (4 * n_workers)))
    chunks = [range(start, min(n, start + size)) for start in range(0, n, size)]
    records = []
    if client is not None:
        shared = client.scatter(job, broadcast=True)
        futures = [client.submit(bootstrap_chunk, shared, entropy, list(chunk), pure=False) for chunk in chunks]
        for future in futures:
            part = future.result()
            records.extend(part)
            report(part)
    elif n_workers == 1:
        for chunk in chunks:
            part = bootstrap_chunk(job, entropy, chunk)
            records.extend(part)
            report(part)
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=n_workers, initializer=_pool_initializer, initargs=(job,)) as pool:
            futures = [pool.submit(_pool_chunk, entropy, list(chunk)) for chunk in chunks]
            for future in as_completed(futures):
                part = future.result()
                records.extend(part)
                report(part)
    if progress:
        report([], final=True)
    records.sort(key=lambda r: r[0])
    return records


def _bootstrap_iv(n, seed, client, workers, progress):
    n = v.positive_int(n, "n", maximum=_MAX_N)
    if workers is not None:
        workers = v.positive_int(workers, "workers", maximum=4096)
    if client is not None:
        v.dask_client(client)
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be True or False, got {progress!r}")
    if isinstance(seed, (bool, np.bool_)) or not (seed is None or isinstance(seed, (int, np.integer,
                                                                                  np.random.SeedSequence))):
        raise TypeError(f"`seed` must be an int, a numpy.random.SeedSequence or None, got {seed!r}")
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise ValueError(f"`seed` must be non-negative, got {seed}")
    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return n, sequence.entropy, client, workers, bool(progress)


def _collect(records, n, names, estimate, seed, lrt_df=None):
    import pandas as pd

    width = len(names)
    draws = np.full((n, width), np.nan)
    scores = None
    errors, n_failed = [], 0
    for k, values, score, error in records:
        if score is not None:
            if scores is None:
                scores = np.full((n, np.asarray(score).size), np.nan)
            scores[k] = score
        if values is None or error is not None:
            n_failed += 1
            if len(errors) < _MAX_ERRORS:
                errors.append((k, error or "ValueError: no statistic"))
            continue
        if values.size != width:
            n_failed += 1
            if len(errors) < _MAX_ERRORS:
                errors.append((k, f"ValueError: the statistic has {values.size} values, the original fit's {width}"))
            continue
        draws[k] = values
    if n_failed:
        warnings.warn(f"bootstrap: {n_failed} of {n} replicates failed ({n_failed / n:.1%}; their rows are NaN); "
                      f"first: replicate {errors[0][0]}, {errors[0][1]}", ConvergenceWarning, stacklevel=3)
    frame = pd.DataFrame(draws, columns=list(names))
    frame.index.name = "replicate"
    return BootstrapResult(draws=frame, estimate=pd.Series(estimate, index=list(names), name="estimate"),
                           n_failed=int(n_failed), failed_share=n_failed / n, errors=tuple(errors), seed=seed,
                           scores=scores, lrt_df=lrt_df)


def bootstrap(result, n, *, seed=None, statistic=None, client=None, workers=None, progress=True):
    """Parametric bootstrap of a fitted model: `n` responses simulated from the fit, each refitted.

    Parameters
    ----------
    result : GLMMResult or LMMResult
        The fit (or any refitter: module notes).
    n : int
        The number of replicates, 1 to 10**6 (the loop's bound; each refit is bounded by its optimizer's
        iterations: 50 quasi-Newton steps for a GLMM, :func:`~quadlib.glmm._lmm.optimize_theta`'s for an LMM).
    seed : int or numpy.random.SeedSequence, optional
        Replicate k draws with ``SeedSequence(seed).spawn(n)[k]``: the same draws for any `workers` or
        `client`.
    statistic : callable, optional
        ``statistic(result) -> array-like``, evaluated on each replicate's fitted result. Default: the variance
        components on the standard-deviation scale (``sd_(Intercept)|herd``, ``cor_...``, ``sigma`` for LMMs)
        and ``params``, computed from the refit's parameters alone. A user statistic needs a full refit per
        replicate (final Hessian, the result object), several times slower than the default's refit mode, and
        gets BCa's acceleration from the delete-one-group jackknife (:func:`group_jackknife`: one more refit
        per top-level group, at most 2000 groups, made only when a BCa interval is asked for). A statistic
        that raises fails its replicate (NaN row, the error in ``errors``) and the run goes on.
    client : distributed.Client, optional
        Run the replicates as tasks on this Dask cluster (the result scattered once, one task per chunk).
    workers : int, optional
        Local worker processes (``concurrent.futures``); default ``os.cpu_count()``; 1 runs in this process.
        Chunks of about ``n / (4 workers)`` replicates; BLAS runs on one thread in each.
    progress : bool
        A line every 2 s: replicates done and failed, seconds so far.

    Returns
    -------
    BootstrapResult
        A refit that does not converge counts as failed (NaN row), as does a raising statistic. ``scores``
        (BCa): a GLMM's from the refit's first gradient (free: the refit starts at the estimate), an LMM's the
        analytic ML score over (beta, theta, sigma) at the estimate (dense V^-1: up to 5000 rows and 2000
        random effects, else None).

    Warns
    -----
    ConvergenceWarning
        Once, when some replicates failed: how many, and the first one's reason.

    Raises
    ------
    ValueError, TypeError
        `n` not an integer in [1, 10**6], `workers` not a positive integer, `statistic` not callable, `client`
        not a Dask client.

    Examples
    --------
    >>> from quadlib.glmm import datasets, fit
    >>> m = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"),
    ...         family="binomial")
    >>> boot = bootstrap(m, 20, seed=1, workers=1, progress=False)
    >>> list(boot.draws.columns)
    ['sd_(Intercept)|herd', '(Intercept)', 'period2', 'period3', 'period4']
    >>> boot.n_failed
    0
    """
    n, entropy, client, workers, progress = _bootstrap_iv(n, seed, client, workers, progress)
    if statistic is not None:
        v.callable_(statistic, "statistic")
    refitter = as_refitter(result)
    if statistic is None:
        names, estimate = list(refitter.names), np.asarray(refitter.estimate, dtype=float)
    else:
        try:
            value = statistic(result)
            estimate = np.asarray(value, dtype=float).ravel()
        except Exception as error:
            raise ValueError(f"`statistic` fails on the original fit: {_describe(error)}") from error
        names = [str(name) for name in value.index] if hasattr(value, "index") else [
            f"stat{j}" for j in range(estimate.size)]
    job = {"kind": "statistic", "refitter": refitter, "statistic": statistic}
    records = _run(job, n, entropy, client, workers, progress)
    boot = _collect(records, n, names, estimate, entropy)
    if statistic is None and boot.scores is not None:
        boot = replace(boot, score_directions=_score_directions(refitter, boot.scores))
    elif statistic is not None and callable(getattr(refitter, "refit_without", None)):
        boot = replace(boot, jackknife=_GroupJackknife(refitter, statistic, len(names)))
    return boot


def _score_directions(refitter, scores):
    """``Cov(x) J'``: the least-favourable directions of the statistics (BCa's acceleration), with ``Cov(x)``
    the refitter's covariance, or else the inverse of the scores' sample covariance (the Fisher information
    at the estimate); None when the refitter gives no Jacobian."""
    jacobian = getattr(refitter, "statistic_jacobian", None)
    J = jacobian() if callable(jacobian) else None
    if J is None:
        return None
    covariance = getattr(refitter, "covariance", None)
    cov = covariance() if callable(covariance) else None
    if cov is None:
        ok = np.all(np.isfinite(scores), axis=1)
        if ok.sum() <= scores.shape[1]:
            return None
        try:
            cov = np.linalg.inv(np.cov(scores[ok], rowvar=False).reshape(scores.shape[1], scores.shape[1]))
        except np.linalg.LinAlgError:
            return None
    cov = np.asarray(cov, dtype=float)
    return np.where(np.isfinite(cov), cov, 0.0) @ J.T


def bootstrap_lrt(m0, m1, n, *, seed=None, client=None, workers=None, progress=False):
    """The parametric bootstrap likelihood-ratio test of the nested fits `m0` (null) in `m1` (pbkrtest's
    ``PBmodcomp``): `n` responses simulated from `m0`, both models refitted to each, ``T* = 2 (llf1 - llf0)``
    clipped at 0; the p-value ``(1 + #{T* >= T}) / (1 + n_ok)`` (:meth:`BootstrapResult.pvalue`, and the
    table of :meth:`BootstrapResult.lrt_table`). Here only the rows and the parameter counts are checked (`m1`
    must have more); :func:`anova` checks the nesting in full.

    Parameters
    ----------
    m0, m1 : fitted results (or refitters with ``rows``, ``llf`` and ``n_params``)
        On the same data rows.
    n, seed, client, workers, progress
        As :func:`bootstrap`.

    Returns
    -------
    BootstrapResult
        One column ``LRT``; ``estimate["LRT"]`` the observed statistic, ``lrt_df`` the difference in the
        number of parameters.
    """
    n, entropy, client, workers, progress = _bootstrap_iv(n, seed, client, workers, progress)
    null, alternative = as_refitter(m0), as_refitter(m1)
    rows0, rows1 = np.asarray(null.rows), np.asarray(alternative.rows)
    if rows0.size != rows1.size or not np.array_equal(np.sort(rows0), np.sort(rows1)):
        raise ValueError("`m0` and `m1` must be fitted to the same data rows")
    to_alternative = _positions(rows0)[rows1]   # m0's design order -> m1's
    statistic = max(0.0, 2.0 * (float(m1.llf) - float(m0.llf)))
    df = int(getattr(m1, "df_modelwc", 0)) - int(getattr(m0, "df_modelwc", 0))
    if hasattr(m0, "df_modelwc") and hasattr(m1, "df_modelwc") and df <= 0:
        # the same model twice, or the pair reversed: T* would be clipped to 0 and every p-value 1
        raise ValueError(f"`m1` must have more parameters than `m0` (m0 nested in m1), got {int(m1.df_modelwc)} "
                         f"and {int(m0.df_modelwc)}; anova(m0, m1, method='boot') checks the nesting in full")
    job = {"kind": "lrt", "null": null, "alternative": alternative, "to_alternative": to_alternative}
    records = _run(job, n, entropy, client, workers, progress)
    return _collect(records, n, ["LRT"], np.array([statistic]), entropy, lrt_df=df)
