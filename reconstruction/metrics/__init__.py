"""Metrics: scores of extracted objects against reference data.

- :func:`footprint_scores` -- area and per-building scores of predicted footprints against reference ones.
- :class:`FootprintScores` -- overall IoU, completeness, correctness, matches, instance recall and precision.
- :func:`building_height_scores` -- building heights against the roof points of classified LiDAR.
- :class:`HeightScores` -- those pairs, with bias, MAE, median, RMSE and 90th percentile of the errors.
- :class:`RasterScores` -- per-pixel land cover (IoU, F1, mIoU, accuracy), heights (MAE, RMSE, SSIM) and mIoU-3.
- :func:`ssim_map` -- structural similarity of two height rasters.
"""

from reconstruction.metrics.footprints import FootprintScores, footprint_scores
from reconstruction.metrics.heights import HeightScores, building_height_scores
from reconstruction.metrics.rasters import RasterScores, ssim_map

__all__ = ["FootprintScores", "HeightScores", "RasterScores", "building_height_scores", "footprint_scores", "ssim_map"]
