"""Stage 1 of the pipeline: a formula and a data frame become numeric arrays (:class:`Design`).

The fixed part and each random term's expression are evaluated by ``formulae``; lme4's bars, nesting and
``cbind`` are parsed in :mod:`._formula`. Rows with missing values in the used columns are dropped (with
a warning that says how many), aliased fixed-effect columns are dropped (with a warning, as lme4 does),
and rows are sorted by the first grouping factor so each of its levels is a contiguous block.

Factors follow R's ``model.frame``: a pandas Categorical's categories are its levels, in their order (the
first is the reference level of treatment contrasts, and grouping-factor levels come in that order);
unused categories are dropped; string columns have their sorted values as levels. A factor with a single
level in a model matrix is an error (R: "contrasts can be applied only to factors with 2 or more levels"),
and so are a column mixing numbers and strings, a non-finite value in a model matrix, an infinite or
non-positive weight and an infinite offset (a NaN is a missing value: its row is dropped). An ordered
Categorical gets treatment contrasts too (R would use polynomial contrasts, ``contr.poly``).
"""
from dataclasses import dataclass
import re
import warnings

import numpy as np

from .. import _validation as v
from ._formula import check_terms, formula_environment, parse_formula, parse_one_sided

__all__ = ["Design", "RandomTerm", "build_design", "design_from_arrays", "normalize_response", "random_matrix",
           "identifiers", "evaluate_expression", "model_matrix", "aliased_columns", "check_random_effects"]

_IDENTIFIER = re.compile(r"[A-Za-z_.][\w.]*")


def identifiers(text):
    """The names (R's syntax: letters, digits, ``_`` and ``.``) in a formula or expression `text`, in order.

    Examples
    --------
    >>> identifiers("log(y.1) ~ x + (1 | g)")
    ['log', 'y.1', 'x', 'g']
    """
    return _IDENTIFIER.findall(text)


@dataclass(frozen=True, eq=False)
class RandomTerm:
    """One random term ``(expr | group)``: its model matrix Z (rows x q), the level of each row and the
    level names. ``correlated=False`` for ``||`` (a diagonal covariance)."""

    group: str
    columns: list
    Z: np.ndarray
    index: np.ndarray
    levels: list
    correlated: bool
    model: object = None    # formulae's matrix of the term's expression (to evaluate new data)
    keep: list = None       # its columns used, in order

    @property
    def q(self):
        return self.Z.shape[1]

    @property
    def n_levels(self):
        return len(self.levels)

    def __repr__(self):
        return (f"RandomTerm(({' + '.join(self.columns)} {'|' if self.correlated else '||'} {self.group}), "
                f"{self.n_levels} levels)")


@dataclass(frozen=True, eq=False)
class Design:
    """A model's data as arrays: the response (with ``trials`` for a ``cbind`` response), prior
    ``weights``, ``offset``, the fixed-effects matrix ``X`` with lme4's column names, and the random
    terms. ``rows`` are the positions in the data frame of the rows used, in the design's order."""

    formula: str
    response: np.ndarray
    trials: np.ndarray
    weights: np.ndarray
    offset: np.ndarray
    X: np.ndarray
    fixed_names: list
    terms: list
    rows: np.ndarray
    dropped_columns: list
    fixed_model: object = None   # formulae's fixed-effects matrix (to evaluate new data)
    fixed_keep: list = None      # its columns used, in order
    fixed_offset: list = None    # its offset() columns
    offset_argument: object = None  # build_design's `offset` (a column name, an array or None): predictions
    # for new data look the column up, and a model fitted with an array needs one
    # glmmTMB's zero-inflation and dispersion models (ziformula, dispformula): their model matrices (None
    # without), column names, formulae models and columns kept (to evaluate new data)
    X_zi: np.ndarray = None
    zi_names: list = None
    zi_model: object = None
    zi_keep: list = None
    X_disp: np.ndarray = None
    disp_names: list = None
    disp_model: object = None
    disp_keep: list = None
    response_levels: list = None    # an ordinal response's categories, in order (codes 1..K); None otherwise
    row_labels: np.ndarray = None   # the data's index labels of `rows` (messages name the user's rows)

    @property
    def nobs(self):
        return self.response.size

    def __repr__(self):
        return (f"Design({self.formula!r}: {self.nobs} rows, fixed {self.fixed_names}, "
                f"random {self.terms})")


def normalize_response(design, family):
    """The response of `design` as (y, n) for `family`: successes and trials (binomial), or the values and
    the prior weights (1 without `weights`), validated by the family.

    A ``cbind(successes, failures)`` response gives y = successes, n = their sum (families whose `n` are trials:
    binomial, beta_binomial); for those, a proportion with `weights` gives y = proportion x weights (whole
    numbers of successes) and n = weights. For the other families `weights` are prior weights. The family's
    checks name the data's row labels (``design.row_labels``) and allow zeros in a zero-truncated family when
    the design has a zero-inflation (hurdle) model.

    Parameters
    ----------
    design : Design
    family : Family
        From :func:`~quadlib.glmm.make_family`.

    Returns
    -------
    y, n : ndarray
        Contiguous float arrays, one value per row.

    Raises
    ------
    ValueError
        A cbind response with another family, a proportion whose successes are not whole, or a response
        outside the family's support (:meth:`Family.validate`).

    Examples
    --------
    >>> from quadlib.glmm import build_design, datasets, make_family
    >>> d = build_design("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"))
    >>> y, n = normalize_response(d, make_family("binomial"))
    >>> y[:3].tolist(), n[:3].tolist()
    ([2.0, 3.0, 4.0], [14.0, 12.0, 9.0])
    """
    d, fam = design, family
    # families declare whether n counts trials (issue 19's Family API); before it, binomial and bernoulli did
    trials = bool(getattr(fam, "weights_are_trials", fam.name in ("binomial", "bernoulli")))
    if d.trials is not None:
        if not trials or fam.name == "bernoulli":
            raise ValueError(f"a cbind(successes, failures) response needs family='binomial', not {fam.name!r} "
                             "('beta_binomial' takes one too)")
        y, n = d.response, d.trials
    elif trials and fam.name != "bernoulli" and d.weights is not None:  # a proportion, the trials as weights
        n = d.weights
        y = d.response * n
        if np.any(np.abs(y - np.round(y)) > 1e-8 * np.maximum(n, 1)):
            raise ValueError("binomial response given as a proportion: proportion x `weights` must be whole "
                             "numbers of successes")
        y = np.round(y)
    else:
        y = d.response
        n = np.ones_like(y) if d.weights is None else d.weights
    if _validate_takes_options(fam):
        fam.validate(y, n, zero_inflated=d.X_zi is not None, row_labels=d.row_labels)
    else:
        fam.validate(y, n)
    return np.ascontiguousarray(y, dtype=float), np.ascontiguousarray(n, dtype=float)


