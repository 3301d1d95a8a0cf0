"""Within-cell resume of long ReLU training runs (Hong et al. 2021 Fig. 2 / Fig. 6 at paper scale):
an interrupted training run continues from its snapshot file to exactly the numbers of an
uninterrupted run."""

import numpy as np
import pytest

from theorycheck import run_claim
from theorycheck.errors import InputError
from theorycheck.hong2021.relu.checkpoint import CheckpointSpec, train_checkpointed
from theorycheck.hong2021.relu.objective import eq2, eq7
from theorycheck.hong2021.relu.simulator import TwoLayerSimulator
from theorycheck.hong2021.relu.training import TrainSpec
from theorycheck.runner import resolve

N, D, M = 24, 5, 20
STEPS = 300


def _problem(objective_name):
    rng = np.random.default_rng(7)
    Z = rng.standard_normal((N, D))
    W_t = rng.standard_normal((M, D)) / np.sqrt(D)
    T = np.maximum(rng.standard_normal((N, D)) @ W_t.T, 0)
    y = T @ (rng.standard_normal(M) / np.sqrt(M))
    W1 = rng.standard_normal((M, D)) / np.sqrt(D)
    a = rng.standard_normal(M) / np.sqrt(M)
    ob = eq2(0.5) if objective_name == "eq2" else eq7(4)
    return Z, T, y, W1, a, ob


def _evaluate(W1, a):
    # any deterministic function of the weights serves as the "test error" here
    return float(np.sum(np.asarray(W1, np.float64) ** 2) + np.sum(np.asarray(a, np.float64) ** 2))


class _Interrupt:
    """A progress callback raising KeyboardInterrupt once, the first time the run reaches ``at``."""

    def __init__(self, at):
        self.at, self.fired = at, False

    def __call__(self, info):
        if self.at is not None and not self.fired and info["step"] >= self.at:
            self.fired = True
            raise KeyboardInterrupt


def _train(setting, snapshot=None, interrupt_at=None, lr=0.02, steps=STEPS, snapshot_s=1e-9):
    method, batch_size, objective_name = setting
    Z, T, y, W1, a, ob = _problem(objective_name)
    sim = TwoLayerSimulator(Z, T, y, W1, a, ob, dtype="float32", method=method, batch_size=batch_size)
    rng = np.random.default_rng(3)
    spec = TrainSpec(steps=steps, lr_W1=lr, lr_a=lr if ob.train_W2 else 0.0, stop_tol=None, check_every=7,
                     batch_size=batch_size, keep_weights=True, lr_drops=1)
    checkpoint = None if snapshot is None else CheckpointSpec(snapshot, snapshot_s)
    traj = train_checkpointed(sim, spec, _evaluate, rng=rng, checkpoint=checkpoint,
                              progress=_Interrupt(interrupt_at))
    sim.close()
    return traj, rng


SETTINGS = [("primal", None, "eq2"), ("gram", None, "eq2"), ("primal", 5, "eq2"), ("primal", 5, "eq7")]


@pytest.mark.parametrize("setting", SETTINGS, ids=["gd-primal", "gd-gram", "sgd-eq2", "sgd-eq7-pooled"])
def test_interrupted_training_resumes_to_the_uninterrupted_run_bit_for_bit(setting, tmp_path):
    ref, ref_rng = _train(setting)
    snap = tmp_path / "run.snapshot"
    with pytest.raises(KeyboardInterrupt):
        _train(setting, snapshot=snap, interrupt_at=150)      # snapshot_s=1e-9: one after every step
    assert snap.exists()
    assert 0 < int(np.load(snap, allow_pickle=False)["step"]) < STEPS
    assert [p.name for p in tmp_path.iterdir()] == ["run.snapshot"]       # no temporary files left
    res, rng = _train(setting, snapshot=snap)
    # exact equality: the resumed run repeats the same float operations in the same order
    for f in ("steps", "test_error", "train_total", "train_base", "train_feature", "W1_final", "a_final",
              "W1_best", "a_best"):
        assert np.array_equal(getattr(res, f), getattr(ref, f)), f
    assert (res.best_step, res.best_test_error, res.final_step, res.final_fit, res.converged) == \
        (ref.best_step, ref.best_test_error, ref.final_step, ref.final_fit, ref.converged)
    # the minibatch generator continues where the uninterrupted run's is
    assert rng.bit_generator.state == ref_rng.bit_generator.state
    assert res.seconds >= res.eval_seconds >= 0


def test_resume_twice_and_from_the_last_step(tmp_path):
    setting = ("primal", 5, "eq2")
    ref, _ = _train(setting)
    snap = tmp_path / "run.snapshot"
    for at in (60, 200):
        with pytest.raises(KeyboardInterrupt):
            _train(setting, snapshot=snap, interrupt_at=at)
    # a snapshot written after the last step: the resumed run only evaluates the end
    with pytest.raises(KeyboardInterrupt):
        _train(setting, snapshot=snap, interrupt_at=STEPS)
    assert int(np.load(snap, allow_pickle=False)["step"]) == STEPS
    res, _ = _train(setting, snapshot=snap)
    assert np.array_equal(res.test_error, ref.test_error) and np.array_equal(res.W1_final, ref.W1_final)


