"""The one wrapper between an integrator and the user's integrand ``f(x, *args)``.

This module owns calling the integrand: once with every point (``vectorized=True``) or point by point,
checking that the values have one row per point and a trailing shape the integrator accepts (a number,
a vector, or any array: the `value_ndim` of :class:`Integrand`) and the same trailing shape at every
call, keeping complex values, turning a result that is not numbers into a TypeError that names `f`,
adding the integrator's name to any exception `f` raises, and counting the evaluations (points, not
calls). quad, tanh_sinh, romberg, qmc_quad, cubature, nquad and :meth:`Rule.integrate` call `f` through
it. quad's compiled loop calls a real scalar-valued `f` itself, for speed, and hands over to this wrapper
once `f` turns out complex or vector-valued, and for batches of integrals: it passes each point its own
integral's arguments (``integrand(x, args=...)``), and :meth:`Integrand.real_columns` gives the
(points, real components) float64 layout the compiled kernels read, complex values split into real and
imaginary parts. Points of a 1-D pointwise `f` are Python floats. A vectorized call costs a few attribute
look-ups and one dtype check per call, nothing per point.
"""
import numpy as np

__all__ = ["Integrand"]

_VALUE_SHAPES = {0: "a number", 1: "a number or an array of shape (m,)"}


class Integrand:
    """``f(x, *args)`` evaluated on arrays of points, checked and counted.

    Parameters
    ----------
    f : callable
        The user's integrand (checked to be callable by the integrator's validation).
    args : tuple
        Extra arguments of `f`, already normalized by ``_validation.args_tuple``.
    vectorized : bool
        Call `f` once with all the points (an array of shape (n,) or (n, d)), or once per point: a
        Python float for 1-D points, a row of shape (d,) otherwise.
    value_ndim : {0, 1, None}
        Dimensions of `f`'s value at one point: 0 a number, so values of shape (n,); 1 a number or a
        vector, (n,) or (n, m); None any shape, (n, ...).
    real : bool
        Reject complex values (TypeError) for a method that integrates real functions only.
    caller : str
        The integrator, named in a note added to any exception `f` raises.

    Attributes
    ----------
    nfev : int
        Points evaluated so far.
    value_shape : tuple or None
        The trailing shape of the values (``()`` for a scalar integrand), fixed by the first call.
    is_complex : bool or None
        Whether the values are complex, fixed by the first call: complex values after real ones are a
        ValueError, real values after complex ones are returned as complex.
    """

    __slots__ = ("f", "args", "vectorized", "value_ndim", "real", "caller", "nfev", "value_shape", "is_complex")

    def __init__(self, f, args=(), *, vectorized=True, value_ndim=None, real=False, caller="quadlib"):
        self.f, self.args, self.vectorized = f, args, vectorized
        self.value_ndim, self.real, self.caller = value_ndim, real, caller
        self.nfev = 0
        self.value_shape = None
        self.is_complex = None

    def __call__(self, x, args=None):
        """The values of `f` at the points `x` (n points along the first axis).

        Returns an array of shape ``(n,) + value_shape``, float64 or complex128. `args`, if given,
        replaces the integrand's own extra arguments for this call.
        """
        n = x.shape[0]
        if args is None:
            args = self.args
        if self.vectorized:
            try:
                y = self.f(x, *args)
            except Exception as exc:
                self._note(exc, None)
                raise
            y = np.asarray(y)
            if y.ndim == 0 or y.shape[0] != n or (self.value_ndim is not None and y.ndim > self.value_ndim + 1):
                raise ValueError(f"`f` must return an array of shape {self._expected(n)} for points of shape "
                                 f"{x.shape}, got shape {y.shape}")
        else:
            y = self._pointwise(x, args, n)
        kind = y.dtype.kind
        if kind == "c":
            if self.real:
                raise TypeError(f"`f` must return real numbers, got dtype {y.dtype}")
            if y.dtype != np.complex128:
                y = y.astype(np.complex128)
        elif kind in "biuf":
            if y.dtype != np.float64:
                y = y.astype(np.float64)
        else:
            raise TypeError(f"`f` must return {'real' if self.real else 'real or complex'} numbers, got "
                            f"dtype {y.dtype}")
        if self.value_shape is None:
            if n == 0:   # f(empty) may not show the shape of its values: wait for a real call
                return y
            self.value_shape, self.is_complex = y.shape[1:], kind == "c"
        elif y.shape[1:] != self.value_shape:
            raise ValueError(f"`f` must return values of one shape at every point: first {self.value_shape}, "
                             f"then {y.shape[1:]}")
        elif kind == "c" and not self.is_complex:
            raise ValueError("`f` returned complex values after real ones")
        elif self.is_complex and kind != "c":
            y = y.astype(np.complex128)   # a complex integrand that is real at these points
        self.nfev += n
        return y

    def _pointwise(self, x, args, n):
        f = self.f
        points = x.tolist() if x.ndim == 1 else x   # Python floats for 1-D points, rows (d,) otherwise
        values = []
        point = None
        try:
            for point in points:
                values.append(f(point, *args))
        except Exception as exc:
            self._note(exc, point)
            raise
        if not values:
            shape = self.value_shape if self.value_shape is not None else ()
            return np.zeros((0,) + shape, dtype=np.complex128 if self.is_complex else np.float64)
        try:
            y = np.array(values)
        except ValueError:
            y = None  # values of different shapes (numpy refuses ragged arrays)
        if y is None or y.dtype.kind == "O" and any(np.ndim(value) for value in values):
            shapes = sorted({np.shape(value) for value in values})
            raise ValueError(f"`f` must return values of one shape at every point, got shapes {shapes}")
        if self.value_ndim is not None and y.ndim > self.value_ndim + 1:
            raise ValueError(f"`f` must return {_VALUE_SHAPES[self.value_ndim]} at each point when "
                             f"vectorized=False, got shape {y.shape[1:]}")
        return y

    def _expected(self, n):
        if self.value_ndim == 0:
            return f"({n},)"
        if self.value_ndim == 1:
            return f"({n},) or ({n}, m)"
        return f"({n}, ...)"

    def _note(self, exc, point):
        if hasattr(exc, "add_note"):
            where = "" if point is None else f", called at x = {point!r}"
            exc.add_note(f"(raised by the integrand passed to {self.caller}{where})")

    def real_columns(self, y):
        """Values `y` of shape (n,) or (n, m) as a C-contiguous float64 array (n, k) for the kernels.

        k = m for real values and 2 m for complex ones, each component's real part followed by its
        imaginary part.
        """
        n = y.shape[0]
        if self.is_complex:
            # a C-contiguous complex128 array already is its real and imaginary parts, interleaved
            return np.ascontiguousarray(y, dtype=np.complex128).reshape(n, -1).view(np.float64)
        return np.ascontiguousarray(y.reshape(n, -1), dtype=np.float64)
