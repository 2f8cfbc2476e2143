# cython: language_level=3
"""Modified Chebyshev moments and the weighted 25-point Chebyshev panels of QUADPACK's QAWO, QAWF, QAWC and QAWS.

The engine (`_adaptive.pyx`) asks for f at the 25 interior Chebyshev points of an interval (`cheb_nodes`; never
the end points), and a panel turns those values into (result, abserr, resabs, resasc) of the weighted integral
over that interval. Everything here is a pure function without the GIL; nothing allocates.

Weight kinds and their parameters `wpar` (4 doubles, the engine's per-state `wkind, wpar[4]`):

    WEIGHT_COS, WEIGHT_SIN    cos(omega x), sin(omega x)           wpar[0] = omega
    WEIGHT_CAUCHY             1 / (x - c)  (principal value)       wpar[0] = c
    WEIGHT_ALG                (x - lo)^alpha (hi - x)^beta          wpar = (alpha, beta, lo, hi)
    WEIGHT_ALG_LOGA           ... * log(x - lo)                     (lo, hi: the ends of the whole range,
    WEIGHT_ALG_LOGB           ... * log(hi - x)                      not of the panel's interval)
    WEIGHT_ALG_LOG            ... * log(x - lo) * log(hi - x)

Status codes returned by the panels have the engine's values: 0 ok, MOM_NONFINITE (7) a value of f is inf or
NaN, MOM_OVERFLOW (9) the values are finite but a sum is not.
"""

cdef enum:
    CHEB_N = 25            # Chebyshev nodes per weighted panel (first kind, interior); coefficients 0..24
    MOMENTS_N = 25         # moments per weight: degrees 0..24

cdef enum:
    WEIGHT_NONE = 0
    WEIGHT_COS = 1
    WEIGHT_SIN = 2
    WEIGHT_CAUCHY = 3
    WEIGHT_ALG = 4
    WEIGHT_ALG_LOGA = 5
    WEIGHT_ALG_LOGB = 6
    WEIGHT_ALG_LOG = 7

cdef enum:
    MOM_OK = 0
    MOM_NONFINITE = 7
    MOM_OVERFLOW = 9

# ---- nodes and coefficients

# x[k] = (a + b)/2 + (b - a)/2 * cos((k + 1/2) pi / 25), k = 0..24 (k = 0 nearest b). OUT: x (25).
cdef void cheb_nodes(double a, double b, double* x) noexcept nogil

# Coefficients of the degree-24 interpolant p(t) = sum_{j=0}^{24} c[j] T_j(t) through fv[k] = f(node k) (DCT-II;
# c[0] is not halved). IN: fv (25); OUT: c (25). Returns MOM_OK or MOM_NONFINITE.
cdef int cheb_coeffs(const double* fv, double* c) noexcept nogil

# The weight w(x) of `kind` (for the 15-point Gauss-Kronrod panels the engine uses where the weight is smooth:
# it multiplies f's values by this). WEIGHT_NONE gives 1.
cdef double weight_value(int kind, const double* wpar, double x) noexcept nogil

# Whether [a, b] needs the Chebyshev panel (else GK15 on f * weight_value): cos/sin when |omega| (b - a)/2 > 2;
# cauchy when |u| < 1.1, u = (2c - a - b)/(b - a); alg* when a == lo or b == hi (the engine must have split
# [lo, hi] once first: one interval never touches both ends).
cdef bint use_cheb_panel(int kind, const double* wpar, double a, double b) noexcept nogil

# ---- moments (each: degrees 0..24)

# M_j(theta) = int_{-1}^{1} T_j(t) exp(i theta t) dt: re[j] = int T_j cos(theta t), im[j] = int T_j sin(theta t).
# Any finite theta (negative: conjugate; 0: int T_j). Depends only on theta = omega * h, h = (b - a)/2: the
# engine caches it per bisection level. OUT: re (25), im (25).
cdef void trig_moments(double theta, double* re, double* im) noexcept nogil

