"""quadlib.benchmark and `quadlib accuracy`: the honesty verdict is checked against the problems' known
values (closed forms and mpmath), and registration, errors and outputs work."""
import math
import sys

import numpy as np
import pytest

from quadlib import benchmark


def test_quadlib_methods_are_honest_on_the_whole_battery():
    table = benchmark.run(methods=["quad", "tanh_sinh", "cubature"], rtols=[1e-6, 1e-10])
    assert len(table) > 200 and table["honest"].all()
    # the exact values are independent of the methods: a successful run is within its tolerance
    ok = table[table["success"]]
    assert (ok["error"] <= np.maximum(ok["estimate"], ok["rtol"]) * 1.01 + 4e-16).all()
    assert set(table["kind"]) == {"1d", "genz", "normal"}


def test_the_verdict_catches_a_known_silent_failure():
    # scipy's quad misses Kahaner's sech spikes and claims success (the README's example)
    row = benchmark.run(problems=["kahaner_sech_spikes"], methods=["scipy.quad"], rtols=[1e-8]).iloc[0]
    assert row["success"] and not row["honest"] and row["error"] > 1e-4


def test_user_problems_and_methods():
    benchmark.register_problem(benchmark.Problem("user_x2", lambda x: x * x, 0.0, 3.0, 9.0))
    benchmark.register_method("user_midpoint", lambda p, rtol: (float(np.mean(p.f(np.linspace(p.a, p.b, 10001)))
                                                                      * (p.b - p.a)), 1e-3, 10001, True))
    table = benchmark.run(problems=["user_x2"], methods=["user_midpoint", "quad"], rtols=[1e-6])
    assert list(table["method"]) == ["user_midpoint", "quad"]
    assert table.set_index("method").loc["quad", "error"] < 1e-15
    with pytest.raises(ValueError, match="already registered"):
        benchmark.register_problem(benchmark.Problem("user_x2", np.sin, 0.0, 1.0, 0.0))
    with pytest.raises(ValueError, match="`methods`"):
        benchmark.run(methods=["nope"])
    with pytest.raises(ValueError, match="`rtols`"):
        benchmark.run(problems=["user_x2"], rtols=[2.0])


def test_cli(tmp_path, capsys):
    from quadlib._cli import main

    csv, png = tmp_path / "runs.csv", tmp_path / "curves.png"
    assert main(["accuracy", "--problems", "bjl01", "genz_gaussian_2d", "--rtol", "1e-8", "--csv", str(csv),
                 "--plot", str(png), "--quiet"]) == 0
    assert "quad" in capsys.readouterr().out and csv.read_text().startswith("method,") and png.stat().st_size > 0
    assert main(["accuracy", "--methods", "nope", "--quiet"]) == 2
    assert "unknown methods" in capsys.readouterr().err
    assert main(["accuracy", "--problems", "bjl01", "--csv", str(tmp_path / "no" / "x.csv"), "--quiet"]) == 2
    assert "`--csv`" in capsys.readouterr().err
    assert main(["accuracy", "--problems", "nope", "--quiet"]) == 2
    assert "unknown problems" in capsys.readouterr().err


