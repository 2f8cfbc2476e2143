"""quadlib.glmm: generalized linear mixed models fitted with quadlib's integrators.

The pipeline (quadlib.glmm._fit): ``design`` (formula and data) -> ``Objective`` (the marginal
log-likelihood, computed by a core integrator: Laplace, adaptive Gauss–Hermite, QMC) -> optimization ->
``GLMMResult``. This layer holds no quadrature code.

Current scope: one grouping factor with a random intercept, binomial/bernoulli (logit) and Poisson (log).
"""
from . import datasets
from ._fit import Design, GLMMResult, Objective, design, fit

__all__ = ["datasets", "design", "Design", "Objective", "fit", "GLMMResult"]
