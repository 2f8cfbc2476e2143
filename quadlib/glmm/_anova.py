"""Likelihood-ratio tests between nested mixed models: :func:`anova` (lme4's ``anova`` of merMod fits) and
:func:`test_random` (one random term against the model without it, down to the GLM or LM), with the
chi-bar-square p-value of a variance on the boundary of its space beside the naive chi-square one.

The table is an :class:`AnovaFrame`, a pandas DataFrame printed as R prints ``anova``. A test of a variance
component has the boundary null distribution ``sum_j w_j chi2_j`` (Self & Liang 1987; Stram & Lee 1994); the
closed forms implemented are

* one new variance, alone or with the q covariances of an unstructured block it joins (q -> q + 1):
  ``0.5 chi2_(Df-1) + 0.5 chi2_Df``;
* k new independent variances (scalar terms, or a diagonal ``||`` block): binomial weights
  ``C(k, j) 2^-k`` on ``chi2_(Df-k+j)``, exact only when the information is block diagonal across the
  components (an approximation otherwise);
* the same variances with covariances added (``(x || g)`` -> ``(x | g)``): no parameter is on the boundary,
  and the p-value is the naive ``chi2_Df`` one.

Anything else gets NaN and the note "no closed form; use method='boot'" (``frame.attrs["chibar"]``).

References
----------
S. G. Self and K.-Y. Liang, "Asymptotic properties of maximum likelihood estimators and likelihood ratio tests
under nonstandard conditions", JASA 82 (1987), 605-610. D. O. Stram and J. W. Lee, "Variance components
testing in the longitudinal mixed effects model", Biometrics 50 (1994), 1171-1177. M. J. Silvapulle and P. K.
Sen, *Constrained Statistical Inference* (Wiley, 2005), section 3.6. U. Halekoh and S. Hojsgaard, "A
Kenward-Roger approximation and parametric bootstrap methods for tests in linear mixed models - the R package
pbkrtest", J. Stat. Softw. 59(9) (2014) (the bootstrap p-value).
"""
from collections import Counter
from dataclasses import replace
import math
import warnings

import numpy as np

from .. import _validation as v
from ._inference import information_criteria
from ._optimize import ConvergenceWarning
from ._summary import align_columns, format_numbers

__all__ = ["AnovaFrame", "anova", "test_random", "chibar_pvalue", "chibar_weights"]

COLUMNS = ["npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)", "Pr(>chibar2)"]
NO_CLOSED_FORM = "no closed form; use method='boot'"
_MAX_MODELS = 100           # models in one table
_MAX_BOOT = 10 ** 6         # bootstrap replicates (as bootstrap's `n`)
_NESTED_RTOL = 1e-8         # least-squares residual of one model matrix on another, relative
_GLM_MAX_STEPS = 100        # Newton steps of the null GLM (beyond glm_start's 25)
_DIGITS = 5                 # print.anova: max(getOption("digits") - 2, 3)
_STARS = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."), (1.0, " "))
_LEGEND = "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"


def _dataframe_class():
    import pandas as pd

    class AnovaFrame(pd.DataFrame):
        """The table of :func:`anova`: a pandas DataFrame, one row per model sorted by ``npar``, with lme4's
        columns ``npar, AIC, BIC, logLik, deviance, Chisq, Df, Pr(>Chisq)`` and ``Pr(>chibar2)`` (the
        chi-bar-square p-value of a tested variance component; NaN where none is tested or no closed form
        exists); ``method="boot"`` adds ``Pr(boot)``. ``heading`` holds the ``Models:`` lines; printing gives
        R's layout (NaN blank, ``format.pval``, significance stars from the chi-bar-square p-value where there
        is one, else the bootstrap's, else the naive one). Slicing gives a plain DataFrame. ``attrs["chibar"]`` describes each row's
        mixture, ``attrs["bootstrap"]`` (``method="boot"``) the bootstrap's LRT draws and failures."""

        _metadata = ["heading"]

        @property
        def _constructor(self):
            return pd.DataFrame

        def __repr__(self):
            return format_anova(self, getattr(self, "heading", ""))

        def _repr_html_(self):   # notebooks: the R layout, not pandas' HTML table
            import html
            return f"<pre>{html.escape(repr(self))}</pre>"

    AnovaFrame.__qualname__ = "AnovaFrame"   # pickled by reference to this module's AnovaFrame
    return AnovaFrame


_ANOVA_FRAME = None


def __getattr__(name):
    # pandas is imported only when the class is first used (the package's import stays light)
    global _ANOVA_FRAME
    if name == "AnovaFrame":
        if _ANOVA_FRAME is None:
            _ANOVA_FRAME = _dataframe_class()
        return _ANOVA_FRAME
    raise AttributeError(name)


