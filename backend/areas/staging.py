"""Resumable uploads: a large file arrives in chunks, survives a broken connection, then joins an area.

The protocol (used by the upload page's script, and open to any client):
1. ``POST /api/uploads/`` with ``{"filename": ..., "size": bytes}`` -> a StagedUpload id.
2. ``PUT /api/uploads/<id>/`` with a chunk as the body and ``Content-Range: bytes <first>-<last>/<size>``;
   ``first`` must equal the bytes received so far (else 409, which says where to resume).
3. ``GET /api/uploads/<id>/`` says how many bytes arrived: after a broken connection, resume there.
4. The area upload (form or ``POST /api/areas/``) names the complete file as ``<field>_upload=<id>``
   instead of sending it again.

Hand-written rather than a package: django-chunked-upload / drf-chunked-upload are unmaintained against
Django 5, and the tus protocol would need a separate server. This is the small part of tus we need.
"""

import contextlib
import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from backend.areas.models import Source, StagedUpload
from backend.areas.uploads import UploadRejected
from backend.runtime.diskspace import is_disk_full

#: The most bytes one PUT may carry (the page sends 8 MB chunks).
MAX_CHUNK_BYTES = 64 * 1024**2
#: Unfinished or unused staged files a user may hold at once (an area of tiles with sidecars sends many).
MAX_OPEN_PER_USER = 200
#: Staged files untouched for this long are removed.
EXPIRY = timedelta(days=1)

#: ``<field><STAGED_SUFFIX>=<id>`` names a staged file instead of the field's file.
STAGED_SUFFIX = "_upload"

_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


