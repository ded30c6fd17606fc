"""``/api/models/``: the networks an area can be reconstructed with, shipped and trained on users' areas.

Shipped models are listed by name for everyone; a trained version is seen by its owner and by whoever
may see its source area (others answer 404, like one that does not exist).
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from backend.api.serializers import ModelVersionSerializer
from backend.models_registry.catalog import shipped_models, visible_versions


class ModelViewSet(viewsets.ViewSet):
    """Shipped networks (``id`` = their name) and the trained versions you may see (``id`` = a number)."""

    lookup_value_regex = "[^/]+"

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def list(self, request: Request) -> Response:
        """Shipped models first, then the trained versions you may see, newest first."""
        versions = ModelVersionSerializer(visible_versions(request.user).order_by("-created"), many=True).data
        return Response([*(_shipped(name) for name in shipped_models()), *versions])

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        """One model: a shipped name, or a trained version's id with its status and held-out scores."""
        if pk in shipped_models():
            return Response(_shipped(pk))
        version = visible_versions(request.user).filter(pk=int(pk)).first() if pk and pk.isdigit() else None
        if version is None:
            raise NotFound("No such model.")
        return Response(ModelVersionSerializer(version).data)


def _shipped(name: str) -> dict[str, Any]:
    return {"id": name, "shipped": True, "name": name, "status": "succeeded"}
