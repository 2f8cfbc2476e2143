"""Cumulative link (ordinal) models: the response coding, the row log-probabilities and their derivatives.

The model is ordinal::clmm's,

    P(Y <= j | b) = F(theta_j - eta),   j = 1, ..., K - 1,   theta_0 = -inf,  theta_K = +inf,

with eta = x'beta + z'b (X without an intercept: the thresholds take its place) and F the inverse link:
logit (logistic), probit (standard normal) or cloglog, ``F(x) = 1 - exp(-exp(x))``. A row with category y
contributes log P = log(F(a) - F(b)), a = theta_y - eta, b = theta_{y-1} - eta.

The thresholds are optimized in the coordinates alpha_1 = theta_1, alpha_j = log(theta_j - theta_{j-1}), so
the optimizer cannot cross them; :func:`threshold_natural`, :func:`threshold_coordinates` and
:func:`threshold_jacobian` convert.

This module is pure numpy/scipy and imports nothing from :mod:`quadlib.glmm`, so the family layer imports it
without a cycle. Bounds: at most :data:`MAX_CATEGORIES` categories (checked before anything is allocated);
the shape derivatives are dense arrays of (K - 1) times the size of ``eta``.

Accuracy. The first and last categories use the closed forms of log F and log S = log(1 - F) and their
derivatives (full relative accuracy far into both tails; for probit's far lower tail the Mills-ratio
continued fraction, so that x + phi(x)/Phi(x) does not cancel). A middle category forms log P without
cancellation (from the side of the smaller tail) and its derivatives from the ratios f(a)/P, f(b)/P; there
the second and third derivatives are accurate to about 1e-15 (1 + |d1|^2) absolutely, not relatively, when
both thresholds are far in one tail (the derivatives are then nearly those of an exponential, nearly 0).

References
----------
R. H. B. Christensen, "Cumulative link models for ordinal regression with the R package ordinal" (2019);
P. McCullagh, "Regression models for ordinal data", JRSS B 42 (1980) 109-142;
M. Maechler, "Accurately computing log(1 - exp(-|a|))", Rmpfr vignette (2012);
Abramowitz & Stegun, Handbook of Mathematical Functions (1964), 26.2.14 (the Mills ratio continued fraction).
"""
import numbers

import numpy as np
from scipy import special

__all__ = ["LINKS", "MAX_CATEGORIES", "cumulative_link_terms", "ordinal_codes", "threshold_names",
           "threshold_coordinate_names", "threshold_coordinates", "threshold_natural", "threshold_jacobian",
           "threshold_start", "category_probabilities", "link_cdf", "link_quantile"]

LINKS = ("logit", "probit", "cloglog")
MAX_CATEGORIES = 100

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
# Mills ratio continued fraction: below -_CF_FROM, x + phi(x)/Phi(x) by the fraction (no cancellation);
# _CF_TERMS terms give full double precision there (checked against mpmath in the tests)
_CF_FROM = 3.0
_CF_TERMS = 120
# g(u) = u/expm1(u) = sum B_n u^n / n!: its series below u = 0.5 (truncation < 1e-18 there)
_G_SERIES_BELOW = 0.5
_G_COEF = special.bernoulli(20) / special.factorial(np.arange(21))


# --- the links -----------------------------------------------------------------------------------------

def _check_link(link):
    if link not in LINKS:
        raise ValueError(f"`link` must be one of {', '.join(map(repr, LINKS))}, got {link!r}")
    return link


def link_cdf(x, link):
    """The inverse link F(x) = P(latent <= x): logistic, standard normal or 1 - exp(-exp(x)).

    Examples
    --------
    >>> from quadlib.glmm._ordinal import link_cdf
    >>> round(float(link_cdf(0.0, "cloglog")), 12)   # 1 - exp(-1)
    0.632120558829
    """
    x = np.asarray(x, dtype=np.float64)
    link = _check_link(link)
    if link == "logit":
        return special.expit(x)
    if link == "probit":
        return special.ndtr(x)
    with np.errstate(over="ignore"):
        return -np.expm1(-np.exp(x))