class StagingError(Exception):
    """A chunk or a staged upload was refused; ``status`` is the HTTP status to answer, str() says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def start_upload(owner: AbstractBaseUser, filename: str, size: int) -> StagedUpload:
    """Announce a file of ``size`` bytes; first removes everyone's expired staged files (few, indexed).

    Raises:
        StagingError: the size is out of bounds or the owner holds too many staged files.
    """
    remove_expired()
    if size <= 0:
        raise StagingError(f"The file '{filename}' is empty.")
    if size > settings.RS3D_MAX_UPLOAD_BYTES:
        raise StagingError(
            f"The file '{filename}' is {size / 1e9:.1f} GB; the limit is "
            f"{settings.RS3D_MAX_UPLOAD_BYTES / 1e9:.1f} GB per file.",
            413,
        )
    if StagedUpload.objects.filter(owner=owner).count() >= MAX_OPEN_PER_USER:
        raise StagingError(
            f"You have {MAX_OPEN_PER_USER} unfinished uploads; finish or delete some (DELETE /api/uploads/<id>/), "
            "or wait a day for them to expire.",
            429,
        )
    staged = StagedUpload.objects.create(id=uuid.uuid4(), owner=owner, filename=_basename(filename), size=size)
    staged.path.parent.mkdir(parents=True, exist_ok=True)
    staged.path.touch()
    return staged


def append_chunk(staged: StagedUpload, content_range: str | None, body: IO[bytes], length: int) -> StagedUpload:
    """Append one chunk, in order, streaming it to disk.

    Raises:
        StagingError: no or malformed Content-Range (400), a range that does not start where the file
            ends (409: resume at ``received``), a chunk too large (413), or a body shorter than its range.
    """
    match = _RANGE.match(content_range or "")
    if not match:
        raise StagingError("Send each chunk with a header 'Content-Range: bytes <first>-<last>/<total size>'.")
    first, last, total = (int(g) for g in match.groups())
    if total != staged.size:
        raise StagingError(f"This upload was announced as {staged.size} bytes, not {total}.")
    if first != staged.received:
        raise StagingError(f"The upload has {staged.received} bytes; resume from byte {staged.received}.", 409)
    expected = last - first + 1
    if last < first or last >= total:
        raise StagingError(f"The range {first}-{last} does not fit a file of {total} bytes.")
    if expected > MAX_CHUNK_BYTES or length > MAX_CHUNK_BYTES:
        raise StagingError(f"A chunk may hold at most {MAX_CHUNK_BYTES // 1024**2} MB.", 413)
    written, full = 0, False
    with staged.path.open("r+b", buffering=0) as out:  # unbuffered: a full disk fails the write that hit it
        out.seek(first)
        try:
            while written < expected:
                block = memoryview(body.read(min(1024**2, expected - written)))
                if not block:
                    break
                while block:
                    done = out.write(block)
                    written += done
                    block = block[done:]
        except OSError as err:
            if not is_disk_full(err):
                raise
            full = True
        out.truncate(first + written)
    staged.received = first + written  # keep what arrived: the client resumes from `received` either way
    staged.save(update_fields=["received", "updated"])
    if full:
        raise StagingError(
            f"The server's disk is full after {staged.received} bytes of '{staged.filename}'; the bytes so far are "
            f"kept. Try again later (resume from byte {staged.received}) or ask the administrator to free space.",
            507,
        )
    if written != expected:
        raise StagingError(f"The chunk ended after {written} of {expected} bytes; resume from byte {staged.received}.")
    return staged


@contextlib.contextmanager
def staged_sources(
    data: Mapping[str, Any], owner: AbstractBaseUser
) -> Iterator[dict[str, UploadedFile | list[UploadedFile]]]:
    """The complete staged files named ``<kind>_upload`` in ``data``, as files an area upload reads.

    The orthophoto, DSM and LiDAR may name several (a list each); the other kinds one.

    Use it around the area upload: when the block finishes, the staged files are removed (the area holds
    copies); when it raises, they stay for the next try.

    Raises:
        UploadRejected: an id that is malformed, unknown, another user's, or not complete yet (its field named).
    """
    files: dict[str, list[UploadedFile]] = {}
    staged_rows = []
    try:
        for kind in Source.Kind:
            values = _named(data, f"{kind.value}{STAGED_SUFFIX}")
            if len(values) > 1 and kind not in Source.TILED_KINDS:
                raise UploadRejected(f"The {kind.label} is one file; {len(values)} uploads were named.", kind.value)
            for value in values:
                staged = _complete_staged(str(value), owner, kind.value)
                opened = UploadedFile(staged.path.open("rb"), name=staged.filename, size=staged.size)
                files.setdefault(kind.value, []).append(opened)
                staged_rows.append(staged)
        yield {kind: several if kind in Source.TILED_KINDS else several[0] for kind, several in files.items()}
    finally:
        for several in files.values():
            for f in several:
                f.close()
    for staged in staged_rows:
        delete(staged)


def _named(data: Mapping[str, Any], key: str) -> list[Any]:
    """Every value of ``key``: a form or multipart field given several times, or a JSON list."""
    values = data.getlist(key) if hasattr(data, "getlist") else data.get(key)
    if values is None:
        return []
    return [v for v in (values if isinstance(values, list | tuple) else [values]) if v]


def _complete_staged(value: str, owner: AbstractBaseUser, field: str) -> StagedUpload:
    try:
        staged = StagedUpload.objects.get(pk=uuid.UUID(value), owner=owner)
    except (ValueError, StagedUpload.DoesNotExist):
        raise UploadRejected(
            f"No uploaded file with id '{value}' is waiting for you: upload it again.", field
        ) from None
    if not staged.complete:
        raise UploadRejected(
            f"The file '{staged.filename}' has arrived only in part ({staged.received} of {staged.size} bytes): "
            "finish its upload first.",
            field,
        )
    return staged


def delete(staged: StagedUpload) -> None:
    """Remove a staged upload and its bytes."""
    path = staged.path  # the id is gone after delete()
    staged.delete()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def remove_expired(owner: AbstractBaseUser | None = None) -> int:
    """Remove the staged uploads untouched for EXPIRY (the owner's, or everyone's); how many went."""
    old = StagedUpload.objects.filter(updated__lt=timezone.now() - EXPIRY)
    if owner is not None:
        old = old.filter(owner=owner)
    gone = list(old)
    for staged in gone:
        delete(staged)
    return len(gone)


def _basename(filename: str) -> str:
    """The name without folders; the area upload makes it a safe file name when it stores the file."""
    return Path((filename or "").replace("\\", "/")).name[-255:] or "upload"
