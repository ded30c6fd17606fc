"""Several orthophoto or DSM files of one area (a programme's tiles) read as one input."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import CRS
from rasterio.enums import Resampling

from reconstruction.config import Limits, PipelineInputs
from reconstruction.errors import InputError
from reconstruction.io import Grid, inspect_raster, read_onto_grid
from reconstruction.io.raster_tiles import combine_rasters, inspect_raster_files, write_mosaic
from reconstruction.synthetic.tiles import cut_raster, reproject_raster, split_raster

LIMIT = Limits().max_raster_pixels
GAP_PX = 8  # the south-east tile starts 8 pixels (2 m of orthophoto, 4 m of DSM) further east and south


@pytest.fixture(scope="module")
def tiles(small_scene_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    folder = tmp_path_factory.mktemp("tiles")
    return {name: split_raster(small_scene_files[name], folder, 2, GAP_PX) for name in ("ortho", "dsm")}


def _whole_grid(info) -> Grid:  # noqa: ANN001 - a RasterInfo
    return Grid(info.crs, info.transform, info.width, info.height)


def test_tiles_with_a_gap_read_as_the_whole_file_with_nan_in_the_gap(small_scene_files, tiles):
    for name, role in (("ortho", "orthophoto"), ("dsm", "DSM")):
        whole = inspect_raster(small_scene_files[name], role, None, LIMIT)
        info = inspect_raster_files(tiles[name], role, None, LIMIT)
        assert (info.transform, info.width, info.height) == (whole.transform, whole.width, whole.height)
        assert info.bounds_in(whole.crs) == pytest.approx(whole.bounds_in(whole.crs))
        assert len(info.parts) == 4 and info.label == f"{role} tiles '{tiles[name][0].name}' and 3 more"
        assert any(f"'{tiles[name][3].name}' touch no other tile" in w for w in info.warnings)
        grid = Grid.covering(whole.crs, whole.bounds_in(whole.crs), 0.5)
        resampling = Resampling.average if role == "orthophoto" else Resampling.bilinear
        mosaic, truth = read_onto_grid(info, grid, resampling), read_onto_grid(whole, grid, resampling)
        gap = np.isnan(mosaic).all(axis=0)
        cells = GAP_PX * (0.25 if role == "orthophoto" else 0.5) / 0.5  # the gap's width in grid cells
        assert gap.sum() == pytest.approx(2 * cells * 120 - cells**2, abs=2)
        assert np.allclose(mosaic[:, ~gap], truth[:, ~gap], atol=1e-3)
    one = tiles["dsm"][0]
    assert inspect_raster_files([one], "DSM", None, LIMIT) == inspect_raster(one, "DSM", None, LIMIT)


def test_a_tile_in_another_crs_is_reprojected_with_a_warning(small_scene_files, tiles, tmp_path):
    lambert = reproject_raster(tiles["dsm"][1], tmp_path / "dsm_01_lambert93.tif", CRS.from_epsg(2154))
    info = inspect_raster_files([tiles["dsm"][0], lambert, *tiles["dsm"][2:]], "DSM", None, LIMIT)
    assert any("different CRSs" in w and "dsm_01_lambert93.tif" in w and "Lambert-93" in w for w in info.warnings)
    whole = inspect_raster(small_scene_files["dsm"], "DSM", None, LIMIT)
    assert info.resolution == whole.resolution and info.crs == whole.crs  # the first tile's CRS and pixel
    grid = _whole_grid(whole)
    mosaic = read_onto_grid(info, grid, Resampling.bilinear)[0]
    truth = read_onto_grid(whole, grid, Resampling.bilinear)[0]
    north_east = np.s_[10:110, 130:230]  # inside the reprojected tile, away from its edges
    difference = np.abs(mosaic[north_east] - truth[north_east])
    assert np.isfinite(difference).all()
    assert np.median(difference) < 0.05 and np.percentile(difference, 95) < 1.5  # bilinear twice over roof edges


def test_tiles_whose_bands_differ_are_refused_naming_the_file(small_scene_files, tiles, tmp_path):
    rgbn = tmp_path / "ortho_rgbn.tif"
    with rasterio.open(tiles["ortho"][1]) as src:
        profile = src.profile | {"count": 4}
        pixels = src.read()
    with rasterio.open(rgbn, "w", **profile) as dst:
        dst.write(np.concatenate([pixels, pixels[:1] // 2 + 40]))
    with pytest.raises(InputError, match=r"ortho_rgbn\.tif.*bands: 4 where 'ortho_00\.tif' has 3"):
        inspect_raster_files([tiles["ortho"][0], rgbn], "orthophoto", None, LIMIT)
    deep = tmp_path / "ortho_16bit.tif"
    with rasterio.open(tiles["ortho"][1]) as src:
        profile, pixels = src.profile | {"dtype": "uint16"}, src.read().astype(np.uint16) * 257
    with rasterio.open(deep, "w", **profile) as dst:
        dst.write(pixels)
    with pytest.raises(InputError, match=r"ortho_16bit\.tif.*pixel type uint16 where 'ortho_00\.tif' has uint8"):
        inspect_raster_files([tiles["ortho"][0], deep], "orthophoto", None, LIMIT)


def test_each_tile_is_validated_as_a_lone_file(tiles, tmp_path):
    damaged = tmp_path / "dsm_damaged.tif"
    damaged.write_bytes(tiles["dsm"][1].read_bytes()[:2000])
    with pytest.raises(InputError, match="dsm_damaged.tif"):
        inspect_raster_files([tiles["dsm"][0], damaged], "DSM", None, LIMIT)
    small, large = tiles["dsm"][3], tiles["dsm"][0]  # 112 and 120 pixels a side: the limit holds per file
    assert inspect_raster_files([small], "DSM", None, 112 * 112).width == 112
    with pytest.raises(InputError, match="dsm_00.tif.*more than the limit"):
        inspect_raster_files([small, large], "DSM", None, 112 * 112)


def test_touching_tiles_give_no_warning_and_a_mosaic_file_reads_back(small_scene_files, tmp_path):
    west = cut_raster(small_scene_files["ortho"], tmp_path / "west.tif", 0, 0, 240, 480)
    east = cut_raster(small_scene_files["ortho"], tmp_path / "east.tif", 240, 0, 240, 480)
    info = combine_rasters([inspect_raster(p, "orthophoto", None, LIMIT) for p in (west, east)])
    assert info.warnings == ()
    with pytest.raises(ValueError, match="several files"):
        info.open()
    grid = Grid.covering(info.crs, info.bounds_in(info.crs), 0.5)
    written = write_mosaic(info, grid, tmp_path / "mosaic.tif")
    again = inspect_raster(written.path, "orthophoto", None, LIMIT)
    assert (again.width, again.height, again.dtype, again.count) == (240, 240, "uint8", 3)
    expected = read_onto_grid(info, grid, Resampling.average)
    back = np.nan_to_num(read_onto_grid(again, grid, Resampling.nearest), nan=0.0)  # 0 is its nodata
    assert np.array_equal(back, np.rint(expected))


def test_inputs_take_one_raster_or_several_and_travel_as_argv_and_json(tmp_path):
    a, b, d = tmp_path / "a.tif", tmp_path / "b.tif", tmp_path / "d.tif"
    for path in (a, b, d):
        path.write_bytes(b"II*\0")
    assert PipelineInputs(ortho=a).ortho == (a,) and PipelineInputs(ortho=a, dsm=None).dsm == ()
    both = PipelineInputs(ortho=(a, b), dsm=(d,))
    assert both.has_image and both.reference == (a, b)
    argv = both.to_argv()
    assert argv[argv.index("--ortho") : argv.index("--ortho") + 3] == ["--ortho", str(a), str(b)]
    assert PipelineInputs.from_dict(both.to_dict(tmp_path), tmp_path) == both
    assert both.to_dict(tmp_path)["ortho"] == ["a.tif", "b.tif"]
    old_plan = {"ortho": "a.tif", "dsm": "d.tif", "lidar": [], "stereo": []}  # a plan of one file per raster
    assert PipelineInputs.from_dict(old_plan, tmp_path) == PipelineInputs(ortho=a, dsm=d)


def test_a_second_image_registers_to_orthophoto_tiles(small_scene, small_scene_files, tiles, tmp_path):
    from reconstruction.config import PipelineConfig, RegistrationConfig
    from reconstruction.registration.report import check_point_errors
    from reconstruction.stages.register import run_register
    from reconstruction.synthetic.registration import grid_check_points, similarity, write_warped

    x0, y0 = small_scene.config.origin
    centre = (x0 + small_scene.config.size_m / 2, y0 + small_scene.config.size_m / 2)
    truth = similarity(centre, angle_deg=1.0, shift=(1.0, -0.5))
    second = write_warped(small_scene_files["ortho"], tmp_path / "second.tif", truth)
    inputs = PipelineInputs(ortho=tuple(tiles["ortho"]), dsm=small_scene_files["dsm"], second_image=second)
    cfg = PipelineConfig(registration=RegistrationConfig(semantic=False))
    (tmp_path / "out").mkdir()
    _, entries = run_register(inputs, cfg, tmp_path / "out", lambda *_: None)
    entry = entries["second_image"]
    assert entry["reference"] == "orthophoto" and entry["n_inliers"] >= 20
    with rasterio.open(small_scene_files["ortho"]) as src:
        points = grid_check_points(tuple(src.bounds), truth)
    assert check_point_errors(np.array(entry["matrix"]), points).median_m < 0.25
    assert not (tmp_path / "out/registration/ortho_tiles.tif").exists()  # the tiles' mosaic was scratch


def test_dsm_tiles_to_register_become_one_file_in_metres_over_the_reference(small_scene_files, tiles, tmp_path):
    from reconstruction.config import PipelineConfig
    from reconstruction.stages.register import _one_file

    inputs = PipelineInputs(ortho=small_scene_files["ortho"], dsm=tuple(tiles["dsm"]))
    one = _one_file(inputs.dsm, "DSM", small_scene_files["dsm"], inputs, PipelineConfig(), tmp_path / "dsm_tiles.tif")
    assert (
        _one_file(inputs.dsm[:1], "DSM", small_scene_files["dsm"], inputs, PipelineConfig(), tmp_path / "x.tif")
        == (inputs.dsm[0])
    )
    with rasterio.open(one) as mosaic, rasterio.open(small_scene_files["dsm"]) as whole:
        assert mosaic.transform == whole.transform and mosaic.tags()["RS3D_HEIGHT_UNIT"] == "metre"
        heights, truth = mosaic.read(1, masked=True), whole.read(1)
    assert heights.mask.sum() == 2 * GAP_PX * 120 - GAP_PX**2  # the gap beside the south-east tile
    assert np.allclose(heights.compressed(), truth[~heights.mask], atol=1e-4)


def test_a_tile_whose_crs_cannot_be_reprojected_is_refused_with_the_reason(tiles, tmp_path):
    local = tmp_path / "dsm_local.tif"
    with rasterio.open(tiles["dsm"][1]) as src:
        profile = src.profile | {"crs": rasterio.crs.CRS.from_wkt('LOCAL_CS["site grid",UNIT["metre",1]]')}
        pixels = src.read()
    with rasterio.open(local, "w", **profile) as dst:
        dst.write(pixels)
    with pytest.raises(InputError, match=r"dsm_local\.tif.*'site grid'.*cannot be reprojected.*dsm_00\.tif"):
        inspect_raster_files([tiles["dsm"][0], local], "DSM", None, LIMIT)
