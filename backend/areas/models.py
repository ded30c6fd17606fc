"""Area, its uploaded sources, its published versions with layers, and mapped features."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.gis.db import models

from reconstruction import PipelineInputs
from reconstruction.config import Z_UNITS

_Z_UNIT_NAMES = {"m": "metres", "ft": "international feet", "us-ft": "US survey feet"}
#: The height units a planner may name for files that state none (the core's ``Z_UNITS``), as the page says them.
Z_UNIT_CHOICES = [(unit, _Z_UNIT_NAMES[unit]) for unit in Z_UNITS]


class Area(models.Model):
    """A place a planner reconstructs: its sources, jobs and published versions."""

    class Status(models.TextChoices):
        EMPTY = "empty", "No result yet"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private: only the owner"
        SHARED = "shared", "Shared: the owner and the users and groups named"
        PUBLIC = "public", "Public: anyone, without logging in"

    name = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    shared_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="shared_areas", help_text="who sees a shared area"
    )
    shared_groups = models.ManyToManyField(
        "auth.Group", blank=True, related_name="shared_areas", help_text="whose members see a shared area"
    )
    epsg = models.PositiveIntegerField(null=True, blank=True, help_text="EPSG code for sources without a CRS")
    model = models.CharField(
        max_length=100, blank=True, help_text="shipped network chosen at upload; blank: the default (or model_version)"
    )
    model_version = models.ForeignKey(
        "models_registry.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="network trained on another area, chosen at upload instead of a shipped one",
    )
    register_dsm = models.BooleanField(
        default=False, help_text="align the DSM to the LiDAR's surface by feature matching before it is used"
    )
    z_unit = models.CharField(
        max_length=8,
        blank=True,
        choices=Z_UNIT_CHOICES,
        help_text="unit of the LiDAR's and DSM's heights, for files that state none or a wrong one; blank: the files'",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.EMPTY)
    current = models.ForeignKey("Publication", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_version = models.PositiveIntegerField(
        default=0, help_text="the highest version number published; a deleted version's number is never reused"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.name

    def input_options(self) -> dict[str, Any]:
        """How its files are read: the options of :meth:`Source.pipeline_inputs` chosen at upload."""
        return {"epsg": self.epsg, "register_dsm": self.register_dsm, "z_unit": self.z_unit or None}

    def input_files(self) -> dict[str, list[Path]]:
        """Its stored input files by kind, not their sidecars (those lie beside their images, where GDAL reads them)."""
        files: dict[str, list[Path]] = {}
        for source in self.sources.filter(image__isnull=True).order_by("path"):
            files.setdefault(source.kind, []).append(source.file)
        return files

    def pipeline_inputs(self) -> PipelineInputs:
        """The reconstruction inputs of its stored files."""
        return Source.pipeline_inputs(self.input_files(), **self.input_options())

    @property
    def folder(self) -> Path:
        """Media folder holding this area's sources and versions."""
        return Path(settings.MEDIA_ROOT) / "areas" / str(self.pk)


