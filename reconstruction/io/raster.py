"""Raster inputs (orthophoto, DSM): validate on open, then resample onto the working grid (DSM heights in metres)."""

import dataclasses
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from pyproj import CRS
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import RasterioError
from rasterio.warp import reproject, transform_bounds

from reconstruction.config import LIMIT_SETTINGS, Limits
from reconstruction.errors import CRSError, InputError, library_reason
from reconstruction.io.crs import METRE, HeightUnit, linear_unit, resolve_crs, resolve_height_unit
from reconstruction.io.grid import Bounds, Grid
from reconstruction.io.sidecars import Sidecars, check_sidecars, expected_names, same_crs
from reconstruction.io.user_files import DSM_FORMATS, IMAGE_FORMATS, open_raster

RasterRole = Literal["orthophoto", "DSM"]

_ORTHO_DTYPES = {"uint8", "uint16"}
_DSM_DTYPES = {"float32", "float64", "int16", "int32", "uint16"}
#: The GDAL metadata item by which a DSM rs3d wrote (a registered or stereo DSM) says its heights are metres:
#: they were converted already, so a ``z_unit`` the user gave for their own files does not apply to it.
HEIGHTS_IN_METRES = {"RS3D_HEIGHT_UNIT": "metre"}


@dataclass(frozen=True)
class RasterInfo:
    """What a validated raster file holds (no pixels are kept).

    ``height_unit`` is what a DSM's values are stored in (:func:`read_onto_grid` converts them to metres);
    an orthophoto's is metres and never used. ``alpha_band`` is an orthophoto's transparency band (a 4th
    band tagged alpha that holds a mask), read as its mask; ``image_bands`` are the bands read as the image:
    1-3 (R, G, B), and 4 (near-infrared) when it holds any, whatever its tag says.
    """

    path: Path
    role: RasterRole
    crs: CRS
    warnings: tuple[str, ...]
    transform: Affine
    width: int
    height: int
    count: int
    dtype: str
    nodata: float | None
    height_unit: HeightUnit = METRE
    alpha_band: int | None = None
    image_bands: tuple[int, ...] = ()

    @property
    def bands(self) -> tuple[int, ...]:
        """The 1-based bands read as data: ``image_bands`` when set, else every band."""
        return self.image_bands or tuple(range(1, self.count + 1))

    @property
    def label(self) -> str:
        """How messages name this input."""
        return f"{self.role} '{self.path.name}'"

    def open(self) -> AbstractContextManager[rasterio.io.DatasetReader]:
        """Open the file again for reading, through the same allow-list as when it was checked."""
        return open_raster(self.path, self.label, formats_for(self.role))

    @property
    def resolution(self) -> float:
        """Pixel width in CRS units."""
        return abs(float(self.transform.a))

    def bounds_in(self, crs: CRS) -> Bounds:
        """Extent of the raster transformed to ``crs`` (densified edges)."""
        left, top = self.transform.c, self.transform.f
        right = left + self.transform.a * self.width
        bottom = top + self.transform.e * self.height
        return transform_bounds(self.crs, crs, left, bottom, right, top, densify_pts=21)


def formats_for(role: RasterRole) -> tuple[str, ...]:
    """The formats a role takes: an orthophoto may also be a JPEG or PNG with sidecars, a DSM may not."""
    return IMAGE_FORMATS if role == "orthophoto" else DSM_FORMATS


