"""Object footprints: polygonise class masks into features with height and area attributes."""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from rasterio import features as rio_features
from scipy import ndimage
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from reconstruction.io.grid import Grid


@dataclass(frozen=True)
class Feature:
    """A mapped object: its kind, its outline in the working CRS and its attributes."""

    kind: str
    geometry: BaseGeometry
    attributes: dict[str, Any] = field(default_factory=dict)


def extract_footprints(
    mask: npt.NDArray[np.bool_],
    kind: str,
    ndsm: npt.NDArray[np.float32],
    dtm: npt.NDArray[np.float32],
    grid: Grid,
    min_area_m2: float,
) -> list[Feature]:
    """Turn each connected patch of ``mask`` into a polygon feature.

    Attributes written: ``height_m`` (90th percentile of the nDSM inside, metres above ground),
    ``mean_height_m``, ``ground_m`` (median terrain height, metres), ``area_m2``.
    Outlines follow cell edges, simplified by half a cell.
    """
    components, count = ndimage.label(mask)
    if count == 0:
        return []
    stats = _component_stats(components, count, ndsm, dtm)
    out: list[Feature] = []
    for geom, value in rio_features.shapes(components.astype(np.int32), mask=mask, transform=grid.transform):
        poly = shape(geom).simplify(grid.resolution / 2, preserve_topology=True)
        if poly.area < min_area_m2 or int(value) not in stats:
            continue
        attrs = {"area_m2": round(float(poly.area), 1), **stats[int(value)]}
        out.append(Feature(kind=kind, geometry=poly, attributes=attrs))
    return out


def _component_stats(
    components: npt.NDArray[np.int32], count: int, ndsm: npt.NDArray[np.float32], dtm: npt.NDArray[np.float32]
) -> dict[int, dict[str, float]]:
    stats: dict[int, dict[str, float]] = {}
    for label, window in enumerate(ndimage.find_objects(components), start=1):
        if window is None:
            continue
        inside = components[window] == label
        heights = ndsm[window][inside]
        heights = heights[np.isfinite(heights)]
        ground = dtm[window][inside]
        if heights.size == 0:
            continue
        stats[label] = {
            "height_m": round(float(np.percentile(heights, 90)), 2),
            "mean_height_m": round(float(heights.mean()), 2),
            "ground_m": round(float(np.nanmedian(ground)), 2),
        }
    return stats
