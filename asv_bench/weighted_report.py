"""Print the issue-21 contract table for weighted quad and quad_vec, measured in one run against scipy.

    python asv_bench/weighted_report.py [--quick]

1. Agreement on the weighted battery (tests/reference/weighted_battery.py, closed forms / mpmath at 40 digits),
   rtol 1e-10, atol 0 (QAWF too; scipy needs an absolute tolerance there and gets rtol |I|): quadlib's silent
   failures (success claimed, true error above the estimate or the tolerance) and honest failures, scipy's silent
   and reported failures, the median per-case nfev ratio quadlib / scipy.
2. Large omega: nfev at omega = 1e6 against omega = 10 for smooth f on [0, 1].
3. Times, each ratio quadlib / scipy in this process and run, best of several repeats: a LowLevelCallable
   integrand (libm's exp through ctypes, as asv_bench/report.py does with cos) with each weight; a vectorized
   numpy integrand against scipy's (necessarily scalar) weighted quad, one integral and a batch of 1,000;
   quad_vec / quad(shared=True) against scipy's quad_vec on the 10^4 integrals exp(-k x) on [0, 1].
4. The worked examples of the docs page (Fourier transform of a slowly decaying function, Hilbert transform
   by the Cauchy weight, Jacobi-weighted singular integral): nfev and true error, quadlib and scipy.
"""
import argparse
import ctypes
import ctypes.util
import importlib.util
import platform
import statistics
import sys
import warnings
from pathlib import Path

import mpmath
import numpy as np
import scipy
import scipy.integrate as si

import quadlib
from quadlib import IntegrationWarning, _adaptive

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from benchmarks._timing import best_time  # noqa: E402

_spec = importlib.util.spec_from_file_location("weighted_battery",
                                               HERE.parent / "tests" / "reference" / "weighted_battery.py")
battery = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(battery)

RTOL = 1e-10
ROWS = []  # (figure, measured, target)


def fmt(seconds):
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def scipy_quad(f, a, b, weight, wvar, rtol, exact):
    atol = battery.scipy_atol(b, weight, rtol, exact)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = si.quad(f, a, b, weight=weight, wvar=wvar, epsabs=atol, epsrel=rtol, limit=200, full_output=1)
    ok = not caught and (len(out) < 4 or out[3] == "")
    return out[0], out[1], out[2].get("neval", -1), ok, atol


def agreement():
    print(f"== 1. weighted battery, rtol {RTOL:g}, atol 0 (scipy: rtol |I| on [a, inf) where it refuses 0)")
    cases = battery.cases()
    ratios, ours_silent, ours_failed, theirs_silent, theirs_failed = [], [], [], [], []
    nfev_ours, nfev_theirs = [], []
    for name, f, _, a, b, weight, wvar, exact in cases:
        value_exact = float(exact())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IntegrationWarning)
            res = quadlib.quad(lambda x: np.asarray(f(x), dtype=float) * np.ones_like(x), a, b, weight=weight,
                               wvar=wvar, rtol=RTOL, vectorized=True)
        true = abs(res.integral - value_exact)
        if res.success and (true > res.error or true > RTOL * abs(value_exact)):
            ours_silent.append(f"{name} (true {true:.1e}, estimate {res.error:.1e})")
        if not res.success:
            ours_failed.append(f"{name} (status {res.status})")
        value, err, nfev, ok, atol = scipy_quad(lambda x: float(f(np.float64(x))), a, b, weight, wvar, RTOL,
                                                value_exact)
        s_true = abs(value - value_exact)
        if ok and s_true > max(err, atol, RTOL * abs(value_exact)):
            theirs_silent.append(f"{name} (true {s_true:.1e}, estimate {err:.1e})")
        if not ok:
            theirs_failed.append(name)
        ratios.append(res.nfev / nfev)
        nfev_ours.append(res.nfev)
        nfev_theirs.append(nfev)
    print(f"  {len(cases)} integrals; quadlib: {len(cases) - len(ours_failed)} successes, {len(ours_silent)} silent "
          f"failures, {len(ours_failed)} honest failures")
    for line in ours_silent:
        print("    quadlib SILENT:", line)
    for line in ours_failed:
        print("    quadlib honest failure:", line)
    print(f"  scipy: {len(theirs_silent)} silent failures, {len(theirs_failed)} reported failures")
    for line in theirs_silent:
        print("    scipy SILENT:", line)
    median = statistics.median(ratios)
    print(f"  nfev: median per-case ratio quadlib/scipy {median:.3f} (min {min(ratios):.2f}, max {max(ratios):.2f});"
          f" median nfev quadlib {statistics.median(nfev_ours):g}, scipy {statistics.median(nfev_theirs):g}")
    ROWS.append(("battery: silent failures quadlib / scipy", f"{len(ours_silent)} / {len(theirs_silent)}",
                 "0 / (measured)"))
    ROWS.append(("battery: honest failures quadlib / scipy", f"{len(ours_failed)} / {len(theirs_failed)}", "-"))
    ROWS.append(("battery: median nfev ratio quadlib/scipy", f"{median:.3f}", "<= 1.0"))


