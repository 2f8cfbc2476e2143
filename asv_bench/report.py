"""Print quadlib's headline figures against its peers, measured in one run on this machine.

    python asv_bench/report.py [--quick]

Ratios compare the two libraries on the same problems in the same process, so machine noise largely
cancels; each timing is the best of several repeats. The asv suite (asv_bench/benchmarks) measures the
same cases for the history; this script is the quick look.
"""
import argparse
import ctypes
import ctypes.util
import statistics
import sys
import time
import warnings

import numpy as np
import scipy
import scipy.integrate as si

import quadlib

warnings.simplefilter("ignore")


def best_time(func, repeat=5, number=None):
    """Best wall time per call (seconds), auto-scaling the inner loop to ~20 ms."""
    if number is None:
        number, elapsed = 1, 0.0
        while True:
            start = time.perf_counter()
            for _ in range(number):
                func()
            elapsed = time.perf_counter() - start
            if elapsed > 0.02 or number > 10_000:
                break
            number *= 4
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            func()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def battery_problems():
    from quadlib._problems import BATTERY

    return [p for p in BATTERY if np.isfinite(p.a) or np.isfinite(p.b) or True]


def quad_section(quick):
    print("== quad against scipy.integrate.quad (rtol 1e-10, atol 0, same max subdivisions 200)")
    problems = battery_problems()
    ratios, t_scalar, t_vector = [], [], []
    for p in problems:
        def ours():
            return quadlib.quad(p.f, p.a, p.b, rtol=1e-10, points=p.points or None)

        def ours_vec():
            return quadlib.quad(p.f, p.a, p.b, rtol=1e-10, points=p.points or None, vectorized=True)

        def theirs():
            return si.quad(p.f, p.a, p.b, epsabs=0.0, epsrel=1e-10, limit=200, points=p.points or None,
                           full_output=True)

        mine, ref = ours(), theirs()
        ratios.append(mine.nfev / ref[2]["neval"])
        if not quick:
            ts = best_time(theirs, repeat=3)
            t_scalar.append(best_time(ours, repeat=3) / ts)
            t_vector.append(best_time(ours_vec, repeat=3) / ts)
    print(f"  problems: {len(problems)}")
    print(f"  nfev ratio quad/scipy:        median {statistics.median(ratios):.3f}  "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    if not quick:
        print(f"  wall time, scalar integrand:  median ratio {statistics.median(t_scalar):.3f}")
        print(f"  wall time, vectorized:        median ratio {statistics.median(t_vector):.3f}")

    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.cos.restype, libm.cos.argtypes = ctypes.c_double, [ctypes.c_double]
    llc = scipy.LowLevelCallable(libm.cos)
    ours = best_time(lambda: quadlib.quad(llc, 0.0, 200.0, rtol=1e-10, max_subdivisions=500))
    theirs = best_time(lambda: si.quad(llc, 0.0, 200.0, epsabs=0.0, epsrel=1e-10, limit=500))
    print(f"  LowLevelCallable cos on [0, 200]: {ours * 1e6:.1f} us vs {theirs * 1e6:.1f} us, ratio {ours / theirs:.3f}")
    ours = best_time(lambda: quadlib.quad(llc, 0.0, 1.0, rtol=1e-10))
    theirs = best_time(lambda: si.quad(llc, 0.0, 1.0, epsabs=0.0, epsrel=1e-10))
    print(f"  LowLevelCallable cos on [0, 1] (21 points; fixed costs only): {ours * 1e6:.2f} us vs "
          f"{theirs * 1e6:.2f} us, ratio {ours / theirs:.3f}")

    k = np.linspace(0.1, 10.0, 10_000)
    f = lambda x, k: np.exp(-k * x)  # noqa: E731
    ours = best_time(lambda: quadlib.quad(f, 0.0, 1.0, args=(k,), vectorized=True, rtol=1e-12), repeat=5)
    check = quadlib.quad(f, 0.0, 1.0, args=(k,), vectorized=True, rtol=1e-12)
    err = np.max(np.abs(check.integral - (-np.expm1(-k) / k)) / (-np.expm1(-k) / k))
    line = f"  batch of 10,000 integrals exp(-k x) on [0,1], rtol 1e-12: {ours / k.size * 1e6:.3f} us per integral " \
           f"(max rel. error {err:.1e}, all converged: {bool(np.all(check.success))})"
    if hasattr(si, "tanhsinh"):
        theirs = best_time(lambda: si.tanhsinh(f, 0.0, 1.0, args=(k,), rtol=1e-12), repeat=3)
        line += f"; scipy tanhsinh {theirs / k.size * 1e6:.3f} us, ratio {ours / theirs:.3f}"
    print(line)


def cubature_section(quick):
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent / "benchmarks"))
    from bench_cubature import SMOOTH, gaussian_peak_5d, nfev_ratios

    print("== cubature against scipy.integrate.cubature(rule='genz-malik'), Genz problems d = 2, 3, 5, "
          "seeds 0, 1, rtol 1e-6")
    print("   evaluations ours/scipy on problems scipy solves (inf: ours did not converge within scipy's count)")
    for method in ("genz_malik", "sparse_adaptive"):
        ratios = nfev_ratios(method)
        cells = "  ".join(f"{fam} {np.nanmedian(ratios[fam]):.3g}" for fam in SMOOTH)
        every = np.concatenate([np.array(r) for r in ratios.values()])
        every = every[~np.isnan(every)]
        print(f"  {method:16s} median per family: {cells}; below 1 on {np.sum(every < 1)}/{every.size}")
    f, d, exact = gaussian_peak_5d()
    start = time.perf_counter()
    res = quadlib.cubature(f, [0] * d, [1] * d, rtol=1e-8, method="sparse_adaptive", max_nfev=10 ** 7)
    ours = time.perf_counter() - start
    line = (f"  d=5 Gaussian peak, rtol 1e-8, sparse_adaptive: {ours:.2f} s, {res.nfev} evaluations, "
            f"true rel. error {abs(res.integral - exact) / exact:.1e}, estimate {res.error / exact:.1e}")
    if not quick:
        start = time.perf_counter()
        s = si.cubature(f, np.zeros(d), np.ones(d), rule="genz-malik", rtol=1e-8, atol=0, max_subdivisions=20000)
        line += f"; scipy genz-malik {time.perf_counter() - start:.1f} s ({s.status})"
    print(line)
    start = time.perf_counter()
    quadlib.sparse_grid(10, 5)
    print(f"  sparse_grid(10, 5) construction: {1e3 * (time.perf_counter() - start):.0f} ms "
          f"({quadlib.sparse_grid(10, 5).nodes.shape[0]} nodes)")


