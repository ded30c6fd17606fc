"""The reconstruction pipeline: ordered stages from input files to a folder of published outputs.

:func:`run_pipeline` calls one entry per stage, in the order of :data:`reconstruction.stages.STAGES`;
each stage lives in the module of the same name under :mod:`reconstruction.stages`, which calls the
domain packages (the map is in that package's docstring and in ``docs/design.md``).
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconstruction.chips.plan import Chip, ChipPlan
from reconstruction.config import PipelineConfig, PipelineInputs
from reconstruction.progress import ProgressCallback, silent
from reconstruction.stages.classify import run_classify
from reconstruction.stages.features import run_features
from reconstruction.stages.heights import MESSAGES, run_heights
from reconstruction.stages.imagery import run_imagery, write_imagery
from reconstruction.stages.inputs import check_inputs, run_inputs
from reconstruction.stages.manifest import write_manifest
from reconstruction.stages.pointcloud import run_pointcloud
from reconstruction.stages.rasters import run_rasters
from reconstruction.stages.register import run_register
from reconstruction.stages.stereo import run_stereo
from reconstruction.stages.terrain import run_terrain
from reconstruction.stages.tiles import run_tiles

__all__ = ["PipelineConfig", "PipelineInputs", "Result", "check_inputs", "run_pipeline", "write_imagery"]


@dataclass
class Result:
    """What a finished run produced: the manifest (paths relative to ``out_dir``) and user warnings."""

    out_dir: Path
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def run_pipeline(
    inputs: PipelineInputs,
    cfg: PipelineConfig,
    out_dir: Path,
    on_progress: ProgressCallback = silent,
    chip: tuple[ChipPlan, Chip] | None = None,
) -> Result:
    """Reconstruct one area and write every output under ``out_dir`` (created; must be empty or absent).

    With ``chip`` = (plan, chip) it reconstructs one chip of a large area instead (:mod:`reconstruction.chips`):
    every stage computes on the chip's window, the outputs keep its core, the orthophoto's web imagery and
    the terrain tiles are left to the merge (which needs the neighbours), and the TIN is kept as
    ``terrain/tin.npz``. ``inputs`` must then be the plan's.

    Raises:
        InputError: an input is invalid (the message says which and why).
        MissingHeightError: neither a DSM nor LiDAR was given and the prediction model is missing.
        ProcessingError: a stage failed on valid input.
        Cancelled: the progress callback asked to stop.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    stage = _stage_clock(on_progress, timings)
    with stage("stereo", "Matching the stereo images into a DSM" if inputs.stereo else None):
        inputs, stereo = run_stereo(inputs, cfg, out_dir, on_progress)
    registering = inputs.second_image is not None or inputs.register_dsm
    with stage("register", "Registering the second sources to the reference" if registering else None):
        inputs, registration = run_register(inputs, cfg, out_dir, on_progress)
    with stage("inputs", "Checking the input files"):
        area = run_inputs(inputs, cfg, chip, on_progress)
    warnings = area.warnings
    with stage("imagery", "Resampling the orthophoto" if area.ortho else "Making the orthophoto from the LiDAR"):
        photo = run_imagery(area, cfg, out_dir, on_progress)
    with stage("heights", MESSAGES[area.measured]):
        heights = run_heights(area, photo, cfg, on_progress, warnings)
    surfaces = heights.surfaces
    with stage("terrain", "Separating ground from objects"):
        relief = run_terrain(heights, area.extent, cfg, on_progress)
    with stage("classify", "Classifying land cover"):
        run_classify(surfaces, relief.ndsm, cfg, on_progress, warnings, heights.lidar_points, area.lidar)
    with stage("pointcloud", "Building the point cloud"):
        points = run_pointcloud(heights, area, cfg, out_dir)
    with stage("features", "Modelling buildings (LoD1), trees and low vegetation"):
        features = run_features(surfaces, relief, area, cfg, out_dir)
    with stage("rasters", "Writing GeoTIFF rasters"):
        rasters = run_rasters(surfaces, relief.ndsm, area.extent, registration, out_dir) | photo.rasters
    with stage("tiles", "Writing 3D Tiles"):
        layers = run_tiles(area, surfaces, relief, points, features, cfg, out_dir, on_progress)
    outputs = {
        "layers": layers,
        "rasters": rasters,
        "imagery": photo.entry,
        "stereo": stereo,
        "registration": registration,
    }
    run = {"warnings": warnings, "timings": timings}
    manifest = write_manifest(out_dir, area, surfaces, relief, points, features, outputs, run)
    return Result(out_dir=out_dir, manifest=manifest, warnings=warnings)


def _stage_clock(on_progress: ProgressCallback, timings: dict[str, float]) -> Any:
    """``stage(name, message)``: a context that reports a stage's start and end and records its seconds.

    A stage with nothing to do (``message`` None: no stereo images, nothing to register) is timed but not
    reported, so the job's log does not claim work that was not done.
    """

    @contextmanager
    def stage(name: str, message: str | None) -> Iterator[None]:
        if message is not None:
            on_progress(name, 0.0, message)
        start = time.perf_counter()
        yield
        timings[name] = round(time.perf_counter() - start, 3)
        if message is not None:
            on_progress(name, 1.0, f"{message} done in {timings[name]:.1f} s")

    return stage
