"""Benchmark the 3D Tiles outputs: points and buildings to tiles, bytes per km² per layer, time to first view.

Usage: .venv/bin/python -m bench.bench_tiles [--points] [--format] [--buildings] [--bytes] [--view] [--lod] [--quick]

With no part flag all six run; each prints a markdown table with the machine facts and the load average.

1. ``--points``: each LAS/LAZ of ../shared/data (or $RS3D_DATA) is decompressed with laspy (its lazrs backend
   hangs on some files inside py3dtiles) and converted to LAS 1.4 point format 7, the kind of LAS the pipeline
   hands its tiler, and the demo city's 640k DSM points are written the same way; then each is timed, best of
   ``--repeat``, interleaved, through our path (``tiles3d.write_pointcloud_tileset``, as the pipeline calls it)
   and py3dtiles' ``convert()`` (same worker count, CRS in/out, RGB and classification), both in this
   process, and through the ``py3dtiles convert`` CLI (a child process; ``--no-cli`` leaves it out). One
   warm-up conversion of each runs first and is not counted (py3dtiles' numba functions compile on first
   use). The points written to the tiles of each side are counted, to show both did the whole file.
1b. ``--format``: bytes of the point tiles as written (glb: int16 positions, RGB bytes, implicit feature ids,
   property table) against the same tiles as the pnts rs3d wrote before (float32 positions around an
   ``RTC_CENTER``, RGB, a ``BATCH_ID`` per point, batch-table columns), each point set re-encoded from the glb
   tile, identity and brotli (quality 9, as publish precompresses). Inputs: the real LiDAR files and the
   demo city's points (one per 0.5 m DSM cell of the generated 400 m city, seed 7, coloured from its
   orthophoto), with the time to tile each.
2. ``--buildings``: buildings extracted by the pipeline's own ``objects.extract_buildings`` from a generated
   city, copied side by side by translation up to N, written by ``tiles3d.write_building_tileset``.
3. ``--bytes``: ``python -m reconstruction synthetic`` + ``run`` on a generated city, then the publish step's
   ``precompress`` on the output; bytes of every manifest layer (and rasters, vectors, imagery), identity
   and as served with brotli (a file's ``.br`` copy when publish kept one, else the file itself).
4. ``--view``: a live server with the published demo city (as scripts/demo.sh), its 3D view opened in
   headless Chromium (SwiftShader software WebGL) in a fresh context each run: navigation start -> viewer
   ready -> every tileset of the first view loaded (the page's ``#status`` turning ready). ``--hide trees``
   adds runs with that layer hidden through the URL hash (as a shared link does), to see what each layer costs.
5. ``--lod``: what the mesh layers' distance levels of detail cost. The layers of a generated city (the
   pipeline's own extraction of buildings, trees and roads, and its TIN) are written twice by the ``tiles3d``
   writers: as they are, and with the simplified parents switched off by patching the writers' private
   helper in this process (the tileset as it was before them). Bytes per km², tiling seconds (best of the
   repeats), tiles, and the triangles of the root against all the leaves. The point cloud's levels of detail
   (rs3d's own tiler, which replaced py3dtiles' tiles) are measured in the browser by ``bench.bench_first_view``.
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench._measure import machine_facts

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RS3D_DATA", ROOT.parent / "shared" / "data"))
PY3DTILES = Path(sys.executable).parent / "py3dtiles"

#: (path under DATA, EPSG of the coordinates): the Amsterdam files carry no CRS record.
LIDAR = [
    ("montpellier/lidar_77055_627760.laz", 2154),
    ("amsterdam/ahn_2386_9702.laz", 28992),
    ("amsterdam/ahn_2397_9705.laz", 28992),
    ("ign_lidarhd/test_semis_2021_0382_6565_LA93_IGN69_cropped.laz", 2154),
]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _folder_stats(folder: Path) -> tuple[int, int]:
    """Files and bytes under ``folder``, leaving out precompressed copies."""
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix not in (".br", ".gz")]
    return len(files), sum(p.stat().st_size for p in files)


def _tile_count(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.suffix in (".pnts", ".glb", ".b3dm"))


# --- 1. points -> tiles ---------------------------------------------------------------------------------


def _as_pipeline_las(source: Path, target: Path) -> int:
    """Decompress ``source`` and write it as LAS 1.4 point format 7 (what the pipeline writes); points."""
    import laspy

    las = laspy.convert(laspy.read(source), point_format_id=7, file_version="1.4")
    las.write(target)
    return len(las.points)


def _ours(las: Path, out: Path, epsg: int, jobs: int) -> float:
    from pyproj import CRS

    from reconstruction.tiles3d import write_pointcloud_tileset

    start = time.perf_counter()
    write_pointcloud_tileset(las, out, CRS.from_epsg(epsg), jobs)
    return time.perf_counter() - start


def _cli(las: Path, out: Path, epsg: int, jobs: int, timeout_s: float) -> float:
    command = [str(PY3DTILES), "convert", str(las), "--out", str(out), "--overwrite", "--jobs", str(jobs)]
    command += ["--srs_in", str(epsg), "--force-srs-in", "--srs_out", "4978", "--extra-fields", "classification"]
    start = time.perf_counter()
    subprocess.run(command, check=True, timeout=timeout_s, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def _py3dtiles(las: Path, out: Path, epsg: int, jobs: int) -> float:
    """``py3dtiles.convert.convert`` in this process: what the CLI runs, without starting Python and importing."""
    from py3dtiles.convert import convert
    from pyproj import CRS

    start = time.perf_counter()
    convert(
        las,
        outfolder=out,
        overwrite=True,
        jobs=jobs,
        crs_in=CRS.from_epsg(epsg),
        force_crs_in=True,
        crs_out=CRS.from_epsg(4978),
        extra_fields=["classification"],
    )
    return time.perf_counter() - start


def _points_in_tiles(folder: Path) -> int:
    """Points in every tile under ``folder``: glb POSITION counts, or pnts ``POINTS_LENGTH``."""
    import struct

    from reconstruction.tiles3d.content.glb import Glb

    total = 0
    for tile in folder.rglob("*"):
        if tile.suffix == ".glb":
            total += len(Glb.from_file(tile).points().xyz())
        elif tile.suffix == ".pnts":
            data = tile.read_bytes()
            json_length = struct.unpack_from("<I", data, 12)[0]
            total += json.loads(data[28 : 28 + json_length])["POINTS_LENGTH"]
    return total


def _demo_city_las(target: Path, size_m: float) -> tuple[int, int]:
    """The demo city's DSM points as a LAS 1.4 point format 7 file (as the pipeline's cloud); (points, EPSG)."""
    from reconstruction.pointcloud.las import write_las

    cloud, crs = _demo_city_cloud(size_m, 7)
    write_las(cloud, target, crs)
    return len(cloud.xyz), int(crs.to_epsg())


def bench_points(work: Path, quick: bool, jobs: int, repeat: int, timeout_s: float, cli: bool = True) -> str:
    """Our point tiler against py3dtiles' ``convert`` (in this process, and as the CLI) on the same LAS files."""
    cases = [c for c in LIDAR if (DATA / c[0]).is_file()]
    if quick:
        cases = cases[:1]
    inputs = []
    for name, epsg in cases:
        las = work / (Path(name).stem + ".las")
        inputs.append((f"`{name}`", epsg, las, _as_pipeline_las(DATA / name, las)))
    if not quick:
        las = work / "demo_city.las"
        points, epsg = _demo_city_las(las, 400.0)
        inputs.append(("demo city (400 m, DSM points)", epsg, las, points))
    if not inputs:
        return f"points: no LAS/LAZ under {DATA}; set RS3D_DATA"
    warm = inputs[0]
    _ours(warm[2], work / "warm-ours", warm[1], jobs)
    _py3dtiles(warm[2], work / "warm-api", warm[1], jobs)  # compiles py3dtiles' numba functions
    cli_start = math.nan
    if cli:
        _cli(warm[2], work / "warm-cli", warm[1], jobs, timeout_s)
        # The CLI's fixed cost: starting Python and importing py3dtiles (numba, pyproj) in a new process.
        start = time.perf_counter()
        subprocess.run([str(PY3DTILES), "convert", "--help"], check=True, stdout=subprocess.DEVNULL, timeout=120)
        cli_start = time.perf_counter() - start
    rows = []
    for label, epsg, las, points in inputs:
        ours, api, by_cli = [], [], []
        for _ in range(repeat):  # interleaved, so that a burst of load hits both sides alike
            ours.append(_ours(las, work / f"ours-{las.stem}", epsg, jobs))
            api.append(_py3dtiles(las, work / f"api-{las.stem}", epsg, jobs))
            if cli:
                try:
                    by_cli.append(_cli(las, work / f"cli-{las.stem}", epsg, jobs, timeout_s))
                except subprocess.TimeoutExpired:
                    by_cli.append(math.inf)
        best, theirs = min(ours), min(api)
        tiles = f"{_tile_count(work / f'ours-{las.stem}')} / {_tile_count(work / f'api-{las.stem}')}"
        written = f"{_points_in_tiles(work / f'ours-{las.stem}'):,} / {_points_in_tiles(work / f'api-{las.stem}'):,}"
        row = [label, f"{points:,}", f"{best:.3f}", f"{theirs:.3f}", f"{theirs / best:.2f}×", tiles, written]
        if cli:
            row.append("timeout" if math.isinf(min(by_cli)) else f"{min(by_cli):.2f}")
        rows.append(row + [f"{points / best / 1e3:.0f}"])
    header = ["file", "points", "rs3d s", "py3dtiles convert() s", "speed-up", "tiles rs3d / py3dtiles"]
    header += ["points in tiles rs3d / py3dtiles"] + (["`py3dtiles convert` CLI s"] if cli else []) + ["k pts/s rs3d"]
    cli_note = (
        f" The CLI column runs `py3dtiles convert` in a child process; starting it and importing py3dtiles alone "
        f"(`py3dtiles convert --help`) takes {cli_start:.2f} s."
        if cli
        else ""
    )
    return "\n".join(
        [
            f"### Points -> 3D Tiles: rs3d (glb) vs py3dtiles' convert() (pnts), jobs={jobs}, best of {repeat}",
            "",
            _table(header, rows),
            "",
            "Input: each file decompressed with laspy to LAS 1.4 point format 7 (the pipeline's tiler input), and the "
            "demo city's DSM points written the same way; both tilers read that LAS, write RGB + classification "
            "and place the tiles in ECEF. Both run in this process, interleaved, after one warm-up each (py3dtiles' "
            "numba functions compile on first use); py3dtiles with the same number of worker processes. Speed-up = "
            f"py3dtiles s / rs3d s.{cli_note} {machine_facts()}",
        ]
    )


