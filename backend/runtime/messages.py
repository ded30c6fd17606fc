"""What users may read of a reconstruction child: its errors, and its messages free of server paths.

A child's JSON lines (progress, warnings, results, errors) name the files it read and wrote; every text
relayed to a user passes through :func:`user_message`, which keeps only the files' own names.
"""

import json
import re
import signal
import tempfile

from django.conf import settings

from reconstruction import RS3DError


class PipelineFailed(RS3DError):
    """The child reported one of our errors; the message is the user-facing one."""


class JobTooLong(PipelineFailed):
    """The job ran past ``RS3D_MAX_JOB_SECONDS``; its child was stopped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The job ran longer than the limit of {_duration(seconds)} (server setting RS3D_MAX_JOB_SECONDS) "
            "and was stopped; nothing of this run was published. Try a smaller area, or ask the server's "
            "administrator to raise the limit."
        )
        self.seconds = seconds


#: One component of a path as it appears in a message: no separator, space, quote, bracket or punctuation.
_SEGMENT = r"[^\s/'\"`()\[\]<>,;:]+"
#: An absolute path of two components or more ("/vsizip//a/b.zip/c.tif" too), not part of a URL or a
#: relative path ("http://host/x", "a/b", "./a/b", "~/a/b" are left alone).
_ABSOLUTE_PATH = re.compile(rf"(?<![\w.:/~])(?:/+{_SEGMENT}){{2,}}")


def user_message(text: str) -> str:
    """``text`` from a reconstruction child, with every absolute server path reduced to the file's own name.

    The child's messages name the files it read and wrote: uploads under ``media/incoming/<id>/``, areas
    under ``RS3D_HOME``, temporary folders (CARS logs). Users see only the last component of each, e.g.
    ``Cannot read /srv/rs3d/media/incoming/3f2a/ortho/city.tif`` becomes ``Cannot read city.tif``. The
    server's own folders come first, so that one whose name holds a space is still reduced whole.
    """
    roots = {str(settings.RS3D_HOME), str(settings.MEDIA_ROOT), tempfile.gettempdir()}
    for root in sorted((r.rstrip("/") for r in roots if len(r) > 1), key=len, reverse=True):
        text = re.sub(rf"{re.escape(root)}(?:/+{_SEGMENT})*/?", _basename, text)
    return _ABSOLUTE_PATH.sub(_basename, text)


def _basename(match: re.Match[str]) -> str:
    return match.group(0).rstrip("/").rsplit("/", 1)[-1]


def _relayed(message: dict) -> dict:
    """A child's JSON message as users may read it: its ``message`` and ``warnings`` free of server paths."""
    if isinstance(message.get("message"), str):
        message = {**message, "message": user_message(message["message"])}
    if isinstance(message.get("warnings"), list):
        message = {**message, "warnings": [user_message(str(w)) for w in message["warnings"]]}
    return message


def _duration(seconds: float) -> str:
    """A limit in words: "4 h", "90 min", "45 s"."""
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.3g} s"


def read_message(line: str) -> dict:
    """A line of a child's stdout as users may read it: its JSON object (``{}`` if not one), see :func:`_relayed`."""
    return _relayed(_parse(line))


def _parse(line: str) -> dict:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def death_message(code: int, stderr: str) -> str:
    """Why a child that reported no error of ours ended with exit ``code`` (negative: a signal), in words."""
    if code < 0:
        name = signal.Signals(-code).name
        if -code == signal.SIGKILL:
            return (
                "The reconstruction process was killed (SIGKILL), most often because the machine ran out "
                "of memory. Try a smaller area or a coarser resolution."
            )
        return f"The reconstruction process crashed ({name}). This is a bug in rs3d; the server log has details."
    tail = stderr.strip().splitlines()[-1:] or ["no message"]
    return f"The reconstruction process stopped with exit code {code} ({user_message(tail[0])[:300]})."
