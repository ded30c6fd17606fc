"""A network version trained on one area (``python -m reconstruction finetune``), and its held-out scores."""

from pathlib import Path

from django.conf import settings
from django.db import models


class ModelVersion(models.Model):
    """A model fine-tuned on an area with an orthophoto and LiDAR; usable for other areas once it succeeded."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Training"
        SUCCEEDED = "succeeded", "Ready"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=100, blank=True, help_text="network name, e.g. citynet-v1 (set when trained)")
    version = models.CharField(max_length=200, blank=True, help_text="version string written into the weights")
    base = models.CharField(max_length=100, default="citynet-v1", help_text="shipped model training started from")
    steps = models.PositiveIntegerField(default=300)
    weights = models.CharField(max_length=500, blank=True, help_text="weights file relative to MEDIA_ROOT")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    area = models.ForeignKey(
        "areas.Area", null=True, blank=True, on_delete=models.SET_NULL, related_name="model_versions"
    )
    card = models.JSONField(default=dict, help_text='held-out east block scores: {"before": {...}, "after": {...}}')
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0, help_text="0..1 of the training steps")
    stage = models.CharField(max_length=50, blank=True, help_text="start, finetune or evaluate while training")
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True, help_text="why training failed, in words for the user")
    task_id = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(
        null=True, blank=True, help_text="last sign of life from the worker training it (see models_registry.lease)"
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.label} (#{self.pk})"

    @property
    def label(self) -> str:
        """Name and version, or what it will be while training."""
        return f"{self.name} {self.version}" if self.name else f"{self.base} fine-tuned (#{self.pk})"

    @property
    def weights_file(self) -> Path:
        """Absolute path of the weights file (``MEDIA_ROOT/models/<id>.pt``)."""
        return Path(settings.MEDIA_ROOT) / "models" / f"{self.pk}.pt"

    @property
    def partial_weights_file(self) -> Path:
        """Where the training child writes the weights; renamed to :attr:`weights_file` once it succeeded."""
        return Path(settings.MEDIA_ROOT) / "models" / ".partial" / f"{self.pk}.pt"

    @property
    def is_usable(self) -> bool:
        """Whether areas can be reconstructed with it."""
        return self.status == self.Status.SUCCEEDED and bool(self.weights)
