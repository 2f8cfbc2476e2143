"""quadlib.glmm._optimize, stage 3: the one optimizer, on objectives whose maximum is known in closed form
(small protocol objects), with both sets of constants (GLMM_OPTIONS, LMM_OPTIONS) and Newton-Raphson with
an exact Hessian; and the LMM's profiled likelihood (-criterion / 2, lme4's numbers)."""
from dataclasses import replace
import inspect
import warnings

import numpy as np
import pytest

import quadlib
import quadlib.glmm
from quadlib.glmm import (GLMM_OPTIONS, LMM_OPTIONS, ConvergenceWarning, OptimizeOptions, build_design, datasets,
                          make_objective, optimize)
from quadlib.glmm._lmm import LMMObjective, ProfiledLikelihood, optimize_theta
from quadlib.glmm._optimize import hessian, value_hessian


class Quadratic:
    """llf(x) = -(x - m)' A (x - m) / 2 (+ the protocol): maximum m, Hessian -A."""

    def __init__(self, A, m, lower=None):
        self.A, self.m = np.asarray(A, float), np.asarray(m, float)
        k = self.m.size
        self.names = [f"x{i}" for i in range(k)]
        self.n_params = k
        self.bounds = [(lo, None) for lo in (lower if lower is not None else [None] * k)]
        self.evaluations = 0

    def start(self):
        return np.zeros(self.n_params) + 0.5

    def log_likelihood(self, x):
        self.evaluations += 1
        r = np.asarray(x) - self.m
        return -0.5 * r @ self.A @ r

    __call__ = log_likelihood

    def value_and_gradient(self, x):
        r = np.asarray(x) - self.m
        return self.log_likelihood(x), -self.A @ r

    def value_gradient_hessian(self, x):
        value, grad = self.value_and_gradient(x)
        return value, grad, -self.A


class DoubleWell:
    """llf(s) = -(s^2 - 1)^2 on s >= 0: even in s like a likelihood in a standard deviation, its gradient is
    0 at the bound s = 0 (a minimum), the maximum at s = 1."""

    names, n_params, bounds = ["s"], 1, [(0.0, None)]

    def __init__(self):
        self.evaluations = 0

    def start(self):
        return np.zeros(1)

    def log_likelihood(self, x):
        self.evaluations += 1
        return -(x[0] ** 2 - 1.0) ** 2

    __call__ = log_likelihood

    def value_and_gradient(self, x):
        return self.log_likelihood(x), np.array([-4.0 * x[0] * (x[0] ** 2 - 1.0)])


A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])
M = np.array([0.3, -2.0, 5.0])


@pytest.mark.parametrize("options", [GLMM_OPTIONS, LMM_OPTIONS], ids=["glmm", "lmm"])
def test_quadratic_maximum_and_hessian(options):
    outcome = optimize(Quadratic(A, M), options=options)
    assert outcome.converged
    np.testing.assert_allclose(outcome.x, M, atol=1e-7)
    assert outcome.llf == pytest.approx(0.0, abs=1e-12)
    assert outcome.free.all()
    if options.final_hessian:
        np.testing.assert_allclose(outcome.hessian, -A, rtol=1e-6, atol=1e-8)
    assert outcome.n_evaluations > 0 and outcome.history[-1] == pytest.approx(outcome.llf, abs=1e-12)


def test_a_parameter_held_at_its_bound():
    """The maximum of x2 lies below the bound 0: x2 is held at 0 (not free), the others maximize the
    restricted quadratic: x_free = m_free - A_ff^-1 A_f2 (0 - m_2)."""
    objective = Quadratic(A, [0.3, -2.0, -1.0], lower=[None, None, 0.0])
    outcome = optimize(objective)
    expected = np.array([0.3, -2.0]) - np.linalg.solve(A[:2, :2], A[:2, 2] * (0.0 - -1.0))
    np.testing.assert_allclose(outcome.x, np.r_[expected, 0.0], atol=1e-7)
    np.testing.assert_array_equal(outcome.free, [True, True, False])
    assert outcome.hessian.shape == (2, 2) and outcome.converged


