"""Turn uploaded files into a validated Area with its Sources, or refuse them leaving nothing behind.

Queueing the new area's first job is the caller's (the views pass :func:`backend.jobs.services.start_job`
as ``on_stored``): jobs build on areas, never the other way round (see :mod:`backend`).
"""

import contextlib
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from backend.areas.bundles import BundleRejected, StoredFile, store_field
from backend.areas.models import Area, Source
from backend.runtime.checkslots import check_slot
from backend.runtime.diskspace import DiskFull, is_disk_full
from backend.runtime.runner import check_inputs_process
from reconstruction import RS3DError

if TYPE_CHECKING:  # the type only: areas never import the apps built on them
    from backend.models_registry.models import ModelVersion

_DEFAULT_NAME = {
    Source.Kind.ORTHO: "ortho.tif",
    Source.Kind.DSM: "dsm.tif",
    Source.Kind.LIDAR: "lidar.laz",
    Source.Kind.FOOTPRINTS: "footprints.gpkg",
    Source.Kind.SECOND_IMAGE: "second_image.tif",
    Source.Kind.STEREO_1: "stereo_1.tif",
    Source.Kind.STEREO_2: "stereo_2.tif",
    Source.Kind.STEREO_3: "stereo_3.tif",
}


class UploadRejected(Exception):  # noqa: N818 - reads as what happened to the upload
    """The upload was refused; ``field`` names the form field at fault (or None), str() says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class AreaUpload:
    """What a planner submitted for a new area.

    The orthophoto, DSM and LiDAR may each be several files (the tiles of a national programme, an image's
    sidecars, zips of them); the other inputs are one file each. ``model`` is a shipped network's name
    (blank: the default) and ``model_version`` a trained one instead; both already checked with
    :func:`backend.models_registry.catalog.resolve_choice`.
    """

    name: str
    ortho: tuple[UploadedFile, ...] = ()
    dsm: tuple[UploadedFile, ...] = ()
    lidar: tuple[UploadedFile, ...] = ()
    epsg: int | None = None
    footprints: UploadedFile | None = None
    model: str = ""
    model_version: "ModelVersion | None" = None
    second_image: UploadedFile | None = None
    register_dsm: bool = False
    z_unit: str = ""
    stereo_1: UploadedFile | None = None
    stereo_2: UploadedFile | None = None
    stereo_3: UploadedFile | None = None

    @classmethod
    def from_cleaned(cls, data: dict, model: str, model_version: "ModelVersion | None") -> "AreaUpload":
        """The upload from a form's ``cleaned_data`` or a serializer's ``validated_data`` (same field names)."""
        files: dict[str, Any] = {name: data.get(name) for name in _FILE_FIELDS}
        for kind in Source.TILED_KINDS:  # a list from the form or the API; one file from older clients
            value = files[kind]
            files[kind] = tuple(value) if isinstance(value, list | tuple) else (value,) if value else ()
        return cls(
            name=data["name"],
            epsg=data.get("epsg"),
            register_dsm=bool(data.get("register_dsm")),
            z_unit=data.get("z_unit") or "",
            model=model,
            model_version=model_version,
            **files,
        )

    def input_options(self) -> dict[str, Any]:
        """How the files are to be read, as ``Area.input_options`` says it once stored."""
        return {"epsg": self.epsg, "register_dsm": self.register_dsm, "z_unit": self.z_unit or None}

    def files(self) -> dict[str, tuple[UploadedFile, ...]]:
        """The submitted files by source kind (kinds without a file left out)."""
        by_kind = {kind: getattr(self, kind) for kind in _FILE_FIELDS}
        return {kind: f if isinstance(f, tuple) else (f,) for kind, f in by_kind.items() if f}


#: Upload fields holding files; each is named after its Source.Kind value.
_FILE_FIELDS = tuple(kind.value for kind in _DEFAULT_NAME)


def _check_combination(upload: AreaUpload) -> None:
    """Refuse combinations of sources that cannot make an area, saying what is missing."""
    stereo = [upload.stereo_1, upload.stereo_2, upload.stereo_3]
    has_pair = stereo[0] is not None and stereo[1] is not None
    if not upload.ortho and not upload.lidar and not has_pair:
        raise UploadRejected(
            "An area needs an orthophoto, a LiDAR point cloud (its colours make the orthophoto), or a stereo pair "
            "(stereo images 1 and 2) to compute one from.",
            "ortho",
        )
    if upload.second_image is not None and not upload.ortho and not has_pair:
        raise UploadRejected(
            "A second image is aligned to the orthophoto: add the orthophoto, or leave the second image out.",
            Source.Kind.SECOND_IMAGE,
        )
    if stereo[2] is not None and (stereo[0] is None or stereo[1] is None):
        raise UploadRejected("A third stereo image needs the first two as well.", Source.Kind.STEREO_3)
    if (stereo[0] is None) != (stereo[1] is None):
        missing = Source.Kind.STEREO_2 if stereo[1] is None else Source.Kind.STEREO_1
        raise UploadRejected("A stereo pair needs two images: add the other one, or remove this one.", missing)
    if upload.register_dsm and (not upload.dsm or not upload.lidar):
        raise UploadRejected(
            "Aligning the DSM needs a DSM file and a LiDAR point cloud: the DSM is aligned to the LiDAR's "
            "surface (a DSM has too little in common with an image to align to it).",
            Source.Kind.DSM if not upload.dsm else Source.Kind.LIDAR,
        )


def create_area(
    upload: AreaUpload,
    owner: AbstractBaseUser | None = None,
    *,
    on_stored: Callable[[Area], object] | None = None,
) -> tuple[Area, list[str]]:
    """Validate the uploaded files and store them as a new Area owned by ``owner`` (private to start with).

    The files are checked (seconds, in a child process) before any transaction opens: with SQLite every
    write transaction holds the database lock, so checking inside one made simultaneous uploads queue
    behind each other until they failed with "database is locked". Only storing the area (and calling
    ``on_stored`` with it in the same transaction, e.g. :func:`backend.jobs.services.start_job` to queue its
    first job) holds the lock; if ``on_stored`` raises, nothing of the area is kept.

    Returns:
        The area and warnings for the user.

    At most ``RS3D_MAX_CONCURRENT_CHECKS`` checks run at once (:mod:`backend.runtime.checkslots`): an upload
    may wait here up to ``RS3D_CHECK_QUEUE_WAIT_S`` for its turn.

    Raises:
        UploadRejected: a file is too large, unreadable, has no CRS, or the files do not overlap, or the
            disk holding the media folder is full; the database and media folder are left exactly as they were.
        ChecksBusy: the server was checking other uploads all that time; nothing was kept either.
    """
    _check_combination(upload)
    files = upload.files()
    for kind, several in files.items():
        if len(several) > settings.RS3D_MAX_FILES_PER_INPUT:
            raise UploadRejected(
                f"{len(several)} files were given as the {Source.Kind(kind).label}; an area takes at most "
                f"{settings.RS3D_MAX_FILES_PER_INPUT} per input (RS3D_MAX_FILES_PER_INPUT). Zip an image with its "
                "sidecars, or split the area.",
                kind,
            )
        for f in several:
            if f.size is None or f.size == 0:
                raise UploadRejected(f"The file '{f.name}' is empty.", kind)
            if f.size > settings.RS3D_MAX_UPLOAD_BYTES:
                raise UploadRejected(
                    f"The file '{f.name}' is {f.size / 1e9:.1f} GB; the limit is "
                    f"{settings.RS3D_MAX_UPLOAD_BYTES / 1e9:.1f} GB per file.",
                    kind,
                )
    incoming = Path(settings.MEDIA_ROOT) / "incoming" / uuid.uuid4().hex
    try:
        stored = _save(files, incoming)
        warnings = _validate(stored, upload.input_options())
        return _store(upload, stored, incoming, owner, on_stored), warnings
    except OSError as err:
        if not is_disk_full(err):
            raise
        lead = "The server could not store the files; nothing was kept."
        raise UploadRejected(str(DiskFull(Path(settings.MEDIA_ROOT), lead))) from err
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
        with contextlib.suppress(OSError):
            incoming.parent.rmdir()  # only when empty: leave the media folder as it was


def _mkdir(folder: Path, attempts: int = 3) -> None:
    """``folder.mkdir(parents=True)``, again if a finishing upload removed the shared parent meanwhile."""
    for attempt in range(attempts):
        try:
            folder.mkdir(parents=True)
            return
        except FileNotFoundError:  # another upload's cleanup removed "incoming/" between the two mkdirs
            if attempt == attempts - 1:
                raise


def _save(files: dict[str, tuple[UploadedFile, ...]], folder: Path) -> dict[str, list[StoredFile]]:
    """Write each field's files into ``folder/<kind>/``: images with their sidecars beside them, zips unpacked."""
    stored = {}
    for kind, several in files.items():
        _mkdir(folder / kind)
        label = Source.Kind(kind).label
        try:
            stored[kind] = store_field(several, folder / kind, label, _DEFAULT_NAME[kind], unpack=kind in _IMAGE_KINDS)
        except BundleRejected as err:
            raise UploadRejected(str(err), kind) from err
        inputs = [f for f in stored[kind] if f.image is None]
        if kind not in Source.TILED_KINDS and len(inputs) > 1:
            raise UploadRejected(f"The {label} is one file; {len(inputs)} were given.", kind)
        if not inputs:
            raise UploadRejected(f"No file to read was found among those given as the {label} (an empty zip?).", kind)
    return stored


