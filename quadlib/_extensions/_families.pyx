# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Exponential-family log-densities and their derivatives in the linear predictor, for the GLMM layer.

Design (after scikit-learn's ``_loss.pyx.tp``): scalar kernels -> one loop -> the Python classes of
``quadlib.glmm._families``. For each row i (response y_i, trials / prior weight n_i) and each of the K
linear predictors eta[i, k] of that row, one pass writes

    value = log p(y_i | eta, phi) without the terms that depend on neither eta nor phi,
    d1, d2, d3 = the derivatives of value in eta,
    ds, d1s, d2s, dss = the derivatives in s = log(phi) (dispersion families),

each only when asked for (``order``, ``dispersion``). Quantities that depend on the row only (lgamma,
digamma and trigamma of the dispersion, log weights) are computed once per row, not per evaluation point.
No validation: the Python layer checks its inputs; this layer only reports an unknown kind by status -1.

Numerics, where the obvious formula loses digits:
- logit: log mu = -log1p(exp(-eta)) on the side where exp does not overflow; d3 uses expm1.
- probit: one rational function per element (Cody's, as in R's pnorm) gives M = Phi(-|eta|) exp(eta^2/2),
  hence log Phi on both sides without underflow and the inverse Mills ratio r; in the far tail
  (|eta| > 3), eta + r and the quantities whose leading terms cancel come from the continued fraction of
  the Mills ratio (Abramowitz & Stegun 26.2.14) evaluated backwards (for the third derivative; for the
  second only beyond |eta| > 20).
- cloglog: with m = exp(eta), log mu = log(-expm1(-m)) for m < 0.1, log1p(-exp(-m)) above, and the
  derivatives of m/expm1(m) (the Bernoulli-number generating function) by its series for m < 0.1.
- negative binomial: for theta >= 10, the differences of lgamma/digamma/trigamma at y + theta and theta
  come from their Stirling series (DLMF 5.11.1, 5.11.2, 5.15.8) with the leading terms differenced
  analytically, so a Poisson-like fit (theta -> infinity) loses no digits to cancellation; log1p(z) - z
  by its own series.
- NB1: the gamma-function differences as finite sums over k < y of log(mu + k phi) and powers of
  mu/(mu + k phi), the k = 0 terms apart (exact as r = mu/phi -> infinity and as mu -> 0), the s-derivatives
  as their own sums (no cancellation as phi -> 0); counts above 1024 are left to the caller (NaN here; the
  Python layer uses polygammas for them).
- Gamma: value = nu (1 + log w - w) + (nu log nu - nu - lgamma(nu)), w = y/mu, the first part by
  log1p(w - 1) - (w - 1), the second by Stirling for nu >= 10: no nu log nu - lgamma(nu) cancellation.

Speed: the rows' data make branches unpredictable (the sign of eta, y = 0 or not), and on these loops a
mispredicted branch costs as much as an exp; hence selects instead of branches where both sides are cheap,
a log of our own without libm's near-1 branch (``_log``), one loop body specialized per kind at compile
time, and reciprocals shared between log1p corrections and derivatives.

References: W. J. Cody, "Algorithm 715: SPECFUN", ACM TOMS 19 (1993) (anorm); Abramowitz & Stegun,
Handbook of Mathematical Functions (1964), 26.2.14; NIST DLMF 5.11, 5.15; D. Goldberg, "What every
computer scientist should know about floating-point arithmetic", ACM Comput. Surv. 23 (1991), thm 4;
M. Maechler, "Accurately computing log(1 - exp(-|a|))", Rmpfr vignette (2012); fdlibm e_log.c (Sun, 1993).
"""
from libc.math cimport exp, expm1, log, log1p, sqrt, fabs, floor, INFINITY, NAN
from libc.stdint cimport uint64_t, int64_t

cdef enum:   # kinds: one code per (family, link)
    BINOMIAL_LOGIT = 0
    BINOMIAL_PROBIT = 1
    BINOMIAL_CLOGLOG = 2
    POISSON_LOG = 3
    GAUSSIAN_IDENTITY = 4
    GAMMA_LOG = 5
    GAMMA_INVERSE = 6
    NBINOM2_LOG = 7
    NBINOM1_LOG = 8

KINDS = {("binomial", "logit"): BINOMIAL_LOGIT, ("binomial", "probit"): BINOMIAL_PROBIT,
         ("binomial", "cloglog"): BINOMIAL_CLOGLOG, ("poisson", "log"): POISSON_LOG,
         ("gaussian", "identity"): GAUSSIAN_IDENTITY, ("Gamma", "log"): GAMMA_LOG,
         ("Gamma", "inverse"): GAMMA_INVERSE, ("negative_binomial", "log"): NBINOM2_LOG,
         ("negative_binomial1", "log"): NBINOM1_LOG}

cdef enum:
    NB1_SUMS = 1024          # NB1 rows with larger counts are left to the caller (they get NaN here)
NBINOM1_SUM_LIMIT = NB1_SUMS

cdef double LOG_2PI = 1.8378770664093454836
cdef double HALF_LOG_2PI = 0.91893853320467274178
cdef double INV_SQRT_2PI = 0.39894228040143267794
cdef double STIRLING = 10.0    # at or above this argument, the asymptotic series of lgamma/digamma/trigamma
cdef enum:
    TABLE = 256                # negative binomial: per-count row constants cached for counts below this


ctypedef struct terms_t:
    double value
    double d1
    double d2
    double d3
    double ds
    double d1s
    double d2s
    double dss


ctypedef struct row_t:      # per-row constants; their meaning depends on the kind
    double a
    double b
    double c
    double d
    double e


ctypedef struct probit_t:      # log Phi(x) and its first three derivatives
    double l
    double r
    double d2
    double d3


# zero values to start from: the fields a kernel does not compute are then defined (and the compiler
# drops the dead stores)
cdef terms_t _NO_TERMS = terms_t(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
cdef row_t _NO_ROW = row_t(0.0, 0.0, 0.0, 0.0, 0.0)
cdef probit_t _NO_PROBIT = probit_t(0.0, 0.0, 0.0, 0.0)


# --- special functions -------------------------------------------------------------------------------

ctypedef union _bits:
    double d
    uint64_t u


cdef inline double _log(double x) noexcept nogil:
    """log(x) without data-dependent branches, within an ulp of libm's: fdlibm's e_log.c with its
    reduction done by integer arithmetic on the bits, as in musl.

    libm's log branches on whether x is near 1; in these loops that is random from row to row and the
    mispredictions cost more than the logarithm. Zero, negative, subnormal and non-finite x go to libm.
    """
    cdef _bits b
    cdef uint64_t hx
    cdef double f, hfsq, s, z, w, t1, t2, dk
    if not (x >= 2.2250738585072014e-308 and x < INFINITY):
        return log(x)
    b.d = x
    hx = (b.u >> 32) + (0x3ff00000 - 0x3fe6a09e)     # x = 2^k m, sqrt(2)/2 <= m < sqrt(2)
    dk = <double>(<int64_t>(hx >> 20) - 0x3ff)
    b.u = (((hx & 0x000fffff) + 0x3fe6a09e) << 32) | (b.u & ((<uint64_t>1 << 32) - 1))
    f = b.d - 1.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01))
    t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01 + w * (
        1.818357216161805012e-01 + w * 1.479819860511658591e-01)))
    return s * (hfsq + t1 + t2) + dk * 1.90821492927058770002e-10 - hfsq + f + dk * 6.93147180369123816490e-01


cdef inline double _log1p(double x) noexcept nogil:
    """log(1 + x), x > -1: log(u) corrected by the rounding error of u = 1 + x (Goldberg 1991, thm 4)."""
    cdef double u = 1.0 + x
    if not (u > 0.0 and u < INFINITY):
        return log(u)
    return _log(u) + (x - (u - 1.0)) / u


cdef inline double _log1p_inv(double x, double iu) noexcept nogil:
    """_log1p(x) given iu ~ 1/(1 + x) (to an ulp or two), which the caller has anyway: saves a division."""
    cdef double u = 1.0 + x
    if not (u > 0.0 and u < INFINITY):
        return log(u)
    return _log(u) + (x - (u - 1.0)) * iu


cdef inline double _log1pmx(double z) noexcept nogil:
    """log(1 + z) - z, z > -1, without the cancellation for small z: -z^2/(2 + z) + 2 sum s^(2k+1)/(2k+1),
    s = z/(2 + z), by the series for |z| < 0.1 (|s| < 0.053, 7 terms)."""
    cdef double s, s2
    if fabs(z) >= 0.1:
        return _log1p(z) - z
    s = z / (2.0 + z)
    s2 = s * s
    return -z * z / (2.0 + z) + 2.0 * s * s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (
        1.0 / 9 + s2 * (1.0 / 11 + s2 * (1.0 / 13 + s2 * (1.0 / 15)))))))


# Stirling series beyond their leading terms, x >= 10 (DLMF 5.11.1, 5.11.2, 5.15.8); truncation < 1e-19.
# The leading terms are kept apart so that differences at two large arguments can be taken exactly.

cdef inline double _lgamma_rest(double x) noexcept nogil:
    """lgamma(x) - [(x - 1/2) log x - x + log(2 pi)/2 + 1/(12 x)]."""
    cdef double z = 1.0 / x, z2 = z * z
    return z * z2 * (-1.0 / 360 + z2 * (1.0 / 1260 + z2 * (-1.0 / 1680 + z2 * (1.0 / 1188 + z2 * (
        -691.0 / 360360 + z2 * (1.0 / 156 + z2 * (-3617.0 / 122400 + z2 * (43867.0 / 244188))))))))


cdef inline double _digamma_rest(double x) noexcept nogil:
    """digamma(x) - [log x - 1/(2x) - 1/(12 x^2)]."""
    cdef double z2 = 1.0 / (x * x)
    return -z2 * z2 * (-1.0 / 120 + z2 * (1.0 / 252 + z2 * (-1.0 / 240 + z2 * (1.0 / 132 + z2 * (
        -691.0 / 32760 + z2 * (1.0 / 12 + z2 * (-3617.0 / 8160 + z2 * (43867.0 / 14364))))))))


cdef inline double _trigamma_rest(double x) noexcept nogil:
    """trigamma(x) - [1/x + 1/(2 x^2) + 1/(6 x^3)]."""
    cdef double z = 1.0 / x, z2 = z * z
    return z * z2 * z2 * (-1.0 / 30 + z2 * (1.0 / 42 + z2 * (-1.0 / 30 + z2 * (5.0 / 66 + z2 * (
        -691.0 / 2730 + z2 * (7.0 / 6 + z2 * (-3617.0 / 510 + z2 * (43867.0 / 798))))))))


cdef inline double _lgamma(double x) noexcept nogil:
    """lgamma(x) for x > 0 to a few ulps of max(1, |lgamma|) (absolute near its zeros at 1 and 2):
    the recurrence up to 10, then Stirling. Our own, not libm's (which writes the global signgam, a data
    race without the GIL) nor scipy's (a build dependency)."""
    cdef double shift = 0.0, p = 1.0
    if not (x > 0.0):
        return NAN
    if x < 1.0:
        shift = _log(x)
        x += 1.0
    while x < STIRLING:    # at most 9 steps; p < 10^9
        p *= x
        x += 1.0
    return (x - 0.5) * _log(x) - x + HALF_LOG_2PI + 1.0 / (12.0 * x) + _lgamma_rest(x) - _log(p) - shift


