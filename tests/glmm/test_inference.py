"""quadlib.glmm._inference: Wald statistics, information criteria and the one profile-interval search, against
closed forms, mpmath and lme4's stored numbers."""
import json
import math
from pathlib import Path
import warnings

import mpmath
import numpy as np
import pytest

from quadlib.glmm import ConvergenceWarning
from quadlib.glmm._inference import (check_alpha, information_criteria, normal_pvalues, profile_interval,
                                     wald_interval)

LMM_REF = json.loads((Path(__file__).resolve().parent.parent / "reference" / "lmm_reference.json").read_text())
Z975 = 1.959963984540054   # the standard normal 0.975 quantile


def test_normal_pvalues():
    statistics = np.array([-3.0, -Z975, 0.0, 1.0, Z975, 40.0])
    expected = [float(mpmath.erfc(abs(mpmath.mpf(t)) / mpmath.sqrt(2))) for t in statistics]
    np.testing.assert_allclose(normal_pvalues(statistics), expected, rtol=1e-13)
    assert normal_pvalues([Z975])[0] == pytest.approx(0.05, rel=1e-14)


def test_wald_interval():
    lower, upper = wald_interval([1.0, -2.0], [0.5, 0.25])
    np.testing.assert_allclose(lower, [1.0 - Z975 * 0.5, -2.0 - Z975 * 0.25], rtol=1e-13)
    np.testing.assert_allclose(upper, [1.0 + Z975 * 0.5, -2.0 + Z975 * 0.25], rtol=1e-13)
    z90 = float(mpmath.sqrt(2) * mpmath.erfinv(mpmath.mpf("0.9")))
    lower, upper = wald_interval([0.0], [1.0], alpha=0.1)
    assert upper[0] == pytest.approx(z90, rel=1e-14) and lower[0] == pytest.approx(-z90, rel=1e-14)


def test_information_criteria_match_lme4():
    for key in ("sleepstudy_corr_ml", "sleepstudy_int_ml", "nested_ml"):
        ref = LMM_REF["fits"][key]
        criteria = information_criteria(ref["logLik"], ref["df"], ref["nobs"])
        assert criteria.aic == pytest.approx(ref["AIC"], rel=1e-12)
        assert criteria.bic == pytest.approx(ref["BIC"], rel=1e-12)
        assert criteria.deviance == pytest.approx(ref["deviance_ML"], rel=1e-12)


def test_information_criteria_without_a_likelihood_are_nan():
    assert all(math.isnan(x) for x in information_criteria(math.nan, 4, 56))


def test_profile_interval_of_a_quadratic_profile_is_the_wald_interval():
    """A normal mean with known SD: the log-likelihood is exactly quadratic."""
    lower, upper = profile_interval(lambda m: -0.5 * (m - 1.0) ** 2 / 0.25, 1.0, 0.5, 0.0)
    assert lower == pytest.approx(1.0 - Z975 * 0.5, abs=1e-9)
    assert upper == pytest.approx(1.0 + Z975 * 0.5, abs=1e-9)


def _poisson_interval_mpmath(total, n, alpha):
    """The likelihood-ratio interval of a Poisson mean from n counts with sum `total`, at 30 digits."""
    mpmath.mp.dps = 30
    mean = mpmath.mpf(total) / n
    target = mpmath.mpf(2) * mpmath.erfinv(1 - mpmath.mpf(alpha)) ** 2   # chi-square(1) quantile

    def statistic(lam):
        return 2 * (total * mpmath.log(mean / lam) - n * (mean - lam)) - target

    lower = mpmath.findroot(statistic, (mean * mpmath.mpf("0.3"), mean * mpmath.mpf("0.9")), solver="anderson")
    upper = mpmath.findroot(statistic, (mean * mpmath.mpf("1.1"), mean * 3), solver="anderson")
    return float(lower), float(upper)


