"""The problem battery (quadlib/benchmark/_problems.py): its data, its integrands, and its exact values.

Every exact value is checked three ways: the stored decimal string against the closed form (mpmath,
30 digits), and, in the slow test, the closed form against an independent mpmath.quad of an mpmath twin
of the integrand written here, split at the integrand's difficulties. The twins are also compared with
the double-precision integrands point by point, so the closed form, the twin and the double integrand
all describe the same integral.
"""
import warnings

import mpmath
import numpy as np
import pytest

from quadlib.benchmark import TAGS, Problem
from quadlib.benchmark._problems import BATTERY, by_name, exact_decimal, exact_mp

NAMES = [p.name for p in BATTERY]
EPS = np.finfo(float).eps

mpf = mpmath.mpf
inf = mpmath.inf


def _sech(u):
    return 1 / mpmath.cosh(u)


def _lin(a, b, n):
    return [a + (b - a) * mpf(k) / n for k in range(n + 1)]


def _graded(b):
    """Breakpoints 0 < b*1e-300 < b*1e-295 < ... < b*1e-5 < b: mpmath's tanh-sinh puts no node closer
    to an endpoint than about 10**-dps of the piece, which loses the mass of an algebraic singularity
    (10*delta**0.1 for x**-0.9); pieces shrinking geometrically toward 0 recover it."""
    return [mpf(0)] + [b * mpf(10) ** -k for k in range(300, 0, -5)] + [b]


# Singularities at a nonzero endpoint cannot be graded toward at 30 digits (1 - 1e-40 rounds to 1):
# these twins are integrated at 80 digits, which gets the nodes within about 1e-85 of the endpoint.
HIGH_PRECISION = {"bjl07", "quadpack_abs_power", "quadpack_jacobi_pole", "quadpack_log_power",
                  "quadpack_cos_jacobi"}


