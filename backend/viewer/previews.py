"""What the area list shows of a published version: a small thumbnail of its orthophoto and its sizes.

Both are derived once from the version's immutable files and cached beside them, in
``areas/<id>/.previews/v<version>/`` (outside the version folder, so they are neither served as one of its
files nor counted in its size): ``thumbnail.webp`` and ``sizes.json``.
"""

import io
import json
import logging
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from backend.areas.models import Publication
from backend.serving.delivery import is_precompressed_copy

logger = logging.getLogger(__name__)

#: Longest side of a thumbnail, pixels.
THUMBNAIL_PX = 160
_THUMBNAIL = "thumbnail.webp"
_SIZES = "sizes.json"
_EARTH_RADIUS_M = 6_371_008.8  # mean radius: the bbox fallback's spherical area


@dataclass(frozen=True)
class Sizes:
    """A version's ground area (m²) and the bytes of its published files."""

    area_m2: float
    data_bytes: int

    @property
    def area_text(self) -> str:
        """The area in km² from 1 km² up, else in hectares, e.g. "2.56 ha"."""
        if self.area_m2 >= 1_000_000:
            return f"{self.area_m2 / 1_000_000:.2f} km²"
        return f"{self.area_m2 / 10_000:.2f} ha"

    @property
    def data_text(self) -> str:
        """The data size in MB (10⁶ bytes), e.g. "12.3 MB"."""
        return f"{self.data_bytes / 1_000_000:.1f} MB"


def cache_folder(publication: Publication) -> Path:
    """Where the version's thumbnail and sizes are cached."""
    return publication.area.folder / ".previews" / f"v{publication.version}"


def sizes(publication: Publication) -> Sizes:
    """The version's area and data size, computed on first use and cached in ``sizes.json``."""
    path = cache_folder(publication) / _SIZES
    try:
        cached = json.loads(path.read_text())
        return Sizes(area_m2=float(cached["area_m2"]), data_bytes=int(cached["data_bytes"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    computed = Sizes(area_m2=_area_m2(publication), data_bytes=_data_bytes(publication.folder))
    try:
        _write_atomically(path, json.dumps({"area_m2": computed.area_m2, "data_bytes": computed.data_bytes}).encode())
    except OSError:  # a full or read-only disk: computed again next time
        logger.warning("could not cache the sizes of %s", publication, exc_info=True)
    return computed


def thumbnail(publication: Publication) -> Path | None:
    """The cached thumbnail of the version's orthophoto preview (made on first use); None without one."""
    path = cache_folder(publication) / _THUMBNAIL
    if path.is_file():
        return path
    source = _orthophoto(publication)
    if source is None:
        return None
    try:
        with Image.open(source) as image:
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            picture = image.convert("RGBA")
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return None
    buffer = io.BytesIO()
    picture.save(buffer, format="WEBP", quality=80)
    try:
        _write_atomically(path, buffer.getvalue())
    except OSError:
        logger.warning("could not cache the thumbnail of %s", publication, exc_info=True)
        return None
    return path


def _orthophoto(publication: Publication) -> Path | None:
    """The manifest's orthophoto overlay PNG, if it names one inside the version folder that exists."""
    relative = ((publication.manifest or {}).get("imagery") or {}).get("ortho", {}).get("path")
    if not isinstance(relative, str):
        return None
    root = publication.folder.resolve()
    source = (root / relative).resolve()
    return source if source.is_relative_to(root) and source.is_file() else None


def _area_m2(publication: Publication) -> float:
    """The reconstructed grid's area (the manifest's grid), else the WGS 84 bbox's area on a sphere."""
    grid = (publication.manifest or {}).get("grid") or {}
    try:
        area = float(grid["width"]) * float(grid["height"]) * float(grid["resolution_m"]) ** 2
    except (KeyError, TypeError, ValueError):
        area = 0.0
    if area > 0 and math.isfinite(area):
        return area
    west, south, east, north = publication.bbox.extent
    lam = math.radians(east - west)
    return _EARTH_RADIUS_M**2 * lam * abs(math.sin(math.radians(north)) - math.sin(math.radians(south)))


def _data_bytes(folder: Path) -> int:
    """Bytes of the version's files, without the precompressed copies made for delivery."""
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not is_precompressed_copy(p))


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
