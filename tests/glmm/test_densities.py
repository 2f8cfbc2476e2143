"""Tests of quadlib.glmm._densities: beta, beta-binomial, Tweedie and Student t row log-densities.

References are independent of the code under test: mpmath at 40 digits (the log-density written from its
textbook form, derivatives by mpmath's numerical differentiation at that precision), scipy.stats (beta,
betabinom, t), and for the Tweedie the compound Poisson-Gamma sum (no W series) and the integral of the
density over y > 0, which must equal 1 - P(Y = 0).
"""
import mpmath as mp
import numpy as np
import pytest
from scipy import integrate, special, stats

from quadlib.glmm import _densities as D

mp.mp.dps = 40

EXPIT = lambda e: 1 / (1 + mp.exp(-e))  # noqa: E731


def _close(got, ref, rtol, atol):
    ref = float(ref)
    assert np.isfinite(got), (got, ref)
    assert abs(got - ref) <= rtol * abs(ref) + atol, (got, ref, abs(got - ref))


def _check(terms, mp_logpdf, point, pairs, const, rtol=1e-9, atol=1e-12):
    """Compare every field in ``pairs`` {name: derivative orders} with mpmath's derivative at ``point``."""
    for name, orders in pairs.items():
        if name == "value":
            ref = mp_logpdf(*point) - const
        else:
            ref = mp.diff(mp_logpdf, point, orders)
        got = terms[name]
        got = float(np.ravel(got)[0])
        _close(got, ref, rtol, atol * (1 + abs(float(ref))))


# ---------------------------------------------------------------------------------------------------------
# beta
# ---------------------------------------------------------------------------------------------------------
BETA_FIELDS = {"value": None, "d1": (1, 0), "d2": (2, 0), "d3": (3, 0), "ds": (0, 1), "d1s": (1, 1),
               "d2s": (2, 1)}


def _mp_beta(y):
    y = mp.mpf(y)

    def f(eta, s):
        mu = EXPIT(eta)
        phi = mp.exp(s)
        a, b = mu * phi, (1 - mu) * phi
        return (mp.loggamma(phi) - mp.loggamma(a) - mp.loggamma(b) + (a - 1) * mp.log(y)
                + (b - 1) * mp.log(1 - y))
    return f


@pytest.mark.parametrize("y, eta, phi", [
    (0.3, 0.4, 3.0), (0.9, -1.2, 25.0), (1e-6, -8.0, 0.5), (1 - 1e-6, 8.0, 0.5), (0.5, 0.0, 1e4),
    (0.02, 3.0, 0.05), (0.7, 15.0, 2.0),
    # large phi: the Stirling-remainder forms (phi = 1e8 lost 1e-9 relative in the value before them)
    (0.3, -0.8, 1e8), (0.6, 0.3, 15.0), (0.5, 0.0, 1e6), (0.4, 2.0, 80.0)])
def test_beta_vs_mpmath(y, eta, phi):
    t = D.beta_terms([y], None, np.array([eta]), phi, None, order=3, dispersion=True)
    const = -(mp.log(mp.mpf(y)) + mp.log(1 - mp.mpf(y)))
    assert np.isclose(D.beta_log_constant([y])[0], float(const), rtol=1e-14)
    # derivatives lose ~eps * (size of their O(1/a) intermediate terms) where a or b is tiny
    _check(t, _mp_beta(y), (mp.mpf(eta), mp.log(mp.mpf(phi))), BETA_FIELDS, const, rtol=1e-8, atol=1e-10)


def test_beta_vs_scipy_and_weights():
    rng = np.random.default_rng(1)
    y = rng.uniform(0.01, 0.99, 7)
    eta = rng.normal(size=(7, 3))
    phi = rng.uniform(0.5, 30, 7)
    t = D.beta_terms(y, None, eta, phi, None, order=0)
    mu = special.expit(eta)
    ref = stats.beta.logpdf(y[:, None], mu * phi[:, None], (1 - mu) * phi[:, None])
    np.testing.assert_allclose(t["value"] + D.beta_log_constant(y)[:, None], ref, rtol=1e-12, atol=1e-12)
    w = rng.uniform(0.5, 2, 7)
    tw = D.beta_terms(y, w, eta, phi, None, order=3, dispersion=True)
    t1 = D.beta_terms(y, None, eta, phi, None, order=3, dispersion=True)
    for k in t1:
        np.testing.assert_allclose(tw[k], t1[k] * w[:, None], rtol=1e-15)


