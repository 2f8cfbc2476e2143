"""Weighted quad (QAWO, QAWF, QAWC, QAWS) and quad_vec against scipy.integrate in the same suite.

Compare the ``time_*`` methods of one class and parameter set (same run, same machine); ``track_*`` record
evaluation counts (deterministic). asv_bench/weighted_report.py prints the contract's table in one run.
"""
import ctypes
import ctypes.util
import warnings

import numpy as np
import scipy
import scipy.integrate as si
import scipy.special

import quadlib

warnings.simplefilter("ignore")

# name -> (a, b, weight, wvar); the integrand is exp(x) on finite ranges and erfc(x) on [0, inf) (scipy cannot
# take a LowLevelCallable on (-inf, b]: it wraps the integrand in Python to reflect it)
WEIGHTED = {
    "qawo_cos_10": (0.0, 1.0, "cos", 10.0),
    "qawo_sin_1e3_on_10": (0.0, 10.0, "sin", 1e3),
    "qawo_cos_1e6": (0.0, 1.0, "cos", 1e6),
    "qawf_cos_2": (0.0, np.inf, "cos", 2.0),
    "qawc_0.3": (0.0, 1.0, "cauchy", 0.3),
    "qaws_alg_log": (0.0, 1.0, "alg-log", (-0.5, -0.5)),
}
RTOL = 1e-10


def _libm(name):
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    function = getattr(libm, name)
    function.restype, function.argtypes = ctypes.c_double, [ctypes.c_double]
    return scipy.LowLevelCallable(function)


class WeightedQuad:
    """One weighted integral: LowLevelCallable, vectorized numpy, scalar Python; scipy's weighted quad alongside."""
    params = [sorted(WEIGHTED)]
    param_names = ["problem"]

    def setup(self, problem):
        self.a, self.b, self.weight, self.wvar = WEIGHTED[problem]
        self.half_line = np.isinf(self.b)
        self.atol = 1e-13 if self.half_line else 0.0
        self.llc = _libm("erfc" if self.half_line else "exp")
        self.f = scipy.special.erfc if self.half_line else np.exp

    def time_quadlib_lowlevel(self, problem):
        quadlib.quad(self.llc, self.a, self.b, weight=self.weight, wvar=self.wvar, atol=self.atol, rtol=RTOL)

    def time_scipy_lowlevel(self, problem):
        si.quad(self.llc, self.a, self.b, weight=self.weight, wvar=self.wvar, epsabs=self.atol, epsrel=RTOL,
                limit=200)

    def time_quadlib_vectorized(self, problem):
        quadlib.quad(self.f, self.a, self.b, weight=self.weight, wvar=self.wvar, atol=self.atol, rtol=RTOL,
                     vectorized=True)

    def time_quadlib_scalar(self, problem):
        quadlib.quad(lambda x: float(self.f(x)), self.a, self.b, weight=self.weight, wvar=self.wvar, atol=self.atol,
                     rtol=RTOL)

    def time_scipy_scalar(self, problem):
        si.quad(lambda x: float(self.f(x)), self.a, self.b, weight=self.weight, wvar=self.wvar, epsabs=self.atol,
                epsrel=RTOL, limit=200)

    def track_nfev_ratio(self, problem):
        ours = quadlib.quad(self.llc, self.a, self.b, weight=self.weight, wvar=self.wvar, atol=self.atol, rtol=RTOL)
        theirs = si.quad(self.llc, self.a, self.b, weight=self.weight, wvar=self.wvar, epsabs=self.atol, epsrel=RTOL,
                         limit=200, full_output=1)[2]["neval"]
        return ours.nfev / theirs


class WeightedBatch:
    """1,000 cos-weighted integrals (omega 1..1e3) in one vectorized call, against a loop of scipy's quad."""
    params = [[100, 1000]]
    param_names = ["count"]

    def setup(self, count):
        self.omega = np.linspace(1.0, 1e3, count)

    def time_quadlib_batch(self, count):
        quadlib.quad(lambda x, w: np.exp(-x) / (1 + x * x), 0.0, 1.0, args=(self.omega,), weight="cos",
                     wvar=self.omega, rtol=RTOL, vectorized=True)

    def time_scipy_loop(self, count):
        for w in self.omega:
            si.quad(lambda x: np.exp(-x) / (1 + x * x), 0.0, 1.0, weight="cos", wvar=w, epsabs=0.0, epsrel=RTOL)


class QuadVec:
    """The 10^4 integrals exp(-k x) on [0, 1] on one shared subdivision: quad_vec, quad(shared=True), scipy."""
    params = [["2", "max"]]
    param_names = ["norm"]

    def setup(self, norm):
        self.k = np.linspace(0.1, 10.0, 10_000)

    def time_quadlib_quad_vec(self, norm):
        quadlib.quad_vec(lambda x: np.exp(-self.k * x), 0.0, 1.0, rtol=1e-12, norm=norm)

    def time_quadlib_shared(self, norm):
        quadlib.quad(lambda x, k: np.exp(-k * x), 0.0, 1.0, args=(self.k,), shared=True, vectorized=True, rtol=1e-12)

    def time_scipy_quad_vec(self, norm):
        si.quad_vec(lambda x: np.exp(-self.k * x), 0.0, 1.0, epsabs=0.0, epsrel=1e-12, norm=norm)

    def track_nfev_quad_vec(self, norm):
        return quadlib.quad_vec(lambda x: np.exp(-self.k * x), 0.0, 1.0, rtol=1e-12, norm=norm).nfev
