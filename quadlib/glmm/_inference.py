"""Wald inference shared by every result class of quadlib.glmm (statsmodels names), and the one
coefficient-table layout their summaries print.

A result sets ``params`` (pandas Series of fixed effects) and ``covariance`` (ndarray whose leading
block, one row per fixed effect, is their covariance); this mixin derives the rest.
"""
import math

import numpy as np

from .. import _validation as v

__all__ = ["WaldInference", "align_columns", "format_coef_table", "format_numbers"]

_P_EPS = float(np.finfo(float).eps)   # R's format.pval: smaller p-values print as "<2e-16"


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


class WaldInference:
    """``bse``, ``tvalues``, ``pvalues`` (normal reference: mixed-model t statistics have no exact one),
    ``cov_params()`` and Wald intervals (columns ``lower`` and ``upper``)."""

    def cov_params(self):
        """Covariance matrix of the fixed effects (DataFrame)."""
        import pandas as pd

        p = len(self.params)
        return pd.DataFrame(np.asarray(self.covariance)[:p, :p], index=self.params.index, columns=self.params.index)

    @property
    def bse(self):
        import pandas as pd

        p = len(self.params)
        return pd.Series(np.sqrt(np.diag(np.asarray(self.covariance)[:p, :p])), index=self.params.index, name="bse")

    @property
    def tvalues(self):
        return (self.params / self.bse).rename("tvalues")

    @property
    def pvalues(self):
        """Two-sided p-values of the z (t) values from the standard normal distribution."""
        import pandas as pd
        from scipy.stats import norm

        return pd.Series(2 * norm.sf(np.abs(self.tvalues.to_numpy())), index=self.params.index, name="pvalues")

    @staticmethod
    def _alpha_iv(alpha):
        alpha = v.real_scalar(alpha, "alpha")
        if not 0 < alpha < 1:
            raise ValueError(f"`alpha` must be in (0, 1), got {alpha}")
        return alpha

    def _wald_interval(self, alpha):
        import pandas as pd
        from scipy.stats import norm

        z = norm.isf(self._alpha_iv(alpha) / 2)
        return pd.DataFrame({"lower": (self.params - z * self.bse).to_numpy(),
                             "upper": (self.params + z * self.bse).to_numpy()}, index=self.params.index)

    def coef_table(self, statistic="z", pvalues=True):
        """The lines of the fixed-effects table of ``summary()``: Estimate, Std. Error, the `statistic`
        (``"z"`` or ``"t"``) value and, with `pvalues`, its two-sided normal p-value
        (:func:`format_coef_table`)."""
        statistic = v.choice(statistic, ("z", "t"), "statistic")
        columns = [("Estimate", self.params.to_numpy(), "estimate"), ("Std. Error", self.bse.to_numpy(), "estimate"),
                   (f"{statistic} value", self.tvalues.to_numpy(), "statistic")]
        if pvalues:
            columns.append((f"Pr(>|{statistic}|)", self.pvalues.to_numpy(), "pvalue"))
        return format_coef_table(list(self.params.index), columns)

    def conf_int(self, alpha=0.05):
        """Wald confidence intervals ``params -/+ z_{1 - alpha/2} bse`` (columns ``lower``, ``upper``)."""
        return self._wald_interval(alpha)
