"""The O(n) Gauss–Legendre and Gauss–Jacobi rules (quadlib._gauss_lj) against mpmath-precision references.

Reference (independent of the kernels): Newton's method started from our double node, on the Jacobi
polynomial and its derivative evaluated by the three-term recurrence (DLMF 18.9.2) in exact binary fixed point
with 2^-192 resolution (Python integers; the parameters are dyadic rationals, so every coefficient is exact
before the one rounding to fixed point): O(n) per evaluation, about 20x faster than the same loop on mpmath
numbers and as exact (checked against mpmath.jacobi below). The weight is the closed form
w = K / ((1 - x^2) P_n'(x)^2), K = 2^(a+b+1) Gamma(n+a+1) Gamma(n+b+1) / (n! Gamma(n+a+b+1)), in mpmath.
The refined zero must stay strictly between our neighbouring nodes (so it is the same, k-th, zero).

Accuracy asserted on sampled nodes (first, last, middle and random indices) for n = 10^2 .. 10^5, and at
10^6 in a slow test: node error <= 2 eps max(1, |x|), within one ulp of x next to the ends (so 1 -+ x is as
accurate as a double node allows); weight error <= 4 eps, median <= 1 eps.
"""
import functools
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import quadlib
from quadlib import _gauss, _gauss_lj, reference
from quadlib._gauss_lj import JACOBI_CROSSOVER, LEGENDRE_CROSSOVER, jacobi_large, legendre_large

EPS = np.finfo(float).eps
BITS = 192
ONE = 1 << BITS
JACOBI_PARAMS = [(0.5, -0.5), (-0.7, 0.3), (2.0, 5.0), (5.0, -0.5), (-0.99, 4.5)]
FAMILIES = [("legendre", 0.0, 0.0)] + [(f"jacobi({a:g},{b:g})", a, b) for a, b in JACOBI_PARAMS]
SIZES = [10 ** 2, 10 ** 3, 10 ** 4, pytest.param(10 ** 5, marks=pytest.mark.slow)]  # 10^5: 3-8 s each


# ---------------------------------------------------------------- the reference