def _new_frame(data, index, heading):
    frame = __getattr__("AnovaFrame")(data, index=index)
    frame.heading = heading
    return frame


# ------------------------------------------------------------------------------------------------ printing
def _zapsmall(values, digits):
    """R's zapsmall (4.2): ``round(x, max(0, digits - log10(max |x|)))``, whose fractional number of decimals
    R's round rounds to the nearest integer."""
    finite = np.abs(values[np.isfinite(values)])
    mx = finite.max() if finite.size else 0.0
    decimals = math.floor(max(0.0, digits - math.log10(mx)) + 0.5) if mx > 0 else digits
    return np.round(values, min(decimals, 15))


def _format_column(values, kind):
    values = np.asarray(values, dtype=float)
    ok = np.isfinite(values)
    out = [""] * values.size
    if not ok.any():
        return out
    if kind == "zap":
        text = format_numbers(_zapsmall(values, _DIGITS)[ok], _DIGITS)
    elif kind == "int":
        text = [str(int(round(x))) for x in values[ok]]
    elif kind == "statistic":   # printCoefmat's tst.ind: round to dig.tst = 4 decimals
        text = format_numbers(np.round(values[ok], _DIGITS - 1), _DIGITS)
    else:                        # format.pval(digits = 4, eps = machine epsilon): the others formatted together
        small = values[ok] < np.finfo(float).eps
        rest = format_numbers(values[ok][~small], _DIGITS - 1) if (~small).any() else []
        it = iter(rest)
        text = ["< 2.2e-16" if s else next(it) for s in small]   # format.pval: eps with digits - 2
    for i, t in zip(np.flatnonzero(ok), text):
        out[i] = t
    return out


def _star(p):
    if not math.isfinite(p):
        return ""
    return next(symbol for cut, symbol in _STARS if p <= cut)


def format_anova(frame, heading=""):
    """The text of an anova table in R's ``print.anova`` layout (``printCoefmat`` with 5 digits).

    Parameters
    ----------
    frame : pandas.DataFrame
        An :func:`anova` table (the columns of :data:`COLUMNS`, ``Pr(boot)`` optionally).
    heading : str
        Lines printed above the table.

    Returns
    -------
    str
    """
    columns = [c for c in frame.columns if not (c in ("Pr(>chibar2)", "Pr(boot)") and frame[c].isna().all())]
    kinds = {"npar": "zap", "AIC": "zap", "BIC": "zap", "logLik": "zap", "deviance": "zap",
             "Chisq": "statistic", "Df": "int"}
    cells = {c: _format_column(frame[c].to_numpy(dtype=float), kinds.get(c, "pvalue")) for c in columns}
    if "npar" in cells:
        cells["npar"] = _format_column(frame["npar"].to_numpy(dtype=float), "int")
    pcols = [c for c in ("Pr(>chibar2)", "Pr(boot)", "Pr(>Chisq)") if c in columns]
    stars = []
    for i in range(len(frame)):
        p = next((float(frame[c].iloc[i]) for c in pcols if math.isfinite(float(frame[c].iloc[i]))), math.nan)
        stars.append(_star(p))
    pvals = [float(frame[c].iloc[i]) for c in pcols for i in range(len(frame))]
    legend = any(math.isfinite(p) and p < 0.1 for p in pvals)
    rows = [[""] + columns + ([""] if legend else [])]
    for i, name in enumerate(frame.index):
        rows.append([str(name)] + [cells[c][i] for c in columns] + ([stars[i].ljust(3)] if legend else []))
    lines = [heading] if heading else []
    lines += align_columns(rows, gap=1)
    if legend:
        lines += ["---", _LEGEND]
    notes = frame.attrs.get("chibar") if hasattr(frame, "attrs") else None
    if notes and "Pr(>chibar2)" in frame.columns:
        described = [(name, note) for name, note in zip(frame.index, notes) if note]
        if described:
            lines.append("Pr(>chibar2): " + "; ".join(f"{name}: {note}" for name, note in described))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ chi-bar-square
def chibar_weights(k):
    """The binomial weights ``C(k, j) 2^-k`` (j = 0..k) of the LRT of k independent variances at zero.

    Parameters
    ----------
    k : int
        Number of variances tested (1 to 100).

    Returns
    -------
    numpy.ndarray
        k + 1 weights, summing to 1.

    Examples
    --------
    >>> chibar_weights(2).tolist()
    [0.25, 0.5, 0.25]
    """
    k = v.positive_int(k, "k", maximum=100)
    return np.array([math.comb(k, j) for j in range(k + 1)], dtype=float) / 2.0 ** k


