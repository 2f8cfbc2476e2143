# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Modified Chebyshev moments and the weighted 25-point Chebyshev panels of QUADPACK's QAWO/QAWF/QAWC/QAWS.

Design: on an interval [a, b] = m + h [-1, 1] the engine samples f at the 25 interior Chebyshev points of the first
kind, t_k = cos((k + 1/2) pi / 25) (never the end points, where the weights' singularities and f's own often sit).
The degree-24 interpolant p(t) = sum_j c_j T_j(t) has its coefficients from a DCT-II (`cheb_coeffs`), and the
weighted integral of p is sum_j c_j mu_j, where mu_j is a modified moment of the weight:

* cos/sin (QAWO): M_j(theta) = int T_j(t) exp(i theta t) dt, theta = omega h, times h exp(i omega m). For
  |theta| > 24 the forward recurrence of Piessens and Branders (one integration by parts of
  T_n = (T'_{n+1}/(n+1) - T'_{n-1}/(n-1))/2) is stable (the wanted solution dominates while n < |theta|); below it
  loses everything (3e21 relative at theta = 0.5), and a fixed Gauss-Legendre rule replaces QUADPACK's Olver
  boundary-value solve: 32 points for |theta| <= 12, 64 up to 24 (exact to degree 63 / 127 in t; measured within
  1e-17 of max|M_j| against 90-digit values, so the truncation is below rounding);
* Cauchy (QAWC): v_j(u) = PV int T_j(t)/(t - u) dt, u = (c - m)/h, from T_{j+1} = 2t T_j - T_{j-1}:
  v_{j+1} = 2u v_j - v_{j-1} + 2 int T_j, forward where its homogeneous solutions stay bounded (|u| < 1) or grow
  less than 16-fold by j = 24 (|u| <= 1.0067); beyond (the pole outside the interval, |u| < 1.1 as QUADPACK)
  forward lost 2e-12 relative at u = 1.1, so there the Chebyshev series of 1/(t - u) is summed instead;
* algebraic-logarithmic (QAWS): r_j(alpha) = int (1+t)^alpha T_j dt by QUADPACK's DQMOMO recurrence and
  g_j = dr_j/dalpha = int (1+t)^alpha log(1+t) T_j dt by the same recurrence differentiated in alpha.

Error estimate (design decision 3, option (a): no 13-point nested rule exists on first-kind points): from the
decay of the last Chebyshev coefficients, times the moments the unseen coefficients alias onto (see `_cheb_sum`).

Accuracy against mpmath twins (tests/test_moments.py): trig moments <= 8e-16 of max|M_j| (2.4e-15 at theta = 5e5),
Cauchy <= 4e-15 of max|v_j|, Jacobi r_j, g_j <= 1.5e-15 elementwise for alpha in [-1 + 1e-12, 7] (2e-14 at 120);
panels on closed forms <= 1e-14 relative (e^x cos/sin up to omega = 1e6, PV of e^x/(x - c), x^alpha e^x at
alpha = -0.999999 with and without log x).

