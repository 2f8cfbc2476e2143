"""Reliability of the rule constructors: bounded sizes, parameter ranges, no NaN, no internal exceptions.

Regression tests for the defects of the independent review (sparse-grid size guard, deep recursion,
anisotropy overflow, Kronrod cost, NaN Jacobi weights, Laguerre at large alpha, gauss_from_weight at huge n,
the size argument of every rule constructor), then two hypothesis properties: exactness of every Gauss family
on random polynomials against closed-form moments, and agreement with the mpmath twins in quadlib.reference.
Expected values come from closed forms (Beta and Gamma functions) or mpmath, never from the code under test.
"""
import math
import time
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import quadlib
from quadlib import reference

EPS = np.finfo(float).eps


def _fast(seconds=1.0):
    """Context manager asserting that its block stays within a bound on work: 10x `seconds` of CPU time.

    Not a speed target (those live in asv_bench/): the defects these guard against took minutes or never ended,
    so a generous CPU-time bound tells "checked before enumerating" from "enumerated first" on any machine."""
    class _Timer:
        def __enter__(self):
            self.start = time.process_time()

        def __exit__(self, *exc):
            if exc[0] is None:
                assert time.process_time() - self.start < 10 * seconds
            return False
    return _Timer()


def _log_beta(a, b):
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


# ---------------------------------------------------------------- 1-3: sparse grids

def test_sparse_grid_size_guard_answers_before_enumerating():
    # 100 dimensions at level 5 is 2.7e9 points; the index set used to be enumerated (minutes) first
    with _fast(1.0):
        with pytest.raises(ValueError, match="`max_points`"):
            quadlib.sparse_grid(100, 5)
    with _fast(1.0):
        with pytest.raises(ValueError, match="`max_points`"):
            quadlib.sparse_grid(30, 8, "gauss_hermite")


def test_sparse_grid_count_is_exact_at_the_boundary():
    # 41265 points (Gerstner & Griebel's table, as in test_sparse.py): the closed-form count is exact
    assert quadlib.sparse_grid(10, 5, max_points=41265).n == 41265
    with pytest.raises(ValueError, match="41265 points, more than `max_points`=41264"):
        quadlib.sparse_grid(10, 5, max_points=41264)


def test_sparse_grid_in_many_dimensions_has_no_recursion_limit():
    with _fast(1.0):
        with pytest.raises(ValueError, match="`max_points`"):
            quadlib.sparse_grid(10 ** 4, 2)  # used to be a RecursionError
    with pytest.raises(ValueError, match="`dim` must be at most 10000"):
        quadlib.sparse_grid(10 ** 5, 1)
    # 1500 > the default recursion limit; the 2 d + 1 points of level 1 (Genz–Keister) in closed form
    grid = quadlib.sparse_grid(1500, 1, "genz_keister")
    assert grid.n == 3001 and grid.nodes.shape == (3001, 1500)
    assert abs(grid.weights.sum() - 1.0) < 1e-9
    second = np.sum(grid.weights * grid.nodes[:, 7] ** 2)  # E Z^2 = 1
    assert abs(second - 1.0) < 1e-9


def test_sparse_grid_refuses_weights_beyond_the_double_range():
    # the volume of [-1, 1]^2000 is 2^2000: the single weight of level 0 used to come out inf
    with pytest.raises(ValueError, match="`dim`"):
        quadlib.sparse_grid(2000, 0)
    assert quadlib.sparse_grid(2000, 0, "gauss_hermite").weights[0] == 1.0


@pytest.mark.parametrize("weights", [[2 ** 40, 1, 1], [2 ** 80, 1, 1], np.array([2 ** 40, 1, 1]),
                                     [10 ** 30, 1, 1]])
def test_sparse_grid_huge_anisotropy_is_level_zero_in_that_dimension(weights):
    # used to wrap to a C int (0 or negative) and give a one-point grid silently
    grid = quadlib.sparse_grid(3, 5, anisotropy=weights)
    plane = quadlib.sparse_grid(2, 5)
    assert grid.n == plane.n == 145
    assert np.all(grid.nodes[:, 0] == 0.0)
    # exact moments of the uniform weight on [-1, 1]^3: 8 / ((a+1)(b+1)) for even a, b
    for a, b in [(0, 0), (2, 0), (4, 6), (10, 0)]:
        got = np.sum(grid.weights * grid.nodes[:, 1] ** a * grid.nodes[:, 2] ** b)
        assert abs(got - 8.0 / ((a + 1) * (b + 1))) < 1e-13