# ---------------------------------------------------------------------------------------------------------
# beta-binomial
# ---------------------------------------------------------------------------------------------------------
def _mp_betabin(y, n):
    y, n = mp.mpf(y), mp.mpf(n)

    def f(eta, s):
        mu = EXPIT(eta)
        phi = mp.exp(s)
        a, b = mu * phi, (1 - mu) * phi
        return (mp.loggamma(n + 1) - mp.loggamma(y + 1) - mp.loggamma(n - y + 1)
                + mp.loggamma(y + a) - mp.loggamma(a) + mp.loggamma(n - y + b) - mp.loggamma(b)
                - mp.loggamma(n + phi) + mp.loggamma(phi))
    return f


@pytest.mark.parametrize("y, n, eta, phi", [
    (3, 10, -0.5, 4.0), (0, 5, 1.0, 0.3), (7, 7, 2.0, 50.0), (12, 34, -1.3, 1e5), (1, 64, -6.0, 2.0),
    (40, 100, 0.2, 3.0), (0, 1000, -3.0, 0.7), (900, 1000, 2.1, 200.0), (2, 3, 12.0, 1.5),
    # large phi: finite sums up to 1,024 trials (the digamma differences lost 10% in d1s at phi = 1e9)
    (3, 10, -0.3, 1e9), (40, 100, -0.3, 1e9), (400, 2000, -0.3, 50.0), (1500, 2000, 0.5, 20.0)])
def test_beta_binomial_vs_mpmath(y, n, eta, phi):
    # n <= 64: exact finite sums; n > 64: scipy's special functions
    t = D.beta_binomial_terms([y], [n], np.array([eta]), phi, None, order=3, dispersion=True)
    const = mp.loggamma(n + 1) - mp.loggamma(y + 1) - mp.loggamma(n - y + 1)
    assert np.isclose(D.beta_binomial_log_constant([y], [n])[0], float(const), rtol=1e-13)
    rtol = 1e-9 if n <= 64 or phi >= 1e4 else 1e-7
    _check(t, _mp_betabin(y, n), (mp.mpf(eta), mp.log(mp.mpf(phi))), BETA_FIELDS, const, rtol=rtol,
           atol=1e-10)


def test_beta_binomial_large_phi_tends_to_binomial():
    # phi -> infinity: the finite sums keep full relative accuracy (the lgamma form would cancel)
    y, n, eta = 3.0, 10.0, -0.5
    t = D.beta_binomial_terms([y], [n], np.array([eta]), 1e14, None, order=1)
    mu = special.expit(eta)
    ref = y * np.log(mu) + (n - y) * np.log1p(-mu)
    np.testing.assert_allclose(t["value"][0], ref, rtol=1e-12)
    np.testing.assert_allclose(t["d1"][0], y - n * mu, rtol=1e-10)


def test_beta_binomial_vs_scipy_mixed_rows():
    rng = np.random.default_rng(2)
    n = np.array([1, 5, 30, 64, 65, 200, 12, 0])
    y = np.array([rng.integers(0, k + 1) for k in n]).astype(float)
    eta = rng.normal(size=(8, 4))
    phi = rng.uniform(0.2, 40, 8)
    t = D.beta_binomial_terms(y, n, eta, phi, None, order=2, dispersion=True)
    mu = special.expit(eta)
    ref = stats.betabinom.logpmf(y[:, None], n[:, None], mu * phi[:, None], (1 - mu) * phi[:, None])
    np.testing.assert_allclose(t["value"] + D.beta_binomial_log_constant(y, n)[:, None], ref,
                               rtol=1e-10, atol=1e-11)
    # a vectorized call equals a loop of one-row calls (scalar phi)
    for i in range(8):
        ti = D.beta_binomial_terms(y[i:i + 1], n[i:i + 1], eta[i:i + 1], phi[i], None, order=2,
                                   dispersion=True)
        for k in t:
            np.testing.assert_allclose(t[k][i], ti[k][0], rtol=1e-14, atol=1e-300)


def test_beta_binomial_needs_trials():
    with pytest.raises(ValueError, match="`n`"):
        D.beta_binomial_terms([1], None, np.array([0.0]), 1.0, None)


