"""Gauss–Hermite and Gauss–Laguerre rules of any size in O(n) time, to the last bits.

`hermite_large` and `laguerre_large` are what :func:`quadlib.gauss_hermite` and
:func:`quadlib.gauss_laguerre` call above their crossovers (see ``_gauss.py``). The compiled kernel
(``_extensions/_asymptotic_hl.pyx``) steps from each zero to the next along the polynomial's ODE by
Taylor series (Glaser, Liu & Rokhlin 2007), in double-double arithmetic wherever the weight is a
normal double, and returns the weights both directly and as logarithms computed without forming the
(underflowing) weight.

Why ODE stepping rather than the asymptotic expansions of Townsend, Trogdon & Olver (2016) or of
Gil, Segura & Temme (2018): a weight correct to an ulp needs the node to ~1e-20 relative where the
weight is a normal double (``d log w / dx = -2x`` for Hermite, ``-1`` for Laguerre, with ``|x|`` up to
~27 resp. ~710), which truncated expansions give only for very large n and only with many terms
evaluated in double-double (arcsin, Airy functions). Taylor steps in double-double reach it at every
n with nothing but multiply-adds, and their start values are exact closed forms (Hermite at 0) or a
short hypergeometric series (Laguerre near 0). Beyond, the weights underflow and only log w is kept;
there the steps run in double on the Liouville normal form, which is enough for nodes to an ulp.

References
----------
A. Glaser, X. Liu and V. Rokhlin, "A fast algorithm for the calculation of the roots of special
functions", SIAM J. Sci. Comput. 29 (2007).
A. Townsend, T. Trogdon and S. Olver, "Fast computation of Gauss quadrature nodes and weights on the
whole real line", IMA J. Numer. Anal. 36 (2016).
A. Gil, J. Segura and N. M. Temme, "Asymptotic approximations to the nodes and weights of
Gauss–Hermite and Gauss–Laguerre quadratures", Stud. Appl. Math. 140 (2018).
"""
import math

import mpmath
import numpy as np

from . import _validation as v
from ._extensions import _asymptotic_hl

__all__ = ["hermite_large", "laguerre_large"]

_DPS = 40
_KINDS = ("physicists", "probabilists", "normal")


def _split(value):
    """An mpmath number as a double-double pair (hi, lo)."""
    hi = float(value)
    return hi, float(value - hi)


