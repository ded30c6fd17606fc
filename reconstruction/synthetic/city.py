"""Generate a synthetic town (plan, rasterise, render, record) and write it as GeoTIFFs."""

from pathlib import Path

import numpy as np
from affine import Affine

from reconstruction.synthetic.config import SceneConfig, SyntheticScene
from reconstruction.synthetic.geotiff import write_geotiff
from reconstruction.synthetic.layout import plan_layout
from reconstruction.synthetic.ortho import render_ortho
from reconstruction.synthetic.raster import Canvas, render_elevation
from reconstruction.synthetic.records import building_records, tree_records
from reconstruction.synthetic.seasons import season

__all__ = ["SceneConfig", "SyntheticScene", "generate_scene", "write_scene"]

_DEFAULT_CONFIG = SceneConfig()


def generate_scene(cfg: SceneConfig = _DEFAULT_CONFIG) -> SyntheticScene:
    """Generate a synthetic town deterministically from ``cfg``.

    The town is first planned as a vector layout in local metres, then rasterised onto
    the DSM grid and, separately, onto the finer orthophoto grid, so both rasters show
    exactly the same town. Every random draw comes from
    ``numpy.random.default_rng(cfg.seed)``: one configuration always yields identical arrays.

    Args:
        cfg: Scene size (metres), pixel sizes (metres), CRS placement, seed, season and
            whether to add a near-infrared band.

    Returns:
        The scene: RGB (or R, G, B, NIR) orthophoto at ``cfg.ortho_gsd_m``; DSM, DTM (metres) and ASPRS
        labels at ``cfg.gsd_m``; north-up transforms; building and tree records.
    """
    layout_rng, ortho_rng = np.random.default_rng(cfg.seed).spawn(2)
    season_rng = np.random.default_rng([cfg.seed, 1])  # leaf gaps and NIR noise; never touches the RGB stream
    lay = plan_layout(cfg, layout_rng)
    size = float(cfg.size_m)
    dsm, dtm, labels = render_elevation(lay, Canvas(size, cfg.dsm_shape[0]))
    canvas = Canvas(size, cfg.ortho_shape[0])
    ortho = render_ortho(lay, canvas, ortho_rng, season(cfg.season), cfg.nir, season_rng)
    x0, y0 = (float(c) for c in cfg.origin)
    return SyntheticScene(
        config=cfg,
        ortho=ortho,
        dsm=dsm,
        dtm=dtm,
        labels=labels,
        dsm_transform=Affine(cfg.gsd_m, 0.0, x0, 0.0, -cfg.gsd_m, y0 + size),
        ortho_transform=Affine(cfg.ortho_gsd_m, 0.0, x0, 0.0, -cfg.ortho_gsd_m, y0 + size),
        crs=f"EPSG:{int(cfg.epsg)}",
        buildings=building_records(lay, x0, y0),
        trees=tree_records(lay, x0, y0),
    )


def write_scene(scene: SyntheticScene, out_dir: Path) -> dict[str, Path]:
    """Write the scene's rasters as GeoTIFFs.

    Writes ``ortho.tif`` (RGB uint8, photometric RGB, no nodata; a fourth NIR band when the scene
    has one), ``dsm.tif`` and ``dtm.tif`` (float32 metres, nodata -9999) and ``labels.tif`` (uint8
    ASPRS codes, nodata 0), each with the scene's CRS and transform. The folder is created if needed.

    Args:
        scene: A scene from :func:`generate_scene`.
        out_dir: Destination folder.

    Returns:
        Paths keyed ``"ortho"``, ``"dsm"``, ``"dtm"`` and ``"labels"``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / f"{name}.tif" for name in ("ortho", "dsm", "dtm", "labels")}
    write_geotiff(paths["ortho"], scene.ortho, scene.ortho_transform, scene.crs, None)
    write_geotiff(paths["dsm"], scene.dsm[None], scene.dsm_transform, scene.crs, -9999.0)
    write_geotiff(paths["dtm"], scene.dtm[None], scene.dsm_transform, scene.crs, -9999.0)
    write_geotiff(paths["labels"], scene.labels[None], scene.dsm_transform, scene.crs, 0)
    return paths