def _validate_takes_options(family):
    """Whether `family.validate` has issue 19's keywords (zero_inflated, row_labels)."""
    import inspect

    try:
        parameters = inspect.signature(family.validate).parameters
    except (TypeError, ValueError):
        return False
    return "zero_inflated" in parameters and "row_labels" in parameters


def random_matrix(blocks, nobs):
    """The sparse N x q model matrix Z of the random effects u, in CSR form.

    Parameters
    ----------
    blocks : list
        Objects with ``terms`` (:class:`RandomTerm` objects of one grouping factor, whose columns are stacked),
        ``q`` (their columns) and ``start`` (the block's first column in u): the blocks of a
        :class:`~quadlib.glmm._covariance.ThetaLayout`. Within a block the columns are level-major: level l,
        column c at ``start + l q + c``.
    nobs : int
        N.

    Examples
    --------
    >>> from quadlib.glmm import build_design, datasets
    >>> from quadlib.glmm._covariance import ThetaLayout
    >>> d = build_design("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> Z = random_matrix(ThetaLayout.from_terms(d.terms).blocks, d.nobs)
    >>> Z.shape, Z[11].toarray().ravel()[:4].tolist()     # row 11: Subject 309, Days 1
    ((180, 36), [0.0, 0.0, 1.0, 1.0])
    """
    import scipy.sparse as sp

    rows, cols, vals, size = [], [], [], 0
    for block in blocks:
        Z = block.terms[0].Z if len(block.terms) == 1 else np.hstack([t.Z for t in block.terms])
        q = block.q
        rows.append(np.repeat(np.arange(nobs), q))
        cols.append((block.start + block.terms[0].index[:, None] * q + np.arange(q)).ravel())
        vals.append(Z.ravel())
        size = max(size, block.stop)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nobs, size))


def _lme4_name(label):
    # formulae writes factor columns as name[level]; lme4 writes namelevel; R deparses I(age/1000) and
    # I(x^2) without spaces around / and ^
    if label == "Intercept":
        return "(Intercept)"
    return re.sub(r"\s*([/^])\s*", r"\1", re.sub(r"\[([^\]]*)\]", r"\1", label))


def _interaction_order(label):
    return re.sub(r"\[[^\]]*\]", "", label).count(":")


def evaluate_expression(expression, frame, what):
    """A numeric column from an expression of the data's columns (formulae's I() semantics); `what` names it
    in the ValueError raised when it cannot be evaluated."""
    import formulae

    check_terms(expression, frame.columns)  # a formula is data: only columns, numbers and vetted calls
    try:
        matrices = formulae.design_matrices(f"0 + I({expression})", frame, na_action="pass",
                                            env=formula_environment())
    except Exception as error:  # formulae raises many types for a bad token
        raise ValueError(f"`formula`: cannot evaluate {what} {expression!r}: {_explain(error)}") from None
    return np.asarray(matrices.common.design_matrix, dtype=float)[:, 0]


def _explain(error):
    text = str(error).strip() or type(error).__name__
    if isinstance(error, (KeyError, NameError)) and text.strip("'\"").isidentifier():
        return f"unknown name {text} (not a column of `data` nor a known function)"
    return text.splitlines()[0]


def model_matrix(rhs, frame, what, argument="formula"):
    """formulae's model matrix for `rhs`, columns named and ordered as lme4 does (by interaction order).

    Returns the matrix, the column names, the sum of the ``offset()`` columns (None without), formulae's
    model (to evaluate new data), the positions of the columns kept and those of the offset columns.
    `argument` names the formula argument in messages ("formula", "ziformula", "dispformula")."""
    import formulae

    check_terms(rhs, frame.columns, argument=argument)  # a formula is data: only columns, numbers, vetted calls
    try:
        matrices = formulae.design_matrices(rhs, frame, na_action="pass", env=formula_environment())
    except Exception as error:
        raise ValueError(f"`{argument}`: cannot build {what} from {rhs!r}: {_explain(error)}") from None
    if matrices.common is None:  # "0" alone: no columns
        return np.zeros((len(frame), 0)), [], None, None, [], []
    labels = list(matrices.common.as_dataframe().columns)
    offset_cols = [i for i, label in enumerate(labels) if label.startswith("offset(")]
    keep = [i for i in range(len(labels)) if i not in offset_cols]
    keep.sort(key=lambda i: _interaction_order(labels[i]))  # stable: main effects first, as in R
    matrix = np.asarray(matrices.common.design_matrix, dtype=float)
    offset = matrix[:, offset_cols].sum(axis=1) if offset_cols else None
    return matrix[:, keep], [_lme4_name(labels[i]) for i in keep], offset, matrices.common, keep, offset_cols


def evaluate_new_data(model, keep, offset_cols, frame, what):
    """The columns of a fitted model matrix evaluated on new data (factor levels as in the fit)."""
    if model is None:
        return np.zeros((len(frame), 0)), np.zeros(len(frame))
    try:
        matrix = np.asarray(model.evaluate_new_data(frame).design_matrix, dtype=float)
    except Exception as error:
        raise ValueError(f"`newdata`: cannot evaluate {what}: {_explain(error)}") from None
    offset = matrix[:, offset_cols].sum(axis=1) if offset_cols else np.zeros(len(frame))
    return matrix[:, keep], offset


def _level_key(label):
    key = []
    for part in label.split(":"):
        try:
            key.append((0, float(part), ""))
        except ValueError:
            key.append((1, 0.0, part))
    return key


def group_labels(frame, group):
    """Each row's label of the grouping factor `group` ("a" or "a:b": the levels joined by ':')."""
    import pandas as pd

    codes, names = [], []
    for column in group.split(":"):
        code, unique = pd.factorize(frame[column])
        codes.append(code)
        names.append(np.asarray(unique.astype(str), dtype=object))
    if len(codes) == 1:
        return names[0][codes[0]]
    combined, inverse = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)
    joined = np.array([":".join(names[k][c] for k, c in enumerate(row)) for row in combined], dtype=object)
    return joined[inverse.ravel()]


def _column_keys(series):
    """A sort key per row for the levels of `series`: a Categorical's category position, else the label's
    key (numbers in numeric order, as R sorts an integer factor, then strings)."""
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        return [[(0, float(code), "")] for code in series.cat.codes.to_numpy()]
    code, unique = pd.factorize(series)
    keys = [_level_key(name) for name in np.asarray(unique.astype(str), dtype=object)]
    return [keys[c] for c in code]


