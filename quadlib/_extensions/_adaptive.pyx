# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Globally adaptive Gauss–Kronrod integration with Wynn's epsilon extrapolation (QUADPACK's QAGS).

Design: one C struct `Qags` holds the whole state of one integral (its intervals ordered by error, the
extrapolation table, the QUADPACK bookkeeping). It runs by reverse communication: `qags_request` writes
the abscissae it needs next, the caller evaluates the integrand there, and `qags_receive` takes the values,
advances the algorithm to its next bisection and writes the next request. The integrand is therefore
never called from here, so the same state machine serves a Python callable point by point, a vectorized
Python callable once per batch, a C function pointer without the GIL, and thousands of integrals whose
requests are gathered into one call (`Batch`).

Intervals live in t, the variable after the change of variables for infinite ranges:
mapping 0: x = t on [a, b]; 1: x = a + (1-t)/t on (0, 1]; 2: x = b - (1-t)/t; 3: x = +-(1-t)/t, both
halves of the real line folded onto (0, 1] (two evaluations per node).

Beyond QUADPACK, three checks keep a converged result honest (each found by the honesty probe of random
|x - t|^p, x^p, x^p log x integrands with closed forms; QUADPACK and scipy.integrate.quad accepted 1.5% of them
with a true error up to 2000 times the tolerance):

* a second opinion in every panel: two more symmetric null rules on the Kronrod nodes. When they do not
  decrease the way a resolved integrand's do, |K - G| is not trusted alone (a singularity inside the panel
  can make K and G agree by accident while both are wrong);
* a parent and its halves: when the summed estimate would meet the tolerance, each half must carry at least its
  share (by its raw estimate) of half the change its bisection made, |K(parent) - K(left) - K(right)|: a half
  whose estimate fell far more than its parent's observed error is looked at again;
* Wynn's extrapolation is trusted only on a sequence of sums that converges regularly (the last three ratios of
  successive differences below 1 and within 0.2 of one another), when the last five sums alone extrapolate
  to the same value within the tolerance, and with four times Wynn's error estimate (the spread of the last four
  extrapolants, which misses a bias they share). Untrusted extrapolants are neither accepted nor kept as the
  best one so far.