cdef inline double _digamma_tail(double x) noexcept nogil:
    """digamma(x) - log(x), x >= 10."""
    cdef double z = 1.0 / x
    return -z * (0.5 + z / 12) + _digamma_rest(x)


cdef inline double _trigamma_tail(double x) noexcept nogil:
    """trigamma(x) - 1/x, x >= 10."""
    cdef double z = 1.0 / x
    return z * z * (0.5 + z / 6) + _trigamma_rest(x)


cdef inline double _digamma(double x) noexcept nogil:
    """digamma(x) for x > 0: recurrence up to 10, then the asymptotic series."""
    cdef double s = 0.0
    if not (x > 0.0):
        return NAN
    while x < STIRLING:   # at most 10 steps
        s -= 1.0 / x
        x += 1.0
    return s + _log(x) + _digamma_tail(x)


cdef inline double _trigamma(double x) noexcept nogil:
    """trigamma(x) for x > 0."""
    cdef double s = 0.0
    if not (x > 0.0):
        return NAN
    while x < STIRLING:
        s += 1.0 / (x * x)
        x += 1.0
    return s + 1.0 / x + _trigamma_tail(x)


cdef inline double _log_minus_digamma(double x) noexcept nogil:
    """log(x) - digamma(x) (about 1/(2x), positive), x > 0."""
    if x >= STIRLING:
        return -_digamma_tail(x)
    return _log(x) - _digamma(x)


cdef inline double _x_trigamma_minus_1(double x) noexcept nogil:
    """x trigamma(x) - 1 (about 1/(2x), positive), x > 0."""
    if x >= STIRLING:
        return x * _trigamma_tail(x)
    return x * _trigamma(x) - 1.0


# --- binomial ----------------------------------------------------------------------------------------

cdef inline terms_t _binomial_logit(double y, double n, double eta, int order) noexcept nogil:
    # value = y eta - n log(1 + exp(eta)), log(1 + exp(eta)) = max(eta, 0) + log1p(exp(-|eta|)).
    # Selects, not branches: the sign of eta is random across rows and a mispredicted branch costs as
    # much as the exp.
    cdef terms_t t = _NO_TERMS
    cdef bint positive = eta > 0.0
    cdef double a = fabs(eta), e = exp(-a), d = 1.0 / (1.0 + e), ed, p, q
    t.value = (y - (n if positive else 0.0)) * eta - n * _log1p_inv(e, d)    # y - n exact: none lost at y = n
    if order >= 1:
        ed = e * d
        p = d if positive else ed
        q = ed if positive else d
        t.d1 = y * q - (n - y) * p
        if order >= 2:
            t.d2 = -n * p * q
            if order >= 3:
                # q - p = -tanh(eta / 2) = -sign(eta) (1 - e) / (1 + e): expm1 keeps it accurate near 0
                d = -expm1(-a) * d
                t.d3 = t.d2 * (-d if positive else d)
    return t


cdef inline probit_t _probit_far(double t) noexcept nogil:
    """The derivatives of log Phi at x = -t, t > 3, from the Mills-ratio continued fraction.

    x + r = 1/(t + v), v = 2/(t + w), w = 3/(t + 4/(t + ...)) (A&S 26.2.14): the quantities whose leading
    terms cancel, x + r, 1 - r (x + r) and the third derivative, are products of u, v, w and w - v.
    """
    cdef probit_t s = _NO_PROBIT
    cdef int k, depth = 12 + <int>(400.0 / (t * t))     # enough for 1e-15 at every t >= 3
    # start from the fixed point of f = D / (t + f), the tail's value if its coefficients were all D
    cdef double f = 0.5 * (sqrt(t * t + 4.0 * (depth + 1)) - t), u, v, w
    for k in range(depth, 2, -1):
        f = k / (t + f)
    w = f
    v = 2.0 / (t + w)
    u = 1.0 / (t + v)
    s.r = t + u
    s.d2 = -s.r * u
    s.d3 = s.r * u * u * v * (w - v)
    return s


cdef inline double _mills_middle(double a) noexcept nogil:
    """Phi(-a) exp(a^2 / 2) for 0.67448975 < a <= sqrt(32): Cody's rational approximation (Cody 1993,
    as in R's pnorm), without the exp that would underflow."""
    cdef double num = 1.0765576773720192317e-8 * a, den = a
    num = (num + 0.39894151208813466764) * a
    den = (den + 22.266688044328115691) * a
    num = (num + 8.8831497943883759412) * a
    den = (den + 235.38790178262499861) * a
    num = (num + 93.506656132177855979) * a
    den = (den + 1519.377599407554805) * a
    num = (num + 597.27027639480026226) * a
    den = (den + 6485.558298266760755) * a
    num = (num + 2494.5375852903726711) * a
    den = (den + 18615.571640885098091) * a
    num = (num + 6848.1904505362823326) * a
    den = (den + 34900.952721145977266) * a
    num = (num + 11602.651437647350124) * a
    den = (den + 38912.003286093271411) * a
    return (num + 9842.7148383839780218) / (den + 19685.429676859990727)


