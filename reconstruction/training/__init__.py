"""Training: datasets, samplers, loops, losses, checkpoints, and tiled inference over large images."""
