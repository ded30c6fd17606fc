"""Adapt the pipeline's progress callback into throttled Job (and chip) updates and a log of JobEvents."""

import time
from collections.abc import Callable

from django.db import transaction
from django.db.models import Avg
from django.utils import timezone

from backend.jobs.models import ChipRun, Job, JobEvent
from backend.jobs.notify import notify_job_changed
from backend.runtime.dbretry import retry_db
from reconstruction import Cancelled, overall_fraction
from reconstruction.stages import STAGES

#: Share of a chipped job's progress bar taken by its chips; the merge and publication take the rest.
CHIPS_SHARE = 0.9

_RUN_STAGES = frozenset(name for name, _ in STAGES)


class JobProgress:
    """A ``on_progress(stage, fraction, message)`` callback that records into a Job.

    The job row is written at most every ``interval`` seconds (and at every stage boundary), so a fast
    stage does not flood the database. Each write also stamps the job's heartbeat, wakes the websocket
    consumers through the channel layer, and checks whether the user cancelled the job (raising
    :class:`Cancelled` if so). A write that meets a database outage waits and retries
    (:func:`backend.runtime.dbretry.retry_db`); the child's next lines wait in its pipe meanwhile.

    ``share(stage, fraction)`` maps a report to the job's progress (0..1); by default the pipeline's
    stage weights (:func:`reconstruction.overall_fraction`).
    """

    def __init__(
        self, job: Job, interval: float = 0.5, share: Callable[[str, float], float] = overall_fraction
    ) -> None:
        self.job = job
        self.interval = interval
        self.share = share
        self._last_write = 0.0
        self._last_stage = ""

    def __call__(self, stage: str, fraction: float, message: str) -> None:
        """Record one report."""
        boundary = stage != self._last_stage or fraction in (0.0, 1.0)
        now = time.monotonic()
        if not boundary and now - self._last_write < self.interval:
            return
        self._last_write, self._last_stage = now, stage
        progress = round(self.share(stage, fraction), 4)
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


class ChipProgress(JobProgress):
    """The progress callback of one chip's run: records into the chip and into its job.

    The job's progress is the mean of its chips' progress times :data:`CHIPS_SHARE`, and its message
    says which chip reported ("chip 3/8: Building the point cloud"). A report on a job that is no longer
    running (cancelled, failed by another chip, declared lost) raises :class:`Cancelled`.
    """

    def __init__(self, job: Job, chip: ChipRun, count: int, interval: float = 0.5) -> None:
        super().__init__(job, interval, share=self._chip_share)
        self.chip = chip
        self.count = count
        self._chip_progress = 0.0

    def _chip_share(self, stage: str, fraction: float) -> float:
        """The chip run's progress: the pipeline's stage weights; a stage of its own keeps the last value."""
        if stage in _RUN_STAGES:
            self._chip_progress = max(self._chip_progress, overall_fraction(stage, fraction))
        return self._chip_progress

    def _record(self, stage: str, progress: float, message: str) -> None:
        with transaction.atomic():
            job = Job.objects.select_for_update().only("status", "progress").get(pk=self.job.pk)
            if job.status != Job.Status.RUNNING:
                raise Cancelled("The job is no longer running.")
            stamp = timezone.now()
            ChipRun.objects.filter(pk=self.chip.pk).update(
                stage=stage, progress=progress, message=message, heartbeat=stamp
            )
            mean = ChipRun.objects.filter(job_id=self.job.pk).aggregate(mean=Avg("progress"))["mean"] or 0.0
            overall = max(job.progress, round(CHIPS_SHARE * mean, 4))
            text = f"chip {self.chip.index + 1}/{self.count}: {message}"[:500]
            Job.objects.filter(pk=self.job.pk).update(
                stage=stage, progress=overall, message=text, updated=stamp, heartbeat=stamp
            )
            JobEvent.objects.create(job=self.job, stage=stage, progress=overall, message=text)