def _demo_city_cloud(size_m: float, seed: int) -> tuple[object, object]:
    """The demo city's point cloud as the pipeline builds it from a DSM: (PointCloud, CRS)."""
    from pyproj import CRS

    from reconstruction.io.grid import Grid
    from reconstruction.pointcloud import points_from_raster
    from reconstruction.synthetic import SceneConfig, generate_scene

    scene = generate_scene(SceneConfig(size_m=size_m, seed=seed))
    height, width = scene.dsm.shape
    grid = Grid(CRS.from_user_input(scene.crs), scene.dsm_transform, width, height)
    step = scene.ortho.shape[1] // height  # the orthophoto is finer than the DSM: one pixel per cell
    rgb = scene.ortho[:3, ::step, ::step][:, :height, :width]
    return points_from_raster(scene.dsm, scene.labels, rgb, grid), grid.crs


def _as_pnts(glb_path: Path) -> bytes:
    """The points of a glb point tile as rs3d's former pnts content: float32 around RTC_CENTER, BATCH_ID."""
    import numpy as np

    from reconstruction.tiles3d.content.glb import Glb
    from reconstruction.tiles3d.content.pnts import Pnts

    glb = Glb.from_file(glb_path)
    points = glb.points()
    xyz = points.xyz()
    centre = (xyz.min(axis=0) + xyz.max(axis=0)) / 2
    ids = np.arange(len(xyz), dtype=np.uint32)
    columns = glb.property_table().columns
    return Pnts((xyz - centre).astype(np.float32), points.colors, ids, columns, centre).to_bytes()


