"""Wald tests of linear hypotheses about coefficients: ``H0: L beta = r`` (statsmodels' ``wald_test``).

A hypothesis is a matrix ``L`` (one row per equation, one column per coefficient) with a right-hand side
``r``, or a string in the coefficients' names: ``"trt = 0, lbase:trt = 0"``, ``"a - b = 0"``,
``"2*a + b = 1"``, ``"a = b"``. The string is read by :func:`parse_hypothesis`, a tokenizer over a vetted
table (the coefficient names, numbers and the operators ``+ - * = ,``), never by ``eval``: the text may come
from a stranger behind a service (STYLE: user strings are data).

:func:`wald_test` computes ``chi2 = (L beta - r)' (L C L')^-1 (L beta - r)`` with q = rank(L) degrees of
freedom from any estimates and covariance, so it serves every result of quadlib.glmm
(:meth:`~quadlib.glmm.GLMMResult.wald_test` passes its ``params`` and ``cov_params(kind=...)``).
"""
from dataclasses import dataclass
import math
import re

import numpy as np

__all__ = ["WaldTestResult", "parse_hypothesis", "wald_test"]

MAX_CHARACTERS = 10_000     # a hypothesis string's length
MAX_EQUATIONS = 1_000       # equations (rows of L)
_MAX_NUMBER = 40            # characters of one numeric literal (no unbounded literals)
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OPERATORS = "+-*=,"
_SPACE = " \t\r\n"


@dataclass(frozen=True, eq=False, repr=False)
class WaldTestResult:
    """The Wald test of ``H0: L beta = rhs``.

    Attributes
    ----------
    statistic : float
        ``chi2 = (L beta - rhs)' (L C L')^-1 (L beta - rhs)``; with ``use_f=True`` the F statistic ``chi2 / df``.
    df : int
        Numerator degrees of freedom q, the number of equations (L has full row rank).
    df_denom : float
        The F test's denominator degrees of freedom: ``inf`` (the Wald F of a mixed model has no finite
        denominator df; :meth:`~quadlib.glmm.LMMResult.f_test` gives Satterthwaite's or Kenward-Roger's), NaN
        for the chi-square test.
    pvalue : float
        ``P(chi2_q > chi2)`` (equal to ``P(F_{q, inf} > F)``).
    distribution : {"chi2", "F"}
    L : numpy.ndarray
        The hypothesis matrix (q, p).
    rhs : numpy.ndarray
        The right-hand side (q,).
    estimate : numpy.ndarray
        ``L beta``.
    names : list of str
        The coefficients, the columns of L.
    """

    statistic: float
    df: int
    df_denom: float
    pvalue: float
    distribution: str
    L: np.ndarray
    rhs: np.ndarray
    estimate: np.ndarray
    names: list

    def __repr__(self):
        if self.distribution == "F":
            return (f"<Wald test (F): F={self.statistic:.6g}, p-value={self.pvalue:.6g}, "
                    f"df_num={self.df}, df_denom={self.df_denom}>")
        return f"<Wald test (chi2): statistic={self.statistic:.6g}, p-value={self.pvalue:.6g}, df={self.df}>"


# ------------------------------------------------------------------------------------------------ the parser
def _check_names(names):
    if isinstance(names, str):
        raise TypeError("`names` must be a sequence of coefficient names, got a str")
    try:
        names = [str(name) for name in names]
    except TypeError:
        raise TypeError(f"`names` must be a sequence of coefficient names, got {type(names).__name__}") from None
    if not names:
        raise ValueError("`names` must name at least one coefficient")
    if len(set(names)) != len(names):
        raise ValueError("`names` must be distinct")
    return names


