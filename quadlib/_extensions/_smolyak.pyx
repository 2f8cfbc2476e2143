# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Smolyak sparse-grid weights.

A sparse grid over a downward-closed set I of multi-indices is the operator sum_{l in I} (x)_i Delta_{l_i},
with Delta_l = Q_l - Q_{l-1} the difference of consecutive 1-D rules. The weight of a grid point with
per-dimension node ids j is therefore sum_{l in I} prod_i D_i[l_i, j_i], D_i the 1-D difference weights.
For I = {l : sum_i alpha_i l_i <= budget} (integer alpha) that sum is a truncated product of polynomials
in z, one per dimension, sum_l D_i[l, j] z^(alpha_i l): a small dynamic programme per point.

References: S. A. Smolyak (1963); T. Gerstner and M. Griebel, "Numerical integration using sparse grids",
Numer. Algorithms 18 (1998); F. Nobile, R. Tempone and C. Webster, SIAM J. Numer. Anal. 46 (2008).
"""
from libc.stdlib cimport malloc, free


cdef inline Py_ssize_t _gcd(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    cdef Py_ssize_t t
    while b:
        t = a % b
        a = b
        b = t
    return a


def smolyak_weights(const int[:, ::1] ids, const long[::1] node_offset, const long[::1] entry_start,
                    const int[::1] entry_level, const double[::1] entry_value, const int[::1] alpha,
                    int budget, double[::1] out):
    """OUT: out[p] = sum over l with sum_i alpha_i l_i <= budget of prod_i D_i[l_i, ids[p, i]].

    Node j of dimension i has the (level, difference weight) entries
    entry_start[g] .. entry_start[g + 1] - 1, where g = node_offset[i] + j, in increasing level order.
    Dimensions with the same table may share node_offset. Needs 0 <= alpha[i] * level <= budget.
    """
    cdef Py_ssize_t p, n = ids.shape[0], d = ids.shape[1], i, e, g, s, shift, top, new_top, last, stride
    cdef double* poly
    cdef double* nxt
    cdef double* tmp
    cdef double total, value
    poly = <double*> malloc((budget + 1) * sizeof(double))
    nxt = <double*> malloc((budget + 1) * sizeof(double))
    if poly == NULL or nxt == NULL:
        free(poly)
        free(nxt)
        raise MemoryError()
    with nogil:
        for p in range(n):
            # poly[s] is zero beyond `top`, the largest cost reached so far, and off the multiples of
            # `stride`, the gcd of the alpha_k so far: the loops skip those zeros, which makes anisotropic
            # grids (a long cost axis, sparsely used) cheap; the sums are unchanged
            poly[0] = 1.0
            top = 0
            stride = 0
            for i in range(d):
                g = node_offset[i] + ids[p, i]
                new_top = top
                if entry_start[g + 1] > entry_start[g]:
                    new_top = top + alpha[i] * entry_level[entry_start[g + 1] - 1]
                    if new_top > budget:
                        new_top = budget
                for s in range(new_top + 1):
                    nxt[s] = 0.0
                for e in range(entry_start[g], entry_start[g + 1]):
                    shift = alpha[i] * entry_level[e]
                    value = entry_value[e]
                    last = budget - shift
                    if last > top:
                        last = top
                    if stride == 0:
                        nxt[shift] += poly[0] * value
                    else:
                        s = 0
                        while s <= last:
                            nxt[s + shift] += poly[s] * value
                            s += stride
                tmp = poly
                poly = nxt
                nxt = tmp
                top = new_top
                stride = _gcd(stride, alpha[i])
            total = 0.0
            s = 0
            while s <= top:
                total += poly[s]
                s += stride
            out[p] = total
    free(poly)
    free(nxt)


def count_points(const int[:, ::1] index_set, const long[::1] level_offset, const long[::1] new_start):
    """Number of sparse-grid points: sum over k in the index set of prod_i |new nodes of level k_i|.

    Level l of dimension i owns new_start[level_offset[i] + l] .. new_start[level_offset[i] + l + 1] - 1.
    """
    cdef Py_ssize_t r, i, g, d = index_set.shape[1]
    cdef long long total = 0, size
    with nogil:
        for r in range(index_set.shape[0]):
            size = 1
            for i in range(d):
                g = level_offset[i] + index_set[r, i]
                size *= new_start[g + 1] - new_start[g]
            total += size
    return total


def enumerate_points(const int[:, ::1] index_set, const long[::1] level_offset, const long[::1] new_start,
                     const int[::1] new_ids, int[:, ::1] out):
    """OUT: the node ids of every point, block after block: for each k in the index set, the tensor
    product (odometer order) of the nodes new at level k_i in each dimension."""
    cdef Py_ssize_t r, i, g, row = 0, d = index_set.shape[1]
    cdef long* lo = <long*> malloc(d * sizeof(long))
    cdef long* hi = <long*> malloc(d * sizeof(long))
    cdef long* pos = <long*> malloc(d * sizeof(long))
    cdef bint empty
    if lo == NULL or hi == NULL or pos == NULL:
        free(lo)
        free(hi)
        free(pos)
        raise MemoryError()
    with nogil:
        for r in range(index_set.shape[0]):
            empty = False
            for i in range(d):
                g = level_offset[i] + index_set[r, i]
                lo[i] = new_start[g]
                hi[i] = new_start[g + 1]
                pos[i] = lo[i]
                if hi[i] == lo[i]:
                    empty = True
            if empty:
                continue
            while True:
                for i in range(d):
                    out[row, i] = new_ids[pos[i]]
                row += 1
                i = d - 1
                while i >= 0:
                    pos[i] += 1
                    if pos[i] < hi[i]:
                        break
                    pos[i] = lo[i]
                    i -= 1
                if i < 0:
                    break
    free(lo)
    free(hi)
    free(pos)