def link_quantile(p, link):
    """The link function F^-1(p), the inverse of :func:`link_cdf`.

    Examples
    --------
    >>> from quadlib.glmm._ordinal import link_quantile
    >>> float(link_quantile(0.5, "logit"))
    0.0
    """
    p = np.asarray(p, dtype=np.float64)
    link = _check_link(link)
    if link == "logit":
        return special.logit(p)
    if link == "probit":
        return special.ndtri(p)
    return np.log(-np.log1p(-p))


def _log1mexp(u):
    # log(1 - exp(-u)) for u > 0 (Maechler 2012)
    with np.errstate(over="ignore", divide="ignore"):
        return np.where(u <= np.log(2.0), np.log(-np.expm1(-np.minimum(u, np.log(2.0)))),
                        np.log1p(-np.exp(-np.maximum(u, np.log(2.0)))))


def _log_rhazard(x, link):
    """log(f/F) at x."""
    if link == "logit":
        return -np.logaddexp(0.0, x)
    if link == "probit":
        out = np.empty_like(x)
        far = x < -_CF_FROM
        near = ~far
        out[near] = -0.5 * x[near] ** 2 - _LOG_SQRT_2PI - special.log_ndtr(x[near])
        if np.any(far):
            c, _ = _mills_tail(-x[far])
            out[far] = np.log(c - x[far])
        return out
    with np.errstate(over="ignore"):
        u = np.exp(x)
        # u/expm1(u), as x - u - log(1 - e^-u) where expm1 would overflow
        return np.where(u < 1.0, np.log(np.minimum(u, 1.0) / np.expm1(np.minimum(u, 1.0))),
                        x - u - np.log1p(-np.exp(-np.maximum(u, 1.0))))


def _log_hazard(x, link):
    """log(f/S) at x."""
    if link in ("logit", "probit"):
        return _log_rhazard(-x, link)
    return np.array(x, dtype=np.float64, copy=True)


def _pdf_ratios(x, link):
    """f'/f and f''/f at x."""
    if link == "logit":
        F = special.expit(x)
        S = special.expit(-x)
        return S - F, 1.0 - 6.0 * F * S
    if link == "probit":
        return -x, x * x - 1.0
    with np.errstate(over="ignore"):
        e = np.exp(x)
    return 1.0 - e, (1.0 - e) ** 2 - e


def _mills_tail(t):
    """(c, e) with c = 1/(t + e), e = 2/(t + 3/(t + ...)): c = x + phi(x)/Phi(x) at x = -t, t >= _CF_FROM."""
    tail = np.zeros_like(t)
    for k in range(_CF_TERMS, 1, -1):
        tail = k / (t + tail)
    return 1.0 / (t + tail), tail


def _log_cdf_derivatives(x, link):
    """log F and its first three derivatives at x (1-D arrays)."""
    if link == "logit":
        F = special.expit(x)
        S = special.expit(-x)
        return -np.logaddexp(0.0, -x), S, -F * S, -F * S * (S - F)
    if link == "probit":
        L = special.log_ndtr(x)
        m = np.exp(-0.5 * x * x - _LOG_SQRT_2PI - L)
        c = x + m
        d3 = m * (c * (c + m) - 1.0)
        far = x < -_CF_FROM
        if np.any(far):
            cf, tail = _mills_tail(-x[far])
            c[far] = cf
            m[far] = cf - x[far]
            # c (c + m) - 1 = 2 c^2 + c t - 1 = c (2 c - tail), as c t = 1 - c tail
            d3[far] = m[far] * cf * (2.0 * cf - tail)
        return L, m, -m * c, d3
    # cloglog: log F = log(1 - exp(-u)), u = e^x; (log F)' = g(u) = u/expm1(u)
    with np.errstate(over="ignore"):
        u = np.exp(x)
    L = _log1mexp(u)
    g = np.empty_like(u)
    g1 = np.empty_like(u)
    g2 = np.empty_like(u)
    small = u < _G_SERIES_BELOW
    if np.any(small):
        us = u[small]
        g[small] = np.polynomial.polynomial.polyval(us, _G_COEF)
        g1[small] = np.polynomial.polynomial.polyval(us, _G_COEF[1:] * np.arange(1, 21))
        g2[small] = np.polynomial.polynomial.polyval(us, _G_COEF[2:] * np.arange(2, 21) * np.arange(1, 20))
    big = ~small
    if np.any(big):
        ub = u[big]
        with np.errstate(over="ignore", invalid="ignore"):
            gb = ub / np.expm1(ub)
            c = 1.0 / -np.expm1(-ub)
            k = 1.0 / ub - c
            g[big] = gb
            g1[big] = gb * k
            g2[big] = gb * k * k + gb * (c * c * np.exp(-ub) - 1.0 / (ub * ub))
    with np.errstate(invalid="ignore"):
        ug1 = np.where(g1 == 0.0, 0.0, u * g1)
        d3 = ug1 + np.where(g2 == 0.0, 0.0, u * u * g2)
    return L, g, ug1, d3


