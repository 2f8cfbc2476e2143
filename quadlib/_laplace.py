"""The Laplace approximation as an integrator: ``laplace`` for one integral over R^d or a box.

For ``I = ∫ exp(h(x)) dx`` with a maximum at x̂ and ``H = ∇²h(x̂)`` negative definite,

    log I ≈ h(x̂) + (d/2) log 2π - (1/2) log det(-H)                                (order 1)

and over a box A, ``I_A ≈ I · P(N(x̂, -H⁻¹) ∈ A)``. The order-2 correction multiplies I by
``1 + T4/8 + T33/8 + T33'/12`` with A = (-H)⁻¹ and the third and fourth derivatives h_ijk, h_ijkl at x̂:
``T4 = Σ h_ijkl A_ij A_kl``, ``T33 = Σ h_ijk h_lmn A_ij A_kl A_mn``, ``T33' = Σ h_ijk h_lmn A_il A_jm A_kn``
(in one dimension ``h4 σ⁴/8 + 5 h3² σ⁶/24``, which turns Stirling's formula for Γ(n+1) into its
``1 + 1/(12n)`` form). The relative error falls from O(1/n) to O(1/n²) for an integrand ``exp(n g)``.

References: L. Tierney and J. B. Kadane, JASA 81 (1986); Z. Shun and P. McCullagh, JRSS B 57 (1995).
"""
import math
import warnings

import numpy as np
from scipy import optimize, special, stats

from . import _validation as v
from ._result import IntegrationResult, IntegrationWarning

__all__ = ["LaplaceResult", "laplace"]

_LOG_2PI = math.log(2 * math.pi)


#: Deprecated: :func:`laplace` returns an :class:`IntegrationResult` (this name is kept as an alias of it).
LaplaceResult = IntegrationResult


def _rounding(log_value):
    """What rounding can hide in a value of log_f near `log_value` (a few ulps of it, at least of 1)."""
    return 8 * np.finfo(float).eps * max(abs(log_value), 1.0)


class LogDensity:
    """log_f with its derivatives (analytic where given, else central differences), counting calls.

    Shared by :func:`laplace` and the inner approximations of :func:`quadlib.nested_laplace`.
    """

    def __init__(self, log_f, grad, hess, d, scalar, args, complex_step=False):
        self.log_f, self.grad_f, self.hess_f, self.d, self.scalar, self.args = log_f, grad, hess, d, scalar, args
        self.complex_step = complex_step
        self.nfev = 0

    def _arg(self, x):
        return float(x[0]) if self.scalar else x

    def value(self, x):
        self.nfev += 1
        out = np.asarray(self.log_f(self._arg(x), *self.args), dtype=float)
        if out.size != 1:
            raise ValueError(f"`log_f` must return a scalar, got shape {out.shape}")
        return float(out.reshape(()))

    def gradient(self, x, scale):
        if self.grad_f is not None:
            self.nfev += 1
            g = np.asarray(self.grad_f(self._arg(x), *self.args), dtype=float).reshape(-1)
            if g.shape != (self.d,):
                raise ValueError(f"`grad` must return shape ({self.d},), got {g.shape}")
            return g
        if self.complex_step:
            return self._complex_gradient(x)
        h = np.cbrt(np.finfo(float).eps) * scale
        g = np.empty(self.d)
        for i in range(self.d):
            e = np.zeros(self.d)
            e[i] = h[i]
            g[i] = (self.value(x + e) - self.value(x - e)) / (2 * h[i])
        return g

    def _complex_gradient(self, x):
        # Im f(x + i h e_k) / h: no subtraction, so exact to rounding for any tiny h (Squire and Trapp)
        g = np.empty(self.d)
        for k in range(self.d):
            z = x.astype(complex)
            z[k] += 1e-100j
            self.nfev += 1
            value = self.log_f(complex(z[0]) if self.scalar else z, *self.args)
            g[k] = np.imag(value) / 1e-100
        return g

    @property
    def has_gradient(self):
        return self.grad_f is not None or self.complex_step

    def hessian(self, x, scale, relative_step=None):
        """Analytic, or central differences (of `grad` if given, else of values) at steps relative_step *
        scale and half that, combined by Richardson extrapolation. On an exactly quadratic log_f the
        differences are exact but for rounding, which large steps keep near eps * |log f| / step^2."""
        if self.hess_f is not None:
            self.nfev += 1
            H = np.asarray(self.hess_f(self._arg(x), *self.args), dtype=float).reshape(-1)
            if H.size != self.d * self.d:
                raise ValueError(f"`hess` must return shape ({self.d}, {self.d}), got {H.shape}")
            return H.reshape(self.d, self.d)
        if relative_step is None:
            return self._differences(x, np.finfo(float).eps ** 0.25 * scale)
        coarse = self._differences(x, relative_step * scale)
        fine = self._differences(x, 0.5 * relative_step * scale)
        return (4 * fine - coarse) / 3

    def _differences(self, x, h):
        d = self.d
        H = np.empty((d, d))
        if self.has_gradient:
            for j in range(d):
                e = np.zeros(d)
                e[j] = h[j]
                H[:, j] = (self.gradient(x + e, None) - self.gradient(x - e, None)) / (2 * h[j])
            return 0.5 * (H + H.T)
        f0 = self.value(x)
        for i in range(d):
            ei = np.zeros(d)
            ei[i] = h[i]
            H[i, i] = (self.value(x + ei) - 2 * f0 + self.value(x - ei)) / (h[i] * h[i])
            for j in range(i):
                ej = np.zeros(d)
                ej[j] = h[j]
                H[i, j] = H[j, i] = (self.value(x + ei + ej) - self.value(x + ei - ej) - self.value(x - ei + ej)
                                     + self.value(x - ei - ej)) / (4 * h[i] * h[j])
        return H