def bench_format(work: Path, quick: bool, jobs: int) -> str:
    """Bytes of the glb point tiles against the same points as pnts, identity and brotli."""
    import brotli
    import laspy
    import numpy as np
    from pyproj import CRS

    from reconstruction.pointcloud import PointCloud
    from reconstruction.tiles3d import write_cloud_tileset

    clouds = []
    for name, epsg in LIDAR[:1] if quick else LIDAR:
        if (DATA / name).is_file():
            las = laspy.read(DATA / name)
            rgb16 = np.column_stack([las.red, las.green, las.blue]) if hasattr(las, "red") else None
            rgb = None if rgb16 is None else (rgb16 >> 8 if rgb16.max() > 255 else rgb16).astype(np.uint8)
            xyz = np.column_stack([las.x, las.y, las.z])
            classes, intensity = np.asarray(las.classification, np.uint8), np.asarray(las.intensity, np.uint16)
            cloud = PointCloud(xyz, rgb, classes, intensity)  # type: ignore[arg-type]  # rgb may be None
            clouds.append((f"`{name}`", cloud, CRS.from_epsg(epsg)))
    clouds.append(("demo city (400 m, DSM points)", *_demo_city_cloud(200.0 if quick else 400.0, 7)))
    rows = []
    for label, cloud, crs in clouds:
        out = work / f"format-{len(rows)}"
        start = time.perf_counter()
        tileset = write_cloud_tileset(cloud, out, crs, jobs)
        seconds = time.perf_counter() - start
        sizes = {"glb": [0, 0], "pnts": [0, 0]}
        for tile in sorted((out / "tiles").glob("*.glb")):
            for kind, data in (("glb", tile.read_bytes()), ("pnts", _as_pnts(tile))):
                sizes[kind][0] += len(data)
                sizes[kind][1] += min(len(data), len(brotli.compress(data, quality=9)))
        (g_id, g_br), (p_id, p_br) = sizes["glb"], sizes["pnts"]
        rows.append(
            [
                label,
                f"{len(cloud.xyz):,}",
                f"{_tile_count(out)}",
                f"{p_id:,} / {p_br:,}",
                f"{g_id:,} / {g_br:,}",
                f"{p_br / g_br:.2f}",
                f"{seconds:.2f}",
                f"{tileset.stat().st_size:,}",
            ]
        )
    header = ["cloud", "points", "tiles", "pnts B (identity / br)", "glb B (identity / br)", "pnts / glb (br)"]
    header += ["tiling s", "tileset.json B"]
    return "\n".join(
        [
            f"### Point tiles: glb (int16 positions) vs pnts (float32), same points, jobs={jobs}",
            "",
            _table(header, rows),
            "",
            "Each glb tile's points re-encoded as rs3d's former pnts (float32 around RTC_CENTER, RGB, BATCH_ID, "
            "batch-table columns); br = brotli quality 9 as publish precompresses (or the file itself when "
            f"smaller), summed over the tiles. Tiling s: one run, not warmed. {machine_facts()}",
        ]
    )


