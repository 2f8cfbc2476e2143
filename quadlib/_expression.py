"""Safe evaluation of integrand expressions typed on the command line, e.g. ``"exp(-x**2) * cos(3*x)"``.

The expression is parsed with :mod:`ast` and accepted only if it is arithmetic on numbers, the variable
``x``, the constants ``pi``, ``e``, ``inf``, and calls of whitelisted numpy functions (also spelled
``np.sin`` / ``numpy.sin``). No builtins, no other names, no other attributes, no subscripts, no lambdas:
nothing in the string can reach the file system or the interpreter.
"""
import ast

import numpy as np

__all__ = ["compile_expression", "evaluate_constant"]

FUNCTIONS = (
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
    "arctanh", "exp", "expm1", "exp2", "log", "log1p", "log2", "log10", "sqrt", "cbrt", "abs", "absolute",
    "sign", "floor", "ceil", "round", "heaviside", "where", "minimum", "maximum", "hypot", "power", "sinc",
    "real", "imag", "conj",
)
CONSTANTS = {"pi": np.pi, "e": np.e, "inf": np.inf}
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod, ast.FloorDiv, ast.USub, ast.UAdd,
              ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq, ast.And, ast.Or, ast.BitAnd, ast.BitOr)


def _check(node, variables):
    for child in ast.walk(node):
        if isinstance(child, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.Load)):
            continue
        if isinstance(child, _OPERATORS):
            continue
        if isinstance(child, ast.Constant):
            if not isinstance(child.value, (int, float, complex)) or isinstance(child.value, bool):
                raise ValueError(f"only numbers are allowed as constants, got {child.value!r}")
            continue
        if isinstance(child, ast.Name):
            if child.id not in variables and child.id not in CONSTANTS and child.id not in FUNCTIONS \
                    and child.id not in ("np", "numpy"):
                raise ValueError(f"unknown name {child.id!r} (allowed: {', '.join(sorted(variables))}, "
                                 f"pi, e, inf and numpy functions such as sin, exp, sqrt)")
            continue
        if isinstance(child, ast.Attribute):
            if not (isinstance(child.value, ast.Name) and child.value.id in ("np", "numpy")
                    and child.attr in FUNCTIONS):
                raise ValueError(f"attribute access is limited to numpy functions, got {ast.unparse(child)!r}")
            continue
        if isinstance(child, ast.Call):
            target = child.func
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
            if name not in FUNCTIONS or child.keywords:
                raise ValueError(f"call of {ast.unparse(target)!r} is not allowed")
            continue
        raise ValueError(f"{type(child).__name__} is not allowed in an expression")


def _namespace():
    space = {name: getattr(np, name) for name in FUNCTIONS}
    space.update(CONSTANTS)
    module = type("numpy_functions", (), dict(space))
    space["np"] = space["numpy"] = module
    return space


def compile_expression(text, variable="x"):
    """A vectorized function of `variable` from the expression `text`; ValueError if it is not allowed."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"cannot parse expression {text!r}: {exc.msg}") from None
    _check(tree, {variable})
    code = compile(tree, "<expression>", "eval")
    space = _namespace()

    def f(x):
        with np.errstate(all="ignore"):
            value = eval(code, {"__builtins__": {}}, {**space, variable: x})  # checked above: numpy only
        return np.broadcast_to(np.asarray(value, dtype=complex if np.iscomplexobj(value) else float),
                               np.shape(x)).copy()

    return f


def evaluate_constant(text, name):
    """A float from a constant expression such as ``"pi/2"`` or ``"-inf"``; ValueError naming `name`."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
        _check(tree, set())
        with np.errstate(all="ignore"):
            value = eval(compile(tree, "<limit>", "eval"), {"__builtins__": {}}, _namespace())
        return float(value)
    except (SyntaxError, ValueError, TypeError) as exc:
        raise ValueError(f"`{name}` must be a number or constant expression (e.g. pi/2, -inf), got {text!r}: "
                         f"{exc}") from None
