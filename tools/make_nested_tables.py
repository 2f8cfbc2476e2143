"""Build quadlib's nested quadrature tables in high precision with mpmath.

Writes

- ``quadlib/_data/gauss_patterson.json``: Gauss–Patterson rules on [-1, 1] with weight 1, levels 0..7
  (1, 3, 7, ..., 255 points), built by repeated Kronrod–Patterson extension of the midpoint rule.
- ``quadlib/_data/genz_keister.json``: Genz–Keister rules for the standard normal density, the nested
  sequence 1+2+6+10+16 (1, 3, 9, 19, 35 points), built the same way, plus the three published
  alternative final levels (1+2+6+10+18, +22, +24).

Both files have the form ``{"source": ..., "dps": ..., "digits": ..., "levels": [{"level": L,
"points": n, "degree": d, "nodes": [...], "weights": [...]}, ...]}`` with nodes increasing and every
number a decimal string with `digits` significant digits.

Usage::

    python tools/make_nested_tables.py                 # both families, check at a second precision
    python tools/make_nested_tables.py --only genz-keister --no-check

The whole run (both families, each computed twice, at ``--dps`` and at ``--check-dps``, and compared)
takes about a minute and a half on one core, nearly all of it the 255-point Gauss–Patterson level.

The construction
----------------
Given a symmetric rule with nodes ``x_1..x_m`` for a measure ``mu`` and ``pi_m(x) = prod (x - x_i)``,
add ``n`` nodes at the zeros of the monic degree-``n`` polynomial ``q`` with

    integral pi_m(x) q(x) x^j dmu(x) = 0,   j = 0, ..., n - 1,

and take the interpolatory weights on all ``m + n`` nodes. The combined rule then integrates every
polynomial of degree ``m + 2n - 1`` exactly (one more when that is even, by symmetry). With
``n = m + 1`` this is Kronrod's extension (Patterson: each level doubles plus one); Genz and Keister
add more than ``m + 1`` points per step because Kronrod extensions of Gauss–Hermite rules have complex
nodes. By parity only ``n/2`` of the conditions are non-trivial and ``q`` has ``n/2`` free
coefficients, so ``q`` is the solution of a square linear system: the rules are fully determined by
the number of points added at each step.

Everything is expanded in the orthonormal polynomials ``p_k`` of ``mu`` (Legendre, or probabilists'
Hermite) rather than in monomials, and the integrals are done exactly by a Gauss rule of ``mu`` with
enough points. Zeros of ``q`` are bracketed (Patterson: one between each pair of neighbouring old
nodes, by bisection) or located in double precision (Genz–Keister: numpy's colleague-matrix root
finder), then polished by Newton's method in mpmath. Weights solve
``sum_i w_i p_k(x_i) = integral p_k dmu`` for the even ``k``.

Precision: even in this basis the linear system for ``q`` is badly conditioned for Patterson's
largest step (1-norm condition numbers measured at 1e6, 1e18 and 2e43 for the extensions to 63, 127
and 255 points; the weight systems reach 2e29 at 255 points), so 60 digits leave about 17 correct.
The default working precision is therefore 120 digits, and every run is repeated at ``--check-dps``
and must agree to more than the 40 digits written (it agrees to about 1e-73).

References
----------
.. [1] T. N. L. Patterson, "The optimum addition of points to quadrature formulae",
   Math. Comp. 22 (1968), 847-856.
.. [2] A. Genz and B. D. Keister, "Fully symmetric interpolatory rules for multiple integrals over
   infinite regions with Gaussian weight", J. Comput. Appl. Math. 71 (1996), 299-309.
.. [3] A. S. Kronrod, *Nodes and Weights of Quadrature Formulas*, Consultants Bureau, 1965.
"""
import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import mpmath as mp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "quadlib" / "_data"

# Significant digits written for every number; the check run must agree to more than this.
DIGITS = 40

# Genz–Keister: points added at each step of the standard sequence (Burkardt's and chaospy's
# "1+2+6+10+16", i.e. 1, 3, 9, 19, 35 points), and the published alternatives for the last step.
GENZ_KEISTER_ADDITIONS = (2, 6, 10, 16)
GENZ_KEISTER_FINAL_VARIANTS = (18, 22, 24)


# --- orthogonal polynomial families -------------------------------------------------------------

@dataclass(frozen=True)
class Family:
    """A symmetric measure ``mu`` given by the recurrence of its monic orthogonal polynomials.

    ``pi_{k+1}(x) = x pi_k(x) - beta(k) pi_{k-1}(x)``; ``mu0`` is the total mass.
    """

    name: str
    mu0: object        # callable () -> mpf
    beta: object       # callable (k) -> mpf, k >= 1
    moment: object     # callable (k) -> mpf, integral x^k dmu
    np_gauss: object   # callable (q) -> (nodes, weights) in float64, used as Newton starting values
    np_roots: object   # callable (orthonormal coefficients as floats) -> float roots
    support: tuple = None  # finite interval of the measure, if any

    def orthonormal(self, x, kmax, derivative=False):
        """Values ``p_0(x)..p_kmax(x)`` (and derivatives) of the orthonormal polynomials."""
        p = [1 / mp.sqrt(self.mu0())]
        d = [mp.mpf(0)]
        if kmax >= 1:
            s1 = mp.sqrt(self.beta(1))
            p.append(x * p[0] / s1)
            d.append(p[0] / s1)
        for k in range(1, kmax):
            sk, sk1 = mp.sqrt(self.beta(k)), mp.sqrt(self.beta(k + 1))
            p.append((x * p[k] - sk * p[k - 1]) / sk1)
            if derivative:
                d.append((p[k] + x * d[k] - sk * d[k - 1]) / sk1)
        return (p, d) if derivative else p