cdef inline double _mills_far(double a) noexcept nogil:
    """Phi(-a) exp(a^2 / 2) for a > sqrt(32) (Cody 1993)."""
    cdef double z = 1.0 / (a * a), num, den
    num = 0.02307344176494017303 * z
    den = z
    num = (num + 0.21589853405795699) * z
    den = (den + 1.28426009614491121) * z
    num = (num + 0.1274011611602473639) * z
    den = (den + 0.468238212480865118) * z
    num = (num + 0.022235277870649807) * z
    den = (den + 0.0659881378689285515) * z
    num = (num + 0.001421619193227893466) * z
    den = (den + 0.00378239633202758244) * z
    return (INV_SQRT_2PI - z * (num + 2.9112874951168792e-5) / (den + 7.29751555083966205e-5)) / a


cdef inline double _phi_centre(double a) noexcept nogil:
    """Phi(a) - 1/2 for |a| <= 0.67448975 (Cody 1993)."""
    cdef double z = a * a, num, den
    num = 0.065682337918207449113 * z
    den = z
    num = (num + 2.2352520354606839287) * z
    den = (den + 47.20258190468824187) * z
    num = (num + 161.02823106855587881) * z
    den = (den + 976.09855173777669322) * z
    num = (num + 1067.6894854603709582) * z
    den = (den + 10260.932208618978205) * z
    return a * (num + 18154.981253343561249) / (den + 45507.789335026729956)


cdef inline void _probit_near(probit_t* s, double x, int order) noexcept nogil:
    """Fill the derivatives of log Phi at x from s.r = phi(x)/Phi(x), x >= -3."""
    cdef double u
    if order >= 2:
        u = x + s.r
        s.d2 = -s.r * u
        s.d3 = s.r * (u * (u + s.r) - 1.0)


cdef inline void _probit_sides(double eta, bint want_pos, bint want_neg, int order, probit_t* pos,
                               probit_t* neg) noexcept nogil:
    """log Phi(eta) (pos) and log Phi(-eta) (neg), as asked for, with their derivatives in their own argument.

    With a = |eta|, the lower tail Phi(-a) is 1/2 - C(a) for a <= 0.67448975 and exp(-a^2/2) M(a) beyond
    (Cody's rational functions); log Phi(-a) = -a^2/2 + log M does not underflow, the inverse Mills ratio
    phi(-a)/Phi(-a) is 1/(sqrt(2 pi) M), and Phi(a) = 1 - Phi(-a).
    """
    cdef double a = fabs(eta), h = 0.5 * a * a, e = 0.0, M, c, lower, l
    cdef bint centre = a <= 0.67448975
    cdef bint want_lo = want_neg if eta > 0.0 else want_pos
    cdef bint want_hi = want_pos if eta > 0.0 else want_neg
    cdef probit_t lo = _NO_PROBIT, hi = _NO_PROBIT    # at x = -a and x = +a
    if centre:
        c = _phi_centre(a)
        lower = 0.5 - c                # Phi(-a)
        if order >= 1:
            e = INV_SQRT_2PI * exp(-h)
        if want_lo:
            lo.l = _log(lower)
            lo.r = e / lower
            _probit_near(&lo, -a, order)
        if want_hi:
            hi.l = _log(0.5 + c)
            hi.r = e / (0.5 + c)
            _probit_near(&hi, a, order)
    else:
        M = _mills_middle(a) if a <= 5.656854249492380195 else _mills_far(a)
        if want_lo:
            l = _log(M) - h
            # the direct u = r - a loses ~a^2 ulps to cancellation (harmless in d2 up to a = 20), d3
            # another factor a^2: there, the continued fraction
            if order >= 2 and ((order >= 3 and a > 3.0) or a > 20.0):
                lo = _probit_far(a)
            else:
                lo.r = INV_SQRT_2PI / M
                _probit_near(&lo, -a, order)
            lo.l = l
        if want_hi:
            e = exp(-h)
            lower = e * M
            c = 1.0 / (1.0 - lower)
            hi.l = _log1p_inv(-lower, c)
            if order >= 1:
                hi.r = INV_SQRT_2PI * e * c
                _probit_near(&hi, a, order)
    if eta > 0.0:
        pos[0] = hi
        neg[0] = lo
    else:
        pos[0] = lo
        neg[0] = hi


cdef inline terms_t _binomial_probit(double y, double n, double eta, int order) noexcept nogil:
    # value = y log Phi(eta) + (n - y) log Phi(-eta); d/deta log Phi(-eta) = -r(-eta), ...
    cdef terms_t t = _NO_TERMS
    cdef double nmy = n - y
    cdef probit_t pos, neg
    _probit_sides(eta, y != 0.0, nmy != 0.0, order, &pos, &neg)
    t.value = 0.0
    t.d1 = 0.0
    t.d2 = 0.0
    t.d3 = 0.0
    if y != 0.0:
        t.value = y * pos.l
        t.d1 = y * pos.r
        t.d2 = y * pos.d2
        t.d3 = y * pos.d3
    if nmy != 0.0:
        t.value += nmy * neg.l
        t.d1 -= nmy * neg.r
        t.d2 += nmy * neg.d2
        t.d3 -= nmy * neg.d3
    return t


cdef inline terms_t _binomial_cloglog(double y, double n, double eta, int order) noexcept nogil:
    # m = exp(eta): log(1 - mu) = -m, log mu = log(1 - exp(-m)); with g(m) = m / expm1(m) and D = d/deta,
    # d^k/deta^k log mu = D^(k-1) g for k >= 1
    cdef terms_t t = _NO_TERMS
    cdef double m = exp(eta), nmy = n - y, a, b, ib, g, dg, d2g, m2, lb
    if m < 0.1:
        b = -expm1(-m)                 # mu
        lb = _log(b)
        # g = sum B_k m^k / k!, D m^k = k m^k
        m2 = m * m
        g = 1.0 + m * (-0.5 + m * (1.0 / 12 + m2 * (-1.0 / 720 + m2 * (1.0 / 30240 + m2 * (
            -1.0 / 1209600 + m2 * (1.0 / 47900160))))))
        dg = m * (-0.5 + m * (1.0 / 6 + m2 * (-1.0 / 180 + m2 * (1.0 / 5040 + m2 * (
            -1.0 / 151200 + m2 * (1.0 / 4790016))))))
        d2g = m * (-0.5 + m * (1.0 / 3 + m2 * (-1.0 / 45 + m2 * (1.0 / 840 + m2 * (
            -1.0 / 18900 + m2 * (1.0 / 479001.6))))))
    else:
        # mu = 1 - a loses at most log2(10) bits to cancellation here (m >= 0.1) and log1p(-a) none:
        # cheaper than an expm1 and a branch on the sign of eta
        a = exp(-m)                    # 1 - mu, to full relative precision
        b = 1.0 - a
        ib = 1.0 / b
        lb = _log(b) - ((b - 1.0) + a) * ib
        if a == 0.0:                   # m > 745: g and its derivatives underflow (and inf * 0 is NaN)
            g = 0.0
            dg = 0.0
            d2g = 0.0
        else:
            g = m * a * ib
            dg = g * (1.0 - m * ib)
            d2g = g * ib * ib * (b * b - 3.0 * m * b + m * m * (1.0 + a))
    t.value = (y * lb if y != 0.0 else 0.0) - (nmy * m if nmy != 0.0 else 0.0)
    t.d1 = y * g - nmy * m
    t.d2 = y * dg - nmy * m
    t.d3 = y * d2g - nmy * m
    return t


# --- poisson -----------------------------------------------------------------------------------------

cdef inline terms_t _poisson_log(double y, double n, double eta, int order) noexcept nogil:
    cdef terms_t t = _NO_TERMS
    cdef double mu = exp(eta)
    t.value = n * ((y * eta if y != 0.0 else 0.0) - mu)
    t.d1 = n * (y - mu)
    t.d2 = -n * mu
    t.d3 = t.d2
    return t


# --- gaussian: phi = sigma ---------------------------------------------------------------------------

cdef inline row_t _gaussian_row(double n, double sigma) noexcept nogil:
    cdef row_t row = _NO_ROW
    row.a = n / (sigma * sigma)                          # precision
    row.b = -0.5 * (LOG_2PI + 2.0 * _log(sigma) - _log(n))
    return row


