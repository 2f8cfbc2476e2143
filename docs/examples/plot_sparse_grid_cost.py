"""
The cost of a multi-dimensional rule: tensor products against Smolyak sparse grids
==================================================================================

The tensor product of ``d`` one-dimensional ``n``-point rules (:func:`quadlib.product_rule`) costs ``n**d``
evaluations: exponential in the dimension. Smolyak's construction (:func:`quadlib.sparse_grid`) combines
products of rules of different levels so that it keeps the exactness for polynomials of *total* degree
``2L + 1`` (with ``L + 1``-point Gauss–Legendre rules at level ``L``) — the part of the tensor product's
exactness that matters for smooth functions — at a cost that grows only polynomially in ``d``.

This example counts points at equal polynomial exactness for d = 1, ..., 8, checks that exactness on a random
polynomial (exact integral in closed form), and then compares the error against the number of points on a
two smooth Genz-type integrands whose integrals are known in closed form.
"""
import matplotlib.pyplot as plt
import numpy as np

from scipy import special

import quadlib

# %%
# Points at equal exactness
# -------------------------
# The 5-point Gauss–Legendre product rule is exact for every monomial :math:`x_1^{k_1}\cdots x_d^{k_d}` with
# each :math:`k_i \le 9`; the Smolyak grid of level 4 built on Gauss–Legendre rules of 1, ..., 5 points is
# exact for total degree :math:`k_1 + \dots + k_d \le 9`, which includes every polynomial of degree 9. The
# nested Clenshaw–Curtis sparse grid of level 4 (1-D rules of 1, 3, 5, 9, 17 points) is shown for comparison.
#
# With the non-nested Gauss–Legendre rules, some nodes' combined weights cancel exactly (in one dimension,
# all the nodes of the 1- to 4-point rules); ``sparse_grid`` leaves them out, so the integrand is never
# evaluated where it cannot count.

level = 4
dims = np.arange(1, 9)
n_product = 5 ** dims
n_sparse_gl = np.array([quadlib.sparse_grid(int(d), level, "gauss_legendre").n for d in dims])
n_sparse_cc = np.array([quadlib.sparse_grid(int(d), level).n for d in dims])
print(f"{'d':>2}{'product 5^d':>13}{'Smolyak GL':>12}{'Smolyak CC':>12}")
for row in zip(dims, n_product, n_sparse_gl, n_sparse_cc):
    print("{:2d}{:13d}{:12d}{:12d}".format(*row))

# %%
# Check the exactness on a random polynomial of total degree 9 in d = 6: a sum of monomials with random
# coefficients, whose integral over :math:`[0, 1]^6` is :math:`\sum_m c_m \prod_i 1/(k_{m,i} + 1)` exactly.

rng = np.random.default_rng(7)
d = 6
exponents = []
while len(exponents) < 40:
    k = rng.multinomial(int(rng.integers(0, 10)), np.ones(d) / d)  # total degree 0..9
    exponents.append(k)
exponents = np.array(exponents)
coefficients = rng.normal(size=len(exponents))
exact_poly = float(np.sum(coefficients * np.prod(1.0 / (exponents + 1), axis=1)))


def poly(x):
    return np.prod(x[:, None, :] ** exponents[None, :, :], axis=2) @ coefficients


zero, one = np.zeros(d), np.ones(d)
sparse6 = quadlib.sparse_grid(d, level, "gauss_legendre")
product6 = quadlib.product_rule([quadlib.gauss_legendre(5)] * d)
print(f"exact {exact_poly:.15f}")
print(f"Smolyak GL level 4 ({sparse6.n:5d} points): error {abs(sparse6.integrate(poly, zero, one) - exact_poly):.1e}")
print(f"5-point product    ({product6.n:5d} points): error {abs(product6.integrate(poly, zero, one) - exact_poly):.1e}")

# %%
fig, ax = plt.subplots(figsize=(6.4, 4.4))
ax.semilogy(dims, n_product, "o-", label=r"Gauss–Legendre product, $5^d$")
ax.semilogy(dims, n_sparse_gl, "s-", label="Smolyak, Gauss–Legendre, level 4")
ax.semilogy(dims, n_sparse_cc, "^-", label="Smolyak, Clenshaw–Curtis, level 4")
ax.set_xlabel("dimension d")
ax.set_ylabel("number of points")
ax.set_title("Points for exactness to degree 9")
ax.legend()
fig.tight_layout()

