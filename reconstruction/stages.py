"""The names of the pipeline's stages and their share of a run (light: no numpy, no GDAL)."""

#: Stages in order with their share of the total run time (for an overall percentage).
STAGES: tuple[tuple[str, float], ...] = (
    ("stereo", 0.10),
    ("register", 0.05),
    ("inputs", 0.05),
    ("imagery", 0.10),
    ("heights", 0.10),
    ("terrain", 0.10),
    ("classify", 0.05),
    ("pointcloud", 0.15),
    ("features", 0.10),
    ("rasters", 0.05),
    ("tiles", 0.15),
)

#: File name of a run's manifest inside its output folder.
MANIFEST = "manifest.json"


def overall_fraction(stage: str, fraction: float) -> float:
    """Map progress within a stage to progress of the whole run (0..1)."""
    done = 0.0
    for name, weight in STAGES:
        if name == stage:
            return min(1.0, done + weight * max(0.0, min(1.0, fraction)))
        done += weight
    return min(1.0, done)
