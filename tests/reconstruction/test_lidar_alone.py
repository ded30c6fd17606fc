"""LiDAR alone is a complete area: heights, terrain and classes from the points, the orthophoto from their colours."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.warp import reproject

from reconstruction import PipelineConfig, PipelineInputs, run_pipeline
from reconstruction.chips import plan_chips
from reconstruction.chips.merge import merge_chips
from reconstruction.config import PredictionConfig
from reconstruction.synthetic import SceneConfig, SyntheticScene, generate_scene
from reconstruction.synthetic.lidar import write_scene_lidar

#: Without the model: these runs test what the points give (the model's refinement has its own tests).
NO_MODEL = PipelineConfig(prediction=PredictionConfig(refine_ground=False))


@pytest.fixture(scope="module")
def town() -> SyntheticScene:
    """A 120 m generated town with a NIR band (for colourised RGB + NIR LiDAR)."""
    return generate_scene(SceneConfig(size_m=120.0, seed=3, nir=True))


@pytest.fixture(scope="module")
def coloured_run(town: SyntheticScene, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """The town's LiDAR (15 points/m², RGB + NIR) reconstructed alone."""
    folder = tmp_path_factory.mktemp("coloured")
    laz = write_scene_lidar(town, folder / "town.laz", 15.0, "rgb+nir")
    reports: list[tuple] = []
    result = run_pipeline(PipelineInputs(lidar=laz), NO_MODEL, folder / "run", lambda *r: reports.append(r))
    return {**result.manifest, "reports": reports}, folder / "run"


def test_coloured_lidar_alone_gives_buildings_trees_terrain_and_its_orthophoto(coloured_run, town):
    manifest, out = coloured_run
    assert manifest["height_source"] == "lidar"
    features = manifest["stats"]["features"]
    assert abs(features["building"] - len(town.buildings)) <= 2
    assert features["tree"] >= 0.5 * len(town.trees)
    assert {"terrain", "buildings", "trees"} <= set(manifest["layers"])
    assert manifest["imagery"]["ortho"]["source"] == "lidar colours"
    assert (out / manifest["imagery"]["ortho"]["path"]).is_file()
    with rasterio.open(out / manifest["rasters"]["ortho"]) as src:
        assert (src.count, src.dtypes[0], src.nodata) == (4, "uint8", 0)  # R, G, B and the points' NIR
        assert src.res == (0.5, 0.5) and src.crs.to_epsg() == 32631
        ortho = src.read()
    truth = town.ortho[:, ::2, ::2].astype(float)  # the scene's 0.25 m orthophoto on the 0.5 m cells
    assert (ortho > 0).all(axis=0).mean() > 0.99, "small gaps are filled"
    assert np.median(np.abs(ortho.astype(float) - truth)) < 12
    with rasterio.open(out / manifest["rasters"]["labels"]) as src:
        labels = src.read(1)
    built = town.labels == 6
    found = labels == 6
    assert (built & found).sum() / (built | found).sum() > 0.85


def test_the_cell_size_is_chosen_from_the_density_and_reported(coloured_run):
    manifest, _ = coloured_run
    cell = manifest["grid"]["cell_size"]
    assert cell == {"resolution_m": 0.5, "source": "lidar density", "lidar_points_per_m2": pytest.approx(15, rel=0.01)}
    logged = [message for stage, _, message in manifest["reports"] if stage == "inputs"]
    assert any("Cells of 0.5 m, from the LiDAR's 15 points/m²" in message for message in logged)
    assert not any("points/m²" in warning for warning in manifest["warnings"]), "no warning at a normal density"


@pytest.mark.parametrize(("colour", "why"), [("none", "carry no colour"), ("zero", "colour fields are all zero")])
def test_lidar_without_colour_says_so_and_drapes_its_classes(town, tmp_path, colour, why):
    laz = write_scene_lidar(town, tmp_path / "town.laz", 4.0, colour)
    manifest = run_pipeline(PipelineInputs(lidar=laz), NO_MODEL, tmp_path / "run").manifest
    warning = next(w for w in manifest["warnings"] if "cannot make an orthophoto" in w)
    assert why in warning and "classes in map colours" in warning and "Add an orthophoto" in warning
    assert manifest["imagery"]["ortho"]["source"] == "class colours"
    assert "ortho" not in manifest["rasters"]
    with rasterio.open(tmp_path / "run" / manifest["rasters"]["drape"]) as src:
        drape = src.read()
    with rasterio.open(tmp_path / "run" / manifest["rasters"]["labels"]) as src:
        labels = src.read(1)
    assert drape.shape[0] == 3
    red, green = drape[0].astype(int), drape[1].astype(int)
    assert (green > red)[labels == 5].mean() > 0.9, "trees are drawn green"
    assert (red > green)[labels == 6].mean() > 0.9, "buildings red"
    assert manifest["stats"]["features"]["building"] >= len(town.buildings) - 2


