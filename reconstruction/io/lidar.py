"""LiDAR inputs (LAS/LAZ): validate by streaming every point once, then read points in the working CRS and metres."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import laspy
import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer

from reconstruction.config import LIMIT_SETTINGS
from reconstruction.errors import InputError, library_reason
from reconstruction.io.crs import METRE, HeightUnit, linear_unit, resolve_crs, resolve_height_unit
from reconstruction.io.grid import Bounds
from reconstruction.io.user_files import LIDAR_FORMATS, require_format, user_path

_CHUNK = 1_000_000
_RGB = ("red", "green", "blue")
#: Fewer points than this cannot describe a surface.
MIN_POINTS = 100
#: GeoTIFF keys (LAS 1.0-1.3 and point formats 0-5 keep their CRS this way) that state the heights' CRS and unit.
_VERTICAL_CRS_KEY, _VERTICAL_UNITS_KEY = 4096, 4099


@dataclass(frozen=True)
class LidarInfo:
    """What a validated LAS/LAZ file holds, or several tiles of one area together (:func:`combine_lidar`).

    ``bounds`` are in the file's CRS and units; ``z_range`` is in metres, converted from ``height_unit``.
    For tiles, ``parts`` are the files (each read in its own CRS and unit); the rest describes them as a
    whole, in the first file's CRS, and ``path`` is the first file's.
    """

    path: Path
    crs: CRS
    warnings: tuple[str, ...]
    point_count: int
    bounds: Bounds
    z_range: tuple[float, float]
    class_counts: dict[int, int] = field(default_factory=dict)
    height_unit: HeightUnit = METRE
    parts: tuple["LidarInfo", ...] = ()

    @property
    def label(self) -> str:
        """How messages name this input."""
        if self.parts:
            return f"LiDAR files '{self.path.name}' and {len(self.parts) - 1} more"
        return f"LiDAR file '{self.path.name}'"

    @property
    def ground_share(self) -> float:
        """Fraction of points classified as ground (ASPRS 2)."""
        return self.class_counts.get(2, 0) / max(1, self.point_count)


@dataclass(frozen=True)
class LidarPoints:
    """Points in the working CRS (metres)."""

    xyz: npt.NDArray[np.float64]  # (N, 3)
    classification: npt.NDArray[np.uint8]  # (N,) ASPRS codes
    intensity: npt.NDArray[np.uint16] | None = None  # (N,) return strength; None when every point has 0
    rgb: npt.NDArray[np.uint16] | None = None  # (N, 3) colour as stored (LAS formats 2/3/5/7/8/10); None without
    nir: npt.NDArray[np.uint16] | None = None  # (N,) near-infrared as stored (LAS formats 8/10); None without
    # (N,) True for a return of a pulse that gave several (LAS number_of_returns > 1): crowns echo, roofs do not.
    # None when every pulse returned once.
    multiple_echo: npt.NDArray[np.bool_] | None = None


def inspect_lidar(path: Path, epsg: int | None, max_points: int, z_unit: str | None = None) -> LidarInfo:
    """Open a LAS/LAZ file, read every point once to prove it is intact, and describe it.

    The heights' unit comes from ``z_unit`` when given, else from the file's CRS (see
    :func:`~reconstruction.io.crs.resolve_height_unit`): a US file in feet is read as feet, not metres.

    Raises:
        InputError: not a LAS/LAZ file, damaged point data, too few or too many points, or no CRS.
        ConfigError: ``z_unit`` is not a unit rs3d knows.
    """
    name = f"LiDAR file '{path.name}'"
    require_format(user_path(path, name), name, LIDAR_FORMATS)  # laspy reads no other file, but says less
    try:
        with laspy.open(path) as reader:
            header = reader.header
            _check_count(header.point_count, name, max_points)
            file_crs = _header_crs(header)
            stated = _geokey_height_unit(header)
        counts, zmin, zmax = _scan_isolated(path, name)
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - laspy, lazrs and laszip raise many types for damaged data
        raise InputError(
            f"The {name} cannot be read as LAS/LAZ ({library_reason(err)}). The file is damaged or not a point "
            "cloud: export it again from your LiDAR software."
        ) from err
    crs, warnings = resolve_crs(file_crs, epsg, name)
    unit, unit_warnings = resolve_height_unit(crs, name, z_unit, stated)
    mins, maxs = header.mins, header.maxs
    return LidarInfo(
        path=path,
        crs=crs,
        warnings=tuple(warnings + unit_warnings),
        point_count=int(header.point_count),
        bounds=(float(mins[0]), float(mins[1]), float(maxs[0]), float(maxs[1])),
        z_range=(zmin * unit.to_metre, zmax * unit.to_metre),
        class_counts=counts,
        height_unit=unit,
    )


def _check_count(count: int, name: str, max_points: int) -> None:
    if count < MIN_POINTS:
        raise InputError(f"The {name} holds {count} point(s); at least {MIN_POINTS} are needed to describe a surface.")
    if count > max_points:
        raise InputError(
            f"The {name} holds {count:,} points, more than the limit of {max_points:,} "
            f"({LIMIT_SETTINGS['max_lidar_points']}). Split it into tiles."
        )


def _scan_isolated(path: Path, name: str) -> tuple[dict[int, int], float, float]:
    """Run :func:`_scan` in a child process, so a reader that aborts cannot take the caller down.

    Fuzzing found damaged LAZ files on which the decompressor aborts the whole process, which no
    ``except`` can catch. A dead child becomes an InputError; the parent survives. The spawn costs
    about a quarter of a second per file.
    """
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        try:
            return pool.submit(_scan_file, str(path)).result()
        except BrokenProcessPool as err:
            raise InputError(
                f"The {name} is damaged: its points crashed the LAZ reader. Export or copy it again."
            ) from err


def _scan_file(path: str) -> tuple[dict[int, int], float, float]:
    with laspy.open(path) as reader:
        return _scan(reader)


def _scan(reader: laspy.LasReader) -> tuple[dict[int, int], float, float]:
    counts = np.zeros(256, dtype=np.int64)
    zmin, zmax, seen = np.inf, -np.inf, 0
    for chunk in reader.chunk_iterator(_CHUNK):
        counts += np.bincount(np.asarray(chunk.classification, dtype=np.uint8), minlength=256)
        z = np.asarray(chunk.z)
        if z.size:
            zmin, zmax = min(zmin, float(z.min())), max(zmax, float(z.max()))
        seen += len(chunk)
    if seen != reader.header.point_count:
        raise InputError(
            f"The LiDAR file ended after {seen:,} of the {reader.header.point_count:,} points its header announces; "
            "it is truncated. Copy or export it again."
        )
    return {int(c): int(n) for c, n in enumerate(counts) if n}, zmin, zmax


def _header_crs(header: laspy.LasHeader) -> CRS | None:
    try:
        return header.parse_crs()
    except Exception:  # noqa: BLE001 - laspy raises assorted errors for broken CRS VLRs; treat as absent
        return None


def _geokey_height_unit(header: laspy.LasHeader) -> HeightUnit | None:
    """The vertical unit a LAS file's GeoTIFF keys state (its vertical CRS, else its vertical units), or None.

    laspy builds the CRS from the projected or geographic key only, so a US file's NAVD88 (ftUS) key would
    otherwise be lost and its heights taken for the horizontal unit.
    """
    keys = {
        key.id: key.value_offset
        for vlr in header.vlrs
        if isinstance(vlr, laspy.vlrs.known.GeoKeyDirectoryVlr)
        for key in vlr.geo_keys
        if key.tiff_tag_location == 0  # the value is the key's own short, not an index into another VLR
    }
    code = keys.get(_VERTICAL_CRS_KEY)
    if code is not None and 1024 <= code <= 32766:  # EPSG codes; 32767 means "user-defined"
        try:
            vertical = CRS.from_epsg(code)
        except Exception:  # noqa: BLE001 - pyproj raises CRSError for codes it does not know: ignore the key
            vertical = None
        if vertical is not None and vertical.axis_info:
            axis = vertical.axis_info[0]
            return HeightUnit(axis.unit_name, float(axis.unit_conversion_factor), f"its vertical CRS '{vertical.name}'")
    units = keys.get(_VERTICAL_UNITS_KEY)
    return linear_unit(units, f"its vertical units key (EPSG unit {units})") if units is not None else None


def inspect_lidar_files(
    paths: Sequence[Path], epsg: int | None, max_points: int, z_unit: str | None = None
) -> LidarInfo:
    """:func:`inspect_lidar` each file, then describe them together (:func:`combine_lidar`).

    Raises:
        InputError: a file is refused (the message names it), as by :func:`inspect_lidar`.
    """
    return combine_lidar([inspect_lidar(path, epsg, max_points, z_unit) for path in paths])


def combine_lidar(infos: Sequence[LidarInfo]) -> LidarInfo:
    """Several LiDAR files of one area (a programme's tiles) as one input; one file stays as it is.

    Tiles may leave gaps or overlap. Tiles in different CRSs are each reprojected onto the working grid
    when read, with a warning: a mix usually means a wrong ``--epsg`` for some of them.
    """
    if len(infos) == 1:
        return infos[0]
    first = infos[0]
    warnings = [w for info in infos for w in info.warnings]
    if len({info.crs for info in infos}) > 1:
        names = ", ".join(f"'{info.path.name}' ({info.crs.name})" for info in infos)
        warnings.append(f"The LiDAR files are in different CRSs: {names}. Each is reprojected onto the area's grid.")
    boxes = [Transformer.from_crs(i.crs, first.crs, always_xy=True).transform_bounds(*i.bounds) for i in infos]
    counts: Counter[int] = Counter()
    for info in infos:
        counts.update(info.class_counts)
    return LidarInfo(
        path=first.path,
        crs=first.crs,
        warnings=tuple(dict.fromkeys(warnings)),
        point_count=sum(info.point_count for info in infos),
        bounds=(min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)),
        z_range=(min(i.z_range[0] for i in infos), max(i.z_range[1] for i in infos)),
        class_counts=dict(counts),
        height_unit=first.height_unit,
        parts=tuple(infos),
    )


def read_points(info: LidarInfo, crs_out: CRS, bounds: Bounds, colours: bool = False) -> LidarPoints:
    """Read the points inside ``bounds`` (given in ``crs_out``), reprojected to ``crs_out``, heights in metres.

    With ``colours``, also their RGB and NIR where the point format has them (a true orthophoto's
    source); without, those fields stay None and cost no memory. Tiles are read one after the other.
    """
    if info.parts:
        return _joined([read_points(part, crs_out, bounds, colours) for part in info.parts])
    to_out = Transformer.from_crs(info.crs, crs_out, always_xy=True)  # x and y into crs_out's units (metres)
    to_metre = info.height_unit.to_metre
    parts_xyz, parts_cls, parts_int = [], [], []
    parts_echo: list[npt.NDArray[np.bool_]] = []
    parts_rgb: list[npt.NDArray[np.uint16]] = []
    parts_nir: list[npt.NDArray[np.uint16]] = []
    try:
        with laspy.open(info.path) as reader:
            names = set(reader.header.point_format.dimension_names)
            has_rgb, has_nir = colours and set(_RGB) <= names, colours and "nir" in names
            for chunk in reader.chunk_iterator(_CHUNK):
                x, y = to_out.transform(np.asarray(chunk.x), np.asarray(chunk.y))
                keep = (x >= bounds[0]) & (x < bounds[2]) & (y > bounds[1]) & (y <= bounds[3])
                parts_xyz.append(np.column_stack([x[keep], y[keep], np.asarray(chunk.z)[keep] * to_metre]))
                parts_cls.append(np.asarray(chunk.classification, dtype=np.uint8)[keep])
                parts_int.append(np.asarray(chunk.intensity, dtype=np.uint16)[keep])
                parts_echo.append(np.asarray(chunk.number_of_returns)[keep] > 1)
                if has_rgb:
                    parts_rgb.append(np.column_stack([np.asarray(chunk[c], dtype=np.uint16)[keep] for c in _RGB]))
                if has_nir:
                    parts_nir.append(np.asarray(chunk.nir, dtype=np.uint16)[keep])
    except Exception as err:  # noqa: BLE001 - as in inspect_lidar: any reader failure means damaged data
        raise InputError(f"Reading the {info.label} failed part-way ({library_reason(err)}).") from err
    xyz = np.concatenate(parts_xyz) if parts_xyz else np.empty((0, 3))
    cls = np.concatenate(parts_cls) if parts_cls else np.empty(0, dtype=np.uint8)
    intensity = np.concatenate(parts_int) if parts_int else np.empty(0, dtype=np.uint16)
    echo = np.concatenate(parts_echo) if parts_echo else np.empty(0, dtype=bool)
    rgb = (np.concatenate(parts_rgb) if parts_rgb else np.empty((0, 3), np.uint16)) if has_rgb else None
    nir = (np.concatenate(parts_nir) if parts_nir else np.empty(0, np.uint16)) if has_nir else None
    multiple = echo if echo.any() else None
    return LidarPoints(xyz, cls, intensity if intensity.any() else None, rgb, nir, multiple_echo=multiple)


def _joined(parts: list[LidarPoints]) -> LidarPoints:
    """The points of several tiles as one set.

    Colours are kept only if every tile has them; a tile without intensity or echo flags (all zero, all
    single returns) gets zeros and False beside the others'.
    """

    def optional(values: list[Any], empty: Any) -> Any:  # noqa: ANN401 - an array or None
        if all(v is None for v in values):
            return None
        return np.concatenate([empty(len(p.xyz)) if v is None else v for v, p in zip(values, parts, strict=True)])

    def colour(values: list[Any]) -> Any:  # noqa: ANN401 - an array or None
        return np.concatenate(values) if all(v is not None for v in values) else None

    return LidarPoints(
        xyz=np.concatenate([p.xyz for p in parts]),
        classification=np.concatenate([p.classification for p in parts]),
        intensity=optional([p.intensity for p in parts], lambda n: np.zeros(n, np.uint16)),
        rgb=colour([p.rgb for p in parts]),
        nir=colour([p.nir for p in parts]),
        multiple_echo=optional([p.multiple_echo for p in parts], lambda n: np.zeros(n, bool)),
    )
