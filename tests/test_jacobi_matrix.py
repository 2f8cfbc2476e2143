"""The shared Jacobi matrices (quadlib._jacobi_matrix) against closed forms, and the layering they fix:
the mpmath twins in quadlib.reference never import the production rules."""
import subprocess
import sys

import mpmath
import pytest

from quadlib._jacobi_matrix import jacobi_matrix, laurie_kronrod_matrix


def test_reference_does_not_import_the_production_rules():
    code = "import sys, quadlib.reference; print('quadlib._gauss' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"


def test_legendre_recurrence_is_the_closed_form():
    with mpmath.workdps(30):
        a, b, mu0 = jacobi_matrix("jacobi", 6, alpha=0, beta=0)
        assert mu0 == 2 and b[0] == 2
        assert all(ak == 0 for ak in a)
        # monic Legendre: b_k = k^2 / (4 k^2 - 1)
        assert all(abs(b[k] - mpmath.mpf(k * k) / (4 * k * k - 1)) < mpmath.mpf(10) ** -28 for k in range(1, 6))


def _eigenvalues(a, b):
    n = len(a)
    J = mpmath.matrix(n, n)
    for i in range(n):
        J[i, i] = a[i]
        if i:
            J[i, i - 1] = J[i - 1, i] = mpmath.sqrt(b[i])
    return sorted(mpmath.eig(J, left=False, right=False))


def _gk_nodes(n):
    """Closed-form nodes of the (2n+1)-point Gauss–Kronrod rules for n = 1, 2 (Kronrod 1964)."""
    sqrt, mpf = mpmath.sqrt, mpmath.mpf
    positive = {1: [sqrt(mpf(3) / 5)],                      # GK3 is the 3-point Gauss rule
                2: [1 / sqrt(mpf(3)), sqrt(mpf(6) / 7)]}[n]
    return sorted([-x for x in positive] + [mpf(0)] + positive)


@pytest.mark.parametrize("n", [1, 2])
def test_kronrod_nodes_are_the_closed_forms(n):
    with mpmath.workdps(40):
        a0, b0, _ = jacobi_matrix("jacobi", -(-3 * n // 2) + 1, alpha=0, beta=0)
        a, b = laurie_kronrod_matrix(a0, b0, n)
        assert len(a) == len(b) == 2 * n + 1
        found = _eigenvalues(a, b)
        assert max(abs(x - y) for x, y in zip(found, _gk_nodes(n))) < mpmath.mpf(10) ** -35


def test_unknown_family_is_a_value_error():
    with pytest.raises(ValueError, match="`family` must be 'jacobi', 'laguerre' or 'hermite'"):
        jacobi_matrix("chebyshev", 3)
