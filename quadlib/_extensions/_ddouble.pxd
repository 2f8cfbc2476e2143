# cython: language_level=3
"""Double-double arithmetic: a value is hi + lo with |lo| <= ulp(hi)/2, about 32 significant digits.

Gauss nodes near the ends of the interval and weights that depend on them steeply need more than
double precision internally to come out correct to the last bit in double; this is that extra precision.
fma() is the C99 fused multiply-add, exact for the error term of a product on every platform.

References: T. J. Dekker, "A floating-point technique for extending the available precision",
Numer. Math. 18 (1971); Hida, Li & Bailey, "Library for double-double and quad-double arithmetic" (2000).
"""
from libc.math cimport fma, sqrt, ldexp


ctypedef struct dd:
    double hi
    double lo


cdef inline dd dd_new(double hi, double lo) noexcept nogil:
    cdef dd r
    r.hi = hi
    r.lo = lo
    return r


cdef inline dd two_sum(double a, double b) noexcept nogil:
    cdef double s = a + b
    cdef double bb = s - a
    return dd_new(s, (a - (s - bb)) + (b - bb))


cdef inline dd quick_two_sum(double a, double b) noexcept nogil:
    # requires |a| >= |b|
    cdef double s = a + b
    return dd_new(s, b - (s - a))


cdef inline dd two_prod(double a, double b) noexcept nogil:
    cdef double p = a * b
    return dd_new(p, fma(a, b, -p))


cdef inline dd dd_add(dd a, dd b) noexcept nogil:
    cdef dd s = two_sum(a.hi, b.hi)
    cdef dd t = two_sum(a.lo, b.lo)
    s = quick_two_sum(s.hi, s.lo + t.hi)
    return quick_two_sum(s.hi, s.lo + t.lo)


cdef inline dd dd_add_d(dd a, double b) noexcept nogil:
    cdef dd s = two_sum(a.hi, b)
    return quick_two_sum(s.hi, s.lo + a.lo)


cdef inline dd dd_neg(dd a) noexcept nogil:
    return dd_new(-a.hi, -a.lo)


cdef inline dd dd_sub(dd a, dd b) noexcept nogil:
    return dd_add(a, dd_new(-b.hi, -b.lo))


cdef inline dd dd_mul(dd a, dd b) noexcept nogil:
    cdef dd p = two_prod(a.hi, b.hi)
    return quick_two_sum(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi))


cdef inline dd dd_mul_d(dd a, double b) noexcept nogil:
    cdef dd p = two_prod(a.hi, b)
    return quick_two_sum(p.hi, p.lo + a.lo * b)


cdef inline dd dd_div(dd a, dd b) noexcept nogil:
    # long division with three partial quotients
    cdef double q1 = a.hi / b.hi
    cdef dd r = dd_sub(a, dd_mul_d(b, q1))
    cdef double q2 = r.hi / b.hi
    r = dd_sub(r, dd_mul_d(b, q2))
    cdef double q3 = r.hi / b.hi
    return dd_add_d(quick_two_sum(q1, q2), q3)


cdef inline dd dd_sqrt(dd a) noexcept nogil:
    # one Newton step from the double square root doubles its accuracy
    if a.hi <= 0.0:
        return dd_new(sqrt(a.hi), 0.0)
    cdef double x = sqrt(a.hi)
    cdef dd r = dd_sub(a, two_prod(x, x))
    return quick_two_sum(x, r.hi / (2.0 * x))


cdef inline dd dd_ldexp(dd a, int e) noexcept nogil:
    return dd_new(ldexp(a.hi, e), ldexp(a.lo, e))
