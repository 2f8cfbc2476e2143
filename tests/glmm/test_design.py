"""quadlib.glmm._design, stage 1: build_design, normalize_response, random_matrix and the public helpers
(identifiers, evaluate_expression, model_matrix, aliased_columns). Expected values are written out by hand
from the data (closed forms), never taken from the code under test."""
import numpy as np
import pandas as pd
import pytest

from quadlib.glmm import build_design, datasets, make_family
from quadlib.glmm._covariance import ThetaLayout
from quadlib.glmm._design import (aliased_columns, evaluate_expression, identifiers, model_matrix, normalize_response,
                                  random_matrix)

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def small():
    return pd.DataFrame({"y": [1.0, 0.0, 2.0, 3.0, 1.0, 4.0, 2.0, 5.0], "x": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0],
                         "g": ["b", "a", "b", "a", "c", "c", "a", "b"], "h": ["p", "q", "p", "q", "q", "p", "p", "q"],
                         "w": [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0]})


def test_rows_are_sorted_by_the_first_grouping_factor():
    d = build_design("y ~ x + (1 | g)", small())
    # levels a, b, c; rows of a (positions 1, 3, 6), then b (0, 2, 7), then c (4, 5), each in data order
    np.testing.assert_array_equal(d.rows, [1, 3, 6, 0, 2, 7, 4, 5])
    np.testing.assert_array_equal(d.response, [0.0, 3.0, 2.0, 1.0, 2.0, 5.0, 1.0, 4.0])
    assert d.terms[0].levels == ["a", "b", "c"]
    np.testing.assert_array_equal(d.terms[0].index, [0, 0, 0, 1, 1, 1, 2, 2])
    assert d.fixed_names == ["(Intercept)", "x"]
    np.testing.assert_array_equal(d.X[:, 1], small().x.to_numpy()[d.rows])


def test_missing_rows_and_aliased_columns_are_dropped_with_warnings():
    data = small().assign(x2=lambda f: 2 * f.x)
    data.loc[2, "y"] = np.nan
    with pytest.warns(UserWarning) as caught:
        d = build_design("y ~ x + x2 + (1 | g)", data)
    messages = " ".join(str(w.message) for w in caught)
    assert "dropped 1 row(s) with missing values" in messages and "dropping 1 column(s): x2" in messages
    assert d.nobs == 7 and d.fixed_names == ["(Intercept)", "x"] and d.dropped_columns == ["x2"]


def test_normalize_response_cbind_proportion_and_counts():
    cbpp = datasets.load("cbpp")
    binomial = make_family("binomial")
    d = build_design(CBPP, cbpp)
    y, n = normalize_response(d, binomial)
    order = d.rows
    np.testing.assert_array_equal(y, cbpp.incidence.to_numpy()[order])
    np.testing.assert_array_equal(n, cbpp["size"].to_numpy()[order])
    # the same data as a proportion with the trials as weights
    proportion = cbpp.assign(p=cbpp.incidence / cbpp["size"])
    d2 = build_design("p ~ period + (1 | herd)", proportion, weights="size")
    y2, n2 = normalize_response(d2, binomial)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(n2, n)
    # a count response: n is the prior weight (1 without weights)
    d3 = build_design("y ~ x + (1 | g)", small())
    y3, n3 = normalize_response(d3, make_family("poisson"))
    np.testing.assert_array_equal(y3, d3.response)
    np.testing.assert_array_equal(n3, np.ones(8))
    assert y3.flags.c_contiguous and y3.dtype == float


def test_normalize_response_refuses():
    cbpp = datasets.load("cbpp")
    with pytest.raises(ValueError, match="cbind.*needs family='binomial', not 'poisson'"):
        normalize_response(build_design(CBPP, cbpp), make_family("poisson"))
    bad = cbpp.assign(p=(cbpp.incidence + 0.5) / cbpp["size"])
    with pytest.raises(ValueError, match="proportion x `weights` must be whole numbers"):
        normalize_response(build_design("p ~ period + (1 | herd)", bad, weights="size"), make_family("binomial"))
    negative = small().assign(y=lambda f: f.y - 3)
    with pytest.raises(ValueError):
        normalize_response(build_design("y ~ x + (1 | g)", negative), make_family("poisson"))


def test_random_matrix_is_z_times_u():
    """Z u against a direct sum: row i gets sum over terms of Z_t[i] . u[term's block at i's level]."""
    d = build_design("y ~ x + (x | g) + (1 | h)", small())
    layout = ThetaLayout.from_terms(d.terms, by="term")
    Z = random_matrix(layout.blocks, d.nobs)
    assert Z.shape == (8, 3 * 2 + 2 * 1)
    u = np.arange(1.0, 9.0)
    expected = np.zeros(d.nobs)
    for term, block in zip(d.terms, layout.blocks):
        for i in range(d.nobs):
            level = term.index[i]
            expected[i] += term.Z[i] @ u[block.start + level * term.q:block.start + (level + 1) * term.q]
    np.testing.assert_allclose(Z @ u, expected, rtol=1e-15)
    # by grouping factor: a factor's terms side by side in one block
    stacked = build_design("y ~ x + (1 | g) + (0 + x | g)", small())
    grouped = ThetaLayout.from_terms(stacked.terms, by="group")
    Zg = random_matrix(grouped.blocks, stacked.nobs).toarray()
    x = stacked.X[:, 1]
    for i, level in enumerate(stacked.terms[0].index):
        row = np.zeros(6)
        row[2 * level:2 * level + 2] = [1.0, x[i]]
        np.testing.assert_array_equal(Zg[i], row)


def test_public_formula_helpers():
    assert identifiers("log(y.1) ~ x_2 + (1 | g)") == ["log", "y.1", "x_2", "g"]
    frame = pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": [3.0, 0.5, 1.0]})
    np.testing.assert_allclose(evaluate_expression("a / b + 1", frame, "the response"), [4 / 3, 5.0, 5.0])
    with pytest.raises(ValueError, match="`formula`: 'nope' is not a column of `data`"):
        evaluate_expression("a + nope", frame, "the response")
    X, names, offset, *_ = model_matrix("a + offset(b)", frame, "the fixed effects")
    assert names == ["(Intercept)", "a"]
    np.testing.assert_array_equal(X, [[1.0, 1.0], [1.0, 2.0], [1.0, 4.0]])
    np.testing.assert_array_equal(offset, [3.0, 0.5, 1.0])
    kept, dropped = aliased_columns(np.column_stack([np.ones(3), [1.0, 2.0, 4.0], [2.0, 4.0, 8.0]]), ["1", "a", "2a"])
    assert kept == [0, 1] and dropped == ["2a"]


def test_input_validation():
    data = small()
    with pytest.raises(TypeError, match="`data` must be a pandas DataFrame"):
        build_design("y ~ x + (1 | g)", data.to_dict())
    with pytest.raises(ValueError, match="`formula` has no random term"):
        build_design("y ~ x", data)
    with pytest.raises(ValueError, match="grouping factor 'nope'"):
        build_design("y ~ x + (1 | nope)", data)
    with pytest.raises(ValueError, match="`weights` must be positive"):
        build_design("y ~ x + (1 | g)", data, weights=np.r_[0.0, np.ones(7)])
    with pytest.raises(ValueError, match="`offset` must have one value per row"):
        build_design("y ~ x + (1 | g)", data, offset=np.ones(3))
