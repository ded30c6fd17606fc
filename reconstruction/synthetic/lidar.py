"""A generated town's airborne LiDAR: points sampled on its surface, classified, coloured like the orthophoto.

Returns fall uniformly at ``density`` points per m²: on the DSM (a little noise), except that a share of
those over trees passes through the crown to the ground, as last returns do. Each point takes the class of
its cell (roads as ground, as surveys deliver them) and, like IGN LiDAR HD and NEON, the colour of the
orthophoto at its position (16-bit fields). ``colour`` picks the point format: RGB + NIR (8), RGB (7),
colour fields left at zero (7), or none (6).
"""

from pathlib import Path
from typing import Literal

import laspy
import numpy as np
from pyproj import CRS

from reconstruction.synthetic.config import LABEL_GROUND, LABEL_HIGH_VEGETATION, LABEL_ROAD, SyntheticScene

#: Share of the returns over a tree that reach the ground under it.
THROUGH_CANOPY = 0.3
#: Noise of a return's height, metres (1 sigma).
Z_NOISE_M = 0.03

LidarColour = Literal["rgb+nir", "rgb", "zero", "none"]
_FORMATS: dict[str, int] = {"rgb+nir": 8, "rgb": 7, "zero": 7, "none": 6}


def write_scene_lidar(
    scene: SyntheticScene, path: Path, density: float, colour: LidarColour = "rgb", seed: int = 0
) -> Path:
    """Write the scene's LiDAR as a LAS/LAZ 1.4 file (the suffix decides) with the scene's CRS.

    Args:
        scene: a scene from :func:`reconstruction.synthetic.generate_scene` (``nir=True`` for ``"rgb+nir"``).
        path: the file to write.
        density: returns per m².
        colour: what the points carry (see the module docstring).
        seed: draws the positions, with the scene's own seed.

    Returns:
        ``path``.

    Raises:
        ValueError: ``density`` is not positive, or NIR is asked of a scene without it.
    """
    if not density > 0:
        raise ValueError(f"density must be positive points per m², got {density}")
    if colour == "rgb+nir" and scene.ortho.shape[0] < 4:
        raise ValueError("an RGB + NIR LiDAR needs a scene generated with nir=True")
    rng = np.random.default_rng([scene.config.seed, 2, seed])
    size = float(scene.config.size_m)
    x0, y0 = (float(c) for c in scene.config.origin)
    n = max(1, round(density * size * size))
    x, y = x0 + rng.uniform(0, size, n), y0 + rng.uniform(0, size, n)
    row, col = _cells(scene.dsm.shape, size, x - x0, y - y0)
    labels = scene.labels[row, col]
    through = (labels == LABEL_HIGH_VEGETATION) & (rng.random(n) < THROUGH_CANOPY)
    z = np.where(through, scene.dtm[row, col], scene.dsm[row, col]) + rng.normal(0, Z_NOISE_M, n)
    classes = np.where(through | (labels == LABEL_ROAD), LABEL_GROUND, labels).astype(np.uint8)

    header = laspy.LasHeader(point_format=_FORMATS[colour], version="1.4")
    header.add_crs(CRS.from_user_input(scene.crs))
    header.offsets, header.scales = [x0, y0, 0.0], [0.01, 0.01, 0.01]
    las = laspy.LasData(header)
    las.x, las.y, las.z = x, y, z
    las.classification = classes
    las.return_number = np.where(through, 2, 1).astype(np.uint8)
    las.number_of_returns = np.where(labels == LABEL_HIGH_VEGETATION, 2, 1).astype(np.uint8)
    if colour in ("rgb+nir", "rgb"):
        orow, ocol = _cells(scene.ortho.shape[1:], size, x - x0, y - y0)
        pixels = scene.ortho[:, orow, ocol].astype(np.uint16) * 257  # 8-bit colour in LAS's 16-bit fields
        las.red, las.green, las.blue = pixels[0], pixels[1], pixels[2]
        if colour == "rgb+nir":
            las.nir = pixels[3]
    las.write(str(path))
    return path


def _cells(shape: tuple[int, ...], size: float, dx: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of local positions (metres from the lower-left corner) on a north-up raster of ``shape``."""
    rows, cols = shape[0], shape[1]
    col = np.clip((dx / size * cols).astype(np.int64), 0, cols - 1)
    row = np.clip(((size - dy) / size * rows).astype(np.int64), 0, rows - 1)
    return row, col
