"""Parsing lme4 formulas: the response, the fixed part and the random terms.

``formulae`` evaluates the fixed part and each random term's expression; what it does not know is lme4's
bar notation, so that is split off here:

* ``(expr | g)``  one term, unstructured covariance of expr's columns within levels of g;
* ``(expr || g)`` uncorrelated: a diagonal covariance (lme4 splits it into one term per column);
* ``(expr | a/b)`` nested: ``(expr | a) + (expr | a:b)``;
* ``(expr | a:b)`` the interaction of two factors as the grouping factor;
* ``cbind(successes, failures) ~ ...`` a binomial response.
"""
from dataclasses import dataclass
import re

__all__ = ["ParsedFormula", "RandomTermSpec", "parse_formula"]

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


def _split_top_level(text, separator):
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
        args = _split_top_level(match.group(1), ",")
        if len(args) != 2 or not all(a.strip() for a in args):
            raise ValueError(f"`formula`: cbind() takes two arguments (successes, failures), got {lhs!r}")
        cbind = (args[0].strip(), args[1].strip())
    inners, fixed = _bar_groups(rhs)
    random = tuple(term for inner in inners for term in _random_terms(inner))
    # remove the '+' left behind by the random terms
    pieces = [p.strip() for p in _split_top_level(fixed, "+")]
    fixed = " + ".join(p for p in pieces if p) or "1"
    return ParsedFormula("" if cbind else lhs, cbind, fixed, random, formula)
