"""The datasets read from standard files in a local folder: CIFAR-10 and CIFAR-100 (the python
batches' binary form), MNIST and Fashion-MNIST (IDX files, optionally gzipped). Each registers in
the ``datasets`` registry; :func:`nasbench.training.datasets.load_dataset` finds them (the
registry imports this module, which imports the generated datasets' module, not the other way
round). See :mod:`nasbench.training.datasets` for the folder (``root``, ``NASBENCH_DATA``), the
splits and the errors.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import ClassVar

import numpy as np

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import datasets
from nasbench.training.datasets import ENV_VAR, Dataset, build_dataset

# ---------------------------------------------------------------------------------------------
# Datasets read from a local folder


class FolderDataset:
    """Base of the file-based datasets: folder lookup, clear missing-file errors, the validation
    split (the last ``val_size`` training samples) and train-split normalisation."""

    name: ClassVar[str]
    title: ClassVar[str]  # what to put in the folder, for error messages
    files: ClassVar[tuple[str, ...]]  # required file names
    gzip_ok: ClassVar[bool] = False  # also accept ``<file>.gz``

    def __init__(self, root: str | None = None, val_size: int = 5000) -> None:
        self.root = root
        self.val_size = val_size

    def folder(self) -> Path:
        """``root``, else ``$NASBENCH_DATA/<name>``; raises NasbenchError when neither is set."""
        if self.root is not None:
            return Path(self.root)
        env = os.environ.get(ENV_VAR)
        if not env:
            raise NasbenchError(
                f"{self.name}: no data folder; put the {self.title} in a folder "
                f"and pass it as root, or in $NASBENCH_DATA/{self.name} and set {ENV_VAR}"
            )
        return Path(env) / self.name

    def paths(self) -> dict[str, Path]:
        """Each required file name to its path in :meth:`folder` (``.gz`` when only that exists).

        Raises NasbenchError naming every missing file and what belongs in the folder.
        """
        folder = self.folder()
        found, missing = {}, []
        for name in self.files:
            path = folder / name
            if not path.is_file() and self.gzip_ok and path.with_name(name + ".gz").is_file():
                path = path.with_name(name + ".gz")
            if path.is_file():
                found[name] = path
            else:
                missing.append(str(path) + (" (or .gz)" if self.gzip_ok else ""))
        if missing:
            what = f"no folder {folder}" if not folder.is_dir() else "missing " + ", ".join(missing)
            env_hint = f" (${ENV_VAR}/{self.name}) or pass root" if self.root is None else ""
            raise NasbenchError(f"{self.name}: {what}; put the {self.title} in {folder}{env_hint}")
        return found

    def read(self, paths: dict[str, Path]) -> tuple[np.ndarray, ...]:
        """``(x_train, y_train, x_test, y_test)``: uint8 images ``(N, C, H, W)``, integer labels."""
        raise NotImplementedError

    def load(self) -> Dataset:
        x_train, y_train, x_test, y_test = self.read(self.paths())
        n = len(y_train)
        if not 0 < self.val_size < n:
            raise NasbenchError(
                f"{self.name}: val_size {self.val_size} must be between 1 and "
                f"{n - 1} (the training file holds {n} samples)"
            )
        cut = n - self.val_size
        train, val = (x_train[:cut], y_train[:cut]), (x_train[cut:], y_train[cut:])
        return build_dataset(self.name, train, val, (x_test, y_test))


def _read_bytes(dataset: str, path: Path) -> bytes:
    """The file's bytes, gunzipped when it ends in ``.gz``; NasbenchError naming a bad file."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise NasbenchError(f"{dataset}: cannot read {path}: {exc}") from exc


def _read_cifar(dataset: str, path: Path, label_bytes: int, classes: int) -> tuple[np.ndarray, ...]:
    """Images ``(N, 3, 32, 32)`` uint8 and the last label byte of each record of a CIFAR binary
    file (records of ``label_bytes`` label bytes then 3072 channel-major pixel bytes)."""
    raw = _read_bytes(dataset, path)
    size = label_bytes + 3 * 32 * 32
    if not raw or len(raw) % size:
        raise NasbenchError(
            f"{dataset}: {path} is truncated or not the binary version "
            f"({len(raw)} bytes is not a positive multiple of {size}-byte records)"
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, size)
    labels = records[:, label_bytes - 1]
    if labels.max() >= classes:
        raise NasbenchError(
            f"{dataset}: {path} holds label {labels.max()} outside 0..{classes - 1}; "
            "corrupt file or the wrong CIFAR version"
        )
    return records[:, label_bytes:].reshape(-1, 3, 32, 32), labels


