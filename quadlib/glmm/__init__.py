"""quadlib.glmm: generalized linear mixed models fitted with quadlib's integrators.

The pipeline, each stage public and testable on its own (lme4's modular glmer):
``build_design`` (formula and data) -> ``make_objective`` (the marginal log-likelihood, computed by a core
integrator: Laplace, adaptive Gauss–Hermite, QMC, or the sparse joint Laplace approximation) ->
``optimize`` -> ``GLMMResult``; ``fit`` runs them all. ``lmm`` fits linear mixed models in closed form
(ML and REML, the variance parameters profiled); ``pql`` (penalized quasi-likelihood), ``conditional_fit``
(conditional likelihood) and ``nlmm`` (nonlinear mixed models) go beyond maximum likelihood. ``fit`` on a
Dask DataFrame fits across a cluster (``DistributedObjective``, ``DistributedGLMMResult``; the ``dask`` extra,
imported only then). Inference on a fit: ``anova``/``test_random`` (likelihood-ratio tests, chi-bar-square),
``bootstrap`` (parametric), small-sample and robust covariances (``satterthwaite_df``, ``kenward_roger``,
``sandwich_covariance``), Wald hypotheses (``parse_hypothesis``) and the variance components on the SD scale
(``sd_scale``); the results' methods call these. This layer holds no quadrature code.

It needs the ``glmm`` extra (pandas, formulae, threadpoolctl): ``pip install 'quadlib[glmm]'``; without it
the import raises an ImportError that says so.
"""
from .._extras import require_extra

# before the stages: they import pandas and formulae where they use them, so a missing package would
# otherwise surface only inside a fit
require_extra("glmm", "quadlib.glmm")

from . import datasets
from ._anova import AnovaFrame, anova, test_random
from ._bootstrap import BootstrapResult, bootstrap, bootstrap_interval, bootstrap_lrt
from ._blocked_laplace import BlockedLaplaceObjective
from ._conditional import ConditionalResult, conditional_fit
from ._dask import DistributedGLMMResult, DistributedObjective
from ._design import Design, RandomTerm, build_design, check_random_effects
from ._families import Family, make_family
from ._fit import fit
from ._formula import parse_formula
from ._hypothesis import WaldTestResult, parse_hypothesis
from ._lmm import LMMObjective, LMMResult, lmm
from ._nlmm import NLMMObjective, NLMMResult, NonlinearModel, nlmm
from ._objective import Objective, make_objective
from ._optimize import (GLMM_OPTIONS, LMM_OPTIONS, REFIT_OPTIONS, ConvergenceWarning, OptimizeOptions,
                        OptimizeOutcome, optimize, value_hessian)
from ._pql import PQLResult, pql
from ._reml import REMLObjective
from ._response import ResponseModel
from ._result import GLMMResult
from ._sandwich import cluster_scores, sandwich_covariance
from ._smallsample import kenward_roger, satterthwaite_df, variance_parameter_covariance
from ._varcomp import sd_scale, sd_scale_covariance

__all__ = ["datasets", "parse_formula", "build_design", "check_random_effects", "Design", "RandomTerm", "make_family",
           "Family",
           "make_objective", "Objective", "BlockedLaplaceObjective", "optimize", "value_hessian", "OptimizeOutcome",
           "OptimizeOptions", "GLMM_OPTIONS",
           "LMM_OPTIONS", "ConvergenceWarning", "fit", "GLMMResult", "lmm", "LMMResult", "LMMObjective", "pql",
           "PQLResult", "conditional_fit", "ConditionalResult", "nlmm", "NLMMResult", "NLMMObjective",
           "NonlinearModel", "DistributedObjective", "DistributedGLMMResult", "REMLObjective", "ResponseModel",
           "REFIT_OPTIONS", "anova", "test_random", "AnovaFrame", "bootstrap", "bootstrap_lrt", "bootstrap_interval",
           "BootstrapResult", "parse_hypothesis", "WaldTestResult", "sandwich_covariance", "cluster_scores",
           "satterthwaite_df", "kenward_roger", "variance_parameter_covariance", "sd_scale", "sd_scale_covariance"]
