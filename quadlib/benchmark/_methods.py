"""The benchmark's built-in methods: quadlib's integrators, scipy's and mpmath's, each as
``func(problem, rtol) -> (value, error_estimate, nfev, success)``.

This module owns the adapters (how each integrator is called on a :class:`~quadlib.benchmark.Problem`
and how its points are counted), the loops that make a fixed rule adaptive (sizes doubled until three
results agree; QMC until three standard errors are within the tolerance) with their budgets, and the
table of built-in methods with the kinds of problem each applies to (:func:`builtin_methods`). The
integrators (public names of the core's modules) are imported inside the adapters.
"""
import functools
import warnings

import numpy as np

__all__ = ["builtin_methods"]

_MAX_DOUBLINGS = 11   # fixed rules: n from 4 to 4 * 2^10 = 4096 nodes
_MAX_NFEV = 1_000_000  # multi-D methods' budget per run
_MAX_SPARSE_LEVEL = 20  # the evaluation budget binds first (2-D level 18 is ~10^6 points)


# ------------------------------------------------------------------------------------------- evaluation
def _vectorized(p):
    """``p.f`` taking arrays of points: itself when vectorized, else a loop over the points (x of shape
    (N,) or any shape for an interval, (N, d) or (d,) for a box)."""
    if p.vectorized:
        return p.f
    f, d = p.f, p.dimension

    def loop(x):
        x = np.asarray(x, dtype=float)
        if p.kind == "genz":
            rows = x.reshape(-1, d)
            return np.array([f(row) for row in rows], dtype=float).reshape(x.shape[:-1])[()]
        return np.array([f(float(t)) for t in x.ravel()], dtype=float).reshape(x.shape)[()]
    return loop


def _counted(f):
    """`f` counting its points: x of shape (N,), (N, d) or (M, K, q) holds N, N or M K points."""
    count = [0]

    def g(x):
        x = np.asarray(x, dtype=float)
        count[0] += x.size if x.ndim < 2 else x.size // x.shape[-1]
        return f(x)
    return g, count


def _finite_1d(p):
    return p.kind == "1d" and bool(np.isfinite(p.a) and np.isfinite(p.b))


def _has_log_g(p):
    return p.log_g is not None


# ------------------------------------------------------------------------------------ stopping loops
def _until_agreement(estimates, rtol):
    """Drive an iterator of (value, nfev so far) until three successive values agree within rtol.

    Returns (value, estimate, nfev, success), the estimate being the larger of the last two differences:
    one difference alone was fooled by algebraic convergence (genz_continuous_2d's kink: the sparse grid
    stopped at an error twice its difference). Results of exactly zero are not agreement: the rule has not
    seen the integrand yet (as in `cubature`). An iterator that runs out first (they are all bounded) or
    gives a non-finite value is a failure, with the last estimate (NaN if none)."""
    previous = difference = estimate = value = np.nan
    nfev = 0
    for value, nfev in estimates:
        if not np.isfinite(value):
            return value, np.nan, nfev, False
        # a narrow peak between every node of two levels (peak_gauss for Clenshaw–Curtis 5 and 9)
        seen = value != 0 or previous != 0
        estimate = max(difference, abs(value - previous))   # NaN until there are two differences
        difference, previous = abs(value - previous), value
        if seen and estimate <= rtol * abs(value):
            return value, estimate, nfev, True
    return value, estimate if np.isfinite(estimate) else difference, nfev, False


def _until_three_standard_errors(estimate_at, count, rtol):
    """Double the points of a randomized QMC estimate, 16 randomizations of 2^m points from m = 10, until
    three standard errors are within rtol or the next size would pass the evaluation budget.

    ``estimate_at(n_randomizations, n_points) -> (value, standard_error)``; `count` is its evaluation count.
    Returns (value, 3 standard errors, nfev, success)."""
    n_randomizations, m = 16, 10
    value = estimate = np.nan
    while count[0] + n_randomizations * 2 ** m <= _MAX_NFEV:
        value, standard_error = estimate_at(n_randomizations, 2 ** m)
        estimate = 3 * standard_error
        if np.isfinite(value) and estimate <= rtol * abs(value):
            return value, estimate, count[0], True
        m += 1
    return value, estimate, count[0], False


# ------------------------------------------------------------------------------------- quadlib's rules
def _doubling_1d(p, rtol, rule_of, sizes):
    g, count = _counted(_vectorized(p))
    edges = [p.a, *sorted(p.points), p.b]

    def estimates():
        for n in sizes:
            rule = rule_of(n)
            value = sum(float(rule.integrate(g, lo, hi)) for lo, hi in zip(edges[:-1], edges[1:]))
            yield value, count[0]
    with np.errstate(all="ignore"):
        return _until_agreement(estimates(), rtol)


def _quadlib_gauss_legendre(p, rtol):
    from .._gauss import gauss_legendre

    return _doubling_1d(p, rtol, gauss_legendre, [4 * 2 ** k for k in range(_MAX_DOUBLINGS)])


def _quadlib_clenshaw_curtis(p, rtol):
    from .._nested import clenshaw_curtis

    return _doubling_1d(p, rtol, clenshaw_curtis, [4 * 2 ** k + 1 for k in range(_MAX_DOUBLINGS)])


