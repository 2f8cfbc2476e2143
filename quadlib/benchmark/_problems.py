"""The benchmark's one-dimensional problems: the battery of integrals with closed forms, and the
normal-weight integrals of the kinds a GLMM meets.

This module owns the data: each battery entry is a :class:`~quadlib.benchmark.Problem` with a
numpy-vectorized integrand, its interval, a citation and tags; its value is kept here as a decimal string
of 30+ significant digits beside the mpmath expression that produced it (:func:`exact_decimal`,
:func:`exact_mp`), and the Problem carries the nearest double. :func:`normal_problems` builds the
``"normal"`` kind, whose values mpmath computes at 30 digits. It is data, so it keeps its imports light
(numpy and the standard library; scipy and mpmath only inside the functions that need them).

Contents
--------
* ``bjl01`` .. ``bjl15``: the fifteen test integrals of Bailey, Jeyabalan & Li (2005).
* ``kahaner_*``: integrals from Kahaner's (1971) comparison of quadrature formulas, including the
  three-spike ``sech`` problem.
* ``quadpack_*``: members of the parametrized families of the QUADPACK book's table 4.1 (as coded in
  GSL's ``integration/tests.c``) at fixed parameters, and the QAGP/QAGI examples of that file.
* The rest are quadlib's own additions, so that every difficulty named in :data:`TAGS` is covered:
  algebraic and logarithmic endpoint and interior singularities, oscillation, narrow peaks,
  discontinuities and kinks, infinite ranges, near singularities and an integral whose value is zero.

How the integrands are written
------------------------------
Quadrature never evaluates an integrand at an endpoint, but it does go very close (1e-300 from 0, or
1e300 out on an infinite range). There every integrand returns a finite number whenever the
mathematical value is finite, and it emits no floating-point warning: ``1 - t**2`` is written
``(1 - t)*(1 + t)``, ``x**5*exp(-x)`` is cut off where ``exp`` underflows, and overflow and underflow
warnings (whose results, ``inf`` in a denominator or ``0``, are the right limits) are silenced.

Singularities that do not sit on a double (``|x - 1/3|**-0.5``, ``log|x - 0.7|``, ``log|x**2 - 2|``) are
located in double-double arithmetic, ``(x - c_hi) - c_lo``, so the integrand is finite at every double,
``c_hi`` included, and accurate right up to the singularity.

The double interval ``[a, b]`` differs from the mathematical one when an endpoint such as ``pi/2`` is
not a double. Every problem is posed so that this changes the integral by less than 2 eps relative
(the worst is ``quadpack_cos_sin``, 1.3 eps: its integrand is 1 at ``b = fl(pi)``). In ``bjl09`` and
``bjl10``, whose singularity Bailey et al. place at ``t = pi/2`` (where the gap would cost 2e-15 and
7e-9 relative), the variable is reflected, ``s = pi/2 - t``, so that the singularity sits at the
endpoint 0.

Examples
--------
>>> import numpy as np
>>> from quadlib.benchmark._problems import BATTERY, by_name, exact_decimal, exact_mp
>>> p = by_name("kahaner_sech_spikes")
>>> p.a, p.b, p.exact, exact_decimal(p)[:12]
(0.0, 1.0, 0.2108027355005493, '0.2108027355')
>>> bool(np.isfinite(p.f(np.linspace(0.0, 1.0, 5))).all())
True
>>> import mpmath
>>> mpmath.nstr(exact_mp(by_name("bjl02"), 20), 20)
'0.21065725122580698811'

References
----------
D. H. Bailey, K. Jeyabalan and X. S. Li, "A comparison of three high-precision quadrature schemes",
Experimental Mathematics 14(3) (2005), 317-329.

D. K. Kahaner, "Comparison of numerical quadrature formulas", in J. R. Rice (ed.), Mathematical
Software, Academic Press (1971), 229-259.

R. Piessens, E. de Doncker-Kapenga, C. W. Ueberhuber and D. K. Kahaner, QUADPACK: A Subroutine Package
for Automatic Integration, Springer (1983), chapter 4 (table 4.1).
"""
from decimal import Decimal, localcontext
from fractions import Fraction
import functools
import math

import numpy as np

from ._problem import TAGS, Problem

__all__ = ["BATTERY", "TAGS", "by_name", "exact_decimal", "exact_mp", "normal_problems"]

# name -> (the value as a decimal string of 30+ significant digits, the mpmath expression that gives it)
_EXACT = {}


def _battery(name, f, a, b, digits, closed_form, source, tags, points=()):
    """A problem of the battery; its decimal value and closed form are kept here, the float on the Problem."""
    _EXACT[name] = (digits, closed_form)
    return Problem(name, f, a, b, float(digits), kind="1d", source=source, points=points, tags=tags)


