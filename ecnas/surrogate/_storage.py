"""HDF5 storage of a fitted :class:`~ecnas.surrogate.MLPSurrogate` (no pickle, readable by any HDF5 tool).

Layout of one surrogate's group (a table's ``/surrogate/<metric>/budget_<b>`` or a file's root):

- attributes: ``format`` (``"ecnas-surrogate"``), ``format_version``, ``model``, ``params`` (JSON of
  the constructor arguments), ``activation``, ``hidden_layers``, ``n_members``, ``input_scaling``,
  ``target_transform``, ``target_offset``, ``target_scale``, ``n_features_in``, ``n_samples_fit``,
  ``best_epochs``, ``validation_mae``, ``metadata`` (JSON, e.g. held-out metrics), ``calibration``
  (JSON of :meth:`~ecnas.surrogate.StdCalibration.to_json`, or ``null``; absent in older files), ``ecnas_version``,
  and ``complete`` written last;
- datasets: ``input_offset`` and ``input_scale`` (float64 `[36]`), and per linear layer ``i``
  ``layer_<i>/weight`` (float32 `[members, fan_in, fan_out]`; output = input @ weight + bias) and
  ``layer_<i>/bias`` (float32 `[members, fan_out]`). Every dataset carries an HDF5 Fletcher-32
  checksum and a ``sha256`` attribute of its bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from ecnas._io import ATTRIBUTES_DIGEST, array_sha256, atomic_h5, tree_sha256
from ecnas.errors import TableFormatError, TableNotFoundError
from ecnas.surrogate._calibration import StdCalibration

if TYPE_CHECKING:
    from ecnas.surrogate._mlp import MLPSurrogate

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load_surrogate", "read_dataset", "save_surrogate", "write_dataset"]

FORMAT_NAME = "ecnas-surrogate"
FORMAT_VERSION = 1


def write_dataset(group: h5py.Group, name: str, data: np.ndarray) -> None:
    dataset = group.create_dataset(name, data=data, fletcher32=True)
    dataset.attrs["sha256"] = array_sha256(data)


def _write_group(model: MLPSurrogate, group: h5py.Group, metadata: dict[str, Any] | None) -> None:
    from ecnas import __version__

    if len(group.keys()) or "format" in group.attrs:
        raise ValueError(f"HDF5 group {group.name!r} is not empty: save a surrogate into a new group")
    attrs = group.attrs
    attrs["format"] = FORMAT_NAME
    attrs["format_version"] = FORMAT_VERSION
    attrs["model"] = type(model).__name__
    attrs["params"] = json.dumps(model.get_params(), sort_keys=True)
    attrs["activation"] = model.activation
    attrs["hidden_layers"] = np.asarray(model.hidden_layers, dtype=np.int64)
    attrs["n_members"] = len(model.layers_[0][0])
    attrs["input_scaling"] = model.input_scaling
    attrs["target_transform"] = model.target_transform
    attrs["target_offset"] = float(model.target_offset_)
    attrs["target_scale"] = float(model.target_scale_)
    attrs["n_features_in"] = int(model.n_features_in_)
    attrs["n_samples_fit"] = int(model.n_samples_fit_)
    attrs["best_epochs"] = np.asarray(model.best_epochs_, dtype=np.int64)
    attrs["validation_mae"] = np.asarray(model.validation_mae_, dtype=np.float64)
    calibration = getattr(model, "calibration_", None)
    attrs["calibration"] = json.dumps(None if calibration is None else calibration.to_json(), sort_keys=True)
    attrs["metadata"] = json.dumps(metadata or {}, sort_keys=True, allow_nan=True)
    attrs["ecnas_version"] = __version__
    write_dataset(group, "input_offset", np.asarray(model.input_offset_, dtype=np.float64))
    write_dataset(group, "input_scale", np.asarray(model.input_scale_, dtype=np.float64))
    for index, (weight, bias) in enumerate(model.layers_):
        layer = group.create_group(f"layer_{index}")
        write_dataset(layer, "weight", np.ascontiguousarray(weight, dtype=np.float32))
        write_dataset(layer, "bias", np.ascontiguousarray(bias[:, 0, :], dtype=np.float32))
    attrs[ATTRIBUTES_DIGEST] = tree_sha256(group)  # every parameter (target_scale, offsets, ...) and sha256
    attrs["complete"] = True


def save_surrogate(model: MLPSurrogate, target: Any, *, metadata: dict[str, Any] | None = None) -> None:
    """Write ``model`` into an open HDF5 group, or into a new file at a path (atomic replace)."""
    if isinstance(target, h5py.Group):
        _write_group(model, target, metadata)
        return
    with atomic_h5(target) as h5:  # built in memory: a full disk is one clean WriteError, never a crash
        _write_group(model, h5, metadata)


def read_dataset(
    group: h5py.Group, name: str, shape: tuple[int, ...], where: str, *, finite: bool = True
) -> np.ndarray:
    if name not in group or not isinstance(group[name], h5py.Dataset):
        raise TableFormatError(f"{where}: dataset {name!r} is missing; the surrogate was not fully written")
    dataset = group[name]
    if dataset.shape != shape:
        raise TableFormatError(f"{where}: dataset {name!r} has shape {dataset.shape}, expected {shape}")
    try:
        data = dataset[()]
    except OSError as error:
        raise TableFormatError(f"{where}: dataset {name!r} cannot be read (checksum or I/O error): {error}") from None
    expected = dataset.attrs.get("sha256")
    if expected is None:
        raise TableFormatError(f"{where}: dataset {name!r} has no sha256 attribute; refusing unverifiable data")
    if array_sha256(data) != expected:
        raise TableFormatError(f"{where}: dataset {name!r} is corrupt (sha256 mismatch)")
    if finite and not np.isfinite(data).all():
        raise TableFormatError(f"{where}: dataset {name!r} holds NaN or inf")
    return data


def _attr(group: h5py.Group, name: str, where: str) -> Any:
    if name not in group.attrs:
        raise TableFormatError(f"{where}: attribute {name!r} is missing; not a complete ecnas surrogate")
    return group.attrs[name]


def _read_group(cls: type[MLPSurrogate], group: h5py.Group) -> MLPSurrogate:
    where = f"{group.file.filename}:{group.name}"
    if group.attrs.get("format") != FORMAT_NAME:
        raise TableFormatError(f"{where}: not an ecnas surrogate (attribute format={group.attrs.get('format')!r})")
    version = int(_attr(group, "format_version", where))
    if version > FORMAT_VERSION:
        raise TableFormatError(
            f"{where}: surrogate format version {version} is newer than this ecnas reads ({FORMAT_VERSION}); "
            "upgrade ecnas"
        )
    if not group.attrs.get("complete", False):
        raise TableFormatError(f"{where}: the surrogate was not completely written (no 'complete' flag)")
    try:
        params = json.loads(_attr(group, "params", where))
        metadata = json.loads(group.attrs.get("metadata", "{}"))
    except (TypeError, ValueError, RecursionError) as error:
        raise TableFormatError(f"{where}: attribute 'params' or 'metadata' is not valid JSON: {error}") from None
    try:
        if not isinstance(params, dict) or not isinstance(metadata, dict):
            raise TypeError("'params' and 'metadata' must be JSON objects")
        params["hidden_layers"] = tuple(params["hidden_layers"])
        model = cls(**params)
        model._validate_params()
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise TableFormatError(f"{where}: stored parameters are invalid: {error!r}") from None
    members = int(_attr(group, "n_members", where))
    n_features = int(_attr(group, "n_features_in", where))
    if n_features < 1:
        raise TableFormatError(f"{where}: n_features_in is {n_features}, expected a positive feature count")
    from ecnas.surrogate._network import layer_sizes

    layers = []
    for index, (fan_in, fan_out) in enumerate(layer_sizes(n_features, model.hidden_layers)):
        name = f"layer_{index}"
        if name not in group:
            raise TableFormatError(f"{where}: group {name!r} is missing; the surrogate was not fully written")
        weight = read_dataset(group[name], "weight", (members, fan_in, fan_out), f"{where}/{name}")
        bias = read_dataset(group[name], "bias", (members, fan_out), f"{where}/{name}")
        layers.append((weight.astype(np.float32), bias.astype(np.float32)[:, None, :]))
    model.input_offset_ = read_dataset(group, "input_offset", (n_features,), where)
    model.input_scale_ = read_dataset(group, "input_scale", (n_features,), where)
    try:
        model.target_offset_ = _finite(_attr(group, "target_offset", where), "target_offset", minimum=-np.inf)
        model.target_scale_ = _finite(_attr(group, "target_scale", where), "target_scale", minimum=0.0)
        model.best_epochs_ = [int(e) for e in np.atleast_1d(_attr(group, "best_epochs", where))]
        model.validation_mae_ = [float(m) for m in np.atleast_1d(_attr(group, "validation_mae", where))]
        model.n_samples_fit_ = int(_attr(group, "n_samples_fit", where))
        stored = json.loads(group.attrs.get("calibration", "null"))
        model.calibration_ = None if stored is None else StdCalibration.from_json(stored)
    except (TypeError, ValueError, OverflowError, RecursionError) as error:
        raise TableFormatError(f"{where}: stored parameters are invalid: {error}") from None
    if not np.isfinite(model.input_scale_).all() or (model.input_scale_ <= 0).any():
        raise TableFormatError(f"{where}: dataset 'input_scale' must be finite and > 0")
    model.n_features_in_ = n_features
    model.metadata_ = metadata
    model.layers_ = layers
    check_group_digest(group, where)  # last, so a missing or corrupt dataset is named first
    return model


def load_surrogate(cls: type[MLPSurrogate], source: Any) -> MLPSurrogate:
    """Read a surrogate from an open HDF5 group or from the root of a file at a path."""
    if isinstance(source, h5py.Group):
        return _read_group(cls, source)
    path = Path(source)
    if not path.is_file():
        raise TableNotFoundError(f"no surrogate file at {str(path)!r}")
    try:
        with h5py.File(path, "r") as h5:
            return _read_group(cls, h5)
    except (OSError, RuntimeError, KeyError) as error:  # h5py on damaged metadata
        raise TableFormatError(f"{path}: not a readable HDF5 file ({error})") from None


def _finite(value: Any, name: str, *, minimum: float) -> float:
    """A stored scalar parameter as a finite float (> ``minimum``), else ValueError naming it."""
    number = float(np.asarray(value).item())
    if not np.isfinite(number) or number <= minimum:
        raise ValueError(f"{name} must be finite and > {minimum:g}, got {number!r}")
    return number


def check_group_digest(group: h5py.Group, where: str) -> None:
    """The group's ``attributes_sha256`` must match its attributes (:func:`ecnas._io.tree_sha256`).

    Raises:
        TableFormatError: the digest is missing or does not match (a parameter or sha256 was changed).
    """
    expected = group.attrs.get(ATTRIBUTES_DIGEST)
    if expected is None:
        raise TableFormatError(
            f"{where}: attribute {ATTRIBUTES_DIGEST!r} is missing; its parameters cannot be verified "
            "(tampered, or written by a pre-release ecnas: refit with `ecnas build fit`)"
        )
    if tree_sha256(group) != expected:
        raise TableFormatError(
            f"{where}: parameters or checksums were changed after writing (attribute checksum mismatch); "
            "refit with `ecnas build fit`"
        )
