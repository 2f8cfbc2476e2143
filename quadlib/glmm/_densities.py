"""Row log-densities and their derivatives for the beta, beta-binomial, Tweedie and Student t families.

This module owns the mathematics of those four families: for every row and every quadrature point it
evaluates the log-density without its per-row constant (``value``), its derivatives in the linear predictor
eta (``d1, d2, d3``), in s = log(phi) (``ds, d1s, d2s``) and in the *natural* shape parameters (``dshape,
d1shape, d2shape``: the Tweedie power p, the Student t degrees of freedom nu), plus each family's per-row
log constant (the terms that depend on the data only). It is pure numpy/scipy and imports nothing from
``quadlib.glmm``, so :mod:`quadlib.glmm._families` wraps these functions in its ``Family`` classes without an
import cycle; the data are validated there (``Family.validate``), not here: this is the likelihood's hot path.

Every ``*_terms`` function has one signature, ``(y, n, eta, phi, shape, order, dispersion) -> dict``:

- ``y, n``: arrays (N,): the response and the prior weights (``n=None``: 1), or, for the beta-binomial, the
  numbers of trials; with prior weights the value and every derivative are multiplied by ``n``;
- ``eta``: (N,) or (N, K) (K quadrature points per row; row quantities broadcast);
- ``phi``: the dispersion (beta, beta-binomial: precision; Tweedie: var = phi mu^p; t: the scale sigma),
  a positive float or a per-row array (N,);
- ``shape``: the natural shape parameters, an array (1,) (Tweedie ``[p]``, t ``[nu]``) or None (beta,
  beta-binomial have none);
- ``order`` in 0..3: the highest derivative in eta; ``dispersion``: also ``ds`` (and ``d1s`` if
  ``order >= 1``, ``d2s`` if ``order >= 2``) and, for the Tweedie and t, ``dshape`` (and ``d1shape``,
  ``d2shape`` likewise), each of shape (1,) + eta.shape.

The returned dict holds only the fields computed, named as :class:`quadlib.glmm._families.FamilyTerms`'s.
``dss`` is not computed (nothing reads it for these families).

Links: logit for the beta and beta-binomial (mu = expit(eta)), log for the Tweedie, identity for the t.
"""
import numpy as np
from scipy import special

from .._extensions import _families as _kernel

__all__ = ["beta_terms", "beta_log_constant", "beta_binomial_terms", "beta_binomial_log_constant",
           "tweedie_terms", "tweedie_log_constant", "tweedie_log_series", "student_t_terms",
           "student_t_log_constant", "TWEEDIE_MAX_TERMS", "BETA_BINOMIAL_SUM_LIMIT"]

TWEEDIE_MAX_TERMS = 20_000
"""Hard bound on the number of terms of the Tweedie W series summed for one row (beyond it: NaN)."""

BETA_BINOMIAL_SUM_LIMIT = 64
"""Rows with at most this many trials use exact finite sums for the gamma-function differences."""
# ... and so do rows with at most 1,024 trials where phi >= 1e4, where the special-function differences
# of the s-derivatives would lose log10(phi/n) digits.
_BB_SUM_LIMIT_LARGE_PHI = 1024
_BB_LARGE_PHI = 1e4

# The Tweedie series is summed over the terms within e^-37 (about 1e-16) of its largest one.
_TWEEDIE_DROP = 37.0
# Flat arrays of series terms are built in chunks of at most this many elements (memory bound).
_TWEEDIE_CHUNK = 1 << 20


def _common(y, n, eta, phi, order):
    if order not in (0, 1, 2, 3):
        raise ValueError(f"`order` must be 0, 1, 2 or 3, got {order!r}")
    y = np.asarray(y, dtype=np.float64)
    eta = np.asarray(eta, dtype=np.float64)
    N = y.shape[0]
    if eta.ndim not in (1, 2) or eta.shape[0] != N:
        raise ValueError(f"`eta` must have shape (N,) or (N, K) with N = {N} rows, got {eta.shape}")
    n = np.ones(N) if n is None else np.broadcast_to(np.asarray(n, dtype=np.float64), (N,))
    if phi is None:
        raise ValueError("`phi` is required for this family")
    phi = np.broadcast_to(np.asarray(phi, dtype=np.float64), (N,))
    col = (lambda r: r[:, None]) if eta.ndim == 2 else (lambda r: r)
    return y, n, eta, phi, col


def _shape_scalar(shape, name):
    if shape is None:
        raise ValueError(f"`shape` must hold the {name}, got None")
    s = np.asarray(shape, dtype=np.float64).reshape(-1)
    if s.size != 1:
        raise ValueError(f"`shape` must hold one value (the {name}), got {s.size}")
    return float(s[0])


def _weighted(out, w):
    return {k: v * w for k, v in out.items()}


# Large arguments: lgamma and digamma through their Stirling remainders, so that differences of large
# gamma-function values (lgamma(phi) - lgamma(a) - lgamma(b), psi(phi) - psi(a)) are formed from the small
# remainders and exact logarithms instead of cancelling (DLMF 5.11.1, 5.11.2; the next term is below 1e-15
# of the remainder from x = 10 on).
_STIRLING_FROM = 10.0


_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def _series_psi12(x):
    """trigamma and psi2 by their asymptotic series (DLMF 5.15.8), for x >= 10."""
    inv = 1 / x
    u = inv * inv
    p1 = inv + u * (0.5 + inv * (1 / 6 - u * (1 / 30 - u * (1 / 42 - u * (1 / 30 - u * (5 / 66 - u * 691 / 2730))))))
    p2 = -u * (1 + inv * (1 + inv * (0.5 - u * (1 / 6 - u * (1 / 6 - u * (3 / 10 - u * (5 / 6 - u * 691 / 210)))))))
    return p1, p2


