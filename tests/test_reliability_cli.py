"""The command line never shows a traceback: random argument lists end in status 0, 1 (an integral that did
not converge, said on stderr) or 2 with a single ``error:`` line (ours, or argparse's after its usage).

``main`` runs in-process (no subprocesses) on argument lists drawn from each subcommand's options with
good, bad, huge, negative, NaN and junk values. Nothing here runs a long job: ``fit`` always gets a small
CSV (or a broken path), so the cbpp default job never starts, and ``accuracy`` always gets an unknown
method, which is refused before the battery runs.
"""
import contextlib
import io
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from quadlib._cli import main

NUMBERS = ["0", "1", "2", "3", "5", "-1", "-7", "25", "200", "201", "500", "501", "1001", "100001", "1e3", "2.5",
           "nan", "inf", "-inf", "1e400", "-1e-300", "1e-300", str(10 ** 30), str(-10 ** 30), "9" * 5000, "",
           " ", "abc", "0x10", "1_000", "1e308", "-1e308", "pi/2", "٣"]
JUNK = st.text(max_size=12)
TOKEN = st.one_of(st.sampled_from(NUMBERS), JUNK, st.integers(-10 ** 40, 10 ** 40).map(str),
                  st.floats().map(repr))
SMALL_INT = st.one_of(st.integers(-5, 40).map(str), st.integers(-5, 40).map(str), st.sampled_from(NUMBERS))
REAL = st.one_of(st.floats(-5, 5).map(repr), st.floats(-5, 5).map(repr),
                 st.sampled_from(["-1", "-0.5", "0", "0.5", "1", "2", "nan", "inf", "-inf", "1e308", "1e400"]),
                 st.floats().map(repr), st.sampled_from(NUMBERS))

FAMILIES = ["legendre", "chebyshev", "gegenbauer", "jacobi", "laguerre", "hermite", "radau", "lobatto", "kronrod",
            "clenshaw_curtis", "fejer", "patterson", "genz_keister", "newton_cotes"]


def _option(name, values):
    return st.tuples(st.just(name), values).map(list)


def _options(*pairs, max_size=4):
    return st.lists(st.one_of(*[_option(name, values) for name, values in pairs]), max_size=max_size).map(
        lambda groups: [token for group in groups for token in group])


RULE = st.tuples(
    st.one_of(st.sampled_from(FAMILIES), st.sampled_from(FAMILIES), st.sampled_from(FAMILIES), JUNK),
    st.one_of(SMALL_INT, SMALL_INT, TOKEN),
    _options(("--alpha", REAL), ("--beta", REAL), ("--lam", REAL),
             ("--kind", st.sampled_from(["1", "2", "3", "physicists", "normal", "probabilists", "x", "-1"])),
             ("--endpoint", st.sampled_from(["-1", "1", "-1", "1", "0", "x"])),
             # valid digits with few nodes only: 200 nodes at 1000 digits take a minute
             ("--dps", st.sampled_from(["-1", "0", "14", "15", "30", "1001", "100000", "x"]))),
    st.lists(st.sampled_from(["--open", "--open", "--open", "--help", "--bogus"]), max_size=1),
).map(lambda t: ["rule", t[0], t[1], *t[2], *t[3]])

EXPRESSIONS = ["x", "exp(-x**2)", "1/x", "sin(1/x)", "x**x**x", "log(x)", "sqrt(x)", "cos(3*x)", "-x**2",
               "__import__('os')", "x.__class__", "(", "", "lambda: 1", "1e400 * x", "x[0]", "'a'", "10**10**10"]
LIMITS = ["0", "1", "-1", "inf", "-inf", "pi/2", "-pi", "nan", "1e400", "-1e308", "e", "x", "1/0", "abc", ""]
INTEGRATE = st.tuples(
    st.one_of(st.sampled_from(EXPRESSIONS), st.sampled_from(EXPRESSIONS), JUNK),
    st.one_of(st.sampled_from(LIMITS), st.sampled_from(LIMITS), TOKEN),
    st.one_of(st.sampled_from(LIMITS), st.sampled_from(LIMITS), TOKEN),
    _options(("--rtol", REAL), ("--atol", REAL), ("--method", st.sampled_from(["quad", "tanh-sinh", "x"]))),
).map(lambda t: ["integrate", t[0], t[1], t[2], *t[3]])

