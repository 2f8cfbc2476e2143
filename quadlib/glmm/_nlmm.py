"""Nonlinear mixed-effects models: :func:`nlmm` (nlme's ``nlme`` and lme4's ``nlmer``).

The model
---------
Rows j of group g: ``y_j = f(phi_j, x_j) + e_j``, ``e_j ~ N(0, sigma^2)``, with the parameter vector
``phi_ij = beta_i + b_gi`` for the parameters i in `random` and ``beta_i`` for the others, and
``b_g ~ N(0, D)`` independent over groups, D diagonal or unstructured. ``f`` is an expression of the data's
columns and the parameter names, or a Python function; it is always evaluated for all rows at once, and for
all the points an integrator asks for at once (arrays of shape (N, K)).

The pipeline, as for the GLMMs: :class:`NonlinearModel` (the function and the data as arrays, rows sorted
by group: :mod:`quadlib.glmm._nlmm_model`) -> :class:`NLMMObjective` (the marginal log-likelihood,
integrated by a core integrator: this module) -> :func:`quadlib.glmm.optimize` -> :class:`NLMMResult`; or,
for ``method="foce"``, the Lindstrom–Bates iteration (:mod:`quadlib.glmm._foce`), whose linear step is the
closed-form ML fit of :class:`quadlib.glmm.LMMObjective`. This module owns the likelihood and the entry
point :func:`nlmm`.

Methods
-------
``"laplace"`` (lme4's ``nlmer``): each group's integral over b by :class:`quadlib.Laplace`, all groups in
one batched call. The curvature at the mode is the Gauss–Newton one, ``L'J'JL / sigma^2 + I`` in u
(``b = L u``, J the derivatives of f in the random parameters), not the exact Hessian, which has the extra
term ``-sum_j r_j L' d2f_j L / sigma^2``: nlmer (and the Laplace approximation of Pinheiro and Bates 1995)
drop that term, whose expectation is zero. At nlmer's Theoph estimates the Gauss–Newton curvature gives
nlmer's log-likelihood to 1e-9 (-176.99192) and the exact Hessian gives -177.879 (the exact integral,
by quadrature: -177.749); on Orange, f is linear in the random parameter and the two (and the exact
integral) coincide. ``NLMMObjective(..., hessian="exact")`` gives the other approximation.

``"agq"``: exact maximum likelihood by adaptive Gauss–Hermite quadrature
(:class:`quadlib.AdaptiveGaussHermite`), the nodes centred at the mode and scaled by the same curvature (one
node is ``"laplace"``); nlmer cannot do this ("nAGQ > 1 not yet implemented for nlmer models").

``"foce"`` (nlme's ``nlme``, ML): the Lindstrom–Bates alternation of a penalized nonlinear least-squares
step (the conditional modes of b and beta given the relative covariance) and a linear mixed-model step (ML
estimates of the covariance, beta and sigma for the model linearized at those modes), to its fixed point.
``llf`` is the log-likelihood of the linearized model there, as nlme reports it. The PNLS step is Newton's
method with the exact curvature (second derivatives of f), the LMM step Newton's method on the profiled ML
deviance of the linearized model (per group, analytic gradient) from the previous covariance, and the
alternation is Anderson-accelerated (:mod:`quadlib.glmm._foce`): the same fixed point as the plain
alternation of Gauss–Newton and quasi-Newton steps, in a fraction of the time.

Derivatives
-----------
The derivatives of f in its parameters are fourth-order central differences (steps ``+-h, +-2h``,
``h = 1e-3 max(|phi|, 1)``, error ~1e-12 relative), one call of the model with ``1 + 4k`` values of the k
parameters per row; second derivatives add the ``2k(k - 1)`` mixed points. Each group's mode is found by
Newton's method with the exact Hessian (Newton with the Gauss–Newton curvature converges only linearly:
25-50 iterations on Theoph), and the rule is then placed with the Gauss–Newton curvature from there. The
gradient of the marginal log-likelihood (laplace, agq) is a central difference (relative step 1e-4), all
``2 n + 1`` parameter vectors integrated in a single call of the integrator: each (parameter vector, group)
pair is one cluster, its covariance factor applied inside ``log_g`` (the integral of ``g(L u)`` over
``u ~ N(0, I)``, ``factor=I``). The log-likelihood is then reproducible to ~1e-13 relative, which the
Hessian of the standard errors (differences of these gradients) needs.

References
----------
M. J. Lindstrom and D. M. Bates, "Nonlinear mixed effects models for repeated measures data",
Biometrics 46 (1990) 673-687.
J. C. Pinheiro and D. M. Bates, "Approximations to the log-likelihood function in the nonlinear
mixed-effects model", Journal of Computational and Graphical Statistics 4 (1995) 12-35.
D. Bates, M. Maechler, B. Bolker and S. Walker, lme4: ``nlmer`` (R package lme4, 2015).
"""
import math
import warnings

