import math
from pathlib import Path

import laspy
import numpy as np
import pytest
from scipy.spatial import cKDTree

from reconstruction.errors import ConfigError, InputError
from reconstruction.pointcloud import FilterConfig, FilterReport, PointCloud, clean_point_cloud
from reconstruction.pointcloud import outliers as outliers_module
from reconstruction.pointcloud.filter import voxel_downsample
from reconstruction.pointcloud.neighbours import NeighbourTree
from reconstruction.pointcloud.outliers import _robust_threshold, outlier_mask
from tests.conftest import require

IGN_LAZ = Path("ign_lidarhd") / "test_semis_2021_0382_6565_LA93_IGN69_cropped.laz"


def _cloud(xyz: np.ndarray) -> PointCloud:
    n = len(xyz)
    rgb = np.column_stack([np.arange(n) % 256, np.arange(n) // 256 % 256, np.zeros(n)]).astype(np.uint8)
    return PointCloud(xyz=np.asarray(xyz, np.float64), rgb=rgb, classification=(np.arange(n) % 7).astype(np.uint8))


def _read_xyz(path: Path) -> np.ndarray:
    las = laspy.read(path)
    return np.column_stack([las.x, las.y, las.z]).astype(np.float64)


def _with_noise(xyz: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Add fraction * N points, each a real point moved 2-30 m in a random direction; True marks them."""
    rng = np.random.default_rng(seed)
    m = round(fraction * len(xyz))
    direction = rng.normal(size=(m, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    noise = xyz[rng.integers(0, len(xyz), m)] + direction * rng.uniform(2.0, 30.0, (m, 1))
    return np.vstack([xyz, noise]), np.r_[np.zeros(len(xyz), bool), np.ones(m, bool)]


def _scores(flagged: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall, and the noise fraction left after removing the flagged points."""
    hits = np.count_nonzero(flagged & truth)
    kept = ~flagged
    return hits / np.count_nonzero(flagged), hits / np.count_nonzero(truth), truth[kept].mean()


# --- voxel grid -------------------------------------------------------------------------------------------


def test_voxel_keeps_the_original_point_nearest_each_centroid_with_its_colour_and_class():
    corners = np.array([[i, j, k] for i in range(3) for j in range(2) for k in range(2)], np.float64)
    corners += [1000.0, 2000.0, 10.0]
    # Per voxel (edge 1 m): centroid at offset (5/12, 1/2, 1/2); b is nearest but is not the centroid.
    offsets = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.75, 0.75, 0.75]])
    xyz = (corners[:, None, :] + offsets[None, :, :]).reshape(-1, 3)
    xyz = np.vstack([xyz, [[1005.25, 2000.25, 10.25]]])  # a voxel holding a single point
    order = np.random.default_rng(0).permutation(len(xyz))
    cloud = _cloud(xyz[order])

    out = voxel_downsample(cloud, 1.0)

    assert len(out) == len(corners) + 1  # exactly one per occupied voxel
    expected = np.vstack([corners + offsets[1], [[1005.25, 2000.25, 10.25]]])
    assert sorted(map(tuple, out.xyz)) == sorted(map(tuple, expected))  # original points, not centroids
    source = {tuple(p): i for i, p in enumerate(cloud.xyz)}
    index = np.array([source[tuple(p)] for p in out.xyz])
    assert (np.diff(index) > 0).all()  # input order is kept
    assert (out.rgb == cloud.rgb[index]).all()
    assert (out.classification == cloud.classification[index]).all()


def test_voxel_larger_than_the_cloud_keeps_one_point():
    xyz = np.random.default_rng(1).uniform(0, 10, (500, 3)) + [770000.0, 6277000.0, 30.0]
    out = voxel_downsample(_cloud(xyz), 50.0)
    assert len(out) == 1
    assert any((out.xyz[0] == xyz).all(axis=1))