def integrators_section(quick):
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent / "benchmarks"))
    from bench_laplace import PerClusterBaseline, logistic_clusters

    print("== integrators over random effects: 10^5 logistic-normal clusters, q = 1, modes included")
    M = 100_000
    _, _, log_g, derivatives = logistic_clusters(M)
    for name, rule, der in (("Laplace()", quadlib.Laplace(), derivatives),
                            ("AdaptiveGaussHermite(10)", quadlib.AdaptiveGaussHermite(10), derivatives),
                            ("AdaptiveGaussHermite(10), differences", quadlib.AdaptiveGaussHermite(10), None)):
        t = best_time(lambda: rule.log_integrals(log_g, M, 1, cov=[[1.5]], derivatives=der), repeat=5, number=1)
        print(f"  {name:40s} {1e3 * t:6.1f} ms")
    if not quick:
        base = PerClusterBaseline()
        base.setup()
        t = best_time(base.time_scipy_newton_loop, repeat=3, number=1) * 100
        print(f"  per-cluster loop (scipy.optimize.newton + 10-point GH), scaled to 10^5: {1e3 * t:.0f} ms")


def glmm_section(quick):
    import shutil
    import subprocess

    from quadlib.glmm import datasets, fit

    print("== GLMM: cbpp, cbind(incidence, size - incidence) ~ period + (1 | herd)")
    data = datasets.load("cbpp")
    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    for method, nagq in (("laplace", None), ("agq", 25)):
        t = best_time(lambda: fit(formula, data, method=method, nagq=nagq), repeat=3, number=1)
        print(f"  quadlib {method:8s} {1e3 * t:7.1f} ms")
    if not quick and shutil.which("Rscript"):
        script = ("suppressMessages(library(lme4)); f <- cbind(incidence, size - incidence) ~ period + (1 | herd); "
                  "for (k in c(1, 25)) { t <- min(sapply(1:5, function(i) system.time(glmer(f, data = cbpp, "
                  "family = binomial, nAGQ = k))[['elapsed']])); cat(sprintf('  lme4 nAGQ=%-3d %7.1f ms\\n', k, 1e3 * t)) }")
        print(subprocess.run(["Rscript", "-e", script], capture_output=True, text=True).stdout, end="")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="evaluation counts only, no timings")
    args = parser.parse_args(argv)
    print(f"quadlib {quadlib.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, Python {sys.version.split()[0]}")
    print(f"measured {time.strftime('%Y-%m-%d %H:%M')} on {sys.platform}")
    quad_section(args.quick)
    cubature_section(args.quick)
    integrators_section(args.quick)
    glmm_section(args.quick)


if __name__ == "__main__":
    main()
