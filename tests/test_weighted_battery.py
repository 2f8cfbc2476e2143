"""Weighted quad (issue 21): the contract's battery against closed forms with scipy in the same run, the
large-omega evaluation count, every mode (scalar, vectorized, batched, LowLevelCallable), the mpmath twins of
quadlib.reference checked two ways, the compiled engine against its pure-Python twin, and quad_vec."""
import ctypes
import ctypes.util
import importlib.util
import pathlib
import warnings

import mpmath
import numpy as np
import pytest
import scipy
import scipy.integrate

from quadlib import IntegrationWarning, _adaptive, quad, quad_vec, reference

_spec = importlib.util.spec_from_file_location(
    "weighted_battery", pathlib.Path(__file__).parent / "reference" / "weighted_battery.py")
battery = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(battery)

RTOL = 1e-10
CASES = battery.cases()
EXACT = {case[0]: float(case[-1]()) for case in CASES}


def _quadlib_row(case, rtol=RTOL):
    name, f, _, a, b, weight, wvar, _ = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        res = quad(lambda x: np.asarray(f(x), dtype=float) * np.ones_like(x), a, b, weight=weight, wvar=wvar,
                   rtol=rtol, vectorized=True)
    return res, abs(res.integral - EXACT[name])


@pytest.fixture(params=["compiled", "twin"])
def engine(request):
    """quad on the compiled WeightedBatch (the default), then on its pure-Python twin."""
    if request.param == "compiled" and not hasattr(_adaptive._kernel, "WeightedBatch"):
        pytest.skip("the compiled WeightedBatch is not built")
    _adaptive._WEIGHTED_ENGINE = _adaptive._WeightedTwin if request.param == "twin" else None
    yield request.param
    _adaptive._WEIGHTED_ENGINE = None


def test_battery_agreement_no_silent_failures_and_scipy_in_the_same_run(engine):
    # the contract: >= 40 weighted integrals (omega 1e-2..1e6, c near and far from the ends, alpha and beta near
    # -1); every success has its true error below its estimate and below the tolerance (atol = 0: relative only,
    # QAWF included); scipy on the same battery, its silent failures and nfev counted; median nfev ratio <= 1
    assert len(CASES) >= 40
    omegas = [c[6] for c in CASES if c[5] in ("cos", "sin")]
    assert min(omegas) <= 1e-2 and max(omegas) >= 1e6
    ratios, failures, silent = [], [], []
    scipy_rows = {row[0]: row for row in battery.run_scipy(RTOL)}
    for case in CASES:
        name = case[0]
        res, true = _quadlib_row(case)
        assert isinstance(res.extra["method"], str) and res.extra["method"] in ("QAGS", "QAWO", "QAWF", "QAWC",
                                                                                 "QAWS")
        if res.success:
            if not (true <= res.error and true <= RTOL * abs(EXACT[name])):
                silent.append((name, true, res.error))
        else:
            failures.append(name)
        ratios.append(res.nfev / scipy_rows[name][5])
    assert silent == []
    assert len(failures) <= 2, failures  # honest failures only (the PV of 0 at rtol only is one)
    scipy_silent = sum(row[7] for row in scipy_rows.values())
    assert scipy_silent >= 1  # scipy: the PV at c = 1e-9 from an end (estimate 0, true error 2.7e-8)
    assert np.median(ratios) <= 1.0


def test_silent_failures_are_impossible_at_looser_tolerances(engine):
    # the same battery at rtol 1e-6 and 1e-3: a claimed success is still within its estimate and the tolerance
    for rtol in (1e-6, 1e-3):
        for case in CASES:
            res, true = _quadlib_row(case, rtol)
            if res.success:
                assert true <= res.error and true <= rtol * abs(EXACT[case[0]]), case[0]


SMOOTH = [(lambda x: np.exp(-x), lambda x: mpmath.exp(-x)), (lambda x: 1 / (1 + x * x), lambda x: 1 / (1 + x * x)),
          (lambda x: np.cos(x) + x ** 3, lambda x: mpmath.cos(x) + x ** 3)]


