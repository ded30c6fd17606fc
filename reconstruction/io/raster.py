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
from reconstruction.io.raster_checks import (
    check_bands,
    check_dsm_values,
    check_information,
    check_unpacked_size,
    decimated,
    probe_pixels,
)
from reconstruction.io.sidecars import Sidecars, check_sidecars, expected_names, same_crs
from reconstruction.io.user_files import DSM_FORMATS, IMAGE_FORMATS, open_raster

RasterRole = Literal["orthophoto", "DSM"]

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

    For tiles (:func:`reconstruction.io.raster_tiles.combine_rasters`), ``parts`` are the files, each read
    in its own CRS, nodata, unit and bands; the rest describes the mosaic as a whole (the union of the tiles
    at the finest pixel, in the first file's CRS) and ``path`` is the first file's. Such an info has no one
    file to :meth:`open`.
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
    parts: tuple["RasterInfo", ...] = ()

    @property
    def bands(self) -> tuple[int, ...]:
        """The 1-based bands read as data: ``image_bands`` when set, else every band."""
        return self.image_bands or tuple(range(1, self.count + 1))

    @property
    def label(self) -> str:
        """How messages name this input."""
        if self.parts:
            return f"{self.role} tiles '{self.path.name}' and {len(self.parts) - 1} more"
        return f"{self.role} '{self.path.name}'"

    def open(self) -> AbstractContextManager[rasterio.io.DatasetReader]:
        """Open the file again for reading, through the same allow-list as when it was checked.

        Raises:
            ValueError: the info describes several tiles (read them with :func:`read_onto_grid`).
        """
        if self.parts:
            raise ValueError(f"The {self.label} are several files: read them onto a grid, not as one file.")
        return open_raster(self.path, self.label, formats_for(self.role))

    @property
    def resolution(self) -> float:
        """Pixel width in CRS units."""
        return abs(float(self.transform.a))

    def bounds_in(self, crs: CRS) -> Bounds:
        """Extent of the raster transformed to ``crs`` (densified edges); for tiles, the union of theirs."""
        if self.parts:
            boxes = [part.bounds_in(crs) for part in self.parts]
            return (
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
            )
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
            check_unpacked_size(src, name, Limits().max_raster_bytes if max_bytes is None else max_bytes)
            probe_pixels(src, name)
            if role == "DSM":
                info = _with_height_unit(info, src, z_unit)
                check_dsm_values(src, name, info.height_unit)
            if role == "orthophoto" and src.count == 4:
                info = _with_fourth_band(info, src, name)
            check_information(src, role, name)
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
    check_bands(src, role, name)
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


def _with_fourth_band(info: RasterInfo, src: rasterio.DatasetReader, name: str) -> RasterInfo:
    """Decide what an orthophoto's 4th band is, from its tag and its values: near-infrared, a mask, or empty.

    GDAL tags the 4th band of a 4-band GeoTIFF as alpha unless told otherwise, so the tag alone does not say:
    a mask holds only 0 and the type's maximum, near-infrared varies like the image. Read wrongly, a mask
    made every opaque pixel vegetation, an NIR tagged alpha failed the web tiles at 20 %, and an all-zero
    NIR band made every tree a building (NDVI -1).

    Raises:
        InputError: the 4th band is tagged alpha and zero everywhere: by its own tags the image is invisible.
    """
    fourth = src.read(4, out_shape=decimated(src))  # unmasked: the band may be the mask itself
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


def read_onto_grid(info: RasterInfo, grid: Grid, resampling: Resampling) -> npt.NDArray[np.float32]:
    """Resample every band of a raster onto the working grid; a DSM's heights come out in metres.

    Tiles are read one at a time, each onto the window of the grid it covers, and composited: the first
    tile with a value in a cell gives it. Memory stays the grid's plus one tile's window of it.

    Returns:
        ``(bands, H, W)`` float32 array; nodata, NaN and uncovered pixels (gaps between tiles) are NaN.
    """
    if not info.parts:
        return _read_file(info, grid, resampling, len(info.bands))
    out = np.full((len(info.bands), grid.height, grid.width), np.nan, dtype=np.float32)
    for part in info.parts:
        window = _window(part, grid)
        if window is None:
            continue
        (r0, r1), (c0, c1) = window
        sub = Grid(grid.crs, grid.transform @ Affine.translation(c0, r0), c1 - c0, r1 - r0)
        values = _read_file(part, sub, resampling, len(info.bands))
        view = out[:, r0:r1, c0:c1]
        free = np.isnan(view).all(axis=0) & np.isfinite(values).all(axis=0)
        view[:, free] = values[:, free]
    return out


def _window(part: RasterInfo, grid: Grid) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The rows and columns of ``grid`` a tile covers, in part or whole, or None."""
    west, south, east, north = part.bounds_in(grid.crs)
    inverse = ~grid.transform
    c0, r0 = inverse @ (west, north)
    c1, r1 = inverse @ (east, south)
    rows = max(0, int(np.floor(min(r0, r1) + 1e-6))), min(grid.height, int(np.ceil(max(r0, r1) - 1e-6)))
    cols = max(0, int(np.floor(min(c0, c1) + 1e-6))), min(grid.width, int(np.ceil(max(c0, c1) - 1e-6)))
    return (rows, cols) if rows[1] > rows[0] and cols[1] > cols[0] else None


def _read_file(info: RasterInfo, grid: Grid, resampling: Resampling, count: int) -> npt.NDArray[np.float32]:
    """One file's first ``count`` data bands on ``grid`` (see :func:`read_onto_grid`)."""
    bands = info.bands[:count]
    out = np.full((len(bands), grid.height, grid.width), np.nan, dtype=np.float32)
    try:
        with info.open() as src:
            for index, band in enumerate(bands):
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
