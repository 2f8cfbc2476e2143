"""Nested rules for sparse grids: Clenshaw–Curtis, Fejér, Gauss–Patterson and Genz–Keister.

Clenshaw–Curtis and Fejér weights come from their closed-form cosine sums. Gauss–Patterson and
Genz–Keister rules are tabulated in ``quadlib/_data`` to 34+ digits by ``tools/make_nested_tables.py``
(mpmath), since constructing them takes minutes of high-precision work.

References
----------
J. Waldvogel, "Fast construction of the Fejér and Clenshaw–Curtis quadrature rules", BIT 46 (2006).
T. N. L. Patterson, "The optimum addition of points to quadrature formulae", Math. Comp. 22 (1968).
A. Genz and B. D. Keister, "Fully symmetric interpolatory rules for multiple integrals over infinite
regions with Gaussian weight", J. Comput. Appl. Math. 71 (1996).
"""
import functools
import json
from importlib import resources

import numpy as np
import scipy.fft

from . import _validation as v
from ._rule import Rule

__all__ = ["clenshaw_curtis", "fejer", "gauss_patterson", "genz_keister"]

# Largest n of clenshaw_curtis and fejer: their FFTs take under a second up to here whatever the factors of
# n; at 10^7 a length with a large prime factor takes over ten seconds.
MAX_NODES = 10 ** 6


def _symmetric_degree(n):
    # an interpolatory rule on n symmetric nodes also integrates the next odd monomial
    return n if n % 2 else n - 1


def _symmetrize(w):
    return 0.5 * (w + w[::-1])


def _memoized_if_small(compute):
    """Memoize the rules sparse grids reuse (up to 2^12 + 1 nodes), not large ones: 64 cached rules of
    10^6 nodes would hold a gigabyte."""
    cached = functools.lru_cache(maxsize=64)(compute)

    @functools.wraps(compute)
    def rule(n, *args):
        return cached(n, *args) if n <= _CACHED_NODES else compute(n, *args)

    rule.cache_clear = cached.cache_clear
    return rule


_CACHED_NODES = 2 ** 12 + 1


@_memoized_if_small
def _clenshaw_curtis(n):
    # w_k = c_k/N (1 - sum_j b_j cos(2 j theta_k)/(4 j^2 - 1)), theta_k = k pi/N: the cosine sum is a
    # DCT-I of the coefficients placed at m = 2j, so O(n log n) (Waldvogel) instead of O(n^2)
    if n == 1:
        return np.zeros(1), np.full(1, 2.0)
    N = n - 1
    k = np.arange(n)
    x = np.sin(np.pi * (2 * k - N) / (2 * N))
    a = np.zeros(n)
    m = np.arange(2, N + 1, 2)
    a[m] = 1.0 / (m * m - 1.0)
    # DCT-I, y_k = x_0 + (-1)^k x_N + 2 sum_{0<m<N} x_m cos(pi m k/N), absorbs b_j = 2 inside, 1 at m = N
    total = 1.0 - scipy.fft.dct(a, type=1) if n > 2 else np.ones(n)
    c = np.where((k == 0) | (k == N), 1.0, 2.0)
    return x, _symmetrize(c / N * total)


def clenshaw_curtis(n):
    """Clenshaw–Curtis rule: `n` Chebyshev extreme points on [-1, 1], both ends included.

    Nested for ``n = 1, 3, 5, 9, 17, ..., 2^l + 1`` (the sparse-grid levels). ``n = 1`` is the midpoint rule.
    Exact to degree ``n - 1`` (``n`` for odd n).

    Parameters
    ----------
    n : int
        Number of nodes, ``1 <= n <= MAX_NODES`` (10^6).

    Examples
    --------
    >>> import quadlib
    >>> quadlib.clenshaw_curtis(3).weights * 3  # Simpson
    array([1., 4., 1.])

    References
    ----------
    C. W. Clenshaw and A. R. Curtis, Numer. Math. 2 (1960); J. Waldvogel, BIT 46 (2006).
    """
    n = v.positive_int(n, "n", maximum=MAX_NODES)
    x, w = _clenshaw_curtis(n)
    return Rule(nodes=x, weights=w, domain=(-1, 1), weight_function="1", degree=_symmetric_degree(n),
                family=f"clenshaw_curtis({n})")


