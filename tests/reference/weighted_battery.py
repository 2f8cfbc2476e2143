"""Issue 21: the weighted battery (55 integrals) with exact values from closed forms evaluated in mpmath at 40
digits, and scipy.integrate.quad run on it (its silent failures and nfev).

From /work/notes/issue21/weighted_battery.py (49 cases), extended with exp(-x) cos/sin(omega x) at omega = 1e2,
1e4, 1e5 (the large-omega nfev per decade) and with an mpmath version of every integrand, so that
``quadlib.reference.quad_weighted`` can be checked against the closed forms (a second, independent way).

Each case: (name, f (numpy), f_mp (mpmath), a, b, weight, wvar, exact-thunk). Weight meanings are scipy's:
cos: f(x) cos(w x); sin: f(x) sin(w x); cauchy: f(x)/(x - c); alg: f(x) (x-a)^al (b-x)^be;
alg-loga: ... * log(x-a); alg-logb: ... * log(b-x); alg-log: ... * log(x-a) log(b-x).
"""
import math
import warnings

import mpmath as mp
import numpy as np

inf = np.inf


def _one(x):
    return np.ones_like(x)


def cases():
    mp.mp.dps = 40
    out = []
    # --- QAWO: finite range
    for w in (1e-2, 1.0, 10.0, 1e2, 1e3, 1e4, 1e5, 1e6):
        z = lambda w=w: (mp.exp(mp.mpf(-1) + 1j * mp.mpf(w)) - 1) / (mp.mpf(-1) + 1j * mp.mpf(w))  # noqa: E731
        out.append((f"exp(-x)cos({w:g}x) [0,1]", lambda x: np.exp(-x), lambda x: mp.exp(-x), 0.0, 1.0, "cos", w,
                    lambda z=z: mp.re(z())))
        out.append((f"exp(-x)sin({w:g}x) [0,1]", lambda x: np.exp(-x), lambda x: mp.exp(-x), 0.0, 1.0, "sin", w,
                    lambda z=z: mp.im(z())))
    for w in (10 * math.pi, 1e4):
        W = mp.mpf(w)
        out.append((f"log(x)sin({w:g}x) [0,1]", np.log, mp.log, 0.0, 1.0, "sin", w,
                    lambda W=W: -(mp.euler + mp.log(W) - mp.ci(W)) / W))
        out.append((f"log(x)cos({w:g}x) [0,1]", np.log, mp.log, 0.0, 1.0, "cos", w, lambda W=W: -mp.si(W) / W))
    for w in (1.0, 1e6):
        W = mp.mpf(w)
        out.append((f"cos({w:g}x)/sqrt(x) [0,1]", lambda x: 1 / np.sqrt(x), lambda x: 1 / mp.sqrt(x), 0.0, 1.0,
                    "cos", w, lambda W=W: mp.sqrt(2 * mp.pi / W) * mp.fresnelc(mp.sqrt(2 * W / mp.pi))))
    # --- QAWF: [a, inf)
    for w in (1.0, 1e2):
        out.append((f"exp(-x)cos({w:g}x) [0,inf)", lambda x: np.exp(-x), lambda x: mp.exp(-x), 0.0, inf, "cos", w,
                    lambda w=w: 1 / (1 + mp.mpf(w) ** 2)))
    for w in (1.0, 5.0):
        out.append((f"cos({w:g}x)/(1+x^2) [0,inf)", lambda x: 1 / (1 + x * x), lambda x: 1 / (1 + x * x), 0.0, inf,
                    "cos", w, lambda w=w: mp.pi / 2 * mp.exp(-mp.mpf(w))))
    out.append(("x sin(x)/(1+x^2) [0,inf)", lambda x: x / (1 + x * x), lambda x: x / (1 + x * x), 0.0, inf, "sin",
                1.0, lambda: mp.pi / 2 * mp.exp(-1)))
    for w in (1.0, 1e3):
        out.append((f"sin({w:g}x)/sqrt(x) [0,inf)", lambda x: 1 / np.sqrt(x), lambda x: 1 / mp.sqrt(x), 0.0, inf,
                    "sin", w, lambda w=w: mp.sqrt(mp.pi / (2 * mp.mpf(w)))))
    for w in (1.0, 1e2):
        W = mp.mpf(w)
        out.append((f"cos({w:g}x)/x [1,inf)", lambda x: 1 / x, lambda x: 1 / x, 1.0, inf, "cos", w,
                    lambda W=W: -mp.ci(W)))
        out.append((f"sin({w:g}x)/x [1,inf)", lambda x: 1 / x, lambda x: 1 / x, 1.0, inf, "sin", w,
                    lambda W=W: mp.pi / 2 - mp.si(W)))
    # --- QAWC: principal values
    for c in (0.0, 0.5, 1 - 1e-8, -1 + 1e-6):
        C = mp.mpf(c)
        out.append((f"PV 1/(x-{c:g}) [-1,1]", _one, lambda x: mp.mpf(1), -1.0, 1.0, "cauchy", c,
                    lambda C=C: mp.log((1 - C) / (1 + C))))
    for c in (0.5, 1e-9):
        C = mp.mpf(c)
        out.append((f"PV e^x/(x-{c:g}) [0,1]", np.exp, mp.exp, 0.0, 1.0, "cauchy", c,
                    lambda C=C: mp.exp(C) * (mp.ei(1 - C) - mp.ei(-C))))
    out.append(("PV 1/(x(5x^3+6)) [-1,5] (QUADPACK)", lambda x: 1 / (5 * x ** 3 + 6), lambda x: 1 / (5 * x ** 3 + 6),
                -1.0, 5.0, "cauchy", 0.0, lambda: mp.log(mp.mpf(125) / 631) / 18))
    for c in (0.1, 2.999):
        C = mp.mpf(c)
        out.append((f"PV cos(x)/(x-{c:g}) [-2,3]", np.cos, mp.cos, -2.0, 3.0, "cauchy", c,
                    lambda C=C: mp.cos(C) * (mp.ci(3 - C) - mp.ci(C + 2)) - mp.sin(C) * (mp.si(3 - C) - mp.si(-2 - C))))
    # --- QAWS on [0, 1]: B = Beta(al+1, be+1), s = al + be + 2
    B = lambda al, be: mp.beta(mp.mpf(al) + 1, mp.mpf(be) + 1)  # noqa: E731
    for al, be in ((-0.5, -0.5), (-0.999, 0.0), (0.3, -0.999), (2.5, 1.5)):
        out.append((f"e^x x^{al}(1-x)^{be}", np.exp, mp.exp, 0.0, 1.0, "alg", (al, be),
                    lambda al=al, be=be: B(al, be) * mp.hyp1f1(mp.mpf(al) + 1, mp.mpf(al) + mp.mpf(be) + 2, 1)))
    for al, be in ((-0.5, 0.0), (-0.999, 0.5)):
        out.append((f"x^{al}(1-x)^{be} log x", _one, lambda x: mp.mpf(1), 0.0, 1.0, "alg-loga", (al, be),
                    lambda al=al, be=be: B(al, be) * (mp.digamma(mp.mpf(al) + 1)
                                                      - mp.digamma(mp.mpf(al) + mp.mpf(be) + 2))))
    out.append(("(1-x)^-0.9 log(1-x)", _one, lambda x: mp.mpf(1), 0.0, 1.0, "alg-logb", (0.0, -0.9),
                lambda: B(0, -0.9) * (mp.digamma(mp.mpf(-0.9) + 1) - mp.digamma(mp.mpf(-0.9) + 2))))
    s = mp.mpf(1)
    out.append(("x^-.5(1-x)^-.5 log x log(1-x)", _one, lambda x: mp.mpf(1), 0.0, 1.0, "alg-log", (-0.5, -0.5),
                lambda: B(-0.5, -0.5) * ((mp.digamma(0.5) - mp.digamma(s)) ** 2 - mp.psi(1, s))))
    out.append(("log(x)/(1+log(x)^2)^2 (QUADPACK QAWS)", lambda x: 1 / (1 + np.log(x) ** 2) ** 2,
                lambda x: 1 / (1 + mp.log(x) ** 2) ** 2, 0.0, 1.0, "alg-loga", (0.0, 0.0),
                # x = exp(-t): -int_0^inf t exp(-t) / (1 + t^2)^2 dt, by mpmath (exponential decay)
                lambda: -mp.quad(lambda t: t * mp.exp(-t) / (1 + t * t) ** 2, [0, 1, 10, mp.inf])))
    # on a general interval: (x+1)^al (2-x)^be on [-1, 2], f = 1: 3^(al+be+1) B
    for al, be in ((-0.7, 0.2), (1.0, -0.99)):
        out.append((f"(x+1)^{al}(2-x)^{be} [-1,2]", _one, lambda x: mp.mpf(1), -1.0, 2.0, "alg", (al, be),
                    lambda al=al, be=be: mp.mpf(3) ** (mp.mpf(al) + mp.mpf(be) + 1) * B(al, be)))
    for al, be in ((-0.5, 0.5), (0.0, -0.75)):
        # log(x - a) = log 3 + log u
        out.append((f"(x+1)^{al}(2-x)^{be} log(x+1) [-1,2]", _one, lambda x: mp.mpf(1), -1.0, 2.0, "alg-loga",
                    (al, be), lambda al=al, be=be: mp.mpf(3) ** (mp.mpf(al) + mp.mpf(be) + 1) * B(al, be) *
                    (mp.log(3) + mp.digamma(mp.mpf(al) + 1) - mp.digamma(mp.mpf(al) + mp.mpf(be) + 2))))
    return out


