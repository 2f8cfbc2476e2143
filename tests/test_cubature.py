"""quadlib.cubature: exactness of the degree-7 rule and its null rules, honesty of every method's error estimate on
Genz's six families in d = 2..10 (closed-form integrals), bad input, and bounded work."""
import itertools
import warnings

import numpy as np
import pytest

import quadlib
from quadlib import IntegrationWarning, cubature
from quadlib.benchmark import genz_problem
from quadlib.benchmark._genz import FAMILIES
from quadlib._extensions._cubature import (BOUNDARY_INSET, GENERATORS, GenzMalik, face_weights, line_weights, rule_template,
                                           rule_weights)


def _moment(alpha):
    return float(np.prod([0.0 if a % 2 else 2.0 / (a + 1) for a in alpha]))


@pytest.mark.parametrize("d", [1, 2, 3, 4, 6])
def test_rule_and_null_rules_by_monomials(d):
    # the basic rule integrates every monomial of degree <= 7 on [-1, 1]^d exactly (closed-form moments,
    # prod 2 / (a_i + 1) over even exponents) and misses one of degree 8; the null rules give 0 on every
    # monomial of degree <= 5, 5, 3, 1 and not on some monomial of the next even degree
    points, kind = rule_template(d)
    assert points.shape == (2 ** d + 2 * d * d + 4 * d + 1, d)
    weights = rule_weights(d)[:, kind]
    scale = 2.0 ** d
    worst = np.zeros((5, 10))
    for alpha in itertools.product(range(9), repeat=min(d, 3)):
        degree = sum(alpha)
        if degree > 8:
            continue
        full = np.zeros(d, dtype=int)
        full[:len(alpha)] = alpha
        mono = np.prod(points ** full, axis=1)
        got = weights @ mono
        target = np.r_[_moment(full), np.zeros(4)]
        worst[:, degree] = np.maximum(worst[:, degree], np.abs(got - target))
    for row, degree in enumerate((7, 5, 5, 3, 1)):
        assert np.all(worst[row, :degree + 1] <= 1e-12 * scale), (row, worst[row])
        assert worst[row, degree + 1:].max() > 1e-3 * scale, (row, worst[row])
    # the null rules are orthogonal and of the basic rule's norm under the sum over the points
    gram = weights[1:] @ weights[1:].T
    norm = weights[0] @ weights[0]
    np.testing.assert_allclose(gram, norm * np.eye(4), atol=1e-10 * norm)


def test_face_extrapolation_weights():
    # value and slope at t = 1 of the degree-6 (and degree-4) interpolant: exact on t^k, k <= 6 (4)
    t = np.array([0.0, 1, -1, 1, -1, 1, -1]) * np.array(
        [0.0] + [GENERATORS["l2"]] * 2 + [GENERATORS["l1"]] * 2 + [GENERATORS["lp"]] * 2)
    w = face_weights()
    for k in range(7):
        assert abs(w[0] @ t ** k - 1.0) <= 1e-12 and abs(w[1] @ t ** k - k) <= 1e-11
        if k <= 4:
            assert abs(w[2] @ t ** k - 1.0) <= 1e-12 and abs(w[3] @ t ** k - k) <= 1e-11


def _state_on(f, lower, upper, splits):
    """A GenzMalik state on one box, run for `splits` waves of splits with f (batch 1)."""
    state = GenzMalik(np.array([lower], dtype=float), np.array([upper], dtype=float), 1, 1)
    for _ in range(splits + 1):
        t = state.request(10 ** 6)
        state.receive(np.ascontiguousarray(f(t)[:, None]))
    return state


def test_a_jump_hidden_next_to_a_cut_is_charged_to_both_halves():
    # f jumps from 1 to 0 at x = 0.5 + 1e-4: after the first split, the cut is at 0.5 and the jump sits in
    # the upper half's band beyond its outermost node (at 0.5 + 0.022 * 0.5), so that half sees 0 everywhere
    # and its rules report nothing. The halves' extrapolations to the cut disagree by 1: both halves carry a
    # band of (1 - l1) / 2 * 1 * volume, which bounds the hidden sliver (1e-4 * 1)
    f = lambda x: np.where(x[:, 0] < 0.5 + 1e-4, 1.0, 0.0) * (1 + 0 * x[:, 1])  # noqa: E731
    state = _state_on(f, [0, 0], [1, 1], 1)
    centre, half, value, error, band = state.regions()
    assert state.disagreed
    upper = np.argmax(centre[:, 0])
    assert value[upper, 0] == 0.0 and band[upper].max() >= 1e-4
    total, estimate, _ = state.totals()
    assert abs(total[0] - (0.5 + 1e-4)) <= estimate