def _log_sf_derivatives(x, link):
    """log S = log(1 - F) and its first three derivatives at x."""
    if link in ("logit", "probit"):
        # symmetric: S(x) = F(-x)
        L, d1, d2, d3 = _log_cdf_derivatives(-x, link)
        return L, -d1, d2, -d3
    with np.errstate(over="ignore"):
        e = -np.exp(x)
    return e, e, e, e


def _log_cdf(x, link):
    if link == "logit":
        return -np.logaddexp(0.0, -x)
    if link == "probit":
        return special.log_ndtr(x)
    with np.errstate(over="ignore"):
        return _log1mexp(np.exp(x))


def _log_sf(x, link):
    if link == "logit":
        return -np.logaddexp(0.0, x)
    if link == "probit":
        return special.log_ndtr(-x)
    with np.errstate(over="ignore"):
        return -np.exp(x)


# --- the row terms -------------------------------------------------------------------------------------

def _check_thresholds(thresholds):
    theta = np.asarray(thresholds, dtype=np.float64)
    if theta.ndim != 1 or theta.size < 1:
        raise ValueError(f"`thresholds` must be a 1-D array of K - 1 >= 1 values, got shape {theta.shape}")
    if theta.size >= MAX_CATEGORIES:
        raise ValueError(f"`thresholds`: at most {MAX_CATEGORIES - 1} thresholds ({MAX_CATEGORIES} categories) "
                         f"are supported, got {theta.size}")
    if not np.all(np.isfinite(theta)) or np.any(np.diff(theta) <= 0.0):
        raise ValueError(f"`thresholds` must be finite and strictly increasing, got {theta.tolist()}")
    return theta


