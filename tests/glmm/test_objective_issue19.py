"""The objective with a response model (issue 19, design note §2, §4.3): names and layout, the exact Laplace
gradient and the fixed-point AGQ gradient of the zero-inflation and dispersion blocks against central
differences of the objective itself, scalar and vector random effects, pickling, rebuild."""
import dataclasses
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import json
from pathlib import Path

import quadlib
from quadlib.glmm import build_design, datasets, make_objective
from quadlib.glmm._objective import ClusterObjective, JointObjective


def _data(seed=11, groups=12, per=8):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), per)
    x = rng.normal(size=g.size)
    b0 = rng.normal(scale=0.6, size=groups)[g]
    b1 = rng.normal(scale=0.3, size=groups)[g]
    eta = 0.4 + 0.5 * x + b0 + b1 * x
    counts = rng.poisson(np.exp(eta)).astype(float)
    zi = rng.random(g.size) < 1 / (1 + np.exp(-(-0.7 + 0.8 * x)))
    return pd.DataFrame({
        "g": [f"g{k}" for k in g], "x": x,
        "zcount": np.where(zi, 0.0, counts),
        "nb": rng.negative_binomial(2.0, 2.0 / (2.0 + np.exp(eta))).astype(float),
        "gauss": 1.0 + 0.5 * x + b0 + rng.normal(size=g.size) * np.exp(0.3 * x),
        "gam": rng.gamma(3.0, np.exp(0.2 + 0.3 * x + 0.3 * b0) / 3.0),
    })


DATA = _data()


def _design(formula, zi=False, disp=False, data=DATA):
    d = build_design(formula, data)
    x = data["x"].to_numpy()[d.rows]
    X = np.column_stack([np.ones(x.size), x])
    kw = {}
    if zi:
        kw.update(X_zi=X, zi_names=["(Intercept)", "x"])
    if disp:
        kw.update(X_disp=X, disp_names=["(Intercept)", "x"])
    return dataclasses.replace(d, **kw)


CASES = {
    # name: (formula, family, zi, disp)
    "zip": ("zcount ~ x + (1 | g)", "poisson", True, False),
    "zip_vector": ("zcount ~ x + (x | g)", "poisson", True, False),
    "zinb2": ("zcount ~ x + (1 | g)", "negative_binomial", True, False),
    "zinb2_disp": ("zcount ~ x + (1 | g)", "negative_binomial", True, True),
    "nb2_disp": ("nb ~ x + (1 | g)", "negative_binomial", False, True),
    "gaussian_disp": ("gauss ~ x + (1 | g)", "gaussian", False, True),
    "gaussian_disp_vector": ("gauss ~ x + (x | g)", "gaussian", False, True),
    "gamma_disp": ("gam ~ x + (1 | g)", "Gamma", False, True),
}


def _shipped(name):
    data = datasets.load(name)
    if name == "owls":
        data["logBroodSize"] = np.log(data["BroodSize"])
    if name == "gcsemv":   # the course score squeezed into (0, 1) (Smithson & Verkuilen 2006), as the R script
        data = data[data["course"].notna()].copy()
        n = len(data)
        data["y"] = (data["course"] / 100 * (n - 1) + 0.5) / n
        data["school"] = data["school"].astype(str)
    return data


_SAL = "count ~ spp + mined + (1 | site)"
_OWL = "SiblingNegotiation ~ FoodTreatment * SexParent + offset(logBroodSize) + (1 | Nest)"
SHIPPED = {
    # name: (data set, formula, family, link, ziformula, dispformula); the §8 models, issue 19's classes
    "hurdle_poisson": ("salamanders", _SAL, "truncated_poisson", None, "~ mined", None),
    "hurdle_nb2": ("salamanders", _SAL, "truncated_negative_binomial", None, "~ spp + mined", None),
    "zinb1": ("owls", _OWL, "negative_binomial1", None, "~ 1", None),
    "nb1_disp": ("owls", _OWL, "negative_binomial1", None, None, "~ FoodTreatment"),
    "tweedie": ("owls", "NegPerChick ~ FoodTreatment * SexParent + (1 | Nest)", "tweedie", None, None, None),
    "beta_binomial": ("cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "beta_binomial", None,
                      None, None),
    "beta_disp": ("gcsemv", "y ~ gender + (1 | school)", "beta", None, None, "~ gender"),
    "student_t_vector": ("sleepstudy", "Reaction ~ Days + (Days | Subject)", "student_t", None, None, None),
    "ordinal_logit": ("wine", "rating ~ temp + contact + (1 | judge)", "ordinal", "logit", None, None),
    "ordinal_cloglog": ("wine", "rating ~ temp + contact + (1 | judge)", "ordinal", "cloglog", None, None),
}


