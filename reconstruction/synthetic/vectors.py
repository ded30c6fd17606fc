"""Write a generated town's building footprints as a vector file (a stand-in for a cadastre)."""

from pathlib import Path

from reconstruction.synthetic.config import SyntheticScene


def write_footprints(scene: SyntheticScene, path: Path) -> Path:
    """Write the scene's building footprints with their attributes.

    The format follows the suffix: ``.gpkg`` (GeoPackage), ``.geojson`` or ``.csv`` (a ``WKT`` column
    plus the attributes; CSV carries no CRS, so readers need the scene's EPSG code).

    Args:
        scene: a scene from :func:`reconstruction.synthetic.generate_scene`.
        path: the file to write (its folder is created).

    Returns:
        ``path``.
    """
    import geopandas as gpd

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{k: v for k, v in b.items() if k != "footprint"} for b in scene.buildings]
    frame = gpd.GeoDataFrame(rows, geometry=[b["footprint"] for b in scene.buildings], crs=scene.crs)
    if path.suffix.lower() == ".csv":
        table = frame.drop(columns="geometry")
        table.insert(0, "WKT", frame.geometry.to_wkt())
        table.to_csv(path, index=False)
    else:
        frame.to_file(path, driver="GeoJSON" if path.suffix.lower() == ".geojson" else "GPKG")
    return path
