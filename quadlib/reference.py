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
    "gauss_lobatto", "gauss_kronrod", "integrate", "quad_weighted",
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


_WEIGHTS = ("cos", "sin", "cauchy", "alg", "alg-loga", "alg-logb", "alg-log")
MAX_PERIODS = 2_000  # periods of cos/sin(omega x) resolved one by one on a finite range (about a minute)
DECAY_SPAN = 256  # the far end of the decay test of f on [a, inf), in multiples of the near end


def quad_weighted(f, a, b, weight, wvar, *, dps=40, error=False):
    """The weighted integral of :func:`quadlib.quad` (``weight=``, ``wvar=``, scipy's meanings) in mpmath.

    Each weight has its own construction, none of them the double-precision algorithm under test:

    - ``"cos"``, ``"sin"`` on a finite range: tanh-sinh over each period of the oscillation (at most
      `MAX_PERIODS` = 2,000 periods, about a minute, else a ValueError: use a closed form there);
      on [a, inf) (or (-inf, b], reflected): tanh-sinh period by period up to A, then the tail from A by
      repeated integration by parts (an asymptotic series in 1 / (omega A) with mpmath's derivatives of f;
      f must be smooth beyond A and vary on the scale of x: algebraic or faster decay. An f that does not
      decay is a ValueError (the integral diverges): max abs(f) at 5 points of [A', 1.81 A'] must be at least twice
      that at 5 points of [`DECAY_SPAN` A', 1.81 `DECAY_SPAN` A'], ``A' = max(A, 1)``, `DECAY_SPAN` = 256);
    - ``"cauchy"``: the principal value by subtraction of the singularity,
      ``int (f(x) - f(c)) / (x - c) dx + f(c) log((b - c) / (c - a))``, the first integral split at c;
    - ``"alg"``, ``"alg-loga"``, ``"alg-logb"``, ``"alg-log"``: [a, b] split at its midpoint and each end's
      singularity removed by the substitution ``s = (x - a)^(alpha + 1)`` (``(b - x)^(beta + 1)``), under
      which ``(x - a)^alpha dx = ds / (alpha + 1)``: tanh-sinh sees a smooth integrand (a log s at worst).
      Plain mpmath quadrature loses digits at alpha near -1; this does not.

    Parameters
    ----------
    f : callable
        ``f(x)`` on mpmath numbers (use ``mpmath.exp``, not ``numpy.exp``).
    a, b : float or mpmath number
        Limits, ``a < b``; `b` may be ``inf`` (and `a` ``-inf``) for "cos"/"sin" only.
    weight : str
        One of "cos", "sin", "cauchy", "alg", "alg-loga", "alg-logb", "alg-log".
    wvar : float or pair
        omega, the pole c (a < c < b), or (alpha, beta) with alpha, beta > -1. Real numbers: None, a str
        or a bool is a TypeError.
    dps : int
        Decimal digits of the result; the work runs at ``dps + 20``.
    error : bool
        Also return mpmath's error estimate (the sum over the pieces).

    Returns
    -------
    mpmath.mpf (and its error estimate if `error`)

    Examples
    --------
    >>> import mpmath
    >>> from quadlib import reference
    >>> with mpmath.workdps(30):
    ...     value = reference.quad_weighted(lambda x: 1 / (1 + x * x), 0, mpmath.inf, "cos", 1, dps=30)
    ...     bool(abs(value - mpmath.pi / 2 / mpmath.e) < mpmath.mpf(10) ** -28)
    True
    >>> mpmath.nstr(reference.quad_weighted(lambda x: 1, -1, 1, "cauchy", 0.5, dps=30), 25)
    '-1.098612288668109691395245'

    References
    ----------
    R. Piessens et al., "QUADPACK", Springer (1983) (the weights, QAWO/QAWF/QAWC/QAWS).
    mpmath's ``quad`` (tanh-sinh, Takahasi and Mori 1974) and ``diffs``.
    """
    v.callable_(f, "f")
    if not isinstance(weight, str) or weight not in _WEIGHTS:
        raise ValueError(f"`weight` must be one of {', '.join(map(repr, _WEIGHTS))}, got {weight!r}")
    dps = v.positive_int(dps, "dps", maximum=10_000)
    with mpmath.workdps(dps + 20):
        a, b = mpmath.mpf(a), mpmath.mpf(b)
        if mpmath.isnan(a) or mpmath.isnan(b) or not a < b:
            raise ValueError(f"`a` must be less than `b` (both not NaN), got a = {a}, b = {b}")
        if weight in ("cos", "sin"):
            value, err = _oscillatory(f, a, b, weight, _real(wvar, weight))
        elif not (mpmath.isfinite(a) and mpmath.isfinite(b)):
            raise ValueError(f"`a` and `b` must be finite with weight={weight!r}")
        elif weight == "cauchy":
            value, err = _principal_value(f, a, b, _real(wvar, weight))
        else:
            try:
                alpha, beta = (mpmath.mpf(t) for t in wvar)
            except (TypeError, ValueError):
                raise ValueError(f"`wvar` must be a pair (alpha, beta) for weight={weight!r}, got {wvar!r}") from None
            if not (alpha > -1 and beta > -1):
                raise ValueError(f"`wvar` = (alpha, beta) must have alpha > -1 and beta > -1, got {wvar!r}")
            value, err = _algebraic(f, a, b, weight, alpha, beta)
    with mpmath.workdps(dps):
        return (+value, +err) if error else +value


