"""Graphics of fitted GLMMs (as statsmodels keeps its graphics apart from its results): the caterpillar plot
of the random effects, the conditional versus population-averaged response curves and the profile-likelihood
traces of the variance components. Functions of a result;
the result classes' ``plot_*`` methods call them. matplotlib is an optional dependency, imported on use.
"""
import numpy as np

from ._design import evaluate_new_data
from ._marginal import normal_rule

__all__ = ["plot_random_effects", "plot_marginal", "plot_profile"]


def plot_random_effects(result, group=None, kind="mode", ax=None, alpha=0.05):
    """Caterpillar plot: each level's random effect (mode, or posterior mean with ``kind="mean"`` where the
    result computes one) with its interval (± z conditional SDs, the ``sd(<name>)`` columns), sorted.

    Parameters
    ----------
    result : MixedResult
        A fitted model with random effects.
    group : str, optional
        The grouping factor (default: the first).
    kind : {"mode", "mean"}
    ax : matplotlib Axes or array of them, optional
        One per random effect of the group.
    alpha : float
        1 - the coverage of the intervals.

    Returns
    -------
    array of matplotlib Axes

    Needs matplotlib (an optional dependency).
    """
    from scipy.stats import norm

    if kind not in ("mode", "mean"):
        raise ValueError(f"`kind` must be 'mode' or 'mean', got {kind!r}")
    effects = result.random_effects
    if callable(effects):
        effects = effects(kind=kind)
    elif kind != "mode":
        raise ValueError(f"`kind`: a {type(result).__name__} gives the conditional modes only ('mode')")
    if not effects:
        raise ValueError(f"a {type(result).__name__} has no random effects to plot")
    group = next(iter(effects)) if group is None else group
    if group not in effects:
        raise ValueError(f"`group` must be one of {list(effects)}, got {group!r}")
    frame = effects[group]
    names = [c for c in frame.columns if f"sd({c})" in frame.columns]
    if not names:
        raise ValueError(f"the random effects of {group!r} have no conditional standard deviations to plot")
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(1, len(names), figsize=(4 * len(names), 0.18 * len(frame) + 1.5), squeeze=False)
        axes = ax[0]
    else:
        axes = np.atleast_1d(ax)
    z = norm.isf(alpha / 2)
    for axis, name in zip(axes, names):
        order = np.argsort(frame[name].to_numpy())
        values, sd = frame[name].to_numpy()[order], frame[f"sd({name})"].to_numpy()[order]
        y = np.arange(len(values))
        axis.errorbar(values, y, xerr=z * sd, fmt="o", ms=3, lw=1)
        axis.axvline(0, color="grey", lw=0.8)
        axis.set_yticks(y)
        axis.set_yticklabels(frame.index.to_numpy()[order], fontsize=7)
        axis.set_title(f"{group}: {name} ({kind})")
    return axes


def plot_marginal(result, x, newdata=None, n_conditional=9, ax=None, n_grid=101):
    """The seed's 6.16 graph: conditional response curves h(x'β + z'b) along covariate `x` for
    `n_conditional` random-intercept values (quantiles of N(0, D)), the curve at b = 0, and the
    population-averaged curve E over b, which is flatter. `x` runs over the range of ``newdata[x]``;
    the other covariates are held at the first row of `newdata`, which is required (the result does
    not keep the data frame). Needs matplotlib."""
    import pandas as pd
    from scipy.stats import norm

    plt = _pyplot()
    obj = result.objective
    d = obj.design
    data_row = newdata.iloc[[0]] if newdata is not None else None
    if data_row is None:
        raise ValueError("`newdata` must give the other covariates (a DataFrame; its first row is used)")
    if x not in data_row:
        raise ValueError(f"`x` must be a column of `newdata`, got {x!r}")
    low, high = (float(newdata[x].min()), float(newdata[x].max()))
    if low == high:
        low, high = low - 1.0, high + 1.0
    grid = pd.concat([data_row] * n_grid, ignore_index=True)
    grid[x] = np.linspace(low, high, n_grid)
    beta, factors, _ = obj.split(result.x)
    X, offset = evaluate_new_data(d.fixed_model, d.fixed_keep, d.fixed_offset, grid, "the fixed effects")
    block = obj.blocks[0]
    Z = np.hstack([evaluate_new_data(t.model, t.keep, [], grid, "the random terms")[0] for t in block.terms])
    L = factors[0]
    eta0 = offset + X @ beta
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    h = result.family.inverse_link
    sd = np.sqrt(np.einsum("nq,qr,nr->n", Z, L @ L.T, Z))
    for k in range(1, n_conditional + 1):
        ax.plot(grid[x], h(eta0 + sd * norm.ppf(k / (n_conditional + 1))), color="0.7", lw=0.8)
    ax.plot(grid[x], h(eta0), color="C0", lw=2, label="conditional, b = 0")
    z, w = normal_rule(L.shape[0], None)
    ax.plot(grid[x], h(eta0[:, None] + Z @ (L @ z.T)) @ w, color="C3", lw=2, label="marginal (population-averaged)")
    ax.set_xlabel(x)
    ax.set_ylabel("mean response")
    ax.legend()
    return ax


