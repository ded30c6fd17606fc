"""Faults: a worker killed mid-run is detected through its heartbeat, its job fails clearly, a retry publishes."""

import signal
from datetime import timedelta
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.files import File
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from backend.areas.models import Area, Publication
from backend.areas.uploads import AreaUpload, create_area
from backend.jobs.lease import fail_lost_jobs
from backend.jobs.models import Job
from backend.jobs.routing import websocket_urlpatterns
from backend.jobs.services import retry_job, run_job, start_job
from devtools.processes import stop_processes
from tests.backend.children import child_env, processes_mentioning, start_worker, wait_for
from tests.backend.conftest import listing

MID_RUN = ["imagery", "heights", "terrain", "classify", "pointcloud", "features", "rasters", "tiles"]


def _area(scene_files: dict[str, Path], name: str) -> Area:
    with scene_files["ortho"].open("rb") as ortho, scene_files["dsm"].open("rb") as dsm:
        area, _ = create_area(AreaUpload(name=name, ortho=File(ortho, "ortho.tif"), dsm=File(dsm, "dsm.tif")))
    return area


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_is_detected_and_the_retry_publishes(scene_files, media_root, tmp_path):
    area = _area(scene_files, "Fault town")
    run_job(start_job(area).pk)  # version 1, published in this process
    area.refresh_from_db()
    assert area.current.version == 1
    v1 = media_root / "areas" / str(area.pk) / "v1"
    v1_before = {p: (v1 / p).read_bytes() for p in listing(v1) if (v1 / p).is_file()}

    job = start_job(area)
    logs = tmp_path / "logs"
    logs.mkdir()
    worker = start_worker(child_env(tmp_path), logs / "worker-a.log")
    try:
        wait_for(
            lambda: Job.objects.filter(pk=job.pk, status="running", stage__in=MID_RUN).exists(),
            180,
            "the worker getting past the input checks",
            worker,
        )
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    staging = area.folder / ".staging" / f"job-{job.pk}"
    assert staging.is_dir()  # the run had started writing
    wait_for(lambda: not processes_mentioning(str(staging)), 10, "the reconstruction child dying with its worker")
    job.refresh_from_db()
    assert job.status == "running"  # nobody knows yet
    stage = job.stage

    # A new worker with a 3 s lease finds the job silent and fails it, at start-up or on its next check.
    worker = start_worker(child_env(tmp_path, RS3D_JOB_LEASE_SECONDS="3"), logs / "worker-b.log")
    try:
        wait_for(lambda: Job.objects.get(pk=job.pk).status == "failed", 60, "the lost job being failed", worker)
        job.refresh_from_db()
        assert f"The worker stopped responding at the '{stage}' stage" in job.error and "retry" in job.error
        assert job.finished is not None and job.events.last().message.startswith("The worker stopped responding")
        assert DBTaskResult.objects.get(pk=job.task_id).status == "FAILED"
        area.refresh_from_db()
        assert area.status == "ready" and area.current.version == 1
        assert not staging.exists() and not (area.folder / "v2").exists()
        assert {p: (v1 / p).read_bytes() for p in listing(v1) if (v1 / p).is_file()} == v1_before

        retry = retry_job(job)
        wait_for(lambda: Job.objects.get(pk=retry.pk).status in Job.FINISHED, 180, "the retry finishing", worker)
    finally:
        stop_processes(worker, timeout=30)
    retry.refresh_from_db()
    assert retry.status == "succeeded" and retry.version == 2, retry.error
    area.refresh_from_db()
    assert area.current.version == 2 and area.status == "ready"
    assert {"v1/manifest.json", "v2/manifest.json"} <= listing(area.folder)
    assert not any(".staging/" in name for name in listing(area.folder))


@pytest.mark.django_db
def test_lost_job_fails_and_its_retry_publishes_once(settings, scene_files, media_root):
    settings.RS3D_JOB_LEASE_SECONDS = 5
    area = _area(scene_files, "Retry town")
    job = start_job(area)
    # As a worker killed during the terrain stage leaves it: running, silent, a half-written staging folder.
    silent_since = timezone.now() - timedelta(seconds=6)
    Job.objects.filter(pk=job.pk).update(
        status="running", stage="terrain", started=silent_since, heartbeat=silent_since
    )
    staging = area.folder / ".staging" / f"job-{job.pk}"
    (staging / "rasters").mkdir(parents=True)
    (staging / "rasters" / "dsm.tif").write_bytes(b"half")
    fresh = start_job(_area(scene_files, "Busy town"))
    Job.objects.filter(pk=fresh.pk).update(status="running", started=timezone.now(), heartbeat=timezone.now())

    assert fail_lost_jobs() == [job.pk]  # the fresh one keeps running
    job.refresh_from_db()
    assert job.status == "failed" and "at the 'terrain' stage" in job.error
    assert Area.objects.get(pk=area.pk).status == "failed" and not staging.exists()
    assert fail_lost_jobs() == []  # once only

    retry = retry_job(job)
    run_job(retry.pk)
    run_job(retry.pk)  # delivered twice: the second run does nothing
    run_job(job.pk)  # the failed job stays failed
    retry.refresh_from_db()
    assert retry.status == "succeeded" and retry.version == 1
    assert Publication.objects.filter(area=area).count() == 1
    assert Job.objects.get(pk=job.pk).status == "failed"
    names = listing(area.folder)
    assert "v1/manifest.json" in names and "v2" not in names and not any(n.startswith(".staging/") for n in names)
    with pytest.raises(ValueError, match="Only a failed or cancelled job can be retried"):
        retry_job(retry)


def test_heartbeat_interval_follows_the_lease(settings):
    from backend.runtime.lease import heartbeat_seconds

    settings.RS3D_JOB_LEASE_SECONDS = 60
    assert heartbeat_seconds() == 10
    settings.RS3D_JOB_LEASE_SECONDS = 3
    assert heartbeat_seconds() == 0.75


@pytest.mark.django_db(transaction=True)
def test_following_a_silent_job_on_the_websocket_fails_it(settings):
    settings.RS3D_JOB_LEASE_SECONDS = 5
    area = Area.objects.create(name="Watched", status="processing", visibility=Area.Visibility.PUBLIC)
    silent = timezone.now() - timedelta(seconds=30)
    job = Job.objects.create(area=area, status="running", stage="features", started=silent, heartbeat=silent)

    async def first_message() -> dict:
        socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/jobs/{job.pk}/")
        assert (await socket.connect())[0]
        try:
            messages = [await socket.receive_json_from(timeout=10) for _ in range(2)]
        finally:
            await socket.disconnect()
        return next(m for m in messages if m["type"] == "job")

    state = async_to_sync(first_message)()
    assert state["status"] == "failed" and "at the 'features' stage" in state["error"]
    assert Area.objects.get(pk=area.pk).status == "failed"