@pytest.mark.parametrize("weight", ["cos", "sin"])
@pytest.mark.parametrize("pair", SMOOTH)
def test_large_omega_does_not_sample_every_period(pair, weight):
    # for a smooth f: nfev at omega = 1e6 is at most twice nfev at omega = 10
    f, f_mp = pair
    low = quad(f, 0.0, 1.0, weight=weight, wvar=10.0, vectorized=True)
    high = quad(f, 0.0, 1.0, weight=weight, wvar=1e6, vectorized=True)
    assert low.success and high.success
    assert high.nfev <= 2 * low.nfev
    with mpmath.workdps(30):
        exact = reference.quad_weighted(f_mp, 0, 1, weight, 10, dps=25)
    assert abs(low.integral - float(exact)) <= low.error


def test_omega_decades_nfev_flat():
    by_omega = {}
    for case in CASES:
        if case[0].startswith("exp(-x)") and case[4] == 1.0:
            res, _ = _quadlib_row(case)
            by_omega.setdefault(case[6], []).append(res.nfev)
    assert max(by_omega[1e6]) <= 2 * max(by_omega[10.0])
    assert all(max(v) <= 25 for w, v in by_omega.items() if w >= 10)


def _libm(name):
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    fn = getattr(libm, name)
    fn.restype, fn.argtypes = ctypes.c_double, [ctypes.c_double]
    return fn


@pytest.mark.parametrize("weight, wvar, a, b", [
    ("cos", 10.0, 0.0, 1.0), ("sin", 1e3, 0.0, 2.0), ("cos", 1.0, 0.0, np.inf), ("sin", 2.0, -np.inf, 0.0),
    ("cauchy", 0.3, -1.0, 1.0), ("cauchy", 1e-7, 0.0, 1.0), ("alg", (-0.5, 0.3), 0.0, 1.0),
    ("alg-log", (-0.9, -0.2), -1.0, 2.0)])
def test_modes_agree(weight, wvar, a, b):
    # scalar, vectorized, LowLevelCallable (libm exp or exp(-x) on the half-lines) are the same algorithm
    decaying = np.isinf(a) or np.isinf(b)
    f = (lambda x: np.exp(-np.abs(x))) if decaying else np.exp
    scalar = quad(lambda x: float(f(x)), a, b, weight=weight, wvar=wvar)
    vector = quad(f, a, b, weight=weight, wvar=wvar, vectorized=True)
    assert scalar.success and vector.success
    assert scalar.integral == vector.integral and scalar.nfev == vector.nfev
    assert scalar.extra["method"] == vector.extra["method"]
    if not decaying:
        llc = quad(scipy.LowLevelCallable(_libm("exp")), a, b, weight=weight, wvar=wvar)
        assert llc.integral == pytest.approx(scalar.integral, rel=1e-14, abs=1e-300) and llc.nfev == scalar.nfev
    f_mp = (lambda x: mpmath.exp(-abs(x))) if decaying else mpmath.exp
    with mpmath.workdps(30):
        ref = float(reference.quad_weighted(f_mp, mpmath.mpf(min(a, b)), mpmath.mpf(max(a, b)), weight, wvar, dps=25))
    assert abs(scalar.integral - ref) <= scalar.error


def test_half_lines_reflection_and_signs():
    # (-inf, b] is reflected onto [-b, inf): closed forms int_{-inf}^0 e^x cos/sin(w x) = 1/(1+w^2), -w/(1+w^2)
    for w in (0.5, 3.0):
        c = quad(np.exp, -np.inf, 0.0, weight="cos", wvar=w, vectorized=True, atol=1e-13)
        s = quad(np.exp, -np.inf, 0.0, weight="sin", wvar=w, vectorized=True, atol=1e-13)
        assert abs(c.integral - 1 / (1 + w * w)) <= c.error and abs(s.integral + w / (1 + w * w)) <= s.error
        # a negative omega: cos is even, sin odd; reversed limits change the sign
        neg = quad(np.exp, -np.inf, 0.0, weight="sin", wvar=-w, vectorized=True, atol=1e-13)
        assert neg.integral == pytest.approx(-s.integral, rel=1e-13)
        rev = quad(np.exp, 0.0, -np.inf, weight="cos", wvar=w, vectorized=True, atol=1e-13)
        assert rev.integral == pytest.approx(-c.integral, rel=1e-13)
    pv = quad(lambda x: 1.0, 1.0, -1.0, weight="cauchy", wvar=0.5)
    assert pv.integral == pytest.approx(-np.log(1 / 3), rel=1e-13)


