"""The one door a user's file comes in by: a plain local file, of a format we list, read by a driver we chose.

GDAL guesses a file's format from its name and first bytes, and some formats point elsewhere: a VRT
reads other files (``/etc/passwd`` as a raw band, another area's GeoPackage), a ``/vsicurl/`` name or a
connection string (``WMS:``, ``PG:``) reaches other machines. Every orthophoto, DSM, second image,
stereo view, LiDAR file and footprint file a user gives is opened through here, in the web app's
checks, the worker's runs and the CLI alike, under four rules:

1. :func:`user_path` -- the name is a regular file on this machine: no ``/vsi*`` path, URL, connection
   string or inline XML/JSON.
2. :func:`require_format` -- the first bytes say what the file is, and the input takes that format. An
   XML file (VRT, GML, KML) is refused before GDAL sees it.
3. Rasters open with rasterio's per-open driver allow-list (:func:`open_raster`); vectors with pyogrio,
   whose drivers :mod:`~reconstruction.gdal_env` cut down to ours, and the driver that opened the
   file is checked (:func:`check_vector_driver`).
4. A file can name nothing but itself: a zip holds only one Shapefile's parts (:func:`vector_path`);
   beside a raster, no file that GDAL would open as a dataset of its own (``.ovr``, ``.msk``, ``.aux``)
   unless it is a plain TIFF, and georeferencing sidecars (world files, ``.prj``, ``.aux.xml``) only as
   :mod:`~reconstruction.io.sidecars` checks them: six numbers, a CRS's WKT, GDAL's own PAM elements.
   ``.RPB`` and ``_RPC.TXT`` files are numbers that GDAL parses as such.
"""

import os
import re
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from reconstruction.errors import InputError

if TYPE_CHECKING:
    from rasterio.io import DatasetReader

#: What each kind of input may be, as the names :func:`sniff` gives. An orthophoto or second image may be
#: a JPEG or PNG georeferenced by its sidecars (:mod:`~reconstruction.io.sidecars`); a DSM holds heights,
#: which JPEG cannot and nobody publishes as PNG.
IMAGE_FORMATS = ("GeoTIFF", "JPEG 2000", "JPEG", "PNG")
DSM_FORMATS = ("GeoTIFF", "JPEG 2000")
STEREO_FORMATS = ("GeoTIFF", "NITF")
LIDAR_FORMATS = ("LAS/LAZ",)
LABEL_IMAGE_FORMATS = ("GeoTIFF", "PNG")  # per-view class images for fusion
FOOTPRINT_FORMATS = ("GeoPackage", "GeoJSON", "FlatGeobuf", "zipped Shapefile", "CSV")

#: The GDAL driver that reads each raster format; rasterio may try no other.
RASTER_DRIVERS = {"GeoTIFF": "GTiff", "JPEG 2000": "JP2OpenJPEG", "NITF": "NITF", "PNG": "PNG", "JPEG": "JPEG"}
#: The pyogrio driver that must have read each vector format.
VECTOR_DRIVERS = {
    "GeoPackage": "GPKG",
    "GeoJSON": "GeoJSON",
    "FlatGeobuf": "FlatGeobuf",
    "zipped Shapefile": "ESRI Shapefile",
    "CSV": "CSV",
}
#: File name endings each vector format must have, so no other driver can claim it by its name.
_VECTOR_SUFFIXES = {
    "GeoPackage": (".gpkg",),
    "GeoJSON": (".geojson", ".json"),
    "FlatGeobuf": (".fgb",),
    "zipped Shapefile": (".zip",),
    "CSV": (".csv",),
}

#: Parts of a Shapefile that may travel in its zip, and the most bytes the zip may unpack to.
_SHAPEFILE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml"}
MAX_ZIP_MEMBERS = 64
MAX_UNZIPPED_BYTES = 4 * 1024**3

#: Sidecars GDAL opens as datasets in their own right (any driver): they must be plain TIFFs, or absent.
_DATASET_SIDECARS = {".ovr": "GeoTIFF", ".msk": "GeoTIFF", ".aux": None, ".rrd": None}

#: Text that makes a GDAL driver treat a file as a pointer to other files, wherever it appears in the head.
_POINTER_MARKERS = (b"<vrtdataset", b"<ogrvrtdatasource", b"gdal_streamed_alg", b"<wms_", b"<gdal_wms")
_HEAD_BYTES = 64 * 1024
#: A GDAL connection string or URL: a scheme or driver prefix before a colon (PG:, WMS:, GPKG:, https:).
_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_+.-]*:")


