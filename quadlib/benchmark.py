"""Accuracy benchmarking of integration methods (first slice of issue 9).

:func:`run` integrates a battery of problems with known values by a set of methods at several relative
tolerances and reports, for each (method, problem, rtol): the achieved error, the method's own error
estimate, whether that estimate was honest (a result that claims success must have an achieved error
within its estimate or the tolerance), the number of function evaluations and the time.

Problems: the 1-D battery of :mod:`quadlib._problems` (Bailey–Jeyabalan–Li, Kahaner, QUADPACK and
quadlib's own: singular, oscillatory, peaked, discontinuous, infinite), Genz's six families in a few
dimensions, and normal-weight integrals of the kind a GLMM meets (E expit(a + s Z)). Methods: quadlib's
``quad``, ``tanh_sinh`` and ``cubature``, and, when installed, scipy's ``quad`` and ``tanhsinh`` and
mpmath's ``quad``. Users add their own with :func:`register_problem` and :func:`register_method`.

Examples
--------
>>> from quadlib import benchmark
>>> table = benchmark.run(problems=["bjl01", "kahaner_sech_spikes"], methods=["quad"], rtols=[1e-10])
>>> table[["method", "problem", "honest"]].to_dict("records")
[{'method': 'quad', 'problem': 'bjl01', 'honest': True}, {'method': 'quad', 'problem': 'kahaner_sech_spikes', 'honest': True}]
"""
from dataclasses import dataclass
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
    points: tuple = ()


_PROBLEMS = {}
_METHODS = {}


def register_problem(problem):
    """Add a :class:`BenchmarkProblem` (its name must be new)."""
    if not isinstance(problem, BenchmarkProblem):
        raise TypeError("`problem` must be a BenchmarkProblem")
    if problem.name in _PROBLEMS:
        raise ValueError(f"`problem`: a problem named {problem.name!r} is already registered")
    _PROBLEMS[problem.name] = problem


def register_method(name, func, kinds=("1d",)):
    """Add a method: ``func(problem, rtol) -> (value, error_estimate, nfev, success)``, for the problem
    kinds in `kinds`."""
    if not callable(func):
        raise TypeError("`func` must be callable")
    if name in _METHODS:
        raise ValueError(f"`name`: a method named {name!r} is already registered")
    _METHODS[name] = (func, tuple(kinds))


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
    count = [0]

    def g(x):
        x = np.asarray(x, dtype=float)
        count[0] += x.shape[0] if x.ndim else 1
        return f(x)
    return g, count


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


def _quadlib_cubature(p, rtol):
    from ._cubature import cubature

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = cubature(p.f, p.a, p.b, rtol=rtol, max_nfev=200_000)
    return r.integral, r.error, r.nfev, r.success


def _scipy_quad_success(p, rtol):
    from scipy import integrate

    g, count = _counted(p.f)
    with warnings.catch_warnings():
        warnings.simplefilter("error", integrate.IntegrationWarning)
        try:
            value, error = integrate.quad(lambda x: float(g(np.array([x]))[0]), p.a, p.b, epsabs=0, epsrel=rtol,
                                          limit=200, points=list(p.points) or None)
            return value, error, count[0], True
        except integrate.IntegrationWarning:
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value, error = integrate.quad(lambda x: float(g(np.array([x]))[0]), p.a, p.b, epsabs=0, epsrel=rtol,
                                      limit=200, points=list(p.points) or None)
    return value, error, count[0], False


