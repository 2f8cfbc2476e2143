"""Fitting a GLMM on a Dask DataFrame: the rows stay on the workers, the driver sums (issue 18).

With one grouping factor the marginal log-likelihood, its gradient and every statistic a fit needs are sums
over the levels of that factor. When each level (a cluster) lies in one partition, each partition is a
:class:`~quadlib.glmm.ClusterObjective` of its own, and the fit is the one-machine fit with its sums taken
partition by partition:

1. One agreement pass (:func:`quadlib.glmm._partition.summarize_partition` on every partition, merged on
   the driver by :func:`~quadlib.glmm._partition.merge_summaries`): rows, dtypes, factor levels and the
   statistics of ``center``/``scale``/``standardize``, so that every partition builds identical columns.
2. The grouping check: each level must lie in one partition. Free when the partitions' ranges of the
   grouping column do not overlap (data sorted or written by group); otherwise the number of
   (partition, level) pairs is compared with the exact number of levels (``nunique``, reduced on the
   workers). A split grouping is repartitioned with ``ddf.shuffle(on=group)`` after a UserWarning giving
   the cost; with ``assume_grouped=True`` it is a ValueError instead (no shuffle ever runs). The check is
   never skipped: a split level would make its integral the product of its parts' integrals, a wrong
   likelihood.
3. Each partition's design and objective are built once, on the worker holding the partition
   (``client.map``); the arrays never reach the driver. Aliased fixed-effect columns are found by TSQR
   (:func:`~quadlib.glmm._partition.aliased_over_partitions`) and dropped on every partition.
4. :class:`DistributedObjective` follows :func:`quadlib.glmm.optimize`'s protocol: a pass sends the
   parameters to every partition's objective (the task soft-pinned to the worker holding it), and sums the
   values and gradients (a few floats per partition). One task per worker and pass evaluates all the
   partitions it holds (the partitions are balanced over the workers by rows when they are built). The
   optimizer, its Newton polish and the standard errors from the Hessian of the summed gradients are the
   one-machine ones. Bounds: a pass sends ``8 (n_params + 1)`` bytes per point and partition and brings
   back as many; the driver holds O(partitions x n_params) numbers.

Faults. A pass checks that its partitions covered every cluster and row of the build; a task error,
a worker lost three times in a row (Dask's ``KilledWorker``) or a pass not finished within
:data:`PASS_TIMEOUT` seconds stops the fit with a RuntimeError: no result rather than a wrong sum. A worker
lost mid-fit otherwise costs only time: the soft pin lets the scheduler rebuild the lost objectives from
lineage on another worker (their warm starts restart at zero; the values are unchanged beyond the inner
Newton tolerance).

Speed. Dask starts worker processes with ``MALLOC_TRIM_THRESHOLD_=65536`` (its
``distributed.nanny.pre-spawn-environ``), which fixes glibc's mmap threshold at 128 kB: every temporary
array of a partition's evaluation is then mapped and unmapped, and a pass took 2-3x as long here (1e6 rows,
2 workers: 437 ms against 128 ms at the optimum). Start the workers without it for fits:
``dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})`` before the
cluster is made (or ``MALLOC_TRIM_THRESHOLD_`` unset in the workers' environment).

Without a ``distributed.Client`` (none passed, none current) the same per-partition objectives are built
and evaluated in this process, one partition after another, each partition computed by Dask's local
scheduler: the same numbers as with a client, but no parallelism and no memory saving (every objective is
held here).

Not available on a Dask DataFrame (v1): crossed or nested random effects (they do not decompose into
independent clusters), ``method="pql"`` and ``"qmc"``, and, on the result, ``predict``, ``simulate``,
profile intervals and the marginal effects: collect the data (``ddf.compute()``) and use
:func:`quadlib.glmm.fit` on one machine. The lme4 check of a rank-deficient random-effect matrix (a
warning on the one-machine path) is not made; the counts of levels against rows are.
"""
from dataclasses import replace
import math
import pickle
import time
import warnings

import numpy as np

from .. import _validation as v
from .._integrators import AdaptiveGaussHermite
from ._covariance import CovarianceBlock, ThetaLayout
from ._design import identifiers
from ._families import make_family
from ._newton import newton
from ._objective import BOUNDED_MEAN_FAMILIES, fitted_at_bounds
from ._optimize import ConvergenceWarning, blas_controller, optimize, warn_singular
from ._partition import (aliased_over_partitions, alias_piece, cluster_group, design_on_partition, keep_columns,
                         merge_summaries, summarize_partition)
from ._result import GLMMResult, random_effects_frame

__all__ = ["fit_dask", "DistributedObjective", "DistributedGLMMResult", "PASS_TIMEOUT"]

PASS_TIMEOUT = 600.0   # seconds a distributed pass (or a build step) may take before the fit stops
_ONE_MACHINE = ("collect the data (ddf.compute()) and use quadlib.glmm.fit on one machine")


# ---------------------------------------------------------------------------------------------- on a worker
class _OneThread:
    """BLAS limited to one thread inside a task: the workers' linear algebra is small, and a worker process
    per core is how Dask parallelizes."""

    def __enter__(self):
        self._limit = blas_controller().limit(limits=1, user_api="blas")
        self._limit.__enter__()

    def __exit__(self, *exc):
        return self._limit.__exit__(*exc)


def _worker_address():
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):   # not inside a worker (the local path)
        return None


def _summarize(frame, formula, used, group, weights, offset):
    """The agreement pass on one partition: A's summary, and this module's facts on the grouping column
    among the complete rows (levels, their range when orderable) and the partition's size in bytes."""
    summary = summarize_partition(frame, formula, weights=weights, offset=offset)
    size = int(frame.memory_usage(deep=False).sum())
    if not set(used) <= set(frame.columns):   # the merge names the partition and the column
        return summary, 0, None, size
    complete = frame[used].notna().all(axis=1).to_numpy() if used else np.ones(len(frame), bool)
    labels = frame[group][complete]
    span = None
    if len(labels):
        try:
            span = (labels.min(), labels.max())
        except TypeError:   # labels that do not order (mixed types): the exact check decides
            span = None
    return summary, int(labels.nunique()), span, size


