"""Jacobi matrices: the three-term recurrence coefficients of classical weights and their Kronrod extension.

This module owns the exact (field-generic) construction of Jacobi matrices that both the production
rules in :mod:`quadlib._gauss` and their arbitrary-precision twins in :mod:`quadlib.reference` start
from: :func:`jacobi_matrix` gives the monic recurrence coefficients of the Jacobi, Laguerre and Hermite
weights in mpmath at the current precision, and :func:`laurie_kronrod_matrix` extends a Jacobi matrix to
the Jacobi–Kronrod matrix by Laurie's rational recurrence. It sits below both of them and imports
neither, so the twins never run through the production module.

References
----------
W. Gautschi, "Orthogonal Polynomials: Computation and Approximation", Oxford (2004).
D. P. Laurie, "Calculation of Gauss–Kronrod quadrature rules", Math. Comp. 66 (1997).
"""
import mpmath

__all__ = ["jacobi_matrix", "laurie_kronrod_matrix"]


def jacobi_matrix(family, n, *, alpha=0.0, beta=0.0, kind="physicists"):
    """Monic recurrence coefficients ``(a, b, mu0)`` of a classical weight, at the current mp precision.

    ``a = [a_0 .. a_{n-1}]``, ``b = [b_0 .. b_{n-1}]`` with ``b_0 = mu0`` (Gautschi's convention), for
    ``family`` in ``"jacobi"`` (weight ``(1-x)^alpha (1+x)^beta``), ``"laguerre"`` (``x^alpha e^-x``) and
    ``"hermite"`` (`kind` as in :func:`quadlib.gauss_hermite`).
    """
    mpf = mpmath.mpf
    if family == "jacobi":
        al, be = mpf(alpha), mpf(beta)
        ab = al + be
        mu0 = 2 ** (ab + 1) * mpmath.gamma(al + 1) * mpmath.gamma(be + 1) / mpmath.gamma(ab + 2)
        a = [(be - al) / (ab + 2)] + [(be * be - al * al) / ((2 * j + ab) * (2 * j + ab + 2)) for j in range(1, n)]
        b = [mu0]
        for j in range(1, n):
            if j == 1:
                b.append(4 * (al + 1) * (be + 1) / ((ab + 2) ** 2 * (ab + 3)))
            else:
                t = 2 * j + ab
                b.append(4 * j * (j + al) * (j + be) * (j + ab) / (t * t * (t + 1) * (t - 1)))
        return a, b, mu0
    if family == "laguerre":
        al = mpf(alpha)
        mu0 = mpmath.gamma(al + 1)
        return [2 * j + 1 + al for j in range(n)], [mu0] + [j * (j + al) for j in range(1, n)], mu0
    if family == "hermite":
        scale, mu0 = {"physicists": (mpf(1) / 2, mpmath.sqrt(mpmath.pi)),
                      "probabilists": (mpf(1), mpmath.sqrt(2 * mpmath.pi)),
                      "normal": (mpf(1), mpf(1))}[kind]
        return [mpf(0)] * n, [mu0] + [scale * j for j in range(1, n)], mu0
    raise ValueError(f"`family` must be 'jacobi', 'laguerre' or 'hermite', got {family!r}")


def laurie_kronrod_matrix(a0, b0, n):
    """Jacobi–Kronrod matrix of the (2n+1)-point Kronrod extension, by Laurie's mixed recurrence.

    `a0`, `b0` are monic recurrence coefficients of the weight (``b0[0] = mu0``), at least
    ``floor(3n/2) + 1`` and ``ceil(3n/2) + 1`` of them. Works on any field type (mpmath numbers here);
    it uses only rational operations. Returns lists ``a, b`` of length ``2n + 1``.
    """
    zero = a0[0] * 0
    a = [zero] * (2 * n + 1)
    b = [zero] * (2 * n + 1)
    for k in range(3 * n // 2 + 1):
        a[k] = a0[k]
    for k in range(-(-3 * n // 2) + 1):
        b[k] = b0[k]
    s = [zero] * (n // 2 + 2)
    t = [zero] * (n // 2 + 2)
    t[1] = b[n + 1]
    # First phase: the leading block is that of the original weight; sweep the mixed moments.
    for m in range(n - 1):
        ks = range((m + 1) // 2, -1, -1)
        terms = [(a[k + n + 1] - a[m - k]) * t[k + 1] + b[k + n + 1] * s[k] - b[m - k] * s[k + 1] for k in ks]
        total = zero
        for k, term in zip(ks, terms):
            total += term
            s[k + 1] = total
        s, t = t, s
    j = n // 2 + 1
    s[1:j + 1] = s[:j]
    # Second phase: the trailing block's coefficients come out one by one.
    for m in range(n - 1, 2 * n - 2):
        ks = range(m + 1 - n, (m - 1) // 2 + 1)
        js = [n - 1 - (m - k) for k in ks]
        terms = [-(a[k + n + 1] - a[m - k]) * t[jj + 1] - b[k + n + 1] * s[jj + 1] + b[m - k] * s[jj + 2]
                 for k, jj in zip(ks, js)]
        total = zero
        for jj, term in zip(js, terms):
            total += term
            s[jj + 1] = total
        j = js[-1]
        k = (m + 1) // 2
        if m % 2 == 0:
            a[k + n + 1] = a[k] + (s[j + 1] - b[k + n + 1] * s[j + 2]) / t[j + 2]
        else:
            b[k + n + 1] = s[j + 1] / s[j + 2]
        s, t = t, s
    a[2 * n] = a[n - 1] - b[2 * n] * s[1] / t[1]
    return a, b
