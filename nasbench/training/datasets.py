"""Datasets: fixed train/validation/test splits as normalised float32 arrays.

>>> data = load_dataset("mnist1d")
>>> data.task
Task(input_shape=(1, 40), num_classes=10, name='mnist1d')
>>> data.train.x.shape, data.val.x.shape, data.test.x.shape
((3000, 1, 40), (1000, 1, 40), (1000, 1, 40))
>>> data.train.x.dtype, data.train.y.dtype
(dtype('float32'), dtype('int64'))

Each dataset is a class in the ``datasets`` registry (constructor ``(root=None, ...)``, method
``load() -> Dataset``); :func:`load_dataset` creates one and caches the result in-process. Splits
are fixed constants: loading draws no randomness and leaves global RNG state unchanged.

- ``mnist1d`` (the default; Greydanus 2020): generated offline by the ``mnist1d`` package, equal
  to the official frozen dataset, and cached across processes (:func:`mnist1d_arrays`).
  train = the first 3000 of the 4000 official training samples, val = the last 1000, test =
  the official 1000. Kept as generated: the generator standardises all 5000 samples to mean 0,
  std 1, and the paper's published accuracies are on those values.
- ``digits``: scikit-learn's bundled 8x8 digits (1797 images, values 0..16); a fixed
  ``default_rng(0)`` permutation gives 1197 train, 300 val, 300 test images.
- ``cifar10``, ``cifar100`` (Krizhevsky 2009; CIFAR-100 with its fine labels) from the binary
  versions, ``mnist`` (LeCun et al. 1998) and ``fashion_mnist`` (Xiao et al. 2017) from idx
  files. val = the last ``val_size`` (default 5000) training samples, so 45000/5000/10000
  (CIFAR) and 55000/5000/10000 (MNISTs).

All but mnist1d are standardised per channel with the mean and std of their train split
(validation excluded); val and test use the same statistics.

File-based datasets read ``root`` or, when it is None, ``$NASBENCH_DATA/<name>``; nothing is ever
downloaded and the pickled python CIFAR versions are never read. Expected files (the contents of
the extracted archives):

- cifar10: ``data_batch_1.bin`` ... ``data_batch_5.bin``, ``test_batch.bin``
  (``cifar-10-batches-bin/``; records of 1 label byte + 3072 channel-major pixel bytes);
- cifar100: ``train.bin``, ``test.bin`` (``cifar-100-binary/``; records of a coarse and a fine
  label byte + 3072 pixel bytes);
- mnist, fashion_mnist: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
  ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally gzipped (``.gz``).

A missing folder or file raises :class:`NasbenchError` saying which files to put in which folder;
a truncated or malformed file raises one naming the file. The arrays are read-only because the
cache shares them between callers: copy before modifying in place (``torch.tensor(x)`` copies;
``torch.from_numpy`` accepts them but warns once per process).
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nasbench.core.caches import check_folder, rebuilding, replace_atomically
from nasbench.core.errors import NasbenchError
from nasbench.core.registry import datasets
from nasbench.core.tasks import task_for
from nasbench.core.types import Task

ENV_VAR = "NASBENCH_DATA"


@dataclass(frozen=True)
class Split:
    """One split: ``x`` float32 ``(N, C, L)`` or ``(N, C, H, W)``, normalised; ``y`` int64."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        x, y = self.x, self.y
        if x.dtype != np.float32 or x.ndim not in (3, 4):
            raise NasbenchError(f"split x must be float32 (N, C, L) or (N, C, H, W): {x.shape}")
        if y.dtype != np.int64 or y.shape != x.shape[:1]:
            raise NasbenchError(f"split y must be int64 of shape {x.shape[:1]}: {y.shape}")

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class Dataset:
    """A named dataset: its :class:`Task` and fixed train, validation and test splits.

    Raises NasbenchError when a split's sample shape differs from ``task.input_shape`` or a label
    lies outside ``0 .. task.num_classes - 1``.
    """

    name: str
    task: Task
    train: Split
    val: Split
    test: Split

    def __post_init__(self) -> None:
        for part, split in (("train", self.train), ("val", self.val), ("test", self.test)):
            shape, classes = split.x.shape[1:], self.task.num_classes
            if shape != self.task.input_shape:
                raise NasbenchError(f"{self.name} {part} x {shape} != {self.task.input_shape}")
            if len(split) and not 0 <= split.y.min() <= split.y.max() < classes:
                raise NasbenchError(f"{self.name} {part} labels outside 0..{classes - 1}")


class DatasetSource(Protocol):
    """What the ``datasets`` registry holds: a class whose ``load`` builds the :class:`Dataset`."""

    def load(self) -> Dataset: ...