@_memoized_if_small
def _fejer(n, kind):
    # the cosine and sine sums of the closed forms as a DCT-III and a DST-I (O(n log n))
    k = np.arange(1, n + 1)
    if kind == 1:
        x = np.sin(np.pi * (2 * k - 1 - n) / (2 * n))
        # w_k = 2/n (1 - 2 sum_{j <= n/2} cos(2 j theta_k)/(4 j^2 - 1)), theta_k = (2k - 1) pi/(2n)
        a = np.zeros(n)
        a[0] = 1.0
        m = np.arange(2, n, 2)
        a[m] = -1.0 / (m * m - 1.0)
        w = 2.0 / n * scipy.fft.dct(a, type=3)  # y_k = x_0 + 2 sum_{m>0} x_m cos(pi m (2k + 1)/(2n))
    else:
        x = np.sin(np.pi * (2 * k - n - 1) / (2 * (n + 1)))
        theta = k * np.pi / (n + 1)
        # w_k = 4 sin(theta_k)/(n + 1) sum_{m odd} sin(m theta_k)/m, theta_k = k pi/(n + 1)
        a = np.zeros(n)
        m = np.arange(1, n + 1, 2)
        a[m - 1] = 1.0 / m
        total = 0.5 * scipy.fft.dst(a, type=1) if n > 1 else a.copy()  # y_k = 2 sum x_m sin(pi (m+1)(k+1)/(n+1))
        w = 4.0 * np.sin(theta) / (n + 1) * total
    return x, _symmetrize(w)


def fejer(n, kind=1):
    """Fejér's rules on [-1, 1]: `n` Chebyshev points of the first kind (``kind=1``) or the interior
    Chebyshev extreme points (``kind=2``, nested for ``n = 2^l - 1``). Neither includes the ends.

    Parameters
    ----------
    n : int
        Number of nodes, ``1 <= n <= MAX_NODES`` (10^6).
    kind : {1, 2}
        Which Fejér rule.

    Examples
    --------
    >>> import quadlib
    >>> quadlib.fejer(1, kind=2).weights
    array([2.])

    References
    ----------
    L. Fejér, Math. Z. 37 (1933); J. Waldvogel, BIT 46 (2006).
    """
    n = v.positive_int(n, "n", maximum=MAX_NODES)
    if isinstance(kind, (bool, np.bool_)):
        raise TypeError(f"`kind` must be 1 or 2, got {kind!r}")
    v.choice(kind, (1, 2), "kind")
    x, w = _fejer(n, kind)
    return Rule(nodes=x, weights=w, domain=(-1, 1), weight_function="1", degree=_symmetric_degree(n),
                family=f"fejer({n}, kind={kind})")


@functools.lru_cache(maxsize=None)
def _table(name):
    with resources.files("quadlib").joinpath(f"_data/{name}.json").open() as fh:
        data = json.load(fh)
    return {entry["level"]: entry for entry in data["levels"]}


def _tabulated(name, level):
    table = _table(name)
    level = v.positive_int(level, "level", minimum=0, maximum=max(table))
    entry = table[level]
    x = np.array([float(s) for s in entry["nodes"]])
    w = np.array([float(s) for s in entry["weights"]])
    return level, x, w, entry


def gauss_patterson(level):
    """Gauss–Patterson rule of `level` (0, 1, 2, ...): ``2^(level+1) - 1`` nested points on [-1, 1].

    Level 0 is the midpoint, level 1 the 3-point Gauss rule; each level adds the optimal Kronrod–Patterson
    extension of the previous one. Exact to degree 1 (level 0) and ``3 * 2^level - 1`` after that.

    Examples
    --------
    >>> import quadlib
    >>> rule = quadlib.gauss_patterson(2)
    >>> rule.n, rule.degree
    (7, 11)

    References
    ----------
    T. N. L. Patterson, "The optimum addition of points to quadrature formulae", Math. Comp. 22 (1968).
    """
    level, x, w, _ = _tabulated("gauss_patterson", level)
    return Rule(nodes=x, weights=w, domain=(-1, 1), weight_function="1",
                degree=1 if level == 0 else 3 * 2 ** level - 1, family=f"gauss_patterson({level})")


def genz_keister(level):
    """Genz–Keister nested rule of `level` for the N(0, 1) density on the real line (weights sum to 1).

    Levels 0, 1, 2, 3, 4 have 1, 3, 9, 19 and 35 points; they are the nested extensions of the 3-point
    Gauss–Hermite rule that sparse grids on R^d use.

    Examples
    --------
    >>> import quadlib
    >>> rule = quadlib.genz_keister(2)
    >>> rule.n, round(float(rule.integrate(lambda x: x**4)), 12)  # E[Z^4] = 3
    (9, 3.0)

    References
    ----------
    A. Genz and B. D. Keister, J. Comput. Appl. Math. 71 (1996) 299-309.
    """
    level, x, w, entry = _tabulated("genz_keister", level)
    return Rule(nodes=x, weights=w, domain=(-np.inf, np.inf), weight_function="exp(-x^2/2)/sqrt(2*pi)",
                degree=int(entry["degree"]), family=f"genz_keister({level})")
