"""The job runner's child process: heartbeat ticks while it runs, its stderr in the death message, stopping it."""

import sys
import time

import pytest

from backend.runtime import runner
from backend.runtime.messages import JobTooLong, PipelineFailed
from backend.runtime.supervise import TimeLimit
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


def test_a_child_past_the_job_time_limit_is_stopped_and_the_limit_named(monkeypatch, tmp_path):
    _child(monkeypatch, "import time; time.sleep(60)")
    started = time.monotonic()
    limit = TimeLimit(ends=time.monotonic() + 0.5, seconds=4 * 3600)
    with pytest.raises(JobTooLong, match=r"limit of 4 h \(server setting RS3D_MAX_JOB_SECONDS\)"):
        runner.run_pipeline_process(INPUTS, tmp_path, lambda *report: None, time_limit=limit)
    assert time.monotonic() - started < 10


@pytest.mark.django_db
def test_a_job_past_its_time_limit_fails_naming_the_limit(monkeypatch, settings, user):
    from backend.areas.models import Area
    from backend.jobs.models import Job
    from backend.jobs.services import run_job, start_job

    settings.RS3D_MAX_JOB_SECONDS = 1
    settings.RS3D_CHIP_SIZE_M = 0  # one whole run, no chips
    monkeypatch.setattr(Area, "pipeline_inputs", lambda area: INPUTS)
    _child(monkeypatch, "import time; time.sleep(60)")
    job = start_job(Area.objects.create(name="Slow", owner=user))
    started = time.monotonic()
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "RS3D_MAX_JOB_SECONDS" in job.error and "1 s" in job.error
    assert time.monotonic() - started < 10


def test_relayed_errors_name_files_never_server_paths(monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "my media"
    upload = settings.MEDIA_ROOT / "incoming" / "3f2a" / "ortho" / "city.tif"
    message = (
        f"Cannot read '{upload}': not a GeoTIFF. See /tmp/cars-x1/logs/cars.log, "
        "/vsizip//srv/areas/7/in.zip/a.tif and http://example.org/docs/help (version 1/2)."
    )
    _child(monkeypatch, f"import json; print(json.dumps({{'type': 'error', 'message': {message!r}}})); exit(1)")
    with pytest.raises(PipelineFailed) as failed:
        runner.run_pipeline_process(INPUTS, tmp_path, lambda *report: None)
    assert str(failed.value) == (
        "Cannot read 'city.tif': not a GeoTIFF. See cars.log, a.tif and http://example.org/docs/help (version 1/2)."
    )
    _child(monkeypatch, f"import json; print(json.dumps({{'type': 'error', 'message': {message!r}}}))")
    with pytest.raises(PipelineFailed, match="^Cannot read 'city.tif'") as failed:
        runner.check_inputs_process(INPUTS)
    assert "/" not in str(failed.value).replace("http://example.org/docs/help", "").replace("1/2", "")
    _child(monkeypatch, f"import sys; sys.stderr.write('OSError: {upload}'); sys.exit(2)")
    with pytest.raises(ProcessingError, match=r"exit code 2 \(OSError: city.tif\)"):
        runner.run_pipeline_process(INPUTS, tmp_path, lambda *report: None)


def test_relayed_warnings_and_progress_name_files_only(monkeypatch, tmp_path):
    _child(
        monkeypatch,
        "import json; "
        "print(json.dumps({'type': 'progress', 'stage': 'tiles',"
        " 'fraction': 0.1, 'message': 'Writing /srv/a/b.b3dm'}));"
        "print(json.dumps({'type': 'result', 'warnings': ['Skipped /srv/rs3d/media/incoming/9/lidar/x.laz']}))",
    )
    reports = []
    assert runner.run_pipeline_process(INPUTS, tmp_path, lambda *report: reports.append(report)) == ["Skipped x.laz"]
    assert reports == [("tiles", 0.1, "Writing b.b3dm")]
