"""quadlib.glmm._partition: the design of one partition, agreed with the others (issue 18).

The reference is build_design on the whole frame: frames are split BY GROUP into 3-4 slices, each slice is
summarized, the summaries merged, each slice's design built, and the rows put back together must equal the
whole frame's design (0 ulp where the values are computed the same way; center()/scale() use a merged mean
and standard deviation, so to rounding), and the partitions' log-likelihoods and gradients must add up to
the whole frame's. The expected values come from build_design/make_objective on the whole frame (the
one-machine path, tested against lme4 elsewhere), never from the module under test."""
import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import quadlib
from quadlib.glmm import build_design, datasets, make_objective
from quadlib.glmm._design import aliased_columns
from quadlib.glmm._partition import (MAX_LEVELS, PartitionSpec, PartitionSummary, alias_piece, aliased_over_partitions,
                                     cluster_group, design_on_partition, keep_columns, merge_summaries,
                                     summarize_partition)

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
SIM = "y ~ s + b + c + center(x) + scale(x2) + offset(log(t)) + (1 + x | g)"


def by_group(frame, group, k):
    """`frame` cut into `k` slices, each holding whole groups (group i in slice i mod k, in R's level order)."""
    levels = sorted(frame[group].unique(), key=lambda x: (len(str(x)), str(x)))
    return [frame[frame[group].isin(levels[i::k])] for i in range(k)]


def partition_designs(formula, slices, meta, **kw):
    summaries = [summarize_partition(s, formula, **kw) for s in slices]
    spec = merge_summaries(summaries, formula, meta, **kw)
    spec = pickle.loads(pickle.dumps(spec))  # what a worker receives
    return spec, [design_on_partition(spec, s) for s in slices]


def simulated(seed=0, groups=12, size=8):
    """Poisson counts with a string factor (level 'z' in one group only), a bool, a Categorical with a custom
    order and an unused category (level 'mid' in one group only), numeric x, x2, t > 0, weights and an offset
    column, and a few missing values."""
    rng = np.random.default_rng(seed)
    n = groups * size
    g = np.repeat([f"g{i:02d}" for i in range(groups)], size)
    s = rng.choice(["a", "b", "c"], n).astype(object)
    s[g == "g03"] = "z"
    c = rng.choice(["lo", "hi"], n).astype(object)
    c[(g == "g05") & (np.arange(n) % 2 == 0)] = "mid"
    x = rng.normal(1.0, 2.0, n)
    frame = pd.DataFrame({
        "y": rng.poisson(np.exp(0.5 + 0.3 * x)).astype(float), "s": s, "b": rng.random(n) < 0.4,
        "c": pd.Categorical(c, categories=["hi", "lo", "mid", "unused"]), "x": x, "x2": rng.uniform(10, 20, n),
        "t": rng.uniform(1, 3, n), "w": rng.uniform(0.5, 2.0, n), "o": rng.normal(0, 0.1, n), "g": g,
        "k": rng.integers(0, 30, n), "m": 30})
    frame.loc[5, "x2"] = np.nan
    frame.loc[17, "w"] = np.nan
    frame.loc[40, "s"] = None
    return frame


_TRANSFORMED = re.compile(r"(center|scale|standardize)\(`?([\w ]+)`?\)")


def tolerance(name, values, spec):
    """0 for a column computed from the same values; for one under center()/scale()/standardize(), whose mean
    and standard deviation are merged over partitions: 1e-15 of the magnitude of the values before centering
    (the mean is exact to a few ulps of itself)."""
    match = _TRANSFORMED.search(name)
    if spec is None or match is None:
        return 0.0
    _, mean, std = spec.moments[match.group(2)]
    shift = abs(mean) / (std if match.group(1) != "center" else 1.0)
    return 1e-15 * (np.max(np.abs(values)) + shift)


