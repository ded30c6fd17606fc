"""``manage.py rs3d_worker``: django-tasks-db's ``db_worker`` plus the lost-job check and database outages.

Takes the same options as ``db_worker``. At start-up, and then every half lease in a background
thread, it fails the running jobs and trainings whose worker stopped beating
(:mod:`backend.jobs.lease`, :mod:`backend.models_registry.lease`), so a job whose worker was killed
does not stay "running" for ever, even if nobody looks at it.

``db_worker`` exits when a poll for tasks finds the database unreachable; this worker logs the outage,
waits and polls again, so a database restart does not take the workers down with it. A task running
meanwhile retries its own writes (:mod:`backend.runtime.dbretry`).
"""

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from backend.jobs.lease import fail_lost_jobs
from backend.jobs.services import active_chip_ids, active_job_ids
from backend.models_registry.lease import fail_lost_trainings
from backend.models_registry.services import active_training_ids
from backend.runtime.lease import lease_seconds

logger = logging.getLogger(__name__)

_OUTAGE_PAUSES = (0.5, 1.0, 2.0, 5.0)  # seconds between polls while the database is unreachable


class Command(DbWorkerCommand):
    """Run a database background worker that also fails lost jobs and outlasts database outages."""

    help = "Run rs3d's background worker (db_worker plus the lost-job check)."

    def handle(self, *args: Any, **options: Any) -> None:
        """Check once, start the periodic check, then work like ``db_worker`` until stopped."""
        _check()
        stop = threading.Event()
        checker = threading.Thread(target=_check_every, args=(lease_seconds() / 2, stop), daemon=True)
        checker.start()
        try:
            _work_through_outages(lambda: super(Command, self).handle(*args, **options), options)
        finally:
            stop.set()


def _work_through_outages(work: Callable[[], None], options: dict[str, Any]) -> None:
    """Run ``work`` (the db_worker loop); when it stops on an unreachable database, wait and run it again."""
    failures, last_failure = 0, 0.0
    while True:
        try:
            work()
            return
        except (OperationalError, InterfaceError) as err:
            if time.monotonic() - last_failure > 2 * _OUTAGE_PAUSES[-1]:  # a new outage, not the same one
                failures = 0
                logger.warning("database unavailable (%s); polling again until it is back", str(err).strip()[:200])
            pause = _OUTAGE_PAUSES[min(failures, len(_OUTAGE_PAUSES) - 1)]
            failures, last_failure = failures + 1, time.monotonic()
            options["startup_delay"] = False
            with contextlib.suppress(Exception):
                connection.close()
            time.sleep(pause)


def _check_every(seconds: float, stop: threading.Event) -> None:
    try:
        while not stop.wait(seconds):
            _check()
    finally:
        connection.close()


def _check() -> None:
    try:
        close_old_connections()
        lost = fail_lost_jobs(exclude=active_job_ids(), exclude_chips=active_chip_ids())
        lost_trainings = fail_lost_trainings(exclude=active_training_ids())
    except (OperationalError, InterfaceError) as err:
        logger.warning("the lost-job check could not reach the database (%s); trying again later", err)
        return
    except Exception:
        logger.exception("the lost-job check failed; trying again later")
        return
    if lost:
        logger.warning("marked lost jobs failed: %s", ", ".join(map(str, lost)))
    if lost_trainings:
        logger.warning("marked lost trainings failed: %s", ", ".join(map(str, lost_trainings)))
