"""Stage 2 of the pipeline: the marginal log-likelihood of a GLMM as a function of its parameters.

Parameters, in this order (``Objective.names``):

* beta, the fixed effects;
* theta, each random term's covariance factor Lambda (covariance Lambda Lambda^T), lower-triangular
  entries column by column as lme4 orders them, diagonal entries >= 0 (so a singular fit, a standard
  deviation at zero, is a point of the parameter space, as in lme4); ``||`` terms have a diagonal Lambda;
* log(phi), the family's dispersion (gaussian sigma, Gamma shape, negative-binomial theta), if it has one.

With b = Lambda u, u ~ N(0, I), the likelihood is a product over the levels of the grouping factor when
there is one grouping factor: each level's integral is computed by a core integrator (Laplace, adaptive
Gauss–Hermite, QMC) in one batched call. With several grouping factors (nested or crossed) the integral
does not factor; the Laplace approximation of the joint integral is computed by
:func:`quadlib.sparse_laplace` on the sparse system Lambda^T Z^T W Z Lambda + I.

Gradients. For Laplace on one grouping factor the exact gradient of the approximation is computed in
closed form (implicit differentiation through the modes; it needs the third derivative of the
log-density in eta). For rules with several nodes the gradient is that of the rule with its nodes held
where the adaptation put them (exact up to the rule's own error, since the exact integral does not
depend on where the nodes are). Several grouping factors: central differences.
"""
import warnings

import numpy as np

from .._extensions._mixed import add_random, cluster_moments, cluster_weighted, row_dot, row_quadratic
from .._integrators import AdaptiveGaussHermite, ClusterIntegrals, Laplace, QMCIntegrator
from ._covariance import ThetaLayout
from ._design import random_matrix
from ._newton import newton

__all__ = ["Objective", "make_objective", "separation_message"]

_LOG_2PI = np.log(2 * np.pi)
_SEPARATION_LIMIT = 20_000_000   # entries N p of X up to which the separation linear program runs
_LOG_DISPERSION_LIMIT = 700.0    # |log phi| beyond this: phi over- or underflows in the family's kernel


def separation_message(family, names):
    """What a fit says about separated data (:meth:`Objective.separation` found the fixed effects `names`)."""
    counts = family.name in ("poisson", "negative_binomial")
    what = "zero counts" if counts else "0s and 1s (the rows with no successes and those with no failures)"
    return (f"complete or quasi-complete separation: the fixed effects {', '.join(names)} separate the {what}, so "
            "their maximum likelihood estimates are infinite; the estimates are where the fit stopped, their "
            "standard errors meaningless (converged=False). Drop or merge the separating terms, or use a "
            "penalized (bias-reduced) fit")


def make_objective(design, family="binomial", integrator=None, *, link=None):
    """Stage 2: the marginal log-likelihood of `design` under `family`, integrated by `integrator`.

    Parameters
    ----------
    design : Design
        From :func:`build_design`.
    family : str or Family
        ``"binomial"``, ``"bernoulli"``, ``"poisson"``, ``"gaussian"``, ``"Gamma"``, ``"negative_binomial"``.
    integrator : object, optional
        A core integrator (default :class:`quadlib.Laplace`). With several grouping factors only the
        Laplace approximation is available.
    link : str, optional

    Returns
    -------
    Objective
    """
    return Objective(design, family, integrator, link=link)


