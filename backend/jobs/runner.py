"""Run the reconstruction CLI in a child process: input checks for uploads, whole runs, chips and merges for jobs.

A child process keeps the worker alive whatever happens inside the native stack (GDAL, PROJ, numba,
torch): a segmentation fault or an out-of-memory kill fails one job instead of the worker, memory is
returned after every job, and cancelling is a terminate(). It also keeps two GDAL builds apart:
GeoDjango's system GDAL in the worker and the wheels' bundled GDAL in the child.
"""

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from backend.jobs.diskspace import DiskFull, is_nearly_full, mentions_disk_full
from reconstruction import PipelineInputs, RS3DError
from reconstruction.children import die_with_parent
from reconstruction.errors import ProcessingError
from reconstruction.progress import ProgressCallback

_STDERR_KEEP = 64 * 1024  # the tail of the child's stderr kept for the error message


class PipelineFailed(RS3DError):
    """The child reported one of our errors; the message is the user-facing one."""


@dataclass(frozen=True)
class TimeLimit:
    """When a job's children must have stopped: ``ends`` on the :func:`time.monotonic` clock.

    ``seconds`` is the configured limit (``RS3D_MAX_JOB_SECONDS``) that the message names.
    """

    ends: float
    seconds: float


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


def run_pipeline_process(
    inputs: PipelineInputs,
    out_dir: Path,
    on_progress: ProgressCallback,
    on_tick: Callable[[], None] | None = None,
    tick_seconds: float = 5.0,
    model: str | None = None,
    time_limit: TimeLimit | None = None,
) -> list[str]:
    """Run ``python -m reconstruction run`` on ``inputs`` into ``out_dir``.

    The child dies with this process (``PR_SET_PDEATHSIG``), so a worker killed with SIGKILL leaves
    no orphan writing into its staging folder.

    Args:
        inputs: the area's files.
        out_dir: the staging folder the run writes.
        on_progress: called for every progress line of the child.
        on_tick: called at least every ``tick_seconds`` while the child runs (the job's heartbeat),
            whether or not the child reports progress.
        tick_seconds: see ``on_tick``.
        model: ``--model`` of the run: a shipped network's name or a weights file (default: the library's).
        time_limit: when the job's time is up (None: no limit); the child is then stopped.

    Returns:
        The run's warnings for the user.

    Raises:
        PipelineFailed: the pipeline refused the inputs or failed with a message for the user (with every
            server path reduced to a file name, see :func:`user_message`).
        JobTooLong: ``time_limit`` passed; the child has been stopped.
        DiskFull: the child could not write because the disk holding ``out_dir`` is full.
        ProcessingError: the process died (crash, killed, out of memory).
        Cancelled: ``on_progress`` raised it; the child has been stopped. Anything else ``on_progress``
            or ``on_tick`` raises also stops the child, then propagates.
    """
    command = _command("run", inputs) + ["--progress", "json", "--out", str(out_dir)]
    return _run_for_warnings(command, model, out_dir, on_progress, on_tick, tick_seconds, time_limit)


def plan_chips_process(
    inputs: PipelineInputs,
    plan: Path,
    chip_m: float,
    margin_m: float,
    on_progress: ProgressCallback,
    on_tick: Callable[[], None] | None = None,
    tick_seconds: float = 5.0,
    time_limit: TimeLimit | None = None,
) -> int:
    """Run ``python -m reconstruction plan``: cut the area of ``inputs`` into chips, written to ``plan`` (JSON).

    The child reads only the files' headers. The plan holds the inputs, so the chip runs and the merge
    need nothing else.

    Args:
        inputs: the area's files (no stereo pair, second image or DSM registration: those are never chipped).
        plan: the plan file to write.
        chip_m: side of a chip's core, metres.
        margin_m: how far each chip reads beyond its core, metres.
        on_progress: called for every progress line of the child.
        on_tick: called at least every ``tick_seconds`` while the child runs (the job's heartbeat).
        tick_seconds: see ``on_tick``.
        time_limit: when the job's time is up (None: no limit).

    Returns:
        How many chips the area needs (1: it fits one chip).

    Raises:
        PipelineFailed, JobTooLong, DiskFull, ProcessingError, Cancelled: as :func:`run_pipeline_process`.
    """
    command = _command("plan", inputs) + ["--chip-size", f"{chip_m:g}", "--margin", f"{margin_m:g}"]
    command += ["--out", str(plan), "--progress", "json"]
    result = _supervise(command, plan.parent, on_progress, on_tick, tick_seconds, time_limit)
    if "chips" not in result:
        raise ProcessingError("Planning the chips of the area ended without saying how many there are.")
    return int(result["chips"])


def run_chip_process(
    plan: Path,
    index: int,
    out_dir: Path,
    on_progress: ProgressCallback,
    on_tick: Callable[[], None] | None = None,
    tick_seconds: float = 5.0,
    model: str | None = None,
    time_limit: TimeLimit | None = None,
) -> list[str]:
    """Run ``python -m reconstruction run --chip``: chip ``index`` of ``plan`` into ``out_dir`` (not publishable).

    ``time_limit`` is the whole job's: a chip started late has less time left.

    Returns:
        The chip run's warnings for the user.

    Raises:
        PipelineFailed, JobTooLong, DiskFull, ProcessingError, Cancelled: as :func:`run_pipeline_process`.
    """
    command = [sys.executable, "-m", "reconstruction", "run", "--chip", str(plan), "--chip-index", str(index)]
    command += ["--out", str(out_dir), "--progress", "json"]
    return _run_for_warnings(command, model, out_dir, on_progress, on_tick, tick_seconds, time_limit)


