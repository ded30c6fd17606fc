"""The trust gate: no phantom buildings on imagery unlike the training towns, kept ones on a town, honest numbers."""

import json

import numpy as np
import pytest

from reconstruction.config import PipelineConfig
from reconstruction.metrics.calibration import building_area_scores, reliability
from reconstruction.pipeline import PipelineInputs, run_pipeline
from reconstruction.prediction.predict import predict_area
from reconstruction.prediction.trust import TrustCalibration, gate
from reconstruction.prediction.trust_report import TrustReport, merge_reports
from reconstruction.prediction.weights import load_weights
from reconstruction.synthetic import SceneConfig, generate_scene, write_scene
from reconstruction.training.samples import samples_from_scene

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def shipped():
    model, info = load_weights("citynet-v1")
    assert isinstance(info.trust, TrustCalibration), "citynet-v1 ships with its trust calibration"
    return model, info


def _gated(shipped, rgb):
    model, info = shipped
    raw = predict_area(model, info, rgb, 0.5, device="cpu")
    return raw, *gate(raw, info.trust, 0.5)


def _images():
    rng = np.random.default_rng(0)
    asphalt = np.broadcast_to(np.array([92, 92, 96], np.uint8)[:, None, None], (3, 160, 160)).copy()
    noise = rng.integers(0, 256, (3, 160, 160), dtype=np.uint8)
    field = np.broadcast_to(np.array([196, 170, 135], np.uint8)[:, None, None], (3, 160, 160)).copy()
    field = np.clip(field + rng.normal(0, 6, field.shape), 0, 255).astype(np.uint8)  # bare soil
    return {"asphalt": asphalt, "noise": noise, "bare soil": field}


@pytest.mark.parametrize("kind", ["asphalt", "noise", "bare soil"])
def test_no_building_survives_on_imagery_unlike_the_towns(shipped, kind):
    raw, gated, report = _gated(shipped, _images()[kind])
    assert not (gated.asprs == 6).any()
    assert np.all(gated.height[gated.asprs == 2] == 0.0)
    if kind == "noise":  # its features are nearer the towns' (shift 1.65), but its "buildings" are not trusted
        assert report.removed_building_m2 > 500
    else:
        assert report.untrusted_share > 0.5 and report.shift_score > 2.0
    assert report.removed_building_m2 == pytest.approx((raw.asprs == 6).sum() * 0.25)
    assert f"{report.untrusted_share:.0%} of the area" in report.warning("citynet-v1 1.0")


def test_buildings_of_a_generated_town_are_kept(shipped):
    sample = samples_from_scene(generate_scene(SceneConfig(size_m=100.0, gsd_m=0.5, ortho_gsd_m=0.25, seed=201)))[0]
    rgb = np.clip(np.rint(sample.image[:3] * 255), 0, 255).astype(np.uint8)
    raw, gated, report = _gated(shipped, rgb)
    truth = sample.labels == 2
    before = building_area_scores(raw.asprs == 6, truth, 0.25)
    after = building_area_scores(gated.asprs == 6, truth, 0.25)
    assert before.predicted_m2 > 500
    assert after.predicted_m2 > 0.95 * before.predicted_m2 and after.precision > 0.9
    assert report.untrusted_share < 0.1 and report.shift_score < 1.5


def test_an_orthophoto_only_run_says_what_the_gate_did(tmp_path):
    scene = generate_scene(SceneConfig(size_m=60, seed=778))
    files = write_scene(scene, tmp_path / "scene")
    result = run_pipeline(PipelineInputs(ortho=files["ortho"]), PipelineConfig(), tmp_path / "out", lambda *r: None)
    trust = json.loads((tmp_path / "out" / "manifest.json").read_text())["prediction"]["trust"]
    assert {"shift_score", "untrusted_share", "removed_building_m2", "tuned_on"} <= set(trust)
    assert trust["tuned_on"] == "ign_rural" and 0.0 <= trust["untrusted_share"] <= 1.0
    assert any(f"distribution-shift score {trust['shift_score']:.2f}" in w for w in result.warnings)


def test_the_calibration_round_trips(tmp_path, shipped):
    calibration = shipped[1].trust
    again = TrustCalibration.load(calibration.save(tmp_path / "c.trust.npz"))
    assert again.max_distance == calibration.max_distance and again.tuned_on == calibration.tuned_on
    assert np.array_equal(again.precision, calibration.precision)


def test_reliability_of_a_calibrated_and_an_overconfident_classifier():
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.2, 1.0, 20000)
    honest = rng.uniform(size=confidence.size) < confidence
    assert reliability(confidence, honest).ece < 0.02
    assert reliability(np.full(confidence.size, 0.99), honest).ece > 0.3


def test_a_chipped_area_s_trust_is_its_chips_areas_summed_and_its_worst_chip_named():
    def chip(score: float, untrusted: float, covered: float, removed: float, kept: float) -> dict:
        report = TrustReport(score, untrusted / covered, untrusted, covered, removed, kept, 2.5, "IGN rural")
        return report.to_dict()

    familiar, unlike = chip(1.1, 0.0, 3000.0, 0.0, 400.0), chip(4.0, 900.0, 1000.0, 250.0, 10.0)
    merged = merge_reports([familiar, None, unlike, {"shift_score": None}])  # measured heights: no gate there
    assert merged["chips"] == 2
    assert merged["covered_m2"] == 4000.0 and merged["untrusted_m2"] == 900.0
    assert merged["untrusted_share"] == pytest.approx(900 / 4000, abs=1e-3)
    assert (merged["removed_building_m2"], merged["kept_building_m2"]) == (250.0, 410.0)
    assert merged["shift_score"] == 1.1, "the score of most of the area (weighted by area), not the mean"
    assert merged["worst_chip_shift_score"] == 4.0
    assert (merged["max_distance"], merged["tuned_on"]) == (2.5, "IGN rural")
    assert merge_reports([None, {}]) is None
    assert set(TrustReport(**{k: v for k, v in familiar.items()}).to_dict()) <= set(merged)
