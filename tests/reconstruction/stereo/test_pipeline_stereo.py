"""A stereo pair alone through the whole pipeline: CLI ``run --stereo`` gives a city with stereo heights."""

import json

from reconstruction.cli import main
from reconstruction.stereo import compare_dsm


def test_check_accepts_a_stereo_pair_without_an_orthophoto(pleiades_crop, capsys):
    assert main(["check", "--stereo", *map(str, pleiades_crop)]) == 0
    assert "inputs are valid" in capsys.readouterr().out


def test_run_with_a_stereo_pair_reconstructs_the_area(cars_installed, pleiades, pleiades_crop, tmp_path):
    out = tmp_path / "city"
    assert main(["run", "--stereo", *map(str, pleiades_crop), "--out", str(out), "--progress", "none"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    stereo = manifest["stereo"]
    assert stereo["library"].startswith("cars ") and stereo["images"] == 2 and stereo["valid_share"] > 0.25
    assert manifest["height_source"] == "stereo" and manifest["crs"] == "EPSG:32740"
    assert (out / stereo["paths"]["dsm"]).is_file() and (out / stereo["paths"]["ortho"]).is_file()
    assert not (out / "stereo" / "cars").exists()  # CARS's intermediate files are not kept
    assert (out / manifest["layers"]["pointcloud"]).is_file() and (out / manifest["imagery"]["ortho"]["path"]).is_file()
    # The DSM the run used lies where s2p's does.
    used = compare_dsm(out / manifest["rasters"]["dsm"], pleiades / "reference_dsm_s2p.tif")
    assert used.median_abs < 1.0 and used.compared_pixels > 10_000
