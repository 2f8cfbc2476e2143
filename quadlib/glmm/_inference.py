"""Inference shared by every result of quadlib.glmm: Wald statistics and intervals, the information criteria and
the one profile-likelihood interval search.

The functions take numbers and callables, not result objects: the results base
(:class:`quadlib.glmm._result.MixedResult`) applies them to its ``params``, ``covariance`` and ``llf``, and each
model supplies the profiled log-likelihood that :func:`profile_interval` needs (the log-likelihood maximized over
the other parameters with one held fixed), computed by that model's own optimizer. Also here, below the
results and the inference modules that use it (the bootstrap, the sandwich), how a GLMM reports its parameter
vector (:func:`reported_parameters`) and the delta method onto it (:func:`transformed_covariance`).
"""
import math
import warnings
from typing import NamedTuple

import numpy as np

from .. import _validation as v
from ._optimize import ConvergenceWarning

__all__ = ["InformationCriteria", "check_alpha", "covariance_over_free", "information_criteria", "normal_pvalues", "profile_interval",
           "wald_interval", "response_model", "reported_parameters", "transformed_covariance"]

_PROFILE_STEPS = 60        # extrapolation steps to bracket one end of a profile interval
_PROFILE_XTOL = 1e-9       # the root is located to this times the standard error
_BEYOND = 1e300            # the signed-root excess of a point where the profile is not finite


class InformationCriteria(NamedTuple):
    """``aic = -2 llf + 2 k``, ``bic = -2 llf + log(n) k``, ``deviance = -2 llf``."""

    aic: float
    bic: float
    deviance: float


def check_alpha(alpha):
    """Return `alpha` (1 - the confidence level) as a float in (0, 1).

    Examples
    --------
    >>> check_alpha(0.05)
    0.05
    """
    alpha = v.real_scalar(alpha, "alpha")
    if not 0 < alpha < 1:
        raise ValueError(f"`alpha` must be in (0, 1), got {alpha}")
    return alpha


def normal_pvalues(statistics):
    """Two-sided p-values of Wald statistics from the standard normal distribution (mixed-model t statistics
    have no exact reference distribution).

    Examples
    --------
    >>> normal_pvalues([1.959963984540054, 0.0]).round(12).tolist()
    [0.05, 1.0]
    """
    from scipy.stats import norm

    return 2 * norm.sf(np.abs(np.asarray(statistics, dtype=float)))


def wald_interval(estimates, std_errors, alpha=0.05):
    """Wald confidence intervals ``estimate -/+ z_{1 - alpha/2} se``.

    Returns
    -------
    lower, upper : numpy.ndarray

    Examples
    --------
    >>> lower, upper = wald_interval([1.0], [0.5])
    >>> round(float(lower[0]), 6), round(float(upper[0]), 6)
    (0.020018, 1.979982)
    """
    from scipy.stats import norm

    z = norm.isf(check_alpha(alpha) / 2)
    estimates, std_errors = np.asarray(estimates, dtype=float), np.asarray(std_errors, dtype=float)
    return estimates - z * std_errors, estimates + z * std_errors


def information_criteria(llf, df_modelwc, nobs):
    """AIC, BIC and the deviance ``-2 llf`` from the maximized log-likelihood `llf`, the number of estimated
    parameters `df_modelwc` and the number of observations `nobs` (BIC's penalty ``log(nobs)`` per parameter).
    A model without a likelihood has ``llf = nan`` and gets NaN for all three.

    Examples
    --------
    >>> [round(x, 4) for x in information_criteria(-875.969672231599, 6, 180)]   # lme4: sleepstudy by ML
    [1763.9393, 1783.0971, 1751.9393]
    """
    if isinstance(llf, (bool, np.bool_)) or not isinstance(llf, (int, float, np.integer, np.floating)):
        raise TypeError(f"`llf` must be a real number (NaN without a likelihood), got {llf!r}")
    llf = float(llf)
    k = v.positive_int(df_modelwc, "df_modelwc", minimum=0)
    n = v.positive_int(nobs, "nobs")
    return InformationCriteria(-2.0 * llf + 2.0 * k, -2.0 * llf + math.log(n) * k, -2.0 * llf)


