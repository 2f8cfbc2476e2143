"""Accuracy benchmarking of integration methods.

:func:`run` integrates a battery of problems with known values by a set of methods at several relative
tolerances and reports, for each (method, problem, rtol): the achieved error, the method's own error
estimate, whether that estimate was honest (a result that claims success must have an achieved error
within its estimate or the tolerance), the number of function evaluations and the time.

Problems: the 1-D battery of :mod:`quadlib._problems` (Bailey–Jeyabalan–Li, Kahaner, QUADPACK and
quadlib's own: singular, oscillatory, peaked, discontinuous, infinite), Genz's six families in a few
dimensions, and normal-weight integrals of the kinds a GLMM meets (E expit(a + s Z) and the Poisson-lognormal
probability E Poisson(y; exp(a + s Z)), Z ~ N(0, 1)). Users add their own
with :func:`register_problem` and :func:`register_method`.

Methods (each runs only on the problems it applies to; the others are skipped, not failed, and listed in
``table.attrs["skipped"]``):

* quadlib's adaptive ``quad`` and ``tanh_sinh``; ``cubature`` (its default here, the dimension-adaptive
  sparse grid), ``cubature.genz_malik``, and ``cubature.qmc`` and ``cubature.mc`` (randomized QMC and
  plain Monte Carlo, their own tolerance loop on the standard error), all with up to 10^6 evaluations;
* fixed rules made adaptive by doubling: ``gauss_legendre`` (n = 4, 8, ..., 4096) and
  ``clenshaw_curtis`` (n = 5, 9, ..., 4097) on finite 1-D intervals, composite over the problem's
  breakpoints, and ``gauss_hermite`` (normal weight) for the ``"normal"`` kind; success when three
  results agree within rtol, the estimate being the larger of the two differences;
* ``sparse_grid``: Clenshaw–Curtis Smolyak grids of levels 1, 2, ... (Genz kind, up to 10^6 points),
  same stopping rule;
* ``qmc_quad``: 16 scrambled Sobol' nets of 2^10, 2^11, ... points until three standard errors are
  within rtol (the estimate reported is 3 standard errors, about a 99% statement for 16 replicates);
* ``laplace`` and ``agq`` (``"normal"`` kind): the core integrators :class:`quadlib.Laplace` and
  :class:`quadlib.AdaptiveGaussHermite` on the log-integrand; AGQ doubles its nodes (2, 4, ..., 128)
  until agreement. Laplace has no error estimate of its own; it reports the usual diagnostic, its
  distance to 3-node AGQ at the same mode (those points count in nfev), and claims success only when
  that is within rtol;
* when installed, scipy's ``quad``, ``quad_vec`` and ``tanhsinh`` (1-D), ``cubature`` (Genz–Malik,
  scipy >= 1.15) and ``qmc_quad`` (Genz kind), and mpmath's ``quad``.

Every point a method evaluates counts in ``nfev``, including points evaluated again by a method that
restarts (the doubling fixed rules, sparse grids and QMC do not reuse earlier levels' points).

Examples
--------
>>> from quadlib import benchmark
>>> table = benchmark.run(problems=["bjl01", "kahaner_sech_spikes"], methods=["quad"], rtols=[1e-10])
>>> table[["method", "problem", "honest"]].to_dict("records")
[{'method': 'quad', 'problem': 'bjl01', 'honest': True}, {'method': 'quad', 'problem': 'kahaner_sech_spikes', 'honest': True}]
"""
from dataclasses import dataclass
import functools
import time
import warnings

import numpy as np

__all__ = ["BenchmarkProblem", "problems", "methods", "register_problem", "register_method", "run", "summarize",
           "plot"]


@dataclass(frozen=True)
class BenchmarkProblem:
    """An integral with a known value: ``f`` vectorized over points of shape (N,) (1-D) or (N, d)."""

    name: str
    kind: str            # "1d", "genz", "normal"
    f: object
    a: object
    b: object
    exact: float
    points: tuple = ()   # 1-D: breakpoints; "genz": per axis, the kinks and jumps (a tuple per axis)
    log_g: object = None  # "normal" kind: log g with f(x) = g(x) phi(x), for rules against the normal weight


_PROBLEMS = {}
_METHODS = {}