References: R. Piessens, E. de Doncker-Kapenga, C. W. Ueberhuber, D. K. Kahaner, "QUADPACK", Springer (1983):
DQC25F, DQC25C, DQC25S, DQMOMO. R. Piessens and M. Branders, "On the computation of Fourier transforms of singular
functions", J. Comput. Appl. Math. 1 (1975). L. Fejer, "Mechanische Quadraturen mit positiven Cotesschen
Zahlen", Math. Z. 37 (1933) (the first-kind interior nodes).
"""
from libc.math cimport cos, sin, fabs, fma, log, pow, sqrt, atanh, isfinite, M_PI, M_LN2, NAN
from libc.stdlib cimport abs

from quadlib._extensions._ddouble cimport dd, two_sum

import numpy as np

cdef double EPMACH = 2.220446049250313e-16

# cos(pi m / 50), m = 0..99: the DCT-II of 25 points only ever needs these
cdef double _COS100[100]
# the DCT-II matrix on the folded values: _DCT[j][k] = cos(pi j (2k + 1) / 50), k < 13 (no modulo in the hot loop)
cdef double _DCT[25][13]
# the 32 positive nodes and weights of 64-point Gauss-Legendre, correctly rounded from 50-digit values (numpy's
# leggauss weights are only good to 1e-12 relative at n = 64; tests/test_moments.py checks these against mpmath)
cdef double _GLX[32]
cdef double _GLW[32]
_GLX[:] = [
    0.024350292663424433, 0.07299312178779904, 0.12146281929612056, 0.16964442042399283,
    0.21742364374000708, 0.2646871622087674, 0.31132287199021097, 0.3572201583376681, 0.4022701579639916,
    0.4463660172534641, 0.48940314570705296, 0.5312794640198946, 0.571895646202634, 0.6111553551723933,
    0.6489654712546573, 0.6852363130542333, 0.7198818501716109, 0.7528199072605319, 0.7839723589433414,
    0.8132653151227975, 0.8406292962525803, 0.8659993981540928, 0.8893154459951141, 0.9105221370785028,
    0.9295691721319396, 0.9464113748584028, 0.9610087996520538, 0.973326827789911, 0.983336253884626,
    0.9910133714767443, 0.9963401167719553, 0.9993050417357722]
_GLW[:] = [
    0.048690957009139724, 0.04857546744150343, 0.048344762234802954, 0.04799938859645831,
    0.04754016571483031, 0.04696818281621002, 0.046284796581314416, 0.04549162792741814, 0.044590558163756566,
    0.04358372452932345, 0.04247351512365359, 0.04126256324262353, 0.03995374113272034, 0.038550153178615626,
    0.03705512854024005, 0.035472213256882386, 0.033805161837141606, 0.03205792835485155, 0.030234657072402478,
    0.028339672614259483, 0.02637746971505466, 0.024352702568710874, 0.022270173808383253, 0.02013482315353021,
    0.017951715775697343, 0.015726030476024718, 0.013463047896718643, 0.011168139460131128,
    0.008846759826363947, 0.006504457968978363, 0.004147033260562468, 0.001783280721696433]

# the same for 32 points: exact to 1e-17 of max|M_j| for |theta| <= 12 (64 points are needed up to 24)
cdef double _GLX32[16]
cdef double _GLW32[16]
_GLX32[:] = [
    0.04830766568773832, 0.1444719615827965, 0.23928736225213706, 0.33186860228212767, 0.42135127613063533,
    0.5068999089322294, 0.5877157572407623, 0.6630442669302152, 0.7321821187402897, 0.7944837959679424,
    0.84936761373257, 0.8963211557660521, 0.9349060759377397, 0.9647622555875064, 0.9856115115452684,
    0.9972638618494816]
_GLW32[:] = [
    0.0965400885147278, 0.09563872007927486, 0.09384439908080457, 0.09117387869576389, 0.08765209300440381,
    0.08331192422694675, 0.07819389578707031, 0.0723457941088485, 0.06582222277636185, 0.058684093478535544,
    0.050998059262376175, 0.04283589802222668, 0.03427386291302143, 0.02539206530926206, 0.01627439473090567,
    0.007018610009470096]


def _init_tables():
    cdef int i, j, k
    for i in range(100):
        _COS100[i] = np.cos(np.pi * i / 50.0)
    _COS100[25] = _COS100[75] = 0.0  # the middle node is t = 0 exactly (np.cos(pi/2) is 6e-17)
    for j in range(25):
        for k in range(13):
            _DCT[j][k] = _COS100[(j * (2 * k + 1)) % 100]


_init_tables()


# ---------------------------------------------------------------- nodes and coefficients

cdef void cheb_nodes(double a, double b, double* x) noexcept nogil:
    cdef double centre = 0.5 * (a + b), half = 0.5 * (b - a)
    cdef int k
    for k in range(CHEB_N):
        x[k] = centre + half * _COS100[2 * k + 1]


cdef int cheb_coeffs(const double* fv, double* c) noexcept nogil:
    # nodes k and 24 - k are mirror images, node 12 is t = 0: fold into even and odd parts (half the work)
    cdef double fe[13]
    cdef double fo[12]
    cdef int j, k
    cdef double s
    for k in range(CHEB_N):
        if not isfinite(fv[k]):
            return MOM_NONFINITE
    for k in range(12):
        fe[k] = fv[k] + fv[24 - k]
        fo[k] = fv[k] - fv[24 - k]
    fe[12] = fv[12]
    for j in range(0, CHEB_N, 2):
        s = 0.0
        for k in range(13):
            s += fe[k] * _DCT[j][k]
        c[j] = s * (2.0 / CHEB_N)
    for j in range(1, CHEB_N, 2):
        s = 0.0
        for k in range(12):
            s += fo[k] * _DCT[j][k]
        c[j] = s * (2.0 / CHEB_N)
    c[0] *= 0.5
    return MOM_OK


cdef double weight_value(int kind, const double* wpar, double x) noexcept nogil:
    # cos/sin of omega x with the product's rounding put back (fma gives it exactly): at omega x = 1e3 a half-ulp of
    # phase is 1e-13, which a Fourier integral of size 1e-4 (e^-x cos(100 x) on [0, inf)) does notice
    cdef double w, p, low
    if kind == WEIGHT_COS or kind == WEIGHT_SIN:
        p = wpar[0] * x
        low = fma(wpar[0], x, -p)
        if kind == WEIGHT_COS:
            return cos(p) if low == 0.0 else cos(p) - low * sin(p)
        return sin(p) if low == 0.0 else sin(p) + low * cos(p)
    if kind == WEIGHT_CAUCHY:
        return 1.0 / (x - wpar[0])
    if WEIGHT_ALG <= kind <= WEIGHT_ALG_LOG:
        w = pow(x - wpar[2], wpar[0]) * pow(wpar[3] - x, wpar[1])
        if kind == WEIGHT_ALG_LOGA or kind == WEIGHT_ALG_LOG:
            w *= log(x - wpar[2])
        if kind == WEIGHT_ALG_LOGB or kind == WEIGHT_ALG_LOG:
            w *= log(wpar[3] - x)
        return w
    return 1.0


cdef bint use_cheb_panel(int kind, const double* wpar, double a, double b) noexcept nogil:
    if kind == WEIGHT_COS or kind == WEIGHT_SIN:
        return fabs(wpar[0]) * 0.5 * (b - a) > 2.0
    if kind == WEIGHT_CAUCHY:
        return fabs((2.0 * wpar[0] - a - b) / (b - a)) < 1.1
    if WEIGHT_ALG <= kind <= WEIGHT_ALG_LOG:
        return a == wpar[2] or b == wpar[3]
    return False


# ---------------------------------------------------------------- moments

cdef inline double _int_cheb(int m) noexcept nogil:
    """int_{-1}^{1} T_m(t) dt."""
    return 0.0 if m % 2 else 2.0 / (1.0 - <double>m * m)


cdef void trig_moments(double theta, double* re, double* im) noexcept nogil:
    # M_j is real for even j and imaginary for odd j (T_j has j's parity)
    cdef int i, j, n, nodes
    cdef double t, w, cw, sw, tm, tj, tp, s2, c2, bracket
    cdef const double* gx
    cdef const double* gw
    for j in range(MOMENTS_N):
        re[j] = im[j] = 0.0
    if fabs(theta) <= 24.0:
        # half the nodes (and cost) where 32 points suffice
        nodes = 16 if fabs(theta) <= 12.0 else 32
        if nodes == 16:
            gx = &_GLX32[0]
            gw = &_GLW32[0]
        else:
            gx = &_GLX[0]
            gw = &_GLW[0]
        for i in range(nodes):
            t = gx[i]
            w = 2.0 * gw[i]
            cw = w * cos(theta * t)
            sw = w * sin(theta * t)
            tm = 1.0
            tj = t
            re[0] += cw
            im[1] += sw * t
            for j in range(2, MOMENTS_N):
                tp = 2.0 * t * tj - tm
                tm = tj
                tj = tp
                if j % 2 == 0:
                    re[j] += cw * tj
                else:
                    im[j] += sw * tj
        return
    s2 = 2.0 * sin(theta)
    c2 = 2.0 * cos(theta)
    re[0] = s2 / theta
    im[1] = -(c2 - re[0]) / theta
    for n in range(1, MOMENTS_N - 1):
        if n % 2 == 1:
            bracket = s2 / (n + 1) - 2.0 * im[n]
            if n > 1:
                bracket -= (s2 - theta * re[n - 1]) / (n - 1)
            re[n + 1] = (n + 1) * bracket / theta
        else:
            bracket = c2 / (n + 1) - 2.0 * re[n] - (c2 + theta * im[n - 1]) / (n - 1)
            im[n + 1] = -(n + 1) * bracket / theta


cdef void cauchy_moments(double u, double* v) noexcept nogil:
    cdef double au = fabs(u), v0
    # log|(1 - u)/(1 + u)|: atanh has no cancellation near u = 0 (log near 1 would)
    if au < 1.0:
        v0 = -2.0 * atanh(u)
    else:
        v0 = log((au - 1.0) / (au + 1.0)) if u > 0.0 else -log((au - 1.0) / (au + 1.0))
    _cauchy_moments(u, v0, v)


cdef void _cauchy_moments(double u, double v0, double* v) noexcept nogil:
    """cauchy_moments with v_0 = log|(1 - u)/(1 + u)| given: the panel has it from (b - c)/(c - a) directly, which u
    near +-1 would lose (1 - u has only the digits u leaves)."""
    cdef int j, k, kmax
    cdef double d, au = fabs(u), root, rho, q, term, inv_root
    if au > 1.0:
        root = sqrt((au - 1.0) * (au + 1.0))
        rho = au + root
    if au < 1.0 or rho <= 1.1225:
        # forward: the solutions of the homogeneous recurrence grow like rho^j, at most 16 times at j = 24 here
        v[0] = v0
        v[1] = 2.0 + u * v[0]
        for j in range(1, MOMENTS_N - 1):
            d = 0.0 if j % 2 else 4.0 / (1.0 - j * j)
            v[j + 1] = 2.0 * u * v[j] - v[j - 1] + d
        return
    # c outside the interval: 1/(t - u) = -sgn(u) (2/root) sum' (sgn(u)/rho)^k T_k(t), and
    # int T_j T_k = (int T_{j+k} + int T_{|j-k|}) / 2: no growing solution to amplify rounding
    kmax = <int>(37.0 / log(rho)) + 1  # (1/rho)^kmax < 1e-16
    inv_root = (-2.0 if u > 0.0 else 2.0) / root
    for j in range(MOMENTS_N):
        v[j] = 0.5 * _int_cheb(j)
    q = 1.0
    for k in range(1, kmax + 1):
        q /= rho if u > 0.0 else -rho
        for j in range(MOMENTS_N):
            v[j] += q * 0.5 * (_int_cheb(j + k) + _int_cheb(abs(j - k)))
    for j in range(MOMENTS_N):
        v[j] *= inv_root


cdef void jacobi_moments(double alpha, double* r, double* g) noexcept nogil:
    # n (n + alpha + 1)... : (n - 1)(n + alpha + 1) r_n = -(2^(alpha+1) + n (n - alpha - 2) r_{n-1}) (DQMOMO),
    # and its derivative in alpha for g_n
    cdef double ralf = pow(2.0, alpha + 1.0), ap1 = alpha + 1.0, den
    cdef int n
    r[0] = ralf / ap1
    g[0] = r[0] * (M_LN2 - 1.0 / ap1)
    r[1] = r[0] * alpha / (alpha + 2.0)
    g[1] = g[0] * alpha / (alpha + 2.0) + r[0] * 2.0 / ((alpha + 2.0) * (alpha + 2.0))
    for n in range(2, MOMENTS_N):
        den = (n - 1.0) * (n + ap1)
        r[n] = -(ralf + n * (n - alpha - 2.0) * r[n - 1]) / den
        g[n] = -(ralf * M_LN2 + n * (n - alpha - 2.0) * g[n - 1] - n * r[n - 1] + (n - 1.0) * r[n]) / den


cdef void jacobi_moments_all(const double* wpar, double* mom) noexcept nogil:
    jacobi_moments(wpar[0], mom, mom + MOMENTS_N)
    jacobi_moments(wpar[1], mom + 2 * MOMENTS_N, mom + 3 * MOMENTS_N)


# ---------------------------------------------------------------- panels

cdef int _cheb_sum(const double* fv, const double* mu, double phase_rounding, double ea, double wa, double eb,
                   double wb, double* result, double* abserr, double* resabs, double* resasc) noexcept nogil:
    """sum_j c_j mu_j for the Chebyshev coefficients c of fv, and its error estimate.

    The error of the degree-24 interpolant's integral is sum_{k >= 25} c_k (mu_k + mu_{50-k}) (on 25 first-kind
    points T_{50-k} equals -T_k, T_25 vanishes): the unseen coefficients times moments of every degree, the low
    ones included. Truncating the sum at degree 12 (QUADPACK's |I_25 - I_13|) weighs the tail by the high moments
    only and missed errors 2-3 times its size where the moments fall with the degree (|x - x0|^p, theta < 24),
    and is 1e7 times too large where the coefficients decay fast. So:

    * the last coefficients at rounding (max |c_21..24| <= 8 eps max |c|): rounding only;
    * geometric decay observed (max |c_21..24| < 0.24 max |c_17..20|, i.e. a ratio q < 0.7 per degree):
      2 t1 sum_i q^(i+1) (|mu_{24-i}| + |mu_24|), t1 = max |c_21..24| standing for the first unseen coefficient
      (the factor 2 and the max over four coefficients are the margin; an algebraic decay this steep,
      k^-6.7, is still bounded);
    * otherwise (not resolved): 8 max|mu| sum_{k=13}^{24} |c_k|.

    Floors: rounding of the sum (50 eps sum|c_j mu_j|), of the coefficients (2 eps max|c| sum|mu_j|) and
    `phase_rounding` * sum|c_j mu_j| (the trig panel's second-order theta remainder; the phase rounding itself is
    corrected there). Measured on 420 panels (smooth, near-pole,
    |x - x0|^p, end singularities; cos/sin theta 2.5..1e3, Cauchy, Jacobi alpha -0.999..2.5) against mpmath: never
    below the true error; median estimate/true 3e2 where geometric, vs QUADPACK-style truncation 11 below and
    p90 2e7 (see tests/test_moments.py).

    The panel's interval is [m - h, m + h] with m, h rounded: its ends miss a and b by ea = (m - h) - a and
    eb = (m + h) - b (a few ulps). Where the integral is much smaller than int |f w| (omega = 1e6: 1e-6) that
    alone was 1e-10 relative; it is put back to first order, ea p(-1) wa - eb p(1) wb, with wa, wb the weight at
    a and b and p the interpolant.

    resabs = sum_j |c_j mu_j| (the scale rounding sees; an upper bound of |result|), resasc = the same without j = 0."""
    cdef double c[25]
    cdef double total = 0.0, sabs = 0.0, sasc = 0.0, term, cmax = 0.0, mmax = 0.0, msum = 0.0
    cdef double t1 = 0.0, t2 = 0.0, tail = 0.0, err, floor, q, qi, w, pa, pb
    cdef int j, i, code = cheb_coeffs(fv, c)
    if code != MOM_OK:
        return code
    for j in range(CHEB_N):
        term = c[j] * mu[j]
        total += term
        sabs += fabs(term)
        if j >= 1:
            sasc += fabs(term)
        cmax = max(cmax, fabs(c[j]))
        mmax = max(mmax, fabs(mu[j]))
        msum += fabs(mu[j])
        if j >= 13:
            tail += fabs(c[j])
        if j >= 21:
            t1 = max(t1, fabs(c[j]))
        elif j >= 17:
            t2 = max(t2, fabs(c[j]))
    if ea != 0.0 or eb != 0.0:
        pa = pb = 0.0
        for j in range(CHEB_N):
            pb += c[j]
            pa += -c[j] if j % 2 else c[j]
        total += ea * pa * wa - eb * pb * wb
    floor = 50.0 * EPMACH * sabs + 2.0 * EPMACH * cmax * msum + phase_rounding * sabs
    floor += 2.0 * tail * (fabs(ea * wa) + fabs(eb * wb))
    if t1 <= 8.0 * EPMACH * cmax:
        err = 0.0
    elif t1 < 0.24 * t2:
        q = sqrt(sqrt(t1 / t2))
        w = 0.0
        qi = 1.0
        for i in range(24):
            qi *= q
            w += qi * (fabs(mu[24 - i]) + fabs(mu[24]))
        err = 2.0 * t1 * w
    else:
        err = 8.0 * mmax * tail
    result[0] = total
    abserr[0] = max(err, floor)
    resabs[0] = sabs
    resasc[0] = sasc
    if not (isfinite(total) and isfinite(abserr[0]) and isfinite(sabs)):
        return MOM_OVERFLOW
    return MOM_OK


cdef inline void _end_mismatch(double a, double b, double* ea, double* eb) noexcept nogil:
    """(m - h) - a and (m + h) - b for m, h as cheb_nodes rounds them, without rounding (two_sum, then Sterbenz)."""
    cdef double half = 0.5 * (b - a), centre = 0.5 * (a + b)
    cdef dd lo = two_sum(centre, -half), hi = two_sum(centre, half)
    ea[0] = (lo.hi - a) + lo.lo
    eb[0] = (hi.hi - b) + hi.lo


cdef int trig_panel(double a, double b, int kind, double omega, const double* mre, const double* mim,
                    const double* fv, double* result, double* abserr, double* resabs,
                    double* resasc) noexcept nogil:
    return trig_panel_at(a, b, kind, omega, omega * (0.5 * (b - a)), mre, mim, fv, result, abserr, resabs, resasc)


cdef int trig_panel_at(double a, double b, int kind, double omega, double theta_m, const double* mre,
                       const double* mim, const double* fv, double* result, double* abserr, double* resabs,
                       double* resasc) noexcept nogil:
    # int_a^b f cos|sin(omega x) = h Re|Im(exp(i omega m) sum_j c_j M_j(omega h)). omega m is a rounded product and
    # the moments are those of theta_m, not of omega h (the product's rounding; a cached level's h0 / 2^k for an h
    # that midpoint rounding moved): at omega m = 1e6 a half-ulp of phase alone is 1e-10 relative. fma gives both
    # differences, and both are put back to first order: the phase by the angle-sum formula, theta by
    # dM_j/dtheta = i int t T_j exp(i theta t) = i (M_{j+1} + M_{j-1})/2 (M_25 ~ M_23: only c_24 sees it); the
    # second-order remainder, dtheta^2 |M''| <= dtheta^2 |M|-sized, goes into the floor.
    cdef double mu[25]
    cdef double half = 0.5 * (b - a), centre = 0.5 * (a + b)
    cdef double phi = omega * centre, dphi = fma(omega, centre, -phi)
    cdef double dtheta = fma(omega, half, -theta_m)
    cdef double cp, sp, re, im, cph = cos(phi), sph = sin(phi)
    cdef double ea, eb, wa, wb
    cdef int j, jp, jm
    _end_mismatch(a, b, &ea, &eb)
    wa = wb = 0.0
    if ea != 0.0:
        wa = cos(omega * a) if kind == WEIGHT_COS else sin(omega * a)
    if eb != 0.0:
        wb = cos(omega * b) if kind == WEIGHT_COS else sin(omega * b)
    cp = (cph - dphi * sph) * half
    sp = (sph + dphi * cph) * half
    for j in range(MOMENTS_N):
        jp = j + 1 if j < MOMENTS_N - 1 else j - 1
        jm = j - 1 if j > 0 else 1
        if j == 0:
            re = mre[0] - dtheta * mim[1]
            im = mim[0] + dtheta * mre[1]
        else:
            re = mre[j] - 0.5 * dtheta * (mim[jp] + mim[jm])
            im = mim[j] + 0.5 * dtheta * (mre[jp] + mre[jm])
        if kind == WEIGHT_COS:
            mu[j] = cp * re - sp * im
        else:
            mu[j] = sp * re + cp * im
    return _cheb_sum(fv, mu, dtheta * dtheta, ea, wa, eb, wb, result, abserr, resabs, resasc)


cdef int cauchy_panel(double a, double b, double c, const double* fv, double* result, double* abserr,
                      double* resabs, double* resasc) noexcept nogil:
    cdef double v[25]
    cdef double ea, eb
    _end_mismatch(a, b, &ea, &eb)
    _cauchy_moments(2.0 * (c - 0.5 * (a + b)) / (b - a), log(fabs((b - c) / (c - a))), v)
    return _cheb_sum(fv, v, 0.0, ea, 1.0 / (a - c), eb, 1.0 / (b - c), result, abserr, resabs, resasc)


cdef int jacobi_panel(double a, double b, int kind, const double* wpar, const double* mom, const double* fv,
                      double* result, double* abserr, double* resabs, double* resasc) noexcept nogil:
    cdef double mu[25]
    cdef double F[25]
    cdef double x[25]
    cdef double half = 0.5 * (b - a), lh = log(0.5 * (b - a)), scale, sign
    cdef double alpha = wpar[0], beta = wpar[1], lo = wpar[2], hi = wpar[3]
    cdef bint left = a == lo, logs_here, logs_there
    cdef const double* r
    cdef const double* g
    cdef int j, k, code
    if left == (b == hi):
        # neither end (the engine's GK15 panel's job) or both (not a one-sided Jacobi weight): refuse
        result[0] = abserr[0] = resabs[0] = resasc[0] = NAN
        return MOM_OVERFLOW
    for k in range(CHEB_N):
        if not isfinite(fv[k]):
            return MOM_NONFINITE
    cheb_nodes(a, b, x)
    if left:
        logs_here = kind == WEIGHT_ALG_LOGA or kind == WEIGHT_ALG_LOG
        logs_there = kind == WEIGHT_ALG_LOGB or kind == WEIGHT_ALG_LOG
        r = mom
        g = mom + MOMENTS_N
        scale = pow(half, alpha + 1.0)
        for k in range(CHEB_N):
            F[k] = fv[k] * pow(hi - x[k], beta)
            if logs_there:
                F[k] *= log(hi - x[k])
    else:
        logs_here = kind == WEIGHT_ALG_LOGB or kind == WEIGHT_ALG_LOG
        logs_there = kind == WEIGHT_ALG_LOGA or kind == WEIGHT_ALG_LOG
        r = mom + 2 * MOMENTS_N
        g = mom + 3 * MOMENTS_N
        scale = pow(half, beta + 1.0)
        for k in range(CHEB_N):
            F[k] = fv[k] * pow(x[k] - lo, alpha)
            if logs_there:
                F[k] *= log(x[k] - lo)
    for j in range(MOMENTS_N):
        sign = 1.0 if (left or j % 2 == 0) else -1.0
        if logs_here:
            mu[j] = sign * scale * (lh * r[j] + g[j])
        else:
            mu[j] = sign * scale * r[j]
    # the end mismatch is relative eps |lo| / h here (no cancellation to magnify it): not corrected.
    # f was finite: a non-finite F is the other end's factor overflowing
    code = _cheb_sum(F, mu, 0.0, 0.0, 0.0, 0.0, 0.0, result, abserr, resabs, resasc)
    return MOM_OVERFLOW if code == MOM_NONFINITE else code


cdef int weighted_panel(double a, double b, int kind, const double* wpar, const double* mom, const double* fv,
                        double* result, double* abserr, double* resabs, double* resasc) noexcept nogil:
    cdef double tmp[100]
    if kind == WEIGHT_COS or kind == WEIGHT_SIN:
        if mom == NULL:
            trig_moments(wpar[0] * 0.5 * (b - a), tmp, tmp + MOMENTS_N)
            mom = tmp
        return trig_panel(a, b, kind, wpar[0], mom, mom + MOMENTS_N, fv, result, abserr, resabs, resasc)
    if kind == WEIGHT_CAUCHY:
        return cauchy_panel(a, b, wpar[0], fv, result, abserr, resabs, resasc)
    if WEIGHT_ALG <= kind <= WEIGHT_ALG_LOG:
        if mom == NULL:
            jacobi_moments_all(wpar, tmp)
            mom = tmp
        return jacobi_panel(a, b, kind, wpar, mom, fv, result, abserr, resabs, resasc)
    result[0] = abserr[0] = resabs[0] = resasc[0] = NAN
    return MOM_OVERFLOW


# ---------------------------------------------------------------- Python access (tests and prototypes only)

WEIGHT_KINDS = {"cos": WEIGHT_COS, "sin": WEIGHT_SIN, "cauchy": WEIGHT_CAUCHY, "alg": WEIGHT_ALG,
                "alg-loga": WEIGHT_ALG_LOGA, "alg-logb": WEIGHT_ALG_LOGB, "alg-log": WEIGHT_ALG_LOG}


def py_cheb_nodes(double a, double b):
    """The 25 abscissae of `cheb_nodes` on [a, b] (k = 0 nearest b), as an array."""
    out = np.empty(CHEB_N)
    cdef double[::1] o = out
    cheb_nodes(a, b, &o[0])
    return out


def py_cheb_coeffs(fv):
    """Chebyshev coefficients c_0..c_24 of the interpolant through 25 values at `py_cheb_nodes` (`cheb_coeffs`).

    Returns (status, c): status 0, or 7 when a value is not finite."""
    cdef double[::1] f = np.ascontiguousarray(fv, dtype=float)
    if f.shape[0] != CHEB_N:
        raise ValueError(f"`fv` must have {CHEB_N} values, got {f.shape[0]}")
    out = np.zeros(CHEB_N)
    cdef double[::1] o = out
    cdef int code = cheb_coeffs(&f[0], &o[0])
    return code, out


def py_weight_value(int kind, wpar, double x):
    """`weight_value`: the weight of `kind` (WEIGHT_KINDS) with parameters `wpar` (4 values) at x."""
    cdef double[::1] p = np.ascontiguousarray(wpar, dtype=float)
    if p.shape[0] != 4:
        raise ValueError(f"`wpar` must have 4 values, got {p.shape[0]}")
    return weight_value(kind, &p[0], x)


def py_use_cheb_panel(int kind, wpar, double a, double b):
    """`use_cheb_panel`: whether [a, b] takes the 25-point Chebyshev panel for this weight."""
    cdef double[::1] p = np.ascontiguousarray(wpar, dtype=float)
    if p.shape[0] != 4:
        raise ValueError(f"`wpar` must have 4 values, got {p.shape[0]}")
    return bool(use_cheb_panel(kind, &p[0], a, b))


def py_trig_moments(double theta):
    """`trig_moments`: M_j(theta) = int_{-1}^{1} T_j(t) exp(i theta t) dt, j = 0..24, as a complex array."""
    re = np.empty(MOMENTS_N)
    im = np.empty(MOMENTS_N)
    cdef double[::1] r = re, i = im
    trig_moments(theta, &r[0], &i[0])
    return re + 1j * im


def py_cauchy_moments(double u):
    """`cauchy_moments`: v_j(u) = PV int_{-1}^{1} T_j(t)/(t - u) dt, j = 0..24 (|u| < 1.1, u != +-1)."""
    out = np.empty(MOMENTS_N)
    cdef double[::1] o = out
    cauchy_moments(u, &o[0])
    return out


def py_jacobi_moments(double alpha):
    """`jacobi_moments`: (r, g), r_j = int (1+t)^alpha T_j dt, g_j = int (1+t)^alpha log(1+t) T_j dt on [-1, 1]."""
    r = np.empty(MOMENTS_N)
    g = np.empty(MOMENTS_N)
    cdef double[::1] rv = r, gv = g
    jacobi_moments(alpha, &rv[0], &gv[0])
    return r, g


def py_trig_panel_at(double a, double b, int kind, double omega, double theta_m, fv):
    """`trig_panel_at` with the moments computed here at theta_m -> (status, result, abserr, resabs, resasc)."""
    cdef double[::1] f = np.ascontiguousarray(fv, dtype=float)
    cdef double re[25]
    cdef double im[25]
    cdef double result = 0.0, abserr = 0.0, resabs = 0.0, resasc = 0.0
    if f.shape[0] != CHEB_N:
        raise ValueError(f"`fv` must have {CHEB_N} values, got {f.shape[0]}")
    trig_moments(theta_m, re, im)
    cdef int code = trig_panel_at(a, b, kind, omega, theta_m, re, im, &f[0], &result, &abserr, &resabs, &resasc)
    return code, result, abserr, resabs, resasc


def py_jacobi_moments_all(wpar):
    """`jacobi_moments_all`: the 100 QAWS moments of wpar = (alpha, beta, lo, hi): r(alpha), g(alpha), r(beta), g(beta)."""
    cdef double[::1] p = np.ascontiguousarray(wpar, dtype=float)
    if p.shape[0] != 4:
        raise ValueError(f"`wpar` must have 4 values, got {p.shape[0]}")
    out = np.empty(4 * MOMENTS_N)
    cdef double[::1] o = out
    jacobi_moments_all(&p[0], &o[0])
    return out


def py_weighted_panel(double a, double b, int kind, wpar, fv, mom=None):
    """`weighted_panel`: f's 25 values `fv` at `py_cheb_nodes(a, b)` -> (status, result, abserr, resabs, resasc) of
    the weighted integral over [a, b]. `mom`: the precomputed moments as the engine passes them (cos/sin: 50 values,
    the real then imaginary parts of `py_trig_moments(omega * (0.5 * (b - a)))`; alg*: `py_jacobi_moments_all`),
    or None to have the panel compute them."""
    cdef double[::1] p = np.ascontiguousarray(wpar, dtype=float)
    cdef double[::1] f = np.ascontiguousarray(fv, dtype=float)
    cdef double[::1] mv
    cdef const double* mp = NULL
    cdef double result = 0.0, abserr = 0.0, resabs = 0.0, resasc = 0.0
    if p.shape[0] != 4:
        raise ValueError(f"`wpar` must have 4 values, got {p.shape[0]}")
    if f.shape[0] != CHEB_N:
        raise ValueError(f"`fv` must have {CHEB_N} values, got {f.shape[0]}")
    if mom is not None:
        mv = np.ascontiguousarray(mom, dtype=float)
        if mv.shape[0] < 4 * MOMENTS_N:
            # the kernel reads up to 100 values whatever the kind: pad rather than read past the end
            mv = np.concatenate([np.asarray(mv), np.zeros(4 * MOMENTS_N - mv.shape[0])])
        mp = &mv[0]
    cdef int code = weighted_panel(a, b, kind, &p[0], mp, &f[0], &result, &abserr, &resabs, &resasc)
    return code, result, abserr, resabs, resasc
