"""EXT_structural_metadata for LoD1 buildings: the "building" schema and binary property tables.

The schema has one class, ``building``; a glb holds one property table of that class whose row ``i`` is
the building with feature id ``i``. Columns are little-endian arrays, each in its own buffer view that
starts on an 8-byte boundary (as the extension requires); enums are stored as their UINT8 values.
"""

from collections.abc import Sequence
from typing import Literal, NotRequired, TypedDict, cast

import numpy as np
import numpy.typing as npt

from reconstruction.errors import InputError
from reconstruction.objects.buildings import Building

#: Schema identifier, class and table names written into every glb.
SCHEMA_ID = "rs3d_buildings"
BUILDING_CLASS = "building"

#: Enum values in storage order (the stored integer is the index).
BUILDING_TYPES: tuple[str, ...] = ("house", "apartment block", "commercial/industrial hall", "high-rise", "annex")
ROOF_TYPES: tuple[str, ...] = ("flat", "pitched")

#: Byte alignment of every buffer view holding a property column.
ALIGNMENT = 8

ComponentType = Literal["UINT8", "UINT16", "UINT32", "FLOAT32"]


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


#: (property, type, component type or enum, numpy dtype, description) in column order.
_PROPERTIES: tuple[tuple[str, Literal["SCALAR", "ENUM"], str, type[np.generic], str], ...] = (
    ("id", "SCALAR", "UINT32", np.uint32, "Building identifier, unique within the area."),
    ("building_type", "ENUM", "BuildingType", np.uint8, "Use class from size and height rules."),
    ("roof_type", "ENUM", "RoofType", np.uint8, "Flat or pitched, from the slopes of the surface model."),
    ("height_m", "SCALAR", "FLOAT32", np.float32, "Height above ground (90th percentile of the nDSM), metres."),
    ("eave_m", "SCALAR", "FLOAT32", np.float32, "Eave height above ground (25th percentile), metres."),
    ("ridge_m", "SCALAR", "FLOAT32", np.float32, "Ridge height above ground (99th percentile), metres."),
    ("area_m2", "SCALAR", "FLOAT32", np.float32, "Footprint area, square metres."),
    ("ground_m", "SCALAR", "FLOAT32", np.float32, "Ground elevation (median of the DTM), metres in the CRS datum."),
    ("floors", "SCALAR", "UINT16", np.uint16, "Estimated number of storeys above ground."),
)


def building_schema() -> SchemaDict:
    """The EXT_structural_metadata schema of LoD1 buildings (one class, two enums)."""
    properties: dict[str, ClassPropertyDict] = {}
    for name, kind, component, _, description in _PROPERTIES:
        prop = ClassPropertyDict(name=name, description=description, type=kind, required=True)
        if kind == "ENUM":
            prop["enumType"] = component
        else:
            prop["componentType"] = cast(ComponentType, component)
        properties[name] = prop
    return SchemaDict(
        id=SCHEMA_ID,
        name="rs3d buildings",
        description="LoD1 buildings reconstructed by rs3d; heights in metres, areas in square metres.",
        version="1.0.0",
        classes={BUILDING_CLASS: ClassDict(name="Building", description="An LoD1 building.", properties=properties)},
        enums={
            "BuildingType": _enum("BuildingType", "Use class of a building.", BUILDING_TYPES),
            "RoofType": _enum("RoofType", "Roof shape.", ROOF_TYPES),
        },
    )


class PropertyTable:
    """The ``building`` property table of one glb: one row per building, columns as little-endian bytes."""

    def __init__(self, columns: dict[str, npt.NDArray[np.generic]]) -> None:
        self.columns = columns

    @classmethod
    def from_buildings(cls, buildings: Sequence[Building]) -> "PropertyTable":
        """Encode the attributes of ``buildings`` (row ``i`` = ``buildings[i]``).

        Raises:
            InputError: A building lacks an attribute or has an unknown building or roof type.
        """
        columns: dict[str, npt.NDArray[np.generic]] = {}
        for name, kind, component, dtype, _ in _PROPERTIES:
            values = [_value(b, name, kind, component) for b in buildings]
            columns[name] = np.asarray(values, dtype=dtype)
        return cls(columns)

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
            "name": "buildings",
            "class": BUILDING_CLASS,
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
            for name, kind, component, _, _ in _PROPERTIES:
                value = self.columns[name][i].item()
                if kind == "ENUM":
                    row[name] = (BUILDING_TYPES if component == "BuildingType" else ROOF_TYPES)[int(value)]
                else:
                    row[name] = value
            rows.append(row)
        return rows

    @classmethod
    def from_dict(cls, table: PropertyTableDict, views: list[bytes]) -> "PropertyTable":
        """Decode a property table from its JSON and the bytes of the glb's buffer views.

        Raises:
            InputError: The table lacks a column of the ``building`` class.
        """
        columns: dict[str, npt.NDArray[np.generic]] = {}
        for name, _, _, dtype, _ in _PROPERTIES:
            if name not in table["properties"]:
                raise InputError(f"The property table has no {name!r} column; it is not an rs3d building table.")
            view = table["properties"][name]["values"]
            columns[name] = np.frombuffer(views[view], dtype=np.dtype(dtype).newbyteorder("<")).copy()
        return cls(columns)


def _enum(name: str, description: str, names: tuple[str, ...]) -> EnumDict:
    values = [EnumValueDict(name=n, value=i) for i, n in enumerate(names)]
    return EnumDict(name=name, description=description, valueType="UINT8", values=values)


def _value(building: Building, name: str, kind: str, component: str) -> float | int:
    if name == "id":
        return int(building.id)
    if name not in building.attributes:
        raise InputError(f"Building {building.id} has no {name!r} attribute; extract buildings with rs3d first.")
    value = building.attributes[name]
    if kind == "ENUM":
        names = BUILDING_TYPES if component == "BuildingType" else ROOF_TYPES
        if value not in names:
            raise InputError(f"Building {building.id} has {name} {value!r}; expected one of {', '.join(names)}.")
        return names.index(str(value))
    return float(value) if component == "FLOAT32" else int(value)
