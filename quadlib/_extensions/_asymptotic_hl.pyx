# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""O(n) Gauss–Hermite and Gauss–Laguerre rules by stepping from zero to zero along the ODE.

Design (scalar kernels -> one loop per family):

* The Hermite polynomial H_n and the Laguerre polynomial L_n^alpha satisfy second-order linear ODEs
  with polynomial coefficients, so their Taylor coefficients about any point follow from a short
  recurrence. Given the value and derivative at one zero, the Taylor polynomial about it is summed to
  find the next zero (Newton/Halley from a predicted gap), and the derivative there; that derivative
  gives the Gauss weight in closed form. Each node costs O(1) (about 30-60 Taylor terms), so the rule
  costs O(n). This is the method of Glaser, Liu & Rokhlin (2007), with the start values taken from
  closed forms (Hermite at x = 0) or the hypergeometric series (Laguerre near x = 0) instead of the
  three-term recurrence, and the predicted gaps from the WKB frequency or from the previous gaps.
* Two precisions. Where the weight is a normal double (|x| <~ 26.7 for Hermite, x <~ 710 for Laguerre)
  the weight depends so steeply on the node (d log w / dx = -2x resp. -1) that the node must be known to
  ~1e-20 relative to give the weight to an ulp: there everything runs in double-double arithmetic on
  the polynomial itself ("p-form"), and the weight is w = 2/p'(x)^2 (Hermite) or 1/(x p'(x)^2)
  (Laguerre) with p orthonormal. Beyond, the weights underflow and only log w is kept, which needs the
  node to an ulp only: the steps run in double on the Liouville normal form u = e^{-x^2/2} p
  (resp. u = e^{-x/2} x^{(alpha+1)/2} p), whose amplitude stays O(1); the node is accumulated in
  double-double so that rounding errors of the steps (relative to the gap, not to x) do not add up.
* Taylor variable sigma = s / h with h a power of two near the predicted gap, so every scaling is exact.

Conventions: failures are returned as status codes (0 = success); the Python layer raises.

