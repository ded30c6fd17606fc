"""EXT_structural_metadata: schemas of one feature class, and binary property tables.

Each layer declares a :class:`MetadataClass` (its properties and enums); a glb embeds that class's schema
and holds one property table whose row ``i`` is the feature with feature id ``i``. Columns are
little-endian arrays, each in its own buffer view that starts on an 8-byte boundary (as the extension
requires); enums are stored as their UINT8 values. An optional property may be missing from a feature:
its column then holds the property's ``noData`` value. Every property of the class has its column, even
when no feature has it (all ``noData``): CesiumGS's 3d-tiles-validator, and tools built on
3d-tiles-tools, stop at a table that leaves out a property its class declares.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict, cast

import numpy as np
import numpy.typing as npt

from reconstruction.errors import InputError

#: Byte alignment of every buffer view holding a property column.
ALIGNMENT = 8

ComponentType = Literal["UINT8", "UINT16", "UINT32", "FLOAT32"]

_DTYPES: dict[str, type[np.generic]] = {"UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32}
_DTYPES["FLOAT32"] = np.float32


class EnumValueDict(TypedDict):
    """One named value of an enum."""

    name: str
    value: int


class EnumDict(TypedDict):
    """A schema enum: named integer values stored as ``valueType``."""

    name: str
    description: str
    valueType: Literal["UINT8"]
    values: list[EnumValueDict]


class ClassPropertyDict(TypedDict):
    """One property of a metadata class."""

    name: str
    description: str
    type: Literal["SCALAR", "ENUM"]
    componentType: NotRequired[ComponentType]
    enumType: NotRequired[str]
    required: bool
    noData: NotRequired[float]


class ClassDict(TypedDict):
    """A metadata class."""

    name: str
    description: str
    properties: dict[str, ClassPropertyDict]


class SchemaDict(TypedDict):
    """An EXT_structural_metadata schema."""

    id: str
    name: str
    description: str
    version: str
    classes: dict[str, ClassDict]
    enums: dict[str, EnumDict]


class PropertyTablePropertyDict(TypedDict):
    """A property table column: the buffer view of its values."""

    values: int


#: A property table: ``count`` rows of one class ("class" is a Python keyword, hence the functional form).
PropertyTableDict = TypedDict(
    "PropertyTableDict",
    {"name": str, "class": str, "count": int, "properties": dict[str, PropertyTablePropertyDict]},
)


class StructuralMetadataDict(TypedDict):
    """The EXT_structural_metadata object at the glTF root."""

    schema: SchemaDict
    propertyTables: list[PropertyTableDict]


@dataclass(frozen=True)
class Property:
    """One property: a scalar of ``component`` type, or an enum named ``component`` (stored as UINT8)."""

    name: str
    kind: Literal["SCALAR", "ENUM"]
    component: str
    description: str
    no_data: float | None = None  # None: required; else the value stored for a feature that lacks it

    @property
    def dtype(self) -> type[np.generic]:
        """The numpy type of the column."""
        return np.uint8 if self.kind == "ENUM" else _DTYPES[self.component]


@dataclass(frozen=True)
class MetadataClass:
    """The metadata of one layer: a schema with one class, its properties (column order) and enums."""

    schema_id: str
    class_id: str
    name: str
    description: str
    table_name: str
    properties: tuple[Property, ...]
    enums: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)  # id → (names, description)

    def schema(self) -> SchemaDict:
        """The EXT_structural_metadata schema: one class, the enums it uses."""
        properties: dict[str, ClassPropertyDict] = {}
        for p in self.properties:
            prop = ClassPropertyDict(name=p.name, description=p.description, type=p.kind, required=p.no_data is None)
            if p.kind == "ENUM":
                prop["enumType"] = p.component
            else:
                prop["componentType"] = cast(ComponentType, p.component)
            if p.no_data is not None:
                prop["noData"] = p.no_data
            properties[p.name] = prop
        return SchemaDict(
            id=self.schema_id,
            name=f"rs3d {self.table_name}",
            description=f"{self.description} Lengths and heights in metres, areas in square metres.",
            version="1.0.0",
            classes={self.class_id: ClassDict(name=self.name, description=self.description, properties=properties)},
            enums={key: _enum(key, text, names) for key, (names, text) in self.enums.items()},
        )


class PropertyTable:
    """The property table of one glb: one row per feature, columns as little-endian arrays."""

    def __init__(
        self,
        columns: dict[str, npt.NDArray[np.generic]],
        class_id: str,
        name: str,
        enums: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.columns = columns
        self.class_id = class_id
        self.name = name
        self.enums = dict(enums or {})  # property name → enum names in value order

    @classmethod
    def from_rows(
        cls, meta: MetadataClass, rows: Sequence[Mapping[str, Any]], labels: Sequence[str]
    ) -> "PropertyTable":
        """Encode one row per feature (row ``i`` = ``rows[i]``); ``labels`` name the features in errors.

        Raises:
            InputError: A feature lacks a required property, has a non-finite number or an unknown enum value.
        """
        columns: dict[str, npt.NDArray[np.generic]] = {}
        enums: dict[str, tuple[str, ...]] = {}
        for p in meta.properties:
            present = [_present(row.get(p.name)) for row in rows]
            values = []
            for row, label, here in zip(rows, labels, present, strict=True):
                if not here and p.no_data is None:
                    raise InputError(f"{label} has no {p.name!r} attribute; extract it with rs3d first.")
                values.append(_encode(meta, p, row[p.name], label) if here else p.no_data)
            columns[p.name] = np.asarray(values, dtype=p.dtype)
            if p.kind == "ENUM":
                enums[p.name] = meta.enums[p.component][0]
        return cls(columns, meta.class_id, meta.table_name, enums)

    @property
    def count(self) -> int:
        """Number of rows."""
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def to_dict(self, first_buffer_view: int) -> PropertyTableDict:
        """The property table JSON, its columns in buffer views ``first_buffer_view`` onwards (column order)."""
        properties = {
            name: PropertyTablePropertyDict(values=first_buffer_view + i) for i, name in enumerate(self.columns)
        }
        table: PropertyTableDict = {
            "name": self.name,
            "class": self.class_id,
            "count": self.count,
            "properties": properties,
        }
        return table

    def column_bytes(self) -> list[bytes]:
        """Each column's little-endian bytes, in column order (unpadded)."""
        return [np.ascontiguousarray(v).astype(v.dtype.newbyteorder("<")).tobytes() for v in self.columns.values()]

    def decoded(self) -> list[dict[str, float | int | str]]:
        """Rows as attribute dicts, enums back to their names (float32 values widened to float)."""
        rows: list[dict[str, float | int | str]] = []
        for i in range(self.count):
            row: dict[str, float | int | str] = {}
            for name, column in self.columns.items():
                value = column[i].item()
                row[name] = self.enums[name][int(value)] if name in self.enums else value
            rows.append(row)
        return rows

    @classmethod
    def from_dict(cls, table: PropertyTableDict, views: list[bytes], schema: SchemaDict) -> "PropertyTable":
        """Decode a property table from its JSON, the bytes of the glb's buffer views and the schema.

        Raises:
            InputError: The table's class or one of its columns is not in the schema.
        """
        klass = schema["classes"].get(table["class"])
        if klass is None:
            raise InputError(f"The property table's class {table['class']!r} is not in the glb's schema.")
        columns: dict[str, npt.NDArray[np.generic]] = {}
        enums: dict[str, tuple[str, ...]] = {}
        for name, column in table["properties"].items():
            if name not in klass["properties"]:
                raise InputError(f"The property table's column {name!r} is not a property of its class.")
            prop = klass["properties"][name]
            enum_id = prop.get("enumType")
            dtype = np.uint8 if enum_id else _DTYPES[prop.get("componentType", "FLOAT32")]
            if enum_id:
                enums[name] = tuple(v["name"] for v in sorted(schema["enums"][enum_id]["values"], key=_value_of))
            data = views[column["values"]]
            columns[name] = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).copy()
        return cls(columns, table["class"], table["name"], enums)


def _value_of(value: EnumValueDict) -> int:
    return value["value"]


def _enum(name: str, description: str, names: tuple[str, ...]) -> EnumDict:
    values = [EnumValueDict(name=n, value=i) for i, n in enumerate(names)]
    return EnumDict(name=name, description=description, valueType="UINT8", values=values)


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _encode(meta: MetadataClass, p: Property, value: object, label: str) -> float | int:
    if p.kind == "ENUM":
        names = meta.enums[p.component][0]
        if value not in names:
            raise InputError(f"{label} has {p.name} {value!r}; expected one of {', '.join(names)}.")
        return names.index(str(value))
    number = float(cast(float, value))
    if not math.isfinite(number):
        raise InputError(f"{label} has a non-finite {p.name} ({value!r}).")
    return number if p.component == "FLOAT32" else int(round(number))