def plot_profile(result, parm="all", ax=None, alpha=0.05, n_points=20):
    """The profile traces of the variance components (lme4's ``xyplot(profile(m))``): one panel per
    parameter, zeta (the signed root of the likelihood-ratio statistic) against the parameter's value on the
    standard-deviation scale, with horizontal lines at ``-/+ z_{1 - alpha/2}`` (where they cross the trace are
    the ends of the profile interval) and a vertical line at the estimate. The traces come from
    :func:`quadlib.glmm._varcomp.profile_trace` (a REML fit is profiled by maximum likelihood, as lme4).

    Parameters
    ----------
    result : GLMMResult or LMMResult
    parm : str or list of str
        ``"all"`` (every variance component: the names of :func:`quadlib.glmm._varcomp.sd_scale`), one of
        those names, or a list of them.
    ax : matplotlib Axes or array of them, optional
        One per parameter; default a new figure with one row of panels.
    alpha : float
        1 - the confidence level of the reference lines and of the interval the trace spans.
    n_points : int
        Profile points per panel (3 to 200; each is one refit).

    Returns
    -------
    matplotlib.figure.Figure

    Needs matplotlib (an optional dependency).
    """
    from scipy.stats import norm

    from ._varcomp import profile_trace, sd_scale

    names = sd_scale(result)[0]
    if isinstance(parm, str):
        parms = names if parm == "all" else [parm]
    elif isinstance(parm, (list, tuple)) and all(isinstance(p, str) for p in parm):
        parms = list(parm)
    else:
        raise TypeError(f"`parm` must be 'all', a parameter name or a list of them, got {parm!r}")
    unknown = [p for p in parms if p not in names]
    if unknown or not parms:
        raise ValueError(f"`parm` must name parameters among {names}, got {unknown or parm!r}")
    plt = _pyplot()
    if ax is None:
        figure, axes = plt.subplots(1, len(parms), figsize=(3.2 * len(parms), 3.2), squeeze=False)
        axes = axes[0]
    else:
        axes = np.atleast_1d(ax).ravel()
        if axes.size != len(parms):
            raise ValueError(f"`ax` must hold one Axes per parameter ({len(parms)}), got {axes.size}")
        figure = axes[0].figure
    z = norm.isf(alpha / 2)
    for axis, name in zip(axes, parms):
        trace = profile_trace(result, name, n_points=n_points, alpha=alpha)
        axis.plot(trace["value"], trace["zeta"], "-o", ms=2.5, lw=1)
        for level in (-z, z):
            axis.axhline(level, color="grey", lw=0.8, ls="--")
        axis.axvline(trace.attrs["estimate"], color="grey", lw=0.8)
        axis.set_xlabel(name)
        axis.set_ylabel("zeta")
    return figure


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # an optional dependency
        raise ImportError("plotting needs matplotlib: pip install 'quadlib[plot]'") from None
    return plt