def test_sparse_lidar_alone_is_computed_on_2_m_cells_with_a_warning(town, tmp_path):
    laz = write_scene_lidar(town, tmp_path / "town.laz", 0.3, "rgb")
    manifest = run_pipeline(PipelineInputs(lidar=laz), NO_MODEL, tmp_path / "run").manifest
    assert manifest["grid"]["resolution_m"] == 2.0
    assert any("0.3 points/m²" in w and "2 m cells" in w and "resolution_m" in w for w in manifest["warnings"])
    assert manifest["stats"]["features"]["building"] >= len(town.buildings) - 4


def test_resolution_m_overrides_the_density_rule(town, tmp_path):
    laz = write_scene_lidar(town, tmp_path / "town.laz", 0.3, "rgb")
    cfg = PipelineConfig(resolution_m=1.5, prediction=PredictionConfig(refine_ground=False))
    manifest = run_pipeline(PipelineInputs(lidar=laz), cfg, tmp_path / "run").manifest
    assert manifest["grid"]["cell_size"]["source"] == "config" and manifest["grid"]["resolution_m"] == 1.5


def test_lidar_alone_in_chips_merges_into_one_orthophoto(town, tmp_path):
    laz = write_scene_lidar(town, tmp_path / "town.laz", 8.0, "rgb")
    plan = plan_chips(PipelineInputs(lidar=laz), NO_MODEL, 60.0, 24.0)
    folders = [tmp_path / f"chip-{chip.index}" for chip in plan.chips]
    for chip, folder in zip(plan.chips, folders, strict=True):
        run_pipeline(plan.inputs, NO_MODEL, folder, chip=(plan, chip))
    merged = merge_chips(plan, folders, tmp_path / "merged", NO_MODEL)
    assert merged["imagery"]["ortho"]["source"] == "lidar colours"
    with rasterio.open(tmp_path / "merged" / merged["rasters"]["ortho"]) as src:
        assert (src.width, src.height) == (plan.grid.width, plan.grid.height) and src.count == 3
        assert (src.read(1) > 0).mean() > 0.99


def test_montpellier_lidar_alone_runs_end_to_end_on_its_classes(montpellier, tmp_path):
    """Real IGN LiDAR HD of a 50 m block, without its orthophoto or DSM: its RGB + NIR fields are all zero."""
    inputs = PipelineInputs(lidar=montpellier / "lidar_77055_627760.laz")
    manifest = run_pipeline(inputs, NO_MODEL, tmp_path / "run").manifest
    assert manifest["grid"]["resolution_m"] == 0.5 and manifest["grid"]["cell_size"]["source"] == "lidar density"
    assert any("colour fields are all zero" in w for w in manifest["warnings"])
    assert manifest["imagery"]["ortho"]["source"] == "class colours"
    assert manifest["stats"]["features"]["building"] >= 1 and manifest["stats"]["features"]["tree"] >= 1
    with rasterio.open(montpellier / "dsm_50cm.tif") as ign, rasterio.open(tmp_path / "run/rasters/dsm.tif") as ours:
        theirs = ign.read(1, masked=True).filled(np.nan)
        mine = np.full_like(theirs, np.nan)  # IGN's cells are centred on whole metres: ours, half a cell off
        reproject(rasterio.band(ours, 1), mine, dst_transform=ign.transform, dst_crs=ign.crs, dst_nodata=np.nan)
    assert np.nanmedian(np.abs(mine - theirs)) < 0.3, "the heights are IGN's own DSM's"


def test_colourised_ign_lidar_alone_makes_a_true_orthophoto(shared_data, tmp_path):
    """Real IGN LiDAR HD with RGB + NIR (about 50 m x 50 m of houses, 17 points/m²) alone."""
    laz = shared_data / "real" / "colourised_lidar" / "ign_houses_874000_6617000_rgbnir.laz"
    manifest = run_pipeline(PipelineInputs(lidar=laz), NO_MODEL, tmp_path / "run").manifest
    assert manifest["imagery"]["ortho"]["source"] == "lidar colours"
    assert manifest["grid"]["resolution_m"] == 0.5
    assert (tmp_path / "run" / manifest["imagery"]["ortho"]["path"]).is_file()
    with rasterio.open(tmp_path / "run" / manifest["rasters"]["ortho"]) as src:
        ortho = src.read()
    assert ortho.shape[0] == 4 and (ortho[0] > 0).mean() > 0.95
    assert len(np.unique(ortho[:3].reshape(3, -1), axis=1).T) > 1000, "a photograph, not a few flat colours"


def test_decimated_ign_lidar_gets_2_m_cells(shared_data):
    from reconstruction.io import inspect_lidar
    from reconstruction.io.area import cell_size, working_grid

    path = shared_data / "ign_lidarhd" / "test_semis_2021_0382_6565_LA93_IGN69_cropped.laz"
    lidar = inspect_lidar(path, None, 10**8)
    grid = working_grid(None, None, lidar, PipelineConfig())
    cell = cell_size(None, None, lidar, grid.crs, PipelineConfig())
    assert grid.resolution == 2.0 and cell.source == "lidar density"
    assert cell.lidar_density == pytest.approx(0.29, abs=0.01)
