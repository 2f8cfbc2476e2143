"""quadlib.glmm._families: log-densities against scipy.stats, derivatives against mpmath (40 digits) and
central differences, the compiled kernel against a slow numpy twin, concavity, simulation moments, starts
and bad input. Every reference is written here, independently of the code under test."""
import mpmath as mp
import numpy as np
import pytest
from scipy import special, stats

from quadlib._extensions import _families as kernel
from quadlib.glmm._families import Family, FamilyTerms, make_family

CASES = [("binomial", "logit"), ("binomial", "probit"), ("binomial", "cloglog"), ("bernoulli", "logit"),
         ("bernoulli", "probit"), ("bernoulli", "cloglog"), ("poisson", "log"), ("gaussian", "identity"),
         ("Gamma", "inverse"), ("Gamma", "log"), ("negative_binomial", "log")]
PHI = {"gaussian": 1.7, "Gamma": 2.5, "negative_binomial": 3.0}
IDS = [f"{f}-{l}" for f, l in CASES]


def _data(name, link, N, rng, extreme=True, phi=None):
    """Valid (y, n, eta) with eta over the range where the density is representable."""
    if name in ("binomial", "bernoulli"):
        n = np.ones(N) if name == "bernoulli" else rng.integers(1, 25, N).astype(float)
        y = np.floor(rng.uniform(0, 1, N) * (n + 1))
        top = 30.0 if link != "cloglog" else 6.5          # cloglog: 1 - mu = exp(-exp(eta))
        eta = rng.uniform(-30.0, top, N) if extreme else rng.uniform(-4.0, 2.0 if link == "cloglog" else 4.0, N)
    elif name == "poisson":
        n = rng.uniform(0.5, 3.0, N)
        eta = rng.uniform(-5.0, 5.0, N) if extreme else rng.uniform(-2.0, 3.0, N)
        y = rng.poisson(np.exp(rng.uniform(-1, 4, N))).astype(float)
    elif name == "gaussian":
        n = rng.uniform(0.5, 3.0, N)
        y = rng.normal(0, 3, N)
        eta = y + rng.normal(0, 4, N)
    elif name == "Gamma":
        n = rng.uniform(0.5, 3.0, N)
        y = rng.gamma(2.0, 1.5, N)
        eta = rng.uniform(-3.0, 3.0, N) if link == "log" else rng.uniform(0.05, 5.0, N)
    else:
        n = rng.uniform(0.5, 3.0, N)
        y = rng.negative_binomial(2.0, 0.2, N).astype(float)
        eta = rng.uniform(-5.0, 6.0, N) if extreme else rng.uniform(-2.0, 3.0, N)
    return y, n, eta


# --- references written in this file ---------------------------------------------------------------------

def _scipy_logpdf(name, link, y, n, eta, phi):
    """The full log density from scipy.stats, in the parametrization where no digits are lost."""
    if name in ("binomial", "bernoulli"):
        # the smaller of mu, 1 - mu, each computed from eta without cancellation
        small = {"logit": (special.expit(eta), special.expit(-eta)),
                 "probit": (special.ndtr(eta), special.ndtr(-eta)),
                 "cloglog": (-np.expm1(-np.exp(eta)), np.exp(-np.exp(eta)))}[link]
        mu, one_minus = small
        return np.where(mu <= 0.5, stats.binom.logpmf(y, n, mu), stats.binom.logpmf(n - y, n, one_minus))
    if name == "poisson":
        return n * stats.poisson.logpmf(y, np.exp(eta))
    if name == "gaussian":
        return stats.norm.logpdf(y, eta, phi / np.sqrt(n))
    if name == "Gamma":
        mu = np.exp(eta) if link == "log" else 1.0 / eta
        return stats.gamma.logpdf(y, a=n * phi, scale=mu / (n * phi))
    mu = np.exp(eta)
    return n * stats.nbinom.logpmf(y, phi, phi / (phi + mu))