# ---------------------------------------------------------------------------------------------------------
# Student t
# ---------------------------------------------------------------------------------------------------------
T_FIELDS = {"value": None, "d1": (1, 0, 0), "d2": (2, 0, 0), "d3": (3, 0, 0), "ds": (0, 1, 0),
            "d1s": (1, 1, 0), "d2s": (2, 1, 0), "dshape": (0, 0, 1), "d1shape": (1, 0, 1),
            "d2shape": (2, 0, 1)}


def _mp_t(y):
    y = mp.mpf(y)

    def f(eta, s, nu):
        z = (y - eta) / mp.exp(s)
        return (mp.loggamma((nu + 1) / 2) - mp.loggamma(nu / 2) - mp.log(nu * mp.pi) / 2 - s
                - (nu + 1) / 2 * mp.log(1 + z ** 2 / nu))
    return f


def _t_fields(t):
    out = dict(t)
    for k in ("dshape", "d1shape", "d2shape"):
        assert t[k].shape == (1,) + t["value"].shape
        out[k] = t[k][0]
    return out


@pytest.mark.parametrize("y, eta, sigma, nu", [
    (2.2, 0.4, 1.7, 4.5), (-3.0, 1.0, 0.2, 1.1), (10.0, -5.0, 3.0, 0.3), (0.1, 0.0, 1.0, 300.0),
    (1e3, 0.0, 1.0, 2.9), (251.0, 250.0, 14.5, 2.898)])
def test_student_t_vs_mpmath(y, eta, sigma, nu):
    t = D.student_t_terms([y], None, np.array([eta]), sigma, [nu], order=3, dispersion=True)
    pairs = {k: (None if v is None else v) for k, v in T_FIELDS.items()}
    point = (mp.mpf(eta), mp.log(mp.mpf(sigma)), mp.mpf(nu))
    f = _mp_t(y)
    _check(_t_fields(t), f, point, pairs, 0, rtol=1e-9, atol=1e-12)
    assert D.student_t_log_constant([y])[0] == 0


def test_student_t_vs_scipy_2d_per_row_sigma():
    rng = np.random.default_rng(3)
    y = rng.normal(size=6) * 5
    eta = rng.normal(size=(6, 5))
    sig = rng.uniform(0.1, 4, 6)
    nu = 3.7
    t = D.student_t_terms(y, None, eta, sig, [nu], order=2, dispersion=True)
    ref = stats.t.logpdf(y[:, None], nu, eta, sig[:, None])
    np.testing.assert_allclose(t["value"], ref, rtol=1e-12)
    for i in range(6):   # per-row sigma = a loop of scalar calls
        ti = D.student_t_terms(y[i:i + 1], None, eta[i:i + 1], sig[i], [nu], order=2, dispersion=True)
        for k in t:
            np.testing.assert_allclose(t[k][..., i, :], ti[k][..., 0, :], rtol=1e-15)


def test_student_t_large_df_constant():
    # lgamma((nu+1)/2) - lgamma(nu/2) - log(nu)/2 for nu = 1e12: the lgamma difference would cancel
    nu = 1e12
    t = D.student_t_terms([0.0], None, np.array([0.0]), 1.0, [nu], order=0)
    ref = (mp.loggamma((mp.mpf(nu) + 1) / 2) - mp.loggamma(mp.mpf(nu) / 2) - mp.log(mp.mpf(nu) * mp.pi) / 2)
    _close(float(t["value"][0]), ref, 1e-12, 1e-14)


# ---------------------------------------------------------------------------------------------------------
# Tweedie
# ---------------------------------------------------------------------------------------------------------
def _mp_tweedie_cpg(y):
    """log f(y) by the compound Poisson-Gamma sum (independent of the W series); eta = log mu, s = log phi."""
    y = mp.mpf(y)

    def f(eta, s, p):
        mu, phi = mp.exp(eta), mp.exp(s)
        lam = mu ** (2 - p) / (phi * (2 - p))
        if y == 0:
            return -lam
        a = (2 - p) / (p - 1)
        g = phi * (p - 1) * mu ** (p - 1)
        terms = []
        best = -mp.inf
        for N in range(1, 20000):     # bound: the test points need a few hundred terms at most
            lt = (-lam + N * mp.log(lam) - mp.loggamma(N + 1) + (N * a - 1) * mp.log(y) - y / g
                  - mp.loggamma(N * a) - N * a * mp.log(g))
            terms.append(lt)
            best = max(best, lt)
            if lt < best - 120 and N > 5:
                break
        else:
            raise AssertionError("compound Poisson-Gamma sum did not converge")
        return best + mp.log(mp.fsum(mp.exp(t - best) for t in terms))
    return f


