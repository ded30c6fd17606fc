import math

import morecantile
import numpy as np
import pytest
import rasterio
from affine import Affine
from PIL import Image
from pyproj import Transformer

from reconstruction.io.raster import inspect_raster
from reconstruction.tiles3d import write_xyz_tiles, xyz
from reconstruction.tiles3d.xyz import plan_zooms, tile_bounds_3857, tile_count, tile_range

# A 200 m square orthophoto at 0.25 m in UTM 31N near Montpellier (about 43.6 N), grey, with a 20 m red
# square whose south-west corner is 60 m east and 80 m north of the image's south-west corner.
ORIGIN = (572_000.0, 4_828_000.0)  # west, north (EPSG:32631)
SIZE_M, RES = 200.0, 0.25
SQUARE = (60.0, 80.0, 20.0)  # east offset, north offset, side (metres)
GREY, RED = (120, 120, 120), (220, 30, 30)


def _ortho(path, dtype="uint8", nodata=None, hole=False):
    n = int(SIZE_M / RES)
    bands = np.empty((3, n, n), dtype=dtype)
    bands[:] = np.array(GREY, dtype=dtype)[:, None, None]
    east, north, side = SQUARE
    rows = slice(int((SIZE_M - north - side) / RES), int((SIZE_M - north) / RES))
    cols = slice(int(east / RES), int((east + side) / RES))
    bands[:, rows, cols] = np.array(RED, dtype=dtype)[:, None, None]
    if dtype == "uint16":
        bands = bands * 100  # a 16-bit image, stretched back to 8 bit for display
    if hole:
        bands[:, : n // 4, : n // 4] = nodata  # the north-west quarter-by-quarter has no data
    profile = {"driver": "GTiff", "width": n, "height": n, "count": 3, "dtype": dtype, "crs": "EPSG:32631"}
    with rasterio.open(
        path, "w", **profile, transform=Affine(RES, 0.0, ORIGIN[0], 0.0, -RES, ORIGIN[1]), nodata=nodata
    ) as dst:
        dst.write(bands)
    return inspect_raster(path, "orthophoto", None, 10**9)


def _mosaic(folder, zoom):
    """The level's tiles stitched into one RGBA array and the 3857 (left, top) of its corner, pixel size."""
    level = folder / str(zoom)
    xs = sorted(int(p.name) for p in level.iterdir())
    ys = sorted(int(p.stem) for p in (level / str(xs[0])).iterdir())
    size = xyz.TILE_SIZE
    out = np.zeros((len(ys) * size, len(xs) * size, 4), np.uint8)
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            with Image.open(level / str(x) / f"{y}.webp") as tile:
                assert tile.size == (size, size)
                out[j * size : (j + 1) * size, i * size : (i + 1) * size] = np.asarray(tile.convert("RGBA"))
    left, _, right, top = tile_bounds_3857(xs[0], ys[0], zoom)
    return out, left, top, (right - left) / size


def _square_in_3857():
    """The red square's (left, bottom, right, top) in Web Mercator metres."""
    to_3857 = Transformer.from_crs(32631, 3857, always_xy=True)
    east, north, side = SQUARE
    x0, y0 = ORIGIN[0] + east, ORIGIN[1] - SIZE_M + north
    xs, ys = to_3857.transform([x0, x0 + side, x0, x0 + side], [y0, y0, y0 + side, y0 + side])
    return min(xs), min(ys), max(xs), max(ys)


@pytest.fixture(scope="module")
def pyramid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xyz")
    info = _ortho(folder / "ortho.tif")
    return write_xyz_tiles(info, folder / "tiles"), folder / "tiles"


def test_tile_bounds_are_morecantile_web_mercator_tiles():
    tms = morecantile.tms.get("WebMercatorQuad")
    half = math.pi * 6378137.0
    assert tile_bounds_3857(0, 0, 0) == pytest.approx((-half, -half, half, half))
    for x, y, z in [(267785, 191460, 19), (1, 2, 3), (524287, 0, 19)]:
        box = tms.xy_bounds(morecantile.Tile(x, y, z))
        size = 2 * half / 2**z
        assert tile_bounds_3857(x, y, z) == pytest.approx((box.left, box.bottom, box.right, box.top))
        assert tile_bounds_3857(x, y, z) == pytest.approx(
            (-half + x * size, half - (y + 1) * size, -half + (x + 1) * size, half - y * size)
        )
    bounds = (3.87, 43.59, 3.88, 43.60)
    expected = list(tms.tiles(*bounds, zooms=[17]))
    x0, y0, x1, y1 = tile_range(bounds, 17)
    assert {(t.x, t.y) for t in expected} == {(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}


def test_zooms_go_from_a_few_tiles_to_the_native_resolution_within_the_tile_budget():
    # 1 km2 at 0.25 m near 43.6 N: native is zoom 18 (0.216 m on the ground with 512 px tiles), about a hundred.
    lon, lat = 3.87, 43.6
    dlon, dlat = 1000 / (111_320 * math.cos(math.radians(lat))), 1000 / 111_320
    km = (lon, lat, lon + dlon, lat + dlat)
    minzoom, maxzoom = plan_zooms(km, 0.25)
    assert maxzoom == 18
    assert tile_count(km, minzoom) <= xyz.MIN_ZOOM_TILES < tile_count(km, minzoom + 1)
    assert sum(tile_count(km, z) for z in range(minzoom, maxzoom + 1)) < 1000
    # 20 km x 20 km at 0.1 m: the deepest level is capped by the tile budget, not by the resolution.
    big = (lon, lat, lon + 20 * dlon, lat + 20 * dlat)
    minzoom, maxzoom = plan_zooms(big, 0.1)
    assert maxzoom < 20 and tile_count(big, maxzoom) <= xyz.MAX_TILES_AT_MAXZOOM < tile_count(big, maxzoom + 1)
    assert sum(tile_count(big, z) for z in range(minzoom, maxzoom + 1)) < 4 / 3 * xyz.MAX_TILES_AT_MAXZOOM + 10
    # A tiny area or a coarse one never goes deeper than MAX_ZOOM nor shallower than 0.
    assert plan_zooms((lon, lat, lon + 1e-5, lat + 1e-5), 0.01) == (xyz.MAX_ZOOM, xyz.MAX_ZOOM)
    assert plan_zooms((-170.0, -80.0, 170.0, 80.0), 1e6) == (0, 0)


def test_every_tile_in_the_bounds_is_written_as_512_px_webp(pyramid):
    result, folder = pyramid
    assert (result.minzoom, result.maxzoom) == (17, 18)  # 0.25 m: 0.43 m and 0.22 m per pixel
    files = sorted(folder.rglob("*.webp"))
    assert len(files) == result.tiles == sum(tile_count(result.bounds_wgs84, z) for z in range(17, 19))
    assert result.bytes == sum(p.stat().st_size for p in files)
    for zoom in range(result.minzoom, result.maxzoom + 1):
        x0, y0, x1, y1 = tile_range(result.bounds_wgs84, zoom)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                assert (folder / str(zoom) / str(x) / f"{y}.webp").is_file()
    entry = result.to_dict("imagery/ortho")
    assert entry["template"] == "imagery/ortho/{z}/{x}/{y}.webp"
    assert (entry["minzoom"], entry["maxzoom"], entry["tile_size"]) == (17, 18, 512)
    assert entry["bounds_wgs84"] == pytest.approx(list(result.bounds_wgs84))


@pytest.mark.parametrize("zoom_offset", [0, 1])
def test_the_red_square_lands_on_its_web_mercator_pixels(pyramid, zoom_offset):
    result, folder = pyramid
    image, left, top, pixel = _mosaic(folder, result.maxzoom - zoom_offset)
    red = (image[..., 0] > 170) & (image[..., 1] < 80) & (image[..., 3] == 255)
    rows, cols = np.nonzero(red)
    west, south, east, north = _square_in_3857()
    expected = ((west - left) / pixel, (top - north) / pixel, (east - left) / pixel, (top - south) / pixel)
    found = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
    assert found == pytest.approx(expected, abs=1.5)
    centre = red[int((expected[1] + expected[3]) / 2), int((expected[0] + expected[2]) / 2)]
    assert centre


def test_alpha_is_zero_outside_the_data_and_opaque_inside(pyramid):
    result, folder = pyramid
    image, left, top, pixel = _mosaic(folder, result.maxzoom)
    rows, cols = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    to_utm = Transformer.from_crs(3857, 32631, always_xy=True)
    east, north = to_utm.transform(left + (cols + 0.5) * pixel, top - (rows + 0.5) * pixel)
    # Distance (metres, negative inside) from each pixel centre to the orthophoto's edge.
    outside_by = np.maximum.reduce(
        [ORIGIN[0] - east, east - ORIGIN[0] - SIZE_M, ORIGIN[1] - SIZE_M - north, north - ORIGIN[1]]
    )
    alpha = image[..., 3]
    assert (alpha[outside_by < -0.5] == 255).all()
    assert (outside_by > 0.5).sum() > 10_000
    assert (alpha[outside_by > 0.5] == 0).all()


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_nodata_is_transparent_and_16_bit_is_stretched_alike_everywhere(tmp_path, dtype):
    info = _ortho(tmp_path / "ortho.tif", dtype=dtype, nodata=0, hole=True)
    result = write_xyz_tiles(info, tmp_path / "tiles")
    image, left, top, pixel = _mosaic(tmp_path / "tiles", result.maxzoom)
    to_3857 = Transformer.from_crs(32631, 3857, always_xy=True)
    hx, hy = to_3857.transform(ORIGIN[0] + SIZE_M / 8, ORIGIN[1] - SIZE_M / 8)  # middle of the hole
    assert image[int((top - hy) / pixel), int((hx - left) / pixel), 3] == 0
    gx, gy = to_3857.transform(ORIGIN[0] + SIZE_M * 0.9, ORIGIN[1] - SIZE_M * 0.9)
    grey = image[int((top - gy) / pixel), int((gx - left) / pixel)]
    assert grey[3] == 255
    # One colour for the grey of every tile (a per-tile stretch would shift it): compare tile medians.
    medians = [
        np.median(tile[tile[..., 3] == 255][:, :3], axis=0)
        for row in np.split(image, image.shape[0] // xyz.TILE_SIZE)
        for tile in np.split(row, image.shape[1] // xyz.TILE_SIZE, axis=1)
        if (tile[..., 3] == 255).mean() > 0.5
    ]
    assert len(medians) >= 4 and np.ptp(medians, axis=0).max() <= 2
    if dtype == "uint8":
        assert np.abs(grey[:3].astype(int) - GREY).max() <= 3  # lossy WebP


def test_the_orthophoto_is_read_in_bounded_windows(tmp_path, monkeypatch):
    windows = []

    class RecordingVRT(xyz.WarpedVRT):
        def read(self, *args, **kwargs):
            windows.append(kwargs.get("window"))
            return super().read(*args, **kwargs)

    monkeypatch.setattr(xyz, "WarpedVRT", RecordingVRT)
    monkeypatch.setattr(xyz, "_CHUNK", 2)
    info = _ortho(tmp_path / "ortho.tif")
    result = write_xyz_tiles(info, tmp_path / "tiles")
    assert len(windows) > 1
    assert all(w is not None and w.width <= 2 * xyz.TILE_SIZE and w.height <= 2 * xyz.TILE_SIZE for w in windows)
    assert result.tiles == len(list((tmp_path / "tiles").rglob("*.webp")))


def test_a_rerun_replaces_the_old_tiles(tmp_path, pyramid):
    stale = tmp_path / "tiles" / "5" / "0" / "0.webp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    write_xyz_tiles(_ortho(tmp_path / "ortho.tif"), tmp_path / "tiles")
    assert not stale.exists()
