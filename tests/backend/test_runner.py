"""The job runner's child process: heartbeat ticks while it runs, its stderr in the death message, stopping it."""

import sys
import time

import pytest

from backend.jobs import runner
from reconstruction import PipelineInputs
from reconstruction.errors import ProcessingError

INPUTS = PipelineInputs(ortho="unused.tif")


def _child(monkeypatch, code: str) -> None:
    monkeypatch.setattr(runner, "_command", lambda verb, inputs: [sys.executable, "-c", code])


def test_ticks_while_the_child_is_silent_and_relays_progress(monkeypatch, tmp_path):
    _child(
        monkeypatch,
        "import json, time; time.sleep(1.0); "
        "print(json.dumps({'type': 'progress', 'stage': 'terrain', 'fraction': 0.5, 'message': 'half'}), flush=True); "
        "print(json.dumps({'type': 'result', 'warnings': ['w']}))",
    )
    ticks, reports = [], []
    warnings = runner.run_pipeline_process(
        INPUTS, tmp_path, lambda *report: reports.append(report), on_tick=lambda: ticks.append(1), tick_seconds=0.1
    )
    assert warnings == ["w"] and reports == [("terrain", 0.5, "half")]
    assert len(ticks) >= 5  # about ten in the silent second


def test_a_dying_child_reports_the_end_of_its_stderr(monkeypatch, tmp_path):
    _child(monkeypatch, "import sys; sys.stderr.write('x' * 200000 + '\\nlast words\\n'); sys.exit(3)")
    with pytest.raises(ProcessingError, match=r"exit code 3 \(last words\)"):
        runner.run_pipeline_process(INPUTS, tmp_path, lambda *report: None)


def test_an_error_in_the_tick_stops_the_child(monkeypatch, tmp_path):
    _child(monkeypatch, "import time; time.sleep(60)")

    def tick() -> None:
        raise RuntimeError("job lost")

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="job lost"):
        runner.run_pipeline_process(INPUTS, tmp_path, lambda *report: None, on_tick=tick, tick_seconds=0.1)
    assert time.monotonic() - started < 10
