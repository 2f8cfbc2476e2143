"""ResponseModel (issue 19, design note §4): zero-inflated and hurdle row densities and their derivatives
against mpmath (40 digits), the dispersion model, and the pull-back of the channels against differences of
the summed value."""
import pickle

import mpmath as mp
import numpy as np
import pytest
from scipy import special

from quadlib.glmm._families import FamilyTerms, make_family
from quadlib.glmm._response import AuxValues, ResponseModel
from quadlib.glmm._objective import glm_start

mp.mp.dps = 40


# ------------------------------------------------------------------------------------------- mpmath references
def _log_pmf(family, y, eta, s, n):
    """The full log pmf of one observation (no zero-inflation), mpmath."""
    mu = mp.exp(eta) if family != "binomial" else 1 / (1 + mp.exp(-eta))
    if family == "poisson":
        return y * mp.log(mu) - mu - mp.loggamma(y + 1)
    if family == "negative_binomial":
        theta = mp.exp(s)
        return (mp.loggamma(y + theta) - mp.loggamma(theta) - mp.loggamma(y + 1)
                + theta * mp.log(theta / (theta + mu)) + y * mp.log(mu / (theta + mu)))
    if family == "binomial":
        return (mp.log(mp.binomial(n, y)) + y * mp.log(mu) + (n - y) * mp.log(1 - mu))
    raise AssertionError(family)


def _zi_log_density(family, y, eta, zeta, s, n, weight):
    pi = 1 / (1 + mp.exp(-zeta))
    f = _log_pmf(family, y, eta, s, n)
    if y == 0:
        return weight * mp.log(pi + (1 - pi) * mp.exp(f))
    return weight * (mp.log(1 - pi) + f)


def _hurdle_log_density(y, eta, zeta):
    pi = 1 / (1 + mp.exp(-zeta))
    if y == 0:
        return mp.log(pi)
    mu = mp.exp(eta)
    return mp.log(1 - pi) + y * eta - mu - mp.loggamma(y + 1) - mp.log(1 - mp.exp(-mu))


ROWS = [  # (family, y, n, eta, zeta, s)
    ("poisson", 0, 1, 0.3, -0.4, None),
    ("poisson", 0, 1, -2.5, 1.7, None),
    ("poisson", 0, 1, 3.0, 0.2, None),       # f0 = -e^3: rho tiny
    ("poisson", 4, 1, 1.1, 0.5, None),
    ("negative_binomial", 0, 1, 0.8, -1.0, 0.4),
    ("negative_binomial", 0, 1, -1.0, 2.0, -1.5),
    ("negative_binomial", 7, 1, 1.6, 0.3, 1.2),
    ("binomial", 0, 5, -0.7, 0.1, None),
    ("binomial", 3, 5, 0.4, -0.6, None),
]


def _reference(family, y, n, eta, zeta, s, weight=1):
    args = {"eta": eta, "zeta": zeta} if s is None else {"eta": eta, "zeta": zeta, "s": s}
    names = list(args)

    def f(*v):
        kw = dict(zip(names, v))
        return _zi_log_density(family, y, kw["eta"], kw["zeta"], kw.get("s", mp.mpf(0)), n, weight)

    point = [mp.mpf(args[k]) for k in names]

    def d(orders):
        return float(mp.diff(f, point, tuple(orders)))

    ref = {"value": float(f(*point))}
    for k in range(1, 4):
        ref[f"d{k}"] = d([k] + [0] * (len(names) - 1))
    for c, name in enumerate(names[1:], start=1):
        for k in range(3):
            orders = [k] + [0] * (len(names) - 1)
            orders[c] = 1
            ref[f"{name}{k}"] = d(orders)
    return ref