def test_a_jump_off_the_central_line_is_charged_to_both_halves():
    # f = exp(y) on x < 0.5 - 1e-4, y < 0.4, else 0: the first box splits at x = 0.5 and the jump at x sits in
    # the lower half's band beyond its nodes. The halves' central lines (y = 0.5) lie in the zero region on
    # both sides and agree; the lines at y = 0.5 -+ l1 / 2 (0.022, under 0.4) see 1 against 0
    f = lambda x: np.where((x[:, 0] < 0.5 - 1e-4) & (x[:, 1] < 0.4), 1.0, 0.0) * np.exp(x[:, 1])  # noqa: E731
    state = _state_on(f, [0, 0], [1, 1], 1)
    centre, half, value, error, band = state.regions()
    assert state.disagreed and np.all(half[:, 0] == 0.25)
    lower, upper = np.argmin(centre[:, 0]), np.argmax(centre[:, 0])
    # the band bounds a jump of about 1 in the sliver of width (1 - l1) / 2 * 0.5 over the face (height 1)
    assert band[lower, 1] >= 0.5 * 0.011 and band[upper, 0] >= 0.5 * 0.011


def test_line_weights():
    l1 = GENERATORS["l1"]
    w = line_weights()
    t = np.array([0.0, l1, -l1])
    for k in range(3):
        assert abs(w[0] @ t ** k - 1.0) <= 1e-12
        if k <= 1:
            assert abs(w[1] @ t ** k - 1.0) <= 1e-12


def test_a_jump_next_to_the_boundary_is_charged_to_the_region():
    # f = exp(y) on x < 0.995, else 0: the jump lies beyond the box's outermost nodes (x = 0.5 + 0.478) and
    # nothing lies across the box's face to compare with; the extra node just inside the face (x = 0.9995)
    # sees 0 against the extrapolated e^y: the region's estimate bounds the missing 0.005 (e - 1)
    f = lambda x: np.where(x[:, 0] < 0.995, 1.0, 0.0) * np.exp(x[:, 1])  # noqa: E731
    state = _state_on(f, [0, 0], [1, 1], 0)
    band = state.regions()[4]
    total, estimate, _ = state.totals()
    assert band[0, 1] > 0 and np.all(band[0, [0, 2, 3]] == 0)
    assert abs(total[0] - 0.995 * (np.e - 1)) <= estimate
    assert state.nfev == rule_template(2)[0].shape[0] + 4  # one extra node per outer face
    # its halves: the one on the face checks it afresh, the other has no node there
    state = _state_on(f, [0, 0], [1, 1], 1)
    centre, half, value, error, band = state.regions()
    total, estimate, _ = state.totals()
    assert abs(total[0] - 0.995 * (np.e - 1)) <= estimate


def test_a_smooth_integrand_is_not_charged_a_band():
    f = lambda x: np.exp(x[:, 0] + 0.5 * x[:, 1])  # noqa: E731
    state = _state_on(f, [0, 0], [1, 1], 3)
    assert not state.disagreed and np.all(state.regions()[4] == 0)


@pytest.mark.parametrize("method", ["genz_malik", "sparse_adaptive"])
def test_converges_on_smooth_integrands(method):
    res = cubature(lambda x: np.exp(-np.sum(x * x, axis=1)), [-np.inf] * 3, [np.inf] * 3, rtol=1e-6, method=method)
    assert res.success and abs(res.integral - np.pi ** 1.5) <= res.error
    res = cubature(lambda x: np.cos(x.sum(axis=1)), [0, 0], [1, 2], rtol=1e-10, method=method)
    exact = np.cos(1) + np.cos(2) - np.cos(3) - 1
    assert res.success and abs(res.integral - exact) <= res.error
    res = cubature(lambda x: np.stack([x[:, 0], x[:, 1] ** 2], axis=1), [0, 0], [1, 1], method=method)
    np.testing.assert_allclose(res.integral, [0.5, 1 / 3], rtol=1e-14)


def test_input_validation():
    f = lambda x: x[:, 0]  # noqa: E731
    with pytest.raises(ValueError, match="`b`"):
        cubature(f, [0, 0], [1])
    with pytest.raises(ValueError, match="`a` must be less than `b`"):
        cubature(f, [0, 1], [1, 1])
    with pytest.raises(ValueError, match="`method`"):
        cubature(f, [0], [1], method="magic")
    with pytest.raises(TypeError, match="`f`"):
        cubature(None, [0], [1])
    with pytest.raises(ValueError, match="`f`"):
        cubature(lambda x: np.ones(3), [0, 0], [1, 1])