def load_dataset(name: str, root: str | Path | None = None) -> Dataset:
    """The dataset registered as ``name``, read from ``root`` (file-based datasets only).

    Cached per ``(name, root, $NASBENCH_DATA)`` in this process (the 4 most recent), so repeated
    calls return the same object. Raises NasbenchError for an unknown name (naming the known ones)
    or missing/corrupt data files. Draws no randomness.
    """
    return _load_cached(name, None if root is None else str(root), os.environ.get(ENV_VAR))


@functools.lru_cache(maxsize=4)
def _load_cached(name: str, root: str | None, env: str | None) -> Dataset:
    # ``env`` is part of the key only: a changed $NASBENCH_DATA must not return a stale dataset.
    source: DatasetSource = datasets.create(name, root=root)
    return source.load()


def clear_cache() -> None:
    """Forget every dataset :func:`load_dataset` has cached (frees their memory)."""
    _load_cached.cache_clear()


# ---------------------------------------------------------------------------------------------
# Shared helpers


def channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std (float64) of uint8 ``x`` of shape ``(N, C, ...)``, computed
    exactly from per-channel histograms so a 45000-image CIFAR split needs no float64 copy."""
    counts = np.stack([np.bincount(x[:, c].ravel(), minlength=256) for c in range(x.shape[1])])
    levels = np.arange(256.0)
    n = counts.sum(axis=1)
    mean = counts @ levels / n  # integer sums below 2**53: exact in float64
    return mean, np.sqrt(np.maximum(counts @ levels**2 / n - mean**2, 0.0))


def standardise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` per channel as float32 (a constant channel keeps std 1)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    out = x.astype(np.float32)
    out -= mean.astype(np.float32).reshape(shape)
    out /= np.where(std > 0, std, 1.0).astype(np.float32).reshape(shape)
    return out


def _frozen_split(x: np.ndarray, y: np.ndarray) -> Split:
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.asarray(y).astype(np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return Split(x, y)


Pair = tuple[np.ndarray, np.ndarray]


def build_dataset(name: str, train: Pair, val: Pair, test: Pair, normalise: bool = True) -> Dataset:
    """Standardise uint8 splits with the train split's per-channel statistics and wrap them."""
    if normalise:
        mean, std = channel_stats(train[0])
        train, val, test = ((standardise(x, mean, std), y) for x, y in (train, val, test))
    return Dataset(name, task_for(name), *(_frozen_split(x, y) for x, y in (train, val, test)))


# ---------------------------------------------------------------------------------------------
# Generated and bundled datasets


@datasets.register("mnist1d")
class Mnist1d:
    """MNIST-1D (Greydanus 2020), generated offline by the ``mnist1d`` package with its default
    arguments (seed 42): train = the first 3000 of the 4000 official training samples, val = the
    last 1000, test = the official 1000. ``root`` is accepted for a uniform interface and unused.

    The generator seeds and draws from numpy's and Python's *global* RNGs (``set_seed`` and
    ``np.random.*`` in ``mnist1d.data``/``transform``); both states are saved before and restored
    after the call, so loading leaves global RNG state unchanged.
    """

    VAL_SIZE = 1000

    def __init__(self, root: str | None = None) -> None:
        self.root = root

    def load(self) -> Dataset:
        raw = mnist1d_arrays()
        x = raw["x"][:, None, :]
        train = (x[: -self.VAL_SIZE], raw["y"][: -self.VAL_SIZE])
        val = (x[-self.VAL_SIZE :], raw["y"][-self.VAL_SIZE :])
        test = (raw["x_test"][:, None, :], raw["y_test"])
        return build_dataset("mnist1d", train, val, test, normalise=False)


@datasets.register("mnist1d_large")
class Mnist1dLarge:
    """MNIST-1D with validation and test splits large enough to rank architectures: train =
    the 4000 official training samples, val = 5000 samples the ``mnist1d`` generator draws with
    seed 1042 (``mnist1d-val-1042``), test = 5000 drawn with seed 2042 (``mnist1d-test-2042``),
    both class-balanced (500 per class) and standardised with the official set's constants
    (:func:`mnist1d_large_arrays`). At 97.5 % accuracy 1000 samples give a binomial sd of 0.49
    points, 5000 give 0.22: the official 1000-sample splits would make measurement noise the
    floor of a table's labels. ``root`` is accepted for a uniform interface and unused."""

    def __init__(self, root: str | None = None) -> None:
        self.root = root

    def load(self) -> Dataset:
        raw = mnist1d_arrays()
        extra = mnist1d_large_arrays()
        train = (raw["x"][:, None, :], raw["y"])
        val = (extra["x_val"][:, None, :], extra["y_val"])
        test = (extra["x_test"][:, None, :], extra["y_test"])
        return build_dataset("mnist1d_large", train, val, test, normalise=False)


