"""Genz's test families (quadlib/benchmark/_genz.py): integrands, closed forms, difficulty, validation.

The closed forms are checked against integration that does not use them:

* to 1e-13: each one-dimensional factor of the product families (and of the oscillatory family's
  complex form) and the corner peak's one-dimensional Laplace form, integrated by mpmath.quad at
  40 digits;
* d = 1 and 2: scipy's quad and dblquad on the pieces between kinks, jumps and peaks, to 1e-10;
* d = 3: a composite tensor Gauss-Legendre rule on the same pieces, to 1e-8;
* d = 5 and 10: 16 independent scrambled Sobol' sequences, within 5 standard errors.
"""
import doctest
import math
import pickle
import warnings

import mpmath
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import integrate, stats

from quadlib.benchmark import Problem, _genz
from quadlib.benchmark._genz import FAMILIES, genz_problem, standard_difficulty

# TESTPACK's MULTST (Genz 1987): sum(c) = DIFCLT / d**EXPNTS.
TESTPACK = {"oscillatory": (110, 1.5), "product_peak": (600, 2), "corner_peak": (600, 2),
            "gaussian": (100, 1), "continuous": (150, 2), "discontinuous": (100, 2)}


def _c(p):
    return p.parameters["c"]


def _w(p):
    return p.parameters["w"]


def _breaks(p, axis):
    """Where to split axis `axis` of [0, 1] for a piecewise-smooth, well-resolved integrand."""
    c, w = _c(p)[axis], _w(p)[axis]
    cuts = set(p.points[axis])
    if p.family in ("product_peak", "gaussian"):
        cuts |= {w + s / c for s in (-4.0, -1.0, 0.0, 1.0, 4.0)}
    elif p.family == "corner_peak":
        # the integrand's pole sits at distance ~1/sum(c) below the origin
        cuts |= {s / c for s in (1.0, 4.0, 16.0)}
    return [0.0] + sorted(t for t in cuts if 0.0 < t < 1.0) + [1.0]


def _tensor_gauss_legendre(f, breaks, n):
    """A composite tensor Gauss-Legendre rule with `n` nodes on every piece between `breaks`."""
    t, v = np.polynomial.legendre.leggauss(n)
    nodes, weights = [], []
    for cuts in breaks:
        lo, hi = np.array(cuts[:-1]), np.array(cuts[1:])
        half = (hi - lo)[:, None] / 2
        nodes.append(((lo + hi)[:, None] / 2 + half * t).ravel())
        weights.append((half * v).ravel())
    # The first axis in a loop keeps the arrays small: one slab of the grid at a time.
    rest = np.stack(np.meshgrid(*nodes[1:], indexing="ij"), axis=-1).reshape(-1, len(breaks) - 1)
    w_rest = np.prod(np.stack(np.meshgrid(*weights[1:], indexing="ij")), axis=0).ravel()
    total = 0.0
    for x0, w0 in zip(nodes[0], weights[0]):
        points = np.concatenate([np.full((rest.shape[0], 1), x0), rest], axis=1)
        total += w0 * (f(points) @ w_rest)
    return total


# --------------------------------------------------------------------------------------------------
# The closed forms against mpmath.

def _mp_factor(g, w):
    """int_0^1 g(x) dx by mpmath.quad, split at w (where g has its peak, kink or jump)."""
    cuts = [0, w, 1] if 0 < w < 1 else [0, 1]
    return mpmath.quad(g, cuts)


