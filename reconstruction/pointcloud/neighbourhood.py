"""Shape of each point's neighbourhood: how well a plane fits its k nearest neighbours, and how its pulses echoed.

The covariance of a point's k nearest neighbours has eigenvalues ``l1 >= l2 >= l3`` (Weinmann et al. 2015,
"Semantic point cloud interpretation based on optimal neighborhoods"): on a roof ``l3`` is tiny (the points
lie on a plane), in a crown all three are of one size (the returns scatter through a volume). ``sqrt(l3)``,
the plane's residual in metres, grows with the neighbourhood's size (a decimated cloud's 12 neighbours span
metres of a ridged roof); divided by the distance to the farthest neighbour it does not, which is why
:class:`Neighbourhood` keeps both (measured at 15 and at 0.3 points/m²: docs/models.md).

scipy's ``cKDTree`` finds the neighbours; the 3x3 covariances and their eigenvalues (``numpy.linalg.eigvalsh``
on stacks) are computed per chunk of points, so memory stays bounded whatever the cloud's size. No well-kept
library computes these features on plain arrays without a point-cloud framework (Open3D, PDAL) that the
project does not otherwise need.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

#: Points per query chunk: the (chunk, k, 3) neighbour block stays about 40 MB at k = 16.
_CHUNK = 1 << 17


@dataclass(frozen=True)
class Neighbourhood:
    """Per-point features of the k nearest neighbours (the point itself included).

    Attributes:
        residual_m: (N,) root of the smallest covariance eigenvalue: the spread off the best-fitting plane, metres.
        spread_m: (N,) distance to the farthest of the k neighbours, metres (how far the features reach).
        echo_share: (N,) share of the neighbours whose pulse gave several returns; NaN when echoes are unknown.
    """

    residual_m: npt.NDArray[np.float32]
    spread_m: npt.NDArray[np.float32]
    echo_share: npt.NDArray[np.float32]

    @property
    def flatness(self) -> npt.NDArray[np.float32]:
        """(N,) plane residual over spread: near 0 on a plane, about 0.2 or more in a crown, whatever the density."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(self.residual_m / self.spread_m, dtype=np.float32)


class Neighbours:
    """The k nearest neighbours (the point itself included) of every point of a cloud, queried chunk by chunk."""

    def __init__(self, xyz: npt.NDArray[np.float64], k: int) -> None:
        """Index ``xyz`` ((N, 3) metres) for queries of ``k`` neighbours (fewer when the cloud is smaller)."""
        self.local = xyz - xyz.mean(axis=0) if len(xyz) else xyz  # small numbers keep covariances precise
        self.k = min(k, len(xyz))
        self._tree = cKDTree(self.local, balanced_tree=False, compact_nodes=False)

    def chunks(self) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.intp]]]:
        """(points, distances, neighbour indices) per chunk, in the tree's leaf order.

        Neighbouring queries then walk the same nodes, about three times faster than the input order on an
        unsorted cloud (as in :mod:`reconstruction.pointcloud.outliers`).
        """
        order = self._tree.indices
        for start in range(0, len(order), _CHUNK):
            chunk = order[start : start + _CHUNK]
            dist, nbr = self._tree.query(self.local[chunk], k=self.k, workers=-1)
            yield chunk, dist.reshape(len(chunk), -1), nbr.reshape(len(chunk), -1)

    def features(self, multiple_echo: npt.NDArray[np.bool_] | None = None) -> Neighbourhood:
        """Plane residual, spread and echo share of each point's neighbourhood.

        Args:
            multiple_echo: (N,) True for returns of a pulse that gave several (LAS ``number_of_returns > 1``);
                None when the file does not record echoes.

        Returns:
            The features; residuals are NaN for a cloud of fewer than 3 points.
        """
        n = len(self.local)
        residual, spread, echo = (np.full(n, np.nan, dtype=np.float32) for _ in range(3))
        if self.k < 3:
            return Neighbourhood(residual, spread, echo)
        echoes = None if multiple_echo is None else np.asarray(multiple_echo, dtype=np.float32)
        for chunk, dist, nbr in self.chunks():
            block = self.local[nbr]  # (c, k, 3)
            block -= block.mean(axis=1, keepdims=True)
            cov = np.einsum("cki,ckj->cij", block, block) / self.k
            residual[chunk] = np.sqrt(np.maximum(np.linalg.eigvalsh(cov)[:, 0], 0.0))  # smallest eigenvalue
            spread[chunk] = dist[:, -1]
            if echoes is not None:
                echo[chunk] = echoes[nbr].mean(axis=1)
        return Neighbourhood(residual, spread, echo)

    def share(self, flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
        """(N,) share of each point's neighbours (itself included) for which ``flags`` is True."""
        out = np.zeros(len(self.local), dtype=np.float32)
        if self.k == 0:
            return out
        values = np.asarray(flags, dtype=np.float32)
        for chunk, _, nbr in self.chunks():
            out[chunk] = values[nbr].mean(axis=1)
        return out
