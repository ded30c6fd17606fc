"""The files of one upload field, sorted and stored: image tiles, each with its sidecars, and zips unpacked.

Planners get orthophotos and DSMs as national programmes publish them: several tiles, each a JPEG, PNG,
JPEG 2000 or GeoTIFF that may be georeferenced by files beside it (a world file such as ``tile.jgw``, a
``tile.prj``, GDAL's ``tile.jpg.aux.xml``), often all in one zip. GDAL reads a sidecar only when it lies
beside its image under the image's name, so each sidecar is stored next to the image it names, renamed
after the image's stored (safe) name. A sidecar that names no uploaded image is refused here, by name;
what a sidecar *holds* is checked by the core (:mod:`reconstruction.io.sidecars`), which refuses anything
but plain georeferencing.

A zip is unpacked with bounds (member count, bytes written, compression ratio) and may hold only images
and their sidecars, each by its base name: a member cannot name a folder, a link or another file.
"""

import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import get_valid_filename

from reconstruction.config.file_names import sidecar_image

#: Endings of the images a zip may hold (what the core's raster check reads; it checks the contents).
IMAGE_SUFFIXES = (".tif", ".tiff", ".jp2", ".j2k", ".jpg", ".jpeg", ".png")
#: The most members a zip may hold, and the highest ratio of a member's unpacked to packed size.
MAX_ZIP_MEMBERS = 1000
MAX_ZIP_RATIO = 200
_ZIP_MAGIC = b"PK\x03\x04"
_LINK = 0o120000


class BundleRejected(Exception):  # noqa: N818 - reads as what happened to the bundle
    """The field's files cannot be stored as they are; str() says which file and what to do."""


@dataclass(frozen=True)
class StoredFile:
    """One stored file of a field.

    Attributes:
        path: where it lies now.
        original_name: the name it was uploaded under (a zip member: ``archive.zip/member``).
        image: the image it georeferences, for a sidecar; None for an input file itself.
    """

    path: Path
    original_name: str
    image: Path | None = None

    @property
    def size(self) -> int:
        """Bytes on disk."""
        return self.path.stat().st_size


def store_field(
    files: Sequence[UploadedFile], folder: Path, what: str, default_name: str, *, unpack: bool
) -> list[StoredFile]:
    """Write a field's files into ``folder``: inputs under safe names, each sidecar beside its image.

    Args:
        files: the uploaded files, in the order given.
        folder: an empty folder for this field.
        what: the field's name in messages (``"Orthophoto"``).
        default_name: the name of a file whose own name has nothing usable left.
        unpack: whether zips are unpacked (image fields) or are inputs themselves (a zipped Shapefile).

    Returns:
        The stored inputs first (in the order given), then the sidecars.

    Raises:
        BundleRejected: a zip is unsafe or holds other files, two files share a name, or a sidecar names no
            image of the field.
    """
    folder.mkdir(parents=True, exist_ok=True)
    budget = [settings.RS3D_MAX_UPLOAD_BYTES * max(len(files), 1)]  # bytes a field's zips may unpack to
    entries = [entry for f in files for entry in _entries(f, folder, budget, unpack)]
    inputs = [e for e in entries if not e.sidecar]
    sidecars = [e for e in entries if e.sidecar]
    taken: set[str] = set()  # names in lower case: sidecars are matched to images regardless of case
    stored = [_keep(e, folder / _safe_name(e.name, default_name), what, taken) for e in inputs]
    by_name = {e.name.lower(): s.path for e, s in zip(inputs, stored, strict=True)}
    by_stem = {Path(e.name).stem.lower(): s.path for e, s in zip(inputs, stored, strict=True)}
    for entry in sidecars:
        match = sidecar_image(entry.name)
        assert match is not None  # entries are sidecars by this very test
        how, key = match
        image = (by_name if how == "name" else by_stem).get(key)
        if image is None:
            entry.discard()
            raise BundleRejected(
                f"'{entry.name}' georeferences an image named '{key}{'' if how == 'name' else '.*'}', but no such "
                f"image was given as the {what}: add the image beside it, or leave '{entry.name}' out."
            )
        ending = entry.name[len(key) :].lower()  # ".jgw", ".prj", ".aux.xml"
        target = image.with_name(image.name + ending) if how == "name" else image.with_name(image.stem + ending)
        stored.append(_keep(entry, target, what, taken, image))
    return stored


