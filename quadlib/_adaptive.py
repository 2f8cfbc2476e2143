"""`quad`: adaptive Gauss–Kronrod integration on finite and infinite intervals that reports when it fails.

The subdivision loop (QUADPACK's QAGS/QAGI: bisect the interval with the largest error, Wynn's epsilon
extrapolation for endpoint singularities) is compiled in ``_extensions/_adaptive.pyx`` and runs by reverse
communication; this module validates the arguments, splits the range at breakpoints and infinities,
evaluates the integrand (point by point, in batches, or through a C function pointer), and wraps the
outcome in an :class:`IntegrationResult`.

References
----------
R. Piessens, E. de Doncker-Kapenga, C. W. Überhuber and D. K. Kahaner, "QUADPACK", Springer (1983).
P. Wynn, "On a device for computing the e_m(S_n) transformation", Math. Tables Aids Comput. 10 (1956).
J. Berntsen and T. O. Espelid, "Error estimation in automatic quadrature routines", ACM TOMS 17 (1991).
"""
import ctypes
import functools
import math
import warnings
from fractions import Fraction

import numpy as np
from scipy import LowLevelCallable

from . import _validation as v
from ._extensions import _adaptive as _kernel
from ._extensions._adaptive import Batch
from ._gauss import gauss_kronrod
from ._integrand import Integrand
from ._result import IntegrationResult, IntegrationWarning, warn_unsuccessful

__all__ = ["quad", "quad_vec"]

RULES = {"gk15": 7, "gk21": 10, "gk31": 15, "gk41": 20, "gk51": 25, "gk61": 30}
MESSAGES = {
    0: "converged",
    1: "max_subdivisions reached before the tolerance was met",
    2: "roundoff error prevents reaching the requested tolerance",
    3: "extremely bad integrand behaviour: an interval shrank to the rounding level (non-integrable "
       "singularity or discontinuity?)",
    4: "the extrapolation table does not converge",
    5: "the integral is probably divergent or converges too slowly",
    6: "max_nfev reached before the tolerance was met",
    7: "the integrand returned inf or NaN",
    8: "out of memory for the subdivision",
    9: "overflow: the integrand's values are finite, but the integral or its error estimate is not "
       "(their weighted sum overflowed); rescale the integrand",
}
# Failures that, over an infinite range, mean the tail does not settle: the integral diverges, or
# converges too slowly to be computed (QUADPACK's own divergence test is status 5).
_TAIL_FAILURES = (1, 3, 4, 5)
_DIVERGENT = ("the integral appears divergent (or converges too slowly): the integration over the infinite "
              "range did not settle ({})")
MAX_SUBDIVISIONS = 10 ** 6  # intervals kept per piece: about 60 MB for a real scalar integrand
_LOWLEVEL_KINDS = {"double (double)": 0, "double (double, void *)": 1, "double (int, double *)": 2}


@functools.lru_cache(maxsize=None)
def _kronrod_arrays(name):
    """(nodes, Kronrod weights, Gauss weights, null rule 2, null rule 3) of a rule, as the kernel takes them."""
    rule = gauss_kronrod(RULES[name])
    nodes, wk, wg = rule.nodes.copy(), rule.weights.copy(), rule.embedded_weights.copy()
    return (nodes, wk, wg, *_null_rules(nodes, wk - wg))


def _null_rules(nodes, difference):
    """Two symmetric null rules on the 2n + 1 Kronrod nodes, the kernel's second opinion on |K - G|.

    A null rule gives 0 for every polynomial up to its degree; ``difference`` (K - G) is one of degree
    2n - 1. The two returned have degrees 2n - 3 and 2n - 5, are orthogonal to ``difference`` and to each
    other, and have its Euclidean norm, so that on a resolved integrand they exceed it by the factor by which
    its Legendre coefficients fall (Berntsen and Espelid, 1991). They are symmetric, as K and G are: the
    odd part of the integrand about the panel's centre is integrated exactly and is no error.
    """
    nodes = np.asarray(nodes, dtype=float)
    n = (nodes.size - 1) // 2
    # symmetric weights: one value per node x >= 0, shared with its mirror image -x
    mirror = np.argmin(np.abs(nodes[:, None] + nodes[None, :]), axis=1)
    halves = np.flatnonzero(nodes >= 0)
    basis = np.zeros((halves.size, nodes.size))
    basis[np.arange(halves.size), halves] = 1.0
    basis[np.arange(halves.size), mirror[halves]] = 1.0
    found = [np.asarray(difference, dtype=float)]
    for degree in (2 * n - 3, 2 * n - 5):
        moments = np.polynomial.legendre.legvander(nodes, degree).T @ basis.T
        _, singular, vt = np.linalg.svd(moments)
        rank = int(np.sum(singular > 1e-12 * singular[0]))
        space = vt[rank:] @ basis  # the symmetric null rules of this degree
        for rule in found:  # Gram-Schmidt against the rules found so far
            space = space - np.outer(space @ rule, rule) / (rule @ rule)
        new = space[np.argmax(np.linalg.norm(space, axis=1))]
        found.append(new * (np.linalg.norm(found[0]) / np.linalg.norm(new)))
    return np.ascontiguousarray(found[1]), np.ascontiguousarray(found[2])


for _name in RULES:
    _kernel.set_rule(_name, *_kronrod_arrays(_name))


def _pieces(a, b, points):
    """Split [a, b] (a < b, either may be infinite) at the breakpoints into pieces of one mapping each.

    Returns a list of (mapping, shift, cuts): mapping 0 has cuts in x; mappings 1 and 2 integrate over t
    in (0, 1] and their cuts are in t. The real line is cut at 0 so that each half must converge on its
    own (QUADPACK's folded f(x) + f(-x) cancels a divergent odd integrand to zero).
    """
    inner = sorted({p for p in points if a < p < b})
    if np.isfinite(a) and np.isfinite(b):
        return [(0, 0.0, [a, *inner, b])]
    finite_cuts = ([a] if np.isfinite(a) else []) + inner + ([b] if np.isfinite(b) else [])
    if not finite_cuts:
        return [(2, 0.0, [0.0, 1.0]), (1, 0.0, [0.0, 1.0])]
    pieces = []
    if not np.isfinite(a):
        pieces.append((2, finite_cuts[0], [0.0, 1.0]))
    if len(finite_cuts) > 1:
        pieces.append((0, 0.0, finite_cuts))
    if not np.isfinite(b):
        pieces.append((1, finite_cuts[-1], [0.0, 1.0]))
    return pieces


def _limits(a, b):
    """Scalar floats when both limits are real scalars, else float arrays (a batched call)."""
    if type(a) in (float, int) and type(b) in (float, int):
        a_arr, b_arr = float(a), float(b)
        if a_arr != a_arr:
            raise ValueError("`a` must not be NaN")
        if b_arr != b_arr:
            raise ValueError("`b` must not be NaN")
        return a_arr, b_arr
    a_arr, b_arr = v.real_array(a, "a"), v.real_array(b, "b")
    if a_arr.ndim == 0 and b_arr.ndim == 0:
        return float(a_arr), float(b_arr)
    return a_arr, b_arr


def _quad_iv(f, a, b, args, atol, rtol, points, rule, vectorized, max_nfev, max_subdivisions):
    lowlevel = _lowlevel(f)
    if lowlevel is None and not callable(f):
        v.callable_(f, "f")
    args = v.args_tuple(args)
    # an infinite tolerance accepts the first estimate, as the compiled dispatch (quick_quad) does
    atol, rtol = v.tolerances(atol, rtol, finite=False)
    if rule is not None:
        v.choice(rule, tuple(RULES), "rule")
    max_nfev = v.max_nfev(max_nfev)
    max_subdivisions = v.positive_int(max_subdivisions, "max_subdivisions", maximum=MAX_SUBDIVISIONS)
    a, b = _limits(a, b)
    if points is not None:
        points = np.atleast_1d(np.asarray(points, dtype=float))
        if points.ndim != 1 or not np.all(np.isfinite(points)):
            raise ValueError("`points` must be a 1-D sequence of finite breakpoints")
        points = tuple(points.tolist())
    else:
        points = ()
    return lowlevel, args, atol, rtol, a, b, points, rule, bool(vectorized), max_nfev, max_subdivisions


def _lowlevel(f):
    """(function pointer, user_data pointer, kind) for a scipy.LowLevelCallable, else None."""
    if not isinstance(f, LowLevelCallable):
        return None
    capsule = tuple.__getitem__(f, 0)
    cached = _CAPSULES.get(id(capsule))
    if cached is None or cached[0] is not capsule:
        if len(_CAPSULES) > 64:
            _CAPSULES.clear()
        cached = _CAPSULES[id(capsule)] = (capsule, _capsule_pointers(capsule, f.signature))
    return cached[1]


_CAPSULES = {}  # id -> (capsule, pointers); holding the capsule keeps the id from being reused


def _capsule_pointers(capsule, signature):
    kind = _LOWLEVEL_KINDS.get(signature)
    if kind is None:
        raise ValueError(f"`f`: unsupported LowLevelCallable signature {signature!r}; "
                         f"use one of {sorted(_LOWLEVEL_KINDS)}")
    # a LowLevelCallable is a tuple (capsule of the function pointer, the original object, user data)
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    name = ctypes.pythonapi.PyCapsule_GetName
    name.restype, name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    function = get(capsule, name(capsule))
    context = ctypes.pythonapi.PyCapsule_GetContext
    context.restype, context.argtypes = ctypes.c_void_p, [ctypes.py_object]
    user_data = context(capsule) or 0
    return function, user_data, kind


def _layout(pieces_per_integral):
    """Arrays (cuts, n_cuts, mapping, shift) for Batch, one row per piece."""
    rows = [piece for pieces in pieces_per_integral for piece in pieces]
    width = max(len(cuts) for _, _, cuts in rows)
    cuts = np.zeros((len(rows), width))
    for i, (_, _, c) in enumerate(rows):
        cuts[i, :len(c)] = c
    n_cuts = np.array([len(c) for _, _, c in rows], dtype=np.intc)
    mapping = np.array([mp for mp, _, _ in rows], dtype=np.intc)
    shift = np.array([s for _, s, _ in rows], dtype=float)
    return cuts, n_cuts, mapping, shift


def _make_batch(layout, m, atol, rtol, limit, max_nfev, rule_name, infinite_rule):
    name = rule_name or ("gk15" if infinite_rule else "gk21")
    return Batch(*layout, m, atol, rtol, limit, max_nfev, *_kronrod_arrays(name))


def _note(exc):
    if hasattr(exc, "add_note"):
        exc.add_note("(raised by the integrand passed to quadlib.quad)")


def _not_real(exc):
    """A TypeError naming `f` for the kernel's conversion of a value that is not a real number (a str, None,
    ...), else None (the integrand's own exception goes through as it is)."""
    text = str(exc)
    if isinstance(exc, TypeError) and text.startswith(("must be real number", "float() argument must be")):
        got = text.rsplit("not ", 1)[-1].strip("'")
        return TypeError(f"`f` must return a real number at each abscissa (with vectorized=True an array of "
                         f"shape (N,) for N abscissae), got a value of type {got}")
    return None


