"""Stage 2 of the pipeline: the marginal log-likelihood of a GLMM as a function of its parameters.

This module owns the objective of :func:`~quadlib.glmm.fit`: the protocol every objective of
:func:`quadlib.glmm.optimize` follows (:class:`Objective`, the base) and its implementations,
:class:`ClusterObjective` (one grouping factor: a core integrator integrates every level in one batched call)
and, for several grouping factors, :class:`~quadlib.glmm._blocked_laplace.BlockedLaplaceObjective` (PIRLS on
the blocked Cholesky factor, values only) or, where its structure refuses the design, :class:`JointObjective`
(the sparse Laplace approximation of the joint integral); ``Objective(design, ...)`` makes the implementation
that claims the design most strongly (:meth:`Objective.claim`: subclasses elsewhere take part without this
module importing them), with the GLM start and the checks of the response
that come before a fit (:func:`glm_start`, :func:`check_response`, :func:`separation`).

Parameters, in this order (``Objective.names``):

* beta, the fixed effects;
* theta, each grouping factor's covariance factor Lambda (covariance Lambda Lambda^T), lower-triangular
  entries column by column as lme4 orders them, diagonal entries >= 0 (so a singular fit, a standard
  deviation at zero, is a point of the parameter space, as in lme4); ``||`` terms have a diagonal Lambda
  (:class:`~quadlib.glmm._covariance.ThetaLayout`);
* aux, the response model's block (:class:`~quadlib.glmm._response.ResponseModel`): the zero-inflation
  coefficients ``zi~...`` (a ``ziformula``), the dispersion model's ``disp~...`` (a ``dispformula``) or the
  family's single ``log(phi)`` (gaussian sigma, Gamma shape, negative-binomial theta), then the family's shape
  coordinates. Without zi, dispformula or shapes this is today's ``log(phi)`` alone (or nothing).

With b = Lambda u, u ~ N(0, I), the likelihood is a product over the levels of the grouping factor when
there is one grouping factor: each level's integral is computed by a core integrator (Laplace, adaptive
Gauss–Hermite, QMC) in one batched call. With several grouping factors (nested or crossed) the integral
does not factor; the Laplace approximation of the joint integral is computed by
:func:`quadlib.sparse_laplace` on the sparse system Lambda^T Z^T W Z Lambda + I.

Gradients. The integrator declares how (its ``gradient`` attribute, :func:`gradient_path`):
``"laplace"``, the Laplace approximation, whose exact gradient is computed in closed form (implicit
differentiation through the modes; it needs the third derivative of the log-density in eta);
``"adaptive"``, an adaptive rule (adaptive Gauss–Hermite, sparse grids), whose exact gradient is the total
derivative of the value it computes: per cluster ``log I = log sum_k w_k exp(h(p_k) + |z_k|^2/2) - log|R|`` with
nodes ``p_k = u_hat + R^-T z_k`` and ``R R^T = C`` the curvature at the mode, differentiated through the mode
(implicit function theorem, as for Laplace) and through the Cholesky factor R (``dC`` from the third
derivative), in closed form: one pass of the row terms at the modes beside the one at the rule's points
(:meth:`ClusterObjective._adaptive_gradient`); ``"fixed_points"``, a rule whose nodes do not move with the
parameters, differentiated with its nodes held where it put them (for an adaptive rule that is exact only up
to the derivative of the rule's error, which summed over 20,000 clusters stopped the optimizer short); or
``"differences"`` (the default of an integrator that declares nothing), central differences. QMC's
estimate has the adaptive form (fixed Sobol' points and weights, moved by the mode and the factor): ``"adaptive"``.
Several grouping factors: central differences.

State. An objective keeps two named fields between evaluations, neither of which changes a value beyond
the integrator's tolerance: ``warm_modes``, the modes in u of the last successful evaluation, the start of
the next one's Newton iterations (:meth:`Objective.reset_warm_start` forgets them), and ``last``, the
integrator's result at the last evaluation, for inspection. Parameters outside the family's domain are
reported by the core as a :class:`quadlib.DomainError` and give a log-likelihood of -inf.
"""
import math
import warnings
from types import SimpleNamespace

import numpy as np

from .._extensions._mixed import add_random, cluster_moments, cluster_weighted, row_dot, row_quadratic
from .._integrators import ClusterIntegrals, Laplace
from .._result import DomainError
from ._covariance import ThetaLayout
from ._design import normalize_response, random_matrix
from ._newton import newton
from ._response import ResponseModel

__all__ = ["Objective", "ClusterObjective", "JointObjective", "make_objective", "gradient_path",
           "BOUNDED_MEAN_FAMILIES", "fitted_at_bounds",
           "check_joint_integrator", "glm_start", "check_response", "separation", "not_separated",
           "separation_message"]

_LOG_2PI = np.log(2 * np.pi)
_SEPARATION_LIMIT = 20_000_000   # entries N p of X up to which the separation linear program runs
_LOG_DISPERSION_LIMIT = 700.0    # |log phi| beyond this: phi over- or underflows in the family's kernel
_DIFFERENCE_STEP = 1e-6          # relative step of the central-difference gradient
GRADIENT_PATHS = ("laplace", "adaptive", "fixed_points", "differences")


def _implementations(base):
    """Every subclass of `base` (recursively), in definition order."""
    found = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_implementations(sub))
    return found