def _model(family, y, n, X_zi=True, weights=None):
    fam = make_family(family)
    y = np.atleast_1d(np.asarray(y, dtype=float))
    n = np.full(y.shape, float(n)) if weights is None else np.asarray(weights, dtype=float)
    return ResponseModel(fam, y, n, X_zi=np.ones((y.size, 1)) if X_zi else None, zi_names=["(Intercept)"])


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r[0]}-y{r[1]}-eta{r[3]}")
def test_zero_inflated_row_terms_match_mpmath(row):
    family, y, n, eta, zeta, s = row
    model = _model(family, [y], n)
    aux = np.r_[zeta, [] if s is None else [s]]
    values = model.unpack(aux)
    t = model.terms(np.array([eta]), values, order=3, channels=True)
    ref = _reference(family, y, n, eta, zeta, s)
    const = model.constant    # the family's constant: the value is the log density without it
    assert t.value[0] + const == pytest.approx(ref["value"], rel=1e-13, abs=1e-14)
    for k in (1, 2, 3):
        assert getattr(t, f"d{k}")[0] == pytest.approx(ref[f"d{k}"], rel=1e-11, abs=1e-14)
    assert model.channels[0] == "zi"
    for c, name in enumerate(["zeta"] + ([] if s is None else ["s"])):
        for k, field in enumerate(("dc", "d1c", "d2c")):
            assert getattr(t, field)[c, 0] == pytest.approx(ref[f"{name}{k}"], rel=1e-10, abs=1e-13), (name, k)


def test_zero_inflated_prior_weights_multiply_the_mixture():
    # glmmTMB: the mixture's log density times the weight (not the family's terms with n = 2)
    y, eta, zeta, w = 0, 0.3, -0.4, 2.5
    model = _model("poisson", [y, 0.0], 1, weights=[w, 1.0])
    t = model.terms(np.array([eta, eta]), model.unpack(np.array([zeta])), order=3, channels=True)
    ref = _reference("poisson", y, 1, eta, zeta, None, weight=w)
    assert t.value[0] == pytest.approx(ref["value"], rel=1e-13)
    assert t.value[0] == pytest.approx(w * t.value[1], rel=1e-15)
    assert t.d3[0] == pytest.approx(ref["d3"], rel=1e-11)
    assert t.dc[0, 0] == pytest.approx(ref["zeta0"], rel=1e-11)


def test_zero_inflation_constants_vanish_at_zero():
    # the mixture at y = 0 uses the family's value as the full log P(0): the constants must be 0 there
    for family, n in (("poisson", 1.0), ("negative_binomial", 1.0), ("binomial", 7.0)):
        assert make_family(family).log_constant([0.0], [n]) == 0.0


# ------------------------------------------------------------------------------------------------- hurdles
class _TruncatedPoisson:
    """A stand-in zero-truncated Poisson family (the declared attributes of the issue-19 Family API), so the
    hurdle's mixing is tested on its own; its row terms are written here from the closed forms."""

    name, link, has_dispersion, dispersion_name = "truncated_poisson", "log", False, None
    truncated, discrete, weights_are_trials, shape_names = True, False, False, ()

    def validate(self, y, n=None, *, zero_inflated=False, row_labels=None):
        pass

    def log_constant(self, y, n=None):
        from scipy.special import gammaln
        return float(-np.sum(np.asarray(n) * gammaln(np.asarray(y) + 1.0)))

    def inverse_link(self, eta):
        return np.exp(eta)

    def terms(self, y, n, eta, phi=None, order=2, dispersion=False, *, shape=None):
        y = np.asarray(y, dtype=float).reshape((-1,) + (1,) * (eta.ndim - 1))
        mu = np.exp(eta)
        with np.errstate(all="ignore"):
            g = mu / np.expm1(mu)                   # m / (e^m - 1)
            dg = g * (1.0 - mu - g)                 # d/deta of g
            d2g = dg * (1.0 - mu - g) + g * (-mu - dg)
            out = {"value": y * eta - mu - np.log(-np.expm1(-mu)), "d1": y - mu - g, "d2": -mu - dg,
                   "d3": -mu - d2g}
        return FamilyTerms(**{k: v for k, v in out.items() if k == "value" or int(k[1]) <= order})


