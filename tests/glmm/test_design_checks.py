"""lme4's checks of the random-effect design (quadlib.glmm._design.check_random_effects).

The expected messages are lme4's (lme4 1.1, R 4.x), produced by these calls:
    lmer(Reaction ~ Days + (Days | Subject), sleepstudy[sleepstudy$Days < 2, ])
      -> number of observations (=36) <= number of random effects (=36) for term (Days | Subject); the
         random-effects parameters and the residual variance (or scale parameter) are probably unidentifiable
    lmer(z ~ x + (1 | g), d)                      # 20 rows, g with 20 levels
      -> number of levels of each grouping factor must be < number of observations (problems: g)
    glmer(y ~ x + (1 + x | g), d, family = poisson)
      -> number of observations (=20) < number of random effects (=40) for term (1 + x | g); the
         random-effects parameters are probably unidentifiable
    glmer(y ~ x + (1 | one), d, family = poisson)  # one level
      -> grouping factors must have > 1 sampled level
    glmer(y ~ x + (1 | g), d, family = poisson)    # one observation per level: fitted, no error
"""
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from quadlib.glmm import build_design, datasets
from quadlib.glmm import _design
from quadlib.glmm._design import RandomTerm, check_random_effects, design_from_arrays
from quadlib.glmm._formula import parse_formula


def _no_warning(design, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_random_effects(design, **kwargs)


def _one_per_level(seed=1, n=20):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"g": [f"g{i:02d}" for i in range(n)], "x": rng.standard_normal(n),
                         "y": rng.poisson(3.0, n).astype(float), "z": rng.standard_normal(n)})


# ------------------------------------------------------------------------------------------------------
# 1. a grouping factor with one level (lme4's check.nlev.gtr.1: an error)

def test_one_level_is_an_error_with_lme4s_message():
    term = RandomTerm("one", ["(Intercept)"], np.ones((6, 1)), np.zeros(6, dtype=np.intp), ["a"], True)
    design = design_from_arrays(np.arange(6.0), np.ones((6, 1)), ["(Intercept)"], [term], formula="y ~ 1 + (1 | one)")
    for residual in (True, False):
        with pytest.raises(ValueError, match=r"`data`: grouping factor 'one' has a single level.*"
                                             r"grouping factors must have > 1 sampled level"):
            check_random_effects(design, residual=residual)
    # build_design refuses it first, with the same lme4 message
    with pytest.raises(ValueError, match=r"single level.*grouping factors must have > 1 sampled level"):
        build_design("y ~ x + (1 | one)", _one_per_level().assign(one="a"))


# ------------------------------------------------------------------------------------------------------
# 2. as many levels as observations (check.nobs.vs.nlev: an error for lmer; glmer allows equality)

def test_levels_not_fewer_than_observations():
    design = build_design("z ~ x + (1 | g)", _one_per_level())
    with pytest.raises(ValueError, match=re.escape("number of levels of each grouping factor must be < number of "
                                                   "observations (problems: g)")):
        check_random_effects(design)
    # glmer fits an observation-level random effect
    _no_warning(build_design("y ~ x + (1 | g)", _one_per_level()), residual=False)


# ------------------------------------------------------------------------------------------------------
# 3. more random effects than observations (check.nobs.vs.nRE: an error)

def test_random_effects_not_fewer_than_observations_lmer():
    data = datasets.load("sleepstudy")
    design = build_design("Reaction ~ Days + (Days | Subject)", data[data.Days < 2])
    message = ("number of observations (=36) <= number of random effects (=36) for term (Days | Subject); the "
               "random-effects parameters and the residual variance (or scale parameter) are probably unidentifiable")
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        check_random_effects(design)
    # the house wording before lme4's: the argument first
    assert str(error.value).startswith("`data`: the number of observations (36) is not larger than the number of "
                                       "random effects (36) of the term (Days | Subject)")
    # glmer allows n == q (no residual variance to separate from)
    _no_warning(design, residual=False)
    _no_warning(build_design("Reaction ~ Days + (Days | Subject)", data))


