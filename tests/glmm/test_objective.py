"""quadlib.glmm._objective, stage 2: the Objective protocol, ClusterObjective and JointObjective.

Each gradient path (declared by the integrator) against central differences of the log-likelihood itself;
the dispatch between the two objectives; parameters outside the family's domain (a quadlib.DomainError from
the core) as -inf; the warm-start state; the free functions glm_start, check_response and separation against
closed forms or an independent maximization."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

import quadlib
from quadlib.glmm import Objective, build_design, datasets, make_family, make_objective
from quadlib.glmm._design import normalize_response
from quadlib.glmm._blocked_laplace import BlockedLaplaceObjective
from quadlib.glmm._objective import (ClusterObjective, JointObjective, check_response, glm_start, gradient_path,
                                     separation)

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
X_CBPP = np.array([-1.4, -1.0, -1.1, -1.6, 0.65])
CROSSED = Path(__file__).parent.parent / "reference" / "crossed_binary.csv"


@pytest.fixture(scope="module")
def cbpp():
    return build_design(CBPP, datasets.load("cbpp"))


@pytest.fixture(scope="module")
def crossed():
    return build_design("y ~ x + (1 | subject) + (1 | item)", pd.read_csv(CROSSED))


def numeric_gradient(objective, x, h=1e-6):
    return np.array([(objective(x + h * e) - objective(x - h * e)) / (2 * h) for e in np.eye(x.size)])


class _Wrapped:
    """A user's integrator: the protocol's log_integrals only (no `gradient`: central differences)."""

    name = "wrapped"

    def __init__(self, inner):
        self.inner = inner

    def log_integrals(self, *args, **kwargs):
        return self.inner.log_integrals(*args, **kwargs)


class _Elsewhere(_Wrapped):
    """Declares the adaptive rule's gradient but calls log_g once more, elsewhere, after the rule: the objective
    must evaluate the family's derivatives at the returned points itself."""

    gradient = "adaptive"

    def log_integrals(self, log_g, n_clusters, q=1, **kwargs):
        res = self.inner.log_integrals(log_g, n_clusters, q, **kwargs)
        log_g(np.zeros((n_clusters, 1, q)))
        return res


def test_make_objective_dispatches(cbpp, crossed):
    one = make_objective(cbpp)
    assert type(one) is ClusterObjective and isinstance(one, Objective) and not one.joint
    several = make_objective(crossed)   # the blocked factor (tests/glmm/test_blocked_laplace.py)
    assert type(several) is BlockedLaplaceObjective and several.joint and JointObjective(crossed).joint
    assert type(Objective(cbpp, "binomial")) is ClusterObjective
    assert one.names == ["(Intercept)", "period2", "period3", "period4", "theta[herd: (Intercept), (Intercept)]"]
    assert one.bounds[-1] == (0.0, None) and one.n_params == 5


def test_gradient_paths_are_declared():
    assert gradient_path(quadlib.Laplace()) == "laplace"
    assert gradient_path(quadlib.AdaptiveGaussHermite(1)) == "laplace"
    assert gradient_path(quadlib.AdaptiveGaussHermite(7)) == "adaptive"
    assert gradient_path(quadlib.SparseGridGaussHermite(2)) == "adaptive"
    held = quadlib.AdaptiveGaussHermite(7)
    held.gradient = "fixed_points"
    assert gradient_path(held) == "fixed_points"
    assert gradient_path(quadlib.QMCIntegrator(64)) == "adaptive"   # fixed Sobol' points, moved like nodes
    assert gradient_path(_Wrapped(quadlib.Laplace())) == "differences"   # undeclared: the safe default
    bad = _Wrapped(quadlib.Laplace())
    bad.gradient = "exact"
    with pytest.raises(ValueError, match="`integrator`: its `gradient` attribute must be one of"):
        gradient_path(bad)


@pytest.mark.parametrize("integrator", [quadlib.Laplace(), quadlib.AdaptiveGaussHermite(15),
                                        quadlib.QMCIntegrator(256, seed=3),
                                        _Wrapped(quadlib.AdaptiveGaussHermite(15))], ids=["laplace", "agq", "qmc", "user"])
def test_each_gradient_path_is_the_gradient(cbpp, integrator):
    objective = make_objective(cbpp, "binomial", integrator)
    value, grad = objective.value_and_gradient(X_CBPP)
    assert value == pytest.approx(objective(X_CBPP), rel=1e-12)
    np.testing.assert_allclose(grad, numeric_gradient(objective, X_CBPP), rtol=1e-5, atol=1e-6)


def test_fixed_point_gradient_when_the_last_call_was_elsewhere(cbpp):
    reference = make_objective(cbpp, "binomial", quadlib.AdaptiveGaussHermite(15)).value_and_gradient(X_CBPP)
    moved = make_objective(cbpp, "binomial", _Elsewhere(quadlib.AdaptiveGaussHermite(15)))
    value, grad = moved.value_and_gradient(X_CBPP)
    assert value == pytest.approx(reference[0], rel=1e-13)
    np.testing.assert_allclose(grad, reference[1], rtol=1e-10, atol=1e-12)