def cumulative_link_terms(y, eta, thresholds, link, order=2, dispersion=False, *, n=None):
    """log P(Y = y | eta) of a cumulative link model and its derivatives in eta and in the thresholds.

    Parameters
    ----------
    y : array_like, shape (N,)
        Category codes 1..K (float or int), as :func:`ordinal_codes` returns them.
    eta : array_like, shape (N,) or (N, Q)
        Linear predictor; with two dimensions, Q values for each row (quadrature points).
    thresholds : array_like, shape (K - 1,)
        theta_1 < ... < theta_{K-1} (natural scale); K <= :data:`MAX_CATEGORIES`.
    link : {"logit", "probit", "cloglog"}
        The inverse link F is the logistic, the standard normal or 1 - exp(-exp(x)) distribution function.
    order : {0, 1, 2, 3}, optional
        Highest derivative in eta (default 2).
    dispersion : bool, optional
        Also compute the derivatives in the thresholds (the family's shape parameters): ``dshape`` always,
        ``d1shape`` if ``order >= 1``, ``d2shape`` if ``order >= 2`` (d/dtheta, d^2/(deta dtheta),
        d^3/(deta^2 dtheta)), each of shape ``(K - 1,) + eta.shape`` and zero except at the (at most two)
        thresholds a row's category touches.
    n : array_like, shape (N,), optional
        Prior weights multiplying the value and every derivative (default 1).

    Returns
    -------
    dict
        ``value, d1, d2, d3, dshape, d1shape, d2shape`` (the :class:`FamilyTerms` fields); the entries not
        requested are None. ``value`` is the complete log-probability (there is no dropped constant).

    Raises
    ------
    ValueError
        For a bad ``link``, ``order``, thresholds that are not finite and strictly increasing, more than
        :data:`MAX_CATEGORIES` categories, a code outside 1..K, or ``eta`` of the wrong shape.

    Notes
    -----
    With P = F(a) - F(b), a = theta_y - eta, b = theta_{y-1} - eta, densities f and the ratios f'/f, f''/f:
    d1 = (f(b) - f(a))/P, d2 = (f'(a) - f'(b))/P - d1^2, d3 = (f''(b) - f''(a))/P - 3 d1 (f'(a) - f'(b))/P
    + 2 d1^3; d/dtheta_y = f(a)/P, d/dtheta_{y-1} = -f(b)/P. The ratios are formed as exp(log f - log P).

    Examples
    --------
    >>> import numpy as np
    >>> from quadlib.glmm._ordinal import cumulative_link_terms
    >>> t = cumulative_link_terms([1, 2, 3], np.zeros(3), [-1.0, 1.0], "logit", order=1)
    >>> np.round(np.exp(t["value"]), 6)                 # expit(-1), expit(1) - expit(-1), 1 - expit(1)
    array([0.268941, 0.462117, 0.268941])
    >>> t["d2"] is None
    True
    """
    link = _check_link(link)
    if isinstance(order, (bool, np.bool_)) or not isinstance(order, numbers.Integral) or not 0 <= order <= 3:
        raise ValueError(f"`order` must be 0, 1, 2 or 3, got {order!r}")
    theta = _check_thresholds(thresholds)
    K = theta.size + 1
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"`y` must be 1-D category codes, got shape {y.shape}")
    if np.any(~(y >= 1) | (y > K) | (y != np.round(y))):
        raise ValueError(f"`y` must hold the category codes 1..{K} (integers), got values outside")
    eta = np.asarray(eta, dtype=np.float64)
    if eta.ndim not in (1, 2) or eta.shape[0] != y.shape[0]:
        raise ValueError(f"`eta` must have shape (N,) or (N, Q) with N = len(y) = {y.shape[0]}, got {eta.shape}")
    shape = eta.shape
    N = y.shape[0]
    eta2 = eta.reshape(N, -1)
    Q = eta2.shape[1]
    code = y.astype(np.intp)

    value = np.empty((N, Q))
    derivs = [np.empty((N, Q)) for _ in range(order)]
    m = K - 1
    shapes = [np.zeros((m, N, Q)) for _ in range(min(order, 2) + 1)] if dispersion else []

    bottom = code == 1
    top = code == K
    middle = ~bottom & ~top

    # end categories: closed forms of log F(a) (bottom) and log S(b) (top), derivatives by the chain rule
    # (d/deta = -d/dx); the single threshold's derivative is minus the eta-derivative (shift invariance)
    for rows, j, fn in ((bottom, 0, _log_cdf_derivatives), (top, m - 1, _log_sf_derivatives)):
        if not np.any(rows):
            continue
        x = (theta[j] - eta2[rows]).ravel()
        L, D1, D2, D3 = fn(x, link)
        d = (-D1, D2, -D3)
        value[rows] = L.reshape(-1, Q)
        for k in range(order):
            derivs[k][rows] = d[k].reshape(-1, Q)
        for k in range(len(shapes)):
            shapes[k][j, rows] = -d[k].reshape(-1, Q)

    if np.any(middle):
        ym = code[middle]
        em = eta2[middle]
        a = theta[ym - 1][:, None] - em            # theta_y - eta
        b = theta[ym - 2][:, None] - em            # theta_{y-1} - eta
        lFa, lFb = _log_cdf(a, link), _log_cdf(b, link)
        lSa, lSb = _log_sf(a, link), _log_sf(b, link)
        # log P from the smaller tail: F(b) < 1/2 -> log F(a) + log(1 - F(b)/F(a)), else via the survivals;
        # the ratios f/P as (f/F) F/P or (f/S) S/P: log f - log P directly would cancel (cloglog's
        # log S = -e^x, probit's -x^2/2 are large where P is tiny)
        lower = lFb < np.log(0.5)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            gap = np.where(lower, lFb - lFa, lSa - lSb)          # <= 0
            D = np.log(-np.expm1(np.minimum(gap, 0.0)))
            logP = np.where(lower, lFa, lSb) + D
            ra = np.exp(np.where(lower, _log_rhazard(a, link) - D, _log_hazard(a, link) + gap - D))
            rb = np.exp(np.where(lower, _log_rhazard(b, link) + gap - D, _log_hazard(b, link) - D))
        value[middle] = logP
        if order >= 1 or dispersion:
            g1a, g2a = _pdf_ratios(a, link)
            g1b, g2b = _pdf_ratios(b, link)
            d1 = rb - ra
            q2 = ra * g1a - rb * g1b
            q3 = rb * g2b - ra * g2a
            d2 = q2 - d1 * d1
            d3 = q3 - 3.0 * d1 * q2 + 2.0 * d1 ** 3
            for k, dk in enumerate((d1, d2, d3)[:order]):
                derivs[k][middle] = dk
            if dispersion:
                rows = np.flatnonzero(middle)
                upper_terms = (ra, -ra * (g1a + d1), ra * ((g1a + d1) ** 2 + g2a - g1a * g1a - d2))
                lower_terms = (-rb, rb * (g1b + d1), -rb * ((g1b + d1) ** 2 + g2b - g1b * g1b - d2))
                for k in range(len(shapes)):
                    shapes[k][ym - 1, rows] = upper_terms[k]
                    shapes[k][ym - 2, rows] = lower_terms[k]

    if n is not None:
        w = np.broadcast_to(np.asarray(n, dtype=np.float64), (N,))[:, None]
        value *= w
        for arr in derivs:
            arr *= w
        for arr in shapes:
            arr *= w
    out = {"value": value.reshape(shape)}
    for k, name in enumerate(("d1", "d2", "d3")):
        out[name] = derivs[k].reshape(shape) if k < order else None
    for k, name in enumerate(("dshape", "d1shape", "d2shape")):
        out[name] = shapes[k].reshape((m,) + shape) if k < len(shapes) else None
    return out


