"""Footprints as training labels: buildings where the map says so, every other cell ignored."""

import csv
import json
from pathlib import Path

import laspy
import numpy as np
import pytest
import rasterio
import torch
from pyproj import CRS
from shapely.geometry import Polygon

from reconstruction.io import Grid
from reconstruction.synthetic import SceneConfig, generate_scene, write_footprints, write_scene
from reconstruction.training.footprints import BUILDING, footprint_labels, samples_from_footprints
from reconstruction.training.lidar import samples_from_lidar
from reconstruction.training.losses import MultiTaskLoss
from reconstruction.training.samples import IGNORE
from tests.conftest import require

SCENE = SceneConfig(size_m=80.0, seed=5, nir=True)  # 80 m town with many buildings, RGB+NIR


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    scene = generate_scene(SCENE)
    folder = tmp_path_factory.mktemp("footprint-town")
    files = write_scene(scene, folder)
    files["footprints"] = write_footprints(scene, folder / "buildings.gpkg")
    return scene, files


def test_footprint_labels_match_the_building_mask(town: tuple) -> None:
    scene, files = town
    (sample,) = samples_from_footprints(files["ortho"], files["footprints"], resolution=0.5)
    truth = scene.labels == 6
    predicted = sample.labels == BUILDING
    assert sample.image.shape == (4, *truth.shape)  # R, G, B, NIR on the 0.5 m grid
    iou = (predicted & truth).sum() / (predicted | truth).sum()
    assert iou > 0.97
    # Everything that is not a footprint is unknown, not ground; heights are unknown without a height raster.
    assert set(np.unique(sample.labels)) == {BUILDING, IGNORE}
    assert np.isnan(sample.height).all()


def test_footprints_from_csv_wkt_and_a_height_raster(town: tuple, tmp_path: Path) -> None:
    scene, files = town
    table = write_footprints(scene, tmp_path / "buildings.csv")
    (from_gpkg,) = samples_from_footprints(files["ortho"], files["footprints"])
    ndsm = tmp_path / "ndsm.tif"
    profile = {"driver": "GTiff", "dtype": "float32", "count": 1, "crs": scene.crs, "transform": scene.dsm_transform}
    with rasterio.open(ndsm, "w", width=scene.dsm.shape[1], height=scene.dsm.shape[0], **profile) as dst:
        dst.write((scene.dsm - scene.dtm)[None])
    (from_csv,) = samples_from_footprints(files["ortho"], table, epsg=32631, height_path=ndsm)
    np.testing.assert_array_equal(from_csv.labels, from_gpkg.labels)
    np.testing.assert_allclose(from_csv.height, scene.dsm - scene.dtm, atol=1e-4)


def test_the_loss_ignores_unknown_cells(town: tuple) -> None:
    scene, files = town
    (sample,) = samples_from_footprints(files["ortho"], files["footprints"])
    labels = torch.from_numpy(sample.labels[None, :64, :64])
    assert (labels == IGNORE).any() and (labels == BUILDING).any()
    height = torch.from_numpy(sample.height[None, :64, :64])
    logits = torch.randn(1, 6, 64, 64, requires_grad=True)
    pred_height = torch.rand(1, 1, 64, 64, requires_grad=True)
    logvar = torch.zeros(1, 1, 64, 64, requires_grad=True)
    terms = MultiTaskLoss()({"logits": logits, "height": pred_height, "height_logvar": logvar}, labels, height)
    terms["total"].backward()
    unknown = (labels == IGNORE)[0]
    assert logits.grad is not None and pred_height.grad is not None
    assert (logits.grad[0][:, unknown] == 0).all()
    assert (logits.grad[0][:, ~unknown].abs().sum(dim=0) > 0).all()
    # No height is known anywhere: no gradient reaches the height or its log-variance.
    assert (pred_height.grad == 0).all() and (logvar.grad is None or (logvar.grad == 0).all())


def test_amsterdam_bag_footprints_rasterise_onto_the_lidar_buildings(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "amsterdam"
    require((folder / "bag_buildings_demo.csv").is_file(), "shared/data/amsterdam is missing")
    # BAG rows hold coordinate lists; write them as WKT CSV, the form the footprint reader takes.
    table = tmp_path / "bag.csv"
    with (folder / "bag_buildings_demo.csv").open() as src, table.open("w", newline="") as dst:
        writer = csv.writer(dst)
        writer.writerow(["WKT"])
        for row in csv.DictReader(src):
            writer.writerow([Polygon(json.loads(row["polygon"])).wkt])
    from reconstruction.io import inspect_footprints, read_footprints

    laz = folder / "ahn_2386_9702.laz"
    (lidar,) = samples_from_lidar(laz, 0.5)
    header = laspy.read(str(laz)).header
    left, top = np.floor(header.mins[0] / 0.5) * 0.5, np.ceil(header.maxs[1] / 0.5) * 0.5
    h, w = lidar.labels.shape
    grid = Grid(CRS.from_epsg(28992), rasterio.Affine(0.5, 0, left, 0, -0.5, top), w, h)
    polygons = read_footprints(inspect_footprints(table, 28992), grid.crs, grid.bounds)
    labels = footprint_labels(polygons, grid)
    from_map, from_lidar = labels == BUILDING, lidar.labels == BUILDING
    iou = (from_map & from_lidar).sum() / (from_map | from_lidar).sum()
    assert iou > 0.7, iou  # measured 0.77 (0.85 on the other tile); LiDAR roofs overhang the cadastral outline