CACHE_ENV = "NASBENCH_CACHE"
MNIST1D_SHAPES: dict[str, tuple[int, ...]] = {
    "x": (4000, 40),
    "y": (4000,),
    "x_test": (1000, 40),
    "y_test": (1000,),
}
MNIST1D_LARGE_SEEDS = {"val": 1042, "test": 2042}
MNIST1D_LARGE_SIZE = 5000
MNIST1D_LARGE_SHAPES: dict[str, tuple[int, ...]] = {
    f"{a}_{split}": (MNIST1D_LARGE_SIZE, 40) if a == "x" else (MNIST1D_LARGE_SIZE,)
    for split in MNIST1D_LARGE_SEEDS
    for a in ("x", "y")
}


def cache_dir() -> Path | None:
    """Where generated data is cached across processes: ``$NASBENCH_CACHE`` (``off``: nowhere),
    else ``$XDG_CACHE_HOME/nasbench``, else ``~/.cache/nasbench``. Raises NasbenchError when
    that location is a file or lies under one (:func:`nasbench.core.caches.check_folder`)."""
    raw = os.environ.get(CACHE_ENV, "")
    if raw.lower() == "off":
        return None
    if raw:
        return check_folder(raw, CACHE_ENV, ' (or be "off")')
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nasbench"
    return check_folder(base, "the cache folder", f' (set {CACHE_ENV} to a folder, or to "off")')


def _read_cached(path: Path, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray] | str:
    """The arrays of the cache file ``path``, or why they cannot be used: unreadable, not an
    ``.npz`` archive, or other keys, shapes or dtypes (``x*`` float32, others int64). Never
    unpickles (``allow_pickle=False``)."""
    try:
        stored = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy, zipfile and zlib raise many kinds: all mean "rebuild"
        return f"is unreadable ({type(exc).__name__}: {exc})"
    if not isinstance(stored, np.lib.npyio.NpzFile):
        return f"is not an .npz archive (holds a {type(stored).__name__})"
    with stored:
        missing = sorted(set(shapes) - set(stored.files))
        if missing:
            return f"lacks the array(s) {', '.join(missing)}"
        try:
            arrays = {key: stored[key] for key in shapes}
        except Exception as exc:  # a truncated or damaged member
            return f"is truncated or damaged ({type(exc).__name__}: {exc})"
    for key, shape in shapes.items():
        dtype = np.dtype(np.float32 if key[0] == "x" else np.int64)
        if arrays[key].shape != shape or arrays[key].dtype != dtype:
            return (f"holds {key} as {arrays[key].dtype} {arrays[key].shape}, not "
                    f"{dtype} {shape}")  # fmt: skip
    return arrays


def _cached(
    stem: str, shapes: dict[str, tuple[int, ...]], make: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """``make()``'s arrays, read from ``<cache_dir>/<stem>-<mnist1d version>.npz`` when an
    earlier process stored them; made and stored otherwise. A cache file that cannot be read, or
    holds other keys, shapes or dtypes (``x*`` float32, others int64), is reported (one warning
    line, :func:`nasbench.core.caches.rebuilding`), remade and replaced atomically; a folder that
    cannot be written only costs the generation. A cache location that is a file raises
    NasbenchError (:func:`cache_dir`)."""
    from importlib.metadata import version

    folder = cache_dir()
    path = None if folder is None else folder / f"{stem}-{version('mnist1d')}.npz"
    if path is not None and path.exists():
        found = _read_cached(path, shapes) if path.is_file() else "is not a file"
        if not isinstance(found, str):
            return found
        rebuilding(path, found)
    arrays = make()
    if path is not None:
        kept = {key: arrays[key] for key in shapes}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # atomic: concurrent processes never read a partial file
            replace_atomically(path, lambda tmp: np.savez(tmp, **kept))  # type: ignore[arg-type]
        except OSError:
            pass
    return arrays


def mnist1d_arrays() -> dict[str, np.ndarray]:
    """:func:`generate_mnist1d`'s arrays, cached across processes (:func:`cache_dir`; about 8 s
    to generate: the package's import and its 5000 transforms)."""
    return _cached("mnist1d", MNIST1D_SHAPES, generate_mnist1d)


def mnist1d_large_arrays() -> dict[str, np.ndarray]:
    """The extra splits of ``mnist1d_large`` (``x_val``, ``y_val``, ``x_test``, ``y_test``),
    cached across processes like :func:`mnist1d_arrays` (about 25 s to generate)."""
    return _cached("mnist1d-large", MNIST1D_LARGE_SHAPES, generate_mnist1d_large)


@contextlib.contextmanager
def _global_rngs_restored() -> Iterator[None]:
    """The ``mnist1d`` generator seeds and draws from numpy's and Python's *global* RNGs
    (``set_seed`` and ``np.random.*``); save both states and restore them afterwards."""
    np_state = np.random.get_state()  # noqa: NPY002 (saved to restore, not to draw)
    py_state = random.getstate()
    try:
        yield
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)


