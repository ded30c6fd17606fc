"""Inference speed of the shipped model: megapixels per second on CPU (and CUDA when present); print a table.

Usage: .venv/bin/python -m bench.bench_inference [--model citynet-v1] [--sides 512 2048] [--threads 1 2]
                                                 [--tile 256] [--batch 8] [--repeat 2]

Each case predicts a generated town's orthophoto, resampled to the model's 0.5 m, with
``predict_area`` (tiled windows, blending, argmax, confidence): the whole product path from an
8-bit image on the working grid to classes and heights. Seconds are the best of ``--repeat`` runs
after one warm-up; peak RSS is the process's (it includes torch itself, about 0.3 GB).
"""

import argparse
import time

import numpy as np
import psutil
import torch

from reconstruction.prediction.predict import predict_area
from reconstruction.prediction.weights import load_weights
from reconstruction.synthetic import SceneConfig, generate_scene


def _image(side: int) -> np.ndarray:
    scene = generate_scene(SceneConfig(size_m=side * 0.5, gsd_m=0.5, ortho_gsd_m=0.5, seed=5))
    return np.asarray(scene.ortho)[:3, :side, :side]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="citynet-v1")
    parser.add_argument("--sides", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, psutil.cpu_count()])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(f"predict_area with {args.model}; {psutil.cpu_count()} CPUs; GPU: {gpu}")
    print(f"{'device':<8} {'threads':>7} {'side px':>8} {'Mpx':>6} {'seconds':>8} {'Mpx/s':>7} {'peak RSS GB':>12}")
    for side in args.sides:
        rgb = _image(side)
        for device in devices:
            for threads in args.threads if device == "cpu" else [0]:
                if threads:
                    torch.set_num_threads(threads)
                model, info = load_weights(args.model, device)
                predict_area(model, info, rgb[:, :128, :128], 0.5, device=device)  # warm-up
                best = float("inf")
                for _ in range(args.repeat):
                    if device == "cuda":
                        torch.cuda.synchronize()
                    start = time.perf_counter()
                    predict_area(model, info, rgb, 0.5, device=device)
                    if device == "cuda":
                        torch.cuda.synchronize()
                    best = min(best, time.perf_counter() - start)
                mpx = side * side / 1e6
                rss = psutil.Process().memory_info().rss / 2**30
                row = f"{device:<8} {threads or '-':>7} {side:>8} {mpx:>6.2f} {best:>8.2f}"
                print(f"{row} {mpx / best:>7.2f} {rss:>12.2f}")


if __name__ == "__main__":
    main()
