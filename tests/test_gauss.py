"""Gauss rules against mpmath at 40 digits (tests/reference/gauss_reference.npz, made by
tests/reference/make_gauss_reference.py from quadlib.reference), closed forms and QUADPACK's tables."""
from pathlib import Path

import mpmath
import numpy as np
import pytest
import scipy.special as sc

import quadlib
from quadlib import reference

EPS = np.finfo(float).eps
TINY = np.finfo(float).tiny
REFERENCE = np.load(Path(__file__).parent / "reference" / "gauss_reference.npz")

RULES = {
    "legendre": lambda n: quadlib.gauss_legendre(n),
    "chebyshev1": lambda n: quadlib.gauss_chebyshev(n, 1),
    "chebyshev2": lambda n: quadlib.gauss_chebyshev(n, 2),
    "gegenbauer_0.75": lambda n: quadlib.gauss_gegenbauer(n, 0.75),
    "gegenbauer_2.5": lambda n: quadlib.gauss_gegenbauer(n, 2.5),
    "jacobi_0.3_-0.7": lambda n: quadlib.gauss_jacobi(n, 0.3, -0.7),
    "jacobi_5_2.5": lambda n: quadlib.gauss_jacobi(n, 5.0, 2.5),
    "jacobi_-0.9_0.5": lambda n: quadlib.gauss_jacobi(n, -0.9, 0.5),
    "laguerre_0": lambda n: quadlib.gauss_laguerre(n),
    "laguerre_-0.5": lambda n: quadlib.gauss_laguerre(n, -0.5),
    "laguerre_3.7": lambda n: quadlib.gauss_laguerre(n, 3.7),
    "hermite_physicists": lambda n: quadlib.gauss_hermite(n, "physicists"),
    "hermite_probabilists": lambda n: quadlib.gauss_hermite(n, "probabilists"),
    "hermite_normal": lambda n: quadlib.gauss_hermite(n, "normal"),
    "radau_0_0_-1": lambda n: quadlib.gauss_radau(n, 0.0, 0.0, -1),
    "radau_0.5_1_1": lambda n: quadlib.gauss_radau(n, 0.5, 1.0, 1),
    "lobatto_0_0": lambda n: quadlib.gauss_lobatto(n, 0.0, 0.0),
    "lobatto_-0.5_2": lambda n: quadlib.gauss_lobatto(n, -0.5, 2.0),
}
SIZES = sorted({int(key.split("/")[1]) for key in REFERENCE.files})


def errors_against_reference(name, n):
    """Node error in units of eps*max(1,|x|) and relative weight error in eps, per stored index."""
    key = f"{name}/{n}/"
    idx = REFERENCE[key + "index"]
    rule = RULES[name](n)
    x_ref_hi, x_ref_lo = REFERENCE[key + "x_hi"], REFERENCE[key + "x_lo"]
    w_ref_hi, w_ref_lo = REFERENCE[key + "w_hi"], REFERENCE[key + "w_lo"]
    x, w = rule.nodes[idx], rule.weights[idx]
    node_err = np.abs((x - x_ref_hi) - x_ref_lo) / np.maximum(1.0, np.abs(x_ref_hi)) / EPS
    normal = w_ref_hi >= TINY  # the accuracy claim covers weights that are normal doubles
    weight_err = np.abs((w[normal] - w_ref_hi[normal]) - w_ref_lo[normal]) / w_ref_hi[normal] / EPS
    return node_err, weight_err, rule, REFERENCE[key + "w_log10"]


@pytest.mark.parametrize("name", sorted(RULES))
def test_nodes_and_weights_to_the_last_bits(name):
    # The bound: node error <= 4 eps max(1,|x|), relative weight error <= 8 eps, for
    # n = 1..100 (every node) and samples at n = 150, 317, 500, 1000.
    worst_node, worst_weight = 0.0, 0.0
    for n in SIZES:
        if f"{name}/{n}/index" not in REFERENCE.files:
            continue
        node_err, weight_err, _, _ = errors_against_reference(name, n)
        worst_node = max(worst_node, node_err.max())
        worst_weight = max(worst_weight, weight_err.max(initial=0.0))
    assert worst_node <= 4.0, f"{name}: node error {worst_node:.2f} eps"
    assert worst_weight <= 8.0, f"{name}: weight error {worst_weight:.2f} eps"


