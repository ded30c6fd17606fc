"""App config for areas."""

from django.apps import AppConfig


class AreasConfig(AppConfig):
    """Areas, their sources, publications, layers and features."""

    name = "backend.areas"
    label = "areas"
    default_auto_field = "django.db.models.BigAutoField"
