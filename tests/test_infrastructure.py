"""The registry, store, sweeps and CLI, exercised with a toy claim registered by the test."""

import json

import numpy as np
import pytest

from theorycheck import cli, registry
from theorycheck.errors import InputError, check_divides, check_real
from theorycheck.registry import Claim, Verdict
from theorycheck.sweep import RunContext, cell_snapshot_path


def _toy_cell(cell, rng):
    return {"x": float(rng.standard_normal()) + cell["a"]}


def _toy_measure(params, ctx):
    if params["n"] < 1:
        raise InputError("n", f"must be >= 1, got {params['n']}")
    cells = [{"a": a} for a in range(params["n"])]
    out = ctx.map(_toy_cell, cells)
    xs = [o["x"] for o in out]
    return {"metrics": {"mean": float(np.mean(xs))}, "series": {"x": xs}}


def _toy_verdict(metrics, params):
    return Verdict.from_criteria(finite=(np.isfinite(metrics["mean"]), f"mean={metrics['mean']:.3g}"),
                                 below=(metrics["mean"] < params["limit"], f"limit {params['limit']}"))


def _toy_figure(result, fig):
    ax = fig.add_subplot()
    ax.plot(result["series"]["x"], "o")


TOY = Claim(id="toy.claim", title="toy", statement="a toy", assumptions=("none",), method="mean",
            scales={"smoke": {"n": 3, "limit": 100.0}, "default": {"n": 5, "limit": 100.0},
                    "paper": {"n": 8, "limit": 100.0}},
            measure=_toy_measure, verdict=_toy_verdict, figure=_toy_figure, key_metrics=("mean",))


@pytest.fixture
def toy_registered():
    registry._load_all()
    registry.register(TOY)
    yield TOY
    registry._CLAIMS.pop(TOY.id, None)


def test_verdict_fails_when_any_criterion_fails():
    assert Verdict.from_criteria(a=(True, ""), b=(False, "")).passed is False
    assert Verdict.from_criteria(a=(True, "")).passed is True
    assert Verdict.from_criteria().passed is False  # a check with no criterion cannot pass


def test_sweep_same_seed_same_numbers_any_order(tmp_path):
    cells = [{"a": a} for a in range(6)]
    a = RunContext("toy.claim", seed=3).map(_toy_cell, cells)
    b = RunContext("toy.claim", seed=3).map(_toy_cell, cells[::-1])[::-1]
    c = RunContext("toy.claim", seed=4).map(_toy_cell, cells)
    assert a == b
    assert a != c


def test_sweep_processes_match_serial():
    cells = [{"a": a} for a in range(4)]
    serial = RunContext("toy.claim", seed=1).map(_toy_cell, cells)
    parallel = RunContext("toy.claim", seed=1, jobs=2).map(_toy_cell, cells)
    assert serial == parallel


def test_sweep_resumes_from_saved_cells(tmp_path):
    cells = [{"a": a} for a in range(5)]
    ctx = RunContext("toy.claim", seed=0, cells_dir=tmp_path)
    first = ctx.map(_toy_cell, cells[:3])
    ctx2 = RunContext("toy.claim", seed=0, cells_dir=tmp_path)
    full = ctx2.map(_toy_cell, cells)
    assert full[:3] == first
    assert ctx2.stats == {"cells_run": 2, "cells_reused": 3}


_INTERRUPT_AT = {"k": None}


def _counting_cell(cell, rng):
    """Counts to cell["n"], keeping its count in the cell snapshot; interrupted at _INTERRUPT_AT."""
    snap = cell_snapshot_path()
    start = int(snap.read_text()) if snap is not None and snap.exists() else 0
    for k in range(start, cell["n"]):
        if k == _INTERRUPT_AT["k"]:
            raise KeyboardInterrupt
        if snap is not None:
            snap.write_text(str(k + 1))
    return {"resumed_from": start, "draw": float(rng.standard_normal())}


def test_interrupted_cell_resumes_from_its_snapshot_and_the_snapshot_is_removed(tmp_path):
    cell = {"n": 10}
    _INTERRUPT_AT["k"] = 6
    try:
        with pytest.raises(KeyboardInterrupt):
            RunContext("toy.claim", seed=0, cells_dir=tmp_path).map(_counting_cell, [cell])
    finally:
        _INTERRUPT_AT["k"] = None
    assert [p.suffix for p in tmp_path.iterdir()] == [".snapshot"]
    out = RunContext("toy.claim", seed=0, cells_dir=tmp_path).map(_counting_cell, [cell])[0]
    fresh = RunContext("toy.claim", seed=0).map(_counting_cell, [cell])[0]
    assert fresh["resumed_from"] == 0
    assert out["resumed_from"] == 6
    assert out["draw"] == fresh["draw"]  # the cell's generator does not depend on the interruption
    assert [p.suffix for p in tmp_path.iterdir()] == [".json"]


def test_underscore_run_settings_change_neither_keys_nor_numbers(tmp_path):
    ctx = RunContext("toy.claim", seed=0, cells_dir=tmp_path)
    first = ctx.map(_toy_cell, [{"a": 1, "_verbose": 0}])
    again = RunContext("toy.claim", seed=0, cells_dir=tmp_path)
    assert again.map(_toy_cell, [{"a": 1, "_verbose": 5}]) == first
    assert again.stats == {"cells_run": 0, "cells_reused": 1}
    assert RunContext("toy.claim", seed=0).map(_toy_cell, [{"a": 1}]) == first


