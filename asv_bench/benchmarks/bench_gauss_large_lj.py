"""Gauss–Legendre and Gauss–Jacobi rules at large n: quadlib's O(n) algorithms against scipy.special.

scipy's roots_legendre / roots_jacobi (Golub–Welsch plus Newton, O(n^2)) are the baseline in the same suite,
at the sizes they can do (up to 10^4: about 2 s there, minutes at 10^5); larger sizes are skipped for them.
Targets (issue 8): gauss_legendre(10**6) <= 30 ms, gauss_jacobi(10**5, a, b) <= 20 ms for |a|, |b| <= 5,
gauss_legendre(10**7) in a few hundred ms. quadlib memoizes small rules only, but each timing clears the
caches anyway. ``asv_bench/gauss_large_report_lj.py`` prints the same figures in one run.
"""
import scipy.special as sc

import quadlib
from quadlib import _gauss

SCIPY_MAX_N = 10 ** 4
JACOBI_PARAMS = ["0.5,-0.5", "-0.7,0.3", "2,5", "5,-0.5", "-0.99,4.5"]


def _ab(params):
    return tuple(float(t) for t in params.split(","))


class GaussLegendreLarge:
    params = (["quadlib", "scipy"], [10 ** 3, 10 ** 4, 10 ** 5, 10 ** 6, 10 ** 7])
    param_names = ["library", "n"]
    timeout = 300

    def setup(self, library, n):
        if library == "scipy" and n > SCIPY_MAX_N:
            raise NotImplementedError("O(n^2): minutes beyond 10^4")

    def time_gauss_legendre(self, library, n):
        if library == "quadlib":
            _gauss.clear_caches()
            quadlib.gauss_legendre(n)
        else:
            sc.roots_legendre(n)


class GaussJacobiLarge:
    params = (["quadlib", "scipy"], JACOBI_PARAMS, [10 ** 3, 10 ** 4, 10 ** 5, 10 ** 6])
    param_names = ["library", "alpha,beta", "n"]
    timeout = 300

    def setup(self, library, params, n):
        if library == "scipy" and n > SCIPY_MAX_N:
            raise NotImplementedError("O(n^2): minutes beyond 10^4")

    def time_gauss_jacobi(self, library, params, n):
        a, b = _ab(params)
        if library == "quadlib":
            _gauss.clear_caches()
            quadlib.gauss_jacobi(n, a, b)
        else:
            sc.roots_jacobi(n, a, b)


class RadauLobattoLarge:
    """The Jacobi-weight Radau and Lobatto rules go through the same O(n) kernel (scipy has neither)."""

    params = [[10 ** 4, 10 ** 5]]
    param_names = ["n"]

    def time_gauss_radau(self, n):
        _gauss.clear_caches()
        quadlib.gauss_radau(n, 0.5, 1.0)

    def time_gauss_lobatto(self, n):
        _gauss.clear_caches()
        quadlib.gauss_lobatto(n, -0.5, 2.0)


class GaussLargeMemory:
    """Peak memory at n = 10^7: the rule's arrays (x, w, log w: 240 MB) and a few temporaries, nothing O(n^2)."""

    timeout = 300

    def peakmem_gauss_legendre_1e7(self):
        quadlib.gauss_legendre(10 ** 7)

    def peakmem_gauss_jacobi_1e6(self):
        quadlib.gauss_jacobi(10 ** 6, -0.7, 0.3)