# name -> (integrand in mpmath, breakpoints from a to b as exact mathematical values, integration).
# The breakpoints are built at the working precision, hence the lambdas. "quad" is mpmath.quad with
# tanh-sinh on every piece; "osc" is mpmath.quadosc with angular frequency 1.
TWINS = {
    "bjl01": (lambda t: t * mpmath.log(1 + t), lambda: [0, 1], "quad"),
    "bjl02": (lambda t: t**2 * mpmath.atan(t), lambda: [0, 1], "quad"),
    "bjl03": (lambda t: mpmath.exp(t) * mpmath.cos(t), lambda: [0, mpmath.pi / 2], "quad"),
    "bjl04": (lambda t: mpmath.atan(mpmath.sqrt(2 + t**2)) / ((1 + t**2) * mpmath.sqrt(2 + t**2)),
              lambda: [0, 1], "quad"),
    "bjl05": (lambda t: mpmath.sqrt(t) * mpmath.log(t), lambda: [0, 1], "quad"),
    "bjl06": (lambda t: mpmath.sqrt(1 - t**2), lambda: [0, 1], "quad"),
    "bjl07": (lambda t: mpmath.sqrt(t) / mpmath.sqrt(1 - t**2), lambda: [0, 1], "quad"),
    "bjl08": (lambda t: mpmath.log(t) ** 2, lambda: [0, 1], "quad"),
    "bjl09": (lambda s: mpmath.log(mpmath.sin(s)), lambda: [0, mpmath.pi / 2], "quad"),
    "bjl10": (lambda s: mpmath.sqrt(mpmath.cot(s)), lambda: _graded(mpmath.pi / 2), "quad"),
    "bjl11": (lambda t: 1 / (1 + t**2), lambda: [0, 1, inf], "quad"),
    "bjl12": (lambda t: mpmath.exp(-t) / mpmath.sqrt(t), lambda: _graded(1) + [inf], "quad"),
    "bjl13": (lambda t: mpmath.exp(-t**2 / 2), lambda: [0, 1, 4, inf], "quad"),
    "bjl14": (lambda t: mpmath.exp(-t) * mpmath.cos(t), lambda: _lin(0, 40 * mpmath.pi, 40) + [inf], "quad"),
    "bjl15": (lambda t: mpmath.sinc(t), lambda: [0, inf], "osc"),
    "kahaner_step": (lambda x: mpf(0) if x < mpf("0.3") else mpf(1), lambda: [0, mpf("0.3"), 1], "quad"),
    "kahaner_cosh": (lambda x: mpf("0.92") * mpmath.cosh(x) - mpmath.cos(x), lambda: [-1, 1], "quad"),
    "kahaner_quartic": (lambda x: 1 / (x**4 + x**2 + mpf("0.9")), lambda: [-1, 0, 1], "quad"),
    "kahaner_inv_quartic": (lambda x: 1 / (1 + x**4), lambda: [0, 1], "quad"),
    "kahaner_sin_denominator": (lambda x: 2 / (2 + mpmath.sin(10 * mpmath.pi * x)), lambda: _lin(0, 1, 10), "quad"),
    "kahaner_logistic": (lambda x: 1 / (1 + mpmath.exp(x)), lambda: [0, 1], "quad"),
    "kahaner_bose": (lambda x: x / mpmath.expm1(x) if x else mpf(1), lambda: [0, 1], "quad"),
    "kahaner_gauss_peak": (lambda x: mpmath.sqrt(50) * mpmath.exp(-50 * mpmath.pi * x**2),
                           lambda: [0, mpf("0.05"), mpf("0.1"), mpf("0.2"), mpf("0.4"), 1, 10], "quad"),
    "kahaner_exp_layer": (lambda x: 25 * mpmath.exp(-25 * x),
                          lambda: [0, mpf("0.05"), mpf("0.2"), mpf("0.5"), 2, 10], "quad"),
    "kahaner_lorentz_peak": (lambda x: 50 / (mpmath.pi * (2500 * x**2 + 1)),
                             lambda: [0, mpf("0.01"), mpf("0.05"), mpf("0.2"), 1, 10], "quad"),
    "kahaner_near_pole": (lambda x: 1 / (x**2 + mpf("1.005")), lambda: [-1, 0, 1], "quad"),
    "kahaner_sech_spikes": (
        lambda x: (_sech(10 * (x - mpf("0.2"))) ** 2 + _sech(100 * (x - mpf("0.4"))) ** 4
                   + _sech(1000 * (x - mpf("0.6"))) ** 6),
        lambda: [mpf(s) for s in ("0", "0.2", "0.3", "0.39", "0.4", "0.41", "0.5", "0.59", "0.599", "0.6",
                                  "0.601", "0.61", "0.7", "1")], "quad"),
    "quadpack_log": (lambda x: -mpmath.log(x) / mpmath.sqrt(x), lambda: _graded(1), "quad"),
    "quadpack_peak": (lambda x: mpf(4) ** -4 / ((x - mpmath.pi / 4) ** 2 + mpf(16) ** -4),
                      lambda: [0] + [mpmath.pi / 4 + d for d in (mpf("-0.05"), mpf("-0.005"), 0,
                                                                  mpf("0.005"), mpf("0.05"))] + [1], "quad"),
    "quadpack_cos_sin": (lambda x: mpmath.cos(32 * mpmath.sin(x)), lambda: _lin(0, mpmath.pi, 32), "quad"),
    "quadpack_abs_power": (lambda x: abs(x - mpf(1) / 3) ** mpf(-0.5), lambda: [0, mpf(1) / 3, 1], "quad"),
    "quadpack_jacobi_pole": (lambda x: 1 / ((x + 1 + mpf(1) / 16) * mpmath.sqrt(1 - x**2)),
                             lambda: [-1, mpf("-0.9"), 0, 1], "quad"),
    "quadpack_sin_power": (lambda x: mpmath.sin(x) ** mpf("-0.8"), lambda: _graded(mpmath.pi / 2), "quad"),
    "quadpack_log_power": (lambda x: 1 / mpmath.sqrt(-mpmath.log(x)), lambda: [0, mpf("0.5"), 1], "quad"),
    "quadpack_damped_sin": (lambda x: mpmath.exp(20 * (x - 1)) * mpmath.sin(64 * x), lambda: _lin(0, 1, 20), "quad"),
    "quadpack_cos_jacobi": (lambda x: mpmath.cos(32 * x) / mpmath.sqrt(x * (1 - x)), lambda: _lin(0, 1, 20), "quad"),
    "quadpack_fourier_inf": (lambda x: mpmath.exp(-x / 4) * mpmath.cos(x) / mpmath.sqrt(x),
                             lambda: _graded(mpmath.pi) + _lin(0, 100 * mpmath.pi, 100)[2:] + [inf], "quad"),
    "quadpack_x2_exp": (lambda x: x**2 * mpmath.exp(-x / 2), lambda: [0, 10, 40, 100, inf], "quad"),
    "quadpack_rational_inf": (lambda x: 1 / (mpmath.sqrt(x) * (1 + 10 * x) ** 2),
                              lambda: _graded(mpf("0.1")) + [1, inf], "quad"),
    "quadpack_qagp_log": (lambda x: x**3 * mpmath.log(abs((x**2 - 1) * (x**2 - 2))),
                          lambda: [0, 1, mpmath.sqrt(2), 3], "quad"),
    "quadpack_qagi_log": (lambda x: mpmath.log(x) / (1 + 100 * x**2), lambda: [0, mpf("0.1"), 1, inf], "quad"),
    "alg_endpoint": (lambda x: x ** mpf("-0.9"), lambda: _graded(1), "quad"),
    "log_interior": (lambda x: mpmath.log(abs(x - mpf("0.7"))), lambda: [0, mpf("0.7"), 1], "quad"),
    "osc_sin100": (lambda x: mpmath.sin(100 * x), lambda: _lin(0, 1, 32), "quad"),
    "osc_xcos200": (lambda x: x * mpmath.cos(200 * x), lambda: _lin(0, 1, 64), "quad"),
    "osc_long_fourier": (lambda x: mpmath.sin(10 * x) / (1 + x), lambda: _lin(0, 100, 320), "quad"),
    "peak_lorentz": (lambda x: 1 / (mpf("1e-4") + (x - mpf("0.3")) ** 2),
                     lambda: [mpf(s) for s in ("0", "0.2", "0.29", "0.3", "0.31", "0.4", "1")], "quad"),
    "peak_gauss": (lambda x: mpmath.exp(-((x - mpf("0.37")) / mpf("1e-3")) ** 2 / 2),
                   lambda: [mpf(s) for s in ("0", "0.36", "0.369", "0.37", "0.371", "0.38", "1")], "quad"),
    "kink_abs": (lambda x: abs(x - mpf("0.3")), lambda: [0, mpf("0.3"), 1], "quad"),
    "steps_floor": (lambda x: mpmath.floor(x), lambda: [0, 1, 2, 3, 4, 5, mpf("5.5")], "quad"),
    "gauss_real_line": (lambda x: mpmath.exp(-x**2), lambda: [-inf, -5, 0, 5, inf], "quad"),
    "cauchy_real_line": (lambda x: 1 / (1 + x**2), lambda: [-inf, -1, 0, 1, inf], "quad"),
    "exp_moment5": (lambda x: x**5 * mpmath.exp(-x), lambda: [0, 5, 20, 60, inf], "quad"),
    "quartic_half_line": (lambda x: 1 / (1 + x**4), lambda: [0, 1, inf], "quad"),
    "near_pole": (lambda x: 1 / (x**2 + mpf("1e-6")),
                  lambda: [mpf(s) for s in ("-1", "-0.01", "-0.001", "0", "0.001", "0.01", "1")], "quad"),
    "near_log": (lambda x: mpmath.log(x + mpf("1e-10")),
                 lambda: [mpf(s) for s in ("0", "1e-10", "1e-8", "1e-6", "1e-4", "1e-2", "1")], "quad"),
    "zero_sin_period": (lambda x: mpmath.sin(x), lambda: [0, mpmath.pi, 2 * mpmath.pi], "quad"),
}


