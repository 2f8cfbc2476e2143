"""Brute-force check of the AGQ log-likelihood of every issue-19 model class (design note §12).

For each class, ``fit(..., method="agq", nagq=30)`` (15 per dimension for a vector random effect) on the small
real data set of the reference fits; then, at the fitted parameters and independently of quadlib.glmm's
objective, response model and family kernels, each cluster's integral

    log ∫ exp(f_m(u)) du,   f_m(u) = Σ_i log p_i(eta0_i + z_iᵀ L u) − |u|²/2 − (q/2) log 2π

with log p_i written from scipy.stats (the zero-inflated mixture, the hurdle, the Tweedie compound Poisson–Gamma
sum and the cumulative links by hand), the mode found by scipy.optimize and the integral by ``quadlib.quad``
(adaptive Gauss–Kronrod on the real line, rtol 1e-13; nested for q = 2, after centring at the mode and scaling
by the curvature there). The fit's ``llf`` must equal the sum over clusters to 1e-8.

What is taken from the fit: the parameter vector, its names (which say which block is which), the design's
model matrices (the formula's evaluation, tested in test_design.py) and the random-effect covariance
(``cov_re``, factored here by Cholesky: the integral does not depend on the choice of factor). The response is
read from the data frame.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special, stats

import quadlib
from quadlib.glmm import datasets, fit, make_family, make_objective

LOG_2PI = np.log(2 * np.pi)


def _has_family(name):
    try:
        make_family(name)
    except (ValueError, KeyError, NotImplementedError):
        return False
    return True


# ----------------------------------------------------------------------------------------------- brute force
class Model:
    """The fitted parameters by block, from the fit's parameter names."""

    def __init__(self, res):
        objective = res.objective
        self.design = d = objective.design
        self.names = list(objective.names)
        self.x = np.asarray(res.x, dtype=float)
        p = d.X.shape[1]
        self.eta0 = d.offset + d.X @ self.x[:p]
        term = d.terms[0]
        self.Z, self.index = np.asarray(term.Z, dtype=float), np.asarray(term.index)
        cov = np.asarray(res.cov_re[term.group], dtype=float)
        self.L = np.linalg.cholesky(cov + 1e-300 * np.eye(cov.shape[0])) if cov.shape[0] > 1 else np.sqrt(cov)

    def block(self, prefix):
        return np.array([self.x[j] for j, name in enumerate(self.names) if name.startswith(prefix)])

    def value(self, name):
        return float(self.x[self.names.index(name)])

    def zi_probability(self):
        return special.expit(self.design.X_zi @ self.block("zi~"))

    def log_dispersion(self, name):
        """log phi per row: the dispersion model's, or the one ``log(name)`` parameter."""
        if self.design.X_disp is not None:
            return self.design.X_disp @ self.block("disp~")
        return np.full(self.design.nobs, self.value(f"log({name})"))


def brute_force_llf(model, log_density):
    """Σ over clusters of log ∫ exp(f_m(u)) du (module notes). `log_density(eta, rows)` -> log p, eta of shape
    (len(rows), K)."""
    total = 0.0
    q = model.Z.shape[1]
    for m in np.unique(model.index):
        rows = np.flatnonzero(model.index == m)
        eta0, ZL = model.eta0[rows], model.Z[rows] @ model.L      # (n,), (n, q)

        def f(u):   # u: (K, q) -> (K,)
            eta = eta0[:, None] + ZL @ u.T
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                value = np.sum(log_density(eta, rows), axis=0) - 0.5 * np.sum(u * u, axis=1) - 0.5 * q * LOG_2PI
            # far out (the quadrature maps the real line onto (0, 1]) the densities over- or underflow; there
            # the prior alone is below e^-450 of its peak
            far = np.sum(u * u, axis=1) > 900.0
            return np.where(far & ~np.isfinite(value), -np.inf, value)

        if q == 1:
            best = optimize.minimize_scalar(lambda t: -f(np.array([[t]]))[0], bracket=(-1.0, 1.0),
                                            options={"xtol": 1e-12})
            mode, top = best.x, -best.fun

            def integrand(t):
                return np.exp(f(np.asarray(t, dtype=float).reshape(-1, 1)) - top)

            res = quadlib.quad(integrand, -np.inf, np.inf, rtol=1e-13, vectorized=True)
            assert res.success, res.message
            total += top + np.log(res.integral)
        else:
            best = optimize.minimize(lambda t: -f(t[None, :])[0], np.zeros(q), method="BFGS",
                                     options={"gtol": 1e-10})
            mode, top = best.x, -best.fun
            h = 1e-4
            hess = np.empty((q, q))
            for a in range(q):
                for b in range(q):
                    pts = np.array([mode + h * (s * np.eye(q)[a] + t * np.eye(q)[b])
                                    for s, t in ((1, 1), (1, -1), (-1, 1), (-1, -1))])
                    fa = f(pts)
                    hess[a, b] = (fa[0] - fa[1] - fa[2] + fa[3]) / (4 * h * h)
            C = np.linalg.cholesky(np.linalg.inv(-hess))      # u = mode + C v: v about standard normal
            jacobian = np.log(np.linalg.det(C))

            def inner(v2, v1):
                v = np.column_stack([np.full(np.size(v2), v1), np.asarray(v2, dtype=float)])
                return np.exp(f(mode + v @ C.T) - top)

            def outer(v1):
                # the integrand is 1 at the mode: an absolute floor far below the 1e-13 asked of the whole
                res = quadlib.quad(inner, -np.inf, np.inf, args=(float(v1),), rtol=1e-13, atol=1e-17,
                                   vectorized=True)
                assert res.success, res.message
                return res.integral

            res = quadlib.quad(outer, -np.inf, np.inf, rtol=1e-12, atol=1e-16)
            assert res.success, res.message
            total += top + jacobian + np.log(res.integral)
    return total


