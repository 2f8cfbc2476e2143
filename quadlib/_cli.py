"""The ``quadlib`` command line: ``rule``, ``integrate``, ``fit`` and ``accuracy``.

Each subcommand is a small function taking the parsed arguments. It imports numpy, scipy, pandas and the
quadlib modules it needs itself, so ``quadlib --help`` and ``quadlib --version`` answer without loading
them.

Exit status: 0 done; 1 an integral did not converge (``integrate``; the result is still printed); 2 bad
arguments, as argparse: one line ``quadlib: error: ...`` on stderr, never a traceback; 70 (EX_SOFTWARE)
an internal error, which is a bug: one line naming the exception, its traceback with the environment
variable ``QUADLIB_TRACEBACK=1``; 130 interrupted. Warnings print as ``quadlib: warning: ...`` lines.

Limits (checked before anything is computed): ``rule`` prints at most 100000 nodes (kronrod: 500, its
construction costs O(N^3)); ``--dps`` is 15 to 1000 digits with at most 200 nodes; ``fit --data`` reads
a regular file of at most 1 GiB.
"""
import argparse
import os
import sys

from . import __version__
from ._extras import MissingExtraError

_MAX_NODES = 100_000
_MAX_NODES_FAMILY = {"kronrod": 500}   # Kronrod extension by eigenvalues: O(N^3), 1000 nodes take seconds
_MIN_DPS, _MAX_DPS = 15, 1000
_MAX_DPS_NODES = 200                   # mpmath at 1000 digits: 100 nodes take about 5 s
_MAX_CSV_BYTES = 2 ** 30
_MAX_MESSAGE = 1000                    # characters of an error message (they may quote user input)
_EX_SOFTWARE = 70

# family -> (constructor name, reference twin name or None, the options it takes)
_FAMILIES = {
    "legendre": ("gauss_legendre", "gauss_legendre", ()),
    "chebyshev": ("gauss_chebyshev", "gauss_chebyshev", ("kind",)),
    "gegenbauer": ("gauss_gegenbauer", "gauss_gegenbauer", ("lam",)),
    "jacobi": ("gauss_jacobi", "gauss_jacobi", ("alpha", "beta")),
    "laguerre": ("gauss_laguerre", "gauss_laguerre", ("alpha",)),
    "hermite": ("gauss_hermite", "gauss_hermite", ("kind",)),
    "radau": ("gauss_radau", "gauss_radau", ("alpha", "beta", "endpoint")),
    "lobatto": ("gauss_lobatto", "gauss_lobatto", ("alpha", "beta")),
    "kronrod": ("gauss_kronrod", "gauss_kronrod", ()),
    "clenshaw_curtis": ("clenshaw_curtis", None, ()),
    "fejer": ("fejer", None, ("kind",)),
    "patterson": ("gauss_patterson", None, ()),
    "genz_keister": ("genz_keister", None, ()),
    "newton_cotes": ("newton_cotes", None, ("open",)),
}
_DEFAULT_KIND = {"chebyshev": 1, "fejer": 1, "hermite": "physicists"}
_FIT_FAMILIES = ("binomial", "bernoulli", "poisson", "gaussian", "Gamma", "negative_binomial")
_FIT_METHODS = ("laplace", "agq", "qmc", "pql")
_CBPP_FORMULA = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


# ------------------------------------------------------------------------------------------------- rule
def _rule_options(args):
    options = {}
    for name in _FAMILIES[args.family][2]:
        value = getattr(args, name)
        if name == "kind":
            value = _DEFAULT_KIND[args.family] if value is None else value
            if args.family != "hermite":
                try:
                    value = int(value)
                except ValueError:
                    raise ValueError(f"`--kind` must be 1 or 2 for {args.family}, got {value!r}") from None
        if value is not None:
            options[name] = value
    for name in ("alpha", "beta", "lam", "endpoint", "kind", "open"):
        if getattr(args, name) not in (None, False) and name not in _FAMILIES[args.family][2]:
            raise ValueError(f"`--{name}` does not apply to the {args.family} family")
    if args.family == "gegenbauer" and "lam" not in options:
        raise ValueError("`--lam` is required for the gegenbauer family")
    if args.family == "jacobi" and not {"alpha", "beta"} <= set(options):
        raise ValueError("`--alpha` and `--beta` are required for the jacobi family")
    return options


