"""Datasets: generated/bundled data, the binary and idx readers on tiny files written here in the
exact distribution formats, split and normalisation rules, error messages, caching, RNG hygiene."""

from __future__ import annotations

import gzip
import os
import random
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import datasets
from nasbench.core.tasks import DATASET_TASKS, task_for
from nasbench.training.datasets import (
    Dataset,
    Split,
    clear_cache,
    generate_mnist1d,
    load_dataset,
)
from tests.helpers import shared_data

IDX = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
CIFAR10_FILES = (*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin")


# ----------------------------------------------------------------------------------------------
# Writers of the distribution formats (independent of the library's readers)


def write_cifar(path: Path, rng: np.random.Generator, n: int, fine: bool) -> tuple:
    """n records: [coarse,] label, 3072 channel-major pixels. Returns (images, labels)."""
    x = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    y = rng.integers(0, 100 if fine else 10, size=n).astype(np.uint8)
    labels = np.stack([y // 5, y], axis=1) if fine else y[:, None]  # coarse != fine
    path.write_bytes(np.concatenate([labels, x.reshape(n, -1)], axis=1).tobytes())
    return x, y


def write_idx(path: Path, data: np.ndarray, gz: bool = False) -> None:
    """LeCun's idx format: 00 00 08 ndim, big-endian uint32 sizes, unsigned bytes."""
    raw = bytes((0, 0, 8, data.ndim)) + struct.pack(f">{data.ndim}I", *data.shape)
    raw += data.astype(np.uint8).tobytes()
    if gz:
        Path(str(path) + ".gz").write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)


def make_cifar10(folder: Path, seed: int = 0) -> tuple:
    """5 training batches of 3 records and a test batch of 4; (x_train, y_train, x_test, y_test)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    parts = [
        write_cifar(folder / f, rng, 4 if f == "test_batch.bin" else 3, False)
        for f in CIFAR10_FILES
    ]
    x_train = np.concatenate([p[0] for p in parts[:-1]])
    y_train = np.concatenate([p[1] for p in parts[:-1]])
    return x_train, y_train, *parts[-1]


def make_cifar100(folder: Path, seed: int = 0) -> tuple:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    return (
        *write_cifar(folder / "train.bin", rng, 12, True),
        *write_cifar(folder / "test.bin", rng, 3, True),
    )


def make_idx(folder: Path, seed: int = 0, gz: bool = False, n: int = 10) -> tuple:
    """n training and 3 test 28x28 images; (x_train, y_train, x_test, y_test)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = (
        rng.integers(0, 256, (n, 28, 28)),
        rng.integers(0, 10, n),
        rng.integers(0, 256, (3, 28, 28)),
        rng.integers(0, 10, 3),
    )
    for name, data in zip(IDX, arrays, strict=True):
        write_idx(folder / name, data, gz)
    return arrays


WRITERS: dict[str, Callable[[Path], tuple]] = {
    "cifar10": make_cifar10,
    "cifar100": make_cifar100,
    "mnist": make_idx,
    "fashion_mnist": make_idx,
}
FILE_DATASETS = sorted(WRITERS)


def load_small(name: str, root: Path, val_size: int = 4) -> Dataset:
    return datasets.create(name, root=str(root), val_size=val_size).load()


def expected_standardised(x_train: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Reference normalisation in float64: per channel, train-split mean and std."""
    axes = (0, *range(2, x_train.ndim))
    mean = x_train.astype(np.float64).mean(axis=axes, keepdims=True)
    std = x_train.astype(np.float64).std(axis=axes, keepdims=True)
    return (x.astype(np.float64) - mean[0]) / std[0]


# ----------------------------------------------------------------------------------------------
# Registry and tasks


def test_every_builtin_dataset_has_its_task_shape(tmp_path: Path) -> None:
    assert {"mnist1d", "digits", *FILE_DATASETS} <= set(datasets.names())
    # built-ins only: other test modules register datasets of their own
    for name in [n for n in datasets.names() if n in DATASET_TASKS]:
        if name in WRITERS:
            WRITERS[name](tmp_path / name)
            data = load_small(name, tmp_path / name)
        else:
            data = load_dataset(name)
        assert data.name == name
        assert data.task == task_for(name)
        for split in (data.train, data.val, data.test):
            assert split.x.shape[1:] == task_for(name).input_shape
            assert split.x.dtype == np.float32 and split.y.dtype == np.int64
            assert split.y.max() < task_for(name).num_classes


def test_unknown_dataset_names_the_valid_ones() -> None:
    with pytest.raises(
        NasbenchError,
        match=r"unknown dataset 'cifar11'; did you mean 'cifar10'\? \(valid: .*cifar10",
    ):
        load_dataset("cifar11")


# ----------------------------------------------------------------------------------------------
# mnist1d


def test_mnist1d_generator_equals_the_frozen_reference() -> None:
    root = shared_data()
    if root is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the reference-data tests: ../shared/data is missing")
        pytest.skip("reference data ../shared/data not present")
    frozen = np.load(root / "mnist1d" / "mnist1d_frozen.npz")
    made = generate_mnist1d()
    for key in ("x", "y", "x_test", "y_test"):
        assert made[key].dtype == frozen[key].dtype
        np.testing.assert_array_equal(made[key], frozen[key])
    data = load_dataset("mnist1d")
    np.testing.assert_array_equal(data.train.x[:, 0], frozen["x"][:3000])
    np.testing.assert_array_equal(data.val.x[:, 0], frozen["x"][3000:])
    np.testing.assert_array_equal(data.test.x[:, 0], frozen["x_test"])
    np.testing.assert_array_equal(data.val.y, frozen["y"][3000:])
    np.testing.assert_array_equal(data.test.y, frozen["y_test"])


def test_mnist1d_split_sizes_and_classes() -> None:
    data = load_dataset("mnist1d")
    assert (len(data.train), len(data.val), len(data.test)) == (3000, 1000, 1000)
    for split in (data.train, data.val, data.test):
        assert set(np.unique(split.y)) == set(range(10))
    # As generated: all 5000 samples together have mean 0 and std 1.
    every = np.concatenate([data.train.x, data.val.x, data.test.x]).astype(np.float64)
    assert abs(every.mean()) < 1e-6 and abs(every.std() - 1) < 1e-6


def leaves_global_rngs_alone(make: Callable[[], dict]) -> dict:
    """``make()``'s result, asserting that the draws right after it are those the seeded global
    generators give without it (global state scrambled on purpose)."""
    np.random.seed(12345)  # noqa: NPY002
    random.seed(678)
    expected = (np.random.random(3), random.random())  # noqa: NPY002
    np.random.seed(12345)  # noqa: NPY002
    random.seed(678)
    made = make()
    assert np.array_equal(np.random.random(3), expected[0])  # noqa: NPY002
    assert random.random() == expected[1]
    return made


def test_mnist1d_leaves_global_rng_state_unchanged() -> None:
    first = leaves_global_rngs_alone(generate_mnist1d)
    np.random.seed(999)  # noqa: NPY002  (deterministic whatever the global state was)
    second = generate_mnist1d()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])


def test_mnist1d_large_keeps_the_official_training_set_and_adds_fresh_balanced_splits() -> None:
    from nasbench.training.datasets import generate_mnist1d_large

    data, official = load_dataset("mnist1d_large"), load_dataset("mnist1d")
    assert (len(data.train), len(data.val), len(data.test)) == (4000, 5000, 5000)
    official_train = np.concatenate([official.train.x, official.val.x])
    np.testing.assert_array_equal(data.train.x, official_train)
    for split in (data.val, data.test):
        assert np.bincount(split.y).tolist() == [500] * 10
        # standardised with the official constants: the same distribution, so mean ~0, std ~1
        assert abs(float(split.x.mean())) < 0.02 and abs(float(split.x.std()) - 1) < 0.02
    seen = {row.tobytes() for row in official_train}
    fresh = [data.val.x, data.test.x, official.test.x]
    assert not any(row.tobytes() in seen for x in fresh for row in x)  # no sample repeated
    assert not {r.tobytes() for r in data.val.x} & {r.tobytes() for r in data.test.x}
    # generation leaves the global RNGs alone and is a constant
    again = leaves_global_rngs_alone(generate_mnist1d_large)
    np.testing.assert_array_equal(again["x_val"], data.val.x[:, 0])
    np.testing.assert_array_equal(again["y_test"], data.test.y)


# ----------------------------------------------------------------------------------------------
# digits


def test_digits_fixed_split_and_normalisation() -> None:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    a = datasets.create("digits").load()
    b = datasets.create("digits").load()
    assert (len(a.train), len(a.val), len(a.test)) == (1197, 300, 300)
    # The documented rule: a default_rng(0) permutation, then 300 test, 300 val, the rest train.
    order = np.random.default_rng(0).permutation(1797)
    index = {"test": order[:300], "val": order[300:600], "train": order[600:]}
    images = bunch.images[:, None].astype(np.float64)
    for part in ("train", "val", "test"):
        sa, sb = getattr(a, part), getattr(b, part)
        np.testing.assert_array_equal(sa.x, sb.x)  # deterministic
        np.testing.assert_array_equal(sa.y, bunch.target[index[part]])
        assert set(np.unique(sa.y)) == set(range(10))
        expected = expected_standardised(images[index["train"]], images[index[part]])
        np.testing.assert_allclose(sa.x, expected, atol=1e-5)
    assert abs(a.train.x.mean()) < 1e-6 and abs(a.train.x.std() - 1) < 1e-6


# ----------------------------------------------------------------------------------------------
# File formats


def check_loaded(
    data: Dataset,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    val_size: int,
) -> None:
    """Splits (val = last val_size training samples), labels, and per-channel train-split
    standardisation against the raw pixels the writer produced."""
    shape = data.task.input_shape
    x_train = x_train.reshape(-1, *shape)
    x_test = x_test.reshape(-1, *shape)
    cut = len(y_train) - val_size
    assert (len(data.train), len(data.val), len(data.test)) == (cut, val_size, len(y_test))
    np.testing.assert_array_equal(data.train.y, y_train[:cut])
    np.testing.assert_array_equal(data.val.y, y_train[cut:])
    np.testing.assert_array_equal(data.test.y, y_test)
    ref = x_train[:cut]
    for split, raw in ((data.train, ref), (data.val, x_train[cut:]), (data.test, x_test)):
        np.testing.assert_allclose(split.x, expected_standardised(ref, raw), rtol=1e-5, atol=1e-5)
    axes = (0, *range(2, len(shape) + 1))
    np.testing.assert_allclose(data.train.x.mean(axis=axes), 0, atol=1e-5)
    np.testing.assert_allclose(data.train.x.std(axis=axes), 1, atol=1e-5)


def test_cifar10_binary_batches(tmp_path: Path) -> None:
    x_train, y_train, x_test, y_test = make_cifar10(tmp_path)
    data = load_small("cifar10", tmp_path, val_size=4)
    check_loaded(data, x_train, y_train, x_test, y_test, val_size=4)
    # Channel-major records: channel 1 of image 0 is pixel bytes 1024..2047 of the first record.
    record = (tmp_path / "data_batch_1.bin").read_bytes()[:3073]
    assert record[0] == y_train[0]
    np.testing.assert_array_equal(
        np.frombuffer(record[1 + 1024 : 1 + 2048], np.uint8), x_train[0, 1].ravel()
    )


def test_cifar100_uses_the_fine_label(tmp_path: Path) -> None:
    x_train, y_fine, x_test, y_test = make_cifar100(tmp_path)
    assert np.any(y_fine // 5 != y_fine)  # coarse and fine labels differ in the file
    data = load_small("cifar100", tmp_path, val_size=3)
    check_loaded(data, x_train, y_fine, x_test, y_test, val_size=3)


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
@pytest.mark.parametrize("gz", [False, True])
def test_idx_files_plain_and_gzipped(tmp_path: Path, name: str, gz: bool) -> None:
    x_train, y_train, x_test, y_test = make_idx(tmp_path, gz=gz)
    assert (tmp_path / (IDX[0] + ".gz")).exists() == gz
    data = load_small(name, tmp_path, val_size=2)
    check_loaded(data, x_train, y_train, x_test, y_test, val_size=2)


def test_default_val_size_is_5000(tmp_path: Path) -> None:
    for name in ("cifar10", "cifar100", "mnist", "fashion_mnist"):
        assert datasets.params(name)["val_size"] == 5000
    make_idx(tmp_path)  # 10 training samples cannot hold 5000 validation samples
    with pytest.raises(NasbenchError, match="val_size 5000 must be between 1 and 9"):
        load_dataset("mnist", tmp_path)
    with pytest.raises(NasbenchError, match="val_size 10 must be between 1 and 9"):
        load_small("mnist", tmp_path, val_size=10)


# ----------------------------------------------------------------------------------------------
# Missing and corrupt files


@pytest.mark.parametrize("name", FILE_DATASETS)
def test_missing_folder_says_what_to_put_where(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "nowhere"
    with pytest.raises(NasbenchError) as err:
        load_small(name, folder)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{name}: no folder {folder};")
    first = (
        "data_batch_1.bin" if name == "cifar10" else "train.bin" if name == "cifar100" else IDX[0]
    )
    assert f"in {folder}" in message and first in message


@pytest.mark.parametrize("name", FILE_DATASETS)
def test_missing_file_is_named(tmp_path: Path, name: str) -> None:
    WRITERS[name](tmp_path)
    victim = sorted(p for p in tmp_path.iterdir())[-1]
    victim.unlink()
    with pytest.raises(NasbenchError) as err:
        load_small(name, tmp_path)
    message = str(err.value)
    assert message.startswith(f"{name}: missing {victim}")
    assert "\n" not in message and f"in {tmp_path}" in message
    missing_part = message.split(";")[0]
    assert all(f"{p} " not in missing_part for p in tmp_path.iterdir())  # only the missing one


def test_nasbench_data_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_cache()
    monkeypatch.delenv("NASBENCH_DATA", raising=False)
    with pytest.raises(NasbenchError, match=r"cifar10: no data folder; .*set NASBENCH_DATA"):
        load_dataset("cifar10")
    monkeypatch.setenv("NASBENCH_DATA", str(tmp_path))
    with pytest.raises(NasbenchError) as err:
        datasets.create("cifar10").load()
    assert f"no folder {tmp_path / 'cifar10'}" in str(err.value)
    assert "$NASBENCH_DATA/cifar10" in str(err.value)
    _, y_train, *_ = make_cifar10(tmp_path / "cifar10")
    data = datasets.create("cifar10", val_size=3).load()
    np.testing.assert_array_equal(data.val.y, y_train[-3:])


def _truncate(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


CORRUPTIONS = {
    "cifar10 truncated": (
        "cifar10",
        "data_batch_3.bin",
        lambda p: _truncate(p, 3073 + 100),
        "truncated or not the binary version",
    ),
    "cifar10 empty": (
        "cifar10",
        "test_batch.bin",
        lambda p: _truncate(p, 0),
        "truncated or not the binary version",
    ),
    "cifar10 label": (
        "cifar10",
        "data_batch_2.bin",
        lambda p: p.write_bytes(b"\x0c" + p.read_bytes()[1:]),
        "label 12 outside 0..9",
    ),
    "cifar100 fine label": (
        "cifar100",
        "test.bin",
        lambda p: p.write_bytes(b"\x00\x64" + p.read_bytes()[2:]),
        "label 100 outside 0..99",
    ),
    "idx truncated": (
        "mnist",
        IDX[2],
        lambda p: _truncate(p, 16 + 28 * 28 * 2 + 5),
        "truncated or corrupt",
    ),
    "idx magic": (
        "mnist",
        IDX[1],
        lambda p: p.write_bytes(b"\x00\x00\x08\x03" + p.read_bytes()[4:]),
        "not an idx file",
    ),
    "idx label count": ("fashion_mnist", IDX[3], lambda p: write_idx(p, np.zeros(2)), "2 labels"),
    "idx shape": (
        "mnist",
        IDX[0],
        lambda p: write_idx(p, np.zeros((10, 27, 28))),
        "expected (N, 28, 28)",
    ),
    "idx label value": (
        "mnist",
        IDX[1],
        lambda p: write_idx(p, np.full(10, 10)),
        "label 10 outside 0..9",
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupt_file_is_named(tmp_path: Path, case: str) -> None:
    name, file, corrupt, reason = CORRUPTIONS[case]
    WRITERS[name](tmp_path)
    corrupt(tmp_path / file)
    with pytest.raises(NasbenchError) as err:
        load_small(name, tmp_path)
    assert str(tmp_path / file) in str(err.value) and reason in str(err.value)


@pytest.mark.parametrize("payload", [b"not gzip at all", gzip.compress(b"\x00" * 100)[:20]])
def test_corrupt_gzip_is_named(tmp_path: Path, payload: bytes) -> None:
    make_idx(tmp_path, gz=True)
    bad = tmp_path / (IDX[0] + ".gz")
    bad.write_bytes(payload)
    with pytest.raises(NasbenchError, match=f"mnist: cannot read {bad}"):
        load_small("mnist", tmp_path, val_size=2)


# ----------------------------------------------------------------------------------------------
# Cache, read-only arrays, validation


def test_load_dataset_caches_per_name_and_root(tmp_path: Path) -> None:
    clear_cache()
    first = load_dataset("digits")
    assert load_dataset("digits") is first
    clear_cache()
    again = load_dataset("digits")
    assert again is not first
    np.testing.assert_array_equal(again.train.x, first.train.x)
    for split in (first.train, first.val, first.test):
        assert not split.x.flags.writeable and not split.y.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        first.train.x[0] += 1


def test_load_dataset_cache_key_includes_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_cache()
    monkeypatch.delenv("NASBENCH_DATA", raising=False)
    _, ya, _, _ = make_idx(tmp_path / "a", seed=1, n=5003)  # the default val_size is 5000
    _, yb, _, _ = make_idx(tmp_path / "b", seed=2, n=5001)
    a = load_dataset("mnist", tmp_path / "a")
    b = load_dataset("mnist", str(tmp_path / "b"))
    assert (len(a.train), len(a.val), len(b.train), len(b.val)) == (3, 5000, 1, 5000)
    np.testing.assert_array_equal(a.val.y, ya[3:])
    np.testing.assert_array_equal(b.val.y, yb[1:])
    assert load_dataset("mnist", str(tmp_path / "a")) is a
    monkeypatch.setenv("NASBENCH_DATA", str(tmp_path))  # part of the key: no stale dataset
    assert load_dataset("mnist", tmp_path / "a") is not a
    clear_cache()


def test_split_and_dataset_validate_their_arrays() -> None:
    x = np.zeros((4, 1, 40), np.float32)
    y = np.zeros(4, np.int64)
    with pytest.raises(NasbenchError, match="float32"):
        Split(x.astype(np.float64), y)
    with pytest.raises(NasbenchError, match="int64"):
        Split(x, y[:3])
    ok = Split(x, y)
    assert len(ok) == 4
    with pytest.raises(NasbenchError, match=r"mnist1d train x \(1, 41\)"):
        Dataset("mnist1d", task_for("mnist1d"), Split(np.zeros((4, 1, 41), np.float32), y), ok, ok)
    with pytest.raises(NasbenchError, match=r"labels outside 0\.\.9"):
        Dataset("mnist1d", task_for("mnist1d"), ok, Split(x, y + 10), ok)


def test_mnist1d_cache_is_written_read_back_and_replaced_when_corrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib.metadata import version

    import nasbench.training.datasets as ds

    monkeypatch.setenv(ds.CACHE_ENV, str(tmp_path / "cache"))
    made = generate_mnist1d()
    first = ds.mnist1d_arrays()  # generated and stored
    path = tmp_path / "cache" / f"mnist1d-{version('mnist1d')}.npz"
    assert path.is_file() and sorted(p.name for p in path.parent.iterdir()) == [path.name]

    def no_generation() -> dict:
        raise AssertionError("generated although the cache holds the arrays")

    monkeypatch.setattr(ds, "generate_mnist1d", no_generation)
    second = ds.mnist1d_arrays()
    for key in ("x", "y", "x_test", "y_test"):
        np.testing.assert_array_equal(first[key], made[key])
        np.testing.assert_array_equal(second[key], made[key])
        assert second[key].dtype == made[key].dtype
    calls = []
    monkeypatch.setattr(ds, "generate_mnist1d", lambda: calls.append(1) or made)
    for corrupt in (b"PK\x03\x04 truncated", b"not a zip file"):
        path.write_bytes(corrupt)
        again = ds.mnist1d_arrays()
        np.testing.assert_array_equal(again["x"], made["x"])
    assert len(calls) == 2
    np.savez(path, x=made["x"][:10], y=made["y"], x_test=made["x_test"], y_test=made["y_test"])
    ds.mnist1d_arrays()  # wrong shape: regenerated and replaced
    assert len(calls) == 3 and np.load(path)["x"].shape == (4000, 40)
    monkeypatch.setenv(ds.CACHE_ENV, "off")
    ds.mnist1d_arrays()
    assert len(calls) == 4
