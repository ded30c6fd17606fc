"""App config for areas."""

from typing import Any

from django.apps import AppConfig
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created


class AreasConfig(AppConfig):
    """Areas, their sources, publications, layers and features."""

    name = "backend.areas"
    label = "areas"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Keep SQLite's lock wait at the configured timeout on every new connection."""
        connection_created.connect(restore_busy_timeout, dispatch_uid="rs3d-busy-timeout")


def restore_busy_timeout(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:  # noqa: ANN401
    """Set ``PRAGMA busy_timeout`` back to ``OPTIONS["timeout"]`` after SpatiaLite has loaded.

    Loading the SpatiaLite extension resets SQLite's busy timeout to 5 s, so with the configured 30 s a
    writer waiting behind another gave up after 5 s with "database is locked" (the load benchmark's
    simultaneous uploads). ``init_command`` runs before the extension loads, hence this signal.
    """
    if connection.vendor != "sqlite":
        return
    seconds = float(connection.settings_dict.get("OPTIONS", {}).get("timeout", 5))
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA busy_timeout = {round(seconds * 1000)}")
