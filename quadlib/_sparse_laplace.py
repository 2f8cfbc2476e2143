"""The Laplace approximation of one large integral with a sparse curvature: ``sparse_laplace``.

For ``I = ∫_{R^Q} exp(h(u)) du`` with a maximum at û and ``C = -∇²h(û)`` positive definite,

    log I ≈ h(û) + (Q/2) log 2π - (1/2) log det C.

This is the integral over the joint random effects of crossed or nested grouping factors, where Q is the
total number of levels (thousands) and C = Λ'Z'WZΛ + I is sparse. ``quadlib.laplace`` (dense
derivatives, scipy.optimize) and the cluster integrators (many small independent integrals) do not fit
that shape; this module finds the mode by Newton's method with step halving, as lme4's PIRLS does, and
factorizes C once per step.

The factorization
-----------------
scipy has no sparse Cholesky. SuperLU (``scipy.sparse.linalg.splu``) with a symmetric fill-reducing
ordering (minimum degree on C + C', ``permc_spec="MMD_AT_PLUS_A"``) and ``diag_pivot_thresh=0`` takes
every pivot from the diagonal, so the row and column permutations coincide and ``P C P' = L U`` with
``U = D L'``: an LDL' factorization computed by an LU code. Then ``log det C = Σ log U_ii``, and C is
positive definite exactly when every ``U_ii > 0`` (Sylvester's law of inertia). SuperLU does not exploit
symmetry (about twice the work and memory of a Cholesky); CHOLMOD through scikit-sparse would be faster
but is not a dependency. The ordering is computed once per call and reused by the later Newton steps
(the pattern of C is normally the same at every u, and any ordering stays valid if not), which removes
most of the cost of a factorization when the fill is small. Small problems (Q <= 200), dense curvatures,
and sparse ones whose factors fill in to a dense matrix (as for two large, evenly crossed factors) use
the dense Cholesky of LAPACK instead.

References: L. Tierney and J. B. Kadane, JASA 81 (1986); D. Bates, M. Mächler, B. Bolker and S. Walker,
"Fitting linear mixed-effects models using lme4", J. Stat. Softw. 67 (2015), section 3.
"""
import math
import warnings

import numpy as np
from scipy import linalg, sparse
from scipy.sparse.linalg import splu, spsolve_triangular

from . import _validation as v
from ._result import DomainError, IntegrationResult, IntegrationWarning

__all__ = ["Curvature", "SparseLaplaceResult", "sparse_laplace"]

_LOG_2PI = math.log(2 * math.pi)
_DENSE_MAX = 200          # Q up to which the dense Cholesky is used whatever the sparsity
_DENSE_FILL = 0.3         # sparse factors holding this fraction of Q² entries: switch to dense ...
_DENSE_FILL_MAX = 20_000  # ... unless the dense matrix (8 Q² bytes) would be too large
_MAX_HALVINGS = 30
_BLOCK = 256              # columns per block when solving for many right-hand sides


def _unit_columns(n, k):
    """The first k columns of the n x n identity."""
    out = np.zeros((n, k))
    out[np.arange(k), np.arange(k)] = 1.0
    return out


class _DenseFactor:
    """C = L L' by LAPACK."""

    kind = "dense Cholesky"

    def __init__(self, lower):
        self.lower = lower
        self.log_det = 2.0 * float(np.sum(np.log(np.diag(lower))))

    def solve(self, rhs):
        return linalg.cho_solve((self.lower, True), rhs, check_finite=False)

    def inverse_diagonal(self):
        # (C⁻¹)_ii = |L⁻¹ e_i|², and L⁻¹ e_i vanishes above row i: triangular solves on trailing blocks only
        q = self.lower.shape[0]
        out = np.empty(q)
        for start in range(0, q, _BLOCK):
            stop = min(start + _BLOCK, q)
            x = linalg.solve_triangular(self.lower[start:, start:], _unit_columns(q - start, stop - start),
                                        lower=True, check_finite=False)
            out[start:stop] = np.einsum("ij,ij->j", x, x)
        return out