# --- 2. buildings -> tiles ------------------------------------------------------------------------------


def _source_buildings(size_m: float, seed: int) -> tuple[list, object, float, float]:
    """Buildings of a generated city through the pipeline's extraction; (buildings, crs, side m, seconds)."""
    from pyproj import CRS

    from reconstruction.config import BuildingConfig
    from reconstruction.io.grid import Grid
    from reconstruction.objects import extract_buildings
    from reconstruction.synthetic import SceneConfig, generate_scene

    scene = generate_scene(SceneConfig(size_m=size_m, seed=seed))
    height, width = scene.dsm.shape
    grid = Grid(CRS.from_user_input(scene.crs), scene.dsm_transform, width, height)
    ndsm = (scene.dsm - scene.dtm).astype("float32")
    start = time.perf_counter()
    buildings = extract_buildings(scene.labels == 6, ndsm, scene.dtm, grid, BuildingConfig())
    return buildings, grid.crs, size_m, time.perf_counter() - start


def _replicate(buildings: list, side_m: float, n: int) -> list:
    """``n`` buildings: copies of ``buildings`` on a grid of scene-sized blocks, each with a new id."""
    from dataclasses import replace

    from shapely.affinity import translate

    per_row = math.ceil(math.sqrt(math.ceil(n / len(buildings))))
    out = []
    for k in range(n):
        block, b = divmod(k, len(buildings))
        dx, dy = (block % per_row) * side_m, (block // per_row) * side_m
        src = buildings[b]
        parts = [replace(p, footprint=translate(p.footprint, dx, dy)) for p in src.parts]
        attributes = {**src.attributes}
        if "id" in attributes:
            attributes["id"] = k + 1
        out.append(
            replace(src, id=k + 1, footprint=translate(src.footprint, dx, dy), parts=parts, attributes=attributes)
        )
    return out


def bench_buildings(work: Path, quick: bool, counts: list[int], repeat: int) -> str:
    """Features per second of ``write_building_tileset``."""
    from reconstruction.tiles3d import write_building_tileset

    if quick:
        counts = [c for c in counts if c <= 1000][:2] or counts[:1]
    buildings, crs, side, extract_s = _source_buildings(300.0 if quick else 400.0, seed=7)
    buildings = [b for b in buildings if b.parts]
    parts = sum(len(b.parts) for b in buildings) / len(buildings)
    rows = []
    for n in counts:
        sample = _replicate(buildings, side, n)
        times = []
        for r in range(repeat):
            out = work / f"b{n}-{r}"
            start = time.perf_counter()
            write_building_tileset(sample, crs, out)
            times.append(time.perf_counter() - start)
        best = min(times)
        _, size = _folder_stats(out)
        rows.append(
            [f"{n:,}", f"{best:.2f}", f"{n / best:,.0f}", f"{_tile_count(out)}", f"{size:,}", f"{size / n:,.0f}"]
        )
    header = ["buildings", "seconds", "features/s", "glb tiles", "bytes", "bytes/building"]
    return "\n".join(
        [
            f"### LoD1 buildings -> 3D Tiles (glb + EXT_structural_metadata), best of {repeat}",
            "",
            _table(header, rows),
            "",
            f"Input: the {len(buildings)} buildings ({parts:.2f} LoD1 parts each on average) that "
            f"`objects.extract_buildings` finds in a generated {side:.0f} m city (seed 7; extraction took "
            f"{extract_s:.1f} s, {len(buildings) / extract_s:.0f} buildings/s), copied side by side to N. "
            f"Default 500 buildings per tile. {machine_facts()}",
        ]
    )


# --- 3. bytes per km² per layer -------------------------------------------------------------------------

_PRECOMPRESS = (
    "import sys, django; from pathlib import Path; django.setup(); "
    "from backend.areas.publish import precompress; print(precompress(Path(sys.argv[1])))"
)


def _served_bytes(folder_or_file: Path) -> tuple[int, int, int]:
    """(files, identity bytes, bytes served with brotli) under a folder or for one file."""
    files = [folder_or_file] if folder_or_file.is_file() else list(folder_or_file.rglob("*"))
    files = [p for p in files if p.is_file() and p.suffix not in (".br", ".gz", ".part")]
    identity = sum(p.stat().st_size for p in files)
    brotli = 0
    for p in files:
        br = p.with_name(p.name + ".br")
        brotli += (br if br.is_file() else p).stat().st_size
    return len(files), identity, brotli


def _paths(section: object) -> list[str]:
    """Every relative file path named in a manifest section (strings, or dicts with a ``path``)."""
    if isinstance(section, str):
        return [section]
    if isinstance(section, dict):
        if isinstance(section.get("path"), str):
            return [section["path"]]
        return [p for v in section.values() for p in _paths(v)]
    if isinstance(section, list):
        return [p for v in section for p in _paths(v)]
    return []


def bench_bytes(work: Path, quick: bool, size_m: float, timeout_s: float) -> str:
    """Bytes per km² of each layer of a CLI run on a generated city."""
    if quick:
        size_m = min(size_m, 300.0)
    scene, out = work / "scene", work / "run"
    cli = [sys.executable, "-m", "reconstruction"]
    subprocess.run(
        [*cli, "synthetic", "--out", str(scene), "--size", str(size_m), "--seed", "7"],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=timeout_s,
    )
    start = time.perf_counter()
    subprocess.run(
        [*cli, "run", "--ortho", str(scene / "ortho.tif"), "--dsm", str(scene / "dsm.tif"), "--out", str(out)]
        + ["--progress", "none"],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=timeout_s,
    )
    run_s = time.perf_counter() - start
    env = {
        **os.environ,
        "RS3D_HOME": str(work / "home"),
        "RS3D_DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "backend.settings",
    }
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _PRECOMPRESS, str(out)],
        check=True,
        env=env,
        cwd=ROOT,
        timeout=timeout_s,
        capture_output=True,
    )
    precompress_s = time.perf_counter() - start
    manifest = json.loads((out / "manifest.json").read_text())
    km2 = size_m * size_m / 1e6
    rows = []
    for name, tileset in manifest.get("layers", {}).items():
        rows.append(_bytes_row(f"layer `{name}`", [(out / _paths(tileset)[0]).parent], km2))
    for section in ("rasters", "vectors", "pointclouds", "imagery"):
        for name, entry in (manifest.get(section) or {}).items():
            paths = [out / p for p in _paths(entry) if (out / p).exists()]
            if paths:
                rows.append(_bytes_row(f"{section} `{name}`", paths, km2))
    total = _served_bytes(out)
    rows.append(
        [
            "**all files**",
            f"{total[0]:,}",
            f"{total[1] / 1e6:.2f}",
            f"{total[1] / 1e6 / km2:.1f}",
            f"{total[2] / 1e6 / km2:.1f}",
            f"{total[2] / max(total[1], 1):.2f}",
        ]
    )
    header = ["output", "files", "MB", "MB/km² identity", "MB/km² brotli", "brotli/identity"]
    return "\n".join(
        [
            f"### Bytes per km², generated city {size_m:.0f} m x {size_m:.0f} m ({km2:.2f} km², DSM 0.5 m, "
            "orthophoto 0.25 m)",
            "",
            _table(header, rows),
            "",
            f"`reconstruction run` took {run_s:.1f} s; publish's `precompress` (brotli q9 + gzip) "
            f"{precompress_s:.1f} s. "
            "Brotli = bytes served to a client that accepts br (a file's .br copy where publish kept one, "
            f"i.e. saved >= 10 %; rasters, PNG and LAZ are never precompressed). {machine_facts()}",
        ]
    )


