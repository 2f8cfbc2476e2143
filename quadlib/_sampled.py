"""Integrals of sampled data: trapezoid, Simpson (uneven spacing allowed) and the cumulative trapezoid.

These are array reductions along one axis. Each function moves that axis last, so the formulas below
only ever slice ``[..., i:j]``, and moves it back for the cumulative result.
"""
import numbers

import numpy as np

from . import _validation as v

__all__ = ["trapezoid", "simpson", "cumulative_trapezoid"]


def _axis_iv(axis, ndim):
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"`axis` must be an integer, got {axis!r}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"`axis` must be in [{-ndim}, {ndim - 1}] for `y` with {ndim} dimensions, "
                         f"got {axis}")
    return axis % ndim


def _array(value, name):
    try:
        return np.asarray(value)
    except (TypeError, ValueError):  # ragged nested sequences
        raise ValueError(f"`{name}` must be a rectangular array (rows of equal length)") from None


def _numeric(array, name, *, complex_ok):
    kinds = "biufc" if complex_ok else "biuf"
    if array.dtype.kind not in kinds:
        expected = "numbers" if complex_ok else "real numbers"
        raise TypeError(f"`{name}` must be an array of {expected}, got dtype {array.dtype}")


def _sampled_iv(y, x, dx, axis, min_samples):
    """Return y (float or complex, sampling axis last), x (None, 1-D, or y's ndim with axis last),
    dx and the normalized axis."""
    y = _array(y, "y")
    _numeric(y, "y", complex_ok=True)
    if y.ndim == 0:
        raise ValueError("`y` must have at least one dimension, got a scalar")
    axis = _axis_iv(axis, y.ndim)
    n = y.shape[axis]
    if n < min_samples:
        raise ValueError(f"`y` must have at least {min_samples} sample{'s' if min_samples > 1 else ''} "
                         f"along `axis`, got {n}")
    shape = y.shape
    # Work in at least double precision, as scipy does for integer input.
    y = np.moveaxis(y, axis, -1).astype(np.result_type(y.dtype, np.float64), copy=False)
    dx = v.real_scalar(dx, "dx")
    if x is None:
        return y, None, dx, axis
    x = _array(x, "x")
    _numeric(x, "x", complex_ok=False)
    if x.ndim == 1:
        if x.shape[0] != n:
            raise ValueError(f"`x` must have the length of `y` along `axis`, {n}, got {x.shape[0]}")
    elif x.ndim == len(shape):
        if x.shape[axis] != n:
            raise ValueError(f"`x` must have the length of `y` along `axis`, {n}, got shape {x.shape}")
        # `x` may have size 1 where `y` has more (it broadcasts), but must not enlarge the result.
        if any(xs != ys and xs != 1 for xs, ys in zip(x.shape, shape)):
            raise ValueError(f"`x` must be 1-D or broadcast to the shape of `y`, {shape}, got {x.shape}")
        x = np.moveaxis(x, axis, -1)
    else:
        raise ValueError(f"`x` must be 1-D or have the {len(shape)} dimensions of `y`, got {x.ndim}")
    x = x.astype(np.result_type(x.dtype, np.float64), copy=False)
    if not np.all(np.isfinite(x)):
        raise ValueError("`x` must be finite")
    return y, x, dx, axis


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integrate samples `y` along `axis` with the composite trapezoidal rule.

    Parameters
    ----------
    y : array_like
        Samples, real or complex, with at least 2 along `axis`.
    x : array_like, optional
        Sample points: 1-D of length ``y.shape[axis]``, or an array of the dimensions of `y` that
        broadcasts to its shape (same length along `axis`). Any finite spacing, even or not.
    dx : float, optional
        Spacing of the samples when `x` is None. Default 1.
    axis : int, optional
        Axis of `y` along which to integrate. Default the last.

    Returns
    -------
    float, complex or ndarray
        The integral; `y`'s shape without `axis`.

    See Also
    --------
    simpson, cumulative_trapezoid

    Notes
    -----
    ``sum((x[i+1] - x[i]) * (y[i] + y[i+1]) / 2)``, the integral of the piecewise-linear interpolant.
    Same results as :func:`scipy.integrate.trapezoid`, except that fewer than 2 samples are an error
    here (scipy returns 0).

    References
    ----------
    .. [1] P. J. Davis and P. Rabinowitz, *Methods of Numerical Integration*, 2nd ed., Academic Press,
           1984, section 2.1.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> float(quadlib.trapezoid([1.0, 2.0, 3.0]))
    4.0
    >>> x = np.linspace(0.0, np.pi, 101)
    >>> round(float(quadlib.trapezoid(np.sin(x), x)), 12)  # 2 - O(h**2)
    1.999835503887
    >>> quadlib.trapezoid(np.ones((2, 3)), dx=0.5, axis=0)
    array([0.5, 0.5, 0.5])
    """
    y, x, dx, _ = _trapezoid_iv(y, x, dx, axis)
    return np.sum(_trapezoid_pieces(y, x, dx), axis=-1)


def _trapezoid_iv(y, x, dx, axis):
    return _sampled_iv(y, x, dx, axis, min_samples=2)


def _trapezoid_pieces(y, x, dx):
    h = dx if x is None else np.diff(x, axis=-1)
    return 0.5 * h * (y[..., 1:] + y[..., :-1])


def _simpson_iv(y, x, dx, axis):
    y, x, dx, axis = _sampled_iv(y, x, dx, axis, min_samples=2)
    # Three samples with two equal abscissae define no parabola.
    if x is not None and y.shape[-1] > 2 and np.any(np.diff(x, axis=-1) == 0):
        raise ValueError("`x` must not repeat a value in consecutive samples")
    return y, x, dx, axis


def simpson(y, x=None, dx=1.0, axis=-1):
    """Integrate samples `y` along `axis` with the composite Simpson's rule, on any spacing.

    Parameters
    ----------
    y : array_like
        Samples, real or complex, with at least 2 along `axis`.
    x : array_like, optional
        Sample points: 1-D of length ``y.shape[axis]``, or an array of the dimensions of `y` that
        broadcasts to its shape (same length along `axis`). Consecutive points must differ.
    dx : float, optional
        Spacing of the samples when `x` is None. Default 1.
    axis : int, optional
        Axis of `y` along which to integrate. Default the last.

    Returns
    -------
    float, complex or ndarray
        The integral; `y`'s shape without `axis`.

    See Also
    --------
    trapezoid

    Notes
    -----
    Each pair of intervals ``[x[2i], x[2i+2]]`` contributes the exact integral of the parabola through
    its three samples; with widths ``h0, h1`` and ``H = h0 + h1`` that is
    ``H/6 * ((2 - h1/h0) y0 + H**2/(h0 h1) y1 + (2 - h0/h1) y2)``, which is ``h/3 (y0 + 4 y1 + y2)``
    on an even grid. With an even number of samples, the last interval is left over; it gets the
    integral over it of the parabola through the last three samples [1]_,
    ``h1/6 * (-h1**2/(h0 H) y0 + (3 + h1/h0) y1 + (3 h0 + 2 h1)/H y2)``. Two samples fall back to the
    trapezoidal rule. The result is exact for cubics on an even grid with an odd number of samples,
    and for quadratics otherwise.

    This is the behaviour of :func:`scipy.integrate.simpson` since scipy 1.11, except that fewer than
    2 samples, and repeated consecutive abscissae, are errors here.

    References
    ----------
    .. [1] K. V. Cartwright, "Simpson's rule cumulative integration with MS Excel and irregularly-spaced
           data", *Journal of Mathematical Sciences and Mathematics Education* 12 (2), 1-9, 2017.
    .. [2] P. J. Davis and P. Rabinowitz, *Methods of Numerical Integration*, 2nd ed., Academic Press,
           1984, section 2.1.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> x = np.arange(10.0)
    >>> float(quadlib.simpson(x**2, x))  # exactly 9**3 / 3, even with 10 samples
    243.0
    >>> x = np.array([0.0, 0.1, 0.5, 0.6, 1.0])
    >>> float(quadlib.simpson(x**2, x))  # uneven spacing, still exact for quadratics
    0.3333333333333333
    """
    y, x, dx, _ = _simpson_iv(y, x, dx, axis)
    n = y.shape[-1]
    if n == 2:
        return np.sum(_trapezoid_pieces(y, x, dx), axis=-1)
    # Simpson pairs cover samples [0, m); an even count leaves the last interval for the end correction.
    m = n if n % 2 else n - 1
    y0, y1, y2 = y[..., 0:m - 2:2], y[..., 1:m - 1:2], y[..., 2:m:2]
    if x is None:
        total = np.sum(y0 + 4.0 * y1 + y2, axis=-1) * (dx / 3.0)
        if n % 2 == 0:
            total = total + dx / 12.0 * (5.0 * y[..., -1] + 8.0 * y[..., -2] - y[..., -3])
        return total
    h = np.diff(x, axis=-1)
    h0, h1 = h[..., 0:m - 2:2], h[..., 1:m - 1:2]
    hsum = h0 + h1
    total = np.sum(hsum / 6.0 * ((2.0 - h1 / h0) * y0 + hsum * hsum / (h0 * h1) * y1
                                 + (2.0 - h0 / h1) * y2), axis=-1)
    if n % 2 == 0:
        h0, h1 = h[..., -2], h[..., -1]
        hsum = h0 + h1
        total = total + h1 / 6.0 * (-h1 * h1 / (h0 * hsum) * y[..., -3] + (3.0 + h1 / h0) * y[..., -2]
                                    + (3.0 * h0 + 2.0 * h1) / hsum * y[..., -1])
    return total


def _cumulative_trapezoid_iv(y, x, dx, axis, initial):
    y, x, dx, axis = _sampled_iv(y, x, dx, axis, min_samples=1)
    if initial is not None:
        if isinstance(initial, (bool, np.bool_)) or not isinstance(initial, numbers.Number):
            raise TypeError(f"`initial` must be None or 0, got {initial!r}")
        if initial != 0:
            # scipy >= 1.12 forbids other values: prepending c while not adding it to the rest was a trap.
            raise ValueError(f"`initial` must be None or 0, got {initial!r}")
    return y, x, dx, axis, initial


def cumulative_trapezoid(y, x=None, dx=1.0, axis=-1, initial=None):
    """Running integral of samples `y` along `axis` by the trapezoidal rule.

    Parameters
    ----------
    y : array_like
        Samples, real or complex, with at least 1 along `axis`.
    x : array_like, optional
        Sample points: 1-D of length ``y.shape[axis]``, or an array of the dimensions of `y` that
        broadcasts to its shape (same length along `axis`).
    dx : float, optional
        Spacing of the samples when `x` is None. Default 1.
    axis : int, optional
        Axis of `y` along which to integrate. Default the last.
    initial : None or 0, optional
        None (default): the result has ``y.shape[axis] - 1`` entries along `axis`, the integrals from
        the first sample to each later one. 0: a zero is prepended, so the result has the shape of `y`.
        Other values are rejected, as in scipy >= 1.12.

    Returns
    -------
    ndarray
        The running integrals.

    See Also
    --------
    trapezoid

    Notes
    -----
    Entry ``i`` is ``trapezoid(y[:i+2], x[:i+2])`` (without `initial`), computed as one cumulative
    sum. Same results as :func:`scipy.integrate.cumulative_trapezoid`.

    References
    ----------
    .. [1] P. J. Davis and P. Rabinowitz, *Methods of Numerical Integration*, 2nd ed., Academic Press,
           1984, section 2.1.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> quadlib.cumulative_trapezoid([1.0, 2.0, 3.0, 4.0])
    array([1.5, 4. , 7.5])
    >>> x = np.linspace(0.0, 2.0, 5)
    >>> quadlib.cumulative_trapezoid(x, x, initial=0)  # x**2 / 2, exact for a linear integrand
    array([0.   , 0.125, 0.5  , 1.125, 2.   ])
    """
    y, x, dx, axis, initial = _cumulative_trapezoid_iv(y, x, dx, axis, initial)
    result = np.cumsum(_trapezoid_pieces(y, x, dx), axis=-1)
    if initial is not None:
        result = np.concatenate([np.zeros(result.shape[:-1] + (1,), result.dtype), result], axis=-1)
    return np.moveaxis(result, -1, axis)