def test_sparse_grid_anisotropy_only_its_ratios_matter():
    a = quadlib.sparse_grid(3, 4, anisotropy=[2, 4, 6])
    b = quadlib.sparse_grid(3, 4, anisotropy=[1, 2, 3])
    assert np.array_equal(a.nodes, b.nodes) and np.array_equal(a.weights, b.weights)


@pytest.mark.parametrize("weights, match", [
    ([0, 1, 1], "`anisotropy`"), ([1.5, 1, 1], "`anisotropy`"), ([np.inf, 1, 1], "`anisotropy`"),
    ([True, 1, 1], "`anisotropy`"), ([1, 1], "`anisotropy`"), ("abc", "`anisotropy`"), (3, "`anisotropy`"),
    ([-(2 ** 70), 1, 1], "`anisotropy`"), ([1000, 1001, 1002], "`anisotropy` and `level`"),
])
def test_sparse_grid_anisotropy_validation(weights, match):
    with _fast(1.0):
        with pytest.raises(ValueError, match=match):
            quadlib.sparse_grid(3, 5, anisotropy=weights)


def test_product_rule_counts_exactly():
    # 1000^200 points: the float count used to overflow to inf and int(inf) raised OverflowError
    with pytest.raises(ValueError, match="`max_points`"):
        quadlib.product_rule([quadlib.gauss_legendre(1000)] * 200)
    with pytest.raises(ValueError, match="`rules`"):
        quadlib.product_rule([quadlib.gauss_legendre(1)] * 2000)  # weight 2^2000
    rule = quadlib.product_rule([quadlib.gauss_legendre(1)] * 100)  # beyond numpy's 64 dimensions
    assert rule.n == 1 and rule.weights[0] == 2.0 ** 100


# ---------------------------------------------------------------- 4: Kronrod

def test_kronrod_size_is_bounded():
    with _fast(1.0):
        with pytest.raises(ValueError, match="`n` must be at most 400"):
            quadlib.gauss_kronrod(10 ** 5)
    with _fast(3.0):  # about half a second at the maximum
        rule = quadlib.gauss_kronrod(400)
    assert rule.n == 801 and abs(rule.weights.sum() - 2.0) < 1e-13
    # degree 3n + 1 = 1201: the integral of x^1200 over [-1, 1] is 2/1201
    assert abs(np.sum(rule.weights * rule.nodes ** 1200) - 2.0 / 1201) < 1e-15


# ---------------------------------------------------------------- 5: Jacobi-family weights, never NaN

def _assert_matches_reference(rule, nodes, weights, *, node_ulps=4, weight_eps=16):
    x_ref = np.array([float(t) for t in nodes])
    w_ref = np.array([float(t) for t in weights])
    log_ref = np.array([float(mpmath.log(t)) for t in weights])
    assert np.all(np.isfinite(rule.nodes)) and np.all(np.isfinite(rule.weights))
    # the twin stops Newton at 1e-35 absolute: a node at 0 comes out 1e-92 or so there
    assert np.all(np.abs(rule.nodes - x_ref) <= node_ulps * EPS * np.abs(x_ref) + 1e-33)
    normal = w_ref > 1e-290
    assert np.all(np.abs(rule.weights - w_ref)[normal] <= weight_eps * EPS * w_ref[normal])
    assert np.all(np.abs(rule.log_weights - log_ref) <= 1e-13 * np.maximum(1.0, np.abs(log_ref)))


@pytest.mark.parametrize("n, alpha, beta", [
    (120, 1000.0, -0.999999),  # used to have NaN weights
    (5, 1000.0, 0.0), (40, 500.0, 300.0), (30, -0.999999999, 20.0), (30, -0.9999999999999999, 0.0),
    (10, 1e12, 1e12),
])
def test_extreme_jacobi_parameters_match_mpmath(n, alpha, beta):
    rule = quadlib.gauss_jacobi(n, alpha, beta)
    _assert_matches_reference(rule, *reference.gauss_jacobi(n, alpha, beta, dps=30))


