"""The response model of a GLMM: everything per row beyond the linear predictor eta.

A :class:`ResponseModel` combines the family's row terms (:meth:`~quadlib.glmm._families.Family.terms`) with

* zero-inflation (``ziformula``, glmmTMB's): with probability ``pi_i = expit(zeta_i)``, ``zeta = X_zi beta_zi``,
  the row is a structural zero, otherwise it follows the family;
* a hurdle (a zero-truncated family with a ``ziformula``): the row is 0 with probability pi_i, otherwise it
  follows the truncated family;
* the dispersion model (``dispformula``): ``s_i = log phi_i = X_disp beta_disp``; without one, the family's
  single ``log(phi)`` (today's parameter, today's name);
* the family's shape parameters (tweedie power, student_t df, ordinal thresholds), in optimizer coordinates.

It owns the trailing block of the parameter vector, ``aux = [zi~... | disp~... or log(phi) | shape coordinates]``
(names, bounds, starts, per-row values) and the chain rule of every gradient through it.

Channels. Each auxiliary parameter reaches the likelihood through per-row values: ``zeta_i`` (zi), ``s_i``
(dispersion) or a global shape (natural scale). :meth:`ResponseModel.terms` gives, besides the value and its
eta-derivatives ``d1..d3``, the derivatives of each row's log-density in each channel c, ``dc``, and their
eta-derivatives ``d1c``, ``d2c`` (arrays ``(C,) + eta.shape``). A model's gradient in the channels is then one
array ``g (C, N)`` per evaluation (Laplace: ``dc + d2c a / 2 + d1c r``; a fixed rule: ``sum_k share_k dc_k``),
and :meth:`ResponseModel.pullback` maps it to the parameters (``X_zi^T g_zeta``, ``X_disp^T g_s``,
``J^T sum_i g_shape``).

Zero-inflated row density (mixture; f the family's full log density, whose constants vanish at y = 0):
``y > 0``: ``log(1 - pi) + f``; ``y = 0``: ``log(pi + (1 - pi) e^f0) = -softplus(zeta) + logaddexp(zeta, f0)``.
With ``rho = expit(f0 - zeta)`` (the count part's share of a zero) and ``a_k`` the family's eta-derivatives at 0,
``d1 = rho a1``, ``d2 = rho a2 + rho (1 - rho) a1^2``, ``d3 = rho a3 + 3 rho (1 - rho) a1 a2 + rho (1 - rho)
(1 - 2 rho) a1^3``; ``d/dzeta = 1 - rho - pi``; a family channel's derivative is multiplied by rho, with the
mixed terms of the chain rule. Prior weights multiply the mixture (glmmTMB: after mixing); binomial-type
families keep n as trials.

References
----------
D. Lambert, "Zero-inflated Poisson regression", Technometrics 34 (1992), 1-14; J. Mullahy, "Specification and
testing of some modified count data models", J. Econometrics 33 (1986), 341-365 (hurdles); M. E. Brooks et al.,
"glmmTMB balances speed and flexibility among packages for zero-inflated generalized linear mixed modeling",
The R Journal 9 (2017), 378-400.
"""
from dataclasses import dataclass, fields
from types import SimpleNamespace

import numpy as np
from scipy import special

from .._extensions import _families as _kernel

__all__ = ["ResponseModel", "ResponseTerms", "AuxValues"]

_LOG_DISPERSION_LIMIT = 700.0     # |log phi| beyond this: phi over- or underflows in the family's kernel
_ZI_FAMILIES = ("binomial", "bernoulli", "poisson", "negative_binomial")   # before families declare `discrete`
_TRIALS_FAMILIES = ("binomial", "bernoulli")
_MAX_PHI_GROUPS = 100_000         # distinct per-row phi values evaluated one kernel call each (see _family_terms)


@dataclass(frozen=True, eq=False)
class AuxValues:
    """The per-row values of the auxiliary parameters: ``zeta`` (N,) = logit of the zero-inflation (or hurdle)
    probability, or None; ``phi``: a float (one dispersion), an (N,) array (a dispersion model) or None;
    ``shape``: the family's shape parameters on their natural scale (m,), or None."""

    zeta: np.ndarray | None = None
    phi: float | np.ndarray | None = None
    shape: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class ResponseTerms:
    """Row terms of a response model, each of the shape of eta: the log-density without the family's
    constant (``value``) and its derivatives in eta (``d1..d3``); with channels, ``dc``, ``d1c``, ``d2c`` of
    shape ``(C,) + eta.shape``: the derivatives in each channel (:attr:`ResponseModel.channels`) and their
    first and second eta-derivatives. A field not computed is None."""

    value: np.ndarray
    d1: np.ndarray | None = None
    d2: np.ndarray | None = None
    d3: np.ndarray | None = None
    dc: np.ndarray | None = None
    d1c: np.ndarray | None = None
    d2c: np.ndarray | None = None