def test_omega_zero_is_reduced_as_documented():
    res = quad(np.exp, 0.0, 1.0, weight="cos", wvar=0.0)
    assert res.success and res.extra["method"] == "QAGS" and abs(res.integral - (np.e - 1)) < 1e-14
    res = quad(np.exp, 0.0, 1.0, weight="sin", wvar=0.0)
    assert res.success and res.integral == 0.0 and res.nfev == 0 and res.extra["method"] == "zero"
    res = quad(lambda x: np.exp(-x), 0.0, np.inf, weight="cos", wvar=0.0)
    assert res.success and abs(res.integral - 1.0) < 1e-13


def test_batch_over_args_and_wvar_equals_one_by_one():
    k = np.array([0.5, 1.0, 2.0, 4.0])
    omega = np.array([0.0, 10.0, 1e3, 1e6])
    batch = quad(lambda x, k: np.exp(-k * x), 0.0, 1.0, args=(k,), weight="sin", wvar=omega, vectorized=True)
    calls = []

    def f(x, k):
        calls.append(x.size)
        return np.exp(-k * x)
    counted = quad(f, 0.0, 1.0, args=(k,), weight="cos", wvar=omega, vectorized=True)
    assert batch.integral.shape == (4,) and counted.success.all()
    assert len(calls) < sum(1 for n in counted.nfev if n)  + 3  # one call per round, not per integral
    for i in range(4):
        one = quad(lambda x: np.exp(-k[i] * x), 0.0, 1.0, weight="sin", wvar=omega[i], vectorized=True)
        assert batch.integral[i] == one.integral and batch.nfev[i] == one.nfev
        with mpmath.workdps(30):
            s = mpmath.mpc(-k[i], omega[i])
            z = complex((mpmath.exp(s) - 1) / s)
        assert abs(batch.integral[i] - z.imag) <= max(batch.error[i], 1e-300)
        assert abs(counted.integral[i] - z.real) <= counted.error[i]
    assert list(batch.extra["method"]) == ["zero", "QAWO", "QAWO", "QAWO"]
    assert list(counted.extra["method"]) == ["QAGS", "QAWO", "QAWO", "QAWO"]  # cos(0 x) = 1: unweighted
    alg = quad(np.exp, 0.0, 1.0, weight="alg", wvar=np.array([[-0.5, -0.5], [-0.999, 0.0]]), vectorized=True)
    for i, (al, be) in enumerate([(-0.5, -0.5), (-0.999, 0.0)]):
        exact = mpmath.beta(al + 1, be + 1) * mpmath.hyp1f1(al + 1, al + be + 2, 1)
        assert abs(alg.integral[i] - float(exact)) <= alg.error[i]


def test_twin_and_compiled_engine_agree():
    compiled = getattr(_adaptive._kernel, "WeightedBatch", None)
    if compiled is None:
        pytest.skip("the compiled WeightedBatch is not built yet")
    rng = np.random.default_rng(21)
    for weight in ("cos", "sin", "cauchy", "alg", "alg-loga", "alg-logb", "alg-log"):
        for _ in range(5):
            k = rng.uniform(0.1, 3)
            b = 1.0 if weight != "cos" or rng.random() < 0.5 else np.inf
            wvar = {"cauchy": rng.uniform(0.05, 0.95)}.get(weight, 10 ** rng.uniform(-1, 5))
            if weight.startswith("alg"):
                wvar = tuple(rng.uniform(-0.99, 1.0, 2))
            results = []
            for engine in (compiled, _adaptive._WeightedTwin):
                _adaptive._WEIGHTED_ENGINE = engine
                try:
                    results.append(quad(lambda x: np.exp(-k * x), 0.0, b, weight=weight, wvar=wvar, vectorized=True))
                finally:
                    _adaptive._WEIGHTED_ENGINE = None
            fast, slow = results
            assert fast.extra["method"] == slow.extra["method"] or "QAGS" in (fast.extra["method"],
                                                                             slow.extra["method"])
            if fast.success and slow.success:
                assert abs(fast.integral - slow.integral) <= fast.error + slow.error