def _vectorized(fn):
    # The wrapper gives every integrand the same calling convention (array or scalar in, same out) and
    # silences overflow and underflow, whose results the integrands are written to turn into the
    # correct limits. Division by zero and invalid operations stay loud: they would be bugs.
    @functools.wraps(fn)
    def wrapper(x):
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(over="ignore", under="ignore"):
            y = np.asarray(fn(x), dtype=np.float64)
        if y.shape != x.shape:
            y = np.broadcast_to(y, x.shape).copy()
        return y[()] if y.ndim == 0 else y
    return wrapper


def _split(c):
    """``(hi, lo)`` with ``hi = fl(c)`` and ``hi + lo = c`` to about 32 digits; `c` a Fraction or Decimal."""
    hi = float(c)
    if isinstance(c, Fraction):
        return hi, float(c - Fraction(hi))
    return hi, float(c - Decimal(hi))


_THIRD_HI, _THIRD_LO = _split(Fraction(1, 3))
_P7_HI, _P7_LO = _split(Fraction(7, 10))
with localcontext() as _ctx:
    _ctx.prec = 40
    _SQRT2_HI, _SQRT2_LO = _split(Decimal(2).sqrt())


def _sech(u):
    e = np.exp(-np.abs(u))
    return 2.0 * e / (1.0 + e * e)


# --------------------------------------------------------------------------------------------------
# Bailey, Jeyabalan & Li (2005): their problems 1-15, in their order.
_BJL = "Bailey, Jeyabalan & Li (2005), Exp. Math. 14(3):317-329, problem {}"


@_vectorized
def _bjl01(t):
    return t * np.log1p(t)


@_vectorized
def _bjl02(t):
    return t * t * np.arctan(t)


@_vectorized
def _bjl03(t):
    return np.exp(t) * np.cos(t)


@_vectorized
def _bjl04(t):
    s = np.sqrt(2.0 + t * t)
    return np.arctan(s) / ((1.0 + t * t) * s)


@_vectorized
def _bjl05(t):
    return np.sqrt(t) * np.log(t)


@_vectorized
def _bjl06(t):
    return np.sqrt((1.0 - t) * (1.0 + t))


@_vectorized
def _bjl07(t):
    return np.sqrt(t) / np.sqrt((1.0 - t) * (1.0 + t))


@_vectorized
def _bjl08(t):
    return np.log(t) ** 2


@_vectorized
def _bjl09(s):
    # log(cos t) with s = pi/2 - t, so the singularity is at the representable endpoint s = 0.
    return np.log(np.sin(s))


@_vectorized
def _bjl10(s):
    # sqrt(tan t) with s = pi/2 - t; two square roots, because cos(s)/sin(s) overflows at s = 5e-324.
    return np.sqrt(np.cos(s)) / np.sqrt(np.sin(s))


@_vectorized
def _bjl11(t):
    return 1.0 / (1.0 + t * t)


@_vectorized
def _bjl12(t):
    return np.exp(-t) / np.sqrt(t)


@_vectorized
def _bjl13(t):
    return np.exp(-0.5 * t * t)


@_vectorized
def _bjl14(t):
    return np.exp(-t) * np.cos(t)


@_vectorized
def _bjl15(t):
    nonzero = np.where(t == 0.0, 1.0, t)
    return np.where(t == 0.0, 1.0, np.sin(nonzero) / nonzero)


# --------------------------------------------------------------------------------------------------
# Kahaner (1971), numbered as in his table (problem numbers cross-checked against Burkardt's test_int).
_KAHANER = "Kahaner (1971), in Rice (ed.), Mathematical Software, pp. 229-259, problem {}"


@_vectorized
def _kahaner_step(x):
    return np.where(x < 0.3, 0.0, 1.0)


@_vectorized
def _kahaner_cosh(x):
    return 0.92 * np.cosh(x) - np.cos(x)


@_vectorized
def _kahaner_quartic(x):
    x2 = x * x
    return 1.0 / (x2 * x2 + x2 + 0.9)


@_vectorized
def _kahaner_inv_quartic(x):
    x2 = x * x
    return 1.0 / (1.0 + x2 * x2)


@_vectorized
def _kahaner_sin_denominator(x):
    return 2.0 / (2.0 + np.sin(10.0 * np.pi * x))


@_vectorized
def _kahaner_logistic(x):
    return 1.0 / (1.0 + np.exp(x))


@_vectorized
def _kahaner_bose(x):
    nonzero = np.where(x == 0.0, 1.0, x)
    return np.where(x == 0.0, 1.0, nonzero / np.expm1(nonzero))


@_vectorized
def _kahaner_gauss_peak(x):
    return math.sqrt(50.0) * np.exp(-50.0 * np.pi * x * x)


@_vectorized
def _kahaner_exp_layer(x):
    return 25.0 * np.exp(-25.0 * x)


@_vectorized
def _kahaner_lorentz_peak(x):
    return 50.0 / (np.pi * (2500.0 * x * x + 1.0))


@_vectorized
def _kahaner_near_pole(x):
    return 1.0 / (x * x + 1.005)


