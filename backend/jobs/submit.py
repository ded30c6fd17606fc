"""Submitting a new area: the one service behind the upload page and ``POST /api/areas/``.

Both take the fields of :class:`backend.api.serializers.AreaCreateSerializer` (the page's form is built from
them). Submitting picks the model, takes the files sent whole or earlier in chunks, checks and stores them as
an area and queues its first job. It lives in ``jobs`` because it ends by queueing a job: areas never
import the apps built on them (see :mod:`backend`).
"""

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser

from backend.areas.models import Area
from backend.areas.staging import staged_sources
from backend.areas.uploads import AreaUpload, UploadRejected, create_area
from backend.jobs.services import start_job
from backend.models_registry.catalog import UnknownModel, resolve_choice


def submit_area(fields: Mapping[str, Any], data: Mapping[str, Any], owner: AbstractBaseUser) -> tuple[Area, list[str]]:
    """Check and store a new area of ``owner`` and queue its first job.

    Args:
        fields: the validated fields: a form's ``cleaned_data`` or a serializer's ``validated_data``.
        data: the request's raw data, where files sent earlier in chunks are named (``<field>_upload``).
        owner: who uploads; the area is private to them until they share it.

    Returns:
        The area and warnings for the user.

    Raises:
        UploadRejected: an unknown model, a staged file that is not complete or not the owner's, or any
            refusal of :func:`backend.areas.uploads.create_area`; ``field`` names the field at fault.
            Nothing is kept, and staged files stay for the next try.
        ChecksBusy: the server was checking other uploads for too long; nothing was kept.
    """
    try:
        model, model_version = resolve_choice(owner, fields.get("model") or "")
    except UnknownModel as err:
        raise UploadRejected(str(err), "model") from err
    with staged_sources(data, owner) as staged:
        upload = AreaUpload.from_cleaned({**fields, **staged}, model, model_version)
        return create_area(upload, owner=owner, on_stored=start_job)
