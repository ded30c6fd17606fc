"""register_raster recovers known warps (generated town, Montpellier RGB/IRC, DSM against LiDAR) and refuses clearly."""

import json

import numpy as np
import pytest
import rasterio

from reconstruction.config import RegistrationConfig
from reconstruction.errors import InputError, OverlapError
from reconstruction.registration import register_raster
from reconstruction.synthetic import SceneConfig, generate_scene, write_scene
from reconstruction.synthetic.registration import (
    grid_check_points,
    projective,
    similarity,
    write_lidar_dsm,
    write_off_nadir_view,
    write_shifted,
    write_warped,
)

PLAIN = RegistrationConfig(semantic=False)


def _bounds(path):
    with rasterio.open(path) as src:
        return tuple(src.bounds)


def test_affine_warp_of_a_generated_town_is_recovered(town_files, town_centre, tmp_path):
    truth = similarity(town_centre, angle_deg=3.0, scale=1.02, shift=(1.8, -1.2))
    moving = write_warped(town_files["ortho"], tmp_path / "moving.tif", truth)
    points = grid_check_points(_bounds(moving), truth)
    report = register_raster(town_files["ortho"], moving, tmp_path / "out.tif", cfg=PLAIN, check_points=points)
    assert report.check_points.median_m < 0.25 / 4  # a quarter of a 0.25 m pixel
    assert report.check_points.p90_m < 0.25
    assert report.n_inliers >= 50 and report.rmse_m < 0.25
    assert report.method == "sift+ransac" and report.crs == "EPSG:32631"
    json.dumps(report.to_dict())  # plain JSON
    with rasterio.open(tmp_path / "out.tif") as out, rasterio.open(town_files["ortho"]) as ref:
        assert out.transform == ref.transform and out.shape == ref.shape and out.count == 3
        diff = np.abs(out.read().astype(float) - ref.read().astype(float))[:, 40:-40, 40:-40]
        assert np.median(diff) < 6  # the registered copy lies on the reference


def test_projective_warp_needs_the_projective_model(town_files, town_centre, tmp_path):
    truth = projective(town_centre, 40.0, tilt=0.05, shift=(1.0, 0.5))
    moving = write_warped(town_files["ortho"], tmp_path / "moving.tif", truth)
    points = grid_check_points(_bounds(moving), truth)
    found = register_raster(
        town_files["ortho"], moving, tmp_path / "p.tif", model="projective", cfg=PLAIN, check_points=points
    )
    assert found.check_points.median_m < 0.25 / 2


def test_off_nadir_view_registers_on_the_ground(town, town_files, town_centre, tmp_path):
    truth = similarity(town_centre, angle_deg=1.5, shift=(2.0, -1.5))
    moving, points = write_off_nadir_view(town, tmp_path / "view.tif", 10.0, 60.0, truth)
    found = register_raster(town_files["ortho"], moving, tmp_path / "v.tif", cfg=PLAIN, check_points=points)
    assert found.check_points.median_m < 0.25  # one pixel, on ground check points; roofs lean and are outliers