def test_voxel_on_empty_and_single_point_clouds():
    assert len(voxel_downsample(_cloud(np.empty((0, 3))), 1.0)) == 0
    assert len(voxel_downsample(_cloud(np.ones((1, 3))), 1.0)) == 1


# --- statistical outliers ---------------------------------------------------------------------------------


def test_outliers_above_and_below_a_dense_plane_are_found():
    rng = np.random.default_rng(0)
    g = np.arange(200) * 0.5
    x, y = np.meshgrid(g, g)
    plane = np.column_stack([x.ravel(), y.ravel(), np.full(x.size, 30.0)])
    m = len(plane) // 50  # 2 %
    sign = rng.choice([-1.0, 1.0], m)
    noise = np.column_stack([rng.uniform(0, 99.5, m), rng.uniform(0, 99.5, m), 30 + sign * rng.uniform(5, 50, m)])
    truth = np.r_[np.zeros(len(plane), bool), np.ones(m, bool)]

    flagged, threshold = outlier_mask(np.vstack([plane, noise]), k=8, std_ratio=2.0)

    precision, recall, _ = _scores(flagged, truth)
    assert recall > 0.95 and precision > 0.9  # measured: 1.0 and 1.0, threshold 3.49 m
    assert 0.6 < threshold < 5.0


def test_clouds_smaller_than_k_plus_one_have_no_outliers():
    flagged, threshold = outlier_mask(np.array([[0.0, 0, 0], [100, 0, 0], [0, 0, 1]]), k=8, std_ratio=2.0)
    assert not flagged.any() and threshold == math.inf
    flagged, threshold = outlier_mask(np.empty((0, 3)), k=8, std_ratio=2.0)
    assert flagged.shape == (0,) and threshold == math.inf


def test_clean_point_cloud_reports_each_step():
    rng = np.random.default_rng(2)
    xyz = np.vstack([rng.uniform(0, 20, (4000, 3)) * [1, 1, 0.01], [[10, 10, 80], [5, 5, -60]]])
    cloud, report = clean_point_cloud(_cloud(xyz), FilterConfig(voxel_m=0.5))
    assert isinstance(report, FilterReport)
    assert report.points_in == 4002
    assert report.after_voxel < report.points_in
    assert report.outliers >= 2 and report.points_out == len(cloud) == report.after_voxel - report.outliers
    assert cloud.xyz[:, 2].max() < 1.0 and cloud.xyz[:, 2].min() > -1.0
    assert report.to_dict()["points_in"] == 4002 and set(report.to_dict()) >= {"threshold_m", "outliers"}


def test_clean_point_cloud_on_an_empty_cloud():
    cloud, report = clean_point_cloud(_cloud(np.empty((0, 3))), FilterConfig(voxel_m=1.0))
    assert len(cloud) == 0 and report.points_out == 0 and report.outliers == 0


def test_non_finite_coordinates_are_an_input_error():
    xyz = np.zeros((20, 3))
    xyz[3, 1] = np.nan
    with pytest.raises(InputError):
        outlier_mask(xyz, k=4, std_ratio=2.0)


@pytest.mark.parametrize(
    "kwargs", [{"voxel_m": 0.0}, {"voxel_m": -1.0}, {"k": 0}, {"std_ratio": 0.0}, {"std_ratio": -2.0}]
)
def test_config_rejects_values_that_cannot_work(kwargs):
    with pytest.raises(ConfigError):
        FilterConfig(**kwargs)


def test_functions_reject_bad_options():
    with pytest.raises(ConfigError):
        voxel_downsample(_cloud(np.zeros((3, 3))), 0.0)
    with pytest.raises(ConfigError):
        outlier_mask(np.zeros((3, 3)), k=0, std_ratio=2.0)


# --- robust threshold: generated cloud and edge cases ----------------------------------------------------


