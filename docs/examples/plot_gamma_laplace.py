"""
Laplace's approximation on the Gamma function and Gamma probabilities
=====================================================================

Laplace's method replaces an integrand ``exp(h(x))`` by the Gaussian with the same mode :math:`\\hat x` and
curvature :math:`h''(\\hat x)`:

.. math::

    \\int e^{h(x)}\\,dx \\approx e^{h(\\hat x)} \\sqrt{2\\pi / (-h''(\\hat x))}.

For an integrand ``exp(n g(x))`` its relative error is O(1/n). :func:`quadlib.laplace` computes it in log
space from ``log f`` alone (the mode by optimization, the curvature by differences), and ``order=2`` adds
the next term of the expansion, which brings the error to O(1/n²).

This example follows the library's own Gamma examples (the docstring of :func:`quadlib.laplace` and
:doc:`/laplace`): Stirling's formula as the Laplace approximation of :math:`\\Gamma(n + 1) = n!`, then the
probability of an interval under a Gamma distribution. The references are mpmath at 30 digits.
"""
import math
import warnings

import matplotlib.pyplot as plt
import mpmath
import numpy as np

import quadlib

mpmath.mp.dps = 30

# %%
# Stirling's formula
# ------------------
# :math:`\Gamma(n + 1) = \int_0^\infty e^{n \log x - x}\,dx`. The exponent has its maximum at
# :math:`\hat x = n` with curvature :math:`-1/n`, and Laplace's approximation is Stirling's formula
# :math:`\sqrt{2\pi n}\, n^n e^{-n}`, whose relative error is :math:`-1/(12n) + O(1/n^2)`.

ns = np.array([1, 2, 3, 5, 8, 12, 20, 30, 50, 80, 120, 200, 300, 500, 1000])
rel = {"order 1": [], "order 2": [], "order 2, analytic": []}
not_converged, warned = [], []
for n in ns:
    def log_f(x, n=n):
        return n * math.log(x) - x if x > 0 else -math.inf

    exact = mpmath.loggamma(n + 1)  # log Gamma(n + 1) to 30 digits
    with warnings.catch_warnings(record=True) as caught:  # printed below with the n they belong to
        warnings.simplefilter("always", quadlib.IntegrationWarning)
        results = {
            "order 1": quadlib.laplace(log_f, 0.5 * n),
            "order 2": quadlib.laplace(log_f, 0.5 * n, order=2),
            # with the exact gradient and Hessian only the third and fourth derivatives are differenced
            "order 2, analytic": quadlib.laplace(log_f, 0.5 * n, order=2, grad=lambda x, n=n: n / x - 1,
                                                 hess=lambda x, n=n: -n / x ** 2),
        }
    warned += [(int(n), f"{w.category.__name__}: {w.message}") for w in caught]
    not_converged += [(key, int(n), float(res.mode[0]), res.message) for key, res in results.items() if not res.success]
    for key, res in results.items():
        # the ratio approximation / exact, from the difference of the logs (no overflow at n = 1000)
        rel[key].append(float(mpmath.expm1(mpmath.mpf(res.log_integral) - exact)))
rel = {k: np.array(v) for k, v in rel.items()}

print(f"{'n':>5}{'order 1':>12}{'n * err':>10}{'order 2':>12}{'n^2 * err':>11}{'analytic':>12}{'n^2 * err':>11}")
for n, e1, e2, e3 in zip(ns, *rel.values()):
    print(f"{n:5d}{e1:12.3e}{n * e1:10.5f}{e2:12.3e}{n * n * e2:11.5f}{e3:12.3e}{n * n * e3:11.5f}")
print(f"-1/12 = {-1 / 12:.5f};  -1/288 = {-1 / 288:.5f}")
for n, message in warned:
    print(f"n = {n}: {message}")
for key, n, mode, message in not_converged:
    print(f"{key}, n = {n}: success=False, mode found {mode:.13g}: {message}")

# %%
# ``n * error`` settles at :math:`-1/12`: the relative error of order 1 is O(1/n). Order 2 multiplies by
# :math:`1 + 1/(12n)`, leaving :math:`-1/(288 n^2)`. Without derivatives, its third and fourth derivatives come
# from differences of a differenced Hessian, and from n of about 200 on its error stops following
# :math:`n^{-2}`: it is rounding, about 3e-7 at n = 1000, where :math:`\log f` is about 5900. Given the exact gradient and Hessian (``grad=``, ``hess=``), order 2 follows :math:`-1/(288 n^2)` to
# the end.
#
# Every call reports ``success=True``; any ``IntegrationWarning`` or failed flag would be printed above, not
# hidden. (Near the mode :math:`\log f` is flat to within its own rounding, about :math:`10^{-13}` here, so the
# Newton polish of the mode accepts steps whose change is below that instead of halving them forever.)

