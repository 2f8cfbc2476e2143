# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Globally adaptive cubature on hyper-rectangles with a degree-7 fully symmetric rule and four null rules.

Design: the state (`GenzMalik`) keeps every region's centre, half-widths, value, error estimate and
split axis, with a binary max-heap on the errors. It runs by reverse communication like the 1-D kernel:
`request()` pops the worst regions (all those within half of the worst error, up to `batch`), bisects each
along its axis of largest fourth difference, and returns the abscissae of the children; `receive(values)`
applies the rule and its null rules to them and pushes them back. The integrand (always vectorized) is
called by the Python layer once per batch.

The rule (DCUHRE's degree-7 rule, of the Genz–Malik family): six classes of points on [-1, 1]^d, the
centre, +-l2 e_i, +-l1 e_i, +-lp e_i, +-l1 e_i +- l1 e_j and the 2^d corners +-l0, in all
``2^d + 2 d^2 + 4 d + 1`` points. `rule_weights` derives the basic rule's weights and four null rules (of
degrees 5, 5, 3 and 1: they integrate every polynomial of that degree to 0) from the moment equations; the
basic rule leaves the lp class out, which exists for the null rules.

The error of a region (Berntsen, Espelid and Genz's DRLHRE): with e_k = |null_k(f)| (the null rules
orthonormal under the sum over the points, at the basic rule's norm), N_i = sqrt(e_i^2 + e_(i+1)^2) is the
largest value of a unit null rule in the plane of null_i and null_(i+1), i = 1, 2, 3. When they decrease
fast (N_1 <= R_CRIT N_2 and N_2 <= R_CRIT N_3, R_CRIT = 0.2) the integrand is in the asymptotic range of the
rule and E = C_ASYM N_1 (C_ASYM = 1); otherwise (a kink, a jump, a peak the rule does not resolve) E =
C_NONASYM max(N_1, N_2, N_3) (C_NONASYM = 5). Berntsen and Espelid's extrapolation of N_1 by the ratio r
was measured and not used: on sub-boxes of the Genz families r N_1 fell up to 70x below the true error.

Two checks follow each wave of splits, and either marks the wave (`disagreed`; the Python layer never
stops on such a wave):

* DADHRE's: the halves are far more accurate than their parent, so their disagreement with it measures
  the parent's error. More than the parent's estimate means the estimate was wrong: the halves get at
  least half the disagreement each.
* Features between the nodes: no node lies within (1 - l1) h (2.2 % of the width) of a face, so a jump
  or kink next to a cut is invisible to both halves. Their degree-6 extrapolations along the split axis to
  the common face then disagree by more than their own extrapolation errors (the degree-6 value against
  the degree-4 one): a jump dv could hide in a band of width (1 - l1) h, a kink ds in one costing
  ((1 - l1) h)^2 ds / 2, over the face. Both halves carry that bound as a *face band* (part of their
  error), passed on halved to the halves of their own splits that still touch the face, and a region whose
  band is a quarter or more of its error is split across that face, which brings the feature into view.
  The central line misses a jump that ends before it (Genz's discontinuous family, whose other jump puts
  the line in the zero region on both sides), so the lines at +-l1 across each other axis are compared too,
  by their quadratic extrapolations (three nodes per half on each; no node is added; a disagreement must
  exceed LINE_TRUST = 16 times their linear extrapolations' differences, since a quadratic through a peak
  the halves do not resolve yet disagrees well beyond that estimate: at 1 the Gaussian family's cost rose
  up to 4x).
* Features next to the box's boundary: nothing lies across an outer face to compare with, so a region on
  the boundary gets one extra node per outer face, on the axis line through its centre, OUTER_INSET = 1e-3
  of the half-width inside the face (not on it: an integrable end singularity makes f infinite there). Its
  value against the region's own degree-6 extrapolation bounds the band in the same way (a jump dv costs
  at most (1 - l1) h dv over the face, a kink half that); the band is part of the region's error, and a
  half touching that face checks it afresh (no inheritance). Only a feature within 1e-3 of a region's
  half-width of the boundary stays invisible (2.2 % before: 24 silent failures in the 6000-run Genz
  protocol). Cost: one node per outer face of a region, 2d for the first box of 2^d + 2 d^2 + 4 d + 1.

