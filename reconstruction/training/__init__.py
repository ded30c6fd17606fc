"""Training: samples, datasets, losses, the loop with checkpoints, evaluation, and tiled inference.

- :mod:`reconstruction.training.samples` -- aligned tiles from generated scenes or classified LiDAR; region splits.
- :mod:`reconstruction.training.footprints` -- samples from an orthophoto and a footprint file (other cells ignored).
- :mod:`reconstruction.training.bands` -- network input bands: RGB, RGB+NIR, or both with a NIR-available flag.
- :mod:`reconstruction.training.dataset` -- ``TileDataset``: seeded random crops with flips and rotations.
- :mod:`reconstruction.training.imaging` -- crops as coarser, JPEG-compressed or colour-cast orthophotos.
- :mod:`reconstruction.training.losses` -- cross-entropy + Dice, Gaussian NLL and L1 on height; ``MultiTaskLoss``.
- :mod:`reconstruction.training.loop` -- ``TrainConfig``, ``train``, ``evaluate``, checkpoints and resume.
- :mod:`reconstruction.training.tiling` -- ``predict_tiled``: blended overlapping windows over large images.

Submodules import torch; importing this package does not.
"""
