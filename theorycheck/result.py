"""The result of checking one claim: a typed, immutable record and the one place its JSON schema lives.

The CLI, the report, the figures and the docs read a :class:`Result`'s fields; ``<id>.json`` in an
output folder is :meth:`Result.to_json` and is read back with :meth:`Result.from_json`, which refuses
a file that does not follow the schema (naming the field) instead of failing later on a missing key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Mapping

__all__ = ["Result", "CriterionOutcome", "SCHEMA_VERSION"]

#: Bumped when a field changes meaning; a result of another version is refused by ``from_json``.
SCHEMA_VERSION = 2

VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE")


@dataclass(frozen=True)
class CriterionOutcome:
    """One criterion of a verdict: its status (PASS, FAIL or INCONCLUSIVE) and the sentence that says
    what was compared (with its interval or tolerance)."""

    status: str
    detail: str
    paper: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "PASS"


def _frozen(obj):
    if isinstance(obj, dict):
        return MappingProxyType({k: _frozen(v) for k, v in obj.items()})
    if isinstance(obj, list):
        return tuple(_frozen(v) for v in obj)
    return obj


def _thawed(obj):
    if isinstance(obj, Mapping):
        return {k: _thawed(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return [_thawed(v) for v in obj]
    if isinstance(obj, CriterionOutcome):
        return {"status": obj.status, "detail": obj.detail, "paper": obj.paper}
    return obj


@dataclass(frozen=True)
class Result:
    """Everything one check of one claim produced.

    Attributes
    ----------
    claim, paper, title, statement : str
        What was checked (copied from the claim, so a saved result reads on its own).
    scale : str
        ``smoke``, ``default`` or ``paper``.
    verdict : {"PASS", "FAIL", "INCONCLUSIVE"}
    criteria : mapping name -> CriterionOutcome
        The verdict's criteria, each with its outcome and its sentence.
    metrics : mapping
        The measured numbers (no timings: those are ``elapsed_s``).
    series : mapping
        What the figure plots.
    params : mapping
        The measurement's parameters, overrides applied.
    criteria_values : mapping
        The thresholds and tolerances the verdict used.
    exploratory : tuple of str
        Criteria overridden with ``--param``: the verdict is not the pre-registered one.
    seed : int
        The run seed.
    backend, backend_requested : str
        The array backend that ran, and the one asked for.
    elapsed_s : float
        Wall time of this run's measurement (small when its cells were reused).
    cells : mapping
        ``run`` (computed), ``reused`` (read from the store) and ``recomputed`` (saved, but made
        by code that has since changed), and ``seconds``: the compute time of all its cells, those
        reused included (what the measurement costs from scratch, on one worker).
    timings : mapping
        Wall-clock times the measurement reports (solver or step times), kept out of ``metrics``
        so that the metrics of two runs are bit-identical.
    versions : mapping
        Library versions and the hash of the claim's code.
    """

    claim: str
    paper: str
    title: str
    statement: str
    scale: str
    verdict: str
    criteria: Mapping[str, CriterionOutcome]
    metrics: Mapping[str, Any]
    series: Mapping[str, Any]
    params: Mapping[str, Any]
    criteria_values: Mapping[str, Any]
    exploratory: tuple[str, ...]
    seed: int
    backend: str
    backend_requested: str
    elapsed_s: float
    cells: Mapping[str, float]
    versions: Mapping[str, str]
    timings: Mapping[str, float] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        for name in ("metrics", "series", "params", "criteria_values", "cells", "versions", "timings"):
            object.__setattr__(self, name, _frozen(dict(getattr(self, name))))
        object.__setattr__(self, "criteria", MappingProxyType(
            {k: v if isinstance(v, CriterionOutcome) else CriterionOutcome(str(v["status"]), str(v["detail"]), str(v.get("paper", "")))
             for k, v in self.criteria.items()}))
        for name, c in self.criteria.items():
            if c.status not in VERDICTS:
                raise ValueError(f"criterion {name!r} has status {c.status!r}, not one of {VERDICTS}")
        object.__setattr__(self, "exploratory", tuple(self.exploratory))

    @property
    def passed(self) -> bool:
        return self.verdict == "PASS"

    def failed_criteria(self) -> dict[str, str]:
        """``name -> sentence`` of the criteria that FAIL."""
        return {k: c.detail for k, c in self.criteria.items() if c.status == "FAIL"}

    def inconclusive_criteria(self) -> dict[str, str]:
        """``name -> sentence`` of the criteria the data cannot decide."""
        return {k: c.detail for k, c in self.criteria.items() if c.status == "INCONCLUSIVE"}

    # -- display --------------------------------------------------------------------------------
    def _repr_markdown_(self) -> str:
        """In a notebook, ``res`` (or ``display(res)``) shows the verdict and each criterion with its
        math typeset: Jupyter and the docs render Markdown with ``$...$``."""
        head = (f"**{self.claim}**: **{self.verdict}**{' (exploratory)' if self.exploratory else ''} "
                f"at the {self.scale} scale, seed {self.seed}\n")
        lines = [f"- *{name.replace('_', ' ')}*: **{c.status}**. {c.detail}" +
                 (f"  \n  *The paper says:* {c.paper}" if c.paper else "") for name, c in self.criteria.items()]
        return head + "\n" + "\n".join(lines) + "\n"

    def __str__(self) -> str:
        from .tex_plain import tex_to_plain
        lines = [f"{self.claim}: {self.verdict} at the {self.scale} scale, seed {self.seed}"]
        lines += [f"  {c.status.lower()}: {name.replace('_', ' ')}: {tex_to_plain(c.detail)}"
                  for name, c in self.criteria.items()]
        return "\n".join(lines)

    # -- JSON ------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain dicts and lists, ready for ``json.dumps``."""
        return {f.name: _thawed(getattr(self, f.name)) for f in fields(self)}

    def to_json(self) -> str:
        from .store import to_jsonable
        return json.dumps(to_jsonable(self.to_dict()), indent=1)

    @classmethod
    def from_dict(cls, data) -> "Result":
        """Build a result from parsed JSON; raises ``ValueError`` naming the first bad field."""
        if not isinstance(data, dict):
            raise ValueError(f"a result is a JSON object, got {type(data).__name__}")
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"field 'schema' is {data.get('schema')!r}; this toolkit reads version "
                             f"{SCHEMA_VERSION} (rerun the check to rewrite it)")
        kinds = {"claim": str, "paper": str, "title": str, "statement": str, "scale": str,
                 "verdict": str, "criteria": dict, "metrics": dict, "series": dict, "params": dict,
                 "criteria_values": dict, "exploratory": list, "seed": int, "backend": str,
                 "backend_requested": str, "elapsed_s": (int, float), "cells": dict, "versions": dict}
        for name, kind in kinds.items():
            if name not in data:
                raise ValueError(f"field {name!r} is missing")
            if not isinstance(data[name], kind) or isinstance(data[name], bool) and kind is int:
                raise ValueError(f"field {name!r} has the wrong type ({type(data[name]).__name__})")
        for name, c in data["criteria"].items():
            if not (isinstance(c, dict) and c.get("status") in VERDICTS and isinstance(c.get("detail"), str)):
                raise ValueError(f"field 'criteria' entry {name!r} must be {{'status': one of {VERDICTS}, "
                                 "'detail': str}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_json(cls, text: str) -> "Result":
        return cls.from_dict(json.loads(text))

    def replace(self, **changes) -> "Result":
        """A copy with ``changes`` applied (a result is never changed in place)."""
        return type(self)(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **changes})