def _quadlib_gauss_hermite(p, rtol):
    from .._gauss import gauss_hermite

    log_g, count = _counted(p.log_g)

    def estimates():
        for k in range(_MAX_DOUBLINGS):
            rule = gauss_hermite(4 * 2 ** k, kind="normal")
            # exp(log g + log w): no overflow or underflow of the weights far out (they reach 1e-1800)
            yield float(np.sum(np.exp(log_g(rule.nodes) + rule.log_weights))), count[0]
    with np.errstate(all="ignore"):
        return _until_agreement(estimates(), rtol)


@functools.lru_cache(maxsize=None)
def _clenshaw_curtis_grid(d, level):
    # the same grids serve every problem and tolerance: build each once
    from .._sparse import sparse_grid

    try:
        return sparse_grid(d, level, "clenshaw_curtis", max_points=_MAX_NFEV)
    except ValueError:  # more points than the budget
        return None


def _quadlib_sparse_grid(p, rtol):
    g, count = _counted(_vectorized(p))
    d = p.dimension

    def estimates():
        for level in range(1, _MAX_SPARSE_LEVEL + 1):
            rule = _clenshaw_curtis_grid(d, level)
            if rule is None or count[0] + rule.n > _MAX_NFEV:
                return
            yield float(rule.integrate(g, p.a, p.b)), count[0]
    return _until_agreement(estimates(), rtol)


def _quadlib_qmc_quad(p, rtol):
    from .._montecarlo import qmc_quad

    g, count = _counted(_vectorized(p))

    def estimate_at(n_randomizations, n_points):
        r = qmc_quad(g, p.a, p.b, n_points=n_points, n_randomizations=n_randomizations, seed=0)
        return float(r.integral), float(r.error)
    return _until_three_standard_errors(estimate_at, count, rtol)


# -------------------------------------------------------------------- quadlib's random-effects integrators
def _counted_log_g(p):
    # one cluster, q = 1: the integrators call with b of shape (1, K, 1), K points
    return _counted(lambda b: p.log_g(b[..., 0]))