class _SparseFactor:
    """P C P' = L D L' by SuperLU with diagonal pivoting; `perm` is an outer symmetric permutation or None."""

    kind = "sparse LDL' (SuperLU, symmetric pivoting)"

    def __init__(self, lu, perm, log_det):
        self.lu, self.perm, self.log_det = lu, perm, log_det

    def solve(self, rhs):
        if self.perm is None:
            return self.lu.solve(rhs)
        out = np.empty_like(rhs)
        out[self.perm] = self.lu.solve(np.ascontiguousarray(rhs[self.perm]))
        return out

    def inverse_diagonal(self):
        # P C P' = L D L' (U = D L'), so (C⁻¹)_ii = Σ_k (L⁻¹ e_j)_k² / D_k at the position j of i in P C P';
        # one unit-triangular solve per column instead of the two of `solve`, and L⁻¹ e_j vanishes above
        # row j, so each block of columns needs only the trailing part of L (about 3x faster than `solve`)
        q = self.lu.shape[0]
        lower = self.lu.L.tocsr()
        pivots = self.lu.U.diagonal()
        by_position = np.empty(q)
        for start in range(0, q, _BLOCK):
            stop = min(start + _BLOCK, q)
            x = spsolve_triangular(lower[start:, start:], _unit_columns(q - start, stop - start), lower=True,
                                   unit_diagonal=True)
            by_position[start:stop] = np.einsum("ij,ij->j", x, x / pivots[start:, None])
        # index a of the matrix SuperLU saw sits at position perm_c[a]; that index is `perm`[a] of C
        out = np.empty(q)
        out[slice(None) if self.perm is None else self.perm] = by_position[self.lu.perm_c]
        return out


class _Factorizer:
    """Factorizes the curvature at each Newton step, keeping the fill-reducing ordering between steps."""

    def __init__(self, dense):
        self.dense = dense
        self.perm = None

    def __call__(self, curvature):
        """The factor, or None and the reason C is not (numerically) positive definite."""
        if self.dense:
            return self._dense(curvature)
        return self._sparse(curvature)

    def _dense(self, curvature):
        # Fortran order, so that LAPACK factorizes in place (8 Q² bytes, not twice that)
        if sparse.issparse(curvature):
            a = curvature.toarray(order="F").astype(float, copy=False)
        else:
            a = np.array(curvature, dtype=float, order="F")
        try:
            lower, _ = linalg.cho_factor(a, lower=True, overwrite_a=True, check_finite=False)
        except linalg.LinAlgError as exc:
            return None, f"the dense Cholesky factorization failed: {exc}"
        # the upper triangle still holds C; cho_solve and solve_triangular read only the lower one
        return _DenseFactor(lower), ""

    def _sparse(self, curvature):
        c = sparse.csc_matrix(curvature, dtype=float)
        if self.perm is None:
            spec = "MMD_AT_PLUS_A"
        else:
            c = c[self.perm][:, self.perm].tocsc()
            spec = "NATURAL"
        try:
            lu = splu(c, permc_spec=spec, diag_pivot_thresh=0.0, options={"SymmetricMode": True})
        except RuntimeError as exc:  # SuperLU: "Factor is exactly singular"
            return None, f"SuperLU: {exc}"
        if not np.array_equal(lu.perm_r, lu.perm_c):
            # a diagonal pivot was exactly zero and SuperLU pivoted off the diagonal
            return None, "a zero pivot on the diagonal"
        u = lu.U
        pivots = u.diagonal()
        bad = np.flatnonzero(~(pivots > 0))
        if bad.size:
            return None, f"{bad.size} of the {pivots.size} pivots of its LDL' factorization are not positive"
        q = pivots.size
        first = self.perm is None
        if first:
            # perm_c maps old column to new position; the reused ordering lists old indices in new order
            self.perm = np.argsort(lu.perm_c)
            if q <= _DENSE_FILL_MAX and 2 * u.nnz - q > _DENSE_FILL * q * q:
                self.dense = True  # near-dense fill: LAPACK is faster from the next step on
        return _SparseFactor(lu, None if first else self.perm, float(np.sum(np.log(pivots)))), ""


class Curvature:
    """The factorization of C = -∇²h at the mode, kept by :func:`sparse_laplace`'s result for ``solve`` and
    ``conditional_variances`` (its methods are the result's: ``res.solve(rhs)``)."""

    def __init__(self, factor, q, message):
        self._factor, self._q, self._message = factor, q, message

    @property
    def kind(self):
        """``"dense Cholesky"``, ``"sparse LDL' (SuperLU, ...)"`` or ``"none"`` (C is not positive definite
        at the mode)."""
        return "none" if self._factor is None else self._factor.kind

    def _require_factor(self):
        if self._factor is None:
            raise ValueError(f"the curvature is not positive definite at `mode`, so there is no factorization "
                             f"to use ({self._message})")
        return self._factor

    def solve(self, rhs):
        """``C(mode)⁻¹ rhs`` with the stored factorization.

        Parameters
        ----------
        rhs : array_like (Q,) or (Q, k)

        Returns
        -------
        ndarray, the shape of `rhs`
        """
        factor = self._require_factor()
        q = self._q
        try:
            b = np.array(rhs, dtype=float)
        except (TypeError, ValueError):
            raise TypeError("`rhs` must be an array of real numbers") from None
        if b.ndim not in (1, 2) or b.shape[0] != q:
            raise ValueError(f"`rhs` must have shape ({q},) or ({q}, k), got {b.shape}")
        return factor.solve(b)

    def conditional_variances(self):
        """``diag(C(mode)⁻¹)``: the variances of the Laplace (Gaussian) approximation of the normalized
        integrand, the conditional variances of the random effects in a mixed model.

        Computed from the stored factorization 256 unit vectors at a time, so the extra memory is O(256 Q)
        (plus a copy of the sparse factor L). Column i costs one triangular solve with the trailing part of
        the factor (``(C⁻¹)_ii = Σ_k (L⁻¹ e_i)_k² / D_k``): Q³/3 flops in all with the dense factor.

        Returns
        -------
        ndarray (Q,)
        """
        return self._require_factor().inverse_diagonal()


