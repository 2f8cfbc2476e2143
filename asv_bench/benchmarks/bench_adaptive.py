"""One-dimensional integrators against their peers in the same suite: quad against scipy.integrate.quad,
tanh_sinh against scipy.integrate.tanhsinh and mpmath.quad (tanh-sinh too, at 15 digits), a batch of
integrals against scipy's tanhsinh and quad_vec, romberg against scipy.integrate.romb on the same samples.

Compare the ``time_*`` methods of one class and parameter set (same run, same machine); ``track_*`` record
evaluation-count ratios (deterministic). asv_bench/report.py prints the same comparisons in one run.
"""
import ctypes
import ctypes.util
import math
import warnings

import mpmath
import numpy as np
import scipy
import scipy.integrate as si

import quadlib
from quadlib.benchmark._problems import BATTERY, by_name

warnings.simplefilter("ignore")

PROBLEMS = ["bjl01", "bjl06", "quadpack_log", "quadpack_cos_sin", "osc_sin100", "peak_lorentz", "gauss_real_line",
            "log_interior", "kahaner_exp_layer"]

# (numpy integrand, mpmath integrand, a, b, exact) for tanh-sinh's home ground: smooth, endpoint singularities,
# half-line decay. mpmath's integrands take mpf; its quad is tanh-sinh by default.
TANH_SINH_PROBLEMS = {
    "exp(-x^2) on [0, 1]": (lambda x: np.exp(-x * x), lambda x: mpmath.exp(-x * x), 0.0, 1.0,
                            0.5 * math.sqrt(math.pi) * math.erf(1.0)),
    "log(x) on [0, 1]": (np.log, mpmath.log, 0.0, 1.0, -1.0),
    "1/sqrt(x (1 - x)) on [0, 1]": (lambda x: 1 / np.sqrt(x * (1 - x)), lambda x: 1 / mpmath.sqrt(x * (1 - x)),
                                    0.0, 1.0, math.pi),
    "1/(1 + x^2) on [0, inf)": (lambda x: 1 / (1 + x * x), lambda x: 1 / (1 + x * x), 0.0, np.inf, math.pi / 2),
}


def quad_nfev_ratios(rtol=1e-10):
    """quadlib.quad's evaluations over scipy.integrate.quad's, per problem of the battery."""
    ratios = []
    for p in BATTERY:
        ours = quadlib.quad(p.f, p.a, p.b, rtol=rtol, points=p.points or None)
        ref = si.quad(p.f, p.a, p.b, epsabs=0.0, epsrel=rtol, limit=200, points=p.points or None, full_output=True)
        ratios.append(ours.nfev / ref[2]["neval"])
    return ratios


class Quad1D:
    """quad (adaptive Gauss–Kronrod, QUADPACK's QAGS strategy) against scipy.integrate.quad (QUADPACK itself),
    rtol 1e-10, atol 0, 200 subdivisions."""

    params = [PROBLEMS]
    param_names = ["problem"]

    def setup(self, name):
        self.p = by_name(name)
        self.points = self.p.points or None

    def time_quadlib(self, name):
        quadlib.quad(self.p.f, self.p.a, self.p.b, rtol=1e-10, points=self.points)

    def time_quadlib_vectorized(self, name):
        quadlib.quad(self.p.f, self.p.a, self.p.b, rtol=1e-10, points=self.points, vectorized=True)

    def time_scipy(self, name):
        si.quad(self.p.f, self.p.a, self.p.b, epsabs=0.0, epsrel=1e-10, limit=200, points=self.points)


def track_quad_nfev_ratio_median():
    """Median over the whole battery of quad's evaluations / scipy.integrate.quad's."""
    return float(np.median(quad_nfev_ratios()))


track_quad_nfev_ratio_median.unit = "ratio"


class TanhSinh:
    """tanh_sinh against scipy.integrate.tanhsinh (both vectorized, rtol 1e-10) and mpmath.quad at 15 digits."""

    params = [list(TANH_SINH_PROBLEMS)]
    param_names = ["problem"]

    def setup(self, name):
        self.f, self.mf, self.a, self.b, _ = TANH_SINH_PROBLEMS[name]

    def time_quadlib(self, name):
        quadlib.tanh_sinh(self.f, self.a, self.b, rtol=1e-10, vectorized=True)

    def time_scipy_tanhsinh(self, name):
        si.tanhsinh(self.f, self.a, self.b, rtol=1e-10)

    def time_mpmath_quad(self, name):
        with mpmath.workdps(15):
            mpmath.quad(self.mf, [self.a, mpmath.inf if np.isinf(self.b) else self.b])

    def track_nfev_ratio_scipy(self, name):
        ours = quadlib.tanh_sinh(self.f, self.a, self.b, rtol=1e-10, vectorized=True)
        return ours.nfev / int(si.tanhsinh(self.f, self.a, self.b, rtol=1e-10).nfev)

    track_nfev_ratio_scipy.unit = "ratio"


class LowLevel:
    """A C integrand (scipy.LowLevelCallable of libm's cos) on [0, 200]: the loop's own overhead."""

    def setup(self):
        libm = ctypes.CDLL(ctypes.util.find_library("m"))
        libm.cos.restype, libm.cos.argtypes = ctypes.c_double, [ctypes.c_double]
        self.llc = scipy.LowLevelCallable(libm.cos)

    def time_quadlib(self):
        quadlib.quad(self.llc, 0.0, 200.0, rtol=1e-10, max_subdivisions=500)

    def time_scipy(self):
        si.quad(self.llc, 0.0, 200.0, epsabs=0.0, epsrel=1e-10, limit=500)


class Batch10k:
    """10,000 integrals of exp(-k x) on [0, 1] at rtol 1e-12 (per call; divide by 1e4 for per integral):
    quadlib.quad's vectorized batch against scipy's tanhsinh (vectorized over k) and quad_vec (one
    adaptive partition shared by the 10,000 components)."""

    timeout = 120

    def setup(self):
        self.k = np.linspace(0.1, 10.0, 10_000)
        self.f = lambda x, k: np.exp(-k * x)

    def time_quadlib(self):
        quadlib.quad(self.f, 0.0, 1.0, args=(self.k,), vectorized=True, rtol=1e-12)

    def time_scipy_tanhsinh(self):
        si.tanhsinh(self.f, 0.0, 1.0, args=(self.k,), rtol=1e-12)

    def time_scipy_quad_vec(self):
        si.quad_vec(lambda x: np.exp(-self.k * x), 0.0, 1.0, epsabs=0.0, epsrel=1e-12, norm="max")


class Romberg:
    """romberg of exp on [0, 1] to rtol 1e-10 (it stops at 33 points) against scipy.integrate.romb on the same
    33 samples (the same Richardson table, given the samples), sampling included."""

    def setup(self):
        self.n = quadlib.romberg(np.exp, 0.0, 1.0, rtol=1e-10).nfev
        self.x = np.linspace(0.0, 1.0, self.n)

    def time_quadlib(self):
        quadlib.romberg(np.exp, 0.0, 1.0, rtol=1e-10)

    def time_scipy_romb(self):
        si.romb(np.exp(self.x), dx=1.0 / (self.n - 1))