def check_joint_integrator(objective):
    """With several grouping factors the integral does not factor over groups: only the Laplace
    approximation of the joint integral is available (a ValueError naming `method` otherwise)."""
    if objective.gradient_path != "laplace":
        groups = ", ".join(block.group for block in objective.blocks)
        raise ValueError(f"`method`: with several grouping factors ({groups}) the integral does not "
                         "factor over groups: only method='laplace' is available")


#: The families whose mean is bounded (probabilities in (0, 1), rates above 0): R's glm.fit warns when fitted
#: values come within 10 eps of those bounds (:func:`fitted_at_bounds`).
BOUNDED_MEAN_FAMILIES = ("binomial", "bernoulli", "poisson", "negative_binomial")
_FITTED_EPS = 10 * np.finfo(float).eps


def fitted_at_bounds(objective, x):
    """R's glm.fit warnings at `x` (the conditional modes): "fitted probabilities numerically 0 or 1
    occurred" (within 10 eps), "fitted rates numerically 0 occurred" (below 10 eps), or None; None too for a
    family outside :data:`BOUNDED_MEAN_FAMILIES` and where the modes cannot be computed."""
    fam = objective.family
    if fam.name not in BOUNDED_MEAN_FAMILIES:
        return None
    try:
        mu = fam.inverse_link(objective.linear_predictor(x))
    except (ArithmeticError, ValueError, np.linalg.LinAlgError):  # no modes there: nothing to say
        return None
    if fam.name in ("binomial", "bernoulli"):
        if np.any(mu < _FITTED_EPS) or np.any(mu > 1 - _FITTED_EPS):
            return "fitted probabilities numerically 0 or 1 occurred"
    elif np.any(mu < _FITTED_EPS):
        return "fitted rates numerically 0 occurred"
    return None


