"""Crafted uploads that try to reach beyond themselves, and a loopback listener that must hear nothing.

Shared by the core's tests (``check`` refuses each) and the web app's (the form and the API refuse each).
Each :class:`Case` is one input field's file: a GDAL VRT over another area's GeoPackage, over a URL or
over ``/etc/passwd``; a GDALG pipeline; zips whose members are VRTs, links out or climb out; a LiDAR file
that is a VRT. :func:`build_sidecar_corpus` adds JPEG orthophotos whose sidecars (``.aux.xml``, world
file, ``.prj``, ``.tab``) are hostile: an entity, a VRT, another file, a URL, extra lines. Every URL
points at a :class:`Listener` on 127.0.0.1, so a test sees any request made.
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

import numpy as np


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
    sidecars: tuple[Path, ...] = ()  # files that travel beside ``path`` under its name (world file, .aux.xml)


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


def write_image(path: Path, source: Path, driver: str, crs: str | None = None) -> Path:
    """``source``'s first three bands as a plain JPEG or PNG at ``path``, with no sidecar (PIL writes no PAM).

    With ``crs``, GDAL writes it instead and its own ``.aux.xml`` (SRS and GeoTransform) beside it, as
    published JPEG orthophotos come.
    """
    import rasterio
    from PIL import Image

    with rasterio.open(source) as src:
        rgb = src.read((1, 2, 3))
        profile = {"crs": crs, "transform": src.transform} if crs else {}
    if crs:
        with rasterio.open(
            path, "w", driver=driver, width=rgb.shape[2], height=rgb.shape[1], count=3, dtype="uint8", **profile
        ) as dst:
            dst.write(rgb)
    else:
        Image.fromarray(np.moveaxis(rgb, 0, -1)).save(path, format=driver)
    return path


def world_file_text(transform: tuple[float, ...]) -> str:
    """A world file for a GDAL geotransform's Affine (a, b, c, d, e, f): six lines, pixel centres."""
    a, b, c, d, e, f = transform[:6]
    return "\n".join(repr(v) for v in (a, d, b, e, c + a / 2 + b / 2, f + d / 2 + e / 2)) + "\n"


def _pam(inner: str, srs: str = "") -> str:
    transform = "<GeoTransform>574000, 0.5, 0, 5096080, 0, -0.5</GeoTransform>"
    return f"<PAMDataset>{srs}{transform}{inner}</PAMDataset>"


def build_sidecar_corpus(folder: Path, listener: Listener, victim_tif: Path) -> list[Case]:
    """JPEG orthophotos, each beside one crafted sidecar that reaches for ``victim_tif`` or ``listener``.

    Kept apart from :func:`build_corpus`, whose cases are single files: these need their sidecars uploaded
    beside them (``Case.sidecars``).
    """
    from pyproj import CRS

    folder.mkdir(parents=True, exist_ok=True)
    wkt = CRS.from_epsg(32631).to_wkt("WKT1_GDAL")
    srs = f"<SRS>{wkt}</SRS>"
    vrt = _simple_vrt(str(victim_tif))
    aux = {
        "aux.xml with an entity": (
            f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY e SYSTEM "{listener.url}/xxe">]>'
            + _pam("<Metadata><MDI key='x'>&e;</MDI></Metadata>", srs),
            "DOCTYPE, entity",
        ),
        "aux.xml with a VRT inside": (_pam(vrt, srs), "holds a <VRTDataset> element"),
        "aux.xml that is a VRT": (_simple_vrt(str(victim_tif)), "not GDAL's <PAMDataset>"),
        "aux.xml naming another file": (
            _pam(f"<Metadata domain='GEOLOCATION'><MDI key='X_DATASET'>{victim_tif}</MDI></Metadata>", srs),
            "domain 'GEOLOCATION'",
        ),
        "aux.xml with a /vsicurl/ value": (
            _pam(f"<Metadata><MDI key='SOURCE'>/vsicurl/{listener.url}/a.tif</MDI></Metadata>", srs),
            "names another file or a URL",
        ),
        "aux.xml whose SRS is a URL": (_pam("", f"<SRS>{listener.url}/crs.wkt</SRS>"), "names another file or a URL"),
        "aux.xml with an href": (
            _pam("", f"<SRS xmlns:x='{listener.url}/ns' x:href='{listener.url}/crs'>{wkt}</SRS>"),
            "names another file or a URL|attribute",
        ),
        "aux.xml with a SourceDataset": (
            _pam(f"<PAMRasterBand band='1'><SourceDataset>{victim_tif}</SourceDataset></PAMRasterBand>", srs),
            "holds a <SourceDataset> element",
        ),
        "oversized aux.xml": (_pam("<Metadata>" + "<MDI key='k'>0</MDI>" * 20_000 + "</Metadata>", srs), "at most"),
    }
    cases = []
    for index, (name, (text, reason)) in enumerate(aux.items()):
        image = write_image(folder / f"aux{index}.jpg", victim_tif, "JPEG")
        (folder / f"aux{index}.jpg.aux.xml").write_text(text)
        cases.append(Case(name, "ortho", image, reason, (folder / f"aux{index}.jpg.aux.xml",)))
    world = "0.5\n0\n0\n-0.5\n574000.25\n5096079.75\n"
    others = {
        "world file with extra lines": ("w.jgw", world + f"/vsicurl/{listener.url}/a.tif\n", "not six numbers"),
        ".prj that is a URL": ("p.prj", f"{listener.url}/crs.prj", "not the WKT of a coordinate system"),
        "MapInfo .tab": ("t.tab", f'!table\nDefinition Table\n  File "{victim_tif}"\n', "MapInfo"),
    }
    for name, (sidecar, text, reason) in others.items():
        image = write_image(folder / f"{Path(sidecar).stem}.jpg", victim_tif, "JPEG")
        (folder / sidecar).write_text(text)
        beside = (folder / sidecar,)
        if not sidecar.endswith(".jgw"):  # a valid world file, so the hostile file is what is refused
            (folder / f"{Path(sidecar).stem}.jgw").write_text(world)
            beside += (folder / f"{Path(sidecar).stem}.jgw",)
        cases.append(Case(name, "ortho", image, reason, beside))
    return cases