def _gamma_parts_big(xb, keys):
    inv = 1 / xb
    u = inv * inv
    out = {}
    if "lg" in keys:
        out["lg"] = (1 / 12 - u * (1 / 360 - u * (1 / 1260 - u * (1 / 1680 - u * (1 / 1188 - u * 691 / 360360))))) * inv
    if "dg" in keys:
        out["dg"] = -0.5 * inv - u * (1 / 12 - u * (1 / 120 - u * (1 / 252 - u * (1 / 240 - u * (1 / 132 - u * 691 / 32760)))))
    if "t1" in keys or "t2" in keys:
        p1, p2 = _series_psi12(xb)
        out["t1"], out["t2"] = p1, p2
    if "tr" in keys:
        out["tr"] = 0.5 * inv + u * (1 / 6 - u * (1 / 30 - u * (1 / 42 - u * (1 / 30 - u * (5 / 66 - u * 691 / 2730)))))
    if "bs" in keys:
        out["bs"] = u * (1 / 12 - u * (1 / 40 - u * (5 / 252 - u * (7 / 240 - u * (3 / 44 - u * 7601 / 32760)))))
    return out


def _gamma_parts_small(xs, keys):
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = np.log(xs)
        if "lg" in keys:
            out["lg"] = special.gammaln(xs) - ((xs - 0.5) * lx - xs + _HALF_LOG_2PI)
        if "dg" in keys:
            out["dg"] = special.digamma(xs) - lx
        if {"t1", "t2", "tr", "bs"} & set(keys):
            # psi_n(x + 1) by the recurrence from x + m >= 10 down to x + 1, then the k = 0 term;
            # m in 1..10 (clipped: x <= 0 or NaN is invalid input, NaN out, never a longer loop)
            second = "t2" in keys
            m = np.clip(np.ceil(_STIRLING_FROM - xs), 1, _STIRLING_FROM)
            p1, p2 = _series_psi12(xs + m)
            r = np.empty_like(xs)
            r2 = np.empty_like(xs)
            finite = m[np.isfinite(m)]
            for k in range(int(finite.max()) - 1 if finite.size else 0, 0, -1):
                np.add(xs, k, out=r)
                np.reciprocal(r, out=r)
                r *= k < m
                np.multiply(r, r, out=r2)
                p1 += r2
                if second:
                    r2 *= r
                    r2 *= 2
                    p2 -= r2
            inv = 1 / xs
            out["t1"] = p1 + inv * inv
            if second:
                out["t2"] = p2 - 2 * inv ** 3
            if "tr" in keys:
                out["tr"] = xs * p1 + inv - 1
            if "bs" in keys:
                out["bs"] = xs * p1 - 1 + special.digamma(xs + 1) - lx
    return out


_PART_LEVELS = {0: ("lg", "dg"), 1: ("lg", "dg", "t1", "tr", "bs"), 2: ("lg", "dg", "t1", "tr", "bs", "t2")}


def _gamma_parts(x, keys=2):
    """The gamma-function quantities of the beta-type densities at x > 0, each computed once.

    ``keys`` names those wanted (a level 0, 1, 2 is shorthand for the first 2, 5, 6): ``lg = lgamma(x) -
    ((x - 1/2) log x - x + log(2 pi)/2)``, ``dg = digamma(x) - log x`` (the Stirling remainders), ``t1 =
    trigamma(x)``, ``tr = x trigamma(x) - 1``, ``bs = x trigamma(x) - 1 + digamma(x) - log x``, ``t2 =
    psi2(x)``. Returns a dict of arrays of x's shape holding at least those.

    Notes
    -----
    Differences of large gamma-function values (lgamma(phi) - lgamma(a) - lgamma(b), psi(phi) - psi(a),
    -a psi1(a) + b psi1(b)) are formed from these small remainders and exact logarithms instead of
    cancelling. For x >= 10 every quantity is its asymptotic series (DLMF 5.11.1, 5.11.2, 5.15.8),
    truncated after the B_12 term (at x = 10: 7e-14 relative for lg, 2e-14 dg, 1e-14 t1, 2e-13 t2 and tr,
    1e-11 bs, which is O(1/x^2)). Below 10: scipy's gammaln and digamma, and the polygammas by the
    recurrence psi_n(x) = psi_n(x + 1) + (-1)^(n+1) n!/x^(n+1) up to x + m >= 10 (at most 10 vectorized
    passes; scipy's ``polygamma`` goes through the Hurwitz zeta, five times slower), with the k = 0 term
    kept apart so that ``tr`` and ``bs`` do not cancel as x -> 0.
    """
    keys = _PART_LEVELS[keys] if isinstance(keys, int) else tuple(keys)
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1)
    big = flat >= _STIRLING_FROM
    n_big = int(np.count_nonzero(big))
    if n_big == flat.size:
        return {k: v.reshape(x.shape) for k, v in _gamma_parts_big(flat, keys).items()}
    if n_big == 0:
        return {k: v.reshape(x.shape) for k, v in _gamma_parts_small(flat, keys).items()}
    out = {}
    for idx, part in ((np.flatnonzero(big), _gamma_parts_big), (np.flatnonzero(~big), _gamma_parts_small)):
        for k, v in part(flat[idx], keys).items():
            out.setdefault(k, np.empty(flat.shape))[idx] = v
    return {k: v.reshape(x.shape) for k, v in out.items()}


