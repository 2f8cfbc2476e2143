"""Gauss rules: the classical families, Radau, Lobatto, Kronrod, and rules for arbitrary weights.

Every rule comes from a three-term recurrence: numpy/LAPACK eigenvalues of the Jacobi matrix give
starting values, and the compiled kernel refines each zero by Newton's method in double-double
arithmetic and forms its weight from the Christoffel sum. Both are then correct to a fraction of an ulp
(measured against mpmath in tests/test_gauss.py), where plain Golub–Welsch loses O(n) ulps.

That costs O(n^2). From n = 100 on (the crossover measured in ``quadlib._gauss_lj``), Gauss–Legendre,
Gauss–Jacobi (|alpha|, |beta| <= 5) and the Jacobi-weight Gauss–Radau and Gauss–Lobatto rules come instead
from asymptotic expansions in O(n) (Bogaert 2014 for Legendre, Hale & Townsend 2013 for Jacobi), as
accurate (an ulp or so; tests/test_gauss_large_lj.py) and up to n = 10^7. Those rules are not memoized:
their arrays can be large, and computing them again costs less than a millisecond per 10^4 nodes.

References
----------
G. H. Golub and J. H. Welsch, "Calculation of Gauss quadrature rules", Math. Comp. 23 (1969).
W. Gautschi, "Orthogonal Polynomials: Computation and Approximation", Oxford (2004).
D. P. Laurie, "Calculation of Gauss–Kronrod quadrature rules", Math. Comp. 66 (1997).
I. Bogaert, "Iteration-free computation of Gauss–Legendre quadrature nodes and weights", SIAM J. Sci.
Comput. 36(3) (2014).
N. Hale and A. Townsend, "Fast and accurate computation of Gauss–Legendre and Gauss–Jacobi quadrature nodes
and weights", SIAM J. Sci. Comput. 35(2) (2013).
"""
import contextlib
import functools
import math
import warnings

import mpmath
import numpy as np
from scipy.linalg import eigh_tridiagonal

from . import _gauss_hl
from . import _gauss_lj
from . import _validation as v
from ._extensions import _orthopoly
from ._jacobi_matrix import jacobi_matrix, laurie_kronrod_matrix
from ._result import IntegrationWarning
from ._rule import Rule

__all__ = [
    "gauss_legendre", "gauss_chebyshev", "gauss_gegenbauer", "gauss_jacobi", "gauss_laguerre",
    "gauss_hermite", "gauss_radau", "gauss_lobatto", "gauss_kronrod", "gauss_from_recurrence",
    "gauss_from_moments", "gauss_from_weight",
]

_HERMITE = {  # kind -> (b_j / j, mu0 in mpmath, weight in words)
    "physicists": (0.5, lambda: mpmath.sqrt(mpmath.pi), "exp(-x^2)"),
    "probabilists": (1.0, lambda: mpmath.sqrt(2 * mpmath.pi), "exp(-x^2/2)"),
    "normal": (1.0, lambda: mpmath.mpf(1), "exp(-x^2/2)/sqrt(2*pi)"),
}
_MP_DIGITS = 40

# Sizes. Every constructor checks its `n` against these before it allocates or iterates.
# The O(n) algorithms (Legendre; Jacobi, Gegenbauer, Chebyshev, Radau and Lobatto with |alpha|, |beta| <= 5;
# Hermite; Laguerre): 10^7 nodes take a few seconds and a quarter of a gigabyte.
MAX_NODES = 10 ** 7
# Where only the O(n^2) recurrence applies (Jacobi-family rules with |alpha| or |beta| > 5,
# gauss_from_recurrence, gauss_from_moments): about a second at this size.
MAX_RECURRENCE_NODES = 3000
# Laurie's algorithm runs in 40-digit mpmath, O(n^2): half a second at n = 400.
MAX_KRONROD_N = 400
# gauss_from_weight: the Stieltjes procedure costs O(n * points) per doubling of the discretization.
MAX_WEIGHT_NODES = 1000
MAX_WEIGHT_POINTS = 2 ** 20
# A weight's total mass must be below 2^1020 (~1.1e307): then every Gauss weight, and every weight of the
# rules for (1 -+ x) w(x) that Radau and Lobatto rules are built from, is a double.
_MAX_LOG_MASS = 1020 * math.log(2)
# Exponents are checked against mpmath up to here (the recurrence's coefficients would overflow near 1e77).
JACOBI_MAX_EXPONENT = 1e30
_JACOBI_RANGE = ("-1 < alpha, beta <= 1e30 with the weight's total mass 2^(alpha+beta+1) B(alpha+1, beta+1) "
                 f"below 2^1020 and n <= {MAX_NODES} (n <= {MAX_RECURRENCE_NODES} if |alpha| or |beta| > 5)")


# ---------------------------------------------------------------- core: recurrence -> rule

class _Unsupported(ArithmeticError):
    """The algorithms cannot deliver this rule in double precision (internal: the public constructors
    turn it, and the ArithmeticErrors of ``_gauss_lj`` and ``_gauss_hl``, into a ValueError that names
    the parameters and the supported range)."""


@contextlib.contextmanager
def _supported(call, supported):
    """Report a rule that cannot be computed as a ValueError naming the call and the supported range."""
    try:
        yield
    except ArithmeticError as exc:
        raise ValueError(f"{call}: {exc}; supported are {supported}") from None


def _checked(x, w, logw):
    """Refuse non-finite nodes or weights: NaN is never returned, and a weight beyond the double range
    (inf) would make every integral inf or NaN."""
    if not (np.all(np.isfinite(x)) and not np.any(np.isnan(w)) and not np.any(np.isnan(logw))):
        raise _Unsupported("some nodes or weights came out NaN")
    if np.any(np.isinf(w)):
        raise _Unsupported(f"the weights exceed the double range (largest log-weight "
                           f"{float(np.max(logw)):.6g} > log(DBL_MAX) = 709.78)")
    return x, w, logw


def _split(x):
    """An mpmath number as a double-double pair (hi, lo)."""
    hi = float(x)
    return hi, float(x - hi)


def _split_scaled(x):
    """A positive mpmath number as (hi, lo, e) with hi + lo in [1/2, 1) and x = (hi + lo) 2^e.

    The kernels take the total mass of a weight in this form: for extreme parameters it can lie
    beyond the double range although most weights do not.
    """
    mantissa, exponent = mpmath.frexp(x)
    return (*_split(mantissa), int(exponent))


