"""Tampered surrogate files are refused: checksums on every dataset and parameter; fill refuses NaN/inf."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from ecnas.build.fill import predict_space
from ecnas.errors import TableFormatError
from ecnas.surrogate import MLPSurrogate, SurrogateBundle
from tests.integrity_cases import (
    SURROGATE_MODEL,
    SURROGATE_RESTAMPED,
    SURROGATE_TAMPERING,
    fit_small_bundle,
    tampered,
)
from tests.test_fill import small_cells


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory):
    return fit_small_bundle(tmp_path_factory.mktemp("surrogate") / "s.h5")


def _tampered(bundle_path, tmp_path, edit, *, restamp=False):
    return tampered(bundle_path, tmp_path, edit, restamp=restamp)


def test_intact_bundle_loads(bundle_path):
    bundle = SurrogateBundle.load(bundle_path)
    assert set(bundle.models) == {("energy_kwh", 4)}


@pytest.mark.parametrize("name", sorted(SURROGATE_TAMPERING))
def test_tampered_bundle_is_refused(bundle_path, tmp_path, name):
    path = _tampered(bundle_path, tmp_path, SURROGATE_TAMPERING[name])
    with pytest.raises(TableFormatError):
        SurrogateBundle.load(path)


@pytest.mark.parametrize("name", SURROGATE_RESTAMPED)
def test_restamped_bad_values_are_still_refused(bundle_path, tmp_path, name):
    path = _tampered(bundle_path, tmp_path, SURROGATE_TAMPERING[name], restamp=True)
    with pytest.raises(TableFormatError):
        SurrogateBundle.load(path)


def test_malformed_params_are_clear_errors(bundle_path, tmp_path):
    for params in ["[]", '{"seed": 0}', "[" * 50_000 + "]" * 50_000, '{"hidden_layers": 5}']:
        path = _tampered(bundle_path, tmp_path, _params(params), restamp=True)
        with h5py.File(path, "r") as h5, pytest.raises(TableFormatError, match="params"):
            MLPSurrogate.load(h5[SURROGATE_MODEL])


def _params(text):
    def edit(h5):
        h5[SURROGATE_MODEL].attrs["params"] = text

    return edit


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