@pytest.mark.parametrize("call", [
    lambda: quadlib.gauss_jacobi(5, 2000, 0),  # used to return all-NaN weights
    lambda: quadlib.gauss_jacobi(5, 0, 2000),
    lambda: quadlib.gauss_radau(5, 2000, 0),
    lambda: quadlib.gauss_lobatto(5, 0, 1500),
    lambda: quadlib.gauss_jacobi(5, 1e308, 1e308),  # used to be an OverflowError
])
def test_jacobi_weights_beyond_the_double_range_are_refused(call):
    with pytest.raises(ValueError, match="`alpha` and `beta`"):
        call()


def test_jacobi_mass_limit_is_where_the_closed_form_says():
    # the mass 2^(a+1) B(a+1, 1) = 2^(a+1) / (a+1) is 2^1016 at a = 1025 and 2^1026 at a = 1035
    rule = quadlib.gauss_jacobi(5, 1025.0, 0.0)
    exact = math.ldexp(1.0 / 1026.0, 1026)
    assert abs(rule.weights.sum() - exact) < 1e-13 * exact
    with pytest.raises(ValueError, match="`alpha` and `beta`"):
        quadlib.gauss_jacobi(5, 1035.0, 0.0)


@pytest.mark.parametrize("family, args", [
    ("gauss_radau", (20, 900.0, 0.5)), ("gauss_radau", (20, 0.5, 900.0, 1)), ("gauss_lobatto", (20, 900.0, 0.5)),
    ("gauss_lobatto", (30, -0.99, -0.99)), ("gauss_gegenbauer", (30, 1e6)), ("gauss_gegenbauer", (30, -0.25)),
    ("gauss_laguerre", (20, 170.0)), ("gauss_laguerre", (40, 150.5)), ("gauss_laguerre", (30, -0.9999)),
])
def test_extreme_parameters_of_the_other_families_match_mpmath(family, args):
    rule = getattr(quadlib, family)(*args)
    _assert_matches_reference(rule, *getattr(reference, family)(*args, dps=30))


def test_recurrence_only_parameters_bound_n():
    with _fast(1.0):
        with pytest.raises(ValueError, match="`n` must be at most 3000 when"):
            quadlib.gauss_jacobi(10 ** 5, 7.0, 0.2)  # used to run for minutes
    with pytest.raises(ValueError, match="`n` must be at most 3000"):
        quadlib.gauss_radau(10 ** 4, 0.0, 6.0)
    with pytest.raises(ValueError, match="`n` must be at most 3000"):
        quadlib.gauss_lobatto(10 ** 4, 6.0, 6.0)
    # the O(n) algorithm still covers |alpha|, |beta| <= 5 at any size up to 10^7
    rule = quadlib.gauss_jacobi(10 ** 5, 5.0, -0.5)
    exact = math.exp(5.5 * math.log(2) + _log_beta(6.0, 0.5))
    assert abs(rule.weights.sum() - exact) < 1e-13 * exact


# ---------------------------------------------------------------- 6: Laguerre

def test_laguerre_alpha_beyond_the_double_range_is_refused():
    with pytest.raises(ValueError, match="`alpha` must be at most 170.08"):
        quadlib.gauss_laguerre(200, 400)  # used to raise ArithmeticError "please report"
    with pytest.raises(ValueError, match="`alpha`"):
        quadlib.gauss_laguerre(20, 170.1)


@pytest.mark.parametrize("n, alpha", [(200, 170.0), (61, 170.08), (10 ** 6, 150.0), (10 ** 5, 170.08),
                                      (3 * 10 ** 5, 100.0)])
def test_laguerre_at_large_alpha_integrates_the_gamma_moments(n, alpha):
    # (61, 170.08) used to overflow to inf weights; (10^6, 150) used to fail in the kernel
    rule = quadlib.gauss_laguerre(n, alpha)
    assert np.all(np.isfinite(rule.nodes)) and np.all(np.isfinite(rule.log_weights))
    assert np.all(np.isfinite(rule.weights)) and np.all(np.diff(rule.nodes) > 0)
    logw, logx = rule.log_weights, np.log(rule.nodes)
    for k in range(4):  # sum w x^k = Gamma(alpha + k + 1), summed in logs (most weights underflow)
        terms = logw + k * logx
        top = terms.max()
        log_sum = top + math.log(np.exp(terms - top).sum())
        assert abs(log_sum - math.lgamma(alpha + k + 1)) < 1e-12 * math.lgamma(alpha + k + 1)


