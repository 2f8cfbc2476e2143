# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Sparse-times-sparse and sparse-times-dense kernels of the blocked Cholesky factor of several random-effect terms.

Design (quadlib.glmm._blocked holds the structure, these loops only the arithmetic): the random effects are
blocks, eliminated largest first as in MixedModels.jl. The block (i, 0) below the first, block-diagonal, block
is stored as "pairs": a CSC-like pattern whose column groups are the levels c of block 0, with q_i x q_0
sub-blocks, so that

    matrix entry (rows[k] * q_i + a, c * q_0 + b) = P[k, a, b]   for k in indptr[c] .. indptr[c+1] - 1,

rows strictly increasing within each column (``check_pattern``). With q = 1 this is CSC with data = P.ravel().
Dense blocks are Fortran ordered (unit stride down a column, any column stride: a column or row slice of a
larger Fortran array is accepted), so that LAPACK's dpotrf and BLAS's dsyrk/dtrsm/dgemm can work on them in
place. Each kernel updates an IN/OUT array in place and allocates nothing:

==========================  =================================================  ==================================
kernel                      operation                                          use in the factorization
==========================  =================================================  ==================================
pairs_syrk                  C[lower] -= P P'                                   L_jj -= L_j0 L_j0' (the hot one)
pairs_gemm_nt               C -= Pa Pb'                                        L_ij -= L_i0 L_j0', both pairs
pairs_blockdiag_syrk        D[rows[k]] -= P_k P_k'                             nested: L_jj stays block-diagonal
dense_pairs_nt              C -= D P'                                          X row / dense rows vs a pairs block
pairs_dense_nt              C -= P D'                                          a pairs block vs dense rows
pairs_rdiv_blockdiag        P_k <- P_k L0[c]^-T                                L_i0 = A_i0 L_00^-T
dense_rdiv_blockdiag        D[:, group c] <- D[:, group c] L0[c]^-T            L_X0 = A_X0 L_00^-T
pairs_matvec                y -= P x  or  y -= P' x  (several right sides)     forward and back substitution
scatter_pairs               out[row_pair[r]] += w_r z_ir z_0r'                 Z_i'W Z_0 (GLMM refill)
scatter_blockdiag           out[refs[r]] += w_r z_r z_r'                       Z_0'W Z_0 per level
scatter_dense               out[ri[r] q_i + a, rj[r] q_j + b] += w_r z z'      dense Z_i'W Z_j and [X y]'W Z_j
==========================  =================================================  ==================================

pairs_syrk costs sum over the columns of (nnz_c q_i)^2 q_0 / 2 multiply-adds (InstEval: about 1e6), against
the refactorization of the dense block it updates (m^3/3: 4.8e8 for m = 1128).

The Python-level functions check only what is O(1) to check (ranks, dtypes and layout by the memoryview
types; shapes against one another here), so the engine can call them on every evaluation. They do not read
the index arrays: ``check_pattern`` and ``check_refs`` validate those once, when the structure is built, and
an index out of range is otherwise undefined behaviour. Shape errors are ValueErrors naming the argument.

