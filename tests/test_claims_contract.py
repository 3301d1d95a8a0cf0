"""Every registered claim honours the contract the CLI, docs and report rely on."""

import pytest

from theorycheck.papers import PAPERS
from theorycheck.registry import SCALES, list_claims, resolve_params

CLAIMS = list_claims()


def test_every_paper_has_claims():
    papers = {c.paper for c in CLAIMS}
    assert papers <= set(PAPERS)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_claim_declares_statement_assumptions_method_scales_and_figure(claim):
    assert claim.paper in PAPERS
    assert claim.statement.strip() and claim.method.strip() and claim.title.strip()
    assert claim.assumptions and all(a.strip() for a in claim.assumptions)
    assert claim.figure is not None, "every claim has a figure drawn from its saved result"
    assert claim.key_metrics, "the CLI table needs the claim's key numbers"
    for scale in SCALES:
        resolve_params(claim, scale)  # every scale's parameters pass the claim's own validation
