"""quadlib: numerical integration with a compiled core.

Layers (imports point down):

1. ``quadlib._extensions``: Cython kernels (double-double Gauss refinement, ...).
2. The Python API re-exported here: rules (:class:`Rule` and its constructors), sampled-data
   integration, Romberg, and :mod:`quadlib.reference` (mpmath twins for validation).
3. :mod:`quadlib.glmm`: generalized linear mixed models built on the integrators.

The public names are loaded on first access (PEP 562): ``import quadlib`` costs no scipy import, so the
``quadlib`` command line answers ``--help`` at once; ``from quadlib import quad`` and ``quadlib.quad``
work as for an eager import.
"""
import importlib
import warnings

TYPE_CHECKING = False   # not typing's: importing typing costs more than the rest of `import quadlib`

__version__ = "0.1.0"

# implementation module -> the public names it provides
_EXPORTS = {
    "._adaptive": ("quad", "quad_vec"),
    "._tanh_sinh": ("tanh_sinh",),
    "._gauss": ("gauss_chebyshev", "gauss_from_moments", "gauss_from_recurrence", "gauss_from_weight",
                "gauss_gegenbauer", "gauss_hermite", "gauss_jacobi", "gauss_kronrod", "gauss_laguerre",
                "gauss_legendre", "gauss_lobatto", "gauss_radau"),
    "._nested": ("clenshaw_curtis", "fejer", "gauss_patterson", "genz_keister"),
    "._newton_cotes": ("NegativeWeightsWarning", "composite_boole", "composite_midpoint", "composite_simpson",
                       "composite_simpson38", "composite_trapezoid", "newton_cotes", "romberg"),
    "._cubature": ("cubature",),
    "._integrators": ("AdaptiveGaussHermite", "ClusterIntegrals", "Laplace", "QMCIntegrator",
                      "SparseGridGaussHermite"),
    "._laplace": ("laplace",),
    "._nested_laplace": ("NestedLaplaceResult", "nested_laplace"),
    "._sparse_laplace": ("sparse_laplace",),
    "._montecarlo": ("qmc_quad",),
    "._nquad": ("dblquad", "nquad", "tplquad"),
    "._result": ("DomainError", "IntegrationResult", "IntegrationWarning"),
    "._sparse": ("leja", "product_rule", "sparse_grid"),
    "._rule": ("Rule",),
    "._sampled": ("cumulative_simpson", "cumulative_trapezoid", "romb", "simpson", "trapezoid"),
    "._series": ("nsum",),
    "._sphere": ("lebedev_rule",),
}
_ORIGIN = {name: module for module, names in _EXPORTS.items() for name in names}
# deprecated public names -> what replaces them; each access warns (they stay in __all__ so nothing breaks)
_DEPRECATED = {
    "LaplaceResult": ("IntegrationResult", "laplace() returns an IntegrationResult (with log_integral)"),
    "SparseLaplaceResult": ("IntegrationResult", "sparse_laplace() returns an IntegrationResult (with log_integral)"),
}
# public subpackages and modules, importable as attributes (``quadlib.glmm.fit`` after ``import quadlib``)
_SUBMODULES = ("reference", "glmm", "benchmark")

__all__ = [
    "Rule", "IntegrationResult", "IntegrationWarning", "NegativeWeightsWarning", "DomainError", "reference",
    # adaptive integration
    "quad", "quad_vec", "tanh_sinh",
    # sums of series
    "nsum",
    # Newton–Cotes family and sampled data
    "newton_cotes", "composite_midpoint", "composite_trapezoid", "composite_simpson", "composite_simpson38",
    "composite_boole", "romberg", "trapezoid", "simpson", "cumulative_trapezoid", "cumulative_simpson", "romb",
    # Gauss rules
    "gauss_legendre", "gauss_chebyshev", "gauss_gegenbauer", "gauss_jacobi", "gauss_laguerre",
    "gauss_hermite", "gauss_radau", "gauss_lobatto", "gauss_kronrod", "gauss_from_recurrence",
    "gauss_from_moments", "gauss_from_weight",
    # nested rules
    "clenshaw_curtis", "fejer", "gauss_patterson", "genz_keister", "leja",
    # multi-dimensional rules and (quasi-)Monte Carlo
    "product_rule", "sparse_grid", "cubature", "qmc_quad", "nquad", "dblquad", "tplquad",
    # rules on the unit sphere
    "lebedev_rule",
    # Laplace approximations and integrators over random effects (the protocol quadlib.glmm composes);
    # LaplaceResult and SparseLaplaceResult are deprecated aliases of IntegrationResult
    "laplace", "LaplaceResult", "nested_laplace", "NestedLaplaceResult", "sparse_laplace", "SparseLaplaceResult",
    "Laplace", "AdaptiveGaussHermite",
    "SparseGridGaussHermite", "QMCIntegrator", "ClusterIntegrals",
]


def __getattr__(name):
    """Import the module that defines `name` on first access and keep the name here (PEP 562)."""
    if name in _DEPRECATED:
        replacement, why = _DEPRECATED[name]
        warnings.warn(f"quadlib.{name} is deprecated: {why}; use quadlib.{replacement}", DeprecationWarning,
                      stacklevel=2)
        return __getattr__(replacement)   # not kept here, so that every use warns
    if name in _ORIGIN:
        value = getattr(importlib.import_module(_ORIGIN[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups bypass this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))


if TYPE_CHECKING:  # static analysers and IDEs see the eager imports
    from . import benchmark, glmm, reference
    from ._adaptive import quad, quad_vec
    from ._cubature import cubature
    from ._gauss import (
        gauss_chebyshev, gauss_from_moments, gauss_from_recurrence, gauss_from_weight, gauss_gegenbauer,
        gauss_hermite, gauss_jacobi, gauss_kronrod, gauss_laguerre, gauss_legendre, gauss_lobatto, gauss_radau,
    )
    from ._integrators import (
        AdaptiveGaussHermite, ClusterIntegrals, Laplace, QMCIntegrator, SparseGridGaussHermite,
    )
    from ._laplace import LaplaceResult, laplace
    from ._montecarlo import qmc_quad
    from ._nested import clenshaw_curtis, fejer, gauss_patterson, genz_keister
    from ._nested_laplace import NestedLaplaceResult, nested_laplace
    from ._newton_cotes import (
        NegativeWeightsWarning, composite_boole, composite_midpoint, composite_simpson, composite_simpson38,
        composite_trapezoid, newton_cotes, romberg,
    )
    from ._nquad import dblquad, nquad, tplquad
    from ._result import DomainError, IntegrationResult, IntegrationWarning
    from ._rule import Rule
    from ._sampled import cumulative_simpson, cumulative_trapezoid, romb, simpson, trapezoid
    from ._series import nsum
    from ._sparse import leja, product_rule, sparse_grid
    from ._sparse_laplace import SparseLaplaceResult, sparse_laplace
    from ._sphere import lebedev_rule
    from ._tanh_sinh import tanh_sinh