def _lgamma_rem(x):
    """lgamma(x) - ((x - 1/2) log x - x + log(2 pi)/2), for x > 0."""
    return _gamma_parts(x, ("lg",))["lg"]


def _digamma_rem(x):
    """digamma(x) - log(x), for x > 0."""
    return _gamma_parts(x, ("dg",))["dg"]


def _trigamma_rem(x):
    """x trigamma(x) - 1, for x > 0."""
    return _gamma_parts(x, ("tr",))["tr"]


def _beta_s_rem(x):
    """x trigamma(x) - 1 + digamma(x) - log(x), for x > 0."""
    return _gamma_parts(x, ("bs",))["bs"]


def _polygamma12(x, second=True):
    """trigamma(x) and (if ``second``, else None) psi2(x) for x > 0 (see :func:`_gamma_parts`)."""
    g = _gamma_parts(x, ("t1", "t2") if second else ("t1",))
    return g["t1"], (g["t2"] if second else None)


def _lgamma_diff(x, k):
    """lgamma(x + k) - lgamma(x) for x > 0, k >= 0, without cancellation for large x."""
    big = x >= _STIRLING_FROM
    xb = np.where(big, x, 1.0)
    stirling = ((xb - 0.5) * np.log1p(k / xb) + k * (np.log(xb + k) - 1)
                + _lgamma_rem(xb + k) - _lgamma_rem(xb))
    return np.where(big, stirling, special.gammaln(x + k) - special.gammaln(x))


def _digamma_diff(x, k):
    """digamma(x + k) - digamma(x) for x > 0, k >= 0, without cancellation for large x."""
    return np.log1p(k / x) + _digamma_rem(x + k) - _digamma_rem(x)


# --------------------------------------------------------------------------------------------------------
# beta
# --------------------------------------------------------------------------------------------------------
def beta_log_constant(y, n=None):
    """Per-row log constant of the beta family: ``-n (log y + log1p(-y))``, shape (N,)."""
    y = np.asarray(y, dtype=np.float64)
    n = 1.0 if n is None else np.asarray(n, dtype=np.float64)
    return -n * (np.log(y) + np.log1p(-y))


def beta_terms(y, n, eta, phi, shape=None, order=2, dispersion=False):
    """Beta log-density (logit link, precision phi) and derivatives; see the module notes.

    ``value = lgamma(phi) - lgamma(a) - lgamma(b) + a log y + b log1p(-y)`` with ``a = mu phi``,
    ``b = (1 - mu) phi``, ``mu = expit(eta)`` (the rest of log p is :func:`beta_log_constant`); the gamma
    functions enter as ``-betaln(a, b)``.

    References
    ----------
    S. Ferrari & F. Cribari-Neto, "Beta regression for modelling rates and proportions", J. Appl. Stat.
    31 (2004) 799-815 (the mean/precision parameterization, as glmmTMB's ``beta_family``).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> t = beta_terms([0.3], None, np.array([0.4]), 5.0, order=1)
    >>> mu = 1 / (1 + np.exp(-0.4))
    >>> bool(np.isclose(t["value"][0] + beta_log_constant([0.3])[0], stats.beta.logpdf(0.3, 5 * mu, 5 * (1 - mu))))
    True
    """
    y, n, eta, phi, col = _common(y, n, eta, phi, order)
    ly, l1y = col(np.log(y)), col(np.log1p(-y))
    ph = col(phi)
    mu, mc = special.expit(eta), special.expit(-eta)
    a, b = mu * ph, mc * ph
    sp = np.log1p(np.exp(-np.abs(eta)))
    lmu, lmc = -(np.maximum(-eta, 0.0) + sp), -(np.maximum(eta, 0.0) + sp)   # log mu, log(1 - mu)
    need1 = order >= 2 or (dispersion and order >= 1)
    need2 = order >= 3 or (dispersion and order >= 2)
    keys = (["lg"] + (["dg"] if order >= 1 or dispersion else []) + (["t1"] if need1 else [])
            + (["t2"] if need2 else []) + (["bs"] if dispersion and order >= 1 else [])
            + (["tr"] if dispersion and order >= 2 else []))
    A, B = _gamma_parts(a, keys), _gamma_parts(b, keys)
    P = _gamma_parts(ph, ("lg", "dg") if dispersion else ("lg",))
    # lgamma(phi) - lgamma(a) - lgamma(b) through the Stirling remainders (phi = a + b): its large terms
    # -a log mu - b log(1 - mu) join a log y + b log1p(-y) before they are added, so nothing of size phi
    # cancels (with -betaln, phi = 1e8 lost 1e-9 relative)
    out = {"value": (a * (ly - lmu) + b * (l1y - lmc) + 0.5 * (np.log(ph) + lmu + lmc) - _HALF_LOG_2PI
                     + P["lg"] - A["lg"] - B["lg"])}
    if order == 0 and not dispersion:
        return _weighted(out, col(n))
    v, t = mu * mc, mc - mu                      # v = dmu/deta, t = 1 - 2 mu
    # psi(a) - psi(b) = log(a/b) + remainders = eta + remainders
    T = (ly - l1y) - eta - (A["dg"] - B["dg"])
    if order >= 1:
        out["d1"] = ph * v * T
    if need1:
        P1 = A["t1"] + B["t1"]
    if order >= 2:
        out["d2"] = ph * v * t * T - ph ** 2 * v ** 2 * P1
    if order >= 3:
        vpp = v * t ** 2 - 2 * v ** 2
        out["d3"] = ph * vpp * T - 3 * ph ** 2 * v * (v * t) * P1 - ph ** 3 * v ** 3 * (A["t2"] - B["t2"])
    if dispersion:
        # phi psi(phi) - a psi(a) - b psi(b) + ... with psi(phi) - psi(a) = -log mu + remainders
        out["ds"] = a * (ly - lmu + P["dg"] - A["dg"]) + b * (l1y - lmc + P["dg"] - B["dg"])
        if order >= 1:
            # T - a psi1(a) + b psi1(b): the O(1/a) parts of T and of the trigamma terms cancel; the
            # remainders of their sums are O(1/a^2)
            out["d1s"] = ph * v * ((ly - l1y) - eta + B["bs"] - A["bs"])
        if order >= 2:
            U = B["tr"] - A["tr"]                    # -a psi1(a) + b psi1(b)
            out["d2s"] = out["d2"] + ph * v * t * U - ph ** 2 * v ** 2 * (P1 + a * A["t2"] + b * B["t2"])
    return _weighted(out, col(n))


