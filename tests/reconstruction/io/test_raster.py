from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from PIL import Image
from rasterio.enums import ColorInterp, Resampling

from reconstruction.errors import CRSError, InputError
from reconstruction.io import Grid, inspect_raster, read_onto_grid
from reconstruction.tiles3d.xyz import write_xyz_tiles

LIMIT = 10**9
UTM_CORNER = Affine(0.5, 0, 500000, 0, -0.5, 5000000)


def _write(
    path: Path,
    data: np.ndarray,
    crs: str | None = "EPSG:32631",
    nodata=None,
    transform=UTM_CORNER,
) -> Path:
    bands = data if data.ndim == 3 else data[np.newaxis]
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=bands.shape[2],
        height=bands.shape[1],
        count=bands.shape[0],
        dtype=bands.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(bands)
    return path


def test_synthetic_orthophoto_and_dsm_are_accepted(small_scene_files):
    ortho = inspect_raster(small_scene_files["ortho"], "orthophoto", None, LIMIT)
    dsm = inspect_raster(small_scene_files["dsm"], "DSM", None, LIMIT)
    assert ortho.count == 3 and ortho.crs.to_epsg() == 32631 and ortho.warnings == ()
    assert dsm.count == 1 and dsm.resolution == 0.5


def test_geotiff_without_crs_needs_an_epsg_code(tmp_path):
    path = _write(tmp_path / "nocrs.tif", np.arange(192, dtype=np.uint8).reshape(3, 8, 8), crs=None)
    with pytest.raises(CRSError, match="carries no coordinate reference system"):
        inspect_raster(path, "orthophoto", None, LIMIT)
    info = inspect_raster(path, "orthophoto", 32631, LIMIT)
    assert info.crs.to_epsg() == 32631 and "as you gave it" in info.warnings[0]


@pytest.mark.parametrize(
    ("data", "role", "message"),
    [
        (np.zeros((2, 8, 8), np.uint8), "orthophoto", "2 band"),
        (np.zeros((3, 8, 8), np.float32), "orthophoto", "8- or 16-bit"),
        (np.zeros((3, 8, 8), np.float32), "DSM", "3 bands"),
        (np.full((8, 8), -9999, np.float32), "DSM", "no valid heights"),
        (np.full((8, 8), 20000, np.float32), "DSM", "outside -500..9000"),
    ],
)
def test_unsuitable_rasters_are_refused_with_the_reason(tmp_path, data, role, message):
    path = _write(tmp_path / "bad.tif", data, nodata=-9999 if data.dtype == np.float32 else None)
    with pytest.raises(InputError, match=message):
        inspect_raster(path, role, None, LIMIT)


def test_nan_and_inf_only_dsm_is_refused(tmp_path):
    data = np.full((8, 8), np.nan, np.float32)
    data[0, :4] = np.inf
    with pytest.raises(InputError, match="no valid heights"):
        inspect_raster(_write(tmp_path / "nan.tif", data), "DSM", None, LIMIT)


def test_not_georeferenced_is_refused(tmp_path):
    path = _write(tmp_path / "plain.tif", np.zeros((3, 8, 8), np.uint8), crs=None, transform=Affine.identity())
    with pytest.raises(InputError, match="no usable georeferencing"):
        inspect_raster(path, "orthophoto", 32631, LIMIT)


def test_too_many_pixels_is_refused_before_reading(tmp_path):
    path = _write(tmp_path / "big.tif", np.zeros((3, 64, 64), np.uint8))
    with pytest.raises(InputError, match="more than the limit"):
        inspect_raster(path, "orthophoto", None, max_pixels=1000)


@pytest.mark.parametrize("content", [b"", b"not a tiff at all", b"II*\x00\x08\x00\x00\x00\xff\xff"])
def test_garbage_and_truncated_files_are_refused(tmp_path, content):
    path = tmp_path / "broken.tif"
    path.write_bytes(content)
    with pytest.raises(InputError, match="not a raster|is empty|not one of the formats"):
        inspect_raster(path, "orthophoto", None, LIMIT)


def test_truncated_real_geotiff_is_refused(tmp_path, small_scene_files):
    whole = small_scene_files["dsm"].read_bytes()
    path = tmp_path / "cut.tif"
    path.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(InputError):
        info = inspect_raster(path, "DSM", None, LIMIT)
        read_onto_grid(info, Grid.covering(info.crs, info.bounds_in(info.crs), 0.5), Resampling.bilinear)


def test_read_onto_grid_copies_a_raster_on_the_same_lattice(small_scene, small_scene_files):
    info = inspect_raster(small_scene_files["dsm"], "DSM", None, LIMIT)
    grid = Grid.covering(info.crs, info.bounds_in(info.crs), 0.5, (info.transform.c, info.transform.f))
    assert grid.shape == small_scene.dsm.shape
    np.testing.assert_allclose(read_onto_grid(info, grid, Resampling.bilinear)[0], small_scene.dsm, atol=1e-4)


def test_montpellier_orthophoto_crs_has_no_epsg_identity(montpellier):
    info = inspect_raster(montpellier / "ortho_rgb_20cm.tif", "orthophoto", None, LIMIT)
    assert info.crs.to_epsg() is None
    assert "without an EPSG identity" in info.warnings[0]


