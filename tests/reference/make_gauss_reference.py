"""Regenerate tests/reference/gauss_reference.npz: Gauss nodes and weights from mpmath at 40 digits.

Run from the repository root:  python tests/reference/make_gauss_reference.py  (about two minutes).
The values come from quadlib.reference (mpmath Newton iteration on the three-term recurrence, Golub's
modified matrices for Radau and Lobatto), not from the compiled rules the tests check. Each value is
stored as a double-double pair (hi, lo), so the tests can measure errors far below one ulp.
"""
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import mpmath
import numpy as np

from quadlib import reference

# name -> (reference function, positional args after n, keyword args)
CONFIGS = {
    "legendre": (reference.gauss_legendre, (), {}),
    "chebyshev1": (reference.gauss_chebyshev, (1,), {}),
    "chebyshev2": (reference.gauss_chebyshev, (2,), {}),
    "gegenbauer_0.75": (reference.gauss_gegenbauer, (0.75,), {}),
    "gegenbauer_2.5": (reference.gauss_gegenbauer, (2.5,), {}),
    "jacobi_0.3_-0.7": (reference.gauss_jacobi, (0.3, -0.7), {}),
    "jacobi_5_2.5": (reference.gauss_jacobi, (5.0, 2.5), {}),
    "jacobi_-0.9_0.5": (reference.gauss_jacobi, (-0.9, 0.5), {}),
    "laguerre_0": (reference.gauss_laguerre, (0.0,), {}),
    "laguerre_-0.5": (reference.gauss_laguerre, (-0.5,), {}),
    "laguerre_3.7": (reference.gauss_laguerre, (3.7,), {}),
    "hermite_physicists": (reference.gauss_hermite, ("physicists",), {}),
    "hermite_probabilists": (reference.gauss_hermite, ("probabilists",), {}),
    "hermite_normal": (reference.gauss_hermite, ("normal",), {}),
    "radau_0_0_-1": (reference.gauss_radau, (0.0, 0.0, -1), {}),
    "radau_0.5_1_1": (reference.gauss_radau, (0.5, 1.0, 1), {}),
    "lobatto_0_0": (reference.gauss_lobatto, (0.0, 0.0), {}),
    "lobatto_-0.5_2": (reference.gauss_lobatto, (-0.5, 2.0), {}),
}
SMALL = range(1, 101)
LARGE = (150, 317, 500, 1000)
DPS = 40


def sample_indices(n):
    rng = np.random.default_rng(n)
    fixed = {0, 1, 2, n // 2, n - 3, n - 2, n - 1}
    return sorted(fixed | set(rng.choice(n, 6, replace=False).tolist()))


def split(values):
    hi = np.array([float(t) for t in values])
    lo = np.array([float(t - mpmath.mpf(h)) for t, h in zip(values, hi)])
    return hi, lo


def compute(name):
    func, args, kwargs = CONFIGS[name]
    out = {}
    smallest = 2 if name.startswith("lobatto") else 1
    for n in [m for m in SMALL if m >= smallest] + list(LARGE):
        idx = list(range(n)) if n <= 100 else sample_indices(n)
        x, w = func(n, *args, dps=DPS, indices=idx, **kwargs)
        with mpmath.workdps(DPS):
            out[f"{name}/{n}/index"] = np.array(idx)
            out[f"{name}/{n}/x_hi"], out[f"{name}/{n}/x_lo"] = split(x)
            out[f"{name}/{n}/w_hi"], out[f"{name}/{n}/w_lo"] = split(w)
            # log10 of the weight, so underflowing weights are still identified
            out[f"{name}/{n}/w_log10"] = np.array([float(mpmath.log10(t)) for t in w])
    print(name, "done", flush=True)
    return out


if __name__ == "__main__":
    data = {}
    with ProcessPoolExecutor(2) as pool:
        for part in pool.map(compute, CONFIGS):
            data.update(part)
    np.savez_compressed(Path(__file__).with_name("gauss_reference.npz"), **data)
