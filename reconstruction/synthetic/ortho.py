"""Render the orthophoto: material colours, texture, sun shading, cast shadows, sensor noise and NIR."""

import math

import numpy as np
import numpy.typing as npt

from reconstruction.synthetic.config import F32, SUN_AZIMUTH_DEG, U8
from reconstruction.synthetic.materials import AMP_FINE, AMP_LOW, CASTS_SHADOW, GRASS, HUE, HUE_RGB, TURBID_WATERS
from reconstruction.synthetic.model import Layout
from reconstruction.synthetic.raster import Canvas, crown_base, draw_layout, render_surface
from reconstruction.synthetic.seasons import Season, is_tree, leaf_gaps

_SHADOW_TINT = (0.48, 0.51, 0.60)  # RGB factors in cast shadow (bluish ambient light)
_SHADOW_NIR = 0.38  # NIR factor in cast shadow (sky light holds little near-infrared)
_AMBIENT = 0.45  # share of sky light in the illumination of flat ground


def render_ortho(
    lay: Layout, canvas: Canvas, rng: np.random.Generator, look: Season, nir: bool, season_rng: np.random.Generator
) -> U8:
    """Orthophoto: material colours, texture, sun shading, cast shadows, sensor noise.

    Args:
        lay: the planned town.
        canvas: the orthophoto grid.
        rng: the generator of the RGB rendering (texture and noise), drawn in a fixed order.
        look: the season's colours, NIR, crown cover and sun elevation.
        nir: also render a near-infrared band.
        season_rng: the generator of leaf-off gaps and NIR noise (separate, so RGB does not depend on ``nir``).

    Returns:
        ``(3, H, W)`` RGB, or ``(4, H, W)`` R, G, B, NIR when ``nir``; uint8.
    """
    mat, ndsm, _ = render_surface(lay, canvas, levels=False)
    elevation = look.sun_elevation_deg
    if look.leaf_cover < 1.0:
        under = np.full_like(mat, GRASS)
        draw_layout(lay, canvas, under, None, None)
        gaps = leaf_gaps(is_tree(mat), look.leaf_cover, season_rng)
        mat[gaps] = under[gaps]
        del under, gaps
    light = _hillshade(ndsm, canvas.res, elevation)
    shadow = _shadows(lay, canvas, mat, ndsm, elevation, look.leaf_cover, season_rng)
    del ndsm
    low = _value_noise(canvas, 9.0, rng)
    _apply_texture(light, mat, low, canvas, rng)
    rgb = _colourise(mat, light, shadow, low, look.rgb, rng)
    if lay.rivers or lay.ponds:
        _glint(rgb, mat, shadow, season_rng)
    if not nir:
        return rgb
    return np.concatenate([rgb, _infrared(mat, light, shadow, look.nir, season_rng)[None]])


def _row_chunks(shape: tuple[int, ...]) -> list[slice]:
    """Row slices of about two million pixels each, to bound temporary memory."""
    step = max(1, (1 << 21) // max(1, shape[-1]))
    return [slice(r, min(r + step, shape[0])) for r in range(0, shape[0], step)]


def _value_noise(canvas: Canvas, cell_m: float, rng: np.random.Generator) -> F32:
    """Smooth unit-variance noise with features about ``cell_m`` metres across."""
    m = int(canvas.size / cell_m) + 3
    grid = rng.standard_normal((m, m), dtype=np.float32)
    pos = (np.arange(canvas.n) + 0.5) * (canvas.res / cell_m)
    idx = pos.astype(np.intp)
    t = pos - idx
    w1 = (t * t * (3 - 2 * t)).astype(np.float32)
    w0 = 1 - w1
    scale = np.float32(1 / np.mean(w0**2 + w1**2))  # interpolation shrinks the variance
    rows = grid[idx] * (w0 * scale)[:, None] + grid[idx + 1] * (w1 * scale)[:, None]
    out = np.empty((canvas.n, canvas.n), np.float32)
    for chunk in _row_chunks(out.shape):
        part = rows[chunk]
        out[chunk] = part[:, idx] * w0 + part[:, idx + 1] * w1
    return out


def _hillshade(z: F32, res: float, elevation: float) -> F32:
    """Light factor of each pixel relative to flat ground (roof facets, crowns).

    Mixes ambient light with direct sun on the local slope; walls are clipped to
    steep slopes so that they only outline objects.
    """
    shade = np.empty_like(z)
    for chunk in _row_chunks(z.shape):
        lo, hi = max(0, chunk.start - 1), min(z.shape[0], chunk.stop + 1)
        part = _direct_light(z[lo:hi], res, elevation)
        shade[chunk] = part[chunk.start - lo : chunk.stop - lo]
    shade *= np.float32(1 - _AMBIENT)
    shade += np.float32(_AMBIENT)
    return shade


def _direct_light(z: F32, res: float, elevation: float) -> F32:
    """Direct sunlight on the slope of ``z`` relative to flat ground, in [0, 1.5]."""
    g_rows, g_cols = np.gradient(z, res)  # callers pass at least two rows
    np.clip(g_cols, -1.5, 1.5, out=g_cols)  # dz/d(east)
    np.clip(g_rows, -1.5, 1.5, out=g_rows)  # dz/d(south)
    az, el = math.radians(SUN_AZIMUTH_DEG), math.radians(elevation)
    east, north, up = math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)
    light = (g_rows * np.float32(north) - g_cols * np.float32(east) + np.float32(up)) / (
        np.sqrt(1 + g_cols**2 + g_rows**2) * np.float32(up)
    )
    return np.clip(light, 0.0, 1.5, out=light)


