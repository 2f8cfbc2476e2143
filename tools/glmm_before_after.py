"""Fit the glmm reference models with two checkouts of quadlib and print their numbers and times side by side.

    python tools/glmm_before_after.py BEFORE_TREE AFTER_TREE [--rounds 3] [--repeat 3]

Each tree is a built checkout (``python setup.py build_ext --inplace``); every fit runs in a child process whose
``sys.path`` starts with that tree, so the two versions never share a module. The rounds alternate
before/after/before/... so machine load falls on both alike; each child fits once untimed (imports), then times
``--repeat`` fits (CPU seconds); a time is the best of all. The table shows, per model, the largest absolute
difference over the fixed effects, the largest over the random-effect standard deviations (and sigma), the difference in log-likelihood, and the two best times with their ratio (after/before).
Used for issue 16's contract (one glmm core: "fits agree to the same digits, speed within 10%").
"""
import argparse
import json
import subprocess
import sys
import time

CHILD = r'''
import json, sys, time, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
import numpy as np
import quadlib
assert quadlib.__file__.startswith(sys.argv[1]), quadlib.__file__
from quadlib.glmm import datasets, fit, lmm, pql, nlmm, conditional_fit

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
EPIL = "y ~ lbase*trt + lage + V4 + (1 | subject)"
LOGISTIC = "circumference ~ Asym / (1 + exp((xmid - age) / scal))"
FOL = ("conc ~ Dose * exp(lKe + lKa - lCl) * (exp(-exp(lKe) * Time) - exp(-exp(lKa) * Time)) "
       "/ (exp(lKa) - exp(lKe))")
ORANGE = dict(fixed=["Asym", "xmid", "scal"], random=["Asym"], group="Tree")
THEOPH = dict(fixed=["lKe", "lKa", "lCl"], random=["lKa", "lCl"], group="Subject")
MODELS = {
    "cbpp laplace": lambda: fit(CBPP, datasets.load("cbpp")),
    "cbpp agq25": lambda: fit(CBPP, datasets.load("cbpp"), method="agq", nagq=25),
    "epilepsy laplace": lambda: fit(EPIL, datasets.load("epilepsy"), family="poisson"),
    "epilepsy agq20": lambda: fit(EPIL, datasets.load("epilepsy"), family="poisson", method="agq", nagq=20),
    "sleepstudy lmm REML": lambda: lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy")),
    "sleepstudy lmm ML": lambda: lmm("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"), reml=False),
    "Orange nlmm foce": lambda: nlmm(LOGISTIC, datasets.load("orange"), start={"Asym": 170, "xmid": 700, "scal": 350},
                                     method="foce", **ORANGE),
    "Orange nlmm laplace": lambda: nlmm(LOGISTIC, datasets.load("orange"),
                                        start={"Asym": 200, "xmid": 725, "scal": 350}, method="laplace", **ORANGE),
    "Theoph nlmm foce": lambda: nlmm(FOL, datasets.load("theoph"), start={"lKe": -2.4, "lKa": 0.45, "lCl": -3.2},
                                     method="foce", **THEOPH),
    "Theoph nlmm laplace": lambda: nlmm(FOL, datasets.load("theoph"), start={"lKe": -2.4, "lKa": 0.45, "lCl": -3.2},
                                        method="laplace", **THEOPH),
    "infert conditional": lambda: conditional_fit("case ~ spontaneous + induced", datasets.load("infert"),
                                                  group="stratum"),
    "cbpp pql": lambda: pql(CBPP, datasets.load("cbpp")),
}


def numbers(res):
    out = {"params": [float(v) for v in np.asarray(res.params, dtype=float)]}
    llf = getattr(res, "llf", None)
    out["llf"] = None if llf is None or not np.isfinite(llf) else float(llf)
    sds = []
    sd_re = getattr(res, "sd_re", None)
    if isinstance(sd_re, dict):
        for key in sorted(sd_re):
            sds.extend(float(v) for v in np.ravel(np.asarray(sd_re[key], dtype=float)))
    elif sd_re is not None:
        sds.extend(float(v) for v in np.ravel(np.asarray(sd_re, dtype=float)))
    sigma = getattr(res, "sigma", None)
    if sigma is not None and np.isfinite(sigma):
        sds.append(float(sigma))
    out["sd"] = sds
    return out


name = sys.argv[2]
res = MODELS[name]()  # the first fit also imports pandas, formulae and the lazily loaded modules: not timed
elapsed = []
for _ in range(int(sys.argv[3])):
    start = time.process_time()
    MODELS[name]()
    elapsed.append(time.process_time() - start)
out = numbers(res)
out["seconds"] = min(elapsed)
print(json.dumps(out))
'''

NAMES = ["cbpp laplace", "cbpp agq25", "epilepsy laplace", "epilepsy agq20", "sleepstudy lmm REML",
         "sleepstudy lmm ML", "Orange nlmm foce", "Orange nlmm laplace", "Theoph nlmm foce", "Theoph nlmm laplace",
         "infert conditional", "cbpp pql"]


def run(tree, name, repeat):
    proc = subprocess.run([sys.executable, "-c", CHILD, tree, name, str(repeat)], capture_output=True, text=True,
                          check=False)
    if proc.returncode:
        raise RuntimeError(f"{tree} {name}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def max_diff(a, b):
    if len(a) != len(b):
        return float("nan")
    return max((abs(x - y) for x, y in zip(a, b)), default=0.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=3, help="child processes per tree, alternating")
    parser.add_argument("--repeat", type=int, default=3, help="timed fits per child, after one untimed")
    parser.add_argument("--only", nargs="+", default=NAMES, choices=NAMES, metavar="MODEL",
                        help="the models to fit (default: all)")
    args = parser.parse_args()
    print(f"{'model':22s} {'max|dbeta|':>10s} {'max|dsd|':>10s} {'|dllf|':>10s} {'before s':>9s} {'after s':>9s} "
          f"{'ratio':>6s}")
    for name in args.only:
        times = {"before": [], "after": []}
        results = {}
        for _ in range(args.rounds):
            for label, tree in (("before", args.before), ("after", args.after)):
                out = run(tree, name, args.repeat)
                times[label].append(out["seconds"])
                results[label] = out
        b, a = results["before"], results["after"]
        dllf = abs(a["llf"] - b["llf"]) if a["llf"] is not None and b["llf"] is not None else float("nan")
        tb, ta = min(times["before"]), min(times["after"])
        print(f"{name:22s} {max_diff(a['params'], b['params']):10.1e} {max_diff(a['sd'], b['sd']):10.1e} "
              f"{dllf:10.1e} {tb:9.3f} {ta:9.3f} {ta / tb:6.2f}", flush=True)


if __name__ == "__main__":
    main()