def _mp_logpdf(name, link, y, n, eta, s):
    """The full log density in mpmath: eta and s = log(phi) are mpf."""
    y, n = mp.mpf(y), mp.mpf(n)
    if name in ("binomial", "bernoulli"):
        if link == "logit":
            lmu, l1mu = -mp.log1p(mp.exp(-eta)), -mp.log1p(mp.exp(eta))
        elif link == "probit":
            lmu, l1mu = mp.log(mp.erfc(-eta / mp.sqrt(2)) / 2), mp.log(mp.erfc(eta / mp.sqrt(2)) / 2)
        else:
            lmu, l1mu = mp.log(-mp.expm1(-mp.exp(eta))), -mp.exp(eta)
        return mp.log(mp.binomial(n, y)) + y * lmu + (n - y) * l1mu
    if name == "poisson":
        return n * (y * eta - mp.exp(eta) - mp.loggamma(y + 1))
    phi = mp.exp(s)
    if name == "gaussian":
        return -mp.log(2 * mp.pi * phi ** 2 / n) / 2 - n * (y - eta) ** 2 / (2 * phi ** 2)
    if name == "Gamma":
        mu = mp.exp(eta) if link == "log" else 1 / eta
        nu = n * phi
        return nu * mp.log(nu / mu) + (nu - 1) * mp.log(y) - nu * y / mu - mp.loggamma(nu)
    mu = mp.exp(eta)
    return n * (mp.loggamma(y + phi) - mp.loggamma(phi) - mp.loggamma(y + 1)
                + phi * mp.log(phi / (phi + mu)) + y * mp.log(mu / (phi + mu)))


def _mp_constant(name, y, n):
    y, n = mp.mpf(y), mp.mpf(n)
    if name in ("binomial", "bernoulli"):
        return mp.log(mp.binomial(n, y))
    if name in ("poisson", "negative_binomial"):
        return -n * mp.loggamma(y + 1)
    if name == "Gamma":
        return -mp.log(y)
    return mp.mpf(0)


def _log_phi_derivatives(x):
    """log Phi(x) and three derivatives, plainly: r = phi/Phi from logs."""
    l = special.log_ndtr(x)
    r = np.exp(stats.norm.logpdf(x) - l)
    d2 = -r * (x + r)
    d3 = -(d2 * (x + r) + r * (1 + d2))
    return l, r, d2, d3


def _numpy_twin(name, link, y, n, eta, phi):
    """value, d1, d2, d3, ds, d1s, d2s, dss by textbook formulas (scipy.special for the special functions)."""
    y, n = (y[:, None], n[:, None]) if eta.ndim == 2 else (y, n)
    zero = np.zeros_like(eta)
    if name in ("binomial", "bernoulli"):
        if link == "logit":
            p = special.expit(eta)
            out = y * eta - n * np.logaddexp(0, eta), y - n * p, -n * p * (1 - p), -n * p * (1 - p) * (1 - 2 * p)
        elif link == "probit":
            a, b = _log_phi_derivatives(eta), _log_phi_derivatives(-eta)
            out = (y * a[0] + (n - y) * b[0], y * a[1] - (n - y) * b[1], y * a[2] + (n - y) * b[2],
                   y * a[3] - (n - y) * b[3])
        else:
            m = np.exp(eta)
            mu = -np.expm1(-m)
            g = m * np.exp(-m) / mu                              # d/deta log mu
            dg = g * (1 - m - g)                                 # d/deta g
            d2g = dg * (1 - m - g) + g * (-m - dg)
            out = y * np.log(mu) - (n - y) * m, y * g - (n - y) * m, y * dg - (n - y) * m, y * d2g - (n - y) * m
        return out + (None,) * 4
    if name == "poisson":
        mu = np.exp(eta)
        return (n * (y * eta - mu), n * (y - mu), -n * mu, -n * mu) + (None,) * 4
    if name == "gaussian":
        w = n / phi ** 2
        r = y - eta
        value = -0.5 * np.log(2 * np.pi * phi ** 2 / n) - 0.5 * w * r * r
        return value, w * r, -w + zero, zero, w * r * r - 1, -2 * w * r, 2 * w + zero, -2 * w * r * r
    if name == "Gamma":
        nu = n * phi
        if link == "log":
            mu = np.exp(eta)
            d1, d2, d3 = nu * (y / mu - 1), -nu * y / mu, nu * y / mu
        else:
            mu = 1 / eta
            d1, d2, d3 = nu * (1 / eta - y), -nu / eta ** 2, 2 * nu / eta ** 3
        value = nu * np.log(nu / mu) + nu * np.log(y) - nu * y / mu - special.gammaln(nu)
        ds = nu * (np.log(nu / mu) + 1 + np.log(y) - y / mu - special.digamma(nu))
        dss = ds + nu * (1 - nu * special.polygamma(1, nu))
        return value, d1, d2, d3, ds, d1, d2, dss
    th = phi
    mu = np.exp(eta)
    value = n * (special.gammaln(y + th) - special.gammaln(th) + th * np.log(th / (th + mu))
                 + y * np.log(mu / (th + mu)))
    d1 = n * (y - (th + y) * mu / (th + mu))
    d2 = -n * (th + y) * th * mu / (th + mu) ** 2
    d3 = -n * (th + y) * th * mu * (th - mu) / (th + mu) ** 3
    g = special.digamma(y + th) - special.digamma(th) + np.log(th / (th + mu)) + (mu - y) / (th + mu)
    ds = n * th * g
    d1s = n * th * mu * (y - mu) / (th + mu) ** 2
    d2s = -n * th * mu * (2 * th * mu + y * mu - y * th) / (th + mu) ** 3
    gprime = (special.polygamma(1, y + th) - special.polygamma(1, th) + mu / (th * (th + mu))
              - (mu - y) / (th + mu) ** 2)
    dss = ds + n * th ** 2 * gprime
    return value, d1, d2, d3, ds, d1s, d2s, dss


