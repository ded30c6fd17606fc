"""Fill gaps in a raster surface by pyramid (push-pull) interpolation.

Written by hand: scipy's griddata triangulates every known cell, which is far too slow for the
millions of cells of a city DSM, while push-pull is linear in the cell count and gives a smooth
surface that keeps every known value exactly.
"""

import numpy as np
import numpy.typing as npt
from scipy import ndimage


def fill_holes(values: npt.NDArray[np.float32], known: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """Return ``values`` with the cells where ``known`` is False interpolated from the known ones.

    Args:
        values: (H, W) surface; entries outside ``known`` are ignored.
        known: (H, W) mask of trusted cells; at least one must be True.

    Returns:
        (H, W) float32 surface equal to ``values`` on known cells.
    """
    if not known.any():
        raise ValueError("fill_holes needs at least one known cell")
    weights = known.astype(np.float32)
    sums = np.where(known, values, 0).astype(np.float32)
    filled = _push_pull(sums, weights)
    out = np.where(known, values, filled).astype(np.float32)
    return out


def _push_pull(sums: npt.NDArray[np.float32], weights: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Recursive normalized-convolution pyramid: average down until every cell has support, then up."""
    h, w = weights.shape
    smooth_w = ndimage.uniform_filter(weights, size=3, mode="nearest")
    smooth_s = ndimage.uniform_filter(sums, size=3, mode="nearest")
    if (smooth_w > 0).all() or min(h, w) <= 2:
        return np.divide(smooth_s, smooth_w, out=np.zeros_like(smooth_s), where=smooth_w > 0)
    # Push: 2x2 block sums (pad to even size).
    ph, pw = h + h % 2, w + w % 2
    s2 = np.pad(smooth_s, ((0, ph - h), (0, pw - w))).reshape(ph // 2, 2, pw // 2, 2).sum(axis=(1, 3))
    w2 = np.pad(smooth_w, ((0, ph - h), (0, pw - w))).reshape(ph // 2, 2, pw // 2, 2).sum(axis=(1, 3))
    coarse = _push_pull(s2, w2)
    # Pull: bilinear upsample the coarse surface, blend by local support.
    up = ndimage.zoom(coarse, 2, order=1, mode="nearest", grid_mode=True)[:h, :w]
    support = np.clip(smooth_w, 0, 1)
    local = np.divide(smooth_s, smooth_w, out=np.zeros_like(smooth_s), where=smooth_w > 0)
    return (support * local + (1 - support) * up).astype(np.float32)