References
----------
D. Bates, P. Alday, D. Kleinschmidt et al., MixedModels.jl, ``src/linalg/rankUpdate.jl`` (``_lowerrankUpdate!``,
the outer products of a sparse column's non-zeros added to a dense lower triangle), ``src/linalg/cholUnblocked.jl``,
``src/linalg/rdiv.jl``.
D. Bates, M. Maechler, B. Bolker and S. Walker, "Fitting linear mixed-effects models using lme4",
J. Stat. Softw. 67 (2015), section 3: the blocked factor of Lambda'Z'WZ Lambda + I.
"""
cdef extern from *:
    """
    #define BLK_ELEM ((Py_ssize_t)sizeof(double))
    """
    Py_ssize_t BLK_ELEM


# ---------------------------------------------------------------- checks (Python level, O(1) except the two check_*)

def check_pattern(const Py_ssize_t[::1] indptr, const Py_ssize_t[::1] rows, Py_ssize_t n_rows):
    """Validate a pairs pattern once: indptr starts at 0, does not decrease and ends at len(rows); every
    column's rows are strictly increasing and in [0, n_rows).

    Raises
    ------
    ValueError
        naming `indptr`, `rows` or `n_rows`.
    """
    cdef Py_ssize_t m0 = indptr.shape[0] - 1, npairs = rows.shape[0], c, k, bad = -1, kind = 0
    if m0 < 0:
        raise ValueError("`indptr` must have at least one entry")
    if n_rows < 0:
        raise ValueError(f"`n_rows` must be >= 0, got {n_rows}")
    if not (indptr[0] == 0 and indptr[m0] == npairs):
        raise ValueError(f"`indptr` must start at 0 and end at len(`rows`) = {npairs}, got {indptr[0]} and "
                         f"{indptr[m0]}")
    with nogil:
        for c in range(m0):
            if indptr[c + 1] < indptr[c]:
                bad = c
                kind = 1
                break
            for k in range(indptr[c], indptr[c + 1]):
                if rows[k] < 0 or rows[k] >= n_rows:
                    bad = k
                    kind = 2
                    break
                if k > indptr[c] and rows[k] <= rows[k - 1]:
                    bad = k
                    kind = 3
                    break
            if kind:
                break
    if kind == 1:
        raise ValueError(f"`indptr` must not decrease, it does at column {bad}")
    if kind == 2:
        raise ValueError(f"`rows` must lie in [0, {n_rows}), got {rows[bad]} at {bad}")
    if kind == 3:
        raise ValueError(f"`rows` must increase strictly within each column, they do not at {bad}")


def check_refs(const Py_ssize_t[::1] refs, Py_ssize_t n_levels):
    """Validate a row -> level (or row -> pair) map once: every entry in [0, n_levels).

    Raises
    ------
    ValueError
        naming `refs`.
    """
    cdef Py_ssize_t n = refs.shape[0], r, bad = -1
    with nogil:
        for r in range(n):
            if refs[r] < 0 or refs[r] >= n_levels:
                bad = r
                break
    if bad >= 0:
        raise ValueError(f"`refs` must lie in [0, {n_levels}), got {refs[bad]} at row {bad}")


cdef inline int _check_pairs(const Py_ssize_t[::1] indptr, const Py_ssize_t[::1] rows, const double[:, :, ::1] P,
                             str name) except -1:
    if indptr.shape[0] < 1:
        raise ValueError(f"`indptr` of `{name}` must have at least one entry")
    if P.shape[0] != rows.shape[0]:
        raise ValueError(f"`{name}` must have len(`rows`) = {rows.shape[0]} sub-blocks, got {P.shape[0]}")
    return 0


cdef inline int _check_columns(const double[:, :] A, str name) except -1:
    # the loops walk down columns with unit stride (Fortran order; a slice of a Fortran array is fine)
    if A.shape[0] > 1 and A.strides[0] != BLK_ELEM:
        raise ValueError(f"`{name}` must have unit stride down its columns (Fortran order), got strides "
                         f"{A.strides[0]}, {A.strides[1]}")
    return 0


# ---------------------------------------------------------------- the factorization's products

cdef void _pairs_syrk(const Py_ssize_t* indptr, const Py_ssize_t* rows, const double* P, Py_ssize_t m0,
                      Py_ssize_t sk, Py_ssize_t sa, Py_ssize_t qi, Py_ssize_t q0,
                      double* C, Py_ssize_t ld) noexcept nogil:
    cdef Py_ssize_t c, k1, k2, a1, a2, b, e, row0
    cdef double v, s
    cdef double* col
    cdef const double* p1
    cdef const double* p2
    if qi == 1 and q0 == 1:
        for c in range(m0):
            e = indptr[c + 1]
            for k2 in range(indptr[c], e):
                v = P[k2 * sk]
                col = C + rows[k2] * ld
                for k1 in range(k2, e):
                    col[rows[k1]] -= P[k1 * sk] * v
        return
    for c in range(m0):
        e = indptr[c + 1]
        for k2 in range(indptr[c], e):
            p2 = P + k2 * sk
            for a2 in range(qi):
                col = C + (rows[k2] * qi + a2) * ld
                for k1 in range(k2, e):
                    p1 = P + k1 * sk
                    row0 = rows[k1] * qi
                    # the diagonal sub-block contributes its lower triangle only
                    for a1 in range(a2 if k1 == k2 else 0, qi):
                        s = 0.0
                        for b in range(q0):
                            s = s + p1[a1 * sa + b] * p2[a2 * sa + b]
                        col[row0 + a1] -= s


def pairs_syrk(const Py_ssize_t[::1] indptr, const Py_ssize_t[::1] rows, const double[:, :, ::1] P,
               double[:, :] C):
    """C IN/OUT (M q_i, M q_i), Fortran: its lower triangle (diagonal included) -= P P'.

    P (npairs, q_i, q_0) is the pairs block with pattern (indptr, rows); the strict upper triangle of C is not
    touched. Cost: sum over columns c of (nnz_c q_i)^2 q_0 / 2 multiply-adds.
    """
    _check_pairs(indptr, rows, P, "P")
    cdef Py_ssize_t qi = P.shape[1], q0 = P.shape[2]
    _check_columns(C, "C")
    if not (C.shape[0] == C.shape[1] and C.shape[0] % max(qi, 1) == 0):
        raise ValueError(f"`C` must be square with a multiple of q_i = {qi} rows, got {C.shape[0]} x {C.shape[1]}")
    if P.shape[0] == 0 or qi == 0 or q0 == 0:
        return
    with nogil:
        _pairs_syrk(&indptr[0], &rows[0], &P[0, 0, 0], indptr.shape[0] - 1, P.strides[0] // BLK_ELEM,
                    P.strides[1] // BLK_ELEM, qi, q0, &C[0, 0], C.strides[1] // BLK_ELEM)


cdef void _pairs_gemm_nt(const Py_ssize_t* ia, const Py_ssize_t* ra, const double* Pa, Py_ssize_t ska,
                         Py_ssize_t saa, Py_ssize_t qa, const Py_ssize_t* ib, const Py_ssize_t* rb,
                         const double* Pb, Py_ssize_t skb, Py_ssize_t sab, Py_ssize_t qb, Py_ssize_t m0,
                         Py_ssize_t q0, double* C, Py_ssize_t ld) noexcept nogil:
    cdef Py_ssize_t c, ka, kb, a, b, t, row0
    cdef double s, v
    cdef double* col
    cdef const double* pa
    cdef const double* pb
    if qa == 1 and qb == 1 and q0 == 1:
        for c in range(m0):
            for kb in range(ib[c], ib[c + 1]):
                v = Pb[kb * skb]
                col = C + rb[kb] * ld
                for ka in range(ia[c], ia[c + 1]):
                    col[ra[ka]] -= Pa[ka * ska] * v
        return
    for c in range(m0):
        for kb in range(ib[c], ib[c + 1]):
            pb = Pb + kb * skb
            for b in range(qb):
                col = C + (rb[kb] * qb + b) * ld
                for ka in range(ia[c], ia[c + 1]):
                    pa = Pa + ka * ska
                    row0 = ra[ka] * qa
                    for a in range(qa):
                        s = 0.0
                        for t in range(q0):
                            s = s + pa[a * saa + t] * pb[b * sab + t]
                        col[row0 + a] -= s


def pairs_gemm_nt(const Py_ssize_t[::1] indptr_a, const Py_ssize_t[::1] rows_a, const double[:, :, ::1] Pa,
                  const Py_ssize_t[::1] indptr_b, const Py_ssize_t[::1] rows_b, const double[:, :, ::1] Pb,
                  double[:, :] C):
    """C IN/OUT (M_a q_a, M_b q_b), Fortran: C -= Pa Pb'.

    Pa (npairs_a, q_a, q_0) and Pb (npairs_b, q_b, q_0) are two pairs blocks below the same block 0 (one
    column group per level of block 0 in both patterns). Cost: sum over c of nnz_a,c nnz_b,c q_a q_b q_0.
    """
    _check_pairs(indptr_a, rows_a, Pa, "Pa")
    _check_pairs(indptr_b, rows_b, Pb, "Pb")
    cdef Py_ssize_t qa = Pa.shape[1], qb = Pb.shape[1], q0 = Pa.shape[2]
    _check_columns(C, "C")
    if indptr_a.shape[0] != indptr_b.shape[0]:
        raise ValueError(f"`indptr_a` and `indptr_b` must have the same length, got {indptr_a.shape[0]} and "
                         f"{indptr_b.shape[0]}")
    if Pb.shape[2] != q0:
        raise ValueError(f"`Pa` and `Pb` must have the same q_0, got {q0} and {Pb.shape[2]}")
    if not (C.shape[0] % max(qa, 1) == 0 and C.shape[1] % max(qb, 1) == 0):
        raise ValueError(f"`C` must have a multiple of q_a = {qa} rows and of q_b = {qb} columns, got "
                         f"{C.shape[0]} x {C.shape[1]}")
    if Pa.shape[0] == 0 or Pb.shape[0] == 0 or qa == 0 or qb == 0 or q0 == 0:
        return
    with nogil:
        _pairs_gemm_nt(&indptr_a[0], &rows_a[0], &Pa[0, 0, 0], Pa.strides[0] // BLK_ELEM, Pa.strides[1] // BLK_ELEM,
                       qa, &indptr_b[0], &rows_b[0], &Pb[0, 0, 0], Pb.strides[0] // BLK_ELEM,
                       Pb.strides[1] // BLK_ELEM, qb, indptr_a.shape[0] - 1, q0, &C[0, 0], C.strides[1] // BLK_ELEM)


def pairs_blockdiag_syrk(const Py_ssize_t[::1] rows, const double[:, :, ::1] P, double[:, :, ::1] D):
    """D IN/OUT (M, q_i, q_i): D[rows[k]] -= P_k P_k' for every sub-block k (both triangles).

    These are the diagonal blocks of P P'; they are all of it when every level of block 0 meets a single level
    of block i (nested factors: one sub-block per column group), the only case in which the engine calls this.
    """
    cdef Py_ssize_t npairs = P.shape[0], qi = P.shape[1], q0 = P.shape[2], k, a1, a2, b, r
    cdef double s
    if rows.shape[0] != npairs:
        raise ValueError(f"`P` must have len(`rows`) = {rows.shape[0]} sub-blocks, got {npairs}")
    if D.shape[1] != qi or D.shape[2] != qi:
        raise ValueError(f"`D` must be (M, {qi}, {qi}), got ({D.shape[0]}, {D.shape[1]}, {D.shape[2]})")
    with nogil:
        for k in range(npairs):
            r = rows[k]
            for a1 in range(qi):
                for a2 in range(a1 + 1):
                    s = 0.0
                    for b in range(q0):
                        s = s + P[k, a1, b] * P[k, a2, b]
                    D[r, a1, a2] -= s
                    if a2 != a1:
                        D[r, a2, a1] -= s


def dense_pairs_nt(const double[:, :] D, const Py_ssize_t[::1] indptr, const Py_ssize_t[::1] rows,
                   const double[:, :, ::1] P, double[:, :] C):
    """C IN/OUT (M_r, M_i q_i), Fortran: C -= D P', with D (M_r, m_0 q_0) Fortran and P a pairs block.

    Column updates (axpy down contiguous columns): cost nnz q_i q_0 M_r.
    """
    _check_pairs(indptr, rows, P, "P")
    cdef Py_ssize_t qi = P.shape[1], q0 = P.shape[2], m0 = indptr.shape[0] - 1, Mr = D.shape[0]
    cdef Py_ssize_t c, k, a, b, r, ldd, ldc
    cdef double coef
    cdef double* col
    cdef const double* dcol
    _check_columns(D, "D")
    _check_columns(C, "C")
    if not (D.shape[1] == m0 * q0):
        raise ValueError(f"`D` must have m_0 q_0 = {m0 * q0} columns, got {D.shape[1]}")
    if C.shape[0] != Mr:
        raise ValueError(f"`C` must have as many rows as `D` ({Mr}), got {C.shape[0]}")
    if not (C.shape[1] % max(qi, 1) == 0):
        raise ValueError(f"`C` must have a multiple of q_i = {qi} columns, got {C.shape[1]}")
    if Mr == 0 or P.shape[0] == 0 or qi == 0 or q0 == 0:
        return
    ldd = D.strides[1] // BLK_ELEM
    ldc = C.strides[1] // BLK_ELEM
    with nogil:
        for c in range(m0):
            for k in range(indptr[c], indptr[c + 1]):
                for a in range(qi):
                    col = &C[0, 0] + (rows[k] * qi + a) * ldc
                    for b in range(q0):
                        coef = P[k, a, b]
                        dcol = &D[0, 0] + (c * q0 + b) * ldd
                        for r in range(Mr):
                            col[r] -= coef * dcol[r]


def pairs_dense_nt(const Py_ssize_t[::1] indptr, const Py_ssize_t[::1] rows, const double[:, :, ::1] P,
                   const double[:, :] D, double[:, :] C):
    """C IN/OUT (M_i q_i, M_r), Fortran: C -= P D', with P a pairs block and D (M_r, m_0 q_0) Fortran.

    Cost nnz q_i q_0 M_r.
    """
    _check_pairs(indptr, rows, P, "P")
    cdef Py_ssize_t qi = P.shape[1], q0 = P.shape[2], m0 = indptr.shape[0] - 1, Mr = D.shape[0]
    cdef Py_ssize_t c, k, a, b, r, row0
    cdef double s
    _check_columns(C, "C")
    if not (D.shape[1] == m0 * q0):
        raise ValueError(f"`D` must have m_0 q_0 = {m0 * q0} columns, got {D.shape[1]}")
    if C.shape[1] != Mr:
        raise ValueError(f"`C` must have as many columns as `D` has rows ({Mr}), got {C.shape[1]}")
    if not (C.shape[0] % max(qi, 1) == 0):
        raise ValueError(f"`C` must have a multiple of q_i = {qi} rows, got {C.shape[0]}")
    with nogil:
        for r in range(Mr):
            for c in range(m0):
                for k in range(indptr[c], indptr[c + 1]):
                    row0 = rows[k] * qi
                    for a in range(qi):
                        s = 0.0
                        for b in range(q0):
                            s = s + P[k, a, b] * D[r, c * q0 + b]
                        C[row0 + a, r] -= s


def pairs_rdiv_blockdiag(const Py_ssize_t[::1] indptr, double[:, :, ::1] P, const double[:, :, ::1] L0):
    """P IN/OUT (npairs, q_i, q_0): P_k <- P_k L0[c]^-T for k in column c, L0 (m_0, q_0, q_0) lower triangular.

    A zero diagonal of L0 gives inf/nan: the engine calls this only after L0's Cholesky succeeded.
    """
    if not (indptr.shape[0] == L0.shape[0] + 1):
        raise ValueError(f"`indptr` must have m_0 + 1 = {L0.shape[0] + 1} entries, got {indptr.shape[0]}")
    if not (L0.shape[1] == P.shape[2] and L0.shape[2] == P.shape[2]):
        raise ValueError(f"`L0` must be (m_0, {P.shape[2]}, {P.shape[2]}), got ({L0.shape[0]}, {L0.shape[1]}, "
                         f"{L0.shape[2]})")
    if indptr[L0.shape[0]] != P.shape[0]:
        raise ValueError(f"`indptr` must end at len(`P`) = {P.shape[0]}, got {indptr[L0.shape[0]]}")
    cdef Py_ssize_t qi = P.shape[1], q0 = P.shape[2], m0 = L0.shape[0], c, k, a, b, t
    cdef double s, d
    with nogil:
        if q0 == 1:
            for c in range(m0):
                d = 1.0 / L0[c, 0, 0]
                for k in range(indptr[c], indptr[c + 1]):
                    for a in range(qi):
                        P[k, a, 0] *= d
        else:
            # row a of P_k: solve L0[c] x = p' by forward substitution
            for c in range(m0):
                for k in range(indptr[c], indptr[c + 1]):
                    for a in range(qi):
                        for b in range(q0):
                            s = P[k, a, b]
                            for t in range(b):
                                s = s - L0[c, b, t] * P[k, a, t]
                            P[k, a, b] = s / L0[c, b, b]


def dense_rdiv_blockdiag(double[:, :] D, const double[:, :, ::1] L0):
    """D IN/OUT (M_r, m_0 q_0), Fortran: each column group c <- D[:, c q_0:(c+1) q_0] L0[c]^-T, L0 lower."""
    cdef Py_ssize_t m0 = L0.shape[0], q0 = L0.shape[1], Mr = D.shape[0], c, b, t, r, ld
    cdef double d, l
    cdef double* colb
    cdef double* colt
    _check_columns(D, "D")
    if L0.shape[2] != q0:
        raise ValueError(f"`L0` must be (m_0, q_0, q_0), got ({m0}, {q0}, {L0.shape[2]})")
    if not (D.shape[1] == m0 * q0):
        raise ValueError(f"`D` must have m_0 q_0 = {m0 * q0} columns, got {D.shape[1]}")
    if Mr == 0 or m0 == 0 or q0 == 0:
        return
    ld = D.strides[1] // BLK_ELEM
    with nogil:
        for c in range(m0):
            for b in range(q0):
                colb = &D[0, 0] + (c * q0 + b) * ld
                for t in range(b):
                    l = L0[c, b, t]
                    colt = &D[0, 0] + (c * q0 + t) * ld
                    for r in range(Mr):
                        colb[r] -= l * colt[r]
                d = 1.0 / L0[c, b, b]
                for r in range(Mr):
                    colb[r] *= d


# ---------------------------------------------------------------- solves

def pairs_matvec(const Py_ssize_t[::1] indptr, const Py_ssize_t[::1] rows, const double[:, :, ::1] P, x, y,
                 bint trans=False):
    """y IN/OUT: y -= P x (trans False) or y -= P' x (trans True), P a pairs block (M_i q_i x m_0 q_0).

    x and y are float64 vectors or matrices (several right-hand sides as columns, any strides; a vector is
    the one-column case): x (m_0 q_0[, k]) and y (M_i q_i[, k]) without trans, the other way round with it.
    """
    _check_pairs(indptr, rows, P, "P")
    cdef Py_ssize_t qi = P.shape[1], q0 = P.shape[2], m0 = indptr.shape[0] - 1, c, k, a, b, j, nrhs, row0
    cdef double coef
    if getattr(x, "ndim", 0) == 1:
        x = x[:, None]
    if getattr(y, "ndim", 0) == 1:
        y = y[:, None]
    cdef const double[:, :] xv = x
    cdef double[:, :] yv = y
    nrhs = yv.shape[1]
    if xv.shape[1] != nrhs:
        raise ValueError(f"`x` and `y` must have the same number of columns, got {xv.shape[1]} and {nrhs}")
    if trans:
        if not (yv.shape[0] == m0 * q0):
            raise ValueError(f"`y` must have m_0 q_0 = {m0 * q0} rows, got {yv.shape[0]}")
        if not (xv.shape[0] % max(qi, 1) == 0):
            raise ValueError(f"`x` must have a multiple of q_i = {qi} rows, got {xv.shape[0]}")
    else:
        if not (xv.shape[0] == m0 * q0):
            raise ValueError(f"`x` must have m_0 q_0 = {m0 * q0} rows, got {xv.shape[0]}")
        if not (yv.shape[0] % max(qi, 1) == 0):
            raise ValueError(f"`y` must have a multiple of q_i = {qi} rows, got {yv.shape[0]}")
    if nrhs == 0 or P.shape[0] == 0 or qi == 0 or q0 == 0:
        return
    cdef Py_ssize_t xs0 = xv.strides[0] // BLK_ELEM, xs1 = xv.strides[1] // BLK_ELEM
    cdef Py_ssize_t ys0 = yv.strides[0] // BLK_ELEM, ys1 = yv.strides[1] // BLK_ELEM
    cdef const double* xp = &xv[0, 0]
    cdef double* yp = &yv[0, 0]
    cdef const double* src
    cdef double* dst
    cdef bint unit = nrhs == 1 or (xs1 == 1 and ys1 == 1)
    with nogil:
        for c in range(m0):
            for k in range(indptr[c], indptr[c + 1]):
                row0 = rows[k] * qi
                for a in range(qi):
                    for b in range(q0):
                        coef = P[k, a, b]
                        if trans:
                            src = xp + (row0 + a) * xs0
                            dst = yp + (c * q0 + b) * ys0
                        else:
                            src = xp + (c * q0 + b) * xs0
                            dst = yp + (row0 + a) * ys0
                        if unit:   # rows of C-ordered right-hand sides: a contiguous axpy
                            for j in range(nrhs):
                                dst[j] -= coef * src[j]
                        else:
                            for j in range(nrhs):
                                dst[j * ys1] -= coef * src[j * xs1]


# ---------------------------------------------------------------- refills of Z'WZ (prior or PIRLS weights)

def scatter_pairs(const Py_ssize_t[::1] row_pair, const double[:, ::1] Zi, const double[:, ::1] Z0,
                  const double[::1] w, double[:, :, ::1] out):
    """out IN/OUT (npairs, q_i, q_0): out[row_pair[r]] += w[r] Zi[r] Z0[r]' for every data row r.

    The caller zeroes out first when it wants Z_i'W Z_0 itself.
    """
    cdef Py_ssize_t n = row_pair.shape[0], qi = Zi.shape[1], q0 = Z0.shape[1], r, a, b, p
    cdef double wz
    if not (Zi.shape[0] == n and Z0.shape[0] == n and w.shape[0] == n):
        raise ValueError(f"`Zi`, `Z0` and `w` must have len(`row_pair`) = {n} rows, got {Zi.shape[0]}, "
                         f"{Z0.shape[0]} and "
                     f"{w.shape[0]}")
    if not (out.shape[1] == qi and out.shape[2] == q0):
        raise ValueError(f"`out` must be (npairs, {qi}, {q0}), got ({out.shape[0]}, {out.shape[1]}, {out.shape[2]})")
    with nogil:
        for r in range(n):
            p = row_pair[r]
            for a in range(qi):
                wz = w[r] * Zi[r, a]
                for b in range(q0):
                    out[p, a, b] += wz * Z0[r, b]


def scatter_blockdiag(const Py_ssize_t[::1] refs, const double[:, ::1] Z, const double[::1] w,
                      double[:, :, ::1] out):
    """out IN/OUT (m, q, q): out[refs[r]] += w[r] Z[r] Z[r]' for every data row r (both triangles)."""
    cdef Py_ssize_t n = refs.shape[0], q = Z.shape[1], r, a, b, l
    cdef double wz, s
    if not (Z.shape[0] == n and w.shape[0] == n):
        raise ValueError(f"`Z` and `w` must have len(`refs`) = {n} rows, got {Z.shape[0]} and {w.shape[0]}")
    if not (out.shape[1] == q and out.shape[2] == q):
        raise ValueError(f"`out` must be (m, {q}, {q}), got ({out.shape[0]}, {out.shape[1]}, {out.shape[2]})")
    with nogil:
        for r in range(n):
            l = refs[r]
            for a in range(q):
                wz = w[r] * Z[r, a]
                for b in range(a + 1):
                    s = wz * Z[r, b]
                    out[l, a, b] += s
                    if b != a:
                        out[l, b, a] += s


def scatter_dense(const Py_ssize_t[::1] refs_i, const double[:, ::1] Zi, const Py_ssize_t[::1] refs_j,
                  const double[:, ::1] Zj, const double[::1] w, double[:, :] out):
    """out IN/OUT (m_i q_i, m_j q_j), Fortran: out[refs_i[r] q_i + a, refs_j[r] q_j + b] += w[r] Zi[r, a] Zj[r, b].

    A dense off-diagonal block Z_i'W Z_j; with refs_i all 0 and Zi = [X y], the [X y]'W Z_j row.
    """
    cdef Py_ssize_t n = refs_i.shape[0], qi = Zi.shape[1], qj = Zj.shape[1], r, a, b, row0, col0, ld
    cdef double wz
    _check_columns(out, "out")
    if not (refs_j.shape[0] == n and Zi.shape[0] == n and Zj.shape[0] == n and w.shape[0] == n):
        raise ValueError(f"`refs_j`, `Zi`, `Zj` and `w` must have len(`refs_i`) = {n} rows, got {refs_j.shape[0]}, "
                     f"{Zi.shape[0]}, {Zj.shape[0]} and {w.shape[0]}")
    if not (out.shape[0] % max(qi, 1) == 0 and out.shape[1] % max(qj, 1) == 0):
        raise ValueError(f"`out` must have a multiple of q_i = {qi} rows and of q_j = {qj} columns, got "
                     f"{out.shape[0]} x {out.shape[1]}")
    if n == 0 or qi == 0 or qj == 0:
        return
    ld = out.strides[1] // BLK_ELEM
    with nogil:
        for r in range(n):
            row0 = refs_i[r] * qi
            col0 = refs_j[r] * qj
            for b in range(qj):
                wz = w[r] * Zj[r, b]
                for a in range(qi):
                    (&out[0, 0])[row0 + a + (col0 + b) * ld] += wz * Zi[r, a]
