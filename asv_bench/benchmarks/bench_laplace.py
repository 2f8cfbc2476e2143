"""Laplace approximations and integrators over random effects, each beside the alternative a user would write.

* ``ManyClusters`` (the issue's target: 10^5 clusters, q = 1, AGQ(10) log-integrals of a logistic-normal
  integrand, modes included, under 50 ms) and ``ClustersQ2`` (q = 2: AGQ product rule, sparse-grid
  Gauss–Hermite, QMC): no library integrates many small clusters in a batch, so the peer in the same class is
  the obvious loop over clusters with scipy.optimize for each mode and a numpy Gauss–Hermite sum, timed on
  1,000 clusters (q = 1) or 200 (q = 2): multiply by M / 1000 or M / 200 to compare (asv_bench/report.py
  prints the scaled ratio).
* ``Laplace1D``: quadlib.laplace for log Γ(n + 1) = log ∫ exp(n log x - x) dx, against scipy.integrate.quad
  of the integrand (the exact integral, brute force).
* ``NestedLaplace``: no peer exists (R-INLA is not a Python package); the brute force is a dense product
  Gauss–Hermite rule over the hyperparameter and the latent field of the same Poisson model.
* ``SparseLaplace``: no peer exists; the brute force is the dense Newton iteration with numpy.linalg
  (solve + slogdet) on the same 1,000-dimensional integral.
"""
import math

import numpy as np
import scipy.integrate as si
import scipy.sparse as sp
from scipy.optimize import minimize, newton
from scipy.special import gammaln, logsumexp, roots_hermitenorm

import quadlib


def logistic_clusters(M, seed=0):
    rng = np.random.default_rng(seed)
    eta = rng.normal(size=M)
    y = rng.integers(0, 2, M).astype(float)

    def log_g(b):
        e = eta[:, None] + b[..., 0]
        return y[:, None] * e - np.logaddexp(0, e)

    def derivatives(b):
        e = eta + b[:, 0]
        p = 1.0 / (1.0 + np.exp(-e))
        return y * e - np.logaddexp(0, e), (y - p)[:, None], (-p * (1 - p))[:, None, None]

    return eta, y, log_g, derivatives


def scipy_newton_loop(eta, y, s2=1.5, n_nodes=10):
    """Per cluster: scipy.optimize.newton for the mode, then an n-point Gauss–Hermite sum in numpy."""
    z, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / np.sqrt(2 * np.pi)
    out = np.empty(len(eta))
    for k, (e, yi) in enumerate(zip(eta, y)):
        def g(b):
            return yi - 1 / (1 + np.exp(-(e + b))) - b / s2

        def dg(b):
            p = 1 / (1 + np.exp(-(e + b)))
            return -p * (1 - p) - 1 / s2

        mode = newton(g, 0.0, fprime=dg, tol=1e-10)
        sd = 1 / np.sqrt(-dg(mode))
        b = mode + sd * z
        h = yi * (e + b) - np.logaddexp(0, e + b) - 0.5 * b * b / s2 + 0.5 * z ** 2
        out[k] = np.log(np.sum(w * np.exp(h))) + np.log(sd / np.sqrt(s2))
    return out


class ManyClusters:
    """10^5 clusters, q = 1, cov 1.5; the peer loops over 1,000 of them (x 100 to compare)."""

    params = [["Laplace", "AGQ(10)", "AGQ(10), differences"]]
    param_names = ["integrator"]

    def setup(self, integrator):
        self.M = 100_000
        self.eta, self.y, self.log_g, self.derivatives = logistic_clusters(self.M)
        self.rule = quadlib.Laplace() if integrator == "Laplace" else quadlib.AdaptiveGaussHermite(10)
        self.use_derivatives = "differences" not in integrator
        self.n_nodes = 1 if integrator == "Laplace" else 10

    def time_quadlib(self, integrator):
        self.rule.log_integrals(self.log_g, self.M, 1, cov=[[1.5]],
                                derivatives=self.derivatives if self.use_derivatives else None)

    def time_scipy_loop_1000_clusters(self, integrator):
        scipy_newton_loop(self.eta[:1000], self.y[:1000], n_nodes=self.n_nodes)


