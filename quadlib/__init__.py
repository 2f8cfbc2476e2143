"""quadlib: numerical integration with a compiled core.

Layers (imports point down):

1. ``quadlib._extensions``: Cython kernels (double-double Gauss refinement, ...).
2. The Python API re-exported here: rules (:class:`Rule` and its constructors), sampled-data
   integration, Romberg, and :mod:`quadlib.reference` (mpmath twins for validation).
3. :mod:`quadlib.glmm`: generalized linear mixed models built on the integrators.
"""
from . import reference
from ._adaptive import quad
from ._tanh_sinh import tanh_sinh
from ._gauss import (
    gauss_chebyshev, gauss_from_moments, gauss_from_recurrence, gauss_from_weight, gauss_gegenbauer,
    gauss_hermite, gauss_jacobi, gauss_kronrod, gauss_laguerre, gauss_legendre, gauss_lobatto, gauss_radau,
)
from ._nested import clenshaw_curtis, fejer, gauss_patterson, genz_keister
from ._newton_cotes import (
    NegativeWeightsWarning, composite_boole, composite_midpoint, composite_simpson, composite_simpson38,
    composite_trapezoid, newton_cotes, romberg,
)
from ._cubature import cubature
from ._integrators import (
    AdaptiveGaussHermite, ClusterIntegrals, Laplace, QMCIntegrator, SparseGridGaussHermite,
)
from ._laplace import LaplaceResult, laplace
from ._nested_laplace import NestedLaplaceResult, nested_laplace
from ._sparse_laplace import SparseLaplaceResult, sparse_laplace
from ._montecarlo import qmc_quad
from ._nquad import nquad
from ._result import IntegrationResult, IntegrationWarning
from ._sparse import leja, product_rule, sparse_grid
from ._rule import Rule
from ._sampled import cumulative_trapezoid, simpson, trapezoid

__version__ = "0.1.0"

__all__ = [
    "Rule", "IntegrationResult", "IntegrationWarning", "NegativeWeightsWarning", "reference",
    # adaptive integration
    "quad", "tanh_sinh",
    # Newton–Cotes family and sampled data
    "newton_cotes", "composite_midpoint", "composite_trapezoid", "composite_simpson", "composite_simpson38",
    "composite_boole", "romberg", "trapezoid", "simpson", "cumulative_trapezoid",
    # Gauss rules
    "gauss_legendre", "gauss_chebyshev", "gauss_gegenbauer", "gauss_jacobi", "gauss_laguerre",
    "gauss_hermite", "gauss_radau", "gauss_lobatto", "gauss_kronrod", "gauss_from_recurrence",
    "gauss_from_moments", "gauss_from_weight",
    # nested rules
    "clenshaw_curtis", "fejer", "gauss_patterson", "genz_keister", "leja",
    # multi-dimensional rules and (quasi-)Monte Carlo
    "product_rule", "sparse_grid", "cubature", "qmc_quad", "nquad",
    # Laplace approximations and integrators over random effects (the protocol quadlib.glmm composes)
    "laplace", "LaplaceResult", "nested_laplace", "NestedLaplaceResult", "sparse_laplace", "SparseLaplaceResult",
    "Laplace", "AdaptiveGaussHermite",
    "SparseGridGaussHermite", "QMCIntegrator", "ClusterIntegrals",
]
