"""The orthophoto as a pyramid of Web Mercator XYZ tiles (512 px WebP, transparent outside the data)."""

import io
import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from PIL import Image
from pyproj import CRS
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from reconstruction.errors import InputError
from reconstruction.io.raster import RasterInfo

if TYPE_CHECKING:
    from morecantile import TileMatrixSet

#: Pixels on a tile's side: 512, as most current basemaps. A tile at zoom z covers the same ground as a 256 px
#: one (the same x/y grid) with twice the pixels on a side, so a view needs about a quarter of the requests
#: for the same bytes: the viewer asks one level shallower. Versions written before had 256 px tiles; the
#: manifest says the size (``tile_size``, absent then) and the area API passes it on.
TILE_SIZE = 512
#: Deepest zoom ever written (about 3.7 cm per pixel at the equator with 512 px tiles).
MAX_ZOOM = 21
#: At most this many tiles at the deepest level; a larger area gets a coarser deepest level (the whole
#: pyramid is then at most 4/3 of it, about 5,500 tiles: as many pixels as 16,384 tiles of 256 px).
MAX_TILES_AT_MAXZOOM = 4096
#: The shallowest level is the deepest one at which the area still fits in this many tiles.
MIN_ZOOM_TILES = 4
#: Where the tiles go, relative to the folder given to :func:`write_xyz_tiles`. Lossy WebP with an alpha
#: plane: a tenth of PNG's size on aerial imagery and about 3x faster to encode; every browser Cesium
#: supports decodes it.
TEMPLATE = "{z}/{x}/{y}.webp"
#: WebP quality of the colour planes (alpha is lossless).
WEBP_QUALITY = 85

_EARTH_CIRCUMFERENCE_M = 2 * math.pi * 6378137.0
_MAX_LATITUDE = 85.0511287798
# Tiles rendered from the orthophoto per warped read at the deepest level: CHUNK x CHUNK tiles.
_CHUNK = 8

Bounds = tuple[float, float, float, float]
TileRange = tuple[int, int, int, int]


class XyzTilesDict(TypedDict):
    """The manifest's description of a tile pyramid (``imagery.ortho.tiles``)."""

    template: str
    tile_size: int
    minzoom: int
    maxzoom: int
    bounds_wgs84: list[float]


@dataclass(frozen=True)
class TilePyramid:
    """What :func:`write_xyz_tiles` wrote.

    Attributes:
        minzoom: shallowest zoom level written.
        maxzoom: deepest zoom level written.
        bounds_wgs84: the orthophoto's (west, south, east, north) in degrees; tiles cover it.
        tiles: number of tile files.
        bytes: their total size.
    """

    minzoom: int
    maxzoom: int
    bounds_wgs84: Bounds
    tiles: int
    bytes: int

    def to_dict(self, folder: str) -> XyzTilesDict:
        """The manifest entry; ``folder`` is where the tiles were written, relative to the output folder."""
        return {
            "template": f"{folder}/{TEMPLATE}",
            "tile_size": TILE_SIZE,
            "minzoom": self.minzoom,
            "maxzoom": self.maxzoom,
            "bounds_wgs84": [round(v, 9) for v in self.bounds_wgs84],
        }


def plan_zooms(bounds_wgs84: Bounds, resolution_m: float) -> tuple[int, int]:
    """Zoom levels for an area: (shallowest, deepest).

    The deepest level is the one nearest the orthophoto's ground resolution at the area's centre, capped
    at :data:`MAX_ZOOM` and at :data:`MAX_TILES_AT_MAXZOOM` tiles; the shallowest is the deepest level at
    which the area fits in :data:`MIN_ZOOM_TILES` tiles.

    Args:
        bounds_wgs84: (west, south, east, north) in degrees.
        resolution_m: orthophoto pixel size on the ground, metres.
    """
    latitude = math.radians((bounds_wgs84[1] + bounds_wgs84[3]) / 2)
    ground_m = _EARTH_CIRCUMFERENCE_M * math.cos(latitude) / TILE_SIZE  # one pixel at zoom 0
    maxzoom = min(MAX_ZOOM, max(0, round(math.log2(ground_m / resolution_m))))
    while maxzoom > 0 and tile_count(bounds_wgs84, maxzoom) > MAX_TILES_AT_MAXZOOM:
        maxzoom -= 1
    minzoom = 0
    while minzoom < maxzoom and tile_count(bounds_wgs84, minzoom + 1) <= MIN_ZOOM_TILES:
        minzoom += 1
    return minzoom, maxzoom