cdef inline terms_t _gaussian_identity(double y, double eta, row_t row, int order, bint disp) noexcept nogil:
    cdef terms_t t = _NO_TERMS
    cdef double w = row.a, r = y - eta, wr2 = w * r * r
    t.value = row.b - 0.5 * wr2
    t.d1 = w * r
    t.d2 = -w
    t.d3 = 0.0
    if disp:
        t.ds = wr2 - 1.0
        t.d1s = -2.0 * t.d1
        t.d2s = 2.0 * w
        t.dss = -2.0 * wr2
    return t


# --- Gamma: phi = shape nu, per row nu_i = n_i nu -----------------------------------------------------

cdef inline row_t _gamma_row(double n, double nu, bint disp) noexcept nogil:
    """Row constants (they depend on the weight only): a = nu_i, e = nu_i log nu_i - nu_i - lgamma(nu_i),
    c = log nu_i - digamma(nu_i), d = nu_i trigamma(nu_i) - 1."""
    cdef row_t row = _NO_ROW
    cdef double nui = n * nu
    row.a = nui
    if nui >= STIRLING:    # Stirling: nu log nu - nu and lgamma(nu) cancel to (log nu - log 2 pi)/2
        row.e = 0.5 * _log(nui) - HALF_LOG_2PI - 1.0 / (12.0 * nui) - _lgamma_rest(nui)
    else:
        row.e = nui * _log(nui) - nui - _lgamma(nui)
    if disp:
        row.c = _log_minus_digamma(nui)
        row.d = _x_trigamma_minus_1(nui)
    return row


cdef inline terms_t _gamma_common(double w, row_t row, terms_t t, bint disp) noexcept nogil:
    # w = y / mu: value = nu_i log(nu_i y / mu) - nu_i y / mu - lgamma(nu_i)
    #                   = nu_i (1 + log w - w) + (nu_i log nu_i - nu_i - lgamma(nu_i)),
    # and 1 + log w - w = log1p(w - 1) - (w - 1) keeps its digits where w is near 1 (a good fit)
    cdef double L = _log1pmx(w - 1.0)
    t.value = row.a * L + row.e
    if disp:
        # d/ds with nu_i = n exp(s): nu_i (1 + log w - w + log nu_i - digamma(nu_i))
        t.ds = row.a * (L + row.c)
        t.dss = t.ds - row.a * row.d
        t.d1s = t.d1                   # the eta-derivatives are proportional to nu_i
        t.d2s = t.d2
    return t


cdef inline terms_t _gamma_log(double y, double eta, row_t row, int order, bint disp) noexcept nogil:
    cdef terms_t t = _NO_TERMS
    cdef double w = y * exp(-eta)
    t.d1 = row.a * (w - 1.0)
    t.d2 = -row.a * w
    t.d3 = -t.d2
    return _gamma_common(w, row, t, disp)


cdef inline terms_t _gamma_inverse(double y, double eta, row_t row, int order, bint disp) noexcept nogil:
    cdef terms_t t = _NO_TERMS
    cdef double ie
    if not (eta > 0.0):                # mu = 1/eta must be positive
        t.value = -INFINITY
        t.d1 = NAN
        t.d2 = NAN
        t.d3 = NAN
        t.ds = NAN
        t.d1s = NAN
        t.d2s = NAN
        t.dss = NAN
        return t
    ie = 1.0 / eta
    t.d1 = row.a * (ie - y)
    t.d2 = -row.a * ie * ie
    t.d3 = -2.0 * t.d2 * ie
    return _gamma_common(y * eta, row, t, disp)


# --- negative binomial (NB2): phi = size theta ------------------------------------------------------

cdef inline row_t _nbinom2_row(double y, double theta, double log_theta, double lgamma_theta,
                               double digamma_theta, double trigamma_theta, bint disp) noexcept nogil:
    # a = lgamma(y + theta) - lgamma(theta) - y log(theta)
    # c = digamma(y + theta) - digamma(theta) - log1p(y / theta)
    # e = theta^2 (trigamma(y + theta) - trigamma(theta)), d = e + y  (O(y^2 / theta) for large theta)
    cdef row_t row = _NO_ROW
    cdef double yt = y + theta, l1p = log1p(y / theta), r, w
    if y == 0.0:
        return row
    if theta >= STIRLING:
        # differences of the Stirling series at theta + y and theta: their leading terms analytically
        # (r = 1/theta - 1/(theta + y)), the rest, O(theta^-3), as they come
        r = y / (theta * yt)
        row.a = (yt - 0.5) * l1p - y - r / 12 + (_lgamma_rest(yt) - _lgamma_rest(theta))
        if disp:
            row.c = r * (0.5 + (1.0 / theta + 1.0 / yt) / 12) + (_digamma_rest(yt) - _digamma_rest(theta))
            w = -theta * theta * r * (0.5 * (1.0 / theta + 1.0 / yt) + (
                1.0 / (theta * theta) + 1.0 / (theta * yt) + 1.0 / (yt * yt)) / 6) \
                + theta * theta * (_trigamma_rest(yt) - _trigamma_rest(theta))
            row.d = y * y / yt + w
            row.e = -theta * y / yt + w
    else:
        row.a = _lgamma(yt) - lgamma_theta - y * log_theta
        if disp:
            row.c = _digamma(yt) - digamma_theta - l1p
            row.e = theta * theta * (_trigamma(yt) - trigamma_theta)
            row.d = row.e + y
    return row


cdef inline terms_t _nbinom2_log(double y, double n, double eta, double theta, double inv_theta, row_t row,
                                 int order, bint disp) noexcept nogil:
    # value = n [lgamma(y+theta) - lgamma(theta) + theta log(theta/(theta+mu)) + y log(mu/(theta+mu))]
    #       = n [row.a + y eta - (theta + y) log1p(mu / theta)]
    cdef terms_t t = _NO_TERMS
    cdef double mu = exp(eta), tm = theta + mu, itm = 1.0 / tm, p = mu * itm, q = theta * itm, z, w
    t.value = n * (row.a + (y * eta if y != 0.0 else 0.0) - (theta + y) * _log1p_inv(mu * inv_theta, q))
    t.d1 = n * (y * q - theta * p)
    t.d2 = -n * (theta + y) * p * q
    t.d3 = t.d2 * (q - p)
    if disp:
        # d value / d theta = digamma(y+theta) - digamma(theta) + log(theta/(theta+mu)) + (mu - y)/(theta+mu)
        #                   = row.c + log1p(z) - z, z = (y - mu)/(theta + mu)  (log1p(y/theta) - log1p(mu/theta)
        #                   = log1p(z)): each part is O(1/theta) for large theta, as is the sum
        z = (y - mu) * itm
        t.ds = n * theta * (row.c + _log1pmx(z))
        t.d1s = n * p * theta * z
        t.d2s = -n * p * q * (2.0 * theta * p + y * (p - q))
        # dss = ds + n theta^2 d/dtheta(d value/d theta) = ds + n [row.e + theta p + theta q z]; for
        # theta > mu, -y + theta p + theta q z (each term O(mu + y)) is O((mu + y)^2 / theta): expanded in
        # mu / (theta + mu), mu (mu - 2y) / (theta + mu) + mu^2 (y - mu) / (theta + mu)^2, added to row.d
        w = (mu * (mu - 2.0 * y) + mu * mu * (y - mu) * itm) * itm
        t.dss = t.ds + n * ((row.d + w) if theta > mu else (row.e + theta * p + q * theta * z))
    return t


# --- negative binomial (NB1): phi, size r = mu / phi, var = mu (1 + phi) ------------------------------

cdef inline row_t _nbinom1_row(double phi) noexcept nogil:
    cdef row_t row = _NO_ROW
    row.a = _log(phi)
    row.b = log1p(phi)
    row.c = 1.0 / (1.0 + phi)
    row.d = 1.0 / phi
    row.e = _log1pmx(phi) + phi * phi * row.c       # log1p(phi) - phi/(1 + phi), no cancellation at small phi
    return row