def quad(f, a, b, *, args=(), atol=0.0, rtol=1e-10, points=None, rule=None, vectorized=False,
         max_nfev=100_000, max_subdivisions=200, weight=None, wvar=None, shared=False):
    """Adaptive integration of ``f`` from `a` to `b`, honest about failure.

    Globally adaptive Gauss–Kronrod quadrature: the interval with the largest error estimate is bisected
    until the sum of the estimates is below ``max(atol, rtol * |integral|)``; Wynn's epsilon algorithm
    extrapolates the sequence of sums, which handles integrable endpoint singularities. Infinite limits are
    mapped onto (0, 1] by ``x = a + (1 - t) / t``; the real line is integrated as its two halves,
    (-inf, 0] and [0, inf), each of which must converge (folding them into ``f(x) + f(-x)``, as QUADPACK
    does, cancels a divergent odd integrand such as ``x`` to a "converged" 0). When the tolerance is not
    met, the result says so (``success=False``, a status code and a message) and an
    :class:`IntegrationWarning` is raised; over an infinite range the message says when the integral
    appears divergent. The error estimate is QUADPACK's, checked where singular integrands fool it: two more
    null rules per panel, each half of a bisection held to its share of the change the bisection made, and
    Wynn's extrapolation accepted only on regularly converging sums (see ``docs/adaptive.rst``).

    Parameters
    ----------
    f : callable or scipy.LowLevelCallable
        ``f(x, *args)``. Returns a float, a complex, or an array of shape (m,) (vector-valued
        integrands share one subdivision). With ``vectorized=True`` it takes an array of abscissae of
        shape (N,) and returns shape (N,) or (N, m); it is then called once per batch of intervals.
        A LowLevelCallable with signature ``double (double)``, ``double (double, void *)`` or
        ``double (int, double *)`` runs the whole integration without the GIL.
    a, b : float or array_like
        Limits; may be infinite. Arrays (broadcast together with array-valued `args`) request many
        integrals at once; each keeps its own subdivision, and converged ones drop out.
    args : tuple
        Extra arguments to `f`; with array limits, arrays broadcast against them.
    atol, rtol : float
        Absolute and relative tolerance (not both zero). On the real line each half is held to
        ``max(atol / 2, rtol * |its integral|)``; with breakpoints on an infinite range, each piece to
        ``max(atol, rtol * |its integral|)``.
    points : sequence of float, optional
        Breakpoints where the integrand is not smooth (scalar limits only). Those outside the range of
        integration are ignored, as by scipy (also with "cauchy").
    rule : {"gk15", "gk21", "gk31", "gk41", "gk51", "gk61"}, optional
        Gauss–Kronrod pair; default GK21 on finite pieces and GK15 on infinite ones, as QUADPACK.
    vectorized : bool
        Whether `f` takes arrays.
    max_nfev, max_subdivisions : int
        Bounds on the work per integral (per piece, for the subdivisions; the halves of the real line
        share `max_nfev` equally): ``max_nfev <= 10**9`` and ``max_subdivisions <= 10**6`` (about 60 MB
        of intervals), else a ValueError. A batch holds at most ``10**7`` integrals (a ValueError,
        checked before anything is allocated).
    weight : {"cos", "sin", "cauchy", "alg", "alg-loga", "alg-logb", "alg-log"}, optional
        Integrate ``f(x) * w(x)`` by QUADPACK's weighted routines, with scipy's names and meanings:

        - ``"cos"``, ``"sin"``: w = cos(omega x), sin(omega x). On a finite range QAWO (Gauss–Kronrod 15
          where omega times the half-length is at most 2; elsewhere 25-point Chebyshev interpolation of `f`
          with modified moments of the oscillation, cached per bisection level, at most `max_subdivisions`
          levels of 25 complex moments). On [a, inf) (or (-inf, b], reflected) QAWF: the integrals over
          cycles of length (2 floor(abs(omega)) + 1) pi / abs(omega), each by QAWO, extrapolated by Wynn's epsilon
          algorithm; at most 50 cycles. ``atol=0`` is allowed (scipy requires an absolute tolerance): the
          tolerance is then relative to the running extrapolated value. omega = 0 is not an error: "cos"
          integrates `f` unweighted (``extra["method"] = "QAGS"``) and "sin" returns 0 at no cost
          (``"zero"``). A negative omega is abs(omega) (with the sign of sin).
        - ``"cauchy"``: the principal value of f(x) / (x - c), QAWC (modified Chebyshev moments on the
          interval holding c). A pole within 1e-3 (b - a) of an end is subtracted analytically:
          PV = int (f(x) - f(c)) / (x - c) dx + f(c) log((b - c) / (c - a)) (one more evaluation, f(c)).
        - ``"alg"``, ``"alg-loga"``, ``"alg-logb"``, ``"alg-log"``: w = (x - a)^alpha (b - x)^beta times
          1, log(x - a), log(b - x), log(x - a) log(b - x); QAWS (modified Jacobi moments on the two end
          intervals, Gauss–Kronrod 15 inside). `f` is never evaluated at an end. With ``a > b`` the
          result is minus the integral over [b, a], the weight's ends taken in the ordered range
          (``(x - b)^alpha (a - x)^beta``), as in scipy.

        Batches (array `a`, `b`, `args` or `wvar`) run every integral on one engine, one call of a
        vectorized `f` per round; at most ``10**7`` integrals (checked before any work), as for every
        batch of :func:`quad`. The integrand must be real-valued: a number per abscissa, or with
        ``vectorized=True`` an array (or a sequence numpy converts) of shape (N,) for N abscissae; (N, 1)
        is read as (N,), as by plain quad; anything else is a TypeError or ValueError naming `f`.
        Not combinable with `rule` or `shared`, nor with `points` except for "cauchy".
    wvar : float, array_like or pair
        omega for "cos"/"sin" (an array for a batch), the pole c for "cauchy" (strictly between `a` and
        `b`), (alpha, beta) for the "alg" weights (both > -1; shape (..., 2) for a batch). Numbers only: a
        str or a bool is a TypeError.
    shared : bool
        With array `args` (scalar limits): integrate the whole batch as one vector-valued integrand on a
        single shared subdivision (scipy's ``quad_vec``; the error test is on the largest component error
        against ``max(atol, rtol * max |integral|)``). `f` is called as ``f(x, *args)`` with `x` a float
        and the array `args`, or, vectorized, with `x` of shape (1, 1) against `args` of shape (1, m): one
        call per abscissa for the whole batch, as scipy's ``quad_vec``; it must return one value per
        integral, shape (m,) (or (1, m) vectorized), else a ValueError naming `f`. A LowLevelCallable is a
        TypeError here (it computes one integral at a time). At most ``10**7`` integrals, with
        ``m * max(42 * (len(points) + 2), max_subdivisions) <= 10**8`` (the buffers, 0.8 GB), checked
        before `f` is called. With ``a == b`` the integrals are zeros; a `max_nfev` below one panel is
        status 6 (zeros, an error of the largest float, ``success=False``).

    Returns
    -------
    IntegrationResult
        ``integral``, ``error``, ``nfev``, ``status``, ``success``, ``message`` and ``n_subdivisions``
        (arrays of the broadcast shape for batched calls). Status: 0 converged, 1 max_subdivisions,
        2 roundoff, 3 bad integrand behaviour, 4 extrapolation does not converge, 5 probably divergent,
        6 max_nfev, 7 inf or NaN from the integrand, 8 out of memory, 9 overflow (finite values whose
        weighted sum, integral or error estimate is not finite). A non-finite integral or error estimate
        is never a success. With `weight`, ``extra["method"]`` names the routine that ran: "QAWO",
        "QAWF", "QAWC", "QAWS", "QAGS" (omega = 0, or only Gauss–Kronrod panels were needed) or "zero".

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> res = quadlib.quad(np.log, 0.0, 1.0)
    >>> round(float(res.integral), 12), res.success
    (-1.0, True)
    >>> res = quadlib.quad(lambda x: np.exp(-x * x), -np.inf, np.inf)
    >>> bool(abs(res.integral - np.sqrt(np.pi)) < 1e-12)
    True
    >>> res = quadlib.quad(lambda x, k: np.exp(-k * x), 0.0, 1.0, args=(np.array([1.0, 2.0]),), vectorized=True)
    >>> [round(float(v), 12) for v in res.integral]  # (1 - exp(-k)) / k
    [0.632120558829, 0.432332358382]
    >>> res = quadlib.quad(lambda x: np.exp(-x), 0.0, 1.0, weight="cos", wvar=1e6)  # 25 evaluations
    >>> bool(abs(res.integral - (-1.2875475860413e-07)) < 1e-17), res.nfev, res.extra["method"]
    (True, 25, 'QAWO')
    >>> res = quadlib.quad(lambda x: 1 / (1 + x * x), 0.0, np.inf, weight="cos", wvar=1.0)  # (pi / 2) e^-1
    >>> bool(abs(res.integral - np.pi / 2 / np.e) < 1e-10), res.extra["method"]
    (True, 'QAWF')
    >>> res = quadlib.quad(lambda x: 1.0, -1.0, 1.0, weight="cauchy", wvar=0.5)  # PV: log(1/3)
    >>> round(float(res.integral), 12)
    -1.098612288668

    References
    ----------
    R. Piessens et al., "QUADPACK", Springer (1983), routines QAGS and QAGI; QAWO, QAWF, QAWC and QAWS
    (DQAWOE/DQC25F, DQAWFE, DQAWCE/DQC25C, DQAWSE/DQC25S).
    R. Piessens and M. Branders, "On the computation of Fourier transforms of singular functions",
    J. Comput. Appl. Math. 1 (1975) (the modified moments).
    J. Berntsen and T. O. Espelid, "Error estimation in automatic quadrature routines", ACM TOMS 17 (1991).
    """
    if weight is not None or wvar is not None or shared:
        if weight is not None or wvar is not None:
            if not shared and _WEIGHTED_ENGINE is None:
                try:
                    out = _kernel.quick_weighted(f, a, b, args, atol, rtol, points, rule, vectorized, max_nfev,
                                                 max_subdivisions, weight, wvar)
                except Exception as exc:
                    clear = _not_real(exc)
                    if clear is not None:
                        raise clear from exc
                    _note(exc)
                    raise
                if out is not None:
                    return _weighted_fast_result(out, weight, b)
            if weight is None:
                raise ValueError("`wvar` is given without `weight`")
            try:
                return _quad_weighted(f, a, b, args, atol, rtol, points, rule, vectorized, max_nfev,
                                      max_subdivisions, weight, wvar, shared)
            except TypeError as exc:
                clear = _not_real(exc)
                if clear is not None:
                    raise clear from exc
                raise
        if shared is not True:
            raise TypeError(f"`shared` must be True or False, got {shared!r}")
        return _quad_shared(f, a, b, args, atol, rtol, points, rule, vectorized, max_nfev, max_subdivisions)
    try:
        out = _kernel.quick_quad(f, a, b, args, atol, rtol, points, rule, vectorized, max_nfev, max_subdivisions)
    except Exception as exc:
        _note(exc)
        raise
    if out is not None:
        if out[4] == 0 and out[5] == 0:  # converged, and no second look due
            return IntegrationResult._fast(out[0], out[1], out[2], 0, True, "converged", {"n_subdivisions": out[3]})
        return _scalar_result(out, f, _lowlevel(f), float(a), float(b), args, atol, rtol, vectorized, max_nfev,
                              max_subdivisions)
    (lowlevel, args, atol, rtol, a, b, points, rule, vectorized, max_nfev,
     max_subdivisions) = _quad_iv(f, a, b, args, atol, rtol, points, rule, vectorized, max_nfev, max_subdivisions)
    if isinstance(a, float) and isinstance(b, float) and (not args or all(np.ndim(arg) == 0 for arg in args)):
        return warn_unsuccessful(_quad_one(f, lowlevel, a, b, args, atol, rtol, points, rule, vectorized, max_nfev,
                                           max_subdivisions))
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    array_args = [np.asarray(arg) for arg in args]
    if points:
        raise ValueError("`points` is supported with scalar limits only")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape, *(arg.shape for arg in array_args))
    except ValueError:
        raise ValueError("`a`, `b` and the array `args` must broadcast together, got shapes "
                         f"{a.shape}, {b.shape}, {[arg.shape for arg in array_args]}") from None
    _check_batch_size(shape, "`a`, `b` and `args`")
    result = _quad_batch(f, lowlevel, np.broadcast_to(a, shape).ravel(), np.broadcast_to(b, shape).ravel(),
                         [np.broadcast_to(arg, shape).ravel() for arg in array_args], atol, rtol, rule,
                         vectorized, max_nfev, max_subdivisions, shape)
    return warn_unsuccessful(result)