def _generated_city(seed: int) -> np.ndarray:
    """About 48,000 points: wavy terrain (6 per m²), two flat roofs 8 and 14 m up, twelve tree crowns."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 80, 40_000), rng.uniform(0, 80, 40_000)
    parts = [np.column_stack([x, y, 30 + 2 * np.sin(x / 15) + 1.5 * np.cos(y / 20) + rng.normal(0, 0.03, x.size)])]
    for x0, y0, w, h, height in ((10, 10, 20, 15, 38.0), (45, 40, 25, 20, 44.0)):
        m = w * h * 6
        roof = [rng.uniform(x0, x0 + w, m), rng.uniform(y0, y0 + h, m), height + rng.normal(0, 0.03, m)]
        parts.append(np.column_stack(roof))
    for cx, cy in rng.uniform(5, 75, (12, 2)):
        v = rng.normal(size=(300, 3))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        parts.append([cx, cy, 38.0] + v * 3 * rng.random((300, 1)) ** (1 / 3))
    return np.vstack(parts)


def _with_noise_share(xyz: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Moved copies (2-30 m) of real points making up ``share`` of the result, as bench_filter injects them."""
    return _with_noise(xyz, share / (1 - share), seed)


def _global_rule(xyz: np.ndarray) -> np.ndarray:
    """The classic rule the filter replaced: mean + 2 standard deviations over the whole cloud."""
    d = cKDTree(xyz).query(xyz, k=9)[0][:, 1:].mean(axis=1)
    return d > d.mean() + 2 * d.std()


@pytest.mark.parametrize(
    ("share", "second_round", "max_after", "min_recall"),
    [
        (0.05, False, 0.006, 0.89),
        (0.187, False, 0.03, 0.88),
        (0.30, False, 0.075, 0.81),
        (0.05, True, 0.005, 0.905),
        (0.187, True, 0.023, 0.9),
        (0.30, True, 0.06, 0.85),
    ],
)
def test_generated_city_with_injected_noise_reaches_the_papers_headline(share, second_round, max_after, min_recall):
    xyz, truth = _with_noise_share(_generated_city(0), share, seed=1)

    flagged, threshold = outlier_mask(xyz, k=8, std_ratio=2.0, second_round=second_round)

    # Measured, one round: 5 % -> 0.5 % (precision 1.000, recall 0.901), 18.7 % -> 2.5 % (1.000, 0.887),
    # 30 % -> 7.1 % (1.000, 0.822: at that share some noise lies as densely as a crown and passes for one);
    # two rounds: 0.5 % (1.000, 0.912), 2.1 % (1.000, 0.905), 5.8 % (1.000, 0.856). One round without the
    # height test (the rule before): 0.5 %, 2.3 %, 6.1 % after (recall 0.901, 0.896, 0.847); the one global
    # robust threshold gave precision 0.988-0.999 at recall 0.90-0.91, the classic global 2 sigma 1.5 %,
    # 13.4 %, 26.2 % after. Same global threshold (1.09-1.10 m) whatever the share: the noise does not move it.
    precision, recall, after = _scores(flagged, truth)
    assert after <= max_after and recall >= min_recall and precision >= 0.995
    assert 0.9 < threshold < 1.3
    assert after < _scores(_global_rule(xyz), truth)[2] / 2.5  # 5 %: 0.52 % against 1.55 %


def test_a_clean_cloud_is_kept_nearly_whole():
    flagged, _ = outlier_mask(_generated_city(0), k=8, std_ratio=2.0)
    assert flagged.mean() < 0.001  # measured 0 (the one global threshold cut 0.07 %: tree-crown rims)


def test_k_plus_one_points_are_enough():
    xyz = np.vstack([np.random.default_rng(3).uniform(0, 1, (8, 3)), [[50.0, 50, 50]]])
    flagged, threshold = outlier_mask(xyz, k=8, std_ratio=2.0)
    assert flagged.shape == (9,) and math.isfinite(threshold)
    flagged, _ = outlier_mask(xyz, k=2, std_ratio=2.0)
    assert flagged[-1] and not flagged[:-1].any()


