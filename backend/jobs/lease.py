"""Lost workers: a running job's heartbeat, and failing the jobs whose worker stopped beating.

A worker stamps ``Job.heartbeat`` every few seconds while its child process runs
(:func:`heartbeat_seconds`). A job still ``running`` whose last stamp is older than the lease
(``RS3D_JOB_LEASE_SECONDS``, 60 s by default) lost its worker: killed, out of memory, machine gone.
:func:`fail_lost_jobs` marks such jobs failed with the stage they stopped at, removes their staging
folder (never published, so the area's current version stays as it was) and fails the queue's task
row. Workers run it at start-up and periodically; readers of a job (websocket) run
:func:`expire_if_lost` on it. Training runs use the same lease (:mod:`backend.models_registry.lease`).
"""

import logging
import shutil
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backend.areas.models import Area
from backend.jobs.models import Job, JobEvent
from backend.jobs.notify import notify_job_changed

logger = logging.getLogger(__name__)


class WorkerLost(Exception):
    """Recorded on the queue's task row of a job whose worker stopped responding."""


def lease_seconds() -> float:
    """How long a running job may go without a heartbeat before it counts as lost."""
    return float(settings.RS3D_JOB_LEASE_SECONDS)


def heartbeat_seconds() -> float:
    """How often a worker stamps its running job: a quarter of the lease, between 0.5 and 10 s."""
    return min(10.0, max(0.5, lease_seconds() / 4))


def beat(job_id: int) -> bool:
    """Stamp the job's heartbeat now.

    Returns:
        False if the job is no longer running (cancelled, or already declared lost).
    """
    return bool(Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(heartbeat=timezone.now()))


def fail_lost_jobs(exclude: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """Mark every running job whose heartbeat is older than the lease as failed.

    Args:
        exclude: ids of jobs the calling process runs itself (alive by definition).

    Returns:
        The ids of the jobs marked failed.
    """
    limit = timezone.now() - timedelta(seconds=lease_seconds())
    stale = Q(heartbeat__lt=limit) | Q(heartbeat__isnull=True, started__lt=limit)
    candidates = Job.objects.filter(stale, status=Job.Status.RUNNING).exclude(pk__in=exclude)
    return [job_id for job_id in candidates.values_list("pk", flat=True) if _fail_if_stale(job_id, limit)]


def expire_if_lost(job: Job) -> Job:
    """Fail ``job`` if it is running without a fresh heartbeat; return it as it now is."""
    limit = timezone.now() - timedelta(seconds=lease_seconds())
    last_sign = job.heartbeat or job.started
    # Only a job that looks stale takes the row lock (on SQLite a write lock): readers poll often.
    if job.status == Job.Status.RUNNING and last_sign is not None and last_sign < limit:
        if _fail_if_stale(job.pk, limit):
            job.refresh_from_db()
    return job


def _fail_if_stale(job_id: int, limit: datetime) -> bool:
    with transaction.atomic():
        job = Job.objects.select_for_update().select_related("area").filter(pk=job_id).first()
        if job is None or job.status != Job.Status.RUNNING:
            return False
        last_sign = job.heartbeat or job.started
        if last_sign is None or last_sign >= limit:
            return False
        silent = (timezone.now() - last_sign).total_seconds()
        stage = job.stage or "start"
        error = (
            f"The worker stopped responding at the '{stage}' stage (no sign of life for {silent:.0f} s: "
            "the process or its machine was stopped or ran out of memory). Nothing of this run was published; "
            "retry the job."
        )
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED, error=error, message="Failed", finished=timezone.now()
        )
        JobEvent.objects.create(job=job, stage=stage, progress=job.progress, message=error[:500])
        area = Area.objects.select_for_update().get(pk=job.area_id)
        area.status = Area.Status.READY if area.current_id else Area.Status.FAILED
        area.save(update_fields=["status"])
        fail_task_row(job.task_id, error)
    logger.warning("job %s lost its worker at stage %s; marked failed", job_id, stage)
    shutil.rmtree(job.area.folder / ".staging" / f"job-{job.pk}", ignore_errors=True)
    notify_job_changed(job_id)
    return True


def fail_task_row(task_id: str, error: str) -> None:
    """Mark the queue's row of the task failed, so the queue agrees with the job."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    if not task_id:
        return
    row = DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).first()
    if row is not None:
        row.set_failed(WorkerLost(error))
