"""The benchmark's harness: the registries of problems and methods, and :func:`run`.

This module owns the two registries (filled with the built-in problems and methods on first use, so that
importing the benchmark computes nothing), the registration functions, and the run itself: every method
on every problem it applies to at every tolerance, with the honesty verdict. The table it returns is a
pandas DataFrame; pandas, and tqdm for the progress bar, are imported only there.
"""
import time
import warnings

import numpy as np

from .._extras import require_extra
from ._problem import Problem

__all__ = ["get_problem", "methods", "problems", "register_method", "register_problem", "run"]

_PROBLEMS = {}
_METHODS = {}
_LOADED = []

COLUMNS = ["method", "problem", "kind", "rtol", "value", "exact", "error", "estimate", "success", "honest", "nfev",
           "seconds"]


def _builtins():
    """Register the built-in problems and methods, once (the exact values of the Genz and normal-weight
    problems take a few tenths of a second of mpmath)."""
    if _LOADED:
        return
    _LOADED.append(True)
    from ._genz import FAMILIES, genz_problem
    from ._methods import builtin_methods
    from ._problems import BATTERY, normal_problems

    for p in BATTERY:
        _PROBLEMS[p.name] = p
    for family in FAMILIES:
        for d in (2, 4):
            p = genz_problem(family, d, seed=0)
            _PROBLEMS[p.name] = p
    for p in normal_problems():
        _PROBLEMS[p.name] = p
    _METHODS.update(builtin_methods())


def register_problem(problem):
    """Add a :class:`Problem` (its name must be new).

    Raises
    ------
    TypeError
        If `problem` is not a :class:`Problem`.
    ValueError
        If a problem of that name is already registered (the built-ins included).
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"`problem` must be a quadlib.benchmark.Problem, got {type(problem).__name__}")
    _builtins()  # first, so that a user's problem cannot stand in for (or hide) the built-ins
    if problem.name in _PROBLEMS:
        raise ValueError(f"`problem`: a problem named {problem.name!r} is already registered")
    _PROBLEMS[problem.name] = problem


def register_method(name, func, kinds=("1d",), applies=None):
    """Add a method: ``func(problem, rtol) -> (value, error_estimate, nfev, success)``, for the problem
    kinds in `kinds` and, if `applies` is given, only the problems for which ``applies(problem)`` is true
    (e.g. finite intervals). Other problems are skipped, not counted as failures. An error estimate may be
    NaN when the method has none.

    Raises
    ------
    TypeError
        If `name` is not a string, `func` is not callable or `applies` is neither callable nor None.
    ValueError
        If `kinds` names an unknown kind, or a method of that name is already registered.
    """
    from ._problem import KINDS

    if not isinstance(name, str) or not name:
        raise TypeError(f"`name` must be a non-empty string, got {name!r}")
    if not callable(func):
        raise TypeError("`func` must be callable")
    if applies is not None and not callable(applies):
        raise TypeError("`applies` must be callable or None")
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"`kinds` must be among {KINDS}, got {unknown}")
    _builtins()
    if name in _METHODS:
        raise ValueError(f"`name`: a method named {name!r} is already registered")
    _METHODS[name] = (func, kinds, applies)


def problems():
    """Names of the registered problems."""
    _builtins()
    return list(_PROBLEMS)


def methods():
    """Names of the registered methods whose libraries are installed."""
    _builtins()
    return list(_METHODS)


def get_problem(name):
    """The registered :class:`Problem` called `name`.

    Examples
    --------
    >>> from quadlib import benchmark
    >>> benchmark.get_problem("bjl02")
    Problem(name='bjl02', kind='1d', a=0.0, b=1.0, exact=0.210657251225807)
    """
    _builtins()
    try:
        return _PROBLEMS[name]
    except (KeyError, TypeError):
        raise ValueError(f"`name` must be the name of a registered problem (see problems()), got {name!r}") from None


def _applies(method, problem):
    _, kinds, applies = _METHODS[method]
    return problem.kind in kinds and (applies is None or bool(applies(problem)))


def _names_iv(given, known, what):
    if given is None:
        return list(known)
    given = [given] if isinstance(given, str) else list(given)
    unknown = [g for g in given if g not in known]
    if unknown:
        raise ValueError(f"`{what}`: unknown {what} {unknown}; known: {sorted(known)}")
    return given


def _progress_bar(total):
    """tqdm's bar when tqdm is installed (``quadlib[bench]``), else None: the run goes on without one."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="quadlib accuracy")


def run(problems=None, methods=None, rtols=(1e-6, 1e-10), progress=False):
    """Run every method on every problem it applies to, at every tolerance.

    A method applies to the problems of the kinds it was registered for that pass its ``applies``
    predicate (e.g. the doubling Gauss–Legendre rule needs a finite interval); it is not run on the
    others, which are neither successes nor failures.

    Parameters
    ----------
    problems, methods : str or list of str, optional
        Names (default: all registered).
    rtols : float or sequence of float
        Relative tolerances, each in (0, 1).
    progress : bool
        Show a progress bar (needs tqdm; without it the run goes on without a bar).

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

    Raises
    ------
    ImportError
        Without pandas: ``pip install 'quadlib[bench]'``.
    ValueError
        An unknown problem or method, or a tolerance outside (0, 1).
    """
    require_extra("bench", "quadlib.benchmark.run")
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
    bar = _progress_bar(len(jobs)) if progress else None
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
    table = pd.DataFrame(rows, columns=COLUMNS)
    table.attrs["skipped"] = skipped
    return table
