"""The text tables of every quadlib.glmm result's ``summary()``, one layout for all of them.

It owns the number formatting (R's ``format`` and ``printCoefmat``), the coefficient table
(:func:`coef_table`), the variance-components table laid out as lme4 prints ``VarCorr`` (:func:`random_effects_table`)
and the order of a summary's sections (:func:`format_summary`): title, family and formula, model-specific header
lines, the information criteria, the random effects, the number of observations and groups, the fixed effects,
model-specific blocks, then notes (a singular fit, no convergence). Every function here takes numbers and names,
not result objects, so each is testable on its own.
"""
import math

import numpy as np

from .. import _validation as v

__all__ = ["align_columns", "coef_table", "criteria_table", "format_coef_table", "format_numbers", "format_summary",
           "random_effects_table"]

_P_EPS = float(np.finfo(float).eps)   # R's format.pval: smaller p-values print as "<2e-16"
_VARCORR_DIGITS = 4                   # lme4's print.summary.merMod: max(3, getOption("digits") - 3)
_COEF_STYLES = ("lme4", "survival")


def format_numbers(values, digits):
    """Format `values` together, as R's ``format(x, digits=digits)``: one layout for the whole vector.

    Each finite value is rounded to `digits` significant digits; the vector is printed in fixed notation
    with as many decimals as its most demanding element needs (trailing zeros dropped), unless scientific
    notation is narrower. NaN and infinities print as R does (``NaN``, ``Inf``, ``-Inf``).

    Parameters
    ----------
    values : array_like
        Real numbers.
    digits : int
        Significant digits, 1 to 15.

    Returns
    -------
    list of str
        One string per value, not padded.

    Examples
    --------
    >>> format_numbers([-1.39833, 0.23122], 5)
    ['-1.39833', '0.23122']
    >>> format_numbers([2640.5514698643551, 0.0376, 1e8], 4)   # fixed would need 15 characters
    ['2.641e+03', '3.760e-02', '1.000e+08']
    >>> format_numbers([1e-300, 1.0], 3)
    ['1e-300', '1e+00']
    """
    digits = v.positive_int(digits, "digits", maximum=15)
    values = [float(x) for x in np.asarray(values, dtype=float).ravel()]
    finite = [x for x in values if math.isfinite(x)]
    left, right, nsig_max, exp_width = 1, 0, 1, 0
    for x in finite:
        mantissa, exponent = f"{abs(x):.{digits - 1}e}".split("e")
        exponent = int(exponent) if x != 0 else 0
        nsig = len(mantissa.replace(".", "").rstrip("0")) or 1
        left = max(left, max(exponent + 1, 1) + (x < 0))
        right = max(right, nsig - 1 - exponent)
        nsig_max = max(nsig_max, nsig)
        exp_width = max(exp_width, len(str(abs(exponent))))
    neg = int(any(x < 0 for x in finite))
    fixed_width = left + (right > 0) + right
    sci_width = neg + nsig_max + (nsig_max > 1) + 2 + max(2, exp_width)
    out = []
    for x in values:
        if math.isnan(x):
            out.append("NaN")
        elif math.isinf(x):
            out.append("Inf" if x > 0 else "-Inf")
        elif fixed_width <= sci_width:
            out.append(f"{x:.{right}f}")
        else:
            out.append(f"{x:.{nsig_max - 1}e}")
    return out


def _format_pvalue(p):
    if math.isnan(p):
        return "NaN"
    if p < _P_EPS:
        return "<2e-16"
    return f"{p:.3g}"   # fixed down to 1e-4, scientific below, as R's format.pval with 3 digits


def align_columns(rows, *, left=1, gap=2):
    """Lay out a table of strings: the first `left` columns left-aligned, the others right-aligned, every
    column as wide as its widest cell, and `gap` spaces between columns (so that no two cells touch).

    Parameters
    ----------
    rows : sequence of sequences of str
        The cells, the header row first if there is one; rows may be shorter than the longest.
    left : int
        How many leading columns (row names) are left-aligned.
    gap : int
        Spaces between columns.

    Returns
    -------
    list of str
        The lines, trailing spaces removed.

    Examples
    --------
    >>> for line in align_columns([["", "a", "bb"], ["x", "1.5", "-2"], ["long", "10", "3"]]):
    ...     print(line)
            a  bb
    x     1.5  -2
    long   10   3
    """
    rows = [[str(cell) for cell in row] for row in rows]
    ncol = max((len(row) for row in rows), default=0)
    widths = [max((len(row[j]) for row in rows if j < len(row)), default=0) for j in range(ncol)]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[j]) if j < left else cell.rjust(widths[j]) for j, cell in enumerate(row)]
        lines.append((" " * gap).join(cells).rstrip())
    return lines


