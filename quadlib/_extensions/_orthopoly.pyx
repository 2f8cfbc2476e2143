# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Kernels for Gauss rules from three-term recurrences, in double-double arithmetic.

Design: scalar recurrence evaluation (``_evaluate``) -> loops over nodes that refine zeros by Newton's
method and form Christoffel numbers (``refine_zeros``, ``christoffel``). Recurrence coefficients of the
classical families are also formed here in double-double, because coefficients rounded to double would
already move the nodes by several ulps.

Conventions: monic recurrence pi_{j+1} = (x - a_j) pi_j - b_j pi_{j-1}; the kernels work with the
orthonormal-up-to-sqrt(mu0) polynomials q_0 = 1, sqrt(b_{j+1}) q_{j+1} = (x - a_j) q_j - sqrt(b_j) q_{j-1},
whose Christoffel sum gives the Gauss weights w = mu0 / sum_{j<n} q_j(x)^2 (Golub & Welsch 1969).
Arrays come in pairs (hi, lo). Failures are reported as counts; the Python layer raises.
"""
from libc.math cimport fabs, log, ldexp, isfinite, M_LN2
from libc.stdlib cimport malloc, free

import numpy as np

from quadlib._extensions._ddouble cimport (
    dd, dd_new, two_sum, dd_add, dd_add_d, dd_sub, dd_mul, dd_mul_d, dd_div, dd_sqrt, dd_ldexp,
)

# Values are rescaled by 2**-RESCALE once they pass 2**RESCALE (so their squares stay finite), so Hermite and Laguerre
# polynomials at their outermost zeros (which exceed the double range for large n) stay finite.
cdef int RESCALE = 256


# ---------------------------------------------------------------- recurrence coefficients

cdef inline dd _int(double k) noexcept nogil:
    return dd_new(k, 0.0)


def jacobi_recurrence(Py_ssize_t n, double alpha, double beta):
    """Monic recurrence coefficients a_j, b_j (j < n) of the Jacobi weight (1-x)^alpha (1+x)^beta.

    Returns (a_hi, a_lo, b_hi, b_lo); b_0 is left 0 (the caller supplies mu0).
    """
    a_hi, a_lo, b_hi, b_lo = (np.zeros(n) for _ in range(4))
    cdef double[::1] ah = a_hi, al = a_lo, bh = b_hi, bl = b_lo
    cdef dd ab, t, num, den, x
    cdef Py_ssize_t j
    with nogil:
        ab = two_sum(alpha, beta)
        for j in range(n):
            if j == 0:
                x = dd_div(two_sum(beta, -alpha), dd_add_d(ab, 2.0))
            else:
                t = dd_add_d(ab, 2.0 * j)
                x = dd_div(dd_mul(two_sum(beta, -alpha), ab), dd_mul(t, dd_add_d(t, 2.0)))
            ah[j] = x.hi
            al[j] = x.lo
            if j == 1:
                t = dd_add_d(ab, 2.0)
                num = dd_mul_d(dd_mul(two_sum(alpha, 1.0), two_sum(beta, 1.0)), 4.0)
                den = dd_mul(dd_mul(t, t), dd_add_d(ab, 3.0))
                x = dd_div(num, den)
            elif j >= 2:
                t = dd_add_d(ab, 2.0 * j)
                num = dd_mul(dd_mul(two_sum(j, alpha), two_sum(j, beta)), dd_mul_d(dd_add_d(ab, j), 4.0 * j))
                den = dd_mul(dd_mul(t, t), dd_mul(dd_add_d(t, 1.0), dd_add_d(t, -1.0)))
                x = dd_div(num, den)
            else:
                x = dd_new(0.0, 0.0)
            bh[j] = x.hi
            bl[j] = x.lo
    return a_hi, a_lo, b_hi, b_lo


def laguerre_recurrence(Py_ssize_t n, double alpha):
    """Monic recurrence coefficients of x^alpha e^{-x} on (0, inf): a_j = 2j+1+alpha, b_j = j(j+alpha)."""
    a_hi, a_lo, b_hi, b_lo = (np.zeros(n) for _ in range(4))
    cdef double[::1] ah = a_hi, al = a_lo, bh = b_hi, bl = b_lo
    cdef dd x
    cdef Py_ssize_t j
    with nogil:
        for j in range(n):
            x = two_sum(2.0 * j + 1.0, alpha)
            ah[j] = x.hi
            al[j] = x.lo
            x = dd_mul_d(two_sum(j, alpha), j)
            bh[j] = x.hi
            bl[j] = x.lo
    return a_hi, a_lo, b_hi, b_lo


def hermite_recurrence(Py_ssize_t n, double scale):
    """Monic recurrence coefficients of a Hermite weight: a_j = 0, b_j = scale * j (exact in double)."""
    b = scale * np.arange(n, dtype=np.float64)
    return np.zeros(n), np.zeros(n), b, np.zeros(n)


# ---------------------------------------------------------------- evaluation

cdef struct Recurrence:
    Py_ssize_t size     # number of coefficients a_0 .. a_{size-1}
    dd* a
    dd* s               # s_j = sqrt(b_j), j >= 1
    dd* r               # r_j = 1 / s_j, j >= 1


cdef int _recurrence_init(Recurrence* rec, const double[::1] a_hi, const double[::1] a_lo,
                          const double[::1] b_hi, const double[::1] b_lo) noexcept nogil:
    cdef Py_ssize_t j, m = a_hi.shape[0]
    rec.size = m
    rec.a = <dd*> malloc((m + 1) * sizeof(dd))
    rec.s = <dd*> malloc((m + 1) * sizeof(dd))
    rec.r = <dd*> malloc((m + 1) * sizeof(dd))
    if rec.a == NULL or rec.s == NULL or rec.r == NULL:
        return -1
    for j in range(m):
        rec.a[j] = dd_new(a_hi[j], a_lo[j])
        if j == 0:
            rec.s[0] = dd_new(0.0, 0.0)
            rec.r[0] = dd_new(1.0, 0.0)
        else:
            if not b_hi[j] > 0.0:
                return -2
            rec.s[j] = dd_sqrt(dd_new(b_hi[j], b_lo[j]))
            rec.r[j] = dd_div(dd_new(1.0, 0.0), rec.s[j])
    # the top polynomial is only used for its zeros, so its normalization is irrelevant
    rec.s[m] = dd_new(1.0, 0.0)
    rec.r[m] = dd_new(1.0, 0.0)
    return 0


cdef void _recurrence_free(Recurrence* rec) noexcept nogil:
    free(rec.a)
    free(rec.s)
    free(rec.r)


cdef void _evaluate(const Recurrence* rec, Py_ssize_t degree, Py_ssize_t terms, dd x,
                    dd* q_out, dd* dq_out, dd* sum_out, int* scale_out) noexcept nogil:
    """q_degree(x), its derivative, and sum_{j<terms} q_j(x)^2, all times 2**(-RESCALE*scale)
    (the sum times its square). Requires degree <= rec.size and terms <= degree + 1."""
    cdef dd q = dd_new(1.0, 0.0), qm = dd_new(0.0, 0.0)
    cdef dd dq = dd_new(0.0, 0.0), dqm = dd_new(0.0, 0.0)
    cdef dd total = dd_new(0.0, 0.0), t, qn, dqn
    cdef int scale = 0
    cdef Py_ssize_t j
    for j in range(degree):
        if j < terms:
            total = dd_add(total, dd_mul(q, q))
        t = dd_sub(x, rec.a[j])
        qn = dd_mul(dd_sub(dd_mul(t, q), dd_mul(rec.s[j], qm)), rec.r[j + 1])
        dqn = dd_mul(dd_sub(dd_add(q, dd_mul(t, dq)), dd_mul(rec.s[j], dqm)), rec.r[j + 1])
        qm = q
        q = qn
        dqm = dq
        dq = dqn
        if fabs(q.hi) > ldexp(1.0, RESCALE) or fabs(dq.hi) > ldexp(1.0, RESCALE):
            q = dd_ldexp(q, -RESCALE)
            qm = dd_ldexp(qm, -RESCALE)
            dq = dd_ldexp(dq, -RESCALE)
            dqm = dd_ldexp(dqm, -RESCALE)
            total = dd_ldexp(total, -2 * RESCALE)
            scale += 1
    if terms > degree:
        total = dd_add(total, dd_mul(q, q))
    q_out[0] = q
    dq_out[0] = dq
    sum_out[0] = total
    scale_out[0] = scale


cdef inline void _store_weight(dd mu0, int mu0_exp, dd total, int scale, double* w, double* logw) noexcept nogil:
    # mu0 comes as a mantissa in [1/2, 1) and a power of two, and total is rescaled by 2**(-2 RESCALE scale):
    # their ratio is of moderate size, so a weight (or mu0) beyond the double range overflows only in w,
    # to inf, while logw stays exact
    cdef dd ratio = dd_div(mu0, total)
    cdef int e = mu0_exp - 2 * RESCALE * scale
    w[0] = ldexp(ratio.hi, e)
    logw[0] = log(ratio.hi) + ratio.lo / ratio.hi + e * M_LN2


def refine_zeros(const double[::1] a_hi, const double[::1] a_lo, const double[::1] b_hi,
                 const double[::1] b_lo, const double[::1] x0, double mu0_hi, double mu0_lo, int mu0_exp,
                 double[::1] x_hi, double[::1] x_lo, double[::1] w, double[::1] logw,
                 int max_iter=12):
    """Newton-refine zeros of pi_n (n = len(a_hi)) from the guesses x0, in double-double.

    IN: recurrence coefficients (n of each), x0, mu0 = (mu0_hi + mu0_lo) 2**mu0_exp. OUT: x_hi, x_lo (the
    zeros), w and logw (the Gauss weights mu0 / sum_{j<n} q_j^2 and their logarithms; w is inf where the
    weight exceeds the double range). Returns the number of
    guesses that did not converge within max_iter steps (-1 if a coefficient b_j <= 0).
    """
    cdef Recurrence rec
    cdef Py_ssize_t i, n = a_hi.shape[0]
    cdef int it, scale, failed = 0, code
    cdef dd x, dx, q, dq, total, mu0 = dd_new(mu0_hi, mu0_lo)
    cdef double step, last_step
    cdef bint done
    with nogil:
        code = _recurrence_init(&rec, a_hi, a_lo, b_hi, b_lo)
        if code == 0:
            for i in range(x0.shape[0]):
                x = dd_new(x0[i], 0.0)
                done = False
                last_step = 1e300
                for it in range(max_iter):
                    _evaluate(&rec, n, n, x, &q, &dq, &total, &scale)
                    if not (isfinite(q.hi) and isfinite(dq.hi)) or dq.hi == 0.0:
                        break
                    dx = dd_div(q, dq)
                    x = dd_sub(x, dx)
                    step = fabs(dx.hi)
                    # Converged to ~32 digits, or stalled at the rounding noise of the evaluation,
                    # which is still far below double precision.
                    if step <= 1e-29 * fabs(x.hi) or (step <= 1e-24 * fabs(x.hi) and step >= 0.5 * last_step):
                        done = True
                        break
                    last_step = step
                if not done:
                    failed += 1
                x_hi[i] = x.hi
                x_lo[i] = x.lo
                _store_weight(mu0, mu0_exp, total, scale, &w[i], &logw[i])
        _recurrence_free(&rec)
    if code == -1:
        raise MemoryError("refine_zeros: out of memory")
    return -1 if code == -2 else failed


def christoffel(const double[::1] a_hi, const double[::1] a_lo, const double[::1] b_hi,
                const double[::1] b_lo, Py_ssize_t terms, const double[::1] x_hi,
                const double[::1] x_lo, double mu0_hi, double mu0_lo, int mu0_exp, double[::1] w,
                double[::1] logw):
    """Christoffel numbers mu0 / sum_{j<terms} q_j(x)^2 at the double-double points x (OUT: w, logw),
    mu0 = (mu0_hi + mu0_lo) 2**mu0_exp.

    Needs terms <= len(a_hi) + 1. Returns -1 if a coefficient b_j <= 0, else 0.
    """
    cdef Recurrence rec
    cdef Py_ssize_t i
    cdef int scale, code
    cdef dd q, dq, total, mu0 = dd_new(mu0_hi, mu0_lo)
    if terms < 1 or terms > a_hi.shape[0] + 1:
        raise ValueError("christoffel: bad number of terms")
    with nogil:
        code = _recurrence_init(&rec, a_hi, a_lo, b_hi, b_lo)
        if code == 0:
            for i in range(x_hi.shape[0]):
                _evaluate(&rec, terms - 1, terms, dd_new(x_hi[i], x_lo[i]), &q, &dq, &total, &scale)
                _store_weight(mu0, mu0_exp, total, scale, &w[i], &logw[i])
        _recurrence_free(&rec)
    if code == -1:
        raise MemoryError("christoffel: out of memory")
    return code