# --------------------------------------------------------------------------------------------------------
# beta-binomial
# --------------------------------------------------------------------------------------------------------
def beta_binomial_log_constant(y, n):
    """Per-row log constant of the beta-binomial: ``log C(n, y)``, shape (N,)."""
    y = np.asarray(y, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    return special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)


_BB_SUMS = ("Sa", "Sb", "Qa", "Qb", "Ra", "Rb", "Ka", "Kb", "Ua", "Ub", "Va", "Vb")


def _bb_finite_sums(y, n, a, b, ph, kmax):
    """The beta-binomial's gamma-function differences as exact finite sums over k < y and k < n - y.

    With x = a (k < y) or b (k < n - y): ``S = sum 1/(x+k)`` (= psi(x+y) - psi(x)), ``Q = -sum 1/(x+k)^2``,
    ``R = 2 sum 1/(x+k)^3`` (the polygamma differences), and the combinations the s-derivatives need, summed
    directly because they cancel when formed from S, Q, R for large phi: ``K = sum k/(x+k)`` (= y - a S),
    ``U = sum k/(x+k)^2`` (= S + a Q), ``V = sum k/(x+k)^3`` (= -(2 Q + a R)/2); per row ``Kphi = sum_{k<n}
    k/(phi+k)``. Bounded by ``kmax <= BETA_BINOMIAL_SUM_LIMIT`` passes.
    """
    shape = np.broadcast_shapes(a.shape, ph.shape)
    value = np.zeros(shape)
    acc = {k: np.zeros(shape) for k in _BB_SUMS}
    kphi = np.zeros(ph.shape)
    for k in range(kmax):
        for x, m, tag in ((a, k < y, "a"), (b, k < n - y, "b")):
            i = np.where(m, 1.0 / (x + k), 0.0)
            acc["S" + tag] += i
            acc["Q" + tag] -= i * i
            acc["R" + tag] += 2 * i ** 3
            acc["K" + tag] += k * i
            acc["U" + tag] += k * i * i
            acc["V" + tag] += k * i ** 3
        # log((a + k)/(phi + k)) = log1p(-b/(phi + k)): exact where the ratio is near 1 (mu -> 1)
        xa = b / (ph + k)
        ta = np.where(xa < 0.5, np.log1p(-np.minimum(xa, 0.5)), np.log((a + k) / (ph + k)))
        xb = (a + y) / (ph + y + k)
        tb = np.where(xb < 0.5, np.log1p(-np.minimum(xb, 0.5)), np.log((b + k) / (ph + y + k)))
        value += np.where(k < y, ta, 0.0) + np.where(k < n - y, tb, 0.0)
        kphi += np.where(k < n, k / (ph + k), 0.0)
    return value, acc, kphi


def _bb_special(y, n, a, b, ph):
    """The same quantities as :func:`_bb_finite_sums` from special functions (rows with many trials)."""
    value = _lgamma_diff(a, y) + _lgamma_diff(b, n - y) - _lgamma_diff(ph, n)
    acc = {}
    for x, m, tag in ((a, y, "a"), (b, n - y, "b")):
        S = _digamma_diff(x, m)
        (p1m, p2m), (p1, p2) = _polygamma12(x + m), _polygamma12(x)
        Q, R = p1m - p1, p2m - p2
        acc.update({"S" + tag: S, "Q" + tag: Q, "R" + tag: R, "K" + tag: m - x * S, "U" + tag: S + x * Q,
                    "V" + tag: -(2 * Q + x * R) / 2})
    kphi = n - ph * _digamma_diff(ph, n)
    return value, acc, kphi