@pytest.mark.parametrize("family", [_TruncatedPoisson(), make_family("truncated_poisson")], ids=["stand-in", "family"])
def test_hurdle_row_terms_match_mpmath(family):
    y = np.array([0.0, 1.0, 3.0, 0.0])
    eta = np.array([0.2, -0.8, 1.4, -3.0])
    zeta = np.array([0.7, -0.3, 1.1, -2.0])
    model = ResponseModel(family, y, np.ones(4), X_zi=np.diag([1.0, 1.0, 1.0, 1.0]),
                          zi_names=list("abcd"))
    assert model.hurdle and model.names == ["zi~a", "zi~b", "zi~c", "zi~d"]
    t = model.terms(eta, model.unpack(zeta), order=3, channels=True)
    for i in range(4):
        f = lambda e, z: _hurdle_log_density(int(y[i]), e, z)   # noqa: E731
        p = (mp.mpf(eta[i]), mp.mpf(zeta[i]))
        assert t.value[i] + model.family.log_constant(y[i:i + 1], [1.0]) == pytest.approx(float(f(*p)), rel=1e-13)
        for k in (1, 2, 3):
            assert getattr(t, f"d{k}")[i] == pytest.approx(float(mp.diff(f, p, (k, 0))), rel=1e-10, abs=1e-14)
        for k, field in enumerate(("dc", "d1c", "d2c")):
            assert getattr(t, field)[0, i] == pytest.approx(float(mp.diff(f, p, (k, 1))), rel=1e-10, abs=1e-14)


def test_hurdle_start_is_the_logistic_glm_of_the_zeros():
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    y = np.where(rng.random(200) < 1 / (1 + np.exp(-(0.3 + 0.8 * x))), 0.0, 1.0 + rng.poisson(2.0, 200))
    X = np.column_stack([np.ones(200), x])
    model = ResponseModel(_TruncatedPoisson(), y, np.ones(200), X_zi=X, zi_names=["(Intercept)", "x"])
    start = model.start(np.zeros(200), glm=glm_start)
    # the score of the logistic likelihood of 1[y = 0] vanishes there
    p = 1 / (1 + np.exp(-X @ start))
    np.testing.assert_allclose(X.T @ ((y == 0) - p), 0.0, atol=1e-7)


# ------------------------------------------------------------------------------------ dispersion and pull-back
def _summed(model, eta, aux, field="value"):
    return float(np.sum(getattr(model.terms(eta, model.unpack(aux), order=3, channels=False), field)))


@pytest.mark.parametrize("case", ["zinb2_disp", "zip", "gaussian_disp", "gamma_disp", "nb2_disp_2d"])
def test_pullback_equals_differences_of_the_summed_value(case):
    rng = np.random.default_rng(7)
    N = 40
    x = rng.normal(size=N)
    X = np.column_stack([np.ones(N), x])
    eta = 0.5 + 0.4 * x
    kw = {}
    if case in ("zinb2_disp", "zip"):
        y = np.where(rng.random(N) < 0.3, 0.0, rng.poisson(np.exp(eta)))
        family = "negative_binomial" if case == "zinb2_disp" else "poisson"
        kw = {"X_zi": X, "zi_names": ["(Intercept)", "x"]}
        if case == "zinb2_disp":
            kw.update(X_disp=X, disp_names=["(Intercept)", "x"])
    elif case == "gaussian_disp":
        family, eta = "gaussian", 2.0 + x
        y = eta + rng.normal(size=N) * np.exp(0.2 * x)
        kw = {"X_disp": X, "disp_names": ["(Intercept)", "x"]}
    elif case == "gamma_disp":
        family = "Gamma"
        y = rng.gamma(2.0, 1.0, N) + 0.1
        eta = 1.0 / (np.mean(y) + 0.1 * x)
        kw = {"X_disp": X, "disp_names": ["(Intercept)", "x"]}
    else:
        family = "negative_binomial"
        y = rng.poisson(np.exp(eta)).astype(float)
        eta = eta[:, None] + np.array([-0.3, 0.0, 0.2])       # (N, K): quadrature points
        kw = {"X_disp": X, "disp_names": ["(Intercept)", "x"]}
    weights = rng.choice([1.0, 2.0], N) if family != "binomial" else None
    model = ResponseModel(make_family(family), y, weights, **kw)
    aux = np.linspace(-0.4, 0.3, model.n_params)
    t = model.terms(eta, model.unpack(aux), order=3, channels=True)
    sum_k = (lambda a: a.sum(axis=-1)) if eta.ndim == 2 else (lambda a: a)
    for field, channel in (("value", "dc"), ("d1", "d1c"), ("d2", "d2c")):
        g = model.pullback(aux, sum_k(getattr(t, channel)))
        num = np.empty(model.n_params)
        for k in range(model.n_params):
            e = np.zeros(model.n_params)
            e[k] = 1e-5
            num[k] = (_summed(model, eta, aux + e, field) - _summed(model, eta, aux - e, field)) / 2e-5
        np.testing.assert_allclose(g, num, rtol=1e-7, atol=1e-7 * max(1.0, np.max(np.abs(num))), err_msg=field)


