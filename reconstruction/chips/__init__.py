"""Large areas in chips: plan, reconstruct each chip anywhere, merge into one seamless output.

An area whose grid would not fit one worker's memory is cut into square chips (:mod:`.plan`). Each
chip runs the ordinary pipeline on its core plus a margin and keeps only its core (:mod:`.extent`), so
memory depends on the chip size, not on the area. The merge (:mod:`.merge`) stitches rasters, closes
the terrain's seams (:mod:`.seams`), joins points and vectors and roots each 3D Tiles layer over the
chips' tilesets. Chips are independent: the web app runs them as separate tasks on any worker
(``backend.jobs``), the CLI one after another (:mod:`.local`).

- :func:`plan_chips`, :class:`ChipPlan`, :class:`Chip` -- cut an area.
- :func:`merge_chips` -- join finished chips.
- :func:`run_chipped` -- plan, run every chip in its own process and merge, reporting peak memory.
"""

from reconstruction.chips.plan import Chip, ChipPlan, plan_chips

__all__ = ["Chip", "ChipPlan", "plan_chips", "merge_chips", "run_chipped"]


def __getattr__(name: str):  # noqa: ANN202 - lazy: merge imports the stages, which import plan and extent
    if name == "merge_chips":
        from reconstruction.chips.merge import merge_chips

        return merge_chips
    if name == "run_chipped":
        from reconstruction.chips.local import run_chipped

        return run_chipped
    raise AttributeError(name)