def _cast_shadow(occluders: F32, surface: F32, res: float, elevation: float) -> npt.NDArray[np.bool_]:
    """Pixels of ``surface`` hidden from the sun by the prisms in ``occluders``.

    Ray march towards the sun by doubling steps: after the pass with step ``s`` the
    horizon holds the maximum over ``k < 2 s`` of ``occluders(p + k d) - k rise``.
    ``occluders`` is overwritten (it becomes the horizon).
    """
    az, el = math.radians(SUN_AZIMUTH_DEG), math.radians(elevation)
    d_row, d_col = -math.cos(az), math.sin(az)  # one pixel towards the sun
    rise = res * math.tan(el)  # ray height gained per pixel step
    reach = float(occluders.max()) / rise
    horizon = occluders
    buf = np.empty_like(occluders)
    step = 1
    while step <= reach:
        _shift(horizon, round(step * d_row), round(step * d_col), buf)
        buf -= np.float32(step * rise)
        np.maximum(horizon, buf, out=horizon)
        step *= 2
    del buf
    horizon -= np.float32(0.15)
    return horizon > surface


def _tree_shadows(lay: Layout, canvas: Canvas, ndsm: F32, shadow: npt.NDArray[np.bool_], elevation: float) -> None:
    """Add each crown's elliptical shadow and its trunk's thin one to ``shadow``."""
    az, el = math.radians(SUN_AZIMUTH_DEG), math.radians(elevation)
    away_u, away_v = -math.sin(az), -math.cos(az)  # shadow direction on the ground
    cot = 1 / math.tan(el)
    for u, v, height, radius, material in lay.trees:
        base = crown_base(height, material)
        half = (height - base) / 2
        reach = (base + half) * cot
        along = math.hypot(radius, half * cot)
        cu, cv = u + away_u * reach, v + away_v * reach
        rect = (
            min(u, cu - along),
            max(u, cu + along),
            min(v, cv - along),
            max(v, cv + along),
        )
        rows, cols = canvas.window(rect)
        if rows.start >= rows.stop or cols.start >= cols.stop:
            continue
        du = canvas.u_at(cols)[None, :] - u
        dv = canvas.v_at(rows)[:, None] - v
        a = du * away_u + dv * away_v  # distance along the shadow from the trunk
        c = du * away_v - dv * away_u  # distance across it
        crown = ((a - reach) / along) ** 2 + (c / radius) ** 2 < 1
        trunk = (np.abs(c) < 0.2) & (a > 0) & (a < reach)
        sub = shadow[rows, cols]
        sub |= (crown | trunk) & (ndsm[rows, cols] < base)


def _shift(src: F32, dr: int, dc: int, out: F32) -> None:
    """``out[r, c] = src[r + dr, c + dc]``, minus infinity outside the raster."""
    n_rows, n_cols = src.shape
    out.fill(-np.inf)
    r0, r1 = max(0, -dr), min(n_rows, n_rows - dr)
    c0, c1 = max(0, -dc), min(n_cols, n_cols - dc)
    if r0 < r1 and c0 < c1:
        out[r0:r1, c0:c1] = src[r0 + dr : r1 + dr, c0 + dc : c1 + dc]