@pytest.mark.parametrize("total, n, alpha", [(7, 3, 0.05), (40, 10, 0.01), (2, 1, 0.1)])
def test_profile_interval_of_a_poisson_mean(total, n, alpha):
    """An asymmetric profile: llf(lambda) = total log(lambda) - n lambda, against mpmath."""
    mean = total / n

    def llf(lam):
        return total * math.log(lam) - n * lam if lam > 0 else -math.inf

    se = math.sqrt(mean / n)
    lower, upper = profile_interval(llf, mean, se, llf(mean), alpha)
    expected = _poisson_interval_mpmath(total, n, alpha)
    assert lower == pytest.approx(expected[0], abs=1e-8 * se)
    assert upper == pytest.approx(expected[1], abs=1e-8 * se)


def test_profile_interval_counts_non_finite_values_as_beyond_the_cutoff():
    """A refit that fails (NaN) ends the interval there instead of raising."""
    def llf(m):
        return -0.5 * (m - 1.0) ** 2 / 0.25 if m < 1.5 else math.nan

    lower, upper = profile_interval(llf, 1.0, 0.5, 0.0)
    assert lower == pytest.approx(1.0 - Z975 * 0.5, abs=1e-9)
    assert upper == pytest.approx(1.5, abs=1e-8)


def test_profile_interval_that_levels_off_is_nan_with_a_warning():
    calls = []

    def llf(m):
        calls.append(m)
        return -0.5 * (1.0 - math.exp(-(m - 1.0) ** 2))   # never falls by chi2 / 2 = 1.92

    with pytest.warns(ConvergenceWarning, match="does not fall to the cut-off within 60 steps"):
        lower, upper = profile_interval(llf, 1.0, 0.5, 0.0, name="x")
    assert math.isnan(lower) and math.isnan(upper)
    assert len(calls) == 2 * 61   # the bound: one evaluation at the Wald end and 60 steps, per end


def test_profile_interval_with_a_zero_standard_error_starts_at_the_estimate_scale():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lower, upper = profile_interval(lambda m: -0.5 * (m - 4.0) ** 2, 4.0, 0.0, 0.0)
    assert lower == pytest.approx(4.0 - Z975, abs=1e-8) and upper == pytest.approx(4.0 + Z975, abs=1e-8)


def test_input_validation():
    with pytest.raises(TypeError, match="`alpha` must be a real number"):
        check_alpha("0.05")
    for alpha in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="`alpha` must be in"):
            check_alpha(alpha)
    with pytest.raises(ValueError, match="`alpha` must be finite"):
        check_alpha(math.nan)
    with pytest.raises(ValueError, match="`alpha` must be in"):
        wald_interval([1.0], [1.0], alpha=2.0)
    with pytest.raises(TypeError, match="`llf` must be a real number"):
        information_criteria("1", 2, 3)
    with pytest.raises(ValueError, match="`df_modelwc` must be an integer >= 0"):
        information_criteria(-1.0, -2, 3)
    with pytest.raises(ValueError, match="`nobs` must be a positive integer"):
        information_criteria(-1.0, 2, 0)
    quadratic = lambda m: -0.5 * m ** 2   # noqa: E731
    with pytest.raises(TypeError, match="`profile_llf` must be callable"):
        profile_interval(1.0, 0.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="`estimate` must be finite"):
        profile_interval(quadratic, math.nan, 1.0, 0.0)
    with pytest.raises(ValueError, match="`llf_max` must be finite"):
        profile_interval(quadratic, 0.0, 1.0, math.inf)
    with pytest.raises(ValueError, match="`alpha` must be in"):
        profile_interval(quadratic, 0.0, 1.0, 0.0, alpha=1.5)
    with pytest.raises(ValueError, match="`max_steps` must be a positive integer"):
        profile_interval(quadratic, 0.0, 1.0, 0.0, max_steps=0)
    with pytest.raises(ValueError, match="`max_steps` must be at most"):
        profile_interval(quadratic, 0.0, 1.0, 0.0, max_steps=10 ** 6)
