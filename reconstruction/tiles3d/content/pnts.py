"""3D Tiles 1.0 point cloud content (``.pnts``): a feature table of positions and colours, a batch table.

Only what rs3d writes is read and written: float32 ``POSITION`` (optionally under ``RTC_CENTER``), ``RGB``
bytes, ``BATCH_ID`` (one per point) with ``BATCH_LENGTH``, and binary batch-table columns of SCALAR
numbers. Every section is padded to 8 bytes, as the format asks.
"""

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reconstruction.errors import InputError

_HEADER = struct.Struct("<4sIIIIII")
_ALIGN = 8
_TYPES: dict[str, np.dtype[Any]] = {
    "UNSIGNED_BYTE": np.dtype("u1"),
    "UNSIGNED_SHORT": np.dtype("<u2"),
    "UNSIGNED_INT": np.dtype("<u4"),
    "FLOAT": np.dtype("<f4"),
}
_NAMES = {v: k for k, v in _TYPES.items()}


@dataclass(frozen=True)
class Pnts:
    """One point tile.

    Attributes:
        positions: (N, 3) float32 positions (relative to ``rtc_center`` when it is set), metres.
        rgb: (N, 3) uint8 colours, or None.
        batch_ids: (N,) unsigned batch id of each point (rows of ``properties``), or None.
        properties: batch-table columns: one value per batch id when ``batch_ids`` is set, else per point.
        rtc_center: (3,) float64 offset of the positions, or None.
    """

    positions: npt.NDArray[np.float32]
    rgb: npt.NDArray[np.uint8] | None = None
    batch_ids: npt.NDArray[np.unsignedinteger[Any]] | None = None
    properties: dict[str, npt.NDArray[Any]] = field(default_factory=dict)
    rtc_center: npt.NDArray[np.float64] | None = None

    def __len__(self) -> int:
        """Number of points."""
        return int(self.positions.shape[0])

    @property
    def batch_length(self) -> int:
        """Rows of the batch table: batch ids when there are, else points."""
        return len(self) if self.batch_ids is None else (int(self.batch_ids.max()) + 1 if len(self.batch_ids) else 0)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Pnts":
        """Parse ``.pnts`` bytes.

        Raises:
            InputError: The bytes are not a pnts tile rs3d can read.
        """
        if len(data) < _HEADER.size or data[:4] != b"pnts":
            raise InputError("The tile content is not a pnts tile (no 'pnts' magic); rewrite the tileset.")
        _, _, length, ft_json, ft_bin, bt_json, bt_bin = _HEADER.unpack_from(data)
        start = _HEADER.size
        feature = json.loads(data[start : start + ft_json])
        ft_body = data[start + ft_json : start + ft_json + ft_bin]
        start += ft_json + ft_bin
        batch = json.loads(data[start : start + bt_json]) if bt_json else {}
        bt_body = data[start + bt_json : start + bt_json + bt_bin]
        n = int(feature["POINTS_LENGTH"])
        if "POSITION" not in feature:
            raise InputError("The pnts tile has no float POSITION; rewrite the tileset.")
        positions = _column(ft_body, feature["POSITION"], np.dtype("<f4"), n * 3).reshape(n, 3)
        rgb = _column(ft_body, feature["RGB"], np.dtype("u1"), n * 3).reshape(n, 3) if "RGB" in feature else None
        batch_ids = None
        if "BATCH_ID" in feature:
            kind = _TYPES[feature["BATCH_ID"].get("componentType", "UNSIGNED_SHORT")]
            batch_ids = _column(ft_body, feature["BATCH_ID"], kind, n)
        rows = int(feature.get("BATCH_LENGTH", n)) if batch_ids is not None else n
        properties = {
            name: _column(bt_body, ref, _TYPES[ref["componentType"]], rows)
            for name, ref in batch.items()
            if isinstance(ref, dict) and "byteOffset" in ref
        }
        rtc = np.asarray(feature["RTC_CENTER"], dtype=np.float64) if "RTC_CENTER" in feature else None
        return cls(positions.astype(np.float32), rgb, batch_ids, properties, rtc)

    @classmethod
    def from_file(cls, path: Path) -> "Pnts":
        """Read a ``.pnts`` file."""
        return cls.from_bytes(Path(path).read_bytes())

    def to_bytes(self) -> bytes:
        """The ``.pnts`` bytes (feature and batch table JSON and binary each padded to 8 bytes).

        Raises:
            InputError: An array's length does not match the points or the batch table rows.
        """
        n = len(self)
        if self.positions.shape != (n, 3) or (self.rgb is not None and self.rgb.shape != (n, 3)):
            raise InputError("A pnts tile needs (N, 3) positions and, when given, (N, 3) colours.")
        if self.batch_ids is not None and self.batch_ids.shape != (n,):
            raise InputError("A pnts tile needs one batch id per point.")
        rows = self.batch_length
        feature: dict[str, Any] = {"POINTS_LENGTH": n}
        ft_body = bytearray()
        feature["POSITION"] = {"byteOffset": _append(ft_body, self.positions.astype("<f4"))}
        if self.rgb is not None:
            feature["RGB"] = {"byteOffset": _append(ft_body, self.rgb.astype("u1"))}
        if self.batch_ids is not None:
            kind = np.dtype("<u2") if rows <= np.iinfo(np.uint16).max + 1 else np.dtype("<u4")
            feature["BATCH_LENGTH"] = rows
            offset = _append(ft_body, self.batch_ids.astype(kind))
            feature["BATCH_ID"] = {"byteOffset": offset, "componentType": _NAMES[kind]}
        if self.rtc_center is not None:
            feature["RTC_CENTER"] = [float(v) for v in self.rtc_center]
        batch: dict[str, Any] = {}
        bt_body = bytearray()
        for name, values in self.properties.items():
            if values.shape != (rows,):
                raise InputError(f"The pnts batch-table column {name!r} has shape {values.shape}, expected ({rows},).")
            kind = np.dtype(values.dtype).newbyteorder("<")
            offset = _append(bt_body, values.astype(kind))
            batch[name] = {"byteOffset": offset, "componentType": _NAMES[kind], "type": "SCALAR"}
        ft_json = _padded_json(feature, _HEADER.size)
        bt_json = _padded_json(batch, 0) if batch else b""
        length = _HEADER.size + len(ft_json) + len(ft_body) + len(bt_json) + len(bt_body)
        header = _HEADER.pack(b"pnts", 1, length, len(ft_json), len(ft_body), len(bt_json), len(bt_body))
        return header + ft_json + bytes(ft_body) + bt_json + bytes(bt_body)

    def save_as(self, path: Path) -> None:
        """Write the tile to ``path``."""
        Path(path).write_bytes(self.to_bytes())


def _column(body: bytes, ref: dict[str, Any], dtype: np.dtype[Any], count: int) -> npt.NDArray[Any]:
    offset = int(ref.get("byteOffset", 0))
    if offset + count * dtype.itemsize > len(body):
        raise InputError("A pnts column runs past the end of its table; rewrite the tileset.")
    return np.frombuffer(body, dtype=dtype, count=count, offset=offset).copy()


def _append(body: bytearray, values: npt.NDArray[Any]) -> int:
    body += b"\0" * (-len(body) % _ALIGN)
    offset = len(body)
    body += np.ascontiguousarray(values).tobytes()
    body += b"\0" * (-len(body) % _ALIGN)
    return offset


def _padded_json(value: dict[str, Any], start: int) -> bytes:
    # JSON that begins ``start`` bytes past an 8-byte boundary must end on one; it is padded with spaces.
    text = json.dumps(value, separators=(",", ":")).encode()
    return text + b" " * (-(len(text) + start) % _ALIGN)
