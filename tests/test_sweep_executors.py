"""Sweeps give identical results on every executor (in-process, worker processes, a Dask LocalCluster)
and an interrupted sweep resumes: finished cells are reused and the final result equals an
uninterrupted run."""

import json

import numpy as np
import pytest

from theorycheck import cli, run_claim
from theorycheck.hong2021 import mlp
from theorycheck.hong2021.experiments import regime
from theorycheck.result import Result
from theorycheck.sweep import RunContext

#: a regime claim small enough for several runs per test: 4 teachers and 12 students of a 64-8-8-10 MLP
TINY_TABLE2 = {"sigmas": [0.1, 0.5], "N_s": 5, "N_t_grid": [5, 20], "hidden": [8, 8], "steps": 60,
               "eval_every": 10, "seeds": 2, "test_noise_draws": 1}
TINY_FIG3 = {"N_s_grid": [2, 5], "N_t_grid": [5, 20], "hidden": [8, 8], "steps": 60, "eval_every": 10,
             "seeds": 2, "test_noise_draws": 1}


def _counts(stats):
    """The cell counts of a sweep's statistics (without its timings)."""
    return {k: stats[k] for k in ("run", "reused", "recomputed")}


def _argv(params):
    return [a for k, v in params.items() for a in ("--param", f"{k}={v!r}".replace(" ", ""))]


def _cells(folder):
    return {p.name: json.loads(p.read_text())["result"] for p in sorted(folder.glob("*.json"))}


def test_serial_processes_and_dask_cli_give_identical_results(tmp_path):
    # the Dask run goes through the command line, as a user would start it
    code = cli.main(["check", "hong2021.table2", "--scheduler", "local", "--jobs", "2", "--no-progress",
                     "--out", str(tmp_path / "dask"), *_argv(TINY_TABLE2)])
    assert code in (0, 1, 4)  # a tiny run decides whichever way; it must not crash
    dask = Result.from_json((tmp_path / "dask" / "hong2021.table2.json").read_text())
    serial = run_claim("hong2021.table2", "smoke", out=tmp_path / "serial", params=TINY_TABLE2)
    procs = run_claim("hong2021.table2", "smoke", out=tmp_path / "procs", jobs=2, params=TINY_TABLE2)
    for res in (dask, procs):
        assert res.metrics == serial.metrics  # exact: the same floats, not merely close
        assert res.series == serial.series
        assert _counts(res.cells) == {"run": 16, "reused": 0, "recomputed": 0}
    cells = {name: _cells(tmp_path / name / "cells" / "hong2021.table2") for name in ("serial", "procs", "dask")}
    assert len(cells["serial"]) == 16
    assert cells["serial"] == cells["procs"] == cells["dask"]  # same keys, same saved results


_CALLS = {"n": 0}


def _interruptible_cell(cell, rng):
    _CALLS["n"] += 1
    if _CALLS["n"] == _CALLS.get("stop_at"):
        raise KeyboardInterrupt
    return {"x": float(rng.standard_normal()) * cell["a"], "v": rng.integers(0, 100, 3)}


def test_sweep_interrupted_at_the_kth_cell_resumes_to_the_uninterrupted_result(tmp_path):
    cells = [{"a": a} for a in range(7)]
    _CALLS.update(n=0, stop_at=None)
    reference = RunContext("toy.interrupt", seed=5).map(_interruptible_cell, cells, stream="s")
    _CALLS.update(n=0, stop_at=4)
    with pytest.raises(KeyboardInterrupt):
        RunContext("toy.interrupt", seed=5, cells_dir=tmp_path).map(_interruptible_cell, cells, stream="s")
    saved = sorted(p for p in tmp_path.iterdir() if p.suffix != ".lock")
    assert len(saved) == 3 and all(p.suffix == ".json" for p in saved)  # no half-written file left
    _CALLS.update(n=0, stop_at=None)
    ctx = RunContext("toy.interrupt", seed=5, cells_dir=tmp_path)
    resumed = ctx.map(_interruptible_cell, cells, stream="s")
    assert _counts(ctx.stats) == {"run": 4, "reused": 3, "recomputed": 0}
    assert _CALLS["n"] == 4  # the three finished cells were not recomputed
    assert resumed == reference


def test_claim_interrupted_mid_sweep_resumes_from_the_cli(tmp_path, monkeypatch, capsys):
    out = str(tmp_path / "run")
    argv = ["check", "hong2021.fig3", "--out", out, "--no-progress", *_argv(TINY_FIG3)]
    reference = run_claim("hong2021.fig3", "smoke", params=TINY_FIG3)
    real, calls = mlp.train_classifier, {"n": 0}

    def interrupted(*args, **kwargs):  # Ctrl-C during the 9th network trained in this process
        calls["n"] += 1
        if calls["n"] == 9:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    regime.clear_caches()  # train teachers afresh, so the count is of this run
    monkeypatch.setattr(mlp, "train_classifier", interrupted)
    assert cli.main(argv) == 130
    assert "rerun the same command to resume" in capsys.readouterr().err
    n_saved = len(list((tmp_path / "run" / "cells" / "hong2021.fig3").glob("*.json")))
    assert 0 < n_saved < 4 + 12  # some cells finished, not all
    monkeypatch.setattr(mlp, "train_classifier", real)
    assert cli.main(argv) in (0, 1, 4)
    resumed = Result.from_json((tmp_path / "run" / "hong2021.fig3.json").read_text())
    assert _counts(resumed.cells) == {"run": 16 - n_saved, "reused": n_saved, "recomputed": 0}
    assert resumed.metrics == reference.metrics
    assert resumed.series == reference.series


def test_per_cell_seeds_do_not_depend_on_order_or_executor():
    cells = [{"a": a} for a in range(5)]
    _CALLS.update(n=0, stop_at=None)
    forward = RunContext("toy.interrupt", seed=2).map(_interruptible_cell, cells, stream="s")
    backward = RunContext("toy.interrupt", seed=2).map(_interruptible_cell, cells[::-1], stream="s")[::-1]
    assert forward == backward
    assert all(isinstance(r["v"], list) for r in forward)  # numpy results come back as JSON types
    assert np.ndim(forward[0]["v"]) == 1