def grouping_factor(frame, group):
    """The levels of the grouping factor `group` ("a" or "a:b") in R's order and each row's level number.

    Labels are those of :func:`group_labels`. Levels are ordered by the categories of a Categorical column
    (R's factor levels), numerically for numbers, else as strings; for ``a:b``, by ``a`` and then ``b``
    (R's ``a:b``, first factor slowest). Only the levels present are kept.
    """
    import pandas as pd

    labels = group_labels(frame, group)
    index, unique = pd.factorize(labels)
    first = np.empty(unique.size, dtype=np.intp)
    first[index[::-1]] = np.arange(index.size)[::-1]   # the first row of each level
    columns = [_column_keys(frame[column]) for column in group.split(":")]
    order = sorted(range(unique.size), key=lambda k: [keys[first[k]] for keys in columns])
    rank = np.empty(unique.size, dtype=np.intp)
    rank[order] = np.arange(unique.size)
    return np.asarray(unique, dtype=object)[order], rank[index]


def _factor(labels):
    """Levels (numbers in numeric order, as R sorts an integer factor) and each row's level number."""
    import pandas as pd

    index, unique = pd.factorize(labels)
    unique = np.asarray(unique, dtype=object)
    order = sorted(range(unique.size), key=lambda i: _level_key(unique[i]))
    rank = np.empty(unique.size, dtype=np.intp)
    rank[order] = np.arange(unique.size)
    return unique[order], rank[index]


def aliased_columns(X, names):
    """Columns in the span of the columns before them (R's QR rule: later columns are dropped): the positions
    of the columns kept and the names of those dropped."""
    kept, dropped = [], []
    # each column scaled to a largest entry of 1 first: the test is scale-free, and norms of columns with
    # entries near 1e300 would overflow
    size = np.max(np.abs(X), axis=0, initial=0.0)
    X = X / np.where(size > 0, size, 1.0)
    scale = np.linalg.norm(X, axis=0)
    for j in range(X.shape[1]):
        if scale[j] == 0:
            dropped.append(j)
            continue
        if kept:
            coef, *_ = np.linalg.lstsq(X[:, kept], X[:, j], rcond=None)
            residual = np.linalg.norm(X[:, j] - X[:, kept] @ coef)
            if residual <= 1e-7 * scale[j]:
                dropped.append(j)
                continue
        kept.append(j)
    return kept, [names[j] for j in dropped]


def missing_rows(data, used, extras=()):
    """A boolean mask of the rows of `data` with a missing value in the columns `used` or a non-finite value
    in one of the arrays `extras` (None entries are skipped): the rows a model drops."""
    missing = np.array(data[used].isna().any(axis=1), dtype=bool) if used else np.zeros(len(data), bool)
    for extra in extras:
        if extra is not None:
            missing |= ~np.isfinite(extra)
    return missing


def check_dropped_rows(dropped, total, stacklevel=2):
    """Raise ValueError when all `total` rows were dropped for missing values; warn (UserWarning, passed
    `stacklevel`) with the count when some were."""
    if dropped >= total:
        raise ValueError("every row of `data` has a missing value in a column the model uses")
    if dropped:
        warnings.warn(f"dropped {int(dropped)} row(s) with missing values in the columns used", UserWarning,
                      stacklevel=stacklevel + 1)


def drop_missing(data, used, extras=(), stacklevel=4):
    """The positions of the rows with no missing value in the columns `used` (nor in the arrays `extras`),
    and those rows as a new frame; warns with the count dropped (as R's na.omit, but said)."""
    missing = missing_rows(data, used, extras)
    check_dropped_rows(int(missing.sum()), missing.size, stacklevel)
    rows = np.flatnonzero(~missing)
    return rows, data.iloc[rows].reset_index(drop=True)


