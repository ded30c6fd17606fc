"""``/api/uploads/``: resumable uploads of large files in chunks (protocol in backend.areas.staging).

Each user sees only their own staged files; another user's id answers 404 like one that does not exist.
"""

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from backend.api.serializers import StagedUploadCreateSerializer, StagedUploadSerializer
from backend.areas.models import StagedUpload
from backend.areas.staging import StagingError, append_chunk, delete, start_upload


class StagingRefused(APIException):
    """A StagingError as an API answer with its status."""

    def __init__(self, err: StagingError) -> None:
        super().__init__(detail=str(err))
        self.status_code = err.status


class StagedUploadViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Your resumable uploads: start one, send its chunks in order, ask where to resume, delete it."""

    serializer_class = StagedUploadSerializer
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]  # chunks are read raw from the request stream, never parsed

    def get_queryset(self) -> QuerySet[StagedUpload]:
        """The requesting user's staged uploads."""
        return StagedUpload.objects.filter(owner=self.request.user).order_by("-created")

    @extend_schema(request=StagedUploadCreateSerializer, responses={201: StagedUploadSerializer})
    def create(self, request: Request) -> Response:
        """Announce a file (name, size in bytes); send its bytes with PUT to the returned id."""
        incoming = StagedUploadCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            staged = start_upload(request.user, incoming.validated_data["filename"], incoming.validated_data["size"])
        except StagingError as err:
            raise StagingRefused(err) from err
        return Response(StagedUploadSerializer(staged).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={"application/octet-stream": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter(
                "Content-Range",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="bytes <first>-<last>/<size>; <first> must be the bytes received so far",
            )
        ],
        responses={200: StagedUploadSerializer},
    )
    def update(self, request: Request, pk: str | None = None) -> Response:
        """Append the next chunk (at most 64 MB); 409 says from which byte to resume."""
        staged = self.get_object()
        django_request = request._request  # the raw stream: DRF's parsers would read the chunk into memory
        length = int(django_request.META.get("CONTENT_LENGTH") or 0)
        try:
            staged = append_chunk(staged, django_request.headers.get("Content-Range"), django_request, length)
        except StagingError as err:
            raise StagingRefused(err) from err
        return Response(StagedUploadSerializer(staged).data)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Give up an upload and remove its bytes."""
        delete(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
