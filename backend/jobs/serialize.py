"""The JSON shape of a job, its chips and its log events, shared by the REST API and the websocket."""

from typing import Any

from django.urls import reverse

from backend.jobs.models import ChipRun, Job, JobEvent


def job_state(job: Job) -> dict[str, Any]:
    """The job as the websocket and API show it."""
    return {
        "type": "job",
        "id": job.pk,
        "area": job.area_id,
        "status": job.status,
        "stage": job.stage,
        "progress": job.progress,
        "message": job.message,
        "error": job.error,
        "warnings": job.warnings,
        "version": job.version,
        "chips": chip_states(job),
        "url": reverse("api:job-detail", args=[job.pk]),
    }


def chip_states(job: Job) -> list[dict[str, Any]]:
    """The job's chips in plan order (index from 0): who runs each and how far it got; empty for a job run whole."""
    chips = ChipRun.objects.filter(job_id=job.pk).order_by("index")
    return [
        {"index": chip.index, "status": chip.status, "worker": chip.worker, "progress": chip.progress} for chip in chips
    ]


def event_message(event: JobEvent) -> dict[str, Any]:
    """One log line."""
    return {
        "type": "log",
        "id": event.pk,
        "time": event.time.isoformat(),
        "stage": event.stage,
        "progress": event.progress,
        "message": event.message,
    }
