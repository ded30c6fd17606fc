"""Write LoD1 buildings, and optionally a terrain TIN, as a CityJSON 2.0 file."""

import json
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import numpy as np
import numpy.typing as npt
from pyproj import CRS

from reconstruction.errors import ProcessingError
from reconstruction.objects.buildings import Building
from reconstruction.objects.lod1 import lod1_solid

#: Vertex quantisation step, metres (CityJSON "transform" scale): millimetres.
SCALE_M = 0.001

Attributes = dict[str, float | int | str]


class TransformDict(TypedDict):
    """CityJSON "transform": real coordinates = integer vertex * scale + translate."""

    scale: list[float]
    translate: list[float]


class MetadataDict(TypedDict):
    """CityJSON "metadata": CRS as an OGC URL and the extent (minx, miny, minz, maxx, maxy, maxz)."""

    geographicalExtent: list[float]
    referenceSystem: NotRequired[str]


class GeometryDict(TypedDict):
    """One CityJSON geometry: "Solid" or "CompositeSurface" with its LoD and index boundaries."""

    type: str
    lod: str
    boundaries: list[Any]


class CityObjectDict(TypedDict):
    """One CityJSON city object (Building, BuildingPart or TINRelief)."""

    type: str
    attributes: NotRequired[Attributes]
    geometry: NotRequired[list[GeometryDict]]
    children: NotRequired[list[str]]
    parents: NotRequired[list[str]]


class CityJSONDict(TypedDict):
    """A whole CityJSON 2.0 document."""

    type: str
    version: str
    transform: TransformDict
    metadata: MetadataDict
    CityObjects: dict[str, CityObjectDict]
    vertices: list[list[int]]


def write_cityjson(
    buildings: list[Building],
    path: Path,
    crs: CRS | str,
    tin: tuple[npt.NDArray[np.float64], npt.NDArray[np.integer[Any]]] | None = None,
) -> Path:
    """Write buildings as CityJSON 2.0 city objects, with an optional terrain TIN.

    A building of one part carries an LoD "1" Solid itself; a building of several parts lists them as
    "children", each a "BuildingPart" with an LoD "1.2" Solid. Building attributes are written as given,
    plus the CityGML names ``measuredHeight`` (= ``height_m``) and ``storeysAboveGround`` (= ``floors``).
    Vertices are shared, quantised to millimetres and offset by the minimum corner.

    Args:
        buildings: From :func:`reconstruction.objects.extract_buildings`; coordinates in ``crs``, metres.
        path: Output ``.city.json`` file.
        crs: CRS of the coordinates; written as an OGC URL when it has an EPSG code.
        tin: Optional terrain ``(vertices (N, 3), triangles (M, 3))``, written as a "TINRelief" object.

    Returns:
        ``path``.

    Raises:
        ProcessingError: The file cannot be written.
    """
    pool = _VertexPool()
    objects: dict[str, CityObjectDict] = {}
    for building in buildings:
        objects.update(_building_objects(building, pool))
    if tin is not None:
        objects["terrain"] = _tin_object(tin, pool)
    vertices, lookup, translate = pool.quantise()
    for city_object in objects.values():
        for geometry in city_object.get("geometry", []):
            geometry["boundaries"] = _remap(geometry["boundaries"], lookup)
    if "terrain" in objects:
        surfaces = objects["terrain"]["geometry"][0]["boundaries"]
        objects["terrain"]["geometry"][0]["boundaries"] = [s for s in surfaces if len(set(s[0])) == 3]
    document: CityJSONDict = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [SCALE_M] * 3, "translate": translate.tolist()},
        "metadata": _metadata(vertices, translate, CRS.from_user_input(crs)),
        "CityObjects": objects,
        "vertices": vertices.tolist(),
    }
    try:
        path.write_text(json.dumps(document, separators=(",", ":")))
    except OSError as err:
        raise ProcessingError(f"Cannot write the CityJSON file {path} ({err.strerror}); check the folder.") from err
    return path


