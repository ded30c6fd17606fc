"""The pipeline's stages: their names and shares of a run here (light), one module per stage beside it.

Importing this package is cheap (no numpy, no GDAL): the web app reads :data:`STAGES` for progress.
Each stage is a module of the same name with one public entry, ``run_<stage>(...)``, which
:func:`reconstruction.pipeline.run_pipeline` calls in this order. A stage module is a thin step: it
picks the domain package's functions, feeds them the run's arrays and writes the outputs; the
algorithms stay in the domain packages, split by role (style guide section 1), where the tests
and other tools (chips, training, metrics) use them too.

==========  =============================  ======================================================
stage       entry                          does the work
==========  =============================  ======================================================
stereo      ``stereo.run_stereo``          :mod:`reconstruction.stereo` (CARS: RPC pair -> DSM)
register    ``register.run_register``      :mod:`reconstruction.registration`
inputs      ``inputs.run_inputs``          :mod:`reconstruction.io` (``io.area``: the working grid),
                                           :mod:`reconstruction.chips.extent` (a chip's window)
imagery     ``imagery.run_imagery``        :mod:`reconstruction.io`, :mod:`reconstruction.tiles3d` (XYZ)
heights     ``heights.run_heights``        :mod:`reconstruction.io`, :mod:`reconstruction.pointcloud`,
                                           :mod:`reconstruction.prediction` (orthophoto only)
terrain     ``terrain.run_terrain``        :mod:`reconstruction.terrain`, :mod:`reconstruction.chips.seams`
classify    ``classify.run_classify``      :mod:`reconstruction.objects.rules`, :mod:`reconstruction.prediction`
pointcloud  ``pointcloud.run_pointcloud``  :mod:`reconstruction.pointcloud`
features    ``features.run_features``      :mod:`reconstruction.objects`, :mod:`reconstruction.gis`
rasters     ``rasters.run_rasters``        :mod:`reconstruction.gis` (COG)
tiles       ``tiles.run_tiles``            :mod:`reconstruction.tiles3d`
==========  =============================  ======================================================

Shared by the stages: :mod:`.surfaces` (the arrays on the working grid, the model call of ``heights`` and
``classify``) and :mod:`.manifest` (``manifest.json``). Outside the flow: :mod:`reconstruction.chips` runs
these stages per chip and merges; :mod:`reconstruction.fusion` (``python -m reconstruction fuse``)
relabels a finished run's point cloud from perspective images, after ``pointcloud``; training,
metrics and synthetic serve the models, the benchmarks and the tests. See ``docs/design.md``.
"""

from pathlib import Path

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


def relative_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with forward slashes, as the manifest stores every path."""
    return path.relative_to(root).as_posix()
