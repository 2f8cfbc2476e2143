"""Accuracy benchmarking of integration methods.

:func:`run` integrates a battery of problems with known values by a set of methods at several relative
tolerances and reports, for each (method, problem, rtol): the achieved error, the method's own error
estimate, whether that estimate was honest (a result that claims success must have an achieved error
within its estimate or the tolerance), the number of function evaluations and the time.

Every problem is a :class:`Problem` (``name, f, a, b, exact``, its ``kind``, ``source``, breakpoints
``points``, ``tags``, ``family`` and ``parameters``). The built-ins: the 1-D battery (Bailey–Jeyabalan–Li,
Kahaner, QUADPACK and quadlib's own: singular, oscillatory, peaked, discontinuous, infinite), Genz's six
families in a few dimensions (:func:`genz_problem`), and normal-weight integrals of the kinds a GLMM meets
(E expit(a + s Z) and the Poisson-lognormal probability E Poisson(y; exp(a + s Z)), Z ~ N(0, 1)). Users
add their own with :func:`register_problem` and :func:`register_method`.

Methods (each runs only on the problems it applies to; the others are skipped, not failed, and listed in
``table.attrs["skipped"]``):

* quadlib's adaptive ``quad`` and ``tanh_sinh``; ``cubature`` (its default here, the dimension-adaptive
  sparse grid), ``cubature.genz_malik``, and ``cubature.qmc`` and ``cubature.mc`` (randomized QMC and
  plain Monte Carlo, their own tolerance loop on the standard error), all with up to 10^6 evaluations;
* fixed rules made adaptive by doubling: ``gauss_legendre`` (n = 4, 8, ..., 4096) and
  ``clenshaw_curtis`` (n = 5, 9, ..., 4097) on finite 1-D intervals, composite over the problem's
  breakpoints, and ``gauss_hermite`` (normal weight) for the ``"normal"`` kind; success when three
  results agree within rtol, the estimate being the larger of the two differences;
* ``sparse_grid``: Clenshaw–Curtis Smolyak grids of levels 1, 2, ... (Genz kind, up to 10^6 points),
  same stopping rule;
* ``qmc_quad``: 16 scrambled Sobol' nets of 2^10, 2^11, ... points until three standard errors are
  within rtol (the estimate reported is 3 standard errors, about a 99% statement for 16 replicates);
* ``laplace`` and ``agq`` (``"normal"`` kind): the core integrators :class:`quadlib.Laplace` and
  :class:`quadlib.AdaptiveGaussHermite` on the log-integrand; AGQ doubles its nodes (2, 4, ..., 128)
  until agreement. Laplace has no error estimate of its own; it reports the usual diagnostic, its
  distance to 3-node AGQ at the same mode (those points count in nfev), and claims success only when
  that is within rtol;
* when installed, scipy's ``quad``, ``quad_vec`` and ``tanhsinh`` (1-D), ``cubature`` (Genz–Malik,
  scipy >= 1.15) and ``qmc_quad`` (Genz kind), and mpmath's ``quad``.

Every point a method evaluates counts in ``nfev``, including points evaluated again by a method that
restarts (the doubling fixed rules, sparse grids and QMC do not reuse earlier levels' points).

The package: ``_problem.py`` (the :class:`Problem` type), ``_problems.py`` (the 1-D battery and the
normal-weight problems), ``_genz.py`` (Genz's families), ``_methods.py`` (the built-in methods),
``_run.py`` (the registries and :func:`run`), ``_report.py`` (:func:`summarize`, :func:`plot`).
Importing it computes nothing and imports neither scipy, mpmath nor pandas; :func:`run` needs pandas
(``pip install 'quadlib[bench]'``, which brings tqdm for the progress bar too).

Examples
--------
>>> from quadlib import benchmark
>>> table = benchmark.run(problems=["bjl01", "kahaner_sech_spikes"], methods=["quad"], rtols=[1e-10])
>>> table[["method", "problem", "honest"]].to_dict("records")
[{'method': 'quad', 'problem': 'bjl01', 'honest': True}, {'method': 'quad', 'problem': 'kahaner_sech_spikes', 'honest': True}]
"""
from ._genz import genz_problem
from ._problem import KINDS, TAGS, BenchmarkProblem, Problem
from ._report import plot, summarize
from ._run import get_problem, methods, problems, register_method, register_problem, run

# KINDS and TAGS (the vocabularies of Problem's `kind` and `tags`) are importable from here too
__all__ = ["Problem", "problems", "get_problem", "methods", "register_problem", "register_method", "run", "summarize",
           "plot", "genz_problem", "BenchmarkProblem"]
