"""Results of the issue-19 model classes (quadlib.glmm._result.GLMMResult): the parameter blocks beyond beta
(zi~, disp~, thresholds, family_params), their covariance, summary rows, predictions of the zero-inflated
mean and probability, simulation, and pickling. Expected values are computed by numpy from the fitted
parameters (never by the method under test).
"""
import pickle

import numpy as np
import pandas as pd
import pytest

from quadlib.glmm import build_design, make_objective


def crossed_poisson_data():
    rng = np.random.default_rng(7)
    data = pd.DataFrame({"a": np.repeat(list("abcdefgh"), 8), "b": np.tile(list("stuvwxyz"), 8)})
    data["y"] = rng.poisson(2.0, 64)
    return data


def test_pickled_blocked_objective_keeps_its_value():
    """A BlockedFactor's diagonal views are remade on unpickling (they were stale copies: a crossed fit's
    objective, pickled inside a result to a Dask worker, gave another log-likelihood)."""
    objective = make_objective(build_design("y ~ 1 + (1 | a) + (1 | b)", crossed_poisson_data()), "poisson")
    x = np.array([0.7, 0.3, 0.2])
    value = objective(x)
    fresh = pickle.loads(pickle.dumps(make_objective(objective.design, "poisson")))
    assert fresh(x) == pytest.approx(value, abs=1e-10)
    used = pickle.loads(pickle.dumps(objective))
    assert used(x) == pytest.approx(value, abs=1e-10)