def column_or_array(value, frame_len, data, name):
    """`weights` or `offset` as a float array, one value per row of `data`: NaN marks a missing value (the
    row is dropped later); +-inf is refused, and so is a weight <= 0."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in data:
            raise ValueError(f"`{name}` names column {value!r}, which is not in `data`")
        value = data[value]
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be numeric (an array or a column name){_non_numbers(value)}") from None
    if array.shape != (frame_len,):
        raise ValueError(f"`{name}` must have one value per row of `data` ({frame_len}), got shape {array.shape}")
    infinite = np.isinf(array)
    if infinite.any():
        i = int(np.flatnonzero(infinite)[0])
        raise ValueError(f"`{name}` must be finite (NaN marks a missing value): row {i} has {array[i]}")
    if name == "weights" and np.any(array <= 0):  # NaN compares False: a missing weight is dropped later
        i = int(np.flatnonzero(array <= 0)[0])
        raise ValueError(f"`weights` must be positive: row {i} has {array[i]} (drop the rows a weight of zero "
                         "would remove from `data` instead)")
    return array


def _non_numbers(values, limit=3):
    """' (e.g. 'abc' at row 2, ...)': the first entries of `values` that are not real numbers."""
    import numbers

    try:
        items = list(values.items()) if hasattr(values, "items") else list(enumerate(values))
    except TypeError:
        return ""
    bad = [(i, x) for i, x in items
           if not (isinstance(x, (numbers.Real, np.bool_)) or x is None)][:limit]
    if not bad:
        return ""
    return " (non-numbers: " + ", ".join(f"{x!r} at row {i!r}" for i, x in bad) + ")"


_NUMBER_KINDS = ("integer", "floating", "mixed-integer-float", "decimal")


def model_frame(frame, columns, groups=(), row_labels=None):
    """The `columns` of `frame` as R's ``model.frame`` gives them to a model matrix (a new frame).

    A Categorical keeps its categories, in their order, as the levels (formulae would sort an unordered
    one): it becomes an ordered Categorical without its unused categories. Numbers stored as objects or
    in a nullable dtype become floats, booleans stored as objects bools, except in the columns `groups`
    (grouping factors only need their labels). `row_labels` name the rows in messages (default: the
    positions in `frame`).

    Raises
    ------
    TypeError
        Naming the column, for one mixing numbers and strings (listing the first strings and their rows),
        and for other values a formula cannot use (dates, complex numbers, lists...).
    """
    import pandas as pd

    out = frame.copy(deep=False)
    for name in columns:
        column = frame[name]
        dtype = column.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            column = column.cat.remove_unused_categories()
            out[name] = column if dtype.ordered else column.cat.as_ordered()
        elif name in groups:
            continue
        elif pd.api.types.is_bool_dtype(dtype):
            out[name] = column.astype(bool)
        elif pd.api.types.is_complex_dtype(dtype):
            raise TypeError(f"`data`: column {name!r} is complex; a formula takes real numbers, strings, "
                            "booleans or a Categorical")
        elif pd.api.types.is_numeric_dtype(dtype):
            if not isinstance(dtype, np.dtype):  # a nullable Int64/Float64: its missing rows are gone
                out[name] = column.astype(float)
        elif pd.api.types.is_string_dtype(dtype) or dtype == object:
            kind = pd.api.types.infer_dtype(column, skipna=True)
            if kind in _NUMBER_KINDS:
                out[name] = column.astype(float)
            elif kind == "boolean":
                out[name] = column.astype(bool)
            elif kind != "string":
                labels = range(len(frame)) if row_labels is None else row_labels
                strings = [(i, x) for i, x in zip(labels, column) if isinstance(x, str)][:3]
                if strings and kind in ("mixed-integer", "mixed", "mixed-integer-float"):
                    listed = ", ".join(f"{x!r} (row {i!r})" for i, x in strings)
                    raise TypeError(f"`data`: column {name!r} mixes numbers and strings, e.g. {listed}: make it "
                                    f"numeric (pd.to_numeric(data[{name!r}], errors='coerce') turns the strings "
                                    "into missing values) or all strings for a factor")
                raise TypeError(f"`data`: column {name!r} holds values of kind {kind!r}; a formula takes real "
                                "numbers, strings, booleans or a Categorical")
        else:
            raise TypeError(f"`data`: column {name!r} has dtype {dtype}; a formula takes real numbers, strings, "
                            "booleans or a Categorical")
    return out


def outside_identity_calls(text):
    """`text` without its I(...) calls and string literals (what remains names model-matrix factors)."""
    text = re.sub(r"\"[^\"]*\"|'[^']*'", " ", text)
    out, i = [], 0
    for match in re.finditer(r"(?<![\w.])I\s*\(", text):
        if match.start() < i:
            continue
        out.append(text[i:match.start()])
        depth, j = 0, match.end() - 1
        while j < len(text):
            depth += text[j] == "("
            depth -= text[j] == ")"
            if depth == 0:
                break
            j += 1
        i = j + 1
    out.append(text[i:])
    return " ".join(out)


def check_factor_levels(rhs, frame, what):
    """Raise ValueError if a factor (strings, booleans or a Categorical) that `rhs` uses as a model-matrix
    term has fewer than two levels in `frame`: R's "contrasts can be applied only to factors with 2 or
    more levels"; formulae would drop it silently."""
    import pandas as pd

    for name in sorted(set(identifiers(outside_identity_calls(rhs)))):
        if name not in frame.columns:
            continue
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
            continue
        levels = pd.unique(column.dropna())
        if len(levels) < 2:
            shown = f"the single level {levels[0]!r}" if len(levels) else "no level"
            raise ValueError(f"`formula`: the factor {name!r} in {what} has {shown} in the rows used: contrasts "
                             "can be applied only to factors with 2 or more levels (remove it from the formula)")


_MAGNITUDE_LIMIT = 1e150   # beyond, squares and cross-products (X'X, Z'WZ, sums of squares) overflow


def check_magnitude(values, label):
    largest = float(np.max(np.abs(values), initial=0.0))
    if largest > _MAGNITUDE_LIMIT:
        raise ValueError(f"`data`: {label} has values up to {largest:.3g}, beyond {_MAGNITUDE_LIMIT:.0e}: its "
                         "squares overflow; rescale it")


_SIDE_MODELS = {"ziformula": "the zero-inflation model", "dispformula": "the dispersion model"}


def _side_model(rhs, frame, argument):
    """The model matrix of a zero-inflation or dispersion formula's terms `rhs` on `frame` (the rows used):
    (X, names, formulae's model, columns kept); aliased columns dropped with a warning naming the model."""
    what = _SIDE_MODELS[argument]
    check_factor_levels(rhs, frame, what)
    X, names, offset, model, keep, _ = model_matrix(rhs, frame, what, argument)
    if offset is not None:
        raise ValueError(f"`{argument}`: offset() terms are not supported in {what}")
    if X.shape[1] == 0:
        return None, None, None, None
    if not np.all(np.isfinite(X)):
        bad = int(np.sum(~np.all(np.isfinite(X), axis=1)))
        raise ValueError(f"`data`: the columns of {what} ({argument}) are not finite in {bad} row(s) after dropping "
                         "missing values (e.g. log of zero)")
    for j, name in enumerate(names):
        check_magnitude(X[:, j], f"the column {name!r} of {what}")
    kept, dropped = aliased_columns(X, names)
    if dropped:
        warnings.warn(f"{what} ({argument}) matrix is rank deficient so dropping {len(dropped)} column(s): "
                      f"{', '.join(dropped)}", UserWarning, stacklevel=4)
        X, names, keep = X[:, kept], [names[j] for j in kept], [keep[j] for j in kept]
    return X, names, model, keep


def _ordinal_response(frame, raw, expression):
    """An ordinal response's codes 1..K (floats) and its category labels: :func:`._ordinal.ordinal_codes` of the
    column as the user gave it (`raw`: before model_frame made every Categorical ordered), or of the evaluated
    expression."""
    from ._ordinal import ordinal_codes

    column = expression.strip()
    values = raw[column] if column in raw.columns else evaluate_expression(expression, frame, "the response")
    codes, levels = ordinal_codes(values)
    return np.asarray(codes, dtype=float), [str(level) for level in levels]


def _drop_ordinal_intercept(X, names, keep):
    """X without the ``(Intercept)`` column (the thresholds take its place); a column constant over the rows,
    or one in the span of a constant and the columns before it, is confounded with the thresholds: an error."""
    if "(Intercept)" in names:
        j = names.index("(Intercept)")
        X, names, keep = np.delete(X, j, axis=1), names[:j] + names[j + 1:], keep[:j] + keep[j + 1:]
    if X.shape[1]:
        constant = np.flatnonzero(np.ptp(X, axis=0) == 0)
        if constant.size:
            raise ValueError(f"`formula`: the fixed-effect column {names[constant[0]]!r} is constant over the rows "
                             "used: it is confounded with the ordinal model's thresholds (remove it)")
        _, dropped = aliased_columns(np.column_stack([np.ones(X.shape[0]), X]), ["(thresholds)"] + names)
        if dropped:
            raise ValueError(f"`formula`: the fixed-effect columns {', '.join(dropped)} are confounded with the "
                             "ordinal model's thresholds (a full dummy coding, e.g. '0 + f': write 'y ~ f' so the "
                             "factor gets treatment contrasts)")
    return X, names, keep


