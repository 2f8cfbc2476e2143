"""Gauss–Legendre and Gauss–Jacobi rules of any size in O(n) time, from asymptotic expansions.

The constructors in ``quadlib._gauss`` call these above a measured crossover (``LEGENDRE_CROSSOVER``,
``JACOBI_CROSSOVER``); below it the three-term recurrence refined in double-double is as fast and stays the
reference. Both paths agree to an ulp or two on nodes and weights (tests/test_gauss_large_lj.py, against
mpmath-precision references up to n = 10^6).

- :func:`legendre_large`: Bogaert's iteration-free expansions in the Bessel zeros j_{0,k}, no Newton
  steps; about 15 ns per node (10^6 nodes in 15 ms, 10^7 in 170 ms, here).
- :func:`jacobi_large`: Newton's method on the phase of Hahn's interior expansion of
  P_n^(alpha,beta)(cos theta), with the hypergeometric series in double-double for the few zeros nearest
  each end (Hale & Townsend's scheme, with a different boundary method); about 165 ns per node (one
  evaluation of the expansion per node). Radau and Lobatto rules reuse it through `shift`.

The per-node work is in the compiled kernel ``quadlib._extensions._asymptotic_lj``; this module validates,
computes the O(1) constants in mpmath, dispatches, and checks what comes back (all n zeros found, distinct,
in order).

References
----------
I. Bogaert, "Iteration-free computation of Gauss–Legendre quadrature nodes and weights", SIAM J. Sci.
Comput. 36(3) (2014), A1008–A1026.
N. Hale and A. Townsend, "Fast and accurate computation of Gauss–Legendre and Gauss–Jacobi quadrature nodes
and weights", SIAM J. Sci. Comput. 35(2) (2013), A652–A674.
F. W. J. Olver et al. (eds.), NIST Digital Library of Mathematical Functions, https://dlmf.nist.gov:
18.15.6 (Hahn's expansion), 18.5.7 (Jacobi polynomials as 2F1), 10.21.19 and 10.18.17 (Bessel zeros and
modulus), 18.2.1 and 18.3 (the Gauss–Jacobi weight constant).
"""
import functools
import math

import mpmath
import numpy as np

from . import _validation as v
from ._extensions import _asymptotic_lj

__all__ = ["legendre_large", "jacobi_large", "LEGENDRE_CROSSOVER", "JACOBI_CROSSOVER", "JACOBI_PARAMETER_LIMIT"]

# Smallest n at which the constructors switch to these algorithms, measured here (first calls, caches cleared;
# asv_bench/gauss_large_report_lj.py and tests/test_gauss_large_lj.py). Speed: the Legendre expansions cost
# 3 us against the recurrence's 0.2 ms from n = 64 on; the Jacobi path carries ~0.5 ms of fixed cost (mpmath
# constants, the search near the ends), so it wins from n ~ 90 (0.55 against 0.70 ms at n = 100, 0.56 against
# 1.1 ms at 128). Accuracy: Jacobi is within an ulp from n = 64; Bogaert's expansions, truncated after v^6,
# only from n ~ 80 (n = 64: 5 eps in the weights; the truncation error is 0.9 eps at n = 80, 0.14 eps at 100).
# Both switch at 100; there every node and weight is within 1.3 eps of mpmath on both sides of it.
LEGENDRE_CROSSOVER = 100
JACOBI_CROSSOVER = 100
# Hahn's expansion is summed to 1e-19 for rho theta beyond a cut z_b that grows with |alpha|, |beta|; the
# parameter range the accuracy is measured on is |alpha|, |beta| <= 5. Outside it the recurrence is used.
JACOBI_PARAMETER_LIMIT = 5.0
_MIN_N = 64          # the kernels' own floor (the split into two ends and a boundary needs room)
_HAHN_TERMS = 72     # rows of Hahn's coefficient table
_HAHN_TOL = 1e-21    # the cut z_b is where the smallest Hahn term falls below this


def _large_iv(n, minimum):
    return v.positive_int(n, "n", minimum=minimum)