def test_no_message_asks_the_user_to_report():
    import pathlib
    package = pathlib.Path(quadlib.__file__).parent
    for name in ("_gauss.py", "_gauss_lj.py", "_gauss_hl.py"):
        assert "please report" not in (package / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------- 7: gauss_from_weight

def test_gauss_from_weight_bounds():
    ones = np.ones_like
    with _fast(1.0):
        with pytest.raises(ValueError, match="`n` must be at most 1000"):
            quadlib.gauss_from_weight(ones, 0, 1, 10 ** 6)  # used to be an UnboundLocalError
    with pytest.raises(ValueError, match="`max_points` must be at least"):
        quadlib.gauss_from_weight(ones, 0, 1, 100, max_points=200)
    with pytest.raises(ValueError, match="`max_points` must be at most"):
        quadlib.gauss_from_weight(ones, 0, 1, 10, max_points=2 ** 30)
    with pytest.raises(ValueError, match="`w`"):
        quadlib.gauss_from_weight(lambda x: 0.0 * x, 0, 1, 10)
    rule = quadlib.gauss_from_weight(ones, 0, 1, 5)  # Gauss–Legendre on [0, 1]
    assert abs(np.sum(rule.weights * rule.nodes ** 9) - 0.1) < 1e-13


def test_gauss_from_moments_and_recurrence_bounds():
    with pytest.raises(ValueError, match="`alpha` must have at most 3000"):
        quadlib.gauss_from_recurrence(np.zeros(3001), np.ones(3000), 1.0)
    with pytest.raises(ValueError, match="`moments` must have at most 6000"):
        quadlib.gauss_from_moments(np.ones(6002))
    with pytest.raises(ValueError, match="`moments`"):  # factorial moments overflow the Chebyshev algorithm
        quadlib.gauss_from_moments([float(math.factorial(k)) for k in range(170)])
    with pytest.raises(TypeError, match="`alpha`"):
        quadlib.gauss_from_recurrence(["a"], [], 1.0)
    with pytest.raises(ValueError, match="gauss_from_recurrence"):  # nodes 1e300 apart: no Newton step settles
        quadlib.gauss_from_recurrence([1e300, -1e300], [1.0], 1.0)


# ---------------------------------------------------------------- 8: every constructor's size argument

F = np.sin
SIZED = {  # name -> (call with the size, name of the size argument, documented maximum)
    "gauss_legendre": (lambda n: quadlib.gauss_legendre(n), "n", 10 ** 7),
    "gauss_chebyshev": (lambda n: quadlib.gauss_chebyshev(n, kind=2), "n", 10 ** 7),
    "gauss_gegenbauer": (lambda n: quadlib.gauss_gegenbauer(n, 1.5), "n", 10 ** 7),
    "gauss_jacobi": (lambda n: quadlib.gauss_jacobi(n, 0.5, -0.3), "n", 10 ** 7),
    "gauss_jacobi_recurrence": (lambda n: quadlib.gauss_jacobi(n, 7.0, 0.0), "n", 3000),
    "gauss_laguerre": (lambda n: quadlib.gauss_laguerre(n, 2.5), "n", 10 ** 7),
    "gauss_hermite": (lambda n: quadlib.gauss_hermite(n, "normal"), "n", 10 ** 7),
    "gauss_radau": (lambda n: quadlib.gauss_radau(n), "n", 10 ** 7),
    "gauss_lobatto": (lambda n: quadlib.gauss_lobatto(n), "n", 10 ** 7),
    "gauss_kronrod": (lambda n: quadlib.gauss_kronrod(n), "n", 400),
    "gauss_from_weight": (lambda n: quadlib.gauss_from_weight(np.ones_like, 0, 1, n), "n", 1000),
    "clenshaw_curtis": (lambda n: quadlib.clenshaw_curtis(n), "n", 10 ** 6),
    "fejer": (lambda n: quadlib.fejer(n, kind=2), "n", 10 ** 6),
    "gauss_patterson": (lambda n: quadlib.gauss_patterson(n), "level", 7),
    "genz_keister": (lambda n: quadlib.genz_keister(n), "level", 4),
    "leja": (lambda n: quadlib.leja(n), "n", 200),
    "newton_cotes": (lambda n: quadlib.newton_cotes(n), "n", 30),
    "composite_midpoint": (lambda n: quadlib.composite_midpoint(F, 0, 1, n), "n", 10 ** 7),
    "composite_trapezoid": (lambda n: quadlib.composite_trapezoid(F, 0, 1, n), "n", 10 ** 7),
    "romberg": (lambda n: quadlib.romberg(F, 0, 1, max_level=n), "max_level", 25),
    "sparse_grid_dim": (lambda n: quadlib.sparse_grid(n, 1, "genz_keister"), "dim", 10 ** 4),
    "sparse_grid_level": (lambda n: quadlib.sparse_grid(2, n), "level", 20),
}
BAD = [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError), ("3", TypeError),
       (np.nan, TypeError), (10 ** 12, ValueError), (2 ** 64, ValueError)]


