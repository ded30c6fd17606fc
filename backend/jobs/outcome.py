"""How a job's work ends: its heartbeat, publication, outcome and staging folder, shared by every kind of task.

A job's work runs in one task (a whole run; or, for a large area, the chip plan) or several (one task per
chip, then the merge: :mod:`backend.jobs.chips`). Each of them runs its work through :func:`settle`, which
records the outcome the same way: success with the published version, a full disk, our errors with their
message, a cancel, or an internal error naming the stage.
"""

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.areas.models import Area
from backend.areas.publish import publish
from backend.jobs.models import ChipRun, Job, JobEvent
from backend.jobs.notify import notify_job_changed
from backend.runtime.dbretry import retry_db
from backend.runtime.diskspace import DiskFull, is_disk_full
from backend.runtime.lease import beat, lease_seconds
from backend.runtime.supervise import TimeLimit
from reconstruction import Cancelled, RS3DError

logger = logging.getLogger(__name__)

ACTIVE_JOBS: set[int] = set()  # jobs this process runs: a whole run, a chip plan or a merge
ACTIVE_CHIPS: set[int] = set()  # ChipRun ids this process runs

#: How many leases a worker keeps trying to save a job's outcome while the database is unreachable.
_OUTCOME_PATIENCE = 5


@dataclass(frozen=True)
class Published:
    """A successful run's end: its warnings for the user and the version it published."""

    warnings: list[str]
    version: int


def staging_folder(job: Job) -> Path:
    """The job's private working folder, ``<area>/.staging/job-<id>/``; never visible to readers."""
    return job.area.folder / ".staging" / f"job-{job.pk}"


def time_limit(job: Job) -> TimeLimit | None:
    """When the job's time is up: ``RS3D_MAX_JOB_SECONDS`` after a worker took it (None: no limit is set).

    Every child of the job (whole run, chip plan, chips, merge) gets the same end, so a large area's chips
    share one budget instead of each getting the full limit.
    """
    seconds = float(settings.RS3D_MAX_JOB_SECONDS)
    if seconds <= 0:
        return None
    now = timezone.now()
    elapsed = (now - (job.started or now)).total_seconds()
    return TimeLimit(ends=time.monotonic() + seconds - elapsed, seconds=seconds)


def settle(job: Job, work: Callable[[], Published | None]) -> None:
    """Run ``work`` for ``job`` and record the outcome; remove the staging folder once the job ended.

    ``work`` returning None leaves the job running: other tasks (its chips) go on with it. Never raises
    for a failure the user should read about.
    """
    ended = True
    try:
        done = work()
    except Exception as err:
        finish(job, *failure(job, err))
    else:
        ended = done is not None
        if done is not None:
            finish(job, Job.Status.SUCCEEDED, warnings=done.warnings, version=done.version)
    finally:
        if ended:
            shutil.rmtree(staging_folder(job), ignore_errors=True)


def failure(job: Job, err: Exception) -> tuple[str, str]:
    """What ``err``, raised by the job's work, means for the job: (status, error for the user)."""
    if isinstance(err, Cancelled):
        return Job.Status.CANCELLED, "Cancelled at your request."
    if isinstance(err, DiskFull) or (not isinstance(err, RS3DError) and is_disk_full(err)):
        return Job.Status.FAILED, _disk_full_error(job)  # is_disk_full: writing the compressed copies
    if isinstance(err, RS3DError):
        return Job.Status.FAILED, str(err)
    logger.error("job %s crashed", job.pk, exc_info=err)
    stage = retry_db(lambda: Job.objects.get(pk=job.pk).stage, f"job {job.pk}'s failure") or "start"
    return (
        Job.Status.FAILED,
        f"An internal error stopped the '{stage}' stage. "
        "This is a bug in rs3d, not a problem with your files; the server log has the details.",
    )


def beat_or_stop(job: Job) -> None:
    """Stamp the heartbeat; stop the run if the job was cancelled or declared lost meanwhile.

    Raises:
        Cancelled: the job is no longer running.
    """
    if not retry_db(lambda: beat(Job, job.pk), f"job {job.pk}'s heartbeat"):
        raise Cancelled("The job is no longer running.")


def publish_run(job: Job, folder: Path, warnings: list[str]) -> Published:
    """Publish the finished run in ``folder`` if the job is still ours (not cancelled, not declared lost)."""
    beat_or_stop(job)
    publication = retry_db(lambda: publish(job.area, folder), f"job {job.pk}'s publication")
    return Published(warnings, publication.version)


def finish(
    job: Job, status: str, error: str = "", warnings: list[str] | None = None, version: int | None = None
) -> bool:
    """Record the job's outcome (retried through a database outage for up to five leases), then wake its followers.

    Only the first outcome of a job counts: a job declared lost, failed by one of its chips or finished
    otherwise keeps that outcome and reason. A job that does not succeed cancels its chips no worker took.

    Returns:
        Whether this call recorded the outcome.
    """
    message = {"succeeded": "Finished", "failed": "Failed", "cancelled": "Cancelled"}[status]
    recorded = False

    def record() -> None:
        nonlocal recorded
        with transaction.atomic():
            fields = {"status": status, "error": error, "finished": timezone.now(), "message": message}
            if status == Job.Status.SUCCEEDED:
                fields.update(progress=1.0, stage="publish", warnings=warnings or [], version=version)
            rows = Job.objects.filter(pk=job.pk)
            if status != Job.Status.SUCCEEDED:
                rows = rows.filter(status__in=[Job.Status.RUNNING, status], finished__isnull=True)
            recorded = bool(rows.update(**fields))
            if not recorded:
                return
            job.refresh_from_db()
            JobEvent.objects.create(
                job=job, stage=job.stage or "start", progress=job.progress, message=(error or message)[:500]
            )
            area = Area.objects.get(pk=job.area_id)
            if status != Job.Status.SUCCEEDED:
                ChipRun.cancel_queued(job.pk)
                area.status = Area.Status.READY if area.current_id else Area.Status.FAILED
                area.save(update_fields=["status"])

    retry_db(record, f"job {job.pk}'s outcome", patience=_OUTCOME_PATIENCE * lease_seconds())
    notify_job_changed(job.pk)
    return recorded


def _disk_full_error(job: Job) -> str:
    stage = Job.objects.filter(pk=job.pk).values_list("stage", flat=True).first() or "start"
    lead = f"The '{stage}' stage could not write its results; nothing of this run was published."
    return str(DiskFull(job.area.folder, lead))
