"""Local surface geometry of a point cloud: point spacing and normals (k nearest neighbours, PCA)."""

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]

# Points whose neighbourhoods are gathered at once: (chunk, k, 3) float64 stays near 50 MB for k = 10.
_CHUNK = 200_000
# Points sampled to estimate the spacing of a cloud that needs no normals.
_SPACING_SAMPLE = 20_000


def point_spacing(xyz: F64, tree: cKDTree | None = None) -> float:
    """Median distance from a point to its nearest neighbour, metres (on a fixed sample of the cloud)."""
    tree = tree if tree is not None else cKDTree(xyz)
    sample = np.random.default_rng(0).choice(len(xyz), min(len(xyz), _SPACING_SAMPLE), replace=False)
    dist, _ = tree.query(xyz[sample], k=2, workers=-1)
    spacing = float(np.median(dist[:, 1]))
    return spacing if spacing > 0 else float(np.mean(dist[:, 1]))


def estimate_normals(xyz: F64, k: int) -> tuple[F32, float]:
    """Unit normals from the principal axes of each point's ``k`` nearest neighbours, and the point spacing.

    The normal is the eigenvector of the neighbourhood covariance with the smallest eigenvalue; its sign
    is arbitrary (votes use the cosine's absolute value).

    Args:
        xyz: (N, 3) points, metres.
        k: Neighbours per estimate (the point included).

    Returns:
        (N, 3) float32 unit normals and the median nearest-neighbour distance in metres.
    """
    tree = cKDTree(xyz)
    k = min(k, len(xyz))
    normals = np.empty((len(xyz), 3), dtype=np.float32)
    nearest = []
    for start in range(0, len(xyz), _CHUNK):
        dist, idx = tree.query(xyz[start : start + _CHUNK], k=k, workers=-1)
        nearest.append(dist[:, min(1, k - 1)])
        hood = (xyz[idx] - xyz[start : start + _CHUNK, None]).astype(np.float32)  # local offsets: float32 suffices
        hood -= hood.mean(axis=1, keepdims=True)
        cov = np.einsum("nki,nkj->nij", hood, hood)
        _, vectors = np.linalg.eigh(cov)
        normals[start : start + _CHUNK] = vectors[:, :, 0]
    spacing = float(np.median(np.concatenate(nearest)))
    return normals, spacing if spacing > 0 else float(np.mean(np.concatenate(nearest)))
