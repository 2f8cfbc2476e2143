"""The core works without the optional extras (quadlib/_extras.py): pandas, formulae, threadpoolctl and tqdm
blocked in a fresh interpreter, the integrators, the rules and the command line's ``rule`` and ``integrate``
still run; ``quadlib.glmm``, ``quadlib fit`` and the benchmark's table name the ``pip install`` that brings
them."""
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

from quadlib._extras import EXTRAS, MissingExtraError, require_extra

# Installed first in the child: a finder that refuses the optional packages (and their submodules), as if
# they were not installed, and records every attempt.
BLOCK = textwrap.dedent("""
    import sys

    BLOCKED = {"pandas", "formulae", "threadpoolctl", "tqdm"}
    ATTEMPTS = []

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                ATTEMPTS.append(name)
                raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
""")

CORE = textwrap.dedent("""
    import io, math, contextlib
    import numpy as np
    import quadlib
    from quadlib._cli import main

    r = quadlib.quad(np.exp, 0.0, 1.0)
    assert r.success and abs(r.integral - (math.e - 1)) < 1e-14
    r = quadlib.tanh_sinh(lambda x: 1 / np.sqrt(x), 0.0, 1.0)
    assert abs(r.integral - 2.0) < 1e-10
    assert abs(quadlib.gauss_legendre(20).integrate(np.cos, 0.0, 1.0) - math.sin(1.0)) < 1e-15
    assert abs(quadlib.gauss_hermite(10, kind="normal").integrate(lambda x: x * x) - 1.0) < 1e-14
    assert abs(float(quadlib.reference.gauss_legendre(5, dps=30)[1][0]) - quadlib.gauss_legendre(5).weights[0]) < 1e-15
    r = quadlib.cubature(lambda x: np.cos(x.sum(axis=1)), [0, 0], [1, 2], rtol=1e-10)
    assert abs(r.integral - (math.cos(1) + math.cos(2) - math.cos(3) - 1)) < 1e-9
    r = quadlib.qmc_quad(lambda x: x.sum(axis=1), [0, 0], [1, 1], seed=0)
    assert abs(r.integral - 1.0) < 1e-2
    r = quadlib.laplace(lambda x: 10 * np.log(x) - x, 5.0, order=2)
    assert abs(r.log_integral - math.lgamma(11)) < 1e-3
    a = np.linspace(-2, 2, 50)
    res = quadlib.AdaptiveGaussHermite(10).log_integrals(lambda b: -np.logaddexp(0, -(a[:, None] + b[..., 0])), 50, 1)
    assert res.log_integral.shape == (50,) and np.all(np.isfinite(res.log_integral))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["rule", "legendre", "3"]) == 0
        assert main(["integrate", "exp(-x**2)", "-inf", "inf"]) == 0
    assert "1.7724538509055" in out.getvalue()
    # the benchmark's problems need no extra; its table does
    from quadlib import benchmark
    assert benchmark.get_problem("bjl01").exact == 0.25 and len(benchmark.problems()) == 75
    try:
        benchmark.run(problems=["bjl01"], methods=["quad"])
    except ImportError as error:
        assert "pip install 'quadlib[bench]'" in str(error), error
    else:
        raise AssertionError("benchmark.run ran without pandas")
""")


def _child(code):
    run = subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


def test_core_works_without_the_extras():
    out = _child(CORE + textwrap.dedent("""
        import sys
        print(sorted({m.partition(".")[0] for m in sys.modules} & BLOCKED), len(ATTEMPTS) > 0)
    """))
    # none of them loaded, and the blocker did see the benchmark ask for pandas (the block is real)
    assert out.strip().splitlines()[-1] == "[] True"


def test_glmm_and_fit_name_the_extra_without_it():
    out = _child(textwrap.dedent("""
        import contextlib, io
        try:
            import quadlib.glmm
        except ImportError as error:
            print(type(error).__name__, error)
        from quadlib._cli import main
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            status = main(["fit", "--quiet"])
        print(status, err.getvalue().strip())
    """))
    first, second = out.strip().splitlines()
    assert first == ("MissingExtraError quadlib.glmm needs pandas, formulae, threadpoolctl, which are not installed: "
                     "pip install 'quadlib[glmm]'")
    assert second.startswith("2 quadlib: error: quadlib.glmm needs pandas") and "pip install 'quadlib[glmm]'" in second


def test_require_extra(monkeypatch):
    require_extra("glmm", "here")   # the test environment has them all
    monkeypatch.setitem(sys.modules, "formulae", None)   # import formulae now fails
    with pytest.raises(MissingExtraError, match=r"^here needs formulae, which is not installed: "
                                                r"pip install 'quadlib\[glmm\]'$") as caught:
        require_extra("glmm", "here")
    assert isinstance(caught.value, ImportError) and caught.value.name == "formulae"
    assert set(EXTRAS) == {"glmm", "bench", "plot"}


def _packages(project, extra=None):
    """The distributions a requirement list brings, quadlib's own extras expanded (``quadlib[glmm]``)."""
    out = set()
    for requirement in project["dependencies"] if extra is None else project["optional-dependencies"][extra]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()
        if name == "quadlib":
            for own in re.search(r"\[(.*)\]", requirement).group(1).split(","):
                out |= _packages(project, own.strip())
        else:
            out.add(name)
    return out


def test_pyproject_extras():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((pathlib.Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    optional = {"pandas", "formulae", "threadpoolctl", "tqdm"}
    assert _packages(project).isdisjoint(optional), project["dependencies"]
    # every package that code checks for is in its extra
    for extra, modules in EXTRAS.items():
        assert set(modules) <= _packages(project, extra), extra
    assert "tqdm" in _packages(project, "bench")   # the progress bar of `quadlib accuracy`
    # the test extra brings everything the suite exercises, so CI tests it all
    assert optional | {"matplotlib", "sphinx", "pytest", "hypothesis"} <= _packages(project, "test")
