"""Publish a finished run: move its folder into place atomically, then record it in the database."""

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db import transaction
from django.db.models import Max

from backend.areas.models import Area, Feature, Layer, Publication
from reconstruction import MANIFEST

logger = logging.getLogger(__name__)

_LAYER_TITLES = {"pointcloud": "Point cloud", "buildings": "Buildings (LoD1)"}


def publish(area: Area, staging: Path) -> Publication:
    """Make the run in ``staging`` the area's current version.

    The folder is renamed to ``v<N>`` in one step (same filesystem), so a reader sees either nothing
    or the complete result; if the database step then fails, the folder is removed again.
    """
    manifest = json.loads((staging / MANIFEST).read_text())
    with transaction.atomic():
        area = Area.objects.select_for_update().get(pk=area.pk)
        version = (area.publications.aggregate(v=Max("version"))["v"] or 0) + 1
        target = area.folder / f"v{version}"
        if target.exists():  # left by a run that died between the rename and the database commit
            shutil.rmtree(target)
        os.replace(staging, target)
        try:
            publication = _record(area, version, manifest, target)
        except Exception:
            shutil.rmtree(target, ignore_errors=True)
            raise
    return publication


def _record(area: Area, version: int, manifest: dict[str, Any], folder: Path) -> Publication:
    west, south, east, north = manifest["bbox_wgs84"]
    publication = Publication.objects.create(
        area=area,
        version=version,
        manifest=manifest,
        crs=manifest["crs"],
        bbox=Polygon.from_bbox((west, south, east, north)),
    )
    for name, tileset in manifest["layers"].items():
        Layer.objects.create(
            publication=publication,
            name=name,
            kind=Layer.Kind.POINTCLOUD if name == "pointcloud" else Layer.Kind.MESH,
            title=_LAYER_TITLES.get(name, name.replace("_", " ").capitalize()),
            tileset=tileset,
        )
    if "features" in manifest["vectors"]:
        Feature.objects.bulk_create(_features(publication, folder / manifest["vectors"]["features"]), batch_size=1000)
    area.current = publication
    area.status = Area.Status.READY
    area.save(update_fields=["current", "status"])
    return publication


def _features(publication: Publication, path: Path) -> list[Feature]:
    """Features from the run's WGS 84 GeoJSON (read with json + GEOS: no second GDAL in this process)."""
    collection = json.loads(path.read_text())
    return [
        Feature(
            publication=publication,
            kind=item["properties"].pop("class"),
            geometry=GEOSGeometry(json.dumps(item["geometry"]), srid=4326),
            attributes=item["properties"],
        )
        for item in collection["features"]
    ]