def _run_for_warnings(
    command: list[str],
    model: str | None,
    out_dir: Path,
    on_progress: ProgressCallback,
    on_tick: Callable[[], None] | None,
    tick_seconds: float,
    time_limit: TimeLimit | None,
) -> list[str]:
    """Run a reconstruction child (with ``--model`` when given) into ``out_dir``; its warnings for the user."""
    if model:
        command = [*command, "--model", model]
    result = _supervise(command, out_dir, on_progress, on_tick, tick_seconds, time_limit)
    return list(result.get("warnings", []))


def merge_chips_process(
    plan: Path,
    chip_dirs: list[Path],
    out_dir: Path,
    on_progress: ProgressCallback,
    on_tick: Callable[[], None] | None = None,
    tick_seconds: float = 5.0,
    time_limit: TimeLimit | None = None,
) -> list[str]:
    """Run ``python -m reconstruction merge``: stitch the chips' folders (in index order) into ``out_dir``.

    ``out_dir`` then is an ordinary run's output folder, ready for :func:`backend.areas.publish.publish`.

    ``time_limit`` is the whole job's, chips included.

    Returns:
        The merge's warnings for the user.

    Raises:
        PipelineFailed, JobTooLong, DiskFull, ProcessingError, Cancelled: as :func:`run_pipeline_process`.
    """
    command = [sys.executable, "-m", "reconstruction", "merge", "--plan", str(plan), "--out", str(out_dir)]
    command += ["--progress", "json", *map(str, chip_dirs)]
    result = _supervise(command, out_dir, on_progress, on_tick, tick_seconds, time_limit)
    return list(result.get("warnings", []))


def finetune_process(
    ortho: Path,
    lidar: Path,
    out: Path,
    report: Path,
    steps: int,
    epsg: int | None,
    on_progress: ProgressCallback,
    on_tick: Callable[[], None] | None = None,
    tick_seconds: float = 5.0,
) -> None:
    """Run ``python -m reconstruction finetune`` (``--report``, JSON progress): new weights at ``out``.

    The child writes the new model's name, version and held-out scores to ``report`` (JSON); the
    backend reads that file instead of the weights, so it never loads torch.

    Raises:
        PipelineFailed, DiskFull, ProcessingError, Cancelled: as :func:`run_pipeline_process` (DiskFull names
        the folder of ``out``).
    """
    command = [sys.executable, "-m", "reconstruction", "finetune", "--ortho", str(ortho), "--lidar", str(lidar)]
    command += ["--out", str(out), "--report", str(report), "--steps", str(steps), "--progress", "json"]
    if epsg is not None:
        command += ["--epsg", str(epsg)]
    _supervise(command, out.parent, on_progress, on_tick, tick_seconds)


def _supervise(
    command: list[str],
    writes_to: Path,
    on_progress: ProgressCallback,
    on_tick: Callable[[], None] | None,
    tick_seconds: float,
    time_limit: TimeLimit | None = None,
) -> dict:
    """Run a ``--progress json`` child (writing under ``writes_to``) to its end, relaying progress; its result line.

    Everything relayed (progress, warnings, errors) passes through :func:`user_message`.
    """
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=die_with_parent)
    result: dict = {}
    error: dict[str, str] | None = None
    stderr = bytearray()
    try:
        for line in _lines(child, stderr, on_tick, tick_seconds, time_limit):
            message = _relayed(_parse(line))
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
    raise ProcessingError(_death_message(code, reported))


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


def check_inputs_process(inputs: PipelineInputs, timeout: float = 600) -> list[str]:
    """Run ``python -m reconstruction check`` on ``inputs``.

    Returns:
        Warnings for the user.

    Raises:
        PipelineFailed: the inputs are refused; the message says why (naming files, never server paths).
        ProcessingError: the check crashed or timed out.
    """
    try:
        done = subprocess.run(
            _command("check", inputs) + ["--json"], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as err:
        raise ProcessingError(
            f"Checking the files took longer than {timeout:.0f} s; they may be far too large."
        ) from err
    messages = [_relayed(_parse(line)) for line in done.stdout.splitlines()]
    for message in messages:
        if message.get("type") == "ok" and done.returncode == 0:
            return list(message.get("warnings", []))
        if message.get("type") == "error":
            raise PipelineFailed(message["message"])
    raise ProcessingError(_death_message(done.returncode, done.stderr))


def _command(verb: str, inputs: PipelineInputs) -> list[str]:
    """The CLI command line that hands ``inputs`` to a ``run`` or ``check`` child."""
    command = [sys.executable, "-m", "reconstruction", verb]
    optional = (("--ortho", inputs.ortho), ("--dsm", inputs.dsm), ("--lidar", inputs.lidar), ("--epsg", inputs.epsg))
    for flag, value in (*optional, ("--footprints", inputs.footprints), ("--second-image", inputs.second_image)):
        if value is not None:
            command += [flag, str(value)]
    if inputs.register_dsm:
        command.append("--register-dsm")
    if inputs.stereo:
        command += ["--stereo", *map(str, inputs.stereo)]
    return command


def _parse(line: str) -> dict:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _death_message(code: int, stderr: str) -> str:
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
