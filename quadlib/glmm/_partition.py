"""The design of one partition of a larger data frame, agreed with all the others (stage 1 of the pipeline,
split: the Dask path of :func:`quadlib.glmm.fit` builds every partition's :class:`~quadlib.glmm.Design` here).

This module owns the agreement: what every partition must know so that its arrays are the rows of the one
design :func:`~quadlib.glmm.build_design` would build on the whole frame (the same X and Z columns, names,
contrasts and reference levels, the same response, weights and offset), without the rows ever meeting. It
works on pandas frames only and never imports Dask: :func:`summarize_partition`, :func:`design_on_partition`
and :func:`alias_piece` run on a worker, on one partition; :func:`cluster_group`, :func:`merge_summaries` and
:func:`aliased_over_partitions` run on the driver, on small results.

The route (one agreement pass, then one build pass):

1. each partition is summarized (:class:`PartitionSummary`): its row counts after the same dropping of
   missing rows as ``build_design``, its dtypes, the distinct values of each factor column of the model
   matrices, the count, mean and sum of squared deviations of each column under ``center()``, ``scale()`` or
   ``standardize()``, and the groups it holds;
2. the driver merges them (:func:`merge_summaries`): the checks that need every row (a factor with one level,
   a grouping factor with one level or too few for its term, no rows), one warning for the dropped rows; then
   formulae's models of the fixed part and of each random term are built once, on a small *prototype frame*
   holding every agreed level of each factor column (strings stay strings, so formulae sorts the same set; a
   Categorical keeps its used categories in their order, the first the reference level as in R), and the
   transforms' means and standard deviations are set to the merged ones (Chan et al.'s pairwise update; formulae's
   ``scale`` divides by ``np.std``, ddof=0);
3. each partition evaluates those models on its rows (:func:`design_on_partition`) with the code
   ``predict(newdata)`` uses (:func:`~quadlib.glmm._design.evaluate_new_data`), so every partition gets
   identical columns; its rows are sorted by group within the partition;
4. aliased fixed-effect columns are found by TSQR: each partition's R factor (:func:`alias_piece`), stacked and
   factored again on the driver, goes through the rule of :func:`~quadlib.glmm._design.aliased_columns`
   (:func:`aliased_over_partitions`); :func:`keep_columns` then drops them from each partition's design.

The likelihood splits over partitions only when each group of the single grouping factor lies in one
partition (the caller's check); crossed, nested and interaction grouping factors are refused
(:func:`cluster_group`). Stateful transforms other than ``center``/``scale``/``standardize`` of a column
(``poly``, splines) depend on all the rows in ways not agreed here: NotImplementedError, with the workaround.

Bounds: at most :data:`MAX_LEVELS` (10,000) distinct values per factor column (in one partition and overall)
and per Categorical dtype; the prototype frame has as many rows as the largest of them.

References
----------
T. F. Chan, G. H. Golub and R. J. LeVeque (1979), "Updating formulae and a pairwise algorithm for computing
sample variances", Stanford CS report STAN-CS-79-773 (the merge of counts, means and squared deviations).
J. Demmel, L. Grigori, M. Hoemmen and J. Langou (2012), "Communication-optimal parallel and sequential QR and LU
factorizations", SIAM J. Sci. Comput. 34(1) (TSQR).
"""
from dataclasses import dataclass, field, replace
import warnings

import numpy as np

from .. import _validation as v
from .._expression import MAX_NESTING, shorten
from ._design import (Design, RandomTerm, aliased_columns, check_dropped_rows, check_factor_levels, check_magnitude,
                      column_or_array, evaluate_expression, evaluate_new_data, group_labels, grouping_factor,
                      identifiers, missing_rows, model_frame, model_matrix, outside_identity_calls,
                      warn_identifier_factors)
from ._formula import parse_formula

__all__ = ["MAX_LEVELS", "PartitionSummary", "PartitionSpec", "TermSpec", "cluster_group", "summarize_partition",
           "merge_summaries", "design_on_partition", "alias_piece", "aliased_over_partitions", "keep_columns"]

MAX_LEVELS = 10_000      # distinct values of one factor column (and categories of one Categorical dtype)
_MOMENT_TRANSFORMS = ("center", "scale", "standardize")
_FACTOR_CALLS = ("C", "factor")
_UNKNOWN_CATEGORIES = "__UNKNOWN_CATEGORIES__"   # Dask's placeholder in the meta of a Categorical column
_ONE_MACHINE = "collect the data (ddf.compute()) and use quadlib.glmm.fit (or lmm) on one machine"


# ----------------------------------------------------------------------------------------- the formula
def _tree(text):
    """formulae's parse tree of one part of a formula (ValueError when it does not parse)."""
    from formulae.parser import Parser
    from formulae.scanner import Scanner

    try:
        return Parser(Scanner(text).scan()).parse()
    except (RecursionError, MemoryError):
        raise ValueError("`formula` is nested too deeply") from None
    except Exception as error:  # formulae's ScanError, ParseError and friends
        raise ValueError(f"`formula`: cannot parse {shorten(text)}: {str(error).strip()}") from None