FIELDS = ("value", "d1", "d2", "d3", "ds", "d1s", "d2s", "dss")


# --- values -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, link", CASES, ids=IDS)
def test_value_plus_constant_is_scipy_logpdf(name, link):
    rng = np.random.default_rng(1)
    f = make_family(name, link)
    phi = PHI.get(name)
    y, n, eta = _data(name, link, 3000, rng, extreme=True)
    t = f.terms(y, n, eta, phi, order=0)
    ref = _scipy_logpdf(name, link, y, n, eta, phi)
    const = np.array([f.log_constant(y[i:i + 1], n[i:i + 1]) for i in range(y.size)])
    assert np.all(np.isfinite(ref))
    np.testing.assert_allclose(t.value + const, ref, rtol=1e-12, atol=1e-12)
    assert abs(t.value.sum() + f.log_constant(y, n) - ref.sum()) <= 1e-11 * np.abs(ref).sum()


@pytest.mark.parametrize("name, link", CASES, ids=IDS)
def test_two_dimensional_eta_equals_columns(name, link):
    rng = np.random.default_rng(2)
    f = make_family(name, link)
    phi = PHI.get(name)
    y, n, _ = _data(name, link, 200, rng)
    eta = np.stack([_data(name, link, 200, rng)[2] for _ in range(5)], axis=1)
    disp = f.has_dispersion
    t = f.terms(y, n, eta, phi, order=3, dispersion=disp)
    for k in range(eta.shape[1]):
        tk = f.terms(y, n, eta[:, k].copy(), phi, order=3, dispersion=disp)
        for field in FIELDS:
            a, b = getattr(t, field), getattr(tk, field)
            if b is None:
                assert a is None
            else:
                assert a.shape == eta.shape
                np.testing.assert_array_equal(a[:, k], b)


def test_negative_binomial_large_theta_and_large_counts():
    # theta >= 10 takes the Stirling-series path; counts >= 256 miss the per-count cache
    f = make_family("negative_binomial")
    rng = np.random.default_rng(3)
    y = np.r_[rng.poisson(5.0, 300), rng.integers(256, 900, 50)].astype(float)
    eta = np.log(y + 1.0) + rng.normal(0, 0.3, y.size)
    for theta in [0.05, 9.999, 10.0, 250.0]:
        t = f.terms(y, None, eta, theta, order=0)
        ref = _scipy_logpdf("negative_binomial", "log", y, np.ones_like(y), eta, theta)
        np.testing.assert_allclose(t.value - special.gammaln(y + 1), ref, rtol=1e-12)


# --- derivatives ----------------------------------------------------------------------------------------------

