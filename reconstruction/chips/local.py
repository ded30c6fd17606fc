"""Run a chipped area on this machine: every chip in its own process, one after another, then the merge.

A process per chip returns all its memory when it ends, so the peak of any one process is what a
worker needs, whatever the area's size; ``os.wait4`` gives each child's own peak resident memory.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconstruction.children import die_with_parent
from reconstruction.chips.plan import ChipPlan
from reconstruction.errors import ProcessingError
from reconstruction.progress import ProgressCallback, silent


@dataclass(frozen=True)
class ChildRun:
    """One child process: what it did, how long it took and its peak resident memory."""

    name: str
    seconds: float
    peak_rss_mb: float


def run_chipped(
    plan: ChipPlan, out_dir: Path, model: str | None = None, on_progress: ProgressCallback = silent
) -> list[ChildRun]:
    """Run every chip of ``plan`` and merge them into ``out_dir``; the chips' own folders are removed after.

    Returns:
        One :class:`ChildRun` per chip, then the merge's.

    Raises:
        ProcessingError: a child failed; its message says which chip and why.
    """
    work = out_dir / ".chips"
    plan_path = plan.save(work / "plan.json")
    runs = []
    chip_dirs = []
    total = len(plan.chips) + 1
    for chip in plan.chips:
        folder = work / f"chip-{chip.index}"
        chip_dirs.append(folder)
        command = [
            "run",
            "--chip",
            str(plan_path),
            "--chip-index",
            str(chip.index),
            "--out",
            str(folder),
            "--overwrite",
        ]
        command += ["--model", model] if model else []
        runs.append(_child(f"chip {chip.index}", command, on_progress, chip.index, total))
    # The merge writes next to the chips (its --out must be empty), then its files move up into out_dir.
    merged = work / "merged"
    merge = ["merge", "--plan", str(plan_path), "--out", str(merged), *map(str, chip_dirs)]
    runs.append(_child("merge", merge, on_progress, len(plan.chips), total))
    for entry in merged.iterdir():
        entry.rename(out_dir / entry.name)
    shutil.rmtree(work)
    return runs


def _child(name: str, arguments: list[str], on_progress: ProgressCallback, done: int, total: int) -> ChildRun:
    command = [sys.executable, "-m", "reconstruction", *arguments, "--progress", "json"]
    start = time.perf_counter()
    error = None
    # stderr goes to a file: a pipe read only after stdout ends would block a child with much to say there.
    with tempfile.TemporaryFile("w+") as stderr:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True, preexec_fn=die_with_parent)
        assert child.stdout is not None
        for line in child.stdout:
            message = _parse(line)
            if message.get("type") == "progress":
                on_progress(message["stage"], (done + _fraction(message)) / total, f"{name}: {message['message']}")
            elif message.get("type") == "error":
                error = message["message"]
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        said = stderr.read()
    if child.returncode != 0:
        tail = error or (said.strip().splitlines() or ["no message"])[-1]
        raise ProcessingError(f"{name} failed (exit {child.returncode}): {tail}")
    return ChildRun(name, time.perf_counter() - start, usage.ru_maxrss / 1024)


def _fraction(message: dict[str, Any]) -> float:
    from reconstruction.stages import overall_fraction

    if message["stage"] == "merge":
        return float(message["fraction"])
    return overall_fraction(message["stage"], float(message["fraction"]))


def _parse(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
