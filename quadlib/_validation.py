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
    """Return `value` as a float, rejecting non-numbers, complex numbers and (optionally) inf/NaN."""
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


def nonnegative_tolerance(value, name):
    value = real_scalar(value, name)
    if value < 0:
        raise ValueError(f"`{name}` must be non-negative, got {value}")
    return value


def callable_(f, name="f"):
    if not callable(f):
        raise TypeError(f"`{name}` must be callable, got {type(f).__name__}")
    return f