def _scan(text):
    """The calls in `text` as (name, argument nodes), the names under C()/factor() (their levels are those
    of the values, so those columns need their distinct values agreed), and the back-quoted names."""
    from formulae import expr

    calls, factored, quoted = [], set(), set()
    stack = [(_tree(text), False, 1)]
    while stack:
        node, in_factor, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ValueError(f"`formula` is nested more than {MAX_NESTING} levels deep")
        children = []
        if isinstance(node, expr.Call):
            name = node.callee.name.lexeme if isinstance(node.callee, expr.Variable) else str(node.callee)
            calls.append((name, list(node.args)))
            in_factor = in_factor or name in _FACTOR_CALLS
            children = list(node.args)
        elif isinstance(node, (expr.Variable, expr.QuotedName)):
            if in_factor:
                factored.add(_variable_name(node))
            if isinstance(node, expr.QuotedName):
                quoted.add(_variable_name(node))
        elif isinstance(node, expr.Binary):
            children = [node.left, node.right]
        elif isinstance(node, expr.Unary):
            children = [node.right]
        elif isinstance(node, expr.Grouping):
            children = [node.expression]
        elif isinstance(node, expr.Assign):
            children = [node.value]
        stack.extend((child, in_factor, depth + 1) for child in children)
    return calls, factored, quoted


def _variable_name(node):
    from formulae import expr

    return node.expression.lexeme[1:-1] if isinstance(node, expr.QuotedName) else node.name.lexeme


def _names_under(nodes):
    """The variable names in the argument nodes of a call (callees and keywords left out), sorted."""
    from formulae import expr

    names, stack = set(), list(nodes)
    while stack:   # nesting was bounded by _scan's walk of the same tree
        node = stack.pop()
        if isinstance(node, (expr.Variable, expr.QuotedName)):
            names.add(_variable_name(node))
        elif isinstance(node, expr.Call):
            stack.extend(node.args)
        elif isinstance(node, expr.Binary):
            stack.extend([node.left, node.right])
        elif isinstance(node, expr.Unary):
            stack.append(node.right)
        elif isinstance(node, expr.Grouping):
            stack.append(node.expression)
        elif isinstance(node, expr.Assign):
            stack.append(node.value)
    return sorted(names)


def _stateful_transforms():
    from formulae.transforms import TRANSFORMS

    return {name for name, f in TRANSFORMS.items() if getattr(f, "__stateful_transform__", False)}


def _agreed_transforms(parsed):
    """The columns under center()/scale()/standardize() in the model matrices, the columns under
    C()/factor() and the back-quoted names; NotImplementedError for any other stateful transform, and for one
    in the response."""
    from formulae import expr

    stateful = _stateful_transforms()
    moments, factored, quoted = set(), set(), set()
    parts = [(parsed.fixed, True)] + [(spec.expr, True) for spec in parsed.random] + \
        [(text, False) for text in ((parsed.response,) if not parsed.cbind else parsed.cbind)]
    for text, in_model in parts:
        calls, under, names = _scan(text)
        quoted |= names
        if in_model:
            factored |= under
        for name, args in calls:
            if name not in stateful:
                continue
            bare = len(args) == 1 and isinstance(args[0], (expr.Variable, expr.QuotedName))
            if in_model and name in _MOMENT_TRANSFORMS and bare:
                moments.add(_variable_name(args[0]))
                continue
            columns = _names_under(args)
            what = f"{name}({', '.join(columns) or '...'})"
            raise NotImplementedError(
                f"`formula`: {what} on a Dask DataFrame: this transform's parameters depend on all the rows, and "
                f"only center(), scale() and standardize() of a column in the model matrices are agreed across "
                f"partitions; compute the column first (e.g. ddf = ddf.assign(new=...) and use 'new' in the "
                f"formula), or {_ONE_MACHINE}")
    return moments, factored, quoted


def cluster_group(formula):
    """The grouping column the likelihood of `formula` decomposes by: each of its levels is an independent
    cluster, so partitions holding whole clusters add up.

    Several terms of one factor (``(1 | g) + (0 + x | g)``, ``(x || g)``) are one cluster structure. The
    formula's stateful transforms are checked here too, so that what a partition cannot agree on is refused
    before any pass over the data.

    Parameters
    ----------
    formula : str
        lme4 syntax (:func:`~quadlib.glmm.parse_formula`).

    Returns
    -------
    str
        The grouping column.

    Raises
    ------
    NotImplementedError
        Crossed random effects (terms of different factors): they do not decompose into independent clusters;
        nested ``(1 | a/b)`` (they decompose by the top level, but are not distributed in this version) and
        interaction ``(1 | a:b)`` grouping factors; stateful
        transforms other than center()/scale()/standardize() of a column (:func:`merge_summaries`).
    ValueError, TypeError
        A formula that does not parse, or has no random term.

    Examples
    --------
    >>> cluster_group("cbind(incidence, size - incidence) ~ period + (1 | herd)")
    'herd'
    >>> cluster_group("y ~ x + (x || g)")
    'g'
    """
    parsed = parse_formula(formula)
    if not parsed.random:
        raise ValueError("`formula` has no random term '(expr | group)': use a GLM for fixed effects only")
    groups = list(dict.fromkeys(spec.group for spec in parsed.random))
    if len(groups) > 1:
        terms = ", ".join(str(spec) for spec in parsed.random)
        if any(":" in g for g in groups):
            raise NotImplementedError(
                f"`formula`: nested random effects ({terms}) on a Dask DataFrame are not supported in this version "
                f"(they decompose by the top-level factor, but each partition would need the several-factor "
                f"objective, whose fit couples the partitions in its first stage); {_ONE_MACHINE}")
        raise NotImplementedError(
            f"`formula`: crossed random effects ({terms}: grouping factors {', '.join(map(repr, groups))}) do not "
            f"decompose into independent clusters, so their likelihood does not split over partitions; "
            f"{_ONE_MACHINE}")
    group = groups[0]
    if ":" in group:
        a, b = group.split(":")[:2]
        raise NotImplementedError(
            f"`formula`: the grouping factor {group!r} is an interaction; on a Dask DataFrame the grouping factor "
            f"must be one column: add it first (e.g. ddf = ddf.assign(ab=ddf[{a!r}].astype(str) + ':' + "
            f"ddf[{b!r}].astype(str))) and group by it, or {_ONE_MACHINE}")
    _agreed_transforms(parsed)
    return group