def inspect_raster(
    path: Path,
    role: RasterRole,
    epsg: int | None,
    max_pixels: int,
    max_bytes: int | None = None,
    z_unit: str | None = None,
) -> RasterInfo:
    """Open a raster, check it is a sane georeferenced orthophoto or DSM, and describe it.

    Args:
        path: the file.
        role: "orthophoto" (RGB or RGB+NIR, 8 or 16 bit) or "DSM" (one band of heights).
        epsg: EPSG code to use when the file carries no CRS.
        max_pixels: refuse rasters with more pixels per band than this.
        max_bytes: refuse rasters that unpack to more bytes than this (default: ``Limits().max_raster_bytes``).
        z_unit: a DSM's height unit as the user gave it (``m``, ``ft``, ``us-ft``); None reads it from the
            file (its compound CRS's vertical part, else its band's unit, else its horizontal unit, assumed).

    Raises:
        InputError: unreadable, not georeferenced, wrong bands or type, too large, no CRS, or holding no
            information (one flat value, or nodata everywhere).
        ConfigError: ``z_unit`` is not a unit rs3d knows.
    """
    name = f"{role} '{path.name}'"
    try:
        with open_raster(path, name, formats_for(role)) as src:  # each format read by its own driver only
            info = _describe(src, path, role, name, epsg, max_pixels)
            _check_unpacked_size(src, name, Limits().max_raster_bytes if max_bytes is None else max_bytes)
            _probe_pixels(src, name)
            if role == "DSM":
                info = _with_height_unit(info, src, z_unit)
                _check_dsm_values(src, name, info.height_unit)
            if role == "orthophoto" and src.count == 4:
                info = _with_fourth_band(info, src, name)
            _check_information(src, role, name)
            return info
    except RasterioError as err:
        raise InputError(
            f"The {name} is not a raster rasterio/GDAL can read ({library_reason(err)}). "
            "Upload a GeoTIFF (or Cloud-Optimised GeoTIFF)."
        ) from err


def _describe(
    src: rasterio.DatasetReader, path: Path, role: RasterRole, name: str, epsg: int | None, max_pixels: int
) -> RasterInfo:
    if src.width < 2 or src.height < 2:
        raise InputError(f"The {name} is empty ({src.width} x {src.height} pixels).")
    if src.width * src.height > max_pixels:
        raise InputError(
            f"The {name} has {src.width} x {src.height} pixels, more than the limit of {max_pixels:,} per band "
            f"({LIMIT_SETTINGS['max_raster_pixels']}). Split the area into smaller files or downsample it."
        )
    sidecars = check_sidecars(Path(src.name), name)
    if src.transform.is_identity and src.driver in ("JPEG", "PNG"):
        raise InputError(
            f"The {name} is a {src.driver} image without georeferencing: beside it there is no world file and no "
            f".aux.xml ({expected_names(Path(src.name))}). Put its sidecars beside it under the same name (a world "
            "file with a .prj, or GDAL's .aux.xml), or convert it to a GeoTIFF."
        )
    if src.transform.is_identity or src.transform.b != 0 or src.transform.d != 0:
        raise InputError(
            f"The {name} has no usable georeferencing (no geotransform, or a rotated one). "
            "Export it as a north-up GeoTIFF with its georeferencing."
        )
    _check_bands(src, role, name)
    crs, warnings = resolve_crs(_file_crs(src, sidecars, name, epsg), epsg, name)
    return RasterInfo(
        path=path,
        role=role,
        crs=crs,
        warnings=tuple(warnings),
        transform=src.transform,
        width=src.width,
        height=src.height,
        count=src.count,
        dtype=src.dtypes[0],
        nodata=src.nodata,
    )


def _file_crs(src: rasterio.DatasetReader, sidecars: Sidecars, name: str, epsg: int | None) -> object | None:
    """The CRS the file states: its own (or its ``.aux.xml``'s, which GDAL read), else its ``.prj``'s.

    A world file gives a position but no CRS; GDAL reads no ``.prj`` beside a JPEG or PNG, so it is read here.

    Raises:
        InputError: the ``.prj`` names another CRS than the image, or a world file is the only georeferencing
            and neither a ``.prj`` nor an EPSG code says its CRS.
    """
    if src.crs is not None and sidecars.prj_crs is not None and sidecars.prj is not None:
        if not same_crs(CRS.from_wkt(src.crs.to_wkt()), sidecars.prj_crs):
            raise InputError(
                f"The {name} says its coordinate system is '{CRS.from_wkt(src.crs.to_wkt()).name}', but "
                f"'{sidecars.prj.name}' beside it says '{sidecars.prj_crs.name}'. Remove the one that is wrong."
            )
    if src.crs is not None:
        return src.crs
    if sidecars.prj_crs is not None:
        return sidecars.prj_crs
    if sidecars.world_files and epsg is None:
        raise CRSError(
            f"The {name} is placed by its world file '{sidecars.world_files[0].name}', which gives no coordinate "
            f"system. Put its .prj beside it ('{Path(src.name).stem}.prj'), or give its EPSG code (the 'EPSG code' "
            "field, or --epsg)."
        )
    return None