import numpy as np

from .. import _validation as v
from .._integrators import AdaptiveGaussHermite, Laplace
from .._result import DomainError
from ._foce import foce
from ._nlmm_model import NonlinearModel
from ._optimize import ConvergenceWarning, blas_controller, optimize
from ._nlmm_result import NLMMResult

__all__ = ["nlmm", "NLMMResult", "NLMMObjective", "NonlinearModel"]

_GRADIENT_STEP = 1e-4  # relative central-difference step for the gradient of the marginal log-likelihood
_NAGQ_DEFAULT = 10
_PRODUCT_LIMIT = 100_000
_LOG_2PI = math.log(2 * math.pi)


# ---------------------------------------------------------------------------------------------------------
# stage 2: the marginal log-likelihood (laplace, agq)
# ---------------------------------------------------------------------------------------------------------
class _Sets:
    """The group log-integrands at S parameter vectors at once: cluster c = s M + g is group g under vector
    s, its rows the data's rows repeated S times. In u (``b = L_s u``, u ~ N(0, I)): ``log_g(u)`` and
    ``gauss_newton(u)`` / ``exact(u)`` (value, gradient, Hessian), the protocol of the core integrators."""

    def __init__(self, model, betas, Ls, sigmas):
        self.model = m = model
        S, N, M = betas.shape[0], m.nobs, m.n_groups
        which = np.repeat(np.arange(S), N)                           # the vector of each (repeated) row
        self.cluster = which * M + np.tile(m.index, S)
        self.starts = np.flatnonzero(np.r_[True, self.cluster[1:] != self.cluster[:-1]])
        self.y = np.tile(m.y, S)
        self.columns = m.tiled(S)
        self.inv_var = (1.0 / sigmas ** 2)[which]
        self.log_norm = -0.5 * (_LOG_2PI + 2 * np.log(sigmas))[which]
        self.L = np.repeat(Ls, M, axis=0)                            # (C, q, q): each cluster's factor
        self.Lt = np.ascontiguousarray(np.swapaxes(self.L, 1, 2))
        self.base = {name: betas[which, i] for i, name in enumerate(m.parameters)}
        self.random_names = [m.parameters[i] for i in m.random_index]

    def _phi(self, u):
        """Per-row parameters at u (C, q) -> (NS,) arrays, or u (C, K, q) -> (NS, K) arrays."""
        b = (u @ self.Lt if u.ndim == 3 else (u[:, None, :] @ self.Lt)[:, 0])[self.cluster]
        phi = {name: value[:, None] for name, value in self.base.items()} if u.ndim == 3 else dict(self.base)
        for r, name in enumerate(self.random_names):
            phi[name] = phi[name] + b[..., r]
        return phi

    def log_g(self, u):  # (C, K, q) -> (C, K)
        residual = self.y[:, None] - self.model.evaluate(self._phi(u), self.columns)
        terms = self.log_norm[:, None] - 0.5 * self.inv_var[:, None] * residual ** 2
        terms[~np.isfinite(terms)] = -np.inf
        return np.add.reduceat(terms, self.starts, axis=0)

    def _in_u(self, value, grad, hess):
        """Row terms in b summed per cluster and mapped to u: L^T g, L^T H L."""
        value = np.add.reduceat(value, self.starts)
        value[~np.isfinite(value)] = -np.inf
        grad = np.add.reduceat(grad, self.starts, axis=0)
        hess = np.add.reduceat(hess, self.starts, axis=0)
        return value, (self.Lt @ grad[:, :, None])[:, :, 0], self.Lt @ hess @ self.L

    def gauss_newton(self, u):  # (C, q) -> value (C,), gradient (C, q), Gauss–Newton Hessian (C, q, q)
        f, J = self.model.jacobian(self._phi(u), self.model.random_index, self.columns)
        residual = self.y - f
        return self._in_u(self.log_norm - 0.5 * self.inv_var * residual ** 2, J * (self.inv_var * residual)[:, None],
                          -J[:, :, None] * J[:, None, :] * self.inv_var[:, None, None])

    def exact(self, u):  # the same with the exact Hessian (second derivatives of f)
        f, J, H = self.model.second_derivatives(self._phi(u), self.model.random_index, self.columns)
        residual = self.y - f
        return self._in_u(self.log_norm - 0.5 * self.inv_var * residual ** 2, J * (self.inv_var * residual)[:, None],
                          (residual[:, None, None] * H - J[:, :, None] * J[:, None, :]) * self.inv_var[:, None, None])