References
----------
A. Glaser, X. Liu and V. Rokhlin, "A fast algorithm for the calculation of the roots of special
functions", SIAM J. Sci. Comput. 29 (2007).
A. Townsend, T. Trogdon and S. Olver, "Fast computation of Gauss quadrature nodes and weights on the
whole real line", IMA J. Numer. Anal. 36 (2016).
J. Bremer, "On the numerical calculation of the roots of special functions satisfying second order
ordinary differential equations", SIAM J. Sci. Comput. 39 (2017).
"""
from libc.math cimport fabs, log, exp, sqrt, sin, cos, fma, ldexp, frexp, isfinite, M_PI, M_LN2

from quadlib._extensions._ddouble cimport (
    dd, dd_new, two_sum, quick_two_sum, two_prod, dd_add, dd_add_d, dd_sub, dd_mul, dd_mul_d, dd_div,
    dd_neg, dd_ldexp,
)

cdef enum:
    JMAX = 240          # most Taylor terms per step
    SCAN = 48           # sample points of the fallback sign scan

# Taylor terms are dropped once they are below these fractions of the largest term on the step:
# the double-double tier needs the node to ~1e-21 relative, the double tier to ~1e-17.
cdef double TOL_DD = 1e-27
cdef double TOL_D = 1e-18
# Below this log-weight the weight is not a normal double, and the double tier takes over.
cdef double LOGW_SWITCH = -712.0
# Accept a Halley step of relative size <= this without another pass: the error left is ~ its cube.
cdef double HALLEY_ACCEPT = 2e-6

cdef dd RECIP[JMAX]        # 1 / ((j+1)(j+2)) in double-double
cdef double RECIP_D[JMAX]

cdef Py_ssize_t _j
for _j in range(JMAX):
    RECIP[_j] = dd_div(dd_new(1.0, 0.0), dd_new((_j + 1.0) * (_j + 2.0), 0.0))
    RECIP_D[_j] = RECIP[_j].hi


# ---------------------------------------------------------------- small helpers

cdef inline double _pow2_near(double g) noexcept nogil:
    """The power of two nearest to g > 0 (in the log sense)."""
    cdef int e
    cdef double m = frexp(g, &e)      # g = m 2^e, 0.5 <= m < 1
    if m < 0.7071067811865476:
        return ldexp(1.0, e - 1)
    return ldexp(1.0, e)


cdef inline double _dd_log(dd a) noexcept nogil:
    """log(a) for a > 0, to about an ulp of the result."""
    return log(a.hi) + a.lo / a.hi


cdef inline int _sgn(double v) noexcept nogil:
    return (v > 0.0) - (v < 0.0)


cdef struct Gaps:
    double g0, g1, g2     # the last three gaps, g0 the newest
    int count


cdef inline void _push_gap(Gaps* gaps, double g) noexcept nogil:
    gaps.g2 = gaps.g1
    gaps.g1 = gaps.g0
    gaps.g0 = g
    gaps.count += 1


cdef inline double _extrapolate(const Gaps* gaps, double wkb) noexcept nogil:
    """Next gap: cubic extrapolation of the previous gaps when they are there and plausible, else WKB."""
    cdef double g
    if gaps.count >= 3:
        g = 3.0 * gaps.g0 - 3.0 * gaps.g1 + gaps.g2
        if 0.6 * gaps.g0 < g < 1.8 * gaps.g0:
            return g
    return wkb


# ---------------------------------------------------------------- Taylor polynomial: evaluation and zero

cdef inline void _horner4(const double* b, int J, double s, double* p, double* d1, double* e2,
                          double* f3) noexcept nogil:
    """p(s) = sum_{j<=J} b_j s^j with p'(s), p''(s)/2 and p'''(s)/6."""
    cdef double P = 0.0, D = 0.0, E = 0.0, F = 0.0
    cdef int j
    for j in range(J, -1, -1):
        F = F * s + E
        E = E * s + D
        D = D * s + P
        P = P * s + b[j]
    p[0] = P
    d1[0] = D
    e2[0] = E
    f3[0] = F


cdef int _scan_zero(const double* b, int J, double smax, int sign0, double* s_out) noexcept nogil:
    """First sign change of p on (0, smax] (p starts with sign sign0), refined by bisection to a
    bracket of relative width 1e-8; returns 0 if found."""
    cdef double lo = 0.0, hi, p, d1, e2, f3, mid
    cdef int i, it
    for i in range(1, SCAN + 1):
        hi = smax * i / SCAN
        _horner4(b, J, hi, &p, &d1, &e2, &f3)
        if _sgn(p) == -sign0:
            for it in range(60):
                mid = 0.5 * (lo + hi)
                if hi - lo <= 1e-8 * hi:
                    break
                _horner4(b, J, mid, &p, &d1, &e2, &f3)
                if _sgn(p) == -sign0:
                    hi = mid
                else:
                    lo = mid
            s_out[0] = 0.5 * (lo + hi)
            return 0
        lo = hi
    return 1


cdef int _next_zero(const double* b, int J, double sg, double smax, double* s_out,
                    double* d_out) noexcept nogil:
    """The first zero beyond 0 of the Taylor polynomial p(s) = sum b_j s^j, from the guess sg.

    Halley's method from sg; if it leaves (0, smax], lands on a zero with the wrong slope, or does
    not settle, a sign scan of (0, smax] brackets the first zero and Halley restarts there.
    OUT: s_out (the zero), d_out (p' there). Returns 0, or 1 when no zero was found.
    """
    cdef int sign0 = _sgn(b[0]) if b[0] != 0.0 else _sgn(b[1])
    cdef double s = sg, p, d1, e2, f3, delta
    cdef int it, attempt
    for attempt in range(2):
        for it in range(40):
            _horner4(b, J, s, &p, &d1, &e2, &f3)
            if d1 == 0.0 or not isfinite(p):
                break
            delta = -(p / d1) / (1.0 - p * e2 / (d1 * d1))
            if fabs(delta) <= HALLEY_ACCEPT * s:
                s_out[0] = s + delta
                d_out[0] = d1 + (2.0 * e2 + 3.0 * f3 * delta) * delta
                if s_out[0] > 0.0 and _sgn(d_out[0]) == -sign0 and s_out[0] <= smax:
                    return 0
                break
            s += delta
            if not (0.0 < s <= smax):
                break
        if attempt == 0:
            if _scan_zero(b, J, smax, sign0, &s) != 0:
                return 1
    return 1


# ---------------------------------------------------------------- double-double polish

cdef void _dd_polish(const dd* b, const double* bh, int J, int Jdd, double s, dd* s_out,
                     dd* d_out) noexcept nogil:
    """One Newton step in double-double on p(s) = sum b_j s^j from the double zero s; the terms
    beyond Jdd are too small to need more than double (bh).

    OUT: s_out = s - p(s)/p'(s), d_out = p'(s_out) (by p'(s) + p''(s) delta)."""
    cdef double Pt = 0.0, Dt = 0.0, E = 0.0, delta
    cdef dd P, D
    cdef int j
    for j in range(J, Jdd, -1):
        E = E * s + Dt
        Dt = Dt * s + Pt
        Pt = Pt * s + bh[j]
    P = dd_new(Pt, 0.0)
    D = dd_new(Dt, 0.0)
    for j in range(Jdd, -1, -1):
        E = E * s + D.hi
        D = dd_add(dd_mul_d(D, s), P)
        P = dd_add(dd_mul_d(P, s), b[j])
    delta = -P.hi / D.hi
    s_out[0] = quick_two_sum(s, delta)
    d_out[0] = dd_add_d(D, 2.0 * E * delta)


# ---------------------------------------------------------------- double tier: sine plus remainder
#
# About a zero c of u'' = -q u, the Taylor polynomial in sigma (normalized to u'(c) h = 1) is written
# sin(W sigma)/W + R(sigma) with W^2 = q(c) h^2. The sine carries the oscillation and is summed by libm
# to an ulp of its (small) value near its zero; R is small wherever q varies slowly over a gap, so the
# rounding errors of the Taylor sum shrink with it. The zero is then off by ~eps/4 of the gap per step
# (from rounding q(c)), not ~4 eps as for a plain double Taylor sum: these errors add up over the
# O(n) steps, and this keeps their sum below an ulp of the node.

cdef inline double _fma_err(double a, double b, double p) noexcept nogil:
    """a*b - p exactly, for p = fl(a*b)."""
    return fma(a, b, -p)


cdef int _split_zero(const double* r, int J, double W, double sg, double smax, double* s_out,
                     double* d_out) noexcept nogil:
    """The first zero beyond 0 of f(sigma) = sin(W sigma)/W + sum_{j<=J} r_j sigma^j by Halley's
    method from sg. OUT: s_out, d_out = f'(s_out). Returns 0, or 1 (the caller falls back)."""
    cdef double s = sg, t, tl, sn, cs, st, ct, R, R1, R2, R3, f, f1, f2, f3, delta
    cdef int it
    for it in range(12):
        t = W * s
        tl = _fma_err(W, s, t)
        st = sin(t)
        ct = cos(t)
        sn = st + ct * tl
        cs = ct - st * tl
        _horner4(r, J, s, &R, &R1, &R2, &R3)
        f = sn / W + R
        f1 = cs + R1
        f2 = -W * sn + 2.0 * R2          # second derivative (R2 holds half of it)
        f3 = -W * W * cs + 6.0 * R3      # third derivative (R3 holds a sixth of it)
        if f1 == 0.0:
            return 1
        delta = -(f / f1) / (1.0 - f * f2 / (2.0 * f1 * f1))
        if fabs(delta) <= HALLEY_ACCEPT * s:
            s_out[0] = s + delta
            d_out[0] = f1 + (f2 + 0.5 * f3 * delta) * delta
            return 0 if (0.0 < s_out[0] <= smax and d_out[0] < 0.0) else 1
        s += delta
        if not (0.0 < s <= smax):
            return 1
    return 1


cdef int _hermite_split(double nu, dd c, double h, double smax, double* W_out, double* r) noexcept nogil:
    """Remainder coefficients r_j (and W) of the Hermite function about its zero c (u'(c) h = 1):
    (j+1)(j+2) r_{j+2} = Q0 r_j + E s_j + Q1 b_{j-1} + Q2 b_{j-2} with b = s + r, Q0 = (c^2-nu) h^2,
    s_j the Taylor coefficients of sin(W sigma)/W, W = sqrt(-Q0) and E = Q0 + W^2 (exact by fma)."""
    cdef dd q = dd_add_d(dd_mul(c, c), -nu)
    cdef double Q0 = dd_mul_d(q, h * h).hi, Q1 = 2.0 * c.hi * h * h * h, Q2 = h * h * h * h
    cdef double W = sqrt(-Q0), E = fma(W, W, Q0), W2 = -Q0
    cdef double sj[JMAX]
    cdef double bb[JMAX + 2]         # b = s + r, with two leading zeros
    cdef double* b = &bb[2]
    cdef double powj = smax
    cdef int j
    W_out[0] = W
    bb[0] = bb[1] = 0.0
    r[0] = 0.0
    r[1] = 0.0
    sj[0] = 0.0
    sj[1] = 1.0
    b[0] = 0.0
    b[1] = 1.0
    for j in range(JMAX - 2):
        sj[j + 2] = -W2 * sj[j] * RECIP_D[j]
        r[j + 2] = (Q0 * r[j] + E * sj[j] + Q1 * b[j - 1] + Q2 * b[j - 2]) * RECIP_D[j]
        b[j + 2] = sj[j + 2] + r[j + 2]
        powj *= smax
        if j >= 4 and (fabs(r[j + 2]) * smax + fabs(r[j + 1])) * powj <= TOL_D and \
                fabs(sj[j + 2]) * powj <= 1.0:
            return j + 2
    return -1


cdef int _laguerre_split(dd nu, double alpha, dd c, double h, double smax, double* W_out,
                         double* r) noexcept nogil:
    """As _hermite_split for the Laguerre normal form; its ODE times x^2 gives
    (j+2)(j+1) b_{j+2} = QL b_j - [2h/c (j+1) j b_{j+1} + h^2/c^2 j(j-1) b_j
                                   + (nu - 2c) h^3/(4c^2) b_{j-1} - h^4/(4c^2) b_{j-2}]
    with QL = -(c(nu-c) + 1 - alpha^2) h^2 / (4c^2) = -q(c) h^2."""
    # q(c) = (nu - c)/(4c) + (1 - alpha^2)/(4c^2) to an ulp or two; nu - c exactly (cancels near the edge)
    cdef dd numc = dd_sub(nu, c)
    cdef double cc = c.hi, inv4c2 = 0.25 / (cc * cc)
    cdef double QL = -(numc.hi / (4.0 * cc) + (1.0 - alpha * alpha) * inv4c2) * (h * h)
    cdef double W = sqrt(-QL), E = fma(W, W, QL), W2 = -QL
    cdef double A1 = 2.0 * h / cc, D1 = h * h / (cc * cc)
    cdef double H3 = (numc.hi - cc) * h * h * h * inv4c2, H4 = h * h * h * h * inv4c2
    cdef double sj[JMAX]
    cdef double bb[JMAX + 2]         # b = s + r, with two leading zeros
    cdef double* b = &bb[2]
    cdef double powj = smax
    cdef int j
    W_out[0] = W
    bb[0] = bb[1] = 0.0
    r[0] = 0.0
    r[1] = 0.0
    sj[0] = 0.0
    sj[1] = 1.0
    b[0] = 0.0
    b[1] = 1.0
    for j in range(JMAX - 2):
        sj[j + 2] = -W2 * sj[j] * RECIP_D[j]
        r[j + 2] = (QL * r[j] + E * sj[j]
                    - (A1 * (j + 1.0) * j * b[j + 1] + D1 * j * (j - 1.0) * b[j] + H3 * b[j - 1] - H4 * b[j - 2])
                    ) * RECIP_D[j]
        b[j + 2] = sj[j + 2] + r[j + 2]
        powj *= smax
        if j >= 4 and (fabs(r[j + 2]) * smax + fabs(r[j + 1])) * powj <= TOL_D and \
                fabs(sj[j + 2]) * powj <= 1.0:
            return j + 2
    return -1


# ---------------------------------------------------------------- Hermite

cdef int _hermite_coeffs_dd(Py_ssize_t n, dd c, double h, double smax, dd* b, double* bh,
                            int* jdd) noexcept nogil:
    """Taylor coefficients in sigma = s/h of the orthonormal p_n about c, from b[0], b[1]:
    p'' - 2x p' + 2n p = 0 gives b_{j+2} = [2ch (j+1) b_{j+1} + 2(j-n) h^2 b_j] / ((j+1)(j+2)).
    Returns the degree used, or -1 if JMAX terms were not enough."""
    cdef dd C = dd_mul_d(c, 2.0 * h), t
    cdef double hh = h * h, scale, m
    cdef int j
    cdef double powj
    bh[0] = b[0].hi
    bh[1] = b[1].hi
    scale = fabs(bh[0]) + fabs(bh[1]) * smax
    powj = smax
    jdd[0] = JMAX
    for j in range(JMAX - 2):
        if j + 1 < jdd[0]:
            t = dd_mul_d(dd_mul(C, b[j + 1]), j + 1.0)
            t = dd_add(t, dd_mul_d(b[j], 2.0 * (j - n) * hh))
            b[j + 2] = dd_mul(t, RECIP[j])
            bh[j + 2] = b[j + 2].hi
        else:
            bh[j + 2] = (C.hi * (j + 1.0) * bh[j + 1] + 2.0 * (j - n) * hh * bh[j]) * RECIP_D[j]
        powj *= smax
        m = fabs(bh[j + 2]) * powj * smax
        if m > scale:
            scale = m
        # terms this small are summed in double: their rounding errors are below 1e-28
        if jdd[0] == JMAX and j >= 2 and (fabs(bh[j + 2]) * smax + fabs(bh[j + 1])) * powj <= 1e-12 * scale:
            jdd[0] = j + 2
        if j >= 2 and (fabs(bh[j + 2]) * smax + fabs(bh[j + 1])) * powj <= TOL_DD * scale:
            if jdd[0] > j + 2:
                jdd[0] = j + 2
            return j + 2
    return -1


cdef int _hermite_coeffs_d(double nu, dd c, double h, double smax, double* b) noexcept nogil:
    """Taylor coefficients in sigma of the Hermite function u (u'' = (x^2 - nu) u) about c."""
    cdef dd c2 = dd_add_d(dd_mul(c, c), -nu)
    cdef double hh = h * h
    cdef double Q0 = c2.hi * hh, Q1 = 2.0 * c.hi * hh * h, Q2 = hh * hh
    cdef double scale = fabs(b[0]) + fabs(b[1]) * smax, powj = smax, m, bm1 = 0.0, bm2 = 0.0
    cdef int j
    for j in range(JMAX - 2):
        bm1 = b[j - 1] if j >= 1 else 0.0
        bm2 = b[j - 2] if j >= 2 else 0.0
        b[j + 2] = (Q0 * b[j] + Q1 * bm1 + Q2 * bm2) * RECIP_D[j]
        powj *= smax
        m = fabs(b[j + 2]) * powj * smax
        if m > scale:
            scale = m
        if j >= 2 and (fabs(b[j + 2]) * smax + fabs(b[j + 1])) * powj <= TOL_D * scale:
            return j + 2
    return -1


cdef inline double _hermite_wkb(double nu, double c, double half) noexcept nogil:
    """Gap from c to the next zero by the WKB frequency sqrt(nu - x^2) at the midpoint."""
    cdef double g = M_PI / sqrt(nu - c * c) * half, q
    cdef int i
    for i in range(3):
        q = nu - (c + 0.5 * g) * (c + 0.5 * g)
        if q <= 0.0:
            break
        g = M_PI / sqrt(q) * half
    return g


def hermite_rule(Py_ssize_t n, double p0_hi, double p0_lo, double xs_hi, double xs_lo,
                 double ws_hi, double ws_lo, double[::1] x, double[::1] w, double[::1] logw):
    """The m = (n+1)//2 nonnegative Gauss–Hermite nodes (ascending) with their weights.

    IN: n; p0 = |p_n(0)| for even n, |p_n'(0)| for odd n (double-double), p_n orthonormal for e^{-x^2};
    xs (node scale) and ws (weight scale) in double-double: the nodes returned are xs*x_k and the
    weights ws*w_k for the physicists' rule (x_k, w_k), scaled before rounding.
    OUT: x, w, logw (length m). Returns 0, or the (1-based) index of the step that failed.
    """
    cdef Py_ssize_t m = (n + 1) // 2, k = 0
    cdef double nu = 2.0 * n + 1.0
    cdef dd c = dd_new(0.0, 0.0), val, dp, sdd, dnew, xs = dd_new(xs_hi, xs_lo), ws = dd_new(ws_hi, ws_lo)
    cdef dd r, wdd, cnew, x2
    cdef double logws = _dd_log(ws), guess, h, s, d, up = 0.0, lw, gap, W, smax
    cdef int tier = 0, J, Jdd, failed = 0
    cdef Gaps gaps
    cdef dd b[JMAX]
    cdef double bh[JMAX]
    if x.shape[0] < m or w.shape[0] < m or logw.shape[0] < m:
        raise ValueError("hermite_rule: output arrays are too short")
    gaps.count = 0
    gaps.g0 = gaps.g1 = gaps.g2 = 0.0
    with nogil:
        if n % 2:
            dp = dd_new(p0_hi, p0_lo)
            val = dd_new(0.0, 0.0)
            x[0] = 0.0
            r = dd_div(dd_new(1.0, 0.0), dp)
            wdd = dd_mul(dd_mul_d(dd_mul(r, r), 2.0), ws)
            w[0] = wdd.hi
            logw[0] = _dd_log(wdd)
            k = 1
        else:
            val = dd_new(p0_hi, p0_lo)
            dp = dd_new(0.0, 0.0)
        while k < m:
            if k == 0:
                guess = _hermite_wkb(nu, 0.0, 0.5)
            else:
                guess = _extrapolate(&gaps, -1.0)
                if guess < 0.0:
                    guess = _hermite_wkb(nu, c.hi, 1.0)
            h = _pow2_near(guess)
            if tier == 0:
                b[0] = val
                b[1] = dd_mul_d(dp, h)
                # Taylor terms for a window 25% beyond the predicted zero; twice it if that misses
                smax = 1.25 * guess / h
                J = _hermite_coeffs_dd(n, c, h, smax, b, bh, &Jdd)
                if J < 0 or _next_zero(bh, J, guess / h, smax, &s, &d) != 0:
                    smax = 2.0 * guess / h
                    J = _hermite_coeffs_dd(n, c, h, smax, b, bh, &Jdd)
                    if J < 0 or _next_zero(bh, J, guess / h, smax, &s, &d) != 0:
                        failed = k + 1
                        break
                _dd_polish(b, bh, J, Jdd, s, &sdd, &dnew)
                cnew = dd_add(c, dd_new(h * sdd.hi, h * sdd.lo))
                dp = dd_mul_d(dnew, 1.0 / h)
                r = dd_div(dd_new(1.0, 0.0), dp)
                wdd = dd_mul(dd_mul_d(dd_mul(r, r), 2.0), ws)
                if wdd.hi > 1e-300:
                    lw = _dd_log(wdd)
                else:
                    lw = logws + M_LN2 - 2.0 * _dd_log(dd_new(fabs(dp.hi), _sgn(dp.hi) * dp.lo))
                w[k] = wdd.hi
                logw[k] = lw
                if lw < LOGW_SWITCH:
                    # from here on the Hermite function u = e^{-x^2/2} p: u' = e^{-x^2/2} p' at a zero
                    tier = 1
                    x2 = dd_mul(cnew, cnew)
                    up = dp.hi * exp(-0.5 * x2.hi) * (1.0 - 0.5 * x2.lo + dp.lo / dp.hi)
            else:
                smax = 1.25 * guess / h
                J = _hermite_split(nu, c, h, smax, &W, bh)
                if J >= 0 and _split_zero(bh, J, W, guess / h, smax, &s, &d) == 0:
                    up = up * d
                else:
                    # a plain Taylor sum (and a sign scan) where the split did not converge
                    smax = 2.0 * guess / h
                    bh[0] = 0.0
                    bh[1] = up * h
                    J = _hermite_coeffs_d(nu, c, h, smax, bh)
                    if J < 0 or _next_zero(bh, J, guess / h, smax, &s, &d) != 0:
                        failed = k + 1
                        break
                    up = d / h
                cnew = dd_add(c, two_prod(h, s))
                x2 = dd_mul(cnew, cnew)
                # log w = log ws + log 2 - x^2 - 2 log|u'|, summed largest first
                lw = (-x2.hi) + ((logws + M_LN2 - 2.0 * log(fabs(up))) - x2.lo)
                w[k] = exp(lw) if lw > -746.0 else 0.0
                logw[k] = lw
            gap = dd_sub(cnew, c).hi
            _push_gap(&gaps, 2.0 * gap if (k == 0 and n % 2 == 0) else gap)
            c = cnew
            val = dd_new(0.0, 0.0)
            x[k] = dd_mul(c, xs).hi
            k += 1
    return failed


# ---------------------------------------------------------------- Laguerre

cdef int _laguerre_coeffs_dd(Py_ssize_t n, dd alpha1, dd c, double h, double smax, dd* b,
                             double* bh, int* jdd) noexcept nogil:
    """Taylor coefficients in sigma = s/h about c > 0 of p = L_n^alpha (normalized):
    x p'' + (alpha+1-x) p' + n p = 0 gives
    b_{j+2} = -[(j+1)(j+alpha+1-c) h b_{j+1} + (n-j) h^2 b_j] / (c (j+1)(j+2))."""
    cdef dd A = dd_sub(alpha1, c), invc = dd_div(dd_new(1.0, 0.0), c), t
    cdef double hh = h * h, scale, m, powj
    cdef int j
    bh[0] = b[0].hi
    bh[1] = b[1].hi
    scale = fabs(bh[0]) + fabs(bh[1]) * smax
    powj = smax
    jdd[0] = JMAX
    for j in range(JMAX - 2):
        if j + 1 < jdd[0]:
            t = dd_mul(dd_mul_d(dd_add_d(A, <double> j), h * (j + 1.0)), b[j + 1])
            t = dd_add(t, dd_mul_d(b[j], (n - j) * hh))
            b[j + 2] = dd_neg(dd_mul(dd_mul(t, invc), RECIP[j]))
            bh[j + 2] = b[j + 2].hi
        else:
            bh[j + 2] = -((A.hi + j) * h * (j + 1.0) * bh[j + 1] + (n - j) * hh * bh[j]) * invc.hi * RECIP_D[j]
        powj *= smax
        m = fabs(bh[j + 2]) * powj * smax
        if m > scale:
            scale = m
        if jdd[0] == JMAX and j >= 2 and (fabs(bh[j + 2]) * smax + fabs(bh[j + 1])) * powj <= 1e-12 * scale:
            jdd[0] = j + 2
        if j >= 2 and (fabs(bh[j + 2]) * smax + fabs(bh[j + 1])) * powj <= TOL_DD * scale:
            if jdd[0] > j + 2:
                jdd[0] = j + 2
            return j + 2
    return -1


cdef int _laguerre_coeffs_d(dd nu, double alpha, dd c, double h, double smax, double* b) noexcept nogil:
    """Taylor coefficients in sigma of the normal form u = e^{-x/2} x^{(alpha+1)/2} p:
    4x^2 u'' + (nu x - x^2 + 1 - alpha^2) u = 0, nu = 4n + 2 alpha + 2."""
    cdef dd numc = dd_sub(nu, c)
    cdef double Q = dd_mul(c, numc).hi + (1.0 - alpha * alpha)
    cdef double N2 = dd_sub(numc, c).hi          # nu - 2c
    cdef double cc = c.hi, hh = h * h
    cdef double inv4c2 = 1.0 / (4.0 * cc * cc)
    cdef double A1 = 8.0 * cc * h, H3 = N2 * hh * h, H4 = hh * hh
    cdef double scale = fabs(b[0]) + fabs(b[1]) * smax, powj = smax, m, bm1, bm2
    cdef int j
    for j in range(JMAX - 2):
        bm1 = b[j - 1] if j >= 1 else 0.0
        bm2 = b[j - 2] if j >= 2 else 0.0
        b[j + 2] = -(A1 * (j + 1.0) * j * b[j + 1] + (4.0 * j * (j - 1.0) + Q) * hh * b[j]
                     + H3 * bm1 - H4 * bm2) * RECIP_D[j] * inv4c2
        powj *= smax
        m = fabs(b[j + 2]) * powj * smax
        if m > scale:
            scale = m
        if j >= 2 and (fabs(b[j + 2]) * smax + fabs(b[j + 1])) * powj <= TOL_D * scale:
            return j + 2
    return -1


cdef inline double _laguerre_q(double nu, double alpha, double x) noexcept nogil:
    return nu / (4.0 * x) - 0.25 + (1.0 - alpha * alpha) / (4.0 * x * x)


cdef inline double _laguerre_wkb(double nu, double alpha, double c) noexcept nogil:
    cdef double q = _laguerre_q(nu, alpha, c), g
    cdef int i
    if q <= 0.0:
        return 0.0
    g = M_PI / sqrt(q)
    for i in range(3):
        q = _laguerre_q(nu, alpha, c + 0.5 * g)
        if q <= 0.0:
            break
        g = M_PI / sqrt(q)
    return g


cdef void _series(Py_ssize_t n, double alpha, dd x, dd* S, dd* xdS, double* absum) noexcept nogil:
    """S = 1F1(-n; alpha+1; x) = sum t_k and x dS/dx = sum k t_k, with sum |t_k| (the cancellation)."""
    cdef dd t = dd_new(1.0, 0.0), s = dd_new(1.0, 0.0), ds = dd_new(0.0, 0.0)
    cdef double total = 1.0, biggest = 1.0
    cdef Py_ssize_t k
    for k in range(n):
        t = dd_div(dd_mul_d(dd_mul(t, x), <double> (k - n)),
                   dd_mul_d(two_sum(alpha, k + 1.0), k + 1.0))
        s = dd_add(s, t)
        ds = dd_add(ds, dd_mul_d(t, k + 1.0))
        total += fabs(t.hi)
        if fabs(t.hi) > biggest:
            biggest = fabs(t.hi)
        if fabs(t.hi) * (k + 1.0) < 1e-36 * biggest and (k - n) * x.hi / ((k + 1.0) * (k + 1.0 + alpha)) > -0.5:
            break
    S[0] = s
    xdS[0] = ds
    absum[0] = total


cdef int _series_zeros(Py_ssize_t n, double alpha, dd p0, Py_ssize_t kmax, double kappa_x_max,
                       double* x, double* w, double* logw, dd* zeros, dd* dp_last, int scale_exp) noexcept nogil:
    """The first zeros of p = p0 1F1(-n; alpha+1; x) by Newton–Maehly on the series in double-double,
    while the series is accurate (its cancellation sum|t|/|x p'/p0| <= 1e8) and k kappa x <= kappa_x_max.
    Fills x, w, logw and zeros (double-double); dp_last = p' at the last one. p is the normalized
    polynomial divided by 2**scale_exp (see `laguerre_rule`); the weights are those of the normalized one.
    Returns the number of zeros found (0 if not even the first could be found accurately)."""
    cdef double kappa = n + 0.5 * (alpha + 1.0), sq, corr
    cdef dd z, S, xdS, step, r, wdd, dp
    cdef double absum, denom, last = 1e300
    cdef Py_ssize_t k = 0, l
    cdef int it
    while k < kmax and k < n:
        if k == 0:
            z = dd_new(0.0, 0.0)
        else:
            sq = sqrt(zeros[k - 1].hi) + 0.9 * M_PI / (2.0 * sqrt(kappa))
            z = dd_new(sq * sq, 0.0)
        last = 1e300
        for it in range(200):
            _series(n, alpha, z, &S, &xdS, &absum)
            if z.hi == 0.0:
                # p'(0)/p0 = -n/(alpha+1): the first Newton step from 0 lands left of the first zero
                z = dd_new((alpha + 1.0) / n, 0.0)
                continue
            # Newton–Maehly: p / (p' - p sum 1/(z - z_l)), with p' = xdS / z
            corr = 0.0
            for l in range(k):
                corr += 1.0 / (z.hi - zeros[l].hi)
            denom = xdS.hi / z.hi - S.hi * corr
            step = dd_div(S, dd_new(denom, 0.0))
            z = dd_sub(z, step)
            # the series is accurate to ~1e-32 times its cancellation (<= 1e8): stop at the noise
            if fabs(step.hi) <= 1e-24 * z.hi:
                if fabs(step.hi) <= 1e-29 * z.hi or it > 0 and fabs(step.hi) > 0.1 * last:
                    break
            last = fabs(step.hi)
        else:
            return k
        _series(n, alpha, z, &S, &xdS, &absum)
        if not (absum <= 1e8 * fabs(xdS.hi)) or kappa * z.hi > kappa_x_max and k > 0:
            return k
        # p' = p0 xdS / z, corrected to the zero by one Newton step
        dp = dd_div(dd_mul(p0, xdS), z)
        zeros[k] = z
        r = dd_ldexp(dd_div(dd_new(1.0, 0.0), dp), -scale_exp)
        # (r / z) r, not r^2 / z: r^2 = w z overflows before w does (alpha near 170)
        wdd = dd_mul(dd_div(r, z), r)
        x[k] = z.hi
        w[k] = wdd.hi
        if wdd.hi > 1e-300 and wdd.hi < 1e300:
            logw[k] = _dd_log(wdd)
        else:
            logw[k] = (-_dd_log(z) - 2.0 * _dd_log(dd_new(fabs(dp.hi), _sgn(dp.hi) * dp.lo))
                       - 2.0 * scale_exp * M_LN2)
        dp_last[0] = dp
        k += 1
    return k


def laguerre_rule(Py_ssize_t n, double alpha, double p0_hi, double p0_lo, Py_ssize_t start,
                  double c_hi, double c_lo, double dp_hi, double dp_lo,
                  double[::1] x, double[::1] w, double[::1] logw, int scale_exp=0):
    """The n Gauss–Laguerre nodes (ascending) for x^alpha e^{-x} with weights and log-weights.

    IN: n, alpha; p0 = p(0) = sqrt(Gamma(n+alpha+1)/n!)/Gamma(alpha+1) in double-double (p = L_n^alpha
    sqrt(n!/Gamma(n+alpha+1))). With start = 0 the first zeros come from the hypergeometric series;
    with start = k > 0 the caller has filled x, w, logw[:k] and gives the k-th zero c and p'(c).
    OUT: x, w, logw. Returns 0; -1 if the series could not start (cancellation: large alpha); else the
    (1-based) index of the step that failed.
    With scale_exp > 0 the double-double stepping follows p / 2**scale_exp (p0 and dp given so divided):
    for large n and alpha, p near 0 is beyond 1e170 and its Taylor coefficients would overflow. Scaling
    by a power of two is exact; the weights come out for the normalized p, and the normal-form stepping
    (where the weights underflow) runs on the normalized u as without scaling.
    """
    cdef Py_ssize_t k
    cdef dd alpha1 = two_sum(alpha, 1.0), nu = two_sum(4.0 * n + 2.0, 2.0 * alpha)
    cdef dd p0 = dd_new(p0_hi, p0_lo), c, dp, sdd, dnew, cnew, r, wdd
    cdef double guess, h, s, d, up = 0.0, lw, gap, smax, lx, W
    cdef int tier = 0, J, Jdd, failed = 0
    cdef Gaps gaps
    cdef dd b[JMAX]
    cdef double bh[JMAX]
    cdef dd zeros[16]
    if x.shape[0] < n or w.shape[0] < n or logw.shape[0] < n:
        raise ValueError("laguerre_rule: output arrays are too short")
    gaps.count = 0
    gaps.g0 = gaps.g1 = gaps.g2 = 0.0
    with nogil:
        if start == 0:
            k = _series_zeros(n, alpha, p0, 12, 64.0, &x[0], &w[0], &logw[0], zeros, &dp, scale_exp)
            if k == 0:
                failed = -1
            else:
                c = zeros[k - 1]
                for J in range(1, k):
                    _push_gap(&gaps, dd_sub(zeros[J], zeros[J - 1]).hi)
        else:
            k = start
            c = dd_new(c_hi, c_lo)
            dp = dd_new(dp_hi, dp_lo)
        while failed == 0 and k < n:
            guess = _extrapolate(&gaps, -1.0)
            if guess < 0.0:
                guess = _laguerre_wkb(nu.hi, alpha, c.hi)
            if not guess > 0.0:
                failed = k + 1
                break
            h = _pow2_near(guess)
            # the normal form is singular at 0: keep the step inside the disc of convergence
            smax = 1.25 * guess / h
            if tier == 0:
                if 0.9 * c.hi / h < smax:
                    smax = 0.9 * c.hi / h
                b[0] = dd_new(0.0, 0.0)
                b[1] = dd_mul_d(dp, h)
                J = _laguerre_coeffs_dd(n, alpha1, c, h, smax, b, bh, &Jdd)
                if J < 0 or _next_zero(bh, J, guess / h, smax, &s, &d) != 0:
                    smax = min(2.0 * guess / h, 0.9 * c.hi / h)
                    J = _laguerre_coeffs_dd(n, alpha1, c, h, smax, b, bh, &Jdd)
                    if J < 0 or _next_zero(bh, J, guess / h, smax, &s, &d) != 0:
                        failed = k + 1
                        break
                _dd_polish(b, bh, J, Jdd, s, &sdd, &dnew)
                cnew = dd_add(c, dd_new(h * sdd.hi, h * sdd.lo))
                dp = dd_mul_d(dnew, 1.0 / h)
                r = dd_ldexp(dd_div(dd_new(1.0, 0.0), dp), -scale_exp)
                wdd = dd_mul(dd_div(r, cnew), r)
                if wdd.hi > 1e-300 and wdd.hi < 1e300:
                    lw = _dd_log(wdd)
                else:
                    lw = (-_dd_log(cnew) - 2.0 * _dd_log(dd_new(fabs(dp.hi), _sgn(dp.hi) * dp.lo))
                          - 2.0 * scale_exp * M_LN2)
                w[k] = wdd.hi
                logw[k] = lw
                if lw < LOGW_SWITCH:
                    # u' = e^{-x/2} x^{(alpha+1)/2} p' at a zero
                    tier = 1
                    # u' of the normalized p: the normal form runs unscaled (its values are moderate)
                    up = ldexp(dp.hi * exp(-0.5 * cnew.hi + 0.5 * (alpha + 1.0) * log(cnew.hi))
                               * (1.0 - 0.5 * cnew.lo + dp.lo / dp.hi), scale_exp)
            else:
                J = _laguerre_split(nu, alpha, c, h, smax, &W, bh)
                if J >= 0 and _split_zero(bh, J, W, guess / h, smax, &s, &d) == 0:
                    up = up * d
                else:
                    smax = min(2.0 * guess / h, 0.9 * c.hi / h)
                    bh[0] = 0.0
                    bh[1] = up * h
                    J = _laguerre_coeffs_d(nu, alpha, c, h, smax, bh)
                    if J < 0 or _next_zero(bh, J, guess / h, smax, &s, &d) != 0:
                        failed = k + 1
                        break
                    up = d / h
                cnew = dd_add(c, two_prod(h, s))
                # log w = alpha log x - x - 2 log|u'|
                lx = alpha * log(cnew.hi) if alpha != 0.0 else 0.0
                lw = (-cnew.hi) + ((lx - 2.0 * log(fabs(up))) - cnew.lo)
                w[k] = exp(lw) if lw > -746.0 else 0.0
                logw[k] = lw
            gap = dd_sub(cnew, c).hi
            _push_gap(&gaps, gap)
            c = cnew
            x[k] = c.hi
            k += 1
    return failed


def series_zeros(Py_ssize_t n, double alpha, double p0_hi, double p0_lo, Py_ssize_t kmax,
                 double kappa_x_max, double[::1] x, double[::1] w, double[::1] logw):
    """The first zeros of L_n^alpha from the hypergeometric series (the start of `laguerre_rule`).

    OUT: x, w, logw (length >= kmax <= 16). Returns how many were found."""
    cdef dd zeros[16]
    cdef dd dp
    if kmax > 16 or x.shape[0] < kmax or w.shape[0] < kmax or logw.shape[0] < kmax:
        raise ValueError("series_zeros: kmax must be <= 16 and <= the output length")
    return _series_zeros(n, alpha, dd_new(p0_hi, p0_lo), kmax, kappa_x_max, &x[0], &w[0], &logw[0],
                         zeros, &dp, 0)
