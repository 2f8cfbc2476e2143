"""The one problem type of the benchmark: :class:`Problem`, an integral with a known value.

This module owns the record every problem is written in (the 1-D battery, Genz's families, the
normal-weight integrals and a user's own), its checks, the tags that say what makes a problem hard, and
the affine move of a problem to another box (:meth:`Problem.on_box`). It imports numpy and the standard
library only.
"""
from dataclasses import dataclass, field, fields
import math
import numbers
from typing import Callable

import numpy as np

from .._validation import box, callable_, choice

__all__ = ["Problem", "BenchmarkProblem", "KINDS", "TAGS"]

#: The kinds of problem, which decide the methods that apply: ``"1d"`` an interval (finite or not),
#: ``"genz"`` a finite box in d dimensions (Genz's families are the built-in ones), ``"normal"`` an
#: integral over the real line against the N(0, 1) density, ``f(x) = g(x) phi(x)``.
KINDS = ("1d", "genz", "normal")

#: What makes a problem hard.
TAGS = frozenset({
    "smooth", "endpoint_singularity", "interior_singularity", "oscillatory", "peak", "discontinuous",
    "infinite", "nearly_singular", "log_singularity", "kink", "zero",
})


@dataclass(frozen=True, eq=False, repr=False)
class Problem:
    """An integral with a known value.

    Parameters
    ----------
    name : str
        A short unique identifier, e.g. ``"bjl01"``.
    f : callable
        The integrand. With ``vectorized=True`` (the default), 1-D: an array of points of shape (N,)
        gives the N values (a scalar gives a scalar); a box in d dimensions: an array of shape (N, d)
        gives shape (N,). With ``vectorized=False`` it takes one point (a float, or a (d,) array).
    a, b : float, or sequence of d floats
        The limits: floats for the ``"1d"`` and ``"normal"`` kinds (either may be infinite), the corners
        of a finite box for ``"genz"`` (kept as tuples of floats), with ``a < b`` componentwise.
    exact : float
        The integral: a closed form or mpmath at 30 digits, never the output of a method under test.
    kind : {"1d", "genz", "normal"}, optional
        Which methods apply (``quadlib.benchmark.KINDS``): ``"1d"`` (the default) an interval, finite
        or not; ``"genz"`` a finite box in d dimensions (Genz's families are the built-in ones);
        ``"normal"`` an integral over the real line against the N(0, 1) density, ``f = g phi``.
    source : str, optional
        Where the integral and its value come from.
    points : tuple, optional
        Where f has a singularity, a jump or a kink: 1-D, floats strictly inside ``(a, b)`` (for
        integrators that take breakpoints); a box, one tuple per axis of the coordinates strictly inside
        ``(a_i, b_i)`` where f jumps or has a kink across the hyperplane ``x_i = const``.
    tags : tuple of str, optional
        What makes it hard, from ``quadlib.benchmark.TAGS``: ``smooth``, ``endpoint_singularity``,
        ``interior_singularity``, ``log_singularity``, ``nearly_singular``, ``oscillatory``, ``peak``,
        ``discontinuous``, ``kink``, ``infinite``, ``zero``.
    family : str, optional
        The parametrized family it belongs to (Genz's ``"gaussian"``, ...); empty if none.
    parameters : dict, optional
        The family's parameters (Genz's ``c`` and ``w``, as read-only arrays). Copied.
    log_g : callable or None, optional
        ``"normal"`` kind: ``log g``, vectorized, where ``f(x) = g(x) phi(x)``, for the rules and
        integrators against the normal weight (Gauss–Hermite, Laplace, AGQ); those skip a normal
        problem without it.
    vectorized : bool, optional
        Whether `f` takes arrays of points (default True). The built-in methods call a scalar `f`
        point by point.

    Attributes
    ----------
    dimension : int
        1 for the ``"1d"`` and ``"normal"`` kinds, d for a box.

    Raises
    ------
    ValueError, TypeError
        A field of the wrong value or type, named in the message.

    Examples
    --------
    >>> import numpy as np
    >>> from quadlib.benchmark import Problem
    >>> p = Problem("x2", lambda x: x * x, 0.0, 3.0, 9.0, source="x^3/3", tags=("smooth",))
    >>> p
    Problem(name='x2', kind='1d', a=0.0, b=3.0, exact=9.0)
    >>> box = Problem("xy", lambda x: x[:, 0] * x[:, 1], [0, 0], [1, 2], 1.0, kind="genz")
    >>> box.a, box.b, box.dimension
    ((0.0, 0.0), (1.0, 2.0), 2)
    """

    name: str
    f: Callable
    a: object
    b: object
    exact: float
    kind: str = "1d"
    source: str = ""
    points: tuple = ()
    tags: tuple = ()
    family: str = ""
    parameters: dict = field(default_factory=dict)
    log_g: Callable = None
    vectorized: bool = True

    def __post_init__(self):
        # normalized values replace the given ones: object.__setattr__, the dataclass being frozen
        for name, value in _problem_iv(self).items():
            object.__setattr__(self, name, value)

    @property
    def dimension(self):
        """1 for an interval, d for a box in d dimensions."""
        return len(self.a) if self.kind == "genz" else 1

    def on_box(self, a, b):
        """The same problem moved affinely to the box ``[a, b]``, its integral scaled by the volumes.

        Parameters
        ----------
        a, b : float or array_like of shape (d,)
            The corners of the new box (the ends of the new interval), finite, with ``a < b``
            componentwise. The problem's own limits must be finite.

        Returns
        -------
        Problem
            ``f_box(x) = f(a0 + (x - a) / (b - a) * (b0 - a0))`` on ``[a, b]``, where ``[a0, b0]`` are
            this problem's limits, with ``exact * prod(b - a) / prod(b0 - a0)`` and the points moved
            too. Its name is this one's followed by ``"_on_box"``.

        Examples
        --------
        >>> from quadlib.benchmark import genz_problem
        >>> p = genz_problem("product_peak", 2, seed=3)
        >>> q = p.on_box(-1.0, [1.0, 3.0])
        >>> bool(q.exact == p.exact * 8.0), q.a, q.b
        (True, (-1.0, -1.0), (1.0, 3.0))
        >>> bool(q.f([0.0, 1.0]) == p.f([0.5, 0.5]))
        True
        """
        d = self.dimension
        lo = np.array(self.a, dtype=np.float64, ndmin=1)
        hi = np.array(self.b, dtype=np.float64, ndmin=1)
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ValueError(f"`on_box` needs finite limits; problem {self.name!r} has a={self.a}, b={self.b}")
        a, b = _box_iv(a, b, d)
        width, width0 = b - a, hi - lo
        unit = bool(np.all(lo == 0.0) and np.all(width0 == 1.0))
        f = _BoxIntegrand(self.f, a, width, None if unit else (lo, width0), d if self.kind == "genz" else 0,
                          self.vectorized)
        exact = self.exact * math.prod(width.tolist()) if unit else \
            self.exact * math.prod((width / width0).tolist())

        def move(t, i):
            return float(a[i] + (t - lo[i]) / width0[i] * width[i])

        if self.kind == "genz":
            limits = tuple(a.tolist()), tuple(b.tolist())
            points = tuple(tuple(move(t, i) for t in axis) for i, axis in enumerate(self.points))
        else:
            limits = float(a[0]), float(b[0])
            points = tuple(move(t, 0) for t in self.points)
        return Problem(f"{self.name}_on_box", f, *limits, exact, kind=self.kind,
                       source=f"{self.source} (moved to [{a.tolist()}, {b.tolist()}])".lstrip(), points=points,
                       tags=self.tags, family=self.family, parameters=self.parameters, vectorized=self.vectorized)

    def __repr__(self):
        where = f"d={self.dimension}" if self.kind == "genz" else f"a={self.a!r}, b={self.b!r}"
        family = f", family={self.family!r}" if self.family else ""
        return f"Problem(name={self.name!r}, kind={self.kind!r}{family}, {where}, exact={self.exact!r})"

    def __reduce__(self):
        # pickled field by field: __post_init__ checks them again on the way back
        return Problem, tuple(getattr(self, f.name) for f in fields(self))


