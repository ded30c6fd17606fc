/**
 * ASPRS LAS point classes shown by rs3d: code, name and display colour.
 * Used by the point-cloud style and by the legend so they always agree.
 */

/**
 * @typedef {object} PointClass
 * @property {number} code ASPRS classification code.
 * @property {string} name Human-readable name.
 * @property {string} colour CSS hex colour used by the "By class" mode.
 */

/** @type {ReadonlyArray<PointClass>} The classes, in legend order. */
export const POINT_CLASSES = Object.freeze([
  { code: 1, name: "Unclassified", colour: "#9e9e9e" },
  { code: 2, name: "Ground", colour: "#a67c52" },
  { code: 3, name: "Low vegetation", colour: "#b8e186" },
  { code: 4, name: "Medium vegetation", colour: "#6cc04a" },
  { code: 5, name: "High vegetation", colour: "#2e7d32" },
  { code: 6, name: "Building", colour: "#d9534f" },
  { code: 9, name: "Water", colour: "#3b8bd9" },
  { code: 11, name: "Road surface", colour: "#5b6270" },
  { code: 17, name: "Bridge", colour: "#f0ad4e" },
]);

/** Colour for codes that are not in {@link POINT_CLASSES}. */
export const OTHER_CLASS_COLOUR = "#e0e0e0";

/**
 * Names of the other codes a survey may use: the rest of ASPRS LAS 1.4
 * (R15), and national codes found in public data (AHN in the Netherlands,
 * IGN LiDAR HD in France). They share {@link OTHER_CLASS_COLOUR}.
 */
const OTHER_CLASS_NAMES = Object.freeze({
  0: "Never classified",
  7: "Low point (noise)",
  8: "Model key point",
  10: "Rail",
  12: "Overlap",
  13: "Wire guard",
  14: "Wire conductor",
  15: "Transmission tower",
  16: "Wire connector",
  18: "High noise",
  19: "Overhead structure",
  20: "Ignored ground",
  21: "Snow",
  22: "Temporal exclusion",
  26: "Civil structure (AHN)",
  64: "Permanent above-ground (IGN)",
  65: "Artefact (IGN)",
  66: "Virtual point (IGN)",
  67: "Miscellaneous built (IGN)",
});

/**
 * The name of any class code: a known class's, else what ASPRS or a
 * national survey calls it, else whether the code is reserved by ASPRS
 * (23-63) or left to the survey (64-255).
 *
 * @param {number} code Classification code.
 * @returns {string} The name.
 */
export function className(code) {
  const name = classByCode(code)?.name ?? OTHER_CLASS_NAMES[code];
  if (name) {
    return name;
  }
  return code >= 64
    ? `Survey's own class ${code}`
    : `Reserved ASPRS class ${code}`;
}

/**
 * Look up a class by its ASPRS code.
 *
 * @param {number} code ASPRS classification code.
 * @returns {PointClass|undefined} The class, if rs3d knows it.
 */
export function classByCode(code) {
  return POINT_CLASSES.find((pointClass) => pointClass.code === code);
}

/**
 * The classes a point-cloud legend lists: those a layer reports (with
 * their point counts, by code), else every known class.
 *
 * @param {Record<string, number>} [counts] Point count by ASPRS code, as
 *   the API's layer description gives it.
 * @returns {Array<PointClass & { count?: number }>} Legend rows.
 */
export function legendClasses(counts) {
  if (!counts) {
    return [...POINT_CLASSES];
  }
  return Object.entries(counts)
    .map(([code, count]) => [Number(code), count])
    .sort(([a], [b]) => a - b)
    .map(([code, count]) => ({
      ...(classByCode(code) ?? {
        code,
        name: className(code),
        colour: OTHER_CLASS_COLOUR,
      }),
      count,
    }));
}