def assert_same(full, designs, slices, spec=None):
    """The partitions' designs, their rows mapped back to the whole frame, equal the whole frame's design:
    0 ulp, except the columns under center()/scale()/standardize() (:func:`tolerance`)."""
    parts = [d for d in designs if d is not None]
    names = full.fixed_names
    for d in parts:
        assert d.fixed_names == names
        assert [t.columns for t in d.terms] == [t.columns for t in full.terms]
        assert [(t.group, t.correlated) for t in d.terms] == [(t.group, t.correlated) for t in full.terms]
        for t in d.terms:   # rows sorted by group within the partition
            assert np.all(np.diff(t.index) >= 0) or t is not d.terms[0]
    position = np.concatenate([np.asarray(s.index)[d.rows] for s, d in zip(slices, designs) if d is not None])
    order = np.argsort(position)
    whole = np.argsort(full.rows)
    np.testing.assert_array_equal(position[order], full.rows[whole])

    def stacked(get):
        return np.concatenate([get(d) for d in parts])[order]

    np.testing.assert_array_equal(stacked(lambda d: d.response), full.response[whole])
    for field in ("trials", "weights"):
        if getattr(full, field) is None:
            assert all(getattr(d, field) is None for d in parts)
        else:
            np.testing.assert_array_equal(stacked(lambda d: getattr(d, field)), getattr(full, field)[whole])
    np.testing.assert_array_equal(stacked(lambda d: d.offset), full.offset[whole])
    X, expected = stacked(lambda d: d.X), full.X[whole]
    for j, name in enumerate(names):
        np.testing.assert_allclose(X[:, j], expected[:, j], rtol=0, atol=tolerance(name, expected[:, j], spec),
                                   err_msg=name)
    for k, term in enumerate(full.terms):
        Z, expected = stacked(lambda d: d.terms[k].Z), term.Z[whole]
        for j, name in enumerate(term.columns):
            np.testing.assert_allclose(Z[:, j], expected[:, j], rtol=0, atol=tolerance(name, expected[:, j], spec),
                                       err_msg=name)
        labels = stacked(lambda d: np.asarray(d.terms[k].levels, dtype=object)[d.terms[k].index])
        np.testing.assert_array_equal(labels, np.asarray(term.levels, dtype=object)[term.index][whole])


def assert_objectives_add_up(full, designs, family, integrator=None, shift=0.1):
    whole = make_objective(full, family, integrator)
    parts = [make_objective(d, family, integrator) for d in designs if d is not None]
    x = whole.start() + shift * np.cos(np.arange(whole.n_params))
    assert [p.names for p in parts] == [whole.names] * len(parts)
    value, grad = whole.value_and_gradient(x)
    pieces = [p.value_and_gradient(x) for p in parts]
    assert np.isfinite(value)
    np.testing.assert_allclose(sum(v for v, _ in pieces), value, rtol=1e-12)
    np.testing.assert_allclose(sum(g for _, g in pieces), grad, rtol=1e-12, atol=1e-12 * np.max(np.abs(grad)))
    np.testing.assert_allclose(sum(p.log_likelihood(x) for p in parts), whole.log_likelihood(x), rtol=1e-12)


# ------------------------------------------------------------------------------------ equal to build_design
def test_cbpp_slices_by_herd_equal_the_whole_design_and_likelihood():
    cbpp = datasets.load("cbpp")
    slices = by_group(cbpp, "herd", 3)
    spec, designs = partition_designs(CBPP, slices, cbpp.iloc[:0])
    full = build_design(CBPP, cbpp)
    assert spec.group == "herd" and spec.n_rows == 56 and spec.n_groups == 15 and spec.n_dropped == 0
    assert spec.fixed_names == ["(Intercept)", "period2", "period3", "period4"]
    assert spec.levels["period"] == ["1", "2", "3", "4"]
    assert_same(full, designs, slices)
    assert_objectives_add_up(full, designs, "binomial")
    assert_objectives_add_up(full, designs, "binomial", quadlib.AdaptiveGaussHermite(7))


def test_sleepstudy_like_random_slopes_equal_the_whole_design_and_likelihood():
    sleep = datasets.load("sleepstudy")
    formula = "Reaction ~ Days + (Days | Subject)"
    slices = by_group(sleep, "Subject", 4)
    spec, designs = partition_designs(formula, slices, sleep.iloc[:0])
    full = build_design(formula, sleep)
    assert [t.columns for t in spec.terms] == [["(Intercept)", "Days"]] and spec.n_groups == 18
    assert_same(full, designs, slices)
    assert_objectives_add_up(full, designs, "gaussian", shift=0.01)


