"""Parsing lme4 formulas: the response, the fixed part and the random terms.

``formulae`` evaluates the fixed part and each random term's expression; what it does not know is lme4's
bar notation, so that is split off here:

* ``(expr | g)``  one term, unstructured covariance of expr's columns within levels of g;
* ``(expr || g)`` uncorrelated: a diagonal covariance (lme4 splits it into one term per column);
* ``(expr | a/b)`` nested: ``(expr | a) + (expr | a:b)``;
* ``(expr | a:b)`` the interaction of two factors as the grouping factor;
* ``cbind(successes, failures) ~ ...`` a binomial response.

A formula is data, not code. Before ``formulae`` sees any part of it, :func:`check_terms` walks formulae's own
parse tree of that part and accepts only column names, numbers, short strings, the formula operators and calls of
the vetted table (:data:`FORMULA_CALLS`: formulae's transforms ``I``, ``C``, ``offset``, ``center``, ``scale``,
``standardize``, ``poly``, the spline bases, R's ``factor``, and the numeric functions of
:data:`quadlib._expression.FUNCTIONS` as plain names or ``np.name``). No attribute walking, no names from the
caller's frame, no dunders; powers are bounded. :func:`formula_environment` is the only namespace formulae gets.
"""
from dataclasses import dataclass
import re

from .._expression import (FUNCTIONS, MAX_NESTING, MODULE_NAMES, check_length, check_number_literal,
                           safe_namespace, shorten)

__all__ = ["ParsedFormula", "RandomTermSpec", "parse_formula", "parse_one_sided", "check_terms",
           "formula_environment", "FORMULA_CALLS", "split_top_level"]

# formulae's transforms and encodings a model may call (the rest of formulae's TRANSFORMS are left out on
# purpose: proportion()/binary() responses are written with cbind() and numeric comparisons here)
_TRANSFORMS = ("I", "C", "offset", "center", "scale", "standardize", "poly", "bs", "cr", "cc", "factor",
               "Treatment", "Sum")
FORMULA_CALLS = _TRANSFORMS + FUNCTIONS
_MAX_STRING = 200            # characters in a string literal (a level name)
_MAX_POWER = 1000            # |exponent| of a numeric power inside a call
_MAX_INTERACTION_POWER = 10  # (a + b + c)**k expands to interactions of order <= k

_NAME = r"[A-Za-z_.][\w.]*"
_GROUP = re.compile(rf"^{_NAME}(\s*[:/]\s*{_NAME})*$")
_CBIND = re.compile(r"^cbind\s*\((.*)\)$", re.S)


@dataclass(frozen=True)
class RandomTermSpec:
    """One random term: the model-matrix expression, the grouping factor (``a:b`` for an interaction)
    and whether its columns are correlated."""

    expr: str
    group: str
    correlated: bool

    def __str__(self):
        return f"({self.expr} {'|' if self.correlated else '||'} {self.group})"


@dataclass(frozen=True)
class ParsedFormula:
    response: str                  # the response expression ("" with cbind)
    cbind: tuple                   # (successes, failures) expressions, or None
    fixed: str                     # the fixed part, for formulae
    random: tuple                  # RandomTermSpec, in formula order
    text: str