def _agq(formula, data, nagq=30, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # singular fits, convergence notes: the identity holds at any x
        return fit(formula, data, method="agq", nagq=nagq, **kwargs)


def _response(data, model, column):
    return np.asarray(data[column], dtype=float)[model.design.rows]


# ----------------------------------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def salamanders():
    return datasets.load("salamanders")


@pytest.fixture(scope="module")
def owls():
    return datasets.load("owls")


@pytest.fixture(scope="module")
def gcse():
    gc = datasets.load("gcsemv")
    gc = gc[gc.course.notna()].reset_index(drop=True)
    n = len(gc)
    # Smithson & Verkuilen (2006) squeeze, as the reference script (tests/reference/issue19_reference.R)
    return gc.assign(y=(gc.course / 100 * (n - 1) + 0.5) / n)


SAL = "count ~ spp + mined + (1 | site)"
OWL = "SiblingNegotiation ~ FoodTreatment * SexParent + offset(logBroodSize) + (1 | Nest)"
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def _nb2(y, mu, theta):
    return stats.nbinom.logpmf(y, theta, theta / (theta + mu))


def _nb1(y, mu, phi):
    return stats.nbinom.logpmf(y, mu / phi, 1 / (1 + phi))


def _zero_inflated(y, log_p, pi):
    return np.where(y == 0, np.logaddexp(np.log(pi), np.log1p(-pi) + log_p), np.log1p(-pi) + log_p)


def _hurdle(y, log_p, log_p0, pi):
    return np.where(y == 0, np.log(pi), np.log1p(-pi) + log_p - np.log(-np.expm1(log_p0)))


# ------------------------------------------------------------------------------------------------- classes
def test_binomial_cbpp_helper_check():
    """The helper on a class quadlib fitted before issue 19 (binomial cbpp): the test's own check."""
    cbpp = datasets.load("cbpp")
    res = _agq(CBPP, cbpp)
    model = Model(res)
    k = _response(cbpp, model, "incidence")[:, None]
    n = _response(cbpp, model, "size")[:, None]
    got = brute_force_llf(model, lambda eta, rows: stats.binom.logpmf(k[rows], n[rows], special.expit(eta)))
    assert abs(res.llf - got) < 1e-8


def test_poisson_salamanders(salamanders):
    res = _agq(SAL, salamanders, family="poisson")
    model = Model(res)
    y = _response(salamanders, model, "count")[:, None]
    got = brute_force_llf(model, lambda eta, rows: stats.poisson.logpmf(y[rows], np.exp(eta)))
    assert abs(res.llf - got) < 1e-8


@pytest.mark.slow
@pytest.mark.parametrize("family, ziformula", [("poisson", "~ spp + mined"), ("poisson", "~1"),
                                               ("negative_binomial", "~ spp + mined")])
def test_zero_inflated_salamanders(salamanders, family, ziformula):
    res = _agq(SAL, salamanders, family=family, ziformula=ziformula)
    model = Model(res)
    y = _response(salamanders, model, "count")[:, None]
    pi = model.zi_probability()[:, None]
    theta = np.exp(model.log_dispersion("theta"))[:, None] if family == "negative_binomial" else None

    def log_density(eta, rows):
        mu = np.exp(eta)
        log_p = stats.poisson.logpmf(y[rows], mu) if theta is None else _nb2(y[rows], mu, theta[rows])
        return _zero_inflated(y[rows], log_p, pi[rows])

    assert abs(res.llf - brute_force_llf(model, log_density)) < 1e-8


@pytest.mark.slow
@pytest.mark.parametrize("family", ["truncated_poisson", "truncated_negative_binomial"])
def test_hurdle_salamanders(salamanders, family):
    if not _has_family(family):
        pytest.skip(f"family {family} not available")
    res = _agq(SAL, salamanders, family=family, ziformula="~ spp + mined")
    model = Model(res)
    y = _response(salamanders, model, "count")[:, None]
    pi = model.zi_probability()[:, None]
    theta = np.exp(model.log_dispersion("theta"))[:, None] if family != "truncated_poisson" else None

    def log_density(eta, rows):
        mu = np.exp(eta)
        if theta is None:
            log_p, log_p0 = stats.poisson.logpmf(y[rows], mu), -mu
        else:
            log_p, log_p0 = _nb2(y[rows], mu, theta[rows]), _nb2(0, mu, theta[rows])
        return _hurdle(y[rows], log_p, log_p0, pi[rows])

    assert abs(res.llf - brute_force_llf(model, log_density)) < 1e-8


@pytest.mark.slow
@pytest.mark.parametrize("ziformula", [None, "~1"])
def test_nb1_owls(owls, ziformula):
    if not _has_family("negative_binomial1"):
        pytest.skip("family negative_binomial1 not available")
    res = _agq(OWL, owls, family="negative_binomial1", ziformula=ziformula)
    model = Model(res)
    y = _response(owls, model, "SiblingNegotiation")[:, None]
    phi = np.exp(model.log_dispersion("phi"))[:, None]
    pi = model.zi_probability()[:, None] if ziformula else None

    def log_density(eta, rows):
        log_p = _nb1(y[rows], np.exp(eta), phi[rows])
        return log_p if pi is None else _zero_inflated(y[rows], log_p, pi[rows])

    assert abs(res.llf - brute_force_llf(model, log_density)) < 1e-8


@pytest.mark.slow
def test_nb2_dispformula_owls(owls):
    res = _agq(OWL, owls, family="negative_binomial", dispformula="~ FoodTreatment")
    model = Model(res)
    y = _response(owls, model, "SiblingNegotiation")[:, None]
    theta = np.exp(model.log_dispersion("theta"))[:, None]
    assert np.unique(theta).size == 2
    got = brute_force_llf(model, lambda eta, rows: _nb2(y[rows], np.exp(eta), theta[rows]))
    assert abs(res.llf - got) < 1e-8


def _tweedie_logpdf(y, mu, phi, p):
    """The compound Poisson–Gamma density (Dunn & Smyth 2005, eq. 2): N ~ Poisson(lam), y | N ~ Gamma(N a,
    scale g), summed over N in log space in chunks of 100, from 1 to 60 standard deviations past the larger of
    the Poisson mean and the terms' peak in N (y^(2-p) / (phi (2-p)), which does not depend on mu). lam is
    capped at 1000 for the bound: beyond, eta is so far out that the prior makes the integrand negligible."""
    lam = mu ** (2 - p) / (phi * (2 - p))
    a = (2 - p) / (p - 1)
    g = phi * (p - 1) * mu ** (p - 1)
    peak = np.max(y ** (2 - p) / (phi * (2 - p)))
    centre = max(min(float(np.max(np.where(np.isfinite(lam), lam, 0.0))), 200.0), float(peak))
    top = int(centre + 60 * np.sqrt(centre) + 100)
    log_y = np.log(np.where(y > 0, y, 1.0))
    total = np.full(np.broadcast(y, mu, phi).shape, -np.inf)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_lam, log_g = np.log(lam), np.log(g)
        for first in range(1, top + 1, 100):
            N = np.arange(first, min(first + 100, top + 1), dtype=float).reshape((-1,) + (1,) * total.ndim)
            # log Poisson(N; lam) + log Gamma(y; N a, scale g), written out
            terms = (N * log_lam - lam - special.gammaln(N + 1) + (N * a - 1) * log_y - np.exp(log_y - log_g)
                     - special.gammaln(N * a) - N * a * log_g)
            total = np.logaddexp(total, special.logsumexp(terms, axis=0))
    return np.where(y > 0, total, -lam)


@pytest.mark.slow
def test_tweedie_owls(owls):
    if not _has_family("tweedie"):
        pytest.skip("family tweedie not available")
    res = _agq("NegPerChick ~ FoodTreatment * SexParent + (1 | Nest)", owls, family="tweedie")
    model = Model(res)
    y = _response(owls, model, "NegPerChick")[:, None]
    phi = np.exp(model.log_dispersion("phi"))[:, None]
    power = 1 + special.expit(model.value("logit(power - 1)"))
    got = brute_force_llf(model, lambda eta, rows: _tweedie_logpdf(y[rows], np.exp(eta), phi[rows], power))
    assert abs(res.llf - got) < 1e-8


@pytest.mark.slow
def test_beta_binomial_cbpp():
    if not _has_family("beta_binomial"):
        pytest.skip("family beta_binomial not available")
    cbpp = datasets.load("cbpp")
    res = _agq(CBPP, cbpp, family="beta_binomial")
    model = Model(res)
    k = _response(cbpp, model, "incidence")[:, None]
    n = _response(cbpp, model, "size")[:, None]
    phi = np.exp(model.log_dispersion("phi"))[:, None]

    def log_density(eta, rows):
        mu = special.expit(eta)
        return stats.betabinom.logpmf(k[rows], n[rows], mu * phi[rows], (1 - mu) * phi[rows])

    assert abs(res.llf - brute_force_llf(model, log_density)) < 1e-8


@pytest.mark.slow
@pytest.mark.parametrize("dispformula", [None, "~ gender"])
def test_beta_gcse(gcse, dispformula):
    if not _has_family("beta"):
        pytest.skip("family beta not available")
    res = _agq("y ~ gender + (1 | school)", gcse, family="beta", dispformula=dispformula)
    model = Model(res)
    y = _response(gcse, model, "y")[:, None]
    phi = np.exp(model.log_dispersion("phi"))[:, None]

    def log_density(eta, rows):
        mu = special.expit(eta)
        return stats.beta.logpdf(y[rows], mu * phi[rows], (1 - mu) * phi[rows])

    assert abs(res.llf - brute_force_llf(model, log_density)) < 1e-8


@pytest.mark.slow
def test_gaussian_dispformula_sleepstudy():
    sleep = datasets.load("sleepstudy")
    res = _agq("Reaction ~ Days + (1 | Subject)", sleep, family="gaussian", dispformula="~ Days")
    model = Model(res)
    y = _response(sleep, model, "Reaction")[:, None]
    sigma = np.exp(model.log_dispersion("sigma"))[:, None]      # glmmTMB >= 1.1.9: log sigma
    got = brute_force_llf(model, lambda eta, rows: stats.norm.logpdf(y[rows], eta, sigma[rows]))
    assert abs(res.llf - got) < 1e-8


@pytest.mark.slow
def test_student_t_sleepstudy_vector_random_effect():
    if not _has_family("student_t"):
        pytest.skip("family student_t not available")
    sleep = datasets.load("sleepstudy")
    res = _agq("Reaction ~ Days + (Days | Subject)", sleep, nagq=15, family="student_t")
    model = Model(res)
    y = _response(sleep, model, "Reaction")[:, None]
    sigma = np.exp(model.log_dispersion("sigma"))[:, None]
    df = np.exp(model.value("log(df)"))
    got = brute_force_llf(model, lambda eta, rows: stats.t.logpdf(y[rows], df, eta, sigma[rows]))
    # with df = 2.7 the 15 x 15 rule is only good to ~1e-4 here (measured: 1.1e-4; 25 nodes 2.6e-6, 40 2e-8,
    # 60 1.4e-10): the identity to 1e-8 is checked with 60 x 60 nodes at the same parameters
    assert abs(res.llf - got) < 1e-3
    objective = res.objective
    finer = make_objective(objective.design, objective.family, quadlib.AdaptiveGaussHermite(60))
    assert abs(finer(res.x) - got) < 1e-8


_CDF = {"logit": special.expit, "probit": special.ndtr, "cloglog": lambda x: -np.expm1(-np.exp(x))}


@pytest.mark.slow
@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_ordinal_wine(link):
    if not _has_family("ordinal"):
        pytest.skip("family ordinal not available")
    wine = datasets.load("wine")
    res = _agq("rating ~ temp + contact + (1 | judge)", wine, family="ordinal", link=link)
    model = Model(res)
    y = (np.asarray(wine.rating.cat.codes) + 1)[model.design.rows][:, None]      # categories 1..5
    alpha = np.array([model.x[j] for j, name in enumerate(model.names)
                      if name.startswith("threshold(") or (name.startswith("log(") and "|" in name)])
    thresholds = np.cumsum(np.concatenate([alpha[:1], np.exp(alpha[1:])]))
    edges = np.concatenate([[-np.inf], thresholds, [np.inf]])
    F = _CDF[link]

    def log_density(eta, rows):
        upper, lower = edges[y[rows]] - eta, edges[y[rows] - 1] - eta
        return np.log(F(upper) - F(lower))

    assert abs(res.llf - brute_force_llf(model, log_density)) < 1e-8