def _dyadic(a, b):
    """a = A / D, b = B / D with D a power of two (doubles are dyadic rationals)."""
    (pa, qa), (pb, qb) = a.as_integer_ratio(), b.as_integer_ratio()
    d = max(qa, qb)
    return pa * (d // qa), pb * (d // qb), d


@functools.lru_cache(maxsize=16)
def _recurrence(n, a, b):
    """Fixed-point coefficients of P_k = (A_k x + B_k) P_{k-1} - C_k P_{k-2}, k = 2..n (DLMF 18.9.2)."""
    big_a, big_b, d = _dyadic(a, b)
    s = big_a + big_b                                   # (a + b) D
    coef = []
    for k in range(2, n + 1):
        t = 2 * k * d + s                               # (2k + a + b) D
        c1 = 2 * k * (k * d + s) * (t - 2 * d)          # 2k (k+a+b) (2k+a+b-2), times D^2
        c2 = (t - d) * t * (t - 2 * d)                  # times D^3
        c3 = (t - d) * (big_a * big_a - big_b * big_b)  # times D^3
        c4 = 2 * (k * d + big_a - d) * (k * d + big_b - d) * t
        den = c1 * d
        coef.append(((c2 << BITS) // den, (c3 << BITS) // den, (c4 << BITS) // den))
    return coef, big_a, big_b, d


def _evaluate(n, a, b, x):
    """P_n^(a,b)(x) and its derivative, x and results as integers scaled by 2^BITS."""
    coef, big_a, big_b, d = _recurrence(n, a, b)
    s2 = big_a + big_b + 2 * d
    p0, p1 = ONE, (s2 * x + (big_a - big_b) * ONE) // (2 * d)
    d0, d1 = 0, (s2 << BITS) // (2 * d)
    for ca, cb, cc in coef:
        t = ((ca * x) >> BITS) + cb
        p0, p1 = p1, (t * p1 - cc * p0) >> BITS
        d0, d1 = d1, (t * d1 + ca * p0 - cc * d0) >> BITS
    return p1, d1


def _weight_constant(n, a, b):
    a, b = mpmath.mpf(a), mpmath.mpf(b)
    lg = mpmath.loggamma
    return mpmath.exp((a + b + 1) * mpmath.log(2) + lg(n + a + 1) + lg(n + b + 1) - lg(n + 1) - lg(n + a + b + 1))


def reference_rule(n, a, b, x, indices):
    """Zeros of P_n^(a,b) refined from our nodes x[indices], and their weights, as mpmath numbers (40 digits)."""
    with mpmath.workdps(40):
        k_const = _weight_constant(n, a, b)
        out = []
        for i in indices:
            xi = int(mpmath.mpf(float(x[i])) * ONE)
            for _ in range(8):
                p, dp = _evaluate(n, a, b, xi)
                step = (p << BITS) // dp
                xi -= step
                if abs(step) < 2 ** (BITS - 120):
                    break
            else:
                raise AssertionError(f"reference Newton did not converge at index {i}")
            p, dp = _evaluate(n, a, b, xi)
            xr = mpmath.mpf(xi) / ONE
            # still the i-th zero: strictly between our neighbours
            if i > 0:
                assert xr > x[i - 1], (i, xr)
            if i < n - 1:
                assert xr < x[i + 1], (i, xr)
            derivative = mpmath.mpf(dp) / ONE
            out.append((xr, k_const / ((1 - xr * xr) * derivative * derivative)))
        return out


def sample_indices(n, count=20, seed=0):
    rng = np.random.default_rng(seed + n)
    fixed = {0, 1, n // 2, n - 2, n - 1}
    return sorted(fixed | set(rng.choice(n, size=count - len(fixed), replace=False).tolist()))


def errors(n, a, b, x, w, indices):
    """Node errors in eps * max(1, |x|), in ulps of x, and relative weight errors in eps."""
    ref = reference_rule(n, a, b, x, indices)
    with mpmath.workdps(40):
        node = np.array([float(abs(mpmath.mpf(float(x[i])) - xr)) for i, (xr, _) in zip(indices, ref)])
        weight = np.array([float(abs(mpmath.mpf(float(w[i])) / wr - 1)) for i, (_, wr) in zip(indices, ref)])
    xs = x[indices]
    return node / EPS / np.maximum(1.0, np.abs(xs)), node / np.spacing(np.abs(xs)), weight / EPS


def rule_for(family, n):
    _, a, b = next(f for f in FAMILIES if f[0] == family)
    return (legendre_large(n) if family == "legendre" else jacobi_large(n, a, b)), a, b


def assert_accurate(family, n, x, w, a, b, indices):
    node_eps, node_ulps, weight_eps = errors(n, a, b, x, w, indices)
    assert node_eps.max() <= 2.0, (family, n, node_eps.max())
    ends = np.abs(x[indices]) > 0.99
    assert node_ulps[ends].max(initial=0.0) <= 1.0, (family, n, node_ulps[ends].max())
    assert weight_eps.max() <= 4.0, (family, n, weight_eps.max())
    assert np.median(weight_eps) <= 1.0, (family, n, np.median(weight_eps))
    return node_eps.max(), weight_eps.max(), np.median(weight_eps)


# ---------------------------------------------------------------- the reference itself

def test_reference_matches_mpmath():
    # the fixed-point recurrence agrees with mpmath's hypergeometric Jacobi polynomials
    with mpmath.workdps(40):
        for n, a, b, x in [(7, 0.3, -0.7, 0.25), (300, 2.0, 5.0, -0.6), (250, -0.99, 4.5, 0.97)]:
            p, dp = _evaluate(n, a, b, int(mpmath.mpf(x) * ONE))
            exact = mpmath.jacobi(n, a, b, x)
            slope = mpmath.diff(lambda t: mpmath.jacobi(n, a, b, t), x)
            assert abs(mpmath.mpf(p) / ONE - exact) <= mpmath.mpf(10) ** -35 * (1 + abs(exact))
            assert abs(mpmath.mpf(dp) / ONE / slope - 1) <= mpmath.mpf(10) ** -30
    # and gives quadlib.reference's (eigenvalue + mpmath Newton) rule at a small size
    x, w = reference.gauss_jacobi(40, 2.0, 5.0, dps=40)
    xs = np.array([float(t) for t in x])
    for (xr, wr), xe, we in zip(reference_rule(40, 2.0, 5.0, xs, range(40)), x, w):
        assert abs(xr - xe) < 1e-35 and abs(wr / we - 1) < 1e-30


# ---------------------------------------------------------------- accuracy

@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("family", [f[0] for f in FAMILIES])
def test_nodes_and_weights_against_mpmath(family, n):
    count = 20 if n < 10 ** 5 else 12   # the reference costs 3 x O(n) big-integer steps per node
    (x, w, logw), a, b = rule_for(family, n)
    assert_accurate(family, n, x, w, a, b, sample_indices(n, count))
    np.testing.assert_array_equal(logw, np.log(w))


@pytest.mark.slow
@pytest.mark.parametrize("family", ["legendre", "jacobi(-0.7,0.3)", "jacobi(5,-0.5)"])
def test_spot_check_at_a_million(family):
    n = 10 ** 6
    (x, w, _), a, b = rule_for(family, n)
    assert_accurate(family, n, x, w, a, b, [0, 1, 7, n // 3, n // 2, n - 8, n - 2, n - 1])


@pytest.mark.slow  # ~1.7 s a family
@pytest.mark.parametrize("family", ["legendre", "jacobi(-0.7,0.3)", "jacobi(2,5)", "jacobi(-0.99,4.5)"])
def test_same_accuracy_both_sides_of_the_crossover(family):
    # every node below (recurrence) and at the crossover (asymptotics), against quadlib.reference
    _, a, b = next(f for f in FAMILIES if f[0] == family)
    crossover = LEGENDRE_CROSSOVER if family == "legendre" else JACOBI_CROSSOVER
    for n in (crossover - 1, crossover):
        rule = quadlib.gauss_legendre(n) if family == "legendre" else quadlib.gauss_jacobi(n, a, b)
        xr, wr = reference.gauss_jacobi(n, a, b, dps=34)
        with mpmath.workdps(34):
            node = np.array([float(abs(mpmath.mpf(t) - r)) for t, r in zip(rule.nodes, xr)]) / EPS
            weight = np.array([float(abs(mpmath.mpf(t) / r - 1)) for t, r in zip(rule.weights, wr)]) / EPS
        assert node.max() <= 1.0 and weight.max() <= 2.0 and np.median(weight) <= 0.5, (family, n)


@pytest.mark.slow  # 8-16 s (mpmath references)
@pytest.mark.parametrize("n", [JACOBI_CROSSOVER + 1, 160])
def test_radau_and_lobatto_above_the_crossover(n):
    cases = [(quadlib.gauss_radau(n, a, b, end), reference.gauss_radau(n, a, b, end, dps=34))
             for a, b, end in [(0.0, 0.0, -1), (0.5, 1.0, 1), (-0.7, 0.3, -1), (5.0, -0.5, 1), (2.0, 5.0, -1)]]
    cases += [(quadlib.gauss_lobatto(n, a, b), reference.gauss_lobatto(n, a, b, dps=34))
              for a, b in [(0.0, 0.0), (-0.5, 2.0), (5.0, 5.0), (-0.99, 4.5)]]
    with mpmath.workdps(34):
        for rule, (xr, wr) in cases:
            assert max(abs(mpmath.mpf(t) - r) for t, r in zip(rule.nodes, xr)) <= EPS, rule
            weight = np.array([float(abs(mpmath.mpf(t) / r - 1)) for t, r in zip(rule.weights, wr)]) / EPS
            assert weight.max() <= 4.0 and np.median(weight) <= 1.0, (rule, weight.max())


# ---------------------------------------------------------------- properties

def test_two_algorithms_agree_on_legendre():
    # Bogaert's iteration-free expansions and Newton on Hahn's expansion: independent routes, same rule
    for n in (1000, 12345):
        x1, w1, _ = legendre_large(n)
        x2, w2, _ = jacobi_large(n, 0.0, 0.0)
        assert np.max(np.abs(x1 - x2)) <= EPS
        assert np.max(np.abs(w1 / w2 - 1)) <= 2 * EPS


@pytest.mark.parametrize("a, b", [(0.0, 0.0), (0.3, 0.3), (-0.5, -0.5), (2.5, 2.5)])
def test_symmetric_rules_are_exactly_symmetric(a, b):
    for n in (1000, 1001):
        x, w, _ = legendre_large(n) if a == 0 else jacobi_large(n, a, b)
        np.testing.assert_array_equal(x, -x[::-1])
        np.testing.assert_array_equal(w, w[::-1])
        if n % 2:
            assert x[n // 2] == 0.0


@pytest.mark.parametrize("a, b", [(0.0, 0.0)] + JACOBI_PARAMS)
def test_weights_sum_to_the_mass(a, b):
    mu0 = float(2 ** (a + b + 1) * mpmath.beta(a + 1, b + 1))
    for n in (1000, 10 ** 5):
        x, w, _ = legendre_large(n) if a == b == 0 else jacobi_large(n, a, b)
        assert np.all(np.diff(x) > 0) and -1 < x[0] and x[-1] < 1
        assert abs(math.fsum(w) / mu0 - 1) <= 4 * EPS


def _jacobi_values(m, a, b, x):
    """P_m^(a,b)(x) in double by the recurrence (stable on [-1, 1]), divided by max |P_m| = max |P_m(+-1)|."""
    p0, p1 = np.ones_like(x), 0.5 * ((a + b + 2) * x + a - b)
    if m == 0:
        return p0
    for k in range(2, m + 1):
        t = 2 * k + a + b
        p0, p1 = p1, (((t - 1) * (t * (t - 2) * x + a * a - b * b)) * p1
                      - 2 * (k + a - 1) * (k + b - 1) * t * p0) / (2 * k * (k + a + b) * (t - 2))
    ends = [math.lgamma(m + p + 1) - math.lgamma(p + 1) - math.lgamma(m + 1) for p in (a, b)]
    return p1 / math.exp(max(ends, default=0.0) if max(a, b) >= -0.5 else 0.0)


@settings(max_examples=25, deadline=None)
@given(params=st.sampled_from([(0.0, 0.0)] + JACOBI_PARAMS), degree=st.integers(1, 2 * 400 - 1))
def test_exact_to_degree_2n_minus_1(params, degree):
    # orthogonality: the rule integrates P_m^(a,b) (m >= 1) to zero for every m < 2n, to the accuracy the
    # double-precision recurrence for P_m allows (m ulps of max |P_m| at each node)
    a, b = params
    n = 400
    x, w, _ = legendre_large(n) if a == b == 0 else jacobi_large(n, a, b)
    values = _jacobi_values(degree, a, b, x)
    assert abs(np.dot(w, values)) <= 4 * degree * EPS * w.sum()


def test_constructors_dispatch_and_do_not_memoize_large_rules():
    _gauss.clear_caches()
    n = 4321
    rule = quadlib.gauss_legendre(n)
    np.testing.assert_array_equal(rule.nodes, legendre_large(n)[0])
    rule = quadlib.gauss_jacobi(n, 2.0, 5.0)
    np.testing.assert_array_equal(rule.weights, jacobi_large(n, 2.0, 5.0)[1])
    quadlib.gauss_gegenbauer(n, 1.25)
    quadlib.gauss_chebyshev(n, 2)
    assert _gauss._jacobi.cache_info().currsize == 0   # nothing above the crossover is kept
    assert quadlib.gauss_legendre(LEGENDRE_CROSSOVER - 1).n == LEGENDRE_CROSSOVER - 1
    assert _gauss._jacobi.cache_info().currsize == 1   # below it, the recurrence's rules still are
    # outside |alpha|, |beta| <= 5 the recurrence is used at any n
    assert not _gauss._asymptotic(200, 5.5, 0.0) and _gauss._asymptotic(200, 5.0, -0.99)


def test_chebyshev_closed_forms_above_the_crossover():
    n = 5000
    k = np.arange(1, n + 1)
    first, second = quadlib.gauss_chebyshev(n, 1), quadlib.gauss_chebyshev(n, 2)
    with mpmath.workdps(30):
        x1 = [-mpmath.cos((2 * j - 1) * mpmath.pi / (2 * n)) for j in k[::97]]
        x2 = [-mpmath.cos(j * mpmath.pi / (n + 1)) for j in k[::97]]
        w2 = [mpmath.pi / (n + 1) * mpmath.sin(j * mpmath.pi / (n + 1)) ** 2 for j in k[::97]]
        assert max(abs(a - b) for a, b in zip(first.nodes[::97], x1)) <= EPS
        assert max(abs(a - b) for a, b in zip(second.nodes[::97], x2)) <= EPS
        assert max(abs(a / b - 1) for a, b in zip(second.weights[::97], w2)) <= 2 * EPS
    assert np.max(np.abs(first.weights / (np.pi / n) - 1)) <= 2 * EPS


@pytest.mark.slow
def test_ten_million_nodes():
    n = 10 ** 7
    rule = quadlib.gauss_legendre(n)
    x, w = rule.nodes, rule.weights
    assert x.size == n and np.all(np.diff(x[:1000]) > 0) and np.all(np.diff(x[-1000:]) > 0)
    assert abs(math.fsum(w) - 2.0) <= 1e-14
    # the first node: theta_1 = j_{0,1} v (1 - v^2/24 ...) with v = 1 / (n + 1/2) (Bogaert's F1 term)
    v = 1 / (n + 0.5)
    a = 2.404825557695773 * v
    assert abs(1 - x[-1] - 2 * math.sin((a + v * v * (1 / math.tan(a) - 1 / a) / 8) / 2) ** 2) <= EPS
    rule = quadlib.gauss_jacobi(n, -0.7, 0.3)
    assert np.all(np.diff(rule.nodes) > 0)
    mu0 = float(2 ** 0.6 * mpmath.beta(0.3, 1.3))
    assert abs(math.fsum(rule.weights) / mu0 - 1) <= 1e-13


def test_input_validation():
    with pytest.raises(ValueError, match="`n`"):
        legendre_large(63)
    with pytest.raises(TypeError, match="`n`"):
        legendre_large(100.0)
    with pytest.raises(ValueError, match="`n`"):
        jacobi_large(10, 0.5, 0.5)
    with pytest.raises(ValueError, match="`alpha`"):
        jacobi_large(100, -1.0, 0.5)
    with pytest.raises(ValueError, match="`beta`"):
        jacobi_large(100, 0.5, 7.5)
    with pytest.raises(TypeError, match="`alpha`"):
        jacobi_large(100, "1", 0.5)
    with pytest.raises(ValueError, match="`shift`"):
        jacobi_large(100, 0.5, 0.5, shift=(2, 0))
