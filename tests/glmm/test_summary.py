"""quadlib.glmm._summary: R's number formatting, the coefficient table, the variance components as lme4's VarCorr
prints them, and the one summary layout."""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quadlib.glmm._summary import (align_columns, coef_table, criteria_table, format_coef_table, format_numbers,
                                   format_summary, random_effects_table)

LMM_REF = json.loads((Path(__file__).resolve().parent.parent / "reference" / "lmm_reference.json").read_text())


def test_format_numbers_as_r_format():
    # R: format(c(612.1027, 35.0722, 654.9412), digits = 4) and format(c(24.7407, 5.9221, 25.5918), digits = 4),
    # the Variance and Std.Dev. columns of lme4's sleepstudy summary
    assert format_numbers([612.1027, 35.0722, 654.9412], 4) == ["612.10", "35.07", "654.94"]
    assert format_numbers([24.7407, 5.9221, 25.5918], 4) == ["24.741", "5.922", "25.592"]
    # R: format(c(1, 10, 100), digits = 3) -> "1" "10" "100"; format(0.0001234, digits = 3) -> "0.000123"
    assert format_numbers([1, 10, 100], 3) == ["1", "10", "100"]
    assert format_numbers([0.0001234], 3) == ["0.000123"]
    assert format_numbers([math.nan, math.inf, -math.inf, 2.5], 3) == ["NaN", "Inf", "-Inf", "2.5"]


def test_align_columns():
    lines = align_columns([["", "a", "bbb"], ["row", "1", "-2.5"], ["r", "10", "3"]])
    assert lines == ["      a   bbb", "row   1  -2.5", "r    10     3"]
    assert align_columns([["x", "y"], ["long", "z"]], left=2, gap=1) == ["x    y", "long z"]
    assert align_columns([]) == []


def test_format_coef_table_pvalues_and_statistics():
    table = format_coef_table(["a", "b", "c"], [("Estimate", [1.0, -2.0, 0.5], "estimate"),
                                                ("z value", [1.23456, -40.0, 0.0], "statistic"),
                                                ("Pr(>|z|)", [1e-20, 0.0123456, math.nan], "pvalue")])
    assert table[0].split() == ["Estimate", "z", "value", "Pr(>|z|)"]
    assert table[1].split() == ["a", "1.0", "1.235", "<2e-16"]
    assert table[2].split() == ["b", "-2.0", "-40.000", "0.0123"]
    assert table[3].split() == ["c", "0.5", "0.000", "NaN"]


def _ends(line, cells):
    out, position = [], 0
    for cell in cells:
        position = line.index(cell, position) + len(cell)
        out.append(position)
    return out


def test_coef_table_styles():
    lme4 = coef_table(["(Intercept)", "x"], [1.5, -0.25], [0.5, 0.125], [3.0, -2.0], [0.0027, 0.0455])
    assert _ends(lme4[0], ["Estimate", "Std. Error", "z value", "Pr(>|z|)"]) == _ends(
        lme4[2], ["-0.250", "0.125", "-2", "0.0455"])
    no_p = coef_table(["x"], [1.0], [0.5], [2.0], statistic="t")
    assert no_p[0].split() == ["Estimate", "Std.", "Error", "t", "value"]
    survival = coef_table(["spontaneous"], [1.98587551667772], [0.352443], [5.635], [1.75e-08], style="survival")
    # clogit's print: coef, exp(coef), se(coef), z, p
    assert survival[0].split() == ["coef", "exp(coef)", "se(coef)", "z", "p"]
    assert survival[1].split() == ["spontaneous", "1.9859", "7.2854", "0.3524", "5.635", "1.75e-08"]