class _Plan:
    """What a formula needs from a frame with these columns: the columns used (as build_design: those whose
    missing values drop a row), the columns a model matrix reads (`needed`: also the back-quoted names), the
    grouping column, the model-matrix columns outside I() (factor candidates), the columns under
    C()/factor() and those under center()/scale()/standardize()."""

    def __init__(self, formula, columns):
        self.parsed = parsed = parse_formula(formula)
        self.group = cluster_group(formula)
        columns = set(map(str, columns))
        self.used = sorted({token for token in identifiers(formula) if token in columns})
        self.moments, factored, quoted = _agreed_transforms(parsed)
        quoted &= columns
        self.needed = sorted(set(self.used) | quoted)
        rhs = [parsed.fixed] + [spec.expr for spec in parsed.random]
        self.model_columns = sorted({name for text in rhs for name in identifiers(text) if name in columns} | quoted)
        outside = {name for text in rhs for name in identifiers(outside_identity_calls(text)) if name in columns}
        outside |= quoted   # (a back-quoted name inside I() only gets its levels collected needlessly)
        self.outside = sorted(outside)
        self.factored = sorted(factored & columns)
        self.moments = sorted(self.moments & columns)


def _kind(series):
    """How a model-frame column enters formulae: "category", "bool", "number" or "string"."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    return "string"


def _plain(values):
    return [x.item() if isinstance(x, np.generic) else x for x in values]


def _too_many(column, count, where):
    return ValueError(f"`data`: the factor column {column!r} has {count} distinct values {where}; at most "
                      f"{MAX_LEVELS} levels per factor column are agreed across the partitions of a Dask DataFrame "
                      "(a column with that many levels is rarely a factor: make it numeric, or leave it out)")


# ------------------------------------------------------------------------------------------ the summary
@dataclass(frozen=True, eq=False)
class PartitionSummary:
    """What one partition tells the driver (:func:`summarize_partition`): small and picklable.

    Attributes
    ----------
    rows, complete, nan_rows : int
        Rows of the partition, those kept (no missing value in the columns used, nor in the weights and
        offset) and those dropped.
    dtypes : dict
        ``{column: str(dtype)}`` for every column of the partition.
    kinds : dict
        ``{column: "number" | "bool" | "string" | "category"}``: how each model-matrix column reaches formulae
        (after :func:`~quadlib.glmm._design.model_frame`), to find a column that is numbers in one partition
        and strings in another.
    levels : dict
        ``{column: tuple}``: the distinct values, among the complete rows, of each factor column (strings,
        booleans, Categoricals in the model matrices outside I(), and any column under C()/factor()); a
        Categorical's in its categories' order. At most :data:`MAX_LEVELS` each.
    categories : dict
        ``{column: tuple}``: each Categorical factor column's full categories, in order (at most
        :data:`MAX_LEVELS`).
    moments : dict
        ``{column: (n, mean, M2)}`` of each column under center()/scale()/standardize(), over the complete
        rows (M2: the sum of squared deviations from the mean).
    n_groups : int
        Distinct groups among the complete rows.
    group_sample : tuple
        Up to two of their labels (a single-level grouping factor is found from these).
    first_row : pandas.DataFrame or None
        The first complete row's used columns, after ``model_frame`` (the values of the prototype frame's
        numeric columns); None without complete rows.
    """

    rows: int
    complete: int
    nan_rows: int
    dtypes: dict
    kinds: dict = field(default_factory=dict)
    levels: dict = field(default_factory=dict)
    categories: dict = field(default_factory=dict)
    moments: dict = field(default_factory=dict)
    n_groups: int = 0
    group_sample: tuple = ()
    first_row: object = None

    def __repr__(self):
        return (f"PartitionSummary({self.rows} rows, {self.complete} complete, {self.n_groups} groups, "
                f"factors {sorted(self.levels)}, moments {sorted(self.moments)})")


def _weights_offset(frame, weights, offset):
    for name, value in (("weights", weights), ("offset", offset)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"`{name}` must be a column name (str) or None on a partitioned frame, got "
                            f"{type(value).__name__}")
    return (column_or_array(weights, len(frame), frame, "weights"),
            column_or_array(offset, len(frame), frame, "offset"))


def summarize_partition(frame, formula, *, weights=None, offset=None):
    """The agreement pass on one partition (runs on a worker): a small :class:`PartitionSummary`.

    Rows with a missing value in a column the formula uses, or in `weights` or `offset`, are dropped as
    :func:`~quadlib.glmm.build_design` drops them (counted here, not warned about: :func:`merge_summaries`
    warns once with the total).

    Parameters
    ----------
    frame : pandas.DataFrame
        One partition.
    formula : str
        lme4 syntax, with a single grouping factor (:func:`cluster_group`).
    weights, offset : str, optional
        Column names (an array cannot be split with the rows of a partitioned frame).

    Returns
    -------
    PartitionSummary

    Raises
    ------
    ValueError
        An infinite or non-positive weight, an infinite offset (the row number is the partition's); a factor
        column with more than :data:`MAX_LEVELS` distinct values (or a Categorical dtype with more
        categories), naming the column.
    TypeError
        `frame` not a pandas DataFrame; `weights`/`offset` not a column name; a column a formula cannot use
        (:func:`~quadlib.glmm._design.model_frame`).
    NotImplementedError
        As :func:`cluster_group`.

    Notes
    -----
    Work and memory are O(rows x columns used); what is returned is O(factor levels + columns), at most
    :data:`MAX_LEVELS` values per factor column.

    Examples
    --------
    >>> from quadlib.glmm import datasets
    >>> cbpp = datasets.load("cbpp")
    >>> part = cbpp[cbpp.herd.isin(["1", "2"])]                  # herds 1 and 2: 4 + 3 rows
    >>> s = summarize_partition(part, "cbind(incidence, size - incidence) ~ period + (1 | herd)")
    >>> s.complete, s.n_groups, s.levels["period"]
    (7, 2, ('1', '2', '3', '4'))
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`frame` must be a pandas DataFrame (one partition), got {type(frame).__name__}")
    dtypes = {str(name): str(dtype) for name, dtype in frame.dtypes.items()}
    plan = _Plan(formula, frame.columns)
    if any(isinstance(c, str) and c not in frame.columns for c in (weights, offset)) or plan.group not in frame.columns:
        # a column missing from this partition: merge_summaries names it, with the partition
        return PartitionSummary(len(frame), 0, 0, dtypes)
    w, o = _weights_offset(frame, weights, offset)
    missing = missing_rows(frame, plan.used, (w, o))
    rows = np.flatnonzero(~missing)
    if rows.size == 0:
        return PartitionSummary(len(frame), 0, int(missing.sum()), dtypes)
    mf = model_frame(frame[plan.needed].iloc[rows].reset_index(drop=True), plan.used, {plan.group},
                     frame.index[rows])
    kinds = {name: _kind(mf[name]) for name in plan.model_columns}
    levels, categories = {}, {}
    for name in sorted(set(plan.factored) | {c for c in plan.outside if kinds[c] != "number"}):
        column = mf[name]
        if kinds[name] == "category":
            raw = frame[name].cat.categories
            if raw.size > MAX_LEVELS:
                raise _too_many(name, raw.size, "(categories of its dtype)")
            categories[name] = tuple(_plain(raw.tolist()))
            values = column.cat.categories.tolist()   # the used ones, in order (model_frame dropped the rest)
        else:
            values = pd.unique(column)
        if len(values) > MAX_LEVELS:
            raise _too_many(name, len(values), "in one partition")
        levels[name] = tuple(_plain(list(values)))
    moments = {}
    for name in plan.moments:
        if kinds.get(name) not in ("number", "bool"):
            continue   # formulae refuses it when the models are built (merge_summaries)
        x = np.asarray(mf[name], dtype=float)
        mean = float(np.mean(x))
        moments[name] = (int(x.size), mean, float(np.sum((x - mean) ** 2)))
    labels = pd.unique(pd.Series(group_labels(mf, plan.group)))
    return PartitionSummary(len(frame), int(rows.size), int(missing.sum()), dtypes, kinds, levels, categories,
                            moments, int(labels.size), tuple(str(x) for x in labels[:2]), mf.iloc[:1])


# --------------------------------------------------------------------------------------------- the merge
@dataclass(frozen=True, eq=False)
class TermSpec:
    """One random term as every partition builds it: the term as written (`spec`), its grouping column,
    its column names, whether they are correlated, and formulae's model of its expression with the
    positions of its columns used (`keep`)."""

    spec: object
    group: str
    columns: list
    correlated: bool
    model: object
    keep: list

    @property
    def q(self):
        return len(self.columns)


@dataclass(frozen=True, eq=False)
class PartitionSpec:
    """What every partition needs to build its design (:func:`merge_summaries`): small (no row data) and
    picklable, sent once to every worker.

    Attributes
    ----------
    formula : str
    group : str
        The grouping column (:func:`cluster_group`).
    fixed_names : list of str
        The fixed-effect columns, before aliased ones are dropped (:func:`aliased_over_partitions`).
    terms : tuple of TermSpec
        Each random term's group, columns and correlation (and formulae's model).
    n_rows : int
        Complete rows over all partitions (the design's number of observations).
    n_groups : int
        The sum over partitions of the groups each holds: the number of groups when each lies in one
        partition (the caller's check).
    n_dropped : int
        Rows dropped for missing values.
    levels : dict
        ``{column: list}``: the agreed levels of each factor column.
    moments : dict
        ``{column: (n, mean, std)}``: the agreed parameters of center()/scale()/standardize() (std with
        ddof=0, as formulae's ``scale``).
    weights, offset : str or None
        The column names given.
    used : tuple
        The columns whose missing values drop a row (as build_design's).
    columns : tuple
        The columns the model reads (`used` and the back-quoted names).
    fixed_model, fixed_keep, fixed_offset
        formulae's model of the fixed part, the positions of its columns used and of its offset() columns.
    """

    formula: str
    group: str
    fixed_names: list
    terms: tuple
    n_rows: int
    n_groups: int
    n_dropped: int
    levels: dict
    moments: dict
    weights: object
    offset: object
    used: tuple
    columns: tuple
    fixed_model: object
    fixed_keep: list
    fixed_offset: list

    @property
    def p(self):
        return len(self.fixed_names)

    def __repr__(self):
        terms = ", ".join(f"({' + '.join(t.columns)} {'|' if t.correlated else '||'} {t.group})" for t in self.terms)
        return (f"PartitionSpec({self.formula!r}: {self.n_rows} rows, {self.n_groups} groups, fixed "
                f"{self.fixed_names}, random {terms})")


def _check_dtypes(summaries, meta, columns):
    for k, summary in enumerate(summaries):
        for name in columns:
            expected = str(meta[name].dtype)
            if name not in summary.dtypes:
                raise TypeError(f"`data`: partition {k} has no column {name!r}, the frame's meta has it "
                                f"(dtype {expected})")
            if summary.dtypes[name] != expected:
                raise TypeError(f"`data`: partition {k} has column {name!r} of dtype {summary.dtypes[name]}, the "
                                f"frame's meta says {expected}")


def _check_kinds(summaries, columns):
    for name in columns:
        seen = {}
        for k, summary in enumerate(summaries):
            if name in summary.kinds:
                seen.setdefault(summary.kinds[name], k)
        if len(seen) > 1:
            shown = " and ".join(f"{kind} in partition {k}" for kind, k in seen.items())
            raise TypeError(f"`data`: column {name!r} holds {shown}: a column is a number or a factor in every "
                            "partition (convert it, e.g. ddf[col].astype(str) or dd.to_numeric)")


def _ordered_union(lists):
    seen = {}
    for values in lists:
        for x in values:
            seen.setdefault(x, None)
    return list(seen)


def _agreed_levels(summaries, meta, name, kind):
    """The levels of factor column `name` over all partitions; a Categorical's in its categories' order:
    the meta's when known, else the order in which the partitions' categories first appear (how Dask
    concatenates partitions with different categories)."""
    used = _ordered_union(s.levels[name] for s in summaries if name in s.levels)
    if len(used) > MAX_LEVELS:
        raise _too_many(name, len(used), "over all partitions")
    if kind != "category":
        return used
    known = list(meta[name].cat.categories) if name in meta.columns and hasattr(meta[name], "cat") else []
    if _UNKNOWN_CATEGORIES in known:
        known = []
    order = _ordered_union([_plain(known)] + [s.categories.get(name, ()) for s in summaries] + [used])
    present = set(used)
    return [x for x in order if x in present]


def _merge_moments(triples):
    """Chan, Golub and LeVeque's pairwise update of (n, mean, M2) over partitions."""
    n, mean, m2 = 0, 0.0, 0.0
    for nb, mb, m2b in triples:
        if nb == 0:
            continue
        total = n + nb
        delta = mb - mean
        mean = mean + delta * (nb / total)
        m2 = m2 + m2b + delta * delta * (n * nb / total)
        n = total
    return n, mean, m2


def _prototype(summaries, used, levels, kinds):
    """A frame with every agreed level of each factor column (cycled; the longest sets the length) and the
    first complete row's values elsewhere, in the partitions' model-frame dtypes."""
    import pandas as pd

    row = next(s.first_row for s in summaries if s.first_row is not None)
    n = max([len(values) for values in levels.values()] + [1])
    proto = row.iloc[[0] * n].reset_index(drop=True)
    for name, values in levels.items():
        cycled = [values[i % len(values)] for i in range(n)] if values else [None] * n
        if kinds.get(name) == "category":
            # model_frame makes a Categorical ordered (formulae then keeps its categories' order), except the
            # grouping column's, which it leaves as it is (formulae sorts an unordered one's values)
            proto[name] = pd.Categorical(cycled, categories=values, ordered=row[name].dtype.ordered)
        else:
            proto[name] = pd.Series(cycled, dtype=row[name].dtype)
    return proto[list(used)]


def _lazy_calls(model):
    """formulae's lazy calls of a model (its stateful transforms live there), nested ones included."""
    from formulae.terms.call import Call
    from formulae.terms.call_resolver import LazyCall, LazyOperator

    stack = []
    for term in getattr(model, "terms", {}).values():
        stack.extend(c.call for c in getattr(term, "components", ()) if isinstance(c, Call))
    found, steps = [], 0
    while stack and steps < 100_000:   # the formula's size bounds the tree; the bound guards a cycle
        steps += 1
        node = stack.pop()
        if isinstance(node, LazyCall):
            found.append(node)
            stack.extend(node.args)
            stack.extend(node.kwargs.values())
        elif isinstance(node, LazyOperator):
            stack.extend(node.args)
    return found


def _set_transforms(model, moments):
    """Give every center()/scale()/standardize() of a column in `model` the agreed mean and std."""
    from formulae.terms.call_resolver import LazyVariable

    for call in _lazy_calls(model):
        transform = call.stateful_transform
        if transform is None:
            continue
        arg = call.args[0] if len(call.args) == 1 else None
        if call.callee not in _MOMENT_TRANSFORMS or not isinstance(arg, LazyVariable) or arg.name not in moments:
            raise NotImplementedError(f"`formula`: {call} on a Dask DataFrame: only center(), scale() and "
                                      f"standardize() of a column are agreed across partitions; {_ONE_MACHINE}")
        _, mean, std = moments[arg.name]
        transform.mean = mean
        if hasattr(transform, "std"):
            transform.std = std
        transform.params_set = True


def merge_summaries(summaries, formula, meta, *, weights=None, offset=None):
    """The agreement (runs on the driver): every partition's :class:`PartitionSummary` merged into the
    :class:`PartitionSpec` each partition builds its design from.

    The checks that need all the rows run here, with :func:`~quadlib.glmm.build_design`'s messages; the
    rows dropped for missing values are warned about once, with the total; string fixed-effect factors
    with as many levels as rows are warned about once (:func:`~quadlib.glmm._design.warn_identifier_factors`).

    Parameters
    ----------
    summaries : sequence of PartitionSummary
        One per partition, in partition order (the position names the partition in messages).
    formula : str
    meta : pandas.DataFrame
        The partitioned frame's schema (an empty frame with its columns and dtypes; Dask's ``ddf._meta``).
    weights, offset : str, optional
        Column names, as given to :func:`summarize_partition`.

    Returns
    -------
    PartitionSpec

    Raises
    ------
    TypeError
        A partition without a column the model uses, or whose dtype differs from `meta`'s ("`data`: partition 3
        has column 'x' of dtype object, the frame's meta says float64"); a column that is numbers in one
        partition and strings in another; a non-numeric response; `summaries` or `meta` of the wrong type.
    ValueError
        No rows; every row missing a value; a factor with fewer than two levels in the rows used; a
        grouping factor with one level, or with no more levels than its term has random effects; a random term
        without columns; more than :data:`MAX_LEVELS` levels in a factor column; `weights` with cbind; a
        `weights`/`offset` name that is not a column.
    NotImplementedError
        As :func:`cluster_group`.

    Warns
    -----
    UserWarning
        "dropped N row(s) with missing values in the columns used" (once); identifier-like string factors.

    Notes
    -----
    Work is O(partitions x (columns + levels)); the prototype frame holds max(levels) rows, at most
    :data:`MAX_LEVELS`.
    """
    import pandas as pd

    if not isinstance(meta, pd.DataFrame):
        raise TypeError(f"`meta` must be a pandas DataFrame (the partitioned frame's meta), got {type(meta).__name__}")
    summaries = list(summaries)
    for s in summaries:
        if not isinstance(s, PartitionSummary):
            raise TypeError(f"`summaries` must hold PartitionSummary objects, got {type(s).__name__}")
    plan = _Plan(formula, meta.columns)
    parsed = plan.parsed
    if plan.group not in meta.columns:
        raise ValueError(f"`formula`: grouping factor {plan.group!r} in {parsed.random[0]} is not a column of `data`")
    for name, value in (("weights", weights), ("offset", offset)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"`{name}` must be a column name (str) or None on a partitioned frame, got "
                            f"{type(value).__name__}")
        if value is not None and value not in meta.columns:
            raise ValueError(f"`{name}` names column {value!r}, which is not in `data`")
    if parsed.cbind and weights is not None:
        raise ValueError("`weights` cannot be combined with a cbind(successes, failures) response")
    _check_dtypes(summaries, meta, sorted(set(plan.needed) | {c for c in (weights, offset) if c is not None}))
    total = sum(s.rows for s in summaries)
    if total == 0:
        raise ValueError("`data` has no rows")
    dropped = sum(s.nan_rows for s in summaries)
    complete = sum(s.complete for s in summaries)
    stacklevel = v.outside_stacklevel()
    check_dropped_rows(dropped, dropped + complete, stacklevel)
    live = [s for s in summaries if s.complete]
    _check_kinds(live, plan.model_columns)
    kinds = {}
    for s in live:
        for name, kind in s.kinds.items():
            kinds.setdefault(name, kind)
    response = parsed.response.strip()
    if not parsed.cbind and response in meta.columns:
        first = live[0].first_row[response]
        if not (pd.api.types.is_numeric_dtype(first.dtype) or pd.api.types.is_bool_dtype(first.dtype)):
            raise TypeError(f"`formula`: the response {response!r} must be numeric, got dtype {meta[response].dtype}")
    factor_names = sorted({name for s in live for name in s.levels})
    levels = {name: _agreed_levels(live, meta, name, kinds.get(name)) for name in factor_names}
    moments = {}
    for name in plan.moments:
        n, mean, m2 = _merge_moments(s.moments[name] for s in live if name in s.moments)
        if n:
            moments[name] = (n, mean, float(np.sqrt(m2 / n)))
    proto = _prototype(live, plan.needed, levels, kinds)

    check_factor_levels(parsed.fixed, proto, "the fixed effects")
    for name in sorted(set(identifiers(outside_identity_calls(parsed.fixed)))):
        if kinds.get(name) == "string" and len(levels.get(name, ())) == complete:
            warn_identifier_factors(pd.DataFrame({name: pd.Series(levels[name], dtype=proto[name].dtype)}), [name],
                                    stacklevel=stacklevel + 1)
    n_groups = sum(s.n_groups for s in live)
    sample = _ordered_union(s.group_sample for s in live)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # the prototype's constant numeric columns make scale() divide by 0 there: its values are never used
        warnings.simplefilter("ignore", RuntimeWarning)
        terms = []
        for spec in parsed.random:
            check_factor_levels(spec.expr, proto, f"the random term {spec}")
            _, columns, _, model, keep, _ = model_matrix(spec.expr, proto, f"the random term {spec}")
            if not columns:
                raise ValueError(f"`formula`: the random term {spec} has no columns")
            if len(sample) < 2:
                raise ValueError(f"`data`: grouping factor {spec.group!r} has a single level: its random effects "
                                 "cannot be estimated (lme4: grouping factors must have > 1 sampled level)")
            if len(columns) >= n_groups:
                raise ValueError(f"`formula`: the random term {spec} has {len(columns)} random effects per level but "
                                 f"only {n_groups} levels of {spec.group!r}: its covariance cannot be estimated")
            _set_transforms(model, moments)
            terms.append(TermSpec(spec, spec.group, list(columns), spec.correlated, model, list(keep)))
        _, names, _, fixed_model, fixed_keep, fixed_offset = model_matrix(parsed.fixed, proto, "the fixed effects")
        _set_transforms(fixed_model, moments)
    return PartitionSpec(formula, plan.group, list(names), tuple(terms), complete, n_groups, dropped,
                         {name: list(values) for name, values in levels.items()}, moments, weights, offset,
                         tuple(plan.used), tuple(plan.needed), fixed_model, list(fixed_keep), fixed_offset)


# ------------------------------------------------------------------------------------- one partition's design
def design_on_partition(spec, frame):
    """The :class:`~quadlib.glmm.Design` of one partition (runs on a worker), built as
    :func:`~quadlib.glmm.build_design` builds the whole frame's, with the agreed columns of `spec`.

    X and each term's Z have the columns, names and contrasts of the whole frame's design on every partition
    (center()/scale() with the agreed mean and standard deviation); the fixed-effect columns are all of them,
    aliased ones included (drop those with :func:`keep_columns`). Rows are sorted by the group within the
    partition; ``terms[k].levels`` are the partition's own levels (R's order among them) and ``rows`` the
    positions in `frame`. No warnings (the dropped rows were counted by :func:`summarize_partition`) and no
    checks that need other partitions (a partition may hold one group).

    Parameters
    ----------
    spec : PartitionSpec
        From :func:`merge_summaries`.
    frame : pandas.DataFrame
        One partition (with the columns and dtypes it was summarized with).

    Returns
    -------
    Design or None
        None when the partition has no complete rows.

    Raises
    ------
    ValueError
        As build_design: a non-finite value in the response, offset or a model-matrix column after the missing
        rows are dropped, a value beyond 1e150, an infinite or non-positive weight, an infinite offset; a level
        the agreement did not see (the frame is not the one summarized). The caller adds the partition number.
    TypeError
        `spec` or `frame` of the wrong type; a non-numeric response.

    Notes
    -----
    Memory: the arrays of the partition's design, O(rows x (p + q)).
    """
    import pandas as pd

    if not isinstance(spec, PartitionSpec):
        raise TypeError(f"`spec` must be a PartitionSpec (from merge_summaries), got {type(spec).__name__}")
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`frame` must be a pandas DataFrame (one partition), got {type(frame).__name__}")
    if len(frame) == 0:
        return None
    parsed = parse_formula(spec.formula)
    absent = [name for name in spec.columns if name not in frame.columns]
    if absent:
        raise TypeError(f"`frame` has no column {absent[0]!r}, which the model reads")
    weights, offset_arg = _weights_offset(frame, spec.weights, spec.offset)
    rows = np.flatnonzero(~missing_rows(frame, list(spec.used), (weights, offset_arg)))
    if rows.size == 0:
        return None
    frame_rows = frame.index[rows]
    # only the columns the model reads are copied (a partition may hold many others)
    frame = model_frame(frame[list(spec.columns)].iloc[rows].reset_index(drop=True), list(spec.used), {spec.group},
                        frame_rows)
    terms = []
    for t in spec.terms:
        levels, index = grouping_factor(frame, t.group)
        Z, _ = evaluate_new_data(t.model, t.keep, [], frame, f"the random term {t.spec}")
        if not np.all(np.isfinite(Z)):
            bad = int(np.sum(~np.all(np.isfinite(Z), axis=1)))
            raise ValueError(f"`data`: the columns of the random term {t.spec} are not finite in {bad} row(s) after "
                             "dropping missing values (e.g. inf in the data or log of zero)")
        terms.append(RandomTerm(t.group, list(t.columns), Z, index.astype(np.intp), [str(x) for x in levels],
                                t.correlated, t.model, list(t.keep)))
    order = np.argsort(terms[0].index, kind="stable")
    terms = [RandomTerm(t.group, t.columns, np.ascontiguousarray(t.Z[order]), t.index[order], t.levels, t.correlated,
                        t.model, t.keep) for t in terms]

    if parsed.cbind:
        if weights is not None:
            raise ValueError("`weights` cannot be combined with a cbind(successes, failures) response")
        successes = evaluate_expression(parsed.cbind[0], frame, "the successes")
        failures = evaluate_expression(parsed.cbind[1], frame, "the failures")
        response, trials = successes, successes + failures
    else:
        column = parsed.response.strip()
        if column in frame and not pd.api.types.is_numeric_dtype(frame[column]) \
                and not pd.api.types.is_bool_dtype(frame[column]):
            raise TypeError(f"`formula`: the response {column!r} must be numeric, got dtype {frame[column].dtype}")
        response, trials = evaluate_expression(parsed.response, frame, "the response"), None
    X, formula_offset = evaluate_new_data(spec.fixed_model, spec.fixed_keep, spec.fixed_offset, frame,
                                          "the fixed effects")
    total_offset = np.zeros(len(frame))
    if spec.fixed_offset:
        total_offset += formula_offset
    if offset_arg is not None:
        total_offset += offset_arg[rows]
    bad = ~np.isfinite(response) | (~np.isfinite(trials) if trials is not None else False)
    bad = bad | ~np.isfinite(total_offset) | ~np.all(np.isfinite(X), axis=1)
    if bad.any():
        raise ValueError(f"`data`: the response, offset or fixed-effect columns are not finite in {int(bad.sum())} "
                         "row(s) after dropping missing values (e.g. log of zero)")
    checked = [(response, "the response"), (total_offset, "the offset")]
    if weights is not None:
        checked.append((weights[rows], "`weights`"))
    for values, label in checked + \
            [(X[:, j], f"the fixed-effect column {name!r}") for j, name in enumerate(spec.fixed_names)] + \
            [(t.Z[:, j], f"the column {c!r} of the random term ({' + '.join(t.columns)} | {t.group})")
             for t in terms for j, c in enumerate(t.columns)]:
        check_magnitude(values, label)
    return Design(spec.formula, response[order], None if trials is None else trials[order],
                  None if weights is None else weights[rows][order], total_offset[order],
                  np.ascontiguousarray(X[order]), list(spec.fixed_names), terms, rows[order], [], spec.fixed_model,
                  list(spec.fixed_keep), spec.fixed_offset, spec.offset)


# ---------------------------------------------------------------------------------------------- aliasing
def alias_piece(design):
    """One partition's share of the aliasing test (runs on a worker): the p x p triangular factor R of its
    fixed-effects matrix (X = QR), zero rows added when it has fewer rows than columns.

    Each column is scaled to a largest entry of 1 for the factorization and R's columns scaled back, so
    entries near 1e150 do not overflow. Stacked over partitions and factored again, the pieces give the R of
    the whole X (:func:`aliased_over_partitions`). Work O(rows p^2), memory O(rows p).

    Examples
    --------
    >>> import numpy as np
    >>> from quadlib.glmm import datasets, build_design
    >>> d = build_design("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> R = alias_piece(d)
    >>> bool(np.allclose(R.T @ R, d.X.T @ d.X))
    True
    """
    if not isinstance(design, Design):
        raise TypeError(f"`design` must be a Design, got {type(design).__name__}")
    X = np.asarray(design.X, dtype=float)
    p = X.shape[1]
    size = np.max(np.abs(X), axis=0, initial=0.0)
    size = np.where(size > 0, size, 1.0)
    R = np.linalg.qr(X / size, mode="r") * size if X.shape[0] else np.zeros((0, p))
    return np.vstack([R, np.zeros((p - R.shape[0], p))]) if R.shape[0] < p else R


def aliased_over_partitions(pieces, names):
    """The aliased fixed-effect columns of the stacked partitions (runs on the driver): TSQR, then the rule of
    :func:`~quadlib.glmm._design.aliased_columns` on the combined R.

    Column j is dropped when its residual on the columns kept before it is at most 1e-7 of its norm. With
    X = QR, ``||X c|| = ||R c||`` for every c, so the residuals of the whole X are those of R: the test is the
    one build_design runs on the whole frame (up to rounding). Does not warn: the caller warns as
    build_design does ("fixed-effect model matrix is rank deficient so dropping ...").

    Parameters
    ----------
    pieces : sequence of ndarray
        Each partition's :func:`alias_piece`, p x p (None entries, partitions without rows, are skipped).
    names : list of str
        The p column names (:attr:`PartitionSpec.fixed_names`).

    Returns
    -------
    kept : list of int
        The positions of the columns kept.
    dropped : list of str
        The names of the columns dropped.

    Raises
    ------
    ValueError
        No pieces, or a piece that is not p x p with finite entries.

    Notes
    -----
    Work O(k p^3) for k pieces; memory O(k p^2).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([np.ones(6), np.arange(6.0), 2 * np.arange(6.0) + 1])
    >>> pieces = [np.linalg.qr(X[:3], mode="r"), np.linalg.qr(X[3:], mode="r")]
    >>> aliased_over_partitions(pieces, ["a", "b", "c"])
    ([0, 1], ['c'])
    """
    names = [str(name) for name in names]
    p = len(names)
    stack = []
    for k, piece in enumerate(pieces):
        if piece is None:
            continue
        piece = np.asarray(piece, dtype=float)
        if piece.shape != (p, p) or not np.all(np.isfinite(piece)):
            raise ValueError(f"`pieces`: piece {k} must be a finite {p} x {p} array (alias_piece), got shape "
                             f"{piece.shape}")
        stack.append(piece)
    if not stack:
        raise ValueError("`pieces` holds no partition's R factor")
    if p == 0:
        return [], []
    stacked = np.vstack(stack)
    size = np.max(np.abs(stacked), axis=0, initial=0.0)
    size = np.where(size > 0, size, 1.0)
    # the combined R column-scaled: the rule is scale-free, and the scaling keeps squares from overflowing
    return aliased_columns(np.linalg.qr(stacked / size, mode="r"), names)


def keep_columns(design, kept):
    """`design` with only the fixed-effect columns at positions `kept` (X, names and the formulae columns used
    to evaluate new data); ``dropped_columns`` names the others.

    Examples
    --------
    >>> from quadlib.glmm import datasets, build_design
    >>> d = build_design("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> keep_columns(d, [0]).fixed_names, keep_columns(d, [0]).dropped_columns
    (['(Intercept)'], ['Days'])
    """
    if not isinstance(design, Design):
        raise TypeError(f"`design` must be a Design, got {type(design).__name__}")
    p = len(design.fixed_names)
    try:
        kept = [int(j) for j in kept]
    except (TypeError, ValueError):
        raise TypeError("`kept` must be a sequence of column positions") from None
    if any(not 0 <= j < p for j in kept) or any(a >= b for a, b in zip(kept, kept[1:])):
        raise ValueError(f"`kept` must be increasing positions in [0, {p}), got {kept}")
    chosen = set(kept)
    dropped = [name for j, name in enumerate(design.fixed_names) if j not in chosen]
    fixed_keep = None if design.fixed_keep is None else [design.fixed_keep[j] for j in kept]
    return replace(design, X=np.ascontiguousarray(design.X[:, kept]), fixed_names=[design.fixed_names[j] for j in kept],
                   fixed_keep=fixed_keep, dropped_columns=list(design.dropped_columns) + dropped)
