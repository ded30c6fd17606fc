"""The checks a raster input passes before it is used: bands and type, size, readable pixels, information.

Each looks at an open dataset (:func:`reconstruction.io.raster.inspect_raster` opens it through the allow-list)
and raises :class:`~reconstruction.errors.InputError` saying what is wrong with the file and what to do.
"""

from typing import Literal

import numpy as np
import rasterio
from rasterio.errors import RasterioError

from reconstruction.config import LIMIT_SETTINGS
from reconstruction.errors import InputError, library_reason
from reconstruction.io.crs import HeightUnit

#: The type of pixels each role takes.
ORTHO_DTYPES = {"uint8", "uint16"}
DSM_DTYPES = {"float32", "float64", "int16", "int32", "uint16"}


def check_bands(src: rasterio.DatasetReader, role: Literal["orthophoto", "DSM"], name: str) -> None:
    """Refuse bands a role cannot read: an orthophoto is RGB or RGB+NIR in 8 or 16 bits, a DSM one band of heights."""
    dtype = src.dtypes[0]
    if role == "orthophoto":
        if src.count not in (3, 4):
            raise InputError(
                f"The {name} has {src.count} band(s); rs3d needs an RGB (3 bands) or RGB+NIR (4 bands) image."
            )
        if dtype not in ORTHO_DTYPES:
            raise InputError(f"The {name} stores {dtype} pixels; rs3d reads 8- or 16-bit orthophotos.")
    else:
        if src.count != 1:
            raise InputError(f"The {name} has {src.count} bands; a DSM has one band of heights in metres.")
        if dtype not in DSM_DTYPES:
            raise InputError(f"The {name} stores {dtype} values; a DSM holds heights as float or integer metres.")


def probe_pixels(src: rasterio.DatasetReader, name: str) -> None:
    """Read the first and last blocks and a decimated view, so a truncated or damaged file fails now.

    A cut-off download keeps a readable header; its missing pixel data would otherwise only fail in the
    middle of a job. The last block sits at the end of a file as written by GDAL, where a cut falls.

    Raises:
        InputError: pixel data cannot be decoded.
    """
    windows = [w for _, w in src.block_windows(1)]
    probes = {windows[0], windows[-1]} if windows else set()
    try:
        for window in probes:
            src.read(window=window)
        src.read(1, out_shape=decimated(src, 512))
    except RasterioError as err:
        raise InputError(
            f"The {name} is damaged: its pixels cannot be read ({library_reason(err)}). It may be truncated by an "
            "interrupted copy or download; export or copy it again."
        ) from err


def decimated(src: rasterio.DatasetReader, side: int = 1024) -> tuple[int, int]:
    """(rows, columns) of a whole-raster read at most about ``side`` pixels a side, for the checks' looks."""
    factor = max(1, max(src.width, src.height) // side)
    return max(1, src.height // factor), max(1, src.width // factor)


def check_unpacked_size(src: rasterio.DatasetReader, name: str, max_bytes: int) -> None:
    """Refuse a raster whose pixels unpack to more than ``max_bytes``, before any pixel is read.

    The file's size says nothing: 51 kB of DEFLATE-compressed zeros can claim 4.8 GB of pixels.
    """
    unpacked = src.width * src.height * src.count * np.dtype(src.dtypes[0]).itemsize
    if unpacked > max_bytes:
        raise InputError(
            f"The {name} unpacks to {unpacked / 1e9:.1f} GB of pixels ({src.width} x {src.height} x {src.count} "
            f"bands of {src.dtypes[0]}), more than the limit of {max_bytes / 1e9:.1f} GB per file "
            f"({LIMIT_SETTINGS['max_raster_bytes']}). Split it into tiles or downsample it."
        )


def check_information(src: rasterio.DatasetReader, role: Literal["orthophoto", "DSM"], name: str) -> None:
    """Refuse a raster that holds nothing to reconstruct from: nodata everywhere, or one flat value.

    Looks at a decimated read (at most 1024 pixels a side), enough for an image that is empty or
    blank as a whole: such files cost a run hours and give an empty city.
    """
    shape = (src.count, *decimated(src))
    data = np.ma.masked_invalid(src.read(out_shape=shape, masked=True).astype(np.float64))
    if data.count() == 0:
        raise InputError(f"The {name} holds no pixels: every one is nodata. Export the area's image again.")
    low, high = data.min(axis=(1, 2)), data.max(axis=(1, 2))
    if np.ma.all(low == high):
        value = ", ".join(f"{v:g}" for v in np.ma.filled(low, np.nan))
        what = "height" if role == "DSM" else "colour"
        raise InputError(
            f"The {name} holds no information: every pixel has the same {what} ({value}). "
            "Upload the real image of the area."
        )


def check_dsm_values(src: rasterio.DatasetReader, name: str, unit: HeightUnit) -> None:
    """Look at a decimated read of the DSM: some finite heights in a plausible range (in metres)."""
    data = src.read(1, out_shape=decimated(src), masked=True)
    values = np.ma.masked_invalid(data.astype(np.float64)).compressed()
    if values.size == 0:
        raise InputError(f"The {name} holds no valid heights (every pixel is nodata, NaN or infinite).")
    low, high = float(values.min()) * unit.to_metre, float(values.max()) * unit.to_metre
    if low < -500 or high > 9000:
        raise InputError(
            f"The {name} has heights from {low:.1f} to {high:.1f} m (read in {unit.name}, {unit.source}), "
            "outside -500..9000 m. Check the nodata value and the height unit (--z-unit)."
        )
