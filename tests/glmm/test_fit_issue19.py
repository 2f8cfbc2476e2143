"""Issue 19 through quadlib.glmm.fit: the ziformula / dispformula / reml / new-family options, every bad input of
the design note's §11 table as fit sees it, their routing (ordinal design, gaussian + dispformula with several
grouping factors to the two stages, Dask and PQL refusals) and the design's zero-inflation and dispersion
matrices (names, aliasing, rows dropped for missing values in their columns).

Expected values are by construction (model matrices written out by hand from the data) or the refusals'
messages; the fits' agreement with glmmTMB and clmm is tests/glmm/test_reference_issue19.py's.
"""
import importlib.util
import warnings

import numpy as np
import pandas as pd
import pytest

import quadlib
from quadlib.glmm import ConvergenceWarning, build_design, fit, make_family
from quadlib.glmm import _fit
from quadlib.glmm._design import normalize_response
from quadlib.glmm._formula import parse_one_sided
from quadlib.glmm._optimize import OptimizeOutcome

COUNT = "y ~ x + (1 | g)"
# fits with a zero-inflation or dispersion model need the response model (issue 19's _response.py)
needs_response_model = pytest.mark.skipif(importlib.util.find_spec("quadlib.glmm._response") is None,
                                          reason="the response model (_response.py) is not available")


def _has_family(name):
    try:
        make_family(name)
    except (ValueError, KeyError, NotImplementedError):   # not (yet) a family of this build
        return False
    return True


def _needs(*names):
    missing = [name for name in names if not _has_family(name)]
    return pytest.mark.skipif(bool(missing), reason=f"family {', '.join(missing)} not available")


@pytest.fixture(scope="module")
def counts():
    """Zero-inflated Poisson counts: 30 groups of 6 rows, a covariate, a two-level factor, a second grouping."""
    rng = np.random.default_rng(19)
    g = np.repeat(np.arange(30), 6)
    x = rng.normal(size=g.size)
    f = np.where(rng.random(g.size) < 0.5, "a", "b")
    mu = np.exp(0.5 + 0.4 * x + rng.normal(0, 0.5, 30)[g])
    y = np.where(rng.random(g.size) < 0.25, 0, rng.poisson(mu)).astype(float)
    return pd.DataFrame({"y": y, "x": x, "f": f, "z": rng.normal(size=g.size), "g": [f"g{k}" for k in g],
                         "h": [f"h{k}" for k in rng.integers(0, 8, g.size)],
                         "p": rng.uniform(0.05, 0.95, g.size), "w": rng.normal(size=g.size)})