def _with_height_unit(info: RasterInfo, src: rasterio.DatasetReader, z_unit: str | None) -> RasterInfo:
    """The DSM's information with the unit of its heights decided, and the decision in its warnings."""
    if src.tags().get("RS3D_HEIGHT_UNIT") == HEIGHTS_IN_METRES["RS3D_HEIGHT_UNIT"]:
        return dataclasses.replace(info, height_unit=HeightUnit("metre", 1.0, "written by rs3d in metres"))
    band_unit = src.units[0] if src.units and src.units[0] else None  # GDAL's unit type: VerticalUnitsGeoKey
    stated = linear_unit(band_unit, f"its band's unit '{band_unit}'") if band_unit else None
    unit, warnings = resolve_height_unit(info.crs, info.label, z_unit, stated)
    return dataclasses.replace(info, height_unit=unit, warnings=info.warnings + tuple(warnings))


def _check_bands(src: rasterio.DatasetReader, role: RasterRole, name: str) -> None:
    dtype = src.dtypes[0]
    if role == "orthophoto":
        if src.count not in (3, 4):
            raise InputError(
                f"The {name} has {src.count} band(s); rs3d needs an RGB (3 bands) or RGB+NIR (4 bands) image."
            )
        if dtype not in _ORTHO_DTYPES:
            raise InputError(f"The {name} stores {dtype} pixels; rs3d reads 8- or 16-bit orthophotos.")
    else:
        if src.count != 1:
            raise InputError(f"The {name} has {src.count} bands; a DSM has one band of heights in metres.")
        if dtype not in _DSM_DTYPES:
            raise InputError(f"The {name} stores {dtype} values; a DSM holds heights as float or integer metres.")


def _probe_pixels(src: rasterio.DatasetReader, name: str) -> None:
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
        src.read(1, out_shape=_decimated(src, 512))
    except RasterioError as err:
        raise InputError(
            f"The {name} is damaged: its pixels cannot be read ({library_reason(err)}). It may be truncated by an "
            "interrupted copy or download; export or copy it again."
        ) from err


