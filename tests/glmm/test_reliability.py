"""quadlib.glmm's errors and warnings for degenerate data, as lme4 (and R's glm) give them.

Each test is a defect that was found: separated and constant responses, boundary fits, lmer's checks in
fit(family="gaussian"), non-finite random-term columns, too few observations, models without fixed
effects, one-level factors, mixed-type columns, infinite weights and offsets, numeric options, R's
reference levels for a Categorical; and a property test that random small problems end in a result or
a clear ValueError/TypeError, never an internal exception. Expected values are closed forms (balanced
designs), never quadlib's own output.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from quadlib.glmm import (ConvergenceWarning, build_design, conditional_fit, datasets, fit, lmm, make_objective,
                          nlmm, optimize, pql)

SINGULAR = r"boundary \(singular\) fit"


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def _separated():
    """y = 1 exactly where x > 0: complete separation by x (no x is 0)."""
    x = np.linspace(-1.0, 1.0, 30)
    return pd.DataFrame({"x": x, "g": np.tile(np.arange(6), 5).astype(str), "y": (x > 0).astype(float)})


def _three_arms(rng, n_groups=8, per_arm=3):
    """Arms A, B, C in every group, C with no successes / zero counts (quasi-separation by trtC)."""
    trt = np.tile(np.repeat(["A", "B", "C"], per_arm), n_groups)
    g = np.repeat(np.arange(n_groups), 3 * per_arm).astype(str)
    y = (rng.random(trt.size) < 0.5).astype(float)
    counts = rng.poisson(3.0, trt.size).astype(float)
    y[trt == "C"] = 0.0
    counts[trt == "C"] = 0.0
    return pd.DataFrame({"trt": trt, "g": g, "y": y, "count": counts})


# ------------------------------------------------------------------------------------------------------
# 1. separation and constant responses

def test_complete_separation_warns_and_is_not_converged():
    # before: beta = (-30, 1643), SEs 1e8-6e9, converged=True, no warning
    with pytest.warns(ConvergenceWarning, match="separation: the fixed effects x separate"):
        res = fit("y ~ x + (1 | g)", _separated())
    assert not res.converged
    assert res.outcome.separation == ("x",)
    assert "separation" in res.summary()
    # before: pql said only that the fixed effects still moved, with standard errors of 1e-14
    with pytest.warns(ConvergenceWarning, match="separation: the fixed effects x separate"):
        assert not pql("y ~ x + (1 | g)", _separated()).converged


@pytest.mark.parametrize("family, response", [("binomial", "y"), ("poisson", "count"),
                                              ("negative_binomial", "count")])
def test_quasi_separation_by_a_factor_level(family, response):
    data = _three_arms(np.random.default_rng(4))
    objective = make_objective(build_design(f"{response} ~ trt + (1 | g)", data), family)
    assert objective.separation() == ["trtC"]
    with warnings.catch_warnings(record=True) as caught:   # the optimizer's own warnings beside it
        warnings.simplefilter("always")
        res = fit(f"{response} ~ trt + (1 | g)", data, family=family)
    assert any(issubclass(w.category, ConvergenceWarning) and "separation: the fixed effects trtC separate"
               in str(w.message) for w in caught)
    assert not res.converged and res.outcome.separation == ("trtC",)


def test_no_separation_no_flag():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(60)
    data = pd.DataFrame({"x": x, "g": np.repeat(np.arange(10), 6).astype(str),
                         "y": (rng.random(60) < 1 / (1 + np.exp(-x))).astype(float)})
    assert make_objective(build_design("y ~ x + (1 | g)", data)).separation() == []
    res = _quiet(fit, "y ~ x + (1 | g)", data)
    assert res.converged and res.outcome.separation == ()
    cbpp = datasets.load("cbpp")
    assert make_objective(build_design("cbind(incidence, size - incidence) ~ period + (1 | herd)",
                                       cbpp)).separation() == []


def test_fitted_probabilities_at_one_without_separation_warn():
    # R's glm.fit rule (fitted values within 10 eps of 0 or 1); here from an offset, which cannot separate
    rng = np.random.default_rng(6)
    data = pd.DataFrame({"x": rng.standard_normal(40), "g": np.repeat(np.arange(8), 5).astype(str),
                         "y": (rng.random(40) < 0.5).astype(float)})
    offset = np.zeros(40)
    offset[np.flatnonzero(data["y"].to_numpy() == 1)[:3]] = 50.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit("y ~ x + (1 | g)", data, offset=offset)
    assert any("fitted probabilities numerically 0 or 1 occurred" in str(w.message) for w in caught)
    assert not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert res.outcome.separation == ()


@pytest.mark.parametrize("family, value, match", [
    ("binomial", 0.0, r"has no successes \(every row is 0\)"),
    ("binomial", 1.0, r"has no failures \(every row is a success\)"),
    ("poisson", 0.0, "is 0 in every row"),
    ("negative_binomial", 0.0, "is 0 in every row"),
])
def test_constant_response_is_an_error(family, value, match):
    # before: estimates near +-47 with SE 2e9, converged=True (negative binomial: LinAlgError)
    data = _separated().assign(y=value)
    with pytest.raises(ValueError, match=f"`formula`: the response {match}.*does not exist"):
        fit("y ~ x + (1 | g)", data, family=family)
    if family != "negative_binomial":
        with pytest.raises(ValueError, match=match):
            pql("y ~ x + (1 | g)", data, family=family)


# ------------------------------------------------------------------------------------------------------
# 2. boundary (singular) fits: one message from lmm, fit and pql

def _identical_groups():
    """Every group holds the same values (permuted): the between-group variance estimate is exactly 0."""
    rng = np.random.default_rng(0)
    values, successes = rng.normal(size=6), np.array([1.0, 1, 0, 0, 0, 1])
    return pd.DataFrame({"y": np.concatenate([rng.permutation(values) for _ in range(8)]),
                         "b": np.concatenate([rng.permutation(successes) for _ in range(8)]),
                         "g": np.repeat([f"s{i}" for i in range(8)], 6)})


@pytest.mark.parametrize("how", ["lmm", "lmm_ml", "fit_gaussian", "fit_binomial", "fit_agq", "pql"])
def test_boundary_fit_warns_the_same_everywhere(how):
    data = _identical_groups()
    call = {"lmm": lambda: lmm("y ~ 1 + (1 | g)", data),
            "lmm_ml": lambda: lmm("y ~ 1 + (1 | g)", data, reml=False),
            "fit_gaussian": lambda: fit("y ~ 1 + (1 | g)", data, family="gaussian"),
            "fit_binomial": lambda: fit("b ~ 1 + (1 | g)", data),
            "fit_agq": lambda: fit("b ~ 1 + (1 | g)", data, method="agq", nagq=5),
            "pql": lambda: pql("b ~ 1 + (1 | g)", data)}[how]
    with pytest.warns(UserWarning, match=SINGULAR) as caught:
        res = call()
    assert sum(SINGULAR.replace("\\", "") in str(w.message) for w in caught) == 1
    assert res.singular and float(res.sd_re["g"].iloc[0]) < 1e-4


# ------------------------------------------------------------------------------------------------------
# 3. lmer's checks in fit(family="gaussian")

def test_gaussian_fit_with_one_observation_per_group_refuses_as_lmm():
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"g": np.arange(20).astype(str), "x": rng.standard_normal(20), "y": rng.standard_normal(20)})
    messages = []
    for call in (lambda: lmm("y ~ x + (1 | g)", data), lambda: fit("y ~ x + (1 | g)", data, family="gaussian")):
        with pytest.raises(ValueError, match=r"observations \(20\) is not larger than the number of random effects "
                                             r"\(20\) of the term \(1 \| g\)") as error:
            call()
        messages.append(str(error.value))
    assert messages[0] == messages[1]
    with pytest.raises(ValueError, match="fit the response exactly"):
        fit("y ~ 1 + (1 | g)", _identical_groups().assign(y=2.5), family="gaussian")


# ------------------------------------------------------------------------------------------------------
# 4. non-finite and overflowing model-matrix columns

def test_infinite_random_slope_column_is_a_value_error():
    # before: LinAlgError "Eigenvalues did not converge"
    data = _separated().assign(y=np.random.default_rng(2).standard_normal(30))
    data.loc[3, "x"] = np.inf
    with pytest.raises(ValueError, match=r"`data`: the columns of the random term \(x \| g\) are not finite in 1"):
        fit("y ~ 1 + (x | g)", data, family="gaussian")
    with pytest.raises(ValueError, match="fixed-effect columns are not finite in 1 row"):
        fit("y ~ x + (1 | g)", data, family="gaussian")
    data.loc[3, "x"] = 1e300   # finite, but its square overflows
    with pytest.raises(ValueError, match=r"column 'x' has values up to 1e\+300.*rescale it"):
        fit("y ~ x + (1 | g)", data, family="gaussian")


# ------------------------------------------------------------------------------------------------------
# 5. too few observations

def test_two_row_negative_binomial_is_a_value_error():
    data = pd.DataFrame({"g": ["a", "b"], "y": [0.0, 0.0]})
    with pytest.raises(ValueError, match=r"`data`: the number of observations \(2\) is smaller than the number of "
                                         r"parameters \(3: \(Intercept\)"):
        fit("y ~ 1 + (1 | g)", data, family="negative_binomial")
    with pytest.raises(ValueError, match=r"observations \(2\) is smaller"):
        fit("y ~ 1 + (1 | g)", data.assign(y=[1.0, 3.0]), family="negative_binomial")


# ------------------------------------------------------------------------------------------------------
# 6. no fixed effects

def test_model_without_fixed_effects_fits_the_closed_form():
    # before: "zero-size array to reduction operation maximum". Balanced y_ij = b_i + e_ij: the ML estimates
    # are sigma^2 = W / (m (n - 1)) and tau = sigma^2 + n sd_b^2 = n sum(ybar_i^2) / m, and
    # llf = -(m n log(2 pi) + m (n - 1) log sigma^2 + m log tau + m n) / 2.
    rng = np.random.default_rng(7)
    m, n = 6, 5
    y = np.repeat(2.0 * rng.standard_normal(m), n) + rng.standard_normal(m * n)
    data = pd.DataFrame({"y": y, "g": np.repeat(np.arange(m), n).astype(str)})
    groups = y.reshape(m, n)
    means = groups.mean(axis=1)
    s2 = np.sum((groups - means[:, None]) ** 2) / (m * (n - 1))
    tau = n * np.sum(means ** 2) / m
    assert tau > s2
    llf = -0.5 * (m * n * np.log(2 * np.pi) + m * (n - 1) * np.log(s2) + m * np.log(tau) + m * n)
    res = fit("y ~ 0 + (1 | g)", data, family="gaussian")
    assert res.converged and res.params.size == 0 and res.bse.size == 0
    assert abs(res.llf - llf) < 1e-8 * abs(llf)
    assert abs(res.sigma - np.sqrt(s2)) < 1e-5
    assert abs(float(res.sd_re["g"].iloc[0]) - np.sqrt((tau - s2) / n)) < 1e-5
    ml = lmm("y ~ 0 + (1 | g)", data, reml=False)
    assert abs(ml.llf - llf) < 1e-9 * abs(llf) and abs(ml.sigma - np.sqrt(s2)) < 1e-7


def test_binomial_without_fixed_effects_has_the_integrated_likelihood():
    from scipy.integrate import quad

    rng = np.random.default_rng(8)
    g = np.repeat(np.arange(8), 6)
    y = (rng.random(48) < 1 / (1 + np.exp(-1.5 * rng.standard_normal(8)[g]))).astype(float)
    res = fit("y ~ 0 + (1 | g)", pd.DataFrame({"y": y, "g": g.astype(str)}), method="agq", nagq=25)
    assert res.converged and res.params.size == 0
    sd = float(res.sd_re["g"].iloc[0])
    total = 0.0
    for level in range(8):
        k, size = y[g == level].sum(), (g == level).sum()

        def integrand(b):
            return np.exp(k * b - size * np.logaddexp(0.0, b) - 0.5 * (b / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
        total += np.log(quad(integrand, -12 * sd, 12 * sd, epsabs=0, epsrel=1e-12, limit=200)[0])
    assert abs(res.llf - total) < 1e-6 * abs(total)


# ------------------------------------------------------------------------------------------------------
# 7. one-level factors

def test_one_level_factor_is_an_error():
    # before: the factor was dropped silently
    data = _identical_groups().assign(f="a", x=np.linspace(0, 1, 48))
    with pytest.raises(ValueError, match="factor 'f' in the fixed effects has the single level 'a'.*2 or more levels"):
        fit("y ~ x + f + (1 | g)", data, family="gaussian")
    with pytest.raises(ValueError, match="factor 'f' in the fixed effects"):
        lmm("y ~ x * f + (1 | g)", data)
    with pytest.raises(ValueError, match=r"factor 'f' in the random term \(0 \+ f \| g\)"):
        fit("y ~ x + (0 + f | g)", data, family="gaussian")
    # a second level only in rows dropped for a missing value
    two = data.assign(f=np.where(np.arange(48) == 0, "b", "a"), y=np.where(np.arange(48) == 0, np.nan, data["y"]))
    with pytest.raises(ValueError, match="single level 'a' in the rows used"):
        _quiet(fit, "y ~ x + f + (1 | g)", two, family="gaussian")


# ------------------------------------------------------------------------------------------------------
# 8. strings in a numeric column

def test_strings_in_a_numeric_column_are_a_type_error():
    # before: ValueError "Variable is of an unrecognized type (<class 'pandas.Series'>)"
    data = _identical_groups().assign(x=np.linspace(0, 1, 48))
    data.index = data.index + 100
    mixed = data.astype({"x": object})
    mixed.loc[107, "x"] = "abc"
    mixed.loc[109, "x"] = "n/a"
    with pytest.raises(TypeError, match=r"column 'x' mixes numbers and strings, e\.g\. 'abc' \(row 107\), "
                                        r"'n/a' \(row 109\)"):
        fit("y ~ x + (1 | g)", mixed, family="gaussian")
    # numbers stored as objects are numbers
    as_objects = build_design("y ~ x + (1 | g)", data.astype({"x": object}))
    np.testing.assert_array_equal(as_objects.X[:, 1], data["x"].to_numpy()[as_objects.rows])
    with pytest.raises(TypeError, match="column 'x' has dtype"):
        build_design("y ~ x + (1 | g)", data.assign(x=pd.Timestamp("2020-01-01")))


# ------------------------------------------------------------------------------------------------------
# 9. weights and offsets: NaN is missing, inf and non-positive weights are errors

@pytest.mark.parametrize("bad, match", [(np.inf, "`weights` must be finite"), (-np.inf, "`weights` must be finite"),
                                        (-1.0, "`weights` must be positive: row 2 has -1.0"),
                                        (0.0, "`weights` must be positive: row 2 has 0.0")])
def test_bad_weights(bad, match):
    data = _identical_groups()
    weights = np.ones(48)
    weights[2] = bad
    with pytest.raises(ValueError, match=match):
        fit("y ~ 1 + (1 | g)", data, family="gaussian", weights=weights)
    with pytest.raises(ValueError, match=match):
        lmm("y ~ 1 + (1 | g)", data, weights=weights)


def test_missing_weight_or_offset_drops_the_row_and_infinite_offset_is_an_error():
    data = _identical_groups()
    values = np.ones(48)
    values[2] = np.nan
    with pytest.warns(UserWarning, match="dropped 1 row"):
        assert build_design("y ~ 1 + (1 | g)", data, weights=values).nobs == 47
    with pytest.warns(UserWarning, match="dropped 1 row"):
        assert build_design("y ~ 1 + (1 | g)", data, offset=values).nobs == 47
    values[2] = -np.inf
    with pytest.raises(ValueError, match="`offset` must be finite.*row 2 has -inf"):
        fit("y ~ 1 + (1 | g)", data, family="gaussian", offset=values)
    with pytest.raises(ValueError, match="`offset` must be finite"):
        build_design("y ~ 1 + (1 | g)", data.assign(o=values), offset="o")


# ------------------------------------------------------------------------------------------------------
# 10. every numeric option validated, the argument named

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


@pytest.mark.parametrize("kwargs, error, match", [
    ({"max_iter": -1}, ValueError, "`max_iter` must be a positive integer, got -1"),
    ({"max_iter": 0}, ValueError, "`max_iter`"),
    ({"max_iter": 2.5}, TypeError, "`max_iter`"),
    ({"max_iter": True}, TypeError, "`max_iter`"),
    ({"max_iter": "10"}, TypeError, "`max_iter`"),
    ({"max_iter": 10 ** 12}, ValueError, "`max_iter` must be at most"),
    ({"method": "agq", "nagq": 0}, ValueError, "`nagq`"),
    ({"method": "agq", "nagq": 3.0}, TypeError, "`nagq`"),
    ({"method": "agq", "nagq": 201}, ValueError, "`nagq` must be at most 200"),
    ({"method": "qmc", "nagq": -1}, ValueError, "`nagq`"),
    ({"method": "qmc", "nagq": 10 ** 9}, ValueError, "`nagq`=1000000000 gives"),
    ({"method": "laplace", "nagq": True}, TypeError, "`nagq`"),
    ({"verbose": 1}, TypeError, "`verbose` must be True or False"),
    ({"progress": "yes"}, TypeError, "`progress`"),
    ({"optimizer": 3}, TypeError, "`optimizer`"),
    ({"optimizer": "dogleg"}, ValueError, "`optimizer` must be one of"),
    ({"start": ["a", "b", "c", "d", "e"]}, TypeError, "`start`"),
    ({"start": [0.0, 0, 0, 0, np.nan]}, ValueError, "`start` must be finite"),
    ({"method": "pql", "max_iter": 0}, ValueError, "`max_iter`"),
    ({"method": "pql", "max_iter": 10 ** 5}, ValueError, "`max_iter` must be at most 10000"),
])
def test_fit_options_are_validated(kwargs, error, match):
    with pytest.raises(error, match=match):
        fit(CBPP, datasets.load("cbpp"), **kwargs)


def test_other_functions_options_are_validated():
    cbpp, orange = datasets.load("cbpp"), datasets.load("orange")
    for tol, error in ((np.nan, ValueError), (0.0, ValueError), (-1.0, ValueError), ("1e-8", TypeError)):
        with pytest.raises(error, match="`tol`"):
            pql(CBPP, cbpp, tol=tol)
    with pytest.raises(TypeError, match="`reml`"):
        lmm("Reaction ~ Days + (1 | Subject)", datasets.load("sleepstudy"), reml=1)
    with pytest.raises(ValueError, match="`max_iter`"):
        conditional_fit("y ~ trt + V4", datasets.load("epilepsy"), group="subject", family="poisson", max_iter=-1)
    model = dict(fixed=["Asym", "xmid", "scal"], random=["Asym"], group="Tree",
                 start={"Asym": 200.0, "xmid": 700.0, "scal": 350.0})
    logistic = "circumference ~ Asym / (1 + exp((xmid - age) / scal))"
    with pytest.raises(ValueError, match="`max_iter`"):
        nlmm(logistic, orange, max_iter=0, **model)
    with pytest.raises(ValueError, match="`nagq`"):
        nlmm(logistic, orange, method="agq", nagq=-2, **model)
    objective = make_objective(build_design(CBPP, cbpp))
    with pytest.raises(ValueError, match="`max_iter`"):
        optimize(objective, max_iter=-1)
    with pytest.raises(TypeError, match="`verbose`"):
        optimize(objective, verbose="no")


# ------------------------------------------------------------------------------------------------------
# 11. R's level order for a pandas Categorical

def _trial():
    """Balanced: every subject gets each arm twice. For such a design the GLS fixed effects are the OLS
    ones, whatever the variance components: the arm means' differences from the reference arm."""
    rng = np.random.default_rng(11)
    arms = ["placebo", "drug", "drug+"]    # the reference last in alphabetical order
    subjects = [f"s{i}" for i in range(8)]
    trt = np.tile(np.repeat(arms, 2), len(subjects))
    subject = np.repeat(subjects, 6)
    effect = dict(zip(arms, [0.0, 1.5, -0.7]))
    y = np.array([effect[a] for a in trt]) + np.repeat(rng.standard_normal(8), 6) + rng.standard_normal(trt.size)
    data = pd.DataFrame({"y": y, "trt": pd.Categorical(trt, arms + ["unused"]),
                         "subject": pd.Categorical(subject, subjects[::-1])})
    means = {a: y[trt == a].mean() for a in arms}
    expected = {"(Intercept)": means["placebo"], "trtdrug": means["drug"] - means["placebo"],
                "trtdrug+": means["drug+"] - means["placebo"]}
    return data, expected