MP_POINTS = {  # (y, n, eta[, phi]): tails, branch switches of the kernel, both sides of each
    ("binomial", "logit"): [(3, 10, -25.0), (0, 1, 2.5), (7, 7, 30.0), (4, 9, 0.3), (1, 2, -1e-3)],
    ("binomial", "probit"): [(3, 10, -25.0), (0, 1, 2.5), (7, 7, 30.0), (2, 5, -4.2), (1, 3, 0.4),
                             (5, 6, 8.5), (1, 1, -0.6744), (0, 1, -0.6745), (2, 4, -21.0), (1, 1, -40.0)],
    ("binomial", "cloglog"): [(3, 10, -25.0), (0, 1, 1.5), (4, 4, -3.0), (2, 5, 0.05), (1, 3, -2.2),
                              (2, 3, 2.0), (1, 1, -2.31), (1, 1, -2.29), (3, 3, 4.0)],
    ("poisson", "log"): [(0, 1.0, -3.0), (5, 2.5, 1.2), (40, 1.0, 3.5)],
    ("gaussian", "identity"): [(1.3, 2.0, 0.4, 0.7), (-4.0, 0.5, 2.0, 3.0)],
    ("Gamma", "inverse"): [(2.5, 1.0, 0.3, 2.5), (0.1, 3.0, 4.0, 0.5), (7.0, 1.0, 0.2, 40.0)],
    ("Gamma", "log"): [(2.5, 1.0, 1.1, 2.5), (30.0, 0.5, 2.0, 40.0), (0.02, 2.0, -3.0, 0.3)],
    ("negative_binomial", "log"): [(0, 1.0, 0.5, 0.3), (7, 1.0, 1.5, 3.0), (3, 2.0, 0.2, 25.0),
                                   (12, 1.0, 2.4, 1e6), (300, 1.0, 5.6, 4.0), (1, 1.0, -4.0, 9.99),
                                   (1, 1.0, -4.0, 10.0)],
}


def _close(got, ref, rtol=1e-10, atol=1e-20):
    return abs(got - float(ref)) <= rtol * abs(float(ref)) + atol


def _assert_near(got, ref, rtol, atol, what):
    """|got - ref| <= rtol |ref| + atol elementwise, atol an array."""
    bad = ~(np.abs(got - ref) <= rtol * np.abs(ref) + atol)
    assert not np.any(bad), (what, got[bad][:5], ref[bad][:5])


@pytest.mark.parametrize("name, link", list(MP_POINTS), ids=[f"{f}-{l}" for f, l in MP_POINTS])
def test_derivatives_against_mpmath(name, link):
    f = make_family(name, link)
    disp = f.has_dispersion
    with mp.workdps(40):
        for point in MP_POINTS[(name, link)]:
            y, n, eta = point[:3]
            phi = point[3] if disp else None
            t = f.terms([y], [n], np.array([eta]), phi, order=3, dispersion=disp)
            e0, s0 = mp.mpf(eta), mp.log(mp.mpf(phi)) if disp else mp.mpf(0)

            def logp(e, s):
                return _mp_logpdf(name, link, y, n, e, s)

            wanted = {"value": (0, 0), "d1": (1, 0), "d2": (2, 0), "d3": (3, 0)}
            if disp:
                wanted.update({"ds": (0, 1), "d1s": (1, 1), "d2s": (2, 1), "dss": (0, 2)})
            for field, (ke, ks) in wanted.items():
                if (ke, ks) == (0, 0):
                    ref = logp(e0, s0) - _mp_constant(name, y, n)
                else:
                    ref = mp.diff(logp, (e0, s0), (ke, ks))
                got = float(getattr(t, field)[0])
                assert _close(got, ref), (point, field, got, float(ref))


@pytest.mark.parametrize("name, link", CASES, ids=IDS)
def test_derivatives_against_central_differences(name, link):
    rng = np.random.default_rng(4)
    f = make_family(name, link)
    phi = PHI.get(name)
    disp = f.has_dispersion
    y, n, eta = _data(name, link, 2000, rng, extreme=False)
    h = 1e-5

    def at(e, p=phi):
        return f.terms(y, n, e, p, order=3, dispersion=disp)

    t, tp, tm = at(eta), at(eta + h), at(eta - h)
    for lower, upper in [("value", "d1"), ("d1", "d2"), ("d2", "d3")]:
        fd = (getattr(tp, lower) - getattr(tm, lower)) / (2 * h)
        ref = getattr(t, upper)
        _assert_near(fd, ref, 1e-6, 1e-6 * (1 + np.abs(getattr(t, lower))), upper)
    if disp:
        sp, sm = at(eta, phi * np.exp(h)), at(eta, phi * np.exp(-h))
        for lower, upper in [("value", "ds"), ("d1", "d1s"), ("d2", "d2s"), ("ds", "dss")]:
            fd = (getattr(sp, lower) - getattr(sm, lower)) / (2 * h)
            _assert_near(fd, getattr(t, upper), 1e-6, 1e-6 * (1 + np.abs(getattr(t, lower))), upper)


