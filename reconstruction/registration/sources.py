"""The two rasters of a registration, validated and resampled onto matching grids of one cell size."""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from pyproj import CRS
from rasterio.enums import Resampling

from reconstruction.config import Limits
from reconstruction.errors import InputError
from reconstruction.io import Grid, RasterInfo, inspect_raster, intersect, is_metric_projected, read_onto_grid

SourceKind = Literal["image", "dsm"]


@dataclass(frozen=True)
class Source:
    """One raster on its matching grid.

    Attributes:
        info: the validated file.
        kind: ``"image"`` (3 or 4 bands) or ``"dsm"`` (one band of heights).
        grid: the matching grid, in the reference CRS, covering this raster's own extent.
        values: ``(bands, H, W)`` float32 on ``grid``; NaN where the raster has no data.
    """

    info: RasterInfo
    kind: SourceKind
    grid: Grid
    values: npt.NDArray[np.float32]

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        """Cells where every band is known."""
        return np.asarray(np.isfinite(self.values).all(axis=0), dtype=bool)


def inspect_source(path: Path, kind: SourceKind, epsg: int | None, what: str, z_unit: str | None = None) -> RasterInfo:
    """Validate a raster to register (or register to); a DSM's heights are read in ``z_unit`` when given.

    Raises:
        InputError: unreadable, no CRS, wrong bands (3-4 for an image, 1 for a DSM) or too large.
    """
    role: Literal["orthophoto", "DSM"] = "orthophoto" if kind == "image" else "DSM"
    try:
        return inspect_raster(path, role, epsg, Limits().max_raster_pixels, z_unit=z_unit)
    except InputError as err:
        raise InputError(f"{what}: {err}") from err


def kind_of(info: RasterInfo) -> SourceKind:
    """A one-band raster is a DSM, anything else an image."""
    return "dsm" if info.count == 1 else "image"


def matching_resolution(reference: RasterInfo, moving: RasterInfo, max_pixels: int) -> float:
    """The coarser of the two native cell sizes, coarsened further until the reference has ``max_pixels``.

    Matching at the coarser cell size compares like with like (a 0.5 m DSM against a 0.2 m image), and
    the cap keeps a large area fast on a CPU.
    """
    sizes = [info.resolution for info in (reference, moving) if is_metric_projected(info.crs)]
    resolution = max(sizes) if sizes else 0.5
    cells = reference.width * reference.height * (reference.resolution / resolution) ** 2
    if is_metric_projected(reference.crs) and cells > max_pixels:
        resolution *= math.sqrt(cells / max_pixels)
    return float(resolution)


def load_sources(
    reference: RasterInfo, moving: RasterInfo, max_pixels: int
) -> tuple[Source, Source, CRS, tuple[float, float, float, float]]:
    """Both rasters on grids of one cell size in the reference CRS (a metric one).

    Returns:
        (reference source, moving source, working CRS, bounds of their overlap).

    Raises:
        OverlapError: the two rasters share no ground (as georeferenced).
        InputError: the reference CRS is not metric.
    """
    crs = reference.crs
    if not is_metric_projected(crs):
        raise InputError(
            f"The reference {reference.label} is in {crs.name}, not a projected CRS in metres; registration "
            "errors are reported in metres. Reproject it (e.g. to the local UTM zone) first."
        )
    resolution = matching_resolution(reference, moving, max_pixels)
    ref_bounds, mov_bounds = reference.bounds_in(crs), moving.bounds_in(crs)
    overlap = intersect(ref_bounds, mov_bounds, reference.label, moving.label)
    sources = []
    for info, bounds in ((reference, ref_bounds), (moving, mov_bounds)):
        kind = kind_of(info)
        anchor = (info.transform.c, info.transform.f) if info.crs == crs else (0.0, 0.0)
        grid = Grid.covering(crs, bounds, resolution, anchor)
        sampling = Resampling.average if resolution > info.resolution * 1.01 else Resampling.bilinear
        sources.append(Source(info, kind, grid, read_onto_grid(info, grid, sampling)))
    return sources[0], sources[1], crs, overlap


def inspect_any(path: Path, epsg: int | None, what: str) -> RasterInfo:
    """Validate a reference raster: a DSM when it has one band, an image otherwise.

    Raises:
        InputError: unreadable or unsuitable (see :func:`inspect_source`).
    """
    from rasterio.errors import RasterioError

    from reconstruction.io.user_files import open_raster

    try:
        with open_raster(path, f"{what}: '{path.name}'") as src:
            count = src.count
    except RasterioError as err:
        raise InputError(f"{what}: '{path.name}' is not a raster GDAL can read. Upload a GeoTIFF.") from err
    return inspect_source(path, "dsm" if count == 1 else "image", epsg, what)
