"""Integrals of sampled data: trapezoid, Simpson (uneven spacing allowed), the cumulative trapezoid and
Simpson, and Romberg on 2**k + 1 equally spaced samples.

These are array reductions along one axis. Each function moves that axis last, so the formulas below
only ever slice ``[..., i:j]``, and moves it back for the cumulative result.
"""
import numbers

import numpy as np

from . import _validation as v
from ._newton_cotes import romberg_row

__all__ = ["trapezoid", "simpson", "cumulative_trapezoid", "cumulative_simpson", "romb"]

#: Largest number of halvings `romb` accepts: 2**40 + 1 samples is beyond any array in memory, so the
#: bound only guards the tableau's size (k + 1 rows).
_ROMB_MAX_LEVEL = 40


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


def _per_slice(value, name, y, axis):
    """A scalar, or an array of `y`'s shape with length 1 along `axis` (moved last, as `y` is here)."""
    value = _array(value, name)
    complex_ok = name == "initial"
    _numeric(value, name, complex_ok=complex_ok)
    value = value.astype(np.result_type(value.dtype, y.dtype if complex_ok else np.float64, np.float64))
    if value.ndim == 0:
        return value
    one = np.moveaxis(np.empty(y.shape[:-1] + (1,)), -1, axis).shape
    if value.shape != one:
        raise ValueError(f"`{name}` must be a scalar or have the shape of `y` with length 1 along `axis`, {one}, "
                         f"got shape {value.shape}")
    return np.moveaxis(value, axis, -1)


def _cumulative_simpson_iv(y, x, dx, axis, initial):
    # dx may be an array here (scipy's), so _sampled_iv sees a placeholder and dx is checked below
    y, x, _, axis = _sampled_iv(y, x, 1.0, axis, min_samples=1)
    if x is not None:
        if x.ndim > 1 and x.shape != y.shape:
            raise ValueError(f"`x` must be 1-D or have the shape of `y`, {np.moveaxis(y, -1, axis).shape}, got "
                             f"{np.moveaxis(x, -1, axis).shape}")
        if not np.all(np.diff(x, axis=-1) > 0):
            raise ValueError("`x` must be strictly increasing along `axis`")
        # unused when x is given (as in scipy), but a dx that is not a number is a mistake worth naming
        _numeric(_array(dx, "dx"), "dx", complex_ok=False)
        if isinstance(dx, (bool, np.bool_)):
            raise TypeError(f"`dx` must be a real number or an array of real numbers, got {dx!r}")
        dx = None
    else:
        dx = _per_slice(dx, "dx", y, axis)
        if not np.all(np.isfinite(dx)):
            raise ValueError("`dx` must be finite")
    if initial is not None:
        initial = _per_slice(initial, "initial", y, axis)
    return y, x, dx, axis, initial


def _simpson_pieces(y, h, even):
    """Integral over the first interval of each triple (y0, y1, y2) of the parabola through it, with widths
    h0 = h[..., :-1] and h1 = h[..., 1:] (Cartwright's formula; h/12 (5 y0 + 8 y1 - y2) on an even grid)."""
    y0, y1, y2 = y[..., :-2], y[..., 1:-1], y[..., 2:]
    h0, h1 = h[..., :-1], h[..., 1:]
    if even:     # scipy's equal-interval formula, for the same rounding
        return h0 / 3 * (5 * y0 / 4 + 2 * y1 - y2 / 4)
    hsum = h0 + h1
    r = h0 / hsum
    q = r * (h0 / h1)
    return h0 / 6 * ((3 - r) * y0 + (3 + q + r) * y1 - q * y2)