def _complete_labels(frame, group, used):
    """The distinct labels of `group` among the complete rows of one partition (the exact grouping check)."""
    complete = frame[used].notna().all(axis=1).to_numpy() if used else np.ones(len(frame), bool)
    import pandas as pd

    return pd.Series(frame[group][complete].unique(), name=group)


def _design_part(frame, k, spec):
    """The design of partition `k` (None without complete rows); its errors name the partition."""
    try:
        return design_on_partition(spec, frame)
    except (ValueError, TypeError) as error:
        raise type(error)(f"`data`, partition {k}: {error}") from None


def _alias_part(design):
    return None if design is None else alias_piece(design)


def _objective_part(design, kept, family, link, integrator):
    """The partition's objective, its fixed-effect columns restricted to `kept` (None: all)."""
    if design is None:
        return None
    from ._objective import make_objective

    if kept is not None:
        design = keep_columns(design, kept)
    return make_objective(design, family, integrator, link=link)


def _describe_part(design):
    """What the driver needs to know of a partition's design before its objective: rows, the random terms'
    shape and the fixed-effect names."""
    if design is None:
        return None
    blocks = {}
    for term in design.terms:
        blocks.setdefault(term.group, []).append((list(term.columns), term.q, bool(term.correlated)))
    return dict(nobs=int(design.nobs), fixed_names=list(design.fixed_names), blocks=blocks)


def _facts_part(objective, family_name, with_exact_fit):
    """The response facts of the global checks (check_response's as counts and TSQR pieces), and the counts
    every pass is checked against."""
    if objective is None:
        return dict(rows=0, clusters=0)
    y, n, d = objective.y, objective.n, objective.design
    facts = dict(rows=int(d.nobs), clusters=int(objective.blocks[0].n_levels), names=list(objective.names),
                 not_zero=bool(np.any(y != 0)), not_full=bool(np.any(y != n)))
    if with_exact_fit:
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            target = objective.family.link_function(y) - d.offset
        facts["finite"] = bool(np.all(np.isfinite(target)))
        if facts["finite"]:
            with _OneThread():
                facts["R"] = np.linalg.qr(np.column_stack([d.X, target]), mode="r")
            facts["target2"] = float(target @ target)
    return facts


def _glm_part(objective, stage, beta, phi):
    """The GLM's sums on one partition (:func:`quadlib.glmm._objective.glm_start`'s, taken apart):
    ``"ls"``: R of the QR of [X, eta0 - offset] (the least-squares start); ``"newton"``: the log-likelihood,
    X'd1 and X'(-d2)X at `beta`; ``"moments"``: the sums of the dispersion's moment estimate and of |eta|;
    ``"certificate"``: X'X and X'd1 (the non-separation certificate's first pass)."""
    if objective is None:
        return None
    d, fam, y, n = objective.design, objective.family, objective.y, objective.n
    with _OneThread():
        if stage == "ls":
            eta = fam.start_eta(y, n)
            return np.linalg.qr(np.column_stack([d.X, eta - d.offset]), mode="r")
        eta = d.offset + d.X @ beta
        if stage == "newton":
            t = fam.terms(y, n, eta, phi, order=2)
            return float(np.sum(t.value)), d.X.T @ t.d1, d.X.T @ (-t.d2[:, None] * d.X)
        if stage == "certificate":
            t = fam.terms(y, n, eta, phi, order=1)
            return d.X.T @ d.X, d.X.T @ t.d1, bool(np.all(np.isfinite(t.d1)))
        mu = fam.inverse_link(eta)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            moments = dict(rows=y.size, abs_eta=float(np.sum(np.abs(eta))), max_y=float(np.max(np.abs(y))),
                           gaussian=float(np.sum(n * (y - mu) ** 2)), gamma=float(np.sum(n * ((y - mu) / mu) ** 2)),
                           nb_excess=float(np.sum(n * ((y - mu) ** 2 - mu))), nb_mu2=float(np.sum(n * mu * mu)))
        return moments


def _certified_part(objective, beta, phi, c):
    """Whether the certificate's signs hold on this partition's boundary rows
    (:func:`quadlib.glmm._objective.not_separated`), and how many boundary rows it has."""
    if objective is None:
        return True, 0
    d, fam, y, n = objective.design, objective.family, objective.y, objective.n
    with _OneThread():
        d1 = fam.terms(y, n, d.offset + d.X @ beta, phi, order=1).d1
        correction = d.X @ c
    boundary = y == 0
    if fam.name in ("binomial", "bernoulli"):
        boundary |= y == n
    ok = bool(np.all(np.isfinite(d1)) and np.all(np.isfinite(correction))
              and np.all(np.abs(correction[boundary]) < 0.5 * np.abs(d1[boundary])))
    return ok, int(boundary.sum())


def _run_group(func, objects, *args):
    """`func(object, *args)` for each of a worker's partition objects (one task per worker and pass)."""
    return [func(obj, *args) for obj in objects]


def _evaluate_part(objective, points, gradient):
    """One partition's part of a pass: per point (value, gradient or None); then its clusters, rows and the
    worker it ran on. Several points (a batch) all start from the modes at the first, and the state is left
    at the first point's modes."""
    if objective is None:
        return [(0.0, None) for _ in points], 0, 0, _worker_address(), 0.0
    started = time.perf_counter()
    out = []
    with _OneThread():
        base = None
        for i, x in enumerate(points):
            if i > 0:
                objective.warm_modes = base
            if gradient:
                value, grad = objective.value_and_gradient(x)
            else:
                value, grad = objective.log_likelihood(x), None
            if i == 0:
                base = objective.warm_modes
            out.append((float(value), grad))
        objective.warm_modes = base
    return (out, int(objective.blocks[0].n_levels), int(objective.design.nobs), _worker_address(),
            time.perf_counter() - started)


def _at_bounds_part(objective, x):
    """R's glm.fit warning on one partition (:func:`~quadlib.glmm._objective.fitted_at_bounds`), or None."""
    if objective is None:
        return None
    with _OneThread():
        return fitted_at_bounds(objective, x)


