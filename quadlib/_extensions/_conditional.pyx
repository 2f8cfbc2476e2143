# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Conditional log-likelihoods of grouped data, with their gradients and Hessians in the coefficients.

Rows are sorted by group; group g holds rows starts[g]:starts[g + 1]. The linear predictor of row j is
eta_j = x_j' beta + offset_j (computed here, so no BLAS call sits between the kernels).

Binary (conditional logistic regression). A group of m rows with t events contributes
``sum_{y_j = 1} eta_j - log e_t(w)``, w_j = exp(eta_j), where the elementary symmetric polynomial
``e_t(w) = sum over the subsets S of size t of prod_{j in S} w_j`` is the sum over every way of placing t events
among the m rows. It is computed by the recursion over rows (Howard 1972; Gail, Lubin and Rubinstein 1981)

    B(j, k) = B(j-1, k) + w_j B(j-1, k-1),    B(j, 0) = 1,  B(j, k) = 0 for k > j,

in O(m t) operations: never by enumerating subsets. e_t is C(1000, 500) ~ 1e299 times a typical w^500, so B is
not stored; what is stored is bounded:

* the fast path keeps the ratios q(j, k) = B(j, k) / B(j, k-1) (between min(w) / j and j max(w) by Newton's
  inequalities) and log B(j, lo_j) at the lowest k still needed, one log per row;
* when eta spans more than _FAST_RANGE within a group (the ratios could leave the double range) a log-space path
  keeps log B(j, k) directly (two exps and a log1p per cell: 4-8x slower).

The derivatives come from the same recursion read as probabilities. Under the conditional distribution
P(S) ~ prod_{j in S} w_j over subsets of size k of the first j rows, row j is in S with probability
c = w_j B(j-1, k-1) / B(j, k), so the distribution of s = sum_{i in S} x_i is a two-component mixture and its
mean g and covariance V obey

    g(j, k) = a g(j-1, k) + c (g(j-1, k-1) + x_j),                      a = 1 - c
    V(j, k) = a V(j-1, k) + c V(j-1, k-1) + a c d d',    d = g(j-1, k) - g(j-1, k-1) - x_j

(the derivative recursions of Gail et al. divided by B: all weights are in [0, 1] and V is a sum of positive
semidefinite terms, so nothing cancels). The gradient of log e_t is g(m, t) and its Hessian V(m, t).

Only cells k in [max(0, t - (m - j)), min(j, t)] reach B(m, t), and when 2t > m the group is evaluated with the
events and non-events swapped (t -> m - t, eta -> -eta, x -> -x: the same function of beta), so a group costs
about t (m - t) cells.