def _message(status, value, error, infinite=False):
    if status == 2 and np.all(np.abs(value) <= error):
        return MESSAGES[2] + "; the integral is zero to within rounding, so only `atol` can be met"
    if infinite and status in _TAIL_FAILURES:
        return _DIVERGENT.format(MESSAGES[status])
    if infinite and status == 9:
        return MESSAGES[9] + "; over an infinite range a divergent integral can overflow this way too"
    return MESSAGES[status]


def _infinite(a, b):
    return not (np.isfinite(a) and np.isfinite(b))


def _scalar_result(out, f, lowlevel, a, b, args, atol, rtol, vectorized, max_nfev, max_subdivisions, rule=None):
    """The IntegrationResult of one compiled scalar run, with its second look and warning if due."""
    value, error, nfev, nsub, status, spacing = out
    if status == 0 and spacing == 0:
        return IntegrationResult._fast(value, error, nfev, 0, True, "converged", {"n_subdivisions": nsub})
    result = IntegrationResult._fast(value, error, nfev, status, status == 0,
                                     _message(status, value, error, _infinite(a, b)), {"n_subdivisions": nsub})
    if spacing > 0:
        result = _second_look(result, spacing, f, lowlevel, a, b, args, atol, rtol, (), rule, vectorized, max_nfev,
                              max_subdivisions)
    return warn_unsuccessful(result, stacklevel=4)


def _orient(a, b):
    return (a, b, 1.0) if a <= b else (b, a, -1.0)


def _quad_one(f, lowlevel, a, b, args, atol, rtol, points, rule, vectorized, max_nfev, max_subdivisions):
    if a == b:
        return IntegrationResult(0.0, 0.0, 0, extra={"n_subdivisions": 0})
    first, spacing = _quad_pass(f, lowlevel, a, b, args, atol, rtol, points, rule, vectorized, max_nfev,
                                max_subdivisions)
    if not spacing > 0:
        return first
    return _second_look(first, spacing, f, lowlevel, a, b, args, atol, rtol, points, rule, vectorized, max_nfev,
                        max_subdivisions)


def _second_look(first, spacing, f, lowlevel, a, b, args, atol, rtol, points, rule, vectorized, max_nfev,
                 max_subdivisions):
    """Integrate again over a uniform partition no coarser than `spacing` (see probe_spacing in the
    kernel): a converged run that found a narrow interior feature may have stepped over others like it.
    The second run, which sampled everything at least that finely, is the answer; both runs count."""
    lo, hi = min(a, b), max(a, b)
    pieces = int(np.ceil((hi - lo) / spacing))
    grid = lo + (hi - lo) * np.arange(1, pieces) / pieces
    budget = max_nfev - first.nfev
    per_piece = 2 * RULES[rule or "gk21"] + 1
    if budget < (pieces + len(points)) * per_piece:
        return IntegrationResult._fast(
            first.integral, first.error, first.nfev, 6, False,
            "a narrow interior feature was found; a second look at the whole range for others like it "
            f"({pieces} pieces) does not fit in max_nfev", {"n_subdivisions": first.n_subdivisions})
    second, _ = _quad_pass(f, lowlevel, a, b, args, atol, rtol, tuple(grid) + tuple(points), rule, vectorized,
                           budget, max_subdivisions + pieces)
    extra = {"n_subdivisions": second.n_subdivisions, "first_look": first.integral, "second_look_pieces": pieces}
    return IntegrationResult._fast(second.integral, second.error, first.nfev + second.nfev, second.status,
                                   second.success, second.message, extra)


def _quad_pass(f, lowlevel, a, b, args, atol, rtol, points, rule, vectorized, max_nfev, max_subdivisions):
    """One run of the adaptive algorithm: (result, spacing for a second look or 0)."""
    if not points:
        # one real scalar integral over one piece, in one compiled call
        try:
            out = _kernel.integrate_scalar(f, lowlevel, a, b, args, atol, rtol, max_subdivisions, max_nfev,
                                           vectorized, rule)
        except Exception as exc:
            _note(exc)
            raise
        if out is not None:
            value, error, nfev, nsub, status, spacing = out
            return IntegrationResult._fast(value, error, nfev, status, status == 0,
                                           _message(status, value, error, _infinite(a, b)),
                                           {"n_subdivisions": nsub}), spacing
    lo, hi, sign = _orient(a, b)
    pieces = _pieces(lo, hi, points)
    infinite = any(mp for mp, _, _ in pieces)
    if not points and lo == -np.inf and hi == np.inf:
        # the two halves of the real line share the budget and `atol`, as in the compiled path
        max_nfev //= 2
        atol *= 0.5
    layout = _layout([pieces])
    batch = _make_batch(layout, 1, atol, rtol, max_subdivisions, max_nfev, rule, infinite)
    if lowlevel is not None:
        function, user_data, kind = lowlevel
        extra = np.asarray(args, dtype=float).ravel() if kind == 2 else np.zeros(0)
        if kind != 2 and args:
            raise ValueError("`args` can only be passed to a LowLevelCallable of signature double (int, double *)")
        batch.run_lowlevel(function, user_data, kind, extra)
        return _summarize(batch, sign, False, 1, infinite)
    try:
        code = batch.run_vectorized(f, args) if vectorized else batch.run_scalar(f, args)
    except Exception as exc:
        _note(exc)
        raise
    if code == 0:
        return _summarize(batch, sign, False, 1, infinite)
    # complex or vector-valued: learn the number of real components from the first request
    integrand = Integrand(f, args, vectorized=vectorized, value_ndim=1, caller="quadlib.quad")
    x, _ = batch.request()
    first = integrand.real_columns(integrand(x))
    m = first.shape[1]
    batch = _make_batch(layout, m, atol, rtol, max_subdivisions, max_nfev, rule, infinite)
    batch.receive(first)
    if not integrand.is_complex:
        # real vector values straight into one buffer allocated once: with m = 10^4 components a points x m
        # array per request costs more (fresh memory) than the integration (quad_vec's case)
        try:
            batch.run_components(f, args, vectorized)
        except Exception as exc:
            _note(exc)
            raise
        return _summarize(batch, sign, False, m, infinite)
    while True:
        x, _ = batch.request()
        if not x.size:
            break
        batch.receive(integrand.real_columns(integrand(x)))
    return _summarize(batch, sign, integrand.is_complex, m, infinite)


def _batch_values(integrand, x, counts, args):
    """f at the abscissae `x` of a batch's request, each integral's point with its own `args` (counts[i] points
    belong to integral i), as the (points, real components) array the kernel receives."""
    return integrand.real_columns(integrand(x, tuple(np.repeat(arg, counts) for arg in args)))