def _real(wvar, weight):
    """`wvar` as an mpf: a real number (not a bool, a str or None; mpmath would read a str)."""
    if isinstance(wvar, (bool, np.bool_, str, bytes)) or wvar is None:
        raise TypeError(f"`wvar` must be a real number with weight={weight!r}, got {wvar!r}")
    try:
        value = mpmath.mpf(wvar)
    except (TypeError, ValueError):
        raise TypeError(f"`wvar` must be a real number with weight={weight!r}, got {wvar!r}") from None
    if not mpmath.isfinite(value):
        raise ValueError(f"`wvar` must be finite, got {wvar!r}")
    return value


def _check_decay(f, top):
    """Refuse an f that does not decay on [top, inf): the integral of f cos or f sin then diverges (it has
    only an Abel or Cesaro sum, which the integration by parts would return as if it were the value)."""
    # irrational steps, so that a periodic factor of f is not sampled at its zeros only
    steps = [1 + mpmath.sqrt(2) * k / 7 for k in range(5)]
    near = max(abs(f(top * s)) for s in steps)
    far = max(abs(f(top * DECAY_SPAN * s)) for s in steps)
    if not far <= near / 2:
        raise ValueError(f"`f` does not decay on [a, inf): max |f| is {mpmath.nstr(near, 5)} on [A, 1.81 A] "
                         f"and {mpmath.nstr(far, 5)} on [{DECAY_SPAN} A, {DECAY_SPAN} * 1.81 A] "
                         f"(A = {mpmath.nstr(top, 5)}); the integral diverges, or converges too slowly for "
                         "this reference")


def _oscillatory(f, a, b, weight, omega):
    if mpmath.isinf(a) and mpmath.isinf(b):
        raise ValueError("`a`, `b`: the oscillatory weights need a finite `a` or a finite `b`")
    trig = mpmath.cos if weight == "cos" else mpmath.sin
    if omega == 0:
        return (mpmath.quad(f, [a, b], error=True) if weight == "cos" else (mpmath.mpf(0), mpmath.mpf(0)))
    if mpmath.isinf(a):  # (-inf, b] onto [-b, inf)
        value, err = _oscillatory(lambda t: f(-t), -b, mpmath.inf, weight, omega)
        return (value if weight == "cos" else -value), err
    if mpmath.isinf(b):
        return _fourier_tail(f, a, weight, omega)
    period = 2 * mpmath.pi / abs(omega)
    pieces = int(mpmath.ceil((b - a) / period))
    if pieces > MAX_PERIODS:
        raise ValueError(f"`wvar`: omega (b - a) / (2 pi) = {pieces} periods exceeds {MAX_PERIODS}; use a closed "
                         "form for such an integral")
    cuts = [a + k * period for k in range(pieces)] + [b]
    return mpmath.quad(lambda x: f(x) * trig(omega * x), cuts, error=True)