def build_design(formula, data, *, weights=None, offset=None, ziformula=None, dispformula=None,
                 response="numeric"):
    """Stage 1: the arrays of an lme4 formula evaluated on a data frame.

    Parameters
    ----------
    formula : str
        lme4 syntax, e.g. ``"cbind(incidence, size - incidence) ~ period + (1 | herd)"``,
        ``"Reaction ~ Days + (Days | Subject)"``, ``"y ~ x + (1 | school/class)"``, ``"y ~ x + (x || g)"``.
        ``offset(expr)`` terms in the fixed part are added to the offset.
    data : pandas.DataFrame
        Factors are string, boolean or Categorical columns; a Categorical's categories give the levels in
        their order (the first is the reference level, as in R), its unused categories are dropped.
    weights, offset : array_like or str, optional
        Per-row prior weights (binomial: trials for a proportion response) and offset, or column names.
        NaN marks a missing value (the row is dropped, with a warning); weights must be positive.
    ziformula, dispformula : str, optional
        glmmTMB's one-sided formulas of the zero-inflation (logit of the zero probability) and dispersion (log
        of the dispersion) models, fixed effects only, e.g. ``"~ spp + mined"``; ``"~0"`` means none. Their
        columns count among the columns used (rows missing there are dropped with the others), their matrices
        are ``X_zi`` / ``X_disp`` with names ``zi_names`` / ``disp_names`` (aliased columns dropped with a
        warning naming the model).
    response : {"numeric", "ordinal"}
        ``"ordinal"``: the response is an ordered Categorical or integer categories, coded 1..K by
        :func:`quadlib.glmm._ordinal.ordinal_codes` (its categories in ``response_levels``), and X has no
        ``(Intercept)`` (the thresholds take its place; factors keep treatment contrasts).

    Returns
    -------
    Design

    Raises
    ------
    ValueError
        A factor with one level in a model matrix; a grouping factor with one level, or with no more
        levels than its term has random effects; a non-finite value in a model-matrix column, the
        response or the offset (after dropping missing rows), or one beyond 1e150 (its square overflows);
        an infinite or non-positive weight, an infinite offset. `ziformula` or `dispformula` not one-sided,
        with random effects or an offset() term. An ordinal response with a category never observed, fewer
        than two categories, or an X column confounded with the thresholds (constant, or a full dummy coding).
    TypeError
        A column mixing numbers and strings (the first strings and their rows are listed), or of a type
        a formula cannot use (dates, complex numbers); a non-numeric response (numeric), a response that is
        neither an ordered Categorical nor integers (ordinal); a formula argument that is not a string.

    Examples
    --------
    >>> from quadlib.glmm import datasets, build_design
    >>> d = build_design("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> d.fixed_names, d.terms[0].columns, d.terms[0].n_levels
    (['(Intercept)', 'Days'], ['(Intercept)', 'Days'], 18)
    >>> import pandas as pd
    >>> arms = pd.Categorical(["placebo", "drug", "drug+"] * 4, ["placebo", "drug", "drug+"])
    >>> trial = pd.DataFrame({"y": range(12), "trt": arms, "g": list("aabbccddeeff")})
    >>> build_design("y ~ trt + (1 | g)", trial).fixed_names    # placebo is the reference level, as in R
    ['(Intercept)', 'trtdrug', 'trtdrug+']
    >>> d = build_design("count ~ spp + mined + (1 | site)", datasets.load("salamanders"), ziformula="~ mined",
    ...                  dispformula="~ 1")
    >>> d.zi_names, d.X_zi.shape, d.disp_names
    (['(Intercept)', 'minedno'], (644, 2), ['(Intercept)'])
    """
    import pandas as pd

    parsed = parse_formula(formula)
    sides = {name: None if text is None else parse_one_sided(text, name)
             for name, text in (("ziformula", ziformula), ("dispformula", dispformula))}
    v.choice(response, ("numeric", "ordinal"), "response")
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"`data` must be a pandas DataFrame, got {type(data).__name__}")
    if not parsed.random:
        raise ValueError("`formula` has no random term '(expr | group)': use a GLM for fixed effects only")
    if len(data) == 0:
        raise ValueError("`data` has no rows")
    weights = column_or_array(weights, len(data), data, "weights")
    offset_arg = column_or_array(offset, len(data), data, "offset")

    # rows with a missing value in any column the formula uses (or in weights/offset) are dropped
    used = sorted({token for text in [formula] + [rhs for rhs in sides.values() if rhs]
                   for token in identifiers(text) if token in data.columns})
    for term in parsed.random:
        for name in term.group.split(":"):
            if name not in data.columns:
                raise ValueError(f"`formula`: grouping factor {name!r} in {term} is not a column of `data`")
    rows, frame = drop_missing(data, used, (weights, offset_arg))
    raw = frame
    frame = model_frame(frame, used, {name for term in parsed.random for name in term.group.split(":")},
                        data.index[rows])
    check_factor_levels(parsed.fixed, frame, "the fixed effects")
    warn_identifier_factors(frame, sorted(set(identifiers(outside_identity_calls(parsed.fixed)))),
                            stacklevel=4)

    # random terms first: their grouping gives the row order
    terms = []
    for spec in parsed.random:
        levels, index = grouping_factor(frame, spec.group)
        check_factor_levels(spec.expr, frame, f"the random term {spec}")
        Z, columns, _, model, keep, _ = model_matrix(spec.expr, frame, f"the random term {spec}")
        if not np.all(np.isfinite(Z)):
            bad = int(np.sum(~np.all(np.isfinite(Z), axis=1)))
            raise ValueError(f"`data`: the columns of the random term {spec} are not finite in {bad} row(s) after "
                             "dropping missing values (e.g. inf in the data or log of zero)")
        if Z.shape[1] == 0:
            raise ValueError(f"`formula`: the random term {spec} has no columns")
        if levels.size < 2:
            raise ValueError(f"`data`: grouping factor {spec.group!r} has a single level: its random effects cannot be "
                             "estimated (lme4: grouping factors must have > 1 sampled level)")
        if Z.shape[1] >= levels.size:
            raise ValueError(f"`formula`: the random term {spec} has {Z.shape[1]} random effects per level but only "
                             f"{levels.size} levels of {spec.group!r}: its covariance cannot be estimated")
        terms.append(RandomTerm(spec.group, columns, Z, index.astype(np.intp), [str(x) for x in levels],
                                spec.correlated, model, keep))
    order = np.argsort(terms[0].index, kind="stable")
    terms = [RandomTerm(t.group, t.columns, np.ascontiguousarray(t.Z[order]), t.index[order], t.levels, t.correlated,
                        t.model, t.keep) for t in terms]

    # response
    if parsed.cbind and response == "ordinal":
        raise ValueError("`formula`: a cbind(successes, failures) response is not an ordinal response")
    if parsed.cbind:
        successes = evaluate_expression(parsed.cbind[0], frame, "the successes")
        failures = evaluate_expression(parsed.cbind[1], frame, "the failures")
        response_values, trials = successes, successes + failures
        if weights is not None:
            raise ValueError("`weights` cannot be combined with a cbind(successes, failures) response")
    elif response == "ordinal":
        if weights is not None:
            raise ValueError("`weights` are not supported with an ordinal response")
        (response_values, ordinal_levels), trials = _ordinal_response(frame, raw, parsed.response), None
    else:
        column = parsed.response.strip()
        if column in frame and not pd.api.types.is_numeric_dtype(frame[column]) \
                and not pd.api.types.is_bool_dtype(frame[column]):
            raise TypeError(f"`formula`: the response {column!r} must be numeric, got dtype {frame[column].dtype}")
        response_values, trials = evaluate_expression(parsed.response, frame, "the response"), None
    X, names, formula_offset, fixed_model, fixed_keep, fixed_offset = model_matrix(parsed.fixed, frame,
                                                                                    "the fixed effects")
    total_offset = np.zeros(len(frame))
    if formula_offset is not None:
        total_offset += formula_offset
    if offset_arg is not None:
        total_offset += offset_arg[rows]
    bad = ~np.isfinite(response_values) | (~np.isfinite(trials) if trials is not None else False)
    bad = bad | ~np.isfinite(total_offset) | ~np.all(np.isfinite(X), axis=1)
    if bad.any():
        raise ValueError(f"`data`: the response, offset or fixed-effect columns are not finite in {int(bad.sum())} "
                         "row(s) after dropping missing values (e.g. log of zero)")
    checked = [(response_values, "the response"), (total_offset, "the offset")]
    if weights is not None:
        checked.append((weights[rows], "`weights`"))
    for values, label in checked + \
            [(X[:, j], f"the fixed-effect column {name!r}") for j, name in enumerate(names)] + \
            [(t.Z[:, j], f"the column {c!r} of the random term ({' + '.join(t.columns)} | {t.group})")
             for t in terms for j, c in enumerate(t.columns)]:
        check_magnitude(values, label)
    levels = None
    if response == "ordinal":   # before the aliasing: a column aliased with the intercept is an error here
        X, names, fixed_keep = _drop_ordinal_intercept(X, names, fixed_keep)
        levels = ordinal_levels
    kept, dropped = aliased_columns(X, names)
    fixed_keep = [fixed_keep[j] for j in kept]
    if dropped:
        warnings.warn(f"fixed-effect model matrix is rank deficient so dropping {len(dropped)} column(s): "
                      f"{', '.join(dropped)}", UserWarning, stacklevel=3)
        X, names = X[:, kept], [names[j] for j in kept]
    extra = {}
    for argument, prefix in (("ziformula", "zi"), ("dispformula", "disp")):
        if sides[argument] is None:
            continue
        matrix, side_names, model, keep = _side_model(sides[argument], frame, argument)
        if matrix is not None:
            extra.update({f"X_{prefix}": np.ascontiguousarray(matrix[order]), f"{prefix}_names": side_names,
                          f"{prefix}_model": model, f"{prefix}_keep": keep})
    return Design(formula, response_values[order], None if trials is None else trials[order],
                  None if weights is None else weights[rows][order], total_offset[order],
                  np.ascontiguousarray(X[order]), names, terms, rows[order], dropped, fixed_model, fixed_keep,
                  fixed_offset, offset, response_levels=levels, row_labels=np.asarray(data.index[rows[order]]),
                  **extra)


