"""Issue 20's surface of the result classes (quadlib.glmm._result.MixedResult, GLMMResult, LMMResult): the
read-only fit pieces and the inference methods that delegate to the inference modules. The numbers come
from R (tests/reference/issue20_reference.json, issue20_profile_exact.json) or from closed forms; the
delegating modules' own tests cover their algorithms.
"""
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quadlib.glmm import datasets, lmm

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


def reference(name="issue20_reference.json"):
    return json.loads((REFERENCE / name).read_text())


@pytest.fixture(scope="module")
def sleep_reml():
    return lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))


# ------------------------------------------------------------------------------ the fit's pieces, read-only
def test_lmm_objective_solution_optimizer_are_public_and_read_only(sleep_reml):
    r = sleep_reml
    assert r.objective.reml is True
    # the solution is the objective's at the reported theta: its beta is params, its r2 gives sigma
    # (REML: sigma^2 = r2 / (n - p))
    np.testing.assert_allclose(r.solution.beta, r.params.to_numpy(), rtol=1e-12)
    n, p = r.nobs, len(r.params)
    assert np.sqrt(r.solution.r2 / (n - p)) == pytest.approx(r.sigma, rel=1e-12)
    # the optimizer refits the objective to the same optimum
    again = r.optimizer(r.objective, r.theta)
    np.testing.assert_allclose(again.x, r.theta, rtol=1e-5, atol=1e-7)
    for name in ("objective", "solution", "optimizer"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(r, name, None)