def _matrix(X, N, what):
    if X is None:
        return None
    X = np.ascontiguousarray(np.asarray(X, dtype=float))
    if X.ndim != 2 or X.shape[0] != N:
        raise ValueError(f"`{what}` must be a 2-D array with {N} rows, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"`{what}` must be finite")
    return X


class ResponseModel:
    """Everything per row beyond eta: the family, zero-inflation (or a hurdle), the dispersion model and
    the family's shape parameters; owns the ``aux`` block of the parameter vector (module notes).

    Parameters
    ----------
    family : Family
    y, n : ndarray (N,)
        The response and trials / prior weights (:func:`~quadlib.glmm._design.normalize_response`).
    X_zi : ndarray (N, p_zi), optional
        The zero-inflation model's matrix (``ziformula``); with a zero-truncated family, the hurdle's.
    zi_names : sequence of str
        Its column names (parameters ``zi~<name>``).
    X_disp : ndarray (N, p_disp), optional
        The dispersion model's matrix (``dispformula``) for s = log phi (parameters ``disp~<name>``);
        None: one ``log(<dispersion name>)`` if the family has a dispersion.
    disp_names : sequence of str, optional
    row_labels : array_like, optional
        The data's labels of the rows (for the family's messages).
    response_levels : sequence, optional
        An ordinal response's categories (their number fixes the number of thresholds).

    Attributes
    ----------
    names : list of str
    n_params : int
    bounds : list
        All None (every auxiliary coordinate is unbounded).
    slices : dict
        ``"zi"``, ``"disp"``, ``"shape"``: each block's slice of ``aux`` (empty slices for absent blocks).
    channels : tuple of str
        ``"zi"``, ``"disp"``, then ``"shape:<name>"`` per shape parameter: the rows of ``dc``.
    plain : bool
        No zero-inflation, no dispersion model, no shape: the family alone, with today's parameters.
    constant : float
        The family's :meth:`~quadlib.glmm._families.Family.log_constant` (weights included).

    Raises
    ------
    ValueError
        A ziformula for a family without zeros to inflate, a dispformula for a family without a dispersion,
        matrices of the wrong shape, a truncated family with zeros and no ziformula.

    Examples
    --------
    >>> import numpy as np
    >>> from quadlib.glmm._families import make_family
    >>> y = np.array([0.0, 0.0, 3.0])
    >>> m = ResponseModel(make_family("poisson"), y, None, X_zi=np.ones((3, 1)), zi_names=["(Intercept)"])
    >>> m.names, m.channels
    (['zi~(Intercept)'], ('zi',))
    >>> t = m.terms(np.zeros(3), m.unpack([0.0]), order=1, channels=True)    # pi = 1/2, mu = 1
    >>> np.round(t.value[:2], 6).tolist()        # log(1/2 + e^-1 / 2)
    [-0.379885, -0.379885]
    """

    def __init__(self, family, y, n, *, X_zi=None, zi_names=(), X_disp=None, disp_names=None, row_labels=None,
                 response_levels=None):
        self.family = fam = family
        self.y = np.ascontiguousarray(np.asarray(y, dtype=float))
        N = self.y.size
        self.n = np.ascontiguousarray(np.broadcast_to(np.asarray(n if n is not None else 1.0, dtype=float), (N,)))
        self.X_zi = _matrix(X_zi, N, "X_zi")
        self.X_disp = _matrix(X_disp, N, "X_disp")
        self.truncated = bool(getattr(fam, "truncated", False))
        discrete = bool(getattr(fam, "discrete", fam.name in _ZI_FAMILIES))
        if self.X_zi is not None and not (discrete or self.truncated):
            raise ValueError(f"`ziformula`: zero-inflation needs a count family (binomial, poisson, negative "
                             f"binomial, ...), got {fam.name!r}")
        if self.X_disp is not None and not fam.has_dispersion:
            raise ValueError(f"`dispformula`: {fam.name} has no dispersion parameter")
        self.hurdle = self.truncated and self.X_zi is not None
        if hasattr(fam, "truncated"):   # the families' validation with the zero-inflation switch (issue 19)
            fam.validate(self.y, self.n, zero_inflated=self.X_zi is not None, row_labels=row_labels)
        self.weights_are_trials = bool(getattr(fam, "weights_are_trials", fam.name in _TRIALS_FAMILIES))
        # zero-inflation: the family's terms for one observation, the mixture multiplied by the prior weight
        mix_weights = self.X_zi is not None and not self.weights_are_trials
        # unit weights multiply nothing: skip the pass over every output
        self.weight = self.n if mix_weights and not np.all(self.n == 1.0) else None
        self.n_family = np.ones(N) if mix_weights else self.n
        self.zero = self.y == 0
        self.zero_rows = np.flatnonzero(self.zero)
        self.zero_flags = np.ascontiguousarray(self.zero, dtype=np.uint8)
        # per-row phi straight into the kernel once families take it (issue 19's Family API declares
        # shape_names); before, one kernel call per distinct phi
        self.row_phi = hasattr(fam, "shape_names")
        self.response_levels = None if response_levels is None else list(response_levels)
        self.shape_names = self._shape_names(fam, response_levels)
        self.n_shape = len(self.shape_names)

        names = []
        zi_names = list(zi_names or ())
        if self.X_zi is not None:
            if len(zi_names) != self.X_zi.shape[1]:
                raise ValueError(f"`zi_names` must name the {self.X_zi.shape[1]} columns of `X_zi`, got {len(zi_names)}")
            names += [f"zi~{name}" for name in zi_names]
        n_zi = len(names)
        if fam.has_dispersion:
            if self.X_disp is None:
                names.append(f"log({fam.dispersion_name})")
            else:
                disp_names = list(disp_names or ())
                if len(disp_names) != self.X_disp.shape[1]:
                    raise ValueError(f"`disp_names` must name the {self.X_disp.shape[1]} columns of `X_disp`, "
                                     f"got {len(disp_names)}")
                names += [f"disp~{name}" for name in disp_names]
        n_disp = len(names) - n_zi
        names += self._shape_coordinate_names()
        self.names = names
        self.n_params = len(names)
        self.bounds = [(None, None)] * self.n_params
        self.slices = {"zi": slice(0, n_zi), "disp": slice(n_zi, n_zi + n_disp),
                       "shape": slice(n_zi + n_disp, self.n_params)}
        self.channels = tuple((["zi"] if self.X_zi is not None else []) + (["disp"] if fam.has_dispersion else [])
                              + [f"shape:{name}" for name in self.shape_names])
        self.plain = self.X_zi is None and self.X_disp is None and self.n_shape == 0
        self.constant = float(fam.log_constant(self.y, self.n))

    @staticmethod
    def _shape_names(fam, levels):
        if fam.name == "ordinal":
            from ._ordinal import threshold_names

            if levels is None or len(levels) < 2:
                raise ValueError("`response_levels`: an ordinal response needs its categories (at least 2)")
            return tuple(threshold_names(levels))
        return tuple(getattr(fam, "shape_names", ()))

    def _shape_coordinate_names(self):
        fam, names = self.family, self.shape_names
        if fam.name == "ordinal":
            from ._ordinal import threshold_coordinate_names

            return threshold_coordinate_names(self.response_levels)
        coordinate = {"power": "logit(power - 1)", "df": "log(df)"}
        return [coordinate.get(name, f"coord({name})") for name in names]

    def __getstate__(self):
        # the memo of the last zeta is a cache, not state: objectives are pickled to workers (issue 18)
        state = dict(self.__dict__)
        state.pop("_zeta_memo", None)
        return state

    def __repr__(self):
        parts = [repr(self.family)]
        if self.X_zi is not None:
            parts.append(("hurdle" if self.hurdle else "zi") + f" ({self.X_zi.shape[1]})")
        if self.X_disp is not None:
            parts.append(f"disp ({self.X_disp.shape[1]})")
        return f"ResponseModel({', '.join(parts)})"

    # ------------------------------------------------------------------------------------------- parameters
    def unpack(self, aux):
        """The per-row values (:class:`AuxValues`) of the auxiliary coordinates `aux` (n_params,)."""
        aux = np.asarray(aux, dtype=float)
        zeta = phi = shape = None
        if self.X_zi is not None:
            zeta = self.X_zi @ aux[self.slices["zi"]]
        if self.family.has_dispersion:
            block = aux[self.slices["disp"]]
            phi = float(np.exp(block[0])) if self.X_disp is None else np.exp(self.X_disp @ block)
        if self.n_shape:
            shape = np.asarray(self.shape_natural(aux[self.slices["shape"]]), dtype=float)
        return AuxValues(zeta, phi, shape)

    def shape_natural(self, coords):
        """The shape parameters on their natural scale from their optimizer coordinates."""
        return self.family.shape_natural(coords)

    def shape_jacobian(self, coords):
        """d natural / d coordinates, (m, m)."""
        return np.asarray(self.family.shape_jacobian(coords), dtype=float).reshape(self.n_shape, self.n_shape)

    def log_dispersion(self, aux):
        """s = log phi per row (N,) or a scalar; None without a dispersion."""
        if not self.family.has_dispersion:
            return None
        block = np.asarray(aux, dtype=float)[self.slices["disp"]]
        return float(block[0]) if self.X_disp is None else self.X_disp @ block

    def outside(self, aux):
        """Whether `aux` lies outside the domain: not finite, a dispersion exp(s_i) that over- or underflows on
        some row (``|s_i| >= 700``), or shape parameters that are not finite. zeta never is (log-sigmoid is total)."""
        aux = np.asarray(aux, dtype=float)
        if not np.all(np.isfinite(aux)):
            return True
        if self.family.has_dispersion:
            s = self.log_dispersion(aux)
            if not np.all(np.abs(s) < _LOG_DISPERSION_LIMIT):
                return True
        if self.n_shape:
            with np.errstate(over="ignore", invalid="ignore"):
                natural = np.asarray(self.shape_natural(aux[self.slices["shape"]]), dtype=float)
            if not np.all(np.isfinite(natural)):
                return True
        return False

    def start(self, eta, phi=None, *, glm=None):
        """Starting auxiliary coordinates given the count part's starting linear predictor `eta` (N,)
        (design note §2): the dispersion at `phi` (default: the family's moment estimate), the other
        dispersion coefficients 0; zero-inflation at the logit of the excess share of zeros (clipped to
        [0.02, 0.9]), other coefficients 0; a hurdle at the logistic GLM of 1[y = 0] on X_zi, fitted by
        `glm` (:func:`quadlib.glmm._objective.glm_start`, passed in by the objective; without it the hurdle
        starts as zero-inflation does); shapes at the family's start."""
        fam, y, n = self.family, self.y, self.n
        eta = np.asarray(eta, dtype=float)
        mu = fam.inverse_link(eta)
        out = np.zeros(self.n_params)
        if fam.has_dispersion:
            if phi is None:
                phi = fam.start_dispersion(y, self.n_family, mu)
            s0 = np.log(phi)
            out[self.slices["disp"]] = [s0] if self.X_disp is None else self._constant_fit(self.X_disp, s0)
        shape0 = None
        if self.n_shape:
            shape0 = self.shape_start()
            out[self.slices["shape"]] = self.family.shape_coordinates(shape0)
        if self.X_zi is not None:
            out[self.slices["zi"]] = self._zi_start(eta, phi, shape0, glm)
        return out

    def shape_start(self):
        """Starting shape parameters, natural scale (design note §2): tweedie power 1.5, student_t df 10,
        ordinal thresholds from the cumulative proportions (F^-1(P(y <= j))); None without a shape."""
        fam = self.family
        if not self.n_shape:
            return None
        if fam.name == "ordinal":
            from ._ordinal import threshold_start

            return threshold_start(self.y, self.n_shape + 1, fam.link, weights=self.n)
        starts = {"power": 1.5, "df": 10.0}
        return np.array([starts[name] for name in self.shape_names])

    @staticmethod
    def _constant_fit(X, value):
        """The coefficients of X closest to the constant `value`: with a constant column (an intercept), that
        column at value / c and the others exactly 0 (the optimizer scales each coordinate by its start's size:
        a rounding residue of 1e-17 would freeze it), else least squares."""
        out = np.zeros(X.shape[1])
        constant = np.flatnonzero(np.all(X == X[:1], axis=0) & (X[0] != 0))
        if constant.size:
            out[constant[0]] = float(value) / X[0, constant[0]]
            return out
        return np.linalg.lstsq(X, np.full(X.shape[0], float(value)), rcond=None)[0]

    def _zi_start(self, eta, phi, shape, glm_start):
        from ._families import make_family

        zeros = self.zero.astype(float)
        if self.hurdle and glm_start is not None:
            # the zero part factorizes: its optimum is the logistic GLM of 1[y = 0] on X_zi
            design = SimpleNamespace(X=self.X_zi, offset=np.zeros(self.y.size))
            try:
                return glm_start(make_family("bernoulli"), zeros, np.ones(self.y.size), design)
            except (ValueError, ArithmeticError, np.linalg.LinAlgError):
                pass
        values = AuxValues(None, phi, shape)
        with np.errstate(all="ignore"):
            log_p0 = self._family_terms(np.zeros_like(self.y), eta, values, 0, False).value
            p0 = float(np.mean(np.exp(log_p0))) if not self.hurdle else 0.0
        observed = float(np.mean(zeros))
        share = (observed - p0) / (1.0 - p0) if p0 < 1.0 and np.isfinite(p0) else 0.02
        share = min(max(share, 0.02), 0.9)
        return self._constant_fit(self.X_zi, np.log(share / (1.0 - share)))

    # ------------------------------------------------------------------------------------------- row terms
    def _family_terms(self, y, eta, values, order, dispersion):
        """The family's terms for response `y` (N,) at `eta` with the values' phi and shape."""
        fam, n = self.family, self.n_family
        kwargs = {"shape": values.shape} if self.n_shape else {}
        phi = values.phi
        if phi is None or np.ndim(phi) == 0 or self.row_phi:
            return fam.terms(y, n, eta, phi, order=order, dispersion=dispersion, **kwargs)
        # a kernel that takes one phi: one call per distinct value (a dispformula of factors has a few)
        levels, index = np.unique(phi, return_inverse=True)
        if levels.size > _MAX_PHI_GROUPS:
            raise ValueError(f"`dispformula`: {levels.size} distinct dispersions exceed {_MAX_PHI_GROUPS} "
                             "kernel calls")
        if levels.size == 1:
            return fam.terms(y, n, eta, float(levels[0]), order=order, dispersion=dispersion, **kwargs)
        arrays = {}
        for k, level in enumerate(levels):
            rows = np.flatnonzero(index == k)
            part = fam.terms(y[rows], n[rows], eta[rows], float(level), order=order, dispersion=dispersion,
                             **kwargs)
            for field in fields(part):
                value = getattr(part, field.name)
                if value is None:
                    continue
                lead = value.shape[:value.ndim - eta.ndim]   # shapes carry a leading (m,) axis
                if field.name not in arrays:
                    arrays[field.name] = np.empty(lead + eta.shape)
                target = arrays[field.name].reshape(lead + (eta.shape[0], -1))
                target[..., rows, :] = value.reshape(lead + (rows.size, -1))
        return type(part)(**arrays)

    def terms(self, eta, values, order=2, channels=False):
        """The row terms (:class:`ResponseTerms`) at `eta` (N,) or (N, K) with the auxiliary `values`
        (:class:`AuxValues`, from :meth:`unpack`); with `channels`, also the channels' derivatives
        (order of eta-derivatives: ``d1c`` with order >= 1, ``d2c`` with order >= 2)."""
        fam = self.family
        eta = np.asarray(eta, dtype=float)
        # the family computes its shape derivatives with its dispersion ones
        dispersion = bool(channels and (fam.has_dispersion or self.n_shape))
        t = self._family_terms(self.y, eta, values, order, dispersion)
        C = len(self.channels)
        family_c = []   # (dc, d1c, d2c) of the family's own channels: dispersion, then shapes
        if channels:
            if fam.has_dispersion:
                family_c.append((t.ds, t.d1s, t.d2s))
            for j in range(self.n_shape):
                family_c.append((t.dshape[j], None if t.d1shape is None else t.d1shape[j],
                                 None if t.d2shape is None else t.d2shape[j]))
        if self.X_zi is None:
            out = {"value": t.value, "d1": t.d1, "d2": t.d2, "d3": t.d3}
            if channels:
                out.update(self._stack(family_c, eta.shape, order))
            return ResponseTerms(**out)
        return self._mixture(t, eta, values.zeta, order, family_c, channels, C)

    @staticmethod
    def _stack(parts, shape, order):
        out = {"dc": np.stack([p[0] for p in parts]) if parts else np.empty((0,) + shape)}
        if order >= 1:
            out["d1c"] = np.stack([p[1] for p in parts]) if parts else np.empty((0,) + shape)
        if order >= 2:
            out["d2c"] = np.stack([p[2] for p in parts]) if parts else np.empty((0,) + shape)
        return out

    def _zeta_values(self, zeta):
        """pi and log(1 - pi) per row: they depend on the parameters only, and an evaluation's inner Newton
        iterations ask for them again and again at the same zeta (the one array :meth:`unpack` made), so the
        last ones are kept (``_zeta_memo``)."""
        memo = self.__dict__.get("_zeta_memo")
        if memo is not None and memo[0] is zeta:
            return memo[1]
        zeta = np.ascontiguousarray(zeta, dtype=float)
        values = (zeta, np.ascontiguousarray(special.expit(zeta)), -np.logaddexp(0.0, zeta))
        self._zeta_memo = (zeta, values)
        return values

    def _mixture(self, t, eta, zeta, order, family_c, channels, C):
        """The zero-inflation (or hurdle) mixture of the family's terms `t` (module notes), by the compiled
        kernel :func:`~quadlib._extensions._families.zero_inflate`, in place over the family's arrays (this
        call's own); with `channels`, one (C,) + eta.shape block per order, row 0 the zi channel."""
        zeta, pi, log_1mpi = self._zeta_values(zeta)
        shape = eta.shape
        N = shape[0]
        arrays = []          # value, d1..d_order: writable, C-contiguous, no two overlapping
        for a in [t.value, t.d1, t.d2, t.d3][:order + 1]:
            a = np.asarray(a, dtype=float)
            if (not a.flags.c_contiguous or not a.flags.writeable or a.shape != shape
                    or any(np.may_share_memory(a, b) for b in arrays)):
                a = np.array(np.broadcast_to(a, shape), dtype=float, order="C")
            arrays.append(a)
        blocks = []
        if channels:
            for j in range(min(order, 2) + 1):
                block = np.empty((C,) + shape)
                for c, fc in enumerate(family_c, start=1):
                    block[c] = fc[j]
                blocks.append(block)
        blocks += [None] * (3 - len(blocks))
        flat = [a.reshape(N, -1) for a in arrays] + [None] * (4 - len(arrays))
        flat_c = [None if b is None else b.reshape(C, N, -1) for b in blocks]
        status = _kernel.zero_inflate(self.hurdle, self.zero_flags, zeta, pi, log_1mpi, order, *flat, *flat_c)
        if status != 0:  # pragma: no cover - the arrays were shaped above
            raise RuntimeError(f"the zero-inflation kernel refused its arguments (status {status})")
        out = {"value": arrays[0]}
        out.update({f"d{k}": arrays[k] for k in range(1, order + 1)})
        if channels:
            out["dc"] = blocks[0]
            if order >= 1:
                out["d1c"] = blocks[1]
            if order >= 2:
                out["d2c"] = blocks[2]
        if self.weight is not None:
            w = self.weight[:, None] if eta.ndim == 2 else self.weight
            for v in out.values():
                v *= w if v.ndim == w.ndim else w[None]
        return ResponseTerms(**out)

    # ------------------------------------------------------------------------------------------- gradients
    def pullback(self, aux, g):
        """The gradient in the auxiliary coordinates from the channels' row gradients `g` (C, N):
        zi ``X_zi^T g_zeta``; dispersion ``X_disp^T g_s`` (one log phi: ``sum g_s``); shapes
        ``J(coords)^T sum_i g_shape``."""
        g = np.asarray(g, dtype=float)
        out = np.zeros(self.n_params)
        c = 0
        if self.X_zi is not None:
            out[self.slices["zi"]] = self.X_zi.T @ g[c]
            c += 1
        if self.family.has_dispersion:
            out[self.slices["disp"]] = np.sum(g[c]) if self.X_disp is None else self.X_disp.T @ g[c]
            c += 1
        if self.n_shape:
            coords = np.asarray(aux, dtype=float)[self.slices["shape"]]
            out[self.slices["shape"]] = self.shape_jacobian(coords).T @ np.sum(g[c:c + self.n_shape], axis=1)
        return out

    def report(self, aux):
        """The auxiliary parameters as a result reports them: (names, values, jacobian d values / d aux).
        zi and dispersion coefficients as they are; shapes on their natural scale (thresholds ``1|2``, ...,
        ``power``, ``df``)."""
        aux = np.asarray(aux, dtype=float)
        k = self.slices["shape"].start
        names = self.names[:k] + list(self.shape_names)
        values = aux.copy()
        jacobian = np.eye(self.n_params)
        if self.n_shape:
            coords = aux[self.slices["shape"]]
            values[self.slices["shape"]] = self.shape_natural(coords)
            jacobian[self.slices["shape"], self.slices["shape"]] = self.shape_jacobian(coords)
        return names, values, jacobian
