"""sparse_laplace: one Laplace approximation over R^Q with a sparse curvature.

References are independent of the code under test: closed forms (Gaussian integrals, Stirling's
formula, which is the Laplace approximation of ∫ exp(a u - b e^u) du = Γ(a) b^-a) and a dense
Newton iteration with numpy's slogdet and inverse written here.
"""
import doctest
import math

import numpy as np
import pytest
from scipy import sparse, special

import quadlib
from quadlib import IntegrationWarning, sparse_laplace
import quadlib._sparse_laplace as module

LOG_2PI = math.log(2 * math.pi)


@pytest.fixture(params=["dense", "sparse"])
def path(request, monkeypatch):
    """Run a test with the dense Cholesky or with SuperLU whatever the size of the problem."""
    monkeypatch.setattr(module, "_DENSE_MAX", 10**9 if request.param == "dense" else 0)
    monkeypatch.setattr(module, "_DENSE_FILL", math.inf)  # small problems fill in: keep SuperLU anyway
    return request.param


def factorization_of(path):
    return "dense Cholesky" if path == "dense" else "sparse LDL' (SuperLU, symmetric pivoting)"


# --- Gaussian integrands: Laplace is exact ---------------------------------------------------------------

def laplacian_2d(n):
    """The 5-point Laplacian on an n x n grid plus the identity: sparse, SPD, Q = n²."""
    t = sparse.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n))
    eye = sparse.identity(n)
    return (sparse.kron(t, eye) + sparse.kron(eye, t) + sparse.identity(n * n)).tocsc()


def gaussian(A, m, c):
    def fun(u):
        r = u - m
        Ar = A @ r
        return c - 0.5 * r @ Ar, -Ar, A
    return fun


