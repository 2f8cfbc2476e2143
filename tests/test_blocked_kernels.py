"""The blocked-Cholesky kernels (quadlib._extensions._blocked) against dense numpy twins on seeded random inputs.

Each pairs block is built from a random sparsity pattern (some columns empty, some rows never used), turned
into the dense matrix it stands for (``dense_of``), and every kernel's in-place update is compared with the
same update done densely in numpy.
"""
import numpy as np
import pytest

from quadlib._extensions import _blocked as kb

QS = [(1, 1), (2, 1), (1, 2), (2, 2), (3, 2)]


def random_pairs(rng, m0, mi, qi, q0, density=0.3, empty=(0,)):
    """A pairs block (indptr, rows, P) with m0 column groups over mi row levels; the columns in `empty` are empty."""
    counts, rows = [], []
    for c in range(m0):
        mask = rng.random(mi) < density
        if c in empty:
            mask[:] = False
        picked = np.flatnonzero(mask)
        rows.append(picked)
        counts.append(picked.size)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
    rows = np.concatenate(rows).astype(np.intp)
    P = rng.standard_normal((rows.size, qi, q0))
    return indptr, rows, P


def dense_of(indptr, rows, P, mi):
    """The dense (mi qi, m0 q0) matrix that a pairs block stands for."""
    npairs, qi, q0 = P.shape
    m0 = indptr.size - 1
    out = np.zeros((mi * qi, m0 * q0))
    for c in range(m0):
        for k in range(indptr[c], indptr[c + 1]):
            out[rows[k] * qi:(rows[k] + 1) * qi, c * q0:(c + 1) * q0] = P[k]
    return out


def fortran(rng, shape):
    return np.asfortranarray(rng.standard_normal(shape))


@pytest.mark.parametrize("qi, q0", QS)
def test_pairs_syrk(qi, q0):
    rng = np.random.default_rng(10 * qi + q0)
    mi, m0 = 9, 14
    indptr, rows, P = random_pairs(rng, m0, mi, qi, q0, empty=(0, 5))
    kb.check_pattern(indptr, rows, mi)
    S = dense_of(indptr, rows, P, mi)
    C = fortran(rng, (mi * qi, mi * qi))
    expected = C - np.tril(S @ S.T)
    upper = np.triu(C, 1).copy()
    kb.pairs_syrk(indptr, rows, P, C)
    assert np.allclose(np.tril(C), np.tril(expected), rtol=1e-13, atol=1e-13)
    assert np.array_equal(np.triu(C, 1), upper)  # the strict upper triangle is not touched