@_vectorized
def _kahaner_sech_spikes(x):
    return _sech(10.0 * (x - 0.2)) ** 2 + _sech(100.0 * (x - 0.4)) ** 4 + _sech(1000.0 * (x - 0.6)) ** 6


# --------------------------------------------------------------------------------------------------
# QUADPACK (Piessens et al. 1983, table 4.1), as coded in GSL integration/tests.c, at fixed alpha.
_QUADPACK = "Piessens et al. (1983), QUADPACK, Springer, table 4.1, f{} with alpha = {} (GSL integration/tests.c)"


@_vectorized
def _quadpack_log(x):  # f1, alpha = -0.5: x**alpha * log(1/x)
    return -np.log(x) / np.sqrt(x)


@_vectorized
def _quadpack_peak(x):  # f2, alpha = 4: 4**-alpha / ((x - pi/4)**2 + 16**-alpha)
    d = x - 0.25 * np.pi
    return 4.0 ** -4 / (d * d + 16.0 ** -4)


@_vectorized
def _quadpack_cos_sin(x):  # f3, alpha = 5: cos(2**alpha * sin(x))
    return np.cos(32.0 * np.sin(x))


@_vectorized
def _quadpack_abs_power(x):  # f7, alpha = -0.5: |x - 1/3|**alpha
    d = (x - _THIRD_HI) - _THIRD_LO
    return 1.0 / np.sqrt(np.abs(d))


@_vectorized
def _quadpack_jacobi_pole(x):  # f9, alpha = 4: 1 / ((x + 1 + 2**-alpha) * sqrt(1 - x**2))
    return 1.0 / (((1.0 + x) + 0.0625) * np.sqrt((1.0 - x) * (1.0 + x)))


@_vectorized
def _quadpack_sin_power(x):  # f10, alpha = 0.2: sin(x)**(alpha - 1)
    return np.sin(x) ** -0.8


@_vectorized
def _quadpack_log_power(x):  # f11, alpha = 0.5: log(1/x)**(alpha - 1)
    # x is exact, so log(x) is accurate even next to 1; no log1p needed.
    return 1.0 / np.sqrt(-np.log(x))


@_vectorized
def _quadpack_damped_sin(x):  # f12, alpha = 6: exp(20*(x - 1)) * sin(2**alpha * x)
    return np.exp(20.0 * (x - 1.0)) * np.sin(64.0 * x)


@_vectorized
def _quadpack_cos_jacobi(x):  # f13, alpha = 5: cos(2**alpha * x) / sqrt(x*(1 - x))
    return np.cos(32.0 * x) / np.sqrt(x * (1.0 - x))


@_vectorized
def _quadpack_fourier_inf(x):  # f14, alpha = 2: exp(-2**-alpha * x) * cos(x) / sqrt(x)
    return np.exp(-0.25 * x) * np.cos(x) / np.sqrt(x)


@_vectorized
def _quadpack_x2_exp(x):  # f15, alpha = 1: x**2 * exp(-2**-alpha * x)
    # Past x = 2000, exp(-x/2) is 0 and x*x would overflow into inf*0.
    xc = np.minimum(x, 2000.0)
    return np.where(x >= 2000.0, 0.0, xc * xc * np.exp(-0.5 * xc))


@_vectorized
def _quadpack_rational_inf(x):  # f16, alpha = 0.5: x**(alpha - 1) / (1 + 10*x)**2
    return 1.0 / (np.sqrt(x) * (1.0 + 10.0 * x) ** 2)


@_vectorized
def _quadpack_qagp_log(x):  # GSL f454: x**3 * log|(x**2 - 1)(x**2 - 2)|, singular at 1 and sqrt(2)
    d = (x - _SQRT2_HI) - _SQRT2_LO
    with np.errstate(divide="ignore"):  # x == 1.0 exactly is the singularity itself: -inf
        return x ** 3 * np.log(np.abs((x - 1.0) * (x + 1.0) * d * (x + _SQRT2_HI)))


@_vectorized
def _quadpack_qagi_log(x):  # GSL f455: log(x) / (1 + 100*x**2)
    return np.log(x) / (1.0 + 100.0 * x * x)


# --------------------------------------------------------------------------------------------------
# quadlib's own additions.
_OWN = "quadlib battery (own addition); value by elementary antiderivative"


@_vectorized
def _alg_endpoint(x):
    return x ** -0.9


@_vectorized
def _log_interior(x):
    d = (x - _P7_HI) - _P7_LO
    return np.log(np.abs(d))


@_vectorized
def _osc_sin100(x):
    return np.sin(100.0 * x)


@_vectorized
def _osc_xcos200(x):
    return x * np.cos(200.0 * x)


@_vectorized
def _osc_long_fourier(x):
    return np.sin(10.0 * x) / (1.0 + x)


@_vectorized
def _peak_lorentz(x):
    d = x - 0.3
    return 1.0 / (1e-4 + d * d)