# --- the kernel against its twin ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, link", CASES, ids=IDS)
@pytest.mark.parametrize("two_d", [False, True])
def test_kernel_equals_numpy_twin(name, link, two_d):
    rng = np.random.default_rng(5)
    f = make_family(name, link)
    phi = PHI.get(name)
    y, n, eta = _data(name, link, 1500, rng, extreme=False)
    if two_d:
        eta = eta[:, None] + rng.normal(0, 0.5, (eta.size, 4))
        if link == "inverse":
            eta = np.abs(eta) + 0.05
    t = f.terms(y, n, eta, phi, order=3, dispersion=f.has_dispersion)
    twin = _numpy_twin(name, link, y, n, eta, phi)
    for field, ref in zip(FIELDS, twin):
        got = getattr(t, field)
        if ref is None:
            assert got is None
            continue
        _assert_near(got, ref, 1e-9, 1e-12 * (np.abs(twin[0]) + 1.0), field)


def test_order_and_dispersion_select_outputs():
    f = make_family("Gamma", "log")
    y, n, eta = np.array([1.0, 2.0]), np.array([1.0, 1.0]), np.array([0.1, 0.2])
    expected = {0: {"value"}, 1: {"value", "d1"}, 2: {"value", "d1", "d2"}, 3: {"value", "d1", "d2", "d3"}}
    for order in range(4):
        t = f.terms(y, n, eta, 2.0, order=order)
        assert {k for k in FIELDS if getattr(t, k) is not None} == expected[order]
        t = f.terms(y, n, eta, 2.0, order=order, dispersion=True)
        extra = {"ds", "dss"} | ({"d1s"} if order >= 1 else set()) | ({"d2s"} if order >= 2 else set())
        assert {k for k in FIELDS if getattr(t, k) is not None} == expected[order] | extra
    full = f.terms(y, n, eta, 2.0, order=3, dispersion=True)
    part = f.terms(y, n, eta, 2.0, order=1, dispersion=True)
    for k in ("value", "d1", "ds", "d1s", "dss"):
        np.testing.assert_array_equal(getattr(full, k), getattr(part, k))
    assert isinstance(full, FamilyTerms) and "value=<array (2,)>" in repr(part) and "d2=None" in repr(part)


def test_gamma_inverse_link_outside_domain():
    f = make_family("Gamma")
    t = f.terms([1.0, 1.0, 1.0], None, np.array([-1.0, 0.0, 1.0]), 2.0, order=2, dispersion=True)
    assert t.value[0] == -np.inf and t.value[1] == -np.inf and np.isfinite(t.value[2])
    assert np.isnan(t.d1[0]) and np.isnan(t.ds[1])


def _twin(which, x):
    out = np.empty_like(x)
    kernel._special_twin(which, np.ascontiguousarray(x, dtype=float), out)
    return out


def test_kernel_log_equals_libm():
    # the kernel's branch-free log and log1p against numpy's (libm), to an ulp
    rng = np.random.default_rng(6)
    x = np.r_[np.exp(rng.uniform(-700, 700, 20000)), 1 + rng.uniform(-0.1, 0.1, 20000), [1.0, 2.0, 0.5]]
    ref = np.log(x)
    np.testing.assert_array_less(np.abs(_twin(0, x) - ref), 1.01 * np.spacing(np.abs(ref)) + 1e-300)
    special_x = np.array([0.0, 1e-310, np.inf, -1.0, np.nan])
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_array_equal(_twin(0, special_x), np.log(special_x))
    z = np.r_[rng.uniform(-0.999, 3, 20000), np.exp(rng.uniform(-40, 30, 20000)),
              -np.exp(rng.uniform(-40, -0.01, 20000))]
    ref = np.log1p(z)
    np.testing.assert_array_less(np.abs(_twin(1, z) - ref), 1.01 * np.spacing(np.abs(ref)) + 1e-300)
    np.testing.assert_array_equal(_twin(1, np.array([0.0, 1e-300, -1.0, np.inf])), [0.0, 1e-300, -np.inf, np.inf])