def test_names_bounds_slices_and_plain():
    fam = make_family("negative_binomial")
    y = np.array([0.0, 1.0, 4.0])
    X = np.column_stack([np.ones(3), [0.0, 1.0, 2.0]])
    plain = ResponseModel(fam, y, None)
    assert plain.plain and plain.names == ["log(theta)"] and plain.channels == ("disp",)
    m = ResponseModel(fam, y, None, X_zi=X, zi_names=["(Intercept)", "x"], X_disp=X[:, :1], disp_names=["(Intercept)"])
    assert not m.plain
    assert m.names == ["zi~(Intercept)", "zi~x", "disp~(Intercept)"]
    assert m.bounds == [(None, None)] * 3 and m.channels == ("zi", "disp")
    assert m.slices["zi"] == slice(0, 2) and m.slices["disp"] == slice(2, 3)
    v = m.unpack([0.1, 0.2, np.log(2.0)])
    assert isinstance(v, AuxValues)
    np.testing.assert_allclose(v.zeta, [0.1, 0.3, 0.5])
    np.testing.assert_allclose(v.phi, [2.0, 2.0, 2.0])
    assert ResponseModel(make_family("poisson"), y, None).names == []
    # the domain: |log phi| on some row at 700 is outside; zeta is never
    assert m.outside([0.0, 0.0, 700.0]) and m.outside([0.0, np.nan, 0.0]) and not m.outside([1e4, -1e4, 1.0])
    m2 = pickle.loads(pickle.dumps(m))
    assert m2.names == m.names and np.array_equal(m2.X_zi, m.X_zi)


def test_per_row_phi_equals_scalar_calls():
    # the dispersion model's per-row phi: each row as with its own scalar phi
    fam = make_family("negative_binomial")
    y = np.array([0.0, 3.0, 1.0, 6.0])
    X = np.column_stack([np.ones(4), [0.0, 1.0, 0.0, 1.0]])
    m = ResponseModel(fam, y, None, X_disp=X, disp_names=["(Intercept)", "g"])
    eta = np.array([[0.1, 0.2], [0.5, 0.6], [-0.2, 0.0], [1.0, 1.5]])
    aux = np.array([0.3, -0.8])
    t = m.terms(eta, m.unpack(aux), order=3, channels=True)
    for i in range(4):
        phi = float(np.exp(X[i] @ aux))
        ref = fam.terms(y[i:i + 1], None, eta[i:i + 1], phi, order=3, dispersion=True)
        np.testing.assert_allclose(t.value[i], ref.value[0], rtol=1e-14)
        np.testing.assert_allclose(t.d3[i], ref.d3[0], rtol=1e-14)
        np.testing.assert_allclose(t.d2c[0, i], ref.d2s[0], rtol=1e-14)