class NLMMObjective:
    """The marginal log-likelihood of a :class:`NonlinearModel`, each group's integral over its random
    effects computed by a core integrator (module notes).

    Parameters, in this order (``names``): the fixed effects beta; theta, the free entries of the lower
    triangular factor L of D = L L^T (the SDs for a diagonal D; diagonal entries >= 0, ``bounds``);
    log(sigma). ``objective(params)`` is the log-likelihood (constants included) and
    ``objective.value_and_gradient(params)`` adds its central-difference gradient, the protocol of
    :func:`quadlib.glmm.optimize`.

    Parameters
    ----------
    model : NonlinearModel
    integrator : object, optional
        :class:`quadlib.Laplace` (default) or :class:`quadlib.AdaptiveGaussHermite`.
    hessian : {"gauss-newton", "exact"}
        The curvature of each group's log-integrand at its mode that places the rule (and enters the
        Laplace approximation's determinant): Gauss–Newton, as nlmer, or the exact one (with the second
        derivatives of f).
    start : dict, optional
        Starting fixed effects (default: 1 for every parameter).

    Examples
    --------
    >>> from quadlib.glmm import datasets
    >>> m = NonlinearModel("circumference ~ Asym / (1 + exp((xmid - age) / scal))", datasets.load("orange"),
    ...                    fixed=["Asym", "xmid", "scal"], random=["Asym"], group="Tree")
    >>> objective = NLMMObjective(m)
    >>> objective.names
    ['Asym', 'xmid', 'scal', 'theta[Tree: Asym, Asym]', 'log(sigma)']
    >>> round(objective([192.0531, 727.9055, 348.0720, 31.6464, np.log(7.84301)]), 4)   # nlmer: -131.5719
    -131.5719
    """

    def __init__(self, model, integrator=None, *, hessian="gauss-newton", start=None):
        if not isinstance(model, NonlinearModel):
            raise TypeError(f"`model` must be a NonlinearModel, got {type(model).__name__}")
        self.model = model
        self.integrator = Laplace() if integrator is None else integrator
        if not hasattr(self.integrator, "log_integrals"):
            raise TypeError("`integrator` must be a quadlib integrator (Laplace, AdaptiveGaussHermite, ...)")
        self.hessian = v.choice(hessian, ("gauss-newton", "exact"), "hessian")
        P = len(model.parameters)
        self.layout = model.theta_layout(offset=P)   # theta: the covariance factor itself (not relative)
        self.n_beta, self.n_theta = P, self.layout.n_theta
        self.n_params = P + self.n_theta + 1
        self.names = list(model.parameters) + self.layout.names + ["log(sigma)"]
        self.bounds = [(None, None)] * P + self.layout.bounds + [(None, None)]
        self._start = np.ones(P) if start is None else np.array([start[p] for p in model.parameters], dtype=float)
        self.warm_modes = None   # the modes in u of the last evaluation: the next one's start (one row per group)
        self.last = None         # the integrator's result at the last evaluation (inspection only)
        self.evaluations = 0

    def split(self, params):
        """(beta, L, sigma) from a parameter vector."""
        params = np.asarray(params, dtype=float)
        return params[:self.n_beta], self.layout.factors(params)[0], float(np.exp(params[-1]))

    def start(self):
        """Starting values: the fixed effects fitted by nonlinear least squares without random effects
        from the `start` given, sigma its residual SD, and every random-effect SD equal to sigma (nlmer's
        relative factor 1)."""
        beta, sigma = self.model.fixed_fit(self._start)
        if not np.isfinite(sigma) or sigma <= 0:
            beta, sigma = self._start, 1.0
        return np.concatenate([beta, self.layout.start(sigma), [np.log(sigma)]])

    def _integrate(self, X, update=True):
        """The integrals at the parameter vectors (rows of `X`) in one integrator call: (the integrator's
        result, or None outside the model's domain; the log-likelihoods). `update`: record ``warm_modes``
        (of the first vector) and ``last``."""
        S, M, q = X.shape[0], self.model.n_groups, self.model.q
        sets = _Sets(self.model, *map(np.array, zip(*(self.split(x) for x in X))))
        log_g = sets.log_g

        def integrate(integrator, derivatives, start, tol):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a failed cluster gives NaN: the optimizer sees -inf
                return integrator.log_integrals(log_g, S * M, q, factor=np.eye(q), start=start,
                                                derivatives=derivatives, tol=tol)

        u0 = None if self.warm_modes is None else np.tile(self.warm_modes, (S, 1))
        try:
            if self.hessian == "exact":
                res = integrate(self.integrator, sets.exact, u0, 1e-10)
            else:
                # Newton with the Gauss–Newton curvature converges only linearly (25-50 iterations to 1e-10
                # on Theoph): the modes are found with the exact Hessian (quadratic convergence), then the
                # rule is placed with the Gauss–Newton curvature from there (one or two iterations)
                modes = integrate(Laplace(), sets.exact, u0, 1e-11)
                start = modes.mode_u if np.all(np.isfinite(modes.mode_u)) else u0
                res = integrate(self.integrator, sets.gauss_newton, start, 1e-10)
        except DomainError:   # the model is not finite at the start: outside its domain
            res = None
        totals = np.full(S, -np.inf) if res is None else res.log_integral.reshape(S, M).sum(axis=1)
        totals[~np.isfinite(totals)] = -np.inf
        if update:
            self.last = res
            ok = res is not None and res.success and np.all(np.isfinite(res.mode_u[:M]))
            self.warm_modes = res.mode_u[:M].copy() if ok else None
        return res, totals

    def log_likelihoods(self, params):
        """The log-likelihoods at several parameter vectors (rows of `params`), in one integrator call.
        Updates ``warm_modes`` and ``last``."""
        X = np.atleast_2d(np.asarray(params, dtype=float))
        self.evaluations += X.shape[0]
        return self._integrate(X)[1]

    def log_likelihood(self, params):
        """The marginal log-likelihood (full, constants included); -inf where it cannot be computed."""
        params = np.asarray(params, dtype=float)
        if params.shape != (self.n_params,):
            raise ValueError(f"`params` must have {self.n_params} values ({', '.join(self.names)}), "
                             f"got shape {params.shape}")
        return float(self.log_likelihoods(params[None, :])[0])

    __call__ = log_likelihood

    def value_and_gradient(self, params):
        """The log-likelihood and its central-difference gradient (relative step 1e-4), all 2n + 1
        parameter vectors in one integrator call."""
        x = np.asarray(params, dtype=float)
        n = x.size
        h = _GRADIENT_STEP * np.maximum(np.abs(x), 1.0)
        X = np.repeat(x[None, :], 2 * n + 1, axis=0)
        X[1 + np.arange(n), np.arange(n)] += h
        X[1 + n + np.arange(n), np.arange(n)] -= h
        values = self.log_likelihoods(X)
        width = X[1 + np.arange(n), np.arange(n)] - X[1 + n + np.arange(n), np.arange(n)]
        if not np.isfinite(values[0]):
            return -np.inf, np.full(n, np.nan)
        return float(values[0]), (values[1:n + 1] - values[n + 1:]) / width

    def conditional_modes(self, params):
        """The modes of b given y per group (M, q) and the inverse curvature there mapped to b (M, q, q)."""
        _, L, _ = self.split(params)
        self.evaluations += 1
        res = self._integrate(np.asarray(params, dtype=float)[None, :])[0]
        if res is None:   # outside the model's domain
            M, q = self.model.n_groups, self.model.q
            return np.full((M, q), np.nan), np.full((M, q, q), np.nan)
        u = res.mode_u
        cov = np.einsum("ia,mab,jb->mij", L, np.linalg.inv(res.curvature), L)
        return u @ L.T, cov