def _mp_reference(p):
    """The integral of `p` by one-dimensional mpmath quadrature (40 digits), never the closed form."""
    mpf, c, w, d = mpmath.mpf, [mpmath.mpf(x) for x in _c(p)], [mpmath.mpf(x) for x in _w(p)], p.dimension
    with mpmath.workdps(40):
        if p.family == "oscillatory":
            # Re(exp(2 pi i w_1) prod int_0^1 exp(i c_k x) dx)
            factors = [mpmath.quad(lambda x, ck=ck: mpmath.expj(ck * x), [0, 1]) for ck in c]
            return mpmath.re(mpmath.expj(2 * mpmath.pi * w[0]) * mpmath.fprod(factors))
        if p.family == "corner_peak":
            # (1 + u)**-(d+1) = 1/d! int_0^inf t**d exp(-t (1 + u)) dt, then integrate over the cube.
            def laplace(t):
                return mpmath.exp(-t) * mpmath.fprod(-mpmath.expm1(-t * ck) / ck for ck in c)
            cuts = sorted({1 / max(c), 1 / min(c), mpf(d)})
            return mpmath.quad(laplace, [0, *cuts, mpmath.inf]) / mpmath.factorial(d)
        if p.family == "product_peak":
            factors = [_mp_factor(lambda x, ck=ck, wk=wk: 1 / (ck ** -2 + (x - wk) ** 2), wk) for ck, wk in zip(c, w)]
        elif p.family == "gaussian":
            factors = [_mp_factor(lambda x, ck=ck, wk=wk: mpmath.exp(-(ck * (x - wk)) ** 2), wk)
                       for ck, wk in zip(c, w)]
        elif p.family == "continuous":
            factors = [_mp_factor(lambda x, ck=ck, wk=wk: mpmath.exp(-ck * abs(x - wk)), wk) for ck, wk in zip(c, w)]
        else:
            factors = [mpmath.quad(lambda x, ck=ck: mpmath.exp(ck * x), [0, wk if i < 2 else 1])
                       for i, (ck, wk) in enumerate(zip(c, w))]
        return mpmath.fprod(factors)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("d, seed", [(1, 0), (2, 1), (3, 2), (6, 3), (10, 4)])
def test_exact_against_mpmath(family, d, seed):
    p = genz_problem(family, d, seed=seed)
    assert_allclose(p.exact, float(_mp_reference(p)), rtol=1e-13, atol=0)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("scale", [1e-4, 0.3, 40.0])
def test_exact_against_mpmath_extreme_c(family, scale):
    # Small c: the corner peak's alternating sum cancels 40 digits away; large c: narrow features.
    d = 8
    rng = np.random.default_rng(11)
    p = genz_problem(family, d, c=scale * (0.5 + rng.random(d)), w=rng.random(d))
    assert_allclose(p.exact, float(_mp_reference(p)), rtol=1e-13, atol=0)


def test_corner_peak_sum_cancels_in_double():
    # Why the sum is evaluated in mpmath: here it cancels about 20 digits, more than a double has.
    d = 10
    c = np.full(d, 0.005)
    exact = genz_problem("corner_peak", d, c=c).exact
    v = np.array(np.meshgrid(*[[0, 1]] * d, indexing="ij")).reshape(d, -1).T
    naive = np.sum((-1.0) ** v.sum(axis=1) / (1.0 + v @ c)) / (math.factorial(d) * np.prod(c))
    assert not abs(naive - exact) < 0.1 * exact
    with mpmath.workdps(40):
        reference = mpmath.quad(lambda t: mpmath.exp(-t) * (-mpmath.expm1(-t / 200) * 200) ** d,
                                [0, d, 200, mpmath.inf])
        assert_allclose(exact, float(reference / mpmath.factorial(d)), rtol=1e-13)


@pytest.mark.parametrize("d", [1, 3, 8])
def test_corner_peak_laplace_path(d, monkeypatch):
    # Past _CORNER_SUM_MAX_D the module switches to the one-dimensional form; both must agree.
    c = _c(genz_problem("corner_peak", d, seed=d)).tolist()
    by_sum = _genz._exact_corner_peak(c)
    monkeypatch.setattr(_genz, "_CORNER_SUM_MAX_D", 0)
    assert_allclose(_genz._exact_corner_peak(c), by_sum, rtol=1e-14)


@pytest.mark.slow
def test_corner_peak_beyond_sum_limit():
    d = _genz._CORNER_SUM_MAX_D + 1
    p = genz_problem("corner_peak", d, seed=5)
    assert_allclose(p.exact, float(_mp_reference(p)), rtol=1e-13)
    c = _c(p).tolist()
    with mpmath.workprec(200):
        denominators, signs = [mpmath.mpf(1)], [1]
        for ck in c:
            denominators += [t + ck for t in denominators]
            signs += [-s for s in signs]
        by_sum = mpmath.fsum(s / t for s, t in zip(signs, denominators)) / (mpmath.factorial(d) * mpmath.fprod(c))
    assert_allclose(p.exact, float(by_sum), rtol=1e-13)