def tile_range(bounds_wgs84: Bounds, zoom: int) -> TileRange:
    """The tiles covering ``bounds_wgs84`` at ``zoom``: (first x, first y, last x, last y), inclusive."""
    west, south, east, north = _clamped(bounds_wgs84)
    eps = 1e-9  # an edge exactly on a tile boundary does not pull in the next tile
    top_left = _tms().tile(west + eps, north - eps, zoom)
    bottom_right = _tms().tile(max(west + eps, east - eps), min(north - eps, south + eps), zoom)
    return top_left.x, top_left.y, bottom_right.x, bottom_right.y


def tile_count(bounds_wgs84: Bounds, zoom: int) -> int:
    """How many tiles cover ``bounds_wgs84`` at ``zoom``."""
    x0, y0, x1, y1 = tile_range(bounds_wgs84, zoom)
    return (x1 - x0 + 1) * (y1 - y0 + 1)


def tile_bounds_3857(x: int, y: int, zoom: int) -> Bounds:
    """A tile's (left, bottom, right, top) in Web Mercator metres (EPSG:3857)."""
    from morecantile import Tile

    box = _tms().xy_bounds(Tile(x, y, zoom))
    return (box.left, box.bottom, box.right, box.top)


def write_xyz_tiles(info: RasterInfo, folder: Path, on_progress: Callable[[float], None] | None = None) -> TilePyramid:
    """Write the orthophoto as 512 px WebP tiles ``folder/{z}/{x}/{y}.webp`` in Web Mercator (EPSG:3857).

    The deepest level is warped from the orthophoto a block of tiles at a time (bounded memory, whatever
    the orthophoto's size); each shallower level is averaged from the four tiles below it. Every tile
    inside the area's bounds is written, so a viewer limited to those bounds never meets a missing tile;
    pixels without data are transparent.

    Args:
        info: the validated orthophoto (RGB or RGB+NIR, 8 or 16 bit; bands 1-3 are drawn).
        folder: where the pyramid goes; emptied first.
        on_progress: called with the fraction done, 0..1.

    Raises:
        InputError: the orthophoto cannot be read or warped.
    """
    bounds = _clamped(info.bounds_in(CRS.from_epsg(4326)))
    minzoom, maxzoom = plan_zooms(bounds, _ground_resolution_m(info, bounds))
    counts = {z: tile_count(bounds, z) for z in range(minzoom, maxzoom + 1)}
    total = sum(counts.values())
    if folder.exists():
        shutil.rmtree(folder)
    progress = _Progress(total, on_progress)
    try:
        _render_deepest(info, folder, maxzoom, tile_range(bounds, maxzoom), progress)
    except RasterioError as err:
        raise InputError(
            f"The orthophoto '{info.path.name}' could not be cut into web tiles ({err}); "
            "check that the file is a readable GeoTIFF."
        ) from err
    for zoom in range(maxzoom - 1, minzoom - 1, -1):
        _render_from_children(folder, zoom, tile_range(bounds, zoom), progress)
    size = sum(p.stat().st_size for p in folder.rglob("*.webp"))
    return TilePyramid(minzoom=minzoom, maxzoom=maxzoom, bounds_wgs84=bounds, tiles=total, bytes=size)


@cache
def _tms() -> "TileMatrixSet":
    """Web Mercator's tile matrix set (morecantile, imported when first needed)."""
    import morecantile

    return morecantile.tms.get("WebMercatorQuad")


class _Progress:
    """Counts written tiles and reports the fraction done, at most once per percent."""

    def __init__(self, total: int, callback: Callable[[float], None] | None) -> None:
        self._total = max(1, total)
        self._done = 0
        self._reported = -1
        self._callback = callback

    def advance(self, n: int) -> None:
        self._done += n
        percent = 100 * self._done // self._total
        if self._callback is not None and percent > self._reported:
            self._reported = percent
            self._callback(min(1.0, self._done / self._total))


