"""``/api/areas/``: list, create (multipart upload), retrieve, and the features of an area."""

from django.contrib.gis.geos import Polygon
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from backend.api.serializers import AreaCreateSerializer, AreaSerializer, JobSerializer
from backend.areas.features import feature_collection
from backend.areas.models import Area
from backend.areas.uploads import AreaUpload, UploadRejected, create_area
from backend.jobs.services import start_job


class AreaViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Areas: upload one, follow it, read its 3D layers and features."""

    queryset = Area.objects.select_related("current").order_by("-created")
    serializer_class = AreaSerializer
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=AreaCreateSerializer, responses={201: AreaSerializer})
    def create(self, request: Request) -> Response:
        """Upload an area's files; they are validated at once and a reconstruction job starts."""
        incoming = AreaCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        upload = AreaUpload(
            name=data["name"], ortho=data["ortho"], dsm=data.get("dsm"), lidar=data.get("lidar"), epsg=data.get("epsg")
        )
        try:
            with transaction.atomic():
                area, warnings = create_area(upload)
                job = start_job(area)
        except UploadRejected as err:
            raise ValidationError({err.field or "non_field_errors": [str(err)]}) from err
        body = {**AreaSerializer(area).data, "warnings": warnings, "job": JobSerializer(job).data}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("class", OpenApiTypes.STR, description="feature class: building, tree or low_vegetation"),
            OpenApiParameter("bbox", OpenApiTypes.STR, description="west,south,east,north in degrees (WGS 84)"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"])
    def features(self, request: Request, pk: str | None = None) -> Response:
        """The current version's features as a GeoJSON FeatureCollection."""
        area = self.get_object()
        kind = request.query_params.get("class") or request.query_params.get("kind")
        bbox = _parse_bbox(request.query_params.get("bbox"))
        return Response(feature_collection(area, kind=kind, bbox=bbox))


def _parse_bbox(text: str | None) -> Polygon | None:
    if not text:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError as err:
        raise ValidationError({"bbox": ["Give bbox as west,south,east,north in degrees."]}) from err
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise ValidationError({"bbox": ["bbox must be west<east and south<north, within -180..180 / -90..90."]})
    return Polygon.from_bbox((west, south, east, north))