def _real(value, name, problem, *, finite=True):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {value!r} in problem {problem!r}")
    value = float(value)
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"`{name}` must be {'finite' if finite else 'a number'}, got {value} in problem {problem!r}")
    return value


def _problem_iv(p):
    """The fields of `p` checked and normalized (a dict of the ones that change)."""
    if not isinstance(p.name, str) or not p.name:
        raise TypeError(f"`name` must be a non-empty string, got {p.name!r}")
    name = p.name
    callable_(p.f, "f")
    if not isinstance(p.kind, str):
        raise TypeError(f"`kind` must be a string, one of {KINDS}, got {p.kind!r}")
    choice(p.kind, KINDS, "kind")
    if not isinstance(p.source, str):
        raise TypeError(f"`source` must be a string, got {p.source!r} in problem {name!r}")
    if not isinstance(p.family, str):
        raise TypeError(f"`family` must be a string, got {p.family!r} in problem {name!r}")
    if not isinstance(p.vectorized, (bool, np.bool_)):
        raise TypeError(f"`vectorized` must be True or False, got {p.vectorized!r} in problem {name!r}")
    if p.log_g is not None:
        callable_(p.log_g, "log_g")
    if isinstance(p.tags, str) or not isinstance(p.tags, (tuple, list, frozenset, set)):
        raise TypeError(f"`tags` must be a tuple of strings, got {p.tags!r} in problem {name!r}")
    unknown = set(p.tags) - TAGS
    if unknown:
        raise ValueError(f"`tags` must be a subset of TAGS, got {sorted(map(str, unknown))} in problem {name!r}")
    try:
        parameters = dict(p.parameters)
    except (TypeError, ValueError):
        raise TypeError(f"`parameters` must be a mapping, got {p.parameters!r} in problem {name!r}") from None
    out = dict(tags=tuple(p.tags), parameters=parameters, vectorized=bool(p.vectorized),
               exact=_real(p.exact, "exact", name))
    if p.kind == "genz":
        out["a"], out["b"] = _corners_iv(p.a, p.b, name)
        d = len(out["a"])
        if not isinstance(p.points, (tuple, list)) or (len(p.points) not in (0, d)) \
                or not all(isinstance(axis, (tuple, list)) for axis in p.points):
            raise ValueError(f"`points` must be () or one tuple per axis ({d}), got {p.points!r} in problem {name!r}")
        points = tuple(tuple(_real(t, "points", name) for t in axis) for axis in p.points)
        if any(not lo < t < hi for axis, lo, hi in zip(points, out["a"], out["b"]) for t in axis):
            raise ValueError(f"`points` must lie inside the box, got {points} in problem {name!r}")
        out["points"] = points or ((),) * d
    else:
        a, b = _real(p.a, "a", name, finite=False), _real(p.b, "b", name, finite=False)
        if not a < b:
            raise ValueError(f"`a` must be less than `b`, got a={a}, b={b} in problem {name!r}")
        if not isinstance(p.points, (tuple, list)):
            raise TypeError(f"`points` must be a tuple of floats, got {p.points!r} in problem {name!r}")
        points = tuple(_real(t, "points", name) for t in p.points)
        if any(not a < t < b for t in points):
            raise ValueError(f"`points` must lie inside (a, b), got {points} in problem {name!r}")
        out.update(a=a, b=b, points=points)
    return out


