"""The data sets of the GLMM literature, shipped with quadlib (see SOURCES.md in this folder).

* ``cbpp`` — contagious bovine pleuropneumonia, 56 rows (R package lme4; Lesnoff et al. 2004).
* ``epilepsy`` — seizure counts, 236 rows (R package MASS, ``epil``; Thall and Vail 1990).
* ``orange`` — growth of orange trees, 35 rows (R datasets, ``Orange``).
* ``theoph`` — theophylline pharmacokinetics, 132 rows (R datasets, ``Theoph``).
* ``infert`` — infertility case-control study, 248 rows (R datasets, ``infert``).
* ``sleepstudy`` — reaction times under sleep deprivation, 180 rows (R package lme4; Belenky et al. 2003).

Grouping and categorical columns are loaded as strings (R factors), so formulas treat them as factors.
"""
from importlib import resources

__all__ = ["load", "NAMES"]

# name -> (file, columns that are factors in R)
_FILES = {
    "cbpp": ("cbpp.csv", ["herd", "period"]),
    "epilepsy": ("epil.csv", ["trt", "subject", "period"]),
    "orange": ("Orange.csv", ["Tree"]),
    "theoph": ("Theoph.csv", ["Subject"]),
    "infert": ("infert.csv", ["education"]),
    "sleepstudy": ("sleepstudy.csv", ["Subject"]),
}
NAMES = tuple(_FILES)


def load(name):
    """Load a data set as a pandas DataFrame.

    Examples
    --------
    >>> from quadlib.glmm import datasets
    >>> cbpp = datasets.load("cbpp")
    >>> cbpp.shape, list(cbpp.columns)
    ((56, 4), ['herd', 'incidence', 'size', 'period'])
    """
    import pandas as pd

    if name not in _FILES:
        raise ValueError(f"`name` must be one of {', '.join(map(repr, NAMES))}, got {name!r}")
    file, factors = _FILES[name]
    with resources.files(__name__).joinpath(file).open("r") as handle:
        frame = pd.read_csv(handle)
    for column in factors:
        if column in frame:
            frame[column] = frame[column].astype(str)
    return frame