def test_factors_transforms_offsets_and_weights_equal_the_whole_design():
    frame = simulated()
    slices = by_group(frame, "g", 4)
    # 'z' (s) and 'mid' (c) each lie in one slice only
    assert sum("z" in set(sl.s) for sl in slices) == 1 and sum("mid" in set(sl.c) for sl in slices) == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec, designs = partition_designs(SIM, slices, frame.iloc[:0], weights="w", offset="o")
    dropped = [str(w.message) for w in caught if "missing values" in str(w.message)]
    assert dropped == ["dropped 3 row(s) with missing values in the columns used"]   # once, the total
    with pytest.warns(UserWarning, match="dropped 3 row"):
        full = build_design(SIM, frame, weights="w", offset="o")
    # c: 'hi' is the reference level (the categories' order, as in R), 'unused' is gone
    assert spec.fixed_names == full.fixed_names == ["(Intercept)", "sb", "sc", "sz", "b", "clo", "cmid", "center(x)",
                                                    "scale(x2)"]
    assert spec.levels["c"] == ["hi", "lo", "mid"] and sorted(spec.levels["s"]) == ["a", "b", "c", "z"]
    # the agreed mean and standard deviation are those of the whole frame's complete rows (ddof=0)
    kept = frame.dropna(subset=["x2", "w", "s"])
    n, mean, std = spec.moments["x2"]
    assert n == len(kept) == 93
    np.testing.assert_allclose([mean, std], [kept.x2.mean(), kept.x2.std(ddof=0)], rtol=1e-14)
    assert_same(full, designs, slices, spec)
    assert_objectives_add_up(full, designs, "poisson")