cdef inline terms_t _nbinom1_log(double y, double n, double eta, double phi, row_t row, int order,
                                 bint disp) noexcept nogil:
    # value = lgamma(y + r) - lgamma(r) - r log1p(phi) + y (s - log1p(phi))
    #       = eta [y >= 1] + sum_{1<=k<y} log(mu + k phi) - (r + y) log1p(phi),
    # and with w_k = mu/(mu + k phi), v_k = 1 - w_k (sums over 1 <= k < y: the k = 0 terms, log mu = eta and
    # w_0 = 1, taken out exactly): d1 = [y >= 1] + sum w_k - r log1p(phi), d2 = sum w_k v_k - r log1p(phi),
    # d3 = sum w_k v_k (v_k - w_k) - r log1p(phi) (not as sums of w_k^j, which cancel where w_k ~ 1, i.e.
    # mu >> phi y, and at small mu). In s = log phi directly (not as
    # -d1 + (y - mu)/(1 + phi), which cancels as phi -> 0): ds = sum v_k - y phi/(1 + phi) + r C,
    # d1s = -sum w_k v_k + r C, d2s = -sum w_k v_k (v_k - w_k) + r C, C = log1p(phi) - phi/(1 + phi),
    # dss = sum w_k v_k - y phi/(1 + phi)^2 - r C + r phi^2/(1 + phi)^2. Only y <= NB1_SUMS.
    cdef terms_t t = _NO_TERMS
    cdef double mu = exp(eta), r = mu * row.d, T0 = 0.0, T1 = 0.0, U1 = 0.0, U2 = 0.0
    cdef double U3 = 0.0, lk, d, e, w, v, wv, one, rl, rC, d1, d2, d3
    cdef int k, ky
    if not (y <= NB1_SUMS):
        t.value = NAN
        t.d1 = NAN
        t.d2 = NAN
        t.d3 = NAN
        t.ds = NAN
        t.d1s = NAN
        t.d2s = NAN
        t.dss = NAN
        return t
    ky = <int>y
    for k in range(1, ky):          # at most NB1_SUMS - 1 terms
        lk = _log(<double>k) + row.a
        d = eta - lk
        # log(mu + k phi) = logaddexp(eta, lk); w_k = expit(eta - lk), v_k = expit(lk - eta)
        if d > 0.0:
            e = exp(-d)
            T0 += eta + _log1p(e)
            w = 1.0 / (1.0 + e)
            v = e * w
        else:
            e = exp(d)
            T0 += lk + _log1p(e)
            v = 1.0 / (1.0 + e)
            w = e * v
        wv = w * v
        T1 += w
        U1 += v
        U2 += wv
        U3 += wv * (v - w)
    one = 1.0 if y >= 1.0 else 0.0
    t.value = n * (one * eta + T0 - (r + y) * row.b)
    rl = r * row.b
    d1 = one + T1 - rl
    d2 = U2 - rl
    d3 = U3 - rl
    t.d1 = n * d1
    t.d2 = n * d2
    t.d3 = n * d3
    if disp:
        rC = r * row.e
        t.ds = n * (U1 - y * phi * row.c + rC)
        t.d1s = n * (rC - U2)
        t.d2s = n * (rC - U3)
        t.dss = n * (U2 - (y * phi - r * phi * phi) * row.c * row.c - rC)
    return t


