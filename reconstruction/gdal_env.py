"""Lock GDAL down for a process that opens users' files: only the vector drivers we list, no network.

GDAL opens far more than rasters and vector layers. An OGR VRT reads any file on the server; a GDALG
file runs a pipeline over other files; a GeoJSON whose ``crs`` is a link makes GDAL fetch that URL; a
``/vsicurl/`` name, a WFS or an ``http://`` path is a request to wherever the uploader likes. rs3d's
readers open users' files only through :mod:`reconstruction.io.user_files` (rasterio with an allow-list
of drivers per open), but pyogrio offers no per-open allow-list and some requests happen inside
drivers we do allow. So every process that imports :mod:`reconstruction.io` first calls
:func:`lock_down`, which does two things (the web and worker processes, which never open users' files
with the core in-process, call :func:`deny_network` alone from Django's settings):

- ``GDAL_SKIP`` lists every vector driver except :data:`VECTOR_DRIVERS` while pyogrio registers its
  drivers, which it does on import: :func:`lock_down` must run before anything imports pyogrio.
  :func:`vector_drivers_locked` tells whether it did (a test holds pyogrio's driver list to ours, so a
  new pyogrio with new drivers fails there first).
- No network, set in the process environment where both bundled GDALs (rasterio's and pyogrio's)
  and child processes read it: every ``/vsicurl/``-style name is refused (``CPL_VSIL_CURL_ALLOWED_FILENAME`` names a
  file that cannot exist), and GDAL's plain HTTP requests go to a proxy on a closed loopback port
  (``GDAL_HTTP_PROXY``), with ``no_proxy`` cleared so that no host is exempt. PROJ's network is off.

rs3d itself never reads anything over GDAL's network layer, so nothing of ours is lost.
"""

import os
import shlex
import sys

#: The vector drivers users' files may be read with (footprints): GeoPackage, GeoJSON, zipped Shapefile,
#: FlatGeobuf and CSV with WKT. MEM opens no file; rs3d writes its own layers with GPKG and GeoJSON.
VECTOR_DRIVERS = frozenset({"CSV", "ESRI Shapefile", "FlatGeobuf", "GPKG", "GeoJSON", "MEM"})

#: Every other vector driver of pyogrio's GDAL (3.12), skipped at registration. Some read other files
#: (OGR_VRT, GDALG, SQLite's VirtualOGR), some reach the network (HTTP, WFS, OAPIF, CSW, Carto ...), one
#: runs a program (GPSBabel). A driver missing from this list stays registered: ``vector_drivers_locked``
#: then says no, and :mod:`reconstruction.io.user_files` refuses to read vectors.
SKIPPED_VECTOR_DRIVERS = shlex.split(
    "ADBC AIVector AVCBin AVCE00 AmigoCloud CSW Carto DGN DXF EDIGEO EEDA ESRIJSON Elasticsearch GDALG GML "
    "GPSBabel GPX GTFS GeoJSONSeq GeoRSS HTTP Idrisi JML JSONFG KML LIBKML LVBAG MBTiles MVT 'MapInfo File' "
    "MapML MiraMonVector NGW OAPIF ODS OGCAPI OGR_GMT OGR_PDS OGR_VRT OSM OpenFileGDB PCIDSK PDF PDS4 PGDUMP "
    "PLSCENES PMTiles S57 SQLite SXF Selafin TopoJSON VDV VFK VICAR WAsP WFS XLSX"
)

#: GDAL's network settings for a process that must not reach any host. The proxy port is closed: a
#: request fails at once without leaving the machine, whatever the URL named.
NO_NETWORK = {
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/rs3d/never/a/network/file",
    "GDAL_HTTP_PROXY": "127.0.0.1:1",
    "GDAL_HTTPS_PROXY": "127.0.0.1:1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "2",
    "PROJ_NETWORK": "OFF",
}


def deny_network() -> None:
    """Cut GDAL (every copy in this process and its children) and PROJ off the network. Idempotent."""
    os.environ.update(NO_NETWORK)
    for name in ("no_proxy", "NO_PROXY"):  # curl would send requests to these hosts past the proxy
        os.environ.pop(name, None)


def lock_down() -> None:
    """:func:`deny_network`, and register pyogrio's vector drivers, ours only.

    Idempotent. ``GDAL_SKIP`` is set only while pyogrio registers its drivers, so rasterio's GDAL, which
    registers later and has no vector drivers to skip, neither skips anything nor warns about names it lacks.
    """
    deny_network()
    if "pyogrio" in sys.modules:
        return  # registered already, with whatever drivers: vector_drivers_locked() tells
    before = os.environ.get("GDAL_SKIP")
    # GDAL splits GDAL_SKIP on commas when it holds one ("MapInfo File" has a space), else on spaces.
    kept = (before.split(",") if "," in before else before.split()) if before else []
    os.environ["GDAL_SKIP"] = ",".join(dict.fromkeys(n.strip() for n in kept + SKIPPED_VECTOR_DRIVERS if n.strip()))
    try:
        import pyogrio  # noqa: F401 - registers its drivers on import, reading GDAL_SKIP
    finally:
        if before is None:
            del os.environ["GDAL_SKIP"]
        else:
            os.environ["GDAL_SKIP"] = before


def vector_drivers_locked() -> bool:
    """True when pyogrio registered no vector driver beyond :data:`VECTOR_DRIVERS`."""
    import pyogrio

    return set(pyogrio.list_drivers()) <= VECTOR_DRIVERS