class _VertexPool:
    """Collects float vertices of every geometry; indices given out are global until quantised."""

    def __init__(self) -> None:
        self._chunks: list[npt.NDArray[np.float64]] = []
        self._count = 0

    def add(self, vertices: npt.NDArray[np.float64]) -> int:
        """Append (N, 3) vertices; return the offset to add to their local indices."""
        offset = self._count
        self._chunks.append(np.asarray(vertices, dtype=np.float64).reshape(-1, 3))
        self._count += len(self._chunks[-1])
        return offset

    def quantise(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Integer vertices without duplicates, old index -> new index, and the translation."""
        if not self._count:
            return np.empty((0, 3), np.int64), np.empty(0, np.int64), np.zeros(3)
        points = np.concatenate(self._chunks)
        translate = np.floor(points.min(axis=0) / SCALE_M) * SCALE_M
        integers = np.round((points - translate) / SCALE_M).astype(np.int64)
        unique, lookup = np.unique(integers, axis=0, return_inverse=True)
        return unique, lookup.ravel(), translate


def _building_objects(building: Building, pool: _VertexPool) -> dict[str, CityObjectDict]:
    """The Building object and, when it has several parts, its BuildingPart children."""
    name = f"building-{building.id}"
    attributes: Attributes = {**building.attributes}
    if "height_m" in attributes:
        attributes["measuredHeight"] = attributes["height_m"]
    if "floors" in attributes:
        attributes["storeysAboveGround"] = attributes["floors"]
    solids = []
    for part in building.parts:
        vertices, shell = lod1_solid(part)
        offset = pool.add(vertices)
        solids.append([[[[i + offset for i in ring] for ring in surface] for surface in shell]])
    if len(solids) == 1:
        return {name: {"type": "Building", "attributes": attributes, "geometry": [_solid(solids[0], "1")]}}
    children = [f"{name}-part-{k}" for k in range(1, len(solids) + 1)]
    objects: dict[str, CityObjectDict] = {name: {"type": "Building", "attributes": attributes, "children": children}}
    for child, part, solid in zip(children, building.parts, solids, strict=True):
        objects[child] = {
            "type": "BuildingPart",
            "parents": [name],
            "attributes": {"height_m": part.height_m, "ground_m": part.ground_m},
            "geometry": [_solid(solid, "1.2")],
        }
    return objects


def _solid(boundaries: list[Any], lod: str) -> GeometryDict:
    return {"type": "Solid", "lod": lod, "boundaries": boundaries}


def _tin_object(tin: tuple[npt.NDArray[np.float64], npt.NDArray[np.integer[Any]]], pool: _VertexPool) -> CityObjectDict:
    """A TINRelief with one CompositeSurface of triangles."""
    vertices, triangles = tin
    offset = pool.add(vertices)
    surfaces = [[triangle] for triangle in (np.asarray(triangles, dtype=np.int64) + offset).tolist()]
    return {"type": "TINRelief", "geometry": [{"type": "CompositeSurface", "lod": "1", "boundaries": surfaces}]}


def _remap(boundaries: Any, lookup: npt.NDArray[np.int64]) -> Any:
    """Replace every index in nested boundary lists by ``lookup[index]``."""
    if boundaries and isinstance(boundaries[0], int):
        return lookup[boundaries].tolist()
    return [_remap(item, lookup) for item in boundaries]


def _metadata(vertices: npt.NDArray[np.int64], translate: npt.NDArray[np.float64], crs: CRS) -> MetadataDict:
    if len(vertices):
        low, high = vertices.min(axis=0) * SCALE_M + translate, vertices.max(axis=0) * SCALE_M + translate
        extent = [round(float(v), 3) for v in (*low, *high)]
    else:
        extent = [0.0] * 6
    metadata: MetadataDict = {"geographicalExtent": extent}
    epsg = crs.to_epsg()
    if epsg is not None:
        metadata["referenceSystem"] = f"https://www.opengis.net/def/crs/EPSG/0/{epsg}"
    return metadata