@pytest.mark.parametrize("n", [22, 10])  # Q = 484 (sparse by default), Q = 100 (dense by default)
def test_gaussian_exact(n):
    A = laplacian_2d(n)
    Q = n * n
    rng = np.random.default_rng(1)
    m, c = rng.normal(size=Q), 1.7
    r = sparse_laplace(gaussian(A, m, c), np.zeros(Q))
    dense = A.toarray()
    sign, logdet = np.linalg.slogdet(dense)
    assert sign == 1
    exact = c + 0.5 * Q * LOG_2PI - 0.5 * logdet
    assert r.success and r.n_iter == 1 and r.nfev == 2
    assert r.factorization == factorization_of("sparse" if Q > 200 else "dense")
    assert abs(r.log_integral - exact) <= 1e-10 * abs(exact)
    assert abs(r.log_det - logdet) <= 1e-10 * abs(logdet)
    np.testing.assert_allclose(r.mode, m, rtol=0, atol=1e-12)
    inverse = np.linalg.inv(dense)
    np.testing.assert_allclose(r.conditional_variances(), np.diag(inverse), rtol=1e-12)
    b = rng.normal(size=(Q, 3))
    np.testing.assert_allclose(r.solve(b), inverse @ b, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(r.solve(b[:, 0]), inverse @ b[:, 0], rtol=1e-10, atol=1e-13)


def test_gaussian_both_paths_agree(path):
    A = laplacian_2d(19)  # Q = 361: two blocks of conditional variances
    m = np.linspace(-2, 2, 361)
    r = sparse_laplace(gaussian(A, m, 0.0), np.zeros(361))
    assert r.factorization == factorization_of(path)
    exact = 180.5 * LOG_2PI - 0.5 * np.linalg.slogdet(A.toarray())[1]
    assert abs(r.log_integral - exact) <= 1e-10 * abs(exact)
    variances = np.diag(np.linalg.inv(A.toarray()))
    np.testing.assert_allclose(r.conditional_variances(), variances, rtol=1e-12)
    # started at the mode: the factor of the first step (the fill-reducing ordering's own) is kept
    at_mode = sparse_laplace(gaussian(A, m, 0.0), m)
    assert at_mode.n_iter == 0 and at_mode.factorization == factorization_of(path)
    np.testing.assert_allclose(at_mode.conditional_variances(), variances, rtol=1e-12)
    np.testing.assert_allclose(at_mode.solve(A @ m), m, rtol=1e-12, atol=1e-14)


def test_dense_curvature_uses_lapack():
    A = laplacian_2d(16)
    dense = A.toarray()
    m = np.linspace(-1, 1, 256)
    r = sparse_laplace(lambda u: (-0.5 * (u - m) @ dense @ (u - m), dense @ (m - u), dense), np.zeros(256))
    assert r.factorization == "dense Cholesky"
    assert abs(r.log_integral - (128 * LOG_2PI - 0.5 * np.linalg.slogdet(dense)[1])) < 1e-10 * abs(r.log_integral)


def test_dense_fill_switches_to_lapack():
    """A sparse matrix whose factors are dense: SuperLU for the first step, LAPACK after it."""
    rng = np.random.default_rng(2)
    Q = 250
    B = rng.normal(size=(Q, Q))
    A = B @ B.T / Q + np.eye(Q)
    m = rng.normal(size=Q)
    r = sparse_laplace(gaussian(sparse.csc_matrix(A), m, 0.0), np.zeros(Q))
    assert r.success and r.factorization == "dense Cholesky"
    exact = 0.5 * Q * LOG_2PI - 0.5 * np.linalg.slogdet(A)[1]
    assert abs(r.log_integral - exact) <= 1e-10 * abs(exact)
    np.testing.assert_allclose(r.mode, m, atol=1e-10)


# --- independent coordinates: Stirling's formula ----------------------------------------------------------

def gamma_like(a, b):
    """h(u) = Σ a_j u_j - b_j e^{u_j}: ∫ exp(h) = Π Γ(a_j) b_j^-a_j, and Laplace gives Stirling's Γ*."""
    def fun(u):
        e = b * np.exp(u)
        return float(np.sum(a * u - e)), a - e, sparse.diags(e, format="csc")
    return fun


def stirling(a):
    """log Γ*(a) = log(sqrt(2π) a^(a-1/2) e^-a)."""
    return 0.5 * LOG_2PI + (a - 0.5) * np.log(a) - a


@pytest.mark.parametrize("Q", [300, 50])
def test_independent_coordinates_give_stirling(Q):
    a = np.linspace(0.5, 20, Q)
    b = np.linspace(0.3, 3, Q)
    r = sparse_laplace(gamma_like(a, b), np.zeros(Q))
    expected = float(np.sum(stirling(a) - a * np.log(b)))
    assert r.success
    assert abs(r.log_integral - expected) <= 1e-10 * abs(expected)
    np.testing.assert_allclose(r.mode, np.log(a / b), rtol=0, atol=1e-10)
    np.testing.assert_allclose(r.conditional_variances(), 1 / a, rtol=1e-9)
    # Binet: 0 < log Γ(a) - log Γ*(a) < 1/(12 a) for every a > 0
    exact = float(np.sum(special.gammaln(a) - a * np.log(b)))
    assert 0 < exact - r.log_integral < np.sum(1 / (12 * a))


def test_independent_coordinates_match_laplace():
    a, b = np.array([2.0, 5.0, 9.0]), np.array([0.5, 1.0, 4.0])
    r = sparse_laplace(gamma_like(a, b), np.zeros(3))
    one_d = sum(quadlib.laplace(lambda x, a=a_j, b=b_j: a * x - b * math.exp(x), 0.0,
                                grad=lambda x, a=a_j, b=b_j: a - b * math.exp(x),
                                hess=lambda x, b=b_j: -b * math.exp(x)).log_integral
                for a_j, b_j in zip(a, b))
    assert abs(r.log_integral - one_d) < 1e-10 * abs(one_d)


# --- a crossed random-effects logistic model -------------------------------------------------------------

def crossed_logistic(n1, n2, n_obs, seed):
    """h(u) = Σ y η - log(1 + e^η) - |u|²/2 with η = Xβ + ZΛu for two crossed factors."""
    rng = np.random.default_rng(seed)
    f1, f2 = rng.integers(n1, size=n_obs), rng.integers(n2, size=n_obs)
    X = np.column_stack([np.ones(n_obs), rng.normal(size=n_obs)])
    beta, sigma1, sigma2 = np.array([-0.3, 0.8]), 1.2, 0.7
    eta = X @ beta + sigma1 * rng.normal(size=n1)[f1] + sigma2 * rng.normal(size=n2)[f2]
    y = (rng.random(n_obs) < special.expit(eta)).astype(float)
    rows = np.arange(n_obs)
    Z = sparse.hstack([sparse.csr_matrix((np.ones(n_obs), (rows, f1)), shape=(n_obs, n1)),
                       sparse.csr_matrix((np.ones(n_obs), (rows, f2)), shape=(n_obs, n2))]).tocsr()
    ZL = (Z @ sparse.diags(np.r_[np.full(n1, sigma1), np.full(n2, sigma2)])).tocsr()
    offset = X @ beta
    Q = n1 + n2

    def fun(u):
        eta = offset + ZL @ u
        mu = special.expit(eta)
        value = float(np.sum(y * eta - np.logaddexp(0.0, eta)) - 0.5 * u @ u)
        curvature = (ZL.T @ sparse.diags(mu * (1 - mu)) @ ZL + sparse.identity(Q)).tocsc()
        return value, ZL.T @ (y - mu) - u, curvature

    return fun, ZL.toarray(), offset, y


def dense_laplace(ZL, offset, y):
    """Newton with step halving, numpy only, to 1e-14; log integral with slogdet, variances with inv."""
    Q = ZL.shape[1]

    def h(u):
        eta = offset + ZL @ u
        return np.sum(y * eta - np.logaddexp(0.0, eta)) - 0.5 * u @ u

    u = np.zeros(Q)
    for _ in range(100):
        mu = special.expit(offset + ZL @ u)
        C = ZL.T @ (ZL * (mu * (1 - mu))[:, None]) + np.eye(Q)
        step = np.linalg.solve(C, ZL.T @ (y - mu) - u)
        if np.max(np.abs(step)) < 1e-14:
            break
        t = 1.0
        while h(u + t * step) < h(u) - 1e-13 * abs(h(u)):
            t /= 2
        u = u + t * step
    else:
        raise AssertionError("the dense reference did not converge")
    sign, logdet = np.linalg.slogdet(C)
    assert sign == 1
    return h(u) + 0.5 * Q * LOG_2PI - 0.5 * logdet, u, np.diag(np.linalg.inv(C))


def test_crossed_logistic_matches_dense(path):
    fun, ZL, offset, y = crossed_logistic(10, 8, 240, seed=20240611)
    expected, mode, variances = dense_laplace(ZL, offset, y)
    r = sparse_laplace(fun, np.zeros(18))
    assert r.success and r.factorization == factorization_of(path)
    assert 2 <= r.n_iter <= 10
    assert abs(r.log_integral - expected) <= 1e-10 * abs(expected)
    np.testing.assert_allclose(r.mode, mode, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.conditional_variances(), variances, rtol=1e-10)


def test_crossed_logistic_larger_reuses_ordering():
    """Q = 270 (sparse by default), several Newton steps with the ordering of the first one."""
    fun, ZL, offset, y = crossed_logistic(150, 120, 900, seed=7)
    expected, mode, variances = dense_laplace(ZL, offset, y)
    r = sparse_laplace(fun, np.zeros(270))
    assert r.success and r.n_iter >= 3
    assert r.factorization == factorization_of("sparse") and r.curvature._factor.perm is not None
    assert abs(r.log_integral - expected) <= 1e-10 * abs(expected)
    np.testing.assert_allclose(r.mode, mode, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.conditional_variances(), variances, rtol=1e-10)


def test_warm_start():
    fun = crossed_logistic(10, 8, 240, seed=20240611)[0]
    cold = sparse_laplace(fun, np.zeros(18))
    hot = sparse_laplace(fun, cold.mode)
    assert hot.success and hot.n_iter == 0 and hot.nfev == 1
    assert hot.log_integral == cold.log_integral
    nearby = sparse_laplace(fun, cold.mode + 1e-3)
    assert nearby.success and nearby.n_iter < cold.n_iter


def test_args():
    a, b = np.array([2.0, 3.0]), np.array([1.0, 2.0])

    def fun(u, a, b):
        return gamma_like(a, b)(u)

    r = sparse_laplace(fun, np.zeros(2), args=(a, b))
    assert abs(r.log_integral - np.sum(stirling(a) - a * np.log(b))) < 1e-12


# --- failure is a result -----------------------------------------------------------------------------------

def test_max_iter_reached_warns():
    Q = 300
    a, b = np.linspace(0.5, 20, Q), np.linspace(0.3, 3, Q)
    with pytest.warns(IntegrationWarning, match="did not converge in `max_iter` = 1 steps"):
        r = sparse_laplace(gamma_like(a, b), np.full(Q, 6.0), max_iter=1)
    assert not r.success and r.status == 1 and r.n_iter == 1 and math.isnan(r.log_integral)
    assert math.isfinite(r.log_det)  # C is positive definite at the last iterate, just not at the mode
    assert "did not converge" in repr(r)


@pytest.mark.parametrize("Q", [5, 300])
def test_not_positive_definite_is_a_result(Q):
    def convex(u):
        return 0.5 * u @ u + u.sum(), u + 1, -sparse.identity(Q, format="csc")

    with pytest.warns(IntegrationWarning, match="not positive definite after 0 Newton steps"):
        r = sparse_laplace(convex, np.zeros(Q))
    assert not r.success and r.status == 3 and math.isnan(r.log_integral) and math.isnan(r.log_det)
    assert r.factorization == "none"
    with pytest.raises(ValueError, match="not positive definite"):
        r.conditional_variances()


def test_indefinite_after_steps(path):
    """h(u) = -cosh-like in one coordinate turns indefinite away from the start: a result, not an error."""
    Q = 4

    def fun(u):
        # concave near 0 only: -∂²h = 1 - u_0² changes sign at |u_0| = 1, and the gradient pushes u_0 out
        value = 2 * u[0] - 0.5 * u[0] ** 2 + u[0] ** 4 / 12 - 0.5 * u[1:] @ u[1:]
        grad = np.r_[2 - u[0] + u[0] ** 3 / 3, -u[1:]]
        return value, grad, sparse.diags(np.r_[1 - u[0] ** 2, np.ones(Q - 1)], format="csc")

    with pytest.warns(IntegrationWarning, match="not positive definite after [1-9]"):
        r = sparse_laplace(fun, np.zeros(Q))
    assert not r.success and r.status == 3 and r.n_iter >= 1


def test_step_halving_is_bounded():
    calls = []

    def fun(u):
        calls.append(1)
        value = -0.5 * (u - 1) @ (u - 1) if np.all(u == 0) else math.nan
        return value, 1 - u, sparse.identity(3, format="csc")

    with pytest.warns(IntegrationWarning, match="step halving did not increase h within 30 halvings"):
        r = sparse_laplace(fun, np.zeros(3))
    assert not r.success and r.status == 2 and r.n_iter == 0 and r.nfev == len(calls) == 32
    np.testing.assert_array_equal(r.mode, 0.0)


def test_repr_and_integral():
    r = sparse_laplace(gamma_like(np.array([3.0]), np.array([1.0])), np.zeros(1))
    text = repr(r)
    for name in ["log_integral", "mode", "value", "log_det", "n_iter", "nfev", "success", "message",
                 "factorization"]:
        assert name in text
    assert r.integral == pytest.approx(math.exp(stirling(3.0)), rel=1e-10)


def test_the_result_is_an_integration_result():
    # one result type for every integral (issue 16); SparseLaplaceResult is a deprecated alias of it
    r = sparse_laplace(gamma_like(np.array([3.0, 5.0]), np.array([1.0, 2.0])), np.zeros(2))
    assert type(r) is quadlib.IntegrationResult
    assert r.status == 0 and r.success and math.isnan(r.error)
    assert r.integral == pytest.approx(math.exp(r.log_integral), rel=1e-15)
    np.testing.assert_allclose(r.solve(np.ones(2)), np.linalg.solve(r.curvature._factor.lower @
                                                                     r.curvature._factor.lower.T, np.ones(2)))
    assert r.extra["mode"] is r.mode
    with pytest.warns(DeprecationWarning, match="quadlib.SparseLaplaceResult is deprecated"):
        alias = quadlib.SparseLaplaceResult
    assert alias is quadlib.IntegrationResult and isinstance(r, alias)


def test_input_validation():
    ok = gamma_like(np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match="`fun` must be callable"):
        sparse_laplace(1.0, np.zeros(3))
    with pytest.raises(ValueError, match="`u0` must be a non-empty 1-D array"):
        sparse_laplace(ok, np.zeros((3, 1)))
    with pytest.raises(ValueError, match="`u0` must be a non-empty 1-D array"):
        sparse_laplace(ok, [])
    with pytest.raises(ValueError, match="`u0` must be a non-empty 1-D array"):
        sparse_laplace(ok, 0.0)
    with pytest.raises(TypeError, match="`u0` must be a 1-D array of real numbers"):
        sparse_laplace(ok, ["a", "b", "c"])
    with pytest.raises(ValueError, match="`u0` must be finite"):
        sparse_laplace(ok, [0.0, np.nan, 0.0])
    with pytest.raises(ValueError, match="`max_iter` must be a positive integer"):
        sparse_laplace(ok, np.zeros(3), max_iter=0)
    with pytest.raises(TypeError, match="`max_iter` must be a positive integer"):
        sparse_laplace(ok, np.zeros(3), max_iter=2.5)
    with pytest.raises(ValueError, match="`tol` must be > 0"):
        sparse_laplace(ok, np.zeros(3), tol=0.0)
    with pytest.raises(TypeError, match="`tol` must be a real number"):
        sparse_laplace(ok, np.zeros(3), tol="small")

    identity = sparse.identity(3, format="csc")
    bad = {
        "tuple \\(value, gradient, curvature\\)": (lambda u: (0.0, u), TypeError),
        "real scalar value": (lambda u: (np.zeros(2), -u, identity), ValueError),
        "gradient of shape \\(3,\\)": (lambda u: (0.0, np.zeros(4), identity), ValueError),
        "curvature of shape \\(3, 3\\)": (lambda u: (0.0, -u, sparse.identity(4, format="csc")), ValueError),
        "curvature of shape \\(3, 3\\) \\(square": (lambda u: (0.0, -u, sparse.csc_matrix((3, 4))), ValueError),
        "scipy.sparse matrix or a numpy array": (lambda u: (0.0, -u, [[1, 0, 0], [0, 1, 0], [0, 0, 1]]),
                                                 TypeError),
        "real curvature": (lambda u: (0.0, -u, identity * 1j), TypeError),
        "finite value, gradient and curvature at `u0`": (lambda u: (math.inf, -u, identity), quadlib.DomainError),
        "symmetric curvature": (lambda u: (0.0, -u, sparse.csc_matrix(np.triu(np.ones((3, 3))))), ValueError),
    }
    for match, (fun, error) in bad.items():
        with pytest.raises(error, match="`fun` must return .*" + match) as info:
            sparse_laplace(fun, np.zeros(3))
        # only the non-finite value is a DomainError (parameters outside fun's domain); the rest are bugs
        assert isinstance(info.value, quadlib.DomainError) == (error is quadlib.DomainError)
    with pytest.raises(ValueError, match="`u0` must be finite") as info:
        sparse_laplace(ok, np.full(3, np.nan))
    assert not isinstance(info.value, quadlib.DomainError)

    r = sparse_laplace(ok, np.zeros(3))
    with pytest.raises(ValueError, match="`rhs` must have shape \\(3,\\) or \\(3, k\\)"):
        r.solve(np.zeros(4))
    with pytest.raises(TypeError, match="`rhs` must be an array of real numbers"):
        r.solve(["a", "b", "c"])


def test_docstring_examples():
    # quadlib._sparse_laplace is not (yet) in tests/test_docstrings.py's list
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0 and result.failed == 0
