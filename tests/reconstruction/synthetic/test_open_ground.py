"""The generator's opt-in open ground (issue 17 part 3): car parks with cars, plazas, sports grounds, fields."""

import hashlib

import numpy as np
import pytest

from reconstruction.errors import ConfigError
from reconstruction.synthetic import SceneConfig, SyntheticScene, generate_scene
from reconstruction.synthetic import materials as m
from reconstruction.synthetic.model import Layout
from reconstruction.synthetic.raster import Canvas
from tests.reconstruction.synthetic.towns import plan_and_materials, scene_digest

GROUND, BUILDING = 2, 6

# SHA-256 over the digests of the 48 training and 4 validation towns of citynet-v1 (100 m, 0.5 m, ortho 0.25 m),
# recorded before open ground existed: without the option the training data must not change.
V1_TOWNS = "b0f978aee3d3cd2fbea5a4c061f44ef5ef9d392fce9dce1d7f51e81f89ba1242"

# 200 m, seed 18 with open ground: car parks with 88 cars, a plaza and a bare-soil field.
TOWN = SceneConfig(size_m=200.0, seed=18, open_ground=True)
OPEN_SURFACES = (m.LOT_ASPHALT, m.PLAZA, m.PLAZA_JOINT, m.SOIL, m.SOIL_DARK, m.PITCH, m.TRACK)
CARS = (m.CAR_GLASS, *m.CAR_MATERIALS)


@pytest.fixture(scope="module")
def town() -> tuple[SyntheticScene, Layout, np.ndarray]:
    lay, mat = plan_and_materials(TOWN)
    return generate_scene(TOWN), lay, mat


def test_without_the_option_the_v1_training_towns_are_unchanged() -> None:
    h = hashlib.sha256()
    for seed in [*range(1, 49), 100, 101, 102, 103]:
        town = SceneConfig(size_m=100.0, gsd_m=0.5, ortho_gsd_m=0.25, seed=seed)
        h.update(scene_digest(generate_scene(town)).encode())
    assert h.hexdigest() == V1_TOWNS


def test_open_ground_is_deterministic_by_seed() -> None:
    cfg = SceneConfig(size_m=100.0, seed=9, open_ground=True)
    digest = scene_digest(generate_scene(cfg))
    assert scene_digest(generate_scene(cfg)) == digest
    assert scene_digest(generate_scene(SceneConfig(size_m=100.0, seed=10, open_ground=True))) != digest
    assert scene_digest(generate_scene(SceneConfig(size_m=100.0, seed=9))) != digest


def test_the_town_holds_every_open_land_use(town: tuple[SyntheticScene, Layout, np.ndarray]) -> None:
    _, lay, mat = town
    assert len(lay.cars) >= 20
    assert np.isin(mat, (m.LOT_ASPHALT, m.YARD)).sum() * 0.25 > 1500  # m² of car park
    assert (mat == m.PLAZA).sum() * 0.25 > 1000
    assert np.isin(mat, (m.SOIL, m.SOIL_DARK)).sum() * 0.25 > 1000
    sports = [plan_and_materials(SceneConfig(size_m=200.0, seed=s, open_ground=True))[1] for s in (8, 15)]
    assert all((mat_s == m.PITCH).sum() * 0.25 > 1000 and (mat_s == m.TRACK).any() for mat_s in sports)