@pytest.mark.parametrize("name", sorted(SIZED))
@pytest.mark.parametrize("value, error", BAD, ids=[repr(b[0]) for b in BAD])
def test_size_arguments_are_validated_before_allocating(name, value, error):
    call, argument, _ = SIZED[name]
    if argument == "level" and value == 0 and not isinstance(value, bool):
        return  # level 0 is a valid rule
    with _fast(1.0):
        with pytest.raises(error, match=f"`{argument}`"):
            call(value)


@pytest.mark.parametrize("name", sorted(SIZED))
def test_documented_maximum_is_the_boundary(name):
    call, argument, maximum = SIZED[name]
    with _fast(1.0):
        with pytest.raises(ValueError, match=f"`{argument}`.*at most {maximum}"):
            call(maximum + 1)


def test_sampled_data_errors_name_their_argument():
    with pytest.raises(ValueError, match="`y`"):
        quadlib.trapezoid([[1.0, 2.0], [3.0]])
    with pytest.raises(ValueError, match="`x`"):
        quadlib.simpson([1.0, 2.0, 3.0], x=[[0.0, 1.0], [2.0]])
    with pytest.raises(ValueError, match="`max_level` must be at most 20 when `vectorized` is False"):
        quadlib.romberg(math.sin, 0.0, 1.0, max_level=21, vectorized=False)


# ---------------------------------------------------------------- properties: exactness on random polynomials

PROPERTY = settings(derandomize=True, max_examples=200, deadline=None, database=None)
exponent = st.one_of(st.floats(-0.99, 12.0), st.sampled_from([-0.999999, -0.5, 0.0, 0.5, 40.0, 150.0]))


def _jacobi_exactness(rule, degree, a, b, seed):
    """|Q(p) - I(p)| / I(1) for a random p of `degree` in t = (1 + x)/2, with the scale of the sum.

    I(t^k) / I(1) = B(a+1, b+k+1) / B(a+1, b+1) = prod_{j<k} (b+1+j) / (a+b+2+j) (Beta integrals; the
    product is accurate for any exponent), and I(1) = 2^(a+b+1) B(a+1, b+1) in mpmath."""
    c = np.random.default_rng(seed).uniform(-1.0, 1.0, degree + 1)
    moments = np.cumprod(np.r_[1.0, [(b + 1 + j) / (a + b + 2 + j) for j in range(degree)]])
    exact = np.sum(c * moments)
    with mpmath.workdps(30):
        mass = float(2 ** (mpmath.mpf(a) + b + 1) * mpmath.beta(mpmath.mpf(a) + 1, mpmath.mpf(b) + 1))
    t = (1.0 + rule.nodes) / 2.0
    got = np.sum(rule.weights / mass * np.polynomial.polynomial.polyval(t, c))
    return abs(got - exact), np.sum(np.abs(c) * moments)


def _check_jacobi(rule, degree, a, b, seed):
    error, scale = _jacobi_exactness(rule, degree, a, b, seed)
    assert error <= 1e-12 * scale, (rule.family, degree, error, scale)
    assert rule.degree == degree  # the degree the rule claims is the one tested


@PROPERTY
@given(n=st.integers(1, 40), a=exponent, b=exponent, seed=st.integers(0, 2 ** 32 - 1))
def test_jacobi_is_exact_to_degree_2n_minus_1(n, a, b, seed):
    _check_jacobi(quadlib.gauss_jacobi(n, a, b), 2 * n - 1, a, b, seed)