def design_from_arrays(response, X, fixed_names, terms, *, formula, rows=None, weights=None, offset=None):
    """A :class:`Design` from arrays already computed: the other constructor besides :func:`build_design`, for
    a model whose matrices are not read from a formula and a data frame (nlmm's FOCE step linearizes its
    model: X and the random terms' Z are its derivatives).

    Parameters
    ----------
    response : array_like, shape (N,)
    X : array_like, shape (N, p)
        The fixed-effects matrix, its columns named by `fixed_names`.
    fixed_names : list of str
    terms : list of RandomTerm
        At least one, each with N rows (``Z`` and ``index``, the level of each row).
    formula : str
        The model's label (results print it).
    rows : array_like of int, optional
        The position in the data of each row (default ``0 .. N-1``).
    weights, offset : array_like, shape (N,), optional
        Prior weights (None: all 1) and the offset (None: 0).

    Returns
    -------
    Design
        Without ``trials`` and without the formulae matrices that evaluate new data. The values are the
        caller's: only the shapes are checked (a computed design is what its model made it).

    Raises
    ------
    TypeError
        A term that is not a :class:`RandomTerm`.
    ValueError
        Shapes that do not agree, no terms, a term's ``index`` outside its levels.

    Examples
    --------
    >>> import numpy as np
    >>> term = RandomTerm("g", ["(Intercept)"], np.ones((6, 1)), np.repeat(np.arange(3), 2), ["a", "b", "c"], True)
    >>> d = design_from_arrays(np.arange(6.0), np.ones((6, 1)), ["(Intercept)"], [term], formula="y ~ 1 + (1 | g)")
    >>> d.nobs, d.offset.tolist(), d.terms[0].n_levels
    (6, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 3)
    """
    response = np.ascontiguousarray(response, dtype=float)
    X = np.ascontiguousarray(X, dtype=float)
    if response.ndim != 1:
        raise ValueError(f"`response` must be one-dimensional, got shape {response.shape}")
    n = response.size
    if X.ndim != 2 or X.shape[0] != n:
        raise ValueError(f"`X` must have shape ({n}, p), got {X.shape}")
    fixed_names = [str(name) for name in fixed_names]
    if len(fixed_names) != X.shape[1]:
        raise ValueError(f"`fixed_names` must name the {X.shape[1]} columns of `X`, got {len(fixed_names)}")
    terms = list(terms)
    if not terms:
        raise ValueError("`terms` must hold at least one RandomTerm")
    for term in terms:
        if not isinstance(term, RandomTerm):
            raise TypeError(f"`terms` must hold RandomTerm objects, got {type(term).__name__}")
        if np.shape(term.Z) != (n, len(term.columns)) or np.shape(term.index) != (n,):
            raise ValueError(f"`terms`: {term} must have Z of shape ({n}, {len(term.columns)}) and index of shape "
                             f"({n},), got {np.shape(term.Z)} and {np.shape(term.index)}")
        if n and not (0 <= np.min(term.index) and np.max(term.index) < term.n_levels):
            raise ValueError(f"`terms`: the index of {term} must be in [0, {term.n_levels})")
    vectors = {}
    for name, value, default in (("rows", rows, np.arange(n)), ("weights", weights, None),
                                 ("offset", offset, np.zeros(n))):
        value = default if value is None else np.asarray(value, dtype=np.intp if name == "rows" else float)
        if value is not None and value.shape != (n,):
            raise ValueError(f"`{name}` must have shape ({n},), got {value.shape}")
        vectors[name] = value
    return Design(formula=formula, response=response, trials=None, weights=vectors["weights"],
                  offset=vectors["offset"], X=X, fixed_names=fixed_names, terms=terms, rows=vectors["rows"],
                  dropped_columns=[])


