"""``check``, ``run`` and a chipped run with several --ortho and --dsm files give the whole files' area."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import CRS

from reconstruction import PipelineConfig, PipelineInputs
from reconstruction.chips import plan_chips, run_chipped
from reconstruction.synthetic.tiles import reproject_raster, split_raster

GAP_PX = 8  # the south-east tiles start 8 pixels further east and south: 4 m of DSM, 2 m of orthophoto


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconstruction", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def tiles(small_scene_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """The small scene's orthophoto and DSM as 2 x 2 tiles with a gap; the DSM's north-east tile in Lambert-93."""
    folder = tmp_path_factory.mktemp("tiles")
    ortho = split_raster(small_scene_files["ortho"], folder, 2, GAP_PX)
    dsm = split_raster(small_scene_files["dsm"], folder, 2, GAP_PX // 2)
    dsm[1] = reproject_raster(dsm[1], folder / "dsm_01_lambert93.tif", CRS.from_epsg(2154))
    return {"ortho": ortho, "dsm": dsm}


@pytest.fixture(scope="module")
def runs(small_scene_files: dict[str, Path], tiles: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The area run from the whole files and from the tiles."""
    out = {name: tmp_path_factory.mktemp(name) / "run" for name in ("whole", "tiled")}
    whole = ["--ortho", str(small_scene_files["ortho"]), "--dsm", str(small_scene_files["dsm"])]
    tiled = ["--ortho", *map(str, tiles["ortho"]), "--dsm", *map(str, tiles["dsm"])]
    for name, inputs in (("whole", whole), ("tiled", tiled)):
        done = _cli("run", *inputs, "--out", str(out[name]), "--progress", "none")
        assert done.returncode == 0, done.stderr
    return out


def _gap(grid_side: int = 240, cells: int = GAP_PX // 2) -> np.ndarray:
    """Cells of the DSM grid in the gap beside the south-east tiles (and one cell either side of it)."""
    mask = np.zeros((grid_side, grid_side), bool)
    start = grid_side // 2 - 1
    mask[start : start + cells + 2, start:] = mask[start:, start : start + cells + 2] = True
    return mask


def test_check_takes_several_files_and_names_the_mixed_crs_and_the_lone_tile(tiles):
    done = _cli("check", "--ortho", *map(str, tiles["ortho"]), "--dsm", *map(str, tiles["dsm"]), "--json")
    assert done.returncode == 0, done.stderr
    warnings = json.loads(done.stdout)["warnings"]
    assert any("different CRSs" in w and "dsm_01_lambert93.tif" in w for w in warnings)
    assert any("'ortho_11.tif' touch no other tile" in w for w in warnings)


def test_a_run_over_tiles_gives_the_whole_files_grid_heights_and_classes(runs):
    whole, tiled = (json.loads((runs[n] / "manifest.json").read_text()) for n in ("whole", "tiled"))
    assert tiled["grid"] == whole["grid"] and tiled["crs"] == whole["crs"]
    assert any("different CRSs" in w for w in tiled["warnings"])
    outside = ~_gap()
    with rasterio.open(runs["whole"] / "rasters/dsm.tif") as a, rasterio.open(runs["tiled"] / "rasters/dsm.tif") as b:
        assert a.transform == b.transform
        difference = np.abs(a.read(1) - b.read(1))[outside]
    assert np.median(difference) < 0.01 and np.percentile(difference, 95) < 1.0  # one tile resampled twice
    labels = [rasterio.open(runs[name] / "rasters/labels.tif") for name in ("whole", "tiled")]
    with labels[0] as a, labels[1] as b:
        assert (a.read(1) == b.read(1))[outside].mean() > 0.95
    # The tiles' mosaic on the grid is the orthophoto the web imagery was cut from.
    assert tiled["rasters"]["ortho"] == "rasters/ortho.tif" and "ortho" not in whole["rasters"]
    assert (runs["tiled"] / tiled["imagery"]["ortho"]["path"]).is_file()
    assert tiled["imagery"]["ortho"]["rectangle_wgs84"] == pytest.approx(whole["imagery"]["ortho"]["rectangle_wgs84"])


def test_a_chipped_run_over_tiles_stitches_the_orthophoto_for_the_web_imagery(runs, tiles, tmp_path):
    inputs = PipelineInputs(ortho=tuple(tiles["ortho"]), dsm=tuple(tiles["dsm"]))
    plan = plan_chips(inputs, PipelineConfig(), 60.0, 24.0)
    assert len(plan.chips) == 4
    plan.save(tmp_path / "plan.json")
    assert json.loads((tmp_path / "plan.json").read_text())["inputs"]["ortho"][3].endswith("ortho_11.tif")
    run_chipped(plan, tmp_path / "chipped")
    chipped = json.loads((tmp_path / "chipped/manifest.json").read_text())
    tiled = json.loads((runs["tiled"] / "manifest.json").read_text())
    assert chipped["grid"] == tiled["grid"] and chipped["imagery"]["ortho"]["source"] == "orthophoto"
    for name in ("ortho", "dsm"):
        with rasterio.open(runs["tiled"] / f"rasters/{name}.tif") as a:
            with rasterio.open(tmp_path / f"chipped/rasters/{name}.tif") as b:
                assert a.transform == b.transform and np.array_equal(a.read(), b.read()), name
