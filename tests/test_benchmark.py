"""quadlib.benchmark and `quadlib accuracy`: the honesty verdict is checked against the problems' known
values (closed forms and mpmath), and registration, errors and outputs work."""
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