def legendre_large(n):
    """Gauss–Legendre nodes, weights and log-weights in O(n), by Bogaert's expansions.

    Parameters
    ----------
    n : int
        Number of nodes, ``n >= 64`` (meant for ``n >= 100``; at n = 64 the truncated expansions are still
        within 5 eps, from n = 80 within one).

    Returns
    -------
    x, w, logw : ndarray
        Nodes in increasing order (exactly symmetric), weights, ``log(w)``.

    Notes
    -----
    With ``v = 1/(n + 1/2)`` and ``a_k = j_{0,k} v``, node k from x = 1 is ``cos(theta_k)`` with
    ``theta_k = a_k + v^2 F1(a_k) + v^4 F2(a_k) + v^6 F3(a_k)`` and its weight is
    ``pi v sin(a_k) m_k / (1 + v^2 W1 + v^4 W2 + v^6 W3)``, ``m_k = 2 / (pi j_{0,k} J_1(j_{0,k})^2)``
    (Bogaert 2014; the closed forms of F_i, W_i are his, checked here against mpmath to O(v^8)). No Newton
    steps. Measured against mpmath for n = 10^2 .. 10^6: nodes within 0.6 eps (within half an ulp next to
    the ends, where 1 - |x| is computed as 2 sin^2(theta/2) in double-double), weights within 1.02 eps,
    median 0.25 eps.

    Examples
    --------
    >>> from quadlib._gauss_lj import legendre_large
    >>> x, w, logw = legendre_large(1000)
    >>> float(abs(w.sum() - 2.0)) < 1e-14
    True

    References
    ----------
    I. Bogaert, "Iteration-free computation of Gauss–Legendre quadrature nodes and weights", SIAM J. Sci.
    Comput. 36(3) (2014), A1008–A1026. DLMF 10.21.19 (McMahon's expansion), 10.18.17 (Bessel modulus).
    """
    n = _large_iv(n, _MIN_N)
    x, w = np.empty(n), np.empty(n)
    _asymptotic_lj.legendre(n, x, w)
    return x, w, np.log(w)


# ---------------------------------------------------------------- Jacobi

@functools.lru_cache(maxsize=64)
def _pochhammer_series(p, terms):
    """c_l = (1/2 + p)_l (1/2 - p)_l / l!, l < terms (the Hankel-type coefficients of Hahn's expansion)."""
    l = np.arange(terms - 1)
    c = np.cumprod(np.r_[1.0, (0.5 + p + l) * (0.5 - p + l) / (l + 1)])
    c.setflags(write=False)
    return c


@functools.lru_cache(maxsize=64)
def _boundary_cut(a):
    """z_b for the end with exponent a: the smallest rho*theta at which Hahn's terms, which near that end
    behave like |c_m| / (2 z)^m, reach _HAHN_TOL before they start to grow again (checked on a 1/4 grid),
    and where the first of them, |a^2 - 1/4| / (2 z), is at most 1/2 up to z = 24 (for half-integer a the
    series ends, but summing terms of order one would cost an ulp or two in the weights)."""
    c = np.abs(_pochhammer_series(a, _HAHN_TERMS - 4))
    floor = min(abs(a * a - 0.25), 24.0)
    if not np.any(c[1:] > _HAHN_TOL):
        return floor
    z = np.arange(0.25, 60.0, 0.25)
    with np.errstate(divide="ignore", under="ignore", over="ignore"):
        smallest = (c / (2.0 * z[:, None]) ** np.arange(c.size)).min(axis=1)
    good = np.flatnonzero(smallest <= _HAHN_TOL)
    if good.size == 0:
        raise ArithmeticError(f"no boundary cut for alpha or beta = {a}")
    # one unit of margin: Newton's iterates may start a little below the first interior zero
    return max(float(z[good[0]]) + 1.0, floor)


_ROWS, _COLS = (np.concatenate(ix) for ix in zip(*((np.full(m + 1, m), np.arange(m + 1))
                                                   for m in range(_HAHN_TERMS))))


def _hahn_table(n, a, b):
    """G[m, l] = C_{m,l} / (l! (m-l)!) / (2^m (2 rho + 1)_m) * (2 rho)^l flattened by rows, DLMF 18.15.6
    rescaled so that the kernel sums powers of 1/(2 rho tan(theta/2)) ~ 1/(rho theta)."""
    rho = n + 0.5 * (a + b + 1.0)
    j = np.arange(_HAHN_TERMS - 1)
    ca = _pochhammer_series(a, _HAHN_TERMS)
    # (1/2+b)_j (1/2-b)_j / j! / (2 rho)^j: each factor is below 1, so the product underflows, never overflows
    with np.errstate(under="ignore"):
        cb = np.cumprod(np.r_[1.0, (0.5 + b + j) * (0.5 - b + j) / ((j + 1) * (2.0 * rho))])
        h = np.cumprod(np.r_[1.0, rho / (2.0 * rho + 1.0 + j)])          # h_m (2 rho)^m
        return h[_ROWS] * ca[_COLS] * cb[_ROWS - _COLS]


