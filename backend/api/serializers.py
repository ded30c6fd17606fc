"""Serializers: what the API accepts and returns."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework import serializers

from backend.areas.features import class_summary
from backend.areas.models import Z_UNIT_CHOICES, Area, Layer, StagedUpload
from backend.areas.permissions import can_edit
from backend.areas.staging import STAGED_SUFFIX
from backend.jobs.models import Job
from backend.jobs.serialize import chip_states, job_state
from backend.models_registry.models import ModelVersion
from backend.models_registry.services import DEFAULT_STEPS, MAX_STEPS, MIN_STEPS
from reconstruction.config.file_names import SIDECAR_SUFFIXES


class _OneOrMany(serializers.ListField):
    """A list field that also takes one value alone (a client that sends one file, or one staged id, as before)."""

    def to_internal_value(self, data: Any) -> list[Any]:  # noqa: ANN401 - whatever the client sent
        return super().to_internal_value(data if isinstance(data, list | tuple) else [data])


def _staged(field: serializers.Field, name: str) -> serializers.Field:
    """The ``<field>_upload`` twin of a file field: a complete resumable upload's id instead of the file."""
    help_text = f"instead of {name}: the id of a complete /api/uploads/"
    if isinstance(field, serializers.ListField):
        return _OneOrMany(child=serializers.UUIDField(), required=False, help_text=help_text + " (one per file)")
    return serializers.UUIDField(required=False, help_text=help_text)


#: What a file field's chooser offers (``style["accept"]``, the HTML ``accept`` attribute of the upload page).
_SIDECARS = ",".join(s for s in SIDECAR_SUFFIXES if s != ".aux.xml") + ",.xml"
_IMAGES = ".tif,.tiff,.jp2,image/tiff"
_TILES = f".tif,.tiff,.jp2,.jpg,.jpeg,.png,.zip,{_SIDECARS},image/tiff,image/jpeg,image/png"
_STEREO = ".tif,.tiff,.ntf,.nitf"


def _file(label: str, help_text: str = "", accept: str = "") -> serializers.FileField:
    return serializers.FileField(required=False, label=label, help_text=help_text, style={"accept": accept})


def _files(label: str, help_text: str, accept: str) -> serializers.ListField:
    """A field of several files: the tiles of one input, and the sidecars that georeference them."""
    return _OneOrMany(
        child=serializers.FileField(), required=False, label=label, help_text=help_text, style={"accept": accept}
    )


