"""Per-pixel scores of predicted land cover and heights against reference rasters.

:class:`RasterScores` accumulates over any number of tiles (so a report covers several held-out
regions without holding them all in memory) and reports:

* land cover: per-class IoU and F1, mIoU (mean over the classes the reference holds: a class the
  reference never uses, such as road in LiDAR that files streets as ground, would only add a zero
  for every pixel the model calls so, which accuracy already counts), overall accuracy;
* heights (metres above ground): MAE, RMSE and SSIM, over all pixels with a reference height and
  over reference *building* pixels alone (where single-view height is hardest and matters most);
* mIoU-3, the IEEE GRSS Data Fusion Contest 2019 measure: a pixel is a true positive of class c
  only if both its class is right and its height is within 1 m of the reference.

SSIM is written here (about 20 lines) rather than taken from scikit-image, which rs3d does not
otherwise need: a Gaussian-free 7x7 box window as in Wang et al. 2004's fast variant, on heights in
metres with the constants scaled to the reference's height range, averaged over pixels whose whole
window has reference heights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.ndimage import uniform_filter

#: Label value of pixels without a reference class.
IGNORE = 255


def ssim_map(
    pred: npt.NDArray[np.floating], truth: npt.NDArray[np.floating], window: int = 7
) -> npt.NDArray[np.float64]:
    """Structural similarity of two height rasters, per pixel (NaN where a window touches a NaN).

    Args:
        pred: predicted heights, metres.
        truth: reference heights, metres; NaN where unknown.
        window: side of the square averaging window, pixels.

    Returns:
        SSIM in -1..1 per pixel, NaN where the window is not fully known.
    """
    x, y = np.asarray(pred, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    known = np.isfinite(x) & np.isfinite(y)
    x, y = np.where(known, x, 0.0), np.where(known, y, 0.0)
    full = uniform_filter(known.astype(np.float64), window, mode="constant") > 1.0 - 1e-9
    span = float(np.ptp(y[known])) if known.any() else 0.0
    c1, c2 = (0.01 * max(span, 1.0)) ** 2, (0.03 * max(span, 1.0)) ** 2
    mx, my = uniform_filter(x, window), uniform_filter(y, window)
    vx = uniform_filter(x * x, window) - mx * mx
    vy = uniform_filter(y * y, window) - my * my
    cxy = uniform_filter(x * y, window) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return np.where(full, s, np.nan)


class RasterScores:
    """Accumulates class and height agreement over tiles; :meth:`report` gives the scores.

    Args:
        class_names: names of the class channels, in channel order.
        building: channel of the building class (for the building-only height scores), or None.
        height_tolerance_m: height tolerance of mIoU-3.
    """

    def __init__(self, class_names: list[str], building: int | None = None, height_tolerance_m: float = 1.0) -> None:
        """Start with empty sums."""
        self.names, self.building, self.tolerance = list(class_names), building, height_tolerance_m
        k = len(self.names)
        self.confusion = np.zeros((k, k), dtype=np.int64)
        self.tp3 = np.zeros(k, dtype=np.int64)
        self.union3 = np.zeros(k, dtype=np.int64)
        # per mask: pixels, sum |e|, sum e^2, sum of SSIM, pixels with an SSIM
        self._height = {"all": np.zeros(5), "building": np.zeros(5)}

    def add(
        self,
        truth_labels: npt.NDArray[np.integer],
        pred_labels: npt.NDArray[np.integer],
        truth_height: npt.NDArray[np.floating],
        pred_height: npt.NDArray[np.floating],
    ) -> None:
        """Add one tile: reference and predicted class channels (255 = no reference) and heights (NaN = none)."""
        k = len(self.names)
        truth_labels, pred_labels = np.asarray(truth_labels, np.int64), np.asarray(pred_labels, np.int64)
        labelled = truth_labels != IGNORE
        t, p = truth_labels[labelled], pred_labels[labelled]
        self.confusion += np.bincount(t * k + p, minlength=k * k).reshape(k, k)

        err = np.asarray(pred_height, np.float64) - np.asarray(truth_height, np.float64)
        close = np.abs(err) <= self.tolerance  # False where either height is NaN
        both = labelled & np.isfinite(err)
        for c in range(k):
            is_t, is_p = truth_labels[both] == c, pred_labels[both] == c
            self.tp3[c] += int((is_t & is_p & close[both]).sum())
            self.union3[c] += int((is_t | is_p).sum())

        ssim = ssim_map(pred_height, truth_height)
        known = np.isfinite(err)
        masks = {"all": known}
        if self.building is not None:
            masks["building"] = known & (truth_labels == self.building)
        for name, mask in masks.items():
            e = err[mask]
            s = ssim[mask]
            s = s[np.isfinite(s)]
            self._height[name] += [e.size, np.abs(e).sum(), (e * e).sum(), s.sum(), s.size]

    def report(self) -> dict[str, Any]:
        """The scores as a JSON-ready dict (None where a score has no pixels)."""
        c = self.confusion.astype(np.float64)
        tp = np.diag(c)
        truth, pred = c.sum(1), c.sum(0)
        union = truth + pred - tp
        iou = {n: (float(tp[i] / union[i]) if union[i] else None) for i, n in enumerate(self.names)}
        f1 = {
            n: (float(2 * tp[i] / (truth[i] + pred[i])) if truth[i] + pred[i] else None)
            for i, n in enumerate(self.names)
        }
        present = [float(tp[i] / union[i]) for i in range(len(self.names)) if truth[i] > 0]
        iou3 = [self.tp3[i] / self.union3[i] for i in range(len(self.names)) if self.union3[i]]
        labelled = int(c.sum())
        out: dict[str, Any] = {
            "iou": iou,
            "f1": f1,
            "miou": float(np.mean(present)) if present else None,
            "overall_accuracy": float(tp.sum() / labelled) if labelled else None,
            "miou3": float(np.mean(iou3)) if iou3 else None,
            "labelled_pixels": labelled,
        }
        for name in ("all", "building"):
            n, abs_sum, sq_sum, ssim_sum, n_ssim = self._height[name]
            prefix = "height" if name == "all" else "building_height"
            out[f"{prefix}_mae_m"] = float(abs_sum / n) if n else None
            out[f"{prefix}_rmse_m"] = float(np.sqrt(sq_sum / n)) if n else None
            out[f"{prefix}_ssim"] = float(ssim_sum / n_ssim) if n_ssim else None
            out[f"{prefix}_pixels"] = int(n)
        return out