# ---------------------------------------------------------------------------------------------------------
# the public function
# ---------------------------------------------------------------------------------------------------------
def _nlmm_iv(model, data, fixed, random, group, start, method, nagq, covariance, response, max_iter):
    nonlinear = NonlinearModel(model, data, fixed=fixed, random=random, group=group, covariance=covariance,
                               response=response, _stacklevel=4)
    if not isinstance(start, dict):
        raise TypeError(f"`start` must be a dict of starting values for the fixed effects, got "
                        f"{type(start).__name__}")
    missing = [p for p in nonlinear.parameters if p not in start]
    if missing:
        raise ValueError(f"`start` has no value for the parameter(s) {', '.join(map(repr, missing))}")
    extra = [k for k in start if k not in nonlinear.parameters]
    if extra:
        raise ValueError(f"`start` has values for {', '.join(map(repr, extra))}, not parameters in `fixed`")
    start = {p: v.real_scalar(start[p], f"start[{p!r}]") for p in nonlinear.parameters}
    if not isinstance(method, str):
        raise TypeError(f"`method` must be 'laplace', 'agq' or 'foce', got {method!r}")
    method = v.choice(method, ("laplace", "agq", "foce"), "method")
    if method == "laplace" and nagq not in (None, 1):
        raise ValueError("`nagq` applies to method='agq'; method='laplace' has one node")
    if method == "foce" and nagq is not None:
        raise ValueError("`nagq` applies to method='agq', not 'foce'")
    if method == "agq":
        nagq = v.positive_int(_NAGQ_DEFAULT if nagq is None else nagq, "nagq", maximum=200)
        if nagq ** nonlinear.q > _PRODUCT_LIMIT:
            raise ValueError(f"`nagq`={nagq} with {nonlinear.q} random effects is a {nagq}^{nonlinear.q}-point "
                             "product rule per group: use fewer nodes")
    max_iter = v.positive_int(max_iter, "max_iter", maximum=10_000)
    with np.errstate(all="ignore"):
        f = nonlinear.evaluate(nonlinear.phi([start[p] for p in nonlinear.parameters]))
    if f.shape != (nonlinear.nobs,) or not np.all(np.isfinite(f)):
        raise ValueError(f"`model` predictions are not finite at the start values in "
                         f"{int(np.sum(~np.isfinite(f)))} row(s)")
    return nonlinear, start, method, nagq, max_iter