def register_problem(problem):
    """Add a :class:`BenchmarkProblem` (its name must be new)."""
    if not isinstance(problem, BenchmarkProblem):
        raise TypeError("`problem` must be a BenchmarkProblem")
    _builtins()  # first, so that a user's problem cannot stand in for (or hide) the built-ins
    if problem.name in _PROBLEMS:
        raise ValueError(f"`problem`: a problem named {problem.name!r} is already registered")
    _PROBLEMS[problem.name] = problem


def register_method(name, func, kinds=("1d",), applies=None):
    """Add a method: ``func(problem, rtol) -> (value, error_estimate, nfev, success)``, for the problem
    kinds in `kinds` and, if `applies` is given, only the problems for which ``applies(problem)`` is true
    (e.g. finite intervals). Other problems are skipped, not counted as failures. An error estimate may be
    NaN when the method has none."""
    if not callable(func):
        raise TypeError("`func` must be callable")
    if applies is not None and not callable(applies):
        raise TypeError("`applies` must be callable or None")
    _builtins()
    if name in _METHODS:
        raise ValueError(f"`name`: a method named {name!r} is already registered")
    _METHODS[name] = (func, tuple(kinds), applies)


def _applies(method, problem):
    _, kinds, applies = _METHODS[method]
    return problem.kind in kinds and (applies is None or bool(applies(problem)))


def problems():
    """Names of the registered problems."""
    _builtins()
    return list(_PROBLEMS)


def methods():
    """Names of the registered methods whose libraries are installed."""
    _builtins()
    return list(_METHODS)


# --------------------------------------------------------------------------------------- built-ins
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


_MAX_DOUBLINGS = 11   # fixed rules: n from 4 to 4 * 2^10 = 4096 nodes
_MAX_NFEV = 1_000_000  # multi-D methods' budget per run
_MAX_SPARSE_LEVEL = 20  # the evaluation budget binds first (2-D level 18 is ~10^6 points)


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


def _doubling_1d(p, rtol, rule_of, sizes):
    g, count = _counted(p.f)
    edges = [p.a, *sorted(p.points), p.b]

    def estimates():
        for n in sizes:
            rule = rule_of(n)
            value = sum(float(rule.integrate(g, lo, hi)) for lo, hi in zip(edges[:-1], edges[1:]))
            yield value, count[0]
    with np.errstate(all="ignore"):
        return _until_agreement(estimates(), rtol)


def _quadlib_gauss_legendre(p, rtol):
    from ._gauss import gauss_legendre

    return _doubling_1d(p, rtol, gauss_legendre, [4 * 2 ** k for k in range(_MAX_DOUBLINGS)])


def _quadlib_clenshaw_curtis(p, rtol):
    from ._nested import clenshaw_curtis

    return _doubling_1d(p, rtol, clenshaw_curtis, [4 * 2 ** k + 1 for k in range(_MAX_DOUBLINGS)])


def _quadlib_gauss_hermite(p, rtol):
    from ._gauss import gauss_hermite

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
    from ._sparse import sparse_grid

    try:
        return sparse_grid(d, level, "clenshaw_curtis", max_points=_MAX_NFEV)
    except ValueError:  # more points than the budget
        return None


def _quadlib_sparse_grid(p, rtol):
    g, count = _counted(p.f)
    d = len(p.a)

    def estimates():
        for level in range(1, _MAX_SPARSE_LEVEL + 1):
            rule = _clenshaw_curtis_grid(d, level)
            if rule is None or count[0] + rule.n > _MAX_NFEV:
                return
            yield float(rule.integrate(g, p.a, p.b)), count[0]
    return _until_agreement(estimates(), rtol)


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


def _quadlib_qmc_quad(p, rtol):
    from ._montecarlo import qmc_quad

    g, count = _counted(p.f)

    def estimate_at(n_randomizations, n_points):
        r = qmc_quad(g, p.a, p.b, n_points=n_points, n_randomizations=n_randomizations, seed=0)
        return float(r.integral), float(r.error)
    return _until_three_standard_errors(estimate_at, count, rtol)


def _counted_log_g(p):
    # one cluster, q = 1: the integrators call with b of shape (1, K, 1), K points
    return _counted(lambda b: p.log_g(b[..., 0]))


