"""
A binomial GLMM: contagious bovine pleuropneumonia (cbpp)
=========================================================

The ``cbpp`` data (from the R package lme4; Lesnoff et al. 2004) count new cases of contagious bovine
pleuropneumonia (``incidence``) among the ``size`` zebu cattle of 15 herds, in up to four periods. The model
of lme4's documentation has a fixed effect per period and a random intercept per herd:

.. math::

    \\mathrm{incidence}_{ij} \\sim \\mathrm{Binomial}(\\mathrm{size}_{ij}, p_{ij}), \\quad
    \\mathrm{logit}\\, p_{ij} = \\beta_{\\mathrm{period}(j)} + b_i, \\quad b_i \\sim N(0, \\sigma^2).

The likelihood integrates each herd's :math:`b_i` out: one integral per herd, which
:func:`quadlib.glmm.fit` computes by the Laplace approximation (the default) or by adaptive Gauss–Hermite
quadrature (``method="agq"``). Both fits are compared with lme4's, whose numbers are stored in the
repository (``tests/reference/glmm_reference.R`` prints them; they are typed into
``tests/glmm/test_fit.py``).
"""
import matplotlib.pyplot as plt
import pandas as pd

from quadlib.glmm import datasets, fit

cbpp = datasets.load("cbpp")
print(cbpp.head())
print(f"{len(cbpp)} rows, {cbpp.herd.nunique()} herds; 'herd' and 'period' are loaded as strings (R factors)")

# %%
# The fits
# --------
formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
laplace = fit(formula, cbpp, family="binomial")
agq = fit(formula, cbpp, family="binomial", method="agq", nagq=25)
print(laplace.summary())

# %%
print(agq.summary())

# %%
# Against lme4
# ------------
# The reference numbers come from ``tests/reference/glmm_reference.R``, run with lme4 1.1 and tight tolerances::
#
#     ctrl <- glmerControl(tolPwrss = 1e-12, optimizer = "bobyqa",
#                          optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e5))
#     glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cbpp,
#           family = binomial, control = ctrl)               # Laplace
#     glmer(..., nAGQ = 25, control = ctrl)                  # adaptive Gauss-Hermite, 25 nodes
#
# For ``nAGQ = 25`` lme4 prints logLik -50.005: with ``nAGQ > 1`` it drops the binomial coefficients
# (lme4 issue 161). The full log-likelihood, -91.983369, is what quadlib reports for every method.

LME4 = {
    "Laplace": dict(beta=[-1.398532106045, -0.992332735546, -1.128672094406, -1.580313930086],
                    sigma=0.642261423494, llf=-92.026281871497,
                    se=[0.2324718336, 0.3066422326, 0.3266374154, 0.4274360644]),
    "AGQ, 25 nodes": dict(beta=[-1.399230451791, -0.991403659068, -1.127819447238, -1.579470781634],
                          sigma=0.647518477403, llf=-91.983369,
                          se=[0.2335115728, 0.3067679696, 0.3267683252, 0.4275944868]),
}
rows = []
for method, res in (("Laplace", laplace), ("AGQ, 25 nodes", agq)):
    ref = LME4[method]
    ours = list(res.params) + [float(res.sd_re["herd"].iloc[0]), res.llf]
    theirs = ref["beta"] + [ref["sigma"], ref["llf"]]
    for name, a, b in zip(list(res.params.index) + ["sd(herd)", "logLik"], ours, theirs):
        rows.append((method, name, a, b, a - b))
table = pd.DataFrame(rows, columns=["method", "parameter", "quadlib", "lme4", "difference"])
print(table.to_string(index=False, formatters={"quadlib": "{:.8f}".format, "lme4": "{:.8f}".format,
                                               "difference": "{:+.1e}".format}))
worst = table.difference.abs().max()
print(f"largest absolute difference: {worst:.1e}")

# %%
# The standard errors come from the Hessian of the marginal log-likelihood (lme4: its own finite differences):
se = pd.DataFrame({"Laplace": laplace.bse, "lme4 Laplace": LME4["Laplace"]["se"],
                   "AGQ 25": agq.bse, "lme4 AGQ 25": LME4["AGQ, 25 nodes"]["se"]})
print(se.round(6))

# %%
# Herd effects
# ------------
# The conditional modes of the :math:`b_i` (lme4's ``ranef``) with ± 1.96 conditional standard deviations,
# sorted: a caterpillar plot (:meth:`GLMMResult.plot_random_effects <quadlib.glmm.GLMMResult.plot_random_effects>`).
# With only 15 herds and a few cases each, all intervals but two (herds 7 and 14) cover 0.

print(agq.random_effects["herd"].round(4))
axes = agq.plot_random_effects("herd")
axes[0].set_xlabel("herd effect on the log-odds scale")
fig = axes[0].figure
fig.tight_layout()

# %%
# The modes against the posterior means (``random_effects(kind="mean")``, adaptive Gauss–Hermite with 30 nodes
# per herd). With a few cases per herd the posterior of :math:`b_i` is skewed to the left (a low incidence is
# hard to tell from a very low one), and every mean lies 0.01 to 0.04 below its mode.

means = agq.random_effects(kind="mean")["herd"]
modes = agq.random_effects["herd"]
print(pd.DataFrame({"mode": modes["(Intercept)"], "mean": means["(Intercept)"],
                    "mean - mode": means["(Intercept)"] - modes["(Intercept)"]}).round(4))
fig, ax = plt.subplots(figsize=(5.5, 4.2))
shift = means["(Intercept)"] - modes["(Intercept)"]
ax.plot(modes["(Intercept)"], shift, "o")
for herd in modes.index:
    ax.annotate(herd, (modes.loc[herd, "(Intercept)"], shift[herd]), fontsize=7, textcoords="offset points",
                xytext=(3, 3))
ax.axhline(0, color="grey", lw=0.8)
ax.set_xlabel("conditional mode")
ax.set_ylabel("posterior mean - conditional mode")
ax.set_title("cbpp herd effects, AGQ(25) fit")
fig.tight_layout()
plt.show()
