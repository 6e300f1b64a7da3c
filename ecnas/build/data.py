"""Datasets of the build profiles, read from local files only (never downloaded, never unpickled).

- digits: scikit-learn's bundled 8x8 grey digits (1,797 images, a CSV inside the wheel), split
  seeded and stratified into train/validation/test and standardised with the training statistics.
- CIFAR-10: the *binary* layout (``data_batch_1.bin`` … ``data_batch_5.bin``, ``test_batch.bin``;
  each record = 1 label byte + 3,072 pixel bytes, channel-major 32x32) read natively with numpy.
  The python layout (``data_batch_1`` …) is a pickle; ecnas never unpickles, so it is refused with
  a message pointing at the binary download.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecnas.errors import EcnasError

__all__ = ["CIFAR10_MEAN", "CIFAR10_STD", "DataSplits", "load_cifar10_binary", "load_digits_splits"]

#: Per-channel statistics of CIFAR-10 used by NB101 (pixel scale 0..255).
CIFAR10_MEAN = (125.31, 122.95, 113.87)
CIFAR10_STD = (62.99, 62.09, 66.70)
_CIFAR_RECORD = 1 + 3 * 32 * 32


@dataclass(frozen=True)
class DataSplits:
    """Train/validation/test images (float32 `N x C x H x W`, already normalised) and int64 labels."""

    train_x: np.ndarray
    train_y: np.ndarray
    valid_x: np.ndarray
    valid_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    description: str

    @property
    def sizes(self) -> tuple[int, int, int]:
        """Numbers of train, validation and test images."""
        return len(self.train_y), len(self.valid_y), len(self.test_y)


def _stratified_split(labels: np.ndarray, sizes: tuple[int, int, int], seed: int) -> list[np.ndarray]:
    """Indices of three disjoint, class-stratified parts with the given sizes.

    Each class is shuffled with ``default_rng(seed)``; part *p* takes about ``size_p x class share`` images
    of every class (largest-remainder rounding, so the part has exactly ``size_p`` images).
    """
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    pools = [rng.permutation(np.flatnonzero(labels == c)) for c in classes]
    share = np.array([len(pool) for pool in pools], dtype=float) / len(labels)
    used = np.zeros(len(classes), dtype=int)
    parts: list[np.ndarray] = []
    for size in sizes:
        quota = share * size
        take = np.floor(quota).astype(int)
        order = np.argsort(-(quota - take), kind="stable")
        available = np.array([len(pool) for pool in pools]) - used
        take = np.minimum(take, available)
        for k in itertools.cycle(order):
            if take.sum() >= size:
                break
            if take[k] < available[k]:
                take[k] += 1
        parts.append(np.sort(np.concatenate([pool[u : u + t] for pool, u, t in zip(pools, used, take, strict=True)])))
        used += take
    return parts


def load_digits_splits(sizes: tuple[int, int, int] = (1077, 360, 360), seed: int = 0) -> DataSplits:
    """scikit-learn's digits, split stratified and seeded, standardised with training-set statistics.

    Args:
        sizes: numbers of train, validation and test images (sum ≤ 1,797).
        seed: seed of the split.

    Returns:
        Splits with images of shape `N x 1 x 8 x 8`.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float32)
    labels = np.asarray(bunch.target, dtype=np.int64)
    if sum(sizes) > len(labels) or min(sizes) < 1:
        raise ValueError(
            f"split_sizes must be three positive counts summing to at most {len(labels)}, got {tuple(sizes)}."
        )
    train, valid, test = _stratified_split(labels, sizes, seed)
    mean = float(images[train].mean())
    std = float(images[train].std()) or 1.0
    images = ((images - mean) / std)[:, None, :, :]
    return DataSplits(
        images[train],
        labels[train],
        images[valid],
        labels[valid],
        images[test],
        labels[test],
        description=f"scikit-learn digits 8x8 grey, split {sizes[0]}/{sizes[1]}/{sizes[2]} "
        f"stratified seed {seed}, standardised (mean {mean:.4f}, std {std:.4f})",
    )