def test_breakpoints_cut_the_box():
    # a jump at x = 0.3 between the nodes of the whole box: cut there, the result is exact
    f = lambda x: np.where(x[:, 0] < 0.3, 1.0, 2.0) * np.exp(x[:, 1])  # noqa: E731
    exact = (0.3 + 2 * 0.7) * (np.e - 1)
    res = cubature(f, [0, 0], [1, 1], rtol=1e-10, points=[[0.3], []])
    assert res.success and abs(res.integral - exact) <= res.error
    with pytest.raises(ValueError, match="`points`"):
        cubature(f, [0, 0], [1, 1], points=[[0.3]])


@pytest.mark.parametrize("method", ["genz_malik", "sparse_adaptive"])
def test_never_accepts_an_integrand_it_has_not_seen(method):
    # zero at every node of the first pass (the bump sits between them): it must keep looking
    f = lambda x: np.exp(-((x[:, 0] - 0.51) ** 2 + (x[:, 1] - 0.49) ** 2) / 1e-4)  # noqa: E731
    res = cubature(f, [0, 0], [1, 1], rtol=1e-6, max_nfev=200_000, method=method)
    assert not res.success or abs(res.integral - np.pi * 1e-4) <= res.error


def test_dimension_adaptive_on_a_product_gaussian():
    from scipy.special import erf

    d, c, w = 5, 3.0, 0.4
    f = lambda x: np.exp(-np.sum((c * (x - w)) ** 2, axis=1))  # noqa: E731
    exact = (np.sqrt(np.pi) / (2 * c) * (erf(c * (1 - w)) + erf(c * w))) ** d
    res = cubature(f, [0] * d, [1] * d, rtol=1e-8, method="sparse_adaptive", max_nfev=10 ** 6)
    assert res.success and abs(res.integral - exact) <= res.error and res.error <= 1e-8 * exact


@pytest.mark.parametrize("method", ["qmc", "mc"])
def test_randomized_methods_report_standard_errors(method):
    f = lambda x: np.prod(np.cos(x), axis=1)  # noqa: E731
    exact = np.sin(1.0) ** 4
    rtol = 1e-4 if method == "qmc" else 2e-3  # plain MC converges like n^(-1/2)
    res = cubature(f, [0] * 4, [1] * 4, rtol=rtol, method=method, seed=3, max_nfev=10 ** 7)
    assert res.success and res.standard_error
    assert abs(res.integral - exact) <= 5 * res.error  # a standard error, not a bound
    with pytest.warns(Warning):
        res = cubature(f, [0] * 4, [1] * 4, rtol=1e-12, method=method, seed=3, max_nfev=10 ** 5)
    assert not res.success


def _honest_or_failed(problem, method, max_nfev, rtol=1e-6):
    d = problem.dimension
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cubature(problem.f, np.zeros(d), np.ones(d), rtol=rtol, method=method, max_nfev=max_nfev,
                       points=problem.points)
    error = abs(res.integral - problem.exact)
    if res.success:
        assert error <= res.error <= rtol * abs(res.integral), (res, problem.exact)
        assert not caught
    else:
        assert any(issubclass(w.category, IntegrationWarning) for w in caught)
        assert res.nfev <= max_nfev
    return res.success


@pytest.mark.parametrize("d", range(2, 11))
@pytest.mark.parametrize("family", FAMILIES)
def test_genz_malik_is_honest_on_every_genz_family(family, d):
    budget = 1_000_000 if d == 2 else 200_000
    results = [_honest_or_failed(genz_problem(family, d, seed=seed), "genz_malik", budget) for seed in range(3)]
    if d == 2:  # the budget suffices in low dimension: the test must not pass by always giving up
        assert all(results)


@pytest.mark.parametrize("d", [2, 3, 4, 5, 6, 8, 10])
@pytest.mark.parametrize("family", FAMILIES)
def test_sparse_adaptive_is_honest_on_every_genz_family(family, d):
    results = [_honest_or_failed(genz_problem(family, d, seed=seed), "sparse_adaptive", 40_000)
               for seed in range(2)]
    if family == "oscillatory" and d <= 5:
        assert all(results)


@pytest.mark.slow
@pytest.mark.parametrize("d", range(2, 11))
@pytest.mark.parametrize("family", FAMILIES)
def test_sparse_adaptive_is_honest_with_a_larger_budget(family, d):
    for seed in range(2, 4):
        _honest_or_failed(genz_problem(family, d, seed=seed), "sparse_adaptive", 300_000)


