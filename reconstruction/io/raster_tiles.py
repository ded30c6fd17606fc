"""Several raster files of one input (a programme's orthophoto or DSM tiles) described and written as one.

Each tile is validated as a lone file is (:func:`~reconstruction.io.raster.inspect_raster`); the tiles are
then described together (:func:`combine_rasters`) and read tile by tile onto the working grid
(:func:`~reconstruction.io.raster.read_onto_grid`). No mosaic of the tiles' own pixels is ever built: where one
file is needed (web imagery, a registration reference), :func:`write_mosaic` writes the grid's.
"""

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.transform import from_origin

from reconstruction.errors import InputError
from reconstruction.io.grid import Bounds, Grid
from reconstruction.io.raster import HEIGHTS_IN_METRES, RasterInfo, RasterRole, inspect_raster

#: What stands for "no value" in a mosaic written by :func:`write_mosaic`: 0 in an image, this in a DSM.
DSM_NODATA = -9999.0


def inspect_raster_files(
    paths: Sequence[Path],
    role: RasterRole,
    epsg: int | None,
    max_pixels: int,
    max_bytes: int | None = None,
    z_unit: str | None = None,
) -> RasterInfo:
    """:func:`inspect_raster` each file (the limits apply per file), then describe them together.

    Raises:
        InputError: a file is refused (the message names it), or the tiles do not go together
            (:func:`combine_rasters`).
    """
    return combine_rasters([inspect_raster(path, role, epsg, max_pixels, max_bytes, z_unit) for path in paths])


def combine_rasters(infos: Sequence[RasterInfo]) -> RasterInfo:
    """Several tiles of one orthophoto or DSM as one input; one file stays as it is.

    The mosaic covers the union of the tiles at the finest pixel, on the first tile's CRS and lattice. Gaps and
    overlaps are allowed (a cell no tile covers is NaN, the first tile listed wins where they overlap); a tile
    that touches no other is allowed too, with a warning (its gap is usually a missing tile). Tiles in other
    CRSs are reprojected when read, with a warning naming them.

    Raises:
        InputError: the tiles differ in band count, pixel type or what their bands hold (the message names
            the file and what differs), or a tile's CRS cannot be transformed to the first's.
    """
    if len(infos) == 1:
        return infos[0]
    first = infos[0]
    for info in infos[1:]:
        _check_alike(first, info)
    warnings = [w for info in infos for w in info.warnings]
    others = [info for info in infos if info.crs != first.crs]
    if others:
        names = ", ".join(f"'{info.path.name}' ({info.crs.name})" for info in others)
        warnings.append(
            f"The {first.role} tiles are in different CRSs: {names} differ from '{first.path.name}' "
            f"({first.crs.name}). Each is reprojected onto the area's grid; check the --epsg you gave, if any."
        )
    boxes = [_box(info, first) for info in infos]
    # The finest pixel among the tiles in the first's CRS (a reprojected tile's pixel in it is only
    # approximate), on the first tile's lattice: tiles cut from one file describe that file again.
    resolution = min(info.resolution for info in infos if info.crs == first.crs)
    warnings += _lone_tiles(infos, boxes, resolution)
    x0, y0 = first.transform.c, first.transform.f
    west = x0 + math.floor(round((min(b[0] for b in boxes) - x0) / resolution, 6)) * resolution
    north = y0 + math.ceil(round((max(b[3] for b in boxes) - y0) / resolution, 6)) * resolution
    east, south = max(b[2] for b in boxes), min(b[1] for b in boxes)
    width = max(1, math.ceil(round((east - west) / resolution, 6)))
    height = max(1, math.ceil(round((north - south) / resolution, 6)))
    return dataclasses.replace(
        first,
        warnings=tuple(dict.fromkeys(warnings)),
        transform=from_origin(west, north, resolution, resolution),
        width=width,
        height=height,
        parts=tuple(infos),
    )