def _legendre_np_roots(c):
    # p_k = sqrt((2k+1)/2) P_k
    series = [ck * math.sqrt((2 * k + 1) / 2) for k, ck in enumerate(c)]
    return np.polynomial.legendre.legroots(series)


def _hermite_e_np_roots(c):
    # p_k = He_k / sqrt(k!)
    series = [ck / math.sqrt(math.factorial(k)) for k, ck in enumerate(c)]
    return np.polynomial.hermite_e.hermeroots(series)


LEGENDRE = Family(
    name="Legendre: weight 1 on [-1, 1]",
    mu0=lambda: mp.mpf(2),
    beta=lambda k: mp.mpf(k * k) / (4 * k * k - 1),
    moment=lambda k: mp.mpf(0) if k % 2 else mp.mpf(2) / (k + 1),
    np_gauss=np.polynomial.legendre.leggauss,
    np_roots=_legendre_np_roots,
    support=(-1, 1),
)

NORMAL = Family(
    name="Hermite: standard normal density on (-inf, inf)",
    mu0=lambda: mp.mpf(1),
    beta=lambda k: mp.mpf(k),
    moment=lambda k: mp.mpf(0) if k % 2 else mp.fac2(k - 1),
    np_gauss=lambda q: (lambda x, w: (x, w / w.sum()))(*np.polynomial.hermite_e.hermegauss(q)),
    np_roots=_hermite_e_np_roots,
)


# --- building blocks ----------------------------------------------------------------------------