def large_omega():
    print("== 2. large omega: nfev at omega = 1e6 against omega = 10, smooth f on [0, 1]")
    worst = 0.0
    for label, f in (("exp(-x)", lambda x: np.exp(-x)), ("1/(1+x^2)", lambda x: 1 / (1 + x * x)),
                     ("cos(x)+x^3", lambda x: np.cos(x) + x ** 3)):
        for weight in ("cos", "sin"):
            low = quadlib.quad(f, 0.0, 1.0, weight=weight, wvar=10.0, vectorized=True)
            high = quadlib.quad(f, 0.0, 1.0, weight=weight, wvar=1e6, vectorized=True)
            s_low = si.quad(f, 0.0, 1.0, weight=weight, wvar=10.0, epsabs=0, epsrel=1e-10, full_output=1)[2]["neval"]
            s_high = si.quad(f, 0.0, 1.0, weight=weight, wvar=1e6, epsabs=0, epsrel=1e-10, full_output=1)[2]["neval"]
            worst = max(worst, high.nfev / low.nfev)
            print(f"  {label:11s} {weight}: quadlib nfev {low.nfev} -> {high.nfev} (success {low.success}, "
                  f"{high.success}); scipy {s_low} -> {s_high}")
    ROWS.append(("large omega: max nfev(1e6)/nfev(10)", f"{worst:.2f}", "<= 2"))


def _libm(name):
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    function = getattr(libm, name)
    function.restype, function.argtypes = ctypes.c_double, [ctypes.c_double]
    return scipy.LowLevelCallable(function)