def test_input_validation():
    y = np.array([0.0, 1.0, 2.0])
    X = np.ones((3, 1))
    with pytest.raises(ValueError, match="`ziformula`: zero-inflation needs a count family"):
        ResponseModel(make_family("gaussian"), y, None, X_zi=X, zi_names=["(Intercept)"])
    with pytest.raises(ValueError, match="`dispformula`: poisson has no dispersion parameter"):
        ResponseModel(make_family("poisson"), y, None, X_disp=X, disp_names=["(Intercept)"])
    with pytest.raises(ValueError, match="`X_zi` must be a 2-D array with 3 rows"):
        ResponseModel(make_family("poisson"), y, None, X_zi=np.ones((2, 1)), zi_names=["a"])
    with pytest.raises(ValueError, match="`zi_names` must name the 1 columns"):
        ResponseModel(make_family("poisson"), y, None, X_zi=X, zi_names=[])
    with pytest.raises(ValueError, match="`X_disp` must be finite"):
        ResponseModel(make_family("gaussian"), y, None, X_disp=np.full((3, 1), np.nan), disp_names=["a"])


@pytest.mark.parametrize("family, y", [
    ("tweedie", [0.0, 0.3, 2.5, 0.0, 1.1]),
    ("student_t", [0.3, -1.2, 4.0, 0.1, 0.7]),
    ("ordinal", [1.0, 3.0, 2.0, 4.0, 3.0]),
])
def test_shape_channels_pull_back_through_the_coordinates(family, y):
    y = np.array(y)
    X = np.column_stack([np.ones(5), np.arange(5.0)])
    levels = ["a", "b", "c", "d"] if family == "ordinal" else None
    kw = {} if family == "ordinal" else {"X_disp": X, "disp_names": ["(Intercept)", "x"]}
    model = ResponseModel(make_family(family), y, None, response_levels=levels, **kw)
    assert model.n_shape == (3 if family == "ordinal" else 1)
    eta = np.array([[0.1, -0.2], [0.4, 0.0], [0.2, 0.3], [-0.3, 0.5], [0.0, 0.1]])
    aux = model.start(eta[:, 0]) + 0.05
    names, values, jacobian = model.report(aux)
    assert names[-model.n_shape:] == list(model.shape_names)
    t = model.terms(eta, model.unpack(aux), order=3, channels=True)
    for field, channel in (("value", "dc"), ("d1", "d1c"), ("d2", "d2c")):
        g = model.pullback(aux, getattr(t, channel).sum(axis=-1))
        num = np.empty(model.n_params)
        for k in range(model.n_params):
            e = np.zeros(model.n_params)
            e[k] = 1e-6
            num[k] = (_summed(model, eta, aux + e, field) - _summed(model, eta, aux - e, field)) / 2e-6
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-7 * max(1.0, np.max(np.abs(num))), err_msg=field)
    # the report's Jacobian: d (natural shape) / d coordinates, by differences
    for k in range(model.n_params):
        e = np.zeros(model.n_params)
        e[k] = 1e-6
        col = (model.report(aux + e)[1] - model.report(aux - e)[1]) / 2e-6
        np.testing.assert_allclose(jacobian[:, k], col, rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------------------------------------- compiled mixture
def _mixture_twin(hurdle, zero, zeta, order, fam, fam_c, channels):
    """The zero-inflation / hurdle mixture in numpy, written from the module notes' formulas (the numpy code
    the compiled kernel replaced): `fam` = [value, d1, ...] of the family, `fam_c` = [(dc, d1c, d2c), ...]."""
    pi, log_1mpi = special.expit(zeta)[:, None], -np.logaddexp(0.0, zeta)[:, None]
    z = zero.astype(bool)
    zt = zeta[:, None]
    out = [a.copy() for a in fam]
    out_c = [[None if a is None else a.copy() for a in fc] for fc in fam_c]
    out[0] = fam[0] + log_1mpi
    zc = [np.broadcast_to(-pi, fam[0].shape).copy(), np.zeros(fam[0].shape), np.zeros(fam[0].shape)]
    with np.errstate(all="ignore"):
        if hurdle:
            out[0][z] = np.broadcast_to(-np.logaddexp(0.0, -zt), fam[0].shape)[z]
            for a in out[1:]:
                a[z] = 0.0
            zc[0][z] = np.broadcast_to(1.0 - pi, fam[0].shape)[z]
            for fc in out_c:
                for a in fc:
                    if a is not None:
                        a[z] = 0.0
        else:
            f0 = fam[0]
            rho = special.expit(f0 - zt)
            r1, r2 = rho * (1 - rho), rho * (1 - rho) * (1 - 2 * rho)
            a1 = fam[1] if order >= 1 else None
            a2 = fam[2] if order >= 2 else None
            out[0][z] = (log_1mpi + np.logaddexp(zt, f0))[z]
            if order >= 1:
                out[1][z] = (rho * a1)[z]
                zc[1][z] = (-r1 * a1)[z]
            if order >= 2:
                out[2][z] = (rho * a2 + r1 * a1 ** 2)[z]
                zc[2][z] = (-r1 * a2 - r2 * a1 ** 2)[z]
            if order >= 3:
                out[3][z] = (rho * fam[3] + 3 * r1 * a1 * a2 + r2 * a1 ** 3)[z]
            zc[0][z] = (1 - rho - pi)[z]
            for (fs, f1s, f2s), oc in zip(fam_c, out_c):
                oc[0][z] = (rho * fs)[z]
                if order >= 1:
                    oc[1][z] = (rho * f1s + r1 * a1 * fs)[z]
                if order >= 2:
                    oc[2][z] = (rho * f2s + r1 * (fs * a2 + 2 * a1 * f1s) + r2 * a1 ** 2 * fs)[z]
    blocks = [np.stack([zc[j]] + [oc[j] for oc in out_c]) for j in range(min(order, 2) + 1)] if channels else []
    return out, blocks


@pytest.mark.parametrize("hurdle", [False, True])
@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_zero_inflate_kernel_equals_numpy_twin(hurdle, order):
    from quadlib._extensions import _families as kernel

    rng = np.random.default_rng(order + 10 * hurdle)
    N, K, C = 300, 3, 3
    zero = (rng.random(N) < 0.4).astype(np.uint8)
    zeta = rng.normal(0.0, 2.0, N)
    zeta[:3] = [-40.0, 40.0, 0.0]
    fam = [rng.normal(-1.0, 1.5, (N, K))] + [rng.normal(0.0, 1.0, (N, K)) for _ in range(order)]
    fam[0][:4, 0] = zeta[:4]                       # f0 = zeta: the equal-arguments branch of logaddexp
    fam_c = [tuple(rng.normal(0.0, 1.0, (N, K)) if j <= min(order, 2) else None for j in range(3))
             for _ in range(C - 1)]
    for channels in (False, True):
        expected, expected_c = _mixture_twin(hurdle, zero, zeta, order, fam, fam_c, channels)
        arrays = [a.copy() for a in fam] + [None] * (3 - order)
        blocks = ([np.stack([np.full((N, K), np.nan)] + [fc[j] for fc in fam_c]) for j in range(min(order, 2) + 1)]
                  if channels else [])
        blocks += [None] * (3 - len(blocks))
        pi, log_1mpi = special.expit(zeta), -np.logaddexp(0.0, zeta)
        assert kernel.zero_inflate(hurdle, zero, zeta, pi, log_1mpi, order, *arrays, *blocks) == 0
        for got, want in zip(arrays, expected):
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)
        for got, want in zip(blocks, expected_c):
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)
    # arrays of the wrong shape are refused by status, nothing written
    value = fam[0].copy()
    assert kernel.zero_inflate(hurdle, zero[:-1], zeta, pi, log_1mpi, 0, value) == -2
    np.testing.assert_array_equal(value, fam[0])


def test_unit_prior_weights_skip_the_multiplication_with_the_same_numbers():
    rng = np.random.default_rng(4)
    y = rng.poisson(1.0, 50).astype(float)
    X = np.ones((50, 1))
    unit = ResponseModel(make_family("poisson"), y, np.ones(50), X_zi=X, zi_names=["(Intercept)"])
    none = ResponseModel(make_family("poisson"), y, None, X_zi=X, zi_names=["(Intercept)"])
    assert unit.weight is None
    eta = rng.normal(0.0, 1.0, 50)
    a = unit.terms(eta, unit.unpack([-1.0]), order=3, channels=True)
    b = none.terms(eta, none.unpack([-1.0]), order=3, channels=True)
    for f in ("value", "d1", "d2", "d3", "dc", "d1c", "d2c"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
