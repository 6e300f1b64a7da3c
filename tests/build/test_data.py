from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecnas.build.data import load_cifar10_binary, load_digits_splits
from ecnas.errors import EcnasError


def test_digits_split_sizes_stratified_and_standardised() -> None:
    splits = load_digits_splits((1077, 360, 360), seed=0)
    assert splits.sizes == (1077, 360, 360)
    assert splits.train_x.shape == (1077, 1, 8, 8) and splits.train_x.dtype == np.float32
    assert abs(float(splits.train_x.mean())) < 1e-4 and abs(float(splits.train_x.std()) - 1) < 1e-3
    from sklearn.datasets import load_digits

    share = np.bincount(load_digits().target, minlength=10) / 1797
    for labels in (splits.train_y, splits.valid_y, splits.test_y):
        counts = np.bincount(labels, minlength=10)
        assert np.all(np.abs(counts - share * len(labels)) <= 1.0)  # stratified: class shares kept
    flat = [x.reshape(len(x), -1) for x in (splits.train_x, splits.valid_x, splits.test_x)]
    rows = np.concatenate(flat)
    assert len(np.unique(rows, axis=0)) >= 1790  # disjoint parts (digits has a few exact duplicates)
    again = load_digits_splits((1077, 360, 360), seed=0)
    assert np.array_equal(again.valid_y, splits.valid_y)
    other = load_digits_splits((1077, 360, 360), seed=1)
    assert not np.array_equal(other.valid_y, splits.valid_y)


def test_digits_bad_sizes() -> None:
    with pytest.raises(ValueError, match="split_sizes"):
        load_digits_splits((1500, 300, 300))


def test_cifar_binary_reader(tmp_path: Path, fake_cifar) -> None:
    write_fake_cifar = fake_cifar
    write_fake_cifar(tmp_path / "cifar-10-batches-bin")
    splits = load_cifar10_binary(tmp_path, validation_size=6)  # finds the sub-folder
    assert splits.sizes == (24, 6, 5)
    assert splits.train_x.shape == (24, 3, 32, 32)
    # first red pixel was label*20, normalised with NB101's red mean/std
    expected = (splits.train_y * 20 - 125.31) / 62.99
    assert np.allclose(splits.train_x[:, 0, 0, 0], expected, atol=1e-4)
    assert list(splits.test_y) == [5, 6, 7, 8, 9]


def test_cifar_missing_dir_and_files(tmp_path: Path, fake_cifar) -> None:
    write_fake_cifar = fake_cifar
    with pytest.raises(EcnasError, match="does not exist.*never downloads"):
        load_cifar10_binary(tmp_path / "none")
    write_fake_cifar(tmp_path / "c")
    (tmp_path / "c" / "test_batch.bin").unlink()
    with pytest.raises(EcnasError, match="lacks test_batch.bin"):
        load_cifar10_binary(tmp_path / "c")


def test_cifar_python_layout_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data_batch_1").write_bytes(b"\x80\x04pickle")
    with pytest.raises(EcnasError, match="pickle.*binary version"):
        load_cifar10_binary(tmp_path)


def test_cifar_truncated_batch(tmp_path: Path, fake_cifar) -> None:
    write_fake_cifar = fake_cifar
    write_fake_cifar(tmp_path)
    (tmp_path / "data_batch_3.bin").write_bytes(b"\x01" * 100)
    with pytest.raises(EcnasError, match="not a CIFAR-10 binary batch"):
        load_cifar10_binary(tmp_path, validation_size=5)
