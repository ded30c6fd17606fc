"""Sidecars that georeference an image: world files, ``.prj`` and GDAL's ``.aux.xml``, checked before GDAL reads them.

Orthophotos are published as JPEG or PNG whose position lives beside them: a world file (six numbers), a
``.prj`` (the CRS as ESRI WKT) or a GDAL PAM ``.aux.xml`` (SRS and geotransform). GDAL reads world files
and ``.aux.xml`` by itself when it opens the image; an ``.aux.xml`` is XML that GDAL trusts, so a crafted
one could carry other content (a VRT, an entity, a path or URL in metadata that a later reader follows).
Every such file beside an image is therefore read here first and refused unless it is exactly what it
claims to be and describes nothing but its own image:

- a world file holds six numbers and nothing else;
- a ``.prj`` is the WKT (or ESRI WKT) of a CRS that pyproj parses, and nothing else;
- an ``.aux.xml`` is a small ``PAMDataset`` built only from the elements GDAL's PAM writes for
  georeferencing and statistics, with no DOCTYPE or entity (refused before any XML parser sees the text),
  no other metadata domain (``GEOLOCATION`` and ``SUBDATASETS`` name other files) and no path or URL;
- a MapInfo ``.tab``, which GDAL's JPEG and GeoTIFF drivers also read, is refused: rs3d does not check it.

GDAL does not read a ``.prj`` beside a JPEG or PNG; :func:`check_sidecars` returns its CRS so that the
raster's check can use it when the image carries none.
"""

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from affine import Affine
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from reconstruction.config.file_names import WORLD_FILE_SUFFIXES
from reconstruction.errors import InputError

