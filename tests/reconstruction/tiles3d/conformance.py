"""An offline stand-in for CesiumGS's 3d-tiles-validator on what rs3d writes: tilesets, glb and pnts content.

CesiumGS's validator is not on the npm registry this project reaches, so these checks restate the rules it
and the tools built on 3d-tiles-tools apply to our content, reading the raw bytes (never the library's own
decoders, which would share a writer's mistakes):

- EXT_structural_metadata (the 3D Metadata Specification): ids are identifiers; a class property has a valid
  type, a required one no ``noData``/``default``, and a ``noData`` of the property's type (an enum's is one of
  its names); enums have unique names and values in range of their ``valueType`` (default UINT16); a
  property table names a class of the schema, every column is a property of that class and every property of
  the class has its column (the spec allows leaving out an optional one, but the validator's traversal, on
  3d-tiles-tools, stops at "The property table does not define property ..."); each column's buffer view
  starts on 8 bytes, lies in the buffer and holds exactly ``count`` values (strings and variable-length
  arrays: ``count + 1`` non-decreasing offsets ending at the values' length); values are finite and enum
  values are declared ones.
- EXT_mesh_features: every feature id set has ``featureCount`` >= 1; an attribute set reads
  ``_FEATURE_ID_<n>`` (SCALAR, not normalised, whole numbers), an implicit set (no attribute, as the point
  tiles write) numbers the vertices 0 .. N - 1; ids name rows of its property table, the
  table's ``count`` equals ``featureCount`` and the ids present are exactly ``0 .. count - 1``.
- pnts (3D Tiles 1.0, as the validator reads it): header lengths add up, each section starts on 8 bytes,
  ``BATCH_ID`` comes with ``BATCH_LENGTH`` and stays below it, every column lies in its body at an offset
  aligned to its component size, batch-table columns have one value per row.
"""

import json
import math
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

