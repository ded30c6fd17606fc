"""The point cloud as plain arrays: positions, colours, ASPRS classes."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class PointCloud:
    """Coloured, classified points in the working CRS (metres)."""

    xyz: npt.NDArray[np.float64]  # (N, 3)
    rgb: npt.NDArray[np.uint8]  # (N, 3)
    classification: npt.NDArray[np.uint8]  # (N,) ASPRS codes

    def __len__(self) -> int:
        """Number of points."""
        return int(self.xyz.shape[0])

    def class_counts(self) -> dict[int, int]:
        """Points per ASPRS class."""
        codes, counts = np.unique(self.classification, return_counts=True)
        return {int(c): int(n) for c, n in zip(codes, counts, strict=True)}
