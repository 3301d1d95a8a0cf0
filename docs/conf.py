"""Sphinx configuration. Built with warnings as errors by tests/test_docs.py (part of the test command).

Builds offline and from a read-only checkout: math is typeset by a MathJax copy shipped in a Python
package (sphinx-mathjax-offline), and every generated page (papers, gallery, notebooks, API) is
written into the build directory (see ``_ext/claimpages.py``).
"""

import os
import sys

sys.path.insert(0, os.path.abspath("_ext"))
sys.path.insert(0, os.path.abspath(".."))

project = "theorycheck"
author = "theorycheck developers"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 from the package, copied into _static: no CDN
    "numpydoc",
    "myst_nb",  # Markdown pages and the notebooks (includes myst_parser)
    "claimpages",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
html_theme = "alabaster"
html_static_path = ["_static"]
html_css_files = ["theorycheck.css"]
html_theme_options = {"page_width": "1100px", "sidebar_width": "230px", "fixed_sidebar": True}
smartquotes = False  # keep `--backend` as typed (no en dash) and quotes straight
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
autodoc_default_options = {"members": True, "undoc-members": False}
myst_enable_extensions = ["dollarmath"]
suppress_warnings = ["myst.header"]

# Notebooks: executed when the docs are built and cached in the build directory (a rebuild reuses
# the outputs until a notebook changes); `-D nb_execution_mode=off` shows them without outputs.
nb_execution_mode = "cache"
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_merge_streams = True
# Markdown a cell displays (a result's criteria) is read as MyST, so its $...$ math is typeset
nb_render_markdown_format = "myst"
# the notebooks' sliders need a live kernel: no widget scripts (they would load from a CDN)
nb_ipywidgets_js = {}
