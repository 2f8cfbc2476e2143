"""The compiled weighted engine (`_extensions/_adaptive.pyx`: WeightedBatch, integrate_weighted) against closed forms.

QUADPACK's QAWO, QAWF, QAWC and QAWS run as panel kinds of the QAGS state; these tests drive the kernel's entry
points directly (the public `quad(weight=...)` and the 49-case battery are tested in test_adaptive.py and
test_weighted_battery.py). Every expected value is a closed form (scipy.special), never the code under test.
"""
import ctypes
import ctypes.util

import numpy as np
import pytest
import scipy
from scipy import special

import quadlib._adaptive  # noqa: F401  (registers the Kronrod rules with the kernel)
from quadlib._adaptive import _lowlevel
from quadlib._extensions._adaptive import Batch, WeightedBatch, integrate_weighted

COS, SIN, CAUCHY, ALG, ALG_LOGA, ALG_LOGB, ALG_LOG = 1, 2, 3, 4, 5, 6, 7
METHOD = {"gk": 0, "qawo": 1, "qawf": 2, "qawc": 3, "qaws": 4}


def weighted(f, a, b, kind, p0, p1=0.0, *, rtol=1e-10, atol=0.0, vectorized=True, max_nfev=100_000):
    """(integral, error, nfev, n_subdivisions, status, method) of one weighted integral through WeightedBatch."""
    wpar = np.array([[p0, p1, 1.0, 0.0]])
    batch = WeightedBatch(np.array([a], float), np.array([b], float), np.array([kind], dtype=np.intc), wpar, 1,
                          atol, rtol, 200, max_nfev)
    if vectorized:
        batch.run_vectorized(f, ())
    else:
        batch.run_scalar(f, ())
    integral, error, nfev, nsub, status, method = batch.results()
    return integral[0, 0], error[0], int(nfev[0]), int(nsub[0]), int(status[0]), int(method[0])


def assert_honest(out, exact, rtol=1e-10, atol=0.0):
    value, error, _, _, status, _ = out
    assert status == 0, out
    true = abs(value - exact)
    assert true <= error, (value, exact, true, error)
    assert error <= max(atol, rtol * abs(exact)), (error, exact)


def fourier_exp(k, omega):
    """int_0^1 exp(-k x) exp(i omega x) dx."""
    return (np.exp(-k + 1j * omega) - 1.0) / (-k + 1j * omega)


# ---------------------------------------------------------------- QAWO

@pytest.mark.parametrize("omega", [1e-2, 1.0, 10.0, 1e3, 1e6])
@pytest.mark.parametrize("kind", [COS, SIN])
def test_qawo_exp(omega, kind):
    exact = fourier_exp(1.0, omega)
    exact = exact.real if kind == COS else exact.imag
    out = weighted(lambda x: np.exp(-x), 0.0, 1.0, kind, omega)
    assert_honest(out, exact)
    # the Chebyshev panel where omega h > 2, Kronrod on f * w below
    assert out[5] == (METHOD["qawo"] if omega > 4.0 else METHOD["gk"])


def test_qawo_large_omega_nfev():
    """The moments integrate the oscillation: nfev does not grow with omega (the contract: at most 2x)."""
    nfev = {omega: weighted(lambda x: np.exp(-x), 0.0, 1.0, COS, omega)[2] for omega in (10.0, 1e6)}
    assert nfev[1e6] <= 2 * nfev[10.0], nfev


