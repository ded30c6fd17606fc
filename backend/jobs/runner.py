"""Run the reconstruction CLI in a child process: input checks for uploads, and whole runs for jobs.

A child process keeps the worker alive whatever happens inside the native stack (GDAL, PROJ, numba,
torch): a segmentation fault or an out-of-memory kill fails one job instead of the worker, memory is
returned after every job, and cancelling is a terminate(). It also keeps two GDAL builds apart:
GeoDjango's system GDAL in the worker and the wheels' bundled GDAL in the child.
"""

import json
import signal
import subprocess
import sys
from pathlib import Path

from reconstruction import Cancelled, PipelineInputs, RS3DError
from reconstruction.errors import ProcessingError
from reconstruction.progress import ProgressCallback


class PipelineFailed(RS3DError):
    """The child reported one of our errors; the message is the user-facing one."""


def run_pipeline_process(inputs: PipelineInputs, out_dir: Path, on_progress: ProgressCallback) -> list[str]:
    """Run ``python -m reconstruction run`` on ``inputs`` into ``out_dir``.

    Returns:
        The run's warnings for the user.

    Raises:
        PipelineFailed: the pipeline refused the inputs or failed with a message for the user.
        ProcessingError: the process died (crash, killed, out of memory).
        Cancelled: ``on_progress`` raised it; the child has been stopped.
    """
    command = _command("run", inputs) + ["--progress", "json", "--out", str(out_dir)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    assert child.stdout is not None
    warnings: list[str] = []
    error: dict[str, str] | None = None
    try:
        for line in child.stdout:
            message = _parse(line)
            if message.get("type") == "progress":
                on_progress(message["stage"], float(message["fraction"]), message["message"])
            elif message.get("type") == "result":
                warnings = list(message.get("warnings", []))
            elif message.get("type") == "error":
                error = message
    except Cancelled:
        child.terminate()
        child.wait(timeout=30)
        raise
    stderr = child.stderr.read() if child.stderr else ""
    code = child.wait()
    if code == 0:
        return warnings
    if error is not None:
        raise PipelineFailed(error["message"])
    raise ProcessingError(_death_message(code, stderr))


def check_inputs_process(inputs: PipelineInputs, timeout: float = 600) -> list[str]:
    """Run ``python -m reconstruction check`` on ``inputs``.

    Returns:
        Warnings for the user.

    Raises:
        PipelineFailed: the inputs are refused; the message says why.
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
    messages = [_parse(line) for line in done.stdout.splitlines()]
    for message in messages:
        if message.get("type") == "ok" and done.returncode == 0:
            return list(message.get("warnings", []))
        if message.get("type") == "error":
            raise PipelineFailed(message["message"])
    raise ProcessingError(_death_message(done.returncode, done.stderr))


def _command(verb: str, inputs: PipelineInputs) -> list[str]:
    command = [sys.executable, "-m", "reconstruction", verb, "--ortho", str(inputs.ortho)]
    for flag, value in (("--dsm", inputs.dsm), ("--lidar", inputs.lidar), ("--epsg", inputs.epsg)):
        if value is not None:
            command += [flag, str(value)]
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
    return f"The reconstruction process stopped with exit code {code} ({tail[0][:300]})."
