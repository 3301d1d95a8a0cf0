"""Data loaders of theorycheck.hong2021.datasets: digits, the synthetic teacher-labelled task,
CIFAR-10 python batches from a folder, and the nested per-class splits of Hong et al. 2021 Sec. 4.1."""

import os
import pickle

import numpy as np
import pytest

from theorycheck.errors import InputError
from theorycheck.hong2021 import datasets as data


class _RunsACommand:
    """Unpickling this calls os.system: the classic crafted pickle."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _WritesAFile:
    """Unpickling this calls builtins.exec with code that writes a file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def _write_cifar(folder, n_train=12, n_test=30, seed=0, bad=None, protocol=None):
    """Write CIFAR-10 python batches in the official format (pickled dicts of bytes keys)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name in data.CIFAR10_TRAIN_FILES + (data.CIFAR10_TEST_FILE,):
        n = n_test if name == data.CIFAR10_TEST_FILE else n_train
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": [int(k) for k in np.arange(n) % 10],
                 b"batch_label": name.encode()}
        if bad == name:
            batch[b"data"] = batch[b"data"][:, :100]
        with open(folder / name, "wb") as fh:
            pickle.dump(batch, fh, protocol=protocol)
    return folder


def test_digits_are_scaled_to_unit_interval_with_ten_classes():
    D = data.load_digits_data()
    assert D.X.shape == (1797, 64) and D.X.dtype == np.float64
    assert D.X.min() == 0.0 and D.X.max() == 1.0
    assert D.n_classes == 10 and set(np.unique(D.y)) == set(range(10))
    assert not D.X.flags.writeable  # cached: nobody may modify the shared copy


def test_split_is_disjoint_balanced_and_fixed_by_the_seed():
    D = data.load_digits_data()
    s = data.per_class_split(D, n_val=20, n_test=40, rng=np.random.default_rng(5))
    pool = s.pool.ravel()
    assert len(set(pool) | set(s.val) | set(s.test)) == len(pool) + len(s.val) + len(s.test)
    assert np.array_equal(np.bincount(D.y[s.test]), np.full(10, 40))
    assert np.array_equal(np.bincount(D.y[s.val]), np.full(10, 20))
    assert s.max_per_class == 174 - 60  # the smallest digits class has 174 images
    for k in range(10):
        assert np.all(D.y[s.pool[k]] == k)
    again = data.per_class_split(D, n_val=20, n_test=40, rng=np.random.default_rng(5))
    other = data.per_class_split(D, n_val=20, n_test=40, rng=np.random.default_rng(6))
    assert np.array_equal(s.pool, again.pool) and np.array_equal(s.test, again.test)
    assert not np.array_equal(s.pool, other.pool)


def test_subsets_are_nested_and_equal_N_gives_the_same_images():
    D = data.load_digits_data()
    s = data.per_class_split(D, n_val=20, n_test=40, rng=np.random.default_rng(1))
    small, large = s.subset(10), s.subset(20)
    assert set(small) <= set(large)
    assert np.array_equal(small, s.subset(10))
    assert np.array_equal(np.bincount(D.y[large]), np.full(10, 20))
    with pytest.raises(InputError, match="N must be in"):
        s.subset(s.max_per_class + 1)


def test_split_refuses_more_heldout_images_than_a_class_has():
    with pytest.raises(InputError, match="n_val"):
        data.per_class_split(data.load_digits_data(), n_val=100, n_test=100, rng=np.random.default_rng(0))


def test_synthetic_task_is_balanced_and_reproducible():
    a = data.synthetic_teacher_task(30, 8, 4, 16, np.random.default_rng(3))
    b = data.synthetic_teacher_task(30, 8, 4, 16, np.random.default_rng(3))
    assert a.X.shape == (120, 8)
    assert np.array_equal(np.bincount(a.y), np.full(4, 30))
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)


def test_cifar10_batches_load_scaled_with_test_rows_held_out(tmp_path):
    folder = _write_cifar(tmp_path / "cifar-10-batches-py")
    D = data.load_cifar10(folder)
    assert D.X.shape == (5 * 12 + 30, 3072)
    assert 0.0 <= D.X.min() and D.X.max() <= 1.0
    with open(folder / "data_batch_2", "rb") as fh:
        raw = pickle.load(fh, encoding="bytes")
    np.testing.assert_array_equal(D.X[12:24], raw[b"data"] / 255.0)  # exact: k/255 in both
    assert D.heldout.sum() == 30 and D.heldout[-30:].all()
    s = data.per_class_split(D, n_val=1, n_test=2, rng=np.random.default_rng(0))
    assert D.heldout[s.val].all() and D.heldout[s.test].all()  # validation and test from test_batch
    assert not D.heldout[s.pool.ravel()].any()  # training images from data_batch_*
    assert s.max_per_class == 5  # labels i % 10 of 12 per batch: classes 2..9 have 5 training images


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_batches_of_every_pickle_protocol_load(tmp_path, protocol):
    """Protocol 2 is what the official (Python 2) files use; 4 and 5 are what Python 3 writes."""
    D = data.load_cifar10(_write_cifar(tmp_path / f"p{protocol}", protocol=protocol))
    assert D.X.shape == (5 * 12 + 30, 3072)


@pytest.mark.parametrize("payload", [_RunsACommand, _WritesAFile])
@pytest.mark.parametrize("where", ["data", "labels", "top"])
def test_cifar10_crafted_pickle_is_refused_and_runs_nothing(tmp_path, payload, where):
    """Issue 14: the loader used pickle.load, so a crafted data_batch_1 ran code of the attacker's
    choosing. The restricted unpickler admits only the expected dict of bytes keys, lists and arrays."""
    folder = _write_cifar(tmp_path / "cifar")
    marker = tmp_path / "pwned"
    evil = payload(marker)
    batch = {b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1, 2]}
    if where == "top":
        batch = evil
    else:
        batch[where.encode()] = evil if where == "data" else [0, evil, 2]
    (folder / "data_batch_1").write_bytes(pickle.dumps(batch))
    with pytest.raises(InputError, match="data_dir") as exc:
        data.load_cifar10(folder)
    assert "refused" in str(exc.value)
    assert not marker.exists()


def test_cifar10_object_arrays_are_refused(tmp_path):
    folder = _write_cifar(tmp_path / "cifar")
    batch = {b"data": np.array([b"x", 1], dtype=object), b"labels": [0, 1]}
    (folder / "data_batch_2").write_bytes(pickle.dumps(batch))
    with pytest.raises(InputError, match="objects"):
        data.load_cifar10(folder)


@pytest.mark.parametrize("case, needle", [
    ("missing", "is not a folder"),
    ("no_test_batch", "lacks the CIFAR-10 batches test_batch"),
    ("bad_shape", "must hold b'data' uint8 of shape"),
    ("not_a_pickle", "unreadable CIFAR-10 batch"),
    ("none", "must name the folder"),
])
def test_cifar10_bad_folder_is_a_clear_input_error(tmp_path, case, needle):
    folder = tmp_path / case
    if case == "no_test_batch":
        _write_cifar(folder)
        (folder / "test_batch").unlink()
    elif case == "bad_shape":
        _write_cifar(folder, bad="data_batch_3")
    elif case == "not_a_pickle":
        _write_cifar(folder)
        (folder / "data_batch_1").write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="data_dir") as exc:
        data.load_cifar10(None if case == "none" else folder)
    assert needle in str(exc.value)


def test_input_noise_has_the_requested_scale_and_refuses_negative_sigma():
    z = data.input_noise((4000, 5), 0.3, np.random.default_rng(0))
    # sample std of 20000 normals has relative SE 1/sqrt(2*20000) = 0.5%; 4 SE = 2%
    assert abs(z.std() / 0.3 - 1) < 0.02
    with pytest.raises(InputError, match="sigma"):
        data.input_noise((2, 2), -0.1, np.random.default_rng(0))
