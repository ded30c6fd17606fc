"""Semantic fusion: 2D labels onto 3D points through perspective cameras.

Where it sits in the flow: after the ``pointcloud`` stage, as its own command (``python -m reconstruction
fuse``, :mod:`reconstruction.cli.fuse`), not a stage of :func:`reconstruction.pipeline.run_pipeline`. It
relabels a classified cloud (a run's ``pointcloud/points.laz`` or any LAS/LAZ) from labelled drone or
oblique images, which an orthophoto-based run does not have. See ``docs/design.md``.

- :func:`fuse_labels` -- depth-test the cloud in every view, vote across views, reclassify; the stage entry.
- :class:`FusionConfig` -- splat size, depth tolerance, vote weights and the reclassification rule.
- :class:`FusionResult` -- the reclassified cloud, the per-point :class:`Vote` and the :class:`FusionReport`.
- :class:`Camera` -- pinhole camera with radial distortion; :func:`read_camera` / :func:`write_camera` (JSON).
- :class:`View` -- a label image (and confidence) with its camera; :func:`read_views` reads ``views.json``.
- :func:`visible_points` -- the depth test of one view (a z-buffer splatted from the cloud).
- :func:`read_las_cloud` / :func:`write_fused_las` -- LAS/LAZ in, LAS/LAZ out with the fusion dimensions.
"""

from reconstruction.fusion.camera import Camera, read_camera, write_camera
from reconstruction.fusion.config import FusionConfig
from reconstruction.fusion.fuse import FusionResult, fuse_labels
from reconstruction.fusion.las import read_las_cloud, write_fused_las
from reconstruction.fusion.report import FusionReport, ViewReport
from reconstruction.fusion.views import View, read_views
from reconstruction.fusion.visibility import Visibility, visible_points
from reconstruction.fusion.vote import Vote

__all__ = [
    "Camera",
    "FusionConfig",
    "FusionReport",
    "FusionResult",
    "View",
    "ViewReport",
    "Visibility",
    "Vote",
    "fuse_labels",
    "read_camera",
    "read_las_cloud",
    "read_views",
    "visible_points",
    "write_camera",
    "write_fused_las",
]
