"""The data sets of the GLMM literature, shipped with quadlib (see SOURCES.md in this folder).

* ``cbpp`` — contagious bovine pleuropneumonia, 56 rows (R package lme4; Lesnoff et al. 2004).
* ``epilepsy`` — seizure counts, 236 rows (R package MASS, ``epil``; Thall and Vail 1990).
* ``orange`` — growth of orange trees, 35 rows (R datasets, ``Orange``).
* ``theoph`` — theophylline pharmacokinetics, 132 rows (R datasets, ``Theoph``).
* ``infert`` — infertility case-control study, 248 rows (R datasets, ``infert``).
* ``sleepstudy`` — reaction times under sleep deprivation, 180 rows (R package lme4; Belenky et al. 2003).
* ``salamanders`` — salamander counts below mountaintop coal mining, 644 rows (R package glmmTMB,
  ``Salamanders``; Price et al. 2016): zero-inflated and hurdle counts.
* ``owls`` — begging of barn owl nestlings, 599 rows (R package glmmTMB, ``Owls``; Roulin and Bersier 2007):
  overdispersed counts (NB1), tweedie (``NegPerChick``), dispersion formulas.
* ``wine`` — bitterness of white wines, 72 rows (R package ordinal, ``wine``; Randall 1989): ordinal ratings.
* ``gcsemv`` — GCSE coursework scores, 1,905 rows (R package mlmRev, ``Gcsemv``; Rasbash et al. 2000): a
  proportion (``course``/100, missing for 180 pupils) for beta regression.
* ``orthodont`` — distance from the pituitary to the pterygomaxillary fissure in 27 children, 108 rows (R package
  nlme, ``Orthodont``; Potthoff and Roy 1964): a balanced random intercept (small-sample inference).
* ``chickweight`` — weight of 50 chicks on four diets, 578 rows (R datasets, ``ChickWeight``; Crowder and Hand
  1990): unbalanced (chicks drop out), a random slope (non-integer denominator degrees of freedom).

Grouping and categorical columns of the first six are loaded as strings (R factors), so formulas treat them
as factors with sorted levels. The last six load their factors as pandas Categoricals **in R's level order**
(``factor_levels.json``): the first level is the reference level of the treatment contrasts (Salamanders'
``mined`` is ("yes", "no") and its ``spp`` starts at "GP", not alphabetically), and ``wine.rating`` is an
ordered Categorical 1 < 2 < 3 < 4 < 5 (R's ordered factors, like Salamanders' ``site``, stay ordered; quadlib
gives them treatment contrasts all the same). Orthodont's ``Sex`` is ("Male", "Female"), as in nlme, and
ChickWeight's ``Diet`` ("1", "2", "3", "4"); their ``Subject`` and ``Chick`` are strings (grouping factors only).
"""
from importlib import resources
import json

__all__ = ["load", "NAMES"]

# name -> (file, columns that are factors in R, the key of their levels in factor_levels.json or None: strings)
_FILES = {
    "cbpp": ("cbpp.csv", ["herd", "period"], None),
    "epilepsy": ("epil.csv", ["trt", "subject", "period"], None),
    "orange": ("Orange.csv", ["Tree"], None),
    "theoph": ("Theoph.csv", ["Subject"], None),
    "infert": ("infert.csv", ["education"], None),
    "sleepstudy": ("sleepstudy.csv", ["Subject"], None),
    "salamanders": ("Salamanders.csv", ["site", "mined", "spp"], "Salamanders"),
    "owls": ("Owls.csv", ["Nest", "FoodTreatment", "SexParent"], "Owls"),
    "wine": ("wine.csv", ["rating", "temp", "contact", "bottle", "judge"], "wine"),
    "gcsemv": ("Gcsemv.csv", ["school", "student", "gender"], "Gcsemv"),
    "orthodont": ("Orthodont.csv", ["Subject", "Sex"], "Orthodont"),
    "chickweight": ("ChickWeight.csv", ["Chick", "Diet"], "ChickWeight"),
}
NAMES = tuple(_FILES)


def _levels():
    with resources.files(__name__).joinpath("factor_levels.json").open("r") as handle:
        return json.load(handle)


def load(name):
    """Load a data set as a pandas DataFrame.

    Parameters
    ----------
    name : str
        One of :data:`NAMES`.

    Examples
    --------
    >>> from quadlib.glmm import datasets
    >>> cbpp = datasets.load("cbpp")
    >>> cbpp.shape, list(cbpp.columns)
    ((56, 4), ['herd', 'incidence', 'size', 'period'])
    >>> wine = datasets.load("wine")
    >>> wine["rating"].cat.ordered, list(wine["temp"].cat.categories)
    (True, ['cold', 'warm'])
    >>> list(datasets.load("salamanders")["mined"].cat.categories)     # R's order: "yes" is the reference
    ['yes', 'no']
    >>> list(datasets.load("orthodont")["Sex"].cat.categories), datasets.load("chickweight").shape
    (['Male', 'Female'], (578, 4))
    """
    import pandas as pd

    if name not in _FILES:
        raise ValueError(f"`name` must be one of {', '.join(map(repr, NAMES))}, got {name!r}")
    file, factors, key = _FILES[name]
    with resources.files(__name__).joinpath(file).open("r") as handle:
        # factor labels stay text: "20920" (a school) or "1" (a rating) are labels, not numbers
        frame = pd.read_csv(handle, dtype={column: str for column in factors} if key is not None else None)
    levels = _levels()[key] if key is not None else {}
    for column in factors:
        if column not in frame:
            continue
        if column in levels:
            spec = levels[column]
            frame[column] = pd.Categorical(frame[column], categories=spec["levels"], ordered=spec["ordered"])
        else:
            frame[column] = frame[column].astype(str)
    return frame