def _polish_roots(family, coeffs, guesses):
    """Newton-polish float `guesses` of the zeros of ``sum_k coeffs[k] p_k`` at the working precision."""
    kmax = len(coeffs) - 1
    tol = mp.mpf(2) ** (-mp.mp.prec + 8)
    small = mp.mpf(10) ** (-mp.mp.dps // 2)
    roots = []
    for g in guesses:
        x = mp.mpf(float(g))
        last = mp.inf
        for _ in range(60):  # quadratic convergence from double precision needs ~6 steps
            p, d = family.orthonormal(x, kmax, derivative=True)
            f = mp.fsum(c * v for c, v in zip(coeffs, p))
            df = mp.fsum(c * v for c, v in zip(coeffs, d))
            step = f / df
            x -= step
            # Where |q'| is small (near +-1) rounding in q leaves steps of a few hundred ulps;
            # once steps are tiny and stop shrinking, that noise floor is reached.
            if abs(step) <= tol * max(1, abs(x)) or (abs(step) < small and abs(step) > last / 2):
                break
            last = abs(step)
        else:
            raise RuntimeError(f"Newton did not converge from {g!r}")
        roots.append(x)
    roots.sort()
    gap = min((b - a for a, b in zip(roots, roots[1:])), default=mp.inf)
    if not gap > mp.mpf(10) ** (-mp.mp.dps // 3):
        raise RuntimeError("two Newton iterations converged to the same zero")
    return roots


def _interlaced_guesses(family, coeffs, old_nodes):
    """Zeros of ``sum_k coeffs[k] p_k`` to ~12 digits, one between each pair of neighbouring old nodes.

    A Kronrod-type extension (``m + 1`` new nodes for ``m`` old ones) of a rule on a finite interval
    interlaces with the old nodes; bisection on those brackets is slower than an eigenvalue solver but,
    unlike numpy's colleague-matrix roots in double precision (which merge the clustered zeros near
    +-1 into complex pairs at 128 points), it cannot miss a zero. A bracket without a sign change is
    an error.
    """
    kmax = len(coeffs) - 1

    def q(x):
        return mp.fsum(c * v for c, v in zip(coeffs, family.orthonormal(x, kmax)))

    ends = [mp.mpf(family.support[0])] + sorted(old_nodes) + [mp.mpf(family.support[1])]
    vals = [q(x) for x in ends]
    guesses = []
    for a, b, fa, fb in zip(ends, ends[1:], vals, vals[1:]):
        if fa * fb >= 0:
            raise RuntimeError(f"no sign change of the extension polynomial on [{a}, {b}]")
        for _ in range(42):
            mid = (a + b) / 2
            fm = q(mid)
            if fm * fa > 0:
                a, fa = mid, fm
            else:
                b = mid
        guesses.append(float((a + b) / 2))
    return guesses


def gauss_rule(family, q):
    """The ``q``-point Gauss rule of `family` at the working precision (Newton from numpy's nodes)."""
    coeffs = [mp.mpf(0)] * q + [mp.mpf(1)]
    x0, _ = family.np_gauss(q)
    nodes = _polish_roots(family, coeffs, x0)
    # Christoffel numbers: 1 / w_i = sum_{k<q} p_k(x_i)^2
    weights = [1 / mp.fsum(v * v for v in family.orthonormal(x, q - 1)) for x in nodes]
    return nodes, weights


def extension_nodes(family, old_nodes, n_new):
    """The `n_new` nodes that raise the degree of a symmetric rule on `old_nodes` the most.

    Zeros of the monic ``q`` of degree `n_new` with ``integral pi_old q p_j dmu = 0`` for
    ``j < n_new``, where ``pi_old`` is the node polynomial of `old_nodes`.
    """
    m = len(old_nodes)
    if n_new % 2:
        raise ValueError(f"`n_new` must be even to keep the rule symmetric, got {n_new}")
    # pi_old q p_j p_k has degree m + 2 n_new - 1 at most; integrate it exactly.
    q_pts = (m + 2 * n_new) // 2 + 2
    ys, lams = gauss_rule(family, q_pts)
    p_at = [family.orthonormal(y, n_new) for y in ys]
    pi_at = [mp.fprod(y - x for x in old_nodes) for y in ys]

    def inner(j, k):
        return mp.fsum(lam * pi * p[j] * p[k] for lam, pi, p in zip(lams, pi_at, p_at))

    # pi_old has the parity of m and q that of n_new; all other entries vanish by symmetry.
    free = [k for k in range(n_new) if (k - n_new) % 2 == 0]
    rows = [j for j in range(n_new) if (m + n_new + j) % 2 == 0]
    if len(free) != len(rows):
        raise ValueError(f"cannot extend {m} symmetric nodes by {n_new}: parity mismatch")
    a = mp.matrix([[inner(j, k) for k in free] for j in rows])
    b = mp.matrix([-inner(j, n_new) for j in rows])
    sol = mp.lu_solve(a, b)
    coeffs = [mp.mpf(0)] * (n_new + 1)
    for k, value in zip(free, sol):
        coeffs[k] = value
    coeffs[n_new] = mp.mpf(1)

    if family.support is not None and n_new == m + 1:
        guesses = _interlaced_guesses(family, coeffs, old_nodes)
    else:
        guesses = family.np_roots([float(c) for c in coeffs])
        if np.max(np.abs(np.imag(guesses)), initial=0.0) > 1e-8:
            raise RuntimeError(f"extension of {m} nodes by {n_new} has complex nodes")
        guesses = np.real(guesses)
    roots = _polish_roots(family, coeffs, guesses)
    if len(roots) != n_new:
        raise RuntimeError(f"found {len(roots)} of the {n_new} new nodes")
    # By parity the roots come in +-pairs; make them exactly symmetric.
    half = roots[len(roots) // 2:]
    roots = sorted([-x for x in half] + half)
    for x in roots:
        if min(abs(x - y) for y in old_nodes) < mp.mpf(10) ** (-mp.mp.dps // 3):
            raise RuntimeError("a new node coincides with an old one")
    return roots


def interpolatory_weights(family, nodes):
    """Weights of the symmetric interpolatory rule on `nodes` (odd count, symmetric, with 0)."""
    nodes = sorted(nodes)
    npts = len(nodes)
    if npts % 2 == 0:
        raise ValueError("expected an odd number of symmetric nodes")
    half = nodes[npts // 2:]  # 0 and the positive nodes
    if half[0] != 0:
        raise ValueError("expected 0 among the nodes")
    kmax = 2 * (len(half) - 1)
    vals = [family.orthonormal(x, kmax) for x in half]
    # Even orthonormal polynomials: sum over +-x_i of w_i p_2k(x_i) = integral p_2k dmu.
    a = mp.matrix([[(1 if i == 0 else 2) * vals[i][2 * k] for i in range(len(half))]
                   for k in range(len(half))])
    b = mp.matrix([mp.sqrt(family.mu0())] + [0] * (len(half) - 1))
    w_half = list(mp.lu_solve(a, b))
    weights = [w_half[i] for i in range(len(half) - 1, 0, -1)] + w_half
    return nodes, weights


def moment_error(family, nodes, weights, kmax):
    """Largest relative error of the rule on ``x^k``, ``k <= kmax``.

    Odd moments vanish, so their error is taken relative to ``sum |w_i x_i^k|``, the size of the
    terms that have to cancel.
    """
    worst = mp.mpf(0)
    for k in range(kmax + 1):
        exact = family.moment(k)
        terms = [w * x ** k for x, w in zip(nodes, weights)]
        scale = abs(exact) if exact else mp.fsum(abs(t) for t in terms)
        if scale:
            worst = max(worst, abs(mp.fsum(terms) - exact) / scale)
    return worst


def orthonormal_residuals(family, nodes, weights, kmax):
    """``|rule(p_k) - integral p_k dmu|`` for ``k = 0..kmax`` (a scale-free exactness test)."""
    sums = [mp.mpf(0)] * (kmax + 1)
    for x, w in zip(nodes, weights):
        for k, v in enumerate(family.orthonormal(x, kmax)):
            sums[k] += w * v
    sums[0] -= mp.sqrt(family.mu0())
    return [abs(s) for s in sums]


def nested_sequence(family, start_nodes, additions):
    """Rules from repeated extension: level 0 on `start_nodes`, level L adds ``additions[L-1]``."""
    nodes = list(start_nodes)
    levels = []
    for level in range(len(additions) + 1):
        if level > 0:
            nodes = sorted(nodes + extension_nodes(family, nodes, additions[level - 1]))
        nodes, weights = interpolatory_weights(family, nodes)
        if level == 0:
            degree = len(nodes) if len(nodes) % 2 else len(nodes) - 1
        else:
            m = len(nodes) - additions[level - 1]
            degree = m + 2 * additions[level - 1] - 1
            degree += 1 - degree % 2  # symmetric rules are exact on odd monomials
        levels.append(dict(level=level, nodes=nodes, weights=weights, degree=degree))
    return levels


# --- the two families ---------------------------------------------------------------------------

def gauss_patterson(max_level=7):
    """Gauss–Patterson levels ``0..max_level`` (``2**(L+1) - 1`` points) at the working precision."""
    additions = [2 ** level for level in range(1, max_level + 1)]  # 1 -> 3 -> 7 -> ...
    return nested_sequence(LEGENDRE, [mp.mpf(0)], additions)


def genz_keister(additions=GENZ_KEISTER_ADDITIONS):
    """Genz–Keister levels for N(0, 1): 1 point, then `additions` points added per level."""
    return nested_sequence(NORMAL, [mp.mpf(0)], additions)


# --- published values used as a cross-check ----------------------------------------------------
# J. Burkardt, patterson_rule / quadrule ``patterson_set`` (values to 20-21 significant digits; it cites
# Patterson (1968) and P. Kythe, M. Schaeferkotter, Handbook of Computational Methods for Integration,
# 2004); copy checked: github.com/tnakaicode/jburkardt-python, patterson_rule/patterson_rule.py.
# Per rule size: (node, weight) pairs from the largest node downward (all non-negative nodes up to
# 63 points, the largest ones for 127 and 255).
PUBLISHED_PATTERSON = {
    3: [
        ("0.77459666924148337704", "0.555555555555555555556"),
        ("0.0", "0.888888888888888888889"),
    ],
    7: [
        ("0.96049126870802028342", "0.104656226026467265194"),
        ("0.77459666924148337704", "0.268488089868333440729"),
        ("0.43424374934680255800", "0.401397414775962222905"),
        ("0.0", "0.450916538658474142345"),
    ],
    15: [
        ("0.99383196321275502221", "0.0170017196299402603390"),
        ("0.96049126870802028342", "0.0516032829970797396969"),
        ("0.88845923287225699889", "0.0929271953151245376859"),
        ("0.77459666924148337704", "0.134415255243784220360"),
        ("0.62110294673722640294", "0.171511909136391380787"),
        ("0.43424374934680255800", "0.200628529376989021034"),
        ("0.22338668642896688163", "0.219156858401587496404"),
        ("0.0", "0.225510499798206687386"),
    ],
    31: [
        ("0.99909812496766759766", "0.00254478079156187441540"),
        ("0.99383196321275502221", "0.00843456573932110624631"),
        ("0.98153114955374010687", "0.0164460498543878109338"),
        ("0.96049126870802028342", "0.0258075980961766535646"),
        ("0.92965485742974005667", "0.0359571033071293220968"),
        ("0.88845923287225699889", "0.0464628932617579865414"),
        ("0.83672593816886873550", "0.0569795094941233574122"),
        ("0.77459666924148337704", "0.0672077542959907035404"),
        ("0.70249620649152707861", "0.0768796204990035310427"),
        ("0.62110294673722640294", "0.0857559200499903511542"),
        ("0.53131974364437562397", "0.0936271099812644736167"),
        ("0.43424374934680255800", "0.100314278611795578771"),
        ("0.33113539325797683309", "0.105669893580234809744"),
        ("0.22338668642896688163", "0.109578421055924638237"),
        ("0.11248894313318662575", "0.111956873020953456880"),
        ("0.0", "0.112755256720768691607"),
    ],
    63: [
        ("0.99987288812035761194", "0.000363221481845530659694"),
        ("0.99909812496766759766", "0.00126515655623006801137"),
        ("0.99720625937222195908", "0.00257904979468568827243"),
        ("0.99383196321275502221", "0.00421763044155885483908"),
        ("0.98868475754742947994", "0.00611550682211724633968"),
        ("0.98153114955374010687", "0.00822300795723592966926"),
        ("0.97218287474858179658", "0.0104982469096213218983"),
        ("0.96049126870802028342", "0.0129038001003512656260"),
        ("0.94634285837340290515", "0.0154067504665594978021"),
        ("0.92965485742974005667", "0.0179785515681282703329"),
        ("0.91037115695700429250", "0.0205942339159127111492"),
        ("0.88845923287225699889", "0.0232314466399102694433"),
        ("0.86390793819369047715", "0.0258696793272147469108"),
        ("0.83672593816886873550", "0.0284897547458335486125"),
        ("0.80694053195021761186", "0.0310735511116879648799"),
        ("0.77459666924148337704", "0.0336038771482077305417"),
        ("0.73975604435269475868", "0.0360644327807825726401"),
        ("0.70249620649152707861", "0.0384398102494555320386"),
        ("0.66290966002478059546", "0.0407155101169443189339"),
        ("0.62110294673722640294", "0.0428779600250077344929"),
        ("0.57719571005204581484", "0.0449145316536321974143"),
        ("0.53131974364437562397", "0.0468135549906280124026"),
        ("0.48361802694584102756", "0.0485643304066731987159"),
        ("0.43424374934680255800", "0.0501571393058995374137"),
        ("0.38335932419873034692", "0.0515832539520484587768"),
        ("0.33113539325797683309", "0.0528349467901165198621"),
        ("0.27774982202182431507", "0.0539054993352660639269"),
        ("0.22338668642896688163", "0.0547892105279628650322"),
        ("0.16823525155220746498", "0.0554814043565593639878"),
        ("0.11248894313318662575", "0.0559784365104763194076"),
        ("0.056344313046592789972", "0.0562776998312543012726"),
        ("0.0", "0.0563776283603847173877"),
    ],
    127: [
        ("0.99998243035489159858", "0.0000505360952078625176247"),
        ("0.99987288812035761194", "0.000180739564445388357820"),
        ("0.99959879967191068325", "0.000377746646326984660274"),
        ("0.99909812496766759766", "0.000632607319362633544219"),
        ("0.99831663531840739253", "0.000938369848542381500794"),
        ("0.99720625937222195908", "0.00128952408261041739210"),
        ("0.99572410469840718851", "0.00168114286542146990631"),
        ("0.99383196321275502221", "0.00210881524572663287933"),
        ("0.99149572117810613240", "0.00256876494379402037313"),
        ("0.98868475754742947994", "0.00305775341017553113613"),
        ("0.98537149959852037111", "0.00357289278351729964938"),
        ("0.98153114955374010687", "0.00411150397865469304717"),
    ],
    255: [
        ("0.99999759637974846462", "0.69379364324108267170E-05"),
        ("0.99998243035489159858", "0.25157870384280661489E-04"),
        ("0.99994399620705437576", "0.53275293669780613125E-04"),
        ("0.99987288812035761194", "0.90372734658751149261E-04"),
        ("0.99976049092443204733", "0.13575491094922871973E-03"),
        ("0.99959879967191068325", "0.18887326450650491366E-03"),
        ("0.99938033802502358193", "0.24921240048299729402E-03"),
        ("0.99909812496766759766", "0.31630366082226447689E-03"),
        ("0.99874561446809511470", "0.38974528447328229322E-03"),
        ("0.99831663531840739253", "0.46918492424785040975E-03"),
        ("0.99780535449595727456", "0.55429531493037471492E-03"),
        ("0.99720625937222195908", "0.64476204130572477933E-03"),
        ("0.99651414591489027385", "0.74028280424450333046E-03"),
        ("0.99572410469840718851", "0.84057143271072246365E-03"),
        ("0.99483150280062100052", "0.94536151685852538246E-03"),
        ("0.99383196321275502221", "0.10544076228633167722E-02"),
        ("0.99272134428278861533", "0.11674841174299594077E-02"),
        ("0.99149572117810613240", "0.12843824718970101768E-02"),
    ],
}

# J. Burkardt, sandia_rules ``hermite_genz_keister_lookup_points`` / ``_weights`` (values to about
# 17 digits, "some of the data ... supplied directly by Alan Genz"); copy checked:
# github.com/johannesgerer/jburkardt-m, sandia_rules/hermite_genz_keister_lookup_*.m.
# These are for the weight exp(-x^2): x_N(0,1) = sqrt(2) x, w_N(0,1) = w / sqrt(pi).
# Per rule size: non-negative (node, weight) pairs from the largest node down.
PUBLISHED_GENZ_KEISTER = {
    3: [
        ("1.2247448713915889", "2.9540897515091930E-01"),
        ("0.0", "1.1816359006036772"),
    ],
    9: [
        ("2.9592107790638380", "1.6708826306882348E-04"),
        ("2.0232301911005157", "1.4173117873979098E-02"),
        ("1.2247448713915889", "1.6811892894767771E-01"),
        ("5.2403354748695763E-01", "4.7869428549114124E-01"),
        ("0.0", "4.5014700975378197E-01"),
    ],
    19: [
        ("4.4995993983103881", "1.5295717705322357E-09"),
        ("3.6677742159463378", "1.0802767206624762E-06"),
        ("2.9592107790638380", "1.0656589772852267E-04"),
        ("2.2665132620567876", "5.1133174390883855E-03"),
        ("2.0232301911005157", "-1.1232438489069229E-02"),
        ("1.8357079751751868", "3.2055243099445879E-02"),
        ("1.2247448713915889", "1.1360729895748269E-01"),
        ("8.7004089535290285E-01", "1.0838861955003017E-01"),
        ("5.2403354748695763E-01", "3.6924643368920851E-01"),
        ("0.0", "5.3788160700510168E-01"),
    ],
    35: [
        ("6.3759392709822356", "1.8684014894510604E-18"),
        ("5.6432578578857449", "9.6599466278563243E-15"),
        ("5.0360899444730940", "5.4896836948499462E-12"),
        ("4.4995993983103881", "8.1553721816916897E-10"),
        ("4.0292201405043713", "3.7920222392319532E-08"),
        ("3.6677742159463378", "4.3737818040926989E-07"),
        ("3.3491639537131945", "4.8462799737020461E-06"),
        ("2.9592107790638380", "6.3328620805617891E-05"),
        ("2.5705583765842968", "4.8785399304443770E-04"),
        ("2.2665132620567876", "1.4515580425155904E-03"),
        ("2.0232301911005157", "4.0967527720344047E-03"),
        ("1.8357079751751868", "5.5928828911469180E-03"),
        ("1.5794121348467671", "2.7780508908535097E-02"),
        ("1.2247448713915889", "8.0245518147390893E-02"),
        ("8.7004089535290285E-01", "1.6371221555735804E-01"),
        ("5.2403354748695763E-01", "2.6244871488784277E-01"),
        ("1.7606414208200893E-01", "3.3988595585585218E-01"),
        ("0.0", "9.1262675363737921E-04"),
    ],
    37: [
        ("6.853200069757519", "0.337304188079177058E-20"),
        ("6.124527854622158", "0.332834739632930463E-16"),
        ("5.521865209868350", "0.323016866782871498E-13"),
        ("4.986551454150765", "0.809333688669950037E-11"),
        ("4.499599398310388", "0.748907559239519284E-09"),
        ("4.057956316089741", "0.294146671497083432E-07"),
        ("3.667774215946338", "0.524482423744884136E-06"),
        ("3.315584617593290", "0.586639457073896277E-05"),
        ("2.959210779063838", "0.571885531470621903E-04"),
        ("2.597288631188366", "0.41642095727577091E-03"),
        ("2.266513262056788", "0.174733389581099482E-02"),
        ("2.023230191100516", "0.313373786000304381E-02"),
        ("1.835707975175187", "0.768092665770660459E-02"),
        ("1.561553427651873", "0.274962713372148476E-01"),
        ("1.224744871391589", "0.783630990508037449E-01"),
        ("0.870040895352903", "0.16611584261479281"),
        ("0.524033547486958", "0.253636910481387185"),
        ("0.214618180588171", "0.261712932511430884"),
        ("0.0", "0.171719680968980257"),
    ],
    41: [
        ("7.251792998192644", "0.117725656974405367E-22"),
        ("6.547083258397540", "0.152506745534300636E-18"),
        ("5.961461043404500", "0.202183949965101288E-15"),
        ("5.437443360177798", "0.724614869051195508E-13"),
        ("4.953574342912980", "0.103121966469463034E-10"),
        ("4.4995993983103881", "0.710371395169350952E-09"),
        ("4.070919267883068", "0.264376044449260516E-07"),
        ("3.6677742159463378", "0.558982787078644997E-06"),
        ("3.296114596212218", "0.675628907134744976E-05"),
        ("2.9592107790638380", "0.512198007019776873E-04"),
        ("2.630415236459871", "0.335013114947200879E-03"),
        ("2.2665132620567876", "0.249379691096933139E-02"),
        ("2.043834754429505", "-0.25616995850607458E-01"),
        ("2.0232301911005157", "0.317007878644325588E-01"),
        ("1.8357079751751868", "0.125041498584003435E-02"),
        ("1.585873011819188", "0.293244560924894295E-01"),
        ("1.2247448713915889", "0.799536390803302298E-01"),
        ("0.87004089535290285", "0.164543666806555251"),
        ("0.52403354748695763", "0.258718519718241095"),
        ("0.195324784415805", "0.293588795735908566"),
        ("0.0", "0.997525375254611951E-01"),
    ],
    43: [
        ("10.167574994881873", "0.968100020641528185E-37"),
        ("7.231746029072501", "0.15516931262860431E-22"),
        ("6.535398426382995", "0.175937309107750992E-18"),
        ("5.954781975039809", "0.217337608710893738E-15"),
        ("5.434053000365068", "0.747837010380540069E-13"),
        ("4.952329763008589", "0.104028132097205732E-10"),
        ("4.4995993983103881", "0.70903573389336778E-09"),
        ("4.071335874253583", "0.263481722999966618E-07"),
        ("3.6677742159463378", "0.560127964848432175E-06"),
        ("3.295265921534226", "0.680410934802210232E-05"),
        ("2.9592107790638380", "0.508343873102544037E-04"),
        ("2.633356763661946", "0.32753080006610181E-03"),
        ("2.2665132620567876", "0.267479828788552937E-02"),
        ("2.089340389294661", "-0.687704270963253854E-02"),
        ("2.0232301911005157", "0.119383201790913588E-01"),
        ("1.8357079751751868", "0.248083722871002796E-02"),
        ("1.583643465293944", "0.29000335749726387E-01"),
        ("1.2247448713915889", "0.798689557875757008E-01"),
        ("0.87004089535290285", "0.164609842422580606"),
        ("0.52403354748695763", "0.258535954731607738"),
        ("0.196029453662011", "0.292243810406117141"),
        ("0.0", "0.102730713753441829"),
    ],
}


def _last_place(text):
    """Value of one unit in the last printed digit of a decimal string such as ``"0.1054E-02"``."""
    mantissa, _, exponent = text.upper().replace("D", "E").partition("E")
    decimals = len(mantissa.partition(".")[2])
    return mp.mpf(10) ** (int(exponent or 0) - decimals)


def compare_published(levels, published, node_scale=1, weight_scale=1):
    """Differences from `published` (node, weight) pairs, per rule size.

    Returns ``{size: (max rel node diff, max rel weight diff, max diff in units of the last
    published digit)}``; a correctly rounded published table gives at most 0.5 in the last column.
    """
    by_size = {len(lv["nodes"]): lv for lv in levels}
    report = {}
    for size, pairs in published.items():
        if size not in by_size:
            continue
        lv = by_size[size]
        top = list(zip(lv["nodes"], lv["weights"]))[::-1]
        dx = dw = units = mp.mpf(0)
        for (x_s, w_s), (x, w) in zip(pairs, top):
            xp, wp = mp.mpf(x_s) * node_scale, mp.mpf(w_s) * weight_scale
            dx = max(dx, abs(x - xp) / max(abs(xp), 1))
            dw = max(dw, abs(w - wp) / abs(wp))
            units = max(units, abs(x - xp) / (_last_place(x_s) * node_scale),
                        abs(w - wp) / (_last_place(w_s) * weight_scale))
        report[size] = (dx, dw, units)
    return report


# --- output -------------------------------------------------------------------------------------

def _fmt(x):
    return "0.0" if x == 0 else mp.nstr(x, DIGITS, strip_zeros=False)


def _serialize(levels):
    return [dict(level=lv["level"], points=len(lv["nodes"]), degree=lv["degree"],
                 nodes=[_fmt(x) for x in lv["nodes"]], weights=[_fmt(w) for w in lv["weights"]])
            for lv in levels]


def _agreement(a_levels, b_levels):
    """Largest relative difference between two computations of the same levels."""
    worst = mp.mpf(0)
    for a, b in zip(a_levels, b_levels):
        for key in ("nodes", "weights"):
            for x, y in zip(a[key], b[key]):
                worst = max(worst, abs(x - y) / max(abs(y), mp.mpf(10) ** -300 if key == "weights" else 1))
    return worst


def _double_exactness(family, level):
    """Relative moment errors after rounding the written strings to float64.

    Returns the error with the sum done exactly (the effect of the rounding alone) and with the
    sum done in float64 as a user would (``weights @ nodes**k``).
    """
    x64 = np.array([float(s) for s in level["nodes"]])
    w64 = np.array([float(s) for s in level["weights"]])
    exact_sum = moment_error(family, [mp.mpf(v) for v in x64], [mp.mpf(v) for v in w64], level["degree"])
    float_sum = 0.0
    for k in range(level["degree"] + 1):
        exact = float(family.moment(k))
        terms = w64 * x64 ** k
        scale = abs(exact) if exact else np.abs(terms).sum()
        if scale:
            float_sum = max(float_sum, abs(terms.sum() - exact) / scale)
    return exact_sum, float_sum


def _run(name, build, family, dps, check_dps, published, node_scale, weight_scale):
    t0 = time.perf_counter()
    with mp.workdps(dps):
        levels = build()
        seconds = time.perf_counter() - t0
        print(f"{name}: built {len(levels)} levels at dps={dps} in {seconds:.1f} s")
        for lv in levels:
            d = lv["degree"]
            err = moment_error(family, lv["nodes"], lv["weights"], d)
            res = orthonormal_residuals(family, lv["nodes"], lv["weights"], d + 1)
            print(f"  level {lv['level']}: {len(lv['nodes']):4d} points, degree {d:3d}: "
                  f"max rel error on x^k, k<={d}: {mp.nstr(err, 3)}; on p_k, k<={d}: "
                  f"{mp.nstr(max(res[:-1]), 3)}; |rule(p_{d + 1})| = {mp.nstr(res[-1], 3)} (not exact); "
                  f"min weight {mp.nstr(min(lv['weights']), 5)}")
        for size, (dx, dw, units) in compare_published(levels, published, node_scale, weight_scale).items():
            print(f"  vs published {size:3d}-point rule: max rel node diff {mp.nstr(dx, 3)}, "
                  f"max rel weight diff {mp.nstr(dw, 3)}, max diff {mp.nstr(units, 3)} units in the "
                  f"last published digit")
    if check_dps:
        t1 = time.perf_counter()
        with mp.workdps(check_dps):
            check = build()
            agree = _agreement(levels, check)
        print(f"  recomputed at dps={check_dps} in {time.perf_counter() - t1:.1f} s: "
              f"max rel difference {mp.nstr(agree, 3)}")
        if agree > mp.mpf(10) ** (-DIGITS - 2):
            raise RuntimeError(f"{name}: dps={dps} is not enough for {DIGITS} digits")
    serial = _serialize(levels)
    # Every level's nodes must reappear, as the same strings, in the next.
    for a, b in zip(serial, serial[1:]):
        if not set(a["nodes"]) <= set(b["nodes"]):
            raise RuntimeError(f"{name}: level {a['level']} is not nested in level {b['level']}")
    with mp.workdps(dps):
        for lv in serial:
            exact_sum, float_sum = _double_exactness(family, lv)
            print(f"  level {lv['level']}: strings rounded to float64: max rel error on x^k, "
                  f"k<={lv['degree']}: {mp.nstr(exact_sum, 3)} (exact sum), {float_sum:.3g} (float64 sum)")
    return levels, serial


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dps", type=int, default=120, help="working precision (decimal digits)")
    parser.add_argument("--check-dps", type=int, default=150,
                        help="recompute at this precision and require agreement to the written digits")
    parser.add_argument("--no-check", action="store_true", help="skip the second computation")
    parser.add_argument("--only", choices=["patterson", "genz-keister"])
    parser.add_argument("--max-patterson-level", type=int, default=7)
    parser.add_argument("--out-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    check_dps = None if args.no_check else args.check_dps
    args.out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    if args.only in (None, "patterson"):
        _, serial = _run("Gauss-Patterson", lambda: gauss_patterson(args.max_patterson_level), LEGENDRE,
                         args.dps, check_dps, PUBLISHED_PATTERSON, 1, 1)
        doc = {
            "source": ("Gauss-Patterson rules for integral_{-1}^{1} f(x) dx: level 0 is the midpoint "
                       "rule, level L >= 1 adds 2**L nodes, the zeros of the polynomial orthogonal to "
                       "degree < 2**L against the node polynomial of level L-1 (Patterson 1968, Math. "
                       "Comp. 22, 847-856). Computed by quadlib tools/make_nested_tables.py with mpmath; "
                       "checked against Burkardt's patterson_rule tables (20 digits)."),
            "dps": args.dps,
            "digits": DIGITS,
            "weight_function": "1",
            "domain": [-1, 1],
            "levels": serial,
        }
        path = args.out_dir / "gauss_patterson.json"
        path.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {path}")

    if args.only in (None, "genz-keister"):
        sqrt2, sqrtpi = mp.sqrt(2), mp.sqrt(mp.pi)
        _, serial = _run("Genz-Keister", genz_keister, NORMAL, args.dps, check_dps,
                         PUBLISHED_GENZ_KEISTER, sqrt2, 1 / sqrtpi)
        variants = []
        for extra in GENZ_KEISTER_FINAL_VARIANTS:
            additions = GENZ_KEISTER_ADDITIONS[:-1] + (extra,)
            designation = "1+" + "+".join(map(str, additions))
            levels_v, serial_v = _run(f"Genz-Keister {designation}", lambda a=additions: genz_keister(a),
                                      NORMAL, args.dps, check_dps, PUBLISHED_GENZ_KEISTER, sqrt2, 1 / sqrtpi)
            last = serial_v[-1]
            last.pop("level")
            variants.append(dict(designation=designation, extends_level=len(additions) - 1, **last))
        doc = {
            "source": ("Genz-Keister nested rules for E[f(Z)], Z ~ N(0, 1), sequence 1+2+6+10+16 "
                       "(1, 3, 9, 19, 35 points; Genz & Keister 1996, J. Comput. Appl. Math. 71, "
                       "299-309): level L adds the given number of nodes so as to maximize the degree "
                       "(Kronrod-Patterson extension with extra points). Computed by quadlib "
                       "tools/make_nested_tables.py with mpmath; checked against Burkardt's "
                       "hermite_genz_keister_lookup tables (16-17 digits, scaled from exp(-x^2) to "
                       "N(0, 1)). 'final_level_variants' are the published alternative last steps "
                       "1+2+6+10+18, +22, +24 (37, 41, 43 points), each extending level 3."),
            "dps": args.dps,
            "digits": DIGITS,
            "weight_function": "exp(-x**2/2)/sqrt(2*pi)",
            "domain": ["-inf", "inf"],
            "levels": serial,
            "final_level_variants": variants,
        }
        path = args.out_dir / "genz_keister.json"
        path.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {path}")

    print(f"total {time.perf_counter() - t_start:.1f} s")


if __name__ == "__main__":
    main()
