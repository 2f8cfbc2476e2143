"""Sphinx configuration: numpydoc docstrings, the pydata theme, and a sphinx-gallery of runnable examples.

Build with warnings as errors:  python -m sphinx -W -b html docs docs/_build/html
"""
import quadlib

project = "quadlib"
release = version = quadlib.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
html_theme = "pydata_sphinx_theme"
html_theme_options = {"navigation_with_keys": False}
exclude_patterns = ["_build", "examples/README.rst"]

# Gallery: docs/examples/plot_*.py run at build time; their figures and output land in docs/auto_examples.
# Scripts not named plot_* (e.g. pql_bias.py, a 30 s simulation study) are listed but not executed.
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
}