def test_random_effects_table_as_lme4_varcorr():
    """sleepstudy by REML (lme4's stored SDs and correlation): Variance and Std.Dev. each formatted as one
    vector with 4 significant digits (R's format), the correlation to 3 decimals, a Residual row."""
    ref = LMM_REF["fits"]["sleepstudy_corr_reml"]
    term = ref["terms"][0]
    (sd_int, sd_days), corr = term["sd"], term["corr"][1][0]
    cov = np.array([[sd_int ** 2, corr * sd_int * sd_days], [corr * sd_int * sd_days, sd_days ** 2]])
    frame = pd.DataFrame(cov, index=["(Intercept)", "Days"], columns=["(Intercept)", "Days"])
    lines = random_effects_table({"Subject": frame}, residual=ref["sigma"])
    assert [line.split() for line in lines] == [
        ["Groups", "Name", "Variance", "Std.Dev.", "Corr"],
        ["Subject", "(Intercept)", f"{sd_int ** 2:.2f}", f"{sd_int:.3f}"],
        ["Days", f"{sd_days ** 2:.2f}", f"{sd_days:.3f}", f"{corr:.3f}"],
        ["Residual", f"{ref['sigma'] ** 2:.2f}", f"{ref['sigma']:.3f}"]]
    header = lines[0]
    for column in ("Variance", "Std.Dev."):   # numbers right-aligned under their headers
        end = header.index(column) + len(column)
        for line in lines[1:]:
            assert line[end - 1] != " " and (len(line) == end or line[end] == " "), (line, column)
    assert lines[2].index(f"{corr:.3f}") >= header.index("Corr")


def test_random_effects_table_uncorrelated_and_several_groups():
    diagonal = pd.DataFrame(np.diag([4.0, 0.25]), index=["(Intercept)", "x"], columns=["(Intercept)", "x"])
    single = pd.DataFrame([[1e-3]], index=["(Intercept)"], columns=["(Intercept)"])
    lines = random_effects_table({"g": diagonal, "g.1": single})
    assert [line.split() for line in lines[1:]] == [["g", "(Intercept)", "4.000", "2.00000"],
                                                    ["x", "0.250", "0.50000"],
                                                    ["g.1", "(Intercept)", "0.001", "0.03162"]]
    assert not any(line.rstrip().endswith("0.000") for line in lines[1:])   # no correlations of a || block
    assert random_effects_table({}) == [" Groups  Name  Variance  Std.Dev.  Corr"]


def test_criteria_table():
    lines = criteria_table(194.0526, 204.1793, -92.0263, 184.0526, 51)
    assert [line.split() for line in lines] == [["AIC", "BIC", "logLik", "deviance", "df.resid"],
                                                ["194.0526", "204.1793", "-92.0263", "184.0526", "51"]]
    assert criteria_table(math.nan, math.nan, math.nan, math.nan)[1].split() == ["NA"] * 4


def test_format_summary_sections_in_order():
    text = format_summary(title="T", formula="y ~ x + (1 | g)", coefficients=["C"], family=("binomial", "logit"),
                          header=["H"], criteria=["AIC"], random_effects=["RE"], dispersion=["D"], nobs=10,
                          ngroups={"g": 2, "h": 3}, before=["B"], after=["A"], notes=["N1", "N2"])
    assert text.splitlines() == ["T", " Family: binomial  ( logit )", "Formula: y ~ x + (1 | g)", "H", "", "AIC",
                                 "", "B", "", "Random effects:", "RE", "D", "Number of obs: 10, groups:  g, 2; h, 3",
                                 "", "Fixed effects:", "C", "", "A", "", "N1", "", "N2"]
    bare = format_summary(title="T", formula="f", coefficients=["C"])
    assert bare.splitlines() == ["T", "Formula: f", "", "Fixed effects:", "C"]


def test_input_validation():
    with pytest.raises(ValueError, match="`digits` must be at most 15"):
        format_numbers([1.0], 16)
    with pytest.raises(ValueError, match="`digits` must be a positive integer"):
        format_numbers([1.0], 0)
    with pytest.raises(TypeError, match="`digits` must be a positive integer"):
        format_numbers([1.0], 2.5)
    with pytest.raises(ValueError, match="`columns`: 'x' has 1 values for 2 rows"):
        format_coef_table(["a", "b"], [("x", [1.0], "estimate")])
    with pytest.raises(ValueError, match="`columns`: the kind of 'x' must be"):
        format_coef_table(["a"], [("x", [1.0], "ratio")])
    with pytest.raises(ValueError, match="`statistic` must be one of 'z', 't'"):
        coef_table(["a"], [1.0], [1.0], [1.0], statistic="w")
    with pytest.raises(ValueError, match="`style` must be one of 'lme4', 'survival'"):
        coef_table(["a"], [1.0], [1.0], [1.0], style="stata")