def user_path(path: os.PathLike[str] | str, label: str) -> Path:
    """Check that ``path`` names a regular file on this machine, and return it absolute.

    Args:
        path: what the user gave.
        label: how messages name the input, e.g. ``"footprint file 'a.gpkg'"``.

    Raises:
        InputError: a GDAL virtual path, URL, connection string or inline content, or no such file.
    """
    text = os.fspath(path)
    if "\0" in text:
        raise InputError(f"The {label} has a name with a null byte in it. Rename the file.")
    if text.lstrip().startswith(("<", "{", "[")):
        raise InputError(f"The {label} is given as inline content, not a file name. Save it to a file and give that.")
    if text.lower().startswith("/vsi"):
        raise InputError(
            f"The {label} is a GDAL virtual path ({text.split('/')[1]}), not a file on this machine. rs3d reads "
            "only plain local files: download or unpack it first."
        )
    if _PREFIX.match(text):
        raise InputError(
            f"The {label} is a URL or a GDAL connection string ({text.split(':')[0]}:), not a file on this machine. "
            "rs3d reads only plain local files: download or export it first."
        )
    resolved = Path(text).resolve()
    try:
        mode = resolved.stat().st_mode
    except OSError:
        raise InputError(f"The {label} does not exist.") from None
    if not stat.S_ISREG(mode):
        raise InputError(f"The {label} is not a regular file (a folder, device or pipe). Give the file itself.")
    return resolved


