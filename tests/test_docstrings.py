"""The Examples sections of the public docstrings run as doctests."""
import doctest
import importlib
import pathlib

import pytest

MODULES = ["quadlib._gauss", "quadlib._nested", "quadlib._newton_cotes", "quadlib._sampled", "quadlib._rule",
           "quadlib.reference", "quadlib.benchmark._problems", "quadlib._adaptive", "quadlib._tanh_sinh",
           "quadlib._sparse", "quadlib._montecarlo", "quadlib.benchmark._genz", "quadlib._nquad", "quadlib._cubature",
           "quadlib._integrators", "quadlib._laplace", "quadlib._nested_laplace", "quadlib.glmm._fit",
           "quadlib.glmm.datasets", "quadlib.glmm._lmm", "quadlib.glmm._formula", "quadlib.glmm._design",
           "quadlib._sparse_laplace", "quadlib.glmm._families", "quadlib.glmm._pql",
           "quadlib.glmm._conditional", "quadlib._gauss_hl", "quadlib._gauss_lj", "quadlib.benchmark",
           "quadlib.benchmark._problem", "quadlib.benchmark._run", "quadlib.glmm._nlmm",
           "quadlib.glmm._inference", "quadlib._expression", "quadlib.glmm._linalg",
           "quadlib.glmm._covariance", "quadlib.glmm._newton",
           "quadlib.glmm._objective", "quadlib.glmm._nlmm_model", "quadlib.glmm._summary", "quadlib.glmm._result",
           "quadlib.glmm._optimize", "quadlib.glmm._blocked", "quadlib.glmm._blocked_laplace",
           "quadlib.glmm._partition", "quadlib.glmm._reml", "quadlib.glmm._response", "quadlib.glmm._ordinal",
           "quadlib.glmm._densities", "quadlib.glmm._anova", "quadlib.glmm._bootstrap", "quadlib.glmm._hypothesis",
           "quadlib.glmm._lmm_result", "quadlib.glmm._sandwich", "quadlib.glmm._smallsample", "quadlib.glmm._varcomp",
           "quadlib._series", "quadlib._sphere"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0


def test_every_module_with_examples_is_listed():
    # A new module's examples would otherwise never run.
    package = pathlib.Path(importlib.import_module("quadlib").__file__).parent
    found = set()
    for path in package.rglob("*.py"):
        if ">>> " in path.read_text(encoding="utf-8"):
            parts = path.relative_to(package.parent).with_suffix("").parts
            found.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    assert found - set(MODULES) == set()
