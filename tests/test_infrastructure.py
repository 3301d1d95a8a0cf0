"""The registry, runner, result, store, sweeps and CLI, exercised with a toy paper registered by the test."""

import json

import numpy as np
import pytest

from theorycheck import cli, registry
from theorycheck.errors import InputError, check_divides, check_grid, check_list, check_real
from theorycheck.registry import Claim, Paper, Verdict
from theorycheck.result import Result
from theorycheck.sweep import RunContext


def _counts(stats):
    """The cell counts of a sweep's statistics (without its timings)."""
    return {k: stats[k] for k in ("run", "reused", "recomputed")}


def _toy_cell(cell, rng):
    return {"x": float(rng.standard_normal()) + cell["a"]}


def _toy_measure(params, ctx):
    cells = [{"a": a} for a in range(params["n"])]
    out = ctx.map(_toy_cell, cells, stream="draws")
    xs = [o["x"] for o in out]
    return {"metrics": {"mean": float(np.mean(xs))}, "series": {"x": xs}}


def _toy_verdict(metrics, params, criteria):
    return Verdict.from_criteria(finite=(np.isfinite(metrics["mean"]), f"mean={metrics['mean']:.3g}"),
                                 below=(metrics["mean"] < criteria["limit"], f"limit {criteria['limit']}"))


def _toy_validate(p):
    if p["n"] < 1:
        raise InputError("n", f"must be >= 1, got {p['n']}")


def _toy_figure(result, fig):
    ax = fig.add_subplot()
    ax.plot(result.series["x"], "o")


TOY_PAPER = Paper(key="toy", title="Toy 2026 — a paper of the tests", bibtex="@misc{toy}", claim_modules=())
TOY = Claim(id="toy.claim", title="toy", statement="a toy", assumptions=("none",), method="mean",
            scales={"smoke": {"n": 3}, "default": {"n": 5}, "paper": {"n": 8}},
            criteria={"limit": 100.0}, validate=_toy_validate,
            measure=_toy_measure, verdict=_toy_verdict, figure=_toy_figure, key_metrics=("mean",))


@pytest.fixture
def toy_registered():
    with registry.registered(TOY_PAPER, TOY):
        yield TOY


def test_verdict_fails_when_any_criterion_fails():
    assert Verdict.from_criteria(a=(True, ""), b=(False, "")).passed is False
    assert Verdict.from_criteria(a=(True, "")).passed is True
    assert Verdict.from_criteria().passed is False  # a check with no criterion cannot pass


@pytest.mark.parametrize("statuses, expected", [
    (("PASS", "PASS"), "PASS"), (("PASS", "INCONCLUSIVE"), "INCONCLUSIVE"), (("INCONCLUSIVE", "FAIL"), "FAIL"),
    ((True, "INCONCLUSIVE"), "INCONCLUSIVE"), ((False, "PASS"), "FAIL")])
def test_a_verdict_is_three_valued(statuses, expected):
    v = Verdict.from_criteria(**{f"c{i}": (s, "") for i, s in enumerate(statuses)})
    assert v.status == expected and v.passed is (expected == "PASS")
    with pytest.raises(ValueError):
        Verdict.from_criteria(a=("MAYBE", ""))


def _toy_unsure_verdict(metrics, params, criteria):
    return Verdict.from_criteria(unsure=("INCONCLUSIVE", "the interval straddles the threshold"))


def test_cli_check_exits_4_on_an_inconclusive_claim_and_run_lists_it(toy_registered, tmp_path, monkeypatch, capsys):
    import dataclasses
    unsure = dataclasses.replace(TOY, verdict=_toy_unsure_verdict)
    monkeypatch.setitem(registry._CLAIMS, TOY.id, unsure)
    assert cli.main(["check", "toy.claim", "--out", str(tmp_path)]) == 4
    out = capsys.readouterr().out
    assert "INCONCLUSIVE" in out and "inconclusive: unsure: the interval straddles" in out
    assert Result.from_json((tmp_path / "toy.claim.json").read_text()).verdict == "INCONCLUSIVE"
    monkeypatch.setattr(registry, "list_claims", lambda paper=None: [unsure])
    assert cli.main(["run", "--strict", "--out", str(tmp_path)]) == 0  # --strict is about FAIL only
    assert "1 claim(s) inconclusive: toy.claim" in capsys.readouterr().out
    assert "INCONCLUSIVE" in (tmp_path / "report.html").read_text()


