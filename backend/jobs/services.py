"""Start jobs and run them: staging folder, pipeline, atomic publication, a clear outcome."""

import logging
import shutil
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from backend.areas.models import Area, Source
from backend.areas.publish import publish
from backend.jobs.models import Job, JobEvent
from backend.jobs.progress import JobProgress
from backend.jobs.runner import run_pipeline_process
from reconstruction import Cancelled, PipelineInputs, RS3DError

logger = logging.getLogger(__name__)


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


def run_job(job_id: int) -> None:
    """Run a queued job to the end; never raises for a failure the user should read about."""
    job = Job.objects.select_related("area").get(pk=job_id)
    if job.is_finished:
        logger.info("job %s already %s; nothing to do", job.pk, job.status)
        return
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started=timezone.now())
    staging = job.area.folder / ".staging" / f"job-{job.pk}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        warnings = run_pipeline_process(_inputs(job.area), staging, JobProgress(job))
        publication = publish(job.area, staging)
    except Cancelled:
        _finish(job, Job.Status.CANCELLED, error="Cancelled at your request.")
    except RS3DError as err:
        _finish(job, Job.Status.FAILED, error=str(err))
    except Exception:
        logger.exception("job %s crashed", job.pk)
        stage = Job.objects.get(pk=job.pk).stage or "start"
        _finish(
            job,
            Job.Status.FAILED,
            error=f"An internal error stopped the '{stage}' stage. "
            "This is a bug in rs3d, not a problem with your files; the server log has the details.",
        )
    else:
        _finish(job, Job.Status.SUCCEEDED, warnings=warnings, version=publication.version)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _inputs(area: Area) -> PipelineInputs:
    files: dict[str, Path] = {s.kind: s.file for s in area.sources.all()}
    return PipelineInputs(
        ortho=files[Source.Kind.ORTHO],
        dsm=files.get(Source.Kind.DSM),
        lidar=files.get(Source.Kind.LIDAR),
        epsg=area.epsg,
    )


def _finish(
    job: Job, status: str, error: str = "", warnings: list[str] | None = None, version: int | None = None
) -> None:
    message = {"succeeded": "Finished", "failed": "Failed", "cancelled": "Cancelled"}[status]
    with transaction.atomic():
        fields = {"status": status, "error": error, "finished": timezone.now(), "message": message}
        if status == Job.Status.SUCCEEDED:
            fields.update(progress=1.0, stage="publish", warnings=warnings or [], version=version)
        Job.objects.filter(pk=job.pk).update(**fields)
        job.refresh_from_db()
        JobEvent.objects.create(job=job, stage=job.stage or "start", progress=job.progress, message=error or message)
        area = Area.objects.get(pk=job.area_id)
        if status != Job.Status.SUCCEEDED:
            area.status = Area.Status.READY if area.current_id else Area.Status.FAILED
            area.save(update_fields=["status"])
