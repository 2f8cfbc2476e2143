"""
A Poisson GLMM: seizure counts in an epilepsy trial
===================================================

Thall and Vail's (1990) trial of the anti-epileptic drug progabide: 59 patients, randomized to progabide or
placebo, reported their number of seizures in each of four two-week periods (the ``epil`` data of the R
package MASS, ``quadlib.glmm.datasets.load("epilepsy")``). The model of Breslow and Clayton (1993),
as fitted in the repository's tests:

.. math::

    y_{ij} \\sim \\mathrm{Poisson}(\\mu_{ij}), \\quad
    \\log \\mu_{ij} = \\beta_0 + \\beta_1 \\mathrm{lbase}_i + \\beta_2 \\mathrm{trt}_i
    + \\beta_3 \\mathrm{lage}_i + \\beta_4 \\mathrm{V4}_j + \\beta_5 \\mathrm{lbase}_i \\mathrm{trt}_i + b_i,
    \\quad b_i \\sim N(0, \\sigma^2),

with ``lbase`` the log of a quarter of the baseline 8-week count (centred), ``lage`` the log age (centred)
and ``V4`` an indicator of the fourth visit. Both fits are compared with lme4's numbers, stored in the
repository (printed by ``tests/reference/glmm_reference.R``, typed into ``tests/glmm/test_fit.py``).
"""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from quadlib.glmm import datasets, fit

epil = datasets.load("epilepsy")
print(epil.head(8))

formula = "y ~ lbase*trt + lage + V4 + (1 | subject)"
laplace = fit(formula, epil, family="poisson")
agq = fit(formula, epil, family="poisson", method="agq", nagq=20)
print(laplace.summary())

# %%
# Against lme4
# ------------
# From ``tests/reference/glmm_reference.R`` (lme4 1.1)::
#
#     ctrl <- glmerControl(tolPwrss = 1e-12, optimizer = "bobyqa",
#                          optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e5))
#     for (k in c(1, 20))
#       glmer(y ~ lbase * trt + lage + V4 + (1 | subject), data = MASS::epil,
#             family = poisson, nAGQ = k, control = ctrl)
#
# lme4's logLik for ``nAGQ = 20`` (-282.454) lacks the log-factorial terms of the Poisson likelihood, which
# it drops for ``nAGQ > 1``, so only the parameters are compared there.

NAMES = ["(Intercept)", "lbase", "trtprogabide", "lage", "V4", "lbase:trtprogabide"]
LME4 = {
    "Laplace": (dict(zip(NAMES, [1.832828488778, 0.883478726820, -0.334210418159, 0.480923179567,
                                 -0.159769576420, 0.338911260514])), 0.501135731728, -665.47442607338),
    "AGQ, 20 nodes": (dict(zip(NAMES, [1.832764417638, 0.883405328244, -0.334256056709, 0.480567542184,
                                       -0.159769606582, 0.338784043553])), 0.502387753038, None),
}
rows = []
for method, res in (("Laplace", laplace), ("AGQ, 20 nodes", agq)):
    beta, sigma, llf = LME4[method]
    for name, value in beta.items():
        rows.append((method, name, res.params[name], value))
    rows.append((method, "sd(subject)", float(res.sd_re["subject"].iloc[0]), sigma))
    if llf is not None:
        rows.append((method, "logLik", res.llf, llf))
table = pd.DataFrame(rows, columns=["method", "parameter", "quadlib", "lme4"])
table["difference"] = table.quadlib - table.lme4
print(table.to_string(index=False, formatters={"quadlib": "{:.8f}".format, "lme4": "{:.8f}".format,
                                               "difference": "{:+.1e}".format}))
print(f"largest absolute difference: {table.difference.abs().max():.1e}")

# %%
# The subject effects are large (σ ≈ 0.5 on the log scale: a subject one SD above average has
# :math:`e^{0.5} \approx 1.65` times the seizure rate), and Laplace is already close to AGQ(20): each subject
# contributes four counts, most of them well above zero, so each integrand over :math:`b_i` is nearly Gaussian.
#
# Marginal means, with a closed-form check
# ----------------------------------------
# For a log link and a random intercept the population-averaged mean has a closed form,
# :math:`E(y_{ij}) = \exp(x_{ij}'\beta + \sigma^2/2)`. :meth:`GLMMResult.marginal_moments
# <quadlib.glmm.GLMMResult.marginal_moments>` computes it by Gauss–Hermite quadrature over :math:`b`, for any
# link; here the closed form checks it.

moments = agq.marginal_moments()
sigma = float(agq.sd_re["subject"].iloc[0])
closed_form = np.exp(agq.predict(re=False) + sigma ** 2 / 2)
print(f"largest relative difference, quadrature vs closed form: "
      f"{np.max(np.abs(moments.mean.to_numpy() / closed_form - 1)):.1e}")

# %%
# Observed mean counts per period and arm, against the model's marginal means averaged over the same patients
# (their baseline counts and ages differ between arms); on the right, the fitted conditional means (fixed and
# subject effects) against the counts. The progabide arm's observed means are pulled up by one patient
# (subject 49, 302 seizures in the four periods, while the other 30 in the arm average 5 to 6.5 per period);
# that patient also had by far the highest baseline count (151 in eight weeks), so most of it is explained by
# ``lbase`` (with a random intercept of 0.69, the fifth largest), and the arm's marginal means lie between
# its observed means with and without that patient.

epil["marginal"] = moments.mean.to_numpy()
epil["conditional"] = agq.predict(type="response")
summary = epil.groupby(["trt", "period"])[["y", "marginal", "conditional"]].mean()
print(summary.round(3))
print(epil[(epil.trt == "progabide") & (epil.subject != "49")].groupby("period").y.mean().rename("without 49"))
print("subject 49:", epil.loc[epil.subject == "49", ["base", "age", "y"]].to_dict("list"))
print("largest subject effects:", agq.random_effects["subject"]["(Intercept)"].nlargest(5).round(3).to_dict())

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
for arm, colour in (("placebo", "C0"), ("progabide", "C1")):
    part = summary.loc[arm]
    periods = part.index.astype(int)
    ax1.plot(periods, part["y"], "o", color=colour, label=f"{arm}: observed mean")
    ax1.plot(periods, part["marginal"], "-", color=colour, label=f"{arm}: marginal model mean")
ax1.set_xticks([1, 2, 3, 4])
ax1.set_xlabel("two-week period")
ax1.set_ylabel("seizures")
ax1.set_title("Mean seizure counts by period and arm")
ax1.legend(fontsize=8)

ax2.plot(np.log(epil["conditional"]), np.log1p(epil["y"]), ".", alpha=0.5)
ax2.plot([0, 5], [0, 5], "k:", lw=1)
ax2.set_xlabel(r"$\log \hat\mu_{ij}$ (fixed + subject effect)")
ax2.set_ylabel(r"$\log(1 + y_{ij})$")
ax2.set_title("Fitted against observed, AGQ(20)")
fig.tight_layout()
plt.show()
