"""Small-sample inference for the fixed effects of a linear mixed model: t and F tests with Satterthwaite's or
Kenward and Roger's denominator degrees of freedom, as lmerTest (``summary(m, ddf=)``, ``contest``,
``anova(m, ddf=)``) and pbkrtest (``vcovAdj``, ``KRmodcomp``) compute them.

Satterthwaite (Kuznetsova, Brockhoff and Christensen 2017, section 3): the variance parameters are
``phi = (theta, sigma)`` (lme4's relative theta and the residual SD) and ``A = 2 H^-1`` is their asymptotic
covariance, ``H`` the Hessian of the deviance ``dev(phi)`` (lmerTest's ``devfun_vp``; REML or ML, as the fit)
at the estimates. A contrast ``l`` has variance ``l' C(phi) l`` with ``C = sigma^2 (R_X' R_X)^-1`` and

    nu = 2 (l' C l)^2 / (g' A g),    g_i = l' (dC/dphi_i) l.

A q-row hypothesis ``L beta = r`` is split into the eigenvectors of ``L C L'``: its F statistic is the mean of
the q squared t statistics and its denominator df ``2 E / (E - q)``, ``E = sum nu_m / (nu_m - 2)`` (2 if a
``nu_m <= 2``; their common value when all are equal).

Kenward-Roger (Kenward and Roger 1997; Halekoh and Hojsgaard 2014, section 3) works in the *linear*
parameterization of the marginal covariance ``V = sum_r gamma_r G_r``: one ``G_r = Z_k (I (x) E_ab) Z_k'`` per
variance or covariance entry ``(a, b)`` of each random term's covariance, and ``W^-1`` (the prior weights) for
the residual variance. Its adjusted covariance ``Phi_A`` of beta and its scaled F with ``m`` denominator df
follow pbkrtest's ``vcovAdj`` and ``.KR_adjust``; it is not invariant to the parameterization, so it is never
computed in theta. It needs ``V^-1`` as a dense n x n matrix: refused above n = 5000 observations.

Tests of a formula term (:func:`term_contrasts`) test its coefficients jointly, as parametrized (treatment
contrasts): lmerTest's type III ``anova`` for models of main effects only.

References
----------
A. Kuznetsova, P. B. Brockhoff and R. H. B. Christensen, "lmerTest package: tests in linear mixed effects
models", Journal of Statistical Software 82(13), 2017.
M. G. Kenward and J. H. Roger, "Small sample inference for fixed effects from restricted maximum likelihood",
Biometrics 53(3), 1997, 983-997.
U. Halekoh and S. Hojsgaard, "A Kenward-Roger approximation and parametric bootstrap methods for tests in
linear mixed models - the R package pbkrtest", Journal of Statistical Software 59(9), 2014.
"""
import math
import warnings

import numpy as np

from .. import _validation as v
from ._optimize import ConvergenceWarning, blas_controller

__all__ = ["variance_parameter_covariance", "satterthwaite_df", "kenward_roger", "term_contrasts", "t_test",
           "f_test", "check_ddf", "KR_MAX_NOBS"]

#: The largest number of observations for Kenward-Roger: it holds ``V^-1`` as a dense n x n matrix (200 MB
#: at 5000).
KR_MAX_NOBS = 5000
_MAX_ROWS = 10_000            # rows of a hypothesis matrix L
_RELATIVE_STEP = 1e-4         # finite-difference step in theta, relative to max(1, |theta_i|)
_EIGEN_TOL = 1e-8             # lmerTest's tolerance on the eigenvalues of the deviance's Hessian
_RANK_TOL = math.sqrt(np.finfo(float).eps)   # lmerTest's contestMD: eigenvalues of L C L' kept above this x the largest
_EQUAL_DF = 1e-8              # lmerTest's get_Fstat_ddf: df equal to this give their mean
_T_COLUMNS = ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]
_F_COLUMNS = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]


# ---------------------------------------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------------------------------------
def _result_iv(result):
    # what is used of a fit (no import of the result classes: they import this module)
    objective = getattr(result, "objective", None)
    if not (hasattr(objective, "solve") and hasattr(objective, "layout") and hasattr(result, "theta")
            and hasattr(result, "sigma") and hasattr(result, "params")):
        raise TypeError("`result` must be a fitted linear mixed model (an LMMResult from quadlib.glmm.lmm), got "
                        f"{type(result).__name__}")
    return result