MAX_WORLD_FILE_BYTES = 1024
MAX_PRJ_BYTES = 64 * 1024
MAX_AUX_XML_BYTES = 256 * 1024

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: First words of a CRS in WKT 1, ESRI WKT or WKT 2.
_WKT_KEYWORDS = re.compile(
    r"(PROJCS|GEOGCS|GEOCCS|COMPD_CS|VERT_CS|LOCAL_CS|PROJCRS|GEOGCRS|GEODCRS|BOUNDCRS|COMPOUNDCRS|"
    r"PROJECTEDCRS|GEOGRAPHICCRS|GEODETICCRS|VERTCRS|VERTICALCRS|ENGCRS)\s*\[",
    re.IGNORECASE,
)
#: Text that names another file or a machine: a GDAL virtual path or a URL (``http://``, ``file:``, ...).
_REFERENCE = re.compile(r"/vsi|[a-z][a-z0-9+.-]*://|\b(?:file|https?|ftp):", re.IGNORECASE)
_DECLARATION = re.compile(r"^<\?xml[^>]*\?>", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(r"encoding\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)

#: What GDAL's PAM writes for georeferencing and statistics: each element, the children it may hold.
_PAM_CHILDREN = {
    "PAMDataset": {"SRS", "GeoTransform", "Metadata", "PAMRasterBand"},
    "SRS": set(),
    "GeoTransform": set(),
    "Metadata": {"MDI"},
    "MDI": set(),
    "PAMRasterBand": {
        "Description",
        "NoDataValue",
        "Offset",
        "Scale",
        "UnitType",
        "ColorInterp",
        "Histograms",
        "Metadata",
    },
    "Description": set(),
    "NoDataValue": set(),
    "Offset": set(),
    "Scale": set(),
    "UnitType": set(),
    "ColorInterp": set(),
    "Histograms": {"HistItem"},
    "HistItem": {"HistMin", "HistMax", "BucketCount", "IncludeOutOfRange", "Approximate", "HistCounts"},
    "HistMin": set(),
    "HistMax": set(),
    "BucketCount": set(),
    "IncludeOutOfRange": set(),
    "Approximate": set(),
    "HistCounts": set(),
}
_PAM_ATTRIBUTES = {
    "SRS": {"dataAxisToSRSAxisMapping", "coordinateEpoch"},
    "Metadata": {"domain"},
    "MDI": {"key"},
    "PAMRasterBand": {"band"},
    "NoDataValue": {"le_hex_equiv"},
}
#: Metadata domains that hold plain values: statistics, image structure, ArcGIS's key/values, RPC numbers.
#: Others are refused: ``GEOLOCATION`` and ``SUBDATASETS`` name other files, ``xml:*`` holds free XML.
_PAM_DOMAINS = {"", "IMAGE_STRUCTURE", "ESRI", "RPC"}


@dataclass(frozen=True)
class Sidecars:
    """The checked sidecars of one image, and the georeferencing they give.

    ``world_transform`` is the geotransform of the world files (pixel corner, as GDAL reads it);
    ``aux_transform`` and ``aux_crs`` what the ``.aux.xml`` gives; ``prj_crs`` the ``.prj``'s CRS.
    """

    checked: tuple[Path, ...] = ()
    world_files: tuple[Path, ...] = ()
    world_transform: Affine | None = None
    aux_xml: Path | None = None
    aux_transform: Affine | None = None
    aux_crs: CRS | None = None
    prj: Path | None = None
    prj_crs: CRS | None = None


def expected_names(path: Path) -> str:
    """The sidecar names that would georeference ``path``, for messages: ``'a.jgw', 'a.wld' or 'a.jpg.aux.xml'``."""
    ext = path.suffix.lower().lstrip(".")
    worlds = [f"{path.stem}.{ext[0]}{ext[-1]}w", f"{path.stem}.{ext}w", f"{path.stem}.wld"] if ext else []
    return ", ".join(f"'{n}'" for n in dict.fromkeys(worlds)) + f" or '{path.name}.aux.xml'"


def check_sidecars(path: Path, label: str) -> Sidecars:
    """Check every georeferencing sidecar beside ``path`` and say what they give.

    Args:
        path: the image (absolute, checked by :func:`~reconstruction.io.user_files.user_path`).
        label: how messages name the image, e.g. ``"orthophoto 'a.jpg'"``.

    Raises:
        InputError: a sidecar is malformed, names another file or a URL, is too large, or two sidecars
            disagree about where the image lies or its CRS.
    """
    stem, name = path.stem.lower(), path.name.lower()
    worlds: list[tuple[Path, Affine]] = []
    aux: tuple[Path, Affine | None, CRS | None] | None = None
    prj: tuple[Path, CRS] | None = None
    checked: list[Path] = []
    for entry in sorted(path.parent.iterdir()):
        lowered = entry.name.lower()
        if entry == path:
            continue
        if lowered in {stem + suffix for suffix in WORLD_FILE_SUFFIXES}:
            worlds.append((entry, read_world_file(entry, label)))
        elif lowered == stem + ".prj":
            prj = (entry, read_prj(entry, label))
        elif lowered.startswith(name + ".") and lowered.endswith(".aux.xml"):
            transform, crs = read_aux_xml(entry, label)
            if lowered == name + ".aux.xml":
                aux = (entry, transform, crs)
        elif lowered == stem + ".tab":
            raise InputError(
                f"Next to the {label} lies '{entry.name}', a MapInfo georeferencing file, which rs3d does not read. "
                f"Remove it and give a world file ({expected_names(path)}) with a .prj instead."
            )
        else:
            continue
        checked.append(entry)
    world_transform = _agreeing_world_files(worlds, label)
    sidecars = Sidecars(
        checked=tuple(checked),
        world_files=tuple(p for p, _ in worlds),
        world_transform=world_transform,
        aux_xml=aux[0] if aux else None,
        aux_transform=aux[1] if aux else None,
        aux_crs=aux[2] if aux else None,
        prj=prj[0] if prj else None,
        prj_crs=prj[1] if prj else None,
    )
    if sidecars.aux_transform is not None and world_transform is not None and sidecars.aux_xml is not None:
        if not _same_transform(sidecars.aux_transform, world_transform):
            raise InputError(
                f"The {label}'s sidecars disagree about where it lies: '{sidecars.aux_xml.name}' and "
                f"'{worlds[0][0].name}' give different positions. Remove the one that is wrong."
            )
    if sidecars.aux_crs is not None and prj is not None and not same_crs(sidecars.aux_crs, prj[1]):
        raise InputError(
            f"The {label}'s sidecars disagree about its coordinate system: '{prj[0].name}' says "
            f"'{prj[1].name}', '{path.name}.aux.xml' says '{sidecars.aux_crs.name}'. Remove the one that is wrong."
        )
    return sidecars


def same_crs(a: CRS, b: CRS) -> bool:
    """Whether two CRSs are the same, whatever their WKT dialect (ESRI or OGC names) or axis order."""
    return a.equals(b, ignore_axis_order=True) or (a.to_epsg() is not None and a.to_epsg() == b.to_epsg())


def read_world_file(path: Path, label: str) -> Affine:
    """A world file's geotransform (pixel corner), when it holds exactly six numbers.

    Raises:
        InputError: anything else in the file, or a pixel size of zero.
    """
    lines = [line.strip() for line in _text(path, label, MAX_WORLD_FILE_BYTES).strip().splitlines()]
    if len(lines) != 6 or not all(_NUMBER.fullmatch(line) for line in lines):
        raise InputError(
            f"'{path.name}', the world file of the {label}, is not six numbers, one a line (pixel width, two "
            "rotations, pixel height, then the x and y of the upper-left pixel's centre). Export it again."
        )
    a, d, b, e, c, f = (float(line) for line in lines)
    if a == 0 or e == 0 or not all(math.isfinite(v) for v in (a, b, c, d, e, f)):
        raise InputError(f"'{path.name}', the world file of the {label}, gives a pixel size of zero. Export it again.")
    return Affine(a, b, c - a / 2 - b / 2, d, e, f - d / 2 - e / 2)


def read_prj(path: Path, label: str) -> CRS:
    """A ``.prj``'s CRS, when the file is the WKT (or ESRI WKT) of one and nothing else.

    Raises:
        InputError: other text (a PROJ string, an old ArcInfo ``.prj``, a path or URL) or WKT pyproj refuses.
    """
    text = _text(path, label, MAX_PRJ_BYTES).strip()
    if not _WKT_KEYWORDS.match(text) or _REFERENCE.search(text):
        raise InputError(
            f"'{path.name}', beside the {label}, is not the WKT of a coordinate system (it should start like "
            "PROJCS[...). Export the .prj again, or remove it and give the EPSG code."
        )
    try:
        return CRS.from_wkt(text)
    except ProjCRSError as err:
        raise InputError(
            f"'{path.name}', beside the {label}, is not a coordinate system PROJ can read ({err}). Export the .prj "
            "again, or remove it and give the EPSG code."
        ) from err


def read_aux_xml(path: Path, label: str) -> tuple[Affine | None, CRS | None]:
    """Check a GDAL ``.aux.xml`` and return the geotransform and CRS it gives (each may be absent).

    Raises:
        InputError: over :data:`MAX_AUX_XML_BYTES`, a DOCTYPE or entity, not a ``PAMDataset``, an element,
            attribute or metadata domain beyond what GDAL's PAM writes for georeferencing and statistics,
            a path or URL anywhere, or an SRS or geotransform that does not parse.
    """
    text = _text(path, label, MAX_AUX_XML_BYTES)
    what = f"'{path.name}', beside the {label},"
    fix = "Remove it, or keep only its <SRS> and <GeoTransform> (what georeferences the image)."
    # Before any parser: a DTD declares entities (XXE, billion laughs); a second declaration or processing
    # instruction is not what GDAL writes.
    stripped = text.lstrip("\ufeff \t\r\n")
    declaration = _DECLARATION.match(stripped)
    body = stripped[declaration.end() :] if declaration else stripped
    declared = _DECLARED_ENCODING.search(declaration.group(0)) if declaration else None
    if "<!" in body.replace("<!--", "") or "<?" in body:
        raise InputError(f"{what} holds a DOCTYPE, entity or processing instruction, which GDAL never writes. {fix}")
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8", "us-ascii", "ascii"):
        raise InputError(f"{what} declares the encoding {declared.group(1)}; rs3d reads UTF-8 only. {fix}")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as err:
        raise InputError(f"{what} is not well-formed XML ({err}). {fix}") from err
    if root.tag != "PAMDataset":
        raise InputError(f"{what} is a <{root.tag}> document, not GDAL's <PAMDataset>. {fix}")
    _check_pam_element(root, what, fix)
    return _aux_transform(root, what, fix), _aux_crs(root, what, fix)


def _check_pam_element(element: ET.Element, what: str, fix: str) -> None:
    """Refuse any element, attribute, domain or text beyond GDAL's own georeferencing and statistics."""
    allowed = _PAM_CHILDREN[element.tag]
    for name, value in element.attrib.items():
        if name not in _PAM_ATTRIBUTES.get(element.tag, set()):
            raise InputError(f"{what} has an attribute '{name}' on <{element.tag}>, which GDAL never writes. {fix}")
        if _REFERENCE.search(value):
            raise InputError(f"{what} names another file or a URL ('{value[:60]}'). {fix}")
    if element.tag == "Metadata" and element.get("domain", "") not in _PAM_DOMAINS:
        raise InputError(
            f"{what} holds metadata of the domain '{element.get('domain')}', which can point GDAL at other data; "
            f"rs3d reads only {', '.join(sorted(d or '(default)' for d in _PAM_DOMAINS))}. {fix}"
        )
    if _REFERENCE.search(element.text or "") or _REFERENCE.search(element.tail or ""):
        raise InputError(f"{what} names another file or a URL in <{element.tag}>. {fix}")
    for child in element:
        if child.tag not in allowed:
            raise InputError(
                f"{what} holds a <{child.tag}> element inside <{element.tag}>; rs3d reads only what GDAL writes for "
                f"georeferencing and statistics (SRS, GeoTransform, Metadata, PAMRasterBand). {fix}"
            )
        _check_pam_element(child, what, fix)


def _aux_transform(root: ET.Element, what: str, fix: str) -> Affine | None:
    node = root.find("GeoTransform")
    if node is None:
        return None
    parts = [p.strip() for p in (node.text or "").split(",")]
    if len(parts) != 6 or not all(_NUMBER.fullmatch(p) for p in parts):
        raise InputError(f"{what} has a <GeoTransform> that is not six numbers. {fix}")
    return Affine.from_gdal(*(float(p) for p in parts))


def _aux_crs(root: ET.Element, what: str, fix: str) -> CRS | None:
    node = root.find("SRS")
    if node is None or not (node.text or "").strip():
        return None
    text = (node.text or "").strip()
    if not _WKT_KEYWORDS.match(text):
        raise InputError(f"{what} has an <SRS> that is not the WKT of a coordinate system. {fix}")
    try:
        return CRS.from_wkt(text)
    except ProjCRSError as err:
        raise InputError(f"{what} has an <SRS> PROJ cannot read ({err}). {fix}") from err


def _text(path: Path, label: str, limit: int) -> str:
    """A small sidecar's text (UTF-8, or Latin-1 for old ``.prj`` files), refused over ``limit`` bytes."""
    if not path.is_file():
        raise InputError(f"'{path.name}', beside the {label}, is not a regular file. Remove it.")
    size = path.stat().st_size
    if size > limit:
        raise InputError(
            f"'{path.name}', beside the {label}, is {size:,} bytes; such a sidecar takes at most {limit:,}. "
            "Remove it or export it again."
        )
    data = path.read_bytes()
    if b"\0" in data:
        raise InputError(f"'{path.name}', beside the {label}, is not a text file. Remove it or export it again.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if path.suffix.lower() == ".prj":
            return data.decode("latin-1")
        raise InputError(f"'{path.name}', beside the {label}, is not UTF-8 text. Export it again.") from None


def _agreeing_world_files(worlds: list[tuple[Path, Affine]], label: str) -> Affine | None:
    if not worlds:
        return None
    first_path, first = worlds[0]
    for other_path, other in worlds[1:]:
        if not _same_transform(first, other):
            raise InputError(
                f"The {label} has two world files that disagree ('{first_path.name}' and '{other_path.name}'). "
                "Keep the right one."
            )
    return first


def _same_transform(a: Affine, b: Affine) -> bool:
    """Equal to a hundredth of a pixel (world files round their numbers)."""
    pixel = max(abs(a.a), abs(a.e))
    return all(math.isclose(x, y, rel_tol=1e-6, abs_tol=pixel / 100) for x, y in zip(a[:6], b[:6], strict=True))
