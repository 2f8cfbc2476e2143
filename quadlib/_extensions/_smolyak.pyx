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


def smolyak_weights(const int[:, ::1] ids, const long[::1] node_offset, const long[::1] entry_start,
                    const int[::1] entry_level, const double[::1] entry_value, const int[::1] alpha,
                    int budget, double[::1] out):
    """OUT: out[p] = sum over l with sum_i alpha_i l_i <= budget of prod_i D_i[l_i, ids[p, i]].

    Node j of dimension i has the (level, difference weight) entries
    entry_start[g] .. entry_start[g + 1] - 1, where g = node_offset[i] + j.
    """
    cdef Py_ssize_t p, n = ids.shape[0], d = ids.shape[1], i, e, g, s, shift
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
            for s in range(budget + 1):
                poly[s] = 0.0
            poly[0] = 1.0
            for i in range(d):
                for s in range(budget + 1):
                    nxt[s] = 0.0
                g = node_offset[i] + ids[p, i]
                for e in range(entry_start[g], entry_start[g + 1]):
                    shift = alpha[i] * entry_level[e]
                    value = entry_value[e]
                    for s in range(budget + 1 - shift):
                        nxt[s + shift] += poly[s] * value
                tmp = poly
                poly = nxt
                nxt = tmp
            total = 0.0
            for s in range(budget + 1):
                total += poly[s]
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