def check_ddf(ddf):
    """The normalized name of a denominator-df method: "satterthwaite" or "kenward-roger".

    Case-insensitive; lmerTest's spellings ("Satterthwaite", "Kenward-Roger") and "kr" are accepted.

    Raises
    ------
    TypeError
        If `ddf` is not a string.
    ValueError
        If it names no method.

    Examples
    --------
    >>> check_ddf("Kenward-Roger"), check_ddf("KR"), check_ddf("satterthwaite")
    ('kenward-roger', 'kenward-roger', 'satterthwaite')
    """
    if not isinstance(ddf, str):
        raise TypeError(f"`ddf` must be a string ('satterthwaite' or 'kenward-roger'), got {ddf!r}")
    key = ddf.strip().lower().replace("_", "-").replace(" ", "-")
    if key == "satterthwaite":
        return "satterthwaite"
    if key in ("kenward-roger", "kr", "kenwardroger"):
        return "kenward-roger"
    raise ValueError(f"`ddf` must be 'satterthwaite' or 'kenward-roger' ('kr'), got {ddf!r}")


def _contrast_iv(L, result, name="L"):
    """`L` as a float (q, p) array: a 1-D vector is one row."""
    p = len(result.params)
    if isinstance(L, str):
        raise TypeError(f"`{name}` must be an array of shape (q, {p}) or a formula term, got the string {L!r}")
    try:
        shape = np.shape(L)
    except ValueError:   # a ragged nested list
        raise ValueError(f"`{name}` must be a vector of {p} or a matrix with {p} columns (not a ragged list)") from None
    if len(shape) not in (1, 2):
        raise ValueError(f"`{name}` must be a vector of {p} or a matrix with {p} columns, got shape {shape}")
    if len(shape) == 2 and shape[0] > _MAX_ROWS:
        raise ValueError(f"`{name}` has {shape[0]} rows; at most {_MAX_ROWS}")
    L = v.real_array(L, name)
    if L.ndim == 1:
        L = L[None, :]
    if L.shape[1] != p:
        raise ValueError(f"`{name}` must have {p} columns, one per fixed effect ({', '.join(result.params.index)}), "
                         f"got shape {L.shape}")
    if L.shape[0] == 0:
        raise ValueError(f"`{name}` has no rows: there is nothing to test")
    if not np.all(np.isfinite(L)):
        raise ValueError(f"`{name}` must be finite")
    if not np.any(L):
        raise ValueError(f"`{name}` is zero: there is nothing to test")
    return L


def _rhs_iv(rhs, q):
    rhs = v.real_array(rhs, "rhs")
    if rhs.ndim > 1 or (rhs.ndim == 1 and rhs.size != q):
        raise ValueError(f"`rhs` must be a number or a vector of {q} (one per row of the hypothesis), got shape "
                         f"{rhs.shape}")
    if not np.all(np.isfinite(rhs)):
        raise ValueError("`rhs` must be finite")
    return np.broadcast_to(rhs, (q,)).astype(float)


# ---------------------------------------------------------------------------------------------------------
# the variance parameters: derivatives of the deviance and of C = Cov(beta)
# ---------------------------------------------------------------------------------------------------------
def _stencils(theta, lower):
    """Per theta_i: the step h_i and the weights of its first and second differences, {multiple of h: weight}.
    Central differences; where theta_i - h_i would cross its lower bound (a variance at 0), second-order
    forward differences, which stay inside the parameter space (lmerTest's central differences step outside
    it there)."""
    out = []
    for i, x in enumerate(theta):
        h = _RELATIVE_STEP * max(1.0, abs(x))
        if x - h >= lower[i]:
            first = {1: 0.5 / h, -1: -0.5 / h}
            second = {1: 1.0 / h ** 2, 0: -2.0 / h ** 2, -1: 1.0 / h ** 2}
        else:
            first = {0: -1.5 / h, 1: 2.0 / h, 2: -0.5 / h}
            second = {0: 2.0 / h ** 2, 1: -5.0 / h ** 2, 2: 4.0 / h ** 2, 3: -1.0 / h ** 2}
        out.append((h, first, second))
    return out


