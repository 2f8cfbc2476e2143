"""
Testing a variance component: likelihood ratio, chi-bar-square and bootstrap
=============================================================================

Does the herd effect of the ``cbpp`` model matter? The null hypothesis is that the random intercept's
variance is zero, i.e. that the GLM without random effects is the model. The likelihood-ratio statistic
:math:`T = 2(\\ell_1 - \\ell_0)` does not have the usual :math:`\\chi^2_1` distribution under it: the variance
sits on the boundary of its space, so the fit lands on :math:`\\sigma = 0` (and :math:`T = 0`) about half the
time. Self & Liang (1987) give the asymptotic null distribution, the mixture

.. math::

    T \\sim \\tfrac12 \\chi^2_0 + \\tfrac12 \\chi^2_1, \\qquad p = \\tfrac12 P(\\chi^2_1 > T),

half the naive p-value. The parametric bootstrap (pbkrtest's ``PBmodcomp``) needs no asymptotics: it simulates
responses from the fitted GLM, refits both models to each and counts how often :math:`T^* \\ge T`.

R's ``anova`` refuses a GLM against a GLMM; the reference numbers (``tests/reference/issue20_reference.R``) are
computed by hand from lme4's and ``glm``'s log-likelihoods: :math:`T = 14.0058352357`, naive
:math:`p = 1.82244\\times10^{-4}`, mixture :math:`p = 9.11221\\times10^{-5}`.
"""
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import chi2

from quadlib.glmm import datasets, fit, test_random

cbpp = datasets.load("cbpp")
model = fit("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")

# %%
# The likelihood-ratio test
# -------------------------
# ``test_random`` refits the model without the herd term (here: the binomial GLM) and prints R's ``anova``
# layout; ``Pr(>chibar2)`` is the mixture's p-value beside the naive ``Pr(>Chisq)``.
lrt = test_random(model, "herd")
print(lrt)
T = float(lrt["Chisq"].iloc[1])
print(f"T = {T:.10f} (R: 14.0058352357), mixture p = {lrt['Pr(>chibar2)'].iloc[1]:.6e} (R: 9.112209e-05)")

# %%
# The parametric bootstrap
# ------------------------
# 200 responses simulated from the GLM, both models refitted to each (the GLMM warm-started at its estimate).
# The smallest p-value 200 replicates can give is 1/201.
boot = test_random(model, "herd", method="boot", n=200, seed=1, workers=1)
print(boot)
draws = boot.attrs["bootstrap"][0]["draws"]
draws = draws[np.isfinite(draws)]
print(f"{draws.size} replicates, {boot.attrs['bootstrap'][0]['n_failed']} failed; "
      f"T* = 0 in {100 * np.mean(draws < 1e-6):.0f} % of them (the boundary's point mass; 50 % asymptotically); "
      f"largest T* = {draws.max():.2f}, against T = {T:.2f}")

# %%
# The two null distributions
# --------------------------
# Left: the bootstrap draws of :math:`T^*` (the bar at 0 is the point mass of fits at :math:`\sigma = 0`)
# against the density of the continuous half of the mixture, :math:`\tfrac12 \chi^2_1`. Right: their
# distribution functions, with the naive :math:`\chi^2_1` for comparison. With 15 herds the bootstrap's null
# has more mass at 0 than the asymptotic 50 % and a lighter tail: the mixture is already conservative here
# (the known finite-sample excess of zeros; Crainiceanu & Ruppert 2004), the naive :math:`\chi^2_1` twice as
# much. The observed :math:`T = 14` is beyond every draw: the herd variance is clearly nonzero by all three.
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
bins = np.linspace(0, max(8.0, draws.max()), 33)
left.hist(draws, bins=bins, density=True, color="0.7", label="bootstrap $T^*$")
grid = np.linspace(0.05, bins[-1], 300)
left.plot(grid, 0.5 * chi2.pdf(grid, 1), "C0", label=r"$\frac{1}{2}\chi^2_1$ density")
left.set_xlabel("likelihood-ratio statistic")
left.set_ylabel("density")
left.legend()
t = np.linspace(0, bins[-1], 400)
right.step(np.sort(draws), np.arange(1, draws.size + 1) / draws.size, where="post", color="0.3",
           label="bootstrap $T^*$")
right.plot(t, 0.5 + 0.5 * chi2.cdf(t, 1), "C0", label=r"$\frac{1}{2}\chi^2_0 + \frac{1}{2}\chi^2_1$")
right.plot(t, chi2.cdf(t, 1), "C1--", label=r"naive $\chi^2_1$")
right.set_xlabel("likelihood-ratio statistic")
right.set_ylabel("distribution function")
right.set_ylim(0, 1.02)
right.legend(loc="lower right")
fig.tight_layout()
plt.show()
