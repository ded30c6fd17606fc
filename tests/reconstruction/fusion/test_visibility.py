import numpy as np

from reconstruction.fusion import FusionConfig, fuse_labels, visible_points
from reconstruction.fusion.visibility import render_zbuffer
from tests.reconstruction.fusion.scene import BOXES, BUILDING, GROUND, ORIGIN, ROAD, box_span

SPLAT, TOLERANCE = 0.375, 0.01  # the defaults on this 0.5 m scene


def _hidden_behind_a_building(scene, view: int, margin_m: float = 2.0) -> np.ndarray:
    """Ground points whose ray from the camera crosses a building for at least ``margin_m`` (exact geometry)."""
    cam, xyz = scene.views[view].camera, scene.cloud.xyz
    origin = cam.centre - ORIGIN
    d = np.ascontiguousarray(xyz - cam.centre)  # t = 1 at the point
    length = np.linalg.norm(d, axis=1)
    inside = np.zeros(len(xyz))
    for box in BOXES:
        t_near, t_far = box_span(origin, d, box)
        inside = np.maximum(inside, (np.minimum(t_far, 1.0) - np.maximum(t_near, 0.0)) * length)
    ground = np.isin(scene.cloud.classification, [GROUND, ROAD])
    return np.flatnonzero(ground & (inside >= margin_m))


def test_the_nearest_splat_wins_each_pixel():
    rows, cols = np.array([1, 1, 3]), np.array([1, 1, 0])
    zbuffer = render_zbuffer(rows, cols, np.array([10.0, 7.0, 3.0]), (4, 4), np.array([0.0, 0.0, 1.0]), 4)
    assert zbuffer[1, 1] == 7.0  # two points on one pixel: the nearer one
    assert zbuffer[2, 1] == 3.0  # inside the 3x3 splat of the point at row 3, col 0
    assert np.isinf(zbuffer[0, 3])


def test_points_hidden_behind_a_building_are_not_visible(scene):
    hidden = _hidden_behind_a_building(scene, 0)
    assert hidden.size > 300  # a real shadow region behind the buildings
    seen = visible_points(scene.views[0].camera, scene.cloud.xyz, SPLAT, TOLERANCE, 8)
    assert np.intersect1d(seen.index, hidden).size == 0


def test_a_hidden_point_does_not_take_the_building_label_from_that_view(scene):
    view = scene.views[0]
    hidden = _hidden_behind_a_building(scene, 0)
    uv, _ = view.camera.project(scene.cloud.xyz[hidden])
    under = view.labels[np.rint(uv[:, 1]).astype(int), np.rint(uv[:, 0]).astype(int)]
    assert np.mean(under == BUILDING) > 0.95  # the view does show a building where these points project

    fused = fuse_labels(scene.cloud, [view])
    assert np.all(fused.vote.views[hidden] == 0)
    assert np.all(fused.cloud.classification[hidden] == scene.cloud.classification[hidden])
    assert not np.any(fused.vote.winner[hidden] == BUILDING)

    # Control: without the depth test the same points would take the facade's label.
    blind = fuse_labels(scene.cloud, [view], FusionConfig(depth_tolerance=1e6))
    assert np.mean(blind.cloud.classification[hidden] == BUILDING) > 0.95