def _random_draws(seed, count):
    """(label, thunk running quad, exact value, rtol): exp(-k x) cos/sin(w x) on [0, b] (w 1e-2..1e6), QAWF
    exp(-k x) cos/sin, PV exp(k x) / (x - c) with c near and far from the ends, exp(k x) x^al (1-x)^be."""
    rng = np.random.default_rng(seed)
    draws = []
    for draw in range(count):
        family, rtol, k = draw % 4, 10.0 ** rng.uniform(-12, -4), rng.uniform(0.1, 5)
        with mpmath.workdps(30):
            if family == 0:
                w, b, weight = 10 ** rng.uniform(-2, 6), rng.uniform(0.1, 5), str(rng.choice(["cos", "sin"]))
                s = mpmath.mpc(-k, w)
                z = (mpmath.exp(s * mpmath.mpf(b)) - 1) / s
                exact = float(z.real if weight == "cos" else z.imag)
                run = (lambda k=k, b=b, w=w, weight=weight, rtol=rtol:
                       quad(lambda x: np.exp(-k * x), 0.0, b, weight=weight, wvar=w, rtol=rtol, vectorized=True))
            elif family == 1:
                w, weight = 10 ** rng.uniform(-1, 3), str(rng.choice(["cos", "sin"]))
                exact = float((k if weight == "cos" else w) / (mpmath.mpf(k) ** 2 + mpmath.mpf(w) ** 2))
                run = (lambda k=k, w=w, weight=weight, rtol=rtol:
                       quad(lambda x: np.exp(-k * x), 0.0, np.inf, weight=weight, wvar=w, rtol=rtol, vectorized=True))
            elif family == 2:
                c = float(rng.choice([rng.uniform(0.01, 0.99), 10 ** rng.uniform(-12, -3),
                                      1 - 10 ** rng.uniform(-12, -3)]))
                C = mpmath.mpf(c)
                exact = float(mpmath.exp(k * C) * (mpmath.ei(k * (1 - C)) - mpmath.ei(-k * C)))
                run = (lambda k=k, c=c, rtol=rtol:
                       quad(lambda x: np.exp(k * x), 0.0, 1.0, weight="cauchy", wvar=c, rtol=rtol, vectorized=True))
            else:
                al, be = rng.uniform(-0.999, 2, 2)
                exact = float(mpmath.beta(al + 1, be + 1) * mpmath.hyp1f1(al + 1, al + be + 2, k))
                run = (lambda k=k, al=al, be=be, rtol=rtol:
                       quad(lambda x: np.exp(k * x), 0.0, 1.0, weight="alg", wvar=(al, be), rtol=rtol, vectorized=True))
        draws.append((f"draw {draw} family {family}", run, exact, rtol))
    return draws


def _silent(draws):
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        for label, run, exact, rtol in draws:
            res = run()
            true = abs(res.integral - exact)
            if res.success and (true > res.error or true > rtol * abs(exact)):
                found.append((label, true, res.error))
    return found


def test_random_draws_have_no_silent_failures(engine):
    # fresh draws of the four families, tolerances 1e-12..1e-4 (down to the rounding level)
    assert _silent(_random_draws(2100, 40)) == []


@pytest.mark.slow
def test_many_random_draws_have_no_silent_failures(engine):
    assert _silent(_random_draws(2101, 400)) == []


# --- the mpmath twins, each checked two ways: closed forms, and a second construction --------------------------

_QUICK_REFERENCE = ["exp(-x)cos(10x) [0,1]", "log(x)sin(31.4159x) [0,1]", "cos(1x)/(1+x^2) [0,inf)",
                    "sin(1x)/sqrt(x) [0,inf)", "sin(100x)/x [1,inf)", "PV e^x/(x-1e-09) [0,1]",
                    "PV cos(x)/(x-2.999) [-2,3]", "e^x x^-0.999(1-x)^0.0", "x^-.5(1-x)^-.5 log x log(1-x)",
                    "(x+1)^-0.5(2-x)^0.5 log(x+1) [-1,2]"]


def _reference_error(case, dps=30):
    name, _, fm, a, b, weight, wvar, exact = case
    with mpmath.workdps(40):
        value = reference.quad_weighted(fm, a, mpmath.inf if b == np.inf else b, weight, wvar, dps=dps)
        return abs(value - exact()) / (abs(exact()) or 1)  # relative; absolute for the PV of 1/x, which is 0


@pytest.mark.parametrize("name", _QUICK_REFERENCE)
def test_reference_twins_match_closed_forms(name):
    case = next(c for c in CASES if c[0] == name)
    assert _reference_error(case) < 1e-25


@pytest.mark.slow
def test_reference_twins_match_closed_forms_on_the_whole_battery():
    for case in CASES:
        if case[5] in ("cos", "sin") and case[4] != np.inf and case[6] * (case[4] - case[3]) > 2000:
            continue  # beyond reference.MAX_PERIODS: the closed form is the reference there
        assert _reference_error(case) < 1e-25, case[0]


