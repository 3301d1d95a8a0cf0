"""theorycheck: closed-form and numerical checks of student-teacher learning and distillation theory.

Public API::

    from theorycheck import list_claims, get_claim, run_claim
    result = run_claim("hong2021.thm2", scale="smoke")
    result.verdict, result.metrics
"""

from .version import __version__  # noqa: E402
from .errors import InputError  # noqa: E402
from .registry import SCALES, Claim, Metric, Paper, Verdict, get_claim, get_paper, list_claims, list_papers  # noqa: E402
from .result import Result  # noqa: E402
from .runner import run_claim, load_result  # noqa: E402


def __getattr__(name):  # matplotlib is imported only when a figure is drawn
    if name == "draw_figure":
        from .plots import draw_figure
        return draw_figure
    raise AttributeError(f"module 'theorycheck' has no attribute {name!r}")

__all__ = ["__version__", "InputError", "SCALES", "Claim", "Metric", "Paper", "Verdict", "Result", "get_claim",
           "get_paper", "list_claims", "list_papers", "run_claim", "load_result", "draw_figure"]
