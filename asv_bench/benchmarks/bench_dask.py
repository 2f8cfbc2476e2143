"""Fitting on a Dask DataFrame (issue 18): quadlib.glmm.fit on a LocalCluster against the pandas fit of the same rows.

``y ~ x + (1 | g)``, binary, Laplace, 200,000 rows (10,000 groups of 20) in 4 partitions, generated inside the
partitions and persisted on a ``LocalCluster`` of 2 single-thread worker processes on 127.0.0.1 (started without
Dask's ``MALLOC_TRIM_THRESHOLD_``, as docs/scale.rst recommends) before the clock starts. ``time_dask`` is the
user's call (agreement pass, grouping check, build, passes); ``time_pandas`` fits the same rows collected into one
pandas frame, in this process. At this size the cluster's fixed costs dominate (the Dask fit is slower);
asv_bench/dask_report.py measures the 10^6-row ratio, the scaling and the driver's memory.
Skipped (NotImplementedError in setup, as asv expects) when dask or distributed is not installed.
"""
import os
import warnings

import numpy as np
import pandas as pd

from quadlib.glmm import fit

FORMULA = "y ~ x + (1 | g)"
ROWS, PARTS, GROUP_SIZE = 200_000, 4, 20


def simulated_partition(k, rows):
    """Partition `k`: `rows` // GROUP_SIZE whole groups from the partition's own seed (logit P(y = 1) =
    -0.5 + 0.7 x + b_g, b_g ~ N(0, 0.8^2))."""
    rng = np.random.default_rng([18, k])
    m = rows // GROUP_SIZE
    g = np.repeat(np.arange(k * m, (k + 1) * m, dtype=np.int64), GROUP_SIZE)
    x = rng.standard_normal(g.size)
    b = rng.normal(0.0, 0.8, m)[g - k * m]
    y = rng.random(g.size) < 1.0 / (1.0 + np.exp(-(-0.5 + 0.7 * x + b)))
    return pd.DataFrame({"y": y.astype(np.float64), "x": x, "g": g})


def _quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(*args, **kwargs)


class DaskFit:
    """The Dask fit on 2 local worker processes and the pandas fit of the same 200,000 rows."""

    timeout = 300
    number = 1
    repeat = (1, 3, 60.0)

    def setup(self):
        try:
            import dask
            import dask.dataframe as dd
            from distributed import Client, LocalCluster, wait
        except ImportError as missing:
            raise NotImplementedError(f"quadlib[dask] is not installed ({missing.name})") from None
        # workers as docs/scale.rst recommends: without Dask's MALLOC_TRIM_THRESHOLD_ (a nanny also leaves it in
        # this process's environment, which later workers would inherit)
        os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
        with warnings.catch_warnings(), \
                dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            # the scheduler's HTTP server moves off a busy port 8787 by itself
            warnings.filterwarnings("ignore", message="Port 8787 is already in use", category=UserWarning)
            self.cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                        dashboard_address=None,
                                        env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
        self.client = Client(self.cluster)
        self.client.wait_for_workers(2)
        meta = simulated_partition(0, GROUP_SIZE).iloc[:0]
        self.ddf = dd.from_map(simulated_partition, range(PARTS), rows=ROWS // PARTS, meta=meta).persist()
        wait(self.ddf)
        self.frame = self.ddf.compute().reset_index(drop=True)
        warm = dd.from_map(simulated_partition, range(2), rows=2_000, meta=meta).persist()
        _quiet_fit(FORMULA, warm, client=self.client)       # imports and first calls on the workers, untimed

    def teardown(self):
        self.client.close()
        self.cluster.close()

    def time_dask(self):
        _quiet_fit(FORMULA, self.ddf, client=self.client)

    def time_pandas(self):
        _quiet_fit(FORMULA, self.frame)