def profile_interval(profile_llf, estimate, se, llf_max, alpha=0.05, *, max_steps=_PROFILE_STEPS,
                     name="the parameter"):
    """The profile-likelihood (likelihood-ratio) confidence interval of one parameter.

    The ends are the roots of ``|zeta(value)| = z_{1 - alpha/2}``, where ``zeta = sign(value - estimate)
    sqrt(2 (llf_max - profile_llf(value)))`` is the signed root of the likelihood-ratio statistic (Bates and
    Watts; lme4's ``profile``). zeta is close to linear in the parameter, so each end is bracketed by secant
    extrapolation from the Wald end point (each step between 0.1 and 10 times the distance from the estimate,
    at most `max_steps` steps), then found by Brent's method to ``1e-9 se``.

    Parameters
    ----------
    profile_llf : callable
        ``profile_llf(value)``: the log-likelihood maximized over the other parameters with this one held at
        `value`. It may keep a warm start between calls (the calls move outward from the estimate). A
        non-finite value counts as beyond the cut-off.
    estimate, se : float
        The maximum likelihood estimate and its (Wald) standard error, which sets the first step; a
        non-finite or zero `se` starts with ``max(1, |estimate|)``.
    llf_max : float
        The maximized log-likelihood (of the model `profile_llf` refits).
    alpha : float
        1 - the confidence level.
    max_steps : int
        Bracketing steps per end.
    name : str
        The parameter's name, for the warning.

    Returns
    -------
    lower, upper : float
        An end that is not bracketed within `max_steps` steps (the profile levels off above the cut-off) is
        NaN, with a :class:`~quadlib.glmm.ConvergenceWarning`.

    References
    ----------
    D. M. Bates and D. G. Watts, *Nonlinear Regression Analysis and Its Applications*, Wiley (1988), ch. 6.
    D. Bates, M. Maechler, B. Bolker and S. Walker, "Fitting linear mixed-effects models using lme4",
    Journal of Statistical Software 67 (2015), section 5.1 (profiles).

    Examples
    --------
    A normal mean with known variance: the profile is quadratic and the interval is the Wald one.

    >>> lower, upper = profile_interval(lambda m: -0.5 * (m - 1.0) ** 2 / 0.25, 1.0, 0.5, 0.0)
    >>> round(lower, 8), round(upper, 8)      # 1 -/+ 1.959963985 * 0.5
    (0.02001801, 1.97998199)
    """
    from scipy.optimize import brentq
    from scipy.stats import norm

    profile_llf = v.callable_(profile_llf, "profile_llf")
    estimate = v.real_scalar(estimate, "estimate")
    se = v.real_scalar(se, "se", finite=False)
    llf_max = v.real_scalar(llf_max, "llf_max")
    alpha = check_alpha(alpha)
    max_steps = v.positive_int(max_steps, "max_steps", maximum=10_000)
    scale = se if math.isfinite(se) and se > 0 else max(1.0, abs(estimate))
    target = float(norm.isf(alpha / 2))   # sqrt of the chi-square(1) quantile

    def excess(value):
        llf = float(profile_llf(value))
        if not math.isfinite(llf):
            return _BEYOND
        return math.sqrt(2.0 * max(llf_max - llf, 0.0)) - target

    ends = []
    for sign in (-1.0, 1.0):
        near, f_near = estimate, -target
        far = estimate + sign * target * scale
        f_far = excess(far)
        for _ in range(max_steps):
            if f_far >= 0:
                break
            slope = (f_far - f_near) / abs(far - near)
            distance = abs(far - estimate)
            step = -f_far / slope if slope > 0 else distance
            step = min(max(step * 1.05, 0.1 * distance), 10 * distance)
            near, f_near = far, f_far
            far = far + sign * step
            f_far = excess(far)
        if f_far < 0:
            warnings.warn(f"the profile of {name} does not fall to the cut-off within {max_steps} steps "
                          f"({'below' if sign < 0 else 'above'} the estimate): that end is NaN",
                          ConvergenceWarning, stacklevel=2)
            ends.append(math.nan)
            continue
        # Brent's method evaluates the bracket's ends again; a refit there may land elsewhere (its warm start
        # has moved on) or be finite where it was not: the ends keep the values that bracketed the root
        known = {near: f_near, far: f_far}
        ends.append(float(brentq(lambda value: known[value] if value in known else excess(value), min(near, far),
                                 max(near, far), xtol=_PROFILE_XTOL * scale, rtol=1e-15, maxiter=100)))
    return ends[0], ends[1]



