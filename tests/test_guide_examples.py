"""The user guide's examples run: every ``>>>`` example in docs/*.rst gives the output printed there.

Python ``code-block`` directives that compile run too, in page order, so later examples can use what they
define (a code block that does not compile, such as a signature, is a declaration and is left alone).
"""
import doctest
import pathlib
import re
import warnings

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(p.name for p in DOCS.glob("*.rst") if ">>> " in p.read_text(encoding="utf-8")
               or ".. code-block:: python" in p.read_text(encoding="utf-8"))
_BLOCK = re.compile(r"^\.\. code-block:: python\n((?:[ \t]*:.*\n)*)\n((?:(?:[ \t]+.*)?\n)+)", re.M)


def _segments(text):
    """(kind, text) in page order: 'doctest' for the prose with its >>> examples, 'code' for code blocks."""
    position = 0
    for match in _BLOCK.finditer(text):
        yield "doctest", text[position:match.start()]
        body = match.group(2)
        indent = min(len(line) - len(line.lstrip()) for line in body.splitlines() if line.strip())
        yield "code", "\n".join(line[indent:] for line in body.splitlines())
        position = match.end()
    yield "doctest", text[position:]


@pytest.mark.parametrize("page", PAGES)
def test_guide_page_examples(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    text = (DOCS / page).read_text(encoding="utf-8")
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    namespace = {"__name__": "guide"}
    attempted = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind, part in _segments(text):
            if kind == "code":
                try:
                    code = compile(part, f"{page} code-block", "exec")
                except SyntaxError:
                    continue
                exec(code, namespace)
                attempted += 1
                continue
            test = parser.get_doctest(part, namespace, page, page, 0)
            result = runner.run(test, clear_globs=False)
            namespace = test.globs
            attempted += result.attempted
            assert result.failed == 0, f"{page}: {result.failed} failing example(s); see the output above"
    assert attempted > 0
