"""O(n) Gauss–Hermite and Gauss–Laguerre rules (quadlib._gauss_hl) against arbitrary precision.

The reference for a sampled node is Newton's method in mpmath on the k-th zero, started from our double
value, with the polynomial evaluated by its three-term recurrence in 192-bit fixed point (Python
integers, rescaled to stay in range: mpmath numbers are built on the same integers, this skips their
per-operation overhead so that n = 10^5 takes seconds); the weight comes from its closed form, in log
form. The converged zero must lie strictly between our neighbours (it is the k-th zero).

Bounds (the issue's): node error <= 2 eps max(1, |x|); relative weight error <= 4 eps, median <= 1 eps,
over the sampled nodes whose weight is a normal double; log-weight error <= 4 eps max(1, |log w|), i.e.
a few ulps of the double that holds log w (an absolute 4 eps is not representable once |log w| > 2).
"""
import mpmath
import numpy as np
import pytest

import quadlib
from quadlib import _gauss, reference
from quadlib._extensions import _asymptotic_hl
from quadlib._gauss_hl import _laguerre_start, hermite_large, laguerre_large

EPS = np.finfo(float).eps
TINY = np.finfo(float).tiny
BITS = 192


# ---------------------------------------------------------------- the reference

def _fixed(x):
    return int(mpmath.nint(mpmath.ldexp(mpmath.mpf(x), BITS)))


def _hermite_pair(n, x):
    """(H_n, H_{n-1}) at x as integers times 2^(e - BITS), and e."""
    two_x = 2 * _fixed(x)
    prev, cur, e, limit = 0, 1 << BITS, 0, 1 << (BITS + 64)
    for j in range(n):
        prev, cur = cur, ((two_x * cur) >> BITS) - 2 * j * prev
        if abs(cur) > limit:
            k = abs(cur).bit_length() - BITS
            prev, cur, e = prev >> k, cur >> k, e + k
    return cur, prev, e


def _laguerre_pair(n, alpha, x):
    """(L_n^alpha, L_{n-1}^alpha) at x as integers times 2^(e - BITS), and e."""
    xx, aa, one = _fixed(x), _fixed(alpha), 1 << BITS
    prev, cur, e = 0, one, 0
    for j in range(n):
        nxt = (((2 * j + 1) * one + aa - xx) * cur - (j * one + aa) * prev) >> BITS
        prev, cur = cur, nxt // (j + 1)
        big = max(abs(cur), abs(prev))
        if big > 1 << (BITS + 64):
            k = big.bit_length() - BITS
            prev, cur, e = prev >> k, cur >> k, e + k
        elif big < one:
            k = BITS - big.bit_length()
            prev, cur, e = prev << k, cur << k, e - k
    return cur, prev, e


def hermite_reference(n, x0):
    """The zero of H_n next to x0 and log of its Gauss weight (e^{-x^2}), 40+ digits.

    w = 2^{n-1} n! sqrt(pi) / (n^2 H_{n-1}(x)^2)."""
    with mpmath.workdps(60):
        x = mpmath.mpf(x0)
        for _ in range(3):
            hn, hm, e = _hermite_pair(n, x)
            step = mpmath.mpf(hn) / (2 * n * mpmath.mpf(hm))
            x -= step
        assert abs(step) <= mpmath.mpf(10) ** -40 * max(1, abs(x))
        log_h = mpmath.log(abs(mpmath.mpf(hm))) + (e - BITS) * mpmath.log(2)
        logw = ((n - 1) * mpmath.log(2) + mpmath.loggamma(n + 1) + mpmath.log(mpmath.pi) / 2
                - 2 * mpmath.log(n) - 2 * log_h)
        return x, logw


def laguerre_reference(n, alpha, x0):
    """The zero of L_n^alpha next to x0 and log of its Gauss weight (x^alpha e^{-x}), 40+ digits.

    w = Gamma(n+alpha+1) x / (n! (n+alpha)^2 L_{n-1}^alpha(x)^2), the derivative form."""
    with mpmath.workdps(60):
        x, a = mpmath.mpf(x0), mpmath.mpf(alpha)
        for _ in range(3):
            ln, lm, e = _laguerre_pair(n, alpha, x)
            slope = (n * mpmath.mpf(ln) - (n + a) * mpmath.mpf(lm)) / x
            step = mpmath.mpf(ln) / slope
            x -= step
        assert abs(step) <= mpmath.mpf(10) ** -40 * max(1, abs(x))
        log_l = mpmath.log(abs(mpmath.mpf(lm))) + (e - BITS) * mpmath.log(2)
        logw = (mpmath.loggamma(n + a + 1) - mpmath.loggamma(n + 1) + mpmath.log(x)
                - 2 * mpmath.log(n + a) - 2 * log_l)
        return x, logw