@_vectorized
def _peak_gauss(x):
    d = (x - 0.37) / 1e-3
    return np.exp(-0.5 * d * d)


@_vectorized
def _kink_abs(x):
    return np.abs(x - 0.3)


@_vectorized
def _steps_floor(x):
    return np.floor(x)


@_vectorized
def _gauss_real_line(x):
    return np.exp(-x * x)


@_vectorized
def _cauchy_real_line(x):
    return 1.0 / (1.0 + x * x)


@_vectorized
def _exp_moment5(x):
    # Past x = 745, exp(-x) is 0 and x**5 would overflow into inf*0.
    xc = np.minimum(x, 745.0)
    return np.where(x >= 745.0, 0.0, xc ** 5 * np.exp(-xc))



@_vectorized
def _near_pole(x):
    return 1.0 / (x * x + 1e-6)


@_vectorized
def _near_log(x):
    return np.log(x + 1e-10)


@_vectorized
def _zero_sin_period(x):
    return np.sin(x)


_INF = np.inf
_PI_2 = 0.5 * np.pi

BATTERY = (
    # ---- Bailey, Jeyabalan & Li (2005) ----
    _battery("bjl01", _bjl01, 0.0, 1.0, "0.25000000000000000000000000000000",
            "mpmath.mpf(1)/4", _BJL.format(1), ("smooth",)),
    _battery("bjl02", _bjl02, 0.0, 1.0, "0.21065725122580698810809230218299",
            "(mpmath.pi - 2 + 2*mpmath.log(2))/12", _BJL.format(2), ("smooth",)),
    _battery("bjl03", _bjl03, 0.0, _PI_2, "1.9052386904826758277365178333519",
            "(mpmath.exp(mpmath.pi/2) - 1)/2", _BJL.format(3), ("smooth",)),
    _battery("bjl04", _bjl04, 0.0, 1.0, "0.51404189589007076139762973957688",
            "5*mpmath.pi**2/96", _BJL.format(4), ("smooth",)),
    _battery("bjl05", _bjl05, 0.0, 1.0, "-0.44444444444444444444444444444444",
            "-mpmath.mpf(4)/9", _BJL.format(5), ("endpoint_singularity", "log_singularity")),
    _battery("bjl06", _bjl06, 0.0, 1.0, "0.78539816339744830961566084581988",
            "mpmath.pi/4", _BJL.format(6), ("endpoint_singularity",)),
    _battery("bjl07", _bjl07, 0.0, 1.0, "1.1981402347355922074399224922803",
            "2*mpmath.sqrt(mpmath.pi)*mpmath.gamma(mpmath.mpf(3)/4)/mpmath.gamma(mpmath.mpf(1)/4)",
            _BJL.format(7), ("endpoint_singularity",)),
    _battery("bjl08", _bjl08, 0.0, 1.0, "2.0000000000000000000000000000000",
            "mpmath.mpf(2)", _BJL.format(8), ("endpoint_singularity", "log_singularity")),
    _battery("bjl09", _bjl09, 0.0, _PI_2, "-1.0887930451518010652503444491188",
            "-mpmath.pi*mpmath.log(2)/2",
            _BJL.format(9) + "; log(cos t) on [0, pi/2], written in s = pi/2 - t as log(sin s)",
            ("endpoint_singularity", "log_singularity")),
    _battery("bjl10", _bjl10, 0.0, _PI_2, "2.2214414690791831235079404950303",
            "mpmath.pi*mpmath.sqrt(2)/2",
            _BJL.format(10) + "; sqrt(tan t) on [0, pi/2], written in s = pi/2 - t as sqrt(cot s)",
            ("endpoint_singularity",)),
    _battery("bjl11", _bjl11, 0.0, _INF, "1.5707963267948966192313216916398",
            "mpmath.pi/2", _BJL.format(11), ("infinite", "smooth")),
    _battery("bjl12", _bjl12, 0.0, _INF, "1.7724538509055160272981674833411",
            "mpmath.sqrt(mpmath.pi)", _BJL.format(12), ("infinite", "endpoint_singularity")),
    _battery("bjl13", _bjl13, 0.0, _INF, "1.2533141373155002512078826424055",
            "mpmath.sqrt(mpmath.pi/2)", _BJL.format(13), ("infinite", "smooth")),
    _battery("bjl14", _bjl14, 0.0, _INF, "0.50000000000000000000000000000000",
            "mpmath.mpf(1)/2", _BJL.format(14), ("infinite", "oscillatory", "smooth")),
    _battery("bjl15", _bjl15, 0.0, _INF, "1.5707963267948966192313216916398",
            "mpmath.pi/2", _BJL.format(15), ("infinite", "oscillatory")),
    # ---- Kahaner (1971) ----
    _battery("kahaner_step", _kahaner_step, 0.0, 1.0, "0.70000000000000000000000000000000",
            "mpmath.mpf(7)/10", _KAHANER.format(2), ("discontinuous",), points=(0.3,)),
    _battery("kahaner_cosh", _kahaner_cosh, -1.0, 1.0, "0.47942822668880166735857796183531",
            "mpmath.mpf('1.84')*mpmath.sinh(1) - 2*mpmath.sin(1)", _KAHANER.format(4), ("smooth",)),
    _battery("kahaner_quartic", _kahaner_quartic, -1.0, 1.0, "1.5822329637296729331174689490262",
            # partial fractions over the complex roots z1, conj(z1) of z**2 + z + 0.9 (z = x**2);
            # w = sqrt(-z1) and the integral of 1/(x**2 + w**2) over [-1, 1] is 2*atan(1/w)/w
            "(lambda r, w: 4/r*mpmath.im(mpmath.atan(1/w)/w))(mpmath.sqrt(mpmath.mpf('2.6')), "
            "mpmath.sqrt(mpmath.mpc(1, -mpmath.sqrt(mpmath.mpf('2.6')))/2))",
            _KAHANER.format(5), ("smooth",)),
    _battery("kahaner_inv_quartic", _kahaner_inv_quartic, 0.0, 1.0, "0.86697298733991103757399516388287",
            "(mpmath.pi + 2*mpmath.log(1 + mpmath.sqrt(2)))/(4*mpmath.sqrt(2))",
            _KAHANER.format(8), ("smooth",)),
    _battery("kahaner_sin_denominator", _kahaner_sin_denominator, 0.0, 1.0, "1.1547005383792515290182975610039",
            "2/mpmath.sqrt(3)", _KAHANER.format(9), ("smooth", "oscillatory")),
    _battery("kahaner_logistic", _kahaner_logistic, 0.0, 1.0, "0.37988549304172247536823662649032",
            "1 + mpmath.log(2) - mpmath.log(1 + mpmath.e)", _KAHANER.format(11), ("smooth",)),
    _battery("kahaner_bose", _kahaner_bose, 0.0, 1.0, "0.77750463411224827641758654542571",
            # antiderivative x*log(1 - exp(-x)) - Li2(exp(-x))
            "mpmath.pi**2/6 + mpmath.log(1 - mpmath.exp(-1)) - mpmath.polylog(2, mpmath.exp(-1))",
            _KAHANER.format(12), ("smooth",)),
    _battery("kahaner_gauss_peak", _kahaner_gauss_peak, 0.0, 10.0, "0.50000000000000000000000000000000",
            "mpmath.erf(50*mpmath.sqrt(2*mpmath.pi))/2", _KAHANER.format(14), ("peak",)),
    _battery("kahaner_exp_layer", _kahaner_exp_layer, 0.0, 10.0, "1.0000000000000000000000000000000",
            "1 - mpmath.exp(-250)", _KAHANER.format(15), ("peak",)),
    _battery("kahaner_lorentz_peak", _kahaner_lorentz_peak, 0.0, 10.0, "0.49936338107645674463624851831176",
            "mpmath.atan(500)/mpmath.pi", _KAHANER.format(16), ("peak",)),
    _battery("kahaner_near_pole", _kahaner_near_pole, -1.0, 1.0, "1.5643964440690497730914930158085",
            "2*mpmath.atan(1/mpmath.sqrt(mpmath.mpf('1.005')))/mpmath.sqrt(mpmath.mpf('1.005'))",
            _KAHANER.format(20), ("smooth",)),
    _battery("kahaner_sech_spikes", _kahaner_sech_spikes, 0.0, 1.0, "0.21080273550054927737564325570573",
            # sech^2 -> tanh; sech^4 -> tanh - tanh^3/3; sech^6 -> tanh - 2 tanh^3/3 + tanh^5/5
            "(mpmath.tanh(8) + mpmath.tanh(2))/10"
            " + ((lambda g: g(60) - g(-40))(lambda u: mpmath.tanh(u) - mpmath.tanh(u)**3/3))/100"
            " + ((lambda g: g(400) - g(-600))"
            "(lambda u: mpmath.tanh(u) - 2*mpmath.tanh(u)**3/3 + mpmath.tanh(u)**5/5))/1000",
            _KAHANER.format(21), ("peak",)),
    # ---- QUADPACK ----
    _battery("quadpack_log", _quadpack_log, 0.0, 1.0, "4.0000000000000000000000000000000",
            "1/(mpmath.mpf(-1)/2 + 1)**2", _QUADPACK.format(1, -0.5),
            ("endpoint_singularity", "log_singularity")),
    _battery("quadpack_peak", _quadpack_peak, 0.0, 1.0, "3.1184187985862412943199012004716",
            "mpmath.atan((4 - mpmath.pi)*4**3) + mpmath.atan(mpmath.pi*4**3)", _QUADPACK.format(2, 4),
            ("peak",)),
    _battery("quadpack_cos_sin", _quadpack_cos_sin, 0.0, np.pi, "0.43378800263473354845800047861749",
            "mpmath.pi*mpmath.besselj(0, 32)", _QUADPACK.format(3, 5), ("smooth", "oscillatory")),
    _battery("quadpack_abs_power", _quadpack_abs_power, 0.0, 1.0, "2.7876937002347035944831536108078",
            "2*(mpmath.sqrt(mpmath.mpf(2)/3) + mpmath.sqrt(mpmath.mpf(1)/3))", _QUADPACK.format(7, -0.5),
            ("interior_singularity",), points=(1 / 3,)),
    _battery("quadpack_jacobi_pole", _quadpack_jacobi_pole, -1.0, 1.0, "8.7500973616728295416937281831756",
            "16*mpmath.pi/mpmath.sqrt(33)", _QUADPACK.format(9, 4),
            ("endpoint_singularity", "nearly_singular")),
    _battery("quadpack_sin_power", _quadpack_sin_power, 0.0, _PI_2, "5.6615434876078768607279724757850",
            "2**(mpmath.mpf('0.2') - 2)*mpmath.gamma(mpmath.mpf('0.1'))**2/mpmath.gamma(mpmath.mpf('0.2'))",
            _QUADPACK.format(10, 0.2), ("endpoint_singularity",)),
    _battery("quadpack_log_power", _quadpack_log_power, 0.0, 1.0, "1.7724538509055160272981674833411",
            "mpmath.gamma(mpmath.mpf(1)/2)", _QUADPACK.format(11, 0.5), ("endpoint_singularity",)),
    _battery("quadpack_damped_sin", _quadpack_damped_sin, 0.0, 1.0, "-0.0014853963193152924437835849376056",
            "(20*mpmath.sin(64) - 64*mpmath.cos(64) + 64*mpmath.exp(-20))/(400 + 4**6)",
            _QUADPACK.format(12, 6), ("smooth", "oscillatory")),
    _battery("quadpack_cos_jacobi", _quadpack_cos_jacobi, 0.0, 1.0, "0.52619715431487855112226112458937",
            "mpmath.pi*mpmath.cos(16)*mpmath.besselj(0, 16)", _QUADPACK.format(13, 5),
            ("endpoint_singularity", "oscillatory")),
    _battery("quadpack_fourier_inf", _quadpack_fourier_inf, 0.0, _INF, "1.3760433900907162390217496807208",
            # Re of Gamma(1/2) (s - i)**(-1/2), s = 1/4, principal branch
            "mpmath.sqrt(mpmath.pi)*mpmath.re(mpmath.mpc(mpmath.mpf(1)/4, -1)**(-mpmath.mpf(1)/2))",
            _QUADPACK.format(14, 2), ("infinite", "oscillatory", "endpoint_singularity")),
    _battery("quadpack_x2_exp", _quadpack_x2_exp, 0.0, _INF, "16.000000000000000000000000000000",
            "2*mpmath.mpf(2)**3", _QUADPACK.format(15, 1), ("infinite", "smooth")),
    _battery("quadpack_rational_inf", _quadpack_rational_inf, 0.0, _INF, "0.49672941328980506172167753351602",
            "mpmath.pi/(2*mpmath.sqrt(10))", _QUADPACK.format(16, 0.5),
            ("infinite", "endpoint_singularity")),
    _battery("quadpack_qagp_log", _quadpack_qagp_log, 0.0, 3.0, "52.740748383471444997729199720230",
            "61*mpmath.log(2) + mpmath.mpf(77)/4*mpmath.log(7) - 27",
            "GSL integration/tests.c, f454 (QUADPACK QAGP test: x^3 log|(x^2-1)(x^2-2)| on [0, 3])",
            ("interior_singularity", "log_singularity"), points=(1.0, _SQRT2_HI)),
    _battery("quadpack_qagi_log", _quadpack_qagi_log, 0.0, _INF, "-0.36168922062077324062450232751309",
            "-mpmath.pi*mpmath.log(10)/20",
            "GSL integration/tests.c, f455 (QUADPACK QAGI test: log(x)/(1 + 100 x^2) on [0, inf))",
            ("infinite", "endpoint_singularity", "log_singularity")),
    # ---- own additions ----
    _battery("alg_endpoint", _alg_endpoint, 0.0, 1.0, "10.000000000000000000000000000000",
            "mpmath.mpf(10)", _OWN + " (x^-0.9)", ("endpoint_singularity",)),
    _battery("log_interior", _log_interior, 0.0, 1.0, "-1.6108643020548934630256709631974",
            "mpmath.mpf('0.3')*mpmath.log(mpmath.mpf('0.3')) + mpmath.mpf('0.7')*mpmath.log(mpmath.mpf('0.7')) - 1",
            _OWN + " (log|x - 0.7|)", ("interior_singularity", "log_singularity"), points=(0.7,)),
    _battery("osc_sin100", _osc_sin100, 0.0, 1.0, "0.0013768112771231606589806148604916",
            "(1 - mpmath.cos(100))/100", _OWN + " (sin(100 x))", ("smooth", "oscillatory")),
    _battery("osc_xcos200", _osc_xcos200, 0.0, 1.0, "-0.0043793067941947977609062234082207",
            "mpmath.sin(200)/200 + (mpmath.cos(200) - 1)/40000", _OWN + " (x cos(200 x))",
            ("smooth", "oscillatory")),
    _battery("osc_long_fourier", _osc_long_fourier, 0.0, 100.0, "0.097633414553232727886549470230587",
            "mpmath.cos(10)*(mpmath.si(1010) - mpmath.si(10)) - mpmath.sin(10)*(mpmath.ci(1010) - mpmath.ci(10))",
            "quadlib battery (own addition); value by u = 1 + x and the sine and cosine integrals"
            " (sin(10 x)/(1 + x) on [0, 100])", ("smooth", "oscillatory")),
    _battery("peak_lorentz", _peak_lorentz, 0.0, 1.0, "309.39869151241494108699839806790",
            "100*(mpmath.atan(70) + mpmath.atan(30))", _OWN + " (1/(1e-4 + (x - 0.3)^2))", ("peak",)),
    _battery("peak_gauss", _peak_gauss, 0.0, 1.0, "0.0025066282746310005024157652848110",
            "(lambda s: s*mpmath.sqrt(mpmath.pi/2)*(mpmath.erf(mpmath.mpf('0.63')/(s*mpmath.sqrt(2)))"
            " + mpmath.erf(mpmath.mpf('0.37')/(s*mpmath.sqrt(2)))))(mpmath.mpf('1e-3'))",
            _OWN + " (exp(-(x - 0.37)^2/(2e-6)), width 1e-3)", ("peak",)),
    _battery("kink_abs", _kink_abs, 0.0, 1.0, "0.29000000000000000000000000000000",
            "mpmath.mpf('0.29')", _OWN + " (|x - 0.3|)", ("kink",), points=(0.3,)),
    _battery("steps_floor", _steps_floor, 0.0, 5.5, "12.500000000000000000000000000000",
            "mpmath.mpf(25)/2", _OWN + " (floor(x) on [0, 5.5])", ("discontinuous",),
            points=(1.0, 2.0, 3.0, 4.0, 5.0)),
    _battery("gauss_real_line", _gauss_real_line, -_INF, _INF, "1.7724538509055160272981674833411",
            "mpmath.sqrt(mpmath.pi)", _OWN + " (exp(-x^2) on the real line)", ("infinite", "smooth")),
    _battery("cauchy_real_line", _cauchy_real_line, -_INF, _INF, "3.1415926535897932384626433832795",
            "mpmath.pi", _OWN + " (1/(1 + x^2) on the real line)", ("infinite", "smooth")),
    _battery("exp_moment5", _exp_moment5, 0.0, _INF, "120.00000000000000000000000000000",
            "mpmath.factorial(5)", _OWN + " (x^5 exp(-x) on [0, inf))", ("infinite", "smooth")),
    _battery("quartic_half_line", _kahaner_inv_quartic, 0.0, _INF, "1.1107207345395915617539702475152",
            "mpmath.pi/(2*mpmath.sqrt(2))", _OWN + " (1/(1 + x^4) on [0, inf))", ("infinite", "smooth")),
    _battery("near_pole", _near_pole, -1.0, 1.0, "3139.5926542564595051295957640097",
            "2000*mpmath.atan(1000)", _OWN + " (1/(x^2 + 1e-6) on [-1, 1])", ("nearly_singular", "peak")),
    _battery("near_log", _near_log, 0.0, 1.0, "-0.99999999759741490700095431598218",
            "(lambda e: (1 + e)*mpmath.log(1 + e) - e*mpmath.log(e) - 1)(mpmath.mpf('1e-10'))",
            _OWN + " (log(x + 1e-10))", ("nearly_singular",)),
    _battery("zero_sin_period", _zero_sin_period, 0.0, 2 * np.pi, "0",
            "mpmath.mpf(0)", _OWN + " (sin(x) over one period: the value is 0)",
            ("smooth", "oscillatory", "zero")),
)

