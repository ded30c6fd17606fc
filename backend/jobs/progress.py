"""Adapt the pipeline's progress callback into throttled Job updates and a log of JobEvents."""

import time

from django.utils import timezone

from backend.jobs.dbretry import retry_db
from backend.jobs.models import Job, JobEvent
from backend.jobs.notify import notify_job_changed
from reconstruction import Cancelled, overall_fraction


class JobProgress:
    """A ``on_progress(stage, fraction, message)`` callback that records into a Job.

    The job row is written at most every ``interval`` seconds (and at every stage boundary), so a fast
    stage does not flood the database. Each write also stamps the job's heartbeat, wakes the websocket
    consumers through the channel layer, and checks whether the user cancelled the job (raising
    :class:`Cancelled` if so). A write that meets a database outage waits and retries
    (:func:`backend.jobs.dbretry.retry_db`); the child's next lines wait in its pipe meanwhile.
    """

    def __init__(self, job: Job, interval: float = 0.5) -> None:
        self.job = job
        self.interval = interval
        self._last_write = 0.0
        self._last_stage = ""

    def __call__(self, stage: str, fraction: float, message: str) -> None:
        """Record one report."""
        boundary = stage != self._last_stage or fraction in (0.0, 1.0)
        now = time.monotonic()
        if not boundary and now - self._last_write < self.interval:
            return
        self._last_write, self._last_stage = now, stage
        progress = round(overall_fraction(stage, fraction), 4)
        retry_db(lambda: self._record(stage, progress, message[:500]), f"job {self.job.pk}'s progress")
        notify_job_changed(self.job.pk)

    def _record(self, stage: str, progress: float, message: str) -> None:
        if Job.objects.filter(pk=self.job.pk, status=Job.Status.CANCELLED).exists():
            raise Cancelled("The job was cancelled.")
        stamp = timezone.now()
        Job.objects.filter(pk=self.job.pk).update(
            stage=stage, progress=progress, message=message, updated=stamp, heartbeat=stamp
        )
        JobEvent.objects.create(job=self.job, stage=stage, progress=progress, message=message)