def _quad_batch(f, lowlevel, a, b, args, atol, rtol, rule, vectorized, max_nfev, max_subdivisions, shape):
    count = a.size
    if lowlevel is not None or not vectorized:
        results = []
        for i in range(count):
            one_args = tuple(arg[i] for arg in args)
            results.append(_quad_one(f, lowlevel, float(a[i]), float(b[i]), one_args, atol, rtol, (), rule,
                                     vectorized, max_nfev, max_subdivisions))
        return _stack(results, shape, ~(np.isfinite(a) & np.isfinite(b)))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    sign = np.where(a <= b, 1.0, -1.0)
    empty = lo == hi
    # one piece per integral (x-cuts [lo, hi] on finite ranges, t-cuts [0, 1] on infinite ones), but two
    # for the real line, cut at 0: each half must converge (see _pieces)
    mapping = np.select([np.isfinite(lo) & np.isfinite(hi), np.isfinite(lo), np.isfinite(hi)], [0, 1, 2], 3)
    mapping = np.where(empty, -1, mapping)
    line = np.flatnonzero(mapping == 3)
    owner = np.concatenate([np.flatnonzero((mapping >= 0) & (mapping < 3)), line, line])
    row_mapping = np.concatenate([mapping[owner[:owner.size - 2 * line.size]], np.full(line.size, 2),
                                  np.full(line.size, 1)]).astype(np.intc)
    row_shift = np.where(row_mapping == 1, lo[owner], np.where(row_mapping == 2, hi[owner], 0.0))
    row_shift[owner.size - 2 * line.size:] = 0.0
    row_cuts = np.where((row_mapping == 0)[:, None], np.stack([lo[owner], hi[owner]], axis=1), [0.0, 1.0])
    # the halves of the real line share their integral's budget
    row_budget = np.where(np.arange(owner.size) >= owner.size - 2 * line.size, max_nfev // 2, max_nfev)
    infinite = mapping > 0
    integrand = Integrand(f, vectorized=True, value_ndim=1, caller="quadlib.quad")
    m = 1  # real components per point (2 per complex value), known after the first request
    integral, error = np.zeros((count, 1)), np.zeros(count)
    nfev = np.zeros(count, dtype=np.int64)
    nsub = np.zeros(count, dtype=np.int64)
    worst = np.zeros(count, dtype=np.int64)  # the worst status of an integral's pieces, as a sort key
    # finite and infinite ranges use different default rules, and Batch takes one budget: run the groups
    # of rows alike in both separately
    for group in (np.flatnonzero(row_mapping == 0), np.flatnonzero((row_mapping != 0) & (row_budget == max_nfev)),
                  np.flatnonzero(row_budget != max_nfev)):
        if not group.size:
            continue
        layout = (np.ascontiguousarray(row_cuts[group]), np.full(group.size, 2, dtype=np.intc),
                  np.ascontiguousarray(row_mapping[group]), np.ascontiguousarray(row_shift[group]))
        group_args = [arg[owner[group]] for arg in args]
        budget = int(row_budget[group[0]])
        group_atol = atol if budget == max_nfev else 0.5 * atol  # the halves of a real line share it
        infinite_rule = bool(row_mapping[group[0]])
        batch = _make_batch(layout, m, group_atol, rtol, max_subdivisions, budget, rule, infinite_rule)
        x, counts = batch.request()
        first = _batch_values(integrand, x, counts, group_args)
        if first.shape[1] != m:
            m = first.shape[1]
            batch = _make_batch(layout, m, group_atol, rtol, max_subdivisions, budget, rule, infinite_rule)
        batch.receive(first)
        while True:
            x, counts = batch.request()
            if not x.size:
                break
            batch.receive(_batch_values(integrand, x, counts, group_args))
        g_integral, g_error, g_nfev, g_nsub, g_status, g_spacing = batch.results()
        if integral.shape[1] != m:
            integral = np.zeros((count, m))
        rows = owner[group]
        np.add.at(integral, rows, g_integral)
        np.add.at(error, rows, g_error)
        np.add.at(nfev, rows, g_nfev)
        np.add.at(nsub, rows, g_nsub)
        np.maximum.at(worst, rows, np.where(g_status != 0, g_status + 100, 0))
        for i in rows[g_spacing > 0]:  # rare (finite ranges only): redo these one by one, with their second look
            one = _quad_one(f, None, float(lo[i]), float(hi[i]), tuple(arg[i] for arg in args), atol, rtol, (),
                            rule, True, max_nfev, max_subdivisions)
            value = np.atleast_1d(one.integral)
            integral[i] = np.stack([value.real, value.imag], axis=-1).ravel() if integrand.is_complex else value
            error[i], nfev[i], nsub[i] = one.error, one.nfev, one.n_subdivisions
            worst[i] = one.status + 100 if one.status else 0
    status = np.where(worst > 0, worst - 100, 0)
    values = _components(integral * sign[:, None], integrand.is_complex, integral.shape[1])
    values = values.reshape(shape + values.shape[1:])
    success = status == 0
    return IntegrationResult(values, error.reshape(shape), nfev.reshape(shape), status.reshape(shape),
                             success.reshape(shape), _batch_message(status, infinite),
                             extra={"n_subdivisions": nsub.reshape(shape)})


def _components(integral, is_complex, m):
    if is_complex:
        integral = integral[:, 0::2] + 1j * integral[:, 1::2]
    return integral[:, 0] if integral.shape[1] == 1 else integral


def _batch_message(status, infinite):
    failed = np.count_nonzero(status)
    if not failed:
        return f"all {status.size} integrals converged"
    codes = ", ".join(f"{np.count_nonzero(status == c)} x status {c} ({MESSAGES[c]})" for c in np.unique(status[status != 0]))
    message = f"{failed} of {status.size} integrals failed: {codes}"
    divergent = np.count_nonzero(infinite & np.isin(status, _TAIL_FAILURES))
    if divergent:
        message += f"; {divergent} of them over infinite ranges appear divergent (or converge too slowly)"
    return message


def _summarize(batch, sign, is_complex, m, infinite):
    """(result, spacing of a second look or 0) for one integral split into pieces."""
    integral, error, nfev, nsub, status, spacing = batch.results()
    value = _components(integral.sum(axis=0, keepdims=True) * sign, is_complex, m)[0]
    worst = int(max(status, key=lambda s: (s != 0, s)))
    total_error = float(error.sum())
    if worst == 0 and not np.isfinite(total_error):  # each piece is finite, their sum is not
        worst = 9
    result = IntegrationResult(value[()] if np.ndim(value) == 0 else value, total_error, int(nfev.sum()),
                               worst, worst == 0, _message(worst, value, total_error, infinite),
                               extra={"n_subdivisions": int(nsub.sum())})
    return result, (0.0 if infinite else float(spacing.max()))


def _stack(results, shape, infinite):
    integral = np.array([r.integral for r in results])
    status = np.array([r.status for r in results])
    return IntegrationResult(integral.reshape(shape + integral.shape[1:]),
                             np.array([r.error for r in results]).reshape(shape),
                             np.array([r.nfev for r in results]).reshape(shape), status.reshape(shape),
                             (status == 0).reshape(shape), _batch_message(status, infinite),
                             extra={"n_subdivisions": np.array([r.n_subdivisions for r in results]).reshape(shape)})


# ------------------------------------------------------------------------------------------------------------
# Weighted integrals: QUADPACK's QAWO, QAWF, QAWC and QAWS (scipy's `weight=` / `wvar=`)
# ------------------------------------------------------------------------------------------------------------

WEIGHTS = {"cos": 1, "sin": 2, "cauchy": 3, "alg": 4, "alg-loga": 5, "alg-logb": 6, "alg-log": 7}
METHODS = {0: "QAGS", 1: "QAWO", 2: "QAWF", 3: "QAWC", 4: "QAWS"}
_EPS = np.finfo(float).eps
_QAWF_CYCLES = 50  # QUADPACK's limlst: cycles of the period summed and extrapolated on [a, inf)
_QAWF_SHRINK = 0.9  # cycle k gets (1 - p) p^k of the tolerance (QUADPACK's DQAWFE)
_NEAR_END = 1e-3  # a Cauchy pole this close (relative to b - a) to an end is subtracted analytically
# 25 first-kind Chebyshev points on [-1, 1], never the ends (QUADPACK's QC25 samples the ends, where
# x^-1/2 or log x is infinite), and the DCT-II that maps values there to coefficients, the first halved
_CHEB_T = np.cos((np.arange(25) + 0.5) * np.pi / 25)
# (angles reduced exactly, j (2k + 1) mod 100 in units of pi / 50, so equal cosines are equal doubles and the
# coefficients of a constant cancel to the last bit)
_CHEB_DCT = (2.0 / 25) * np.cos(np.outer(np.arange(25), 2 * np.arange(25) + 1) % 100 * (np.pi / 50))
_CHEB_DCT[0] *= 0.5
_T_INTEGRALS = np.array([2.0 / (1 - j * j) if j % 2 == 0 else 0.0 for j in range(25)])
_GL64 = np.polynomial.legendre.leggauss(64)
_T_AT_GL64 = np.polynomial.chebyshev.chebvander(_GL64[0], 25)


def _trig_moments(theta, low=0.0):
    """M_j = int_{-1}^{1} T_j(t) exp(i (theta + low) t) dt, j = 0..24, for theta + low the exact product
    omega * half (`low` its rounding error, see `_phase`): a rounded theta turns the phase at the panel's ends
    by eps theta, as much as the integral itself at large omega. The correction is the first-order term,
    low * dM_j/dtheta = low * i (M_{j+1} + M_{j-1}) / 2 (t T_j = (T_{j+1} + T_{j-1}) / 2).

    The forward recurrence (Piessens and Branders, 1975) is stable only while j < theta: below theta = 24 a
    64-point Gauss-Legendre rule is used instead (its error is about theta^128 / 128!)."""
    if theta <= 24.0:
        m = (_GL64[1] * np.exp(1j * theta * _GL64[0])) @ _T_AT_GL64
    else:
        e_plus, e_minus = np.exp(1j * theta), np.exp(-1j * theta)
        ends = e_plus - (-1.0) ** np.arange(27) * e_minus  # [T_k(t) exp(i theta t)] from -1 to 1
        it = 1j * theta
        m = np.empty(26, dtype=complex)
        m[0] = 2 * np.sin(theta) / theta
        m[1] = (ends[1] - m[0]) / it
        m[2] = (ends[2] - 4 * m[1]) / it
        for n in range(2, 25):
            m[n + 1] = (n + 1) / it * (ends[n + 1] / (n + 1) - 2 * m[n] - (ends[n - 1] - it * m[n - 1]) / (n - 1))
    if low:
        below = np.concatenate([[m[1]], m[:24]])  # T_{-1} = T_1
        return m[:25] + 0.5j * low * (m[1:26] + below)
    return m[:25]


def _cauchy_moments(u):
    """v_j = PV int_{-1}^{1} T_j(t) / (t - u) dt, j = 0..24 (|u| != 1), by the forward recurrence
    v_{j+1} = 2 u v_j - v_{j-1} + 2 int T_j, stable for |u| < 1.1 (QUADPACK's DQC25C)."""
    v = np.empty(25)
    v[0] = np.log(abs((1 - u) / (1 + u)))
    v[1] = 2 + u * v[0]
    for j in range(1, 24):
        v[j + 1] = 2 * u * v[j] - v[j - 1] + 2 * _T_INTEGRALS[j]
    return v


@functools.lru_cache(maxsize=64)
def _jacobi_moments(alpha):
    """(R_j, G_j) = int_{-1}^{1} (1 + t)^alpha T_j(t) [1, log(1 + t)] dt, j = 0..24, exactly in mpmath
    (binomial expansion of T_j about t = -1; the cancellation is absorbed by 80 digits)."""
    import mpmath

    with mpmath.workdps(80):
        al = mpmath.mpf(alpha)
        power = [mpmath.mpf(2) ** (al + i + 1) / (al + i + 1) for i in range(25)]
        logs = [power[i] * (mpmath.log(2) - 1 / (al + i + 1)) for i in range(25)]
        # int_0^2 u^al (u - 1)^k du and its alpha-derivative, k = 0..24
        mono = [sum(mpmath.binomial(k, i) * (-1) ** (k - i) * power[i] for i in range(k + 1)) for k in range(25)]
        dmono = [sum(mpmath.binomial(k, i) * (-1) ** (k - i) * logs[i] for i in range(k + 1)) for k in range(25)]
        r, g = np.empty(25), np.empty(25)
        for j in range(25):
            coef = np.polynomial.chebyshev.cheb2poly([0] * j + [1])  # integers, exact in double
            r[j] = float(sum(int(coef[k]) * mono[k] for k in range(j + 1)))
            g[j] = float(sum(int(coef[k]) * dmono[k] for k in range(j + 1)))
    return r, g


def _kronrod_estimate(half, wk, wg, g):
    """(result, error, resabs) of a Gauss-Kronrod panel of half-width `half` on the values `g`, with
    QUADPACK's scaling of |K - G| and its rounding floor."""
    kronrod, gauss = half * (wk @ g), half * (wg @ g)
    resabs = half * (wk @ np.abs(g))
    resasc = half * (wk @ np.abs(g - kronrod / (2 * half)))
    error = abs(kronrod - gauss)
    if resasc and error:
        error = resasc * min(1.0, (200 * error / resasc) ** 1.5)
    return kronrod, max(error, 50 * _EPS * resabs), resabs


def _gk15_panel(lo, hi, weight):
    """Gauss-Kronrod 15 on f(x) * weight(x): (nodes, finish(values) -> (result, error, resabs))."""
    nodes, wk, wg = _kronrod_arrays("gk15")[:3]
    centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    x = centre + half * nodes
    w = weight(x)
    return x, lambda fx: _kronrod_estimate(half, wk, wg, fx * w)


def _cheb_estimate(coef, moments, scale, wabs, values):
    """(result, error, resabs) of sum c_j mu_j times `scale`. The error is the larger of the moments'
    share of the upper half of the coefficients (QUADPACK's |I_25 - I_13| in spirit) and that half's size
    times the weight's mass `wabs`: when f is not resolved (a coefficient tail that does not fall), the
    interpolant's error is not damped by the oscillation, whatever the moments say. Its floor is the
    rounding of the `values` carried through every moment (about eps max|f| |mu|_2 per coefficient), not
    eps |result|: a small oscillatory integral is the cancellation of much larger values."""
    terms = coef * moments
    result = scale * terms.sum()
    size = abs(scale)
    upper = np.abs(coef[13:]).sum()
    # coefficients at the rounding level of the values say nothing about resolution
    unresolved = upper * wabs if upper > 100 * _EPS * np.abs(coef).sum() else 0.0
    tail = size * max(np.abs(terms[13:]).sum(), unresolved)
    rounding = 20 * _EPS * size * np.max(np.abs(values)) * np.sqrt(np.sum(np.abs(moments) ** 2))
    resabs = size * np.abs(terms).sum()
    return result, max(tail, 50 * _EPS * resabs, rounding), max(resabs, rounding / (50 * _EPS))


def _two_product(a, b):
    """(p, e) with p = fl(a b) and p + e = a b exactly (Dekker, with Veltkamp's split)."""
    product = a * b
    split = 134217729.0  # 2^27 + 1
    big_a, big_b = split * a, split * b
    a_hi = big_a - (big_a - a)
    b_hi = big_b - (big_b - b)
    a_lo, b_lo = a - a_hi, b - b_hi
    return product, ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def _phase(omega, x):
    """exp(i omega x) with the product omega x carried exactly: a rounded product is off by eps |omega x|
    radians, 1e-10 of the result at omega x = 1e6, more than the tolerance."""
    product, low = _two_product(omega, x)
    return np.exp(1j * product) * (1 + 1j * low)


def _edge_gap(lo, hi, centre, half):
    """|lo - (centre - half)| + |hi - (centre + half)| exactly: the panel integrates over [centre - half,
    centre + half], which misses or overlaps [lo, hi] by up to eps |x| at each end; on an oscillatory
    integral far smaller than the integral of |f| that gap is not negligible and must enter the estimate."""
    c, h = Fraction(centre), Fraction(half)
    return float(abs(Fraction(lo) - (c - h)) + abs(Fraction(hi) - (c + h)))


def _qawo_panel(kind, omega):
    cache = {}

    def panel(lo, hi):
        centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        gap = _edge_gap(lo, hi, centre, half)
        theta = omega * half
        if abs(theta) <= 2.0:  # the weight is a smooth factor here
            x, gk_finish = _gk15_panel(lo, hi, (lambda x: _phase(omega, x).real) if kind == 1
                                       else (lambda x: _phase(omega, x).imag))

            def finish_gk(fx):
                value, error, resabs = gk_finish(fx)
                return value, error + gap * np.max(np.abs(fx)), resabs
            return x, finish_gk, 0
        theta, low = _two_product(omega, half)
        if (theta, low) not in cache:  # theta depends on the bisection level only
            cache[theta, low] = _trig_moments(theta, low)
        moments = cache[theta, low]
        x = centre + half * _CHEB_T

        def finish(fx):
            coef = _CHEB_DCT @ fx
            value, error, resabs = _cheb_estimate(coef, moments, half * _phase(omega, centre), 2.0, fx)
            return (value.real if kind == 1 else value.imag), error + gap * np.max(np.abs(fx)), resabs
        return x, finish, 1
    return panel


def _qawc_panel(c):
    def panel(lo, hi):
        centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        u = (c - centre) / half
        if abs(u) >= 1.1:
            return _gk15_panel(lo, hi, lambda x: 1.0 / (x - c)) + (0,)
        x = centre + half * _CHEB_T
        moments = _cauchy_moments(u)

        def finish(fx):
            coef = _CHEB_DCT @ fx
            return _cheb_estimate(coef, moments, 1.0, 2.0 + abs(moments[0]), fx)
        return x, finish, 3
    return panel


def _qaws_panel(kind, alpha, beta, a, b):
    r_a, g_a = _jacobi_moments(alpha)
    r_b, g_b = _jacobi_moments(beta)
    signs = (-1.0) ** np.arange(25)
    log_a, log_b = kind in (5, 7), kind in (6, 7)

    def weight(x, left=True, right=True):
        w = np.ones_like(x)
        if left:
            w = w * (x - a) ** alpha * (np.log(x - a) if log_a else 1.0)
        if right:
            w = w * (b - x) ** beta * (np.log(b - x) if log_b else 1.0)
        return w

    def panel(lo, hi):
        centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        left = lo == a and (alpha != 0 or log_a)
        right = hi == b and (beta != 0 or log_b)
        if not (left or right):
            return _gk15_panel(lo, hi, weight) + (0,)
        x = centre + half * _CHEB_T
        if left:  # x - a = half (1 + t); the other end's factor is smooth here
            smooth = weight(x, left=False)
            moments = r_a * np.log(half) + g_a if log_a else r_a
            scale = half ** (alpha + 1)
        else:  # b - x = half (1 - t)
            smooth = weight(x, right=False)
            moments = signs * (r_b * np.log(half) + g_b if log_b else r_b)
            scale = half ** (beta + 1)
        wabs = np.abs(moments[0]) + (np.abs(g_a[0] if left else g_b[0]) if (log_a if left else log_b) else 0)

        def finish(fx):
            values = fx * smooth
            return _cheb_estimate(_CHEB_DCT @ values, moments, scale, wabs, values)
        return x, finish, 4
    return panel


def _plain_panel(function_of_values, rule="gk21"):
    """Gauss-Kronrod on g(x, f(x)) = function_of_values(x, fx) (the Cauchy subtraction)."""
    nodes, wk, wg = _kronrod_arrays(rule)[:3]

    def panel(lo, hi):
        centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        x = centre + half * nodes

        return x, (lambda fx: _kronrod_estimate(half, wk, wg, function_of_values(x, fx))), 3
    return panel


def _adaptive_run(panel, intervals, atol, rtol, limit, max_nfev, split=None):
    """Globally adaptive bisection over `intervals` with `panel` (a generator: yields abscissae, receives f
    there). Returns (result, error, status, n_intervals, nfev, method): the interval with the largest error
    is bisected until the sum of the errors is below max(atol, rtol |result|); every loop is bounded by
    `limit` intervals and `max_nfev` evaluations. A bisection whose halves disagree with their parent by
    more than its estimate passes that surprise on to them (each half at least half of it)."""
    split = split or (lambda lo, hi: 0.5 * (lo + hi))
    pending = [panel(lo, hi) for lo, hi in intervals]
    fx = yield np.concatenate([p[0] for p in pending])
    nfev = fx.size
    method = max(p[2] for p in pending)
    if not np.all(np.isfinite(fx)):
        return np.nan, np.inf, 7, len(intervals), nfev, method
    items, pos = [], 0  # [error, lo, hi, result, resabs]
    for (lo, hi), (x, finish, _) in zip(intervals, pending):
        r, e, ra = finish(fx[pos:pos + x.size])
        pos += x.size
        items.append([e, lo, hi, r, ra])
    while True:
        total = math.fsum(it[3] for it in items)
        error = math.fsum(it[0] for it in items)
        if not (np.isfinite(total) and np.isfinite(error)):
            return total, error, 9, len(items), nfev, method
        if error <= max(atol, rtol * abs(total)):
            return total, error, 0, len(items), nfev, method
        worst = max(range(len(items)), key=lambda i: items[i][0])
        e0, lo, hi, r0, ra0 = items[worst]
        # the largest error, or the whole error, is rounding: bisection cannot help
        if e0 <= 50 * _EPS * ra0 * (1 + 1e-12) or error <= 50 * _EPS * math.fsum(it[4] for it in items):
            return total, error, 2, len(items), nfev, method
        if len(items) >= limit:
            return total, error, 1, len(items), nfev, method
        mid = split(lo, hi)
        if not lo < mid < hi or hi - lo <= 1e3 * _EPS * max(abs(lo), abs(hi)):
            return total, error, 3, len(items), nfev, method
        p1, p2 = panel(lo, mid), panel(mid, hi)
        if nfev + p1[0].size + p2[0].size > max_nfev:
            return total, error, 6, len(items), nfev, method
        fx = yield np.concatenate([p1[0], p2[0]])
        nfev += fx.size
        method = max(method, p1[2], p2[2])
        if not np.all(np.isfinite(fx)):
            return total, np.inf, 7, len(items), nfev, method
        r1, e1, a1 = p1[1](fx[:p1[0].size])
        r2, e2, a2 = p2[1](fx[p1[0].size:])
        gap = abs(r1 + r2 - r0)
        if gap > e0:
            e1, e2 = max(e1, 0.5 * gap), max(e2, 0.5 * gap)
        items[worst] = [e1, lo, mid, r1, a1]
        items.append([e2, mid, hi, r2, a2])


def _epsilon(sums):
    """The deepest even column of Wynn's epsilon table over the partial sums (its last entry)."""
    prev, cur = [0.0] * (len(sums) + 1), list(sums)
    best = sums[-1]
    for k in range(1, len(sums)):
        nxt = []
        for i in range(len(cur) - 1):
            d = cur[i + 1] - cur[i]
            if d == 0 or not np.isfinite(d):
                return best
            nxt.append(prev[i + 1] + 1.0 / d)
        if not nxt:
            break
        prev, cur = cur, nxt
        if k % 2 == 0:
            if not np.isfinite(cur[-1]):
                return best
            best = cur[-1]
    return best


def _qawf_run(kind, omega, a, atol, rtol, limit, max_nfev):
    """QUADPACK's DQAWFE: the integral over [a, inf) as the series of integrals over cycles of length
    (2 floor|omega| + 1) pi / |omega|, each by QAWO, extrapolated by Wynn's epsilon algorithm. With atol = 0
    the tolerance is relative to the running extrapolated value (scipy requires atol > 0)."""
    period = (2 * math.floor(abs(omega)) + 1) * math.pi / abs(omega)
    panel = _qawo_panel(kind, omega)
    sums, previous = [], []
    running = errsum = correc = 0.0
    result, abserr = np.nan, np.inf
    nfev = nsub = 0
    stalls = 0
    for k in range(_QAWF_CYCLES):
        lo, hi = a + k * period, a + (k + 1) * period
        share = (1 - _QAWF_SHRINK) * _QAWF_SHRINK ** k
        reference = abs(result) if np.isfinite(result) else abs(running)
        cycle_atol = share * max(atol, rtol * reference)
        out = yield from _adaptive_run(panel, [(lo, hi)], cycle_atol, (1 - _QAWF_SHRINK) * rtol, limit,
                                       max_nfev - nfev)
        value, error, status, n, used, _ = out
        nfev += used
        nsub += n
        if status not in (0, 2):
            return running + value, errsum + error, status, nsub, nfev, 2
        running += value
        errsum += error
        correc = max(correc, error)
        sums.append(running)
        plain = errsum + 50 * abs(value)  # QUADPACK's drl: the next cycles are about as large as this one
        if k >= 5 and plain <= max(atol, rtol * abs(running)):
            return running, plain, 0, nsub, nfev, 2
        if k < 2:
            continue
        extrapolated = _epsilon(sums)
        if len(previous) >= 3:
            candidate = sum(abs(extrapolated - p) for p in previous[-3:])
            candidate = max(candidate, 5 * _EPS * abs(extrapolated))
        else:
            candidate = np.inf
        previous.append(extrapolated)
        stalls += 1
        if candidate <= abserr:
            result, abserr, stalls = extrapolated, candidate, 0
        if np.isfinite(result) and abserr + 10 * correc <= max(atol, rtol * abs(result)):
            return result, abserr + 10 * correc, 0, nsub, nfev, 2
        if stalls >= 15 and abserr <= 1e-3 * plain:
            return result, abserr + 10 * correc, 4, nsub, nfev, 2
    if np.isfinite(result):
        return result, abserr + 10 * correc, 5, nsub, nfev, 2
    return running, errsum, 5, nsub, nfev, 2


def _cauchy_split(c):
    def split(lo, hi):
        mid = 0.5 * (lo + hi)
        if abs(mid - c) <= 1e-3 * (hi - lo):  # the pole must not land on a panel's end
            mid = lo + 0.25 * (hi - lo)
        return mid
    return split


def _weighted_run(kind, par, a, b, atol, rtol, limit, max_nfev):
    """One weighted integral over a < b as a generator (yields abscissae, receives f there); returns
    (result, error, status, n_subdivisions, nfev, method code)."""
    if kind in (1, 2):
        omega = par[0]
        if np.isinf(b):
            return (yield from _qawf_run(kind, omega, a, atol, rtol, limit, max_nfev))
        return (yield from _adaptive_run(_qawo_panel(kind, omega), [(a, b)], atol, rtol, limit, max_nfev))
    if kind == 3:
        c = par[0]
        if min(c - a, b - c) <= _NEAR_END * (b - a):
            # PV int f / (x - c) = int (f(x) - f(c)) / (x - c) dx + f(c) log((b - c) / (c - a)): the pole's
            # share in closed form, the rest regular
            fc = yield np.array([c])
            fc = float(fc[0])
            if not np.isfinite(fc):
                return np.nan, np.inf, 7, 0, 1, 3
            panel = _plain_panel(lambda x, fx: (fx - fc) / (x - c))
            out = yield from _adaptive_run(panel, [(a, b)], atol, rtol, limit, max_nfev - 1,
                                           split=_cauchy_split(c))
            value, error, status, n, used, _ = out
            singular = fc * math.log((b - c) / (c - a))
            return value + singular, error + 4 * _EPS * abs(singular), status, n, used + 1, 3
        return (yield from _adaptive_run(_qawc_panel(c), [(a, b)], atol, rtol, limit, max_nfev,
                                         split=_cauchy_split(c)))
    alpha, beta = par[0], par[1]
    mid = 0.5 * (a + b)  # each half carries one end's singularity (QUADPACK's DQAWSE)
    return (yield from _adaptive_run(_qaws_panel(kind, alpha, beta, a, b), [(a, mid), (mid, b)], atol, rtol,
                                     max(limit, 2), max_nfev))


class _WeightedTwin:
    """Pure-Python twin of the compiled ``WeightedBatch``: the same constructor, reverse communication
    (``request``/``receive``), drivers and ``results``; slow, readable, and the reference the compiled
    engine is tested against. ``a < b`` (``b`` may be +inf for cos/sin), ``wkind`` 1..7 as `WEIGHTS`,
    ``wpar[i] = (omega | c | alpha, beta, reflect sign, unused)``."""

    def __init__(self, a, b, wkind, wpar, m, atol, rtol, limit, max_nfev):
        if m != 1:
            raise ValueError("_WeightedTwin: weighted integrands are real scalars (m = 1)")
        self._count = len(a)
        self._sign = np.asarray(wpar, dtype=float)[:, 2].copy()
        self._runs = [_weighted_run(int(wkind[i]), tuple(wpar[i]), float(a[i]), float(b[i]), atol, rtol, limit,
                                    max_nfev) for i in range(self._count)]
        self._out = [None] * self._count
        self._x = [None] * self._count
        for i, run in enumerate(self._runs):
            self._advance(i, None)

    def _advance(self, i, values):
        try:
            self._x[i] = self._runs[i].send(values)
        except StopIteration as stop:
            self._out[i], self._x[i] = stop.value, None

    def request(self):
        counts = np.array([0 if x is None else x.size for x in self._x], dtype=np.intp)
        live = [x for x in self._x if x is not None]
        return (np.concatenate(live) if live else np.zeros(0)), counts

    def receive(self, values):
        values = np.asarray(values, dtype=float).reshape(-1)
        pos = 0
        for i, x in enumerate(self._x):
            if x is not None:
                self._advance(i, values[pos:pos + x.size].copy())
                pos += x.size

    def _drive(self, evaluate):
        for i in range(self._count):
            while self._x[i] is not None:
                self._advance(i, np.asarray(evaluate(self._x[i]), dtype=float).reshape(-1))

    def run_scalar(self, f, args):
        def evaluate(x):
            out = np.empty(x.size)
            for j, xj in enumerate(x):
                value = f(float(xj), *args)
                if isinstance(value, complex) or np.ndim(value) != 0 or np.iscomplexobj(value):
                    raise TypeError(f"`f` must return real numbers with `weight`, got {value!r}")
                out[j] = value
            return out
        self._drive(evaluate)
        return 0

    def run_vectorized(self, f, args):
        def evaluate(x):
            y = np.asarray(f(x, *args))
            if np.iscomplexobj(y) or y.shape != x.shape:
                raise ValueError(f"`f` must return real values of shape {x.shape} with `weight` and "
                                 f"`vectorized=True`, got {y.dtype} {y.shape}")
            return y
        self._drive(evaluate)
        return 0

    def run_lowlevel(self, function, user_data, kind, extra):
        if kind == 0:
            c_f = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(function)
            call = c_f
        elif kind == 1:
            c_f = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double, ctypes.c_void_p)(function)
            call = lambda x: c_f(x, user_data)  # noqa: E731
        else:
            c_f = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_int, ctypes.POINTER(ctypes.c_double))(function)
            packed = (ctypes.c_double * (len(extra) + 1))(0.0, *extra)

            def call(x):
                packed[0] = x
                return c_f(len(extra) + 1, packed)
        for i in range(self._count):
            while self._x[i] is not None:
                self._advance(i, np.array([call(float(self._sign[i] * x)) for x in self._x[i]]))

    def results(self):
        out = [o if o is not None else (np.nan, np.inf, 6, 0, 0, 0) for o in self._out]
        integral = np.array([[o[0]] for o in out], dtype=float)
        return (integral, np.array([o[1] for o in out], dtype=float), np.array([o[4] for o in out], dtype=np.int64),
                np.array([o[3] for o in out], dtype=np.int64), np.array([o[2] for o in out], dtype=np.int64),
                np.array([o[5] for o in out], dtype=np.int64))