def _fourier_tail(f, a, weight, omega):
    """int_a^inf f(x) w(omega x) dx as int_a^A (tanh-sinh, period by period) plus the tail from A by
    repeated integration by parts, int_A^inf f e^{i omega x} dx = -e^{i omega A} sum_k (-1)^k
    f^(k)(A) / (i omega)^(k+1), an asymptotic series whose terms fall like k / (omega A) for an f that varies
    on the scale of x (algebraic decay, or faster); A is chosen with abs(omega) (A - a) >= 2 K for K = dps
    terms. (mpmath.quadosc's extrapolation is a poor reference here: 1e-8 on sin(x) / sqrt(x).)"""
    w = abs(omega)
    terms = mpmath.mp.dps
    period = 2 * mpmath.pi / w
    pieces = int(mpmath.ceil(max(2 * terms / w, 1) / period))
    if pieces > MAX_PERIODS:
        raise ValueError(f"`wvar`: omega = {omega} is too small for the reference on [a, inf)")
    trig = mpmath.cos if weight == "cos" else mpmath.sin
    cuts = [a + k * period for k in range(pieces + 1)]
    head, err = mpmath.quad(lambda x: f(x) * trig(w * x), cuts, error=True)
    top = cuts[-1]
    _check_decay(f, max(top, mpmath.mpf(1)))
    total, last = mpmath.mpc(0), mpmath.mpf(0)
    for k, derivative in enumerate(mpmath.diffs(f, top, terms)):
        last = (-1) ** k * derivative / (1j * w) ** (k + 1)
        total += last
    tail = -mpmath.expj(w * top) * total
    value = head + (tail.real if weight == "cos" else tail.imag)
    if weight == "sin" and omega < 0:
        value = -value
    return value, err + abs(last)


def _principal_value(f, a, b, c):
    if not a < c < b:
        raise ValueError(f"`wvar` (the pole c) must lie strictly between `a` and `b`, got c = {c}")
    fc = f(c)

    def regular_part(x):  # a tanh-sinh node can round onto c: the removable value there is f'(c)
        return (f(x) - fc) / (x - c) if x != c else mpmath.diff(f, c)
    regular, err = mpmath.quad(regular_part, [a, c, b], error=True)
    return regular + fc * mpmath.log((b - c) / (c - a)), err


def _algebraic(f, a, b, weight, alpha, beta):
    log_a, log_b = weight in ("alg-loga", "alg-log"), weight in ("alg-logb", "alg-log")
    mid = (a + b) / 2

    def left(s):  # x - a = s^(1 / (alpha + 1)); (x - a)^alpha dx = ds / (alpha + 1)
        u = s ** (1 / (alpha + 1))
        x = a + u
        g = f(x) * (b - x) ** beta / (alpha + 1)
        if log_a:
            g *= mpmath.log(s) / (alpha + 1)
        if log_b:
            g *= mpmath.log(b - x)
        return g

    def right(s):  # b - x = s^(1 / (beta + 1))
        u = s ** (1 / (beta + 1))
        x = b - u
        g = f(x) * (x - a) ** alpha / (beta + 1)
        if log_b:
            g *= mpmath.log(s) / (beta + 1)
        if log_a:
            g *= mpmath.log(x - a)
        return g

    v1, e1 = mpmath.quad(left, [0, (mid - a) ** (alpha + 1)], error=True)
    v2, e2 = mpmath.quad(right, [0, (b - mid) ** (beta + 1)], error=True)
    return v1 + v2, e1 + e2
