"""The viewer's filter conditions as Cesium evaluates them (frontend/src/filter/filterModel.js with Cesium's own
Expression, run by Node): a feature without the value (a property's noData) matches no number test, as the
database filter says, instead of throwing on every feature of an area without a model."""

import json
import shutil
import subprocess

import pytest

from tests.conftest import ROOT, require

SCRIPT = """
import { Expression } from "cesium";
import { conditionExpression, matches } from "%s";
const feature = (properties) => ({ getPropertyInherited: (name) => properties[name] });
const out = [];
for (const [condition, properties] of JSON.parse(process.argv[2])) {
  let tiles;
  try {
    tiles = new Expression(conditionExpression(condition)).evaluate(feature(properties));
  } catch (error) {
    tiles = `throws: ${error.message}`;
  }
  out.push({ tiles, database: matches(condition, properties) });
}
console.log(JSON.stringify(out));
"""

HOOKS = """
export async function resolve(specifier, context, next) {
  return next(specifier === "/static/cesium/index.js" ? "cesium" : specifier, context);
}
"""

CASES = [
    ({"property": "class_confidence", "operator": operator, "value": 0.5}, properties)
    for operator in ("ge", "gt", "le", "lt", "eq", "ne")
    for properties in ({}, {"class_confidence": 0.5}, {"class_confidence": 0.9})
] + [({"property": "building_type", "operator": "is", "value": "house"}, {"building_type": "house"})]


def test_the_tiles_and_the_database_filter_agree_even_without_the_value(tmp_path):
    node = shutil.which("node")
    require(node is not None, "Node.js is not installed (scripts/setup.sh installs it)")
    require((ROOT / "frontend" / "node_modules" / "cesium").is_dir(), "frontend/node_modules is missing: run setup.sh")
    script = tmp_path / "filter.mjs"
    script.write_text(SCRIPT % (ROOT / "frontend" / "src" / "filter" / "filterModel.js").as_posix())
    # Node resolves "cesium" from the script's folder upwards; the client imports it as the page serves it.
    (tmp_path / "node_modules").symlink_to(ROOT / "frontend" / "node_modules")
    (tmp_path / "hooks.mjs").write_text(HOOKS)
    (tmp_path / "register.mjs").write_text(
        'import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\n'
    )
    command = [node, "--import", str(tmp_path / "register.mjs"), str(script), json.dumps(CASES)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    for (condition, properties), result in zip(CASES, results, strict=True):
        assert result["tiles"] == result["database"], (condition, properties, result)
    assert [r["tiles"] for r in results[:3]] == [False, True, True]  # >= 0.5: missing, 0.5, 0.9


pytestmark = pytest.mark.integration