Poisson (conditioned on each group's total n): the multinomial log-likelihood ``sum_j y_j log p_j``,
p = softmax(eta) within the group; the constant ``log n! - sum log y_j!`` is added by the Python layer.

Layers: scalar group kernels (``noexcept nogil``) -> loops over groups writing into preallocated outputs.
"""
from libc.math cimport exp, log, log1p, INFINITY, isfinite

# the fast path holds w = exp(eta - max eta) >= exp(-_FAST_RANGE) and ratios down to that / m: far from
# underflow (and from subnormal arithmetic) for any group size
cdef double _FAST_RANGE = 600.0


# ---------------------------------------------------------------------------------------------------------
# scalar kernels: one group
# ---------------------------------------------------------------------------------------------------------
cdef inline void _mixture_update(double* g_k, const double* g_km1, double* V_k, const double* V_km1,
                                 const double* x, double sign, double a, double c, double* d, Py_ssize_t p,
                                 int order) noexcept nogil:
    """Moments of s at (j, k) from those at (j-1, k) [g_k, V_k, overwritten] and (j-1, k-1)."""
    cdef Py_ssize_t r, u
    for r in range(p):
        d[r] = g_k[r] - g_km1[r] - sign * x[r]
        g_k[r] = g_k[r] - c * d[r]
    if order >= 2:
        for r in range(p):  # upper triangle only
            for u in range(r, p):
                V_k[r * p + u] = a * V_k[r * p + u] + c * V_km1[r * p + u] + a * c * d[r] * d[u]


cdef inline void _first_entry(double* g_k, const double* g_km1, double* V_k, const double* V_km1,
                              const double* x, double sign, Py_ssize_t p, int order) noexcept nogil:
    """k = j: every one of the first j rows is in S (a = 0, c = 1)."""
    cdef Py_ssize_t r, u
    for r in range(p):
        g_k[r] = g_km1[r] + sign * x[r]
    if order >= 2:
        for r in range(p):
            for u in range(r, p):
                V_k[r * p + u] = V_km1[r * p + u]


cdef double _log_esp_fast(const double* X, const double* eta, Py_ssize_t m, Py_ssize_t t, Py_ssize_t p,
                          double sign, double top, int order, double* q, double* g, double* V,
                          double* d) noexcept nogil:
    """log e_t(exp(sign * eta - top)); with order >= 1 the mean g[t * p:] (order 2: covariance V[t * p * p:],
    upper triangle) of sum_{i in S} sign * x_i. Workspace: q (t + 1), g ((t + 1) p), V ((t + 1) p^2), d (p)."""
    cdef Py_ssize_t j, k, r, lo, hi, hi_old = 0, kmin
    cdef double w, qk, log_b_lo = 0.0
    for r in range(p):
        g[r] = 0.0
    if order >= 2:
        for r in range(p * p):
            V[r] = 0.0
    for j in range(1, m + 1):
        w = exp(sign * eta[j - 1] - top)
        lo = t - (m - j)
        if lo < 0:
            lo = 0
        hi = j if j < t else t
        if lo > 0:  # B(j, lo) = B(j-1, lo-1) (q(j-1, lo) + w)
            qk = q[lo] if lo <= hi_old else 0.0
            log_b_lo += log(qk + w)
        kmin = lo if lo > 1 else 1
        for k in range(hi, kmin - 1, -1):  # downward: q[k-1], g[k-1], V[k-1] still hold row j-1
            qk = q[k] if k <= hi_old else 0.0
            if order >= 1:
                if k > hi_old:
                    _first_entry(&g[k * p], &g[(k - 1) * p], &V[k * p * p], &V[(k - 1) * p * p],
                                 &X[(j - 1) * p], sign, p, order)
                else:
                    _mixture_update(&g[k * p], &g[(k - 1) * p], &V[k * p * p], &V[(k - 1) * p * p],
                                    &X[(j - 1) * p], sign, qk / (qk + w), w / (qk + w), d, p, order)
            if k > lo:
                if k == 1:
                    q[k] = qk + w
                else:
                    q[k] = (qk + w) / (1.0 + w / q[k - 1])
        hi_old = hi
    return log_b_lo


cdef double _log_esp_logspace(const double* X, const double* eta, Py_ssize_t m, Py_ssize_t t, Py_ssize_t p,
                              double sign, double top, int order, double* lb, double* g, double* V,
                              double* d) noexcept nogil:
    """As _log_esp_fast, holding log B(j, k) in lb (t + 1) instead of the ratios: any range of eta."""
    cdef Py_ssize_t j, k, r, lo, hi, hi_old = 0, kmin
    cdef double e, old, inc, new, big, c
    for r in range(p):
        g[r] = 0.0
    if order >= 2:
        for r in range(p * p):
            V[r] = 0.0
    lb[0] = 0.0
    for j in range(1, m + 1):
        e = sign * eta[j - 1] - top
        lo = t - (m - j)
        if lo < 0:
            lo = 0
        hi = j if j < t else t
        kmin = lo if lo > 1 else 1
        for k in range(hi, kmin - 1, -1):
            old = lb[k] if k <= hi_old else -INFINITY
            inc = e + lb[k - 1]
            big = old if old > inc else inc
            if big == -INFINITY:
                new = -INFINITY
                c = 0.0
            else:
                new = big + log1p(exp(-(old - inc if old > inc else inc - old)))
                c = exp(inc - new)
            if order >= 1:
                if k > hi_old:
                    _first_entry(&g[k * p], &g[(k - 1) * p], &V[k * p * p], &V[(k - 1) * p * p],
                                 &X[(j - 1) * p], sign, p, order)
                else:
                    _mixture_update(&g[k * p], &g[(k - 1) * p], &V[k * p * p], &V[(k - 1) * p * p],
                                    &X[(j - 1) * p], sign, exp(old - new) if old > -INFINITY else 0.0, c, d, p,
                                    order)
            lb[k] = new
        hi_old = hi
    return lb[t]


cdef double _binary_group(const double* X, const double* eta, const double* y, Py_ssize_t m, Py_ssize_t p,
                          int order, int path, double* work, double* gradient, double* hessian) noexcept nogil:
    """The conditional log-likelihood of one group; adds its gradient to gradient (p) and its Hessian to the
    upper triangle of hessian (p x p). path: 0 automatic, 1 fast, 2 log space."""
    cdef Py_ssize_t j, r, u, t = 0, tt
    cdef double sign = 1.0, top = -INFINITY, bottom = INFINITY, e, numerator = 0.0, log_denominator
    cdef double* q = work
    cdef double* g
    cdef double* V
    cdef double* d
    for j in range(m):
        if y[j] > 0.5:
            t += 1
    tt = t
    if 2 * t > m:  # condition on the non-events instead: same likelihood, fewer cells
        sign = -1.0
        tt = m - t
    if tt == 0:
        return 0.0
    g = work + (tt + 1)
    V = g + (tt + 1) * p
    d = V + (tt + 1) * p * p
    for j in range(m):
        e = sign * eta[j]
        if e > top:
            top = e
        if e < bottom:
            bottom = e
    for j in range(m):
        if (y[j] > 0.5) == (sign > 0.0):
            numerator += sign * eta[j] - top
    if path == 2 or (path == 0 and top - bottom > _FAST_RANGE):
        log_denominator = _log_esp_logspace(X, eta, m, tt, p, sign, top, order, q, g, V, d)
    else:
        log_denominator = _log_esp_fast(X, eta, m, tt, p, sign, top, order, q, g, V, d)
    if order >= 1:
        for j in range(m):
            if (y[j] > 0.5) == (sign > 0.0):
                for r in range(p):
                    gradient[r] += sign * X[j * p + r]
        for r in range(p):
            gradient[r] -= g[tt * p + r]
    if order >= 2:
        for r in range(p):
            for u in range(r, p):
                hessian[r * p + u] -= V[tt * p * p + r * p + u]
    return numerator - log_denominator


cdef double _poisson_group(const double* X, const double* eta, const double* y, Py_ssize_t m, Py_ssize_t p,
                           int order, double* work, double* gradient, double* hessian) noexcept nogil:
    """sum_j y_j log softmax(eta)_j over one group; adds its gradient and Hessian (upper triangle).
    Workspace: work (m + 2 p)."""
    cdef Py_ssize_t j, r, u
    cdef double top = -INFINITY, total = 0.0, n = 0.0, log_z, value = 0.0, prob
    cdef double* mean = work + m
    cdef double* d = mean + p
    for j in range(m):
        n += y[j]
        if eta[j] > top:
            top = eta[j]
    if n == 0.0:
        return 0.0
    for j in range(m):
        work[j] = exp(eta[j] - top)
        total += work[j]
    log_z = log(total)
    for j in range(m):
        value += y[j] * (eta[j] - top - log_z)
    if order >= 1:
        for r in range(p):
            mean[r] = 0.0
        for j in range(m):
            prob = work[j] / total
            work[j] = prob
            for r in range(p):
                mean[r] += prob * X[j * p + r]
                gradient[r] += y[j] * X[j * p + r]
        for r in range(p):
            gradient[r] -= n * mean[r]
    if order >= 2:
        for j in range(m):
            for r in range(p):
                d[r] = X[j * p + r] - mean[r]
            for r in range(p):
                for u in range(r, p):
                    hessian[r * p + u] -= n * work[j] * d[r] * d[u]
    return value


# ---------------------------------------------------------------------------------------------------------
# loops over groups
# ---------------------------------------------------------------------------------------------------------
cdef void _linear_predictor(const double[:, ::1] X, const double[::1] offset, const double[::1] beta,
                            double[::1] eta) noexcept nogil:
    cdef Py_ssize_t i, r, n = X.shape[0], p = X.shape[1]
    cdef double s
    for i in range(n):
        s = offset[i]
        for r in range(p):
            s += X[i, r] * beta[r]
        eta[i] = s


def binary_workspace(const Py_ssize_t[::1] starts, const double[::1] y, Py_ssize_t p):
    """The length of the `work` buffer binary_loglik needs: (t + 1)(1 + p + p^2) + p for the largest
    min(t, m - t) over the groups."""
    cdef Py_ssize_t g, j, t, m, tt, best = 0
    for g in range(starts.shape[0] - 1):
        m = starts[g + 1] - starts[g]
        t = 0
        for j in range(starts[g], starts[g + 1]):
            if y[j] > 0.5:
                t += 1
        tt = t if 2 * t <= m else m - t
        if tt > best:
            best = tt
    return (best + 1) * (1 + p + p * p) + p


def binary_loglik(const double[:, ::1] X, const double[::1] offset, const double[::1] beta,
                  const double[::1] y, const Py_ssize_t[::1] starts, int order, double[::1] eta,
                  double[::1] group_llf, double[::1] gradient, double[:, ::1] hessian, double[::1] work,
                  int path=0):
    """Conditional logistic log-likelihood of every group and (order >= 1, 2) its gradient and Hessian.

    X (n, p), offset (n), y (n, 0/1) with rows sorted by group; starts (G + 1) the first row of each group.
    OUT: eta (n) the linear predictor, group_llf (G), gradient (p), hessian (p, p) (overwritten).
    Scratch: work, length binary_workspace(starts, y, p). path: 0 automatic, 1 ratios, 2 log space.
    Returns 0, or 1 if a value is not finite.
    """
    cdef Py_ssize_t g, r, u, G = starts.shape[0] - 1, p = X.shape[1]
    cdef int status = 0
    with nogil:
        _linear_predictor(X, offset, beta, eta)
        for r in range(p):
            gradient[r] = 0.0
            for u in range(p):
                hessian[r, u] = 0.0
        for g in range(G):
            group_llf[g] = _binary_group(&X[starts[g], 0] if p else NULL, &eta[starts[g]], &y[starts[g]],
                                         starts[g + 1] - starts[g], p, order, path, &work[0],
                                         &gradient[0] if p else NULL, &hessian[0, 0] if p else NULL)
            if not isfinite(group_llf[g]):
                status = 1
        for r in range(p):
            for u in range(r):
                hessian[r, u] = hessian[u, r]
    return status


def poisson_loglik(const double[:, ::1] X, const double[::1] offset, const double[::1] beta,
                   const double[::1] y, const Py_ssize_t[::1] starts, int order, double[::1] eta,
                   double[::1] group_llf, double[::1] gradient, double[:, ::1] hessian, double[::1] work):
    """Conditional Poisson (multinomial) log-likelihood without its constant, as binary_loglik.
    Scratch: work, length (largest group) + 2 p. Returns 0, or 1 if a value is not finite."""
    cdef Py_ssize_t g, r, u, G = starts.shape[0] - 1, p = X.shape[1]
    cdef int status = 0
    with nogil:
        _linear_predictor(X, offset, beta, eta)
        for r in range(p):
            gradient[r] = 0.0
            for u in range(p):
                hessian[r, u] = 0.0
        for g in range(G):
            group_llf[g] = _poisson_group(&X[starts[g], 0] if p else NULL, &eta[starts[g]], &y[starts[g]],
                                          starts[g + 1] - starts[g], p, order, &work[0],
                                          &gradient[0] if p else NULL, &hessian[0, 0] if p else NULL)
            if not isfinite(group_llf[g]):
                status = 1
        for r in range(p):
            for u in range(r):
                hessian[r, u] = hessian[u, r]
    return status