def test_kernel_special_functions():
    # log1p(z) - z, lgamma, digamma, trigamma of the kernel against mpmath at 40 digits
    rng = np.random.default_rng(12)
    z = np.r_[rng.uniform(-0.99, 3, 300), rng.uniform(-0.12, 0.12, 300), [1e-9, -1e-12, 0.1, -0.1]]
    x = np.r_[np.exp(rng.uniform(-6, 12, 300)), rng.uniform(0.5, 2.5, 200), [1.0, 2.0, 9.999999, 10.0]]
    got = {2: _twin(2, z), 3: _twin(3, x), 4: _twin(4, x), 5: _twin(5, x)}
    with mp.workdps(40):
        for i, zi in enumerate(z):
            ref = mp.log1p(mp.mpf(zi)) - mp.mpf(zi)
            assert _close(got[2][i], ref, rtol=1e-14), zi
        for i, xi in enumerate(x):
            xm = mp.mpf(xi)
            # lgamma to a few ulps of max(1, |lgamma|): absolute near its zeros at 1 and 2
            assert abs(got[3][i] - float(mp.loggamma(xm))) <= 1e-14 * max(1.0, abs(float(mp.loggamma(xm)))), xi
            assert abs(got[4][i] - float(mp.digamma(xm))) <= 1e-14 * max(1.0, abs(float(mp.digamma(xm)))), xi
            assert _close(got[5][i], mp.polygamma(1, xm), rtol=1e-14), xi


def test_kernel_status_codes():
    # the compiled loop does not validate data but refuses what would write out of bounds
    y, eta, out = np.ones(3), np.zeros((3, 2)), np.empty((3, 2))
    kind = kernel.KINDS[("gaussian", "identity")]
    assert kernel.family_terms(kind, y, y, eta, 1.0, 0, False, out) == 0
    assert kernel.family_terms(99, y, y, eta, 1.0, 0, False, out) == -1
    assert kernel.family_terms(kind, y, y, eta, 1.0, 1, False, out) == -2                  # d1 missing
    assert kernel.family_terms(kind, y, y, eta, 1.0, 0, True, out) == -2                   # ds, dss missing
    assert kernel.family_terms(kind, y[:2], y, eta, 1.0, 0, False, out) == -2              # y too short
    assert kernel.family_terms(kind, y, y, eta, 1.0, 0, False, np.empty((3, 1))) == -2     # wrong shape


# --- concavity -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, link", CASES, ids=IDS)
def test_concave_in_eta(name, link):
    rng = np.random.default_rng(7)
    f = make_family(name, link)
    for extreme in (False, True):
        y, n, eta = _data(name, link, 5000, rng, extreme=extreme)
        t = f.terms(y, n, eta, PHI.get(name), order=2)
        assert np.all(t.d2 < 0)


# --- links, variance, simulation, starts -----------------------------------------------------------------------

