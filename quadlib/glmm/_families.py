"""Exponential families for the GLMM layer: log-densities and their derivatives in the linear predictor.

A :class:`Family` is a small immutable value (a family and a link, like R's ``binomial(link = "probit")``)
that knows how to check a response, start a fit, simulate, and, its hot path, evaluate

    value = log p(y | eta, phi) - (the terms that depend on neither eta nor phi)

and its derivatives in eta and in s = log(phi) for every row and every quadrature point in one pass of
the compiled kernel ``quadlib._extensions._families``. The dropped terms are :meth:`Family.log_constant`.

Families, links (the first is the default, as in lme4) and the dispersion phi:

=================================  ========================  ==========================================================
family                             links                     phi
=================================  ========================  ==========================================================
``binomial``                       logit, probit, cloglog    (none); y successes out of n trials
``bernoulli``                      logit, probit, cloglog    (none); binomial with n = 1
``poisson``                        log                       (none); n a prior weight on the log-likelihood
``gaussian``                       identity                  ``sigma``, residual SD; var = sigma^2 / n
``Gamma``                          inverse, log              ``shape`` nu; the row's shape is n nu
``negative_binomial``              log                       ``theta`` (NB2, glmmTMB's nbinom2); var = mu + mu^2/theta
``negative_binomial1``             log                       ``phi`` (NB1, glmmTMB's nbinom1); var = mu (1 + phi)
``beta``                           logit                     ``phi``, precision; y in (0, 1); var = mu(1 - mu)/(1 + phi)
``beta_binomial``                  logit                     ``phi``, precision; y successes out of n trials
``truncated_poisson``              log                       (none); zero-truncated, y >= 1 (hurdle models)
``truncated_negative_binomial``    log                       ``theta``; zero-truncated NB2
``tweedie``                        log                       ``phi``: var = phi mu^p; shape: the power p in (1, 2)
``student_t``                      identity                  ``sigma``, the scale; shape: the degrees of freedom df
``ordinal``                        logit, probit, cloglog    (none); shape: the K - 1 thresholds (cumulative link)
=================================  ========================  ==========================================================

The dispersion phi may be one number or one per row (a dispersion model). *Shape* parameters (the Tweedie
power, the t degrees of freedom, the ordinal thresholds) enter as a vector in their natural scale;
:meth:`Family.shape_coordinates` maps them to unconstrained optimizer coordinates. A shape can be fixed when
the family is made (``make_family("student_t", df=5.0)``); the family then has no free shape. The mathematics
of the beta, beta-binomial, Tweedie and t families is in :mod:`quadlib.glmm._densities`, that of the
cumulative links in :mod:`quadlib.glmm._ordinal`; the compiled kernel covers the first seven families
(the truncated NB2 reuses its NB2).
"""
from dataclasses import dataclass
import functools
import numbers

import numpy as np
from scipy import special

from .._extensions import _families as _kernel
from .._result import DomainError
from . import _densities, _ordinal

__all__ = ["Family", "FamilyTerms", "make_family"]

_ALIASES = {"binomial": "binomial", "bernoulli": "bernoulli", "poisson": "poisson", "gaussian": "gaussian",
            "Gamma": "Gamma", "gamma": "Gamma", "negative_binomial": "negative_binomial",
            "nbinom2": "negative_binomial", "negbin": "negative_binomial",
            "negative_binomial1": "negative_binomial1", "nbinom1": "negative_binomial1",
            "beta": "beta", "beta_family": "beta", "beta_binomial": "beta_binomial", "betabinomial": "beta_binomial",
            "truncated_poisson": "truncated_poisson", "truncated_negative_binomial": "truncated_negative_binomial",
            "truncated_nbinom2": "truncated_negative_binomial", "tweedie": "tweedie", "student_t": "student_t",
            "t_family": "student_t", "ordinal": "ordinal"}


@dataclass(frozen=True, eq=False)
class FamilyTerms:
    """Per-element log-density terms from :meth:`Family.terms`, each of the shape of ``eta``.

    ``value`` is log p(y | eta, phi) without :meth:`Family.log_constant`; ``d1, d2, d3`` its derivatives
    in eta; ``ds, d1s, d2s, dss`` the derivatives d/ds, d^2/(deta ds), d^3/(deta^2 ds) and d^2/ds^2 with
    s = log(phi) (``dss`` may be None for the newer families: nothing reads it); ``dshape, d1shape, d2shape``
    the derivatives d/dkappa_j, d^2/(deta dkappa_j), d^3/(deta^2 dkappa_j) in the family's free *natural* shape
    parameters kappa (shape (m,) + eta.shape). A field not computed is None.
    """

    value: np.ndarray
    d1: np.ndarray | None = None
    d2: np.ndarray | None = None
    d3: np.ndarray | None = None
    ds: np.ndarray | None = None
    d1s: np.ndarray | None = None
    d2s: np.ndarray | None = None
    dss: np.ndarray | None = None
    dshape: np.ndarray | None = None
    d1shape: np.ndarray | None = None
    d2shape: np.ndarray | None = None

    def __repr__(self):
        fields = ("value", "d1", "d2", "d3", "ds", "d1s", "d2s", "dss", "dshape", "d1shape", "d2shape")
        parts = [f"{f}=None" if getattr(self, f) is None else f"{f}=<array {getattr(self, f).shape}>"
                 for f in fields]
        return f"FamilyTerms({', '.join(parts)})"


def _float_array(x, name):
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be an array of real numbers, got {type(x).__name__}") from None
    return a


def _first_bad(mask):
    return int(np.flatnonzero(mask)[0])


def _label(i, labels):
    """Row i as the user knows it: its label (a data frame's index) when given, else its position."""
    return i if labels is None else labels[i]


def _is_real(x):
    return not isinstance(x, (bool, np.bool_)) and isinstance(x, numbers.Real)


# log((1 - exp(-A))/A) = -A/2 + log(sinh(t)/t), t = A/2, and log(sinh t/t) = sum_n c_n t^(2n) with
# c_n = 2^(2n) B_2n / (2n (2n)!) (DLMF 4.33.3 integrated): used for A < 1, truncation < 1e-17 there
_LOGH_N = np.arange(1, 11)
_LOGH_C = (2.0 ** (2 * _LOGH_N) * special.bernoulli(20)[2 * _LOGH_N]
           / (2 * _LOGH_N * special.factorial(2 * _LOGH_N)))


def _log1pmx(x):
    """log(1 + x) - x without cancellation for small x (the kernel's series), any shape."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(x.size)
    _kernel._special_twin(2, np.ascontiguousarray(x.reshape(-1)), out)
    return out.reshape(x.shape)


def _log1mexp(a):
    """log(1 - exp(-a)), a > 0 (Maechler 2012)."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return np.where(a < np.log(2.0), np.log(-np.expm1(-a)), np.log1p(-np.exp(-np.maximum(a, np.log(2.0)))))


def _horner(coef, u):
    out = np.full_like(u, coef[-1])
    for c in coef[-2::-1]:
        out = out * u + c
    return out


def _truncation(A, log_A, order):
    """H(A) = log((1 - e^-A)/A) and its first ``order`` derivatives in A, without cancellation at small A.

    The log-probability that a count is positive is G(A) = log(1 - e^-A) = log A + H(A), A = -log P(0); the
    callers keep log A apart (it cancels against the y log mu of the density at small mu: risk §14.6).
    Below A = 1, H = -A/2 + sum_n c_n t^(2n), t = A/2 (Horner in u = t^2); above, the closed forms.
    """
    small = A < 1.0
    t = np.where(small, 0.5 * A, 0.5)
    u = t * t
    nn = _LOGH_N.astype(float)
    out = []
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        Ab = np.where(small, 1.0, A)
        em = np.expm1(Ab)
        emm = -np.expm1(-Ab)                              # 1 - e^-A
        # d/dA = (1/2) d/dt; sum c_n t^(2n) -> sum c_n n t^(2n-1) -> ... as polynomials in u
        out.append(np.where(small, -0.5 * A + u * _horner(_LOGH_C, u), _log1mexp(Ab) - log_A))
        if order >= 1:
            s1 = -0.5 + t * _horner(_LOGH_C * nn, u)
            out.append(np.where(small, s1, 1.0 / em - 1.0 / Ab))
        if order >= 2:
            s2 = 0.5 * _horner(_LOGH_C * nn * (2 * nn - 1), u)
            out.append(np.where(small, s2, 1.0 / (Ab * Ab) - 1.0 / (em * emm)))
        if order >= 3:
            s3 = 0.25 * t * _horner((_LOGH_C * nn * (2 * nn - 1) * (2 * nn - 2))[1:], u)
            out.append(np.where(small, s3, (1.0 + np.exp(-Ab)) / (em * emm * emm) - 2.0 / (Ab * Ab * Ab)))
    return out


