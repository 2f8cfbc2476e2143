"""The Laplace approximation of a GLMM with several grouping factors (crossed, nested or partially crossed) on
the blocked Cholesky factor of :mod:`quadlib.glmm._blocked`: :class:`BlockedLaplaceObjective`.

With b = Lambda u, u ~ N(0, I), the log-likelihood of params = (beta, theta, [log phi]) is the integral over u of
``exp(h(u))``, ``h(u) = sum_i log p(y_i | eta_i) - |u|^2 / 2``, ``eta = offset + X beta + Z Lambda u``. The
Laplace approximation expands h at its mode u*:

    llf = h(u*) - log|Lambda' Z' W Z Lambda + I| / 2 + constant,      W = diag(-d^2 log p / d eta^2) at u*

(Bates et al. 2015, eq. 33; MixedModels.jl's ``deviance(::GeneralizedLinearMixedModel)``). The mode is found by
penalized iteratively reweighted least squares (PIRLS): Newton's method on h, each step a refill of the blocked
factor of ``Lambda'Z'WZ Lambda + I`` with the weights at the current u, a solve, and step halving. W is the
observed curvature ``-d2``: for the canonical links (logit, log for poisson, identity) it is lme4's working
weight; for the others it is the curvature that the Laplace approximation needs (lme4 uses the expected one in
its PIRLS and the observed one nowhere, so its "Laplace" differs there at second order).

The blocked factor never forms a dense q x q matrix unless a factor crossed with an earlier one makes its block
dense (see :mod:`quadlib.glmm._blocked`: the structure refuses designs over its memory bound with
:class:`~quadlib.glmm._blocked.BlockedUnsupported`, and :class:`~quadlib.glmm._objective.Objective` then falls
back to :class:`~quadlib.glmm._objective.JointObjective`).

Derivatives. The objective declares ``derivatives = "values"``: :func:`quadlib.glmm.optimize` maximizes it by a
derivative-free trust-region method (COBYQA), as lme4 (bobyqa) and MixedModels.jl (BOBYQA) do. An exact gradient
would need a selected inverse of the factor on the pattern of Z'WZ and the row leverages; the values alone meet
the speed contract of issue 17. ``value_and_gradient`` (only for a gradient method asked for by name) is a central
difference. :func:`~quadlib.glmm.fit` runs lme4's two stages: :meth:`BlockedLaplaceObjective.beta_profiled`
(theta only, beta in the PIRLS: lme4's nAGQ = 0) and then all parameters.

State (named fields, as in :class:`~quadlib.glmm._objective.Objective`): ``warm_modes``, the modes in u of the
last successful evaluation (the next evaluation's start), and ``last``, a :class:`PIRLSOutcome`.

Bounds. PIRLS takes at most 50 Newton steps of at most 30 halvings each (``MAX_PIRLS``, ``MAX_HALVINGS``); a
failure (no step raises h, a factor that is not positive definite, a linear predictor outside the family's domain)
is a log-likelihood of -inf with the reason in ``last.message``, never an exception. The memory is that of the
blocked factor (bounded by its structure) plus O(N + q) vectors.

References
----------
D. Bates, M. Maechler, B. Bolker and S. Walker, "Fitting linear mixed-effects models using lme4", Journal of
Statistical Software 67(1), 2015, sections 3.6 and 5 (PIRLS, nAGQ = 0 and the two stages of glmer).
D. Bates et al., MixedModels.jl, ``src/generalizedlinearmixedmodel.jl`` (``pirls!``, ``deviance``).
"""
from dataclasses import dataclass
import math
import warnings

import numpy as np

from .._result import DomainError
from ._blocked import BlockedFactor, BlockedStructure, BlockedUnsupported
from ._covariance import ThetaLayout
from ._objective import Objective, check_joint_integrator, gradient_path
from ._optimize import value_gradient

__all__ = ["BlockedLaplaceObjective", "BetaProfiledLaplace", "PIRLSOutcome", "blocked_structure", "row_terms",
           "MAX_PIRLS", "MAX_HALVINGS", "PIRLS_TOL"]