def _normal_log_integral(integrator, log_g, start=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = integrator.log_integrals(log_g, 1, 1, start=start)
    return float(np.exp(r.log_integral[0])), r


def _quadlib_laplace(p, rtol):
    from ._integrators import AdaptiveGaussHermite, Laplace

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
    from ._integrators import AdaptiveGaussHermite

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


def _quadlib_quad(p, rtol):
    from ._adaptive import quad

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = quad(p.f, p.a, p.b, rtol=rtol, points=p.points or None, vectorized=True)
    return r.integral, r.error, r.nfev, r.success


def _quadlib_tanh_sinh(p, rtol):
    from ._tanh_sinh import tanh_sinh

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = tanh_sinh(p.f, p.a, p.b, rtol=rtol, vectorized=True)
    return r.integral, r.error, r.nfev, r.success


def _quadlib_cubature(method):
    def run(p, rtol):
        from ._cubature import cubature

        g, count = _counted(p.f)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Genz-Malik takes the kinks and jumps as cuts (per axis), as its documentation asks of a user
            points = p.points if method == "genz_malik" and any(p.points) else None
            r = cubature(g, p.a, p.b, rtol=rtol, method=method, max_nfev=_MAX_NFEV, seed=0, points=points)
        return float(r.integral), r.error, count[0], r.success
    return run


def _scipy_quad_success(p, rtol):
    from scipy import integrate

    g, count = _counted(p.f)
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

    g, count = _counted(p.f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = tanhsinh(lambda x: g(np.ravel(x)).reshape(np.shape(x)), p.a, p.b, rtol=rtol)
    return float(r.integral), float(r.error), count[0], bool(r.success)


def _scipy_quad_vec(p, rtol):
    from scipy.integrate import quad_vec

    g, count = _counted(p.f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value, error, info = quad_vec(lambda x: float(g(np.array([x]))[0]), p.a, p.b, epsabs=0, epsrel=rtol,
                                      limit=2000, points=list(p.points) or None, full_output=True)
    return float(value), float(error), count[0], bool(info.success)


def _scipy_cubature(p, rtol):
    from scipy.integrate import cubature

    g, count = _counted(p.f)
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

    g, count = _counted(p.f)
    d = len(p.a)

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

    g, count = _counted(p.f)
    with mpmath.workdps(20):
        value, error = mpmath.quad(lambda x: float(g(np.array([float(x)]))[0]),
                                   [p.a, *p.points, p.b], error=True, maxdegree=8)
    value, error = float(value), float(error)
    return value, error, count[0], bool(np.isfinite(value) and error <= rtol * abs(value))


def _normal_problems():
    from scipy.special import expit, gammaln

    out = []
    for a, s in ((-1.0, 1.0), (0.5, 2.0), (2.0, 3.0)):
        def f(x, a=a, s=s):
            return expit(a + s * x) * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)

        def log_g(x, a=a, s=s):
            return -np.logaddexp(0.0, -(a + s * x))
        exact = _exact_logistic_normal(a, s)
        out.append(BenchmarkProblem(f"logistic_normal_{a:g}_{s:g}", "normal", f, -np.inf, np.inf, exact,
                                    log_g=log_g))
    # a count's marginal probability, P(Y = y) for Y | z ~ Poisson(exp(a + s z)): the larger the count, the
    # narrower the integrand against the N(0, 1) prior, which is where adaptive rules earn their keep
    for y, a, s in ((0, 0.5, 1.0), (4, 1.0, 0.5), (20, 1.0, 1.5)):
        def log_g(x, y=y, a=a, s=s):
            eta = a + s * x
            with np.errstate(over="ignore"):
                return y * eta - np.exp(eta) - gammaln(y + 1.0)

        def f(x, log_g=log_g):
            return np.exp(log_g(x) - 0.5 * x * x) / np.sqrt(2 * np.pi)
        out.append(BenchmarkProblem(f"poisson_normal_{y}_{a:g}_{s:g}", "normal", f, -np.inf, np.inf,
                                    _exact_poisson_normal(y, a, s), log_g=log_g))
    return out


def _exact_poisson_normal(y, a, s):
    import mpmath

    with mpmath.workdps(30):
        def integrand(z):
            eta = a + s * z
            return mpmath.exp(y * eta - mpmath.exp(eta) - mpmath.loggamma(y + 1) - z * z / 2) / mpmath.sqrt(2 * mpmath.pi)
        # split at the integrand's peak, where y s - s e^eta - z = 0; beyond peak - 40 and peak + 15 it is
        # below 1e-40 of its value (the normal tail, and exp(-e^eta)), and mpmath's infinite-range maps
        # would send exp(exp(.)) to astronomically large arguments
        peak = mpmath.findroot(lambda z: y * s - s * mpmath.exp(a + s * z) - z, 0)
        value = mpmath.quad(integrand, [peak - 40, peak - 1, peak, peak + 1, peak + 15])
    return float(value)


def _exact_logistic_normal(a, s):
    import mpmath

    with mpmath.workdps(30):
        value = mpmath.quad(lambda z: mpmath.exp(-z * z / 2) / mpmath.sqrt(2 * mpmath.pi) / (1 + mpmath.exp(-(a + s * z))),
                            [-mpmath.inf, -a / s, mpmath.inf])
    return float(value)


_LOADED = []


def _builtins():
    if _LOADED:
        return
    _LOADED.append(True)
    from ._genz import FAMILIES, genz_problem
    from ._problems import BATTERY

    for p in BATTERY:
        _PROBLEMS[p.name] = BenchmarkProblem(p.name, "1d", p.f, p.a, p.b, float(p.exact), tuple(p.points))
    for family in FAMILIES:
        for d in (2, 4):
            g = genz_problem(family, d, seed=0)
            _PROBLEMS[f"genz_{family}_{d}d"] = BenchmarkProblem(f"genz_{family}_{d}d", "genz", g.f, [0.0] * d,
                                                                [1.0] * d, float(g.exact), tuple(g.points))
    for p in _normal_problems():
        _PROBLEMS[p.name] = p
    _METHODS.update({
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
    })
    try:
        from scipy import integrate
    except ImportError:  # scipy is a dependency; kept for symmetry with optional peers
        integrate = None
    # older scipy lacks some of these (cubature and the public tanhsinh arrived in 1.15, qmc_quad in 1.10)
    for name, func, kinds, attribute in (("scipy.quad", _scipy_quad_success, ("1d", "normal"), "quad"),
                                         ("scipy.quad_vec", _scipy_quad_vec, ("1d", "normal"), "quad_vec"),
                                         ("scipy.tanhsinh", _scipy_tanhsinh, ("1d", "normal"), "tanhsinh"),
                                         ("scipy.cubature", _scipy_cubature, ("genz",), "cubature"),
                                         ("scipy.qmc_quad", _scipy_qmc_quad, ("genz",), "qmc_quad")):
        if integrate is not None and hasattr(integrate, attribute):
            _METHODS[name] = (func, kinds, None)
    try:
        import mpmath  # noqa: F401
        _METHODS["mpmath.quad"] = (_mpmath_quad, ("1d", "normal"), None)
    except ImportError:
        pass


def _names_iv(given, known, what):
    if given is None:
        return list(known)
    given = [given] if isinstance(given, str) else list(given)
    unknown = [g for g in given if g not in known]
    if unknown:
        raise ValueError(f"`{what}`: unknown {what} {unknown}; known: {sorted(known)}")
    return given


def run(problems=None, methods=None, rtols=(1e-6, 1e-10), progress=False):
    """Run every method on every problem it applies to, at every tolerance.

    A method applies to the problems of the kinds it was registered for that pass its ``applies``
    predicate (e.g. the doubling Gauss–Legendre rule needs a finite interval); it is not run on the
    others, which are neither successes nor failures.

    Returns
    -------
    pandas.DataFrame
        Columns ``method, problem, kind, rtol, value, exact, error`` (achieved, relative),
        ``estimate`` (the method's own, relative; NaN when it has none), ``success``, ``honest``,
        ``nfev``, ``seconds``. ``honest`` is False only when the method claimed success and its achieved
        error exceeds both its estimate and the tolerance by more than rounding (a silent failure). A
        success claimed without a finite estimate (Laplace's) is judged against the tolerance alone: the
        claim can only mean that rtol was met. ``table.attrs["skipped"]`` maps each method to the chosen
        problems it does not apply to.
    """
    import pandas as pd

    _builtins()
    names = _names_iv(problems, _PROBLEMS, "problems")
    chosen = _names_iv(methods, _METHODS, "methods")
    rtols = [float(r) for r in np.atleast_1d(rtols)]
    if any(not 0 < r < 1 for r in rtols):
        raise ValueError(f"`rtols` must be in (0, 1), got {rtols}")
    jobs, skipped = [], {}
    for m in chosen:
        for n in names:
            if _applies(m, _PROBLEMS[n]):
                jobs.extend((m, n, r) for r in rtols)
            else:
                skipped.setdefault(m, []).append(n)
    bar = None
    if progress:
        try:
            from tqdm import tqdm
            bar = tqdm(total=len(jobs), desc="quadlib accuracy")
        except ImportError:
            bar = None
    rows = []
    for m, n, r in jobs:
        p, func = _PROBLEMS[n], _METHODS[m][0]
        start = time.perf_counter()
        try:
            value, estimate, nfev, success = func(p, r)
        except Exception as error:  # a peer that raises is a failed run, reported, not a crash
            value, estimate, nfev, success = np.nan, np.nan, 0, False
            warnings.warn(f"{m} on {n}: {type(error).__name__}: {error}", RuntimeWarning, stacklevel=2)
        seconds = time.perf_counter() - start
        scale = max(abs(p.exact), 1e-300)
        error = abs(value - p.exact) / scale if p.exact != 0 else abs(value)
        estimate = abs(estimate) / scale if p.exact != 0 else abs(estimate)
        # a claim of success with no (finite) estimate is a claim to have met the tolerance
        bound = max(estimate, r) if np.isfinite(estimate) else r
        honest = not success or bool(error <= bound * 1.01 + 4e-16)
        rows.append(dict(method=m, problem=n, kind=p.kind, rtol=r, value=value, exact=p.exact, error=error,
                         estimate=estimate, success=bool(success), honest=bool(honest), nfev=int(nfev),
                         seconds=seconds))
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    table = pd.DataFrame(rows, columns=_COLUMNS)
    table.attrs["skipped"] = skipped
    return table


_COLUMNS = ["method", "problem", "kind", "rtol", "value", "exact", "error", "estimate", "success", "honest", "nfev",
            "seconds"]


def summarize(table):
    """Per method: problems run, successes, silent failures (dishonest), median nfev and total seconds."""
    return table.groupby("method").agg(runs=("problem", "size"), success=("success", "sum"),
                                       silent_failures=("honest", lambda h: int((~h).sum())),
                                       median_nfev=("nfev", "median"), seconds=("seconds", "sum"))


def plot(table, path=None):
    """Convergence curves, one panel per problem kind (matplotlib, optional).

    For each method, the median achieved error against the median nfev over the kind's problems, one
    point per tolerance joined in order of tolerance (errors below 1e-17 are drawn at 1e-17); the
    individual runs are shown faintly behind. More tolerances give longer curves:
    ``run(rtols=np.logspace(-2, -12, 6))``. Returns the matplotlib Figure, saved to `path` if given.
    """
    try:
        from matplotlib.figure import Figure   # no pyplot: the caller's backend is left alone
    except ImportError:
        raise ImportError("`--plot` needs matplotlib: pip install 'quadlib[plot]'") from None
    kinds = sorted(table["kind"].unique())
    fig = Figure(figsize=(5 * len(kinds), 4.2), layout="tight")
    axes = fig.subplots(1, len(kinds), squeeze=False)[0]
    for ax, kind in zip(axes, kinds):
        part = table[table["kind"] == kind].assign(nfev=lambda t: t["nfev"].clip(lower=1),
                                                   error=lambda t: t["error"].fillna(1.0).clip(lower=1e-17))
        for i, (method, rows) in enumerate(part.groupby("method")):
            color = f"C{i % 10}"
            ax.loglog(rows["nfev"], rows["error"], ".", ms=2, alpha=0.25, color=color)
            curve = rows.groupby("rtol")[["nfev", "error"]].median().sort_index(ascending=False)
            ax.loglog(curve["nfev"], curve["error"], marker="o", ms=4, color=color, label=method,
                      ls="-" if i < 10 else "--")
        ax.set_title(f"{kind} problems")
        ax.set_xlabel("function evaluations (median over problems)")
        ax.set_ylabel("relative error (median)")
        ax.legend(fontsize=7)
    if path is not None:
        fig.savefig(path)
    return fig