def test_pairs_syrk_on_a_slice_of_a_larger_array():
    # a Fortran column/row slice has a leading dimension larger than its row count
    rng = np.random.default_rng(3)
    mi, m0, qi, q0 = 6, 8, 2, 1
    indptr, rows, P = random_pairs(rng, m0, mi, qi, q0)
    S = dense_of(indptr, rows, P, mi)
    big = fortran(rng, (mi * qi + 5, mi * qi + 3))
    before = big.copy()
    view = big[2:2 + mi * qi, 1:1 + mi * qi]
    kb.pairs_syrk(indptr, rows, P, view)
    expected = before.copy()
    expected[2:2 + mi * qi, 1:1 + mi * qi] -= np.tril(S @ S.T)
    assert np.allclose(big, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("qa, qb, q0", [(1, 1, 1), (2, 1, 1), (1, 2, 2), (2, 3, 2)])
def test_pairs_gemm_nt(qa, qb, q0):
    rng = np.random.default_rng(100 * qa + 10 * qb + q0)
    ma, mb, m0 = 7, 5, 11
    ia, ra, Pa = random_pairs(rng, m0, ma, qa, q0, empty=(0, 3))
    ib, rb, Pb = random_pairs(rng, m0, mb, qb, q0, density=0.5, empty=(4, 10))
    C = fortran(rng, (ma * qa, mb * qb))
    expected = C - dense_of(ia, ra, Pa, ma) @ dense_of(ib, rb, Pb, mb).T
    kb.pairs_gemm_nt(ia, ra, Pa, ib, rb, Pb, C)
    assert np.allclose(C, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("qi, q0", QS)
def test_pairs_blockdiag_syrk_nested(qi, q0):
    rng = np.random.default_rng(7 + qi + 3 * q0)
    mi, m0 = 4, 12
    # nested: each level of block 0 meets a single level of block i (and column 2 none)
    counts = np.ones(m0, dtype=np.intp)
    counts[2] = 0
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
    rows = rng.integers(0, mi, size=indptr[-1]).astype(np.intp)
    P = rng.standard_normal((rows.size, qi, q0))
    S = dense_of(indptr, rows, P, mi)
    D = rng.standard_normal((mi, qi, qi))
    full = S @ S.T
    expected = D - np.stack([full[l * qi:(l + 1) * qi, l * qi:(l + 1) * qi] for l in range(mi)])
    kb.pairs_blockdiag_syrk(rows, P, D)
    assert np.allclose(D, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("qi, q0", QS)
def test_dense_pairs_nt_and_pairs_dense_nt(qi, q0):
    rng = np.random.default_rng(30 + qi * 5 + q0)
    mi, m0, mr = 6, 10, 4
    indptr, rows, P = random_pairs(rng, m0, mi, qi, q0, empty=(1, 9))
    S = dense_of(indptr, rows, P, mi)
    D = fortran(rng, (mr, m0 * q0))
    C = fortran(rng, (mr, mi * qi))
    expected = C - D @ S.T
    kb.dense_pairs_nt(D, indptr, rows, P, C)
    assert np.allclose(C, expected, rtol=1e-13, atol=1e-13)
    C2 = fortran(rng, (mi * qi, mr))
    expected2 = C2 - S @ D.T
    kb.pairs_dense_nt(indptr, rows, P, D, C2)
    assert np.allclose(C2, expected2, rtol=1e-13, atol=1e-13)


def lower_blocks(rng, m0, q0):
    L = np.tril(rng.standard_normal((m0, q0, q0)), -1)
    L[:, np.arange(q0), np.arange(q0)] = rng.uniform(0.5, 2.0, (m0, q0))
    return L


def blockdiag_dense(L):
    m0, q0, _ = L.shape
    out = np.zeros((m0 * q0, m0 * q0))
    for c in range(m0):
        out[c * q0:(c + 1) * q0, c * q0:(c + 1) * q0] = L[c]
    return out


@pytest.mark.parametrize("qi, q0", QS)
def test_rdiv_blockdiag(qi, q0):
    rng = np.random.default_rng(50 + qi * 7 + q0)
    mi, m0, mr = 5, 9, 3
    indptr, rows, P = random_pairs(rng, m0, mi, qi, q0, empty=(4,))
    L0 = lower_blocks(rng, m0, q0)
    Ld = blockdiag_dense(L0)
    expected = dense_of(indptr, rows, P, mi) @ np.linalg.inv(Ld).T
    kb.pairs_rdiv_blockdiag(indptr, P, L0)
    assert np.allclose(dense_of(indptr, rows, P, mi), expected, rtol=1e-12, atol=1e-12)
    D = fortran(rng, (mr, m0 * q0))
    expected_d = D @ np.linalg.inv(Ld).T
    kb.dense_rdiv_blockdiag(D, L0)
    assert np.allclose(D, expected_d, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("qi, q0", QS)
@pytest.mark.parametrize("nrhs", [None, 1, 3])
def test_pairs_matvec(qi, q0, nrhs):
    rng = np.random.default_rng(70 + qi * 3 + q0 + (nrhs or 0))
    mi, m0 = 7, 10
    indptr, rows, P = random_pairs(rng, m0, mi, qi, q0, empty=(0, 9))
    S = dense_of(indptr, rows, P, mi)
    tail = () if nrhs is None else (nrhs,)
    x = rng.standard_normal((m0 * q0,) + tail)
    y = rng.standard_normal((mi * qi,) + tail)
    expected = y - S @ x
    kb.pairs_matvec(indptr, rows, P, x, y)
    assert np.allclose(y, expected, rtol=1e-13, atol=1e-13)
    # transposed; a Fortran-ordered right-hand side too
    xt = np.asfortranarray(rng.standard_normal((mi * qi,) + tail))
    yt = np.asfortranarray(rng.standard_normal((m0 * q0,) + tail))
    expected_t = yt - S.T @ xt
    kb.pairs_matvec(indptr, rows, P, xt, yt, trans=True)
    assert np.allclose(yt, expected_t, rtol=1e-13, atol=1e-13)


def random_design(rng, n, m, q):
    refs = rng.integers(0, m, size=n).astype(np.intp)
    return refs, rng.standard_normal((n, q))


def dense_z(refs, Z, m):
    n, q = Z.shape
    out = np.zeros((n, m * q))
    for r in range(n):
        out[r, refs[r] * q:(refs[r] + 1) * q] = Z[r]
    return out


@pytest.mark.parametrize("qi, q0", QS)
def test_scatters(qi, q0):
    rng = np.random.default_rng(90 + qi * 11 + q0)
    n, m0, mi = 60, 8, 5
    r0, Z0 = random_design(rng, n, m0 + 1, q0)  # level m0 of block 0 unused: an empty column
    r0[r0 == m0] = 0
    ri, Zi = random_design(rng, n, mi, qi)
    w = rng.uniform(0.1, 2.0, n)
    Zd0, Zdi = dense_z(r0, Z0, m0), dense_z(ri, Zi, mi)
    # the pattern of block (i, 0) and the data row -> pair map, as the structure builds them
    key = np.unique(r0 * mi + ri)
    cols, rows = np.divmod(key, mi)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=m0))]).astype(np.intp)
    rows = rows.astype(np.intp)
    row_pair = np.searchsorted(key, r0 * mi + ri).astype(np.intp)
    kb.check_pattern(indptr, rows, mi)
    kb.check_refs(row_pair, key.size)
    out = np.zeros((key.size, qi, q0))
    kb.scatter_pairs(row_pair, Zi, Z0, w, out)
    assert np.allclose(dense_of(indptr, rows, out, mi), Zdi.T @ (w[:, None] * Zd0), rtol=1e-13, atol=1e-13)

    D = np.zeros((m0, q0, q0))
    kb.scatter_blockdiag(r0, Z0, w, D)
    full = Zd0.T @ (w[:, None] * Zd0)
    assert np.allclose(blockdiag_dense(D), full, rtol=1e-13, atol=1e-13)  # Z0'WZ0 is block diagonal

    out = np.zeros((mi * qi, m0 * q0), order="F")
    kb.scatter_dense(ri, Zi, r0, Z0, w, out)
    assert np.allclose(out, Zdi.T @ (w[:, None] * Zd0), rtol=1e-13, atol=1e-13)
    # the [X y] row: one "level", the columns of [X y] as its Z
    Xy = rng.standard_normal((n, 3))
    out = np.zeros((3, m0 * q0), order="F")
    kb.scatter_dense(np.zeros(n, np.intp), Xy, r0, Z0, w, out)
    assert np.allclose(out, Xy.T @ (w[:, None] * Zd0), rtol=1e-13, atol=1e-13)


