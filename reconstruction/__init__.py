"""rs3d reconstruction core: semantic 3D cities from orthophotos, DSMs and LiDAR, without Django.

- :func:`run_pipeline` -- reconstruct one area into a folder with ``manifest.json``.
- :class:`PipelineInputs`, :class:`PipelineConfig`, :func:`load_config` -- what to run and how.
- :class:`Result` -- the manifest and warnings of a run.
- :data:`STAGES`, :func:`overall_fraction` -- stage names and their share of a run, for progress.
- :class:`RS3DError` and subclasses in :mod:`reconstruction.errors` -- user-facing failures.
"""

from reconstruction.config import PipelineConfig, PipelineInputs, load_config
from reconstruction.errors import Cancelled, RS3DError
from reconstruction.pipeline import MANIFEST, STAGES, Result, overall_fraction, run_pipeline

__version__ = "0.1.0"

__all__ = [
    "MANIFEST", "STAGES", "Cancelled", "PipelineConfig", "PipelineInputs", "RS3DError", "Result",
    "load_config", "overall_fraction", "run_pipeline",
]
