"""Deleting an area, or one of its versions, with its files (owners and staff; page and API alike).

It lives in ``jobs`` because an area in use may not go: not while a job runs on it, nor while a model
trains on its files. Rows go first, in one transaction; the files follow only once it has committed, so a
delete that fails keeps every file, and one that succeeds leaves no orphan folder behind.
"""

import logging
import shutil
from pathlib import Path

from django.db import transaction

from backend.areas.models import Area
from backend.jobs.lease import expire_if_lost
from backend.jobs.models import Job
from backend.models_registry.models import ModelVersion

logger = logging.getLogger(__name__)


class AreaInUse(Exception):  # noqa: N818 - reads as what the area is
    """A job runs on the area or a model trains on it; str() says which and what to do."""


def delete_area(area: Area) -> None:
    """Delete ``area``: its versions, features, jobs, uploaded sources and every file under its folder.

    Models trained on it stay usable (their weights live outside the area's folder).

    Raises:
        AreaInUse: a job is queued or running on it (cancel it first) or a model is training on it.
    """
    with transaction.atomic():
        area = Area.objects.select_for_update().get(pk=area.pk)
        _refuse_while_in_use(area)
        folder = area.folder
        area.delete()
        transaction.on_commit(lambda: _remove(folder))


def delete_version(area: Area, version: int) -> None:
    """Delete version ``version`` of ``area`` and its files; the newest remaining version becomes current.

    Its number is never given to a later version (see ``Area.last_version``).

    Raises:
        Publication.DoesNotExist: the area has no such version.
    """
    with transaction.atomic():
        area = Area.objects.select_for_update().get(pk=area.pk)
        publication = area.publications.get(version=version)
        folder = publication.folder
        if area.current_id == publication.pk:
            area.current = area.publications.exclude(pk=publication.pk).order_by("-version").first()
            if area.current is None and area.status == Area.Status.READY:
                area.status = Area.Status.EMPTY
            area.save(update_fields=["current", "status"])
        publication.delete()
        transaction.on_commit(lambda: _remove(folder))


def _refuse_while_in_use(area: Area) -> None:
    for job in area.jobs.filter(status__in=Job.ACTIVE):
        if not expire_if_lost(job).is_finished:  # a job whose worker died does not hold the area
            raise AreaInUse(
                f"Job {job.pk} is {job.status} on this area: cancel it, or wait for it to finish, then delete."
            )
    training = area.model_versions.filter(status__in=[ModelVersion.Status.QUEUED, ModelVersion.Status.RUNNING])
    if (model := training.first()) is not None:
        raise AreaInUse(f"Model {model.pk} is training on this area's files: wait for it to finish, then delete.")


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    if folder.exists():
        logger.error("could not remove all of %s after its rows were deleted", folder)
