"""Tests for quadlib._newton_cotes: exact Newton–Cotes weights, composite rules and Romberg."""
from fractions import Fraction
import math
import warnings

from hypothesis import given, settings, strategies as st
import mpmath
import numpy as np
import pytest

from quadlib._newton_cotes import (NegativeWeightsWarning, composite_boole, composite_midpoint,
                                   composite_simpson, composite_simpson38, composite_trapezoid,
                                   newton_cotes, romberg)
from quadlib._result import IntegrationResult, IntegrationWarning

CLOSED = [(n, False) for n in range(2, 31)]
OPEN = [(n, True) for n in range(1, 31)]
ALL_RULES = CLOSED + OPEN


def _rule(n, open_):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NegativeWeightsWarning)
        return newton_cotes(n, open=open_)


def _mpmath_rule(n, open_, dps=50):
    """Nodes and weights from the moment equations sum_i w_i x_i**k = int_{-1}^{1} x**k dx, solved by
    mpmath at `dps` digits: independent of the rational arithmetic under test."""
    with mpmath.workdps(dps):
        if open_:
            nodes = [mpmath.mpf(-1) + mpmath.mpf(2 * k) / (n + 1) for k in range(1, n + 1)]
        else:
            nodes = [mpmath.mpf(-1) + mpmath.mpf(2 * k) / (n - 1) for k in range(n)]
        vandermonde = mpmath.matrix([[x ** k for x in nodes] for k in range(n)])
        moments = mpmath.matrix([mpmath.mpf(2) / (k + 1) if k % 2 == 0 else 0 for k in range(n)])
        weights = mpmath.lu_solve(vandermonde, moments)
        return nodes, [weights[i] for i in range(n)]


# ---------------------------------------------------------------------------------------------
# newton_cotes

@pytest.mark.parametrize("n, open_, expected", [
    (2, False, [1, 1]),                                                     # trapezoid
    (3, False, [Fraction(1, 3), Fraction(4, 3), Fraction(1, 3)]),           # Simpson
    (4, False, [Fraction(1, 4), Fraction(3, 4), Fraction(3, 4), Fraction(1, 4)]),  # 3/8: 3h/8, h=2/3
    (5, False, [Fraction(c, 45) for c in (7, 32, 12, 32, 7)]),              # Boole: 2h/45, h=1/2
    (7, False, [Fraction(c, 420) for c in (41, 216, 27, 272, 27, 216, 41)]),  # h/140, h=1/3
    (1, True, [2]),                                                         # midpoint
    (2, True, [1, 1]),                                                      # 3h/2, h=2/3
    (3, True, [Fraction(4, 3), Fraction(-2, 3), Fraction(4, 3)]),           # Milne: 4h/3 (2,-1,2)
    (4, True, [Fraction(c, 12) for c in (11, 1, 1, 11)]),                   # 5h/24 (11,1,1,11), h=2/5
])
def test_closed_form_weights(n, open_, expected):
    rule = _rule(n, open_)
    assert rule.extra["exact_weights"] == tuple(Fraction(e) for e in expected)
    np.testing.assert_array_equal(rule.weights, [float(Fraction(e)) for e in expected])


@pytest.mark.parametrize("n, open_", ALL_RULES)
def test_weights_match_mpmath(n, open_):
    rule = _rule(n, open_)
    nodes, weights = _mpmath_rule(n, open_)
    # mpmath carries ~35 good digits after the ill-conditioned solve, so rounding it to double gives
    # the correctly rounded value: the float weights and nodes must equal it bit for bit.
    np.testing.assert_array_equal(rule.weights, [float(w) for w in weights])
    np.testing.assert_array_equal(rule.nodes, [float(x) for x in nodes])
    with mpmath.workdps(50):
        for exact, w in zip(rule.extra["exact_weights"], weights):
            assert abs(mpmath.mpf(exact.numerator) / exact.denominator - w) <= 1e-30 * abs(w)