def test_a_name_cannot_be_both_parameter_and_criterion():
    with pytest.raises(ValueError, match="both parameters and criteria"):
        Claim(id="toy.bad", title="t", statement="s", assumptions=(), method="m",
              scales={s: {"limit": 1} for s in registry.SCALES}, criteria={"limit": 2},
              measure=_toy_measure, verdict=_toy_verdict)


def test_sweep_same_seed_same_numbers_any_order():
    cells = [{"a": a} for a in range(6)]
    a = RunContext("toy.claim", seed=3).map(_toy_cell, cells, stream="s")
    b = RunContext("toy.claim", seed=3).map(_toy_cell, cells[::-1], stream="s")[::-1]
    c = RunContext("toy.claim", seed=4).map(_toy_cell, cells, stream="s")
    d = RunContext("toy.claim", seed=3).map(_toy_cell, cells, stream="other")
    assert a == b
    assert a != c and a != d  # the run seed and the stream name both enter the generator


def test_sweep_processes_match_serial():
    cells = [{"a": a} for a in range(4)]
    serial = RunContext("toy.claim", seed=1).map(_toy_cell, cells, stream="s")
    parallel = RunContext("toy.claim", seed=1, jobs=2).map(_toy_cell, cells, stream="s")
    assert serial == parallel


def test_sweep_resumes_from_saved_cells(tmp_path):
    cells = [{"a": a} for a in range(5)]
    ctx = RunContext("toy.claim", seed=0, cells_dir=tmp_path)
    first = ctx.map(_toy_cell, cells[:3], stream="s")
    ctx2 = RunContext("toy.claim", seed=0, cells_dir=tmp_path)
    full = ctx2.map(_toy_cell, cells, stream="s")
    assert full[:3] == first
    assert _counts(ctx2.stats) == {"run": 2, "reused": 3, "recomputed": 0}


_INTERRUPT_AT = {"k": None}


def _counting_cell(cell, rng, run):
    """Counts to cell["n"], keeping its count in the cell's snapshot; interrupted at _INTERRUPT_AT."""
    snap = run.snapshot
    start = int(snap.read_text()) if snap is not None and snap.exists() else 0
    for k in range(start, cell["n"]):
        if k == _INTERRUPT_AT["k"]:
            raise KeyboardInterrupt
        if snap is not None:
            snap.write_text(str(k + 1))
    return {"resumed_from": start, "draw": float(rng.standard_normal()), "every": run.settings["every"]}


def test_interrupted_cell_resumes_from_its_snapshot_and_the_snapshot_is_removed(tmp_path):
    cell, settings = {"n": 10}, {"every": 1}
    _INTERRUPT_AT["k"] = 6
    try:
        with pytest.raises(KeyboardInterrupt):
            RunContext("toy.claim", seed=0, cells_dir=tmp_path).map(_counting_cell, [cell], stream="s",
                                                                    settings=settings)
    finally:
        _INTERRUPT_AT["k"] = None
    assert [p.suffixes[-1] for p in tmp_path.iterdir() if p.suffix != ".lock"] == [".snapshot"]
    out = RunContext("toy.claim", seed=0, cells_dir=tmp_path).map(_counting_cell, [cell], stream="s",
                                                                  settings=settings)[0]
    fresh = RunContext("toy.claim", seed=0).map(_counting_cell, [cell], stream="s", settings=settings)[0]
    assert fresh["resumed_from"] == 0
    assert out["resumed_from"] == 6
    assert out["draw"] == fresh["draw"]  # the cell's generator does not depend on the interruption
    assert [p.suffix for p in tmp_path.iterdir() if p.suffix != ".lock"] == [".json"]


