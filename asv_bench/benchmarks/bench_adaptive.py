"""quad and tanh_sinh against scipy.integrate in the same suite.

Compare time_quadlib_* with time_scipy_* of the same parameters (same run, same machine); the
`track_nfev_ratio` benchmark records the median evaluation-count ratio over the battery.
"""
import ctypes
import ctypes.util
import warnings

import numpy as np
import scipy
import scipy.integrate as si

import quadlib
from quadlib._problems import BATTERY, by_name

warnings.simplefilter("ignore")

PROBLEMS = ["bjl01", "bjl06", "quadpack_log", "quadpack_cos_sin", "osc_sin100", "peak_lorentz", "gauss_real_line",
            "log_interior", "kahaner_exp_layer"]


class Quad1D:
    params = [PROBLEMS]
    param_names = ["problem"]

    def setup(self, name):
        self.p = by_name(name)
        self.points = self.p.points or None

    def time_quadlib_scalar(self, name):
        quadlib.quad(self.p.f, self.p.a, self.p.b, rtol=1e-10, points=self.points)

    def time_quadlib_vectorized(self, name):
        quadlib.quad(self.p.f, self.p.a, self.p.b, rtol=1e-10, points=self.points, vectorized=True)

    def time_scipy_quad(self, name):
        si.quad(self.p.f, self.p.a, self.p.b, epsabs=0.0, epsrel=1e-10, limit=200, points=self.points)

    def time_quadlib_tanh_sinh(self, name):
        quadlib.tanh_sinh(self.p.f, self.p.a, self.p.b, rtol=1e-10, vectorized=True)


def _nfev_ratio():
    ratios = []
    for p in BATTERY:
        ours = quadlib.quad(p.f, p.a, p.b, rtol=1e-10, points=p.points or None)
        ref = si.quad(p.f, p.a, p.b, epsabs=0.0, epsrel=1e-10, limit=200, points=p.points or None, full_output=True)
        ratios.append(ours.nfev / ref[2]["neval"])
    return float(np.median(ratios))


def track_nfev_ratio_median():
    return _nfev_ratio()


track_nfev_ratio_median.unit = "ratio"


class LowLevel:
    def setup(self):
        libm = ctypes.CDLL(ctypes.util.find_library("m"))
        libm.cos.restype, libm.cos.argtypes = ctypes.c_double, [ctypes.c_double]
        self.llc = scipy.LowLevelCallable(libm.cos)

    def time_quadlib(self):
        quadlib.quad(self.llc, 0.0, 200.0, rtol=1e-10, max_subdivisions=500)

    def time_scipy(self):
        si.quad(self.llc, 0.0, 200.0, epsabs=0.0, epsrel=1e-10, limit=500)


class Batch10k:
    """10,000 integrals of exp(-k x) on [0, 1] at rtol 1e-12 (per call; divide by 1e4 for per integral)."""

    def setup(self):
        self.k = np.linspace(0.1, 10.0, 10_000)
        self.f = lambda x, k: np.exp(-k * x)

    def time_quadlib(self):
        quadlib.quad(self.f, 0.0, 1.0, args=(self.k,), vectorized=True, rtol=1e-12)

    def time_scipy_tanhsinh(self):
        si.tanhsinh(self.f, 0.0, 1.0, args=(self.k,), rtol=1e-12)