fig, ax = plt.subplots(figsize=(6.4, 4.4))
for (key, e), marker in zip(rel.items(), "osd"):
    ax.loglog(ns, np.abs(e), marker=marker, ms=4, label=key + (" (Stirling)" if key == "order 1" else ""))
ax.loglog(ns, 1 / (12 * ns), "k:", lw=1, label=r"$1/(12n)$")
ax.loglog(ns, 1 / (288 * ns ** 2.0), "k--", lw=1, label=r"$1/(288n^2)$")
ax.set_xlabel("n")
ax.set_ylabel(r"$|\mathrm{Laplace} / \Gamma(n+1) - 1|$")
ax.set_title(r"Laplace's approximation of $\Gamma(n+1)$ against mpmath")
ax.legend()
fig.tight_layout()

# %%
# A Gamma probability
# -------------------
# The seed's example: :math:`P(a < X < b)` for :math:`X \sim \mathrm{Gamma}(\alpha, \text{scale } 2)`, with
# :math:`a, b` the mode :math:`\mp 1.5` standard deviations of the Laplace approximation (the Gaussian with
# mean :math:`2(\alpha - 1)` and standard deviation :math:`2\sqrt{\alpha - 1}`). With ``bounds``,
# :func:`quadlib.laplace` multiplies the whole-line approximation by the Gaussian's probability of the box.
# The reference is the regularized incomplete gamma function, ``mpmath.gammainc(..., regularized=True)``.
#
# An interval placed asymmetrically about the mode (here from the mode to 1.5 standard deviations above it)
# has a larger error, O(1/√α): the Gaussian misses the Gamma's skewness, which cancels only over a symmetric
# interval.

beta = 2.0
alphas = np.array([5, 10, 20, 40, 80, 160, 320, 1000])


def gamma_probability_error(alpha, lo_sd, hi_sd):
    """Relative error of laplace(..., bounds=[(a, b)]) for P(a < X < b), a, b = mode + (lo_sd, hi_sd) sd."""
    mode = (alpha - 1) * beta
    sd = mode / math.sqrt(alpha - 1)
    a, b = mode + lo_sd * sd, mode + hi_sd * sd

    def log_density(x):
        if x <= 0:
            return -math.inf
        return (alpha - 1) * math.log(x) - x / beta - math.lgamma(alpha) - alpha * math.log(beta)

    res = quadlib.laplace(log_density, 0.8 * mode, bounds=[(a, b)])
    exact = mpmath.gammainc(alpha, a / beta, b / beta, regularized=True)
    return float(mpmath.mpf(res.integral) / exact - 1)


symmetric = np.array([gamma_probability_error(al, -1.5, 1.5) for al in alphas])
one_sided = np.array([gamma_probability_error(al, 0.0, 1.5) for al in alphas])
print(f"{'alpha':>6}{'symmetric':>12}{'alpha*err':>11}{'one-sided':>12}{'sqrt(alpha)*err':>17}")
for al, es, eo in zip(alphas, symmetric, one_sided):
    print(f"{al:6d}{es:12.2e}{al * es:11.3f}{eo:12.2e}{math.sqrt(al) * eo:17.3f}")

# %%
# ``α · error`` settles near 0.108 for the symmetric interval (the table in :doc:`/laplace`), and
# ``√α · error`` settles for the one-sided one.

fig, ax = plt.subplots(figsize=(6.4, 4.4))
ax.loglog(alphas, np.abs(symmetric), "o-", label="mode ∓ 1.5 sd")
ax.loglog(alphas, np.abs(one_sided), "s-", label="mode to mode + 1.5 sd")
ax.loglog(alphas, abs(symmetric[-1]) * alphas[-1] / alphas, "k:", lw=1, label=r"$\propto 1/\alpha$")
ax.loglog(alphas, abs(one_sided[-1]) * np.sqrt(alphas[-1] / alphas), "k--", lw=1, label=r"$\propto 1/\sqrt{\alpha}$")
ax.set_xlabel(r"shape $\alpha$")
ax.set_ylabel("relative error of P(a < X < b)")
ax.set_title("Laplace approximation of a Gamma(α, 2) probability")
ax.legend()
fig.tight_layout()
plt.show()