@pytest.mark.parametrize("n, open_", ALL_RULES)
def test_rule_metadata(n, open_):
    rule = _rule(n, open_)
    assert rule.n == n
    assert rule.degree == (n if n % 2 else n - 1)
    assert rule.family == f"newton_cotes({n}, open={open_})"
    assert rule.weight_function == "1"
    assert rule.domain == (-1.0, 1.0)
    assert np.all(np.diff(rule.nodes) > 0)
    np.testing.assert_array_equal(rule.nodes, -rule.nodes[::-1])
    np.testing.assert_array_equal(rule.weights, rule.weights[::-1])
    if not open_:
        assert rule.nodes[0] == -1.0 and rule.nodes[-1] == 1.0
    else:
        assert -1.0 < rule.nodes[0] and rule.nodes[-1] < 1.0


def _moment_error(rule, k, a=-1.0, b=1.0):
    """Return |Q - I| and the rounding scale sum_i |w_i x_i**k| for x**k on [a, b]."""
    half = 0.5 * (b - a)
    x = 0.5 * (a + b) + half * rule.nodes
    q = rule.integrate(lambda t: t ** k, a, b)
    fa, fb = Fraction(a), Fraction(b)
    exact = float((fb ** (k + 1) - fa ** (k + 1)) / (k + 1))
    return abs(q - exact), abs(half) * np.sum(np.abs(rule.weights * x ** k)), exact


@pytest.mark.parametrize("n, open_", ALL_RULES)
def test_exact_to_degree_on_reference_interval(n, open_):
    rule = _rule(n, open_)
    for k in range(rule.degree + 1):
        err, scale, exact = _moment_error(rule, k)
        # With positive weights `scale` is |I|, so this is a relative error of 1e-14; with negative
        # weights it allows for the cancellation the rule itself brings (up to sum|w|/2 = 2.3e6).
        assert err <= 1e-14 * scale, (k, err, scale)
    # Not exact one degree further (degree + 1 is even, so the moment is 2 / (degree + 2) != 0).
    err, scale, exact = _moment_error(rule, rule.degree + 1)
    assert err > 1e-6 * abs(exact)


@settings(max_examples=30, deadline=None)
@given(a=st.floats(-3, 3), width=st.floats(0.01, 4), n=st.integers(1, 30), open_=st.booleans())
def test_exact_to_degree_on_random_interval(a, width, n, open_):
    if n == 1 and not open_:
        n = 2
    rule = _rule(n, open_)
    b = a + width
    for k in range(rule.degree + 1):
        err, scale, exact = _moment_error(rule, k, a, b)
        assert err <= 1e-14 * scale, (k, err, scale)


def test_positive_weight_rules_relative_error():
    # The brief's plain criterion, where it applies: relative error <= 1e-14 for rules whose weights
    # are all positive (closed n <= 8 and 10, open 1, 2, 4), on [0.5, 2] where x**k has no cancellation.
    for n, open_ in [(n, False) for n in (2, 3, 4, 5, 6, 7, 8, 10)] + [(1, True), (2, True), (4, True)]:
        rule = newton_cotes(n, open=open_)
        for k in range(rule.degree + 1):
            err, _, exact = _moment_error(rule, k, 0.5, 2.0)
            assert err <= 1e-14 * abs(exact)


def test_negative_weights_warning():
    expected_negative = {(9, False), (3, True)} | {(n, False) for n in range(11, 31)} \
        | {(n, True) for n in range(5, 31)}
    for n, open_ in ALL_RULES:
        _, weights = _mpmath_rule(n, open_, dps=30)
        negative = any(w < 0 for w in weights)
        assert negative == ((n, open_) in expected_negative)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            newton_cotes(n, open=open_)
        categories = [w.category for w in record]
        assert categories == ([NegativeWeightsWarning] if negative else []), (n, open_)
        if negative:
            assert record[0].filename == __file__  # stacklevel points at the caller


def test_cached_and_immutable():
    rule = newton_cotes(5)
    assert newton_cotes(5).extra["exact_weights"] is rule.extra["exact_weights"]
    with pytest.raises(ValueError):
        rule.weights[0] = 1.0


def test_newton_cotes_input_validation():
    with pytest.raises(TypeError, match="`n`"):
        newton_cotes(2.0)
    with pytest.raises(TypeError, match="`n`"):
        newton_cotes(True)
    with pytest.raises(ValueError, match="`n`"):
        newton_cotes(1)  # a closed rule needs both endpoints
    with pytest.raises(ValueError, match="`n`"):
        newton_cotes(0, open=True)
    with pytest.raises(ValueError, match="`n`"):
        newton_cotes(31)
    with pytest.raises(TypeError, match="`open`"):
        newton_cotes(3, open=1)


