# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Globally adaptive cubature on hyper-rectangles with the Genz–Malik degree-7/5 embedded rule pair.

Design: the state (`GenzMalik`) keeps every region's centre, half-widths, value, error estimate and
split axis, with a binary max-heap on the errors. It runs by reverse communication like the 1-D kernel:
`request()` pops the worst regions (all those within half of the worst error, up to `batch`), bisects each
along its axis of largest fourth difference, and returns the abscissae of the children; `receive(values)`
applies the rule pair to them and pushes them back. The integrand (always vectorized) is called by the
Python layer once per batch.

Reference: A. C. Genz and A. A. Malik, "An adaptive algorithm for numerical integration over an
N-dimensional rectangular region", J. Comput. Appl. Math. 6 (1980) 295-302; J. Berntsen, T. O. Espelid
and A. Genz, "An adaptive algorithm for the approximate calculation of multiple integrals", ACM TOMS 17
(1991).
"""
from libc.math cimport fabs
from libc.stdlib cimport malloc, realloc, free
from libc.float cimport DBL_EPSILON

import numpy as np

cdef double LAMBDA2 = 0.35856858280031809   # sqrt(9/70)
cdef double LAMBDA3 = 0.94868329805051380   # sqrt(9/10)
cdef double LAMBDA4 = 0.94868329805051380   # sqrt(9/10)
cdef double LAMBDA5 = 0.68824720161168529   # sqrt(9/19)
cdef double ROUNDING = 50.0 * DBL_EPSILON    # QUADPACK's rounding floor, relative to the sum of |w f|


def genz_malik_template(int d):
    """Points (P x d) of the Genz–Malik rule on [-1, 1]^d and the point classes (0 centre, 1 +-l2 e_i,
    2 +-l3 e_i, 3 +-l4 e_i +- l4 e_j, 4 the 2^d corners +-l5): P = 2^d + 2 d^2 + 2 d + 1."""
    points = [np.zeros(d)]
    kind = [0]
    for lam, k in ((LAMBDA2, 1), (LAMBDA3, 2)):
        for i in range(d):
            for s in (1.0, -1.0):
                p = np.zeros(d)
                p[i] = s * lam
                points.append(p)
                kind.append(k)
    for i in range(d):
        for j in range(i + 1, d):
            for si in (1.0, -1.0):
                for sj in (1.0, -1.0):
                    p = np.zeros(d)
                    p[i], p[j] = si * LAMBDA4, sj * LAMBDA4
                    points.append(p)
                    kind.append(3)
    for corner in range(1 << d):
        points.append(np.array([LAMBDA5 if (corner >> i) & 1 else -LAMBDA5 for i in range(d)]))
        kind.append(4)
    return np.array(points), np.array(kind, dtype=np.intc)


def genz_malik_weights(int d):
    """Weights per point class of the degree-7 rule and the embedded degree-5 rule on [-1, 1]^d."""
    v = 2.0 ** d
    w7 = np.array([v * (12824.0 - 9120.0 * d + 400.0 * d * d) / 19683.0, v * 980.0 / 6561.0,
                   v * (1820.0 - 400.0 * d) / 19683.0, v * 200.0 / 19683.0, 6859.0 / 19683.0])
    w5 = np.array([v * (729.0 - 950.0 * d + 50.0 * d * d) / 729.0, v * 245.0 / 486.0, v * (265.0 - 100.0 * d) / 1458.0,
                   v * 25.0 / 729.0, 0.0])
    return w7, w5


cdef class GenzMalik:
    """Adaptive Genz–Malik cubature on one box, by reverse communication (see the module docstring).

    The m components come in groups of `parts` consecutive ones (real and imaginary parts, the orthants
    of a real line split at 0) whose sum is one integral: a region's error is the largest over the groups
    of the sum of its parts' errors, and never below the rounding floor 50 eps sum |w7 f| vol.
    """
    cdef int d, m, P, batch, parts
    cdef Py_ssize_t n_regions, capacity
    cdef double* centre      # capacity x d
    cdef double* half        # capacity x d
    cdef double* value       # capacity x m
    cdef double* error       # capacity
    cdef int* axis           # capacity
    cdef Py_ssize_t* heap    # region indices, max-heap on error
    cdef Py_ssize_t heap_size
    cdef double[:, ::1] template
    cdef int[::1] kind
    cdef double[::1] w7, w5
    cdef Py_ssize_t* pending
    cdef Py_ssize_t n_pending
    cdef double* parent_value  # batch x m: the value of the region each pending pair was split from
    cdef double* parent_error  # batch
    cdef public long nfev
    cdef bint first_pass
    cdef public double underestimate  # largest gap / parent estimate seen in a split (>= 1)
    cdef public double floor  # parent estimates below this count as this much (a gap this small is harmless)

    def __cinit__(self, double[:, ::1] lower, double[:, ::1] upper, int m, int batch, int parts=1):
        """Start from the boxes [lower[k], upper[k]] (K x d each): the initial partition."""
        cdef Py_ssize_t i, k, K = lower.shape[0]
        if parts < 1 or m % parts:
            raise ValueError("GenzMalik: m must be a multiple of parts")
        self.d = lower.shape[1]
        self.m = m
        self.parts = parts
        self.batch = batch
        template, kind = genz_malik_template(self.d)
        self.template = template
        self.kind = kind
        self.P = template.shape[0]
        w7, w5 = genz_malik_weights(self.d)
        self.w7, self.w5 = w7, w5
        self.capacity = max(64, K)
        self.centre = <double*> malloc(self.capacity * self.d * sizeof(double))
        self.half = <double*> malloc(self.capacity * self.d * sizeof(double))
        self.value = <double*> malloc(self.capacity * m * sizeof(double))
        self.error = <double*> malloc(self.capacity * sizeof(double))
        self.axis = <int*> malloc(self.capacity * sizeof(int))
        self.heap = <Py_ssize_t*> malloc(self.capacity * sizeof(Py_ssize_t))
        self.pending = <Py_ssize_t*> malloc(max(2 * batch, K) * sizeof(Py_ssize_t))
        self.parent_value = <double*> malloc(batch * m * sizeof(double))
        self.parent_error = <double*> malloc(batch * sizeof(double))
        if (self.centre == NULL or self.half == NULL or self.value == NULL or self.error == NULL
                or self.axis == NULL or self.heap == NULL or self.pending == NULL or self.parent_value == NULL
                or self.parent_error == NULL):
            raise MemoryError()
        for k in range(K):
            for i in range(self.d):
                self.centre[k * self.d + i] = 0.5 * (lower[k, i] + upper[k, i])
                self.half[k * self.d + i] = 0.5 * (upper[k, i] - lower[k, i])
            self.pending[k] = k
        self.n_regions = K
        self.heap_size = 0
        self.n_pending = K
        self.nfev = 0
        self.first_pass = True
        self.underestimate = 1.0
        self.floor = 0.0

    def __dealloc__(self):
        free(self.centre)
        free(self.half)
        free(self.value)
        free(self.error)
        free(self.axis)
        free(self.heap)
        free(self.pending)
        free(self.parent_value)
        free(self.parent_error)

    cdef int _grow(self, Py_ssize_t needed) except -1:
        cdef Py_ssize_t cap = self.capacity
        while cap < needed:
            cap *= 2
        if cap == self.capacity:
            return 0
        self.centre = <double*> _realloc(self.centre, cap * self.d * sizeof(double))
        self.half = <double*> _realloc(self.half, cap * self.d * sizeof(double))
        self.value = <double*> _realloc(self.value, cap * self.m * sizeof(double))
        self.error = <double*> _realloc(self.error, cap * sizeof(double))
        self.axis = <int*> _realloc(self.axis, cap * sizeof(int))
        self.heap = <Py_ssize_t*> _realloc(self.heap, cap * sizeof(Py_ssize_t))
        self.capacity = cap
        return 0

    # ---- heap on error
    cdef void _push(self, Py_ssize_t r) noexcept nogil:
        cdef Py_ssize_t i = self.heap_size, parent
        self.heap_size += 1
        while i > 0:
            parent = (i - 1) // 2
            if self.error[self.heap[parent]] >= self.error[r]:
                break
            self.heap[i] = self.heap[parent]
            i = parent
        self.heap[i] = r

    cdef Py_ssize_t _pop(self) noexcept nogil:
        cdef Py_ssize_t top = self.heap[0], last, i = 0, child
        self.heap_size -= 1
        if self.heap_size == 0:
            return top
        last = self.heap[self.heap_size]
        while True:
            child = 2 * i + 1
            if child >= self.heap_size:
                break
            if child + 1 < self.heap_size and self.error[self.heap[child + 1]] > self.error[self.heap[child]]:
                child += 1
            if self.error[self.heap[child]] <= self.error[last]:
                break
            self.heap[i] = self.heap[child]
            i = child
        self.heap[i] = last
        return top

    def request(self, long max_points):
        """Abscissae (n x d) for the next batch: the pending regions' rule points. Splits the worst regions
        first when nothing is pending. Returns an empty array when max_points would be exceeded."""
        cdef Py_ssize_t k, r, child, i
        cdef double worst
        cdef int ax
        if self.n_pending == 0:
            if self.heap_size == 0:
                return np.empty((0, self.d))
            worst = self.error[self.heap[0]]
            while self.heap_size and self.n_pending < 2 * self.batch and \
                    self.error[self.heap[0]] >= 0.5 * worst and \
                    self.nfev + (self.n_pending + 2) * self.P <= max_points:
                r = self._pop()
                for i in range(self.m):
                    self.parent_value[(self.n_pending // 2) * self.m + i] = self.value[r * self.m + i]
                self.parent_error[self.n_pending // 2] = self.error[r]
                self._grow(self.n_regions + 1)
                child = self.n_regions
                self.n_regions += 1
                ax = self.axis[r]
                for i in range(self.d):
                    self.centre[child * self.d + i] = self.centre[r * self.d + i]
                    self.half[child * self.d + i] = self.half[r * self.d + i]
                self.half[r * self.d + ax] *= 0.5
                self.half[child * self.d + ax] = self.half[r * self.d + ax]
                self.centre[r * self.d + ax] -= self.half[r * self.d + ax]
                self.centre[child * self.d + ax] += self.half[child * self.d + ax]
                self.pending[self.n_pending] = r
                self.pending[self.n_pending + 1] = child
                self.n_pending += 2
            if self.n_pending == 0:
                return np.empty((0, self.d))
        x = np.empty((self.n_pending * self.P, self.d))
        cdef double[:, ::1] xv = x
        cdef Py_ssize_t p, j
        for k in range(self.n_pending):
            r = self.pending[k]
            for p in range(self.P):
                for j in range(self.d):
                    xv[k * self.P + p, j] = self.centre[r * self.d + j] + self.half[r * self.d + j] * self.template[p, j]
        return x

    def receive(self, double[:, ::1] values):
        """Values (n x m) at the last request's abscissae: rule pair, error and split axis per region."""
        cdef Py_ssize_t k, r, p, c, i, base
        cdef double vol, r7, r5, a7, err, f0, diff, best, ratio = (LAMBDA2 / LAMBDA3) ** 2, gap
        cdef double group_err, group_abs, group_gap
        cdef Py_ssize_t child
        cdef int kd
        self.nfev += values.shape[0]
        for k in range(self.n_pending):
            r = self.pending[k]
            base = k * self.P
            vol = 1.0
            for i in range(self.d):
                vol *= self.half[r * self.d + i]
            err = 0.0
            group_err = 0.0
            group_abs = 0.0
            for c in range(self.m):
                r7 = 0.0
                r5 = 0.0
                a7 = 0.0
                for p in range(self.P):
                    kd = self.kind[p]
                    r7 += self.w7[kd] * values[base + p, c]
                    r5 += self.w5[kd] * values[base + p, c]
                    a7 += fabs(self.w7[kd] * values[base + p, c])
                # the rules are for [-1, 1]^d (volume 2^d): scale by the half-widths' product
                self.value[r * self.m + c] = r7 * vol
                group_err += fabs(r7 - r5) * vol
                group_abs += a7 * fabs(vol)
                if (c + 1) % self.parts == 0:
                    # below the rounding error of the weighted sums the difference means nothing
                    err = max(err, max(group_err, ROUNDING * group_abs))
                    group_err = 0.0
                    group_abs = 0.0
            self.error[r] = err
            # split where the fourth divided difference is largest (points 1 + 2i, 2 + 2i are +-l2 e_i,
            # 1 + 2d + 2i, 2 + 2d + 2i are +-l3 e_i)
            best = -1.0
            self.axis[r] = 0
            for i in range(self.d):
                diff = 0.0
                for c in range(self.m):
                    f0 = values[base, c]
                    diff += fabs(values[base + 1 + 2 * i, c] + values[base + 2 + 2 * i, c] - 2.0 * f0
                                 - ratio * (values[base + 1 + 2 * self.d + 2 * i, c]
                                            + values[base + 2 + 2 * self.d + 2 * i, c] - 2.0 * f0))
                if diff > best:
                    best = diff
                    self.axis[r] = i
        # Check each split against its parent: if the halves disagree with the parent by more than the
        # parent's estimate, that estimate was wrong (a kink or jump the rules could not see); the halves
        # get at least half the disagreement, so the region is refined until the disagreement vanishes.
        if not self.first_pass:
            for k in range(0, self.n_pending, 2):
                r = self.pending[k]
                child = self.pending[k + 1]
                gap = 0.0
                group_gap = 0.0
                for c in range(self.m):
                    group_gap += fabs(self.parent_value[(k // 2) * self.m + c]
                                      - self.value[r * self.m + c] - self.value[child * self.m + c])
                    if (c + 1) % self.parts == 0:
                        gap = max(gap, group_gap)
                        group_gap = 0.0
                if gap > self.parent_error[k // 2]:
                    self.error[r] = max(self.error[r], 0.5 * gap)
                    self.error[child] = max(self.error[child], 0.5 * gap)
                    if gap > self.floor:
                        self.underestimate = max(self.underestimate,
                                                 gap / max(self.parent_error[k // 2], self.floor))
        for k in range(self.n_pending):
            self._push(self.pending[k])
        self.first_pass = False
        self.n_pending = 0

    def totals(self):
        """(integral (m,), error estimate, number of regions). The estimate is the sum of the regions'
        estimates times the worst underestimate a split has revealed: evidence, from this integrand,
        of how far the rule pair's difference can fall short."""
        cdef Py_ssize_t r, c
        total = np.zeros(self.m)
        cdef double[::1] tv = total
        cdef double err = 0.0
        for r in range(self.n_regions):
            for c in range(self.m):
                tv[c] += self.value[r * self.m + c]
            err += self.error[r]
        return total, err * self.underestimate, self.n_regions


cdef void* _realloc(void* p, size_t size) except NULL:
    cdef void* q = realloc(p, size)
    if q == NULL:
        raise MemoryError()
    return q
