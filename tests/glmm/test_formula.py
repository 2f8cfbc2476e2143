"""Formulas are data: the vetted table of calls, the limits, and a corpus of code-execution payloads, each refused
with a clear error and no side effect (issue 23)."""
import warnings

import numpy as np
import pandas as pd
import pytest

from quadlib.glmm import fit
from quadlib.glmm._formula import FORMULA_CALLS, check_terms, parse_formula


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"y": rng.integers(0, 2, 60), "x": rng.normal(size=60), "z": rng.uniform(1, 2, 60),
                         "g": np.repeat(np.arange(6), 10), "n": 5})


def _payloads(sentinel):
    touch = f"'touch {sentinel}'"
    calls = [
        f"np.testing._private.utils.os.system({touch})",
        f"numpy.testing._private.utils.os.system({touch})",
        f"warnings.sys.modules['os'].system({touch})",
        "warnings.sys.exit(7)",
        f"os.system({touch})",
        f"np.os.system({touch})",
        f"np.lib.npyio.os.system({touch})",
        f"pd.io.common.os.system({touch})",
        f"formulae.environment.inspect.os.system({touch})",
        f"open('{sentinel}', 'w')",
        f"eval('open(\"{sentinel}\", \"w\")')",
        f"exec('open(\"{sentinel}\", \"w\")')",
        "getattr(np, 'testing')",
        "globals()",
        "locals()",
        "vars()",
        "np.load('x.npy', allow_pickle=True)",
        "np.fromfile('/etc/passwd')",
        "np.loadtxt('/etc/passwd')",
        "np.save('x', 1)",
        "I.__globals__",
        "C.__init__.__globals__",
        "scale.__class__.__base__",
        "x.__class__",
        "breakpoint()",
        "input()",
        "print(1)",
        "compile('1', 'a', 'eval')",
        "np.vectorize(print)(x)",
        "np.frompyfunc(print, 1, 1)(x)",
        "np.apply_along_axis(print, 0, x)",
        "Treatment.__init__.__globals__",
        "factor.__globals__",
    ]
    return calls


def _formulas(call):
    yield f"y ~ {call} + (1 | g)"
    yield f"y ~ x + I({call}) + (1 | g)"
    yield f"y ~ x + ({call} | g)"
    yield f"cbind(y, {call}) ~ x + (1 | g)"
    yield f"{call} ~ x + (1 | g)"
    yield f"y ~ x + log({call}) + (1 | g)"


def test_code_execution_payloads_are_refused_without_side_effects(data, tmp_path):
    sentinel = tmp_path / "executed"
    count = 0
    for call in _payloads(sentinel):
        for formula in _formulas(call):
            with pytest.raises(ValueError, match="`formula`"):
                fit(formula, data, family="binomial")
            count += 1
            assert not sentinel.exists(), formula
    assert count == 6 * len(_payloads(sentinel))


def test_cli_formula_payload_is_refused(data, tmp_path, capsys):
    from quadlib._cli import main

    sentinel = tmp_path / "executed"
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    formula = f"y ~ np.testing._private.utils.os.system('touch {sentinel}') + (1 | g)"
    try:
        status = main(["fit", "--data", str(path), formula, "--family", "binomial"])
    except SystemExit as exit_info:
        status = exit_info.code
    assert status == 2
    assert not sentinel.exists()
    assert "quadlib: error:" in capsys.readouterr().err


@pytest.mark.parametrize("formula, message", [
    ("y ~ I(9**9**9**9) + (1 | g)", "do not nest"),
    ("y ~ I(x**10**9) + (1 | g)", "do not nest"),
    ("y ~ I(x**100000) + (1 | g)", "at most 1000"),
    ("y ~ I(2**(3**4)) + (1 | g)", "do not nest"),
    ("y ~ (x + z)**1000000 + (1 | g)", "interaction power"),
    ("y ~ x + " + "9" * 60 + " + (1 | g)", "at most 40"),
    ("y ~ C(g, levels='" + "a" * 500 + "') + (1 | g)", "at most 200"),
    ("y ~ " + "(" * 150 + "x" + ")" * 150 + " + (1 | g)", "nested"),
    ("y ~ " + " + ".join(["x"] * 5000) + " + (1 | g)", "at most 10000"),
    ("y ~ undefined_column + (1 | g)", "'undefined_column' is not a column of `data`"),
    ("y ~ x.__class__ + (1 | g)", "never looked up"),
    ("y ~ `not there` + (1 | g)", "not a column"),
])
def test_limits_and_unknown_names(data, formula, message):
    with pytest.raises(ValueError, match=message):
        fit(formula, data, family="binomial")


def test_vetted_calls_work_and_agree_with_the_transformed_columns(data):
    """Each vetted transform gives the column it should: a fit with the transformed column made by hand in the
    data frame has the same estimates (the transform is computed independently here, by numpy)."""
    d = data.assign(lx=np.log(data.z), ex=np.exp(data.x), sx=np.sqrt(data.z), l1=np.log1p(np.abs(data.x)),
                    x2=data.x ** 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = fit("y ~ log(z) + np.exp(x) + numpy.sqrt(z) + log1p(abs(x)) + I(x**2) + (1 | g)", d, family="binomial")
        b = fit("y ~ lx + ex + sx + l1 + x2 + (1 | g)", d, family="binomial")
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-6, atol=1e-8)
    assert list(a.params.index)[1:] == ["log(z)", "np.exp(x)", "numpy.sqrt(z)", "log1p(abs(x))", "I(x ** 2)"]


def test_factor_is_r_factor(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = fit("y ~ factor(g) + (1 | n:g)", data.assign(n=np.arange(60) % 5), family="binomial")
    assert list(a.params.index) == ["(Intercept)"] + [f"factor(g){k}" for k in range(1, 6)]


def test_check_terms_accepts_formula_operators():
    cols = ["a", "b", "c", "x"]
    for text in ["a + b", "a:b", "a*b", "(a + b + c)**2", "a/b", "0 + a", "a - 1", "C(a, Sum)", "poly(x, 2)",
                 "center(x) + scale(x)", "offset(log(x))", "{x + 1}", "x[a]"]:
        check_terms(text, cols)


def test_table_is_the_documented_one():
    for name in ["log", "log1p", "exp", "sqrt", "abs", "scale", "center", "C", "poly", "I", "offset", "expit"]:
        assert name in FORMULA_CALLS
    for name in ["eval", "exec", "open", "getattr", "__import__", "system"]:
        assert name not in FORMULA_CALLS


def test_parse_formula_bounds_the_length():
    with pytest.raises(ValueError, match="`formula` is 20009 characters long"):
        parse_formula("y ~ " + "x + " * 5000 + "(1|g)")
