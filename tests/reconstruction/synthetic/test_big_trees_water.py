"""The opt-in big trees and water (issue 17 part 3): tall crowns with long shadows, turbid rivers and lakes."""

import numpy as np
import pytest

from reconstruction.errors import ConfigError
from reconstruction.synthetic import SceneConfig, generate_scene
from reconstruction.synthetic import materials as m
from reconstruction.synthetic.raster import Canvas
from tests.reconstruction.synthetic.towns import plan_and_materials, scene_digest

TREE, BUILDING, WATER = 5, 6, 9
BIG = (m.BIG_BROADLEAF, m.BIG_BROADLEAF_DARK, m.PINE)


def test_switches_are_off_by_default_and_checked() -> None:
    cfg = SceneConfig()
    assert cfg.big_trees is False and cfg.water is False
    for name in ("big_trees", "water"):
        with pytest.raises(ConfigError, match=name):
            SceneConfig(**{name: 1})


def test_switches_change_the_town_and_stay_deterministic() -> None:
    plain = scene_digest(generate_scene(SceneConfig(size_m=100.0, seed=4)))
    for name in ("big_trees", "water"):
        cfg = SceneConfig(size_m=100.0, seed=4, **{name: True})
        assert scene_digest(generate_scene(cfg)) == scene_digest(generate_scene(cfg))
        assert scene_digest(generate_scene(cfg)) != plain


def test_the_default_trees_are_small_and_big_trees_add_what_they_lack() -> None:
    heights, crowns = [], []
    for seed in range(1, 9):
        scene = generate_scene(SceneConfig(size_m=100.0, seed=seed))
        heights += [t["height_m"] for t in scene.trees]
        crowns += [t["crown_diameter_m"] for t in scene.trees]
    assert max(heights) <= 20.0 and max(crowns) <= 10.0  # what the original towns plant
    big_h, big_c = [], []
    for seed in range(1, 9):
        lay, _ = plan_and_materials(SceneConfig(size_m=100.0, seed=seed, big_trees=True))
        big = lay.trees[np.isin(lay.trees[:, 4], BIG)]
        big_h += big[:, 2].tolist()
        big_c += (2 * big[:, 3]).tolist()
    assert len(big_h) >= 30
    assert min(big_h) >= 15.0 and max(big_h) <= 30.0 and max(big_h) > 25.0
    assert max(big_c) >= 14.0 and min(big_c) >= 6.0


def test_big_crowns_are_labelled_tree_at_their_true_height() -> None:
    cfg = SceneConfig(size_m=100.0, seed=2, big_trees=True)
    scene = generate_scene(cfg)
    lay, mat = plan_and_materials(cfg)
    height = scene.dsm - scene.dtm
    crowns = np.isin(mat, BIG)
    assert crowns.sum() * 0.25 > 300  # m² of big crown
    assert (scene.labels[crowns] == TREE).all()
    canvas = Canvas(cfg.size_m, cfg.dsm_shape[0])
    cover = np.zeros_like(height)  # the tallest big tree whose crown disc covers each cell
    u = canvas.u_at(slice(0, canvas.n))[None, :]
    v = canvas.v_at(slice(0, canvas.n))[:, None]
    tops = []
    for tu, tv, h, radius, _ in lay.trees[np.isin(lay.trees[:, 4], BIG)]:
        disc = (u - tu) ** 2 + (v - tv) ** 2 < (1.15 * radius) ** 2
        cover[disc] = np.maximum(cover[disc], h)
        tops.append(height[canvas.rows(tv - 0.5, tv + 0.5), canvas.cols(tu - 0.5, tu + 0.5)].max() / h)
    assert (height[crowns] <= cover[crowns] + 1e-3).all()  # no crown above its tree's height
    assert np.median(tops) > 0.9  # each crown reaches about its tree's height
    assert height[crowns].max() > 20.0


def test_big_trees_cast_long_shadows() -> None:
    plain = generate_scene(SceneConfig(size_m=100.0, seed=2))
    big = generate_scene(SceneConfig(size_m=100.0, seed=2, big_trees=True))
    ground = (big.labels != TREE) & (big.labels != BUILDING) & (plain.labels != TREE) & (plain.labels != BUILDING)
    dark = ground.repeat(2, 0).repeat(2, 1)
    shade_plain = (plain.ortho[:3].mean(0) < 45)[dark].mean()
    shade_big = (big.ortho[:3].mean(0) < 45)[dark].mean()
    assert shade_big > shade_plain + 0.02


def test_water_is_a_river_or_lake_of_turbid_water_at_zero_metres() -> None:
    found_river = found_lake = 0
    for seed in range(1, 9):
        cfg = SceneConfig(size_m=100.0, seed=seed, water=True)
        scene = generate_scene(cfg)
        lay, mat = plan_and_materials(cfg)
        water = scene.labels == WATER
        assert np.isin(mat[water], m.TURBID_WATERS).all()
        assert np.array_equal(water, np.isin(mat, m.TURBID_WATERS))
        assert np.abs(scene.dsm - scene.dtm)[water].max() == 0.0  # 0 m above the water surface
        for river in lay.rivers:
            assert 10.0 <= 2 * river.half_width <= 60.0
            found_river += 1
        found_lake += len(lay.ponds)
        if water.any():
            ortho_water = water.repeat(2, 0).repeat(2, 1)
            rgb = scene.ortho[:3, ortho_water].astype(np.float64)
            assert rgb.mean() < 80  # dark
            assert rgb.max() > 150  # sun glints
            assert (scene.labels[water] != BUILDING).all()
    assert found_river >= 5 and found_lake >= 2


def test_nothing_stands_in_the_river_but_bridges() -> None:
    for seed in range(1, 9):
        cfg = SceneConfig(size_m=100.0, seed=seed, water=True)
        lay, mat = plan_and_materials(cfg)
        canvas = Canvas(cfg.size_m, cfg.dsm_shape[0])
        for river in lay.rivers:
            u = canvas.u_at(slice(0, canvas.n))
            centre = river.v_mid + river.amp * np.sin(2 * np.pi * u / river.wavelength + river.phase)
            v = canvas.v_at(slice(0, canvas.n))
            band = np.abs(v[:, None] - centre[None, :]) < river.half_width
            inside = mat[band]
            assert np.isin(inside, (*m.TURBID_WATERS, m.ROAD, m.MARKING, m.PAVED)).all()
            assert not np.isin(inside, m.CAR_MATERIALS).any()