def _scaled_float(mu0):
    """A positive float mass in the kernels' (hi, lo, e) form."""
    mantissa, exponent = np.frexp(mu0)
    return float(mantissa), 0.0, int(exponent)


def _eigenvalue_guesses(a_hi, b_hi):
    if a_hi.size == 1:
        return a_hi.copy()
    return eigh_tridiagonal(a_hi, np.sqrt(b_hi[1:]), eigvals_only=True)


def _rule_from_recurrence(coef, mu0, *, symmetric=False):
    """Zeros of pi_n and Gauss weights for monic recurrence `coef` = (a_hi, a_lo, b_hi, b_lo).

    Returns x_hi, x_lo, w, logw (nodes ascending). For a symmetric weight only the positive zeros are
    refined and mirrored, which also makes the rule exactly symmetric.
    """
    a_hi, a_lo, b_hi, b_lo = (np.ascontiguousarray(c, dtype=np.float64) for c in coef)
    n = a_hi.size
    guesses = _eigenvalue_guesses(a_hi, b_hi)
    if symmetric:
        guesses = np.abs(guesses[n - n // 2:])
    m = guesses.size
    x_hi, x_lo, w, logw = (np.empty(m) for _ in range(4))
    failed = _orthopoly.refine_zeros(a_hi, a_lo, b_hi, b_lo, guesses, *mu0, x_hi, x_lo, w, logw)
    if failed:
        raise _Unsupported(f"Newton's method did not settle for {failed} of the {n} nodes")
    if symmetric:
        zero = np.zeros(n % 2)
        if n % 2:
            w0, logw0 = np.empty(1), np.empty(1)
            _orthopoly.christoffel(a_hi, a_lo, b_hi, b_lo, n, zero, zero, *mu0, w0, logw0)
        else:
            w0 = logw0 = zero
        x_hi = np.concatenate([-x_hi[::-1], zero, x_hi])
        x_lo = np.concatenate([-x_lo[::-1], zero, x_lo])
        w = np.concatenate([w[::-1], w0, w])
        logw = np.concatenate([logw[::-1], logw0, logw])
    if n > 1 and not np.all(np.diff(x_hi) > 0):
        raise _Unsupported("the nodes did not come out distinct in double precision")
    return x_hi, x_lo, w, logw


def _christoffel(coef, terms, x_hi, x_lo, mu0):
    w, logw = np.empty(x_hi.size), np.empty(x_hi.size)
    _orthopoly.christoffel(*coef, terms, np.ascontiguousarray(x_hi), np.ascontiguousarray(x_lo), *mu0, w, logw)
    return w, logw


@functools.lru_cache(maxsize=256)
def _jacobi_mu0(alpha, beta):
    with mpmath.workdps(_MP_DIGITS):
        a, b = mpmath.mpf(alpha), mpmath.mpf(beta)
        return _split_scaled(2 ** (a + b + 1) * mpmath.beta(a + 1, b + 1))


@functools.lru_cache(maxsize=256)
def _jacobi(n, alpha, beta):
    return _rule_from_recurrence(_orthopoly.jacobi_recurrence(n, alpha, beta), _jacobi_mu0(alpha, beta),
                                 symmetric=alpha == beta)


def _asymptotic(n, alpha, beta):
    """True where the O(n) algorithms of ``_gauss_lj`` take over from the recurrence (not memoized there)."""
    if alpha == 0 and beta == 0:
        return n >= _gauss_lj.LEGENDRE_CROSSOVER
    return n >= _gauss_lj.JACOBI_CROSSOVER and max(abs(alpha), abs(beta)) <= _gauss_lj.JACOBI_PARAMETER_LIMIT


def _recurrence_size(n, name="n"):
    """The O(n^2) recurrence's bound on the number of nodes."""
    if n > MAX_RECURRENCE_NODES:
        raise ValueError(f"`{name}` must be at most {MAX_RECURRENCE_NODES} when |alpha| or |beta| > "
                         f"{_gauss_lj.JACOBI_PARAMETER_LIMIT:g} (only the O(n^2) recurrence applies there), got {n}")


def _gauss_jacobi_rule(n, alpha, beta):
    """Nodes, weights and log-weights of the n-point Gauss–Jacobi rule, by whichever algorithm is cheaper."""
    if _asymptotic(n, alpha, beta):
        if alpha == 0 and beta == 0:
            return _checked(*_gauss_lj.legendre_large(n))
        return _checked(*_gauss_lj.jacobi_large(n, alpha, beta))
    _recurrence_size(n)
    x, _, w, logw = _jacobi(n, alpha, beta)
    return _checked(x, w, logw)


def _make(x, w, logw, *, domain, weight_function, degree, family, **kw):
    return Rule(nodes=x, weights=w, log_weights=logw, domain=domain, weight_function=weight_function,
                degree=degree, family=family, **kw)


# ---------------------------------------------------------------- classical families

def _jacobi_mass_iv(alpha, beta, names="`alpha` and `beta`"):
    """Refuse exponents whose weight has a total mass beyond 2^1020: its Gauss weights are not all doubles."""
    if max(alpha, beta) > JACOBI_MAX_EXPONENT:
        raise ValueError(f"{names} = {alpha!r}, {beta!r} are outside the supported range: each must be at most "
                         f"{JACOBI_MAX_EXPONENT:g}")
    log_mass = ((alpha + beta + 1.0) * math.log(2.0) + math.lgamma(alpha + 1.0) + math.lgamma(beta + 1.0)
                - math.lgamma(alpha + beta + 2.0))
    if log_mass > _MAX_LOG_MASS:
        raise ValueError(f"{names} = {alpha!r}, {beta!r} are outside the supported range: the weight's total mass "
                         f"2^(alpha+beta+1) B(alpha+1, beta+1) = e^{log_mass:.1f} must be below 2^1020 = e^707.0 "
                         "for the Gauss weights to be doubles")


def _jacobi_iv(n, alpha, beta):
    n = v.positive_int(n, "n", maximum=MAX_NODES)
    alpha = v.greater_than(alpha, -1.0, "alpha")
    beta = v.greater_than(beta, -1.0, "beta")
    _jacobi_mass_iv(alpha, beta)
    return n, alpha, beta


def gauss_jacobi(n, alpha, beta):
    """Gauss–Jacobi rule for ``integral_{-1}^{1} f(x) (1-x)^alpha (1+x)^beta dx``.

    Parameters
    ----------
    n : int
        Number of nodes, ``1 <= n <= MAX_NODES`` (10^7); at most ``MAX_RECURRENCE_NODES`` (3000) when
        ``|alpha|`` or ``|beta|`` exceeds 5, where only the O(n^2) recurrence applies.
    alpha, beta : float
        Exponents of the weight, ``-1 < alpha, beta <= JACOBI_MAX_EXPONENT`` (1e30), with a total mass
        ``2^(alpha+beta+1) B(alpha+1, beta+1)`` below 2^1020 (about 1e307; e.g. ``alpha <= 1029`` for
        ``beta = 0``; any ``alpha = beta``), so that every weight is a double.

    Returns
    -------
    Rule
        Exact for polynomials of degree ``2n - 1``.

    Raises
    ------
    ValueError
        For parameters outside these ranges, or if the rule cannot be computed in double precision
        for them (never NaN or infinite nodes or weights).

    Examples
    --------
    >>> import quadlib
    >>> rule = quadlib.gauss_jacobi(4, 0.5, -0.5)
    >>> round(float(rule.weights.sum()), 14)  # integral of sqrt((1-x)/(1+x)) over [-1, 1] = pi
    3.14159265358979

    References
    ----------
    G. H. Golub and J. H. Welsch, Math. Comp. 23 (1969); W. Gautschi, "Orthogonal Polynomials" (2004).
    From n = 100 (``|alpha|, |beta| <= 5``): N. Hale and A. Townsend, SIAM J. Sci. Comput. 35(2) (2013).
    """
    n, alpha, beta = _jacobi_iv(n, alpha, beta)
    with _supported(f"gauss_jacobi({n}, {alpha!r}, {beta!r})", _JACOBI_RANGE):
        x, w, logw = _gauss_jacobi_rule(n, alpha, beta)
    return _make(x, w, logw, domain=(-1, 1), weight_function=f"(1-x)^{alpha:g} (1+x)^{beta:g}",
                 degree=2 * n - 1, family=f"gauss_jacobi({n}, {alpha:g}, {beta:g})")


def gauss_legendre(n):
    """Gauss–Legendre rule for ``integral_{-1}^{1} f(x) dx``, exact to degree ``2n - 1``.

    Parameters
    ----------
    n : int
        Number of nodes, ``1 <= n <= MAX_NODES`` (10^7).

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> rule = quadlib.gauss_legendre(3)
    >>> rule.nodes
    array([-0.77459667,  0.        ,  0.77459667])
    >>> round(float(rule.integrate(np.cos, 0.0, np.pi / 2)), 5)  # = 1, with 3 nodes
    1.00001

    References
    ----------
    G. H. Golub and J. H. Welsch, "Calculation of Gauss quadrature rules", Math. Comp. 23 (1969).
    From n = 100: I. Bogaert, "Iteration-free computation of Gauss–Legendre quadrature nodes and weights",
    SIAM J. Sci. Comput. 36(3) (2014).
    """
    n = v.positive_int(n, "n", maximum=MAX_NODES)
    with _supported(f"gauss_legendre({n})", f"1 <= n <= {MAX_NODES}"):
        x, w, logw = _gauss_jacobi_rule(n, 0.0, 0.0)
    return _make(x, w, logw, domain=(-1, 1), weight_function="1", degree=2 * n - 1,
                 family=f"gauss_legendre({n})")


def gauss_chebyshev(n, kind=1):
    """Gauss–Chebyshev rule: weight ``1/sqrt(1-x^2)`` (``kind=1``) or ``sqrt(1-x^2)`` (``kind=2``).

    Parameters
    ----------
    n : int
        Number of nodes, ``1 <= n <= MAX_NODES`` (10^7).
    kind : {1, 2}
        First or second kind.

    Examples
    --------
    >>> import quadlib
    >>> quadlib.gauss_chebyshev(2).nodes  # +-cos(pi/4)
    array([-0.70710678,  0.70710678])
    """
    n = v.positive_int(n, "n", maximum=MAX_NODES)
    if isinstance(kind, (bool, np.bool_)):
        raise TypeError(f"`kind` must be 1 or 2, got {kind!r}")
    v.choice(kind, (1, 2), "kind")
    half = -0.5 if kind == 1 else 0.5
    with _supported(f"gauss_chebyshev({n}, kind={kind})", f"1 <= n <= {MAX_NODES}"):
        x, w, logw = _gauss_jacobi_rule(n, half, half)
    words = "1/sqrt(1-x^2)" if kind == 1 else "sqrt(1-x^2)"
    return _make(x, w, logw, domain=(-1, 1), weight_function=words, degree=2 * n - 1,
                 family=f"gauss_chebyshev({n}, kind={kind})")


def gauss_gegenbauer(n, lam):
    """Gauss–Gegenbauer (ultraspherical) rule for the weight ``(1-x^2)^(lam - 1/2)``, ``lam > -1/2``.

    The Gauss–Jacobi rule with ``alpha = beta = lam - 1/2``, with the same ranges.

    Parameters
    ----------
    n : int
        Number of nodes, ``1 <= n <= MAX_NODES`` (10^7); at most ``MAX_RECURRENCE_NODES`` (3000) when
        ``|lam - 1/2| > 5``.
    lam : float
        ``lam > -1/2``.

    Examples
    --------
    >>> import quadlib
    >>> round(float(quadlib.gauss_gegenbauer(3, 1.0).weights.sum()), 15)  # integral of sqrt(1-x^2) = pi/2
    1.570796326794897
    """
    n = v.positive_int(n, "n", maximum=MAX_NODES)
    lam = v.greater_than(lam, -0.5, "lam")
    alpha = lam - 0.5
    if lam - alpha != 0.5:  # lam - 1/2 must be exact to define the weight exactly
        raise ValueError(f"`lam` - 1/2 is not exactly representable for lam={lam!r}")
    _jacobi_mass_iv(alpha, alpha, names="`lam` - 1/2 (alpha = beta)")
    supported = _JACOBI_RANGE.replace("alpha, beta", "alpha = beta = lam - 1/2")
    with _supported(f"gauss_gegenbauer({n}, {lam!r})", supported):
        x, w, logw = _gauss_jacobi_rule(n, alpha, alpha)
    return _make(x, w, logw, domain=(-1, 1), weight_function=f"(1-x^2)^{alpha:g}", degree=2 * n - 1,
                 family=f"gauss_gegenbauer({n}, {lam:g})")


# Above these sizes the O(n) ODE stepping of _gauss_hl is faster than the O(n^2) recurrence (measured:
# asv_bench/gauss_large_report_hl.py: Hermite from n ~ 10-20, Laguerre from n ~ 45; the margins keep
# the cached small rules the GLMM layer reuses) and as accurate (both round the exact values: they agree
# to an ulp, tests/test_gauss_large_hl.py). Rules above them are not cached: cheap to make, can be big.
HERMITE_CROSSOVER = 40
LAGUERRE_CROSSOVER = 60
# The largest alpha with Gamma(alpha + 1) below 2^1020 (see _MAX_LOG_MASS), rounded down.
LAGUERRE_MAX_ALPHA = 170.08


@functools.lru_cache(maxsize=128)
def _laguerre(n, alpha):
    with mpmath.workdps(_MP_DIGITS):
        mu0 = _split_scaled(mpmath.gamma(mpmath.mpf(alpha) + 1))
    return _rule_from_recurrence(_orthopoly.laguerre_recurrence(n, alpha), mu0)


def gauss_laguerre(n, alpha=0.0):
    """Generalized Gauss–Laguerre rule for ``integral_0^inf f(x) x^alpha e^{-x} dx``, ``alpha > -1``.

    For large `n` the last weights underflow; ``rule.log_weights`` keeps them. Above
    ``LAGUERRE_CROSSOVER`` nodes the rule comes from O(n) ODE stepping (``quadlib._gauss_hl``), which
    makes rules of millions of nodes in a fraction of a second, to the same accuracy.

    Parameters
    ----------
    n : int
        Number of nodes, ``1 <= n <= MAX_NODES`` (10^7).
    alpha : float
        Exponent of the weight, ``-1 < alpha <= LAGUERRE_MAX_ALPHA`` (170.08): the total mass
        ``Gamma(alpha + 1)`` must be below 2^1020 for the weights to be doubles. For a larger power,
        integrate against the weight divided by a constant.

    Examples
    --------
    >>> import quadlib
    >>> rule = quadlib.gauss_laguerre(5)
    >>> round(float(rule.integrate(lambda x: x**3)), 12)  # Gamma(4) = 6
    6.0

    References
    ----------
    G. H. Golub and J. H. Welsch, Math. Comp. 23 (1969); A. Glaser, X. Liu and V. Rokhlin, "A fast
    algorithm for the calculation of the roots of special functions", SIAM J. Sci. Comput. 29 (2007).
    """
    n = v.positive_int(n, "n", maximum=MAX_NODES)
    alpha = v.greater_than(alpha, -1.0, "alpha")
    if alpha > LAGUERRE_MAX_ALPHA:
        raise ValueError(f"`alpha` must be at most {LAGUERRE_MAX_ALPHA} (the weight's total mass Gamma(alpha + 1) "
                         f"must be below 2^1020 for the Gauss weights to be doubles), got {alpha!r}")
    supported = f"1 <= n <= {MAX_NODES}, -1 < alpha <= {LAGUERRE_MAX_ALPHA}"
    with _supported(f"gauss_laguerre({n}, {alpha!r})", supported):
        if n > LAGUERRE_CROSSOVER:
            x, w, logw = _checked(*_gauss_hl.laguerre_large(n, alpha))
        else:
            x, _, w, logw = _laguerre(n, alpha)
            _checked(x, w, logw)
    return _make(x, w, logw, domain=(0, np.inf), weight_function=f"x^{alpha:g} exp(-x)", degree=2 * n - 1,
                 family=f"gauss_laguerre({n}, {alpha:g})")


@functools.lru_cache(maxsize=128)
def _hermite(n, kind):
    scale, mu0, _ = _HERMITE[kind]
    with mpmath.workdps(_MP_DIGITS):
        mu0 = _split_scaled(mu0())
    return _rule_from_recurrence(_orthopoly.hermite_recurrence(n, scale), mu0, symmetric=True)


def gauss_hermite(n, kind="physicists"):
    """Gauss–Hermite rule on the real line.

    Parameters
    ----------
    n : int
        Number of nodes, ``1 <= n <= MAX_NODES`` (10^7).
    kind : {"physicists", "probabilists", "normal"}
        Weight ``e^{-x^2}``, ``e^{-x^2/2}``, or the N(0, 1) density (weights sum to 1; the rule the
        GLMM layer uses).

    Notes
    -----
    Above ``HERMITE_CROSSOVER`` nodes the rule comes from O(n) ODE stepping (``quadlib._gauss_hl``);
    the probabilists' and normal rules are the physicists' nodes times sqrt(2) and weights times
    sqrt(2) resp. 1/sqrt(pi), with ``log_weights`` shifted by the logarithms, scaled in double-double
    before rounding.

    Examples
    --------
    >>> import quadlib
    >>> rule = quadlib.gauss_hermite(10, kind="normal")
    >>> round(float(rule.integrate(lambda x: x**4)), 12)  # E[Z^4] = 3
    3.0

    References
    ----------
    G. H. Golub and J. H. Welsch, Math. Comp. 23 (1969); A. Glaser, X. Liu and V. Rokhlin, SIAM J.
    Sci. Comput. 29 (2007); A. Townsend, T. Trogdon and S. Olver, "Fast computation of Gauss quadrature
    nodes and weights on the whole real line", IMA J. Numer. Anal. 36 (2016).
    """
    n = v.positive_int(n, "n", maximum=MAX_NODES)
    v.choice(kind, tuple(_HERMITE), "kind")
    with _supported(f"gauss_hermite({n}, kind={kind!r})", f"1 <= n <= {MAX_NODES}"):
        if n > HERMITE_CROSSOVER:
            x, w, logw = _checked(*_gauss_hl.hermite_large(n, kind))
        else:
            x, _, w, logw = _hermite(n, kind)
            _checked(x, w, logw)
    return _make(x, w, logw, domain=(-np.inf, np.inf), weight_function=_HERMITE[kind][2], degree=2 * n - 1,
                 family=f"gauss_hermite({n}, kind={kind!r})")


# ---------------------------------------------------------------- fixed endpoints

def gauss_radau(n, alpha=0.0, beta=0.0, endpoint=-1):
    """Gauss–Radau rule with `n` nodes, one of them fixed at `endpoint` (-1 or 1), for the Jacobi weight.

    The free nodes are the zeros of the Jacobi polynomial of degree ``n - 1`` for the weight multiplied
    by ``1 + x`` (or ``1 - x``); the weights are the Christoffel numbers of the original weight.
    Exact to degree ``2n - 2``.

    Parameters
    ----------
    n : int
        Number of nodes, as for :func:`gauss_jacobi`: ``1 <= n <= MAX_NODES`` (10^7), at most
        ``MAX_RECURRENCE_NODES`` (3000) when ``|alpha|`` or ``|beta|`` exceeds 5.
    alpha, beta : float
        Exponents of the weight ``(1-x)^alpha (1+x)^beta``, in the range of :func:`gauss_jacobi`.
    endpoint : {-1, 1}
        The fixed node.

    Examples
    --------
    >>> import quadlib
    >>> rule = quadlib.gauss_radau(2)
    >>> rule.nodes, rule.weights
    (array([-1.        ,  0.33333333]), array([0.5, 1.5]))

    References
    ----------
    W. Gautschi, "Gauss–Radau formulae for Jacobi and Laguerre weight functions", Math. Comput.
    Simulation 54 (2000).
    """
    n, alpha, beta = _jacobi_iv(n, alpha, beta)
    if isinstance(endpoint, (bool, np.bool_)):
        raise TypeError(f"`endpoint` must be -1 or 1, got {endpoint!r}")
    v.choice(endpoint, (-1, 1), "endpoint")
    endpoint = int(endpoint)
    with _supported(f"gauss_radau({n}, {alpha!r}, {beta!r}, endpoint={endpoint})", _JACOBI_RANGE):
        x, w, logw = _checked(*_radau(n, alpha, beta, endpoint))
    return _make(x, w, logw, domain=(-1, 1), weight_function=f"(1-x)^{alpha:g} (1+x)^{beta:g}",
                 degree=2 * n - 2, family=f"gauss_radau({n}, {alpha:g}, {beta:g}, endpoint={endpoint})")


def _radau(n, alpha, beta, endpoint):
    if n - 1 >= _gauss_lj.JACOBI_CROSSOVER and max(abs(alpha), abs(beta)) <= _gauss_lj.JACOBI_PARAMETER_LIMIT:
        return _radau_large(n, alpha, beta, endpoint)
    _recurrence_size(n)
    if n == 1:
        x_hi = x_lo = np.zeros(0)
    elif endpoint == -1:
        x_hi, x_lo = _jacobi(n - 1, alpha, beta + 1.0)[:2]
    else:
        x_hi, x_lo = _jacobi(n - 1, alpha + 1.0, beta)[:2]
    if endpoint == -1:
        x_hi, x_lo = np.r_[-1.0, x_hi], np.r_[0.0, x_lo]
    else:
        x_hi, x_lo = np.r_[x_hi, 1.0], np.r_[x_lo, 0.0]
    w, logw = _christoffel(_orthopoly.jacobi_recurrence(n, alpha, beta), n, x_hi, x_lo, _jacobi_mu0(alpha, beta))
    return x_hi, w, logw


def _radau_end_weight(n, alpha, beta):
    """Weight at x = -1 of the n-point Gauss–Radau rule for (1-x)^alpha (1+x)^beta (closed form), and its log."""
    with mpmath.workdps(_MP_DIGITS):
        a, b = mpmath.mpf(alpha), mpmath.mpf(beta)
        lg = mpmath.loggamma
        log_w = ((a + b + 1) * mpmath.log(2) + lg(b + 1) + lg(b + 2) + lg(n) + lg(n + a) - lg(n + b + 1)
                 - lg(n + a + b + 1))
        return float(mpmath.exp(log_w)), float(log_w)


def _radau_large(n, alpha, beta, endpoint):
    """The O(n) path: the free nodes are the zeros of P_{n-1}^(alpha, beta+1) (endpoint -1) with the Gauss
    weights of that weight divided by 1 + x, i.e. the Jacobi rule with a shifted parameter and a shifted
    envelope (exact: f(x) = f(-1) + (1+x) g(x) with g of degree 2n-3); the end weight in closed form."""
    if endpoint == -1:
        x, w, logw = _gauss_lj.jacobi_large(n - 1, alpha, beta, shift=(0, 1))
        end, log_end = _radau_end_weight(n, alpha, beta)
        return np.r_[-1.0, x], np.r_[end, w], np.r_[log_end, logw]
    x, w, logw = _gauss_lj.jacobi_large(n - 1, alpha, beta, shift=(1, 0))
    end, log_end = _radau_end_weight(n, beta, alpha)
    return np.r_[x, 1.0], np.r_[w, end], np.r_[logw, log_end]


def _lobatto_end_weight(m, alpha, beta):
    """Weight at x = -1 of the (m+2)-point Gauss–Lobatto rule for (1-x)^alpha (1+x)^beta (closed form),
    and its log."""
    with mpmath.workdps(_MP_DIGITS):
        a, b = mpmath.mpf(alpha), mpmath.mpf(beta)
        lg = mpmath.loggamma
        log_w = ((a + b + 1) * mpmath.log(2) + lg(b + 1) + lg(b + 2) + lg(m + 1) + lg(m + a + 2)
                 - lg(m + a + b + 3) - lg(m + b + 2))
        return float(mpmath.exp(log_w)), float(log_w)


def gauss_lobatto(n, alpha=0.0, beta=0.0):
    """Gauss–Lobatto rule with `n` >= 2 nodes including both ends of [-1, 1], for the Jacobi weight.

    The interior nodes are the zeros of the Jacobi polynomial of degree ``n - 2`` for the weight times
    ``1 - x^2``, and their weights are that rule's weights divided by ``1 - x^2``; the end weights have
    closed forms. Exact to degree ``2n - 3``.

    Parameters
    ----------
    n : int
        Number of nodes, ``2 <= n <= MAX_NODES`` (10^7); at most ``MAX_RECURRENCE_NODES`` (3000) when
        ``|alpha|`` or ``|beta|`` exceeds 5.
    alpha, beta : float
        Exponents of the weight ``(1-x)^alpha (1+x)^beta``, in the range of :func:`gauss_jacobi`.

    Examples
    --------
    >>> import quadlib
    >>> quadlib.gauss_lobatto(3).weights * 3  # Simpson's 1, 4, 1
    array([1., 4., 1.])

    References
    ----------
    W. Gautschi, "High-order Gauss–Lobatto formulae", Numer. Algorithms 25 (2000).
    """
    n, alpha, beta = _jacobi_iv(n, alpha, beta)
    if n < 2:
        raise ValueError(f"`n` must be an integer >= 2 for a Lobatto rule, got {n}")
    with _supported(f"gauss_lobatto({n}, {alpha!r}, {beta!r})", _JACOBI_RANGE):
        x, w, logw = _checked(*_lobatto(n - 2, alpha, beta))
    return _make(x, w, logw, domain=(-1, 1),
                 weight_function=f"(1-x)^{alpha:g} (1+x)^{beta:g}", degree=2 * n - 3,
                 family=f"gauss_lobatto({n}, {alpha:g}, {beta:g})")


def _lobatto(m, alpha, beta):
    """Nodes, weights and log-weights of the (m+2)-point Gauss–Lobatto rule."""
    if m >= _gauss_lj.JACOBI_CROSSOVER and max(abs(alpha), abs(beta)) <= _gauss_lj.JACOBI_PARAMETER_LIMIT:
        # the interior weights w^(alpha+1, beta+1) / (1 - x^2), divided inside the O(n) kernel
        x_hi, inner, log_inner = _gauss_lj.jacobi_large(m, alpha, beta, shift=(1, 1))
    elif m:
        _recurrence_size(m + 2)
        x_hi, x_lo, w_inner, logw_inner = _jacobi(m, alpha + 1.0, beta + 1.0)
        with mpmath.workdps(_MP_DIGITS):
            # from the log-weights, which stay finite where a weight of (1 - x^2) w underflows
            log_inner = [mpmath.mpf(lw) - mpmath.log((1 - (mpmath.mpf(h) + l)) * (1 + (mpmath.mpf(h) + l)))
                         for lw, h, l in zip(logw_inner, x_hi, x_lo)]
            inner = [float(mpmath.mpf(wk) / ((1 - (mpmath.mpf(h) + l)) * (1 + (mpmath.mpf(h) + l))))
                     if 0.0 < wk < np.inf else float(mpmath.exp(lw))
                     for wk, lw, h, l in zip(w_inner, log_inner, x_hi, x_lo)]
            log_inner = [float(lw) for lw in log_inner]
    else:
        x_hi, inner, log_inner = np.zeros(0), [], []
    left, log_left = _lobatto_end_weight(m, alpha, beta)
    right, log_right = _lobatto_end_weight(m, beta, alpha)
    return np.r_[-1.0, x_hi, 1.0], np.r_[left, inner, right], np.r_[log_left, log_inner, log_right]


# ---------------------------------------------------------------- Kronrod

@functools.lru_cache(maxsize=64)
def _kronrod(n):
    with mpmath.workdps(_MP_DIGITS):
        a0, b0, _ = jacobi_matrix("jacobi", -(-3 * n // 2) + 1, alpha=0, beta=0)
        a, b = laurie_kronrod_matrix(a0, b0, n)
        coef = [np.array(c) for c in zip(*(_split(t) for t in a))] + [np.array(c) for c in zip(*(_split(t) for t in b))]
    if np.any(coef[2][1:] <= 0):
        raise _Unsupported(f"the Kronrod extension of {n}-point Gauss–Legendre is not real")
    return _rule_from_recurrence(coef, _scaled_float(2.0), symmetric=True)


def gauss_kronrod(n):
    """The (2n+1)-point Gauss–Kronrod extension of the n-point Gauss–Legendre rule.

    ``rule.embedded_weights`` holds the Gauss weights on the Gauss nodes (every second node) and zero
    on the Kronrod nodes, so ``rule.integrate_with_error`` returns the Kronrod value and
    ``|Kronrod - Gauss|``. Matches QUADPACK's GK15 (n=7) and GK21 (n=10) tables to the last bit.
    Exact to degree ``3n + 1`` (n even) or ``3n + 2`` (n odd).

    Parameters
    ----------
    n : int
        Number of Gauss nodes, ``1 <= n <= MAX_KRONROD_N`` (400; the rule has ``2n + 1`` nodes).
        Laurie's algorithm runs in 40-digit arithmetic, O(n^2): half a second at the maximum.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> rule = quadlib.gauss_kronrod(7)  # GK15
    >>> value, error = rule.integrate_with_error(np.exp, 0.0, 1.0)
    >>> float(value), bool(error < 1e-14)
    (1.718281828459045, True)

    References
    ----------
    D. P. Laurie, "Calculation of Gauss–Kronrod quadrature rules", Math. Comp. 66 (1997).
    R. Piessens et al., "QUADPACK", Springer (1983).
    """
    n = v.positive_int(n, "n", maximum=MAX_KRONROD_N)
    with _supported(f"gauss_kronrod({n})", f"1 <= n <= {MAX_KRONROD_N}"):
        x, _, w, logw = _kronrod(n)
        _checked(x, w, logw)
        gauss = gauss_legendre(n)
        if np.max(np.abs(x[1::2] - gauss.nodes)) > 4 * np.finfo(float).eps:
            raise _Unsupported("the Kronrod nodes did not interlace with the Gauss nodes in double precision")
    embedded = np.zeros_like(w)
    embedded[1::2] = gauss.weights
    return _make(x, w, logw, domain=(-1, 1), weight_function="1", degree=3 * n + 1 + n % 2,
                 family=f"gauss_kronrod({n})", embedded_weights=embedded, embedded_degree=2 * n - 1)


# ---------------------------------------------------------------- arbitrary weights

def _real_array(value, name):
    if isinstance(value, (str, bytes)) or np.iscomplexobj(value):
        raise TypeError(f"`{name}` must be an array of real numbers, got {type(value).__name__}")
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be an array of real numbers") from None


def _from_recurrence_iv(alpha, beta, mu0):
    alpha = _real_array(alpha, "alpha")
    if alpha.ndim != 1 or alpha.size == 0:
        raise ValueError("`alpha` must be a non-empty 1-D array of recurrence coefficients")
    if alpha.size > MAX_RECURRENCE_NODES:
        raise ValueError(f"`alpha` must have at most {MAX_RECURRENCE_NODES} entries (the rule's n; the "
                         f"refinement costs O(n^2)), got {alpha.size}")
    beta = _real_array(beta, "beta")
    if beta.shape != (alpha.size - 1,):
        raise ValueError(f"`beta` must have length len(alpha) - 1 = {alpha.size - 1} (b_1 .. b_(n-1)), "
                         f"got shape {beta.shape}")
    if not (np.all(np.isfinite(alpha)) and np.all(np.isfinite(beta))):
        raise ValueError("`alpha` and `beta` must be finite")
    if np.any(beta <= 0):
        raise ValueError("`beta` must be positive (the Jacobi matrix of a positive weight)")
    mu0 = v.greater_than(mu0, 0.0, "mu0")
    return alpha, beta, mu0


def gauss_from_recurrence(alpha, beta, mu0):
    """Gauss rule from the monic three-term recurrence of a weight (Golub–Welsch).

    ``pi_{j+1}(x) = (x - alpha[j]) pi_j(x) - beta[j-1] pi_{j-1}(x)``.

    Parameters
    ----------
    alpha : array_like, shape (n,)
        Diagonal of the Jacobi matrix, ``a_0 .. a_{n-1}``; ``n <= MAX_RECURRENCE_NODES`` (3000).
    beta : array_like, shape (n-1,)
        Squared off-diagonal, ``b_1 .. b_{n-1}``, all > 0.
    mu0 : float
        Total mass of the weight, ``integral w(x) dx``.

    Returns
    -------
    Rule
        ``n`` nodes, exact to degree ``2n - 1``. The eigenvalues of the Jacobi matrix are refined by
        Newton's method and the weights come from the Christoffel sum, both in double-double.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> j = np.arange(1, 4)
    >>> rule = quadlib.gauss_from_recurrence(np.zeros(4), j**2 / (4.0 * j**2 - 1), 2.0)  # Legendre
    >>> np.allclose(rule.nodes, quadlib.gauss_legendre(4).nodes)
    True
    """
    alpha, beta, mu0 = _from_recurrence_iv(alpha, beta, mu0)
    n = alpha.size
    zeros = np.zeros(n)
    with _supported(f"gauss_from_recurrence(n={n})", "recurrences whose Gauss nodes and weights are distinct "
                    "and finite in double precision"):
        x, _, w, logw = _rule_from_recurrence((alpha, zeros, np.r_[0.0, beta], zeros), _scaled_float(mu0),
                                              symmetric=not np.any(alpha))
        _checked(x, w, logw)
    return _make(x, w, logw, domain=(-np.inf, np.inf), weight_function="given by its recurrence",
                 degree=2 * n - 1, family=f"gauss_from_recurrence(n={n})")


def _monic_basis(basis, size):
    if basis is None or (isinstance(basis, str) and basis == "monomial"):
        return np.zeros(size), np.zeros(size)
    if isinstance(basis, str):
        k = np.arange(size, dtype=float)
        if basis == "legendre":
            return np.zeros(size), np.where(k > 0, k * k / np.maximum(4 * k * k - 1, 1), 0.0)
        if basis == "chebyshev":
            return np.zeros(size), np.where(k > 1, 0.25, np.where(k == 1, 0.5, 0.0))
        raise ValueError(f"`basis` must be 'monomial', 'legendre', 'chebyshev' or a pair (a, b), got {basis!r}")
    try:
        a, b = (_real_array(c, "basis") for c in basis)
    except (TypeError, ValueError):
        raise TypeError("`basis` must be 'monomial', 'legendre', 'chebyshev' or a pair of arrays (a, b)") from None
    if a.shape != (size,) or b.shape != (size,):
        raise ValueError(f"`basis` must be a pair of arrays of length len(moments) = {size}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("`basis` recurrence coefficients must be finite")
    return a, b


def gauss_from_moments(moments, *, basis=None):
    """Gauss rule from ``2n`` moments by the (modified) Chebyshev algorithm.

    Parameters
    ----------
    moments : array_like, shape (2n,)
        ``m_k = integral p_k(x) w(x) dx``, where ``p_k`` are the monic polynomials of `basis`;
        ``n <= MAX_RECURRENCE_NODES`` (3000).
    basis : None, "monomial", "legendre", "chebyshev", or (a, b)
        Polynomials defining the moments: ``x^k`` (ordinary moments; ill-conditioned beyond n ~ 10),
        monic Legendre or Chebyshev polynomials (modified moments, well conditioned on [-1, 1]), or the
        monic recurrence ``p_{k+1} = (x - a_k) p_k - b_k p_{k-1}`` given by arrays of length 2n.

    Raises
    ------
    ValueError
        If the moments are not those of a positive weight (not positive definite).

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> m = [2.0, 0.0, 2 / 3, 0.0]  # moments of the weight 1 on [-1, 1]
    >>> quadlib.gauss_from_moments(m).nodes
    array([-0.57735027,  0.57735027])

    References
    ----------
    W. Gautschi, "Orthogonal Polynomials: Computation and Approximation", Oxford (2004), Sec. 2.1.7.
    """
    m = _real_array(moments, "moments")
    if m.ndim != 1 or m.size < 2 or m.size % 2:
        raise ValueError(f"`moments` must be a 1-D array of even length >= 2, got shape {m.shape}")
    if m.size > 2 * MAX_RECURRENCE_NODES:
        raise ValueError(f"`moments` must have at most {2 * MAX_RECURRENCE_NODES} entries (2n, n <= "
                         f"{MAX_RECURRENCE_NODES}), got {m.size}")
    if not np.all(np.isfinite(m)):
        raise ValueError("`moments` must be finite")
    n = m.size // 2
    pa, pb = _monic_basis(basis, m.size)
    if not m[0] > 0:
        raise ValueError(f"`moments` are not positive definite: m_0 = {m[0]} must be > 0")
    alpha, beta = np.zeros(n), np.zeros(n)
    alpha[0] = pa[0] + m[1] / m[0]
    beta[0] = m[0]
    sig_prev = np.zeros(2 * n + 1)  # sigma_{k-2, l}, indexed l + 1
    sig = np.r_[0.0, m]              # sigma_{k-1, l}
    for k in range(1, n):
        new = np.zeros(2 * n + 1)
        l = np.arange(k, 2 * n - k)
        with np.errstate(over="ignore", invalid="ignore"):
            new[l + 1] = (sig[l + 2] - (alpha[k - 1] - pa[l]) * sig[l + 1] - beta[k - 1] * sig_prev[l + 1]
                          + pb[l] * sig[l])
            if not new[k + 1] > 0:
                raise ValueError(f"`moments` are not positive definite (step {k} of the Chebyshev algorithm)")
            alpha[k] = pa[k] + new[k + 2] / new[k + 1] - sig[k + 1] / sig[k]
            beta[k] = new[k + 1] / sig[k]
        if not (np.isfinite(alpha[k]) and np.isfinite(beta[k]) and beta[k] > 0):
            raise ValueError(f"`moments`: the Chebyshev algorithm overflowed at step {k} (the moments are too "
                             "ill-conditioned in this `basis`; modified moments in a basis orthogonal on the "
                             "support, e.g. basis='legendre' on [-1, 1], are well conditioned)")
        sig_prev, sig = sig, new
    rule = gauss_from_recurrence(alpha, beta[1:], beta[0])
    return _make(rule.nodes, rule.weights, rule.log_weights, domain=rule.domain,
                 weight_function="given by its moments", degree=2 * n - 1, family=f"gauss_from_moments(n={n})")


def _discretize(w, a, b, size):
    """Nodes and weights of a discrete measure approximating w(x) dx on [a, b] with `size` points.

    A composite 16-point Gauss–Legendre rule in t on (-1, 1) after a change of variables: the cubic
    grading x = c + h (3t - t^3)/2 on a finite interval (its Jacobian vanishes at the ends and tames
    integrable endpoint singularities), t/(1-t^2) and (1+t)/(1-t) on infinite ones.
    """
    base = gauss_legendre(16)
    panels = max(1, size // 16)
    edges = np.linspace(-1.0, 1.0, panels + 1)
    half = 0.5 * np.diff(edges)[:, None]
    t = ((edges[:-1, None] + edges[1:, None]) / 2 + half * base.nodes).ravel()
    g = (half * base.weights).ravel()
    if np.isfinite(a) and np.isfinite(b):
        c, h = 0.5 * (a + b), 0.5 * (b - a)
        x, jac = c + h * (3 * t - t ** 3) / 2, h * 1.5 * (1 - t * t)
    elif np.isfinite(a):
        x, jac = a + (1 + t) / (1 - t), 2 / (1 - t) ** 2
    elif np.isfinite(b):
        x, jac = b - (1 - t) / (1 + t), 2 / (1 + t) ** 2
    else:
        x, jac = t / (1 - t * t), (1 + t * t) / (1 - t * t) ** 2
    # strictly inside (a, b), where a weight singular at an end is still finite
    x = np.clip(x, np.nextafter(a, b), np.nextafter(b, a))
    values = np.asarray(w(x), dtype=float)
    if values.shape != x.shape:
        raise ValueError(f"`w` must return an array of the shape of its input {x.shape}, got {values.shape}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("`w` must be finite and non-negative on the open interval (a, b)")
    return x, g * jac * values


def _stieltjes(x, weights, n):
    """Recurrence coefficients a_0..a_{n-1}, b_0..b_{n-1} of a discrete measure (orthonormal Stieltjes)."""
    a, b = np.zeros(n), np.zeros(n)
    b[0] = weights.sum()
    q_prev, q = np.zeros_like(x), np.full_like(x, 1 / np.sqrt(b[0]))
    for k in range(n):
        a[k] = np.sum(weights * x * q * q)
        if k + 1 < n:
            r = (x - a[k]) * q - (np.sqrt(b[k]) * q_prev if k else 0.0)
            b[k + 1] = np.sum(weights * r * r)
            q_prev, q = q, r / np.sqrt(b[k + 1])
    return a, b


def gauss_from_weight(w, a, b, n, *, rtol=1e-13, max_points=2 ** 15):
    """Gauss rule for a weight function given as a callable, by the discretized Stieltjes procedure.

    The measure ``w(x) dx`` on ``[a, b]`` (either end may be infinite) is replaced by a fine discrete
    measure; its recurrence coefficients are computed by the Stieltjes procedure, and the discretization
    is doubled until they change by less than `rtol` (relatively) or `max_points` is reached.

    Parameters
    ----------
    w : callable
        Vectorized weight function, ``w(x) >= 0`` on ``(a, b)``; called with arrays.
    a, b : float
        The interval, ``a < b``.
    n : int
        Number of nodes, ``1 <= n <= MAX_WEIGHT_NODES`` (1000).
    rtol : float
        Convergence tolerance on the recurrence coefficients.
    max_points : int
        Bound on the size of the discretization, ``max(64, 4 n) <= max_points <= MAX_WEIGHT_POINTS``
        (2^20); an IntegrationWarning says when it is reached. The work is O(n * max_points).

    Raises
    ------
    ValueError
        For arguments outside these ranges, or a weight whose discretization does not define `n`
        orthogonal polynomials (one that vanishes almost everywhere, or has too few points of support).

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> rule = quadlib.gauss_from_weight(lambda x: np.exp(-x), 0.0, np.inf, 3)
    >>> np.allclose(rule.nodes, quadlib.gauss_laguerre(3).nodes, rtol=1e-12)
    True

    References
    ----------
    W. Gautschi, "On generating orthogonal polynomials", SIAM J. Sci. Stat. Comput. 3 (1982).
    """
    v.callable_(w, "w")
    a = v.real_scalar(a, "a", finite=False)
    b = v.real_scalar(b, "b", finite=False)
    if not a < b:
        raise ValueError(f"`a` must be less than `b`, got a={a}, b={b}")
    n = v.positive_int(n, "n", maximum=MAX_WEIGHT_NODES)
    rtol = v.nonnegative_tolerance(rtol, "rtol")
    max_points = v.positive_int(max_points, "max_points", maximum=MAX_WEIGHT_POINTS)
    size = max(64, 4 * n)
    if max_points < size:
        raise ValueError(f"`max_points` must be at least max(64, 4 n) = {size} for `n` = {n}, got {max_points}")
    previous, converged = None, False
    while size <= max_points:
        with np.errstate(all="ignore"):
            coef = np.concatenate(_stieltjes(*_discretize(w, a, b, size), n))
        if not (np.all(np.isfinite(coef)) and np.all(coef[n:] > 0)):
            raise ValueError(f"`w` does not define {n} orthogonal polynomials on ({a:g}, {b:g}) at {size} "
                             "discretization points (its recurrence coefficients came out zero or non-finite: "
                             "a weight that vanishes almost everywhere, or `n` too large for it)")
        # a_k is measured against the spread sqrt(b_k) of the measure, since it may be zero
        scale = np.abs(coef) + np.r_[np.sqrt(np.abs(coef[n:])), np.zeros(n)]
        if previous is not None and np.all(np.abs(coef - previous) <= rtol * scale):
            converged = True
            break
        previous, size = coef, 2 * size
    if not converged:
        warnings.warn(f"gauss_from_weight: recurrence coefficients did not settle to rtol={rtol:g} with "
                      f"{max_points} discretization points; the rule may be inaccurate",
                      IntegrationWarning, stacklevel=2)
    alpha, beta = coef[:n], coef[n:]
    rule = gauss_from_recurrence(alpha, beta[1:], beta[0])
    return _make(rule.nodes, rule.weights, rule.log_weights, domain=(a, b), weight_function="w(x), given",
                 degree=2 * n - 1, family=f"gauss_from_weight(n={n})", extra={"converged": converged})


def clear_caches():
    """Forget memoized rules (benchmarks time construction from scratch)."""
    for cached in (_jacobi, _laguerre, _hermite, _kronrod, _gauss_lj._constants):
        cached.cache_clear()