def covariance_over_free(outcome, n_params):
    """The covariance of all `n_params` parameters from an optimum's Hessian over the free ones (those not at a
    bound): ``inv(-H)`` there, NaN elsewhere, and all NaN when ``-H`` is singular or its inverse has a
    non-positive variance (no Wald inference is possible then)."""
    covariance = np.full((n_params, n_params), np.nan)
    free = np.flatnonzero(outcome.free)
    try:
        inner = np.linalg.inv(-outcome.hessian)
    except np.linalg.LinAlgError:
        return covariance
    if np.all(np.diag(inner) > 0):
        covariance[np.ix_(free, free)] = inner
    return covariance


def response_model(objective):
    """The objective's response model when it is more than the family alone (zero-inflation, a dispersion
    model, shape parameters), else None (today's parameters: beta, theta, [log phi])."""
    response = getattr(objective, "response", None)
    return None if response is None or response.plain else response


def reported_parameters(objective, x):
    """How a GLMM result reports the parameters `x` of `objective` (``objective.names``).

    ``params``: for an ordinal model the thresholds first (``1|2``, ... as clmm), then the fixed effects, the
    zero-inflation coefficients ``zi~...`` and a dispersion model's ``disp~...``. The rest of the reported
    vector: theta, a single ``log(phi)`` (no dispersion model) and the natural shape parameters (``power``,
    ``df``). J is d(reported)/dx: a permutation but for the shapes (the thresholds' ``theta_j = alpha_1 +
    sum exp(alpha_k)``, ``power = 1 + expit``, ``df = exp``), whose rows carry the response model's Jacobian
    (the delta method).

    Returns
    -------
    (names, values, J, n_params, dispersion, family_params)
        ``names``/``values`` of the reported vector, ``J`` (len(values), x.size), ``n_params`` how many lead it
        as ``params``; ``dispersion`` the single phi (None with a dispersion model or none at all);
        ``family_params`` {name: value} of the free non-ordinal shapes.
    """
    x = np.asarray(x, dtype=float)
    k, p = x.size, objective.n_beta
    identity = np.eye(k)
    beta = [(name, x[j], identity[j]) for j, name in enumerate(objective.design.fixed_names)]
    response = response_model(objective)
    if response is None:
        fam = objective.family
        rest = [(objective.names[j], x[j], identity[j]) for j in range(p, k)]
        dispersion = float(np.exp(x[-1])) if fam.has_dispersion else None
        rows, n_params, family_params = beta + rest, p, {}
    else:
        a0 = k - response.n_params
        names, values, jacobian = response.report(x[a0:])

        def block(key):
            part = []
            for i in range(response.n_params)[response.slices[key]]:
                row = np.zeros(k)
                row[a0:] = jacobian[i]
                part.append((names[i], float(values[i]), row))
            return part

        theta = [(objective.names[j], x[j], identity[j]) for j in range(p, a0)]
        zi, disp, shape = block("zi"), block("disp"), block("shape")
        ordinal = objective.family.name == "ordinal"
        model_disp = response.X_disp is not None
        leading = (shape if ordinal else []) + beta + zi + (disp if model_disp else [])
        rest = theta + ([] if model_disp else disp) + ([] if ordinal else shape)
        rows, n_params = leading + rest, len(leading)
        dispersion = float(np.exp(disp[0][1])) if disp and not model_disp else None
        family_params = {} if ordinal else {name: value for name, value, _ in shape}
    names = [r[0] for r in rows]
    values = np.array([r[1] for r in rows], dtype=float)
    J = np.array([r[2] for r in rows], dtype=float).reshape(len(rows), k)
    return names, values, J, n_params, dispersion, family_params


def transformed_covariance(J, covariance):
    """``J C J'`` for the covariance C of x (NaN where a parameter has no variance: at a bound, or all of it
    when the Hessian is singular), NaN in every row and column of the result that depends on such a one."""
    covariance = np.asarray(covariance, dtype=float)
    # a parameter without variance has NaN in its row and column, i.e. in every row: judge by the diagonal
    missing = ~np.isfinite(np.diag(covariance))
    out = J @ np.where(np.isfinite(covariance), covariance, 0.0) @ J.T
    touched = np.any(J[:, missing] != 0, axis=1)
    out[touched, :] = np.nan
    out[:, touched] = np.nan
    return out