class AreaCreateSerializer(serializers.Serializer):
    """A new area: multipart form with the files.

    The one declaration of an upload's fields: the upload page's form is built from them
    (:class:`backend.viewer.forms.AreaUploadForm`), so labels, help, limits and accepted types match.
    """

    name = serializers.CharField(max_length=200, label="Name", help_text="How planners will find this area.")
    ortho = _files(
        "Orthophoto (one file or several tiles)",
        "RGB or RGB+NIR, 8 or 16 bit, georeferenced: GeoTIFF, JPEG 2000, or JPEG/PNG with its world file "
        "(.jgw, .pgw, .wld), .prj or .aux.xml beside it; a zip of them is fine. Optional with a LiDAR file (its "
        "colours make the orthophoto) or a stereo pair.",
        _TILES,
    )
    dsm = _files(
        "DSM (optional; one file or several tiles)",
        "Surface heights: GeoTIFF or JPEG 2000, with sidecars like the orthophoto's.",
        _TILES,
    )
    lidar = _files(
        "LiDAR (LAS/LAZ/COPC; one file or several tiles)",
        "A point cloud of the area, classified or not, as one file or the tiles it was published in. Alone it "
        "makes a complete area: heights, terrain and classes from the points, the orthophoto from their colours, "
        "cells sized by their density.",
        ".las,.laz",
    )
    epsg = serializers.IntegerField(
        required=False,
        min_value=1024,
        max_value=999999,
        label="EPSG code (only if your files carry no CRS)",
        help_text="For example 2154 for Lambert-93 or 28992 for RD New.",
    )
    footprints = _file(
        "Building footprints (optional)",
        "The map you already have: GeoPackage, GeoJSON, zipped Shapefile or FlatGeobuf of polygons.",
        ".gpkg,.geojson,.json,.zip,.fgb",
    )
    second_image = _file(
        "Second image (GeoTIFF, optional)",
        "Another date or sensor of the same place; it is aligned to the orthophoto by feature matching.",
        _IMAGES,
    )
    register_dsm = serializers.BooleanField(
        default=False,
        label="Align the DSM to the LiDAR",
        help_text="For a DSM that does not line up with the LiDAR (another source or date); needs both files.",
    )
    z_unit = serializers.ChoiceField(
        choices=Z_UNIT_CHOICES,
        required=False,
        allow_blank=True,
        label="Height unit (only if your files state none, or a wrong one)",
        help_text="The unit of the LiDAR's and DSM's heights. Left blank, each file's CRS says it; heights are "
        "always published in metres.",
    )
    stereo_1 = _file(
        "Stereo image 1 (optional)",
        "Satellite images with RPC camera models (GeoTIFF or NITF): a pair, or a triplet, "
        "becomes a DSM (and, without an orthophoto, the orthophoto too).",
        _STEREO,
    )
    stereo_2 = _file("Stereo image 2", accept=_STEREO)
    stereo_3 = _file("Stereo image 3 (optional)", accept=_STEREO)
    model = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        label="Model",
        help_text="The network that predicts classes (and heights without a DSM or LiDAR): a shipped model's "
        "name or the id of a trained model you can see (GET /api/models/).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Refuse several files sent for an input of one file (a form field given twice keeps only the last)."""
        data = self.initial_data
        for name, field in self.fields.items():
            sent = data.getlist(name) if hasattr(data, "getlist") else []
            if isinstance(field, serializers.FileField) and len(sent) > 1:
                raise serializers.ValidationError({name: f"The {field.label} is one file; {len(sent)} were sent."})
        return attrs

    def get_fields(self) -> dict[str, serializers.Field]:
        """The declared fields, and each file field's twin ``<field>_upload``.

        The twin holds the id of a complete resumable upload (``POST /api/uploads/``), sent instead of the file.
        """
        fields = super().get_fields()
        for name, field in list(fields.items()):
            if isinstance(field, serializers.FileField) or isinstance(
                getattr(field, "child", None), serializers.FileField
            ):
                fields[name + STAGED_SUFFIX] = _staged(field, name)
        return fields


class StagedUploadCreateSerializer(serializers.Serializer):
    """Start a resumable upload: the file's name and exact size in bytes."""

    filename = serializers.CharField(max_length=1000)
    size = serializers.IntegerField(min_value=0)


class StagedUploadSerializer(serializers.ModelSerializer):
    """A resumable upload: how many bytes arrived; send the next chunk from ``received``."""

    complete = serializers.BooleanField(read_only=True)

    class Meta:
        model = StagedUpload
        fields = ["id", "filename", "size", "received", "complete", "created", "updated"]
        read_only_fields = fields


class TrainSerializer(serializers.Serializer):
    """Steps of "Train a model on this area" (POST by its owner)."""

    steps = serializers.IntegerField(default=DEFAULT_STEPS, min_value=MIN_STEPS, max_value=MAX_STEPS)


class ModelVersionSerializer(serializers.ModelSerializer):
    """A model trained on an area: its status and the held-out east block's scores before and after."""

    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    shipped = serializers.SerializerMethodField()
    held_out = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "shipped",
            "name",
            "version",
            "base",
            "steps",
            "owner",
            "area",
            "status",
            "progress",
            "message",
            "error",
            "held_out",
            "created",
            "finished",
        ]
        read_only_fields = fields

    def get_shipped(self, version: ModelVersion) -> bool:
        """Always false: trained on a user's area."""
        return False

    def get_held_out(self, version: ModelVersion) -> dict[str, Any] | None:
        """``{"before": {...}, "after": {...}}`` scores (miou, height_mae_m, ...) once trained."""
        return version.card or None


class AreaSharingSerializer(serializers.Serializer):
    """Who sees an area (PATCH by its owner): visibility, and the user and group names of a shared area."""

    visibility = serializers.ChoiceField(choices=Area.Visibility.choices, required=False)
    shared_users = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.filter(is_active=True), many=True, required=False
    )
    shared_groups = serializers.SlugRelatedField(
        slug_field="name", queryset=Group.objects.all(), many=True, required=False
    )


