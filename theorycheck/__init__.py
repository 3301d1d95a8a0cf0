"""theorycheck: closed-form and numerical checks of student-teacher learning and distillation theory.

Public API::

    from theorycheck import list_claims, get_claim, run_claim
    result = run_claim("hong2021.thm2", scale="smoke")
    result["passed"], result["metrics"]
"""

__version__ = "0.1.0"

from .errors import InputError  # noqa: E402
from .registry import SCALES, Claim, Verdict, get_claim, list_claims  # noqa: E402
from .api import run_claim, load_result, draw_figure  # noqa: E402

__all__ = ["__version__", "InputError", "SCALES", "Claim", "Verdict", "get_claim", "list_claims",
           "run_claim", "load_result", "draw_figure"]
