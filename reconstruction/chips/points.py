"""Concatenate the chips' LAZ files into one, a chunk at a time (laspy streams both ways)."""

from collections.abc import Sequence
from pathlib import Path

import laspy
import numpy as np
from pyproj import CRS

_CHUNK = 2_000_000
_FIELDS = ("red", "green", "blue", "classification", "intensity")


def merge_las(parts: Sequence[Path], out: Path, crs: CRS) -> int:
    """Write every point of ``parts`` to ``out`` (LAZ by suffix), millimetre precision; return the count.

    The chips' files each have their own offsets; points are re-encoded with one offset for the area.
    """
    mins = []
    for part in parts:
        with laspy.open(part) as reader:
            if reader.header.point_count:
                mins.append(reader.header.mins)
    header = laspy.LasHeader(point_format=7, version="1.4")
    header.offsets = np.floor(np.min(mins, axis=0)) if mins else np.zeros(3)
    header.scales = np.array([0.001, 0.001, 0.001])
    header.add_crs(crs)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with laspy.open(out, mode="w", header=header) as writer:
        for part in parts:
            with laspy.open(part) as reader:
                for chunk in reader.chunk_iterator(_CHUNK):
                    record = laspy.ScaleAwarePointRecord.zeros(len(chunk), header=header)
                    record.x, record.y, record.z = chunk.x, chunk.y, chunk.z
                    for name in _FIELDS:
                        record[name] = chunk[name]
                    writer.write_points(record)
                    written += len(chunk)
    return written
