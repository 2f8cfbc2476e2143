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