class Source(models.Model):
    """One uploaded input file of an area."""

    class Kind(models.TextChoices):
        ORTHO = "ortho", "Orthophoto"
        DSM = "dsm", "DSM"
        LIDAR = "lidar", "LiDAR"
        FOOTPRINTS = "footprints", "Building footprints"
        SECOND_IMAGE = "second_image", "Second image"
        STEREO_1 = "stereo_1", "Stereo image 1"
        STEREO_2 = "stereo_2", "Stereo image 2"
        STEREO_3 = "stereo_3", "Stereo image 3"

    #: The stereo kinds in view order.
    STEREO_KINDS = (Kind.STEREO_1, Kind.STEREO_2, Kind.STEREO_3)

    #: Kinds an area may hold several files of: the tiles national programmes publish.
    TILED_KINDS = (Kind.ORTHO, Kind.DSM, Kind.LIDAR)

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="sources")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    path = models.CharField(max_length=500, help_text="relative to MEDIA_ROOT")
    original_name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    image = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sidecars",
        help_text="the image this file georeferences (a world file, .prj or .aux.xml stored beside it); "
        "blank: the file is an input itself",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["area", "kind"],
                condition=~models.Q(kind__in=["ortho", "dsm", "lidar"]),
                name="one_source_per_single_kind",
            ),
            models.UniqueConstraint(fields=["area", "path"], name="one_source_per_file"),
        ]

    def __str__(self) -> str:
        return f"{self.area}: {self.kind}"

    @staticmethod
    def pipeline_inputs(
        files: Mapping[str, Sequence[Path]],
        *,
        epsg: int | None = None,
        register_dsm: bool = False,
        z_unit: str | None = None,
    ) -> PipelineInputs:
        """The reconstruction inputs of an area whose input files (not their sidecars), by kind, are ``files``."""

        def one(kind: str) -> Path | None:
            return next(iter(files.get(kind, ())), None)

        return PipelineInputs(
            ortho=tuple(files.get(Source.Kind.ORTHO, ())),
            dsm=tuple(files.get(Source.Kind.DSM, ())),
            lidar=tuple(files.get(Source.Kind.LIDAR, ())),
            epsg=epsg,
            footprints=one(Source.Kind.FOOTPRINTS),
            second_image=one(Source.Kind.SECOND_IMAGE),
            register_dsm=register_dsm,
            z_unit=z_unit,
            stereo=tuple(path for kind in Source.STEREO_KINDS for path in files.get(kind, ())),
        )

    @property
    def file(self) -> Path:
        """Absolute path of the stored file."""
        return Path(settings.MEDIA_ROOT) / self.path


class Publication(models.Model):
    """One published version of an area's results (an immutable folder ``areas/<id>/v<version>/``)."""

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="publications")
    version = models.PositiveIntegerField()
    manifest = models.JSONField()
    crs = models.CharField(max_length=200)
    bbox = models.PolygonField(srid=4326)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["area", "version"], name="one_version_number")]

    def __str__(self) -> str:
        return f"{self.area} v{self.version}"

    @property
    def folder(self) -> Path:
        """Folder of the published files."""
        return self.area.folder / f"v{self.version}"


class Layer(models.Model):
    """A 3D layer (one tileset) of a publication."""

    class Kind(models.TextChoices):
        POINTCLOUD = "pointcloud", "Point cloud"
        MESH = "mesh", "Mesh"

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    tileset = models.CharField(max_length=500, help_text="tileset.json path relative to the publication folder")

    def __str__(self) -> str:
        return f"{self.publication}: {self.name}"


class Feature(models.Model):
    """A mapped object (building, vegetation patch, ...) with its attributes."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="features")
    kind = models.CharField(max_length=50, db_index=True)
    geometry = models.GeometryField(srid=4326)
    attributes = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"


class StagedUpload(models.Model):
    """A file arriving in chunks (resumable upload) before it becomes one of an area's sources.

    The bytes go to ``path`` (under MEDIA_ROOT/staged/) in order; ``received`` says how many arrived, so an
    interrupted transfer resumes there. A complete staged file is handed to the upload form or API by its
    id (``<field>_upload``) and removed once an area took it; after a refused upload it stays, so the
    planner fixes the other fields without sending it again.
    """

    id = models.UUIDField(primary_key=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staged_uploads")
    filename = models.CharField(max_length=255, help_text="the user's file name, made harmless")
    size = models.BigIntegerField(help_text="bytes announced when the upload started")
    received = models.BigIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True, db_index=True)  # expiry looks here

    @property
    def path(self) -> Path:
        """Where the bytes are."""
        return Path(settings.MEDIA_ROOT) / "staged" / f"{self.pk.hex}.part"

    @property
    def complete(self) -> bool:
        """All announced bytes arrived."""
        return self.received == self.size

    def __str__(self) -> str:
        return f"{self.filename} ({self.received}/{self.size} bytes)"