# v_j(u) = PV int_{-1}^{1} T_j(t) / (t - u) dt for |u| < 1.1, u != +-1. OUT: v (25).
cdef void cauchy_moments(double u, double* v) noexcept nogil

# r_j = int_{-1}^{1} (1 + t)^alpha T_j(t) dt and g_j = int_{-1}^{1} (1 + t)^alpha log(1 + t) T_j(t) dt
# (g = dr/dalpha), alpha > -1. The (1 - t)^beta moments are (-1)^j times these at beta. OUT: r (25), g (25).
cdef void jacobi_moments(double alpha, double* r, double* g) noexcept nogil

# All four QAWS moment vectors of wpar = (alpha, beta, ...): mom[0:25] = r(alpha), mom[25:50] = g(alpha),
# mom[50:75] = r(beta), mom[75:100] = g(beta). Depends only on (alpha, beta): once per integral. OUT: mom (100).
cdef void jacobi_moments_all(const double* wpar, double* mom) noexcept nogil

# ---- panels: f's values fv (25, at cheb_nodes(a, b)) -> the weighted integral over [a, b]
# OUT: result, abserr (estimate of |true - result|, final: no QUADPACK rescaling needed, floored at rounding),
# resabs = sum_j |c_j mu_j| (the scale rounding sees, >= |result|), resasc = the same without j = 0.

# int_a^b f(x) cos(omega x) dx (kind WEIGHT_COS) or sin (WEIGHT_SIN). mre, mim: trig_moments(theta) with theta
# computed exactly as `omega * (0.5 * (b - a))` for this [a, b]: the panel puts back that product's rounding (and
# the phase omega (a + b)/2's) to first order by fma, which is what keeps omega = 1e6 at 1e-16 instead of 1e-10.
# A per-level cache must therefore be keyed by the double 0.5 * (b - a), not by the level alone.
cdef int trig_panel(double a, double b, int kind, double omega, const double* mre, const double* mim,
                    const double* fv, double* result, double* abserr, double* resabs,
                    double* resasc) noexcept nogil

# trig_panel with moments computed at theta_m, which may differ from omega (b - a)/2 by a little (|d| <~ 1e-12
# theta, e.g. a per-level cache's omega * ldexp(h0, -level) for an interval whose h midpoint rounding moved): the
# panel corrects the difference to first order (exactly computed by fma) and floors the second-order remainder.
# trig_panel(...) is trig_panel_at(..., omega * (0.5 * (b - a)), ...).
cdef int trig_panel_at(double a, double b, int kind, double omega, double theta_m, const double* mre,
                       const double* mim, const double* fv, double* result, double* abserr, double* resabs,
                       double* resasc) noexcept nogil

# PV int_a^b f(x) / (x - c) dx, |u| < 1.1 (see use_cheb_panel); the moments are computed inside (they depend on u).
cdef int cauchy_panel(double a, double b, double c, const double* fv, double* result, double* abserr,
                      double* resabs, double* resasc) noexcept nogil

# int_a^b f(x) w(x) dx for the alg* kinds, wpar = (alpha, beta, lo, hi), [a, b] touching lo or hi (not both).
# mom: jacobi_moments_all(wpar).
cdef int jacobi_panel(double a, double b, int kind, const double* wpar, const double* mom, const double* fv,
                      double* result, double* abserr, double* resabs, double* resasc) noexcept nogil

# One entry for every kind: dispatches to the three panels above. mom: trig -> 50 doubles (re then im at
# omega (b - a)/2) or NULL to compute them here; alg* -> jacobi_moments_all(wpar) (100 doubles) or NULL;
# cauchy -> ignored.
cdef int weighted_panel(double a, double b, int kind, const double* wpar, const double* mom, const double* fv,
                        double* result, double* abserr, double* resabs, double* resasc) noexcept nogil