@pytest.mark.parametrize("name", ["hermite_physicists", "laguerre_0"])
def test_log_weights_survive_underflow(name):
    _, _, rule, log10_ref = errors_against_reference(name, 1000)
    idx = REFERENCE[f"{name}/1000/index"]
    assert np.any(rule.weights[idx] == 0.0)  # the tails underflow in double ...
    got = rule.log_weights[idx] / np.log(10)
    np.testing.assert_allclose(got, log10_ref, rtol=1e-13, atol=1e-13)  # ... but not in log space


def test_reference_matches_mpmath_polynomials():
    # quadlib.reference itself: its nodes are zeros of mpmath's own Jacobi/Laguerre/Hermite
    # functions (hypergeometric series, independent of the recurrence), and its weights integrate
    # the moments exactly.
    with mpmath.workdps(40):
        x, w = reference.gauss_jacobi(7, 0.3, -0.7)
        assert max(abs(mpmath.jacobi(7, 0.3, -0.7, t)) for t in x) < mpmath.mpf(10) ** -30
        for k in range(14):
            exact = jacobi_moment(0.3, -0.7, k)[1]
            assert abs(mpmath.fsum(wi * xi ** k for wi, xi in zip(w, x)) - exact) < mpmath.mpf(10) ** -25
        x, w = reference.gauss_laguerre(6, 1.5)
        assert max(abs(mpmath.laguerre(6, 1.5, t)) for t in x) < mpmath.mpf(10) ** -28
        assert abs(mpmath.fsum(w) - mpmath.gamma(2.5)) < mpmath.mpf(10) ** -35
        x, w = reference.gauss_hermite(9)
        assert max(abs(mpmath.hermite(9, t)) for t in x) < mpmath.mpf(10) ** -25
        x, w = reference.gauss_lobatto(5)
        for k in range(8):
            assert abs(mpmath.fsum(wi * xi ** k for wi, xi in zip(w, x)) - (1 + (-1) ** k) / mpmath.mpf(k + 1)) < 1e-35


def test_stored_reference_is_reproducible():
    # the stored file is what quadlib.reference computes today (spot check)
    x, w = reference.gauss_jacobi(317, 5.0, 2.5, indices=[0, 158, 316])
    key = "jacobi_5_2.5/317/"
    idx = list(REFERENCE[key + "index"])
    for k, i in enumerate([0, 158, 316]):
        j = idx.index(i)
        assert float(x[k]) == REFERENCE[key + "x_hi"][j]
        assert float(w[k]) == REFERENCE[key + "w_hi"][j]


@pytest.mark.parametrize("n", [1, 2, 7, 64, 1000])
def test_chebyshev_closed_forms(n):
    k = np.arange(1, n + 1)
    first = quadlib.gauss_chebyshev(n, 1)
    with mpmath.workdps(30):
        x1 = [-mpmath.cos((2 * j - 1) * mpmath.pi / (2 * n)) for j in k]
        x2 = [-mpmath.cos(j * mpmath.pi / (n + 1)) for j in k]
        w2 = [mpmath.pi / (n + 1) * mpmath.sin(j * mpmath.pi / (n + 1)) ** 2 for j in k]
        assert max(abs(a - b) for a, b in zip(first.nodes, x1)) <= 4 * EPS
        assert np.max(np.abs(first.weights / (np.pi / n) - 1)) <= 8 * EPS
        second = quadlib.gauss_chebyshev(n, 2)
        assert max(abs(a - b) for a, b in zip(second.nodes, x2)) <= 4 * EPS
        assert max(abs(a / b - 1) for a, b in zip(second.weights, w2)) <= 8 * EPS


def _moment(rule, k):
    """Exact integral of |x|^k w(x) and of x^k w(x) over the rule's domain (mpmath)."""
    fam = rule.family
    with mpmath.workdps(40):
        if fam.startswith("gauss_laguerre"):
            alpha = mpmath.mpf(fam.split(",")[1].strip(" )"))
            exact = mpmath.gamma(k + alpha + 1)
            return exact, exact
        if fam.startswith("gauss_hermite"):
            kind = fam.split("'")[1]
            c, scale = {"physicists": (1, 1), "probabilists": (mpmath.sqrt(2), 1),
                        "normal": (mpmath.sqrt(2), 1 / mpmath.sqrt(2 * mpmath.pi))}[kind]
            # integral |x|^k exp(-x^2/c^2) dx = c^(k+1) Gamma((k+1)/2)
            absolute = c ** (k + 1) * mpmath.gamma(mpmath.mpf(k + 1) / 2) * scale
            return absolute, absolute if k % 2 == 0 else 0
        return jacobi_moment(*_jacobi_exponents(rule), k)