@pytest.mark.parametrize("how", ["lmm", "fit"])
def test_categorical_category_order_is_the_level_order(how):
    # before: formulae re-sorted the categories, so "drug" was the reference level
    data, expected = _trial()
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no rank-deficiency warning for the unused category
        res = lmm("y ~ trt + (1 | subject)", data) if how == "lmm" else \
            fit("y ~ trt + (1 | subject)", data, family="gaussian")
    assert list(res.params.index) == ["(Intercept)", "trtdrug", "trtdrug+"]
    for name, value in expected.items():
        assert abs(res.params[name] - value) < (1e-9 if how == "lmm" else 1e-6), (name, res.params[name], value)
    # grouping-factor levels in category order too
    assert list(res.random_effects["subject"].index) == [f"s{i}" for i in range(7, -1, -1)]


def test_unordered_strings_keep_r_sorting_and_levels_predict():
    data, expected = _trial()
    plain = data.assign(trt=data["trt"].astype(str))
    res = lmm("y ~ trt + (1 | subject)", plain)
    assert list(res.params.index) == ["(Intercept)", "trtdrug+", "trtplacebo"]
    assert abs(res.params["trtplacebo"] + expected["trtdrug"]) < 1e-8
    categorical = lmm("y ~ trt + (1 | subject)", data)
    new = pd.DataFrame({"trt": ["placebo", "drug+"], "subject": ["s0", "s1"]})
    np.testing.assert_allclose(categorical.predict(new), res.predict(new), rtol=1e-10)