def beta_binomial_terms(y, n, eta, phi, shape=None, order=2, dispersion=False):
    """Beta-binomial log-pmf (logit link, precision phi; glmmTMB's ``betabinomial``) and derivatives.

    ``value = [lgamma(y+a) - lgamma(a)] + [lgamma(n-y+b) - lgamma(b)] - [lgamma(n+phi) - lgamma(phi)]``
    with ``a = mu phi``, ``b = (1 - mu) phi``; ``n`` is the number of trials (required). The rest of the
    log-pmf is :func:`beta_binomial_log_constant`.

    Notes
    -----
    Rows with ``n <= BETA_BINOMIAL_SUM_LIMIT`` (64) evaluate the differences of lgamma, digamma and
    polygamma as exact finite sums (``psi(y + a) - psi(a) = sum_{k<y} 1/(a + k)``): no cancellation as
    phi -> infinity, where the pmf tends to the binomial's (when every row is such, in one compiled pass,
    ``quadlib._extensions._families.beta_binomial_sums``; else by vectorized passes); so do rows with at most 1,024 trials where
    phi >= 1e4 (at most 1,024 vectorized passes over those rows). Other rows use differences of lgamma and
    digamma formed from their Stirling remainders where the arguments are large (DLMF 5.11), and scipy's
    polygamma: there the s-derivatives lose about log10(phi/n) digits (ds, d1s relative 1e-10, 1e-7 at
    n = 100, phi = 1e6, were that row not summed), the value and the eta-derivatives keep full accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> t = beta_binomial_terms([3], [10], np.array([-0.5]), 4.0, order=0)
    >>> mu = 1 / (1 + np.exp(0.5))
    >>> ref = stats.betabinom.logpmf(3, 10, 4 * mu, 4 * (1 - mu))
    >>> bool(np.isclose(t["value"][0] + beta_binomial_log_constant([3], [10])[0], ref))
    True
    """
    if n is None:
        raise ValueError("`n` (the numbers of trials) is required for the beta-binomial family")
    y, n, eta, phi, col = _common(y, n, eta, phi, order)
    if np.all(n <= BETA_BINOMIAL_SUM_LIMIT):
        # every row summed term by term: the compiled loop (the numpy version below is its twin)
        return _beta_binomial_compiled(y, n, eta, phi, order, dispersion)
    return _beta_binomial_numpy(y, n, eta, phi, col, order, dispersion)


def _beta_binomial_compiled(y, n, eta, phi, order, dispersion):
    shape = eta.shape
    names = ["value", "d1", "d2", "d3"][:order + 1] + (["ds", "d1s", "d2s"][:1 + min(order, 2)] if dispersion else [])
    out = {name: np.empty(shape) for name in names}
    flat = {name: a.reshape(shape[0], -1) for name, a in out.items()}
    eta2 = np.ascontiguousarray(eta.reshape(shape[0], -1))
    status = _kernel.beta_binomial_sums(np.ascontiguousarray(y), np.ascontiguousarray(n), eta2,
                                        np.ascontiguousarray(phi), order, bool(dispersion), flat["value"],
                                        flat.get("d1"), flat.get("d2"), flat.get("d3"), flat.get("ds"),
                                        flat.get("d1s"), flat.get("d2s"))
    if status != 0:  # pragma: no cover - the arrays were shaped here
        raise RuntimeError(f"the beta-binomial kernel refused its arguments (status {status})")
    return out


def _beta_binomial_numpy(y, n, eta, phi, col, order, dispersion):
    ph = col(phi)
    mu, mc = special.expit(eta), special.expit(-eta)
    a, b = mu * ph, mc * ph
    small = (n <= BETA_BINOMIAL_SUM_LIMIT) | ((n <= _BB_SUM_LIMIT_LARGE_PHI) & (phi >= _BB_LARGE_PHI))
    value = np.zeros(a.shape)
    acc = {k: np.zeros(a.shape) for k in _BB_SUMS}
    kphi = np.zeros(y.shape[0])
    for rows, finite in ((np.flatnonzero(small), True), (np.flatnonzero(~small), False)):
        if rows.size == 0:
            continue
        yr, nr, phr = col(y[rows]), col(n[rows]), col(phi[rows])
        if finite:
            got = _bb_finite_sums(yr, nr, a[rows], b[rows], phr, int(n[rows].max()))
        else:
            got = _bb_special(yr, nr, a[rows], b[rows], phr)
        value[rows] = got[0]
        for k in _BB_SUMS:
            acc[k][rows] = got[1][k]
        kphi[rows] = np.broadcast_to(got[2], phr.shape).reshape(rows.size)
    g = acc
    out = {"value": value}
    v, t = mu * mc, mc - mu
    D = g["Sa"] - g["Sb"]
    if order >= 1:
        out["d1"] = ph * v * D
    if order >= 2:
        out["d2"] = ph * v * t * D + ph ** 2 * v ** 2 * (g["Qa"] + g["Qb"])
    if order >= 3:
        vpp = v * t ** 2 - 2 * v ** 2
        out["d3"] = (ph * vpp * D + 3 * ph ** 2 * v * (v * t) * (g["Qa"] + g["Qb"])
                     + ph ** 3 * v ** 3 * (g["Ra"] - g["Rb"]))
    if dispersion:
        # a Sa + b Sb - phi (psi(n + phi) - psi(phi)) = (y - Ka) + (n - y - Kb) - (n - Kphi)
        out["ds"] = col(kphi) - g["Ka"] - g["Kb"]
        U = g["Ua"] - g["Ub"]                       # Sa - Sb + a Qa - b Qb
        if order >= 1:
            out["d1s"] = ph * v * U
        if order >= 2:
            out["d2s"] = ph * v * t * U - 2 * ph ** 2 * v ** 2 * (g["Va"] + g["Vb"])
    return out


# --------------------------------------------------------------------------------------------------------
# Tweedie
# --------------------------------------------------------------------------------------------------------
def tweedie_log_constant(y, n=None):
    """Per-row log constant of the Tweedie family: ``-n log y`` for y > 0, 0 at y = 0; shape (N,)."""
    y = np.asarray(y, dtype=np.float64)
    n = 1.0 if n is None else np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(y > 0, -n * np.log(np.where(y > 0, y, 1.0)), 0.0)


def _tweedie_log_term(j, logz, alpha):
    return j * logz - special.gammaln(1 + j) - special.gammaln(-j * alpha)


