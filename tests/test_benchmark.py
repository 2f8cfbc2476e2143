"""quadlib.benchmark and `quadlib accuracy`: the honesty verdict is checked against the problems' known
values (closed forms and mpmath), and registration, errors and outputs work."""
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
    benchmark.register_problem(benchmark.BenchmarkProblem("user_x2", "1d", lambda x: x * x, 0.0, 3.0, 9.0))
    benchmark.register_method("user_midpoint", lambda p, rtol: (float(np.mean(p.f(np.linspace(p.a, p.b, 10001)))
                                                                      * (p.b - p.a)), 1e-3, 10001, True))
    table = benchmark.run(problems=["user_x2"], methods=["user_midpoint", "quad"], rtols=[1e-6])
    assert list(table["method"]) == ["user_midpoint", "quad"]
    assert table.set_index("method").loc["quad", "error"] < 1e-15
    with pytest.raises(ValueError, match="already registered"):
        benchmark.register_problem(benchmark.BenchmarkProblem("user_x2", "1d", np.sin, 0.0, 1.0, 0.0))
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
        benchmark.register_problem(benchmark.BenchmarkProblem("user_x2", "1d", lambda x: x * x, 0.0, 3.0, exact))
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
    benchmark.register_problem(benchmark.BenchmarkProblem(
        "user_normal", "normal", lambda x: np.exp(-x * x) / np.sqrt(2 * np.pi), -np.inf, np.inf, 1 / np.sqrt(2)))
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
