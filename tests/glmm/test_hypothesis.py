"""Wald tests of linear hypotheses (quadlib.glmm._hypothesis): the parser against hand-written matrices, the
test against numpy by hand and against statsmodels' ``wald_test`` on a GLM (independent code), and every
refusal of the grammar.
"""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from quadlib.glmm import datasets
from quadlib.glmm._hypothesis import (MAX_CHARACTERS, MAX_EQUATIONS, WaldTestResult, hypothesis_matrix,
                                      parse_hypothesis, wald_test)

NAMES = ["(Intercept)", "trt", "lbase", "lbase:trt", "period[T.2]", "x.1"]


# ------------------------------------------------------------------------------------------------ parser
@pytest.mark.parametrize("text, L, rhs", [
    ("trt = 0, lbase:trt = 0", [[0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0]], [0, 0]),
    ("trt - lbase = 0", [[0, 1, -1, 0, 0, 0]], [0]),
    ("2*trt + lbase = 1", [[0, 2, 1, 0, 0, 0]], [1]),
    ("trt = lbase", [[0, 1, -1, 0, 0, 0]], [0]),
    ("trt", [[0, 1, 0, 0, 0, 0]], [0]),                                  # no '=': = 0, as statsmodels
    ("(Intercept) + period[T.2]*0.5 = -2.5e-1", [[1, 0, 0, 0, 0.5, 0]], [-0.25]),
    ("-trt - -x.1 + 3 = 1 + lbase", [[0, -1, -1, 0, 0, 1]], [-2]),       # constants move to the right
    ("`lbase:trt` = .5, 3 * `x.1` * 2 = 0", [[0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 6]], [0.5, 0]),
    ("trt+trt=2", [[0, 2, 0, 0, 0, 0]], [2]),
])
def test_parse_hypothesis_equals_the_hand_written_matrix(text, L, rhs):
    got_L, got_rhs = parse_hypothesis(text, NAMES)
    np.testing.assert_array_equal(got_L, np.array(L, dtype=float))
    np.testing.assert_array_equal(got_rhs, np.array(rhs, dtype=float))


def test_names_are_matched_longest_first():
    """'lbase' is a prefix of 'lbase:trt' and 'a' of 'a-b': the longest name that ends at a delimiter wins;
    with spaces the same characters are a difference."""
    L, _ = parse_hypothesis("lbase:trt = 0", NAMES)
    np.testing.assert_array_equal(L, [[0, 0, 0, 1, 0, 0]])
    names = ["a", "b", "a-b"]
    np.testing.assert_array_equal(parse_hypothesis("a-b = 0", names)[0], [[0, 0, 1]])
    np.testing.assert_array_equal(parse_hypothesis("a - b = 0", names)[0], [[1, -1, 0]])


@pytest.mark.parametrize("text, match", [
    ("trtx = 0", r"`hypothesis`: unknown coefficient 'trtx' \(coefficients: \(Intercept\), trt,"),
    ("`nope` = 0", "unknown coefficient 'nope'"),
    ("lbase:trtx = 0", "unknown coefficient 'lbase:trtx'"),
    ("trt*lbase = 0", "not linear"),
    ("trt*trt = 0", "not linear"),
    ("trt - trt = 0", "involves no coefficient"),
    ("1 = 2", "involves no coefficient"),
    ("trt = 0, 2*trt = 1", "linearly dependent"),
    ("2trt = 0", "cannot read '2trt'"),
    ("trt 2 = 0", r"expected \+ or - before a number"),
    ("trt lbase = 0", r"expected \+ or - before a coefficient"),
    ("trt + = 0", "ends with an operator"),
    ("= 0", "empty side"),
    ("trt = 0,", "equation 2 is empty"),
    ("trt = 0 = 1", "more than one '='"),
    ("`trt = 0", "unclosed backquote"),
    ("trt = 1e999", "not finite"),
    ("trt = " + "1" * 50, "longer than"),
    ("trt = 0 ; lbase = 0", "cannot read ';'"),
])
def test_parse_hypothesis_refusals(text, match):
    with pytest.raises(ValueError, match=match):
        parse_hypothesis(text, NAMES)