def test_known_values():
    # Hand-computable cases.
    e = math.e
    p = genz_problem("discontinuous", 3, c=[1.0, 2.0, 1.0], w=[0.5, 0.25, 0.1])
    assert_allclose(p.exact, (e ** 0.5 - 1) * (e ** 0.5 - 1) / 2 * (e - 1), rtol=1e-15)
    p = genz_problem("corner_peak", 1, c=[3.0])
    assert_allclose(p.exact, 1 / 4, rtol=1e-15)
    p = genz_problem("corner_peak", 2, c=[1.0, 1.0])   # 1/2 (1 - 2/2 + 1/3)
    assert_allclose(p.exact, 1 / 6, rtol=1e-15)
    p = genz_problem("oscillatory", 1, c=[np.pi], w=[0.0])   # int_0^1 cos(pi x) dx
    assert abs(p.exact) < 1e-16
    p = genz_problem("oscillatory", 2, c=[np.pi, np.pi], w=[0.0, 0.5])   # cos cos - sin sin
    assert_allclose(p.exact, -4 / np.pi ** 2, rtol=1e-15)
    p = genz_problem("continuous", 1, c=[2.0], w=[0.5])
    assert_allclose(p.exact, 1 - e ** -1, rtol=1e-15)


# --------------------------------------------------------------------------------------------------
# The closed forms against independent numerical integration.

@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seed", [0, 1])
def test_exact_d1_quad(family, seed):
    p = genz_problem(family, 1, seed=seed)
    cuts = _breaks(p, 0)
    value = sum(integrate.quad(lambda t: p.f((t,)), lo, hi, epsabs=1e-15, epsrel=1e-11, limit=500)[0]
                for lo, hi in zip(cuts[:-1], cuts[1:]))
    assert_allclose(value, p.exact, rtol=1e-10)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seed", [2, pytest.param(0, marks=pytest.mark.slow), pytest.param(1, marks=pytest.mark.slow)])
def test_exact_d2_dblquad(family, seed):
    p = genz_problem(family, 2, seed=seed)
    xs, ys = _breaks(p, 0), _breaks(p, 1)
    value = 0.0
    with warnings.catch_warnings():
        if family == "oscillatory":
            # Some inner integrals are small differences of O(1) parts, and quad says that it cannot
            # reach 1e-11 relative on them; the outer integral is checked below all the same.
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for x0, x1 in zip(xs[:-1], xs[1:]):
            for y0, y1 in zip(ys[:-1], ys[1:]):
                value += integrate.dblquad(lambda y, x: p.f((x, y)), x0, x1, y0, y1, epsabs=1e-15, epsrel=1e-11)[0]
    assert_allclose(value, p.exact, rtol=1e-10)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("d, seed", [(2, 3), (3, 0), (3, 1)])
def test_exact_tensor_gauss_legendre(family, d, seed):
    p = genz_problem(family, d, seed=seed)
    value = _tensor_gauss_legendre(p.f, [_breaks(p, i) for i in range(d)], 24 if d == 2 else 16)
    assert_allclose(value, p.exact, rtol=1e-8)


def _sobol_mean(f, d, seed, m=14, replicas=16):
    """Mean and standard error over `replicas` independent scrambled Sobol' sequences of 2**m points."""
    rng = np.random.default_rng(seed)
    estimates = np.array([f(stats.qmc.Sobol(d, scramble=True, seed=rng).random_base2(m)).mean()
                          for _ in range(replicas)])
    return estimates.mean(), estimates.std(ddof=1) / math.sqrt(replicas)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("d", [5, 10])
def test_exact_sobol(family, d):
    p = genz_problem(family, d, seed=d)
    # The corner peak's value at the origin is ~1e5 times its mean: it needs more points.
    m, teeth = (18, 5e-3) if family == "corner_peak" else (16, 1e-4)
    mean, se = _sobol_mean(p.f, d, seed=100 + d, m=m)
    assert abs(mean - p.exact) <= 5 * se
    # ... and the check has teeth: the standard error is small next to the integral.
    assert se < teeth * abs(p.exact)


# --------------------------------------------------------------------------------------------------
# The integrands.