def test_run_settings_change_neither_keys_nor_numbers(tmp_path):
    first = RunContext("toy.claim", seed=0, cells_dir=tmp_path).map(_counting_cell, [{"n": 2}], stream="s",
                                                                    settings={"every": 0})
    again = RunContext("toy.claim", seed=0, cells_dir=tmp_path)
    assert again.map(_counting_cell, [{"n": 2}], stream="s", settings={"every": 5}) == first
    assert _counts(again.stats) == {"run": 0, "reused": 1, "recomputed": 0}
    fresh = RunContext("toy.claim", seed=0).map(_counting_cell, [{"n": 2}], stream="s", settings={"every": 5})
    assert fresh[0]["draw"] == first[0]["draw"]


def test_the_snapshot_is_none_when_the_run_keeps_nothing():
    out = RunContext("toy.claim", seed=0).map(_snapshot_probe, [{}], stream="s", settings={})[0]
    assert out == {"path": None}


def _snapshot_probe(cell, rng, run):
    return {"path": None if run.snapshot is None else str(run.snapshot)}


def test_an_edit_to_the_cells_code_recomputes_them_with_the_same_random_numbers(tmp_path, monkeypatch):
    from theorycheck import sweep
    first = RunContext("toy.claim", seed=0, cells_dir=tmp_path).map(_toy_cell, [{"a": 1}], stream="s")
    monkeypatch.setattr(sweep, "code_hash", lambda module: "edited-code")  # the name sweep calls
    ctx = RunContext("toy.claim", seed=0, cells_dir=tmp_path)
    assert ctx.map(_toy_cell, [{"a": 1}], stream="s") == first
    assert _counts(ctx.stats) == {"run": 1, "reused": 0, "recomputed": 1}
    again = RunContext("toy.claim", seed=0, cells_dir=tmp_path)
    again.map(_toy_cell, [{"a": 1}], stream="s")
    assert _counts(again.stats) == {"run": 0, "reused": 1, "recomputed": 0}
    assert len(list(tmp_path.glob("*.json"))) == 1  # the recomputed cell replaced the stale one


def test_the_code_hash_covers_what_a_cell_module_imports_and_nothing_else():
    from theorycheck.codehash import code_modules
    names = [m for m, _ in code_modules("theorycheck.hong2021.relu.simulator")]
    assert "theorycheck.hong2021.relu.simulator" in names
    assert "theorycheck.hong2021.relu.objective" in names  # imported by the simulator
    assert "theorycheck.backend" in names
    for unrelated in ("theorycheck.report", "theorycheck.plots", "theorycheck.cli", "theorycheck.ji2020.ntk"):
        assert unrelated not in names