#: Fields whose zips hold images and their sidecars (a zip given as footprints is a Shapefile).
_IMAGE_KINDS = (Source.Kind.ORTHO, Source.Kind.DSM)


def _inputs_by_kind(stored: dict[str, list[StoredFile]]) -> dict[str, list[Path]]:
    """The input files (not their sidecars) by kind."""
    return {kind: [f.path for f in files if f.image is None] for kind, files in stored.items()}


def _validate(stored: dict[str, list[StoredFile]], options: dict[str, Any]) -> list[str]:
    try:
        with check_slot():
            return check_inputs_process(Source.pipeline_inputs(_inputs_by_kind(stored), **options))
    except RS3DError as err:
        raise UploadRejected(str(err)) from err


def _store(
    upload: AreaUpload,
    stored: dict[str, list[StoredFile]],
    incoming: Path,
    owner: AbstractBaseUser | None,
    on_stored: Callable[[Area], object] | None,
) -> Area:
    sizes = {f.path: f.size for files in stored.values() for f in files}
    with transaction.atomic():
        area = Area.objects.create(
            name=upload.name,
            epsg=upload.epsg,
            owner=owner,
            model=upload.model,
            model_version=upload.model_version,
            register_dsm=upload.register_dsm,
            z_unit=upload.z_unit,
        )
        target = area.folder / "sources"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            incoming.rename(target)
            for kind, files in stored.items():
                rows: dict[Path, Source] = {}
                for f in files:  # inputs come first: a sidecar's image has its row already
                    rows[f.path] = Source.objects.create(
                        area=area,
                        kind=kind,
                        original_name=f.original_name[:255],
                        path=(target / f.path.relative_to(incoming)).relative_to(settings.MEDIA_ROOT).as_posix(),
                        size=sizes[f.path],
                        image=rows[f.image] if f.image is not None else None,
                    )
            if on_stored is not None:
                on_stored(area)
        except Exception:
            shutil.rmtree(area.folder, ignore_errors=True)
            raise
    return area
