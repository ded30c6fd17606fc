"""Stage ``classify``: ASPRS land-cover classes by rules on heights and colour, refined by the model.

The rules are :mod:`reconstruction.objects.rules`; the model is the one :mod:`reconstruction.prediction` loads.
"""

from typing import Any

import numpy as np
import numpy.typing as npt

from reconstruction import objects, pointcloud
from reconstruction.config import PipelineConfig
from reconstruction.errors import InputError
from reconstruction.io import LidarInfo, LidarPoints
from reconstruction.progress import ProgressCallback
from reconstruction.stages.surfaces import ROAD, WATER, Surfaces, covered, predict_on_grid


def run_classify(
    surfaces: Surfaces,
    ndsm: npt.NDArray[np.float32],
    cfg: PipelineConfig,
    on_progress: ProgressCallback,
    warnings: list[str],
    lidar: LidarPoints | None = None,
    lidar_info: LidarInfo | None = None,
) -> None:
    """Set ``surfaces.labels``: the model's classes for predicted heights, else the rules' (refined by the model).

    With ``lidar`` (the points on the grid and ``lidar_info``, the file's description), its returns decide the
    building cells, by its building class when the file has one, else by their shape (see
    :func:`reconstruction.pointcloud.lidar_shares`; a warning says so), and its vegetation classes the
    vegetation cells; colour rules only where the file has no such classes.

    A model that cannot refine the ground adds a warning to ``warnings`` instead of failing the run; over a
    drape (LiDAR without colour) the model does not run at all.
    """
    if surfaces.prediction is not None:
        surfaces.labels = surfaces.prediction.asprs
        return
    surfaces.labels = _rule_labels(surfaces, ndsm, cfg, lidar, lidar_info, warnings)
    if cfg.prediction.refine_ground and surfaces.photographic:
        surfaces.model = _refine_ground(surfaces, cfg, on_progress, warnings)


def _rule_labels(
    s: Surfaces,
    ndsm: npt.NDArray[np.float32],
    cfg: PipelineConfig,
    lidar: LidarPoints | None,
    lidar_info: LidarInfo | None,
    warnings: list[str],
) -> npt.NDArray[np.uint8]:
    """The rules' classes: from colour and heights, with the LiDAR's returns deciding wherever they can."""
    if lidar is None or lidar_info is None or s.dtm is None:
        return objects.classify_by_rules(ndsm, s.image, s.grid.resolution, cfg.rules)
    shares = pointcloud.lidar_shares(
        lidar.xyz, lidar.classification, s.dtm, s.grid, cfg.rules, lidar_info.class_counts, lidar.multiple_echo
    )
    if shares.source == "shape":
        warnings.append(
            f"The {lidar_info.label} has no building class: buildings were told from trees by the shape and "
            "echoes of its returns, which mistakes some dense crowns for roofs (docs/models.md gives its accuracy)."
        )
    labels = objects.classify_with_lidar(ndsm, s.image, s.grid.resolution, cfg.rules, shares)
    return _ground_from_returns(labels, s, cfg, lidar, lidar_info)


def _ground_from_returns(
    labels: npt.NDArray[np.uint8], s: Surfaces, cfg: PipelineConfig, lidar: LidarPoints, lidar_info: LidarInfo
) -> npt.NDArray[np.uint8]:
    """Water from the LiDAR's water class and its gaps; roads from its dark ground where no model reads a photo.

    The file's water returns are a measurement, as its building class is, so they decide wherever the file has
    them (on unknown and ground cells, never over a building or a tree). Roads by intensity are a weaker cue
    than a model reading a photograph, so they only stand in where no model refines the ground (see
    :mod:`reconstruction.objects.lidar_ground`).
    """
    water = objects.water_cells(lidar.xyz, lidar.classification, s.grid, lidar_info.class_counts)
    if water is not None:
        labels[water & np.isin(labels, (0, objects.rules.GROUND))] = WATER
    if not (cfg.prediction.refine_ground and s.photographic):
        paved = objects.paved_cells(lidar.xyz, lidar.classification, lidar.intensity, s.grid)
        if paved is not None:
            labels[paved & (labels == objects.rules.GROUND)] = ROAD
    return labels


def _refine_ground(s: Surfaces, cfg: PipelineConfig, on_progress: ProgressCallback, warnings: list[str]) -> Any:
    """Measured heights, learned semantics: ground cells the model sees as road or water become so.

    Heights and the rules decide what stands above ground; on the ground itself height says nothing,
    and colour and shape (what the network learned) tell a carriageway or a pond from a lawn edge or a
    yard. Only cells the rules call ground change, and only where the model is at least
    ``cfg.prediction.min_confidence`` sure.
    """
    assert s.labels is not None
    try:
        prediction, info = predict_on_grid(s.rgb, covered(s.image), s.grid, cfg, on_progress, "classify", s.nir)
    except InputError as err:
        warnings.append(f"Roads and water were not mapped: {err}")
        return None
    ground = (s.labels == objects.rules.GROUND) & (prediction.class_confidence >= cfg.prediction.min_confidence)
    for code in (ROAD, WATER):
        s.labels[ground & (prediction.asprs == code)] = code
    s.refined_confidence = prediction.class_confidence
    return info