def _normal_log_integral(integrator, log_g, start=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = integrator.log_integrals(log_g, 1, 1, start=start)
    return float(np.exp(r.log_integral[0])), r


def _quadlib_laplace(p, rtol):
    from .._integrators import AdaptiveGaussHermite, Laplace

    # Laplace's approximation has no error estimate of its own; the usual diagnostic is its distance to
    # AGQ with 3 nodes at the same mode, which is what a user would check. It claims rtol only if that
    # distance is within it.
    log_g, count = _counted_log_g(p)
    value, r = _normal_log_integral(Laplace(), log_g)
    if not r.success:
        return value, np.nan, count[0], False
    check, r3 = _normal_log_integral(AdaptiveGaussHermite(3), log_g, r.mode_u)
    estimate = abs(check - value) if r3.success else np.nan
    return value, estimate, count[0], bool(estimate <= rtol * abs(value))


def _quadlib_agq(p, rtol):
    from .._integrators import AdaptiveGaussHermite

    log_g, count = _counted_log_g(p)

    def estimates():
        start = None
        for n in (2, 4, 8, 16, 32, 64, 128):
            value, r = _normal_log_integral(AdaptiveGaussHermite(n), log_g, start)
            if not r.success:
                yield np.nan, count[0]
                return
            start = r.mode_u  # the mode is the same for every n: the Newton search restarts there
            yield value, count[0]
    return _until_agreement(estimates(), rtol)


# ---------------------------------------------------------------------------- quadlib's adaptive methods
def _quadlib_quad(p, rtol):
    from .._adaptive import quad

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = quad(p.f, p.a, p.b, rtol=rtol, points=p.points or None, vectorized=p.vectorized)
    return r.integral, r.error, r.nfev, r.success


def _quadlib_tanh_sinh(p, rtol):
    from .._tanh_sinh import tanh_sinh

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = tanh_sinh(p.f, p.a, p.b, rtol=rtol, vectorized=p.vectorized)
    return r.integral, r.error, r.nfev, r.success


def _quadlib_cubature(method):
    def run(p, rtol):
        from .._cubature import cubature

        g, count = _counted(_vectorized(p))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Genz-Malik takes the kinks and jumps as cuts (per axis), as its documentation asks of a user
            points = p.points if method == "genz_malik" and any(p.points) else None
            r = cubature(g, p.a, p.b, rtol=rtol, method=method, max_nfev=_MAX_NFEV, seed=0, points=points)
        return float(r.integral), r.error, count[0], r.success
    return run


# ----------------------------------------------------------------------------------------------- peers
def _scipy_quad(p, rtol):
    from scipy import integrate

    g, count = _counted(_vectorized(p))
    # one run: scipy's quad says it did not converge only through an IntegrationWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", integrate.IntegrationWarning)
        value, error = integrate.quad(lambda x: float(g(np.array([x]))[0]), p.a, p.b, epsabs=0, epsrel=rtol,
                                      limit=200, points=list(p.points) or None)
    success = not any(issubclass(w.category, integrate.IntegrationWarning) for w in caught)
    return value, error, count[0], success


def _scipy_tanhsinh(p, rtol):
    from scipy.integrate import tanhsinh

    g, count = _counted(_vectorized(p))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = tanhsinh(lambda x: g(np.ravel(x)).reshape(np.shape(x)), p.a, p.b, rtol=rtol)
    return float(r.integral), float(r.error), count[0], bool(r.success)


def _scipy_quad_vec(p, rtol):
    from scipy.integrate import quad_vec

    g, count = _counted(_vectorized(p))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value, error, info = quad_vec(lambda x: float(g(np.array([x]))[0]), p.a, p.b, epsabs=0, epsrel=rtol,
                                      limit=2000, points=list(p.points) or None, full_output=True)
    return float(value), float(error), count[0], bool(info.success)


def _scipy_cubature(p, rtol):
    from scipy.integrate import cubature

    g, count = _counted(_vectorized(p))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Genz–Malik as quadlib's cubature: 2^d + 2d^2 + 2d + 1 points per region against gk21's 21^d
        # the kinks and jumps as one point where scipy splits the box (mid-axis where an axis has none)
        split = [axis[0] if axis else 0.5 * (lo + hi) for axis, lo, hi in zip(p.points, p.a, p.b)] \
            if any(p.points) else None
        r = cubature(g, np.asarray(p.a, dtype=float), np.asarray(p.b, dtype=float), rule="genz-malik",
                     rtol=rtol, atol=0, max_subdivisions=400, points=None if split is None else [np.array(split)])
    return float(r.estimate), float(r.error), count[0], r.status == "converged"


def _scipy_qmc_quad(p, rtol):
    from scipy.integrate import qmc_quad
    from scipy.stats import qmc

    g, count = _counted(_vectorized(p))
    d = p.dimension

    def estimate_at(n_randomizations, n_points):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # scipy's points are columns (d, n); its first call checks one point, shape (d,)
            r = qmc_quad(lambda x: g(x.T) if np.ndim(x) > 1 else g(np.reshape(x, (1, d)))[0], p.a, p.b,
                         n_estimates=n_randomizations, n_points=n_points, qrng=qmc.Sobol(d, scramble=True, seed=0))
        return float(r.integral), float(r.standard_error)
    return _until_three_standard_errors(estimate_at, count, rtol)


def _mpmath_quad(p, rtol):
    import mpmath

    g, count = _counted(_vectorized(p))
    with mpmath.workdps(20):
        value, error = mpmath.quad(lambda x: float(g(np.array([float(x)]))[0]),
                                   [p.a, *p.points, p.b], error=True, maxdegree=8)
    value, error = float(value), float(error)
    return value, error, count[0], bool(np.isfinite(value) and error <= rtol * abs(value))


# ------------------------------------------------------------------------------------------- the table
def builtin_methods():
    """The built-in methods whose libraries are installed: name -> (func, kinds, applies or None)."""
    methods = {
        "quad": (_quadlib_quad, ("1d", "normal"), None),
        "tanh_sinh": (_quadlib_tanh_sinh, ("1d", "normal"), None),
        "gauss_legendre": (_quadlib_gauss_legendre, ("1d",), _finite_1d),
        "clenshaw_curtis": (_quadlib_clenshaw_curtis, ("1d",), _finite_1d),
        "gauss_hermite": (_quadlib_gauss_hermite, ("normal",), _has_log_g),
        "laplace": (_quadlib_laplace, ("normal",), _has_log_g),
        "agq": (_quadlib_agq, ("normal",), _has_log_g),
        # cubature's default ("auto") is sparse_adaptive when no breakpoints are given, as here
        "cubature": (_quadlib_cubature("sparse_adaptive"), ("genz",), None),
        "cubature.genz_malik": (_quadlib_cubature("genz_malik"), ("genz",), None),
        "cubature.qmc": (_quadlib_cubature("qmc"), ("genz",), None),
        "cubature.mc": (_quadlib_cubature("mc"), ("genz",), None),
        "sparse_grid": (_quadlib_sparse_grid, ("genz",), None),
        "qmc_quad": (_quadlib_qmc_quad, ("genz",), None),
    }
    from scipy import integrate

    # older scipy lacks some of these (cubature and the public tanhsinh arrived in 1.15, qmc_quad in 1.10)
    for name, func, kinds, attribute in (("scipy.quad", _scipy_quad, ("1d", "normal"), "quad"),
                                         ("scipy.quad_vec", _scipy_quad_vec, ("1d", "normal"), "quad_vec"),
                                         ("scipy.tanhsinh", _scipy_tanhsinh, ("1d", "normal"), "tanhsinh"),
                                         ("scipy.cubature", _scipy_cubature, ("genz",), "cubature"),
                                         ("scipy.qmc_quad", _scipy_qmc_quad, ("genz",), "qmc_quad")):
        if hasattr(integrate, attribute):
            methods[name] = (func, kinds, None)
    # mpmath is a dependency of quadlib (quadlib.reference)
    methods["mpmath.quad"] = (_mpmath_quad, ("1d", "normal"), None)
    return methods
