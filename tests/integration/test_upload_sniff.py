"""The upload page's header reader (frontend/src/upload/sniff.js, run by Node) agrees with GDAL and laspy."""

import json
import shutil
import subprocess

import laspy
import pytest
import rasterio

from tests.conftest import ROOT, require

FILES = [
    "montpellier/ortho_rgb_20cm.tif",
    "montpellier/dsm_50cm.tif",
    "montpellier/lidar_77055_627760.laz",
    "bad_inputs/no_crs.laz",
    "amsterdam/ahn_2386_9702.laz",
    "ign_lidarhd/test_semis_2021_0382_6565_LA93_IGN69_cropped.laz",
    "stereo/pleiades_pair/img_01.tif",
    "stereo/wv3_buenos_aires/wv3_20.NTF",
    "amsterdam/bgt_buildings_demo.csv",
]

SCRIPT = """
import { readFileSync } from "node:fs";
import { inspectFile } from "%s";
const out = {};
for (const path of JSON.parse(process.argv[2])) {
  out[path] = await inspectFile(new Blob([readFileSync(path)]));
}
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def facts(shared_data, tmp_path_factory):
    node = shutil.which("node")
    require(node is not None, "Node.js is not installed (scripts/setup.sh installs it)")
    script = tmp_path_factory.mktemp("sniff") / "sniff.mjs"
    script.write_text(SCRIPT % (ROOT / "frontend" / "src" / "upload" / "sniff.js").as_posix())
    paths = [str(shared_data / f) for f in FILES]
    done = subprocess.run([node, str(script), json.dumps(paths)], capture_output=True, text=True, check=True)
    return {path.split("/data/", 1)[1]: value for path, value in json.loads(done.stdout).items()}


@pytest.mark.parametrize("name", [f for f in FILES if f.endswith((".tif", ".laz"))])
def test_crs_and_kind_agree_with_gdal_and_laspy(facts, shared_data, name):
    path = shared_data / name
    if name.endswith(".tif"):
        with rasterio.open(path) as src:
            expected = {"kind": "geotiff", "crs": src.crs is not None, "bands": src.count}
            expected["floating"] = src.dtypes[0].startswith("float")
            expected["rpc"] = bool(src.rpcs)
    else:
        with laspy.open(path) as las:
            expected = {"kind": "laz", "crs": las.header.parse_crs() is not None}
    assert {key: facts[name][key] for key in expected} == expected


def test_other_kinds(facts):
    assert facts["stereo/wv3_buenos_aires/wv3_20.NTF"]["kind"] == "nitf"
    assert facts["stereo/wv3_buenos_aires/wv3_20.NTF"]["rpc"] is True
    assert facts["amsterdam/bgt_buildings_demo.csv"]["kind"] == "unknown"
    assert facts["stereo/pleiades_pair/img_01.tif"]["georeferenced"] is False  # RPCs, no geotransform