def test_cells_of_rasterises_a_polygon_only_in_its_window_and_matches_the_full_grid():
    import shapely
    from pyproj import CRS
    from rasterio.features import geometry_mask

    grid = Grid(CRS.from_epsg(2154), Affine(0.5, 0, 1000.0, 0, -0.5, 2000.0), 300, 200)
    for polygon in (
        shapely.box(1010.2, 1950.3, 1040.7, 1990.1),
        shapely.box(990, 1990, 1005, 2010),
        shapely.box(0, 0, 1, 1),
    ):
        for touched in (False, True):
            window, mask = grid.cells_of(polygon, all_touched=touched)
            full = geometry_mask([polygon], grid.shape, grid.transform, invert=True, all_touched=touched)
            rebuilt = np.zeros(grid.shape, bool)
            rebuilt[window] = mask
            assert np.array_equal(rebuilt, full)


def _rgbn(tmp_path: Path, fourth: np.ndarray, fourth_tag: ColorInterp) -> Path:
    """A 64 x 64 RGB+4th-band orthophoto: a grey square on a green field; the 4th band as given, so tagged."""
    rng = np.random.default_rng(3)
    rgb = np.stack([np.full((64, 64), v, np.uint8) for v in (60, 140, 50)])
    rgb += rng.integers(0, 20, (3, 64, 64)).astype(np.uint8)
    rgb[:, 20:40, 20:40] = 120
    path = _write(tmp_path / "rgbn.tif", np.concatenate([rgb, fourth[np.newaxis]]))
    with rasterio.open(path, "r+") as dst:
        dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue, fourth_tag]
    return path


def _on_own_grid(info) -> np.ndarray:
    return read_onto_grid(info, Grid(info.crs, info.transform, info.width, info.height), Resampling.nearest)


def test_a_fourth_band_holding_a_mask_is_the_mask_not_near_infrared(tmp_path):
    mask = np.full((64, 64), 255, np.uint8)
    mask[:, :16] = 0  # the left quarter is transparent
    info = inspect_raster(_rgbn(tmp_path, mask, ColorInterp.alpha), "orthophoto", None, LIMIT)
    assert info.alpha_band == 4 and info.bands == (1, 2, 3)
    assert any("transparency mask" in w for w in info.warnings)
    image = _on_own_grid(info)
    assert image.shape == (3, 64, 64)  # no 4th band: NDVI is not computed from a mask
    assert np.isnan(image[:, :, :16]).all() and np.isfinite(image[:, :, 16:]).all()
    assert write_xyz_tiles(info, tmp_path / "xyz").tiles > 0


def test_near_infrared_tagged_alpha_by_gdal_default_is_read_as_near_infrared_and_tiles(tmp_path):
    nir = np.random.default_rng(5).integers(30, 220, (64, 64)).astype(np.uint8)
    info = inspect_raster(_rgbn(tmp_path, nir, ColorInterp.alpha), "orthophoto", None, LIMIT)
    assert info.bands == (1, 2, 3, 4) and info.alpha_band is None
    assert any("read as near-infrared" in w for w in info.warnings)
    np.testing.assert_array_equal(_on_own_grid(info)[3], nir)
    # The web tiles: the warper no longer refuses ("already has an alpha band") and takes no NIR as alpha.
    pyramid = write_xyz_tiles(info, tmp_path / "xyz")
    deepest = sorted((tmp_path / "xyz" / str(pyramid.maxzoom)).rglob("*.webp"))
    covered = [np.asarray(Image.open(tile).convert("RGBA"))[..., 3] for tile in deepest]
    assert max(int((a == 255).sum()) for a in covered) > 0 and all(set(np.unique(a)) <= {0, 255} for a in covered)


def test_an_empty_near_infrared_band_is_read_as_rgb_with_a_warning(tmp_path):
    info = inspect_raster(
        _rgbn(tmp_path, np.zeros((64, 64), np.uint8), ColorInterp.undefined), "orthophoto", None, LIMIT
    )
    assert info.bands == (1, 2, 3) and info.alpha_band is None
    assert any("near-infrared" in w and "empty" in w for w in info.warnings)
    assert _on_own_grid(info).shape == (3, 64, 64)


def test_an_all_transparent_image_is_refused_saying_how_to_fix_it(tmp_path):
    with pytest.raises(InputError, match="entirely transparent.*gdal_translate -b 1 -b 2 -b 3"):
        inspect_raster(_rgbn(tmp_path, np.zeros((64, 64), np.uint8), ColorInterp.alpha), "orthophoto", None, LIMIT)


def test_a_real_near_infrared_band_is_kept(tmp_path):
    nir = np.random.default_rng(5).integers(30, 220, (64, 64)).astype(np.uint8)
    info = inspect_raster(_rgbn(tmp_path, nir, ColorInterp.undefined), "orthophoto", None, LIMIT)
    assert info.bands == (1, 2, 3, 4) and not any("4th" in w for w in info.warnings)
    np.testing.assert_array_equal(_on_own_grid(info)[3], nir)