def category_probabilities(eta, thresholds, link):
    """P(Y = j | eta) for every category: an array of shape ``eta.shape + (K,)``.

    Examples
    --------
    >>> import numpy as np
    >>> from quadlib.glmm._ordinal import category_probabilities
    >>> p = category_probabilities(np.array([0.0, 2.0]), [-1.0, 1.0], "probit")
    >>> np.round(p.sum(axis=1), 12)
    array([1., 1.])
    """
    link = _check_link(link)
    theta = _check_thresholds(thresholds)
    eta = np.asarray(eta, dtype=np.float64)
    flat = eta.reshape(-1)
    # each category's log-probability (relative accuracy in the tails, unlike differences of F)
    out = np.stack([np.exp(cumulative_link_terms(np.full(flat.size, j + 1.0), flat, theta, link, order=0)["value"])
                    for j in range(theta.size + 1)], axis=-1)
    return out.reshape(eta.shape + (theta.size + 1,))


# --- threshold coordinates ---------------------------------------------------------------------------

def threshold_coordinates(thresholds):
    """Optimizer coordinates of increasing thresholds: alpha_1 = theta_1, alpha_j = log(theta_j - theta_{j-1}).

    Examples
    --------
    >>> from quadlib.glmm._ordinal import threshold_coordinates
    >>> threshold_coordinates([-1.0, 0.0, 2.0]).tolist()
    [-1.0, 0.0, 0.6931471805599453]
    """
    theta = _check_thresholds(thresholds)
    return np.concatenate([theta[:1], np.log(np.diff(theta))])


def threshold_natural(coords):
    """Thresholds theta from the coordinates alpha (the inverse of :func:`threshold_coordinates`).

    Examples
    --------
    >>> from quadlib.glmm._ordinal import threshold_natural
    >>> threshold_natural([-1.0, 0.0, 0.6931471805599453]).round(12).tolist()
    [-1.0, 0.0, 2.0]
    """
    alpha = _check_coords(coords)
    with np.errstate(over="ignore"):
        return np.cumsum(np.concatenate([alpha[:1], np.exp(alpha[1:])]))