def test_reference_twins_match_a_second_construction():
    with mpmath.workdps(40):
        # QAWS: Gauss-Jacobi (reference.gauss_jacobi, exact for polynomials) against the substitution, alpha -> -1
        for alpha, beta in ((-0.999, 0.5), (0.3, -0.99)):
            x, w = reference.gauss_jacobi(6, beta, alpha, dps=40)  # weight (1 - x)^beta (1 + x)^alpha
            poly = lambda t: 1 + 2 * t - t ** 3 + t ** 5  # noqa: E731
            quadrature = mpmath.fsum(wi * poly(xi) for xi, wi in zip(x, w))
            twin = reference.quad_weighted(poly, -1, 1, "alg", (alpha, beta), dps=35)
            assert abs(twin - quadrature) < mpmath.mpf(10) ** -30 * abs(quadrature)
        # the log weight is d/dalpha of the plain one
        h = mpmath.mpf(10) ** -12
        plain = lambda al: reference.quad_weighted(mpmath.exp, 0, 1, "alg", (al, 0.25), dps=35)  # noqa: E731
        derivative = (plain(-0.5 + h) - plain(-0.5 - h)) / (2 * h)
        logged = reference.quad_weighted(mpmath.exp, 0, 1, "alg-loga", (-0.5, 0.25), dps=35)
        assert abs(derivative - logged) < mpmath.mpf(10) ** -20
        # PV: subtraction against the symmetric excision int_0^r (f(c + t) - f(c - t)) / t dt + the rest
        c, r = mpmath.mpf("0.3"), mpmath.mpf("0.3")
        symmetric = (mpmath.quad(lambda t: (mpmath.exp(c + t) - mpmath.exp(c - t)) / t, [0, r])
                     + mpmath.quad(lambda x: mpmath.exp(x) / (x - c), [c + r, 1]))
        assert abs(reference.quad_weighted(mpmath.exp, 0, 1, "cauchy", c, dps=35) - symmetric) < mpmath.mpf(10) ** -30
        # QAWF: the integration-by-parts tail against mpmath.quadosc (fine for an exponentially decaying f)
        osc = mpmath.quadosc(lambda x: mpmath.exp(-x) / (1 + x) * mpmath.sin(3 * x), [0, mpmath.inf], omega=3)
        twin = reference.quad_weighted(lambda x: mpmath.exp(-x) / (1 + x), 0, mpmath.inf, "sin", 3, dps=35)
        assert abs(twin - osc) < mpmath.mpf(10) ** -25
        # QAWO: period by period against one tanh-sinh call at a small omega
        direct = mpmath.quad(lambda x: mpmath.log(x) * mpmath.cos(2 * x), [0, 1])
        assert abs(reference.quad_weighted(mpmath.log, 0, 1, "cos", 2, dps=35) - direct) < mpmath.mpf(10) ** -30


def test_reference_input_validation():
    with pytest.raises(ValueError, match="`weight`"):
        reference.quad_weighted(mpmath.exp, 0, 1, "jacobi", 1)
    with pytest.raises(ValueError, match="`wvar`"):
        reference.quad_weighted(mpmath.exp, 0, 1, "cauchy", 1)
    with pytest.raises(ValueError, match="`wvar`"):
        reference.quad_weighted(mpmath.exp, 0, 1, "alg", (-1, 0))
    with pytest.raises(ValueError, match="`wvar`"):
        reference.quad_weighted(mpmath.exp, 0, 1, "cos", 1e7)
    with pytest.raises(ValueError, match="`a`"):
        reference.quad_weighted(mpmath.exp, 1, 0, "cos", 1)
    with pytest.raises(ValueError, match="`a` and `b`"):
        reference.quad_weighted(mpmath.exp, 0, mpmath.inf, "alg", (0, 0))


# --- quad_vec and shared=True ----------------------------------------------------------------------------------