def test_montpellier_irc_onto_rgb_with_the_semantic_constraint(montpellier, tmp_path):
    rgb = montpellier / "ortho_rgb_20cm.tif"
    bounds = _bounds(rgb)
    truth = similarity(((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2), 4.0, 1.03, (1.5, 1.0))
    moving = write_warped(montpellier / "ortho_irc_20cm.tif", tmp_path / "irc.tif", truth)
    points = grid_check_points(bounds, truth)
    plain = register_raster(rgb, moving, tmp_path / "plain.tif", cfg=PLAIN, check_points=points)
    semantic = register_raster(rgb, moving, tmp_path / "semantic.tif", semantic=True, check_points=points)
    for report in (plain, semantic):
        assert report.check_points.median_m < 0.2 / 4  # well under one 0.2 m pixel
    assert semantic.semantic and semantic.method == "sift+semantic-ransac"
    assert semantic.n_class_rejected < 0.05 * semantic.n_matches  # the IRC classes agree (pseudo-RGB)


def test_montpellier_dsm_onto_the_lidar_dsm(montpellier, tmp_path):
    reference = write_lidar_dsm(montpellier / "lidar_77055_627760.laz", montpellier / "dsm_50cm.tif", tmp_path)
    moving, truth = write_shifted(montpellier / "dsm_50cm.tif", tmp_path / "shifted.tif", (1.7, -2.3))
    points = grid_check_points(_bounds(montpellier / "dsm_50cm.tif"), truth)
    found = register_raster(reference, moving, tmp_path / "dsm.tif", kind="dsm", cfg=PLAIN, check_points=points)
    assert found.check_points.median_m < 0.25  # half a 0.5 m cell
    assert found.shift_m == pytest.approx((1.7, -2.3), abs=0.25)


def test_sources_that_do_not_overlap_are_refused(town_files, tmp_path):
    far = write_scene(generate_scene(SceneConfig(size_m=40, origin=(600_000.0, 5_000_000.0))), tmp_path / "far")
    with pytest.raises(OverlapError, match="does not overlap"):
        register_raster(town_files["ortho"], far["ortho"], tmp_path / "x.tif", cfg=PLAIN)


def test_too_few_matches_are_refused_with_what_to_do(town_files, tmp_path):
    with rasterio.open(town_files["ortho"]) as src:
        profile = src.profile
    blank = tmp_path / "blank.tif"  # a smooth ramp: an image, but without a corner to match
    ramp = np.linspace(60, 180, profile["width"], dtype=np.float32).astype(np.uint8)
    with rasterio.open(blank, "w", **profile) as dst:
        dst.write(np.broadcast_to(ramp, (3, profile["height"], profile["width"])))
    with pytest.raises(InputError, match=r"found only \d+ matching keypoints .*Check that the second source"):
        register_raster(town_files["ortho"], blank, tmp_path / "x.tif", cfg=PLAIN)
    assert not (tmp_path / "x.tif").exists()


def test_a_dsm_against_an_image_says_to_use_the_lidar(town_files, tmp_path):
    with pytest.raises(InputError, match="Register the DSM to a LiDAR point cloud"):
        register_raster(town_files["ortho"], town_files["dsm"], tmp_path / "x.tif", kind="dsm", cfg=PLAIN)


def test_a_mirrored_image_gives_no_usable_transform(town_files, tmp_path):
    with rasterio.open(town_files["ortho"]) as src:
        data, profile = src.read(), src.profile
    mirrored = tmp_path / "mirrored.tif"
    with rasterio.open(mirrored, "w", **profile) as dst:
        dst.write(data[:, :, ::-1])
    with pytest.raises(InputError, match="cannot be right|found only"):
        register_raster(town_files["ortho"], mirrored, tmp_path / "x.tif", cfg=PLAIN)


def test_the_wrong_kind_is_refused(town_files, tmp_path):
    with pytest.raises(InputError, match="has 3 bands; a DSM has one band"):
        register_raster(town_files["ortho"], town_files["ortho"], tmp_path / "x.tif", kind="dsm", cfg=PLAIN)


def test_orb_is_selectable_and_akaze_says_when_it_is_missing(town_files, town_centre, tmp_path):
    import cv2

    from reconstruction.errors import ConfigError

    truth = similarity(town_centre, shift=(1.0, 2.0))
    moving = write_warped(town_files["ortho"], tmp_path / "moving.tif", truth)
    points = grid_check_points(_bounds(moving), truth)
    orb = RegistrationConfig(detector="orb", semantic=False)
    found = register_raster(town_files["ortho"], moving, tmp_path / "o.tif", cfg=orb, check_points=points)
    assert found.method == "orb+ransac" and found.check_points.median_m < 0.25
    if not hasattr(cv2, "AKAZE_create"):
        with pytest.raises(ConfigError, match="'akaze' detector is not available"):
            register_raster(town_files["ortho"], moving, tmp_path / "a.tif", cfg=RegistrationConfig(detector="akaze"))