def test_an_edit_to_the_code_starts_cells_afresh_with_the_same_random_numbers(tmp_path, monkeypatch):
    from theorycheck import sweep
    first = RunContext("toy.claim", seed=0, cells_dir=tmp_path).map(_toy_cell, [{"a": 1}])
    monkeypatch.setattr(sweep, "code_fingerprint", lambda: "edited-code")  # the name sweep calls
    ctx = RunContext("toy.claim", seed=0, cells_dir=tmp_path)
    assert ctx.map(_toy_cell, [{"a": 1}]) == first
    assert ctx.stats == {"cells_run": 1, "cells_reused": 0}


def test_snapshot_path_is_none_outside_a_saving_sweep():
    assert cell_snapshot_path() is None
    out = RunContext("toy.claim", seed=0).map(_snapshot_probe, [{}])[0]
    assert out == {"path": None}


def _snapshot_probe(cell, rng):
    p = cell_snapshot_path()
    return {"path": None if p is None else str(p)}


def test_cli_check_writes_schema_and_exit_codes(toy_registered, tmp_path, capsys):
    assert cli.main(["check", "toy.claim", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "toy.claim.json").read_text())
    for key in ("claim", "paper", "statement", "scale", "passed", "metrics", "series", "params", "seed",
                "elapsed_s", "versions"):
        assert key in res
    # the verdict is computed from the measurement: an impossible limit makes the same claim fail
    assert cli.main(["check", "toy.claim", "--out", str(tmp_path), "--param", "limit=-100"]) == 1
    assert cli.main(["figure", "toy.claim", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "toy.claim.png").exists() and (tmp_path / "toy.claim.pdf").exists()
    assert cli.main(["report", "--out", str(tmp_path)]) == 0
    assert "toy.claim" in (tmp_path / "report.html").read_text()


@pytest.mark.parametrize("exc, code, needle", [
    (FloatingPointError("training loss 619 exceeds 1000 x its initial value; lower the learning rate"), 2,
     "numerical failure: training loss 619"),
    (RuntimeError("boom"), 3, "internal error (RuntimeError): boom"),
])
def test_cli_failures_are_one_line_with_their_exit_code(toy_registered, monkeypatch, capsys, exc, code, needle):
    from theorycheck import api

    def explode(*args, **kwargs):
        raise exc
    monkeypatch.setattr(api, "run_claim", explode)
    monkeypatch.delenv("THEORYCHECK_DEBUG", raising=False)
    assert cli.main(["check", "toy.claim"]) == code
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_claim_without_gpu_code_records_that_it_ran_on_numpy(toy_registered):
    from theorycheck import run_claim
    res = run_claim("toy.claim", backend="cupy")
    assert (res["backend"], res["backend_requested"]) == ("numpy", "cupy")
    assert run_claim("toy.claim")["backend_requested"] == "numpy"


def test_cli_run_exits_0_with_a_failing_claim_unless_strict(toy_registered, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(registry, "list_claims", lambda paper=None: [toy_registered])
    assert cli.main(["run", "--out", str(tmp_path), "--param", "limit=-100"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" in out and "1 claim(s) failed: toy.claim" in out
    assert (tmp_path / "report.html").exists() and (tmp_path / "toy.claim.png").exists()
    assert cli.main(["run", "--strict", "--out", str(tmp_path), "--param", "limit=-100"]) == 1
    assert cli.main(["run", "--strict", "--out", str(tmp_path)]) == 0


@pytest.mark.parametrize("argv, needle", [
    (["check", "no.such.claim"], "claim id"),
    (["check", "toy.claim", "--scale", "huge"], "scale"),
    (["check", "toy.claim", "--param", "n=0"], "n must be >= 1"),
    (["check", "toy.claim", "--param", "zzz=1"], "zzz"),
    (["check", "toy.claim", "--jobs", "0"], "jobs"),
    (["figure", "toy.claim", "--out", "/nonexistent/dir"], "no saved result"),
])
def test_cli_bad_input_is_one_line_and_exit_2(toy_registered, argv, needle, capsys, tmp_path):
    assert cli.main(argv + (["--out", str(tmp_path)] if "--out" not in argv else [])) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_input_errors_name_parameter_and_range():
    with pytest.raises(InputError, match="g must divide m=10"):
        check_divides("g", 3, "m", 10)
    with pytest.raises(InputError, match=r"delta must be in \(0, inf\]"):
        check_real("delta", -1.0, low=0.0, low_open=True)


def test_cli_cite_prints_bibtex(capsys):
    from theorycheck.papers import PAPERS
    registry._load_all()
    claim = Claim(id="hong2021.toy", title="t", statement="s", assumptions=(), method="m",
                  scales={s: {} for s in registry.SCALES}, measure=_toy_measure, verdict=_toy_verdict)
    registry.register(claim)
    try:
        assert cli.main(["cite", "hong2021.toy"]) == 0
        assert "Student-Teacher Learning from Clean Inputs to Noisy Inputs" in capsys.readouterr().out
    finally:
        registry._CLAIMS.pop(claim.id, None)
    assert set(PAPERS) == {"hong2021", "ji2020", "soteacher"}


def test_saved_cells_are_not_reused_across_run_seeds(tmp_path):
    cells = [{"a": a} for a in range(3)]
    seed0 = RunContext("toy.claim", seed=0, cells_dir=tmp_path).map(_toy_cell, cells)
    ctx1 = RunContext("toy.claim", seed=1, cells_dir=tmp_path)
    seed1 = ctx1.map(_toy_cell, cells)
    assert ctx1.stats == {"cells_run": 3, "cells_reused": 0}
    assert seed1 == RunContext("toy.claim", seed=1).map(_toy_cell, cells) != seed0
