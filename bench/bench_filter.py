"""Measure point-cloud cleaning (statistical outliers, voxel grid) on real LiDAR with injected noise; print a table.

Usage: .venv/bin/python -m bench.bench_filter [--levels 5 18.7 30] [--k 8] [--std-ratio 2] [--seed 0]
                                             [--synthetic-points 5000000] [--voxel 0.5] [--repeat 3]

For each real LAZ under $RS3D_SHARED_DATA (default ../shared/data from the repository root) and each noise
level, real points are copied and moved 2-30 m in random directions until the copies make up that share of
the cloud (18.7 % is the level the paper cleans down to 6.3 %). Each row runs ``clean_point_cloud`` (no voxel
grid) and gives the noise share after cleaning (injected points left / points left), precision and recall
of the removed points, wall and CPU seconds and the peak memory above the starting RSS (fastest of --repeat
runs: on a shared machine the wall time also measures the neighbours). The last rows time a
synthetic cloud of --synthetic-points on a wavy surface (timing only), without and with the --voxel grid.
"""

import argparse
import os
from pathlib import Path

import laspy
import numpy as np
import psutil

from bench._measure import fastest
from reconstruction.pointcloud import FilterConfig, PointCloud, clean_point_cloud

ROOT = Path(__file__).resolve().parent.parent
FILES = [
    Path("montpellier") / "lidar_77055_627760.laz",
    Path("ign_lidarhd") / "test_semis_2021_0382_6565_LA93_IGN69_cropped.laz",
]
NOISE_CLASS = 18  # ASPRS "high noise": marks the injected points so they can be counted after cleaning


def _with_noise(cloud: PointCloud, share: float, rng: np.random.Generator) -> PointCloud:
    """Add moved copies of real points so that they make up ``share`` of the result, marked NOISE_CLASS."""
    m = round(share / (1 - share) * len(cloud))
    source = rng.integers(0, len(cloud), m)
    direction = rng.normal(size=(m, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    noise = cloud.xyz[source] + direction * rng.uniform(2.0, 30.0, (m, 1))
    return PointCloud(
        xyz=np.vstack([cloud.xyz, noise]),
        rgb=np.vstack([cloud.rgb, cloud.rgb[source]]),
        classification=np.r_[cloud.classification, np.full(m, NOISE_CLASS, np.uint8)],
    )


def _read(path: Path) -> PointCloud:
    las = laspy.read(path)
    xyz = np.column_stack([las.x, las.y, las.z]).astype(np.float64)
    classes = np.asarray(las.classification, np.uint8)
    if (classes == NOISE_CLASS).any():
        raise SystemExit(f"{path} already holds class {NOISE_CLASS} points; pick another marker")
    return PointCloud(xyz=xyz, rgb=np.zeros((len(xyz), 3), np.uint8), classification=classes)


def _synthetic(n: int, rng: np.random.Generator) -> PointCloud:
    """n points, about 5 per m², on a wavy surface with 0.05 m jitter and 2 % noise up to 30 m off it."""
    side = np.sqrt(n / 5.0)
    x, y = rng.uniform(0, side, n), rng.uniform(0, side, n)
    z = 40 + 5 * np.sin(x / 50) + 3 * np.cos(y / 70) + rng.normal(0, 0.05, n)
    noisy = rng.random(n) < 0.02
    z[noisy] += rng.uniform(-30, 30, np.count_nonzero(noisy))
    return PointCloud(
        xyz=np.column_stack([x, y, z]), rgb=np.zeros((n, 3), np.uint8), classification=np.full(n, 2, np.uint8)
    )


def bench_real(cloud: PointCloud, share: float, cfg: FilterConfig, seed: int, repeat: int) -> dict:
    noisy = _with_noise(cloud, share, np.random.default_rng(seed))
    injected = int(np.count_nonzero(noisy.classification == NOISE_CLASS))
    (clean, report), seconds, cpu, peak = fastest(lambda: clean_point_cloud(noisy, cfg), repeat)
    left = int(np.count_nonzero(clean.classification == NOISE_CLASS))
    removed_noise = injected - left
    return {
        "points": len(noisy),
        "noise_in": 100 * injected / len(noisy),
        "noise_out": 100 * left / max(len(clean), 1),
        "precision": removed_noise / report.outliers if report.outliers else float("nan"),
        "recall": removed_noise / injected,
        "threshold": report.threshold_m,
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=float, nargs="+", default=[5.0, 18.7, 30.0], help="noise share in %%")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--std-ratio", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synthetic-points", type=int, default=5_000_000)
    parser.add_argument("--voxel", type=float, default=0.5, help="voxel edge (m) for the last synthetic row")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the fastest is shown")
    args = parser.parse_args()
    data = Path(os.environ.get("RS3D_SHARED_DATA", ROOT.parent / "shared" / "data"))
    cfg = FilterConfig(k=args.k, std_ratio=args.std_ratio)

    print(f"clean_point_cloud, k={args.k}, std_ratio={args.std_ratio}, {psutil.cpu_count()} CPUs, seed {args.seed}")
    header = (
        f"{'case':<34} {'points':>10} {'noise %':>8} {'after %':>8} {'precision':>9} {'recall':>7} "
        f"{'thresh m':>8} {'seconds':>8} {'CPU s':>6} {'peak MB':>8}"
    )
    print(header)
    for name in FILES:
        path = data / name
        if not path.is_file():
            print(f"{name.name:<34} absent, skipped")
            continue
        cloud = _read(path)
        for level in args.levels:
            r = bench_real(cloud, level / 100, cfg, args.seed, args.repeat)
            print(
                f"{name.stem[:34]:<34} {r['points']:>10,} {r['noise_in']:>8.1f} {r['noise_out']:>8.1f} "
                f"{r['precision']:>9.3f} {r['recall']:>7.3f} {r['threshold']:>8.2f} {r['seconds']:>8.2f} "
                f"{r['cpu']:>6.2f} {r['peak_mb']:>8.0f}"
            )
    cloud = _synthetic(args.synthetic_points, np.random.default_rng(args.seed))
    for voxel in (None, args.voxel):
        run_cfg = FilterConfig(voxel_m=voxel, k=args.k, std_ratio=args.std_ratio)
        (_, report), seconds, cpu, peak = fastest(lambda c=run_cfg: clean_point_cloud(cloud, c), args.repeat)
        case = "synthetic surface" + (f", voxel {voxel} m" if voxel else "")
        print(
            f"{case:<34} {len(cloud):>10,} {'':>8} {'':>8} {'':>9} {'':>7} {report.threshold_m:>8.2f} "
            f"{seconds:>8.2f} {cpu:>6.2f} {peak:>8.0f}   "
            f"({report.after_voxel:,} after voxel, {report.outliers:,} outliers)"
        )


if __name__ == "__main__":
    main()