def gradient_path(integrator):
    """How an objective differentiates the integrals of `integrator`: its ``gradient`` attribute, one of
    ``"laplace"``, ``"adaptive"``, ``"fixed_points"`` and ``"differences"`` (``GRADIENT_PATHS``, module
    notes); ``"differences"`` for an integrator that does not declare one (always right, 2 n + 1 evaluations
    per gradient).

    Raises
    ------
    ValueError
        For a declared value that is not one of these.

    Examples
    --------
    >>> import quadlib
    >>> gradient_path(quadlib.Laplace()), gradient_path(quadlib.AdaptiveGaussHermite(10))
    ('laplace', 'adaptive')
    >>> gradient_path(quadlib.QMCIntegrator(256)), gradient_path(object())
    ('adaptive', 'differences')
    """
    path = getattr(integrator, "gradient", "differences")
    if path not in GRADIENT_PATHS:
        raise ValueError("`integrator`: its `gradient` attribute must be one of "
                         f"{', '.join(map(repr, GRADIENT_PATHS))}, got {path!r}")
    return path


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
        A :class:`ClusterObjective` (one grouping factor); with several, a
        :class:`~quadlib.glmm._blocked_laplace.BlockedLaplaceObjective` (the blocked Cholesky factor), or a
        :class:`JointObjective` when the blocked structure refuses the design (a dense block over its memory
        bound).
    """
    return Objective(design, family, integrator, link=link)


def glm_start(family, y, n, design, phi=None, shape=None):
    """The fixed effects of the GLM without random effects: a least-squares fit of the linked response, then
    at most 25 damped Newton steps (a start, not an estimate).

    `phi` (a float or per-row array) and `shape` (the family's shape parameters, natural scale) are held fixed;
    by default phi is the family's moment estimate at the least-squares start and shape is not passed.

    Examples
    --------
    >>> from quadlib.glmm import build_design, datasets, make_family
    >>> from quadlib.glmm._design import normalize_response
    >>> d = build_design("cbind(incidence, size - incidence) ~ period + (1 | herd)", datasets.load("cbpp"))
    >>> fam = make_family("binomial")
    >>> glm_start(fam, *normalize_response(d, fam), d).round(4).tolist()     # the GLM's estimates
    [-1.269, -1.1708, -1.3014, -1.7823]
    """
    d, fam = design, family
    eta = fam.start_eta(y, n)
    beta = np.linalg.lstsq(d.X, eta - d.offset, rcond=None)[0]
    if beta.size == 0:  # no fixed effects (y ~ 0 + (1 | g)): nothing to start
        return beta
    if phi is None and fam.has_dispersion:
        phi = fam.start_dispersion(y, n, fam.inverse_link(d.offset + d.X @ beta))
    extra = {} if shape is None else {"shape": shape}

    def evaluate(b):
        t = fam.terms(y, n, d.offset + d.X @ b, phi, order=2, **extra)
        return float(np.sum(t.value)), t

    def direction(b, value, t):
        try:
            step = np.linalg.solve(-(d.X.T @ (t.d2[:, None] * d.X)), d.X.T @ t.d1)
        except np.linalg.LinAlgError:
            return None
        return step if np.all(np.isfinite(step)) else None

    return newton(evaluate, direction, beta, max_iter=25, max_halvings=30, rtol=1e-10, tol=1e-8).x


def check_response(family, y, n, design):
    """Raise ValueError if no maximum likelihood estimate can exist, whatever the fixed effects: the response
    (y, n) of :func:`~quadlib.glmm._design.normalize_response` under `family`, the fixed effects of `design`.

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
    fam, d = family, design
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



def not_separated(family, y, n, design):
    """Whether a certificate shows that the response (y, n) under `family` is not separated by the fixed
    effects of `design` (so :func:`~quadlib.glmm._objective.separation` would find nothing); False when none
    is found (the linear program must decide). O(N p^2), against the linear program's O(N) constraints.

    The certificate (Stiemke's lemma): weights c with ``X'c = 0``, of the sign s_i (+1 no failures, -1 no
    successes) on the rows at the boundary and of any sign on the others. For a separating direction d
    (``s_i x_i d >= 0`` at the boundary, ``x_i d = 0`` elsewhere, not all 0), ``0 = d'X'c = sum |c_i| s_i x_i d
    > 0``: a contradiction. At the GLM's estimate (:func:`glm_start`) the family's
    ``d1`` has these signs and ``X'd1`` is the GLM's gradient r, near 0; ``c = d1 - X (X'X)^-1 r`` then
    solves ``X'c = 0`` exactly, and keeps the signs where ``|X (X'X)^-1 r| < |d1| / 2``.

    References
    ----------
    E. Stiemke, "Über positive Lösungen homogener linearer Gleichungen", Math. Ann. 76 (1915), 340-342;
    A. Albert and J. A. Anderson, Biometrika 71 (1984), 1-10.
    """
    X = design.X
    if X.shape[1] == 0 or family.name not in ("binomial", "bernoulli", "poisson", "negative_binomial"):
        return False
    boundary = y == 0
    if family.name in ("binomial", "bernoulli"):
        boundary |= y == n
    try:
        beta = glm_start(family, y, n, design)
        phi = None
        if family.has_dispersion:
            phi = family.start_dispersion(y, n, family.inverse_link(design.offset + X @ beta))
        d1 = family.terms(y, n, design.offset + X @ beta, phi, order=1).d1
        correction = X @ np.linalg.solve(X.T @ X, X.T @ d1)
    except (np.linalg.LinAlgError, ValueError, ArithmeticError):
        return False
    if not (np.all(np.isfinite(d1)) and np.all(np.isfinite(correction))):
        return False
    return bool(np.all(np.abs(correction[boundary]) < 0.5 * np.abs(d1[boundary])))


def separation(family, y, n, design):
    """The fixed effects of `design` along which the log-likelihood of the response (y, n) under `family`
    increases without bound, [] if none.

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

    fam, X = family, design.X
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
    if not_separated(fam, y, n, design):
        # the linear program is slow on large binary data (every row at the boundary): the certificate from
        # the GLM's estimate settles most data sets first
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
    return [name for name, dk in zip(design.fixed_names, d) if abs(dk) > 1e-7]


class Objective:
    """The marginal log-likelihood of params = (beta, theta, [log phi]); see the module notes.

    The protocol of :func:`quadlib.glmm.optimize`: ``objective(params)`` (:meth:`log_likelihood`) is the
    log-likelihood (including every constant: the full ``llf``), :meth:`value_and_gradient` adds its gradient,
    and ``names``, ``n_params``, ``bounds``, ``layout``, :meth:`start` and ``evaluations`` describe the
    parameters. ``Objective(design, ...)`` makes a :class:`ClusterObjective` (one grouping factor) or a
    :class:`JointObjective` (several), as :func:`make_objective` does.

    Attributes
    ----------
    design, family, integrator
    y, n : ndarray
        The response as successes (or values) and trials (or prior weights): :func:`normalize_response`.
    layout : ThetaLayout
        One block per grouping factor (``blocks``), theta the covariance factor itself.
    warm_modes : ndarray or None
        The modes in u of the last successful evaluation: the next evaluation's start (module notes).
    last : object
        The integrator's result at the last evaluation (inspection only).
    evaluations : int
        The evaluations so far.
    """

    def __new__(cls, design=None, family="binomial", integrator=None, *, link=None):
        if cls is Objective and design is not None:
            # the implementation that claims the design most strongly (:meth:`claim`); implementations in
            # other modules (BlockedLaplaceObjective) take part by subclassing, so this module imports none
            # of them (quadlib.glmm's __init__ imports every implementation before any objective is made)
            integrator = Laplace() if integrator is None else integrator
            best, cls = 0, None
            for candidate in _implementations(Objective):
                strength = candidate.claim(design, integrator)
                if strength > best:
                    best, cls = strength, candidate
            if cls is None:
                raise ValueError("`design`: no objective implements this model")
        return super().__new__(cls)

    @classmethod
    def claim(cls, design, integrator):
        """How strongly this implementation claims `design` with `integrator`: 0 (not at all) or a positive
        strength; ``Objective(design, ...)`` makes the strongest claimant."""
        return 0

    def __init__(self, design, family="binomial", integrator=None, *, link=None):
        from ._families import make_family

        self.design = design
        self.family = make_family(family, link)
        self.integrator = Laplace() if integrator is None else integrator
        if not callable(getattr(self.integrator, "log_integrals", None)):
            raise TypeError("`integrator` must be a quadlib integrator (Laplace, AdaptiveGaussHermite, ...)")
        self.gradient_path = gradient_path(self.integrator)
        d, fam = design, self.family
        self.y, self.n = normalize_response(d, fam)
        # zero-inflation, the dispersion model and shapes: the design's matrices (None: today's model)
        self.response = ResponseModel(fam, self.y, self.n, X_zi=getattr(d, "X_zi", None),
                                      zi_names=getattr(d, "zi_names", None) or (),
                                      X_disp=getattr(d, "X_disp", None), disp_names=getattr(d, "disp_names", None),
                                      row_labels=getattr(d, "row_labels", None),
                                      response_levels=getattr(d, "response_levels", None))
        self.constant = self.response.constant
        p = d.X.shape[1]
        self.n_beta = p
        # one block per grouping factor (its terms stacked); theta is the covariance factor itself
        self.layout = ThetaLayout.from_terms(d.terms, by="group", offset=p)
        self.n_aux = self.response.n_params
        self.n_params = p + self.layout.n_theta + self.n_aux
        self.names = list(d.fixed_names) + self.layout.names + self.response.names
        self.bounds = [(None, None)] * p + self.layout.bounds + self.response.bounds
        if self.response.X_zi is not None and len(self.layout.blocks) > 1:
            # the mixture's rows are not log-concave at y = 0: PIRLS (w = -d2 > 0) does not apply
            raise ValueError("`ziformula`: zero-inflation and hurdles are not supported with several grouping "
                             f"factors ({', '.join(b.group for b in self.layout.blocks)})")
        self.warm_modes = None
        self.last = None
        self.evaluations = 0

    @property
    def joint(self):
        """Whether the integral is the joint one over several grouping factors (JointObjective,
        BlockedLaplaceObjective)."""
        return not isinstance(self, ClusterObjective)

    @property
    def blocks(self):
        """The layout's blocks: one per grouping factor (:class:`~quadlib.glmm._covariance.CovarianceBlock`)."""
        return self.layout.blocks

    def __repr__(self):
        return (f"{type(self).__name__}({self.family!r}, {self.integrator!r}, {self.n_params} parameters, "
                f"{self.design.nobs} rows)")

    def reset_warm_start(self):
        """Forget the warm start (the next evaluation starts the inner Newton iterations at u = 0)."""
        self.warm_modes = None

    # ----------------------------------------------------------------------------------------- layout
    def split(self, params):
        """(beta, [Lambda per grouping factor], phi) from a parameter vector: phi is a float or None for a
        plain response model (no zi, no dispersion model, no shapes: ``response.plain``), else the
        :class:`~quadlib.glmm._response.AuxValues` of :meth:`split_aux` (whose ``phi`` is a float or an array)."""
        params = np.asarray(params, dtype=float)
        beta = params[:self.n_beta]
        factors = self.layout.factors(params)
        if not self.response.plain:
            return beta, factors, self.response.unpack(self.aux(params))
        phi = float(np.exp(params[-1])) if self.family.has_dispersion else None
        return beta, factors, phi

    def aux(self, params):
        """The response model's coordinates, the trailing block of `params`."""
        return np.asarray(params, dtype=float)[self.n_params - self.n_aux:]

    def split_aux(self, params):
        """(beta, [Lambda per grouping factor], AuxValues) for any response model."""
        params = np.asarray(params, dtype=float)
        return params[:self.n_beta], self.layout.factors(params), self.response.unpack(self.aux(params))

    def rebuild(self, design):
        """The same model (family, integrator, response options carried by the design) on another design:
        profiles and refits with a fixed effect moved into the offset."""
        return Objective(design, self.family, self.integrator)

    def start(self):
        """Starting values: a GLM fit without random effects (:func:`glm_start`), each random SD at 1
        (gaussian: half the residual SD), a moment estimate of the dispersion and the response model's
        other starts (:meth:`~quadlib.glmm._response.ResponseModel.start`)."""
        d, fam, response = self.design, self.family, self.response
        shape = response.shape_start()
        # a hurdle's count part is the truncated family on the positive rows alone (its likelihood at y = 0 has
        # no maximum in eta: the zeros are the zero part's)
        rows = np.flatnonzero(self.y > 0) if response.hurdle else slice(None)
        y, n = self.y[rows], self.n[rows]
        if fam.name == "ordinal":   # thresholds carry the location: beta = 0 (design note §2)
            beta = np.zeros(self.n_beta)
        else:
            part = d if response.hurdle is False else SimpleNamespace(X=d.X[rows], offset=d.offset[rows])
            beta = glm_start(fam, y, n, part, shape=shape)
        mu = fam.inverse_link(d.offset + d.X @ beta)
        scale = 1.0
        phi = None
        if fam.has_dispersion:
            phi = fam.start_dispersion(y, n, mu[rows])
            if fam.name == "gaussian":
                scale = 0.5 * phi
        if fam.link == "inverse":  # eta must stay positive: random effects start small beside it
            scale = 0.1 * float(np.mean(np.abs(d.offset + d.X @ beta)))
        x = [beta, self.layout.start(scale)]
        if response.plain:
            if fam.has_dispersion:
                x.append([np.log(phi)])
        else:
            x.append(response.start(d.offset + d.X @ beta, phi, glm=glm_start))
        return np.concatenate(x)

    def _outside(self, params):
        """Whether `params` lie outside the domain: not finite (an optimizer's step overflowed), or a
        dispersion exp(log phi) that overflows to inf or underflows to 0 (on some row, with a dispersion
        model), or shape parameters that are not finite."""
        if not np.all(np.isfinite(params)):
            return True
        if not self.response.plain:
            return self.response.outside(self.aux(params))
        return bool(self.family.has_dispersion and not abs(params[-1]) < _LOG_DISPERSION_LIMIT)

    # ------------------------------------------------------------------------------------------ estimability
    def check_response(self):
        """:func:`check_response` of this objective's response (raises ValueError)."""
        check_response(self.family, self.y, self.n, self.design)

    def separation(self):
        """:func:`separation` of this objective's response: the separating fixed effects, [] if none."""
        return separation(self.family, self.y, self.n, self.design)

    # ------------------------------------------------------------------------------------------- values
    def log_likelihood(self, params):
        """The marginal log-likelihood (full, constants included); -inf where it cannot be computed.
        Updates ``warm_modes`` and ``last``."""
        params = np.asarray(params, dtype=float)
        if params.shape != (self.n_params,):
            raise ValueError(f"`params` must have {self.n_params} values ({', '.join(self.names)}), "
                             f"got shape {params.shape}")
        if self._outside(params):
            return -np.inf
        self.evaluations += 1
        return self._log_likelihood(params, update=True)

    __call__ = log_likelihood

    def value_and_gradient(self, params):
        """The log-likelihood and its gradient (module notes: the integrator's gradient path, or central
        differences); NaN gradient where the log-likelihood is -inf. Updates ``warm_modes`` and ``last``."""
        params = np.asarray(params, dtype=float)
        if self._outside(params):
            return -np.inf, np.full(self.n_params, np.nan)
        return self._value_and_gradient(params)

    def _difference_gradient(self, params):
        """The log-likelihood at `params` (updating the state) and its central differences, relative step
        1e-6, each started from the modes at `params` (the state is left there)."""
        self.evaluations += 1
        value = self._log_likelihood(params, update=True)
        grad = np.empty(self.n_params)
        for k in range(self.n_params):
            e = np.zeros(self.n_params)
            e[k] = _DIFFERENCE_STEP * max(1.0, abs(params[k]))
            up, down = params + e, params - e
            self.evaluations += 2
            f_up = -np.inf if self._outside(up) else self._log_likelihood(up, update=False)
            f_down = -np.inf if self._outside(down) else self._log_likelihood(down, update=False)
            grad[k] = (f_up - f_down) / (2 * e[k])
        return value, grad

    def linear_predictor(self, params):
        """The linear predictor at the conditional modes of the random effects (R's ``predict(fit)``)."""
        beta = self.split(params)[0]
        eta = self.design.offset + self.design.X @ beta
        modes = self.conditional_modes(params)
        for block in self.blocks:
            b = modes[block.group][0]
            eta = eta + np.einsum("nq,nq->n", block.Z, b[block.index])
        return eta

    def _missing_modes(self):
        return {block.group: (np.full((block.n_levels, block.q), np.nan),
                              np.full((block.n_levels, block.q, block.q), np.nan)) for block in self.blocks}


class ClusterObjective(Objective):
    """The marginal log-likelihood with one grouping factor: a core integrator integrates over each level's
    random effects, all levels in one batched call (see :class:`Objective` and the module notes)."""

    @classmethod
    def claim(cls, design, integrator):
        return 1 if len({term.group for term in design.terms}) == 1 else 0

    def __init__(self, design, family="binomial", integrator=None, *, link=None):
        super().__init__(design, family, integrator, link=link)
        block = self.blocks[0]
        self.starts = np.flatnonzero(np.r_[True, block.index[1:] != block.index[:-1]])
        self.row_bounds = np.ascontiguousarray(np.r_[self.starts, block.index.size], dtype=np.intp)
        self.Z = np.ascontiguousarray(block.Z, dtype=float)
        self.row_group = np.ascontiguousarray(block.index, dtype=np.intp)

    def _linear_predictor(self, eta0, b):
        """eta (N, K) at b (M, K, q): compiled, no N x K x q temporary."""
        out = np.empty((eta0.size, b.shape[1]))
        add_random(eta0, self.Z, self.row_group, np.ascontiguousarray(b, dtype=float), out)
        return out

    def _row_terms(self, eta, phi, order, channels=False):
        """The response model's row terms at `eta` (:class:`~quadlib.glmm._response.ResponseTerms`), or for a
        plain response the family's own (:class:`~quadlib.glmm._families.FamilyTerms`, ``ds`` etc. with
        `channels`): `phi` is what :meth:`split` returns."""
        if self.response.plain:
            return self.family.terms(self.y, self.n, eta, phi, order=order,
                                     dispersion=channels and self.family.has_dispersion)
        return self.response.terms(eta, phi, order=order, channels=channels)

    def _integrate(self, params, integrator, *, keep_points=False, update=True):
        """The integrals at `params`: (ClusterIntegrals, eta0, L, phi, the row terms' first derivatives at
        the rule's points or None); phi is :meth:`split`'s. `update`: record ``warm_modes`` and ``last``."""
        Z, bounds, starts = self.Z, self.row_bounds, self.starts
        beta, (L,), phi = self.split(params)
        eta0 = self.design.offset + self.design.X @ beta
        M, q = bounds.size - 1, Z.shape[1]
        kept = {}   # this call's last log_g evaluation, kept for the fixed-point gradient

        def log_g(b):  # b (M, K, q) -> (M, K)
            t = self._row_terms(self._linear_predictor(eta0, b), phi, 1 if keep_points else 0, keep_points)
            if keep_points:
                kept.update(b=b, terms=t)
            return np.add.reduceat(t.value, starts, axis=0)

        def derivatives(b):  # b (M, q) -> value (M,), gradient (M, q), Hessian (M, q, q)
            eta = self._linear_predictor(eta0, b[:, None, :])[:, 0]
            t = self._row_terms(eta, phi, 2)
            value, grad, hess = np.empty(M), np.empty((M, q)), np.empty((M, q, q))
            cluster_moments(bounds, Z, t.value, t.d1, t.d2, value, grad, hess)
            return value, grad, hess

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failed cluster gives NaN: the optimizer sees -inf
            try:
                res = integrator.log_integrals(log_g, M, q, factor=L, derivatives=derivatives,
                                               start=self.warm_modes, keep_points=keep_points)
            except DomainError as error:
                # parameters outside the family's domain (e.g. eta <= 0 with an inverse link): -inf
                nan = np.full((M, q), np.nan)
                res = ClusterIntegrals(np.full(M, np.nan), nan, nan, np.tile(np.eye(q), (M, 1, 1)),
                                       np.zeros(M, bool), 0, 0, False, str(error))
        at_points = None
        points = res.extra.get("points_u") if keep_points else None
        if points is not None:
            b = points @ L.T
            if "b" in kept and kept["b"].shape == b.shape and np.array_equal(kept["b"], b):
                at_points = kept["terms"]
            else:   # the integrator's last call was elsewhere: the derivatives at its points
                at_points = self._row_terms(self._linear_predictor(eta0, b), phi, 1, True)
        if update:
            self.last = res
            self.warm_modes = res.mode_u if res.success and np.all(np.isfinite(res.mode_u)) else None
        return res, eta0, L, phi, at_points

    def _log_likelihood(self, params, update):
        total = float(np.sum(self._integrate(params, self.integrator, update=update)[0].log_integral)) + self.constant
        return total if math.isfinite(total) else -np.inf

    def cluster_log_likelihoods(self, params):
        """The log-likelihood's term of each level of the grouping factor at `params`, shape (M,), one per
        segment of ``row_bounds`` (level ``row_group[row_bounds[m]]``), without the parameter-free
        ``constant``: their sum plus ``constant`` is :meth:`log_likelihood`. NaN for a level whose integral
        failed, all NaN outside the domain. Leaves ``warm_modes`` and ``last`` alone (the per-cluster scores
        of the sandwich, :func:`~quadlib.glmm._sandwich.cluster_scores`, difference it)."""
        params = np.asarray(params, dtype=float)
        if params.shape != (self.n_params,):
            raise ValueError(f"`params` must have {self.n_params} values ({', '.join(self.names)}), "
                             f"got shape {params.shape}")
        if self._outside(params):
            return np.full(self.row_bounds.size - 1, np.nan)
        self.evaluations += 1
        return np.array(self._integrate(params, self.integrator, update=False)[0].log_integral, dtype=float)

    def _value_and_gradient(self, params):
        if self.gradient_path == "differences":
            # an integrator that declares no derivative of its value: differentiate the value
            return self._difference_gradient(params)
        self.evaluations += 1
        path = self.gradient_path
        keep = path in ("fixed_points", "adaptive")
        res, eta0, L, phi, at_points = self._integrate(params, self.integrator, keep_points=keep)
        value = float(np.sum(res.log_integral)) + self.constant
        if not math.isfinite(value):
            return -np.inf, np.full(self.n_params, np.nan)
        if keep:
            wanted = ("points_u", "shares") + (("nodes", "factor") if path == "adaptive" else ())
            if at_points is None or any(key not in res.extra for key in wanted):
                raise ValueError(f"`integrator` declares gradient={path!r} but returned no "
                                 f"{', '.join(f'extra[{key!r}]' for key in wanted)} with keep_points=True")
            if path == "adaptive":
                return value, self._adaptive_gradient(res, eta0, L, phi, at_points, params)
            return value, self._fixed_point_gradient(res, at_points, params)
        return value, self._laplace_gradient(res, eta0, L, phi, params)

    def _laplace_gradient(self, res, eta0, L, phi, params):
        """The exact gradient of the Laplace approximation (module notes); the response model's block by the
        pull-back of its channels, ``J_c^T (dc + d2c a / 2 + d1c r)`` (design note §4.3)."""
        X, Z, g, bounds = self.design.X, self.Z, self.row_group, self.row_bounds
        M, q = bounds.size - 1, Z.shape[1]
        entries = self.blocks[0].entries
        plain = self.response.plain
        dispersion = self.family.has_dispersion and plain
        grad = np.zeros(self.n_params)
        u = res.mode_u
        eta = self._linear_predictor(eta0, (u @ L.T)[:, None, :])[:, 0]
        t = self._row_terms(eta, phi, 3, channels=True)
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
        elif not plain:
            channels = t.dc + 0.5 * t.d2c * a + t.d1c * r
            grad[self.n_params - self.n_aux:] = self.response.pullback(self.aux(params), channels)
        return grad

    def _fixed_point_gradient(self, res, t, params):
        """The rule's gradient with its nodes held fixed, from the row terms' derivatives `t` at its points
        (the response model's block: the pull-back of ``sum_k share_k dc_k``)."""
        fam, X, Z, g, bounds = self.family, self.design.X, self.Z, self.row_group, self.row_bounds
        M, q = bounds.size - 1, Z.shape[1]
        entries = self.blocks[0].entries
        grad = np.zeros(self.n_params)
        points = res.extra["points_u"]
        shares = res.extra["shares"]                                                   # (M, K)
        K = shares.shape[1]
        pw = shares[g]                                                                 # (N, K)
        grad[:self.n_beta] = X.T @ np.einsum("nk,nk->n", pw, t.d1)
        g1k = np.empty((M, K, q))
        cluster_weighted(bounds, Z, np.ascontiguousarray(t.d1), g1k)
        for k, (ra, cb) in enumerate(entries):
            grad[self.n_beta + k] = np.sum(shares * g1k[:, :, ra] * points[:, :, cb])
        if self.response.plain:
            if fam.has_dispersion:
                grad[-1] = np.sum(pw * t.ds)
        else:
            channels = np.einsum("nk,cnk->cn", pw, t.dc)
            grad[self.n_params - self.n_aux:] = self.response.pullback(self.aux(params), channels)
        return grad

    def _adaptive_gradient(self, res, eta0, L, phi, tk, params):
        """The exact gradient of an adaptive rule's value (module notes, "Gradients"): the fixed-point terms
        at its points (the row terms `tk` there) plus the derivative through the mode u and the Cholesky factor
        R of the curvature C = R R^T that place the points ``p_k = u + R^-T z_k``. Per cluster, with s_k the
        shares and g_k = grad_u h(p_k),

            d log I = sum_k s_k d_x h(p_k) + (sum_k s_k g_k)^T du + <dC, E>,
            E = -R^-T (sym(Psi(B)) + I / 2) R^-1,  B = sum_k s_k z_k (R^-1 g_k)^T,

        Psi the lower triangle with half the diagonal (the derivative of the Cholesky factor); du = C^-1
        d_x grad_u h(u) (implicit function theorem) and dC = -(d_x hess_u h + third derivative . du) are
        taken in closed form, as :meth:`_laplace_gradient` does for the one node z = 0 (where B = 0,
        E = -C^-1 / 2). Per row, with a_i = z_i^T L E L^T z_i and r_i = z_i^T L C^-1 m (m = sum_k s_k g_k -
        L^T sum_i d3_i a_i z_i, du's weight): beta gets X^T (sum_k s_k d1_ik - w_i r_i - d3_i a_i), a channel c
        ``sum_k s_k dc_ik + d1c_i r_i - d2c_i a_i`` (pulled back by the response model). One pass of the row
        terms at the modes (third order) beside the one at the points."""
        X, Z, g, bounds = self.design.X, self.Z, self.row_group, self.row_bounds
        M, q = bounds.size - 1, Z.shape[1]
        entries = self.blocks[0].entries
        plain = self.response.plain
        grad = np.zeros(self.n_params)
        points, shares = res.extra["points_u"], res.extra["shares"]                  # (M, K, q), (M, K)
        z, R = res.extra["nodes"], res.extra["factor"]                               # (K, q), (M, q, q)
        u = res.mode_u
        # at the points: the fixed-point terms and grad_u h(p_k) = L^T sum_i z_i d1_ik - p_k
        pw = np.take(shares, g, axis=0)                                              # (N, K)
        g1k = np.empty(points.shape)
        cluster_weighted(bounds, Z, np.ascontiguousarray(tk.d1), g1k)
        gk = g1k @ L - points
        # at the modes: the curvature's pieces (G = sum_i w_i z_i z_i^T, w = -d2) and the third derivative
        eta = self._linear_predictor(eta0, (u @ L.T)[:, None, :])[:, 0]
        t = self._row_terms(eta, phi, 3, channels=True)
        w = -t.d2
        g1, G = np.empty((M, q)), np.empty((M, q, q))
        cluster_moments(bounds, Z, t.d1, t.d1, w, np.empty(M), g1, G)
        Rinv = 1.0 / R if q == 1 else np.linalg.inv(R)
        RinvT = np.swapaxes(Rinv, 1, 2)
        # (batched matmuls: numpy's einsum with these subscripts is several times slower)
        v = gk @ RinvT                                                               # R^-1 g_k, (M, K, q)
        B = np.swapaxes(shares[:, :, None] * z, 1, 2) @ v                            # sum_k s_k z_k v_k^T
        Psi = np.tril(B, -1) + 0.5 * B * np.eye(q)
        S = 0.5 * (Psi + np.swapaxes(Psi, 1, 2)) + 0.5 * np.eye(q)
        E = -RinvT @ S @ Rinv                                                        # <dC, E>: the curvature's part
        P = np.ascontiguousarray(L @ E @ L.T)
        a = np.empty(eta.size)
        row_quadratic(Z, g, P, a)                                                    # z_i^T L E L^T z_i
        v3 = np.empty((M, 1, q))
        cluster_weighted(bounds, Z, (t.d3 * a)[:, None], v3)
        s3 = v3[:, 0, :]                                                             # sum_i d3_i a_i z_i
        m = (shares[:, None, :] @ gk)[:, 0, :] - s3 @ L
        tvec = (RinvT @ (Rinv @ m[:, :, None]))[:, :, 0]                             # C^-1 m (du's weight)
        Lt = np.ascontiguousarray(tvec @ L.T)
        r = np.empty(eta.size)
        row_dot(Z, g, Lt, r)
        grad[:self.n_beta] = X.T @ (np.einsum("nk,nk->n", pw, tk.d1) - w * r - t.d3 * a)
        GLE2 = 2.0 * (G @ L @ E)
        GLt = (G @ Lt[:, :, None])[:, :, 0]
        for k, (ra, cb) in enumerate(entries):
            grad[self.n_beta + k] = (np.sum(shares * g1k[:, :, ra] * points[:, :, cb])
                                     + np.sum(tvec[:, cb] * g1[:, ra] - (GLt[:, ra] + s3[:, ra]) * u[:, cb]
                                              + GLE2[:, ra, cb]))
        if plain:
            if self.family.has_dispersion:
                grad[-1] = np.sum(pw * tk.ds) + np.sum(r * t.d1s - a * t.d2s)
        else:
            channels = np.einsum("nk,cnk->cn", pw, tk.dc) + t.d1c * r - t.d2c * a
            grad[self.n_params - self.n_aux:] = self.response.pullback(self.aux(params), channels)
        return grad

    def posterior_moments(self, params, integrator):
        """Posterior means and covariances of b given y for each level of the grouping factor, by an adaptive
        rule `integrator`: the rule's points and their shares of each level's integral (the integrator's
        ``keep_points``) give E[u | y] and E[u u^T | y], mapped to b = L u. Leaves the state alone."""
        res, _, L, _, _ = self._integrate(np.asarray(params, dtype=float), integrator, keep_points=True,
                                          update=False)
        shares, points = res.extra["shares"], res.extra["points_u"]
        mean_u = np.einsum("mk,mkq->mq", shares, points)
        second = np.einsum("mk,mkq,mkr->mqr", shares, points, points)
        cov_u = second - mean_u[:, :, None] * mean_u[:, None, :]
        return mean_u @ L.T, L @ cov_u @ L.T, res

    def conditional_modes(self, params):
        """The modes of b given y (empirical Bayes) and their conditional covariances (the inverse curvature at
        the mode, mapped to b), as ``{group: (modes (M, q), cov (M, q, q))}``; NaN where they cannot be
        computed (parameters outside the domain)."""
        params = np.asarray(params, dtype=float)
        if self._outside(params):
            return self._missing_modes()
        res, _, L, _, _ = self._integrate(params, self.integrator)
        try:
            inverse = np.linalg.inv(res.curvature)
        except np.linalg.LinAlgError:  # a singular curvature: no Laplace covariance
            inverse = np.full_like(res.curvature, np.nan)
        cov = np.einsum("ia,mab,jb->mij", L, inverse, L)
        return {self.blocks[0].group: (res.mode_u @ L.T, cov)}


class JointObjective(Objective):
    """The marginal log-likelihood with several grouping factors (nested or crossed): the Laplace
    approximation of the joint integral by :func:`quadlib.sparse_laplace` (see :class:`Objective` and the
    module notes); its gradient is a central difference."""

    @classmethod
    def claim(cls, design, integrator):
        return 1 if len({term.group for term in design.terms}) > 1 else 0

    def __init__(self, design, family="binomial", integrator=None, *, link=None):
        super().__init__(design, family, integrator, link=link)
        check_joint_integrator(self)
        self.Q = self.layout.n_random
        self.Zs = random_matrix(self.blocks, design.nobs).tocsc()

    def _joint_factor(self, factors):
        import scipy.sparse as sp

        return sp.block_diag([sp.kron(sp.identity(block.n_levels), L) for block, L in zip(self.blocks, factors)],
                             format="csc")

    def _integrate(self, params, update=True):
        """The sparse Laplace approximation at `params` (None outside the family's domain). `update`: record
        ``warm_modes`` and ``last``."""
        import scipy.sparse as sp
        from .._sparse_laplace import sparse_laplace

        beta, factors, phi = self.split(params)
        fam, y, n, response = self.family, self.y, self.n, self.response
        eta0 = self.design.offset + self.design.X @ beta
        A = (self.Zs @ self._joint_factor(factors)).tocsc()
        At = A.T.tocsr()
        identity = sp.identity(self.Q, format="csc")

        def h(u):
            if response.plain:
                t = fam.terms(y, n, eta0 + A @ u, phi, order=2)
            else:
                t = response.terms(eta0 + A @ u, phi, order=2)
            value = float(np.sum(t.value)) - 0.5 * float(u @ u)
            return value, At @ t.d1 - u, (At @ sp.diags(-t.d2) @ A + identity).tocsc()

        u0 = np.zeros(self.Q) if self.warm_modes is None else self.warm_modes
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = sparse_laplace(h, u0)
            except DomainError:   # parameters outside the family's domain: -inf
                res = None
        if update:
            self.last = res
            self.warm_modes = res.mode if res is not None and res.success else None
        return res

    def _log_likelihood(self, params, update):
        res = self._integrate(params, update)
        total = res.log_integral - 0.5 * self.Q * _LOG_2PI if res is not None and res.success else np.nan
        total += self.constant
        return float(total) if math.isfinite(total) else -np.inf

    def _value_and_gradient(self, params):
        return self._difference_gradient(params)

    def posterior_moments(self, params, integrator):
        raise ValueError("posterior means need a single grouping factor (the joint integral over crossed "
                         "or nested factors does not factor by level)")

    def conditional_modes(self, params):
        """Per grouping factor: the modes of b given y (empirical Bayes) and their conditional covariances
        (the inverse curvature at the mode, mapped to b), as ``{group: (modes (M, q), cov (M, q, q))}``;
        NaN where they cannot be computed (parameters outside the domain, no mode found)."""
        params = np.asarray(params, dtype=float)
        if self._outside(params):
            return self._missing_modes()
        _, factors, _ = self.split(params)
        res = self._integrate(params)
        if res is None or not res.success:
            return self._missing_modes()
        b = self._joint_factor(factors) @ res.mode
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
