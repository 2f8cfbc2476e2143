"""Simulated large binary GLMM data sets for the benchmarks (and for asv_bench/lme4_large.R).

True model (logit link), for group g and observation i:

    eta = -0.5 + 0.8 * x + b0_g (+ b1_g * x if slope)
    (b0_g, b1_g) ~ N(0, [[1.0**2, 0.3*1.0*0.5], [0.3*1.0*0.5, 0.5**2]])   (b0 ~ N(0, 1) without slope)
    x ~ N(0, 1),  y ~ Bernoulli(logistic(eta))

Deterministic: numpy.random.default_rng(seed); the draws are made in a fixed order (random effects
for all groups, then x, then the uniforms for y), so a given (n_groups, n_per_group, slope, seed)
always gives the same data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

INTERCEPT = -0.5
SLOPE = 0.8
SD_B0 = 1.0
SD_B1 = 0.5
CORR = 0.3


def simulated_binary(n_groups: int = 20_000, n_per_group: int = 10, slope: bool = False,
                     seed: int = 0) -> pd.DataFrame:
    """Balanced binary data: ``n_groups`` groups of ``n_per_group`` rows.

    Columns: ``g`` (str group labels "g00001", ..., zero-padded to at least 5 digits, so that the
    lexical and numeric orders agree), ``x`` (float, N(0, 1)), ``y`` (int 0/1).
    """
    rng = np.random.default_rng(seed)
    if slope:
        cov = np.array([[SD_B0 ** 2, CORR * SD_B0 * SD_B1],
                        [CORR * SD_B0 * SD_B1, SD_B1 ** 2]])
        b = rng.standard_normal((n_groups, 2)) @ np.linalg.cholesky(cov).T
    else:
        b = SD_B0 * rng.standard_normal((n_groups, 1))
    n = n_groups * n_per_group
    gi = np.repeat(np.arange(n_groups), n_per_group)
    x = rng.standard_normal(n)
    eta = INTERCEPT + SLOPE * x + b[gi, 0]
    if slope:
        eta += b[gi, 1] * x
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.int64)
    width = max(5, len(str(n_groups)))
    labels = np.array([f"g{i:0{width}d}" for i in range(1, n_groups + 1)])
    return pd.DataFrame({"g": labels[gi], "x": x, "y": y})


def simulated_binary_csv(path, **kw) -> str:
    """Write :func:`simulated_binary` (same keywords) to ``path`` as CSV (x with 17 significant
    digits, so R reads exactly the same doubles). Returns ``path``."""
    df = simulated_binary(**kw)
    df.to_csv(path, index=False, float_format="%.17g")
    return path


def binomial_intercept(n_groups: int = 20, size: int = 5, beta=(-0.5, 1.0), re: str = "normal",
                       seed: int = 0, sd: float = 1.0) -> pd.DataFrame:
    """The validity simulations' binomial random-intercept model (issue 20, design note section 9).

    ``n_groups`` groups of ``size`` Bernoulli rows, ``eta = beta[0] + beta[1] * x + b_g`` with
    ``x ~ N(0, 1)`` within groups and ``b_g`` of variance ``sd**2``:

    - ``re="normal"``: ``b_g ~ N(0, sd**2)``;
    - ``re="two_point"``: ``b_g = +-sd`` with probability 1/2 each (mean 0, variance sd**2);
    - ``re="skewed"``: ``b_g = -0.5 sd`` w.p. 0.8 and ``2 sd`` w.p. 0.2 (mean 0, variance sd**2).

    ``sd=0`` gives the null model of the chi-bar-square size check. Deterministic:
    ``numpy.random.default_rng(seed)``, the draws made in a fixed order (random effects, then x, then the
    uniforms for y). Columns: ``g`` (str labels "g00001", ...), ``x`` (float), ``y`` (int 0/1).
    """
    if re not in ("normal", "two_point", "skewed"):
        raise ValueError(f"`re` must be 'normal', 'two_point' or 'skewed', got {re!r}")
    rng = np.random.default_rng(seed)
    if re == "normal":
        b = sd * rng.standard_normal(n_groups)
    elif re == "two_point":
        b = sd * np.where(rng.random(n_groups) < 0.5, -1.0, 1.0)
    else:
        b = sd * np.where(rng.random(n_groups) < 0.8, -0.5, 2.0)
    gi = np.repeat(np.arange(n_groups), size)
    x = rng.standard_normal(n_groups * size)
    eta = beta[0] + beta[1] * x + b[gi]
    y = (rng.random(gi.size) < 1.0 / (1.0 + np.exp(-eta))).astype(np.int64)
    width = max(5, len(str(n_groups)))
    labels = np.array([f"g{i:0{width}d}" for i in range(1, n_groups + 1)])
    return pd.DataFrame({"g": labels[gi], "x": x, "y": y})


if __name__ == "__main__":  # python asv_bench/benchmarks/_simulate.py out.csv [n_groups] [n_per_group] [slope]
    import sys

    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    kw = {}
    if len(args) > 1:
        kw["n_groups"] = int(args[1])
    if len(args) > 2:
        kw["n_per_group"] = int(args[2])
    if len(args) > 3:
        kw["slope"] = args[3].lower() in ("1", "true", "yes", "slope")
    simulated_binary_csv(args[0], **kw)
