"""Rule generation: quadlib's constructors against scipy.special's roots_* in the same suite.

Compare the two ``time_*`` methods of one parameter set (one run, same machine): the ratio is the figure.
quadlib memoizes rules, so each timing clears the cache first.
"""
import scipy.special as sc

import quadlib
from quadlib import _gauss

FAMILIES = {
    "legendre": (lambda n: quadlib.gauss_legendre(n), lambda n: sc.roots_legendre(n)),
    "chebyshev": (lambda n: quadlib.gauss_chebyshev(n, 1), lambda n: sc.roots_chebyt(n)),
    "jacobi(0.5,-0.3)": (lambda n: quadlib.gauss_jacobi(n, 0.5, -0.3), lambda n: sc.roots_jacobi(n, 0.5, -0.3)),
    "laguerre(1.5)": (lambda n: quadlib.gauss_laguerre(n, 1.5), lambda n: sc.roots_genlaguerre(n, 1.5)),
    "hermite": (lambda n: quadlib.gauss_hermite(n), lambda n: sc.roots_hermite(n)),
}


class RuleGeneration:
    params = (list(FAMILIES), [10, 100, 1000])
    param_names = ["family", "n"]

    def time_quadlib(self, family, n):
        _gauss.clear_caches()
        FAMILIES[family][0](n)

    def time_scipy(self, family, n):
        FAMILIES[family][1](n)


class NestedAndKronrod:
    params = [[7, 10, 30]]
    param_names = ["n"]

    def time_gauss_kronrod(self, n):
        _gauss.clear_caches()
        quadlib.gauss_kronrod(n)


class FixedRuleIntegration:
    """Applying a cached rule: the per-call overhead of Rule.integrate against scipy.integrate.fixed_quad."""

    params = [[5, 50]]
    param_names = ["n"]

    def setup(self, n):
        import numpy as np

        self.rule = quadlib.gauss_legendre(n)
        self.f = np.exp

    def time_quadlib(self, n):
        self.rule.integrate(self.f, 0.0, 1.0)

    def time_scipy_fixed_quad(self, n):
        from scipy.integrate import fixed_quad

        fixed_quad(self.f, 0.0, 1.0, n=n)


class SparseGrids:
    """Construction of Smolyak grids (the issue's target: sparse_grid(10, 5) under 100 ms)."""

    params = [[(5, 4), (10, 4), (10, 5)]]
    param_names = ["dim_level"]

    def time_sparse_grid(self, dim_level):
        from quadlib import _sparse

        _sparse._dimension_tables.cache_clear() if hasattr(_sparse._dimension_tables, "cache_clear") else None
        quadlib.sparse_grid(*dim_level)


class QMC:
    """Randomized QMC with 16 scramblings of 2^12 Sobol points in d = 6: quadlib against scipy's qmc_quad."""

    def setup(self):
        import numpy as np

        self.f = lambda x: np.prod(np.cos(x), axis=-1)
        self.a, self.b = np.zeros(6), np.ones(6)

    def time_quadlib_qmc_quad(self):
        quadlib.qmc_quad(self.f, self.a, self.b, n_points=2 ** 12, n_randomizations=16, seed=1)

    def time_scipy_qmc_quad(self):
        from scipy.integrate import qmc_quad
        from scipy.stats import qmc

        qmc_quad(lambda x: self.f(x.T), self.a, self.b, n_estimates=16, n_points=2 ** 12,
                 qrng=qmc.Sobol(6, seed=1))
