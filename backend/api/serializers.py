"""Serializers: what the API accepts and returns."""

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from backend.areas.models import Area, Layer
from backend.jobs.models import Job
from backend.jobs.serialize import job_state


class AreaCreateSerializer(serializers.Serializer):
    """A new area: multipart form with the files."""

    name = serializers.CharField(max_length=200)
    ortho = serializers.FileField(help_text="orthophoto GeoTIFF, RGB or RGB+NIR, 8 or 16 bit")
    dsm = serializers.FileField(required=False, help_text="digital surface model GeoTIFF, metres")
    lidar = serializers.FileField(required=False, help_text="LiDAR point cloud, LAS or LAZ")
    epsg = serializers.IntegerField(
        required=False, min_value=1024, max_value=999999, help_text="EPSG code for files that carry no CRS"
    )


class JobSerializer(serializers.ModelSerializer):
    """A job's state."""

    class Meta:
        model = Job
        fields = [
            "id",
            "area",
            "status",
            "stage",
            "progress",
            "message",
            "error",
            "warnings",
            "version",
            "created",
            "started",
            "finished",
        ]
        read_only_fields = fields


class AreaSerializer(serializers.ModelSerializer):
    """An area with its current published version, layers and imagery (the viewer's contract)."""

    version = serializers.SerializerMethodField()
    crs = serializers.SerializerMethodField()
    bbox_wgs84 = serializers.SerializerMethodField()
    height_offset_m = serializers.SerializerMethodField()
    imagery = serializers.SerializerMethodField()
    layers = serializers.SerializerMethodField()
    features_url = serializers.SerializerMethodField()
    latest_job = serializers.SerializerMethodField()
    view_url = serializers.SerializerMethodField()

    class Meta:
        model = Area
        fields = [
            "id",
            "name",
            "status",
            "created",
            "epsg",
            "crs",
            "version",
            "bbox_wgs84",
            "height_offset_m",
            "imagery",
            "layers",
            "features_url",
            "latest_job",
            "view_url",
        ]
        read_only_fields = fields

    def get_version(self, area: Area) -> int | None:
        """Current published version number."""
        return area.current.version if area.current else None

    def get_crs(self, area: Area) -> str | None:
        """Working CRS of the current version."""
        return area.current.crs if area.current else None

    def get_bbox_wgs84(self, area: Area) -> list[float] | None:
        """[west, south, east, north] in degrees."""
        return list(area.current.bbox.extent) if area.current else None

    def get_height_offset_m(self, area: Area) -> float | None:
        """Shift for 3D layers so the ground meets imagery draped on the ellipsoid (minus the median ground)."""
        return -float(area.current.manifest["ground_height_m"]) if area.current else None

    def get_imagery(self, area: Area) -> dict[str, Any] | None:
        """The orthophoto image and its rectangle."""
        if not area.current:
            return None
        ortho = area.current.manifest["imagery"]["ortho"]
        return {"url": _data_url(area, ortho["path"]), "rectangle": ortho["rectangle_wgs84"]}

    def get_layers(self, area: Area) -> list[dict[str, Any]]:
        """3D layers with their tileset URLs; point clouds also list their ASPRS classes with point counts."""
        if not area.current:
            return []
        point_classes = area.current.manifest.get("stats", {}).get("point_classes", {})
        layers = []
        for layer in area.current.layers.all():
            entry = {"name": layer.name, "kind": layer.kind, "title": layer.title}
            entry["tileset_url"] = _data_url(area, layer.tileset)
            if layer.kind == Layer.Kind.POINTCLOUD:
                entry["classes"] = point_classes
            layers.append(entry)
        return layers

    def get_features_url(self, area: Area) -> str:
        """GeoJSON features of the current version."""
        return reverse("api:area-features", args=[area.pk])

    def get_latest_job(self, area: Area) -> dict[str, Any] | None:
        """The most recent job's state."""
        job = area.jobs.order_by("-created").first()
        return job_state(job) if job else None

    def get_view_url(self, area: Area) -> str:
        """The 3D viewer page."""
        return reverse("viewer:area-view", args=[area.pk])


def _data_url(area: Area, path: str) -> str:
    assert area.current is not None
    return reverse("viewer:area-data", args=[area.pk, area.current.version, path])