def _random_effects_part(objective, x, kind, nagq, group, columns):
    """One partition's rows of ``random_effects[group]`` (modes, or posterior means with ``kind="mean"``)."""
    import pandas as pd

    if objective is None:
        return _empty_random_effects(group, columns)
    block = objective.blocks[0]
    with _OneThread():
        if kind == "mode":
            b, cov = objective.conditional_modes(x)[block.group]
        else:
            n = nagq if nagq is not None else {1: 30, 2: 12}.get(block.q, 6)
            b, cov, _ = objective.posterior_moments(x, AdaptiveGaussHermite(n))
    sd = np.sqrt(np.clip(np.einsum("mii->mi", cov), 0, None))
    frame = random_effects_frame(b, sd, block.columns, block.levels, block.group)
    frame.index = pd.Index(frame.index.to_numpy(dtype=object), name=group, dtype=object)
    return frame


def _empty_random_effects(group, columns):
    return random_effects_frame(np.zeros((0, len(columns))), np.zeros((0, len(columns))), columns, [], group)


# ---------------------------------------------------------------------------------------------- runners
class _PassFailed(Exception):
    """A task of a distributed pass failed (wrapped into the RuntimeError the user sees)."""


class _ClientRunner:
    """Partitions and their objectives on a ``distributed.Client``'s workers (handles are futures)."""

    parallel = True

    def __init__(self, client):
        self.client = client

    def compute(self, tasks):
        """A list of delayed objects computed on the cluster; the results (small) come here."""
        futures = self.client.compute(tasks)
        return self._gather(futures)

    def _wait(self, futures):
        """The futures' results (small), within :data:`PASS_TIMEOUT` seconds."""
        from distributed import wait

        with self.client.as_current():   # the given client, current or not
            wait(futures, timeout=PASS_TIMEOUT)
        return self.client.gather(futures)

    def _gather(self, futures):
        """:meth:`_wait` for the agreement pass and the build: the data's own errors (ValueError, TypeError
        and NotImplementedError naming the partition) as they are, any other failure (a lost worker beyond
        Dask's retries, a timeout) a RuntimeError."""
        try:
            return self._wait(futures)
        except (ValueError, TypeError, NotImplementedError):
            raise
        except Exception as error:
            self.client.cancel(futures)
            raise RuntimeError(f"a distributed step of the fit's preparation failed ({type(error).__name__}: "
                               f"{error}): fit stopped, no result") from error

    def partitions(self, ddf):
        return self.client.compute(ddf.to_delayed(optimize_graph=True))

    def map(self, func, handles, *iterables, targets=None, **kwargs):
        """`func` over the handles; with `targets`, each task soft-pinned to its worker."""
        if targets is None:
            return self.client.map(func, handles, *iterables, pure=False, **kwargs)
        return [self.client.submit(func, handle, *(it[k] for it in iterables), pure=False,
                                   workers=None if targets[k] is None else [targets[k]], allow_other_workers=True,
                                   **kwargs)
                for k, handle in enumerate(handles)]

    def balance(self, handles, sizes):
        """A worker for each handle, balancing `sizes` (rows): a partition stays where it is unless its
        holder already has its share (longest first), so that a pass is not as slow as the busiest worker."""
        workers = sorted(self.client.scheduler_info()["workers"])
        if sizes is None or None in sizes or len(workers) < 2:
            return None
        holders = self.holders(handles)
        share = sum(sizes) / len(workers)
        load = dict.fromkeys(workers, 0)
        targets = [None] * len(handles)
        for k in sorted(range(len(handles)), key=lambda k: -sizes[k]):
            holder = holders[k]
            if holder in load and load[holder] + sizes[k] <= 1.05 * share:
                target = holder
            else:
                target = min(workers, key=lambda w: load[w])
            targets[k] = target
            load[target] += sizes[k]
        return targets

    def gather(self, handles):
        return self._gather(handles)

    def holders(self, handles):
        """The worker holding each handle's object (None if unknown)."""
        who = self.client.who_has(handles)
        return [(sorted(who.get(h.key, ())) or [None])[0] for h in handles]

    def run_pass(self, func, handles, where, *args):
        """`func(handle, *args)` on every partition, each task soft-pinned to the worker holding the
        partition's objective (a lost worker's objectives are rebuilt elsewhere from lineage)."""
        # one task per worker for all its partitions: a pass's latency grows with its tasks, not its rows
        groups = {}
        for k, w in enumerate(where):
            groups.setdefault(w, []).append(k)
        futures = [self.client.submit(_run_group, func, [handles[k] for k in ks], *args, pure=False,
                                      workers=None if w is None else [w], allow_other_workers=True)
                   for w, ks in groups.items()]
        try:
            done = self._wait(futures)
        except Exception as error:
            self.client.cancel(futures)
            raise _PassFailed(f"{type(error).__name__}: {error}") from error
        results = [None] * len(handles)
        for ks, values in zip(groups.values(), done):
            for k, value in zip(ks, values):
                results[k] = value
        return results

    def release(self, handles):
        # release, not cancel: cancelling a future cancels the tasks that depend on it
        for handle in handles:
            handle.release()

    def delayed_call(self, func, handle, *args):
        """A lazy `func(handle's object, *args)`. With this runner's client current (as when the fit ran on
        the current client) the handle is a dependency of the graph; otherwise a graph that refers to a
        future of another client does not compute (Dask's local scheduler cannot fetch it), so the task
        asks this runner's client for the result instead: `.compute()` works either way."""
        import dask
        from distributed import get_client

        try:
            current = get_client() is self.client
        except ValueError:
            current = False
        if current:
            return dask.delayed(func, pure=False)(handle, *args)
        return dask.delayed(_on_client, pure=False)(_Remote(self.client, handle), func, *args)


class _Remote:
    """A future and its client, opaque to Dask's graph traversal (see :meth:`_ClientRunner.delayed_call`)."""

    def __init__(self, client, future):
        self.client, self.future = client, future

    def __reduce__(self):   # on a worker the client is the worker's own
        return _Remote, (None, self.future)


def _on_client(remote, func, *args):
    """`func(the future's object, *args)` computed on the future's cluster, the (small) result here."""
    if remote.client is None:
        from distributed import worker_client

        with worker_client() as client:
            return client.submit(func, remote.future, *args, pure=False).result()
    return remote.client.submit(func, remote.future, *args, pure=False).result(timeout=PASS_TIMEOUT)