def _special_twin(int which, const double[::1] x, double[::1] out):
    """The kernel's own special functions elementwise, for the tests: 0 log, 1 log1p, 2 log1p(x) - x,
    3 lgamma, 4 digamma, 5 trigamma."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(x.shape[0]):
            if which == 0:
                out[i] = _log(x[i])
            elif which == 1:
                out[i] = _log1p(x[i])
            elif which == 2:
                out[i] = _log1pmx(x[i])
            elif which == 3:
                out[i] = _lgamma(x[i])
            elif which == 4:
                out[i] = _digamma(x[i])
            else:
                out[i] = _trigamma(x[i])


# --- the loop ----------------------------------------------------------------------------------------
# One loop body, specialized per kind at compile time through a fused tag type (Cython's templates):
# no per-element switch on the kind.

ctypedef struct _binomial_logit_tag:
    char unused
ctypedef struct _binomial_probit_tag:
    char unused
ctypedef struct _binomial_cloglog_tag:
    char unused
ctypedef struct _poisson_log_tag:
    char unused
ctypedef struct _gaussian_identity_tag:
    char unused
ctypedef struct _gamma_log_tag:
    char unused
ctypedef struct _gamma_inverse_tag:
    char unused
ctypedef struct _nbinom2_log_tag:
    char unused
ctypedef struct _nbinom1_log_tag:
    char unused

ctypedef fused tag_t:
    _binomial_logit_tag
    _binomial_probit_tag
    _binomial_cloglog_tag
    _poisson_log_tag
    _gaussian_identity_tag
    _gamma_log_tag
    _gamma_inverse_tag
    _nbinom2_log_tag
    _nbinom1_log_tag


cdef void _loop(tag_t* tag, const double[::1] y, const double[::1] n, const double[:, ::1] eta,
                const double[::1] phi, bint phi_constant, int order, bint disp, double[:, ::1] value,
                double[:, ::1] d1, double[:, ::1] d2, double[:, ::1] d3, double[:, ::1] ds, double[:, ::1] d1s,
                double[:, ::1] d2s, double[:, ::1] dss) noexcept nogil:
    # phi: one value (phi_constant) or one per row. Row constants are recomputed only when what they depend
    # on changes, with the same scalar functions either way: a per-row phi gives bit for bit the values of
    # one call per row with that phi as a scalar.
    cdef Py_ssize_t i, k, N = eta.shape[0], K = eta.shape[1]
    cdef double yi, ni, phii = phi[0], n_prev = NAN, phi_prev = NAN
    cdef double inv_phi = 0.0, log_phi = 0.0, lg_phi = 0.0, dg_phi = 0.0, tg_phi = 0.0
    cdef terms_t t = _NO_TERMS
    cdef row_t row = _NO_ROW
    cdef row_t table[TABLE]
    cdef char filled[TABLE]
    cdef int j
    if tag_t is _nbinom2_log_tag:
        for j in range(TABLE):
            filled[j] = 0
    for i in range(N):
        yi = y[i]
        ni = n[i]
        if not phi_constant:
            phii = phi[i]
        # row constants (only the weight and phi enter them for gaussian and Gamma: reuse across equal ones)
        if tag_t is _gaussian_identity_tag:
            if ni != n_prev or phii != phi_prev:
                row = _gaussian_row(ni, phii)
                n_prev = ni
                phi_prev = phii
        elif tag_t is _gamma_log_tag or tag_t is _gamma_inverse_tag:
            if ni != n_prev or phii != phi_prev:
                row = _gamma_row(ni, phii, disp)
                n_prev = ni
                phi_prev = phii
        elif tag_t is _nbinom2_log_tag:
            if phii != phi_prev:    # NaN at the first row: always taken there
                inv_phi = 1.0 / phii
                log_phi = _log(phii)
                if phii < STIRLING:
                    lg_phi = _lgamma(phii)
                    if disp:
                        dg_phi = _digamma(phii)
                        tg_phi = _trigamma(phii)
                phi_prev = phii
            # counts repeat: with one phi, compute each small count's lgamma/digamma/trigamma differences
            # once (the table assumes one phi; a per-row phi computes them per row)
            if phi_constant and 0.0 <= yi < TABLE and yi == floor(yi):
                j = <int>yi
                if not filled[j]:
                    table[j] = _nbinom2_row(yi, phii, log_phi, lg_phi, dg_phi, tg_phi, disp)
                    filled[j] = 1
                row = table[j]
            else:
                row = _nbinom2_row(yi, phii, log_phi, lg_phi, dg_phi, tg_phi, disp)
        elif tag_t is _nbinom1_log_tag:
            if phii != phi_prev:
                row = _nbinom1_row(phii)
                phi_prev = phii
        for k in range(K):
            if tag_t is _binomial_logit_tag:
                t = _binomial_logit(yi, ni, eta[i, k], order)
            elif tag_t is _binomial_probit_tag:
                t = _binomial_probit(yi, ni, eta[i, k], order)
            elif tag_t is _binomial_cloglog_tag:
                t = _binomial_cloglog(yi, ni, eta[i, k], order)
            elif tag_t is _poisson_log_tag:
                t = _poisson_log(yi, ni, eta[i, k], order)
            elif tag_t is _gaussian_identity_tag:
                t = _gaussian_identity(yi, eta[i, k], row, order, disp)
            elif tag_t is _gamma_log_tag:
                t = _gamma_log(yi, eta[i, k], row, order, disp)
            elif tag_t is _gamma_inverse_tag:
                t = _gamma_inverse(yi, eta[i, k], row, order, disp)
            elif tag_t is _nbinom2_log_tag:
                t = _nbinom2_log(yi, ni, eta[i, k], phii, inv_phi, row, order, disp)
            else:
                t = _nbinom1_log(yi, ni, eta[i, k], phii, row, order, disp)
            value[i, k] = t.value
            if order >= 1:
                d1[i, k] = t.d1
                if order >= 2:
                    d2[i, k] = t.d2
                    if order >= 3:
                        d3[i, k] = t.d3
            if disp:
                ds[i, k] = t.ds
                dss[i, k] = t.dss
                if order >= 1:
                    d1s[i, k] = t.d1s
                    if order >= 2:
                        d2s[i, k] = t.d2s


cdef bint _unfit(double[:, ::1] out, bint needed, Py_ssize_t N, Py_ssize_t K):
    return needed and (out is None or out.shape[0] != N or out.shape[1] != K)


def family_terms(int kind, const double[::1] y, const double[::1] n, const double[:, ::1] eta, phi,
                 int order, bint dispersion, double[:, ::1] value, double[:, ::1] d1=None,
                 double[:, ::1] d2=None, double[:, ::1] d3=None, double[:, ::1] ds=None,
                 double[:, ::1] d1s=None, double[:, ::1] d2s=None, double[:, ::1] dss=None):
    """One pass over eta (N, K) for row data y, n (N,) and the dispersion phi (ignored without one).

    phi: a float, or a contiguous float64 array of N values, one per row (a dispersion model); an array of
    one value is that value for every row.
    OUT: value, and d1 (order >= 1), d2 (order >= 2), d3 (order >= 3); with ``dispersion``, ds and dss,
    d1s (order >= 1) and d2s (order >= 2), each of eta's shape. The arrays not asked for may be None.
    Returns 0; nothing is written and the status is -1 for an unknown kind, -2 for arrays of the wrong
    length or a missing output (with bounds checks off, they would be written out of bounds).
    """
    cdef bint disp = dispersion
    cdef Py_ssize_t N = eta.shape[0], K = eta.shape[1]
    cdef double buf[1]
    cdef const double[::1] rows
    cdef bint constant
    if kind < BINOMIAL_LOGIT or kind > NBINOM1_LOG:
        return -1
    if y.shape[0] != N or n.shape[0] != N:
        return -2
    if isinstance(phi, (float, int)) or getattr(phi, "ndim", 1) == 0:
        buf[0] = phi
        rows = <double[:1]>buf
    else:
        rows = phi
    constant = rows.shape[0] == 1
    if not constant and rows.shape[0] != N:
        return -2
    if (_unfit(value, True, N, K) or _unfit(d1, order >= 1, N, K) or _unfit(d2, order >= 2, N, K)
            or _unfit(d3, order >= 3, N, K) or _unfit(ds, disp, N, K) or _unfit(dss, disp, N, K)
            or _unfit(d1s, disp and order >= 1, N, K) or _unfit(d2s, disp and order >= 2, N, K)):
        return -2
    with nogil:
        if kind == BINOMIAL_LOGIT:
            _loop(<_binomial_logit_tag*>NULL, y, n, eta, rows, constant, order, disp, value, d1, d2, d3, ds, d1s,
                  d2s, dss)
        elif kind == BINOMIAL_PROBIT:
            _loop(<_binomial_probit_tag*>NULL, y, n, eta, rows, constant, order, disp, value, d1, d2, d3, ds, d1s,
                  d2s, dss)
        elif kind == BINOMIAL_CLOGLOG:
            _loop(<_binomial_cloglog_tag*>NULL, y, n, eta, rows, constant, order, disp, value, d1, d2, d3, ds, d1s,
                  d2s, dss)
        elif kind == POISSON_LOG:
            _loop(<_poisson_log_tag*>NULL, y, n, eta, rows, constant, order, disp, value, d1, d2, d3, ds, d1s,
                  d2s, dss)
        elif kind == GAUSSIAN_IDENTITY:
            _loop(<_gaussian_identity_tag*>NULL, y, n, eta, rows, constant, order, disp, value, d1, d2, d3, ds,
                  d1s, d2s, dss)
        elif kind == GAMMA_LOG:
            _loop(<_gamma_log_tag*>NULL, y, n, eta, rows, constant, order, disp, value, d1, d2, d3, ds, d1s,
                  d2s, dss)
        elif kind == GAMMA_INVERSE:
            _loop(<_gamma_inverse_tag*>NULL, y, n, eta, rows, constant, order, disp, value, d1, d2, d3, ds, d1s,
                  d2s, dss)
        elif kind == NBINOM2_LOG:
            _loop(<_nbinom2_log_tag*>NULL, y, n, eta, rows, constant, order, disp, value, d1, d2, d3, ds, d1s,
                  d2s, dss)
        else:
            _loop(<_nbinom1_log_tag*>NULL, y, n, eta, rows, constant, order, disp, value, d1, d2, d3, ds, d1s,
                  d2s, dss)
    return 0


# --- zero-inflation and hurdles ----------------------------------------------------------------------
# A family's row terms mixed with a per-row zero probability pi_i = expit(zeta_i) (the formulas are in
# quadlib.glmm._response's module notes), in place over the family's arrays. Only the zero rows need more
# than an addition; the numpy version gathered and scattered them through temporaries, which cost more than
# the family's own pass.

cdef inline double _logaddexp(double x, double y) noexcept nogil:
    """log(exp(x) + exp(y)) as numpy's npy_logaddexp computes it (the compiled mixture keeps its numbers)."""
    cdef double d
    if x == y:      # equal infinities without a NaN
        return x + 0.693147180559945309417232121458176568
    d = x - y
    if d > 0.0:
        return x + log1p(exp(-d))
    if d <= 0.0:
        return y + log1p(exp(d))
    return d


cdef bint _unfit3(double[:, :, ::1] out, bint needed, Py_ssize_t C, Py_ssize_t N, Py_ssize_t K):
    return needed and (out is None or out.shape[0] != C or out.shape[1] != N or out.shape[2] != K)