Weighted integrals (QUADPACK's QAWO, QAWF, QAWC, QAWS) run on the same state: a weight is a panel kind
(`wkind`, `wpar`; _moments.pxd). An interval asks for 15 Kronrod nodes where the weight is smooth (its values are
multiplied into f's) or for 25 interior Chebyshev nodes (never its ends) where it is not, whose values the
modified-moment panels of _moments.pyx integrate against the weight: cos/sin where omega h > 2 (the moments cached
per bisection level, as QUADPACK's momcom), the interval holding the Cauchy point c (which bisection never cuts;
c within 1e-3 (b - a) of an end: f(c) subtracted and its PV added in closed form), the two end intervals of QAWS
(whose range is bisected once first). So the number of abscissae varies per interval (`npend`). QAWF integrates
cycles of an odd number of half periods by QAWO and extrapolates their partial sums with the same Wynn epsilon;
it accepts a purely relative tolerance and fails (status 1, 4 or 5) rather than sum the cycles of an integrand
that does not decay. The estimate of a trigonometric Chebyshev panel includes the rounding of omega h and of the
panel's ends (exact by fma and TwoSum), which at large omega is as large as the integral.
QAWO and QAWF's first cycle: when f is exactly 0 at every node of the first request (e^-x on [0, 10^6], or on a
first cycle of length ~pi / omega for omega = 1e-6), f is evaluated once at each finite end of the range (one or
two evaluations more, the only abscissae ever at an end; a non-finite value there is a singular end and ignored),
and an end interval whose nodes all see |f| below half of |f(end)| gets an estimate of at least |f(end)| times its
length (Wynn's table restarts while one does), so bisection goes on until the nodes next to that end resolve f.
A weighted integral's error is at least 50 eps times the sum of |its panels|, and the sum of the interval
estimates is recomputed (never the running update, which cancelled below 0) when it is reported or about to
meet the tolerance.

Status codes (the Python layer turns them into messages): 0 converged, 1 max_subdivisions reached,
2 roundoff prevents the tolerance, 3 extremely bad integrand behaviour (an interval shrank to rounding),
4 the extrapolation does not converge, 5 the integral is probably divergent, 6 max_nfev reached,
7 the integrand returned inf or NaN, 8 out of memory, 9 overflow: the integrand was finite but a weighted
sum, the integral or its error estimate is not (a finite result is never reported as converged otherwise).

Reference: R. Piessens, E. de Doncker-Kapenga, C. W. Überhuber and D. K. Kahaner, "QUADPACK: a
subroutine package for automatic integration", Springer (1983): routines DQAGSE, DQAGIE, DQPSRT, DQELG.
J. Berntsen and T. O. Espelid, "Error estimation in automatic quadrature routines", ACM TOMS 17 (1991) 233-252:
null rules. QUADPACK's DQAWOE, DQAWFE, DQAWCE, DQAWSE and R. Piessens and M. Branders, "On the computation of
Fourier transforms of singular functions", J. Comput. Appl. Math. 1 (1975): the weighted integrals.
"""
from libc.math cimport fabs, fma, pow, sqrt, isfinite, ldexp, log, floor, M_PI, INFINITY as INF
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy, memset
from libc.string cimport memmove

import numpy as np
cimport numpy as cnp

from quadlib._extensions._moments cimport (CHEB_N, MOMENTS_N, WEIGHT_NONE, WEIGHT_COS, WEIGHT_SIN, WEIGHT_CAUCHY,
                                         WEIGHT_ALG, WEIGHT_ALG_LOGA, WEIGHT_ALG_LOGB, WEIGHT_ALG_LOG, cheb_nodes,
                                         weight_value, use_cheb_panel, trig_moments, jacobi_moments_all,
                                         weighted_panel, trig_panel_at)

cnp.import_array()

cdef double EPMACH = 2.220446049250313e-16
cdef double UFLOW = 2.2250738585072014e-308
cdef double OFLOW = 1.7976931348623157e308
cdef int LIMEXP = 50
cdef enum:
    COMPONENT_BLOCK = 256  # components summed together in _panel_components (6 x 2 kB of sums in cache)
cdef double NAN_MARK = float("nan")
# a lower-degree null rule at least this fraction of the next lower one: the panel is not resolved
cdef double NULL_RATIO = 0.1
# each half of a bisection keeps at least its share of this fraction of |K(parent) - K(halves)|
cdef double FLOOR_FRACTION = 0.5
# the last three ratios of successive differences of the extrapolated sums agree to this
cdef double RATIO_SPREAD = 0.2
# Wynn's error estimate (the spread of the last four extrapolants) times this
cdef double WYNN_SAFETY = 4.0
# QAWO: modified moments are cached for this many bisection levels (QUADPACK's maxp1), 50 doubles each
cdef int MAXP1 = 50
# QAWF: at most this many cycles (QUADPACK's limlst); the cycle tolerances fall by P_CYCLE per cycle
cdef int LIMLST = 50
cdef double P_CYCLE = 0.9
# QAWC: c closer than this fraction of b - a to an end: f(c) is subtracted and its PV added in closed form
cdef double NEAR_END = 1e-3

cdef enum:
    RUNNING = -1
    CONVERGED = 0
    LIMIT = 1
    ROUNDOFF = 2
    BAD_INTEGRAND = 3
    NO_EXTRAPOLATION = 4
    DIVERGENT = 5
    MAX_NFEV = 6
    NONFINITE = 7
    OUT_OF_MEMORY = 8
    OVERFLOW = 9


ctypedef struct KronrodRule:
    int n               # number of Kronrod nodes
    double* x           # nodes on [-1, 1]
    double* wk          # Kronrod weights
    double* wg          # embedded Gauss weights, 0 on Kronrod-only nodes
    double* n2          # symmetric null rules exact to degrees 2n - 3 and 2n - 5 (n Gauss nodes), scaled
    double* n3          # to the norm of wk - wg


ctypedef struct Qags:
    # problem
    int m               # components of the integrand (1: real scalar)
    int limit           # max number of intervals
    int capacity        # intervals allocated so far (grown on demand up to limit)
    bint owns_intervals # the interval arrays were moved out of the arena into their own allocations
    char* arena_start   # the arena, if this state allocated it (else the caller owns it)
    long max_nfev
    int mapping
    double shift        # a (mapping 1) or b (mapping 2)
    double epsabs, epsrel
    bint extrapolate
    KronrodRule* rule
    # intervals, ordered by `order` (descending error)
    int last
    double* alist
    double* blist
    double* elist
    double* rlist       # last x m
    double* defabs_list
    double* floor_list  # the least error each interval may claim once the sum is about to converge
    int* level          # bisections since the initial partition
    int* order
    int n_initial
    double* initial_cuts  # n_initial + 1 values: the user's breakpoints and the ends
    # request
    int n_pending       # intervals whose values are awaited (their indices in `pending`)
    int* pending
    int n_points        # abscissae requested (n_pending * rule.n * evaluations per node)
    double* xreq
    long nfev
    # QUADPACK bookkeeping
    int status
    int maxerr, nrmax, nres, numrl2, ktmin, ierro, iroff1, iroff2, iroff3, ksgn
    bint extrap, noext
    bint by_level       # QUADPACK's QAGP (breakpoints): "large" intervals by level, not length
    int levmax
    double errmax, errsum, errbnd, small, erlarg, ertest, correc, erlast, defabs, dres
    double* area        # m
    double* result      # m: the answer once done
    double abserr
    double* rlist2      # LIMEXP + 2 (extrapolation table, m == 1)
    double res3la[3]
    bint eps_rounding   # the last extrapolation stopped at three entries equal to rounding
    int nhist
    double hist[5]      # the last sums handed to the extrapolation
    double* scratch     # 2 m (+ 2 maxper for a weighted integral) work space (see qags_init)
    # variable number of abscissae per interval (weighted kinds use 15 Kronrod or 25 Chebyshev points)
    int maxper          # the most abscissae one interval may request: buffers are sized by it
    int* npend          # abscissae requested for each pending interval, in order
    int plevel          # bisection level of the pending intervals (QAWO's moment cache is keyed by it)
    double split        # where interval maxerr is being bisected (QAWC keeps it off c)
    int n_extra         # abscissae requested after the intervals' (QAWC near an end: c itself)
    double* gbuf        # maxper values of one component
    double* wbuf        # maxper values times the weight
    # weight (_moments.pxd's kinds; 0: none)
    int wkind
    double wpar[4]
    double xsign        # low-level callables are called at xsign * x (the Python layer reflects (-inf, b])
    bint subtract       # QAWC near an end: PV int f/(x-c) = int (f - f(c))/(x - c) + f(c) log((b-c)/(c-a))
    double fc, pv_log
    double* moments     # QAWS: the 100 Jacobi moments; QAWO: 50 per cached level (NaN-marked until computed)
    int n_levels        # QAWO levels allocated in `moments`
    double h0           # QAWO: the half-length at level 0, the cache's key
    int n_gk, n_cc      # weighted panels of each kind run so far
    # QAWF: cycles [a + kP, a + (k+1)P] integrated by QAWO, their partial sums extrapolated by _epsilon
    bint fourier
    int qf_cycles, qf_numrl2, qf_nres, qf_ktmin, qf_worst, qf_nsub
    double qf_a, qf_period, qf_atol, qf_rtol, qf_errsum, qf_correc, qf_result, qf_abserr, qf_largest, qf_last
    double qf_previous
    double fmax         # QAWF: the largest |f| at the nodes of the current cycle
    double* qf_psum     # LIMEXP + 2, allocated for QAWF only (a batch of 10^4 plain integrals touches every
                        # byte of its states: 416 bytes each, kept inline, cost ~4 ms of page faults)
    double qf_res3la[3]
    # QAWO/QAWF end probe: the ends of the whole range (QAWF: its start), f there once the first request's values
    # were all exactly 0 (|f|, 0 when not probed or not finite), and whether that probe is the pending request
    double end_lo, end_hi, f_lo, f_hi
    bint probing
    bint floored        # a panel of the last bisection was raised by _end_floor (not a sign of roundoff)


# ---------------------------------------------------------------- one Gauss–Kronrod panel

cdef inline int _points_per_node(const Qags* s) noexcept nogil:
    return 2 if s.mapping == 3 else 1


cdef void _write_abscissae(Qags* s, double a, double b, double* out) noexcept nogil:
    cdef double centre = 0.5 * (a + b), half = 0.5 * (b - a), t
    cdef int i, n = s.rule.n
    if s.mapping == 0:
        for i in range(n):
            out[i] = centre + half * s.rule.x[i]
        return
    for i in range(n):
        t = centre + half * s.rule.x[i]
        if s.mapping == 1:
            out[i] = s.shift + (1.0 - t) / t
        elif s.mapping == 2:
            out[i] = s.shift - (1.0 - t) / t
        else:
            out[2 * i] = (1.0 - t) / t
            out[2 * i + 1] = -(1.0 - t) / t


cdef int _kronrod_sums(const KronrodRule* rule, const double* g, double half, double* result, double* error,
                      double* resabs_out, double* resasc_out, double* raw_out) noexcept nogil:
    """QUADPACK's DQK21 on values g at the rule's nodes of an interval of half-length `half`: the Kronrod
    value, the error estimate, int|f|, int|f - mean| and the raw estimate before QUADPACK's scaling. Returns
    0, NONFINITE if a value is not finite, or OVERFLOW if the values are but the sums are not.

    The raw estimate is |K - G|, or the null rule of the next lower degree when that one is larger and the
    null rules do not decrease as a resolved integrand's do (Berntsen and Espelid): |K - G| alone can vanish
    by accident, as for |x - 0.3167|^0.056 on [0, 1] where K and G agree to 2e-8 and both are 2e-3 off."""
    cdef int i
    cdef double resk = 0.0, resg = 0.0, resabs = 0.0, resasc = 0.0, null2 = 0.0, null3 = 0.0, mean, err
    for i in range(rule.n):
        if not isfinite(g[i]):
            return NONFINITE
        resk += rule.wk[i] * g[i]
        resg += rule.wg[i] * g[i]
        resabs += rule.wk[i] * fabs(g[i])
        null2 += rule.n2[i] * g[i]
        null3 += rule.n3[i] * g[i]
    mean = 0.5 * resk
    for i in range(rule.n):
        resasc += rule.wk[i] * fabs(g[i] - mean)
    return _kronrod_finish(resk, resg, resabs, resasc, null2, null3, half, result, error, resabs_out, resasc_out,
                           raw_out)


cdef inline int _kronrod_finish(double resk, double resg, double resabs, double resasc, double null2, double null3,
                                double half, double* result, double* error, double* resabs_out, double* resasc_out,
                                double* raw_out) noexcept nogil:
    """The Kronrod panel's outputs from its sums on [-1, 1] (see _kronrod_sums)."""
    cdef double err, ratio
    result[0] = resk * half
    resabs *= fabs(half)
    resasc *= fabs(half)
    err = fabs((resk - resg) * half)
    null2 = fabs(null2 * half)
    if null2 >= NULL_RATIO * fabs(null3 * half):
        err = max(err, null2)
    raw_out[0] = err
    if resasc != 0.0 and err != 0.0:
        ratio = 200.0 * err / resasc  # (ratio^1.5 as ratio sqrt(ratio): pow was a tenth of a shared run's time)
        err = resasc * min(1.0, ratio * sqrt(ratio))
    if resabs > UFLOW / (50.0 * EPMACH):
        err = max(EPMACH * 50.0 * resabs, err)
    error[0] = err
    resabs_out[0] = resabs
    resasc_out[0] = resasc
    if not (isfinite(result[0]) and isfinite(err) and isfinite(resabs)):
        return OVERFLOW
    return 0


cdef int _panel(Qags* s, double a, double b, int level, const double* fx, double* result, double* error,
                 double* resabs_out, double* resasc_out, double* raw_out) noexcept nogil:
    """The panel of interval [a, b] (bisection level `level`) from the raw values fx (points x m), undoing the
    change of variables; the errors and the integrals of |f| are the largest over the components. Returns 0,
    NONFINITE (a raw value is inf or NaN) or OVERFLOW (finite values times the Jacobian or the weight, or their
    sums, are not finite)."""
    if s.wkind != WEIGHT_NONE:
        return _weighted_panel(s, a, b, level, fx, result, error, resabs_out, resasc_out, raw_out)
    if s.m == 1 and s.mapping == 0:  # the common case: the raw values are the values
        return _kronrod_sums(s.rule, fx, 0.5 * (b - a), result, error, resabs_out, resasc_out, raw_out)
    return _panel_components(s, a, b, fx, result, error, resabs_out, resasc_out, raw_out)


cdef int _panel_components(Qags* s, double a, double b, const double* fx, double* result, double* error,
                           double* resabs_out, double* resasc_out, double* raw_out) noexcept nogil:
    """_kronrod_sums for m components at once. The values are node-major (fx[i * m + c]): the loops run over
    blocks of COMPONENT_BLOCK components, nodes outside and components inside, so that every pass reads
    contiguous memory and the block's sums stay in the first-level cache (a strided gather per component made
    10^4 components cost 3.6x quad_vec's time)."""
    cdef int i, c, c0, width, n = s.rule.n, m = s.m, code, stride = _points_per_node(s)
    cdef double centre = 0.5 * (a + b), half = 0.5 * (b - a), t, jac, wk, wg, w2, w3, v, err, resabs, resasc, raw
    cdef double jacs[128]
    cdef double rk[COMPONENT_BLOCK]
    cdef double rg[COMPONENT_BLOCK]
    cdef double ra[COMPONENT_BLOCK]
    cdef double r2[COMPONENT_BLOCK]
    cdef double r3[COMPONENT_BLOCK]
    cdef double rs[COMPONENT_BLOCK]
    cdef const double* row
    cdef const double* row2
    error[0] = resabs_out[0] = resasc_out[0] = raw_out[0] = 0.0
    for i in range(n):
        if s.mapping == 0:
            jacs[i] = 1.0
        else:
            t = centre + half * s.rule.x[i]
            jacs[i] = 1.0 / (t * t)
    c0 = 0
    while c0 < m:
        width = min(m - c0, <int> COMPONENT_BLOCK)
        for c in range(width):
            rk[c] = rg[c] = ra[c] = r2[c] = r3[c] = rs[c] = 0.0
        for i in range(n):
            wk, wg, w2, w3, jac = s.rule.wk[i], s.rule.wg[i], s.rule.n2[i], s.rule.n3[i], jacs[i]
            row = fx + i * stride * m + c0
            if stride == 2:
                row2 = row + m
                for c in range(width):
                    v = (row[c] + row2[c]) * jac
                    rk[c] += wk * v
                    rg[c] += wg * v
                    ra[c] += wk * fabs(v)
                    r2[c] += w2 * v
                    r3[c] += w3 * v
            else:
                for c in range(width):
                    v = row[c] * jac
                    rk[c] += wk * v
                    rg[c] += wg * v
                    ra[c] += wk * fabs(v)
                    r2[c] += w2 * v
                    r3[c] += w3 * v
        # int |f - mean|: a second pass over the block (still in cache), the mean being known
        for i in range(n):
            wk, jac = s.rule.wk[i], jacs[i]
            row = fx + i * stride * m + c0
            if stride == 2:
                row2 = row + m
                for c in range(width):
                    rs[c] += wk * fabs((row[c] + row2[c]) * jac - 0.5 * rk[c])
            else:
                for c in range(width):
                    rs[c] += wk * fabs(row[c] * jac - 0.5 * rk[c])
        for c in range(width):
            code = _kronrod_finish(rk[c], rg[c], ra[c], rs[c], r2[c], r3[c], half, &result[c0 + c], &err, &resabs,
                                   &resasc, &raw)
            if code != 0:
                # an inf or NaN among the raw values, or finite values whose weighted sums overflowed
                return _raw_nonfinite(fx, n * stride, m, c0, width)
            error[0] = max(error[0], err)
            raw_out[0] = max(raw_out[0], raw)
            resabs_out[0] = max(resabs_out[0], resabs)
            resasc_out[0] = max(resasc_out[0], resasc)
        c0 += width
    return 0


cdef int _raw_nonfinite(const double* fx, int rows, int m, int c0, int width) noexcept nogil:
    """NONFINITE if a raw value of components c0 .. c0 + width is inf or NaN, else OVERFLOW."""
    cdef int i, c
    for i in range(rows):
        for c in range(c0, c0 + width):
            if not isfinite(fx[i * m + c]):
                return NONFINITE
    return OVERFLOW


# ---------------------------------------------------------------- weighted panels (QAWO, QAWC, QAWS; QAWF's cycles)

cdef inline bint _cheb(const Qags* s, double a, double b) noexcept nogil:
    """Whether interval [a, b] of a weighted integral takes the 25-point Chebyshev panel (else Kronrod on f * w)."""
    return use_cheb_panel(s.wkind, s.wpar, a, b)


cdef inline int _interval_points(const Qags* s, double a, double b) noexcept nogil:
    """How many abscissae interval [a, b] requests."""
    if s.wkind == WEIGHT_NONE:
        return s.rule.n * _points_per_node(s)
    return CHEB_N if _cheb(s, a, b) else s.rule.n


cdef inline int _write_request(Qags* s, double a, double b, double* out) noexcept nogil:
    """OUT: the abscissae of interval [a, b] (never its ends); returns how many."""
    if s.wkind != WEIGHT_NONE and _cheb(s, a, b):
        cheb_nodes(a, b, out)
        return CHEB_N
    _write_abscissae(s, a, b, out)
    return s.rule.n * _points_per_node(s)


cdef inline double _split_point(const Qags* s, double a, double b) noexcept nogil:
    """Where to bisect [a, b]: the midpoint, except that QAWC never cuts at c (QUADPACK's DQAWCE: c goes to
    the quarter point of the half that holds it)."""
    cdef double mid = 0.5 * (a + b), c
    if s.wkind == WEIGHT_CAUCHY:
        c = s.wpar[0]
        if a < c <= mid:
            mid = 0.5 * (c + b)
        elif mid < c < b:
            mid = 0.5 * (a + c)
    return mid


cdef const double* _trig_cache(Qags* s, int level, double a, double b, double* tmp, double* theta_error,
                               double* theta_used) noexcept nogil:
    """The trigonometric moments (re then im, 50 doubles) at theta = omega (b - a) / 2: from the per-level
    cache (theta halves with each bisection, so each level's moments are computed once per integral, at most
    MAXP1 levels of 50 doubles = 20 kB), else computed into tmp (50 doubles). OUT: theta_error, |omega h - theta|
    relative to theta (the rounding of the product, exact by fma)."""
    cdef double h = 0.5 * (b - a), h_level, theta
    cdef double* grown
    cdef int k
    theta = s.wpar[0] * h
    theta_used[0] = theta
    theta_error[0] = fabs(fma(s.wpar[0], h, -theta) / theta)
    if level < MAXP1 and s.h0 > 0.0:
        h_level = ldexp(s.h0, -level)
        theta = s.wpar[0] * h_level
        theta_error[0] = fabs(fma(s.wpar[0], h, -theta) / theta)
        if fabs(h - h_level) <= 1e-12 * h_level:
            if level >= s.n_levels:
                grown = <double*> realloc(s.moments, (level + 1) * 2 * MOMENTS_N * sizeof(double))
                if grown != NULL:
                    s.moments = grown
                    for k in range(s.n_levels, level + 1):
                        s.moments[k * 2 * MOMENTS_N] = NAN_MARK
                    s.n_levels = level + 1
            if level < s.n_levels:
                if s.moments[level * 2 * MOMENTS_N] != s.moments[level * 2 * MOMENTS_N]:
                    trig_moments(s.wpar[0] * h_level, s.moments + level * 2 * MOMENTS_N,
                                 s.moments + level * 2 * MOMENTS_N + MOMENTS_N)
                theta_used[0] = s.wpar[0] * h_level
                return s.moments + level * 2 * MOMENTS_N
    trig_moments(s.wpar[0] * h, tmp, tmp + MOMENTS_N)
    return tmp


cdef inline double _two_sum_gap(double end, double c, double h) noexcept nogil:
    """|end - (c + h)| with c + h exact (TwoSum): how far a panel built from its rounded centre and half-length
    misses the end of its interval."""
    cdef double s = c + h, bb = s - c, e = (c - (s - bb)) + (h - bb)
    return fabs((end - s) - e)


cdef int _weighted_one(Qags* s, double a, double b, int level, const double* g, double* result, double* error,
                       double* resabs, double* resasc, double* raw) noexcept nogil:
    """The weighted panel of one component's values g on [a, b]: Chebyshev with modified moments
    (_moments.pxd), or Kronrod on f * w where the weight is smooth. f(c) is subtracted first in QAWC's near-end
    mode."""
    cdef int i, n, code
    cdef double centre = 0.5 * (a + b), half = 0.5 * (b - a)
    cdef double tmp[2 * MOMENTS_N]
    cdef const double* mom = NULL
    cdef double theta_error = 0.0, largest = 0.0, gap, theta = 0.0
    cdef bint cheb = _cheb(s, a, b)
    n = CHEB_N if cheb else s.rule.n
    for i in range(n):
        if not isfinite(g[i]):
            return NONFINITE
    if s.fourier:
        for i in range(n):
            s.fmax = max(s.fmax, fabs(g[i]))
    if s.subtract:
        for i in range(n):
            s.wbuf[i] = g[i] - s.fc
        g = s.wbuf
    if cheb:
        if s.wkind == WEIGHT_COS or s.wkind == WEIGHT_SIN:
            # (trig_panel_at corrects the moments from theta to omega h and the panel's rounded ends to the
            # interval's to first order; the bounds below stay: without the theta one a random sweep found an
            # estimate 5x below the true error at omega = 5e4 on [a, inf))
            mom = _trig_cache(s, level, a, b, tmp, &theta_error, &theta)
            code = trig_panel_at(a, b, s.wkind, s.wpar[0], theta, mom, mom + MOMENTS_N, g, result, error, resabs,
                                 resasc)
        else:
            if s.wkind >= WEIGHT_ALG:
                mom = s.moments
            code = weighted_panel(a, b, s.wkind, s.wpar, mom, g, result, error, resabs, resasc)
        gap = _two_sum_gap(a, centre, -half) + _two_sum_gap(b, centre, half)
        if theta_error > 0.0 or gap > 0.0:
            for i in range(n):
                largest = max(largest, fabs(g[i]))
            # a rounded centre or half-length moves the panel's ends by up to eps |x|: at large omega that sliver
            # holds as much as the integral
            error[0] += gap * largest
        if theta_error > 0.0:
            # the moments are those of theta (1 + d), |d| <= eps / 2 (the rounded omega h): the integral moves by
            # d theta dI/dtheta, |dI/dtheta| <= h (|f(a)| + |f(b)|) / theta (1 + O(1 / theta)), f at most about
            # its largest value at the nodes (WP3's battery: e^-x cos(100 x) on [0, inf) was 1.4x off)
            error[0] += 2.0 * (1.0 + 2.0 / fabs(s.wpar[0] * half)) * theta_error * fabs(half) * largest
        raw[0] = error[0]
        _end_floor(s, a, b, g, n, error, raw)
        return code
    for i in range(n):
        s.wbuf[i] = g[i] * weight_value(s.wkind, s.wpar, centre + half * s.rule.x[i])
        if not isfinite(s.wbuf[i]):
            return OVERFLOW
    code = _kronrod_sums(s.rule, s.wbuf, half, result, error, resabs, resasc, raw)
    _end_floor(s, a, b, g, n, error, raw)
    return OVERFLOW if code != 0 else 0


cdef inline void _end_floor(Qags* s, double a, double b, const double* g, int n, double* error,
                            double* raw) noexcept nogil:
    """A panel at a probed end of the range (see _request_ends) whose nodes all see |f| below half of |f(end)|
    has not resolved f there: its estimate is at least |f(end)| (b - a), so that bisection goes on until the
    nodes next to the end do."""
    cdef int i
    cdef double largest = 0.0, least = 0.0
    if s.f_lo == 0.0 and s.f_hi == 0.0:
        return
    for i in range(n):
        largest = max(largest, fabs(g[i]))
    if a == s.end_lo and largest < 0.5 * s.f_lo:
        least = s.f_lo * (b - a)
    if b == s.end_hi and largest < 0.5 * s.f_hi:
        least = max(least, s.f_hi * (b - a))
    if least > error[0]:
        error[0] = least
        s.floored = True
        raw[0] = max(raw[0], least)


cdef int _weighted_panel(Qags* s, double a, double b, int level, const double* fx, double* result, double* error,
                         double* resabs_out, double* resasc_out, double* raw_out) noexcept nogil:
    """_weighted_one for every component (weighted integrals are over finite ranges: mapping 0)."""
    cdef int i, c, code, m = s.m, n
    cdef double err, resabs, resasc, raw
    if _cheb(s, a, b):
        s.n_cc += 1
        n = CHEB_N
    else:
        s.n_gk += 1
        n = s.rule.n
    if m == 1:
        return _weighted_one(s, a, b, level, fx, result, error, resabs_out, resasc_out, raw_out)
    error[0] = resabs_out[0] = resasc_out[0] = raw_out[0] = 0.0
    for c in range(m):
        for i in range(n):
            s.gbuf[i] = fx[i * m + c]
        code = _weighted_one(s, a, b, level, s.gbuf, &result[c], &err, &resabs, &resasc, &raw)
        if code != 0:
            return code
        error[0] = max(error[0], err)
        raw_out[0] = max(raw_out[0], raw)
        resabs_out[0] = max(resabs_out[0], resabs)
        resasc_out[0] = max(resasc_out[0], resasc)
    return 0


# ---------------------------------------------------------------- ordering (QUADPACK's DQPSRT, on a sorted list)

cdef void _order_remove(Qags* s, int index, int count) noexcept nogil:
    cdef int p
    for p in range(count):
        if s.order[p] == index:
            memmove(&s.order[p], &s.order[p + 1], (count - p - 1) * sizeof(int))
            return


cdef int _order_insert(Qags* s, int index, int count) noexcept nogil:
    """Insert interval `index` into the descending list of length `count`; return its position."""
    cdef int lo = 0, hi = count, mid
    cdef double e = s.elist[index]
    while lo < hi:
        mid = (lo + hi) // 2
        if s.elist[s.order[mid]] >= e:
            lo = mid + 1
        else:
            hi = mid
    memmove(&s.order[lo + 1], &s.order[lo], (count - lo) * sizeof(int))
    s.order[lo] = index
    return lo


# ---------------------------------------------------------------- Wynn's epsilon algorithm (DQELG)

cdef void _epsilon(Qags* s, int* n_inout, double* result, double* abserr) noexcept nogil:
    cdef double* epstab = s.rlist2
    cdef int n = n_inout[0], num, newelm, k1, k2, k3, i, ib, ib2, ie, indx
    cdef double res, e0, e1, e2, e3, e1abs, delta1, delta2, delta3, err1, err2, err3, tol1, tol2, tol3
    cdef double ss, epsinf, error
    s.nres += 1
    s.eps_rounding = False
    abserr[0] = OFLOW
    result[0] = epstab[n - 1]
    if n < 3:
        abserr[0] = max(abserr[0], 5.0 * EPMACH * fabs(result[0]))
        return
    epstab[n + 1] = epstab[n - 1]
    newelm = (n - 1) // 2
    epstab[n - 1] = OFLOW
    num = n
    k1 = n
    for i in range(1, newelm + 1):
        k2 = k1 - 1
        k3 = k1 - 2
        res = epstab[k1 + 1]
        e0 = epstab[k3 - 1]
        e1 = epstab[k2 - 1]
        e2 = res
        e1abs = fabs(e1)
        delta2 = e2 - e1
        err2 = fabs(delta2)
        tol2 = max(fabs(e2), e1abs) * EPMACH
        delta3 = e1 - e0
        err3 = fabs(delta3)
        tol3 = max(e1abs, fabs(e0)) * EPMACH
        if err2 <= tol2 and err3 <= tol3:
            # e0, e1, e2 agree to rounding: take the result as converged
            result[0] = res
            abserr[0] = max(err2 + err3, 5.0 * EPMACH * fabs(res))
            n_inout[0] = n
            s.eps_rounding = True
            return
        e3 = epstab[k1 - 1]
        epstab[k1 - 1] = e1
        delta1 = e1 - e3
        err1 = fabs(delta1)
        tol1 = max(e1abs, fabs(e3)) * EPMACH
        if err1 <= tol1 or err2 <= tol2 or err3 <= tol3:
            n = i + i - 1
            break
        ss = 1.0 / delta1 + 1.0 / delta2 - 1.0 / delta3
        epsinf = fabs(ss * e1)
        if not epsinf > 1e-4:
            n = i + i - 1
            break
        res = e1 + 1.0 / ss
        epstab[k1 - 1] = res
        k1 = k1 - 2
        error = err2 + fabs(res - e2) + err3
        if error <= abserr[0]:
            abserr[0] = error
            result[0] = res
    if n == LIMEXP:
        n = 2 * (LIMEXP // 2) - 1
    ib = 1 if num % 2 else 2
    ie = newelm + 1
    for i in range(ie):
        ib2 = ib + 2
        epstab[ib - 1] = epstab[ib2 - 1]
        ib = ib2
    if num != n:
        indx = num - n + 1
        for i in range(n):
            epstab[i] = epstab[indx - 1]
            indx += 1
    if s.nres < 4:
        s.res3la[s.nres - 1] = result[0]
        abserr[0] = OFLOW
    else:
        abserr[0] = fabs(result[0] - s.res3la[2]) + fabs(result[0] - s.res3la[1]) + fabs(result[0] - s.res3la[0])
        s.res3la[0] = s.res3la[1]
        s.res3la[1] = s.res3la[2]
        s.res3la[2] = result[0]
    abserr[0] = max(abserr[0], 5.0 * EPMACH * fabs(result[0]))
    n_inout[0] = n


# ---------------------------------------------------------------- the state machine

cdef void _finish_sum(Qags* s) noexcept nogil:
    """result = sum of the interval values, abserr = errsum (QUADPACK's label 115)."""
    cdef int i, c
    for c in range(s.m):
        s.result[c] = 0.0
    for i in range(s.last):  # (interval-major: rlist is contiguous per interval)
        for c in range(s.m):
            s.result[c] += s.rlist[i * s.m + c]
    _resum_errors(s)
    s.abserr = s.errsum


cdef inline void _resum_errors(Qags* s) noexcept nogil:
    """errsum afresh from the estimates: the running update (+ the halves' - the parent's) cancels at the
    rounding level, and went negative (a negative error reported with success)."""
    cdef int i
    s.errsum = 0.0
    for i in range(s.last):
        s.errsum += s.elist[i]


cdef int _grow(Qags* s, int needed) noexcept nogil:
    """Make room for `needed` intervals (doubling); -1 if out of memory."""
    cdef int cap = s.capacity, k
    if needed <= cap:
        return 0
    while cap < needed:
        cap *= 2
    cap = min(cap, max(s.limit, needed))
    cdef double* alist = <double*> malloc(cap * sizeof(double))
    cdef double* blist = <double*> malloc(cap * sizeof(double))
    cdef double* elist = <double*> malloc(cap * sizeof(double))
    cdef double* defabs_list = <double*> malloc(cap * sizeof(double))
    cdef double* floor_list = <double*> malloc(cap * sizeof(double))
    cdef double* rlist = <double*> malloc(cap * s.m * sizeof(double))
    cdef int* order = <int*> malloc(cap * sizeof(int))
    cdef int* level = <int*> malloc(cap * sizeof(int))
    if (alist == NULL or blist == NULL or elist == NULL or defabs_list == NULL or floor_list == NULL or rlist == NULL
            or order == NULL or level == NULL):
        free(alist); free(blist); free(elist); free(defabs_list); free(floor_list); free(rlist); free(order)
        free(level)
        return -1
    memcpy(alist, s.alist, s.capacity * sizeof(double))
    memcpy(blist, s.blist, s.capacity * sizeof(double))
    memcpy(elist, s.elist, s.capacity * sizeof(double))
    memcpy(defabs_list, s.defabs_list, s.capacity * sizeof(double))
    memcpy(floor_list, s.floor_list, s.capacity * sizeof(double))
    memcpy(rlist, s.rlist, s.capacity * s.m * sizeof(double))
    memcpy(order, s.order, s.capacity * sizeof(int))
    memcpy(level, s.level, s.capacity * sizeof(int))
    _free_intervals(s)
    s.alist, s.blist, s.elist, s.defabs_list, s.rlist = alist, blist, elist, defabs_list, rlist
    s.floor_list = floor_list
    s.order, s.level = order, level
    s.owns_intervals = True
    s.capacity = cap
    return 0


cdef void _free_intervals(Qags* s) noexcept nogil:
    if s.owns_intervals:
        free(s.alist); free(s.blist); free(s.elist); free(s.defabs_list); free(s.floor_list); free(s.rlist)
        free(s.order); free(s.level)
    s.alist = s.blist = s.elist = s.defabs_list = s.floor_list = s.rlist = NULL
    s.order = s.level = NULL


cdef int _request_bisection(Qags* s) noexcept nogil:
    """Ask for the values on the two halves of interval maxerr."""
    cdef double a1 = s.alist[s.maxerr], b2 = s.blist[s.maxerr], mid
    cdef int n1, n2
    cdef bint plain = s.wkind == WEIGHT_NONE
    if plain:  # (the plain path stays as short as it was: every bisection passes here)
        mid = 0.5 * (a1 + b2)
        n1 = n2 = s.maxper
    else:
        mid = _split_point(s, a1, b2)
        n1 = _interval_points(s, a1, mid)
        n2 = _interval_points(s, mid, b2)
    if s.last >= s.limit:
        s.status = LIMIT
        return 0
    if s.nfev + n1 + n2 > s.max_nfev:
        s.status = MAX_NFEV
        return 0
    if _grow(s, s.last + 1) != 0:
        s.status = OUT_OF_MEMORY
        return 0
    s.n_pending = 2
    s.pending[0] = s.maxerr
    s.pending[1] = s.last
    s.split = mid
    s.plevel = s.level[s.maxerr] + 1
    if plain:
        _write_abscissae(s, a1, mid, s.xreq)
        _write_abscissae(s, mid, b2, s.xreq + n1)
    else:
        _write_request(s, a1, mid, s.xreq)
        _write_request(s, mid, b2, s.xreq + n1)
    s.npend[0] = n1
    s.npend[1] = n2
    s.n_points = n1 + n2
    return 1


cdef void _finalize(Qags* s) noexcept nogil:
    """QUADPACK's exit logic (labels 100-130): choose between the extrapolated and the summed result."""
    cdef int status = s.status
    cdef double ratio
    s.n_pending = 0
    s.n_points = 0
    if status == NONFINITE or status == OVERFLOW or not s.extrapolate or s.abserr == OFLOW:
        _finish_sum(s)
        s.status = CONVERGED if status == RUNNING else status
        return
    if status == RUNNING:
        status = CONVERGED
    # here s.result/s.abserr hold the extrapolated answer
    if status == CONVERGED and s.ierro == 0:
        pass
    else:
        if s.ierro == 3:
            s.abserr += s.correc
        if status == CONVERGED:
            status = BAD_INTEGRAND  # QUADPACK ier=3 after the shift below: roundoff in extrapolation
        if s.result[0] != 0.0 and s.area[0] != 0.0:
            if s.abserr / fabs(s.result[0]) > s.errsum / fabs(s.area[0]):
                _finish_sum(s)
                s.status = status
                return
        elif s.abserr > s.errsum:
            _finish_sum(s)
            s.status = status
            return
        elif s.area[0] == 0.0:
            s.status = status
            return
    # test on divergence
    if not (s.ksgn == -1 and max(fabs(s.result[0]), fabs(s.area[0])) <= s.defabs * 0.01):
        ratio = s.result[0] / s.area[0] if s.area[0] != 0.0 else 0.0
        if 0.01 > ratio or ratio > 100.0 or s.errsum > fabs(s.area[0]):
            status = DIVERGENT
    s.status = status


cdef void _after_initial(Qags* s) noexcept nogil:
    """QUADPACK's set-up after the first Gauss–Kronrod pass over the initial intervals."""
    cdef int i, c
    cdef double longest = 0.0
    cdef double initial_error = 0.0
    s.defabs = 0.0
    for c in range(s.m):
        s.area[c] = 0.0
    for i in range(s.last):
        initial_error += s.elist[i]
        s.defabs += s.defabs_list[i]
        for c in range(s.m):
            s.area[c] += s.rlist[i * s.m + c]
        longest = max(longest, s.blist[i] - s.alist[i])
    s.errsum = 0.0
    for i in range(s.last):
        if s.level[i] == -1:
            s.elist[i] = initial_error  # bisect the intervals without a real estimate first
        s.level[i] = 0
        s.errsum += s.elist[i]
        _order_insert(s, i, i)
    s.dres = 0.0
    for c in range(s.m):
        s.dres = max(s.dres, fabs(s.area[c]))
    s.errbnd = max(s.epsabs, s.epsrel * s.dres)
    s.maxerr = s.order[0]
    s.errmax = s.elist[s.maxerr]
    s.nrmax = 1
    s.ksgn = 1 if s.dres >= (1.0 - 50.0 * EPMACH) * s.defabs else -1
    if initial_error <= 100.0 * EPMACH * s.defabs and initial_error > s.errbnd:
        s.status = ROUNDOFF
    elif initial_error <= s.errbnd or initial_error == 0.0:
        s.status = CONVERGED
    if s.status != RUNNING:
        _finish_sum(s)
        s.abserr = initial_error
        s.n_pending = 0
        s.n_points = 0
        return
    for c in range(s.m):
        s.result[c] = s.area[c]
    s.rlist2 = <double*> calloc(LIMEXP + 2, sizeof(double))
    if s.rlist2 == NULL:
        s.status = OUT_OF_MEMORY
        _finish_sum(s)
        s.n_pending = 0
        s.n_points = 0
        return
    s.rlist2[0] = s.area[0]
    s.nhist = 0
    _record_sum(s)
    s.abserr = OFLOW
    s.numrl2 = 1 if s.by_level else 2
    s.small = 0.375 * longest
    s.erlarg = s.errsum
    s.ertest = s.errbnd
    s.extrap = False
    s.noext = not s.extrapolate
    if not _request_bisection(s):
        _finalize(s)


cdef inline void _store(Qags* s, int i, double a, double b, const double* area, double error,
                        double defabs) noexcept nogil:
    cdef int c
    s.alist[i] = a
    s.blist[i] = b
    s.elist[i] = error
    s.defabs_list[i] = defabs
    for c in range(s.m):
        s.rlist[i * s.m + c] = area[c]


cdef inline bint _large(const Qags* s, int level, double length) noexcept nogil:
    """Whether an interval counts as large for the extrapolation: by length (QAGS) or level (QAGP)."""
    if s.by_level:
        return level + 1 <= s.levmax
    return fabs(length) > s.small


cdef bint _regular(const Qags* s) noexcept nogil:
    """Whether the last five extrapolated sums converge like the geometric sequence Wynn's algorithm
    assumes: the three ratios of successive differences below 1 in size and within RATIO_SPREAD of one
    another. Singularities inside the range (not at a breakpoint) give sums that jump about, and an
    extrapolation of those can settle on a wrong value."""
    cdef int k
    cdef double d[4]
    cdef double q, previous = 0.0
    if s.nhist < 5:
        return False
    for k in range(4):
        d[k] = s.hist[4 - k] - s.hist[3 - k]  # d[0] the latest difference
    for k in range(3):
        if d[k + 1] == 0.0:
            return False
        q = d[k] / d[k + 1]
        if not fabs(q) < 1.0 or (k > 0 and fabs(q - previous) > RATIO_SPREAD):
            return False
        previous = q
    return True


cdef double _window(const Qags* s) noexcept nogil:
    """Wynn's epsilon_4 of the last five extrapolated sums alone (s.nhist == 5): what the recent sums say
    without the early ones, which precede the regular convergence and can bias the deep columns."""
    cdef double previous[5]
    cdef double current[5]
    cdef double following
    cdef int j, column, length = 5
    cdef double d
    for j in range(5):
        current[j] = s.hist[j]
        previous[j] = 0.0
    for column in range(4):
        for j in range(length - 1):
            d = current[j + 1] - current[j]
            if d == 0.0:
                return current[length - 1]
            following = previous[j + 1] + 1.0 / d
            previous[j] = current[j]
            current[j] = following
        previous[length - 1] = current[length - 1]
        length -= 1
    return current[0]


cdef void _record_sum(Qags* s) noexcept nogil:
    """Keep the last five sums handed to the extrapolation."""
    if s.nhist == 5:
        memmove(&s.hist[0], &s.hist[1], 4 * sizeof(double))
        s.nhist = 4
    s.hist[s.nhist] = s.area[0]
    s.nhist += 1


cdef bint _raise_to_floors(Qags* s) noexcept nogil:
    """The summed estimate is about to meet the tolerance: hold every interval to its floor first.

    Returns whether that changed anything (the sum of the raised estimates exceeds the tolerance): the
    estimates are raised, the floors spent, and the ordering and QUADPACK's bookkeeping redone."""
    cdef int i
    cdef double total = 0.0
    for i in range(s.last):
        total += max(s.elist[i], s.floor_list[i])
    if total <= s.errbnd:
        return False
    s.errsum = 0.0
    for i in range(s.last):
        if s.floor_list[i] > s.elist[i]:
            if _large(s, s.level[i], s.blist[i] - s.alist[i]):
                s.erlarg += s.floor_list[i] - s.elist[i]
            s.elist[i] = s.floor_list[i]
        s.floor_list[i] = 0.0
        s.errsum += s.elist[i]
    for i in range(s.last):
        _order_insert(s, i, i)
    s.nrmax = 1
    s.maxerr = s.order[0]
    s.errmax = s.elist[s.maxerr]
    return True


cdef void _after_bisection(Qags* s, const double* fx) noexcept nogil:
    """QUADPACK's main loop body, from the new values on the two halves of maxerr to the next request."""
    cdef int c, k, jupbnd, position, small_pos
    cdef int maxerr = s.maxerr, last = s.last
    cdef double a1 = s.alist[maxerr], b2 = s.blist[maxerr], b1 = s.split
    cdef double error1, error2, defab1, defab2, asc1, asc2, erro12, reseps, abseps, area12, best
    cdef double raw1 = 0.0, raw2 = 0.0, change = 0.0, floor1 = 0.0, floor2 = 0.0
    cdef double* area1 = s.scratch
    cdef double* area2 = area1 + s.m
    cdef bint large_left = False, trusted
    s.floored = False
    cdef int code = _panel(s, a1, b1, s.plevel, fx, area1, &error1, &defab1, &asc1, &raw1)
    if code == 0:
        code = _panel(s, b1, b2, s.plevel, fx + s.npend[0] * s.m, area2, &error2, &defab2, &asc2, &raw2)
    if code != 0:
        s.status = code
        s.last += 1  # keep the bookkeeping consistent for the final sum
        s.alist[last] = b1
        s.blist[last] = b2
        s.blist[maxerr] = b1
        s.elist[last] = 0.0
        s.floor_list[last] = 0.0
        for c in range(s.m):
            s.rlist[last * s.m + c] = 0.0
        _finalize(s)
        return
    s.erlast = s.errmax
    erro12 = error1 + error2
    s.errsum = s.errsum + erro12 - s.errmax
    best = 0.0
    area12 = 0.0
    for c in range(s.m):
        s.area[c] += area1[c] + area2[c] - s.rlist[maxerr * s.m + c]
    area12 = area1[0] + area2[0]
    if asc1 != error1 and asc2 != error2 and not s.floored:
        if fabs(s.rlist[maxerr * s.m] - area12) <= 1e-5 * fabs(area12) and erro12 >= 0.99 * s.errmax:
            if s.extrap:
                s.iroff2 += 1
            else:
                s.iroff1 += 1
        if s.last > 10 and erro12 > s.errmax:
            s.iroff3 += 1
    s.dres = 0.0
    for c in range(s.m):
        s.dres = max(s.dres, fabs(s.area[c]))
    s.errbnd = max(s.epsabs, s.epsrel * s.dres)
    if s.extrapolate:
        if s.iroff1 + s.iroff2 >= 10 or s.iroff3 >= 20:
            s.status = ROUNDOFF
        if s.iroff2 >= 5:
            s.ierro = 3
    elif s.iroff1 >= 6 or s.iroff3 >= 20:
        s.status = ROUNDOFF
    if max(fabs(a1), fabs(b2)) <= (1.0 + 100.0 * EPMACH) * (fabs(b1) + 1000.0 * UFLOW):
        s.status = BAD_INTEGRAND
    # the parent's value less its halves' is about the parent's true error; each half may claim less than
    # its share of half of it only if the sum does not depend on that (see _raise_to_floors)
    for c in range(s.m):
        change = max(change, fabs(s.rlist[maxerr * s.m + c] - area1[c] - area2[c]))
    if raw1 + raw2 > 0.0:
        floor1 = FLOOR_FRACTION * change * raw1 / (raw1 + raw2)
        floor2 = FLOOR_FRACTION * change * raw2 / (raw1 + raw2)
    # store the halves: maxerr keeps the one with the larger error, the new slot `last` the other
    _order_remove(s, maxerr, last)
    if error2 > error1:
        _store(s, maxerr, b1, b2, area2, error2, defab2)
        _store(s, last, a1, b1, area1, error1, defab1)
        s.floor_list[maxerr] = floor2
        s.floor_list[last] = floor1
    else:
        _store(s, maxerr, a1, b1, area1, error1, defab1)
        _store(s, last, b1, b2, area2, error2, defab2)
        s.floor_list[maxerr] = floor1
        s.floor_list[last] = floor2
    s.level[last] = s.level[maxerr] + 1
    s.level[maxerr] += 1
    position = _order_insert(s, maxerr, last - 1)
    _order_insert(s, last, last)
    s.last = last + 1
    if position < s.nrmax - 1:
        s.nrmax = position + 1  # subdivision raised the error: resume the scan higher up (DQPSRT)
    if s.nrmax > s.last:
        s.nrmax = s.last
    s.maxerr = s.order[s.nrmax - 1]
    s.errmax = s.elist[s.maxerr]

    if s.errsum <= s.errbnd:
        _resum_errors(s)
    if s.errsum <= s.errbnd and not _raise_to_floors(s):
        _finish_sum(s)
        s.status = CONVERGED
        s.n_pending = 0
        s.n_points = 0
        return
    if s.status != RUNNING:
        if s.extrapolate and s.abserr != OFLOW:
            _finalize(s)
        else:
            _finish_sum(s)
            s.n_pending = 0
            s.n_points = 0
        return
    if (s.f_lo > 0.0 or s.f_hi > 0.0) and _floor_live(s):
        # an end interval still holds its floor: the sums so far miss f there (all 0 for e^-x on [0, 10^6]),
        # and Wynn's table would confirm them as converged; it restarts once the end is resolved
        s.rlist2[0] = s.area[0]
        s.rlist2[1] = s.area[0]
        s.numrl2 = 2
        s.nres = 0
        s.nhist = 0
        _record_sum(s)
        s.extrap = False
        s.erlarg = s.errsum
        s.ertest = s.errbnd
    elif s.last == 2 and not s.by_level:
        # (small keeps 0.375 (b - a) from the set-up)
        s.erlarg = s.errsum
        s.ertest = s.errbnd
        s.rlist2[1] = s.area[0]
        _record_sum(s)
    elif not s.noext:
        s.erlarg -= s.erlast
        if _large(s, s.level[last], b1 - a1):
            s.erlarg += erro12
        if not s.extrap:
            if _large(s, s.level[s.maxerr], s.blist[s.maxerr] - s.alist[s.maxerr]):
                if not _request_bisection(s):
                    _finalize(s)
                return
            s.extrap = True
            s.nrmax = 2
        if s.ierro != 3 and s.erlarg > s.ertest:
            # the smallest intervals carry the largest errors: bisect the large ones first
            jupbnd = s.last
            if s.last > 2 + s.limit // 2:
                jupbnd = s.limit + 3 - s.last
            for k in range(s.nrmax, jupbnd + 1):
                if s.nrmax > s.last:
                    break
                s.maxerr = s.order[s.nrmax - 1]
                s.errmax = s.elist[s.maxerr]
                if _large(s, s.level[s.maxerr], s.blist[s.maxerr] - s.alist[s.maxerr]):
                    if not _request_bisection(s):
                        _finalize(s)
                    return
                s.nrmax += 1
        # extrapolate
        s.numrl2 += 1
        s.rlist2[s.numrl2 - 1] = s.area[0]
        _record_sum(s)
        if not (s.by_level and s.numrl2 <= 2):
            _epsilon(s, &s.numrl2, &reseps, &abseps)
            s.ktmin += 1
            if s.ktmin > 5 and s.abserr < 1e-3 * s.errsum:
                s.status = NO_EXTRAPOLATION
            # three table entries equal to rounding are their own confirmation (QUADPACK accepts them as is)
            trusted = s.eps_rounding
            if not trusted:
                abseps *= WYNN_SAFETY
                trusted = _regular(s) and fabs(_window(s) - reseps) <= max(s.epsabs, s.epsrel * fabs(reseps))
            if trusted and abseps < s.abserr:
                s.ktmin = 0
                s.abserr = abseps
                s.result[0] = reseps
                s.correc = s.erlarg
                s.ertest = max(s.epsabs, s.epsrel * fabs(reseps))
                if s.abserr < s.ertest or (s.abserr == s.ertest and not s.by_level):
                    _finalize(s)
                    return
            if s.numrl2 == 1:
                s.noext = True
            if s.status == NO_EXTRAPOLATION:
                _finalize(s)
                return
        s.maxerr = s.order[0]
        s.errmax = s.elist[s.maxerr]
        s.nrmax = 1
        s.extrap = False
        s.small *= 0.5
        s.levmax += 1
        s.erlarg = s.errsum
    if not _request_bisection(s):
        _finalize(s)


cdef void qags_receive(Qags* s, const double* fx) noexcept nogil:
    """Take the values (n_points x m) for the pending request and advance to the next request."""
    cdef int i, index, code, offset = 0
    s.nfev += s.n_points
    if s.n_pending == 0:
        return
    if s.probing:
        _receive_ends(s, fx)
    elif s.last == 0:  # the initial pass over the breakpoint intervals
        code = 0
        if s.subtract:
            s.fc = fx[s.n_points - 1]  # (m == 1 here, see qags_init)
            if not isfinite(s.fc):
                code = NONFINITE
        for i in range(s.n_pending):
            if code != 0:
                break
            index = s.pending[i]
            # (errmax and erlast serve as scratch for int|f - mean| and the raw estimate until the set-up)
            code = _panel(s, s.alist[index], s.blist[index], 0, fx + offset * s.m, s.rlist + index * s.m,
                          &s.elist[index], &s.defabs_list[index], &s.errmax, &s.erlast)
            offset += s.npend[i]
            if code != 0:
                for i in range(s.m):
                    # an overflow shows the non-finite panel value; an inf or NaN from f shows nothing
                    s.result[i] = s.rlist[index * s.m + i] if code == OVERFLOW else 0.0
                break
            # QAGP: an estimate equal to int |f - mean| is no estimate at all (flagged, see _after_initial)
            s.level[index] = -1 if (s.elist[index] == s.errmax and s.elist[index] != 0.0) else 0
        if code != 0:
            s.status = code
            s.n_pending = 0
            s.n_points = 0
            if code != OVERFLOW:
                for i in range(s.m):
                    s.result[i] = 0.0
            s.abserr = INF if code == OVERFLOW else OFLOW
        else:
            s.last = s.n_pending
            if not _request_ends(s, fx):
                _after_initial(s)
    else:
        _after_bisection(s, fx)
    if s.n_points == 0:
        if s.subtract and s.status != NONFINITE:
            # the singular part's PV in closed form (its rounding is the estimate's share)
            s.result[0] += s.fc * s.pv_log
            s.abserr += 2.0 * EPMACH * fabs(s.fc * s.pv_log)
        if s.wkind != WEIGHT_NONE and s.status != NONFINITE and s.status != OVERFLOW:
            _rounding_floor(s)
        if s.fourier:
            _next_cycle(s)
        if s.n_points == 0:
            _check_overflow(s)


cdef void _rounding_floor(Qags* s) noexcept nogil:
    """A weighted integral's error is at least 50 eps times the sum of |its panels| (QUADPACK's floor is per
    panel, on int |f w|; the moment panels' own rounding estimates fell a little short of the true error at
    the rounding level: log x sin(65963 x) on [0, 1], 7.9e-19 for 8.4e-19)."""
    cdef int i, c
    cdef double total = 0.0
    for i in range(s.last):
        for c in range(s.m):
            total += fabs(s.rlist[i * s.m + c])
    if isfinite(total) and s.abserr < 50.0 * EPMACH * total:
        s.abserr = 50.0 * EPMACH * total


cdef bint _floor_live(const Qags* s) noexcept nogil:
    """Whether an interval at a probed end still carries the estimate _end_floor gave it."""
    cdef int i
    for i in range(s.last):
        if s.alist[i] == s.end_lo and s.f_lo > 0.0 and s.elist[i] >= s.f_lo * (s.blist[i] - s.alist[i]):
            return True
        if s.blist[i] == s.end_hi and s.f_hi > 0.0 and s.elist[i] >= s.f_hi * (s.blist[i] - s.alist[i]):
            return True
    return False


cdef bint _request_ends(Qags* s, const double* fx) noexcept nogil:
    """QAWO and QAWF's first cycle: when f is exactly 0 at every node of the first request, ask for f at the
    finite ends of the range (one or two evaluations more; the only abscissae ever at an end). The interior
    nodes stay about 0.002 h away from the ends, so an f that decays within that (e^-x on [0, 10^6], or on
    QAWF's first cycle of length ~pi / omega for a small omega) looked like 0 and was accepted with error 0.
    Returns whether the probe is now the pending request (or the budget ended the integral)."""
    cdef int i, k = 0
    if s.m != 1 or (s.wkind != WEIGHT_COS and s.wkind != WEIGHT_SIN) or s.qf_cycles > 0:
        return False
    for i in range(s.n_points):
        if fx[i] != 0.0:
            return False
    if isfinite(s.end_lo):
        s.xreq[k] = s.end_lo
        k += 1
    if isfinite(s.end_hi):
        s.xreq[k] = s.end_hi
        k += 1
    if s.nfev + k > s.max_nfev:
        s.status = MAX_NFEV
        _finish_sum(s)
        s.abserr = OFLOW
        s.n_pending = 0
        s.n_points = 0
        return True
    s.probing = True
    s.n_pending = 1
    s.n_points = k
    return True


cdef void _receive_ends(Qags* s, const double* fx) noexcept nogil:
    """The ends' values (a non-finite one is a singular end, left to the other checks): the intervals at an end
    where f is not small get an estimate of at least |f(end)| times their length (_end_floor), then the set-up."""
    cdef int i, k = 0
    s.probing = False
    if isfinite(s.end_lo):
        s.f_lo = fabs(fx[k]) if isfinite(fx[k]) else 0.0
        k += 1
    if isfinite(s.end_hi):
        s.f_hi = fabs(fx[k]) if isfinite(fx[k]) else 0.0
    for i in range(s.last):
        if s.alist[i] == s.end_lo and s.f_lo > 0.0:
            s.elist[i] = max(s.elist[i], s.f_lo * (s.blist[i] - s.alist[i]))
        if s.blist[i] == s.end_hi and s.f_hi > 0.0:
            s.elist[i] = max(s.elist[i], s.f_hi * (s.blist[i] - s.alist[i]))
    _after_initial(s)


cdef void _check_overflow(Qags* s) noexcept nogil:
    """A finished integral whose sum or error estimate is not finite has failed, whatever its status
    says: the panels were finite, but adding them up overflowed."""
    cdef int c
    if s.status == NONFINITE or s.status == OVERFLOW:
        return
    for c in range(s.m):
        if not isfinite(s.result[c]):
            s.status = OVERFLOW
            return
    if not isfinite(s.abserr):
        s.status = OVERFLOW


cdef inline int qags_cuts(int n_cuts, int wkind) noexcept nogil:
    """Cuts of the initial partition: QAWS bisects [a, b] once, so that no interval touches both ends."""
    return 3 if (wkind >= WEIGHT_ALG and n_cuts == 2) else n_cuts


cdef inline int qags_max_points(const KronrodRule* rule, int mapping, int wkind) noexcept nogil:
    """The most abscissae one interval may request: the Kronrod nodes (twice for the folded real line), or 25
    Chebyshev nodes for a weighted integral."""
    cdef int n = rule.n * (2 if mapping == 3 else 1)
    return max(n, <int> CHEB_N) if wkind != WEIGHT_NONE else n


cdef size_t qags_arena_size(int m, int n_cuts, int per, int capacity, int wkind) noexcept nogil:
    """Bytes qags_init carves from an arena for one integral of `capacity` intervals (doubles first), with
    n_cuts = qags_cuts(...) and per = qags_max_points(...); a weighted integral (wkind != 0) needs two
    buffers of `per` values more."""
    cdef size_t doubles = (capacity * (5 + m) + max(2, n_cuts - 1) * per + 1 + 2 * m
                           + (2 * m + (2 * per if wkind != WEIGHT_NONE else 0)) + n_cuts)
    cdef size_t ints = 2 * capacity + 2 * max(n_cuts - 1, 2)
    return doubles * sizeof(double) + ints * sizeof(int)


cdef int qags_init(Qags* s, int m, int limit, long max_nfev, int mapping, double shift, const double* cuts,
                   int n_cuts, double epsabs, double epsrel, KronrodRule* rule, char* arena, int wkind,
                   const double* wpar) noexcept nogil:
    """Set up an integral over the t-intervals between consecutive `cuts` (n_cuts >= 2), and request them.

    `arena` is NULL (allocate here) or zeroed memory of qags_arena_size() bytes owned by the caller.
    `wkind` (_moments.pxd's WEIGHT_*, 0 for none) and `wpar` (4 doubles, NULL when wkind is 0) make it a
    weighted integral over a finite range (mapping 0): QAWO for cos/sin, QAWF for cos/sin when the last cut
    is +inf, QAWC for cauchy (c not a cut), QAWS for the alg kinds (wpar = alpha, beta, a, b).
    Returns -1 if out of memory.
    """
    cdef int i, n_eff = qags_cuts(n_cuts, wkind), per = qags_max_points(rule, mapping, wkind)
    cdef double* d
    cdef int* k
    cdef double three[3]
    cdef double c, lo, hi
    s.m = m
    s.limit = max(limit, n_eff - 1)
    s.max_nfev = max_nfev
    s.mapping = mapping
    s.shift = shift
    s.epsabs = epsabs
    s.epsrel = epsrel
    s.rule = rule
    s.maxper = per
    s.wkind = wkind
    for i in range(4):
        s.wpar[i] = wpar[i] if wkind != WEIGHT_NONE else 0.0
    s.xsign = 1.0
    s.subtract = False
    s.fc = 0.0
    s.pv_log = 0.0
    s.moments = NULL
    s.n_levels = 0
    s.h0 = 0.0
    s.n_gk = 0
    s.n_cc = 0
    s.fourier = wkind != WEIGHT_NONE and wkind <= WEIGHT_SIN and cuts[n_cuts - 1] == INF
    s.qf_psum = NULL
    s.qf_cycles = 0
    s.qf_nsub = 0
    s.end_lo = cuts[0]
    s.end_hi = INF if s.fourier else cuts[n_cuts - 1]
    s.f_lo = 0.0
    s.f_hi = 0.0
    s.probing = False
    # QUADPACK extrapolates in QAWO (DQAWOE), not in QAWC and QAWS, whose singularities the moments take
    s.extrapolate = m == 1 and (wkind == WEIGHT_NONE or wkind <= WEIGHT_SIN)
    # a lone integral starts with room for 64 intervals (one allocation, no early growth); integrals
    # in a batch start small, since most of thousands converge at once
    s.capacity = max(n_eff - 1, 4 if arena != NULL else min(max(limit, 4), 64))
    s.rlist2 = NULL  # allocated when extrapolation starts
    s.owns_intervals = False
    s.arena_start = NULL
    if arena == NULL:
        arena = <char*> calloc(qags_arena_size(m, n_eff, per, s.capacity, wkind), 1)
        if arena == NULL:
            return -1
        s.arena_start = arena
    if s.fourier:
        s.qf_psum = <double*> calloc(LIMEXP + 2, sizeof(double))
        if s.qf_psum == NULL:
            free(s.arena_start)
            s.arena_start = NULL
            return -1
    d = <double*> arena
    s.alist = d; d += s.capacity
    s.blist = d; d += s.capacity
    s.elist = d; d += s.capacity
    s.defabs_list = d; d += s.capacity
    s.floor_list = d; d += s.capacity
    s.rlist = d; d += s.capacity * m
    s.xreq = d; d += max(2, n_eff - 1) * per + 1
    s.area = d; d += m
    s.result = d; d += m
    s.scratch = d; d += 2 * m + (2 * per if wkind != WEIGHT_NONE else 0)
    s.gbuf = s.scratch + 2 * m   # weighted integrals only
    s.wbuf = s.gbuf + per
    s.initial_cuts = d; d += n_eff
    k = <int*> d
    s.order = k; k += s.capacity
    s.level = k; k += s.capacity
    s.pending = k; k += max(n_eff - 1, 2)
    s.npend = k
    s.nfev = 0
    if wkind >= WEIGHT_ALG:
        s.wpar[2] = cuts[0]
        s.wpar[3] = cuts[n_cuts - 1]
        s.moments = <double*> malloc(4 * MOMENTS_N * sizeof(double))
        if s.moments == NULL:
            return -1
        jacobi_moments_all(s.wpar, s.moments)
        if n_cuts == 2:
            three[0] = cuts[0]
            three[1] = 0.5 * (cuts[0] + cuts[1])
            three[2] = cuts[1]
            cuts = three
    elif wkind == WEIGHT_CAUCHY:
        c, lo, hi = s.wpar[0], cuts[0], cuts[n_cuts - 1]
        if m == 1 and min(c - lo, hi - c) <= NEAR_END * (hi - lo):
            s.subtract = True
            s.pv_log = log((hi - c) / (c - lo))
    if s.fourier:
        # QUADPACK's DQAWFE: cycles of an odd number of half periods, so that successive cycle integrals
        # of a monotone f alternate in sign (Wynn's epsilon accelerates such series best)
        s.qf_a = cuts[0]
        s.qf_period = (2.0 * floor(fabs(s.wpar[0])) + 1.0) * M_PI / fabs(s.wpar[0])
        s.qf_atol = epsabs
        s.qf_rtol = epsrel
        s.qf_numrl2 = 0
        s.qf_nres = 0
        s.qf_ktmin = 0
        s.qf_worst = 0
        s.qf_errsum = 0.0
        s.qf_correc = 0.0
        s.qf_result = 0.0
        s.qf_abserr = OFLOW
        s.qf_largest = 0.0
        s.qf_last = 0.0
        s.qf_previous = 0.0
        s.fmax = 0.0
        three[0] = s.qf_a
        three[1] = s.qf_a + s.qf_period
        _cycle_tolerance(s)
        _begin(s, three, 2)
        return 0
    _begin(s, cuts, n_eff)
    return 0


cdef void _begin(Qags* s, const double* cuts, int n_cuts) noexcept nogil:
    """Reset the subdivision to the intervals between `cuts` and request them (QAWF: once per cycle, keeping
    nfev and the moment cache)."""
    cdef int i, offset = 0
    free(s.rlist2)
    s.rlist2 = NULL
    s.last = 0
    s.status = RUNNING
    s.nres = 0
    s.ktmin = 0
    s.ierro = 0
    s.iroff1 = 0
    s.iroff2 = 0
    s.iroff3 = 0
    s.correc = 0.0
    s.abserr = OFLOW
    s.nhist = 0
    s.eps_rounding = False
    s.n_initial = n_cuts - 1
    s.by_level = n_cuts > 2
    s.levmax = 1
    s.plevel = 0
    s.h0 = 0.5 * (cuts[1] - cuts[0])
    s.n_extra = 1 if s.subtract else 0
    for i in range(n_cuts - 1):
        offset += _interval_points(s, cuts[i], cuts[i + 1])
    if offset + s.n_extra + s.nfev > s.max_nfev:
        s.status = MAX_NFEV
        s.n_pending = 0
        s.n_points = 0
        return
    offset = 0
    for i in range(n_cuts):
        s.initial_cuts[i] = cuts[i]
    for i in range(n_cuts - 1):
        s.alist[i] = cuts[i]
        s.blist[i] = cuts[i + 1]
        s.pending[i] = i
        s.npend[i] = _write_request(s, cuts[i], cuts[i + 1], s.xreq + offset)
        offset += s.npend[i]
    if s.subtract:
        s.xreq[offset] = s.wpar[0]
        offset += 1
    s.n_pending = n_cuts - 1
    s.n_points = offset


cdef void _cycle_tolerance(Qags* s) noexcept nogil:
    """QAWF: cycle k's tolerance, (1 - p) p^k of max(atol, rtol |the integral so far|) (DQAWFE's geometric
    split), or (1 - p) p^k rtol of the cycle's own value, which is all there is to go on in the first cycle
    when atol is 0."""
    cdef double share = (1.0 - P_CYCLE) * pow(P_CYCLE, s.qf_cycles)
    s.epsabs = share * max(s.qf_atol, s.qf_rtol * fabs(s.qf_result))
    s.epsrel = share * s.qf_rtol


cdef void _next_cycle(Qags* s) noexcept nogil:
    """QAWF (QUADPACK's DQAWFE): a cycle's QAWO run has finished. Add it to the series of cycle integrals,
    extrapolate the partial sums with Wynn's epsilon (_epsilon on a table of its own), and either finish or
    request the next cycle.

    Converged only when the cycles have fallen (the last one's largest |f| at most half the largest: an
    integrand that does not decay gives cycles of equal size, whose alternating sums Wynn's algorithm would
    "sum" to the midpoint of a divergent integral, and whose integrals are all 0 for f = 1 and cos from 0) and
    the extrapolation's error (times WYNN_SAFETY) plus every cycle's error estimate is within max(atol,
    rtol |I|); after LIMLST cycles, status LIMIT, or DIVERGENT if the cycles did not fall."""
    cdef double value = s.result[0], err = s.abserr, reseps = 0.0, abseps = OFLOW, target, partial, total
    cdef double size = 0.0
    cdef double cuts[2]
    cdef double saved3[3]
    cdef double* inner_table
    cdef int status = s.status, inner_nres, k
    cdef bint decaying
    s.qf_cycles += 1
    s.qf_nsub += s.last
    if status == NONFINITE or status == OVERFLOW or status == OUT_OF_MEMORY or status == MAX_NFEV:
        s.result[0] = s.qf_previous + value
        s.abserr = OFLOW if status != OVERFLOW else INF
        return
    if status != CONVERGED:
        if s.qf_worst == 0:
            s.qf_worst = status
        s.qf_correc = max(s.qf_correc, err)
    s.qf_errsum += err
    size = s.fmax  # (the largest |f| the cycle's panels saw)
    s.fmax = 0.0
    s.qf_largest = max(s.qf_largest, size)
    partial = s.qf_previous + value
    s.qf_previous = partial
    s.qf_psum[s.qf_numrl2] = partial
    s.qf_numrl2 += 1
    if s.qf_numrl2 >= 3:
        # the cycle table borrows the extrapolation fields of the finished inner run
        inner_table, inner_nres = s.rlist2, s.nres
        for k in range(3):
            saved3[k] = s.res3la[k]
            s.res3la[k] = s.qf_res3la[k]
        s.rlist2, s.nres = s.qf_psum, s.qf_nres
        _epsilon(s, &s.qf_numrl2, &reseps, &abseps)
        s.qf_nres = s.nres
        for k in range(3):
            s.qf_res3la[k] = s.res3la[k]
            s.res3la[k] = saved3[k]
        s.rlist2, s.nres = inner_table, inner_nres
        s.qf_ktmin += 1
        abseps *= WYNN_SAFETY
        if abseps < s.qf_abserr:
            s.qf_abserr = abseps
            s.qf_result = reseps
            s.qf_ktmin = 0
    else:
        s.qf_result = partial
    target = max(s.qf_atol, s.qf_rtol * fabs(s.qf_result))
    decaying = size <= 0.5 * s.qf_largest or s.qf_largest == 0.0
    status = RUNNING
    if decaying:
        # the terms alone (QUADPACK: 50 |last cycle| as the tail) or the extrapolation
        total = s.qf_errsum + 50.0 * fabs(value)
        if s.qf_cycles >= 6 and total <= max(s.qf_atol, s.qf_rtol * fabs(partial)):
            s.result[0] = partial
            s.abserr = total
            status = CONVERGED
        elif s.qf_abserr < OFLOW:
            total = s.qf_abserr + s.qf_errsum + 10.0 * s.qf_correc
            if total <= target:
                s.result[0] = s.qf_result
                s.abserr = total
                status = CONVERGED
    if status == RUNNING:
        if s.qf_ktmin >= 15:
            status = NO_EXTRAPOLATION
        elif s.qf_cycles >= LIMLST:
            status = LIMIT if decaying else DIVERGENT
    if status != RUNNING:
        if status != CONVERGED:
            # the better supported of the extrapolated and the summed value
            if s.qf_abserr + s.qf_errsum < s.qf_errsum + 50.0 * fabs(value):
                s.result[0] = s.qf_result
                s.abserr = s.qf_abserr + s.qf_errsum + 10.0 * s.qf_correc
            else:
                s.result[0] = partial
                s.abserr = s.qf_errsum + 50.0 * fabs(value)
        s.status = status
        s.n_points = 0
        s.n_pending = 0
        return
    _cycle_tolerance(s)
    cuts[0] = s.qf_a + s.qf_cycles * s.qf_period
    cuts[1] = s.qf_a + (s.qf_cycles + 1) * s.qf_period
    _begin(s, cuts, 2)
    if s.n_points == 0:  # no room left in max_nfev for another cycle
        s.result[0] = s.qf_result if s.qf_abserr < OFLOW else partial
        s.abserr = OFLOW


cdef inline int _subdivisions(const Qags* s) noexcept nogil:
    return s.qf_nsub if s.fourier else s.last


cdef int _method(const Qags* s) noexcept nogil:
    """What ran: 0 Kronrod panels only (QAGS-like), 1 QAWO, 2 QAWF, 3 QAWC, 4 QAWS (the Python layer's codes)."""
    if s.fourier:
        return 2
    if s.wkind == WEIGHT_NONE or (s.n_cc == 0 and not s.subtract):
        return 0
    if s.wkind <= WEIGHT_SIN:
        return 1
    return 3 if s.wkind == WEIGHT_CAUCHY else 4


cdef void qags_free(Qags* s) noexcept nogil:
    free(s.rlist2)
    s.rlist2 = NULL
    free(s.qf_psum)
    s.qf_psum = NULL
    free(s.moments)
    s.moments = NULL
    _free_intervals(s)
    free(s.arena_start)
    s.arena_start = NULL


cdef double probe_spacing(const Qags* s) noexcept nogil:
    """Spacing of a second, uniform look at the whole range, or 0 if none is called for.

    A converged subdivision that refined some interior region much more finely than elsewhere found a
    narrow feature (a peak, a kink) away from the ends and the breakpoints. Features like it elsewhere
    may have fallen between the nodes of the large intervals that were accepted untouched; the caller
    then integrates once more with every interval no longer than the finest interior one (at most 256
    pieces). Endpoint singularities and refinement at breakpoints do not call for this.
    """
    cdef int i, j
    cdef double length, total, distance, interior_min = OFLOW, longest = 0.0, mass = 0.0, total_mass = 0.0
    if s.mapping != 0 or s.wkind != WEIGHT_NONE or s.status != CONVERGED or s.last < 3:
        return 0.0
    total = s.initial_cuts[s.n_initial] - s.initial_cuts[0]
    for i in range(s.last):
        length = s.blist[i] - s.alist[i]
        longest = max(longest, length)
        if _interior(s, i):
            interior_min = min(interior_min, length)
    if not (interior_min <= total / 32.0 and longest >= 8.0 * interior_min):
        return 0.0
    # a peak holds a share of the integral in its finest intervals; a kink or a jump does not (and
    # cannot hide: it shows in the error estimate of any interval that contains it)
    for i in range(s.last):
        total_mass += s.defabs_list[i]
        if s.blist[i] - s.alist[i] <= 4.0 * interior_min and _interior(s, i):
            mass += s.defabs_list[i]
    if mass < 0.01 * total_mass:
        return 0.0
    return max(interior_min, total / 256.0)


cdef inline bint _interior(const Qags* s, int i) noexcept nogil:
    """Whether interval i is much shorter than its distance to the ends and breakpoints. Refinement
    towards an end or a breakpoint makes intervals about as long as that distance (a geometric chain);
    an interior feature makes them much shorter."""
    cdef int j
    cdef double distance = OFLOW
    for j in range(s.n_initial + 1):
        distance = min(distance, min(fabs(s.alist[i] - s.initial_cuts[j]), fabs(s.blist[i] - s.initial_cuts[j])))
    return 4.0 * (s.blist[i] - s.alist[i]) <= distance


# ---------------------------------------------------------------- Python-facing batch of integrals

# One spare block, kept from the last batch for the next: a batch of 10^4 integrals needs ~14 MB of states, and
# memory fresh from the system costs a page fault per 4 kB on first touch (~8 ms here, more than the integrals);
# zeroing a block already mapped costs a fifth of that. At most SPARE_MAX bytes are kept, one block, under the GIL.
cdef char* _spare_block = NULL
cdef size_t _spare_bytes = 0
cdef size_t SPARE_MAX = 64 * 1024 * 1024


cdef char* _take_block(size_t nbytes, size_t* got):
    """`nbytes` zeroed bytes (the spare block if it is large enough), their true size in `got`; NULL if out of
    memory."""
    global _spare_block, _spare_bytes
    cdef char* block
    if _spare_block != NULL and _spare_bytes >= nbytes:
        block = _spare_block
        got[0] = _spare_bytes
        _spare_block = NULL
        _spare_bytes = 0
        memset(block, 0, nbytes)
        return block
    got[0] = nbytes
    return <char*> calloc(nbytes, 1)


cdef void _give_block(char* block, size_t nbytes):
    """Free a block from _take_block, or keep it as the spare if it is the larger (and within SPARE_MAX)."""
    global _spare_block, _spare_bytes
    if block == NULL:
        return
    if nbytes <= SPARE_MAX and nbytes > _spare_bytes:
        free(_spare_block)
        _spare_block = block
        _spare_bytes = nbytes
    else:
        free(block)


cdef class _Integrals:
    """Independent adaptive integrals (Qags states) advanced together by reverse communication: the drivers
    shared by Batch (plain) and WeightedBatch.

    `request()` returns (x, counts): every abscissa the running integrals need, and how many belong to
    each integral; `receive(values)` takes f at those abscissae, shape (len(x), m). Converged integrals
    stop asking.
    """
    cdef Qags* states
    cdef char* arena
    cdef Py_ssize_t count
    cdef int m
    cdef size_t block_bytes   # the one block holding the states and the arena (see _take_block)

    def __cinit__(self, *args, **kwargs):
        self.states = NULL
        self.arena = NULL
        self.count = 0
        self.block_bytes = 0

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.states != NULL:
            for i in range(self.count):
                qags_free(&self.states[i])
            _give_block(<char*> self.states, self.block_bytes)

    cdef int _allocate(self, Py_ssize_t count, size_t arena_bytes) except -1:
        """The states and the arena of `count` integrals, zeroed, in one block."""
        cdef size_t head = (max(count, 1) * sizeof(Qags) + 15) // 16 * 16
        cdef char* block = _take_block(head + max(arena_bytes, 1), &self.block_bytes)
        if block == NULL:
            raise MemoryError()
        self.states = <Qags*> block
        self.arena = block + head
        return 0

    def request(self):
        """(x, counts): every pending abscissa of the running integrals, in order, and how many of them
        belong to each integral (0 for finished ones); empty x when every integral has finished."""
        cdef Py_ssize_t i, total = 0, pos = 0
        cdef int j
        counts = np.empty(self.count, dtype=np.intp)
        cdef Py_ssize_t[::1] cv = counts
        for i in range(self.count):
            cv[i] = self.states[i].n_points
            total += cv[i]
        x = np.empty(total)
        cdef double[::1] xv = x
        with nogil:
            for i in range(self.count):
                for j in range(self.states[i].n_points):
                    xv[pos] = self.states[i].xreq[j]
                    pos += 1
        return x, counts

    def receive(self, double[:, ::1] values):
        """Hand over f at the last request's abscissae, in the same order (shape (len(x), m))."""
        cdef Py_ssize_t i, pos = 0
        cdef int n
        if values.shape[1] != self.m:
            raise ValueError("receive: wrong number of components")
        with nogil:
            for i in range(self.count):
                n = self.states[i].n_points
                if n:
                    qags_receive(&self.states[i], &values[pos, 0])
                    pos += n

    def run_scalar(self, f, tuple args):
        """Drive every integral (m = 1) with a Python callable taking one float and returning a real
        number; f is called once per abscissa, as scipy.integrate.quad does. Returns -1 without
        advancing if the very first value is not a real number (complex or vector-valued f)."""
        cdef Py_ssize_t i
        cdef int j, n
        cdef double* buffer
        cdef Qags* s
        if self.m != 1:
            raise ValueError("run_scalar: m must be 1")
        for i in range(self.count):
            s = &self.states[i]
            buffer = <double*> calloc(max(s.n_points, 2 * s.maxper) + 1, sizeof(double))
            if buffer == NULL:
                raise MemoryError()
            try:
                while s.n_points:
                    n = s.n_points
                    for j in range(n):
                        value = f(s.xreq[j], *args)
                        if not isinstance(value, float) and (isinstance(value, complex) or np.ndim(value) != 0):
                            if s.nfev == 0 and j == 0 and i == 0:
                                return -1
                            raise ValueError(f"`f` returned {value!r} after real numbers; a complex or "
                                             "vector-valued integrand must be so at every point")
                        buffer[j] = value
                    qags_receive(s, buffer)
            finally:
                free(buffer)
        return 0

    def run_vectorized(self, f, tuple args):
        """Drive every integral with a vectorized Python callable, one call per request of each
        integral. Returns -1 without advancing if the first values are not real with m per point."""
        cdef Py_ssize_t i
        cdef Qags* s
        cdef double[:, ::1] yv
        for i in range(self.count):
            s = &self.states[i]
            while s.n_points:
                y = _call_vectorized(f, args, s, self.m, s.nfev == 0 and i == 0)
                if y is None:
                    return -1
                qags_receive(s, <double*> cnp.PyArray_DATA(y))
        return 0

    def run_components(self, f, tuple args, bint vectorized, Py_ssize_t chunk=0):
        """Drive every integral with a real f of m components, writing its values into one buffer per integral
        allocated once (points x m), so that no request allocates a points x m array: with m = 10^4 such
        arrays are megabytes, and allocating them per request cost more than the integration.

        vectorized=False: f(x, *args) per abscissa, returning m reals (scipy's quad_vec calls f so).
        vectorized=True: f(x, *args) on chunks of `chunk` abscissae (default: as many as make about 8192
        values, at least one), returning (chunk, m) reals (or (chunk,) when m == 1).
        Returns -1 without advancing if the first values are not m reals (complex: the caller takes the
        general path); raises ValueError naming `f` if later values are not.
        """
        cdef Py_ssize_t i, j, j0, width, rows
        cdef Qags* s
        cdef double[:, ::1] bv
        cdef const double[:, ::1] yv   # const: f may return a read-only array (np.broadcast_to)
        cdef int m = self.m
        if chunk <= 0:
            chunk = max(1, 8192 // m)
        for i in range(self.count):
            s = &self.states[i]
            if not s.n_points:
                continue
            rows = max(s.n_points, 2 * s.maxper + 1)
            buffer = np.empty((rows, m))
            bv = buffer
            while s.n_points:
                if s.n_points > rows:  # (never: a request is at most the initial one or two intervals)
                    rows = s.n_points
                    buffer = np.empty((rows, m))
                    bv = buffer
                j0 = 0
                while j0 < s.n_points:
                    width = min(chunk, s.n_points - j0) if vectorized else 1
                    if vectorized:
                        x = np.empty(width)
                        for j in range(width):
                            x[j] = s.xreq[j0 + j]
                        y = np.asarray(f(x, *args))
                    else:
                        y = np.asarray(f(s.xreq[j0], *args))
                    if y.dtype.kind not in "fiu" or y.size != width * m:
                        if s.nfev == 0 and j0 == 0 and i == 0:
                            return -1
                        raise ValueError(f"`f` must return {width * m} real values ({m} per point), got an "
                                         f"array of shape {y.shape} and dtype {y.dtype}")
                    yv = np.ascontiguousarray(y, dtype=np.float64).reshape(width, m)
                    memcpy(&bv[j0, 0], &yv[0, 0], width * m * sizeof(double))
                    j0 += width
                qags_receive(s, &bv[0, 0])
        return 0

    def run_lowlevel(self, size_t function, size_t user_data, int kind, double[::1] extra):
        """Drive every integral with a C function, without the GIL. kind 0: double(double);
        1: double(double, void*); 2: double(int, double*) with (x, *extra) packed in the array."""
        cdef Py_ssize_t i
        cdef int j
        cdef Qags* s
        cdef double* buffer
        cdef double* packed
        cdef int npack = extra.shape[0] + 1
        if self.m != 1:
            raise ValueError("run_lowlevel: low-level callables are scalar")
        packed = <double*> calloc(npack, sizeof(double))
        if packed == NULL:
            raise MemoryError()
        with nogil:
            for j in range(npack - 1):
                packed[j + 1] = extra[j]
            for i in range(self.count):
                s = &self.states[i]
                buffer = <double*> calloc(max(s.n_points, 2 * s.maxper) + 1, sizeof(double))
                if buffer == NULL:
                    s.status = OUT_OF_MEMORY
                    s.n_points = 0
                    s.n_pending = 0
                while s.n_points:
                    _call_lowlevel(s, function, user_data, kind, packed, npack, buffer)
                    qags_receive(s, buffer)
                free(buffer)
        free(packed)

    cdef tuple _results(self, bint methods):
        """integral (count, m), error, nfev, n_subdivisions and status arrays, and the spacing of a second look
        (see probe_spacing) or, with `methods`, the method codes (see _method)."""
        cdef Py_ssize_t i
        cdef int c
        integral = np.empty((self.count, self.m))
        error = np.empty(self.count)
        nfev = np.empty(self.count, dtype=np.int64)
        nsub = np.empty(self.count, dtype=np.int64)
        status = np.empty(self.count, dtype=np.int64)
        spacing = np.zeros(self.count)
        method = np.zeros(self.count, dtype=np.int64)
        cdef double[:, ::1] iv = integral
        cdef double[::1] ev = error, pv = spacing
        cdef long long[::1] nv = nfev, sv = nsub, tv = status, mv = method
        with nogil:
            for i in range(self.count):
                for c in range(self.m):
                    iv[i, c] = self.states[i].result[c]
                ev[i] = self.states[i].abserr
                nv[i] = self.states[i].nfev
                sv[i] = _subdivisions(&self.states[i])
                tv[i] = self.states[i].status
                if methods:
                    mv[i] = _method(&self.states[i])
                else:
                    pv[i] = probe_spacing(&self.states[i])
        return integral, error, nfev, nsub, status, method if methods else spacing


cdef class Batch(_Integrals):
    """Many independent QAGS integrals advanced together by reverse communication (see _Integrals).

    `results()` returns integral (n, m), error, nfev, n_subdivisions, status and second-look spacing arrays.
    """
    cdef KronrodRule rule
    cdef double[::1] _x, _wk, _wg, _n2, _n3

    def __init__(self, double[:, ::1] cuts, int[::1] n_cuts, int[::1] mapping, double[::1] shift,
                 int m, double epsabs, double epsrel, int limit, long max_nfev,
                 double[::1] nodes, double[::1] wk, double[::1] wg, double[::1] n2, double[::1] n3):
        cdef Py_ssize_t i
        cdef int failed = 0
        self.count = cuts.shape[0]
        self.m = m
        self._x, self._wk, self._wg = np.array(nodes), np.array(wk), np.array(wg)
        self.rule.n = nodes.shape[0]
        self.rule.x = &self._x[0]
        self.rule.wk = &self._wk[0]
        self.rule.wg = &self._wg[0]
        self._n2, self._n3 = np.array(n2), np.array(n3)
        self.rule.n2 = &self._n2[0]
        self.rule.n3 = &self._n3[0]
        # one arena for the initial storage of every integral: thousands of integrals, one allocation
        cdef size_t total = 0, size
        cdef int per
        for i in range(self.count):
            per = qags_max_points(&self.rule, mapping[i], WEIGHT_NONE)
            total += (qags_arena_size(m, n_cuts[i], per, max(n_cuts[i] - 1, 4), WEIGHT_NONE) + 15) // 16 * 16
        self._allocate(self.count, total)
        cdef char* cursor = self.arena
        with nogil:
            for i in range(self.count):
                per = qags_max_points(&self.rule, mapping[i], WEIGHT_NONE)
                size = (qags_arena_size(m, n_cuts[i], per, max(n_cuts[i] - 1, 4), WEIGHT_NONE) + 15) // 16 * 16
                if qags_init(&self.states[i], m, limit, max_nfev, mapping[i], shift[i], &cuts[i, 0], n_cuts[i],
                             epsabs, epsrel, &self.rule, cursor, WEIGHT_NONE, NULL) != 0:
                    failed = 1
                cursor += size
        if failed:
            raise MemoryError()

    def results(self):
        """integral (count, m), error, nfev, n_subdivisions, status and second-look spacing arrays."""
        return self._results(False)


cdef class WeightedBatch(_Integrals):
    """Many weighted integrals (QUADPACK's QAWO, QAWF, QAWC, QAWS) advanced together on the QAGS engine: one
    state per integral, each with its own weight parameters, and the drivers of Batch.

    Parameters
    ----------
    a, b : (count,) float arrays
        Limits, a < b; b may be +inf for "cos"/"sin" (QAWF, a finite); every other range is finite.
    wkind : (count,) int array
        1 cos, 2 sin, 3 cauchy, 4 alg, 5 alg-loga, 6 alg-logb, 7 alg-log (_moments.pxd's WEIGHT_*).
    wpar : (count, 4) float array
        [omega | c | alpha, beta, reflect sign, unused]: omega != 0; a < c < b; alpha, beta > -1. A reflect
        sign of -1 makes `run_lowlevel` call f(-x) (the Python layer maps (-inf, b] to [-b, inf)); 0 means 1.
    m, atol, rtol, limit, max_nfev
        As for Batch, per integral (QAWF: max_nfev over all its cycles, `limit` intervals per cycle, at most
        LIMLST = 50 cycles). QAWF accepts atol = 0.

    Memory: besides the intervals, QAWS keeps 100 moments per integral and QAWO at most MAXP1 = 50 levels of
    50 moments (20 kB) per integral, allocated as the levels are reached.

    `results()` returns integral (count, m), error, nfev, n_subdivisions, status and method (0 Kronrod panels
    only, 1 QAWO, 2 QAWF, 3 QAWC, 4 QAWS); `details()` one string per integral.

    References
    ----------
    R. Piessens et al., "QUADPACK", Springer (1983): DQAWOE, DQAWFE, DQAWCE, DQAWSE.
    """

    def __init__(self, double[::1] a, double[::1] b, int[::1] wkind, double[:, ::1] wpar, int m, double atol,
                 double rtol, int limit, long max_nfev):
        cdef Py_ssize_t i
        cdef int failed = 0, kind
        cdef double cuts[2]
        cdef double w[4]
        cdef KronrodRule* rule = _rule_pointer("gk15")
        cdef size_t total = 0, size
        count = a.shape[0]
        if b.shape[0] != count or wkind.shape[0] != count or wpar.shape[0] != count or wpar.shape[1] != 4:
            raise ValueError("WeightedBatch: a, b, wkind and wpar (count, 4) must agree")
        for i in range(count):
            kind = wkind[i]
            if kind < WEIGHT_COS or kind > WEIGHT_ALG_LOG:
                raise ValueError(f"WeightedBatch: unknown weight kind {kind}")
            if not (a[i] < b[i]) or not isfinite(a[i]) or (not isfinite(b[i]) and kind > WEIGHT_SIN):
                raise ValueError(f"WeightedBatch: bad range [{a[i]}, {b[i]}] for weight kind {kind}")
            total += (qags_arena_size(m, qags_cuts(2, kind), qags_max_points(rule, 0, kind), 4, kind)
                      + 15) // 16 * 16
        self._allocate(count, total)
        self.count = count
        self.m = m
        cdef char* cursor = self.arena
        with nogil:
            for i in range(self.count):
                kind = wkind[i]
                w[0] = wpar[i, 0]
                w[1] = wpar[i, 1] if kind >= WEIGHT_ALG else 0.0
                w[2] = 0.0
                w[3] = 0.0
                cuts[0] = a[i]
                cuts[1] = b[i]
                size = (qags_arena_size(m, qags_cuts(2, kind), qags_max_points(rule, 0, kind), 4, kind)
                        + 15) // 16 * 16
                if qags_init(&self.states[i], m, limit, max_nfev, 0, 0.0, cuts, 2, atol, rtol, rule, cursor, kind,
                             w) != 0:
                    failed = 1
                self.states[i].xsign = -1.0 if wpar[i, 2] < 0.0 else 1.0
                cursor += size
        if failed:
            raise MemoryError()

    def results(self):
        """integral (count, m), error, nfev, n_subdivisions, status and method arrays."""
        return self._results(True)

    def details(self):
        """One string per integral: the method and how many panels of each kind ran."""
        names = {0: "gauss-kronrod (weight multiplied in)", 1: "qawo", 2: "qawf", 3: "qawc", 4: "qaws"}
        out = []
        cdef Py_ssize_t i
        cdef Qags* s
        for i in range(self.count):
            s = &self.states[i]
            text = f"{names[_method(s)]}: {s.n_gk} gk15 x weight, {s.n_cc} chebyshev-25 moment panels"
            if s.fourier:
                text += f", {s.qf_cycles} cycles"
            if s.subtract:
                text += ", f(c) subtracted (c near an end)"
            out.append(text)
        return out


cdef void _call_lowlevel(Qags* s, size_t function, size_t user_data, int kind, double* packed, int npack,
                         double* out) noexcept nogil:
    """OUT: a C function at the state's requested abscissae. kind 0: double(double); 1: double(double,
    void*); 2: double(int, double*), with x written into packed[0] ahead of the extra arguments."""
    cdef int j, n = s.n_points
    cdef double (*f0)(double) noexcept nogil
    cdef double (*f1)(double, void*) noexcept nogil
    cdef double (*f2)(int, double*) noexcept nogil
    if kind == 0:
        f0 = <double (*)(double) noexcept nogil> function
        for j in range(n):
            out[j] = f0(s.xsign * s.xreq[j])
    elif kind == 1:
        f1 = <double (*)(double, void*) noexcept nogil> function
        for j in range(n):
            out[j] = f1(s.xsign * s.xreq[j], <void*> user_data)
    else:
        f2 = <double (*)(int, double*) noexcept nogil> function
        for j in range(n):
            packed[0] = s.xsign * s.xreq[j]
            out[j] = f2(npack, packed)


cdef object _call_vectorized(f, tuple args, Qags* s, int m, bint may_decline):
    """f at the state's requested abscissae (one call), as a C-contiguous float64 array of n * m values (shape
    (n,) or (n, m)); None if the values are not real with m per point and declining is allowed (the caller
    changes path). The usual answer, a fresh float64 vector for m = 1, is taken as it is: a weighted integral
    costs a few microseconds, and converting or viewing the values cost as much as calling f."""
    cdef int n = s.n_points
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    x = cnp.PyArray_SimpleNew(1, dims, cnp.NPY_DOUBLE)
    memcpy(cnp.PyArray_DATA(x), s.xreq, n * sizeof(double))
    y = f(x, *args)
    if (m == 1 and type(y) is np.ndarray and cnp.PyArray_TYPE(y) == cnp.NPY_DOUBLE and cnp.PyArray_NDIM(y) == 1
            and cnp.PyArray_DIM(y, 0) == n and cnp.PyArray_IS_C_CONTIGUOUS(y)):
        return y
    y = np.asarray(y)
    if y.dtype.kind not in "fiu" or y.size != n * m or y.ndim == 0 or y.ndim > 2 or y.shape[0] != n:
        if may_decline:
            return None
        raise ValueError(f"`f` must return {n} real values of {m} component(s), got an array of shape "
                         f"{y.shape} and dtype {y.dtype}")
    return np.ascontiguousarray(y, dtype=np.float64).reshape(n, m)


cdef object _integrate_single(f, tuple args, double a, double b, int mapping, double shift, double epsabs,
                              double epsrel, int limit, long max_nfev, KronrodRule* rule, bint vectorized):
    """One real scalar integral over one piece, with the least overhead: the common case of `quad`.

    Returns (integral, error, nfev, n_subdivisions, status), or None before any evaluation is
    kept if the first value is not a real number (complex or vector-valued f: the caller takes the
    general path). a, b are x-limits for mapping 0 and t-limits (0, 1) otherwise.
    """
    cdef Qags s
    cdef double cuts[2]
    cdef double* buffer = NULL
    cdef int j, n
    cdef double[:, ::1] yv
    cuts[0] = a
    cuts[1] = b
    if qags_init(&s, 1, limit, max_nfev, mapping, shift, cuts, 2, epsabs, epsrel, rule, NULL, WEIGHT_NONE, NULL) != 0:
        qags_free(&s)
        raise MemoryError()
    try:
        if vectorized:
            while s.n_points:
                y = _call_vectorized(f, args, &s, 1, s.nfev == 0)
                if y is None:
                    return None
                qags_receive(&s, <double*> cnp.PyArray_DATA(y))
        else:
            buffer = <double*> calloc(4 * rule.n + 2, sizeof(double))
            if buffer == NULL:
                raise MemoryError()
            no_args = len(args) == 0
            while s.n_points:
                n = s.n_points
                for j in range(n):
                    # a one-argument call avoids building an argument tuple per point
                    value = f(s.xreq[j]) if no_args else f(s.xreq[j], *args)
                    if not isinstance(value, float) and (isinstance(value, complex) or np.ndim(value) != 0):
                        if s.nfev == 0 and j == 0:
                            return None
                        raise ValueError(f"`f` returned {value!r} after real numbers; a complex or "
                                         "vector-valued integrand must be so at every point")
                    buffer[j] = value
                qags_receive(&s, buffer)
        return s.result[0], s.abserr, s.nfev, s.last, s.status, probe_spacing(&s)
    finally:
        free(buffer)
        qags_free(&s)


cdef object _integrate_single_lowlevel(size_t function, size_t user_data, int kind, tuple args, double a,
                                      double b, int mapping, double shift, double epsabs, double epsrel, int limit,
                                      long max_nfev, KronrodRule* rule):
    """One integral of a C function over one piece, entirely without the GIL.

    Returns (integral, error, nfev, n_subdivisions, status); `kind` as in Batch.run_lowlevel.
    """
    cdef Qags s
    cdef double cuts[2]
    cdef double buffer[256]
    cdef double* packed
    cdef int j, npack = len(args) + 1, code
    if 4 * rule.n > 256:
        raise ValueError("rule too large for the low-level path")
    cuts[0] = a
    cuts[1] = b
    packed = <double*> calloc(npack, sizeof(double))
    if packed == NULL:
        raise MemoryError()
    for j in range(npack - 1):
        packed[j + 1] = args[j]
    with nogil:
        code = qags_init(&s, 1, limit, max_nfev, mapping, shift, cuts, 2, epsabs, epsrel, rule, NULL, WEIGHT_NONE,
                         NULL)
        if code == 0:
            while s.n_points:
                _call_lowlevel(&s, function, user_data, kind, packed, npack, buffer)
                qags_receive(&s, buffer)
    free(packed)
    try:
        if code != 0:
            raise MemoryError()
        return s.result[0], s.abserr, s.nfev, s.last, s.status, probe_spacing(&s)
    finally:
        qags_free(&s)


_RULE_ARRAYS = {}  # rule name -> (index, nodes, wk, wg), filled once by the Python layer
cdef KronrodRule _RULES[16]


def set_rule(name, nodes, wk, wg, n2, n3):
    """Register a Gauss–Kronrod rule and its two null rules under `name` (the arrays are kept alive here)."""
    cdef double[::1] x = nodes, k = wk, g = wg, null2 = n2, null3 = n3
    index = _RULE_ARRAYS[name][0] if name in _RULE_ARRAYS else len(_RULE_ARRAYS)
    if x.shape[0] > 127:
        raise ValueError("rule too large: at most 127 nodes")
    if index >= 16:
        raise ValueError("too many rules")
    _RULE_ARRAYS[name] = (index, nodes, wk, wg, n2, n3)
    _RULES[index].n2 = &null2[0]
    _RULES[index].n3 = &null3[0]
    _RULES[index].n = x.shape[0]
    _RULES[index].x = &x[0]
    _RULES[index].wk = &k[0]
    _RULES[index].wg = &g[0]


cdef KronrodRule* _rule_pointer(name) except NULL:
    return &_RULES[<int> _RULE_ARRAYS[name][0]]


def integrate_scalar(f, lowlevel, double a, double b, tuple args, double atol, double rtol, int limit,
                     long max_nfev, bint vectorized, rule):
    """`quad`'s common case in one call: real scalar f (Python or C), scalar limits, no breakpoints.

    Chooses the change of variables and the default rule, runs, and returns
    (integral, error, nfev, n_subdivisions, status, second_look_spacing), or None when f turns out
    not to be real scalar-valued (the caller takes the general path).

    The real line is integrated as its two halves, (-inf, 0] and [0, inf), each of which must converge:
    folding them into one integrand f(x) + f(-x) (QUADPACK's QAGI) cancels an odd integrand to an exact,
    "converged" zero even when the halves diverge, as for f(x) = x.
    """
    cdef double lo = a, hi = b, sign = 1.0, shift = 0.0, cut_a, cut_b
    cdef int mapping
    if a > b:
        lo, hi, sign = b, a, -1.0
    if lo == -INF and hi == INF:
        # the halves share the budget and the absolute tolerance equally (as in the Python layer's batches,
        # which run them together)
        left = integrate_scalar(f, lowlevel, -INF, 0.0, args, 0.5 * atol, rtol, limit, max_nfev // 2, vectorized,
                                rule)
        if left is None:
            return None
        right = integrate_scalar(f, lowlevel, 0.0, INF, args, 0.5 * atol, rtol, limit, max_nfev // 2, vectorized,
                                 rule)
        if right is None:
            return None
        status = max(left[4], right[4], key=lambda code: (code != 0, code))
        return (sign * (left[0] + right[0]), left[1] + right[1], left[2] + right[2], left[3] + right[3], status,
                0.0)
    if lo > -INF and hi < INF:
        mapping, cut_a, cut_b = 0, lo, hi
    else:
        cut_a, cut_b = 0.0, 1.0
        if lo > -INF:
            mapping, shift = 1, lo
        else:
            mapping, shift = 2, hi
    cdef KronrodRule* kronrod = _rule_pointer(rule if rule is not None else ("gk21" if mapping == 0 else "gk15"))
    if lowlevel is not None:
        function, user_data, kind = lowlevel
        if kind != 2 and args:
            raise ValueError("`args` can only be passed to a LowLevelCallable of signature double (int, double *)")
        out = _integrate_single_lowlevel(function, user_data, kind, args if kind == 2 else (), cut_a, cut_b,
                                         mapping, shift, atol, rtol, limit, max_nfev, kronrod)
    else:
        out = _integrate_single(f, args, cut_a, cut_b, mapping, shift, atol, rtol, limit, max_nfev, kronrod,
                                vectorized)
        if out is None:
            return None
    value, error, nfev, nsub, status, spacing = out
    return sign * value, error, nfev, nsub, status, spacing


_LOWLEVEL = {"type": None, "pointers": None}  # set by the Python layer: LowLevelCallable, its pointer reader
_last_lowlevel = [None, None]  # the last LowLevelCallable and its pointers: repeated calls skip the lookup


def configure_lowlevel(llc_type, pointers):
    _LOWLEVEL["type"] = llc_type
    _LOWLEVEL["pointers"] = pointers


cdef object _lowlevel_pointers(f):
    """A LowLevelCallable's (function, user_data, kind), or None for anything else; the last one's are kept, so
    that repeated calls with the same callable skip the lookup."""
    if f is _last_lowlevel[0]:
        return _last_lowlevel[1]
    if not isinstance(f, _LOWLEVEL["type"]):
        return None
    lowlevel = _LOWLEVEL["pointers"](f)
    _last_lowlevel[0] = f   # held, so its id cannot be reused by another object
    _last_lowlevel[1] = lowlevel
    return lowlevel


def quick_quad(f, a, b, args, atol, rtol, points, rule, vectorized, max_nfev, max_subdivisions):
    """`quad` for the call everyone makes: float limits, float tolerances, scalar args, no breakpoints.

    This is dispatch, not validation: any argument of another type or value returns None, and the
    Python layer validates it and takes the general path. Returns the tuple of `integrate_scalar`.
    """
    if points is not None or rule is not None or type(args) is not tuple:
        return None
    if not ((type(a) is float or type(a) is int) and (type(b) is float or type(b) is int)):
        return None
    if type(atol) is not float or type(rtol) is not float or type(max_nfev) is not int \
            or type(max_subdivisions) is not int:
        return None
    cdef double lo = a, hi = b, at = atol, rt = rtol
    if not (at >= 0.0 and rt >= 0.0 and (at > 0.0 or rt > 0.0)) or lo != lo or hi != hi or lo == hi:
        return None
    # at most the Python layer's bounds (MAX_NFEV, MAX_SUBDIVISIONS): larger values go there to be rejected
    if max_nfev <= 0 or max_nfev > 10 ** 9 or max_subdivisions <= 0 or max_subdivisions > 10 ** 6:
        return None
    for arg in args:
        if type(arg) is not float and type(arg) is not int:
            return None
    lowlevel = _lowlevel_pointers(f)
    if lowlevel is None and not callable(f):
        return None
    return integrate_scalar(f, lowlevel, lo, hi, args, at, rt, max_subdivisions, max_nfev, bool(vectorized), None)


_WEIGHT_KINDS = {"cos": WEIGHT_COS, "sin": WEIGHT_SIN, "cauchy": WEIGHT_CAUCHY, "alg": WEIGHT_ALG,
                 "alg-loga": WEIGHT_ALG_LOGA, "alg-logb": WEIGHT_ALG_LOGB, "alg-log": WEIGHT_ALG_LOG}


def quick_weighted(f, a, b, args, atol, rtol, points, rule, vectorized, max_nfev, max_subdivisions, weight, wvar):
    """`quad(weight=...)` for the common call: float limits a < b with a finite, a valid scalar `wvar`,
    float tolerances, scalar args, no breakpoints and no rule.

    Dispatch, not validation (as `quick_quad`): the checks live here, in C, because a weighted integral of a
    LowLevelCallable takes a couple of microseconds and the same checks in Python cost as much again. Any
    other argument returns None and the Python layer validates it on the general path. Returns the tuple of
    `integrate_weighted` (None too if a Python f's first value is not a real number).
    """
    cdef double lo, hi, at, rt, p0 = 0.0, p1 = 0.0
    cdef int kind
    if points is not None or rule is not None or type(args) is not tuple or type(weight) is not str:
        return None
    kind_object = _WEIGHT_KINDS.get(weight)
    if kind_object is None:
        return None
    kind = kind_object
    if not ((type(a) is float or type(a) is int) and (type(b) is float or type(b) is int)):
        return None
    if type(atol) is not float or type(rtol) is not float or type(max_nfev) is not int \
            or type(max_subdivisions) is not int:
        return None
    lo, hi, at, rt = a, b, atol, rtol
    if not (isfinite(lo) and lo < hi and (isfinite(hi) or kind <= WEIGHT_SIN)):
        return None
    if not (at >= 0.0 and rt >= 0.0 and (at > 0.0 or rt > 0.0) and isfinite(at) and isfinite(rt)):
        return None
    if max_nfev <= 0 or max_nfev > 10 ** 9 or max_subdivisions <= 0 or max_subdivisions > 10 ** 6:
        return None
    for arg in args:
        if type(arg) is not float and type(arg) is not int:
            return None
    if kind <= WEIGHT_CAUCHY:
        if type(wvar) is not float and type(wvar) is not int:
            return None
        p0 = wvar
        if kind == WEIGHT_CAUCHY:
            if not (lo < p0 < hi):
                return None
        elif not (0.0 < p0 and isfinite(p0)):
            return None  # omega = 0, negative omega: the Python layer's reductions
    else:
        if (type(wvar) is not tuple and type(wvar) is not list) or len(wvar) != 2:
            return None
        if (type(wvar[0]) is not float and type(wvar[0]) is not int) \
                or (type(wvar[1]) is not float and type(wvar[1]) is not int):
            return None
        p0, p1 = wvar[0], wvar[1]
        if not (p0 > -1.0 and p1 > -1.0 and isfinite(p0) and isfinite(p1)):
            return None
    lowlevel = _lowlevel_pointers(f)
    if lowlevel is None and not callable(f):
        return None
    return integrate_weighted(f, lowlevel, lo, hi, args, kind, p0, p1, 1.0, at, rt, max_subdivisions, max_nfev,
                              bool(vectorized))


def integrate_weighted(f, lowlevel, double a, double b, tuple args, int wkind, double p0, double p1, double sign,
                       double atol, double rtol, int limit, long max_nfev, bint vectorized):
    """One weighted integral (WeightedBatch's kinds and limits, one row of its wpar: p0, p1, sign) with the least
    overhead: a real scalar f, a Python callable (point by point or vectorized) or a LowLevelCallable's
    (function, user_data, kind) in `lowlevel`, run without the GIL.

    Returns (integral, error, nfev, n_subdivisions, status, method), or None before any evaluation is kept
    if a Python f's first value is not a real number (the caller takes WeightedBatch with m components).
    """
    cdef Qags s
    cdef double cuts[2]
    cdef double w[4]
    cdef double buffer[2 * CHEB_N + 2]
    cdef double* packed = NULL
    cdef int j, n, code, npack = 1, call_kind = 0
    cdef size_t function = 0, user_data = 0
    cdef double[:, ::1] yv
    cdef KronrodRule* rule = _rule_pointer("gk15")
    if not (a < b) or not isfinite(a) or (not isfinite(b) and wkind > WEIGHT_SIN) or wkind < WEIGHT_COS \
            or wkind > WEIGHT_ALG_LOG:
        raise ValueError(f"integrate_weighted: bad range [{a}, {b}] or weight kind {wkind}")
    cuts[0] = a
    cuts[1] = b
    w[0] = p0
    w[1] = p1 if wkind >= WEIGHT_ALG else 0.0
    w[2] = 0.0
    w[3] = 0.0
    if lowlevel is not None:
        function, user_data, call_kind = lowlevel
        if call_kind != 2 and args:
            raise ValueError("`args` can only be passed to a LowLevelCallable of signature double (int, double *)")
        npack = len(args) + 1 if call_kind == 2 else 1
        packed = <double*> calloc(npack, sizeof(double))
        if packed == NULL:
            raise MemoryError()
        for j in range(npack - 1):
            packed[j + 1] = args[j]
    with nogil:
        code = qags_init(&s, 1, limit, max_nfev, 0, 0.0, cuts, 2, atol, rtol, rule, NULL,
                         wkind, w)
        s.xsign = -1.0 if sign < 0.0 else 1.0
        if code == 0 and lowlevel is not None:
            while s.n_points:
                _call_lowlevel(&s, function, user_data, call_kind, packed, npack, buffer)
                qags_receive(&s, buffer)
    free(packed)
    try:
        if code != 0:
            raise MemoryError()
        if lowlevel is None:
            no_args = len(args) == 0
            while s.n_points:
                if vectorized:
                    y = _call_vectorized(f, args, &s, 1, s.nfev == 0)
                    if y is None:
                        return None
                    qags_receive(&s, <double*> cnp.PyArray_DATA(y))
                    continue
                n = s.n_points
                for j in range(n):
                    value = f(s.xreq[j]) if no_args else f(s.xreq[j], *args)
                    if not isinstance(value, float) and (isinstance(value, complex) or np.ndim(value) != 0):
                        if s.nfev == 0 and j == 0:
                            return None
                        raise ValueError(f"`f` returned {value!r} after real numbers; a complex or "
                                         "vector-valued integrand must be so at every point")
                    buffer[j] = value
                qags_receive(&s, buffer)
        return s.result[0], s.abserr, s.nfev, _subdivisions(&s), s.status, _method(&s)
    finally:
        qags_free(&s)
