"""The documentation builds with warnings as errors, gallery examples included (issue 9).

The build runs on a copy of docs/ so that the generated gallery and API stubs never land in the source tree.
"""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    source = tmp_path / "docs"
    shutil.copytree(DOCS, source, ignore=shutil.ignore_patterns("_build", "auto_examples", "generated",
                                                                "sg_execution_times.rst", "__pycache__"))
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                          str(source), str(tmp_path / "html")],
                         capture_output=True, text=True, timeout=1200, env={**os.environ, "MPLBACKEND": "Agg"})
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert (tmp_path / "html" / "index.html").exists()
    assert (tmp_path / "html" / "auto_examples" / "index.html").exists()


def test_api_reference_lists_every_public_name():
    import quadlib
    import quadlib.benchmark
    import quadlib.glmm

    text = (DOCS / "api.rst").read_text(encoding="utf-8")
    sections = {}  # names listed under each currentmodule
    module = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(".. currentmodule::"):
            module = stripped.split("::")[1].strip()
        elif stripped.startswith(".. automodule::"):
            sections.setdefault(stripped.split("::")[1].strip(), set()).add("*")
        elif module and stripped and not stripped.startswith((":", "..")) and line.startswith("   "):
            sections.setdefault(module, set()).add(stripped)
    listed = {f"{m}.{n}" for m, names in sections.items() for n in names}
    listed |= {m for m, names in sections.items() if "*" in names}
    missing = [f"{mod.__name__}.{n}" for mod in (quadlib, quadlib.glmm, quadlib.benchmark) for n in mod.__all__
               if f"{mod.__name__}.{n}" not in listed]
    assert missing == []