def test_restart_off_a_zero_standard_deviation():
    stuck = optimize(DoubleWell(), options=replace(GLMM_OPTIONS, restarts=0, warn=False))
    assert stuck.x[0] == 0.0                         # the failure mode the restarts guard against
    outcome = optimize(DoubleWell())
    assert outcome.x[0] == pytest.approx(1.0, abs=1e-7) and outcome.llf == pytest.approx(0.0, abs=1e-12)


def test_newton_with_the_exact_hessian():
    outcome = optimize(Quadratic(A, M), np.zeros(3), optimizer="newton")
    np.testing.assert_allclose(outcome.x, M, atol=1e-12)
    np.testing.assert_array_equal(outcome.hessian, -A)
    assert outcome.converged and outcome.message == "converged" and outcome.n_iter <= 2
    stop = replace(GLMM_OPTIONS, check=lambda x, llf, g, H: "stopped by the check", warn=False)
    stopped = optimize(Quadratic(A, M), np.zeros(3), optimizer="newton", options=stop)
    assert not stopped.converged and stopped.message == "stopped by the check" and stopped.n_iter == 1
    with pytest.warns(ConvergenceWarning, match="the Hessian is not negative definite"):
        flat = optimize(Quadratic(-A, M), np.zeros(3), optimizer="newton")    # a minimum: no ascent direction
    assert not flat.converged
    with pytest.raises(TypeError, match="`optimizer`='newton' needs an objective with an exact Hessian"):
        optimize(DoubleWell(), optimizer="newton")


def test_non_convergence_warns():
    class Rosenbrock(Quadratic):
        def __init__(self):
            super().__init__(np.eye(2), np.zeros(2))

        def start(self):
            return np.array([-1.2, 1.0])

        def log_likelihood(self, x):
            self.evaluations += 1
            return -(100.0 * (x[1] - x[0] ** 2) ** 2 + (1.0 - x[0]) ** 2)

        def value_and_gradient(self, x):
            g = np.array([-400.0 * x[0] * (x[1] - x[0] ** 2) - 2.0 * (1.0 - x[0]), 200.0 * (x[1] - x[0] ** 2)])
            return self.log_likelihood(x), -g

    with pytest.warns(ConvergenceWarning, match="the optimizer did not converge: the gradient is"):
        outcome = optimize(Rosenbrock(), max_iter=1, options=replace(GLMM_OPTIONS, polish_steps=0))
    assert not outcome.converged
    converged = optimize(Rosenbrock(), optimizer="BFGS")
    np.testing.assert_allclose(converged.x, [1.0, 1.0], atol=1e-6)


def test_hessian_helper_is_one_sided_at_a_bound():
    objective = Quadratic(A, M, lower=[None, 0.0, None])
    x = np.array([0.1, 0.0, 1.0])                    # x1 at its bound: the difference steps up only
    np.testing.assert_allclose(hessian(objective, x), -A, rtol=1e-7, atol=1e-9)


def test_lmm_profiled_likelihood_is_minus_half_the_criterion():
    design = build_design("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    objective = LMMObjective(design, reml=True)
    likelihood = ProfiledLikelihood(objective)
    theta = np.array([0.9667, 0.0152, 0.2309])
    assert likelihood(theta) == -0.5 * objective(theta)
    value, grad = likelihood.value_and_gradient(theta)
    assert value == -0.5 * objective(theta)
    np.testing.assert_array_equal(grad, -0.5 * objective.value_and_grad(theta)[1])
    assert likelihood.names == ["theta[Subject: (Intercept), (Intercept)]", "theta[Subject: Days, (Intercept)]",
                                "theta[Subject: Days, Days]"]
    outcome = optimize_theta(objective)
    assert outcome.converged
    # lme4: REML criterion 1743.6283 (the module's doctest and test_lmm pin it to more digits)
    assert -2.0 * outcome.llf == pytest.approx(1743.6283, abs=1e-4)
    history = -2.0 * np.array(outcome.history)
    assert np.all(np.diff(history) <= 1e-12 * history[-1]) and history[-1] == -2.0 * outcome.llf
    # a singular criterion (A not positive definite, ...) is -inf to the optimizer, not an exception
    assert likelihood(np.array([np.nan, 0.0, 1.0])) == -np.inf


def test_input_validation():
    objective = Quadratic(A, M)
    with pytest.raises(ValueError, match="`optimizer` must be one of"):
        optimize(objective, optimizer="adam")
    with pytest.raises(TypeError, match="`optimizer` must be a scipy.optimize.minimize method name"):
        optimize(objective, optimizer=3)
    with pytest.raises(TypeError, match="`max_iter` must be a positive integer"):
        optimize(objective, max_iter=1.5)
    with pytest.raises(ValueError, match="`start` must have 3 values"):
        optimize(objective, np.zeros(2))
    with pytest.raises(ValueError, match="`start` must be finite"):
        optimize(objective, [0.0, np.nan, 0.0])
    with pytest.raises(TypeError, match="`options` must be an OptimizeOptions"):
        optimize(objective, options={"gtol": 1e-8})
    assert isinstance(LMM_OPTIONS, OptimizeOptions) and LMM_OPTIONS.deviance and not LMM_OPTIONS.rescale


# ------------------------------------------------------------------------------------- the public options
def _cbpp_objective():
    design = build_design("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"))
    return make_objective(design, "binomial", quadlib.Laplace())


