"""Dense linear algebra shared by the glmm models and their results: the lower Cholesky factor, solves and the
inverse from it (LAPACK directly: scipy's wrappers cost more than the small factorizations done here), and the
products with the block-diagonal relative covariance factor ``Lambda`` of a linear mixed model
(``b = Lambda u``, ``Lambda' R``, ``R Lambda``) and the level blocks of a matrix's diagonal. One copy of each,
imported by the model modules and the result classes alike.

The block helpers take ``blocks``: per random term (or grouping factor), an object with ``start``, ``stop``
and ``q`` (its random effects occupy ``u[start:stop]``, level-major: level l, column c at ``start + l q + c``),
as :class:`quadlib.glmm._covariance.CovarianceBlock` has them; ``Ts`` are the blocks' q x q factors.
"""
import numpy as np

__all__ = ["cholesky", "cho_solve", "cho_inverse", "lambda_u", "left_lambda_t", "right_lambda",
           "block_diagonal"]


def cholesky(A):
    """The lower Cholesky factor of the symmetric positive definite `A`.

    Raises
    ------
    numpy.linalg.LinAlgError
        If `A` is not positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> cholesky(np.array([[4.0, 2.0], [2.0, 2.0]])).tolist()
    [[2.0, 0.0], [1.0, 1.0]]
    """
    from scipy.linalg import lapack

    L, info = lapack.dpotrf(A, lower=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError("matrix is not positive definite")
    return L


def cho_solve(L, rhs):
    """``A^-1 rhs`` from the lower Cholesky factor `L` of `A`.

    Examples
    --------
    >>> import numpy as np
    >>> cho_solve(cholesky(np.array([[4.0, 2.0], [2.0, 2.0]])), np.array([2.0, 0.0])).tolist()
    [1.0, -1.0]
    """
    from scipy.linalg import lapack

    x, info = lapack.dpotrs(L, rhs, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"dpotrs failed (info {info})")
    return x


def cho_inverse(L):
    """The full symmetric inverse of `A` from its lower Cholesky factor `L`.

    Examples
    --------
    >>> import numpy as np
    >>> cho_inverse(cholesky(np.array([[4.0, 2.0], [2.0, 2.0]]))).tolist()
    [[0.5, -0.5], [-0.5, 1.0]]
    """
    from scipy.linalg import lapack

    inv, info = lapack.dpotri(L, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"dpotri failed (info {info})")
    inv = np.tril(inv)
    return inv + np.tril(inv, -1).T


def _levels(block):
    return (block.stop - block.start) // block.q


def lambda_u(u, Ts, blocks):
    """``b = Lambda u``: each block's levels of `u` times its factor ``T'`` (see the module notes)."""
    b = np.empty_like(u)
    for T, blk in zip(Ts, blocks):
        b[blk.start:blk.stop] = (u[blk.start:blk.stop].reshape(_levels(blk), blk.q) @ T.T).ravel()
    return b


def left_lambda_t(R, Ts, blocks):
    """``Lambda' R`` for a (q, m) array R."""
    out = np.empty_like(R)
    for T, blk in zip(Ts, blocks):
        part = R[blk.start:blk.stop]
        if blk.q == 1:
            out[blk.start:blk.stop] = T[0, 0] * part
        else:
            out[blk.start:blk.stop] = np.einsum("rc,lrj->lcj", T, part.reshape(_levels(blk), blk.q, -1)).reshape(
                part.shape)
    return out


def right_lambda(R, Ts, blocks):
    """``R Lambda`` for an (m, q) array R."""
    out = np.empty_like(R)
    for T, blk in zip(Ts, blocks):
        part = R[:, blk.start:blk.stop]
        if blk.q == 1:
            out[:, blk.start:blk.stop] = T[0, 0] * part
        else:
            out[:, blk.start:blk.stop] = (part.reshape(R.shape[0], _levels(blk), blk.q) @ T).reshape(part.shape)
    return out


def block_diagonal(A, blocks):
    """The level blocks on the diagonal of the (q, q) array `A`, per block: arrays (levels, q, q).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> A = np.arange(16.0).reshape(4, 4)
    >>> [d.tolist() for d in block_diagonal(A, [SimpleNamespace(start=0, stop=4, q=2)])]
    [[[[0.0, 1.0], [4.0, 5.0]], [[10.0, 11.0], [14.0, 15.0]]]]
    """
    out = []
    for blk in blocks:
        levels = _levels(blk)
        sub = A[blk.start:blk.stop, blk.start:blk.stop].reshape(levels, blk.q, levels, blk.q)
        idx = np.arange(levels)
        out.append(sub[idx, :, idx, :])
    return out
