"""The heartbeat lease: how a worker shows it is alive, and when a silent one counts as lost.

While its child process runs, a worker stamps the ``heartbeat`` of the row it works for (a job, a chip, a
training) every :func:`heartbeat_seconds`. A row still running whose last sign of life (its heartbeat,
else its start) is older than the lease (``RS3D_JOB_LEASE_SECONDS``, 60 s by default) lost its worker:
killed, out of memory, machine gone. The lease, the stamp, the silence, the error the user reads and the
queue's task row are the same for every kind of row and are said here; what failing a lost one means is
the app's: :mod:`backend.jobs.lease` for jobs and their chips, :mod:`backend.models_registry.lease` for
trainings.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Model, Q
from django.utils import timezone


class WorkerLost(Exception):
    """Recorded on the queue's task row of a job, chip or training whose worker stopped responding."""


def lease_seconds() -> float:
    """How long a running job may go without a heartbeat before it counts as lost."""
    return float(settings.RS3D_JOB_LEASE_SECONDS)


def lease_limit() -> datetime:
    """The moment before which a last sign of life means the worker is lost."""
    return timezone.now() - timedelta(seconds=lease_seconds())


def heartbeat_seconds() -> float:
    """How often a worker stamps its running job: a quarter of the lease, between 0.5 and 10 s."""
    return min(10.0, max(0.5, lease_seconds() / 4))


def beat(model: type[Model], pk: int) -> bool:
    """Stamp the heartbeat of row ``pk`` of ``model`` (a job, a chip, a training) now, if it is still running.

    ``model`` has a ``heartbeat`` and a ``status`` whose running value is ``model.Status.RUNNING``.

    Returns:
        False if the row is no longer running (cancelled, or already declared lost).
    """
    rows = model.objects.filter(pk=pk, status=model.Status.RUNNING)  # type: ignore[attr-defined]
    return bool(rows.update(heartbeat=timezone.now()))


def silent_since(limit: datetime) -> Q:
    """A job, chip or training whose last sign of life (heartbeat, else start) is older than ``limit``."""
    return Q(heartbeat__lt=limit) | Q(heartbeat__isnull=True, started__lt=limit)


def silence(last_sign: datetime | None, limit: datetime) -> float | None:
    """Seconds without a sign of life since ``last_sign`` if it is older than ``limit`` (lost); None if alive."""
    if last_sign is None or last_sign >= limit:
        return None
    return (timezone.now() - last_sign).total_seconds()


def lost_error(worker: str, where: str, silent: float, outcome: str) -> str:
    """What the user reads about a lost worker: ``worker`` stopped at ``where``, silent that long; ``outcome``."""
    return (
        f"{worker} stopped responding at {where} (no sign of life for {silent:.0f} s: the process or its "
        f"machine was stopped or ran out of memory). {outcome}"
    )


def fail_task_row(task_id: str, error: str) -> None:
    """Mark the queue's row of the task failed, so the queue agrees with the job."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    if not task_id:
        return
    row = DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.RUNNING).first()
    if row is not None:
        row.set_failed(WorkerLost(error))