def _laplace_iv(log_f, x0, grad, hess, bounds, order, args):
    v.callable_(log_f, "log_f")
    if grad is not None:
        v.callable_(grad, "grad")
    if hess is not None:
        v.callable_(hess, "hess")
    try:
        x = np.array(x0, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("`x0` must be a real number or a 1-D array of real numbers") from None
    scalar = x.ndim == 0
    x = np.atleast_1d(x)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"`x0` must be a scalar or a non-empty 1-D array, got shape {np.shape(x0)}")
    if not np.all(np.isfinite(x)):
        raise ValueError("`x0` must be finite")
    order = v.choice(order, (1, 2), "order")
    if bounds is not None:
        b = np.array(bounds, dtype=float).reshape(-1, 2) if np.size(bounds) == 2 * x.size else None
        if b is None:
            raise ValueError(f"`bounds` must give (lower, upper) for each of the {x.size} coordinates")
        if np.isnan(b).any() or not np.all(b[:, 0] < b[:, 1]):
            raise ValueError("`bounds` must have lower < upper in every coordinate")
        if order == 2:
            raise ValueError("`order`=2 is for integrals over all of R^d; with `bounds` use order=1")
        bounds = b
    args = v.args_tuple(args)
    return log_f, x, scalar, grad, hess, bounds, order, args