def threshold_jacobian(coords):
    """d theta / d alpha, shape (K - 1, K - 1): column 1 ones, column k >= 2 exp(alpha_k) in rows j >= k.

    The covariance of the thresholds is ``J @ cov_alpha @ J.T`` (the delta method; exact for the
    quadratic approximation at the optimum, where it equals the inverse Hessian in theta).

    Examples
    --------
    >>> from quadlib.glmm._ordinal import threshold_jacobian
    >>> threshold_jacobian([0.0, 0.0, 0.6931471805599453]).round(12).tolist()
    [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 2.0]]
    """
    alpha = _check_coords(coords)
    m = alpha.size
    with np.errstate(over="ignore"):
        scale = np.concatenate([[1.0], np.exp(alpha[1:])])
    return np.tril(np.ones((m, m))) * scale[None, :]


def _check_coords(coords):
    alpha = np.asarray(coords, dtype=np.float64)
    if alpha.ndim != 1 or alpha.size < 1 or alpha.size >= MAX_CATEGORIES:
        raise ValueError(f"`coords` must be a 1-D array of 1 to {MAX_CATEGORIES - 1} threshold coordinates, "
                         f"got shape {alpha.shape}")
    return alpha


def threshold_names(levels):
    """clmm's threshold names ``"1|2", "2|3", ...`` from the category labels.

    Examples
    --------
    >>> from quadlib.glmm._ordinal import threshold_names
    >>> threshold_names(["low", "mid", "high"])
    ['low|mid', 'mid|high']
    """
    levels = [str(v) for v in levels]
    return [f"{lo}|{hi}" for lo, hi in zip(levels[:-1], levels[1:])]


def threshold_coordinate_names(levels):
    """Names of the optimizer coordinates: ``"threshold(1|2)", "log(2|3 - 1|2)", ...``.

    Examples
    --------
    >>> from quadlib.glmm._ordinal import threshold_coordinate_names
    >>> threshold_coordinate_names([1, 2, 3])
    ['threshold(1|2)', 'log(2|3 - 1|2)']
    """
    names = threshold_names(levels)
    return [f"threshold({names[0]})"] + [f"log({hi} - {lo})" for lo, hi in zip(names[:-1], names[1:])]


def threshold_start(codes, n_categories, link, weights=None):
    """Starting thresholds F^-1(P(y <= j)) from the (weighted) cumulative proportions of the codes.

    Examples
    --------
    >>> from quadlib.glmm._ordinal import threshold_start
    >>> threshold_start([1, 2, 2, 3], 3, "logit").round(6).tolist()    # logit(1/4), logit(3/4)
    [-1.098612, 1.098612]
    """
    codes = np.asarray(codes, dtype=np.float64)
    if isinstance(n_categories, (bool, np.bool_)) or not isinstance(n_categories, numbers.Integral) \
            or not 2 <= n_categories <= MAX_CATEGORIES:
        raise ValueError(f"`n_categories` must be an integer in [2, {MAX_CATEGORIES}], got {n_categories!r}")
    w = np.ones_like(codes) if weights is None else np.broadcast_to(np.asarray(weights, float), codes.shape)
    counts = np.bincount(codes.astype(np.intp), weights=w, minlength=n_categories + 1)[1:n_categories + 1]
    if np.any(counts <= 0):
        raise ValueError("`codes`: every category needs observations to start its thresholds")
    cum = np.cumsum(counts)[:-1] / counts.sum()
    return link_quantile(cum, link)


# --- the response coding -----------------------------------------------------------------------------