def test_qawo_end_singularities_never_evaluated_at_the_ends():
    """log(x) sin(omega x) and cos(omega x) / sqrt(x): QUADPACK samples the ends (scipy returns NaN / fails);
    the interior Chebyshev nodes never do."""
    seen = []

    def logx(x):
        seen.append(x.copy())
        return np.log(x)

    omega = 10 * np.pi
    out = weighted(logx, 0.0, 1.0, SIN, omega)
    assert_honest(out, -(np.euler_gamma + np.log(omega) - special.sici(omega)[1]) / omega)
    x = np.concatenate(seen)
    assert np.all((x > 0.0) & (x < 1.0))
    out = weighted(np.log, 0.0, 1.0, COS, omega)
    assert_honest(out, -special.sici(omega)[0] / omega)
    out = weighted(lambda x: 1.0 / np.sqrt(x), 0.0, 1.0, COS, 1.0)
    assert_honest(out, np.sqrt(2 * np.pi) * special.fresnel(np.sqrt(2 / np.pi))[1])


def test_qawo_negative_omega():
    exact = fourier_exp(1.0, -30.0)
    assert_honest(weighted(lambda x: np.exp(-x), 0.0, 1.0, COS, -30.0), exact.real)
    assert_honest(weighted(lambda x: np.exp(-x), 0.0, 1.0, SIN, -30.0), exact.imag)


# ---------------------------------------------------------------- QAWC

@pytest.mark.parametrize("c", [0.0, 0.5, 1 - 1e-8, -1 + 1e-6])
def test_qawc_constant(c):
    # (the PV at c = 0 is 0: only an absolute tolerance can be met)
    atol = 1e-12 if c == 0.0 else 0.0
    out = weighted(lambda x: np.ones_like(x), -1.0, 1.0, CAUCHY, c, atol=atol)
    assert_honest(out, np.log((1 - c) / (1 + c)), atol=atol)
    assert out[5] == METHOD["qawc"]


@pytest.mark.parametrize("c", [0.5, 1e-9, 1 - 1e-7])
def test_qawc_exp(c):
    """e^x / (x - c) on [0, 1]: scipy is silently wrong at c = 1e-9 (the PV near an end); f(c) is subtracted."""
    out = weighted(np.exp, 0.0, 1.0, CAUCHY, c)
    assert_honest(out, np.exp(c) * (special.expi(1 - c) - special.expi(-c)))


def test_qawc_quadpack_example():
    out = weighted(lambda x: 1.0 / (5 * x ** 3 + 6), -1.0, 5.0, CAUCHY, 0.0)
    assert_honest(out, np.log(125 / 631) / 18)


def test_qawc_never_evaluates_at_c_except_near_an_end():
    seen = []

    def f(x):
        seen.append(x.copy())
        return np.cos(x)

    c = 0.3
    out = weighted(f, -2.0, 3.0, CAUCHY, c)
    si, ci = special.sici(np.array([3 - c, c + 2]))
    exact = np.cos(c) * (ci[0] - ci[1]) - np.sin(c) * (si[0] - special.sici(-2 - c)[0])
    assert_honest(out, exact)
    x = np.concatenate(seen)
    assert np.all(x != c) and np.all((x > -2.0) & (x < 3.0))
    assert out[2] == x.size  # nfev counts every value asked for


# ---------------------------------------------------------------- QAWS

def beta_parts(alpha, beta):
    b, s = special.beta(alpha + 1, beta + 1), alpha + beta + 2
    return b, special.digamma(alpha + 1) - special.digamma(s), special.digamma(beta + 1) - special.digamma(s), s


@pytest.mark.parametrize("alpha,beta", [(-0.5, -0.5), (-0.999, 0.0), (0.3, -0.999), (2.5, 1.5)])
def test_qaws_alg(alpha, beta):
    b, _, _, s = beta_parts(alpha, beta)
    out = weighted(np.exp, 0.0, 1.0, ALG, alpha, beta)
    assert_honest(out, b * special.hyp1f1(alpha + 1, s, 1.0))
    assert out[5] == METHOD["qaws"]