def _lookup(table: npt.NDArray, mat: U8) -> npt.NDArray:
    """``table[mat]`` by row chunks (avoids a full-size intp index array)."""
    out = np.empty(mat.shape, table.dtype)
    for chunk in _row_chunks(mat.shape):
        out[chunk] = table[mat[chunk]]
    return out


def _shadows(
    lay: Layout,
    canvas: Canvas,
    mat: U8,
    ndsm: F32,
    elevation: float,
    leaf_cover: float,
    season_rng: np.random.Generator,
) -> npt.NDArray[np.bool_]:
    """Cast shadows of roofs and cars (ray marched) and of tree crowns (stamped; leaf-off crowns let light through)."""
    occluders = _lookup(CASTS_SHADOW, mat)
    occluders *= ndsm
    shadow = _cast_shadow(occluders, ndsm, canvas.res, elevation)
    del occluders
    if leaf_cover >= 1.0:
        _tree_shadows(lay, canvas, ndsm, shadow, elevation)
        return shadow
    trees = np.zeros_like(shadow)
    _tree_shadows(lay, canvas, ndsm, trees, elevation)
    shadow |= trees & ~leaf_gaps(trees, leaf_cover, season_rng)
    return shadow


def _apply_texture(light: F32, mat: U8, low: F32, canvas: Canvas, rng: np.random.Generator) -> None:
    """Modulate ``light`` in place by material-dependent coarse and fine texture."""
    fine = _value_noise(canvas, max(0.6, 2.2 * canvas.res), rng)
    for chunk in _row_chunks(mat.shape):
        m = mat[chunk]
        light[chunk] *= 1 + AMP_LOW[m] * low[chunk] + AMP_FINE[m] * fine[chunk]


def _colourise(
    mat: U8,
    light: F32,
    shadow: npt.NDArray[np.bool_],
    low: F32,
    colours: F32,
    rng: np.random.Generator,
) -> U8:
    """RGB bands: material colour x light, colour drift, shadow tint, sensor noise."""
    out = np.empty((3, *mat.shape), np.uint8)
    rgb = [np.ascontiguousarray(colours[:, band]) for band in range(3)]
    for chunk in _row_chunks(mat.shape):
        m = mat[chunk]
        drift = HUE[m] * low[chunk]
        for band in range(3):
            channel = rgb[band][m] * light[chunk] + drift * np.float32(HUE_RGB[band])
            tint = np.float32(_SHADOW_TINT[band])
            np.multiply(channel, tint, out=channel, where=shadow[chunk])
            # uniform integers in [-4, 4]: standard deviation 2.6 DN, cheap to draw
            channel += rng.integers(-4, 5, m.shape, dtype=np.int8)
            channel += 0.5
            out[band, chunk] = np.clip(channel, 0, 255, out=channel)
    return out


def _glint(rgb: U8, mat: U8, shadow: npt.NDArray[np.bool_], rng: np.random.Generator) -> None:
    """Sun glints on ripples of turbid water (``SceneConfig.water``): sparse bright specks, a pixel or two long."""
    water = np.isin(mat, TURBID_WATERS) & ~shadow
    if not water.any():
        return
    rows, cols = np.nonzero(water)
    pick = rng.random(len(rows)) < 0.006
    rows, cols = rows[pick], cols[pick]
    boost = rng.uniform(40, 140, len(rows)).astype(np.float32)
    for dc, share in ((0, 1.0), (1, 0.5)):
        c = np.minimum(cols + dc, mat.shape[1] - 1)
        for band in range(3):
            value = rgb[band, rows, c].astype(np.float32) + boost * share
            rgb[band, rows, c] = np.clip(value, 0, 255).astype(np.uint8)


def _infrared(mat: U8, light: F32, shadow: npt.NDArray[np.bool_], reflectance: F32, rng: np.random.Generator) -> U8:
    """NIR band: material reflectance x light, darker in cast shadow, sensor noise."""
    out = np.empty(mat.shape, np.uint8)
    for chunk in _row_chunks(mat.shape):
        channel = reflectance[mat[chunk]] * light[chunk]
        np.multiply(channel, np.float32(_SHADOW_NIR), out=channel, where=shadow[chunk])
        channel += rng.integers(-4, 5, channel.shape, dtype=np.int8)
        channel += 0.5
        out[chunk] = np.clip(channel, 0, 255, out=channel)
    return out
