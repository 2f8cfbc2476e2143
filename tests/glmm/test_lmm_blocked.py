"""quadlib.glmm._lmm on the blocked engine (several grouping factors: quadlib.glmm._blocked) against lme4.

The references are lme4's converged fits: tests/reference/lmm_reference.json (lmm_reference.R: the crossed and
nested examples) and tests/reference/blocked_reference.json (blocked_reference.R: InstEval, ML and REML, lmer at
bobyqa rhoend 1e-12, and "polished", the optimum of lme4's own criterion located by Newton steps in R). The
engine is forced with ``LMMObjective(..., sparse=True)``; lmm() picks it by itself above 250 random effects.
"""
from functools import lru_cache, partial
import json
from pathlib import Path
import warnings

import numpy as np
import pandas as pd
import pytest

from quadlib.glmm import datasets
from quadlib.glmm import _blocked
import quadlib.glmm._lmm_result as lmm_result_module
from quadlib.glmm._design import build_design
from quadlib.glmm._lmm import LMMObjective, LMMResult, ProfiledLikelihood, lmm, optimize_theta

REFERENCE = Path(__file__).resolve().parent.parent / "reference"
FITS = json.loads((REFERENCE / "lmm_reference.json").read_text())["fits"]
MULTI = ["crossed_int_reml", "crossed_slope_ml", "nested_reml", "nested_ml"]


@lru_cache(maxsize=None)
def _data(name):
    return datasets.load(name) if name == "sleepstudy" else pd.read_csv(REFERENCE / f"{name}.csv")


@lru_cache(maxsize=None)
def _fit(key, sparse):
    ref = FITS[key]
    data = _data(ref["data"])
    design = build_design(ref["formula"], data)
    objective = LMMObjective(design, ref["REML"], sparse=sparse)
    optimum = optimize_theta(objective, restarts=0)
    return LMMResult.from_fit(design=design, objective=objective, optimum=optimum, data=data,
                              optimizer=partial(optimize_theta, restarts=0))


def _group_key(group):
    return ":".join(sorted(group.split(":")))


# ---------------------------------------------------------------------------------------------------------
# the engine and the optimizer it asks for
# ---------------------------------------------------------------------------------------------------------
def test_engine_selection():
    ref = FITS["crossed_slope_ml"]
    design = build_design(ref["formula"], _data("lmm_crossed"))
    dense = LMMObjective(design, False)                       # q = 2 x 10 + 24 <= 250: dense, as before
    assert dense.engine == "dense" and not dense.sparse and dense.derivatives == "gradient"
    blocked = LMMObjective(design, False, sparse=True)
    assert blocked.engine == "blocked" and blocked.sparse and blocked.derivatives == "values"
    assert ProfiledLikelihood(blocked).derivatives == "values" and ProfiledLikelihood(dense).derivatives == "gradient"
    assert "blocked" in repr(blocked)
    theta = np.array([1.3, 0.2, 0.5, 1.1])
    assert blocked(theta) == pytest.approx(dense(theta), rel=1e-13)
    value, grad = blocked.value_and_grad(theta)                # central differences, for callers that ask
    np.testing.assert_allclose(grad, dense.value_and_grad(theta)[1], rtol=1e-5, atol=1e-6)
    # above 250 random effects lmm picks the blocked engine by itself: 300 x 40 crossed levels
    big = _crossed(300, 40, 6, seed=4)
    assert LMMObjective(build_design("y ~ x + (1 | a) + (1 | b)", big)).engine == "blocked"


def test_criterion_noise_is_the_dense_engines():
    """The penalized RSS is summed from the residuals, not read off the factor (the module notes of
    _penalized_rss): along a line of steps of 1e-9 the blocked criterion equals the dense one to 1e-12."""
    ref = FITS["crossed_slope_ml"]
    design = build_design(ref["formula"], _data("lmm_crossed"))
    dense, blocked = LMMObjective(design, False, sparse=False), LMMObjective(design, False, sparse=True)
    theta = np.array(ref["theta"])
    for t in range(-3, 4):
        point = theta + t * 1e-9 * np.array([1.0, 0.3, -0.5, 0.7])
        assert blocked(point) == pytest.approx(dense(point), abs=1e-12 * dense(point))


