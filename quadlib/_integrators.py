"""Integrators over random effects: many independent integrals of g(b) N(b; 0, D) db over R^q, one per
cluster, computed together. This is the protocol `quadlib.glmm` composes; it holds no model knowledge.

The protocol
------------
An integrator has one method, ``log_integrals(log_g, n_clusters, q, *, cov=None, derivatives=None, ...)``:

* ``log_g(b)`` takes ``b`` of shape (M, K, q) (K points for each of the M clusters) and returns the
  log-integrands ``log g_i(b[i, k])``, shape (M, K). It is called with all clusters at once, a handful
  of times per integral (never once per point).
* ``derivatives(b)``, optional, takes ``b`` of shape (M, q) and returns ``(value, gradient, hessian)`` of
  ``log g_i`` there, shapes (M,), (M, q), (M, q, q). Without it, central differences of `log_g` are used
  (one call of 1 + 2q^2 points per Newton step).
* ``cov`` is D, (q, q) symmetric positive semi-definite, default the identity. A singular D (a
  variance at zero) is allowed: the integral is taken over u with b = L u, L L^T = D, u ~ N(0, I).

Each integrator finds every cluster's mode of ``log g(L u) - |u|^2/2`` by a batched Newton iteration with
step halving (compiled per-cluster Cholesky factorizations), places its rule's nodes ``z_k`` at
``u = mode + R^-T z_k`` (R R^T the curvature at the mode, so the rule is centred and scaled to the
integrand: adaptive quadrature), and combines ``log g`` there with the weights in log space. The result
is a :class:`ClusterIntegrals`. The rules:

* :class:`Laplace` — the single node z = 0 (the Laplace approximation);
* :class:`AdaptiveGaussHermite` (n) — the n^q-point Gauss–Hermite product rule; n = 1 is Laplace;
* :class:`SparseGridGaussHermite` (level) — a Smolyak grid of Genz–Keister (nested) or Gauss–Hermite
  rules, far fewer points than the product rule for q > 2;
* :class:`QMCIntegrator` (n_points, seed) — scrambled Sobol' points mapped to N(0, I): importance
  sampling from the Laplace approximation.

References: J. C. Pinheiro and D. M. Bates, "Approximations to the log-likelihood function in the
nonlinear mixed-effects model", JCGS 4 (1995); Q. Liu and D. A. Pierce, "A note on Gauss–Hermite
quadrature", Biometrika 81 (1994).
"""
from dataclasses import dataclass, field
import warnings

import numpy as np

from . import _validation as v
from ._extensions._clusters import adaptive_points, combine, newton_steps
from ._result import DomainError, IntegrationWarning

__all__ = ["ClusterIntegrals", "Laplace", "AdaptiveGaussHermite", "SparseGridGaussHermite", "QMCIntegrator"]


@dataclass(frozen=True, eq=False)
class ClusterIntegrals:
    """Log-integrals of many clusters, with what produced them.

    Attributes
    ----------
    log_integral : ndarray (M,)
        ``log ∫ g_i(b) N(b; 0, D) db``; NaN where a cluster failed.
    mode : ndarray (M, q)
        Each cluster's mode in b (the empirical Bayes modes in a mixed model: ``b = L u``).
    mode_u : ndarray (M, q)
        The mode in the spherical variable u (``b = L u``).
    curvature : ndarray (M, q, q)
        ``-∇² (log g(L u) - |u|²/2)`` at the mode, in u; its inverse is the Laplace posterior covariance of u.
    converged : ndarray of bool (M,)
        The Newton iteration met its tolerance and the curvature is positive definite at the mode.
    n_iter : int
        Newton iterations (the largest over the clusters).
    nfev : int
        Calls of `log_g` and `derivatives`.
    success : bool
        All clusters converged and every log-integral is finite.
    message : str
    """

    log_integral: np.ndarray
    mode: np.ndarray
    mode_u: np.ndarray
    curvature: np.ndarray
    converged: np.ndarray
    n_iter: int
    nfev: int
    success: bool
    message: str
    extra: dict = field(default_factory=dict)

    @property
    def integral(self):
        """``exp(log_integral)`` (may underflow; prefer the logarithm)."""
        return np.exp(self.log_integral)

    @property
    def total(self):
        """The sum of the log-integrals (the log-likelihood of independent clusters)."""
        return float(np.sum(self.log_integral))