_WEIGHTED_ENGINE = None  # None: the compiled WeightedBatch when built, else the twin (tests may set either)
_REFLECTED = {"cos": 1.0, "sin": -1.0}  # f(x) w(omega x) on (-inf, b] is int f(-t) w(-omega t) on [-b, inf)


def _weighted_engine():
    if _WEIGHTED_ENGINE is not None:
        return _WEIGHTED_ENGINE
    return getattr(_kernel, "WeightedBatch", _WeightedTwin)


def _wvar_description(weight):
    if weight in ("cos", "sin"):
        return "the frequency omega (a real number, or an array for a batch)"
    if weight == "cauchy":
        return "the pole c (a real number strictly between `a` and `b`)"
    return "the exponents (alpha, beta), both > -1"


_INF = float("inf")


def _weighted_fast_result(out, weight, b):
    """The result of `_kernel.quick_weighted`, the compiled one-integral call for the common case (float
    limits a < b with a finite, a valid scalar `wvar`, scalar `args`, default options; its checks are in C so
    that they do not cost as much as the integral); anything else takes the general path (full validation,
    batches, reflections, omega = 0, every error message)."""
    value, error, nfev, nsub, status, method = out
    name = METHODS[method] if method else _method_name(0, weight, b)
    if status == 0:
        return IntegrationResult._fast(value, error, nfev, 0, True, "converged",
                                       {"method": name, "n_subdivisions": nsub})
    result = IntegrationResult._fast(value, error, nfev, status, False, _message(status, value, error, b == _INF),
                                     {"method": name, "n_subdivisions": nsub})
    return warn_unsuccessful(result, stacklevel=4)