def cumulative_simpson(y, *, x=None, dx=1.0, axis=-1, initial=None):
    """Running integral of samples `y` along `axis` by Simpson's rule, on any increasing grid.

    Parameters
    ----------
    y : array_like
        Samples, real or complex, with at least 1 along `axis`. With fewer than 3 the result is the
        cumulative trapezoid (as in scipy).
    x : array_like, optional
        Sample points, strictly increasing along `axis`: 1-D of length ``y.shape[axis]``, or of the shape
        of `y`.
    dx : float or array_like, optional
        Spacing of the samples when `x` is None: a number, or an array of the shape of `y` with length 1
        along `axis` (one spacing per slice). Default 1. Unused when `x` is given (as in scipy), but
        still a TypeError if it is not a number or an array of numbers.
    axis : int, optional
        Axis of `y` along which to integrate. Default the last.
    initial : float or array_like, optional
        If given, it is inserted at the start of the result *and added to the rest* (scipy's meaning for
        this function, unlike :func:`cumulative_trapezoid`): a number, or an array of `y`'s shape with
        length 1 along `axis`. The result then has the shape of `y`; without it, one less along `axis`.

    Returns
    -------
    ndarray
        The running integrals from the first sample to each later one.

    See Also
    --------
    simpson, cumulative_trapezoid

    Notes
    -----
    The integral over each interval is that of the parabola through it and one neighbour [1]_: intervals
    ``2i`` and ``2i + 1`` both take the parabola through samples ``2i, 2i+1, 2i+2``, and the last interval
    takes the parabola through the last three samples. On the first interval of a triple of widths
    ``h0, h1`` (``H = h0 + h1``) that integral is
    ``h0/6 ((3 - h0/H) y0 + (3 + h0**2/(H h1) + h0/H) y1 - h0**2/(H h1) y2)``, which is
    ``h/12 (5 y0 + 8 y1 - y2)`` on an even grid; the second interval of a triple is the same formula on
    the reversed triple. Quadratics are integrated exactly on any grid. This is
    :func:`scipy.integrate.cumulative_simpson` (scipy >= 1.12), with the same arguments and results.

    References
    ----------
    .. [1] K. V. Cartwright, "Simpson's rule cumulative integration with MS Excel and irregularly-spaced
           data", *Journal of Mathematical Sciences and Mathematics Education* 12 (2), 1-9, 2017.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> x = np.array([0.0, 0.3, 0.5, 1.2, 2.0])
    >>> quadlib.cumulative_simpson(x**2, x=x)  # x**3 / 3, exact for a quadratic on any grid
    array([0.009     , 0.04166667, 0.576     , 2.66666667])
    >>> quadlib.cumulative_simpson([1.0, 1.0, 1.0], dx=0.5, initial=10.0)
    array([10. , 10.5, 11. ])
    """
    y, x, dx, axis, initial = _cumulative_simpson_iv(y, x, dx, axis, initial)
    n = y.shape[-1]
    shape = y.shape[:-1] + (n - 1,)
    h = np.broadcast_to(np.diff(x, axis=-1) if x is not None else dx, shape)
    if n < 3:
        pieces = 0.5 * h * (y[..., 1:] + y[..., :-1])
    else:
        forward = _simpson_pieces(y, h, x is None)
        backward = np.flip(_simpson_pieces(np.flip(y, axis=-1), np.flip(h, axis=-1), x is None), axis=-1)
        pieces = np.empty(shape, np.result_type(forward, backward))
        pieces[..., :-1:2] = forward[..., ::2]
        pieces[..., 1::2] = backward[..., ::2]
        pieces[..., -1] = backward[..., -1]
    result = np.cumsum(pieces, axis=-1)
    if initial is not None:
        start = np.broadcast_to(initial, y.shape[:-1] + (1,))
        result = np.concatenate([start, result + start], axis=-1)
    return np.moveaxis(result, -1, axis)


def _romb_iv(y, dx, axis):
    y, _, dx, axis = _sampled_iv(y, None, dx, axis, min_samples=2)
    intervals = y.shape[-1] - 1
    k = intervals.bit_length() - 1
    if intervals != 1 << k:
        raise ValueError(f"`y` must have 2**k + 1 samples along `axis` (2, 3, 5, 9, 17, ...), got {y.shape[-1]}")
    if k > _ROMB_MAX_LEVEL:
        raise ValueError(f"`y` must have at most 2**{_ROMB_MAX_LEVEL} + 1 samples along `axis`")
    return y, dx, k


def romb(y, dx=1.0, axis=-1):
    """Integrate ``2**k + 1`` equally spaced samples `y` along `axis` by Romberg's method.

    Parameters
    ----------
    y : array_like
        Samples, real or complex, with ``2**k + 1`` along `axis` (k >= 0: 2, 3, 5, 9, 17, ... samples).
    dx : float, optional
        Spacing of the samples. Default 1.
    axis : int, optional
        Axis of `y` along which to integrate. Default the last.

    Returns
    -------
    float, complex or ndarray
        ``T[k, k]`` of the Romberg tableau; `y`'s shape without `axis`.

    See Also
    --------
    romberg : the same extrapolation for a function, with an error estimate and a stopping rule.
    simpson

    Notes
    -----
    Row i of the tableau starts with the trapezoid sum on every ``2**(k - i)``-th sample and is
    extrapolated as in :func:`romberg` (the same code): ``T[i, j] = T[i, j-1] + (T[i, j-1] - T[i-1, j-1])
    / (4**j - 1)``. ``T[1, 1]`` is Simpson's rule, ``T[2, 2]`` Boole's. The result is that of
    :func:`scipy.integrate.romb`; scipy's `show` (printing the tableau) is not provided. Samples of a
    function that is not smooth make the extrapolation meaningless, and nothing here can tell. Samples
    near the largest float (``romb(np.full(5, 1.7e308))``) overflow in the tableau's differences and give
    NaN or inf, as scipy's do: rescale such samples.

    References
    ----------
    .. [1] W. Romberg, "Vereinfachte numerische Integration", *Det Kongelige Norske Videnskabers
           Selskab Forhandlinger* 28 (7), 1955.
    .. [2] P. J. Davis and P. Rabinowitz, *Methods of Numerical Integration*, 2nd ed., Academic Press,
           1984, section 6.3.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> x = np.linspace(0.0, 1.0, 17)
    >>> round(float(quadlib.romb(np.exp(x), dx=x[1] - x[0])), 13)  # e - 1 = 1.718281828459045...
    1.7182818284591
    >>> float(quadlib.romb(np.arange(3, 12)))  # a linear function: the trapezoid sum
    56.0
    """
    y, dx, k = _romb_iv(y, dx, axis)
    n = y.shape[-1] - 1
    width = n * dx
    row = [0.5 * width * (y[..., 0] + y[..., -1])]
    for i in range(1, k + 1):
        # level i adds the samples halfway between those of level i - 1
        stride = n >> i
        new = y[..., stride::2 * stride]
        row = romberg_row(row, 0.5 * row[0] + (width / (1 << i)) * np.sum(new, axis=-1))
    return row[-1]