def test_options_are_public_and_change_what_optimize_does():
    """OptimizeOptions and its two instances import from quadlib.glmm, and options given to the public
    optimize change the fit: one L-BFGS-B iteration without the Newton polish or restarts stops short (not
    converged, a ConvergenceWarning), ``warn=False`` silences it, GLMM_OPTIONS is the default."""
    assert {"OptimizeOptions", "GLMM_OPTIONS", "LMM_OPTIONS"} <= set(quadlib.glmm.__all__)
    assert quadlib.glmm.OptimizeOptions is OptimizeOptions and GLMM_OPTIONS == OptimizeOptions()
    full = optimize(_cbpp_objective())
    assert full.converged
    assert full.llf == pytest.approx(-92.02628, abs=1e-5)            # lme4's glmer (Laplace): logLik -92.02628
    with pytest.warns(ConvergenceWarning, match="the optimizer did not converge"):
        short = optimize(_cbpp_objective(), max_iter=1, options=OptimizeOptions(polish_steps=0, restarts=0))
    assert not short.converged and short.llf < full.llf - 1e-3 and short.n_iter == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = optimize(_cbpp_objective(), max_iter=1, options=replace(GLMM_OPTIONS, polish_steps=0, restarts=0,
                                                                        warn=False))
    assert not quiet.converged and quiet.llf == short.llf
    explicit = optimize(_cbpp_objective(), options=GLMM_OPTIONS)
    np.testing.assert_array_equal(explicit.x, full.x)


def test_options_are_documented_where_they_are_accepted():
    """Every public function of quadlib.glmm with an `options` parameter documents it as an OptimizeOptions,
    and the two instances carry docstrings of their own (autodoc and help read them)."""
    takers = [name for name in quadlib.glmm.__all__ if callable(getattr(quadlib.glmm, name))
              and not inspect.isclass(getattr(quadlib.glmm, name))
              and "options" in inspect.signature(getattr(quadlib.glmm, name)).parameters]
    assert "optimize" in takers
    for name in takers:
        assert "options : OptimizeOptions" in inspect.getdoc(getattr(quadlib.glmm, name)), name
    assert inspect.getdoc(GLMM_OPTIONS).startswith("The default constants of :func:`optimize`")
    assert inspect.getdoc(LMM_OPTIONS).startswith("lme4's constants")
    assert replace(LMM_OPTIONS, polish_steps=2) == replace(LMM_OPTIONS, polish_steps=2)   # a value: eq and hash
    assert len({LMM_OPTIONS, replace(LMM_OPTIONS), GLMM_OPTIONS}) == 2


