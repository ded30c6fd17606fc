"""The progress callback contract shared by the CLI, the worker and the tests."""

from collections.abc import Callable

#: ``on_progress(stage, fraction, message)``: fraction is 0..1 within the stage.
#: A callback may raise :class:`reconstruction.errors.Cancelled` to stop the run.
ProgressCallback = Callable[[str, float, str], None]


def silent(stage: str, fraction: float, message: str) -> None:
    """Progress callback that ignores every report."""


def json_lines(stage: str, fraction: float, message: str) -> None:
    """One JSON line per report on stdout, flushed at once, for a supervising process to read."""
    import json

    print(json.dumps({"type": "progress", "stage": stage, "fraction": fraction, "message": message}), flush=True)