@pytest.mark.parametrize("name, link", CASES, ids=IDS)
def test_link_round_trip(name, link):
    f = make_family(name, link)
    # (cloglog: mu = 1 - exp(-exp(eta)) rounds to 1 quickly; the inverse is ill-conditioned beyond 2)
    eta = {"identity": np.linspace(-5, 5, 11), "inverse": np.linspace(0.1, 5, 11),
           "cloglog": np.linspace(-3, 2, 11)}.get(link, np.linspace(-3, 3, 11))
    np.testing.assert_allclose(f.link_function(f.inverse_link(eta)), eta, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, link", CASES, ids=IDS)
def test_simulate_moments(name, link):
    rng = np.random.default_rng(8)
    f = make_family(name, link)
    phi = PHI.get(name)
    draws = 40000
    eta_values = {"identity": [-1.0, 2.0], "inverse": [0.4, 1.5]}.get(link, [-0.8, 0.7])
    n_value = 4.0 if name == "binomial" else (1.0 if name in ("bernoulli", "poisson", "negative_binomial")
                                               else 2.0)
    for eta_value in eta_values:
        eta = np.full(draws, eta_value)
        ysim = f.simulate(eta, np.full(draws, n_value), phi, rng)
        mu = float(f.inverse_link(eta_value))
        var = float(f.variance(mu, phi))
        if name == "binomial":
            mean_exp, var_exp = n_value * mu, n_value * var
        elif name in ("gaussian", "Gamma"):
            mean_exp, var_exp = mu, var / n_value
        else:
            mean_exp, var_exp = mu, var
        assert abs(ysim.mean() - mean_exp) < 5 * np.sqrt(var_exp / draws)
        fourth = np.mean((ysim - ysim.mean()) ** 4)
        assert abs(ysim.var() - var_exp) < 5 * np.sqrt((fourth - var_exp ** 2) / draws) + 1e-12
        if name in ("binomial", "bernoulli", "poisson", "negative_binomial"):
            assert np.all(ysim == np.round(ysim)) and np.all(ysim >= 0)
        if name in ("binomial", "bernoulli"):
            assert np.all(ysim <= n_value)


def test_simulate_seed_and_shape():
    f = make_family("negative_binomial")
    a = f.simulate(np.zeros((3, 4)), None, 2.0, 11)
    b = f.simulate(np.zeros((3, 4)), None, 2.0, np.random.default_rng(11))
    assert a.shape == (3, 4) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name, link", CASES, ids=IDS)
def test_start_eta_is_finite_on_edge_data(name, link):
    f = make_family(name, link)
    if name == "binomial":
        y, n = np.array([0.0, 5.0, 2.0]), np.array([5.0, 5.0, 5.0])
    elif name == "bernoulli":
        y, n = np.array([0.0, 1.0]), None
    elif name in ("poisson", "negative_binomial"):
        y, n = np.array([0.0, 0.0, 7.0]), None
    elif name == "gaussian":
        y, n = np.array([-3.0, 0.0, 2.0]), None
    else:
        y, n = np.array([0.01, 1.0, 50.0]), None
    eta = f.start_eta(y, n)
    assert eta.shape == y.shape and np.all(np.isfinite(eta))
    assert np.all(np.isfinite(f.terms(y, n, eta, PHI.get(name), order=2).value))


@pytest.mark.parametrize("name, link, truth", [("gaussian", "identity", 1.7), ("Gamma", "log", 2.5),
                                               ("Gamma", "inverse", 0.8), ("negative_binomial", "log", 3.0)])
def test_start_dispersion_recovers_truth(name, link, truth):
    rng = np.random.default_rng(9)
    f = make_family(name, link)
    eta = rng.uniform(0.5, 2.0, 40000)
    n = np.ones_like(eta) if name == "negative_binomial" else rng.choice([1.0, 2.0], eta.size)
    y = f.simulate(eta, n, truth, rng)
    est = f.start_dispersion(y, n, f.inverse_link(eta))
    assert abs(est / truth - 1) < 0.1
    assert make_family("poisson").start_dispersion(y, None, np.ones_like(y)) is None


def test_start_dispersion_without_overdispersion():
    f = make_family("negative_binomial")
    y = np.array([1.0, 1.0, 1.0])
    assert f.start_dispersion(y, None, np.ones(3)) == 1e4


# --- construction and bad input ------------------------------------------------------------------------------

def test_make_family_names_and_defaults():
    assert repr(make_family("binomial")) == "binomial(link='logit')"
    assert make_family("bernoulli").link == "logit"
    assert make_family("poisson").link == "log"
    assert make_family("gaussian").link == "identity"
    assert make_family("Gamma").link == "inverse" and make_family("gamma") == make_family("Gamma")
    for alias in ("negative_binomial", "nbinom2", "negbin"):
        f = make_family(alias)
        assert f.name == "negative_binomial" and f.link == "log" and f.dispersion_name == "theta"
    assert [make_family(n).dispersion_name for n in ("gaussian", "Gamma", "binomial")] == ["sigma", "shape", None]
    assert not make_family("poisson").has_dispersion and make_family("gaussian").has_dispersion
    f = make_family("binomial", "probit")
    assert make_family(f) is f and make_family(f, "probit") is f
    assert isinstance(f, Family) and hash(f) == hash(make_family("binomial", "probit"))
    assert make_family("bernoulli") != make_family("binomial")
    with pytest.raises(AttributeError, match="immutable"):
        f.link = "logit"


def test_input_validation():
    with pytest.raises(ValueError, match=r"`family` must be one of 'binomial', .*got 'foo'"):
        make_family("foo")
    with pytest.raises(TypeError, match="`family` must be a str or a Family"):
        make_family(3)
    with pytest.raises(ValueError, match=r"`link` must be one of 'log' for poisson, got 'logit'"):
        make_family("poisson", "logit")
    with pytest.raises(ValueError, match=r"`link` must be one of 'logit', 'probit', 'cloglog' for binomial"):
        make_family("binomial", "log")
    with pytest.raises(ValueError, match=r"`link` must be None or 'logit'"):
        make_family(make_family("binomial"), "probit")

    binomial, bernoulli = make_family("binomial"), make_family("bernoulli")
    poisson, gamma, nb = make_family("poisson"), make_family("Gamma"), make_family("negative_binomial")
    gaussian = make_family("gaussian")
    with pytest.raises(ValueError, match="`y` must be non-negative counts: row 1"):
        poisson.validate([1, -1, 2])
    with pytest.raises(ValueError, match="`y` must be integer counts: row 2 has 1.5"):
        nb.validate([1, 0, 1.5])
    with pytest.raises(ValueError, match="`y` must be non-negative counts"):
        binomial.validate([-1, 0], [3, 3])
    with pytest.raises(ValueError, match=r"`y` \(successes\) must not exceed `n` \(trials\): row 0"):
        binomial.validate([4, 0], [3, 3])
    with pytest.raises(ValueError, match=r"`n` \(trials\) must be positive integers: row 1 has 2.5"):
        binomial.validate([1, 1], [3, 2.5])
    with pytest.raises(ValueError, match="`y` must be 0 or 1 for a bernoulli response: row 0 has y = 2.0"):
        bernoulli.validate([2, 0])
    with pytest.raises(ValueError, match="`n` must be 1 for a bernoulli response"):
        bernoulli.validate([1, 0], [1, 2])
    with pytest.raises(ValueError, match="`y` must be positive for the Gamma family: row 1"):
        gamma.validate([1.0, 0.0])
    with pytest.raises(ValueError, match=r"`n` \(weights or trials\) must be positive and finite: row 0"):
        poisson.validate([1, 2], [0, 1])
    with pytest.raises(ValueError, match=r"`n` \(weights or trials\) must be positive and finite: row 1"):
        gaussian.validate([1, 2], [1, np.inf])
    with pytest.raises(ValueError, match="`y` must be finite: row 0"):
        gaussian.validate([np.nan, 2])
    with pytest.raises(ValueError, match="`n` must have the shape of `y`"):
        poisson.validate([1, 2], [1, 1, 1])
    with pytest.raises(ValueError, match="`y` must be one-dimensional"):
        poisson.validate([[1, 2]])
    with pytest.raises(TypeError, match="`y` must be an array of real numbers"):
        poisson.validate(["a", "b"])
    with pytest.raises(ValueError, match="`y` must be non-negative counts"):
        poisson.log_constant([-1.0])
    binomial.validate([0, 3], [3, 3])
    gamma.validate([0.5, 2.0], [1.0, 0.5])

    y, eta = np.array([1.0, 2.0]), np.zeros(2)
    with pytest.raises(ValueError, match="`order` must be 0, 1, 2 or 3, got 4"):
        poisson.terms(y, None, eta, order=4)
    with pytest.raises(ValueError, match="`order` must be 0, 1, 2 or 3"):
        poisson.terms(y, None, eta, order=True)
    with pytest.raises(ValueError, match=r"`eta` must have shape \(N,\) or \(N, K\) with N = len\(y\) = 2"):
        poisson.terms(y, None, np.zeros(3))
    with pytest.raises(ValueError, match=r"`eta` must have shape"):
        poisson.terms(y, None, np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r"`phi` \(sigma\) must be a positive finite number"):
        gaussian.terms(y, None, eta)
    with pytest.raises(ValueError, match=r"`phi` \(theta\) must be a positive finite number"):
        nb.terms(y, None, eta, -1.0)
    with pytest.raises(ValueError, match=r"`phi` \(shape\) must be a positive finite number"):
        gamma.terms(y, None, eta + 1, np.inf)
    with pytest.raises(ValueError, match="`phi` must be None: poisson"):
        poisson.terms(y, None, eta, 1.0)
    with pytest.raises(ValueError, match="`dispersion` must be False: binomial"):
        binomial.terms(y, [2, 2], eta, dispersion=True)
    with pytest.raises(ValueError, match=r"`phi` \(theta\) must be a positive finite number"):
        nb.variance(2.0)
    with pytest.raises(ValueError, match=r"`phi` \(shape\) must be a positive finite number"):
        gamma.simulate(np.ones(3), None, None, 1)


def test_docstring_examples():
    # the module's Examples run as doctests (tests/test_docstrings.py covers the modules it lists)
    import doctest

    import quadlib.glmm._families as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
