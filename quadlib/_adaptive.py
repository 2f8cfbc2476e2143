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

import numpy as np
from scipy import LowLevelCallable

from . import _validation as v
from ._extensions import _adaptive as _kernel
from ._extensions._adaptive import Batch
from ._gauss import gauss_kronrod
from ._integrand import Integrand
from ._result import IntegrationResult, warn_unsuccessful

__all__ = ["quad"]

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


def quad(f, a, b, *, args=(), atol=0.0, rtol=1e-10, points=None, rule=None, vectorized=False,
         max_nfev=100_000, max_subdivisions=200):
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
        Breakpoints where the integrand is not smooth (scalar limits only).
    rule : {"gk15", "gk21", "gk31", "gk41", "gk51", "gk61"}, optional
        Gauss–Kronrod pair; default GK21 on finite pieces and GK15 on infinite ones, as QUADPACK.
    vectorized : bool
        Whether `f` takes arrays.
    max_nfev, max_subdivisions : int
        Bounds on the work per integral (per piece, for the subdivisions; the halves of the real line
        share `max_nfev` equally): ``max_nfev <= 10**9`` and ``max_subdivisions <= 10**6`` (about 60 MB
        of intervals), else a ValueError.

    Returns
    -------
    IntegrationResult
        ``integral``, ``error``, ``nfev``, ``status``, ``success``, ``message`` and ``n_subdivisions``
        (arrays of the broadcast shape for batched calls). Status: 0 converged, 1 max_subdivisions,
        2 roundoff, 3 bad integrand behaviour, 4 extrapolation does not converge, 5 probably divergent,
        6 max_nfev, 7 inf or NaN from the integrand, 8 out of memory, 9 overflow (finite values whose
        weighted sum, integral or error estimate is not finite). A non-finite integral or error estimate
        is never a success.

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

    References
    ----------
    R. Piessens et al., "QUADPACK", Springer (1983), routines QAGS and QAGI.
    J. Berntsen and T. O. Espelid, "Error estimation in automatic quadrature routines", ACM TOMS 17 (1991).
    """
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


_kernel.configure_lowlevel(LowLevelCallable, _lowlevel)
