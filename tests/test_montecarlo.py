"""qmc_quad: honesty of the standard error, infinite ranges, modes (vector-valued, per point, complex),
seeding, chunking, scipy as the peer, and bad input."""
import inspect
import warnings

import numpy as np
import pytest
import scipy.integrate
from scipy.stats import qmc

from quadlib import IntegrationWarning
from quadlib import _montecarlo
from quadlib._montecarlo import qmc_quad

RNG_KEYWORD = "rng" if "rng" in inspect.signature(qmc.Sobol).parameters else "seed"  # scipy < 1.15: seed
INF = np.inf


def cos_product(x):
    return np.prod(np.cos(x), axis=-1)


def gaussian(x):
    return np.exp(-np.sum(x * x, axis=-1))


# (f, a, b, exact, source)
INFINITE_PROBLEMS = [
    (gaussian, [-INF] * 3, [INF] * 3, np.pi ** 1.5, "closed form: sqrt(pi)^3"),
    (lambda x: np.exp(-(x[:, 0] - 2)) * np.exp(x[:, 1] - 1) * x[:, 2], [2, -INF, 0], [INF, 1, 2], 2.0,
     "closed form: 1 * 1 * 2"),
    (lambda x: np.exp(-x[:, 0]) / (1 + x[:, 1] ** 2) * x[:, 2], [0, -INF, 0], [INF, 0, 2], np.pi,
     "closed form: 1 * pi/2 * 2"),
    (lambda x: 1 / (1 + x[:, 0] ** 2) ** 2 * np.exp(-np.abs(x[:, 1])), [-INF, -INF], [INF, INF], np.pi,
     "closed form: pi/2 * 2"),
]


def z_scores(f, d, exact, method, seeds=range(40), **kwargs):
    z = []
    for seed in seeds:
        res = qmc_quad(f, np.zeros(d), np.ones(d), method=method, seed=seed, **kwargs)
        assert res.success and res.status == 0
        z.append((res.integral - exact) / res.error)
    return np.abs(np.array(z))


@pytest.mark.parametrize("method", ["sobol", "mc"])
@pytest.mark.parametrize("d", [3, 6])
def test_standard_error_is_honest(d, method):
    # (integral - exact) / error is ~ t with 15 degrees of freedom: P(|t| > 3) ~ 0.9%, median |t| ~ 0.69
    z = z_scores(cos_product, d, np.sin(1.0) ** d, method, n_points=2 ** 10)
    assert np.mean(z < 3) >= 0.9
    assert 0.3 < np.median(z) < 1.5  # neither optimistic nor grossly pessimistic


@pytest.mark.slow
@pytest.mark.parametrize("method", ["sobol", "halton", "mc"])
@pytest.mark.parametrize("d", [3, 6])
def test_standard_error_is_honest_on_infinite_ranges(d, method):
    z = []
    for seed in range(40):
        res = qmc_quad(gaussian, [-INF] * d, [INF] * d, method=method, seed=seed)
        z.append(abs(res.integral - np.pi ** (d / 2)) / res.error)
    assert np.mean(np.array(z) < 3) >= 0.9 and 0.3 < np.median(z) < 1.5


@pytest.mark.parametrize("d", [3, 6])
def test_qmc_standard_error_much_smaller_than_mc(d):
    # same number of points (2**12 x 16); measured ratios ~2000 (d=3) and ~300 (d=6)
    a, b = np.zeros(d), np.ones(d)
    for seed in range(3):
        sobol = qmc_quad(cos_product, a, b, seed=seed)
        mc = qmc_quad(cos_product, a, b, method="mc", seed=seed)
        assert sobol.nfev == mc.nfev == 2 ** 16
        assert sobol.error < mc.error / 50
        assert abs(sobol.integral - np.sin(1.0) ** d) < mc.error / 10


@pytest.mark.parametrize("f, a, b, exact, source", INFINITE_PROBLEMS)
def test_infinite_ranges(f, a, b, exact, source):
    seen = []

    def recording(x):
        seen.append((np.isfinite(x).all(), np.all((x >= a) & (x <= b))))
        return f(x)

    for method in ("sobol", "mc"):
        res = qmc_quad(recording, a, b, seed=11, method=method)
        assert res.success
        assert abs(res.integral - exact) < 4 * res.error, source
        assert res.error < (2e-3 if method == "sobol" else 2e-2) * exact
    assert all(finite and inside for finite, inside in seen)