def _split(x):
    hi = float(x)
    return hi, float(x - hi)


@functools.lru_cache(maxsize=64)
def _constants(n, alpha, beta, shift_a, shift_b):
    """Weight constants, as double-double pairs: the interior one (shared by both ends) and the boundary one
    at the end x = 1 and at x = -1, for P_n^(a,b) with a = alpha + shift_a, b = beta + shift_b (exactly)."""
    with mpmath.workdps(50):
        a, b = mpmath.mpf(alpha) + shift_a, mpmath.mpf(beta) + shift_b
        lg = mpmath.loggamma
        rho = n + (a + b + 1) / 2
        # K = 2^(a+b+1) Gamma(n+a+1) Gamma(n+b+1) / (n! Gamma(n+a+b+1)): w = K / ((1-x^2) P_n'(x)^2)
        log_k = (a + b + 1) * mpmath.log(2) + lg(n + a + 1) + lg(n + b + 1) - lg(n + 1) - lg(n + a + b + 1)
        # Hahn's prefactor 2^(2 rho) B(n+a+1, n+b+1) / pi
        log_norm = 2 * rho * mpmath.log(2) + lg(n + a + 1) + lg(n + b + 1) - lg(2 * n + a + b + 2) - mpmath.log(
            mpmath.pi)
        shift = (shift_a + shift_b) * mpmath.log(2)
        interior = _split(mpmath.exp(log_k - 2 * log_norm - shift))
        # P_n(1) = binomial(n + a, n), and P_n(-1) = (-1)^n binomial(n + b, n)
        at_one = _split(mpmath.exp(log_k - 2 * (lg(n + a + 1) - lg(a + 1) - lg(n + 1))))
        at_minus_one = _split(mpmath.exp(log_k - 2 * (lg(n + b + 1) - lg(b + 1) - lg(n + 1))))
    return interior, at_one, at_minus_one


def _first_guess(k, n, a, b):
    """Gatteschi–Pittaluga's approximation to the k-th zero in theta, counted from theta = 0."""
    rho = n + 0.5 * (a + b + 1.0)
    phi = (k + 0.5 * a - 0.25) * math.pi / rho
    t = math.tan(0.5 * phi)
    return phi + ((0.25 - a * a) / t - (0.25 - b * b) * t) / (4.0 * rho * rho)


def _count_from_one(n, a, b):
    """How many zeros the end x = 1 takes: those whose estimate is at most pi/2."""
    rho = n + 0.5 * (a + b + 1.0)
    k = max(1, min(n - 1, int(rho / 2 - 0.5 * a + 0.25)))
    while k < n - 1 and _first_guess(k + 1, n, a, b) <= math.pi / 2:
        k += 1
    while k > 1 and _first_guess(k, n, a, b) > math.pi / 2:
        k -= 1
    return k


def _jacobi_iv(n, alpha, beta, shift):
    n = _large_iv(n, _MIN_N)
    alpha = v.greater_than(alpha, -1.0, "alpha")
    beta = v.greater_than(beta, -1.0, "beta")
    for name, value in (("alpha", alpha), ("beta", beta)):
        if abs(value) > JACOBI_PARAMETER_LIMIT:
            raise ValueError(f"`{name}` must be at most {JACOBI_PARAMETER_LIMIT:g} in absolute value for "
                             f"the asymptotic algorithm, got {value}")
    if tuple(shift) not in ((0, 0), (1, 0), (0, 1), (1, 1)):
        raise ValueError(f"`shift` must be a pair of 0/1 flags, got {shift!r}")
    return n, alpha, beta, tuple(int(s) for s in shift)