def _objective(case, integrator):
    if case in SHIPPED:
        name, formula, family, link, zi, disp = SHIPPED[case]
        design = build_design(formula, _shipped(name), ziformula=zi, dispformula=disp,
                              response="ordinal" if family == "ordinal" else "numeric")
        return make_objective(design, family, integrator, link=link)
    formula, family, zi, disp = CASES[case]
    link = "log" if family == "Gamma" else None
    return make_objective(_design(formula, zi, disp), family, integrator, link=link)


def _point(obj):
    # near the start, off any symmetry: a generic point of the parameter space
    x = obj.start()
    return x + 0.05 * np.cos(np.arange(x.size))


def _central(obj, x, rel=1e-5):
    out = np.empty(x.size)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = rel * max(1.0, abs(x[k]))
        obj.reset_warm_start()   # each value from the same start: no warm-start noise in the differences
        up = obj(x + e)
        obj.reset_warm_start()
        down = obj(x - e)
        out[k] = (up - down) / (2 * e[k])
    return out


@pytest.mark.parametrize("case", list(CASES) + list(SHIPPED))
def test_laplace_gradient_matches_central_differences(case):
    obj = _objective(case, quadlib.Laplace())
    x = _point(obj)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        obj.reset_warm_start()
        value, grad = obj.value_and_gradient(x)
        num = _central(obj, x)
    assert np.isfinite(value)
    scale = np.maximum(np.abs(num), 1.0)
    assert np.max(np.abs(grad - num) / scale) < 1e-6, dict(zip(obj.names, (grad - num) / scale))


def _held_points_value(obj, x):
    """G(x') = sum_m log sum_k share_mk g_m(L' u_mk; x') / g_m(L u_mk; x) with the rule's points u_mk and shares
    at x held fixed: its gradient at x is what the fixed-point gradient computes."""
    res = obj._integrate(x, obj.integrator, keep_points=True, update=False)[0]
    points, shares = res.extra["points_u"], res.extra["shares"]

    def log_g(xp):
        beta, (L,), aux = obj.split_aux(xp)
        eta = obj._linear_predictor(obj.design.offset + obj.design.X @ beta, points @ L.T)
        return np.add.reduceat(obj.response.terms(eta, aux, order=0).value, obj.starts, axis=0)

    base = log_g(x)
    return lambda xp: float(np.sum(np.log(np.sum(shares * np.exp(log_g(xp) - base), axis=1))))


@pytest.mark.parametrize("case", [c for c in list(CASES) + list(SHIPPED) if not c.startswith("gaussian")])
def test_agq_fixed_point_gradient(case):
    # AGQ(10) declared "fixed_points" (the path of rules whose nodes do not move): the fixed-point gradient
    # (nodes held where the adaptation put them) equals the differences of the rule with its points held, to
    # 1e-6; it differs from the derivative of the AGQ(10) value by the derivative of the rule's error through
    # the nodes' placement (up to ~1e-4 relative here), which AGQ's own gradient ("adaptive", the exact one:
    # tests/glmm/test_agq_gradient.py) includes
    held = quadlib.AdaptiveGaussHermite(10)
    held.gradient = "fixed_points"
    obj = _objective(case, held)
    x = _point(obj)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        obj.reset_warm_start()
        value, grad = obj.value_and_gradient(x)
        G = _held_points_value(obj, x)
        num = np.empty(x.size)
        for k in range(x.size):
            e = np.zeros(x.size)
            e[k] = 1e-5 * max(1.0, abs(x[k]))
            num[k] = (G(x + e) - G(x - e)) / (2 * e[k])
        scale = np.maximum(np.abs(num), 1.0)
        assert np.max(np.abs(grad - num) / scale) < 1e-6, dict(zip(obj.names, (grad - num) / scale))
        central = _central(obj, x)
        assert np.max(np.abs(grad - central) / scale) < 5e-4
        exact = _objective(case, quadlib.AdaptiveGaussHermite(10))
        exact.reset_warm_start()
        _, grad10 = exact.value_and_gradient(x)
    assert np.max(np.abs(grad10 - central) / np.maximum(np.abs(central), 1.0)) < 1e-6


def test_names_and_layout():
    obj = _objective("zinb2_disp", quadlib.Laplace())
    assert isinstance(obj, ClusterObjective)
    assert obj.names == ["(Intercept)", "x", "theta[g: (Intercept), (Intercept)]", "zi~(Intercept)", "zi~x",
                         "disp~(Intercept)", "disp~x"]
    assert obj.n_params == 7 and obj.n_aux == 4 and len(obj.bounds) == 7
    x = _point(obj)
    beta, factors, aux = obj.split(x)
    np.testing.assert_array_equal(beta, x[:2])
    np.testing.assert_allclose(aux.zeta, obj.response.X_zi @ x[3:5])
    np.testing.assert_allclose(aux.phi, np.exp(obj.response.X_disp @ x[5:7]))
    # the old families' names and split are today's when there is no zi/disp
    plain = make_objective(build_design("nb ~ x + (1 | g)", DATA), "negative_binomial")
    assert plain.names[-1] == "log(theta)" and plain.response.plain
    assert isinstance(plain.split(plain.start())[2], float)


