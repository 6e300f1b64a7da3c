"""Tampered surrogate files are refused: checksums on every dataset and parameter; fill refuses NaN/inf."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from ecnas._io import ATTRIBUTES_DIGEST, tree_sha256
from ecnas.build.fill import predict_space
from ecnas.build.fit import fit_surrogates
from ecnas.errors import TableFormatError
from ecnas.surrogate import MLPSurrogate, SurrogateBundle
from tests.test_fill import FAST, TINY_NET, make_records, small_cells

MODEL = "surrogate/energy_kwh/budget_4"


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("surrogate")
    records = make_records(small_cells()[:24], budgets=(4,), repeats=1)
    fit_surrogates(
        records,
        metrics=["energy_kwh"],
        seed=0,
        surrogate_params=FAST,
        network_options=TINY_NET,
        out_path=folder / "s.h5",
        progress=False,
    )
    return folder / "s.h5"


def _attr(name, change):
    def edit(h5):
        h5[MODEL].attrs[name] = change(h5[MODEL].attrs[name])

    return edit


def _provenance(key, value):
    def edit(h5):
        provenance = json.loads(h5.attrs["provenance"])
        provenance[key] = value
        h5.attrs["provenance"] = json.dumps(provenance)

    return edit


def _data(name, change):
    def edit(h5):
        h5[name][...] = change(h5[name][()])

    return edit


TAMPERING = {
    "target_scale x1000": _attr("target_scale", lambda v: v * 1000),
    "target_scale nan": _attr("target_scale", lambda v: np.nan),
    "target_offset -1": _attr("target_offset", lambda v: -1.0),
    "params changed": _attr("params", lambda v: v.replace('"gelu"', '"relu"')),
    "activation attribute": _attr("activation", lambda v: "relu"),
    "weight sha256 deleted": lambda h5: h5[f"{MODEL}/layer_0/weight"].attrs.__delitem__("sha256"),
    "weight changed": _data(f"{MODEL}/layer_0/weight", lambda w: w * 1.01),
    "input_offset changed": _data(f"{MODEL}/input_offset", lambda w: w + 1),
    "measured energy changed": _data("measured/metrics/energy_kwh", lambda w: w * 2),
    "measured sha256 deleted": lambda h5: h5["measured/metrics/energy_kwh"].attrs.__delitem__("sha256"),
    "provenance intensity": _provenance("carbon_intensity", 3000.0),
    "provenance network": _provenance("network", "stem"),
    "budgets": lambda h5: h5.attrs.__setitem__("budgets", np.array([12])),
    "bundle digest deleted": lambda h5: h5.attrs.__delitem__(ATTRIBUTES_DIGEST),
    "model digest deleted": lambda h5: h5[MODEL].attrs.__delitem__(ATTRIBUTES_DIGEST),
}


def _tampered(bundle_path, tmp_path, edit, *, restamp=False):
    path = tmp_path / "tampered.h5"
    path.write_bytes(bundle_path.read_bytes())
    with h5py.File(path, "r+") as h5:
        edit(h5)
        if restamp:  # a writer that recomputed every digest: only value checks are left
            h5[MODEL].attrs[ATTRIBUTES_DIGEST] = tree_sha256(h5[MODEL])
            h5.attrs[ATTRIBUTES_DIGEST] = tree_sha256(h5)
    return path


def test_intact_bundle_loads(bundle_path):
    bundle = SurrogateBundle.load(bundle_path)
    assert set(bundle.models) == {("energy_kwh", 4)}


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_tampered_bundle_is_refused(bundle_path, tmp_path, name):
    path = _tampered(bundle_path, tmp_path, TAMPERING[name])
    with pytest.raises(TableFormatError):
        SurrogateBundle.load(path)


@pytest.mark.parametrize("name", ["target_scale nan", "provenance network", "budgets", "weight sha256 deleted"])
def test_restamped_bad_values_are_still_refused(bundle_path, tmp_path, name):
    path = _tampered(bundle_path, tmp_path, TAMPERING[name], restamp=True)
    with pytest.raises(TableFormatError):
        SurrogateBundle.load(path)


def test_malformed_params_are_clear_errors(bundle_path, tmp_path):
    for params in ["[]", '{"seed": 0}', "[" * 50_000 + "]" * 50_000, '{"hidden_layers": 5}']:
        path = _tampered(bundle_path, tmp_path, _attr("params", lambda v, p=params: p), restamp=True)
        with h5py.File(path, "r") as h5, pytest.raises(TableFormatError, match="params"):
            MLPSurrogate.load(h5[MODEL])


def test_fill_refuses_non_finite_predictions(bundle_path, monkeypatch):
    bundle = SurrogateBundle.load(bundle_path)
    model = bundle.models[("energy_kwh", 4)]

    def broken(features, return_std=False):
        mean = np.full(len(features), np.inf)
        return (mean, np.zeros_like(mean)) if return_std else mean

    monkeypatch.setattr(model, "predict", broken)
    features = np.stack([spec.features() for spec in small_cells()[:5]])
    with pytest.raises(TableFormatError, match="NaN or inf"):
        predict_space(bundle, features)
