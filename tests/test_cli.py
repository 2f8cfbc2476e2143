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