def _bytes_row(label: str, paths: list[Path], km2: float) -> list[str]:
    files = identity = brotli = 0
    for path in paths:
        f, i, b = _served_bytes(path)
        files, identity, brotli = files + f, identity + i, brotli + b
    return [
        label,
        f"{files:,}",
        f"{identity / 1e6:.2f}",
        f"{identity / 1e6 / km2:.1f}",
        f"{brotli / 1e6 / km2:.1f}",
        f"{brotli / max(identity, 1):.2f}",
    ]


# --- 5. what levels of detail and pickable points cost ----------------------------------------------------


def _lod_inputs(size_m: float) -> dict[str, object]:
    """The generated city's layers as the pipeline hands them to ``tiles3d`` (seed 7)."""
    from pyproj import CRS

    from reconstruction import objects, terrain
    from reconstruction.config import BuildingConfig, TinConfig, TreeConfig
    from reconstruction.io.grid import Grid
    from reconstruction.objects.feature import Feature
    from reconstruction.synthetic import SceneConfig, generate_scene

    scene = generate_scene(SceneConfig(size_m=size_m, seed=7))
    height, width = scene.dsm.shape
    grid = Grid(CRS.from_user_input(scene.crs), scene.dsm_transform, width, height)
    ndsm = (scene.dsm - scene.dtm).astype("float32")
    buildings = objects.extract_buildings(scene.labels == 6, ndsm, scene.dtm, grid, BuildingConfig())
    found = objects.detect_trees(scene.labels == 5, ndsm, scene.dtm, grid, TreeConfig())
    keys = ("height_m", "crown_diameter_m", "ground_m")
    trees = [Feature("tree", t.crown, {**{k: getattr(t, k) for k in keys}, "top_x": t.x, "top_y": t.y}) for t in found]
    roads = [
        Feature("road", r.polygon, r.attributes) for r in objects.extract_roads(scene.labels == 11, scene.dtm, grid)
    ]
    tin, report = terrain.build_tin(scene.dtm, grid, TinConfig())
    return {
        "grid": grid,
        "scene": scene,
        "buildings": buildings,
        "trees": trees,
        "roads": roads,
        "tin": (tin, report),
    }