def _decimated(src: rasterio.DatasetReader, side: int = 1024) -> tuple[int, int]:
    """(rows, columns) of a whole-raster read at most about ``side`` pixels a side, for the checks' looks."""
    factor = max(1, max(src.width, src.height) // side)
    return max(1, src.height // factor), max(1, src.width // factor)


def _check_unpacked_size(src: rasterio.DatasetReader, name: str, max_bytes: int) -> None:
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


def _check_information(src: rasterio.DatasetReader, role: RasterRole, name: str) -> None:
    """Refuse a raster that holds nothing to reconstruct from: nodata everywhere, or one flat value.

    Looks at a decimated read (at most 1024 pixels a side), enough for an image that is empty or
    blank as a whole: such files cost a run hours and give an empty city.
    """
    shape = (src.count, *_decimated(src))
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


def _with_fourth_band(info: RasterInfo, src: rasterio.DatasetReader, name: str) -> RasterInfo:
    """Decide what an orthophoto's 4th band is, from its tag and its values: near-infrared, a mask, or empty.

    GDAL tags the 4th band of a 4-band GeoTIFF as alpha unless told otherwise, so the tag alone does not say:
    a mask holds only 0 and the type's maximum, near-infrared varies like the image. Read wrongly, a mask
    made every opaque pixel vegetation, an NIR tagged alpha failed the web tiles at 20 %, and an all-zero
    NIR band made every tree a building (NDVI -1).

    Raises:
        InputError: the 4th band is tagged alpha and zero everywhere: by its own tags the image is invisible.
    """
    fourth = src.read(4, out_shape=_decimated(src))  # unmasked: the band may be the mask itself
    values = np.unique(fourth)
    tagged_alpha = src.colorinterp[3] == ColorInterp.alpha
    if tagged_alpha and values.size == 1 and values[0] == 0:
        raise InputError(
            f"The {name}'s 4th band is tagged as alpha (transparency) and is zero everywhere, so the image is "
            "entirely transparent. If it is an empty near-infrared band, drop it (gdal_translate -b 1 -b 2 -b 3) "
            "or re-tag it (gdal_translate -colorinterp_4 undefined) and upload again."
        )
    if values.size == 1:  # an opaque mask hides nothing; a flat near-infrared band tells nothing
        empty = (
            ()
            if tagged_alpha
            else (
                f"The {name}'s 4th (near-infrared) band is empty (every pixel {float(values[0]):g}), so the image is "
                "read as RGB: vegetation is told by its colour, not by NDVI.",
            )
        )
        return dataclasses.replace(info, image_bands=(1, 2, 3), warnings=(*info.warnings, *empty))
    if not tagged_alpha:
        return info
    if set(values.tolist()) <= {0, int(np.iinfo(fourth.dtype).max)}:
        return dataclasses.replace(
            info,
            alpha_band=4,
            image_bands=(1, 2, 3),
            warnings=(
                *info.warnings,
                f"The {name}'s 4th band is a transparency mask (tagged alpha, only 0 and "
                f"{np.iinfo(fourth.dtype).max}): transparent pixels are left out; the image is read as RGB.",
            ),
        )
    return dataclasses.replace(
        info,
        image_bands=(1, 2, 3, 4),
        warnings=(
            *info.warnings,
            f"The {name}'s 4th band is tagged as alpha (GDAL's default for 4 bands), but its values vary like an "
            "image band: it is read as near-infrared, not as transparency.",
        ),
    )


def _check_dsm_values(src: rasterio.DatasetReader, name: str, unit: HeightUnit) -> None:
    """Look at a decimated read of the DSM: some finite heights in a plausible range (in metres)."""
    data = src.read(1, out_shape=_decimated(src), masked=True)
    values = np.ma.masked_invalid(data.astype(np.float64)).compressed()
    if values.size == 0:
        raise InputError(f"The {name} holds no valid heights (every pixel is nodata, NaN or infinite).")
    low, high = float(values.min()) * unit.to_metre, float(values.max()) * unit.to_metre
    if low < -500 or high > 9000:
        raise InputError(
            f"The {name} has heights from {low:.1f} to {high:.1f} m (read in {unit.name}, {unit.source}), "
            "outside -500..9000 m. Check the nodata value and the height unit (--z-unit)."
        )


def read_onto_grid(info: RasterInfo, grid: Grid, resampling: Resampling) -> npt.NDArray[np.float32]:
    """Resample every band of a raster onto the working grid; a DSM's heights come out in metres.

    Returns:
        ``(bands, H, W)`` float32 array; nodata, NaN and uncovered pixels are NaN.
    """
    out = np.full((len(info.bands), grid.height, grid.width), np.nan, dtype=np.float32)
    try:
        with info.open() as src:
            for index, band in enumerate(info.bands):
                reproject(
                    source=rasterio.band(src, band),
                    destination=out[index],
                    src_crs=info.crs,
                    src_nodata=info.nodata,
                    dst_transform=grid.transform,
                    dst_crs=grid.crs,
                    dst_nodata=np.nan,
                    resampling=resampling,
                )
            if info.alpha_band is not None:
                out[:, _transparent(src, info, grid, info.alpha_band)] = np.nan
    except RasterioError as err:
        raise InputError(
            f"Reading the {info.label} failed part-way ({library_reason(err)}); the file may be damaged."
        ) from err
    out[~np.isfinite(out)] = np.nan
    if info.height_unit.to_metre != 1.0:
        out *= np.float32(info.height_unit.to_metre)
    return out


def _transparent(src: rasterio.DatasetReader, info: RasterInfo, grid: Grid, band: int) -> npt.NDArray[np.bool_]:
    """Cells of ``grid`` where the orthophoto's alpha ``band`` says transparent (or that it does not cover)."""
    alpha = np.zeros((grid.height, grid.width), dtype=np.float32)
    reproject(
        source=rasterio.band(src, band),
        destination=alpha,
        src_crs=info.crs,
        dst_transform=grid.transform,
        dst_crs=grid.crs,
        dst_nodata=0,
        resampling=Resampling.nearest,
    )
    return alpha == 0
