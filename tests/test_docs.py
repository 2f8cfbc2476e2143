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
