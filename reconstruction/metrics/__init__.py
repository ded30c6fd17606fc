"""Metrics: scores of extracted objects against reference data.

- :func:`footprint_scores` -- area and per-building scores of predicted footprints against reference ones.
- :class:`FootprintScores` -- overall IoU, completeness, correctness, matches, instance recall and precision.
"""

from reconstruction.metrics.footprints import FootprintScores, footprint_scores

__all__ = ["FootprintScores", "footprint_scores"]
