"""quadlib.glmm._blocked_laplace: the Laplace approximation with several grouping factors on the blocked factor
(PIRLS), lme4's two stages in fit, and fit(family="gaussian") through lmm's engine.

References: lme4's glmer at tolPwrss = 1e-14 (1e-13 for the nested case, where 1e-14 fails) in
tests/reference/blocked_reference.json (tests/reference/blocked_reference.R); lme4's lmer in
tests/reference/lmm_reference.json; the twin is JointObjective (quadlib.sparse_laplace on the whole sparse system,
an independent implementation).
"""
import json
from pathlib import Path
import warnings

import numpy as np
import pandas as pd
import pytest

import quadlib
from quadlib.glmm import build_design, fit, lmm, make_objective
from quadlib.glmm._blocked_laplace import BetaProfiledLaplace, BlockedLaplaceObjective
from quadlib.glmm._objective import JointObjective, Objective

REFERENCE = Path(__file__).parent.parent / "reference"
BLOCKED = json.loads((REFERENCE / "blocked_reference.json").read_text())


def _poisson_crossed():
    return pd.read_csv(REFERENCE / "poisson_crossed.csv", dtype={"a": str, "b": str})


def _simulated(kind, family, seed):
    """Small designs: crossed with a correlated random slope, or nested three levels deep."""
    rng = np.random.default_rng(seed)
    if kind == "crossed":
        data = pd.DataFrame({"s": np.repeat([f"s{i}" for i in range(14)], 9),
                             "i": np.tile([f"i{j}" for j in range(9)], 14)})
        data = data.sample(frac=0.8, random_state=seed).reset_index(drop=True)      # partially crossed
        data["x"] = rng.normal(size=len(data))
        s = data["s"].str[1:].astype(int).to_numpy()
        i = data["i"].str[1:].astype(int).to_numpy()
        eta = -0.3 + 0.5 * data["x"] + rng.normal(0, 0.8, 14)[s] + rng.normal(0, 0.4, 14)[s] * data["x"] \
            + rng.normal(0, 0.6, 9)[i]
        formula = "y ~ x + (1 + x | s) + (1 | i)"
    else:
        data = pd.DataFrame({"a": np.repeat([f"a{i}" for i in range(5)], 24),
                             "b": np.tile(np.repeat([f"b{j}" for j in range(4)], 6), 5),
                             "c": np.tile(np.repeat([f"c{k}" for k in range(3)], 2), 20)})
        data["x"] = rng.normal(size=len(data))
        a, ab = pd.factorize(data["a"])[0], pd.factorize(data["a"] + data["b"])[0]
        abc = pd.factorize(data["a"] + data["b"] + data["c"])[0]
        eta = 0.2 + 0.3 * data["x"] + rng.normal(0, 0.5, 5)[a] + rng.normal(0, 0.4, 20)[ab] \
            + rng.normal(0, 0.3, 60)[abc]
        formula = "y ~ x + (1 | a/b/c)"
    mu = 1 / (1 + np.exp(-eta)) if family == "binomial" else np.exp(eta)
    data["y"] = rng.binomial(1, mu) if family == "binomial" else rng.poisson(mu)
    return formula, data


CASES = [("crossed", "binomial"), ("crossed", "poisson"), ("nested", "binomial"), ("nested", "poisson")]


def test_dispatch_and_fallback(monkeypatch):
    design = build_design("y ~ x + (1 | a) + (1 | b)", _poisson_crossed())
    objective = make_objective(design, "poisson")
    assert type(objective) is BlockedLaplaceObjective and objective.derivatives == "values"
    assert type(Objective(design, "poisson")) is BlockedLaplaceObjective
    with pytest.raises(ValueError, match="only method='laplace' is available"):
        make_objective(design, "poisson", quadlib.AdaptiveGaussHermite(5))

    # the structure refuses the design (a dense block over the memory bound): the sparse joint Laplace
    import quadlib.glmm._blocked_laplace as module

    def refuse(*args, **kwargs):
        raise module.BlockedUnsupported("over the bound")

    monkeypatch.setattr(module.BlockedStructure, "from_blocks", refuse)
    assert type(make_objective(design, "poisson")) is JointObjective


@pytest.mark.parametrize("kind, family", CASES)
def test_log_likelihood_equals_the_joint_laplace(kind, family):
    formula, data = _simulated(kind, family, seed=5)
    design = build_design(formula, data)
    ours, twin = BlockedLaplaceObjective(design, family), JointObjective(design, family)
    rng = np.random.default_rng(7)
    start = ours.start()
    for _ in range(4):
        x = start + rng.normal(0, 0.3, start.size)
        for block in ours.blocks:   # diagonals of the factors positive
            x[block.theta][block.diagonal] = np.abs(x[block.theta][block.diagonal]) + 0.05
        x[ours.n_beta:] = np.where(ours.layout.diagonal, np.abs(x[ours.n_beta:]) + 0.05, x[ours.n_beta:])
        value, reference = ours(x), twin(x)
        assert ours.last.success and np.isfinite(reference)
        assert abs(value - reference) <= 1e-9 * abs(reference), (x, value, reference)
        ours.reset_warm_start()
        assert abs(ours(x) - value) <= 1e-10 * abs(value)       # from u = 0: the same mode


