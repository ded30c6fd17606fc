"""The "register" stage: a second image and a DSM are registered before anything else, and reported."""

import argparse
import json

import numpy as np
import pytest
import rasterio

from reconstruction import STAGES, PipelineConfig, PipelineInputs, run_pipeline
from reconstruction.cli import main
from reconstruction.cli.inputs import add_input_arguments, inputs_from
from reconstruction.config import RegistrationConfig
from reconstruction.errors import ConfigError
from reconstruction.registration.report import check_point_errors
from reconstruction.synthetic.registration import grid_check_points, similarity, write_shifted, write_warped

PLAIN = PipelineConfig(registration=RegistrationConfig(semantic=False))


def town_files_bounds(files):
    with rasterio.open(files["ortho"]) as src:
        return tuple(src.bounds)


def test_second_image_is_registered_kept_and_reported(town_files, town_centre, tmp_path):
    truth = similarity(town_centre, angle_deg=2.0, shift=(1.5, -1.0))
    second = write_warped(town_files["ortho"], tmp_path / "second.tif", truth)
    reports = []
    inputs = PipelineInputs(ortho=town_files["ortho"], dsm=town_files["dsm"], second_image=second)
    result = run_pipeline(inputs, PLAIN, tmp_path / "out", lambda *r: reports.append(r))
    manifest = json.loads((result.out_dir / "manifest.json").read_text())
    entry = manifest["registration"]["second_image"]
    assert entry["path"] == "rasters/second_image_registered.tif" == manifest["rasters"]["second_image_registered"]
    assert entry["reference"] == "orthophoto" and entry["kind"] == "image" and entry["n_inliers"] >= 50
    points = grid_check_points(town_files_bounds(town_files), truth)
    assert check_point_errors(np.array(entry["matrix"]), points).median_m < 0.1
    assert set(entry) >= {"method", "model", "n_matches", "n_inliers", "rmse_m", "matrix", "shift_m", "check_points"}
    with rasterio.open(result.out_dir / entry["path"]) as out, rasterio.open(town_files["ortho"]) as ref:
        assert out.transform == ref.transform and out.shape == ref.shape
    assert list(manifest["timings"]) == [name for name, _ in STAGES] and STAGES[1][0] == "register"
    assert manifest["stereo"] == {}
    assert [r for r in reports if r[0] == "register"][-1][1] == 1.0


def test_montpellier_dsm_is_registered_to_the_lidar_and_used(montpellier, tmp_path):
    shifted, _ = write_shifted(montpellier / "dsm_50cm.tif", tmp_path / "shifted.tif", (1.5, -2.0))
    inputs = PipelineInputs(
        ortho=montpellier / "ortho_rgb_20cm.tif",
        dsm=shifted,
        lidar=montpellier / "lidar_77055_627760.laz",
        register_dsm=True,
    )
    result = run_pipeline(inputs, PLAIN, tmp_path / "out")
    entry = result.manifest["registration"]["dsm"]
    assert entry["reference"] == "lidar" and entry["path"] == "registration/dsm_registered.tif"
    assert entry["shift_m"] == pytest.approx([1.5, -2.0], abs=0.25)
    assert result.manifest["height_source"] == "dsm"
    assert not (result.out_dir / "registration" / "lidar_dsm.tif").exists()
    with (
        rasterio.open(result.out_dir / "rasters" / "dsm.tif") as out,
        rasterio.open(montpellier / "dsm_50cm.tif") as ref,
    ):
        window = rasterio.windows.from_bounds(*ref.bounds, transform=out.transform)
        used = out.read(1, window=window, boundless=True, masked=True).filled(np.nan)
        truth = ref.read(1, masked=True).filled(np.nan)
    assert np.nanmedian(np.abs(used - truth)) < 0.3  # the DSM the run used lies where the true one does


def test_register_dsm_without_a_dsm_or_lidar_is_a_config_error(town_files):
    with pytest.raises(ConfigError, match="register_dsm needs a DSM and a LiDAR"):
        PipelineInputs(ortho=town_files["ortho"], register_dsm=True)
    with pytest.raises(ConfigError, match="cannot be aligned to an image alone"):
        PipelineInputs(ortho=town_files["ortho"], dsm=town_files["dsm"], register_dsm=True)


def test_cli_flags_fill_the_inputs(town_files, tmp_path):
    parser = argparse.ArgumentParser()
    add_input_arguments(parser)
    args = parser.parse_args(
        [
            "--ortho",
            str(town_files["ortho"]),
            "--dsm",
            str(town_files["dsm"]),
            "--second-image",
            str(town_files["ortho"]),
        ]
    )
    inputs = inputs_from(args)
    assert inputs.second_image == town_files["ortho"] and not inputs.register_dsm
    with pytest.raises(ConfigError, match="needs a DSM and a LiDAR"):
        inputs_from(
            parser.parse_args(["--ortho", str(town_files["ortho"]), "--dsm", str(town_files["dsm"]), "--register-dsm"])
        )


def test_cli_refuses_bad_registration_flags(town_files, tmp_path, capsys):
    ortho = str(town_files["ortho"])
    assert main(["run", "--ortho", ortho, "--register-dsm", "--out", str(tmp_path / "a"), "--progress", "none"]) == 2
    assert "--register-dsm needs --dsm" in capsys.readouterr().err
    missing = str(tmp_path / "missing.tif")
    assert main(["run", "--ortho", ortho, "--second-image", missing, "--out", str(tmp_path / "b")]) == 2
    assert f"--second-image, '{missing}', does not exist" in capsys.readouterr().err


def test_cli_check_validates_the_second_image(town_files, capsys):
    ortho = str(town_files["ortho"])
    assert main(["check", "--ortho", ortho, "--dsm", str(town_files["dsm"]), "--second-image", ortho]) == 0
    assert main(["check", "--ortho", ortho, "--second-image", str(town_files["dsm"])]) == 2
    assert "has 1 band(s)" in capsys.readouterr().err
