"""Domain exceptions: every error carries a message a user can act on."""

import re

#: A path with at least one folder: the folders go, the file's own name stays.
_FOLDERS = re.compile(r"(?:[A-Za-z]:)?(?:/[^/\s'\"(),;]+)+/(?=[^/\s'\"]+)")


class RS3DError(Exception):
    """Base of every rs3d error; ``str(err)`` is the user-facing message."""


class ConfigError(RS3DError):
    """A configuration value is out of range or inconsistent."""


class InputError(RS3DError):
    """An input file is unreadable, malformed or unsuitable; the message says which and what to do."""


class CRSError(InputError):
    """An input has no usable coordinate reference system."""


class OverlapError(InputError):
    """Two inputs do not cover the same ground."""


class MissingHeightError(InputError):
    """No height source was given and none can be predicted yet."""


class ProcessingError(RS3DError):
    """A stage failed on valid input (a bug or a resource limit); the message names the stage."""


class Cancelled(RS3DError):  # noqa: N818 - a signal, not an error condition
    """Raised by a progress callback to stop a running pipeline."""


def library_reason(err: BaseException) -> str:
    """The first line of a library's error (GDAL, laspy ...), for a user-facing message.

    Folders are cut from any path it quotes: a message names a file by its own name, never where the
    server keeps it (``/srv/rs3d/media/incoming/<id>/ortho/x.tif`` becomes ``x.tif``).
    """
    text = str(err).splitlines()[0] if str(err).strip() else type(err).__name__
    text = text.split("; It might help to specify the correct driver")[0]  # GDAL's hint names CLI syntax
    return _FOLDERS.sub("", text)[:200]