def test_quad_vec_matches_closed_forms_and_scipy():
    k = np.linspace(0.5, 20, 50)
    exact = (1 - np.exp(-k)) / k
    for norm in ("2", "max"):
        res = quad_vec(lambda x: np.exp(-k * x), 0.0, 1.0, rtol=1e-10, norm=norm)
        ref = scipy.integrate.quad_vec(lambda x: np.exp(-k * x), 0.0, 1.0, epsrel=1e-10, norm=norm)
        assert res.success and res.integral.shape == (50,)
        true = np.linalg.norm(res.integral - exact, ord=2 if norm == "2" else np.inf)
        assert true <= res.error <= 1e-10 * np.linalg.norm(exact, ord=2 if norm == "2" else np.inf)
        assert np.allclose(res.integral, ref[0], rtol=1e-9, atol=0)
    matrix = quad_vec(lambda x: np.outer([1.0, 2.0], [x, x * x]), 0.0, 1.0)
    assert matrix.integral.shape == (2, 2) and np.allclose(matrix.integral, [[0.5, 1 / 3], [1.0, 2 / 3]])
    tail = quad_vec(lambda x: np.exp(-k * x), 0.0, np.inf, rtol=1e-10)
    assert tail.success and np.allclose(tail.integral, 1 / k, rtol=1e-9)


def test_shared_subdivision_batch():
    k = np.linspace(0.5, 20, 200)
    shared = quad(lambda x, k: np.exp(-k * x), 0.0, 1.0, args=(k,), shared=True, vectorized=True, rtol=1e-12)
    separate = quad(lambda x, k: np.exp(-k * x), 0.0, 1.0, args=(k,), vectorized=True, rtol=1e-12)
    assert shared.success.all() and shared.extra["shared"]
    assert np.all(np.abs(shared.integral - (1 - np.exp(-k)) / k) <= shared.error)
    assert shared.nfev[0] < separate.nfev.sum() / 20  # one subdivision for all
    scalar = quad(lambda x, k: np.exp(-k * x), 0.0, 1.0, args=(k,), shared=True, rtol=1e-12)
    assert np.array_equal(scalar.integral, shared.integral)


def test_lowlevel_callable_batch_over_args_and_wvar():
    # a LowLevelCallable double (int, double *) with its parameter packed after x, batched over args and omega
    proto = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_int, ctypes.POINTER(ctypes.c_double))
    packed = proto(lambda n, xx: np.exp(-xx[1] * xx[0]))
    llc = scipy.LowLevelCallable(packed)
    k, omega = np.array([1.0, 2.0, 0.5]), np.array([10.0, 1e3, 1e5])
    res = quad(llc, 0.0, 1.0, args=(k,), weight="sin", wvar=omega)
    with mpmath.workdps(30):
        exact = np.array([float(((mpmath.exp(mpmath.mpc(-a, w)) - 1) / mpmath.mpc(-a, w)).imag)
                          for a, w in zip(k, omega)])
    assert res.success.all() and np.all(np.abs(res.integral - exact) <= res.error)
    assert list(res.extra["method"]) == ["QAWO"] * 3


def test_cauchy_with_breakpoints():
    # QUADPACK's PV int_{-1}^{5} 1 / (x (5 x^3 + 6)) dx = ln(125 / 631) / 18 with breakpoints on either side of c
    with mpmath.workdps(30):
        exact = float(mpmath.log(mpmath.mpf(125) / 631) / 18)
    for points in ([2.0], [-0.5, 3.0], [0.5]):
        res = quad(lambda x: 1 / (5 * x ** 3 + 6), -1.0, 5.0, weight="cauchy", wvar=0.0, points=points)
        assert res.success and res.extra["method"] == "QAWC"
        assert abs(res.integral - exact) <= res.error <= 1e-10 * abs(exact)


def test_reference_refuses_divergent_fourier_integrals():
    # int_0^inf sin x dx and int_0^inf x cos x dx diverge (were returned as their Abel sums 1 and -1)
    for f, weight in ((lambda x: 1, "sin"), (lambda x: x, "cos"), (lambda x: mpmath.sin(x) ** 2, "cos")):
        with pytest.raises(ValueError, match="`f` does not decay on"):
            reference.quad_weighted(f, 0, mpmath.inf, weight, 1, error=True)
    # a slow but genuine decay still works: int_0^inf sin(x) / sqrt(x) dx = sqrt(pi / 2)
    value = reference.quad_weighted(lambda x: 1 / mpmath.sqrt(x), 0, mpmath.inf, "sin", 1, dps=20)
    assert abs(value - mpmath.sqrt(mpmath.pi / 2)) < mpmath.mpf(10) ** -15


@pytest.mark.parametrize("wvar", [None, "1", True])
def test_reference_wvar_must_be_a_number(wvar):
    for weight in ("cos", "cauchy"):
        with pytest.raises(TypeError, match="`wvar` must be a real number"):
            reference.quad_weighted(lambda x: 1, 0, 1, weight, wvar)
