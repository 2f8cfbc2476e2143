"""Population-averaged (marginal) interpretation of a fitted GLMM (seed 6.5, 6.15, 6.16).

A GLMM's coefficients are conditional on the random effects: they describe a member of a group with
b = 0, not the population. The population-averaged mean of a row is ``E(Y) = ∫ h(x'β + z'b) N(b; 0, D) db``
(h the inverse link); for a non-identity link it is flatter than the conditional curve. The integrals over
b here use the core's Gauss–Hermite rule for N(0, I) (a product rule in q dimensions), mapped by b = L u.

References: S. L. Zeger, K.-Y. Liang and P. S. Albert, "Models for longitudinal data: a generalized
estimating equation approach", Biometrics 44 (1988) (the logit attenuation c = 16√3/(15π));
D. Rizopoulos, GLMMadaptive::marginal_coefs (R package) for the marginal coefficients.
"""
from dataclasses import dataclass

import numpy as np

__all__ = ["MarginalMoments", "marginal_moments", "marginal_coefs", "normal_rule", "LOGIT_C"]

LOGIT_C = 16 * np.sqrt(3) / (15 * np.pi)


def normal_rule(q, n_points):
    """Nodes (K, q) and weights (K,) of the n^q-point Gauss–Hermite product rule for N(0, I_q)."""
    from .._gauss import gauss_hermite

    if n_points is None:
        n_points = {1: 40, 2: 16, 3: 8}.get(q, 5)
    if n_points ** q > 1_000_000:
        raise ValueError(f"`n_points`={n_points} in {q} dimensions needs {n_points ** q} points per row")
    rule = gauss_hermite(int(n_points), kind="normal")
    grids = np.meshgrid(*[rule.nodes] * q, indexing="ij")
    z = np.stack([g.ravel() for g in grids], axis=1)
    w = np.prod(np.stack(np.meshgrid(*[rule.weights] * q, indexing="ij"), -1).reshape(-1, q), axis=1)
    return z, w


def _check_model(result, what):
    """Marginal quantities integrate h(eta) over b: not defined here for a zero-inflated (or hurdle) response,
    an ordinal one, or (moments) a dispersion model or a family with shape parameters."""
    response = getattr(result.objective, "response", None)
    if response is None or response.plain:
        return
    if result.family.name == "ordinal":
        raise ValueError(f"`result`: {what} is not defined for an ordinal model (its mean is no inverse link of "
                         "eta; use predict(type='response') for the category probabilities)")
    if response.X_zi is not None:
        raise ValueError(f"`result`: {what} is not available for a zero-inflated or hurdle model (the mean "
                         "(1 - pi) E[y | b] is no inverse link of the linear predictor)")
    if what == "marginal_moments":
        raise ValueError("`result`: marginal_moments is not available with a dispersion model or shape parameters")


def _single_factor(result):
    if len(result.objective.blocks) != 1:
        raise ValueError("marginal quantities are computed for models with one grouping factor (rows of crossed "
                         "factors are correlated across groups)")
    return result.objective.blocks[0]


def _rows(result, newdata):
    """eta0 (N,), Z (N, q), group labels (N,), trials (N,) for the fitted data or `newdata`."""
    from ._design import evaluate_new_data, group_labels

    obj = result.objective
    block = _single_factor(result)
    d = obj.design
    beta = obj.split(result.x)[0]
    if newdata is None:
        labels = np.asarray(block.levels, dtype=object)[block.index]
        return d.offset + d.X @ beta, block.Z, labels, obj.n, d.X
    X, offset = evaluate_new_data(d.fixed_model, d.fixed_keep, d.fixed_offset, newdata, "the fixed effects")
    Z = np.hstack([evaluate_new_data(t.model, t.keep, [], newdata, "the random terms")[0] for t in block.terms])
    labels = group_labels(newdata, block.group) if all(c in newdata for c in block.group.split(":")) \
        else np.arange(len(newdata)).astype(str)
    return offset + X @ beta, Z, labels, np.ones(len(newdata)), X


@dataclass(frozen=True, eq=False)
class MarginalMoments:
    """Marginal moments of the response, row by row: ``mean`` E(Y), ``var`` Var(Y) (Series), and ``cov``:
    for each group, the covariance matrix Cov(Y_ij, Y_ik) of its rows (DataFrames indexed by row)."""

    mean: object
    var: object
    cov: dict