def _corners_iv(a, b, name):
    try:
        a, b = box(a, b, finite=True)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{error} in problem {name!r}") from None
    return tuple(a.tolist()), tuple(b.tolist())


def _box_iv(a, b, d):
    """The corners of the box `on_box` moves to, as read-only arrays of shape (d,); a scalar serves every axis."""
    a, b = (np.full(d, value, dtype=object) if np.ndim(value) == 0 and not isinstance(value, (str, bytes))
            else value for value in (a, b))
    a, b = box(a, b, d=d, finite=True)
    a.flags.writeable = False
    b.flags.writeable = False
    return a, b


class _BoxIntegrand:
    """``f(a0 + (x - a)/(b - a) (b0 - a0))``: a problem's integrand moved to the box [a, b]. A class, so
    that moved problems pickle. `d` is 0 for an interval (points of any shape), the dimension of a box."""

    __slots__ = ("f", "a", "width", "origin", "d", "vectorized")

    def __init__(self, f, a, width, origin, d, vectorized):
        self.f, self.a, self.width, self.origin, self.d, self.vectorized = f, a, width, origin, d, vectorized

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        if self.d and (x.ndim == 0 or x.shape[-1] != self.d):
            raise ValueError(f"`x` must have shape (N, {self.d}) (or ({self.d},) for one point), got {x.shape}")
        t = (x - self.a) / self.width if self.d else (x - self.a[0]) / self.width[0]
        if self.origin is not None:   # the unit cube needs no second map: its points stay bit for bit
            lo, width0 = self.origin
            t = lo + t * width0 if self.d else lo[0] + t * width0[0]
        return self.f(t if self.vectorized or self.d else float(t))

    def __repr__(self):
        return f"<{self.f!r} moved to the box [{self.a}, {self.a + self.width}]>"


def BenchmarkProblem(name, kind, f, a, b, exact, points=(), log_g=None):
    """Deprecated: the :class:`Problem` of earlier versions, its fields in their old order.

    ``BenchmarkProblem(name, kind, f, a, b, exact, points=(), log_g=None)`` is
    ``Problem(name, f, a, b, exact, kind=kind, points=points, log_g=log_g)``, with a DeprecationWarning.
    """
    import warnings

    warnings.warn("`BenchmarkProblem(name, kind, f, a, b, exact, ...)` is deprecated; use "
                  "`Problem(name, f, a, b, exact, kind=kind, ...)`", DeprecationWarning, stacklevel=2)
    return Problem(name, f, a, b, exact, kind=kind, points=points, log_g=log_g)