def _kernel_terms(kind, y, n, eta, phi, order, dispersion):
    """One pass of the compiled kernel over eta (N, K): a dict of the arrays asked for (FamilyTerms' names)."""
    count = 1 + order + (2 + min(order, 2) if dispersion else 0)
    block = np.empty((count,) + eta.shape)    # OUT, filled by the kernel
    names = ["value", "d1", "d2", "d3"][:order + 1]
    if dispersion:
        names += ["ds", "dss", "d1s", "d2s"][:2 + min(order, 2)]
    arrays = dict(zip(names, block))
    status = _kernel.family_terms(kind, y, n, eta, phi, order, dispersion, arrays["value"], arrays.get("d1"),
                                  arrays.get("d2"), arrays.get("d3"), arrays.get("ds"), arrays.get("d1s"),
                                  arrays.get("d2s"), arrays.get("dss"))
    if status != 0:  # pragma: no cover - the arguments were normalized by the caller
        raise RuntimeError(f"the family kernel refused its arguments (kind {kind}, status {status})")
    return arrays


class Family:
    """An exponential family with a link function; build one with :func:`make_family`.

    Attributes
    ----------
    name : str
        The family's name (see the module's table).
    link : str
        The link function's name.
    has_dispersion : bool
        Whether the family has a dispersion parameter phi.
    dispersion_name : str or None
        Its name: ``"sigma"`` (gaussian residual SD, t scale), ``"shape"`` (Gamma), ``"theta"`` (NB2 size),
        ``"phi"`` (NB1, beta, beta-binomial, Tweedie).
    shape_names : tuple of str
        The free shape parameters, natural scale: ``("power",)`` (Tweedie), ``("df",)`` (Student t),
        ``("thresholds",)`` (ordinal: one entry standing for the K - 1 thresholds, K from the data); empty
        for the other families and for a shape fixed at :func:`make_family`.
    fixed : dict
        The shape parameters fixed at :func:`make_family` (``{"df": 5.0}``), else empty.
    discrete : bool
        Counts or successes: zero-inflation is allowed.
    truncated : bool
        Zero-truncated (y = 0 only through a zero-inflation formula: a hurdle model).
    weights_are_trials : bool
        ``n`` is the number of trials (binomial, bernoulli, beta_binomial), else a prior weight.

    Notes
    -----
    Per row i the data are a response y_i and n_i: the number of trials for binomial, a prior weight
    otherwise (1 by default). For gaussian the weight is a precision (var_i = sigma^2 / n_i), for Gamma it
    multiplies the shape (nu_i = n_i nu); for the other families it multiplies the row's log-likelihood.
    """

    name = None
    links = ()
    has_dispersion = False
    dispersion_name = None
    discrete = False
    truncated = False
    weights_are_trials = False
    _shape_params = ()
    _kernel_name = None
    __slots__ = ("_link", "_kind", "_fixed")

    def __init__(self, link, **fixed):
        object.__setattr__(self, "_link", link)
        kind = _kernel.KINDS[(self._kernel_name, link)] if self._kernel_name is not None else None
        object.__setattr__(self, "_kind", kind)
        values = []
        for key in self._shape_params:       # the family's own order: equal families compare equal
            if key in fixed:
                values.append((key, self._check_shape_value(key, fixed.pop(key))))
        if fixed:
            key = next(iter(fixed))
            allowed = ", ".join(f"`{k}`" for k in self._shape_params) or "none"
            raise ValueError(f"`{key}` is not a shape parameter of {self.name} (allowed: {allowed})")
        object.__setattr__(self, "_fixed", tuple(values))

    @classmethod
    def _check_shape_value(cls, key, value):
        raise ValueError(f"`{key}` cannot be fixed for {cls.name}")

    def __setattr__(self, key, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self):
        # rebuilt by its constructor (pickle's default would set the slots through the refused __setattr__):
        # fitted results, saved or sent to another process, carry their family
        if self._fixed:
            return functools.partial(type(self), **dict(self._fixed)), (self._link,)
        return type(self), (self._link,)

    @property
    def link(self):
        return self._link

    @property
    def fixed(self):
        return dict(self._fixed)

    @property
    def shape_names(self):
        return tuple(k for k in self._shape_params if k not in self.fixed)

    def __repr__(self):
        extra = "".join(f", {k}={v!r}" for k, v in self._fixed)
        return f"{self.name}(link={self.link!r}{extra})"

    def __eq__(self, other):
        return isinstance(other, Family) and (self.name, self.link, self._fixed) == (other.name, other.link,
                                                                                    other._fixed)

    def __hash__(self):
        return hash((self.name, self.link, self._fixed))

    # --- data ------------------------------------------------------------------------------------------

    def _rows(self, y, n):
        """y and n as float64 1-D arrays of one length (n = 1 when None): shapes only, not values."""
        y = _float_array(y, "y")
        if y.ndim != 1:
            raise ValueError(f"`y` must be one-dimensional, got shape {y.shape}")
        if n is None:
            n = np.ones_like(y)
        else:
            n = _float_array(n, "n")
            if n.ndim == 0:
                n = np.full_like(y, float(n))
            if n.shape != y.shape:
                raise ValueError(f"`n` must have the shape of `y` {y.shape}, got {n.shape}")
        return np.ascontiguousarray(y), np.ascontiguousarray(n)

    def validate(self, y, n=None, *, zero_inflated=False, row_labels=None):
        """Check a response and its trials / prior weights; raise ValueError if they do not fit the family.

        Parameters
        ----------
        y : array_like, shape (N,)
            The response.
        n : array_like, shape (N,), optional
            Trials (binomial, beta_binomial) or prior weights (the others); 1 by default.
        zero_inflated : bool, optional
            Whether the model has a zero-inflation (or, for a truncated family, hurdle) part: a truncated
            family allows y = 0 only then.
        row_labels : sequence, optional
            The rows' labels (e.g. a data frame's index) for the messages; by default their positions.

        Raises
        ------
        ValueError
            Naming the argument and the first offending row: non-finite values, negative or non-integer
            counts, successes greater than trials, y not 0 or 1 (bernoulli), non-positive y (Gamma),
            y outside (0, 1) (beta), zeros of a truncated family without zero-inflation, non-positive or
            non-finite weights.

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> make_family("binomial").validate([0, 3, 5], [5, 5, 5])
        >>> make_family("binomial").validate([0, 6, 5], [5, 5, 5])
        Traceback (most recent call last):
            ...
        ValueError: `y` (successes) must not exceed `n` (trials): row 1 has y = 6.0, n = 5.0
        >>> make_family("truncated_poisson").validate([1, 0, 2], row_labels=["a", "b", "c"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        ValueError: `y`: truncated_poisson is zero-truncated but row b is 0: add ziformula='~1' for a hurdle ...
        """
        y, n = self._rows(y, n)
        if row_labels is not None:
            row_labels = list(row_labels)
            if len(row_labels) != y.shape[0]:
                raise ValueError(f"`row_labels` must have one label per row ({y.shape[0]}), got {len(row_labels)}")
        lab = row_labels
        if not np.all(np.isfinite(y)):
            i = _first_bad(~np.isfinite(y))
            raise ValueError(f"`y` must be finite: row {_label(i, lab)} has y = {y[i]}")
        if not np.all(np.isfinite(n) & (n > 0)):
            i = _first_bad(~(np.isfinite(n) & (n > 0)))
            raise ValueError(f"`n` (weights or trials) must be positive and finite: row {_label(i, lab)} "
                             f"has n = {n[i]}")
        self._check(y, n, lab)
        if self.truncated and not zero_inflated and np.any(y == 0):
            rows = np.flatnonzero(y == 0)
            shown = ", ".join(str(_label(i, lab)) for i in rows[:5])
            more = f" (and {rows.size - 5} more)" if rows.size > 5 else ""
            word = "row" if rows.size == 1 else "rows"
            verb = "is" if rows.size == 1 else "are"
            base = self.name.replace("truncated_", "")
            raise ValueError(f"`y`: {self.name} is zero-truncated but {word} {shown}{more} {verb} 0: add "
                             f"ziformula='~1' for a hurdle model, or use family='{base}'")

    def _check(self, y, n, labels=None):
        """Family-specific checks of finite y and positive finite n."""

    @staticmethod
    def _check_counts(y, what="`y`", labels=None):
        if np.any(y < 0):
            i = _first_bad(y < 0)
            raise ValueError(f"{what} must be non-negative counts: row {_label(i, labels)} has {y[i]}")
        if np.any(y != np.floor(y)):
            i = _first_bad(y != np.floor(y))
            raise ValueError(f"{what} must be integer counts: row {_label(i, labels)} has {y[i]}")

    def log_constant(self, y, n=None):
        """The sum over rows of the log-density terms that depend on neither eta nor phi (nor the shape).

        ``terms(...).value.sum() + log_constant(y, n)`` is the full log-likelihood. The data are
        validated (:meth:`validate`; zeros of a truncated family allowed, they belong to a hurdle part).

        Parameters
        ----------
        y, n : array_like, shape (N,)
            Response and trials / prior weights (1 by default).

        Returns
        -------
        float
            binomial, beta_binomial: sum log C(n, y); poisson, the negative binomials and the truncated
            families: -sum n log(y!); Gamma: -sum log y; beta: -sum n (log y + log(1 - y)); Tweedie:
            -sum over y > 0 of n log y; gaussian, bernoulli, student_t, ordinal: 0.

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> round(make_family("poisson").log_constant([0, 1, 3]), 6)   # -log(3!)
        -1.791759
        """
        self.validate(y, n, zero_inflated=True)
        y, n = self._rows(y, n)
        return float(self._log_constant(y, n))

    def _log_constant(self, y, n):
        return 0.0

    # --- shape parameters ---------------------------------------------------------------------------------

    def _shape_full(self, shape):
        """The natural shape vector the densities take (free values, then the fixed ones in place), or None."""
        free = self.shape_names
        if not self._shape_params:
            if shape is not None:
                raise ValueError(f"`shape` must be None: {self!r} has no shape parameters, got {shape!r}")
            return None
        if not free:
            if shape is not None:
                raise ValueError(f"`shape` must be None: the shape of {self!r} is fixed, got {shape!r}")
            return np.array([v for _, v in self._fixed])
        if shape is None:
            raise ValueError(f"`shape` ({', '.join(free)}) is required for {self!r}")
        kappa = _float_array(shape, "shape").reshape(-1)
        if kappa.size != len(free):
            raise ValueError(f"`shape` must hold {len(free)} value(s) ({', '.join(free)}) for {self!r}, "
                             f"got {kappa.size}")
        for key, v in zip(free, kappa):
            try:
                self._check_shape_value(key, v)
            except ValueError as error:
                # a DomainError (a ValueError): an optimizer's objective reads it as -inf
                raise DomainError(str(error)) from None
        return kappa

    def shape_coordinates(self, natural):
        """Unconstrained optimizer coordinates of the free natural shape parameters.

        Tweedie: logit(p - 1) (glmmTMB's psi); Student t: log(df); ordinal: alpha_1 = theta_1,
        alpha_j = log(theta_j - theta_{j-1}). An empty array for a family without a free shape.

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> make_family("tweedie").shape_coordinates([1.5]).tolist()
        [0.0]
        """
        kappa = _float_array(natural, "natural").reshape(-1)
        self._shape_full(kappa if self.shape_names else None)
        return self._to_coordinates(kappa) if self.shape_names else np.zeros(0)

    def shape_natural(self, coords):
        """The natural shape parameters at optimizer coordinates (the inverse of :meth:`shape_coordinates`).

        Finite coordinates give a valid power (kept strictly inside (1, 2) where logit's inverse rounds) and
        a positive df (at least the smallest normal number; above exp(709), inf); thresholds may tie
        where exp(alpha_j) underflows, which :meth:`terms` then reports as a
        :class:`quadlib.DomainError` (a ValueError; an objective's -inf), as any shape outside its domain.

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> make_family("student_t").shape_natural([0.0]).tolist()
        [1.0]
        """
        c = _float_array(coords, "coords").reshape(-1)
        if not self.shape_names:
            if c.size:
                raise ValueError(f"`coords` must be empty: {self!r} has no free shape parameters")
            return np.zeros(0)
        if not np.all(np.isfinite(c)):
            raise ValueError(f"`coords` must be finite, got {c.tolist()}")
        return self._to_natural(c)

    def shape_jacobian(self, coords):
        """d natural / d coordinates, shape (m, m), at optimizer coordinates.

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> make_family("tweedie").shape_jacobian([0.0]).tolist()     # expit'(0)
        [[0.25]]
        """
        c = _float_array(coords, "coords").reshape(-1)
        if not self.shape_names:
            if c.size:
                raise ValueError(f"`coords` must be empty: {self!r} has no free shape parameters")
            return np.zeros((0, 0))
        return self._jacobian(c)

    # --- the kernel -----------------------------------------------------------------------------------

    def _phi_rows(self, phi, N):
        """phi as a positive float or a contiguous float64 array of N positive values."""
        if isinstance(phi, np.ndarray) and phi.ndim == 1:
            if phi.shape[0] != N:
                raise ValueError(f"`phi` must be a number or an array of N = {N} per-row values, got shape "
                                 f"{phi.shape}")
            rows = np.ascontiguousarray(phi, dtype=np.float64)
            if not np.all(np.isfinite(rows) & (rows > 0)):
                i = _first_bad(~(np.isfinite(rows) & (rows > 0)))
                raise ValueError(f"`phi` ({self.dispersion_name}) must be positive and finite: row {i} has "
                                 f"{rows[i]}")
            return rows
        if isinstance(phi, np.ndarray) and phi.ndim == 0:
            phi = phi[()]
        if phi is None or not _is_real(phi) or not (np.isfinite(phi) and phi > 0):
            raise ValueError(f"`phi` ({self.dispersion_name}) must be a positive finite number or an array "
                             f"of them for {self!r}, got {phi!r}")
        return float(phi)

    def _terms_iv(self, y, n, eta, phi, order, dispersion, shape=None):
        y, n = self._rows(y, n)
        eta = np.ascontiguousarray(_float_array(eta, "eta"))
        if eta.ndim not in (1, 2) or eta.shape[0] != y.shape[0]:
            raise ValueError(f"`eta` must have shape (N,) or (N, K) with N = len(y) = {y.shape[0]}, "
                             f"got {eta.shape}")
        if isinstance(order, (bool, np.bool_)) or not isinstance(order, numbers.Integral) or not 0 <= order <= 3:
            raise ValueError(f"`order` must be 0, 1, 2 or 3, got {order!r}")
        if self.has_dispersion:
            phi = self._phi_rows(phi, y.shape[0])
        else:
            if phi is not None:
                raise ValueError(f"`phi` must be None: {self!r} has no dispersion parameter, got {phi!r}")
            if dispersion and not self.shape_names:
                raise ValueError(f"`dispersion` must be False: {self!r} has no dispersion parameter")
            phi = 1.0
        kappa = self._shape_full(shape)
        return y, n, eta, phi, int(order), bool(dispersion), kappa

    def terms(self, y, n, eta, phi=None, order=2, dispersion=False, *, shape=None):
        """log p(y | eta, phi) without its constant, and its derivatives, at every element of ``eta``.

        The first six families take one pass of the compiled kernel, the others vectorized numpy. The
        data are not checked here (this is the hot path of the likelihood): call :meth:`validate` once
        beforehand.

        Parameters
        ----------
        y, n : array_like, shape (N,)
            Response and trials / prior weights (``n=None``: 1).
        eta : array_like, shape (N,) or (N, K)
            Linear predictor; with two dimensions, K values for each row (quadrature points).
        phi : float or ndarray of shape (N,), optional
            The dispersion (natural scale), one value or one per row; required by the families that have
            one, must be None for the others.
        order : {0, 1, 2, 3}, optional
            Highest derivative in eta to compute (default 2).
        dispersion : bool, optional
            Also compute the derivatives in s = log(phi): ``ds`` (and ``dss`` for the kernel's families and
            NB1/the truncated ones), ``d1s`` if ``order >= 1``, ``d2s`` if ``order >= 2``; and, for a family
            with a free shape, ``dshape`` (``d1shape``, ``d2shape`` likewise) in the natural shape.
        shape : array_like, shape (m,), optional
            The free natural shape parameters (Tweedie ``[power]``, t ``[df]``, ordinal the K - 1
            thresholds); required when the family has a free shape, else None.

        Returns
        -------
        FamilyTerms
            Arrays of the shape of ``eta`` (the shape derivatives (m,) + eta.shape); those not computed
            are None.

        Notes
        -----
        Accurate to a few ulps over the whole range where the density is representable (|eta| of 30 and
        more for the binomial links, theta -> infinity for the negative binomial, large Gamma shapes);
        the kernel's module notes say how. For the Gamma family with the inverse link, eta <= 0 (a
        negative mean) gives value -inf and NaN derivatives. A per-row phi gives bit for bit the values
        of one call per row with that phi.

        References
        ----------
        W. J. Cody, "Algorithm 715: SPECFUN", ACM TOMS 19 (1993) (the normal tail, as in R's pnorm);
        Abramowitz & Stegun, Handbook of Mathematical Functions (1964), 26.2.14 (Mills ratio continued
        fraction); NIST DLMF 5.11 (Stirling series of lgamma, digamma, trigamma).

        Examples
        --------
        >>> import numpy as np
        >>> from quadlib.glmm._families import make_family
        >>> f = make_family("binomial", "probit")
        >>> t = f.terms([3, 0], [5, 2], np.array([0.0, -1.0]), order=2)
        >>> np.round(t.value + [np.log(10), np.log(1)], 6)   # log binom.pmf: log(10 / 2**5), 2 log(Phi(1))
        array([-1.163151, -0.345508])
        >>> t.d3 is None
        True
        >>> g = make_family("negative_binomial")
        >>> t = g.terms([2.0], None, np.array([[0.0, 1.0]]), phi=1.5, order=1, dispersion=True)
        >>> t.d1.shape, t.d2s is None
        ((1, 2), True)
        >>> h = make_family("student_t")
        >>> t = h.terms([0.5], None, np.array([[0.0, 1.0]]), phi=np.array([2.0]), shape=[4.0], dispersion=True)
        >>> t.dshape.shape                          # (m,) + eta.shape: one shape parameter, df
        (1, 1, 2)
        """
        y, n, eta, phi, order, dispersion, kappa = self._terms_iv(y, n, eta, phi, order, dispersion, shape)
        shape_ = eta.shape
        N = y.shape[0]
        eta2 = eta.reshape(N, eta.shape[1] if eta.ndim == 2 else 1)
        if self._kind is None:
            arrays = self._row_terms(y, n, eta2, phi, kappa, order, dispersion)
            fields = {}
            for key, a in arrays.items():
                if a is None or key not in FamilyTerms.__dataclass_fields__:
                    continue
                if key in ("dshape", "d1shape", "d2shape"):
                    if not self.shape_names:
                        continue                      # a fixed shape: no free parameter to differentiate
                    fields[key] = np.asarray(a, dtype=np.float64).reshape((-1,) + shape_)
                else:
                    fields[key] = np.asarray(a, dtype=np.float64).reshape(shape_)
            return FamilyTerms(**fields)
        arrays = _kernel_terms(self._kind, y, n, eta2, phi, order, dispersion)
        return FamilyTerms(**{k: a.reshape(shape_) for k, a in arrays.items()})

    def _row_terms(self, y, n, eta, phi, shape, order, dispersion):  # pragma: no cover - kernel families
        raise NotImplementedError

    # --- the link ---------------------------------------------------------------------------------------

    def inverse_link(self, eta):
        """The mean mu (for binomial: the success probability per trial) at linear predictor ``eta``.

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> float(make_family("binomial", "cloglog").inverse_link(0.0))   # 1 - exp(-1)
        0.6321205588285577
        """
        eta = _float_array(eta, "eta")
        with np.errstate(divide="ignore", over="ignore"):
            if self.link == "logit":
                return special.expit(eta)
            if self.link == "probit":
                return special.ndtr(eta)
            if self.link == "cloglog":
                return -np.expm1(-np.exp(eta))
            if self.link == "log":
                return np.exp(eta)
            if self.link == "inverse":
                return 1.0 / eta
            return eta.copy() if eta.ndim else eta[()]

    def link_function(self, mu):
        """The linear predictor eta = g(mu), the inverse of :meth:`inverse_link`.

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> float(make_family("Gamma").link_function(4.0))   # inverse link
        0.25
        """
        mu = _float_array(mu, "mu")
        with np.errstate(divide="ignore"):
            if self.link == "logit":
                return special.logit(mu)
            if self.link == "probit":
                return special.ndtri(mu)
            if self.link == "cloglog":
                return np.log(-np.log1p(-mu))
            if self.link == "log":
                return np.log(mu)
            if self.link == "inverse":
                return 1.0 / mu
            return mu.copy() if mu.ndim else mu[()]

    def variance(self, mu, phi=None, shape=None):
        """Var(y) for a row of unit weight with mean ``mu`` (binomial, beta_binomial: one trial).

        binomial mu (1 - mu), poisson mu, gaussian sigma^2, Gamma mu^2 / shape, negative_binomial
        mu + mu^2 / theta, negative_binomial1 mu (1 + phi), beta mu (1 - mu) / (1 + phi), Tweedie phi mu^p,
        Student t sigma^2 df / (df - 2) (infinite for df <= 2); the truncated families the variance of the
        zero-truncated count whose untruncated mean is ``mu``. With weight n: binomial counts have variance
        n mu (1 - mu); gaussian and Gamma responses variance(mu, phi) / n.

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> float(make_family("negative_binomial").variance(2.0, phi=4.0))
        3.0
        >>> float(make_family("tweedie", power=1.5).variance(4.0, phi=2.0))
        16.0
        """
        mu = _float_array(mu, "mu")
        self._phi_iv(phi)
        kappa = self._shape_full(shape)
        return self._variance(mu, phi) if kappa is None else self._variance(mu, phi, kappa)

    def _variance(self, mu, phi, shape=None):
        raise ValueError(f"`family`: {self.name} has no variance function")

    def _phi_iv(self, phi):
        if not self.has_dispersion:
            return
        p = np.asarray(phi, dtype=np.float64) if phi is not None and not isinstance(phi, (bool, np.bool_)) \
            else None
        if p is None or p.ndim > 1 or not np.all(np.isfinite(p) & (p > 0)):
            raise ValueError(f"`phi` ({self.dispersion_name}) must be a positive finite number for {self!r}, "
                             f"got {phi!r}")

    def _log_p0(self, mu, phi):
        """log P(Y = 0) at mean mu, or None where the family has no mass at 0."""
        return None

    def log_nonzero(self, mu, phi=None):
        """log(1 - P(Y = 0)) at (untruncated) mean ``mu``: the truncation of the truncated families.

        Defined for the count families (poisson, the negative binomials and their truncated versions) and
        for one trial of binomial / bernoulli; a ValueError for the others.

        Examples
        --------
        >>> import numpy as np
        >>> from quadlib.glmm._families import make_family
        >>> bool(np.isclose(make_family("truncated_poisson").log_nonzero(2.0), np.log(1 - np.exp(-2.0))))
        True
        """
        mu = _float_array(mu, "mu")
        self._phi_iv(phi)
        A = self._log_p0(mu, phi)
        if A is None:
            raise ValueError(f"`family`: log_nonzero is defined for count families, not {self.name}")
        return _log1mexp(-A)[()]

    def mean(self, mu, phi=None, shape=None):
        """E[y | b] at the mean parameter ``mu``: mu / (1 - P(0)) for a truncated family, else ``mu``.

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> round(float(make_family("truncated_negative_binomial").mean(1.0, phi=1.0)), 12)   # 1 / (1 - 1/2)
        2.0
        """
        mu = _float_array(mu, "mu")
        self._phi_iv(phi)
        if not self.truncated:
            return mu.copy() if mu.ndim else mu[()]
        with np.errstate(divide="ignore", invalid="ignore"):
            return (mu / -np.expm1(self._log_p0(mu, phi)))[()]

    # --- starting values and simulation ------------------------------------------------------------------

    def start_eta(self, y, n=None):
        """A safe starting linear predictor from the data, as R's ``family$initialize`` then ``linkfun``.

        binomial, beta_binomial: g((y + 0.5) / (n + 1)); the count families and Tweedie: log(y + 0.1);
        gaussian, student_t: y; Gamma, beta: g(y); ordinal: 0 (the thresholds carry the location).

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> make_family("binomial").start_eta([0, 5], [5, 5]).round(4)
        array([-2.3979,  2.3979])
        """
        y, n = self._rows(y, n)
        return self.link_function(self._start_mu(y, n))

    def start_dispersion(self, y, n, mu, shape=None):
        """A moment estimate of phi given fitted means ``mu`` (None for families without a dispersion).

        gaussian: sigma = sqrt(mean(n (y - mu)^2)); Gamma: shape = 1 / mean(n (y - mu)^2 / mu^2);
        negative_binomial (and truncated): theta = sum(n mu^2) / sum(n ((y - mu)^2 - mu));
        negative_binomial1: phi = mean(n (y - mu)^2 / mu) - 1, at least 1e-2; beta: phi = mean(mu (1 - mu)) /
        mean((y - mu)^2) - 1; beta_binomial: from the between-row variance of y / n, 1/(1 + phi) =
        (sum r^2 - N) / sum(n - 1) with Pearson residuals r; Tweedie: mean(n (y - mu)^2 / mu^p) at p = 1.5
        (or the given / fixed power); Student t: sigma = 1.4826 MAD(y - mu). Results are kept in
        [1e-8, 1e8] (theta and the precisions in [1e-2, 1e4], the upper end standing for "no
        overdispersion").

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> round(make_family("gaussian").start_dispersion([1.0, 3.0], None, [2.0, 2.0]), 6)
        1.0
        """
        if not self.has_dispersion:
            return None
        y, n = self._rows(y, n)
        mu = np.broadcast_to(_float_array(mu, "mu"), y.shape)
        kappa = None
        if self._shape_params:
            kappa = self._shape_full(shape) if (shape is not None or not self.shape_names) else None
        if kappa is None:
            return float(self._start_dispersion(y, n, mu))
        return float(self._start_dispersion(y, n, mu, kappa))

    def simulate(self, eta, n=None, phi=None, rng=None, *, shape=None):
        """Draw responses at linear predictor ``eta``.

        Parameters
        ----------
        eta : array_like
            Linear predictor, one value per draw.
        n : array_like, optional
            Trials (binomial, beta_binomial) or weights (1 by default), broadcast against ``eta``. Weights
            change the gaussian variance (sigma^2 / n) and the Gamma shape (n nu); as in R's ``simulate``,
            they do not enter the other families' draws.
        phi : float or array_like, optional
            The dispersion, for the families that have one (one value or one per draw).
        rng : numpy.random.Generator or int, optional
            The random generator (or a seed for ``numpy.random.default_rng``).
        shape : array_like, optional
            The free natural shape parameters (Tweedie power, t df, ordinal thresholds).

        Returns
        -------
        ndarray of float
            binomial: successes out of n; negative binomials through their gamma-Poisson mixture;
            truncated families by inversion of the distribution function above 0; Tweedie as a compound
            Poisson-gamma sum; ordinal: category codes 1..K.

        Examples
        --------
        >>> import numpy as np
        >>> from quadlib.glmm._families import make_family
        >>> y = make_family("poisson").simulate(np.full(4000, np.log(3.0)), rng=1)
        >>> bool(abs(y.mean() - 3.0) < 0.1)
        True
        """
        eta = _float_array(eta, "eta")
        n = np.broadcast_to(np.ones(()) if n is None else _float_array(n, "n"), eta.shape)
        self._phi_iv(phi)
        kappa = self._shape_full(shape)
        rng = np.random.default_rng(rng)
        mu = self.inverse_link(eta)
        out = self._simulate(mu, n, phi, rng) if kappa is None else self._simulate(mu, n, phi, rng, kappa)
        return np.asarray(out, dtype=np.float64)