def _weighted_iv(f, a, b, args, atol, rtol, points, rule, vectorized, max_nfev, max_subdivisions, weight, wvar,
                 shared):
    """Validate a weighted call; returns (lowlevel, args, atol, rtol, a, b, points, wvar array, batched)."""
    if not isinstance(weight, str) or weight not in WEIGHTS:
        raise ValueError(f"`weight` must be one of {', '.join(map(repr, WEIGHTS))}, got {weight!r}")
    if wvar is None:
        raise ValueError(f"`wvar` is required with weight={weight!r}: {_wvar_description(weight)}")
    if shared:
        raise ValueError("`shared=True` cannot be combined with `weight`: each weighted integral keeps its own "
                         "subdivision")
    if rule is not None:
        raise ValueError("`rule` cannot be combined with `weight`: the weighted routines use their own panels "
                         "(Gauss-Kronrod 15 and 25-point Chebyshev)")
    if points is not None and weight != "cauchy":
        raise ValueError(f"`points` cannot be combined with weight={weight!r} (as in scipy); only 'cauchy' "
                         "takes breakpoints")
    lowlevel, args, atol, rtol, a, b, points, _, vectorized, max_nfev, max_subdivisions = _quad_iv(
        f, a, b, args, atol, rtol, points, None, vectorized, max_nfev, max_subdivisions)
    try:
        raw = np.asarray(wvar)
    except (TypeError, ValueError):
        raise TypeError(f"`wvar` must be {_wvar_description(weight)}, got {wvar!r}") from None
    # numbers only, as the limits and tolerances: numpy would read "1" or True as 1.0
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"`wvar` must be {_wvar_description(weight)} (real numbers, not bool or str), got "
                        f"{wvar!r}")
    wv = raw.astype(float, copy=False)
    w_shape = wv.shape[:-1] if weight.startswith("alg") and wv.ndim else wv.shape
    try:
        shape = np.broadcast_shapes(np.shape(a), np.shape(b), w_shape, *(np.shape(arg) for arg in args))
    except ValueError:
        shape = None  # reported with the shapes below
    if shape is not None:
        _check_batch_size(shape, "`a`, `b`, `wvar` and `args`")
    if weight.startswith("alg"):
        if wv.ndim == 0 or wv.shape[-1] != 2:
            raise ValueError(f"`wvar` must be a pair (alpha, beta) for weight={weight!r} (shape (2,), or (..., 2) "
                             f"for a batch), got shape {wv.shape}")
        if not np.all(np.isfinite(wv)):
            raise ValueError(f"`wvar` must be finite, got {wvar!r}")
        if np.any(wv <= -1):
            raise ValueError(f"`wvar` = (alpha, beta) must have alpha > -1 and beta > -1 (the weight "
                             f"(x - a)^alpha (b - x)^beta is not integrable otherwise), got {wvar!r}")
    elif not np.all(np.isfinite(wv)):
        raise ValueError(f"`wvar` must be finite, got {wvar!r}")
    a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    lo, hi = np.minimum(a_arr, b_arr), np.maximum(a_arr, b_arr)
    if weight in ("cos", "sin"):
        if np.any(np.isinf(lo) & np.isinf(hi) & (lo != hi)):
            raise ValueError(f"`a`, `b`: weight={weight!r} integrates over a finite range or a half-line "
                             "[a, inf) or (-inf, b] (QAWO, QAWF), not over the whole real line; split it at 0")
    else:
        if not (np.all(np.isfinite(a_arr)) and np.all(np.isfinite(b_arr))):
            raise ValueError(f"`a` and `b` must be finite with weight={weight!r} (QUADPACK's "
                             f"{'QAWC' if weight == 'cauchy' else 'QAWS'} needs a finite range)")
    if weight == "cauchy":
        try:
            np.broadcast_shapes(wv.shape, lo.shape)
        except ValueError:
            raise ValueError(f"`wvar` (the pole c) must broadcast with `a` and `b`, got shapes {wv.shape}, "
                             f"{a_arr.shape}, {b_arr.shape}") from None
        if np.any(~((lo < wv) & (wv < hi)) & (lo != hi)):
            raise ValueError(f"`wvar` (the pole c) must lie strictly between `a` and `b`, got c = {wvar!r} "
                             f"with a = {a!r}, b = {b!r}")
        if any(p == c for p in points for c in np.ravel(wv)):
            raise ValueError("`points` must not contain the pole `wvar`")
    scalar_wvar = wv.ndim == (1 if weight.startswith("alg") else 0)
    batched = not (isinstance(a, float) and isinstance(b, float) and scalar_wvar
                   and all(np.ndim(arg) == 0 for arg in args))
    if batched and points:
        raise ValueError("`points` is supported with scalar limits and `wvar` only")
    return lowlevel, args, atol, rtol, a, b, points, wv, bool(vectorized), max_nfev, max_subdivisions, batched