def _clamped(bounds: Bounds) -> Bounds:
    west, south, east, north = bounds
    return (max(-180.0, west), max(-_MAX_LATITUDE, south), min(180.0, east), min(_MAX_LATITUDE, north))


def _ground_resolution_m(info: RasterInfo, bounds: Bounds) -> float:
    """The orthophoto's pixel size in metres on the ground."""
    if info.crs.is_geographic:
        latitude = math.radians((bounds[1] + bounds[3]) / 2)
        return info.resolution * _EARTH_CIRCUMFERENCE_M / 360 * max(math.cos(latitude), 1e-6)
    return info.resolution * float(info.crs.axis_info[0].unit_conversion_factor)


def _render_deepest(info: RasterInfo, folder: Path, zoom: int, tiles: TileRange, progress: _Progress) -> None:
    """Warp the orthophoto onto the tile grid of ``zoom``, CHUNK x CHUNK tiles per read."""
    x0, y0, x1, y1 = tiles
    left, _, right, top = tile_bounds_3857(x0, y0, zoom)
    pixel = (right - left) / TILE_SIZE
    nx, ny = x1 - x0 + 1, y1 - y0 + 1
    with info.open() as src:
        limits = _stretch_limits(src, info)
        # A 4th band tagged alpha that holds no mask (near-infrared under GDAL's default tag): the warper would
        # take it as the alpha, and refuses to add another. Warp in float32 with NaN outside the image instead,
        # and make the alpha from what the image covers.
        untrusted_alpha = info.alpha_band is None and ColorInterp.alpha in src.colorinterp
        alpha_options = (
            {"src_alpha": -1, "dtype": "float32", "nodata": np.nan}
            if untrusted_alpha
            else {"add_alpha": info.alpha_band is None}  # an image's own mask stays its alpha
        )
        with WarpedVRT(
            src,
            src_crs=info.crs,
            src_nodata=info.nodata,
            crs="EPSG:3857",
            transform=Affine(pixel, 0.0, left, 0.0, -pixel, top),
            width=nx * TILE_SIZE,
            height=ny * TILE_SIZE,
            resampling=Resampling.bilinear,
            **alpha_options,
        ) as vrt:
            for cx, cy, cw, ch in _chunks(nx, ny):
                window = Window(cx * TILE_SIZE, cy * TILE_SIZE, cw * TILE_SIZE, ch * TILE_SIZE)
                if untrusted_alpha:
                    block = vrt.read([1, 2, 3], window=window)
                    alpha = np.where(np.isfinite(block[:1]), 255, 0).astype(np.uint8)
                    colour = np.nan_to_num(block).astype(info.dtype)
                    rgba = np.concatenate([_to_rgb8(colour, info.dtype, limits), alpha])
                else:
                    block = vrt.read([1, 2, 3, vrt.count], window=window)
                    rgba = np.concatenate([_to_rgb8(block[:3], info.dtype, limits), _alpha8(block[3:])])
                for i in range(cw):
                    for j in range(ch):
                        tile = rgba[:, j * TILE_SIZE : (j + 1) * TILE_SIZE, i * TILE_SIZE : (i + 1) * TILE_SIZE]
                        _write_tile(folder, zoom, x0 + cx + i, y0 + cy + j, np.moveaxis(tile, 0, -1))
                progress.advance(cw * ch)


def _chunks(nx: int, ny: int) -> Iterator[tuple[int, int, int, int]]:
    """(first column, first row, columns, rows) of each block of at most CHUNK x CHUNK tiles."""
    for cy in range(0, ny, _CHUNK):
        for cx in range(0, nx, _CHUNK):
            yield cx, cy, min(_CHUNK, nx - cx), min(_CHUNK, ny - cy)


def _render_from_children(folder: Path, zoom: int, tiles: TileRange, progress: _Progress) -> None:
    """Each tile of ``zoom`` as the alpha-weighted 2 x 2 average of its four children."""
    x0, y0, x1, y1 = tiles
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            mosaic = np.zeros((2 * TILE_SIZE, 2 * TILE_SIZE, 4), dtype=np.float32)
            for dx in (0, 1):
                for dy in (0, 1):
                    child = _tile_path(folder, zoom + 1, 2 * x + dx, 2 * y + dy)
                    if child.is_file():
                        with Image.open(child) as image:
                            mosaic[dy * TILE_SIZE : (dy + 1) * TILE_SIZE, dx * TILE_SIZE : (dx + 1) * TILE_SIZE] = (
                                np.asarray(image.convert("RGBA"))
                            )
            _write_tile(folder, zoom, x, y, _halve(mosaic))
        progress.advance(y1 - y0 + 1)


