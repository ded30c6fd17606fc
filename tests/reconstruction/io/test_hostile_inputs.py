"""Generated hostile and broken inputs: each is refused by `check` with a reason, and nothing crashes.

The real broken files of ../shared/data/bad_inputs are covered by the backend upload tests; these are
made here: truncated and lying headers, pixel bombs, NaN/inf heights, mismatched CRS, a LAS that claims
a billion points, archives with ``../`` members, and names with markup.
"""

import json
import struct
import zipfile

import numpy as np
import pytest
import rasterio
from affine import Affine

from reconstruction import PipelineConfig, PipelineInputs, run_pipeline
from reconstruction.config import Limits
from reconstruction.errors import InputError
from reconstruction.io import inspect_footprints, inspect_lidar
from reconstruction.pipeline import check_inputs
from tests.hostile_files import run_check

T = Affine(0.5, 0, 574_000.0, 0, -0.5, 5_096_080.0)


def _tif(path, array, crs="EPSG:32631", transform=T, nodata=None, **extra):
    array = np.asarray(array)
    bands = array if array.ndim == 3 else array[None]
    profile = dict(driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0])
    profile |= dict(dtype=bands.dtype, crs=crs, transform=transform, nodata=nodata, **extra)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(bands)
    return path


def _check(ortho, **kwargs):
    return check_inputs(PipelineInputs(ortho=ortho, **kwargs), PipelineConfig())


def test_a_truncated_orthophoto_is_refused(small_scene_files, tmp_path):
    data = small_scene_files["ortho"].read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError):
        _check(cut, dsm=small_scene_files["dsm"])


def test_a_header_claiming_ten_billion_pixels_is_refused_before_reading(tmp_path):
    bomb = tmp_path / "bomb.tif"
    profile = dict(driver="GTiff", width=100_000, height=100_000, count=3, dtype="uint8", crs="EPSG:32631")
    with rasterio.open(bomb, "w", transform=T, tiled=True, sparse_ok=True, compress="deflate", **profile):
        pass  # nothing written: a few kB on disk that claim 30 GB of pixels
    assert bomb.stat().st_size < 5_000_000
    with pytest.raises(InputError, match="pixels"):
        _check(bomb)


@pytest.mark.parametrize("fill", [np.nan, np.inf, -np.inf])
def test_a_dsm_without_one_finite_height_is_refused(small_scene_files, tmp_path, fill):
    with rasterio.open(small_scene_files["dsm"]) as src:
        shape, crs, transform = (src.height, src.width), src.crs, src.transform
    bad = _tif(tmp_path / "bad_dsm.tif", np.full(shape, fill, np.float32), crs=crs, transform=transform)
    with pytest.raises(InputError):
        run_pipeline(PipelineInputs(ortho=small_scene_files["ortho"], dsm=bad), PipelineConfig(), tmp_path / "o")


def test_a_dsm_with_some_infinite_heights_reconstructs_without_them(small_scene_files, tmp_path):
    with rasterio.open(small_scene_files["dsm"]) as src:
        dsm, crs, transform = src.read(1), src.crs, src.transform
    dsm[::7, ::5] = np.inf
    dsm[3::11, ::3] = -np.inf
    spiky = _tif(tmp_path / "spiky.tif", dsm, crs=crs, transform=transform)
    result = run_pipeline(PipelineInputs(ortho=small_scene_files["ortho"], dsm=spiky), PipelineConfig(), tmp_path / "o")
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["stats"]["points"] > 0 and np.isfinite(manifest["ground_height_m"])
    with rasterio.open(tmp_path / "o" / result.manifest["rasters"]["dsm"]) as src:
        assert np.isfinite(src.read(1, masked=True).compressed()).all()


def test_a_small_deflate_file_that_unpacks_to_gigabytes_is_refused_naming_the_setting(tmp_path):
    bomb = tmp_path / "zeros.tif"
    profile = dict(driver="GTiff", width=30_000, height=30_000, count=3, dtype="uint8", crs="EPSG:32631")
    with rasterio.open(bomb, "w", transform=T, tiled=True, sparse_ok=True, compress="deflate", **profile):
        pass  # 2.7 GB of pixels in a few kB
    code, report = run_check("--ortho", bomb, env={"RS3D_MAX_RASTER_BYTES": "2_000_000_000"})
    message = report["message"]
    assert code == 2 and "unpacks to 2.7 GB" in message and "limit of 2.0 GB" in message
    assert "RS3D_MAX_RASTER_BYTES" in message


