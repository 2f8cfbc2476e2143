"""Stage 1 of a nonlinear mixed-effects model: the model specification, :class:`NonlinearModel`.

This module owns what :func:`~quadlib.glmm.nlmm` is told: the model function (an expression of the data's
columns and the parameter names, checked by quadlib's one sandbox, or a Python function), the fixed and
random parameters, the grouping factor and the covariance structure, and the data as arrays with the rows
sorted by group; and the derivatives of the function in its parameters (fourth-order central differences,
steps ``+-h, +-2h``, ``h = 1e-3 max(|phi|, 1)``, error ~1e-12 relative, one call of the model with
``1 + 4k`` values of the k parameters per row; second derivatives add the ``2k(k - 1)`` mixed points).
The likelihood is :mod:`quadlib.glmm._nlmm`'s, the FOCE algorithm :mod:`quadlib.glmm._foce`'s.
"""
import ast
import functools
import math
import warnings

import numpy as np

from .. import _validation as v
from .._expression import CONSTANTS, FUNCTIONS, MODULE_NAMES, check_expression, check_length, evaluate_code
from ._covariance import ThetaLayout
from ._design import RandomTerm, grouping_factor
from ._newton import newton

__all__ = ["NonlinearModel"]

_FD_STEP = 1e-3        # relative step of the fourth-order central differences of f (~ eps^(1/5))


def _names_list(value, name):
    if isinstance(value, str):
        value = [value]
    try:
        value = list(value)
    except TypeError:
        raise TypeError(f"`{name}` must be a list of parameter names, got {type(value).__name__}") from None
    if not all(isinstance(x, str) for x in value):
        raise TypeError(f"`{name}` must be a list of parameter names (strings), got {value!r}")
    duplicated = sorted({x for x in value if value.count(x) > 1})
    if duplicated:
        raise ValueError(f"`{name}` names {', '.join(map(repr, duplicated))} more than once")
    return value


def _compile(text, columns, parameters, what):
    """The code of an expression and the data columns it uses; ValueError naming any unknown names.

    The expression goes through quadlib's one sandbox (:func:`quadlib._expression.check_expression`):
    arithmetic, the columns, the parameters and the vetted numeric functions, nothing else. The checked
    code is kept for the last 64 (expression, columns, parameters) (checking costs more than a small fit;
    a failed check raises again, it is not kept)."""
    return _compile_cached(text, tuple(columns), tuple(parameters), what)


@functools.lru_cache(maxsize=64)
def _compile_cached(text, columns, parameters, what):
    check_length(text, "model")
    try:
        names = {node.id for node in ast.walk(ast.parse(text.strip(), mode="eval")) if isinstance(node, ast.Name)}
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        names = set()  # check_expression below says what is wrong
    unknown = sorted(names - set(FUNCTIONS) - set(CONSTANTS) - set(MODULE_NAMES) - set(columns) - set(parameters))
    if unknown:
        listed = ", ".join(map(repr, unknown))
        raise ValueError(f"`model`: unknown name(s) {listed} in the {what} {text.strip()!r} (neither a column of "
                         "`data`, a parameter in `fixed`, nor a numpy function such as exp, log, sqrt)")
    try:
        tree = check_expression(text, set(columns) | set(parameters), argument="model")
    except ValueError as error:
        raise ValueError(f"{error} (in the {what} {text.strip()!r}; names must be columns of `data`, parameters "
                         "in `fixed`, or numeric functions such as exp, log, sqrt)") from None
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    used = sorted((names & set(columns)) - set(parameters))
    return compile(tree, f"<{what}>", "eval"), tuple(used), frozenset(names)