@PROPERTY
@given(n=st.integers(1, 150), kind=st.sampled_from([0, 1, 2]), seed=st.integers(0, 2 ** 32 - 1))
def test_legendre_and_chebyshev_are_exact(n, kind, seed):
    # n up to 150 takes the O(n) asymptotic paths from 100 on
    rule = quadlib.gauss_legendre(n) if kind == 0 else quadlib.gauss_chebyshev(n, kind=kind)
    half = {0: 0.0, 1: -0.5, 2: 0.5}[kind]
    _check_jacobi(rule, 2 * n - 1, half, half, seed)


@PROPERTY
@given(n=st.integers(1, 40), lam=st.one_of(st.floats(-0.49, 15.0), st.sampled_from([1e-9, 100.0, 1e4])),
       seed=st.integers(0, 2 ** 32 - 1))
def test_gegenbauer_is_exact(n, lam, seed):
    alpha = lam - 0.5
    if lam - alpha != 0.5:
        return  # lam - 1/2 not a double: refused by design (tested in test_gauss.py)
    _check_jacobi(quadlib.gauss_gegenbauer(n, lam), 2 * n - 1, alpha, alpha, seed)


@PROPERTY
@given(n=st.integers(1, 40), a=exponent, b=exponent, endpoint=st.sampled_from([-1, 1]),
       seed=st.integers(0, 2 ** 32 - 1))
def test_radau_is_exact_to_degree_2n_minus_2(n, a, b, endpoint, seed):
    rule = quadlib.gauss_radau(n, a, b, endpoint=endpoint)
    assert rule.nodes[0 if endpoint == -1 else -1] == endpoint
    _check_jacobi(rule, 2 * n - 2, a, b, seed)


@PROPERTY
@given(n=st.integers(2, 40), a=exponent, b=exponent, seed=st.integers(0, 2 ** 32 - 1))
def test_lobatto_is_exact_to_degree_2n_minus_3(n, a, b, seed):
    rule = quadlib.gauss_lobatto(n, a, b)
    assert rule.nodes[0] == -1.0 and rule.nodes[-1] == 1.0
    _check_jacobi(rule, max(2 * n - 3, 0), a, b, seed)


@PROPERTY
@given(n=st.integers(1, 30), seed=st.integers(0, 2 ** 32 - 1))
def test_kronrod_is_exact_to_its_degree(n, seed):
    rule = quadlib.gauss_kronrod(n)
    _check_jacobi(rule, 3 * n + 1 + n % 2, 0.0, 0.0, seed)
    # and the embedded Gauss rule to 2n - 1
    gauss = quadlib.gauss_legendre(n)
    assert np.array_equal(rule.nodes[1::2], gauss.nodes)


@PROPERTY
@given(n=st.integers(1, 80), alpha=st.one_of(st.floats(-0.99, 30.0), st.sampled_from([-0.999999, 100.0, 170.0])),
       seed=st.integers(0, 2 ** 32 - 1))
def test_laguerre_is_exact_to_degree_2n_minus_1(n, alpha, seed):
    # p(x) = sum c_k x^k / Gamma(alpha + k + 1), so I(p) = sum c_k; n > 60 takes the O(n) path
    rule = quadlib.gauss_laguerre(n, alpha)
    degree = 2 * n - 1
    assert rule.degree == degree
    c = np.random.default_rng(seed).uniform(-1.0, 1.0, degree + 1)
    k = np.arange(degree + 1)
    log_terms = (rule.log_weights[:, None] + k * np.log(rule.nodes)[:, None]
                 - np.array([math.lgamma(alpha + j + 1) for j in k]))
    got = np.sum(np.exp(log_terms) * c)
    assert abs(got - c.sum()) <= 1e-12 * np.abs(c).sum() * max(1, degree)


HERMITE_SCALE = {"physicists": 1.0, "probabilists": 2.0, "normal": 2.0}  # x^2 / (2 sigma^2) with 2 sigma^2