@pytest.mark.parametrize("fields, error, match", [
    (dict(outside="clip"), ValueError, "`outside` must be one of 'halve', 'project', got 'clip'"),
    (dict(indefinite="ignore"), ValueError, "`indefinite` must be one of 'stop', 'gradient'"),
    (dict(convergence="loose"), ValueError, "`convergence` must be one of 'gradient', 'step'"),
    (dict(convergence="step"), ValueError, "`rounding` must be a number when `convergence` is 'step'"),
    (dict(polish_steps=-1), ValueError, "`polish_steps` must be an integer >= 0, got -1"),
    (dict(polish_steps=10 ** 6), ValueError, "`polish_steps` must be at most 1000"),
    (dict(restarts=2.5), TypeError, "`restarts` must be a positive integer"),
    (dict(newton_halvings=0), ValueError, "`newton_halvings` must be a positive integer, got 0"),
    (dict(max_evaluations=0), ValueError, "`max_evaluations` must be a positive integer"),
    (dict(warn="yes"), TypeError, "`warn` must be True or False, got 'yes'"),
    (dict(ftol=-1e-8), ValueError, "`ftol` must be non-negative"),
    (dict(gtol=np.nan), ValueError, "`gtol` must be finite"),
    (dict(hessian_step=0.0), ValueError, "`hessian_step` must be > 0"),
    (dict(hessian_step=2.0), ValueError, "`hessian_step` must be below 1"),
    (dict(stop_step=-1.0), ValueError, "`stop_step` must be non-negative"),
    (dict(check="separated"), TypeError, "`check` must be callable, got str"),
])
def test_options_input_validation(fields, error, match):
    with pytest.raises(error, match=match):
        OptimizeOptions(**fields)
    with pytest.raises(error, match=match):
        replace(GLMM_OPTIONS, **fields)


# ------------------------------------------------------------------- derivative-free objectives (issue 17)
class ValuesOnly(Quadratic):
    """The quadratic declaring ``derivatives = "values"``: a gradient call is a defect of the optimizer."""

    derivatives = "values"

    def value_and_gradient(self, x):
        raise AssertionError("a derivative-free objective's gradient was called")


def test_derivative_free_objective_uses_cobyqa_and_values_only():
    """COBYQA by default, no gradient call, the restricted maximum (x2 held at its bound 0, the others
    m_free - A_ff^-1 A_f2 (0 - m_2)) to the final radius, the Hessian over the free parameters from
    value_hessian equal to -A_ff."""
    objective = ValuesOnly(A, [0.3, -2.0, -1.0], lower=[None, None, 0.0])
    outcome = optimize(objective)
    expected = np.array([0.3, -2.0]) - np.linalg.solve(A[:2, :2], A[:2, 2] * (0.0 - -1.0))
    assert outcome.converged
    np.testing.assert_allclose(outcome.x, np.r_[expected, 0.0], atol=1e-6)
    assert outcome.x[2] == 0.0
    np.testing.assert_array_equal(outcome.free, [True, True, False])
    np.testing.assert_allclose(outcome.hessian, -A[:2, :2], rtol=1e-6)
    assert np.isnan(outcome.gradient).all()
    assert outcome.history == sorted(outcome.history) and outcome.history[-1] == outcome.llf
    unbounded = optimize(ValuesOnly(A, M), options=LMM_OPTIONS)     # lme4's deviance scale, no Hessian
    assert unbounded.converged and np.isnan(unbounded.hessian).all()
    np.testing.assert_allclose(unbounded.x, M, atol=1e-6)


def test_derivative_free_radii_bound_the_precision():
    coarse = optimize(ValuesOnly(A, M), options=replace(GLMM_OPTIONS, final_radius=1e-2, final_hessian=False))
    fine = optimize(ValuesOnly(A, M), options=replace(GLMM_OPTIONS, final_radius=1e-9, final_hessian=False))
    assert coarse.converged and fine.converged
    assert np.max(np.abs(fine.x - M)) < 1e-7 < np.max(np.abs(coarse.x - M)) < 1e-1
    assert coarse.n_evaluations < fine.n_evaluations


def test_derivative_free_methods_by_name_and_gradient_methods_on_request():
    for method in ("cobyla", "powell", "nelder-mead"):
        outcome = optimize(ValuesOnly(A, M), optimizer=method, options=replace(GLMM_OPTIONS, final_hessian=False))
        np.testing.assert_allclose(outcome.x, M, atol=1e-3)
    with pytest.raises(AssertionError, match="gradient was called"):   # a gradient method asks for one
        optimize(ValuesOnly(A, M), optimizer="L-BFGS-B")