def format_coef_table(names, columns, *, digits=4):
    """The lines of a coefficient table in the layout of R's ``printCoefmat`` (lme4's ``summary``).

    Parameters
    ----------
    names : sequence of str
        Row names (the coefficients).
    columns : sequence of (str, array_like, str)
        ``(header, values, kind)``: kind ``"estimate"`` (estimates, standard errors and the like: these columns
        are rounded to the decimals that leave `digits` significant digits in their smallest nonzero value
        and formatted together with `digits` significant digits, as printCoefmat does), ``"statistic"``
        (z or t values: rounded to 3 decimals, 4 significant digits) or ``"pvalue"`` (3 significant
        digits, ``<2e-16`` below machine epsilon).
    digits : int
        Significant digits of the estimate columns (4: lme4's default).

    Returns
    -------
    list of str
        The header line and one line per row; cells are right-aligned with at least two spaces between
        columns, each column as wide as its widest cell, so a wide number never touches its neighbour.

    Examples
    --------
    >>> table = format_coef_table(["(Intercept)", "x"], [
    ...     ("Estimate", [2640.5514698643551, 1e8], "estimate"), ("Std. Error", [1.5, 1e3], "estimate"),
    ...     ("z value", [1760.4, 1e5], "statistic"), ("Pr(>|z|)", [0.0, 0.0], "pvalue")])
    >>> for line in table:
    ...     print(line)
                  Estimate  Std. Error  z value  Pr(>|z|)
    (Intercept)  2.641e+03   1.500e+00     1760    <2e-16
    x            1.000e+08   1.000e+03   100000    <2e-16
    """
    names = [str(name) for name in names]
    cells = {}
    estimates = [j for j, (_, _, kind) in enumerate(columns) if kind == "estimate"]
    for j, (header, values, kind) in enumerate(columns):
        values = np.asarray(values, dtype=float).ravel()
        if len(values) != len(names):
            raise ValueError(f"`columns`: {header!r} has {len(values)} values for {len(names)} rows")
        if kind not in ("estimate", "statistic", "pvalue"):
            raise ValueError(f"`columns`: the kind of {header!r} must be 'estimate', 'statistic' or 'pvalue', "
                             f"got {kind!r}")
        if kind == "statistic":
            cells[j] = format_numbers(np.round(values, 3), 4)
        elif kind == "pvalue":
            cells[j] = [_format_pvalue(float(p)) for p in values]
    if estimates:
        block = np.column_stack([np.asarray(columns[j][1], dtype=float).ravel() for j in estimates])
        if block.size:
            magnitude = np.abs(block[np.isfinite(block) & (block != 0)])
            # printCoefmat: `digits` significant digits for the smallest value (often a standard error)
            decimals = max(1, digits - 1 - math.floor(math.log10(magnitude.min()))) if magnitude.size else 1
            with np.errstate(over="ignore", invalid="ignore"):
                rounded = np.round(block, min(decimals, 15))
            text = np.array(format_numbers(rounded, digits), dtype=object).reshape(block.shape)
        else:
            text = np.empty(block.shape, dtype=object)
        for k, j in enumerate(estimates):
            cells[j] = list(text[:, k])
    rows = [[""] + [header for header, _, _ in columns]]
    rows += [[name] + [cells[j][i] for j in range(len(columns))] for i, name in enumerate(names)]
    return align_columns(rows)