def test_random_effects_more_than_observations_glmer():
    design = build_design("y ~ x + (1 + x | g)", _one_per_level())
    message = ("number of observations (=20) < number of random effects (=40) for term (1 + x | g); the "
               "random-effects parameters are probably unidentifiable")
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        check_random_effects(design, residual=False)
    assert str(error.value).startswith("`data`: the number of observations (20) is smaller than the number of "
                                       "random effects (40) of the term (1 + x | g)")


def test_each_term_is_checked_and_named():
    # 4 levels x 3 columns = 12 random effects for 12 rows in the second term only
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"g": np.repeat(list("abcd"), 3), "h": np.tile(list("xyz"), 4),
                         "x": rng.standard_normal(12), "w": rng.standard_normal(12), "y": rng.standard_normal(12)})
    design = build_design("y ~ 1 + (1 | h) + (1 + x + w | g)", data)
    with pytest.raises(ValueError, match=re.escape("(=12) <= number of random effects (=12) for term (1 + x + w | g)")):
        check_random_effects(design)


# ------------------------------------------------------------------------------------------------------
# 4. a rank-deficient random-effect matrix (a warning naming the terms and columns)

def _grouped(seed=5, m=12, per=6):
    rng = np.random.default_rng(seed)
    g = np.repeat([f"s{i:02d}" for i in range(m)], per)
    constant = np.repeat(rng.standard_normal(m), per)
    x = rng.standard_normal(m * per)
    return pd.DataFrame({"g": g, "h": np.char.add("t", g.astype(str)), "c": constant, "x": x, "x2": 2.0 * x - 1.0,
                         "y": rng.standard_normal(m * per), "k": np.tile(["a", "b", "c"], m * per // 3)})


def _caught(design, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_random_effects(design, **kwargs)
    return [str(w.message) for w in caught]


def test_identical_terms_named():
    messages = _caught(build_design("y ~ 1 + (1 | g) + (1 | g)", _grouped()))
    assert len(messages) == 1
    assert messages[0].startswith("`formula`: the random-effect matrix is rank deficient: within every level of 'g', "
                                  "the columns '(Intercept)' of (1 | g) and '(Intercept)' of (1 | g) are linearly "
                                  "dependent")


def test_factors_grouping_alike_are_identical_terms():
    # h is g with other labels: (1 | h) duplicates (1 | g), and a crossed factor k does not take part
    messages = _caught(build_design("y ~ 1 + (1 | g) + (1 | k) + (1 | h)", _grouped()))
    assert len(messages) == 1
    assert "'(Intercept)' of (1 | g) and '(Intercept)' of (1 | h)" in messages[0]
    assert "(1 | k)" not in messages[0]


def test_slope_constant_within_every_level_named():
    messages = _caught(build_design("y ~ c + (1 + c | g)", _grouped()))
    assert len(messages) == 1
    assert "the columns '(Intercept)', 'c' of (1 + c | g) are linearly dependent" in messages[0]


def test_collinear_columns_within_a_term_named():
    # x2 = 2x - 1: x and x2 with the intercept; with the intercept dropped, x and x2 alone are not collinear
    messages = _caught(build_design("y ~ 1 + (1 + x + x2 | g)", _grouped()))
    assert len(messages) == 1 and "'(Intercept)', 'x', 'x2' of (1 + x + x2 | g)" in messages[0]
    _no_warning(build_design("y ~ 1 + (0 + x + x2 | g)", _grouped()))
    # a proportional column is reported without the intercept
    messages = _caught(build_design("y ~ 1 + (1 + x + x2 | g)", _grouped().assign(x2=lambda d: 3 * d.x)))
    assert len(messages) == 1 and "'x', 'x2' of (1 + x + x2 | g)" in messages[0]


def test_slope_varying_within_some_level_is_identified():
    # one level where c varies identifies the slope's variance: not reported (lme4 fits it too)
    data = _grouped()
    data.loc[data.index[:3], "c"] += 0.5
    _no_warning(build_design("y ~ c + (1 + c | g)", data))


def test_well_posed_designs_do_not_warn():
    _no_warning(build_design("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy")))
    _no_warning(build_design("y ~ x + (1 | g) + (1 | k)", _grouped()))         # crossed
    rng = np.random.default_rng(7)
    nested = pd.DataFrame({"a": np.repeat(list("abcd"), 12), "b": np.tile(np.repeat(list("xyz"), 4), 4),
                           "y": rng.standard_normal(48)})
    _no_warning(build_design("y ~ 1 + (1 | a/b)", nested))                    # nested: Z = [Z_ab, Z_a] is fine
    # levels with fewer rows than columns, next to levels with enough, are not a rank deficiency
    data = _grouped()
    _no_warning(build_design("y ~ x + (1 + x | g)", data.iloc[5:]))


def test_nested_factor_with_one_inner_level_per_outer_duplicates():
    # a:b groups the rows as a does when each a has a single b: lme4 fits it; the split is not identifiable
    rng = np.random.default_rng(8)
    data = pd.DataFrame({"a": np.repeat(list("abcdef"), 5), "b": "x", "y": rng.standard_normal(30)})
    messages = _caught(build_design("y ~ 1 + (1 | a/b)", data))
    assert len(messages) == 1 and "of (1 | a)" in messages[0] and "of (1 | a:b)" in messages[0]


def test_chunked_levels_give_the_same_answer(monkeypatch):
    monkeypatch.setattr(_design, "_GRAM_ENTRIES", 8)   # 2 levels per chunk with 2 columns
    messages = _caught(build_design("y ~ c + (1 + c | g)", _grouped()))
    assert len(messages) == 1 and "'(Intercept)', 'c' of (1 + c | g)" in messages[0]
    data = _grouped()
    data.loc[data.index[-3:], "c"] += 0.5               # the varying level is in the last chunk
    _no_warning(build_design("y ~ c + (1 + c | g)", data))


def test_warning_points_at_the_caller():
    with pytest.warns(UserWarning, match="rank deficient") as record:
        check_random_effects(build_design("y ~ 1 + (1 | g) + (1 | g)", _grouped()))
    assert record[0].filename == __file__


def test_names_without_a_formula():
    # design_from_arrays' formula is a label: terms are named by their columns
    rng = np.random.default_rng(9)
    index = np.repeat(np.arange(5), 4).astype(np.intp)
    Z = np.column_stack([np.ones(20), np.repeat(rng.standard_normal(5), 4)])
    term = RandomTerm("g", ["(Intercept)", "dose"], Z, index, list("abcde"), True)
    design = design_from_arrays(rng.standard_normal(20), np.ones((20, 1)), ["(Intercept)"], [term], formula="model")
    messages = _caught(design)
    assert len(messages) == 1 and "'(Intercept)', 'dose' of ((Intercept) + dose | g)" in messages[0]


def test_input_validation():
    design = build_design("y ~ 1 + (1 | g) + (1 | k)", _grouped())
    with pytest.raises(TypeError, match="`design` must be a Design"):
        check_random_effects("y ~ (1 | g)")
    with pytest.raises(TypeError, match="`residual` must be True or False, got 'yes'"):
        check_random_effects(design, residual="yes")
    with pytest.raises(ValueError, match=r"`specs` must hold one random term per term of `design` \(2\), got 1"):
        check_random_effects(design, parse_formula("y ~ (1 | g)").random)
    # specs name the terms as written
    data = datasets.load("sleepstudy")
    design = build_design("Reaction ~ Days + (Days | Subject)", data[data.Days < 2])
    with pytest.raises(ValueError, match=re.escape("for term (1 + Days | Subject)")):
        check_random_effects(design, parse_formula("Reaction ~ Days + (1 + Days | Subject)").random)
