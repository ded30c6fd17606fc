"""Registration error of ``register_raster``, plain against semantic, on inputs of known truth; print a table.

Usage: .venv/bin/python -m bench.bench_registration [--data ../shared/data] [--detector sift] [--large]

Cases (error e = sqrt(dx^2 + dy^2) in metres on check points whose true position is known):
- Montpellier IRC -> RGB (0.2 m, 252 x 252): the false-colour image displaced by a known translation,
  rotation + scale, and projective warp; 15 x 15 check points over the inner 70 %.
- Montpellier IRC at 0.6 m with noise -> RGB: another sensor (3x coarser, Gaussian noise of 12 grey levels),
  rotated -3 degrees, scaled 0.98 and shifted (-2, 1.2) m.
- Montpellier DSM -> LiDAR DSM (0.5 m, 100 x 100): IGN's DSM with its georeferencing shifted by (1.7, -2.3) m,
  against a DSM rasterised from the LiDAR tile's highest returns.
- Generated town off-nadir views (200 m, 0.25 m): the orthophoto re-rendered 10 and 20 degrees off nadir
  (relief displacement h * tan(tilt)), then rotated 1.5 degrees and shifted (2, -1.5) m; 400 check points on
  ground away from buildings (a plane model cannot fit leaning roofs; the ground is what must line up).
- With --large: a 560 m generated town (2240 x 2240 = 5 Mpx) displaced by a rotation, for timing.
Seconds are the wall time of one register_raster call (including reading, classes and writing the output).
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio

from reconstruction.config import RegistrationConfig
from reconstruction.errors import InputError
from reconstruction.registration import register_raster
from reconstruction.synthetic import SceneConfig, generate_scene, write_scene
from reconstruction.synthetic.registration import (
    grid_check_points,
    projective,
    similarity,
    write_lidar_dsm,
    write_off_nadir_view,
    write_shifted,
    write_warped,
)

ROOT = Path(__file__).resolve().parent.parent


def _centre(bounds):
    return ((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)


def _cases(data: Path, work: Path, large: bool):
    """Yield (name, size, reference, moving, kind, model, check points)."""
    mont = data / "montpellier"
    if (mont / "ortho_irc_20cm.tif").is_file():
        rgb, irc = mont / "ortho_rgb_20cm.tif", mont / "ortho_irc_20cm.tif"
        with rasterio.open(rgb) as src:
            bounds = tuple(src.bounds)
        c = _centre(bounds)
        warps = {
            "translation (2.3, -1.7) m": ("affine", similarity(c, shift=(2.3, -1.7))),
            "rotation 4 deg + scale 1.03": ("affine", similarity(c, 4.0, 1.03, (1.5, 1.0))),
            "projective (tilt 3 %)": ("projective", projective(c, 25.0, 0.03, (1.0, 0.5))),
        }
        for i, (name, (model, truth)) in enumerate(warps.items()):
            moving = write_warped(irc, work / f"irc{i}.tif", truth)
            yield f"montpellier IRC->RGB {name}", "252^2", rgb, moving, "image", model, grid_check_points(bounds, truth)
        truth = similarity(c, -3.0, 0.98, (-2.0, 1.2))
        moving = _degrade(write_warped(irc, work / "irc_deg.tif", truth), work / "irc_coarse.tif", 3, 12.0)
        points = grid_check_points(bounds, truth)
        yield "montpellier IRC 0.6 m + noise->RGB rot -3 deg", "84^2", rgb, moving, "image", "affine", points
        reference = write_lidar_dsm(mont / "lidar_77055_627760.laz", mont / "dsm_50cm.tif", work)
        moving, truth = write_shifted(mont / "dsm_50cm.tif", work / "dsm_shifted.tif", (1.7, -2.3))
        with rasterio.open(mont / "dsm_50cm.tif") as src:
            points = grid_check_points(tuple(src.bounds), truth)
        yield "montpellier DSM->LiDAR DSM shift (1.7, -2.3)", "100^2", reference, moving, "dsm", "affine", points
    scene = generate_scene(SceneConfig(size_m=200.0, seed=5))
    files = write_scene(scene, work / "town")
    c = _centre((*scene.config.origin, scene.config.origin[0] + 200.0, scene.config.origin[1] + 200.0))
    truth = similarity(c, 1.5, 1.0, (2.0, -1.5))
    for tilt in (10.0, 20.0):
        moving, points = write_off_nadir_view(scene, work / f"view{tilt:.0f}.tif", tilt, 60.0, truth)
        yield f"town off-nadir {tilt:.0f} deg + rot 1.5 deg", "800^2", files["ortho"], moving, "image", "affine", points
    if large:
        big = generate_scene(SceneConfig(size_m=560.0, seed=7))
        files = write_scene(big, work / "big")
        c = _centre((*big.config.origin, big.config.origin[0] + 560.0, big.config.origin[1] + 560.0))
        truth = similarity(c, 2.0, 1.0, (3.0, 2.0))
        moving = write_warped(files["ortho"], work / "big_moving.tif", truth)
        with rasterio.open(files["ortho"]) as src:
            points = grid_check_points(tuple(src.bounds), truth)
        yield "town 5 Mpx rotation 2 deg", "2240^2", files["ortho"], moving, "image", "affine", points


def _degrade(source: Path, out: Path, factor: int, noise: float) -> Path:
    """Another sensor: ``factor`` times coarser (area average) with Gaussian noise of ``noise`` grey levels."""
    from rasterio.enums import Resampling

    with rasterio.open(source) as src:
        shape = (src.count, src.height // factor, src.width // factor)
        data = src.read(out_shape=shape, resampling=Resampling.average).astype(float)
        profile = src.profile
        profile.update(width=shape[2], height=shape[1], transform=src.transform * src.transform.scale(factor, factor))
    noisy = data + np.random.default_rng(0).normal(0, noise, data.shape)
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(np.clip(noisy, 0, 254).astype(np.uint8))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("RS3D_SHARED_DATA", ROOT.parent / "shared" / "data"))
    )
    parser.add_argument("--detector", default="sift", choices=["sift", "orb", "akaze"])
    parser.add_argument("--large", action="store_true", help="add a 5 Mpx generated town (timing)")
    args = parser.parse_args()
    cfg = RegistrationConfig(detector=args.detector)
    header = (
        f"{'case':<50} {'size':>7} {'model':>10} | {'plain mean/median m':>19} | {'semantic mean/median m':>22} | "
        f"{'matches':>7} {'class-rej':>9} {'inl plain/sem':>13} | {'s plain/sem':>11}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, size, reference, moving, kind, model, points in _cases(args.data, work, args.large):
            found = {}
            try:
                for semantic in (False, True):
                    start = time.perf_counter()
                    report = register_raster(
                        reference,
                        moving,
                        work / "out.tif",
                        kind=kind,
                        model=model,
                        semantic=semantic,
                        cfg=cfg,
                        check_points=points,
                    )
                    found[semantic] = (report, time.perf_counter() - start)
            except InputError as err:
                print(f"{name:<50} {size:>7} {model:>10} | refused: {str(err)[:90]}", flush=True)
                continue
            (plain, tp), (sem, ts) = found[False], found[True]
            assert plain.check_points is not None and sem.check_points is not None
            print(
                f"{name:<50} {size:>7} {model:>10} | "
                f"{plain.check_points.mean_m:>9.3f} / {plain.check_points.median_m:<7.3f} | "
                f"{sem.check_points.mean_m:>11.3f} / {sem.check_points.median_m:<8.3f} | "
                f"{plain.n_matches:>7} {sem.n_class_rejected:>9} {plain.n_inliers:>6}/{sem.n_inliers:<6} | "
                f"{tp:>5.1f}/{ts:<5.1f}",
                flush=True,
            )
    print(f"detector {args.detector}; check-point error e = sqrt(dx^2 + dy^2) in metres; seconds on this CPU")


if __name__ == "__main__":
    main()