def _halve(mosaic: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """(2N, 2N, 4) RGBA to (N, N, 4): colours averaged weighted by alpha, alpha averaged."""
    alpha = mosaic[..., 3:]
    weight = _sum_2x2(alpha)
    rgb = _sum_2x2(mosaic[..., :3] * alpha) / np.maximum(weight, 1e-6)
    out = np.concatenate([rgb, weight / 4], axis=-1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _sum_2x2(image: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Sum of each 2 x 2 block of pixels of an (H, W, C) image."""
    return image[0::2, 0::2] + image[1::2, 0::2] + image[0::2, 1::2] + image[1::2, 1::2]


def _write_tile(folder: Path, zoom: int, x: int, y: int, rgba: npt.NDArray[np.uint8]) -> None:
    """One (512, 512, 4) tile as WebP: RGB when opaque, RGBA otherwise, a tiny transparent image when empty."""
    path = _tile_path(folder, zoom, x, y)
    path.parent.mkdir(parents=True, exist_ok=True)
    alpha = rgba[..., 3]
    if not alpha.any():
        path.write_bytes(_empty_tile())
    elif alpha.min() == 255:
        Image.fromarray(np.ascontiguousarray(rgba[..., :3]), "RGB").save(path, "WEBP", quality=WEBP_QUALITY)
    else:
        Image.fromarray(np.ascontiguousarray(rgba), "RGBA").save(path, "WEBP", quality=WEBP_QUALITY)


def _tile_path(folder: Path, zoom: int, x: int, y: int) -> Path:
    return folder / TEMPLATE.format(z=zoom, x=x, y=y)


def _stretch_limits(src: rasterio.DatasetReader, info: RasterInfo) -> npt.NDArray[np.float64] | None:
    """Per-band (2nd, 98th) percentiles of a 16-bit orthophoto from a reduced read (None for 8 bit).

    The same limits serve every tile, so neighbouring tiles match (``to_rgb8`` would stretch each alone).
    """
    if info.dtype == "uint8":
        return None
    scale = max(1.0, max(src.width, src.height) / 1024)
    shape = (3, max(1, round(src.height / scale)), max(1, round(src.width / scale)))
    bands = src.read([1, 2, 3], out_shape=shape, masked=True).astype(np.float64)
    limits = np.zeros((3, 2))
    for i, band in enumerate(bands):
        valid = band.compressed()
        limits[i] = np.percentile(valid, [2, 98]) if valid.size else (0.0, 1.0)
    return limits


def _alpha8(alpha: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """The warper's alpha band (0 to the data type's maximum, 65535 for 16 bit) as 0..255."""
    maximum = np.iinfo(alpha.dtype.str).max if np.issubdtype(alpha.dtype, np.integer) else 255
    if maximum > 255:
        return np.rint(alpha.astype(np.float32) * (255 / maximum)).astype(np.uint8)
    return np.clip(alpha, 0, 255).astype(np.uint8)


def _to_rgb8(
    bands: npt.NDArray[np.generic], dtype: str, limits: npt.NDArray[np.float64] | None
) -> npt.NDArray[np.uint8]:
    """(3, H, W) orthophoto values to 8-bit colours with fixed per-band limits."""
    if limits is None or dtype == "uint8":
        return np.clip(bands, 0, 255).astype(np.uint8)
    low, high = limits[:, :1, None], limits[:, 1:, None]
    scaled = (bands.astype(np.float32) - low) / np.maximum(high - low, 1e-6) * 255
    return np.clip(np.nan_to_num(scaled), 0, 255).astype(np.uint8)


@cache
def _empty_tile() -> bytes:
    """A fully transparent tile, encoded once."""
    buffer = io.BytesIO()
    Image.new("RGBA", (TILE_SIZE, TILE_SIZE), (0, 0, 0, 0)).save(buffer, "WEBP", lossless=True)
    return buffer.getvalue()
