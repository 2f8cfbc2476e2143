"""The benchmark's reports: the per-method summary of a run's table and the convergence plot.

This module owns what is made of the table :func:`~quadlib.benchmark.run` returns: :func:`summarize`
(runs, successes, silent failures, median nfev and time per method) and :func:`plot` (error against
evaluations, one panel per kind of problem, with matplotlib when installed).
"""

from .._extras import require_extra

__all__ = ["plot", "summarize"]


def summarize(table):
    """Per method: problems run, successes, silent failures (dishonest), median nfev and total seconds."""
    return table.groupby("method").agg(runs=("problem", "size"), success=("success", "sum"),
                                       silent_failures=("honest", lambda h: int((~h).sum())),
                                       median_nfev=("nfev", "median"), seconds=("seconds", "sum"))


def plot(table, path=None):
    """Convergence curves, one panel per problem kind (matplotlib, optional).

    For each method, the median achieved error against the median nfev over the kind's problems, one
    point per tolerance joined in order of tolerance (errors below 1e-17 are drawn at 1e-17); the
    individual runs are shown faintly behind. More tolerances give longer curves:
    ``run(rtols=np.logspace(-2, -12, 6))``. Returns the matplotlib Figure, saved to `path` if given.

    Raises
    ------
    ImportError
        Without matplotlib: ``pip install 'quadlib[plot]'``.
    """
    require_extra("plot", "quadlib.benchmark.plot")
    from matplotlib.figure import Figure   # no pyplot: the caller's backend is left alone

    kinds = sorted(table["kind"].unique())
    fig = Figure(figsize=(5 * len(kinds), 4.2), layout="tight")
    axes = fig.subplots(1, len(kinds), squeeze=False)[0]
    for ax, kind in zip(axes, kinds):
        part = table[table["kind"] == kind].assign(nfev=lambda t: t["nfev"].clip(lower=1),
                                                   error=lambda t: t["error"].fillna(1.0).clip(lower=1e-17))
        for i, (method, rows) in enumerate(part.groupby("method")):
            color = f"C{i % 10}"
            ax.loglog(rows["nfev"], rows["error"], ".", ms=2, alpha=0.25, color=color)
            curve = rows.groupby("rtol")[["nfev", "error"]].median().sort_index(ascending=False)
            ax.loglog(curve["nfev"], curve["error"], marker="o", ms=4, color=color, label=method,
                      ls="-" if i < 10 else "--")
        ax.set_title(f"{kind} problems")
        ax.set_xlabel("function evaluations (median over problems)")
        ax.set_ylabel("relative error (median)")
        ax.legend(fontsize=7)
    if path is not None:
        fig.savefig(path)
    return fig