def jacobi_moment(a, b, k):
    """(scale, exact) for the integral of x^k (1-x)^a (1+x)^b over [-1, 1], in closed form.

    The weight is mu0 times the law of 2U - 1 with U ~ Beta(b+1, a+1), so the moment is a binomial sum
    of E[U^j] = prod_{i<j} (b+1+i)/(a+b+2+i); the sum of absolute terms bounds the scale.
    """
    with mpmath.workdps(40):
        a, b = mpmath.mpf(a), mpmath.mpf(b)
        mu0 = 2 ** (a + b + 1) * mpmath.beta(a + 1, b + 1)
        beta_moment = [mpmath.mpf(1)]
        for i in range(k):
            beta_moment.append(beta_moment[-1] * (b + 1 + i) / (a + b + 2 + i))
        terms = [mpmath.binomial(k, j) * 2 ** j * (-1) ** (k - j) * beta_moment[j] for j in range(k + 1)]
        return mu0 * mpmath.fsum(abs(t) for t in terms), mu0 * mpmath.fsum(terms)


def _jacobi_exponents(rule):
    # weight_function reads "(1-x)^a (1+x)^b", "(1-x^2)^a", "1/sqrt(1-x^2)" or "sqrt(1-x^2)"
    wf = rule.weight_function
    if wf == "1":
        return mpmath.mpf(0), mpmath.mpf(0)
    if wf == "1/sqrt(1-x^2)":
        return -mpmath.mpf(1) / 2, -mpmath.mpf(1) / 2
    if wf == "sqrt(1-x^2)":
        return mpmath.mpf(1) / 2, mpmath.mpf(1) / 2
    if wf.startswith("(1-x^2)^"):
        a = mpmath.mpf(wf[len("(1-x^2)^"):])
        return a, a
    left, right = wf.split(" ")
    return mpmath.mpf(left.split("^")[1]), mpmath.mpf(right.split("^")[1])


EXACTNESS_RULES = [
    *(quadlib.gauss_legendre(n) for n in (1, 2, 5, 12, 30)),
    *(quadlib.gauss_chebyshev(n, k) for n in (3, 10) for k in (1, 2)),
    quadlib.gauss_gegenbauer(8, 0.75), quadlib.gauss_jacobi(9, 0.3, -0.7), quadlib.gauss_jacobi(6, 5.0, 2.5),
    *(quadlib.gauss_laguerre(n, a) for n in (4, 10) for a in (0.0, -0.5, 3.7)),
    *(quadlib.gauss_hermite(n, k) for n in (5, 16) for k in ("physicists", "probabilists", "normal")),
    quadlib.gauss_radau(1), quadlib.gauss_radau(7), quadlib.gauss_radau(8, 0.5, 1.0, 1),
    quadlib.gauss_lobatto(2), quadlib.gauss_lobatto(9), quadlib.gauss_lobatto(6, -0.5, 2.0),
    *(quadlib.gauss_kronrod(n) for n in (1, 4, 7, 10, 15)),
]


@pytest.mark.parametrize("rule", EXACTNESS_RULES, ids=repr)
def test_exact_for_monomials_up_to_degree(rule):
    for k in range(rule.degree + 1):
        absolute, exact = _moment(rule, k)
        got = mpmath.fsum(mpmath.mpf(w) * mpmath.mpf(x) ** k for w, x in zip(rule.weights, rule.nodes))
        assert abs(got - exact) <= 1e-14 * absolute, (k, got, exact)


def test_degree_is_sharp():
    rule = quadlib.gauss_legendre(4)
    absolute, exact = _moment(rule, 8)
    got = float(np.sum(rule.weights * rule.nodes ** 8))
    assert abs(got - exact) > 1e-6 * absolute


def test_kronrod_matches_quadpack_tables():
    from reference.quadpack_kronrod import QUADPACK_GK

    for n, table in QUADPACK_GK.items():
        rule = quadlib.gauss_kronrod(n)
        xgk = np.array([float(s) for s in table["xgk"]])   # decreasing, ends at 0
        wgk = np.array([float(s) for s in table["wgk"]])
        wg = np.array([float(s) for s in table["wg"]])
        upper = slice(n, None)  # nodes >= 0, increasing
        np.testing.assert_array_max_ulp(rule.nodes[upper][::-1], xgk, maxulp=1)
        np.testing.assert_array_max_ulp(rule.weights[upper][::-1], wgk, maxulp=1)
        gauss_upper = rule.embedded_weights[upper][::-1][1::2]
        np.testing.assert_array_max_ulp(gauss_upper, wg[: gauss_upper.size], maxulp=1)