FORMULAS = ["y ~ x + (1 | g)", "y ~ id + (1 | g)", "y ~ x", "y ~ x + (x | g)", "cbind(y, 5 - y) ~ x + (1 | g)",
            "~ x", "y ~", "", "y ~ nope + (1 | g)", "y ~ x + (1 | g) + (1 | h)", "y ~ x + (1 | g/h)", "y ~ x*g",
            "y ~ log(x) + (1 | g)", "y ~ I(x**2) + (1 | g)", "x ~ y + (1 | g)"]


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    """--data values: a small CSV (a fit takes well under a second), a missing file, a folder, garbage."""
    folder = tmp_path_factory.mktemp("cli")
    small = folder / "small.csv"
    # y in {0, 1}: a response every family but Gamma takes
    rows = [f"{int((i * 7) % 5 > 2)},{(i % 6) / 5 - 0.5},g{i % 4},h{i % 2},r{i}" for i in range(24)]
    small.write_text("y,x,g,h,id\n" + "\n".join(rows) + "\n")
    garbage = folder / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 8)
    empty = folder / "empty.csv"
    empty.write_text("")
    return [str(small), str(small), str(small), str(folder / "missing.csv"), str(folder), str(garbage), str(empty)]


def _fit_strategy(paths):
    return st.tuples(
        st.one_of(st.sampled_from(FORMULAS[:5]).map(lambda f: [f]),
                  st.lists(st.one_of(st.sampled_from(FORMULAS), JUNK), max_size=1)),
        st.sampled_from(paths),
        _options(("--family", st.sampled_from(["binomial", "bernoulli", "poisson", "gaussian", "Gamma",
                                               "negative_binomial", "cauchy"])),
                 ("--link", st.sampled_from(["log", "logit", "probit", "identity", "inverse", "cloglog", "foo"])),
                 ("--method", st.sampled_from(["laplace", "agq", "qmc", "pql", "mcmc"])),
                 ("--nagq", st.sampled_from(["1", "3", "25", "200", "201", "0", "-1", str(10 ** 12), "x"]))),
        st.lists(st.sampled_from(["--verbose", "--verbose", "--verbose", "--help"]), max_size=1),
    ).map(lambda t: ["fit", *t[0], "--data", t[1], *t[2], *t[3], "--quiet"])


ACCURACY = st.tuples(
    _options(("--problems", TOKEN), ("--rtol", TOKEN), ("--csv", JUNK), ("--quiet", st.just("--quiet"))),
).map(lambda t: ["accuracy", *t[0], "--methods", "no_such_method"])

SUBCOMMANDS = {"rule", "integrate", "fit", "accuracy"}
RANDOM = st.lists(st.one_of(TOKEN, st.sampled_from(["--help", "--version", "-h", "--", "-", "--rtol"])),
                  max_size=5).filter(lambda argv: not argv or argv[0].strip() not in SUBCOMMANDS)

_ERROR = re.compile(r"^quadlib( [a-z]+)?: error: ")


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status, parsed = main(argv), True
        except SystemExit as exit_:  # argparse: --help, --version, or a usage error
            status, parsed = exit_.code, False
    return status, parsed, err.getvalue()


def _check(argv, status, parsed, err):
    assert status in (0, 1, 2), (argv, status, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    lines = err.splitlines()
    errors = [line for line in lines if _ERROR.match(line)]
    if status == 0:
        assert not errors, (argv, err)
    elif status == 1:
        assert parsed and argv[0] == "integrate" and "quadlib: warning: not converged" in err, (argv, err)
    elif parsed:  # ours: warnings, then one error line
        assert len(errors) == 1 and all(line.startswith("quadlib: warning:") or line == errors[0] for line in lines), \
            (argv, err)
    else:  # argparse: its usage, then one error line
        assert len(errors) == 1 and lines[-1] == errors[0] and lines[0].startswith("usage: quadlib"), (argv, err)


@pytest.mark.filterwarnings("ignore")
@settings(derandomize=True, deadline=None, max_examples=200, database=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(data=st.data())
def test_any_arguments_end_in_a_status_and_at_most_one_error_line(paths, data):
    strategy = st.one_of(RULE, RULE, RULE, INTEGRATE, INTEGRATE, INTEGRATE, _fit_strategy(paths),
                         _fit_strategy(paths), ACCURACY, RANDOM)
    argv = data.draw(strategy, label="argv")
    _check(argv, *_run(argv))


@pytest.mark.parametrize("argv", [
    ["rule", "legendre", "9" * 5000],                  # more digits than int() takes
    ["rule", "legendre", str(10 ** 40)],               # was numpy's "Maximum allowed dimension exceeded"
    ["rule", "hermite", "1000000000"],                 # was a MemoryError
    ["rule", "kronrod", "100000"],                     # was minutes of O(N^3) work
    ["rule", "legendre", "200", "--dps", "1001"],
    ["rule", "legendre", "-3"],
    ["integrate", "x", "0", "1", "--rtol", "1e400"],
    ["integrate", "x", "-inf", "-1e400"],
    ["integrate", "-x**2", "-pi", "-1"],
    ["fit", "--nagq", "x"],
    ["--version", "--help"],
    ["rule", "--help"],
    ["rule", "jacobi", "3", "--alpha", "1e308", "--beta", "1e308"],  # was an internal OverflowError
])
def test_examples(argv):
    _check(argv, *_run(argv))
