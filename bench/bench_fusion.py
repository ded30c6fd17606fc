"""Time semantic fusion (depth test + vote across views) on a generated town; print a table.

Usage: .venv/bin/python -m bench.bench_fusion [--sides 500 1000] [--views 10] [--image 1000 750] [--seed 0]
                                              [--normals pca none] [--repeat 1]

Each case is a generated town of --sides cells at 0.5 m as one point per DSM cell (side^2 points), seen
by --views cameras: all but two oblique (45 degrees down, evenly spaced around the town), two nadir (9 m apart). Label
images are rendered from the true classes with the same z-buffer (so "restored" measures the vote, not an
independent renderer: the tests do that on an exactly ray-cast scene); 20 % of the classes are then
corrupted and fused back. Seconds are the wall time of one ``fuse_labels`` call (fastest of --repeat),
including normals when --normals pca, and its CPU seconds (both cores count; on a shared machine the
wall time also measures the neighbours); points x views / s is the wall-time throughput. Peak MB is the
resident memory above the start, sampled every 5 ms.
"""

import argparse

import numpy as np
from scipy.ndimage import distance_transform_edt

from bench._measure import fastest
from reconstruction.fusion import Camera, FusionConfig, View, fuse_labels, visible_points
from reconstruction.pointcloud import PointCloud
from reconstruction.synthetic import SceneConfig, generate_scene

CODES = np.array([2, 5, 6, 9, 11], np.uint8)


def _town(side: int, seed: int) -> PointCloud:
    scene = generate_scene(SceneConfig(size_m=side * 0.5, gsd_m=0.5, ortho_gsd_m=0.5, seed=seed))
    rows, cols = np.nonzero(np.isfinite(scene.dsm))
    t = scene.dsm_transform
    xyz = np.column_stack([t.c + (cols + 0.5) * t.a, t.f + (rows + 0.5) * t.e, scene.dsm[rows, cols]])
    cls = scene.labels[rows, cols].astype(np.uint8)
    return PointCloud(xyz=xyz.astype(np.float64), rgb=np.zeros((len(xyz), 3), np.uint8), classification=cls)


def _cameras(cloud: PointCloud, count: int, width: int, height: int) -> list[Camera]:
    lo, hi = cloud.xyz.min(axis=0), cloud.xyz.max(axis=0)
    centre, size = (lo + hi) / 2, float(hi[0] - lo[0])
    focal = width / 2 / np.tan(np.radians(35))  # 70 degrees across
    cams = [Camera.looking_at(centre + [dx, 0, 1.4 * size], centre + [dx, 0, 0], focal, width, height) for dx in (0, 9)]
    for i in range(count - 2):
        a = 2 * np.pi * i / (count - 2)
        eye = centre + [0.7 * size * np.sin(a), 0.7 * size * np.cos(a), 0.7 * size]
        cams.append(Camera.looking_at(eye, centre, focal, width, height))
    return cams[:count]


def _render(cloud: PointCloud, cam: Camera, splat: float) -> np.ndarray:
    """Label image: the class of the visible points, holes filled from the nearest labelled pixel."""
    seen = visible_points(cam, cloud.xyz, splat, 0.01, 8)
    labels = np.zeros((cam.height, cam.width), np.uint8)
    labels[seen.rows, seen.cols] = cloud.classification[seen.index]
    near = distance_transform_edt(labels == 0, return_distances=False, return_indices=True)
    filled = labels[near[0], near[1]]
    return np.where(np.isfinite(seen.zbuffer), filled, 0).astype(np.uint8)


def _corrupt(cloud: PointCloud, rng: np.random.Generator) -> PointCloud:
    cls = cloud.classification.copy()
    wrong = rng.random(len(cls)) < 0.2
    cls[wrong] = CODES[(np.searchsorted(CODES, cls[wrong]) + rng.integers(1, len(CODES), wrong.sum())) % len(CODES)]
    return PointCloud(xyz=cloud.xyz, rgb=cloud.rgb, classification=cls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sides", type=int, nargs="+", default=[500, 1000])
    parser.add_argument("--views", type=int, default=10)
    parser.add_argument("--image", type=int, nargs=2, default=[1000, 750], metavar=("W", "H"))
    parser.add_argument("--normals", nargs="+", default=["none", "pca"], choices=["none", "pca"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print("| points | views | image | normals | seconds | CPU s | points x views / s | peak MB | seen | restored |")
    print("|---:|---:|---|---|---:|---:|---:|---:|---:|---:|")
    for side in args.sides:
        truth = _town(side, args.seed)
        cams = _cameras(truth, args.views, *args.image)
        views = [View(name=f"v{i}", camera=c, labels=_render(truth, c, 0.375)) for i, c in enumerate(cams)]
        noisy = _corrupt(truth, np.random.default_rng(args.seed))
        for normals in args.normals:
            cfg = FusionConfig(normals=normals)  # type: ignore[arg-type]
            result, seconds, cpu, peak = fastest(lambda n=noisy, v=views, c=cfg: fuse_labels(n, v, c), args.repeat)
            seen = result.vote.views > 0
            restored = float(np.mean(result.cloud.classification[seen] == truth.classification[seen]))
            rate = len(truth) * len(views) / seconds
            print(
                f"| {len(truth):,} | {len(views)} | {args.image[0]}x{args.image[1]} | {normals} "
                f"| {seconds:.2f} | {cpu:.2f} | {rate / 1e6:.2f} M | {peak:,.0f} "
                f"| {seen.mean():.1%} | {restored:.1%} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