class CompiledExpression:
    """A checked model (or response) expression: ``f(params, columns)`` for the model, ``f(columns)`` for the
    response. Pickles as its source (checked again when loaded): compiled code does not pickle, and fitted
    results, saved or sent to another process, carry their model."""

    def __init__(self, text, columns, parameters, what):
        self._args = (text, tuple(columns), tuple(parameters), what)
        self.code = _compile(text, columns, parameters, what)[0]

    def __call__(self, params, columns=None):
        if columns is None:   # the response: only columns
            return evaluate_code(self.code, params, "model")
        return evaluate_code(self.code, {**columns, **params}, "model")

    def __reduce__(self):
        return CompiledExpression, self._args


class ResponseColumn:
    """The response of a callable model: its column (a class, not a closure, so that results pickle)."""

    def __init__(self, name):
        self.name = name

    def __call__(self, columns):
        return columns[self.name]


def _model_iv(model, data, fixed, random, group, covariance, response):
    import pandas as pd

    if isinstance(data, dict):
        data = pd.DataFrame(data)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"`data` must be a pandas DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("`data` has no rows")
    if not isinstance(group, str):
        raise TypeError(f"`group` must be a column name, got {group!r}")
    for name in group.split(":"):
        if name not in data.columns:
            raise ValueError(f"`group` column {name!r} is not in `data`")
    parameters = _names_list(fixed, "fixed")
    if not parameters:
        raise ValueError("`fixed` must name at least one parameter")
    for name in parameters:
        if not name.isidentifier():
            raise ValueError(f"`fixed`: {name!r} is not a valid parameter name (a Python identifier)")
        if name in data.columns:
            raise ValueError(f"`fixed`: parameter {name!r} is also a column of `data`")
        if name in FUNCTIONS or name in CONSTANTS or name in MODULE_NAMES:
            raise ValueError(f"`fixed`: parameter {name!r} is the name of a function or constant")
    random = _names_list(random, "random")
    if not random:
        raise ValueError("`random` must name at least one parameter (use scipy.optimize.curve_fit for a model "
                         "without random effects)")
    unknown = [name for name in random if name not in parameters]
    if unknown:
        raise ValueError(f"`random` names {', '.join(map(repr, unknown))}, not among the parameters in `fixed` "
                         f"({', '.join(parameters)})")
    covariance = v.choice(covariance, ("diagonal", "unstructured"), "covariance")

    columns = [c for c in data.columns if isinstance(c, str)]
    if isinstance(model, str):
        if response is not None:
            raise ValueError("`response` is for a callable `model`; an expression names it left of '~'")
        if model.count("~") != 1:
            raise ValueError(f"`model` must be 'response ~ expression', got {model!r}")
        lhs, rhs = model.split("~")
        if not lhs.strip() or not rhs.strip():
            raise ValueError(f"`model` must be 'response ~ expression', got {model!r}")
        response_code, response_used, _ = _compile(lhs, columns, [], "response")
        code, used, names = _compile(rhs, columns, parameters, "expression")
        unused = [p for p in parameters if p not in names]
        if unused:
            raise ValueError(f"`fixed` names parameter(s) {', '.join(map(repr, unused))} that the model "
                             f"expression {rhs.strip()!r} does not use")
        function = CompiledExpression(rhs, columns, parameters, "expression")
        response_function = CompiledExpression(lhs, columns, [], "response")

        formula = f"{lhs.strip()} ~ {rhs.strip()}"
        response_name = lhs.strip()
        used_columns = sorted(set(used) | set(response_used))
        model_columns = used
    elif callable(model):
        if response is None:
            raise ValueError("a callable `model` needs `response`, the name of the response column")
        if not isinstance(response, str) or response not in data.columns:
            raise ValueError(f"`response` column {response!r} is not in `data`")
        function = model
        response_name = response
        response_function = ResponseColumn(response)

        formula = f"{response} ~ {getattr(model, '__name__', 'model')}({', '.join(parameters)}, data)"
        used_columns = [response]
        model_columns = columns
    else:
        raise TypeError(f"`model` must be a string 'response ~ expression' or a callable, got {type(model).__name__}")
    for name in used_columns:
        if not (pd.api.types.is_numeric_dtype(data[name]) or pd.api.types.is_bool_dtype(data[name])):
            raise TypeError(f"`model`: column {name!r} must be numeric, got dtype {data[name].dtype}")
    return (function, response_function, formula, response_name, parameters, random, group, covariance, data,
            used_columns, model_columns)