def test_duplicated_points_change_nothing_but_the_scale():
    plane = _generated_city(0)[:40_000]  # the terrain alone
    xyz, truth = _with_noise_share(plane, 0.187, seed=2)
    once, _ = outlier_mask(xyz, k=8, std_ratio=2.0)
    twice, _ = outlier_mask(np.vstack([xyz, xyz]), k=8, std_ratio=2.0)
    assert (twice[: len(xyz)] == twice[len(xyz) :]).all()  # a point and its copy get the same answer
    assert _scores(twice[: len(xyz)], truth)[2] < 0.06 and _scores(once, truth)[2] < 0.06


def test_all_identical_points_are_kept():
    flagged, threshold = outlier_mask(np.full((500, 3), [770000.0, 6277000.0, 30.0]), k=8, std_ratio=2.0)
    assert not flagged.any() and threshold == 0.0


def test_stacks_of_duplicates_stay_out_of_the_statistics():
    # 60 % of the points sit 9 deep on 1 m grid nodes (d = 0), the rest scatter on a plane: a zero median
    # would flag every scattered point; the zeros are left out instead.
    rng = np.random.default_rng(4)
    nodes = np.column_stack([rng.integers(0, 30, 600), rng.integers(0, 30, 600), np.zeros(600)]).astype(float)
    stacks = np.repeat(nodes, 9, axis=0)
    scattered = np.column_stack([rng.uniform(0, 30, (3600, 2)), np.zeros(3600)])
    xyz = np.vstack([stacks, scattered, [[15.0, 15, 40]]])
    flagged, _ = outlier_mask(xyz, k=8, std_ratio=2.0)
    assert flagged[-1] and np.count_nonzero(flagged) < 0.01 * len(xyz)


# --- local thresholds -----------------------------------------------------------------------------------