def _check_alike(first: RasterInfo, info: RasterInfo) -> None:
    """Refuse a tile whose bands are not the first tile's: they would not make one image."""
    differences = [
        f"{what} {mine} where '{first.path.name}' has {theirs}"
        for what, mine, theirs in (
            ("bands:", info.count, first.count),
            ("pixel type", info.dtype, first.dtype),
            ("image bands", _bands(info), _bands(first)),
        )
        if mine != theirs
    ]
    if differences:
        raise InputError(
            f"The {info.label} does not match the other tiles: it has {'; '.join(differences)}. Tiles of one "
            f"{info.role} must have the same bands and pixel type; convert it like the others, or leave it out."
        )


def _bands(info: RasterInfo) -> str:
    return {1: "heights", 3: "RGB", 4: "RGB+NIR"}.get(len(info.bands), f"{len(info.bands)} bands")


def _box(info: RasterInfo, first: RasterInfo) -> Bounds:
    """A tile's extent in the first tile's CRS.

    Raises:
        InputError: the tile's CRS cannot be transformed to the first's.
    """
    try:
        box = info.bounds_in(first.crs)
    except Exception as err:  # noqa: BLE001 - PROJ and GDAL raise several types for CRSs they cannot transform
        raise InputError(
            f"The {info.label} is in '{info.crs.name}', which cannot be reprojected to '{first.crs.name}' of "
            f"'{first.path.name}' (PROJ knows no operation between them). Give every tile in one CRS, or in "
            "CRSs PROJ can transform (with an EPSG code)."
        ) from err
    if not all(np.isfinite(box)):
        raise InputError(
            f"The {info.label} ('{info.crs.name}') does not fall inside '{first.crs.name}' of '{first.path.name}': "
            "it cannot be reprojected there. Check the tiles' CRSs (and --epsg)."
        )
    return box


def _lone_tiles(infos: Sequence[RasterInfo], boxes: list[Bounds], resolution: float) -> list[str]:
    """A warning for each tile that neither overlaps nor touches another (within one pixel)."""

    def touch(a: Bounds, b: Bounds) -> bool:
        slack = resolution
        return a[0] <= b[2] + slack and b[0] <= a[2] + slack and a[1] <= b[3] + slack and b[1] <= a[3] + slack

    lone = [
        info.path.name
        for i, info in enumerate(infos)
        if not any(touch(boxes[i], boxes[j]) for j in range(len(infos)) if j != i)
    ]
    if not lone:
        return []
    return [
        f"The {infos[0].role} tile(s) {', '.join(repr(n) for n in lone)} touch no other tile: the area spans the "
        "gap between them, where it has no "
        + ("imagery" if infos[0].role == "orthophoto" else "measured heights")
        + ". Add the missing tiles if the gap is not meant."
    ]


def write_mosaic(info: RasterInfo, grid: Grid, path: Path) -> RasterInfo:
    """Write the tiles as one GeoTIFF on ``grid`` and describe it: for the code that needs one file.

    An orthophoto keeps its pixel type, 0 where no tile has a value; a DSM is written as float32 metres
    (tagged :data:`~reconstruction.io.raster.HEIGHTS_IN_METRES`) with nodata :data:`DSM_NODATA`. Memory is
    the grid's (:func:`~reconstruction.io.raster.read_onto_grid`).
    """
    from reconstruction.io.raster import read_onto_grid

    resampling = Resampling.average if info.role == "orthophoto" else Resampling.bilinear
    values = read_onto_grid(info, grid, resampling)
    dtype, nodata = (info.dtype, 0.0) if info.role == "orthophoto" else ("float32", DSM_NODATA)
    pixels = np.where(np.isfinite(values), values, nodata)
    if info.role == "orthophoto":
        pixels = np.clip(np.rint(pixels), 0, np.iinfo(np.dtype(dtype)).max)
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": pixels.shape[0],
        "dtype": dtype,
        "crs": grid.crs.to_wkt(),
        "transform": grid.transform,
        "nodata": nodata,
        "tiled": True,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(pixels.astype(dtype))
        if info.role == "DSM":
            dst.update_tags(**HEIGHTS_IN_METRES)
    bands = tuple(range(1, pixels.shape[0] + 1))
    return RasterInfo(
        path,
        info.role,
        grid.crs,
        (),
        grid.transform,
        grid.width,
        grid.height,
        len(bands),
        dtype,
        nodata,
        image_bands=bands if info.role == "orthophoto" else (),
    )
