"""The point cloud as plain arrays: positions, colours, ASPRS classes and, for LiDAR, intensity."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class PointCloud:
    """Coloured, classified points in the working CRS (metres)."""

    xyz: npt.NDArray[np.float64]  # (N, 3)
    rgb: npt.NDArray[np.uint8]  # (N, 3)
    classification: npt.NDArray[np.uint8]  # (N,) ASPRS codes
    # (N,) LiDAR return strength as the sensor recorded it (LAS intensity); None for points made from a DSM or a
    # prediction, which have no intensity: they are written with LAS intensity 0 and tiled without the property.
    intensity: npt.NDArray[np.uint16] | None = None

    def __len__(self) -> int:
        """Number of points."""
        return int(self.xyz.shape[0])

    def class_counts(self) -> dict[int, int]:
        """Points per ASPRS class."""
        codes, counts = np.unique(self.classification, return_counts=True)
        return {int(c): int(n) for c, n in zip(codes, counts, strict=True)}
