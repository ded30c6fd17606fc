"""Stage ``imagery``: the orthophoto on the working grid, and as web imagery (an overlay PNG and XYZ tiles).

For LiDAR alone the orthophoto is made here from the points (:mod:`reconstruction.pointcloud.true_ortho`):
their colours rasterised, or, when they carry none, their classes shaded by relief
(:mod:`reconstruction.pointcloud.drape`). It is written as ``rasters/ortho.tif`` (or ``rasters/drape.tif``)
and from then on serves the web imagery, the thumbnails and the classifier exactly as an uploaded one.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rasterio.enums import Resampling

from reconstruction import gis, tiles3d
from reconstruction.config import PipelineConfig
from reconstruction.errors import InputError
from reconstruction.io import LidarPoints, RasterInfo, read_onto_grid, read_points, to_rgb8
from reconstruction.pointcloud.drape import class_drape, has_object_classes, relief_drape
from reconstruction.pointcloud.true_ortho import colour_state, true_orthophoto
from reconstruction.progress import ProgressCallback
from reconstruction.stages import relative_path
from reconstruction.stages.inputs import Area


@dataclass
class Photo:
    """The orthophoto resampled onto the working grid.

    Attributes:
        image: every band, float32 ``(bands, rows, cols)``, NaN where unknown.
        rgb: display colours ``(3, rows, cols)``.
        nir: the 4th band of an RGB+NIR orthophoto as 8 bits (for the model), else None.
        entry: the manifest's ``imagery`` entry (for a chip ``{}``, or ``{"source": ...}`` for an orthophoto made
            from the LiDAR: the merge cuts the web imagery once).
        source: ``orthophoto`` (given), ``lidar colours`` (a true orthophoto from the points), ``class colours``
            or ``hillshade`` (drapes of LiDAR without colour: no photograph, so no model reads them).
        points: the LiDAR points (with colours) when they made the image; the heights reuse them.
        rasters: the manifest's ``rasters`` entries written here (the orthophoto made from the LiDAR).
    """

    image: npt.NDArray[np.float32]
    rgb: npt.NDArray[np.uint8]
    nir: npt.NDArray[np.uint8] | None
    entry: dict[str, Any]
    source: str = "orthophoto"
    points: LidarPoints | None = None
    rasters: dict[str, str] = field(default_factory=dict)

    @property
    def photographic(self) -> bool:
        """Whether the image is a photograph (given or the points' colours) rather than a drape of classes."""
        return self.source in ("orthophoto", "lidar colours")


def run_imagery(area: Area, cfg: PipelineConfig, out_dir: Path, on_progress: ProgressCallback) -> Photo:
    """The orthophoto on the grid (for LiDAR alone, made first) and, for a whole area, its web imagery."""
    if area.ortho is None:
        return _from_lidar(area, cfg, out_dir, on_progress)
    ortho = area.ortho
    image = read_onto_grid(ortho, area.grid, Resampling.average)
    rgb = to_rgb8(image[:3], ortho.dtype)
    nir = to_rgb8(image[3:4], ortho.dtype)[0] if image.shape[0] > 3 else None
    rasters: dict[str, str] = {}
    if ortho.parts:
        # Tiles: the web imagery, the thumbnails and a chip merge need one orthophoto file. The mosaic on the
        # grid (what the run reads anyway) is written as rasters/ortho.tif, as for LiDAR alone, rather than
        # each writer looping the tiles: memory stays the grid's, the writers stay one-file, and a chipped run
        # stitches the chips' cores like any raster. The web imagery is at the grid's cell, not the tiles'.
        folder = out_dir / "rasters"
        folder.mkdir(exist_ok=True)
        path = gis.write_cog(
            area.extent.crop(_stored(image, ortho.dtype)), area.extent.core_grid, folder / "ortho.tif", 0
        )
        ortho = _info(path, area, image.shape[0], ortho.dtype)
        rasters["ortho"] = relative_path(path, out_dir)
    entry = {} if area.extent.chip else write_imagery(ortho, cfg, out_dir, on_progress)
    return Photo(image, rgb, nir, entry, rasters=rasters)


def _stored(image: npt.NDArray[np.float32], dtype: str) -> npt.NDArray[np.generic]:
    """Orthophoto values on the grid back in their file's pixel type, 0 (nodata) where unknown."""
    top = np.iinfo(np.dtype(dtype)).max
    return np.clip(np.rint(np.nan_to_num(image, nan=0.0)), 0, top).astype(dtype)


def write_imagery(
    ortho: RasterInfo, cfg: PipelineConfig, out_dir: Path, on_progress: ProgressCallback, source: str = "orthophoto"
) -> dict[str, Any]:
    """The orthophoto as a draped overlay PNG and an XYZ tile pyramid; the manifest's ``imagery`` entry.

    ``source`` says what the image is (see :attr:`Photo.source`), for the viewer's legend and the job page.
    """
    (out_dir / "imagery").mkdir(exist_ok=True)
    rectangle = tiles3d.write_overlay_png(ortho, out_dir / "imagery" / "ortho.png", cfg.output.overlay_max_px)
    pyramid = tiles3d.write_xyz_tiles(
        ortho,
        out_dir / "imagery" / "ortho",
        lambda fraction: on_progress("imagery", fraction, "Cutting the orthophoto into web tiles"),
    )
    return {
        "ortho": {
            "path": "imagery/ortho.png",
            "rectangle_wgs84": list(rectangle),
            "tiles": pyramid.to_dict("imagery/ortho"),
            "source": source,
        }
    }


def _from_lidar(area: Area, cfg: PipelineConfig, out_dir: Path, on_progress: ProgressCallback) -> Photo:
    """The orthophoto made from the LiDAR on the grid, written as the area's orthophoto GeoTIFF (its core).

    Sets ``area.ortho`` to the written file and adds a warning when the points carry no colour.

    Raises:
        InputError: no LiDAR point falls on the area.
    """
    assert area.lidar is not None
    grid = area.grid
    on_progress("imagery", 0.05, f"Reading the points of the {area.lidar.label}")
    points = read_points(area.lidar, grid.crs, grid.bounds, colours=True)
    if len(points.xyz) == 0:
        raise InputError(f"No point of the {area.lidar.label} falls on the area.")
    state = colour_state(points)
    if state in ("rgb", "rgb+nir"):
        on_progress("imagery", 0.2, "Making a true orthophoto from the points' colours")
        bands, source, name = true_orthophoto(points, grid), "lidar colours", "ortho"
    else:
        objects = has_object_classes(points.classification)
        source = "class colours" if objects else "hillshade"
        bands = class_drape(points.xyz, points.classification, grid) if objects else relief_drape(points.xyz, grid)
        name = "drape"
        area.warnings.append(_no_colour_warning(area.lidar.label, state, objects))
    folder = out_dir / "rasters"
    folder.mkdir(exist_ok=True)
    path = gis.write_cog(area.extent.crop(bands), area.extent.core_grid, folder / f"{name}.tif", 0)
    area.ortho = _info(path, area, bands.shape[0], "uint8")
    image = np.where(bands > 0, bands, np.nan).astype(np.float32)
    nir = bands[3] if bands.shape[0] > 3 else None
    # A chip leaves the web imagery to the merge, which cuts it from the stitched orthophoto and names its source.
    entry = {"source": source} if area.extent.chip else write_imagery(area.ortho, cfg, out_dir, on_progress, source)
    return Photo(image, bands[:3].copy(), nir, entry, source, points, {name: relative_path(path, out_dir)})


def _no_colour_warning(label: str, state: str, objects: bool) -> str:
    """What the user sees when the LiDAR cannot make an orthophoto, and what to do about it."""
    why = "its points carry no colour" if state == "absent" else "its points' colour fields are all zero"
    if objects:
        shown = "its classes in map colours, shaded by relief; trees and buildings are told apart by its classes"
    else:
        shown = "a shaded relief of its surface (the file classifies no vegetation or buildings to draw in colour)"
    return (
        f"The {label} cannot make an orthophoto: {why}. The viewer drapes {shown}. Roads come only from its "
        "dark ground returns and water from its water class (fewer than from a photograph: docs/models.md). "
        "Add an orthophoto (or use a colourised LiDAR file) for real imagery."
    )


def _info(path: Path, area: Area, count: int, dtype: str) -> RasterInfo:
    """The description of the orthophoto this stage wrote: the core grid, ``count`` bands of ``dtype``, nodata 0."""
    core = area.extent.core_grid
    return RasterInfo(path, "orthophoto", core.crs, (), core.transform, core.width, core.height, count, dtype, 0)