def zero_inflate(bint hurdle, const unsigned char[::1] zero, const double[::1] zeta, const double[::1] pi,
                 const double[::1] log_1mpi, int order, double[:, ::1] value, double[:, ::1] d1=None,
                 double[:, ::1] d2=None, double[:, ::1] d3=None, double[:, :, ::1] dc=None,
                 double[:, :, ::1] d1c=None, double[:, :, ::1] d2c=None):
    """The zero-inflation (or, with `hurdle`, the hurdle) mixture of a family's row terms, in place.

    Per row i: `zero` (1 where y = 0), zeta = logit pi, pi and log(1 - pi) (the caller has them).
    IN/OUT value (N, K) and d1 (order >= 1), d2 (order >= 2), d3 (order >= 3): the family's terms in (for one
    observation), the mixture's out. With channels, dc (C, N, K) IN/OUT: row 0 OUT, the derivative in zeta;
    rows 1..C-1 the family's channels in, the mixture's out; d1c (order >= 1) and d2c (order >= 2) their
    eta-derivatives, alike. None: no channels. The output arrays must not overlap.
    Returns 0, or -2 (nothing written) for arrays of the wrong shape or a missing one.
    """
    cdef Py_ssize_t N = value.shape[0], K = value.shape[1], C = 0, i, k, c
    cdef bint channels = dc is not None
    cdef double z, p, l1, lp, f0, d, e, ie, rho, r1, r2, a1 = 0.0, a2 = 0.0, fs
    if channels:
        C = dc.shape[0]
        if C < 1 or _unfit3(dc, True, C, N, K) or _unfit3(d1c, order >= 1, C, N, K) \
                or _unfit3(d2c, order >= 2, C, N, K):
            return -2
    if (zero.shape[0] != N or zeta.shape[0] != N or pi.shape[0] != N or log_1mpi.shape[0] != N
            or _unfit(d1, order >= 1, N, K) or _unfit(d2, order >= 2, N, K) or _unfit(d3, order >= 3, N, K)):
        return -2
    with nogil:
        for i in range(N):
            p = pi[i]
            l1 = log_1mpi[i]
            if not zero[i]:
                # y > 0: log(1 - pi) + f; d/dzeta = -pi
                for k in range(K):
                    value[i, k] = value[i, k] + l1
                    if channels:
                        dc[0, i, k] = -p
                        if order >= 1:
                            d1c[0, i, k] = 0.0
                            if order >= 2:
                                d2c[0, i, k] = 0.0
                continue
            z = zeta[i]
            if hurdle:
                # y = 0: log pi, and nothing depends on eta or the family's channels
                lp = -_logaddexp(0.0, -z)
                for k in range(K):
                    value[i, k] = lp
                    if order >= 1:
                        d1[i, k] = 0.0
                        if order >= 2:
                            d2[i, k] = 0.0
                            if order >= 3:
                                d3[i, k] = 0.0
                    if channels:
                        dc[0, i, k] = 1.0 - p
                        for c in range(1, C):
                            dc[c, i, k] = 0.0
                        if order >= 1:
                            for c in range(C):
                                d1c[c, i, k] = 0.0
                            if order >= 2:
                                for c in range(C):
                                    d2c[c, i, k] = 0.0
                continue
            # y = 0: rho = P(count part | y = 0) weights the family's derivatives
            for k in range(K):
                # one exp serves logaddexp(zeta, f0) and rho = expit(f0 - zeta); r1 = rho (1 - rho) = e/(1 + e)^2
                # on both sides, without the cancellation of 1 - rho
                f0 = value[i, k]
                d = f0 - z
                e = exp(-fabs(d))
                ie = 1.0 / (1.0 + e)
                rho = ie if d > 0.0 else e * ie
                r1 = e * ie * ie
                r2 = r1 * (1.0 - 2.0 * rho)
                value[i, k] = l1 + ((f0 if d > 0.0 else z) + _log1p_inv(e, ie))
                if order >= 1:
                    a1 = d1[i, k]
                    d1[i, k] = rho * a1
                    if order >= 2:
                        a2 = d2[i, k]
                        d2[i, k] = rho * a2 + r1 * (a1 * a1)
                        if order >= 3:
                            d3[i, k] = rho * d3[i, k] + 3.0 * r1 * a1 * a2 + r2 * (a1 * a1 * a1)
                if channels:
                    dc[0, i, k] = 1.0 - rho - p
                    if order >= 1:
                        d1c[0, i, k] = -r1 * a1
                        if order >= 2:
                            d2c[0, i, k] = -r1 * a2 - r2 * (a1 * a1)
                    for c in range(1, C):
                        fs = dc[c, i, k]
                        if order >= 2:
                            d2c[c, i, k] = (rho * d2c[c, i, k] + r1 * (fs * a2 + 2.0 * a1 * d1c[c, i, k])
                                            + r2 * (a1 * a1) * fs)
                        if order >= 1:
                            d1c[c, i, k] = rho * d1c[c, i, k] + r1 * a1 * fs
                        dc[c, i, k] = rho * fs
    return 0


# --- Tweedie series ----------------------------------------------------------------------------------
# Dunn & Smyth's W series of the Tweedie density at y > 0 (quadlib.glmm._densities.tweedie_log_series has
# the formulas and the numpy version, which stays the reference and the fallback): per row, walk from their
# estimate of the largest term to it (log W_j is concave in j), then outwards while the terms are within
# e^-37 of it, plus the first term beyond on each side, as the numpy version sums.

cdef enum:
    TWEEDIE_PEAK_STEPS = 64        # steps from the estimate to the largest term; beyond: declined (NaN)
    LOG_FACTORIALS = 1024          # lgamma(1 + j) tabulated below this j (one lgamma per term instead of two)


cdef inline double _tweedie_term(double j, double logz, double na, const double* log_factorial) noexcept nogil:
    # log W_j = j log z - lgamma(1 + j) - lgamma(-j alpha), na = -alpha > 0
    cdef double lf = log_factorial[<Py_ssize_t>j] if j < LOG_FACTORIALS else _lgamma(1.0 + j)
    return j * logz - lf - _lgamma(j * na)


def tweedie_series(const double[::1] logy, const double[::1] logphi, double p, bint derivatives,
                   Py_ssize_t max_terms, double[::1] log_w, double[::1] ej, double[::1] ej_psi):
    """log W, E[j] and (with `derivatives`) E[j digamma(-j alpha)] under the weights W_j / W, per row.

    IN: log y and log phi of rows with finite positive y and phi, 1 < p < 2, the bound on the number of
    terms of one row. OUT: log_w, ej, ej_psi (M,). A row whose largest term lies more than 64 steps from
    the estimate y^(2-p)/(phi (2-p)), or that needs more than `max_terms` terms, is declined: NaN in all
    three (the caller sums it otherwise). Returns the number of declined rows, or -2 for arrays of the wrong
    length.
    """
    cdef Py_ssize_t M = logy.shape[0], i, steps, count
    cdef Py_ssize_t declined = 0
    cdef double na = (2.0 - p) / (p - 1.0), alpha = -na, lp1 = _log(p - 1.0), l2p = _log(2.0 - p)
    cdef double logz, est, j, f, fj, fp, jp, thresh, w, s0, s1, s2
    cdef bint ok
    cdef double log_factorial[LOG_FACTORIALS]
    if logphi.shape[0] != M or log_w.shape[0] != M or ej.shape[0] != M or ej_psi.shape[0] != M:
        return -2
    with nogil:
        for i in range(LOG_FACTORIALS):
            log_factorial[i] = _lgamma(1.0 + i)
        for i in range(M):
            logz = alpha * (lp1 - logy[i]) - (1.0 - alpha) * logphi[i] - l2p
            est = exp((2.0 - p) * logy[i] - logphi[i] - l2p)
            ok = est < 1e12
            jp = floor(est) if est >= 1.0 else 1.0
            fp = _tweedie_term(jp, logz, na, log_factorial)
            # to the largest term: up while the next is larger, else down
            steps = 0
            f = _tweedie_term(jp + 1.0, logz, na, log_factorial)
            if f > fp:
                while ok and f > fp:
                    jp = jp + 1.0
                    fp = f
                    f = _tweedie_term(jp + 1.0, logz, na, log_factorial)
                    steps += 1
                    ok = steps <= TWEEDIE_PEAK_STEPS
            else:
                while ok and jp > 1.0:
                    f = _tweedie_term(jp - 1.0, logz, na, log_factorial)
                    if not (f > fp):
                        break
                    jp = jp - 1.0
                    fp = f
                    steps += 1
                    ok = steps <= TWEEDIE_PEAK_STEPS
            ok = ok and fp == fp and fp > -INFINITY and fp < INFINITY
            if not ok:
                log_w[i] = NAN
                ej[i] = NAN
                ej_psi[i] = NAN
                declined += 1
                continue
            thresh = fp - 37.0
            s0 = 1.0
            s1 = jp
            s2 = jp * _digamma(jp * na) if derivatives else 0.0
            count = 1
            # upwards, then downwards (j >= 1), each up to and including the first term below thresh
            j = jp
            while count <= max_terms:
                j = j + 1.0
                fj = _tweedie_term(j, logz, na, log_factorial)
                if not (fj > -INFINITY):       # -inf or NaN: nothing more to add
                    break
                w = exp(fj - fp)
                s0 += w
                s1 += w * j
                if derivatives:
                    s2 += w * j * _digamma(j * na)
                count += 1
                if fj < thresh:
                    break
            j = jp
            while count <= max_terms and j > 1.0:
                j = j - 1.0
                fj = _tweedie_term(j, logz, na, log_factorial)
                if not (fj > -INFINITY):
                    break
                w = exp(fj - fp)
                s0 += w
                s1 += w * j
                if derivatives:
                    s2 += w * j * _digamma(j * na)
                count += 1
                if fj < thresh:
                    break
            if count > max_terms:
                log_w[i] = NAN
                ej[i] = NAN
                ej_psi[i] = NAN
                declined += 1
                continue
            log_w[i] = fp + _log(s0)
            ej[i] = s1 / s0
            ej_psi[i] = s2 / s0 if derivatives else NAN
    return declined


