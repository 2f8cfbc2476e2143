"""Print quadlib's headline figures against its peers, measured in one run on this machine.

    python asv_bench/report.py [--quick] [--no-r]

Peers: scipy.integrate and scipy.special (quad, tanhsinh, quad_vec, cubature, qmc_quad, nquad, roots_*),
mpmath (quad at 15 digits, Gauss–Legendre nodes), statsmodels (MixedLM), and through Rscript, when it is
installed, lme4 (glmer, lmer), glmmTMB, MASS::glmmPQL, survival::clogit and nlme; the R clock is read inside
R around the fit (asv_bench/benchmarks/_rscript.py). Every ratio is quadlib's time over the peer's, both
measured in this process and this run, so machine noise largely cancels; each timing is the best of several
repeats. The asv suite (asv_bench/benchmarks) measures the same cases for the history; this script is the
quick look. It ends with the headline table and the machine it ran on.

--quick times fewer problems and smaller sizes (under ~3 minutes); the full run adds the whole quad battery,
scipy's Genz–Malik on the 5-D peak (~30 s), Gauss rules at n = 10^4 for scipy and a 20,000-group lme4 fit.
"""
import argparse
import ctypes
import ctypes.util
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import mpmath
import numpy as np
import scipy
import scipy.integrate as si
import scipy.special as sc

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import quadlib  # noqa: E402
from quadlib import _gauss  # noqa: E402

from benchmarks import _rscript  # noqa: E402
from benchmarks._machine import cpu_name  # noqa: E402
from benchmarks._timing import best_time  # noqa: E402

warnings.simplefilter("ignore")

HEADLINE = []  # (comparison, quadlib seconds, peer, peer seconds or None, note)


def headline(comparison, ours, peer, theirs, note=""):
    HEADLINE.append((comparison, ours, peer, theirs, note))


def fmt(seconds):
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def r_peer(label, packages, setup, call, repeat=5, **kw):
    """The peer's seconds through Rscript, or None (with the reason printed) when R cannot run it."""
    if not USE_R:
        print(f"  {label}: skipped (--no-r)")
        return None
    if not _rscript.r_available(*packages):
        reason = "no Rscript" if _rscript.missing_r_packages(tuple(packages)) is None else \
            f"R package(s) {', '.join(_rscript.missing_r_packages(tuple(packages)))} missing"
        print(f"  {label}: skipped ({reason})")
        return None
    return _rscript.r_seconds(packages, setup, call, repeat=repeat, **kw)


def pair(label, ours, theirs, peer_name):
    line = f"  {label}: quadlib {fmt(ours)}, {peer_name} {fmt(theirs)}"
    if theirs:
        line += f", ratio {ours / theirs:.3g}"
    print(line)


