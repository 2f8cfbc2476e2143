"""Multi-dimensional integration: quadlib.cubature against scipy.integrate.cubature (Genz–Malik rule) in
the same suite. The figures are evaluation counts (``track_*``, deterministic) and time ratios taken in
one run; see asv_bench/report.py for the printed summary.
"""
import warnings

import numpy as np
from scipy.integrate import cubature as scipy_cubature
from scipy.special import erf

import quadlib
from quadlib._genz import genz_problem

SMOOTH = ("oscillatory", "product_peak", "corner_peak", "gaussian")


def _scipy_nfev(problem, rtol, max_subdivisions=5000):
    count = [0]

    def f(x):
        count[0] += x.shape[0]
        return problem.f(x)

    d = problem.d
    res = scipy_cubature(f, np.zeros(d), np.ones(d), rule="genz-malik", rtol=rtol, atol=0,
                         max_subdivisions=max_subdivisions)
    return count[0], res.status == "converged"


def nfev_ratios(method, rtol=1e-6, dims=(2, 3, 5), seeds=(0, 1)):
    """Per smooth family, quadlib's evaluations over scipy's Genz–Malik on the problems both solve."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for family in SMOOTH:
            ratios = []
            for d in dims:
                for seed in seeds:
                    p = genz_problem(family, d, seed=seed)
                    theirs, ok = _scipy_nfev(p, rtol)
                    ours = quadlib.cubature(p.f, np.zeros(d), np.ones(d), rtol=rtol, method=method,
                                            max_nfev=max(theirs, 1))
                    # quadlib stopped at scipy's count without converging: the ratio is > 1
                    ratios.append(ours.nfev / theirs if ok and ours.success else np.inf if ok else np.nan)
            out[family] = ratios
    return out


class SmoothFamilies:
    """Median evaluations relative to scipy's Genz–Malik at rtol 1e-6 (target: below 1)."""

    params = [["genz_malik", "sparse_adaptive"], list(SMOOTH)]
    param_names = ["method", "family"]
    timeout = 600

    def setup_cache(self):
        return {m: nfev_ratios(m) for m in ("genz_malik", "sparse_adaptive")}

    def track_nfev_ratio_median(self, ratios, method, family):
        r = np.array(ratios[method][family])
        return float(np.median(r[~np.isnan(r)]))


def gaussian_peak_5d():
    d, c, w = 5, 3.0, 0.4
    exact = (np.sqrt(np.pi) / (2 * c) * (erf(c * (1 - w)) + erf(c * w))) ** d
    return (lambda x: np.exp(-np.sum((c * (x - w)) ** 2, axis=1))), d, exact


class GaussianPeak5D:
    """d = 5 Gaussian peak to rtol 1e-8 (target: under 1 s). scipy's Genz–Malik does not converge within
    20,000 subdivisions here (about 34 s)."""

    timeout = 300
    number = 1
    repeat = 3

    def setup(self):
        self.f, self.d, self.exact = gaussian_peak_5d()

    def time_quadlib_sparse_adaptive(self):
        quadlib.cubature(self.f, [0] * self.d, [1] * self.d, rtol=1e-8, method="sparse_adaptive",
                         max_nfev=10 ** 7)

    def time_scipy_genz_malik(self):
        scipy_cubature(self.f, np.zeros(self.d), np.ones(self.d), rule="genz-malik", rtol=1e-8, atol=0,
                       max_subdivisions=20000)


class GenzMalikSpeed:
    """The same adaptive Genz–Malik algorithm on a fixed budget: time per call, quadlib against scipy."""

    def setup(self):
        self.p = genz_problem("gaussian", 3, seed=0)

    def time_quadlib(self):
        quadlib.cubature(self.p.f, np.zeros(3), np.ones(3), rtol=1e-6)

    def time_scipy(self):
        scipy_cubature(self.p.f, np.zeros(3), np.ones(3), rule="genz-malik", rtol=1e-6, atol=0)
