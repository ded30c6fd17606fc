"""Train on this area: fine-tuning on an orthophoto + LiDAR area gives a usable new weights file."""

import json
import subprocess
import sys

from reconstruction.prediction.weights import load_weights


def test_finetune_cli_writes_weights_with_held_out_scores(montpellier, tmp_path):
    out = tmp_path / "montpellier.pt"
    cmd = [sys.executable, "-m", "reconstruction", "finetune", "--ortho", str(montpellier / "ortho_rgb_20cm.tif")]
    cmd += ["--lidar", str(montpellier / "lidar_77055_627760.laz"), "--out", str(out), "--steps", "4"]
    cmd += ["--version", "test", "--no-progress", "--report", str(tmp_path / "report.json")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "before" in done.stdout and "after" in done.stdout
    _, info = load_weights(out)
    assert info.name == "citynet-v1" and info.version == "test"
    assert info.card["base"] == "citynet-v1 1.0"
    before, after = info.card["held_out_before"], info.card["held_out_after"]
    assert before["regions"] == after["regions"] == ["lidar_77055_627760/east"]
    assert 0 <= after["miou"] <= 1 and after["height_mae_m"] >= 0
    # --report: what a supervising process (the web app's worker) reads instead of loading torch.
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["weights"] == str(out) and (report["name"], report["version"]) == ("citynet-v1", "test")
    assert report["before"]["miou"] == before["miou"] and report["after"]["height_mae_m"] == after["height_mae_m"]


def test_finetune_refuses_a_wrong_output_name(montpellier, tmp_path):
    cmd = [sys.executable, "-m", "reconstruction", "finetune", "--ortho", str(montpellier / "ortho_rgb_20cm.tif")]
    cmd += ["--lidar", str(montpellier / "lidar_77055_627760.laz"), "--out", str(tmp_path / "x.txt")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "weights files end in .pt" in done.stderr


def test_finetune_json_progress_reports_errors_as_json(montpellier, tmp_path):
    cmd = [sys.executable, "-m", "reconstruction", "finetune", "--ortho", str(montpellier / "ortho_rgb_20cm.tif")]
    cmd += ["--lidar", str(tmp_path / "missing.laz"), "--out", str(tmp_path / "x.pt"), "--progress", "json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    (line,) = done.stdout.splitlines()
    assert json.loads(line)["type"] == "error" and "missing.laz', does not exist" in json.loads(line)["message"]
