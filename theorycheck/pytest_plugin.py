"""The registered claims as a pytest suite: ``pytest --theorycheck=smoke [-k hong2021]``.

Installed with the package (the ``pytest11`` entry point) and off unless ``--theorycheck`` is given.
Then every registered claim (of every installed paper) becomes one test item named by its id, in any
directory, even one without test files (``pytest --theorycheck=smoke`` in an empty folder, or
``pytest --pyargs theorycheck --theorycheck=smoke``):

* PASS passes;
* FAIL fails, with the failing criteria as the message;
* INCONCLUSIVE is skipped, with the undecided criteria as the reason.

``-k`` selects claims by id, paper or tag (``-k hong2021``, ``-k "thm1 or thm2"``). Results are saved
as ``theorycheck check`` saves them (``--theorycheck-out``, default ``results/<scale>``), so a second
run reuses the finished sweep cells.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_SCALES = ("smoke", "default", "paper")  # theorycheck.registry.SCALES, without importing the toolkit at startup


def pytest_addoption(parser):
    group = parser.getgroup("theorycheck", "theorycheck: the registered claims as tests")
    group.addoption("--theorycheck", metavar="SCALE", choices=_SCALES, default=None,
                    help="check every registered claim at SCALE (smoke, default or paper), one test item "
                         "per claim: PASS passes, FAIL fails, INCONCLUSIVE is skipped (off unless given)")
    group.addoption("--theorycheck-out", metavar="DIR", default=None,
                    help="folder for the results and finished sweep cells (default: results/<SCALE>)")
    group.addoption("--theorycheck-seed", metavar="N", type=int, default=0,
                    help="run seed of the claims (default: 0)")


def pytest_configure(config):
    config.addinivalue_line("markers", "theorycheck: a registered claim checked as a test (pytest --theorycheck)")


class ClaimFailed(Exception):
    """A claim's verdict is FAIL; the message lists the failing criteria."""


class ClaimItem(pytest.Item):
    """One registered claim, checked at the session's scale."""

    def __init__(self, *, claim_id: str, **kwargs):
        super().__init__(**kwargs)
        self.claim_id = claim_id

    def runtest(self):
        from theorycheck.runner import run_claim
        from theorycheck.tex_plain import tex_to_plain

        config = self.config
        scale = config.getoption("theorycheck")
        out = config.getoption("theorycheck_out") or Path("results") / scale
        result = run_claim(self.claim_id, scale, out=out, seed=config.getoption("theorycheck_seed"))
        self.user_properties.append(("verdict", result.verdict))
        if result.verdict == "FAIL":
            lines = [f"{self.claim_id} FAILS at the {scale} scale (seed {result.seed}):"]
            lines += [f"  {name.replace('_', ' ')}: {tex_to_plain(detail)}"
                      for name, detail in result.failed_criteria().items()]
            lines.append(f"  (result saved in {Path(out) / (self.claim_id + '.json')})")
            raise ClaimFailed("\n".join(lines))
        if result.verdict == "INCONCLUSIVE":
            undecided = "; ".join(f"{k.replace('_', ' ')}: {tex_to_plain(v)}"
                                  for k, v in result.inconclusive_criteria().items())
            pytest.skip(f"{self.claim_id} is INCONCLUSIVE at the {scale} scale: {undecided}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ClaimFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"claim {self.claim_id}"


class ClaimsCollector(pytest.Collector):
    """The registered claims (of every installed paper), one :class:`ClaimItem` each."""

    def collect(self):
        from theorycheck.registry import list_claims

        for claim in list_claims():
            item = ClaimItem.from_parent(self, name=claim.id, claim_id=claim.id)
            item.add_marker(pytest.mark.theorycheck)
            item.extra_keyword_matches.update({claim.paper, *claim.tags})
            yield item


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """Add the claims next to whatever the session collects from its arguments (possibly nothing)."""
    outcome = yield
    report = outcome.get_result()
    if (isinstance(collector, pytest.Session) and collector.config.getoption("theorycheck")
            and report.passed and isinstance(report.result, list)):
        report.result.append(ClaimsCollector.from_parent(collector, name="theorycheck", nodeid="theorycheck"))