def times():
    print("== 3. times (best of 5, ratio quadlib / scipy in this run)")
    # exp on finite ranges; erfc on [0, inf) (scipy cannot take a LowLevelCallable on (-inf, b]: it reflects the
    # integrand through a Python wrapper)
    exp, erfc = _libm("exp"), _libm("erfc")
    cases = [("cos, omega 10, [0, 1] (QAWO, 25 points)", 0.0, 1.0, "cos", 10.0),
             ("sin, omega 1e3, [0, 10] (QAWO, subdivided)", 0.0, 10.0, "sin", 1e3),
             ("cos, omega 2, [0, inf), erfc (QAWF)", 0.0, np.inf, "cos", 2.0),
             ("cauchy, c = 0.3, [0, 1] (QAWC)", 0.0, 1.0, "cauchy", 0.3),
             ("alg-log, (-0.5, -0.5), [0, 1] (QAWS)", 0.0, 1.0, "alg-log", (-0.5, -0.5))]
    ratios = []
    for label, a, b, weight, wvar in cases:
        atol = 1e-13 if np.isinf(b) else 0.0
        llc = erfc if np.isinf(b) else exp
        ours = best_time(lambda: quadlib.quad(llc, a, b, weight=weight, wvar=wvar, atol=atol, rtol=RTOL))
        theirs = best_time(lambda: si.quad(llc, a, b, weight=weight, wvar=wvar, epsabs=atol, epsrel=RTOL, limit=200))
        r = quadlib.quad(llc, a, b, weight=weight, wvar=wvar, atol=atol, rtol=RTOL)
        s = si.quad(llc, a, b, weight=weight, wvar=wvar, epsabs=atol, epsrel=RTOL, limit=200, full_output=1)
        ratios.append(ours / theirs)
        name = "erfc" if np.isinf(b) else "exp"
        print(f"  LowLevelCallable {name}, {label}: quadlib {fmt(ours)} ({r.nfev} evaluations), scipy {fmt(theirs)} "
              f"({s[2]['neval']}), ratio {ours / theirs:.3f}")
    ROWS.append(("LowLevelCallable weighted quad / scipy (max over 5 weights)", f"{max(ratios):.3f}", "<= 1.1"))
    ROWS.append(("LowLevelCallable weighted quad / scipy (median)", f"{statistics.median(ratios):.3f}", "<= 1.1"))

    f_np, f_py = (lambda x: np.exp(-x) / (1 + x * x)), (lambda x: np.exp(-x) / (1 + x * x))
    vec_ratios = []
    for label, a, b, weight, wvar in cases:
        atol = 1e-13 if np.isinf(b) else 0.0
        g_np, g_py = f_np, f_py
        ours = best_time(lambda: quadlib.quad(g_np, a, b, weight=weight, wvar=wvar, atol=atol, rtol=RTOL,
                                              vectorized=True))
        theirs = best_time(lambda: si.quad(g_py, a, b, weight=weight, wvar=wvar, epsabs=atol, epsrel=RTOL, limit=200))
        vec_ratios.append(ours / theirs)
        print(f"  vectorized numpy f = exp(-x)/(1+x^2), {label.split(', erfc')[0]}: quadlib {fmt(ours)}, "
              f"scipy (scalar f) {fmt(theirs)}, "
              f"ratio {ours / theirs:.3f}")
    omega = np.linspace(1.0, 1e3, 1000)
    batch = best_time(lambda: quadlib.quad(lambda x, w: np.exp(-x) / (1 + x * x), 0.0, 1.0, args=(omega,),
                                           weight="cos", wvar=omega, rtol=RTOL, vectorized=True), repeat=3)
    loop = best_time(lambda: [si.quad(f_py, 0.0, 1.0, weight="cos", wvar=w, epsabs=0.0, epsrel=RTOL) for w in omega],
                     repeat=3)
    print(f"  vectorized batch of 1,000 cos-weighted integrals (omega 1..1e3) in one call: quadlib {fmt(batch)}, "
          f"scipy loop {fmt(loop)}, ratio {batch / loop:.3f}")
    ROWS.append(("vectorized weighted / scipy, one integral (median of 5 weights)",
                 f"{statistics.median(vec_ratios):.3f}", "<= 0.2"))
    ROWS.append(("vectorized weighted / scipy, batch of 1,000", f"{batch / loop:.3f}", "<= 0.2"))

    k = np.linspace(0.1, 10.0, 10_000)
    exact = -np.expm1(-k) / k
    for norm in ("max", "2"):
        ours = best_time(lambda: quadlib.quad_vec(lambda x: np.exp(-k * x), 0.0, 1.0, rtol=1e-12, norm=norm),
                         repeat=5)
        theirs = best_time(lambda: si.quad_vec(lambda x: np.exp(-k * x), 0.0, 1.0, epsabs=0.0, epsrel=1e-12,
                                               norm=norm), repeat=5)
        res = quadlib.quad_vec(lambda x: np.exp(-k * x), 0.0, 1.0, rtol=1e-12, norm=norm)
        ref = si.quad_vec(lambda x: np.exp(-k * x), 0.0, 1.0, epsabs=0.0, epsrel=1e-12, norm=norm, full_output=True)
        print(f"  quad_vec 10^4 x exp(-k x) on [0, 1], rtol 1e-12, norm {norm}: quadlib {fmt(ours)} ({res.nfev} "
              f"evaluations, max rel. error {np.max(np.abs(res.integral - exact) / exact):.1e}), scipy {fmt(theirs)} "
              f"({ref[2].neval}), ratio {ours / theirs:.3f}")
        ROWS.append((f"quad_vec / scipy quad_vec, 10^4 batch, norm {norm}", f"{ours / theirs:.3f}", "<= 1.0"))
    shared = best_time(lambda: quadlib.quad(lambda x, k: np.exp(-k * x), 0.0, 1.0, args=(k,), shared=True,
                                            vectorized=True, rtol=1e-12), repeat=5)
    theirs = best_time(lambda: si.quad_vec(lambda x: np.exp(-k * x), 0.0, 1.0, epsabs=0.0, epsrel=1e-12,
                                           norm="max"), repeat=5)
    print(f"  quad(shared=True, vectorized) on the same batch: {fmt(shared)}, scipy quad_vec (max) {fmt(theirs)}, "
          f"ratio {shared / theirs:.3f}")
    ROWS.append(("quad(shared=True) / scipy quad_vec, 10^4 batch", f"{shared / theirs:.3f}", "<= 1.0"))