def chibar_pvalue(statistic, weights, df):
    """P(T > statistic) for ``T ~ sum_j weights[j] chi2_(df[j])`` (chi2_0 is the point mass at 0).

    Parameters
    ----------
    statistic : float
        The likelihood-ratio statistic; at most 0 gives p = 1.
    weights, df : sequence
        The mixture's weights (non-negative, summing to 1) and degrees of freedom (non-negative integers).

    Returns
    -------
    float

    Examples
    --------
    >>> float(f"{chibar_pvalue(14.0058352357324, [0.5, 0.5], [0, 1]):.9g}")   # cbpp (1 | herd) vs the GLM
    9.11220896e-05
    """
    from scipy.stats import chi2

    statistic = v.real_scalar(statistic, "statistic", finite=False)
    weights, df = v.real_array(weights, "weights"), v.real_array(df, "df")
    if weights.shape != df.shape or weights.ndim != 1 or weights.size == 0 or weights.size > 1000:
        raise ValueError("`weights` and `df` must be 1-D sequences of the same length, 1 to 1000")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or abs(weights.sum() - 1.0) > 1e-12:
        raise ValueError(f"`weights` must be non-negative and sum to 1, got {weights.tolist()}")
    if not np.all(np.isfinite(df)) or np.any(df < 0):
        raise ValueError(f"`df` must be non-negative, got {df.tolist()}")
    if statistic <= 0:
        return 1.0
    if math.isinf(statistic):
        return 0.0
    return float(sum(w * chi2.sf(statistic, d) for w, d in zip(weights, df) if d > 0))


def _blocks(design):
    """The random terms as (group, columns, correlated); a diagonal term is one block per column."""
    out = []
    for term in design.terms:
        if term.correlated:
            out.append((term.group, tuple(term.columns), True))
        else:
            out.extend((term.group, (c,), True) for c in term.columns)
    return out


def _mixture(blocks0, blocks1, df):
    """The chi-bar-square mixture of the LRT between two nested random structures: (weights, dfs, note), or
    (None, None, note) without a closed form; (None, None, "") when no variance component is tested."""
    c0, c1 = Counter(blocks0), Counter(blocks1)
    added, removed = list((c1 - c0).elements()), list((c0 - c1).elements())
    if not added and not removed:
        return None, None, ""
    def columns(blocks):
        return {(group, c) for group, cols, _ in blocks for c in cols}

    if columns(added) == columns(removed):
        k = 0                     # the same variances, covariances added: no parameter on the boundary
    elif not removed and all(len(cols) == 1 for _, cols, _ in added):
        k = len(added)            # new independent variances
    elif (len(added) == len(removed) == 1 and added[0][0] == removed[0][0]
          and set(removed[0][1]) < set(added[0][1]) and len(added[0][1]) == len(removed[0][1]) + 1):
        k = 1                     # one effect joins an unstructured block: 1 variance + q covariances
    else:
        return None, None, NO_CLOSED_FORM
    if df - k < 0:
        return None, None, NO_CLOSED_FORM
    weights = chibar_weights(k) if k else np.ones(1)
    dfs = [df - k + j for j in range(k + 1)]
    note = (" + ".join(f"{w:g} chi2_{d}" for w, d in zip(weights, dfs)) if k
            else f"chi2_{df} (no variance on the boundary)")
    return weights, dfs, note


# ---------------------------------------------------------------------------------------------- the models
class _Facts:
    """What the checks and the table need from one fitted model (public attributes only)."""

    def __init__(self, result, label):
        # what a fit can do, not its class (this module sits below the result modules): an LMM's objective
        # optimizes theta, a GLMM's is rebuilt on a new design; both have a Design with random terms
        objective = getattr(result, "objective", None)
        design = getattr(result, "design", None) or getattr(objective, "design", None)
        family = getattr(result, "family", None)
        if callable(getattr(objective, "optimize_theta", None)):
            self.kind = ("lmm",)
            self.describe = "a linear mixed model (lmm)"
        elif callable(getattr(objective, "rebuild", None)) and family is not None and hasattr(result, "method"):
            self.kind = ("glmm", family.name, family.link, str(result.method))
            self.describe = f"{family.name}({family.link}) by {result.method}"
        else:
            design = None
        if design is None or not all(hasattr(design, name) for name in ("terms", "rows", "X", "response")):
            raise TypeError(f"`{label}` must be a fitted GLMMResult or LMMResult (from fit or lmm) with its data in "
                            f"memory, got {type(result).__name__}")
        if not math.isfinite(float(result.llf)):
            raise ValueError(f"`{label}`: the fit has no finite log-likelihood ({result.llf})")
        self.result = result
        self.label = label
        self.design = design
        self.reml = bool(result.reml)
        self.llf = float(result.llf)
        self.npar = int(result.df_modelwc)
        self.aic, self.bic = float(result.aic), float(result.bic)
        self.formula = str(result.formula)
        self.blocks = _blocks(design)
        self.order = np.argsort(design.rows, kind="stable")