def test_jacobian_overflow_where_f_is_zero_counts_as_zero():
    # 300 doubly infinite coordinates: the product of the Jacobians overflows at many points
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = qmc_quad(lambda x: np.zeros(len(x)), [-INF] * 300, [INF] * 300, n_points=64, method="mc", seed=0)
    assert res.integral == 0.0 and res.error == 0.0 and res.success


def test_nonfinite_values_are_reported():
    def f(x):
        y = x[:, 0] ** 2
        y[x[:, 1] < 0.01] = np.nan
        return y

    with pytest.warns(IntegrationWarning, match="inf or NaN"):
        res = qmc_quad(f, [0, 0], [1, 1], seed=0)
    assert res.status == 7 and not res.success and np.isnan(res.integral)
    assert res.message == "the integrand returned inf or NaN"
    # finite values of f, but not once transformed: the change of variables, or the volume of the box
    with pytest.warns(IntegrationWarning, match="Jacobian.*overflowed"):
        res = qmc_quad(lambda x: np.full(len(x), 1e300), [0.0], [INF], seed=0)
    assert res.status == 7 and not res.success
    with pytest.warns(IntegrationWarning, match="overflowed"):
        res = qmc_quad(lambda x: np.ones(len(x)), [-1e200, -1e200], [1e200, 1e200], seed=0)
    assert res.status == 7 and not res.success and res.integral == INF


def test_result_fields_and_one_dimension():
    res = qmc_quad(lambda x: x[:, 0] ** 2, 0.0, 1.0, n_points=256, n_randomizations=8, seed=0)
    assert isinstance(res.integral, float) and isinstance(res.error, float)
    assert res.nfev == 256 * 8 and res.n_randomizations == 8 and res.n_points == 256
    assert res.estimates.shape == (8,)
    assert res.integral == pytest.approx(res.estimates.mean(), rel=1e-15)
    assert res.error == pytest.approx(res.estimates.std(ddof=1) / np.sqrt(8), rel=1e-12)
    assert res.message == "standard error from 8 randomizations" and res.success and res.status == 0
    assert abs(res.integral - 1 / 3) < 4 * res.error
    assert "n_randomizations: 8" in repr(res)


def test_vector_valued_shares_points():
    def f(x):
        return np.stack([cos_product(x), x[:, 0], x[:, 0] * x[:, 1]], axis=-1)

    a, b = [0, 0, 0], [1, 2, 1]
    res = qmc_quad(f, a, b, seed=5)
    assert res.integral.shape == res.error.shape == (3,) and res.estimates.shape == (16, 3)
    for k in range(3):
        one = qmc_quad(lambda x: f(x)[:, k], a, b, seed=5)
        assert res.integral[k] == pytest.approx(one.integral, rel=1e-14, abs=1e-15)
        assert res.error[k] == pytest.approx(one.error, rel=1e-9)
    exact = [np.sin(1.0) ** 2 * np.sin(2.0), 1.0, 1.0]
    # a scrambled net integrates x0 exactly up to rounding: hence the absolute floor
    assert np.all(np.abs(res.integral - exact) <= 4 * res.error + 1e-14)
    res = qmc_quad(lambda x: np.stack([x, 2 * x], axis=1), a, b, seed=5)  # trailing shape (2, 3)
    assert res.integral.shape == (2, 3)
    assert np.all(np.abs(res.integral - [[1, 2, 1], [2, 4, 2]]) <= 4 * res.error + 1e-14)


def test_sobol_grid_bias_removed():
    # Sobol' points k / 2**30 have coordinate means 1/2 - 2**-31; moved to the cell centres they average
    # 1/2 exactly, where the standard error of a linear integrand is at the rounding level
    res = qmc_quad(lambda x: x, [0, 0], [1, 1], n_points=2 ** 14, seed=0)
    assert np.all(res.error < 1e-15)
    assert np.all(np.abs(res.integral - 0.5) <= 4 * res.error + 1e-15)


def test_complex_valued():
    res = qmc_quad(lambda x: np.exp(1j * x.sum(axis=1)), [0, 0], [1, 1], seed=0)
    exact = ((np.exp(1j) - 1) / 1j) ** 2
    assert isinstance(res.integral, complex) and isinstance(res.error, float)
    assert abs(res.integral - exact) < 4 * res.error < 1e-5


