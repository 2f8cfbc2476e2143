"""Time an R peer (lme4, glmmTMB, nlme, MASS, survival) through Rscript, the clock read inside R.

asv runs Python only, so an R baseline is a ``track_`` benchmark: it shells out to Rscript, which loads the
packages and reads the data first, fits once to warm up, then times ``repeat`` fits with ``proc.time()``
and prints the best elapsed time. R's start-up, package loading and CSV reading are never in the figure.
When Rscript or one of the packages is missing, :func:`require_r` raises NotImplementedError, which asv
reports as a skipped benchmark.

The data are the CSV files of quadlib.glmm.datasets, read by R as well; the columns that are factors in R
are named by the caller (read.csv would turn the quoted group labels "1", "2", ... into integers).
"""
from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from quadlib.glmm import datasets as _datasets

DATA_DIR = Path(_datasets.__file__).resolve().parent


def csv_path(name: str) -> str:
    """Path of a quadlib.glmm.datasets CSV file (``"cbpp"`` -> ``.../datasets/cbpp.csv``)."""
    files = {"epilepsy": "epil.csv", "orange": "Orange.csv", "theoph": "Theoph.csv"}
    return str(DATA_DIR / files.get(name, f"{name}.csv"))


@functools.lru_cache(maxsize=None)
def missing_r_packages(packages: tuple[str, ...]) -> tuple[str, ...] | None:
    """The packages R cannot load, or None when there is no Rscript at all."""
    if shutil.which("Rscript") is None:
        return None
    vector = ", ".join(f'"{p}"' for p in packages)
    out = subprocess.run(["Rscript", "-e", f"for (p in c({vector})) if (!requireNamespace(p, quietly = TRUE)) "
                          "cat(p, '\\n')"], capture_output=True, text=True, timeout=120)
    return tuple(out.stdout.split())


def require_r(*packages: str) -> None:
    """Raise NotImplementedError (asv: skipped) unless Rscript can load every package."""
    missing = missing_r_packages(tuple(packages))
    if missing is None:
        raise NotImplementedError("Rscript is not installed")
    if missing:
        raise NotImplementedError(f"R package(s) missing: {', '.join(missing)}")


def r_available(*packages: str) -> bool:
    try:
        require_r(*packages)
    except NotImplementedError:
        return False
    return True


def read_csv_code(variable: str, name: str, factors=()) -> str:
    """R code reading a quadlib.glmm.datasets CSV into ``variable``, with ``factors`` turned into factors."""
    code = f'{variable} <- read.csv("{csv_path(name)}")'
    for column in factors:
        code += f"; {variable}${column} <- factor({variable}${column})"
    return code


def r_seconds(packages, setup: str, call: str, repeat: int = 5, timeout: float = 600, warmup: bool = True) -> float:
    """Best over ``repeat`` timings of the elapsed seconds per evaluation of the R expression ``call``.

    One warm-up call first (``warmup=False`` for fits of many seconds: the first timed call sizes the loop);
    a call under 50 ms is looped within each timing (best-of-N, as report.py does).

    ``setup`` is R code run before the clock starts (reading the data, building formulas).
    """
    require_r(*packages)
    libraries = "; ".join(f"library({p})" for p in packages)
    script = "\n".join([
        f"suppressMessages({{{libraries}}})",
        setup,
        f"run <- function() suppressWarnings(suppressMessages({call}))",
        # warm-up; then as many calls per timing as make it >= 50 ms (proc.time() ticks in milliseconds)
        "t0 <- proc.time(); invisible(run()); once <- (proc.time() - t0)[['elapsed']]" if warmup else "once <- Inf",
        "number <- max(1L, min(1000L, as.integer(ceiling(0.05 / max(once, 1e-4)))))",
        f"best <- Inf; for (i in seq_len({int(repeat)})) {{ invisible(gc()); t0 <- proc.time(); "
        "for (k in seq_len(number)) invisible(run()); best <- min(best, (proc.time() - t0)[['elapsed']] / number) }",
        "cat(sprintf('SECONDS %.9g\\n', best))",
    ])
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=timeout)
    for line in out.stdout.splitlines():
        if line.startswith("SECONDS "):
            return float(line.split()[1])
    raise RuntimeError(f"Rscript failed:\n{out.stderr[-2000:]}")


@functools.lru_cache(maxsize=None)
def r_versions(packages=("lme4", "glmmTMB", "nlme", "MASS", "survival")) -> dict:
    """{"R": version string, package: version} for the packages that load; {} without Rscript."""
    if shutil.which("Rscript") is None:
        return {}
    vector = ", ".join(f'"{p}"' for p in packages)
    script = (f"cat('R', R.version$major, '.', R.version$minor, '\\n', sep = ''); for (p in c({vector})) "
              "if (requireNamespace(p, quietly = TRUE)) cat(p, as.character(packageVersion(p)), '\\n')")
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=120)
    versions = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 1 and parts[0].startswith("R"):
            versions["R"] = parts[0][1:]
        elif len(parts) == 2:
            versions[parts[0]] = parts[1]
    return versions


def needs_r(*packages, per_params=None):
    """Give an asv benchmark method its own setup that skips it (and only it) when R cannot run it.

    asv runs a ``setup`` attribute of the benchmark function after the class's setup, with the parameters;
    raising NotImplementedError there skips this benchmark alone, so the quadlib side of the same class
    still runs without R. ``per_params(*params)`` may return the packages for one parameter set instead.
    """
    def decorate(method):
        def setup(*params):
            require_r(*(per_params(*params) if per_params else packages))

        method.setup = setup
        return method

    return decorate
