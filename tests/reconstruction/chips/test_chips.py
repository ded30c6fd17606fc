"""Chips: the plan tiles the grid, a chipped run equals a whole-area run, and the terrain's seams close."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import CRS

from reconstruction import PipelineConfig, PipelineInputs
from reconstruction.chips import ChipPlan, plan_chips, run_chipped
from reconstruction.chips.merge import SEAMED_TINS, _merged_prediction, merge_chips
from reconstruction.chips.plan import cut_grid
from reconstruction.chips.seams import border_mask, densify_border
from reconstruction.errors import ConfigError, InputError, ProcessingError
from reconstruction.io import Grid
from reconstruction.pipeline import run_pipeline
from reconstruction.terrain import TinConfig, build_tin

CHIP_M, MARGIN_M = 60.0, 24.0  # 120 m scene: 2 x 2 chips


def test_cores_tile_the_grid_once_and_windows_add_the_margin() -> None:
    grid = Grid(CRS.from_epsg(32631), Affine(0.5, 0, 500_000, 0, -0.5, 4_800_000), 1003, 517)
    chips = cut_grid(grid, chip_m=100.0, margin_m=10.0)
    owner = np.zeros(grid.shape, dtype=int)
    for chip in chips:
        r0, r1, c0, c1 = chip.core
        owner[r0:r1, c0:c1] += 1
        w = chip.window
        assert w == (max(0, r0 - 20), min(517, r1 + 20), max(0, c0 - 20), min(1003, c1 + 20))
    assert (owner == 1).all()
    assert len(chips) == 3 * 6  # ceil(517 / 200) rows of ceil(1003 / 200) chips
    sides = {chip.core[1] - chip.core[0] for chip in chips} | {chip.core[3] - chip.core[2] for chip in chips}
    assert max(sides) - min(sides) <= 30  # nearly equal, no sliver


def test_chips_smaller_than_16_cells_are_refused() -> None:
    grid = Grid(CRS.from_epsg(32631), Affine(1.0, 0, 0, 0, -1.0, 0), 100, 100)
    with pytest.raises(ConfigError, match="16 cells"):
        cut_grid(grid, chip_m=10.0, margin_m=0.0)


def test_densified_tin_has_a_vertex_at_every_border_cell_and_the_same_footprint() -> None:
    rng = np.random.default_rng(1)
    dtm = (np.add.outer(np.arange(40), np.arange(50)) * 0.1 + rng.normal(0, 0.05, (40, 50))).astype(np.float32)
    grid = Grid(CRS.from_epsg(32631), Affine(0.5, 0, 0, 0, -0.5, 20), 50, 40)
    tin, _ = build_tin(dtm, grid, TinConfig(max_error_m=0.5))
    dense = densify_border(tin, grid, dtm)
    on_border = border_mask(dense, grid)
    assert on_border.sum() == 2 * (50 + 40) - 4  # every border cell centre, each once
    assert on_border.sum() > border_mask(tin, grid).sum()

    def area(t: object) -> float:
        a, b, c = (t.vertices[t.triangles[:, k], :2] for k in range(3))  # type: ignore[attr-defined]
        cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
        assert (cross > 0).all(), "every triangle stays counter-clockwise"
        return float(cross.sum() / 2)

    assert area(dense) == pytest.approx(area(tin))


@pytest.fixture(scope="module")
def runs(small_scene_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, Path, Path]:
    """The small scene reconstructed whole and in 2 x 2 chips (each chip in its own process)."""
    inputs = PipelineInputs(ortho=small_scene_files["ortho"], dsm=small_scene_files["dsm"])
    cfg = PipelineConfig()
    whole = tmp_path_factory.mktemp("whole")
    run_pipeline(inputs, cfg, whole)
    chipped = tmp_path_factory.mktemp("chipped")
    children = run_chipped(plan_chips(inputs, cfg, CHIP_M, MARGIN_M), chipped)
    assert [c.name for c in children] == ["chip 0", "chip 1", "chip 2", "chip 3", "merge"]
    assert not (chipped / ".chips").exists(), "the chips' own folders are removed after the merge"
    assert not (chipped / SEAMED_TINS).exists(), "so is the merge's scratch"
    manifests = [json.loads((folder / "manifest.json").read_text()) for folder in (whole, chipped)]
    return manifests[0], manifests[1], whole, chipped


def test_chipped_run_gives_the_whole_area_run_s_results(runs: tuple[dict, dict, Path, Path]) -> None:
    whole, chipped, whole_dir, chipped_dir = runs
    assert chipped["grid"] == whole["grid"]
    assert chipped["chips"] == {"count": 4, "chip_m": CHIP_M, "margin_m": MARGIN_M}
    assert sorted(chipped["layers"]) == sorted(whole["layers"])
    assert sorted(chipped["vectors"]) == sorted(whole["vectors"])
    assert chipped["stats"]["points"] == whole["stats"]["points"]
    for name in ("building", "tree"):  # modelled whole from the window: nothing cut, nothing twice
        assert chipped["stats"]["features"][name] == whole["stats"]["features"][name]
    with (
        rasterio.open(whole_dir / whole["rasters"]["dsm"]) as a,
        rasterio.open(chipped_dir / chipped["rasters"]["dsm"]) as b,
    ):
        assert a.transform == b.transform and a.crs == b.crs
        assert np.array_equal(a.read(), b.read())
    with rasterio.open(whole_dir / "rasters/dtm.tif") as a, rasterio.open(chipped_dir / "rasters/dtm.tif") as b:
        difference = np.abs(a.read(1) - b.read(1))
    assert np.percentile(difference, 99) < 0.05 and difference.max() < 0.5  # ground filtered with context
    with rasterio.open(whole_dir / "rasters/labels.tif") as a, rasterio.open(chipped_dir / "rasters/labels.tif") as b:
        assert (a.read(1) == b.read(1)).mean() > 0.995


def test_building_ids_are_unique_over_the_chips(runs: tuple[dict, dict, Path, Path]) -> None:
    features = json.loads((runs[3] / "vectors/features.geojson").read_text())["features"]
    ids = [f["properties"]["building_id"] for f in features if f["properties"]["class"] == "building"]
    assert len(ids) == len(set(ids)) == runs[1]["stats"]["features"]["building"]


def test_terrain_seams_close_exactly(runs: tuple[dict, dict, Path, Path]) -> None:
    city = json.loads((runs[3] / "vectors/city.json").read_text())
    vertices = np.asarray(city["vertices"]) * city["transform"]["scale"] + city["transform"]["translate"]
    terrain = {
        name: vertices[np.unique(np.asarray(o["geometry"][0]["boundaries"]).ravel())]
        for name, o in city["CityObjects"].items()
        if o["type"] == "TINRelief"
    }
    assert sorted(terrain) == [f"terrain-chip-{k}" for k in range(4)]
    west = min(v[:, 0].min() for v in terrain.values()) - 0.25
    seam_x = west + CHIP_M + 0.25  # the first cell centre of the eastern chips
    for left, right in ((0, 1), (2, 3)):
        a, b = (terrain[f"terrain-chip-{k}"] for k in (left, right))
        a, b = (p[np.abs(p[:, 0] - seam_x) < 1e-3] for p in (a, b))
        a, b = (p[np.argsort(p[:, 1])] for p in (a, b))
        # the northern chips reach one row into the southern ones (their shared line), the southern ones end
        assert len(a) == len(b) == runs[1]["grid"]["height"] // 2 + (1 if left == 0 else 0)
        assert np.abs(a - b).max() < 1e-6, "both sides of the seam share every vertex and its height"


def test_each_layer_roots_the_chips_tilesets(runs: tuple[dict, dict, Path, Path]) -> None:
    chipped_dir = runs[3]
    for name, path in runs[1]["layers"].items():
        root = json.loads((chipped_dir / path).read_text())["root"]
        assert root["refine"] == "ADD"
        west, south, east, north, low, high = root["boundingVolume"]["region"]
        for child in root["children"]:
            assert (chipped_dir / path).parent.joinpath(child["content"]["uri"]).is_file()
            w, s, e, n, lo, hi = child["boundingVolume"]["region"]
            assert west <= w < e <= east and south <= s < n <= north and low <= lo <= hi <= high
        assert len(root["children"]) >= (4 if name in ("pointcloud", "terrain") else 1)


def test_merge_refuses_a_missing_or_foreign_chip(
    runs: tuple[dict, dict, Path, Path], small_scene_files: dict, tmp_path: Path
) -> None:
    inputs = PipelineInputs(ortho=small_scene_files["ortho"], dsm=small_scene_files["dsm"])
    plan = plan_chips(inputs, PipelineConfig(), CHIP_M, MARGIN_M)
    with pytest.raises(ConfigError, match="4 chips but 1"):
        merge_chips(plan, [tmp_path], tmp_path / "out", PipelineConfig())
    with pytest.raises(ConfigError, match="no finished chip"):
        merge_chips(plan, [tmp_path / str(k) for k in range(4)], tmp_path / "out", PipelineConfig())


def test_a_merge_leaves_the_chips_whole_so_a_failed_one_can_run_again(small_scene_files: dict, tmp_path: Path) -> None:
    cfg = PipelineConfig()
    inputs = PipelineInputs(ortho=small_scene_files["ortho"], dsm=small_scene_files["dsm"])
    plan_path = plan_chips(inputs, cfg, CHIP_M, MARGIN_M).save(tmp_path / "plan.json")
    plan = ChipPlan.load(plan_path)
    folders = [tmp_path / f"chip-{chip.index}" for chip in plan.chips]
    for chip, folder in zip(plan.chips, folders, strict=True):
        run_pipeline(plan.inputs, cfg, folder, chip=(plan, chip))

    def chip_files() -> dict[Path, bytes]:
        return {path: path.read_bytes() for folder in folders for path in sorted(folder.rglob("*")) if path.is_file()}

    before = chip_files()
    assert any("tiles" in path.parts for path in before)
    first = merge_chips(plan, folders, tmp_path / "merged", cfg)
    assert chip_files() == before, "the merge changed or took files of the chips"

    # Again, by the CLI, into the same folder: refused while it holds the first merge, replaced with --overwrite.
    command = [sys.executable, "-m", "reconstruction", "merge", "--plan", str(plan_path), "--out"]
    command += [str(tmp_path / "merged"), *map(str, folders)]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "is not empty" in refused.stderr and "--overwrite" in refused.stderr
    assert (tmp_path / "merged" / "manifest.json").is_file(), "a refused merge leaves the earlier output alone"
    again = subprocess.run([*command, "--overwrite"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    second = json.loads((tmp_path / "merged" / "manifest.json").read_text())
    assert (second["stats"], second["layers"]) == (first["stats"], first["layers"])


def test_a_chip_refuses_inputs_that_changed_since_planning(small_scene_files: dict, tmp_path: Path) -> None:
    inputs = PipelineInputs(ortho=small_scene_files["ortho"], dsm=small_scene_files["dsm"])
    plan = plan_chips(inputs, PipelineConfig(), CHIP_M, MARGIN_M)
    moved = Grid(plan.grid.crs, plan.grid.transform @ Affine.translation(1, 0), plan.grid.width, plan.grid.height)
    stale = ChipPlan(plan.inputs, moved, plan.chip_m, plan.margin_m, plan.chips)
    with pytest.raises(InputError, match="plan the area again"):
        run_pipeline(inputs, PipelineConfig(), tmp_path, chip=(stale, stale.chip(0)))
    saved = plan.save(tmp_path / "plan.json")
    assert ChipPlan.load(saved).chips == plan.chips and ChipPlan.load(saved).grid == plan.grid
    assert not Path(json.loads(saved.read_text())["inputs"]["ortho"][0]).is_absolute()  # any mount point


def test_a_plan_moved_with_its_inputs_still_finds_them(small_scene_files: dict, tmp_path: Path) -> None:
    first, second = tmp_path / "machine-a", tmp_path / "machine-b"
    (first / "sources").mkdir(parents=True)
    for name in ("ortho", "dsm"):
        (first / "sources" / f"{name}.tif").write_bytes(small_scene_files[name].read_bytes())
    inputs = PipelineInputs(ortho=first / "sources/ortho.tif", dsm=first / "sources/dsm.tif")
    plan_chips(inputs, PipelineConfig(), CHIP_M, MARGIN_M).save(first / "staging" / "plan.json")
    first.rename(second)  # the same shared folder, mounted elsewhere
    moved = ChipPlan.load(second / "staging" / "plan.json")
    assert [p.resolve() for p in moved.inputs.ortho] == [(second / "sources/ortho.tif").resolve()]


def test_areas_aligned_as_whole_images_are_not_chipped(small_scene_files: dict) -> None:
    inputs = PipelineInputs(ortho=small_scene_files["ortho"], second_image=small_scene_files["ortho"])
    with pytest.raises(ConfigError, match="one job"):
        plan_chips(inputs, PipelineConfig(), CHIP_M, MARGIN_M)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconstruction", *args], capture_output=True, text=True, timeout=600)


def test_plan_command_and_chip_arguments_errors(small_scene_files: dict, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    inputs = ["--ortho", str(small_scene_files["ortho"]), "--dsm", str(small_scene_files["dsm"])]
    done = _cli("plan", *inputs, "--chip-size", str(CHIP_M), "--margin", "8", "--out", str(plan), "--progress", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"type": "result", "chips": 4, "plan": str(plan)}
    assert ChipPlan.load(plan).chips[3].window == (120 - 16, 240, 120 - 16, 240)  # 8 m margin = 16 cells
    out = str(tmp_path / "out")
    for arguments, message in (
        (("--chip", str(plan)), "--chip needs --chip-index"),
        (("--chip", str(plan), "--chip-index", "9"), "Chip 9 does not exist: the plan has chips 0 to 3"),
        (("--chip", str(plan), "--chip-index", "0", *inputs), "give no input files with it"),
        (("--chip", str(tmp_path / "none.json"), "--chip-index", "0"), "is not a chip plan"),
    ):
        done = _cli("run", *arguments, "--out", out, "--progress", "none")
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_a_failing_chip_names_itself_and_its_reason(small_scene_files: dict, tmp_path: Path) -> None:
    copies = {}
    for name in ("ortho", "dsm"):
        copies[name] = tmp_path / f"{name}.tif"
        copies[name].write_bytes(small_scene_files[name].read_bytes())
    plan = plan_chips(PipelineInputs(ortho=copies["ortho"], dsm=copies["dsm"]), PipelineConfig(), CHIP_M, MARGIN_M)
    copies["dsm"].unlink()
    with pytest.raises(ProcessingError, match=r"chip 0 failed \(exit 2\): The saved inputs name .*dsm.tif, which no"):
        run_chipped(plan, tmp_path / "out")


def test_the_merged_manifest_carries_the_chips_trust_gate_only_where_heights_were_predicted() -> None:
    gate = {"shift_score": 1.2, "untrusted_share": 0.1, "untrusted_m2": 100.0, "covered_m2": 1000.0}
    gate |= {"removed_building_m2": 5.0, "kept_building_m2": 50.0, "max_distance": 2.0, "tuned_on": "IGN rural"}
    predicted = [{"prediction": {"trust": gate}}, {"prediction": {"trust": {**gate, "shift_score": 3.0}}}]
    merged = _merged_prediction(predicted)["prediction"]["trust"]
    assert merged["chips"] == 2 and merged["covered_m2"] == 2000.0 and merged["worst_chip_shift_score"] == 3.0
    assert _merged_prediction([{}, {"prediction": {"trust": None}}]) == {}  # measured heights: no gate, no key