# ------------------------------------------------------------------------------------------------------
# 12. property: random small problems end in a result or a clear error

_FIXED = ["1", "0", "x", "f", "x + f", "x * f", "0 + f", "x + z"]
_RANDOM = ["(1 | g)", "(x | g)", "(1 | g) + (1 | h)", "(1 | g/h)", "(0 + x | g)", "(x || g)", "(1 | g:h)"]
_FAMILIES = ["binomial", "poisson", "gaussian", "negative_binomial"]


@st.composite
def _problems(draw):
    n = draw(st.one_of(st.integers(2, 8), st.integers(9, 40)))
    family = draw(st.sampled_from(_FAMILIES))
    kind = draw(st.sampled_from(["random", "random", "constant", "zero", "extreme", "strings", "separated"]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    if family == "binomial":
        y = (rng.random(n) < draw(st.floats(0.0, 1.0))).astype(float)
    elif family == "gaussian":
        y = rng.normal(draw(st.floats(-1e3, 1e3)), draw(st.floats(1e-6, 1e3)), n)
    else:
        y = rng.poisson(draw(st.floats(0.0, 20.0)), n).astype(float)
    if kind == "constant":
        y[:] = y[0]
    elif kind == "zero":
        y[:] = 0.0
    g = rng.integers(0, draw(st.sampled_from([1, 2, 3, 4, 6, 8])), n)
    x = rng.normal(0, draw(st.sampled_from([1e-8, 1.0, 1e6])), n)
    if kind == "extreme":
        x[0] = draw(st.sampled_from([np.nan, np.inf, 1e300, -1e300, 1e20]))
    data = pd.DataFrame({"y": y, "x": x, "z": x * 2.0 if draw(st.booleans()) else rng.normal(size=n),
                         "f": np.array(["a", "b", "c"])[rng.integers(0, draw(st.sampled_from([1, 2, 3])), n)],
                         "g": g.astype(str) if draw(st.booleans()) else g,
                         "h": rng.integers(0, draw(st.sampled_from([1, 2, 3, 4])), n)})
    if kind == "strings":
        data["x"] = data["x"].astype(object)
        data.loc[0, "x"] = draw(st.sampled_from(["abc", "1.5", ""]))
    if kind == "separated":
        data["y"] = (data["x"] > 0).astype(float) * (3.0 if family == "gaussian" else 1.0)
    if draw(st.booleans()):
        labels = data["g"].astype(str)
        data["g"] = pd.Categorical(labels, sorted(set(labels), reverse=True))
    weights = None
    if draw(st.integers(0, 3)) == 0:
        weights = rng.uniform(0.5, 2.0, n) if family != "binomial" else rng.integers(1, 4, n).astype(float)
        weights[0] = draw(st.sampled_from([1.0, np.nan, np.inf, 0.0, -1.0]))
    formula = f"y ~ {draw(st.sampled_from(_FIXED))} + {draw(st.sampled_from(_RANDOM))}"
    return formula, data, family, draw(st.sampled_from(["laplace", "laplace", "agq"])), weights


def _check_problem(problem):
    formula, data, family, method, weights = problem
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = fit(formula, data, family=family, method=method, nagq=3 if method == "agq" else None,
                      weights=weights)
        except np.linalg.LinAlgError as error:   # a ValueError subclass, but internal
            raise AssertionError(f"internal LinAlgError: {error}") from error
        except (ValueError, TypeError) as error:
            # the message names the argument or the data at fault
            assert "`" in str(error), str(error)
            assert "`phi`" not in str(error) and "`factor`" not in str(error), str(error)
            return
    if res.converged:
        assert np.isfinite(res.llf) and np.all(np.isfinite(res.params))
    else:
        assert any(issubclass(w.category, ConvergenceWarning) for w in caught)


@settings(max_examples=100, derandomize=True, deadline=None, database=None)
@given(_problems())
def test_random_problems_end_in_a_result_or_a_clear_error(problem):
    _check_problem(problem)


@pytest.mark.slow
@settings(max_examples=1000, derandomize=True, deadline=None, database=None)
@given(_problems())
def test_random_problems_end_in_a_result_or_a_clear_error_many(problem):
    _check_problem(problem)


def test_conditional_fit_follows_categorical_order_and_refuses_one_level_factors():
    """conditional_fit reads factors as build_design does: a Categorical's first category is the reference (R's
    level order), and a factor with one level in the rows used is an error, as in R."""
    from quadlib.glmm import conditional_fit

    rng = np.random.default_rng(3)
    n = 120
    frame = pd.DataFrame({"stratum": np.repeat(np.arange(30), 4), "y": np.tile([1, 0, 0, 0], 30),
                          "arm": pd.Categorical(rng.choice(["placebo", "drug"], n), ["placebo", "drug"]),
                          "x": rng.normal(size=n), "one": "same"})
    res = conditional_fit("y ~ arm + x", frame, group="stratum")
    assert list(res.params.index) == ["armdrug", "x"]
    with pytest.raises(ValueError, match="the factor 'one'.*2 or more levels"):
        conditional_fit("y ~ one + x", frame, group="stratum")