def _hermite_start(n):
    """|p_n(0)| (n even) or |p_n'(0)| (n odd) for the orthonormal Hermite polynomial, double-double."""
    with mpmath.workdps(_DPS):
        m = n - n % 2  # p_n'(0) = sqrt(2n) p_{n-1}(0) for odd n
        # p_m(0) = (-1)^{m/2} sqrt(m!) / ((m/2)! 2^{m/2} pi^{1/4})
        log_p = (mpmath.loggamma(m + 1) / 2 - mpmath.loggamma(m // 2 + 1) - m * mpmath.log(2) / 2
                 - mpmath.log(mpmath.pi) / 4)
        value = mpmath.exp(log_p)
        if n % 2:
            value *= mpmath.sqrt(2 * n)
        return _split(value)


def _hermite_scales(kind):
    """(node scale, weight scale) in double-double taking the physicists' rule to `kind`."""
    with mpmath.workdps(_DPS):
        if kind == "physicists":
            return (1.0, 0.0), (1.0, 0.0)
        xs = mpmath.sqrt(2)
        ws = mpmath.sqrt(2) if kind == "probabilists" else 1 / mpmath.sqrt(mpmath.pi)
        return _split(xs), _split(ws)


def hermite_large(n, kind="physicists"):
    """Gauss–Hermite nodes, weights and log-weights in O(n) time.

    Parameters
    ----------
    n : int
        Number of nodes (any size; used by :func:`quadlib.gauss_hermite` above its crossover).
    kind : {"physicists", "probabilists", "normal"}
        The physicists' rule (weight ``e^{-x^2}``) is computed; the others are its nodes times
        sqrt(2) and weights times sqrt(2) resp. 1/sqrt(pi), applied in double-double before rounding
        (so they are as accurate as the physicists' rule, which a caller scaling the rounded
        doubles would not be).

    Returns
    -------
    x, w, logw : ndarray
        Nodes (ascending), weights (0 where they underflow) and their logarithms (always finite).

    Examples
    --------
    >>> from quadlib._gauss_hl import hermite_large
    >>> x, w, logw = hermite_large(1000)
    >>> float(x[-1]), float(w[-1]), round(float(logw[-1]), 6)  # the last weight underflows, its log not
    (44.2091524979964, 0.0, -1955.234873)
    >>> round(float(w.sum()) ** 2, 14)  # sum of weights = sqrt(pi)
    3.14159265358979

    References
    ----------
    A. Glaser, X. Liu and V. Rokhlin, SIAM J. Sci. Comput. 29 (2007); A. Townsend, T. Trogdon and
    S. Olver, IMA J. Numer. Anal. 36 (2016).
    """
    n = v.positive_int(n, "n")
    v.choice(kind, _KINDS, "kind")
    x, w, logw = np.empty(n), np.empty(n), np.empty(n)
    m = (n + 1) // 2
    p0 = _hermite_start(n)
    xs, ws = _hermite_scales(kind)
    # the kernel writes the nonnegative half into the top of the arrays; the rest is its mirror
    failed = _asymptotic_hl.hermite_rule(n, *p0, *xs, *ws, x[n - m:], w[n - m:], logw[n - m:])
    if failed:
        raise ArithmeticError(f"hermite_large: step {failed} of {m} did not find its zero (n={n})")
    half = n // 2
    x[:half] = -x[n - 1:n - half - 1:-1]
    w[:half] = w[n - 1:n - half - 1:-1]
    logw[:half] = logw[n - 1:n - half - 1:-1]
    return x, w, logw


def _laguerre_log_start(n, alpha):
    """log p(0) = log(sqrt(Gamma(n+alpha+1)/n!)/Gamma(alpha+1)) in mpmath (p = L_n^alpha normalized)."""
    with mpmath.workdps(_DPS):
        a = mpmath.mpf(alpha)
        return (mpmath.loggamma(n + a + 1) - mpmath.loggamma(n + 1)) / 2 - mpmath.loggamma(a + 1)


def _laguerre_start(n, alpha):
    """p(0) in double-double."""
    with mpmath.workdps(_DPS):
        return _split(mpmath.exp(_laguerre_log_start(n, alpha)))


# what p(0) is scaled down to when the kernel fails on the normalized p (see laguerre_large)
_LOG_P_TARGETS = (300.0, 200.0, 100.0)


def _laguerre_run(n, alpha, log_p0, scale, x, w, logw):
    """One run of the kernel on p / 2^scale; returns its status (0 when every zero was found)."""
    with mpmath.workdps(_DPS):
        p0 = _split(mpmath.exp(log_p0) / mpmath.mpf(2) ** scale)
    failed = _asymptotic_hl.laguerre_rule(n, alpha, *p0, 0, 0.0, 0.0, 0.0, 0.0, x, w, logw, scale)
    if failed == -1:
        # the series near 0 cancels too much in double-double (alpha >~ 25): start from the first
        # zero found by mpmath, which raises its working precision to see through the cancellation
        x1, dp1 = _laguerre_first_zero(n, alpha)
        with mpmath.workdps(_DPS):
            weight = 1 / (x1 * dp1 ** 2)
            x[0], w[0], logw[0] = float(x1), float(weight), float(mpmath.log(weight))
            dp1 = dp1 / mpmath.mpf(2) ** scale
        failed = _asymptotic_hl.laguerre_rule(n, alpha, *p0, 1, *_split(x1), *_split(dp1), x, w, logw, scale)
    return failed


def _laguerre_first_zero(n, alpha):
    """The smallest zero of L_n^alpha and p' there (p = L_n^alpha sqrt(n!/Gamma(n+alpha+1))), by mpmath."""
    with mpmath.workdps(_DPS):
        a = mpmath.mpf(alpha)
        kappa = n + (a + 1) / 2
        # first zero of J_alpha (Olver's expansion for large order), then x ~ j^2 / (4 kappa)
        j1 = a + 1.8557571 * a ** (mpmath.mpf(1) / 3) + 1.033150 * a ** (-mpmath.mpf(1) / 3)
        guess = j1 ** 2 / (4 * kappa)
        root = guess
        for _ in range(100):  # Newton, d/dx L_n^a = -L_{n-1}^{a+1}
            step = -mpmath.laguerre(n, a, root) / mpmath.laguerre(n - 1, a + 1, root)
            root -= step
            if abs(step) <= mpmath.mpf(10) ** (-_DPS + 5) * root:
                break
        norm = mpmath.exp((mpmath.loggamma(n + 1) - mpmath.loggamma(n + a + 1)) / 2)
        slope = -mpmath.laguerre(n - 1, a + 1, root) * norm
        if not (0 < root < 1.5 * guess and slope < 0):  # not the first zero: no sign change before it
            raise ArithmeticError(f"laguerre_large: could not locate the first zero (n={n}, alpha={alpha})")
        return root, slope


def laguerre_large(n, alpha=0.0):
    """Generalized Gauss–Laguerre nodes, weights and log-weights in O(n) time.

    Parameters
    ----------
    n : int
        Number of nodes.
    alpha : float
        Exponent of the weight ``x^alpha e^{-x}``, > -1.

    Returns
    -------
    x, w, logw : ndarray
        Nodes (ascending), weights (0 where they underflow) and their logarithms (always finite).

    Examples
    --------
    >>> from quadlib._gauss_hl import laguerre_large
    >>> x, w, logw = laguerre_large(1000)
    >>> float(x[0]), float(w[0])
    (0.0014450740675415123, 0.003703171934719189)
    >>> round(float(logw[-1]), 6)
    -3939.316472

    References
    ----------
    A. Glaser, X. Liu and V. Rokhlin, SIAM J. Sci. Comput. 29 (2007); A. Gil, J. Segura and
    N. M. Temme, Stud. Appl. Math. 140 (2018).
    """
    n = v.positive_int(n, "n")
    alpha = v.greater_than(alpha, -1.0, "alpha")
    x, w, logw = np.empty(n), np.empty(n), np.empty(n)
    log_p0 = _laguerre_log_start(n, alpha)
    # The double-double stepping squares values of p and p', so they must stay within about e^(+-350):
    # p(0) = e^log_p0 is the largest, beyond e^400 for n = 10^6 with alpha = 150. The kernel can follow
    # p / 2^k instead (exactly: the rule is unchanged), which lowers the small values too; so the
    # shifts are tried from none up, and the first that works is taken.
    failed = _laguerre_run(n, alpha, log_p0, 0, x, w, logw)
    for target in _LOG_P_TARGETS:
        scale = math.ceil((float(log_p0) - target) / math.log(2))
        if not failed or scale <= 0:
            break
        failed = _laguerre_run(n, alpha, log_p0, scale, x, w, logw)
    if failed:
        raise ArithmeticError(f"laguerre_large: step {failed} of {n} did not find its zero "
                              f"(n={n}, alpha={alpha})")
    return x, w, logw
