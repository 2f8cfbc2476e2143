"""Integrators over random effects. The issue's target: 10^5 clusters with q = 1, AGQ(10) log-integrals
of a logistic-normal integrand, modes included, under 50 ms. The baseline in the same suite is the
obvious alternative without batching: scipy.optimize's Newton per cluster on a sample of 1,000 clusters,
scaled by 100 (see asv_bench/report.py for the printed ratio)."""
import numpy as np

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


class ManyClusters:
    params = [["Laplace", "AGQ(10)", "AGQ(10), differences"]]
    param_names = ["integrator"]

    def setup(self, integrator):
        self.M = 100_000
        _, _, self.log_g, self.derivatives = logistic_clusters(self.M)
        self.rule = quadlib.Laplace() if integrator == "Laplace" else quadlib.AdaptiveGaussHermite(10)
        self.use_derivatives = "differences" not in integrator

    def time_log_integrals(self, integrator):
        self.rule.log_integrals(self.log_g, self.M, 1, cov=[[1.5]],
                                derivatives=self.derivatives if self.use_derivatives else None)


class PerClusterBaseline:
    """1,000 clusters one at a time: scipy.optimize.newton for the mode, then a 10-point Gauss–Hermite
    sum in numpy (what a loop over clusters costs); multiply by 100 to compare with ManyClusters."""

    def setup(self):
        self.eta, self.y, _, _ = logistic_clusters(1000)
        self.z, self.w = np.polynomial.hermite_e.hermegauss(10)
        self.w = self.w / np.sqrt(2 * np.pi)

    def time_scipy_newton_loop(self):
        from scipy.optimize import newton

        s2 = 1.5
        for e, yi in zip(self.eta, self.y):
            def g(b):
                return yi - 1 / (1 + np.exp(-(e + b))) - b / s2

            def dg(b):
                p = 1 / (1 + np.exp(-(e + b)))
                return -p * (1 - p) - 1 / s2

            mode = newton(g, 0.0, fprime=dg, tol=1e-10)
            sd = 1 / np.sqrt(-dg(mode))
            b = mode + sd * self.z
            h = yi * (e + b) - np.logaddexp(0, e + b) - 0.5 * b * b / s2 + 0.5 * self.z ** 2
            np.log(np.sum(self.w * np.exp(h))) + np.log(sd / np.sqrt(s2))