def _weighted_rows(weight, a, b, wv):
    """For integrals over (a, b) (arrays, any order): the engine's rows (lo, hi, wkind, wpar) and each
    integral's sign and route: 'engine', 'zero' (sin with omega = 0, or a = b) or 'plain' (cos with
    omega = 0: the unweighted integral)."""
    kind = WEIGHTS[weight]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    sign = np.where(a <= b, 1.0, -1.0)
    wpar = np.zeros(a.shape + (4,))
    wpar[..., 2] = 1.0
    route = np.full(a.shape, "engine", dtype=object)
    if kind in (1, 2):
        omega = np.broadcast_to(wv, a.shape)
        if kind == 2:
            sign = sign * np.sign(omega)  # sin(-w x) = -sin(w x)
        wpar[..., 0] = np.abs(omega)
        left = np.isinf(lo)  # (-inf, b]: reflected onto [-b, inf)
        lo, hi = np.where(left, -hi, lo), np.where(left, np.inf, hi)
        wpar[..., 2] = np.where(left, -1.0, 1.0)
        sign = np.where(left, sign * _REFLECTED[weight], sign)
        route[omega == 0] = "plain" if kind == 1 else "zero"
    elif kind == 3:
        wpar[..., 0] = np.broadcast_to(wv, a.shape)
    else:
        wpar[..., :2] = np.broadcast_to(wv, a.shape + (2,))
    route[lo == hi] = "zero"
    return lo, hi, kind, wpar, sign, route


def _method_name(code, weight, b):
    return METHODS[int(code)] if code else ("QAWF" if np.isinf(b) and weight in ("cos", "sin") else
                                            {"cos": "QAWO", "sin": "QAWO", "cauchy": "QAWC"}.get(weight, "QAWS"))


def _quad_weighted(f, a, b, args, atol, rtol, points, rule, vectorized, max_nfev, max_subdivisions, weight, wvar,
                   shared):
    (lowlevel, args, atol, rtol, a, b, points, wv, vectorized, max_nfev, max_subdivisions,
     batched) = _weighted_iv(f, a, b, args, atol, rtol, points, rule, vectorized, max_nfev, max_subdivisions, weight,
                             wvar, shared)
    if not batched:
        return warn_unsuccessful(_weighted_one(f, lowlevel, a, b, args, atol, rtol, points, vectorized, max_nfev,
                                               max_subdivisions, weight, wv), stacklevel=4)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    array_args = [np.asarray(arg) for arg in args]
    w_shape = wv.shape[:-1] if weight.startswith("alg") else wv.shape
    try:
        shape = np.broadcast_shapes(a.shape, b.shape, w_shape, *(arg.shape for arg in array_args))
    except ValueError:
        raise ValueError("`a`, `b`, `wvar` and the array `args` must broadcast together, got shapes "
                         f"{a.shape}, {b.shape}, {wv.shape}, {[arg.shape for arg in array_args]}") from None
    wv_b = np.broadcast_to(wv, shape + ((2,) if weight.startswith("alg") else ())).reshape(
        (-1, 2) if weight.startswith("alg") else (-1,))
    a_b, b_b = np.broadcast_to(a, shape).ravel(), np.broadcast_to(b, shape).ravel()
    args_b = [np.broadcast_to(arg, shape).ravel() for arg in array_args]
    count = a_b.size
    if lowlevel is not None or not vectorized:
        # one integral at a time (scalar or C integrands gain nothing from a shared request)
        results = [_weighted_one(f, lowlevel, float(a_b[i]), float(b_b[i]), tuple(arg[i] for arg in args_b), atol,
                                 rtol, (), vectorized, max_nfev, max_subdivisions, weight, wv_b[i])
                   for i in range(count)]
        integral = np.array([r.integral for r in results], dtype=float)
        status = np.array([r.status for r in results])
        method = np.array([r.extra["method"] for r in results], dtype=object)
        nsub = np.array([r.extra["n_subdivisions"] for r in results])
        return warn_unsuccessful(IntegrationResult(
            integral.reshape(shape), np.array([r.error for r in results]).reshape(shape),
            np.array([r.nfev for r in results]).reshape(shape), status.reshape(shape), (status == 0).reshape(shape),
            _batch_message(status, np.isinf(b_b) | np.isinf(a_b)),
            extra={"method": method.reshape(shape), "n_subdivisions": nsub.reshape(shape)}), stacklevel=4)
    lo, hi, kind, wpar, sign, route = _weighted_rows(weight, a_b, b_b, wv_b)
    integral, error = np.zeros(count), np.zeros(count)
    nfev, nsub, status = (np.zeros(count, dtype=np.int64) for _ in range(3))
    method = np.array([_method_name(0, weight, hi[i]) for i in range(count)], dtype=object)
    rows = np.flatnonzero(route == "engine")
    if rows.size:
        engine = _weighted_engine()(np.ascontiguousarray(lo[rows]), np.ascontiguousarray(hi[rows]),
                                    np.full(rows.size, kind, dtype=np.intc), np.ascontiguousarray(wpar[rows]), 1,
                                    atol, rtol, max_subdivisions, max_nfev)
        integrand = Integrand(f, vectorized=True, value_ndim=1, real=True, caller="quadlib.quad")
        reflect = wpar[rows, 2]
        row_args = [arg[rows] for arg in args_b]
        while True:
            x, counts = engine.request()
            if not x.size:
                break
            xs = x * np.repeat(reflect, counts)
            y = integrand(xs, tuple(np.repeat(arg, counts) for arg in row_args))
            if y.ndim == 2 and y.shape[1] != 1:
                # (N, 1) is read as (N,), as by plain quad and the one-integral weighted path
                raise ValueError(f"`f` must return real numbers, an array of shape ({xs.size},) for "
                                 f"{xs.size} abscissae (or ({xs.size}, 1)), got shape {y.shape}")
            engine.receive(np.ascontiguousarray(np.asarray(y, dtype=float).reshape(-1, 1)))
        g_integral, g_error, g_nfev, g_nsub, g_status, g_method = engine.results()
        integral[rows] = g_integral[:, 0] * sign[rows]
        error[rows], nfev[rows], nsub[rows], status[rows] = g_error, g_nfev, g_nsub, g_status
        method[rows] = [_method_name(c, weight, hi[i]) for c, i in zip(g_method, rows)]
    for i in np.flatnonzero(route == "plain"):
        one = _weighted_one(f, None, float(a_b[i]), float(b_b[i]), tuple(arg[i] for arg in args_b), atol, rtol, (),
                            True, max_nfev, max_subdivisions, weight, wv_b[i])
        integral[i], error[i], nfev[i], status[i] = one.integral, one.error, one.nfev, one.status
        nsub[i], method[i] = one.extra["n_subdivisions"], one.extra["method"]
    for i in np.flatnonzero(route == "zero"):
        method[i] = "zero"
    success = status == 0
    return warn_unsuccessful(IntegrationResult(
        integral.reshape(shape), error.reshape(shape), nfev.reshape(shape), status.reshape(shape),
        success.reshape(shape), _batch_message(status, np.isinf(hi)),
        extra={"method": method.reshape(shape), "n_subdivisions": nsub.reshape(shape)}), stacklevel=4)


def _weighted_one(f, lowlevel, a, b, args, atol, rtol, points, vectorized, max_nfev, max_subdivisions, weight, wv):
    """One weighted integral (scalar limits and `wvar`)."""
    if weight == "cauchy" and points:
        return _cauchy_with_points(f, lowlevel, a, b, args, atol, rtol, points, vectorized, max_nfev,
                                   max_subdivisions, float(wv))
    a_arr, b_arr = np.array([a]), np.array([b])
    lo, hi, kind, wpar, sign, route = _weighted_rows(weight, a_arr, b_arr, np.reshape(wv, (1, -1))[:, :2]
                                                     if weight.startswith("alg") else np.reshape(wv, (1,)))
    if route[0] == "zero":
        message = ("omega = 0: the weight sin(0 x) is 0, so is the integral" if a != b else "empty range")
        return IntegrationResult(0.0, 0.0, 0, 0, True, message, extra={"method": "zero", "n_subdivisions": 0})
    if route[0] == "plain":
        plain = _quad_one(f, lowlevel, a, b, args, atol, rtol, (), None, vectorized, max_nfev, max_subdivisions)
        extra = dict(plain.extra, method="QAGS")
        return IntegrationResult(plain.integral, plain.error, plain.nfev, plain.status, plain.success,
                                 plain.message + " (omega = 0: the weight cos(0 x) is 1, integrated unweighted)",
                                 extra=extra)
    engine_class = _weighted_engine()
    if engine_class is getattr(_kernel, "WeightedBatch", None) and hasattr(_kernel, "integrate_weighted"):
        # the compiled one-integral path (no batch object, the GIL released for a LowLevelCallable)
        g = f if lowlevel is not None or wpar[0, 2] > 0 else (lambda x, *rest: f(-x, *rest))
        try:
            out = _kernel.integrate_weighted(g, lowlevel, float(lo[0]), float(hi[0]), args, kind, float(wpar[0, 0]),
                                             float(wpar[0, 1]), float(wpar[0, 2]) if lowlevel is not None else 1.0,
                                             atol, rtol, max_subdivisions, max_nfev, vectorized)
        except Exception as exc:
            _note(exc)
            raise
        if out is None:
            raise TypeError(f"`f` must return real numbers with weight={weight!r} (complex or vector-valued "
                            "integrands are not supported by the weighted routines)")
        value, error, nfev, nsub, status, method = out
        value = float(value * sign[0])
        return IntegrationResult(value, float(error), int(nfev), int(status), status == 0,
                                 _message(int(status), value, float(error), bool(np.isinf(hi[0]))),
                                 extra={"method": _method_name(method, weight, hi[0]), "n_subdivisions": int(nsub)})
    engine = engine_class(lo, hi, np.array([kind], dtype=np.intc), np.ascontiguousarray(wpar), 1, atol, rtol,
                          max_subdivisions, max_nfev)
    if lowlevel is not None:
        function, user_data, llc_kind = lowlevel
        if llc_kind != 2 and args:
            raise ValueError("`args` can only be passed to a LowLevelCallable of signature double (int, double *)")
        extra = np.asarray(args, dtype=float).ravel() if llc_kind == 2 else np.zeros(0)
        engine.run_lowlevel(function, user_data, llc_kind, extra)
    else:
        g = f if wpar[0, 2] > 0 else (lambda x, *rest: f(-x, *rest))
        try:
            code = engine.run_vectorized(g, args) if vectorized else engine.run_scalar(g, args)
        except Exception as exc:
            _note(exc)
            raise
        if code != 0:
            raise TypeError(f"`f` must return real numbers with weight={weight!r} (complex or vector-valued "
                            "integrands are not supported by the weighted routines)")
    integral, error, nfev, nsub, status, method = engine.results()
    value, status = float(integral[0, 0] * sign[0]), int(status[0])
    return IntegrationResult(value, float(error[0]), int(nfev[0]), status, status == 0,
                             _message(status, value, float(error[0]), bool(np.isinf(hi[0]))),
                             extra={"method": _method_name(method[0], weight, hi[0]),
                                    "n_subdivisions": int(nsub[0])})


