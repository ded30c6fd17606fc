"""Water and roads on the ground from a LiDAR's returns, for areas without a photograph to read them from.

Roads and water lie on the ground, where height says nothing; with an orthophoto the model tells them from
lawns and yards by colour (``classify``'s ground refinement). A LiDAR alone, without colour, left both
unmapped (Delft's AHN3: road and water recall 0). Its returns still say a good deal:

- **Water** (:func:`water_cells`): a survey that classifies water (ASPRS 9) marks the few returns a water
  surface gives back, and a near-infrared laser gets almost nothing back from calm water, so a river or a
  canal is mostly a hole in the points (80 % of Delft's BGT water cells hold no return, 1.6 % a class-9 one).
  A cell is water when most of its returns are class 9, and the cells without any return that are connected
  to such a cell are the same water. A gap touching no water return (a glass roof, an occlusion) stays unknown.
- **Roads** (:func:`paved_cells`): paving (asphalt, concrete, clay bricks) returns less of a 1064 nm pulse
  than grass or bare soil. The ground returns' intensity per cell is split in two by Otsu's threshold over
  the area's own ground returns (so no sensor's scale is assumed), and the dark side is paved ground: the
  road mask that :func:`~reconstruction.objects.roads.extract_roads` turns into carriageways (it keeps the
  corridors at least 3 m wide). Paved yards, footpaths and car parks are dark too, so these "roads" are
  traffic areas more than carriageways (docs/models.md measures both).
"""

from collections.abc import Collection

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from reconstruction.io.grid import Grid
from reconstruction.pointcloud.rasterize import cell_index
from reconstruction.pointcloud.shares import rasterize_shares

#: ASPRS codes: ground, water.
GROUND_CLASS, WATER_CLASS = 2, 9


def water_cells(
    xyz: npt.NDArray[np.float64],
    classification: npt.NDArray[np.uint8],
    grid: Grid,
    file_classes: Collection[int],
) -> npt.NDArray[np.bool_] | None:
    """The water cells of ``grid``: mostly class-9 returns, and the empty cells connected to them.

    Args:
        xyz: (N, 3) returns in the grid's CRS.
        classification: (N,) their ASPRS classes.
        grid: the working grid.
        file_classes: the classes the whole file holds: a file that classifies no water says nothing here.

    Returns:
        (H, W) water mask, or None when the file has no water class.
    """
    if WATER_CLASS not in file_classes:
        return None
    idx = cell_index(grid, xyz[:, 0], xyz[:, 1])
    counts = np.bincount(idx[idx >= 0], minlength=grid.width * grid.height).reshape(grid.shape)
    share = rasterize_shares(xyz, [classification == WATER_CLASS], grid, fill_cells=0)[0]
    water = np.nan_to_num(share) > 0.5
    if not water.any():
        return water
    gaps, _ = ndimage.label(counts == 0)
    touching = np.unique(gaps[ndimage.binary_dilation(water) & (gaps > 0)])
    return np.asarray(water | np.isin(gaps, touching[touching > 0]), dtype=bool)


def paved_cells(
    xyz: npt.NDArray[np.float64],
    classification: npt.NDArray[np.uint8],
    intensity: npt.NDArray[np.uint16] | None,
    grid: Grid,
    window_m: float = 1.5,
) -> npt.NDArray[np.bool_] | None:
    """The cells whose ground returns are dark (paved), by Otsu's split of the area's ground intensities.

    Args:
        xyz: (N, 3) returns in the grid's CRS.
        classification: (N,) their ASPRS classes (2 = ground).
        intensity: (N,) their return strength, or None when the file records none.
        grid: the working grid.
        window_m: the intensities are averaged over a window this wide, metres.

    Returns:
        (H, W) mask of cells with ground returns darker than the threshold, or None without intensity or
        ground returns.
    """
    if intensity is None:
        return None
    ground = classification == GROUND_CLASS
    idx = cell_index(grid, xyz[ground, 0], xyz[ground, 1])
    inside = idx >= 0
    if not inside.any():
        return None
    size = grid.width * grid.height
    counts = np.bincount(idx[inside], minlength=size).reshape(grid.shape).astype(np.float64)
    total = np.bincount(idx[inside], weights=intensity[ground][inside].astype(np.float64), minlength=size)
    # One return's intensity is speckled (a brick joint, a leaf, the angle): the mean over a window of about
    # ``window_m`` says what the surface is.
    cells = max(1, round(window_m / grid.resolution)) | 1
    counts = ndimage.uniform_filter(counts, cells, mode="constant")
    total = ndimage.uniform_filter(total.reshape(grid.shape), cells, mode="constant")
    has = counts * cells**2 > 0.5  # at least one return in the window (the filter leaves rounding dust)
    mean = np.zeros(grid.shape)
    mean[has] = total[has] / counts[has]
    paved = np.zeros(grid.shape, dtype=bool)
    # A few glints (up to 10 times the median) would pull the split towards them: Otsu sees the 1-99th percentiles.
    paved[has] = mean[has] < otsu_threshold(np.clip(mean[has], *np.percentile(mean[has], [1, 99])))
    return paved


def otsu_threshold(values: npt.NDArray[np.float64], bins: int = 256) -> float:
    """Otsu's threshold: the value that splits ``values`` into two classes of most between-class variance."""
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return hi
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(counts).astype(np.float64)
    below = np.cumsum(counts * centres)
    n, mass = weight[-1], below[-1]
    above = n - weight
    with np.errstate(invalid="ignore", divide="ignore"):
        between = (mass * weight / n - below) ** 2 / (weight * above)
    return float(edges[1:][int(np.nanargmax(between[:-1]))])