def test_start_and_domain():
    obj = _objective("zinb2_disp", quadlib.Laplace())
    x0 = obj.start()
    assert np.isfinite(obj(x0))
    # zi intercept: logit of the excess share of zeros, clipped; slopes 0; disp intercept log(moment theta)
    # exactly 0: the optimizer scales each coordinate by its start's size (a residue of 1e-17 froze them)
    assert -4.0 < x0[3] < 2.3 and x0[4] == 0.0 and x0[6] == 0.0
    x = x0.copy()
    x[6] = 800.0                      # exp(s_i) overflows on every row with x != 0
    assert obj(x) == -np.inf
    v, g = obj.value_and_gradient(x)
    assert v == -np.inf and np.all(np.isnan(g))
    x = x0.copy()
    x[3] = 1e4                        # zeta is never outside: pi = 1 is a value
    assert not obj._outside(x)


def test_zero_inflated_value_by_hand():
    # at theta = 0 the marginal likelihood is the product of the rows' mixtures: closed form
    from scipy.special import expit, gammaln

    obj = _objective("zip", quadlib.Laplace())
    x = np.array([0.3, 0.4, 0.0, -0.5, 0.6])
    y = obj.y
    X = obj.design.X
    mu = np.exp(X @ x[:2])
    pi = expit(obj.response.X_zi @ x[3:])
    p = np.where(y == 0, pi + (1 - pi) * np.exp(-mu), (1 - pi) * np.exp(y * np.log(mu) - mu - gammaln(y + 1)))
    assert obj(x) == pytest.approx(np.sum(np.log(p)), rel=1e-13)


@pytest.mark.parametrize("case", ["zinb2_disp", "gaussian_disp"])
def test_objective_pickles(case):
    obj = _objective(case, quadlib.AdaptiveGaussHermite(5))
    x = _point(obj)
    value = obj(x)
    other = pickle.loads(pickle.dumps(obj))
    assert other.names == obj.names
    other.reset_warm_start()
    obj.reset_warm_start()
    assert other(x) == obj(x) == pytest.approx(value, rel=1e-12)


def test_rebuild_keeps_the_response_model():
    obj = _objective("zinb2_disp", quadlib.AdaptiveGaussHermite(5))
    d = obj.design
    moved = dataclasses.replace(d, X=d.X[:, 1:], fixed_names=d.fixed_names[1:], offset=d.offset + 0.3)
    new = obj.rebuild(moved)
    assert type(new) is type(obj) and new.integrator is obj.integrator
    assert new.names == obj.names[1:]
    x = _point(obj)
    x[0] = 0.3
    obj.reset_warm_start()
    assert new(x[1:]) == pytest.approx(obj(x), rel=1e-12)


