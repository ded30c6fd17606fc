"""Large areas: a job split into chips that several workers share, merged and published once.

The end-to-end test runs the real CLI children (plan, one run per chip, merge) on the generated 100 m city
cut into 50 m chips; the others stand in a fake for the chip child, to reach each branch in a second.
"""

import os
import socket
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files import File
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from backend.areas.models import Area
from backend.areas.uploads import AreaUpload, create_area
from backend.jobs import chips as chips_module
from backend.jobs.chips import chippable, merge_chips, run_chip
from backend.jobs.lease import expire_if_lost, fail_lost_jobs
from backend.jobs.models import ChipRun, Job, JobEvent
from backend.jobs.progress import CHIPS_SHARE
from backend.jobs.services import cancel_job, run_job, start_job
from backend.runtime.messages import PipelineFailed
from reconstruction import Cancelled, PipelineInputs, overall_fraction
from tests.backend.conftest import listing

MERGE_TASK = "backend.jobs.tasks.merge_chips"
CHIP_TASK = "backend.jobs.tasks.reconstruct_chip"
THIS_WORKER = f"{socket.gethostname()}:{os.getpid()}"


@pytest.fixture
def small_chips(settings) -> None:
    """50 m chips with a 16 m margin: the 100 m ``scene_files`` city in four chips."""
    settings.RS3D_CHIP_SIZE_M = 50
    settings.RS3D_CHIP_MARGIN_M = 16


@pytest.fixture
def area(user) -> Area:
    return Area.objects.create(name="Big town", owner=user, status=Area.Status.PROCESSING)


def _chipped_job(area: Area, count: int = 4) -> Job:
    """A running job handed to its ``count`` queued chips, as run_job leaves it (the plan is a stand-in)."""
    now = timezone.now()
    job = Job.objects.create(area=area, status="running", stage="plan", started=now, heartbeat=now)
    ChipRun.objects.bulk_create([ChipRun(job=job, index=index) for index in range(count)])
    staging = _staging(job)
    staging.mkdir(parents=True)
    (staging / "plan.json").write_text("{}")
    return job


def _staging(job: Job) -> Path:
    return job.area.folder / ".staging" / f"job-{job.pk}"


def _chip(job: Job, index: int) -> ChipRun:
    return ChipRun.objects.get(job=job, index=index)


def _fake_chip_child(monkeypatch, behaviour) -> None:
    """Replace the chip child: ``behaviour(index, on_progress, on_tick)`` runs instead and returns warnings."""

    def fake(plan, index, out_dir, on_progress, on_tick=None, tick_seconds=5.0, model=None, time_limit=None):
        assert plan.is_file()
        out_dir.mkdir(parents=True)
        return behaviour(index, on_progress, on_tick)

    monkeypatch.setattr(chips_module, "run_chip_process", fake)


def _run_job_of(scene: dict[str, Path], user) -> tuple[Area, Job]:
    """Upload the scene's orthophoto and DSM as a new area and run its job's own task once."""
    with scene["ortho"].open("rb") as ortho, scene["dsm"].open("rb") as dsm:
        upload = AreaUpload(name="Town", ortho=File(ortho, "ortho.tif"), dsm=File(dsm, "dsm.tif"))
        area, _ = create_area(upload, owner=user)
    job = start_job(area)
    run_job(job.pk)
    return area, job


def _tasks(path: str) -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=path).order_by("enqueued_at"))