class _VarianceParameters:
    """The derivatives of lmerTest's deviance ``dev(theta, sigma)`` and of ``C(theta, sigma) = sigma^2 K^-1``
    at the estimates of an LMM fit.

    ``dev = log|A| [+ log|K|] + r2 / sigma^2 + n' log(2 pi sigma^2)`` (n' = n - p for REML, else n; the
    weights' constant dropped): only ``log|A|``, ``log|K|``, ``r2`` and ``K`` depend on theta and come from
    :meth:`LMMObjective.solve` on the stencil of finite differences; the sigma derivatives are analytic.
    """

    def __init__(self, result):
        objective = result.objective
        theta, sigma = np.asarray(result.theta, dtype=float), float(result.sigma)
        self.reml = bool(objective.reml)
        k, p = theta.size, objective.p
        n_res = objective.nobs - p if self.reml else objective.nobs
        stencils = _stencils(theta, objective.lower)
        cache = {}

        def at(moves):
            """(log|A| [+ log|K|], r2, K^-1) at theta moved by {i: multiple of h_i} (memoized)."""
            key = tuple(sorted((i, m) for i, m in moves.items() if m != 0))
            if key not in cache:
                z = theta.copy()
                for i, m in key:
                    z[i] += m * stencils[i][0]
                try:
                    sol = objective.solve(z)
                    K_inv = np.linalg.inv(sol.K) if p else np.zeros((0, 0))
                    log_det = sol.log_det_A + (sol.log_det_K if self.reml else 0.0)
                    cache[key] = (log_det, sol.r2, K_inv)
                except (np.linalg.LinAlgError, ValueError, FloatingPointError):
                    cache[key] = (np.nan, np.nan, np.full((p, p), np.nan))
            return cache[key]

        log_det0, r2_0, K_inv0 = at({})
        d_r2 = np.empty(k)
        d_K_inv = np.empty((k, p, p))
        H = np.empty((k + 1, k + 1))
        for i, (_, first, second) in enumerate(stencils):
            d_r2[i] = sum(w * at({i: m})[1] for m, w in first.items())
            d_K_inv[i] = sum(w * at({i: m})[2] for m, w in first.items())
            H[i, i] = sum(w * (at({i: m})[0] + at({i: m})[1] / sigma ** 2) for m, w in second.items())
            for j in range(i):
                H[i, j] = H[j, i] = sum(wi * wj * (at({i: mi, j: mj})[0] + at({i: mi, j: mj})[1] / sigma ** 2)
                                        for mi, wi in first.items() for mj, wj in stencils[j][1].items())
        H[:k, k] = H[k, :k] = -2.0 * d_r2 / sigma ** 3
        H[k, k] = 6.0 * r2_0 / sigma ** 4 - 2.0 * n_res / sigma ** 2
        self.names = list(objective.layout.names) + ["sigma"]
        self.values = np.append(theta, sigma)
        self.hessian = H
        self.C = sigma ** 2 * K_inv0
        # dC/dtheta_i and dC/dsigma = 2 C / sigma
        self.jacobian = np.concatenate([sigma ** 2 * d_K_inv, (2.0 * sigma * K_inv0)[None]], axis=0)
        self.A = self._covariance(H)

    @staticmethod
    def _covariance(H):
        """``2 H^+`` over the eigenvalues above lmerTest's tolerance, with its warnings."""
        if not np.all(np.isfinite(H)):
            warnings.warn("the deviance could not be evaluated on the finite-difference stencil around (theta, "
                          "sigma) (a covariance factor not positive definite): the degrees of freedom are NaN",
                          ConvergenceWarning, stacklevel=v.outside_stacklevel())
            return np.full(H.shape, np.nan)
        values, vectors = np.linalg.eigh(0.5 * (H + H.T))
        negative, zero = values < -_EIGEN_TOL, np.abs(values) <= _EIGEN_TOL
        if negative.any():
            warnings.warn(f"the Hessian of the deviance in (theta, sigma) has {negative.sum()} negative "
                          f"eigenvalue(s) ({', '.join(f'{x:.1e}' for x in values[negative])}): the fit is not at a "
                          "minimum; the degrees of freedom ignore those directions (as lmerTest)", ConvergenceWarning,
                          stacklevel=v.outside_stacklevel())
        if zero.any():
            warnings.warn(f"the Hessian of the deviance in (theta, sigma) has {zero.sum()} eigenvalue(s) close to "
                          f"zero ({', '.join(f'{x:.1e}' for x in values[zero])}): the model may not have converged; "
                          "the degrees of freedom ignore those directions (as lmerTest)", ConvergenceWarning,
                          stacklevel=v.outside_stacklevel())
        keep = values > _EIGEN_TOL
        return 2.0 * (vectors[:, keep] / values[keep]) @ vectors[:, keep].T

    def contrast_df(self, l):
        """Satterthwaite's df of the contrast `l` (a vector over beta) and its variance l' C l."""
        var = float(l @ self.C @ l)
        g = np.einsum("a,iab,b->i", l, self.jacobian, l)
        with np.errstate(divide="ignore", invalid="ignore"):   # g'Ag = 0: no dependence on phi, df = inf
            return float(np.divide(2.0 * var ** 2, g @ self.A @ g)), var


def _variance_pieces(result):
    """:class:`_VarianceParameters` of a checked fit, on one BLAS thread as the fits (small dense algebra)."""
    with blas_controller().limit(limits=1, user_api="blas"):
        return _VarianceParameters(result)


