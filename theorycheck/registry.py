"""The catalogue: every paper and every claim the toolkit checks, and how to look them up.

A **paper** is found through the ``theorycheck.papers`` entry-point group: each entry names a
:class:`Paper` object (``hong2021 = theorycheck.hong2021:PAPER``). The three built-in papers are
registered that way in ``setup.cfg``, exactly as a paper in another package would be (see the docs
page "Add your own paper"). A paper lists the modules that declare its claims; they are imported on
the first lookup and call :func:`register` for each :class:`Claim`.

A **claim** declares, once: what the paper says (``statement``, ``assumptions``), how it is checked
(``method``), its parameters at each scale of :data:`SCALES`, its verdict criteria (thresholds and
tolerances, apart from the parameters), a ``measure`` function, a pure ``verdict`` function of the
measured numbers and a ``figure`` function that draws only from a saved result. The runner, CLI,
tests, notebooks, docs and report all read this catalogue.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Callable, Mapping, NamedTuple

from .errors import InputError

__all__ = ["SCALES", "VERDICTS", "ENTRY_POINT_GROUP", "Paper", "Claim", "Verdict", "Outcome", "Metric", "register", "get_claim",
           "list_claims", "get_paper", "list_papers", "load_papers", "broken_papers", "registered"]

#: Scales every claim defines. ``smoke``: seconds, for tests and the quick start. ``default``: the
#: standard check, minutes on 2 cores. ``paper``: the paper's sizes where hardware allows (each claim's
#: ``scale_note`` says what is scaled down and why).
SCALES = ("smoke", "default", "paper")

#: The entry-point group through which papers are found.
ENTRY_POINT_GROUP = "theorycheck.papers"

#: Built-in papers, loaded directly only when the package runs from a source tree that was never
#: installed (so no entry points exist); an installed toolkit finds them through the group.
_BUILTIN = {"hong2021": "theorycheck.hong2021:PAPER", "ji2020": "theorycheck.ji2020:PAPER",
            "soteacher": "theorycheck.soteacher:PAPER"}


@dataclass(frozen=True)
class Paper:
    """One paper: its citation and the modules that declare its claims.

    Attributes
    ----------
    key : str
        Prefix of its claim ids (``hong2021`` in ``hong2021.thm1``); the entry point's name.
    title : str
        "Authors year — title", as shown in the docs and the report.
    bibtex : str
        Printed by ``theorycheck cite``.
    claim_modules : tuple of str
        Modules that :func:`register` the paper's claims (and benchmarks) when imported.
    """

    key: str
    title: str
    bibtex: str
    claim_modules: tuple[str, ...]


#: The three answers a verdict or one of its criteria can give (see the docs page "How verdicts are
#: decided"): the claim holds here, it is contradicted, or the data cannot tell.
VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE")


class Outcome(NamedTuple):
    """One criterion's answer: ``ok`` (it holds), the sentence that says what was measured and
    compared (with its interval or tolerance), its ``status`` (``PASS``, ``FAIL`` or
    ``INCONCLUSIVE``) and what the paper says that the criterion tests (``paper``; may be empty)."""

    ok: bool
    text: str
    status: str
    paper: str = ""


def _outcome(value, text, paper="") -> Outcome:
    if isinstance(value, str):
        if value not in VERDICTS:
            raise ValueError(f"a criterion's status must be one of {VERDICTS} or a bool, got {value!r}")
        return Outcome(value == "PASS", str(text), value, str(paper))
    return Outcome(bool(value), str(text), "PASS" if value else "FAIL", str(paper))


@dataclass(frozen=True)
class Metric:
    """What a measured number means, for the people who read it.

    Attributes
    ----------
    meaning : str
        One line in the paper's notation (LaTeX between ``$...$``), e.g.
        ``"worst log-log slope of the gap $\\|W^{base} - W^{st}\\|_F$ against $\\delta$"``.
    unit : str
        ``"1"`` for a pure number, else the unit (``"s"``, ``"nats"``, ``"fraction of test points"``).
    label : str
        Short name for tables and axes (defaults to the metric's key).
    """

    meaning: str
    unit: str = "1"
    label: str = ""


@dataclass(frozen=True)
class Verdict:
    """Outcome of a check: its ``status`` and one :class:`Outcome` per criterion.

    The claim FAILs when one criterion fails, is INCONCLUSIVE when none fails and one cannot tell,
    and PASSes when every criterion passes (a check with no criterion cannot pass).
    """

    status: str
    criteria: Mapping[str, Outcome]

    @property
    def passed(self) -> bool:
        return self.status == "PASS"

    @classmethod
    def from_criteria(cls, **criteria: tuple) -> "Verdict":
        """``name=(ok_or_status, sentence)`` or ``name=(ok_or_status, sentence, paper_says)`` for
        each criterion; ``ok_or_status`` is a bool (a deterministic check) or one of
        :data:`VERDICTS` (an interval decision); ``paper_says`` quotes or paraphrases what the paper
        states that the criterion tests."""
        crit = {k: _outcome(*v) for k, v in criteria.items()}
        statuses = {c.status for c in crit.values()}
        status = ("FAIL" if not crit or "FAIL" in statuses else
                  "INCONCLUSIVE" if "INCONCLUSIVE" in statuses else "PASS")
        return cls(status=status, criteria=crit)


@dataclass(frozen=True)
class Claim:
    """One checkable claim of a paper.

    Attributes
    ----------
    id : str
        ``<paper>.<item>``, e.g. ``hong2021.thm1``.
    title : str
        Short human name ("Theorem 1: ST and base gradient flows end within C·δ").
    statement : str
        What the paper claims, with its equation/theorem numbers.
    assumptions : tuple of str
        The assumptions the check puts in place.
    method : str
        How the check measures the claim, and what makes it pass.
    scales : mapping scale -> dict
        Parameters of the measurement at each scale in :data:`SCALES`.
    measure : callable (params, ctx) -> dict
        Returns ``{"metrics": {...}, "series": {...}}`` computed from ``params`` with the
        :class:`~theorycheck.sweep.RunContext` ``ctx`` (seeds, sweeps, backend).
    verdict : callable (metrics, params, criteria) -> Verdict
        Pure function of the measured numbers, the parameters they were measured at and the
        criteria.
    criteria : mapping
        Thresholds and tolerances of the verdict, fixed before anything runs and the same at every
        scale. A ``--param`` override of one of them makes the result *exploratory*.
    figure : callable (result, fig) -> None, optional
        Draws the claim's figure on a matplotlib ``Figure`` from a saved
        :class:`~theorycheck.result.Result` only.
    key_metrics : tuple of str
        Metrics shown in the CLI table.
    metrics : mapping name -> Metric
        Meaning and unit of the measured numbers (at least the key metrics), shown by the CLI, the
        report and the docs.
    scale_note : str
        What differs from the paper at each scale (hardware, reconstructed details).
    validate : callable (params) -> None, optional
        Raises :class:`~theorycheck.errors.InputError` for bad parameter values; called once by the
        runner, before anything is computed.
    estimate : callable (params) -> theorycheck.limits.Estimate, optional
        Peak memory and amount of work the parameters ask for; the runner refuses a run above the
        budget before anything is allocated (:mod:`theorycheck.limits`).
    reference : str
        Citation of the source, when it is not the paper's own BibTeX.
    tags : tuple of str
    backends : tuple of str
        Array backends the claim's computation can use; a claim run with another ``--backend``
        runs on NumPy, and its result records the backend actually used (``backend``) next to the
        one asked for (``backend_requested``).
    """

    id: str
    title: str
    statement: str
    assumptions: tuple[str, ...]
    method: str
    scales: Mapping[str, Mapping]
    measure: Callable
    verdict: Callable
    criteria: Mapping = field(default_factory=dict)
    figure: Callable | None = None
    key_metrics: tuple[str, ...] = ()
    metrics: Mapping[str, Metric] = field(default_factory=dict)
    scale_note: str = ""
    validate: Callable | None = None
    estimate: Callable | None = None
    reference: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    backends: tuple[str, ...] = ("numpy",)

    @property
    def paper(self) -> str:
        return self.id.split(".", 1)[0]

    def __post_init__(self):
        missing = [s for s in SCALES if s not in self.scales]
        if missing:
            raise ValueError(f"claim {self.id} lacks scales {missing}")
        both = sorted(set(self.criteria).intersection(*(set(p) for p in self.scales.values())))
        if both:
            raise ValueError(f"claim {self.id}: {both} are both parameters and criteria")


_CLAIMS: dict[str, Claim] = {}
_PAPERS: dict[str, Paper] = {}
_IMPORTED: set[str] = set()
_BROKEN: dict[str, str] = {}
_LOADED = False


def register(claim: Claim) -> Claim:
    """Add ``claim`` to the catalogue (called when a paper's claim module is imported)."""
    if claim.id in _CLAIMS and _CLAIMS[claim.id] is not claim:
        raise ValueError(f"duplicate claim id {claim.id}")
    _CLAIMS[claim.id] = claim
    return claim


def _paper_entries() -> dict[str, str]:
    """``name -> "module:attribute"`` of every installed paper."""
    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    try:
        from importlib.metadata import distribution
        distribution("theorycheck")
    except Exception:  # running from a source tree that was never installed
        found = {**_BUILTIN, **found}
    return found


def _load(value: str) -> Paper:
    module, _, attr = value.partition(":")
    obj = importlib.import_module(module)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    if not isinstance(obj, Paper):
        raise TypeError(f"entry point {value!r} of group {ENTRY_POINT_GROUP} is not a theorycheck Paper")
    return obj


def _find_papers() -> None:
    """Read the entry-point group (cheap: a paper's claim modules are imported on first use)."""
    global _LOADED
    if _LOADED:
        return
    for name, value in sorted(_paper_entries().items()):
        paper = _load(value)
        if paper.key != name:
            raise ValueError(f"paper entry point {name!r} names a Paper with key {paper.key!r}")
        _PAPERS[name] = paper
    _LOADED = True


def _import_claims(key: str) -> None:
    """Import the claim modules of paper ``key`` (each registers its claims once)."""
    if key in _IMPORTED:
        return
    for module in _PAPERS[key].claim_modules:
        importlib.import_module(module)
    stray = sorted(c.id for c in _CLAIMS.values() if c.paper not in _PAPERS)
    if stray:
        raise ValueError(f"claims {stray} belong to no installed paper (id prefix = paper key)")
    _IMPORTED.add(key)


def load_papers() -> None:
    """Find every paper through the entry-point group and import all their claim modules.

    A paper whose claim modules fail to import (a broken plug-in) is left out with a warning on
    stderr, so that the other papers stay usable; :func:`broken_papers` says which and why, and
    looking up one of its claims raises the import error itself.
    """
    _find_papers()
    for key in sorted(_PAPERS):
        if key in _BROKEN:
            continue
        try:
            _import_claims(key)
        except Exception as exc:  # noqa: BLE001 - any import failure of a plug-in
            _BROKEN[key] = f"{type(exc).__name__}: {exc}"
            print(f"theorycheck: warning: paper {key!r} could not be loaded and is left out ({_BROKEN[key]})",
                  file=sys.stderr)


def broken_papers() -> dict[str, str]:
    """``key -> error`` of the installed papers whose claims could not be imported."""
    return dict(_BROKEN)


@contextlib.contextmanager
def registered(paper: Paper, *claims: Claim):
    """Within the block, ``paper`` and ``claims`` are in the catalogue as if installed (for tests and
    notebooks that declare a claim on the spot); afterwards the catalogue is as it was."""
    _find_papers()
    _PAPERS[paper.key] = paper
    _IMPORTED.add(paper.key)
    for claim in claims:
        register(claim)
    try:
        yield claims
    finally:
        for claim in claims:
            _CLAIMS.pop(claim.id, None)
        _PAPERS.pop(paper.key, None)
        _IMPORTED.discard(paper.key)


def list_papers() -> list[Paper]:
    """Every installed paper, ordered by key."""
    _find_papers()
    return [_PAPERS[k] for k in sorted(_PAPERS)]


def get_paper(key: str) -> Paper:
    """Look up a paper by key; an unknown key raises :class:`InputError` listing the known ones."""
    _find_papers()
    if key not in _PAPERS:
        raise InputError("paper", f"{key!r} is unknown; known: {', '.join(sorted(_PAPERS))}")
    return _PAPERS[key]


def list_claims(paper: str | None = None) -> list[Claim]:
    """All registered claims (optionally of one paper, which must exist), ordered by id."""
    if paper is None:
        load_papers()
    else:
        _import_claims(get_paper(paper).key)
    return [c for k, c in sorted(_CLAIMS.items()) if (paper is None or c.paper == paper) and c.paper not in _BROKEN]


def get_claim(claim_id: str) -> Claim:
    """Look up a claim by id; an unknown id raises :class:`InputError` listing the known ones."""
    _find_papers()
    key = str(claim_id).split(".", 1)[0]
    if key in _PAPERS:
        _import_claims(key)
    if claim_id not in _CLAIMS:
        load_papers()
        raise InputError("claim id", f"{claim_id!r} is unknown; known: {', '.join(sorted(_CLAIMS))}")
    return _CLAIMS[claim_id]
