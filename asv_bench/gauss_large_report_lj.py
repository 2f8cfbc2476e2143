"""Print quadlib's large-n Gauss–Legendre/Jacobi timings against the issue's targets and scipy, in one run.

    python asv_bench/gauss_large_report_lj.py [--quick]

Each figure is the best of several runs with quadlib's caches cleared (construction from scratch, the Rule
object included). scipy.special.roots_legendre / roots_jacobi are O(n^2) and are timed at 10^3 and 10^4
only (--quick: 10^3 only). FastGaussQuadrature.jl's published figures at n = 10^5 are printed beside ours
for scale (other machine, other language: not a measurement). The asv suite
(asv_bench/benchmarks/bench_gauss_large.py) keeps the same cases for the history.
"""
import argparse
import time
import warnings

import scipy.special as sc

import quadlib
from quadlib import _gauss, _gauss_lj

warnings.simplefilter("ignore")

JACOBI_PARAMS = [(0.5, -0.5), (-0.7, 0.3), (2.0, 5.0), (5.0, -0.5), (-0.99, 4.5)]
FASTGAUSS_JL_1E5 = {"legendre": 1.88e-3, "jacobi": 0.54}   # published, seconds


def best_time(func, repeat=5):
    times = []
    for _ in range(repeat):
        _gauss.clear_caches()
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def ms(seconds):
    return f"{seconds * 1e3:9.2f} ms"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="scipy at 10^3 only")
    quick = parser.parse_args(argv).quick
    print(f"crossover to the O(n) algorithms: Legendre n >= {_gauss_lj.LEGENDRE_CROSSOVER}, "
          f"Jacobi n >= {_gauss_lj.JACOBI_CROSSOVER} (|alpha|, |beta| <= {_gauss_lj.JACOBI_PARAMETER_LIMIT:g})")

    print("== targets")
    t = best_time(lambda: quadlib.gauss_legendre(10 ** 6))
    print(f"  gauss_legendre(10**6)            {ms(t)}   target <= 30 ms")
    t = best_time(lambda: quadlib.gauss_legendre(10 ** 7), repeat=3)
    print(f"  gauss_legendre(10**7)            {ms(t)}   target: a few hundred ms")
    for a, b in JACOBI_PARAMS:
        t = best_time(lambda: quadlib.gauss_jacobi(10 ** 5, a, b))
        print(f"  gauss_jacobi(10**5, {a:g}, {b:g}){' ' * (13 - len(f'{a:g}, {b:g}'))}{ms(t)}   target <= 20 ms")

    print("== beside FastGaussQuadrature.jl's published figures at n = 10^5")
    t = best_time(lambda: quadlib.gauss_legendre(10 ** 5))
    print(f"  Legendre: quadlib {ms(t)}   FastGaussQuadrature.jl {ms(FASTGAUSS_JL_1E5['legendre'])}")
    t = best_time(lambda: quadlib.gauss_jacobi(10 ** 5, -0.7, 0.3))
    print(f"  Jacobi:   quadlib {ms(t)}   FastGaussQuadrature.jl {ms(FASTGAUSS_JL_1E5['jacobi'])}")

    print("== against scipy.special (roots_legendre, roots_jacobi(n, -0.7, 0.3))")
    for n in ([10 ** 3] if quick else [10 ** 3, 10 ** 4]):
        repeat = 5 if n <= 10 ** 3 else 2
        ours = best_time(lambda: quadlib.gauss_legendre(n), repeat)
        theirs = best_time(lambda: sc.roots_legendre(n), repeat)
        print(f"  Legendre n={n:<6d} quadlib {ms(ours)}   scipy {ms(theirs)}   ratio {theirs / ours:8.0f}x")
        ours = best_time(lambda: quadlib.gauss_jacobi(n, -0.7, 0.3), repeat)
        theirs = best_time(lambda: sc.roots_jacobi(n, -0.7, 0.3), repeat)
        print(f"  Jacobi   n={n:<6d} quadlib {ms(ours)}   scipy {ms(theirs)}   ratio {theirs / ours:8.0f}x")


if __name__ == "__main__":
    main()