IDENTIFIER = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
ALIGNMENT = 8
COMPONENTS = {
    "INT8": "i1", "UINT8": "u1", "INT16": "<i2", "UINT16": "<u2", "INT32": "<i4", "UINT32": "<u4",
    "INT64": "<i8", "UINT64": "<u8", "FLOAT32": "<f4", "FLOAT64": "<f8",
}  # fmt: skip
WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
GLTF_COMPONENTS = {5120: "i1", 5121: "u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
PNTS_COMPONENTS = {
    "BYTE": "i1", "UNSIGNED_BYTE": "u1", "SHORT": "<i2", "UNSIGNED_SHORT": "<u2", "INT": "<i4",
    "UNSIGNED_INT": "<u4", "FLOAT": "<f4", "DOUBLE": "<f8",
}  # fmt: skip
PNTS_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


def tileset_errors(tileset_json: Path) -> list[str]:
    """Every rule the tileset JSON or one of its contents (glb, pnts, external tilesets) breaks, naming the file."""
    tileset = json.loads(tileset_json.read_text())
    errors = [] if tileset.get("asset", {}).get("version") in ("1.0", "1.1") else ["asset.version"]
    tiles = [tileset["root"]]
    while tiles:
        tile = tiles.pop()
        for child in tile.get("children", []):
            if child["geometricError"] > tile["geometricError"]:
                errors.append(f"a child's geometricError is above its parent's ({child.get('content')})")
            tiles.append(child)
        uri = tile.get("content", {}).get("uri")
        if uri and uri.endswith(".json"):  # an external tileset (a chip of a chipped area)
            errors += [f"{uri} > {e}" for e in tileset_errors(tileset_json.parent / uri)]
        elif uri:
            data = (tileset_json.parent / uri).read_bytes()
            found = glb_errors(data) if data[:4] == b"glTF" else pnts_errors(data) if data[:4] == b"pnts" else None
            errors += [f"{uri}: {e}" for e in (found if found is not None else ["unknown content type"])]
    return errors


def read_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The JSON and the BIN chunk of glb bytes."""
    magic, version, length = struct.unpack_from("<4sII", data)
    assert magic == b"glTF" and version == 2 and length == len(data), "not a glb 2.0 of its stated length"
    json_length, json_type = struct.unpack_from("<I4s", data, 12)
    assert json_type == b"JSON"
    gltf = json.loads(data[20 : 20 + json_length])
    rest = 20 + json_length
    blob = b""
    if rest < len(data):
        bin_length, bin_type = struct.unpack_from("<I4s", data, rest)
        assert bin_type == b"BIN\0"
        blob = data[rest + 8 : rest + 8 + bin_length]
    return gltf, blob


def glb_errors(data: bytes) -> list[str]:
    """The EXT_structural_metadata and EXT_mesh_features rules a glb breaks."""
    gltf, blob = read_glb(data)
    metadata = gltf.get("extensions", {}).get("EXT_structural_metadata")
    used = set(gltf.get("extensionsUsed", []))
    errors: list[str] = []
    tables: list[dict[str, Any]] = []
    if metadata is not None:
        if "EXT_structural_metadata" not in used:
            errors.append("EXT_structural_metadata is not in extensionsUsed")
        schema = metadata.get("schema", {})
        errors += schema_errors(schema)
        tables = metadata.get("propertyTables", [])
        for i, table in enumerate(tables):
            errors += [f"propertyTables[{i}]: {e}" for e in table_errors(table, schema, gltf, blob)]
    for m, mesh in enumerate(gltf.get("meshes", [])):
        for p, primitive in enumerate(mesh["primitives"]):
            features = primitive.get("extensions", {}).get("EXT_mesh_features")
            if features is not None:
                if "EXT_mesh_features" not in used:
                    errors.append("EXT_mesh_features is not in extensionsUsed")
                where = f"meshes[{m}].primitives[{p}]"
                errors += [f"{where}: {e}" for e in feature_id_errors(features, primitive, tables, gltf, blob)]
    return errors


def schema_errors(schema: dict[str, Any]) -> list[str]:
    """Rules of the schema: identifiers, property types, required vs noData/default, enums."""
    errors = [f"enum {name}: {e}" for name, enum in schema.get("enums", {}).items() for e in _enum_errors(name, enum)]
    for class_id, klass in schema.get("classes", {}).items():
        if not IDENTIFIER.match(class_id):
            errors.append(f"class id {class_id!r} is not an identifier")
        for name, prop in klass.get("properties", {}).items():
            errors += [f"{class_id}.{name}: {e}" for e in _property_errors(name, prop, schema)]
    return errors


def _enum_errors(name: str, enum: dict[str, Any]) -> list[str]:
    errors = [] if IDENTIFIER.match(name) else ["enum id is not an identifier"]
    kind = enum.get("valueType", "UINT16")
    if kind not in COMPONENTS or kind.startswith("FLOAT"):
        return [*errors, f"valueType {kind} is not an integer type"]
    info = np.iinfo(np.dtype(COMPONENTS[kind]))
    names = [v["name"] for v in enum.get("values", [])]
    values = [v["value"] for v in enum.get("values", [])]
    if not names or len(set(names)) < len(names) or len(set(values)) < len(values):
        errors.append("enum values are empty or repeat a name or a value")
    errors += [f"value {v} does not fit {kind}" for v in values if not info.min <= v <= info.max]
    return errors


def _property_errors(name: str, prop: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    errors = [] if IDENTIFIER.match(name) else ["property id is not an identifier"]
    kind = prop.get("type")
    if kind == "ENUM":
        enum = schema.get("enums", {}).get(prop.get("enumType"))
        if enum is None:
            return [*errors, f"enumType {prop.get('enumType')!r} is not an enum of the schema"]
    elif kind in WIDTHS:
        if prop.get("componentType") not in COMPONENTS:
            return [*errors, f"componentType {prop.get('componentType')!r} is not valid for {kind}"]
    elif kind not in ("STRING", "BOOLEAN"):
        return [*errors, f"type {kind!r} is not valid"]
    if prop.get("required", False) and ("noData" in prop or "default" in prop):
        errors.append("a required property defines noData or default")
    if "noData" in prop:
        errors += [f"noData {prop['noData']!r}: {e}" for e in _value_errors([prop["noData"]], prop, schema)]
    return errors


def _value_errors(values: list[Any], prop: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Whether JSON values (noData) are of the property's type: enum names, strings, numbers in range."""
    kind = prop["type"]
    if kind == "ENUM":
        names = {v["name"] for v in schema["enums"][prop["enumType"]]["values"]}
        return [f"{v!r} is not a name of the enum" for v in values if v not in names]
    if kind == "STRING":
        return [f"{v!r} is not a string" for v in values if not isinstance(v, str)]
    if kind == "BOOLEAN":
        return ["BOOLEAN properties have no noData"]
    dtype = np.dtype(COMPONENTS[prop["componentType"]])
    flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
    if any(isinstance(x, bool) or not isinstance(x, int | float) for x in flat):
        return ["not a number"]
    if dtype.kind == "f":
        return [] if all(math.isfinite(x) for x in flat) else ["not finite"]
    info = np.iinfo(dtype)
    return [] if all(float(x).is_integer() and info.min <= x <= info.max for x in flat) else ["not in range"]


def table_errors(table: dict[str, Any], schema: dict[str, Any], gltf: dict[str, Any], blob: bytes) -> list[str]:
    """Rules of one property table against its class and the glb's buffer views."""
    klass = schema.get("classes", {}).get(table.get("class"))
    if klass is None:
        return [f"class {table.get('class')!r} is not in the schema"]
    count = table.get("count")
    if not isinstance(count, int) or count < 1:
        return [f"count {count!r} is not a positive integer"]
    declared, given = klass.get("properties", {}), table.get("properties", {})
    errors = [f"column {n!r} is not a property of class {table['class']!r}" for n in given if n not in declared]
    errors += [f"the table does not define property {n!r} of its class" for n in declared if n not in given]
    for name, column in given.items():
        if name in declared:
            errors += [f"{name}: {e}" for e in _column_errors(column, declared[name], count, schema, gltf, blob)]
    return errors


def _view(gltf: dict[str, Any], blob: bytes, index: Any) -> tuple[bytes | None, list[str]]:
    views = gltf.get("bufferViews", [])
    if not isinstance(index, int) or not 0 <= index < len(views):
        return None, [f"buffer view {index!r} does not exist"]
    view = views[index]
    start, length = view.get("byteOffset", 0), view["byteLength"]
    errors = [] if start % ALIGNMENT == 0 else [f"buffer view {index} starts at {start}, not on {ALIGNMENT} bytes"]
    if view.get("buffer") != 0 or start + length > len(blob):
        return None, [*errors, f"buffer view {index} lies outside the glb's binary chunk"]
    return blob[start : start + length], errors


def _offsets(gltf: dict[str, Any], blob: bytes, index: Any, kind: str, count: int, end: int) -> list[str]:
    data, errors = _view(gltf, blob, index)
    if data is None:
        return errors
    dtype = np.dtype(COMPONENTS.get(kind, "<u4"))
    if len(data) != (count + 1) * dtype.itemsize:
        return [*errors, f"{len(data)} bytes of {kind} offsets for {count} rows"]
    offsets = np.frombuffer(data, dtype)
    if offsets[0] != 0 or (np.diff(offsets.astype(np.int64)) < 0).any() or offsets[-1] != end:
        errors.append(f"offsets are not 0 .. {end} non-decreasing")
    return errors


def _column_errors(
    column: dict[str, Any], prop: dict[str, Any], count: int, schema: dict[str, Any], gltf: dict[str, Any], blob: bytes
) -> list[str]:
    data, errors = _view(gltf, blob, column.get("values"))
    if data is None:
        return errors
    kind = prop["type"]
    if kind == "STRING":
        offset_type = column.get("stringOffsetType", "UINT32")
        return errors + _offsets(gltf, blob, column.get("stringOffsets"), offset_type, count, len(data))
    if kind == "BOOLEAN":
        bits = count * prop.get("count", 1) if prop.get("array") else count
        return errors + ([] if len(data) == math.ceil(bits / 8) else [f"{len(data)} bytes for {bits} booleans"])
    enum = schema["enums"][prop["enumType"]] if kind == "ENUM" else None
    dtype = np.dtype(COMPONENTS[enum.get("valueType", "UINT16") if enum else prop["componentType"]])
    width = WIDTHS.get(kind, 1) * dtype.itemsize
    if prop.get("array") and "count" not in prop:
        offset_type = column.get("arrayOffsetType", "UINT32")
        size = len(data) // width if len(data) % width == 0 else -1
        errors += _offsets(gltf, blob, column.get("arrayOffsets"), offset_type, count, size)
    elif len(data) != count * width * prop.get("count", 1):
        return [*errors, f"{len(data)} bytes, expected {count} rows of {width * prop.get('count', 1)} bytes"]
    values = np.frombuffer(data[: len(data) - len(data) % dtype.itemsize], dtype)
    if dtype.kind == "f" and not np.isfinite(values).all():
        errors.append("a value is NaN or infinite")
    if enum is not None:
        declared = {v["value"] for v in enum["values"]}
        errors += [f"value {v} is not declared by its enum" for v in sorted(set(values.tolist()) - declared)]
    return errors


def _accessor(gltf: dict[str, Any], blob: bytes, index: int) -> tuple[dict[str, Any], np.ndarray]:
    accessor = gltf["accessors"][index]
    view = gltf["bufferViews"][accessor["bufferView"]]
    dtype = np.dtype(GLTF_COMPONENTS[accessor["componentType"]])
    width = WIDTHS[accessor["type"]]
    stride = view.get("byteStride", width * dtype.itemsize)
    start = view.get("byteOffset", 0) + accessor.get("byteOffset", 0)
    shape, strides = (accessor["count"], width), (stride, dtype.itemsize)
    return accessor, np.ndarray(shape, dtype, buffer=blob, offset=start, strides=strides).ravel()


def feature_id_errors(
    features: dict[str, Any],
    primitive: dict[str, Any],
    tables: list[dict[str, Any]],
    gltf: dict[str, Any],
    blob: bytes,
) -> list[str]:
    """EXT_mesh_features of one primitive: feature counts, the id attribute, ids against their table."""
    errors = [] if features.get("featureIds") else ["featureIds is empty"]
    for i, feature_id in enumerate(features.get("featureIds", [])):
        count = feature_id.get("featureCount")
        if not isinstance(count, int) or count < 1:
            errors.append(f"featureIds[{i}].featureCount {count!r} is not a positive integer")
            continue
        if "texture" in feature_id:
            continue  # a feature id texture: nothing rs3d writes
        if "attribute" not in feature_id:  # implicit ids: the vertex index (no offset or repeat written)
            vertices = gltf["accessors"][primitive["attributes"]["POSITION"]]["count"]
            if "offset" in feature_id or "repeat" in feature_id:
                errors.append(f"featureIds[{i}] has an implicit offset or repeat, which rs3d does not write")
            ids = np.arange(vertices)
        else:
            semantic = f"_FEATURE_ID_{feature_id['attribute']}"
            if semantic not in primitive["attributes"]:
                errors.append(f"featureIds[{i}] reads {semantic}, which the primitive lacks")
                continue
            accessor, ids = _accessor(gltf, blob, primitive["attributes"][semantic])
            if accessor["type"] != "SCALAR" or accessor.get("normalized", False):
                errors.append(f"{semantic} is not a plain SCALAR")
            if not np.all(np.mod(ids, 1) == 0):
                errors.append(f"{semantic} holds a value that is not a whole number")
        present = set(np.unique(ids).astype(np.int64).tolist()) - {feature_id.get("nullFeatureId")}
        table_index = feature_id.get("propertyTable")
        if table_index is None:
            continue
        if not isinstance(table_index, int) or not 0 <= table_index < len(tables):
            errors.append(f"featureIds[{i}].propertyTable {table_index!r} does not exist")
            continue
        rows = tables[table_index].get("count")
        if rows != count:
            errors.append(f"featureIds[{i}].featureCount {count} is not its property table's count {rows}")
        if present != set(range(count)):
            errors.append(f"featureIds[{i}]: the ids present are not exactly 0 .. {count - 1}")
    return errors


def pnts_errors(data: bytes) -> list[str]:
    """The rules of a pnts tile: header, 8-byte sections, feature and batch table columns."""
    magic, version, length, ft_json, ft_bin, bt_json, bt_bin = struct.unpack_from("<4sIIIIII", data)
    errors = [] if version == 1 and length == len(data) == 28 + ft_json + ft_bin + bt_json + bt_bin else ["header"]
    ends = (28 + ft_json, 28 + ft_json + ft_bin, 28 + ft_json + ft_bin + bt_json, len(data))
    errors += [f"a section ends at {end}, not on 8 bytes" for end in ends if end % ALIGNMENT]
    feature = json.loads(data[28 : ends[0]])
    n = feature.get("POINTS_LENGTH")
    if not isinstance(n, int) or n < 1 or "POSITION" not in feature:
        return [*errors, "POINTS_LENGTH or POSITION is missing"]
    body = data[ends[0] : ends[1]]
    semantics = {"POSITION": ("FLOAT", 3), "RGB": ("UNSIGNED_BYTE", 3), "RGBA": ("UNSIGNED_BYTE", 4)}
    for name, (component, width) in semantics.items():
        if name in feature:
            errors += [f"{name}: {e}" for e in _pnts_column(body, feature[name], component, width, n)]
    rows = n
    if "BATCH_ID" in feature:
        component = feature["BATCH_ID"].get("componentType", "UNSIGNED_SHORT")
        rows = feature.get("BATCH_LENGTH", 0)
        if component not in ("UNSIGNED_BYTE", "UNSIGNED_SHORT", "UNSIGNED_INT") or not isinstance(rows, int):
            return [*errors, "BATCH_ID has no unsigned componentType or no BATCH_LENGTH"]
        found = _pnts_column(body, feature["BATCH_ID"], component, 1, n)
        errors += [f"BATCH_ID: {e}" for e in found]
        offset = feature["BATCH_ID"].get("byteOffset", 0)
        if not found and int(np.frombuffer(body, PNTS_COMPONENTS[component], n, offset).max()) >= rows:
            errors.append(f"a BATCH_ID is not below BATCH_LENGTH {rows}")
    batch = json.loads(data[ends[1] : ends[2]]) if bt_json else {}
    for name, ref in batch.items():
        if name in ("extensions", "extras"):
            continue
        if isinstance(ref, list):
            errors += [] if len(ref) == rows else [f"batch table {name}: {len(ref)} values for {rows} rows"]
            continue
        width = PNTS_WIDTHS.get(ref.get("type"), 0)
        found = _pnts_column(data[ends[2] :], ref, ref.get("componentType"), width, rows) if width else ["type"]
        errors += [f"batch table {name}: {e}" for e in found]
    return errors


def _pnts_column(body: bytes, ref: dict[str, Any], component: Any, width: int, count: int) -> list[str]:
    if component not in PNTS_COMPONENTS:
        return [f"componentType {component!r} is not valid"]
    size = np.dtype(PNTS_COMPONENTS[component]).itemsize
    offset = ref.get("byteOffset", 0)
    errors = [] if offset % size == 0 else [f"byteOffset {offset} is not a multiple of {size}"]
    return errors + ([] if offset + count * width * size <= len(body) else ["runs past the end of its body"])
