"""Conditional likelihood for grouped binary and count data: :func:`conditional_fit`.

Conditioning on a sufficient statistic for each group's own intercept removes it from the likelihood, so the
coefficients of the covariates that vary *within* groups are estimated without a model (or an integral) for
the group effects (Breslow and Day 1980, ch. 7):

* binary responses (matched case-control sets, longitudinal binary data): condition on each group's number of
  events t_i. A group of m_i rows contributes ``exp(sum_j y_j x_j' beta) / sum_{|S| = t_i} exp(sum_{j in S}
  x_j' beta)``, the denominator summed over every subset of t_i rows: survival::clogit's exact method;
* counts: condition on each group's total n_i, which leaves a multinomial likelihood with probabilities
  softmax(x_j' beta) within the group. Its maximum and curvature are those of a Poisson GLM with one fixed
  effect per group.

The pipeline is lme4-shaped like the rest of quadlib.glmm: the formula is evaluated by :mod:`._design`'s
helpers (names as R writes them), the rows are grouped and centred within groups (:class:`ConditionalObjective`),
the log-likelihood with its analytic gradient and Hessian comes from the compiled kernel
``quadlib._extensions._conditional`` (the O(m t) recursion of Gail, Lubin and Rubinstein 1981 for the binary
denominator), and Newton-Raphson with step halving maximizes it.
"""
from dataclasses import dataclass, replace
import re
import warnings

import numpy as np

from .. import _validation as v
from .._extensions import _conditional as _kernel
from ._design import (aliased_columns, check_factor_levels, drop_missing, evaluate_expression, group_labels,
                      identifiers, model_frame, model_matrix)
from ._formula import parse_formula, split_top_level
from ._linalg import cholesky
from ._optimize import GLMM_OPTIONS, ConvergenceWarning, blas_controller, optimize
from ._conditional_result import ConditionalResult

__all__ = ["conditional_fit", "ConditionalResult", "ConditionalObjective"]

_FAMILIES = ("binomial", "poisson")
_STRATA = re.compile(r"^strata\s*\(\s*([A-Za-z_.][\w.]*(?:\s*:\s*[A-Za-z_.][\w.]*)*)\s*\)$")
_CONSTANT = 1e-10        # a column whose within-group deviations are below this times its size is constant
_MAX_ITER = 100          # Newton iterations
_MAX_HALVINGS = 40       # step halvings per iteration
_DECREMENT = 1e-20       # converged when the Newton decrement g'(-H)^-1 g is below this ...
_DECREMENT_ROUNDING = 1e-10  # ... or below this when no step along the Newton direction raises llf (rounding)
_SEPARATION = 1e-8       # the information at the estimate relative to that at beta = 0, in its weakest direction:
                         # below this a coefficient is running off to infinity


# ---------------------------------------------------------------------------------------------------------
# the data, grouped
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Groups:
    """The rows of the groups that carry information, sorted by group: the response, the fixed-effect columns
    centred within groups (only the identifiable ones), the offset and where each group starts."""

    y: np.ndarray
    X: np.ndarray
    offset: np.ndarray
    starts: np.ndarray
    names: list
    dropped_columns: list
    levels: np.ndarray        # the group of each block
    rows: np.ndarray          # positions in `data` of the rows used, in the design's order
    nobs: int                 # rows without missing values (as R's n: also those of the dropped groups)
    n_events: float           # sum of the response over those rows
    n_dropped_groups: int
    n_dropped_rows: int

    @property
    def ngroups(self):
        return self.starts.size - 1


def _split_group(formula, group):
    """The formula without a ``strata(g)`` term, and the grouping column(s)."""
    parsed = parse_formula(formula)
    if parsed.random:
        raise ValueError(f"`formula` has random terms ({', '.join(map(str, parsed.random))}): conditional_fit takes a "
                         "fixed-effects formula and the groups in `group` (or a strata() term)")
    if parsed.cbind is not None:
        raise ValueError("`formula`: a cbind(successes, failures) response is not supported: give one row per "
                         "Bernoulli trial (a 0/1 response)")
    pieces, strata = [], []
    for piece in (p.strip() for p in split_top_level(parsed.fixed, "+")):
        match = _STRATA.match(piece)
        if match:
            strata.append(re.sub(r"\s+", "", match.group(1)))
        elif piece:
            pieces.append(piece)
    if len(strata) > 1:
        raise ValueError(f"`formula` has {len(strata)} strata() terms: give one (several columns as strata(a:b))")
    if group is None and not strata:
        raise ValueError("`group` is required: the column whose levels are the groups (strata, clusters), or a "
                         "strata(column) term in `formula`")
    if group is not None and not isinstance(group, str):
        raise TypeError(f"`group` must be a column name (str), got {type(group).__name__}")
    if group is not None and strata and re.sub(r"\s+", "", group) != strata[0]:
        raise ValueError(f"`group`={group!r} and the formula's strata({strata[0]}) name different groups")
    group = re.sub(r"\s+", "", group) if group is not None else strata[0]
    return parsed, " + ".join(pieces) or "1", group