class _LocalRunner:
    """No distributed.Client: the per-partition objectives live in this process (handles are the objects)."""

    parallel = False

    def compute(self, tasks):
        import dask

        return list(dask.compute(*tasks))

    def partitions(self, ddf):
        import dask

        # one partition at a time: the memory of a partition's frame, not of the whole data, at once
        return [_Lazy(lambda part=part: dask.compute(part)[0]) for part in ddf.to_delayed(optimize_graph=True)]

    def map(self, func, handles, *iterables, targets=None, **kwargs):
        out = []
        for k, handle in enumerate(handles):
            value = handle.get() if isinstance(handle, _Lazy) else handle
            out.append(func(value, *(it[k] for it in iterables), **kwargs))
        return out

    def gather(self, handles):
        return list(handles)

    def balance(self, handles, sizes):
        return None

    def holders(self, handles):
        return [None] * len(handles)

    def run_pass(self, func, handles, where, *args):
        try:
            return [func(handle, *args) for handle in handles]
        except Exception as error:
            raise _PassFailed(f"{type(error).__name__}: {error}") from error

    def release(self, handles):
        pass

    def delayed_call(self, func, handle, *args):
        import dask

        return dask.delayed(func, pure=False)(handle, *args)


class _Lazy:
    def __init__(self, make):
        self.get = make


def _runner(client):
    """The runner for `client`: the given Client, else the current one, else this process."""
    if client is not None:
        return _ClientRunner(client)
    try:
        from distributed import get_client
    except ImportError:
        return _LocalRunner()
    try:
        return _ClientRunner(get_client())
    except ValueError:   # no client exists: Dask's local scheduler
        return _LocalRunner()