def test_empty_blocks_are_no_ops():
    indptr = np.zeros(4, np.intp)
    rows = np.zeros(0, np.intp)
    P = np.zeros((0, 2, 1))
    C = np.asfortranarray(np.eye(4))
    kb.pairs_syrk(indptr, rows, P, C)
    kb.pairs_gemm_nt(indptr, rows, P, indptr, rows, P, C)
    kb.pairs_matvec(indptr, rows, P, np.ones(3), np.ones(4))
    kb.dense_pairs_nt(np.ones((4, 3), order="F"), indptr, rows, P, C)
    assert np.array_equal(C, np.eye(4))


def test_input_validation():
    rng = np.random.default_rng(0)
    indptr, rows, P = random_pairs(rng, 5, 4, 2, 1)
    C = np.zeros((8, 8), order="F")
    with pytest.raises(ValueError, match="`C` must be square"):
        kb.pairs_syrk(indptr, rows, P, np.zeros((8, 6), order="F"))
    with pytest.raises(ValueError, match="`P` must have len"):
        kb.pairs_syrk(indptr, rows, P[:-1], C)
    with pytest.raises(ValueError, match="`C` must have unit stride"):  # C order where Fortran is required
        kb.pairs_syrk(indptr, rows, P, np.zeros((8, 8)))
    with pytest.raises(ValueError):  # wrong dtype
        kb.pairs_syrk(indptr.astype(np.int32), rows, P, C)
    with pytest.raises(ValueError, match="`Pa` and `Pb` must have the same q_0"):
        kb.pairs_gemm_nt(indptr, rows, P, indptr, rows, np.zeros((P.shape[0], 2, 2)), C)
    with pytest.raises(ValueError, match="`indptr_a` and `indptr_b`"):
        kb.pairs_gemm_nt(indptr, rows, P, indptr[:-1], rows[:indptr[-2]], P[:indptr[-2]], C)
    with pytest.raises(ValueError, match="`D` must be"):
        kb.pairs_blockdiag_syrk(rows, P, np.zeros((4, 1, 1)))
    with pytest.raises(ValueError, match="`P` must have len"):
        kb.pairs_blockdiag_syrk(rows[:-1], P, np.zeros((4, 2, 2)))
    with pytest.raises(ValueError, match="`D` must have m_0 q_0"):
        kb.dense_pairs_nt(np.zeros((3, 4), order="F"), indptr, rows, P, np.zeros((3, 8), order="F"))
    with pytest.raises(ValueError, match="`C` must have as many rows"):
        kb.dense_pairs_nt(np.zeros((3, 5), order="F"), indptr, rows, P, np.zeros((2, 8), order="F"))
    with pytest.raises(ValueError, match="`C` must have as many columns"):
        kb.pairs_dense_nt(indptr, rows, P, np.zeros((3, 5), order="F"), np.zeros((8, 2), order="F"))
    with pytest.raises(ValueError, match="`x` must have m_0 q_0"):
        kb.pairs_matvec(indptr, rows, P, np.zeros(4), np.zeros(8))
    with pytest.raises(ValueError, match="`y` must have m_0 q_0"):
        kb.pairs_matvec(indptr, rows, P, np.zeros(8), np.zeros(4), trans=True)
    with pytest.raises(ValueError, match="same number of columns"):
        kb.pairs_matvec(indptr, rows, P, np.zeros((5, 2)), np.zeros((8, 3)))
    with pytest.raises(ValueError, match="`L0` must be"):
        kb.pairs_rdiv_blockdiag(indptr, P, np.ones((5, 2, 2)))
    with pytest.raises(ValueError, match="`indptr` must have m_0 \\+ 1"):
        kb.pairs_rdiv_blockdiag(indptr, P, np.ones((4, 1, 1)))
    with pytest.raises(ValueError, match="`D` must have m_0 q_0"):
        kb.dense_rdiv_blockdiag(np.zeros((2, 4), order="F"), np.ones((5, 1, 1)))
    n = 10
    with pytest.raises(ValueError, match="`Zi`, `Z0` and `w`"):
        kb.scatter_pairs(np.zeros(n, np.intp), np.ones((n, 1)), np.ones((n - 1, 1)), np.ones(n), np.zeros((2, 1, 1)))
    with pytest.raises(ValueError, match="`out` must be \\(npairs, 2, 1\\)"):
        kb.scatter_pairs(np.zeros(n, np.intp), np.ones((n, 2)), np.ones((n, 1)), np.ones(n), np.zeros((2, 1, 1)))
    with pytest.raises(ValueError, match="`out` must be \\(m, 2, 2\\)"):
        kb.scatter_blockdiag(np.zeros(n, np.intp), np.ones((n, 2)), np.ones(n), np.zeros((2, 1, 1)))
    with pytest.raises(ValueError, match="`refs_j`, `Zi`, `Zj` and `w`"):
        kb.scatter_dense(np.zeros(n, np.intp), np.ones((n, 1)), np.zeros(n - 1, np.intp), np.ones((n, 1)),
                         np.ones(n), np.zeros((1, 1), order="F"))
    with pytest.raises(ValueError, match="`out` must have a multiple"):
        kb.scatter_dense(np.zeros(n, np.intp), np.ones((n, 2)), np.zeros(n, np.intp), np.ones((n, 1)),
                         np.ones(n), np.zeros((3, 1), order="F"))


