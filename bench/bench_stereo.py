"""Run ``stereo.reconstruct_stereo`` (CNES CARS) on the real stereo pairs; print a table and render the DSMs.

Usage: .venv/bin/python -m bench.bench_stereo [--data ../shared/data] [--work /tmp/rs3d-bench-stereo]
                                              [--resolution 0.5] [--cases pleiades wv3]

Cases: the Pléiades pair (La Réunion, mountains; compared with s2p's DSM on its 0.5 m grid: median and
90th percentile of |dh|, raw and after removing the median offset, and the share of s2p's valid pixels
that we also cover) and the WorldView-3 pair (Buenos Aires, urban; completeness = share of the DSM grid
holding a height). Seconds are the wall time of one call (tie points + CARS + products); peak MB is the
summed resident memory of the CARS process tree. Each DSM is rendered to docs/images/stereo_<case>_dsm.png.
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
import psutil
import rasterio
from PIL import Image

from reconstruction.errors import RS3DError
from reconstruction.stereo import compare_dsm, reconstruct_stereo

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "pleiades": ("stereo/pleiades_pair", ["img_01.tif", "img_02.tif"], 32740),
    "wv3": ("stereo/wv3_buenos_aires", ["wv3_20.NTF", "wv3_30.NTF"], None),
}


def render(dsm: Path, out: Path, max_side: int = 480) -> None:
    """Hillshade blended with a terrain colour ramp (nodata black), 128 colours: small enough for the docs."""
    with rasterio.open(dsm) as src:
        step = max(1, int(np.ceil(max(src.width, src.height) / max_side)))
        z = src.read(1, masked=True)[::step, ::step].astype(np.float64)
        cell = abs(src.transform.a) * step
    valid = ~np.ma.getmaskarray(z)
    filled = z.filled(float(np.ma.median(z)))
    gy, gx = np.gradient(filled, cell)
    slope, aspect = np.arctan(np.hypot(gx, gy)), np.arctan2(-gx, gy)
    azimuth, altitude = np.radians(315.0), np.radians(45.0)
    shade = np.sin(altitude) * np.cos(slope) + np.cos(altitude) * np.sin(slope) * np.cos(azimuth - aspect)
    low, high = np.percentile(filled[valid], [2, 98])
    t = np.clip((filled - low) / max(high - low, 1e-6), 0, 1)[..., None]
    ramp = np.array([[0.16, 0.35, 0.6], [0.3, 0.65, 0.35], [0.93, 0.85, 0.45], [0.75, 0.45, 0.3], [1.0, 1.0, 1.0]])
    position = t * (len(ramp) - 1)
    index = np.clip(position.astype(int), 0, len(ramp) - 2)
    colour = ramp[index[..., 0]] * (1 - (position - index)) + ramp[index[..., 0] + 1] * (position - index)
    rgb = colour * (0.35 + 0.65 * np.clip(shade, 0, 1)[..., None])
    rgb[~valid] = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((rgb * 255).astype(np.uint8)).quantize(128).save(out, optimize=True)  # < 300 kB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("RS3D_SHARED_DATA", ROOT.parent / "shared" / "data"))
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/rs3d-bench-stereo"))
    parser.add_argument("--resolution", type=float, default=0.5, help="DSM cell in metres (s2p's is 0.5)")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    args = parser.parse_args()

    print(f"stereo.reconstruct_stereo (CNES CARS), {psutil.cpu_count()} CPUs, DSM {args.resolution} m")
    header = f"{'case':<9} {'input':>15} {'seconds':>8} {'peak MB':>8} {'valid':>6} {'vs s2p: cover':>13}"
    print(header + f" {'med|dh|':>7} {'p90|dh|':>7} {'bias':>6} {'med*':>5} {'p90*':>5}  (* offset removed)")
    for name in args.cases:
        folder, files, epsg = CASES[name]
        images = [args.data / folder / file for file in files]
        with rasterio.open(images[0]) as src:
            size = f"{len(images)} x {src.width}x{src.height}"
        start = time.perf_counter()
        try:
            products = reconstruct_stereo(images, args.work / name, epsg=epsg, resolution=args.resolution)
        except RS3DError as err:
            print(f"{name:<9} {size:>15} {time.perf_counter() - start:>8.1f}  refused: {err}")
            continue
        q = products.quality
        line = f"{name:<9} {size:>15} {q['run_seconds']:>8.1f} {q['peak_memory_mb']:>8.0f} {q['valid_share']:>6.1%}"
        reference = args.data / folder / "reference_dsm_s2p.tif"
        if reference.is_file():
            c = compare_dsm(products.dsm, reference)
            line += f" {c.valid_share:>13.1%} {c.median_abs:>7.2f} {c.p90_abs:>7.2f} {c.bias:>6.2f}"
            line += f" {c.median_abs_debiased:>5.2f} {c.p90_abs_debiased:>5.2f}"
        print(line)
        render(products.dsm, ROOT / "docs" / "images" / f"stereo_{name}_dsm.png")


if __name__ == "__main__":
    main()