def ordinal_codes(values, name=None):
    """Code an ordinal response as 1..K and return its category labels.

    Parameters
    ----------
    values : array_like or pandas Series / Categorical
        An **ordered** pandas Categorical (its categories, in their order, are the K categories) or integers
        (the categories are min..max). No missing values (drop them first).
    name : str, optional
        The response's name, for the messages.

    Returns
    -------
    codes : ndarray of float, shape (N,)
        1..K.
    levels : tuple
        The K category labels, lowest first.

    Raises
    ------
    ValueError
        An unordered Categorical (make it ordered with ``.cat.as_ordered()``), a declared category with no
        observations or an integer category never observed (its thresholds cannot be identified), missing
        values, fewer than 2 or more than :data:`MAX_CATEGORIES` categories.
    TypeError
        Anything else (strings, booleans, non-integer numbers).

    Examples
    --------
    >>> import pandas as pd
    >>> from quadlib.glmm._ordinal import ordinal_codes
    >>> r = pd.Categorical(["lo", "hi", "mid", "lo"], categories=["lo", "mid", "hi"], ordered=True)
    >>> codes, levels = ordinal_codes(r)
    >>> codes.tolist(), levels
    ([1.0, 3.0, 2.0, 1.0], ('lo', 'mid', 'hi'))
    >>> ordinal_codes([2, 3, 3, 4])[1]
    (2, 3, 4)
    """
    label = "the ordinal response" if name is None else f"the ordinal response {name!r}"
    cat = _as_categorical(values)
    if cat is not None:
        if not cat.ordered:
            raise ValueError(f"`formula`: {label} is an unordered Categorical; an ordinal model needs the order "
                             f"of its categories: use `.cat.as_ordered()` (categories {list(cat.categories)!r} "
                             f"in this order) or `.cat.reorder_categories(..., ordered=True)`")
        codes = np.asarray(cat.codes, dtype=np.intp)
        if np.any(codes < 0):
            raise ValueError(f"`formula`: {label} has missing values (rows {_first_rows(codes < 0)}); drop them")
        levels = tuple(cat.categories.tolist())
        K = len(levels)
        _check_count(K, label)
        counts = np.bincount(codes, minlength=K)
        if np.any(counts == 0):
            j = int(np.flatnonzero(counts == 0)[0])
            raise ValueError(f"`formula`: {label} has no observations in category {str(levels[j])!r}: "
                             f"{_unidentified(levels, j)} cannot be identified; drop it "
                             f"(`.cat.remove_unused_categories()`) or merge categories")
        return codes.astype(np.float64) + 1.0, levels
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"`formula`: {label} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        kind = {"b": "booleans", "U": "strings", "S": "strings"}.get(arr.dtype.kind, f"{arr.dtype} values")
        if arr.dtype.kind == "O":
            kind = "strings" if all(isinstance(v, str) for v in arr.ravel()[:1000]) else "Python objects"
        raise TypeError(f"`formula`: {label} must be an ordered pandas Categorical or integers, got {kind}; "
                        f"e.g. pd.Categorical(y, categories=[...], ordered=True)")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if np.any(bad):
            raise ValueError(f"`formula`: {label} has missing or infinite values (rows {_first_rows(bad)}); "
                             f"drop them")
        if np.any(arr != np.round(arr)):
            raise TypeError(f"`formula`: {label} must be integers or an ordered Categorical, got non-integer "
                            f"numbers (rows {_first_rows(arr != np.round(arr))})")
    if arr.size == 0:
        raise ValueError(f"`formula`: {label} has no observations")
    lo, hi = arr.min(), arr.max()
    K = hi - lo + 1
    _check_count(K, label)
    ints = (arr - lo).astype(np.intp)
    counts = np.bincount(ints, minlength=int(K))
    if np.any(counts == 0):
        j = int(np.flatnonzero(counts == 0)[0])
        levels = tuple(int(lo) + k for k in range(int(K)))
        raise ValueError(f"`formula`: {label}: category {levels[j]} is never observed (integer categories run "
                         f"from {int(lo)} to {int(hi)}): {_unidentified(levels, j)} cannot be identified; recode "
                         f"the categories consecutively or use an ordered Categorical of the observed ones")
    return ints.astype(np.float64) + 1.0, tuple(int(lo) + k for k in range(int(K)))


def _as_categorical(values):
    dtype = getattr(values, "dtype", None)
    if getattr(dtype, "name", None) != "category":
        return None
    return values.cat if hasattr(values, "cat") else values


def _check_count(K, label):
    if K < 2:
        raise ValueError(f"`formula`: {label} needs at least 2 categories, got {int(K)}")
    if K > MAX_CATEGORIES:
        raise ValueError(f"`formula`: {label} has {int(K)} categories; at most {MAX_CATEGORIES} are supported")


def _unidentified(levels, j):
    names = threshold_names(levels)
    touched = [names[k] for k in (j - 1, j) if 0 <= k < len(names)]
    return f"threshold {touched[0]}" if len(touched) == 1 else f"thresholds {touched[0]} and {touched[1]}"


def _first_rows(mask, limit=5):
    rows = np.flatnonzero(mask)
    text = ", ".join(map(str, rows[:limit]))
    return text + (f" and {rows.size - limit} more" if rows.size > limit else "")