# --- the compiled kernel's families ----------------------------------------------------------------------

class _Binomial(Family):
    __slots__ = ()
    name = _kernel_name = "binomial"
    links = ("logit", "probit", "cloglog")
    discrete = True
    weights_are_trials = True

    def _check(self, y, n, labels=None):
        self._check_counts(y, labels=labels)
        if np.any(n != np.floor(n)):
            i = _first_bad(n != np.floor(n))
            raise ValueError(f"`n` (trials) must be positive integers: row {_label(i, labels)} has {n[i]}")
        if np.any(y > n):
            i = _first_bad(y > n)
            raise ValueError(f"`y` (successes) must not exceed `n` (trials): row {_label(i, labels)} has "
                             f"y = {y[i]}, n = {n[i]}")

    def _log_constant(self, y, n):
        return np.sum(special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1))

    def _variance(self, mu, phi):
        return mu * (1 - mu)

    def _log_p0(self, mu, phi):
        return np.log1p(-mu)

    def _start_mu(self, y, n):
        return (y + 0.5) / (n + 1)

    def _simulate(self, mu, n, phi, rng):
        return rng.binomial(n.astype(np.int64), mu)


class _Bernoulli(_Binomial):
    __slots__ = ()
    name = "bernoulli"

    def _check(self, y, n, labels=None):
        if np.any(n != 1):
            i = _first_bad(n != 1)
            raise ValueError(f"`n` must be 1 for a bernoulli response: row {_label(i, labels)} has n = {n[i]}")
        if np.any((y != 0) & (y != 1)):
            i = _first_bad((y != 0) & (y != 1))
            raise ValueError(f"`y` must be 0 or 1 for a bernoulli response: row {_label(i, labels)} has "
                             f"y = {y[i]}")


class _Poisson(Family):
    __slots__ = ()
    name = _kernel_name = "poisson"
    links = ("log",)
    discrete = True

    def _check(self, y, n, labels=None):
        self._check_counts(y, labels=labels)

    def _log_constant(self, y, n):
        return -np.sum(n * special.gammaln(y + 1))

    def _variance(self, mu, phi):
        return mu.copy() if mu.ndim else mu[()]

    def _log_p0(self, mu, phi):
        return -mu

    def _start_mu(self, y, n):
        return y + 0.1

    def _simulate(self, mu, n, phi, rng):
        return rng.poisson(mu)


class _Gaussian(Family):
    __slots__ = ()
    name = _kernel_name = "gaussian"
    links = ("identity",)
    has_dispersion = True
    dispersion_name = "sigma"

    def _variance(self, mu, phi):
        return (np.zeros_like(mu) + np.asarray(phi, dtype=np.float64) ** 2)[()]

    def _start_mu(self, y, n):
        return y

    def _start_dispersion(self, y, n, mu):
        s = np.sqrt(np.mean(n * (y - mu) ** 2))
        return np.clip(s, 1e-8 * max(1.0, float(np.max(np.abs(y)))), 1e8)

    def _simulate(self, mu, n, phi, rng):
        return rng.normal(mu, phi / np.sqrt(n))


class _Gamma(Family):
    __slots__ = ()
    name = _kernel_name = "Gamma"
    links = ("inverse", "log")
    has_dispersion = True
    dispersion_name = "shape"

    def _check(self, y, n, labels=None):
        if np.any(y <= 0):
            i = _first_bad(y <= 0)
            raise ValueError(f"`y` must be positive for the Gamma family: row {_label(i, labels)} has y = {y[i]}")

    def _log_constant(self, y, n):
        return -np.sum(np.log(y))

    def _variance(self, mu, phi):
        return mu * mu / phi

    def _start_mu(self, y, n):
        return y

    def _start_dispersion(self, y, n, mu):
        cv2 = np.mean(n * ((y - mu) / mu) ** 2)
        return np.clip(1.0 / cv2, 1e-8, 1e8) if cv2 > 0 else 1e8

    def _simulate(self, mu, n, phi, rng):
        shape = n * phi
        return rng.gamma(shape, mu / shape)


def _nb2_theta_start(y, n, mu):
    excess = np.sum(n * ((y - mu) ** 2 - mu))
    return np.clip(np.sum(n * mu * mu) / excess, 1e-2, 1e4) if excess > 0 else 1e4


class _NegativeBinomial(Family):
    __slots__ = ()
    name = _kernel_name = "negative_binomial"
    links = ("log",)
    has_dispersion = True
    dispersion_name = "theta"
    discrete = True

    def _check(self, y, n, labels=None):
        self._check_counts(y, labels=labels)

    def _log_constant(self, y, n):
        return -np.sum(n * special.gammaln(y + 1))

    def _variance(self, mu, phi):
        return mu + mu * mu / phi

    def _log_p0(self, mu, phi):
        return -phi * np.log1p(mu / phi)

    def _start_mu(self, y, n):
        return y + 0.1

    def _start_dispersion(self, y, n, mu):
        return _nb2_theta_start(y, n, mu)

    def _simulate(self, mu, n, phi, rng):
        return rng.poisson(rng.gamma(phi, mu / phi))


# --- NB1 and the truncated counts: vectorized numpy (WP1 of issue 19) --------------------------------------

_SUM_LIMIT = 64
"""Truncated NB2: counts up to this use exact finite sums for lgamma(y + theta) - lgamma(theta) (per row O(y))."""
_NB1_SUMS = _kernel.NBINOM1_SUM_LIMIT
"""NB1: counts up to this (1024) use exact finite sums (per element O(y)); polygammas above."""


def _col(phi, eta):
    """A scalar or per-row phi, broadcastable against eta (N, K)."""
    return phi if np.ndim(phi) == 0 else np.asarray(phi)[:, None]


def _nb1_terms(y, n, eta, phi, order, dispersion):
    """NB1 (size r = mu/phi, var = mu (1 + phi)) value and derivatives; eta (N, K), phi scalar or (N,).

    The compiled kernel's slow twin (and its path for counts above its sums). With w_k = mu/(mu + k phi) =
    r/(r + k), v_k = 1 - w_k and sums over 1 <= k < y (the k = 0 terms, log mu = eta and w_0 = 1, taken out
    exactly): lgamma(y + r) - lgamma(1 + r) + (y - 1) log phi = T0 = sum log(mu + k phi),
    r (psi(y+r) - psi(1+r)) = T1 = sum w_k, U1 = sum v_k, U2 = sum w_k v_k, U3 = sum w_k v_k (v_k - w_k);
    d1 = [y >= 1] + T1 - r log1p(phi), d2 = U2 - r log1p(phi), d3 = U3 - r log1p(phi) (sums of w_k^j would
    cancel where w_k ~ 1 and at small mu); ds = U1 - y phi/(1 + phi) + r C, d1s = r C - U2, d2s = r C - U3,
    C = log1p(phi) - phi/(1 + phi), dss = U2 - (y phi - r phi^2)/(1 + phi)^2 - r C (the textbook
    -d1 + (y - mu)/(1 + phi) cancels as phi -> 0). Exact finite sums for y <= 1024; above, scipy's
    polygammas at y + r and 1 + r (which lose digits as r >> y, i.e. phi -> 0).
    """
    yc, nc, ph = y[:, None], n[:, None], _col(phi, eta)
    mu = np.exp(eta)
    l1p = np.log1p(ph)
    r = mu / ph
    # the s-derivatives take one more eta-derivative than their order, dss takes d2
    need = min(max(order + 1, 2), 3) if dispersion else order
    T = [np.zeros_like(eta) for _ in range(min(need, 1) + 1)]          # T0, T1
    U = [np.zeros_like(eta) for _ in range(3 if need >= 2 else 0)]     # U1, U2, U3
    small = y <= _NB1_SUMS
    # rows sorted by decreasing count (those beyond the sums count as 0 here): the rows with y > k are a
    # prefix, so term k costs (rows with y > k) x K, and the whole sum sum_i min(y_i, 1024) K, not N 1024 K
    ys = np.where(small, y, 0.0)
    srt = np.argsort(-ys, kind="stable")
    active = np.searchsorted(-ys[srt], -np.arange(_NB1_SUMS + 1, dtype=float), side="left")   # rows with y > k
    es = eta[srt]
    phs = ph if np.ndim(ph) == 0 else ph[srt]
    Ts = [np.zeros_like(eta) for _ in T]
    Us = [np.zeros_like(eta) for _ in U]
    for k in range(1, _NB1_SUMS):
        m = int(active[k])
        if m == 0:
            break
        e = es[:m]
        lkphi = np.log(k * (phs if np.ndim(phs) == 0 else phs[:m]))
        Ts[0][:m] += np.logaddexp(e, lkphi)
        if need >= 1:
            wk = special.expit(e - lkphi)
            Ts[1][:m] += wk
            if need >= 2:
                vk = special.expit(lkphi - e)
                wv = wk * vk
                Us[0][:m] += vk
                Us[1][:m] += wv
                Us[2][:m] += wv * (vk - wk)
    for j in range(len(T)):
        T[j][srt] = Ts[j]
    for j in range(len(U)):
        U[j][srt] = Us[j]
    big = np.flatnonzero(~small)
    if big.size:
        rb, yb = r[big], yc[big]
        lphi = np.log(ph if np.ndim(ph) == 0 else ph[big])
        # lgamma(y + r) - lgamma(1 + r) = A(y - 1, 1 + r) + (y - 1) log(1 + r), A by Stirling for large r
        T[0][big] = (_nb2_row_constant(np.broadcast_to(yb - 1.0, rb.shape).reshape(-1),
                                       (1.0 + rb).reshape(-1)).reshape(rb.shape)
                     + (yb - 1.0) * (np.log1p(rb) + lphi))
        if need >= 1:
            T[1][big] = rb * (special.digamma(yb + rb) - special.digamma(1.0 + rb))
        if need >= 2:          # U as combinations of sum w_k^j (sum v = y - 1 - T1, ...)
            t1 = T[1][big]
            t2 = -rb * rb * (special.polygamma(1, yb + rb) - special.polygamma(1, 1.0 + rb))
            t3 = 0.5 * rb ** 3 * (special.polygamma(2, yb + rb) - special.polygamma(2, 1.0 + rb))
            U[0][big] = (yb - 1.0) - t1
            U[1][big] = t1 - t2
            U[2][big] = t1 - 3.0 * t2 + 2.0 * t3
    one = (yc >= 1.0).astype(np.float64)             # the k = 0 term is present
    out = {"value": nc * (one * eta + T[0] - (r + yc) * l1p)}
    if need == 0:
        return out
    rl = r * l1p
    d = [one + T[1] - rl] + ([U[1] - rl, U[2] - rl] if need >= 2 else [])
    for k, dk in zip(("d1", "d2", "d3"), d[:order]):
        out[k] = nc * dk
    if dispersion:
        ip = 1.0 / (1.0 + ph)
        rC = r * (_log1pmx(ph) + ph * ph * ip)
        out["ds"] = nc * (U[0] - yc * ph * ip + rC)
        out["dss"] = nc * (U[1] - (yc * ph - r * ph * ph) * ip * ip - rC)
        if order >= 1:
            out["d1s"] = nc * (rC - U[1])
        if order >= 2:
            out["d2s"] = nc * (rC - U[2])
    return out


# Horner coefficients (in u, lowest first) of H and its first three derivatives below A = 1, as _truncation
# builds them
_LOGH_HORNER = tuple(np.ascontiguousarray(c, dtype=float) for c in (
    _LOGH_C, _LOGH_C * _LOGH_N, _LOGH_C * _LOGH_N * (2 * _LOGH_N - 1),
    (_LOGH_C * _LOGH_N * (2 * _LOGH_N - 1) * (2 * _LOGH_N - 2))[1:]))


def _truncated_poisson_compiled(y, n, eta, order):
    """:func:`_truncated_poisson_terms` in one compiled pass (the kernel's ``truncated_poisson_terms``)."""
    eta = np.ascontiguousarray(eta, dtype=float)
    names = ["value", "d1", "d2", "d3"][:order + 1]
    out = {name: np.empty(eta.shape) for name in names}
    status = _kernel.truncated_poisson_terms(np.ascontiguousarray(y, dtype=float),
                                             np.ascontiguousarray(n, dtype=float), eta, order, *_LOGH_HORNER,
                                             *[out.get(name) for name in ("value", "d1", "d2", "d3")])
    if status != 0:  # pragma: no cover - the arrays were shaped here
        raise RuntimeError(f"the truncated Poisson kernel refused its arguments (status {status})")
    return out


def _truncated_poisson_terms(y, n, eta, order):
    """Zero-truncated Poisson: y eta - mu - log(1 - e^-mu) = (y - 1) eta - mu - H(mu), H as in _truncation.

    The log mu hidden in log(1 - e^-mu) is taken out exactly (it is eta), so nothing cancels at tiny mu.
    The numpy version, twin of :func:`_truncated_poisson_compiled` (which the family uses).
    """
    yc, nc = y[:, None], n[:, None]
    mu = np.exp(eta)
    H = _truncation(mu, eta, order)
    out = {"value": nc * ((yc - 1.0) * eta - mu - H[0])}
    if order >= 1:
        out["d1"] = nc * ((yc - 1.0) - mu - H[1] * mu)
    if order >= 2:
        out["d2"] = nc * (-mu - (H[2] * mu + H[1]) * mu)
    if order >= 3:
        out["d3"] = nc * (-mu - ((H[3] * mu + 3.0 * H[2]) * mu + H[1]) * mu)
    return out


def _nb2_row_constant(y, theta):
    """lgamma(y + theta) - lgamma(theta) - y log theta, per row: sum_{k<y} log1p(k/theta) for y <= 64."""
    out = np.zeros_like(y, dtype=np.float64)
    small = y <= _SUM_LIMIT
    th = np.broadcast_to(theta, y.shape)
    for k in range(1, int(np.max(y[small], initial=0.0))):      # bounded by _SUM_LIMIT
        out += np.where(small & (y > k), np.log1p(k / th), 0.0)
    big = ~small
    if np.any(big):
        yb, tb = y[big], th[big]
        direct = special.gammaln(yb + tb) - special.gammaln(tb) - yb * np.log(np.maximum(tb, 1e-300))
        # theta >= 10: Stirling's series at y + theta and theta with the leading terms differenced
        # analytically, (y + theta - 1/2) log1p(y/theta) - y + ..., so nothing of size y log theta cancels
        # (gammaln's difference lost 2e-7 at theta = 1e8, y = 2000); truncation < 1e-13 (DLMF 5.11.1)
        big_t = np.maximum(tb, 10.0)
        x = yb + big_t

        def rest(z):
            z2 = 1.0 / (z * z)
            return (1.0 / 12 + z2 * (-1.0 / 360 + z2 * (1.0 / 1260 + z2 * (-1.0 / 1680 + z2 / 1188)))) / z

        stirling = (x - 0.5) * np.log1p(yb / big_t) - yb + (rest(x) - rest(big_t))
        out[big] = np.where(tb >= 10.0, stirling, direct)
    return out


def _truncated_nb2_terms(kind, y, n, eta, phi, order, dispersion):
    """Zero-truncated NB2: NB2 minus G(A), A = theta log1p(mu/theta) = -log P(0), G(A) = log(1 - e^-A).

    eta-derivatives: G(A) = log A + H(A); log A = log theta + log L, L = log1p(x), x = mu/theta, whose
    derivatives l' = p/L, l'' = l' c, l''' = l'' c - l'(p q + l'') with c = q - l' = q log1pmx(x)/L (no
    cancellation), and the y q of NB2's d1 is combined with l' into (y - 1) q + c: nothing cancels as
    mu -> 0 (risk §14.6). s-derivatives: NB2's from the kernel minus those of G(A) by the chain rule, with
    A_s = theta (log1pmx(x) + x^2/(1 + x)), A1s = theta p^2, A2s = 2 theta p^2 q, A_ss = A_s - theta p^2.
    """
    yc, nc, th = y[:, None], n[:, None], _col(phi, eta)
    mu = np.exp(eta)
    x = mu / th
    L = np.log1p(x)
    p = mu / (th + mu)
    q = th / (th + mu)
    lpx = _log1pmx(x)
    A = th * L
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = L > 0
        lp = np.where(pos, p / np.where(pos, L, 1.0), 1.0)
        c = np.where(pos, q * lpx / np.where(pos, L, 1.0), 0.0)
        log_L_over_x = np.where(x > 0, np.log1p(lpx / np.where(x > 0, x, 1.0)), 0.0)
        log_A = np.log(th) + np.log(L)
    H = _truncation(A, log_A, order)
    a_row = _nb2_row_constant(y, phi if np.ndim(phi) == 0 else np.asarray(phi))[:, None]
    out = {"value": nc * (a_row + (yc - 1.0) * eta - log_L_over_x - (th + yc) * L - H[0])}
    A1, A2 = th * p, th * p * q
    if order >= 1:
        out["d1"] = nc * ((yc - 1.0) * q + c - th * p - H[1] * A1)
    if order >= 2:
        lpp = lp * c
        out["d2"] = nc * (-(th + yc) * p * q - lpp - (H[2] * A1 * A1 + H[1] * A2))
    if order >= 3:
        lppp = lpp * c - lp * (p * q + lpp)
        A3 = A2 * (q - p)
        out["d3"] = nc * (-(th + yc) * p * q * (q - p) - lppp
                          - (H[3] * A1 ** 3 + 3.0 * H[2] * A1 * A2 + H[1] * A3))
    if dispersion:
        nb = _kernel_terms(kind, y, n, eta, phi, min(order, 2), True)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            As = th * (lpx + x * x / (1.0 + x))
            A1s, A2s = th * p * p, 2.0 * th * p * p * q
            Ass = As - A1s
            em, emm = np.expm1(A), -np.expm1(-A)
            G1 = 1.0 / em
            G2 = -1.0 / (em * emm)
            G3 = (1.0 + np.exp(-A)) / (em * emm * emm)
            ok = A > 0
            fix = lambda v: np.where(ok, v, 0.0)      # mu = 0 exactly: no truncation left to differentiate
            out["ds"] = nb["ds"] - nc * fix(G1 * As)
            out["dss"] = nb["dss"] - nc * fix(G2 * As * As + G1 * Ass)
            if order >= 1:
                out["d1s"] = nb["d1s"] - nc * fix(G2 * A1 * As + G1 * A1s)
            if order >= 2:
                out["d2s"] = nb["d2s"] - nc * fix(G3 * A1 * A1 * As + G2 * A2 * As + 2.0 * G2 * A1 * A1s
                                                  + G1 * A2s)
    return out