def test_cli_plot_without_matplotlib(tmp_path, capsys, monkeypatch):
    from quadlib._cli import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    assert main(["accuracy", "--problems", "bjl01", "--plot", str(tmp_path / "x.png"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "matplotlib" in err and "Traceback" not in err and not (tmp_path / "x.png").exists()


# each new method on a few problems it applies to: (method, problems, rtol, achieved error bound)
NEW_METHODS = [
    ("gauss_legendre", ["bjl01", "kahaner_cosh", "kink_abs"], 1e-10, 1e-12),
    ("clenshaw_curtis", ["bjl01", "kahaner_cosh"], 1e-10, 1e-12),
    ("gauss_hermite", ["logistic_normal_-1_1", "logistic_normal_2_3"], 1e-8, 1e-9),
    ("agq", ["logistic_normal_-1_1", "logistic_normal_0.5_2"], 1e-8, 1e-9),
    ("sparse_grid", ["genz_oscillatory_2d", "genz_gaussian_2d"], 1e-6, 1e-7),
    ("qmc_quad", ["genz_continuous_2d"], 1e-3, 1e-3),
    ("cubature.qmc", ["genz_continuous_2d"], 1e-3, 1e-3),
    ("scipy.quad_vec", ["bjl01", "logistic_normal_-1_1"], 1e-10, 1e-12),
    ("scipy.cubature", ["genz_gaussian_2d"], 1e-6, 1e-6),
    ("scipy.qmc_quad", ["genz_continuous_2d"], 1e-3, 1e-3),
]


@pytest.mark.parametrize("method, names, rtol, bound", NEW_METHODS, ids=[m[0] for m in NEW_METHODS])
def test_new_methods_reach_the_known_values(method, names, rtol, bound):
    if method not in benchmark.methods():
        pytest.skip(f"{method} needs a newer scipy")
    table = benchmark.run(problems=names, methods=[method], rtols=[rtol])
    assert list(table["problem"]) == names
    assert table["success"].all() and table["honest"].all()
    # `exact` is a closed form or mpmath at 30 digits, never the method's own number
    assert (table["error"] <= bound).all(), table[["problem", "error", "estimate"]]
    assert (table["nfev"] > 0).all() and np.isfinite(table["estimate"]).all()


def test_doubling_counts_every_point_and_stops_at_agreement():
    # n = 4, 8, ..., each on the two pieces of kink_abs (split at its breakpoint 0.3): a sum of 2 * 4 * (2^k - 1)
    row = benchmark.run(problems=["kink_abs"], methods=["gauss_legendre"], rtols=[1e-10]).iloc[0]
    assert row["nfev"] in {8 * (2 ** k - 1) for k in range(2, 12)} and row["error"] < 1e-14
    # Clenshaw–Curtis 5, 9 and 17 all miss peak_gauss's narrow peak and give exactly 0: that is not
    # agreement. The peak (width 1e-3) is resolved only by the last rules, too late for three to agree.
    row = benchmark.run(problems=["peak_gauss"], methods=["clenshaw_curtis"], rtols=[1e-6]).iloc[0]
    assert row["nfev"] == sum(2 ** k + 1 for k in range(2, 13)) and row["error"] < 1e-12
    assert not row["success"] and row["estimate"] > 1e-6 * row["exact"]
    row = benchmark.run(problems=["peak_gauss"], methods=["clenshaw_curtis"], rtols=[1e-3]).iloc[0]
    assert row["success"] and row["error"] < 1e-12
    # the adaptive Gauss–Hermite points and its mode search are counted point by point
    row = benchmark.run(problems=["logistic_normal_-1_1"], methods=["agq"], rtols=[1e-10]).iloc[0]
    assert row["nfev"] > 2 + 4 + 8 + 16


def test_laplace_is_judged_by_its_distance_to_three_node_agq():
    table = benchmark.run(problems=["logistic_normal_-1_1", "logistic_normal_2_3"], methods=["laplace"],
                          rtols=[1e-6, 0.5])
    # Laplace's known bias on logistic-normal integrals is ~1-2% (exact values from mpmath): it cannot claim
    # 1e-6, and its estimate (the distance to 3-node AGQ) is of the size of that bias
    strict = table[table["rtol"] == 1e-6]
    assert ((strict["error"] > 1e-3) & (strict["error"] < 5e-2)).all() and not strict["success"].any()
    assert ((strict["estimate"] > 0.3 * strict["error"]) & (strict["estimate"] < 3 * strict["error"])).all()
    assert table[table["rtol"] == 0.5]["success"].all() and table["honest"].all()


def test_the_verdict_on_synthetic_methods():
    exact = 9.0  # user_x2 from above, or registered here when this test runs alone
    if "user_x2" not in benchmark.problems():
        benchmark.register_problem(benchmark.Problem("user_x2", lambda x: x * x, 0.0, 3.0, exact))
    benchmark.register_method("liar", lambda p, rtol: (1.001 * exact, 1e-14, 1, True))
    benchmark.register_method("no_estimate_right", lambda p, rtol: (exact * (1 + rtol / 2), np.nan, 1, True))
    benchmark.register_method("no_estimate_wrong", lambda p, rtol: (exact * (1 + 10 * rtol), np.nan, 1, True))
    benchmark.register_method("no_estimate_failed", lambda p, rtol: (2 * exact, np.nan, 1, False))
    benchmark.register_method("infinite_estimate", lambda p, rtol: (2 * exact, np.inf, 1, True))
    benchmark.register_method("nan_value", lambda p, rtol: (np.nan, 1e-3, 1, True))
    table = benchmark.run(problems=["user_x2"], rtols=[1e-6],
                          methods=["liar", "no_estimate_right", "no_estimate_wrong", "no_estimate_failed",
                                   "infinite_estimate", "nan_value"]).set_index("method")
    assert table["honest"].to_dict() == {"liar": False, "no_estimate_right": True, "no_estimate_wrong": False,
                                         "no_estimate_failed": True, "infinite_estimate": False,
                                         "nan_value": False}
    assert benchmark.summarize(table.reset_index()).loc["liar", "silent_failures"] == 1


def test_methods_are_skipped_where_they_do_not_apply():
    benchmark.register_method("only_bjl01", lambda p, rtol: (p.exact, 0.0, 1, True), kinds=("1d", "genz"),
                              applies=lambda p: p.name == "bjl01")
    table = benchmark.run(problems=["bjl01", "bjl02", "bjl11", "genz_gaussian_2d", "logistic_normal_-1_1"],
                          methods=["only_bjl01", "gauss_legendre", "sparse_grid", "laplace"], rtols=[1e-6])
    # skipped problems are not rows: neither successes nor failures
    assert sorted(zip(table["method"], table["problem"])) == [
        ("gauss_legendre", "bjl01"), ("gauss_legendre", "bjl02"), ("laplace", "logistic_normal_-1_1"),
        ("only_bjl01", "bjl01"), ("sparse_grid", "genz_gaussian_2d")]
    skipped = table.attrs["skipped"]
    assert "bjl11" in skipped["gauss_legendre"] and "logistic_normal_-1_1" in skipped["gauss_legendre"]
    assert skipped["only_bjl01"] == ["bjl02", "bjl11", "genz_gaussian_2d", "logistic_normal_-1_1"]
    # a user's normal-kind problem without log_g: the rules against the normal weight do not apply
    benchmark.register_problem(benchmark.Problem(
        "user_normal", lambda x: np.exp(-x * x) / np.sqrt(2 * np.pi), -np.inf, np.inf, 1 / np.sqrt(2), kind="normal"))
    table = benchmark.run(problems=["user_normal"], methods=["quad", "agq", "laplace", "gauss_hermite"],
                          rtols=[1e-8])
    assert list(table["method"]) == ["quad"] and table["error"].iloc[0] < 1e-10
    empty = benchmark.run(problems=["bjl11"], methods=["gauss_legendre"], rtols=[1e-6])
    assert len(empty) == 0 and benchmark.summarize(empty).empty


def test_input_validation():
    with pytest.raises(ValueError, match="`problems`.*'nope'"):
        benchmark.run(problems=["bjl01", "nope"])
    with pytest.raises(ValueError, match="`methods`.*'nope'"):
        benchmark.run(methods=["quad", "nope"])
    with pytest.raises(TypeError, match="`applies`"):
        benchmark.register_method("bad_applies", lambda p, rtol: None, applies=True)
    with pytest.raises(TypeError, match="`func`"):
        benchmark.register_method("bad_func", None)
    with pytest.raises(ValueError, match="already registered"):
        benchmark.register_method("gauss_legendre", lambda p, rtol: None)


def test_cli_lists_what_was_skipped(capsys):
    from quadlib._cli import main

    assert main(["accuracy", "--problems", "bjl11", "logistic_normal_-1_1", "--methods", "gauss_legendre",
                 "laplace", "--rtol", "1e-6", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "not applicable (skipped, not failed): gauss_legendre 2, laplace 1" in out


# ------------------------------------------------------------------------------------------ the Problem type
def _xy(x):
    return x[..., 0] * x[..., 1]


def test_every_builtin_is_one_problem_type():
    names = benchmark.problems()[:57 + 12 + 6]   # the built-ins come first; other tests register their own
    kinds = {}
    for name in names:
        p = benchmark.get_problem(name)
        assert isinstance(p, benchmark.Problem) and p.name == name
        assert p.source and p.tags and set(p.tags) <= benchmark.TAGS, name
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    assert kinds == {"1d": 57, "genz": 12, "normal": 6}
    g = benchmark.get_problem("genz_continuous_4d")
    assert g.family == "continuous" and g.dimension == 4 and g.a == (0.0,) * 4 and g.b == (1.0,) * 4
    assert g.points == tuple((float(w),) for w in g.parameters["w"])
    n = benchmark.get_problem("poisson_normal_4_1_0.5")
    assert callable(n.log_g) and n.a == -np.inf and n.b == np.inf and n.dimension == 1


def test_normal_problems_keep_their_values():
    # mpmath at 30 digits (quadlib.benchmark._problems), stored here as they were before the Problem type
    # was unified: no method's output
    stored = {"logistic_normal_-1_1": 0.3032653298563167, "logistic_normal_0.5_2": 0.5752425317376335,
              "logistic_normal_2_3": 0.7174239858956764, "poisson_normal_0_0.5_1": 0.2587148389806328,
              "poisson_normal_4_1_0.5": 0.12523957282517337, "poisson_normal_20_1_1.5": 0.0056546279379305125}
    assert {name: benchmark.get_problem(name).exact for name in stored} == stored
    # and the logistic one against an independent quadrature of its mpmath form
    import mpmath

    with mpmath.workdps(25):
        value = mpmath.quad(lambda z: mpmath.npdf(z) / (1 + mpmath.exp(1 - z)), [-mpmath.inf, 1, mpmath.inf])
    assert abs(stored["logistic_normal_-1_1"] - float(value)) <= 2e-16 * float(value)


def test_problem_fields_are_normalized_frozen_and_pickle():
    import pickle

    p = benchmark.Problem("box", _xy, [0, 0], [1, 2], 1.0, kind="genz", points=[(0.5,), ()])
    assert p.a == (0.0, 0.0) and p.b == (1.0, 2.0) and p.dimension == 2 and p.points == ((0.5,), ())
    assert repr(p) == "Problem(name='box', kind='genz', d=2, exact=1.0)"
    assert benchmark.Problem("box2", _xy, [0, 0], [1, 2], 1.0, kind="genz").points == ((), ())
    with pytest.raises(AttributeError):
        p.exact = 2.0
    q = pickle.loads(pickle.dumps(p))
    assert (q.name, q.f, q.a, q.b, q.exact, q.kind, q.points) == (p.name, _xy, p.a, p.b, p.exact, "genz", p.points)
    # a 1-D problem moved to another interval: u = 2 (x + 1) maps [-1, 1] to [0, 4]
    s = benchmark.Problem("sqrt", np.sqrt, 0.0, 4.0, 16 / 3, points=(1.0,), tags=("endpoint_singularity",))
    t = s.on_box(-1.0, 1.0)
    assert t.exact == 8 / 3 and t.points == (-0.5,) and t.f(0.0) == np.sqrt(2.0) and t.tags == s.tags
    assert t.a == -1.0 and t.b == 1.0 and t.name == "sqrt_on_box"
    with pytest.raises(ValueError, match="finite limits"):
        benchmark.get_problem("bjl11").on_box(0.0, 1.0)


def test_scalar_integrands_run_point_by_point():
    def f(x):
        assert np.ndim(x) == 0
        return math.exp(x)

    def g(x):   # one point of the box, shape (2,)
        assert np.shape(x) == (2,)
        return math.cos(x[0] + x[1])

    if "user_scalar_exp" not in benchmark.problems():
        benchmark.register_problem(benchmark.Problem("user_scalar_exp", f, 0.0, 1.0, math.e - 1, vectorized=False))
        benchmark.register_problem(benchmark.Problem("user_scalar_box", g, [0, 0], [1, 1],
                                                     2 * math.cos(1) - math.cos(2) - 1, kind="genz",
                                                     vectorized=False))
    chosen = ["quad", "tanh_sinh", "gauss_legendre", "scipy.quad", "mpmath.quad", "cubature", "sparse_grid"]
    table = benchmark.run(problems=["user_scalar_exp", "user_scalar_box"], methods=chosen, rtols=[1e-8])
    assert len(table) == len(chosen)
    assert table["success"].all() and table["honest"].all() and (table["error"] < 1e-8).all(), table


def test_benchmark_problem_is_a_deprecated_alias():
    def log_g(x):
        return np.zeros_like(x)

    with pytest.warns(DeprecationWarning, match="Problem"):
        p = benchmark.BenchmarkProblem("old", "normal", lambda x: np.exp(-x * x / 2) / np.sqrt(2 * np.pi),
                                       -np.inf, np.inf, 1.0, (), log_g)
    assert isinstance(p, benchmark.Problem)
    assert (p.kind, p.a, p.b, p.exact, p.points, p.log_g) == ("normal", -np.inf, np.inf, 1.0, (), log_g)


def test_problem_input_validation():
    Problem = benchmark.Problem
    with pytest.raises(TypeError, match="`name`"):
        Problem("", np.exp, 0.0, 1.0, 1.0)
    with pytest.raises(TypeError, match="`f`"):
        Problem("x", 3.0, 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="`kind`"):
        Problem("x", np.exp, 0.0, 1.0, 1.0, kind="2d")
    with pytest.raises(ValueError, match="`a` must be less than `b`"):
        Problem("x", np.exp, 1.0, 0.0, 1.0)
    with pytest.raises(TypeError, match="`a`"):
        Problem("x", np.exp, "0", 1.0, 1.0)
    with pytest.raises(ValueError, match="`b`"):
        Problem("x", np.exp, 0.0, np.nan, 1.0)
    with pytest.raises(TypeError, match="`exact`"):
        Problem("x", np.exp, 0.0, 1.0, "1.718")
    with pytest.raises(ValueError, match="`exact`"):
        Problem("x", np.exp, 0.0, 1.0, np.inf)
    with pytest.raises(ValueError, match="`tags` must be a subset of TAGS"):
        Problem("x", np.exp, 0.0, 1.0, 1.0, tags=("sticky",))
    with pytest.raises(TypeError, match="`tags`"):
        Problem("x", np.exp, 0.0, 1.0, 1.0, tags="smooth")
    with pytest.raises(ValueError, match="`points` must lie inside"):
        Problem("x", np.exp, 0.0, 1.0, 1.0, points=(1.0,))
    with pytest.raises(TypeError, match="`vectorized`"):
        Problem("x", np.exp, 0.0, 1.0, 1.0, vectorized="yes")
    with pytest.raises(TypeError, match="`log_g`"):
        Problem("x", np.exp, 0.0, 1.0, 1.0, log_g=1.0)
    with pytest.raises(TypeError, match="`parameters`"):
        Problem("x", np.exp, 0.0, 1.0, 1.0, parameters=3)
    with pytest.raises(ValueError, match="`a` must be a non-empty 1-D sequence"):
        Problem("x", _xy, [[0, 0]], [[1, 1]], 1.0, kind="genz")
    assert Problem("x", np.exp, 0, 1, math.e - 1, kind="genz").a == (0.0,)   # a box in one dimension
    with pytest.raises(ValueError, match="same length"):
        Problem("x", _xy, [0, 0], [1, 1, 1], 1.0, kind="genz")
    with pytest.raises(ValueError, match="must be finite in problem 'x'"):
        Problem("x", _xy, [0, -np.inf], [1, 1], 1.0, kind="genz")
    with pytest.raises(ValueError, match="every coordinate"):
        Problem("x", _xy, [0, 1], [1, 1], 1.0, kind="genz")
    with pytest.raises(ValueError, match="one tuple per axis"):
        Problem("x", _xy, [0, 0], [1, 1], 1.0, kind="genz", points=(0.5,))
    with pytest.raises(ValueError, match="inside the box"):
        Problem("x", _xy, [0, 0], [1, 1], 1.0, kind="genz", points=((1.0,), ()))
    with pytest.raises(TypeError, match="`problem`"):
        benchmark.register_problem(("x", np.exp, 0.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="`kinds`"):
        benchmark.register_method("bad_kinds", lambda p, rtol: None, kinds=("2d",))
    with pytest.raises(TypeError, match="`name`"):
        benchmark.register_method(None, lambda p, rtol: None)
    with pytest.raises(ValueError, match="`name` must be the name of a registered problem"):
        benchmark.get_problem("nope")
    box = benchmark.get_problem("genz_gaussian_2d")
    with pytest.raises(ValueError, match="`b`"):
        box.on_box(0.0, [1.0, 2.0, 3.0])


# --------------------------------------------------------------------------------------------- the extras
def test_progress_bar_with_and_without_tqdm(monkeypatch, capsys):
    pytest.importorskip("tqdm")
    table = benchmark.run(problems=["bjl01"], methods=["quad"], rtols=[1e-8], progress=True)
    assert "quadlib accuracy" in capsys.readouterr().err and table["success"].all()
    monkeypatch.setitem(sys.modules, "tqdm", None)   # import tqdm now raises ImportError
    table = benchmark.run(problems=["bjl01"], methods=["quad"], rtols=[1e-8], progress=True)
    assert capsys.readouterr().err == "" and table["success"].all()


def test_run_and_cli_without_pandas_name_the_extra(monkeypatch, capsys):
    from quadlib._cli import main

    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"quadlib.benchmark.run needs pandas.*pip install 'quadlib\[bench\]'"):
        benchmark.run(problems=["bjl01"], methods=["quad"])
    assert main(["accuracy", "--problems", "bjl01", "--methods", "quad", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'quadlib[bench]'" in err and "Traceback" not in err and "internal error" not in err
    # what needs no table still works
    assert "bjl01" in benchmark.problems() and benchmark.get_problem("bjl01").exact == 0.25
