"""Orthophoto pixel values to display colours."""

import numpy as np
import numpy.typing as npt


def to_rgb8(bands: npt.NDArray[np.float32], dtype: str) -> npt.NDArray[np.uint8]:
    """Convert (3, H, W) orthophoto values to 8-bit RGB; NaN becomes 0.

    8-bit images are kept as they are; 16-bit ones are stretched between their 2nd and 98th
    percentiles, the usual display stretch for 16-bit aerial and satellite imagery.
    """
    if dtype == "uint8":
        return np.nan_to_num(np.clip(bands, 0, 255)).astype(np.uint8)
    out = np.zeros(bands.shape, dtype=np.uint8)
    for i, band in enumerate(bands):
        finite = band[np.isfinite(band)]
        if finite.size == 0:
            continue
        low, high = np.percentile(finite, [2, 98])
        scaled = (band - low) / max(float(high - low), 1e-6) * 255
        out[i] = np.nan_to_num(np.clip(scaled, 0, 255)).astype(np.uint8)
    return out
