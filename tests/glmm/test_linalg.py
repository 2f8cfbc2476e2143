"""quadlib.glmm._linalg: the Cholesky helpers and the block-diagonal Lambda products against dense numpy."""
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.linalg import block_diag

from quadlib.glmm._linalg import (block_diagonal, cho_inverse, cho_solve, cholesky, lambda_u, left_lambda_t,
                                  right_lambda)


def spd(n, seed=0):
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(n, n))
    return B @ B.T + n * np.eye(n)


@pytest.mark.parametrize("n", [1, 2, 5, 12])
def test_cholesky_solve_inverse(n):
    A = spd(n, n)
    L = cholesky(A)
    assert np.allclose(np.triu(L, 1), 0.0)
    np.testing.assert_allclose(L @ L.T, A, rtol=1e-13, atol=1e-12)
    rhs = np.random.default_rng(1).normal(size=(n, 3))
    np.testing.assert_allclose(cho_solve(L, rhs), np.linalg.solve(A, rhs), rtol=1e-10, atol=1e-12)
    inverse = cho_inverse(L)
    np.testing.assert_allclose(inverse, inverse.T, rtol=0, atol=0)
    np.testing.assert_allclose(inverse @ A, np.eye(n), atol=1e-12)


def test_cholesky_refuses_an_indefinite_matrix():
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))


def _blocks():
    """Two blocks: q = 2 with 3 levels, then q = 1 with 4 levels (u of length 10)."""
    return [SimpleNamespace(start=0, stop=6, q=2), SimpleNamespace(start=6, stop=10, q=1)]


def _dense_lambda(Ts, blocks):
    return block_diag(*[np.kron(np.eye((b.stop - b.start) // b.q), T) for T, b in zip(Ts, blocks)])


def test_lambda_products_equal_the_dense_matrix():
    rng = np.random.default_rng(3)
    blocks = _blocks()
    Ts = [np.tril(rng.normal(size=(2, 2))), np.array([[0.7]])]
    Lam = _dense_lambda(Ts, blocks)
    u = rng.normal(size=10)
    np.testing.assert_allclose(lambda_u(u, Ts, blocks), Lam @ u, rtol=1e-14, atol=1e-15)
    R = rng.normal(size=(10, 4))
    np.testing.assert_allclose(left_lambda_t(R, Ts, blocks), Lam.T @ R, rtol=1e-14, atol=1e-15)
    S = rng.normal(size=(5, 10))
    np.testing.assert_allclose(right_lambda(S, Ts, blocks), S @ Lam, rtol=1e-14, atol=1e-15)


def test_block_diagonal_takes_each_levels_block():
    A = np.arange(100.0).reshape(10, 10)
    first, second = block_diagonal(A, _blocks())
    assert first.shape == (3, 2, 2) and second.shape == (4, 1, 1)
    for level in range(3):
        np.testing.assert_array_equal(first[level], A[2 * level:2 * level + 2, 2 * level:2 * level + 2])
    np.testing.assert_array_equal(second[:, 0, 0], np.diag(A)[6:])