@pytest.mark.parametrize("alpha,beta", [(-0.5, -0.5), (0.3, 1.5), (-0.9, 0.2)])
def test_qaws_logs(alpha, beta):
    b, pa, pb, s = beta_parts(alpha, beta)
    one = lambda x: np.ones_like(x)  # noqa: E731
    assert_honest(weighted(one, 0.0, 1.0, ALG_LOGA, alpha, beta), b * pa)
    assert_honest(weighted(one, 0.0, 1.0, ALG_LOGB, alpha, beta), b * pb)
    assert_honest(weighted(one, 0.0, 1.0, ALG_LOG, alpha, beta), b * (pa * pb - special.polygamma(1, s)))


def test_qaws_shifted_range():
    """(x + 1)^alpha (2 - x)^beta on [-1, 2] = 3^(alpha + beta + 1) B(alpha + 1, beta + 1)."""
    alpha, beta = -0.5, 0.25
    exact = 3.0 ** (alpha + beta + 1) * special.beta(alpha + 1, beta + 1)
    assert_honest(weighted(lambda x: np.ones_like(x), -1.0, 2.0, ALG, alpha, beta), exact)


def test_qaws_quadpack_example():
    """QUADPACK's DQAWS example: log(x) / (1 + log(x)^2)^2 on [0, 1] with alpha = beta = 0, log(x) weight."""
    out = weighted(lambda x: 1.0 / (1 + np.log(x) ** 2) ** 2, 0.0, 1.0, ALG_LOGA, 0.0, 0.0)
    assert_honest(out, -0.18927518788209)


# ---------------------------------------------------------------- QAWF

@pytest.mark.parametrize("omega", [1.0, 10.0])
def test_qawf_exp_relative_tolerance_only(omega):
    """atol = 0 (scipy requires epsabs > 0 on [a, inf))."""
    out = weighted(lambda x: np.exp(-x), 0.0, np.inf, COS, omega)
    assert_honest(out, 1.0 / (1.0 + omega * omega))
    assert out[5] == METHOD["qawf"]


def test_qawf_slow_decay_and_singular_start():
    out = weighted(lambda x: 1.0 / np.sqrt(x), 0.0, np.inf, SIN, 1.0)
    assert_honest(out, np.sqrt(np.pi / 2))
    out = weighted(lambda x: x / (1 + x * x), 0.0, np.inf, SIN, 1.0)
    assert_honest(out, np.pi / 2 / np.e)
    out = weighted(lambda x: 1.0 / x, 1.0, np.inf, COS, 1.0)
    assert_honest(out, -special.sici(1.0)[1])


@pytest.mark.parametrize("kind", [COS, SIN])
@pytest.mark.parametrize("f", [lambda x: np.ones_like(x), lambda x: x, lambda x: np.sqrt(x)])
def test_qawf_non_decaying_is_not_success(f, kind):
    """Wynn's epsilon would sum the alternating cycle integrals of a divergent integral to a finite value."""
    out = weighted(f, 0.0, np.inf, kind, 1.0, atol=1e-8)
    assert out[4] != 0, out


def test_qawf_nonfinite_integrand():
    out = weighted(lambda x: np.where(x > 20.0, np.nan, np.exp(-x)), 0.0, np.inf, COS, 1.0)
    assert out[4] == 7


# ---------------------------------------------------------------- drivers

def test_drivers_agree_and_count_calls():
    calls = []

    def f(x):
        calls.append(x)
        return np.exp(-x)

    exact = fourier_exp(1.0, 40.0).imag
    scalar = weighted(f, 0.0, 1.0, SIN, 40.0, vectorized=False)
    assert scalar[2] == len(calls)  # one call per point
    vector = weighted(lambda x: np.exp(-x), 0.0, 1.0, SIN, 40.0)
    fast = integrate_weighted(lambda x: np.exp(-x), None, 0.0, 1.0, (), SIN, 40.0, 0.0, 1.0, 0.0, 1e-10, 200,
                              100_000, True)
    assert_honest(scalar, exact)
    assert scalar[:3] == vector[:3] == fast[:3]
    assert integrate_weighted(lambda x: np.array([x, x]), None, 0.0, 1.0, (), SIN, 40.0, 0.0, 1.0, 0.0, 1e-10, 200,
                              100_000, False) is None