def _cauchy_with_points(f, lowlevel, a, b, args, atol, rtol, points, vectorized, max_nfev, max_subdivisions, c):
    """PV over [a, b] with breakpoints: QAWC on the piece holding c, plain quad of f / (x - c) elsewhere."""
    lo, hi, sign = _orient(a, b)
    cuts = [lo, *sorted({p for p in points if lo < p < hi}), hi]
    if lowlevel is not None:
        raise ValueError("`points` with weight='cauchy' needs a Python callable `f`, not a LowLevelCallable")
    total, error, nfev, nsub, worst = 0.0, 0.0, 0, 0, 0
    for left, right in zip(cuts[:-1], cuts[1:]):
        if left < c < right:
            one = _weighted_one(f, None, left, right, args, atol / len(cuts), rtol, (), vectorized, max_nfev,
                                max_subdivisions, "cauchy", c)
        else:
            one = _quad_one(lambda x, *rest: f(x, *rest) / (x - c), None, left, right, args, atol / len(cuts),
                            rtol, (), None, vectorized, max_nfev, max_subdivisions)
        total += one.integral
        error += one.error
        nfev += one.nfev
        nsub += one.extra.get("n_subdivisions", 0)
        worst = max(worst, one.status, key=lambda s: (s != 0, s))
    success = worst == 0 and error <= max(atol, rtol * abs(total))
    worst = worst if success or worst else 2
    return IntegrationResult(sign * total, error, nfev, worst, success, _message(worst, total, error),
                             extra={"method": "QAWC", "n_subdivisions": nsub})


def _quad_shared(f, a, b, args, atol, rtol, points, rule, vectorized, max_nfev, max_subdivisions):
    """A batch over `args` as one vector-valued integrand: one subdivision shared by every integral."""
    if isinstance(f, LowLevelCallable):
        raise TypeError("`f` must be a Python callable with `shared=True` (it is called with the whole batch of "
                        "`args` at once); a LowLevelCallable takes one integral at a time: use shared=False")
    if not callable(f):
        v.callable_(f, "f")
    if np.ndim(a) or np.ndim(b):
        raise ValueError("`a` and `b` must be scalars with `shared=True` (the integrals share one subdivision)")
    args = v.args_tuple(args)
    array_args = [np.asarray(arg) for arg in args]
    try:
        shape = np.broadcast_shapes(*(arg.shape for arg in array_args))
    except ValueError:
        raise ValueError("the array `args` must broadcast together, got shapes "
                         f"{[arg.shape for arg in array_args]}") from None
    _check_batch_size(shape, "`args`")
    flat = [np.broadcast_to(arg, shape).ravel() for arg in array_args]
    size = flat[0].size if flat else 1
    _check_values(size, (), max_subdivisions, "`args`")
    # one call per abscissa with the whole batch (as scipy's quad_vec): a vectorized call over N abscissae would
    # build N x m temporaries, and the engine's first requests are probed more than once
    if vectorized:
        rows = [arg[None, :] for arg in flat]

        def g(x):
            y = np.asarray(f(np.array([[x]]), *rows))
            if y.size != size:
                raise ValueError(f"`f` (vectorized, shared=True) must return {size} values (shape (1, {size}) "
                                 f"for the abscissae of shape (1, 1) and the args rows of shape (1, {size})), "
                                 f"got shape {y.shape}")
            return y.reshape(size)
    else:
        def g(x):
            y = np.asarray(f(x, *flat))
            if y.shape not in ((size,), ()):
                raise ValueError(f"`f` (shared=True) must return an array of shape ({size},), one value per "
                                 f"integral (the broadcast `args` of shape {shape}, flattened), got shape {y.shape}")
            return np.broadcast_to(y, (size,))
    result = quad(g, a, b, atol=atol, rtol=rtol, points=points, rule=rule, vectorized=False,
                  max_nfev=max_nfev, max_subdivisions=max_subdivisions)
    integral = _spread(result.integral, size).reshape(shape)
    extra = dict(result.extra, shared=True)
    return IntegrationResult(integral, np.full(shape, result.error), np.full(shape, result.nfev),
                             np.full(shape, result.status), np.full(shape, result.success), result.message,
                             extra=extra)


MAX_BATCH = 10 ** 7  # integrals in one call (a, b, `args`, `wvar` broadcast together)
# doubles held for a vector-valued integrand: m components at every point of a request and on every kept interval
MAX_VALUES = 10 ** 8  # 0.8 GB
_POINTS_PER_REQUEST = 2 * 21  # the default rule (gk21) on the two halves of a bisected interval


def _check_batch_size(shape, names):
    size = math.prod(shape)
    if size > MAX_BATCH:
        raise ValueError(f"the batch of {names} has {size} integrals (shape {shape}), more than the bound "
                         f"{MAX_BATCH}; integrate it in parts")


def _check_values(m, points, max_subdivisions, name):
    """Bound the buffers of a vector-valued integrand of m components before anything is evaluated."""
    pieces = len(points) + 2
    need = m * max(_POINTS_PER_REQUEST * pieces, max_subdivisions)
    if need > MAX_VALUES:
        raise ValueError(f"{name}: {m} components per value would need about {need} doubles of buffers "
                         f"(m * max(points per request, max_subdivisions)), more than the bound {MAX_VALUES}; "
                         "integrate the components in parts")


def _spread(integral, m):
    """The engine's integral as m components: with no evaluation (a == b, or a budget below one panel) it
    does not know m and returns the scalar 0."""
    integral = np.asarray(integral)
    if integral.size == m:
        return integral.reshape(m)
    return np.full(m, integral.reshape(-1)[0] if integral.size == 1 else np.nan)


def quad_vec(f, a, b, *, args=(), atol=0.0, rtol=1e-8, norm="2", points=None, vectorized=False,
             max_nfev=100_000, max_subdivisions=200):
    """Integrate a vector- (or array-) valued ``f`` from `a` to `b` on one shared subdivision.

    scipy's ``quad_vec`` with this library's tolerance names: every component is integrated on the same
    intervals (globally adaptive Gauss–Kronrod, the interval with the largest error bisected first, Wynn's
    extrapolation), so many related integrals cost little more than one. Converged when the norm of the
    error vector is at most ``max(atol, rtol * norm(integral))``.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` returning an array of any fixed shape (real or complex). With ``vectorized=True``
        it takes an array of shape (N,) and returns shape (N, ...).
    a, b : float
        Limits; may be infinite.
    args : tuple
        Extra arguments to `f`.
    atol, rtol : float
        Absolute and relative tolerance on the chosen norm (not both zero); scipy's ``epsabs``, ``epsrel``.
    norm : {"2", "max"}
        The vector norm of the error and of the integral (scipy's meaning). With "2" the engine, whose
        per-interval error is the largest over the components, is run to ``1 / sqrt(m)`` of the tolerance
        and the reported error is ``sqrt(m)`` times its bound: an honest bound on the 2-norm.
    points : sequence of float, optional
        Breakpoints where `f` is not smooth. Those outside the range of integration are ignored, as by
        :func:`quad` and scipy.
    vectorized : bool
        Whether `f` takes arrays of abscissae.
    max_nfev, max_subdivisions : int
        Bounds on the work, as for :func:`quad` (``max_subdivisions <= 10**6``; the interval storage is
        ``max_subdivisions * m`` doubles). With ``m`` the number of components of f's value,
        ``m * max(42 * (len(points) + 2), max_subdivisions)`` must not exceed ``10**8`` (0.8 GB of buffers),
        checked before the integration starts: a ValueError otherwise. An empty value is a ValueError.
        `f` is called once more than ``nfev``, at an interior point, to learn the shape of its value.

    Returns
    -------
    IntegrationResult
        ``integral`` of f's value shape, ``error`` (a number, in the chosen norm), ``nfev``, ``status``,
        ``success``, ``message``, and ``extra`` with ``norm`` and ``n_subdivisions``.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> k = np.array([1.0, 2.0, 3.0])
    >>> res = quadlib.quad_vec(lambda x: np.exp(-k * x), 0.0, 1.0)
    >>> np.allclose(res.integral, (1 - np.exp(-k)) / k, rtol=1e-12), res.success
    (True, True)

    References
    ----------
    R. Piessens et al., "QUADPACK", Springer (1983), routine QAGS (shared here by all components).
    scipy.integrate.quad_vec (the argument meanings).
    """
    if not callable(f):
        v.callable_(f, "f")
    atol, rtol = v.tolerances(atol, rtol)
    if norm not in ("2", "max"):
        raise ValueError(f"`norm` must be '2' or 'max', got {norm!r}")
    if np.ndim(a) or np.ndim(b):
        raise ValueError("`a` and `b` must be scalars in quad_vec (the components share one subdivision)")
    args = v.args_tuple(args)
    # one call to learn the value shape, at an interior point (never an end, where f may be singular)
    a_f, b_f = float(a), float(b)
    if np.isfinite(a_f) and np.isfinite(b_f):
        x0 = 0.5 * (a_f + b_f)
    else:
        x0 = a_f + 1.0 if np.isfinite(a_f) else (b_f - 1.0 if np.isfinite(b_f) else 0.0)
    if vectorized:
        probe = np.asarray(f(np.array([x0]), *args))
        if probe.ndim == 0 or probe.shape[0] != 1:
            raise ValueError("`f` (vectorized) must return an array of shape (N, ...) for N abscissae, got "
                             f"shape {probe.shape} for N = 1")
        value_shape = probe.shape[1:]
    else:
        value_shape = np.shape(f(x0, *args))
    m = math.prod(value_shape)
    if m == 0:
        raise ValueError(f"`f` must return a non-empty array, got shape {value_shape}")
    if points is not None:
        points = np.atleast_1d(np.asarray(points, dtype=float))
        if points.ndim != 1 or not np.all(np.isfinite(points)):
            raise ValueError("`points` must be a 1-D sequence of finite breakpoints")
    _check_values(m, () if points is None else points, v.positive_int(
        max_subdivisions, "max_subdivisions", maximum=MAX_SUBDIVISIONS), "`f`")
    scale = np.sqrt(m) if norm == "2" else 1.0
    if vectorized:
        def g(x):
            y = np.asarray(f(x, *args))
            if y.shape != (x.shape[0], *value_shape):
                raise ValueError(f"`f` (vectorized) must return shape (N, ...) = {(x.shape[0], *value_shape)} for "
                                 f"N = {x.shape[0]} abscissae (its value shape at the first call is "
                                 f"{value_shape}), got shape {y.shape}")
            return y.reshape(x.shape[0], m)
    else:
        def g(x):
            y = np.asarray(f(x, *args))
            if y.shape != value_shape:
                raise ValueError(f"`f` must return values of one shape: {value_shape} at the first call, got "
                                 f"{y.shape} at x = {x!r}")
            return y.reshape(m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        result = quad(g, a, b, atol=atol / scale, rtol=rtol / scale, points=points, vectorized=vectorized,
                      max_nfev=max_nfev, max_subdivisions=max_subdivisions)
    integral = _spread(result.integral, m).reshape(value_shape)
    error = float(result.error) * float(scale)  # Python floats: the largest float times sqrt(m) is inf, quietly
    status, message = result.status, result.message
    if status == 2 and error <= max(atol, rtol * float(np.linalg.norm(np.ravel(integral)))):
        # the engine's max-norm proxy (1 / sqrt(m) of the tolerance) stopped at rounding, but the bound
        # sqrt(m) * error meets the 2-norm tolerance itself
        status, message = 0, "converged"
    out = IntegrationResult(integral, error, result.nfev, status, status == 0, message,
                            extra=dict(result.extra, norm=norm))
    return warn_unsuccessful(out)


_kernel.configure_lowlevel(LowLevelCallable, _lowlevel)
