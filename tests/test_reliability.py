"""Reliability under hostile or careless use: bounded resources, a store that heals itself, prompt and
clean interruption, options checked before computing, outputs that follow the umask.

The process-level tests drive the real command line on a toy paper installed into a temporary folder
(a package and its ``.dist-info`` with the ``theorycheck.papers`` entry point), whose cells sleep, so
that signals and concurrent runs can be timed.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from theorycheck import cli, registry, run_claim
from theorycheck.errors import InputError
from theorycheck.registry import Claim, Paper, Verdict
from theorycheck.store import UnreadableFile, atomic_write_bytes
from theorycheck.sweep import RunContext

from _plugin_site import write_plugin_site

# --------------------------------------------------------------------------- a toy paper (subprocesses)
SLOW_INIT = '''
from theorycheck.registry import Paper
PAPER = Paper(key="slowpaper", title="Slow 2026", bibtex="@misc{slow}", claim_modules=("slowpaper.claims",))
'''
SLOW_CELLS = '''
import os, time
from pathlib import Path


def slow_cell(cell, rng):
    """Records that it ran (one line per computation) and sleeps."""
    log = Path(os.environ["SLOW_LOG"])
    with open(log, "a") as fh:
        fh.write(f"{os.getpid()} {cell['i']}\\n")
    time.sleep(cell["sleep"])
    with open(str(log) + ".finished", "a") as fh:  # a cell that ran to its end
        fh.write(f"{cell['i']}\\n")
    return {"x": float(rng.standard_normal())}
'''
SLOW_CLAIMS = '''
from theorycheck.registry import Claim, Verdict, register
from slowpaper.cells import slow_cell


def measure(params, ctx):
    out = ctx.map(slow_cell, [{"i": i, "sleep": params["sleep"]} for i in range(params["n"])], stream="s")
    return {"metrics": {"n": len(out)}, "series": {}}


register(Claim(id="slowpaper.wait", title="waits", statement="s", assumptions=("a",), method="m",
               scales={s: {"n": 6, "sleep": 1.0} for s in ("smoke", "default", "paper")},
               measure=measure, verdict=lambda m, p, c: Verdict.from_criteria(done=(m["n"] == p["n"], "all ran")),
               key_metrics=("n",)))
'''


@pytest.fixture
def slow_site(tmp_path):
    return write_plugin_site(tmp_path, "slowpaper", init=SLOW_INIT, cells=SLOW_CELLS, claims=SLOW_CLAIMS)


def _env(site, log):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
               SLOW_LOG=str(log))
    env.pop("THEORYCHECK_DEBUG", None)
    return env


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its parent counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_parallel_run_at_once_leaves_no_worker_and_the_rerun_resumes(slow_site, tmp_path, sig):
    log, out = tmp_path / "log", tmp_path / "out"
    # cells of 10 minutes: a run that waited for the cells in flight, or went on with the rest of the
    # grid, would not end within the hang guard below
    argv = [sys.executable, "-m", "theorycheck", "check", "slowpaper.wait", "--jobs", "2", "--no-progress",
            "--out", str(out), "--param", "sleep=600.0"]
    proc = subprocess.Popen(argv, env=_env(slow_site, log), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (log.exists() and len(log.read_text().splitlines()) >= 2):
        time.sleep(0.1)
    assert log.exists(), "the cells never started"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)  # a hang guard only: the cells in flight would take 600 s
    assert proc.returncode == -sig, err  # ended by the signal itself, after its cleanup (a shell shows 128 + sig)
    assert not Path(f"{log}.finished").exists(), "a cell in flight was waited for instead of stopped"
    assert "rerun the same command to resume" in err and "Traceback" not in err
    workers = {int(line.split()[0]) for line in log.read_text().splitlines()}
    time.sleep(1.0)
    assert not [pid for pid in workers if _alive(pid)], "worker processes survived the signal"
    again = subprocess.run(argv[:-1] + ["sleep=0.0"], env=_env(slow_site, log), capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr


def test_an_interrupted_command_ends_by_its_signal_and_a_shell_sees_128_plus_it(tmp_path):
    # the ending a Ctrl-C'd command uses after its cleanup: the exit handlers run and what was printed
    # is flushed, nothing after it runs, and the shell's $? is 130 (143), as the documentation promises
    script = ("import atexit, signal; from theorycheck.interrupt import end_by_signal; print('cleaned up'); "
              "atexit.register(print, 'exit handler'); end_by_signal(signal.{}); print('not reached')")
    for name, status in (("SIGINT", 130), ("SIGTERM", 143)):
        command = f'"{sys.executable}" -c "{script.format(name)}"; echo "status $?"'
        shell = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60)
        assert shell.stdout.split("\n")[:3] == ["cleaned up", "exit handler", f"status {status}"], shell


def test_two_concurrent_runs_on_one_folder_compute_each_cell_once(slow_site, tmp_path):
    log, out = tmp_path / "log", tmp_path / "out"
    argv = [sys.executable, "-m", "theorycheck", "check", "slowpaper.wait", "--no-progress", "--out", str(out),
            "--param", "sleep=0.5"]
    a = subprocess.Popen(argv, env=_env(slow_site, log), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    b = subprocess.Popen(argv, env=_env(slow_site, log), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outs = [p.communicate(timeout=120) for p in (a, b)]
    assert a.returncode == 0 and b.returncode == 0, outs
    computed = [line.split()[1] for line in log.read_text().splitlines()]
    assert sorted(computed) == [str(i) for i in range(6)], f"cells computed more than once: {computed}"


# --------------------------------------------------------------------------- a toy claim (in process)
def _cell(cell, rng):
    return {"x": float(rng.standard_normal()) + cell["a"]}


def _measure(params, ctx):
    out = ctx.map(_cell, [{"a": a} for a in range(params["n"])], stream="s")
    return {"metrics": {"mean": sum(o["x"] for o in out) / len(out)}, "series": {"x": [o["x"] for o in out]}}


TOY = Claim(id="toyrel.claim", title="toy", statement="a toy", assumptions=("none",), method="mean",
            scales={s: {"n": 3} for s in registry.SCALES}, measure=_measure,
            verdict=lambda m, p, c: Verdict.from_criteria(finite=(True, "ok")),
            figure=lambda result, fig: fig.add_subplot().plot(result.series["x"]), key_metrics=("mean",))


@pytest.fixture
def toy():
    with registry.registered(Paper(key="toyrel", title="Toy", bibtex="@misc{t}", claim_modules=()), TOY):
        yield TOY


def _cells(out):
    return sorted((out / "cells" / TOY.id).glob("*.json"))


@pytest.mark.parametrize("damage", ["truncate", "empty", "no_result", "binary"])
def test_an_unreadable_saved_cell_is_named_moved_aside_and_recomputed(toy, tmp_path, capsys, damage):
    out = tmp_path / "out"
    first = run_claim(TOY.id, out=out)
    victim = _cells(out)[0]
    text = victim.read_bytes()
    victim.write_bytes({"truncate": text[: len(text) // 2], "empty": b"",
                        "no_result": json.dumps({"cell": {}, "code": "x"}).encode(),
                        "binary": b"\xff\xfe\x00garbage"}[damage])
    assert cli.main(["check", TOY.id, "--out", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert victim.name in captured.err and "moved to" in captured.err
    assert (victim.parent / (victim.name + ".unreadable")).exists()
    again = run_claim(TOY.id, out=out)
    assert again.metrics == first.metrics and again.cells["reused"] == 3


def _snapshot_cell(cell, rng, run):
    snap = run.snapshot
    if snap is not None and snap.exists():
        text = snap.read_text()
        if not text.isdigit():
            raise UnreadableFile(snap, "not a count")
        start = int(text)
    else:
        start = 0
    if snap is not None:
        snap.write_text(str(start + 1))
    return {"start": start}


def test_an_unreadable_snapshot_is_moved_aside_and_the_cell_starts_afresh(tmp_path, capsys):
    ctx = RunContext("toyrel.claim", cells_dir=tmp_path)
    code = __import__("theorycheck.codehash", fromlist=["code_hash"]).code_hash(__name__)
    from theorycheck.seeding import cell_key
    key = cell_key("toyrel.claim|snap", {"run_seed": 0, "cell": {"n": 1}})
    snap = tmp_path / f"{key}.{code}.snapshot"
    snap.write_text("tampered")
    out = ctx.map(_snapshot_cell, [{"n": 1}], stream="snap", settings={})
    assert out == [{"start": 0}]
    assert (tmp_path / (snap.name + ".unreadable")).exists()
    assert snap.name in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["truncate", "elapsed_text", "other_claim"])
def test_a_bad_result_file_is_skipped_with_a_warning_by_figure(toy, tmp_path, capsys, damage):
    out = tmp_path / "out"
    run_claim(TOY.id, out=out)
    path = out / f"{TOY.id}.json"
    data = json.loads(path.read_text())
    if damage == "truncate":
        path.write_text(path.read_text()[:100])
    elif damage == "elapsed_text":
        path.write_text(json.dumps(dict(data, elapsed_s="1 s")))
    else:
        path.write_text(json.dumps(dict(data, claim="hong2021.thm1")))
    assert cli.main(["figure", "--out", str(out)]) == 2  # nothing readable left to draw
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err
    assert cli.main(["figure", TOY.id, "--out", str(out)]) == 2  # asked by name: an error naming the file


def test_stale_temporary_files_are_cleaned_and_outputs_follow_the_umask(toy, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".x.json.123.tmp"
    stale.write_text("half")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    fresh = out / ".y.json.456.tmp"
    fresh.write_text("in progress")
    old = os.umask(0o022)
    try:
        run_claim(TOY.id, out=out)
    finally:
        os.umask(old)
    assert not stale.exists() and fresh.exists()
    assert (out / f"{TOY.id}.json").stat().st_mode & 0o777 == 0o644
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in _cells(out))


@pytest.mark.parametrize("argv, needle", [
    (["check", "toyrel.claim", "--jobs", "10000"], "--jobs must be in"),
    (["check", "toyrel.claim", "--seed", "-1"], "--seed"),
    (["check", "toyrel.claim", "--out", ""], "--out must name a folder"),
    (["check", "toyrel.claim", "--out", "/dev/null"], "--out"),
    (["check", "toyrel.claim", "--out", "/proc/theorycheck"], "--out"),
    (["check", "toyrel.claim", "--out", "x" * 300], "--out"),
    (["check", "toyrel.claim", "--scheduler", "bogus"], "--scheduler"),
    (["check", "toyrel.claim", "--memory-budget", "lots"], "--memory-budget"),
    (["check", "toyrel.claim", "--param", "n=2", "--param", "n=3"], "given twice"),
    (["check", "toyrel.claim", "--param", "nosuch.claim:n=2"], "not among the claims"),
    (["check", "--param", "sigma=0.3"], "write ID:sigma=VALUE"),
    (["report", "--scale", "huge"], "invalid choice"),
    (["report", "--scale", "/tmp/x"], "invalid choice"),
    (["list", "--paper", "nosuch"], "paper"),
    (["figure", "--out", "/nonexistent/dir"], "no saved results"),
])
def test_options_are_checked_before_computing_exit_2_one_line(toy, tmp_path, argv, needle, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if argv[-1] == "x" * 300:
        argv = argv[:-1] + [str(tmp_path / ("x" * 300))]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "results").exists() or argv[0] != "check"  # nothing computed or written


def test_a_scheduler_that_is_not_there_is_bad_input_not_a_hang(toy, tmp_path, capsys):
    assert cli.main(["check", TOY.id, "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--scheduler" in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_claim_specific_param_reaches_only_that_claim(toy, tmp_path, capsys):
    assert cli.main(["check", TOY.id, "--param", f"{TOY.id}:n=2", "--out", str(tmp_path), "--no-progress"]) == 0
    assert "computed 2 cells" in capsys.readouterr().out


def test_a_memory_estimate_above_the_budget_is_refused_before_running(toy, tmp_path, monkeypatch, capsys):
    import dataclasses
    from theorycheck.limits import Estimate
    big = dataclasses.replace(TOY, estimate=lambda p: Estimate(peak_bytes=p["n"] * 8e9, memory_param="n"))
    monkeypatch.setitem(registry._CLAIMS, TOY.id, big)
    assert cli.main(["check", TOY.id, "--out", str(tmp_path), "--memory-budget", "1G"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("theorycheck: error: n asks toyrel.claim for about") and "budget" in err
    assert not (tmp_path / "cells").exists()


@pytest.mark.parametrize("call, needle", [
    (lambda: run_claim("toyrel.claim", params=[1, 2]), "params"),
    (lambda: run_claim("toyrel.claim", out=123), "out"),
    (lambda: run_claim("toyrel.claim", out=""), "out"),
    (lambda: run_claim("toyrel.claim", scale="huge"), "scale"),
    (lambda: run_claim("toyrel.claim", jobs=10 ** 6), "jobs"),
])
def test_the_python_api_refuses_bad_arguments_by_name(toy, call, needle):
    with pytest.raises(InputError, match=needle):
        call()


def test_matplotlib_keeps_its_cache_out_of_home(tmp_path, monkeypatch):
    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    env.pop("MPLCONFIGDIR", None)
    res = subprocess.run([sys.executable, "-m", "theorycheck", "list"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert not (tmp_path / "home" / ".cache" / "matplotlib").exists()
    assert not (tmp_path / "home" / ".config" / "matplotlib").exists()


def test_atomic_writes_leave_no_partial_file_when_interrupted(tmp_path):
    target = tmp_path / "r.json"

    class Boom(KeyboardInterrupt):
        pass

    def write(fh):
        fh.write(b"half")
        raise Boom

    from theorycheck.store import atomic_write
    with pytest.raises(Boom):
        atomic_write(target, write)
    assert list(tmp_path.iterdir()) == []
    atomic_write_bytes(target, b"{}")
    assert target.read_bytes() == b"{}"


def test_the_report_decides_a_hand_edited_verdict_again_from_its_numbers(toy, tmp_path, capsys):
    import dataclasses
    out = tmp_path / "out"
    failing = dataclasses.replace(TOY, verdict=lambda m, p, c: Verdict.from_criteria(low=(m["mean"] < -1e9, "mean")))
    registry._CLAIMS[TOY.id] = failing
    try:
        run_claim(TOY.id, out=out)
        path = out / f"{TOY.id}.json"
        data = json.loads(path.read_text())
        assert data["verdict"] == "FAIL"
        path.write_text(json.dumps(dict(data, verdict="PASS")))  # flipped by hand
        assert cli.main(["report", "--out", str(out)]) == 0
        err = capsys.readouterr().err
        assert "the file says PASS, its saved numbers give FAIL" in err
        page = (out / "report.html").read_text()
        assert "the file says PASS" in page
    finally:
        registry._CLAIMS[TOY.id] = TOY