References: A. C. Genz and A. A. Malik, "An adaptive algorithm for numerical integration over an
N-dimensional rectangular region", J. Comput. Appl. Math. 6 (1980) 295-302, and "An imbedded family of fully
symmetric numerical integration rules", SIAM J. Numer. Anal. 20 (1983) 580-588; J. Berntsen, T. O. Espelid
and A. Genz, "An adaptive algorithm for the approximate calculation of multiple integrals" (DCUHRE), ACM
TOMS 17 (1991) 437-451; J. Berntsen and T. O. Espelid, "Error estimation in automatic quadrature routines",
ACM TOMS 17 (1991) 233-252.
"""
from libc.math cimport fabs, sqrt
from libc.stdlib cimport malloc, realloc, free
from libc.float cimport DBL_EPSILON

import itertools

import numpy as np

# DCUHRE's generators (squared): l0^2 = 0.4707 for the corners, lp^2 = 0.5625, and l1, l2 chosen so that
# the degree-7 moment equations (seven of them for d >= 3) are consistent with the six classes
cdef double L0_SQ = 0.4707
cdef double LP_SQ = 0.5625
cdef double L1_SQ = 4.0 / (15.0 - 5.0 / 0.4707)
cdef double _R = (1.0 - (4.0 / (15.0 - 5.0 / 0.4707)) / 0.4707) / 27.0
cdef double L2_SQ = (5.0 - 7.0 * L1_SQ - 35.0 * _R) / (7.0 - 35.0 * L1_SQ / 3.0 - 35.0 * _R / 0.4707)
cdef double ROUNDING = 50.0 * DBL_EPSILON    # QUADPACK's rounding floor, relative to the sum of |w f|
DEF NCLASS = 6
DEF NRULES = 5  # the basic rule and four null rules

# Berntsen–Espelid's decision (module docstring): the ratio below which the null rules are taken as
# asymptotic, and the safety factors of the three regimes
cdef double R_CRIT = 0.2
cdef double C_ASYM = 1.0
cdef double C_NONASYM = 5.0
cdef double BAND_TRUST = 1.0  # a disagreement above this many times the extrapolation errors is a feature
# where a region's face lies on its initial box's boundary, one extra node at this distance (per unit
# half-width) inside the face: not on it, where integrable end singularities make f infinite
cdef double OUTER_INSET = 1e-3
cdef int CHECKS = 3               # bit 0 the outer faces' nodes, bit 1 the lines off the centre (experiments)
cdef double LINE_TRUST = 16.0     # a line's disagreement above this many times its estimate is a feature
BOUNDARY_INSET = OUTER_INSET      # for tests: the part of a region's half-width no node sees at the boundary

GENERATORS = {"l0": float(np.sqrt(L0_SQ)), "lp": float(np.sqrt(LP_SQ)), "l1": float(np.sqrt(L1_SQ)),
              "l2": float(np.sqrt(L2_SQ))}


def rule_template(int d):
    """Points (P x d) of the rule on [-1, 1]^d and their classes: 0 the centre, 1 +-l2 e_i, 2 +-l1 e_i,
    3 +-lp e_i, 4 +-l1 e_i +- l1 e_j (i < j), 5 the 2^d corners +-l0. P = 2^d + 2 d^2 + 4 d + 1. The
    points of class 1 and 2 along axis i are rows 1 + 2i, 2 + 2i and 1 + 2d + 2i, 2 + 2d + 2i."""
    l0, lp, l1, l2 = (GENERATORS[k] for k in ("l0", "lp", "l1", "l2"))
    points = [np.zeros(d)]
    kind = [0]
    for lam, k in ((l2, 1), (l1, 2), (lp, 3)):
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
                    p[i], p[j] = si * l1, sj * l1
                    points.append(p)
                    kind.append(4)
    for corner in range(1 << d):
        points.append(np.array([l0 if (corner >> i) & 1 else -l0 for i in range(d)]))
        kind.append(5)
    return np.array(points).reshape(-1, d), np.array(kind, dtype=np.intc)


def face_weights(double at=1.0):
    """Weights (4 x 7) giving the value and the slope at t = `at` of the polynomial of degree 6 through the
    values at t = 0, +l2, -l2, +l1, -l1, +lp, -lp (the rule's points on one axis through the centre), then
    those of the polynomial of degree 4 through the first five (their differences from the first two
    estimate the error of the extrapolation)."""
    t = np.array([0.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0]) * np.array(
        [0.0] + [GENERATORS["l2"]] * 2 + [GENERATORS["l1"]] * 2 + [GENERATORS["lp"]] * 2)
    out = np.zeros((4, 7))
    for row, n in ((0, 7), (2, 5)):
        V = np.vander(t[:n], n, increasing=True)  # V[j, k] = t_j^k
        out[row, :n] = np.linalg.solve(V.T, at ** np.arange(float(n)))
        out[row + 1, :n] = np.linalg.solve(V.T, np.arange(float(n)) * at ** np.maximum(np.arange(float(n)) - 1, 0))
    return out


def line_weights():
    """Weights (2 x 3) giving the value at t = +1 of the polynomial of degree 2 through the values at
    t = 0, +l1, -l1 (the rule's points on a line parallel to an axis at +-l1 across another axis), then of
    the line through the first two (the difference estimates the first one's error)."""
    l1 = GENERATORS["l1"]
    t = np.array([0.0, l1, -l1])
    out = np.zeros((2, 3))
    out[0] = np.linalg.solve(np.vander(t, 3, increasing=True).T, np.ones(3))
    out[1, :2] = np.linalg.solve(np.vander(t[:2], 2, increasing=True).T, np.ones(2))
    return out


def _even_monomials(int d, int degree):
    """Exponent vectors (one per orbit of the symmetry group) of the even monomials of degree <= `degree`:
    every fully symmetric rule integrates the odd ones to 0, and one monomial per orbit suffices."""
    out = []
    for e in itertools.product(range(0, degree + 1, 2), repeat=min(d, degree // 2)):
        if sum(e) <= degree and list(e) == sorted(e, reverse=True):
            a = np.zeros(d, dtype=int)
            a[:len(e)] = e
            out.append(a)
    return out


def _null_space(A, tol=1e-10):
    """Orthonormal basis (columns) of the null space of A."""
    if A.shape[0] == 0:
        return np.eye(A.shape[1])
    _, s, vt = np.linalg.svd(A)
    rank = int(np.sum(s > tol * max(1.0, s[0])))
    return vt[rank:].T


_RULES = {}


def rule_weights(int d):
    """Weights per point class (NRULES x 6) on [-1, 1]^d: row 0 the degree-7 basic rule, rows 1-4 null rules
    of degrees 5, 5, 3, 1, derived from the moment equations (nothing transcribed).

    The moment equations of a fully symmetric rule are one per orbit of even monomials (1, x^2, x^4, x^2 y^2,
    x^6, x^4 y^2, x^2 y^2 z^2 for degree 7), each a linear equation in the class weights: the sum over the
    class of the monomial. The basic rule solves them without the lp class. A null rule of degree k solves
    the homogeneous equations of degree <= k. The null rules are orthogonal and scaled to the basic rule's
    norm, both under the sum over the points (class weights counted once per point), as DCUHRE's are:
    the two of degree 5 span that space (the second, like the Genz–Malik difference R7 - R5, leaves the lp
    class out); those of degree 3 and 1 are the members, without the lp class where possible, orthogonal to
    the earlier ones.
    """
    if d in _RULES:
        return _RULES[d]
    points, kind = rule_template(d)
    count = np.bincount(kind, minlength=NCLASS).astype(float)
    present = count > 0

    def system(degree):
        monomials = _even_monomials(d, degree)
        A = np.array([[np.sum(np.prod(points[kind == c] ** a, axis=1)) for c in range(NCLASS)] for a in monomials])
        b = np.array([np.prod(2.0 / (a + 1.0)) for a in monomials])
        return A.reshape(-1, NCLASS), b

    A7, b7 = system(7)
    use = present.copy()
    use[3] = False  # the basic rule leaves the lp class to the null rules
    basic = np.zeros(NCLASS)
    basic[use] = np.linalg.lstsq(A7[:, use], b7, rcond=None)[0]
    if np.max(np.abs(A7 @ basic - b7)) > 1e-12 * 2.0 ** d:
        raise ArithmeticError(f"the degree-7 moment equations are inconsistent in d = {d}")
    # inner product over the points: <u, v> = sum_c count_c u_c v_c; work in coordinates scaled by sqrt(count)
    root = np.sqrt(count)
    target = np.sqrt(np.sum(count * basic * basic))
    nulls = []

    def member(degree, extra_zero):
        """A null rule of the given degree orthogonal to the earlier ones (and zero on the classes listed)."""
        A, _ = system(degree)
        rows = [A] + [(count * u)[None, :] for u in nulls]
        rows += [np.eye(NCLASS)[c][None, :] for c in range(NCLASS) if not present[c] or c in extra_zero]
        basis = _null_space(np.vstack(rows))
        if basis.shape[1] == 0 and extra_zero:
            return member(degree, ())
        u = basis[:, 0]
        return u * target / np.sqrt(np.sum(count * u * u))

    second = member(5, (3,))           # the degree-5 null rule on the five Genz–Malik classes
    nulls.append(second)
    first = member(5, ())              # the other one, orthogonal to it
    nulls.insert(0, first)
    nulls.append(member(3, (3,)))
    nulls.append(member(1, (3,)))
    for u in nulls:  # a sign convention, so that the weights are reproducible
        u *= np.sign(u[np.argmax(np.abs(u))])
    weights = np.vstack([basic] + nulls)
    _RULES[d] = weights
    return weights


cdef class GenzMalik:
    """Adaptive cubature with the degree-7 rule and its null rules on one box, by reverse communication
    (see the module docstring).

    The m components come in groups of `parts` consecutive ones (real and imaginary parts, the orthants
    of a real line split at 0) whose sum is one integral: a region's error is the largest over the groups
    of the sum of its parts' errors, and never below the rounding floor 50 eps sum |w f| vol.

    Attributes
    ----------
    disagreed : bool
        Whether, in the last wave of splits, the halves of a region disagreed with it by more than its
        estimate (and by more than `floor`): evidence of a kink or jump the rule could not see.
    floor : double
        Disagreements below this are harmless (the Python layer sets it to 1e-3 of the tolerance).
    """
    cdef int d, m, P, batch, parts
    cdef Py_ssize_t n_regions, capacity
    cdef double* centre      # capacity x d
    cdef double* half        # capacity x d
    cdef double* value       # capacity x m
    cdef double* error       # capacity
    cdef int* axis           # capacity
    # per face (axis i, side: lower 2i, upper 2i + 1) where the region's values and its neighbour's disagree
    # (see `_band`): the error a feature hidden next to it could make; their sum is part of `error`
    cdef double* face_band   # capacity x 2d
    # per region, bit f set when its face f lies on its initial box's boundary, where no neighbour's values
    # can be compared with its own: one extra node just inside that face checks the band instead (`_outer`)
    cdef unsigned long long* outer  # capacity
    cdef Py_ssize_t* outer_k      # per extra node of the pending batch: the pending index and the face
    cdef int* outer_face
    cdef Py_ssize_t n_outer
    cdef double inset[4][7]       # as `face`, at t = 1 - OUTER_INSET
    cdef double line[2][3]        # `line_weights`
    cdef Py_ssize_t* heap    # region indices, max-heap on error
    cdef Py_ssize_t heap_size
    cdef double[:, ::1] template
    cdef int[::1] kind
    cdef double weights[NRULES][NCLASS]
    cdef double ratio        # (l2 / l1)^2, for the fourth differences
    cdef double face[4][7]   # value and slope at t = +1 of the degree-6 and -4 interpolants on the axis line
    cdef Py_ssize_t* pending
    cdef Py_ssize_t n_pending
    cdef double* parent_value  # batch x m: the value of the region each pending pair was split from
    cdef double* parent_error  # batch
    cdef int* parent_axis      # batch: the axis the parent was split along
    cdef double* parent_face_band  # batch x 2d: the parent's face bands
    cdef public long nfev
    cdef bint first_pass
    cdef public bint disagreed
    cdef public double floor

    def __cinit__(self, double[:, ::1] lower, double[:, ::1] upper, int m, int batch, int parts=1):
        """Start from the boxes [lower[k], upper[k]] (K x d each): the initial partition."""
        cdef Py_ssize_t i, k, K = lower.shape[0]
        if parts < 1 or m % parts:
            raise ValueError("GenzMalik: m must be a multiple of parts")
        self.d = lower.shape[1]
        self.m = m
        self.parts = parts
        self.batch = batch
        template, kind = rule_template(self.d)
        self.template = template
        self.kind = kind
        self.P = template.shape[0]
        w = rule_weights(self.d)
        for i in range(NRULES):
            for k in range(NCLASS):
                self.weights[i][k] = w[i, k]
        self.ratio = L2_SQ / L1_SQ
        lagrange = face_weights()
        inset = face_weights(1.0 - OUTER_INSET)
        for i in range(4):
            for k in range(7):
                self.face[i][k] = lagrange[i, k]
                self.inset[i][k] = inset[i, k]
        lw = line_weights()
        for i in range(2):
            for k in range(3):
                self.line[i][k] = lw[i, k]
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
        self.parent_axis = <int*> malloc(batch * sizeof(int))
        self.parent_face_band = <double*> malloc(batch * 2 * self.d * sizeof(double))
        self.face_band = <double*> malloc(self.capacity * 2 * self.d * sizeof(double))
        self.outer = <unsigned long long*> malloc(self.capacity * sizeof(unsigned long long))
        self.outer_k = <Py_ssize_t*> malloc(max(2 * batch, K) * 2 * self.d * sizeof(Py_ssize_t))
        self.outer_face = <int*> malloc(max(2 * batch, K) * 2 * self.d * sizeof(int))
        if (self.outer == NULL or self.outer_k == NULL or self.outer_face == NULL or self.centre == NULL or self.half == NULL or self.value == NULL or self.error == NULL
                or self.axis == NULL or self.heap == NULL or self.pending == NULL or self.parent_value == NULL
                or self.parent_error == NULL or self.parent_axis == NULL or self.parent_face_band == NULL
                or self.face_band == NULL):
            raise MemoryError()
        for k in range(K):
            for i in range(self.d):
                self.centre[k * self.d + i] = 0.5 * (lower[k, i] + upper[k, i])
                self.half[k * self.d + i] = 0.5 * (upper[k, i] - lower[k, i])
            self.pending[k] = k
            for i in range(2 * self.d):
                self.face_band[k * 2 * self.d + i] = 0.0
            # the mask has 64 bits; beyond d = 32 (2^32 points per region) no face is checked
            self.outer[k] = ((<unsigned long long> 1) << (2 * self.d)) - 1 if self.d < 32 else \
                (0 if self.d > 32 else ~(<unsigned long long> 0))
        self.n_regions = K
        self.n_outer = 0
        self.heap_size = 0
        self.n_pending = K
        self.nfev = 0
        self.first_pass = True
        self.disagreed = False
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
        free(self.parent_axis)
        free(self.parent_face_band)
        free(self.face_band)
        free(self.outer)
        free(self.outer_k)
        free(self.outer_face)

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
        self.face_band = <double*> _realloc(self.face_band, cap * 2 * self.d * sizeof(double))
        self.outer = <unsigned long long*> _realloc(self.outer, cap * sizeof(unsigned long long))
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
        """Abscissae (n x d) for the next batch: the pending regions' rule points, then one node per outer
        face of each (`_outer_check`). Splits the worst regions first when nothing is pending. Returns an
        empty array when max_points would be exceeded."""
        cdef Py_ssize_t k, r, child, i
        cdef double worst, fb
        cdef int ax
        cdef long extra = 0
        if self.n_pending == 0:
            if self.heap_size == 0:
                return np.empty((0, self.d))
            worst = self.error[self.heap[0]]
            while self.heap_size and self.n_pending < 2 * self.batch and \
                    self.error[self.heap[0]] >= 0.5 * worst and \
                    self.nfev + (self.n_pending + 2) * self.P + extra + \
                    2 * _popcount(self.outer[self.heap[0]]) <= max_points:
                r = self._pop()
                for i in range(self.m):
                    self.parent_value[(self.n_pending // 2) * self.m + i] = self.value[r * self.m + i]
                self.parent_error[self.n_pending // 2] = self.error[r]
                self._grow(self.n_regions + 1)
                child = self.n_regions
                self.n_regions += 1
                # where most of the estimate is the band at a face, split across that face's hyperplanes:
                # the band halves, and a feature hidden in it comes into view
                ax = self.axis[r]
                fb = 0.25 * self.error[r]
                for i in range(2 * self.d):
                    if self.face_band[r * 2 * self.d + i] > fb:
                        fb = self.face_band[r * 2 * self.d + i]
                        ax = i // 2
                    self.parent_face_band[(self.n_pending // 2) * 2 * self.d + i] = self.face_band[r * 2 * self.d + i]
                self.parent_axis[self.n_pending // 2] = ax
                for i in range(self.d):
                    self.centre[child * self.d + i] = self.centre[r * self.d + i]
                    self.half[child * self.d + i] = self.half[r * self.d + i]
                self.half[r * self.d + ax] *= 0.5
                self.half[child * self.d + ax] = self.half[r * self.d + ax]
                self.centre[r * self.d + ax] -= self.half[r * self.d + ax]
                self.centre[child * self.d + ax] += self.half[child * self.d + ax]
                # the lower half keeps the parent's outer faces but the upper one across the cut, and the other
                # way round
                self.outer[child] = self.outer[r] & ~((<unsigned long long> 1) << (2 * ax))
                self.outer[r] &= ~((<unsigned long long> 1) << (2 * ax + 1))
                extra += _popcount(self.outer[r]) + _popcount(self.outer[child])
                self.pending[self.n_pending] = r
                self.pending[self.n_pending + 1] = child
                self.n_pending += 2
            if self.n_pending == 0:
                return np.empty((0, self.d))
        self.n_outer = 0
        for k in range(self.n_pending):
            r = self.pending[k]
            for i in range(2 * self.d):
                if (self.outer[r] >> i) & 1:
                    self.outer_k[self.n_outer] = k
                    self.outer_face[self.n_outer] = i
                    self.n_outer += 1
        x = np.empty((self.n_pending * self.P + self.n_outer, self.d))
        cdef double[:, ::1] xv = x
        cdef Py_ssize_t p, j
        for k in range(self.n_pending):
            r = self.pending[k]
            for p in range(self.P):
                for j in range(self.d):
                    xv[k * self.P + p, j] = self.centre[r * self.d + j] + self.half[r * self.d + j] * self.template[p, j]
        # the outer faces' nodes, after the rule's: on the axis line through the centre, just inside the face
        for p in range(self.n_outer):
            r = self.pending[self.outer_k[p]]
            for j in range(self.d):
                xv[self.n_pending * self.P + p, j] = self.centre[r * self.d + j]
            j = self.outer_face[p] // 2
            xv[self.n_pending * self.P + p, j] += (1.0 - OUTER_INSET) * self.half[r * self.d + j] * \
                (1.0 if self.outer_face[p] % 2 else -1.0)
        return x

    def receive(self, double[:, ::1] values):
        """Values (n x m) at the last request's abscissae: rule, null rules, error and split axis per region,
        then the check of each split against its parent (see the module docstring)."""
        cdef Py_ssize_t k, r, p, c, i, base
        cdef double vol, err, f0, diff, best, gap, group_err, group_abs, group_gap
        cdef double s[NRULES]
        cdef double a0, n1, n2, n3, ratio, e
        cdef Py_ssize_t child
        cdef int kd, q, ax
        cdef double band, group_band
        self.nfev += values.shape[0]
        for k in range(self.n_pending):
            r = self.pending[k]
            base = k * self.P
            vol = 1.0
            for i in range(self.d):
                vol *= self.half[r * self.d + i]
            vol = fabs(vol)
            err = 0.0
            group_err = 0.0
            group_abs = 0.0
            for c in range(self.m):
                for q in range(NRULES):
                    s[q] = 0.0
                a0 = 0.0
                for p in range(self.P):
                    kd = self.kind[p]
                    f0 = values[base + p, c]
                    for q in range(NRULES):
                        s[q] += self.weights[q][kd] * f0
                    a0 += fabs(self.weights[0][kd] * f0)
                # the rules are for [-1, 1]^d (volume 2^d): scale by the half-widths' product
                self.value[r * self.m + c] = s[0] * vol
                e = _null_estimate(fabs(s[1]), fabs(s[2]), fabs(s[3]), fabs(s[4]), ROUNDING * a0)
                group_err += e * vol
                group_abs += a0 * vol
                if (c + 1) % self.parts == 0:
                    # below the rounding error of the weighted sums the null rules mean nothing
                    err = max(err, max(group_err, ROUNDING * group_abs))
                    group_err = 0.0
                    group_abs = 0.0
            self.error[r] = err
            for i in range(2 * self.d):
                self.face_band[r * 2 * self.d + i] = 0.0
            # split where the fourth divided difference is largest (rows 1 + 2i, 2 + 2i are +-l2 e_i,
            # 1 + 2d + 2i, 2 + 2d + 2i are +-l1 e_i)
            best = -1.0
            self.axis[r] = 0
            for i in range(self.d):
                diff = 0.0
                for c in range(self.m):
                    f0 = values[base, c]
                    diff += fabs(values[base + 1 + 2 * i, c] + values[base + 2 + 2 * i, c] - 2.0 * f0
                                 - self.ratio * (values[base + 1 + 2 * self.d + 2 * i, c]
                                                 + values[base + 2 + 2 * self.d + 2 * i, c] - 2.0 * f0))
                if diff > best:
                    best = diff
                    self.axis[r] = i
        # Check each split against its parent (DADHRE): the halves are far more accurate than their parent,
        # so their disagreement with it measures the parent's error. More than the parent's estimate means
        # the estimate was wrong (a kink or jump between the nodes): the halves get at least half the
        # disagreement, so the region is refined until it vanishes, and the wave is marked.
        self.disagreed = False
        if CHECKS & 1:
            self._outer_check(values)
        if not self.first_pass:
            for k in range(0, self.n_pending, 2):
                r = self.pending[k]
                child = self.pending[k + 1]
                ax = self.parent_axis[k // 2]
                gap = 0.0
                group_gap = 0.0
                band = 0.0
                group_band = 0.0
                vol = 1.0
                for i in range(self.d):
                    vol *= 2.0 * self.half[r * self.d + i]
                vol = fabs(vol)
                for c in range(self.m):
                    group_gap += fabs(self.parent_value[(k // 2) * self.m + c]
                                      - self.value[r * self.m + c] - self.value[child * self.m + c])
                    group_band += self._band(values, k, child, ax, c) * vol
                    if (c + 1) % self.parts == 0:
                        gap = max(gap, group_gap)
                        band = max(band, group_band)
                        group_gap = 0.0
                        group_band = 0.0
                # a face record is inherited by the halves that still touch that face, halved (the band
                # is proportional to the width across the face, or the face's area is halved)
                self._inherit(k, r, 0)
                self._inherit(k, child, 1)
                if gap > self.parent_error[k // 2]:
                    self.error[r] = max(self.error[r], 0.5 * gap)
                    self.error[child] = max(self.error[child], 0.5 * gap)
                    if gap > self.floor:
                        self.disagreed = True
                if band > self.floor:
                    # the halves' values extrapolated to their common face disagree: a jump (or a kink) at
                    # the cut may hide in the band beyond either half's outermost nodes
                    self._set_face(r, 2 * ax + 1, band)
                    self._set_face(child, 2 * ax, band)
                    self.disagreed = True
        for k in range(self.n_pending):
            self._push(self.pending[k])
        self.first_pass = False
        self.n_pending = 0

    cdef void _outer_check(self, double[:, ::1] values):
        """The band at each outer face of the pending regions: the node just inside the face against the
        region's degree-6 extrapolation along the axis line (the degree-4 one estimates its error). Beyond
        that error a feature lies between the outermost nodes (l1) and the face: a jump dv there costs at
        most (1 - l1) h dv over the face, a kink whose slope change gives the value gap dv at most half
        that; so the band is (1 - l1) dv / 2 per unit volume of the region, as at an interior cut. Only
        regions on the boundary pay for it (one node per outer face); a feature within OUTER_INSET h of
        the boundary stays out of view."""
        cdef Py_ssize_t p, k, r, base, c, row
        cdef Py_ssize_t idx[7]
        cdef int face, ax, j, q
        cdef double v[3]
        cdef double w = 1.0 - sqrt(L1_SQ), vol, fv, dv, band, group_band
        for p in range(self.n_outer):
            k = self.outer_k[p]
            r = self.pending[k]
            face = self.outer_face[p]
            ax = face // 2
            base = k * self.P
            row = self.n_pending * self.P + p
            idx[0] = 0
            idx[1] = 1 + 2 * ax
            idx[2] = 2 + 2 * ax
            idx[3] = 1 + 2 * self.d + 2 * ax
            idx[4] = 2 + 2 * self.d + 2 * ax
            idx[5] = 1 + 4 * self.d + 2 * ax
            idx[6] = 2 + 4 * self.d + 2 * ax
            if face % 2 == 0:  # the lower face: mirror the line
                for j in range(1, 7):
                    idx[j] = idx[j] + 1 if j % 2 else idx[j] - 1
            vol = 1.0
            for j in range(self.d):
                vol *= 2.0 * self.half[r * self.d + j]
            vol = fabs(vol)
            band = 0.0
            group_band = 0.0
            for c in range(self.m):
                v[0] = 0.0
                v[2] = 0.0
                for j in range(7):
                    v[0] += self.inset[0][j] * values[base + idx[j], c]
                    v[2] += self.inset[2][j] * values[base + idx[j], c]
                fv = values[row, c]
                dv = fabs(fv - v[0])
                if dv > BAND_TRUST * fabs(v[0] - v[2]) and dv > ROUNDING * (fabs(fv) + fabs(v[0])):
                    group_band += 0.5 * w * dv * vol
                if (c + 1) % self.parts == 0:
                    band = max(band, group_band)
                    group_band = 0.0
            # unlike a disagreement between halves, the band is already a bound of what the feature costs:
            # part of the region's error, it needs no further wave
            if band > self.floor:
                self._set_face(r, face, band)

    cdef void _inherit(self, Py_ssize_t k, Py_ssize_t half_index, int upper) noexcept:
        """Pass the parent's face bands of pair k to one of its halves (`upper` 0 the lower, 1 the upper
        along the split axis), halved: across the other axes the face's area halves, across the split axis
        its width; the half's face at the cut is new."""
        cdef int a = self.parent_axis[k // 2], i
        for i in range(2 * self.d):
            # the face at the cut is new; an outer face was checked afresh by the half's own node
            if i == 2 * a + 1 - upper or (CHECKS & 1 and (self.outer[half_index] >> i) & 1):
                continue
            self._set_face(half_index, i, 0.5 * self.parent_face_band[(k // 2) * 2 * self.d + i])

    cdef void _set_face(self, Py_ssize_t r, int face, double band) noexcept:
        """Raise region r's band at `face` to `band` (and its error with it)."""
        cdef Py_ssize_t at = r * 2 * self.d + face
        if band <= self.face_band[at]:
            return
        self.error[r] += band - self.face_band[at]
        self.face_band[at] = band

    cdef double _band(self, double[:, ::1] values, Py_ssize_t k, Py_ssize_t child, int ax, Py_ssize_t c):
        """The error a feature at the face between the pair's halves (pending k and k + 1, split along
        `ax`) could hide, per unit volume of a half: the halves' degree-6 extrapolations along the axis
        line to their common face, value and slope, disagree by dv and ds; a jump dv in the unseen band
        of width (1 - l1) h costs (1 - l1) h dv over the face, a kink ((1 - l1) h)^2 ds / 2."""
        cdef Py_ssize_t lo = k * self.P, hi = (k + 1) * self.P
        cdef int d = self.d, j, q
        cdef Py_ssize_t plus[7]
        cdef Py_ssize_t minus[7]
        cdef double v[4]
        cdef double u[4]
        cdef double w = 1.0 - sqrt(L1_SQ), dv, ds, scale, band = 0.0
        plus[0] = 0
        plus[1] = 1 + 2 * ax
        plus[2] = 2 + 2 * ax
        plus[3] = 1 + 2 * d + 2 * ax
        plus[4] = 2 + 2 * d + 2 * ax
        plus[5] = 1 + 4 * d + 2 * ax
        plus[6] = 2 + 4 * d + 2 * ax
        for j in range(7):
            # the upper half's face is at t = -1: mirror its line (swap the + and - points)
            minus[j] = plus[j] if j == 0 else (plus[j] + 1 if j % 2 else plus[j] - 1)
        for q in range(4):
            v[q] = 0.0
            u[q] = 0.0
            for j in range(7):
                v[q] += self.face[q][j] * values[lo + plus[j], c]
                u[q] += self.face[q][j] * values[hi + minus[j], c]
            if q % 2:
                u[q] = -u[q]
        # a disagreement within the halves' own extrapolation errors is what a smooth integrand the halves
        # do not resolve yet gives; beyond them, a feature sits between the two halves' nodes
        dv = fabs(v[0] - u[0])
        ds = fabs(v[1] - u[1])
        scale = ROUNDING * (fabs(v[0]) + fabs(u[0]) + fabs(v[1]) + fabs(u[1]))
        if dv > BAND_TRUST * (fabs(v[0] - v[2]) + fabs(u[0] - u[2])) and dv > scale:
            band += 0.5 * w * dv
        if ds > BAND_TRUST * (fabs(v[1] - v[3]) + fabs(u[1] - u[3])) and ds > scale:
            band += 0.25 * w * w * ds
        # the central line can miss a jump that ends before it (the discontinuous family's other jump puts
        # it in the zero region on both sides): the lines at +-l1 across each other axis, three nodes each
        # per half (+-l1 e_j and +-l1 e_ax +-l1 e_j), compared in value by their quadratic extrapolations to
        # the face, whose errors the linear ones estimate; no node is added
        cdef int o, so
        cdef double lv[3]
        cdef double lu[3]
        cdef double qv, qu, line_band = 0.0
        for o in range(d if CHECKS & 2 else 0):
            if o == ax:
                continue
            for so in range(2):
                lv[0] = values[lo + 1 + 2 * d + 2 * o + so, c]
                lu[0] = values[hi + 1 + 2 * d + 2 * o + so, c]
                lv[1] = values[lo + self._pair_row(ax, 0, o, so), c]
                lv[2] = values[lo + self._pair_row(ax, 1, o, so), c]
                lu[1] = values[hi + self._pair_row(ax, 1, o, so), c]  # mirrored along the axis
                lu[2] = values[hi + self._pair_row(ax, 0, o, so), c]
                qv = self.line[0][0] * lv[0] + self.line[0][1] * lv[1] + self.line[0][2] * lv[2]
                qu = self.line[0][0] * lu[0] + self.line[0][1] * lu[1] + self.line[0][2] * lu[2]
                dv = fabs(qv - qu)
                if dv > LINE_TRUST * (fabs(qv - self.line[1][0] * lv[0] - self.line[1][1] * lv[1])
                                      + fabs(qu - self.line[1][0] * lu[0] - self.line[1][1] * lu[1])) and \
                        dv > ROUNDING * (fabs(qv) + fabs(qu)):
                    line_band = max(line_band, 0.5 * w * dv)
        band = max(band, line_band)
        # per unit volume of one half (width 2h along the axis; slopes are per unit t = per h)
        return band

    cdef inline Py_ssize_t _pair_row(self, int a, int sa, int b, int sb) noexcept nogil:
        """The rule's row of the class-4 point sa l1 e_a + sb l1 e_b (signs 0 for +, 1 for -; a != b)."""
        cdef int i = a if a < b else b, j = b if a < b else a, si = sa if a < b else sb, sj = sb if a < b else sa
        return 1 + 6 * self.d + 4 * (i * (2 * self.d - i - 1) // 2 + j - i - 1) + 2 * si + sj

    def regions(self):
        """(centre (n x d), half-widths (n x d), values (n x m), errors (n,), face bands (n x 2d)) of the
        regions, for inspection and tests."""
        cdef Py_ssize_t n = self.n_regions
        centre = np.array(<double[:n * self.d]> self.centre).reshape(n, self.d) if n else np.empty((0, self.d))
        half = np.array(<double[:n * self.d]> self.half).reshape(n, self.d) if n else np.empty((0, self.d))
        value = np.array(<double[:n * self.m]> self.value).reshape(n, self.m) if n else np.empty((0, self.m))
        error = np.array(<double[:n]> self.error) if n else np.empty(0)
        band = (np.array(<double[:n * 2 * self.d]> self.face_band).reshape(n, 2 * self.d) if n
                else np.empty((0, 2 * self.d)))
        return centre, half, value, error, band

    def totals(self):
        """(integral (m,), error estimate, number of regions): the sums over the regions."""
        cdef Py_ssize_t r, c
        total = np.zeros(self.m)
        cdef double[::1] tv = total
        cdef double err = 0.0
        for r in range(self.n_regions):
            for c in range(self.m):
                tv[c] += self.value[r * self.m + c]
            err += self.error[r]
        return total, err, self.n_regions


cdef inline double _null_estimate(double e1, double e2, double e3, double e4, double noise) noexcept nogil:
    """The error of the basic rule on [-1, 1]^d from the moduli of the four null rules (module docstring).
    Null-rule values below `noise` (the rounding error of the sums) count as 0: else the ratio test reads
    the rounding of an exactly integrated polynomial as a non-asymptotic integrand."""
    if e1 <= noise:
        e1 = 0.0
    if e2 <= noise:
        e2 = 0.0
    if e3 <= noise:
        e3 = 0.0
    if e4 <= noise:
        e4 = 0.0
    cdef double n1 = sqrt(e1 * e1 + e2 * e2), n2 = sqrt(e2 * e2 + e3 * e3), n3 = sqrt(e3 * e3 + e4 * e4)
    if n1 == 0.0 and n2 == 0.0:
        return 0.0  # the integrand is a polynomial the basic rule integrates exactly (to rounding)
    if n1 <= R_CRIT * n2 and n2 <= R_CRIT * n3:
        return C_ASYM * n1
    return C_NONASYM * max(n1, max(n2, n3))


def _set_checks(int checks, double line_trust=16.0):
    """Switch the face checks (bit 0 outer faces, bit 1 off-centre lines) and set LINE_TRUST (experiments)."""
    global CHECKS, LINE_TRUST
    CHECKS = checks
    LINE_TRUST = line_trust


def _set_constants(double r_crit, double c_asym, double c_nonasym, double band_trust):
    """Change the constants of the error estimate (for experiments; the defaults are documented)."""
    global R_CRIT, C_ASYM, C_NONASYM, BAND_TRUST
    R_CRIT, C_ASYM, C_NONASYM, BAND_TRUST = r_crit, c_asym, c_nonasym, band_trust


cdef inline int _popcount(unsigned long long mask) noexcept nogil:
    cdef int n = 0
    while mask:
        mask &= mask - 1
        n += 1
    return n


cdef void* _realloc(void* p, size_t size) except NULL:
    cdef void* q = realloc(p, size)
    if q == NULL:
        raise MemoryError()
    return q
