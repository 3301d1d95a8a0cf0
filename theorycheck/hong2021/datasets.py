"""Data of Hong et al. 2021's experiments. Randomness only through an explicit Generator.

gaussian_inputs
    Clean Gaussian inputs and their noise (Sec. 3.2 and 5.3; the linear, LASSO and ReLU claims).
ClassificationData, load_digits_data, load_cifar10, synthetic_teacher_task
    Labelled data of the operating-regime experiments (Sec. 4: Fig. 3, Table 2).
PerClassSplit, per_class_split, input_noise
    Nested per-class training subsets, validation and test sets, and input noise.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import InputError, check_int, check_real
from ..nets import forward, xavier_normal

__all__ = ["gaussian_inputs", "ClassificationData", "PerClassSplit", "load_digits_data", "load_cifar10",
           "synthetic_teacher_task", "per_class_split", "input_noise", "CIFAR10_TRAIN_FILES",
           "CIFAR10_TEST_FILE"]


def gaussian_inputs(N: int, d: int, sigma: float, rng: np.random.Generator, dtype=np.float64):
    """Clean inputs :math:`x_i \\sim N(0, I_d)` and input noise :math:`\\epsilon_i \\sim N(0, \\sigma^2 I_d)`
    (Hong et al. 2021, Sec. 3.2 and 5.3).

    Parameters
    ----------
    N : int, number of samples (>= 1)
    d : int, input dimension d_x (>= 1)
    sigma : float, noise standard deviation (>= 0)
    rng : numpy.random.Generator

    Returns
    -------
    X : ndarray of shape (N, d), clean inputs (rows)
    E : ndarray of shape (N, d), noise; the student sees ``X + E``
    """
    N = check_int("N_s", N, low=1)
    d = check_int("d_x", d, low=1)
    sigma = check_real("sigma", sigma, low=0.0)
    X = rng.standard_normal((N, d)).astype(dtype)
    E = (sigma * rng.standard_normal((N, d))).astype(dtype)
    return X, E


# ---------------------------------------------------------------------------------------------------
# Labelled image data for the operating-regime experiments (Hong et al. 2021, Sec. 4)
# ---------------------------------------------------------------------------------------------------

#: CIFAR-10 python batches (https://www.cs.toronto.edu/~kriz/cifar.html, "CIFAR-10 python version")
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch"


@dataclass(frozen=True)
class ClassificationData:
    """A labelled data set: ``X`` of shape (n, d) (float64), ``y`` of shape (n,) (ints in [0, K)),
    ``n_classes`` K, a ``name``, and ``heldout`` (bool of shape (n,)) marking the rows a split may use
    for validation and test (all rows when the source has no official test set)."""

    X: np.ndarray
    y: np.ndarray
    n_classes: int
    name: str
    heldout: np.ndarray


@lru_cache(maxsize=2)
def load_digits_data() -> ClassificationData:
    """scikit-learn's bundled 8x8 digits (1797 images, 10 classes, about 180 per class; no download),
    pixels scaled from 0..16 to [0, 1].

    Returns
    -------
    ClassificationData with ``X`` of shape (1797, 64)
    """
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float64) / 16.0
    X.setflags(write=False)
    y = y.astype(np.int64)
    y.setflags(write=False)
    return ClassificationData(X=X, y=y, n_classes=10, name="digits", heldout=np.ones(len(y), bool))


#: The only globals a CIFAR-10 python batch may name: NumPy's array and dtype reconstructors (under
#: NumPy 1 and 2 module names) and ``_codecs.encode`` (bytes written by Python 3 at protocol 2).
#: Anything else (``os.system``, ``builtins.eval``, ``subprocess.Popen``, ...) is refused before it
#: is looked up, so a crafted file cannot run code.
_CIFAR_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"): ("numpy._core.numeric", "numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"): ("numpy._core.numeric", "numpy.core.numeric", "_frombuffer"),
    ("numpy", "ndarray"): ("numpy", "numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "numpy", "dtype"),
    ("_codecs", "encode"): ("_codecs", "_codecs", "encode"),
}


class _CifarUnpickler(pickle.Unpickler):
    """A restricted unpickler for the CIFAR-10 python batches: dicts, lists, bytes, strings, numbers
    and NumPy arrays of plain (non-object) dtypes only; every other global is refused."""

    def find_class(self, module, name):
        where = _CIFAR_GLOBALS.get((module, name))
        if where is None:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}: a CIFAR-10 batch holds only "
                                         f"a dict of bytes keys, lists and NumPy arrays")
        import importlib
        for mod in where[:2]:
            try:
                return getattr(importlib.import_module(mod), where[2])
            except (ImportError, AttributeError):
                continue
        raise pickle.UnpicklingError(f"cannot resolve {module}.{name} in this NumPy")  # pragma: no cover

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent references are not allowed in a CIFAR-10 batch")


def _safe_load_batch(fh):
    """Unpickle a CIFAR-10 batch with :class:`_CifarUnpickler` and check what came out: a dict with
    bytes keys whose values are bytes, lists of ints or bytes, or NumPy arrays of a numeric dtype."""
    batch = _CifarUnpickler(fh, encoding="bytes").load()
    if not isinstance(batch, dict) or not all(isinstance(k, bytes) for k in batch):
        raise pickle.UnpicklingError("a CIFAR-10 batch must be a dict with bytes keys")
    for key, value in batch.items():
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise pickle.UnpicklingError(f"entry {key!r} is an array of Python objects")
        elif isinstance(value, list):
            if not all(isinstance(v, (int, bytes, str)) for v in value):
                raise pickle.UnpicklingError(f"entry {key!r} must be a list of ints or bytes")
        elif not isinstance(value, (bytes, str, int)):
            raise pickle.UnpicklingError(f"entry {key!r} has the unexpected type {type(value).__name__}")
    return batch


def _read_cifar_batch(path: Path):
    try:
        with open(path, "rb") as fh:
            batch = _safe_load_batch(fh)
        data = np.asarray(batch[b"data"])
        labels = np.asarray(batch[b"labels"])
    except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, AttributeError,
            IndexError, MemoryError) as exc:
        raise InputError("data_dir", f"holds an unreadable CIFAR-10 batch {path.name}: {exc}") from exc
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (len(data),):
        raise InputError("data_dir", f"batch {path.name} must hold b'data' uint8 of shape (n, 3072) and "
                                     f"b'labels' of length n; got {data.dtype} {data.shape}, {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or (labels.size and (labels.min() < 0 or labels.max() > 9)):
        raise InputError("data_dir", f"batch {path.name} has labels outside the integers 0..9")
    return data, labels.astype(np.int64)


@lru_cache(maxsize=2)
def _load_cifar10_cached(data_dir: str) -> ClassificationData:
    root = Path(data_dir)
    if not root.is_dir():
        raise InputError("data_dir", f"must be a folder holding the CIFAR-10 python batches "
                                     f"({', '.join(CIFAR10_TRAIN_FILES)}, {CIFAR10_TEST_FILE}); "
                                     f"{data_dir!r} is not a folder")
    missing = [f for f in CIFAR10_TRAIN_FILES + (CIFAR10_TEST_FILE,) if not (root / f).is_file()]
    if missing:
        raise InputError("data_dir", f"{data_dir!r} lacks the CIFAR-10 batches {', '.join(missing)} "
                                     f"(the 'python version' of CIFAR-10, cifar-10-batches-py)")
    parts = [_read_cifar_batch(root / f) for f in CIFAR10_TRAIN_FILES + (CIFAR10_TEST_FILE,)]
    X = np.concatenate([p[0] for p in parts]).astype(np.float64) / 255.0
    y = np.concatenate([p[1] for p in parts])
    heldout = np.zeros(len(y), bool)
    heldout[len(y) - len(parts[-1][1]):] = True  # validation and test come from test_batch, as in the paper
    for a in (X, y, heldout):
        a.setflags(write=False)
    return ClassificationData(X=X, y=y, n_classes=10, name="cifar10", heldout=heldout)


def load_cifar10(data_dir) -> ClassificationData:
    """CIFAR-10 from the python batches in a local folder (no download).

    The folder must hold ``data_batch_1`` .. ``data_batch_5`` and ``test_batch``: pickles of dicts with
    ``b'data'`` (uint8 of shape (n, 3072), channel-major 32x32x3) and ``b'labels'`` (n ints in 0..9).
    They are read with a restricted unpickler that admits only that dict of bytes keys, lists and
    NumPy arrays: a file naming any other Python object (a crafted pickle whose ``__reduce__`` calls
    ``os.system``, say) is refused before anything runs.

    Parameters
    ----------
    data_dir : path-like

    Returns
    -------
    ClassificationData
        ``X`` of shape (n_train + n_test, 3072) with pixels scaled to [0, 1]; ``heldout`` marks the
        ``test_batch`` rows, from which Hong et al. 2021 (Sec. 4.1) also take their validation images.

    Raises
    ------
    InputError
        If the folder or a batch is missing or malformed.
    """
    if data_dir is None or str(data_dir) == "":
        raise InputError("data_dir", "must name the folder holding the CIFAR-10 python batches")
    return _load_cifar10_cached(str(Path(data_dir).expanduser().resolve()))


def synthetic_teacher_task(n_per_class: int, d: int, n_classes: int, width: int,
                           rng: np.random.Generator) -> ClassificationData:
    """A balanced classification task labelled by a random ReLU network (the "teacher-labelled" task).

    Inputs :math:`x \\sim N(0, I_d)`; the label is :math:`\\arg\\max_k ([V\\,\\mathrm{relu}(Ux)]_k - \\mu_k)/s_k`
    with Xavier-normal ``U`` (width x d) and ``V`` (n_classes x width), where :math:`\\mu_k, s_k` are the
    mean and standard deviation of score k on a calibration draw of 4096 inputs (so that every class
    has a fair share). Samples are drawn until every class
    has ``n_per_class`` of them (the rest are dropped), so the classes are balanced.

    Parameters
    ----------
    n_per_class, d, n_classes, width : int
    rng : numpy.random.Generator, draws the labelling network and the inputs

    Returns
    -------
    ClassificationData with ``X`` of shape (n_per_class * n_classes, d), grouped by nothing
    (rows in draw order).
    """
    n_per_class = check_int("n_per_class", n_per_class, low=1)
    d = check_int("d", d, low=1)
    n_classes = check_int("n_classes", n_classes, low=2)
    width = check_int("width", width, low=1)
    weights = xavier_normal((d, width, n_classes), rng)
    # standardise each class score on a calibration draw: without it some classes almost never win
    calib = forward(weights, rng.standard_normal((4096, d)), "relu").out
    mu, sd = calib.mean(axis=0), calib.std(axis=0) + 1e-12
    rows, labels, counts = [], [], np.zeros(n_classes, int)
    for _ in range(1000):
        X = rng.standard_normal((4 * n_per_class * n_classes, d))
        lab = np.argmax((forward(weights, X, "relu").out - mu) / sd, axis=1)
        for k in range(n_classes):
            take = np.flatnonzero(lab == k)[: n_per_class - counts[k]]
            rows.append(X[take])
            labels.append(np.full(len(take), k))
            counts[k] += len(take)
        if counts.min() == n_per_class:
            break
    else:  # pragma: no cover - a class of vanishing probability
        raise InputError("n_classes", f"a class of the random labelling network is too rare ({counts.tolist()})")
    X, y = np.concatenate(rows), np.concatenate(labels).astype(np.int64)
    order = rng.permutation(len(y))
    return ClassificationData(X=X[order], y=y[order], n_classes=n_classes, name="synthetic",
                              heldout=np.ones(len(y), bool))


@dataclass(frozen=True)
class PerClassSplit:
    """A fixed split of a :class:`ClassificationData` into a per-class training pool, a validation set
    and a test set (row indices into ``X``).

    ``pool[k]`` lists the training candidates of class k in a fixed random order; the training set with
    N samples per class is the first N of each class (:meth:`subset`), so equal N always give the same
    images and a smaller N's images are contained in a larger N's (Hong et al. 2021, Sec. 4.1).
    """

    pool: np.ndarray
    val: np.ndarray
    test: np.ndarray

    @property
    def max_per_class(self) -> int:
        """Largest N available in every class."""
        return int(self.pool.shape[1])

    def subset(self, n_per_class: int) -> np.ndarray:
        """Row indices of the nested training set with ``n_per_class`` images per class, class-major:
        shape (K * n_per_class,)."""
        n = check_int("N", n_per_class, low=1, high=self.max_per_class)
        return self.pool[:, :n].ravel()


def per_class_split(data: ClassificationData, n_val: int, n_test: int,
                    rng: np.random.Generator) -> PerClassSplit:
    """Split ``data`` per class: ``n_test`` then ``n_val`` rows of each class, drawn from the
    ``heldout`` rows, form the test and validation sets; the other non-test, non-validation rows of the
    class (training-only rows when the data has an official test set) form the training pool in a
    random order.

    Parameters
    ----------
    data : ClassificationData
    n_val, n_test : int, validation and test images per class
    rng : numpy.random.Generator, fixes the split (pass a generator derived from a data seed)

    Returns
    -------
    PerClassSplit
        ``pool`` of shape (K, P) where P is the smallest class's pool size.
    """
    n_val = check_int("n_val", n_val, low=1)
    n_test = check_int("n_test", n_test, low=1)
    pools, vals, tests = [], [], []
    for k in range(data.n_classes):
        rows = np.flatnonzero(data.y == k)
        held = rng.permutation(rows[data.heldout[rows]])
        if len(held) < n_val + n_test:
            raise InputError("n_val", f"+ n_test = {n_val + n_test} exceeds the {len(held)} held-out "
                                      f"images of class {k} in {data.name}")
        tests.append(held[:n_test])
        vals.append(held[n_test:n_test + n_val])
        rest = np.setdiff1d(rows, held[:n_val + n_test])
        if data.heldout.all():
            pools.append(rng.permutation(rest))
        else:
            pools.append(rng.permutation(rest[~data.heldout[rest]]))
    P = min(len(p) for p in pools)
    if P < 1:
        raise InputError("n_val", f"leaves no training images in some class of {data.name}")
    return PerClassSplit(pool=np.stack([p[:P] for p in pools]), val=np.concatenate(vals),
                         test=np.concatenate(tests))


def input_noise(shape, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Input noise :math:`\\epsilon \\sim N(0, \\sigma^2 I)` of the given shape (Hong et al. 2021, Sec. 2;
    added to inputs on the [0, 1] pixel scale)."""
    sigma = check_real("sigma", sigma, low=0.0)
    return sigma * rng.standard_normal(shape)