_BY_NAME = {p.name: p for p in BATTERY}
if len(_BY_NAME) != len(BATTERY):
    raise RuntimeError("problem names in BATTERY are not unique")


def by_name(name):
    """The problem called `name`.

    Raises
    ------
    ValueError
        If no problem in :data:`BATTERY` has that name.
    """
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(f"`name` must be the name of a problem in BATTERY, got {name!r}") from None


def _battery_problem(problem):
    if isinstance(problem, str):
        return by_name(problem)
    if not isinstance(problem, Problem) or _BY_NAME.get(problem.name) is not problem:
        raise ValueError(f"`problem` must be a problem of BATTERY or its name, got {problem!r}")
    return problem


def exact_decimal(problem):
    """The stored value of `problem` (a problem of :data:`BATTERY` or its name) as a decimal string of at
    least 25 significant digits ("0" for a zero integral)."""
    return _EXACT[_battery_problem(problem).name][0]


def exact_mp(problem, dps=30):
    """The exact value of `problem` (a problem of :data:`BATTERY` or its name) as an mpmath number of `dps`
    digits.

    Evaluates the problem's closed form (an mpmath expression stored with the battery, never a user's
    string) with 10 guard digits and rounds the result to ``dps`` digits.
    """
    problem = _battery_problem(problem)
    if isinstance(dps, bool) or not isinstance(dps, (int, np.integer)) or dps < 1:
        raise ValueError(f"`dps` must be a positive integer, got {dps!r}")
    import mpmath

    closed_form = _EXACT[problem.name][1]
    with mpmath.workdps(int(dps) + 10):
        value = eval(closed_form, {"__builtins__": {}, "mpmath": mpmath})  # noqa: S307 - our own data
    with mpmath.workdps(int(dps)):
        return +mpmath.mpf(value)