def laplace(log_f, x0, *, grad=None, hess=None, bounds=None, order=1, args=(), max_iter=100, complex_step=False):
    """Laplace approximation of ``∫ f(x) dx`` over R^d (or a box), from ``log f``.

    Parameters
    ----------
    log_f : callable
        ``log_f(x, *args)``: a float for ``x`` of shape (d,) (a float x when `x0` is a scalar).
    x0 : float or array_like (d,)
        Starting point of the mode search.
    grad, hess : callable, optional
        Gradient (d,) and Hessian (d, d) of `log_f`. Without them, central differences are used, with
        steps scaled to the integrand's width and Richardson extrapolation for the Hessian.
    bounds : sequence of (lower, upper), optional
        Integrate over this box instead: the mode and curvature are those of `log_f` on R^d, and the
        result is multiplied by the probability of the box under ``N(mode, -H⁻¹)`` (exact for d = 1;
        scipy's multivariate normal CDF, accurate to about 1e-6, for d > 1).
    order : {1, 2}
        2 adds the O(1/n) correction from the third and fourth derivatives (finite differences of the
        Hessian; O(d²) Hessian evaluations).
    args : tuple
        Extra arguments of `log_f`, `grad` and `hess`; a value that is not a tuple is passed as the one
        extra argument, as in scipy.
    max_iter : int
        Bound on the mode search's iterations.
    complex_step : bool
        Take the gradient by the complex step, ``Im log_f(x + i h e_k) / h`` (exact to rounding), and the
        Hessian by differences of it. `log_f` must then accept complex `x` and be analytic in it (no
        ``abs``, comparisons or ``np.real``).

    Returns
    -------
    IntegrationResult
        ``log_integral``, the log of the approximation (computed in log space: no overflow);
        ``integral = exp(log_integral)`` (inf or 0 where that overflows or underflows); ``error`` NaN
        (the approximation has no error estimate); ``nfev``, the evaluations of `log_f` (and of
        `grad`/`hess`, each counted); ``status`` 0 when the mode search converged, else 1 with
        ``success=False`` and an IntegrationWarning; ``message``. Its ``extra`` (also attributes):
        ``mode`` (d,); ``hessian`` (d, d), ∇² log f at the mode (negative definite); ``order``;
        ``correction``, the ``log(1 + ...)`` added by order 2 (0 for order 1); ``box_probability``,
        ``P(N(mode, -H⁻¹) ∈ box)`` (1 without `bounds`).

    Raises
    ------
    ValueError
        If `log_f` is not finite at `x0`, or the Hessian is not negative definite at the mode found (there
        is no Laplace approximation there), or shapes are wrong.

    Examples
    --------
    Stirling: Γ(n + 1) = ∫ exp(n log x - x) dx, with its 1/(12 n) correction at order 2.

    >>> import math, quadlib
    >>> n = 10
    >>> lf = lambda x: n * math.log(x) - x if x > 0 else -math.inf
    >>> r1 = quadlib.laplace(lf, 5.0)
    >>> r2 = quadlib.laplace(lf, 5.0, order=2)
    >>> exact = math.lgamma(n + 1)
    >>> round(r1.log_integral - exact, 4), round(r2.log_integral - exact, 5)  # -1/(12n), -1/(288n^2)
    (-0.0083, -3e-05)
    """
    log_f, x, scalar, grad, hess, bounds, order, args = _laplace_iv(log_f, x0, grad, hess, bounds, order, args)
    max_iter = v.positive_int(max_iter, "max_iter")
    d = x.size
    if complex_step and grad is not None:
        raise ValueError("`complex_step` computes the gradient: give it or `grad`, not both")
    fun = LogDensity(log_f, grad, hess, d, scalar, args, bool(complex_step))
    f0 = fun.value(x)
    if not np.isfinite(f0):
        raise ValueError(f"`log_f` must be finite at `x0`, got {f0}")

    # mode: scipy's optimizers, then Newton steps with the Hessian to polish it
    def negative(z):
        value = fun.value(z)
        return -value if np.isfinite(value) else np.inf

    unit = np.ones(d)
    jac = (lambda z: -fun.gradient(z, unit)) if fun.has_gradient else "3-point"
    if hess is not None:
        opt = optimize.minimize(negative, x, jac=jac, hess=lambda z: -fun.hessian(z, unit),
                                method="trust-exact", options={"maxiter": max_iter})
    else:
        opt = optimize.minimize(negative, x, jac=jac, method="BFGS", options={"maxiter": max_iter, "gtol": 1e-10})
    mode = opt.x
    success, message = True, "converged"
    scale = np.maximum(np.abs(mode), 1.0)
    H = fun.hessian(mode, scale)
    for _ in range(20):
        try:
            np.linalg.cholesky(-H)
        except np.linalg.LinAlgError:
            break
        scale = 1.0 / np.sqrt(np.diag(-H))
        g = fun.gradient(mode, scale)
        step = np.linalg.solve(-H, g)
        if np.max(np.abs(step) / scale) < (1e-10 if fun.has_gradient else 1e-7):  # differences are noisier
            break
        current = fun.value(mode)
        # near the mode log_f is flat to within its rounding: a Newton step that "loses" less than that is
        # taken, not halved into stagnation
        for _ in range(30):
            if fun.value(mode + step) >= current - _rounding(current):
                break
            step = 0.5 * step
        else:
            break
        mode = mode + step
        H = fun.hessian(mode, scale)
    else:
        # the steps did not shrink below the threshold, but if the gain they promise is below log_f's
        # rounding the mode is as good as log_f can tell (a large |log_f| makes that the binding limit)
        g = fun.gradient(mode, scale)
        gain = 0.5 * float(g @ np.linalg.solve(-H, g))
        if not gain <= _rounding(fun.value(mode)):
            success, message = False, "the Newton polish of the mode did not converge in 20 steps"
    if not opt.success and np.max(np.abs(fun.gradient(mode, scale)) * scale) > 1e-6:
        success, message = False, f"the mode search did not converge: {opt.message}"
    try:
        np.linalg.cholesky(-H)
    except np.linalg.LinAlgError:
        raise ValueError(f"the Hessian of `log_f` is not negative definite at the mode found ({mode.tolist()}); "
                         f"eigenvalues {np.linalg.eigvalsh(H).tolist()}: no Laplace approximation there") from None
    scale = 1.0 / np.sqrt(np.diag(-H))
    if hess is None:
        H = fun.hessian(mode, scale, relative_step=0.02 if fun.has_gradient else 0.1)
    cholesky = np.linalg.cholesky(-H)
    log_det = 2 * np.sum(np.log(np.diag(cholesky)))
    log_integral = fun.value(mode) + 0.5 * d * _LOG_2PI - 0.5 * log_det
    correction = 0.0
    if order == 2:
        correction = order_two_correction(fun, mode, H, scale, hess is not None)
        log_integral += correction
    probability = 1.0
    if bounds is not None:
        cov = np.linalg.inv(-H)
        probability = _box_probability(mode, cov, bounds)
        log_integral += math.log(probability) if probability > 0 else -math.inf
    if not success:
        warnings.warn(f"laplace: {message}", IntegrationWarning, stacklevel=2)
    return IntegrationResult.from_log(log_integral, fun.nfev, 0 if success else 1, success, message,
                                      {"mode": mode, "hessian": H, "order": order, "correction": float(correction),
                                       "box_probability": float(probability)})