# %%
# Error against points on smooth integrands
# -----------------------------------------
# Equal polynomial exactness is not equal error. Two of Genz's test functions on :math:`[0, 1]^d`, with
# closed-form integrals:
#
# * "oscillatory", :math:`f(x) = \cos(2\pi u_1 + \sum_j c_j x_j)`, with
#   :math:`\int f = \mathrm{Re}\big[e^{2\pi i u_1} \prod_j (e^{i c_j} - 1)/(i c_j)\big]`, in d = 5 and d = 8;
# * "Gaussian peak", :math:`f(x) = \exp(-\sum_j a_j^2 (x_j - u_j)^2)`, with
#   :math:`\int f = \prod_j \frac{\sqrt\pi}{2 a_j}
#   \big(\operatorname{erf}(a_j(1 - u_j)) + \operatorname{erf}(a_j u_j)\big)`,
#   in d = 5.


def oscillatory(d):
    c, u1 = np.linspace(1.0, 0.5, d), 0.3
    exact = float(np.real(np.exp(2j * np.pi * u1) * np.prod((np.exp(1j * c) - 1) / (1j * c))))
    return (lambda x: np.cos(2 * np.pi * u1 + x @ c)), exact


def gaussian_peak(d):
    a, u = np.linspace(2.0, 1.0, d), np.linspace(0.3, 0.7, d)
    exact = float(np.prod(np.sqrt(np.pi) / (2 * a) * (special.erf(a * (1 - u)) + special.erf(a * u))))
    return (lambda x: np.exp(-np.sum(a ** 2 * (x - u) ** 2, axis=1))), exact


# (problem, d, largest n of the product rule, largest Gauss–Legendre and Clenshaw–Curtis sparse levels)
problems = [("oscillatory", 5, 10, 9, 7), ("oscillatory", 8, 5, 7, 5), ("Gaussian peak", 5, 10, 9, 7)]
curves = {}
for problem, d, n_max, gl_max, cc_max in problems:
    f, exact = (oscillatory if problem == "oscillatory" else gaussian_peak)(d)
    zero, one = np.zeros(d), np.ones(d)
    rules = {
        "Gauss–Legendre product": [quadlib.product_rule([quadlib.gauss_legendre(n)] * d)
                                   for n in range(1, n_max + 1)],
        "Smolyak, Gauss–Legendre": [quadlib.sparse_grid(d, lev, "gauss_legendre") for lev in range(gl_max + 1)],
        "Smolyak, Clenshaw–Curtis": [quadlib.sparse_grid(d, lev) for lev in range(cc_max + 1)],
    }
    print(f"{problem}, d = {d}: exact integral {exact:.15f}")
    for name, family in rules.items():
        table = np.array([(rule.n, abs(rule.integrate(f, zero, one) - exact)) for rule in family])
        curves[problem, d, name] = table
        print(f"  {name}: " + ", ".join(f"{int(n)}: {e:.0e}" for n, e in table))

# %%
# What the numbers show:
#
# * Oscillatory, d = 5: about even down to 1e-8 (Clenshaw–Curtis sparse grid: 4e-7 with 241 points and 9e-9
#   with 801; product rule: 6e-7 with 243 and 6e-10 with 1024), and the product rule is ahead beyond.
# * Oscillatory, d = 8: the sparse grids are ahead at every accuracy, needing about 2 to 5 times fewer points.
# * Gaussian peak, d = 5: the product rule is ahead at every accuracy. The integrand is a product of
#   narrow one-dimensional factors: a tensor product of 1-D rules integrates it as well as its worst
#   factor, while the sparse grid's error is governed by mixed derivatives, which for a product of peaks
#   are the products of the factors' large derivatives.
#
# Sparse grids pay off for smooth integrands whose variables interact weakly, and more so as the dimension
# grows. Note also the floor of the non-nested Gauss–Legendre sparse grid near 3e-13: its combination weights
# have both signs and large magnitudes, which amplify rounding.

fig, axes = plt.subplots(1, 3, figsize=(12, 4), sharey=True)
for ax, (problem, d, *_) in zip(axes, problems):
    for name, marker in zip(rules, "os^"):
        table = curves[problem, d, name]
        ax.loglog(table[:, 0], np.maximum(table[:, 1], 1e-17), marker=marker, ms=4, label=name)
    ax.axhline(np.finfo(float).eps, color="grey", lw=0.8)
    ax.set_xlabel("number of points")
    ax.set_title(f"Genz {problem}, d = {d}")
axes[0].set_ylabel("absolute error")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()
