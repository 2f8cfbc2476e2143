"""The one result type for integrals, and the warning raised when an integration falls short."""
from dataclasses import dataclass, field
import math
import numbers
import warnings

import numpy as np

__all__ = ["DomainError", "IntegrationResult", "IntegrationWarning"]


class IntegrationWarning(UserWarning):
    """An integration did not reach its tolerance; the result says so with ``success=False``."""


class DomainError(ValueError):
    """A parameter or point outside the domain where the integrand or log-density is defined.

    Raised when a log-integrand is not finite at the points where an integrator must evaluate it (the
    start of a mode search, say), so that a caller such as an optimizer can treat the parameters as
    infeasible (a log-likelihood of -inf) without searching the message. A subclass of ValueError, so
    ``except ValueError`` still catches it.
    """


@dataclass(frozen=True, repr=False)
class IntegrationResult:
    """Outcome of a numerical integration.

    Attributes
    ----------
    integral : float, complex or ndarray
        The estimate of the integral.
    error : float or ndarray
        An estimate of the absolute error of `integral`.
    nfev : int
        Number of integrand evaluations (points, not calls).
    status : int
        0 on success; a positive code says why the method stopped short.
    success : bool
        True when the requested tolerance was met.
    message : str
        A human-readable account of `status`.
    extra : dict
        Method-specific details (e.g. ``n_subdivisions``, the Romberg table, a Laplace approximation's
        ``mode``), also readable as attributes (``res.n_subdivisions``). Callables stored here are
        methods of the result (``res.solve(rhs)`` of :func:`sparse_laplace`).
    log_integral : float or None
        The log of `integral`, for methods that compute in log space (the Laplace approximations, whose
        `integral` is ``exp(log_integral)``: inf or 0 where that overflows or underflows, so read
        `log_integral`); None for the others.
    """

    integral: object
    error: object
    nfev: int
    status: int = 0
    success: bool = True
    message: str = "converged"
    extra: dict = field(default_factory=dict)
    log_integral: object = None

    @classmethod
    def _fast(cls, integral, error, nfev, status, success, message, extra, log_integral=None):
        """The same object as ``cls(...)`` without the frozen-dataclass __init__ (hot paths)."""
        obj = object.__new__(cls)
        fields = obj.__dict__
        fields["integral"] = integral
        fields["error"] = error
        fields["nfev"] = nfev
        fields["status"] = status
        fields["success"] = success
        fields["message"] = message
        fields["extra"] = extra
        fields["log_integral"] = log_integral
        return obj

    @classmethod
    def from_log(cls, log_integral, nfev, status, success, message, extra):
        """A result computed in log space: ``integral = exp(log_integral)`` and no error estimate (NaN)."""
        log_integral = float(log_integral)
        try:
            integral = math.exp(log_integral)
        except OverflowError:
            integral = math.inf
        return cls._fast(integral, math.nan, nfev, status, success, message, extra, log_integral)

    def __getattr__(self, name):
        # Method-specific fields read like attributes: ``res.n_subdivisions``.
        extra = object.__getattribute__(self, "extra")
        if name in extra:
            return extra[name]
        raise AttributeError(name)

    def __repr__(self):
        def fmt(v):
            return np.array2string(np.asarray(v), precision=16) if np.ndim(v) else repr(v)

        lines = [
            f"  integral: {fmt(self.integral)}",
            f"     error: {fmt(self.error)}",
            f"      nfev: {self.nfev}",
            f"    status: {self.status}",
            f"   success: {self.success}",
            f"   message: {self.message!r}",
        ]
        if self.log_integral is not None:
            lines.insert(1, f"log_integral: {fmt(self.log_integral)}")
        for k, v in self.extra.items():
            if isinstance(v, (numbers.Number, str, np.generic)):
                lines.append(f"{k:>10}: {fmt(v)}")
            elif isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "biufc":
                # a mode or a list of estimates: its ends, not its thousands of entries
                lines.append(f"{k:>10}: {np.array2string(v, precision=6, threshold=6, edgeitems=3)}")
        return "IntegrationResult(\n" + "\n".join(lines) + "\n)"


def warn_unsuccessful(result, stacklevel=3):
    """Emit an IntegrationWarning for a result with ``success=False``, and return the result."""
    if result.success is not True and not np.all(result.success):
        warnings.warn(result.message, IntegrationWarning, stacklevel=stacklevel)
    return result
