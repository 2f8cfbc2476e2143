# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Row and cluster loops of a mixed model's random-effects design (rows sorted by cluster).

The integrators see a GLMM as M independent clusters; these kernels move between the N rows and the M
clusters without N x q x q temporaries:

* add_random      eta[n, k] = eta0[n] + sum_c Z[n, c] b[g[n], k, c]      (the linear predictor at K points)
* cluster_moments  sum over a cluster's rows of w0, w1 z and w2 z z^T      (value, gradient, Hessian in b)
* row_quadratic    z_n^T P[g[n]] z_n                                       (leverages of the Laplace gradient)
* row_dot          z_n . V[g[n]]
* cluster_weighted sum over a cluster's rows of w[n, k] z_n                (per point, for AGQ gradients)

No validation here: quadlib.glmm._objective checks shapes once and calls these in its inner loops.
"""
cimport cython


def add_random(const double[::1] eta0, const double[:, ::1] Z, const Py_ssize_t[::1] group,
               const double[:, :, ::1] b, double[:, ::1] out):
    """out (N, K) OUT: eta0 + Z b at each of the K points of each row's cluster."""
    cdef Py_ssize_t N = Z.shape[0], q = Z.shape[1], K = b.shape[1], n, k, c, m
    cdef double s
    with nogil:
        for n in range(N):
            m = group[n]
            for k in range(K):
                s = eta0[n]
                for c in range(q):
                    s = s + Z[n, c] * b[m, k, c]
                out[n, k] = s


def cluster_moments(const Py_ssize_t[::1] bounds, const double[:, ::1] Z, const double[::1] w0,
                    const double[::1] w1, const double[::1] w2, double[::1] value, double[:, ::1] grad,
                    double[:, :, ::1] hess):
    """value (M,), grad (M, q), hess (M, q, q) OUT: per cluster (rows bounds[i]..bounds[i+1]) the sums
    of w0, w1 z and w2 z z^T."""
    cdef Py_ssize_t M = bounds.shape[0] - 1, q = Z.shape[1], i, n, a, c
    cdef double s0, z_a
    with nogil:
        for i in range(M):
            s0 = 0.0
            for a in range(q):
                grad[i, a] = 0.0
                for c in range(q):
                    hess[i, a, c] = 0.0
            for n in range(bounds[i], bounds[i + 1]):
                s0 = s0 + w0[n]
                for a in range(q):
                    z_a = Z[n, a]
                    grad[i, a] += w1[n] * z_a
                    for c in range(a + 1):
                        hess[i, a, c] += w2[n] * z_a * Z[n, c]
            value[i] = s0
            for a in range(q):
                for c in range(a):
                    hess[i, c, a] = hess[i, a, c]


def row_quadratic(const double[:, ::1] Z, const Py_ssize_t[::1] group, const double[:, :, ::1] P,
                  double[::1] out):
    """out (N,) OUT: z_n^T P[g[n]] z_n."""
    cdef Py_ssize_t N = Z.shape[0], q = Z.shape[1], n, a, c, m
    cdef double s
    with nogil:
        for n in range(N):
            m = group[n]
            s = 0.0
            for a in range(q):
                for c in range(q):
                    s = s + Z[n, a] * P[m, a, c] * Z[n, c]
            out[n] = s


def row_dot(const double[:, ::1] Z, const Py_ssize_t[::1] group, const double[:, ::1] V, double[::1] out):
    """out (N,) OUT: z_n . V[g[n]]."""
    cdef Py_ssize_t N = Z.shape[0], q = Z.shape[1], n, a, m
    cdef double s
    with nogil:
        for n in range(N):
            m = group[n]
            s = 0.0
            for a in range(q):
                s = s + Z[n, a] * V[m, a]
            out[n] = s


def cluster_weighted(const Py_ssize_t[::1] bounds, const double[:, ::1] Z, const double[:, ::1] w,
                     double[:, :, ::1] out):
    """out (M, K, q) OUT: per cluster the sums over its rows of w[n, k] z_n."""
    cdef Py_ssize_t M = bounds.shape[0] - 1, q = Z.shape[1], K = w.shape[1], i, n, k, a
    with nogil:
        for i in range(M):
            for k in range(K):
                for a in range(q):
                    out[i, k, a] = 0.0
            for n in range(bounds[i], bounds[i + 1]):
                for k in range(K):
                    for a in range(q):
                        out[i, k, a] += w[n, k] * Z[n, a]
