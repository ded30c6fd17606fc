"""Lost workers of jobs: a running job's heartbeat, and failing the jobs whose worker stopped beating.

A worker stamps ``Job.heartbeat`` every few seconds while its child process runs; a job still ``running``
whose last stamp is older than the lease lost its worker (the lease and the stamp: :mod:`backend.runtime.lease`).
:func:`fail_lost_jobs` marks such jobs failed with the stage they stopped at, removes their staging
folder (never published, so the area's current version stays as it was) and fails the queue's task
row. A large area's job (:mod:`backend.jobs.chips`) is lost when one of its running chips stops beating
(each chip stamps ``ChipRun.heartbeat``); its chips waiting for a free worker are not. Workers run it at
start-up and periodically; readers of a job (websocket) run :func:`expire_if_lost` on it. Training runs
use the same lease (:mod:`backend.models_registry.lease`).
"""

import logging
import shutil
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from backend.areas.models import Area
from backend.jobs.models import ChipRun, Job, JobEvent
from backend.jobs.notify import notify_job_changed
from backend.runtime.lease import fail_task_row, lease_limit, lost_error, silence, silent_since

logger = logging.getLogger(__name__)


def fail_lost_jobs(
    exclude: set[int] | frozenset[int] = frozenset(), exclude_chips: set[int] | frozenset[int] = frozenset()
) -> list[int]:
    """Mark every running job that lost its worker as failed.

    A job run whole (or merging its chips) is lost when its heartbeat is older than the lease. A chipped
    job is lost when one of its running chips' heartbeat is; chips still queued, waiting for a free
    worker, are not a sign of a lost job.

    Args:
        exclude: ids of jobs the calling process runs itself (alive by definition).
        exclude_chips: ids of chips (:class:`ChipRun`) the calling process runs itself.

    Returns:
        The ids of the jobs marked failed.
    """
    limit = lease_limit()
    unchipped = ~Exists(ChipRun.objects.filter(job=OuterRef("pk")))
    whole = Job.objects.filter(
        silent_since(limit), unchipped | Q(merge_started__isnull=False), status=Job.Status.RUNNING
    )
    chips = ChipRun.objects.filter(
        silent_since(limit),
        status=ChipRun.Status.RUNNING,
        job__status=Job.Status.RUNNING,
        job__merge_started__isnull=True,
    ).exclude(pk__in=exclude_chips)
    candidates = set(whole.values_list("pk", flat=True)) | set(chips.values_list("job_id", flat=True))
    lost = [job_id for job_id in sorted(candidates - set(exclude)) if _fail_if_stale(job_id, limit, exclude_chips)]
    _stop_orphan_chips(limit, exclude_chips)
    return lost


def _stop_orphan_chips(limit: datetime, exclude_chips: set[int] | frozenset[int]) -> int:
    """Mark cancelled the chips still "running" for a job that ended, whose worker went silent.

    A live chip of an ended job stops itself at its next heartbeat; one whose worker died never does.
    """
    orphans = ChipRun.objects.filter(silent_since(limit), status=ChipRun.Status.RUNNING).exclude(
        job__status=Job.Status.RUNNING
    )
    return orphans.exclude(pk__in=exclude_chips).update(
        status=ChipRun.Status.CANCELLED,
        message="Stopped: the job ended and this chip's worker went silent.",
        finished=timezone.now(),
    )


def expire_if_lost(job: Job) -> Job:
    """Fail ``job`` if it is running and lost its worker (see :func:`fail_lost_jobs`); return it as it now is."""
    limit = lease_limit()
    # Only a job that looks lost takes the row lock (on SQLite a write lock): readers poll often.
    if job.status == Job.Status.RUNNING and _lost(job, limit, frozenset()) is not None:
        if _fail_if_stale(job.pk, limit, frozenset()):
            job.refresh_from_db()
    return job


def _lost(job: Job, limit: datetime, exclude_chips: set[int] | frozenset[int]) -> tuple[ChipRun | None, str] | None:
    """The chip whose worker was lost (None: the job's own worker) and the error for the user; None if alive."""
    chips = list(ChipRun.objects.filter(job_id=job.pk)) if job.merge_started is None else []
    signs = [(chip, chip.heartbeat or chip.started) for chip in chips if chip.status == ChipRun.Status.RUNNING]
    if not chips:
        signs = [(None, job.heartbeat or job.started)]
    for chip, last_sign in signs:
        silent = silence(last_sign, limit)
        if silent is None or (chip is not None and chip.pk in exclude_chips):
            continue
        worker = "The worker" if chip is None else f"The worker running chip {chip.index + 1}"
        stage = (job.stage if chip is None else chip.stage) or "start"
        outcome = "Nothing of this run was published; retry the job."
        return chip, lost_error(worker, f"the '{stage}' stage", silent, outcome)
    return None


def _fail_if_stale(job_id: int, limit: datetime, exclude_chips: set[int] | frozenset[int]) -> bool:
    with transaction.atomic():
        job = Job.objects.select_for_update().select_related("area").filter(pk=job_id).first()
        if job is None or job.status != Job.Status.RUNNING:
            return False
        lost = _lost(job, limit, exclude_chips)
        if lost is None:
            return False
        chip, error = lost
        stage = (job.stage if chip is None else chip.stage) or "start"
        now = timezone.now()
        Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error=error, message="Failed", finished=now)
        JobEvent.objects.create(job=job, stage=stage, progress=job.progress, message=error[:500])
        if chip is not None:
            ChipRun.objects.filter(pk=chip.pk).update(status=ChipRun.Status.FAILED, message=error[:500], finished=now)
            ChipRun.cancel_queued(job.pk)
        area = Area.objects.select_for_update().get(pk=job.area_id)
        area.status = Area.Status.READY if area.current_id else Area.Status.FAILED
        area.save(update_fields=["status"])
        fail_task_row(job.task_id if chip is None else chip.task_id, error)
    logger.warning("job %s lost its worker at stage %s; marked failed", job_id, stage)
    shutil.rmtree(job.area.folder / ".staging" / f"job-{job.pk}", ignore_errors=True)
    notify_job_changed(job_id)
    return True