MAX_PIRLS = 50        # Newton steps of one PIRLS
MAX_HALVINGS = 30     # halvings of one step
PIRLS_TOL = 1e-12     # converged when the Newton decrement g'H^-1 g is below this times 1 + |h|
_ROUNDING = 1e-13     # a trial point whose h is this (relative) below the current one is accepted: rounding
# a decrement this small (relative) leaves a step below 1e-13 (|step|^2 <= decrement, since H >= I): the mode is
# exact to rounding, no further step (a warm start at the same point, the gaussian family after one step)
_EXACT = 1e-26


@dataclass(frozen=True)
class PIRLSOutcome:
    """How one PIRLS ended (``objective.last``).

    Attributes
    ----------
    success : bool
    n_iter : int
        Newton steps taken.
    decrement : float
        The last Newton decrement ``g' H^-1 g`` (twice the predicted remaining rise of h).
    message : str
        ``"converged"`` or why not.
    """

    success: bool
    n_iter: int
    decrement: float
    message: str


def blocked_structure(design, X=None):
    """The symbolic blocked structure of `design`'s random effects (one block per grouping factor, fit's
    layout) with fixed-effects columns `X` (default none), or None when the structure refuses the design
    (:class:`~quadlib.glmm._blocked.BlockedUnsupported`: a dense block over its memory bound)."""
    layout = ThetaLayout.from_terms(design.terms, by="group", offset=design.X.shape[1])
    try:
        return BlockedStructure.from_blocks(layout.blocks, X, design.nobs)
    except BlockedUnsupported:
        return None


def row_terms(objective, eta, phi):
    """The row terms (value, d1, d2) of `objective`'s response at `eta`: the family's own for a plain response
    (no zero-inflation, dispersion model or shapes), else the response model's (`phi` as ``split`` returns
    it: the family's phi, or the :class:`~quadlib.glmm._response.AuxValues`)."""
    response = getattr(objective, "response", None)
    if response is None or response.plain:
        return objective.family.terms(objective.y, objective.n, eta, phi, order=2)
    return response.terms(eta, phi, order=2)


def _failure(n_iter, decrement, message):
    """What :meth:`BlockedLaplaceObjective.pirls_inplace` returns when it fails."""
    return np.nan, None, PIRLSOutcome(False, n_iter, decrement, message), None


def _fill_inplace(factor, factors, w, d1, eta):
    """Refill `factor` with the weights `w` (of any sign) and the working response ``eta + d1 / w``, so that its
    solution is the step ``H^-1 g`` for the Hessian that `w` makes, and factor it; what
    :meth:`~quadlib.glmm._blocked.BlockedFactor.update_inplace` returns. A weight of 0 on a row with a slope
    (an inflection point of its log-density) becomes 1e-10 of the largest, so that the response stays finite;
    a row with no slope and no curvature (a hurdle's zero in the count part) keeps its 0 and its eta."""
    flat = (w == 0.0) & (d1 != 0.0)
    if flat.any():
        w = np.where(flat, 1e-10 * max(float(np.max(np.abs(w))), 1e-300), w)
    z = eta + np.divide(d1, w, out=np.zeros_like(d1), where=w != 0.0)
    factor.set_weights_inplace(w, z)
    return factor.update_inplace(factors)


class _RandomProducts:
    """Z Lambda u and Lambda' Z' r over the layout's blocks (level-major u), O(N q) each, no sparse matrix."""

    def __init__(self, blocks, nobs):
        self.blocks = blocks
        self.nobs = nobs
        self.index = [np.ascontiguousarray(block.index, dtype=np.intp) for block in blocks]
        # the columns of each block's Z, each contiguous (bincount's weights)
        self.columns = [[np.ascontiguousarray(block.Z[:, c], dtype=float) for c in range(block.q)] for block in blocks]
        self.ones = [all(np.all(col == 1.0) for col in cols) for cols in self.columns]

    def z_lambda(self, u, factors, out):
        """out (N,) += Z Lambda u."""
        for block, T, index, cols, ones in zip(self.blocks, factors, self.index, self.columns, self.ones):
            b = u[block.start:block.stop].reshape(block.n_levels, block.q) @ T.T
            if block.q == 1:
                out += b[index, 0] if ones else cols[0] * b[index, 0]
            else:
                for c, col in enumerate(cols):
                    out += col * b[index, c]
        return out

    def lambda_t_z_t(self, r, factors, out):
        """out (q,) = Lambda' Z' r."""
        for block, T, index, cols, ones in zip(self.blocks, factors, self.index, self.columns, self.ones):
            s = np.empty((block.n_levels, block.q))
            for c, col in enumerate(cols):
                s[:, c] = np.bincount(index, r if (ones and block.q == 1) else col * r, minlength=block.n_levels)
            out[block.start:block.stop] = (s @ T).ravel()
        return out


