"""The progress callback contract shared by the CLI, the worker and the tests."""

from collections.abc import Callable

#: ``on_progress(stage, fraction, message)``: fraction is 0..1 within the stage.
#: A callback may raise :class:`reconstruction.errors.Cancelled` to stop the run.
ProgressCallback = Callable[[str, float, str], None]


def silent(stage: str, fraction: float, message: str) -> None:
    """Progress callback that ignores every report."""