class JobSerializer(serializers.ModelSerializer):
    """A job's state; a large area's job lists its chips (``index``, ``status``, ``worker``, ``progress``)."""

    chips = serializers.SerializerMethodField()

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
            "chips",
        ]
        read_only_fields = fields

    def get_chips(self, job: Job) -> list[dict[str, Any]]:
        """The job's chips in plan order; empty for a job run whole."""
        return chip_states(job)


class AreaSerializer(serializers.ModelSerializer):
    """An area with its current published version, layers and imagery (the viewer's contract)."""

    version = serializers.SerializerMethodField()
    crs = serializers.SerializerMethodField()
    bbox_wgs84 = serializers.SerializerMethodField()
    height_offset_m = serializers.SerializerMethodField()
    height_source = serializers.SerializerMethodField()
    model = serializers.SerializerMethodField()
    imagery = serializers.SerializerMethodField()
    layers = serializers.SerializerMethodField()
    features_url = serializers.SerializerMethodField()
    feature_classes = serializers.SerializerMethodField()
    latest_job = serializers.SerializerMethodField()
    view_url = serializers.SerializerMethodField()
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    sharing = serializers.SerializerMethodField()

    class Meta:
        model = Area
        fields = [
            "id",
            "name",
            "owner",
            "visibility",
            "sharing",
            "status",
            "created",
            "epsg",
            "z_unit",
            "crs",
            "version",
            "bbox_wgs84",
            "height_offset_m",
            "height_source",
            "model",
            "imagery",
            "layers",
            "features_url",
            "feature_classes",
            "latest_job",
            "view_url",
        ]
        read_only_fields = fields

    def get_sharing(self, area: Area) -> dict[str, list[str]] | None:
        """The user and group names a shared area is shown to; only its owner (or staff) reads them."""
        request = self.context.get("request")
        if request is None or not can_edit(request.user, area):
            return None
        return {
            "users": sorted(u.get_username() for u in area.shared_users.all()),
            "groups": sorted(g.name for g in area.shared_groups.all()),
        }

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

    def get_height_source(self, area: Area) -> str | None:
        """Where the current version's heights come from: "dsm", "lidar" or "predicted" (by the model)."""
        return area.current.manifest.get("height_source") if area.current else None

    def get_model(self, area: Area) -> dict[str, Any] | None:
        """The network (name, version, training GSD) that predicted classes or heights, if any."""
        return area.current.manifest.get("model") if area.current else None

    def get_imagery(self, area: Area) -> dict[str, Any] | None:
        """The orthophoto: one small image and its rectangle, plus its XYZ tiles where the version has them.

        ``tiles_url`` is a ``{z}/{x}/{y}`` URL template of Web Mercator tiles of ``tile_size`` pixels (512 since
        issue 18; 256 for versions published before, whose manifest does not say), present from
        ``minzoom`` to ``maxzoom`` inside ``tiles_rectangle`` (west, south, east, north degrees). ``source``
        says what the image is: ``orthophoto`` (uploaded), ``lidar colours`` (a true orthophoto from the
        points' colours), ``class colours`` or ``hillshade`` (points without colour).
        """
        if not area.current:
            return None
        ortho = area.current.manifest["imagery"]["ortho"]
        imagery = {
            "url": _data_url(area, ortho["path"]),
            "rectangle": ortho["rectangle_wgs84"],
            "source": ortho.get("source", "orthophoto"),  # versions before LiDAR-only areas had no source
        }
        if tiles := ortho.get("tiles"):
            imagery |= {
                "tiles_url": _data_url_template(area, tiles["template"]),
                "tile_size": tiles.get("tile_size", 256),
                "minzoom": tiles["minzoom"],
                "maxzoom": tiles["maxzoom"],
                "tiles_rectangle": tiles["bounds_wgs84"],
            }
        return imagery

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

    def get_feature_classes(self, area: Area) -> dict[str, dict[str, float]]:
        """Per feature class of the current version: ``count``, and ``max_height_m`` where features have heights."""
        return class_summary(area)

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


def _data_url_template(area: Area, template: str) -> str:
    """A data URL whose ``{z}``-style placeholders stay as they are (``reverse`` would escape the braces)."""
    folder, _, _ = template.partition("{")
    folder = folder.rpartition("/")[0] + "/"
    return _data_url(area, folder) + template.removeprefix(folder)