def sample(n, normal_weights, size, seed):
    """First, last, middle, random indices, and random indices among the normal-double weights."""
    rng = np.random.default_rng(seed)
    idx = {0, n - 1, n // 2}
    idx.update(rng.integers(0, n, size // 2).tolist())
    normal = np.flatnonzero(normal_weights)
    idx.update(rng.choice(normal, min(size // 2, normal.size), replace=False).tolist())
    return sorted(idx)


def errors(x, w, logw, idx, ref):
    """Per sampled node: node error (eps max(1,|x|)), weight error (eps, NaN if not normal), log-weight
    error (eps max(1, |log w|)); checks that each reference zero is the k-th (between our neighbours)."""
    node, weight, logerr = [], [], []
    for k in idx:
        xr, lr = ref(x[k])
        with mpmath.workdps(60):
            if k > 0:
                assert x[k - 1] < xr
            if k < x.size - 1:
                assert xr < x[k + 1]
            node.append(float(abs(mpmath.mpf(x[k]) - xr) / max(1, abs(xr))) / EPS)
            logerr.append(float(abs(mpmath.mpf(logw[k]) - lr) / max(1, abs(lr))) / EPS)
            wr = mpmath.exp(lr)
            weight.append(float(abs(mpmath.mpf(w[k]) - wr) / wr) / EPS if wr >= TINY else np.nan)
    return np.array(node), np.array(weight), np.array(logerr)


def assert_bounds(node, weight, logerr, label):
    normal = weight[np.isfinite(weight)]
    assert node.max() <= 2.0, f"{label}: node error {node.max():.2f} eps"
    assert normal.size and normal.max() <= 4.0, f"{label}: weight error {normal.max():.2f} eps"
    assert np.median(normal) <= 1.0, f"{label}: median weight error {np.median(normal):.2f} eps"
    assert logerr.max() <= 4.0, f"{label}: log-weight error {logerr.max():.2f} eps"


def test_reference_matches_quadlib_reference():
    # the fast reference above against quadlib.reference (Jacobi matrix, mpmath throughout) at n = 30
    xr, wr = reference.gauss_hermite(30, dps=40)
    xl, wl = reference.gauss_laguerre(30, 0.5, dps=40)
    with mpmath.workdps(40):
        for k in (0, 11, 29):
            x, logw = hermite_reference(30, float(xr[k]))
            assert abs(x - xr[k]) < mpmath.mpf(10) ** -35 and abs(logw - mpmath.log(wr[k])) < mpmath.mpf(10) ** -35
            x, logw = laguerre_reference(30, 0.5, float(xl[k]))
            assert abs(x - xl[k]) < mpmath.mpf(10) ** -35 and abs(logw - mpmath.log(wl[k])) < mpmath.mpf(10) ** -35


# ---------------------------------------------------------------- accuracy

SIZES = [100, 1000, 10_000, pytest.param(100_000, marks=pytest.mark.slow)]  # 10^5: ~3 s each
ALPHAS = [0.0, 0.5, -0.5, 2.0, 5.0]


@pytest.mark.parametrize("n", SIZES)
def test_hermite_against_mpmath(n):
    x, w, logw = hermite_large(n)
    idx = sample(n, w >= TINY, 20 if n <= 10_000 else 12, seed=n)
    assert_bounds(*errors(x, w, logw, idx, lambda t: hermite_reference(n, t)), f"hermite({n})")


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("n", SIZES)
def test_laguerre_against_mpmath(n, alpha):
    x, w, logw = laguerre_large(n, alpha)
    idx = sample(n, w >= TINY, 20 if n <= 10_000 else 12, seed=n + int(10 * alpha))
    assert_bounds(*errors(x, w, logw, idx, lambda t: laguerre_reference(n, alpha, t)),
                  f"laguerre({n}, {alpha})")


@pytest.mark.parametrize("kind", ["probabilists", "normal"])
def test_hermite_kinds_are_scaled_physicists(kind):
    n = 1000
    rule = quadlib.gauss_hermite(n, kind)
    x, w, logw = rule.nodes, rule.weights, rule.log_weights
    with mpmath.workdps(60):
        c = mpmath.sqrt(2)
        shift = mpmath.log(mpmath.sqrt(2) if kind == "probabilists" else 1 / mpmath.sqrt(mpmath.pi))

        def ref(t):
            xr, lr = hermite_reference(n, float(mpmath.mpf(t) / c))
            return xr * c, lr + shift

        idx = sample(n, w >= TINY, 20, seed=7)
        assert_bounds(*errors(x, w, logw, idx, ref), f"hermite({n}, {kind})")


@pytest.mark.slow
def test_one_million_spot_check():
    n = 10 ** 6
    x, w, logw = hermite_large(n)
    idx = sample(n, w >= TINY, 6, seed=1)
    assert_bounds(*errors(x, w, logw, idx, lambda t: hermite_reference(n, t)), "hermite(1e6)")
    x, w, logw = laguerre_large(n, 0.5)
    idx = sample(n, w >= TINY, 6, seed=2)
    assert_bounds(*errors(x, w, logw, idx, lambda t: laguerre_reference(n, 0.5, t)), "laguerre(1e6, 0.5)")


# ---------------------------------------------------------------- the switch in gauss_hermite / gauss_laguerre

@pytest.mark.parametrize("family", ["hermite", "laguerre"])
def test_same_accuracy_on_both_sides_of_the_crossover(family):
    if family == "hermite":
        cross = _gauss.HERMITE_CROSSOVER
        rules = [quadlib.gauss_hermite(n) for n in (cross, cross + 1)]
        refs = [lambda t, n=n: hermite_reference(n, t) for n in (cross, cross + 1)]
    else:
        cross = _gauss.LAGUERRE_CROSSOVER
        rules = [quadlib.gauss_laguerre(n, 0.5) for n in (cross, cross + 1)]
        refs = [lambda t, n=n: laguerre_reference(n, 0.5, t) for n in (cross, cross + 1)]
    for rule, ref in zip(rules, refs):
        idx = range(rule.n)  # every node
        node, weight, logerr = errors(rule.nodes, rule.weights, rule.log_weights, idx, ref)
        assert_bounds(node, weight, logerr, rule.family)
        assert node.max() <= 1.0 and np.nanmax(weight) <= 1.0  # both paths round the exact values


@pytest.mark.parametrize("n", [40, 41, 99, 360, 361])
def test_fast_path_agrees_with_recurrence_path(n):
    # the O(n^2) recurrence (refined in double-double) and the O(n) stepping, node by node
    for kind in ("physicists", "probabilists", "normal"):
        x_old, _, w_old, logw_old = _gauss._hermite.__wrapped__(n, kind)
        x, w, logw = hermite_large(n, kind)
        np.testing.assert_array_max_ulp(x, x_old, maxulp=1)
        normal = w_old >= TINY
        np.testing.assert_array_max_ulp(w[normal], w_old[normal], maxulp=2)
        np.testing.assert_allclose(logw, logw_old, rtol=4 * EPS, atol=4 * EPS)
    for alpha in (0.0, -0.7, 3.3):
        x_old, _, w_old, logw_old = _gauss._laguerre.__wrapped__(n, alpha)
        x, w, logw = laguerre_large(n, alpha)
        np.testing.assert_array_max_ulp(x, x_old, maxulp=2)
        normal = w_old >= TINY
        np.testing.assert_array_max_ulp(w[normal], w_old[normal], maxulp=2)
        np.testing.assert_allclose(logw, logw_old, rtol=4 * EPS, atol=4 * EPS)


def test_dispatch_keeps_rules_and_caches_only_small_ones():
    _gauss.clear_caches()
    rule = quadlib.gauss_hermite(5000, "normal")
    assert rule.family == "gauss_hermite(5000, kind='normal')" and rule.degree == 9999 and rule.n == 5000
    assert abs(rule.weights.sum() - 1.0) < 1e-14 and np.all(np.diff(rule.nodes) > 0)
    assert np.array_equal(rule.nodes, -rule.nodes[::-1])  # exactly symmetric
    rule = quadlib.gauss_laguerre(5000, 1.5)
    assert rule.family == "gauss_laguerre(5000, 1.5)" and rule.domain == (0.0, np.inf)
    assert _gauss._hermite.cache_info().currsize == 0 and _gauss._laguerre.cache_info().currsize == 0
    quadlib.gauss_hermite(_gauss.HERMITE_CROSSOVER)
    assert _gauss._hermite.cache_info().currsize == 1


# ---------------------------------------------------------------- underflow and the tails

@pytest.mark.parametrize("make, log_mu0", [
    (lambda: hermite_large(100_000), np.log(np.sqrt(np.pi))),
    (lambda: laguerre_large(100_000, 2.0), np.log(2.0)),
])
def test_log_weights_keep_the_underflowed_tail(make, log_mu0):
    x, w, logw = make()
    assert np.all(np.isfinite(logw)) and np.all(np.diff(x) > 0)
    assert np.sum(w == 0.0) > x.size // 2  # most weights underflow ...
    top = logw.max()
    assert abs(top + np.log(np.sum(np.exp(logw - top))) - log_mu0) < 1e-13  # ... the log-sum is the mass
    np.testing.assert_array_equal(w[logw < -746], 0.0)
    normal = w >= TINY
    np.testing.assert_allclose(np.log(w[normal]), logw[normal], rtol=4 * EPS, atol=4 * EPS)


def test_large_alpha_starts_from_mpmath():
    # beyond alpha ~ 25 the series near 0 cancels too much; the first zero then comes from mpmath
    x, w, logw = laguerre_large(3000, 40.0)
    x_old, _, w_old, _ = _gauss._laguerre.__wrapped__(300, 40.0)
    ref_first = laguerre_reference(3000, 40.0, x[0])
    assert abs(x[0] - float(ref_first[0])) <= 2 * EPS * x[0]
    assert abs(np.log(w[0]) - float(ref_first[1])) <= 4 * EPS * max(1, abs(float(ref_first[1])))
    assert abs(w.sum() / float(mpmath.gamma(41)) - 1) < 1e-13


def test_series_start_equals_the_reference():
    # the compiled start (hypergeometric series, double-double) against the mpmath reference
    for n, alpha in [(50, 0.0), (1000, -0.5), (20_000, 5.0)]:
        x, w, logw = np.zeros(16), np.zeros(16), np.zeros(16)
        found = _asymptotic_hl.series_zeros(n, alpha, *_laguerre_start(n, alpha), 12, 64.0, x, w, logw)
        assert found >= 2
        for k in range(found):
            xr, lr = laguerre_reference(n, alpha, x[k])
            assert abs(x[k] - float(xr)) <= EPS * x[k] * 0.5 + 1e-300
            assert abs(logw[k] - float(lr)) <= 2 * EPS * max(1.0, abs(float(lr)))


def test_small_n_and_parity():
    for n in range(1, 8):
        x, w, logw = hermite_large(n)
        x_old, _, w_old, _ = _gauss._hermite.__wrapped__(n, "physicists")
        np.testing.assert_array_max_ulp(x, x_old, maxulp=1)
        np.testing.assert_array_max_ulp(w, w_old, maxulp=1)
        x, w, logw = laguerre_large(n, 0.25)
        x_old, _, w_old, _ = _gauss._laguerre.__wrapped__(n, 0.25)
        np.testing.assert_array_max_ulp(x, x_old, maxulp=1)
        np.testing.assert_array_max_ulp(w, w_old, maxulp=1)


def test_input_validation():
    with pytest.raises(ValueError, match="`n`"):
        hermite_large(0)
    with pytest.raises(TypeError, match="`n`"):
        hermite_large(2.5)
    with pytest.raises(ValueError, match="`kind`"):
        hermite_large(10, "chemists")
    with pytest.raises(ValueError, match="`n`"):
        laguerre_large(-3)
    with pytest.raises(ValueError, match="`alpha`"):
        laguerre_large(10, -1.0)
    with pytest.raises(ValueError, match="`alpha`"):
        laguerre_large(10, np.nan)
