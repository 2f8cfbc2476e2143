"""The one sandbox for user expressions (CLI integrands and limits, nlmm models): the vetted table and its limits."""
import time

import numpy as np
import pandas as pd
import pytest

from quadlib._expression import (FUNCTIONS, MAX_EXPRESSION_LENGTH, check_expression, compile_expression,
                                 evaluate_constant)


@pytest.mark.parametrize("text", [
    "__import__('os').system('echo X')", "np.testing._private.utils.os.system('echo X')", "x.__class__",
    "np.__dict__", "(lambda: 1)()", "[x for x in ()]", "x[0]", "'a' * 10", "np", "numpy", "open('f')",
    "getattr(np, 'sin')(x)", "sin(x=1)", "sin(*x)", "x if x else 1", "np.sin.__call__(x)", "globals()",
    "exec('1')", "eval('1')", "x := 1", "f'{x}'", "np.load('a')", "print(x)", "{1: 2}",
])
def test_anything_but_arithmetic_is_refused(text):
    with pytest.raises(ValueError, match="`expression`"):
        compile_expression(text)


@pytest.mark.parametrize("text", ["x + 9**9**9**9", "10**10**9", "(9**999)**999", "2**2**2**2**2**2"])
def test_power_towers_fail_fast(text):
    start = time.process_time()
    with pytest.raises(ValueError, match="overflows"):
        compile_expression(text)(np.array([0.5]))
    # a bound on work, not a speed target: an enormous integer would take minutes; floats fail at once
    assert time.process_time() - start < 10.0


@pytest.mark.parametrize("text, message", [
    ("1" * 60, "at most 40"),
    ("x + " * 3000 + "x", f"at most {MAX_EXPRESSION_LENGTH}"),
    ("(" * 300 + "x" + ")" * 300, "nested|parenthes"),
    ("-" * 500 + "x", "nested"),
])
def test_sizes_are_bounded(text, message):
    with pytest.raises(ValueError, match=message):
        compile_expression(text)


@pytest.mark.parametrize("text, expected", [
    ("pi/2", np.pi / 2), ("-inf", -np.inf), ("2**-1", 0.5), ("exp(1)", np.e), ("1e3", 1000.0), ("7//2", 3.0)])
def test_constants(text, expected):
    assert evaluate_constant(text, "a") == expected


@pytest.mark.parametrize("text", ["10**10**9", "9**9**9**9", "1/0", "nan", "1j", "x", "inf - inf", "'1'", ""])
def test_bad_constants(text):
    with pytest.raises(ValueError, match="`a` must be a number"):
        evaluate_constant(text, "a")


def test_vetted_functions_are_the_numpy_and_scipy_ones():
    from scipy import special

    x = np.linspace(0.1, 0.9, 5)
    assert np.array_equal(compile_expression("np.expit(x) + logit(x) + gammaln(x)")(x),
                          special.expit(x) + special.logit(x) + special.gammaln(x))
    assert np.array_equal(compile_expression("exp(-x**2) * numpy.cos(3*x)")(x), np.exp(-x ** 2) * np.cos(3 * x))
    assert {"log", "exp", "sqrt", "abs", "log1p"} <= set(FUNCTIONS)


def test_integer_literals_become_floats():
    tree = check_expression("x**2 + 3", {"x"})
    constants = [node.value for node in __import__("ast").walk(tree) if hasattr(node, "value")
                 and isinstance(getattr(node, "value"), (int, float)) and not isinstance(node.value, bool)]
    assert sorted(constants) == [2.0, 3.0] and all(isinstance(c, float) for c in constants)


def test_nlmm_uses_the_same_sandbox():
    from quadlib.glmm import nlmm

    data = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "t": [1.0, 2, 3, 1, 2, 3], "g": [1, 1, 1, 2, 2, 2]})
    for model in ["y ~ a * np.testing._private.utils.os.system('echo X') + t", "y ~ a + t.__class__",
                  "y ~ a * 9**9**9**9 + t", "y ~ a + " + "1" * 60]:
        with pytest.raises(ValueError, match="`model`"):
            nlmm(model, data, fixed=["a"], random=["a"], group="g", start={"a": 1.0})
