"""
A GLMM on a Dask DataFrame, fitted on a local cluster
=====================================================

:func:`quadlib.glmm.fit` fits a model on a Dask DataFrame without collecting its rows: each worker keeps its
partitions' designs, and each optimizer step sends the parameters to the workers and brings back one
log-likelihood and one gradient per partition (:doc:`/scale`). This example starts a two-worker
``LocalCluster``, generates 200,000 binary observations *inside* the partitions (so they never exist on the
driver), fits

.. math::

    \\mathrm{logit}\\, P(y_{ij} = 1 \\mid b_i) = \\beta_0 + \\beta_1 x_{ij} + b_i, \\quad b_i \\sim N(0, \\sigma^2),

with 10,000 groups of 20 observations, and checks the fit against the pandas fit of the same rows. At this size
a fit on one machine is faster (the cluster's fixed costs are amortized from about 10^6 rows per pair
of workers); the point here is that the answers are the same.

The workers here are threads of this process (``processes=False``: no network, and no second copy of Python to
start), which keeps the example light; on a real machine use one single-thread worker *process* per core
(``processes=True, host="127.0.0.1"`` for a local cluster), since the compiled kernels hold the GIL.
"""
import time
import warnings

import dask.dataframe as dd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster

from quadlib.glmm import fit

GROUPS_PER_PART, SIZE, PARTS = 1250, 20, 8      # 8 partitions x 1,250 groups x 20 rows = 200,000 rows


def simulate_partition(k):
    """Partition `k`: groups k*1250 .. (k+1)*1250 - 1, whole, from the partition's own seed (True values:
    beta = (-0.5, 0.7), sigma = 0.8)."""
    rng = np.random.default_rng([2026, k])
    g = np.repeat(np.arange(k * GROUPS_PER_PART, (k + 1) * GROUPS_PER_PART), SIZE)
    x = rng.standard_normal(g.size)
    b = rng.normal(0.0, 0.8, GROUPS_PER_PART)[g - k * GROUPS_PER_PART]
    y = rng.random(g.size) < 1.0 / (1.0 + np.exp(-(-0.5 + 0.7 * x + b)))
    return pd.DataFrame({"y": y.astype(float), "x": x, "g": g})


cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
client = Client(cluster)
ddf = dd.from_map(simulate_partition, range(PARTS)).persist()     # generated and held on the workers
print(f"{ddf.npartitions} partitions, {len(ddf)} rows")

# %%
# The fit
# -------
# The call is the pandas one; ``client=`` names the cluster (without it, the current client is used). Each group
# lies in one partition here, which ``fit`` checks before it starts (it would otherwise shuffle the rows by group,
# with a warning). ``progress=True`` prints one line per optimizer step with the wall time of its distributed
# passes.
began = time.perf_counter()
res = fit("y ~ x + (1 | g)", ddf, client=client, progress=True)
dask_seconds = time.perf_counter() - began
print(res.summary())

# %%
# Against the pandas fit
# ----------------------
# The same rows, collected into one pandas frame (possible at this size), fitted on one machine:
frame = ddf.compute()
began = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    ref = fit("y ~ x + (1 | g)", frame)
pandas_seconds = time.perf_counter() - began

rows = {name: (a, b, a - b) for name, a, b in zip(res.params.index, res.params, ref.params)}
rows["sd(g)"] = (float(res.sd_re["g"].iloc[0]), float(ref.sd_re["g"].iloc[0]),
                 float(res.sd_re["g"].iloc[0] - ref.sd_re["g"].iloc[0]))
rows["log-likelihood"] = (res.llf, ref.llf, res.llf - ref.llf)
table = pd.DataFrame(rows, index=["Dask", "pandas", "difference"]).T
print(table.to_string(formatters={"Dask": "{:.10f}".format, "pandas": "{:.10f}".format,
                                  "difference": "{:+.1e}".format}))
print(f"wall time: Dask {dask_seconds:.2f} s on 2 local workers, pandas {pandas_seconds:.2f} s")

# %%
# The random effects
# ------------------
# ``res.random_effects["g"]`` is a Dask DataFrame computed on the workers from the objectives they kept; at this
# size it can be collected and compared, group by group, with the pandas fit's conditional modes.
modes = res.random_effects["g"].compute().sort_index()
ref_modes = ref.random_effects["g"].sort_index()
modes.index = modes.index.astype(ref_modes.index.dtype)
worst = float(np.max(np.abs(modes["(Intercept)"].to_numpy() - ref_modes.loc[modes.index, "(Intercept)"].to_numpy())))
print(f"{len(modes)} groups; largest difference of a conditional mode: {worst:.1e}")

# %%
# Where the time goes
# -------------------
# The fit's objective records the wall time of every distributed pass and of the fit's stages: the agreement pass,
# the grouping check, building the partitions' objectives on the workers, the GLM start, the separation
# certificate, the optimizer and the result. At this size the latency of a pass (the scheduler's round trip) is
# comparable to the work of a pass; it is amortized from about 10^6 rows per pair of workers.
print({stage: round(seconds, 3) for stage, seconds in res.objective.timings.items()})
passes = np.asarray(res.objective.pass_seconds) * 1e3
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
left.bar(np.arange(1, passes.size + 1), passes, color="C0")
left.set_xlabel("pass (GLM start and checks, then evaluations)")
left.set_ylabel("wall time (ms)")
left.set_title(f"{passes.size} passes ({res.objective.evaluations} evaluations), median {np.median(passes):.0f} ms")
right.plot(ref_modes.loc[modes.index, "(Intercept)"], modes["(Intercept)"], ".", ms=2, alpha=0.4)
lim = float(np.max(np.abs(modes["(Intercept)"])))
right.plot([-lim, lim], [-lim, lim], color="grey", lw=0.8)
right.set_xlabel("conditional mode, pandas fit")
right.set_ylabel("conditional mode, Dask fit")
right.set_title(f"10,000 groups, largest difference {worst:.0e}")
fig.tight_layout()

client.close()
cluster.close()
plt.show()
