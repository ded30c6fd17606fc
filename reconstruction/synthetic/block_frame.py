"""A street block's side frames: ``s`` along one side (S, N, W or E), ``t`` inwards from it, to local metres."""

from reconstruction.synthetic.model import Block, Rect


def extent(blk: Block, side: str) -> tuple[float, float]:
    """Frontage length along ``side`` and block depth away from it, metres."""
    width, height = blk.u1 - blk.u0, blk.v1 - blk.v0
    return (width, height) if side in "SN" else (height, width)


def to_global(blk: Block, side: str, s0: float, s1: float, t0: float, t1: float) -> Rect:
    """Map a rectangle in a side frame (``s`` along the side, ``t`` inwards) to local."""
    if side == "S":
        return blk.u0 + s0, blk.u0 + s1, blk.v0 + t0, blk.v0 + t1
    if side == "N":
        return blk.u0 + s0, blk.u0 + s1, blk.v1 - t1, blk.v1 - t0
    if side == "W":
        return blk.u0 + t0, blk.u0 + t1, blk.v0 + s0, blk.v0 + s1
    return blk.u1 - t1, blk.u1 - t0, blk.v0 + s0, blk.v0 + s1