def _aligned(facts, array):
    return None if array is None else np.asarray(array)[facts.order]


def _same_data(a, b):
    if a.design.nobs != b.design.nobs:
        return f"different data: {a.design.nobs} and {b.design.nobs} observations"
    if not np.array_equal(a.design.rows[a.order], b.design.rows[b.order]):
        return "different data: the models use different rows of the data"
    for what in ("response", "trials", "weights"):
        x, y = _aligned(a, getattr(a.design, what)), _aligned(b, getattr(b.design, what))
        if (x is None) != (y is None) or (x is not None and not np.array_equal(x, y, equal_nan=True)):
            return f"different data: the {what} values differ"
    return ""


def _in_span(A, B):
    """Whether the columns of A lie in the column space of B (relative least-squares residual)."""
    if A.shape[1] == 0:
        return True
    if B.shape[1] == 0:
        return not np.any(A)
    coef = np.linalg.lstsq(B, A, rcond=None)[0]
    scale = max(1.0, float(np.linalg.norm(A)))
    return float(np.linalg.norm(A - B @ coef)) <= _NESTED_RTOL * scale


def _term_rows(facts, group):
    """(level labels per aligned row, Z columns per aligned row) of the terms of `group`."""
    labels, Z = None, []
    for term in facts.design.terms:
        if term.group != group:
            continue
        lev = np.asarray(term.levels, dtype=object)[np.asarray(term.index)][facts.order]
        labels = lev if labels is None else labels
        Z.append(np.asarray(term.Z, dtype=float)[facts.order])
    return labels, (np.column_stack(Z) if Z else np.zeros((facts.design.nobs, 0)))


def _not_nested(small, large):
    """Why `small` is not nested in `large`, or ""."""
    if not _in_span(_aligned(small, small.design.X), _aligned(large, large.design.X)):
        return (f"not nested: the fixed effects of {small.label} ({', '.join(small.design.fixed_names)}) are not "
                f"in the column space of {large.label}'s")
    for part, label in (("X_zi", "zero-inflation"), ("X_disp", "dispersion")):
        A, B = getattr(small.design, part, None), getattr(large.design, part, None)
        if A is not None and (B is None or not _in_span(_aligned(small, A), _aligned(large, B))):
            return f"not nested: the {label} model of {small.label} is not within {large.label}'s"
    for group in dict.fromkeys(g for g, _, _ in small.blocks):
        if group not in {g for g, _, _ in large.blocks}:
            return f"not nested: {large.label} has no random term for {group!r}, which {small.label} has"
        lab0, Z0 = _term_rows(small, group)
        lab1, Z1 = _term_rows(large, group)
        if not np.array_equal(lab0.astype(str), lab1.astype(str)):
            return f"not nested: the grouping factor {group!r} has different levels in the two models"
        if not _in_span(Z0, Z1):
            return (f"not nested: the random effects of {small.label} for {group!r} are not among {large.label}'s")
    return ""


def _same_fixed(a, b):
    Xa, Xb = _aligned(a, a.design.X), _aligned(b, b.design.X)
    return Xa.shape[1] == Xb.shape[1] and _in_span(Xa, Xb) and _in_span(Xb, Xa)


def _anova_iv(models, names, method, n):
    if len(models) > _MAX_MODELS:
        raise ValueError(f"`models`: at most {_MAX_MODELS} models, got {len(models)}")
    if len(models) < 2:
        raise ValueError(f"`models`: anova compares at least 2 fitted models, got {len(models)}")
    if names is None:
        names = [f"m{i + 1}" for i in range(len(models))]
    else:
        try:
            names = None if isinstance(names, str) else list(names)
        except TypeError:
            names = None
        if names is None or not all(isinstance(s, str) for s in names):
            raise TypeError("`names` must be a sequence of strings, one per model")
        if len(names) != len(models):
            raise ValueError(f"`names` must name the {len(models)} models, got {len(names)} names")
        if len(set(names)) != len(names):
            raise ValueError(f"`names` must be distinct, got {names}")
    method = v.choice(method.lower() if isinstance(method, str) else method, ("lrt", "boot"), "method")
    if method == "boot":
        n = v.positive_int(n, "n", maximum=_MAX_BOOT)
    facts = [_Facts(m, f"models[{i}]") for i, m in enumerate(models)]
    for f, name in zip(facts, names):
        f.label = name
    return facts, names, method, n


def _check_pair(small, large):
    reason = _same_data(small, large)
    if not reason and small.kind != large.kind:
        reason = (f"different models: {small.label} is {small.describe} and {large.label} is {large.describe}; "
                  "their likelihoods are not comparable")
    if not reason and small.reml != large.reml:
        reason = "a mix of REML and ML fits: refit them all with the same `reml`"
    if not reason and small.reml and not _same_fixed(small, large):
        reason = ("REML likelihoods of models with different fixed effects are not comparable; refit with "
                  "reml=False")
    if not reason and small.npar >= large.npar:
        reason = f"same number of parameters: not nested ({small.label} and {large.label} have {small.npar})"
    if not reason:
        reason = _not_nested(small, large)
    if reason:
        raise ValueError(f"`models`: {reason}")


