"""
Conditional logistic regression for a matched case-control study
================================================================

The ``infert`` data (R's datasets package; Trichopoulos et al. 1976) come from a matched case-control study of
secondary infertility: 83 women with infertility (cases), each matched on age, parity and education with
two controls (one stratum has one control), 248 rows in all. ``spontaneous`` and ``induced`` count prior
spontaneous and induced abortions (0, 1, 2 or more).

Each matched set ``i`` has its own baseline odds :math:`\\alpha_i`, a nuisance parameter. Conditioning on the
number of cases in the set removes it: for a set with one case, the conditional likelihood is

.. math::

    L_i(\\beta) = \\frac{\\exp(x_{i,\\mathrm{case}}'\\beta)}{\\sum_{j \\in \\text{set } i} \\exp(x_{ij}'\\beta)},

and in general a sum over all subsets of the set's size with as many members as it has cases.
:func:`quadlib.glmm.conditional_fit` maximizes the exact conditional likelihood, as R's
``survival::clogit(method = "exact")``, whose numbers are stored in the repository
(``tests/reference/conditional_reference.json``, written by ``tests/reference/conditional_reference.R``).
"""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from quadlib.glmm import conditional_fit, datasets

infert = datasets.load("infert")
print(infert.head())
print(infert.groupby("stratum").agg(rows=("case", "size"), cases=("case", "sum")).value_counts())

# %%
# The fit
# -------
res = conditional_fit("case ~ spontaneous + induced", infert, group="stratum")
print(res.summary())

# %%
# Against ``survival::clogit``
# ----------------------------
# From ``tests/reference/conditional_reference.R`` (survival 3.5.3, R 4.2.2)::
#
#     clogit(case ~ spontaneous + induced + strata(stratum), data = infert, method = "exact",
#            control = coxph.control(eps = 1e-11, iter.max = 100))

CLOGIT = {
    "coef": {"spontaneous": 1.98587551667772, "induced": 1.40901163187514},
    "se": {"spontaneous": 0.35244353980717, "induced": 0.360712436248923},
    "loglik": -64.202236924431,
    "loglik_null": -90.7793548513448,
}
table = pd.DataFrame({"quadlib": res.params, "clogit": pd.Series(CLOGIT["coef"]),
                      "quadlib se": res.bse, "clogit se": pd.Series(CLOGIT["se"])})
table["difference"] = table.quadlib - table.clogit
print(table.to_string(float_format="{:.10f}".format, formatters={"difference": "{:+.1e}".format}))
print(f"log-likelihood: quadlib {res.llf:.10f}, clogit {CLOGIT['loglik']:.10f}; "
      f"at beta = 0: {res.llnull:.10f}, {CLOGIT['loglik_null']:.10f}")

# %%
# The conditional likelihood written out
# --------------------------------------
# With one case per matched set the conditional log-likelihood is a sum of log-softmax terms, a few lines of
# numpy. This direct evaluation is independent of the library's kernel, which handles any number of cases by a
# recursion over the set's rows.

X = infert[["spontaneous", "induced"]].to_numpy(float)
sets = [np.flatnonzero(infert.stratum.to_numpy() == s) for s in np.unique(infert.stratum)]
case_rows = np.array([rows[infert.case.to_numpy()[rows] == 1][0] for rows in sets])


def conditional_loglik(beta):
    eta = X @ beta
    return float(np.sum(eta[case_rows]) - sum(special.logsumexp(eta[rows]) for rows in sets))


print(f"direct evaluation at clogit's estimate:  {conditional_loglik(np.array(list(CLOGIT['coef'].values()))):.10f}")
print(f"direct evaluation at quadlib's estimate: {conditional_loglik(res.params.to_numpy()):.10f}")
print(f"direct evaluation at 0:                  {conditional_loglik(np.zeros(2)):.10f}")

# %%
# Profile likelihood of ``spontaneous``
# -------------------------------------
# Fix the coefficient of ``spontaneous`` at a value :math:`\gamma` by moving :math:`\gamma \cdot
# \mathrm{spontaneous}` into an offset, and maximize over ``induced``: ``conditional_fit`` accepts
# ``offset(...)`` in the formula. The same profile from the direct evaluation above (maximized by scipy) checks
# it. Where the profile deviance crosses :math:`\chi^2_{1, 0.95} = 3.84` is the likelihood-ratio interval;
# the Wald interval, from the standard error, is symmetric about the estimate.

gammas = np.linspace(1.0, 3.2, 23)
profile, profile_direct = [], []
for g in gammas:
    fixed = conditional_fit("case ~ induced + offset(off)", infert.assign(off=g * infert.spontaneous),
                            group="stratum")
    profile.append(fixed.llf)
    best = optimize.minimize_scalar(lambda t, g=g: -conditional_loglik(np.array([g, t])), bounds=(-2, 5),
                                    method="bounded", options={"xatol": 1e-10})
    profile_direct.append(-best.fun)
deviance = 2 * (res.llf - np.array(profile))
deviance_direct = 2 * (res.llf - np.array(profile_direct))
print(f"largest difference between the two profiles: {np.max(np.abs(deviance - deviance_direct)):.1e}")

# the likelihood-ratio interval: where the (interpolated) profile deviance crosses 3.84
cut = stats.chi2.ppf(0.95, 1)
lo_side, hi_side = gammas <= res.params["spontaneous"], gammas >= res.params["spontaneous"]
lr_interval = (np.interp(cut, deviance[lo_side][::-1], gammas[lo_side][::-1]),
               np.interp(cut, deviance[hi_side], gammas[hi_side]))
wald = res.conf_int().loc["spontaneous"].to_numpy()
print(f"95% likelihood-ratio interval (from the grid): ({lr_interval[0]:.3f}, {lr_interval[1]:.3f})")
print(f"95% Wald interval:                             ({wald[0]:.3f}, {wald[1]:.3f})")

# %%
# On the odds scale: each prior spontaneous abortion multiplies the odds of secondary infertility by about
# :math:`e^{1.99} \approx 7.3`, all else (and the matching variables) equal.

fig, ax = plt.subplots(figsize=(6.4, 4.4))
ax.plot(gammas, deviance, "-", lw=2, label="profile deviance (conditional_fit with an offset)")
ax.plot(gammas, deviance_direct, "k.", ms=5, label="direct evaluation (numpy + scipy)")
ax.axhline(cut, color="grey", lw=0.8)
ax.text(gammas[0], cut + 0.15, r"$\chi^2_{1,0.95}$", color="grey")
ax.axvline(CLOGIT["coef"]["spontaneous"], color="C3", ls="--", lw=1, label="clogit estimate")
for k, (interval, colour, name) in enumerate(((lr_interval, "C0", "likelihood ratio"), (wald, "C2", "Wald"))):
    y = -0.4 - 0.4 * k
    ax.plot(interval, [y, y], "|-", color=colour, lw=2, ms=10, label=f"95% {name} interval")
ax.set_xlabel(r"coefficient of spontaneous, $\gamma$")
ax.set_ylabel(r"$2\,(\ell(\hat\beta) - \max_{\beta_{induced}} \ell(\gamma, \beta_{induced}))$")
ax.set_title("infert: profile of the spontaneous-abortion effect")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