def _tokens(text, names):
    """The tokens of `text`: ("name", index), ("number", value) or ("op", char), with their positions.

    At each position a backquoted name comes first, then the longest coefficient name that matches there
    and ends at a delimiter (space, an operator or the end), then a number, then an operator: a name may
    contain ``:``, ``(``, ``)``, ``.``, ``[``, ``]`` and even operators (``a-b`` is a name when a coefficient
    is called so; write ``a - b`` for the difference)."""
    by_length = sorted(range(len(names)), key=lambda k: -len(names[k]))
    index = {name: k for k, name in enumerate(names)}
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c in _SPACE:
            i += 1
            continue
        if c == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ValueError(f"`hypothesis`: unclosed backquote at position {i}")
            name = text[i + 1:end]
            if name not in index:
                raise ValueError(f"`hypothesis`: unknown coefficient {name!r} (coefficients: {', '.join(names)})")
            out.append(("name", index[name], i))
            i = end + 1
            continue
        for k in by_length:
            name = names[k]
            stop = i + len(name)
            if text.startswith(name, i) and (stop == n or text[stop] in _SPACE or text[stop] in _OPERATORS):
                out.append(("name", k, i))
                i = stop
                break
        else:
            number = _NUMBER.match(text, i)
            if number is not None and (number.end() == n or text[number.end()] in _SPACE + _OPERATORS):
                literal = number.group()
                if len(literal) > _MAX_NUMBER:
                    raise ValueError(f"`hypothesis`: the number at position {i} is longer than {_MAX_NUMBER} "
                                     f"characters")
                value = float(literal)
                if not math.isfinite(value):
                    raise ValueError(f"`hypothesis`: the number {literal!r} is not finite")
                out.append(("number", value, i))
                i = number.end()
            elif c in _OPERATORS:
                out.append(("op", c, i))
                i += 1
            else:
                # the unknown word: up to the next delimiter, so the message shows what the user wrote
                stop = i
                while stop < n and text[stop] not in _SPACE and text[stop] not in _OPERATORS:
                    stop += 1
                word = text[i:stop]
                if number is not None or not (c.isalpha() or c in "_.(`["):
                    raise ValueError(f"`hypothesis`: cannot read {word!r} at position {i} (expected a coefficient "
                                     f"name, a number or one of + - * = ,)")
                raise ValueError(f"`hypothesis`: unknown coefficient {word!r} (coefficients: {', '.join(names)})")
    return out


def _side(tokens, p, equation):
    """A linear combination ``sum c_j beta_j + constant`` from the tokens of one side of an equation."""
    coef, constant = np.zeros(p), 0.0
    if not tokens:
        raise ValueError(f"`hypothesis`: equation {equation} has an empty side")
    k, sign = 0, 1.0
    expect_term = True
    while k < len(tokens):
        kind, value, position = tokens[k]
        if expect_term:
            if kind == "op" and value in "+-":
                sign = sign if value == "+" else -sign
                k += 1
                continue
            factor, name, seen_factor = sign, None, False
            while True:   # one term: factors joined by '*'
                if k >= len(tokens):
                    raise ValueError(f"`hypothesis`: equation {equation} ends with an operator")
                kind, value, position = tokens[k]
                if kind == "number":
                    factor *= value
                elif kind == "name":
                    if name is not None:
                        raise ValueError(f"`hypothesis`: equation {equation} is not linear (a product of two "
                                         f"coefficients at position {position})")
                    name = value
                else:
                    raise ValueError(f"`hypothesis`: unexpected {value!r} at position {position}")
                seen_factor = True
                k += 1
                if k < len(tokens) and tokens[k][0] == "op" and tokens[k][1] == "*":
                    k += 1
                    continue
                break
            assert seen_factor
            if name is None:
                constant += factor
            else:
                coef[name] += factor
            sign, expect_term = 1.0, False
        else:
            if kind == "op" and value in "+-":
                sign = 1.0 if value == "+" else -1.0
                k += 1
                expect_term = True
                continue
            what = {"name": "a coefficient", "number": "a number"}.get(kind, repr(value))
            raise ValueError(f"`hypothesis`: expected + or - before {what} at position {position} "
                             f"(products need '*')")
    if expect_term:
        raise ValueError(f"`hypothesis`: equation {equation} ends with an operator")
    return coef, constant