def test_batch_each_integral_its_own_weight():
    """Many integrals, each with its own kind and parameter, over args, in one request/receive loop."""
    kinds = np.array([COS, SIN, COS, SIN, CAUCHY, ALG], dtype=np.intc)
    p0 = np.array([1e-2, 10.0, 1e3, 1e6, 0.25, -0.5])
    p1 = np.array([0.0, 0.0, 0.0, 0.0, 0.0, -0.5])
    k = np.arange(1.0, 7.0)
    wpar = np.stack([p0, p1, np.ones(6), np.zeros(6)], axis=1)
    batch = WeightedBatch(np.zeros(6), np.ones(6), kinds, wpar, 1, 0.0, 1e-10, 200, 100_000)
    while True:
        x, counts = batch.request()
        if not x.size:
            break
        batch.receive(np.exp(-np.repeat(k, counts) * x)[:, None])
    integral, error, nfev, _, status, method = batch.results()
    exact = [fourier_exp(k[i], p0[i]).real if kinds[i] == COS else fourier_exp(k[i], p0[i]).imag for i in range(4)]
    exact.append(np.exp(-5 * 0.25) * (special.expi(-5 * 0.75) - special.expi(5 * 0.25)))  # PV e^{-5x}/(x - 1/4)
    exact.append(np.pi * np.exp(-3.0) * special.iv(0, 3.0))  # int e^{-6x} / sqrt(x (1 - x)) dx
    assert np.all(status == 0)
    assert np.all(np.abs(integral[:, 0] - exact) <= error)
    assert list(method) == [0, 1, 1, 1, 3, 4]


@pytest.fixture(scope="module")
def exp_llc():
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.exp.restype, libm.exp.argtypes = ctypes.c_double, [ctypes.c_double]
    return _lowlevel(scipy.LowLevelCallable(libm.exp))


@pytest.mark.parametrize("kind,p0,p1,a,b,exact", [
    (COS, 10.0, 0.0, 0.0, 1.0, fourier_exp(-1.0, 10.0).real),
    (SIN, 1e6, 0.0, 0.0, 1.0, fourier_exp(-1.0, 1e6).imag),
    (CAUCHY, 0.5, 0.0, 0.0, 1.0, np.exp(0.5) * (special.expi(0.5) - special.expi(-0.5))),
    (ALG, -0.5, -0.5, 0.0, 1.0, np.pi * np.exp(0.5) * special.iv(0, 0.5)),
])
def test_lowlevel(exp_llc, kind, p0, p1, a, b, exact):
    function, user_data, signature = exp_llc
    fast = integrate_weighted(None, exp_llc, a, b, (), kind, p0, p1, 1.0, 0.0, 1e-10, 200, 100_000, False)
    assert_honest(fast, exact)
    batch = WeightedBatch(np.array([a]), np.array([b]), np.array([kind], dtype=np.intc),
                          np.array([[p0, p1, 1.0, 0.0]]), 1, 0.0, 1e-10, 200, 100_000)
    batch.run_lowlevel(function, user_data, signature, np.zeros(0))
    integral, error, nfev, nsub, status, method = batch.results()
    assert (integral[0, 0], error[0], nfev[0], status[0]) == fast[:3] + (fast[4],)


def test_lowlevel_reflect_sign(exp_llc):
    """wpar[:, 2] = -1: f(-x) (the Python layer maps (-inf, b] to [-b, inf))."""
    out = integrate_weighted(None, exp_llc, 0.0, np.inf, (), COS, 2.0, 0.0, -1.0, 0.0, 1e-10, 200, 100_000, False)
    assert_honest(out, 1.0 / 5.0)


def test_max_nfev_is_a_failure():
    out = weighted(lambda x: 1.0 / np.sqrt(x), 0.0, 1.0, COS, 1e6, max_nfev=60)
    assert out[4] == 6 and out[2] <= 60