def _table(facts, names, pairs_mixture, heading):
    """The AnovaFrame of rows `facts` (sorted), each row tested against the previous one."""
    from scipy.stats import chi2

    rows = {c: [] for c in COLUMNS}
    notes = []
    for i, f in enumerate(facts):
        rows["npar"].append(f.npar)
        rows["AIC"].append(f.aic)
        rows["BIC"].append(f.bic)
        rows["logLik"].append(f.llf)
        rows["deviance"].append(-2.0 * f.llf)
        if i == 0:
            for c in ("Chisq", "Df", "Pr(>Chisq)", "Pr(>chibar2)"):
                rows[c].append(math.nan)
            notes.append("")
            continue
        T = max(0.0, 2.0 * (f.llf - facts[i - 1].llf))   # as lme4: a larger model cannot fit worse
        df = f.npar - facts[i - 1].npar
        rows["Chisq"].append(T)
        rows["Df"].append(df)
        rows["Pr(>Chisq)"].append(float(chi2.sf(max(T, 0.0), df)) if T > 0 else 1.0)
        weights, dfs, note = pairs_mixture[i - 1]
        rows["Pr(>chibar2)"].append(chibar_pvalue(T, weights, dfs) if weights is not None else math.nan)
        notes.append(note)
    frame = _new_frame(rows, [f.label for f in facts], heading)
    frame["npar"] = frame["npar"].astype(int)
    frame.attrs["chibar"] = notes
    return frame


def _heading(facts):
    return "Models:\n" + "\n".join(f"{f.label}: {f.formula}" for f in facts)


def _warn_unconverged(facts):
    for f in facts:
        if not getattr(f.result, "converged", True):
            warnings.warn(f"anova: {f.label} did not converge; its log-likelihood may not be the maximum",
                          ConvergenceWarning, stacklevel=3)


def anova(*models, names=None, method="lrt", n=1000, seed=None, client=None, workers=None):
    """Likelihood-ratio tests between nested mixed models, as lme4's ``anova(m0, m1, ...)``.

    Each model (sorted by its number of parameters) is tested against the one before it:
    ``Chisq = 2 (logLik - logLik_previous)`` (at least 0, as lme4) on ``Df`` = the difference in parameters. Where the larger model
    adds variance components, ``Pr(>chibar2)`` is the chi-bar-square p-value (module notes: one new variance,
    with or without the covariances of the block it joins, and k independent variances have closed forms;
    otherwise NaN). REML fits with the same fixed effects are compared on their REML likelihoods (lme4's
    ``refit = FALSE``); REML fits with different fixed effects are refused, as their likelihoods are not
    comparable (lme4 refits them by ML: refit with ``reml=False``).

    Parameters
    ----------
    *models : GLMMResult or LMMResult
        At least 2 fits (at most 100) of nested models to the same data (same rows, response, trials and
        weights), the same family and link, the same method (Laplace and AGQ with n nodes are different
        approximations of the likelihood) and all ML or all REML.
    names : sequence of str, optional
        Row names, one per model in argument order (default ``"m1", "m2", ...``).
    method : {"lrt", "boot"}
        ``"boot"`` adds ``Pr(boot)``: the parametric bootstrap p-value of each test
        (:func:`~quadlib.glmm._bootstrap.bootstrap_lrt`, pbkrtest's ``PBmodcomp``: simulate from the smaller
        model, refit both, ``(1 + #{T* >= T}) / (1 + n_ok)``), its draws in ``attrs["bootstrap"]``.
    n : int
        Bootstrap replicates per test (``method="boot"``; at most 10**6; each refit is bounded by the
        optimizer's iteration limit).
    seed, client, workers
        Passed to the bootstrap (``method="boot"``).

    Returns
    -------
    AnovaFrame

    Raises
    ------
    TypeError
        A model that is not a fitted GLMMResult or LMMResult.
    ValueError
        Fewer than 2 models, different data, family, link or method, a mix of REML and ML fits, REML fits
        with different fixed effects, models that are not nested (fixed-effect columns outside the larger
        model's column space, a random term the larger model lacks, the same number of parameters).

    Examples
    --------
    >>> from quadlib.glmm import datasets, fit
    >>> cbpp = datasets.load("cbpp")
    >>> m0 = fit("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", cbpp, family="binomial")
    >>> m1 = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")
    >>> table = anova(m0, m1)
    >>> round(float(table["Chisq"].iloc[1]), 4), int(table["Df"].iloc[1])
    (25.6101, 3)

    References
    ----------
    Self & Liang (1987); Stram & Lee (1994); Halekoh & Hojsgaard (2014): see the module notes.
    """
    facts, names, method, n = _anova_iv(models, names, method, n)
    order = sorted(range(len(facts)), key=lambda i: facts[i].npar)   # stable: ties keep argument order
    facts = [facts[i] for i in order]
    for small, large in zip(facts, facts[1:]):
        _check_pair(small, large)
    _warn_unconverged(facts)
    mixtures = [_mixture(a.blocks, b.blocks, b.npar - a.npar) for a, b in zip(facts, facts[1:])]
    frame = _table(facts, names, mixtures, _heading(facts))
    if method == "boot":
        _add_bootstrap(frame, [(a.result, b.result) for a, b in zip(facts, facts[1:])], n, seed, client, workers)
    return frame