def test_kronrod_error_estimate():
    rule = quadlib.gauss_kronrod(10)
    for f, exact in [(lambda x: 1 / (1 + 25 * x * x), 0.4 * np.arctan(5.0)), (np.exp, np.e - 1 / np.e)]:
        value, error = rule.integrate_with_error(f, -1.0, 1.0)
        assert abs(value - exact) <= error  # |Kronrod - Gauss| bounds the Kronrod error (pessimistically)
    assert error < 1e-14  # and is small for a smooth integrand
    value, error = rule.integrate_with_error(np.sin, 0.0, 40.0, panels=3)
    assert abs(value - (1 - np.cos(40.0))) <= error
    pieces = [rule.integrate_with_error(np.sin, a, a + 40 / 3)[1] for a in (0.0, 40 / 3, 80 / 3)]
    assert error == pytest.approx(sum(pieces), rel=1e-12)  # panel errors add, they do not cancel


def test_rule_integrate_maps_and_composes():
    rule = quadlib.gauss_legendre(6)
    calls = []

    def f(x):
        calls.append(x.shape)
        return np.exp(x)

    value = rule.integrate(f, 0.0, 2.0, panels=4)
    assert calls == [(24,)]  # one call with every abscissa
    assert abs(value - (np.e ** 2 - 1)) < 1e-14 * np.e ** 2
    vector = rule.integrate(lambda x: np.stack([x, x ** 2], axis=1), 0.0, 1.0)
    np.testing.assert_allclose(vector, [0.5, 1 / 3], rtol=1e-15)
    assert rule.integrate(np.cos, 1.0, 1.0) == 0.0
    assert abs(rule.integrate(np.exp, 1.0, 0.0) + (np.e - 1)) < 1e-15
    weighted = quadlib.gauss_jacobi(5, 1.0, 0.0)  # (1-x) on [-1,1] mapped to [0, 2] is (2-x)/... scaled
    assert abs(weighted.integrate(lambda x: np.ones_like(x), 0.0, 2.0) - 2.0) < 1e-14


def test_rule_is_immutable_and_readable():
    rule = quadlib.gauss_legendre(3)
    with pytest.raises(ValueError):
        rule.nodes[0] = 0.0
    assert "gauss_legendre(3)" in repr(rule) and "degree=5" in repr(rule)


def test_beats_scipy_at_n_1000():
    # scipy's roots_legendre(1000) weights are ~1e-8 off (the motivating figure); ours are not.
    key = "legendre/1000/"
    idx = REFERENCE[key + "index"]
    ref_w = REFERENCE[key + "w_hi"] + REFERENCE[key + "w_lo"]
    _, w_scipy = sc.roots_legendre(1000)
    ours = quadlib.gauss_legendre(1000).weights[idx]
    assert np.max(np.abs(ours / ref_w - 1)) <= 8 * EPS
    assert np.max(np.abs(w_scipy[idx] / ref_w - 1)) > 1e3 * EPS  # documents scipy's error, not a check on us


def test_general_weight_constructors_reproduce_classical_rules():
    j = np.arange(1, 12, dtype=float)
    from_rec = quadlib.gauss_from_recurrence(np.zeros(12), j * j / (4 * j * j - 1), 2.0)
    legendre = quadlib.gauss_legendre(12)
    np.testing.assert_array_max_ulp(from_rec.nodes, legendre.nodes, maxulp=2)
    np.testing.assert_allclose(from_rec.weights, legendre.weights, rtol=4 * EPS)
    # modified moments of the Legendre weight in the monic Legendre basis: (2, 0, 0, ...)
    from_mod = quadlib.gauss_from_moments(np.r_[2.0, np.zeros(39)], basis="legendre")
    np.testing.assert_allclose(from_mod.nodes, quadlib.gauss_legendre(20).nodes, rtol=0, atol=1e-14)
    np.testing.assert_allclose(from_mod.weights, quadlib.gauss_legendre(20).weights, rtol=1e-13)
    # ordinary moments of x^0.5 on [0, 1]: 1/(k + 1.5)
    k = np.arange(10)
    from_mom = quadlib.gauss_from_moments(1 / (k + 1.5))
    x, w = reference.gauss_jacobi(5, 0.0, 0.5, dps=30)  # x^0.5 on [0,1] is Jacobi(0, 1/2) mapped
    np.testing.assert_allclose(from_mom.nodes, [(float(t) + 1) / 2 for t in x], rtol=1e-9)
    # a weight given as a callable, with an integrable endpoint singularity
    from_w = quadlib.gauss_from_weight(lambda t: (1 - t) ** 0.5 * (1 + t) ** -0.5, -1.0, 1.0, 6)
    jac = quadlib.gauss_jacobi(6, 0.5, -0.5)
    np.testing.assert_allclose(from_w.nodes, jac.nodes, atol=1e-10)
    np.testing.assert_allclose(from_w.weights, jac.weights, rtol=1e-9)
    from_inf = quadlib.gauss_from_weight(lambda t: np.exp(-t * t), -np.inf, np.inf, 8)
    np.testing.assert_allclose(from_inf.nodes, quadlib.gauss_hermite(8).nodes, atol=1e-12)