@pytest.mark.parametrize("change", [{"lr": 0.03}, {"steps": STEPS + 1}])
def test_snapshot_of_a_different_run_is_refused(change, tmp_path):
    setting = ("primal", 5, "eq2")
    snap = tmp_path / "run.snapshot"
    with pytest.raises(KeyboardInterrupt):
        _train(setting, snapshot=snap, interrupt_at=100)
    with pytest.raises(InputError, match="snapshot"):
        _train(setting, snapshot=snap, **change)


def test_snapshot_of_other_data_is_refused(tmp_path):
    snap = tmp_path / "run.snapshot"
    with pytest.raises(KeyboardInterrupt):
        _train(("primal", 5, "eq2"), snapshot=snap, interrupt_at=100)
    with pytest.raises(InputError, match="snapshot"):
        _train(("primal", 5, "eq7"), snapshot=snap)


def test_no_snapshot_is_written_without_a_path_or_before_snapshot_s(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ref, _ = _train(("primal", 5, "eq2"))
    assert list(tmp_path.iterdir()) == []
    snap = tmp_path / "run.snapshot"
    res, _ = _train(("primal", 5, "eq2"), snapshot=snap, snapshot_s=1e9)
    assert not snap.exists()
    assert np.array_equal(res.test_error, ref.test_error)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_snapshot_interval_must_be_positive(bad, tmp_path):
    with pytest.raises(InputError, match="interval_s"):
        _train(("primal", None, "eq2"), snapshot=tmp_path / "s", snapshot_s=bad)


def test_a_file_that_is_not_a_snapshot_is_refused(tmp_path):
    snap = tmp_path / "run.snapshot"
    snap.write_text("not an npz file")
    with pytest.raises(InputError, match="snapshot"):
        _train(("primal", None, "eq2"), snapshot=snap)


# ------------------------------------------------------------------ through the claim (sweep cells)
FIG6_TINY = {"m": 40, "d": 5, "N_s": [20], "g": [1, 2, 4], "steps": 200, "n_eval": 8, "batch_size": 4,
             "reps": 1, "snapshot_s": 1e-9}


def _interrupt_second_fig6_cell(tmp_path, monkeypatch):
    """Runs the tiny Fig. 6 claim into ``tmp_path`` and interrupts its second training cell at its first
    evaluation after step 30 (SGD: progress is reported at evaluations only; n_eval=8 puts one at step
    34), leaving a snapshot behind. Returns the real training function, restored afterwards."""
    from theorycheck.hong2021.relu import checkpoint
    real_train, calls = checkpoint.train, []

    def interrupted_train(*args, **kw):
        calls.append(1)
        if len(calls) == 2:
            kw["progress"] = _Interrupt(30)
        return real_train(*args, **kw)
    monkeypatch.setattr("theorycheck.hong2021.relu.checkpoint.train", interrupted_train)
    with pytest.raises(KeyboardInterrupt):
        run_claim("hong2021.fig6", "smoke", out=tmp_path, params=FIG6_TINY)
    monkeypatch.setattr("theorycheck.hong2021.relu.checkpoint.train", real_train)
    return real_train


def test_fig6_claim_cell_interrupted_and_rerun_gives_the_uninterrupted_result(tmp_path, monkeypatch):
    fresh = run_claim("hong2021.fig6", "smoke", out=None, params=FIG6_TINY)
    real_train = _interrupt_second_fig6_cell(tmp_path, monkeypatch)
    snaps = list(tmp_path.rglob("*.snapshot"))
    assert len(snaps) == 1
    assert 0 < int(np.load(snaps[0], allow_pickle=False)["step"]) < FIG6_TINY["steps"]
    stopped_at = int(np.load(snaps[0], allow_pickle=False)["step"])

    first_steps = []                  # the first step each rerun training reports: > 0 if it resumed

    def recording_train(*args, **kw):
        def progress(info):
            if not reported:
                reported.append(info["step"])
        reported = []
        kw["progress"] = progress
        try:
            return real_train(*args, **kw)
        finally:
            first_steps.extend(reported)
    monkeypatch.setattr("theorycheck.hong2021.relu.checkpoint.train", recording_train)
    resumed = run_claim("hong2021.fig6", "smoke", out=tmp_path, params=FIG6_TINY)
    assert resumed.cells["reused"] == 2                     # the teacher cell and the finished run
    assert first_steps == [stopped_at, 0, 0]                # the interrupted cell continued
    assert resumed.metrics == fresh.metrics
    for key in ("test_error", "test_error_final", "targets_only", "targets_only_final", "final_fit"):
        assert resumed.series[key] == fresh.series[key], key
    assert list(tmp_path.rglob("*.snapshot")) == [] and list(tmp_path.rglob("*.tmp")) == []


def test_snapshot_and_progress_intervals_change_neither_cell_keys_nor_numbers(tmp_path):
    first = run_claim("hong2021.fig6", "smoke", out=tmp_path, params=FIG6_TINY)
    again = run_claim("hong2021.fig6", "smoke", out=tmp_path,
                      params={**FIG6_TINY, "snapshot_s": 1e6, "progress_s": 1e6})
    counts = {k: again.cells[k] for k in ("run", "reused", "recomputed")}
    assert counts == {"run": 0, "reused": first.cells["run"], "recomputed": 0}
    fresh = run_claim("hong2021.fig6", "smoke", out=None, params={**FIG6_TINY, "snapshot_s": 1e6})
    assert fresh.metrics == first.metrics


def test_fig2_and_fig6_validate_snapshot_interval():
    from theorycheck.registry import get_claim
    for cid in ("hong2021.fig2", "hong2021.fig6"):
        assert get_claim(cid).scales["paper"]["snapshot_s"] > 0
        with pytest.raises(InputError, match="snapshot_s"):
            resolve(get_claim(cid), "smoke", {"snapshot_s": 0})


# ------------------------------------------------------------------ damaged or modified snapshots
def _interrupted_snapshot(tmp_path, setting=("primal", 5, "eq2")):
    snap = tmp_path / "run.snapshot"
    with pytest.raises(KeyboardInterrupt):
        _train(setting, snapshot=snap, interrupt_at=100)
    with np.load(snap, allow_pickle=False) as z:
        return snap, {k: z[k] for k in z.files}


def _rewrite(snap, arrays, *, reseal):
    from theorycheck.hong2021.relu.checkpoint import _checksum
    arrays = dict(arrays)
    if reseal:                       # a forger who also recomputes the checksum
        arrays["checksum"] = np.array(_checksum(arrays))
    with open(snap, "wb") as fh:
        np.savez(fh, **arrays)


def _nan_first(a):
    a = a.copy()
    a.flat[0] = np.nan
    return a


@pytest.mark.parametrize("tamper, reseal, match", [
    (lambda d: {**d, "W1": d["W1"] * 1.5}, False, "checksum"),
    (lambda d: {**d, "W1": _nan_first(d["W1"])}, True, "'W1' holds non-finite"),
    (lambda d: {**d, "a": _nan_first(d["a"])}, True, "'a' holds non-finite"),
    (lambda d: {**d, "W1": d["W1"][:-1]}, True, "does not fit this simulator"),
    (lambda d: {**d, "rec_test": d["rec_test"][:-1]}, True, "different lengths"),
    (lambda d: {**d, "step": np.array(10 ** 6)}, True, "out of range"),
    (lambda d: {**d, "perm": np.zeros_like(d["perm"])}, True, "not a permutation"),
    (lambda d: {**d, "fingerprint": np.array("{")}, True, "not JSON"),
    (lambda d: {k: v for k, v in d.items() if k != "checksum"}, False, "checksum"),
])
def test_a_modified_snapshot_is_refused_as_unreadable_naming_the_file(tamper, reseal, match, tmp_path):
    # issue 14: a tampered snapshot used to end in "training loss became inf; lower the learning rate"
    from theorycheck.hong2021.relu.checkpoint import UnreadableSnapshot
    from theorycheck.store import UnreadableFile
    snap, arrays = _interrupted_snapshot(tmp_path)
    _rewrite(snap, tamper(arrays), reseal=reseal)
    with pytest.raises(UnreadableSnapshot, match=match) as info:
        _train(("primal", 5, "eq2"), snapshot=snap)
    assert isinstance(info.value, UnreadableFile) and isinstance(info.value, InputError)
    assert info.value.path == snap and str(snap) in str(info.value)


@pytest.mark.parametrize("damage", ["truncate", "empty"])
def test_a_truncated_or_empty_snapshot_is_refused_as_unreadable(damage, tmp_path):
    from theorycheck.hong2021.relu.checkpoint import UnreadableSnapshot
    snap, _ = _interrupted_snapshot(tmp_path)
    data = snap.read_bytes()
    snap.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"")
    with pytest.raises(UnreadableSnapshot, match="not a readable .npz"):
        _train(("primal", 5, "eq2"), snapshot=snap)


def test_a_claim_cell_with_a_modified_snapshot_sets_it_aside_and_starts_afresh(tmp_path, monkeypatch):
    fresh = run_claim("hong2021.fig6", "smoke", out=None, params=FIG6_TINY)
    _interrupt_second_fig6_cell(tmp_path, monkeypatch)
    (snap,) = tmp_path.rglob("*.snapshot")
    with np.load(snap, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["W1"] = arrays["W1"] * 1e30            # finite, but training from it would blow up
    _rewrite(snap, arrays, reseal=False)
    again = run_claim("hong2021.fig6", "smoke", out=tmp_path, params=FIG6_TINY)
    assert again.metrics == fresh.metrics
    assert [p.name for p in tmp_path.rglob("*.unreadable")] == [snap.name + ".unreadable"]
