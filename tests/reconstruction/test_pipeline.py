import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Transformer

from reconstruction import STAGES, PipelineConfig, PipelineInputs, gis, run_pipeline
from reconstruction.config import PredictionConfig
from reconstruction.errors import CRSError, MissingHeightError, OverlapError
from reconstruction.synthetic import SceneConfig, generate_scene, write_scene
from tests.reconstruction.tiles3d.tileset_reader import inside_box, read_glb_tiles, read_tileset_points


@pytest.fixture(scope="module")
def synthetic_run(small_scene_files, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    reports = []
    inputs = PipelineInputs(ortho=small_scene_files["ortho"], dsm=small_scene_files["dsm"])
    result = run_pipeline(inputs, PipelineConfig(), out, lambda *report: reports.append(report))
    return result, reports


def test_manifest_lists_every_output_relative_to_the_folder(synthetic_run):
    result, _ = synthetic_run
    manifest = json.loads((result.out_dir / "manifest.json").read_text())
    assert manifest["crs"] == "EPSG:32631"
    assert set(manifest["rasters"]) == {"dsm", "dtm", "ndsm", "labels"}
    assert set(manifest["layers"]) == {"pointcloud", "buildings", "terrain", "trees", "roads"}
    assert {"buildings", "features"} <= set(manifest["vectors"])
    assert list(manifest["timings"]) == [name for name, _ in STAGES]
    paths = [
        *manifest["layers"].values(),
        *manifest["rasters"].values(),
        *manifest["vectors"].values(),
        *manifest["pointclouds"].values(),
        manifest["imagery"]["ortho"]["path"],
    ]
    for relative in paths:
        assert not Path(relative).is_absolute()
        assert (result.out_dir / relative).is_file(), relative
    assert not (result.out_dir / "pointcloud" / "tiler-input.las").exists()


def test_manifest_describes_the_orthophoto_tiles(synthetic_run):
    result, _ = synthetic_run
    ortho = json.loads((result.out_dir / "manifest.json").read_text())["imagery"]["ortho"]
    tiles = ortho["tiles"]
    assert tiles["template"] == "imagery/ortho/{z}/{x}/{y}.webp" and tiles["tile_size"] == 512
    assert 0 <= tiles["minzoom"] <= tiles["maxzoom"] <= 21
    assert tiles["bounds_wgs84"] == pytest.approx(ortho["rectangle_wgs84"], abs=1e-5)
    for zoom in (tiles["minzoom"], tiles["maxzoom"]):
        assert list((result.out_dir / "imagery" / "ortho" / str(zoom)).rglob("*.webp"))
    assert (result.out_dir / ortho["path"]).is_file()


def test_progress_reports_every_stage_in_order(synthetic_run):
    _, reports = synthetic_run
    started = [stage for stage, fraction, _ in reports if fraction == 0.0]
    # No stereo images, nothing to register: those stages do no work and claim none in the job's log.
    assert started == [name for name, _ in STAGES if name not in ("stereo", "register")]
    claims = [m for _, _, m in reports if "stereo" in m.lower() or "Registering" in m]
    assert claims == []
    assert all(0.0 <= fraction <= 1.0 for _, fraction, _ in reports)


def test_reconstruction_matches_the_synthetic_truth(synthetic_run, small_scene):
    result, _ = synthetic_run
    with rasterio.open(result.out_dir / "rasters" / "dtm.tif") as src:
        dtm = src.read(1)
    with rasterio.open(result.out_dir / "rasters" / "labels.tif") as src:
        labels = src.read(1)
    assert np.median(np.abs(dtm - small_scene.dtm)) < 0.1
    truth, found = small_scene.labels == 6, labels == 6
    assert (truth & found).sum() / (truth | found).sum() > 0.75
    features = json.loads((result.out_dir / "vectors" / "features.geojson").read_text())["features"]
    buildings = [f for f in features if f["properties"]["class"] == "building"]
    assert len(buildings) >= 0.8 * len(small_scene.buildings)
    assert {"building_id", "height_m", "floors", "roof_type", "building_type", "area_m2"} <= set(
        buildings[0]["properties"]
    )
    assert len({b["properties"]["building_id"] for b in buildings}) == len(buildings)
    assert result.manifest["stats"]["points"] == int(np.isfinite(small_scene.dsm).sum())


def test_lod1_city_and_terrain_tin_are_written(synthetic_run):
    result, _ = synthetic_run
    city = json.loads((result.out_dir / result.manifest["vectors"]["cityjson"]).read_text())
    types = {o["type"] for o in city["CityObjects"].values()}
    assert {"Building", "TINRelief"} <= types
    assert city["metadata"]["referenceSystem"].endswith("/EPSG/0/32631")
    tin = result.manifest["stats"]["terrain_tin"]
    assert tin["max_error_m"] <= 0.25 + 1e-6 and tin["triangles"] < tin["cells"] / 10


def test_terrain_trees_and_roads_become_glb_layers_with_a_row_per_feature(synthetic_run):
    result, _ = synthetic_run
    stats = result.manifest["stats"]
    rows = {}
    for name in ("terrain", "trees", "roads"):
        tiles = [t for t in read_glb_tiles(result.out_dir / result.manifest["layers"][name]) if "glb" in t]
        rows[name] = [row for t in tiles for row in t["glb"].property_table().decoded()]
        assert tiles and all(inside_box(t["tile"]["boundingVolume"]["box"], t["frame_xyz"]) for t in tiles)
    assert len(rows["trees"]) == stats["features"]["tree"] > 0
    assert len(rows["roads"]) == stats["features"]["road"] > 0
    assert sum(row["triangles"] for row in rows["terrain"]) == stats["terrain_tin"]["triangles"]
    gpkg = gis.read_gpkg(result.out_dir / result.manifest["vectors"]["trees"])
    by_id = {row["tree_id"]: row for row in rows["trees"]}
    assert by_id[1]["height_m"] == pytest.approx(gpkg[0].attributes["height_m"], rel=1e-6)


def test_montpellier_point_cloud_matches_the_dsm(montpellier, tmp_path):
    inputs = PipelineInputs(ortho=montpellier / "ortho_rgb_20cm.tif", dsm=montpellier / "dsm_50cm.tif")
    result = run_pipeline(inputs, PipelineConfig(), tmp_path / "out")
    assert result.manifest["crs"] == "EPSG:2154"
    assert any("without an EPSG identity" in w for w in result.warnings)
    leaves = read_tileset_points(result.out_dir / result.manifest["layers"]["pointcloud"], leaves_only=True)
    ecef = np.concatenate([c["xyz"] for c in leaves.values()])
    x, y, z = Transformer.from_crs(4978, 2154, always_xy=True).transform(*ecef.T)
    with rasterio.open(montpellier / "dsm_50cm.tif") as src:
        dsm = src.read(1, masked=True)
        rows, cols = rasterio.transform.rowcol(src.transform, x, y)
        centres_x, centres_y = rasterio.transform.xy(src.transform, rows, cols)
    rows, cols = np.asarray(rows), np.asarray(cols)
    assert len(x) == dsm.count()  # one point per valid DSM cell: 9,993 of 10,000
    assert np.abs(np.asarray(centres_x) - x).max() < 0.01 and np.abs(np.asarray(centres_y) - y).max() < 0.01
    assert np.abs(dsm[rows, cols] - z).max() < 0.01  # heights are the DSM's, to the centimetre
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == len(x)


def test_montpellier_with_lidar_keeps_the_lidar_classes(montpellier, tmp_path):
    inputs = PipelineInputs(ortho=montpellier / "ortho_rgb_20cm.tif", lidar=montpellier / "lidar_77055_627760.laz")
    result = run_pipeline(inputs, PipelineConfig(), tmp_path / "out")
    classes = result.manifest["stats"]["point_classes"]
    assert {"2", "3", "4", "5", "6"} <= set(map(str, classes))
    assert result.manifest["stats"]["points"] > 50_000


def test_only_an_orthophoto_without_a_model_fails_clearly(small_scene_files, tmp_path):
    cfg = PipelineConfig(prediction=PredictionConfig(model="no-such-model"))
    with pytest.raises(MissingHeightError, match="heights cannot be predicted: no model named 'no-such-model'"):
        run_pipeline(PipelineInputs(ortho=small_scene_files["ortho"]), cfg, tmp_path / "out")
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_dsm_elsewhere_is_refused(small_scene_files, tmp_path):
    elsewhere = write_scene(generate_scene(SceneConfig(size_m=60, origin=(600_000.0, 5_000_000.0))), tmp_path / "far")
    inputs = PipelineInputs(ortho=small_scene_files["ortho"], dsm=elsewhere["dsm"])
    with pytest.raises(OverlapError, match="does not overlap"):
        run_pipeline(inputs, PipelineConfig(), tmp_path / "out")


def test_lidar_without_crs_needs_the_epsg_code_and_then_works(shared_data, tmp_path):
    # An orthophoto generated over the tile of no_crs.laz (Lambert-93, 435000 6291000).
    scene = generate_scene(SceneConfig(size_m=80, epsg=2154, origin=(434_985.0, 6_290_985.0), base_height_m=120))
    ortho = write_scene(scene, tmp_path / "scene")["ortho"]
    lidar = shared_data / "bad_inputs" / "no_crs.laz"
    with pytest.raises(CRSError, match="LiDAR file 'no_crs.laz' carries no coordinate reference system"):
        run_pipeline(PipelineInputs(ortho=ortho, lidar=lidar), PipelineConfig(), tmp_path / "a")
    result = run_pipeline(PipelineInputs(ortho=ortho, lidar=lidar, epsg=2154), PipelineConfig(), tmp_path / "b")
    assert result.manifest["crs"] == "EPSG:2154"
    cleaning = result.manifest["stats"]["point_filter"]
    assert cleaning["points_in"] == 17845  # every LiDAR return, before statistical outlier removal
    assert result.manifest["stats"]["points"] == cleaning["points_out"] > 0.9 * 17845
    assert any("as you gave it" in w for w in result.warnings)


def test_library_imports_without_django_and_cheaply():
    code = (
        "import sys, reconstruction; from reconstruction import PipelineInputs, overall_fraction;"
        "heavy = [m for m in ('django', 'numpy', 'rasterio', 'torch', 'shapely') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_an_orthophoto_alone_reconstructs_with_the_shipped_model(tmp_path):
    # A generated town the model never saw (training used seeds 1-48, validation 100-103).
    scene = generate_scene(SceneConfig(size_m=80, seed=777))
    files = write_scene(scene, tmp_path / "scene")
    reports = []
    result = run_pipeline(
        PipelineInputs(ortho=files["ortho"]), PipelineConfig(), tmp_path / "out", lambda *r: reports.append(r)
    )
    m = result.manifest
    assert m["height_source"] == "predicted" and m["model"]["name"] == "citynet-v1"
    assert any("predicted from the orthophoto by citynet-v1" in w for w in result.warnings)
    assert m["stats"]["features"]["building"] >= 1 and m["stats"]["points"] > 0
    assert {"confidence", "height_std"} <= set(m["rasters"])
    with rasterio.open(tmp_path / "out" / m["rasters"]["confidence"]) as src:
        confidence = src.read(1)
    assert 0.0 < confidence.min() and confidence.max() <= 1.0
    assert any(stage == "heights" and "citynet-v1" in message for stage, _, message in reports)
    # Predicted buildings stand where the town has buildings.
    with rasterio.open(tmp_path / "out" / m["rasters"]["labels"]) as src:
        labels = src.read(1)
    truth = np.asarray(scene.labels)
    k = truth.shape[0] // labels.shape[0]
    truth = truth[::k, ::k][: labels.shape[0], : labels.shape[1]]
    predicted_building = labels == 6
    assert (truth[predicted_building] == 6).mean() > 0.6


def test_a_lidar_in_us_survey_feet_gives_heights_in_metres(tmp_path):
    """A US LAS in feet was read as metres: ground at 413 m instead of 130 m, every height 3.28 times too large."""
    import laspy
    from pyproj import CRS

    us_foot = 1200 / 3937
    utm = 26917  # NAD83 / UTM 17N: the datum of the feet CRS, so positions carry over exactly
    scene = generate_scene(SceneConfig(size_m=80, epsg=utm, origin=(560_000.0, 2_950_000.0), base_height_m=130))
    ortho = write_scene(scene, tmp_path / "scene")["ortho"]
    rows, cols = np.nonzero(np.isfinite(scene.dsm))
    x, y = rasterio.transform.xy(scene.dsm_transform, rows, cols)
    feet = CRS.from_user_input("EPSG:2236+6360")  # Florida East (ftUS) + NAVD88 height (ftUS)
    fx, fy = Transformer.from_crs(utm, feet, always_xy=True).transform(np.asarray(x), np.asarray(y))
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.add_crs(feet)
    header.offsets, header.scales = [float(fx.min()), float(fy.min()), 0.0], [0.001, 0.001, 0.001]
    las = laspy.LasData(header)
    las.x, las.y, las.z = fx, fy, scene.dsm[rows, cols] / us_foot
    las.classification = scene.labels[rows, cols]
    las.write(tmp_path / "us.las")

    result = run_pipeline(PipelineInputs(ortho=ortho, lidar=tmp_path / "us.las"), PipelineConfig(), tmp_path / "out")
    assert result.manifest["height_units"]["lidar"]["unit"] == "US survey foot"
    assert any("US survey feet" in w and "converts them to metres" in w for w in result.warnings)
    assert result.manifest["ground_height_m"] == pytest.approx(float(np.median(scene.dtm)), abs=0.5)
    with rasterio.open(result.out_dir / result.manifest["rasters"]["ndsm"]) as src:
        ndsm = src.read(1, masked=True).compressed()
    truth = scene.dsm - scene.dtm
    assert np.percentile(ndsm, 99) == pytest.approx(np.percentile(truth, 99), abs=1.0)
    features = json.loads((result.out_dir / "vectors" / "features.geojson").read_text())["features"]
    found = sorted(f["properties"]["height_m"] for f in features if f["properties"]["class"] == "building")
    ridges = [b["ridge_height_m"] for b in scene.buildings]  # a building's height_m is its roof's top
    assert found and max(found) < max(ridges) + 1.0  # read as metres, the 10 m roofs stood 33 m tall
    assert float(np.median(found)) == pytest.approx(float(np.median(ridges)), abs=1.5)