def test_cli_check_writes_the_result_schema_and_exit_codes(toy_registered, tmp_path, capsys):
    assert cli.main(["check", "toy.claim", "--out", str(tmp_path)]) == 0
    res = Result.from_json((tmp_path / "toy.claim.json").read_text())
    assert (res.claim, res.paper, res.scale, res.verdict) == ("toy.claim", "toy", "smoke", "PASS")
    assert res.criteria_values == {"limit": 100.0} and res.exploratory == ()
    assert "mean" in res.metrics and res.elapsed_s >= 0 and "numpy" in res.versions
    assert _counts(res.cells) == {"run": 3, "reused": 0, "recomputed": 0}
    assert "computed 3 cells" in capsys.readouterr().out
    # the verdict is computed from the measurement: an impossible limit makes the same claim fail,
    # and overriding a pre-registered criterion marks the result exploratory
    assert cli.main(["check", "toy.claim", "--out", str(tmp_path), "--param", "limit=-100"]) == 1
    out = capsys.readouterr().out
    assert "FAIL*" in out and "exploratory" in out and "reused 3 cells" in out
    assert Result.from_json((tmp_path / "toy.claim.json").read_text()).exploratory == ("limit",)
    assert cli.main(["figure", "toy.claim", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "toy.claim.png").exists() and (tmp_path / "toy.claim.pdf").exists()
    assert cli.main(["report", "--out", str(tmp_path)]) == 0
    assert "toy.claim" in (tmp_path / "report.html").read_text()


def test_result_round_trips_through_json_and_refuses_a_broken_file():
    res = Result(claim="toy.claim", paper="toy", title="t", statement="s", scale="smoke", verdict="PASS",
                 criteria={"a": {"status": "PASS", "detail": "fine"}}, metrics={"x": [1.0, 2.0], "y": {"z": 1}},
                 series={}, params={"n": 3}, criteria_values={"limit": 1.0}, exploratory=(), seed=0,
                 backend="numpy", backend_requested="numpy", elapsed_s=0.5,
                 cells={"run": 1, "reused": 0, "recomputed": 0}, versions={"numpy": "2"})
    again = Result.from_json(res.to_json())
    assert again == res and again.passed and again.failed_criteria() == {}
    with pytest.raises(TypeError):
        res.metrics["x"] = 3  # immutable
    data = json.loads(res.to_json())
    for broken, needle in ((dict(data, verdict="MAYBE"), "verdict"), ({k: v for k, v in data.items() if k != "seed"},
                           "'seed' is missing"), (dict(data, elapsed_s="1 s"), "'elapsed_s'"),
                           (dict(data, schema=1), "schema")):
        with pytest.raises(ValueError, match=needle):
            Result.from_dict(broken)


@pytest.mark.parametrize("exc, code, needle", [
    (FloatingPointError("training loss 619 exceeds 1000 x its initial value; lower the learning rate"), 2,
     "numerical failure: training loss 619"),
    (RuntimeError("boom"), 3, "internal error (RuntimeError): boom"),
])
def test_cli_failures_are_one_line_with_their_exit_code(toy_registered, monkeypatch, capsys, exc, code, needle):
    from theorycheck import runner

    def explode(*args, **kwargs):
        raise exc
    monkeypatch.setattr(runner, "run_claim", explode)
    monkeypatch.delenv("THEORYCHECK_DEBUG", raising=False)
    assert cli.main(["check", "toy.claim"]) == code
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_claim_without_gpu_code_records_that_it_ran_on_numpy(toy_registered):
    from theorycheck import run_claim
    res = run_claim("toy.claim", backend="cupy")
    assert (res.backend, res.backend_requested) == ("numpy", "cupy")
    assert run_claim("toy.claim").backend_requested == "numpy"


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
    (["list", "--paper", "nosuch"], "paper"),
])
def test_cli_bad_input_is_one_line_and_exit_2(toy_registered, argv, needle, capsys, tmp_path):
    if argv[0] != "list" and "--out" not in argv:
        argv = argv + ["--out", str(tmp_path)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_input_errors_name_parameter_and_range():
    with pytest.raises(InputError, match="g must divide m=10"):
        check_divides("g", 3, "m", 10)
    with pytest.raises(InputError, match=r"delta must be in \(0, inf\]"):
        check_real("delta", -1.0, low=0.0, low_open=True)
    assert check_grid("N_s", [1, 2, 4], integer=True, low=1) == [1, 2, 4]
    for bad, needle in (([2, 1], "strictly increasing"), ([], "at least 1"), ([0, 1], r"\[1, inf\]"),
                        ("12", "list of numbers"), ([1.5], "integer")):
        with pytest.raises(InputError, match=needle):
            check_grid("N_s", bad, integer=True, low=1)
    with pytest.raises(InputError, match="must not repeat"):
        check_list("lams", [1.0, 1.0], low=0.0, distinct=True)


def test_cli_cite_prints_the_papers_bibtex(capsys):
    assert cli.main(["cite", "hong2021.thm1"]) == 0
    assert "Student-Teacher Learning from Clean Inputs to Noisy Inputs" in capsys.readouterr().out
    assert {p.key for p in registry.list_papers()} >= {"hong2021", "ji2020", "soteacher"}


def test_saved_cells_are_not_reused_across_run_seeds(tmp_path):
    cells = [{"a": a} for a in range(3)]
    seed0 = RunContext("toy.claim", seed=0, cells_dir=tmp_path).map(_toy_cell, cells, stream="s")
    ctx1 = RunContext("toy.claim", seed=1, cells_dir=tmp_path)
    seed1 = ctx1.map(_toy_cell, cells, stream="s")
    assert _counts(ctx1.stats) == {"run": 3, "reused": 0, "recomputed": 0}
    assert seed1 == RunContext("toy.claim", seed=1).map(_toy_cell, cells, stream="s") != seed0


def test_the_sweep_sets_blas_threads_for_every_cell():
    threads = RunContext("toy.claim", seed=0).map(_blas_probe, [{}], stream="s", blas_threads=1)[0]
    assert threads == {"blas": 1}


def _blas_probe(cell, rng):
    from threadpoolctl import threadpool_info
    return {"blas": max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")}


def test_a_saved_verdict_that_its_numbers_do_not_give_is_flagged(toy_registered, tmp_path):
    from theorycheck.runner import recheck
    res = run_claim_toy(tmp_path)
    assert recheck(res) is None
    flipped = res.replace(metrics={**res.metrics, "mean": 1e9})  # the file says PASS, the numbers say FAIL
    assert "says PASS" in recheck(flipped) and "give FAIL" in recheck(flipped)


def test_timings_stay_out_of_the_metrics_and_the_cells_record_their_compute_time(toy_registered, tmp_path):
    res = run_claim_toy(tmp_path)
    again = run_claim_toy(tmp_path)
    assert again.metrics == res.metrics  # bit-identical: no wall-clock time among the metrics
    assert res.cells["seconds"] > 0 and again.cells["reused"] == 3
    assert again.cells["seconds"] == pytest.approx(res.cells["seconds"])  # the original compute time is kept


def run_claim_toy(out):
    from theorycheck import run_claim
    return run_claim("toy.claim", out=out)


def test_an_input_error_raised_in_a_worker_process_reaches_the_parent_intact():
    import pickle
    err = pickle.loads(pickle.dumps(InputError("lr", "made training collapse; lower it")))
    assert (err.param, str(err)) == ("lr", "lr made training collapse; lower it")
    with pytest.raises(InputError, match="^a must be >= 0, got -1$"):
        RunContext("toy.claim", seed=0, jobs=2).map(_refusing_cell, [{"a": -1}, {"a": 1}], stream="s")


def _refusing_cell(cell, rng):
    if cell["a"] < 0:
        raise InputError("a", f"must be >= 0, got {cell['a']}")
    return {"a": cell["a"]}


@pytest.mark.parametrize("not_a_generator", [None, 0, np.random.RandomState(0), "seed"])
def test_randomness_is_explicit_a_generator_or_an_input_error_naming_rng(not_a_generator):
    from theorycheck.errors import InputError, check_rng
    from theorycheck.hong2021.linear.problems import thm1_instance
    from theorycheck.hong2021.relu.teachers import xavier_teacher
    from theorycheck.ji2020.ntk import unit_sphere
    rng = np.random.default_rng(0)
    assert check_rng(rng) is rng
    for call in (lambda r: check_rng(r), lambda r: xavier_teacher(4, 3, r), lambda r: unit_sphere(5, 3, r),
                 lambda r: thm1_instance(2, 4, 3, 1, 0.5, r)):
        with pytest.raises(InputError, match="rng must be a numpy.random.Generator"):
            call(not_a_generator)
