"""Start jobs and run them: staging folder, pipeline, atomic publication, a clear outcome."""

import logging
import shutil
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from backend.areas.models import Area, Source
from backend.areas.publish import publish
from backend.jobs.dbretry import retry_db
from backend.jobs.diskspace import DiskFull, is_disk_full
from backend.jobs.lease import beat, heartbeat_seconds, lease_seconds
from backend.jobs.models import Job, JobEvent
from backend.jobs.notify import notify_job_changed
from backend.jobs.progress import JobProgress
from backend.jobs.runner import run_pipeline_process
from backend.models_registry.catalog import run_argument
from reconstruction import Cancelled, PipelineInputs, RS3DError

logger = logging.getLogger(__name__)

_ACTIVE: set[int] = set()  # jobs this process is running

#: How many leases a worker keeps trying to save a job's outcome while the database is unreachable.
_OUTCOME_PATIENCE = 5


def start_job(area: Area) -> Job:
    """Create a queued job for the area and enqueue it once the surrounding transaction commits."""
    from backend.jobs.tasks import reconstruct_area  # the task module imports this one

    job = Job.objects.create(area=area)
    area.status = Area.Status.PROCESSING
    area.save(update_fields=["status"])

    def enqueue() -> None:
        result = reconstruct_area.enqueue(job.pk)
        Job.objects.filter(pk=job.pk).update(task_id=str(result.id))

    transaction.on_commit(enqueue)
    return job


def cancel_job(job: Job) -> Job:
    """Ask a queued or running ``job`` to stop; its worker stops at its next progress report.

    A finished job is left as it is. Returns the job as it is now.
    """
    Job.objects.filter(pk=job.pk).exclude(status__in=Job.FINISHED).update(status=Job.Status.CANCELLED)
    job.refresh_from_db()
    notify_job_changed(job.pk)
    return job


def retry_job(job: Job) -> Job:
    """Queue a new run of the area of a failed or cancelled ``job``; the old job keeps its log and reason.

    Raises:
        ValueError: the job is still queued or running, or it succeeded.
    """
    if job.status not in (Job.Status.FAILED, Job.Status.CANCELLED):
        raise ValueError(f"Only a failed or cancelled job can be retried; job {job.pk} is {job.status}.")
    return start_job(job.area)


def active_job_ids() -> frozenset[int]:
    """Jobs this process is running now (alive whatever their heartbeat says)."""
    return frozenset(_ACTIVE)


def run_job(job_id: int) -> None:
    """Run a queued job to the end; never raises for a failure the user should read about.

    Running it again, or for a job another worker took, does nothing: only a queued job starts. Its
    heartbeat, progress, publication and outcome outlast a short database outage
    (:func:`backend.jobs.dbretry.retry_db`); a full disk fails it with :class:`DiskFull`'s message.
    """
    job = Job.objects.select_related("area", "area__model_version").get(pk=job_id)
    now = timezone.now()
    if not Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started=now, heartbeat=now
    ):
        logger.info("job %s is %s, not queued; nothing to do", job.pk, Job.objects.get(pk=job.pk).status)
        return
    notify_job_changed(job.pk)
    _ACTIVE.add(job.pk)
    staging = job.area.folder / ".staging" / f"job-{job.pk}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        warnings = run_pipeline_process(
            _inputs(job.area),
            staging,
            JobProgress(job),
            on_tick=lambda: _beat(job),
            tick_seconds=heartbeat_seconds(),
            model=run_argument(job.area.model, job.area.model_version),
        )
        _beat(job)  # still ours: not cancelled, not declared lost while the child ran
        publication = retry_db(lambda: publish(job.area, staging), f"job {job.pk}'s publication")
    except Cancelled:
        _finish(job, Job.Status.CANCELLED, error="Cancelled at your request.")
    except DiskFull:
        _finish(job, Job.Status.FAILED, error=_disk_full_error(job))
    except RS3DError as err:
        _finish(job, Job.Status.FAILED, error=str(err))
    except Exception as err:
        if is_disk_full(err):  # writing the compressed copies while publishing
            _finish(job, Job.Status.FAILED, error=_disk_full_error(job))
            return
        logger.exception("job %s crashed", job.pk)
        stage = retry_db(lambda: Job.objects.get(pk=job.pk).stage, f"job {job.pk}'s failure") or "start"
        _finish(
            job,
            Job.Status.FAILED,
            error=f"An internal error stopped the '{stage}' stage. "
            "This is a bug in rs3d, not a problem with your files; the server log has the details.",
        )
    else:
        _finish(job, Job.Status.SUCCEEDED, warnings=warnings, version=publication.version)
    finally:
        _ACTIVE.discard(job.pk)
        shutil.rmtree(staging, ignore_errors=True)


def _beat(job: Job) -> None:
    """Stamp the heartbeat; stop the run if the job was cancelled or declared lost meanwhile."""
    if not retry_db(lambda: beat(job.pk), f"job {job.pk}'s heartbeat"):
        raise Cancelled("The job is no longer running.")


def _disk_full_error(job: Job) -> str:
    stage = Job.objects.filter(pk=job.pk).values_list("stage", flat=True).first() or "start"
    lead = f"The '{stage}' stage could not write its results; nothing of this run was published."
    return str(DiskFull(job.area.folder, lead))


def _inputs(area: Area) -> PipelineInputs:
    files: dict[str, Path] = {s.kind: s.file for s in area.sources.all()}
    return Source.pipeline_inputs(files, area.epsg, area.register_dsm)


def _finish(
    job: Job, status: str, error: str = "", warnings: list[str] | None = None, version: int | None = None
) -> None:
    """Record the job's outcome (retried through a database outage for up to five leases), then wake its followers."""
    message = {"succeeded": "Finished", "failed": "Failed", "cancelled": "Cancelled"}[status]

    def record() -> None:
        with transaction.atomic():
            fields = {"status": status, "error": error, "finished": timezone.now(), "message": message}
            if status == Job.Status.SUCCEEDED:
                fields.update(progress=1.0, stage="publish", warnings=warnings or [], version=version)
            rows = Job.objects.filter(pk=job.pk)
            if status != Job.Status.SUCCEEDED:
                # A job declared lost meanwhile (backend.jobs.lease) keeps that reason.
                rows = rows.filter(status__in=[Job.Status.RUNNING, status])
            if not rows.update(**fields):
                return
            job.refresh_from_db()
            JobEvent.objects.create(
                job=job, stage=job.stage or "start", progress=job.progress, message=(error or message)[:500]
            )
            area = Area.objects.get(pk=job.area_id)
            if status != Job.Status.SUCCEEDED:
                area.status = Area.Status.READY if area.current_id else Area.Status.FAILED
                area.save(update_fields=["status"])

    retry_db(record, f"job {job.pk}'s outcome", patience=_OUTCOME_PATIENCE * lease_seconds())
    notify_job_changed(job.pk)
