import numpy as np
import pytest

from reconstruction.metrics import RasterScores, ssim_map

NAMES = ["ground", "road", "building"]


def _scores(truth, pred, th, ph):
    s = RasterScores(NAMES, building=2)
    s.add(np.array(truth), np.array(pred), np.array(th, dtype=np.float32), np.array(ph, dtype=np.float32))
    return s.report()


def test_perfect_prediction_scores_one_everywhere():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (20, 20))
    height = rng.uniform(0, 20, (20, 20)).astype(np.float32)
    r = _scores(labels, labels, height, height)
    assert r["miou"] == pytest.approx(1.0) and r["overall_accuracy"] == pytest.approx(1.0)
    assert r["miou3"] == pytest.approx(1.0) and all(v == pytest.approx(1.0) for v in r["f1"].values())
    assert r["height_mae_m"] == 0.0 and r["height_rmse_m"] == 0.0
    assert r["height_ssim"] == pytest.approx(1.0)


def test_hand_computed_confusion_and_heights():
    # truth: 0 0 2 2 ; prediction: 0 2 2 2 -> ground IoU 1/2, building IoU 2/3, road absent.
    r = _scores([[0, 0, 2, 2]], [[0, 2, 2, 2]], [[0, 0, 10, 10]], [[0, 3, 10.5, 8]])
    assert r["iou"] == {"ground": pytest.approx(0.5), "road": None, "building": pytest.approx(2 / 3)}
    assert r["f1"]["ground"] == pytest.approx(2 / 3) and r["f1"]["building"] == pytest.approx(0.8)
    assert r["miou"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert r["overall_accuracy"] == pytest.approx(0.75)
    assert r["height_mae_m"] == pytest.approx((0 + 3 + 0.5 + 2) / 4)
    assert r["height_rmse_m"] == pytest.approx(np.sqrt((9 + 0.25 + 4) / 4))
    assert r["building_height_mae_m"] == pytest.approx(1.25) and r["building_height_pixels"] == 2
    # mIoU-3: ground TP 1 (pixel 0) / union 2; building TP 1 (pixel 2; pixel 3 is 2 m off) / union 3.
    assert r["miou3"] == pytest.approx((1 / 2 + 1 / 3) / 2)


def test_ignored_labels_and_unknown_heights_are_left_out():
    r = _scores([[255, 0]], [[2, 0]], [[np.nan, 1.0]], [[5.0, 1.0]])
    assert r["labelled_pixels"] == 1 and r["height_pixels"] == 1
    assert r["miou"] == pytest.approx(1.0) and r["height_mae_m"] == 0.0


def test_ssim_drops_for_a_wrong_structure_but_not_for_a_copy():
    y, x = np.mgrid[0:40, 0:40]
    truth = np.where((x > 10) & (x < 30) & (y > 10) & (y < 30), 15.0, 0.0)
    assert np.nanmean(ssim_map(truth, truth)) == pytest.approx(1.0)
    flat = np.full_like(truth, truth.mean())
    assert np.nanmean(ssim_map(flat, truth)) < 0.5
    holed = truth.copy()
    holed[0, 0] = np.nan
    assert np.isnan(ssim_map(truth, holed)[0, 0]) and np.isfinite(ssim_map(truth, holed)[20, 20])
