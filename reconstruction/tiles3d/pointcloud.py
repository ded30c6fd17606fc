"""Point clouds to 3D Tiles: py3dtiles' octree of pnts, then one pickable feature per point.

py3dtiles builds the hierarchy (inner tiles hold a subsample of their children's points, ``refine: ADD``,
geometric errors from the point spacing) with ``classification`` and, for LiDAR, ``intensity`` as per-point
batch-table columns. Each tile is then rewritten with a ``BATCH_ID`` per point (0 .. N-1), which turns the
columns into a per-point property table: in CesiumJS 1.145 a pnts tile without ``BATCH_ID`` keeps its
columns as GPU property attributes that styles can read but ``scene.pick`` cannot (the whole tile is one
pick), while with ``BATCH_ID`` every point is a ``Cesium3DTileFeature`` whose ``getProperty`` gives its
class and intensity. The price: 2 bytes a point, and styles are evaluated per point on the CPU when they
change. ``scene.pickMetadata`` would read property attributes, but it is marked experimental, so we do not
build on it; glTF points with ``EXT_mesh_features`` would pick the same way as pnts with ``BATCH_ID``, at the
cost of replacing py3dtiles' tiler.
"""

from pathlib import Path

import laspy
import numpy as np
from pyproj import CRS

from reconstruction.errors import ProcessingError
from reconstruction.tiles3d.content.pnts import Pnts

_ECEF = CRS.from_epsg(4978)

#: Per-point properties of the tiles, as Cesium styles see them (``${classification}``, ``${intensity}``).
CLASS_PROPERTY, INTENSITY_PROPERTY = "classification", "intensity"


def write_pointcloud_tileset(las_path: Path, out_dir: Path, crs: CRS, jobs: int) -> Path:
    """Convert an uncompressed LAS file to a 3D Tiles point tileset placed in ECEF, one feature per point.

    py3dtiles is given an uncompressed LAS on purpose: its conversion can hang on some LAZ files. Every point
    carries ``classification`` (ASPRS code, UNSIGNED_BYTE) and, when any point of the file has a nonzero LAS
    intensity (LiDAR), ``intensity`` (UNSIGNED_SHORT, the sensor's value). Points built from a DSM or a
    prediction are written with intensity 0, so their tiles have no ``intensity`` at all rather than a made-up one.

    Args:
        las_path: LAS file in ``crs`` with classification and RGB (and intensity for LiDAR).
        out_dir: folder to create; it receives ``tileset.json``, ``preview.pnts`` and ``points/``.
        crs: CRS of the LAS coordinates (heights are taken as ellipsoidal by the conversion).
        jobs: worker processes for the conversion.

    Returns:
        Path of the written ``tileset.json``.

    Raises:
        ProcessingError: The conversion failed or wrote no tileset.
    """
    from py3dtiles.convert import convert  # heavy import (numba), only where needed

    fields = [CLASS_PROPERTY] + ([INTENSITY_PROPERTY] if _has_intensity(las_path) else [])
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        convert(
            [str(las_path)],
            outfolder=str(out_dir),
            overwrite=True,
            jobs=max(1, jobs),
            crs_in=crs,
            force_crs_in=True,
            crs_out=_ECEF,
            rgb=True,
            extra_fields=fields,
        )
    except Exception as err:  # noqa: BLE001 - py3dtiles raises many unrelated types; translate once here
        raise ProcessingError(f"Writing the point cloud 3D Tiles failed ({type(err).__name__}: {err}).") from err
    tileset = out_dir / "tileset.json"
    if not tileset.is_file():
        raise ProcessingError("The point cloud conversion finished without writing a tileset.json.")
    for path in out_dir.rglob("*.pnts"):
        _one_feature_per_point(path)
    return tileset


def _has_intensity(las_path: Path) -> bool:
    """Whether any point of the LAS file has a nonzero intensity (chunked: the file may be large)."""
    with laspy.open(las_path) as reader:
        return any(np.asarray(chunk.intensity).any() for chunk in reader.chunk_iterator(1 << 21))


def _one_feature_per_point(path: Path) -> None:
    """Rewrite a pnts tile with ``BATCH_ID`` = point index, so its batch table rows are its points."""
    tile = Pnts.from_file(path)
    if tile.batch_ids is not None or not len(tile):
        return
    properties = {name: np.asarray(values) for name, values in tile.properties.items()}
    if INTENSITY_PROPERTY in properties:
        properties[INTENSITY_PROPERTY] = properties[INTENSITY_PROPERTY].astype(np.uint16)
    batch_ids = np.arange(len(tile), dtype=np.uint32)
    Pnts(tile.positions, tile.rgb, batch_ids, properties, tile.rtc_center).save_as(path)
