"""Optional dependencies: the extras of ``pip install quadlib[...]`` and the check that one is installed.

This module owns the list of packages each extra brings that quadlib's code needs (the core needs none of
them) and :func:`require_extra`, which raises :class:`MissingExtraError` naming the ``pip install``
command when one is missing. It looks the packages up without importing them, so the check costs
microseconds and no import time.
"""
import importlib.util

__all__ = ["EXTRAS", "MissingExtraError", "require_extra"]

#: extra -> the packages of that extra that quadlib's code imports (as they are imported, not as pip
#: names them). ``glmm``: the formula parser, data frames and the BLAS thread control of the fits;
#: ``bench``: the accuracy benchmark's table (its progress bar, tqdm, is used when present); ``plot``: the
#: figures.
EXTRAS = {
    "glmm": ("pandas", "formulae", "threadpoolctl"),
    "bench": ("pandas",),
    "plot": ("matplotlib",),
}


class MissingExtraError(ImportError):
    """A package of an optional extra is not installed; the message names ``pip install 'quadlib[extra]'``."""


def _installed(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):   # a finder that refuses it, or sys.modules[module] set to None
        return False


def require_extra(extra, what):
    """Raise :class:`MissingExtraError` unless every package of `extra` is installed.

    Parameters
    ----------
    extra : str
        A key of :data:`EXTRAS`.
    what : str
        What needs it, for the message (``"quadlib.glmm"``).
    """
    missing = [module for module in EXTRAS[extra] if not _installed(module)]
    if missing:
        listed = ", ".join(missing)
        raise MissingExtraError(f"{what} needs {listed}, which {'is' if len(missing) == 1 else 'are'} not "
                                f"installed: pip install 'quadlib[{extra}]'", name=missing[0])
