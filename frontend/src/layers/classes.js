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
        name: `Class ${code}`,
        colour: OTHER_CLASS_COLOUR,
      }),
      count,
    }));
}
