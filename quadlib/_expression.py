"""The one sandbox for expressions that come from users: the vetted table of functions and its limits.

Strings typed on the command line (``quadlib integrate "exp(-x**2)" 0 inf``), ``nlmm`` model expressions and the
calls inside glmm formulas are data, not code. This module owns what they may use and how big they may be:

* :data:`FUNCTIONS`, the vetted table of numeric functions (numpy ufuncs and a few of ``scipy.special``), callable
  by their plain names or as ``np.name`` / ``numpy.name``; :data:`CONSTANTS`;
* the limits: :data:`MAX_EXPRESSION_LENGTH` characters, :data:`MAX_NUMBER_LENGTH` characters in one numeric
  literal, :data:`MAX_NESTING` levels of nesting;
* :func:`compile_expression`, :func:`evaluate_constant` and :func:`check_expression` for Python-syntax expressions
  (the CLI and ``nlmm``): parsed with :mod:`ast` and accepted only if they are arithmetic on numbers, the given
  variables and the table's functions. No builtins, no other names, no attributes other than ``np.<function>``,
  no subscripts, no lambdas, no keyword arguments, no strings. Every integer literal is read as a float, so a
  power tower such as ``9**9**9**9`` overflows at once instead of building an enormous integer.

The glmm formula language (``formulae``'s grammar) has its own walker in :mod:`quadlib.glmm._formula`, which
uses this table and these limits. R and patsy evaluate formulas as code; quadlib does not.
"""
import ast

import numpy as np

__all__ = ["FUNCTIONS", "CONSTANTS", "MODULE_NAMES", "MAX_EXPRESSION_LENGTH", "MAX_NUMBER_LENGTH", "MAX_NESTING",
           "check_expression", "check_length", "shorten", "check_number_literal", "compile_expression", "evaluate_constant", "function_table", "safe_namespace",
           "evaluate_code"]

_NUMPY_FUNCTIONS = (
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
    "arctanh", "exp", "expm1", "exp2", "log", "log1p", "log2", "log10", "sqrt", "cbrt", "abs", "absolute",
    "sign", "floor", "ceil", "round", "heaviside", "where", "minimum", "maximum", "hypot", "power", "sinc",
    "real", "imag", "conj", "square",
)
# the scipy.special functions people write in models (logistic and normal scales, log-gamma)
_SPECIAL_FUNCTIONS = ("expit", "logit", "erf", "erfc", "gammaln", "ndtr", "ndtri")
FUNCTIONS = _NUMPY_FUNCTIONS + _SPECIAL_FUNCTIONS
CONSTANTS = {"pi": np.pi, "e": np.e, "inf": np.inf}
MODULE_NAMES = ("np", "numpy")

MAX_EXPRESSION_LENGTH = 10_000   # characters in one expression or formula
MAX_NUMBER_LENGTH = 40           # characters in one numeric literal (more digits than a double holds)
MAX_NESTING = 100                # nested parentheses/calls/operators

_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod, ast.FloorDiv, ast.USub, ast.UAdd,
              ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq, ast.And, ast.Or, ast.BitAnd, ast.BitOr)
_STRUCTURE = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.Load)


def function_table():
    """The vetted functions by name: numpy's and a few of ``scipy.special`` (imported on first use)."""
    global _TABLE
    if _TABLE is None:
        import scipy.special as special

        table = {name: getattr(np, name) for name in _NUMPY_FUNCTIONS}
        table.update({name: getattr(special, name) for name in _SPECIAL_FUNCTIONS})
        _TABLE = table
    return dict(_TABLE)


_TABLE = None


class _Module:
    """``np`` / ``numpy`` inside an expression: only the vetted functions, as attributes, and nothing else."""

    __slots__ = ("_functions",)

    def __init__(self, functions):
        object.__setattr__(self, "_functions", dict(functions))

    def __getattr__(self, name):
        if name.startswith("__") or name == "_functions":
            # not an expression's function; and before unpickling sets _functions, looking it up here would
            # recurse without end
            raise AttributeError(name)
        try:
            return self._functions[name]
        except KeyError:
            raise AttributeError(f"{name!r} is not an allowed function") from None

    def __setattr__(self, name, value):
        raise AttributeError("read-only")

    def __reduce__(self):
        # rebuilt by its constructor (a design's formulae model holds the namespace; fitted results pickle)
        return _Module, (self._functions,)

    def __repr__(self):
        return "<numpy functions allowed in expressions>"


def safe_namespace():
    """The names an expression may use: the vetted functions, the constants and ``np``/``numpy`` limited to the
    same functions (so no attribute of them leads anywhere else). A new dict each call."""
    global _SPACE
    if _SPACE is None:
        _SPACE = _build_namespace()
    return dict(_SPACE)


_SPACE = None


def _build_namespace():
    table = function_table()
    space = dict(table)
    space.update(CONSTANTS)
    module = _Module(table)
    for name in MODULE_NAMES:
        space[name] = module
    return space


def shorten(text, limit=80):
    """`text` quoted for an error message, cut to about `limit` characters."""
    text = str(text)
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def check_length(text, argument):
    """`text` as a string within :data:`MAX_EXPRESSION_LENGTH`; TypeError/ValueError naming `argument`."""
    if not isinstance(text, str):
        raise TypeError(f"`{argument}` must be a string, got {type(text).__name__}")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ValueError(f"`{argument}` is {len(text)} characters long; at most {MAX_EXPRESSION_LENGTH} are allowed")
    return text


