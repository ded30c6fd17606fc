import json

import cv2
import numpy as np
import pytest

from reconstruction.errors import InputError
from reconstruction.fusion import Camera, read_camera, write_camera

NADIR_R = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])  # x east, y south, z down


def _nadir(**kw) -> Camera:
    K = np.array([[1000.0, 0.0, 320.0], [0.0, 1000.0, 240.0], [0.0, 0.0, 1.0]])
    return Camera(K=K, R=NADIR_R, centre=np.array([10.0, 20.0, 100.0]), width=640, height=480, **kw)


def test_projection_matches_a_hand_computation():
    # The point is 2 m east, 2 m south and 100 m below the camera: x_cam = (2, 2, 100), so
    # u = 320 + 1000 * 2 / 100 = 340 and v = 240 + 1000 * 2 / 100 = 260.
    uv, depth = _nadir().project(np.array([[12.0, 18.0, 0.0]]))
    assert uv[0] == pytest.approx([340.0, 260.0])
    assert depth[0] == pytest.approx(100.0)


def test_distortion_matches_a_hand_computation():
    # x_n = (0.02, 0.02), r^2 = 0.0008, factor 1 + 0.1 * 0.0008 + 0.01 * 0.0008^2.
    factor = 1 + 0.1 * 0.0008 + 0.01 * 0.0008**2
    uv, _ = _nadir(k1=0.1, k2=0.01).project(np.array([[12.0, 18.0, 0.0]]))
    assert uv[0] == pytest.approx([320 + 20 * factor, 240 + 20 * factor], abs=1e-9)


def test_project_then_unproject_returns_the_points():
    rng = np.random.default_rng(0)
    cam = Camera.looking_at((574_060.0, 5_096_060.0, 230.0), (574_000.0, 5_096_000.0, 170.0), 420.0, 480, 360)
    xyz = np.array([574_000.0, 5_096_000.0, 170.0]) + rng.uniform(-20, 20, (500, 3))
    uv, depth = cam.project(xyz)
    assert np.all(np.isfinite(uv))
    assert np.abs(cam.unproject(uv, depth) - xyz).max() < 1e-6


def test_distortion_round_trip_and_agreement_with_opencv():
    rng = np.random.default_rng(1)
    cam = Camera.looking_at((60.0, 60.0, 60.0), (0.0, 0.0, 0.0), 420.0, 480, 360, k1=-0.12, k2=0.03)
    xyz = rng.uniform(-25, 25, (1000, 3))
    uv, depth = cam.project(xyz)
    inside = np.isfinite(uv[:, 0])
    assert inside.mean() > 0.9
    rvec, _ = cv2.Rodrigues(cam.R)
    reference, _ = cv2.projectPoints(xyz[inside], rvec, -cam.R @ cam.centre, cam.K, np.array([-0.12, 0.03, 0, 0]))
    assert np.abs(uv[inside] - reference.reshape(-1, 2)).max() < 1e-9
    assert np.abs(cam.unproject(uv[inside], depth[inside]) - xyz[inside]).max() < 1e-6


def test_points_behind_or_where_distortion_folds_back_do_not_project():
    cam = _nadir(k1=-0.4)  # barrel: r (1 - 0.4 r^2) stops growing at r^2 = 0.83
    uv, depth = cam.project(np.array([[10.0, 20.0, 200.0], [200.0, 20.0, 0.0], [12.0, 18.0, 0.0]]))
    assert depth[0] < 0 and np.isnan(uv[0]).all()  # behind the camera
    assert np.isnan(uv[1]).all()  # 63 degrees off-axis: the polynomial would fold it into the image
    assert np.isfinite(uv[2]).all()


def test_camera_json_round_trip_and_the_opencv_form(tmp_path):
    cam = Camera.looking_at((30.0, -40.0, 50.0), (0.0, 0.0, 0.0), 500.0, 320, 240, k1=-0.05, k2=0.01)
    again = read_camera(write_camera(cam, tmp_path / "cam.json"))
    xyz = np.random.default_rng(2).uniform(-10, 10, (50, 3))
    assert np.allclose(again.project(xyz)[0], cam.project(xyz)[0])
    opencv = {
        "width": 320,
        "height": 240,
        "K": cam.K.tolist(),
        "R": cam.R.tolist(),
        "t": (-cam.R @ cam.centre).tolist(),
        "dist": [-0.05, 0.01, 0.0, 0.0, 0.0],
    }
    (tmp_path / "cv.json").write_text(json.dumps(opencv))
    assert np.allclose(read_camera(tmp_path / "cv.json").project(xyz)[0], cam.project(xyz)[0])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"R": [[1, 0, 0], [0, 1, 0], [0, 0, 2]]}, "R is not a rotation"),
        ({"K": [[1, 0], [0, 1]]}, "K must have shape (3, 3)"),
        ({"dist": [0.1, 0.0, 0.01, 0.0]}, "p1 = p2 = k3 = 0"),
        ({"width": 0}, "width and height must be positive"),
    ],
)
def test_bad_cameras_are_refused_with_the_reason(change, words):
    data = {**_nadir().to_dict(), **change}
    with pytest.raises(InputError, match="not a valid camera") as err:
        Camera.from_dict(data)
    assert words in str(err.value)


def test_a_missing_camera_file_is_named(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_camera(tmp_path / "nope.json")
