import json
import subprocess
import sys
import warnings

import cv2
import laspy
import numpy as np
import pytest
import rasterio
import rasterio.errors

from reconstruction.cli import main
from reconstruction.fusion import write_camera
from tests.reconstruction.fusion.scene import corrupt


@pytest.fixture(scope="module")
def inputs(scene, tmp_path_factory):
    """A corrupted LAZ, PNG label images, one GeoTIFF confidence, views.json (inline cameras and one file)."""
    folder = tmp_path_factory.mktemp("fuse")
    noisy, _ = corrupt(scene.cloud, 0.2, seed=3)
    header = laspy.LasHeader(point_format=7, version="1.4")
    header.offsets, header.scales = np.floor(noisy.xyz.min(axis=0)), np.array([0.001] * 3)
    las = laspy.LasData(header)
    las.x, las.y, las.z = noisy.xyz.T
    las.classification = noisy.classification
    las.intensity = np.arange(len(noisy)) % 1000
    las.write(folder / "points.laz")
    entries = []
    for i, view in enumerate(scene.views):
        cv2.imwrite(str(folder / f"{view.name}.png"), view.labels)
        entry = {"name": view.name, "labels": f"{view.name}.png", "camera": view.camera.to_dict()}
        if i == 0:
            entry["camera"] = write_camera(view.camera, folder / "cam0.json").name
            profile = {"driver": "GTiff", "width": 480, "height": 360, "count": 1, "dtype": "uint8"}
            with warnings.catch_warnings():  # a confidence image needs no georeferencing
                warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
                dst = rasterio.open(folder / "conf0.tif", "w", **profile)
                with dst:
                    dst.write(np.full((1, 360, 480), 200, np.uint8))
            entry["confidence"] = "conf0.tif"
        entries.append(entry)
    (folder / "views.json").write_text(json.dumps({"views": entries}))
    return folder


def test_fuse_writes_the_reclassified_cloud_with_its_fusion_dimensions(scene, inputs, tmp_path, capsys):
    out = tmp_path / "fused.laz"
    code = main(
        ["fuse", "--cloud", str(inputs / "points.laz"), "--views", str(inputs / "views.json"), "--out", str(out)]
        + ["--report", str(tmp_path / "report.json")]
    )
    assert code == 0
    fused = laspy.read(out)
    correct = np.asarray(fused.classification) == scene.cloud.classification
    seen = np.asarray(fused.fusion_views) > 0
    assert correct[seen].mean() >= 0.95
    assert np.array_equal(fused.intensity, np.arange(len(fused)) % 1000)  # other attributes are kept
    assert 0.5 <= float(np.median(fused.fusion_confidence[seen])) <= 1.0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["seen"] == int(seen.sum()) and len(report["views"]) == 5
    assert capsys.readouterr().out.strip().endswith(str(out))


def _edit_views(inputs, tmp_path, change) -> str:
    data = json.loads((inputs / "views.json").read_text())
    change(data["views"])
    for entry in data["views"]:
        for key in ("labels", "confidence", "camera"):
            if isinstance(entry.get(key), str):
                entry[key] = str(inputs / entry[key])
    path = tmp_path / "views.json"
    path.write_text(json.dumps(data))
    return str(path)


def _small_image(views):
    views[1]["camera"] = {**views[1]["camera"], "width": 400}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda views: views[2].update(labels="gone.png"), "label image of view 'cam2', "),
        (_small_image, "is 480 x 360 pixels but its camera is 400 x 360"),
        (lambda views: views[0].pop("camera"), 'needs at least "labels"'),
    ],
)
def test_bad_views_exit_2_with_one_clear_line(inputs, tmp_path, capsys, change, words):
    views = _edit_views(inputs, tmp_path, change)
    code = main(["fuse", "--cloud", str(inputs / "points.laz"), "--views", views, "--out", str(tmp_path / "o.laz")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and words in err


def test_the_command_line_entry_point_refuses_a_missing_cloud(inputs, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "reconstruction", "fuse", "--cloud", str(tmp_path / "none.laz")]
        + ["--views", str(inputs / "views.json"), "--out", str(tmp_path / "o.laz")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: The point cloud") and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr
