"""Exponential families for the GLMM layer: log-densities and their derivatives in the linear predictor.

A :class:`Family` is a small immutable value (a family and a link, like R's ``binomial(link = "probit")``)
that knows how to check a response, start a fit, simulate, and, its hot path, evaluate

    value = log p(y | eta, phi) - (the terms that depend on neither eta nor phi)

and its derivatives in eta and in s = log(phi) for every row and every quadrature point in one pass of
the compiled kernel ``quadlib._extensions._families``. The dropped terms are :meth:`Family.log_constant`.

Families, links (the first is the default, as in lme4) and the dispersion phi:

=====================  =========================  ==============================================
family                 links                      phi
=====================  =========================  ==============================================
``binomial``           logit, probit, cloglog     (none); y successes out of n trials
``bernoulli``          logit, probit, cloglog     (none); binomial with n = 1
``poisson``            log                        (none); n a prior weight on the log-likelihood
``gaussian``           identity                   ``sigma``, residual SD; var = sigma^2 / n
``Gamma``              inverse, log               ``shape`` nu; the row's shape is n nu
``negative_binomial``  log                        ``theta`` (NB2, glmmTMB's nbinom2); var = mu + mu^2/theta
=====================  =========================  ==============================================
"""
from dataclasses import dataclass
import numbers

import numpy as np
from scipy import special

from .._extensions import _families as _kernel

__all__ = ["Family", "FamilyTerms", "make_family"]

_ALIASES = {"binomial": "binomial", "bernoulli": "bernoulli", "poisson": "poisson", "gaussian": "gaussian",
            "Gamma": "Gamma", "gamma": "Gamma", "negative_binomial": "negative_binomial",
            "nbinom2": "negative_binomial", "negbin": "negative_binomial"}


@dataclass(frozen=True, eq=False)
class FamilyTerms:
    """Per-element log-density terms from :meth:`Family.terms`, each of the shape of ``eta``.

    ``value`` is log p(y | eta, phi) without :meth:`Family.log_constant`; ``d1, d2, d3`` its derivatives
    in eta; ``ds, d1s, d2s, dss`` the derivatives d/ds, d^2/(deta ds), d^3/(deta^2 ds) and d^2/ds^2 with
    s = log(phi). A field not computed is None.
    """

    value: np.ndarray
    d1: np.ndarray | None = None
    d2: np.ndarray | None = None
    d3: np.ndarray | None = None
    ds: np.ndarray | None = None
    d1s: np.ndarray | None = None
    d2s: np.ndarray | None = None
    dss: np.ndarray | None = None

    def __repr__(self):
        fields = ("value", "d1", "d2", "d3", "ds", "d1s", "d2s", "dss")
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


class Family:
    """An exponential family with a link function; build one with :func:`make_family`.

    Attributes
    ----------
    name : str
        ``"binomial"``, ``"bernoulli"``, ``"poisson"``, ``"gaussian"``, ``"Gamma"`` or
        ``"negative_binomial"``.
    link : str
        The link function's name.
    has_dispersion : bool
        Whether the family has a dispersion parameter phi (gaussian, Gamma, negative_binomial).
    dispersion_name : str or None
        Its name: ``"sigma"`` (gaussian residual SD), ``"shape"`` (Gamma), ``"theta"`` (negative binomial size).

    Notes
    -----
    Per row i the data are a response y_i and n_i: the number of trials for binomial, a prior weight
    otherwise (1 by default). For gaussian the weight is a precision (var_i = sigma^2 / n_i), for Gamma it
    multiplies the shape (nu_i = n_i nu); for poisson and negative_binomial it multiplies the row's
    log-likelihood.
    """

    name = None
    links = ()
    has_dispersion = False
    dispersion_name = None
    _kernel_name = None
    __slots__ = ("_link", "_kind")

    def __init__(self, link):
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_kind", _kernel.KINDS[(self._kernel_name, link)])

    def __setattr__(self, key, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self):
        # rebuilt by its constructor (pickle's default would set the slots through the refused __setattr__):
        # fitted results, saved or sent to another process, carry their family
        return type(self), (self._link,)

    @property
    def link(self):
        return self._link

    def __repr__(self):
        return f"{self.name}(link={self.link!r})"

    def __eq__(self, other):
        return isinstance(other, Family) and (self.name, self.link) == (other.name, other.link)

    def __hash__(self):
        return hash((self.name, self.link))

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

    def validate(self, y, n=None):
        """Check a response and its trials / prior weights; raise ValueError if they do not fit the family.

        Parameters
        ----------
        y : array_like, shape (N,)
            The response.
        n : array_like, shape (N,), optional
            Trials (binomial) or prior weights (the others); 1 by default.

        Raises
        ------
        ValueError
            Naming the argument and the first offending row: non-finite values, negative or non-integer
            counts, successes greater than trials, y not 0 or 1 (bernoulli), non-positive y (Gamma),
            non-positive or non-finite weights.

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> make_family("binomial").validate([0, 3, 5], [5, 5, 5])
        >>> make_family("binomial").validate([0, 6, 5], [5, 5, 5])
        Traceback (most recent call last):
            ...
        ValueError: `y` (successes) must not exceed `n` (trials): row 1 has y = 6.0, n = 5.0
        """
        y, n = self._rows(y, n)
        if not np.all(np.isfinite(y)):
            i = _first_bad(~np.isfinite(y))
            raise ValueError(f"`y` must be finite: row {i} has y = {y[i]}")
        if not np.all(np.isfinite(n) & (n > 0)):
            i = _first_bad(~(np.isfinite(n) & (n > 0)))
            raise ValueError(f"`n` (weights or trials) must be positive and finite: row {i} has n = {n[i]}")
        self._check(y, n)

    def _check(self, y, n):
        """Family-specific checks of finite y and positive finite n."""

    @staticmethod
    def _check_counts(y, what="`y`"):
        if np.any(y < 0):
            i = _first_bad(y < 0)
            raise ValueError(f"{what} must be non-negative counts: row {i} has {y[i]}")
        if np.any(y != np.floor(y)):
            i = _first_bad(y != np.floor(y))
            raise ValueError(f"{what} must be integer counts: row {i} has {y[i]}")

    def log_constant(self, y, n=None):
        """The sum over rows of the log-density terms that depend on neither eta nor phi.

        ``terms(...).value.sum() + log_constant(y, n)`` is the full log-likelihood. The data are
        validated (:meth:`validate`).

        Parameters
        ----------
        y, n : array_like, shape (N,)
            Response and trials / prior weights (1 by default).

        Returns
        -------
        float
            binomial: sum log C(n, y); poisson, negative_binomial: -sum n log(y!); Gamma: -sum log y;
            gaussian and bernoulli: 0.

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> round(make_family("poisson").log_constant([0, 1, 3]), 6)   # -log(3!)
        -1.791759
        """
        self.validate(y, n)
        y, n = self._rows(y, n)
        return float(self._log_constant(y, n))

    def _log_constant(self, y, n):
        return 0.0

    # --- the kernel -----------------------------------------------------------------------------------

    def _terms_iv(self, y, n, eta, phi, order, dispersion):
        y, n = self._rows(y, n)
        eta = np.ascontiguousarray(_float_array(eta, "eta"))
        if eta.ndim not in (1, 2) or eta.shape[0] != y.shape[0]:
            raise ValueError(f"`eta` must have shape (N,) or (N, K) with N = len(y) = {y.shape[0]}, "
                             f"got {eta.shape}")
        if isinstance(order, (bool, np.bool_)) or not isinstance(order, numbers.Integral) or not 0 <= order <= 3:
            raise ValueError(f"`order` must be 0, 1, 2 or 3, got {order!r}")
        if self.has_dispersion:
            if phi is None or isinstance(phi, (bool, np.bool_)) or not isinstance(phi, numbers.Real) \
                    or not (np.isfinite(phi) and phi > 0):
                raise ValueError(f"`phi` ({self.dispersion_name}) must be a positive finite number for "
                                 f"{self!r}, got {phi!r}")
            phi = float(phi)
        else:
            if phi is not None:
                raise ValueError(f"`phi` must be None: {self!r} has no dispersion parameter, got {phi!r}")
            if dispersion:
                raise ValueError(f"`dispersion` must be False: {self!r} has no dispersion parameter")
            phi = 1.0
        return y, n, eta, phi, int(order), bool(dispersion)

    def terms(self, y, n, eta, phi=None, order=2, dispersion=False):
        """log p(y | eta, phi) without its constant, and its derivatives, at every element of ``eta``.

        One pass of the compiled kernel writes all the requested arrays. The data are not checked here
        (this is the hot path of the likelihood): call :meth:`validate` once beforehand.

        Parameters
        ----------
        y, n : array_like, shape (N,)
            Response and trials / prior weights (``n=None``: 1).
        eta : array_like, shape (N,) or (N, K)
            Linear predictor; with two dimensions, K values for each row (quadrature points).
        phi : float, optional
            The dispersion (``sigma``, ``shape`` or ``theta``); required by the families that have one,
            must be None for the others.
        order : {0, 1, 2, 3}, optional
            Highest derivative in eta to compute (default 2).
        dispersion : bool, optional
            Also compute the derivatives in s = log(phi): ``ds`` and ``dss`` always, ``d1s`` if
            ``order >= 1``, ``d2s`` if ``order >= 2``.

        Returns
        -------
        FamilyTerms
            Arrays of the shape of ``eta``; those not computed are None.

        Notes
        -----
        Accurate to a few ulps over the whole range where the density is representable (|eta| of 30 and
        more for the binomial links, theta -> infinity for the negative binomial, large Gamma shapes);
        the kernel's module notes say how. For the Gamma family with the inverse link, eta <= 0 (a
        negative mean) gives value -inf and NaN derivatives.

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
        """
        y, n, eta, phi, order, dispersion = self._terms_iv(y, n, eta, phi, order, dispersion)
        shape = eta.shape
        N = y.shape[0]
        eta2 = eta.reshape(N, eta.shape[1] if eta.ndim == 2 else 1)
        count = 1 + order + (2 + min(order, 2) if dispersion else 0)
        block = np.empty((count,) + eta2.shape)    # OUT, filled by the kernel
        names = ["value", "d1", "d2", "d3"][:order + 1]
        if dispersion:
            names += ["ds", "dss", "d1s", "d2s"][:2 + min(order, 2)]
        arrays = dict(zip(names, block))
        status = _kernel.family_terms(self._kind, y, n, eta2, phi, order, dispersion, arrays["value"],
                                      arrays.get("d1"), arrays.get("d2"), arrays.get("d3"), arrays.get("ds"),
                                      arrays.get("d1s"), arrays.get("d2s"), arrays.get("dss"))
        if status != 0:  # pragma: no cover - the arguments were normalized above
            raise RuntimeError(f"the family kernel refused its arguments for {self!r} (status {status})")
        return FamilyTerms(**{k: a.reshape(shape) for k, a in arrays.items()})

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

    def variance(self, mu, phi=None):
        """Var(y) for a row of unit weight with mean ``mu`` (binomial: one trial).

        binomial mu (1 - mu), poisson mu, gaussian sigma^2, Gamma mu^2 / shape, negative_binomial
        mu + mu^2 / theta. With weight n: binomial counts have variance n mu (1 - mu); gaussian and Gamma
        responses variance(mu, phi) / n.

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> float(make_family("negative_binomial").variance(2.0, phi=4.0))
        3.0
        """
        mu = _float_array(mu, "mu")
        self._phi_iv(phi)
        return self._variance(mu, phi)

    def _phi_iv(self, phi):
        if self.has_dispersion and (phi is None or not np.isfinite(phi) or not phi > 0):
            raise ValueError(f"`phi` ({self.dispersion_name}) must be a positive finite number for {self!r}, "
                             f"got {phi!r}")

    # --- starting values and simulation ------------------------------------------------------------------

    def start_eta(self, y, n=None):
        """A safe starting linear predictor from the data, as R's ``family$initialize`` then ``linkfun``.

        binomial: g((y + 0.5) / (n + 1)); poisson and negative_binomial: log(y + 0.1); gaussian: y;
        Gamma: g(y).

        Examples
        --------
        >>> from quadlib.glmm._families import make_family
        >>> make_family("binomial").start_eta([0, 5], [5, 5]).round(4)
        array([-2.3979,  2.3979])
        """
        y, n = self._rows(y, n)
        return self.link_function(self._start_mu(y, n))

    def start_dispersion(self, y, n, mu):
        """A moment estimate of phi given fitted means ``mu`` (None for families without a dispersion).

        gaussian: sigma = sqrt(mean(n (y - mu)^2)); Gamma: shape = 1 / mean(n (y - mu)^2 / mu^2);
        negative_binomial: theta = sum(n mu^2) / sum(n ((y - mu)^2 - mu)). Results are kept in
        [1e-8, 1e8] (theta in [1e-2, 1e4], its upper end standing for "no overdispersion").

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
        return float(self._start_dispersion(y, n, mu))

    def simulate(self, eta, n=None, phi=None, rng=None):
        """Draw responses at linear predictor ``eta``.

        Parameters
        ----------
        eta : array_like
            Linear predictor, one value per draw.
        n : array_like, optional
            Trials (binomial) or weights (1 by default), broadcast against ``eta``. Weights change the
            gaussian variance (sigma^2 / n) and the Gamma shape (n nu); as in R's ``simulate``, they do
            not enter poisson and negative_binomial draws.
        phi : float, optional
            The dispersion, for the families that have one.
        rng : numpy.random.Generator or int, optional
            The random generator (or a seed for ``numpy.random.default_rng``).

        Returns
        -------
        ndarray of float
            binomial: successes out of n; negative_binomial through its gamma-Poisson mixture.

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
        rng = np.random.default_rng(rng)
        return np.asarray(self._simulate(self.inverse_link(eta), n, phi, rng), dtype=np.float64)


class _Binomial(Family):
    __slots__ = ()
    name = _kernel_name = "binomial"
    links = ("logit", "probit", "cloglog")

    def _check(self, y, n):
        self._check_counts(y)
        if np.any(n != np.floor(n)):
            i = _first_bad(n != np.floor(n))
            raise ValueError(f"`n` (trials) must be positive integers: row {i} has {n[i]}")
        if np.any(y > n):
            i = _first_bad(y > n)
            raise ValueError(f"`y` (successes) must not exceed `n` (trials): row {i} has y = {y[i]}, n = {n[i]}")

    def _log_constant(self, y, n):
        return np.sum(special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1))

    def _variance(self, mu, phi):
        return mu * (1 - mu)

    def _start_mu(self, y, n):
        return (y + 0.5) / (n + 1)

    def _simulate(self, mu, n, phi, rng):
        return rng.binomial(n.astype(np.int64), mu)


class _Bernoulli(_Binomial):
    __slots__ = ()
    name = "bernoulli"

    def _check(self, y, n):
        if np.any(n != 1):
            i = _first_bad(n != 1)
            raise ValueError(f"`n` must be 1 for a bernoulli response: row {i} has n = {n[i]}")
        if np.any((y != 0) & (y != 1)):
            i = _first_bad((y != 0) & (y != 1))
            raise ValueError(f"`y` must be 0 or 1 for a bernoulli response: row {i} has y = {y[i]}")


class _Poisson(Family):
    __slots__ = ()
    name = _kernel_name = "poisson"
    links = ("log",)

    def _check(self, y, n):
        self._check_counts(y)

    def _log_constant(self, y, n):
        return -np.sum(n * special.gammaln(y + 1))

    def _variance(self, mu, phi):
        return mu.copy() if mu.ndim else mu[()]

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
        return np.full_like(mu, float(phi) ** 2)[()]

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

    def _check(self, y, n):
        if np.any(y <= 0):
            i = _first_bad(y <= 0)
            raise ValueError(f"`y` must be positive for the Gamma family: row {i} has y = {y[i]}")

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


class _NegativeBinomial(Family):
    __slots__ = ()
    name = _kernel_name = "negative_binomial"
    links = ("log",)
    has_dispersion = True
    dispersion_name = "theta"

    def _check(self, y, n):
        self._check_counts(y)

    def _log_constant(self, y, n):
        return -np.sum(n * special.gammaln(y + 1))

    def _variance(self, mu, phi):
        return mu + mu * mu / phi

    def _start_mu(self, y, n):
        return y + 0.1

    def _start_dispersion(self, y, n, mu):
        excess = np.sum(n * ((y - mu) ** 2 - mu))
        return np.clip(np.sum(n * mu * mu) / excess, 1e-2, 1e4) if excess > 0 else 1e4

    def _simulate(self, mu, n, phi, rng):
        return rng.poisson(rng.gamma(phi, mu / phi))


_CLASSES = {c.name: c for c in (_Binomial, _Bernoulli, _Poisson, _Gaussian, _Gamma, _NegativeBinomial)}


def make_family(family, link=None):
    """The :class:`Family` for a family name and a link, as R's ``binomial(link = "probit")``.

    Parameters
    ----------
    family : str or Family
        ``"binomial"``, ``"bernoulli"``, ``"poisson"``, ``"gaussian"``, ``"Gamma"`` (or ``"gamma"``),
        ``"negative_binomial"`` (or ``"nbinom2"``, ``"negbin"``: NB2, variance mu + mu^2/theta).
        A Family is returned as it is (then ``link`` must be None or its own link).
    link : str, optional
        The link; by default lme4's: logit (binomial, bernoulli), log (poisson, negative_binomial),
        identity (gaussian), inverse (Gamma). Binomial also allows probit and cloglog, Gamma log.

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
    """
    if isinstance(family, Family):
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
    return cls(link)