def _add_bootstrap(frame, pairs, n, seed, client, workers):
    from ._bootstrap import bootstrap_lrt

    pvalues, runs = [math.nan], []
    for m0, m1 in pairs:
        boot = bootstrap_lrt(m0, m1, n, seed=seed, client=client, workers=workers)
        draws = boot.draws["LRT"].to_numpy(dtype=float)
        # every replicate failed (bootstrap_lrt warned): no p-value, not (1 + 0) / (1 + 0)
        pvalues.append(boot.pvalue() if np.isfinite(draws).any() else math.nan)
        runs.append({"draws": draws, "n_failed": int(boot.n_failed), "result": boot})
    frame["Pr(boot)"] = pvalues
    frame.attrs["bootstrap"] = runs


# ------------------------------------------------------------------------------------ test of a random term
class NullModel:
    """A model without random effects fitted to a mixed model's data: the GLM (Newton's method to
    convergence) or the LM (least squares; sigma^2 = RSS/n by ML, the REML criterion by REML), the null
    model of :func:`test_random` when the term tested is the only one. It has what the table needs
    (``llf``, ``df_modelwc``, ``aic``, ``bic``, ``formula``, ``params``) and the bootstrap's refitter protocol
    (``simulate(seed)``, ``refit(y)``, ``statistic(outcome)``, ``names``).

    Supported: the families without a shape parameter, a zero-inflation or a dispersion model; the GLM's
    single dispersion (negative binomial theta, Gamma shape, ...) is found by Brent's method on log phi
    (bounded search within e^+-20 of the moment estimate, at most 500 steps), beta profiled out by Newton's
    method (at most 100 steps). Others raise ValueError in v1.
    """

    def __init__(self, result, design, reml):
        self.design, self.reml = design, bool(reml)
        self.family = getattr(result, "family", None)
        self.gaussian = self.family is None or self.family.name == "gaussian"
        if self.family is not None:
            obj = result.objective
            if not obj.response.plain:
                raise ValueError(f"`result`: the null GLM of a {self.family.name} model with a shape, "
                                 "zero-inflation or dispersion model is not implemented; use anova() with a "
                                 "mixed model that keeps another random term")
            self.y, self.n, self.constant = np.asarray(obj.y, float), np.asarray(obj.n, float), obj.constant
            # a proportion response with the trials as weights: the design's response is y / n
            self._per_trial = (design.trials is None and design.weights is not None and not self.gaussian
                               and bool(getattr(self.family, "weights_are_trials", False)))
            if self.gaussian and self.family.link != "identity":
                raise ValueError("`result`: the null model of a gaussian GLMM with a non-identity link is not "
                                 "implemented")
        else:
            self.y = np.asarray(design.response, float)
            self.n = np.ones_like(self.y) if design.weights is None else np.asarray(design.weights, float)
        if self.family is None or self.gaussian:
            self._per_trial = False
        self.rows = np.asarray(design.rows)
        self.offset = np.zeros_like(self.y) if design.offset is None else np.asarray(design.offset, float)
        self.X = np.asarray(design.X, float)
        dispersion = self.gaussian or self.family.has_dispersion
        self.names = list(design.fixed_names) + (["sigma"] if self.gaussian else
                                                 [str(self.family.dispersion_name)] if dispersion else [])
        self.nobs = self.y.size
        self.df_modelwc = self.X.shape[1] + int(dispersion)
        from ._formula import parse_formula

        self.formula = f"{design.formula.split('~', 1)[0].strip()} ~ {parse_formula(design.formula).fixed}"
        outcome = self._fit(self.y)
        if not outcome.converged:
            warnings.warn("test_random: the null model's fit did not converge", ConvergenceWarning, stacklevel=3)
        self.params, self.llf, self.converged = outcome.x, outcome.llf, outcome.converged
        # the information criteria written once (_inference), as every result reports them
        self.aic, self.bic, _ = information_criteria(self.llf, self.df_modelwc, self.nobs)

    def _lm(self, y):
        w = self.n
        sw = np.sqrt(w)
        X, r0 = self.X * sw[:, None], (y - self.offset) * sw
        beta = np.linalg.lstsq(X, r0, rcond=None)[0] if X.shape[1] else np.zeros(0)
        rss = float(np.sum((r0 - X @ beta) ** 2))
        n, p = y.size, X.shape[1]
        log_w = float(np.sum(np.log(w)))
        if self.reml:
            s2 = rss / (n - p)
            logdet = np.linalg.slogdet(X.T @ X)[1] if p else 0.0
            llf = -0.5 * ((n - p) * math.log(2 * math.pi * s2) + logdet + (n - p) - log_w)
        else:
            s2 = rss / n
            llf = -0.5 * (n * math.log(2 * math.pi * s2) + n - log_w)
        return np.append(beta, math.sqrt(s2)), float(llf), True

    def _beta(self, y, phi, beta):
        """Newton's method with step halving for beta at a fixed dispersion `phi` (None without one), from
        `beta`: (beta, sum of the row terms, converged). At most 100 steps, 50 halvings each."""
        fam, X = self.family, self.X

        def value(b):
            return float(np.sum(fam.terms(y, self.n, self.offset + X @ b, phi, order=2).value))

        current = value(beta)
        for _ in range(_GLM_MAX_STEPS):
            t = fam.terms(y, self.n, self.offset + X @ beta, phi, order=2)
            grad = X.T @ t.d1
            if np.max(np.abs(grad), initial=0.0) < 1e-9 * max(1.0, abs(current)):
                return beta, current, True
            try:
                step = np.linalg.solve(-(X.T @ (t.d2[:, None] * X)), grad)
            except np.linalg.LinAlgError:
                break
            for _ in range(50):
                trial = value(beta + step)
                if math.isfinite(trial) and trial >= current - 1e-12 * abs(current):
                    break
                step = step / 2
            else:
                break
            beta, current = beta + step, trial
        return beta, current, False

    def _glm(self, y):
        from types import SimpleNamespace
        from ._objective import glm_start

        fam = self.family
        part = SimpleNamespace(X=self.X, offset=self.offset)
        beta = glm_start(fam, y, self.n, part)
        constant = float(fam.log_constant(y, self.n))
        if not fam.has_dispersion:
            beta, value, ok = self._beta(y, None, beta)
            return beta, value + constant, ok
        from scipy.optimize import minimize_scalar

        # the dispersion by Brent's method on log phi, beta profiled out (warm-started from the last beta)
        s0 = math.log(fam.start_dispersion(y, self.n, fam.inverse_link(self.offset + self.X @ beta)))
        warm = [beta, True]

        def negative_profile(s):
            b, value, ok = self._beta(y, math.exp(s), warm[0])
            if math.isfinite(value):
                warm[0] = b
            warm[1] = ok
            return -value if math.isfinite(value) else math.inf

        found = minimize_scalar(negative_profile, bounds=(s0 - 20.0, s0 + 20.0), method="bounded",
                                options={"xatol": 1e-10, "maxiter": 500})
        phi = math.exp(found.x)
        beta, value, ok = self._beta(y, phi, warm[0])
        at_bound = abs(found.x - s0) > 19.9
        return np.append(beta, phi), value + constant, bool(ok and found.success and not at_bound)

    def refit(self, y):
        """The null model fitted to response `y` (the design's convention and row order): an outcome with
        ``x``, ``llf``, ``converged``."""
        y = np.asarray(y, dtype=float)
        # successes = proportion x trials, rounded as normalize_response does ((7 / 25) * 25 = 7 + 1e-15)
        return self._fit(np.round(y * self.n) if self._per_trial else y)

    def _fit(self, y):
        from types import SimpleNamespace

        if self.family is None or self.gaussian:
            x, llf, ok = self._lm(y)
        else:
            x, llf, ok = self._glm(y)
        return SimpleNamespace(x=np.asarray(x, float), llf=float(llf), converged=bool(ok), score_at_start=None)

    def simulate(self, seed):
        """One response vector from the fitted null model (design row order)."""
        rng = np.random.default_rng(seed)
        p = self.X.shape[1]
        eta = self.offset + self.X @ self.params[:p]
        if self.gaussian:
            return eta + self.params[p] / np.sqrt(self.n) * rng.standard_normal(eta.size)
        phi = self.params[p] if self.params.size > p else None
        y = np.asarray(self.family.simulate(eta, self.n, phi=phi, rng=rng), dtype=float)
        return y / self.n if self._per_trial else y

    def statistic(self, outcome):
        return np.asarray(outcome.x, dtype=float)


