"""quadlib.glmm._newton: the one damped Newton loop (status, bounds, halving, stopping rules)."""
import numpy as np
import pytest

from quadlib.glmm import _newton
from quadlib.glmm._newton import newton


def quadratic(A, b):
    """f(x) = -x'Ax/2 + b'x (maximum at A^-1 b), with its gradient and Hessian."""
    def evaluate(x):
        return float(-0.5 * x @ A @ x + b @ x), (b - A @ x, -A)

    def direction(x, value, info):
        g, H = info
        return np.linalg.solve(-H, g)
    return evaluate, direction


def test_one_newton_step_solves_a_quadratic():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    evaluate, direction = quadratic(A, b)
    res = newton(evaluate, direction, np.zeros(2), max_iter=10, tol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), rtol=1e-14)
    # the first step lands on the maximum, the second is at rounding level (within the slack): converged
    assert res.status == _newton.CONVERGED and res.converged and res.n_iter == 2 and res.last_t == 1.0
    assert res.history[-1] == pytest.approx(0.5 * b @ np.linalg.solve(A, b), rel=1e-14)


def test_step_halving_on_a_non_quadratic():
    """f(x) = -log(cosh(x)): the Newton step from x = 2 overshoots (|d| = sinh(2) cosh(2) ~ 13.6); halving
    makes every accepted step an ascent and the iteration reaches 0."""
    evaluate = lambda x: (float(-np.log(np.cosh(x[0]))), None)
    direction = lambda x, value, info: np.array([-np.sinh(x[0]) * np.cosh(x[0])])
    res = newton(evaluate, direction, [2.0], max_iter=50, tol=1e-12)
    assert res.converged and abs(res.x[0]) < 1e-10
    assert np.all(np.diff(res.history) >= 0) and res.history[0] > -np.log(np.cosh(2.0))


def test_status_codes():
    evaluate = lambda x: (float(-x @ x), None)
    res = newton(evaluate, lambda x, v, i: None, [1.0], max_iter=5)
    assert res.status == _newton.NO_DIRECTION and res.n_iter == 0 and np.isnan(res.last_t)
    # a direction along which the objective only falls: 3 trials, then NO_PROGRESS
    calls = []
    counted = lambda x: (calls.append(x.copy()), evaluate(x))[1]
    res = newton(counted, lambda x, v, i: np.array([1.0]), [1.0], max_iter=5, max_halvings=3)
    assert res.status == _newton.NO_PROGRESS and len(calls) == 1 + 3
    np.testing.assert_allclose([c[0] for c in calls[1:]], [2.0, 1.5, 1.25])
    # a bound on the accepted steps
    slow = lambda x, v, i: -0.1 * x
    res = newton(evaluate, slow, [1.0], max_iter=4, tol=1e-12)
    assert res.status == _newton.MAX_ITER and res.n_iter == 4
    assert res.x[0] == pytest.approx(0.9 ** 4, rel=1e-14)
    res = newton(lambda x: (np.nan, None), slow, [1.0], max_iter=4)
    assert res.status == _newton.NOT_FINITE
    res = newton(evaluate, slow, [1.0], max_iter=4, check=lambda x, v, i: "stop here" if x[0] < 0.85 else None)
    assert res.status == _newton.STOPPED and res.message == "stop here" and res.n_iter == 2
    with pytest.raises(ValueError, match="`outside`"):
        newton(evaluate, slow, [1.0], max_iter=1, outside="clip")


def test_slack_and_ratchet():
    """A flat objective (rounding-level changes) is accepted within the slack, refused without."""
    values = iter([0.0, -1e-14, -2e-14, -3e-14])
    evaluate = lambda x: (next(values), None)
    res = newton(evaluate, lambda x, v, i: np.ones(1), [0.0], max_iter=3, max_halvings=1, atol=1.5e-14)
    # the first trial (-1e-14) is within 1.5e-14 of 0; the second (-2e-14) is within it of -1e-14
    assert res.n_iter == 3 and res.status == _newton.MAX_ITER
    values = iter([0.0, -1e-14, -2e-14, -3e-14])
    res = newton(evaluate, lambda x, v, i: np.ones(1), [0.0], max_iter=3, max_halvings=1, atol=1.5e-14,
                 ratchet=True)
    # with the ratchet the reference stays 0: -2e-14 is refused
    assert res.n_iter == 1 and res.status == _newton.NO_PROGRESS and res.value == 0.0


def test_lower_bounds_project_or_halve():
    evaluate = lambda x: (float(-np.sum((x + 1.0) ** 2)), None)   # maximum at -1, below the bound 0
    direction = lambda x, v, i: -2.0 * (x + 1.0) / 2.0
    projected = newton(evaluate, direction, [1.0, 2.0], max_iter=5, lower=[0.0, 0.0], tol=1e-12)
    np.testing.assert_array_equal(projected.x, [0.0, 0.0])
    assert projected.converged
    seen = []
    halved = newton(lambda x: (seen.append(x.copy()), evaluate(x))[1], direction, [1.0], max_iter=1,
                    lower=[0.0], outside="halve")
    # x = 1, d = -2: trial -1 is outside (not evaluated), 0 is taken
    assert [s[0] for s in seen] == [1.0, 0.0] and halved.x[0] == 0.0
