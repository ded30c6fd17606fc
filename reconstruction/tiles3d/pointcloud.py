"""Point clouds to 3D Tiles (pnts with a per-point Classification batch property) through py3dtiles."""

from pathlib import Path

from pyproj import CRS

from reconstruction.errors import ProcessingError

_ECEF = CRS.from_epsg(4978)


def write_pointcloud_tileset(las_path: Path, out_dir: Path, crs: CRS, jobs: int) -> Path:
    """Convert an uncompressed LAS file to a 3D Tiles point tileset placed in ECEF.

    py3dtiles is given an uncompressed LAS on purpose: its conversion can hang on some LAZ files.

    Args:
        las_path: LAS file in ``crs`` with classification and RGB.
        out_dir: folder to create; it receives ``tileset.json`` and ``points/``.
        crs: CRS of the LAS coordinates (heights are taken as ellipsoidal by the conversion).
        jobs: worker processes for the conversion.

    Returns:
        Path of the written ``tileset.json``.
    """
    from py3dtiles.convert import convert  # heavy import (numba), only where needed

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
            extra_fields=["classification"],
        )
    except Exception as err:  # noqa: BLE001 - py3dtiles raises many unrelated types; translate once here
        raise ProcessingError(f"Writing the point cloud 3D Tiles failed ({type(err).__name__}: {err}).") from err
    tileset = out_dir / "tileset.json"
    if not tileset.is_file():
        raise ProcessingError("The point cloud conversion finished without writing a tileset.json.")
    return tileset