def test_input_validation():
    for constructor in (quadlib.gauss_legendre, quadlib.gauss_kronrod, quadlib.gauss_hermite,
                        quadlib.gauss_laguerre, quadlib.gauss_radau, quadlib.gauss_chebyshev):
        with pytest.raises(ValueError, match="`n`"):
            constructor(0)
        with pytest.raises(TypeError, match="`n`"):
            constructor(2.5)
        with pytest.raises(TypeError, match="`n`"):
            constructor("3")
    with pytest.raises(TypeError, match="`n`"):
        quadlib.gauss_legendre(True)
    with pytest.raises(ValueError, match="`alpha`"):
        quadlib.gauss_jacobi(3, -1.0, 0.0)
    with pytest.raises(ValueError, match="`beta`"):
        quadlib.gauss_jacobi(3, 0.0, -2.0)
    with pytest.raises(ValueError, match="`alpha`"):
        quadlib.gauss_jacobi(3, np.nan, 0.0)
    with pytest.raises(ValueError, match="`alpha`"):
        quadlib.gauss_laguerre(3, -1.5)
    with pytest.raises(ValueError, match="`lam`"):
        quadlib.gauss_gegenbauer(3, -0.5)
    with pytest.raises(ValueError, match="`kind`"):
        quadlib.gauss_hermite(3, "chemists")
    with pytest.raises(ValueError, match="`kind`"):
        quadlib.gauss_chebyshev(3, 3)
    with pytest.raises(ValueError, match="`endpoint`"):
        quadlib.gauss_radau(3, endpoint=0)
    with pytest.raises(ValueError, match="`n`"):
        quadlib.gauss_lobatto(1)
    with pytest.raises(ValueError, match="`moments`"):
        quadlib.gauss_from_moments([1.0, 0.0, -1.0, 0.0])  # variance < 0
    with pytest.raises(ValueError, match="`moments`"):
        quadlib.gauss_from_moments([-1.0, 0.0])
    with pytest.raises(ValueError, match="`moments`"):
        quadlib.gauss_from_moments([1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="`beta`"):
        quadlib.gauss_from_recurrence([0.0, 0.0], [-1.0], 1.0)
    with pytest.raises(ValueError, match="`beta`"):
        quadlib.gauss_from_recurrence([0.0, 0.0], [1.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="`mu0`"):
        quadlib.gauss_from_recurrence([0.0], [], 0.0)
    with pytest.raises(TypeError, match="`w`"):
        quadlib.gauss_from_weight(None, 0.0, 1.0, 3)
    with pytest.raises(ValueError, match="`a`"):
        quadlib.gauss_from_weight(np.ones_like, 1.0, 0.0, 3)
    with pytest.raises(ValueError, match="`w`"):
        quadlib.gauss_from_weight(lambda t: -np.ones_like(t), 0.0, 1.0, 3)
    rule = quadlib.gauss_legendre(4)
    with pytest.raises(ValueError, match="`a`"):
        rule.integrate(np.exp, np.inf, 1.0)
    with pytest.raises(ValueError, match="`b`"):
        rule.integrate(np.exp, 0.0, np.nan)
    with pytest.raises(TypeError, match="`f`"):
        rule.integrate(3.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="`f`"):
        rule.integrate(lambda x: 1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="`panels`"):
        rule.integrate(np.exp, 0.0, 1.0, panels=0)
    with pytest.raises(ValueError, match="`a` and `b`"):
        quadlib.gauss_hermite(4).integrate(np.exp, 0.0, 1.0)