def _without_lod():
    """A patch that writes the mesh tilesets as before: no stand-ins in parent tiles."""
    from contextlib import ExitStack
    from unittest import mock

    stack = ExitStack()
    for target, value in [
        # stand-ins are made lazily, by the parents that need them: none asked, none made
        ("reconstruction.tiles3d.tileset._choose_stand_ins", lambda *a: ([], 0.0)),
    ]:
        stack.enter_context(mock.patch(target, value))
    return stack


def _root_and_leaves(tileset: Path) -> tuple[int, int]:
    """Triangles (glb) or points (pnts) of the root tile and of all the leaves."""
    from reconstruction.tiles3d.content.glb import Glb
    from reconstruction.tiles3d.content.pnts import Pnts

    def size(tile: dict) -> int:
        uri = tile.get("content", {}).get("uri")
        if not uri:
            return 0
        path = tileset.parent / uri
        if path.suffix == ".pnts":
            return len(Pnts.from_file(path))
        glb = Glb.from_file(path)
        return len(glb.points().positions) if glb.gltf.meshes[0].primitives[0].mode == 0 else len(glb.mesh().indices)

    def leaves(tile: dict) -> int:
        children = tile.get("children", [])
        return sum(leaves(c) for c in children) if children else size(tile)

    root = json.loads(tileset.read_text())["root"]
    return size(root), leaves(root)


