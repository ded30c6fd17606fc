"""Lost training workers: the heartbeat of a running training, and failing the ones whose worker stopped.

The same lease as reconstruction jobs (:mod:`backend.runtime.lease`, ``RS3D_JOB_LEASE_SECONDS``): while its
finetune child runs, a worker stamps ``ModelVersion.heartbeat`` every quarter lease. A version still
*training* whose last stamp is older than the lease lost its worker; :func:`fail_lost_trainings` (run by
every ``rs3d_worker`` with the job check) marks it failed with the stage it stopped at, deletes its
partial weights and fails its queue row. Its weights were never renamed into place, so nothing half
trained is ever usable; a retry (:func:`backend.models_registry.services.retry_training`) trains anew.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from backend.models_registry.models import ModelVersion
from backend.runtime.lease import fail_task_row, lease_limit, lost_error, silence, silent_since

logger = logging.getLogger(__name__)


def fail_lost_trainings(exclude: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """Mark every training whose heartbeat is older than the lease as failed.

    Args:
        exclude: ids of the versions the calling process trains itself (alive by definition).

    Returns:
        The ids of the versions marked failed.
    """
    limit = lease_limit()
    candidates = ModelVersion.objects.filter(silent_since(limit), status=ModelVersion.Status.RUNNING).exclude(
        pk__in=exclude
    )
    return [pk for pk in candidates.values_list("pk", flat=True) if _fail_if_stale(pk, limit)]


def _fail_if_stale(version_id: int, limit: datetime) -> bool:
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None or version.status != ModelVersion.Status.RUNNING:
            return False
        silent = silence(version.heartbeat or version.started, limit)
        if silent is None:
            return False
        stage = version.stage or "start"
        outcome = "No model was saved; retry the training."
        error = lost_error("The worker", f"the '{stage}' stage of the training", silent, outcome)
        ModelVersion.objects.filter(pk=version.pk).update(
            status=ModelVersion.Status.FAILED, error=error, message="Failed", finished=timezone.now()
        )
        fail_task_row(version.task_id, error)
    logger.warning("training of model version %s lost its worker at stage %s; marked failed", version_id, stage)
    version.partial_weights_file.unlink(missing_ok=True)
    version.weights_file.unlink(missing_ok=True)  # renamed in place just before the worker died
    return True
