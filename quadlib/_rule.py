"""`Rule`: a quadrature rule as a small immutable value (nodes, weights and what they integrate)."""
from dataclasses import dataclass, field

import numpy as np

from . import _validation as v
from ._integrand import Integrand

__all__ = ["Rule"]


def _frozen(array):
    array = np.array(array, dtype=np.float64)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, repr=False, eq=False)
class Rule:
    """A quadrature rule ``sum_k weights[k] * f(nodes[k])`` for ``integral f(x) w(x) dx`` over `domain`.

    Rules are returned by constructors such as :func:`gauss_legendre`; build one directly only for a
    rule of your own.

    Attributes
    ----------
    nodes : ndarray of float64, shape (n,) or (n, d)
        Abscissae (in increasing order in 1-D); one row per point for a d-dimensional rule.
    weights : ndarray of float64, shape (n,)
    domain : tuple
        The reference interval ``(lo, hi)``, or one such pair per dimension; may hold ``-inf``/``inf``.
    weight_function : str
        The weight ``w(x)`` the rule integrates against, in words (``"1"`` for none).
    degree : int
        Polynomials of this degree and lower are integrated exactly.
    family : str
        The constructor that made the rule, with its parameters.
    log_weights : ndarray or None
        ``log(weights)``, finite even where `weights` underflow to zero (Hermite, Laguerre).
    embedded_weights : ndarray or None
        Weights of an embedded lower-degree rule on the same nodes (zero where it has no node);
        ``integrate_with_error`` uses the difference as an error estimate (Gauss–Kronrod).
    """

    nodes: np.ndarray
    weights: np.ndarray
    domain: tuple
    weight_function: str
    degree: int
    family: str
    log_weights: np.ndarray = None
    embedded_weights: np.ndarray = None
    embedded_degree: int = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("nodes", "weights", "log_weights", "embedded_weights"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _frozen(value))
        if self.nodes.shape[:1] != self.weights.shape or self.weights.ndim != 1 or self.nodes.ndim > 2:
            raise ValueError(f"`weights` must have one entry per node, {self.nodes.shape[0]}, got {self.weights.shape}")
        if self.nodes.ndim == 1:
            object.__setattr__(self, "domain", tuple(float(d) for d in self.domain))
        else:
            domain = tuple((float(lo), float(hi)) for lo, hi in self.domain)
            if len(domain) != self.nodes.shape[1]:
                raise ValueError(f"`domain` must have one (lo, hi) pair per dimension ({self.nodes.shape[1]})")
            object.__setattr__(self, "domain", domain)

    @property
    def n(self):
        """Number of nodes."""
        return self.nodes.shape[0]

    @property
    def dim(self):
        """Number of dimensions."""
        return 1 if self.nodes.ndim == 1 else self.nodes.shape[1]

    @property
    def finite(self):
        """True when the reference domain is a finite interval (the rule can be mapped onto [a, b])."""
        return bool(np.all(np.isfinite(self.domain)))

    def __len__(self):
        return self.n

    def __repr__(self):
        dims = f", dim={self.dim}" if self.dim > 1 else ""
        return (f"Rule(family={self.family!r}, n={self.n}{dims}, degree={self.degree}, "
                f"domain={self.domain}, weight_function={self.weight_function!r})")

    def _points(self, a, b, panels):
        """Abscissae and weights of the rule mapped (composite over `panels`) onto [a, b]."""
        if self.dim > 1:
            return self._box_points(a, b, panels)
        if self.finite:
            lo, hi = self.domain
            a = lo if a is None else v.real_scalar(a, "a")
            b = hi if b is None else v.real_scalar(b, "b")
            panels = v.positive_int(panels, "panels")
            edges = np.linspace(a, b, panels + 1)
            half = 0.5 * np.diff(edges)[:, None] / (0.5 * (hi - lo))
            centre = 0.5 * (edges[:-1] + edges[1:])[:, None]
            x = centre + half * (self.nodes - 0.5 * (lo + hi))
            w = half * self.weights
            we = half * (0 * self.weights if self.embedded_weights is None else self.embedded_weights)
            if panels > 1 and self.n > 1 and self.nodes[0] == lo and self.nodes[-1] == hi:
                # closed rules (trapezoid, Simpson, Lobatto): neighbouring panels share an endpoint,
                # so evaluate it once and add the two weights
                w[1:, 0] += w[:-1, -1]
                we[1:, 0] += we[:-1, -1]
                keep = np.ones(x.shape, dtype=bool)
                keep[:-1, -1] = False
                return x[keep], w[keep], we[keep]
            return x.ravel(), w.ravel(), we.ravel()
        if a is not None or b is not None:
            raise ValueError(f"`a` and `b` cannot be given for a rule on {self.domain}; "
                             "it integrates against its weight over its own domain")
        if v.positive_int(panels, "panels") != 1:
            raise ValueError(f"`panels` must be 1 for a rule on an infinite domain, got {panels}")
        embedded = self.embedded_weights if self.embedded_weights is not None else 0 * self.weights
        return self.nodes, self.weights, embedded

    def _box_points(self, a, b, panels):
        """A d-dimensional rule mapped affinely onto the box [a, b] (a, b of length d)."""
        if v.positive_int(panels, "panels") != 1:
            raise ValueError(f"`panels` must be 1 for a {self.dim}-dimensional rule, got {panels}")
        lo, hi = np.array(self.domain).T
        embedded = 0 * self.weights if self.embedded_weights is None else self.embedded_weights
        if a is None and b is None:
            return self.nodes, self.weights, embedded
        if not self.finite or self.extra.get("mappable", True) is False:
            raise ValueError(f"`a` and `b` cannot be given for a rule on {self.domain}; "
                             "it integrates against its weight over its own domain")
        # a reversed coordinate (a_k > b_k) flips the sign, as in one dimension
        a, b = v.box(lo if a is None else a, hi if b is None else b, d=self.dim, finite=True, ordered=False)
        scale = (b - a) / (hi - lo)
        x = a + (self.nodes - lo) * scale
        jacobian = np.prod(scale)
        return x, self.weights * jacobian, embedded * jacobian

    def _evaluate(self, f, x, args):
        v.callable_(f, "f")
        return Integrand(f, v.args_tuple(args), caller="Rule.integrate")(x)

    def integrate(self, f, a=None, b=None, *, panels=1, args=()):
        """Apply the rule to `f` on [a, b], composite over `panels` equal subintervals.

        `f` is called once, ``f(x, *args)`` with the array of all abscissae (shape ``(panels * n,)``,
        or ``(n, d)`` for a d-dimensional rule), and must return real or complex values of shape
        ``(panels * n,)`` or ``(panels * n, ...)`` for vector-valued integrands (a TypeError for values
        that are not numbers). An `args` that is not a tuple is the one extra argument, as in scipy.
        For a rule with a weight function, the weight is mapped onto each panel along with the nodes.
        `a` and `b` default to the rule's own domain; rules on infinite domains take neither.

        Examples
        --------
        >>> import numpy as np, quadlib
        >>> round(float(quadlib.gauss_legendre(10).integrate(np.exp, 0.0, 1.0)), 14)  # e - 1
        1.71828182845905
        """
        x, w, _ = self._points(a, b, panels)
        y = self._evaluate(f, x, args)
        return np.tensordot(w, y, axes=(0, 0))[()]

    def integrate_with_error(self, f, a=None, b=None, *, panels=1, args=()):
        """Like :meth:`integrate`, also returning ``|rule - embedded rule|`` as an error estimate.

        Panel errors are added in absolute value, and the estimate is never below twice the rounding
        error of the weighted sum, ``2 eps sum |w f|``.

        Returns
        -------
        integral, error : float or ndarray
        """
        if self.embedded_weights is None:
            raise ValueError(f"{self.family} has no embedded rule to estimate an error with")
        x, w, we = self._points(a, b, panels)
        y = self._evaluate(f, x, args)
        value = np.tensordot(w, y, axes=(0, 0))[()]
        differences = (w - we)[:, None] * y.reshape(x.size, -1)
        if x.size == panels * self.n:
            # the panels' errors add up in absolute value; they do not cancel
            differences = differences.reshape(panels, self.n, -1).sum(axis=1)
        error = np.abs(differences).sum(axis=0) if x.size == panels * self.n else np.abs(differences.sum(axis=0))
        # below the rounding error of the weighted sum the difference means nothing
        rounding = 2 * np.finfo(float).eps * np.abs(w[:, None] * y.reshape(x.size, -1)).sum(axis=0)
        return value, np.maximum(error, rounding).reshape(y.shape[1:])[()]