def test_joint_objective_gradient_and_modes(crossed):
    objective = make_objective(crossed)
    x = np.array([-0.2, 0.8, 0.6, 0.4])
    value, grad = objective.value_and_gradient(x)
    assert np.isfinite(value)
    np.testing.assert_allclose(grad, numeric_gradient(objective, x, 1e-5), rtol=1e-4, atol=1e-5)
    modes = objective.conditional_modes(x)
    assert set(modes) == {"subject", "item"}
    b, cov = modes["subject"]
    assert b.shape == (crossed.terms[0].n_levels, 1) and np.all(cov > 0)
    with pytest.raises(ValueError, match="posterior means need a single grouping factor"):
        objective.posterior_moments(x, quadlib.AdaptiveGaussHermite(5))


def test_outside_the_domain_is_minus_infinity():
    """Gamma with the inverse link: eta <= 0 has no mean; the core raises quadlib.DomainError, the objective
    reports -inf (and NaN modes), it does not raise."""
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"y": rng.gamma(2.0, 1.0, 60) + 0.1, "g": np.repeat(list("abcdefghij"), 6)})
    objective = make_objective(build_design("y ~ 1 + (1 | g)", data), "Gamma")
    inside = np.array([0.5, 0.05, np.log(2.0)])
    assert np.isfinite(objective(inside))
    outside = np.array([-0.5, 0.05, np.log(2.0)])            # eta = -0.5 < 0 in every row
    assert objective(outside) == -np.inf
    value, grad = objective.value_and_gradient(outside)
    assert value == -np.inf and np.all(np.isnan(grad))
    assert np.all(np.isnan(objective.conditional_modes(outside)["g"][0]))
    assert objective(np.array([np.inf, 0.05, 0.0])) == -np.inf     # not finite: outside too


def test_warm_start_state(cbpp):
    objective = make_objective(cbpp)
    assert objective.warm_modes is None and objective.evaluations == 0
    cold = objective(X_CBPP)
    assert objective.warm_modes.shape == (15, 1) and objective.last.success
    warm = objective(X_CBPP)                                  # started at the previous modes
    assert warm == pytest.approx(cold, rel=1e-12)
    objective.reset_warm_start()
    assert objective.warm_modes is None
    assert objective.evaluations == 2
    objective(X_CBPP)
    saved, integrator = objective.warm_modes.copy(), objective.integrator
    mean, cov, _ = objective.posterior_moments(X_CBPP, quadlib.AdaptiveGaussHermite(20))
    assert objective.integrator is integrator
    np.testing.assert_array_equal(objective.warm_modes, saved)    # posterior moments leave the state alone
    assert mean.shape == (15, 1) and np.all(cov > 0)


def test_glm_start_is_the_glm_estimate(cbpp):
    fam = make_family("binomial")
    y, n = normalize_response(cbpp, fam)
    X = cbpp.X

    def negative(b):
        eta = X @ b
        return -np.sum(y * eta - n * np.logaddexp(0.0, eta))
    independent = minimize(negative, np.zeros(X.shape[1]), method="BFGS", options={"gtol": 1e-10}).x
    np.testing.assert_allclose(glm_start(fam, y, n, cbpp), independent, atol=1e-6)
    start = make_objective(cbpp).start()
    np.testing.assert_allclose(start[:4], independent, atol=1e-6)
    assert start[4] == 1.0                                     # the random SD starts at 1


def test_check_response_and_separation():
    data = pd.DataFrame({"x": [-2.0, -1.0, -0.5, 0.5, 1.0, 2.0] * 3, "g": np.repeat(["a", "b", "c"], 6)})
    data["y"] = (data.x > 0).astype(float)                     # x separates the 0s from the 1s
    design = build_design("y ~ x + (1 | g)", data)
    fam = make_family("binomial")
    y, n = normalize_response(design, fam)
    assert separation(fam, y, n, design) == ["x"]
    assert make_objective(design).separation() == ["x"]
    mixed = data.assign(y=[0.0, 1.0, 0.0, 1.0, 0.0, 1.0] * 3)
    d2 = build_design("y ~ x + (1 | g)", mixed)
    assert separation(fam, *normalize_response(d2, fam), d2) == []
    none = data.assign(y=0.0)
    d3 = build_design("y ~ x + (1 | g)", none)
    with pytest.raises(ValueError, match="`formula`: the response has no successes"):
        check_response(fam, *normalize_response(d3, fam), d3)


def test_input_validation(cbpp, crossed):
    objective = make_objective(cbpp)
    with pytest.raises(ValueError, match="`params` must have 5 values"):
        objective(np.zeros(3))
    with pytest.raises(TypeError, match="`integrator` must be a quadlib integrator"):
        make_objective(cbpp, "binomial", object())
    with pytest.raises(ValueError, match="`method`: with several grouping factors \\(subject, item\\)"):
        make_objective(crossed, "binomial", quadlib.AdaptiveGaussHermite(5))