#: Deprecated: :func:`sparse_laplace` returns an :class:`IntegrationResult` (this name is kept as an alias of it).
SparseLaplaceResult = IntegrationResult


class _Function:
    """`fun` with its outputs checked and normalized, counting calls."""

    def __init__(self, fun, q, args):
        self.fun, self.q, self.args = fun, q, args
        self.nfev = 0

    def __call__(self, u):
        self.nfev += 1
        out = self.fun(u, *self.args)
        if not isinstance(out, tuple) or len(out) != 3:
            raise TypeError("`fun` must return a tuple (value, gradient, curvature), got "
                            f"{type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, tuple) else ""))
        value, gradient, curvature = out
        q = self.q
        value = np.asarray(value)
        if value.size != 1 or not np.isrealobj(value):
            raise ValueError(f"`fun` must return a real scalar value, got shape {value.shape} "
                             f"and dtype {value.dtype}")
        value = float(value.reshape(()))
        gradient = np.asarray(gradient)
        if gradient.shape != (q,):
            raise ValueError(f"`fun` must return a gradient of shape ({q},), got {gradient.shape}")
        if not np.isrealobj(gradient):
            raise TypeError(f"`fun` must return a real gradient, got dtype {gradient.dtype}")
        gradient = gradient.astype(float, copy=False)
        if sparse.issparse(curvature):
            curvature = curvature.tocsc()
            data = curvature.data
        elif isinstance(curvature, np.ndarray):
            curvature = data = curvature
        else:
            raise TypeError("`fun` must return the curvature as a scipy.sparse matrix or a numpy array, got "
                            f"{type(curvature).__name__}")
        if curvature.shape != (q, q):
            raise ValueError(f"`fun` must return a curvature of shape ({q}, {q}) (square, the size of `u0`), "
                             f"got {curvature.shape}")
        if not np.isrealobj(data):
            raise TypeError(f"`fun` must return a real curvature, got dtype {data.dtype}")
        finite = math.isfinite(value) and np.all(np.isfinite(gradient)) and np.all(np.isfinite(data))
        return value, gradient, curvature, finite


def _check_symmetric(curvature):
    """Raise unless C is symmetric to rounding (checked once, at `u0`)."""
    if sparse.issparse(curvature):
        c = sparse.csr_matrix(curvature, dtype=float)
        scale = abs(c).max() if c.nnz else 0.0
        asymmetry = abs(c - c.T).max() if c.nnz else 0.0
    else:
        c = np.asarray(curvature, dtype=float)
        scale, asymmetry = np.max(np.abs(c)), np.max(np.abs(c - c.T))
    if asymmetry > 1e-10 * scale:
        raise ValueError(f"`fun` must return a symmetric curvature; max |C - C'| = {asymmetry:.3g} at `u0`")


def _steps(n):
    return f"{n} Newton step" + ("" if n == 1 else "s")


def _sparse_laplace_iv(fun, u0, max_iter, tol, args):
    v.callable_(fun, "fun")
    try:
        u = np.array(u0, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("`u0` must be a 1-D array of real numbers") from None
    if u.ndim != 1 or u.size == 0:
        raise ValueError(f"`u0` must be a non-empty 1-D array, got shape {u.shape}")
    if not np.all(np.isfinite(u)):
        raise ValueError("`u0` must be finite")
    max_iter = v.positive_int(max_iter, "max_iter")
    tol = v.greater_than(tol, 0, "tol")
    args = v.args_tuple(args)
    return fun, u, max_iter, tol, args


def sparse_laplace(fun, u0, *, max_iter=100, tol=1e-10, args=()):
    """Laplace approximation of ``log ∫ exp(h(u)) du`` over R^Q with a sparse curvature.

    ``log ∫ exp(h) ≈ h(û) + (Q/2) log 2π - (1/2) log det C(û)`` with û the mode of h and
    ``C = -∇²h``. Meant for one large integral, such as over all the random effects of crossed or
    nested grouping factors jointly (Q in the thousands, C = Λ'Z'WZΛ + I sparse).

    Parameters
    ----------
    fun : callable
        ``fun(u, *args) -> (value, gradient, curvature)``: h(u) (a float), ∇h(u) (shape (Q,)) and
        ``-∇²h(u)`` as a scipy.sparse matrix (Q, Q), symmetric and positive definite near the mode (a
        dense numpy array is accepted too, and selects the dense path).
    u0 : array_like (Q,)
        Start of the Newton iteration. Starting from the previous mode when the parameters of h change
        a little (as in an outer optimization) saves most of the iterations.
    max_iter : int
        At most this many Newton steps.
    tol : float
        Stop when the max-norm of the Newton step ``C⁻¹ ∇h`` is below `tol` (absolute: u is meant to be
        on a unit scale, as the spherical random effects of a mixed model are).
    args : tuple
        Extra arguments of `fun`; a value that is not a tuple is passed as the one extra argument, as in scipy.

    Returns
    -------
    IntegrationResult
        ``log_integral``, ``h(û) + (Q/2) log 2π - (1/2) log det C(û)`` (NaN when ``success`` is False);
        ``integral = exp(log_integral)`` (inf or 0 where that overflows or underflows); ``error`` NaN (no
        estimate); ``nfev``, the calls of `fun`; ``status`` 0 converged (the Newton step fell below `tol`
        with C positive definite), 1 `max_iter` steps without convergence, 2 no increase of h within 30
        halvings of a step, 3 a curvature that is not positive definite at an iterate; ``message``. Its
        ``extra`` (also attributes): ``mode`` (Q,), û (the last iterate when the iteration failed; in a
        mixed model the conditional modes of the spherical random effects); ``value``, h at `mode`;
        ``log_det``, ``log det C`` at `mode` (NaN when C is not positive definite there); ``n_iter``, the
        Newton steps taken; ``factorization``, which factorization of C(mode) is kept (``"dense
        Cholesky"``, ``"sparse LDL' (SuperLU, ...)"`` or ``"none"``); ``curvature``, that factorization
        (a ``Curvature``); and its methods ``solve(rhs)``, ``C(mode)⁻¹ rhs`` for rhs of shape (Q,) or
        (Q, k), and ``conditional_variances()``, ``diag(C(mode)⁻¹)``, a ValueError when C is not
        positive definite at `mode`.

    Raises
    ------
    TypeError, ValueError
        For a `fun` that is not callable or returns the wrong types or shapes, a `u0` that is not a finite
        non-empty 1-D array, or a `fun` whose curvature is not symmetric at `u0`.
    DomainError
        When `fun` is not finite at `u0` (a parameter of `fun` outside its domain); a ValueError subclass.

    Warns
    -----
    IntegrationWarning
        When the iteration fails (``success=False``, ``log_integral`` NaN): `max_iter` steps without
        convergence, no increase of h within 30 halvings of a step, or a curvature that is not positive
        definite at an iterate (there is no Laplace approximation there).

    Notes
    -----
    Each Newton step ``u ← u + t C(u)⁻¹ ∇h(u)`` starts with t = 1 and halves t (at most 30 times)
    until h does not decrease (up to rounding), as in lme4's penalized iteratively reweighted least
    squares. It is exact in one step for a Gaussian integrand. The mode is accurate to about `tol` and,
    since log det C depends on u to first order, so is `log_integral` (absolutely): keep `tol` well below
    the step of any finite differences taken of it.

    C is factorized at every step. scipy has no sparse Cholesky, so this uses SuperLU
    (``scipy.sparse.linalg.splu``) with a symmetric minimum-degree ordering (``MMD_AT_PLUS_A``) and
    ``diag_pivot_thresh=0``: all pivots come from the diagonal, which makes the LU factorization an
    LDL' one, ``log det C = Σ log U_ii``, and C is positive definite exactly when every ``U_ii > 0``. It
    does about twice the work of a Cholesky; CHOLMOD (via scikit-sparse), as lme4 uses, would be faster
    but is not a dependency. The ordering from the first step is reused by the later ones. The dense
    Cholesky (LAPACK) is used instead when Q <= 200, when `fun` returns a dense array, and from the
    second step on when the sparse factors turn out to hold more than 30 % of Q² entries (Q <= 20 000),
    as for two large, evenly crossed factors, where any ordering leaves a dense Schur complement.

    References
    ----------
    .. [1] L. Tierney and J. B. Kadane, "Accurate approximations for posterior moments and marginal
       densities", J. Amer. Statist. Assoc. 81 (1986), 82-86.
    .. [2] D. Bates, M. Mächler, B. Bolker and S. Walker, "Fitting linear mixed-effects models using
       lme4", J. Stat. Softw. 67(1) (2015), section 3 (the sparse Cholesky formulation).
    .. [3] X. S. Li, J. W. Demmel, J. R. Gilbert et al., SuperLU Users' Guide (2018), on
       ``DiagPivotThresh`` and symmetric orderings.

    Examples
    --------
    A Gaussian integrand with a tridiagonal precision (a random walk plus the identity), for which the
    Laplace approximation is exact: ``log ∫ exp(b'u - u'Au/2) du = b'A⁻¹b/2 + (Q/2) log 2π - log det A/2``.

    >>> import numpy as np, scipy.sparse as sp, quadlib
    >>> Q = 1000
    >>> A = sp.diags([-1.0, 3.0, -1.0], [-1, 0, 1], shape=(Q, Q), format="csc")
    >>> b = np.linspace(-1, 1, Q)
    >>> fun = lambda u: (b @ u - 0.5 * u @ (A @ u), b - A @ u, A)
    >>> r = quadlib.sparse_laplace(fun, np.zeros(Q))
    >>> r.success, r.n_iter, r.factorization
    (True, 1, "sparse LDL' (SuperLU, symmetric pivoting)")
    >>> mode = np.linalg.solve(A.toarray(), b)
    >>> exact = 0.5 * b @ mode + 0.5 * Q * np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(A.toarray())[1]
    >>> bool(abs(r.log_integral - exact) < 1e-10 * abs(exact)), bool(np.allclose(r.mode, mode))
    (True, True)
    >>> variances = r.conditional_variances()  # diag(A⁻¹)
    >>> bool(np.allclose(variances, np.diag(np.linalg.inv(A.toarray()))))
    True
    """
    fun, u, max_iter, tol, args = _sparse_laplace_iv(fun, u0, max_iter, tol, args)
    q = u.size
    function = _Function(fun, q, args)
    value, gradient, curvature, finite = function(u)
    if not finite:
        raise DomainError("`fun` must return a finite value, gradient and curvature at `u0`")
    _check_symmetric(curvature)
    factorize = _Factorizer(dense=q <= _DENSE_MAX or not sparse.issparse(curvature))

    success, status, message = False, 1, ""
    for n_iter in range(max_iter + 1):  # n_iter: Newton steps taken so far; the last pass only tests for convergence
        factor, reason = factorize(curvature)
        if factor is None:
            status, message = 3, f"the curvature is not positive definite after {_steps(n_iter)}: {reason}"
            break
        step = factor.solve(gradient)
        size = float(np.max(np.abs(step)))
        if size < tol:
            success, status, message = True, 0, f"converged in {_steps(n_iter)}"
            break
        if n_iter == max_iter:
            status = 1
            message = (f"the Newton iteration did not converge in `max_iter` = {max_iter} steps (max-norm of "
                       f"the last step {size:.3g} > `tol` = {tol:g})")
            break
        # h may not decrease by more than its rounding error; a smaller "decrease" is no evidence of overshooting
        floor = value - 64 * np.finfo(float).eps * max(1.0, abs(value))
        t = 1.0
        for _ in range(_MAX_HALVINGS + 1):
            trial = u + t * step
            new_value, new_gradient, new_curvature, finite = function(trial)
            if finite and new_value >= floor:
                break
            t *= 0.5
        else:
            status = 2
            message = (f"step halving did not increase h within {_MAX_HALVINGS} halvings after {_steps(n_iter)} "
                       f"(max-norm of the Newton step {size:.3g})")
            break
        u, value, gradient, curvature = trial, new_value, new_gradient, new_curvature

    log_det = factor.log_det if factor is not None else math.nan
    log_integral = value + 0.5 * q * _LOG_2PI - 0.5 * log_det if success else math.nan
    if not success:
        warnings.warn(f"sparse_laplace: {message}", IntegrationWarning, stacklevel=2)
    kept = Curvature(factor, q, message)
    return IntegrationResult.from_log(log_integral, function.nfev, status, success, message,
                                      {"mode": u, "value": float(value), "log_det": float(log_det), "n_iter": n_iter,
                                       "factorization": kept.kind, "curvature": kept, "solve": kept.solve,
                                       "conditional_variances": kept.conditional_variances})