def check_number_literal(lexeme, argument):
    """A numeric literal's text within :data:`MAX_NUMBER_LENGTH` characters."""
    if len(lexeme) > MAX_NUMBER_LENGTH:
        raise ValueError(f"`{argument}`: the number {lexeme[:20]}... has {len(lexeme)} characters; at most "
                         f"{MAX_NUMBER_LENGTH} are allowed")


def _depth(node, limit):
    # iterative: a recursive walk is what a deeply nested expression would break
    stack = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(current))
    return True


class _FloatLiterals(ast.NodeTransformer):
    # integers become floats: float arithmetic is O(1) and overflows to an error, big-integer powers do not
    def visit_Constant(self, node):
        if isinstance(node.value, int) and not isinstance(node.value, bool):
            return ast.copy_location(ast.Constant(float(node.value)), node)
        return node


def check_expression(text, variables, *, argument="expression"):
    """Parse `text` (Python syntax) and accept it only if it is arithmetic on numbers, `variables`, the constants
    and the vetted functions; returns the checked tree, with integer literals made floats.

    Raises
    ------
    ValueError
        naming `argument` and what is not allowed.
    """
    check_length(text, argument)
    stripped = text.strip()
    for token in _number_tokens(stripped):
        check_number_literal(token, argument)
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"`{argument}`: cannot parse {shorten(text)}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ValueError(f"`{argument}` is nested too deeply") from None
    if not _depth(tree, MAX_NESTING):
        raise ValueError(f"`{argument}` is nested more than {MAX_NESTING} levels deep")
    variables = set(variables)
    for child in ast.walk(tree):
        if isinstance(child, _STRUCTURE) or isinstance(child, _OPERATORS):
            continue
        if isinstance(child, ast.Constant):
            if not isinstance(child.value, (int, float, complex)) or isinstance(child.value, bool):
                raise ValueError(f"`{argument}`: only numbers are allowed as constants, got {child.value!r}")
            continue
        if isinstance(child, ast.Name):
            if "__" in child.id:
                raise ValueError(f"`{argument}`: the name {child.id!r} is not allowed")
            if child.id not in variables and child.id not in CONSTANTS and child.id not in FUNCTIONS \
                    and child.id not in MODULE_NAMES:
                allowed = ", ".join(sorted(variables)) or "no variables"
                raise ValueError(f"`{argument}`: unknown name {child.id!r} (allowed: {allowed}; pi, e, inf; "
                                 f"functions such as sin, exp, sqrt)")
            continue
        if isinstance(child, ast.Attribute):
            if not (isinstance(child.value, ast.Name) and child.value.id in MODULE_NAMES
                    and child.attr in FUNCTIONS):
                raise ValueError(f"`{argument}`: attribute access is limited to np.<function>, got "
                                 f"{ast.unparse(child)!r}")
            continue
        if isinstance(child, ast.Call):
            target = child.func
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
            if name not in FUNCTIONS or child.keywords or any(isinstance(a, ast.Starred) for a in child.args):
                raise ValueError(f"`{argument}`: call of {ast.unparse(target)!r} is not allowed (allowed: "
                                 f"{', '.join(FUNCTIONS)})")
            continue
        raise ValueError(f"`{argument}`: {type(child).__name__} is not allowed in an expression")
    # a module name is only the left side of np.<function>, never a value of its own
    qualified = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    for child in ast.walk(tree):
        if isinstance(child, ast.Name) and child.id in MODULE_NAMES and id(child) not in qualified:
            raise ValueError(f"`{argument}`: {child.id!r} is only allowed as np.<function>")
    return ast.fix_missing_locations(_FloatLiterals().visit(tree))


def _number_tokens(text):
    import io
    import tokenize

    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.NUMBER:
                yield token.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return  # ast.parse reports the syntax error


def evaluate_code(code, variables, argument="expression"):
    """Evaluate checked code against the safe namespace and `variables`; arithmetic errors become ValueError."""
    space = safe_namespace()
    space.update(variables)
    try:
        with np.errstate(all="ignore"):
            return eval(code, {"__builtins__": {}}, space)  # checked by check_expression: arithmetic only
    except OverflowError:
        raise ValueError(f"`{argument}` cannot be evaluated: a value overflows") from None
    except (ArithmeticError, TypeError) as exc:
        raise ValueError(f"`{argument}` cannot be evaluated: {exc}") from None


def compile_expression(text, variable="x", *, argument="expression"):
    """A vectorized function of `variable` from the expression `text`; ValueError if it is not allowed.

    Examples
    --------
    >>> f = compile_expression("exp(-x**2) * np.cos(3*x)")
    >>> float(f(np.array([0.0]))[0])
    1.0
    """
    tree = check_expression(text, {variable}, argument=argument)
    code = compile(tree, "<expression>", "eval")

    def f(x):
        value = evaluate_code(code, {variable: x}, argument)
        return np.broadcast_to(np.asarray(value, dtype=complex if np.iscomplexobj(value) else float),
                               np.shape(x)).copy()

    return f


def evaluate_constant(text, name):
    """A float from a constant expression such as ``"pi/2"`` or ``"-inf"``; ValueError naming `name`.

    Examples
    --------
    >>> evaluate_constant("pi/2", "a") == np.pi / 2
    True
    """
    try:
        tree = check_expression(text, set(), argument=name)
        value = evaluate_code(compile(tree, "<limit>", "eval"), {}, name)
        value = complex(value) if np.iscomplexobj(value) else float(value)
        if isinstance(value, complex):
            raise ValueError("complex values are not allowed")
        if np.isnan(value):
            raise ValueError("the value is not a number")
        return value
    except (ValueError, TypeError) as exc:
        raise ValueError(f"`{name}` must be a number or constant expression (e.g. pi/2, -inf), got "
                         f"{shorten(text)}: {exc}") from None