def _conditional_iv(formula, data, group, family, max_iter):
    import pandas as pd

    family = v.choice(family, _FAMILIES, "family")
    max_iter = v.positive_int(max_iter, "max_iter", maximum=10_000)
    parsed, rhs, group = _split_group(formula, group)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"`data` must be a pandas DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("`data` has no rows")
    for name in group.split(":"):
        if name not in data.columns:
            raise ValueError(f"`group` names column {name!r}, which is not in `data`")
    response = parsed.response.strip()
    for name in identifiers(response):
        if name in data.columns and not (pd.api.types.is_numeric_dtype(data[name])
                                         or pd.api.types.is_bool_dtype(data[name])):
            raise TypeError(f"`formula`: the response column {name!r} must be numeric (0/1 or counts), got dtype "
                            f"{data[name].dtype}")

    # rows with a missing value in any column the model uses are dropped, as in build_design
    used = sorted({t for t in identifiers(f"{response} ~ {rhs}") if t in data.columns}
                  | set(group.split(":")))
    rows, frame = drop_missing(data, used)
    # R's factor levels (a Categorical's order), clear errors for mixed-type columns and one-level factors
    frame = model_frame(frame, used, group.split(":"), data.index[rows])
    check_factor_levels(rhs, frame, "the fixed effects")

    y = evaluate_expression(response, frame, "the response")
    X, names, formula_offset, *_ = model_matrix(rhs, frame, "the fixed effects")
    offset = np.zeros(len(frame)) if formula_offset is None else formula_offset
    if not np.all(np.isfinite(y)):
        raise ValueError(f"`formula`: the response {response!r} is not finite in {int((~np.isfinite(y)).sum())} "
                         "row(s)")
    if family == "binomial" and not np.all((y == 0) | (y == 1)):
        bad = np.unique(y[(y != 0) & (y != 1)])[:3]
        raise ValueError(f"`formula`: the response {response!r} must be 0/1 for family='binomial' (conditional "
                         f"logistic regression), got {', '.join(f'{b:g}' for b in bad)}")
    if family == "poisson" and not np.all((y >= 0) & (y == np.floor(y))):
        bad = np.unique(y[(y < 0) | (y != np.floor(y))])[:3]
        raise ValueError(f"`formula`: the response {response!r} must be non-negative integer counts for "
                         f"family='poisson', got {', '.join(f'{b:g}' for b in bad)}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(offset))):
        raise ValueError("the fixed-effect columns or the offset are not finite in some rows after dropping missing "
                         "values (e.g. log of zero)")

    # group, then keep the groups that carry information
    codes, levels = _codes(group_labels(frame, group))
    order = np.argsort(codes, kind="stable")
    codes, y, X, offset, rows = codes[order], y[order], X[order], offset[order], rows[order]
    sizes = np.bincount(codes, minlength=levels.size)
    totals = np.bincount(codes, weights=y, minlength=levels.size)
    informative = (totals > 0) & (sizes > 1)
    if family == "binomial":
        informative &= totals < sizes
    keep = informative[codes]
    if not informative.any():
        what = "both an event and a non-event" if family == "binomial" else "a positive total and two rows"
        raise ValueError(f"no group of `group`={group!r} has {what}: the conditional likelihood carries no "
                         "information")
    nobs, n_events = y.size, float(y.sum())
    y, X, offset, rows, codes = y[keep], X[keep], offset[keep], rows[keep], codes[keep]
    starts = np.concatenate([[0], np.cumsum(sizes[informative])]).astype(np.intp)

    # centre within groups: the conditional likelihood does not change, the recursion's sums stay small, and
    # the columns constant within every group (the intercept, group-level covariates) become zero
    block = np.repeat(np.arange(starts.size - 1), np.diff(starts))
    means = np.add.reduceat(X, starts[:-1], axis=0) / np.diff(starts)[:, None] if X.shape[1] else X[:0]
    centred = X - means[block] if X.shape[1] else X
    size = np.max(np.abs(X), axis=0, initial=0.0)
    constant = np.max(np.abs(centred), axis=0, initial=0.0) <= _CONSTANT * size
    varying = np.flatnonzero(~constant)
    kept, _ = aliased_columns(centred[:, varying], [names[j] for j in varying])
    kept = [varying[j] for j in kept]
    dropped = [names[j] for j in range(len(names)) if j not in kept]
    noted = [name for name in dropped if name != "(Intercept)"]
    if noted:
        warnings.warn(f"not identifiable from within-group contrasts, dropped {len(noted)} column(s): "
                      f"{', '.join(noted)} (constant within every group, or aliased)", UserWarning, stacklevel=3)
    if not kept:
        raise ValueError(f"`formula`: no column varies within the groups of {group!r}"
                         f"{' (dropped: ' + ', '.join(dropped) + ')' if dropped else ''}: nothing to estimate")
    X = np.ascontiguousarray(centred[:, kept])
    return (family, max_iter, group,
            _Groups(np.ascontiguousarray(y, dtype=float), X, np.ascontiguousarray(offset, dtype=float), starts,
                    [names[j] for j in kept], dropped, levels[informative], rows, nobs, n_events,
                    int((~informative).sum()), int(nobs - y.size)))


def _codes(labels):
    import pandas as pd

    codes, levels = pd.factorize(labels)
    return codes.astype(np.intp), np.asarray(levels, dtype=object)


# ---------------------------------------------------------------------------------------------------------
# the objective
# ---------------------------------------------------------------------------------------------------------
class ConditionalObjective:
    """The conditional log-likelihood of grouped data as a function of the coefficients.

    ``loglik(beta, order)`` returns ``(llf, gradient, hessian)``: order 0 the value only (the derivatives are
    None), 1 with the gradient, 2 with the Hessian as well. The binary likelihood needs no constant; the
    Poisson one includes each group's multinomial coefficient ``log n_i! - sum_j log y_j!``.
    ``group_llf`` is the kernel's output buffer: the groups' contributions at the last coefficients evaluated
    (not necessarily the estimate).
    """

    def __init__(self, groups, family):
        self.groups, self.family = groups, family
        g = groups
        self._eta = np.empty(g.y.size)
        self.group_llf = np.empty(g.ngroups)
        self._gradient = np.empty(g.X.shape[1])
        self._hessian = np.empty((g.X.shape[1], g.X.shape[1]))
        if family == "binomial":
            self._work = np.empty(_kernel.binary_workspace(g.starts, g.y, g.X.shape[1]))
            self._kernel = _kernel.binary_loglik
            self.constant = 0.0
        else:
            from scipy.special import gammaln

            self._work = np.empty(int(np.diff(g.starts).max()) + 2 * g.X.shape[1])
            self._kernel = _kernel.poisson_loglik
            totals = np.add.reduceat(g.y, g.starts[:-1])
            self.constant = float(np.sum(gammaln(totals + 1.0)) - np.sum(gammaln(g.y + 1.0)))
        self.evaluations = 0

    @property
    def names(self):
        return self.groups.names

    @property
    def n_params(self):
        return self.groups.X.shape[1]

    def __repr__(self):
        return (f"ConditionalObjective({self.family}, {self.groups.ngroups} groups, {self.groups.y.size} rows, "
                f"params {self.names})")

    def loglik(self, beta, order=2):
        beta = np.ascontiguousarray(beta, dtype=float)
        g = self.groups
        status = self._kernel(g.X, g.offset, beta, g.y, g.starts, int(order), self._eta, self.group_llf,
                              self._gradient, self._hessian, self._work)
        self.evaluations += 1
        value = float(np.sum(self.group_llf)) + self.constant if status == 0 else -np.inf
        gradient = self._gradient.copy() if order >= 1 else None
        hessian = self._hessian.copy() if order >= 2 else None
        return value, gradient, hessian

    def __call__(self, beta):
        return self.loglik(beta, 0)[0]

    log_likelihood = __call__

    # the objective protocol of quadlib.glmm.optimize (optimizer="newton")
    @property
    def bounds(self):
        return [(None, None)] * self.n_params

    def start(self):
        """The coefficients at 0 (every within-group contrast without effect)."""
        return np.zeros(self.n_params)

    def value_and_gradient(self, beta):
        return self.loglik(beta, 1)[:2]

    def value_gradient_hessian(self, beta):
        return self.loglik(beta, 2)


# ---------------------------------------------------------------------------------------------------------
# separation
# ---------------------------------------------------------------------------------------------------------
def _separation_message(weakest):
    return (f"the information about a combination of the coefficients has fallen to {weakest:.2g} times its value "
            "at 0: an estimate is running off to infinity (separation: the covariates predict the outcome within "
            "groups perfectly)")


def _weakest_information(hessian, hessian_null):
    """The smallest eigenvalue of I(beta) relative to I(0) (I = -Hessian): 1 for a quadratic log-likelihood,
    -> 0 along a direction in which the estimate goes to infinity (separation)."""
    from scipy.linalg import solve_triangular

    try:
        factor = cholesky(-hessian_null)
    except np.linalg.LinAlgError:
        return np.nan
    half = solve_triangular(factor, -hessian, lower=True)
    relative = solve_triangular(factor, half.T, lower=True)
    return float(np.linalg.eigvalsh(0.5 * (relative + relative.T)).min())


# ---------------------------------------------------------------------------------------------------------
# the public function
# ---------------------------------------------------------------------------------------------------------
def conditional_fit(formula, data, *, group=None, family="binomial", max_iter=_MAX_ITER):
    """Fit a conditional logistic or conditional Poisson regression by exact conditional maximum likelihood.

    Each group (matched set, stratum, subject) has its own intercept, removed by conditioning on its sufficient
    statistic: the number of events (``family="binomial"``: conditional logistic regression, R's
    ``survival::clogit(method = "exact")``) or the total count (``family="poisson"``: a multinomial likelihood
    within each group, whose estimates and standard errors equal a Poisson GLM's with one fixed effect per group).
    Only covariates that vary within groups are estimable.

    Parameters
    ----------
    formula : str
        Fixed effects only, R syntax as in :func:`quadlib.glmm.fit`: ``"case ~ spontaneous + induced"``;
        factors, interactions, ``I(...)``, ``offset(expr)``. A ``strata(g)`` term may name the groups instead of
        `group`. The intercept and any column constant within every group (or aliased with the others within
        groups) cannot be estimated and are dropped (``dropped_columns``; a warning names all but the intercept).
    data : pandas.DataFrame
    group : str
        The column whose levels are the groups (``"a:b"``: the combinations of two columns). Required unless
        `formula` has ``strata(g)``.
    family : {"binomial", "poisson"}
        A 0/1 response conditioned on each group's number of events, or counts conditioned on each group's total.
    max_iter : int
        Bound on the Newton iterations.

    Returns
    -------
    ConditionalResult

    Raises
    ------
    ValueError
        For an unknown `family`, a `group` (or strata) column not in `data`, a binomial response that is not
        0/1, a Poisson response that is not a non-negative integer, a formula with random terms, or when no
        group carries information or no column varies within groups.

    Warns
    -----
    ConvergenceWarning
        If Newton-Raphson does not converge (``converged=False``), in particular when an estimate runs off to
        infinity (separation: a covariate predicts the events within groups perfectly).
    UserWarning
        When groups without information are dropped (binomial: no event or no non-event; Poisson: total 0 or a
        single row; they contribute nothing to the likelihood: R's clogit drops them silently), when columns are
        dropped as not identifiable, and when rows with missing values are dropped.

    Notes
    -----
    For a group with m rows and t events the binary conditional likelihood is
    ``exp(sum_j y_j x_j' beta) / sum_{|S| = t} exp(sum_{j in S} x_j' beta)``. The denominator, summed over all
    C(m, t) subsets, is computed exactly by the recursion ``B(j, k) = B(j-1, k) + B(j-1, k-1) exp(x_j' beta)``
    in O(m min(t, m - t)) operations, held as ratios B(j, k) / B(j, k-1) (or in log space for extreme
    linear predictors) so that it cannot overflow; its gradient and Hessian are the conditional mean and
    covariance of ``sum_{j in S} x_j`` from the same recursion (see ``quadlib/_extensions/_conditional.pyx``).
    One group of 1000 rows and 500 events takes about 0.5 ms (2 ms with the gradient and Hessian, p = 2).

    ``llf`` is the conditional log-likelihood: for binary data ``sum_i log P(y_i | t_i)`` (R's
    ``clogit(...)$loglik``); for counts ``sum_i log P(y_i | n_i)`` with the multinomial coefficients
    ``log n_i! - sum_j log y_j!`` included (R's ``dmultinom(log = TRUE)``; it is the Poisson GLM's log-likelihood
    with group fixed effects minus ``sum_i (n_i log n_i - n_i - log n_i!)``).

    The coefficients start at 0 and Newton-Raphson with the exact Hessian (step halving when the log-likelihood
    would fall) runs until the Newton decrement ``g'(-H)^-1 g`` is below 1e-20. It stops without convergence when
    the information ``-H`` in some direction falls below 1e-8 times its value at 0 (the mark of an estimate running
    off to infinity) or after `max_iter` iterations. ``bse`` and ``cov_params`` come from the inverse of the
    observed information at the estimate.

    References
    ----------
    N. E. Breslow and N. E. Day, *Statistical Methods in Cancer Research, Volume I: The Analysis of Case-Control
    Studies*, IARC Scientific Publications 32, Lyon, 1980, chapter 7.

    M. H. Gail, J. H. Lubin and L. V. Rubinstein, "Likelihood calculations for matched case-control studies and
    survival studies with tied death times", Biometrika 68(3), 703-707, 1981.

    S. Howard, discussion of D. R. Cox, "Regression models and life-tables", Journal of the Royal Statistical
    Society B 34(2), 210-211, 1972.

    Examples
    --------
    >>> from quadlib.glmm import datasets
    >>> fit = conditional_fit("case ~ spontaneous + induced", datasets.load("infert"), group="stratum")
    >>> fit.params.round(5).to_dict(), fit.bse.round(5).tolist(), round(fit.llf, 4)
    ({'spontaneous': 1.98588, 'induced': 1.40901}, [0.35244, 0.36071], -64.2022)
    >>> epil = datasets.load("epilepsy")
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")   # one subject has no seizures: dropped
    ...     counts = conditional_fit("y ~ V4", epil, group="subject", family="poisson")
    >>> counts.params.round(5).to_dict(), counts.bse.round(5).tolist(), counts.n_dropped_groups
    ({'V4': -0.15977}, [0.05458], 1)
    >>> print(fit.summary())  # doctest: +ELLIPSIS
    Conditional logistic regression (exact conditional likelihood)
    ...
                       coef  exp(coef)  se(coef)        z          p
    spontaneous      1.9859     7.2854    0.3524    5.635   1.75e-08
    induced          1.4090     4.0919    0.3607    3.906   9.38e-05
    <BLANKLINE>
    Log-likelihood: -64.2022 (null model: -90.7794)
    Likelihood ratio test=53.15  on 2 df, p=2.869e-12
    n= 248, number of events= 83, groups= 83
    Not identifiable within groups, dropped: (Intercept)
    """
    family, max_iter, group, groups = _conditional_iv(formula, data, group, family, max_iter)
    if groups.n_dropped_groups:
        what = "no event or no non-event" if family == "binomial" else "a total of 0 or a single row"
        warnings.warn(f"dropped {groups.n_dropped_groups} group(s) of {group!r} with {what} ({groups.n_dropped_rows} "
                      "rows): they carry no information about the coefficients", UserWarning, stacklevel=2)
    objective = ConditionalObjective(groups, family)
    start = np.zeros(objective.n_params)
    with blas_controller().limit(limits=1, user_api="blas"):  # p x p algebra: see _optimize.py
        llnull, _, hessian_null = objective.loglik(start)

        def separated(beta, llf, gradient, hessian):
            """Stop when the information in some direction has fallen below _SEPARATION times its value at 0."""
            weakest = _weakest_information(hessian, hessian_null)
            return None if weakest > _SEPARATION else _separation_message(weakest)

        options = replace(GLMM_OPTIONS, newton_halvings=_MAX_HALVINGS, newton_decrement=_DECREMENT,
                          newton_rounding=_DECREMENT_ROUNDING, check=separated, warn=False)
        newton = optimize(objective, start, optimizer="newton", max_iter=max_iter, options=options)
        result = ConditionalResult.from_fit(formula=formula, family=family, group=group, groups=groups,
                                            objective=objective, newton=newton, llnull=llnull)
    if not result.converged:
        warnings.warn(f"conditional_fit did not converge: {result.message}", ConvergenceWarning, stacklevel=2)
    return result