def sniff(path: Path) -> str:
    """What the file's first bytes say it is: a name from the ``*_FORMATS`` lists, or another word.

    Besides the formats we read, the answers are ``"XML"`` (VRT, GML, KML ...), ``"GDAL pointer"`` (text
    that names a VRT, a GDALG pipeline or a WMS anywhere in its head), ``"JPEG"``, ``"PNG"``, ``"SQLite"``
    (a database that is not a GeoPackage), ``"zip"``, ``"JSON"`` (JSON without a ``.geojson``/``.json``
    name), ``"text"`` and ``"unknown"``.
    """
    with path.open("rb") as f:
        head = f.read(_HEAD_BYTES)
    if head[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        return "GeoTIFF"
    if head.startswith((b"\0\0\0\x0cjP  \r\n\x87\n", b"\xffO\xffQ")):
        return "JPEG 2000"
    if head[:4] in (b"NITF", b"NSIF"):
        return "NITF"
    if head.startswith(b"LASF"):
        return "LAS/LAZ"
    if head.startswith(b"SQLite format 3\0"):
        return "GeoPackage" if head[68:72] in (b"GPKG", b"GP10", b"GP11") else "SQLite"
    if head.startswith(b"fgb\x03"):
        return "FlatGeobuf"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zipped Shapefile" if path.suffix.lower() == ".zip" else "zip"
    if b"\0" in head:
        return "unknown"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = text.lower()
    if text.startswith(b"<"):
        return "XML"
    if any(marker in lowered for marker in _POINTER_MARKERS):
        return "GDAL pointer"
    if text.startswith((b"{", b"[")):
        return "GeoJSON" if path.suffix.lower() in _VECTOR_SUFFIXES["GeoJSON"] else "JSON"
    return "CSV" if path.suffix.lower() == ".csv" else "text"


def require_format(path: Path, label: str, accepted: tuple[str, ...]) -> str:
    """The file's format, when ``accepted`` lists it.

    Raises:
        InputError: any other format, saying which ones the input takes.
    """
    if path.stat().st_size == 0:
        raise InputError(f"The {label} is empty (0 bytes). Copy or export it again.")
    found = sniff(path)
    if found in accepted:
        return found
    what = {
        "XML": "an XML file (such as a GDAL VRT, which can point at other files)",
        "GDAL pointer": "a file that points GDAL at other files or services (a VRT, GDALG or WMS description)",
        "SQLite": "an SQLite database that is not a GeoPackage",
        "zip": "a zip archive without a .zip name",
        "JSON": "a JSON file without a .geojson or .json name",
        "text": "a text file",
        "unknown": "in a format rs3d does not read",
    }.get(found, f"a {found} file")
    names = ", ".join(accepted[:-1]) + (f" or {accepted[-1]}" if len(accepted) > 1 else accepted[0])
    raise InputError(f"The {label} is {what}, not one of the formats this input takes ({names}). Export it as one.")


@contextmanager
def open_raster(path: Path, label: str, formats: tuple[str, ...] = IMAGE_FORMATS) -> Iterator["DatasetReader"]:
    """Open a user's raster with rasterio, allowing only the drivers of ``formats``.

    Yields:
        The open ``rasterio.DatasetReader``.

    Raises:
        InputError: rules 1, 2 and 4 of this module (rasterio's own errors are the caller's to word).
    """
    import rasterio

    from reconstruction.io.sidecars import check_sidecars

    path = user_path(path, label)
    found = require_format(path, label, formats)
    _check_dataset_sidecars(path, label)
    checked = check_sidecars(path, label).checked
    # One driver name: rasterio hands GDAL exactly that allow-list (a VRT or any other format is not opened).
    with rasterio.open(path, driver=RASTER_DRIVERS[found]) as src:
        _check_files_read(src.files, path, checked, label)
        yield src


def vector_path(path: Path, label: str) -> tuple[str, str]:
    """Check a user's footprint file and say what to hand pyogrio: ``(path or /vsizip/ path, format)``.

    Raises:
        InputError: rules 1, 2 and 4, or this process registered vector drivers beyond ours.
    """
    from reconstruction.gdal_env import vector_drivers_locked

    path = user_path(path, label)
    found = require_format(path, label, FOOTPRINT_FORMATS)
    if path.suffix.lower() not in _VECTOR_SUFFIXES[found]:
        endings = " or ".join(_VECTOR_SUFFIXES[found])
        raise InputError(f"The {label} is a {found} file; name it with {endings} at the end.")
    if not vector_drivers_locked():
        raise InputError(
            f"The {label} was not read: this process loaded GDAL vector drivers rs3d does not allow "
            "(pyogrio was imported before reconstruction.io). Import reconstruction.io first."
        )
    if found == "zipped Shapefile":
        _check_shapefile_zip(path, label)
        return f"/vsizip/{path}", found
    return str(path), found


def check_vector_driver(driver: str | None, found: str, label: str) -> None:
    """Refuse a vector file that GDAL read with another driver than its format's.

    Raises:
        InputError: the driver is not the one :data:`VECTOR_DRIVERS` names for ``found``.
    """
    if driver != VECTOR_DRIVERS[found]:
        raise InputError(f"The {label} looks like {found} but GDAL read it as {driver}; export it again as {found}.")


def _check_dataset_sidecars(path: Path, label: str) -> None:
    """Refuse a raster beside which GDAL would open a non-TIFF sidecar as a dataset (any driver)."""
    stems = {path.name.lower(), path.stem.lower()}
    for entry in path.parent.iterdir():
        name = entry.name.lower()
        suffix = Path(name).suffix
        if suffix not in _DATASET_SIDECARS or name[: -len(suffix)] not in stems or entry == path:
            continue
        wanted = _DATASET_SIDECARS[suffix]
        if wanted is None or not entry.is_file() or sniff(entry) != wanted:
            raise InputError(
                f"Next to the {label} lies '{entry.name}', which GDAL would open as part of it and which is not "
                "a plain TIFF overview or mask. Remove it (or build overviews inside the image)."
            )


def _check_files_read(files: list[str], path: Path, checked: tuple[Path, ...], label: str) -> None:
    """Refuse an open for which GDAL read a georeferencing sidecar that :func:`check_sidecars` did not check.

    The sidecar check finds files by the names GDAL's drivers look for; this catches a name it missed.
    """
    from reconstruction.io.sidecars import WORLD_FILE_SUFFIXES

    known = {path, *checked}
    for name in files:
        used = Path(name)
        lowered = used.name.lower()
        if used in known or not lowered.endswith((".aux.xml", ".prj", ".tab", *WORLD_FILE_SUFFIXES)):
            continue
        raise InputError(
            f"GDAL read '{used.name}' beside the {label}, a sidecar rs3d did not check. Remove it, or name the "
            "image's sidecars after the image (e.g. photo.jpg with photo.jgw, photo.prj, photo.jpg.aux.xml)."
        )


def _check_shapefile_zip(path: Path, label: str) -> None:
    """A zip of one Shapefile: its parts only, no links, no climbing out, no bomb."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) > MAX_ZIP_MEMBERS:
                raise InputError(f"The {label} holds {len(members)} files; a zipped Shapefile holds a handful.")
            if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                raise InputError(
                    f"The {label} unpacks to more than {MAX_UNZIPPED_BYTES / 1024**3:.0f} GB; "
                    "give fewer footprints or a GeoPackage."
                )
            shapes = []
            for member in members:
                _check_member(member, label)
                if Path(member.filename).suffix.lower() == ".shp":
                    shapes.append(member)
                    with archive.open(member) as f:
                        if f.read(4) != b"\x00\x00\x27\x0a":
                            raise InputError(f"'{member.filename}' in the {label} is not a Shapefile.")
    except zipfile.BadZipFile as err:
        raise InputError(f"The {label} is not a readable zip archive ({err}). Zip the Shapefile again.") from err
    if len(shapes) != 1:
        raise InputError(
            f"The {label} holds {len(shapes)} .shp files; zip exactly one Shapefile (.shp, .shx, .dbf, .prj)."
        )


def _check_member(member: zipfile.ZipInfo, label: str) -> None:
    name = member.filename
    parts = Path(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or ".." in parts or ":" in name or "/vsi" in name.lower():
        raise InputError(f"The {label} holds a member named '{name}', which points outside the archive.")
    if stat.S_ISLNK(member.external_attr >> 16):
        raise InputError(f"The {label} holds a link ('{name}'); zip the files themselves.")
    if Path(name).suffix.lower() not in _SHAPEFILE_PARTS:
        raise InputError(
            f"The {label} holds '{name}'; a zipped Shapefile holds only its parts "
            f"({', '.join(sorted(_SHAPEFILE_PARTS))})."
        )
