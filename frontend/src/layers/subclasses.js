/**
 * The sub-classes the layer panel toggles, with the colours the tiles give
 * them (COLOR_0 of each glb): building types as TYPE_COLOURS_SRGB in
 * reconstruction/tiles3d/buildings.py, road grades as GRADE_SRGB and
 * LOCAL_SRGB in reconstruction/tiles3d/roads.py, so the swatches match what
 * is drawn (tests/integration/test_viewer_tools.py checks both lists agree).
 */
export const BUILDING_TYPES = Object.freeze([
  { name: "house", colour: "#ecd6b6" },
  { name: "apartment block", colour: "#cca082" },
  { name: "commercial/industrial hall", colour: "#a0aab8" },
  { name: "high-rise", colour: "#8ca4cc" },
  { name: "annex", colour: "#c8c6bc" },
]);

export const ROAD_GRADES = Object.freeze([
  { name: "primary", colour: "#54545c" },
  { name: "secondary", colour: "#707076" },
  { name: "local", colour: "#8c8c8c" },
]);

/**
 * Style that hides the features whose `property` is one of `values`.
 *
 * @param {string} property A metadata property, e.g. "grade".
 * @param {string[]} values The values to hide.
 * @returns {object|undefined} Cesium3DTileStyle JSON, or undefined for none.
 */
export function hideValuesStyle(property, values) {
  if (values.length === 0) {
    return undefined;
  }
  const quoted = (text) => `'${String(text).replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  return {
    show: values.map((value) => `\${${property}} !== ${quoted(value)}`).join(" && "),
  };
}