def _rel_error(value, exact):
    return abs(value - exact) / abs(exact) if exact != 0 else abs(value)


def _interior_samples(p, rng, n=50):
    """n random doubles strictly inside (a, b), spread over the whole range even when it is infinite."""
    if np.isfinite(p.a) and np.isfinite(p.b):
        x = p.a + (p.b - p.a) * rng.uniform(0.001, 0.999, n)
    else:
        # Logarithmically spread magnitudes, from 1e-6 to 1e6, on the side(s) that the range covers.
        mags = 10.0 ** rng.uniform(-6, 6, n)
        if np.isinf(p.a) and np.isinf(p.b):
            x = mags * rng.choice([-1.0, 1.0], n)
        elif np.isinf(p.b):
            x = p.a + mags
        else:
            x = p.b - mags
    return x[(x > p.a) & (x < p.b)]


def _edge_samples(p):
    """Doubles next to the endpoints: 1e-12 in from finite ones (and 1e-300, 5e-324 from a zero one),
    far out along infinite ones."""
    x = []
    for end, inward in ((p.a, 1.0), (p.b, -1.0)):
        if np.isfinite(end):
            x.append(end + inward * 1e-12 * max(1.0, abs(end)))
            if end == 0.0:
                x += [inward * 1e-300, inward * 5e-324]
            x.append(np.nextafter(end, end + inward))
        else:
            x += [-inward * s for s in (1e6, 1e20, 1e150, 1e300, np.finfo(float).max)]
    return np.array([t for t in x if p.a < t < p.b])