def _rule_iv(args):
    """The rule's options; the node and digit bounds of the command line (the constructors check the rest)."""
    options = _rule_options(args)
    limit = _MAX_NODES_FAMILY.get(args.family, _MAX_NODES)
    if args.dps is not None:
        if _FAMILIES[args.family][1] is None:
            raise ValueError(f"`--dps` is available for the Gauss families only, not {args.family}")
        if not _MIN_DPS <= args.dps <= _MAX_DPS:
            raise ValueError(f"`--dps` must be an integer from {_MIN_DPS} to {_MAX_DPS}, got {args.dps}")
        limit = min(limit, _MAX_DPS_NODES)
    if args.n > limit:
        where = " with --dps" if args.dps is not None else f" for the {args.family} family"
        raise ValueError(f"`n` must be at most {limit}{where} on the command line, got {args.n}")
    return options


def _cmd_rule(args):
    import quadlib

    constructor, twin, _ = _FAMILIES[args.family]
    options = _rule_iv(args)
    rule = getattr(quadlib, constructor)(args.n, **options)  # also checks the arguments of a --dps run
    if args.dps is None:
        lines = [f"# {rule!r}", f"# {'node':>24}  {'weight':>24}"]
        lines += [f"{float(x)!r:>26}  {float(w)!r:>24}" for x, w in zip(rule.nodes, rule.weights)]
    else:
        import mpmath

        nodes, weights = getattr(quadlib.reference, twin)(args.n, **options, dps=args.dps)
        lines = [f"# {constructor}({args.n}) at {args.dps} digits (mpmath)"]
        lines += [f"{mpmath.nstr(x, args.dps, min_fixed=-5, max_fixed=10)} {mpmath.nstr(w, args.dps)}"
                  for x, w in zip(nodes, weights)]
    print("\n".join(lines))
    return 0


# -------------------------------------------------------------------------------------------- integrate
def _cmd_integrate(args):
    import warnings

    import numpy as np

    import quadlib
    from ._expression import compile_expression, evaluate_constant

    f = compile_expression(args.expression)
    a = evaluate_constant(args.a, "A")
    b = evaluate_constant(args.b, "B")
    with warnings.catch_warnings():
        # the status and message below say what went wrong; numpy's overflow and invalid-value warnings
        # from the user's expression add only noise
        warnings.simplefilter("ignore", quadlib.IntegrationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        if args.method == "quad":
            res = quadlib.quad(f, a, b, rtol=args.rtol, atol=args.atol, vectorized=True)
        else:
            res = quadlib.tanh_sinh(f, a, b, rtol=args.rtol, atol=args.atol, vectorized=True)
    print(f"integral  {np.asarray(res.integral).item()!r}")
    print(f"error     {res.error:.3e}")
    print(f"nfev      {res.nfev}")
    if not res.success:
        print(f"quadlib: warning: not converged (status {res.status}): {res.message}", file=sys.stderr)
        return 1
    return 0


# -------------------------------------------------------------------------------------------------- fit
def _read_csv(path):
    """The CSV file `path` as a DataFrame; ValueError naming ``--data`` for anything that is not one."""
    from pathlib import Path

    import pandas as pd

    file = Path(path)
    if not file.exists():
        raise ValueError(f"`--data`: no such file: {path!r}")
    if file.is_dir():
        raise ValueError(f"`--data`: {path!r} is a folder, not a CSV file")
    if not file.is_file():  # a device or a pipe may never end
        raise ValueError(f"`--data`: {path!r} is not a regular file")
    size = file.stat().st_size
    if size > _MAX_CSV_BYTES:
        raise ValueError(f"`--data`: {path!r} has {size} bytes, more than the limit of {_MAX_CSV_BYTES}")
    try:
        frame = pd.read_csv(file)
    except (OSError, ValueError) as error:  # pandas' ParserError, EmptyDataError, UnicodeDecodeError are ValueErrors
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"`--data`: cannot read {path!r} as a CSV file: {reason}") from None
    if frame.shape[1] == 0 or len(frame) == 0:
        raise ValueError(f"`--data`: {path!r} holds no data rows")
    return frame


def _fit_method(args):
    """``--method``; by default laplace, or agq when ``--nagq`` asks for more than one node (lme4's nAGQ)."""
    if args.method is not None:
        return args.method
    return "agq" if args.nagq is not None and args.nagq > 1 else "laplace"


