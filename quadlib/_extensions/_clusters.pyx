# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Per-cluster linear algebra for adaptive quadrature over many independent integrals.

Each cluster i has a log-integrand h_i(u) on R^q (q small). These loops run over all clusters without
the interpreter: the Newton step at each mode (a q x q Cholesky factorization per cluster, shifted when
the curvature is not positive definite), the quadrature points u = mode + R^-T z (R R^T the curvature),
and the log-sum-exp that combines the values at those points with the rule's weights.
"""
from libc.math cimport exp, log, sqrt, fabs, INFINITY, NAN, isfinite


cdef int _cholesky(double* a, int q) noexcept nogil:
    """In-place lower Cholesky factor of the q x q row-major a; 0 if a is not positive definite."""
    cdef int i, j, k
    cdef double s
    for j in range(q):
        s = a[j * q + j]
        for k in range(j):
            s -= a[j * q + k] * a[j * q + k]
        if not (s > 0.0) or not isfinite(s):
            return 0
        a[j * q + j] = sqrt(s)
        for i in range(j + 1, q):
            s = a[i * q + j]
            for k in range(j):
                s -= a[i * q + k] * a[j * q + k]
            a[i * q + j] = s / a[j * q + j]
        for i in range(j):  # clear the upper triangle
            a[i * q + j] = 0.0
    return 1


def newton_steps(const double[:, ::1] gradient, const double[:, :, ::1] curvature, double[:, ::1] step,
                 double[:, :, ::1] factor, double[::1] shift):
    """For each cluster: factor = lower Cholesky factor of curvature + shift I, step = (that)^-1 gradient.

    shift[i] starts at 0 and grows (0, 1e-8 * scale, then x10, at most 40 times) until the shifted
    curvature is positive definite: a Levenberg step where the log-integrand is not concave. On return
    shift[i] is the shift used (inf if none worked; step is then 0).
    """
    cdef Py_ssize_t i, M = gradient.shape[0]
    cdef int q = gradient.shape[1], a, b, tries
    cdef double s, scale
    cdef double* work
    cdef double* y
    with nogil:
        for i in range(M):
            work = &factor[i, 0, 0]
            y = &step[i, 0]
            scale = 0.0
            for a in range(q):
                scale = max(scale, fabs(curvature[i, a, a]))
            scale = max(scale, 1.0)
            shift[i] = 0.0
            for tries in range(41):
                for a in range(q):
                    for b in range(q):
                        work[a * q + b] = curvature[i, a, b]
                    work[a * q + a] += shift[i]
                if _cholesky(work, q):
                    break
                shift[i] = 1e-8 * scale if shift[i] == 0.0 else 10.0 * shift[i]
            else:
                shift[i] = INFINITY
                for a in range(q):
                    y[a] = 0.0
                continue
            # solve R R^T y = g: forward then back substitution
            for a in range(q):
                s = gradient[i, a]
                for b in range(a):
                    s -= work[a * q + b] * y[b]
                y[a] = s / work[a * q + a]
            for a in range(q - 1, -1, -1):
                s = y[a]
                for b in range(a + 1, q):
                    s -= work[b * q + a] * y[b]
                y[a] = s / work[a * q + a]


def adaptive_points(const double[:, ::1] mode, const double[:, :, ::1] factor, const double[:, ::1] z,
                    double[:, :, ::1] out):
    """out[i, k] = mode[i] + R_i^-T z[k], R_i = factor[i] (lower triangular): the rule's nodes placed at
    each cluster's mode and scaled by its curvature."""
    cdef Py_ssize_t i, k, M = mode.shape[0], K = z.shape[0]
    cdef int q = mode.shape[1], a, b
    cdef double s
    with nogil:
        for i in range(M):
            for k in range(K):
                for a in range(q - 1, -1, -1):  # R^T x = z, R^T upper triangular
                    s = z[k, a]
                    for b in range(a + 1, q):
                        s -= factor[i, b, a] * out[i, k, b]
                    out[i, k, a] = s / factor[i, a, a]
                for a in range(q):
                    out[i, k, a] += mode[i, a]


def combine(const double[:, ::1] values, const double[::1] weights, const double[::1] half_norm2,
            const double[:, :, ::1] factor, double[::1] out):
    """out[i] = log( sum_k weights[k] exp(values[i, k] + half_norm2[k]) ) - log det R_i.

    values are the log-integrand at the adaptive points; the weights are for the N(0, I) density (they
    may be negative, as a sparse grid's are). Where the sum is not positive, out[i] is NaN.
    """
    cdef Py_ssize_t i, k, M = values.shape[0], K = values.shape[1]
    cdef int q = factor.shape[1], a
    cdef double top, total, logdet, v
    with nogil:
        for i in range(M):
            top = -INFINITY
            for k in range(K):
                v = values[i, k] + half_norm2[k]
                if v > top:
                    top = v
            logdet = 0.0
            for a in range(q):
                logdet += log(factor[i, a, a])
            if top == -INFINITY:
                out[i] = -INFINITY
                continue
            if not isfinite(top):
                out[i] = NAN
                continue
            total = 0.0
            for k in range(K):
                total += weights[k] * exp(values[i, k] + half_norm2[k] - top)
            out[i] = log(total) + top - logdet if total > 0.0 else NAN