def test_parse_hypothesis_bounds_and_types():
    with pytest.raises(ValueError, match=f"at most {MAX_CHARACTERS} characters"):
        parse_hypothesis("trt = 0" + " " * MAX_CHARACTERS, NAMES)
    names = [f"b{k}" for k in range(MAX_EQUATIONS + 1)]
    text = ", ".join(f"b{k} = 0" for k in range(MAX_EQUATIONS + 1))
    assert len(text) <= MAX_CHARACTERS
    with pytest.raises(ValueError, match=f"at most {MAX_EQUATIONS} equations"):
        parse_hypothesis(text, names)
    with pytest.raises(TypeError, match="`hypothesis` must be a str"):
        parse_hypothesis(3, NAMES)
    with pytest.raises(TypeError, match="`names`"):
        parse_hypothesis("a = 0", "abc")
    with pytest.raises(ValueError, match="`names` must be distinct"):
        parse_hypothesis("a = 0", ["a", "a"])


def test_no_code_is_evaluated():
    """The text is data: Python that would run under eval is an unknown coefficient."""
    for text in ("__import__('os').system('true') = 0", "trt.__class__ = 0", "exec('1') = 0"):
        with pytest.raises(ValueError, match="unknown coefficient|cannot read"):
            parse_hypothesis(text, NAMES)


def test_matrix_hypotheses():
    L, rhs = hypothesis_matrix([0, 1, 0, 0, 0, 0], NAMES, rhs=2.0)
    np.testing.assert_array_equal(L, [[0, 1, 0, 0, 0, 0]])
    np.testing.assert_array_equal(rhs, [2.0])
    L, rhs = hypothesis_matrix((np.eye(6)[:2], [1, 2]), NAMES)
    np.testing.assert_array_equal(rhs, [1, 2])
    frame = pd.DataFrame([[1.0, -1.0]], columns=["lbase", "trt"])
    L, _ = hypothesis_matrix(frame, NAMES)
    np.testing.assert_array_equal(L, [[0, -1, 1, 0, 0, 0]])
    with pytest.raises(ValueError, match="must have 6 columns"):
        hypothesis_matrix(np.eye(5), NAMES)
    with pytest.raises(ValueError, match="linearly dependent"):
        hypothesis_matrix([[1, 0, 0, 0, 0, 0], [2, 0, 0, 0, 0, 0]], NAMES)
    with pytest.raises(ValueError, match="L is zero"):
        hypothesis_matrix(np.zeros(6), NAMES)
    with pytest.raises(ValueError, match="unknown coefficient 'zzz'"):
        hypothesis_matrix(pd.DataFrame([[1.0]], columns=["zzz"]), NAMES)
    with pytest.raises(ValueError, match="`rhs` must be one finite number per row"):
        hypothesis_matrix(np.eye(6)[:2], NAMES, rhs=[1, 2, 3])
    with pytest.raises(TypeError, match="`hypothesis` must be a str or a matrix"):
        hypothesis_matrix({"a": 1}, NAMES)
    with pytest.raises(TypeError, match="`hypothesis` must be a str or a matrix"):
        hypothesis_matrix(None, NAMES)
    with pytest.raises(ValueError, match="`rhs` applies to a matrix"):
        hypothesis_matrix("trt = 0", NAMES, rhs=1)


# ------------------------------------------------------------------------------------------------ the test
def test_wald_test_by_hand():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((4, 4))
    C = A @ A.T + 4 * np.eye(4)
    beta = pd.Series(rng.standard_normal(4), index=["a", "b", "c", "d"])
    L = np.array([[1.0, -1.0, 0, 0], [0, 0, 2.0, 1.0]])
    r = np.array([0.5, -1.0])
    d = L @ beta.to_numpy() - r
    expected = float(d @ np.linalg.inv(L @ C @ L.T) @ d)
    test = wald_test(beta, C, "a - b = 0.5, 2*c + d = -1")
    assert isinstance(test, WaldTestResult)
    assert test.statistic == pytest.approx(expected, rel=1e-12)
    assert test.df == 2 and test.distribution == "chi2"
    assert test.pvalue == pytest.approx(math.exp(-expected / 2), rel=1e-12)   # chi2_2: P(X > s) = exp(-s/2)
    np.testing.assert_array_equal(test.L, L)
    np.testing.assert_array_equal(test.rhs, r)
    f = wald_test(beta, C, (L, r), use_f=True)
    assert f.statistic == pytest.approx(expected / 2, rel=1e-12)
    assert f.df_denom == math.inf and f.distribution == "F" and f.pvalue == pytest.approx(test.pvalue, rel=1e-12)
    # one coefficient: chi2 = z^2, the two-sided normal p-value
    one = wald_test(beta.to_numpy(), C, "c = 0", names=list(beta.index))
    z = beta["c"] / math.sqrt(C[2, 2])
    assert one.statistic == pytest.approx(z ** 2, rel=1e-12)
    assert one.pvalue == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-10)
    assert "Wald test (chi2)" in repr(one) and "Wald test (F)" in repr(f)


