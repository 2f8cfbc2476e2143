import subprocess
import sys

import numpy as np
import pytest

import quadlib
from quadlib._cli import main


def test_rule_prints_nodes_and_weights(capsys):
    assert main(["rule", "legendre", "3"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    values = np.array([[float(t) for t in line.split()] for line in lines])
    np.testing.assert_array_equal(values[:, 0], quadlib.gauss_legendre(3).nodes)
    np.testing.assert_array_equal(values[:, 1], quadlib.gauss_legendre(3).weights)


def test_rule_at_high_precision(capsys):
    assert main(["rule", "jacobi", "2", "--alpha", "0", "--beta", "0", "--dps", "30"]) == 0
    out = capsys.readouterr().out
    assert "0.577350269189625764509148780502" in out  # 1/sqrt(3) to 30 digits


@pytest.mark.parametrize("argv", [
    ["rule", "hermite", "4", "--kind", "normal"],
    ["rule", "radau", "3", "--endpoint", "1"],
    ["rule", "kronrod", "7"],
    ["rule", "patterson", "2"],
    ["rule", "newton_cotes", "4", "--open"],
])
def test_rule_families(argv, capsys):
    assert main(argv) == 0
    assert len(capsys.readouterr().out.splitlines()) > 2


@pytest.mark.parametrize("argv, message", [
    (["rule", "legendre", "0"], "`n`"),
    (["rule", "jacobi", "3", "--alpha", "-1", "--beta", "0"], "`alpha`"),
    (["rule", "legendre", "3", "--alpha", "1"], "`--alpha`"),
    (["rule", "hermite", "3", "--kind", "chemists"], "`kind`"),
    (["rule", "clenshaw_curtis", "3", "--dps", "30"], "`--dps`"),
])
def test_errors_are_clean(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "quadlib", "rule", "chebyshev", "2"],
                         capture_output=True, text=True, check=True).stdout
    assert "0.7071067811865476" in out


def test_integrate_prints_integral_error_and_nfev(capsys):
    assert main(["integrate", "exp(-x**2)", "-inf", "inf"]) == 0
    out = capsys.readouterr().out.split()
    values = dict(zip(out[0::2], out[1::2]))
    assert abs(float(values["integral"]) - np.sqrt(np.pi)) < 1e-12
    assert float(values["error"]) < 1e-10 and int(values["nfev"]) > 0


def test_integrate_with_tanh_sinh_and_constant_limits(capsys):
    assert main(["integrate", "1/sqrt(x)", "0", "1", "--method", "tanh-sinh"]) == 0
    assert main(["integrate", "np.cos(x)", "0", "pi/2", "--rtol", "1e-12"]) == 0
    integrals = [float(line.split()[1]) for line in capsys.readouterr().out.splitlines() if line.startswith("integral")]
    np.testing.assert_allclose(integrals, [2.0, 1.0], rtol=1e-12)


@pytest.mark.parametrize("expression", [
    "__import__('os').system('true')", "x.__class__", "open('/etc/passwd')", "np.load('x')", "lambda: 1",
    "[x for x in (1,)]", "x[0]", "'text'",
])
def test_integrate_rejects_anything_but_numpy_arithmetic(expression, capsys):
    assert main(["integrate", expression, "0", "1"]) == 2
    err = capsys.readouterr().err
    assert "quadlib: error:" in err and "Traceback" not in err


def test_integrate_reports_non_convergence(capsys):
    assert main(["integrate", "1/x", "0", "1"]) == 1
    assert "not converged" in capsys.readouterr().err


def test_fit_with_no_arguments_fits_cbpp(capsys):
    from quadlib._cli import main

    assert main(["fit", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("Fixed effects") == 2 and "nAGQ = 25" in out and "-91.9834" in out and "-92.0263" in out


def test_fit_a_csv(tmp_path, capsys):
    from quadlib._cli import main
    from quadlib.glmm import datasets

    path = tmp_path / "epil.csv"
    datasets.load("epilepsy").to_csv(path, index=False)
    assert main(["fit", "y ~ lbase + trt + (1 | subject)", "--data", str(path), "--family", "poisson",
                 "--quiet"]) == 0
    assert "poisson" in capsys.readouterr().out
    assert main(["fit", "y ~ lbase + trt + (1 | subject)", "--data", str(path), "--family", "negative_binomial",
                 "--quiet"]) == 0
    assert "theta" in capsys.readouterr().out
    assert main(["fit", "y ~ lbase + trt + (1 | subject)", "--data", str(path), "--family", "poisson",
                 "--link", "identity", "--quiet"]) == 2  # a link poisson does not allow
    assert "`link`" in capsys.readouterr().err
    assert main(["fit", "y ~ x + (1 | g)"]) == 2  # a formula without --data


# ---------------------------------------------------------------------------------------------------------
# bad arguments: one `quadlib: error:` line, status 2, no traceback

def _error_line(err):
    """The stderr of a refused command: warning lines, then exactly one error line (returned)."""
    lines = [line for line in err.splitlines() if not line.startswith("quadlib: warning:")]
    assert len(lines) == 1 and lines[0].startswith("quadlib: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def files(tmp_path):
    """Paths a user might give --data: a good CSV, and a folder, garbage bytes, an empty file, a header."""
    good = tmp_path / "good.csv"
    good.write_text("y,x,g\n" + "".join(f"{(i * 7) % 5},{i / 10},g{i % 4}\n" for i in range(24)))
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 4)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header = tmp_path / "header.csv"
    header.write_text("y,x,g\n")
    return {"good": str(good), "folder": str(tmp_path), "garbage": str(garbage), "empty": str(empty),
            "header": str(header), "missing": str(tmp_path / "missing.csv")}


@pytest.mark.parametrize("which, message", [
    ("missing", "no such file"), ("folder", "is a folder"), ("garbage", "cannot read"),
    ("empty", "cannot read"), ("header", "no data rows"),
])
def test_fit_data_that_is_no_csv(files, which, message, capsys):
    assert main(["fit", "y ~ x + (1 | g)", "--data", files[which], "--family", "poisson"]) == 2
    line = _error_line(capsys.readouterr().err)
    assert "`--data`" in line and message in line


@pytest.mark.skipif(not __import__("os").path.exists("/dev/zero"), reason="no /dev/zero")
def test_fit_data_that_never_ends(capsys):
    assert main(["fit", "y ~ x + (1 | g)", "--data", "/dev/zero"]) == 2  # read to the end, it would never stop
    assert "not a regular file" in _error_line(capsys.readouterr().err)


@pytest.mark.parametrize("argv, message", [
    (["rule", "legendre", "1000000000"], "`n` must be at most 100000"),           # used to be a MemoryError
    (["rule", "hermite", str(10 ** 30)], "`n` must be at most 100000"),           # numpy's "dimension exceeded"
    (["rule", "kronrod", "501"], "`n` must be at most 500"),                     # O(N^3): minutes
    (["rule", "clenshaw_curtis", "100000000"], "`n` must be at most 100000"),
    (["rule", "legendre", "-3"], "`n` must be a positive integer"),
    (["rule", "legendre", "201", "--dps", "30"], "`n` must be at most 200 with --dps"),
    (["rule", "legendre", "3", "--dps", "1001"], "`--dps` must be an integer from 15 to 1000"),
    (["rule", "legendre", "3", "--dps", "100000"], "`--dps` must be an integer from 15 to 1000"),
    (["rule", "legendre", "3", "--dps", "0"], "`--dps`"),
    (["rule", "legendre", "3", "--dps", "-5"], "`--dps`"),
    (["rule", "jacobi", "3", "--alpha", "nan", "--beta", "0"], "`alpha`"),
    (["integrate", "x", "0", "1", "--rtol", "-1"], "`rtol`"),
    (["integrate", "x", "0", "1", "--rtol", "nan"], "`rtol`"),
    (["integrate", "x", "0", "1", "--atol", "-1e-3"], "`atol`"),
    (["fit", "--nagq", "0"], "`nagq` must be a positive integer"),
    (["fit", "--nagq", "-4"], "`nagq` must be a positive integer"),
    (["fit", "--nagq", "1000000000"], "`nagq` must be at most 200"),
    (["fit", "--method", "qmc", "--nagq", str(10 ** 12)], "`nagq`"),
    (["fit", "--method", "pql", "--nagq", "5"], "`nagq` does not apply to method='pql'"),
    (["fit", "--link", "probit"], "`--link` applies to a model given as FORMULA"),
    (["fit", "--family", "poisson"], "`--family` applies to a model given as FORMULA"),
    (["fit", "y ~ x + (1 | g)"], "give both --data"),
    (["accuracy", "--methods", "no_such_method"], "no_such_method"),
])
def test_bad_values_are_one_error_line(argv, message, capsys):
    assert main(argv) == 2
    assert message in _error_line(capsys.readouterr().err)


@pytest.mark.parametrize("argv", [
    ["rule", "no_such_family", "3"], ["rule", "legendre", "three"], ["rule", "legendre", "3", "--dps", "x"],
    ["fit", "--family", "cauchy"], ["fit", "--method", "mcmc"], ["fit", "--nagq", "2.5"],
    ["integrate", "x", "0", "1", "--method", "romberg"], ["integrate", "x", "0", "1", "--rtol", "tiny"],
    ["nonsense"], [],
])
def test_argparse_errors_are_usage_and_one_error_line(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("usage: quadlib")
    assert [line for line in err.splitlines() if "error:" in line] == [err.splitlines()[-1]]


def test_an_internal_error_is_one_line_and_status_70(monkeypatch, capsys):
    """A bug (here an IndexError planted in the rule command) gives no traceback to the user, but a status
    the tests see (not 2), and the traceback on request."""
    def broken(args):
        return [][0]

    monkeypatch.setattr("quadlib._cli._cmd_rule", broken)
    assert main(["rule", "legendre", "3"]) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("quadlib: internal error") and "IndexError" in err
    assert "Traceback" not in err
    monkeypatch.setenv("QUADLIB_TRACEBACK", "1")
    with pytest.raises(IndexError):
        main(["rule", "legendre", "3"])


# ---------------------------------------------------------------------------------------------------------
# --version, and a --help that imports nothing heavy

def test_version(capsys):
    import importlib.metadata

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"quadlib {importlib.metadata.version('quadlib')}"
    assert quadlib.__version__ == importlib.metadata.version("quadlib")
    out = subprocess.run([sys.executable, "-m", "quadlib", "--version"], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == f"quadlib {quadlib.__version__}"


_HEAVY = ("numpy", "scipy", "pandas", "formulae", "mpmath", "quadlib.glmm", "quadlib._gauss")


@pytest.mark.parametrize("code", [
    "import quadlib",
    "import quadlib._cli",
    "from quadlib._cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
    "from quadlib._cli import main\ntry:\n    main(['fit', '--help'])\nexcept SystemExit:\n    pass",
    "from quadlib._cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass",
])
def test_help_and_import_load_no_heavy_module(code):
    """``quadlib --help`` took 2-12 s because everything (scipy, pandas, formulae) was imported first."""
    probe = code + "\nimport sys\nprint(sorted({m.split('.')[0] if not m.startswith('quadlib') else m " \
                   "for m in sys.modules}))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    loaded = out.strip().splitlines()[-1]
    for name in _HEAVY:
        assert f"'{name}'" not in loaded, name


def test_lazy_attributes_of_the_package():
    """PEP 562: every public name still resolves, star-imports, and is listed by dir()."""
    code = ("import sys, quadlib\n"
            "assert 'scipy' not in sys.modules\n"
            "names = {}\n"
            "exec('from quadlib import *', names)\n"
            "missing = [n for n in quadlib.__all__ if n not in names or getattr(quadlib, n) is not names[n]]\n"
            "assert not missing, missing\n"
            "assert set(quadlib.__all__) <= set(dir(quadlib)), set(quadlib.__all__) - set(dir(quadlib))\n"
            "from quadlib import gauss_legendre, IntegrationResult\n"
            "assert quadlib.gauss_legendre is gauss_legendre and quadlib.glmm.fit.__name__ == 'fit'\n"
            "try:\n    quadlib.no_such_name\nexcept AttributeError:\n    pass\nelse:\n    raise SystemExit(1)\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# ---------------------------------------------------------------------------------------------------------
# fit: --method pql, --nagq alone, and the identifier warning

def test_fit_by_pql(capsys):
    """``--method pql`` was refused though fit() has method='pql'; expected: MASS::glmmPQL on cbpp."""
    assert main(["fit", "--method", "pql", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "penalized quasi-likelihood" in out and out.count("Fixed effects") == 1
    table = _fixed_effects(out)
    estimates = [float(row.split()[1]) for row in table[1:]]
    np.testing.assert_allclose(estimates, [-1.3274, -1.0161, -1.1500, -1.6052], atol=1e-4)  # MASS::glmmPQL


def test_fit_a_csv_by_pql(files, capsys):
    assert main(["fit", "y ~ x + (1 | g)", "--data", files["good"], "--family", "poisson", "--method", "pql",
                 "--quiet"]) == 0
    assert "penalized quasi-likelihood" in capsys.readouterr().out


def test_nagq_alone_means_agq(capsys):
    """lme4: nAGQ > 1 is adaptive Gauss-Hermite quadrature (it used to be refused with the Laplace default)."""
    assert main(["fit", "--nagq", "25", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("Fixed effects") == 1 and "nAGQ = 25" in out and "-91.9834" in out


def test_fit_warns_about_an_identifier_column(tmp_path, capsys):
    """A string column with one level per row (numbers with decimal commas) became a factor silently."""
    path = tmp_path / "commas.csv"
    rows = [f'{(i * 3) % 7},"{i // 3},{i % 10}",g{i % 3}' for i in range(12)]
    path.write_text("y,x,g\n" + "\n".join(rows) + "\n")
    main(["fit", "y ~ x + (1 | g)", "--data", str(path), "--family", "poisson", "--quiet"])
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("quadlib: warning:")]
    assert len(warnings) == 1 and "'x'" in warnings[0] and "as many levels as rows (12" in warnings[0]


def test_warn_identifier_factors():
    import pandas as pd

    from quadlib.glmm._design import warn_identifier_factors

    frame = pd.DataFrame({"id": [f"r{i}" for i in range(6)], "group": list("aabbcc"), "num": np.arange(6.0),
                          "cat": pd.Categorical(list("abcdef")), "text": pd.array(list("uvwxyz"), dtype="string"),
                          "gaps": ["p", None, "q", "r", None, "s"]})
    with pytest.warns(UserWarning, match="is a fixed-effect factor with as many levels as rows") as record:
        flagged = warn_identifier_factors(frame, ["id", "group", "num", "cat", "text", "gaps", "not_a_column"])
    assert flagged == ["id", "text", "gaps"]
    assert ["'id'" in str(w.message) for w in record] == [True, False, False] and "(4;" in str(record[2].message)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_identifier_factors(frame, ["group", "num", "cat"]) == []
        assert warn_identifier_factors(frame.iloc[:1], ["id"]) == []   # one row: nothing to compare


# ---------------------------------------------------------------------------------------------------------
# summary tables: wide numbers never touch their neighbours

def _fixed_effects(text):
    lines = text.splitlines()
    start = lines.index("Fixed effects:") + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def _check_table(table, headers):
    """Every row: its name and one field per column, each right-aligned under its header."""
    header = table[0]
    ends = [header.index(h) + len(h) for h in headers]
    assert header.split() == " ".join(headers).split()
    for row in table[1:]:
        fields = row.split()
        assert len(fields) == 1 + len(headers), row
        position, found = len(fields[0]), []
        for field in fields[1:]:
            start = row.index(field, position)
            assert start - position >= 2, row   # two spaces at least between neighbours
            position = start + len(field)
            found.append(position)
        assert found == ends, (row, header)


def test_coefficient_table_of_huge_numbers():
    from quadlib.glmm._summary import format_coef_table

    headers = ["Estimate", "Std. Error", "z value", "Pr(>|z|)"]
    table = format_coef_table(["(Intercept)", "x", "tiny"], [
        ("Estimate", [2640.5514698643551, 1e8, -1e-9], "estimate"),
        ("Std. Error", [1.029, 3.7e-2, 2e-10], "estimate"),
        ("z value", [2566.1, 2.7e9, -5.0], "statistic"), ("Pr(>|z|)", [0.0, 0.0, 5.7e-7], "pvalue")])
    _check_table(table, headers)
    for row in table[1:]:
        assert all(len(cell) < 12 for cell in row.split()), row   # digits, not 16-digit fixed expansions


def _huge_data():
    import pandas as pd

    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(8), 6)
    x = np.tile(np.linspace(-1, 1, 6), 8)
    y = 2640.5514698643551 + 1e8 * x + rng.normal(0, 30, 8)[g] + rng.normal(0, 1, g.size)
    return pd.DataFrame({"y": y, "x": x, "g": [f"s{i}" for i in g]})


def test_summaries_of_huge_estimates_stay_aligned():
    """The table printed `2640.5514698643551029.037626`: a wide number ran into its neighbour."""
    import warnings

    from quadlib.glmm import fit, lmm, pql

    data = _huge_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = {"lmm": lmm("y ~ x + (1 | g)", data), "fit": fit("y ~ x + (1 | g)", data, family="gaussian"),
                   "pql": pql("y ~ x + (1 | g)", data, family="gaussian")}
    for name, res in results.items():
        assert abs(res.params["x"] - 1e8) < 1e3, name
        statistic = "z" if name == "fit" else "t"
        headers = ["Estimate", "Std. Error", f"{statistic} value"] + ([] if name == "lmm" else
                                                                      [f"Pr(>|{statistic}|)"])
        table = _fixed_effects(res.summary())
        assert len(table) == 3, name
        _check_table(table, headers)