# per-level Gram matrices of a term group are built for at most this many entries at a time (m * Q * Q doubles,
# 128 MiB); more levels are processed in chunks
_GRAM_ENTRIES = 1 << 24
# a level's (column-scaled) Gram matrix is singular when its smallest eigenvalue is below this fraction of its
# largest: singular values within 1e-5 of each other in ratio, far above rounding (1e-16) and far below any
# design whose columns really vary within the levels
_RANK_RTOL = 1e-10


def check_random_effects(design, specs=None, *, residual=True, stacklevel=None):
    """lme4's checks of the random-effect design, in lme4's order, with lme4's messages.

    1. Every grouping factor has at least two levels (lme4's ``check.nlev.gtr.1``, an error:
       "grouping factors must have > 1 sampled level").
    2. Every grouping factor has fewer levels than there are observations (``check.nobs.vs.nlev``, an
       error: "number of levels of each grouping factor must be < number of observations (problems: g)").
    3. Every term has fewer random effects than there are observations (``check.nobs.vs.nRE``, an error:
       "number of observations (=n) <= number of random effects (=q) for term (1 | g); the random-effects
       parameters and the residual variance (or scale parameter) are probably unidentifiable").
    4. The random-effect matrix Z is not rank deficient within a grouping: a warning naming the terms and
       columns, for a term given twice (``(1 | g) + (1 | g)``, or two factors that group the rows alike), a
       random slope constant within every level of its factor, or collinear columns in a term. lme4 fits
       these silently (its ``check.nobs.vs.rankZ`` is off by default, and compares rank(Z) only with the
       number of observations); their variance parameters are not identifiable, so the fit is one of many.

    For a model without a residual variance (a GLMM, lme4's glmer) checks 2 and 3 allow equality, as glmer
    does: one observation per level (an observation-level random effect) is allowed.

    Parameters
    ----------
    design : Design
        From :func:`build_design` or :func:`design_from_arrays`.
    specs : sequence of RandomTermSpec, optional
        The formula's random terms (``parse_formula(formula).random``), one per term of `design`, used
        to name the terms as written; by default those of ``design.formula``, or ``(column + ... | group)``
        when it is not a formula.
    residual : bool, default True
        True for a linear mixed model (lmer, and ``fit(..., family="gaussian")``, which glmer hands to
        lmer), False for a GLMM (glmer).
    stacklevel : int, optional
        Passed to :func:`warnings.warn`; by default the first line outside quadlib (the user's, however deep
        inside ``lmm`` or ``fit`` the check runs).

    Raises
    ------
    ValueError
        Checks 1 to 3 (the message names the argument, `data`, and gives lme4's message); `specs` not one
        per term.
    TypeError
        `design` not a :class:`Design`, `residual` not a bool.

    Warns
    -----
    UserWarning
        Check 4: "`formula`: the random-effect matrix is rank deficient: ...", naming the terms and their
        columns that are linearly dependent within every level.

    Notes
    -----
    Terms are put together when their factors group the rows alike (the same partition, whatever the level
    labels). For each such group with Q columns in all, the Q x Q Gram matrix of the (column-scaled) rows of
    every level is formed; Z is rank deficient there when every level's matrix is singular (smallest
    eigenvalue at most 1e-10 of the largest). Levels with fewer rows than Q are singular by themselves, so a
    group is reported only when all of its levels are: a slope that varies within some levels is
    identified by those. The work is O(N Q^2) for N rows; at most 2^24 Gram entries are held at a time
    (levels are taken in chunks).

    References
    ----------
    lme4's ``checkNlevels``, ``checkZdims`` and ``checkZrank`` (``lmerControl``'s ``check.*`` options):
    D. Bates, M. Maechler, B. Bolker and S. Walker (2015), "Fitting linear mixed-effects models using lme4",
    Journal of Statistical Software 67(1).

    Examples
    --------
    >>> import warnings
    >>> import numpy as np, pandas as pd
    >>> from quadlib.glmm import build_design
    >>> from quadlib.glmm._design import check_random_effects
    >>> data = pd.DataFrame({"y": np.arange(12.0) % 5, "g": list("aaabbbcccddd"), "c": np.repeat([1, 2, 3, 4], 3)})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     check_random_effects(build_design("y ~ 1 + (1+c | g)", data))
    >>> print(caught[0].message)   # doctest: +ELLIPSIS
    `formula`: the random-effect matrix is rank deficient: within every level of 'g', the columns '(Intercept)', ...
    """
    if not isinstance(design, Design):
        raise TypeError(f"`design` must be a Design (from build_design), got {type(design).__name__}")
    if not isinstance(residual, (bool, np.bool_)):
        raise TypeError(f"`residual` must be True or False, got {residual!r}")
    terms = list(design.terms)
    if specs is None:
        specs = _formula_terms(design.formula, len(terms))
    names = [str(spec) for spec in specs] if specs is not None else \
        [f"({' + '.join(term.columns)} | {term.group})" for term in terms]
    if len(names) != len(terms):
        raise ValueError(f"`specs` must hold one random term per term of `design` ({len(terms)}), got {len(names)}")
    n = design.nobs
    # one entry per grouping factor, as lme4's flist
    n_levels = {}
    for term in terms:
        n_levels.setdefault(term.group, np.unique(term.index).size)
    lonely = [group for group, m in n_levels.items() if m < 2]
    if lonely:
        raise ValueError(f"`data`: grouping factor {lonely[0]!r} has a single level: its random effects cannot be "
                         "estimated (lme4: grouping factors must have > 1 sampled level)")
    crowded = [group for group, m in n_levels.items() if (m >= n if residual else m > n)]
    if crowded:
        relation = "<" if residual else "<="
        raise ValueError(f"`data`: grouping factor {crowded[0]!r} has {n_levels[crowded[0]]} levels for {n} "
                         f"observations (lme4: number of levels of each grouping factor must be {relation} number of "
                         f"observations (problems: {', '.join(crowded)}))")
    for term, name in zip(terms, names):
        n_re = term.q * term.n_levels
        if n <= n_re if residual else n < n_re:
            relation, also = ("<=", " and the residual variance (or scale parameter)") if residual else ("<", "")
            compared = "is not larger than" if residual else "is smaller than"
            raise ValueError(f"`data`: the number of observations ({n}) {compared} the number of random "
                             f"effects ({n_re}) of the term {name} (lme4: number of observations (={n}) {relation} "
                             f"number of random effects (={n_re}) for term {name}; the random-effects parameters"
                             f"{also} are probably unidentifiable)")
    for members, group in _alike_groupings(terms):
        involved = _dependent_columns(np.hstack([terms[i].Z for i in members]), terms[members[0]].index)
        if involved is None:
            continue
        described, start = [], 0
        for i in members:
            columns = [terms[i].columns[c] for c in range(terms[i].q) if involved[start + c]]
            start += terms[i].q
            if columns:
                described.append(f"{', '.join(repr(c) for c in columns)} of {names[i]}")
        warnings.warn(f"`formula`: the random-effect matrix is rank deficient: within every level of {group!r}, the "
                      f"columns {' and '.join(described)} are linearly dependent (a term given twice, a random "
                      "slope constant within every level, or collinear columns): their variance parameters are "
                      "not identifiable", UserWarning,
                      stacklevel=v.outside_stacklevel() if stacklevel is None else stacklevel)