@dataclass
class _Entry:
    """A file of the field before it is placed: the uploaded file itself, or a member unpacked from a zip."""

    name: str
    shown: str
    staged: Path | None = None  # an unpacked member, waiting in the folder
    upload: UploadedFile | None = None

    @property
    def sidecar(self) -> bool:
        return sidecar_image(self.name) is not None

    def discard(self) -> None:
        if self.staged is not None:
            self.staged.unlink(missing_ok=True)


def _entries(f: UploadedFile, folder: Path, budget: list[int], unpack: bool) -> Iterator[_Entry]:
    name = _basename(f.name)
    if not (unpack and _is_zip(f)):
        yield _Entry(name, name, upload=f)
        return
    yield from _unpack(f, name, folder, budget)


def _is_zip(f: UploadedFile) -> bool:
    f.seek(0)
    head = f.read(4)
    f.seek(0)
    return head == _ZIP_MAGIC


def _unpack(f: UploadedFile, zip_name: str, folder: Path, budget: list[int]) -> Iterator[_Entry]:
    """The members of a zip of images and sidecars, each written to ``folder`` under a temporary name."""
    try:
        archive = zipfile.ZipFile(f.file)  # type: ignore[arg-type]
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise BundleRejected(f"'{zip_name}' is not a readable zip archive ({err}).") from err
    if len(members) > MAX_ZIP_MEMBERS:
        raise BundleRejected(f"'{zip_name}' holds {len(members)} files; a zip may hold at most {MAX_ZIP_MEMBERS}.")
    for index, member in enumerate(members):
        name = _basename(member.filename)
        shown = f"{zip_name}/{member.filename}"
        if member.flag_bits & 0x1:
            raise BundleRejected(f"'{shown}' is encrypted: zip the files without a password.")
        if (member.external_attr >> 16) & 0o170000 == _LINK:
            raise BundleRejected(f"'{shown}' is a link; a zip may hold only images and their sidecars.")
        if not name.lower().endswith(IMAGE_SUFFIXES) and sidecar_image(name) is None:
            raise BundleRejected(
                f"'{shown}' is neither an image ({', '.join(IMAGE_SUFFIXES)}) nor a sidecar that georeferences one "
                "(world file, .prj, .aux.xml): zip only the images and their sidecars."
            )
        if member.compress_size and member.file_size / member.compress_size > MAX_ZIP_RATIO:
            raise BundleRejected(
                f"'{shown}' unpacks to {member.file_size / member.compress_size:.0f} times its packed size, "
                "which is how zip bombs look; zip the files without such padding."
            )
        staged = folder / f".member-{index}"
        try:
            with archive.open(member) as source, staged.open("wb") as out:
                budget[0] = _copy_bounded(source, out, budget[0], shown)
        except BundleRejected:
            staged.unlink(missing_ok=True)
            raise
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as err:
            staged.unlink(missing_ok=True)
            raise BundleRejected(f"'{shown}' could not be unpacked ({err}).") from err
        yield _Entry(name, shown, staged=staged)


def _copy_bounded(source: IO[bytes], out: IO[bytes], budget: int, shown: str) -> int:
    """Copy until ``source`` ends, refusing more than ``budget`` bytes (a zip's sizes are only claims)."""
    while block := source.read(1024**2):
        budget -= len(block)
        if budget < 0:
            raise BundleRejected(
                f"'{shown}' unpacks to more than the upload limit ({settings.RS3D_MAX_UPLOAD_BYTES / 1e9:.1f} GB "
                "per file): upload the tiles as separate files or in several zips."
            )
        out.write(block)
    return budget


def _keep(entry: _Entry, target: Path, what: str, taken: set[str], image: Path | None = None) -> StoredFile:
    """Place ``entry`` at ``target``; two files of the field may not end up under one name, whatever its case."""
    if target.name.lower() in taken:
        entry.discard()
        raise BundleRejected(
            f"Two files of the {what} are both named '{target.name}' (once made a safe file name, in any case): "
            "rename one."
        )
    taken.add(target.name.lower())
    if entry.staged is not None:
        entry.staged.rename(target)
    else:
        assert entry.upload is not None
        with target.open("wb") as out:
            for chunk in entry.upload.chunks():
                out.write(chunk)
    return StoredFile(target, entry.shown, image)


def _basename(name: str | None) -> str:
    """The name without folders (either slash)."""
    return Path((name or "").replace("\\", "/")).name


def _safe_name(name: str, default: str) -> str:
    """A file name reduced to a harmless basename (no folders, no leading dot, no odd characters)."""
    try:
        return get_valid_filename(_basename(name).lstrip("."))[-100:]
    except SuspiciousFileOperation:  # nothing usable left of the name
        return default
