"""Arbitrary-precision twins of quadlib's rules and integrals, computed with mpmath.

Every function here works in mpmath at ``dps`` significant digits and returns mpmath numbers, so the
double-precision rules can be checked to the last bit. The algorithms are deliberately the plain ones
(three-term recurrences evaluated in high precision, Newton's method started from numpy's eigenvalues,
Golub's modified Jacobi matrices for Radau and Lobatto rules), not the compiled kernels under test.

Examples
--------
>>> from quadlib import reference
>>> import mpmath
>>> x, w = reference.gauss_legendre(3, dps=30)
>>> print(mpmath.nstr(x[2], 30), mpmath.nstr(w[2], 30))
0.774596669241483377035853079956 0.555555555555555555555555555556

References
----------
G. H. Golub and J. H. Welsch, "Calculation of Gauss quadrature rules", Math. Comp. 23 (1969).
G. H. Golub, "Some modified matrix eigenvalue problems", SIAM Review 15 (1973).
W. Gautschi, "Orthogonal Polynomials: Computation and Approximation", Oxford (2004).
"""
import mpmath
import numpy as np

from . import _validation as v
from ._jacobi_matrix import jacobi_matrix, laurie_kronrod_matrix

__all__ = [
    "jacobi_matrix", "gauss_from_jacobi_matrix", "gauss_legendre", "gauss_chebyshev",
    "gauss_gegenbauer", "gauss_jacobi", "gauss_laguerre", "gauss_hermite", "gauss_radau",
    "gauss_lobatto", "gauss_kronrod", "integrate",
]

_HERMITE_KINDS = ("physicists", "probabilists", "normal")


def _orthonormal_values(a, b, x):
    """p_0(x) .. p_{n-1}(x) orthonormal for the Jacobi matrix (a, b) with b_0 = mu0, and pi_n(x), pi_n'(x)."""
    n = len(a)
    p = [1 / mpmath.sqrt(b[0])]
    prev = mpmath.mpf(0)
    for j in range(n - 1):
        nxt = ((x - a[j]) * p[j] - (mpmath.sqrt(b[j]) * prev if j else 0)) / mpmath.sqrt(b[j + 1])
        prev = p[j]
        p.append(nxt)
    return p


def _monic(a, b, x):
    """pi_n(x) and pi_n'(x) for the monic recurrence."""
    pm, p, dpm, dp = mpmath.mpf(0), mpmath.mpf(1), mpmath.mpf(0), mpmath.mpf(0)
    for j in range(len(a)):
        bj = b[j] if j else 0
        p, pm, dp, dpm = (x - a[j]) * p - bj * pm, p, p + (x - a[j]) * dp - bj * dpm, dp
    return p, dp


def gauss_from_jacobi_matrix(a, b, *, dps=40, indices=None):
    """Nodes and weights of the Gauss rule of the Jacobi matrix ``(a, b)``, ``b[0] = mu0``.

    Nodes are the zeros of the characteristic polynomial, found by Newton's method in mpmath from
    numpy's double-precision eigenvalues; weights are ``mu0 v_0^2`` for the normalized eigenvectors,
    ``1 / sum_j p_j(x)^2``. `indices` restricts the work to some nodes (sorted ascending).
    """
    with mpmath.workdps(dps + 15):
        a = [mpmath.mpf(t) for t in a]
        b = [mpmath.mpf(t) for t in b]
        n = len(a)
        if n == 1:
            guesses = np.array([float(a[0])])
        else:
            off = np.sqrt([float(t) for t in b[1:]])
            matrix = np.diag([float(t) for t in a]) + np.diag(off, 1) + np.diag(off, -1)
            guesses = np.linalg.eigvalsh(matrix)
        indices = range(n) if indices is None else indices
        nodes, weights = [], []
        tol = mpmath.mpf(10) ** (-dps - 5)
        for i in indices:
            x = mpmath.mpf(guesses[i])
            for _ in range(100):
                p, dp = _monic(a, b, x)
                dx = p / dp
                x -= dx
                if abs(dx) <= tol * max(1, abs(x)):
                    break
            else:
                raise ArithmeticError(f"Newton's method did not converge for node {i}")
            nodes.append(x)
            weights.append(1 / mpmath.fsum(t * t for t in _orthonormal_values(a, b, x)))
        if indices is range(n) or list(indices) == list(range(n)):
            gaps = [y - x for x, y in zip(nodes, nodes[1:])]
            if gaps and min(gaps) <= 0:
                raise ArithmeticError("Newton's method converged to a repeated node")
        return [+x for x in nodes], [+w for w in weights]


def _digits(dps):
    return v.positive_int(dps, "dps", minimum=15)


def gauss_jacobi(n, alpha, beta, *, dps=40, indices=None):
    """Gauss–Jacobi nodes and weights for ``(1-x)^alpha (1+x)^beta`` on [-1, 1]."""
    with mpmath.workdps(_digits(dps) + 15):
        a, b, _ = jacobi_matrix("jacobi", n, alpha=alpha, beta=beta)
        return gauss_from_jacobi_matrix(a, b, dps=dps, indices=indices)


def gauss_legendre(n, *, dps=40, indices=None):
    """Gauss–Legendre nodes and weights (weight 1 on [-1, 1])."""
    return gauss_jacobi(n, 0, 0, dps=dps, indices=indices)


