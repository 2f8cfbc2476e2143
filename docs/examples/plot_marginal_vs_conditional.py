"""
Marginal and conditional effects in a logistic random-intercept model
=====================================================================

A GLMM's coefficients are *conditional* (subject-specific): in

.. math::

    \\mathrm{logit}\\, P(y_{ij} = 1 \\mid b_i) = \\beta_0 + \\beta_1 x_{ij} + b_i, \\quad b_i \\sim N(0, \\sigma^2),

:math:`\\beta_1` is the change in log-odds for one subject when :math:`x` increases by one. The
*marginal* (population-averaged) probability averages over subjects,

.. math::

    P(y_{ij} = 1) = \\int \\mathrm{expit}(\\beta_0 + \\beta_1 x_{ij} + \\sigma z)\\, \\phi(z)\\, dz,

and is a flatter curve of :math:`x`: the population-averaged log-odds ratio is smaller in magnitude than
:math:`\\beta_1`. Zeger, Liang and Albert (1988) approximate the attenuation by
:math:`\\beta_M \\approx \\beta / \\sqrt{1 + c^2 \\sigma^2}`, :math:`c = 16\\sqrt3 / (15\\pi)`, from the
approximation of the logistic distribution function by a normal one.

:class:`quadlib.glmm.GLMMResult` computes the marginal quantities by Gauss–Hermite quadrature over the random
effects: ``marginal_moments`` (means, variances and within-subject covariances of the responses),
``marginal_coefs`` (population-averaged coefficients, as R's ``GLMMadaptive::marginal_coefs``) and
``plot_marginal``. Below the quadrature is checked against mpmath at one point.
"""
import matplotlib.pyplot as plt
import mpmath
import numpy as np
import pandas as pd
from scipy import special, stats

from quadlib.glmm import fit

# %%
# Simulated data
# --------------
# 200 subjects with 8 binary observations each and a large random-intercept SD, :math:`\sigma = 2`, so that the
# attenuation is visible.

rng = np.random.default_rng(2024)
n_subjects, n_obs = 200, 8
beta0, beta1, sigma = -0.5, 1.0, 2.0
subject = np.repeat(np.arange(n_subjects), n_obs)
x = rng.uniform(-3, 3, n_subjects * n_obs)
b = rng.normal(0.0, sigma, n_subjects)
y = (rng.random(x.size) < special.expit(beta0 + beta1 * x + b[subject])).astype(float)
data = pd.DataFrame({"y": y, "x": x, "subject": subject.astype(str)})

res = fit("y ~ x + (1 | subject)", data, family="binomial", method="agq", nagq=20)
print(res.summary())

# %%
# Marginal coefficients
# ---------------------
# ``marginal_coefs`` computes the marginal probability of every row by quadrature, then regresses its logit on
# the fixed-effects design (with delta-method standard errors); the ``closed form`` column is Zeger, Liang and
# Albert's attenuation :math:`\hat\beta / \sqrt{1 + c^2 \hat\sigma^2}`.

table = res.marginal_coefs()
print(table.round(4))
print(table.attrs["closed form"])
sigma_hat = float(res.sd_re["subject"].iloc[0])
c = 16 * np.sqrt(3) / (15 * np.pi)
print(f"attenuation factor 1/sqrt(1 + c^2 sigma^2) = {1 / np.sqrt(1 + c ** 2 * sigma_hat ** 2):.4f}; "
      f"marginal / conditional slope = {table.loc['x', 'marginal'] / table.loc['x', 'conditional']:.4f}")

# %%
# An independent check of one marginal probability
# ------------------------------------------------
# At :math:`x = 1`, integrate :math:`\mathrm{expit}(\hat\beta_0 + \hat\beta_1 + \hat\sigma z)\phi(z)` over
# the real line with mpmath at 30 digits, and compare with ``marginal_moments`` for a new row (a new subject,
# so its random effect is integrated over its distribution). ``marginal_moments`` uses a fixed,
# non-adaptive Gauss–Hermite rule, 40 nodes by default (``n_points``); the integrand's poles at distance
# :math:`\pi / \hat\sigma` from the real axis limit its accuracy to about 1e-9 here, and 100 nodes reach
# rounding.

mpmath.mp.dps = 30
beta_hat = res.params
eta = beta_hat["(Intercept)"] + beta_hat["x"] * 1.0
reference = mpmath.quad(lambda z: mpmath.npdf(z) / (1 + mpmath.exp(-(eta + sigma_hat * z))),
                        [-mpmath.inf, -eta / sigma_hat, mpmath.inf])
point = pd.DataFrame({"x": [1.0], "subject": ["new"]})
print(f"marginal P(y = 1 | x = 1): mpmath            {mpmath.nstr(reference, 20)}")
for n_points in (None, 100):
    value = float(res.marginal_moments(newdata=point, n_points=n_points).mean.iloc[0])
    print(f"  quadlib, n_points = {str(n_points or 40):4s}  {value:.16f}  (error {value - float(reference):+.1e})")
print(f"conditional P(y = 1 | x = 1, b = 0) = {special.expit(eta):.4f}")

# %%
# The probit approximation :math:`\mathrm{expit}(t) \approx \Phi(ct)` makes the integral a closed form,
# :math:`E\,\Phi(c(\eta + \sigma z)) = \Phi(c\eta / \sqrt{1 + c^2\sigma^2})`, the source of the
# attenuation factor above; here it is within 3e-5 of the exact value.

approx = stats.norm.cdf(c * eta / np.sqrt(1 + c ** 2 * sigma_hat ** 2))
print(f"probit approximation: {approx:.6f} (error {approx - float(reference):+.1e})")

# %%
# The picture
# -----------
# ``plot_marginal`` draws the conditional curves for nine subjects (random intercepts at quantiles of
# :math:`N(0, \hat\sigma^2)`), the curve of the median subject (:math:`b = 0`), and the population-averaged
# curve, which is flatter. On the right, the empirical proportions of the data in bins of :math:`x` follow the
# marginal curve, not the conditional one: a marginal model (GEE) fitted to these data would estimate the
# attenuated slope.

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
res.plot_marginal("x", newdata=data, ax=ax1)
ax1.set_title(r"Conditional curves and the marginal curve, $\hat\sigma$ = " f"{sigma_hat:.2f}")

grid = np.linspace(-3, 3, 121)
marginal = res.marginal_moments(newdata=pd.DataFrame({"x": grid, "subject": "new"})).mean.to_numpy()
bins = np.linspace(-3, 3, 13)
centre = (bins[1:] + bins[:-1]) / 2
which = np.digitize(data.x, bins[1:-1])
proportion = data.y.groupby(which).mean().to_numpy()
ax2.plot(centre, proportion, "ko", label="data: proportion per bin of x")
ax2.plot(grid, marginal, color="C3", lw=2, label="marginal (population-averaged)")
ax2.plot(grid, special.expit(beta_hat["(Intercept)"] + beta_hat["x"] * grid), color="C0", lw=2,
         label="conditional, b = 0")
ax2.plot(grid, special.expit(table.loc["(Intercept)", "marginal"] + table.loc["x", "marginal"] * grid), "k:",
         label="logistic curve with the marginal coefficients")
ax2.set_xlabel("x")
ax2.set_ylabel("P(y = 1)")
ax2.set_title("The data follow the marginal curve")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()