def _formula_terms(formula, count):
    """The random terms of `formula` as written, or None when it is only a label (design_from_arrays)."""
    try:
        specs = parse_formula(formula).random
    except (ValueError, TypeError):
        return None
    return specs if len(specs) == count else None


def _alike_groupings(terms):
    """Lists of term positions whose factors group the rows alike, with a group name for each list."""
    keys = []
    for term in terms:
        # levels numbered by first appearance: two factors with the same partition of the rows get one key
        _, first, inverse = np.unique(term.index, return_index=True, return_inverse=True)
        rank = np.empty(first.size, dtype=np.intp)
        rank[np.argsort(first, kind="stable")] = np.arange(first.size)
        keys.append(rank[inverse.ravel()])
    seen = []
    for i, key in enumerate(keys):
        for members in seen:
            if np.array_equal(keys[members[0]], key):
                members.append(i)
                break
        else:
            seen.append([i])
    return [(members, terms[members[0]].group) for members in seen]


def _dependent_columns(Z, index):
    """A boolean mask of the columns of `Z` that are linearly dependent within every level of `index`, or
    None when some level's rows have full column rank."""
    Z = np.asarray(Z, dtype=float)
    n, q = Z.shape
    scale = np.sqrt(np.mean(Z * Z, axis=0)) if n else np.ones(q)
    Z = Z / np.where(scale > 0, scale, 1.0)
    order = np.argsort(index, kind="stable")
    levels, starts = np.unique(index[order], return_index=True)
    bounds = np.append(starts, n)
    chunk = max(1, _GRAM_ENTRIES // (q * q))
    null = np.zeros((q, q))
    for lo in range(0, levels.size, chunk):
        hi = min(lo + chunk, levels.size)
        rows = order[bounds[lo]:bounds[hi]]
        local = np.repeat(np.arange(hi - lo), np.diff(bounds[lo:hi + 1]))
        gram = np.empty((hi - lo, q, q))
        for a in range(q):
            for b in range(a, q):
                gram[:, a, b] = gram[:, b, a] = np.bincount(local, Z[rows, a] * Z[rows, b], minlength=hi - lo)
        values, vectors = np.linalg.eigh(gram)
        small = values <= _RANK_RTOL * np.maximum(values[:, -1:], 0.0)
        if not np.all(small[:, 0]):
            return None
        # the directions each level cannot see, summed: their weight on a column says it takes part
        null += np.einsum("lak,lbk,lk->ab", vectors, vectors, small)
    weight = np.diag(null)
    return weight > 1e-6 * np.max(weight)


def warn_identifier_factors(frame, columns, *, stacklevel=2):
    """Warn (UserWarning) for each string column among `columns` with as many distinct values as rows.

    A string column in the fixed part becomes a factor with one coefficient per level; when every row has
    its own level it is almost always a row identifier or numbers read as text (decimal commas, units,
    thousands separators), and the model is saturated. R makes the same factor without a word; this says
    so before the fit. Categoricals (a deliberate choice), numbers, booleans and missing values are not
    counted; names that are not columns of `frame` are skipped.

    Parameters
    ----------
    frame : pandas.DataFrame
    columns : iterable of str
        The columns used as fixed-effect terms.
    stacklevel : int
        Passed to :func:`warnings.warn` (2: the caller's line).

    Returns
    -------
    list of str
        The columns warned about.

    Examples
    --------
    >>> import warnings
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"y": [1.0, 2.0, 3.5], "x": ["1,5", "2,7", "3,1"], "g": ["a", "b", "a"]})
    >>> with warnings.catch_warnings(record=True):
    ...     warn_identifier_factors(frame, ["x", "g"])
    ['x']
    """
    import pandas as pd

    flagged = []
    for name in columns:
        if name not in frame.columns:
            continue
        column = frame[name]
        if isinstance(column, pd.DataFrame):  # a duplicated column name: formulae reports it
            continue
        dtype = column.dtype
        if not (dtype == object or pd.api.types.is_string_dtype(dtype)) or isinstance(dtype, pd.CategoricalDtype):
            continue
        present = column.dropna()
        if len(present) < 2 or pd.api.types.infer_dtype(present, skipna=True) != "string":
            continue
        if present.nunique() == len(present):
            shown = ", ".join(repr(x) for x in present.iloc[:3])
            warnings.warn(f"`data`: the string column {name!r} is a fixed-effect factor with as many levels as rows "
                          f"({len(present)}; e.g. {shown}): probably an identifier or numbers read as text (decimal "
                          "commas, units); convert it (pd.to_numeric) or leave it out of the fixed effects",
                          UserWarning, stacklevel=stacklevel)
            flagged.append(name)
    return flagged