def cbpp_glm():
    sm = pytest.importorskip("statsmodels.api")
    smf = pytest.importorskip("statsmodels.formula.api")
    data = datasets.load("cbpp")
    data["fail"] = data["size"] - data["incidence"]
    return smf.glm("incidence + fail ~ period", data, family=sm.families.Binomial()).fit()


@pytest.mark.parametrize("text", ["period[T.2] = period[T.3], period[T.4] = 0", "period[T.2] = 0",
                                  "period[T.2] + 2*period[T.3] - period[T.4] = -1",
                                  "period[T.2] = 0, period[T.3] = 0, period[T.4] = 0"])
def test_wald_test_equals_statsmodels_glm(text):
    """statsmodels parses the same string with its own (patsy's) constraint parser and computes the test
    itself: the statistic and p-value are independent of this module."""
    glm = cbpp_glm()
    theirs = glm.wald_test(text, scalar=True)
    ours = wald_test(glm.params, glm.cov_params(), text)
    assert ours.statistic == pytest.approx(float(theirs.statistic), rel=1e-10)
    assert ours.pvalue == pytest.approx(float(theirs.pvalue), rel=1e-8)
    assert ours.df == int(theirs.df_denom)       # statsmodels keeps a chi2's df in df_denom
    f_theirs = glm.wald_test(text, use_f=True, scalar=True)
    f_ours = wald_test(glm.params, glm.cov_params(), text, use_f=True)
    assert f_ours.statistic == pytest.approx(float(f_theirs.statistic), rel=1e-10)


def test_wald_test_matrix_equals_statsmodels_glm():
    """A hand-written L and rhs, given to both."""
    glm = cbpp_glm()
    L = np.array([[0.0, 1.0, -1.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    r = np.array([0.1, -2.0])
    theirs = glm.wald_test((L, r), scalar=True)
    ours = wald_test(glm.params, glm.cov_params(), L, rhs=r)
    assert ours.statistic == pytest.approx(float(theirs.statistic), rel=1e-10)
    assert ours.pvalue == pytest.approx(float(theirs.pvalue), rel=1e-8)


def test_wald_test_input_validation():
    beta = pd.Series([1.0, 2.0], index=["a", "b"])
    C = np.eye(2)
    with pytest.raises(ValueError, match="`names` is needed"):
        wald_test([1.0, 2.0], C, "a = 0")
    with pytest.raises(ValueError, match=r"`covariance` must be \(2, 2\)"):
        wald_test(beta, np.eye(3), "a = 0")
    with pytest.raises(ValueError, match="`names` has 3 entries"):
        wald_test([1.0, 2.0], C, "a = 0", names=["a", "b", "c"])
    with pytest.raises(TypeError, match="`use_f`"):
        wald_test(beta, C, "a = 0", use_f="yes")
    with pytest.raises(ValueError, match="unknown coefficient 'c'"):
        wald_test(beta, C, "c = 0")
    with pytest.raises(ValueError, match="without a finite estimate or variance: b"):
        wald_test(beta, np.diag([1.0, np.nan]), "b = 0")
    # a coefficient with NaN variance that the hypothesis does not involve is no obstacle
    assert wald_test(beta, np.diag([1.0, np.nan]), "a = 0").statistic == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not positive definite|singular"):
        wald_test(beta, np.array([[1.0, 1.0], [1.0, 1.0]]), "a - b = 0")
