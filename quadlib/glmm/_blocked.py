"""The blocked Cholesky factor of a mixed model with several grouping factors (MixedModels.jl's scheme).

For random-effect blocks ``Z_1 .. Z_k`` (one per :class:`~quadlib.glmm._covariance.CovarianceBlock` of a
:class:`~quadlib.glmm._covariance.ThetaLayout`), prior or working weights ``W`` and the fixed effects and response
``[X y]``, the symmetric matrix

    A = [Z_1 .. Z_k X y]' W [Z_1 .. Z_k X y]

is stored as the lower triangle of (k + 1) x (k + 1) blocks, the last one the pseudo-block ``[X y]``. Per theta
the factor ``L`` of ``Lambda' A Lambda + I`` (scaled by ``Lambda``, inflated by ``I`` on the random-effect blocks
only) is computed block by block:

    L[j, j] L[j, j]' = Ã[j, j] - sum_{l<j} L[j, l] L[j, l]'
    L[i, j] = (Ã[i, j] - sum_{l<j} L[i, l] L[j, l]') L[j, j]^-T        (i > j)

The random-effect blocks are eliminated largest first (``m q``: levels times random effects per level; ties keep
the layout's order). Because every data row meets one level of each factor, ``A[j, j]`` is block diagonal, so the
first factor ``L[0, 0]`` is block diagonal too and never fills in. A later ``L[j, j]`` stays block diagonal when
every earlier factor is nested in factor j (each of its levels meets one level of j) and is dense otherwise. The
blocks below the first one, ``L[i, 0]``, keep ``A[i, 0]``'s pattern ("pairs": a block-sparse matrix whose column
groups are the levels of the first factor) when at most a quarter of its level pairs occur, and are dense
otherwise. A block ``L[i, j]`` further down is dense, except in nested designs: when ``L[j, j]`` is block diagonal,
factor j is nested in factor i and the blocks ``L[i, l]``, ``L[j, l]`` (l < j) are pairs, each level of every
earlier factor meets one level of i and one of j, so ``L[i, j]`` keeps ``A[i, j]``'s one pair per level of j (no
fill): a nested model costs O(n + q) per factorization, in memory too. No fill-reducing ordering is needed: the
structure, which depends only on the grouping factors, is analysed once (:class:`BlockedStructure`), and every
factorization (:class:`BlockedFactor`) only refills numbers. The products of pairs blocks run in the compiled
kernels of :mod:`quadlib._extensions._blocked`; dense blocks go to LAPACK/BLAS (dpotrf, dsyrk, dgemm, dtrsm).

From the last block row, ``[[L_X, 0], [c', r]]``, come the profiled quantities of a linear mixed model: ``r^2``
is the penalized weighted residual sum of squares at the solution, ``L_X' beta = c`` gives the fixed effects,
``log|Lambda' Z'WZ Lambda + I| = 2 sum log diag L_Z`` and ``log|R_X' R_X| = 2 sum log diag L_X``.

Memory: dense blocks grow as the square of their levels; the structure refuses (:class:`BlockedUnsupported`,
raised before anything large is allocated) when ``A`` and ``L`` together would need more than ``max_bytes``.

References
----------
.. [1] D. Bates, R. Kliegl, S. Vasishth and H. Baayen, MixedModels.jl, ``src/linalg/cholUnblocked.jl``,
   ``src/linalg/rankUpdate.jl``, ``src/linearmixedmodel.jl`` (``updateL!``).
.. [2] D. Bates, M. Maechler, B. Bolker and S. Walker (2015), "Fitting linear mixed-effects models using lme4",
   Journal of Statistical Software 67(1), section 3.
"""
import math

import numpy as np
from scipy.linalg import blas, lapack

from .._extensions import _blocked as kernels

__all__ = ["BlockedStructure", "BlockedFactor", "BlockedUnsupported", "MAX_BYTES", "PAIRS_DENSITY"]

MAX_BYTES = 2 * 1024 ** 3   # A and L together (dense blocks grow as m^2: 8 GB at m = 32,000)
PAIRS_DENSITY = 0.25        # an L[i, 0] with more level pairs than this fraction is stored dense (MixedModels)
_CONDVAR_CHUNK = 256        # columns per forward solve in condvar_blocks (bounds its work array)
_CONDVAR_BYTES = 256 * 2 ** 20   # condvar_blocks inverts the dense trailing factor up to this size
_CONDVAR_GATHER = 2 ** 21   # entries of Sigma gathered at once in condvar_blocks (16 MiB)


class BlockedUnsupported(ValueError):
    """The blocked factor would exceed its memory bound (dense blocks of factors with many levels): the caller
    falls back to a general sparse factorization. The message names the terms of the dense blocks."""


def _term_name(block):
    return f"({' + '.join(block.columns)} | {block.group})"