def order_two_correction(fun, mode, H, scale, analytic):
    """log(1 + T4/8 + T33/8 + T33'/12) from third and fourth derivatives by differences of the Hessian.

    `fun` is a :class:`LogDensity`, `H` its Hessian at `mode`, `scale` the step scale per coordinate,
    `analytic` whether `fun` has an analytic Hessian (smaller difference steps). Used by :func:`laplace`
    and :func:`quadlib.nested_laplace`.
    """
    d = mode.size
    A = np.linalg.inv(-H)
    delta = (0.02 if analytic else 0.1) * scale

    def hessian_at(x):
        return fun.hessian(x, scale, relative_step=None if analytic else 0.05)

    H0 = hessian_at(mode)

    def differences(delta):
        third = np.empty((d, d, d))
        fourth = np.empty((d, d, d, d))
        for k in range(d):
            e = np.zeros(d)
            e[k] = delta[k]
            plus, minus = hessian_at(mode + e), hessian_at(mode - e)
            third[:, :, k] = (plus - minus) / (2 * delta[k])
            fourth[:, :, k, k] = (plus - 2 * H0 + minus) / delta[k] ** 2
        for k in range(d):
            for l in range(k):
                ek = np.zeros(d)
                ek[k] = delta[k]
                el = np.zeros(d)
                el[l] = delta[l]
                mixed = (hessian_at(mode + ek + el) - hessian_at(mode + ek - el) - hessian_at(mode - ek + el)
                         + hessian_at(mode - ek - el)) / (4 * delta[k] * delta[l])
                fourth[:, :, k, l] = fourth[:, :, l, k] = mixed
        return third, fourth

    # Richardson extrapolation in the step removes the O(delta^2) error of both differences
    (t_coarse, f_coarse), (t_fine, f_fine) = differences(delta), differences(0.5 * delta)
    third, fourth = (4 * t_fine - t_coarse) / 3, (4 * f_fine - f_coarse) / 3
    t4 = np.einsum("ijkl,ij,kl->", fourth, A, A)
    t33a = np.einsum("ijk,lmn,ij,kl,mn->", third, third, A, A, A)
    t33b = np.einsum("ijk,lmn,il,jm,kn->", third, third, A, A, A)
    factor = 1.0 + t4 / 8 + t33a / 8 + t33b / 12
    if not factor > 0:
        raise ValueError(f"the order-2 correction factor is {factor}: the integrand is too far from Gaussian "
                         "for the expansion; use order=1 or a quadrature rule")
    return math.log(factor)


def _box_probability(mean, cov, bounds):
    lower, upper = bounds[:, 0], bounds[:, 1]
    if mean.size == 1:
        sd = math.sqrt(cov[0, 0])
        lo, hi = (lower[0] - mean[0]) / sd, (upper[0] - mean[0]) / sd
        # the tail on the side away from the mean keeps its relative accuracy
        if lo > 0:
            return float(special.ndtr(-lo) - special.ndtr(-hi))
        return float(special.ndtr(hi) - special.ndtr(lo))
    dist = stats.multivariate_normal(mean=mean, cov=cov, abseps=1e-10, releps=1e-8, maxpts=1_000_000 * mean.size)
    return float(dist.cdf(upper, lower_limit=lower))