# --- beta-binomial by finite sums --------------------------------------------------------------------
# quadlib.glmm._densities.beta_binomial_terms (formulas, notes and the numpy version, the twin of the
# tests): for rows with few trials, the gamma-function differences are finite sums over k < y and k < n - y;
# here each element sums only what its order asks for, in one pass without (N, K) temporaries.

def beta_binomial_sums(const double[::1] y, const double[::1] n, const double[:, ::1] eta, const double[::1] phi,
                       int order, bint dispersion, double[:, ::1] value, double[:, ::1] d1=None,
                       double[:, ::1] d2=None, double[:, ::1] d3=None, double[:, ::1] ds=None,
                       double[:, ::1] d1s=None, double[:, ::1] d2s=None):
    """The beta-binomial's value and derivatives (as beta_binomial_terms names them) for rows summed term by
    term: y, n, phi (N,), eta (N, K). OUT: value, d1 (order >= 1), d2 (order >= 2), d3 (order >= 3); with
    `dispersion`, ds, d1s (order >= 1), d2s (order >= 2). The caller keeps n small (the sums take n steps).
    Returns 0, or -2 for arrays of the wrong shape or a missing one.
    """
    cdef Py_ssize_t N = eta.shape[0], K = eta.shape[1], i, k, m, steps
    cdef bint disp = dispersion
    cdef double yi, ni, ph, e, mu, mc, a, b, v, t, x, ia, ib, val, kf, kphi
    cdef double Sa, Sb, Qa, Qb, Ra, Rb, Ka, Kb, Ua, Ub, Va, Vb, ta, tb, D, U, vpp
    if (y.shape[0] != N or n.shape[0] != N or phi.shape[0] != N or _unfit(value, True, N, K)
            or _unfit(d1, order >= 1, N, K) or _unfit(d2, order >= 2, N, K) or _unfit(d3, order >= 3, N, K)
            or _unfit(ds, disp, N, K) or _unfit(d1s, disp and order >= 1, N, K)
            or _unfit(d2s, disp and order >= 2, N, K)):
        return -2
    with nogil:
        for i in range(N):
            yi = y[i]
            ni = n[i]
            ph = phi[i]
            steps = <Py_ssize_t>ni if ni > 0.0 else 0
            kphi = 0.0
            if disp:
                for m in range(steps):
                    kphi = kphi + m / (ph + m)
            for k in range(K):
                mu = 1.0 / (1.0 + exp(-eta[i, k]))
                mc = 1.0 / (1.0 + exp(eta[i, k]))
                a = mu * ph
                b = mc * ph
                val = 0.0
                Sa = Sb = Qa = Qb = Ra = Rb = Ka = Kb = Ua = Ub = Va = Vb = 0.0
                for m in range(steps):
                    kf = <double>m
                    ta = 0.0
                    tb = 0.0
                    # log((a + k)/(phi + k)) = log1p(-b/(phi + k)): exact where the ratio is near 1
                    if kf < yi:
                        x = b / (ph + kf)
                        ta = log1p(-x) if x < 0.5 else log((a + kf) / (ph + kf))
                        ia = 1.0 / (a + kf)
                        Sa += ia
                        Qa -= ia * ia
                        Ra += 2.0 * (ia * ia * ia)
                        Ka += kf * ia
                        Ua += kf * ia * ia
                        Va += kf * (ia * ia * ia)
                    if kf < ni - yi:
                        x = (a + yi) / (ph + yi + kf)
                        tb = log1p(-x) if x < 0.5 else log((b + kf) / (ph + yi + kf))
                        ib = 1.0 / (b + kf)
                        Sb += ib
                        Qb -= ib * ib
                        Rb += 2.0 * (ib * ib * ib)
                        Kb += kf * ib
                        Ub += kf * ib * ib
                        Vb += kf * (ib * ib * ib)
                    val += ta + tb
                value[i, k] = val
                v = mu * mc
                t = mc - mu
                D = Sa - Sb
                if order >= 1:
                    d1[i, k] = ph * v * D
                    if order >= 2:
                        d2[i, k] = ph * v * t * D + ph * ph * (v * v) * (Qa + Qb)
                        if order >= 3:
                            vpp = v * (t * t) - 2.0 * (v * v)
                            d3[i, k] = (ph * vpp * D + 3.0 * (ph * ph) * v * (v * t) * (Qa + Qb)
                                        + (ph * ph * ph) * (v * v * v) * (Ra - Rb))
                if disp:
                    ds[i, k] = kphi - Ka - Kb
                    U = Ua - Ub
                    if order >= 1:
                        d1s[i, k] = ph * v * U
                        if order >= 2:
                            d2s[i, k] = ph * v * t * U - 2.0 * (ph * ph) * (v * v) * (Va + Vb)
    return 0


# --- zero-truncated Poisson --------------------------------------------------------------------------
# quadlib.glmm._families._truncated_poisson_terms (formulas; the numpy version is the twin of the tests):
# value = (y - 1) eta - mu - H(mu), H(A) = log((1 - e^-A)/A), H's series in u = (A/2)^2 below A = 1.

cdef inline double _horner_c(const double[::1] coef, double u) noexcept nogil:
    cdef Py_ssize_t m = coef.shape[0] - 1, j
    cdef double out = coef[m]
    for j in range(m - 1, -1, -1):
        out = out * u + coef[j]
    return out


def truncated_poisson_terms(const double[::1] y, const double[::1] n, const double[:, ::1] eta, int order,
                            const double[::1] c0, const double[::1] c1, const double[::1] c2,
                            const double[::1] c3, double[:, ::1] value, double[:, ::1] d1=None,
                            double[:, ::1] d2=None, double[:, ::1] d3=None):
    """The zero-truncated Poisson's row terms: y, n (N,), eta (N, K); c0..c3 the Horner coefficients (in u,
    lowest first) of H, H', H'', H''' below A = 1 (the numpy version's). OUT: value, d1 (order >= 1), d2
    (order >= 2), d3 (order >= 3). Returns 0, or -2 for arrays of the wrong shape or a missing one."""
    cdef Py_ssize_t N = eta.shape[0], K = eta.shape[1], i, k
    cdef double yi, ni, e, A, t, u, em, emm, H0, H1 = 0.0, H2 = 0.0, H3 = 0.0
    if (y.shape[0] != N or n.shape[0] != N or c0.shape[0] < 1 or c1.shape[0] < 1 or c2.shape[0] < 1
            or c3.shape[0] < 1 or _unfit(value, True, N, K) or _unfit(d1, order >= 1, N, K)
            or _unfit(d2, order >= 2, N, K) or _unfit(d3, order >= 3, N, K)):
        return -2
    with nogil:
        for i in range(N):
            yi = y[i]
            ni = n[i]
            for k in range(K):
                e = eta[i, k]
                A = exp(e)
                if A < 1.0:
                    t = 0.5 * A
                    u = t * t
                    H0 = -0.5 * A + u * _horner_c(c0, u)
                    if order >= 1:
                        H1 = -0.5 + t * _horner_c(c1, u)
                        if order >= 2:
                            H2 = 0.5 * _horner_c(c2, u)
                            if order >= 3:
                                H3 = 0.25 * t * _horner_c(c3, u)
                else:
                    H0 = log1p(-exp(-A)) - e
                    if order >= 1:
                        em = expm1(A)
                        H1 = 1.0 / em - 1.0 / A
                        if order >= 2:
                            emm = -expm1(-A)
                            H2 = 1.0 / (A * A) - 1.0 / (em * emm)
                            if order >= 3:
                                H3 = (1.0 + exp(-A)) / (em * emm * emm) - 2.0 / (A * A * A)
                value[i, k] = ni * ((yi - 1.0) * e - A - H0)
                if order >= 1:
                    d1[i, k] = ni * ((yi - 1.0) - A - H1 * A)
                    if order >= 2:
                        d2[i, k] = ni * (-A - (H2 * A + H1) * A)
                        if order >= 3:
                            d3[i, k] = ni * (-A - ((H3 * A + 3.0 * H2) * A + H1) * A)
    return 0