# ---------------------------------------------------------------------------------------------- the objective
class DistributedObjective:
    """The marginal log-likelihood of a GLMM whose data are partitioned over Dask workers: the protocol of
    :func:`quadlib.glmm.optimize` over one :class:`~quadlib.glmm.ClusterObjective` per partition, kept where
    it was built (module notes).

    Attributes
    ----------
    names, n_params, bounds, layout, n_beta, family, integrator
        As :class:`~quadlib.glmm.Objective` (the layout's block counts every level of every partition).
    design : DistributedDesign
        The fixed-effect names, the rows and the formula (no arrays).
    n_partitions : int
        Partitions holding complete rows (the others take no part in a pass).
    evaluations, passes : int
        Evaluations (points) and distributed passes so far (the GLM start's passes included).
    pass_seconds : list of float
        The wall time of each pass.
    task_seconds : list of float
        Per evaluation pass, the time its tasks computed (summed over the partitions): against
        ``pass_seconds`` times the workers, the cost of scheduling and of the machine's load.
    progress : bool
        Print one line per optimizer step (:meth:`report_step`): its log-likelihood and the wall time of its
        distributed passes.
    timings : dict
        Set by the fit: the wall time (s) of its stages ("agreement", "grouping", "build", "start",
        "separation", "optimize", "result").
    """

    batch_gradients = True   # the Hessian's shifted points in one pass (values_and_gradients)

    def __init__(self, runner, parts, *, names, layout, n_beta, family, integrator, design, n_clusters, n_rows,
                 progress=False):
        self.runner, self.parts = runner, list(parts)
        self.where = runner.holders(self.parts)
        self.names, self.layout, self.n_beta = list(names), layout, int(n_beta)
        self.n_params = len(self.names)
        self.family, self.integrator, self.design = family, integrator, design
        dispersion = [(None, None)] if family.has_dispersion else []
        self.bounds = [(None, None)] * self.n_beta + layout.bounds + dispersion
        self.n_clusters, self.n_rows = int(n_clusters), int(n_rows)
        self.n_partitions = len(self.parts)
        self.progress = bool(progress)
        self.evaluations, self.passes, self.pass_seconds, self.task_seconds = 0, 0, [], []
        self._reported = 0      # passes already in a progress line
        self.glm_beta = None
        self.timings = {}

    def __repr__(self):
        return (f"DistributedObjective({self.family!r}, {self.integrator!r}, {self.n_params} parameters, "
                f"{self.n_rows} rows in {self.n_partitions} partitions)")

    @property
    def blocks(self):
        return self.layout.blocks

    def split(self, params):
        """(beta, [Lambda], phi or None) from a parameter vector."""
        params = np.asarray(params, dtype=float)
        phi = float(np.exp(params[-1])) if self.family.has_dispersion else None
        return params[:self.n_beta], self.layout.factors(params), phi

    # ------------------------------------------------------------------------------------------ passes
    def _run(self, func, *args):
        """One distributed pass of `func` over the partitions; RuntimeError if it fails."""
        started = time.perf_counter()
        number = self.passes
        self.passes += 1
        try:
            results = self.runner.run_pass(func, self.parts, self.where, *args)
        except _PassFailed as error:
            raise RuntimeError(f"the distributed pass {number} failed ({error}): fit stopped, no result") \
                from error.__cause__
        self.pass_seconds.append(time.perf_counter() - started)
        return results

    def _pass(self, points, gradient=True):
        """Values (and gradients) at `points`, summed over the partitions: [(value, gradient or None)]."""
        points = [np.asarray(p, dtype=float) for p in points]
        results = self._run(_evaluate_part, points, gradient)
        clusters = sum(r[1] for r in results)
        rows = sum(r[2] for r in results)
        if clusters != self.n_clusters or rows != self.n_rows:
            raise RuntimeError(f"the distributed pass {self.passes - 1} covered {clusters} clusters and {rows} rows, "
                               f"expected {self.n_clusters} and {self.n_rows}: fit stopped rather than sum a wrong "
                               "total")
        # an objective rebuilt after a lost worker lives where its task ran: pin the next passes there
        self.where = [r[3] if r[3] is not None else w for r, w in zip(results, self.where)]
        self.task_seconds.append(math.fsum(r[4] for r in results))
        out = []
        for i in range(len(points)):
            value = math.fsum(r[0][i][0] for r in results)
            if not math.isfinite(value):   # -inf in one partition is -inf in the sum
                out.append((-np.inf, np.full(self.n_params, np.nan) if gradient else None))
                continue
            grad = np.sum([r[0][i][1] for r in results], axis=0) if gradient else None
            out.append((value, grad))
        self.evaluations += len(points)
        return out

    def report_step(self, k, llf):
        """The progress line of optimizer step `k` (``fit(..., progress=True)``): its log-likelihood, the
        distributed passes since the previous step (line-search trials, the Hessian's pass) and their wall
        time."""
        passes = self.passes - self._reported
        seconds = math.fsum(self.pass_seconds[self._reported:])
        self._reported = self.passes
        print(f"  step {k:4d}: log-likelihood {llf:.10f}  {passes} pass{'es' if passes != 1 else ''} "
              f"{1e3 * seconds:.0f} ms ({self.n_partitions} partitions)", flush=True)

    def log_likelihood(self, params):
        """The marginal log-likelihood summed over the partitions; -inf where it cannot be computed."""
        params = self._check(params)
        return self._pass([params], gradient=False)[0][0]

    __call__ = log_likelihood

    def value_and_gradient(self, params):
        """The log-likelihood and its gradient, summed over the partitions (NaN gradient at -inf)."""
        return self._pass([self._check(params)])[0]

    def values_and_gradients(self, points):
        """Several points in one pass (each partition starts every point from the first point's modes)."""
        return self._pass([self._check(p) for p in points])

    def _check(self, params):
        params = np.asarray(params, dtype=float)
        if params.shape != (self.n_params,):
            raise ValueError(f"`params` must have {self.n_params} values ({', '.join(self.names)}), "
                             f"got shape {params.shape}")
        return params

    # ------------------------------------------------------------------------------------------ the start
    def _glm(self, stage, beta=None, phi=None):
        return [r for r in self._run(_glm_part, stage, beta, phi) if r is not None]

    def _dispersion(self, beta):
        """The family's moment estimate of phi at `beta` and the mean |eta| (sums over the partitions; the
        same estimates as :meth:`quadlib.glmm.Family.start_dispersion` on all rows)."""
        m = self._glm("moments", beta)
        total = {key: math.fsum(part[key] for part in m) for key in m[0]}
        rows, fam = total["rows"], self.family
        mean_abs_eta = total["abs_eta"] / rows
        if not fam.has_dispersion:
            return None, mean_abs_eta
        if fam.name == "gaussian":
            s = math.sqrt(total["gaussian"] / rows)
            phi = float(np.clip(s, 1e-8 * max(1.0, max(part["max_y"] for part in m)), 1e8))
        elif fam.name == "Gamma":
            cv2 = total["gamma"] / rows
            phi = float(np.clip(1.0 / cv2, 1e-8, 1e8)) if cv2 > 0 else 1e8
        else:
            excess = total["nb_excess"]
            phi = float(np.clip(total["nb_mu2"] / excess, 1e-2, 1e4)) if excess > 0 else 1e4
        return phi, mean_abs_eta

    def glm_start(self):
        """:func:`quadlib.glmm._objective.glm_start` with its sums taken over the partitions: least squares
        of the linked response by TSQR, then at most 25 damped Newton steps."""
        p = self.n_beta
        if p == 0:
            return np.zeros(0)
        R = np.linalg.qr(np.vstack(self._glm("ls")), mode="r")
        try:
            beta = np.linalg.lstsq(R[:p, :p], R[:p, p], rcond=None)[0]
        except np.linalg.LinAlgError:
            beta = np.zeros(p)
        phi = self._dispersion(beta)[0] if self.family.has_dispersion else None

        def evaluate(b):
            parts = self._glm("newton", b, phi)
            value = math.fsum(part[0] for part in parts)
            return value, (sum(part[1] for part in parts), sum(part[2] for part in parts))

        def direction(b, value, t):
            try:
                step = np.linalg.solve(t[1], t[0])
            except np.linalg.LinAlgError:
                return None
            return step if np.all(np.isfinite(step)) else None

        return newton(evaluate, direction, beta, max_iter=25, max_halvings=30, rtol=1e-10, tol=1e-8).x

    def start(self):
        """As :meth:`quadlib.glmm.Objective.start`: the GLM's fixed effects, each random SD at 1 (gaussian:
        half the residual SD; an inverse link: a tenth of the mean ``|eta|``), the dispersion's moment estimate."""
        fam = self.family
        beta = self.glm_start()
        self.glm_beta = beta
        scale, phi = 1.0, None
        if fam.has_dispersion or fam.link == "inverse":
            phi, mean_abs_eta = self._dispersion(beta)
            if fam.name == "gaussian":
                scale = 0.5 * phi
            if fam.link == "inverse":
                scale = 0.1 * mean_abs_eta
        x = [beta, self.layout.start(scale)]
        if fam.has_dispersion:
            x.append([np.log(phi)])
        return np.concatenate(x)

    # ------------------------------------------------------------------------------------------ checks
    def not_separated(self):
        """:func:`quadlib.glmm._objective.not_separated` over the partitions (two passes): whether the
        certificate shows that the data are not separated by the fixed effects."""
        fam = self.family
        if self.n_beta == 0 or fam.name not in ("binomial", "bernoulli", "poisson", "negative_binomial"):
            return False
        beta = self.glm_beta if self.glm_beta is not None else self.glm_start()
        phi = self._dispersion(beta)[0] if fam.has_dispersion else None
        parts = self._glm("certificate", beta, phi)
        if not all(part[2] for part in parts):
            return False
        try:
            c = np.linalg.solve(sum(part[0] for part in parts), sum(part[1] for part in parts))
        except np.linalg.LinAlgError:
            return False
        if not np.all(np.isfinite(c)):
            return False
        return all(ok for ok, _ in self._run(_certified_part, beta, phi, c))

    def fitted_at_bounds(self, x):
        """R's glm.fit warning over the partitions (one pass), or None."""
        if self.family.name not in BOUNDED_MEAN_FAMILIES:   # nothing to check: no pass
            return None
        return next((m for m in self._run(_at_bounds_part, np.asarray(x, dtype=float)) if m), None)

    # ------------------------------------------------------------------------------------------ results
    def random_effects_frames(self, x, kind="mode", nagq=None):
        """``{group: dask DataFrame}`` of the conditional modes (``kind="mean"``: posterior means) and their
        conditional SDs, lazy: one partition per partition objective, computed where it lives (index: the
        level labels; columns as :func:`quadlib.glmm._result.random_effects_frame`)."""
        import dask
        import dask.dataframe as dd

        if kind not in ("mode", "mean"):
            raise ValueError(f"`kind` must be 'mode' or 'mean', got {kind!r}")
        block = self.blocks[0]
        x = np.asarray(x, dtype=float)
        pieces = [self.runner.delayed_call(_random_effects_part, part, x, kind, nagq, block.group, block.columns)
                  for part in self.parts]
        meta = _empty_random_effects(block.group, block.columns)
        return {block.group: dd.from_delayed(pieces, meta=meta, verify_meta=False)}

    def conditional_modes(self, params):
        raise NotImplementedError("the conditional modes of a Dask fit are the lazy frames of "
                                  "`result.random_effects`; " + _ONE_MACHINE + " for the arrays")

    def release(self):
        """Drop the partition objectives from the workers (the result's random effects need them)."""
        self.runner.release(self.parts)


