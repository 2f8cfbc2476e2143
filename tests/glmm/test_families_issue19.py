"""quadlib.glmm._families, issue 19: the extended Family API (per-row phi, shape parameters, fixed shapes,
truncation helpers, validation with row labels), the aliases, NB1 and the zero-truncated families against
mpmath at 40 digits (including mu = 1e-6), pmfs summing to 1, and the kernel's per-row phi against a loop of
scalar calls, bit for bit. Every reference value is computed here, independently of the code under test."""
import pickle

import mpmath as mp
import numpy as np
import pytest
from scipy import special, stats

from quadlib.glmm._families import Family, FamilyTerms, make_family

NEW = ["negative_binomial1", "beta", "beta_binomial", "truncated_poisson", "truncated_negative_binomial",
       "tweedie", "student_t", "ordinal"]


# --- aliases, attributes, fixed shapes -------------------------------------------------------------------

@pytest.mark.parametrize("alias, name", [("nbinom2", "negative_binomial"), ("nbinom1", "negative_binomial1"),
                                         ("beta_family", "beta"), ("betabinomial", "beta_binomial"),
                                         ("truncated_nbinom2", "truncated_negative_binomial"),
                                         ("t_family", "student_t"), ("tweedie", "tweedie"),
                                         ("truncated_poisson", "truncated_poisson"), ("ordinal", "ordinal")])
def test_aliases(alias, name):
    f = make_family(alias)
    assert f.name == name
    assert f == make_family(name)
    assert isinstance(f, Family)


def test_attributes_of_the_families():
    expect = {  # name: (link, dispersion_name, shape_names, discrete, truncated, weights_are_trials)
        "binomial": ("logit", None, (), True, False, True),
        "bernoulli": ("logit", None, (), True, False, True),
        "poisson": ("log", None, (), True, False, False),
        "gaussian": ("identity", "sigma", (), False, False, False),
        "Gamma": ("inverse", "shape", (), False, False, False),
        "negative_binomial": ("log", "theta", (), True, False, False),
        "negative_binomial1": ("log", "phi", (), True, False, False),
        "beta": ("logit", "phi", (), False, False, False),
        "beta_binomial": ("logit", "phi", (), True, False, True),
        "truncated_poisson": ("log", None, (), True, True, False),
        "truncated_negative_binomial": ("log", "theta", (), True, True, False),
        "tweedie": ("log", "phi", ("power",), False, False, False),
        "student_t": ("identity", "sigma", ("df",), False, False, False),
        "ordinal": ("logit", None, ("thresholds",), False, False, False),
    }
    for name, (link, disp, shapes, discrete, truncated, trials) in expect.items():
        f = make_family(name)
        assert (f.link, f.dispersion_name, f.shape_names, f.discrete, f.truncated, f.weights_are_trials) == \
            (link, disp, shapes, discrete, truncated, trials), name
        assert f.has_dispersion == (disp is not None)
        assert f.fixed == {}
    assert make_family("ordinal", "cloglog").link == "cloglog"


def test_fixed_shapes_pickle_compare_and_print():
    t5 = make_family("student_t", df=5.0)
    assert repr(t5) == "student_t(link='identity', df=5.0)"
    assert t5.shape_names == () and t5.fixed == {"df": 5.0}
    assert t5 == make_family("t_family", df=5) and hash(t5) == hash(make_family("t_family", df=5))
    assert t5 != make_family("student_t") and t5 != make_family("student_t", df=6.0)
    tw = make_family("tweedie", power=1.6)
    assert repr(tw) == "tweedie(link='log', power=1.6)"
    for f in (t5, tw, make_family("tweedie"), make_family("ordinal", "probit"), make_family("nbinom1")):
        g = pickle.loads(pickle.dumps(f))
        assert g == f and type(g) is type(f) and g.fixed == f.fixed and repr(g) == repr(f)
    # a fixed shape is used by terms and needs no shape argument; a free one does
    y, eta = np.array([0.5, 2.0]), np.array([[0.1], [1.5]])
    a = t5.terms(y, None, eta, phi=1.3, dispersion=True)
    b = make_family("student_t").terms(y, None, eta, phi=1.3, dispersion=True, shape=[5.0])
    np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(a.d2s, b.d2s)
    assert a.dshape is None and b.dshape.shape == (1, 2, 1)