def coef_table(names, estimates, std_errors, statistics, pvalues=None, *, statistic="z", style="lme4", df=None):
    """The fixed-effects table of every ``summary()``: the layout of R's ``printCoefmat``.

    Parameters
    ----------
    names : sequence of str
        The coefficients.
    estimates, std_errors, statistics : array_like
        One value per coefficient: estimates, standard errors and Wald statistics.
    pvalues : array_like, optional
        Two-sided p-values; None leaves the column out (lme4 prints none for linear mixed models).
    statistic : {"z", "t"}
        The name of the statistic (``"z value"``, ``Pr(>|z|)``) in the lme4 style.
    style : {"lme4", "survival"}
        ``"lme4"``: Estimate, Std. Error, z value, Pr(>|z|). ``"survival"`` (R's ``print(clogit(...))``):
        coef, exp(coef), se(coef), z, p.
    df : array_like, optional
        Degrees of freedom of each t statistic: a ``df`` column after ``Std. Error`` (lmerTest's layout;
        printCoefmat formats it with the estimates), lme4 style only.

    Returns
    -------
    list of str
        The header line and one line per coefficient (:func:`format_coef_table`).

    Examples
    --------
    >>> for line in coef_table(["(Intercept)", "x"], [1.5, -0.25], [0.5, 0.125], [3.0, -2.0], statistic="t"):
    ...     print(line)
                 Estimate  Std. Error  t value
    (Intercept)     1.500       0.500        3
    x              -0.250       0.125       -2
    >>> for line in coef_table(["(Intercept)", "Days"], [251.405, 10.467], [6.825, 1.546], [36.838, 6.771],
    ...                        [1.2e-17, 3.26e-06], statistic="t", df=[17.0, 17.0]):
    ...     print(line)
                 Estimate  Std. Error      df  t value  Pr(>|t|)
    (Intercept)   251.405       6.825  17.000   36.838    <2e-16
    Days           10.467       1.546  17.000    6.771  3.26e-06
    """
    statistic = v.choice(statistic, ("z", "t"), "statistic")
    style = v.choice(style, _COEF_STYLES, "style")
    estimates = np.asarray(estimates, dtype=float)
    if df is not None and style != "lme4":
        raise ValueError("`df` applies to style='lme4'")
    if style == "survival":
        with np.errstate(over="ignore"):
            columns = [("coef", estimates, "estimate"), ("exp(coef)", np.exp(estimates), "estimate"),
                       ("se(coef)", std_errors, "estimate"), ("z", statistics, "statistic")]
        if pvalues is not None:
            columns.append(("p", pvalues, "pvalue"))
    else:
        columns = [("Estimate", estimates, "estimate"), ("Std. Error", std_errors, "estimate")]
        if df is not None:
            columns.append(("df", df, "estimate"))
        columns.append((f"{statistic} value", statistics, "statistic"))
        if pvalues is not None:
            columns.append((f"Pr(>|{statistic}|)", pvalues, "pvalue"))
    return format_coef_table(list(names), columns)


def random_effects_table(cov_re, corr_re=None, *, residual=None, digits=_VARCORR_DIGITS):
    """The variance components laid out as lme4 prints ``VarCorr``: Groups, Name, Variance, Std.Dev., Corr.

    Parameters
    ----------
    cov_re : dict
        Grouping factor (or lme4's name of a term: ``g.1`` for a second term of g) -> covariance matrix of its
        random effects (a pandas DataFrame, named rows and columns).
    corr_re : dict, optional
        The same keys -> correlation matrices (computed from `cov_re` when not given). A row shows its
        correlations with the earlier rows of its block (the lower triangle), to 3 decimals, when the block's
        effects are correlated (an uncorrelated ``(x || g)`` block has exact zeros off the diagonal).
    residual : float, optional
        The residual standard deviation (a ``Residual`` row), if the model has one.
    digits : int
        Significant digits of the Variance and Std.Dev. columns, each formatted as one vector (R's ``format``).

    Returns
    -------
    list of str
        The header and one line per random effect (and the residual), each starting with a space.

    Examples
    --------
    >>> import pandas as pd
    >>> cov = pd.DataFrame([[612.1, 9.6], [9.6, 35.07]], index=["(Intercept)", "Days"],
    ...                    columns=["(Intercept)", "Days"])
    >>> for line in random_effects_table({"Subject": cov}, residual=25.59):
    ...     print(line)
     Groups    Name         Variance  Std.Dev.  Corr
     Subject   (Intercept)    612.10    24.741
               Days            35.07     5.922   0.066
     Residual                 654.85    25.590
    """
    rows, corrs = [], []
    for group, C in cov_re.items():
        names = [str(c) for c in getattr(C, "columns", range(np.shape(C)[0]))]
        cov = np.asarray(C, dtype=float)
        sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        if corr_re is not None and group in corr_re:
            corr = np.asarray(corr_re[group], dtype=float)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = cov / np.outer(sd, sd)
        correlated = bool(np.any(cov[np.tril_indices(len(sd), -1)] != 0))
        for i, name in enumerate(names):
            rows.append([str(group) if i == 0 else "", name, cov[i, i], sd[i]])
            corrs.append(" ".join(f"{corr[i, j]:6.3f}" for j in range(i)) if correlated and i else "")
    if residual is not None:
        rows.append(["Residual", "", float(residual) ** 2, float(residual)])
        corrs.append("")
    variances = format_numbers([r[2] for r in rows], digits) if rows else []
    sds = format_numbers([r[3] for r in rows], digits) if rows else []
    table = [["Groups", "Name", "Variance", "Std.Dev.", "Corr"]]
    table += [[r[0], r[1], var, sd, corr] for r, var, sd, corr in zip(rows, variances, sds, corrs)]
    # the Corr column is left-aligned (several numbers per cell), as lme4 prints it
    lines = align_columns([row[:4] for row in table], left=2)
    width = max(len(line) for line in lines)
    return [f" {line.ljust(width)}  {row[4]}".rstrip() for line, row in zip(lines, table)]