def bench_lod(work: Path, quick: bool, size_m: float, repeat: int) -> str:
    """Bytes per km², tiling time and root/leaf sizes of each layer, with and without levels of detail."""
    from reconstruction import tiles3d

    if quick:
        size_m = min(size_m, 300.0)
    inputs = _lod_inputs(size_m)
    grid = inputs["grid"]
    tin, report = inputs["tin"]
    writers: dict[str, Callable[[Path], Path]] = {
        "buildings": lambda out: tiles3d.write_building_tileset(inputs["buildings"], grid.crs, out),
        "terrain": lambda out: tiles3d.write_terrain_tileset(tin, grid.crs, out, report.max_error_m),
        "trees": lambda out: tiles3d.write_tree_tileset(inputs["trees"], grid.crs, out),
        "roads": lambda out: tiles3d.write_road_tileset(inputs["roads"], inputs["scene"].dtm, grid, out),
    }
    km2 = size_m * size_m / 1e6
    rows = []
    for name, write in writers.items():
        result = {}
        for lod in (False, True):
            times = []
            for r in range(repeat):
                out = work / f"{name.split()[0]}-{lod}-{r}"
                shutil.rmtree(out, ignore_errors=True)
                start = time.perf_counter()
                if lod:
                    path = write(out)
                else:
                    with _without_lod():
                        path = write(out)
                times.append(time.perf_counter() - start)
            _, size = _folder_stats(out)
            result[lod] = (size, min(times), _tile_count(out), *_root_and_leaves(path), json.loads(path.read_text()))
        (b0, t0, n0, _, _, _), (b1, t1, n1, root1, leaves1, ts1) = result[False], result[True]
        rows.append(
            [
                name,
                f"{b0 / 1e6 / km2:.2f} → {b1 / 1e6 / km2:.2f}",
                f"{b1 / max(b0, 1) - 1:+.0%}",
                f"{t0:.2f} → {t1:.2f}",
                f"{n0} → {n1}",
                f"{root1:,} / {leaves1:,}",
                f"{ts1['root']['geometricError']:.2f}",
            ]
        )
    header = [
        "layer",
        "MB/km² before → after",
        "bytes",
        "tiling s before → after",
        "tiles",
        "root / leaves",
        "root error m",
    ]
    return "\n".join(
        [
            f"### Levels of detail of the mesh layers, generated city {size_m:.0f} m (seed 7), best of {repeat}",
            "",
            _table(header, rows),
            "",
            "Before: no stand-ins in parent tiles (inner glb tiles empty). Root / leaves: triangles in the root "
            f"tile and in all the leaves together. {machine_facts()}",
        ]
    )


# --- 4. time to first view ------------------------------------------------------------------------------