@datasets.register("cifar10")
class Cifar10(FolderDataset):
    """CIFAR-10 from its binary version: 50000 training images in ``data_batch_1..5.bin`` (the last
    ``val_size`` = 5000 of them, i.e. most of ``data_batch_5.bin``, are validation) and 10000 test
    images in ``test_batch.bin``."""

    name = "cifar10"
    title = "CIFAR-10 binary version (data_batch_1.bin ... data_batch_5.bin, test_batch.bin)"
    files = (*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin")

    def read(self, paths: dict[str, Path]) -> tuple[np.ndarray, ...]:
        parts = [_read_cifar(self.name, paths[f], 1, 10) for f in self.files]
        x_train = np.concatenate([x for x, _ in parts[:-1]])
        y_train = np.concatenate([y for _, y in parts[:-1]])
        return x_train, y_train, *parts[-1]


@datasets.register("cifar100")
class Cifar100(FolderDataset):
    """CIFAR-100 from its binary version (``train.bin`` 50000, ``test.bin`` 10000 images) with the
    fine labels (0..99); the last ``val_size`` = 5000 training images are validation."""

    name = "cifar100"
    title = "CIFAR-100 binary version (train.bin, test.bin)"
    files = ("train.bin", "test.bin")

    def read(self, paths: dict[str, Path]) -> tuple[np.ndarray, ...]:
        x_train, y_train = _read_cifar(self.name, paths["train.bin"], 2, 100)
        return x_train, y_train, *_read_cifar(self.name, paths["test.bin"], 2, 100)


def _read_idx(dataset: str, path: Path, ndim: int) -> np.ndarray:
    """An idx file of unsigned bytes with ``ndim`` dimensions (LeCun's MNIST format: magic
    ``00 00 08 ndim``, big-endian uint32 sizes, then the data)."""
    raw = _read_bytes(dataset, path)
    header = 4 + 4 * ndim
    if len(raw) < header or raw[:4] != bytes((0, 0, 8, ndim)):
        raise NasbenchError(
            f"{dataset}: {path} is not an idx file of unsigned bytes with {ndim} "
            f"dimension(s) (header {raw[:4].hex() or 'empty'})"
        )
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    if len(raw) != header + int(np.prod(dims)):
        raise NasbenchError(
            f"{dataset}: {path} is truncated or corrupt: header says {dims} "
            f"({header + int(np.prod(dims))} bytes), file has {len(raw)}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _read_idx_pairs(dataset: str, paths: dict[str, Path]) -> tuple[np.ndarray, ...]:
    """``(x_train, y_train, x_test, y_test)`` from the four MNIST-format idx files in ``paths``:
    images ``(N, 1, 28, 28)`` uint8, labels 0..9."""
    out: list[np.ndarray] = []
    for images, labels in (_IDX_NAMES[:2], _IDX_NAMES[2:]):
        x = _read_idx(dataset, paths[images], 3)
        y = _read_idx(dataset, paths[labels], 1)
        if x.shape[1:] != (28, 28) or len(x) != len(y):
            raise NasbenchError(
                f"{dataset}: {paths[images]} holds images {x.shape} but {paths[labels]} "
                f"{len(y)} labels; expected (N, 28, 28) images and N labels"
            )
        if len(y) and y.max() > 9:
            raise NasbenchError(f"{dataset}: {paths[labels]} holds label {y.max()} outside 0..9")
        out += [x[:, None, :, :], y]
    return tuple(out)


_IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_IDX_FILES = ", ".join(_IDX_NAMES) + ", optionally .gz"


@datasets.register("mnist")
class Mnist(FolderDataset):
    """MNIST (LeCun et al. 1998) idx files: 60000 training images (the last ``val_size`` = 5000 are
    validation) and 10000 test images."""

    name = "mnist"
    title = f"MNIST idx files ({_IDX_FILES})"
    files = _IDX_NAMES
    gzip_ok = True

    def read(self, paths: dict[str, Path]) -> tuple[np.ndarray, ...]:
        return _read_idx_pairs(self.name, paths)


@datasets.register("fashion_mnist")
class FashionMnist(FolderDataset):
    """Fashion-MNIST (Xiao et al. 2017) idx files, same layout and splits as :class:`Mnist`."""

    name = "fashion_mnist"
    title = f"Fashion-MNIST idx files ({_IDX_FILES})"
    files = _IDX_NAMES
    gzip_ok = True

    def read(self, paths: dict[str, Path]) -> tuple[np.ndarray, ...]:
        return _read_idx_pairs(self.name, paths)
