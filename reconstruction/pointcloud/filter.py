"""Clean point clouds: voxel-grid downsampling, then statistical outlier removal.

The outlier test (each point against its own neighbours, robust statistics, a height test) is
:mod:`reconstruction.pointcloud.outliers`; this module thins the cloud on a voxel grid, runs the test and
reports what both removed.
"""

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from reconstruction.config import FilterConfig
from reconstruction.errors import ConfigError
from reconstruction.pointcloud.cloud import PointCloud
from reconstruction.pointcloud.outliers import check_finite, outlier_mask


@dataclass(frozen=True)
class FilterReport:
    """What :func:`clean_point_cloud` did.

    Attributes:
        points_in: points given.
        after_voxel: points left after downsampling (``points_in`` when there was none).
        outliers: points removed as outliers.
        points_out: points returned.
        threshold_m: the global mean-neighbour-distance threshold in metres (each point's own lies within 0.8
            and 1.5 times it, see :func:`outlier_mask`); ``inf`` when the cloud had too few points (fewer
            than ``k + 1``) for the statistic and nothing was removed.
    """

    points_in: int
    after_voxel: int
    outliers: int
    points_out: int
    threshold_m: float

    def to_dict(self) -> dict[str, float | int]:
        """The report as plain numbers (``threshold_m`` may be ``inf``, see the class docstring)."""
        return asdict(self)


def voxel_downsample(cloud: PointCloud, voxel_m: float) -> PointCloud:
    """Keep one point per occupied voxel: the one nearest the voxel's centroid.

    Voxels are aligned on the cloud's lowest corner. Kept points keep their input order, colour and class.

    Args:
        cloud: the points, in metres.
        voxel_m: voxel edge in metres.

    Returns:
        The kept points (a subset of ``cloud``, never new positions).

    Raises:
        ConfigError: voxel_m is not positive.
        InputError: some coordinates are NaN or infinite.
    """
    if not voxel_m > 0:
        raise ConfigError(f"voxel_m must be a positive size in metres, not {voxel_m}")
    if len(cloud) < 2:
        return cloud
    check_finite(cloud.xyz)
    keep = _voxel_representatives(cloud.xyz, voxel_m)
    return _take(cloud, keep)


def clean_point_cloud(cloud: PointCloud, cfg: FilterConfig) -> tuple[PointCloud, FilterReport]:
    """Downsample on a voxel grid (when ``cfg.voxel_m`` is set), then remove statistical outliers.

    Args:
        cloud: the points, in metres.
        cfg: voxel size and outlier options.

    Returns:
        The cleaned cloud (a subset of the input points, in input order) and what was removed.

    Raises:
        InputError: some coordinates are NaN or infinite.
    """
    points_in = len(cloud)
    if cfg.voxel_m is not None:
        cloud = voxel_downsample(cloud, cfg.voxel_m)
    after_voxel = len(cloud)
    outliers, threshold = outlier_mask(cloud.xyz, cfg.k, cfg.std_ratio, cfg.second_round)
    n_outliers = int(np.count_nonzero(outliers))
    if n_outliers:
        cloud = _take(cloud, np.flatnonzero(~outliers))
    report = FilterReport(
        points_in=points_in,
        after_voxel=after_voxel,
        outliers=n_outliers,
        points_out=len(cloud),
        threshold_m=threshold,
    )
    return cloud, report


def _take(cloud: PointCloud, index: npt.NDArray[np.intp]) -> PointCloud:
    intensity = None if cloud.intensity is None else cloud.intensity[index]
    return PointCloud(
        xyz=cloud.xyz[index], rgb=cloud.rgb[index], classification=cloud.classification[index], intensity=intensity
    )


def _voxel_representatives(xyz: npt.NDArray[np.float64], voxel_m: float) -> npt.NDArray[np.intp]:
    """Indices (ascending) of the point nearest its voxel's centroid, one per occupied voxel."""
    local = xyz - xyz.min(axis=0)  # small numbers: centroids and distances keep their precision
    ijk = (local / voxel_m).astype(np.int64)  # local >= 0, so truncation is floor
    dims = [int(d) + 1 for d in ijk.max(axis=0)]
    if dims[0] * dims[1] * dims[2] < 2**62:
        key = (ijk[:, 0] * dims[1] + ijk[:, 1]) * dims[2] + ijk[:, 2]
    else:  # a huge extent for the voxel size: rank the voxels instead of packing them
        key = np.unique(ijk, axis=0, return_inverse=True)[1].reshape(-1)
    del ijk
    order = np.argsort(key)
    sorted_key = key[order]
    del key
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    del sorted_key
    counts = np.diff(np.r_[starts, len(order)])
    local = local[order]
    centroids = np.add.reduceat(local, starts, axis=0) / counts[:, None]
    voxel = np.repeat(np.arange(len(starts)), counts)
    dist2 = np.zeros(len(order))
    for axis in range(3):  # per axis, to avoid an (N, 3) temporary
        dist2 += (local[:, axis] - centroids[voxel, axis]) ** 2
    candidates = np.flatnonzero(dist2 == np.minimum.reduceat(dist2, starts)[voxel])  # one or more per voxel
    # Ties (equal distances) go to the lowest input index, whatever order the sort left them in.
    tied = voxel[candidates]
    first = np.flatnonzero(np.r_[True, tied[1:] != tied[:-1]])
    return np.sort(np.minimum.reduceat(order[candidates], first))
