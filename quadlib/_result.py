"""The one result type for integrals, and the warning raised when an integration falls short."""
from dataclasses import dataclass, field
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
        Method-specific details (e.g. ``n_subdivisions``, the Romberg table).
    """

    integral: object
    error: object
    nfev: int
    status: int = 0
    success: bool = True
    message: str = "converged"
    extra: dict = field(default_factory=dict)

    @classmethod
    def _fast(cls, integral, error, nfev, status, success, message, extra):
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
        return obj

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
        lines += [f"{k:>10}: {fmt(v)}" for k, v in self.extra.items() if np.ndim(v) == 0]
        return "IntegrationResult(\n" + "\n".join(lines) + "\n)"


def warn_unsuccessful(result, stacklevel=3):
    """Emit an IntegrationWarning for a result with ``success=False``, and return the result."""
    if result.success is not True and not np.all(result.success):
        warnings.warn(result.message, IntegrationWarning, stacklevel=stacklevel)
    return result