def _reduced_fit(result, design):
    """The mixed model without the tested term, refitted (other random terms remain): a result of the same
    class as `result`, built through the objects it holds (its objective's class, ``optimize_theta`` or
    ``rebuild``, and its class's ``from_fit``)."""
    objective = result.objective
    if callable(getattr(objective, "optimize_theta", None)):
        from types import SimpleNamespace
        import pandas as pd

        reduced = type(objective)(design, reml=result.reml)
        # from_fit reads the data's index alone (the fitted values' labels): positions stand in for them
        data = SimpleNamespace(index=pd.RangeIndex(int(np.max(design.rows, initial=-1)) + 1))
        return type(result).from_fit(design=design, objective=reduced, optimum=reduced.optimize_theta(),
                                     data=data, optimizer=result.optimizer)
    if result.reml:
        raise ValueError("`result`: test_random of a REML GLMM with other random terms is not implemented; refit "
                         "with reml=False")
    from ._optimize import optimize

    reduced = objective.rebuild(design)
    return type(result).from_fit(objective=reduced, outcome=optimize(reduced), method=result.method,
                                 formula=design.formula)


def _formula_without(formula, group):
    from ._formula import parse_formula

    parsed = parse_formula(formula)
    kept = [str(t) for t in parsed.random if t.group != group]
    return f"{formula.split('~', 1)[0].strip()} ~ " + " + ".join([parsed.fixed] + kept)


