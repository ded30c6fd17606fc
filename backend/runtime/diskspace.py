"""A full disk in words someone can act on: ENOSPC (or a full quota) from this process or from a child.

A run, a training or an upload that cannot write fails with :class:`DiskFull` ("the disk holding
<folder> is full: free space and retry") instead of a traceback; the caller removes what it had
written, so nothing half-written stays visible, and the same request succeeds once space is freed.
A child's failure is recognised by its text (the OSError's) or, since some writers hide the errno
(libpng through GDAL reports "No IDATs written into file"), by the disk it wrote to being nearly full.
"""

import errno
import os
from pathlib import Path

from reconstruction.errors import ProcessingError

_FULL_CODES = (errno.ENOSPC, errno.EDQUOT)
_NEARLY_FULL_BYTES = 64 * 1024 * 1024
#: How a full disk reads in a child's traceback or message ("No space left on device", "Disk quota exceeded").
_FULL_TEXTS = tuple(os.strerror(code) for code in _FULL_CODES)


class DiskFull(ProcessingError):
    """A write failed because the disk (or quota) holding ``folder`` is full; str() says what to do.

    ``lead`` is an optional first sentence saying what could not be written.
    """

    def __init__(self, folder: Path, lead: str = "") -> None:
        super().__init__(f"{lead} The disk holding {folder} is full: free space and retry.".lstrip())
        self.folder = folder


def is_disk_full(err: BaseException) -> bool:
    """Whether ``err`` (or an error it was raised from) is an OSError for a full disk or quota."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError) and current.errno in _FULL_CODES:
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def is_nearly_full(folder: Path) -> bool:
    """Whether the filesystem holding ``folder`` (or its nearest existing parent) has almost no room left.

    Almost none: under 1 % of its size free (at most 64 MiB), or no free inode.
    """
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None:
        return False
    stats = os.statvfs(existing)
    free, size = stats.f_bavail * stats.f_frsize, stats.f_blocks * stats.f_frsize
    return free < min(_NEARLY_FULL_BYTES, size // 100) or (stats.f_files > 0 and stats.f_favail == 0)


def mentions_disk_full(text: str) -> bool:
    """Whether a child's error message or stderr reports a full disk (its OSError text)."""
    return any(phrase in text for phrase in _FULL_TEXTS)
