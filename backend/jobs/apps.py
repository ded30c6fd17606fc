"""App config for jobs."""

from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Reconstruction jobs and progress events."""

    name = "backend.jobs"
    label = "jobs"
    default_auto_field = "django.db.models.BigAutoField"
