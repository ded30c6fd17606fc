"""The reconstruction CLI's commands as the backend runs them, each in a child process.

Input checks for uploads, whole runs, chip plans, chips and merges for jobs, fine-tuning for trainings:
each builds its ``python -m reconstruction`` command line and runs it through :func:`supervise` (or, for
the check, to completion with a timeout).
"""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from backend.runtime.messages import PipelineFailed, death_message, read_message
from backend.runtime.supervise import TimeLimit, supervise
from reconstruction import PipelineInputs
from reconstruction.errors import ProcessingError
from reconstruction.progress import ProgressCallback


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
            server path reduced to a file name, see :func:`~backend.runtime.messages.user_message`).
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
    result = supervise(command, plan.parent, on_progress, on_tick, tick_seconds, time_limit)
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
    result = supervise(command, out_dir, on_progress, on_tick, tick_seconds, time_limit)
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
    result = supervise(command, out_dir, on_progress, on_tick, tick_seconds, time_limit)
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
    supervise(command, out.parent, on_progress, on_tick, tick_seconds)


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
    messages = [read_message(line) for line in done.stdout.splitlines()]
    for message in messages:
        if message.get("type") == "ok" and done.returncode == 0:
            return list(message.get("warnings", []))
        if message.get("type") == "error":
            raise PipelineFailed(message["message"])
    raise ProcessingError(death_message(done.returncode, done.stderr))


def _command(verb: str, inputs: PipelineInputs) -> list[str]:
    """The CLI command line that hands ``inputs`` to a ``run``, ``check`` or ``plan`` child."""
    return [sys.executable, "-m", "reconstruction", verb, *inputs.to_argv()]
