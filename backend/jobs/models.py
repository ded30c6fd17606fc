"""A reconstruction job, the log of its progress and, for a large area, its chips."""

from django.db import models
from django.utils import timezone

from backend.areas.models import Area


class Job(models.Model):
    """One run of the reconstruction pipeline for an area."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)
    #: An area has at most one job in these states (see backend.jobs.services.start_job).
    ACTIVE = (Status.QUEUED, Status.RUNNING)

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="jobs")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=50, blank=True)
    progress = models.FloatField(default=0.0, help_text="0..1 over the whole run")
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True, help_text="why the job failed, in words for the user")
    warnings = models.JSONField(default=list)
    task_id = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(null=True, blank=True, help_text="the version it published")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(
        null=True, blank=True, help_text="last sign of life from the worker running it (see backend.jobs.lease)"
    )
    merge_started = models.DateTimeField(
        null=True, blank=True, help_text="when a worker took the merge of its chips (chipped jobs only)"
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        """True once the job can change no more."""
        return self.status in self.FINISHED


class JobEvent(models.Model):
    """One progress message of a job, kept as its log."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    time = models.DateTimeField(auto_now_add=True)
    stage = models.CharField(max_length=50)
    progress = models.FloatField()
    message = models.CharField(max_length=500)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.stage} {self.progress:.0%} {self.message}"


class ChipRun(models.Model):
    """One chip of a large area's job: an overlapping part of the area, reconstructed by its own task.

    ``index`` counts from 0 in the plan's order; messages for people count chips from 1 ("chip 1 of 4").
    A chip runs once: only a queued chip of a running job can be taken (see :mod:`backend.jobs.chips`).
    """

    Status = Job.Status

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chips")
    index = models.PositiveIntegerField(help_text="position in the job's chip plan, from 0")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    worker = models.CharField(max_length=200, blank=True, help_text="hostname:pid of the process that took it")
    progress = models.FloatField(default=0.0, help_text="0..1 over the chip's run")
    stage = models.CharField(max_length=50, blank=True)
    message = models.CharField(max_length=500, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True, help_text="last sign of life from its worker")
    warnings = models.JSONField(default=list, help_text="the chip run's warnings, shown with the job's once merged")

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="unique_chip_index_per_job")]

    def __str__(self) -> str:
        return f"chip {self.index} of job {self.job_id} ({self.status})"

    @classmethod
    def cancel_queued(cls, job_id: int) -> int:
        """Mark the job's chips that no worker has taken yet cancelled (the job ended); how many there were."""
        return cls.objects.filter(job_id=job_id, status=cls.Status.QUEUED).update(
            status=cls.Status.CANCELLED, finished=timezone.now()
        )
