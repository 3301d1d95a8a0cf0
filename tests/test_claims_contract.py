"""Every registered claim honours the contract the runner, CLI, docs and report rely on."""

import pytest

from theorycheck.registry import SCALES, list_claims, list_papers
from theorycheck.runner import resolve

CLAIMS = list_claims()


def test_every_installed_paper_loads():
    from theorycheck.registry import broken_papers
    assert broken_papers() == {}


def test_every_claim_belongs_to_an_installed_paper():
    assert {c.paper for c in CLAIMS} <= {p.key for p in list_papers()}
    assert {"hong2021", "ji2020", "soteacher"} <= {p.key for p in list_papers()}


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_claim_declares_statement_assumptions_method_scales_criteria_and_figure(claim):
    assert claim.statement.strip() and claim.method.strip() and claim.title.strip()
    assert claim.assumptions and all(a.strip() for a in claim.assumptions)
    assert claim.figure is not None, "every claim has a figure drawn from its saved result"
    assert claim.key_metrics, "the CLI table needs the claim's key numbers"
    for key in claim.key_metrics:  # the CLI, report and docs show them by label, with meaning and unit
        info = claim.metrics.get(key)
        assert info is not None and info.meaning.strip() and info.label.strip(), f"key number {key!r} undeclared"
    for scale in SCALES:
        resolved = resolve(claim, scale)  # every scale's parameters pass the claim's own validation
        assert resolved.exploratory == ()
        assert not set(resolved.params) & set(resolved.criteria)


@pytest.mark.parametrize("paper", ["hong2021", "ji2020", "soteacher"])
def test_maths_modules_import_no_store_sweep_runner_or_thread_limits(paper):
    """Claims and experiments use the sweep; a paper's mathematics is pure functions of arrays."""
    import ast
    import importlib.util
    from pathlib import Path
    pkg = Path(importlib.util.find_spec(f"theorycheck.{paper}").origin).parent
    for path in pkg.rglob("*.py"):
        if {"claims", "experiments"} & set(path.relative_to(pkg).parts) or path.stem in ("claims", "experiments",
                                                                                           "bench", "checkpoint"):
            continue
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        bad = {n for n in names if n.split(".")[-1] in ("store", "sweep", "runner", "threadpoolctl")}
        assert not bad, f"{path} imports {bad}"
