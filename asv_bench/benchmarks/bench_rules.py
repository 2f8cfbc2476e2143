"""Rules: construction and application against scipy.integrate / scipy.special (and mpmath) in the same suite.

Compare the ``time_*`` methods of one class and parameter set (one run, same machine). quadlib memoizes
small Gauss rules, so each construction timing clears the caches first. Peers:

* Newton–Cotes weights: scipy.integrate.newton_cotes; the sampled rules (trapezoid, simpson,
  cumulative_trapezoid) and the composite rules: scipy.integrate's functions on the same samples;
* Gauss families: scipy.special.roots_* (Radau and Lobatto: scipy has none, quadlib only), and mpmath's
  Gauss–Legendre node generator at 15 digits; a rule applied: scipy.integrate.fixed_quad;
* Gauss rules from a recurrence, moments or a weight function: no library builds these from user data, so
  the peer is what a user would write (Golub–Welsch by scipy.linalg.eigh_tridiagonal) or call when the
  weight happens to be classical (scipy.special.roots_legendre / roots_laguerre, the same rule);
* nested and interpolatory rules (Clenshaw–Curtis, Fejér, Gauss–Patterson, Genz–Keister, Leja, Kronrod):
  scipy has none; the peer is the Gauss rule of the same size from scipy.special, the rule one would use
  instead.

Large-n Gauss rules (10^3 .. 10^7 points) are in bench_gauss_large.py.
"""
import mpmath
import numpy as np
import scipy.integrate as si
import scipy.linalg
import scipy.special as sc

import quadlib
from quadlib import _gauss

FAMILIES = {
    "legendre": (lambda n: quadlib.gauss_legendre(n), lambda n: sc.roots_legendre(n)),
    "chebyshev": (lambda n: quadlib.gauss_chebyshev(n, 1), lambda n: sc.roots_chebyt(n)),
    "gegenbauer(1.5)": (lambda n: quadlib.gauss_gegenbauer(n, 1.5), lambda n: sc.roots_gegenbauer(n, 1.5)),
    "jacobi(0.5,-0.3)": (lambda n: quadlib.gauss_jacobi(n, 0.5, -0.3), lambda n: sc.roots_jacobi(n, 0.5, -0.3)),
    "laguerre(1.5)": (lambda n: quadlib.gauss_laguerre(n, 1.5), lambda n: sc.roots_genlaguerre(n, 1.5)),
    "hermite": (lambda n: quadlib.gauss_hermite(n), lambda n: sc.roots_hermite(n)),
}


def _skip_invalid_scipy(family, n):
    if family.startswith("laguerre") and n > 500:
        raise NotImplementedError("scipy's roots_genlaguerre overflows (NaN weights) beyond n ~ 500")


class RuleGeneration:
    params = (list(FAMILIES), [10, 100, 1000])
    param_names = ["family", "n"]

    def time_quadlib(self, family, n):
        _gauss.clear_caches()
        FAMILIES[family][0](n)

    def time_scipy(self, family, n):
        FAMILIES[family][1](n)

    time_scipy.setup = _skip_invalid_scipy  # asv runs it before time_scipy alone


class GaussLegendreMpmath:
    """Gauss–Legendre nodes against mpmath's generator at 15 digits (mpmath's sizes: 3 * 2^(degree - 1))."""

    params = [[3, 5, 7]]
    param_names = ["mpmath_degree"]

    def setup(self, degree):
        self.n = 3 * 2 ** (degree - 1)

    def time_quadlib(self, degree):
        _gauss.clear_caches()
        quadlib.gauss_legendre(self.n)

    def time_mpmath(self, degree):
        with mpmath.workdps(15):
            mpmath.calculus.quadrature.GaussLegendre(mpmath.mp).calc_nodes(degree, mpmath.mp.prec)


class RadauLobatto:
    """Radau and Lobatto rules (scipy.special has neither: no peer); from n = 100 they go through the O(n)
    Jacobi kernel of bench_gauss_large."""

    params = [[10, 100, 1000, 10 ** 4, 10 ** 5]]
    param_names = ["n"]

    def time_gauss_radau(self, n):
        _gauss.clear_caches()
        quadlib.gauss_radau(n, 0.5, 1.0)

    def time_gauss_lobatto(self, n):
        _gauss.clear_caches()
        quadlib.gauss_lobatto(n, -0.5, 2.0)