def test_cars_are_ground_one_to_two_metres_high(town: tuple[SyntheticScene, Layout, np.ndarray]) -> None:
    scene, lay, mat = town
    height = scene.dsm - scene.dtm
    cars = np.isin(mat, CARS)
    assert cars.sum() > 20 * 4  # at least 4 cells a car on 0.5 m cells
    assert (scene.labels[cars] == GROUND).all()
    assert height[cars].min() > 0.8 and height[cars].max() <= 1.65 + 1e-4
    # every car's roof (its middle cell) stands 1.35-1.65 m above the ground
    canvas = Canvas(TOWN.size_m, TOWN.dsm_shape[0])
    for car in lay.cars:
        rows, cols = canvas.window(car.rect)
        middle = height[(rows.start + rows.stop) // 2, (cols.start + cols.stop) // 2]
        assert 1.35 - 1e-4 <= middle <= 1.65 + 1e-4
        assert car.material in m.CAR_MATERIALS


def test_open_surfaces_are_flat_ground(town: tuple[SyntheticScene, Layout, np.ndarray]) -> None:
    scene, _, mat = town
    height = scene.dsm - scene.dtm
    open_ground = np.isin(mat, OPEN_SURFACES)
    assert (scene.labels[open_ground] == GROUND).all()
    assert np.abs(height[open_ground]).max() < 1e-4
    assert not (scene.labels[np.isin(mat, (*OPEN_SURFACES, *CARS))] == BUILDING).any()


def test_cars_look_like_cars_and_cast_shadows(town: tuple[SyntheticScene, Layout, np.ndarray]) -> None:
    scene, lay, mat = town
    grey = scene.ortho.astype(np.float64).mean(axis=0)
    k = scene.ortho.shape[1] // mat.shape[0]
    on_ortho = np.repeat(np.repeat(mat, k, axis=0), k, axis=1)
    # white and black cars stand out from the asphalt both ways
    asphalt = np.median(grey[on_ortho == m.LOT_ASPHALT])
    assert grey[on_ortho == m.CAR_MATERIALS[0]].mean() > asphalt + 60
    assert grey[on_ortho == m.CAR_MATERIALS[3]].mean() < asphalt - 20
    # the sun stands in the south-south-east: asphalt just north of a car is darker than just south of it
    canvas = Canvas(TOWN.size_m, TOWN.ortho_shape[0])
    north, south = [], []
    for car in lay.cars:
        u0, u1, v0, v1 = car.rect
        for rect, out in (((u0, u1, v1 + 0.1, v1 + 0.6), north), ((u0, u1, v0 - 0.6, v0 - 0.1), south)):
            rows, cols = canvas.window(rect)
            ok = on_ortho[rows, cols] == m.LOT_ASPHALT
            out.extend(grey[rows, cols][ok].tolist())
    assert len(north) > 50 and len(south) > 50
    assert np.mean(north) < 0.8 * np.mean(south)


def test_open_ground_uses_choose_the_land_uses() -> None:
    seeds = range(14, 20)  # with every use: car parks, plazas, a sports ground and fields among them

    def materials(uses: tuple[str, ...]) -> tuple[int, np.ndarray]:
        plans = [
            plan_and_materials(SceneConfig(size_m=200.0, seed=s, open_ground=True, open_ground_uses=uses))
            for s in seeds
        ]
        return sum(len(lay.cars) for lay, _ in plans), np.concatenate([mat.ravel() for _, mat in plans])

    cars, every = materials(("parking", "plaza", "field"))
    assert cars > 100 and all(np.isin(every, code).any() for code in (m.PLAZA, m.PITCH, m.SOIL))
    cars, parking = materials(("parking",))
    assert cars > 100 and not np.isin(parking, (m.PLAZA, m.PITCH, m.TRACK, m.SOIL, m.SOIL_DARK)).any()
    cars, no_cars = materials(("plaza", "field"))
    assert cars == 0 and not np.isin(no_cars, (m.LOT_ASPHALT, *CARS)).any()
    assert np.isin(no_cars, (m.PLAZA, m.PITCH)).any() and np.isin(no_cars, (m.SOIL,)).any()


def test_open_ground_must_be_a_boolean_and_its_uses_known() -> None:
    with pytest.raises(ConfigError, match="open_ground"):
        SceneConfig(open_ground="yes")  # type: ignore[arg-type]
    for uses in ((), ("parking", "stadium"), ("field", "field")):
        with pytest.raises(ConfigError, match="open_ground_uses"):
            SceneConfig(open_ground=True, open_ground_uses=uses)