def tweedie_log_series(y, phi, p, derivatives=False):
    """log W(y, phi, p) of Dunn & Smyth's series for y > 0, and the moments its derivatives need.

    ``W = sum_{j>=1} W_j``, ``log W_j = j log z - lgamma(1 + j) - lgamma(-j alpha)``, alpha = (2-p)/(1-p),
    ``log z = alpha (log(p-1) - log y) - (1-alpha) log phi - log(2-p)``; the Tweedie density at y > 0 is
    ``W/y exp((y mu^{1-p}/(1-p) - mu^{2-p}/(2-p))/phi)``.

    Parameters
    ----------
    y, phi : ndarray, shape (M,)
        Positive responses and dispersions.
    p : float
        The power, in (1, 2).
    derivatives : bool, optional
        Also return ``E_w[j]`` and ``E_w[j psi(-j alpha)]`` (weights ``W_j / W``).

    Returns
    -------
    log_w : ndarray (M,)
        NaN for a row whose series needs more than ``TWEEDIE_MAX_TERMS`` (20,000) terms, or whose
        inputs are not finite and positive.
    ej, ej_psi : ndarray (M,)
        Only with ``derivatives=True``; NaN where ``log_w`` is.

    Notes
    -----
    log W_j is concave in j. The series is summed over the integers where log W_j is within 37 of the largest
    term, plus the first term beyond on each side: the terms dropped are below 1e-16 relative. A compiled
    loop (``quadlib._extensions._families.tweedie_series``) walks from Dunn & Smyth's estimate
    ``y^{2-p}/(phi (2-p))`` to the largest term (at most 64 steps) and outwards, about 5x faster than the
    vectorized version; the rows it declines (the largest term beyond 64 steps, or too many terms) go to the
    vectorized version (``_tweedie_sum``, the twin of the tests): Newton from the same estimate (at most 50
    steps), the window's ends by doubling and bisection (at most 2 log2(20,000) steps each way), the terms
    built in chunks of at most 2^20.

    References
    ----------
    P. K. Dunn & G. K. Smyth, "Series evaluation of Tweedie exponential dispersion model densities",
    Statistics and Computing 15 (2005) 267-280.
    """
    y = np.asarray(y, dtype=np.float64)
    phi = np.asarray(phi, dtype=np.float64)
    M = y.shape[0]
    log_w = np.full(M, np.nan)
    ej = np.full(M, np.nan)
    ej_psi = np.full(M, np.nan)
    ok = np.isfinite(y) & (y > 0) & np.isfinite(phi) & (phi > 0) & (1 < p < 2)
    idx = np.flatnonzero(ok)
    if idx.size:
        logy, logphi = np.log(y[idx]), np.log(phi[idx])
        lw, e1, e2 = np.empty(idx.size), np.empty(idx.size), np.empty(idx.size)
        declined = _kernel.tweedie_series(logy, logphi, float(p), bool(derivatives), TWEEDIE_MAX_TERMS, lw, e1, e2)
        if declined:    # rows far from the compiled walk's reach (or too long): the vectorized series decides
            rows = np.flatnonzero(np.isnan(lw))
            lw[rows], e1[rows], e2[rows] = _tweedie_sum(logy[rows], logphi[rows], p, derivatives)
        log_w[idx], ej[idx], ej_psi[idx] = lw, e1, e2
    return (log_w, ej, ej_psi) if derivatives else log_w


def _tweedie_sum(logy, logphi, p, derivatives):
    alpha = (2 - p) / (1 - p)
    logz = alpha * (np.log(p - 1) - logy) - (1 - alpha) * logphi - np.log(2 - p)
    M = logy.shape[0]
    # continuous maximizer of log W_j (concave in j): safeguarded Newton from Dunn & Smyth's estimate
    with np.errstate(over="ignore"):
        j = np.clip(np.exp((2 - p) * logy - logphi - np.log(2 - p)), 1.0, 1e15)
    for _ in range(50):
        g = logz - special.digamma(1 + j) + alpha * special.digamma(-j * alpha)
        h = -_polygamma12(1 + j, second=False)[0] - alpha ** 2 * _polygamma12(-j * alpha, second=False)[0]
        jn = np.clip(j - g / h, np.maximum(j / 4, 1.0), j * 4)
        done = np.abs(jn - j) <= 1e-8 * j
        j = jn
        if done.all():
            break
    j0 = np.floor(j)
    f0, f1 = _tweedie_log_term(j0, logz, alpha), _tweedie_log_term(j0 + 1, logz, alpha)
    peak = np.where(f1 > f0, j0 + 1, j0)
    fmax = np.maximum(f0, f1)
    thresh = fmax - _TWEEDIE_DROP
    hi = _tweedie_edge(peak, logz, alpha, thresh, +1)
    lo = _tweedie_edge(peak, logz, alpha, thresh, -1)
    start = np.maximum(lo, 1.0)
    count = hi - start + 1
    bad = ~np.isfinite(fmax) | (count > TWEEDIE_MAX_TERMS) | ~np.isfinite(count)
    count = np.where(bad, 0, count).astype(np.int64)
    log_w = np.full(M, np.nan)
    e1 = np.full(M, np.nan)
    e2 = np.full(M, np.nan)
    ends = np.cumsum(count)
    first = 0
    while first < M:
        # rows [first, last) whose terms fit in one chunk (at least one row)
        base = ends[first] - count[first]
        last = max(first + 1, int(np.searchsorted(ends, base + _TWEEDIE_CHUNK, side="right")))
        rows = np.arange(first, last)
        c = count[rows]
        total = int(c.sum())
        if total:
            r = np.repeat(rows, c)
            off = np.arange(total) - np.repeat(np.cumsum(c) - c, c)
            jj = start[r] + off
            w = np.exp(_tweedie_log_term(jj, logz[r], alpha) - fmax[r])
            s0 = np.bincount(r - first, w, minlength=rows.size)
            s1 = np.bincount(r - first, w * jj, minlength=rows.size)
            with np.errstate(divide="ignore", invalid="ignore"):
                log_w[rows] = fmax[rows] + np.log(s0)
                e1[rows] = s1 / s0
                if derivatives:
                    s2 = np.bincount(r - first, w * jj * special.digamma(-jj * alpha), minlength=rows.size)
                    e2[rows] = s2 / s0
        first = last
    log_w[bad] = np.nan
    e1[bad] = np.nan
    e2[bad] = np.nan
    return log_w, e1, e2


