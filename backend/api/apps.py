"""App config for the API."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """JSON endpoints under /api/."""

    name = "backend.api"
    label = "api"