def test_check_pattern_and_refs():
    indptr = np.array([0, 2, 2, 3], np.intp)
    kb.check_pattern(indptr, np.array([0, 3, 1], np.intp), 4)
    with pytest.raises(ValueError, match="`indptr` must start at 0 and end"):
        kb.check_pattern(indptr, np.array([0, 3], np.intp), 4)
    with pytest.raises(ValueError, match="`indptr` must not decrease"):
        kb.check_pattern(np.array([0, 2, 1, 3], np.intp), np.array([0, 1, 2], np.intp), 4)
    with pytest.raises(ValueError, match="`rows` must lie in"):
        kb.check_pattern(indptr, np.array([0, 4, 1], np.intp), 4)
    with pytest.raises(ValueError, match="`rows` must increase strictly"):
        kb.check_pattern(indptr, np.array([3, 3, 1], np.intp), 4)
    with pytest.raises(ValueError, match="`indptr` must have at least one entry"):
        kb.check_pattern(np.zeros(0, np.intp), np.zeros(0, np.intp), 4)
    kb.check_refs(np.array([0, 2, 1], np.intp), 3)
    with pytest.raises(ValueError, match="`refs` must lie in \\[0, 3\\), got 3 at row 1"):
        kb.check_refs(np.array([0, 3, 1], np.intp), 3)
    with pytest.raises(ValueError, match="`refs` must lie in"):
        kb.check_refs(np.array([-1], np.intp), 3)