def _cov_factor(cov, q):
    """L with L L^T = cov (Cholesky, or eigenvectors for a singular cov)."""
    if cov is None:
        return np.eye(q)
    try:
        cov = np.asarray(cov, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("`cov` must be a (q, q) array of real numbers") from None
    if cov.ndim == 0 and q == 1:
        cov = cov.reshape(1, 1)
    if cov.shape != (q, q):
        raise ValueError(f"`cov` must have shape ({q}, {q}), got {cov.shape}")
    if not np.all(np.isfinite(cov)) or not np.allclose(cov, cov.T, rtol=1e-12, atol=0):
        raise ValueError("`cov` must be finite and symmetric")
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(cov)
        if values.min() < -1e-12 * max(values.max(), 1.0):
            raise ValueError("`cov` must be positive semi-definite") from None
        return vectors * np.sqrt(np.clip(values, 0.0, None))


class _Evaluator:
    """log_g and its derivatives in the spherical variable u (b = L u), counting calls and checking shapes."""

    def __init__(self, log_g, derivatives, L, M, q, step):
        self.log_g, self.derivatives, self.L, self.M, self.q = log_g, derivatives, L, M, q
        self.step = step
        self.nfev = 0

    def _to_b(self, u):
        return u * self.L[0, 0] if self.q == 1 else u @ self.L.T  # q = 1: no matmul over 10^6 points

    def values(self, u):
        """u (M, K, q) -> (M, K)."""
        b = self._to_b(u)
        self.nfev += 1
        out = np.asarray(self.log_g(b), dtype=float)
        if out.shape != u.shape[:2]:
            raise ValueError(f"`log_g` must return shape {u.shape[:2]} for points of shape {b.shape}, "
                             f"got {out.shape}")
        return out

    def at(self, u, precise=False):
        """value (M,), gradient (M, q) and Hessian (M, q, q) in u at u (M, q). With `precise`, central
        differences at steps 1e-2 and 5e-3 combined by Richardson extrapolation (error ~1e-9 instead of
        ~1e-8 for the Hessian; u has unit prior scale, so these steps are small)."""
        M, q, L = self.M, self.q, self.L
        if self.derivatives is not None:
            self.nfev += 1
            value, grad, hess = self.derivatives(self._to_b(u))
            value = np.asarray(value, dtype=float)
            grad = np.asarray(grad, dtype=float)
            hess = np.asarray(hess, dtype=float)
            if value.shape != (M,) or grad.shape != (M, q) or hess.shape != (M, q, q):
                raise ValueError(f"`derivatives` must return shapes ({M},), ({M}, {q}), ({M}, {q}, {q}); "
                                 f"got {value.shape}, {grad.shape}, {hess.shape}")
            if q == 1:
                return value, grad * L[0, 0], hess * L[0, 0] ** 2
            return value, grad @ L, L.T @ hess @ L
        if precise:
            coarse, fine = self._differences(u, 1e-2), self._differences(u, 5e-3)
            return fine[0], *((4 * b - a) / 3 for a, b in zip(coarse[1:], fine[1:]))
        return self._differences(u, self.step)

    def _differences(self, u, h):
        # central differences on the stencil u, u +- h e_a, u +- h e_a +- h e_b (one call for all)
        M, q = self.M, self.q
        offsets = [np.zeros(q)]
        for a in range(q):
            for s in (1, -1):
                e = np.zeros(q)
                e[a] = s * h
                offsets.append(e)
        pairs = [(a, c) for a in range(q) for c in range(a + 1, q)]
        for a, c in pairs:
            for sa, sc in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                e = np.zeros(q)
                e[a], e[c] = sa * h, sc * h
                offsets.append(e)
        f = self.values(u[:, None, :] + np.array(offsets)[None, :, :])
        value = f[:, 0]
        grad = np.empty((M, q))
        hess = np.empty((M, q, q))
        for a in range(q):
            plus, minus = f[:, 1 + 2 * a], f[:, 2 + 2 * a]
            grad[:, a] = (plus - minus) / (2 * h)
            hess[:, a, a] = (plus - 2 * value + minus) / (h * h)
        base = 1 + 2 * q
        for n, (a, c) in enumerate(pairs):
            pp, pm, mp, mm = (f[:, base + 4 * n + j] for j in range(4))
            hess[:, a, c] = hess[:, c, a] = (pp - pm - mp + mm) / (4 * h * h)
        return value, grad, hess


class _AdaptiveRule:
    """Shared machinery: the batched Newton iteration and the adaptive rule. Subclasses give the nodes."""

    name = "adaptive rule"
    # how a model differentiates these integrals (the protocol's `gradient`, docs/integrators.rst): the rule's
    # total derivative, through the mode and the curvature that place its nodes (keep_points gives them)
    gradient = "adaptive"

    def _rule(self, q):
        """Nodes z (K, q) and weights (K,) for the N(0, I) density on R^q."""
        raise NotImplementedError

    def log_integrals(self, log_g, n_clusters, q=1, *, cov=None, factor=None, derivatives=None, start=None,
                      max_iter=50, tol=1e-10, fd_step=1e-4, keep_points=False):
        """``log ∫ g_i(b) N(b; 0, cov) db`` for clusters i = 0..n_clusters-1 (see the module notes).

        Parameters
        ----------
        log_g : callable
            ``log_g(b)``, b (M, K, q) -> (M, K).
        n_clusters : int
            M.
        q : int
            Dimension of each integral.
        cov : array_like (q, q), optional
            The normal density's covariance D (default identity); may be singular.
        factor : array_like (q, q), optional
            Instead of `cov`: a factor L of D = L L^T, used as given for the change of variables b = L u
            (a mixed model's relative covariance factor; it may be singular).
        derivatives : callable, optional
            ``derivatives(b)``, b (M, q) -> (value (M,), gradient (M, q), Hessian (M, q, q)) of log g.
        start : array_like (M, q), optional
            Starting points in u (``b = L u``), e.g. the previous modes when fitting a model.
        max_iter : int
            Bound on the Newton iterations.
        tol : float
            Stop when every cluster's Newton step is below `tol` (in u, where the prior has unit scale).
        fd_step : float
            Step of the central differences used without `derivatives`.
        keep_points : bool
            Also return the rule's points in u, ``extra["points_u"]`` (M, K, q), and each point's share of
            the cluster's integral, ``extra["shares"]`` (M, K) (summing to 1; the weights of the integral's
            derivatives with the points held fixed), the rule's nodes for N(0, I), ``extra["nodes"]`` (K, q),
            and each cluster's lower Cholesky factor R of the curvature at the mode, ``extra["factor"]``
            (M, q, q): ``points_u[i, k] = mode_u[i] + R_i^-T nodes[k]`` (what the exact gradient of an adaptive
            rule differentiates through).

        Returns
        -------
        ClusterIntegrals
            Clusters that did not converge are flagged in ``converged``; ``success`` is False and an
            :class:`IntegrationWarning` is issued if any did.

        Raises
        ------
        DomainError
            When `log_g` is not finite at the starting points of some cluster (parameters of `log_g`
            outside its domain); a ValueError subclass.
        """
        v.callable_(log_g, "log_g")
        if derivatives is not None:
            v.callable_(derivatives, "derivatives")
        M = v.positive_int(n_clusters, "n_clusters")
        q = v.positive_int(q, "q", maximum=64)
        max_iter = v.positive_int(max_iter, "max_iter")
        tol = v.nonnegative_tolerance(tol, "tol")
        if factor is not None:
            if cov is not None:
                raise ValueError("give `cov` or `factor`, not both")
            L = np.array(factor, dtype=float).reshape(q, q) if np.size(factor) == q * q else None
            if L is None or not np.all(np.isfinite(L)):
                raise ValueError(f"`factor` must be a finite ({q}, {q}) array")
        else:
            L = _cov_factor(cov, q)
        ev = _Evaluator(log_g, derivatives, L, M, q, float(fd_step))
        if start is None:
            u = np.zeros((M, q))
        else:
            u = np.array(start, dtype=float).reshape(M, q) if np.size(start) == M * q else None
            if u is None or not np.all(np.isfinite(u)):
                raise ValueError(f"`start` must be a finite array of shape ({M}, {q})")
        eye = np.eye(q)
        step = np.empty((M, q))
        factor = np.empty((M, q, q))
        shift = np.empty(M)
        value, grad, hess = ev.at(u)
        if not np.all(np.isfinite(value)):
            bad = ~np.isfinite(value)
            raise DomainError(f"`log_g` is not finite at the start for {int(bad.sum())} cluster(s) "
                             f"(first: {int(np.flatnonzero(bad)[0])})")
        n_iter = 0
        # clusters where 30 halvings found no ascent: they stay put, and since an iteration from the same
        # point repeats the same step, they are not iterated again (each halving evaluates every cluster:
        # one such cluster made a 20,000-cluster zero-inflated fit evaluate the batch 1,500 times)
        stuck = np.zeros(M, dtype=bool)
        while True:
            objective = value - 0.5 * np.einsum("mi,mi->m", u, u)
            curvature = np.ascontiguousarray(eye - hess)
            newton_steps(np.ascontiguousarray(grad - u), curvature, step, factor, shift)
            done = np.max(np.abs(step), axis=1) <= tol
            if (done | stuck).all() or n_iter == max_iter:
                break
            n_iter += 1
            # the derivatives at the trial point serve the next iteration too; halve the step where the
            # objective fell (at most 30 times)
            t = np.where(done | stuck, 0.0, 1.0)
            trial = u + t[:, None] * step
            for _ in range(30):
                value_t, grad_t, hess_t = ev.at(trial)
                f_trial = value_t - 0.5 * np.einsum("mi,mi->m", trial, trial)
                # an absolute floor: h rounds like eps * sum |terms|, and h ~ 0 at a mode is common (a
                # model's log-density without its constant), where eps * |h| would reject every last step
                worse = ~(f_trial >= objective - 1e-12 * (1.0 + np.abs(objective))) & ~(done | stuck)
                if not worse.any():
                    break
                t[worse] *= 0.5
                trial[worse] = u[worse] + t[worse, None] * step[worse]
            if worse.any():  # no ascent found for these: stay put (they will report non-convergence)
                trial[worse] = u[worse]
                stuck |= worse
                value_t, grad_t, hess_t = ev.at(trial)
            u, value, grad, hess = trial, value_t, grad_t, hess_t
        if derivatives is None:  # the curvature enters the result: Richardson-extrapolated differences
            value, grad, hess = ev.at(u, precise=True)
            curvature = np.ascontiguousarray(eye - hess)
            newton_steps(np.ascontiguousarray(grad - u), curvature, step, factor, shift)
        concave = shift == 0.0
        converged = done & concave
        z, weights = self._rule(q)
        points = np.empty((M, z.shape[0], q))
        adaptive_points(u, factor, z, points)
        values = ev.values(points) - 0.5 * np.einsum("mki,mki->mk", points, points)
        out = np.empty(M)
        combine(np.ascontiguousarray(values), weights, 0.5 * np.einsum("ki,ki->k", z, z), factor, out)
        out[~concave] = np.nan
        extra = {}
        if keep_points:
            log_terms = values + 0.5 * np.einsum("ki,ki->k", z, z)
            terms = weights * np.exp(log_terms - log_terms.max(axis=1, keepdims=True))
            extra = {"points_u": points, "shares": terms / terms.sum(axis=1, keepdims=True), "nodes": z,
                     "factor": factor}
        success = bool(converged.all() and np.all(np.isfinite(out)))
        if success:
            message = "converged"
        else:
            parts = []
            if (~done & stuck).any():
                parts.append(f"{int((~done & stuck).sum())} cluster(s) found no ascent step (30 halvings)")
            if (~done & ~stuck).any():
                parts.append(f"{int((~done & ~stuck).sum())} cluster(s) did not converge in {max_iter} Newton "
                             "iterations")
            if (~concave).any():
                parts.append(f"{int((~concave).sum())} cluster(s) have a curvature that is not positive definite "
                             "at the mode (the log-integrand is not concave there)")
            if (concave & ~np.isfinite(out)).any():
                parts.append("the rule gave a non-positive or non-finite sum for some cluster(s)")
            message = "; ".join(parts)
            warnings.warn(f"{self.name}: {message}", IntegrationWarning, stacklevel=2)
        return ClusterIntegrals(out, u @ L.T, u, curvature, converged, n_iter, ev.nfev, success, message, extra)

    def __repr__(self):
        return self.name


class AdaptiveGaussHermite(_AdaptiveRule):
    """Adaptive Gauss–Hermite quadrature with n points per dimension (n^q in all); n = 1 is Laplace.

    Examples
    --------
    >>> import numpy as np, quadlib
    >>> # logistic-normal integrals E[expit(a + b)], b ~ N(0, 2^2), for 3 values of a
    >>> a = np.array([-1.0, 0.0, 2.0])
    >>> log_g = lambda b: -np.logaddexp(0, -(a[:, None] + b[..., 0]))
    >>> res = quadlib.AdaptiveGaussHermite(20).log_integrals(log_g, 3, 1, cov=[[4.0]])
    >>> np.round(res.integral, 6)
    array([0.352274, 0.5     , 0.775201])
    """

    def __init__(self, n):
        self.n = v.positive_int(n, "n", maximum=200)
        self.name = f"AdaptiveGaussHermite({self.n})"
        # one node is the Laplace approximation, whose gradient is computed in closed form
        self.gradient = "laplace" if self.n == 1 else "adaptive"

    def _rule(self, q):
        from ._gauss import gauss_hermite

        if self.n ** q > 10_000_000:
            raise ValueError(f"`n`={self.n} in q={q} dimensions would need {self.n ** q} points per cluster")
        rule = gauss_hermite(self.n, kind="normal")
        grids = np.meshgrid(*[rule.nodes] * q, indexing="ij")
        z = np.stack([g.ravel() for g in grids], axis=1)
        w = np.prod(np.stack(np.meshgrid(*[rule.weights] * q, indexing="ij"), -1).reshape(-1, q), axis=1)
        return np.ascontiguousarray(z), np.ascontiguousarray(w)


class Laplace(AdaptiveGaussHermite):
    """The Laplace approximation: adaptive quadrature with the single node at the mode."""

    def __init__(self):
        super().__init__(1)
        self.name = "Laplace()"


class SparseGridGaussHermite(_AdaptiveRule):
    """Adaptive quadrature on a Smolyak sparse grid for N(0, I): ``rule="genz_keister"`` (nested, levels
    0..4) or ``"gauss_hermite"``. Its weights can be negative, so a result can fail (reported as NaN)."""

    def __init__(self, level, rule="genz_keister"):
        self.level = v.positive_int(level, "level", minimum=0, maximum=4 if rule == "genz_keister" else 30)
        self.rule = v.choice(rule, ("genz_keister", "gauss_hermite"), "rule")
        self.name = f"SparseGridGaussHermite({self.level}, rule={rule!r})"

    def _rule(self, q):
        from ._sparse import sparse_grid

        grid = sparse_grid(q, self.level, self.rule)
        return np.ascontiguousarray(np.asarray(grid.nodes, dtype=float).reshape(-1, q)), np.ascontiguousarray(grid.weights)


class QMCIntegrator(_AdaptiveRule):
    """Importance sampling from the Laplace approximation with `n_points` scrambled Sobol' points (the
    same points for every cluster), drawn from a multivariate t with `df` degrees of freedom centred and
    scaled like the Laplace approximation. Its error is statistical: repeat with other seeds.

    Why t and not the normal: a mixed model's integrand in u has tails like its N(0, I) prior, wider than
    the Laplace approximation's N(mode, C^-1) whenever the curvature C exceeds 1; normal proposals then give
    importance weights that grow like exp((C - 1) u^2 / 2), whose variance is infinite once C >= 2 (cbpp's
    herds have C ~ 3). Polynomial t tails keep the variance finite."""

    def __init__(self, n_points, seed=None, df=5.0):
        self.n_points = v.positive_int(n_points, "n_points")
        self.seed = seed
        self.df = v.greater_than(df, 2.0, "df")
        self.name = f"QMCIntegrator({self.n_points}, seed={seed!r}, df={self.df:g})"
        # the proposal moves with the parameters, so the fixed-point gradient is off by the sampling error;
        # but the estimate is the adaptive form (fixed points z and weights w, moved by the mode and the
        # curvature's factor), whose total derivative the "adaptive" path computes exactly
        self.gradient = "adaptive"

    def _rule(self, q):
        from scipy.special import gammaln, ndtri
        from scipy.stats import chi2, qmc

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # n not a power of 2: still a valid scrambled net
            u = qmc.Sobol(q + 1, scramble=True, seed=self.seed).random(self.n_points)
        nu = self.df
        z = ndtri(u[:, :q]) * np.sqrt(nu / chi2.ppf(u[:, q], nu))[:, None]
        r2 = np.einsum("ki,ki->k", z, z)
        log_t = (gammaln(0.5 * (nu + q)) - gammaln(0.5 * nu) - 0.5 * q * np.log(nu * np.pi)
                 - 0.5 * (nu + q) * np.log1p(r2 / nu))
        log_normal = -0.5 * q * np.log(2 * np.pi) - 0.5 * r2
        # a rule for the N(0, I) density: sum_k w_k f(z_k) ~ E f(Z), with w proportional to phi / t, scaled
        # to sum to 1 (the ratio estimator with the known E[phi/t] = 1 as control: exact for Gaussian
        # integrands, as the normal proposal was, and much less variable than w = phi / t / n)
        w = np.exp(log_normal - log_t)
        return np.ascontiguousarray(z), w / w.sum()
