"""Building heights against classified LiDAR: each building's ``height_m`` versus the points on its roof.

The reference is independent of the extraction it checks: the ground is a linear interpolation of the LiDAR's
own ground points (class 2; Delaunay through scipy), not our DTM, and a building's reference height is the
same statistic ``height_m`` is defined by (the 90th percentile, see reconstruction/objects/buildings.py) of the
heights above that ground of the building points (class 6) inside its footprint. Pure functions on arrays and
shapely geometries in one metric CRS.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from scipy.interpolate import LinearNDInterpolator
from shapely.geometry import MultiPolygon, Polygon

from reconstruction.objects.buildings import HEIGHT_PERCENTILE

GROUND, BUILDING = 2, 6

#: A building needs at least this many LiDAR roof points for a reference height.
MIN_ROOF_POINTS = 5


@dataclass(frozen=True)
class HeightScores:
    """Building heights against their LiDAR reference.

    Attributes:
        n_buildings: Buildings given.
        ours: ``height_m`` of the buildings that have a reference, metres.
        reference: Their reference heights (P90 of the roof points above the LiDAR ground), metres.
        n_points: Roof points behind each reference.
    """

    n_buildings: int
    ours: npt.NDArray[np.float64]
    reference: npt.NDArray[np.float64]
    n_points: npt.NDArray[np.int64]

    @property
    def n_scored(self) -> int:
        """Buildings with a reference (at least MIN_ROOF_POINTS class-6 points inside the footprint)."""
        return int(self.ours.size)

    @property
    def errors(self) -> npt.NDArray[np.float64]:
        """Ours minus reference, metres (positive: we are too tall)."""
        return self.ours - self.reference

    def summary(self) -> dict[str, float]:
        """Bias (mean signed), MAE, median |error|, RMSE and 90th percentile |error| in metres; NaN when empty."""
        e = self.errors
        if e.size == 0:
            return dict.fromkeys(("bias_m", "mae_m", "median_abs_m", "rmse_m", "p90_abs_m"), float("nan"))
        return {
            "bias_m": float(e.mean()),
            "mae_m": float(np.abs(e).mean()),
            "median_abs_m": float(np.median(np.abs(e))),
            "rmse_m": float(np.sqrt(np.mean(e**2))),
            "p90_abs_m": float(np.percentile(np.abs(e), 90)),
        }


def building_height_scores(
    footprints: list[Polygon | MultiPolygon],
    heights_m: npt.ArrayLike,
    xyz: npt.NDArray[np.float64],
    classification: npt.NDArray[np.integer],
) -> HeightScores:
    """Score building heights against the LiDAR points (same CRS) as described in the module docstring.

    Args:
        footprints: The buildings' footprints.
        heights_m: Their ``height_m`` (height above ground), one per footprint.
        xyz: (N, 3) LiDAR points.
        classification: (N,) their ASPRS classes (2 ground and 6 building are used).

    Raises:
        ValueError: the lengths disagree, or the points hold fewer than 3 ground points.
    """
    heights = np.asarray(heights_m, dtype=np.float64)
    if len(footprints) != heights.size:
        raise ValueError(f"{len(footprints)} footprints but {heights.size} heights")
    ground = xyz[classification == GROUND]
    if len(ground) < 3:
        raise ValueError(f"the LiDAR holds {len(ground)} ground (class 2) points: at least 3 are needed")
    roof = xyz[classification == BUILDING]
    above = roof[:, 2] - LinearNDInterpolator(ground[:, :2], ground[:, 2])(roof[:, :2])
    roof, above = roof[np.isfinite(above)], above[np.isfinite(above)]  # outside the ground's convex hull
    ours, reference, counts = [], [], []
    for footprint, height in zip(footprints, heights, strict=True):
        inside = shapely.contains_xy(footprint, roof[:, 0], roof[:, 1])
        if inside.sum() >= MIN_ROOF_POINTS and np.isfinite(height):
            ours.append(height)
            reference.append(float(np.percentile(above[inside], HEIGHT_PERCENTILE)))
            counts.append(int(inside.sum()))
    return HeightScores(len(footprints), np.array(ours), np.array(reference), np.array(counts, dtype=np.int64))
