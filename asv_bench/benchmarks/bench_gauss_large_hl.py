"""Large Gauss–Hermite and Gauss–Laguerre rules: quadlib's O(n) constructors against scipy.special.

scipy's roots_hermite / roots_genlaguerre are the baseline in the same suite, at the sizes they can do
(roots_genlaguerre returns NaN weights from n ~ 1000 on, so it is timed up to 500; roots_hermite switches
to its own asymptotic method above n = 150 and is timed up to 10^5). Targets (issue 8): gauss_hermite(10**5)
<= 20 ms, gauss_laguerre(10**5) <= 40 ms. Rules above the crossover are not cached, so nothing needs clearing.
"""
import scipy.special as sc

import quadlib
from quadlib import _gauss


class HermiteLarge:
    params = ([100, 1000, 10_000, 100_000, 1_000_000, 10_000_000], ["physicists", "normal"])
    param_names = ["n", "kind"]
    timeout = 120

    def time_quadlib(self, n, kind):
        _gauss.clear_caches()
        quadlib.gauss_hermite(n, kind)

    def time_scipy(self, n, kind):
        if n > 100_000:
            raise NotImplementedError  # asv: skipped
        sc.roots_hermite(n) if kind == "physicists" else sc.roots_hermitenorm(n)


class LaguerreLarge:
    params = ([100, 500, 1000, 10_000, 100_000, 1_000_000, 10_000_000], [0.0, 2.5])
    param_names = ["n", "alpha"]
    timeout = 120

    def time_quadlib(self, n, alpha):
        _gauss.clear_caches()
        quadlib.gauss_laguerre(n, alpha)

    def time_scipy(self, n, alpha):
        if n > 500:
            raise NotImplementedError  # NaN weights beyond
        sc.roots_genlaguerre(n, alpha)


class Crossover:
    """Both paths just around the crossover: the O(n^2) recurrence and the O(n) stepping."""

    params = ([20, 40, 60, 100, 200], ["hermite", "laguerre"])
    param_names = ["n", "family"]

    def time_recurrence(self, n, family):
        if family == "hermite":
            _gauss._hermite.__wrapped__(n, "physicists")
        else:
            _gauss._laguerre.__wrapped__(n, 0.5)

    def time_stepping(self, n, family):
        from quadlib import _gauss_hl

        if family == "hermite":
            _gauss_hl.hermite_large(n)
        else:
            _gauss_hl.laguerre_large(n, 0.5)
