"""rs3d reconstruction core: semantic 3D cities from orthophotos, DSMs and LiDAR, without Django.

- :func:`run_pipeline` -- reconstruct one area into a folder with ``manifest.json``.
- :func:`check_inputs` -- validate input files and their overlap, fast, before a run.
- :class:`PipelineInputs`, :class:`PipelineConfig`, :func:`load_config` -- what to run and how.
- :class:`Result` -- the manifest and warnings of a run.
- :data:`STAGES`, :func:`overall_fraction`, :data:`MANIFEST` -- stage names and shares, for progress.
- :class:`RS3DError`, :class:`Cancelled` and the rest of :mod:`reconstruction.errors` -- user-facing failures.

The flow: :func:`run_pipeline` (:mod:`reconstruction.pipeline`) calls one ``run_<stage>`` per stage of
:data:`STAGES`, each in the module of that name under :mod:`reconstruction.stages` (stereo, register,
inputs, imagery, heights, terrain, classify, pointcloud, features, rasters, tiles); those call the domain
packages (io, stereo, registration, terrain, pointcloud, objects, gis, tiles3d, prediction).
:mod:`reconstruction.chips` runs the stages per chip and merges; :mod:`reconstruction.fusion` relabels a
finished point cloud from perspective images (``fuse``, after ``pointcloud``, not part of a run).
``docs/design.md`` has the stage-by-stage map and the two run modes.

Importing this package is cheap: numpy, GDAL and friends load only when a stage runs.
"""

from typing import Any

from reconstruction.config import PipelineConfig, PipelineInputs, load_config
from reconstruction.errors import Cancelled, RS3DError
from reconstruction.stages import MANIFEST, STAGES, overall_fraction

__version__ = "0.1.0"

_LAZY = {"run_pipeline", "check_inputs", "Result"}

__all__ = [
    "MANIFEST",
    "STAGES",
    "Cancelled",
    "PipelineConfig",
    "PipelineInputs",
    "RS3DError",
    "Result",
    "check_inputs",
    "load_config",
    "overall_fraction",
    "run_pipeline",
]


def __getattr__(name: str) -> Any:  # noqa: ANN401 - returns the named attribute
    """Import the pipeline (and its heavy dependencies) on first use."""
    if name in _LAZY:
        from reconstruction import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'reconstruction' has no attribute {name!r}")