def _point_samples(p):
    """The doubles on either side of each breakpoint."""
    return np.array([np.nextafter(q, side) for q in p.points for side in (-np.inf, np.inf)])


# --------------------------------------------------------------------------------------------------
# The data


def test_battery_is_large_unique_and_cited():
    assert len(BATTERY) == 57
    assert len(set(NAMES)) == len(NAMES)
    for p in BATTERY:
        assert isinstance(p, Problem) and p.kind == "1d" and p.vectorized and p.dimension == 1
        assert p.source.strip(), p.name
        assert p.tags and set(p.tags) <= TAGS, p.name
        assert callable(p.f)
        assert all(p.a < q < p.b for q in p.points), p.name


def test_battery_covers_every_tag():
    covered = {t for p in BATTERY for t in p.tags}
    assert covered == set(TAGS)


def test_battery_holds_the_published_sets():
    assert {f"bjl{k:02d}" for k in range(1, 16)} <= set(NAMES)
    assert "kahaner_sech_spikes" in NAMES
    assert sum(name.startswith("kahaner_") for name in NAMES) >= 5
    assert sum(name.startswith("quadpack_") for name in NAMES) >= 5


def test_every_problem_has_a_twin():
    assert set(TWINS) == set(NAMES)


def test_exact_strings_have_enough_digits():
    for p in BATTERY:
        # the Problem carries the double nearest the stored decimal value
        assert p.exact == float(exact_decimal(p)), p.name
        if "zero" in p.tags:
            assert exact_decimal(p) == "0" and p.exact == 0.0
            continue
        digits = exact_decimal(p).lstrip("-").replace(".", "").split("e")[0].lstrip("0")
        assert len(digits) >= 25, p.name


def test_by_name():
    assert by_name("bjl01") is BATTERY[0]
    for p in BATTERY:
        assert by_name(p.name) is p


def test_input_validation():
    with pytest.raises(ValueError, match="`name` must be the name of a problem"):
        by_name("no_such_problem")
    with pytest.raises(ValueError, match="`dps` must be a positive integer"):
        exact_mp(BATTERY[0], 0)
    # the closed forms evaluated are the battery's own, never a string from elsewhere
    with pytest.raises(ValueError, match="`problem` must be a problem of BATTERY"):
        exact_mp(Problem("bjl01", np.exp, 0.0, 1.0, 1.0), 20)
    with pytest.raises(ValueError, match="`name` must be the name of a problem"):
        exact_decimal("nope")


def test_problems_are_frozen():
    with pytest.raises(AttributeError):
        BATTERY[0].a = 2.0