@pytest.mark.parametrize("kind", ["one colour", "zeros compressed", "all nodata", "flat DSM"])
def test_imagery_that_holds_no_information_is_refused(small_scene_files, tmp_path, kind):
    with rasterio.open(small_scene_files["ortho"]) as src:
        shape, crs, transform = (src.height, src.width), src.crs, src.transform
    place = dict(crs=crs, transform=transform)
    if kind == "flat DSM":
        flat = _tif(tmp_path / "flat.tif", np.full(shape, 42.0, np.float32), **place)
        with pytest.raises(InputError, match=r"no information: every pixel has the same height \(42\)"):
            _check(small_scene_files["ortho"], dsm=flat)
        return
    if kind == "one colour":
        image = _tif(tmp_path / "grey.tif", np.full((3, *shape), 128, np.uint8), **place)
        reason = r"no information: every pixel has the same colour \(128, 128, 128\)"
    elif kind == "zeros compressed":  # the review's case, smaller: DEFLATE zeros, a few kB for 48 MB of pixels
        image = _tif(tmp_path / "zeros.tif", np.zeros((3, 4000, 4000), np.uint8), compress="deflate", **place)
        assert image.stat().st_size < 200_000
        reason = r"no information: every pixel has the same colour \(0, 0, 0\)"
    else:
        image = _tif(tmp_path / "empty.tif", np.zeros((3, *shape), np.uint8), nodata=0, **place)
        reason = "holds no pixels: every one is nodata"
    with pytest.raises(InputError, match=reason):
        _check(image)


def test_inputs_in_crs_far_apart_are_refused(small_scene_files, tmp_path):
    heights = np.arange(1600, dtype=np.float32).reshape(40, 40) / 100
    elsewhere = _tif(tmp_path / "far.tif", heights, crs="EPSG:2154")
    with pytest.raises(InputError, match="overlap"):
        _check(small_scene_files["ortho"], dsm=elsewhere)


def test_a_las_claiming_a_billion_points_is_refused(shared_data, tmp_path):
    real = (shared_data / "bad_inputs" / "no_crs.laz").read_bytes()
    # Rewrite the legacy and 1.4 point counts of a real LAZ header to one billion.
    las = bytearray(real)
    version_minor = las[25]
    struct.pack_into("<I", las, 107, 1_000_000_000)
    if version_minor >= 4:
        struct.pack_into("<Q", las, 247, 1_000_000_000)
    liar = tmp_path / "liar.laz"
    liar.write_bytes(bytes(las))
    with pytest.raises(InputError, match="point"):
        inspect_lidar(liar, 2154, Limits().max_lidar_points)


def test_a_zip_with_parent_members_is_read_without_writing_outside(small_scene, tmp_path):
    import geopandas as gpd

    gpkg = tmp_path / "inner.gpkg"
    gpd.GeoDataFrame(geometry=[b["footprint"] for b in small_scene.buildings], crs=small_scene.crs).to_file(gpkg)
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(gpkg, "../../escaped.gpkg")
        z.writestr("../../../tmp/owned.txt", "owned")
    try:
        inspect_footprints(archive, None)
    except InputError:
        pass  # refusing is fine; what matters is that nothing was written
    for folder in (tmp_path.parent, tmp_path.parent.parent, tmp_path.parent.parent.parent):
        assert not (folder / "escaped.gpkg").exists() and not (folder / "owned.txt").exists()


def test_markup_in_file_names_reaches_messages_as_plain_text(tmp_path):
    name = tmp_path / "<img src=x onerror=alert(1)>.tif"
    name.write_bytes(b"not a tiff at all")
    code, report = run_check("--ortho", name)
    assert code == 2
    assert "<img src=x onerror=alert(1)>.tif" in report["message"]  # the web page escapes it (backend tests)