@pytest.mark.django_db
def test_a_large_area_runs_chip_by_chip_then_merges_and_publishes_once(small_chips, scene_files, user, api, media_root):
    area, job = _run_job_of(scene_files, user)
    job.refresh_from_db()
    # Planned and handed over: still running, four queued chips with their tasks, nothing published.
    assert job.status == "running" and "4 chips" in job.message
    chip_tasks = _tasks(CHIP_TASK)
    assert [t.args_kwargs["args"] for t in chip_tasks] == [[job.pk, k] for k in range(4)]
    assert sorted(c.task_id for c in job.chips.all()) == sorted(str(t.id) for t in chip_tasks)
    assert api.get(f"/api/jobs/{job.pk}/").json()["chips"] == [
        {"index": k, "status": "queued", "worker": "", "progress": 0.0} for k in range(4)
    ]
    assert (_staging(job) / "plan.json").is_file()
    assert not any(name.startswith("v") for name in listing(area.folder))

    for index in range(4):
        run_chip(job.pk, index)
        assert len(_tasks(MERGE_TASK)) == (1 if index == 3 else 0)  # only the last chip queues the merge
        assert (_staging(job) / "chips" / f"c{index}" / "manifest.json").is_file()
    run_chip(job.pk, 2)  # delivered twice: nothing happens
    job.refresh_from_db()
    assert job.status == "running" and job.progress == CHIPS_SHARE and job.stage == "merge"
    assert job.task_id == str(_tasks(MERGE_TASK)[0].id)
    assert "chip 4/4: " in " ".join(JobEvent.objects.filter(job=job).values_list("message", flat=True))

    merge_chips(job.pk)
    merge_chips(job.pk)  # delivered twice: the second does nothing
    job.refresh_from_db()
    assert job.status == "succeeded" and job.version == 1 and job.progress == 1.0, job.error
    area.refresh_from_db()
    assert area.status == "ready" and area.current.version == 1
    names = listing(area.folder)
    assert "v1/manifest.json" in names and not any(name.startswith(".staging/") for name in names)
    state = api.get(f"/api/jobs/{job.pk}/").json()
    assert state["chips"] == [
        {"index": k, "status": "succeeded", "worker": THIS_WORKER, "progress": 1.0} for k in range(4)
    ]
    assert api.get(f"/api/areas/{area.pk}/").json()["latest_job"]["chips"] == state["chips"]


@pytest.mark.django_db
def test_an_area_that_fits_one_chip_runs_whole_without_chips(monkeypatch, settings, scene_files, user, api):
    settings.RS3D_CHIP_SIZE_M = 1000
    monkeypatch.setattr(chips_module, "_fits_one_chip", lambda ortho, chip_m: False)  # ask the plan child
    area, job = _run_job_of(scene_files, user)
    job.refresh_from_db()
    assert job.status == "succeeded" and not job.chips.exists(), job.error
    assert api.get(f"/api/jobs/{job.pk}/").json()["chips"] == []
    assert "v1/plan.json" not in listing(area.folder) and "v1/manifest.json" in listing(area.folder)


def test_an_orthophoto_within_one_chip_skips_the_plan(settings, scene_files):
    ortho = scene_files["ortho"]  # 100 m square, UTM
    settings.RS3D_CHIP_SIZE_M = 100
    assert not chippable(PipelineInputs(ortho=ortho, dsm=scene_files["dsm"]))
    settings.RS3D_CHIP_SIZE_M = 99
    assert chippable(PipelineInputs(ortho=ortho, dsm=scene_files["dsm"]))


def test_only_areas_without_whole_area_inputs_are_chipped(settings):
    settings.RS3D_CHIP_SIZE_M = 1000
    plain = PipelineInputs(ortho=Path("o.tif"), dsm=Path("d.tif"), lidar=Path("l.laz"))
    assert chippable(plain)
    assert not chippable(PipelineInputs(ortho=Path("o.tif"), second_image=Path("s.tif")))
    assert not chippable(PipelineInputs(ortho=Path("o.tif"), dsm=Path("d.tif"), lidar=Path("l.laz"), register_dsm=True))
    assert not chippable(PipelineInputs(stereo=(Path("a.tif"), Path("b.tif"))))
    settings.RS3D_CHIP_SIZE_M = 0
    assert not chippable(plain)


