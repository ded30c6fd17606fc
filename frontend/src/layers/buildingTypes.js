/**
 * Building types and the colours the tiles give them (COLOR_0 of each LoD1
 * glb): the same sRGB values as TYPE_COLOURS_SRGB in
 * reconstruction/tiles3d/buildings.py, so the layer panel's swatches match
 * what is drawn (tests/integration/test_viewer_subclasses.py checks both
 * lists agree).
 */
export const BUILDING_TYPES = Object.freeze([
  { name: "house", colour: "#ecd6b6" },
  { name: "apartment block", colour: "#cca082" },
  { name: "commercial/industrial hall", colour: "#a0aab8" },
  { name: "high-rise", colour: "#8ca4cc" },
  { name: "annex", colour: "#c8c6bc" },
]);
