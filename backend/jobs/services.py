"""Start jobs and run them: staging folder, pipeline, atomic publication, a clear outcome.

A large area is split into chips that several workers share (:mod:`backend.jobs.chips`); :func:`run_job`
plans them and hands the job over to its chip tasks.
"""

import logging
import shutil

from django.db import transaction
from django.utils import timezone

from backend.areas.models import Area
from backend.jobs.chips import chippable, plan_chips
from backend.jobs.lease import expire_if_lost
from backend.jobs.models import ChipRun, Job
from backend.jobs.notify import notify_job_changed
from backend.jobs.outcome import (
    ACTIVE_CHIPS,
    ACTIVE_JOBS,
    Published,
    beat_or_stop,
    publish_run,
    settle,
    staging_folder,
    time_limit,
)
from backend.jobs.progress import JobProgress
from backend.models_registry.catalog import run_argument
from backend.runtime.lease import heartbeat_seconds
from backend.runtime.runner import run_pipeline_process

logger = logging.getLogger(__name__)


class AreaBusy(Exception):  # noqa: N818 - reads as what the area is
    """The area already has a queued or running job, ``job``: follow that one instead of starting another."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"This area already has a {job.status} job (job {job.pk}); follow that one.")
        self.job = job


def start_job(area: Area) -> Job:
    """Create a queued job for the area and enqueue it once the surrounding transaction commits.

    An area has at most one active (queued or running) job, and this is where that holds without a race:
    the area's row is locked until the transaction ends (``SELECT ... FOR UPDATE`` on PostgreSQL; on
    SQLite every transaction here takes the database's write lock when it begins, ``transaction_mode``
    IMMEDIATE), so of two requests that start a job at once the second sees the first one's job.

    Raises:
        AreaBusy: the area has an active job already (a running one whose worker was lost does not count:
            it is failed first, see :func:`backend.jobs.lease.expire_if_lost`).
    """
    from backend.jobs.tasks import reconstruct_area  # the task module imports this one

    with transaction.atomic():
        Area.objects.select_for_update().only("pk").get(pk=area.pk)
        active = area.jobs.filter(status__in=Job.ACTIVE).order_by("-created").first()
        if active is not None and expire_if_lost(active).status in Job.ACTIVE:
            raise AreaBusy(active)
        job = Job.objects.create(area=area)
        area.status = Area.Status.PROCESSING
        area.save(update_fields=["status"])

    def enqueue() -> None:
        result = reconstruct_area.enqueue(job.pk)
        Job.objects.filter(pk=job.pk).update(task_id=str(result.id))

    transaction.on_commit(enqueue)
    return job


def cancel_job(job: Job) -> Job:
    """Ask a queued or running ``job`` to stop; its workers stop at their next progress report or heartbeat.

    A finished job is left as it is. Returns the job as it is now.
    """
    Job.objects.filter(pk=job.pk).exclude(status__in=Job.FINISHED).update(status=Job.Status.CANCELLED)
    ChipRun.cancel_queued(job.pk)  # its running chips stop at their next heartbeat
    job.refresh_from_db()
    notify_job_changed(job.pk)
    return job


def retry_job(job: Job) -> Job:
    """Queue a new run of the area of a failed or cancelled ``job``; the old job keeps its log and reason.

    Retrying twice (a double click) queues one run: the second call raises :class:`AreaBusy` with it.

    Raises:
        ValueError: the job is still queued or running, or it succeeded.
        AreaBusy: the area has a queued or running job already, e.g. the one an earlier retry queued.
    """
    if job.status not in (Job.Status.FAILED, Job.Status.CANCELLED):
        raise ValueError(f"Only a failed or cancelled job can be retried; job {job.pk} is {job.status}.")
    return start_job(job.area)


def active_job_ids() -> frozenset[int]:
    """Jobs this process is running now, whole or their chip plan or merge (alive whatever their heartbeat says)."""
    return frozenset(ACTIVE_JOBS)


def active_chip_ids() -> frozenset[int]:
    """Chips (:class:`~backend.jobs.models.ChipRun` ids) this process is running now."""
    return frozenset(ACTIVE_CHIPS)


def run_job(job_id: int) -> None:
    """Run a queued job to the end; never raises for a failure the user should read about.

    A large area's job is planned into chips here and handed over to their tasks (:mod:`backend.jobs.chips`).
    Running it again, or for a job another worker took, does nothing: only a queued job starts. Its
    heartbeat, progress, publication and outcome outlast a short database outage
    (:func:`backend.runtime.dbretry.retry_db`); a full disk fails it with :class:`DiskFull`'s message.
    """
    job = Job.objects.select_related("area", "area__model_version").get(pk=job_id)
    now = timezone.now()
    if not Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started=now, heartbeat=now
    ):
        logger.info("job %s is %s, not queued; nothing to do", job.pk, Job.objects.get(pk=job.pk).status)
        return
    job.started = now  # its time limit counts from here
    notify_job_changed(job.pk)
    ACTIVE_JOBS.add(job.pk)
    shutil.rmtree(staging_folder(job), ignore_errors=True)
    try:
        settle(job, lambda: _reconstruct(job))
    finally:
        ACTIVE_JOBS.discard(job.pk)


def _reconstruct(job: Job) -> Published | None:
    """The job's whole run and its publication; None once a large area's chips are queued instead."""
    inputs = job.area.pipeline_inputs()
    if chippable(inputs) and plan_chips(job, inputs) > 1:
        return None
    staging = staging_folder(job)
    warnings = run_pipeline_process(
        inputs,
        staging,
        JobProgress(job),
        on_tick=lambda: beat_or_stop(job),
        tick_seconds=heartbeat_seconds(),
        model=run_argument(job.area.model, job.area.model_version),
        time_limit=time_limit(job),
    )
    return publish_run(job, staging, warnings)
