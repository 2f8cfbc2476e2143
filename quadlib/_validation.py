"""Argument checks shared by the public functions.

Each public function has one ``_<name>_iv`` helper that calls these and returns normalized arguments.
Wrong type -> TypeError, wrong value -> ValueError; every message names the argument in backticks.
"""
import numbers
import operator

import numpy as np

#: Largest `max_nfev` any integrator accepts: a bound on the work of one call (about a day of
#: evaluations at 100 microseconds each), far beyond any default, and within a C long everywhere.
MAX_NFEV = 10 ** 9
_INF = float("inf")


def positive_int(value, name, *, minimum=1, maximum=None):
    """Return `value` as a Python int, checking ``minimum <= value <= maximum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be a positive integer, got {value!r}")
    value = operator.index(value)
    if value < minimum:
        bound = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"`{name}` must be {bound}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{name}` must be at most {maximum}, got {value}")
    return value


def real_scalar(value, name, *, finite=True):
    """Return `value` as a float, rejecting non-numbers, complex numbers and (optionally) inf/NaN.

    A 0-d array of a real (not boolean) dtype is its element, as in scipy.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {value!r}")
    value = float(value)
    if np.isnan(value) or (finite and not np.isfinite(value)):
        raise ValueError(f"`{name}` must be finite, got {value}")
    return value


def real_array(value, name):
    """Return `value` as a float64 array, rejecting strings, booleans, complex numbers and NaN.

    Infinite entries are kept (limits of integration may be infinite).
    """
    arr = np.asarray(value)
    if arr.dtype.kind == "O":
        if not all(isinstance(item, numbers.Real) and not isinstance(item, (bool, np.bool_))
                   for item in arr.ravel().tolist()):
            raise TypeError(f"`{name}` must be a real number or an array of real numbers, got {value!r}")
        arr = arr.astype(np.float64)
    elif arr.dtype.kind not in "iuf":
        raise TypeError(f"`{name}` must be a real number or an array of real numbers, got {value!r} "
                        f"(dtype {arr.dtype})")
    arr = arr.astype(np.float64, copy=False)
    if np.isnan(arr).any():
        raise ValueError(f"`{name}` must not be NaN, got {value!r}")
    return arr


def max_nfev(value, name="max_nfev"):
    """Return `value` as a Python int in ``1 <= value <= MAX_NFEV``."""
    return positive_int(value, name, maximum=MAX_NFEV)


def greater_than(value, bound, name):
    """Return the real scalar `value`, checking ``value > bound``."""
    value = real_scalar(value, name)
    if not value > bound:
        raise ValueError(f"`{name}` must be > {bound}, got {value}")
    return value


def choice(value, options, name):
    """Return `value` if it is one of `options`, else raise ValueError listing them."""
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(f"`{name}` must be one of {listed}, got {value!r}")
    return value


def nonnegative_tolerance(value, name, *, finite=True):
    value = real_scalar(value, name, finite=finite)
    if value < 0:
        raise ValueError(f"`{name}` must be non-negative, got {value}")
    return value


def callable_(f, name="f"):
    if not callable(f):
        raise TypeError(f"`{name}` must be callable, got {type(f).__name__}")
    return f


def args_tuple(args):
    """Return the extra arguments of a callable as a tuple.

    A tuple is passed on as given; anything else is the one extra argument, as in scipy.integrate
    (``args=2.0`` means ``f(x, 2.0)``). This is the documented behaviour of every ``args=`` here.
    """
    return args if isinstance(args, tuple) else (args,)


def tolerances(atol, rtol, *, finite=True):
    """Return ``(atol, rtol)`` as non-negative floats that are not both zero.

    The stopping rule ``error <= max(atol, rtol * |integral|)`` can never be met with both zero. With
    ``finite=False`` an infinite tolerance is accepted (it accepts the first estimate: quad's compiled
    dispatch has always taken one); NaN is rejected either way.
    """
    # the common call (two non-negative floats) costs two type checks: quad is called in loops
    if not (type(atol) is float and type(rtol) is float and 0.0 <= atol < _INF and 0.0 <= rtol < _INF):
        atol = nonnegative_tolerance(atol, "atol", finite=finite)
        rtol = nonnegative_tolerance(rtol, "rtol", finite=finite)
    if atol == 0 and rtol == 0:
        raise ValueError("`atol` and `rtol` cannot both be zero")
    return atol, rtol


def box(a, b, *, d=None, finite=False, ordered=True):
    """Return the limits `a`, `b` of a d-dimensional box as float64 arrays of shape (d,).

    A scalar means d = 1. NaN is rejected; infinite limits are kept unless `finite`. With `d`, both
    must have that length; with `ordered`, ``a < b`` in every coordinate (an empty or reversed box
    is an error, as is ``a = b = inf``).
    """
    a = np.atleast_1d(real_array(a, "a"))
    b = np.atleast_1d(real_array(b, "b"))
    for arr, name in ((a, "a"), (b, "b")):
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"`{name}` must be a non-empty 1-D sequence of limits (one per coordinate), "
                             f"got shape {arr.shape}")
    if d is not None and (a.size != d or b.size != d):
        raise ValueError(f"`a` and `b` must have length {d}, got {a.size} and {b.size}")
    if a.size != b.size:
        raise ValueError(f"`a` and `b` must have the same length, got {a.size} and {b.size}")
    if finite and not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("`a` and `b` must be finite")
    if ordered:
        bad = np.flatnonzero(~(a < b))
        if bad.size:
            i = bad[0]
            raise ValueError(f"`a` must be less than `b` in every coordinate, got a[{i}] = {a[i]} and "
                             f"b[{i}] = {b[i]}")
    return a, b


def dask_client(client, name="client"):
    """`client` unless it is neither None nor a ``distributed.Client`` (TypeError): the argument of every
    function that maps work over a Dask cluster. Imports distributed only for a value that is not None."""
    if client is None:
        return None
    try:
        from distributed import Client
    except ImportError:
        raise TypeError(f"`{name}` must be a distributed.Client (quadlib[dask] is not installed), got "
                        f"{type(client).__name__}") from None
    if not isinstance(client, Client):
        raise TypeError(f"`{name}` must be a distributed.Client, got {type(client).__name__}")
    return client


def outside_stacklevel():
    """The ``stacklevel`` that makes :func:`warnings.warn`, called by the caller of this function, point at
    the first frame outside the quadlib package: the user's line, however deep inside quadlib the warning
    is raised (a fixed stacklevel is right for one call path only). At most 100 frames are walked."""
    import os
    import sys

    root = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and level < 100 and frame.f_code.co_filename.startswith(root):
        frame, level = frame.f_back, level + 1
    return level