# ---------------------------------------------------------------------------------------------
# composite rules

def _f(x):
    return np.exp(x) * np.cos(x)


def _antiderivative(x):
    return np.exp(x) * (np.sin(x) + np.cos(x)) / 2


COMPOSITE = [  # function, subintervals per panel, convergence order
    (composite_midpoint, 1, 2),
    (composite_trapezoid, 1, 2),
    (composite_simpson, 2, 4),
    (composite_simpson38, 3, 4),
    (composite_boole, 4, 6),
]


class _Counter:
    def __init__(self, f):
        self.f, self.calls, self.points = f, 0, 0

    def __call__(self, x, *args):
        self.calls += 1
        self.points += np.size(x)
        return self.f(x, *args)


@pytest.mark.parametrize("func, m, order", COMPOSITE)
def test_composite_convergence_order(func, m, order):
    a, b = 0.0, 2.0
    exact = _antiderivative(b) - _antiderivative(a)
    errors = []
    for n in (12, 24, 48):
        f = _Counter(_f)
        errors.append(abs(func(f, a, b, n) - exact))
        assert f.calls == 1
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    # Measured: midpoint 4.00, 4.00; trapezoid 4.00, 4.00; Simpson 16.3, 16.1; 3/8 16.6, 16.2;
    # Boole 63.6, 63.9.
    np.testing.assert_allclose(ratios, 2.0 ** order, rtol=0.05)