# --------------------------------------------------------------------------------------------------
# Normal-weight integrals: E g(Z), Z ~ N(0, 1), written f(x) = g(x) phi(x) on the real line with log g
# beside it for the rules and integrators against the normal weight.
_NORMAL = "quadlib benchmark (own addition); value by mpmath.quad at 30 digits"


def normal_problems():
    """The ``"normal"`` kind: E expit(a + s Z) and the Poisson-lognormal probability E Poisson(y; exp(a + s Z)).

    Returns
    -------
    list of Problem
        ``logistic_normal_{a}_{s}`` for (a, s) = (-1, 1), (0.5, 2), (2, 3) and ``poisson_normal_{y}_{a}_{s}``
        for (y, a, s) = (0, 0.5, 1), (4, 1, 0.5), (20, 1, 1.5); each value by mpmath at 30 digits (a few
        tenths of a second in all).
    """
    from scipy.special import expit, gammaln

    out = []
    for a, s in ((-1.0, 1.0), (0.5, 2.0), (2.0, 3.0)):
        def f(x, a=a, s=s):
            return expit(a + s * x) * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)

        def log_g(x, a=a, s=s):
            return -np.logaddexp(0.0, -(a + s * x))
        out.append(Problem(f"logistic_normal_{a:g}_{s:g}", f, -np.inf, np.inf, _exact_logistic_normal(a, s),
                           kind="normal", source=f"{_NORMAL}: E expit({a:g} + {s:g} Z)", tags=("infinite", "smooth"),
                           log_g=log_g))
    # a count's marginal probability, P(Y = y) for Y | z ~ Poisson(exp(a + s z)): the larger the count, the
    # narrower the integrand against the N(0, 1) prior, which is where adaptive rules earn their keep
    for y, a, s in ((0, 0.5, 1.0), (4, 1.0, 0.5), (20, 1.0, 1.5)):
        def log_g(x, y=y, a=a, s=s):
            eta = a + s * x
            with np.errstate(over="ignore"):
                return y * eta - np.exp(eta) - gammaln(y + 1.0)

        def f(x, log_g=log_g):
            return np.exp(log_g(x) - 0.5 * x * x) / np.sqrt(2 * np.pi)
        out.append(Problem(f"poisson_normal_{y}_{a:g}_{s:g}", f, -np.inf, np.inf, _exact_poisson_normal(y, a, s),
                           kind="normal", source=f"{_NORMAL}: E Poisson({y}; exp({a:g} + {s:g} Z))",
                           tags=("infinite", "peak" if y >= 20 else "smooth"), log_g=log_g))
    return out


def _exact_poisson_normal(y, a, s):
    import mpmath

    with mpmath.workdps(30):
        def integrand(z):
            eta = a + s * z
            return mpmath.exp(y * eta - mpmath.exp(eta) - mpmath.loggamma(y + 1) - z * z / 2) / mpmath.sqrt(2 * mpmath.pi)
        # split at the integrand's peak, where y s - s e^eta - z = 0; beyond peak - 40 and peak + 15 it is
        # below 1e-40 of its value (the normal tail, and exp(-e^eta)), and mpmath's infinite-range maps
        # would send exp(exp(.)) to astronomically large arguments
        peak = mpmath.findroot(lambda z: y * s - s * mpmath.exp(a + s * z) - z, 0)
        value = mpmath.quad(integrand, [peak - 40, peak - 1, peak, peak + 1, peak + 15])
    return float(value)


def _exact_logistic_normal(a, s):
    import mpmath

    with mpmath.workdps(30):
        value = mpmath.quad(lambda z: mpmath.exp(-z * z / 2) / mpmath.sqrt(2 * mpmath.pi) / (1 + mpmath.exp(-(a + s * z))),
                            [-mpmath.inf, -a / s, mpmath.inf])
    return float(value)
