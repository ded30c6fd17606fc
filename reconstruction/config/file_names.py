"""Endings of the sidecar files that georeference an image, for callers that must not load GDAL or PROJ.

The web app sorts an upload's files with them (each sidecar stored beside its image); the core's check
(:mod:`reconstruction.io.sidecars`) reads them.
"""

#: World-file endings GDAL's GeoTIFF, JPEG, PNG and JPEG 2000 drivers look for beside ``name.ext``
#: (``name`` + first and last letter of ``ext`` + ``w``, ``ext`` + ``w``, and the generic ``.wld``).
WORLD_FILE_SUFFIXES = (
    ".jgw",
    ".jpgw",
    ".jpegw",
    ".jpw",
    ".pgw",
    ".pngw",
    ".tfw",
    ".tifw",
    ".tiffw",
    ".j2w",
    ".jp2w",
    ".wld",
)
#: Sidecar endings a user may give beside an image (world files, the CRS, GDAL's PAM file).
SIDECAR_SUFFIXES = (*WORLD_FILE_SUFFIXES, ".prj", ".aux.xml")


def sidecar_image(name: str) -> tuple[str, str] | None:
    """Which image a sidecar file named ``name`` belongs to, or None when ``name`` is no sidecar.

    Returns:
        ``("name", key)``: ``"name"`` when the sidecar names its image's whole file name (``a.jpg.aux.xml``),
        ``"stem"`` when it names the image's name without its ending (``a.jgw``, ``a.prj``); ``key`` is that
        name or stem in lower case.
    """
    lowered = name.lower()
    if lowered.endswith(".aux.xml"):
        return ("name", lowered.removesuffix(".aux.xml")) if len(lowered) > len(".aux.xml") else None
    suffix = next((s for s in SIDECAR_SUFFIXES if lowered.endswith(s)), None)
    if suffix is None or len(lowered) == len(suffix):
        return None
    return "stem", lowered.removesuffix(suffix)
