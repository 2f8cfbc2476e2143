"""The ``quadlib`` command line: ``quadlib rule FAMILY N`` prints a rule's nodes and weights.

Later subcommands (integrate, fit, accuracy) join here; each is a small function taking parsed args.
"""
import argparse
import sys

import numpy as np

import mpmath

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


def _cmd_rule(args):
    import quadlib

    constructor, twin, _ = _FAMILIES[args.family]
    options = _rule_options(args)
    if args.dps is None:
        rule = getattr(quadlib, constructor)(args.n, **options)
        print(f"# {rule!r}")
        print(f"# {'node':>24}  {'weight':>24}")
        for x, w in zip(rule.nodes, rule.weights):
            print(f"{float(x)!r:>26}  {float(w)!r:>24}")
        return 0
    if twin is None:
        raise ValueError(f"`--dps` is available for the Gauss families only, not {args.family}")
    getattr(quadlib, constructor)(args.n, **options)  # same argument checks as the double rule
    nodes, weights = getattr(quadlib.reference, twin)(args.n, **options, dps=args.dps)
    print(f"# {constructor}({args.n}) at {args.dps} digits (mpmath)")
    for x, w in zip(nodes, weights):
        print(mpmath.nstr(x, args.dps, min_fixed=-5, max_fixed=10), mpmath.nstr(w, args.dps))
    return 0


def _cmd_integrate(args):
    import warnings

    import quadlib
    from ._expression import compile_expression, evaluate_constant

    f = compile_expression(args.expression)
    a = evaluate_constant(args.a, "A")
    b = evaluate_constant(args.b, "B")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", quadlib.IntegrationWarning)
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


def _cmd_fit(args):
    import time

    from .glmm import datasets, fit

    if args.formula is None and args.data is None:  # the default job: the cbpp model, Laplace and AGQ(25)
        data = datasets.load("cbpp")
        formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
        runs = [("laplace", None), ("agq", 25)]
        family, link = "binomial", None
    else:
        if args.formula is None or args.data is None:
            raise ValueError("give both --data FILE.csv and a FORMULA, or neither (the cbpp example)")
        import pandas as pd

        data = pd.read_csv(args.data)
        formula, family = args.formula, args.family
        link = args.link
        runs = [(args.method, args.nagq)]
    for method, nagq in runs:
        if not args.quiet:
            print(f"fitting {formula} ({method}{'' if nagq is None else f', nAGQ = {nagq}'}) ...", flush=True)
        start = time.perf_counter()
        res = fit(formula, data, family=family, link=link, method=method, nagq=nagq, verbose=args.verbose,
                  progress=not args.quiet)
        elapsed = time.perf_counter() - start
        print(res.summary())
        if not args.quiet:
            print(f"({elapsed:.2f} s)")
        print()
    return 0


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


def _parser():
    parser = argparse.ArgumentParser(prog="quadlib", description="Numerical integration with a compiled core.")
    sub = parser.add_subparsers(dest="command", required=True)
    rule = sub.add_parser("rule", help="print the nodes and weights of a quadrature rule")
    rule.add_argument("family", choices=sorted(_FAMILIES))
    rule.add_argument("n", type=int, help="number of nodes (the level, for patterson and genz_keister)")
    rule.add_argument("--alpha", type=float)
    rule.add_argument("--beta", type=float)
    rule.add_argument("--lam", type=float, help="Gegenbauer parameter")
    rule.add_argument("--kind", help="chebyshev/fejer: 1 or 2; hermite: physicists, probabilists, normal")
    rule.add_argument("--endpoint", type=int, choices=(-1, 1), help="fixed node of a Radau rule")
    rule.add_argument("--open", action="store_true", help="open Newton–Cotes rule")
    rule.add_argument("--dps", type=int, help="compute in mpmath with this many digits")
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
    fit.add_argument("--data", help="a CSV file")
    fit.add_argument("--family", default="binomial",
                     choices=("binomial", "bernoulli", "poisson", "gaussian", "Gamma", "negative_binomial"))
    fit.add_argument("--link", help="the link function (default: the family's canonical/R default)")
    fit.add_argument("--method", default="laplace", choices=("laplace", "agq", "qmc"))
    fit.add_argument("--nagq", type=int)
    fit.add_argument("--verbose", action="store_true", help="print the log-likelihood at each iteration")
    fit.add_argument("--quiet", action="store_true", help="print only the summaries")
    fit.set_defaults(run=_cmd_fit)
    return parser


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    # a negative limit such as -inf or -pi must not be read as an option: hide its leading dash
    argv = [f" {a}" if a.startswith("-") and not a.startswith("--") and a != "-h" else a for a in argv]
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, ArithmeticError) as exc:
        print(f"quadlib: error: {exc}", file=sys.stderr)
        return 2