def scipy_atol(b, weight, rtol, exact):
    """scipy refuses epsabs = 0 for weight cos/sin on [a, inf): the smallest absolute tolerance it takes."""
    return rtol * abs(exact) if (b == inf and weight in ("cos", "sin")) else 0.0


def run_scipy(rtol=1e-10):
    """Rows (name, exact, value, error, true error, nfev, reported ok, silent) of scipy's quad on the battery."""
    import scipy.integrate as si

    rows = []
    for name, f, _, a, b, weight, wvar, exact in cases():
        value_exact = float(exact())
        g = lambda x, f=f: float(f(np.float64(x)))  # noqa: E731
        atol = scipy_atol(b, weight, rtol, value_exact)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = si.quad(g, a, b, weight=weight, wvar=wvar, epsabs=atol, epsrel=rtol, limit=200, full_output=1)
        value, err, info = out[0], out[1], out[2]
        ok = not caught and (len(out) < 4 or out[3] == "")
        nfev = info.get("neval", -1) if isinstance(info, dict) else -1
        true = abs(value - value_exact)
        silent = ok and (true > max(err, atol, rtol * abs(value_exact)))
        rows.append((name, value_exact, value, err, true, nfev, ok, silent))
    return rows


if __name__ == "__main__":
    rows = run_scipy()
    print(f"{len(rows)} cases")
    for name, exact, value, err, true, nfev, ok, silent in rows:
        flag = "SILENT" if silent else ("fail" if not ok else "")
        print(f"{name:42s} exact {exact: .15e} err-true {true:8.1e} est {err:8.1e} nfev {nfev:6d} {flag}")
    print("scipy silent failures:", sum(r[7] for r in rows), " reported failures:", sum(not r[6] for r in rows),
          " median nfev:", float(np.median([r[5] for r in rows])))
