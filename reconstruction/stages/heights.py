"""Stage ``heights``: the surface model on the working grid, measured (DSM or LiDAR) or predicted.

Predicted heights come from :mod:`reconstruction.prediction`; LiDAR is rasterised by :mod:`reconstruction.pointcloud`.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from rasterio.enums import Resampling

from reconstruction import pointcloud
from reconstruction.config import PipelineConfig
from reconstruction.errors import InputError, MissingHeightError
from reconstruction.io import Grid, LidarInfo, LidarPoints, RasterInfo, read_onto_grid, read_points
from reconstruction.pointcloud.true_ortho import fill_sampling_gaps
from reconstruction.progress import ProgressCallback
from reconstruction.stages.imagery import Photo
from reconstruction.stages.inputs import Area
from reconstruction.stages.surfaces import Surfaces, covered, predict_on_grid

#: The stage's progress message, by whether heights are measured.
MESSAGES = {True: "Building the surface model", False: "Predicting heights and land cover from the orthophoto"}


@dataclass
class Heights:
    """The surfaces with their DSM, and what LiDAR adds.

    Attributes:
        surfaces: the working grid's surfaces, ``dsm`` set (and ``prediction`` when predicted).
        ground_z: the lowest LiDAR ground return per cell when the LiDAR classifies ground, else None.
        lidar_points: the LiDAR's points in the working CRS, or None without LiDAR.
    """

    surfaces: Surfaces
    ground_z: npt.NDArray[np.float32] | None = None
    lidar_points: Any = None


def run_heights(
    area: Area, photo: Photo, cfg: PipelineConfig, on_progress: ProgressCallback, warnings: list[str]
) -> Heights:
    """The DSM from the DSM or LiDAR; without either, heights and classes predicted from the orthophoto.

    Appends a warning to ``warnings`` when heights are predicted.

    Raises:
        InputError: the DSM has no heights on the area, or the LiDAR covers too little of it.
        MissingHeightError: heights must be predicted and the model cannot be used.
    """
    grid = area.grid
    if area.measured:
        dsm, ground_z, lidar_points = _surface(area.dsm, area.lidar, grid, photo.points)
        surfaces = Surfaces(grid, dsm, photo.image, photo.rgb, nir=photo.nir, photographic=photo.photographic)
        return Heights(surfaces, ground_z, lidar_points)
    try:
        prediction, model_info = predict_on_grid(photo.rgb, covered(photo.image), grid, cfg, on_progress, nir=photo.nir)
    except InputError as err:
        raise MissingHeightError(
            f"This area has only an orthophoto and its heights cannot be predicted: {err}. "
            "Add a DSM GeoTIFF or a LiDAR LAS/LAZ file of the same area."
        ) from err
    warnings.append(
        f"This area has no DSM or LiDAR: heights and classes were predicted from the orthophoto by "
        f"{model_info.label}. Heights are above a flat ground at 0 m and less accurate than measured ones "
        f"(see the model card); add a DSM or LiDAR for survey-grade heights."
    )
    prediction = _gated(prediction, model_info, grid.resolution, warnings)
    surfaces = Surfaces(grid, prediction.height, photo.image, photo.rgb, prediction=prediction, nir=photo.nir)
    surfaces.model = model_info
    return Heights(surfaces)


def _gated(prediction: Any, info: Any, resolution_m: float, warnings: list[str]) -> Any:
    """The prediction where the model may be trusted, ground with no extrusion elsewhere, before buildings are made.

    See :mod:`reconstruction.prediction.trust`; the gate's numbers go into ``warnings`` and ``prediction.trust``
    (the manifest's ``prediction.trust``).
    """
    from reconstruction.prediction.trust import gate

    if info.trust is None:
        warnings.append(
            f"{info.label} has no trust calibration: its predictions are shown everywhere, including on imagery "
            "unlike anything it learned from, where it can invent buildings."
        )
        return prediction
    gated, report = gate(prediction, info.trust, resolution_m)
    warnings.append(report.warning(info.label))
    return gated


def _surface(
    dsm_info: RasterInfo | None, lidar_info: LidarInfo | None, grid: Grid, points: LidarPoints | None = None
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32] | None, Any]:
    """DSM on the grid, plus LiDAR ground returns and points when LiDAR is the source.

    ``points`` are the LiDAR's, already read on the grid (by the ``imagery`` stage for LiDAR alone). Cells no
    return fell in are sampling gaps when their empty patch is small, and take their neighbours' heights
    (:func:`reconstruction.pointcloud.true_ortho.fill_sampling_gaps`); larger ones stay unknown.
    """
    if dsm_info is not None:
        dsm = read_onto_grid(dsm_info, grid, Resampling.bilinear)[0]
        if not np.isfinite(dsm).any():
            raise InputError(f"The {dsm_info.label} has no valid heights where it overlaps the orthophoto.")
        return dsm, None, None
    assert lidar_info is not None
    if points is None:
        points = read_points(lidar_info, grid.crs, grid.bounds)
    dsm = pointcloud.rasterize_points(points.xyz, grid, keep="highest")
    coverage = float(np.isfinite(dsm).mean())
    if coverage < 0.1:
        raise InputError(
            f"The {lidar_info.label} covers only {coverage:.0%} of the area's {grid.resolution} m cells; "
            "it is too sparse or lies mostly outside the orthophoto."
        )
    dsm = fill_sampling_gaps(dsm)
    ground_z = None
    if lidar_info.ground_share > 0.05:
        ground_z = pointcloud.rasterize_points(points.xyz[points.classification == 2], grid, keep="lowest")
    return dsm, ground_z, points
