import json
import subprocess
import sys

import pytest


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reconstruction", *args], capture_output=True, text=True, timeout=600)


def test_run_writes_the_manifest_and_prints_its_path(small_scene_files, tmp_path):
    out = tmp_path / "out"
    done = _cli(
        "run", "--ortho", str(small_scene_files["ortho"]), "--dsm", str(small_scene_files["dsm"]), "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out / "manifest.json")
    assert "100%" in done.stderr  # the progress bar reached the end
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest) >= {"crs", "layers", "rasters", "vectors", "timings"}


def test_run_refuses_a_non_empty_output_folder(small_scene_files, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    done = _cli(
        "run",
        "--ortho",
        str(small_scene_files["ortho"]),
        "--dsm",
        str(small_scene_files["dsm"]),
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 2 and "not empty" in done.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_errors_are_one_clear_line_and_exit_status_2(small_scene_files, tmp_path):
    out = str(tmp_path / "o")
    done = _cli(
        "run", "--ortho", str(small_scene_files["ortho"]), "--model", "nope", "--out", out, "--progress", "none"
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: This area has only an orthophoto and its heights cannot be predicted")
    assert "no model named 'nope'" in done.stderr
    assert "Traceback" not in done.stderr


def test_json_progress_for_a_supervising_process(small_scene_files, tmp_path):
    done = _cli(
        "run",
        "--ortho",
        str(small_scene_files["ortho"]),
        "--dsm",
        str(small_scene_files["dsm"]),
        "--out",
        str(tmp_path / "o"),
        "--progress",
        "json",
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert {line["type"] for line in lines} == {"progress", "result"}
    assert lines[-1]["type"] == "result"


@pytest.mark.parametrize("flag", ["--json", None])
def test_check_reports_a_missing_crs(shared_data, small_scene_files, flag):
    args = ["check", "--ortho", str(small_scene_files["ortho"]), "--lidar", str(shared_data / "bad_inputs/no_crs.laz")]
    done = _cli(*args, *([flag] if flag else []))
    assert done.returncode == 2
    if flag:
        assert json.loads(done.stdout)["error"] == "CRSError"
    assert "no coordinate reference system" in done.stderr


def test_config_file_overrides_and_rejects_unknown_keys(small_scene_files, tmp_path):
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text("resolution_m = 1.0\n[ground]\nslope = 0.2\n")
    bad.write_text("[ground]\nslop = 0.2\n")
    base = [
        "run",
        "--ortho",
        str(small_scene_files["ortho"]),
        "--dsm",
        str(small_scene_files["dsm"]),
        "--progress",
        "none",
    ]
    done = _cli(*base, "--config", str(good), "--out", str(tmp_path / "a"))
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "a" / "manifest.json").read_text())["grid"]["resolution_m"] == 1.0
    done = _cli(*base, "--config", str(bad), "--out", str(tmp_path / "b"))
    assert done.returncode == 2 and "Unknown config key(s) ['slop']" in done.stderr


def test_synthetic_command_writes_a_scene(tmp_path):
    done = _cli("synthetic", "--out", str(tmp_path), "--size", "40", "--seed", "1")
    assert done.returncode == 0, done.stderr
    assert {p.name for p in tmp_path.iterdir()} >= {"ortho.tif", "dsm.tif", "dtm.tif", "labels.tif"}


def test_inputs_travel_as_argv_and_as_json_and_come_back_equal(tmp_path):
    """One spelling of an area's inputs: the web app's runner builds argv with it, chip plans store its JSON."""
    import argparse

    from reconstruction import PipelineInputs
    from reconstruction.cli.inputs import add_input_arguments, inputs_from

    names = ["o.tif", "d.tif", "l.laz", "f.gpkg", "s.tif", "v1.ntf", "v2.ntf"]
    files = {name: tmp_path / "in" / name for name in names}
    for path in files.values():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x")
    full = PipelineInputs(
        ortho=files["o.tif"],
        dsm=files["d.tif"],
        lidar=files["l.laz"],
        epsg=2154,
        footprints=files["f.gpkg"],
        second_image=files["s.tif"],
        register_dsm=True,
        z_unit="us-ft",
    )
    stereo = PipelineInputs(stereo=(files["v1.ntf"], files["v2.ntf"]), lidar=files["l.laz"])
    parser = argparse.ArgumentParser()
    add_input_arguments(parser)
    for inputs in (full, stereo, PipelineInputs(ortho=files["o.tif"])):
        assert inputs_from(parser.parse_args(inputs.to_argv())) == inputs
        base = tmp_path / "plan"
        base.mkdir(exist_ok=True)
        data = json.loads(json.dumps(inputs.to_dict(base)))
        assert all(not str(v).startswith("/") for v in data.values() if isinstance(v, str))  # movable
        assert PipelineInputs.from_dict(data, base) == inputs


def test_an_unknown_height_unit_is_refused_naming_the_allowed_ones(small_scene_files):
    done = _cli("check", "--ortho", str(small_scene_files["ortho"]), "--z-unit", "feet")
    assert done.returncode == 2
    assert "--z-unit" in done.stderr and "'m', 'ft', 'us-ft'" in done.stderr


def test_check_takes_a_jpeg_orthophoto_placed_by_its_world_file_and_prj(small_scene_files, tmp_path):
    import rasterio
    from pyproj import CRS

    from tests.hostile_files import world_file_text, write_image

    image = write_image(tmp_path / "photo.jpg", small_scene_files["ortho"], "JPEG")
    done = _cli("check", "--ortho", str(image), "--json")
    assert done.returncode == 2 and "'photo.jgw'" in json.loads(done.stdout)["message"]  # no sidecar yet
    with rasterio.open(small_scene_files["ortho"]) as src:
        (tmp_path / "photo.jgw").write_text(world_file_text(src.transform))
    (tmp_path / "photo.prj").write_text(CRS.from_epsg(32631).to_wkt("WKT1_ESRI"))
    done = _cli("check", "--ortho", str(image), "--dsm", str(small_scene_files["dsm"]), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"type": "ok", "warnings": []}