def parse_hypothesis(text, names):
    """The matrix form ``(L, rhs)`` of a linear hypothesis written in coefficient names.

    Parameters
    ----------
    text : str
        Comma-separated equations, each a linear combination of coefficient names and numbers with ``+``,
        ``-`` and multiplication by a number (``*``), optionally ``= <another combination>`` (default
        ``= 0``): ``"trt = 0, lbase:trt = 0"``, ``"a - b = 0"``, ``"2*a + b = 1"``, ``"a = b"``. Names are
        matched longest first, where they end at a space, an operator or the end of the text; a name may
        contain ``:``, ``(``, ``)``, ``.``, ``[`` and ``]``; a backquoted name (```a-b```) is taken as it is.
        At most 10,000 characters and 1,000 equations.
    names : sequence of str
        The coefficients (the columns of L), e.g. ``result.params.index``.

    Returns
    -------
    L : numpy.ndarray
        Shape (q, p), one row per equation.
    rhs : numpy.ndarray
        Shape (q,).

    Raises
    ------
    TypeError
        `text` not a str.
    ValueError
        An unknown coefficient (the message lists the known ones), a product of coefficients or another
        construct outside the grammar, an equation without a coefficient, linearly dependent equations, or
        a text beyond the bounds.

    Examples
    --------
    >>> L, rhs = parse_hypothesis("2*a + b = 1, a = c", ["a", "b", "c"])
    >>> L
    array([[ 2.,  1.,  0.],
           [ 1.,  0., -1.]])
    >>> rhs
    array([1., 0.])
    """
    if not isinstance(text, str):
        raise TypeError(f"`hypothesis` must be a str or a matrix, got {type(text).__name__}")
    names = _check_names(names)
    if len(text) > MAX_CHARACTERS:
        raise ValueError(f"`hypothesis` must be at most {MAX_CHARACTERS} characters, got {len(text)}")
    tokens = _tokens(text, names)
    equations, current = [], []
    for token in tokens:
        if token[0] == "op" and token[1] == ",":
            equations.append(current)
            current = []
            if len(equations) >= MAX_EQUATIONS:
                raise ValueError(f"`hypothesis` must have at most {MAX_EQUATIONS} equations")
        else:
            current.append(token)
    equations.append(current)
    p = len(names)
    rows, rhs = [], []
    for e, tokens in enumerate(equations, start=1):
        if not tokens:
            raise ValueError(f"`hypothesis`: equation {e} is empty")
        split = [k for k, t in enumerate(tokens) if t[0] == "op" and t[1] == "="]
        if len(split) > 1:
            raise ValueError(f"`hypothesis`: equation {e} has more than one '='")
        if split:
            left, right = tokens[:split[0]], tokens[split[0] + 1:]
            c_left, k_left = _side(left, p, e)
            c_right, k_right = _side(right, p, e)
        else:
            (c_left, k_left), c_right, k_right = _side(tokens, p, e), np.zeros(p), 0.0
        row = c_left - c_right
        if not np.any(row != 0):
            raise ValueError(f"`hypothesis`: equation {e} involves no coefficient")
        rows.append(row)
        rhs.append(k_right - k_left)
    L = np.array(rows, dtype=float)
    _check_rank(L)
    return L, np.array(rhs, dtype=float)


def _check_rank(L):
    s = np.linalg.svd(L, compute_uv=False)
    rank = int(np.sum(s > s[0] * max(L.shape) * np.finfo(float).eps)) if s.size and s[0] > 0 else 0
    if rank < L.shape[0]:
        raise ValueError(f"`hypothesis`: the equations are linearly dependent (L has rank {rank} < {L.shape[0]} "
                         f"rows); drop the redundant ones")