# ---------------------------------------------------------------------------------------------------------
class BlockedStructure:
    """The symbolic part of the blocked factor: made once per design (see the module notes).

    Build it with :meth:`from_blocks`. Positions ``j = 0 .. k - 1`` are the random-effect blocks in elimination
    order; position ``k`` is the ``[X y]`` pseudo-block.

    Attributes
    ----------
    blocks : list
        The layout's blocks, in the layout's order.
    k : int
        Random-effect blocks.
    order : tuple of int
        ``order[j]`` is the layout index of the block eliminated j-th (largest ``m q`` first).
    position : tuple of int
        The inverse permutation: the elimination position of each layout block.
    m, q, M : list of int
        Levels, random effects per level, and ``m q`` per position (``M[k] = p + 1``).
    refs, Z : list of ndarray
        Per position, the level of each data row (intp, n) and the block's columns of Z (n, q), C-contiguous.
    X : ndarray
        (n, p), the fixed effects (p may be 0).
    response, weights : ndarray or None
        The defaults for :meth:`BlockedFactor.set_weights_inplace` (None: ``y = 0``, ``w = 1``).
    diag_kind : list of str
        ``"blockdiag"`` (stored (m, q, q)) or ``"dense"`` (M x M, Fortran) per position.
    off_kind : dict
        ``(i, j) -> "pairs" | "dense"`` for ``i > j`` (``i`` up to k; the ``[X y]`` row is dense): pairs for
        ``j = 0`` at density <= 0.25 or when factor 0 is nested in i, and for nested ``j > 0`` (module notes).
    pairs : dict
        ``(i, j) -> (indptr (m_j + 1), rows (npairs), row_pair (n))`` for each pairs block: the rows (levels of
        factor i) met by level c of factor j are ``rows[indptr[c]:indptr[c + 1]]`` (sorted), and data row r
        contributes to pair ``row_pair[r]``. Matrix entry ``(rows[t] q_i + a, c q_j + b)`` of the block is
        ``P[t, a, b]``.
    updates : dict
        ``(i, j, l) -> (src_i, src_j, target)`` for each nested pairs block (i, j), j > 0, and l < j: level c of
        factor l adds ``-P_il[src_i] P_jl[src_j]'`` to pair ``target`` of ``L[i, j]``.
    nbytes : int
        The memory of A and L.

    Examples
    --------
    InstEval's shape in miniature: students crossed with lecturers, lecturers nested in departments. A student
    meets a quarter of the lecturers (pairs below the students' diagonal block) and lecturers of several
    departments, so both later diagonal blocks are dense.

    >>> import numpy as np
    >>> from quadlib.glmm._covariance import ThetaLayout
    >>> from quadlib.glmm._design import RandomTerm
    >>> s, d = np.repeat(np.arange(40), 3), np.tile(np.arange(12), 10)
    >>> terms = [RandomTerm(name, ["(Intercept)"], np.ones((120, 1)), idx, list(range(idx.max() + 1)), True)
    ...          for name, idx in (("s", s), ("d", d), ("dept", d // 4))]
    >>> structure = BlockedStructure.from_blocks(ThetaLayout.from_terms(terms, by="term").blocks, None, 120)
    >>> structure.diag_kind, structure.off_kind[1, 0], structure.off_kind[2, 1]
    (['blockdiag', 'dense', 'dense'], 'pairs', 'dense')
    """

    def __init__(self, blocks, order, refs, Z, X, response, weights, diag_kind, off_kind, pairs, updates, nbytes):
        self.blocks = blocks
        self.k = len(blocks)
        self.order = tuple(order)
        position = [0] * self.k
        for j, b in enumerate(order):
            position[b] = j
        self.position = tuple(position)
        self.refs, self.Z = refs, Z
        self.m = [blocks[b].n_levels for b in order]
        self.q = [blocks[b].q for b in order]
        self.X, self.p = X, X.shape[1]
        self.M = [m * q for m, q in zip(self.m, self.q)] + [self.p + 1]
        self.nobs = X.shape[0]
        self.response, self.weights = response, weights
        self.diag_kind, self.off_kind, self.pairs, self.updates = diag_kind, off_kind, pairs, updates
        self.nbytes = nbytes
        # where each block's random effects sit in u (layout order), per position
        self.u_slices = [slice(blocks[b].start, blocks[b].stop) for b in order]
        self.n_random = max(block.stop for block in blocks)
        self.zero_refs = np.zeros(self.nobs, dtype=np.intp)   # the [X y] row is one "level"

    @classmethod
    def from_blocks(cls, blocks, X, nobs, *, response=None, weights=None, max_bytes=MAX_BYTES):
        """The structure of the random-effect `blocks` and the fixed effects `X`.

        Parameters
        ----------
        blocks : list of CovarianceBlock
            ``ThetaLayout.blocks`` (one per term, lmm's layout, or per grouping factor, fit's): each with
            ``index`` (the level of each row), ``Z`` (n, q), ``n_levels``, ``q``, ``start``/``stop`` in u.
        X : array_like or None
            (nobs, p) fixed-effects matrix; None for none (``p = 0``).
        nobs : int
            Rows.
        response, weights : array_like, optional
            The response and (non-negative) weights a :class:`BlockedFactor` starts with.
        max_bytes : int
            The memory bound of A and L, checked before anything of that size is allocated.

        Raises
        ------
        BlockedUnsupported
            If A and L would need more than `max_bytes`; the message names the terms of the dense blocks.

        Notes
        -----
        The analysis takes O(n k^2) time and O(n) memory: per pair of factors one ``np.unique`` of the level
        pairs (nesting, and the pattern of the pairs blocks).
        """
        if isinstance(nobs, bool) or not isinstance(nobs, (int, np.integer)) or nobs < 1:
            raise ValueError(f"`nobs` must be a positive integer, got {nobs!r}")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, float, np.integer)) or not max_bytes >= 0:
            raise ValueError(f"`max_bytes` must be a non-negative number, got {max_bytes!r}")
        nobs = int(nobs)
        blocks = list(blocks)
        if not blocks:
            raise ValueError("`blocks` must hold at least one block")
        if X is None:
            X = np.zeros((nobs, 0))
        X = np.ascontiguousarray(X, dtype=float)
        if X.ndim != 2 or X.shape[0] != nobs:
            raise ValueError(f"`X` must have shape (nobs, p) = ({nobs}, p), got {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("`X` must be finite")
        response = None if response is None else _vector(response, nobs, "response")
        weights = None if weights is None else _vector(weights, nobs, "weights", nonnegative=True)
        refs, Zs, m, q = [], [], [], []
        for b, block in enumerate(blocks):
            try:
                index, Z = np.asarray(block.index), block.Z
            except (AttributeError, IndexError):   # a layout made without its terms (ThetaLayout.single)
                raise TypeError(f"`blocks[{b}]` must carry its random terms (a ThetaLayout.from_terms block)") from None

            if index.shape != (nobs,) or not np.issubdtype(index.dtype, np.integer):
                raise ValueError(f"`blocks[{b}]`: its level index must be {nobs} integers")
            index = index.astype(np.intp, copy=False)
            if nobs and (index.min() < 0 or index.max() >= block.n_levels):
                raise ValueError(f"`blocks[{b}]`: level index outside [0, {block.n_levels})")
            Z = np.ascontiguousarray(Z, dtype=float)
            if Z.shape != (nobs, block.q) or not np.all(np.isfinite(Z)):
                raise ValueError(f"`blocks[{b}]`: Z must be finite with shape ({nobs}, {block.q})")
            refs.append(index)
            Zs.append(Z)
            m.append(block.n_levels)
            q.append(block.q)
        k = len(blocks)
        order = sorted(range(k), key=lambda b: -m[b] * q[b])
        refs = [refs[b] for b in order]
        Zs = [Zs[b] for b in order]
        m = [m[b] for b in order]
        q = [q[b] for b in order]
        M = [a * b for a, b in zip(m, q)] + [X.shape[1] + 1]

        nest = {}

        def nested(l, j):
            # each level of factor l meets a single level of factor j
            if (l, j) not in nest:
                keys = np.unique(refs[l] * m[j] + refs[j])
                nest[l, j] = bool(np.all(np.diff(keys // m[j]) > 0))
            return nest[l, j]

        diag_kind = ["blockdiag"]
        for j in range(1, k):
            diag_kind.append("blockdiag" if all(nested(l, j) for l in range(j)) else "dense")
        off_kind, pairs, updates = {}, {}, {}
        for i in range(1, k):
            for j in range(i):
                keys = None
                if (diag_kind[j] == "blockdiag" and nested(j, i)
                        and all(off_kind[i, l] == off_kind[j, l] == "pairs" for l in range(j))):
                    kind = "pairs"     # nested: one pair per level of j, and no fill (see the class notes)
                elif j == 0:
                    keys, row_pair = np.unique(refs[0] * m[i] + refs[i], return_inverse=True)
                    kind = "pairs" if keys.size <= PAIRS_DENSITY * m[0] * m[i] else "dense"
                else:
                    kind = "dense"
                off_kind[i, j] = kind
                if kind == "dense":
                    continue
                if keys is None:
                    keys, row_pair = np.unique(refs[j] * m[i] + refs[i], return_inverse=True)
                indptr = np.zeros(m[j] + 1, dtype=np.intp)
                np.cumsum(np.bincount(keys // m[i], minlength=m[j]), out=indptr[1:])
                pairs[i, j] = (indptr, (keys % m[i]).astype(np.intp),
                               np.ascontiguousarray(row_pair.astype(np.intp).ravel()))
                kernels.check_pattern(indptr, pairs[i, j][1], m[i])
                kernels.check_refs(pairs[i, j][2], pairs[i, j][1].size)
                for l in range(j):
                    # L[i, j] -= L[i, l] L[j, l]': each level c of l (one pair in each source) updates the pair
                    # (level of i, level of j) of its rows
                    (pi, ri, _), (pj, rj, _) = pairs[i, l], pairs[j, l]
                    seen = np.flatnonzero(np.diff(pi))
                    ki, kj = pi[seen], pj[seen]
                    target = np.searchsorted(keys, rj[kj] * m[i] + ri[ki])
                    updates[i, j, l] = (ki, kj, target)
        for j in range(k):
            off_kind[k, j] = "dense"
        # A and L (the X block's rows included); the dense fill of A[i, j] needs one more block of that size
        nbytes, largest = 0, 0
        for j in range(k):
            nbytes += m[j] * q[j] ** 2 + (m[j] * q[j] ** 2 if diag_kind[j] == "blockdiag" else M[j] ** 2)
        for (i, j), kind in off_kind.items():
            size = pairs[i, j][1].size * q[i] * q[j] if kind == "pairs" else M[i] * M[j]
            nbytes += 2 * size
            largest = max(largest, size if kind == "dense" else 0)
        nbytes = 8 * (nbytes + largest + 2 * M[k] ** 2)
        if nbytes > max_bytes:
            big = {j for j in range(k) if diag_kind[j] == "dense"}
            big |= {b for (i, j), kind in off_kind.items() if kind == "dense" and i < k for b in (i, j)}
            dense = [_term_name(blocks[order[j]]) for j in sorted(big)]
            raise BlockedUnsupported(
                f"the blocked factor of the random effects needs {nbytes / 2 ** 30:.2f} GiB, more than "
                f"{max_bytes / 2 ** 30:.2f} GiB, for the dense blocks of {', '.join(dense) or 'the terms'}")
        return cls(blocks, order, refs, Zs, X, response, weights, diag_kind, off_kind, pairs, updates, nbytes)

    def __repr__(self):
        kinds = ", ".join(f"{_term_name(self.blocks[b])}: {self.m[j]} x {self.q[j]} {self.diag_kind[j]}"
                          for j, b in enumerate(self.order))
        return f"BlockedStructure({kinds}; p={self.p}, {self.nbytes / 2 ** 20:.1f} MiB)"


def _finite(values, nobs, name):
    """`values` as a float vector of length `nobs`, checked finite in one pass (its sum: a non-finite entry, or
    an overflowing total, makes it non-finite)."""
    values = np.ascontiguousarray(values, dtype=float)
    if values.shape != (nobs,):
        raise ValueError(f"`{name}` must have shape ({nobs},), got {values.shape}")
    if not math.isfinite(float(np.add.reduce(values))):
        raise ValueError(f"`{name}` must be finite")
    return values


def _vector(values, nobs, name, nonnegative=False):
    values = np.ascontiguousarray(values, dtype=float)
    if values.shape != (nobs,):
        raise ValueError(f"`{name}` must have shape ({nobs},), got {values.shape}")
    if not np.all(np.isfinite(values)) or (nonnegative and np.any(values < 0)):
        raise ValueError(f"`{name}` must be finite{' and non-negative' if nonnegative else ''}")
    return values


# ---------------------------------------------------------------------------------------------------------
class BlockedFactor:
    """The numeric blocked factor over a :class:`BlockedStructure`; mutable (the methods that change it end in
    ``_inplace``).

    Parameters
    ----------
    structure : BlockedStructure
        Its ``response`` and ``weights`` (or ``y = 0``, ``w = 1``) fill A at construction.

    Attributes
    ----------
    structure : BlockedStructure
    A, L : dict
        ``(i, j) -> ndarray`` for ``i >= j`` (positions; ``k`` is the ``[X y]`` block): block-diagonal blocks as
        (m, q, q), pairs blocks (i, j) as (npairs, q_i, q_j), dense blocks as Fortran arrays. ``L[j, j]`` holds its
        factor in the lower triangle only. ``A[j, j]`` is always block diagonal for ``j < k``.
    info : int
        What the last :meth:`update_inplace` returned (-1 before the first).

    Examples
    --------
    >>> import numpy as np
    >>> from quadlib.glmm._covariance import ThetaLayout
    >>> from quadlib.glmm._design import RandomTerm
    >>> rng = np.random.default_rng(1)
    >>> g, h = np.repeat(np.arange(4), 3), np.tile(np.arange(3), 4)
    >>> terms = [RandomTerm(name, ["(Intercept)"], np.ones((12, 1)), idx, list(range(idx.max() + 1)), True)
    ...          for name, idx in (("g", g), ("h", h))]
    >>> layout = ThetaLayout.from_terms(terms, by="term")
    >>> y = rng.normal(size=12)
    >>> structure = BlockedStructure.from_blocks(layout.blocks, np.ones((12, 1)), 12, response=y)
    >>> factor = BlockedFactor(structure)
    >>> factor.update_inplace(layout.factors([0.5, 0.8]))
    0
    >>> factor.beta().shape, factor.u().shape
    ((1,), (7,))
    """

    def __init__(self, structure):
        s = self.structure = structure
        k, m, q, M = s.k, s.m, s.q, s.M
        self.A, self.L = {}, {}
        for j in range(k):
            self.A[j, j] = np.zeros((m[j], q[j], q[j]))
            self.L[j, j] = (np.zeros((m[j], q[j], q[j])) if s.diag_kind[j] == "blockdiag"
                            else np.zeros((M[j], M[j]), order="F"))
        self.A[k, k] = np.zeros((M[k], M[k]), order="F")
        self.L[k, k] = np.zeros((M[k], M[k]), order="F")
        for (i, j), kind in s.off_kind.items():
            if kind == "pairs":
                shape = (s.pairs[i, j][1].size, q[i], q[j])
                self.A[i, j], self.L[i, j] = np.zeros(shape), np.zeros(shape)
            else:
                self.A[i, j] = np.zeros((M[i], M[j]), order="F")
                self.L[i, j] = np.zeros((M[i], M[j]), order="F")
        self.Linv = {j: np.zeros((m[j], q[j], q[j])) for j in range(k) if s.diag_kind[j] == "blockdiag"}
        self.Ts = None
        self.r2 = math.nan
        self.info = -1
        # [X y] by rows (for the scatter kernel) and by columns (for X'WX: p+1 dot products beat a thin gemm),
        # the last column rewritten with each response
        self._XY = np.zeros((s.nobs, s.p + 1))
        self._XY[:, :s.p] = s.X
        self._XYt = np.ascontiguousarray(self._XY.T)
        self._views()
        self.set_weights_inplace(np.ones(s.nobs) if s.weights is None else s.weights, s.response)

    def __setstate__(self, state):
        # unpickled arrays are new objects: the diagonal views must be made again on them (else a pickled
        # factor, e.g. in a result sent to a Dask worker, adds the identity to stale copies)
        self.__dict__.update(state)
        self._views()

    def _views(self):
        """Writable views of the diagonals of the diagonal blocks (made once: the arrays are never replaced)."""
        s = self.structure
        self._diagonals = []
        for j in range(s.k):
            D, q = self.L[j, j], s.q[j]
            if s.diag_kind[j] == "blockdiag":
                self._diagonals.append(D.reshape(s.m[j], q * q)[:, ::q + 1])
            else:
                self._diagonals.append(D.T.reshape(-1)[::s.M[j] + 1])

    # -----------------------------------------------------------------------------------------------------
    def set_weights_inplace(self, w, y=None):
        """A <- [Z X y]' W [Z X y] for the weights `w` (n,) and the response `y` (n,; None: the structure's
        response, or 0). Once for a linear mixed model, at every PIRLS step of a generalized one.
        The factor is stale until the next :meth:`update_inplace`.

        Raises
        ------
        ValueError
            If `w` or `y` is not finite or has the wrong shape. Negative weights are accepted (a Laplace
            step's ``-d2`` of a non-log-concave family): :meth:`update_inplace` then reports a block that is
            not positive definite, if it is not."""
        s = self.structure
        w = _finite(w, s.nobs, "w")
        y = s.response if y is None else _finite(y, s.nobs, "y")
        k, refs, Z = s.k, s.refs, s.Z
        XY, XYt = self._XY, self._XYt
        XY[:, s.p] = XYt[s.p] = 0.0 if y is None else y
        empty_row = s.p == 0 and y is None     # no X and no y (a Laplace objective's PIRLS): the row is 0
        for j in range(k):
            A = self.A[j, j]
            A.fill(0.0)
            kernels.scatter_blockdiag(refs[j], Z[j], w, A)
        for (i, j), kind in s.off_kind.items():
            A = self.A[i, j]
            A.fill(0.0)
            if kind == "pairs":
                kernels.scatter_pairs(s.pairs[i, j][2], Z[i], Z[j], w, A)
            elif i == k:
                if not empty_row:
                    kernels.scatter_dense(s.zero_refs, XY, refs[j], Z[j], w, A)
            else:
                kernels.scatter_dense(refs[i], Z[i], refs[j], Z[j], w, A)
        WXY = XYt * w
        Akk = self.A[k, k]
        for a in range(s.p + 1):
            for b in range(a + 1):
                Akk[a, b] = Akk[b, a] = np.dot(WXY[a], XYt[b])
        self.info = -1

    # -----------------------------------------------------------------------------------------------------
    def update_inplace(self, Ts):
        """L <- the blocked Cholesky factor of ``Lambda' A Lambda + I`` (the X block neither scaled nor inflated).

        Parameters
        ----------
        Ts : list of ndarray
            Each layout block's q x q lower-triangular relative factor, in the layout's order
            (``ThetaLayout.factors``).

        Returns
        -------
        int
            0 on success; ``1 + b`` when layout block b's diagonal block is not positive definite (rounding with
            huge theta), ``1 + k`` when the fixed-effects block is not (X rank deficient given the random
            effects). The accessors refuse a factor whose last update failed.
        """
        s = self.structure
        k = s.k
        if len(Ts) != k:
            raise ValueError(f"`Ts` must hold {k} factors (one per block), got {len(Ts)}")
        T = [np.asarray(Ts[b], dtype=float) for b in s.order]
        for j, Tj in enumerate(T):
            if Tj.shape != (s.q[j], s.q[j]):
                raise ValueError(f"`Ts[{s.order[j]}]` must be {s.q[j]} x {s.q[j]}, got shape {Tj.shape}")
        self.Ts = T
        self._scale(T)
        self.info = self._cholesky()
        return self.info

    def _scale(self, T):
        s = self.structure
        k, q, m = s.k, s.q, s.m
        A, L = self.A, self.L
        for j in range(k):
            diagonal = self._diagonals[j]
            if q[j] == 1:
                t2 = T[j][0, 0] ** 2
                if s.diag_kind[j] == "blockdiag":
                    np.multiply(A[j, j], t2, out=L[j, j])
                else:
                    L[j, j].fill(0.0)
                    np.multiply(A[j, j][:, 0, 0], t2, out=diagonal)
                diagonal += 1.0
                continue
            S = np.matmul(np.matmul(T[j].T, A[j, j]), T[j])
            if s.diag_kind[j] == "blockdiag":
                L[j, j][:] = S
            else:
                D = L[j, j]
                D.fill(0.0)
                view = D.T.reshape(m[j], q[j], m[j], q[j])   # C order: [col level, b, row level, a]
                idx = np.arange(m[j])
                view[idx, :, idx, :] = S.transpose(0, 2, 1)
            diagonal += 1.0
        for (i, j), kind in s.off_kind.items():
            Ti = None if i == k else T[i]
            if kind == "pairs":
                if q[i] == 1 and q[j] == 1:
                    np.multiply(A[i, j], Ti[0, 0] * T[j][0, 0], out=L[i, j])
                else:
                    np.matmul(np.matmul(Ti.T, A[i, j]), T[j], out=L[i, j])
            elif i == k:
                if q[j] == 1:
                    np.multiply(A[i, j], T[j][0, 0], out=L[i, j])
                else:
                    src = A[i, j].T.reshape(m[j], q[j], -1)
                    L[i, j].T.reshape(m[j], q[j], -1)[:] = np.matmul(T[j].T, src)
            elif q[i] == 1 and q[j] == 1:
                np.multiply(A[i, j], Ti[0, 0] * T[j][0, 0], out=L[i, j])
            else:
                src = A[i, j].T.reshape(m[j], q[j], m[i], q[i])
                L[i, j].T.reshape(m[j], q[j], m[i], q[i])[:] = np.einsum("yb,lymx,xa->lbma", T[j], src, Ti)
        L[k, k][:] = A[k, k]

    def _cholesky(self):
        s = self.structure
        k, off, L = s.k, s.off_kind, self.L
        for j in range(k + 1):
            D = L[j, j]
            blockdiag = j < k and s.diag_kind[j] == "blockdiag"
            for l in range(j):
                self._syrk(j, l, D, blockdiag)
            if blockdiag:
                info = _blockdiag_cholesky(D, self.Linv[j])
                if info:
                    return 1 + s.order[j]
            elif j < k:
                F, info = lapack.dpotrf(D, lower=1, clean=0, overwrite_a=1)
                if info:
                    return 1 + s.order[j]
                if F is not D:   # f2py works in place on a Fortran array; copy back otherwise
                    D[:] = F
            else:
                return self._factor_x()
            for i in range(j + 1, k + 1):
                C = L[i, j]
                for l in range(j):
                    self._gemm(i, j, l, C)
                if blockdiag:
                    if off[i, j] == "pairs":
                        kernels.pairs_rdiv_blockdiag(s.pairs[i, j][0], C, D)
                    else:
                        kernels.dense_rdiv_blockdiag(C, D)
            if not blockdiag:
                self._rdiv_dense(j, D)
        return 0

    def _rdiv_dense(self, j, D):
        """L[i, j] <- L[i, j] L[j, j]^-T for every i > j (all dense below a dense L[j, j]): one triangular solve
        for all of them (stacked, transposed), cheaper than one thin solve per block."""
        s, L = self.structure, self.L
        below = [L[i, j] for i in range(j + 1, s.k + 1)]
        if len(below) == 1:
            out = blas.dtrsm(1.0, D, below[0], side=1, lower=1, trans_a=1, overwrite_b=1)
            if out is not below[0]:
                below[0][:] = out
            return
        S = np.empty((D.shape[0], sum(C.shape[0] for C in below)), order="F")
        start = 0
        for C in below:
            S[:, start:start + C.shape[0]] = C.T
            start += C.shape[0]
        S = blas.dtrsm(1.0, D, S, lower=1, overwrite_b=1)
        start = 0
        for C in below:
            C[:] = S[:, start:start + C.shape[0]].T
            start += C.shape[0]

    def _syrk(self, j, l, D, blockdiag):
        """D (L[j, j]) -= L[j, l] L[j, l]'."""
        s = self.structure
        B = self.L[j, l]
        if s.off_kind[j, l] == "pairs":
            indptr, rows, _ = s.pairs[j, l]
            if blockdiag:
                kernels.pairs_blockdiag_syrk(rows, B, D)
            else:
                kernels.pairs_syrk(indptr, rows, B, D)
        elif blockdiag:
            m, q = s.m[j], s.q[j]
            V = B.T.reshape(-1, m, q)
            D -= np.einsum("rla,rlb->lab", V, V)
        else:
            out = blas.dsyrk(-1.0, B, beta=1.0, c=D, lower=1, overwrite_c=1)
            if out is not D:   # f2py updates a Fortran array in place; copy back otherwise
                D[:] = out

    def _gemm(self, i, j, l, C):
        """C (L[i, j]) -= L[i, l] L[j, l]'."""
        s = self.structure
        Bi, Bj = self.L[i, l], self.L[j, l]
        ki, kj = s.off_kind[i, l], s.off_kind[j, l]
        if s.off_kind[i, j] == "pairs":
            # nested: one product per level of l, into the pair of its rows (no fill)
            src_i, src_j, target = s.updates[i, j, l]
            if C.shape[1] == C.shape[2] == Bj.shape[2] == 1:
                C[:, 0, 0] -= np.bincount(target, Bi[src_i, 0, 0] * Bj[src_j, 0, 0], C.shape[0])
            else:
                np.subtract.at(C, target, np.matmul(Bi[src_i], Bj[src_j].transpose(0, 2, 1)))
        elif ki == "pairs" and kj == "pairs":
            pi, pj = s.pairs[i, l], s.pairs[j, l]
            kernels.pairs_gemm_nt(pi[0], pi[1], Bi, pj[0], pj[1], Bj, C)
        elif kj == "pairs":
            indptr, rows, _ = s.pairs[j, l]
            kernels.dense_pairs_nt(Bi, indptr, rows, Bj, C)
        elif ki == "pairs":
            indptr, rows, _ = s.pairs[i, l]
            kernels.pairs_dense_nt(indptr, rows, Bi, Bj, C)
        else:
            out = blas.dgemm(-1.0, Bi, Bj, beta=1.0, c=C, trans_b=1, overwrite_c=1)
            if out is not C:
                C[:] = out

    def _factor_x(self):
        s = self.structure
        k, p = s.k, s.p
        D = self.L[k, k]
        if p:
            LX, info = lapack.dpotrf(D[:p, :p], lower=1, clean=1)
            if info:
                return 1 + k
            D[:p, :p] = LX
            c = blas.dtrsv(LX, D[p, :p], lower=1)   # row p: c = L_X^-1 a_Xy
            D[p, :p] = c
            r2 = D[p, p] - c @ c
        else:
            r2 = D[0, 0]
        # rounding can leave a tiny negative r^2 for an exact fit
        self.r2 = max(float(r2), 0.0)
        D[p, p] = math.sqrt(self.r2)
        return 0

    # -----------------------------------------------------------------------------------------------------
    def _check(self):
        if self.info != 0:
            raise ValueError("the blocked factor is not available: "
                             + ("`update_inplace` has not run since the weights changed" if self.info < 0 else
                                f"`update_inplace` returned {self.info} (a block is not positive definite)"))

    def logdet_re(self):
        """``log|Lambda' Z'WZ Lambda + I|``."""
        self._check()
        total = 0.0
        for diagonal in self._diagonals:
            total += float(np.log(diagonal).sum())
        return 2.0 * total

    def logdet_x(self):
        """``log|R_X' R_X|``, R_X' R_X = X'WX - X'WZ Lambda (Lambda' Z'WZ Lambda + I)^-1 Lambda' Z'WX``."""
        self._check()
        p = self.structure.p
        return 2.0 * float(np.sum(np.log(np.diagonal(self.L[self.structure.k, self.structure.k])[:p])))

    def x_factor(self):
        """L_X (p x p, lower): ``L_X L_X' = R_X' R_X``, so ``vcov(beta) = sigma^2 (L_X L_X')^-1`` (a copy)."""
        self._check()
        p = self.structure.p
        return np.tril(self.L[self.structure.k, self.structure.k][:p, :p])

    def pwrss(self):
        """r^2, the penalized weighted residual sum of squares at (beta-hat, u-hat)."""
        self._check()
        return self.r2

    def beta(self):
        """beta-hat (p,), solving ``L_X' beta = c``."""
        self._check()
        s = self.structure
        p, D = s.p, self.L[s.k, s.k]
        if not p:
            return np.zeros(0)
        return blas.dtrsv(D[:p, :p], D[p, :p].copy(), lower=1, trans=1)

    def u(self):
        """u-hat in the layout's order: ``L_Z' u = v - L_XZ' beta``."""
        s = self.structure
        beta = self.beta()
        rhs = []
        for j in range(s.k):
            B = self.L[s.k, j]
            rhs.append(B[s.p] - B[:s.p].T @ beta)
        return self._to_layout(self._backward(rhs))

    def solve_re(self, rhs):
        """x with ``(L_Z L_Z') x = rhs``, ``L_Z L_Z' = Lambda' Z'WZ Lambda + I``; `rhs` (q,) and x in the layout's
        order."""
        self._check()
        rhs = np.asarray(rhs, dtype=float)
        s = self.structure
        if rhs.shape != (s.n_random,):
            raise ValueError(f"`rhs` must have shape ({s.n_random},), got {rhs.shape}")
        parts = [rhs[sl].copy() for sl in s.u_slices]
        return self._to_layout(self._backward(self._forward(parts)))

    def _to_layout(self, parts):
        s = self.structure
        out = np.empty(s.n_random)
        for sl, part in zip(s.u_slices, parts):
            out[sl] = part
        return out

    def _tri_solve(self, j, r, trans):
        s = self.structure
        if s.diag_kind[j] == "blockdiag":
            Linv = self.Linv[j]
            if s.q[j] == 1:
                return r * Linv[:, 0, 0]
            R = r.reshape(s.m[j], s.q[j], 1)
            return np.matmul(Linv.transpose(0, 2, 1) if trans else Linv, R).ravel()
        return blas.dtrsv(self.L[j, j], r, lower=1, trans=int(trans))

    def _forward(self, parts):
        """v with L_Z v = rhs (positions' parts, overwritten)."""
        s = self.structure
        for i in range(s.k):
            r = parts[i]
            for l in range(i):
                self._matvec(i, l, parts[l], r, False)
            parts[i] = self._tri_solve(i, r, False)
        return parts

    def _backward(self, parts):
        """x with L_Z' x = v."""
        s = self.structure
        for i in reversed(range(s.k)):
            r = parts[i]
            for j in range(i + 1, s.k):
                self._matvec(j, i, parts[j], r, True)
            parts[i] = self._tri_solve(i, r, True)
        return parts

    def _matvec(self, i, l, x, y, trans):
        """y -= L[i, l] x (trans False) or L[i, l]' x."""
        s = self.structure
        B = self.L[i, l]
        if s.off_kind[i, l] == "pairs":
            indptr, rows, _ = s.pairs[i, l]
            kernels.pairs_matvec(indptr, rows, B, x, y, trans)
        else:
            y -= (B.T @ x) if trans else (B @ x)

    # -----------------------------------------------------------------------------------------------------
    def condvar_blocks(self):
        """The diagonal level blocks of ``(L_Z L_Z')^-1`` (the conditional covariance of u over sigma^2, or
        of a GLMM's u at the mode): a list of (m_j, q_j, q_j) arrays in the layout's order.

        Notes
        -----
        Write ``L_Z = [[L_00, 0], [B, L_T]]`` (the first block and the trailing ones). When every trailing
        diagonal block is dense and ``Sigma_T = (L_T L_T')^-1`` fits in 256 MiB, the trailing blocks' entries
        are those of ``Sigma_T`` (LAPACK's dpotri), and level c of the first block gets
        ``L_00,c^-T (I + B_c' Sigma_T B_c) L_00,c^-1`` from the non-zero rows of its columns ``B_c`` only:
        ``sum_c nnz_c^2 q_0^2`` operations (InstEval: 0.15 s for all three blocks, against 0.9 s when solving for
        the first block's 2972 unit vectors, 4e9 operations). Otherwise each block j solves ``L_Z X = E_j`` for its unit columns, in
        chunks of whole levels (about 256 columns: the work array has 256 columns per trailing row), through the
        blocks from j on only, and sums the squares.
        """
        self._check()
        s = self.structure
        MT = sum(s.M[1:s.k])
        if s.k > 1 and all(kind == "dense" for kind in s.diag_kind[1:]) and 8 * MT ** 2 <= _CONDVAR_BYTES:
            out = self._condvar_trailing_inverse(MT)
        else:
            out = [self._condvar_solve(j) for j in range(s.k)]
        return [out[s.position[b]] for b in range(s.k)]

    def _condvar_trailing_inverse(self, MT):
        s = self.structure
        k, q0 = s.k, s.q[0]
        offsets = np.concatenate([[0], np.cumsum(s.M[1:k])])
        LT = np.zeros((MT, MT), order="F")
        for i in range(1, k):
            for j in range(1, i + 1):
                B = self.L[i, j]
                LT[offsets[i - 1]:offsets[i], offsets[j - 1]:offsets[j]] = B    # dpotri reads the lower part
        Sigma, info = lapack.dpotri(LT, lower=1, overwrite_c=1)
        if info:   # unreachable after a successful factorization (its diagonal is positive)
            raise np.linalg.LinAlgError(f"dpotri failed (info {info})")
        # only the lower triangle of Sigma is valid: entry (r, c) is read at max(r, c) + min(r, c) MT (Fortran)
        flat = Sigma.reshape(-1, order="F")

        def gather(rows, cols):
            return np.take(flat, np.maximum(rows, cols) + np.minimum(rows, cols) * MT)

        out = [None] * k
        for i in range(1, k):
            m, q = s.m[i], s.q[i]
            r = offsets[i - 1] + np.arange(m)[:, None, None] * q + np.arange(q)[:, None]
            out[i] = gather(r, r.transpose(0, 2, 1))
        # G_c = B_c' Sigma_T B_c over the non-zero rows of column group c of B: the pairs rows (a few per level)
        # and the rows of the dense blocks (all of them), G = pp + pd + dp + dd
        m0 = s.m[0]
        G = np.zeros((m0, q0, q0))
        pcols, pidx, pvals, drows, dense = [], [], [], [], []
        for i in range(1, k):
            qi, base = s.q[i], offsets[i - 1]
            if s.off_kind[i, 0] == "pairs":
                indptr, rows, _ = s.pairs[i, 0]
                pcols.append(np.repeat(np.repeat(np.arange(m0), np.diff(indptr)), qi))
                pidx.append((base + rows[:, None] * qi + np.arange(qi)).ravel())
                pvals.append(self.L[i, 0].reshape(-1, q0))
            else:
                drows.append(base + np.arange(s.M[i]))
                dense.append(self.L[i, 0])
        if pcols:
            pcols, pidx, pvals = np.concatenate(pcols), np.concatenate(pidx), np.concatenate(pvals)
        if dense:
            drows, dense = np.concatenate(drows), np.vstack(dense)      # (Md, m0 q0)
            Sd = gather(np.arange(MT)[:, None], drows[None, :])
            per = max(1, _CONDVAR_GATHER // (MT * q0))
            for c0 in range(0, m0, per):
                c1 = min(m0, c0 + per)
                D = dense[:, c0 * q0:c1 * q0]
                Y = (Sd @ D).reshape(MT, c1 - c0, q0)              # Sigma_T[:, dense rows] B_d for the chunk
                G[c0:c1] += np.einsum("rca,rcb->cab", D.reshape(-1, c1 - c0, q0), Y[drows])
                if len(pcols):
                    sel = (pcols >= c0) & (pcols < c1)
                    cross = pvals[sel][:, :, None] * Y[pidx[sel], pcols[sel] - c0][:, None, :]
                    cross += cross.transpose(0, 2, 1)
                    for a in range(q0):
                        for b in range(q0):
                            G[c0:c1, a, b] += np.bincount(pcols[sel] - c0, cross[:, a, b], c1 - c0)
        if len(pcols):
            # levels in order of their number of pairs, so that padding each chunk to its longest costs little
            counts = np.bincount(pcols, minlength=m0)
            by_count = np.argsort(counts, kind="stable")
            order = np.argsort(pcols, kind="stable")
            pcols, pidx, pvals = pcols[order], pidx[order], pvals[order]
            starts = np.concatenate([[0], np.cumsum(counts)])
            slot = np.arange(pcols.size) - starts[pcols]
            c0 = 0
            while c0 < m0:
                nmax = max(int(counts[by_count[min(m0, c0 + 1) - 1]]), 1)
                # the chunk's longest level is its last; grow the chunk while the gather stays bounded
                c1 = c0 + 1
                while c1 < m0 and (c1 + 1 - c0) * max(int(counts[by_count[c1]]), 1) ** 2 <= _CONDVAR_GATHER:
                    c1 += 1
                nmax = max(int(counts[by_count[c1 - 1]]), 1)
                levels = by_count[c0:c1]
                local = np.full(m0, -1, dtype=np.intp)
                local[levels] = np.arange(c1 - c0)
                sel = np.concatenate([np.arange(starts[c], starts[c + 1]) for c in levels]) if c1 - c0 < 64 else \
                    np.flatnonzero(local[pcols] >= 0)
                I = np.zeros((c1 - c0, nmax), dtype=np.intp)
                V = np.zeros((c1 - c0, nmax, q0))
                I[local[pcols[sel]], slot[sel]] = pidx[sel]
                V[local[pcols[sel]], slot[sel]] = pvals[sel]
                S = gather(I[:, :, None], I[:, None, :])
                G[levels] += np.einsum("cra,crs,csb->cab", V, S, V)
                c0 = c1
        G[:, range(q0), range(q0)] += 1.0
        Linv = self.Linv[0]
        out[0] = np.matmul(np.matmul(Linv.transpose(0, 2, 1), G), Linv)
        return out

    def _condvar_solve(self, j):
        s = self.structure
        m, q = s.m[j], s.q[j]
        result = np.empty((m, q, q))
        per = max(1, _CONDVAR_CHUNK // q)
        for start in range(0, m, per):
            stop = min(m, start + per)
            cols = (stop - start) * q
            rows = slice(start * q, stop * q)
            parts = {}
            if s.diag_kind[j] == "blockdiag":
                # L_jj^-1 E_j is block diagonal: only the chunk's own rows are non-zero
                Xj = np.zeros((stop - start, q, stop - start, q))
                Xj[np.arange(stop - start), :, np.arange(stop - start), :] = self.Linv[j][start:stop]
                Xj = Xj.reshape(cols, cols)
            else:
                E = np.zeros((s.M[j], cols))
                E[rows] = np.eye(cols)
                Xj = self._tri_solve_matrix(j, E)
            parts[j] = Xj
            for i in range(j + 1, s.k):
                R = np.zeros((s.M[i], cols))
                for l in range(j, i):
                    if l == j and s.diag_kind[j] == "blockdiag":
                        # only the chunk's columns of L[i, j] meet the non-zero rows of X_j
                        if s.off_kind[i, j] == "pairs":
                            indptr, prow, _ = s.pairs[i, j]
                            kernels.pairs_matvec(indptr[start:stop + 1], prow, self.L[i, j], Xj, R, False)
                        else:
                            R -= self.L[i, j][:, rows] @ Xj
                    else:
                        self._matvec(i, l, parts[l], R, False)
                parts[i] = self._tri_solve_matrix(i, R)
            X = np.concatenate([parts[i] for i in range(j, s.k)], axis=0).reshape(-1, stop - start, q)
            result[start:stop] = np.einsum("rla,rlb->lab", X, X)
        return result

    def _tri_solve_matrix(self, j, R):
        s = self.structure
        if s.diag_kind[j] == "blockdiag":
            V = R.reshape(s.m[j], s.q[j], -1)
            return np.matmul(self.Linv[j], V).reshape(R.shape)
        return blas.dtrsm(1.0, self.L[j, j], R, lower=1)

    def copy(self):
        """An independent copy of the numeric state (the structure is shared: it is immutable)."""
        new = object.__new__(BlockedFactor)
        new.structure = self.structure
        new.A = {key: value.copy(order="K") for key, value in self.A.items()}
        new.L = {key: value.copy(order="K") for key, value in self.L.items()}
        new.Linv = {key: value.copy() for key, value in self.Linv.items()}
        new.Ts = None if self.Ts is None else [T.copy() for T in self.Ts]
        new.r2, new.info = self.r2, self.info
        new._XY, new._XYt = self._XY.copy(), self._XYt.copy()
        new._views()
        return new

    def __repr__(self):
        state = {-1: "not factored", 0: "factored"}.get(self.info, f"failed ({self.info})")
        return f"BlockedFactor({state}, {self.structure!r})"


def _blockdiag_cholesky(D, Linv):
    """IN/OUT `D` (m, q, q) <- its level blocks' lower Cholesky factors; OUT `Linv` their inverses.
    Returns 0, or 1 if a block is not positive definite."""
    q = D.shape[1]
    if q == 1:
        d = D[:, 0, 0]
        if not np.all(d > 0):
            return 1
        np.sqrt(d, out=d)
        np.divide(1.0, d, out=Linv[:, 0, 0])
        return 0
    try:
        F = np.linalg.cholesky(D)
    except np.linalg.LinAlgError:
        return 1
    D[:] = F
    Linv[:] = np.linalg.inv(F)
    return 0