def test_derivative_free_non_convergence_and_progress(capsys):
    with pytest.warns(ConvergenceWarning, match="the optimizer did not converge"):
        short = optimize(ValuesOnly(A, M), max_iter=2)
    assert not short.converged
    outcome = optimize(ValuesOnly(A, M), progress=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(outcome.history) > 3
    assert lines[0].startswith("  iteration    1: log-likelihood") and "evaluations" in lines[-1]

    class Undefined(ValuesOnly):
        def log_likelihood(self, x):
            return -np.inf

    with pytest.warns(ConvergenceWarning, match="not finite"):
        nowhere = optimize(Undefined(A, M))
    assert not nowhere.converged and nowhere.llf == -np.inf


def test_value_hessian_matches_the_analytic_hessian():
    """Interior point, a parameter at its bound (forward differences) and one near it (unequal spacing):
    a quadratic's second differences are exact up to rounding (~1e-15 / h^2)."""
    np.testing.assert_allclose(value_hessian(Quadratic(A, M), [0.1, 0.0, 1.0]), -A, atol=1e-6)
    bounded = Quadratic(A, M, lower=[None, 0.0, None])
    np.testing.assert_allclose(value_hessian(bounded, [0.1, 0.0, 1.0]), -A, atol=1e-6)
    np.testing.assert_allclose(value_hessian(bounded, [0.1, 3e-5, 1.0]), -A, atol=1e-6)
    np.testing.assert_allclose(value_hessian(bounded, [0.1, 3e-5, 1.0], free=[True, False, True]),
                               -A[np.ix_([0, 2], [0, 2])], atol=1e-6)

    class Cubic(Quadratic):
        def log_likelihood(self, x):
            return -x[0] ** 3 + x[0] * x[1] ** 2

    H = value_hessian(Cubic(A, M[:2]), [0.5, 2.0], relative_step=1e-5)   # O(h^2) against [[-6x, 2y], [2y, 2x]]
    np.testing.assert_allclose(H, [[-3.0, 4.0], [4.0, 1.0]], atol=1e-4)


def test_derivative_free_input_validation():
    bad = ValuesOnly(A, M)
    bad.derivatives = "hessian"
    with pytest.raises(ValueError, match="`objective.derivatives` must be one of 'gradient', 'values'"):
        optimize(bad)
    with pytest.raises(ValueError, match="`final_radius` must be at most `initial_radius`"):
        OptimizeOptions(final_radius=1.0)
    with pytest.raises(ValueError, match="`initial_radius` must be > 0"):
        OptimizeOptions(initial_radius=0.0)
    with pytest.raises(ValueError, match="`final_radius` must be > 0"):
        replace(LMM_OPTIONS, final_radius=-1e-7)


def test_value_polish_reaches_the_maximum_from_a_coarse_radius():
    """One Newton step on value differences from COBYQA's coarse answer (radius 1e-2) lands on the
    quadratic's maximum (its differences are exact up to rounding). From a step well inside the stencil
    (radius 1e-5) the polishing Hessian is still current and is the final one: 2 n^2 + 1 = 19 evaluations
    and the trial point more than the method, where a final Hessian alone costs 19."""
    for radius in (1e-2, 1e-5):
        coarse = replace(GLMM_OPTIONS, final_radius=radius, final_hessian=False)
        plain = optimize(ValuesOnly(A, M), options=coarse)
        polished = optimize(ValuesOnly(A, M), options=replace(coarse, value_polish_steps=1, final_hessian=True))
        assert np.max(np.abs(plain.x - M)) > 1e-8
        np.testing.assert_allclose(polished.x, M, atol=1e-8)
        np.testing.assert_allclose(polished.hessian, -A, atol=1e-6)
        assert polished.history[-1] == polished.llf >= plain.llf
    assert polished.n_evaluations == plain.n_evaluations + 2 * 3 ** 2 + 1 + 1
    with pytest.raises(ValueError, match="`value_polish_steps` must be at most 100"):
        replace(GLMM_OPTIONS, value_polish_steps=101)
    with pytest.raises(ValueError, match="`value_step` must be below 1"):
        replace(GLMM_OPTIONS, value_step=1.5)