def marginal_moments(result, newdata=None, n_points=None):
    """E(Y_ij), Var(Y_ij) and Cov(Y_ij, Y_ik) integrated over the random effects (one grouping factor).

    Var(Y) = E[Var(Y | b)] + Var(E[Y | b]); rows of the same group share b, so
    Cov(Y_ij, Y_ik) = E[μ_ij μ_ik] − E[μ_ij] E[μ_ik]. Binomial rows count successes out of their trials.
    """
    import pandas as pd

    _check_model(result, "marginal_moments")
    obj = result.objective
    fam = obj.family
    eta0, Z, labels, trials, _ = _rows(result, newdata)
    L = obj.split(result.x)[1][0]
    z, w = normal_rule(Z.shape[1], n_points)
    eta = eta0[:, None] + Z @ (L @ z.T)                                      # (N, K): b_k = L z_k
    mu = fam.inverse_link(eta)
    scale = trials if fam.name == "binomial" else np.ones_like(eta0)
    mean_mu = mu @ w
    per_unit = fam.variance(mu, result.dispersion) if fam.has_dispersion else fam.variance(mu)
    if fam.name == "binomial":          # successes out of `trials`
        conditional_var = trials[:, None] * per_unit
    elif fam.name in ("gaussian", "Gamma"):   # precision weights
        conditional_var = per_unit / trials[:, None]
    else:
        conditional_var = per_unit
    mean = scale * mean_mu
    var = conditional_var @ w + scale ** 2 * ((mu ** 2) @ w - mean_mu ** 2)
    index = result._row_index(newdata)
    cov = {}
    for level in pd.unique(labels):
        rows = np.flatnonzero(labels == level)
        m = mu[rows] * scale[rows, None]
        c = (m * w) @ m.T - np.outer(mean[rows], mean[rows])
        c[np.diag_indices_from(c)] = var[rows]
        cov[level] = pd.DataFrame(c, index=index[rows], columns=index[rows])
    return MarginalMoments(pd.Series(mean, index=index, name="mean"), pd.Series(var, index=index, name="var"), cov)


def marginal_coefs(result, std_errors=True, n_points=None, step=1e-5):
    """Population-averaged coefficients (as GLMMadaptive::marginal_coefs): the marginal means
    μ_M(x_j) = ∫ h(x_j'β + z_j'b) dN(b) of the fitted rows, then β_M = least squares of g(μ_M) on X.
    Standard errors by the delta method (central differences of β_M in all the model's parameters,
    with the fit's covariance matrix). Beside them, the closed forms: probit β/√(1 + z'Dz) (exact for a
    random intercept), logit β/√(1 + c² z'Dz) with c = 16√3/(15π) (Zeger, Liang & Albert 1988), averaged
    over the rows when z varies (the multi-random-effect variant)."""
    import pandas as pd

    _check_model(result, "marginal_coefs")
    obj = result.objective
    fam = obj.family
    _single_factor(result)
    eta_rows = _rows(result, None)
    beta = result.params.iloc[:obj.n_beta]   # the fixed effects (then any dispersion model's coefficients)
    X = eta_rows[4]
    offset = obj.design.offset

    def coefs(x):
        beta, (L,), _ = obj.split(x)
        eta0 = offset + X @ beta
        z, w = normal_rule(L.shape[0], n_points)
        mu = fam.inverse_link(eta0[:, None] + eta_rows[1] @ (L @ z.T)) @ w
        return np.linalg.lstsq(X, fam.link_function(mu) - offset, rcond=None)[0]

    marginal = coefs(result.x)
    table = pd.DataFrame({"conditional": beta, "marginal": marginal}, index=beta.index)
    if std_errors:
        k = result.x.size
        J = np.empty((marginal.size, k))
        for j in range(k):
            h = step * max(1.0, abs(result.x[j]))
            e = np.zeros(k)
            e[j] = h
            lo = result.x - e
            if obj.bounds[j][0] is not None and lo[j] < obj.bounds[j][0]:
                lo = result.x
            J[:, j] = (coefs(result.x + e) - coefs(lo)) / (result.x[j] + h - lo[j])
        cov = np.nan_to_num(result.covariance if getattr(result, "x_covariance", None) is None
                            else result.x_covariance)   # over result.x, the parameters J differentiates in
        table["se"] = np.sqrt(np.diag(J @ cov @ J.T))
    L = obj.split(result.x)[1][0]
    zDz = np.einsum("nq,qr,nr->n", eta_rows[1], L @ L.T, eta_rows[1])
    if fam.link == "probit":
        table["closed form"] = beta * np.mean(1 / np.sqrt(1 + zDz))
        table.attrs["closed form"] = "probit: beta / sqrt(1 + z'Dz) (exact for a random intercept)"
    elif fam.link == "logit":
        table["closed form"] = beta * np.mean(1 / np.sqrt(1 + LOGIT_C ** 2 * zDz))
        table.attrs["closed form"] = "logit: beta / sqrt(1 + c^2 z'Dz), c = 16 sqrt(3) / (15 pi)"
    elif fam.link == "log":   # E(Y) = exp(eta + z'Dz / 2) exactly: the coefficients shift by LS of z'Dz / 2 on X
        table["closed form"] = beta + np.linalg.lstsq(X, zDz / 2, rcond=None)[0]
        table.attrs["closed form"] = "log link: beta + least squares of z'Dz/2 on X (exact when z'Dz is in X's span)"
    elif fam.link == "identity":
        table["closed form"] = beta
        table.attrs["closed form"] = "identity link: marginal = conditional"
    return table