def test_sparse_adaptive_beats_genz_malik_on_smooth_integrands():
    # cos(sum x) on [0, 1]^6: exp(i 3) (sin(1/2)/(1/2))^6, real part
    exact = np.cos(3) * (2 * np.sin(0.5)) ** 6
    f = lambda x: np.cos(x.sum(axis=1))  # noqa: E731
    sparse = cubature(f, [0] * 6, [1] * 6, rtol=1e-10, method="sparse_adaptive")
    assert sparse.success and abs(sparse.integral - exact) <= sparse.error
    with pytest.warns(IntegrationWarning):
        gm = cubature(f, [0] * 6, [1] * 6, rtol=1e-10, max_nfev=sparse.nfev, method="genz_malik")
    assert not gm.success


def test_sparse_adaptive_vector_valued_and_infinite_limits():
    # E[1], E[x0^2], E[x0 x1] for two standard normals: 1, 1, 0 (times 2 pi)
    def f(x):
        g = np.exp(-0.5 * np.sum(x * x, axis=1))
        return np.stack([g, x[:, 0] ** 2 * g, x[:, 0] * x[:, 1] * g], axis=1)
    res = cubature(f, [-np.inf, -np.inf], [np.inf, np.inf], rtol=1e-8, method="sparse_adaptive")
    assert res.success
    assert np.all(np.abs(res.integral - 2 * np.pi * np.array([1, 1, 0])) <= res.error)


@pytest.mark.parametrize("method", ["genz_malik", "sparse_adaptive"])
def test_args_are_passed(method):
    # only that `args` reach f: two values of c give their own closed forms, (e^c - 1) / c * 1/2
    f = lambda x, c: np.exp(c * x[:, 0]) * x[:, 1]  # noqa: E731
    for c in (2.0, -1.0):
        res = cubature(f, [0, 0], [1, 1], args=(c,), rtol=1e-10, method=method)
        assert res.success
        np.testing.assert_allclose(res.integral, np.expm1(c) / (2 * c), rtol=1e-9)


_ROUNDING_PROBLEMS = [
    # (f, exact): the rules are exact on the polynomial, so its error is rounding alone
    (lambda x: np.exp(2.0 * x[:, 0]) * x[:, 1], "mpmath.expm1(2) / 4"),
    (lambda x: x[:, 0] ** 2 * x[:, 1] ** 3, "mpmath.mpf(1) / 12"),
    (lambda x: np.cos(x[:, 0] + x[:, 1]), "2 * mpmath.cos(1) - mpmath.cos(2) - 1"),
]