def test_module_imports_no_mpmath_at_import_time():
    import subprocess
    import sys

    # the battery is data: importing it (and the benchmark package, and the Genz families) computes no exact
    # value and loads neither mpmath, scipy nor pandas; BATTERY is built at import
    code = ("import sys; import quadlib.benchmark, quadlib.benchmark._problems as p, quadlib.benchmark._genz; "
            "assert len(p.BATTERY) == 57; print(sorted(m for m in ('mpmath', 'scipy', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------------------
# The exact values


@pytest.mark.parametrize("name", NAMES)
def test_closed_form_matches_exact_string(name):
    p = by_name(name)
    with mpmath.workdps(30):
        value = exact_mp(p, 30)
        stored = mpf(exact_decimal(p))
        if stored == 0:
            assert abs(value) < mpf(10) ** -25
        else:
            assert _rel_error(value, stored) < mpf(10) ** -25


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_exact_value_by_independent_quadrature(name):
    # The closed form against mpmath.quad of the twin, at 30 digits, to 1e-20; then the difference
    # between the mathematical interval and the double one (an endpoint such as pi/2 is rounded)
    # must stay below 2 eps relative (see the module docstring of quadlib.benchmark._problems).
    p = by_name(name)
    f, breakpoints, how = TWINS[name]
    with mpmath.workdps(80 if name in HIGH_PRECISION else 30):
        exact = exact_mp(p, 30)
        pts = breakpoints()
        if how == "osc":
            value = mpmath.quadosc(f, pts, omega=1)
        else:
            value = mpmath.quad(f, pts, maxdegree=10)
        if exact == 0:
            assert abs(value) < mpf(10) ** -25
        else:
            assert _rel_error(value, exact) < mpf(10) ** -20, (name, value, exact)

        gap = mpf(0)
        for end, float_end, sign in ((pts[0], p.a, -1), (pts[-1], p.b, 1)):
            if mpmath.isfinite(end) and mpf(float_end) != end:
                gap += sign * mpmath.quad(f, sorted([mpf(float_end), end]))
        assert abs(gap) <= 2 * EPS * abs(exact) + mpf(10) ** -30, (name, gap)


# --------------------------------------------------------------------------------------------------
# The double-precision integrands


@pytest.mark.parametrize("name", NAMES)
def test_integrand_is_vectorized_and_finite(name):
    p = by_name(name)
    rng = np.random.default_rng(sum(map(ord, name)))
    x = np.concatenate([_interior_samples(p, rng), _edge_samples(p), _point_samples(p)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = p.f(x)
        loop = np.array([p.f(float(t)) for t in x])
        scalar = p.f(float(x[0]))
        zero_d = p.f(np.float64(x[0]))
        matrix = p.f(x[:6].reshape(2, 3))
        at_points = p.f(np.array(p.points, dtype=float))
    assert isinstance(y, np.ndarray) and y.dtype == np.float64 and y.shape == x.shape
    assert np.ndim(scalar) == 0 and np.ndim(zero_d) == 0
    assert matrix.shape == (2, 3)
    np.testing.assert_array_equal(matrix.ravel(), y[:6])
    assert np.all(np.isfinite(y)), (name, x[~np.isfinite(y)])
    # numpy may evaluate a long array with SIMD kernels and a scalar without; allow an ulp or two
    np.testing.assert_allclose(y, loop, rtol=4 * EPS, atol=0)
    # At a breakpoint that is itself a double, the integrand may be infinite, never NaN.
    assert not np.any(np.isnan(at_points))


@pytest.mark.parametrize("name", NAMES)
def test_integrand_matches_its_twin(name):
    # The double integrand and the mpmath twin are the same function: agreement to rounding error
    # (relative to the size of the integrand over the sample, for oscillating and cancelling ones).
    p = by_name(name)
    f_mp = TWINS[name][0]
    rng = np.random.default_rng(1 + sum(map(ord, name)))
    x = np.concatenate([_interior_samples(p, rng), _edge_samples(p), _point_samples(p)])
    x = x[np.abs(x) < 1e100]  # mpmath is slow on the sines of huge arguments; the test above covers them
    y = p.f(x)
    with mpmath.workdps(40):
        ref = np.array([float(f_mp(mpf(float(t)))) for t in x])
    scale = np.max(np.abs(ref))
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-13 * scale)