def variance_parameter_covariance(result):
    """The asymptotic covariance of lmerTest's variance parameters ``(theta, sigma)`` of an LMM fit.

    ``2 H^-1``, with ``H`` the Hessian of the deviance in ``(theta, sigma)`` (lmerTest's ``devfun_vp``: the
    REML deviance for a REML fit, the ML deviance for an ML fit) at the estimates. Its theta-part comes from
    finite differences (steps ``1e-4 max(1, |theta_i|)``; second-order forward differences for a theta on its
    lower bound 0, where lmerTest differentiates through the bound), its sigma-part in closed form. As
    lmerTest, the inverse is taken over the eigenvalues above 1e-8 (a pseudo-inverse), with a warning for
    negative or near-zero ones. This is ``vcov_varpar``, the ``A`` of Satterthwaite's df, and the input of the
    delta method for the standard errors of the random-effect SDs.

    Parameters
    ----------
    result : LMMResult
        From :func:`~quadlib.glmm.lmm`, REML or ML.

    Returns
    -------
    names : list of str
        The theta names (lme4's order) and ``"sigma"``.
    values : ndarray
        ``(theta..., sigma)`` at the estimates.
    cov : ndarray
        The ``(k + 1, k + 1)`` covariance.

    Warns
    -----
    ConvergenceWarning
        If the Hessian has a negative or near-zero eigenvalue, or the deviance cannot be evaluated around the
        estimates (then `cov` is NaN).

    Notes
    -----
    Costs ``2 k^2 + 1`` solves of the penalized least-squares problem (k = len(theta)); 4 more per theta on its
    bound.

    Examples
    --------
    >>> from quadlib.glmm import datasets, lmm
    >>> fit = lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> names, values, cov = variance_parameter_covariance(fit)
    >>> names[-1], round(float(values[-1]), 4), round(float(cov[-1, -1]), 3)     # lmerTest: 2.274
    ('sigma', 25.5918, 2.274)
    """
    pieces = _variance_pieces(_result_iv(result))
    return pieces.names, pieces.values, pieces.A


# ---------------------------------------------------------------------------------------------------------
# Satterthwaite
# ---------------------------------------------------------------------------------------------------------
def _fstat_ddf(nu):
    """lmerTest's ``get_Fstat_ddf``: the denominator df of an F statistic from the df of its q independent
    t statistics."""
    nu = np.asarray(nu, dtype=float)
    if nu.size == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < _EQUAL_DF):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2.0)))
    return 2.0 * E / (E - nu.size)


def _satterthwaite(pieces, beta, L, rhs):
    """(F, numdf, dendf) of ``L beta = rhs`` from the pieces of :class:`_VarianceParameters`."""
    VL = L @ pieces.C @ L.T
    d, P = np.linalg.eigh(0.5 * (VL + VL.T))
    order = np.argsort(d)[::-1]
    d, P = d[order], P[:, order]
    if not d[0] > 0:
        raise ValueError("`L`: L C L' is not positive (the hypothesis has no variance)")
    keep = d > _RANK_TOL * d[0]
    d, P = d[keep], P[:, keep]
    PtL = P.T @ L
    estimates = P.T @ (L @ beta - rhs)
    q = int(keep.sum())
    F = float(np.sum(estimates ** 2 / d)) / q
    nu = [pieces.contrast_df(row)[0] for row in PtL]
    return F, q, _fstat_ddf(nu)


def satterthwaite_df(result, L, rhs=0.0):
    """The F statistic of ``L beta = rhs`` with Satterthwaite's denominator degrees of freedom (lmerTest's
    ``contest(m, L, ddf = "Satterthwaite")``).

    Parameters
    ----------
    result : LMMResult
        REML or ML fit.
    L : array_like
        ``(q, p)``, one row per linear combination of the fixed effects (a 1-D vector is one row).
    rhs : float or array_like, default 0
        The hypothesized values, one per row.

    Returns
    -------
    F : float
        ``(L beta - rhs)' (L C L')^+ (L beta - rhs) / q``, C the fit's covariance of beta; directions in which
        ``L C L'`` is singular (eigenvalues below ``sqrt(eps)`` times the largest) are dropped, as lmerTest does.
    numdf : int
        The rank q of ``L C L'``.
    dendf : float
        The denominator df (module notes); for one row, ``2 (l' C l)^2 / (g' A g)``.

    Raises
    ------
    ValueError
        `L` with the wrong number of columns, no rows, non-finite or all-zero entries; `rhs` of the wrong length.

    Examples
    --------
    >>> from quadlib.glmm import datasets, lmm
    >>> fit = lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> F, numdf, dendf = satterthwaite_df(fit, [0, 1])
    >>> round(F, 4), numdf, round(dendf, 3)                  # lmerTest: t = 6.7715, df = 17.000
    (45.853, 1, 17.0)
    """
    result = _result_iv(result)
    L = _contrast_iv(L, result)
    rhs = _rhs_iv(rhs, L.shape[0])
    return _satterthwaite(_variance_pieces(result), result.params.to_numpy(), L, rhs)


