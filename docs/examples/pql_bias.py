"""The bias of penalized quasi-likelihood for binary data with few observations per group
======================================================================================

The full simulation study behind the table in docs/pql.rst (not run when the docs build; see
plot_pql_bias.py for a small version that is).

Simulates a random-intercept logistic model

    logit P(y_ij = 1) = beta0 + beta1 x_ij + b_i,   b_i ~ N(0, sigma_b^2),   x_ij ~ N(0, 1),

with 100 groups of 5 observations, beta0 = -0.5, beta1 = 1, sigma_b = 2, and fits every replicate by PQL
(dispersion fixed at 1: Breslow and Clayton's PQL; and estimated: MASS::glmmPQL's default), the Laplace
approximation and adaptive Gauss-Hermite quadrature with 20 nodes (``quadlib.glmm.fit``). Prints, per method
and parameter, the mean estimate, the bias (with its Monte Carlo standard error) and the RMSE, as an RST
table, and the number of fits that warned (not converged, or a random-effect SD at zero).

Run from the repository root:   python docs/examples/pql_bias.py [--replicates 200] [--seed 613]
(about 30 s for 200 replicates).
"""
import argparse
import time
import warnings

import numpy as np
import pandas as pd

from quadlib.glmm import fit

TRUE = {"(Intercept)": -0.5, "x": 1.0, "sd(group)": 2.0}
METHODS = {
    "PQL, dispersion fixed": dict(method="pql", dispersion="fixed"),
    "PQL, dispersion estimated": dict(method="pql"),
    "Laplace": dict(method="laplace"),
    "AGQ, 20 nodes": dict(method="agq", nagq=20),
}


def simulate(rng, groups=100, size=5):
    """One data set of the model above."""
    group = np.repeat(np.arange(groups), size)
    x = rng.standard_normal(groups * size)
    b = rng.normal(0.0, TRUE["sd(group)"], groups)
    eta = TRUE["(Intercept)"] + TRUE["x"] * x + b[group]
    y = (rng.random(groups * size) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"y": y, "x": x, "group": group.astype(str)})


def estimates(data, options):
    """(intercept, slope, SD) of one fit and whether it warned."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit("y ~ x + (1 | group)", data, family="binomial", **options)
    values = [res.params["(Intercept)"], res.params["x"], float(res.sd_re["group"].iloc[0])]
    return values, bool(caught) or not res.converged


def run(replicates, seed):
    rng = np.random.default_rng(seed)
    values = {name: [] for name in METHODS}
    warned = dict.fromkeys(METHODS, 0)
    for _ in range(replicates):
        data = simulate(rng)
        for name, options in METHODS.items():
            v, w = estimates(data, options)
            values[name].append(v)
            warned[name] += w
    return {name: np.array(v) for name, v in values.items()}, warned


def table(values, warned, replicates):
    truth = np.array(list(TRUE.values()))
    rows = []
    for name, est in values.items():
        error = est - truth
        for j, parameter in enumerate(TRUE):
            rows.append((name if j == 0 else "", parameter, f"{truth[j]:g}", f"{est[:, j].mean():.3f}",
                         f"{error[:, j].mean():+.3f} ({error[:, j].std(ddof=1) / np.sqrt(replicates):.3f})",
                         f"{np.sqrt(np.mean(error[:, j] ** 2)):.3f}", str(warned[name]) if j == 0 else ""))
    header = ("method", "parameter", "true", "mean", "bias (MC s.e.)", "RMSE", "warned")
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths)), rule]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.append(rule)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--seed", type=int, default=613)
    args = parser.parse_args()
    start = time.perf_counter()
    values, warned = run(args.replicates, args.seed)
    print(f"{args.replicates} replicates of 100 groups x 5 binary observations, seed {args.seed} "
          f"({time.perf_counter() - start:.0f} s)\n")
    print(table(values, warned, args.replicates))


if __name__ == "__main__":
    main()