def worked_examples():
    print("== 4. the docs page's worked integrals (rtol 1e-10): nfev and true error")
    with mpmath.workdps(40):
        small = mpmath.mpf("1e-9")
        examples = [
            ("Fourier: int_0^inf sin(x)/sqrt(x) dx = sqrt(pi/2)", lambda x: 1 / np.sqrt(x), 0.0, np.inf, "sin", 1.0,
             float(mpmath.sqrt(mpmath.pi / 2))),
            ("Fourier: int_0^inf cos(5x)/(1+x^2) dx = (pi/2) e^-5", lambda x: 1 / (1 + x * x), 0.0, np.inf, "cos",
             5.0, float(mpmath.pi / 2 * mpmath.exp(-5))),
            ("Hilbert: PV int_0^1 e^x/(x-c) dx, c = 0.5", np.exp, 0.0, 1.0, "cauchy", 0.5,
             float(mpmath.exp(0.5) * (mpmath.ei(0.5) - mpmath.ei(-0.5)))),
            ("Hilbert: PV int_0^1 e^x/(x-c) dx, c = 1e-9", np.exp, 0.0, 1.0, "cauchy", 1e-9,
             float(mpmath.exp(small) * (mpmath.ei(1 - small) - mpmath.ei(-small)))),
            ("Jacobi: int_0^1 e^x x^-0.999 (1-x)^0.5 dx", np.exp, 0.0, 1.0, "alg", (-0.999, 0.5),
             float(mpmath.beta(mpmath.mpf("0.001"), 1.5) * mpmath.hyp1f1(mpmath.mpf("0.001"), mpmath.mpf("1.501"), 1))),
            ("Jacobi: int_0^1 x^-1/2 (1-x)^-1/2 log x log(1-x) dx", lambda x: np.ones_like(x), 0.0, 1.0, "alg-log",
             (-0.5, -0.5), float(mpmath.pi * ((mpmath.digamma(0.5) - mpmath.digamma(1)) ** 2 - mpmath.psi(1, 1)))),
        ]
    print(f"  {'integral':55s} {'quadlib nfev':>12s} {'error':>9s} {'estimate':>9s} | {'scipy nfev':>10s} "
          f"{'error':>9s} {'estimate':>9s} ok")
    for label, f, a, b, weight, wvar, exact in examples:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IntegrationWarning)
            res = quadlib.quad(f, a, b, weight=weight, wvar=wvar, rtol=RTOL, vectorized=True)
        value, err, nfev, ok, _ = scipy_quad(lambda x: float(f(np.float64(x))), a, b, weight, wvar, RTOL, exact)
        print(f"  {label:55s} {res.nfev:12d} {abs(res.integral - exact):9.1e} {res.error:9.1e} | {nfev:10d} "
              f"{abs(value - exact):9.1e} {err:9.1e} {'yes' if ok else 'FAILED'} (quadlib success {res.success}, "
              f"{res.extra['method']})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the timings")
    options = parser.parse_args()
    engine = "compiled WeightedBatch" if hasattr(_adaptive._kernel, "WeightedBatch") else "pure-Python twin"
    print(f"quadlib {getattr(quadlib, '__version__', '?')} (weighted engine: {engine}), scipy {scipy.__version__}, "
          f"numpy {np.__version__}, Python {platform.python_version()} on {platform.machine()}")
    agreement()
    large_omega()
    if not options.quick:
        times()
    worked_examples()
    print("== contract table")
    width = max(len(r[0]) for r in ROWS)
    for figure, measured, target in ROWS:
        print(f"  {figure:{width}s}  {measured:>10s}   target {target}")


if __name__ == "__main__":
    main()