def gauss_chebyshev(n, kind=1, *, dps=40, indices=None):
    """Gauss–Chebyshev nodes and weights, by the Jacobi recurrence with alpha = beta = -1/2 or 1/2."""
    half = mpmath.mpf(1) / 2
    return gauss_jacobi(n, -half if kind == 1 else half, -half if kind == 1 else half, dps=dps, indices=indices)


def gauss_gegenbauer(n, lam, *, dps=40, indices=None):
    """Gauss–Gegenbauer nodes and weights for ``(1-x^2)^(lam-1/2)``."""
    with mpmath.workdps(_digits(dps) + 15):
        al = mpmath.mpf(lam) - mpmath.mpf(1) / 2
        return gauss_jacobi(n, al, al, dps=dps, indices=indices)


def gauss_laguerre(n, alpha=0.0, *, dps=40, indices=None):
    """Gauss–Laguerre nodes and weights for ``x^alpha e^-x`` on (0, inf)."""
    with mpmath.workdps(_digits(dps) + 15):
        a, b, _ = jacobi_matrix("laguerre", n, alpha=alpha)
        return gauss_from_jacobi_matrix(a, b, dps=dps, indices=indices)


def gauss_hermite(n, kind="physicists", *, dps=40, indices=None):
    """Gauss–Hermite nodes and weights; `kind` as in :func:`quadlib.gauss_hermite`."""
    v.choice(kind, _HERMITE_KINDS, "kind")
    with mpmath.workdps(_digits(dps) + 15):
        a, b, _ = jacobi_matrix("hermite", n, kind=kind)
        return gauss_from_jacobi_matrix(a, b, dps=dps, indices=indices)


def gauss_radau(n, alpha=0.0, beta=0.0, endpoint=-1, *, dps=40, indices=None):
    """Gauss–Radau rule with a node at `endpoint`, from Golub's modified Jacobi matrix: the last
    diagonal entry is changed so that the endpoint becomes a zero of the characteristic polynomial."""
    with mpmath.workdps(_digits(dps) + 15):
        a, b, _ = jacobi_matrix("jacobi", n, alpha=alpha, beta=beta)
        z = mpmath.mpf(endpoint)
        if n > 1:
            p_prev, _ = _monic(a[:n - 2], b[:n - 2], z)  # pi_{n-2}(z)
            p_last, _ = _monic(a[:n - 1], b[:n - 1], z)  # pi_{n-1}(z)
            a[n - 1] = z - b[n - 1] * p_prev / p_last
        else:
            a[0] = z
        return gauss_from_jacobi_matrix(a, b, dps=dps, indices=indices)


def gauss_lobatto(n, alpha=0.0, beta=0.0, *, dps=40, indices=None):
    """Gauss–Lobatto rule with nodes at -1 and 1, from Golub's modified Jacobi matrix: the last diagonal
    and off-diagonal entries are chosen so that pi_n(-1) = pi_n(1) = 0."""
    if n < 2:
        raise ValueError(f"`n` must be an integer >= 2, got {n}")
    with mpmath.workdps(_digits(dps) + 15):
        a, b, _ = jacobi_matrix("jacobi", n, alpha=alpha, beta=beta)
        # pi_n(x) = (x - A) pi_{n-1}(x) - B pi_{n-2}(x) = 0 at x = -1 and x = 1: two linear equations.
        vals = {}
        for z in (-1, 1):
            z = mpmath.mpf(z)
            vals[z] = (_monic(a[:n - 1], b[:n - 1], z)[0], _monic(a[:n - 2], b[:n - 2], z)[0])
        (p1m, p2m), (p1p, p2p) = vals[mpmath.mpf(-1)], vals[mpmath.mpf(1)]
        A, B = mpmath.lu_solve(mpmath.matrix([[p1m, p2m], [p1p, p2p]]), mpmath.matrix([-p1m, p1p]))
        a[n - 1], b[n - 1] = A, B
        return gauss_from_jacobi_matrix(a, b, dps=dps, indices=indices)


def gauss_kronrod(n, *, dps=40):
    """The (2n+1)-point Gauss–Kronrod extension of n-point Gauss–Legendre, from Laurie's Jacobi–Kronrod matrix."""
    with mpmath.workdps(_digits(dps) + 15):
        m = (3 * n + 1) // 2 + 1
        a, b, _ = jacobi_matrix("jacobi", m + 1, alpha=0, beta=0)
        ka, kb = laurie_kronrod_matrix(a, b, n)
        return gauss_from_jacobi_matrix(ka, kb, dps=dps)


def integrate(f, a, b, *, points=(), dps=40, error=False):
    """``integral_a^b f(x) dx`` by mpmath's tanh-sinh quadrature, split at the breakpoints `points`.

    `f` receives and returns mpmath numbers. Returns an mpf (and mpmath's error estimate if `error`).
    """
    v.callable_(f, "f")
    with mpmath.workdps(_digits(dps) + 10):
        cuts = [mpmath.mpf(a)] + sorted(mpmath.mpf(p) for p in points) + [mpmath.mpf(b)]
        value, err = mpmath.quad(f, cuts, error=True, maxdegree=10)
    return (+value, err) if error else +value