def _count_log_constant(y, n):
    return -np.sum(n * special.gammaln(y + 1))


def _truncated_draws(dist, p0, rng):
    """Inversion above 0: u uniform on (P(0), 1), the smallest y with F(y) >= u (>= 1 by construction)."""
    u = p0 + (1.0 - p0) * rng.uniform(size=np.shape(p0))
    return np.maximum(dist.ppf(np.minimum(u, np.nextafter(1.0, 0.0))), 1.0)


class _NegativeBinomial1(Family):
    __slots__ = ()
    name = "negative_binomial1"
    links = ("log",)
    has_dispersion = True
    dispersion_name = "phi"
    discrete = True

    def _check(self, y, n, labels=None):
        self._check_counts(y, labels=labels)

    def _log_constant(self, y, n):
        return _count_log_constant(y, n)

    def _row_terms(self, y, n, eta, phi, shape, order, dispersion):
        # the compiled kernel's finite sums; counts beyond them (NaN there) by the polygammas of _nb1_terms
        out = _kernel_terms(_kernel.KINDS[("negative_binomial1", "log")], y, n, eta, phi, order, dispersion)
        big = np.flatnonzero(y > _NB1_SUMS)
        if big.size:
            part = _nb1_terms(y[big], n[big], eta[big], phi if np.ndim(phi) == 0 else phi[big], order,
                              dispersion)
            for key, a in out.items():
                a[big] = part[key]
        return out

    def _variance(self, mu, phi):
        return mu * (1.0 + phi)

    def _log_p0(self, mu, phi):
        return -(mu / phi) * np.log1p(phi)

    def _start_mu(self, y, n):
        return y + 0.1

    def _start_dispersion(self, y, n, mu):
        return np.clip(np.mean(n * (y - mu) ** 2 / mu) - 1.0, 1e-2, 1e4)

    def _simulate(self, mu, n, phi, rng):
        return rng.poisson(rng.gamma(mu / phi, phi))


class _TruncatedPoisson(_Poisson):
    __slots__ = ()
    name = "truncated_poisson"
    _kernel_name = None
    truncated = True

    def _row_terms(self, y, n, eta, phi, shape, order, dispersion):
        return _truncated_poisson_compiled(y, n, eta, order)

    def _variance(self, mu, phi):
        m = mu / -np.expm1(-mu)
        return m * (1.0 + mu - m)

    def _start_mu(self, y, n):
        return np.maximum(y - 0.5, 0.1)

    def _simulate(self, mu, n, phi, rng):
        from scipy import stats
        return _truncated_draws(stats.poisson(mu), np.exp(-mu), rng)


class _TruncatedNegativeBinomial(_NegativeBinomial):
    __slots__ = ()
    name = "truncated_negative_binomial"
    _kernel_name = None
    truncated = True

    def _row_terms(self, y, n, eta, phi, shape, order, dispersion):
        return _truncated_nb2_terms(_kernel.KINDS[("negative_binomial", "log")], y, n, eta, phi, order,
                                    dispersion)

    def _variance(self, mu, phi):
        nz = -np.expm1(self._log_p0(mu, phi))
        m = mu / nz
        return (mu + mu * mu / phi + mu * mu) / nz - m * m

    def _start_mu(self, y, n):
        return np.maximum(y - 0.5, 0.1)

    def _simulate(self, mu, n, phi, rng):
        from scipy import stats
        return _truncated_draws(stats.nbinom(phi, phi / (phi + mu)), np.exp(self._log_p0(mu, phi)), rng)


# --- families whose mathematics is in _densities (WP2) and _ordinal (WP5) ----------------------------------

class _Beta(Family):
    __slots__ = ()
    name = "beta"
    links = ("logit",)
    has_dispersion = True
    dispersion_name = "phi"

    def _check(self, y, n, labels=None):
        bad = (y <= 0) | (y >= 1)
        if np.any(bad):
            rows = np.flatnonzero(bad)
            shown = ", ".join(str(_label(i, labels)) for i in rows[:5])
            vals = ", ".join(str(y[i]) for i in rows[:5])
            more = f" (and {rows.size - 5} more)" if rows.size > 5 else ""
            word, verb = ("row", "has") if rows.size == 1 else ("rows", "have")
            raise ValueError(f"`y` must be in (0, 1) for the beta family: {word} {shown}{more} {verb} y = {vals}"
                             f"{', ...' if rows.size > 5 else ''}; squeeze it, e.g. (y*(N-1) + 0.5)/N (Smithson & "
                             f"Verkuilen 2006), or use a zero/one-inflated model")

    def _log_constant(self, y, n):
        return np.sum(_densities.beta_log_constant(y, n))

    def _row_terms(self, y, n, eta, phi, shape, order, dispersion):
        return _densities.beta_terms(y, n, eta, phi, None, order, dispersion)

    def _variance(self, mu, phi):
        return mu * (1.0 - mu) / (1.0 + phi)

    def _start_mu(self, y, n):
        return y

    def _start_dispersion(self, y, n, mu):
        var = np.sum(n * (y - mu) ** 2) / np.sum(n)
        return np.clip(np.sum(n * mu * (1.0 - mu)) / np.sum(n) / var - 1.0, 1e-2, 1e4) if var > 0 else 1e4

    def _simulate(self, mu, n, phi, rng):
        return rng.beta(mu * phi, (1.0 - mu) * phi)


class _BetaBinomial(Family):
    __slots__ = ()
    name = "beta_binomial"
    links = ("logit",)
    has_dispersion = True
    dispersion_name = "phi"
    discrete = True
    weights_are_trials = True

    def _check(self, y, n, labels=None):
        _Binomial._check(self, y, n, labels)

    def _log_constant(self, y, n):
        return np.sum(_densities.beta_binomial_log_constant(y, n))

    def _row_terms(self, y, n, eta, phi, shape, order, dispersion):
        return _densities.beta_binomial_terms(y, n, eta, phi, None, order, dispersion)

    def _variance(self, mu, phi):
        return mu * (1.0 - mu)

    def _log_p0(self, mu, phi):
        return np.log1p(-mu)

    def _start_mu(self, y, n):
        return (y + 0.5) / (n + 1)

    def _start_dispersion(self, y, n, mu):
        # Var(y) = n mu (1 - mu) (1 + (n - 1) rho), rho = 1/(1 + phi): moments of the Pearson residuals
        r2 = (y - n * mu) ** 2 / (n * mu * (1.0 - mu))
        pairs = np.sum(n - 1.0)
        rho = (np.sum(r2) - y.size) / pairs if pairs > 0 else 0.0
        return np.clip(1.0 / rho - 1.0, 1e-2, 1e4) if rho > 0 else 1e4

    def _simulate(self, mu, n, phi, rng):
        return rng.binomial(n.astype(np.int64), rng.beta(mu * phi, (1.0 - mu) * phi))


