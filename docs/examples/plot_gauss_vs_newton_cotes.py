"""
Gauss–Legendre against Newton–Cotes with the same number of points
===================================================================

An ``n``-point closed Newton–Cotes rule has equally spaced nodes and is exact for polynomials of degree
``n - 1`` (``n`` when ``n`` is odd); an ``n``-point Gauss–Legendre rule chooses its nodes too, and is exact to
degree ``2n - 1``. The difference is not only in the degree: the Newton–Cotes weights turn negative from
9 points on, their absolute sum grows exponentially, and the rules stop converging — even for an analytic
integrand, and even in exact arithmetic (Runge's phenomenon). Gauss weights are all positive and sum to 2
for every ``n``, and Gauss rules converge for every continuous integrand.

Errors are measured against closed forms.
"""
import warnings

import matplotlib.pyplot as plt
import numpy as np

import quadlib

# %%
# Two integrands on [-1, 1]
# -------------------------
# The entire function :math:`e^x`, with :math:`\int_{-1}^1 e^x dx = e - e^{-1}`, and Runge's function
# :math:`1/(1 + 25x^2)`, analytic on the interval but with poles at :math:`\pm i/5`, with
# :math:`\int_{-1}^1 \frac{dx}{1 + 25 x^2} = \frac{2}{5}\arctan 5`.

integrands = {
    r"$e^x$": (np.exp, np.e - 1 / np.e),
    r"$1/(1+25x^2)$": (lambda x: 1 / (1 + 25 * x ** 2), 0.4 * np.arctan(5.0)),
}
ns = np.arange(2, 31)

# %%
# ``quadlib.newton_cotes(n)`` warns with a :class:`quadlib.NegativeWeightsWarning` whenever a weight is
# negative (9 points, and 11 points and more, for closed rules). Here the negative weights are the point of
# the example, so the warnings are caught and counted instead of printed.

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", quadlib.NegativeWeightsWarning)
    nc_rules = {int(n): quadlib.newton_cotes(int(n)) for n in ns}
negative = sorted({n for n, rule in nc_rules.items() if np.any(rule.weights < 0)})
print(f"{len(caught)} NegativeWeightsWarning(s) caught, e.g.: {caught[0].message}")
print(f"closed rules with negative weights: n = {negative}")
gl_rules = {int(n): quadlib.gauss_legendre(int(n)) for n in ns}

errors = {}
for label, (f, exact) in integrands.items():
    errors[label, "Newton–Cotes"] = np.array([abs(nc_rules[n].integrate(f, -1.0, 1.0) - exact) for n in ns])
    errors[label, "Gauss–Legendre"] = np.array([abs(gl_rules[n].integrate(f, -1.0, 1.0) - exact) for n in ns])

print(f"\n{'':3}{'exp(x)':^24}{'1/(1+25x^2)':^24}")
print(f"{'n':>3}" + f"{'N-C':>12}{'Gauss':>12}" * 2)
for k, n in enumerate(ns):
    print(f"{n:3d}" + "".join(f"{e[k]:12.2e}" for e in errors.values()))

# %%
# The sum of the absolute weights
# -------------------------------
# A rule's weights sum to 2 (the length of the interval), so :math:`\sum_k |w_k| = 2` exactly when no weight is
# negative. When some are, :math:`\sum_k |w_k| / 2` is the factor by which the rule can amplify errors in the
# function values (rounding, noise). Pólya's theorem: a family of rules that converges on polynomials converges
# for every continuous function exactly when this sum stays bounded.

abs_sum_nc = np.array([np.abs(nc_rules[n].weights).sum() for n in ns])
abs_sum_gl = np.array([np.abs(gl_rules[n].weights).sum() for n in ns])
for n, s_nc, s_gl in zip(ns[::4], abs_sum_nc[::4], abs_sum_gl[::4]):
    print(f"n = {n:2d}:  sum |w| Newton–Cotes {s_nc:11.4g}   Gauss–Legendre {s_gl:.15f}")

# %%
# Left: Gauss–Legendre reaches rounding with about 8 points on :math:`e^x` and converges geometrically on
# Runge's function, while Newton–Cotes first improves more slowly, then gets worse on Runge's function and
# stalls on :math:`e^x` as the growing weights amplify rounding. Right: the amplification factor.

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
markers = {"Newton–Cotes": "s", "Gauss–Legendre": "o"}
for (label, method), e in errors.items():
    colour = "C0" if "e^x" in label else "C3"
    ax1.semilogy(ns, np.maximum(e, 1e-17), marker=markers[method], ms=4, color=colour,
                 ls="-" if method == "Gauss–Legendre" else "--", label=f"{method}, {label}")
ax1.set_xlabel("number of points n")
ax1.set_ylabel("absolute error")
ax1.set_title("Error with n points on [-1, 1]")
ax1.legend(fontsize=8)
ax2.semilogy(ns, abs_sum_nc, "s--", ms=4, label="closed Newton–Cotes")
ax2.semilogy(ns, abs_sum_gl, "o-", ms=4, label="Gauss–Legendre (= 2)")
ax2.axvline(9, color="grey", lw=0.8)
ax2.text(9.5, 1e3, "first negative\nweight (n = 9)", fontsize=8, color="grey")
ax2.set_xlabel("number of points n")
ax2.set_ylabel(r"$\sum_k |w_k|$")
ax2.set_title("Sum of absolute weights")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()