def test_random(result, group, *, method="lrt", n=1000, seed=None, client=None, workers=None):
    """The likelihood-ratio test of the random terms of one grouping factor: `result` against the same model
    without them, refitted; without any random term left, against the GLM or LM (:class:`NullModel`; lme4's
    ``anova`` refuses that comparison, R users compute it by hand).

    ``Pr(>chibar2)`` is the chi-bar-square p-value (a random intercept: ``0.5 chi2_0 + 0.5 chi2_1``; module
    notes), ``Pr(>Chisq)`` the naive one.

    Parameters
    ----------
    result : GLMMResult or LMMResult
        The fit with the term.
    group : str
        The grouping factor whose terms are removed (e.g. ``"herd"``).
    method : {"lrt", "boot"}
        ``"boot"`` adds the parametric bootstrap p-value ``Pr(boot)`` (:func:`anova`).
    n, seed, client, workers
        The bootstrap's (``method="boot"``).

    Returns
    -------
    AnovaFrame
        Rows ``m0`` (without the term) and ``m1`` (`result`).

    Raises
    ------
    TypeError
        `result` is not a GLMMResult or LMMResult, or `group` not a string.
    ValueError
        `group` names no random term; a null GLM this version does not fit (a family with a shape parameter,
        a zero-inflation or a dispersion model); a REML GLMM with other terms.

    Examples
    --------
    >>> from quadlib.glmm import datasets, fit
    >>> m = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"),
    ...         family="binomial")
    >>> table = test_random(m, "herd")
    >>> round(float(table["Chisq"].iloc[1]), 4), float(table["Pr(>chibar2)"].iloc[1]) < 1e-4
    (14.0058, True)
    """
    facts1 = _Facts(result, "result")
    if not isinstance(group, str):
        raise TypeError(f"`group` must be a string (a grouping factor), got {type(group).__name__}")
    groups = list(dict.fromkeys(term.group for term in facts1.design.terms))
    if group not in groups:
        raise ValueError(f"`group`: the model has no random term for {group!r} (grouping factors: {groups})")
    method = v.choice(method.lower() if isinstance(method, str) else method, ("lrt", "boot"), "method")
    if method == "boot":
        n = v.positive_int(n, "n", maximum=_MAX_BOOT)
    rest = [term for term in facts1.design.terms if term.group != group]
    if rest:
        design0 = replace(facts1.design, terms=rest, formula=_formula_without(facts1.formula, group))
        null = _reduced_fit(result, design0)
        facts0 = _Facts(null, "m0")
    else:
        design0 = replace(facts1.design, terms=rest)
        null = NullModel(result, design0, result.reml)
        facts0 = _NullFacts(null, design0)
    facts0.label, facts1.label = "m0", "m1"
    _warn_unconverged([facts0, facts1])
    mixture = _mixture(facts0.blocks, facts1.blocks, facts1.npar - facts0.npar)
    frame = _table([facts0, facts1], ["m0", "m1"], [mixture], _heading([facts0, facts1]))
    if method == "boot":
        _add_bootstrap(frame, [(null, result)], n, seed, client, workers)
    return frame


test_random.__test__ = False    # a library function, not a test: pytest must not collect it where imported


class _NullFacts:
    def __init__(self, null, design):
        self.result, self.label, self.design, self.blocks = null, "m0", design, []
        self.llf, self.npar = float(null.llf), int(null.df_modelwc)
        self.aic, self.bic, self.formula = float(null.aic), float(null.bic), null.formula
