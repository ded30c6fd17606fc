"""Turn a CARS output folder into rs3d products: DSM GeoTIFF, RGB orthoimage on the DSM grid, LAZ points."""

from pathlib import Path

import numpy as np
import numpy.typing as npt

from reconstruction.errors import ProcessingError
from reconstruction.io.raster import HEIGHTS_IN_METRES

#: Nodata value of the written DSM (metres).
DSM_NODATA = -9999.0
#: Percentiles of the valid image values mapped to 0 and 255 in the orthoimage.
STRETCH_PERCENTILES = (1.0, 99.0)


def write_dsm(cars_dir: Path, out: Path) -> tuple[int, float, float]:
    """Copy CARS's DSM to ``out`` as a tiled float32 GeoTIFF with a horizontal CRS and nodata -9999.

    Returns:
        (EPSG code, resolution in metres, share of the grid holding a height).

    Raises:
        ProcessingError: CARS wrote no DSM, or one without valid heights.
    """
    import rasterio

    source = cars_dir / "dsm" / "dsm.tif"
    if not source.is_file():
        raise ProcessingError(f"Stereo reconstruction (CARS) finished without a DSM ({source} is missing).")
    with rasterio.open(source) as src:
        dsm = src.read(1, masked=True).astype(np.float32).filled(np.nan)
        crs, epsg = _horizontal(src.crs)
        profile = {
            "driver": "GTiff",
            "width": src.width,
            "height": src.height,
            "count": 1,
            "dtype": "float32",
            "crs": crs,
            "transform": src.transform,
            "nodata": DSM_NODATA,
            "tiled": True,
            "compress": "deflate",
        }
        resolution = float(abs(src.transform.a))
    valid = np.isfinite(dsm)
    if not valid.any():
        raise ProcessingError(
            "Stereo reconstruction (CARS) matched no pixel: the views may not overlap or may differ too much "
            "(season, clouds, viewing angles)."
        )
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(np.where(valid, dsm, DSM_NODATA).astype(np.float32), 1)
        dst.update_tags(1, units="metre", vertical_datum="WGS84 ellipsoid")
        dst.update_tags(**HEIGHTS_IN_METRES)  # a --z-unit given for the user's LiDAR does not apply to it
    return int(epsg or 0), resolution, float(valid.mean())


def write_ortho(cars_dir: Path, out: Path) -> Path:
    """Write CARS's orthorectified image (``dsm/image.tif``, on the DSM grid) as 3-band uint8 RGB.

    Panchromatic images are replicated to grey RGB; each band is stretched between its 1st and 99th
    percentiles. Pixels without image are 0 and masked (nodata 0).
    """
    import rasterio

    source = cars_dir / "dsm" / "image.tif"
    if not source.is_file():
        raise ProcessingError(f"Stereo reconstruction (CARS) wrote no orthoimage ({source} is missing).")
    with rasterio.open(source) as src:
        bands = src.read(masked=True).astype(np.float32)
        profile = {"crs": src.crs, "transform": src.transform, "width": src.width, "height": src.height}
    grey = _stretch(bands[0])
    rgb = np.stack([grey, grey, grey]) if bands.shape[0] < 3 else np.stack([_stretch(band) for band in bands[:3]])
    _write_rgb(out, rgb, profile)
    return out


def _stretch(band: np.ma.MaskedArray) -> npt.NDArray[np.uint8]:
    values = band.compressed()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.zeros(band.shape, np.uint8)
    low, high = np.percentile(values, STRETCH_PERCENTILES)
    scaled = np.clip((band.filled(low) - low) / max(float(high - low), 1e-6) * 254.0 + 1.0, 1, 255)
    return np.where(np.ma.getmaskarray(band), 0, scaled).astype(np.uint8)


def _horizontal(crs: object) -> tuple[str, int | None]:
    """The horizontal part of CARS's (possibly compound) CRS, as ``EPSG:n`` or WKT, and its EPSG code."""
    from pyproj import CRS

    horizontal = CRS.from_user_input(crs)
    if horizontal.is_compound:
        horizontal = horizontal.sub_crs_list[0]
    epsg = horizontal.to_epsg()
    return (f"EPSG:{epsg}" if epsg else horizontal.to_wkt()), epsg


def _write_rgb(out: Path, rgb: npt.NDArray[np.uint8], profile: dict[str, object]) -> None:
    import rasterio

    with rasterio.open(
        out,
        "w",
        driver="GTiff",
        count=3,
        dtype="uint8",
        nodata=0,
        photometric="RGB",
        tiled=True,
        compress="deflate",
        **{**profile, "crs": _horizontal(profile["crs"])[0]},
    ) as dst:
        dst.write(rgb)


def write_points(dsm: Path, ortho: Path, out: Path) -> Path:
    """Write one LAZ point per valid DSM cell (cell centre, height, RGB from the orthoimage), in the DSM's CRS.

    CARS 1.3.0 writes its own LAZ tiles in EPSG:4326 with a 0.01 scale, which rounds positions to about
    1 km, so the point cloud is rebuilt from the DSM (1 cm precision) instead.
    """
    import laspy
    import rasterio
    from pyproj import CRS

    with rasterio.open(dsm) as src:
        heights = src.read(1, masked=True)
        transform, crs = src.transform, CRS.from_user_input(src.crs)
    with rasterio.open(ortho) as src:
        rgb = src.read()
    rows, cols = np.nonzero(~np.ma.getmaskarray(heights))
    xs, ys = rasterio.transform.xy(transform, rows, cols, offset="center")
    header = laspy.LasHeader(point_format=2, version="1.4")
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.array([np.floor(np.min(xs)), np.floor(np.min(ys)), 0.0])
    header.add_crs(crs)
    cloud = laspy.LasData(header)
    cloud.x, cloud.y, cloud.z = np.asarray(xs), np.asarray(ys), heights.data[rows, cols].astype(np.float64)
    for band, name in enumerate(("red", "green", "blue")):
        setattr(cloud, name, rgb[band, rows, cols].astype(np.uint16) * 257)
    cloud.write(out)
    return out
