"""A common representation of two sources for keypoint matching: gradient magnitude, 8-bit.

Why gradient magnitude, for every kind of source:

- Two images of different bands (RGB against false-colour infrared NIR-R-G) show the same edges, but
  not always with the same sign: vegetation is dark in red and bright in near infrared, so intensity
  descriptors (SIFT's gradient orientations) flip there. The magnitude of the gradient keeps the edge and
  drops its sign. It needs no knowledge of which band is which, so it also serves another sensor or date.
  On the Montpellier RGB/IRC pair it matches as accurately as the one band both share (red).
- A DSM's height gradient (slope) is strongest at building walls and tree crowns, where images have
  edges too; two DSMs (e.g. a supplied one against a LiDAR one) compare directly.

Each band is first stretched between its 1st and 99th percentiles (8- and 16-bit sources alike), the
stretched bands are averaged, smoothed by a Gaussian of one cell, and the magnitude is stretched again
to 0..255. Cells without data are 0 and excluded from detection by a mask.
"""

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from reconstruction.registration.sources import Source


@dataclass(frozen=True)
class Representation:
    """What keypoints are detected on.

    Attributes:
        image: ``(H, W)`` uint8.
        mask: ``(H, W)`` uint8, 255 where keypoints may be detected (data, away from the data edge).
        description: one line for the report.
    """

    image: npt.NDArray[np.uint8]
    mask: npt.NDArray[np.uint8]
    description: str


def represent(source: Source) -> Representation:
    """Gradient magnitude of the band mean (image) or of the heights (DSM), as 8 bits."""
    valid = source.valid
    if source.kind == "image":
        plane = np.mean([_stretch(band, valid) for band in source.values], axis=0)
        description = "gradient magnitude of the stretched band mean"
    else:
        plane = source.values[0].astype(np.float32)
        description = "gradient magnitude of the heights (slope)"
    fill = float(np.median(plane[valid])) if valid.any() else 0.0
    plane = np.where(valid, plane, fill).astype(np.float32)
    smooth = cv2.GaussianBlur(plane, (0, 0), 1.0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.sqrt(gx * gx + gy * gy)
    if source.kind == "dsm":  # walls are metres high, roofs centimetres rough: compress the range
        magnitude = np.log1p(magnitude)
    image = np.round(_stretch(magnitude, valid) * 255).astype(np.uint8)
    inner = cv2.erode(valid.astype(np.uint8), np.ones((5, 5), np.uint8))
    image[~valid] = 0
    return Representation(image, (inner * 255).astype(np.uint8), description)


def _stretch(band: npt.NDArray[np.float32], valid: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """Linear stretch between the 1st and 99th percentiles of the valid cells, clipped to 0..1."""
    values = band[valid & np.isfinite(band)]
    if values.size == 0:
        return np.zeros(band.shape, dtype=np.float32)
    low, high = np.percentile(values, [1, 99])
    scale = float(high - low) or 1.0
    return np.clip((np.nan_to_num(band, nan=float(low)) - low) / scale, 0, 1).astype(np.float32)