def test_several_grouping_factors():
    data = DATA.assign(h=np.tile(["a", "b", "c", "d"], len(DATA) // 4))
    with pytest.raises(ValueError, match="`ziformula`: zero-inflation and hurdles are not supported with several"):
        make_objective(_design("zcount ~ x + (1 | g) + (1 | h)", zi=True, data=data), "poisson")
    # a dispersion model with several grouping factors: the joint Laplace's values
    d = _design("nb ~ x + (1 | g) + (1 | h)", disp=True, data=data)
    joint = JointObjective(d, "negative_binomial")
    assert joint.names[-2:] == ["disp~(Intercept)", "disp~x"]
    x = joint.start()
    assert np.isfinite(joint(x))


# ------------------------------------------------------------------------------------ the peers' optima
REFERENCE = json.loads((Path(__file__).parents[1] / "reference" / "issue19_reference.json").read_text())
PEER = {  # reference fit: (data set, formula, family, link, ziformula, dispformula)
    "sal_zip": ("salamanders", _SAL, "poisson", None, "~ spp + mined", None),
    "sal_zinb2": ("salamanders", _SAL, "negative_binomial", None, "~ spp + mined", None),
    "sal_zip_1": ("salamanders", _SAL, "poisson", None, "~ 1", None),
    "sal_hurdle_poisson": ("salamanders", _SAL, "truncated_poisson", None, "~ spp + mined", None),
    "sal_hurdle_nb2": ("salamanders", _SAL, "truncated_negative_binomial", None, "~ spp + mined", None),
    "owls_nb1": ("owls", _OWL, "negative_binomial1", None, None, None),
    "owls_zinb1": ("owls", _OWL, "negative_binomial1", None, "~ 1", None),
    "owls_nb2_disp": ("owls", _OWL, "negative_binomial", None, None, "~ FoodTreatment"),
    "owls_tweedie": SHIPPED["tweedie"],
    "cbpp_betabinomial": SHIPPED["beta_binomial"],
    "gcse_beta": ("gcsemv", "y ~ gender + (1 | school)", "beta", None, None, None),
    "gcse_beta_disp": SHIPPED["beta_disp"],
    "sleep_t": SHIPPED["student_t_vector"],
    "sleep_gauss_disp": ("sleepstudy", "Reaction ~ Days + (1 | Subject)", "gaussian", None, None, "~ Days"),
    "wine_logit_laplace": SHIPPED["ordinal_logit"],
    "wine_probit_laplace": ("wine", "rating ~ temp + contact + (1 | judge)", "ordinal", "probit", None, None),
    "wine_loglog_laplace": SHIPPED["ordinal_cloglog"],   # clmm's "loglog" is the cloglog model (note §0.11)
    "wine_logit_agq10": SHIPPED["ordinal_logit"],
}


def _peer_params(name, obj):
    """The peer's optimum in quadlib's parameters: glmmTMB's log SD -> SD, (Days | Subject)'s (log SD, log SD,
    t) -> the covariance factor (corr = t / sqrt(1 + t^2)), 1.1.5's gaussian log sigma^2 halved, psi as the
    shape coordinate; clmm's thresholds to their coordinates."""
    r = REFERENCE[name]
    if "coef" in r:   # clmm
        c = r["coef"]
        thresholds = [c[k] for k in ("1|2", "2|3", "3|4", "4|5")]
        return np.r_[c["tempwarm"], c["contactyes"], r["judge_sd"], obj.family.shape_coordinates(thresholds)]
    par, kinds = np.array(r["par"]), r["par_names"]
    get = lambda kind: par[[i for i, k in enumerate(kinds) if k == kind]]   # noqa: E731
    theta = get("theta")
    if theta.size == 1:
        factor = np.exp(theta)
    else:
        sd, corr = np.exp(theta[:2]), theta[2] / np.sqrt(1 + theta[2] ** 2)
        factor = np.array([sd[0], corr * sd[1], sd[1] * np.sqrt(1 - corr ** 2)])
    disp = get("betad") / (2.0 if r["family"] == "gaussian" else 1.0)
    return np.r_[get("beta"), factor, get("betazi"), disp, get("psi")]


@pytest.mark.parametrize("name", list(PEER))
def test_log_likelihood_at_the_peers_optimum(name):
    # the objective at glmmTMB's / clmm's estimates equals their log-likelihood (the conventions of §8.1), and
    # the gradient is ~0 there (to the peer's own |grad|: clmm stops at 1e-5, gcse_beta_disp's polish at 1e-5)
    data, formula, family, link, zi, disp = PEER[name]
    integrator = quadlib.AdaptiveGaussHermite(10) if name.endswith("agq10") else quadlib.Laplace()
    design = build_design(formula, _shipped(data), ziformula=zi, dispformula=disp,
                          response="ordinal" if family == "ordinal" else "numeric")
    obj = make_objective(design, family, integrator, link=link)
    x = _peer_params(name, obj)
    assert x.size == obj.n_params
    value, grad = obj.value_and_gradient(x)
    assert value == pytest.approx(REFERENCE[name]["logLik"], rel=0, abs=1e-8)
    assert np.max(np.abs(grad)) < 1e-4


@pytest.mark.parametrize("name", ["sal_zip", "owls_nb2_disp", "wine_logit_laplace"])
def test_optimize_from_the_start_reaches_the_peer(name):
    # one zero-inflation, one dispersion and one ordinal model end to end through optimize (before the zi and
    # disp slopes started at exactly 0, the first two stopped at the start's slopes)
    from quadlib.glmm import optimize

    data, formula, family, link, zi, disp = PEER[name]
    design = build_design(formula, _shipped(data), ziformula=zi, dispformula=disp,
                          response="ordinal" if family == "ordinal" else "numeric")
    obj = make_objective(design, family, link=link)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outcome = optimize(obj)
    assert outcome.converged, outcome.message
    # clmm's optimum is only to |grad| 1e-5: quadlib's llf may be above it by that much
    assert obj(outcome.x) == pytest.approx(REFERENCE[name]["logLik"], rel=0, abs=1e-6 if "wine" in name else 1e-8)
    np.testing.assert_allclose(outcome.x, _peer_params(name, obj), rtol=0, atol=1e-5)