def jacobi_large(n, alpha, beta, *, shift=(0, 0)):
    """Gauss–Jacobi nodes, weights and log-weights in O(n), for ``(1-x)^alpha (1+x)^beta`` on [-1, 1].

    Parameters
    ----------
    n : int
        Number of nodes, ``n >= 64`` (meant for ``n >= 100``).
    alpha, beta : float
        Exponents of the weight, ``-1 < alpha, beta <= 5``.
    shift : (int, int)
        For the interior of a Gauss–Radau (one shift) or Gauss–Lobatto (both) rule for the same weight: the
        zeros of P_n^(alpha + shift[0], beta + shift[1]) with the Gauss weights of that polynomial divided by
        ``(1-x)^shift[0] (1+x)^shift[1]``. The raised parameters are formed exactly (``beta + 1.0`` in double
        could be off by half an ulp, which moves the weights next to the ends by a few ulps), and the division
        is done inside the kernel, where 1 -+ x are known to full relative precision even next to the ends.

    Returns
    -------
    x, w, logw : ndarray
        Nodes in increasing order, weights, ``log(w)``.

    Raises
    ------
    ArithmeticError
        If the kernel reports a failure (a Newton iteration that did not settle, a zero found twice); it has
        not happened on any tested case, and it is never silent (the public constructors raise it as a
        ValueError naming the parameters).

    Notes
    -----
    Each end is handled in the angle theta from that end (the end x = -1 as P_n^(beta,alpha)(-x)), so nodes
    next to -1 and 1 are resolved alike. With rho = n + (alpha+beta+1)/2 and z = rho theta:

    - z >= z_b (about 24 for |alpha| <= 5): Hahn's expansion (DLMF 18.15.6) gives the normal form of P_n
      as ``u = |S| cos(psi)`` with a slowly varying amplitude |S| and phase psi; the k-th zero solves
      ``psi(theta) = (k - 1/2) pi``, by Newton's method from Gatteschi and Pittaluga's approximation (one
      evaluation per node, two or three near z_b), with the right-hand side in double-double. The weight is
      ``C sin(theta/2)^(2 alpha+1) cos(theta/2)^(2 beta+1) / (|S| psi')^2``, the envelope evaluated at the
      double-double node (its sensitivity to theta is (2 alpha + 1) / theta).
    - z < z_b (3 to 8 zeros per end): the series 2F1(-n, n+alpha+beta+1; alpha+1; (1-x)/2) in double-double.

    The constants (involving Gamma functions of n) are computed once in mpmath.

    Examples
    --------
    >>> import numpy as np
    >>> from quadlib._gauss_lj import jacobi_large
    >>> x, w, logw = jacobi_large(500, 0.5, -0.5)
    >>> float(abs(w.sum() - np.pi)) < 1e-13   # integral of sqrt((1-x)/(1+x))
    True

    References
    ----------
    N. Hale and A. Townsend, "Fast and accurate computation of Gauss–Legendre and Gauss–Jacobi quadrature
    nodes and weights", SIAM J. Sci. Comput. 35(2) (2013), A652–A674.
    L. Gatteschi and G. Pittaluga, "An asymptotic expansion for the zeros of Jacobi polynomials" (1985).
    DLMF 18.15.6, 18.5.7.
    """
    n, alpha, beta, (sa, sb) = _jacobi_iv(n, alpha, beta, shift)
    interior, at_one, at_minus_one = _constants(n, alpha, beta, sa, sb)
    a, b = alpha + sa, beta + sb      # rounded: only for what tolerates it (coefficients, cuts, counts)
    x, w = np.empty(n), np.empty(n)
    symmetric = alpha == beta and sa == sb
    top = (n + 1) // 2 if symmetric else _count_from_one(n, a, b)
    status, theta_top = _asymptotic_lj.jacobi_side(
        n, alpha, beta, sa, sb, top, _boundary_cut(a), _hahn_table(n, a, b), _HAHN_TERMS, *interior, *at_one,
        0, x, w)
    _raise_on(status, n, alpha, beta, "x = 1")
    if symmetric:
        half = n // 2
        x[:half] = -x[n - 1: n - half - 1: -1]
        w[:half] = w[n - 1: n - half - 1: -1]
        if n % 2:
            x[half] = 0.0
    else:
        status, theta_bottom = _asymptotic_lj.jacobi_side(
            n, beta, alpha, sb, sa, n - top, _boundary_cut(b), _hahn_table(n, b, a), _HAHN_TERMS, *interior,
            *at_minus_one, 1, x, w)
        _raise_on(status, n, alpha, beta, "x = -1")
        rho = n + 0.5 * (a + b + 1.0)
        if (math.pi - theta_bottom) - theta_top < 0.5 * math.pi / rho:
            raise ArithmeticError(f"Gauss–Jacobi zeros from the two ends overlap (n={n}, alpha={alpha}, "
                                  f"beta={beta})")
    if not np.all(np.diff(x) > 0):
        raise ArithmeticError(f"Gauss–Jacobi nodes did not come out distinct and ordered (n={n}, alpha={alpha}, "
                              f"beta={beta})")
    return x, w, np.log(w)


def _raise_on(status, n, alpha, beta, end):
    if status == 0:
        return
    what = {-1: "the search for the zeros next to the end failed",
            -2: "a zero came out twice"}.get(status, f"Newton's method failed for {status} zero(s)")
    raise ArithmeticError(f"asymptotic Gauss–Jacobi (n={n}, alpha={alpha}, beta={beta}), end {end}: {what}")
