"""A reconstruction job and the log of its progress."""

from django.db import models

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
