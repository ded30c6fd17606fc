"""``manage.py rs3d_worker``: django-tasks-db's ``db_worker`` plus the lost-job check.

Takes the same options as ``db_worker``. At start-up, and then every half lease in a background
thread, it fails the running jobs whose worker stopped beating (:mod:`backend.jobs.lease`), so a job
whose worker was killed does not stay "running" for ever, even if nobody looks at it.
"""

import logging
import threading
from typing import Any

from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from backend.jobs.lease import fail_lost_jobs, lease_seconds
from backend.jobs.services import active_job_ids

logger = logging.getLogger(__name__)


class Command(DbWorkerCommand):
    """Run a database background worker that also fails jobs whose worker was lost."""

    help = "Run rs3d's background worker (db_worker plus the lost-job check)."

    def handle(self, *args: Any, **options: Any) -> None:
        """Check once, start the periodic check, then work like ``db_worker``."""
        _check()
        stop = threading.Event()
        checker = threading.Thread(target=_check_every, args=(lease_seconds() / 2, stop), daemon=True)
        checker.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()


def _check_every(seconds: float, stop: threading.Event) -> None:
    try:
        while not stop.wait(seconds):
            _check()
    finally:
        connection.close()


def _check() -> None:
    try:
        close_old_connections()
        lost = fail_lost_jobs(exclude=active_job_ids())
    except Exception:
        logger.exception("the lost-job check failed; trying again later")
        return
    if lost:
        logger.warning("marked lost jobs failed: %s", ", ".join(map(str, lost)))