def hypothesis_matrix(hypothesis, names, rhs=None):
    """``(L, rhs)`` from a hypothesis string (:func:`parse_hypothesis`), a matrix L (q, p) or a vector (p,)
    with `rhs` (default 0), or a pair ``(L, rhs)``; a DataFrame L is matched to `names` by its columns."""
    names = _check_names(names)
    if isinstance(hypothesis, str):
        if rhs is not None:
            raise ValueError("`rhs` applies to a matrix hypothesis; write it into the string ('a = 1')")
        return parse_hypothesis(hypothesis, names)
    if isinstance(hypothesis, tuple):
        if len(hypothesis) != 2 or rhs is not None:
            raise ValueError("`hypothesis` as a tuple must be (L, rhs), without a separate `rhs`")
        hypothesis, rhs = hypothesis
    columns = getattr(hypothesis, "columns", None)
    if columns is not None:   # a DataFrame: its columns name the coefficients
        unknown = [str(c) for c in columns if str(c) not in names]
        if unknown:
            raise ValueError(f"`hypothesis`: unknown coefficient {unknown[0]!r} (coefficients: {', '.join(names)})")
        hypothesis = hypothesis.reindex(columns=names, fill_value=0.0).to_numpy()
    try:
        L = np.array(hypothesis, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"`hypothesis` must be a str or a matrix of numbers, got {type(hypothesis).__name__}") from None
    if L.ndim == 0:
        raise TypeError(f"`hypothesis` must be a str or a matrix of numbers, got {type(hypothesis).__name__}")
    if L.ndim == 1:
        L = L[None, :]
    if L.ndim != 2 or L.shape[1] != len(names):
        raise ValueError(f"`hypothesis` must have {len(names)} columns (one per coefficient), got shape "
                         f"{np.shape(hypothesis)}")
    if not 1 <= L.shape[0] <= MAX_EQUATIONS:
        raise ValueError(f"`hypothesis` must have 1 to {MAX_EQUATIONS} rows, got {L.shape[0]}")
    if not np.all(np.isfinite(L)):
        raise ValueError("`hypothesis` must be finite")
    if not np.any(L != 0):
        raise ValueError("`hypothesis` must involve a coefficient (L is zero)")
    _check_rank(L)
    if rhs is None:
        r = np.zeros(L.shape[0])
    else:
        try:
            r = np.array(rhs, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise TypeError(f"`rhs` must be numbers, got {type(rhs).__name__}") from None
        if r.size == 1:
            r = np.full(L.shape[0], r[0])
        if r.shape != (L.shape[0],) or not np.all(np.isfinite(r)):
            raise ValueError(f"`rhs` must be one finite number per row of L ({L.shape[0]}), got {rhs!r}")
    return L, r


# ------------------------------------------------------------------------------------------------ the test
def wald_test(params, covariance, hypothesis, *, names=None, rhs=None, use_f=False):
    """The Wald test of ``H0: L beta = rhs``: ``chi2 = (L beta - rhs)' (L C L')^-1 (L beta - rhs)`` on q
    degrees of freedom (statsmodels' ``wald_test(scalar=True)``).

    Parameters
    ----------
    params : pandas.Series or array_like
        The estimates beta (p,); a Series names them.
    covariance : array_like
        Their covariance C (p, p).
    hypothesis : str, array_like or tuple
        A string in the names (:func:`parse_hypothesis`), a matrix L (q, p), a vector (one equation), a
        DataFrame whose columns name the coefficients, or a pair ``(L, rhs)``.
    names : sequence of str, optional
        The coefficients' names when `params` is not a Series.
    rhs : float or array_like, optional
        The right-hand side of a matrix hypothesis (default 0).
    use_f : bool
        Report ``F = chi2 / q`` with ``df_denom = inf`` (the same p-value) instead of chi2.

    Returns
    -------
    WaldTestResult

    Raises
    ------
    ValueError
        A hypothesis that :func:`parse_hypothesis` refuses, a matrix with the wrong number of columns, a
        singular L, a covariance of the wrong shape, or ``L C L'`` that is not positive definite (a
        coefficient without a finite variance, or a combination with none).

    Examples
    --------
    >>> import pandas as pd
    >>> test = wald_test(pd.Series([1.0, 2.0], index=["a", "b"]), [[1.0, 0.0], [0.0, 4.0]], "a = 0, b = 0")
    >>> round(test.statistic, 12), test.df
    (2.0, 2)
    """
    from scipy.stats import chi2

    if names is None:
        names = params.index if hasattr(params, "index") and not callable(params.index) else None
        if names is None:
            raise ValueError("`names` is needed when `params` is not a pandas Series")
    names = _check_names(names)
    beta = np.asarray(params, dtype=float).reshape(-1)
    p = beta.size
    if p != len(names):
        raise ValueError(f"`names` has {len(names)} entries for {p} coefficients")
    C = np.asarray(covariance, dtype=float)
    if C.shape != (p, p):
        raise ValueError(f"`covariance` must be ({p}, {p}), got shape {C.shape}")
    if not isinstance(use_f, (bool, np.bool_)):
        raise TypeError(f"`use_f` must be True or False, got {use_f!r}")
    L, r = hypothesis_matrix(hypothesis, names, rhs)
    used = np.any(L != 0, axis=0)
    if not np.all(np.isfinite(C[np.ix_(used, used)])) or not np.all(np.isfinite(beta[used])):
        bad = [names[j] for j in np.flatnonzero(used) if not (np.isfinite(beta[j]) and np.isfinite(C[j, j]))]
        raise ValueError(f"`hypothesis` involves coefficients without a finite estimate or variance: "
                         f"{', '.join(bad) or 'a covariance entry'}")
    beta, C = np.where(used, beta, 0.0), np.where(np.outer(used, used), C, 0.0)
    difference = L @ beta - r
    M = L @ C @ L.T
    M = 0.5 * (M + M.T)
    try:
        factor = np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        raise ValueError("`hypothesis`: the covariance of L beta is not positive definite (a combination with "
                         "no variance)") from None
    if np.min(np.diag(factor)) <= 1e-12 * np.sqrt(max(np.max(np.diag(M)), 0.0)):
        raise ValueError("`hypothesis`: the covariance of L beta is singular (a combination with no variance)")
    z = np.linalg.solve(factor, difference)
    statistic = float(z @ z)
    q = L.shape[0]
    pvalue = float(chi2.sf(statistic, q))
    if use_f:
        return WaldTestResult(statistic / q, q, math.inf, pvalue, "F", L, r, L @ beta, names)
    return WaldTestResult(statistic, q, math.nan, pvalue, "chi2", L, r, L @ beta, names)