def test_shared_components_in_blocks():
    """m = 600 components (three blocks of the contiguous panel), on a finite and an infinite range."""
    k = np.linspace(1.0, 50.0, 600)
    for cuts, mapping, exact in (([0.0, 1.0], 0, (1 - np.exp(-k)) / k), ([0.0, 1.0], 1, 1.0 / k)):
        batch = Batch(np.array([cuts]), np.array([2], dtype=np.intc), np.array([mapping], dtype=np.intc),
                      np.zeros(1), k.size, 0.0, 1e-12, 200, 100_000, *quadlib._adaptive._kronrod_arrays("gk21"))
        while True:
            x, _ = batch.request()
            if not x.size:
                break
            batch.receive(np.exp(-np.multiply.outer(x, k)))
        integral, error, _, _, status, _ = batch.results()
        assert status[0] == 0
        assert np.max(np.abs(integral[0] - exact)) <= error[0] <= 1e-12 * np.max(np.abs(exact))


def test_run_components_fills_one_buffer():
    """Batch.run_components: f per point (as scipy's quad_vec) or on chunks of points, m = 300 components."""
    k = np.linspace(1.0, 30.0, 300)
    exact = (1 - np.exp(-2 * k)) / k

    def batch():
        return Batch(np.array([[0.0, 2.0]]), np.array([2], dtype=np.intc), np.array([0], dtype=np.intc), np.zeros(1),
                     k.size, 0.0, 1e-12, 200, 100_000, *quadlib._adaptive._kronrod_arrays("gk21"))

    results = []
    for vectorized, f, chunk in ((False, lambda x: np.exp(-k * x), 0),
                                 (True, lambda x: np.exp(-np.multiply.outer(x, k)), 0),
                                 (True, lambda x: np.exp(-np.multiply.outer(x, k)), 5)):
        b = batch()
        assert b.run_components(f, (), vectorized, chunk) == 0
        results.append(b.results())
    for integral, error, nfev, _, status, _ in results:
        assert status[0] == 0 and np.max(np.abs(integral[0] - exact)) <= error[0] <= 1e-12 * exact.max()
        assert np.array_equal(integral, results[0][0]) and nfev[0] == results[0][2][0]
    assert batch().run_components(lambda x: (1 + 1j) * np.exp(-k * x), (), False) == -1
    calls = []

    def turns_bad(x):
        calls.append(x)
        return np.exp(-k * x) if len(calls) < 30 else np.ones(3)

    with pytest.raises(ValueError, match="`f` must return 300 real values"):
        batch().run_components(turns_bad, (), False)


def test_qawf_aligned_cycles_of_a_constant_are_not_success():
    """f = 1 with cos from 0: every cycle integrates to 0 exactly, but int |f w| per cycle does not fall."""
    out = weighted(lambda x: np.ones_like(x), 0.0, np.inf, COS, 1.0, atol=1e-8)
    assert out[4] != 0, out


# ---------------------------------------------------------------- issue 21 review: silent failures

def _quad(*args, **kwargs):
    import warnings

    import quadlib
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quadlib.quad(*args, **kwargs)


@pytest.mark.parametrize("omega", [1e-6, 1e-8, 1e-10])
@pytest.mark.parametrize("kind", ["cos", "sin"])
def test_qawf_small_omega_resolves_f_near_the_start(omega, kind):
    """The first cycle is ~pi / omega long, its nodes all saw e^-x = 0: the result was 0 with success."""
    exact = (1.0 if kind == "cos" else omega) / (1.0 + omega ** 2)
    out = _quad(lambda x: np.exp(-x), 0, np.inf, weight=kind, wvar=omega)
    assert out.success, out
    assert abs(out.integral - exact) <= max(out.error, 1e-8 * exact), (out, exact)