@pytest.mark.django_db
def test_a_chip_runs_once_and_reports_progress_into_its_job(monkeypatch, area):
    job = _chipped_job(area)
    ChipRun.objects.filter(job=job, index=0).update(status="succeeded", progress=1.0)
    seen = {}

    def behaviour(index, on_progress, on_tick):
        on_tick()
        on_progress("pointcloud", 0.5, "Building the point cloud")
        seen["job"], seen["chip"] = Job.objects.get(pk=job.pk), _chip(job, index)
        return ["Chip warning"]

    _fake_chip_child(monkeypatch, behaviour)
    run_chip(job.pk, 1)
    chip_progress = overall_fraction("pointcloud", 0.5)
    assert seen["chip"].status == "running" and seen["chip"].worker == THIS_WORKER
    assert seen["chip"].progress == pytest.approx(chip_progress, abs=1e-4) and seen["chip"].stage == "pointcloud"
    assert seen["job"].message == "chip 2/4: Building the point cloud" and seen["job"].stage == "pointcloud"
    assert seen["job"].progress == pytest.approx(CHIPS_SHARE * (1.0 + chip_progress) / 4, abs=1e-3)
    chip = _chip(job, 1)
    assert chip.status == "succeeded" and chip.warnings == ["Chip warning"] and chip.finished is not None

    _fake_chip_child(monkeypatch, lambda *args: pytest.fail("a chip ran twice"))
    run_chip(job.pk, 1)  # already succeeded
    ChipRun.objects.filter(job=job, index=2).update(status="running", worker="elsewhere:1")
    run_chip(job.pk, 2)  # another worker has it
    assert _chip(job, 2).worker == "elsewhere:1"
    assert Job.objects.get(pk=job.pk).status == "running" and _staging(job).is_dir()