def test_shape_coordinates_round_trip_and_jacobian():
    for name, natural in [("tweedie", [1.37]), ("student_t", [3.5]), ("ordinal", [-1.0, 0.2, 2.5])]:
        f = make_family(name)
        c = f.shape_coordinates(natural)
        np.testing.assert_allclose(f.shape_natural(c), natural, rtol=1e-14)
        J = f.shape_jacobian(c)
        h = 1e-6
        for k in range(len(c)):
            e = np.zeros(len(c))
            e[k] = h
            np.testing.assert_allclose((f.shape_natural(c + e) - f.shape_natural(c - e)) / (2 * h), J[:, k],
                                       rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(make_family("tweedie").shape_coordinates([1.5]), [0.0], atol=0)
    np.testing.assert_allclose(make_family("student_t").shape_coordinates([np.e]), [1.0], rtol=1e-15)
    p = make_family("poisson")
    assert p.shape_coordinates([]).shape == (0,) and p.shape_jacobian([]).shape == (0, 0)


# --- per-row phi ---------------------------------------------------------------------------------------

PHI_CASES = [("gaussian", "identity"), ("Gamma", "log"), ("Gamma", "inverse"), ("negative_binomial", "log"),
             ("negative_binomial1", "log"), ("truncated_negative_binomial", "log"), ("beta", "logit"),
             ("beta_binomial", "logit"), ("tweedie", "log"), ("student_t", "identity")]


def _row_data(name, N, rng):
    n = rng.uniform(0.5, 3.0, N)
    if name == "gaussian" or name == "student_t":
        y = rng.normal(0, 3, N)
    elif name == "Gamma":
        y = rng.gamma(2.0, 1.5, N)
    elif name == "beta":
        y = rng.uniform(0.01, 0.99, N)
    elif name == "beta_binomial":
        n = rng.integers(1, 12, N).astype(float)
        y = np.floor(rng.uniform(0, 1, N) * (n + 1))
    elif name == "tweedie":
        y = np.where(rng.uniform(size=N) < 0.3, 0.0, rng.gamma(2.0, 1.0, N))
    else:
        y = rng.negative_binomial(2.0, 0.3, N).astype(float)
        y[rng.uniform(size=N) < 0.1] = 300.0          # beyond the kernel's count table and the finite sums
        if name.startswith("truncated"):
            y = np.maximum(y, 1.0)
    return y, n


@pytest.mark.parametrize("name, link", PHI_CASES)
def test_per_row_phi_equals_loop_of_scalar_calls_bit_for_bit(name, link):
    rng = np.random.default_rng(19)
    N, K = 40, 3
    y, n = _row_data(name, N, rng)
    f = make_family(name, link)
    eta = rng.uniform(0.1, 2.0, (N, K)) if (name, link) == ("Gamma", "inverse") else rng.normal(0, 1.5, (N, K))
    if name == "beta_binomial" or name == "beta":
        eta = rng.normal(0, 1, (N, K))
    phi = np.exp(rng.normal(0, 1, N))
    phi[5:9] = phi[4]                     # runs of equal phi (the kernel reuses row constants across them)
    shape = {"tweedie": [1.45], "student_t": [4.5]}.get(name)
    whole = f.terms(y, n, eta, phi, order=3, dispersion=True, shape=shape)
    for i in range(N):
        one = f.terms(y[i:i + 1], n[i:i + 1], eta[i:i + 1], float(phi[i]), order=3, dispersion=True, shape=shape)
        for field in FamilyTerms.__dataclass_fields__:
            a, b = getattr(whole, field), getattr(one, field)
            assert (a is None) == (b is None), field
            if a is not None:
                a = a[:, i:i + 1] if field.endswith("shape") else a[i:i + 1]
                np.testing.assert_array_equal(a, b, err_msg=f"{field} row {i}")


def test_per_row_phi_constant_equals_scalar_and_checks():
    rng = np.random.default_rng(3)
    f = make_family("negative_binomial")
    y = rng.negative_binomial(2.0, 0.3, 50).astype(float)
    eta = rng.normal(0, 1, (50, 2))
    a = f.terms(y, None, eta, 2.5, order=3, dispersion=True)
    b = f.terms(y, None, eta, np.full(50, 2.5), order=3, dispersion=True)
    for field in ("value", "d1", "d2", "d3", "ds", "d1s", "d2s", "dss"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    with pytest.raises(ValueError, match="`phi`"):
        f.terms(y, None, eta, np.full(49, 2.5))
    with pytest.raises(ValueError, match="`phi`.*row 3"):
        bad = np.full(50, 2.5)
        bad[3] = -1.0
        f.terms(y, None, eta, bad)
    with pytest.raises(ValueError, match="`phi`"):
        f.terms(y, None, eta, np.full(50, np.nan))


# --- bad input (the family rows of the design's §11) ----------------------------------------------------

def test_input_validation():
    labels = [f"r{i}" for i in range(20)]
    y = np.full(20, 0.5)
    y[[12, 15]] = 1.0
    y[[2, 3, 4, 5, 6, 7]] = 0.0
    with pytest.raises(ValueError, match=r"`y` must be in \(0, 1\) for the beta family: rows r2, r3, r4, r5, "
                                         r"r6 \(and 3 more\) have y = 0.0.*squeeze it"):
        make_family("beta").validate(y, row_labels=labels)
    with pytest.raises(ValueError, match=r"`y` must be in \(0, 1\) for the beta family: row 1 has y = 1.0"):
        make_family("beta_family").validate([0.3, 1.0])
    for name in ("negative_binomial1", "truncated_poisson", "truncated_negative_binomial", "beta_binomial"):
        with pytest.raises(ValueError, match="`y` must be non-negative counts: row b has -1.0"):
            make_family(name).validate([2.0, -1.0], [3, 3], row_labels=["a", "b"])
        with pytest.raises(ValueError, match="`y` must be integer counts: row 1 has 1.5"):
            make_family(name).validate([2.0, 1.5], [3, 3])
    with pytest.raises(ValueError, match=r"`y` \(successes\) must not exceed `n` \(trials\): row 1"):
        make_family("betabinomial").validate([2.0, 4.0], [3, 3])
    with pytest.raises(ValueError, match=r"`n` \(trials\) must be positive integers: row 0 has 2.5"):
        make_family("betabinomial").validate([2.0, 1.0], [2.5, 3])
    with pytest.raises(ValueError, match="`y`: truncated_poisson is zero-truncated but rows 1, 3 are 0: add "
                                         "ziformula='~1' for a hurdle model, or use family='poisson'"):
        make_family("truncated_poisson").validate([1, 0, 2, 0])
    with pytest.raises(ValueError, match="truncated_negative_binomial is zero-truncated but row x is 0.*"
                                         "family='negative_binomial'"):
        make_family("truncated_nbinom2").validate([0, 1], row_labels=["x", "y"])
    make_family("truncated_poisson").validate([1, 0, 2, 0], zero_inflated=True)      # a hurdle: fine
    with pytest.raises(ValueError, match="`row_labels` must have one label per row"):
        make_family("poisson").validate([1, 2], row_labels=["a"])
    with pytest.raises(ValueError, match="`y` must be non-negative for the tweedie family: row 0"):
        make_family("tweedie").validate([-0.5, 1.0])
    with pytest.raises(ValueError, match="`y` must be category codes 1..K"):
        make_family("ordinal").validate([1, 2, 0])
    # fixed shapes
    for bad in (2.5, 1.0, 2.0, np.nan, "1.5", True):
        with pytest.raises(ValueError, match=r"`power` must be in \(1, 2\), got"):
            make_family("tweedie", power=bad)
    with pytest.raises(ValueError, match=r"`power` must be in \(1, 2\), got 2.5"):
        make_family("tweedie", power=2.5)
    for bad in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="`df` must be positive and finite, got"):
            make_family("student_t", df=bad)
    with pytest.raises(ValueError, match="`df` is not a shape parameter of tweedie"):
        make_family("tweedie", df=3.0)
    with pytest.raises(ValueError, match="`power` is not a shape parameter of poisson"):
        make_family("poisson", power=1.5)
    with pytest.raises(ValueError, match="`thresholds` cannot be fixed"):
        make_family("ordinal", thresholds=[0.0, 1.0])
    with pytest.raises(ValueError, match="`df` cannot be fixed when `family` is a Family"):
        make_family(make_family("student_t"), df=3.0)
    with pytest.raises(ValueError, match="`link` must be one of 'logit' for beta, got 'probit'"):
        make_family("beta", "probit")
    # shapes at terms
    eta = np.zeros((2, 1))
    with pytest.raises(ValueError, match=r"`shape` \(df\) is required"):
        make_family("student_t").terms([0.0, 1.0], None, eta, phi=1.0)
    with pytest.raises(ValueError, match="`df` must be positive and finite"):
        make_family("student_t").terms([0.0, 1.0], None, eta, phi=1.0, shape=[-2.0])
    with pytest.raises(ValueError, match="`shape` must be None: the shape of .* is fixed"):
        make_family("student_t", df=3.0).terms([0.0, 1.0], None, eta, phi=1.0, shape=[3.0])
    with pytest.raises(ValueError, match="`shape` must be None: poisson"):
        make_family("poisson").terms([0.0, 1.0], None, eta, shape=[3.0])
    with pytest.raises(ValueError, match=r"`shape` must hold 1 value"):
        make_family("tweedie").terms([0.0, 1.0], None, eta, phi=1.0, shape=[1.5, 1.6])
    with pytest.raises(ValueError, match="strictly increasing"):
        make_family("ordinal").terms([1.0, 2.0], None, eta, shape=[1.0, 0.0])
    with pytest.raises(ValueError, match="`dispersion` must be False"):
        make_family("truncated_poisson").terms([1.0, 2.0], None, eta, dispersion=True)
    with pytest.raises(ValueError, match="`family`: log_nonzero is defined for count families"):
        make_family("gaussian").log_nonzero(1.0, phi=1.0)


# --- NB1 and the truncated families against mpmath (40 digits) ---------------------------------------------

mp.mp.dps = 40


def _mp_nb1(y):
    """glmmTMB's nbinom1: size r = mu/phi, prob 1/(1 + phi); the log pmf plus lgamma(y + 1), in (eta, s)."""
    def f(e, s):
        mu, ph = mp.e ** e, mp.e ** s
        r = mu / ph
        return mp.loggamma(y + r) - mp.loggamma(r) - r * mp.log1p(ph) + y * (s - mp.log1p(ph))
    return f


def _mp_truncated_poisson(y):
    return lambda e, s: y * e - mp.e ** e - mp.log(-mp.expm1(-mp.e ** e))


def _mp_truncated_nb2(y):
    def f(e, s):
        mu, th = mp.e ** e, mp.e ** s
        log_p0 = th * (s - mp.log(th + mu))
        return (mp.loggamma(y + th) - mp.loggamma(th) + log_p0 + y * (e - mp.log(th + mu))
                - mp.log(-mp.expm1(log_p0)))
    return f


ORDERS = {"value": (0, 0), "d1": (1, 0), "d2": (2, 0), "d3": (3, 0), "ds": (0, 1), "d1s": (1, 1), "d2s": (2, 1),
          "dss": (0, 2)}
# phi = 1e-8 (NB1) and theta = 1e8 (NB2) are the Poisson limits: s-derivatives that are O(phi) there, and
# gamma-function differences at arguments of 1e8
MP_CASES = [("negative_binomial1", _mp_nb1, [1e-8, 0.05, 1.3, 40.0]),
            ("truncated_poisson", _mp_truncated_poisson, [None]),
            ("truncated_negative_binomial", _mp_truncated_nb2, [0.3, 2.0, 1e3, 1e8])]


@pytest.mark.parametrize("name, ref, phis", MP_CASES, ids=[c[0] for c in MP_CASES])
def test_nb1_and_truncated_derivatives_against_mpmath(name, ref, phis):
    fam = make_family(name)
    # mu from 1e-6 (the truncation's cancellation, risk §14.6) to 12; y up to 2000 (beyond the finite sums:
    # NB1's polygamma path there is accurate for phi >= 0.05, not in the Poisson limit phi = 1e-8)
    for y in (1, 2, 7, 80, 1000, 2000):
        for eta in (np.log(1e-6), -3.0, 0.3, 2.5):
            for phi in phis:
                if y == 2000 and phi == 1e-8:
                    continue
                disp = phi is not None
                t = fam.terms([float(y)], None, np.array([[eta]]), phi, order=3, dispersion=disp)
                point = (mp.mpf(eta), mp.log(mp.mpf(phi)) if disp else mp.mpf(0))
                for field, o in ORDERS.items():
                    if o[1] and not disp:
                        continue
                    exact = mp.diff(ref(y), point, o)
                    # the s-derivatives of NB2 (the compiled kernel's, which the truncated NB2 reuses) are
                    # differences of O(1/theta^2) terms at small mu: accurate to ~2e-16 absolutely there
                    atol = 1e-15 if (o[1] and name.startswith("truncated")) else 0.0
                    got = getattr(t, field)[0, 0]
                    assert abs(got - exact) <= 1e-12 * abs(exact) + atol, (field, y, eta, phi, got, float(exact))


def test_prior_weights_multiply_value_and_derivatives():
    rng = np.random.default_rng(5)
    y = np.array([1.0, 3.0, 70.0, 2.0])
    w = np.array([0.5, 2.0, 1.5, 3.0])
    eta = rng.normal(0, 1, (4, 3))
    for name, phi in (("negative_binomial1", 0.8), ("truncated_poisson", None), ("truncated_negative_binomial", 2.0)):
        f = make_family(name)
        disp = phi is not None
        a = f.terms(y, w, eta, phi, order=3, dispersion=disp)
        b = f.terms(y, None, eta, phi, order=3, dispersion=disp)
        for field in ORDERS:
            if getattr(b, field) is not None:
                np.testing.assert_allclose(getattr(a, field), w[:, None] * getattr(b, field), rtol=1e-15,
                                           err_msg=f"{name} {field}")


@pytest.mark.parametrize("name, phi", [("negative_binomial1", 0.3), ("negative_binomial1", 25.0),
                                       ("truncated_poisson", None), ("truncated_negative_binomial", 0.4),
                                       ("truncated_negative_binomial", 50.0)])
def test_pmf_sums_to_one_and_moments(name, phi):
    f = make_family(name)
    lo = 1 if f.truncated else 0
    y = np.arange(lo, 3000, dtype=float)
    for mu in (1e-6, 0.7, 9.0):
        pmf = np.exp(f.terms(y, None, np.full(y.size, np.log(mu)), phi, order=0).value
                     - special.gammaln(y + 1))
        assert abs(pmf.sum() - 1.0) < 1e-13
        m = np.sum(y * pmf)
        assert m == pytest.approx(float(f.mean(mu, phi)), rel=1e-12)
        assert np.sum((y - m) ** 2 * pmf) == pytest.approx(float(f.variance(mu, phi)), rel=1e-9, abs=1e-15)


def test_truncated_pmf_equals_scipy():
    y = np.arange(1, 40, dtype=float)
    for mu, th in ((0.2, 0.5), (3.0, 4.0), (11.0, 200.0)):
        ref = stats.nbinom.logpmf(y, th, th / (th + mu)) - np.log(stats.nbinom.sf(0, th, th / (th + mu)))
        got = make_family("truncated_negative_binomial").terms(y, None, np.full(y.size, np.log(mu)), th, order=0)
        np.testing.assert_allclose(got.value - special.gammaln(y + 1), ref, rtol=1e-12)
        ref = stats.poisson.logpmf(y, mu) - np.log(stats.poisson.sf(0, mu))
        got = make_family("truncated_poisson").terms(y, None, np.full(y.size, np.log(mu)), order=0)
        np.testing.assert_allclose(got.value - special.gammaln(y + 1), ref, rtol=1e-12)
        ref = stats.nbinom.logpmf(y, mu / th, 1 / (1 + th))
        got = make_family("nbinom1").terms(y, None, np.full(y.size, np.log(mu)), th, order=0)
        np.testing.assert_allclose(got.value - special.gammaln(y + 1), ref, rtol=1e-12)


def test_log_nonzero_and_mean_against_mpmath():
    for mu in (1e-6, 0.3, 5.0, 50.0):
        m = mp.mpf(mu)
        exact = mp.log(-mp.expm1(-m))
        assert float(make_family("truncated_poisson").log_nonzero(mu)) == pytest.approx(float(exact), rel=1e-14)
        assert float(make_family("poisson").log_nonzero(mu)) == pytest.approx(float(exact), rel=1e-14)
        th = mp.mpf(2.5)
        p0 = (th / (th + m)) ** th
        f = make_family("truncated_negative_binomial")
        assert float(f.log_nonzero(mu, 2.5)) == pytest.approx(float(mp.log(1 - p0)), rel=1e-13)
        assert float(f.mean(mu, 2.5)) == pytest.approx(float(m / (1 - p0)), rel=1e-13)
        ph = mp.mpf(0.7)
        p0 = (1 + ph) ** (-m / ph)
        assert float(make_family("nbinom1").log_nonzero(mu, 0.7)) == pytest.approx(float(mp.log(1 - p0)), rel=1e-13)
    assert float(make_family("nbinom1").mean(2.0, 0.7)) == 2.0


@pytest.mark.parametrize("name, phi, shape, eta", [
    ("negative_binomial1", 1.5, None, 1.2), ("truncated_poisson", None, None, -0.5),
    ("truncated_negative_binomial", 1.2, None, 0.8), ("beta", 6.0, None, 0.4), ("tweedie", 1.3, [1.4], 0.5),
    ("student_t", 0.7, [6.0], 0.3)])
def test_simulate_moments(name, phi, shape, eta):
    f = make_family(name)
    draws = f.simulate(np.full(40000, eta), None, phi, rng=7, shape=shape)
    mu = f.inverse_link(eta)
    mean, var = float(f.mean(mu, phi)), float(f.variance(mu, phi, shape=shape))
    assert abs(draws.mean() - mean) < 5 * np.sqrt(var / draws.size)
    assert draws.var() == pytest.approx(var, rel=0.06)
    if f.truncated:
        assert draws.min() >= 1


def test_simulate_beta_binomial_and_ordinal():
    f = make_family("beta_binomial")
    n = np.full(40000, 10.0)
    draws = f.simulate(np.full(n.size, 0.3), n, 4.0, rng=3)
    mu = special.expit(0.3)
    assert abs(draws.mean() - 10 * mu) < 0.05
    assert draws.var() == pytest.approx(10 * mu * (1 - mu) * (1 + 9 / 5.0), rel=0.05)
    theta = np.array([-1.0, 0.5, 2.0])
    for link, cdf in (("logit", special.expit), ("probit", special.ndtr), ("cloglog", lambda x: -np.expm1(-np.exp(x)))):
        g = make_family("ordinal", link)
        draws = g.simulate(np.full(40000, 0.4), shape=theta, rng=11)
        share = [(draws <= j + 1).mean() for j in range(3)]
        np.testing.assert_allclose(share, cdf(theta - 0.4), atol=0.01)


def test_start_dispersion_recovers_truth():
    rng = np.random.default_rng(2)
    mu = np.exp(rng.normal(1.0, 0.5, 20000))
    y = rng.poisson(rng.gamma(mu / 2.0, 2.0)).astype(float)       # NB1 with phi = 2
    assert make_family("nbinom1").start_dispersion(y, None, mu) == pytest.approx(2.0, rel=0.1)
    m = special.expit(rng.normal(0, 1, 20000))
    yb = rng.beta(m * 8.0, (1 - m) * 8.0)
    assert make_family("beta").start_dispersion(yb, None, m) == pytest.approx(8.0, rel=0.1)
    n = np.full(20000, 12.0)
    ybb = rng.binomial(12, rng.beta(m * 3.0, (1 - m) * 3.0)).astype(float)
    assert make_family("beta_binomial").start_dispersion(ybb, n, m) == pytest.approx(3.0, rel=0.1)
    yt = 1.0 + 2.0 * rng.standard_t(5.0, 20000)
    assert make_family("student_t").start_dispersion(yt, None, np.ones(20000)) == pytest.approx(2.0, rel=0.1)
    f = make_family("tweedie", power=1.5)
    yw = f.simulate(np.log(mu), phi=1.7, rng=4)
    assert f.start_dispersion(yw, None, mu) == pytest.approx(1.7, rel=0.15)


def test_truncated_terms_are_finite_at_extreme_eta_and_zero_rows():
    # y = 0 rows of a hurdle model are overwritten by the response model, but must not be NaN/inf
    eta = np.array([[-40.0, -10.0, 0.0, 10.0, 30.0]] * 3)
    y = np.array([0.0, 1.0, 5.0])
    for name, phi in (("truncated_poisson", None), ("truncated_negative_binomial", 1.7),
                      ("truncated_negative_binomial", 1e6)):
        t = make_family(name).terms(y, None, eta, phi, order=3, dispersion=phi is not None)
        for field in ORDERS:
            a = getattr(t, field)
            if a is not None:
                assert np.all(np.isfinite(a)), (name, phi, field)


@pytest.mark.parametrize("name, phi", [("negative_binomial1", 0.6), ("truncated_negative_binomial", 1.4),
                                       ("truncated_poisson", None)])
def test_each_order_and_dispersion_equals_the_full_call(name, phi):
    # the lower orders are not computed by a different path: every subset equals the order-3 call
    rng = np.random.default_rng(8)
    y = np.concatenate([rng.negative_binomial(1.0, 0.2, 60).astype(float), [0.0, 64.0, 65.0, 200.0]])
    y = np.maximum(y, 1.0) if name.startswith("truncated") else y
    eta = rng.normal(0.5, 1.5, (y.size, 4))
    f = make_family(name)
    disp_options = (False, True) if phi is not None else (False,)
    full = f.terms(y, None, eta, phi, order=3, dispersion=phi is not None)
    for order in range(4):
        for disp in disp_options:
            t = f.terms(y, None, eta, phi, order=order, dispersion=disp)
            for field in ORDERS:
                got = getattr(t, field)
                if got is not None:
                    np.testing.assert_allclose(got, getattr(full, field), rtol=1e-14, atol=1e-300,
                                               err_msg=f"{field} at order {order}, dispersion {disp}")
            assert (t.d1 is None) == (order < 1) and (t.d3 is None) == (order < 3)
            assert (t.ds is None) == (not disp) and (t.d2s is None) == (not disp or order < 2)


# --- the delegated families through Family: value + log_constant is the full log density --------------------

def test_delegated_families_value_plus_constant_is_the_log_density():
    rng = np.random.default_rng(12)
    N = 30
    eta = rng.normal(0, 1, N)
    mu = special.expit(eta)
    y = rng.uniform(0.02, 0.98, N)
    f = make_family("beta")
    got = f.terms(y, None, eta, 4.0, order=0).value.sum() + f.log_constant(y)
    assert got == pytest.approx(stats.beta.logpdf(y, mu * 4.0, (1 - mu) * 4.0).sum(), rel=1e-12)
    n = rng.integers(1, 15, N).astype(float)
    k = np.floor(rng.uniform(0, 1, N) * (n + 1))
    f = make_family("betabinomial")
    got = f.terms(k, n, eta, 2.5, order=0).value.sum() + f.log_constant(k, n)
    assert got == pytest.approx(stats.betabinom.logpmf(k, n, mu * 2.5, (1 - mu) * 2.5).sum(), rel=1e-12)
    f = make_family("student_t", df=3.5)
    yt = rng.normal(0, 2, N)
    got = f.terms(yt, None, eta, 1.7, order=0).value.sum() + f.log_constant(yt)
    assert got == pytest.approx(stats.t.logpdf(yt, 3.5, eta, 1.7).sum(), rel=1e-12)
    theta = np.array([-0.8, 0.1, 1.9])
    codes = rng.integers(1, 5, N).astype(float)
    cut = np.concatenate([[-np.inf], theta, [np.inf]])
    ref = np.log(special.expit(cut[codes.astype(int)] - eta) - special.expit(cut[codes.astype(int) - 1] - eta))
    got = make_family("ordinal").terms(codes, None, eta, order=0, shape=theta).value
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_tweedie_through_family_is_the_compound_poisson_gamma_density():
    # f(y) = sum_N Pois(N; lam) Gamma(y; N a, scale g), an independent series (not the W series)
    p, phi, mu = 1.4, 1.3, 2.2
    lam, a, g = mu ** (2 - p) / (phi * (2 - p)), (2 - p) / (p - 1), phi * (p - 1) * mu ** (p - 1)
    y = np.array([0.0, 0.3, 1.0, 2.5, 7.0])
    counts = np.arange(1, 200)
    ref = np.array([np.exp(-lam) if v == 0 else
                    np.sum(stats.poisson.pmf(counts, lam) * stats.gamma.pdf(v, counts * a, scale=g)) for v in y])
    f = make_family("tweedie", power=p)
    got = f.terms(y, None, np.full(y.size, np.log(mu)), phi, order=0).value
    got = got + np.where(y > 0, -np.log(np.where(y > 0, y, 1.0)), 0.0)       # the per-row log_constant
    np.testing.assert_allclose(got, np.log(ref), rtol=1e-10)
    assert f.log_constant(y) == pytest.approx(-np.sum(np.log(y[1:])), rel=1e-14)


@pytest.mark.parametrize("name, n, phi", [("poisson", None, None), ("negative_binomial", None, 2.0),
                                          ("negative_binomial1", None, 0.5), ("binomial", 7.0, None),
                                          ("beta_binomial", 7.0, 3.0)])
def test_log_constant_vanishes_at_zero(name, n, phi):
    # the zero-inflated mixture (§4.2) takes the family's value at y = 0 as the full log P(0)
    f = make_family(name)
    nn = None if n is None else np.array([n])
    assert f.log_constant([0.0], nn) == 0.0
    mu = 0.8 if f.link == "log" else 0.3
    value = f.terms([0.0], nn, np.array([float(f.link_function(mu))]), phi, order=0).value[0]
    ref = {"poisson": stats.poisson.logpmf(0, mu), "negative_binomial": stats.nbinom.logpmf(0, 2.0, 2.0 / 2.8),
           "negative_binomial1": stats.nbinom.logpmf(0, mu / 0.5, 1 / 1.5), "binomial": stats.binom.logpmf(0, 7, mu),
           "beta_binomial": stats.betabinom.logpmf(0, 7, mu * 3.0, (1 - mu) * 3.0)}[name]
    assert value == pytest.approx(ref, rel=1e-13)


def test_shapes_outside_the_domain_are_domain_errors_and_coordinates_stay_inside():
    from quadlib import DomainError
    eta = np.zeros((2, 1))
    with pytest.raises(DomainError, match=r"`power` must be in \(1, 2\)"):
        make_family("tweedie").terms([0.0, 1.0], None, eta, phi=1.0, shape=[2.0])
    with pytest.raises(DomainError, match="`df` must be positive"):
        make_family("student_t").terms([0.0, 1.0], None, eta, phi=1.0, shape=[0.0])
    with pytest.raises(DomainError, match="strictly increasing"):
        make_family("ordinal").terms([1.0, 2.0], None, eta, shape=[0.5, 0.5])
    tw = make_family("tweedie")
    for c in (-800.0, -40.0, 40.0, 800.0):
        p = tw.shape_natural([c])
        assert 1.0 < p[0] < 2.0
        tw.terms([0.0, 1.0], None, eta, phi=1.0, shape=p, order=0)          # no exception
    assert make_family("student_t").shape_natural([-800.0])[0] > 0


def test_nb1_kernel_equals_numpy_twin():
    from quadlib.glmm._families import _nb1_terms
    rng = np.random.default_rng(21)
    N, K = 300, 4
    y = np.concatenate([rng.negative_binomial(0.7, 0.1, N - 6).astype(float),
                        [0.0, 64.0, 65.0, 1024.0, 1025.0, 3000.0]])
    n = rng.uniform(0.5, 2.0, N)
    eta = rng.normal(0.0, 3.0, (N, K))
    for phi in (1.7, np.exp(rng.normal(0, 2, N))):
        for order, disp in ((0, False), (2, True), (3, True)):
            got = make_family("nbinom1").terms(y, n, eta, phi, order=order, dispersion=disp)
            twin = _nb1_terms(y, n, eta, phi, order, disp)
            for key, a in twin.items():
                np.testing.assert_allclose(getattr(got, key), a, rtol=2e-13, atol=1e-15 * np.abs(a).max(),
                                           err_msg=f"{key} order {order}")


def test_tweedie_compiled_series_equals_the_vectorized_one():
    """The compiled W series (tweedie_log_series) against the numpy twin (_tweedie_sum): the same terms summed
    in another order, over p in (1, 2), y and phi over several decades; rows the walk declines (largest term
    beyond its reach, here phi tiny) are summed by the twin, NaN where the series is too long for both."""
    from quadlib._extensions import _families as kernel
    from quadlib.glmm import _densities

    rng = np.random.default_rng(19)
    for p in (1.02, 1.3, 1.5, 1.77, 1.98):
        y = np.exp(rng.uniform(-6.0, 6.0, 400))
        phi = np.exp(rng.uniform(-5.0, 3.0, 400))
        phi[:3] = 1e-9                                        # the estimate's j ~ 1e9: declined by the walk
        got = _densities.tweedie_log_series(y, phi, p, derivatives=True)
        want = _densities._tweedie_sum(np.log(y), np.log(phi), p, True)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
            np.testing.assert_allclose(g[~np.isnan(w)], w[~np.isnan(w)], rtol=2e-13, atol=1e-13)
        out = [np.empty(3) for _ in range(3)]
        assert kernel.tweedie_series(np.log(y[:3]), np.log(phi[:3]), p, True, 20_000, *out) == 3
        assert np.all(np.isnan(out[0]))
    assert kernel.tweedie_series(np.zeros(2), np.zeros(3), 1.5, True, 20_000, *[np.empty(2)] * 3) == -2


def test_tweedie_series_memo_is_keyed_on_the_values():
    """The last rows' series is reused only for equal y, phi and p (compared, not by identity)."""
    from quadlib.glmm import _densities

    y = np.array([0.0, 0.4, 2.5, 7.0])
    eta = np.array([0.1, -0.2, 0.3, 0.5])
    first = _densities.tweedie_terms(y, None, eta, 1.2, [1.4], order=2, dispersion=True)
    again = _densities.tweedie_terms(y.copy(), None, eta, 1.2, [1.4], order=2, dispersion=True)
    for k in first:
        np.testing.assert_array_equal(first[k], again[k])
    for phi, p in ((1.3, 1.4), (1.2, 1.45)):
        other = _densities.tweedie_terms(y, None, eta, phi, [p], order=0)
        _densities._tweedie_memo = None
        fresh = _densities.tweedie_terms(y, None, eta, phi, [p], order=0)
        np.testing.assert_array_equal(other["value"], fresh["value"])
        assert not np.allclose(other["value"], first["value"])


@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_beta_binomial_compiled_sums_equal_the_vectorized_ones(order):
    """beta_binomial_terms' compiled pass (every row with at most 64 trials) against its numpy version, over
    phi from 0.05 to 2e4 (scalar and per row), eta to +-9, every count 0..n."""
    from quadlib._extensions import _families as kernel
    from quadlib.glmm import _densities

    rng = np.random.default_rng(order)
    N = 400
    n = rng.integers(1, 65, N).astype(float)
    y = np.floor(rng.random(N) * (n + 1))
    for phi, shape in ((np.exp(rng.uniform(-3.0, 10.0, N)), (N, 3)), (7.5, (N,))):
        eta = rng.normal(0.0, 3.0, shape)
        for dispersion in (False, True):
            got = _densities.beta_binomial_terms(y, n, eta, phi, None, order, dispersion)
            yy, nn, ee, pp, col = _densities._common(y, n, eta, phi, order)
            want = _densities._beta_binomial_numpy(yy, nn, ee, pp, col, order, dispersion)
            assert set(got) == set(want)
            for key in want:
                np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-12 * np.max(np.abs(want[key])))
    out = np.empty((N - 1, 1))
    assert kernel.beta_binomial_sums(y, n, np.zeros((N - 1, 1)), np.ones(N), 0, False, out) == -2


def test_truncated_poisson_compiled_equals_the_vectorized_twin():
    """The family's compiled zero-truncated Poisson against its numpy version, both sides of A = mu = 1 and
    the tails (mu from e^-30 to e^9), every order, prior weights."""
    from quadlib._extensions import _families as kernel
    from quadlib.glmm import _families as families

    rng = np.random.default_rng(7)
    N = 500
    y = rng.integers(1, 9, N).astype(float)
    n = rng.uniform(0.5, 2.0, N)
    for K in (1, 4):
        eta = rng.normal(0.0, 3.0, (N, K))
        eta[:6, 0] = [-30.0, -8.0, -1e-12, 0.0, 1e-12, 5.0]
        for order in range(4):
            got = families._truncated_poisson_compiled(y, n, eta, order)
            want = families._truncated_poisson_terms(y, n, eta, order)
            assert set(got) == set(want)
            for key in want:
                np.testing.assert_allclose(got[key], want[key], rtol=1e-13, atol=1e-14)
    assert kernel.truncated_poisson_terms(y[:-1], n, eta, 0, *families._LOGH_HORNER, np.empty(eta.shape)) == -2
