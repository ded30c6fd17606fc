"""Join the chips' vector files: GeoPackage layers, the WGS 84 GeoJSON, and the CityJSON city model.

Every join streams chip by chip (one chip's features in memory at a time). The CityJSON document is
written as text in two passes over the chips: the city objects first (vertex indices shifted by the
vertices of earlier chips, kept in a scratch file), then the vertices re-quantised to one transform.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyogrio

from reconstruction.gis.cityjson import SCALE_M


def merge_gpkg(parts: Sequence[Path], out: Path, layer: str) -> Path:
    """Append the layer of every part to one GeoPackage."""
    for part in parts:
        frame = pyogrio.read_dataframe(part, layer=layer)
        pyogrio.write_dataframe(frame, out, layer=layer, driver="GPKG", append=out.exists())
    return out


def merge_geojson(parts: Sequence[Path], out: Path) -> Path:
    """One FeatureCollection holding the features of every part, in order."""
    with out.open("w") as dst:
        dst.write('{"type": "FeatureCollection", "features": [')
        first = True
        for part in parts:
            for feature in json.loads(part.read_text())["features"]:
                dst.write(("" if first else ",") + json.dumps(feature))
                first = False
        dst.write("]}")
    return out


Tin = tuple[npt.NDArray[np.float64], npt.NDArray[np.integer[Any]]]


def merge_cityjson(parts: Sequence[Path], tins: Sequence[Path | None], out: Path) -> Path:
    """One CityJSON 2.0 document with every part's city objects and each chip's TIN as a TINRelief.

    Args:
        parts: the chips' city.json files (buildings only).
        tins: per chip, an ``.npz`` of its seam-closed terrain (``vertices``, ``triangles``) or None.
        out: the file to write.
    """
    translate, extent, reference = _common_frame(parts, tins)
    scratch = out.with_suffix(".vertices")
    count = 0
    with out.open("w") as dst, scratch.open("w") as vertices_out:
        dst.write('{"type":"CityJSON","version":"2.0","transform":')
        dst.write(json.dumps({"scale": [SCALE_M] * 3, "translate": translate.tolist()}))
        metadata = {"geographicalExtent": extent, **({"referenceSystem": reference} if reference else {})}
        dst.write(',"metadata":' + json.dumps(metadata) + ',"CityObjects":{')
        first = True
        for index, (part, tin_path) in enumerate(zip(parts, tins, strict=True)):
            document = json.loads(part.read_text())
            tin = _load_tin(tin_path)
            points = np.asarray(document["vertices"], dtype=np.float64).reshape(-1, 3)
            points = points * document["transform"]["scale"] + document["transform"]["translate"]
            objects = document["CityObjects"]
            for city_object in objects.values():
                for geometry in city_object.get("geometry", []):
                    geometry["boundaries"] = _shift(geometry["boundaries"], count)
            if tin is not None:
                objects[f"terrain-chip-{index}"] = _tin_object(tin, count + len(points))
                points = np.concatenate([points, tin[0]])
            for name, city_object in objects.items():
                dst.write(
                    ("" if first else ",") + json.dumps(name) + ":" + json.dumps(city_object, separators=(",", ":"))
                )
                first = False
            integers = np.round((points - translate) / SCALE_M).astype(np.int64)
            if len(integers):
                text = json.dumps(integers.tolist(), separators=(",", ":"))[1:-1]
                vertices_out.write(("," if count else "") + text)
            count += len(points)
        dst.write('},"vertices":[')
    with out.open("a") as dst, scratch.open() as vertices_in:
        while block := vertices_in.read(1 << 20):
            dst.write(block)
        dst.write("]}")
    scratch.unlink()
    return out


def _common_frame(
    parts: Sequence[Path], tins: Sequence[Path | None]
) -> tuple[npt.NDArray[np.float64], list[float], str | None]:
    """The translate (lowest corner, whole millimetres), the extent and the reference system of all parts."""
    lows, highs, reference = [], [], None
    for part, tin_path in zip(parts, tins, strict=True):
        metadata = json.loads(part.read_text())["metadata"]
        tin = _load_tin(tin_path)
        reference = reference or metadata.get("referenceSystem")
        extent = metadata["geographicalExtent"]
        if any(extent):
            lows.append(extent[:3])
            highs.append(extent[3:])
        if tin is not None and len(tin[0]):
            lows.append(tin[0].min(axis=0))
            highs.append(tin[0].max(axis=0))
    if not lows:
        return np.zeros(3), [0.0] * 6, reference
    low, high = np.min(lows, axis=0), np.max(highs, axis=0)
    translate = np.floor(low / SCALE_M) * SCALE_M
    return translate, [round(float(v), 3) for v in (*low, *high)], reference


def _load_tin(path: Path | None) -> Tin | None:
    if path is None:
        return None
    with np.load(path) as saved:
        return saved["vertices"], saved["triangles"]


def _shift(boundaries: Any, offset: int) -> Any:
    if boundaries and isinstance(boundaries[0], int):
        return [i + offset for i in boundaries]
    return [_shift(item, offset) for item in boundaries]


def _tin_object(tin: Tin, offset: int) -> dict[str, Any]:
    """A TINRelief of the chip's terrain (degenerate triangles left out, as in whole-area files)."""
    triangles = np.asarray(tin[1], dtype=np.int64)
    surfaces = [[t] for t in (triangles + offset).tolist() if len(set(t)) == 3]
    return {"type": "TINRelief", "geometry": [{"type": "CompositeSurface", "lod": "1", "boundaries": surfaces}]}