@functools.lru_cache(maxsize=16)
def _stencil_signs(k, mixed):
    """The moves of the difference stencils in k parameters, one row per point (read-only): the centre;
    ``+-h, +-2h`` in each parameter; with `mixed`, ``(+-h, +-h)`` in each pair (a < c)."""
    rows = [np.zeros(k)]
    for a in range(k):
        for sign in (1, -1, 2, -2):
            rows.append(np.zeros(k))
            rows[-1][a] = sign
    if mixed:
        for a in range(k):
            for c in range(a + 1, k):
                for sa, sc in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                    rows.append(np.zeros(k))
                    rows[-1][a], rows[-1][c] = sa, sc
    signs = np.array(rows)
    signs.flags.writeable = False
    return signs


@functools.lru_cache(maxsize=16)
def _pairs(k):
    """The pairs (a < c) of k parameters, as the mixed points of :func:`_stencil_signs` are ordered."""
    return np.triu_indices(k, 1)


class NonlinearModel:
    """Stage 1: a nonlinear model's function and its data as arrays, the rows sorted by group.

    Parameters
    ----------
    model, data, fixed, random, group, covariance, response
        As for :func:`nlmm`.

    Attributes
    ----------
    y : ndarray (N,)
        The response.
    parameters, random : list of str
        All parameters (each a fixed effect) and those with a random effect.
    levels : list of str
        The groups, in R's order; ``index`` (N,) is each row's group and ``rows`` its position in `data`.

    Notes
    -----
    ``model.evaluate(phi)`` evaluates f with ``phi`` a dict of per-row parameter values of shape (N,) or
    (N, K) (K values per row: the data columns are then passed with shape (N, 1), so that they broadcast);
    ``model.jacobian(phi, which)`` adds its central-difference derivatives in the parameters `which`.

    Examples
    --------
    >>> from quadlib.glmm import datasets
    >>> m = NonlinearModel("circumference ~ Asym / (1 + exp((xmid - age) / scal))", datasets.load("orange"),
    ...                    fixed=["Asym", "xmid", "scal"], random=["Asym"], group="Tree")
    >>> m.nobs, m.n_groups, m.levels
    (35, 5, ['1', '2', '3', '4', '5'])
    """

    def __init__(self, model, data, *, fixed, random, group, covariance="diagonal", response=None, _stacklevel=2):
        self._expression = isinstance(model, str)
        (self._function, response_function, self.formula, self.response_name, self.parameters, self.random,
         self.group, self.covariance, data, used, model_columns) = _model_iv(model, data, fixed, random, group,
                                                                             covariance, response)
        keep_columns = sorted(set(used) | set(group.split(":")))
        import pandas as pd

        missing = np.zeros(len(data), dtype=bool)
        for name in keep_columns:   # column by column: a frame of the columns costs more than a small fit
            missing |= pd.isna(data[name].to_numpy())
        if missing.all():
            raise ValueError("every row of `data` has a missing value in a column the model uses")
        if missing.any():
            warnings.warn(f"dropped {int(missing.sum())} row(s) with missing values in the columns used",
                          UserWarning, stacklevel=_stacklevel)
        kept = np.flatnonzero(~missing)
        # pandas only for the grouping factor; the columns are sorted as arrays (a data frame's iloc and
        # reset_index cost more than a small fit)
        frame = data if kept.size == len(data) else data.iloc[kept]
        levels, index = grouping_factor(frame, group)
        if levels.size < 2:
            raise ValueError(f"`group` {group!r} has a single level: the random effects cannot be estimated")
        order = np.argsort(index, kind="stable")
        self.rows = kept[order]
        self.index = np.ascontiguousarray(index[order], dtype=np.intp)
        self.levels = [str(x) for x in levels]
        self.starts = np.flatnonzero(np.r_[True, self.index[1:] != self.index[:-1]])
        self.columns = {name: frame[name].to_numpy()[order] for name in model_columns}
        for name, value in self.columns.items():
            if value.dtype.kind in "biuf":
                self.columns[name] = value.astype(float)
        with np.errstate(all="ignore"):
            y = np.asarray(response_function({c: frame[c].to_numpy(dtype=float)[order] for c in used}),
                           dtype=float)
        y = np.broadcast_to(y, (order.size,)).astype(float)
        if not np.all(np.isfinite(y)):
            raise ValueError(f"the response {self.response_name!r} is not finite in {int((~np.isfinite(y)).sum())} "
                             "row(s)")
        self.y = y
        self.random_index = np.array([self.parameters.index(name) for name in self.random], dtype=np.intp)
        self._tiles = {1: self.columns}

    @property
    def nobs(self):
        return self.y.size

    @property
    def n_groups(self):
        return len(self.levels)

    @property
    def q(self):
        return len(self.random)

    def __repr__(self):
        return (f"NonlinearModel({self.formula!r}: {self.nobs} rows, {self.n_groups} groups of {self.group!r}, "
                f"parameters {self.parameters}, random {self.random} ({self.covariance}))")

    def tiled(self, copies):
        """The data columns repeated `copies` times (for several parameter vectors in one call)."""
        if copies not in self._tiles:
            self._tiles[copies] = {name: np.tile(value, copies) for name, value in self.columns.items()}
        return self._tiles[copies]

    def evaluate(self, phi, columns=None):
        """f at per-row parameter values `phi` (dict name -> (R,) or (R, K)); `columns` default the data's."""
        columns = self.columns if columns is None else columns
        shape = np.broadcast_shapes(*(np.shape(x) for x in phi.values()))
        # an expression broadcasts by itself (exp of a fixed parameter stays one column); a function is
        # promised arrays of the full shape (read-only views)
        params = phi if self._expression else {name: np.broadcast_to(x, shape) for name, x in phi.items()}
        data = {name: value[:, None] for name, value in columns.items()} if len(shape) == 2 else columns
        with np.errstate(all="ignore"):
            out = self._function(params, data)
        try:
            out = np.asarray(out, dtype=float)
            return np.broadcast_to(out, shape) if out.shape != shape else out
        except (TypeError, ValueError):
            raise ValueError(f"`model` must return one real prediction per row and point, shape {shape}, got "
                             f"{getattr(out, 'shape', type(out).__name__)}") from None

    def _stencil(self, phi, which, signs, columns):
        """f at phi moved by ``sign * h`` in the parameters at positions `which` (`signs` (K, k): one row per
        column of the result; h = 1e-3 max(|phi|, 1) per row and parameter, exactly representable): one
        call, (R, K)."""
        R = np.shape(next(iter(phi.values())))[0]
        batch = {name: x[:, None] if np.shape(x) == (R,) else np.broadcast_to(x, (R,))[:, None]
                 for name, x in phi.items()}
        h = np.empty((R, len(which)))
        for a, i in enumerate(which):
            name = self.parameters[i]
            x = batch[name]
            h[:, a] = ((x + _FD_STEP * np.maximum(np.abs(x), 1.0)) - x)[:, 0]
            # x + 0 * h is x: the columns where the parameter does not move keep it exactly
            batch[name] = x + h[:, a, None] * signs[None, :, a]
        return self.evaluate(batch, columns), h

    def jacobian(self, phi, which, columns=None):
        """f (R,) and its derivatives (R, k) in the k parameters at positions `which`: fourth-order central
        differences (error ~1e-12 relative), one call of the model with 1 + 4k values per row."""
        F, h = self._stencil(phi, which, _stencil_signs(len(which), False), columns)
        p1, m1, p2, m2 = (F[:, 1 + j::4] for j in range(4))
        return F[:, 0], (8 * (p1 - m1) - (p2 - m2)) / (12 * h)

    def second_derivatives(self, phi, which, columns=None):
        """f (R,), its gradient (R, k) and Hessian (R, k, k) in the k parameters at positions `which`: one
        call of the model with 1 + 4k + 2k(k - 1) values per row (fourth-order differences but for the
        mixed second derivatives, second-order: error ~1e-6 relative)."""
        k = len(which)
        F, h = self._stencil(phi, which, _stencil_signs(k, True), columns)
        f = F[:, 0]
        p1, m1, p2, m2 = (F[:, 1 + j:1 + 4 * k:4] for j in range(4))
        grad = (8 * (p1 - m1) - (p2 - m2)) / (12 * h)
        hess = np.empty((f.size, k, k))
        hess[:, np.arange(k), np.arange(k)] = (16 * (p1 + m1) - (p2 + m2) - 30 * f[:, None]) / (12 * h * h)
        a, c = _pairs(k)
        mixed = F[:, 1 + 4 * k:].reshape(f.size, a.size, 4)
        hess[:, a, c] = hess[:, c, a] = (mixed[..., 0] - mixed[..., 1] - mixed[..., 2] + mixed[..., 3]) \
            / (4 * h[:, a] * h[:, c])
        return f, grad, hess

    def phi(self, beta, b=None):
        """Per-row parameters ``beta + b_g`` (dict of (N,) arrays); b (M, q) or None (zero)."""
        out = {}
        for i, name in enumerate(self.parameters):
            out[name] = np.full(self.nobs, float(beta[i]))
        if b is not None:
            for r, i in enumerate(self.random_index):
                out[self.parameters[i]] = out[self.parameters[i]] + b[self.index, r]
        return out

    def theta_layout(self, offset=0):
        """The layout of the covariance parameters (one block: the random parameters, a diagonal or an
        unstructured factor), theta starting at `offset` of the parameter vector."""
        return ThetaLayout.single(self.group, self.random, self.covariance == "unstructured", self.n_groups,
                                  offset=offset, levels=self.levels)

    def random_term(self, Z):
        """The random parameters as a random term of a linear model (:class:`~quadlib.glmm.RandomTerm`) whose
        model matrix is `Z` (N, q): the columns of the model linearized in them (FOCE's LMM step). Its
        covariance is the model's (``||`` for a diagonal one), so that its layout is :meth:`theta_layout`'s."""
        return RandomTerm(group=self.group, columns=list(self.random), Z=Z, index=self.index, levels=list(self.levels),
                          correlated=self.covariance == "unstructured")

    def theta_entries(self):
        """(row, col) positions in the q x q covariance factor of its free entries (column by column)."""
        return self.theta_layout().blocks[0].entries

    def fixed_fit(self, beta, max_iter=50):
        """Nonlinear least squares without random effects from `beta` (at most `max_iter` damped Gauss–Newton
        steps, until the residual sum of squares falls by less than 1e-10 relative: a start, not an
        estimate): beta and the residual SD."""
        everything = np.arange(len(self.parameters))

        def evaluate(b):
            rss = float(np.sum((self.y - self.evaluate(self.phi(b))) ** 2))
            return (-rss if np.isfinite(rss) else -np.inf), None

        def direction(b, value, info):
            f, J = self.jacobian(self.phi(b), everything)
            if not np.all(np.isfinite(J)):
                return None
            return np.linalg.lstsq(J, self.y - f, rcond=None)[0]

        res = newton(evaluate, direction, beta, max_iter=max_iter, max_halvings=30,
                     done=lambda change, t, old, new: new - old <= -1e-10 * old)
        rss = -res.value
        return res.x, math.sqrt(rss / self.nobs) if np.isfinite(rss) else np.nan