def _quiet(callable_, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return callable_(*args, **kwargs)


# ---------------------------------------------------------------------------------------------------- formulas
def test_parse_one_sided():
    assert parse_one_sided("~ spp + mined", "ziformula") == "spp + mined"
    assert parse_one_sided("~1", "dispformula") == "1"
    for none in ("~0", "~ 0", " ~  0 "):
        assert parse_one_sided(none, "ziformula") is None
    with pytest.raises(TypeError, match="`ziformula` must be a string"):
        parse_one_sided(1, "ziformula")
    with pytest.raises(ValueError, match="`ziformula` must be one-sided, e.g. '~ x', got 'y ~ x'"):
        parse_one_sided("y ~ x", "ziformula")
    with pytest.raises(ValueError, match="`dispformula` must be one-sided"):
        parse_one_sided("x", "dispformula")
    with pytest.raises(ValueError, match="`dispformula` has no terms after '~'"):
        parse_one_sided("~  ", "dispformula")
    with pytest.raises(ValueError, match=r"`ziformula`: random effects '\(1 \| site\)' are not supported in the "
                                         r"zero-inflation model \(fixed effects only\)"):
        parse_one_sided("~ x + (1 | site)", "ziformula")
    with pytest.raises(ValueError, match="`dispformula`: random effects .* dispersion model"):
        parse_one_sided("~ (x || site)", "dispformula")
    with pytest.raises(ValueError, match="`ziformula` is 10003 characters long"):
        parse_one_sided("~ " + "x" * 10001, "ziformula")


# ------------------------------------------------------------------------------------------------------ design
def test_design_zero_inflation_and_dispersion_matrices(counts):
    d = build_design(COUNT, counts, ziformula="~ f + z", dispformula="~ w")
    order = d.rows
    assert d.zi_names == ["(Intercept)", "fb", "z"]
    np.testing.assert_array_equal(d.X_zi, np.column_stack([np.ones(d.nobs), counts.f.to_numpy()[order] == "b",
                                                           counts.z.to_numpy()[order]]))
    assert d.disp_names == ["(Intercept)", "w"]
    np.testing.assert_array_equal(d.X_disp, np.column_stack([np.ones(d.nobs), counts.w.to_numpy()[order]]))
    assert d.X_zi.flags.c_contiguous and d.X_disp.flags.c_contiguous
    assert d.zi_model is not None and d.disp_keep is not None
    np.testing.assert_array_equal(d.row_labels, counts.index.to_numpy()[order])
    # without the options, and with "~0", the design is as before
    plain = build_design(COUNT, counts)
    for name in ("X_zi", "zi_names", "X_disp", "disp_names", "response_levels"):
        assert getattr(plain, name) is None
    none = build_design(COUNT, counts, ziformula="~0", dispformula="~ 0")
    assert none.X_zi is None and none.X_disp is None
    intercept = build_design(COUNT, counts, ziformula="~1")
    np.testing.assert_array_equal(intercept.X_zi, np.ones((counts.shape[0], 1)))
    assert intercept.zi_names == ["(Intercept)"]


def test_design_drops_rows_missing_in_the_zi_and_disp_columns(counts):
    data = counts.copy()
    data.loc[[3, 7], "z"] = np.nan        # only in the zero-inflation model
    data.loc[[11], "w"] = np.nan          # only in the dispersion model
    data.loc[[3], "w"] = np.nan           # both: dropped once
    with pytest.warns(UserWarning, match=r"dropped 3 row\(s\) with missing values"):
        d = build_design(COUNT, data, ziformula="~ z", dispformula="~ w")
    assert d.nobs == counts.shape[0] - 3
    assert not set(d.rows) & {3, 7, 11}
    assert np.all(np.isfinite(d.X_zi)) and np.all(np.isfinite(d.X_disp))
    # the same columns unused: nothing dropped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert build_design(COUNT, data).nobs == counts.shape[0]
    # the row labels are the data's index, whatever it is
    labelled = data.set_index(pd.Index([f"r{k}" for k in range(len(data))]))
    with pytest.warns(UserWarning, match="dropped 3"):
        d = build_design(COUNT, labelled, ziformula="~ z", dispformula="~ w")
    assert "r3" not in set(d.row_labels) and "r4" in set(d.row_labels)


def test_design_zi_and_disp_errors_and_aliasing(counts):
    data = counts.assign(z2=2 * counts.z, bad=np.where(counts.index == 5, np.inf, 1.0), one="k")
    with pytest.warns(UserWarning, match=r"the zero-inflation model \(ziformula\) matrix is rank deficient so "
                                         r"dropping 1 column\(s\): z2"):
        d = build_design(COUNT, data, ziformula="~ z + z2")
    assert d.zi_names == ["(Intercept)", "z"]
    assert len(d.zi_keep) == 2
    with pytest.raises(ValueError, match=r"`ziformula`: offset\(\) terms are not supported"):
        build_design(COUNT, data, ziformula="~ offset(z)")
    with pytest.raises(ValueError, match=r"dispersion model \(dispformula\) are not finite in 1 row"):
        build_design(COUNT, data, dispformula="~ bad")
    with pytest.raises(ValueError, match="`ziformula`: 'nothere' is not a column of `data`"):
        build_design(COUNT, data, ziformula="~ nothere")
    with pytest.raises(ValueError, match="the factor 'one' in the zero-inflation model has the single level"):
        build_design(COUNT, data, ziformula="~ one")
    with pytest.raises(ValueError, match="`ziformula`: the call os.system"):
        build_design(COUNT, data, ziformula="~ os.system(x)")
    with pytest.raises(ValueError, match="`response` must be one of"):
        build_design(COUNT, data, response="count")


def test_normalize_response_names_the_users_rows(counts):
    data = counts.set_index(pd.Index([f"r{k}" for k in range(len(counts))]))
    data.loc["r17", "y"] = -1.0
    d = build_design(COUNT, data)
    with pytest.raises(ValueError, match="r17" if "row_labels" in _validate_parameters() else "row"):
        normalize_response(d, make_family("poisson"))


def _validate_parameters():
    import inspect

    return inspect.signature(make_family("poisson").validate).parameters


# ------------------------------------------------------------------------------------ refusals through fit (§11)
@pytest.mark.parametrize("family", ["gaussian", "Gamma", "beta", "tweedie", "student_t", "ordinal"])
def test_ziformula_needs_a_count_family(counts, family):
    if not _has_family(family):
        pytest.skip(f"family {family} not available")
    with pytest.raises(ValueError, match=f"`ziformula`: zero-inflation needs a count family .*got '{family}'"):
        fit(COUNT, counts, family=family, ziformula="~1")


@pytest.mark.parametrize("family", ["binomial", "bernoulli", "poisson", "truncated_poisson", "ordinal"])
def test_dispformula_needs_a_dispersion_parameter(counts, family):
    if not _has_family(family):
        pytest.skip(f"family {family} not available")
    with pytest.raises(ValueError, match=f"`dispformula`: {family} has no dispersion parameter"):
        fit(COUNT, counts, family=family, dispformula="~ x")


def test_one_sided_formula_errors_through_fit(counts):
    with pytest.raises(ValueError, match="`ziformula`: random effects '\\(1 \\| g\\)' are not supported"):
        fit(COUNT, counts, family="poisson", ziformula="~ x + (1 | g)")
    with pytest.raises(ValueError, match="`dispformula`: random effects"):
        fit(COUNT, counts, family="negative_binomial", dispformula="~ (1 | g)")
    with pytest.raises(ValueError, match="`ziformula` must be one-sided"):
        fit(COUNT, counts, family="poisson", ziformula="y ~ x")
    with pytest.raises(TypeError, match="`ziformula` must be a string"):
        fit(COUNT, counts, family="poisson", ziformula=1.0)
    with pytest.raises(TypeError, match="`dispformula` must be a string"):
        fit(COUNT, counts, family="negative_binomial", dispformula=["~x"])
    with pytest.raises(TypeError, match="`reml` must be True or False"):
        fit(COUNT, counts, family="poisson", reml="yes")


@pytest.mark.parametrize("method, nagq", [("agq", 5), ("qmc", 64), (quadlib.AdaptiveGaussHermite(5), None)])
def test_reml_needs_laplace(counts, method, nagq):
    with pytest.raises(ValueError, match="`reml`: REML is implemented with the Laplace approximation only"):
        fit(COUNT, counts, family="poisson", method=method, nagq=nagq, reml=True)


def test_reml_refusals(counts):
    # (zero-inflation and the student_t family have REML since issue 19's finishing session: tests/glmm/test_reml.py)
    with pytest.raises(ValueError, match="`reml`: the REML objective has values only"):
        fit(COUNT, counts, family="poisson", reml=True, optimizer="L-BFGS-B")
    with pytest.raises(ValueError, match="`reml`"):
        fit(COUNT, counts, family="poisson", method="pql", reml=True)


@_needs("ordinal")
def test_reml_refuses_ordinal(counts):
    with pytest.raises(ValueError, match="`reml`: REML is not defined for the ordinal family"):
        fit(COUNT, counts, family="ordinal", reml=True)


def test_pql_refuses_the_new_options(counts):
    for options in ({"ziformula": "~1"}, {"dispformula": "~ x", "family": "negative_binomial"}):
        kwargs = {"family": "poisson", **options}
        with pytest.raises(ValueError, match="method='pql' does not support"):
            fit(COUNT, counts, method="pql", **kwargs)


@_needs("negative_binomial1")
def test_pql_refuses_the_new_families(counts):
    with pytest.raises(ValueError, match="method='pql' does not support family='negative_binomial1'"):
        fit(COUNT, counts, method="pql", family="negative_binomial1")


def test_several_grouping_factors_refuse_zero_inflation(counts):
    with pytest.raises(ValueError, match="`ziformula` is not supported with several grouping factors"):
        fit("y ~ x + (1 | g) + (1 | h)", counts, family="poisson", ziformula="~1")


@_needs("student_t")
def test_several_grouping_factors_refuse_student_t(counts):
    with pytest.raises(ValueError, match="the student_t family is not supported with several grouping factors"):
        fit("w ~ x + (1 | g) + (1 | h)", counts, family="student_t")


def test_dask_data_refuses_the_new_options(counts):
    dd = pytest.importorskip("dask.dataframe", reason="quadlib[dask] is not installed")
    ddf = dd.from_pandas(counts, npartitions=2)
    for kwargs in ({"ziformula": "~1"}, {"family": "negative_binomial", "dispformula": "~ x"},
                   {"reml": True}):
        with pytest.raises(NotImplementedError, match="Dask `data` with .* is not supported"):
            fit(COUNT, ddf, **{"family": "poisson", **kwargs})
    if _has_family("negative_binomial1"):
        with pytest.raises(NotImplementedError, match="family='negative_binomial1'"):
            fit(COUNT, ddf, family="negative_binomial1")


@_needs("beta")
def test_beta_response_outside_the_unit_interval(counts):
    data = counts.copy()
    data.loc[[12, 40], "p"] = [1.0, 0.0]
    with pytest.raises(ValueError, match=r"`y` must be in \(0, 1\) for the beta family"):
        fit("p ~ x + (1 | g)", data, family="beta")


@pytest.mark.parametrize("family", ["poisson", "negative_binomial", "negative_binomial1", "truncated_poisson",
                                    "truncated_negative_binomial"])
def test_counts_must_be_whole_and_non_negative(counts, family):
    if not _has_family(family):
        pytest.skip(f"family {family} not available")
    for bad in (-1.0, 2.5):
        data = counts.assign(y=counts.y.where(counts.index != 9, bad) + (counts.y == 0))
        with pytest.raises(ValueError, match="`y`"):
            fit(COUNT, data, family=family)


@_needs("beta_binomial")
def test_beta_binomial_successes_within_trials(counts):
    data = counts.assign(s=np.minimum(counts.y, 4), n=4.0)
    data.loc[2, ["s", "n"]] = [5.0, 4.0]          # successes 5 of 4 trials: a proportion with weights
    with pytest.raises(ValueError, match="must not exceed"):
        fit("s ~ x + (1 | g)", data.assign(s=data.s / data.n), weights="n", family="beta_binomial")
    data.loc[2, "n"] = 4.5                        # trials not whole
    with pytest.raises(ValueError, match="`n`"):
        fit("cbind(s, n - s) ~ x + (1 | g)", data.assign(s=np.minimum(data.s, 4)), family="beta_binomial")


@_needs("truncated_poisson")
def test_truncated_family_with_zeros_needs_a_ziformula(counts):
    assert (counts.y == 0).any()
    with pytest.raises(ValueError, match="ziformula='~1'"):
        fit(COUNT, counts, family="truncated_poisson")


# ------------------------------------------------------------------------------------------------ ordinal (§11)
def _ordinal_frame(rating):
    rng = np.random.default_rng(5)
    n = len(rating)
    return pd.DataFrame({"rating": rating, "temp": np.tile(["cold", "warm"], n // 2 + 1)[:n],
                         "c": np.ones(n), "x": rng.normal(size=n), "judge": np.repeat(list("abcdefghij"), n // 10 + 1)[:n]})


@_needs("ordinal")
def test_ordinal_coding_errors_through_fit():
    values = np.tile([1, 2, 3, 4, 5], 8)
    ordered = pd.Categorical(values, categories=[1, 2, 3, 4, 5], ordered=True)
    with pytest.raises(ValueError, match="as_ordered"):
        fit("rating ~ x + (1 | judge)", _ordinal_frame(pd.Categorical(values)), family="ordinal")
    with pytest.raises(TypeError):
        fit("rating ~ x + (1 | judge)", _ordinal_frame(np.array(list("abcde") * 8, dtype=object)),
            family="ordinal")
    unused = pd.Categorical(np.where(values == 3, 2, values), categories=[1, 2, 3, 4, 5], ordered=True)
    with pytest.raises(ValueError, match="no observations in category '3'"):
        fit("rating ~ x + (1 | judge)", _ordinal_frame(unused), family="ordinal")
    with pytest.raises(ValueError, match="category 3 is never observed"):
        fit("rating ~ x + (1 | judge)", _ordinal_frame(np.where(values == 3, 4, values)), family="ordinal")
    with pytest.raises(ValueError):
        fit("rating ~ x + (1 | judge)", _ordinal_frame(np.ones(40, dtype=int)), family="ordinal")
    with pytest.raises(ValueError, match="'c' is constant"):
        fit("rating ~ x + c + (1 | judge)", _ordinal_frame(ordered), family="ordinal")
    with pytest.raises(ValueError, match="confounded with the ordinal model's thresholds"):
        fit("rating ~ 0 + temp + (1 | judge)", _ordinal_frame(ordered), family="ordinal")


@_needs("ordinal")
def test_ordinal_design_has_no_intercept_and_keeps_the_levels():
    values = np.tile([1, 2, 3, 4, 5], 8)
    data = _ordinal_frame(pd.Categorical(values, categories=[1, 2, 3, 4, 5], ordered=True))
    d = build_design("rating ~ temp + x + (1 | judge)", data, response="ordinal")
    assert d.fixed_names == ["tempwarm", "x"]
    assert d.response_levels == ["1", "2", "3", "4", "5"]
    np.testing.assert_array_equal(d.response, values[d.rows].astype(float))
    # an ordered Categorical whose categories are not sorted keeps their order
    labels = pd.Categorical(np.array(list("lmh"))[np.arange(40) % 3], categories=["l", "m", "h"], ordered=True)
    d = build_design("rating ~ x + (1 | judge)", _ordinal_frame(labels), response="ordinal")
    assert d.response_levels == ["l", "m", "h"]
    np.testing.assert_array_equal(d.response, (np.arange(40) % 3 + 1)[d.rows].astype(float))


# ----------------------------------------------------------------------------------------------------- routing
@needs_response_model
def test_gaussian_dispformula_with_several_factors_goes_to_the_two_stages(counts, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("gaussian_outcome has no dispersion model")

    monkeypatch.setattr(_fit, "gaussian_outcome", refuse)
    calls = []
    stages = _fit.fit_in_stages

    def record(objective, **kwargs):
        calls.append(objective)
        return stages(objective, **kwargs)

    monkeypatch.setattr(_fit, "fit_in_stages", record)
    data = counts.assign(v=counts.w + np.where(counts.f == "b", 2.0, 0.5) * counts.z)
    res = _quiet(fit, "v ~ x + (1 | g) + (1 | h)", data, family="gaussian", dispformula="~ f")
    assert len(calls) == 1
    names = list(calls[0].names)
    assert names[-2:] == ["disp~(Intercept)", "disp~fb"]
    # log sigma by level (both random effects at 0, x without effect): about each level's standard deviation
    x = res.outcome.x
    assert abs(np.exp(x[-2]) - np.std(data.v[data.f == "a"])) < 0.05
    assert abs(np.exp(x[-2] + x[-1]) - np.std(data.v[data.f == "b"])) < 0.1


@needs_response_model
def test_zero_inflated_poisson_fit_recovers_the_zero_share(counts):
    res = _quiet(fit, COUNT, counts, family="poisson", ziformula="~1")
    names = list(res.objective.names) if hasattr(res, "objective") else list(res.outcome.names)
    j = names.index("zi~(Intercept)")
    assert abs(1 / (1 + np.exp(-res.outcome.x[j])) - 0.25) < 0.1
    assert res.converged


@needs_response_model
def test_zi_separation_warns(counts):
    # level 'b' never has a zero: its zero-inflation probability goes to 0, zi~fb to -infinity
    data = counts.copy()
    data.loc[(data.f == "b") & (data.y == 0), "y"] = 1.0
    with pytest.warns(ConvergenceWarning, match=r"the zero-inflation part is \(quasi-\)separated: zi estimates "
                                                r"diverge \(zi~fb"):
        fit(COUNT, data, family="poisson", ziformula="~ f")


class _Names:
    def __init__(self, names):
        self.names = names


def test_zi_separation_rule():
    names = ["(Intercept)", "g", "zi~(Intercept)", "zi~a", "zi~b"]
    x = np.array([0.5, 1.0, -29.0, -12.0, 2.0])
    hessian = -np.diag([10.0, 5.0, 1e-12, 1.0, 4.0])      # SEs: ~1e6, 1, 0.5
    outcome = OptimizeOutcome(x, -1.0, np.zeros(5), hessian, np.ones(5, bool), True, "converged", 1)
    with pytest.warns(ConvergenceWarning, match=r"zi~\(Intercept\) = -29;"):
        assert _fit._warn_zi_separation(_Names(names), outcome)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not _fit._warn_zi_separation(_Names(names[:2]), outcome)
        small = OptimizeOutcome(np.array([0.5, 1.0, -3.0, -12.0, 2.0]), -1.0, np.zeros(5), hessian,
                                np.ones(5, bool), True, "converged", 1)
        assert not _fit._warn_zi_separation(_Names(names), small)


# --------------------------------------------------------------------------------------------------------- REML
def test_reml_through_fit():
    from quadlib.glmm import datasets, lmm

    cbpp = datasets.load("cbpp")
    res = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, reml=True)
    # glmmTMB 1.1.5 REML = TRUE, polished (tests/reference/issue19_reference.json, cbpp_binomial_reml)
    assert abs(res.llf - -93.19906710) < 1e-6
    sleep = datasets.load("sleepstudy")
    formula = "Reaction ~ Days + (Days | Subject)"
    expected = lmm(formula, sleep, reml=True).llf
    assert abs(fit(formula, sleep, family="gaussian", reml=True).llf - expected) < 1e-9
    # a values optimizer by name is honoured
    assert abs(fit(formula, sleep, family="gaussian", reml=True, optimizer="Nelder-Mead").llf - expected) < 1e-6


# --------------------------------------------------------------------------------------------------- separation
def test_zero_inflation_skips_the_count_separation(counts):
    # every count of level 'b' is 0: without a zero-inflation model f separates the zeros (an infinite
    # estimate); with one, those zeros may all come from the zero-inflation part: no count separation
    data = counts.copy()
    data.loc[data.f == "b", "y"] = 0.0
    with pytest.warns(ConvergenceWarning, match="separation: the fixed effects fb separate the zero counts"):
        res = fit("y ~ f + (1 | g)", data, family="poisson")
    assert res.outcome.separation == ("fb",)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit("y ~ x + (1 | g)", data, family="poisson", ziformula="~1")
    assert res.outcome.separation == ()
    assert not any("complete or quasi-complete separation" in str(w.message) for w in caught)


@_needs("truncated_poisson")
def test_hurdle_separation_is_searched_on_the_zero_part(counts):
    # no zero in level 'b': the hurdle's logistic regression of 1[y = 0] on (1, fb) is separated
    data = counts.copy()
    data.loc[(data.f == "b") & (data.y == 0), "y"] = 1.0
    with pytest.warns(ConvergenceWarning, match=r"the fixed effects zi~fb separate the 0s and 1s"):
        res = fit(COUNT, data, family="truncated_poisson", ziformula="~ f")
    assert res.outcome.separation == ("zi~fb",)
    assert not res.converged


# ------------------------------------------------------------------------------------------------ ordinal fit
@_needs("ordinal")
def test_ordinal_fit_routes_to_the_ordinal_design():
    from quadlib.glmm import datasets

    wine = datasets.load("wine")
    res = fit("rating ~ temp + contact + (1 | judge)", wine, family="ordinal")
    assert res.objective.design.response_levels == ["1", "2", "3", "4", "5"]
    assert "(Intercept)" not in res.objective.names
    # ordinal::clmm 2022.11.16, logit, nAGQ = 1 (tests/reference/issue19_reference.json: wine_logit_laplace;
    # clmm's optimum only to |grad| 1e-5, so 1e-6 in llf)
    assert abs(res.llf - -81.56541278) < 1e-6


def test_an_objective_without_the_zi_or_disp_block_is_refused(counts):
    # an objective that ignored the design's zero-inflation model would fit another model without a word
    design = build_design(COUNT, counts, ziformula="~ f", dispformula="~ x")
    with pytest.raises(NotImplementedError, match="`ziformula`: _Names has no parameters of this model"):
        _fit._check_response_model(_Names(["(Intercept)", "x", "theta"]), design)
    with pytest.raises(NotImplementedError, match="`dispformula`"):
        _fit._check_response_model(_Names(["(Intercept)", "zi~(Intercept)", "zi~fb"]), design)
    _fit._check_response_model(_Names(["zi~(Intercept)", "disp~(Intercept)"]), design)


@_needs("negative_binomial1")
def test_zi_separation_warns_on_glmmtmbs_sal_zinb1():
    from quadlib.glmm import datasets

    # glmmTMB 1.1.5 stops at zi~sppPR = -29.4, zi~sppDF = -25.6, zi~minedno = -26.4 (SEs 1e6, 5e4, 6e4),
    # logLik -808.83114658 (tests/reference/issue19_reference.json, sal_zinb1): a supremum on a ridge
    with pytest.warns(ConvergenceWarning, match=r"zi estimates diverge \(zi~sppPR = -\d+(\.\d+)?, zi~sppDF = "
                                                r"-\d+(\.\d+)?, zi~minedno = -\d+(\.\d+)?;"):
        res = fit("count ~ spp + mined + (1 | site)", datasets.load("salamanders"), family="negative_binomial1",
                  ziformula="~ spp + mined")
    assert abs(res.llf - -808.83114658) < 1e-6