class _Tweedie(Family):
    __slots__ = ()
    name = "tweedie"
    links = ("log",)
    has_dispersion = True
    dispersion_name = "phi"
    _shape_params = ("power",)

    @classmethod
    def _check_shape_value(cls, key, value):
        if not _is_real(value) or not 1.0 < value < 2.0:
            raise ValueError(f"`{key}` must be in (1, 2), got {value!r}")
        return float(value)

    def _check(self, y, n, labels=None):
        if np.any(y < 0):
            i = _first_bad(y < 0)
            raise ValueError(f"`y` must be non-negative for the tweedie family: row {_label(i, labels)} has "
                             f"y = {y[i]}")

    def _log_constant(self, y, n):
        return np.sum(_densities.tweedie_log_constant(y, n))

    def _row_terms(self, y, n, eta, phi, shape, order, dispersion):
        return _densities.tweedie_terms(y, n, eta, phi, shape, order, dispersion)

    def _to_coordinates(self, kappa):
        return special.logit(kappa - 1.0)

    def _to_natural(self, c):
        # strictly inside (1, 2) also where expit rounds to 0 or 1 (|c| > 37): finite coordinates are
        # always a valid power
        return np.clip(1.0 + special.expit(c), np.nextafter(1.0, 2.0), np.nextafter(2.0, 1.0))

    def _jacobian(self, c):
        e = special.expit(c)
        return np.diag(e * (1.0 - e))

    def _variance(self, mu, phi, shape):
        return phi * mu ** shape[0]

    def _start_mu(self, y, n):
        return y + 0.1

    def _start_dispersion(self, y, n, mu, shape=None):
        p = 1.5 if shape is None else shape[0]
        return np.clip(np.mean(n * (y - mu) ** 2 / mu ** p), 1e-8, 1e8)

    def _simulate(self, mu, n, phi, rng, shape):
        # compound Poisson-gamma: N ~ Poisson(lambda) gamma jumps of shape a, scale g
        p = shape[0]
        lam = mu ** (2.0 - p) / (phi * (2.0 - p))
        a = (2.0 - p) / (p - 1.0)
        g = phi * (p - 1.0) * mu ** (p - 1.0)
        count = rng.poisson(lam)
        return np.where(count > 0, rng.gamma(np.maximum(count, 1) * a, g), 0.0)


class _StudentT(Family):
    __slots__ = ()
    name = "student_t"
    links = ("identity",)
    has_dispersion = True
    dispersion_name = "sigma"
    _shape_params = ("df",)

    @classmethod
    def _check_shape_value(cls, key, value):
        if not _is_real(value) or not (np.isfinite(value) and value > 0):
            raise ValueError(f"`{key}` must be positive and finite, got {value!r}")
        return float(value)

    def _row_terms(self, y, n, eta, phi, shape, order, dispersion):
        return _densities.student_t_terms(y, n, eta, phi, shape, order, dispersion)

    def _to_coordinates(self, kappa):
        return np.log(kappa)

    def _to_natural(self, c):
        with np.errstate(over="ignore"):      # an overflow to inf is left to the caller's finiteness check
            return np.maximum(np.exp(c), np.finfo(float).tiny)

    def _jacobian(self, c):
        return np.diag(np.exp(c))

    def _variance(self, mu, phi, shape):
        df = shape[0]
        return (np.zeros_like(mu) + (np.asarray(phi) ** 2 * df / (df - 2.0) if df > 2 else np.inf))[()]

    def _start_mu(self, y, n):
        return y

    def _start_dispersion(self, y, n, mu, shape=None):
        r = y - mu
        s = 1.4826 * np.median(np.abs(r - np.median(r)))
        if not s > 0:
            s = np.sqrt(np.mean(n * r * r))
        return np.clip(s, 1e-8 * max(1.0, float(np.max(np.abs(y)))), 1e8)

    def _simulate(self, mu, n, phi, rng, shape):
        return mu + phi * rng.standard_t(shape[0], size=np.shape(mu))


class _Ordinal(Family):
    __slots__ = ()
    name = "ordinal"
    links = _ordinal.LINKS
    _shape_params = ("thresholds",)

    def _shape_full(self, shape):
        if shape is None:
            raise ValueError(f"`shape` (the K - 1 thresholds) is required for {self!r}")
        theta = _float_array(shape, "shape")
        if theta.ndim != 1 or theta.size < 1 or theta.size >= _ordinal.MAX_CATEGORIES:
            raise ValueError(f"`shape` must be the 1 to {_ordinal.MAX_CATEGORIES - 1} thresholds of {self!r}, "
                             f"got shape {theta.shape}")
        if not np.all(np.isfinite(theta)) or np.any(np.diff(theta) <= 0):
            raise DomainError(f"`shape` (thresholds) must be finite and strictly increasing, got {theta.tolist()}")
        return theta

    def _check(self, y, n, labels=None):
        if np.any((y < 1) | (y != np.floor(y))):
            i = _first_bad((y < 1) | (y != np.floor(y)))
            raise ValueError(f"`y` must be category codes 1..K for the ordinal family: row {_label(i, labels)} "
                             f"has {y[i]}")

    def _row_terms(self, y, n, eta, phi, shape, order, dispersion):
        if np.max(y, initial=1.0) > shape.size + 1:
            raise ValueError(f"`y`: category codes must be at most K = {shape.size + 1} (the thresholds + 1)")
        return _ordinal.cumulative_link_terms(y, eta, shape, self.link, order, dispersion, n=n)

    def _to_coordinates(self, kappa):
        return _ordinal.threshold_coordinates(kappa)

    def _to_natural(self, c):
        return _ordinal.threshold_natural(c)

    def _jacobian(self, c):
        return _ordinal.threshold_jacobian(c)

    def start_eta(self, y, n=None):
        y, n = self._rows(y, n)
        return np.zeros_like(y)

    def _simulate(self, mu, n, phi, rng, shape):
        # latent eta + e with e ~ F: Y = 1 + #{j: theta_j < eta + e}, so P(Y <= j) = F(theta_j - eta)
        eta = self.link_function(mu)
        e = _ordinal.link_quantile(rng.uniform(size=np.shape(eta)), self.link)
        return 1.0 + np.sum(shape.reshape((-1,) + (1,) * np.ndim(eta)) < (eta + e)[None], axis=0)


_CLASSES = {c.name: c for c in (_Binomial, _Bernoulli, _Poisson, _Gaussian, _Gamma, _NegativeBinomial,
                                _NegativeBinomial1, _TruncatedPoisson, _TruncatedNegativeBinomial, _Beta,
                                _BetaBinomial, _Tweedie, _StudentT, _Ordinal)}


def make_family(family, link=None, **fixed):
    """The :class:`Family` for a family name and a link, as R's ``binomial(link = "probit")``.

    Parameters
    ----------
    family : str or Family
        ``"binomial"``, ``"bernoulli"``, ``"poisson"``, ``"gaussian"``, ``"Gamma"`` (or ``"gamma"``),
        ``"negative_binomial"`` (or ``"nbinom2"``, ``"negbin"``: NB2, variance mu + mu^2/theta),
        ``"negative_binomial1"`` (``"nbinom1"``: variance mu (1 + phi)), ``"beta"`` (``"beta_family"``),
        ``"beta_binomial"`` (``"betabinomial"``), ``"truncated_poisson"``, ``"truncated_negative_binomial"``
        (``"truncated_nbinom2"``), ``"tweedie"``, ``"student_t"`` (``"t_family"``), ``"ordinal"``; the
        aliases are glmmTMB's names. A Family is returned as it is (then ``link`` must be None or its own
        link, and nothing may be fixed).
    link : str, optional
        The link; by default lme4's: logit (binomial, bernoulli, beta, beta_binomial, ordinal), log (the
        count families, Tweedie), identity (gaussian, student_t), inverse (Gamma). Binomial and ordinal
        also allow probit and cloglog, Gamma log.
    **fixed : float
        Shape parameters held fixed instead of estimated: ``power`` (Tweedie, in (1, 2)), ``df``
        (student_t, positive). The family then has no free shape; equality, hashing, pickling and the repr
        include the fixed values.

    Returns
    -------
    Family

    Raises
    ------
    ValueError
        For an unknown family or a link the family does not allow (the message lists the allowed values).

    References
    ----------
    P. McCullagh & J. A. Nelder, Generalized Linear Models, 2nd ed. (1989), ch. 2 and 8;
    D. Bates et al., "Fitting linear mixed-effects models using lme4", J. Stat. Softw. 67 (2015);
    M. E. Brooks et al., "glmmTMB balances speed and flexibility...", The R Journal 9 (2017) (nbinom2).

    Examples
    --------
    >>> from quadlib.glmm._families import make_family
    >>> make_family("binomial", "probit")
    binomial(link='probit')
    >>> make_family("gamma")
    Gamma(link='inverse')
    >>> f = make_family("nbinom2"); f.dispersion_name
    'theta'
    >>> make_family("poisson", "identity")
    Traceback (most recent call last):
        ...
    ValueError: `link` must be one of 'log' for poisson, got 'identity'
    >>> make_family("t_family", df=5.0)
    student_t(link='identity', df=5.0)
    >>> make_family("tweedie", power=2.5)
    Traceback (most recent call last):
        ...
    ValueError: `power` must be in (1, 2), got 2.5
    """
    if isinstance(family, Family):
        if fixed:
            raise ValueError(f"`{next(iter(fixed))}` cannot be fixed when `family` is a Family ({family!r}): "
                             f"pass the family's name")
        if link is not None and link != family.link:
            raise ValueError(f"`link` must be None or {family.link!r} when `family` is {family!r}, got {link!r}")
        return family
    if not isinstance(family, str):
        raise TypeError(f"`family` must be a str or a Family, got {type(family).__name__}")
    if family not in _ALIASES:
        listed = ", ".join(repr(k) for k in _ALIASES)
        raise ValueError(f"`family` must be one of {listed}, got {family!r}")
    cls = _CLASSES[_ALIASES[family]]
    if link is None:
        link = cls.links[0]
    if link not in cls.links:
        listed = ", ".join(repr(k) for k in cls.links)
        raise ValueError(f"`link` must be one of {listed} for {cls.name}, got {link!r}")
    return cls(link, **fixed)
