"""Crafted uploads that try to reach beyond themselves, and a loopback listener that must hear nothing.

Shared by the core's tests (``check`` refuses each) and the web app's (the form and the API refuse each).
Each :class:`Case` is one input field's file: a GDAL VRT over another area's GeoPackage, over a URL or
over ``/etc/passwd``; a GDALG pipeline; zips whose members are VRTs, links out or climb out; a LiDAR file
that is a VRT. Every URL points at a :class:`Listener` on 127.0.0.1, so a test sees any request made.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path


def run_check(*args: object, env: dict[str, str] | None = None) -> tuple[int, dict]:
    """``python -m reconstruction check ARGS --json`` as the web app runs it: exit status and the JSON report."""
    done = subprocess.run(
        [sys.executable, "-m", "reconstruction", "check", *map(str, args), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


class Listener:
    """A TCP listener on 127.0.0.1 that answers 404 and counts every connection made to it."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.requests: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.requests.append(conn.recv(1024)[:120])
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    self.requests.append(b"")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.close()


@dataclass(frozen=True)
class Case:
    """One crafted file: the input ``field`` it is given as (form/API field name) and why it is refused."""

    name: str
    field: str
    path: Path
    reason: str  # a regular expression the refusal must match


def _ogr_vrt(source: str) -> str:
    return (
        "<OGRVRTDataSource><OGRVRTLayer name='buildings'>"
        f"<SrcDataSource>{source}</SrcDataSource><SrcLayer>buildings</SrcLayer>"
        "</OGRVRTLayer></OGRVRTDataSource>"
    )


def _raw_vrt(target: str, rpc: bool) -> str:
    rpcs = ""
    if rpc:
        numbers = " ".join(["1"] + ["0"] * 19)
        items = {
            "LINE_OFF": 5,
            "SAMP_OFF": 5,
            "LAT_OFF": 45,
            "LONG_OFF": 5,
            "HEIGHT_OFF": 0,
            "LINE_SCALE": 5,
            "SAMP_SCALE": 5,
            "LAT_SCALE": 0.01,
            "LONG_SCALE": 0.01,
            "HEIGHT_SCALE": 100,
        }
        fields = "".join(f"<MDI key='{k}'>{v}</MDI>" for k, v in items.items())
        coeffs = "".join(
            f"<MDI key='{k}'>{numbers}</MDI>" for k in ("LINE_NUM_COEFF", "LINE_DEN_COEFF", "SAMP_NUM_COEFF")
        )
        rpcs = f"<Metadata domain='RPC'>{fields}{coeffs}<MDI key='SAMP_DEN_COEFF'>{numbers}</MDI></Metadata>"
    return (
        f"<VRTDataset rasterXSize='64' rasterYSize='64'>{rpcs}"
        "<VRTRasterBand dataType='Byte' band='1' subClass='VRTRawRasterBand'>"
        f"<SourceFilename relativeToVRT='0'>{target}</SourceFilename>"
        "<ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset><LineOffset>64</LineOffset>"
        "</VRTRasterBand></VRTDataset>"
    )


def _simple_vrt(target: str) -> str:
    bands = "".join(
        f"<VRTRasterBand dataType='Byte' band='{b}'><SimpleSource><SourceFilename relativeToVRT='0'>{target}"
        f"</SourceFilename><SourceBand>{b}</SourceBand></SimpleSource></VRTRasterBand>"
        for b in (1, 2, 3)
    )
    transform = "<SRS>EPSG:32631</SRS><GeoTransform>574000,0.5,0,5096080,0,-0.5</GeoTransform>"
    return f"<VRTDataset rasterXSize='64' rasterYSize='64'>{transform}{bands}</VRTDataset>"


def _zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def build_corpus(folder: Path, listener: Listener, victim_gpkg: Path, victim_tif: Path) -> list[Case]:
    """Write the crafted files into ``folder``: each reaches for ``victim_*`` or for ``listener``.

    ``victim_gpkg`` stands for another (private) area's buildings on the server's disk, ``victim_tif``
    for its orthophoto.
    """
    folder.mkdir(parents=True, exist_ok=True)
    url = f"/vsicurl/{listener.url}/private/buildings.gpkg"
    xml = "XML file"
    pointer = "points GDAL at other files"

    def write(name: str, text: str) -> Path:
        (folder / name).write_text(text)
        return folder / name

    shp_parts = {"a.shp": _ogr_vrt(str(victim_gpkg)), "a.shx": "", "a.dbf": ""}
    return [
        Case("OGR VRT over another area", "footprints", write("map.vrt", _ogr_vrt(str(victim_gpkg))), xml),
        Case("OGR VRT named .gpkg", "footprints", write("map.gpkg", _ogr_vrt(str(victim_gpkg))), xml),
        Case("OGR VRT over a URL", "footprints", write("remote.geojson", _ogr_vrt(url)), xml),
        Case(
            "GDALG pipeline",
            "footprints",
            write("pipe.geojson", f'{{"type": "gdal_streamed_alg", "command_line": "gdal vector read {victim_gpkg}"}}'),
            pointer,
        ),
        Case("raster VRT over an orthophoto", "ortho", write("ortho.tif", _simple_vrt(str(victim_tif))), xml),
        Case("raster VRT over /etc/passwd", "dsm", write("dsm.tif", _raw_vrt("/etc/passwd", rpc=False)), xml),
        Case(
            "raster VRT over a URL",
            "second_image",
            write("second.tif", _simple_vrt(f"/vsicurl/{listener.url}/o.tif")),
            xml,
        ),
        Case("raw VRT with RPCs", "stereo_1", write("view.tif", _raw_vrt("/etc/passwd", rpc=True)), xml),
        Case("LiDAR that is a VRT", "lidar", write("points.laz", _raw_vrt("/etc/passwd", rpc=False)), xml),
        Case(
            "zip of a VRT", "footprints", _zip(folder / "vrt.zip", {"map.vrt": _ogr_vrt(url)}), "holds only its parts"
        ),
        Case(
            "zip with a /vsicurl/ member",
            "footprints",
            _zip(folder / "named.zip", {f"/vsicurl/{listener.url}/a.shp": "x"}),
            "points outside the archive",
        ),
        Case("zip climbing out", "footprints", _zip(folder / "climb.zip", {"../../a.shp": "x"}), "points outside"),
        Case("zip whose .shp is a VRT", "footprints", _zip(folder / "fake.zip", shp_parts), "is not a Shapefile"),
    ]