def _roof_in_sparse_ground(seed: int) -> tuple[np.ndarray, int]:
    """A 40 m roof at 20 points/m² 10 m up, in a 60 m square of ground at 3.5 points/m²; and the roof's size."""
    rng = np.random.default_rng(seed)
    n_roof = 40 * 40 * 20
    roof = np.column_stack([rng.uniform(10, 50, (n_roof, 2)), 10 + rng.normal(0, 0.02, n_roof)])
    ground = np.column_stack([rng.uniform(0, 60, (60 * 60 * 7 // 2, 2)), rng.normal(0, 0.02, 60 * 60 * 7 // 2)])
    ground = ground[~((ground[:, :2] > 10) & (ground[:, :2] < 50)).all(axis=1)]
    return np.vstack([roof, ground]), n_roof


def test_sparse_ground_beside_a_dense_roof_is_kept_and_the_noise_still_goes():
    real, n_roof = _roof_in_sparse_ground(0)
    xyz, truth = _with_noise_share(real, 0.05, seed=3)
    ground = np.r_[np.zeros(n_roof, bool), np.ones(len(real) - n_roof, bool), np.zeros(len(xyz) - len(real), bool)]

    flagged, threshold = outlier_mask(xyz, k=8, std_ratio=2.0)

    # The roof holds most points, so the global threshold is the roof's (0.64 m) and the sparse ground's
    # mean neighbour distances straddle it: one threshold for all cut 38 % of the ground (precision 0.43).
    # Each ground point's neighbours are as sparse as itself, so its own threshold is higher. Measured: 1.4 %
    # of the ground cut, no roof point, precision 0.95 and recall 0.96 on the noise.
    d = cKDTree(xyz).query(xyz, k=9)[0][:, 1:].mean(axis=1)
    assert (d[ground] > threshold).mean() > 0.3  # what the former global rule removed
    assert flagged[ground].mean() < 0.03
    assert not flagged[:n_roof].any()
    precision, recall, _ = _scores(flagged, truth)
    assert recall > 0.94 and precision > 0.9


def test_outliers_clustered_together_do_not_vouch_for_one_another():
    plane = _generated_city(0)[:40_000]  # terrain only: about 6 points/m², threshold about 1.1 m
    # 27 points on a 3 m lattice, 20 m above the terrain: each one's 8 neighbours are the others.
    lattice = np.stack(np.meshgrid(*[np.arange(3) * 3.0] * 3), axis=-1).reshape(-1, 3) + [40, 40, 52]
    xyz = np.vstack([plane, lattice])

    flagged, threshold = outlier_mask(xyz, k=8, std_ratio=2.0)

    d = cKDTree(xyz).query(lattice, k=9)[0][:, 1:].mean(axis=1)
    assert (d > 1.5 * threshold).all()  # beyond the ceiling of any local threshold
    assert flagged[-27:].all() and flagged[:-27].mean() < 0.001


def test_wires_above_the_ground_stay_while_the_noise_around_them_goes():
    plane = _generated_city(0)[:40_000]  # terrain only: about 6 points/m²
    # Three 60 m wires 12-14 m above the terrain, a point every 0.4 m: above everything in their column, but
    # each has points at its own height beside it, so the height test never cuts them.
    x = np.arange(10, 70, 0.4)
    wires = [np.column_stack([x, np.full(150, 20.0 + dy), np.full(150, 44.0)]) for dy in (0, 1.5, 3)]
    xyz, truth = _with_noise_share(np.vstack([plane, *wires]), 0.187, seed=4)

    for second_round in (False, True):
        flagged, _ = outlier_mask(xyz, k=8, std_ratio=2.0, second_round=second_round)

        assert not flagged[40_000:40_450].any()
        precision, recall, after = _scores(flagged, truth)  # measured 1.000, 0.91 / 0.93, 2.1 % / 1.7 %
        assert precision >= 0.995 and recall >= 0.89 and after < 0.025


def test_a_second_round_finds_noise_that_hid_behind_noise():
    xyz, truth = _with_noise_share(_generated_city(0), 0.30, seed=1)
    flagged, _ = outlier_mask(xyz, k=8, std_ratio=2.0, second_round=True)
    first_round, _ = outlier_mask(xyz, k=8, std_ratio=2.0)
    assert (flagged >= first_round).all()  # the second round only adds
    assert _scores(flagged, truth)[1] > _scores(first_round, truth)[1] + 0.02  # measured 0.856 against 0.822


def test_the_height_test_spares_real_points_the_local_threshold_alone_would_cut(montpellier):
    real = _read_xyz(montpellier / "lidar_77055_627760.laz")
    flagged, _ = outlier_mask(real, k=8, std_ratio=2.0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outliers_module, "_ISOLATED_RATIO", 1.0)  # every point over its threshold cut, as before
        without, _ = outlier_mask(real, k=8, std_ratio=2.0)
    assert (flagged <= without).all()
    assert np.count_nonzero(flagged) < 0.85 * np.count_nonzero(without)  # measured 138 against 174


def test_local_test_gives_the_same_answer_with_kept_or_queried_neighbours(monkeypatch):
    xyz, _ = _with_noise_share(_generated_city(0), 0.187, seed=1)
    kept, threshold = outlier_mask(xyz, k=8, std_ratio=2.0, second_round=True)  # the neighbours are kept
    monkeypatch.setattr(outliers_module, "_QUERY_VALUES", 9 * 4096)  # many chunks
    monkeypatch.setattr(outliers_module, "_KEPT_NEIGHBOUR_BYTES", 0)  # neighbours queried again at each step
    queried, threshold_again = outlier_mask(xyz, k=8, std_ratio=2.0, second_round=True)
    assert threshold_again == threshold
    assert (queried == kept).all() and 0.1 < kept.mean() < 0.2


def test_the_answer_does_not_depend_on_the_order_of_the_points():
    # The test runs on the points sorted by plan cell and gives the answers back in input order.
    xyz, truth = _with_noise_share(_generated_city(0), 0.187, seed=1)
    shuffle = np.random.default_rng(7).permutation(len(xyz))
    for second_round in (False, True):
        flagged, threshold = outlier_mask(xyz, k=8, std_ratio=2.0, second_round=second_round)
        shuffled, threshold_shuffled = outlier_mask(xyz[shuffle], k=8, std_ratio=2.0, second_round=second_round)
        assert np.array_equal(shuffled, flagged[shuffle]) and threshold_shuffled == threshold
        assert _scores(flagged, truth)[1] > 0.88  # the answers are the points', not their places in the sort


def test_distances_asked_in_chunks_equal_those_asked_at_once(monkeypatch):
    xyz = _generated_city(1)[:20_000]
    tree = NeighbourTree(xyz)
    mean_dist, neighbours = outliers_module._neighbour_distances(8, tree)
    monkeypatch.setattr(outliers_module, "_QUERY_VALUES", 9 * 1500)  # 14 chunks, neighbours copied in
    chunked_dist, chunked_neighbours = outliers_module._neighbour_distances(8, tree)
    assert np.array_equal(chunked_dist, mean_dist) and np.array_equal(chunked_neighbours, neighbours)
    expected = cKDTree(xyz).query(xyz, k=9)[0][:, 1:].mean(axis=1)
    assert mean_dist == pytest.approx(expected, abs=1e-5)  # 32-bit positions
    assert neighbours.shape == (20_000, 8) and not (neighbours == np.arange(20_000)[:, None]).any()


def test_row_sums_column_by_column_equal_numpys_row_sums_bit_for_bit():
    xyz = np.random.default_rng(12).uniform(0, 500, (5000, 3))
    dist, _ = NeighbourTree(xyz).neighbours_of_range(0, 5000, 9)
    assert np.array_equal(outliers_module._row_sums(dist), dist.sum(axis=1, dtype=np.float64))


def _threshold_by_np_median(values: np.ndarray, n_std: float) -> float:
    """The robust threshold written the plain way, with np.median on each round's copy."""
    kept, threshold = values[values > 0], math.inf
    while kept.size:
        median = float(np.median(kept))
        threshold = median + n_std * max(1.4826 * float(np.median(np.abs(kept - median))), median / 10)
        if (kept <= threshold).all():
            return threshold
        kept = kept[kept <= threshold]
    return 0.0


def test_the_sorted_threshold_equals_the_plain_one():
    rng = np.random.default_rng(6)
    for trial in range(400):
        n = int(rng.integers(1, 80))
        values = [
            rng.lognormal(0, 1, n),
            rng.integers(0, 5, n).astype(float),  # ties and zeros
            np.r_[rng.normal(1, 0.01, n), rng.uniform(5, 50, n // 3)],
            np.round(rng.exponential(1, n), 1),
        ][trial % 4]
        assert _robust_threshold(values, 6.0) == pytest.approx(_threshold_by_np_median(values, 6.0), rel=1e-12)


def test_clean_point_cloud_refuses_nan():
    xyz = np.random.default_rng(5).uniform(0, 10, (50, 3))
    xyz[7, 2] = np.nan
    with pytest.raises(InputError, match="NaN"):
        clean_point_cloud(_cloud(xyz), FilterConfig())


# --- real LiDAR with injected noise -----------------------------------------------------------------------


def test_outliers_on_real_montpellier_lidar(montpellier):
    real = _read_xyz(montpellier / "lidar_77055_627760.laz")

    # The paper's setting (k = 8, 2) at the paper's noise share, the one case the constants were chosen on
    # (as bench_filter draws it; this draw differs). Measured (60,653 + 13,951 points): noise 18.7 % -> 2.5 %,
    # precision 0.994, recall 0.888 in one round; 2.1 %, 0.9907, 0.907 in two; global threshold 0.76 m (one
    # round without the height test, the rule before: 2.4 %, 0.991, 0.895). The one global robust threshold:
    # 1.8 %, precision 0.966 (0.9 % of the clean tile cut, mostly sparse crown returns); the classic global
    # 2 sigma: 13.6 % (recall 0.31).
    xyz, truth = _with_noise_share(real, 0.187, seed=0)
    precision, recall, after = _scores(outlier_mask(xyz, k=8, std_ratio=2.0)[0], truth)
    assert after <= 0.027 and recall >= 0.88 and precision >= 0.992
    precision, recall, after = _scores(outlier_mask(xyz, k=8, std_ratio=2.0, second_round=True)[0], truth)
    assert after <= 0.022 and recall >= 0.9 and precision >= 0.99
    # Another draw of the noise: measured 0.889 at 0.993 in one round, 0.907 at 0.990 in two.
    xyz, truth = _with_noise_share(real, 0.187, seed=1)
    precision, recall, after = _scores(outlier_mask(xyz, k=8, std_ratio=2.0, second_round=True)[0], truth)
    assert recall >= 0.9 and precision >= 0.99
    assert after < _scores(_global_rule(xyz), truth)[2] / 5

    # The clean tile: measured 0.23 % removed in one round (0.29 % with the rule before), 0.28 % in two.
    assert outlier_mask(real, k=8, std_ratio=2.0)[0].mean() < 0.0025
    assert outlier_mask(real, k=8, std_ratio=2.0, second_round=True)[0].mean() < 0.003


def test_outliers_on_real_ign_lidarhd(shared_data):
    path = shared_data / IGN_LAZ
    require(path.is_file(), f"{path} is absent")
    real = _read_xyz(path)
    xyz, truth = _with_noise_share(real, 0.187, seed=0)
    # Decimated LiDAR HD (0.3 points/m², k-NN distances around 2.3 m, half the real points above the
    # nearest tenth of the noise), so most 2-30 m moves stay within the normal spacing. Measured (218,731 +
    # 50,312 points): precision 0.9996, recall 0.185, noise 18.7 % -> 15.8 % in one round; 0.9993, 0.274,
    # 14.3 % in two (the rule before: 0.196, 15.6 %). The local test keeps the noise whose neighbours are as
    # sparse as itself: the one global robust threshold reached recall 0.351 (13.0 %) at the price of real
    # points on denser tiles, the classic global rule 13.7 %.
    precision, recall, after = _scores(outlier_mask(xyz, k=8, std_ratio=2.0)[0], truth)
    assert precision >= 0.99 and recall >= 0.17 and after < 0.16
    precision, recall, after = _scores(outlier_mask(xyz, k=8, std_ratio=2.0, second_round=True)[0], truth)
    assert precision >= 0.99 and recall >= 0.25 and after < 0.148
    assert outlier_mask(real, k=8, std_ratio=2.0)[0].mean() < 0.001  # measured 0.007 % (0.011 % in two rounds)


def test_nearest_kept_points_match_a_brute_force_search():
    rng = np.random.default_rng(8)
    xyz = rng.uniform(0, 10, (400, 3))
    xyz[200:210] = xyz[0]  # duplicates of point 0: neighbours at distance 0, not the point itself
    skip = rng.random(400) < 0.6  # more skipped than the first ask allows for: rows are asked again
    points = np.flatnonzero(~skip)
    dist, index = NeighbourTree(xyz).nearest_others(points, 8, skip)
    for row, i in enumerate(points):
        others = np.flatnonzero(~skip & (np.arange(400) != i))
        expected = np.sort(np.linalg.norm(xyz[others] - xyz[i], axis=1))[:8]
        assert dist[row] == pytest.approx(expected, abs=1e-5)  # 32-bit positions
        assert not skip[index[row]].any() and i not in index[row]