class GaussFromData:
    """Gauss rules from data: the 30-point Gauss–Legendre rule from its recurrence and from its modified
    (Legendre) moments, the 10-point Laguerre rule from the weight exp(-x) on [0, inf). Peers: Golub–Welsch
    by scipy.linalg.eigh_tridiagonal (the recurrence), scipy.special.roots_legendre / roots_laguerre."""

    params = [["recurrence", "moments", "weight"]]
    param_names = ["source"]

    def setup(self, source):
        n = 30
        j = np.arange(1, n)
        self.alpha, self.beta = np.zeros(n), j * j / (4.0 * j * j - 1.0)
        self.moments = np.zeros(2 * n)
        self.moments[0] = 2.0
        self.source = source

    def time_quadlib(self, source):
        _gauss.clear_caches()
        if source == "recurrence":
            quadlib.gauss_from_recurrence(self.alpha, self.beta, 2.0)
        elif source == "moments":
            quadlib.gauss_from_moments(self.moments, basis="legendre")
        else:
            quadlib.gauss_from_weight(lambda x: np.exp(-x), 0.0, np.inf, 10)

    def time_scipy(self, source):
        if source == "recurrence":
            x, v = scipy.linalg.eigh_tridiagonal(self.alpha, np.sqrt(self.beta))
            2.0 * v[0] ** 2
        elif source == "moments":
            sc.roots_legendre(30)
        else:
            sc.roots_laguerre(10)


NESTED = {  # name -> (quadlib constructor, size, scipy Gauss rule of the same size)
    "clenshaw_curtis(33)": (lambda: quadlib.clenshaw_curtis(33), lambda: sc.roots_legendre(33)),
    "fejer(32)": (lambda: quadlib.fejer(32), lambda: sc.roots_legendre(32)),
    "gauss_patterson(5)": (lambda: quadlib.gauss_patterson(5), lambda: sc.roots_legendre(63)),
    "gauss_kronrod(10)": (lambda: quadlib.gauss_kronrod(10), lambda: sc.roots_legendre(21)),
    "genz_keister(3)": (lambda: quadlib.genz_keister(3), lambda: sc.roots_hermitenorm(19)),
    "leja(30)": (lambda: quadlib.leja(30), lambda: sc.roots_legendre(30)),
}


class NestedRules:
    """Nested and interpolatory rules; the peer is scipy's Gauss rule with as many points."""

    params = [list(NESTED)]
    param_names = ["rule"]

    def time_quadlib(self, rule):
        _gauss.clear_caches()
        NESTED[rule][0]()

    def time_scipy_gauss_same_size(self, rule):
        NESTED[rule][1]()


class NewtonCotes:
    params = [[4, 10]]
    param_names = ["n"]

    def time_quadlib(self, n):
        quadlib.newton_cotes(n)

    def time_scipy(self, n):
        si.newton_cotes(n, 1)


COMPOSITE = {  # quadlib rule -> scipy on the same samples
    "composite_trapezoid": (quadlib.composite_trapezoid, lambda y, x: si.trapezoid(y, x=x)),
    "composite_simpson": (quadlib.composite_simpson, lambda y, x: si.simpson(y, x=x)),
    "composite_midpoint": (quadlib.composite_midpoint, None),
    "composite_simpson38": (quadlib.composite_simpson38, None),
    "composite_boole": (quadlib.composite_boole, None),
}


class CompositeRules:
    """Composite rules on 960 subintervals of [0, 1] against scipy.integrate.trapezoid / simpson on the same
    961 samples, sampling included (scipy has no midpoint, 3/8 or Boole rule: for those the peer is
    scipy's simpson, the composite rule one would use instead)."""

    params = [list(COMPOSITE)]
    param_names = ["rule"]

    def setup(self, rule):
        self.n = 960
        self.x = np.linspace(0.0, 1.0, self.n + 1)

    def time_quadlib(self, rule):
        COMPOSITE[rule][0](np.exp, 0.0, 1.0, self.n)

    def time_scipy(self, rule):
        peer = COMPOSITE[rule][1] or COMPOSITE["composite_simpson"][1]
        peer(np.exp(self.x), self.x)


SAMPLED = {
    "trapezoid": (quadlib.trapezoid, si.trapezoid),
    "simpson": (quadlib.simpson, si.simpson),
    "cumulative_trapezoid": (quadlib.cumulative_trapezoid, si.cumulative_trapezoid),
}


class SampledRules:
    """Rules on given samples (100 rows of 10,001 non-uniform samples), the same call in both libraries."""

    params = [list(SAMPLED)]
    param_names = ["rule"]

    def setup(self, rule):
        rng = np.random.default_rng(0)
        self.x = np.sort(rng.random(10_001))
        self.y = np.sin(np.outer(np.arange(1, 101), self.x))

    def time_quadlib(self, rule):
        SAMPLED[rule][0](self.y, x=self.x)

    def time_scipy(self, rule):
        SAMPLED[rule][1](self.y, x=self.x)


class FixedRuleIntegration:
    """Applying a cached rule: the per-call overhead of Rule.integrate against scipy.integrate.fixed_quad."""

    params = [[5, 50]]
    param_names = ["n"]

    def setup(self, n):
        self.rule = quadlib.gauss_legendre(n)
        self.f = np.exp

    def time_quadlib(self, n):
        self.rule.integrate(self.f, 0.0, 1.0)

    def time_scipy_fixed_quad(self, n):
        si.fixed_quad(self.f, 0.0, 1.0, n=n)