@PROPERTY
@given(n=st.integers(1, 80), kind=st.sampled_from(sorted(HERMITE_SCALE)), seed=st.integers(0, 2 ** 32 - 1))
def test_hermite_is_exact_to_degree_2n_minus_1(n, kind, seed):
    # E x^(2m) under exp(-x^2/s) is Gamma(m + 1/2) s^(m + 1/2) (normalized for kind="normal");
    # p(x) = sum c_k x^k / M_k with M_k that moment (odd k: the even one above, their integral is 0)
    rule = quadlib.gauss_hermite(n, kind)
    s = HERMITE_SCALE[kind]
    degree = 2 * n - 1
    assert rule.degree == degree
    c = np.random.default_rng(seed).uniform(-1.0, 1.0, degree + 1)
    log_mass = 0.0 if kind != "normal" else math.lgamma(0.5) + 0.5 * math.log(s)
    log_m = np.array([math.lgamma((k + (k % 2)) / 2 + 0.5) + ((k + (k % 2)) / 2 + 0.5) * math.log(s) - log_mass
                      for k in range(degree + 1)])
    exact = np.sum(np.where(np.arange(degree + 1) % 2 == 0, c, 0.0))
    got = np.sum(rule.weights[:, None] * rule.nodes[:, None] ** np.arange(degree + 1) * np.exp(-log_m) * c)
    scale = np.sum(rule.weights[:, None] * np.abs(rule.nodes[:, None]) ** np.arange(degree + 1) * np.exp(-log_m)
                   * np.abs(c))
    assert abs(got - exact) <= 1e-12 * scale


# ---------------------------------------------------------------- properties: against the mpmath twins

TWIN = settings(derandomize=True, max_examples=150, deadline=None, database=None)


@TWIN
@given(n=st.integers(1, 25), a=exponent, b=exponent)
def test_jacobi_matches_its_mpmath_twin(n, a, b):
    _assert_matches_reference(quadlib.gauss_jacobi(n, a, b), *reference.gauss_jacobi(n, a, b, dps=30))


@TWIN
@given(n=st.integers(2, 20), a=exponent, b=exponent, which=st.sampled_from(["radau-", "radau+", "lobatto"]))
def test_radau_and_lobatto_match_their_mpmath_twins(n, a, b, which):
    if which == "lobatto":
        rule, twin = quadlib.gauss_lobatto(n, a, b), reference.gauss_lobatto(n, a, b, dps=30)
    else:
        endpoint = -1 if which == "radau-" else 1
        rule = quadlib.gauss_radau(n, a, b, endpoint=endpoint)
        twin = reference.gauss_radau(n, a, b, endpoint, dps=30)
    _assert_matches_reference(rule, *twin)


@TWIN
@given(n=st.integers(1, 25), alpha=st.one_of(st.floats(-0.99, 30.0), st.sampled_from([-0.999999, 100.0, 170.0])),
       kind=st.sampled_from(["laguerre", "physicists", "probabilists", "normal"]))
def test_laguerre_and_hermite_match_their_mpmath_twins(n, alpha, kind):
    if kind == "laguerre":
        rule, twin = quadlib.gauss_laguerre(n, alpha), reference.gauss_laguerre(n, alpha, dps=30)
    else:
        rule, twin = quadlib.gauss_hermite(n, kind), reference.gauss_hermite(n, kind, dps=30)
    _assert_matches_reference(rule, *twin)


@TWIN
@given(n=st.integers(1, 20), lam=st.floats(-0.49, 20.0), kind=st.sampled_from([0, 1, 2]))
def test_gegenbauer_chebyshev_kronrod_match_their_mpmath_twins(n, lam, kind):
    if kind == 0:
        if Fraction(lam) - Fraction(1, 2) != Fraction(lam - 0.5):
            # lam - 1/2 is not a double; the rule then takes it rounded (gauss_gegenbauer checks only
            # that the rounded difference adds back to lam), the twin exactly
            lam = 0.5 + (lam - 0.5)
        rule, twin = quadlib.gauss_gegenbauer(n, lam), reference.gauss_gegenbauer(n, lam, dps=30)
    elif kind == 1:
        chebyshev = 1 + n % 2
        rule, twin = quadlib.gauss_chebyshev(n, chebyshev), reference.gauss_chebyshev(n, chebyshev, dps=30)
    else:
        m = 1 + n % 8
        rule, twin = quadlib.gauss_kronrod(m), reference.gauss_kronrod(m, dps=30)
    _assert_matches_reference(rule, *twin)