def logistic_clusters_q2(M, seed=0):
    """Random intercept and slope (q = 2), cov diag(1, 0.25), one binary observation at x per cluster."""
    rng = np.random.default_rng(seed)
    eta, x = rng.normal(size=M), rng.normal(size=M)
    y = rng.integers(0, 2, M).astype(float)

    def log_g(b):
        e = eta[:, None] + b[..., 0] + x[:, None] * b[..., 1]
        return y[:, None] * e - np.logaddexp(0, e)

    return eta, x, y, log_g


Q2_COV = np.diag([1.0, 0.25])
Q2_INTEGRATORS = {
    "AdaptiveGaussHermite(5)": lambda: quadlib.AdaptiveGaussHermite(5),
    "SparseGridGaussHermite(3)": lambda: quadlib.SparseGridGaussHermite(3),
    "QMCIntegrator(256)": lambda: quadlib.QMCIntegrator(256, seed=0),
}


def scipy_minimize_loop_q2(eta, x, y, n_nodes=5):
    """Per cluster: scipy.optimize.minimize (BFGS) for the mode, then a dense n x n Gauss–Hermite product."""
    z, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    zz = np.array(np.meshgrid(z, z)).reshape(2, -1).T
    ww = np.outer(w, w).ravel() / (2 * np.pi)
    prec = np.linalg.inv(Q2_COV)
    out = np.empty(len(eta))
    for k in range(len(eta)):
        def neg_h(b):
            e = eta[k] + b[0] + x[k] * b[1]
            return -(y[k] * e - np.logaddexp(0, e) - 0.5 * b @ prec @ b)

        res = minimize(neg_h, np.zeros(2), method="BFGS")
        L = np.linalg.cholesky(res.hess_inv)
        b = res.x + zz @ L.T
        e = eta[k] + b[:, 0] + x[k] * b[:, 1]
        h = y[k] * e - np.logaddexp(0, e) - 0.5 * np.einsum("ij,jk,ik->i", b, prec, b) + 0.5 * np.sum(zz ** 2, 1)
        out[k] = logsumexp(h, b=ww) + np.log(np.linalg.det(L)) - 0.5 * np.log(np.linalg.det(Q2_COV))
    return out


class ClustersQ2:
    """10^4 clusters, q = 2: the three multivariate integrators; the peer loops over 200 (x 50 to compare)."""

    params = [list(Q2_INTEGRATORS)]
    param_names = ["integrator"]
    timeout = 120

    def setup(self, integrator):
        self.M = 10_000
        self.eta, self.x, self.y, self.log_g = logistic_clusters_q2(self.M)
        self.rule = Q2_INTEGRATORS[integrator]()

    def time_quadlib(self, integrator):
        self.rule.log_integrals(self.log_g, self.M, 2, cov=Q2_COV)

    def time_scipy_loop_200_clusters(self, integrator):
        scipy_minimize_loop_q2(self.eta[:200], self.x[:200], self.y[:200])


class Laplace1D:
    """log Γ(n + 1) for n = 10 and 100: the Laplace approximation (order 1 and 2) against scipy's quad of
    exp(n log x - x) (exact, and what one would do without the approximation)."""

    params = [[10, 100]]
    param_names = ["n"]

    def setup(self, n):
        self.log_f = lambda x: n * math.log(x) - x if x > 0 else -math.inf

    def time_quadlib_order1(self, n):
        quadlib.laplace(self.log_f, float(n) / 2)

    def time_quadlib_order2(self, n):
        quadlib.laplace(self.log_f, float(n) / 2, order=2)

    def time_scipy_quad(self, n):
        si.quad(lambda x: math.exp(n * math.log(x) - x - n * math.log(n) + n), 0.0, np.inf, epsabs=0.0,
                epsrel=1e-10)


# Nested Laplace: Poisson counts y_j with log-mean log 5 + u_j, u_j ~ N(0, exp(-theta)), theta ~ N(1, 1).
NESTED_Y = np.array([3.0, 7.0])
NESTED_OFFSET = math.log(5.0)