def nlmm(model, data, *, fixed, random, group, start, method="laplace", nagq=None, covariance="diagonal",
         response=None, max_iter=1000, verbose=False):
    """Fit a nonlinear mixed-effects model by maximum likelihood (nlme's ``nlme``, lme4's ``nlmer``).

    Rows j of group g: ``y_j = f(phi_j, x_j) + e_j``, ``e_j ~ N(0, sigma^2)``, ``phi_ij = beta_i + b_gi``
    (parameters with a random effect) or ``beta_i``, ``b_g ~ N(0, D)``.

    Parameters
    ----------
    model : str or callable
        ``"response ~ expression"`` of the data's columns, the parameter names and numpy functions (exp,
        log, sqrt, ...), e.g. ``"circumference ~ Asym / (1 + exp((xmid - age) / scal))"``; or a function
        ``f(params, data)`` of a dict of per-row parameter values, arrays of shape (N,) or (N, K), and a dict
        of the data's columns, arrays of shape (N,) or (N, 1) respectively, returning predictions of the
        parameters' shape (it is called for all rows and points at once; then give `response`).
    data : pandas.DataFrame
    fixed : list of str
        The parameters, each a fixed effect.
    random : list of str
        The parameters that also have a random effect by `group`.
    group : str
        The grouping column.
    start : dict
        Starting values of every fixed effect (required, as in nlme).
    method : {"laplace", "agq", "foce"}
        ``"laplace"``: the Laplace approximation with the Gauss–Newton curvature, as lme4's nlmer.
        ``"agq"``: exact maximum likelihood by adaptive Gauss–Hermite quadrature with `nagq` nodes per
        random effect (default 10). ``"foce"``: the Lindstrom–Bates algorithm, as nlme (method="ML").
    nagq : int, optional
    covariance : {"diagonal", "unstructured"}
        D, when there are several random effects.
    response : str, optional
        The response column, for a callable `model`.
    max_iter : int
        Bound on the optimizer's iterations (laplace, agq).
    verbose : bool
        Print the log-likelihood at every iteration.

    Returns
    -------
    NLMMResult

    Warns
    -----
    ConvergenceWarning
        If the fit did not converge (``converged=False``).

    Notes
    -----
    The log-likelihood is maximized over (beta, the covariance factor of D, log sigma) by L-BFGS-B and a
    Newton polish (:func:`quadlib.glmm.optimize`); the standard errors come from the Hessian there. With
    ``"foce"`` they are nlme's: those of the linearized model at the fixed point. See the module notes for
    the curvature used by the Laplace approximation and the derivatives.

    References
    ----------
    M. J. Lindstrom and D. M. Bates, "Nonlinear mixed effects models for repeated measures data",
    Biometrics 46 (1990) 673-687.
    J. C. Pinheiro and D. M. Bates, "Approximations to the log-likelihood function in the nonlinear
    mixed-effects model", Journal of Computational and Graphical Statistics 4 (1995) 12-35.
    D. Bates, M. Maechler, B. Bolker and S. Walker, lme4: ``nlmer`` (R package lme4, 2015).

    Examples
    --------
    >>> from quadlib.glmm import datasets
    >>> orange = datasets.load("orange")
    >>> logistic = "circumference ~ Asym / (1 + exp((xmid - age) / scal))"
    >>> fit = nlmm(logistic, orange, fixed=["Asym", "xmid", "scal"], random=["Asym"], group="Tree",
    ...            start={"Asym": 200, "xmid": 725, "scal": 350})
    >>> fit.params.round(1).tolist(), round(fit.llf, 4)          # nlmer: 192.053, 727.904, 348.072; -131.5719
    ([192.1, 727.9, 348.1], -131.5719)
    >>> fit = nlmm(logistic, orange, fixed=["Asym", "xmid", "scal"], random=["Asym"], group="Tree",
    ...            start={"Asym": 170, "xmid": 700, "scal": 350}, method="foce")
    >>> fit.params.round(1).tolist(), round(fit.llf, 4)          # nlme: 191.049, 722.556, 344.162; -131.5846
    ([191.0, 722.6, 344.2], -131.5846)
    >>> round(float(fit.sd_re["Tree"]["Asym"]), 3), round(fit.sigma, 4)   # nlme: 31.483, 7.8463
    (31.483, 7.8463)
    """
    nonlinear, start, method, nagq, max_iter = _nlmm_iv(model, data, fixed, random, group, start, method, nagq,
                                                        covariance, response, max_iter)
    with blas_controller().limit(limits=1, user_api="blas"):  # small dense algebra: see _optimize.py
        if method == "foce":
            state = foce(nonlinear, np.array([start[p] for p in nonlinear.parameters]), verbose=verbose)
            result = NLMMResult.from_fit(model=nonlinear, data=data, method="foce", foce=state)
        else:
            integrator = Laplace() if method == "laplace" else AdaptiveGaussHermite(nagq)
            objective = NLMMObjective(nonlinear, integrator, start=start)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                outcome = optimize(objective, max_iter=max_iter, verbose=verbose)
            for w in caught:
                if not issubclass(w.category, ConvergenceWarning):
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            result = NLMMResult.from_fit(model=nonlinear, data=data, method=method, objective=objective,
                                         outcome=outcome, nagq=nagq)
    if not result.converged:
        warnings.warn(f"nlmm: the fit did not converge ({result.message})", ConvergenceWarning, stacklevel=2)
    return result