# ---------------------------------------------------------------------------------------------------------
# the crossed and nested references of lmm_reference.json through the blocked engine
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", MULTI)
def test_against_lme4(key):
    """test_lmm.test_against_lme4's tolerances, on the blocked engine; theta to 1e-6."""
    ref = FITS[key]
    result = _fit(key, True)
    assert result._objective.engine == "blocked" and result.converged
    if key.startswith("nested"):   # lme4 puts classroom:school first; both terms are scalar
        np.testing.assert_allclose(result.theta[::-1], ref["theta"], atol=1e-6)
    else:
        np.testing.assert_allclose(result.theta, ref["theta"], atol=1e-6)
    for name, value in ref["fixef"].items():
        assert result.params[name] == pytest.approx(value, abs=1e-5), name
    np.testing.assert_allclose(result.bse[list(ref["se"])], list(ref["se"].values()), rtol=1e-3)
    np.testing.assert_allclose(result.cov_params().to_numpy(), np.array(ref["vcov"]), rtol=1e-3, atol=1e-12)
    ours = {(_group_key(g), name): sd for g, s in result.sd_re.items() for name, sd in s.items()}
    for t in ref["terms"]:
        names = [t["names"]] if isinstance(t["names"], str) else t["names"]
        for name, sd in zip(names, np.atleast_1d(t["sd"])):
            assert ours[_group_key(t["group"]), name] == pytest.approx(sd, abs=1e-5)
    assert result.sigma == pytest.approx(ref["sigma"], abs=1e-5)
    assert result.llf == pytest.approx(ref["logLik"], rel=1e-9)
    if ref["REML"]:
        assert result.reml_criterion == pytest.approx(ref["REMLcrit"], rel=1e-9)
    else:
        assert result.deviance == pytest.approx(ref["deviance_ML"], rel=1e-9)


@pytest.mark.parametrize("key", MULTI)
def test_results_equal_the_dense_engines(key):
    """Conditional modes and SDs (condvar_blocks against the dense inverse), fitted values, predictions of
    new data and simulations of the blocked fit equal the dense engine's (itself checked against lme4 in
    test_lmm)."""
    blocked, dense = _fit(key, True), _fit(key, False)
    assert blocked._solution.factor[0] == "blocked" and dense._solution.factor[0] == "dense"
    np.testing.assert_allclose(blocked.theta, dense.theta, atol=2e-7)
    assert blocked.llf == pytest.approx(dense.llf, rel=1e-12)
    for group, frame in dense.random_effects.items():
        np.testing.assert_allclose(blocked.random_effects[group].to_numpy(), frame.to_numpy(), rtol=1e-6,
                                   atol=1e-7)
    np.testing.assert_allclose(blocked.fittedvalues, dense.fittedvalues, rtol=1e-8)
    data = _data(FITS[key]["data"])
    new = data.iloc[::7].copy()
    new.iloc[0, 1] = "unseen"      # a new level of the second grouping column (sample, classroom)
    np.testing.assert_allclose(blocked.predict(new), dense.predict(new), rtol=1e-8)
    np.testing.assert_allclose(blocked.predict(data), blocked.fittedvalues, rtol=1e-12)
    np.testing.assert_allclose(blocked.simulate(3, seed=2), dense.simulate(3, seed=2), rtol=1e-6)


def test_profile_intervals_on_the_blocked_engine():
    """At each end of a profile interval of a blocked REML fit, the ML refit with the fixed effect held there
    (through the blocked engine) lies chi2_1(0.95) / 2 below the ML maximum."""
    from scipy.stats import chi2

    result = _fit("crossed_int_reml", True)
    ci = result.conf_int(method="profile")
    ml = LMMObjective(result.design, False, sparse=True)
    top = optimize_theta(ml).llf
    for j, name in enumerate(result.params.index):
        for end in ci.loc[name]:
            fixed = ml._with_fixed(j, end)
            assert fixed.engine == "blocked" and fixed.p == ml.p - 1
            assert top - optimize_theta(fixed, result.theta).llf == pytest.approx(chi2.ppf(0.95, 1) / 2, abs=1e-7)