def _nested_loglik(u, theta):
    eta = NESTED_OFFSET + u
    return float(np.sum(NESTED_Y * eta - np.exp(eta) - gammaln(NESTED_Y + 1)))


def nested_laplace_problem():
    return quadlib.nested_laplace(_nested_loglik, lambda theta: np.diag([np.exp(theta[0])] * 2), [1.0],
                                  n_latent=2, log_prior=lambda theta: -0.5 * (theta[0] - 1) ** 2
                                  - 0.5 * math.log(2 * math.pi))


def dense_product_log_marginal(n_theta=30, n_u=60):
    """log p(y) by a dense Gauss–Hermite product over (theta, u_1, u_2), each rule on its prior
    (30 x 60 x 60 = 108,000 evaluations, not exploiting the separability in u)."""
    zt, wt = roots_hermitenorm(n_theta)
    zu, wu = roots_hermitenorm(n_u)
    theta = 1.0 + zt
    u1, u2 = np.meshgrid(zu, zu, indexing="ij")
    u = np.exp(-0.5 * theta)[:, None, None, None] * np.stack([u1, u2], axis=-1)[None]
    eta = NESTED_OFFSET + u
    with np.errstate(over="ignore"):  # far tail nodes of theta: exp overflows to inf, the weight to 0
        ll = np.sum(NESTED_Y * eta - np.exp(eta) - gammaln(NESTED_Y + 1), axis=-1)
    log_w = np.log(wt / np.sqrt(2 * np.pi))[:, None, None] + np.log(np.outer(wu, wu) / (2 * np.pi))[None]
    return float(logsumexp(ll + log_w))


class NestedLaplace:
    """Log marginal likelihood of a 2-group Poisson model with a precision hyperparameter (-4.763 by nested
    Laplace, -4.7614 by the dense product). Peer: the dense product rule (no library peer in Python)."""

    def time_quadlib(self):
        nested_laplace_problem()

    def time_dense_product_rule(self):
        dense_product_log_marginal()


def random_walk_poisson(Q=1000, seed=0):
    """Poisson counts on a first-order random walk (+ 0.1 I) of length Q: fun(u) for sparse_laplace."""
    rng = np.random.default_rng(seed)
    A = sp.diags([-1.0, 2.1, -1.0], [-1, 0, 1], shape=(Q, Q), format="csc")
    A[0, 0] = A[Q - 1, Q - 1] = 1.1
    y = rng.poisson(np.exp(np.sin(np.linspace(0, 6, Q)))).astype(float)

    def fun(u):
        return y @ u - np.exp(u).sum() - 0.5 * u @ (A @ u), y - np.exp(u) - A @ u, A + sp.diags(np.exp(u))

    return A, y, fun


def dense_laplace(A, y, max_iter=100, tol=1e-10):
    """The same Laplace approximation with dense numpy: Newton steps by numpy.linalg.solve, log det by slogdet."""
    A = A.toarray()
    u = np.zeros(len(y))
    for _ in range(max_iter):
        H = A + np.diag(np.exp(u))
        step = np.linalg.solve(H, y - np.exp(u) - A @ u)
        u += step
        if np.max(np.abs(step)) < tol:
            break
    H = A + np.diag(np.exp(u))
    value = y @ u - np.exp(u).sum() - 0.5 * u @ A @ u
    return value + 0.5 * len(y) * math.log(2 * math.pi) - 0.5 * np.linalg.slogdet(H)[1]


class SparseLaplace:
    """A 1,000-dimensional Laplace approximation with a tridiagonal precision: sparse_laplace (sparse LDL')
    against the dense Newton iteration a user would write with numpy.linalg (no library peer)."""

    timeout = 120

    def setup(self):
        self.A, self.y, self.fun = random_walk_poisson()

    def time_quadlib(self):
        quadlib.sparse_laplace(self.fun, np.zeros(len(self.y)))

    def time_numpy_dense(self):
        dense_laplace(self.A, self.y)