class Objective:
    """The marginal log-likelihood of params = (beta, theta, [log phi]); see the module notes.

    ``objective(params)`` is the log-likelihood (including every constant: the full ``llf``), and
    ``objective.value_and_gradient(params)`` adds its gradient.
    """

    def __init__(self, design, family="binomial", integrator=None, *, link=None):
        from ._families import make_family

        self.design = design
        self.family = make_family(family, link)
        self.integrator = Laplace() if integrator is None else integrator
        if not hasattr(self.integrator, "log_integrals"):
            raise TypeError("`integrator` must be a quadlib integrator (Laplace, AdaptiveGaussHermite, ...)")
        d, fam = design, self.family
        if d.trials is not None:
            if fam.name != "binomial":
                raise ValueError(f"a cbind(successes, failures) response needs family='binomial', not {fam.name!r}")
            y, n = d.response, d.trials
        elif fam.name == "binomial" and d.weights is not None:  # a proportion with the trials as weights
            n = d.weights
            y = d.response * n
            if np.any(np.abs(y - np.round(y)) > 1e-8 * np.maximum(n, 1)):
                raise ValueError("binomial response given as a proportion: proportion x `weights` must be whole "
                                 "numbers of successes")
            y = np.round(y)
        else:
            y = d.response
            n = np.ones_like(y) if d.weights is None else d.weights
        fam.validate(y, n)
        self.y, self.n = np.ascontiguousarray(y, dtype=float), np.ascontiguousarray(n, dtype=float)
        self.constant = float(fam.log_constant(self.y, self.n))

        p = d.X.shape[1]
        self.n_beta = p
        # one block per grouping factor (its terms stacked); theta is the covariance factor itself
        self.layout = ThetaLayout.from_terms(d.terms, by="group", offset=p)
        self.joint = len(self.layout.blocks) > 1
        if self.joint and not (isinstance(self.integrator, AdaptiveGaussHermite) and self.integrator.n == 1):
            groups = ", ".join(block.group for block in self.layout.blocks)
            raise ValueError(f"`method`: with several grouping factors ({groups}) the integral does not "
                             "factor over groups: only method='laplace' is available")
        self.n_params = p + self.layout.n_theta + (1 if fam.has_dispersion else 0)
        self.names = list(d.fixed_names) + self.layout.names
        if fam.has_dispersion:
            self.names.append(f"log({fam.dispersion_name})")
        self.bounds = [(None, None)] * p + self.layout.bounds + [(None, None)] * (1 if fam.has_dispersion else 0)

        if not self.joint:
            block = self.blocks[0]
            self.starts = np.flatnonzero(np.r_[True, block.index[1:] != block.index[:-1]])
            self.row_bounds = np.ascontiguousarray(np.r_[self.starts, block.index.size], dtype=np.intp)
            self.Z = np.ascontiguousarray(block.Z, dtype=float)
            self.row_group = np.ascontiguousarray(block.index, dtype=np.intp)
            self._keep_first_derivatives = False
        else:
            self.Q = self.layout.n_random
            self.Zs = random_matrix(self.layout.blocks, d.nobs).tocsc()
        self.modes = None  # warm starts of the inner Newton iterations
        self.evaluations = 0
        self.last = None

    # ----------------------------------------------------------------------------------------- layout
    @property
    def blocks(self):
        """The layout's blocks: one per grouping factor (:class:`~quadlib.glmm._covariance.CovarianceBlock`)."""
        return self.layout.blocks

    def split(self, params):
        """(beta, [Lambda per grouping factor], phi or None) from a parameter vector."""
        params = np.asarray(params, dtype=float)
        beta = params[:self.n_beta]
        factors = self.layout.factors(params)
        phi = float(np.exp(params[-1])) if self.family.has_dispersion else None
        return beta, factors, phi

    def start(self):
        """Starting values: a GLM fit without random effects, each random SD at 1 (gaussian: half the
        residual SD), and a moment estimate of the dispersion."""
        d, fam = self.design, self.family
        eta = fam.start_eta(self.y, self.n)
        beta = np.linalg.lstsq(d.X, eta - d.offset, rcond=None)[0]
        beta = self._glm(beta)
        mu = fam.inverse_link(d.offset + d.X @ beta)
        scale = 1.0
        phi = None
        if fam.has_dispersion:
            phi = fam.start_dispersion(self.y, self.n, mu)
            if fam.name == "gaussian":
                scale = 0.5 * phi
        if fam.link == "inverse":  # eta must stay positive: random effects start small beside it
            scale = 0.1 * float(np.mean(np.abs(d.offset + d.X @ beta)))
        x = [beta, self.layout.start(scale)]
        if fam.has_dispersion:
            x.append([np.log(phi)])
        return np.concatenate(x)

    def _glm(self, beta):
        """A few damped Newton steps of the GLM without random effects (a start, not an estimate)."""
        d, fam = self.design, self.family
        if beta.size == 0:  # no fixed effects (y ~ 0 + (1 | g)): nothing to start
            return beta
        phi = fam.start_dispersion(self.y, self.n, fam.inverse_link(d.offset + d.X @ beta)) \
            if fam.has_dispersion else None

        def evaluate(b):
            t = fam.terms(self.y, self.n, d.offset + d.X @ b, phi, order=2)
            return float(np.sum(t.value)), t

        def direction(b, value, t):
            try:
                step = np.linalg.solve(-(d.X.T @ (t.d2[:, None] * d.X)), d.X.T @ t.d1)
            except np.linalg.LinAlgError:
                return None
            return step if np.all(np.isfinite(step)) else None

        return newton(evaluate, direction, beta, max_iter=25, max_halvings=30, rtol=1e-10, tol=1e-8).x

    # -------------------------------------------------------------------------------- one grouping factor
    def _linear_predictor(self, eta0, b):
        """eta (N, K) at b (M, K, q): compiled, no N x K x q temporary."""
        out = np.empty((eta0.size, b.shape[1]))
        add_random(eta0, self.Z, self.row_group, np.ascontiguousarray(b, dtype=float), out)
        return out

    def _cluster_functions(self, eta0, phi):
        fam, y, n, Z, bounds, starts = self.family, self.y, self.n, self.Z, self.row_bounds, self.starts
        M, q = bounds.size - 1, Z.shape[1]
        keep = self._keep_first_derivatives

        def log_g(b):  # b (M, K, q) -> (M, K)
            t = fam.terms(y, n, self._linear_predictor(eta0, b), phi, order=1 if keep else 0,
                          dispersion=keep and fam.has_dispersion)
            if keep:  # the rule's last call: its derivatives give the gradient (value_and_gradient)
                self._at_points = t
            return np.add.reduceat(t.value, starts, axis=0)

        def derivatives(b):  # b (M, q) -> value (M,), gradient (M, q), Hessian (M, q, q)
            eta = self._linear_predictor(eta0, b[:, None, :])[:, 0]
            t = fam.terms(y, n, eta, phi, order=2)
            value, grad, hess = np.empty(M), np.empty((M, q)), np.empty((M, q, q))
            cluster_moments(bounds, Z, t.value, t.d1, t.d2, value, grad, hess)
            return value, grad, hess

        return log_g, derivatives

    def _clusters(self, params, keep_points=False):
        beta, (L,), phi = self.split(params)
        eta0 = self.design.offset + self.design.X @ beta
        self._keep_first_derivatives = keep_points
        log_g, derivatives = self._cluster_functions(eta0, phi)
        M, q = self.blocks[0].n_levels, self.blocks[0].q
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failed cluster gives NaN: the optimizer sees -inf
            try:
                res = self.integrator.log_integrals(log_g, M, q, factor=L, derivatives=derivatives,
                                                    start=self.modes, keep_points=keep_points)
            except ValueError as error:
                if "not finite" not in str(error):
                    raise
                # parameters outside the family's domain (e.g. eta <= 0 with an inverse link): -inf
                res = ClusterIntegrals(np.full(M, np.nan), np.zeros((M, q)), np.zeros((M, q)),
                                       np.tile(np.eye(q), (M, 1, 1)), np.zeros(M, bool), 0, 0, False, str(error))
        self._keep_first_derivatives = False
        if res.success and np.all(np.isfinite(res.mode_u)):
            self.modes = res.mode_u
        else:
            self.modes = None
        return res, eta0, L, phi

    def _cluster_gradient(self, params, res, eta0, L, phi):
        fam, X, Z, g, bounds = self.family, self.design.X, self.Z, self.row_group, self.row_bounds
        M, q = bounds.size - 1, Z.shape[1]
        entries = self.blocks[0].entries
        dispersion = fam.has_dispersion
        grad = np.zeros(self.n_params)
        points = res.extra.get("points_u")
        if points is None:  # Laplace: the exact gradient of the approximation (module notes)
            u = res.mode_u
            eta = self._linear_predictor(eta0, (u @ L.T)[:, None, :])[:, 0]
            t = fam.terms(self.y, self.n, eta, phi, order=3, dispersion=dispersion)
            w = -t.d2
            g1, G = np.empty((M, q)), np.empty((M, q, q))
            cluster_moments(bounds, Z, t.d1, t.d1, w, np.empty(M), g1, G)
            Cinv = np.linalg.inv(np.eye(q) + L.T @ G @ L)
            P = np.ascontiguousarray(L @ Cinv @ L.T)                                  # L C^-1 L^T
            a = np.empty(eta.size)
            row_quadratic(Z, g, P, a)
            v = 0.5 * t.d3 * a
            sz = np.empty((M, 1, q))
            cluster_weighted(bounds, Z, v[:, None], sz)
            sz = sz[:, 0, :]
            tvec = (Cinv @ (sz @ L)[:, :, None])[:, :, 0]                             # C^-1 L^T sz
            Lt = np.ascontiguousarray(tvec @ L.T)
            r = np.empty(eta.size)
            row_dot(Z, g, Lt, r)
            grad[:self.n_beta] = X.T @ (t.d1 + v - w * r)
            K = Cinv @ L.T @ G                                                        # C^-1 L^T G
            GLt = (G @ Lt[:, :, None])[:, :, 0]
            for k, (ra, cb) in enumerate(entries):
                grad[self.n_beta + k] = np.sum(g1[:, ra] * u[:, cb] - K[:, cb, ra] + sz[:, ra] * u[:, cb]
                                               + tvec[:, cb] * g1[:, ra] - GLt[:, ra] * u[:, cb])
            if dispersion:
                z1s = np.empty((M, 1, q))
                cluster_weighted(bounds, Z, t.d1s[:, None], z1s)
                grad[-1] = np.sum(t.ds + 0.5 * t.d2s * a) + np.sum(tvec * (z1s[:, 0, :] @ L))
            return grad
        # several nodes: the rule's gradient with its nodes held fixed, from the derivatives at the rule's
        # points that log_g kept
        t = self._at_points
        shares = res.extra["shares"]                                                   # (M, K)
        K = shares.shape[1]
        pw = shares[g]                                                                 # (N, K)
        grad[:self.n_beta] = X.T @ np.einsum("nk,nk->n", pw, t.d1)
        g1k = np.empty((M, K, q))
        cluster_weighted(bounds, Z, np.ascontiguousarray(t.d1), g1k)
        for k, (ra, cb) in enumerate(entries):
            grad[self.n_beta + k] = np.sum(shares * g1k[:, :, ra] * points[:, :, cb])
        if dispersion:
            grad[-1] = np.sum(pw * t.ds)
        return grad

    # ---------------------------------------------------------------------------- several grouping factors
    def _joint_factor(self, factors):
        import scipy.sparse as sp

        return sp.block_diag([sp.kron(sp.identity(block.n_levels), L) for block, L in zip(self.blocks, factors)],
                             format="csc")

    def _joint(self, params):
        import scipy.sparse as sp
        from .._sparse_laplace import sparse_laplace

        beta, factors, phi = self.split(params)
        fam, y, n = self.family, self.y, self.n
        eta0 = self.design.offset + self.design.X @ beta
        A = (self.Zs @ self._joint_factor(factors)).tocsc()
        At = A.T.tocsr()
        identity = sp.identity(self.Q, format="csc")

        def h(u):
            t = fam.terms(y, n, eta0 + A @ u, phi, order=2)
            value = float(np.sum(t.value)) - 0.5 * float(u @ u)
            return value, At @ t.d1 - u, (At @ sp.diags(-t.d2) @ A + identity).tocsc()

        u0 = np.zeros(self.Q) if self.modes is None else self.modes
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = sparse_laplace(h, u0)
            except ValueError as error:
                if "finite" not in str(error):
                    raise
                self.modes = None
                return None, A   # parameters outside the family's domain: -inf
        self.modes = res.mode if res.success else None
        return res, A

    def _outside(self, params):
        """Whether `params` lie outside the domain: not finite (an optimizer's step overflowed), or a
        dispersion exp(log phi) that overflows to inf or underflows to 0."""
        params = np.asarray(params, dtype=float)
        if not np.all(np.isfinite(params)):
            return True
        return bool(self.family.has_dispersion and not abs(params[-1]) < _LOG_DISPERSION_LIMIT)

    # ------------------------------------------------------------------------------------------ estimability
    def check_response(self):
        """Raise ValueError if no maximum likelihood estimate can exist, whatever the fixed effects.

        binomial and bernoulli: no successes, or no failures, in any row; poisson and negative_binomial:
        every count 0 (the likelihood increases without bound as the linear predictor goes to -inf or
        +inf). gaussian and Gamma: the fixed effects fit the (linked) response exactly, e.g. a constant
        response (the dispersion goes to its bound: sigma to 0, the Gamma shape to infinity).

        lme4 fits such data and returns estimates near +-infinity with warnings; an error says at once
        that there is nothing to estimate.

        Raises
        ------
        ValueError
            Saying what is degenerate in the response.
        """
        fam, y, n, d = self.family, self.y, self.n, self.design
        why = None
        if fam.name in ("binomial", "bernoulli"):
            if np.all(y == 0):
                why = "has no successes (every row is 0): the likelihood increases without bound as eta -> -inf"
            elif np.all(y == n):
                why = "has no failures (every row is a success): the likelihood increases without bound as eta -> inf"
        elif fam.name in ("poisson", "negative_binomial"):
            if np.all(y == 0):
                why = "is 0 in every row: the likelihood increases without bound as eta -> -inf"
        else:
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                target = fam.link_function(y) - d.offset
            if np.all(np.isfinite(target)):
                residual = target - d.X @ np.linalg.lstsq(d.X, target, rcond=None)[0] if d.X.shape[1] else target
                if np.linalg.norm(residual) <= 1e-12 * max(np.linalg.norm(target), 1e-300):
                    why = ("is fitted exactly by the fixed effects (e.g. a constant response): there is no variance "
                           "left to estimate")
        if why is not None:
            raise ValueError(f"`formula`: the response {why}; the maximum likelihood estimate does not exist")

    def separation(self):
        """The fixed effects along which the log-likelihood increases without bound, [] if none.

        Binomial data are separated (completely or quasi-completely) when a direction d of the fixed
        effects has X d >= 0 on every row with no failures, X d <= 0 on every row with no successes and
        X d = 0 on the others, with X d != 0 somewhere; counts when X d <= 0 on the zero counts and X d = 0
        on the others. The likelihood then increases along d for any random effects, so the maximum
        likelihood estimate does not exist. Found by the linear program of Konis (2007), maximize the
        sum of the signed X d over the rows at the boundary, with -1 <= d <= 1 on the columns scaled to
        unit size (scipy's HiGHS), d restricted to the null space of the other rows (an SVD; no null
        space, no separation) and each distinct boundary row taken once. Other families, and designs of
        more than 2e7 entries (N p), give [].

        Returns
        -------
        list of str
            The names of the fixed effects that enter the direction d.

        References
        ----------
        K. Konis, "Linear programming algorithms for detecting separated data in binary logistic regression
        models", DPhil thesis, University of Oxford (2007); A. Albert and J. A. Anderson, "On the existence
        of maximum likelihood estimates in logistic regression models", Biometrika 71 (1984), 1-10.
        """
        from scipy.optimize import linprog

        fam, y, n, X = self.family, self.y, self.n, self.design.X
        N, p = X.shape
        if p == 0 or N * p > _SEPARATION_LIMIT or fam.name not in ("binomial", "bernoulli", "poisson",
                                                                     "negative_binomial"):
            return []
        sign = np.zeros(N)
        sign[y == 0] = -1.0
        if fam.name in ("binomial", "bernoulli"):
            sign[y == n] = 1.0
        scale = np.max(np.abs(X), axis=0)
        Xs = X / np.where(scale > 0, scale, 1.0)
        edge, inner = sign != 0, sign == 0
        if not edge.any():
            return []
        # X d = 0 on the other rows: d = B c with B a basis of their null space (if none, no separation);
        # the linear programs then have only the rows at the boundary, each distinct row once
        basis = np.eye(p)
        if inner.any():
            _, singular, vt = np.linalg.svd(np.linalg.qr(Xs[inner], mode="r"))
            rank = int(np.sum(singular > 1e-9 * singular[0])) if singular[0] > 0 else 0
            basis = vt[rank:].T
            if basis.shape[1] == 0:
                return []
        k = basis.shape[1]
        signed = np.unique(sign[edge, None] * Xs[edge], axis=0) @ basis        # rows: s_i x_i B
        total = signed.sum(axis=0)
        if inner.any():   # -1 <= B c <= 1
            res = linprog(-total, A_ub=np.vstack([-signed, basis, -basis]),
                          b_ub=np.r_[np.zeros(len(signed)), np.ones(2 * p)], bounds=(None, None), method="highs")
        else:             # B = I: -1 <= c <= 1 as bounds
            res = linprog(-total, A_ub=-signed, b_ub=np.zeros(len(signed)), bounds=(-1.0, 1.0), method="highs")
        if res.status != 0 or not -res.fun > 1e-6:
            return []
        # the sparsest such direction names the separating terms (any vertex would do for the existence
        # question): least |B c|_1 (t >= |B c|) keeping half the signed sum; variables (c, t)
        zero = np.zeros((len(signed), p))
        split = linprog(np.r_[np.zeros(k), np.ones(p)],
                        A_ub=np.vstack([np.hstack([basis, -np.eye(p)]), np.hstack([-basis, -np.eye(p)]),
                                        np.hstack([-signed, zero]), np.r_[-total, np.zeros(p)][None, :]]),
                        b_ub=np.r_[np.zeros(2 * p + len(signed)), 0.5 * res.fun],
                        bounds=[(None, None)] * k + [(0.0, 1.0)] * p, method="highs")
        d = basis @ (split.x[:k] if split.status == 0 else res.x)
        eta = Xs @ d
        # the LP's tolerances are absolute (1e-7): check the direction itself, each row to the rounding of
        # its own terms, so that rows of tiny entries (a column scaled by one extreme value) count
        slack = 1e-7 * (np.abs(Xs) @ np.abs(d))
        if np.any(sign[edge] * eta[edge] < -slack[edge]) or np.any(np.abs(eta[inner]) > slack[inner]) \
                or not np.any(sign[edge] * eta[edge] > slack[edge]):
            return []
        return [name for name, dk in zip(self.design.fixed_names, d) if abs(dk) > 1e-7]

    def linear_predictor(self, params):
        """The linear predictor at the conditional modes of the random effects (R's ``predict(fit)``)."""
        beta = self.split(params)[0]
        eta = self.design.offset + self.design.X @ beta
        modes = self.conditional_modes(params)
        for block in self.blocks:
            b = modes[block.group][0]
            eta = eta + np.einsum("nq,nq->n", block.Z, b[block.index])
        return eta

    # ------------------------------------------------------------------------------------------- public
    def log_likelihood(self, params):
        """The marginal log-likelihood (full, constants included); -inf where it cannot be computed."""
        params = np.asarray(params, dtype=float)
        if params.shape != (self.n_params,):
            raise ValueError(f"`params` must have {self.n_params} values ({', '.join(self.names)}), "
                             f"got shape {params.shape}")
        if self._outside(params):
            return -np.inf
        self.evaluations += 1
        if self.joint:
            res, _ = self._joint(params)
            self.last = res
            total = res.log_integral - 0.5 * self.Q * _LOG_2PI if res is not None and res.success else np.nan
        else:
            res = self._clusters(params)[0]
            self.last = res
            total = float(np.sum(res.log_integral))
        total += self.constant
        return float(total) if np.isfinite(total) else -np.inf

    __call__ = log_likelihood

    def value_and_gradient(self, params, step=1e-6):
        """The log-likelihood and its gradient (module notes); central differences of step `step` with
        several grouping factors or a QMC integrator."""
        params = np.asarray(params, dtype=float)
        if self._outside(params):
            return -np.inf, np.full(self.n_params, np.nan)
        if self.joint or isinstance(self.integrator, QMCIntegrator):
            # QMC: the proposal moves with the parameters, so the fixed-point gradient is off by about the
            # sampling error (1e-2 on cbpp); the estimate itself is a smooth deterministic function (fixed
            # points): differentiate it
            value = self.log_likelihood(params)
            grad = np.empty(self.n_params)
            for k in range(self.n_params):
                e = np.zeros(self.n_params)
                e[k] = step * max(1.0, abs(params[k]))
                grad[k] = (self.log_likelihood(params + e) - self.log_likelihood(params - e)) / (2 * e[k])
            self.log_likelihood(params)  # leave the state at params
            return value, grad
        self.evaluations += 1
        several = not (isinstance(self.integrator, AdaptiveGaussHermite) and self.integrator.n == 1)
        res, eta0, L, phi = self._clusters(params, keep_points=several)
        self.last = res
        value = float(np.sum(res.log_integral)) + self.constant
        if not np.isfinite(value):
            return -np.inf, np.full(self.n_params, np.nan)
        return value, self._cluster_gradient(params, res, eta0, L, phi)

    def posterior_moments(self, params, integrator):
        """Posterior means and covariances of b given y for each level of the (single) grouping factor,
        by an adaptive rule: the rule's points and their shares of each level's integral (the integrator's
        ``keep_points``) give E[u | y] and E[u u^T | y], mapped to b = L u."""
        if self.joint:
            raise ValueError("posterior means need a single grouping factor (the joint integral over crossed "
                             "or nested factors does not factor by level)")
        saved = self.integrator
        self.integrator = integrator
        try:
            res = self._clusters(params, keep_points=True)[0]
        finally:
            self.integrator = saved
            self.modes = None
        L = self.split(params)[1][0]
        shares, points = res.extra["shares"], res.extra["points_u"]
        mean_u = np.einsum("mk,mkq->mq", shares, points)
        second = np.einsum("mk,mkq,mkr->mqr", shares, points, points)
        cov_u = second - mean_u[:, :, None] * mean_u[:, None, :]
        return mean_u @ L.T, L @ cov_u @ L.T, res

    def conditional_modes(self, params):
        """Per grouping factor: the modes of b given y (empirical Bayes) and their conditional covariances
        (the inverse curvature at the mode, mapped to b), as ``{group: (modes (M, q), cov (M, q, q))}``;
        NaN where they cannot be computed (parameters outside the domain, no mode found)."""
        missing = {block.group: (np.full((len(block.levels), block.q), np.nan),
                                 np.full((len(block.levels), block.q, block.q), np.nan)) for block in self.blocks}
        if self._outside(params):
            return missing
        beta, factors, phi = self.split(params)
        if not self.joint:
            res = self._clusters(params)[0]
            L = factors[0]
            try:
                inverse = np.linalg.inv(res.curvature)
            except np.linalg.LinAlgError:  # a singular curvature: no Laplace covariance
                inverse = np.full_like(res.curvature, np.nan)
            cov = np.einsum("ia,mab,jb->mij", L, inverse, L)
            return {self.blocks[0].group: (res.mode_u @ L.T, cov)}
        res, _ = self._joint(params)
        if res is None or not res.success:
            return missing
        Lfull = self._joint_factor(factors)
        b = Lfull @ res.mode
        out = {}
        for block, L in zip(self.blocks, factors):
            M, q = block.n_levels, block.q
            cols = slice(block.start, block.stop)
            # C^-1 restricted to this block's columns: solve with the stored factorization
            sol = res.solve(np.eye(self.Q)[:, cols]) if self.Q <= 4000 else None
            if sol is None:
                var_u = res.conditional_variances()[cols].reshape(M, q)
                cov = np.einsum("ia,ma,ja->mij", L, var_u, L)
            else:
                inner = sol[cols].reshape(M, q, M, q)[np.arange(M), :, np.arange(M), :]
                cov = np.einsum("ia,mab,jb->mij", L, inner, L)
            out[block.group] = (b[cols].reshape(M, q), cov)
        return out
