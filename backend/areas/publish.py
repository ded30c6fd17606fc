"""Publish a finished run: precompress its files, move its folder into place atomically, then record it."""

import gzip
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import brotli
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.db import transaction
from django.db.models import Max

from backend.areas.models import Area, Feature, Layer, Publication
from reconstruction import MANIFEST

logger = logging.getLogger(__name__)

_LAYER_TITLES = {"pointcloud": "Point cloud", "buildings": "Buildings (LoD1)"}

#: Suffixes worth compressing for HTTP. Rasters, images, LAZ, GeoPackages and archives are left alone:
#: already compressed, or read by range requests that need the plain bytes.
COMPRESSIBLE = frozenset(
    {".json", ".geojson", ".gltf", ".glb", ".b3dm", ".pnts", ".bin", ".csv", ".xml", ".txt", ".html"}
)
#: Content-Encoding -> the suffix of the precompressed copy written beside a file (``tileset.json.br``).
PRECOMPRESSED = {"br": ".br", "gzip": ".gz"}
_MIN_SAVING = 0.10  # keep a compressed copy only when it is at least this much smaller
_BROTLI_QUALITY = 9  # on the demo city's tiles: 16x faster than 11, for 10 % more bytes (still 6 % under gzip)
_CHUNK = 1 << 20


def publish(area: Area, staging: Path) -> Publication:
    """Make the run in ``staging`` the area's current version.

    The folder is renamed to ``v<N>`` in one step (same filesystem), so a reader sees either nothing
    or the complete result; if the database step then fails (or its commit does), the folder is renamed
    back to ``staging``, so the call can be repeated once the database is back. Before that,
    compressible files get brotli and gzip copies beside them (see :func:`precompress`).

    Raises:
        OSError: writing the compressed copies failed (a full disk: ENOSPC); ``staging`` holds no partial copy.
        DatabaseError: recording the version failed; nothing was published and ``staging`` is as it was.
    """
    manifest = json.loads((staging / MANIFEST).read_text())
    precompress(staging)
    target: Path | None = None
    try:
        with transaction.atomic():
            area = Area.objects.select_for_update().get(pk=area.pk)
            # A deleted version's number stays taken: a job's "published v3" never comes to mean other files.
            version = max(area.last_version, area.publications.aggregate(v=Max("version"))["v"] or 0) + 1
            folder = area.folder / f"v{version}"
            if folder.exists():  # left by a run that died between the rename and the database commit
                shutil.rmtree(folder)
            os.replace(staging, folder)
            target = folder
            publication = _record(area, version, manifest, target)
    except BaseException:
        if target is not None:
            _unpublish(target, staging)
        raise
    return publication


def _unpublish(target: Path, staging: Path) -> None:
    """Put a version whose database step failed back into its staging folder (removed if that fails)."""
    try:
        os.replace(target, staging)
    except OSError:
        logger.exception("could not move %s back to %s; removing it", target, staging)
        shutil.rmtree(target, ignore_errors=True)


def precompress(folder: Path) -> tuple[int, int]:
    """Write ``name.br`` and ``name.gz`` beside each compressible file under ``folder`` (streamed, never whole).

    A copy is kept only when it saves at least 10 %; each is written under a temporary name and renamed, so a
    reader never finds a truncated one. The copies are delivery representations, not files of the version:
    the manifest, written before, does not list them, and the data view refuses to serve them by name.

    Returns:
        (bytes of the files considered, bytes of the copies kept).
    """
    sources = sorted(p for p in folder.rglob("*") if p.suffix.lower() in COMPRESSIBLE and p.is_file())
    total = kept = 0
    for source in sources:
        total += source.stat().st_size
        for suffix, size in zip(PRECOMPRESSED.values(), _compress(source), strict=True):
            copy = source.with_name(source.name + suffix)
            partial = copy.with_name(copy.name + ".part")
            if size <= (1 - _MIN_SAVING) * source.stat().st_size:
                os.replace(partial, copy)
                kept += size
            else:
                partial.unlink()
    logger.info("precompressed %d files under %s: %d -> %d bytes", len(sources), folder, total, kept)
    return total, kept


def _compress(source: Path) -> tuple[int, int]:
    """Brotli and gzip ``source`` in one streamed pass into ``<name>.br.part`` and ``<name>.gz.part``; their sizes."""
    br_path, gz_path = (source.with_name(f"{source.name}{suffix}.part") for suffix in PRECOMPRESSED.values())
    compressor = brotli.Compressor(quality=_BROTLI_QUALITY)
    try:
        with source.open("rb") as src, br_path.open("wb") as br_file, gz_path.open("wb") as gz_raw:
            # mtime=0 and no file name: the same bytes give the same .gz, whenever and wherever published.
            with gzip.GzipFile(filename="", mode="wb", fileobj=gz_raw, compresslevel=9, mtime=0) as gz_file:
                while chunk := src.read(_CHUNK):
                    br_file.write(compressor.process(chunk))
                    gz_file.write(chunk)
            br_file.write(compressor.finish())
    except OSError:  # a full disk: leave no truncated copy behind
        br_path.unlink(missing_ok=True)
        gz_path.unlink(missing_ok=True)
        raise
    return br_path.stat().st_size, gz_path.stat().st_size


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
    area.last_version = version
    area.save(update_fields=["current", "status", "last_version"])
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