def _scalar_twin(p, x):
    """The integrand at one point, from the formulas in Genz (1984), in plain Python floats."""
    c, w, d = _c(p).tolist(), _w(p).tolist(), p.dimension
    if p.family == "oscillatory":
        return math.cos(2 * math.pi * w[0] + sum(ci * xi for ci, xi in zip(c, x)))
    if p.family == "product_peak":
        return math.prod(1 / (ci ** -2 + (xi - wi) ** 2) for ci, xi, wi in zip(c, x, w))
    if p.family == "corner_peak":
        return (1 + sum(ci * xi for ci, xi in zip(c, x))) ** -(d + 1)
    if p.family == "gaussian":
        return math.exp(-sum(ci ** 2 * (xi - wi) ** 2 for ci, xi, wi in zip(c, x, w)))
    if p.family == "continuous":
        return math.exp(-sum(ci * abs(xi - wi) for ci, xi, wi in zip(c, x, w)))
    if x[0] > w[0] or (d > 1 and x[1] > w[1]):
        return 0.0
    return math.exp(sum(ci * xi for ci, xi in zip(c, x)))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("d", [1, 2, 5, 10])
def test_f_vectorized(family, d):
    p = genz_problem(family, d, seed=d)
    x = np.random.default_rng(d).random((64, d))
    x[:8] = _w(p)          # on the peak, kink or jump
    x[8:16, 0] = _w(p)[0]
    y = p.f(x)
    assert y.shape == (64,) and y.dtype == np.float64
    assert_array_equal(y, [p.f(row) for row in x])
    assert_array_equal(y, [p.f(x[i:i + 1])[0] for i in range(len(x))])
    assert np.ndim(p.f(x[0])) == 0
    assert p.f(x.reshape(8, 8, d)).shape == (8, 8)
    assert p.f(np.asfortranarray(x)).tolist() == y.tolist()
    assert p.f(x.tolist()).tolist() == y.tolist()
    # exp(-s) and powers carry the rounding of s relative to 1 + |s|: allow for it.
    twin = np.array([_scalar_twin(p, row) for row in x.tolist()])
    scale = 1 + np.abs(np.log(np.where(twin > 0, np.abs(twin), 1.0)))
    assert np.all(np.abs(y - twin) <= 1e-14 * scale * np.abs(twin))


def test_discontinuous_boundary():
    p = genz_problem("discontinuous", 3, c=[1.0, 1.0, 1.0], w=[0.5, 0.5, 0.5])
    assert p.f([0.5, 0.5, 0.9]) == math.exp(1.9)     # x_i = w_i is inside; x_3 > w_3 does not matter
    assert p.f([0.5 + 1e-16, 0.5, 0.0]) == 0.0
    assert p.f([0.2, np.nextafter(0.5, 1), 0.0]) == 0.0
    p1 = genz_problem("discontinuous", 1, c=[2.0], w=[0.3])
    assert_array_equal(p1.f([[0.3], [0.31]]), [math.exp(0.6), 0.0])


def test_f_quiet_at_extremes():
    # Underflow far from a peak and overflow outside the discontinuous support are silent.
    with np.errstate(all="raise"):
        x = np.array([[0.0] * 4, [1.0] * 4])
        assert np.all(np.isfinite(genz_problem("gaussian", 4, difficulty=1e4, seed=0).f(x)))
        assert np.all(np.isfinite(genz_problem("continuous", 4, difficulty=1e5, seed=0).f(x)))
        assert genz_problem("discontinuous", 4, c=[1, 1, 1, 700.0], w=[0.5] * 4).f(x)[1] == 0.0


def test_problems_pickle():
    p = genz_problem("product_peak", 3, seed=1)
    q = pickle.loads(pickle.dumps(p))
    x = np.random.default_rng(1).random((10, 3))
    assert_array_equal(q.f(x), p.f(x))
    assert q.exact == p.exact and q.points == p.points and q.name == p.name and q.family == p.family
    assert_array_equal(_c(q), _c(p))
    box = p.on_box(-1.0, 2.0)
    assert_array_equal(pickle.loads(pickle.dumps(box)).f(x), box.f(x))


# --------------------------------------------------------------------------------------------------
# Parameters: difficulty, seeds, points.

@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("d", range(1, 11))
def test_standard_difficulty(family, d):
    h, e = TESTPACK[family]
    assert_allclose(standard_difficulty(family, d), h / d ** e, rtol=1e-15)
    p = genz_problem(family, d, seed=d)
    assert_allclose(_c(p).sum(), h / d ** e, rtol=1e-14)
    assert np.all(_c(p) > 0) and np.all((_w(p) >= 0) & (_w(p) < 1))
    assert _c(p).shape == _w(p).shape == (d,) and p.dimension == d and p.family == family


