"""
Convergence of composite Newton–Cotes rules
===========================================

A composite Newton–Cotes rule applies a fixed low-order rule on each of ``n`` equal subintervals of width
``h = (b - a) / n``. For a smooth integrand the error falls like a fixed power of ``h``: ``h**2`` for the
trapezoidal rule, ``h**4`` for Simpson's rule and ``h**6`` for Boole's rule (Davis and Rabinowitz,
*Methods of Numerical Integration*, section 2.2). On a log-log plot of error against ``n`` these are straight
lines of slope -2, -4 and -6.

The trapezoidal rule has one more property worth seeing: on a smooth *periodic* integrand, integrated over a
whole period, every term of its Euler–Maclaurin error expansion cancels and the error falls faster than any
power of ``h`` — geometrically.

Every error below is measured against a closed form.
"""
import matplotlib.pyplot as plt
import numpy as np
from scipy import special

import quadlib

# %%
# A smooth integral with a closed form
# ------------------------------------
# :math:`\int_0^\pi e^x \cos x \, dx = -(e^\pi + 1)/2`. The integrand is entire, and not periodic over the
# interval, so the error expansion of each rule starts at its nominal order.


def f(x):
    return np.exp(x) * np.cos(x)


a, b = 0.0, np.pi
exact = -(np.exp(np.pi) + 1) / 2

# n must be even for Simpson and a multiple of 4 for Boole: use multiples of 4 throughout
ns = 4 * np.unique(np.round(np.logspace(0, 2.5, 14)).astype(int))
rules = {
    "trapezoid": quadlib.composite_trapezoid,
    "Simpson": quadlib.composite_simpson,
    "Boole": quadlib.composite_boole,
}
errors = {name: np.array([abs(rule(f, a, b, int(n)) - exact) for n in ns]) for name, rule in rules.items()}

print(f"{'n':>6}" + "".join(f"{name:>14}" for name in rules))
for k, n in enumerate(ns):
    print(f"{n:6d}" + "".join(f"{errors[name][k]:14.3e}" for name in rules))

# %%
# The observed order is the slope of log(error) against log(n), fitted where the error is well above
# rounding (the sum of ``n`` terms of size about ten carries rounding errors of order 1e-14).

orders = {}
for name in rules:
    e = errors[name]
    use = (e > 1e-12) & (ns >= 16)
    orders[name] = -np.polyfit(np.log(ns[use]), np.log(e[use]), 1)[0]
    print(f"{name:10s} observed order {orders[name]:.2f}")

# %%
# The log-log plot, with reference lines of slope -2, -4 and -6 drawn through the first point of each rule
# that lies in the asymptotic range.

fig, ax = plt.subplots(figsize=(6.4, 4.6))
for (name, e), p, colour in zip(errors.items(), (2, 4, 6), ("C0", "C1", "C2")):
    ax.loglog(ns, e, "o-", color=colour, ms=4, label=f"{name} (observed order {orders[name]:.2f})")
    anchor = np.flatnonzero(ns >= 16)[0]
    guide = e[anchor] * (ns[anchor] / ns) ** p
    keep = guide > 1e-16
    ax.loglog(ns[keep], guide[keep], ":", color=colour, lw=1)
    ax.annotate(f"$h^{p}$", (ns[keep][-1], guide[keep][-1]), color=colour, textcoords="offset points",
                xytext=(4, 0), va="center")
ax.axhline(np.finfo(float).eps * abs(exact), color="grey", lw=0.8)
ax.text(ns[0], 2 * np.finfo(float).eps * abs(exact), "machine epsilon", color="grey", fontsize=8)
ax.set_xlabel("number of subintervals n")
ax.set_ylabel(r"$|Q_n - I|$")
ax.set_title(r"Composite Newton–Cotes on $I = \int_0^\pi e^x \cos x\,dx$")
ax.legend(fontsize=8, loc="upper right")
fig.tight_layout()

# %%
# Romberg's method removes the terms of the same Euler–Maclaurin expansion one by one, by Richardson
# extrapolation of trapezoid sums on halved steps; it reaches 1e-12 with about a hundred samples.

res = quadlib.romberg(f, a, b, rtol=1e-12)
print(res)
print(f"actual error {abs(res.integral - exact):.1e} with {res.nfev} samples")

# %%
# Spectral convergence on a periodic integrand
# --------------------------------------------
# :math:`\int_0^{2\pi} e^{\cos x}\,dx = 2\pi I_0(1)`, with :math:`I_0` the modified Bessel function
# (``scipy.special.i0``). The integrand is periodic and entire, so the trapezoidal error falls like
# :math:`\rho^{-n}`: about 15 subintervals reach rounding, where Simpson's rule needed over a thousand to
# bring the smooth but non-periodic integral above to 1e-11.

exact_periodic = 2 * np.pi * special.i0(1.0)
ns_periodic = np.arange(2, 27, 2)
err_trap = np.array([abs(quadlib.composite_trapezoid(lambda x: np.exp(np.cos(x)), 0.0, 2 * np.pi, int(n))
                         - exact_periodic) for n in ns_periodic])
err_simp = np.array([abs(quadlib.composite_simpson(lambda x: np.exp(np.cos(x)), 0.0, 2 * np.pi, int(n))
                         - exact_periodic) for n in ns_periodic])
for n, et, es in zip(ns_periodic, err_trap, err_simp):
    print(f"n = {n:2d}   trapezoid {et:9.2e}   Simpson {es:9.2e}")

# %%
# Simpson's rule is *worse* here. Its sum on n subintervals is :math:`(4T_n - T_{n/2})/3`, with :math:`T_m` the
# trapezoidal sum on m subintervals: the extrapolation that removes the :math:`h^2` term of a non-periodic
# integrand has no such term to remove here, and the coarser sum's error, :math:`-\tfrac13` of that of
# :math:`T_{n/2}`, is left. It converges geometrically too, at half the rate.

fig, ax = plt.subplots(figsize=(6.4, 4.2))
tiny = 1e-17  # errors that are exactly zero are drawn at the bottom of the plot
ax.semilogy(ns_periodic, np.maximum(err_trap, tiny), "o-", label="trapezoid")
ax.semilogy(ns_periodic, np.maximum(err_simp, tiny), "s-", label="Simpson")
ax.axhline(np.finfo(float).eps * exact_periodic, color="grey", lw=0.8)
ax.set_ylim(tiny / 2, None)
ax.set_xlabel("number of subintervals n")
ax.set_ylabel(r"$|Q_n - 2\pi I_0(1)|$")
ax.set_title(r"Periodic integrand $e^{\cos x}$ over $[0, 2\pi]$: geometric convergence")
ax.legend()
fig.tight_layout()
plt.show()
