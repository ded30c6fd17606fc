"""Measure which cell size a LiDAR density supports: the building mask of LiDAR-only runs against the truth.

Usage: .venv/bin/python -m bench.bench_cell_size [--size 160] [--seeds 3 5] [--with-ortho]

A generated town (``--size`` metres, each seed one town) is sampled as colourised LiDAR
(:func:`reconstruction.synthetic.lidar.write_scene_lidar`) at each density, and reconstructed from the
LiDAR alone on 0.5, 1 and 2 m cells (``resolution_m``), without the model. Scored on the town's 0.5 m truth:
``IoU`` of the building cells (the run's ``labels.tif`` class 6, read back by nearest cell), ``unfilled %``
of the DSM's cells left without a height (no return, and not a small gap the run fills), and ``found`` the
buildings the run modelled over those the town has (a run refused as too sparse scores 0 and 100 %).
``good`` is the set of cells whose IoU is within 0.02 of the best at that density; ``rule`` is the cell
:func:`reconstruction.io.cell_size.cell_for_density` picks, which should be one of them.

``--with-ortho`` scores orthophoto + LiDAR runs instead (the town's own orthophoto beside its LiDAR), the
case that used a fixed 0.5 m before the rule.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.warp import reproject

from reconstruction import PipelineConfig, PipelineInputs, run_pipeline
from reconstruction.config import PredictionConfig
from reconstruction.errors import InputError
from reconstruction.io.cell_size import cell_for_density
from reconstruction.synthetic import SceneConfig, SyntheticScene, generate_scene, write_scene
from reconstruction.synthetic.lidar import write_scene_lidar

DENSITIES = (0.3, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
CELLS = (0.5, 1.0, 2.0)
BUILDING = 6


def score(scene: SyntheticScene, out: Path) -> tuple[float, float]:
    """Building IoU against the truth on its 0.5 m grid, and the share of DSM cells without a return."""
    truth = scene.labels == BUILDING
    with rasterio.open(out / "rasters" / "labels.tif") as src:
        labels = np.zeros(truth.shape, dtype=np.uint8)
        reproject(
            rasterio.band(src, 1),
            labels,
            dst_transform=scene.dsm_transform,
            dst_crs=scene.crs,
            resampling=Resampling.nearest,
        )
    with rasterio.open(out / "rasters" / "dsm.tif") as src:
        empty = float((src.read(1) == src.nodata).mean())
    found = labels == BUILDING
    return float((found & truth).sum() / max((found | truth).sum(), 1)), empty


def main() -> None:
    """Print one row per density: IoU / unfilled % / found for each cell size, the good cells and the rule's."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=float, default=160.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 5])
    parser.add_argument("--with-ortho", action="store_true", help="orthophoto + LiDAR runs instead of LiDAR alone")
    args = parser.parse_args()
    scenes = [generate_scene(SceneConfig(size_m=args.size, seed=seed)) for seed in args.seeds]
    cfg_model = PredictionConfig(refine_ground=False)
    header = " | ".join(f"{c:g} m IoU / unfilled % / found" for c in CELLS)
    print(f"| pts/m² | {header} | good | rule |")
    print("|" + "---|" * (len(CELLS) + 3))
    with tempfile.TemporaryDirectory() as tmp:
        for density in DENSITIES:
            results = {}
            for cell in CELLS:
                ious, empties, found, truth = [], [], 0, 0
                for scene in scenes:
                    folder = Path(tmp) / f"{scene.config.seed}-{density}-{cell}"
                    folder.mkdir()
                    laz = write_scene_lidar(scene, folder / "town.laz", density, "rgb")
                    ortho = write_scene(scene, folder)["ortho"] if args.with_ortho else None
                    cfg = PipelineConfig(resolution_m=cell, prediction=cfg_model)
                    try:
                        result = run_pipeline(PipelineInputs(ortho=ortho, lidar=laz), cfg, folder / "run")
                    except InputError:  # too few cells hold a return: the run refuses, IoU 0
                        ious.append(0.0)
                        empties.append(1.0)
                        truth += len(scene.buildings)
                        continue
                    iou, empty = score(scene, folder / "run")
                    ious.append(iou)
                    empties.append(empty)
                    found += result.manifest["stats"]["features"]["building"]
                    truth += len(scene.buildings)
                results[cell] = (float(np.mean(ious)), float(np.mean(empties)), f"{found}/{truth}")
            best = max(r[0] for r in results.values())
            good = ", ".join(f"{c:g}" for c, r in results.items() if r[0] >= best - 0.02)
            cells = " | ".join(f"{r[0]:.3f} / {100 * r[1]:.0f} / {r[2]}" for r in results.values())
            print(f"| {density:g} | {cells} | {good} m | {cell_for_density(density):g} m |", flush=True)


if __name__ == "__main__":
    main()