@pytest.mark.parametrize("family", FAMILIES)
def test_difficulty_override(family):
    p = genz_problem(family, 4, difficulty=2.5, seed=3)
    assert_allclose(_c(p).sum(), 2.5, rtol=1e-15)
    q = genz_problem(family, 4, seed=3)
    assert_allclose(_c(p) / _c(p).sum(), _c(q) / _c(q).sum(), rtol=1e-15)   # same direction, other size
    assert_array_equal(_w(p), _w(q))


def test_explicit_parameters():
    c, w = [1.0, 2.0, 3.0], [0.0, 0.5, 1.0]
    p = genz_problem("gaussian", 3, c=c, w=w)
    assert _c(p).tolist() == c and _w(p).tolist() == w
    assert not _c(p).flags.writeable and not _w(p).flags.writeable
    # a seed gives the same w whether or not c is explicit
    assert_array_equal(_w(genz_problem("gaussian", 3, c=c, seed=4)), _w(genz_problem("gaussian", 3, seed=4)))
    # the kink at w_i = 0 or 1 is on the boundary: not an interior point
    assert genz_problem("continuous", 3, c=c, w=w).points == ((), (0.5,), ())


def test_seeds():
    for family in FAMILIES:
        p, q, r = (genz_problem(family, 5, seed=s) for s in (9, 9, 10))
        assert_array_equal(_c(p), _c(q))
        assert_array_equal(_w(p), _w(q))
        assert p.exact == q.exact
        assert not np.array_equal(_w(p), _w(r))
    # a seed gives the same w in every family
    assert len({_w(genz_problem(f, 3, seed=2)).tobytes() for f in FAMILIES}) == 1
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert_array_equal(_c(genz_problem("oscillatory", 3, seed=g1)), _c(genz_problem("oscillatory", 3, seed=g2)))
    assert_array_equal(_c(genz_problem("oscillatory", 3, seed=np.random.SeedSequence(5))),
                       _c(genz_problem("oscillatory", 3, seed=5)))


@pytest.mark.parametrize("family", FAMILIES)
def test_points(family):
    p = genz_problem(family, 4, seed=0)
    assert len(p.points) == 4
    expected = {"continuous": [(w,) for w in _w(p)], "discontinuous": [(_w(p)[0],), (_w(p)[1],), (), ()]}
    assert list(p.points) == expected.get(family, [()] * 4)
    p1 = genz_problem("discontinuous", 1, seed=0)
    assert p1.points == ((_w(p1)[0],),)


# --------------------------------------------------------------------------------------------------
# Boxes.

@pytest.mark.parametrize("family", FAMILIES)
def test_on_box(family):
    p = genz_problem(family, 2, seed=6)
    a, b = np.array([-1.0, 2.0]), np.array([3.0, 2.5])
    box = p.on_box(a, b)
    f_box, exact_box = box.f, box.exact
    assert isinstance(box, Problem) and box.kind == "genz" and box.family == family
    assert box.a == (-1.0, 2.0) and box.b == (3.0, 2.5)
    # the kinks and jumps move with the box
    assert box.points == tuple(tuple(a[i] + (b[i] - a[i]) * t for t in axis) for i, axis in enumerate(p.points))
    assert_allclose(exact_box, p.exact * 4.0 * 0.5, rtol=1e-15)
    u = np.random.default_rng(1006).random((32, 2))   # not seed 6: its 2nd row would be w itself
    # (x - a)/(b - a) recovers u only to rounding, which the oscillation and the peaks magnify
    assert_allclose(f_box(a + (b - a) * u), p.f(u), rtol=1e-12, atol=1e-13 * np.abs(p.f(u)).max())
    assert_array_equal(f_box(a + (b - a) * u), [f_box(row) for row in a + (b - a) * u])
    breaks = [[a[i] + (b[i] - a[i]) * t for t in _breaks(p, i)] for i in range(2)]
    assert_allclose(_tensor_gauss_legendre(f_box, breaks, 24), exact_box, rtol=1e-8)


def test_on_box_scalar_corners():
    p = genz_problem("corner_peak", 3, seed=0)
    box = p.on_box(0.0, 2.0)
    f_box, exact_box = box.f, box.exact
    assert exact_box == p.exact * 8.0
    assert f_box([2.0, 2.0, 2.0]) == p.f([1.0, 1.0, 1.0])
    unit = p.on_box(0, 1)
    f_unit, exact_unit = unit.f, unit.exact
    assert exact_unit == p.exact
    # moved back from [0, 2]^3 to the unit cube: the same integral
    back = box.on_box(0.0, 1.0)
    assert back.exact == p.exact and back.f([0.5, 0.5, 0.5]) == p.f([0.5, 0.5, 0.5])
    x = np.random.default_rng(0).random((5, 3))
    assert_array_equal(f_unit(x), p.f(x))


