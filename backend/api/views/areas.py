"""``/api/areas/``: list, create (multipart upload), retrieve, share (PATCH), train a model, and features.

Every query goes through ``visible_areas``: an area the user may not see answers 404, like one that does
not exist.
"""

from django.contrib.gis.geos import Point, Polygon
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from backend.api.parsers import MultiPartParser
from backend.api.renderers import GeoJSONRenderer
from backend.api.serializers import (
    AreaCreateSerializer,
    AreaSerializer,
    AreaSharingSerializer,
    JobSerializer,
    ModelVersionSerializer,
    TrainSerializer,
)
from backend.api.throttles import ChecksBusyError, UploadRateLimited
from backend.areas.features import FEATURE_CLASSES, UnknownFilter, feature_collection
from backend.areas.models import Area, Publication
from backend.areas.permissions import can_edit, set_sharing, visible_areas
from backend.areas.uploads import UploadRejected
from backend.jobs.removal import AreaInUse, delete_area, delete_version
from backend.jobs.submit import submit_area
from backend.models_registry.services import CannotTrain, start_training
from backend.runtime.checkslots import ChecksBusy
from backend.serving import feature_answers, feature_grants


class AreaViewSet(UploadRateLimited, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Areas: upload one, follow it, read its 3D layers and features."""

    serializer_class = AreaSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self) -> QuerySet[Area]:
        """The areas the requesting user may see."""
        areas = Area.objects.select_related("current", "owner").order_by("-created")
        return visible_areas(self.request.user, areas)

    upload_rate_actions = ("create",)  # uploads count; reading does not
    #: Set for each features request by perform_authentication (backend.serving.feature_grants).
    remembered: feature_grants.Remembered | None = None
    decided_under: int | None = None

    @extend_schema(request=AreaCreateSerializer, responses={201: AreaSerializer})
    def create(self, request: Request) -> Response:
        """Upload an area's files (logged-in users); they are validated at once and a reconstruction job starts.

        The new area belongs to the uploader and is private until its owner shares it.
        """
        incoming = AreaCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            area, warnings = submit_area(incoming.validated_data, request.data, request.user)
        except UploadRejected as err:
            raise ValidationError({err.field or "non_field_errors": [str(err)]}) from err
        except ChecksBusy as err:
            raise ChecksBusyError(str(err), err.retry_after) from err
        area_data = AreaSerializer(area, context=self.get_serializer_context()).data
        body = {**area_data, "warnings": warnings, "job": JobSerializer(area.jobs.get()).data}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=AreaSharingSerializer, responses={200: AreaSerializer})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change who sees the area (its owner or staff): ``visibility``, ``shared_users``, ``shared_groups``."""
        area = self._editable(request, "change who sees it")
        incoming = AreaSharingSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        set_sharing(
            area,
            data.get("visibility", area.visibility),
            users=data.get("shared_users"),
            groups=data.get("shared_groups"),
        )
        return Response(self.get_serializer(area).data)

    @extend_schema(responses={204: None, 409: OpenApiTypes.OBJECT})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Delete the area with its versions, jobs and files (its owner or staff).

        409 while a job is queued or running on it (cancel it first) or a model is training on it.
        """
        area = self._editable(request, "delete it")
        try:
            delete_area(area)
        except AreaInUse as err:
            return Response({"detail": str(err)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"versions/(?P<version>\d+)")
    def destroy_version(self, request: Request, pk: str | None = None, version: str = "") -> Response:
        """Delete one version and its files (its owner or staff); the newest remaining version becomes current."""
        area = self._editable(request, "delete its versions")
        try:
            delete_version(area, int(version))
        except Publication.DoesNotExist as err:
            raise NotFound(f"This area has no version {version}.") from err
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _editable(self, request: Request, action: str) -> Area:
        """The area if the user may change it; 404 if they may not see it, 403 if they may only look."""
        area = self.get_object()
        if not can_edit(request.user, area):
            raise PermissionDenied(f"Only the owner of this area can {action}.")
        return area

    @extend_schema(request=TrainSerializer, responses={202: ModelVersionSerializer})
    @action(detail=True, methods=["post"])
    def train(self, request: Request, pk: str | None = None) -> Response:
        """Train a model on this area (its owner or staff; the area needs an orthophoto and LiDAR).

        Training runs in the background; follow it at ``/api/models/<id>/``.
        """
        area = self._editable(request, "train a model on it")
        incoming = TrainSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                version = start_training(area, request.user, steps=incoming.validated_data["steps"])
        except CannotTrain as err:
            raise ValidationError({"non_field_errors": [str(err)]}) from err
        return Response(ModelVersionSerializer(version).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "class",
                OpenApiTypes.STR,
                description="feature class, or several separated by commas (class=road,water): "
                f"{', '.join(FEATURE_CLASSES)} (another answers 400, naming them)",
            ),
            OpenApiParameter("bbox", OpenApiTypes.STR, description="west,south,east,north in degrees (WGS 84)"),
            OpenApiParameter("point", OpenApiTypes.STR, description="longitude,latitude: features at this point"),
            OpenApiParameter(
                "where",
                OpenApiTypes.STR,
                many=True,
                description="attribute condition, repeatable: height_m>=20, grade=primary, floors!=1 "
                "(operators >= <= > < = !=; numbers compare as numbers; an attribute that no feature of the "
                "area has answers 400, naming those it has)",
            ),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"], renderer_classes=[*api_settings.DEFAULT_RENDERER_CLASSES, GeoJSONRenderer])
    def features(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The current version's features as a GeoJSON FeatureCollection (gzip when asked, ETag/304).

        A published version never changes, so the version and the query string make the ETag, and each
        (version, query) answer is computed once per process and then sent from memory
        (``backend.serving.feature_answers``). A credential this process already let read the area is answered
        without the database at all (``backend.serving.feature_grants``, while no change of who sees what came
        in between); anyone else is decided from the rows, as before.
        """
        if (remembered := self.remembered) is not None:
            feature_grants.as_if_authenticated(request._request)
            etag = feature_answers.etag(remembered.current_id, request.META.get("QUERY_STRING", ""))
            not_modified = get_conditional_response(request._request, etag=etag)
            if not_modified is not None:
                return not_modified
            found = feature_answers.cached(remembered.publication, _feature_query(request))
            if found is not None:
                return feature_answers.respond(request._request, found, etag=etag, public=remembered.public)
        area = self.get_object()  # authenticates here when perform_authentication left it to the view
        feature_grants.remember(request._request, area, self.decided_under)
        etag = feature_answers.etag(area.current_id, request.META.get("QUERY_STRING", ""))
        not_modified = get_conditional_response(request._request, etag=etag)
        if not_modified is not None:
            return not_modified
        query = _feature_query(request)

        def compute() -> str:
            bbox = Polygon.from_bbox(query.bbox) if query.bbox else None
            point = Point(*query.point) if query.point else None
            try:
                return feature_collection(
                    area, classes=query.classes, bbox=bbox, point=point, conditions=list(query.conditions)
                )
            except UnknownFilter as err:
                raise ValidationError({err.param: [str(err)]}) from err

        if area.current is None:  # nothing published: nothing to keep
            found = feature_answers.Answer.from_text(compute())
        else:
            found = feature_answers.answer(feature_grants.publication_key(area.current), query, compute)
        public = area.visibility == Area.Visibility.PUBLIC
        return feature_answers.respond(request._request, found, etag=etag, public=public)

    def perform_authentication(self, request: Request) -> None:
        """For features, first look for this credential's remembered "yes" (then no user lookup at all)."""
        if self.action == "features":
            self.decided_under = feature_grants.generation()  # before any check: a later revocation voids it
            pk = self.kwargs.get("pk", "")
            if pk.isascii() and pk.isdigit():
                headers = feature_grants.credential_headers(request._request)
                self.remembered = feature_grants.recall(headers, int(pk), self.decided_under)
            if self.remembered is not None:
                return  # the view answers from memory, or authenticates when it must read the rows
        super().perform_authentication(request)


def _feature_query(request: Request) -> feature_answers.FeatureQuery:
    """The request's filters, checked (400 naming the parameter) and in the form answers are kept under."""
    try:
        return feature_answers.FeatureQuery.parse(request.query_params)
    except feature_answers.BadQuery as err:
        raise ValidationError({err.param: [str(err)]}) from err