@pytest.mark.parametrize("kind, family", [("crossed", "binomial"), ("nested", "poisson")])
def test_conditional_modes_equal_the_joint_laplace(kind, family):
    formula, data = _simulated(kind, family, seed=11)
    design = build_design(formula, data)
    ours, twin = BlockedLaplaceObjective(design, family), JointObjective(design, family)
    x = ours.start()
    x[ours.n_beta:] = np.where(ours.layout.diagonal, 0.7, 0.1)
    mine, theirs = ours.conditional_modes(x), twin.conditional_modes(x)   # the twin by dense solves (Q <= 4000)
    assert set(mine) == set(theirs) == {block.group for block in ours.blocks}
    for group in mine:
        np.testing.assert_allclose(mine[group][0], theirs[group][0], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(mine[group][1], theirs[group][1], rtol=1e-8, atol=1e-12)
    eta = ours.linear_predictor(x)
    np.testing.assert_allclose(eta, twin.linear_predictor(x), rtol=1e-10, atol=1e-10)


def test_beta_profiled_stage_is_the_laplace_at_the_joint_mode():
    """lme4's nAGQ = 0: beta at the joint mode of (u, beta); the value there is the Laplace log-likelihood
    at (beta, theta), and beta maximizes h over beta (X' d1 = 0 at the mode)."""
    formula, data = _simulated("crossed", "poisson", seed=3)
    objective = make_objective(build_design(formula, data), "poisson")
    profiled = objective.beta_profiled()
    assert isinstance(profiled, BetaProfiledLaplace) and profiled.derivatives == "values"
    assert profiled.names == objective.names[objective.n_beta:] and profiled.n_params == 4
    theta = np.array([0.6, 0.1, 0.3, 0.5])
    loose = profiled(theta)            # by default no extra Newton step after the tolerance (a loose stage)
    profiled.final_step = True
    value = profiled(theta)
    beta = profiled.warm_beta
    assert profiled.last.success and np.isfinite(value)
    assert abs(objective(np.r_[beta, theta]) - value) <= 1e-10 * abs(value)
    assert abs(loose - value) <= 1e-6 * abs(value)
    # beta is the maximizer of the Laplace h at fixed u: moving it lowers h(u*, beta) - the profiled value
    # is at least the Laplace value at nearby betas to second order
    for step in (np.array([1e-3, 0.0]), np.array([0.0, -1e-3])):
        assert objective(np.r_[beta + step, theta]) < value + 1e-6
    np.testing.assert_allclose(profiled.start_from(type("O", (), {"x": theta})()), np.r_[beta, theta], atol=1e-9)


def test_failure_is_minus_infinity_with_a_reason():
    """Gamma with the inverse link: eta <= 0 has no mean. PIRLS reports it in `last`, never raises."""
    rng = np.random.default_rng(4)
    data = pd.DataFrame({"a": np.repeat(list("abcdef"), 6), "b": np.tile(list("uvwxyz"), 6)})
    data["y"] = rng.gamma(2.0, 1.0, 36) + 0.1
    objective = make_objective(build_design("y ~ 1 + (1 | a) + (1 | b)", data), "Gamma")
    assert type(objective) is BlockedLaplaceObjective
    assert np.isfinite(objective(np.array([0.8, 0.02, 0.02, np.log(2.0)])))
    assert objective(np.array([-0.5, 0.02, 0.02, np.log(2.0)])) == -np.inf
    assert not objective.last.success and objective.last.message
    modes = objective.conditional_modes(np.array([-0.5, 0.02, 0.02, np.log(2.0)]))
    assert np.all(np.isnan(modes["a"][0]))


def test_crossed_poisson_matches_glmer():
    """glmer at tolPwrss = 1e-14 (blocked_reference.R): the Laplace value at glmer's parameters equals glmer's
    logLik, and the fit equals glmer's to 1e-5 (measured: 2e-7)."""
    ref = BLOCKED["poisson_crossed"]
    data = _poisson_crossed()
    x_ref = np.r_[list(ref["fixef"].values()), ref["theta"]]
    objective = make_objective(build_design("y ~ x + (1 | a) + (1 | b)", data), "poisson")
    assert abs(objective(x_ref) - ref["logLik"]) < 1e-8
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fit("y ~ x + (1 | a) + (1 | b)", data, family="poisson")
    assert res.converged
    np.testing.assert_allclose(res.x, x_ref, rtol=0, atol=1e-5)
    assert res.llf >= ref["logLik"] - 1e-8
    np.testing.assert_allclose(res.bse.to_numpy(), ref["se"], rtol=1e-3)
    sd = res.random_effects["a"]["sd((Intercept))"].to_numpy()
    assert np.all(sd > 0) and np.all(sd < ref["theta"][0])


@pytest.mark.slow
def test_nested_poisson_matches_glmer():
    """glmer at tolPwrss = 1e-13 is itself good to about 1e-5 here (blocked_reference.R): parameters within
    1e-5 of it, or a log-likelihood at least as high."""
    ref = BLOCKED["poisson_nested"]
    data = pd.read_csv(REFERENCE / "poisson_nested.csv.gz", dtype={"a": str, "b": str, "c": str})
    res = fit("y ~ x + (1 | a/b/c)", data, family="poisson")
    # lme4 orders the terms c:(b:a), b:a, a; ours a, a:b, a:b:c
    x_ref = np.r_[list(ref["fixef"].values()), ref["theta"][::-1]]
    assert res.converged
    assert np.max(np.abs(res.x - x_ref)) < 1e-5 or res.llf >= ref["logLik"] - 1e-8
    assert abs(res.llf - ref["logLik"]) < 1e-6


def test_gaussian_fit_is_lmm_ml():
    """fit(family="gaussian") with several grouping factors goes through lmm's engine (reml=False): the same
    estimates, mapped to fit's parameters (sigma * theta, log sigma)."""
    data = pd.read_csv(REFERENCE / "lmm_crossed.csv")
    formula = "y ~ x + (x | plate) + (1 | sample)"
    ml = lmm(formula, data, reml=False)
    res = fit(formula, data, family="gaussian")
    assert res.converged and type(res.objective) is BlockedLaplaceObjective
    np.testing.assert_allclose(res.params.to_numpy(), ml.params.to_numpy(), rtol=1e-8)
    assert abs(res.llf - ml.llf) < 1e-8 * abs(ml.llf)
    assert abs(res.sigma - ml.sigma) < 1e-8 * ml.sigma
    for group in ("plate", "sample"):
        np.testing.assert_allclose(res.cov_re[group].to_numpy(), ml.cov_re[group].to_numpy(), rtol=1e-8,
                                   atol=1e-12)
    # the Laplace approximation is exact for the gaussian: the objective agrees with lmm's likelihood
    assert abs(res.objective(res.x) - ml.llf) < 1e-8 * abs(ml.llf)
    np.testing.assert_allclose(res.bse.to_numpy(), ml.bse.to_numpy(), rtol=2e-3)


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_separation_certificate_agrees_with_the_linear_program(family):
    """separation()'s fast certificate (Stiemke's lemma at the GLM's estimate) never claims 'not separated' for
    separated data, and settles ordinary data without the linear program."""
    from quadlib.glmm._design import normalize_response
    from quadlib.glmm._families import make_family
    from quadlib.glmm._objective import not_separated, separation

    rng = np.random.default_rng(8)
    fam = make_family(family)
    data = pd.DataFrame({"x": rng.normal(size=200), "z": rng.normal(size=200),
                         "g": np.repeat(list("abcdefghij"), 20)})
    mu = np.exp(0.3 + 0.5 * data["x"])
    data["y"] = rng.binomial(1, mu / (1 + mu)) if family == "binomial" else rng.poisson(mu)
    data["f"] = (data["x"] > 0.5).astype(float)
    # quasi-complete separation along f: every row with f = 1 a success (binomial) or a zero count (poisson)
    separated = data.assign(y=np.where(data["f"] == 1, 1 if family == "binomial" else 0, data["y"]))
    for frame, expected in ((data, False), (separated, True)):
        design = build_design("y ~ x + f + (1 | g)", frame)
        y, n = normalize_response(design, fam)
        found = separation(fam, y, n, design)
        assert ("f" in found) is expected
        assert not_separated(fam, y, n, design) is (not expected)


def test_no_fixed_effects():
    """A model without fixed effects (``0 + ...``) fits through the two stages (the stage-one predictor once
    built an empty matrix and raised an internal error; found by the reliability property test), and its
    log-likelihood at the optimum is the sparse joint Laplace's (an independent implementation)."""
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": np.repeat(np.arange(20), 10), "b": np.tile(np.arange(10), 20)})
    data["y"] = rng.poisson(2.0, len(data))
    res = fit("y ~ 0 + (1 | a) + (1 | b)", data, family="poisson")
    assert res.converged and isinstance(res.objective, BlockedLaplaceObjective)
    twin = JointObjective(build_design("y ~ 0 + (1 | a) + (1 | b)", data), "poisson")
    assert abs(res.llf - twin(res.x)) < 1e-8 * abs(res.llf)
    tiny = pd.DataFrame({"y": [2.0, 0.0], "g": [0, 1], "h": [0, 0]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isfinite(fit("y ~ 0 + (1 | g/h)", tiny, family="poisson").llf)
