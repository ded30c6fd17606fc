"""Tile delivery: bytes on disk and on the wire per layer (identity, gzip, br), and time per request.

Usage: .venv/bin/python -m bench.bench_delivery [--run DIR] [--requests 100]

``--run`` is the output folder of ``python -m reconstruction run`` (default: a 400 m synthetic city is
generated and reconstructed first, a few minutes). In a private RS3D_HOME: migrate, a public area, the run
published through ``backend.areas.publish.publish`` (so precompressed), then Django's test client (whole
middleware stack, no network) times each kind of request.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "point cloud tiles (tileset + .glb)": ("tiles/pointcloud/",),
    "buildings tiles (tileset + .glb)": ("tiles/buildings/",),
    "features.geojson": ("vectors/features.geojson",),
    "city.json (CityJSON)": ("vectors/city.json",),
    "rasters .tif, ortho .png, .laz, .gpkg": ("rasters/", "imagery/", "pointcloud/", "vectors/"),
}
_SUFFIXES = {"br": ".br", "gzip": ".gz"}


def _generate(folder: Path) -> Path:
    python = [sys.executable, "-m", "reconstruction"]
    subprocess.run([*python, "synthetic", "--out", str(folder / "scene"), "--size", "400"], check=True)
    scene, out = folder / "scene", folder / "run"
    run = ["run", "--ortho", str(scene / "ortho.tif"), "--dsm", str(scene / "dsm.tif"), "--out", str(out)]
    subprocess.run([*python, *run, "--progress", "none"], check=True)
    return out


def _layer_of(relative: str) -> str:
    for name, prefixes in LAYERS.items():
        if relative.startswith(prefixes):
            return name
    return "other (manifest.json)"


def _sizes(folder: Path) -> None:
    """Bytes a browser downloads for each layer's files, per encoding it accepts."""
    rows: dict[str, dict[str, int]] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix in _SUFFIXES.values():
            continue
        row = rows.setdefault(_layer_of(path.relative_to(folder).as_posix()), {"files": 0, "identity": 0})
        row["files"] += 1
        size = path.stat().st_size
        row["identity"] += size
        for encoding, suffix in _SUFFIXES.items():
            copy = path.with_name(path.name + suffix)
            row[encoding] = row.get(encoding, 0) + (copy.stat().st_size if copy.exists() else size)
            row[f"{encoding} on disk"] = row.get(f"{encoding} on disk", 0) + (
                copy.stat().st_size if copy.exists() else 0
            )
    print(
        f"\n{'layer':40} {'files':>5} {'identity B':>11} {'gzip B':>11} {'br B':>11} {'br/id':>6} {'extra on disk':>13}"
    )
    for name, row in rows.items():
        extra = row["br on disk"] + row["gzip on disk"]
        sizes = f"{row['identity']:11,} {row['gzip']:11,} {row['br']:11,} {row['br'] / row['identity']:6.2f}"
        print(f"{name:40} {row['files']:5} {sizes} {extra:13,}")


def _time(client: object, n: int, label: str, path: str, status: int, **headers: str) -> None:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path, **headers)  # type: ignore[attr-defined]
        if response.streaming:
            b"".join(response.streaming_content)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == status, (label, response.status_code)
    print(f"{label:46} {n:5} {statistics.mean(times):8.2f} {statistics.median(times):8.2f} {max(times):8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, help="a `reconstruction run` output folder (default: generate one)")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rs3d-bench-delivery-") as tmp:
        home = Path(tmp)
        os.environ |= {"RS3D_HOME": str(home), "RS3D_DEBUG": "1", "RS3D_ALLOWED_HOSTS": "testserver"}
        os.environ["DJANGO_SETTINGS_MODULE"] = "backend.settings"
        os.environ.pop("DATABASE_URL", None)
        run = args.run or _generate(home / "gen")
        # The one benchmark that imports the web app (see bench/__init__.py): what it times is the app itself.
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test import Client

        from backend.areas.models import Area
        from backend.areas.publish import precompress, publish

        call_command("migrate", verbosity=0)
        owner = get_user_model().objects.create_user("bench")
        area = Area.objects.create(name="bench", owner=owner, visibility=Area.Visibility.PUBLIC)
        staging = area.folder / ".staging" / "bench"
        shutil.copytree(run, home / "copy")
        started = time.perf_counter()
        precompress(home / "copy")
        print(f"precompress alone: {time.perf_counter() - started:.1f} s")
        shutil.copytree(run, staging)
        started = time.perf_counter()
        publication = publish(area, staging)
        print(f"publish (with precompression) of {run}: {time.perf_counter() - started:.1f} s")
        _sizes(publication.folder)

        client, n = Client(), args.requests
        base = f"/areas/{area.pk}/data/{publication.version}/"
        tileset, laz = base + "tiles/pointcloud/tileset.json", base + "pointcloud/points.laz"
        tile = (
            base + next(publication.folder.glob("tiles/pointcloud/**/*.glb")).relative_to(publication.folder).as_posix()
        )
        etag = client.get(tileset, HTTP_ACCEPT_ENCODING="br")["ETag"]
        print(f"\n{'request (test client, in process)':46} {'n':>5} {'mean ms':>8} {'p50 ms':>8} {'max ms':>8}")
        _time(client, n, "200 tileset.json identity", tileset, 200)
        _time(client, n, "200 tileset.json br", tileset, 200, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
        _time(
            client,
            n,
            "304 tileset.json (If-None-Match)",
            tileset,
            304,
            HTTP_ACCEPT_ENCODING="br",
            HTTP_IF_NONE_MATCH=etag,
        )
        _time(client, n, "200 point .glb tile br", tile, 200, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
        _time(client, n, "206 points.laz bytes=0-65535", laz, 206, HTTP_RANGE="bytes=0-65535")
        _time(client, n, "200 points.laz whole", laz, 200)


if __name__ == "__main__":
    main()