# ---------------------------------------------------------------------------------------------- 1-D integrals
def quad_section(quick):
    from benchmarks.bench_adaptive import PROBLEMS
    from quadlib.benchmark._problems import BATTERY, by_name

    print("== quad against scipy.integrate.quad (rtol 1e-10, atol 0, same max subdivisions 200)")
    problems = [by_name(name) for name in PROBLEMS] if quick else list(BATTERY)
    ratios, t_ours, t_vec, t_theirs = [], [], [], []
    for p in BATTERY:
        mine = quadlib.quad(p.f, p.a, p.b, rtol=1e-10, points=p.points or None)
        ref = si.quad(p.f, p.a, p.b, epsabs=0.0, epsrel=1e-10, limit=200, points=p.points or None, full_output=True)
        ratios.append(mine.nfev / ref[2]["neval"])
    for p in problems:
        points = p.points or None
        t_theirs.append(best_time(lambda: si.quad(p.f, p.a, p.b, epsabs=0.0, epsrel=1e-10, limit=200,
                                                  points=points), repeat=3))
        t_ours.append(best_time(lambda: quadlib.quad(p.f, p.a, p.b, rtol=1e-10, points=points), repeat=3))
        t_vec.append(best_time(lambda: quadlib.quad(p.f, p.a, p.b, rtol=1e-10, points=points, vectorized=True),
                               repeat=3))
    nfev = statistics.median(ratios)
    print(f"  nfev ratio quad/scipy over the battery ({len(BATTERY)} problems): median {nfev:.3f}  "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    scalar = [a / b for a, b in zip(t_ours, t_theirs)]
    vector = [a / b for a, b in zip(t_vec, t_theirs)]
    print(f"  wall time over {len(problems)} problems: scalar integrand median ratio {statistics.median(scalar):.3f}, "
          f"vectorized {statistics.median(vector):.3f}")
    headline(f"quad, {len(problems)} problems (sum of times)", sum(t_ours), "scipy quad", sum(t_theirs),
             f"per problem: median time ratio {statistics.median(scalar):.2f}, nfev ratio {nfev:.2f}")
    headline("quad vectorized, same problems", sum(t_vec), "scipy quad", sum(t_theirs),
             f"per problem: median time ratio {statistics.median(vector):.2f}")

    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.cos.restype, libm.cos.argtypes = ctypes.c_double, [ctypes.c_double]
    llc = scipy.LowLevelCallable(libm.cos)
    ours = best_time(lambda: quadlib.quad(llc, 0.0, 200.0, rtol=1e-10, max_subdivisions=500))
    theirs = best_time(lambda: si.quad(llc, 0.0, 200.0, epsabs=0.0, epsrel=1e-10, limit=500))
    pair("LowLevelCallable cos on [0, 200]", ours, theirs, "scipy quad")
    headline("quad, LowLevelCallable cos [0, 200]", ours, "scipy quad", theirs)
    ours = best_time(lambda: quadlib.quad(llc, 0.0, 1.0, rtol=1e-10))
    theirs = best_time(lambda: si.quad(llc, 0.0, 1.0, epsabs=0.0, epsrel=1e-10))
    pair("LowLevelCallable cos on [0, 1] (21 points; fixed costs only)", ours, theirs, "scipy quad")

    k = np.linspace(0.1, 10.0, 10_000)
    f = lambda x, k: np.exp(-k * x)  # noqa: E731
    ours = best_time(lambda: quadlib.quad(f, 0.0, 1.0, args=(k,), vectorized=True, rtol=1e-12), repeat=5)
    check = quadlib.quad(f, 0.0, 1.0, args=(k,), vectorized=True, rtol=1e-12)
    err = np.max(np.abs(check.integral - (-np.expm1(-k) / k)) / (-np.expm1(-k) / k))
    print(f"  batch of 10,000 integrals exp(-k x) on [0,1], rtol 1e-12: {ours / k.size * 1e6:.3f} us per integral "
          f"(max rel. error {err:.1e}, all converged: {bool(np.all(check.success))})")
    theirs = best_time(lambda: si.tanhsinh(f, 0.0, 1.0, args=(k,), rtol=1e-12), repeat=3)
    pair("  the batch", ours, theirs, "scipy tanhsinh")
    headline("quad, batch of 10^4 integrals", ours, "scipy tanhsinh", theirs)
    if not quick:
        theirs = best_time(lambda: si.quad_vec(lambda x: np.exp(-k * x), 0.0, 1.0, epsabs=0.0, epsrel=1e-12,
                                               norm="max"), repeat=3)
        pair("  the batch", ours, theirs, "scipy quad_vec")
        headline("quad, batch of 10^4 integrals", ours, "scipy quad_vec", theirs)


def tanh_sinh_section(quick):
    from benchmarks.bench_adaptive import TANH_SINH_PROBLEMS

    print("== tanh_sinh against scipy.integrate.tanhsinh (rtol 1e-10, vectorized) and mpmath.quad (15 digits)")
    totals = {"quadlib": 0.0, "scipy": 0.0, "mpmath": 0.0}
    nfev = []
    for name, (f, mf, a, b, exact) in TANH_SINH_PROBLEMS.items():
        mb = mpmath.inf if np.isinf(b) else b

        def mp_quad():
            with mpmath.workdps(15):
                return mpmath.quad(mf, [a, mb])

        res = quadlib.tanh_sinh(f, a, b, rtol=1e-10, vectorized=True)
        ref = si.tanhsinh(f, a, b, rtol=1e-10)
        nfev.append(res.nfev / int(ref.nfev))
        t = {"quadlib": best_time(lambda: quadlib.tanh_sinh(f, a, b, rtol=1e-10, vectorized=True), repeat=3),
             "scipy": best_time(lambda: si.tanhsinh(f, a, b, rtol=1e-10), repeat=3),
             "mpmath": best_time(mp_quad, repeat=3)}
        for key in totals:
            totals[key] += t[key]
        print(f"  {name:30s} quadlib {fmt(t['quadlib']):>9s} (err {abs(res.integral - exact) / abs(exact):.0e}, "
              f"{res.nfev} evals)  scipy {fmt(t['scipy']):>9s} ({int(ref.nfev)} evals)  mpmath {fmt(t['mpmath']):>9s}")
    headline(f"tanh_sinh, {len(TANH_SINH_PROBLEMS)} problems (sum)", totals["quadlib"], "scipy tanhsinh",
             totals["scipy"], f"nfev ratio {statistics.median(nfev):.2f}")
    headline(f"tanh_sinh, {len(TANH_SINH_PROBLEMS)} problems (sum)", totals["quadlib"], "mpmath.quad 15 digits",
             totals["mpmath"])


# -------------------------------------------------------------------------------------------- multi-D integrals
def cubature_section(quick):
    from benchmarks.bench_cubature import (SMOOTH, SMOOTH_5D_EXACT, _gaussian_3d, _smooth_5d, gaussian_peak_5d,
                                           nfev_ratios, scipy_tensor_legendre)
    from quadlib.benchmark import genz_problem

    dims = (2, 3) if quick else (2, 3, 5)  # scipy needs ~1 min at d = 5
    print(f"== cubature against scipy.integrate.cubature(rule='genz-malik'), Genz problems d = "
          f"{', '.join(map(str, dims))}, seeds 0, 1, rtol 1e-6")
    print("   evaluations ours/scipy on problems scipy solves (inf: ours did not converge within scipy's count)")
    for method in ("genz_malik", "sparse_adaptive"):
        ratios = nfev_ratios(method, dims=dims)
        cells = "  ".join(f"{fam} {np.nanmedian(ratios[fam]):.3g}" for fam in SMOOTH)
        every = np.concatenate([np.array(r) for r in ratios.values()])
        every = every[~np.isnan(every)]
        print(f"  {method:16s} median per family: {cells}; below 1 on {np.sum(every < 1)}/{every.size}")
    p = genz_problem("gaussian", 3, seed=0)
    ours = best_time(lambda: quadlib.cubature(p.f, np.zeros(3), np.ones(3), rtol=1e-6), repeat=3)
    theirs = best_time(lambda: si.cubature(p.f, np.zeros(3), np.ones(3), rule="genz-malik", rtol=1e-6, atol=0),
                       repeat=3)
    pair("Genz Gaussian d = 3, rtol 1e-6, genz_malik", ours, theirs, "scipy cubature")
    headline("cubature, Genz Gaussian d=3 rtol 1e-6", ours, "scipy cubature", theirs)

    f, d, exact = gaussian_peak_5d()
    start = time.perf_counter()
    res = quadlib.cubature(f, [0] * d, [1] * d, rtol=1e-8, method="sparse_adaptive", max_nfev=10 ** 7)
    ours = time.perf_counter() - start
    line = (f"  d=5 Gaussian peak, rtol 1e-8, sparse_adaptive: {ours:.2f} s, {res.nfev} evaluations, "
            f"true rel. error {abs(res.integral - exact) / exact:.1e}, estimate {res.error / exact:.1e}")
    if not quick:
        start = time.perf_counter()
        s = si.cubature(f, np.zeros(d), np.ones(d), rule="genz-malik", rtol=1e-8, atol=0, max_subdivisions=20000)
        theirs = time.perf_counter() - start
        line += f"; scipy genz-malik {theirs:.1f} s ({s.status})"
        headline("cubature, 5-D peak rtol 1e-8", ours, "scipy cubature", theirs, f"scipy: {s.status}")
    print(line)

    fq = lambda x: np.prod(np.cos(x), axis=-1)  # noqa: E731
    a6, b6 = np.zeros(6), np.ones(6)
    ours = best_time(lambda: quadlib.qmc_quad(fq, a6, b6, n_points=2 ** 12, n_randomizations=16, seed=1), repeat=3)
    theirs = best_time(lambda: si.qmc_quad(lambda x: fq(x.T), a6, b6, n_estimates=16, n_points=2 ** 12,
                                           qrng=scipy.stats.qmc.Sobol(6, seed=1)), repeat=3)
    pair("qmc_quad, d = 6, 16 x 2^12 Sobol' points", ours, theirs, "scipy qmc_quad")
    headline("qmc_quad, d=6, 16 x 2^12 points", ours, "scipy qmc_quad", theirs)

    ours = best_time(lambda: quadlib.nquad(_gaussian_3d, [(0.0, 1.0)] * 3, rtol=1e-8), repeat=3)
    theirs = best_time(lambda: si.nquad(lambda x, y, z: np.exp(-(x * x + y * y + z * z)), [(0.0, 1.0)] * 3,
                                        opts={"epsabs": 0.0, "epsrel": 1e-8}), repeat=3)
    pair("nquad, exp(-|x|^2) on [0, 1]^3, rtol 1e-8", ours, theirs, "scipy nquad")
    headline("nquad, 3-D Gaussian rtol 1e-8", ours, "scipy nquad", theirs)

    def sparse():
        return quadlib.sparse_grid(5, 4).integrate(_smooth_5d, np.zeros(5), np.ones(5))

    def dense():
        nodes, weights = scipy_tensor_legendre(5, 5)
        return weights @ _smooth_5d(0.5 * (nodes + 1)) / 2 ** 5

    ours, theirs = best_time(sparse, repeat=3), best_time(dense, repeat=3)
    pair(f"sparse_grid(5, 4) (rel. err {abs(sparse() / SMOOTH_5D_EXACT - 1):.0e}) vs 5^5 Gauss–Legendre product "
         f"(rel. err {abs(dense() / SMOOTH_5D_EXACT - 1):.0e})", ours, theirs, "scipy roots + numpy")
    headline("sparse_grid(5,4) vs dense 5^5 product", ours, "roots_legendre+numpy", theirs)
    start = time.perf_counter()
    quadlib.sparse_grid(10, 5)
    print(f"  sparse_grid(10, 5) construction: {1e3 * (time.perf_counter() - start):.0f} ms "
          f"({quadlib.sparse_grid(10, 5).nodes.shape[0]} nodes; target 100 ms)")


# ------------------------------------------------------------------------------------------------- Gauss rules
def gauss_section(quick):
    print("== Gauss rules against scipy.special.roots_* (quadlib's caches cleared before each construction)")

    def ours_time(build, repeat):
        def run():
            _gauss.clear_caches()
            build()
        return best_time(run, repeat=repeat, number=1)

    n_lj = 10 ** 3 if quick else 10 ** 4
    rep = 5 if quick else 2
    cases = [
        (f"gauss_legendre({n_lj})", lambda: quadlib.gauss_legendre(n_lj), lambda: sc.roots_legendre(n_lj),
         "scipy roots_legendre"),
        (f"gauss_jacobi({n_lj}, -0.7, 0.3)", lambda: quadlib.gauss_jacobi(n_lj, -0.7, 0.3),
         lambda: sc.roots_jacobi(n_lj, -0.7, 0.3), "scipy roots_jacobi"),
        ("gauss_hermite(10^5)", lambda: quadlib.gauss_hermite(10 ** 5), lambda: sc.roots_hermite(10 ** 5),
         "scipy roots_hermite"),
        ("gauss_laguerre(500, 1.5)", lambda: quadlib.gauss_laguerre(500, 1.5), lambda: sc.roots_genlaguerre(500, 1.5),
         "scipy roots_genlaguerre"),
        ("gauss_legendre(100)", lambda: quadlib.gauss_legendre(100), lambda: sc.roots_legendre(100),
         "scipy roots_legendre"),
    ]
    for label, build, peer, peer_name in cases:
        ours = ours_time(build, rep)
        theirs = best_time(peer, repeat=rep, number=1)
        pair(label, ours, theirs, peer_name)
        headline(label, ours, peer_name, theirs)
    degree = 6  # mpmath's Gauss–Legendre sizes are 3 * 2^(degree - 1): 96 nodes

    def mp_nodes():
        with mpmath.workdps(15):
            mpmath.calculus.quadrature.GaussLegendre(mpmath.mp).calc_nodes(degree, mpmath.mp.prec)

    ours = ours_time(lambda: quadlib.gauss_legendre(96), 5)
    theirs = best_time(mp_nodes, repeat=3, number=1)
    pair("gauss_legendre(96)", ours, theirs, "mpmath GaussLegendre 15 digits")
    headline("gauss_legendre(96)", ours, "mpmath 15 digits", theirs)
    ours = ours_time(lambda: quadlib.gauss_legendre(10 ** 6), 3)
    print(f"  gauss_legendre(10^6): {fmt(ours)} (target 30 ms; scipy: minutes)")


# ---------------------------------------------------------------------------------- integrators over random effects
def integrators_section(quick):
    from benchmarks.bench_laplace import (dense_laplace, dense_product_log_marginal, logistic_clusters,
                                          nested_laplace_problem, random_walk_poisson, scipy_newton_loop)

    print("== integrators over random effects: 10^5 logistic-normal clusters, q = 1, modes included")
    M = 100_000
    eta, y, log_g, derivatives = logistic_clusters(M)
    loop = best_time(lambda: scipy_newton_loop(eta[:1000], y[:1000]), repeat=3, number=1) * M / 1000
    for name, rule, der in (("Laplace()", quadlib.Laplace(), derivatives),
                            ("AdaptiveGaussHermite(10)", quadlib.AdaptiveGaussHermite(10), derivatives),
                            ("AdaptiveGaussHermite(10), differences", quadlib.AdaptiveGaussHermite(10), None)):
        t = best_time(lambda: rule.log_integrals(log_g, M, 1, cov=[[1.5]], derivatives=der), repeat=5, number=1)
        print(f"  {name:40s} {1e3 * t:6.1f} ms")
        if name == "AdaptiveGaussHermite(10)":
            headline("AGQ(10), 10^5 clusters q=1", t, "scipy newton loop", loop, "loop on 10^3, x 100")
    print(f"  per-cluster loop (scipy.optimize.newton + 10-point GH), scaled to 10^5: {1e3 * loop:.0f} ms")

    A, yy, fun = random_walk_poisson()
    ours = best_time(lambda: quadlib.sparse_laplace(fun, np.zeros(len(yy))), repeat=3, number=1)
    theirs = best_time(lambda: dense_laplace(A, yy), repeat=2, number=1)
    pair("sparse_laplace, Poisson random walk Q = 1000", ours, theirs, "dense numpy Newton")
    headline("sparse_laplace, Q=1000", ours, "dense numpy Newton", theirs, "no library peer")
    ours = best_time(nested_laplace_problem, repeat=3)
    theirs = best_time(dense_product_log_marginal, repeat=3)
    pair(f"nested_laplace (log p(y) {nested_laplace_problem().log_marginal_likelihood:.4f}) vs dense 30x60x60 "
         f"product ({dense_product_log_marginal():.4f})", ours, theirs, "dense product rule")
    headline("nested_laplace, 2-group Poisson", ours, "dense GH product", theirs, "no library peer")


# -------------------------------------------------------------------------------------------------------- GLMM
def glmm_section(quick):
    from benchmarks.bench_glmm import CBPP, CBPP_CASES, CBPP_R, _quiet_fit

    from quadlib.glmm import datasets

    print(f"== GLMM: cbpp, {CBPP}")
    data = datasets.load("cbpp")
    peers = {"laplace": "lme4 glmer nAGQ=1", "agq25": "lme4 glmer nAGQ=25", "qmc": "lme4 glmer nAGQ=25",
             "pql": "MASS glmmPQL"}
    for method, (kwargs, packages, call) in CBPP_CASES.items():
        if quick and method == "qmc":
            continue
        t = best_time(lambda: _quiet_fit(CBPP, data, **kwargs), repeat=3 if method == "qmc" else 5, number=1)
        theirs = r_peer(peers[method], packages, CBPP_R, call)
        pair(f"fit(method={method!r})", t, theirs, peers[method])
        headline(f"glmm.fit cbpp {method}", t, peers[method], theirs)
    theirs = r_peer("glmmTMB", ("glmmTMB",), CBPP_R, f"glmmTMB({CBPP}, data = d, family = binomial)")
    t = best_time(lambda: _quiet_fit(CBPP, data), repeat=5, number=1)  # again, beside glmmTMB's run
    pair("fit(method='laplace')", t, theirs, "glmmTMB")
    headline("glmm.fit cbpp laplace", t, "glmmTMB", theirs)
    if not quick:
        from benchmarks._simulate import simulated_binary
        from benchmarks.bench_glmm import _lme4_on_simulated

        frame = simulated_binary(20_000, 10, seed=0)
        t = best_time(lambda: _quiet_fit("y ~ x + (1 | g)", frame), repeat=2, number=1)
        theirs = None
        if USE_R and _rscript.r_available("lme4"):
            theirs = _lme4_on_simulated(20_000, False, "y ~ x + (1 | g)", 1, repeat=1)
        pair("20,000 groups x 10, (1 | g), Laplace", t, theirs, "lme4 glmer")
        headline("glmm.fit 20k x 10 binary laplace", t, "lme4 glmer", theirs, "single R fit")


def lmm_section(quick):
    from benchmarks.bench_lmm import FORMULA, lme4_sleepstudy_seconds, statsmodels_sleepstudy

    from quadlib.glmm import datasets, lmm

    print(f"== LMM: sleepstudy, {FORMULA}")
    data = datasets.load("sleepstudy")
    for reml in (True, False):
        label = "REML" if reml else "ML"
        ours = best_time(lambda: lmm(FORMULA, data, reml=reml), repeat=5)
        sm = best_time(lambda: statsmodels_sleepstudy(data, reml), repeat=5)
        res, ref = lmm(FORMULA, data, reml=reml), statsmodels_sleepstudy(data, reml)
        pair(f"lmm {label} (llf {res.llf:.6f}; statsmodels {ref.llf:.6f})", ours, sm, "statsmodels MixedLM")
        headline(f"glmm.lmm sleepstudy {label}", ours, "statsmodels MixedLM", sm)
        theirs = lme4_sleepstudy_seconds(reml) if USE_R and _rscript.r_available("lme4") else None
        if theirs is None:
            print("  lme4 lmer: skipped (no Rscript/lme4)" if USE_R else "  lme4 lmer: skipped (--no-r)")
        pair(f"lmm {label}", ours, theirs, "lme4 lmer")
        headline(f"glmm.lmm sleepstudy {label}", ours, "lme4 lmer", theirs)


def conditional_section(quick):
    from benchmarks.bench_conditional import R_FITS, _big_stratum

    from quadlib.glmm import conditional_fit, datasets

    print("== conditional_fit against survival::clogit(method = 'exact') (epil: Poisson glm, subject fixed effects)")
    cases = {"infert": (("case ~ spontaneous + induced", datasets.load("infert")), {"group": "stratum"}),
             "epilepsy": (("y ~ V4", datasets.load("epilepsy")), {"group": "subject", "family": "poisson"}),
             "stratum_1000_500": (("y ~ x1 + x2", _big_stratum()), {"group": "s"})}
    for case, (args, kwargs) in cases.items():
        ours = best_time(lambda: conditional_fit(*args, **kwargs), repeat=5)
        peer = "R glm(poisson)" if case == "epilepsy" else "survival clogit"
        theirs = r_peer(peer, ("survival",), *R_FITS[case])
        pair(case, ours, theirs, peer)
        headline(f"conditional_fit {case}", ours, peer, theirs)


def nlmm_section(quick):
    from benchmarks.bench_nlmm import MODELS, PEER, quadlib_nlmm, r_nlmm_seconds

    from quadlib.glmm import datasets

    print("== nlmm against nlme (foce) and lme4::nlmer (laplace)")
    for name in MODELS:
        data = datasets.load(MODELS[name]["args"][1])
        for method in ("foce", "laplace"):
            package, function = PEER[method]
            ours = best_time(lambda: quadlib_nlmm(name, method, data), repeat=3, number=1)
            theirs = r_nlmm_seconds(name, method) if USE_R and _rscript.r_available(package) else None
            res = quadlib_nlmm(name, method, data)
            pair(f"{name} {method} (llf {res.llf:.4f})", ours, theirs, function)
            headline(f"glmm.nlmm {name} {method}", ours, function, theirs)


# ------------------------------------------------------------------------------------------------------ summary
def machine():
    cpu = cpu_name()
    import statsmodels

    versions = _rscript.r_versions() if USE_R else {}
    r_text = ", ".join(f"{k} {v}" for k, v in versions.items()) if versions else \
        ("R: not installed (R peers skipped)" if USE_R else "R: not used (--no-r)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return [f"date {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
            f"machine {platform.platform()}, {cpu}, {os.cpu_count()} cores (1-min load {load:.1f})",
            f"quadlib {quadlib.__version__}, Python {platform.python_version()}, numpy {np.__version__}, "
            f"scipy {scipy.__version__}, mpmath {mpmath.__version__}, statsmodels {statsmodels.__version__}",
            r_text]


def print_headline(info):
    print("\n== headline (ratio = quadlib time / peer time; below 1: quadlib faster; best of N, same run)")
    width = max(len(row[0]) for row in HEADLINE)
    peer_width = max(len(row[2]) for row in HEADLINE)
    print(f"  {'comparison':{width}s}  {'quadlib':>10s}  {'peer':{peer_width}s}  {'peer time':>10s}  {'ratio':>7s}")
    for comparison, ours, peer, theirs, note in HEADLINE:
        ratio = f"{ours / theirs:7.3g}" if theirs else f"{'skipped':>7s}"
        print(f"  {comparison:{width}s}  {fmt(ours):>10s}  {peer:{peer_width}s}  {fmt(theirs):>10s}  {ratio}"
              f"{'  ' + note if note else ''}")
    for line in info:
        print(f"  {line}")


def main(argv=None):
    global USE_R
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer problems and smaller sizes (~3 minutes)")
    parser.add_argument("--no-r", action="store_true", help="skip the R peers even if Rscript is installed")
    args = parser.parse_args(argv)
    USE_R = not args.no_r
    start = time.perf_counter()
    info = machine()
    for line in info:
        print(line)
    for section in (quad_section, tanh_sinh_section, cubature_section, gauss_section, integrators_section,
                    glmm_section, lmm_section, conditional_section, nlmm_section):
        began = time.perf_counter()
        section(args.quick)
        print(f"   ({section.__name__}: {time.perf_counter() - began:.0f} s)")
    print_headline(info)
    print(f"  report ran {time.perf_counter() - start:.0f} s ({'--quick' if args.quick else 'full'})")


USE_R = True

if __name__ == "__main__":
    main()