@pytest.mark.django_db(transaction=True)
def test_two_last_chips_finishing_together_queue_the_merge_once(monkeypatch, area):
    job = _chipped_job(area, count=3)
    ChipRun.objects.filter(job=job, index=0).update(status="succeeded", progress=1.0)
    both_running = threading.Barrier(2, timeout=30)

    def behaviour(index, on_progress, on_tick):
        both_running.wait()  # both chips end at the same moment
        return []

    _fake_chip_child(monkeypatch, behaviour)

    def chip_task(index: int) -> None:
        try:
            run_chip(job.pk, index)
        finally:
            connection.close()

    threads = [threading.Thread(target=chip_task, args=(index,)) for index in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert set(ChipRun.objects.filter(job=job).values_list("status", flat=True)) == {"succeeded"}
    merges = _tasks(MERGE_TASK)
    assert len(merges) == 1 and merges[0].args_kwargs["args"] == [job.pk]
    assert Job.objects.get(pk=job.pk).task_id == str(merges[0].id)


@pytest.mark.django_db
def test_a_failed_chip_fails_the_job_naming_it_and_stops_the_others(monkeypatch, area):
    job = _chipped_job(area)
    stopped = {}

    def behaviour(index, on_progress, on_tick):
        if index == 2:
            raise PipelineFailed("The DSM holds no data over this part of the area.")
        on_progress("terrain", 0.2, "Ground")
        run_chip(job.pk, 2)  # meanwhile, on another worker, chip 3 of 4 fails
        try:
            on_tick()  # chip 1's next heartbeat
        except Cancelled:
            stopped["at heartbeat"] = True
            raise
        return []

    _fake_chip_child(monkeypatch, behaviour)
    run_chip(job.pk, 0)
    assert stopped == {"at heartbeat": True}
    job.refresh_from_db()
    assert job.status == "failed" and job.finished is not None
    assert job.error == "chip 3 of 4 failed: The DSM holds no data over this part of the area."
    assert [c.status for c in job.chips.order_by("index")] == ["cancelled", "cancelled", "failed", "cancelled"]
    assert "holds no data" in _chip(job, 2).message
    assert JobEvent.objects.filter(job=job, message__startswith="chip 3 of 4 failed").count() == 1
    assert Area.objects.get(pk=area.pk).status == "failed"
    assert not _staging(job).exists()
    run_chip(job.pk, 3)  # its task comes up later: nothing runs
    assert _chip(job, 3).status == "cancelled" and Job.objects.get(pk=job.pk).status == "failed"


@pytest.mark.django_db
def test_cancelling_a_chipped_job_stops_its_running_chip_at_its_next_report(monkeypatch, area, api):
    job = _chipped_job(area)

    def behaviour(index, on_progress, on_tick):
        on_progress("heights", 0.1, "Heights")
        assert api.post(f"/api/jobs/{job.pk}/cancel/").status_code == 200
        assert [c["status"] for c in api.get(f"/api/jobs/{job.pk}/").json()["chips"]] == [
            "running",
            "cancelled",
            "cancelled",
            "cancelled",
        ]
        on_progress("heights", 1.0, "Heights done")
        pytest.fail("the chip went on after the cancel")

    _fake_chip_child(monkeypatch, behaviour)
    run_chip(job.pk, 0)
    job.refresh_from_db()
    assert job.status == "cancelled" and job.error == "Cancelled at your request." and job.finished is not None
    assert set(job.chips.values_list("status", flat=True)) == {"cancelled"}
    assert not _staging(job).exists()
    assert JobEvent.objects.filter(job=job, message="Cancelled at your request.").count() == 1
    merge_chips(job.pk)  # a merge queued before the cancel does nothing
    assert Job.objects.get(pk=job.pk).status == "cancelled"


@pytest.mark.django_db
def test_cancelling_a_job_whose_chips_all_wait_is_recorded_by_the_first_chip_task(monkeypatch, area):
    job = _chipped_job(area)
    cancel_job(job)
    _fake_chip_child(monkeypatch, lambda *args: pytest.fail("a chip of a cancelled job ran"))
    run_chip(job.pk, 1)
    job.refresh_from_db()
    assert job.status == "cancelled" and job.finished is not None and not _staging(job).exists()
    run_chip(job.pk, 2)
    assert JobEvent.objects.filter(job=job, message="Cancelled at your request.").count() == 1


@pytest.mark.django_db
def test_a_chipped_job_waiting_for_workers_is_not_lost(settings, area):
    settings.RS3D_JOB_LEASE_SECONDS = 5
    job = _chipped_job(area)
    long_ago = timezone.now() - timedelta(minutes=10)
    Job.objects.filter(pk=job.pk).update(started=long_ago, heartbeat=long_ago)
    ChipRun.objects.filter(job=job, index=0).update(status="succeeded", started=long_ago, heartbeat=long_ago)
    assert fail_lost_jobs() == []
    assert expire_if_lost(Job.objects.get(pk=job.pk)).status == "running"
    # A chip whose worker beats keeps it alive, even with the job's own stamp old.
    ChipRun.objects.filter(job=job, index=1).update(status="running", started=long_ago, heartbeat=timezone.now())
    assert fail_lost_jobs() == [] and Job.objects.get(pk=job.pk).status == "running"


@pytest.mark.django_db
def test_a_chipped_job_is_lost_when_a_running_chip_stops_beating(settings, area):
    settings.RS3D_JOB_LEASE_SECONDS = 5
    job = _chipped_job(area)
    now, silent = timezone.now(), timezone.now() - timedelta(seconds=30)
    Job.objects.filter(pk=job.pk).update(heartbeat=now)  # another chip beats the job
    ChipRun.objects.filter(job=job, index=0).update(status="running", worker="a:1", started=now, heartbeat=now)
    ChipRun.objects.filter(job=job, index=1).update(
        status="running", worker="b:2", stage="terrain", started=silent, heartbeat=silent
    )
    lost_chip = _chip(job, 1)
    assert fail_lost_jobs(exclude_chips={lost_chip.pk}) == []  # its own worker does not fail it
    assert fail_lost_jobs() == [job.pk]
    job.refresh_from_db()
    assert job.status == "failed" and job.error.startswith(
        "The worker running chip 2 stopped responding at the 'terrain' stage (no sign of life for 30 s"
    )
    assert [c.status for c in job.chips.order_by("index")] == ["running", "failed", "cancelled", "cancelled"]
    assert Area.objects.get(pk=area.pk).status == "failed" and not _staging(job).exists()
    assert fail_lost_jobs() == []  # once only


@pytest.mark.django_db
def test_a_dead_chip_of_an_ended_job_does_not_stay_running(settings, area):
    settings.RS3D_JOB_LEASE_SECONDS = 5
    job = _chipped_job(area, count=2)
    now, silent = timezone.now(), timezone.now() - timedelta(seconds=30)
    Job.objects.filter(pk=job.pk).update(status="failed", finished=now)  # another chip failed it
    ChipRun.objects.filter(job=job, index=0).update(status="running", started=silent, heartbeat=silent)
    ChipRun.objects.filter(job=job, index=1).update(status="running", started=now, heartbeat=now)
    assert fail_lost_jobs(exclude_chips={_chip(job, 0).pk}) == [] and _chip(job, 0).status == "running"
    assert fail_lost_jobs() == []
    assert _chip(job, 0).status == "cancelled" and "worker went silent" in _chip(job, 0).message
    assert _chip(job, 1).status == "running"  # alive: it stops itself at its next heartbeat


@pytest.mark.django_db
def test_a_chipped_job_is_lost_when_its_merging_worker_stops_beating(settings, area):
    settings.RS3D_JOB_LEASE_SECONDS = 5
    job = _chipped_job(area, count=2)
    silent = timezone.now() - timedelta(seconds=30)
    ChipRun.objects.filter(job=job).update(status="succeeded", progress=1.0, heartbeat=silent)
    Job.objects.filter(pk=job.pk).update(stage="merge", heartbeat=silent)
    assert fail_lost_jobs() == []  # the merge waits for a free worker
    Job.objects.filter(pk=job.pk).update(merge_started=silent)
    assert expire_if_lost(Job.objects.get(pk=job.pk)).status == "failed"
    job.refresh_from_db()
    assert job.error.startswith("The worker stopped responding at the 'merge' stage")


@pytest.mark.django_db
def test_an_unchipped_job_keeps_its_lease_rule(settings, area):
    settings.RS3D_JOB_LEASE_SECONDS = 5
    silent = timezone.now() - timedelta(seconds=30)
    job = Job.objects.create(area=area, status="running", stage="tiles", started=silent, heartbeat=silent)
    assert fail_lost_jobs(exclude={job.pk}) == []
    assert fail_lost_jobs() == [job.pk]
    job.refresh_from_db()
    assert job.error.startswith("The worker stopped responding at the 'tiles' stage")


@pytest.mark.django_db
def test_job_json_lists_chips_on_the_api_and_the_area(api, area):
    job = start_job(area)
    assert api.get(f"/api/jobs/{job.pk}/").json()["chips"] == []
    Job.objects.filter(pk=job.pk).update(status="running", started=timezone.now(), heartbeat=timezone.now())
    ChipRun.objects.create(job=job, index=1, status="running", worker="host-b:42", progress=0.25)
    ChipRun.objects.create(job=job, index=0, status="succeeded", worker="host-a:7", progress=1.0)
    expected = [
        {"index": 0, "status": "succeeded", "worker": "host-a:7", "progress": 1.0},
        {"index": 1, "status": "running", "worker": "host-b:42", "progress": 0.25},
    ]
    body = api.get(f"/api/jobs/{job.pk}/").json()
    assert body["chips"] == expected and body["status"] == "running" and "progress" in body
    assert api.get(f"/api/areas/{area.pk}/").json()["latest_job"]["chips"] == expected


@pytest.mark.django_db
def test_a_failed_merge_fails_the_job_and_publishes_nothing(monkeypatch, area):
    job = _chipped_job(area, count=2)
    ChipRun.objects.filter(job=job).update(status="succeeded", progress=1.0)
    given = {}

    def fake_merge(plan, chip_dirs, out_dir, on_progress, on_tick=None, tick_seconds=5.0, time_limit=None):
        given["chips"] = [folder.name for folder in chip_dirs]
        on_tick()
        on_progress("merge", 0.5, "Joining the point clouds")
        assert Job.objects.get(pk=job.pk).progress == pytest.approx(CHIPS_SHARE + (1 - CHIPS_SHARE) / 2)
        out_dir.mkdir()
        raise PipelineFailed("The chips do not line up: chip 2 was planned on other files.")

    monkeypatch.setattr(chips_module, "merge_chips_process", fake_merge)
    merge_chips(job.pk)
    job.refresh_from_db()
    assert given["chips"] == ["c0", "c1"] and job.merge_started is not None
    assert job.status == "failed" and job.error == "The chips do not line up: chip 2 was planned on other files."
    assert not _staging(job).exists() and not any(name.startswith("v") for name in listing(area.folder))
