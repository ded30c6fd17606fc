"""Check satellite stereo inputs before any matching: readable rasters, RPC camera models, 2 or 3 views."""

import math
from dataclasses import dataclass
from pathlib import Path

from reconstruction.errors import InputError, OverlapError, library_reason

#: Smallest and largest image side accepted, in pixels. Below the minimum, dense matching has too little
#: context; above the maximum, the embedded (single-machine) mode would run for hours: split the scene.
MIN_SIDE = 64
MAX_PIXELS = 40_000 * 40_000


@dataclass(frozen=True)
class StereoImage:
    """One satellite view: file, size, RPC centre and heights, and the ground its corners may cover.

    Degrees for lon/lat, metres above the WGS84 ellipsoid for heights; ``ground_box`` is
    (west, south, east, north) over the RPC height range.
    """

    path: Path
    width: int
    height: int
    bands: int
    dtype: str
    centre_lon: float
    centre_lat: float
    height_offset_m: float
    height_scale_m: float
    ground_box: tuple[float, float, float, float]


def check_stereo_images(images: list[Path]) -> list[StereoImage]:
    """Check that ``images`` are 2 or 3 readable rasters that carry RPC camera models.

    Args:
        images: GeoTIFF or NITF files (any format GDAL reads) with RPC metadata, in the order
            they should be paired (the first is the reference view).

    Returns:
        One :class:`StereoImage` per file, in the given order.

    Raises:
        InputError: a file is missing, unreadable, has no RPCs, is too small or too large, or
            the number of files is not 2 or 3. The message names the file and what to do.
    """
    if len(images) not in (2, 3):
        raise InputError(
            f"A stereo reconstruction needs 2 or 3 images of the same area; {len(images)} "
            f"{'was' if len(images) == 1 else 'were'} given. Upload a stereo pair or triplet."
        )
    if len({Path(p).resolve() for p in images}) != len(images):
        raise InputError("The same image was given twice; a stereo pair needs two different views.")
    checked = [_check_one(Path(path)) for path in images]
    first = checked[0]
    for other in checked[1:]:
        if not _boxes_overlap(first.ground_box, other.ground_box):
            raise OverlapError(
                f"{first.path.name} and {other.path.name} do not see the same ground: their footprints (from the "
                f"RPCs, for any height from {first.height_offset_m - first.height_scale_m:.0f} to "
                f"{first.height_offset_m + first.height_scale_m:.0f} m) do not meet. Upload views of one area, cut "
                "so that they overlap, with RPCs that match the cut (GDAL adjusts them when it crops)."
            )
    return checked


def _boxes_overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _ground_box(rpcs: object, width: int, height: int) -> tuple[float, float, float, float]:
    """Lon/lat box that the image corners cover over the RPC height range (clipped to -500..9000 m)."""
    from rasterio.transform import RPCTransformer

    low = max(rpcs.height_off - rpcs.height_scale, -500.0)  # type: ignore[attr-defined]
    high = min(rpcs.height_off + rpcs.height_scale, 9000.0)  # type: ignore[attr-defined]
    rows, cols = [0, 0, height, height] * 2, [0, width, 0, width] * 2
    with RPCTransformer(rpcs) as transformer:
        lon, lat = transformer.xy(rows, cols, zs=[low] * 4 + [high] * 4, offset="ul")
    return float(min(lon)), float(min(lat)), float(max(lon)), float(max(lat))


def _check_one(path: Path) -> StereoImage:
    from rasterio.errors import RasterioError

    from reconstruction.io.user_files import STEREO_FORMATS, open_raster

    try:
        with open_raster(path, f"stereo image '{path.name}'", STEREO_FORMATS) as src:  # GeoTIFF or NITF only
            rpcs = src.rpcs
            width, height, bands, dtype = src.width, src.height, src.count, src.dtypes[0]
            src.read(1, window=((0, min(16, height)), (0, min(16, width))))
    except RasterioError as err:
        raise InputError(
            f"{path.name} cannot be read as a raster image ({library_reason(err)}). "
            "Upload a GeoTIFF or NITF satellite image."
        ) from err
    if rpcs is None:
        raise InputError(
            f"{path.name} carries no RPC camera model, so its pixels cannot be located on the ground. "
            "Upload the image as delivered by the provider (NITF with RPC00B, or GeoTIFF with RPC tags), "
            "or put the provider's RPC file next to it (GDAL reads <name>_RPC.TXT or <name>.RPB)."
        )
    if min(width, height) < MIN_SIDE:
        raise InputError(f"{path.name} is {width} x {height} pixels; a stereo view needs at least {MIN_SIDE} a side.")
    if width * height > MAX_PIXELS:
        raise InputError(
            f"{path.name} is {width} x {height} pixels, more than this installation handles in one job; "
            "crop the views to the area of interest."
        )
    if bands > 4:
        raise InputError(f"{path.name} has {bands} bands; upload the panchromatic or an RGB(N) view.")
    return StereoImage(
        path=path,
        width=width,
        height=height,
        bands=bands,
        dtype=dtype,
        centre_lon=float(rpcs.long_off),
        centre_lat=float(rpcs.lat_off),
        height_offset_m=float(rpcs.height_off),
        height_scale_m=float(rpcs.height_scale),
        ground_box=_usable_ground_box(path, rpcs, width, height),
    )


def _usable_ground_box(path: Path, rpcs: object, width: int, height: int) -> tuple[float, float, float, float]:
    """:func:`_ground_box`, or why the RPCs cannot place the image (damaged or inconsistent coefficients)."""
    try:
        box = _ground_box(rpcs, width, height)
    except Exception as err:  # noqa: BLE001 - GDAL's RPC transformer raises its private CPLE_* classes
        box, reason = (float("nan"),) * 4, library_reason(err)
    else:
        reason = "they place its corners nowhere on Earth"
    west, south, east, north = box
    if all(map(math.isfinite, box)) and -180 <= west < east <= 180 and -90 <= south < north <= 90:
        return box
    raise InputError(
        f"The RPC camera model of {path.name} is damaged: GDAL cannot use it ({reason}). Upload the image with "
        "the RPCs exactly as the provider delivered them."
    )