def _cmd_fit(args):
    import time

    from .glmm import datasets, fit

    if args.formula is None and args.data is None:  # the default job: the cbpp model
        for name in ("family", "link"):
            if getattr(args, name) is not None:
                raise ValueError(f"`--{name}` applies to a model given as FORMULA with --data; without them "
                                 "the command fits the cbpp example (binomial)")
        data, formula, family, link = datasets.load("cbpp"), _CBPP_FORMULA, "binomial", None
        if args.method is None and args.nagq is None:
            runs = [("laplace", None), ("agq", 25)]   # lme4's two classic fits
        else:
            runs = [(_fit_method(args), args.nagq)]
    else:
        if args.formula is None or args.data is None:
            raise ValueError("give both --data FILE.csv and a FORMULA, or neither (the cbpp example)")
        data = _read_csv(args.data)
        formula, family, link = args.formula, args.family or "binomial", args.link
        runs = [(_fit_method(args), args.nagq)]
    for method, nagq in runs:
        if not args.quiet:
            print(f"fitting {formula} ({method}{'' if nagq is None else f', nAGQ = {nagq}'}) ...", flush=True)
        start = time.perf_counter()
        # PQL has no progress line (its verbose mode prints each working LMM)
        progress = {} if method == "pql" else {"progress": not args.quiet}
        res = fit(formula, data, family=family, link=link, method=method, nagq=nagq, verbose=args.verbose,
                  **progress)
        elapsed = time.perf_counter() - start
        print(res.summary())
        if not args.quiet:
            print(f"({elapsed:.2f} s)")
        print()
    return 0


# --------------------------------------------------------------------------------------------- accuracy
def _cmd_accuracy(args):
    from pathlib import Path

    from . import benchmark

    if args.csv is not None and not Path(args.csv).resolve().parent.is_dir():
        raise ValueError(f"`--csv`: cannot write {args.csv!r} (no such folder)")
    if args.plot is not None:
        if not Path(args.plot).resolve().parent.is_dir():
            raise ValueError(f"`--plot`: cannot write {args.plot!r} (no such folder)")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ValueError("`--plot` needs matplotlib, which is not installed: pip install 'quadlib[plot]'") from None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = benchmark.run(problems=args.problems, methods=args.methods, rtols=args.rtol,
                              progress=not args.quiet)
    summary = benchmark.summarize(table)
    print(summary.to_string())
    skipped = table.attrs.get("skipped", {})
    if skipped:
        print("\nnot applicable (skipped, not failed): "
              + ", ".join(f"{method} {len(names)}" for method, names in skipped.items()))
    dishonest = table[~table["honest"]]
    if len(dishonest):
        print("\nsilent failures (claimed success, error above estimate and tolerance; "
              "an estimate of NaN: none given, judged against the tolerance):")
        print(dishonest[["method", "problem", "rtol", "error", "estimate", "nfev"]].to_string(index=False))
    try:
        if args.csv is not None:
            table.to_csv(args.csv, index=False)
        if args.plot is not None:
            benchmark.plot(table, args.plot)
    except OSError as error:
        raise ValueError(f"cannot write the output: {error}") from None
    return 0


# ----------------------------------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """argparse, quoting a value as the user typed it (main() hides a leading '-' behind a space)."""

    def error(self, message):
        super().error(message.replace("' -", "'-"))


