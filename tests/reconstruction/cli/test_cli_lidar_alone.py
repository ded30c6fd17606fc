"""``run``, ``check`` and ``plan`` with only ``--lidar``: LiDAR alone is a complete area on the command line too."""

import json
import subprocess
import sys

from reconstruction import PipelineInputs
from reconstruction.chips import ChipPlan


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconstruction", *args], capture_output=True, text=True, timeout=600)


def test_check_plan_and_run_take_a_lidar_file_alone(montpellier, tmp_path):
    lidar = str(montpellier / "lidar_77055_627760.laz")
    checked = _cli("check", "--lidar", lidar, "--json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["type"] == "ok"

    plan = tmp_path / "plan.json"
    planned = _cli("plan", "--lidar", lidar, "--chip-size", "25", "--margin", "8", "--out", str(plan))
    assert planned.returncode == 0, planned.stderr
    loaded = ChipPlan.load(plan)
    # The plan names the file it read (symbolic links resolved: CI reaches the data through one).
    assert loaded.inputs == PipelineInputs(lidar=(montpellier / "lidar_77055_627760.laz").resolve())
    assert loaded.grid.resolution == 0.5 and len(loaded.chips) == 4

    out = tmp_path / "out"
    done = _cli("run", "--lidar", lidar, "--out", str(out), "--progress", "none")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["height_source"] == "lidar" and "drape" in manifest["rasters"]


def test_without_any_input_the_cli_names_the_three_ways_in(tmp_path):
    done = _cli("check")
    assert done.returncode == 2
    assert "--ortho" in done.stderr and "--lidar" in done.stderr and "--stereo" in done.stderr


def test_several_lidar_tiles_make_one_area_on_the_command_line(montpellier, tmp_path):
    """Three 50 m IGN tiles side by side (as the programme ships them): one area over all three."""
    neighbours = montpellier / "lidar_neighbors"
    tiles = [
        montpellier / "lidar_77055_627760.laz",
        neighbours / "test_data_77050_627760_LA93_IGN69.laz",
        neighbours / "test_data_77060_627760_LA93_IGN69.laz",
    ]
    checked = _cli("check", "--lidar", *map(str, tiles), "--json")
    assert checked.returncode == 0, checked.stderr

    plan = tmp_path / "plan.json"
    planned = _cli("plan", "--lidar", *map(str, tiles), "--chip-size", "60", "--margin", "8", "--out", str(plan))
    assert planned.returncode == 0, planned.stderr
    loaded = ChipPlan.load(plan)
    assert loaded.inputs.lidar == tuple(tile.resolve() for tile in tiles)  # every tile, in order
    # 150 m x 50 m of tiles: the grid spans all three (0.5 m cells at their density).
    assert loaded.grid.width * loaded.grid.resolution >= 149 and loaded.grid.height * loaded.grid.resolution <= 51

    out = tmp_path / "out"
    done = _cli("run", "--lidar", *map(str, tiles), "--out", str(out), "--progress", "none")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["grid"]["width"] * manifest["grid"]["resolution_m"] >= 149
    assert manifest["stats"]["point_classes"]["6"] > 0  # buildings from every tile's class 6