@pytest.mark.parametrize("func, m, order", COMPOSITE)
def test_composite_is_the_newton_cotes_rule(func, m, order):
    points = 1 if m == 1 and func is composite_midpoint else m + 1
    rule = newton_cotes(points, open=func is composite_midpoint)
    n = 12
    assert func(_f, -1.0, 3.0, n) == rule.integrate(_f, -1.0, 3.0, panels=n // m)
    # Exact for polynomials of the rule's degree; reversed limits negate.
    deg = rule.degree
    exact = (3.0 ** (deg + 1) - (-1.0) ** (deg + 1)) / (deg + 1)
    assert func(lambda x: x ** deg, -1.0, 3.0, n) == pytest.approx(exact, rel=1e-13)
    assert func(lambda x: x ** deg, 3.0, -1.0, n) == pytest.approx(-exact, rel=1e-13)


@pytest.mark.parametrize("func, m, order", COMPOSITE)
def test_composite_args_and_vector_valued(func, m, order):
    def f(x, c, p):
        return np.stack([c * x ** p, np.cos(x)], axis=-1)

    result = func(f, 0.0, 1.0, 12, args=(2.0, 1))
    assert result.shape == (2,)
    assert result[0] == pytest.approx(1.0, rel=1e-14)
    assert result[1] == pytest.approx(math.sin(1.0), rel=1e-2)
    scalar = func(lambda x: np.cos(x), 0.0, 1.0, 12)
    assert result[1] == pytest.approx(scalar, rel=1e-15)


@pytest.mark.parametrize("func, m, order", COMPOSITE)
def test_input_validation(func, m, order):
    with pytest.raises(TypeError, match="`f`"):
        func(1.0, 0.0, 1.0, 12)
    with pytest.raises(ValueError, match="`a`"):
        func(np.exp, np.inf, 1.0, 12)
    with pytest.raises(ValueError, match="`b`"):
        func(np.exp, 0.0, np.nan, 12)
    with pytest.raises(TypeError, match="`b`"):
        func(np.exp, 0.0, 1j, 12)
    with pytest.raises(ValueError, match="`n`"):
        func(np.exp, 0.0, 1.0, 0)
    with pytest.raises(TypeError, match="`n`"):
        func(np.exp, 0.0, 1.0, 12.0)
    # `args` that is not a tuple is the one extra argument, as in scipy (it was a TypeError here alone)
    assert func(lambda x, c: np.exp(c * x), 0.0, 1.0, 12, args=2.0) == func(lambda x, c: np.exp(c * x), 0.0, 1.0,
                                                                               12, args=(2.0,))
    if m > 1:
        with pytest.raises(ValueError, match=f"`n` must be a multiple of {m}"):
            func(np.exp, 0.0, 1.0, 12 + 1)
    with pytest.raises(ValueError, match="`f`"):
        func(lambda x: 1.0, 0.0, 1.0, 12)  # not vectorized


# ---------------------------------------------------------------------------------------------
# romberg

SMOOTH = [  # (f, a, b, exact, source)
    (np.exp, 0.0, 1.0, math.e - 1, "closed form"),
    (lambda x: 1 / (1 + x * x), 0.0, 1.0, math.pi / 4, "closed form"),
    (lambda x: 1 / (1 + 25 * x * x), -1.0, 1.0, 0.4 * math.atan(5), "closed form (Runge)"),
    (np.cos, 0.0, 2.0, math.sin(2.0), "closed form"),
    (lambda x: x ** 10, -1.0, 2.0, (2 ** 11 + 1) / 11, "closed form"),
    (lambda x: np.exp(-x * x), 0.0, 3.0, math.sqrt(math.pi) / 2 * math.erf(3.0), "closed form"),
    (np.log1p, 0.0, 1.0, 2 * math.log(2) - 1, "closed form"),
    (lambda x: np.cos(30 * x), 0.0, 1.0, math.sin(30) / 30, "closed form"),
    (lambda x: np.sin(2 * np.pi * x) ** 2, 0.0, 1.0, 0.5, "closed form; 0 on levels 0 and 1"),
    (lambda x: x ** 1.5, 0.0, 1.0, 0.4, "closed form"),
]


@pytest.mark.parametrize("f, a, b, exact, source", SMOOTH)
def test_romberg_smooth(f, a, b, exact, source):
    with warnings.catch_warnings():
        warnings.simplefilter("error", IntegrationWarning)
        res = romberg(f, a, b)
    assert isinstance(res, IntegrationResult)
    assert res.success and res.status == 0
    true_error = abs(res.integral - exact)
    assert true_error <= 1e-10 * abs(exact)
    assert res.error >= true_error  # honest
    assert res.error <= 1e-10 * abs(res.integral)
    assert res.nfev == 2 ** res.levels + 1
    assert res.table.shape == (res.levels + 1, res.levels + 1)
    assert res.table[-1, -1] == res.integral

    flipped = romberg(f, b, a)
    assert flipped.integral == -res.integral and flipped.error == res.error


def test_romberg_reuses_samples_and_calls_once_per_level():
    seen = []

    def f(x):
        seen.append(np.array(x, copy=True))
        return np.exp(x)

    res = romberg(f, 0.0, 1.0)
    assert len(seen) == res.levels + 1
    allx = np.concatenate(seen)
    assert allx.size == res.nfev == np.unique(allx).size


def test_romberg_scalar_loop_equals_vectorized():
    calls = []

    def f(x, c):
        calls.append(type(x))
        return math.exp(c * x)

    res = romberg(f, 0.0, 1.0, args=(2.0,), vectorized=False)
    ref = romberg(lambda x, c: np.exp(c * x), 0.0, 1.0, args=(2.0,))
    assert set(calls) == {float} and len(calls) == res.nfev
    assert res.integral == ref.integral and res.error == ref.error and res.nfev == ref.nfev


def test_romberg_max_levels_is_a_deprecated_name_of_max_level():
    # one name for the bound on the levels, as tanh_sinh's (issue 16); the old keyword still works
    with pytest.warns(DeprecationWarning, match="`max_levels` is deprecated; use `max_level`"):
        old = romberg(np.exp, 0.0, 1.0, max_levels=6, rtol=1e-14)
    new = romberg(np.exp, 0.0, 1.0, max_level=6, rtol=1e-14)
    assert old.integral == new.integral and old.level == new.level == 6 and old.nfev == new.nfev == 65


@pytest.mark.parametrize("f, a, b, exact, max_level", [
    (np.sqrt, 0.0, 1.0, 2 / 3, 5),
    (np.sqrt, 0.0, 1.0, 2 / 3, 20),          # does not reach 1e-10 before 2**20 intervals either
    (lambda x: (x > 1 / 3).astype(float), 0.0, 1.0, 2 / 3, 12),
    (lambda x: np.abs(x - 0.3), 0.0, 1.0, 0.29, 12),
])
def test_romberg_failure_is_reported(f, a, b, exact, max_level):
    with pytest.warns(IntegrationWarning, match="max_level"):
        res = romberg(f, a, b, max_level=max_level)
    assert not res.success and res.status == 1
    assert res.level == res.levels == max_level and res.nfev == 2 ** max_level + 1
    assert res.error >= abs(res.integral - exact)  # still honest


@pytest.mark.parametrize("f", [np.log,  # -inf at x = 0
                               lambda x: np.where(x == 0.5, np.nan, x),
                               lambda x: 1 / (x - 0.75)])
def test_romberg_nonfinite(f):
    with np.errstate(all="ignore"), pytest.warns(IntegrationWarning, match="non-finite"):
        res = romberg(f, 0.0, 1.0)
    assert res.status == 2 and not res.success
    assert np.isnan(res.integral)
    assert res.levels <= 2  # stopped at once


def test_romberg_equal_limits_and_tolerances():
    res = romberg(lambda x: 1 / 0, 1.0, 1.0)  # never called
    assert res.integral == 0.0 and res.error == 0.0 and res.nfev == 0 and res.success
    loose = romberg(np.exp, 0.0, 1.0, rtol=1e-4)
    tight = romberg(np.exp, 0.0, 1.0, rtol=0.0, atol=1e-13)
    assert loose.nfev < tight.nfev and tight.error <= 1e-13
    assert abs(tight.integral - (math.e - 1)) <= 1e-13


def test_romberg_input_validation():
    with pytest.raises(TypeError, match="`f`"):
        romberg("exp", 0.0, 1.0)
    with pytest.raises(ValueError, match="`a`"):
        romberg(np.exp, -np.inf, 1.0)
    with pytest.raises(ValueError, match="`b`"):
        romberg(np.exp, 0.0, np.nan)
    with pytest.raises(TypeError, match="`a`"):
        romberg(np.exp, "0", 1.0)
    with pytest.raises(ValueError, match="`rtol`"):
        romberg(np.exp, 0.0, 1.0, rtol=-1.0)
    with pytest.raises(ValueError, match="`atol`"):
        romberg(np.exp, 0.0, 1.0, atol=-1e-3)
    with pytest.raises(ValueError, match="`atol` and `rtol` cannot both be zero"):
        romberg(np.exp, 0.0, 1.0, rtol=0.0, atol=0.0)
    with pytest.raises(ValueError, match="`max_level`"):
        romberg(np.exp, 0.0, 1.0, max_level=0)
    with pytest.raises(ValueError, match="`max_level` must be an integer >= 3"):
        romberg(np.exp, 0.0, 1.0, max_level=2)  # convergence is not accepted before level 3
    with pytest.raises(ValueError, match="`max_level`"):
        romberg(np.exp, 0.0, 1.0, max_level=31)
    with pytest.raises(TypeError, match="`max_level`"):
        romberg(np.exp, 0.0, 1.0, max_level=5.0)
    with pytest.raises(TypeError, match="`max_level` or its deprecated name `max_levels`, not both"):
        romberg(np.exp, 0.0, 1.0, max_level=5, max_levels=6)
    with pytest.raises(TypeError, match="`vectorized`"):
        romberg(np.exp, 0.0, 1.0, vectorized="yes")
    # a list is one extra argument, as in scipy
    res = romberg(lambda x, c: np.exp(c[0] * x), 0.0, 1.0, args=[2.0])
    assert res.integral == pytest.approx((math.exp(2.0) - 1) / 2, rel=1e-10)
    with pytest.raises(ValueError, match="`f`"):
        romberg(lambda x: 1.0, 0.0, 1.0)  # says vectorized but returns a scalar
    with pytest.raises(ValueError, match="`f`"):
        romberg(lambda x: [x, x], 0.0, 1.0, vectorized=False)
    with pytest.raises(TypeError, match="`f`"):
        romberg(lambda x: np.exp(1j * x), 0.0, 1.0)