def _parser():
    parser = _Parser(
        prog="quadlib", description="Numerical integration with a compiled core.",
        epilog="Exit status: 0 done, 1 an integral did not converge, 2 bad arguments, 70 internal error.")
    parser.add_argument("--version", action="version", version=f"quadlib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    rule = sub.add_parser("rule", help="print the nodes and weights of a quadrature rule")
    rule.add_argument("family", choices=sorted(_FAMILIES))
    rule.add_argument("n", type=int, help=f"number of nodes (the level, for patterson and genz_keister); at most "
                                          f"{_MAX_NODES} (kronrod: {_MAX_NODES_FAMILY['kronrod']}; "
                                          f"with --dps: {_MAX_DPS_NODES})")
    rule.add_argument("--alpha", type=float)
    rule.add_argument("--beta", type=float)
    rule.add_argument("--lam", type=float, help="Gegenbauer parameter")
    rule.add_argument("--kind", help="chebyshev/fejer: 1 or 2; hermite: physicists, probabilists, normal")
    rule.add_argument("--endpoint", type=int, choices=(-1, 1), help="fixed node of a Radau rule")
    rule.add_argument("--open", action="store_true", help="open Newton–Cotes rule")
    rule.add_argument("--dps", type=int,
                      help=f"compute in mpmath with this many digits ({_MIN_DPS} to {_MAX_DPS}; Gauss families)")
    rule.set_defaults(run=_cmd_rule)
    integrate = sub.add_parser("integrate", help="integrate a numpy expression in x from A to B")
    integrate.add_argument("expression", help='e.g. "exp(-x**2) * cos(3*x)"')
    integrate.add_argument("a", metavar="A", help="lower limit (number, pi/2, -inf, ...)")
    integrate.add_argument("b", metavar="B", help="upper limit")
    integrate.add_argument("--rtol", type=float, default=1e-10)
    integrate.add_argument("--atol", type=float, default=0.0)
    integrate.add_argument("--method", choices=("quad", "tanh-sinh"), default="quad")
    integrate.set_defaults(run=_cmd_integrate)
    accuracy = sub.add_parser("accuracy", help="run the accuracy benchmark (problems with known values x methods)")
    accuracy.add_argument("--methods", nargs="+", help="default: all installed")
    accuracy.add_argument("--problems", nargs="+", help="default: all")
    accuracy.add_argument("--rtol", nargs="+", type=float, default=[1e-6, 1e-10])
    accuracy.add_argument("--csv", help="write every run to this CSV file")
    accuracy.add_argument("--plot", help="write error-vs-nfev curves to this PNG (needs matplotlib)")
    accuracy.add_argument("--quiet", action="store_true", help="no progress bar")
    accuracy.set_defaults(run=_cmd_accuracy)
    fit = sub.add_parser("fit", help="fit a GLMM (no arguments: the cbpp model by Laplace and by AGQ with 25 nodes)")
    fit.add_argument("formula", nargs="?", help='lme4 formula, e.g. "cbind(s, f) ~ x + (1 | g)"')
    fit.add_argument("--data", help=f"a CSV file (at most {_MAX_CSV_BYTES // 2 ** 20} MiB)")
    fit.add_argument("--family", choices=_FIT_FAMILIES, help="default: binomial")
    fit.add_argument("--link", help="the link function (default: the family's canonical/R default)")
    fit.add_argument("--method", choices=_FIT_METHODS,
                     help="default: laplace, or agq with --nagq above 1 (pql: penalized quasi-likelihood, as "
                          "MASS::glmmPQL)")
    fit.add_argument("--nagq", type=int, help="agq: nodes per dimension (at most 200); qmc: points")
    fit.add_argument("--verbose", action="store_true", help="print the log-likelihood at each iteration")
    fit.add_argument("--quiet", action="store_true", help="print only the summaries")
    fit.set_defaults(run=_cmd_fit)
    return parser


def _unhide(text):
    return text[1:] if text.startswith(" -") else text


def _one_line(error):
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + " ..."


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"quadlib: warning: {_one_line(message)}", file=sys.stderr)


def _where(error):
    """``file:line`` of the innermost frame of `error`'s traceback (for a bug report)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return "?" if tb is None else f"{os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"


def main(argv=None):
    """Run the command line on `argv` (default: ``sys.argv[1:]``) and return the exit status.

    argparse's own errors (an unknown option or choice, a value of the wrong type) and ``--help``/``--version``
    end in ``SystemExit`` (status 2 and 0); errors found by the subcommands are ``quadlib: error:`` lines with
    status 2 (ValueError, TypeError and OSError: the checks of the arguments and of the files; and a missing
    optional package, the message naming ``pip install 'quadlib[...]'``); any other
    exception is a bug: status 70 and one line naming it (``QUADLIB_TRACEBACK=1`` re-raises it).
    """
    import warnings

    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    # a negative limit such as -inf or -pi must not be read as an option: hide its leading dash
    argv = [f" {a}" if a.startswith("-") and not a.startswith("--") and a != "-h" else a for a in argv]
    args = _parser().parse_args(argv)
    for name, value in vars(args).items():  # and give it back
        if isinstance(value, str):
            setattr(args, name, _unhide(value))
        elif isinstance(value, list):
            setattr(args, name, [_unhide(v) if isinstance(v, str) else v for v in value])
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.run(args)
    except BrokenPipeError:  # `quadlib rule legendre 100000 | head`: the reader left, nothing to report
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # a captured stdout without a file descriptor
            pass
        return 1
    except (ValueError, TypeError, OSError, MissingExtraError) as error:
        print(f"quadlib: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("quadlib: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug: one line for the user, the traceback on request
        if os.environ.get("QUADLIB_TRACEBACK"):
            raise
        print(f"quadlib: internal error (a bug, please report it; QUADLIB_TRACEBACK=1 shows the traceback): "
              f"{type(error).__name__} at {_where(error)}: {_one_line(error)}", file=sys.stderr)
        return _EX_SOFTWARE
