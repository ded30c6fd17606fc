"""Run a reconstruction child to its end: relay its progress, call the heartbeat, keep its time limit.

A child process keeps the worker alive whatever happens inside the native stack (GDAL, PROJ, numba,
torch): a segmentation fault or an out-of-memory kill fails one job instead of the worker, memory is
returned after every job, and cancelling is a terminate(). It also keeps two GDAL builds apart:
GeoDjango's system GDAL in the worker and the wheels' bundled GDAL in the child.
"""

import os
import selectors
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from backend.runtime.diskspace import DiskFull, is_nearly_full, mentions_disk_full
from backend.runtime.messages import JobTooLong, PipelineFailed, death_message, read_message
from reconstruction.children import die_with_parent
from reconstruction.errors import ProcessingError
from reconstruction.progress import ProgressCallback

_STDERR_KEEP = 64 * 1024  # the tail of the child's stderr kept for the error message


@dataclass(frozen=True)
class TimeLimit:
    """When a job's children must have stopped: ``ends`` on the :func:`time.monotonic` clock.

    ``seconds`` is the configured limit (``RS3D_MAX_JOB_SECONDS``) that the message names.
    """

    ends: float
    seconds: float


def supervise(
    command: list[str],
    writes_to: Path,
    on_progress: ProgressCallback,
    on_tick: Callable[[], None] | None,
    tick_seconds: float,
    time_limit: TimeLimit | None = None,
) -> dict:
    """Run a ``--progress json`` child (writing under ``writes_to``) to its end, relaying progress; its result line.

    Everything relayed (progress, warnings, errors) passes through :func:`~backend.runtime.messages.user_message`.
    """
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=die_with_parent)
    result: dict = {}
    error: dict[str, str] | None = None
    stderr = bytearray()
    try:
        for line in _lines(child, stderr, on_tick, tick_seconds, time_limit):
            message = read_message(line)
            if message.get("type") == "progress":
                on_progress(message["stage"], float(message["fraction"]), message["message"])
            elif message.get("type") == "result":
                result = message
            elif message.get("type") == "error":
                error = message
    except BaseException:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise
    code = child.wait()
    if code == 0:
        return result
    reported = stderr.decode("utf-8", "replace") if error is None else error["message"]
    # Some writers hide ENOSPC (libpng through GDAL: "No IDATs written into file"): a crash or a processing
    # error while the disk is (nearly) full counts as a full disk too; refused inputs never do.
    resource_failure = error is None or error.get("error") == "ProcessingError"
    if mentions_disk_full(reported) or (resource_failure and is_nearly_full(writes_to)):
        raise DiskFull(writes_to)
    if error is not None:
        raise PipelineFailed(error["message"])
    raise ProcessingError(death_message(code, reported))


def _lines(
    child: subprocess.Popen,
    stderr: bytearray,
    on_tick: Callable[[], None] | None,
    tick_seconds: float,
    time_limit: TimeLimit | None,
) -> Iterator[str]:
    """The child's stdout line by line, collecting its stderr and calling ``on_tick`` on schedule.

    Raises:
        JobTooLong: ``time_limit`` passed while the child still ran.
    """
    assert child.stdout is not None and child.stderr is not None
    pending = b""
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        selector.register(child.stderr, selectors.EVENT_READ)
        next_tick = time.monotonic()
        while selector.get_map():
            if time_limit is not None and time.monotonic() >= time_limit.ends:
                raise JobTooLong(time_limit.seconds)
            if on_tick is not None and time.monotonic() >= next_tick:
                on_tick()
                next_tick = time.monotonic() + tick_seconds
            deadlines = [] if time_limit is None else [time_limit.ends]
            if on_tick is not None:
                deadlines.append(next_tick)
            wait = max(0.05, min(deadlines) - time.monotonic()) if deadlines else None
            for key, _ in selector.select(timeout=wait):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                elif key.fileobj is child.stderr:
                    stderr.extend(chunk)
                    del stderr[:-_STDERR_KEEP]
                else:
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        yield line.decode("utf-8", "replace")
    if pending:
        yield pending.decode("utf-8", "replace")
