"""Stage ``classify``: ASPRS land-cover classes by rules on heights and colour, refined by the model.

The rules are :mod:`reconstruction.objects.rules`; the model is the one :mod:`reconstruction.prediction` loads.
"""

from typing import Any

import numpy as np
import numpy.typing as npt

from reconstruction import objects
from reconstruction.config import PipelineConfig
from reconstruction.errors import InputError
from reconstruction.progress import ProgressCallback
from reconstruction.stages.surfaces import ROAD, WATER, Surfaces, covered, predict_on_grid


def run_classify(
    surfaces: Surfaces,
    ndsm: npt.NDArray[np.float32],
    cfg: PipelineConfig,
    on_progress: ProgressCallback,
    warnings: list[str],
) -> None:
    """Set ``surfaces.labels``: the model's classes for predicted heights, else the rules' (refined by the model).

    A model that cannot refine the ground adds a warning to ``warnings`` instead of failing the run.
    """
    if surfaces.prediction is not None:
        surfaces.labels = surfaces.prediction.asprs
        return
    surfaces.labels = objects.classify_by_rules(ndsm, surfaces.image, surfaces.grid.resolution, cfg.rules)
    if cfg.prediction.refine_ground:
        surfaces.model = _refine_ground(surfaces, cfg, on_progress, warnings)


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
