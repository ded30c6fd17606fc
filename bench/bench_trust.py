"""The trust gate on every real region the project holds: height MAE against all-zero, buildings, mIoU, ECE.

``.venv/bin/python -m bench.bench_trust [--fit REGION] [--model citynet-v1]``: with ``--fit`` it first measures
the network's features on generated training towns (seeds 1-16), fits the calibration on that ONE real region
and saves it beside the shipped weights (``<model>.trust.npz``); then it scores every region before and after
the gate, and prints the table docs/models.md quotes. Real data come from ``../shared/data`` (``RS3D_SHARED_DATA``).
A few minutes on one CPU thread.
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    """Fit (optionally), then score every available region and print the table."""
    from reconstruction.prediction.trust import calibration_path
    from reconstruction.prediction.weights import WEIGHTS_DIR, load_weights
    from reconstruction.training.real_regions import available_regions, load_region
    from reconstruction.training.trust_calibration import fit_calibration, score_region, town_statistics

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="citynet-v1")
    parser.add_argument("--fit", default=None, help="real region to fit the calibration on (e.g. ign_rural)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    model, info = load_weights(args.model)
    if args.fit:
        stats = town_statistics(model, info.model.in_channels, range(1, 17))
        calibration = fit_calibration(model, info, load_region(args.fit), stats)
        calibration.save(calibration_path(WEIGHTS_DIR / f"{args.model}.pt"))
        model, info = load_weights(args.model)
        print(f"fitted on {args.fit}: {calibration.__dict__ | {'mean': '...', 'precision': '...'}}")
    tuned = info.trust.tuned_on if info.trust is not None else "-"
    print(f"\n{args.model}, gate tuned on {tuned}; building precision/recall by area; * = region used for tuning\n")
    print(
        "| region | building truth | all-zero MAE | MAE raw | MAE gated | P raw | P gated | R raw | R gated "
        "| false bldg m² raw → gated | mIoU raw → gated | ECE raw → calibrated | shift | untrusted |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in available_regions():
        s = score_region(model, info, load_region(name))
        raw, gated = s["raw"], s["gated"]
        star = "*" if name == tuned else ""
        print(
            f"| {name}{star} | {s['building_from']} | {s['zero_mae']:.2f} | {raw['mae']:.2f} | {gated['mae']:.2f} "
            f"| {_f(raw['precision'])} | {_f(gated['precision'])} | {_f(raw['recall'])} | {_f(gated['recall'])} "
            f"| {raw['false_m2']:,.0f} → {gated['false_m2']:,.0f} | {_f(raw['miou'])} → {_f(gated['miou'])} "
            f"| {_f(raw['ece'])} → {_f(gated['ece'])} | {_f(s.get('shift_score'))} | {_f(s.get('untrusted_share'))} |"
        )
    print(f"\n{time.perf_counter() - start:.0f} s")


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