# ---------------------------------------------------------------------------------------------------------
# Kenward-Roger
# ---------------------------------------------------------------------------------------------------------
def _inverse_in_place(V):
    """The inverse of the symmetric positive definite n x n `V`, overwriting it (LAPACK potrf and potri, then
    the lower triangle mirrored in blocks): no second n x n array, and a third of the work of solving for the
    identity."""
    from scipy.linalg import lapack

    n = V.shape[0]
    V = V.T if V.flags.c_contiguous else np.asfortranarray(V)   # symmetric: its transpose is a Fortran view
    factor, info = lapack.dpotrf(V, lower=1, clean=0, overwrite_a=1)
    if info == 0:
        inverse, info = lapack.dpotri(factor, lower=1, overwrite_c=1)
    if info != 0:
        raise ValueError("Kenward-Roger: the fitted marginal covariance V is not positive definite")
    width = 256
    for start in range(0, n, width):
        stop = min(start + width, n)
        block = inverse[start:stop, start:stop]
        inverse[start:stop, start:stop] = np.tril(block) + np.tril(block, -1).T
        inverse[start:stop, stop:] = inverse[stop:, start:stop].T
    return inverse


class _KenwardRoger:
    """pbkrtest's ``vcovAdj`` of an LMM fit: ``Phi`` (lme4's vcov), the adjusted ``Phi_A``, the matrices
    ``P_i = -X' V^-1 G_i V^-1 X`` and ``W = 2 IE^-1`` (IE the REML expected information of the linear
    variance parameters). Every ``G_r = B C_r B'`` is kept factored (``B = Z_k`` with ``C_r = I (x) E_ab`` for
    a random term, ``B = I`` with ``C = W^-1`` for the residual), so the only n x n matrix is ``V``, inverted
    in place."""

    def __init__(self, result):
        import scipy.sparse as sp

        objective = result.objective
        n, p = objective.nobs, objective.p
        X, w = objective.X, objective.w
        sigma2 = float(result.sigma) ** 2
        theta = np.asarray(result.theta, dtype=float)
        # groups: (B' as a sparse matrix or None for I, [C_r sparse symmetric])
        groups = []
        V = np.zeros((n, n))
        V[np.diag_indices(n)] = sigma2 / w
        Z = objective.Z.tocsc()
        for lay in objective.layout.blocks:
            Zk = Z[:, lay.start:lay.stop].tocsr()
            T = lay.factor(theta[lay.theta])
            identity = sp.identity(lay.n_levels, format="csr")
            Ck = sp.kron(identity, sp.csr_matrix(sigma2 * (T @ T.T)), format="csr")
            part = (Zk @ Ck @ Zk.T).tocoo()
            np.add.at(V, (part.row, part.col), part.data)   # no dense n x n temporary
            mats = []
            for a, b in zip(lay.rows, lay.cols):   # the entries of the term's covariance (lower triangle)
                E = np.zeros((lay.q, lay.q))
                E[a, b] = E[b, a] = 1.0
                mats.append(sp.kron(identity, sp.csr_matrix(E), format="csr"))
            groups.append((Zk.T.tocsr(), mats))
        groups.append((None, [sp.diags(1.0 / w, format="csr")]))
        V_inv = _inverse_in_place(V)
        del V
        TX = V_inv @ X                                   # V^-1 X
        # B_g' V^-1 (V^-1 is symmetric and Fortran-ordered: its transpose is the C-ordered view sparse products take
        # without a copy)
        S = [V_inv if Bt is None else np.asarray(Bt @ V_inv.T) for Bt, _ in groups]
        R = [TX if Bt is None else np.asarray(Bt @ TX) for Bt, _ in groups]          # B_g' V^-1 X
        owner = [g for g, (_, mats) in enumerate(groups) for _ in mats]
        C_list = [c for _, mats in groups for c in mats]
        m = len(C_list)
        Phi = np.asarray(result.covariance, dtype=float)
        P = [-(R[g].T @ (C @ R[g])) for g, C in zip(owner, C_list)]
        K_trace = np.empty((m, m))
        Q = {}
        CR = [np.asarray(C @ R[g]) for g, C in zip(owner, C_list)]                 # C_r B_g' V^-1 X
        for i in range(m):
            gi = owner[i]
            for j in range(i, m):
                gj = owner[j]
                Bt = groups[gj][0]
                M = S[gi] if Bt is None else np.asarray(Bt @ S[gi].T).T   # B_gi' V^-1 B_gj
                # Q_ij = X'V^-1 G_i V^-1 G_j V^-1 X; K_trace_ij = tr(G_i V^-1 G_j V^-1) = sum((C_i M C_j) * M)
                Q[i, j] = CR[i].T @ (M @ CR[j])
                Q[j, i] = Q[i, j].T
                if Bt is None and groups[gi][0] is None:   # the residual's pair: M = V^-1, C = W^-1 diagonal
                    d = C_list[i].diagonal()
                    K_trace[i, j] = float(np.einsum("a,ab,ab,b->", d, M, M, d))
                else:
                    CMC = np.asarray(C_list[j] @ np.asarray(C_list[i] @ M).T).T   # C_i M C_j (C_j symmetric)
                    K_trace[i, j] = float(np.sum(CMC * M))
                    del CMC
                K_trace[j, i] = K_trace[i, j]
                del M
        IE = np.empty((m, m))
        for i in range(m):
            PhiP = Phi @ P[i]
            for j in range(i, m):
                IE[i, j] = IE[j, i] = K_trace[i, j] - 2.0 * np.sum(Phi * Q[i, j]) + np.sum(PhiP * (P[j] @ Phi))
        eig = np.linalg.eigvalsh(IE)
        W = 2.0 * (np.linalg.inv(IE) if np.min(np.abs(eig)) > 1e-10 else np.linalg.pinv(IE))
        W = 0.5 * (W + W.T)
        U = np.zeros((p, p))
        for i in range(m):
            for j in range(m):
                U += W[i, j] * (Q[i, j] - P[i] @ Phi @ P[j])
        self.Phi, self.P, self.W = Phi, P, W
        self.Phi_A = Phi + 2.0 * Phi @ U @ Phi
        self.Phi_A = 0.5 * (self.Phi_A + self.Phi_A.T)

    def test(self, L, beta, rhs):
        """pbkrtest's ``.KR_adjust``: (F scaled by lambda, q, m, unscaled F) of ``L beta = rhs``."""
        Phi, W = self.Phi, self.W
        q = int(np.linalg.matrix_rank(L))
        if q < L.shape[0]:
            raise ValueError(f"`L` must have linearly independent rows for Kenward-Roger (rank {q} < "
                             f"{L.shape[0]} rows)")
        try:
            Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
            d = L @ beta - rhs
            F_unscaled = float(d @ np.linalg.solve(L @ self.Phi_A @ L.T, d)) / q
        except np.linalg.LinAlgError:
            raise ValueError("`L`: L Phi L' is singular (a combination of the fixed effects with no variance)") from None
        u = [Theta @ Phi @ Pi @ Phi for Pi in self.P]
        traces = np.array([np.trace(ui) for ui in u])
        A1 = np.float64(traces @ W @ traces)
        A2 = np.float64(sum(W[i, j] * np.sum(u[i] * u[j].T) for i in range(len(u)) for j in range(len(u))))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):   # numpy floats: inf/NaN, no exception
            B = (A1 + 6.0 * A2) / (2.0 * q)
            g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
            denominator = 3.0 * q + 2.0 * (1.0 - g)
            c1, c2, c3 = g / denominator, (q - g) / denominator, (q + 2 - g) / denominator
            V0, V1, V2 = 1.0 + c1 * B, 1.0 - c2 * B, 1.0 - c3 * B
            V0 = 0.0 if abs(V0) < 1e-10 else V0
            rho = ((1.0 - A2 / q) / V1) ** 2 * V0 / V2 / q
            ddf = float(4.0 + (q + 2.0) / (q * rho - 1.0))
            scaling = 1.0 if abs(ddf - 2.0) < 0.01 else float(ddf * (1.0 - A2 / q) / (ddf - 2.0))
        if not math.isfinite(ddf) or ddf <= 0:
            warnings.warn(f"Kenward-Roger: the denominator df is not a positive number ({ddf}); the test is not "
                          "valid (use ddf='satterthwaite')", ConvergenceWarning, stacklevel=v.outside_stacklevel())
        return scaling * F_unscaled, q, ddf, F_unscaled


