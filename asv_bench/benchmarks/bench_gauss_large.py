"""Gauss rules at large n: quadlib's O(n) constructors against scipy.special.roots_* (O(n^2) or asymptotic).

The peer runs in the same class (``library`` parameter), at the sizes it can do; larger sizes are skipped
for it in setup:

* roots_legendre / roots_jacobi (Golub–Welsch plus Newton, O(n^2)): up to 10^4 (about 2 s there, minutes
  at 10^5);
* roots_hermite switches to its own asymptotic method above n = 150: timed up to 10^5;
* roots_genlaguerre returns NaN weights from n ~ 1000 on: timed up to 500.

Targets (issue 8): gauss_legendre(10**6) <= 30 ms, gauss_legendre(10**7) a few hundred ms,
gauss_jacobi(10**5, a, b) <= 20 ms for |a|, |b| <= 5, gauss_hermite(10**5) <= 20 ms,
gauss_laguerre(10**5) <= 40 ms. quadlib memoizes small rules only, but each timing clears the caches anyway.
asv_bench/gauss_large_report_lj.py and gauss_large_report_hl.py print the same figures in one run, with
accuracy; asv_bench/report.py prints the headline ratios.
"""
import scipy.special as sc

import quadlib
from quadlib import _gauss, _gauss_hl

JACOBI_PARAMS = ["0.5,-0.5", "-0.7,0.3", "2,5", "5,-0.5", "-0.99,4.5"]
SCIPY_MAX_N = {"legendre": 10 ** 4, "jacobi": 10 ** 4, "hermite": 10 ** 5, "laguerre": 500}


def _skip_scipy_beyond(library, family, n):
    if library == "scipy" and n > SCIPY_MAX_N[family]:
        raise NotImplementedError(f"scipy.special {family} beyond n = {SCIPY_MAX_N[family]}")


def _ab(params):
    return tuple(float(t) for t in params.split(","))


class GaussLegendreLarge:
    params = (["quadlib", "scipy"], [10 ** 3, 10 ** 4, 10 ** 5, 10 ** 6, 10 ** 7])
    param_names = ["library", "n"]
    timeout = 300

    def setup(self, library, n):
        _skip_scipy_beyond(library, "legendre", n)

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
        _skip_scipy_beyond(library, "jacobi", n)

    def time_gauss_jacobi(self, library, params, n):
        a, b = _ab(params)
        if library == "quadlib":
            _gauss.clear_caches()
            quadlib.gauss_jacobi(n, a, b)
        else:
            sc.roots_jacobi(n, a, b)


class GaussHermiteLarge:
    params = (["quadlib", "scipy"], [100, 1000, 10_000, 100_000, 1_000_000, 10_000_000], ["physicists", "normal"])
    param_names = ["library", "n", "kind"]
    timeout = 120

    def setup(self, library, n, kind):
        _skip_scipy_beyond(library, "hermite", n)

    def time_gauss_hermite(self, library, n, kind):
        if library == "quadlib":
            _gauss.clear_caches()
            quadlib.gauss_hermite(n, kind)
        else:
            sc.roots_hermite(n) if kind == "physicists" else sc.roots_hermitenorm(n)


class GaussLaguerreLarge:
    params = (["quadlib", "scipy"], [100, 500, 1000, 10_000, 100_000, 1_000_000, 10_000_000], [0.0, 2.5])
    param_names = ["library", "n", "alpha"]
    timeout = 120

    def setup(self, library, n, alpha):
        _skip_scipy_beyond(library, "laguerre", n)

    def time_gauss_laguerre(self, library, n, alpha):
        if library == "quadlib":
            _gauss.clear_caches()
            quadlib.gauss_laguerre(n, alpha)
        else:
            sc.roots_genlaguerre(n, alpha)


class HermiteLaguerreCrossover:
    """Both of quadlib's paths just around the crossover: the O(n^2) recurrence and the O(n) stepping."""

    params = ([20, 40, 60, 100, 200], ["hermite", "laguerre"])
    param_names = ["n", "family"]

    def time_recurrence(self, n, family):
        if family == "hermite":
            _gauss._hermite.__wrapped__(n, "physicists")
        else:
            _gauss._laguerre.__wrapped__(n, 0.5)

    def time_stepping(self, n, family):
        if family == "hermite":
            _gauss_hl.hermite_large(n)
        else:
            _gauss_hl.laguerre_large(n, 0.5)


class GaussLargeMemory:
    """Peak memory at n = 10^7: the rule's arrays (x, w, log w: 240 MB) and a few temporaries, nothing O(n^2)."""

    timeout = 300

    def peakmem_gauss_legendre_1e7(self):
        quadlib.gauss_legendre(10 ** 7)

    def peakmem_gauss_jacobi_1e6(self):
        quadlib.gauss_jacobi(10 ** 6, -0.7, 0.3)
