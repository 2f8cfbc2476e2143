"""quadlib.glmm._covariance: ThetaLayout, the one map theta <-> Lambda (lme4's order within a term)."""
import numpy as np
import pandas as pd
import pytest

from quadlib.glmm import build_design, datasets
from quadlib.glmm._covariance import CovarianceBlock, ThetaLayout


def design(formula):
    rng = np.random.default_rng(0)
    n = 60
    data = pd.DataFrame({"y": rng.normal(size=n), "x": rng.normal(size=n), "z": rng.normal(size=n),
                         "a": np.repeat(list("abcdef"), 10), "b": np.tile(list("pqrstuvwxy"), 6)})
    return build_design(formula, data)


def test_lme4_order_within_a_term():
    """lme4: theta of (x + z | g) is the lower triangle of the 3 x 3 factor column by column:
    (1,1), (2,1), (3,1), (2,2), (3,2), (3,3)."""
    layout = ThetaLayout.from_terms(design("y ~ x + (x + z | a)").terms)
    block, = layout.blocks
    assert block.entries == [(0, 0), (1, 0), (2, 0), (1, 1), (2, 1), (2, 2)]
    np.testing.assert_array_equal(block.diagonal, [True, False, False, True, False, True])
    L = block.factor(np.arange(1.0, 7.0))
    np.testing.assert_array_equal(L, [[1, 0, 0], [2, 4, 0], [3, 5, 6]])
    assert layout.n_theta == 6 and layout.n_random == 18


def test_uncorrelated_terms_have_only_the_diagonal():
    layout = ThetaLayout.from_terms(design("y ~ x + (x || a)").terms)
    assert layout.n_theta == 2
    assert layout.diagonal.all()
    np.testing.assert_array_equal(layout.factors([2.0, 3.0])[0], np.diag([2.0, 3.0]))


def test_by_group_stacks_the_terms_of_a_factor_and_by_term_keeps_the_formula_order():
    terms = design("y ~ x + (1 | a) + (1 | b) + (0 + x | a)").terms
    by_group = ThetaLayout.from_terms(terms, by="group", offset=2)
    assert [b.group for b in by_group.blocks] == ["a", "b"]
    assert by_group.blocks[0].q == 2 and by_group.blocks[0].columns == ["(Intercept)", "x"]
    # two uncorrelated terms of a stacked block-diagonally: two diagonal entries, no covariance
    assert by_group.blocks[0].entries == [(0, 0), (1, 1)]
    assert by_group.slices == [slice(2, 4), slice(4, 5)] and by_group.slice == slice(2, 5)
    assert by_group.names == ["theta[a: (Intercept), (Intercept)]", "theta[a: x, x]",
                              "theta[b: (Intercept), (Intercept)]"]
    np.testing.assert_array_equal(by_group.blocks[0].Z, np.column_stack([terms[0].Z, terms[2].Z]))
    by_term = ThetaLayout.from_terms(terms, by="term")
    assert [b.group for b in by_term.blocks] == ["a", "b", "a"]
    assert [(b.start, b.stop) for b in by_term.blocks] == [(0, 6), (6, 16), (16, 22)]
    with pytest.raises(ValueError, match="`by`"):
        ThetaLayout.from_terms(terms, by="level")


def test_bounds_start_and_names():
    layout = ThetaLayout.single("Tree", ["Asym", "xmid"], True, 5, offset=3)
    assert layout.names == ["theta[Tree: Asym, Asym]", "theta[Tree: xmid, Asym]", "theta[Tree: xmid, xmid]"]
    assert layout.bounds == [(0.0, None), (None, None), (0.0, None)]
    np.testing.assert_array_equal(layout.lower, [0.0, -np.inf, 0.0])
    np.testing.assert_array_equal(layout.start(7.5), [7.5, 0.0, 7.5])
    params = np.array([1.0, 2.0, 3.0, 0.5, -0.25, 0.75, 9.0])
    np.testing.assert_array_equal(layout.factors(params)[0], [[0.5, 0.0], [-0.25, 0.75]])
    diagonal = ThetaLayout.single("Tree", ["Asym", "xmid"], False, 5)
    assert diagonal.n_theta == 2 and diagonal.names[1] == "theta[Tree: xmid, xmid]"


def test_sparse_lambda_pattern_is_the_dense_factor():
    from scipy.linalg import block_diag

    layout = ThetaLayout.from_terms(design("y ~ x + (x | a) + (1 | b)").terms, by="term", offset=1)
    params = np.array([9.0, 1.5, -0.5, 0.8, 2.0])
    rows, cols, which = layout.lambda_indices()
    Lam = np.zeros((layout.n_random, layout.n_random))
    Lam[rows, cols] = params[which]
    expected = block_diag(*[np.kron(np.eye(block.n_levels), L)
                            for block, L in zip(layout.blocks, layout.factors(params))])
    np.testing.assert_array_equal(Lam, expected)


def test_blocks_must_follow_each_other():
    first = CovarianceBlock("g", ["a"], [1], [True], 3, 0, 0)
    gap = CovarianceBlock("h", ["b"], [1], [True], 3, 2, 3)
    with pytest.raises(ValueError, match="follow each other"):
        ThetaLayout([first, gap])
    with pytest.raises(ValueError, match="`columns`"):
        CovarianceBlock("g", ["a"], [2], [True], 3, 0, 0)


def test_sleepstudy_layout_is_the_objectives():
    """The layout of the marginal likelihood's parameters: names as make_objective gives them."""
    from quadlib.glmm import make_objective

    d = build_design("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    layout = ThetaLayout.from_terms(d.terms, offset=len(d.fixed_names))
    objective = make_objective(d, "gaussian")
    assert objective.names[2:5] == layout.names
    assert objective.bounds[2:5] == layout.bounds