@pytest.mark.parametrize("kind", ["cos", "sin"])
def test_qawf_tiny_omega_is_never_a_silent_zero(kind):
    out = _quad(lambda x: np.exp(-x), 0, np.inf, weight=kind, wvar=1e-300)
    exact = 1.0 if kind == "cos" else 1e-300
    assert not out.success or abs(out.integral - exact) <= max(out.error, 1e-8 * exact), out


@pytest.mark.parametrize("b", [1e4, 1e6])
@pytest.mark.parametrize("kind", ["cos", "sin"])
def test_qawo_peak_at_an_end_of_a_long_range(b, kind):
    """e^-x cos(x) on [0, b]: the interior Chebyshev nodes never come closer to 0 than ~0.002 h (was 0, success)."""
    exact = (np.exp(complex(-1.0, 1.0) * b) - 1.0) / complex(-1.0, 1.0)
    exact = exact.real if kind == "cos" else exact.imag
    out = _quad(lambda x: np.exp(-x), 0, b, weight=kind, wvar=1.0)
    assert out.success, out
    assert abs(out.integral - exact) <= max(out.error, 1e-8 * abs(exact)), (out, exact)
    # the peak at the upper end (reflected)
    out = _quad(lambda x: np.exp(x - b), 0, b, weight="cos", wvar=1.0)
    exact = ((np.exp(complex(1.0, 1.0) * b - b) - np.exp(-b)) / complex(1.0, 1.0)).real
    assert out.success, out
    assert abs(out.integral - exact) <= max(out.error, 1e-8 * abs(exact)), (out, exact)


def test_qawo_random_decays_on_long_ranges():
    rng = np.random.default_rng(21)
    for _ in range(40):
        k, omega, b = 10 ** rng.uniform(-1, 2), 10 ** rng.uniform(-1, 2), 10 ** rng.uniform(3, 5)
        z = complex(-k, omega)
        exact = ((np.exp(z * b) - 1.0) / z).real
        out = _quad(lambda x: np.exp(-k * x), 0, b, weight="cos", wvar=omega)
        if out.success:
            assert abs(out.integral - exact) <= max(out.error, 1e-8 * abs(exact)), (k, omega, b, out, exact)


def test_qawo_zero_integrand_still_converges():
    out = _quad(lambda x: 0.0 * x, 0, 1e6, weight="cos", wvar=1.0)
    assert out.success and out.integral == 0.0 and out.error == 0.0, out


def test_error_never_negative():
    """The running errsum cancelled below 0 and was reported (QAWO and QAWC)."""
    k, b, omega = 22.3267162716621, 674.4739851088557, 1.3649406711990366
    z = complex(-k, omega)
    exact = ((np.exp(z * b) - 1.0) / z).real
    out = _quad(lambda x: np.exp(-k * x), 0, b, weight="cos", wvar=omega, rtol=2.3734642486672904e-12)
    assert out.success and out.error >= 0.0, out
    assert abs(out.integral - exact) <= 10 * 2.4e-12 * abs(exact), (out, exact)
    k, b = 9.098052545841291, 22.75333848812704
    c = b / 3
    exact = np.exp(-k * c) * (special.expi(-k * (b - c)) - special.expi(k * c))
    out = _quad(lambda x: np.exp(-k * x), 0, b, weight="cauchy", wvar=c, rtol=1.75e-13)
    assert out.success and out.error >= 0.0, out
    assert abs(out.integral - exact) <= 10 * 1.75e-13 * abs(exact), (out, exact)


def test_error_not_below_the_rounding_level():
    omega = 65963.4486197097
    exact = -(np.euler_gamma + np.log(omega) - special.sici(omega)[1]) / omega
    out = _quad(np.log, 0, 1, weight="sin", wvar=omega, rtol=1.108237561393049e-10)
    assert out.success, out
    assert abs(out.integral - exact) <= out.error, (out.integral - exact, out.error)