def criteria_table(aic, bic, llf, deviance, df_resid=None):
    """The information criteria line of a summary: AIC, BIC, logLik, deviance (and df.resid), 4 decimals.

    Examples
    --------
    >>> for line in criteria_table(1763.9393, 1783.0971, -875.9697, 1751.9393, 174):
    ...     print(line)
          AIC        BIC    logLik   deviance  df.resid
    1763.9393  1783.0971  -875.9697  1751.9393       174
    """
    headers = ["AIC", "BIC", "logLik", "deviance"]
    values = [f"{x:.4f}" if math.isfinite(x) else "NA" for x in (aic, bic, llf, deviance)]
    if df_resid is not None:
        headers.append("df.resid")
        values.append(str(int(df_resid)))
    return align_columns([headers, values], left=0)


def format_summary(*, title, formula, coefficients, family=None, header=(), criteria=(), random_effects=(),
                   dispersion=(), nobs=None, ngroups=None, before=(), after=(), notes=()):
    """Assemble a summary in the one layout of quadlib.glmm (lme4's ``summary.merMod`` order).

    Parameters
    ----------
    title : str
        The first line (the model and how it was fitted).
    formula : str
    coefficients : list of str
        The fixed-effects table (:func:`coef_table`).
    family : tuple of str, optional
        ``(name, link)`` for a ``Family:`` line.
    header : sequence of str
        Model-specific lines after the formula (lme4's ``REML criterion at convergence``).
    criteria : sequence of str
        The information criteria (:func:`criteria_table`); empty for a model without a likelihood.
    random_effects : sequence of str
        The variance components (:func:`random_effects_table`); empty for a model without random effects.
    dispersion : sequence of str
        Lines after the variance components (a dispersion parameter that is not a residual SD).
    nobs : int, optional
    ngroups : dict, optional
        Grouping factor -> number of levels.
    before, after : sequence of str
        Model-specific blocks before the random effects (lme4's scaled residuals) and after the fixed effects
        (lme4's correlation of the fixed effects, a likelihood-ratio test).
    notes : sequence of str
        Closing remarks, one paragraph each (a singular fit, no convergence).

    Returns
    -------
    str

    Examples
    --------
    >>> print(format_summary(title="A model", formula="y ~ x", coefficients=["   Estimate", "x  1.0"],
    ...                      nobs=10, ngroups={"g": 2}, notes=["boundary (singular) fit"]))
    A model
    Formula: y ~ x
    <BLANKLINE>
    Number of obs: 10, groups:  g, 2
    <BLANKLINE>
    Fixed effects:
       Estimate
    x  1.0
    <BLANKLINE>
    boundary (singular) fit
    """
    lines = [title]
    if family is not None:
        lines.append(f" Family: {family[0]}  ( {family[1]} )")
    lines.append(f"Formula: {formula}")
    lines += list(header)
    for block in (criteria, before):
        if block:
            lines += [""] + list(block)
    if random_effects:
        lines += ["", "Random effects:"] + list(random_effects) + list(dispersion)
    elif nobs is not None:
        lines.append("")
    if nobs is not None:   # directly under the variance components, as lme4 prints it
        groups = "; ".join(f"{g}, {m}" for g, m in (ngroups or {}).items())
        lines.append(f"Number of obs: {nobs}" + (f", groups:  {groups}" if groups else ""))
    lines += ["", "Fixed effects:"] + list(coefficients)
    if after:
        lines += [""] + list(after)
    for note in notes:
        lines += ["", note]
    return "\n".join(lines)
