"""`lebedev_rule`: Lebedev–Laikov rules on the unit sphere, as quadlib `Rule` values.

The nodes and weights are scipy's (:func:`scipy.integrate.lebedev_rule`, scipy >= 1.15): the rules are
built from the published tables of octahedrally invariant orbits, which there is no point in copying a
second time. What quadlib adds is the `Rule` value (cached, immutable, with its degree) and the check
that the tables are right: tests/test_sphere.py verifies spherical-harmonic exactness for every order.
"""
import functools
import numbers

import numpy as np

from ._rule import Rule

__all__ = ["lebedev_rule"]

#: The orders (degrees of exactness) of the Lebedev–Laikov rules scipy tabulates.
ORDERS = (3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 35, 41, 47, 53, 59, 65, 71, 77, 83, 89,
          95, 101, 107, 113, 119, 125, 131)


def _lebedev_rule_iv(order):
    if isinstance(order, np.ndarray) and order.ndim == 0 and order.dtype.kind in "iu":
        order = order[()]   # a 0-d integer array, as scipy accepts
    if isinstance(order, (bool, np.bool_)) or not isinstance(order, numbers.Integral):
        raise TypeError(f"`order` must be an integer, one of {', '.join(map(str, ORDERS))}; got {order!r}")
    order = int(order)
    if order not in ORDERS:
        raise ValueError(f"`order` must be one of {', '.join(map(str, ORDERS))}; got {order}")
    return order


@functools.lru_cache(maxsize=len(ORDERS))
def _rule(order):
    try:
        from scipy.integrate import lebedev_rule as scipy_lebedev_rule
    except ImportError:
        raise ImportError("quadlib.lebedev_rule needs scipy >= 1.15 (scipy.integrate.lebedev_rule)") from None
    x, w = scipy_lebedev_rule(order)
    # the weights sum to the area of the sphere, 4 pi (scipy's normalization)
    return Rule(nodes=np.ascontiguousarray(np.asarray(x, dtype=np.float64).T), weights=w,
                domain=((-1.0, 1.0),) * 3, weight_function="surface measure on S^2", degree=order,
                family=f"lebedev({order})", extra={"mappable": False})


def lebedev_rule(order):
    """Lebedev–Laikov rule of degree `order` on the unit sphere S^2.

    ``sum_k weights[k] * f(nodes[k])`` approximates the surface integral of `f` over the unit sphere; it
    is exact for every polynomial of degree at most `order` in (x, y, z) restricted to the sphere
    (equivalently, for the spherical harmonics Y_l^m with l <= order).

    Parameters
    ----------
    order : int
        Degree of exactness: one of 3, 5, 7, ..., 31, then 35, 41, 47, ..., 131 (every 6). The rule of
        order 131 has 5810 nodes.

    Returns
    -------
    Rule
        ``nodes`` of shape (N, 3), points of the unit sphere; ``weights`` of shape (N,), summing to
        4 pi; ``degree = order``; ``family = "lebedev(order)"``; ``weight_function = "surface measure on
        S^2"``; ``domain``, the bounding cube [-1, 1]^3. :meth:`Rule.integrate` applies it as it stands
        (``rule.integrate(f)``, `f` called with the (N, 3) array of nodes); it cannot be mapped onto a
        box (`a` and `b` are refused). For a sphere of radius r, scale the weights by r**2.

    Raises
    ------
    ValueError
        For an order scipy does not tabulate (the message lists the valid ones).
    ImportError
        With scipy older than 1.15, which has no Lebedev rules.

    Notes
    -----
    The nodes and weights are those of :func:`scipy.integrate.lebedev_rule`, converted once per order
    and cached. The rules are built from orbits of the octahedral group with tabulated parameters [1]_;
    the test suite checks ``sum_k w_k Y_l^m(x_k) = sqrt(4 pi) delta_{l0}`` for every tabulated order, so
    a wrong table in a scipy release would be caught.

    References
    ----------
    .. [1] V. I. Lebedev and D. N. Laikov, "A quadrature formula for the sphere of the 131st algebraic
           order of accuracy", *Doklady Mathematics* 59 (3), 477-481, 1999.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> rule = quadlib.lebedev_rule(7)
    >>> rule.n, rule.degree, round(float(rule.weights.sum() / np.pi), 12)
    (26, 7, 4.0)

    The integral of z**2 over the sphere is 4 pi / 3:

    >>> round(float(rule.integrate(lambda x: x[:, 2] ** 2) * 3 / np.pi), 12)
    4.0
    """
    return _rule(_lebedev_rule_iv(order))