def _kenward_roger_iv(result):
    result = _result_iv(result)
    if not result.reml:
        raise ValueError("`ddf`: Kenward-Roger is only available for REML model fits (as lmerTest and pbkrtest); "
                         "refit with reml=True or use ddf='satterthwaite'")
    n = result.objective.nobs
    if n > KR_MAX_NOBS:
        raise ValueError(f"Kenward-Roger needs dense n x n matrices (n = {n} > {KR_MAX_NOBS}); use "
                         "ddf='satterthwaite'")
    if len(result.params) == 0:
        raise ValueError("`result`: the model has no fixed effects to test")
    return result


def _kenward_roger_pieces(result):
    """:class:`_KenwardRoger` of a checked fit, on one BLAS thread as the fits (:func:`~quadlib.glmm.lmm`):
    on a loaded 2-core machine OpenBLAS's threads made a 2000 x 2000 inverse take 6 s instead of 0.9 s."""
    with blas_controller().limit(limits=1, user_api="blas"):
        return _KenwardRoger(result)


def kenward_roger(result, L, rhs=0.0):
    """Kenward and Roger's F test of ``L beta = rhs`` (pbkrtest's ``KRmodcomp``; lmerTest's
    ``contest(m, L, ddf = "Kenward-Roger")``).

    Parameters
    ----------
    result : LMMResult
        A REML fit with at most :data:`KR_MAX_NOBS` observations.
    L : array_like
        ``(q, p)`` with linearly independent rows (a 1-D vector is one row).
    rhs : float or array_like, default 0
        The hypothesized values, one per row.

    Returns
    -------
    F : float
        The scaled statistic ``lambda (L beta - rhs)' (L Phi_A L')^-1 (L beta - rhs) / q`` (lambda is 1 for
        one row: then F is the square of the KR t statistic).
    numdf : int
        q.
    dendf : float
        Kenward and Roger's m.
    vcov_adjusted : ndarray
        ``Phi_A``, the adjusted ``(p, p)`` covariance of beta (pbkrtest's ``vcovAdj``).

    Raises
    ------
    ValueError
        An ML fit (lmerTest: "only available for REML model fits"), more than :data:`KR_MAX_NOBS`
        observations (checked before anything is allocated), `L` of the wrong shape or rank.

    Notes
    -----
    Dense algebra on one BLAS thread: ``V^-1`` is an n x n matrix computed in place of ``V`` (200 MB at
    n = 5000), plus a few q x n products for q random effects; the ``G_r`` stay factored and are never
    formed. The work is ``O(n^3)`` plus ``O(m^2 q n)`` for m variance parameters (n = 2000, q = 400: about
    1 s). With prior weights the residual's ``G`` is ``W^-1``, so that ``V`` is the fit's marginal covariance
    (``(X' V^-1 X)^-1`` is lme4's vcov); pbkrtest's ``.get_SigmaG`` uses the identity there.

    Examples
    --------
    >>> from quadlib.glmm import datasets, lmm
    >>> fit = lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> F, numdf, dendf, vcov = kenward_roger(fit, [0, 1])
    >>> round(F, 4), numdf, round(dendf, 3)                  # pbkrtest: df 17
    (45.853, 1, 17.0)
    """
    result = _kenward_roger_iv(result)
    L = _contrast_iv(L, result)
    rhs = _rhs_iv(rhs, L.shape[0])
    kr = _kenward_roger_pieces(result)
    F, q, ddf, _ = kr.test(L, result.params.to_numpy(), rhs)
    return F, q, ddf, kr.Phi_A.copy()