def generate_mnist1d() -> dict[str, np.ndarray]:
    """The official MNIST-1D arrays: ``x`` float32 (4000, 40), ``y`` int64 (4000,), ``x_test``
    (1000, 40), ``y_test`` (1000,), as ``mnist1d.data.make_dataset(get_dataset_args())`` makes
    them (cast to float32, the frozen file's dtype). Leaves global RNG state unchanged."""
    import mnist1d.data  # imported here: it pulls in matplotlib and requests

    with _global_rngs_restored():
        made = mnist1d.data.make_dataset(mnist1d.data.get_dataset_args())
    return {
        key: np.asarray(made[key], dtype=np.float32 if key.startswith("x") else np.int64)
        for key in ("x", "y", "x_test", "y_test")
    }


def _raw_mnist1d(seed: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Unstandardised samples as ``mnist1d.data.make_dataset`` draws them with ``seed``:
    ``samples // 10`` transforms of each class template in class order, then shuffled. Callers
    hold :func:`_global_rngs_restored` (the generator uses the global RNGs)."""
    import mnist1d.data
    import mnist1d.utils

    args = mnist1d.data.get_dataset_args()
    templates = mnist1d.data.get_templates()
    mnist1d.utils.set_seed(seed)
    xs, ys = [], []
    for label in range(len(templates["y"])):
        for _ in range(samples // len(templates["y"])):
            x, _t = mnist1d.data.transform(templates["x"][label], templates["t"], args)
            xs.append(x)
            ys.append(templates["y"][label])
    shuffle = np.random.permutation(len(ys))  # noqa: NPY002 (the package's own stream)
    return np.stack(xs)[shuffle], np.stack(ys)[shuffle]


def generate_mnist1d_large() -> dict[str, np.ndarray]:
    """The extra validation and test samples of ``mnist1d_large``: for each split, 5000 samples
    drawn like the official set but with the split's seed (:data:`MNIST1D_LARGE_SEEDS`), then
    standardised with the mean and std of the official set's 5000 raw samples (what
    ``make_dataset`` divides by), so they are preprocessed exactly like the official data. Checks
    that the official samples are reproduced first. Leaves global RNG state unchanged."""
    args = {}
    with _global_rngs_restored():
        official_x, _ = _raw_mnist1d(42, 5000)
        for split, seed in MNIST1D_LARGE_SEEDS.items():
            args[split] = _raw_mnist1d(seed, MNIST1D_LARGE_SIZE)
    mean, std = official_x.mean(), official_x.std()
    reproduced = ((official_x - mean) / std)[:4000].astype(np.float32)
    if not np.allclose(reproduced, mnist1d_arrays()["x"], atol=1e-5):
        raise NasbenchError("this mnist1d package version draws other samples than the official "
                            "set; mnist1d_large cannot be generated faithfully")  # fmt: skip
    out: dict[str, np.ndarray] = {}
    for split, (x, y) in args.items():
        out[f"x_{split}"] = ((x - mean) / std).astype(np.float32)
        out[f"y_{split}"] = np.asarray(y, dtype=np.int64)
    return out


@datasets.register("digits")
class Digits:
    """scikit-learn's 8x8 handwritten digits (1797 images, bundled, no download): a fixed
    ``np.random.default_rng(0)`` permutation gives 1197 train, 300 val, 300 test images (every
    class occurs in every split). ``root`` is accepted for a uniform interface and unused."""

    VAL_SIZE = 300
    TEST_SIZE = 300

    def __init__(self, root: str | None = None) -> None:
        self.root = root

    def load(self) -> Dataset:
        from sklearn.datasets import load_digits

        bunch: Any = load_digits()
        x = np.asarray(bunch.images, dtype=np.uint8)[:, None, :, :]  # integer values 0..16
        y = np.asarray(bunch.target, dtype=np.int64)
        # A constant permutation, fixed once: a split definition, not a random draw.
        order = np.random.default_rng(0).permutation(len(y))
        test, val, train = np.split(order, [self.TEST_SIZE, self.TEST_SIZE + self.VAL_SIZE])
        return build_dataset("digits", (x[train], y[train]), (x[val], y[val]), (x[test], y[test]))