class DistributedDesign:
    """What a Dask fit's result reads of its design: the formula, the fixed-effect names (after aliasing),
    the aliased columns dropped, the rows used (``nobs``), and formulae's model of the fixed part (to
    evaluate new data: population-level predictions); no arrays."""

    def __init__(self, formula, fixed_names, nobs, dropped_columns, n_partitions, *, fixed_model=None,
                 fixed_keep=None, fixed_offset=None, offset_argument=None):
        self.formula, self.fixed_names, self.nobs = formula, list(fixed_names), int(nobs)
        self.dropped_columns, self.n_partitions = list(dropped_columns), int(n_partitions)
        self.fixed_model, self.fixed_keep, self.fixed_offset = fixed_model, fixed_keep, fixed_offset
        self.offset_argument = offset_argument

    def __repr__(self):
        return (f"DistributedDesign({self.formula!r}: {self.nobs} rows in {self.n_partitions} partitions, "
                f"fixed {self.fixed_names})")


class DistributedGLMMResult(GLMMResult):
    """A GLMM fitted on a Dask DataFrame: :class:`~quadlib.glmm.GLMMResult`'s estimates, inference and
    summary; ``random_effects[group]`` and ``random_effects(kind="mean")`` are lazy Dask DataFrames. What needs
    the rows on one machine (predictions with random effects, simulation, profile intervals, marginal
    effects, plots of the random effects) raises NotImplementedError; ``predict(newdata, re=False)`` (the
    population-level prediction for new rows) works. The partition objectives stay on the workers while the
    result lives (its random effects are computed from them): ``result.objective.release()`` frees them.
    The result does not pickle (it refers to the cluster)."""

    def _one_machine(self, what):
        raise NotImplementedError(f"{what} of a fit on a Dask DataFrame is not available: {_ONE_MACHINE}")

    def _predict(self, newdata, re, offset):
        """Population-level predictions for new rows (``predict(newdata, re=False)``); the others need the
        rows or the random effects on one machine."""
        if newdata is None or re or self.objective.design.fixed_model is None:
            self._one_machine("predict (except predict(newdata, re=False) for new rows in a pandas DataFrame)")
        return super()._predict(newdata, False, offset)

    def simulate(self, n=1, seed=None):
        self._one_machine("simulate")

    def _profiles(self):
        self._one_machine("conf_int(method='profile')")

    def predict_interval(self, newdata, alpha=0.05, type="response", parameter_uncertainty=True):
        self._one_machine("predict_interval")

    def marginal_moments(self, newdata=None, n_points=None):
        self._one_machine("marginal_moments")

    def marginal_coefs(self, std_errors=True, n_points=None):
        self._one_machine("marginal_coefs")

    def plot_marginal(self, x, newdata=None, n_conditional=9, ax=None, n_grid=101):
        self._one_machine("plot_marginal")

    def plot_random_effects(self, group=None, kind="mode", ax=None, alpha=0.05):
        self._one_machine("plot_random_effects")

    def __repr__(self):
        return (f"DistributedGLMMResult({self.formula!r}, {self.family!r}, {self.method}, llf={self.llf:.6f}, "
                f"converged={self.converged}, {self.objective.n_partitions} partitions)")


# ---------------------------------------------------------------------------------------------- fit
def _check_arguments(ddf, method, client, assume_grouped, weights, offset):
    import dask.dataframe as dd

    if not isinstance(ddf, dd.DataFrame):
        raise TypeError(f"`data` must be a pandas or Dask DataFrame, got {type(ddf).__name__}")
    v.dask_client(client)
    if isinstance(method, str) and method in ("pql", "qmc"):
        raise NotImplementedError(f"method={method!r} is not available on a Dask DataFrame (use 'laplace', 'agq' or "
                                  f"an integrator object): {_ONE_MACHINE}")
    if not isinstance(method, str):
        try:
            pickle.dumps(method)
        except Exception as error:
            raise TypeError(f"`method`: the integrator object must pickle to be sent to the workers "
                            f"({type(error).__name__}: {error})") from None
    for name, value in (("weights", weights), ("offset", offset)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"`{name}` must be a column name (str) for a Dask DataFrame `data` (an array cannot "
                            f"be matched to its partitions), got {type(value).__name__}")
        if value is not None and value not in ddf.columns:
            raise ValueError(f"`{name}` column {value!r} is not a column of `data`")