def split_top_level(text, separator):
    """Split at `separator` outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _bar_groups(rhs):
    """The top-level parenthesized groups of `rhs` that contain a bar, and the rest of `rhs`."""
    groups, rest, i, n = [], [], 0, len(rhs)
    while i < n:
        if rhs[i] != "(":
            rest.append(rhs[i])
            i += 1
            continue
        depth, j = 0, i
        while j < n:
            depth += rhs[j] == "("
            depth -= rhs[j] == ")"
            if depth == 0:
                break
            j += 1
        if depth != 0:
            raise ValueError(f"`formula`: unbalanced parenthesis at {rhs[i:].strip()!r}")
        inner = rhs[i + 1:j]
        if "|" in inner:
            groups.append(inner)
        else:
            rest.append(rhs[i:j + 1])
        i = j + 1
    if rhs.count(")") != rhs.count("("):
        raise ValueError("`formula`: unbalanced parentheses")
    return groups, "".join(rest)


def _random_terms(inner):
    correlated = "||" not in inner
    expr, _, group = inner.partition("||" if not correlated else "|")
    expr, group = expr.strip(), group.strip()
    if not expr:
        raise ValueError(f"`formula`: random term '({inner})' has no expression before the bar")
    if not _GROUP.match(group):
        raise ValueError(f"`formula`: grouping factor {group!r} in '({inner})' must be a column name, a:b or a/b")
    if "/" in group:  # a/b/c -> a, a:b, a:b:c
        names = [g.strip() for g in group.split("/")]
        if any(":" in g for g in names):
            raise ValueError(f"`formula`: cannot mix ':' and '/' in the grouping factor {group!r}")
        groups = [":".join(names[:k]) for k in range(1, len(names) + 1)]
    else:
        groups = [":".join(g.strip() for g in group.split(":"))]
    return [RandomTermSpec(expr, g, correlated) for g in groups]


def parse_formula(formula):
    """Split an lme4 formula into its response, fixed part and random terms.

    Examples
    --------
    >>> p = parse_formula("cbind(incidence, size - incidence) ~ period + (1 | herd)")
    >>> p.cbind, p.fixed, [str(t) for t in p.random]
    (('incidence', 'size - incidence'), 'period', ['(1 | herd)'])
    >>> [str(t) for t in parse_formula("y ~ x + (x || a/b)").random]
    ['(x || a)', '(x || a:b)']
    """
    if not isinstance(formula, str):
        raise TypeError(f"`formula` must be a string, got {type(formula).__name__}")
    check_length(formula, "formula")
    if formula.count("~") != 1:
        raise ValueError(f"`formula` must have the form 'response ~ terms' with one '~', got {formula!r}")
    lhs, rhs = (part.strip() for part in formula.split("~"))
    if not lhs:
        raise ValueError("`formula` has no response before '~'")
    if not rhs:
        raise ValueError("`formula` has no terms after '~'")
    cbind = None
    match = _CBIND.match(lhs)
    if match:
        args = split_top_level(match.group(1), ",")
        if len(args) != 2 or not all(a.strip() for a in args):
            raise ValueError(f"`formula`: cbind() takes two arguments (successes, failures), got {lhs!r}")
        cbind = (args[0].strip(), args[1].strip())
    inners, fixed = _bar_groups(rhs)
    random = tuple(term for inner in inners for term in _random_terms(inner))
    # remove the '+' left behind by the random terms
    pieces = [p.strip() for p in split_top_level(fixed, "+")]
    fixed = " + ".join(p for p in pieces if p) or "1"
    return ParsedFormula("" if cbind else lhs, cbind, fixed, random, formula)


# what each one-sided formula argument models, for messages
_ONE_SIDED_MODELS = {"ziformula": "the zero-inflation model", "dispformula": "the dispersion model"}


def parse_one_sided(text, argument):
    """The right-hand side of a one-sided formula such as ``ziformula="~ spp + mined"`` (glmmTMB's zero-inflation
    and dispersion models): fixed effects only.

    Parameters
    ----------
    text : str
        ``"~ terms"``. ``"~0"`` (glmmTMB's default ziformula) means no model at all.
    argument : str
        The argument's name, used in messages (``"ziformula"``, ``"dispformula"``).

    Returns
    -------
    str or None
        The terms after ``~`` (for :func:`~quadlib.glmm._design.model_matrix`, which checks them with
        :func:`check_terms` against the data's columns), or None for ``~0``.

    Raises
    ------
    TypeError
        `text` is not a string.
    ValueError
        Longer than the formula bound, not of the form ``~ terms`` (a response before ``~``, no ``~``, no terms),
        or with a random term ``(... | g)``: random effects in these models are not supported.

    Examples
    --------
    >>> parse_one_sided("~ spp + mined", "ziformula")
    'spp + mined'
    >>> parse_one_sided("~0", "ziformula") is None
    True
    >>> parse_one_sided("y ~ x", "dispformula")
    Traceback (most recent call last):
    ...
    ValueError: `dispformula` must be one-sided, e.g. '~ x', got 'y ~ x'
    """
    if not isinstance(text, str):
        raise TypeError(f"`{argument}` must be a string such as '~ x', got {type(text).__name__}")
    check_length(text, argument)
    lhs, tilde, rhs = text.partition("~")
    if not tilde or lhs.strip() or "~" in rhs:
        raise ValueError(f"`{argument}` must be one-sided, e.g. '~ x', got {shorten(text, 80)}")
    rhs = rhs.strip()
    if not rhs:
        raise ValueError(f"`{argument}` has no terms after '~' (write '~1' for an intercept, '~0' for none)")
    if "|" in rhs:
        inners, _ = _bar_groups(rhs) if rhs.count("(") == rhs.count(")") else ([rhs], "")
        shown = f"({inners[0].strip()})" if inners else rhs
        what = _ONE_SIDED_MODELS.get(argument, f"`{argument}`")
        raise ValueError(f"`{argument}`: random effects {shorten(shown, 80)} are not supported in {what} "
                         "(fixed effects only)")
    if re.fullmatch(r"0|-\s*1|0\s*-\s*1|-1\s*\+\s*0|0\s*\+\s*-\s*1", rhs):
        return None
    return rhs


def _factor_call(x, levels=None):
    # R's factor(x): formulae's C() is the same thing (a categorical, levels in the given order)
    from formulae.transforms import C

    return C(x, levels=levels)


def formula_environment():
    """The only namespace formulae evaluates in: the vetted functions, ``np`` limited to them, and ``factor``.

    formulae looks names up in the data first, then in its own transforms, then here; it never sees the caller's
    frame (``design_matrices(env=...)`` is given this environment, not a frame depth)."""
    from formulae.environment import Environment

    space = safe_namespace()
    space["factor"] = _factor_call
    return Environment([space])


def _name_of(variable):
    return variable.name.lexeme


def _contains_power(node, expr):
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, expr.Binary) and current.operator.lexeme == "**":
            return True
        stack.extend(_children(current, expr))
    return False


def _children(node, expr):
    if isinstance(node, expr.Binary):
        return [node.left, node.right]
    if isinstance(node, expr.Unary):
        return [node.right]
    if isinstance(node, expr.Grouping):
        return [node.expression]
    if isinstance(node, expr.Call):
        return list(node.args)
    if isinstance(node, expr.Assign):
        return [node.value]
    return []


def check_terms(text, columns, *, argument="formula"):
    """Accept one part of a formula (formulae's syntax) only if it uses columns, numbers, formula operators and
    the vetted calls; ValueError naming `argument` and the offending piece otherwise.

    Examples
    --------
    >>> check_terms("period + log(size) + I(x**2)", ["period", "size", "x"])
    >>> check_terms("np.testing._private.utils.os.system('echo X')", ["x"])
    Traceback (most recent call last):
    ...
    ValueError: `formula`: the call np.testing._private.utils.os.system(...) is not allowed ...
    """
    from formulae import expr
    from formulae.parser import Parser
    from formulae.scanner import Scanner

    check_length(text, argument)
    columns = set(map(str, columns))
    try:
        tokens = Scanner(text).scan()
    except Exception as error:  # formulae's ScanError and friends
        raise ValueError(f"`{argument}`: cannot read {shorten(text)}: {str(error).strip()}") from None
    for token in tokens:
        kind = str(token.kind)
        if kind == "NUMBER":
            check_number_literal(token.lexeme, argument)
        elif kind == "STRING" and len(token.lexeme) > _MAX_STRING:
            raise ValueError(f"`{argument}`: a string of {len(token.lexeme)} characters; at most {_MAX_STRING} "
                             "are allowed")
    try:
        tree = Parser(tokens).parse()
    except (RecursionError, MemoryError):
        raise ValueError(f"`{argument}` is nested too deeply") from None
    except Exception as error:
        raise ValueError(f"`{argument}`: cannot parse {shorten(text)}: {str(error).strip()}") from None

    stack = [(tree, 1, False)]  # node, depth, inside a call's arguments
    while stack:
        node, depth, in_call = stack.pop()
        if depth > MAX_NESTING:
            raise ValueError(f"`{argument}` is nested more than {MAX_NESTING} levels deep")
        if isinstance(node, expr.Call):
            name = _name_of(node.callee) if isinstance(node.callee, expr.Variable) else str(node.callee)
            module, _, function = name.rpartition(".")
            allowed = (not module and name in FORMULA_CALLS) or (module in MODULE_NAMES and function in FUNCTIONS)
            if not allowed or "__" in name:
                raise ValueError(f"`{argument}`: the call {shorten(name, 60)[1:-1]}(...) is not allowed in a "
                                 f"formula; allowed calls: {', '.join(FORMULA_CALLS)} (also as np.<function>)")
            stack.extend((child, depth + 1, True) for child in node.args)
            continue
        if isinstance(node, expr.Variable):
            name = _name_of(node)
            if in_call and name in ("Treatment", "Sum"):  # C(x, Sum): a contrast named as an argument
                continue
            if name not in columns:
                raise ValueError(f"`{argument}`: {shorten(name, 60)} is not a column of `data`"
                                 + (" (names with '__' are never looked up)" if "__" in name else ""))
            continue
        if isinstance(node, expr.QuotedName):
            name = node.expression.lexeme[1:-1]
            if name not in columns:
                raise ValueError(f"`{argument}`: `{shorten(name, 60)[1:-1]}` is not a column of `data`")
            continue
        if isinstance(node, expr.Literal):
            continue
        if isinstance(node, expr.Binary) and node.operator.lexeme == "**":
            if in_call:
                exponent = node.right.expression if isinstance(node.right, expr.Grouping) else node.right
                numeric = isinstance(exponent, expr.Literal) and isinstance(exponent.value, (int, float)) \
                    and not isinstance(exponent.value, bool) and abs(exponent.value) <= _MAX_POWER
                column = isinstance(exponent, expr.Variable)
                if not (numeric or column) or _contains_power(node.left, expr):
                    raise ValueError(f"`{argument}`: powers in a formula take a number of at most {_MAX_POWER} "
                                     "in absolute value (or a column) as the exponent, and do not nest")
            else:
                exponent = node.right
                if not (isinstance(exponent, expr.Literal) and isinstance(exponent.value, int)
                        and 1 <= exponent.value <= _MAX_INTERACTION_POWER):
                    raise ValueError(f"`{argument}`: an interaction power (a + b)**k takes a whole number k from 1 "
                                     f"to {_MAX_INTERACTION_POWER}")
        if isinstance(node, (expr.Binary, expr.Unary, expr.Grouping, expr.Assign)):
            stack.extend((child, depth + 1, in_call) for child in _children(node, expr))
            continue
        raise ValueError(f"`{argument}`: {type(node).__name__} is not allowed in a formula")