def _tweedie_edge(peak, logz, alpha, thresh, direction):
    """The first integer beyond ``peak`` (upwards or downwards) where log W_j < thresh (downwards: >= 0).

    Doubling then bisection; at most 2 (log2(TWEEDIE_MAX_TERMS) + 2) vectorized steps. Rows that need a
    step beyond TWEEDIE_MAX_TERMS get ``peak +- 2 TWEEDIE_MAX_TERMS`` (then rejected by the caller).
    """
    inside = np.zeros_like(peak)             # offsets known to be >= thresh
    step = np.ones_like(peak)
    active = np.ones(peak.shape, dtype=bool)
    limit = 2 * TWEEDIE_MAX_TERMS
    for _ in range(64):                      # doubling: at most log2(limit) + 1 = 17 passes
        cand = peak + direction * step
        if direction < 0:
            below = cand < 1
        else:
            below = np.zeros(peak.shape, dtype=bool)
        fc = _tweedie_log_term(np.maximum(cand, 1.0), logz, alpha)
        out_ = below | (fc < thresh) | ~np.isfinite(fc)
        grow = active & ~out_
        inside = np.where(grow, step, inside)
        active = grow & (step * 2 <= limit)
        step = np.where(grow, step * 2, step)
        if not active.any():
            break
    # bisection between the last offset inside (lo_off) and the first outside (hi_off)
    hi_off = step
    lo_off = inside
    too_far = lo_off * 2 > limit
    for _ in range(64):
        gap = hi_off - lo_off > 1
        if not gap.any():
            break
        mid = np.floor((lo_off + hi_off) / 2)
        cand = peak + direction * mid
        fc = _tweedie_log_term(np.maximum(cand, 1.0), logz, alpha)
        out_ = (fc < thresh) | ~np.isfinite(fc) | ((cand < 1) if direction < 0 else False)
        hi_off = np.where(gap & out_, mid, hi_off)
        lo_off = np.where(gap & ~out_, mid, lo_off)
    edge = peak + direction * hi_off
    return np.where(too_far, peak + direction * limit, edge)


# The last rows' series: (y, phi, p, derivatives, (log_w, ej, ej_psi)). The series depends on the row data and
# the parameters only, and a fit asks for it once per inner Newton step at the same (y, phi, p): those calls
# reuse it (the arrays are compared, not their identities; the tuple is replaced whole, never mutated).
_tweedie_memo = None


def _tweedie_row_series(y, phi, p, pos, derivatives):
    """log W, E[j], E[j psi(-j alpha)] per row (N,) (0 where y = 0), from the memo when y, phi and p are the
    last call's; the moments are always computed (`derivatives` only says whether the memo must hold them).
    Read-only arrays."""
    global _tweedie_memo
    memo = _tweedie_memo
    if (memo is not None and memo[2] == p and (memo[3] or not derivatives) and memo[0].shape == y.shape
            and np.array_equal(memo[0], y) and np.array_equal(memo[1], phi)):
        return memo[4]
    # the moments cost a fifth more than log W alone, and the gradient at these parameters will want them
    derivatives = True
    N = y.shape[0]
    log_w = np.zeros(N)
    ej = np.zeros(N)
    ej_psi = np.zeros(N)
    if pos.any():
        got = tweedie_log_series(y[pos], phi[pos], p, derivatives=derivatives)
        if derivatives:
            log_w[pos], ej[pos], ej_psi[pos] = got
        else:
            log_w[pos] = got
    for a in (log_w, ej, ej_psi):
        a.flags.writeable = False
    _tweedie_memo = (y.copy(), np.array(phi), p, derivatives, (log_w, ej, ej_psi))
    return log_w, ej, ej_psi


