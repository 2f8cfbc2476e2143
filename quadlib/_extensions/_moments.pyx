# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Modified Chebyshev moments and weighted 25-point Chebyshev panels (stubs: the API is final, bodies follow)."""
from libc.math cimport cos, sin, fabs, M_PI, INFINITY


cdef void cheb_nodes(double a, double b, double* x) noexcept nogil:
    cdef double centre = 0.5 * (a + b), half = 0.5 * (b - a)
    cdef int k
    for k in range(CHEB_N):
        x[k] = centre + half * cos((k + 0.5) * M_PI / CHEB_N)


cdef int cheb_coeffs(const double* fv, double* c) noexcept nogil:
    cdef int j
    for j in range(CHEB_N):
        c[j] = 0.0
    return MOM_OK


cdef double weight_value(int kind, const double* wpar, double x) noexcept nogil:
    return 1.0


cdef bint use_cheb_panel(int kind, const double* wpar, double a, double b) noexcept nogil:
    return False


cdef void trig_moments(double theta, double* re, double* im) noexcept nogil:
    cdef int j
    for j in range(MOMENTS_N):
        re[j] = im[j] = 0.0


cdef void cauchy_moments(double u, double* v) noexcept nogil:
    cdef int j
    for j in range(MOMENTS_N):
        v[j] = 0.0


cdef void jacobi_moments(double alpha, double* r, double* g) noexcept nogil:
    cdef int j
    for j in range(MOMENTS_N):
        r[j] = g[j] = 0.0


cdef void jacobi_moments_all(const double* wpar, double* mom) noexcept nogil:
    jacobi_moments(wpar[0], mom, mom + MOMENTS_N)
    jacobi_moments(wpar[1], mom + 2 * MOMENTS_N, mom + 3 * MOMENTS_N)


cdef int trig_panel(double a, double b, int kind, double omega, const double* mre, const double* mim,
                    const double* fv, double* result, double* abserr, double* resabs,
                    double* resasc) noexcept nogil:
    result[0] = abserr[0] = resabs[0] = resasc[0] = 0.0
    return MOM_OK


cdef int cauchy_panel(double a, double b, double c, const double* fv, double* result, double* abserr,
                      double* resabs, double* resasc) noexcept nogil:
    result[0] = abserr[0] = resabs[0] = resasc[0] = 0.0
    return MOM_OK


cdef int jacobi_panel(double a, double b, int kind, const double* wpar, const double* mom, const double* fv,
                      double* result, double* abserr, double* resabs, double* resasc) noexcept nogil:
    result[0] = abserr[0] = resabs[0] = resasc[0] = 0.0
    return MOM_OK


cdef int weighted_panel(double a, double b, int kind, const double* wpar, const double* mom, const double* fv,
                        double* result, double* abserr, double* resabs, double* resasc) noexcept nogil:
    result[0] = abserr[0] = resabs[0] = resasc[0] = 0.0
    return MOM_OK
