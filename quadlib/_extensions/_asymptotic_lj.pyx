# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Kernels for Gauss-Legendre and Gauss-Jacobi rules of any size in O(n): asymptotic expansions, O(1) per node.

Design: scalar kernels (Bessel-zero data, Hahn's sum, the hypergeometric sum, the envelope) -> one loop per end
of [-1, 1] that writes nodes and weights straight into the caller's arrays (``legendre``, ``jacobi_side``).
No validation here: ``quadlib._gauss_lj`` checks arguments, supplies the constants (computed once, in mpmath)
and raises on a nonzero status. Nodes come out in increasing order.

Legendre (``legendre``), after Bogaert (2014): with v = 1/(n + 1/2), j_k the k-th zero of J_0 and a_k = j_k v,
the k-th node from x = 1 is theta_k = a_k + v^2 F1(a_k) + v^4 F2(a_k) + v^6 F3(a_k) + O(v^8) and its weight
w_k = pi v sin(a_k) m_k / (1 + v^2 W1(a_k) + v^4 W2 + v^6 W3 + O(v^8)), m_k = 2 / (pi j_k J_1(j_k)^2), with
Bogaert's closed forms for F_i and W_i. The weight is written so that J_1(j_k)^2 enters only through the small
number m_k - 1 (tabulated for k <= 40, from the modulus expansion DLMF 10.18.17 beyond). No iteration at all;
a_k is carried in double-double, so cos(theta_k) and sin(a_k) see the exact argument.

Jacobi (``jacobi_side``), after Hale & Townsend (2013), for P_n^(a,b)(cos theta) seen from theta = 0 (the end
x = -1 is the same problem with a and b swapped):
- interior (z = rho theta >= z_b, rho = n + (a+b+1)/2): Hahn's expansion (DLMF 18.15.6) of
  u(theta) = sin(theta/2)^(a+1/2) cos(theta/2)^(b+1/2) P_n(cos theta) / (its constant prefactor), written as
  u = Re(E S) with E = exp(i (rho theta - (a+1/2) pi/2)) and S = sum_m (1 + i tan(theta/2))^m P_m(r),
  r = 1 / (2 rho tan(theta/2)), P_m a polynomial of degree m, summed until the terms fall below 1e-19
  relative (4 or 5 terms deep inside at n = 10^5, up to ~40 at z_b). S = |S| e^(i g) is smooth and close to
  1, so u = |S| cos(psi) with the non-oscillatory phase psi = rho theta - (a+1/2) pi/2 + g, and the k-th zero
  solves rho theta + g(theta) = (k + a/2 - 1/4) pi: Newton's method on that equation (g' = Im(S'/S)),
  from Gatteschi and Pittaluga's approximation, needs one evaluation of S per node deep inside and two or
  three near z_b, and never a cosine of the large phase. The right-hand side is formed in double-double,
  so the zero comes out in double-double, to a small fraction of an ulp.
  Weight: with |u'| = |S| psi' at the zero, w = (C / rho^2) sin(theta/2)^(2a+1) cos(theta/2)^(2b+1) /
  (|S|^2 (psi'/rho)^2), the last factor 1 + (small) summed from the small parts; the envelope is evaluated at
  the double-double node (sin and cos of theta/2 by Taylor series with leading terms in double-double,
  exponents 2a+1 split in double-double too), because its relative sensitivity to theta is (2a+1)/theta:
  a node rounded to double would cost up to 2a+1 ulps.
- boundary (z < z_b: a few zeros, about 3 to 8): the hypergeometric series P_n(x) / P_n(1) =
  2F1(-n, n+a+b+1; a+1; t), t = (1-x)/2 (DLMF 18.5.7), summed in double-double (its terms cancel by at most
  about e^z_b / 2 < 1e12, far below the 32 digits), zeros bracketed on a grid in z and polished by
  safeguarded Newton in t. Weight: w = C_b / (t (1-t) F'(t)^2), all in double-double.
Gauss-Radau and Gauss-Lobatto interior weights are Gauss-Jacobi weights for shifted parameters divided by
(1-x) and/or (1+x); the kernels take that as a shift of the envelope exponents (``shift_a``, ``shift_b``).

References
----------
I. Bogaert, "Iteration-free computation of Gauss-Legendre quadrature nodes and weights", SIAM J. Sci.
Comput. 36(3) (2014), A1008-A1026.
N. Hale and A. Townsend, "Fast and accurate computation of Gauss-Legendre and Gauss-Jacobi quadrature nodes
and weights", SIAM J. Sci. Comput. 35(2) (2013), A652-A674.
L. Gatteschi and G. Pittaluga, "An asymptotic expansion for the zeros of Jacobi polynomials", in Mathematical
Analysis, Teubner-Texte Math. 79 (1985) (the starting guesses).
NIST Digital Library of Mathematical Functions: 18.15.6 (Hahn's expansion), 18.5.7 (Jacobi as 2F1), 10.21.19
(McMahon's expansion of Bessel zeros), 10.18.17 (the Bessel modulus).
"""
from libc.math cimport sin, cos, sqrt, pow, frexp, fabs, asin, atan2, M_PI

from quadlib._extensions._ddouble cimport (
    dd, dd_new, two_sum, two_prod, dd_add, dd_add_d, dd_sub, dd_mul, dd_mul_d, dd_div,
)

cdef double PI_HI = 3.141592653589793
cdef double PI_LO = 1.2246467991473532e-16
cdef dd SIXTH = dd_new(0.16666666666666666, 9.251858538542971e-18)


# ---------------------------------------------------------------- Legendre

# (j_{0,k} as hi + lo, m_k - 1 with m_k = 2 / (pi j_{0,k} J_1(j_{0,k})^2)) for k = 1..40, from mpmath at 50 digits
_BESSEL_TABLE = [
    (2.404825557695773, -1.176691651530894e-16, -0.01776588327814875),
    (5.520078110286311, 8.088597146146722e-17, -0.0039048287561221423),
    (8.653727912911013, -2.92812607320779e-16, -0.001633877917644238),
    (11.791534439014281, 2.812956912778735e-16, -0.0008884895192972263),
    (14.930917708487787, -7.070514505983074e-16, -0.0005565587546774232),
    (18.071063967910924, -9.658048089426209e-16, -0.0003808267178820361),
    (21.21163662987926, 4.947077428784068e-16, -0.0002767886264501215),
    (24.352471530749302, 9.169067133951066e-16, -0.0002101827516884854),
    (27.493479132040253, 1.6191941793302084e-15, -0.00016500100289774003),
    (30.634606468431976, -5.390359852115135e-16, -0.0001329560417119063),
    (33.77582021357357, 1.454224241250595e-15, -0.00010941030358974721),
    (36.917098353664045, -9.276489358569364e-16, -9.16049334304147e-05),
    (40.05842576462824, -2.6782651477149736e-16, -7.781561974528562e-05),
    (43.19979171317673, 8.55713303876733e-16, -6.691984352528806e-05),
    (46.341188371661815, -9.07797413846536e-16, -5.816143366596394e-05),
    (49.482609897397815, 2.382582551864974e-15, -5.1015956922927174e-05),
    (52.624051841115, -1.7558469541662502e-15, -4.511045608918474e-05),
    (55.76551075501998, -2.2474605782970157e-15, -4.0173836544338314e-05),
    (58.90698392608094, 1.8824761533828545e-15, -3.600522284376671e-05),
    (62.048469190227166, 3.5462261037501757e-15, -3.2453215202382765e-05),
    (65.18996480020687, -5.461873855822896e-15, -2.9401957482975838e-05),
    (68.3314693298568, -3.3933989376620325e-15, -2.676157573736949e-05),
    (71.47298160359374, -4.706746819114939e-15, -2.4461487979564585e-05),
    (74.61450064370183, 6.888551420729803e-15, -2.2445640576583743e-05),
    (77.75602563038805, 2.8877288913457725e-15, -2.0669062373951068e-05),
    (80.89755587113763, 1.2818595160472018e-15, -1.909533588509894e-05),
    (84.0390907769382, -5.246120359886215e-15, -1.7694716886137076e-05),
    (87.18062984364116, -2.988671082559626e-15, -1.6442719156936255e-05),
    (90.32217263721049, -5.335106266169793e-15, -1.5319037380419564e-05),
    (93.46371878194478, -3.2760886018946086e-15, -1.4306718921046851e-05),
    (96.60526795099626, 4.374792211855971e-15, -1.3391520869878922e-05),
    (99.7468198586806, 1.0538352759948803e-15, -1.256140646633807e-05),
    (102.8883742541948, -6.386566600790279e-15, -1.1806147408701224e-05),
    (106.02993091645162, -3.317345989748548e-15, -1.1117007352226931e-05),
    (109.17148964980538, 3.156801612233754e-15, -1.0486488191797281e-05),
    (112.3130502804949, 3.608337008909888e-15, -9.908125289082591e-06),
    (115.45461265366694, -2.2956846125801694e-15, -9.376321144038015e-06),
    (118.59617663087253, -2.7586630945145657e-15, -8.886209478319759e-06),
    (121.73774208795096, 1.1038676047146455e-16, -8.433543538021614e-06),
    (124.87930891323295, -9.750739573078885e-16, -8.014603806378194e-06),
]
cdef enum:
    NTAB = 40
cdef double J0_HI[NTAB]
cdef double J0_LO[NTAB]
cdef double MU_TAB[NTAB]
for _k, (_hi, _lo, _mu) in enumerate(_BESSEL_TABLE):
    J0_HI[_k] = _hi
    J0_LO[_k] = _lo
    MU_TAB[_k] = _mu


cdef inline double _legendre_node(double a, double d, double sa, double ca) noexcept nogil:
    """cos(a + d) for small d, from sin a and cos a; next to x = 1 (a < 1/4) as 1 - 2 sin^2(theta/2) with the
    sine in double-double, so that the node is within half an ulp of its double there too."""
    cdef dd theta, s, c, x
    if a >= 0.25:
        return ca * (1.0 - 0.5 * d * d) - sa * (d - d * d * d / 6.0)
    theta = two_sum(a, d)
    _half_angle(0.5 * theta.hi, &s, &c)
    x = dd_sub(dd_new(1.0, 0.0), dd_mul_d(dd_mul(s, s), 2.0))
    return x.hi + (x.lo - 2.0 * s.hi * c.hi * theta.lo)


def legendre(Py_ssize_t n, double[::1] x, double[::1] w):
    """Gauss-Legendre nodes and weights by Bogaert's expansions (meant for n >= 80).

    OUT: x, w (length n): nodes ascending, exactly symmetric, x = 0 exactly in the middle for odd n.
    The expansions stop after the v^6 (n < 1000), v^4 (n < 10^4) or v^2 terms; the first omitted term is
    then below 1e-19 relative (measured against mpmath).
    """
    cdef Py_ssize_t k, top = (n + 1) // 2
    cdef int order = 3 if n < 1000 else (2 if n < 10000 else 1)
    cdef double nh = n + 0.5
    cdef double v = 1.0 / nh
    cdef double v2 = v * v
    cdef dd pv = dd_div(dd_new(PI_HI, PI_LO), dd_new(nh, 0.0))
    cdef dd vd = dd_div(dd_new(1.0, 0.0), dd_new(nh, 0.0))
    # a_k = j_{0,k} v: tabulated zeros for k <= 40; beyond, McMahon's expansion (DLMF 10.21.19 with mu = 0)
    # j = b + 1/(8b) - 31/(384 b^3) + ..., b = (k - 1/4) pi, with b v = (k - 1/4) pi v accumulated in
    # double-double (no multiplication per node), and m_k - 1 from the modulus M_0^2 (DLMF 10.18.17) in
    # 1/j^2 = b^-2 (1 - b^-2/4 + 5 b^-4/24 + ...). Beyond k = 40 the omitted terms are below 1e-19 relative.
    cdef dd bv = dd_mul_d(pv, NTAB + 0.75)
    cdef dd al
    cdef double mu, a, sa, ca, u, u2, ai, ai2, ua, f, wb, d, xk, wk, eps, r, t, jj
    with nogil:
        for k in range(1, top + 1):
            if k <= NTAB:
                al = dd_mul(dd_new(J0_HI[k - 1], J0_LO[k - 1]), vd)
                mu = MU_TAB[k - 1]
            else:
                ai = 1.0 / ((k - 0.25) * PI_HI)
                ai2 = ai * ai
                al = dd_add_d(bv, v * ai * (0.125 + ai2 * (-31.0 / 384.0 + ai2 * (
                    3779.0 / 15360.0 + ai2 * (-6277237.0 / 3440640.0)))))
                bv = dd_add(bv, pv)
                jj = ai2 * (1.0 - ai2 * (0.25 - ai2 * (5.0 / 24.0)))
                mu = jj * (-0.125 + jj * (27.0 / 128.0 + jj * (-1125.0 / 1024.0 + jj * (1157625.0 / 98304.0))))
            a = al.hi
            sa = sin(a)
            ca = cos(a)
            # one division for cot(a) and 1/a: with r = 1/(a sin a) and t = a cos a - sin a,
            # 1/a = r sin a, cot a - 1/a = t r and (a cot a - 1)/a^2 = t r / a
            r = 1.0 / (a * sa)
            t = a * ca - sa
            ai = r * sa
            if order == 1:
                d = al.lo + v2 * (t * r / 8.0)
                xk = _legendre_node(a, d, sa, ca)
                wb = v2 * (1.0 + t * r * ai) / 8.0
                eps = (mu - wb) * (1.0 - wb)    # wb < 1e-9 here
                wk = pv.hi * (sa + (ca * al.lo + sa * eps)) + pv.lo * sa
                x[n - k] = xk
                w[n - k] = wk
                x[k - 1] = -xk
                w[k - 1] = wk
                continue
            u = ca * a * r
            u2 = u * u
            ai2 = ai * ai
            ua = u * a
            # theta - a = v^2 F1 + v^4 F2 + v^6 F3, and the weight's denominator 1 + v^2 W1 + v^4 W2 + v^6 W3,
            # Bogaert (2014), Sec. 3, in u = cot(a) and 1/a (the 1/a powers cancel to O(1) as a -> 0, but
            # they are multiplied by v^(2i) = (a / j_k)^(2i), so the cancellation costs nothing)
            f = 0.0
            wb = 0.0
            if order >= 3:
                f = (u * (2595.0 + u2 * (6350.0 + 3779.0 * u2)) / 15360.0
                     + (1.0 + u2) * (-(11.0 + 31.0 * u2) / 1024.0 * ai + u / 512.0 * ai2
                                     - 25.0 / 3072.0 * ai2 * ai)
                     - 1073.0 / 5120.0 * ai2 * ai2 * ai)
                wb = (153.0 / 1024.0 + u2 * (295.0 / 256.0 + u2 * (187.0 / 96.0 + u2 * 151.0 / 160.0))
                      + ai * (-u * (65.0 / 1024.0 + u2 * (119.0 / 768.0 + u2 * 35.0 / 384.0))
                              + ai * (5.0 / 512.0 + u2 * (15.0 / 512.0 + u2 * 7.0 / 384.0)
                                      + ai * (u * (u2 / 512.0 - 13.0 / 1536.0)
                                              + ai * (53.0 / 3072.0 - 7.0 / 384.0 * u2
                                                      + ai * (3749.0 / 15360.0 * u - 1125.0 / 1024.0 * ai))))))
            if order >= 2:
                f = (6.0 * (1.0 + u2) * ai + 25.0 * ai2 * ai - u * (33.0 + 31.0 * u2)) / 384.0 + v2 * f
                wb = ((-27.0 - u2 * (84.0 + 56.0 * u2))
                      + ai2 * ((-3.0 + 6.0 * u2 + 6.0 * ua) + ai2 * (81.0 - 31.0 * ua))) / 384.0 + v2 * wb
            f = (u - ai) / 8.0 + v2 * f
            wb = (1.0 + (ua - 1.0) * ai2) / 8.0 + v2 * wb
            d = al.lo + v2 * f                      # theta = a_hi + d with |d| < 1e-4
            xk = _legendre_node(a, d, sa, ca)
            wb = v2 * wb
            eps = (mu - wb) / (1.0 + wb)            # m_k / (1 + wb) - 1, small: one rounding in the weight
            wk = pv.hi * (sa + (ca * al.lo + sa * eps)) + pv.lo * sa
            x[n - k] = xk
            w[n - k] = wk
            x[k - 1] = -xk
            w[k - 1] = wk
        if n % 2:
            x[top - 1] = 0.0
    return 0


# ---------------------------------------------------------------- Jacobi: constants of one side

cdef struct Side:
    dd rho              # n + (a+b+1)/2
    double rho_hi, half_over_rho
    dd half_a           # a / 2
    const double* G     # Hahn's coefficients: row m (0 <= m < mmax) at offset m(m+1)/2, entries l = 0..m
    int mmax
    double ea, eb       # envelope exponents: 2a+1 and 2b+1, less 2 for each Radau/Lobatto shift ...
    double ea_lo, eb_lo # ... and what rounding them to double lost (s^(2a+1) needs the exact exponent)
    dd cw               # interior weight constant, divided by rho^2


cdef inline void _sincos_taylor(double x, double* s, double* c) noexcept nogil:
    """sin x and cos x for |x| <= 0.9 by their Taylor series (truncation < 1e-19; about an ulp of rounding):
    cheaper than libm, and inlined."""
    cdef double t = x * x
    s[0] = x + x * t * (-1.0 / 6.0 + t * (1.0 / 120.0 + t * (-1.0 / 5040.0 + t * (1.0 / 362880.0 + t * (
        -1.0 / 39916800.0 + t * (1.0 / 6227020800.0 + t * (-1.0 / 1307674368000.0 + t * (
            1.0 / 355687428096000.0 - t / 121645100408832000.0))))))))
    c[0] = 1.0 + t * (-0.5 + t * (1.0 / 24.0 + t * (-1.0 / 720.0 + t * (1.0 / 40320.0 + t * (
        -1.0 / 3628800.0 + t * (1.0 / 479001600.0 + t * (-1.0 / 87178291200.0 + t * (
            1.0 / 20922789888000.0 - t / 6402373705728000.0))))))))


cdef int _hahn(const Side* st, double th, double* sre, double* sim, double* dre, double* dim) noexcept nogil:
    """S(theta) - 1 and S'(theta) for Hahn's sum S; returns the number of terms summed, or -1 if the series
    starts to diverge before its terms fall below 1e-19 relative (theta too close to the end)."""
    cdef double sh, ch
    _sincos_taylor(0.5 * th, &sh, &ch)
    cdef double ish = 1.0 / sh, ich = 1.0 / ch
    cdef double tau = sh * ich
    cdef double r = ch * ish * st.half_over_rho     # 1 / (2 rho tan(theta/2)), about 1 / (rho theta)
    cdef double tp = 0.5 * ich * ich                 # d tau / d theta
    cdef double rt = r * ch * ish                    # r / tau
    cdef double s_re = 0.0, s_im = 0.0, d_re = 0.0, d_im = 0.0     # S - 1 (T_0 = 1 exactly) and dS/dtheta
    cdef double yre = 1.0, yim = 0.0, y1re = 0.0, y1im = 0.0, tmp
    cdef double pr, pim, qr, qim, tre, tim, ure, uim, size, prev = 1.0, prev2 = 1e300
    cdef const double* row
    cdef int m, l
    for m in range(st.mmax):
        row = st.G + (m * (m + 1)) // 2
        # P_m(z) = sum_l G[m,l] z^l at z = -i r, and dP_m/dz, by Horner
        pr = row[m]
        pim = 0.0
        qr = 0.0
        qim = 0.0
        for l in range(m - 1, -1, -1):
            tmp = qr
            qr = qim * r + pr
            qim = -tmp * r + pim
            tmp = pr
            pr = pim * r + row[l]
            pim = -tmp * r
        # the term y^m P_m (y = 1 + i tau) and its theta-derivative tau' (i m y^(m-1) P_m - y^m (r/tau) dP_m/dr)
        tre = yre * pr - yim * pim
        tim = yre * pim + yim * pr
        ure = -(yre * qim + yim * qr) * rt
        uim = -(yim * qim - yre * qr) * rt
        if m > 0:
            ure = ure - m * (y1re * pim + y1im * pr)
            uim = uim + m * (y1re * pr - y1im * pim)
            s_re += tre
            s_im += tim
        d_re += tp * ure
        d_im += tp * uim
        size = fabs(tre) + fabs(tim)
        # stop when the next term, extrapolated geometrically (with a factor 4 to spare: the ratios of an
        # asymptotic series grow), is below 1e-19 relative
        if size * size <= 2.5e-20 * prev * (fabs(1.0 + s_re) + fabs(s_im)) or size == 0.0:
            sre[0] = s_re
            sim[0] = s_im
            dre[0] = d_re
            dim[0] = d_im
            return m + 1
        if m >= 8 and size > prev and prev > prev2:
            return -1
        prev2 = prev
        prev = size
        y1re = yre
        y1im = yim
        tmp = yre
        yre = yre - yim * tau
        yim = yim + tmp * tau
    return -1


cdef inline double _atan_small(double y, double x) noexcept nogil:
    """atan2(y, x) for x > 0: by its series when |y/x| < 1/16 (error < 1e-19), else libm."""
    cdef double t = y / x, t2
    if fabs(t) >= 0.0625:
        return atan2(y, x)
    t2 = t * t
    return t - t * t2 * (1.0 / 3.0 - t2 * (0.2 - t2 * (1.0 / 7.0 - t2 * (1.0 / 9.0 - t2 * (
        1.0 / 11.0 - t2 * (1.0 / 13.0 - t2 / 15.0))))))


cdef inline double _rough_log(double x) noexcept nogil:
    """log x to ~1e-7 relative, for x > 0 normal: enough for corrections of order 1e-15 (from the exponent and
    a polynomial in (m-1)/(m+1) for the mantissa m in [1/sqrt2, sqrt2))."""
    cdef int e
    cdef double m = frexp(x, &e)
    if m < 0.7071067811865476:
        m = 2.0 * m
        e -= 1
    cdef double y = (m - 1.0) / (m + 1.0)
    cdef double y2 = y * y
    return e * 0.6931471805599453 + 2.0 * y * (1.0 + y2 * (1.0 / 3.0 + y2 * (0.2 + y2 * (1.0 / 7.0 + y2 / 9.0))))


cdef inline void _half_angle(double h, dd* s, dd* c) noexcept nogil:
    """sin h and cos h (|h| < 1) to ~1e-19 relative: Taylor series with the leading terms in double-double."""
    cdef dd h2 = two_prod(h, h)
    cdef double t = h2.hi
    cdef double tail_s = t * t * (1.0 / 120.0 - t * (1.0 / 5040.0 - t * (1.0 / 362880.0 - t * (
        1.0 / 39916800.0 - t * (1.0 / 6227020800.0 - t * (1.0 / 1307674368000.0 - t * (
            1.0 / 355687428096000.0 - t * (1.0 / 121645100408832000.0 - t / 51090942171709440000.0))))))))
    cdef double tail_c = t * t * (1.0 / 24.0 - t * (1.0 / 720.0 - t * (1.0 / 40320.0 - t * (
        1.0 / 3628800.0 - t * (1.0 / 479001600.0 - t * (1.0 / 87178291200.0 - t * (
            1.0 / 20922789888000.0 - t * (1.0 / 6402373705728000.0 - t / 2432902008176640000.0))))))))
    s[0] = dd_mul_d(dd_add_d(dd_sub(dd_new(1.0, 0.0), dd_mul(h2, SIXTH)), tail_s), h)
    c[0] = dd_add_d(dd_sub(dd_new(1.0, 0.0), dd_new(0.5 * h2.hi, 0.5 * h2.lo)), tail_c)


cdef int _interior_node(const Side* st, Py_ssize_t k, double th, double* x_out, double* w_out,
                        double* th_out) noexcept nogil:
    """The k-th zero from the guess th, its node cos(theta) and weight. Returns 0, or 1 on failure.

    With S = |S| e^(i g), u = |S| cos(psi) for the phase psi = rho theta - (a+1/2) pi/2 + g, which is smooth and
    increasing; the k-th zero is where psi = (k - 1/2) pi, that is rho theta + g(theta) = (k + a/2 - 1/4) pi.
    Newton's method on that equation needs no cos(psi): g' = Im(S'/S). The target is formed in
    double-double, so the zero comes out to a small fraction of an ulp. At the zero, |u'| = |S| psi'."""
    cdef double sre, sim, dre, dim, pre, ssq, g, gp, resid, dth, z
    cdef dd target = dd_mul(dd_add_d(st.half_a, <double> k - 0.25), dd_new(PI_HI, PI_LO))
    cdef int it
    for it in range(12):
        if _hahn(st, th, &sre, &sim, &dre, &dim) < 0:
            return 1
        pre = 1.0 + sre
        ssq = pre * pre + sim * sim
        g = _atan_small(sim, pre)
        gp = (pre * dim - dre * sim) / ssq
        resid = dd_sub(target, dd_mul_d(st.rho, th)).hi
        dth = (resid - g) / (st.rho_hi + gp)
        # stop once psi' at th and at the zero differ by less than 1e-18 relative (g'' ~ -2 g' / theta, and
        # that first-order term is added below), or once th is within an ulp or two of the zero
        if fabs(gp * dth) <= 5e-19 * th * st.rho_hi or fabs(dth) <= 4.5e-16 * th:
            break
        th = th + dth
    else:
        return 1
    # |S|^2 - 1 (from the small parts: 1 + sre would round them) and psi'/rho - 1 at the zero, to first order
    # in dth (the next terms are below 1e-20 relative)
    ssq = (2.0 * sre + sre * sre + sim * sim) + 2.0 * (pre * dre + sim * dim) * dth
    gp = gp * (1.0 - 2.0 * dth / th) / st.rho_hi
    cdef dd theta = two_sum(th, dth)
    cdef dd s, c, x, num
    _half_angle(0.5 * theta.hi, &s, &c)
    x = dd_sub(dd_new(1.0, 0.0), dd_mul_d(dd_mul(s, s), 2.0))      # cos(theta.hi)
    x_out[0] = x.hi + (x.lo - 2.0 * s.hi * c.hi * theta.lo)
    th_out[0] = theta.hi
    # the envelope at theta.hi, to first order in s.lo, c.lo and theta.lo
    cdef double i_s = 1.0 / s.hi, i_c = 1.0 / c.hi
    cdef double corr = (st.ea * s.lo * i_s + st.eb * c.lo * i_c
                        + 0.5 * theta.lo * (st.ea * c.hi * i_s - st.eb * s.hi * i_c))
    if st.ea_lo != 0.0:
        corr += st.ea_lo * _rough_log(s.hi)
    if st.eb_lo != 0.0:
        corr += st.eb_lo * _rough_log(c.hi)
    # w = cw envelope / u'^2 = (cw / rho^2) envelope / (1 + y), 1 + y = |S|^2 (1 + g'/rho)^2, st.cw holding
    # cw / rho^2; 1 / (1 + y) = 1 - z with z = y / (1 + y) small, so its rounding costs |z| eps at most
    cdef double y = ssq + gp * (2.0 + gp) * (1.0 + ssq)
    z = y / (1.0 + y)
    num = dd_mul_d(dd_mul_d(st.cw, pow(s.hi, st.ea)), pow(c.hi, st.eb))
    w_out[0] = num.hi + (num.lo + num.hi * (corr - z - corr * z))
    return 0


# ---------------------------------------------------------------- Jacobi: the hypergeometric series at the end

cdef enum:
    NHYP = 400


cdef void _hyp(const dd* r, int terms, dd t, dd* f, dd* fp) noexcept nogil:
    """F(t) = sum_k T_k with T_0 = 1, T_{k+1} = T_k r_k t, and F'(t), in double-double."""
    cdef dd term = dd_new(1.0, 0.0), rt
    cdef dd total = dd_new(1.0, 0.0), deriv = dd_new(0.0, 0.0)
    cdef double biggest = 1.0
    cdef int k
    for k in range(terms):
        rt = dd_mul(term, r[k])                     # T_{k+1} / t
        deriv = dd_add(deriv, dd_mul_d(rt, k + 1.0))
        term = dd_mul(rt, t)
        total = dd_add(total, term)
        if fabs(term.hi) > biggest:
            biggest = fabs(term.hi)
        elif fabs(term.hi) < 1e-36 * biggest:
            break
    f[0] = total
    fp[0] = deriv


cdef int _boundary(Py_ssize_t n, dd a, dd b, double z_max, double rho, dd cb, int shift_a, int shift_b,
                   double* x_out, double* w_out, double* th_out, int capacity) noexcept nogil:
    """The zeros with rho theta < z_max (increasing), their nodes and weights; returns how many, or -1."""
    cdef dd r[NHYP]
    cdef int terms = NHYP if n >= NHYP else <int> n
    cdef int k, found = 0, it
    cdef dd ab = dd_add(a, b)
    for k in range(terms):
        # r_k = (k - n)(k + n + a + b + 1) / ((k + a + 1)(k + 1))
        r[k] = dd_div(dd_mul_d(dd_add_d(ab, <double> (k + n + 1)), <double> k - <double> n),
                      dd_mul_d(dd_add_d(a, <double> (k + 1)), <double> (k + 1)))
    cdef double z = 0.0, step = 0.5, lo, hi, f_lo, th, t_cur, t_prev = 0.0, f_prev = 1.0, f_cur, last
    cdef dd t, f, fp, dt, wt, omt, one = dd_new(1.0, 0.0)
    while z < z_max:
        # the zeros are more than 2 apart in z, so a step of 1/2 brackets each one alone
        z = min(z + step, z_max)
        t_cur = sin(0.5 * z / rho)
        t_cur = t_cur * t_cur
        _hyp(r, terms, dd_new(t_cur, 0.0), &f, &fp)
        f_cur = f.hi
        if (f_cur > 0.0) != (f_prev > 0.0):
            if found >= capacity:
                return -1
            lo = t_prev
            hi = t_cur
            f_lo = f_prev
            t = dd_new(0.5 * (lo + hi), 0.0)
            last = 1e300
            for it in range(200):
                _hyp(r, terms, t, &f, &fp)
                if (f.hi > 0.0) == (f_lo > 0.0):
                    lo = t.hi
                else:
                    hi = t.hi
                dt = dd_div(f, fp)
                # converged, or stalled at the rounding level of the sum (Newton's steps stop shrinking)
                if fabs(dt.hi) <= 1e-30 * t.hi or (fabs(dt.hi) <= 1e-14 * t.hi and fabs(dt.hi) > 0.5 * last):
                    t = dd_sub(t, dt)
                    break
                last = fabs(dt.hi)
                t = dd_sub(t, dt)
                if t.hi < lo or t.hi > hi:
                    t = dd_new(0.5 * (lo + hi), 0.0)
                    last = 1e300
            else:
                return -1
            _hyp(r, terms, t, &f, &fp)
            th = 2.0 * asin(sqrt(t.hi))
            omt = dd_sub(one, t)
            wt = dd_div(cb, dd_mul(dd_mul(t, omt), dd_mul(fp, fp)))
            if shift_a:
                wt = dd_div(wt, dd_mul_d(t, 2.0))
            if shift_b:
                wt = dd_div(wt, dd_mul_d(omt, 2.0))
            x_out[found] = dd_sub(one, dd_mul_d(t, 2.0)).hi
            w_out[found] = wt.hi
            th_out[found] = th
            found += 1
        f_prev = f_cur
        t_prev = t_cur
    return found


# ---------------------------------------------------------------- Jacobi: one end

def jacobi_side(Py_ssize_t n, double wa, double wb, int shift_a, int shift_b, Py_ssize_t count, double z_b,
                const double[::1] G, int mmax, double cw_hi, double cw_lo, double cb_hi, double cb_lo, int mirrored,
                double[::1] x, double[::1] w):
    """The `count` zeros of P_n^(a,b)(cos theta) nearest theta = 0, with their weights.

    IN: the exponents wa, wb of the weight (1-x)^wa (1+x)^wb at this end and the other, and the Radau/Lobatto
    shifts (0 or 1): the polynomial is P_n^(a,b) with a = wa + shift_a, b = wb + shift_b (exactly: in
    double-double, since wa + 1 may not be a double), and the weights are its Gauss weights divided by
    (1-x)^shift_a (1+x)^shift_b. z_b (the boundary region is rho theta < z_b), Hahn's coefficients G (see
    ``Side``), the interior and boundary weight constants (double-double).
    OUT: x, w: the k-th zero (k = 1..count) goes to index n - k with x = cos(theta_k) (``mirrored`` = 0, the
    end x = 1), or to index k - 1 with x = -cos(theta_k) (``mirrored`` = 1: the caller passed the parameters
    of the end x = -1 first). Returns (status, theta of the last zero): status 0, or the number of zeros where
    the iteration failed, -1 if the boundary search failed, -2 if two consecutive zeros came out closer than
    half the expected spacing pi/rho (a zero found twice).
    """
    cdef dd a_dd = two_sum(wa, shift_a), b_dd = two_sum(wb, shift_b)
    cdef double a = a_dd.hi, b = b_dd.hi
    cdef Side st
    st.rho = dd_add_d(dd_mul_d(dd_add_d(dd_add(a_dd, b_dd), 1.0), 0.5), <double> n)
    st.rho_hi = st.rho.hi
    st.half_over_rho = 0.5 / st.rho_hi
    st.half_a = dd_mul_d(a_dd, 0.5)
    st.G = &G[0]
    st.mmax = mmax
    # the envelope belongs to the weight: exponents 2 wa + 1 and 2 wb + 1, exact in double-double
    cdef dd e = two_sum(2.0 * wa, 1.0)
    st.ea = e.hi
    st.ea_lo = e.lo
    e = two_sum(2.0 * wb, 1.0)
    st.eb = e.hi
    st.eb_lo = e.lo
    st.cw = dd_div(dd_new(cw_hi, cw_lo), dd_mul(st.rho, st.rho))
    cdef double bx[64]
    cdef double bw[64]
    cdef double bt[64]
    cdef int nb, failed = 0, too_close = 0
    cdef Py_ssize_t k, idx
    cdef double th, phi, sg, cg, xk = 0.0, wk = 0.0, tk = 0.0, prev = 0.0, gap = 0.5 * M_PI / st.rho_hi
    cdef double sgn = -1.0 if mirrored else 1.0
    with nogil:
        nb = _boundary(n, a_dd, b_dd, z_b, st.rho_hi, dd_new(cb_hi, cb_lo), shift_a, shift_b, bx, bw, bt, 64)
        if nb >= 0:
            if nb > count:
                nb = <int> count
            for k in range(1, count + 1):
                if k <= nb:
                    xk = bx[k - 1]
                    wk = bw[k - 1]
                    tk = bt[k - 1]
                else:
                    # Gatteschi & Pittaluga's approximation of the k-th zero as the starting guess
                    phi = (k + 0.5 * a - 0.25) * M_PI / st.rho_hi
                    _sincos_taylor(0.5 * phi, &sg, &cg)
                    th = phi + ((0.25 - a * a) * cg * cg - (0.25 - b * b) * sg * sg) / (
                        4.0 * st.rho_hi * st.rho_hi * sg * cg)
                    if _interior_node(&st, k, th, &xk, &wk, &tk):
                        failed += 1
                if k > 1 and tk - prev < gap:
                    too_close += 1
                prev = tk
                idx = k - 1 if mirrored else n - k
                x[idx] = sgn * xk
                w[idx] = wk
    if nb < 0:
        return -1, prev
    if failed:
        return failed, prev
    if too_close:
        return -2, prev
    return 0, prev