def tweedie_terms(y, n, eta, phi, shape, order=2, dispersion=False):
    """Tweedie log-density (log link, var = phi mu^p, 1 < p < 2) and derivatives; see the module notes.

    y = 0: ``value = -mu^{2-p}/(phi (2-p))``; y > 0: ``value = log W(y, phi, p) + (y mu^{1-p}/(1-p) -
    mu^{2-p}/(2-p))/phi`` (:func:`tweedie_log_series`; the rest of log p is :func:`tweedie_log_constant`).
    ``shape = [p]``. W depends on the row only (not on eta): it is summed once per row and call.

    Notes
    -----
    A row whose series needs more than ``TWEEDIE_MAX_TERMS`` (20,000) terms (extreme phi or p near 1 or 2)
    gets NaN in every output: the caller turns it into a domain error (-inf for the optimizer), never a
    wrong number. d1s = -d1, d2s = -d2; d1shape = -eta d1, d2shape = -d1 - eta d2.

    References
    ----------
    P. K. Dunn & G. K. Smyth, "Series evaluation of Tweedie exponential dispersion model densities",
    Statistics and Computing 15 (2005) 267-280.

    Examples
    --------
    >>> import numpy as np
    >>> t = tweedie_terms([0.0, 2.3], None, np.array([0.2, 0.5]), 0.8, [1.4], order=1)
    >>> round(float(t["value"][0]), 12) == round(float(-np.exp(0.6 * 0.2) / (0.8 * 0.6)), 12)
    True
    """
    y, n, eta, phi, col = _common(y, n, eta, phi, order)
    p = _shape_scalar(shape, "power p")
    N = y.shape[0]
    pos = y > 0
    log_w, ej, ej_psi = _tweedie_row_series(y, phi, p, pos, dispersion)
    bad = pos & np.isnan(log_w)
    ph = col(phi)
    yy = col(y)
    with np.errstate(over="ignore"):
        mu1 = np.exp((1 - p) * eta)            # mu^(1-p)
        mu2 = np.exp((2 - p) * eta)            # mu^(2-p)
    eta_part = (yy * mu1 / (1 - p) - mu2 / (2 - p)) / ph
    out = {"value": col(log_w) + eta_part}
    d1 = (yy * mu1 - mu2) / ph
    d2 = ((1 - p) * yy * mu1 - (2 - p) * mu2) / ph
    if order >= 1:
        out["d1"] = d1
    if order >= 2:
        out["d2"] = d2
    if order >= 3:
        out["d3"] = ((1 - p) ** 2 * yy * mu1 - (2 - p) ** 2 * mu2) / ph
    if dispersion:
        alpha = (2 - p) / (1 - p)
        # d log W/ds = -(1 - alpha) E[j] = -E[j]/(p - 1)
        out["ds"] = -col(ej) / (p - 1) - eta_part
        if order >= 1:
            out["d1s"] = -d1
        if order >= 2:
            out["d2s"] = -d2
        dalpha = 1 / (1 - p) ** 2
        with np.errstate(divide="ignore"):
            logy = np.log(np.where(pos, y, 1.0))
        dlogz = dalpha * (np.log(p - 1) - logy + np.log(phi)) + alpha / (p - 1) + 1 / (2 - p)
        dlog_w = np.where(pos, dlogz * ej + dalpha * ej_psi, 0.0)
        d_eta_part = (yy * mu1 * (1 / (1 - p) ** 2 - eta / (1 - p))
                      - mu2 * (1 / (2 - p) ** 2 - eta / (2 - p))) / ph
        out["dshape"] = (col(dlog_w) + d_eta_part)[None]
        if order >= 1:
            out["d1shape"] = (-eta * d1)[None]
        if order >= 2:
            out["d2shape"] = (-d1 - eta * d2)[None]
    out = _weighted(out, col(n))
    if bad.any():
        for key, val in out.items():
            if val.ndim == eta.ndim + 1:
                val[:, bad] = np.nan
            else:
                val[bad] = np.nan
    return out


# --------------------------------------------------------------------------------------------------------
# Student t
# --------------------------------------------------------------------------------------------------------
def student_t_log_constant(y, n=None):
    """Per-row log constant of the Student t family: 0 (``value`` is the full log-density); shape (N,)."""
    return np.zeros(np.asarray(y).shape[0])


def student_t_terms(y, n, eta, phi, shape, order=2, dispersion=False):
    """Student t log-density (identity link, scale sigma = phi, df nu = shape[0]) and derivatives.

    ``z = (y - eta)/sigma``, ``value = lgamma((nu+1)/2) - lgamma(nu/2) - log(nu pi)/2 - log sigma -
    (nu+1)/2 log1p(z^2/nu)`` (glmmTMB's ``t_family``: ``dt(z, nu) - log sigma``); the gamma functions enter
    as ``lgamma(1/2) - betaln(nu/2, 1/2)`` (no cancellation for large nu).

    Notes
    -----
    d2 > 0 where |z| > sqrt(nu): the row is not log-concave there.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> t = student_t_terms([2.2], None, np.array([0.4]), 1.7, [4.5], order=0)
    >>> bool(np.isclose(t["value"][0], stats.t.logpdf(2.2, 4.5, 0.4, 1.7)))
    True
    """
    y, n, eta, phi, col = _common(y, n, eta, phi, order)
    nu = _shape_scalar(shape, "degrees of freedom nu")
    sig = col(phi)
    z = (col(y) - eta) / sig
    z2 = z * z
    q = 1.0 / (nu + z2)
    const = special.gammaln(0.5) - special.betaln(nu / 2, 0.5) - 0.5 * np.log(nu * np.pi)
    lg = np.log1p(z2 / nu)
    out = {"value": const - np.log(sig) - (nu + 1) / 2 * lg}
    if order >= 1:
        out["d1"] = (nu + 1) * z * q / sig
    if order >= 2:
        out["d2"] = (nu + 1) * ((z2 - nu) * q) * q / sig ** 2
    if order >= 3:
        out["d3"] = 2 * (nu + 1) * z * ((z2 - 3 * nu) * q) * q * q / sig ** 3
    if dispersion:
        out["ds"] = -1 + (nu + 1) * z2 * q
        if order >= 1:
            out["d1s"] = -2 * nu * (nu + 1) * z * q * q / sig
        if order >= 2:
            out["d2s"] = 2 * nu * (nu + 1) * ((nu - 3 * z2) * q) * q * q / sig ** 2
        dig = 0.5 * (special.digamma((nu + 1) / 2) - special.digamma(nu / 2)) - 1 / (2 * nu)
        out["dshape"] = (dig - 0.5 * lg + (nu + 1) * z2 * q / (2 * nu))[None]
        if order >= 1:
            out["d1shape"] = (z * ((z2 - 1) * q) * q / sig)[None]
        if order >= 2:
            out["d2shape"] = (((z2 * z2 - 3 * (nu + 1) * z2 + nu) * q) * q * q / sig ** 2)[None]
    return _weighted(out, col(n))
