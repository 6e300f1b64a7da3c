"""Calibrated standard deviation and cross-fitted out-of-fold predictions of the MLP surrogate."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ecnas.surrogate import (
    MLPSurrogate,
    StdCalibration,
    conformal_quantile,
    coverage,
    fit_std_calibration,
    split_conformal,
)
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
    model = MLPSurrogate(seed=0, holdout="folds", lr_schedule="cosine", calibration_fraction=0.2).fit(
        x[train], cells.targets[train]
    )
    mean, std = model.predict(x[test], return_std=True)
    held_out = coverage(cells.targets[test], mean, std, z95=model.calibration_.z(0.95))
    assert held_out["68"] == pytest.approx(0.6827, abs=0.04) and held_out["95"] == pytest.approx(0.95, abs=0.04)
    assert model.calibration_.source == "split-conformal" and model.calibration_.z(0.95) > 2.0  # heavy tails


def test_conformal_quantile_takes_the_finite_sample_rank():
    scores = np.arange(1.0, 10.0)[::-1]  # 9 scores 1..9 in any order
    assert conformal_quantile(scores, 0.5) == 5.0  # ceil(10 * 0.5) = 5th smallest
    assert conformal_quantile(scores, 0.6827) == 7.0  # ceil(6.827) = 7
    assert conformal_quantile(scores, 0.95) == 9.0  # ceil(9.5) = 10 > 9: the largest
    with pytest.raises(ValueError, match="at least one"):
        conformal_quantile([], 0.5)


def test_split_conformal_recovers_laplace_quantiles_and_covers_new_data():
    """Laplace errors of scale b: |e| has P(|e| <= t) = 1 - exp(-t/b), so the 68.27% quantile is
    b·ln(1/0.3173) = 1.1478·b and the 95% one b·ln 20 = 2.9957·b: ensemble_scale = 1.1478·b / σ_cal and
    ensemble_z95 = 2.9957 / 1.1478 = 2.610 — heavier-tailed than a Gaussian's 1.96."""
    rng = np.random.default_rng(5)
    b = 0.5
    unit = StdCalibration("scale-floor", 0.0, 1.0)  # σ_cal = 1 everywhere
    truth = rng.laplace(0.0, b, 40_000)
    conformal = split_conformal(unit, truth[:20_000], np.zeros(20_000), np.ones(20_000))
    assert conformal.source == "split-conformal" and conformal.n_split == 20_000
    assert conformal.ensemble_scale == pytest.approx(1.1478 * b, rel=0.02)
    assert conformal.z(0.95) == pytest.approx(2.610, rel=0.02)
    assert conformal.z(0.6827) == 1.0 and unit.z(0.95) == pytest.approx(1.96, abs=1e-3)
    std = conformal.apply(np.ones(20_000), ensemble=True)
    assert np.allclose(std, 1.1478 * b, rtol=0.02) and np.allclose(conformal.apply(np.ones(3)), 1.0)  # oof: σ_cal
    new = coverage(truth[20_000:], np.zeros(20_000), std, z95=conformal.z(0.95))
    assert new["68"] == pytest.approx(0.6827, abs=0.01) and new["95"] == pytest.approx(0.95, abs=0.006)
    gaussian = coverage(truth[20_000:], np.zeros(20_000), std)  # 1.96σ would under-cover Laplace errors
    assert gaussian["95"] < 0.92
    assert conformal.held_out_coverage["68"] == pytest.approx(0.6827, abs=0.015)
    assert StdCalibration.from_json(conformal.to_json()) == conformal
    with pytest.raises(ValueError, match="calibrated levels"):
        conformal.z(0.9)
    with pytest.raises(ValueError, match=">= 20 rows"):
        split_conformal(unit, np.zeros(5), np.zeros(5), np.ones(5))
    with pytest.raises(ValueError, match="invalid calibration"):
        StdCalibration.from_json({**conformal.to_json(), "ensemble_z95": -1.0})


def test_calibration_fraction_fits_a_second_ensemble_for_split_conformal_intervals(tmp_path):
    rng = np.random.default_rng(2)
    features = rng.uniform(0, 1, (500, 4))
    targets = features @ np.array([1.0, 2.0, -1.0, 0.5]) + rng.laplace(0.0, 0.2, 500)
    settings = {"seed": 0, "holdout": "folds", "max_epochs": 25, "batch_size": 64, "lr_schedule": "cosine"}
    plain = MLPSurrogate(**settings).fit(features, targets)
    split = MLPSurrogate(**settings, calibration_fraction=0.2).fit(features, targets)
    # the main ensemble is the same fit: the split-conformal step draws from its own stream
    assert np.array_equal(plain.predict(features), split.predict(features))
    assert plain.calibration_.source == "out-of-fold" and plain.calibration_.ensemble_correction
    assert split.calibration_.source == "split-conformal" and split.calibration_.n_split == 100
    assert split.out_of_fold_calibration_ == replace(plain.calibration_, ensemble_correction=False)
    lower, upper = split.predict_interval(features[:10])
    mean, std = split.predict(features[:10], return_std=True)
    assert np.allclose(upper - mean, split.calibration_.z(0.95) * std) and np.allclose(mean - lower, upper - mean)
    split.save(tmp_path / "m.h5")
    loaded = MLPSurrogate.load(tmp_path / "m.h5")
    assert loaded.calibration_ == split.calibration_ and loaded.calibration_fraction == 0.2
    assert np.array_equal(loaded.predict_interval(features[:10])[1], upper)
    few = MLPSurrogate(**settings, calibration_fraction=0.2).fit(features[:100], targets[:100])
    assert few.calibration_.source == "out-of-fold"  # 20 rows: too few to split, the correction instead
    for bad, message in (
        ({"calibration_fraction": 0.6}, "calibration_fraction must be"),
        ({"calibration_fraction": True}, "calibration_fraction must be"),
        ({"calibration_fraction": 0.2, "holdout": "random"}, "needs holdout='folds'"),
    ):
        with pytest.raises(ValueError, match=message):
            MLPSurrogate(**{**settings, **bad}).fit(features, targets)
    with pytest.raises(ValueError, match="no calibration"):
        MLPSurrogate(**settings, calibration="none").fit(features, targets).predict_interval(features)
