"""What the stages compute on the working grid (:class:`Surfaces`), and the model call heights and classify share."""

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from reconstruction.config import PipelineConfig
from reconstruction.io import Grid
from reconstruction.progress import ProgressCallback

#: ASPRS classes the model adds to the rules' (roads and water: height cannot tell them from ground).
ROAD, WATER = 11, 9


@dataclass
class Surfaces:
    """Everything computed on the working grid; later stages fill the fields left None.

    Attributes:
        grid: the working grid (a chip's window for a chip).
        dsm: surface heights, metres.
        image, rgb, nir: the orthophoto (see :class:`reconstruction.stages.imagery.Photo`).
        dtm: terrain heights, metres (the ``terrain`` stage).
        labels: ASPRS classes (the ``classify`` stage).
        prediction: the model's :class:`reconstruction.prediction.predict.Prediction` when heights were predicted.
        refined_confidence: the model's class confidence where it refined ground (``classify``).
        model: the information of the model that contributed, for the manifest (None when none did).
        photographic: whether ``image`` is a photograph (given, or the LiDAR's colours) rather than a drape
            of LiDAR classes or relief, which no model has learned to read.
    """

    grid: Grid
    dsm: npt.NDArray[np.float32]
    image: npt.NDArray[np.float32]
    rgb: npt.NDArray[np.uint8]
    dtm: npt.NDArray[np.float32] | None = None
    nir: npt.NDArray[np.uint8] | None = None
    labels: npt.NDArray[np.uint8] | None = None
    prediction: Any = None
    refined_confidence: npt.NDArray[np.float32] | None = None
    model: Any = None
    photographic: bool = True


def predict_on_grid(
    rgb: npt.NDArray[np.uint8],
    valid: npt.NDArray[np.bool_],
    grid: Grid,
    cfg: PipelineConfig,
    on_progress: ProgressCallback,
    stage: str = "heights",
    nir: npt.NDArray[np.uint8] | None = None,
) -> tuple[Any, Any]:
    """Land cover, heights and confidence from the orthophoto (RGB, and NIR when it has one), with the configured model.

    Returns:
        The prediction and the model's information.

    Raises:
        InputError: the model cannot be loaded, or the grid's resolution is outside its range.
    """
    from reconstruction.prediction.predict import predict_area
    from reconstruction.prediction.weights import load_weights

    model, info = load_weights(cfg.prediction.model)
    device = None if cfg.prediction.device == "auto" else cfg.prediction.device

    def report(_stage: str, fraction: float, message: str) -> None:
        on_progress(stage, fraction, f"{info.label}: {message}")

    return predict_area(model, info, rgb, grid.resolution, valid, device, report, nir=nir), info


def covered(image: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Cells where every band of the orthophoto is known."""
    return np.asarray(np.isfinite(image).all(axis=0), dtype=bool)
