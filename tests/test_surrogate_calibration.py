"""Calibrated standard deviation and cross-fitted out-of-fold predictions of the MLP surrogate."""

from __future__ import annotations

import numpy as np
import pytest

from ecnas.surrogate import MLPSurrogate, StdCalibration, coverage, fit_std_calibration
from tests.reference import reference_file


def test_scale_recovers_a_known_noise_level_and_covers_nominal_on_new_data():
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.5, 2.0, 6000)
    truth = rng.normal(0.0, 2.0 * raw)  # the true std is twice the raw spread, no floor
    calibration = fit_std_calibration(truth[:3000], np.zeros(3000), raw[:3000])
    assert np.median(np.abs(calibration.apply(raw) / (2.0 * raw) - 1)) < 0.1  # the known std, within 10%
    assert calibration.coverage_before["68"] < 0.45  # the raw spread under-covers
    after = coverage(truth[3000:], np.zeros(3000), calibration.apply(raw[3000:]))
    assert after["68"] == pytest.approx(0.6827, abs=0.025) and after["95"] == pytest.approx(0.95, abs=0.015)


def test_floor_recovers_homoscedastic_noise_and_a_single_network():
    rng = np.random.default_rng(1)
    truth = rng.normal(0.0, 0.3, 4000)
    calibration = fit_std_calibration(truth, np.zeros(4000), np.zeros(4000))  # no spread at all
    assert calibration.scale == 0 and calibration.floor == pytest.approx(0.3, rel=0.08)
    mixed = rng.normal(0.0, np.sqrt((1.5 * 0.2) ** 2 + 0.4**2), 4000)
    fitted = fit_std_calibration(mixed, np.zeros(4000), np.full(4000, 0.2))
    assert np.sqrt((fitted.scale * 0.2) ** 2 + fitted.floor**2) == pytest.approx(0.5, rel=0.08)


def test_calibration_json_round_trip_and_errors():
    calibration = StdCalibration("scale-floor", 1.5, 0.25, 10, {"68": 0.5, "95": 0.8}, {"68": 0.68, "95": 0.95})
    assert StdCalibration.from_json(calibration.to_json()) == calibration
    assert np.allclose(calibration.apply([0.0, 1.0]), [0.25, np.sqrt(1.5**2 + 0.25**2)])
    with pytest.raises(ValueError, match="method must be one of"):
        fit_std_calibration(np.zeros(20), np.zeros(20), np.ones(20), method="isotonic")
    with pytest.raises(ValueError, match="at least 10"):
        fit_std_calibration(np.zeros(3), np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="invalid calibration"):
        StdCalibration.from_json({"method": "scale", "scale": -1, "floor": 0})


def _outlier_data(n: int = 60, seed: int = 3):
    rng = np.random.default_rng(seed)
    features = rng.uniform(0, 1, (n, 4))
    targets = features.sum(axis=1)
    targets[7] += 30.0  # one row far off: models trained on it are pulled towards it, the others are not
    return features, targets


def test_out_of_fold_prediction_never_comes_from_a_model_trained_on_the_row():
    features, targets = _outlier_data()
    model = MLPSurrogate(
        seed=0, n_members=5, holdout="folds", loss="mse", max_epochs=150, batch_size=16, target_transform="standard"
    ).fit(features, targets)
    members = model.predict_members(features[7:8])[:, 0]
    oof, std = model.predict_out_of_fold(features)
    assert np.isfinite(oof).all() and np.isfinite(std).all() and (std > 0).all()
    # exactly one member held row 7 out; its prediction is the out-of-fold value, far below the outlier
    held_out = int(np.argmin(np.abs(members - oof[7])))
    assert oof[7] == pytest.approx(members[held_out])
    others = np.delete(members, held_out)
    assert oof[7] < targets[7] - 20 and np.all(others > oof[7] + 5)  # in-sample members fit the outlier
    assert model.calibration_ is not None
    mean, calibrated = model.predict(features, return_std=True)
    assert np.allclose(calibrated, model.calibration_.apply(model.predict_members(features).std(axis=0), ensemble=True))
    assert (calibrated <= std + 1e-12).all()  # the ensemble mean errs less than one held-out member


def test_random_holdout_covers_only_held_out_rows_and_loaded_models_keep_the_calibration(tmp_path):
    features, targets = _outlier_data(40)
    model = MLPSurrogate(seed=1, n_members=2, max_epochs=5, patience=None).fit(features, targets)
    oof, _ = model.predict_out_of_fold(features)
    assert np.isnan(oof).any() and np.isfinite(oof).any()
    folds = MLPSurrogate(seed=1, n_members=2, max_epochs=5, holdout="folds").fit(features, targets)
    folds.save(tmp_path / "m.h5")
    loaded = MLPSurrogate.load(tmp_path / "m.h5")
    assert loaded.calibration_ == folds.calibration_
    assert np.array_equal(loaded.predict(features, return_std=True)[1], folds.predict(features, return_std=True)[1])
    with pytest.raises(ValueError, match="n_members >= 2"):
        MLPSurrogate(n_members=1, holdout="folds").fit(features, targets)


@pytest.mark.slow
def test_calibrated_coverage_on_ecnas_held_out_cells():
    """EC-NAS's 7-vertex energies, seed 0 split: calibrated ±1σ/±1.96σ within 4 points of 68%/95%."""
    from ecnas.spaces import get_space
    from ecnas.surrogate import read_measurements_csv

    path = reference_file("surrogate_7v_train.csv")
    cells = read_measurements_csv(path)
    space = get_space("nb101")
    columns = space.encode(list(cells.specs))
    x = space.surrogate_features(columns, cells.trainable_parameters)
    order = np.random.default_rng(1000).permutation(len(x))
    test, train = order[: round(0.2 * len(x))], order[round(0.2 * len(x)) :]
    model = MLPSurrogate(seed=0, holdout="folds", lr_schedule="cosine").fit(x[train], cells.targets[train])
    mean, std = model.predict(x[test], return_std=True)
    held_out = coverage(cells.targets[test], mean, std)
    assert held_out["68"] == pytest.approx(0.6827, abs=0.04) and held_out["95"] == pytest.approx(0.95, abs=0.04)