@pytest.mark.parametrize("method", ["sobol", "halton", "mc"])
def test_per_point_calls_equal_vectorized(method):
    # arithmetic only, so the per-point and array evaluations agree to the last bit
    def f(x, c):
        return x[..., 0] * x[..., 1] / (1 + x[..., 2] ** 2) ** 2 + c

    def g(x, c):
        return np.stack([f(x, c), x[..., 0] * c], axis=-1)

    a, b = [0, -1, -INF], [1, 1, INF]
    n = 256 if method == "sobol" else 200
    for func in (f, g):
        vec = qmc_quad(func, a, b, n_points=n, n_randomizations=4, method=method, seed=3, args=(0.5,))
        one = qmc_quad(func, a, b, n_points=n, n_randomizations=4, method=method, seed=3, args=(0.5,),
                       vectorized=False)
        np.testing.assert_array_equal(vec.integral, one.integral)
        np.testing.assert_array_equal(vec.estimates, one.estimates)
        np.testing.assert_array_equal(vec.error, one.error)


def test_per_point_calls_receive_one_point():
    shapes = set()

    def f(x):
        shapes.add(x.shape)
        return x[0] + x[1]

    res = qmc_quad(f, [0, 0], [1, 1], n_points=8, n_randomizations=2, vectorized=False, seed=0)
    assert shapes == {(2,)} and res.nfev == 16


def test_seed_reproducibility():
    a, b = [0, 0, 0], [1, 1, 1]
    for method in ("sobol", "halton", "mc"):
        first = qmc_quad(cos_product, a, b, method=method, seed=42)
        again = qmc_quad(cos_product, a, b, method=method, seed=42)
        generator = qmc_quad(cos_product, a, b, method=method, seed=np.random.default_rng(42))
        other = qmc_quad(cos_product, a, b, method=method, seed=43)
        np.testing.assert_array_equal(first.estimates, again.estimates)
        np.testing.assert_array_equal(first.estimates, generator.estimates)
        assert first.integral != other.integral
    # one Generator used twice moves on; the same state gives the same numbers
    rng = np.random.default_rng(7)
    one, two = qmc_quad(cos_product, a, b, seed=rng), qmc_quad(cos_product, a, b, seed=rng)
    assert one.integral != two.integral
    rng = np.random.default_rng(7)
    assert qmc_quad(cos_product, a, b, seed=rng).integral == one.integral
    assert qmc_quad(cos_product, a, b).success  # seed=None


def test_halton():
    d = 4
    res = qmc_quad(cos_product, np.zeros(d), np.ones(d), method="halton", n_points=3000, seed=0)
    mc = qmc_quad(cos_product, np.zeros(d), np.ones(d), method="mc", n_points=3000, seed=0)
    assert res.success and res.nfev == 3000 * 16
    assert abs(res.integral - np.sin(1.0) ** d) < 4 * res.error
    assert res.error < mc.error / 10


def test_user_code_is_called_in_batches(monkeypatch):
    calls = []

    def f(x):
        calls.append(x.shape)
        return cos_product(x)

    # the default: all 16 randomizations of 2**12 points in one call when they fit in 2**22 coordinates
    full = qmc_quad(f, [0, 0, 0], [1, 1, 1], seed=1)
    assert calls == [(2 ** 16, 3)]
    # small chunks: randomizations split into several calls, same numbers up to the order of summation
    monkeypatch.setattr(_montecarlo, "_CHUNK_ELEMENTS", 3 * 1000)  # 1000 rows, 512 for Sobol'
    calls.clear()
    chunked = qmc_quad(f, [0, 0, 0], [1, 1, 1], seed=1)
    assert set(calls) == {(512, 3)} and len(calls) == 128
    np.testing.assert_allclose(chunked.estimates, full.estimates, rtol=1e-13)
    calls.clear()
    chunked = qmc_quad(f, [0, 0, 0], [1, 1, 1], n_points=64, seed=1)  # 8 randomizations of 64 per call
    assert calls == [(512, 3), (512, 3)]
    calls.clear()
    monkeypatch.setattr(_montecarlo, "_CHUNK_ELEMENTS", 3 * 64)
    halton = qmc_quad(f, [0, 0, 0], [1, 1, 1], method="halton", n_points=1000, n_randomizations=3, seed=2)
    assert max(n for n, _ in calls) == 64 and sum(n for n, _ in calls) == 3000 and (40, 3) in calls
    monkeypatch.setattr(_montecarlo, "_CHUNK_ELEMENTS", 2 ** 22)
    whole = qmc_quad(f, [0, 0, 0], [1, 1, 1], method="halton", n_points=1000, n_randomizations=3, seed=2)
    np.testing.assert_allclose(halton.estimates, whole.estimates, rtol=1e-13)