@pytest.mark.slow
def test_profile_intervals_against_lme4():
    """lme4's exact profile (refits in R, uniroot to 1e-12) of the crossed random-slope model, every refit
    on the blocked engine (its structure analysed once per fixed effect)."""
    ref = FITS["crossed_slope_ml"]
    result = _fit("crossed_slope_ml", True)
    ci = result.conf_int(method="profile")
    for name in result.params.index:
        width = ci.loc[name, "upper"] - ci.loc[name, "lower"]
        np.testing.assert_allclose(ci.loc[name], ref["confint_profile_exact"][name], atol=1e-7 * width)


def test_splu_only_where_the_blocked_structure_refuses(monkeypatch):
    ref = FITS["nested_ml"]
    design = build_design(ref["formula"], _data("lmm_nested"))

    def refuse(*args, **kwargs):
        raise _blocked.BlockedUnsupported("over the memory bound")

    monkeypatch.setattr(_blocked.BlockedStructure, "from_blocks", refuse)
    objective = LMMObjective(design, False, sparse=True)
    assert objective.engine == "splu" and objective.derivatives == "values"
    optimum = optimize_theta(objective, restarts=0)
    result = LMMResult.from_fit(design=design, objective=objective, optimum=optimum, data=_data("lmm_nested"))
    assert result.llf == pytest.approx(ref["logLik"], rel=1e-9)
    np.testing.assert_allclose(result.theta[::-1], ref["theta"], atol=1e-6)   # lme4: classroom:school first
    for group, frame in _fit("nested_ml", False).random_effects.items():
        np.testing.assert_allclose(result.random_effects[group].to_numpy(), frame.to_numpy(), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------------------------------------
# many random effects: no q x q matrix
# ---------------------------------------------------------------------------------------------------------
def _crossed(m_a, m_b, per, seed):
    """A crossed design, each level of a meeting `per` random levels of b."""
    rng = np.random.default_rng(seed)
    a = np.repeat(np.arange(m_a), per)
    b = rng.integers(0, m_b, a.size)
    x = rng.standard_normal(a.size)
    y = 1.0 + 0.5 * x + 0.8 * rng.standard_normal(m_a)[a] + 0.6 * rng.standard_normal(m_b)[b] + rng.standard_normal(a.size)
    return pd.DataFrame({"a": a.astype(str), "b": b.astype(str), "x": x, "y": y})


def test_many_random_effects_without_a_dense_inverse(monkeypatch):
    """q = 12,000 + 300: lmm fits on the blocked engine and its conditional variances come from
    condvar_blocks (a q x q inverse, 1.2 GB, fails the test), equal to sparse solves for a few levels."""
    from scipy.sparse import identity
    from scipy.sparse.linalg import splu

    data = _crossed(12_000, 300, 4, seed=5)
    small_inverse = lmm_result_module.cho_inverse

    def p_by_p_only(L):
        if L.shape[0] > 10:
            raise AssertionError("a q x q inverse was formed")
        return small_inverse(L)

    def forbidden(*args):
        raise AssertionError("a q x q inverse was formed")

    monkeypatch.setattr(lmm_result_module, "cho_inverse", p_by_p_only)
    monkeypatch.setattr(lmm_result_module, "block_diagonal", forbidden)
    result = lmm("y ~ x + (1 | a) + (1 | b)", data, reml=False)
    objective = result._objective
    assert objective.engine == "blocked" and result.converged
    re = result.random_effects
    assert re["a"].shape == (12_000, 2) and re["b"].shape == (300, 2)
    # Var(b_l | y) = sigma^2 lambda^2 (A^-1)_ll, A = Lambda'Z'Z Lambda + I, for 5 levels of each factor
    lam = np.concatenate([np.full(block.n_levels, result.theta[block.theta][0]) for block in objective.layout.blocks])
    ZL = objective.Z.tocsc().multiply(lam[None, :]).tocsc()
    A = (ZL.T @ ZL + identity(objective.q)).tocsc()
    lu = splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    for name, block in zip(("a", "b"), objective.layout.blocks):
        index = block.start + np.arange(5)
        E = np.zeros((objective.q, 5))
        E[index, np.arange(5)] = 1.0
        expected = result.sigma ** 2 * lam[index] ** 2 * lu.solve(E)[index, np.arange(5)]
        np.testing.assert_allclose(re[name]["sd((Intercept))"].iloc[:5] ** 2, expected, rtol=1e-9)


# ---------------------------------------------------------------------------------------------------------
# InstEval (lme4's data, 73,421 rows; s 2972, d 1128, dept:service 28 levels) against lmer
# ---------------------------------------------------------------------------------------------------------
INSTEVAL = "y ~ service + (1 | s) + (1 | d) + (1 | dept:service)"


@lru_cache(maxsize=1)
def _insteval():
    data = pd.read_csv(REFERENCE / "insteval.csv.gz")
    return data.astype({name: str for name in ("s", "d", "dept", "service")})


@pytest.mark.slow
@pytest.mark.parametrize("key", ["insteval_ml", "insteval_reml"])
def test_insteval_against_lmer(key):
    """theta within 5e-6 relative of lmer at rhoend 1e-12 (lmer itself is good to about 3e-6 there: the
    criterion's rounding noise, 4e-10, stops bobyqa short) and within 1e-6 relative of the polished optimum of
    lme4's criterion; beta and sigma within 1e-6 relative, the standard errors within 5e-6 of lmer's (they
    follow the dept:service SD, lmer's least precise theta) and 1e-6 of the polished optimum's; the criterion not above lmer's by more than 1e-8
    relative (its rounding is 2e-15 relative)."""
    ref = json.loads((REFERENCE / "blocked_reference.json").read_text())[key]
    reml = key.endswith("reml")
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # converged, not singular, no rank deficiency
        result = lmm(INSTEVAL, _insteval(), reml=reml)
    assert result._objective.engine == "blocked" and result.converged
    np.testing.assert_allclose(result.theta, ref["theta"], rtol=5e-6)
    polished = ref["polished"]
    np.testing.assert_allclose(result.theta, polished["theta"], rtol=1e-6)
    np.testing.assert_allclose(result.params.to_numpy(), list(polished["fixef"].values()), rtol=1e-6)
    np.testing.assert_allclose(result.bse.to_numpy(), polished["se"], rtol=1e-6)
    assert result.sigma == pytest.approx(polished["sigma"], rel=1e-6)
    np.testing.assert_allclose(result.params.to_numpy(), list(ref["fixef"].values()), rtol=1e-6)
    np.testing.assert_allclose(result.bse.to_numpy(), ref["se"], rtol=5e-6)
    assert result.sigma == pytest.approx(ref["sigma"], rel=1e-6)
    criterion = result.reml_criterion if reml else result.deviance
    lmer = ref["REMLcrit"] if reml else ref["deviance"]
    assert criterion <= lmer * (1 + 1e-8)
    assert result.llf == pytest.approx(ref["logLik"], rel=1e-10)
    re = result.random_effects
    assert {name: frame.shape[0] for name, frame in re.items()} == {"s": 2972, "d": 1128, "dept:service": 28}
    assert np.all(re["d"]["sd((Intercept))"] > 0)


def test_progress_lines_and_validation(capsys):
    data = _crossed(300, 40, 6, seed=4)
    result = lmm("y ~ x + (1 | a) + (1 | b)", data, progress=True)
    lines = capsys.readouterr().out.splitlines()
    assert result._objective.engine == "blocked"
    assert len(lines) == len(result.history) > 3
    assert all(line.startswith("  iteration") and "evaluations" in line for line in lines)
    lmm("y ~ x + (1 | a) + (1 | b)", data)
    assert capsys.readouterr().out == ""
    with pytest.raises(TypeError, match="`progress` must be True or False, got 'yes'"):
        lmm("y ~ x + (1 | a) + (1 | b)", data, progress="yes")