@pytest.mark.parametrize("formula", [
    "y ~ s * b + c:x + (1 | g)",                            # interactions of factors, and with a number
    "y ~ 0 + s + I(x**2) + np.log(t) + (x || g)",           # no intercept: every level of s; calls; ||
    "y ~ C(s) + c + (0 + c | g)",                           # C(); a Categorical in a random term
    "y ~ s + center(x) * c + (1 + center(x) | g)",          # a transform in an interaction and in Z
    "y ~ scale(`x 2`) + (1 | g)",                           # a back-quoted name
    "y ~ standardize(x):s + offset(t) + (1 | g)",
    "log(y + 1) ~ x + (1 | g) + (0 + x | g)",               # a response expression; two terms of one factor
])
def test_formulas_equal_the_whole_design(formula):
    frame = simulated(seed=7).rename(columns={"x2": "x 2"})
    frame["x 2"] = frame["x 2"].fillna(15.0)   # build_design drops the NaN rows of named columns only
    slices = by_group(frame, "g", 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        spec, designs = partition_designs(formula, slices, frame.iloc[:0], weights="w")
        full = build_design(formula, frame, weights="w")
    assert spec.fixed_names == full.fixed_names
    assert_same(full, designs, slices, spec)


def test_a_categorical_grouping_column_also_in_the_fixed_part():
    # model_frame leaves the grouping column as it is (unordered), the other Categoricals ordered
    frame = simulated().dropna().reset_index(drop=True)
    frame["g"] = pd.Categorical(frame.g, categories=sorted(frame.g.unique())[::-1])
    slices = by_group(frame, "g", 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        spec, designs = partition_designs("y ~ g + c + (0 + x | g)", slices, frame.iloc[:0])
        full = build_design("y ~ g + c + (0 + x | g)", frame)
    assert spec.fixed_names == full.fixed_names
    assert_same(full, designs, slices, spec)


def test_cbind_and_a_numeric_factor_with_a_level_in_one_slice():
    frame = simulated(seed=3)
    frame["k3"] = np.where(frame.g == "g07", 3, frame.k % 3)       # level 3 in one group only
    formula = "cbind(k, m - k) ~ s + c + factor(k3) + (1 | g)"
    slices = by_group(frame, "g", 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        spec, designs = partition_designs(formula, slices, frame.iloc[:0])
        full = build_design(formula, frame)
    assert sorted(spec.levels["k3"]) == [0, 1, 2, 3]
    assert spec.fixed_names[-3:] == ["factor(k3)1", "factor(k3)2", "factor(k3)3"]
    assert_same(full, designs, slices)
    assert_objectives_add_up(full, designs, "binomial")


def test_a_partition_without_complete_rows_gives_none_and_counts():
    frame = simulated()
    slices = by_group(frame, "g", 3)
    empty = slices[0].iloc[:0]
    nan = slices[1].assign(x=np.nan)
    summaries = [summarize_partition(p, SIM) for p in (empty, nan, slices[2])]
    assert (summaries[0].rows, summaries[0].complete) == (0, 0)
    assert (summaries[1].complete, summaries[1].nan_rows) == (0, len(slices[1]))
    with pytest.warns(UserWarning, match=f"dropped {len(slices[1]) + 1} row"):   # + one missing s in slice 2
        spec = merge_summaries(summaries, SIM, frame.iloc[:0])
    assert design_on_partition(spec, empty) is None and design_on_partition(spec, nan) is None
    assert design_on_partition(spec, slices[2]).nobs == spec.n_rows


def test_categorical_with_unknown_meta_categories_follows_the_partitions_order():
    # Dask's meta of a Categorical whose categories are not known; the partitions disagree on the categories:
    # their union in order of appearance (as Dask concatenates them)
    frame = simulated()
    slices = by_group(frame, "g", 2)
    slices = [slices[0].assign(c=slices[0].c.cat.set_categories(["lo", "hi", "mid"])),
              slices[1].assign(c=slices[1].c.cat.set_categories(["mid", "hi", "lo"]))]
    meta = frame.iloc[:0].assign(c=pd.Categorical([], categories=["__UNKNOWN_CATEGORIES__"]))
    formula = "y ~ c + (1 | g)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        spec, designs = partition_designs(formula, slices, meta)
    assert spec.levels["c"] == ["lo", "hi", "mid"] and spec.fixed_names == ["(Intercept)", "chi", "cmid"]
    known = frame.iloc[:0]   # a known meta order wins
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert merge_summaries([summarize_partition(s, formula) for s in slices], formula,
                               known).levels["c"] == ["hi", "lo", "mid"]


# ---------------------------------------------------------------------------------------------- aliasing
def test_aliasing_over_partitions_is_aliased_columns_on_the_whole_frame():
    frame = simulated().dropna().reset_index(drop=True)
    frame["x3"] = frame.x - 2 * frame.x2 + 1.0       # in the span of the intercept, x and x2
    frame["x4"] = frame.x * frame.t                 # not
    formula = "y ~ x + x2 + x3 + x4 + (1 | g)"
    slices = by_group(frame, "g", 4)
    spec, designs = partition_designs(formula, slices, frame.iloc[:0])
    stacked = np.vstack([d.X for d in designs])
    expected = aliased_columns(stacked, spec.fixed_names)
    assert expected == ([0, 1, 2, 4], ["x3"])
    kept, dropped = aliased_over_partitions([alias_piece(d) for d in designs], spec.fixed_names)
    assert (kept, dropped) == expected
    with pytest.warns(UserWarning, match="dropping 1 column"):
        full = build_design(formula, frame)
    assert full.dropped_columns == dropped
    reduced = [keep_columns(d, kept) for d in designs]
    assert all(d.fixed_names == full.fixed_names and d.dropped_columns == ["x3"] for d in reduced)
    assert_same(full, reduced, slices)
    # a partition with fewer rows than columns, and one without rows, still take part
    tiny = design_on_partition(spec, slices[0].iloc[:2])
    assert alias_piece(tiny).shape == (5, 5)
    assert aliased_over_partitions([alias_piece(tiny), None] + [alias_piece(d) for d in designs[1:]],
                                   spec.fixed_names)[1] == ["x3"]


def test_alias_piece_is_the_r_factor_and_survives_large_entries():
    frame = simulated().dropna().reset_index(drop=True)
    frame["big"] = frame.x2 * 5e147
    d = build_design("y ~ x + big + (1 | g)", frame)
    R = alias_piece(d)
    assert np.all(np.isfinite(R)) and np.allclose(np.abs(np.diag(R)), np.abs(np.diag(np.linalg.qr(d.X, mode="r"))))
    assert aliased_over_partitions([R], d.fixed_names) == ([0, 1, 2], [])


# ------------------------------------------------------------------------------------------------- bad input
def test_cluster_group_refuses_what_does_not_decompose():
    assert cluster_group(CBPP) == "herd"
    assert cluster_group("y ~ x + (x || g)") == "g"
    assert cluster_group("y ~ x + (1 | g) + (0 + x | g)") == "g"
    with pytest.raises(NotImplementedError, match="do not decompose into independent clusters.*ddf.compute"):
        cluster_group("y ~ x + (1 | a) + (1 | b)")
    with pytest.raises(NotImplementedError, match="nested.*ddf.compute"):
        cluster_group("y ~ x + (1 | a/b)")
    with pytest.raises(NotImplementedError, match="interaction.*ddf.assign"):
        cluster_group("y ~ x + (1 | a:b)")
    with pytest.raises(ValueError, match="no random term"):
        cluster_group("y ~ x")


@pytest.mark.parametrize("formula, column", [("y ~ poly(x, 2) + (1 | g)", "poly(x)"),
                                             ("y ~ bs(x, df=4) + (1 | g)", "bs(x)"),
                                             ("y ~ scale(log(t)) + (1 | g)", "scale(t)"),
                                             ("y ~ 1 + (center(x2, 3) | g)", "center(x2)"),
                                             ("center(y) ~ x + (1 | g)", "center(y)")])
def test_unsupported_stateful_transforms(formula, column):
    frame = simulated()
    for call in (lambda: cluster_group(formula), lambda: summarize_partition(frame, formula)):
        with pytest.raises(NotImplementedError, match=rf"{column.replace('(', '.').replace(')', '.')}.*ddf.assign"):
            call()


def test_input_validation():
    frame = simulated()
    meta = frame.iloc[:0]
    slices = by_group(frame, "g", 3)
    formula = "y ~ s + x + (1 | g)"

    def merge(parts, f=formula, m=meta, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return merge_summaries([summarize_partition(p, f, **kw) for p in parts], f, m, **kw)

    # dtype mismatch against the meta, naming the partition and the column
    bad = [slices[0], slices[1].assign(x=slices[1].x.astype(object)), slices[2]]
    with pytest.raises(TypeError, match=r"`data`: partition 1 has column 'x' of dtype object, the frame's meta says "
                                        r"float64"):
        merge(bad)
    with pytest.raises(TypeError, match="partition 2 has no column 'g'"):
        merge([slices[0], slices[1], slices[2].drop(columns="g")])
    # a column that is strings in one partition and numbers in another (same object dtype)
    mixed = frame.assign(u=frame.x.astype(object))
    parts = by_group(mixed, "g", 3)
    parts[0] = parts[0].assign(u=parts[0].s.astype(object))
    with pytest.raises(TypeError, match="column 'u' holds"):
        merge(parts, "y ~ u + (1 | g)", mixed.iloc[:0])
    # no rows; no complete rows
    with pytest.raises(ValueError, match="`data` has no rows"):
        merge([s.iloc[:0] for s in slices])
    with pytest.raises(ValueError, match="every row of `data` has a missing value"):
        merge([s.assign(x=np.nan) for s in slices])
    # a factor with one level overall (several in no partition either); a grouping factor with one level
    one = frame.assign(s="a")
    with pytest.raises(ValueError, match="factor 's' in the fixed effects has the single level 'a'"):
        merge(by_group(one, "g", 3), m=one.iloc[:0])
    lonely = frame.assign(g="g00")
    with pytest.raises(ValueError, match="grouping factor 'g' has a single level"):
        merge([lonely.iloc[:30], lonely.iloc[30:]], m=lonely.iloc[:0])
    few = frame[frame.g.isin(["g00", "g01"])]
    with pytest.raises(ValueError, match="has 2 random effects per level but only 2 levels"):
        merge(by_group(few, "g", 2), "y ~ x + (1 + x | g)", few.iloc[:0])
    # too many levels: in one partition, and over all partitions
    many = pd.DataFrame({"y": np.arange(MAX_LEVELS + 2.0), "id": [f"r{i}" for i in range(MAX_LEVELS + 2)],
                         "g": np.arange(MAX_LEVELS + 2) % 7})
    with pytest.raises(ValueError, match=f"factor column 'id' has {MAX_LEVELS + 2} distinct values in one partition"):
        summarize_partition(many, "y ~ id + (1 | g)")
    with pytest.raises(ValueError, match=f"factor column 'id' has {MAX_LEVELS + 2} distinct values over all"):
        merge_summaries([summarize_partition(p, "y ~ id + (1 | g)") for p in (many.iloc[:6000], many.iloc[6000:])],
                        "y ~ id + (1 | g)", many.iloc[:0])
    # weights and offset are column names; with cbind no weights; a non-numeric response
    with pytest.raises(TypeError, match="`weights` must be a column name"):
        summarize_partition(frame, formula, weights=np.ones(len(frame)))
    with pytest.raises(ValueError, match="`offset` names column 'nope'"):
        merge_summaries([], formula, meta, offset="nope")
    with pytest.raises(ValueError, match="`weights` cannot be combined with a cbind"):
        merge(slices, "cbind(k, m - k) ~ x + (1 | g)", weights="w")
    with pytest.raises(TypeError, match="the response 's' must be numeric"):
        merge(slices, "s ~ x + (1 | g)")
    with pytest.raises(ValueError, match="`weights` must be positive"):
        summarize_partition(frame.assign(w=-1.0), formula, weights="w")
    with pytest.raises(TypeError, match="`frame` must be a pandas DataFrame"):
        summarize_partition(frame.to_dict(), formula)
    with pytest.raises(TypeError, match="`meta` must be a pandas DataFrame"):
        merge_summaries([], formula, None)
    with pytest.raises(TypeError, match="`summaries` must hold PartitionSummary"):
        merge_summaries([{}], formula, meta)
    # per partition: a non-finite value after the agreement (the caller adds the partition number)
    spec = merge(slices)
    with pytest.raises(ValueError, match="not finite in 1 row"):
        design_on_partition(spec, slices[0].assign(x=np.where(np.arange(len(slices[0])) == 2, np.inf,
                                                              slices[0].x)))
    with pytest.raises(ValueError, match="beyond 1e"):
        design_on_partition(spec, slices[0].assign(x=1e200))
    with pytest.raises(TypeError, match="`spec` must be a PartitionSpec"):
        design_on_partition({}, slices[0])
    d = design_on_partition(spec, slices[0])
    with pytest.raises(ValueError, match="`kept` must be increasing positions"):
        keep_columns(d, [1, 0])
    with pytest.raises(ValueError, match="piece 0 must be a finite 5 x 5"):
        aliased_over_partitions([np.eye(4)], spec.fixed_names)
    with pytest.raises(ValueError, match="no partition's R factor"):
        aliased_over_partitions([None], spec.fixed_names)


def test_identifier_like_string_factors_warn_once_over_all_partitions():
    frame = simulated().dropna().reset_index(drop=True)
    frame["code"] = [f"id{i}" for i in range(len(frame))]          # one level per row, over the partitions
    slices = by_group(frame, "g", 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        merge_summaries([summarize_partition(p, "y ~ code + (1 | g)") for p in slices], "y ~ code + (1 | g)",
                        frame.iloc[:0])
    flagged = [str(w.message) for w in caught if "identifier" in str(w.message)]
    assert len(flagged) == 1 and "'code'" in flagged[0] and f"({len(frame)};" in flagged[0]
    frame["code"] = [f"id{i % 50}" for i in range(len(frame))]    # levels shared by rows: no warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        merge_summaries([summarize_partition(p, "y ~ code + (1 | g)") for p in by_group(frame, "g", 3)],
                        "y ~ code + (1 | g)", frame.iloc[:0])
    assert not [w for w in caught if "identifier" in str(w.message)]


def test_summaries_and_specs_are_small_and_pickle():
    frame = simulated()
    summary = summarize_partition(frame, SIM, weights="w", offset="o")
    assert isinstance(pickle.loads(pickle.dumps(summary)), PartitionSummary)
    assert len(pickle.dumps(summary)) < 20_000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        spec = merge_summaries([summary], SIM, frame.iloc[:0], weights="w", offset="o")
    assert isinstance(spec, PartitionSpec) and len(pickle.dumps(spec)) < 200_000
    assert "PartitionSpec" in repr(spec) and "PartitionSummary" in repr(summary)