class BlockedLaplaceObjective(Objective):
    """The Laplace approximation of the marginal log-likelihood with several grouping factors, on the blocked
    Cholesky factor (module notes); the protocol of :class:`~quadlib.glmm._objective.Objective` with
    ``derivatives = "values"``.

    ``Objective(design, family)`` makes one for several grouping factors with the Laplace integrator, unless
    the blocked structure refuses the design (then a :class:`~quadlib.glmm._objective.JointObjective`).

    Attributes
    ----------
    structure : BlockedStructure
        The symbolic analysis of the random effects (no fixed effects), made once.
    factor : BlockedFactor
        The numeric factor, refilled at every PIRLS step (at the modes after an evaluation).
    warm_modes : ndarray or None
        The modes u of the last successful evaluation.
    last : PIRLSOutcome or None

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from quadlib.glmm import build_design
    >>> rng = np.random.default_rng(1)
    >>> data = pd.DataFrame({"a": np.repeat(list("abcdefgh"), 8), "b": np.tile(list("stuvwxyz"), 8)})
    >>> data["y"] = rng.poisson(2.0, 64)
    >>> objective = BlockedLaplaceObjective(build_design("y ~ 1 + (1 | a) + (1 | b)", data), "poisson")
    >>> objective.names
    ['(Intercept)', 'theta[a: (Intercept), (Intercept)]', 'theta[b: (Intercept), (Intercept)]']
    >>> bool(np.isfinite(objective([0.7, 0.3, 0.2]))), objective.last.success
    (True, True)
    """

    derivatives = "values"

    @classmethod
    def claim(cls, design, integrator):
        """Several grouping factors with the Laplace integrator, unless the blocked structure refuses the
        design: a stronger claim than :class:`~quadlib.glmm._objective.JointObjective`'s."""
        several = len({term.group for term in design.terms}) > 1
        if several and gradient_path(integrator) == "laplace" and blocked_structure(design) is not None:
            return 2
        return 0

    def __init__(self, design, family="binomial", integrator=None, *, link=None):
        super().__init__(design, family, integrator, link=link)
        check_joint_integrator(self)
        self.structure = BlockedStructure.from_blocks(self.blocks, None, design.nobs)
        self.factor = BlockedFactor(self.structure)
        self.products = _RandomProducts(self.blocks, design.nobs)
        self.Q = self.layout.n_random
        self.warm_params = None   # the parameters of warm_modes
        self.warm_terms = None    # the family's d1, d2 at warm_modes, while the factor is still there

    # ------------------------------------------------------------------------------------------- PIRLS
    def pirls_inplace(self, factor, beta, factors, phi, u0):
        """The mode of h(u) for fixed (beta, Lambda, phi) by PIRLS from `u0` (module notes), with `factor`
        left at the weights of the mode.

        Returns
        -------
        (h, u, PIRLSOutcome, FamilyTerms)
            h(u*), u* and the family's terms there (NaN, None and None on failure).
        """
        eta0 = self.design.offset + self.design.X @ beta
        u = np.zeros(self.Q) if u0 is None else u0.copy()
        g = np.empty(self.Q)

        def evaluate(u):
            t = row_terms(self, self.products.z_lambda(u, factors, eta0.copy()), phi)
            return float(np.sum(t.value)) - 0.5 * float(u @ u), t

        try:
            h, t = evaluate(u)
            decrement = np.inf
            converged = False
            for iteration in range(MAX_PIRLS + 1):
                if not math.isfinite(h):
                    return _failure(iteration, decrement, "h(u) is not finite")
                factor.set_weights_inplace(-t.d2)
                failed = factor.update_inplace(factors)
                if failed:
                    return _failure(iteration, decrement,
                                    f"the factor is not positive definite (block {failed - 1})")
                self.products.lambda_t_z_t(t.d1, factors, g)
                g -= u
                step = factor.solve_re(g)
                decrement = float(g @ step)
                if converged or decrement <= _EXACT * (1.0 + abs(h)):
                    return h, u, PIRLSOutcome(True, iteration, decrement, "converged"), t
                if iteration == MAX_PIRLS:
                    break
                # below the tolerance: one more full step (quadratic convergence) and the factor there, since
                # log|C| depends on u to first order (a step of 1e-6 left would move it by about that)
                converged = decrement < PIRLS_TOL * (1.0 + abs(h))
                scale = 1.0
                for _ in range(MAX_HALVINGS + 1):
                    trial = u + scale * step
                    h_trial, t_trial = evaluate(trial)
                    if h_trial >= h - _ROUNDING * abs(h):
                        break
                    scale *= 0.5
                else:
                    if converged:   # the last step is at rounding level: the factor is current at u
                        return h, u, PIRLSOutcome(True, iteration, decrement, "converged"), t
                    return _failure(iteration, decrement, "no step along the Newton direction raises h(u) "
                                    f"(decrement {decrement:.3g})")
                u, h, t = trial, h_trial, t_trial
        except DomainError as error:     # the linear predictor left the family's domain
            return _failure(0, np.nan, str(error))
        return _failure(MAX_PIRLS, decrement,
                        f"no convergence in {MAX_PIRLS} PIRLS steps (decrement {decrement:.3g})")

    def _integrate(self, params, update=True):
        """(h(u*), u*) at `params` with the factor at the mode; (NaN, None) on failure. `update`: record
        ``warm_modes``, ``warm_params``, ``warm_terms`` and ``last``.

        The start is the last mode moved by one Newton predictor step for the change of the parameters,
        ``du = C^-1 (d g / d params) dparams`` (g the gradient of h in u, C its negative Hessian), solved with
        the factor still at that mode: the first PIRLS step then starts within O(|dparams|^2) of the mode
        instead of O(|dparams|) (about one PIRLS step fewer per evaluation near the optimum)."""
        beta, factors, phi = self.split(params)
        u0 = self.warm_modes
        if u0 is not None and self.warm_terms is not None:
            u0 = self._predicted_modes(params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # overflow in a far trial point: h = -inf
            h, u, outcome, t = self.pirls_inplace(self.factor, beta, factors, phi, u0)
        if update:
            self.last = outcome
            self.warm_modes = u
            self.warm_params = None if u is None else params.copy()
            self.warm_terms = None if u is None else (t.d1, t.d2)
        else:   # the factor is no longer at the warm modes: no predictor from it
            self.warm_terms = None
        return h, u

    def _predicted_modes(self, params):
        """The warm modes plus the predictor step to `params` (see :meth:`_integrate`)."""
        (beta0, factors0, _), (beta1, factors1, _) = self.split(self.warm_params), self.split(params)
        u, (d1, d2) = self.warm_modes, self.warm_terms
        change = [F1 - F0 for F1, F0 in zip(factors1, factors0)]
        products = self.products
        eta_change = products.z_lambda(u, change, self.design.X @ (beta1 - beta0))
        rhs = products.lambda_t_z_t(d1, change, np.empty(self.Q))
        rhs += products.lambda_t_z_t(d2 * eta_change, factors0, np.empty(self.Q))
        predicted = u + self.factor.solve_re(rhs)
        return predicted if np.all(np.isfinite(predicted)) else u

    def reset_warm_start(self):
        """Forget the warm start (the next evaluation starts PIRLS at u = 0)."""
        self.warm_modes = self.warm_params = self.warm_terms = None

    def _log_likelihood(self, params, update):
        h, u = self._integrate(params, update)
        if u is None:
            return -np.inf
        total = h - 0.5 * self.factor.logdet_re() + self.constant
        return float(total) if math.isfinite(total) else -np.inf

    def _value_and_gradient(self, params):
        return self._difference_gradient(params)

    # ------------------------------------------------------------------------------------------ stages
    def beta_profiled(self):
        """lme4's first stage (nAGQ = 0): the objective over theta (and log phi) with beta in the PIRLS
        (:class:`BetaProfiledLaplace`)."""
        return BetaProfiledLaplace(self)

    # ------------------------------------------------------------------------------------------ results
    def posterior_moments(self, params, integrator):
        raise ValueError("posterior means need a single grouping factor (the joint integral over crossed "
                         "or nested factors does not factor by level)")

    def _modes(self, params):
        """(u*, factors) at `params`, or None where there are none."""
        params = np.asarray(params, dtype=float)
        if self._outside(params):
            return None
        _, u = self._integrate(params)
        return None if u is None else (u, self.split(params)[1])

    def conditional_modes(self, params):
        """Per grouping factor: the modes of b given y and their conditional covariances ``T (C^-1)_ll T'``
        (C the factor's matrix at the mode, its diagonal blocks from
        :meth:`~quadlib.glmm._blocked.BlockedFactor.condvar_blocks`, no q x q inverse), as
        ``{group: (modes (M, q), cov (M, q, q))}``; NaN where they cannot be computed."""
        modes = self._modes(params)
        if modes is None:
            return self._missing_modes()
        u, factors = modes
        inner = self.factor.condvar_blocks()
        out = {}
        for block, T, C in zip(self.blocks, factors, inner):
            b = u[block.start:block.stop].reshape(block.n_levels, block.q) @ T.T
            out[block.group] = (b, np.einsum("ia,mab,jb->mij", T, C, T))
        return out

    def linear_predictor(self, params):
        """The linear predictor at the conditional modes (R's ``predict(fit)``); no conditional variances."""
        modes = self._modes(params)
        beta = self.split(params)[0]
        eta = self.design.offset + self.design.X @ beta
        if modes is None:
            return np.full(self.design.nobs, np.nan)
        return self.products.z_lambda(modes[0], modes[1], eta)


class BetaProfiledLaplace:
    """lme4's nAGQ = 0 stage: the Laplace log-likelihood over (theta, [log phi]) at the joint mode of (u, beta)
    (beta in the PIRLS), the objective protocol of :func:`quadlib.glmm.optimize` with ``derivatives = "values"``.

    Each evaluation runs PIRLS over (u, beta) on a blocked factor with the fixed effects as its last block:
    the working response ``z = eta - offset + d1 / w`` with weights ``w = -d2`` makes the factor's penalized
    least-squares solution the Newton point of (u, beta) (Bates et al. 2015, section 3.6), halved until h does
    not fall. The value is the Laplace log-likelihood at that (u, beta) (log|L_Z|, not R_X, as lme4's nAGQ = 0
    deviance).

    With ``modified_newton`` (REML's, :mod:`quadlib.glmm._reml`) a non-positive working weight is no failure:
    the step is Newton's while the observed joint Hessian is negative definite, else the one with each row's
    ``|d2|``; a converged mode must have the observed factor (else -inf: a mode that is not concave).

    Attributes
    ----------
    objective : BlockedLaplaceObjective
    warm_beta, warm_modes : ndarray or None
        The joint mode of the last successful evaluation (the next one's start, moved by a Newton predictor
        step for the change of theta).
    warm_x, warm_terms
        Where that was and the family's d1, d2 there (the predictor's).
    last : PIRLSOutcome or None
    """

    derivatives = "values"
    tolerance = PIRLS_TOL   # PIRLS's relative tolerance on the Newton decrement (see the module notes)
    # no extra Newton step after the tolerance is met: its first-order error in log|C| (about 1e-4 on 3e4 rows)
    # is far below the criterion's changes over this stage's final trust radius (about 1 at radius 1e-2)
    final_step = False
    # rows that are not log-concave (w = -d2 <= 0 somewhere): fail (lme4's PIRLS; the nAGQ = 0 stage), or take
    # the Newton step while the joint Hessian is negative definite and each row's |d2| otherwise (REML)
    modified_newton = False

    def __init__(self, objective):
        self.objective = objective
        d = objective.design
        p = objective.n_beta
        self.layout = ThetaLayout.from_terms(d.terms, by="group", offset=0)
        self.names = objective.names[p:]
        self.n_params = objective.n_params - p
        self.bounds = objective.bounds[p:]
        self.structure = BlockedStructure.from_blocks(objective.blocks, d.X, d.nobs)
        self.factor = BlockedFactor(self.structure)
        self.evaluations = 0
        self.start_beta = objective.start()[:p]   # the GLM's beta: the first evaluation's start
        self.warm_beta = None
        self.warm_modes = None
        self.warm_x = None        # the parameters of the warm start
        self.warm_terms = None    # the family's d1, d2 there (the factor is still at that mode)
        self.last = None

    def __repr__(self):
        return f"BetaProfiledLaplace({self.objective!r})"

    def start(self):
        return self.objective.start()[self.objective.n_beta:]

    def reset_warm_start(self):
        """Forget the warm start (the next evaluation starts at u = 0 and the GLM's beta)."""
        self.warm_beta = self.warm_modes = self.warm_x = self.warm_terms = None

    def full(self, x, beta):
        """The parameters (beta, theta, [log phi]) of the objective from this stage's `x` and `beta`."""
        return np.concatenate([beta, np.asarray(x, dtype=float)])

    def _predicted_modes(self, factors, u, beta):
        """The warm joint mode (u, beta) plus a Newton predictor step to the new factors (as
        :meth:`BlockedLaplaceObjective._integrate`), solved by blocks with the factor still at that mode:
        ``dbeta = K^-1 (r_beta - B' C^-1 r_u)``, ``du = C^-1 (r_u - B dbeta)``, ``B = Lambda' Z'W X``,
        ``K = L_X L_X'``."""
        obj, X = self.objective, self.objective.design.X
        products = obj.products
        old = obj.split(self.full(self.warm_x, beta))[1]
        change = [F1 - F0 for F1, F0 in zip(factors, old)]
        d1, d2 = self.warm_terms
        eta_change = products.z_lambda(u, change, np.zeros(X.shape[0]))
        r_u = products.lambda_t_z_t(d1, change, np.empty(obj.Q))
        r_u += products.lambda_t_z_t(d2 * eta_change, old, np.empty(obj.Q))
        r_beta = X.T @ (d2 * eta_change)
        w = -d2
        B = np.empty((obj.Q, X.shape[1]))   # no columns for a model without fixed effects
        for j, column in enumerate(X.T):
            products.lambda_t_z_t(w * column, old, B[:, j])
        if X.shape[1]:
            L_X = self.factor.x_factor()
            try:
                dbeta = np.linalg.solve(L_X @ L_X.T, r_beta - B.T @ self.factor.solve_re(r_u))
            except np.linalg.LinAlgError:
                return u, beta
        else:
            dbeta = np.zeros(0)
        du = self.factor.solve_re(r_u - B @ dbeta)
        if not (np.all(np.isfinite(du)) and np.all(np.isfinite(dbeta))):
            return u, beta
        return u + du, beta + dbeta

    def joint_pirls_inplace(self, x):
        """The joint mode of (u, beta) at `x` = (theta, [log phi]) from the warm start.

        Returns
        -------
        (h, u, beta, PIRLSOutcome, FamilyTerms)
            NaN, None, None, outcome, None on failure.
        """
        obj = self.objective
        X, offset = obj.design.X, obj.design.offset
        params = self.full(x, np.zeros(obj.n_beta))
        _, factors, phi = obj.split(params)
        beta = (self.start_beta if self.warm_beta is None else self.warm_beta).copy()
        u = np.zeros(obj.Q) if self.warm_modes is None else self.warm_modes.copy()
        if self.warm_terms is not None:
            u, beta = self._predicted_modes(factors, u, beta)
        g = np.empty(obj.Q)
        products = obj.products

        def evaluate(u, beta):
            eta = products.z_lambda(u, factors, offset + X @ beta)
            t = row_terms(obj, eta, phi)
            return float(np.sum(t.value)) - 0.5 * float(u @ u), t, eta

        factor = self.factor
        try:
            h, t, eta = evaluate(u, beta)
            decrement = np.inf
            converged = False
            for iteration in range(MAX_PIRLS + 1):
                if not math.isfinite(h):
                    return np.nan, None, None, PIRLSOutcome(False, iteration, decrement, "h is not finite"), None
                w = -t.d2
                observed = True     # the factor holds the observed curvature (a Newton step)
                if not np.all(w > 0):
                    if not self.modified_newton:
                        return np.nan, None, None, PIRLSOutcome(False, iteration, decrement,
                                                                "a working weight is not positive"), None
                    failed = _fill_inplace(factor, factors, w, t.d1, eta - offset)
                    if failed:
                        # the joint Hessian is not negative definite here: a positive definite stand-in
                        # (each row's |d2|) still gives an ascent direction for the halvings
                        observed = False
                        failed = _fill_inplace(factor, factors, np.abs(w), t.d1, eta - offset)
                else:
                    factor.set_weights_inplace(w, eta - offset + t.d1 / w)
                    failed = factor.update_inplace(factors)
                if failed:
                    reason = f"the factor is not positive definite (block {failed - 1})"
                    return np.nan, None, None, PIRLSOutcome(False, iteration, decrement, reason), None
                du, dbeta = factor.u() - u, factor.beta() - beta
                products.lambda_t_z_t(t.d1, factors, g)
                decrement = float((g - u) @ du + (X.T @ t.d1) @ dbeta)
                if converged or decrement <= _EXACT * (1.0 + abs(h)):
                    return self._converged(h, u, beta, iteration, decrement, t, observed)
                if iteration == MAX_PIRLS:
                    break
                converged = decrement < self.tolerance * (1.0 + abs(h))   # one more step: see pirls_inplace
                if converged and not self.final_step:
                    return self._converged(h, u, beta, iteration, decrement, t, observed)
                scale = 1.0
                for _ in range(MAX_HALVINGS + 1):
                    trial = (u + scale * du, beta + scale * dbeta)
                    h_trial, t_trial, eta_trial = evaluate(*trial)
                    if h_trial >= h - _ROUNDING * abs(h):
                        break
                    scale *= 0.5
                else:
                    if converged:
                        return self._converged(h, u, beta, iteration, decrement, t, observed)
                    return np.nan, None, None, PIRLSOutcome(False, iteration, decrement,
                                                            "no step along the Newton direction raises h"), None
                (u, beta), h, t, eta = trial, h_trial, t_trial, eta_trial
        except DomainError as error:
            return np.nan, None, None, PIRLSOutcome(False, 0, np.nan, str(error)), None
        return np.nan, None, None, PIRLSOutcome(False, MAX_PIRLS, decrement,
                                                f"no convergence in {MAX_PIRLS} PIRLS steps"), None

    @staticmethod
    def _converged(h, u, beta, iteration, decrement, t, observed):
        """The outcome at a converged joint mode; a failure if the factor there does not hold the observed
        curvature (the joint Hessian is not negative definite: no Laplace approximation at this mode)."""
        if not observed:
            return np.nan, None, None, PIRLSOutcome(False, iteration, decrement, "the joint Hessian of (u, beta) "
                                                    "at the mode is not negative definite"), None
        return h, u, beta, PIRLSOutcome(True, iteration, decrement, "converged"), t

    def _evaluate(self, x):
        x = np.asarray(x, dtype=float)
        if x.shape != (self.n_params,):
            raise ValueError(f"`params` must have {self.n_params} values ({', '.join(self.names)}), "
                             f"got shape {x.shape}")
        if not np.all(np.isfinite(x)) or self._outside(x):
            return -np.inf, None
        self.evaluations += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            h, u, beta, outcome, t = self.joint_pirls_inplace(x)
        self.last = outcome
        if u is None:
            self.reset_warm_start()
            return -np.inf, None
        self.warm_beta, self.warm_modes, self.warm_x, self.warm_terms = beta, u, x.copy(), (t.d1, t.d2)
        # the factor's weights are at the mode: its log|L_Z|
        total = h - 0.5 * self.factor.logdet_re() + self.objective.constant
        return (float(total) if math.isfinite(total) else -np.inf), beta

    def _outside(self, x):
        """The objective's domain check on (beta = 0, x): a dispersion that over- or underflows, shapes that
        are not finite."""
        return self.objective._outside(self.full(x, np.zeros(self.objective.n_beta)))

    def log_likelihood(self, x):
        """The Laplace log-likelihood at the joint mode of (u, beta); -inf where it cannot be computed."""
        return self._evaluate(x)[0]

    __call__ = log_likelihood

    def fixed_effects(self, x):
        """beta at the joint mode at `x` (None where there is none)."""
        return self._evaluate(x)[1]

    def value_and_gradient(self, x):
        """The log-likelihood and its central differences (relative step 1e-6); only for a gradient method
        asked for by name."""
        return value_gradient(self, x)

    def start_from(self, outcome):
        """The start of the second stage: (beta at the joint mode, theta, [log phi]) at `outcome.x`; None if
        there is no joint mode there."""
        beta = self.fixed_effects(outcome.x)
        return None if beta is None else self.full(outcome.x, beta)
