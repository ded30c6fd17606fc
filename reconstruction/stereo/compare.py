"""Compare a DSM with a reference DSM on the reference's grid: absolute height differences and coverage."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reconstruction.errors import InputError


@dataclass(frozen=True)
class DsmComparison:
    """Height differences (metres) of a DSM against a reference, over pixels valid in both.

    ``median_abs``/``p90_abs`` are raw; ``*_debiased`` are after removing the median difference
    (``bias``), because heights may differ by a constant vertical datum shift (ellipsoid vs geoid:
    without a geoid model offline we cannot always tell which one a reference uses).

    Attributes:
        valid_share: share of the reference's valid pixels where the DSM has a height too.
        median_abs: median of |dsm - reference|.
        p90_abs: 90th percentile of |dsm - reference|.
        bias: median of (dsm - reference).
        mean_bias: mean of (dsm - reference).
        median_abs_debiased: median of |dsm - reference - bias|.
        p90_abs_debiased: 90th percentile of |dsm - reference - bias|.
        compared_pixels: pixels valid in both.
    """

    valid_share: float
    median_abs: float
    p90_abs: float
    bias: float
    mean_bias: float
    median_abs_debiased: float
    p90_abs_debiased: float
    compared_pixels: int


def compare_dsm(dsm: Path, reference: Path) -> DsmComparison:
    """Resample ``dsm`` bilinearly onto ``reference``'s grid and compare the heights.

    Args:
        dsm: DSM GeoTIFF (metres, any CRS with nodata or NaN for holes).
        reference: reference DSM GeoTIFF (metres).

    Returns:
        The differences; NaN statistics when no pixel is valid in both.

    Raises:
        InputError: a file cannot be read or has no CRS.
    """
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.warp import Resampling, reproject

    try:
        with rasterio.open(reference) as ref:
            expected = ref.read(1, masked=True).astype(np.float64).filled(np.nan)
            grid = {"dst_transform": ref.transform, "dst_crs": ref.crs}
        resampled = np.full(expected.shape, np.nan)
        with rasterio.open(dsm) as src:
            if src.crs is None:
                raise InputError(f"{dsm.name} has no coordinate reference system; it cannot be compared.")
            reproject(
                rasterio.band(src, 1),
                resampled,
                src_nodata=src.nodata,
                dst_nodata=np.nan,
                resampling=Resampling.bilinear,
                **grid,
            )
    except RasterioIOError as err:
        raise InputError(f"Cannot read a DSM to compare: {err}") from err
    reference_valid = np.isfinite(expected)
    both = reference_valid & np.isfinite(resampled)
    diff = (resampled - expected)[both]
    if diff.size == 0:
        nan = float("nan")
        return DsmComparison(0.0, nan, nan, nan, nan, nan, nan, 0)
    bias = float(np.median(diff))
    centred = np.abs(diff - bias)
    return DsmComparison(
        valid_share=float(both.sum() / max(int(reference_valid.sum()), 1)),
        median_abs=float(np.median(np.abs(diff))),
        p90_abs=float(np.percentile(np.abs(diff), 90)),
        bias=bias,
        mean_bias=float(diff.mean()),
        median_abs_debiased=float(np.median(centred)),
        p90_abs_debiased=float(np.percentile(centred, 90)),
        compared_pixels=int(diff.size),
    )