TW_FIELDS = {"value": None, "d1": (1, 0, 0), "d2": (2, 0, 0), "d3": (3, 0, 0), "ds": (0, 1, 0),
             "d1s": (1, 1, 0), "d2s": (2, 1, 0), "dshape": (0, 0, 1), "d1shape": (1, 0, 1),
             "d2shape": (2, 0, 1)}


@pytest.mark.parametrize("y, eta, phi, p", [
    (2.3, 0.5, 0.8, 1.4), (0.0, 0.3, 1.3, 1.6), (0.05, -1.0, 2.0, 1.1), (7.0, 1.5, 0.3, 1.8),
    (0.4, -0.2, 1.0, 1.2946), (3.0, 1.0, 0.05, 1.05), (0.01, -3.0, 5.0, 1.95)])
def test_tweedie_vs_compound_poisson_gamma(y, eta, phi, p):
    t = D.tweedie_terms([y], None, np.array([eta]), phi, [p], order=3, dispersion=True)
    const = -mp.log(mp.mpf(y)) if y > 0 else 0
    assert np.isclose(D.tweedie_log_constant([y])[0], float(const), rtol=1e-14, atol=0)
    point = (mp.mpf(eta), mp.log(mp.mpf(phi)), mp.mpf(p))
    _check(_t_fields(t), _mp_tweedie_cpg(y), point, TW_FIELDS, const, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mu, phi, p", [(1.0, 1.0, 1.5), (2.0, 0.5, 1.2), (0.5, 2.0, 1.8), (3.0, 0.2, 1.05)])
def test_tweedie_density_integrates_to_one_minus_p0(mu, phi, p):
    def dens(y):
        t = D.tweedie_terms([y], None, np.array([np.log(mu)]), phi, [p], order=0)
        return np.exp(t["value"][0] + D.tweedie_log_constant([y])[0])
    p0 = np.exp(-mu ** (2 - p) / (phi * (2 - p)))
    t0 = D.tweedie_terms([0.0], None, np.array([np.log(mu)]), phi, [p], order=0)
    assert np.isclose(np.exp(t0["value"][0]), p0, rtol=1e-14)
    total = 0.0
    edges = [0.0, 1e-6, 1e-3, 0.1, 1.0, 5.0, 20.0, 80.0, np.inf]
    for lo, hi in zip(edges[:-1], edges[1:]):
        total += integrate.quad(dens, lo, hi, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
    assert abs(total - (1 - p0)) < 1e-9, (total, 1 - p0)


def test_tweedie_series_bound():
    # p = 1.9, phi = 1e-7, y = 1: the series' peak is near j = 1e8 and needs far more than 20,000 terms
    y = np.array([1.0, 2.3, 0.0])
    eta = np.array([[0.0, 0.1], [0.5, 0.6], [0.2, 0.3]])
    phi = np.array([1e-7, 0.8, 1e-7])
    t = D.tweedie_terms(y, None, eta, phi, [1.9], order=3, dispersion=True)
    for k, v in t.items():
        rows = v[0] if v.ndim == 3 else v
        assert np.isnan(rows[0]).all(), k      # beyond the bound: NaN everywhere in that row
        assert np.isfinite(rows[1:]).all(), k  # the other rows are untouched (y = 0 needs no series)
    log_w = D.tweedie_log_series(np.array([1.0, 1.0]), np.array([1e-7, 1e-4]), 1.9)
    assert np.isnan(log_w[0]) and np.isfinite(log_w[1])
    assert D.TWEEDIE_MAX_TERMS == 20_000


def _mp_log_w(y, s, p):
    """log W by mpmath: the textbook series summed outwards from its largest term until 1e-50 of it."""
    y, phi, p = mp.mpf(y), mp.exp(s), mp.mpf(p)
    al = (2 - p) / (1 - p)
    logz = al * (mp.log(p - 1) - mp.log(y)) - (1 - al) * mp.log(phi) - mp.log(2 - p)
    lw = lambda j: j * logz - mp.loggamma(1 + j) - mp.loggamma(-j * al)  # noqa: E731
    j = max(1, int(y ** (2 - p) / (phi * (2 - p))))
    while lw(j + 1) > lw(j):      # climb to the peak (the estimate is close: a few steps)
        j += 1
    while j > 1 and lw(j - 1) > lw(j):
        j -= 1
    top = lw(j)
    terms = [mp.mpf(1)]
    for step in (1, -1):
        k = j + step
        while k >= 1:
            t = lw(k) - top
            terms.append(mp.exp(t))
            if t < -115:
                break
            k += step
            assert abs(k - j) < 50_000
    return top + mp.log(mp.fsum(terms))


@pytest.mark.parametrize("y, phi, p", [
    (1.0, 1e-4, 1.02), (1e-3, 100.0, 1.001), (1e-8, 1.0, 1.5), (1e4, 10.0, 1.3), (0.3, 3.0, 1.999)])
def test_tweedie_series_extremes_vs_mpmath(y, phi, p):
    log_w, ej, _ = D.tweedie_log_series(np.array([y]), np.array([phi]), p, derivatives=True)
    s = mp.log(mp.mpf(phi))
    _close(log_w[0], _mp_log_w(y, s, p), 1e-13, 1e-13)
    # d log W / ds = -E_w[j] / (p - 1)
    _close(-ej[0] / (p - 1), mp.diff(lambda s_: _mp_log_w(y, s_, p), s), 1e-10, 1e-12)


@pytest.mark.slow
def test_tweedie_series_near_the_bound_vs_mpmath():
    # p -> 2 with a small phi: the peak is near j = 1e6 and about 17,000 terms are summed (bound 20,000)
    y, phi, p = 100.0, 1e-3, 1.999
    got = D.tweedie_log_series(np.array([y]), np.array([phi]), p)[0]
    _close(got, _mp_log_w(y, mp.log(mp.mpf(phi)), p), 1e-13, 0)


def test_tweedie_vectorized_equals_loop():
    rng = np.random.default_rng(4)
    y = np.where(rng.uniform(size=9) < 0.3, 0.0, rng.gamma(2.0, 1.0, 9))
    eta = rng.normal(size=(9, 3)) * 0.5
    phi = rng.uniform(0.2, 3, 9)
    w = rng.uniform(0.5, 2, 9)
    t = D.tweedie_terms(y, w, eta, phi, [1.35], order=3, dispersion=True)
    for i in range(9):
        ti = D.tweedie_terms(y[i:i + 1], w[i:i + 1], eta[i:i + 1], phi[i], np.array([1.35]), order=3,
                             dispersion=True)
        for k in t:
            np.testing.assert_allclose(t[k][..., i, :], ti[k][..., 0, :], rtol=1e-13)


# ---------------------------------------------------------------------------------------------------------
# the common signature
# ---------------------------------------------------------------------------------------------------------
CASES = [(D.beta_terms, [0.3, 0.6], None, None), (D.beta_binomial_terms, [1, 2], [3, 4], None),
         (D.tweedie_terms, [0.0, 1.5], None, [1.5]), (D.student_t_terms, [0.3, -1.0], None, [4.0])]


@pytest.mark.parametrize("func, y, n, shape", CASES)
@pytest.mark.parametrize("order", [0, 1, 2, 3])
@pytest.mark.parametrize("dispersion", [False, True])
def test_fields_computed(func, y, n, shape, order, dispersion):
    eta = np.array([[0.1, 0.2, 0.3], [-0.4, 0.0, 0.5]])
    t = func(y, n, eta, 1.3, shape, order, dispersion)
    expect = {"value"} | {f"d{k}" for k in range(1, order + 1)}
    if dispersion:
        expect |= {"ds"} | ({"d1s"} if order >= 1 else set()) | ({"d2s"} if order >= 2 else set())
        if shape is not None:
            expect |= {"dshape"} | ({"d1shape"} if order >= 1 else set()) | (
                {"d2shape"} if order >= 2 else set())
    assert set(t) == expect
    for k, v in t.items():
        assert v.shape == (((1,) if "shape" in k else ()) + eta.shape), k
        assert np.isfinite(v).all(), k
    one = func(y, n, eta[:, 0], 1.3, shape, order, dispersion)
    for k in t:
        np.testing.assert_allclose(one[k], t[k][..., 0], rtol=1e-15)


@pytest.mark.parametrize("func, y, n, shape", CASES)
def test_input_validation(func, y, n, shape):
    eta = np.zeros(2)
    with pytest.raises(ValueError, match="`order`"):
        func(y, n, eta, 1.0, shape, 4, False)
    with pytest.raises(ValueError, match="`eta`"):
        func(y, n, np.zeros(3), 1.0, shape, 1, False)
    if shape is not None:
        with pytest.raises(ValueError, match="`shape`"):
            func(y, n, eta, 1.0, None, 1, False)
        with pytest.raises(ValueError, match="`shape`"):
            func(y, n, eta, 1.0, [1.5, 2.0], 1, False)


# ---------------------------------------------------------------------------------------------------------
# the Stirling remainders behind the large-phi forms (their series start at x = 10)
# ---------------------------------------------------------------------------------------------------------
REMAINDERS = {
    "_lgamma_rem": lambda x: mp.loggamma(x) - ((x - mp.mpf(1) / 2) * mp.log(x) - x + mp.log(2 * mp.pi) / 2),
    "_digamma_rem": lambda x: mp.digamma(x) - mp.log(x),
    "_trigamma_rem": lambda x: x * mp.polygamma(1, x) - 1,
    "_beta_s_rem": lambda x: x * mp.polygamma(1, x) - 1 + mp.digamma(x) - mp.log(x),
}


REMAINDER_RTOL = {"_lgamma_rem": 1e-13, "_digamma_rem": 5e-14, "_trigamma_rem": 5e-13, "_beta_s_rem": 3e-11}


@pytest.mark.parametrize("name", sorted(REMAINDERS))
def test_stirling_remainders_vs_mpmath(name):
    xs = np.array([0.01, 1.0, 9.999, 10.0, 10.5, 17.0, 1e3, 1e9])
    got = getattr(D, name)(xs)
    for x, g in zip(xs, got):
        ref = REMAINDERS[name](mp.mpf(x))
        # the series' truncation at x = 10 (the 7th term): 7e-14, 2e-14, 2e-13 and 1e-11 relative; below
        # 10 the direct lgamma difference is accurate to a few ulps of lgamma(x) (absolute)
        _close(g, ref, REMAINDER_RTOL[name], 4e-15 if name == "_lgamma_rem" else 1e-300)


def test_lgamma_digamma_differences_vs_mpmath():
    for x, k in [(0.3, 5.0), (12.0, 1000.0), (1e6, 40.0), (1e9, 3.0), (9.5, 0.0)]:
        _close(D._lgamma_diff(np.array([x]), np.array([k]))[0],
               mp.loggamma(mp.mpf(x) + k) - mp.loggamma(mp.mpf(x)), 1e-13, 1e-300)
        _close(D._digamma_diff(np.array([x]), np.array([k]))[0],
               mp.digamma(mp.mpf(x) + k) - mp.digamma(mp.mpf(x)), 1e-13, 1e-300)


def test_polygamma_vs_mpmath():
    xs = np.array([1e-12, 0.003, 0.5, 1.0, 3.7, 9.2, 9.9999, 10.0, 10.3, 55.0, 1e4, 1e12])
    p1, p2 = D._polygamma12(xs)
    for x, g1, g2 in zip(xs, p1, p2):
        _close(g1, mp.polygamma(1, mp.mpf(x)), 5e-14, 0)
        _close(g2, mp.polygamma(2, mp.mpf(x)), 5e-13, 0)
    assert D._polygamma12(xs, second=False)[1] is None


def test_gamma_parts_invalid_arguments_are_nan_and_bounded():
    # x <= 0 or NaN is invalid (validated upstream): NaN out, and the recurrence never runs more than 10 passes
    g = D._gamma_parts(np.array([np.nan, -1e300, -2.5]), 2)
    for k, v in g.items():
        assert np.isnan(v[0]), k
    assert np.isnan(g["lg"][1:]).all() and np.isnan(g["dg"][1:]).all()
    # the mixed call (both sides of 10 in one array) equals one call per element
    x = np.array([0.2, 15.0, 9.5, 1e5, 3.0])
    mixed = D._gamma_parts(x, 2)
    for i, xi in enumerate(x):
        one = D._gamma_parts(x[i:i + 1], 2)
        for k in mixed:
            assert mixed[k][i] == one[k][0], (k, xi)