def _read_cifar_batches(files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    chunks = []
    for file in files:
        raw = np.fromfile(file, dtype=np.uint8)
        if raw.size == 0 or raw.size % _CIFAR_RECORD:
            raise EcnasError(
                f"{file} is not a CIFAR-10 binary batch: its size ({raw.size} bytes) is not a multiple of "
                f"{_CIFAR_RECORD} (1 label byte + 3,072 pixel bytes per image)."
            )
        chunks.append(raw.reshape(-1, _CIFAR_RECORD))
    table = np.concatenate(chunks)
    labels = table[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise EcnasError(f"CIFAR-10 labels must be 0..9, found {int(labels.max())} in {[str(f) for f in files]}.")
    return table[:, 1:].reshape(-1, 3, 32, 32), labels


def find_cifar10_binary(data_dir: str | os.PathLike[str]) -> Path:
    """The folder holding CIFAR-10's binary batches (``data_dir`` or its ``cifar-10-batches-bin``).

    Raises:
        EcnasError: when the folder is missing, holds the python (pickle) layout, or lacks a batch.
    """
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise EcnasError(
            f"CIFAR-10 data_dir {str(root)!r} does not exist. Download the binary version "
            "(cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html), extract it and pass "
            "the folder with data_batch_1.bin … test_batch.bin as data_dir. ecnas never downloads data."
        )
    for candidate in (root, root / "cifar-10-batches-bin"):
        if (candidate / "data_batch_1.bin").is_file():
            root = candidate
            break
    else:
        if (root / "data_batch_1").is_file() or (root / "cifar-10-batches-py").is_dir():
            raise EcnasError(
                f"{str(root)!r} holds the python (pickle) layout of CIFAR-10; ecnas does not unpickle files. "
                "Download the binary version (cifar-10-binary.tar.gz) and pass its folder as data_dir."
            )
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    missing = [name for name in names if not (root / name).is_file()]
    if missing:
        raise EcnasError(
            f"CIFAR-10 data_dir {str(root)!r} lacks {', '.join(missing)}; it must hold the binary layout "
            "(data_batch_1.bin … data_batch_5.bin and test_batch.bin)."
        )
    return root


def load_cifar10_binary(data_dir: str | os.PathLike[str], validation_size: int = 10_000) -> DataSplits:
    """CIFAR-10 from the binary layout: train = first 50k−``validation_size``, validation = the rest.

    Images are normalised per channel with NB101's mean/std and kept as float32 `N x 3 x 32 x 32`.
    """
    root = find_cifar10_binary(data_dir)
    train_files = [root / f"data_batch_{i}.bin" for i in range(1, 6)]
    images, labels = _read_cifar_batches(train_files)
    test_images, test_labels = _read_cifar_batches([root / "test_batch.bin"])
    if not 0 < validation_size < len(labels):
        raise ValueError(
            f"validation_size must be between 1 and {len(labels) - 1} (the training batches hold {len(labels)} "
            f"images), got {validation_size}."
        )
    mean = np.asarray(CIFAR10_MEAN, dtype=np.float32)[None, :, None, None]
    std = np.asarray(CIFAR10_STD, dtype=np.float32)[None, :, None, None]

    def norm(x: np.ndarray) -> np.ndarray:
        return ((x.astype(np.float32) - mean) / std).astype(np.float32)

    cut = len(labels) - validation_size
    return DataSplits(
        norm(images[:cut]),
        labels[:cut],
        norm(images[cut:]),
        labels[cut:],
        norm(test_images),
        test_labels,
        description=f"CIFAR-10 binary from {root}: {cut} train / {validation_size} validation / "
        f"{len(test_labels)} test, per-channel normalisation (NB101 mean/std)",
    )