@pytest.mark.parametrize("method", ["genz_malik", "sparse_adaptive"])
@pytest.mark.parametrize("problem", range(len(_ROUNDING_PROBLEMS)))
def test_error_estimate_is_never_below_the_rounding_error(method, problem):
    # Asked for more than double precision gives, the estimate must still cover the true error: it is
    # floored at 50 eps times the integral of |f| (QUADPACK's 50 eps resabs). Without the floor the sparse
    # grid reported 1.39e-16 for exp(2 x0) x1 where the error was 2.22e-16 (one ulp) on another machine.
    import mpmath

    mpmath.mp.dps = 30
    f, exact = _ROUNDING_PROBLEMS[problem]
    exact = float(eval(exact, {"mpmath": mpmath}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        res = cubature(f, [0, 0], [1, 1], rtol=1e-15, method=method, max_nfev=50_000)
    assert abs(res.integral - exact) <= res.error
    assert res.error >= 10 * np.finfo(float).eps * abs(exact)


@pytest.mark.parametrize("method", ["genz_malik", "sparse_adaptive"])
def test_non_finite_values_stop_with_status_7(method):
    with pytest.warns(IntegrationWarning):
        with np.errstate(divide="ignore"):
            res = cubature(lambda x: 1 / (x[:, 0] - 0.5), [0, 0], [1, 1], method=method)
    assert res.status == 7 and not res.success


def test_more_bad_input():
    f = lambda x: x[:, 0]  # noqa: E731
    with pytest.raises(ValueError, match="`a`"):
        cubature(f, [], [])
    with pytest.raises(ValueError, match="`rtol`"):
        cubature(f, [0], [1], rtol=-1)
    with pytest.raises(ValueError, match="`max_nfev`"):
        cubature(f, [0], [1], max_nfev=0)
    with pytest.raises(ValueError, match="`a` must not be NaN"):
        cubature(f, [np.nan], [1])
    with pytest.raises(ValueError, match="`f`"):
        cubature(lambda x: np.ones((x.shape[0], 2, 2)), [0, 0], [1, 1], method="sparse_adaptive")


def test_exported():
    assert quadlib.cubature is cubature and "cubature" in quadlib.__all__


def test_auto_picks_genz_malik_when_points_are_given():
    f = lambda x: np.abs(x[:, 0] - 0.3) * np.exp(x[:, 1])  # noqa: E731
    res = cubature(f, [0, 0], [1, 1], rtol=1e-8, points=[[0.3], []])
    assert "n_regions" in res.extra and abs(res.integral - 0.29 * (np.e - 1)) <= res.error
    assert "n_levels" in cubature(f, [0, 0], [1, 1], rtol=1e-3).extra


# Issue 21's Genz protocol for "genz_malik" without `points` (asv_bench/genz_honesty_report.py runs it in
# full and tabulates it against the pre-null-rule code): no success=True whose true error (against Genz's
# closed forms) exceeds the tolerance or the reported estimate, except where a kink or jump lies within
# BOUNDARY_INSET / 2 (5e-4) of the box's width from its boundary: there it falls beyond even the extra node
# of the boundary regions (see _extensions/_cubature.pyx). Such a case is counted, not excused silently.
_PROTOCOL_SEED = 73_000
_BOUNDARY_BAND = BOUNDARY_INSET / 2


def _protocol_case(family, d, seed, rtol, max_nfev):
    """Run one case; return 'claimed', 'failed' (honestly) or 'boundary' (silent, a feature in the band)."""
    problem = genz_problem(family, d, seed=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cubature(problem.f, np.zeros(d), np.ones(d), rtol=rtol, method="genz_malik", max_nfev=max_nfev)
    error = abs(res.integral - problem.exact)
    if not res.success:
        assert any(issubclass(w.category, IntegrationWarning) for w in caught) and res.nfev <= max_nfev
        return "failed"
    assert not caught
    if error <= res.error and error <= rtol * abs(problem.exact):
        return "claimed"
    near = [p for axis in problem.points for p in axis if min(p, 1 - p) < _BOUNDARY_BAND]
    assert near, (family, d, seed, rtol, res, problem.exact)
    return "boundary"


@pytest.mark.parametrize("family", FAMILIES)
def test_genz_protocol_without_points_quick(family):
    # the quick tier's subset: 10 draws in 2-D at rtol 1e-6 and 1e-10 (budget 2e5); the test must not pass
    # by giving up on everything
    outcomes = [_protocol_case(family, 2, _PROTOCOL_SEED + draw, rtol, 200_000)
                for rtol in (1e-6, 1e-10) for draw in range(10)]
    assert outcomes.count("claimed") >= 5, outcomes


# Measured (asv_bench/genz_honesty_results.txt): 5 silent failures in 6000 runs, none in the boundary band.
# A sharp Gaussian peak that no node of its region sees (gaussian 2-D, seed 73014, rtol 1e-10: error 1.7e-11,
# estimate 6.6e-13); a jump of the discontinuous family next to a cut that neither the central line nor the
# lines at +-l1 of the halves reach (2-D, seed 73074, both tolerances: error 6.3, estimate 0.17); and a
# nonzero corner x1 < 0.016, x2 < 0.008 (4-D, seed 73037, both tolerances: error 4.8e-6, estimate 5e-10)
# that the outer faces' nodes, on the axis lines through the regions' centres, see only in part (before
# them it was never seen: an honest failure). These parametrizations fail until that is fixed; strict, so a
# fix shows.
_PROTOCOL_KNOWN = {("gaussian", 2, 1e-10), ("discontinuous", 2, 1e-6), ("discontinuous", 2, 1e-10),
                   ("discontinuous", 4, 1e-6), ("discontinuous", 4, 1e-10)}
_PROTOCOL_PARAMS = [
    pytest.param(family, d, rtol, marks=[pytest.mark.xfail(strict=True, reason="silent failure (issue 21)")]
                 if (family, d, rtol) in _PROTOCOL_KNOWN else [])
    for family in FAMILIES for d in (2, 3, 4, 5, 6) for rtol in (1e-6, 1e-10)]


@pytest.mark.slow
@pytest.mark.parametrize("family, d, rtol", _PROTOCOL_PARAMS)
def test_genz_protocol_without_points(family, d, rtol):
    # the contract's protocol: 100 draws, max_nfev 1e6
    for draw in range(100):
        _protocol_case(family, d, _PROTOCOL_SEED + draw, rtol, 1_000_000)