# ---------------------------------------------------------------------------------------------------------
# terms, t and F tables
# ---------------------------------------------------------------------------------------------------------
def _term_names(model):
    return ["(Intercept)" if name == "Intercept" else name for name in model.slices]


def term_contrasts(result, term):
    """The rows of the identity over the fixed effects that belong to a formula term: its contrast matrix
    ``L`` (k, p) for a joint test of its k coefficients.

    Parameters
    ----------
    result : LMMResult
        The fit (any model with a ``design`` built from a formula).
    term : str
        A term of the fixed-effects formula as formulae names it: ``"Diet"``, ``"Time:Diet"`` (the order of an
        interaction's variables does not matter), ``"(Intercept)"``.

    Returns
    -------
    ndarray
        ``(k, p)``; the columns of the term dropped as rank deficient are not in it.

    Raises
    ------
    TypeError
        If `term` is not a string.
    ValueError
        An unknown term (the message names it and lists the terms), or a term all of whose columns were
        dropped.

    Examples
    --------
    >>> from quadlib.glmm import datasets, lmm
    >>> fit = lmm("weight ~ Time + Diet + (Time | Chick)", datasets.load("chickweight"))
    >>> term_contrasts(fit, "Diet")
    array([[0., 0., 1., 0., 0.],
           [0., 0., 0., 1., 0.],
           [0., 0., 0., 0., 1.]])
    """
    if not isinstance(term, str):
        raise TypeError(f"`term` must be a string naming a term of the fixed-effects formula, got {term!r}")
    design = result.design
    model = getattr(design, "fixed_model", None)
    if model is None or design.fixed_keep is None:
        raise ValueError(f"`term`: the model has no fixed-effects terms (unknown term {term!r})")
    wanted = term.strip()
    wanted = "Intercept" if wanted in ("(Intercept)", "1") else wanted
    key = None
    if wanted in model.slices:
        key = wanted
    else:
        parts = sorted(part.strip() for part in wanted.split(":"))
        for name in model.slices:
            if sorted(part.strip() for part in name.split(":")) == parts:
                key = name
                break
    if key is None:
        raise ValueError(f"`term`: unknown term {term!r} (terms: {', '.join(map(repr, _term_names(model)))})")
    window = model.slices[key]
    columns = [j for j, k in enumerate(design.fixed_keep) if window.start <= k < window.stop]
    if not columns:
        raise ValueError(f"`term`: every column of the term {term!r} was dropped (rank deficient)")
    return np.eye(len(design.fixed_names))[columns]