def _scipy_tanhsinh(p, rtol):
    from scipy.integrate import tanhsinh

    g, count = _counted(p.f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = tanhsinh(lambda x: g(np.ravel(x)).reshape(np.shape(x)), p.a, p.b, rtol=rtol)
    return float(r.integral), float(r.error), count[0], bool(r.success)


def _mpmath_quad(p, rtol):
    import mpmath

    g, count = _counted(p.f)
    with mpmath.workdps(20):
        value, error = mpmath.quad(lambda x: float(g(np.array([float(x)]))[0]),
                                   [p.a, *p.points, p.b], error=True, maxdegree=8)
    value, error = float(value), float(error)
    return value, error, count[0], bool(np.isfinite(value) and error <= rtol * abs(value))


def _normal_problems():
    from scipy.special import expit

    out = []
    for a, s in ((-1.0, 1.0), (0.5, 2.0), (2.0, 3.0)):
        def f(x, a=a, s=s):
            return expit(a + s * x) * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
        exact = _exact_logistic_normal(a, s)
        out.append(BenchmarkProblem(f"logistic_normal_{a:g}_{s:g}", "normal", f, -np.inf, np.inf, exact))
    return out


def _exact_logistic_normal(a, s):
    import mpmath

    with mpmath.workdps(30):
        value = mpmath.quad(lambda z: mpmath.exp(-z * z / 2) / mpmath.sqrt(2 * mpmath.pi) / (1 + mpmath.exp(-(a + s * z))),
                            [-mpmath.inf, -a / s, mpmath.inf])
    return float(value)


def _builtins():
    if _PROBLEMS:
        return
    from ._genz import FAMILIES, genz_problem
    from ._problems import BATTERY

    for p in BATTERY:
        _PROBLEMS[p.name] = BenchmarkProblem(p.name, "1d", p.f, p.a, p.b, float(p.exact), tuple(p.points))
    for family in FAMILIES:
        for d in (2, 4):
            g = genz_problem(family, d, seed=0)
            _PROBLEMS[f"genz_{family}_{d}d"] = BenchmarkProblem(f"genz_{family}_{d}d", "genz", g.f, [0.0] * d,
                                                                [1.0] * d, float(g.exact), ())
    for p in _normal_problems():
        _PROBLEMS[p.name] = p
    _METHODS.update({"quad": (_quadlib_quad, ("1d", "normal")), "tanh_sinh": (_quadlib_tanh_sinh, ("1d", "normal")),
                     "cubature": (_quadlib_cubature, ("genz",))})
    try:
        import scipy.integrate  # noqa: F401
        _METHODS["scipy.quad"] = (_scipy_quad_success, ("1d", "normal"))
        _METHODS["scipy.tanhsinh"] = (_scipy_tanhsinh, ("1d", "normal"))
    except ImportError:  # scipy is a dependency; kept for symmetry with optional peers
        pass
    _METHODS["mpmath.quad"] = (_mpmath_quad, ("1d", "normal"))


def _names_iv(given, known, what):
    if given is None:
        return list(known)
    given = [given] if isinstance(given, str) else list(given)
    unknown = [g for g in given if g not in known]
    if unknown:
        raise ValueError(f"`{what}`: unknown {what} {unknown}; known: {sorted(known)}")
    return given


def run(problems=None, methods=None, rtols=(1e-6, 1e-10), progress=False):
    """Run every method on every problem of a kind it handles, at every tolerance.

    Returns
    -------
    pandas.DataFrame
        Columns ``method, problem, kind, rtol, value, exact, error`` (achieved, relative),
        ``estimate`` (the method's own, relative), ``success``, ``honest``, ``nfev``, ``seconds``.
        ``honest`` is False only when the method claimed success and its achieved error exceeds both its
        estimate and the tolerance by more than rounding (a silent failure).
    """
    import pandas as pd

    _builtins()
    names = _names_iv(problems, _PROBLEMS, "problems")
    chosen = _names_iv(methods, _METHODS, "methods")
    rtols = [float(r) for r in np.atleast_1d(rtols)]
    if any(not 0 < r < 1 for r in rtols):
        raise ValueError(f"`rtols` must be in (0, 1), got {rtols}")
    jobs = [(m, n, r) for m in chosen for n in names for r in rtols if _PROBLEMS[n].kind in _METHODS[m][1]]
    bar = None
    if progress:
        try:
            from tqdm import tqdm
            bar = tqdm(total=len(jobs), desc="quadlib accuracy")
        except ImportError:
            bar = None
    rows = []
    for m, n, r in jobs:
        p, (func, _) = _PROBLEMS[n], _METHODS[m]
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
        honest = not success or error <= max(estimate, r) * 1.01 + 4e-16
        rows.append(dict(method=m, problem=n, kind=p.kind, rtol=r, value=value, exact=p.exact, error=error,
                         estimate=estimate, success=bool(success), honest=bool(honest), nfev=int(nfev),
                         seconds=seconds))
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return pd.DataFrame(rows)


def summarize(table):
    """Per method: problems run, successes, silent failures (dishonest), median nfev and total seconds."""
    return table.groupby("method").agg(runs=("problem", "size"), success=("success", "sum"),
                                       silent_failures=("honest", lambda h: int((~h).sum())),
                                       median_nfev=("nfev", "median"), seconds=("seconds", "sum"))


def plot(table, path):
    """Achieved error against nfev, one panel per problem kind (matplotlib, optional)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("`--plot` needs matplotlib: pip install 'quadlib[plot]'") from None
    kinds = sorted(table["kind"].unique())
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        part = table[table["kind"] == kind]
        for method, rows in part.groupby("method"):
            ax.loglog(rows["nfev"].clip(lower=1), rows["error"].clip(lower=1e-17), "o", ms=3, label=method)
        ax.set_title(kind)
        ax.set_xlabel("function evaluations")
        ax.set_ylabel("relative error")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