def _grouping_split(ddf, frames, runner, group, used, facts):
    """(pairs, levels): the (partition, level) pairs and the levels of `group` among complete rows; equal
    when each level lies in one partition. Free when the partitions' ranges do not overlap."""
    pairs = sum(f[1] for f in facts)
    spans = [f[2] for f in facts if f[1]]
    if spans and None not in spans:
        try:
            ordered = sorted(spans, key=lambda s: s[0])
            if all(a[1] < b[0] for a, b in zip(ordered, ordered[1:])):
                return pairs, pairs
        except TypeError:   # spans of different types do not order: the exact count decides
            pass
    import pandas as pd

    meta = pd.Series([], dtype=ddf[group].dtype, name=group)
    if runner.parallel:   # from the partitions already on the workers: the data are not read again
        import dask
        import dask.dataframe as dd

        labels = dd.from_delayed([dask.delayed(_complete_labels, pure=False)(frame, group, used) for frame in frames],
                                 meta=meta, verify_meta=False)
    else:
        labels = ddf.map_partitions(_complete_labels, group, used, meta=meta)
    return pairs, int(runner.compute([labels.nunique()])[0])


def fit_dask(formula, ddf, *, family, link, method, nagq, weights, offset, start, optimizer, max_iter, verbose,
             progress, client, assume_grouped, integrator_for):
    """:func:`quadlib.glmm.fit` on a Dask DataFrame (module notes); the options are fit's, checked by it.
    `integrator_for(method, nagq, q, nobs)` is fit's choice of the core integrator."""
    _check_arguments(ddf, method, client, assume_grouped, weights, offset)
    group = cluster_group(formula)      # crossed or nested: NotImplementedError before any pass
    missing = [name for name in group.split(":") if name not in ddf.columns]
    if missing:
        raise ValueError(f"`formula`: grouping factor {missing[0]!r} is not a column of `data`")
    runner = _runner(client)
    clock = [time.perf_counter()]
    timings = {}

    def lap(name):
        now = time.perf_counter()
        timings[name] = now - clock[0]
        clock[0] = now
    fam = make_family(family, link)
    used = sorted({t for t in identifiers(formula) if t in ddf.columns} | {c for c in (weights, offset) if c})

    # 1. the agreement pass, on the partitions computed once (kept on the workers for the build)
    frames = runner.partitions(ddf)
    facts = runner.gather(runner.map(_summarize, frames, formula=formula, used=used, group=group, weights=weights,
                                     offset=offset))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = merge_summaries([f[0] for f in facts], formula, ddf._meta, weights=weights, offset=offset)
    for w in caught:   # merge_summaries' warnings (the dropped rows, once), at the user's line
        warnings.warn(w.message, w.category, stacklevel=v.outside_stacklevel())

    lap("agreement")

    # 2. each level in one partition
    shuffled = False
    pairs, levels = _grouping_split(ddf, frames, runner, group, used, facts)
    if pairs != levels:
        if assume_grouped:   # a broken promise would be a wrong likelihood: never silent
            raise ValueError(f"`assume_grouped`: levels of {group!r} span partitions ({pairs} (partition, level) "
                             f"pairs for {levels} levels), so each level's rows are not in one partition; leave "
                             f"assume_grouped=False to repartition with ddf.shuffle(on={group!r}), or write the "
                             f"data grouped (ddf.shuffle(on={group!r}).to_parquet(...))")
        size = sum(f[3] for f in facts)
        warnings.warn(f"levels of {group!r} span partitions ({pairs} (partition, level) pairs for {levels} "
                      f"levels): repartitioning with ddf.shuffle(on={group!r}) moves every row once (about "
                      f"{size} bytes); write the data grouped (e.g. ddf.shuffle(on={group!r}).to_parquet(...)) "
                      "to avoid it, and pass assume_grouped=True to make a split grouping an error instead",
                      UserWarning, stacklevel=v.outside_stacklevel())
        ddf = ddf.shuffle(on=group, npartitions=ddf.npartitions)
        if not runner.parallel:   # one shuffle, not one per partition read (the data are held here anyway)
            ddf = ddf.persist()
        shuffled = True
        runner.release(frames)
        frames = runner.partitions(ddf)

    lap("grouping")

    # 3. designs, aliasing, objectives: built once where the partitions are
    # the spec is small (no rows) and goes with each task: scattered data would not survive a lost worker
    sizes = None if shuffled else [f[0].complete for f in facts]
    targets = runner.balance(frames, sizes)
    designs = runner.map(_design_part, frames, list(range(len(frames))), spec=spec, targets=targets)
    described = runner.gather(runner.map(_describe_part, designs))
    filled = [k for k, d in enumerate(described) if d is not None]
    if not filled:
        raise ValueError("`data` has no rows")
    designs = [designs[k] for k in filled]
    runner.release([frames[k] for k in range(len(frames))])
    del frames
    first = described[filled[0]]
    names = first["fixed_names"]
    pieces = [r for r in runner.gather(runner.map(_alias_part, designs))]
    kept, dropped = aliased_over_partitions(pieces, names)
    if dropped:
        warnings.warn(f"fixed-effect model matrix is rank deficient so dropping {len(dropped)} column(s): "
                      f"{', '.join(dropped)}", UserWarning, stacklevel=v.outside_stacklevel())
    (blocks,) = [first["blocks"]] if len(first["blocks"]) == 1 else [None]
    if blocks is None:
        raise NotImplementedError("random effects with several grouping factors do not decompose into independent "
                                  f"clusters: {_ONE_MACHINE}")
    ((group_name, terms),) = blocks.items()
    q = sum(t[1] for t in terms)
    integrator, method_name = integrator_for(method, nagq, q, max(described[k]["nobs"] for k in filled))
    parts = runner.map(_objective_part, designs, kept=None if not dropped else kept, family=fam.name, link=fam.link,
                       integrator=integrator)
    runner.release(designs)
    del designs
    with_exact_fit = fam.name not in ("binomial", "bernoulli", "poisson", "negative_binomial")
    facts = runner.gather(runner.map(_facts_part, parts, family_name=fam.name, with_exact_fit=with_exact_fit))
    n_rows = sum(f["rows"] for f in facts)
    n_clusters = sum(f["clusters"] for f in facts)

    lap("build")

    # 4. the checks that need every row
    p = len(kept) if dropped else len(names)
    fixed_names = [names[j] for j in kept] if dropped else list(names)
    layout = ThetaLayout([CovarianceBlock(group_name, [c for t in terms for c in t[0]], [t[1] for t in terms],
                                          [t[2] for t in terms], n_clusters, p, 0)])
    objective_names = fixed_names + layout.names + ([f"log({fam.dispersion_name})"] if fam.has_dispersion else [])
    if facts[0]["names"] != objective_names:   # every partition builds the same columns: a check of that
        raise RuntimeError(f"the partitions' objectives have parameters {facts[0]['names']}, the driver expected "
                           f"{objective_names}")
    _check_counts(fam, group_name, terms, n_clusters, n_rows)
    if n_rows < len(objective_names):
        raise ValueError(f"`data`: the number of observations ({n_rows}) is smaller than the number of "
                         f"parameters ({len(objective_names)}: {', '.join(objective_names)}): they cannot all be "
                         "estimated")
    _check_response(fam, facts, p)
    fixed_model = getattr(spec, "fixed_model", None)
    fixed_keep = getattr(spec, "fixed_keep", None)
    if fixed_keep is not None and dropped:
        fixed_keep = [fixed_keep[j] for j in kept]
    design = DistributedDesign(formula, fixed_names, n_rows, dropped, len(parts), fixed_model=fixed_model,
                               fixed_keep=fixed_keep, fixed_offset=getattr(spec, "fixed_offset", None),
                               offset_argument=offset)
    objective = DistributedObjective(runner, parts, names=objective_names, layout=layout, n_beta=p, family=fam,
                                     integrator=integrator, design=design, n_clusters=n_clusters, n_rows=n_rows,
                                     progress=progress)
    objective.timings = timings
    with blas_controller().limit(limits=1, user_api="blas"):
        x0 = objective.start() if start is None else start
        lap("start")
        certified = objective.not_separated() if fam.name in ("binomial", "bernoulli", "poisson",
                                                              "negative_binomial") and p else True
        lap("separation")
        objective._reported = objective.passes     # the start's passes are not an optimizer step
        outcome = optimize(objective, x0, optimizer=optimizer, max_iter=max_iter, verbose=verbose,
                           progress=objective.progress)
        lap("optimize")
        at_bounds = objective.fitted_at_bounds(outcome.x)
        suspect = not certified and at_bounds is not None
        if suspect:
            # no certificate and fitted values at the edge: the signature of separated data, whose estimates
            # are infinite; the linear program that would name the terms needs the rows on one machine
            outcome = replace(outcome, converged=False, message=(
                f"{at_bounds} and separation was not checked on the {n_rows} rows of the Dask DataFrame: the data "
                "may be separated (then some estimates are infinite and their standard errors meaningless); "
                f"{_ONE_MACHINE} to find the separating terms"))
        result = DistributedGLMMResult(objective, outcome, method_name, formula)
        lap("result")
    if suspect:
        warnings.warn(outcome.message, ConvergenceWarning, stacklevel=v.outside_stacklevel())
    elif not certified:
        warnings.warn(f"separation was not checked on the {n_rows} rows of the Dask DataFrame (the certificate "
                      "from the GLM's estimate was not found, and the linear program would need the rows on one "
                      "machine): if the estimates run off, check for separated data", UserWarning,
                      stacklevel=v.outside_stacklevel())
    elif at_bounds:
        warnings.warn(f"{at_bounds}: some fitted values are at the edge of the family's range (extreme covariate "
                      "values or near-separation)", UserWarning, stacklevel=v.outside_stacklevel())
    if result.singular and np.all(np.isfinite(outcome.x)):
        warn_singular(stacklevel=v.outside_stacklevel())
    return result