def bench_view(quick: bool, size_m: float, runs: int, hide: list[str], timeout_s: float) -> str:
    """Navigation start -> viewer ready -> first view loaded, headless Chromium on the demo city."""
    from bench._browser import live_demo, time_first_view

    if quick:
        size_m, runs = min(size_m, 200.0), min(runs, 2)
    variants = [("all layers", "")] + [(f"`{name}` hidden", f"layers={name}:0") for name in hide]
    results: list[dict] = []
    rows = []
    keys = ["area_ms", "viewer_ms", "last_tile_ms", "last_features_ms", "ready_ms"]
    with live_demo(size_m, seed=7, timeout_s=timeout_s) as demo:
        for label, hash_ in variants:
            measured = time_first_view(demo, runs, timeout_s=min(timeout_s, 300), hash_=hash_)
            results += measured
            for i, r in enumerate(measured, 1):
                rows.append(
                    [f"{label}, run {i}"]
                    + [f"{r[k] / 1000:.2f}" for k in keys]
                    + [f"{r['frames']} ({r['frame_ms']:.0f} / {r['longest_frame_ms']:.0f})", f"{r['tiles']}"]
                    + [f"{r['tile_bytes'] / 1e6:.2f}", f"{r['requests']}", f"{r['bytes'] / 1e6:.1f}"]
                )
            rows.append(
                [f"**{label}, median**"]
                + [f"**{statistics.median(r[k] for r in measured) / 1000:.2f}**" for k in keys]
                + [""] * 5
            )
    errors = sorted({e for r in results for e in r["errors"]})
    header = [
        "",
        "area JSON s",
        "viewer ready s",
        "last tile s",
        "last features s",
        "first view loaded s",
        "frames (median / longest ms)",
        "tiles",
        "tile MB",
        "requests",
        "MB in all",
    ]
    return "\n".join(
        [
            f"### Time to first view, demo city ({size_m:.0f} m, seed 7), headless Chromium, {runs} cold runs",
            "",
            _table(header, rows),
            "",
            "Seconds from navigation start. Viewer ready: the viewer is made, the orthophoto and 3D layers are "
            "added, the camera framed (status 'Loading tiles…'); first view loaded: the page's `#status` turns "
            "ready, i.e. every tileset fired allTilesLoaded for that camera (then up to 3 s grace for the globe, "
            "and the map layers). Last tile / last features: the end of the last pnts/glb response / of the last "
            "features API response (map layers, building attributes). Frames: animation frames drawn between "
            "viewer ready and loaded, with the median and longest frame time. Fresh browser context each "
            "run (empty cache), 1366x768, WebGL in SwiftShader (software, on the CPU: GPU-less server, "
            f"slower than a real browser). Server: daphne + worker, published in {demo.seconds_to_publish:.0f} s. "
            f"Page errors: {errors or 'none'}. {machine_facts()}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", action="store_true", help="part 1: points to tiles vs py3dtiles convert")
    parser.add_argument("--format", action="store_true", help="part 1b: bytes of glb vs pnts point tiles")
    parser.add_argument("--buildings", action="store_true", help="part 2: LoD1 buildings to tiles")
    parser.add_argument("--bytes", action="store_true", help="part 3: bytes per km² per layer")
    parser.add_argument("--view", action="store_true", help="part 4: time to first view in headless Chromium")
    parser.add_argument("--lod", action="store_true", help="part 5: what levels of detail and pickable points cost")
    parser.add_argument("--quick", action="store_true", help="small inputs and fewer repeats, to try the script")
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1), help="tiler processes (part 1)")
    parser.add_argument("--no-cli", action="store_true", help="part 1 without the `py3dtiles convert` CLI runs")
    parser.add_argument("--repeat", type=int, default=2, help="repeats per case, best kept (parts 1 and 2)")
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 1000, 5000], help="buildings (part 2)")
    parser.add_argument("--size", type=float, default=1000.0, help="side of the generated city, m (part 3)")
    parser.add_argument("--demo-size", type=float, default=400.0, help="side of the demo city, m (part 4)")
    parser.add_argument("--runs", type=int, default=3, help="page loads (part 4)")
    parser.add_argument("--hide", nargs="*", default=[], help="also time the view with each of these layers hidden")
    parser.add_argument("--timeout", type=float, default=900.0, help="limit per external step, seconds")
    args = parser.parse_args()
    chosen = [p for p in ("points", "format", "buildings", "bytes", "view", "lod") if getattr(args, p)] or [
        "points",
        "format",
        "buildings",
        "bytes",
        "view",
        "lod",
    ]
    repeat = 1 if args.quick else args.repeat
    parts: dict[str, Callable[[Path], str]] = {
        "points": lambda w: bench_points(w, args.quick, args.jobs, repeat, args.timeout, not args.no_cli),
        "format": lambda w: bench_format(w, args.quick, args.jobs),
        "buildings": lambda w: bench_buildings(w, args.quick, args.counts, repeat),
        "bytes": lambda w: bench_bytes(w, args.quick, args.size, args.timeout),
        "view": lambda w: bench_view(args.quick, args.demo_size, args.runs, args.hide, args.timeout),
        "lod": lambda w: bench_lod(w, args.quick, args.size, repeat),
    }
    for name in chosen:
        work = Path(tempfile.mkdtemp(prefix=f"rs3d-bench-{name}-"))
        try:
            print(parts[name](work), flush=True)
        except Exception as err:  # noqa: BLE001 - one failing part must not hide the others' tables
            print(f"### {name}: FAILED ({type(err).__name__}: {err})", flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(flush=True)


if __name__ == "__main__":
    main()
