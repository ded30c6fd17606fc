"""App config for the viewer."""

from django.apps import AppConfig


class ViewerConfig(AppConfig):
    """HTML pages and area data."""

    name = "backend.viewer"
    label = "viewer"