@pytest.mark.parametrize("method", ["sobol", "halton"])
def test_agrees_with_scipy_qmc_quad(method):
    # scipy is the peer: same estimator on a finite box, func of x with shape (d, N)
    a, b = np.array([-1.0, 0.0, 0.5]), np.array([2.0, 1.0, 3.0])
    f = lambda x: np.exp(-0.5 * np.sum(x * x, axis=-1)) * (1 + x[:, 0])  # noqa: E731
    engine = qmc.Sobol if method == "sobol" else qmc.Halton
    # scipy passes x of shape (d, N), and once the centroid, of shape (d,)
    peer = scipy.integrate.qmc_quad(lambda x: f(np.atleast_2d(x.T)), a, b, n_estimates=16, n_points=2 ** 12,
                                    qrng=engine(3, scramble=True, **{RNG_KEYWORD: 1}))
    ours = qmc_quad(f, a, b, method=method, n_points=2 ** 12, n_randomizations=16, seed=1)
    combined = np.hypot(ours.error, peer.standard_error)
    assert abs(ours.integral - peer.integral) < 4 * combined
    assert 0.2 < ours.error / peer.standard_error < 5  # the same estimator: standard errors alike
    exact = scipy.integrate.nquad(lambda *x: f(np.array([x]))[0], list(zip(a, b)), opts={"epsrel": 1e-12})[0]
    assert abs(ours.integral - exact) < 4 * ours.error


def test_input_validation():
    a, b = [0.0, 0.0], [1.0, 1.0]
    f = cos_product
    with pytest.raises(TypeError, match="`f`"):
        qmc_quad("cos", a, b)
    with pytest.raises(ValueError, match="`a`"):
        qmc_quad(f, [0.0, np.nan], b)
    with pytest.raises(ValueError, match="`b`"):
        qmc_quad(f, a, [np.nan, 1.0])
    with pytest.raises(ValueError, match="`a`"):
        qmc_quad(f, [[0.0, 0.0]], [[1.0, 1.0]])
    with pytest.raises(ValueError, match="`a`"):
        qmc_quad(f, [], [])
    with pytest.raises(TypeError, match="`a`"):
        qmc_quad(f, ["x", "y"], b)
    with pytest.raises(TypeError, match="`b`"):
        qmc_quad(f, a, [1j, 1.0])
    with pytest.raises(ValueError, match="`a` and `b`"):
        qmc_quad(f, a, [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="`a` must be less than `b`"):
        qmc_quad(f, a, [1.0, 0.0])
    with pytest.raises(ValueError, match="`a` must be less than `b`"):
        qmc_quad(f, [0.0, INF], [1.0, INF])
    with pytest.raises(ValueError, match="`n_points`"):
        qmc_quad(f, a, b, n_points=0)
    with pytest.raises(TypeError, match="`n_points`"):
        qmc_quad(f, a, b, n_points=1024.0)
    with pytest.raises(ValueError, match="`n_points` must be a power of 2"):
        qmc_quad(f, a, b, n_points=1000)
    with pytest.raises(ValueError, match="`n_points` must be at most"):
        qmc_quad(f, a, b, n_points=2 ** 31)
    assert qmc_quad(f, a, b, n_points=1000, method="halton").nfev == 16000  # any size for Halton and MC
    with pytest.raises(ValueError, match="`n_randomizations`"):
        qmc_quad(f, a, b, n_randomizations=1)
    with pytest.raises(TypeError, match="`n_randomizations`"):
        qmc_quad(f, a, b, n_randomizations="16")
    with pytest.raises(ValueError, match="`method`"):
        qmc_quad(f, a, b, method="qmc")
    with pytest.raises(TypeError, match="`method`"):
        qmc_quad(f, a, b, method=None)
    with pytest.raises(TypeError, match="`seed`"):
        qmc_quad(f, a, b, seed="abc")
    with pytest.raises(TypeError, match="`seed`"):
        qmc_quad(f, a, b, seed=1.5)
    with pytest.raises(TypeError, match="`seed`"):
        qmc_quad(f, a, b, seed=True)
    with pytest.raises(ValueError, match="`seed`"):
        qmc_quad(f, a, b, seed=-1)
    with pytest.raises(ValueError, match="`f`"):
        qmc_quad(lambda x: x[1:, 0], a, b)            # wrong length
    with pytest.raises(ValueError, match="`f`"):
        qmc_quad(lambda x: 1.0, a, b)                 # a scalar from a vectorized call
    with pytest.raises(TypeError, match="`f` must return real or complex numbers"):
        qmc_quad(lambda x: np.full(len(x), "a"), a, b)
    with pytest.raises(ValueError, match="`f`"):
        qmc_quad(lambda x: x[:1] if x[0] < 0.5 else x, a, b, n_points=8, vectorized=False)