def _check_counts(fam, group, terms, n_levels, n_rows):
    """build_design's and lme4's counts of levels against random effects and rows, from the totals (with
    one grouping factor the per-partition designs cannot see them): glmer's for a GLMM, lmer's (strict) for
    the gaussian family (:func:`quadlib.glmm.check_random_effects`, checks 1-3)."""
    residual = fam.name == "gaussian"
    if n_levels < 2:
        raise ValueError(f"`data`: grouping factor {group!r} has a single level: its random effects cannot be "
                         "estimated (lme4: grouping factors must have > 1 sampled level)")
    for columns, q, _ in terms:
        if q >= n_levels:
            raise ValueError(f"`formula`: the random term ({' + '.join(columns)} | {group}) has {q} random effects "
                             f"per level but only {n_levels} levels of {group!r}: its covariance cannot be estimated")
    if n_levels >= n_rows if residual else n_levels > n_rows:
        raise ValueError(f"`data`: grouping factor {group!r} has {n_levels} levels for {n_rows} observations (lme4: "
                         f"number of levels of each grouping factor must be {'<' if residual else '<='} number of "
                         f"observations (problems: {group}))")
    for columns, q, _ in terms:
        n_re = q * n_levels
        if n_rows <= n_re if residual else n_rows < n_re:
            relation = "is not larger than" if residual else "is smaller than"
            raise ValueError(f"`data`: the number of observations ({n_rows}) {relation} the number of random effects "
                             f"({n_re}) of the term ({' + '.join(columns)} | {group}): the random-effects parameters "
                             "are probably unidentifiable")


def _check_response(fam, facts, p):
    """:func:`quadlib.glmm._objective.check_response` from the partitions' facts."""
    facts = [f for f in facts if f["rows"]]
    why = None
    if fam.name in ("binomial", "bernoulli"):
        if not any(f["not_zero"] for f in facts):
            why = "has no successes (every row is 0): the likelihood increases without bound as eta -> -inf"
        elif not any(f["not_full"] for f in facts):
            why = "has no failures (every row is a success): the likelihood increases without bound as eta -> inf"
    elif fam.name in ("poisson", "negative_binomial"):
        if not any(f["not_zero"] for f in facts):
            why = "is 0 in every row: the likelihood increases without bound as eta -> -inf"
    elif all(f["finite"] for f in facts):
        R = np.linalg.qr(np.vstack([f["R"] for f in facts]), mode="r")
        residual = abs(R[p, p]) if R.shape[0] > p else 0.0
        norm = math.sqrt(math.fsum(f["target2"] for f in facts))
        if residual <= 1e-12 * max(norm, 1e-300):
            why = ("is fitted exactly by the fixed effects (e.g. a constant response): there is no variance "
                   "left to estimate")
    if why is not None:
        raise ValueError(f"`formula`: the response {why}; the maximum likelihood estimate does not exist")