def t_test(result, ddf="satterthwaite"):
    """t tests of each fixed effect with small-sample degrees of freedom: lmerTest's coefficient table
    (``coef(summary(m, ddf = ...))``).

    Parameters
    ----------
    result : LMMResult
    ddf : {"satterthwaite", "kenward-roger", "kr"}
        Case-insensitive. Satterthwaite works for ML and REML fits; Kenward-Roger needs a REML fit (its
        standard errors are the adjusted ``sqrt(diag(Phi_A))``) and at most :data:`KR_MAX_NOBS` observations.

    Returns
    -------
    pandas.DataFrame
        Index ``params.index``; columns ``Estimate``, ``Std. Error``, ``df``, ``t value``, ``Pr(>|t|)``
        (two-sided, t distribution with ``df``).

    Raises
    ------
    ValueError
        An unknown `ddf`, or Kenward-Roger on an ML fit or above its size bound.

    Examples
    --------
    >>> from quadlib.glmm import datasets, lmm
    >>> fit = lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    >>> t_test(fit)[["t value", "df"]].round(3)
                 t value    df
    (Intercept)   36.838  17.0
    Days           6.771  17.0
    """
    import pandas as pd
    from scipy import stats

    result = _result_iv(result)
    method = check_ddf(ddf)
    beta = result.params.to_numpy()
    p = beta.size
    if p == 0:
        return pd.DataFrame(columns=_T_COLUMNS, dtype=float)
    if method == "kenward-roger":
        kr = _kenward_roger_pieces(_kenward_roger_iv(result))
        se = np.sqrt(np.diag(kr.Phi_A))
        df = np.array([kr.test(row, beta, np.zeros(1))[2] for row in np.eye(p)[:, None, :]])
    else:
        pieces = _variance_pieces(result)
        df, variances = np.array([pieces.contrast_df(row) for row in np.eye(p)]).T
        se = np.sqrt(variances)
    t = beta / se
    frame = pd.DataFrame({"Estimate": beta, "Std. Error": se, "df": df, "t value": t,
                          "Pr(>|t|)": 2.0 * stats.t.sf(np.abs(t), df)}, index=result.params.index)
    return frame[_T_COLUMNS]


def f_test(result, term_or_L, ddf="satterthwaite", rhs=0.0):
    """The F test of a formula term or of ``L beta = rhs`` with small-sample denominator degrees of freedom:
    lmerTest's ``anova(m, ddf = ...)`` row of a term, or ``contest(m, L, ddf = ...)``.

    Parameters
    ----------
    result : LMMResult
    term_or_L : str or array_like
        A fixed-effects term (all its coefficients jointly, as parametrized: lmerTest's type III test for
        models of main effects; :func:`term_contrasts`), or a ``(q, p)`` matrix L (a 1-D vector is one row).
    ddf : {"satterthwaite", "kenward-roger", "kr"}
        As :func:`t_test`.
    rhs : float or array_like, default 0
        The hypothesized values of ``L beta``, one per row.

    Returns
    -------
    pandas.DataFrame
        One row (the term's name, or "L"), lmerTest's columns: ``Sum Sq`` and ``Mean Sq`` (``F NumDF sigma^2``
        and ``F sigma^2``), ``NumDF``, ``DenDF``, ``F value``, ``Pr(>F)``. Kenward-Roger's ``F value`` is the
        scaled statistic (pbkrtest's ``Ftest``). A term of one column gives the square of its t statistic.

    Raises
    ------
    ValueError
        An unknown term (named in the message), `L` of the wrong shape (not p columns), an unknown `ddf`,
        Kenward-Roger on an ML fit.

    Examples
    --------
    >>> from quadlib.glmm import datasets, lmm
    >>> fit = lmm("weight ~ Time + Diet + (Time | Chick)", datasets.load("chickweight"))
    >>> f_test(fit, "Diet")[["NumDF", "DenDF", "F value"]].round(3)     # lmerTest: 3, 45.5315, 5.1938
          NumDF   DenDF  F value
    Diet      3  45.531    5.194
    """
    import pandas as pd
    from scipy import stats

    result = _result_iv(result)
    method = check_ddf(ddf)
    if isinstance(term_or_L, str):
        L, label = term_contrasts(result, term_or_L), term_or_L
    else:
        L, label = _contrast_iv(term_or_L, result, "term_or_L"), "L"
    rhs = _rhs_iv(rhs, L.shape[0])
    beta = result.params.to_numpy()
    if method == "kenward-roger":
        F, q, dendf, _ = _kenward_roger_pieces(_kenward_roger_iv(result)).test(L, beta, rhs)
    else:
        F, q, dendf = _satterthwaite(_variance_pieces(result), beta, L, rhs)
    mean_sq = F * float(result.sigma) ** 2
    frame = pd.DataFrame({"Sum Sq": [mean_sq * q], "Mean Sq": [mean_sq], "NumDF": [q], "DenDF": [dendf],
                          "F value": [F], "Pr(>F)": [float(stats.f.sf(F, q, dendf))]}, index=[label])
    return frame[_F_COLUMNS]