# --------------------------------------------------------------------------------------------------

def test_input_validation():
    with pytest.raises(ValueError, match="`family`"):
        genz_problem("oscilatory", 2)
    with pytest.raises(TypeError, match="`family`"):
        genz_problem(1, 2)
    with pytest.raises(ValueError, match="`family`"):
        standard_difficulty("c0", 2)
    with pytest.raises(ValueError, match="`d`"):
        genz_problem("gaussian", 0)
    with pytest.raises(ValueError, match="`d`"):
        genz_problem("gaussian", -3)
    with pytest.raises(TypeError, match="`d`"):
        genz_problem("gaussian", 2.0)
    with pytest.raises(ValueError, match="`c`"):
        genz_problem("gaussian", 3, c=[1.0, 2.0])
    with pytest.raises(ValueError, match="`c`"):
        genz_problem("gaussian", 2, c=[[1.0, 2.0]])
    with pytest.raises(ValueError, match="`c`"):
        genz_problem("gaussian", 2, c=[1.0, 0.0])
    with pytest.raises(ValueError, match="`c`"):
        genz_problem("gaussian", 2, c=[1.0, np.inf])
    with pytest.raises(TypeError, match="`c`"):
        genz_problem("gaussian", 2, c="ab")
    with pytest.raises(ValueError, match="`w`"):
        genz_problem("gaussian", 2, w=[0.5])
    with pytest.raises(ValueError, match="`w`"):
        genz_problem("gaussian", 2, w=[0.5, 1.5])
    with pytest.raises(ValueError, match="`w`"):
        genz_problem("gaussian", 2, w=[0.5, np.nan])
    with pytest.raises(ValueError, match="`difficulty`"):
        genz_problem("gaussian", 2, difficulty=0.0)
    with pytest.raises(ValueError, match="`difficulty`"):
        genz_problem("gaussian", 2, difficulty=np.inf)
    with pytest.raises(TypeError, match="`difficulty`"):
        genz_problem("gaussian", 2, difficulty="hard")
    with pytest.raises(ValueError, match="`difficulty` and `c`"):
        genz_problem("gaussian", 2, difficulty=1.0, c=[1.0, 1.0])
    with pytest.raises(TypeError, match="`seed`"):
        genz_problem("gaussian", 2, seed="seven")
    with pytest.raises(ValueError, match="overflows"):
        genz_problem("discontinuous", 3, c=[1.0, 1.0, 800.0])

    p = genz_problem("gaussian", 3, seed=0)
    with pytest.raises(ValueError, match="`x`"):
        p.f(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="`x`"):
        p.f(0.5)
    with pytest.raises(ValueError, match="`a`"):
        p.on_box([0.0, 0.0], 1.0)
    with pytest.raises(ValueError, match="`b`"):
        p.on_box(0.0, [1.0, np.inf, 1.0])
    with pytest.raises(ValueError, match="`a` must be less than `b`"):
        p.on_box([0.0, 1.0, 0.0], 1.0)
    f_box = p.on_box(0.0, 2.0).f
    with pytest.raises(ValueError, match="`x`"):
        f_box(np.zeros(4))
    with pytest.raises(TypeError, match="`name`"):
        genz_problem("gaussian", 2, name=3)


def test_problem_fields_and_repr():
    p = genz_problem("continuous", 2, c=[1.0, 2.0], w=[0.25, 0.75])
    assert isinstance(p, Problem) and p.kind == "genz" and p.name == "genz_continuous_2d"
    assert p.a == (0.0, 0.0) and p.b == (1.0, 1.0) and p.vectorized and p.tags == ("kink",)
    assert "Genz" in p.source
    assert repr(p) == f"Problem(name='genz_continuous_2d', kind='genz', family='continuous', d=2, exact={p.exact!r})"
    assert "continuous" in repr(p.f)
    assert genz_problem("gaussian", 3, seed=5, name="mine").name == "mine"


def test_docstring_examples():
    result = doctest.testmod(_genz, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0
