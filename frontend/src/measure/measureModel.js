/**
 * Measurement state and math, without DOM: path length, height difference
 * and polygon area of points picked in the scene (ECEF, metres).
 */
import { Cesium } from "../viewer/cesium.js";

/**
 * @typedef {"distance"|"height"|"area"} MeasureMode
 */

/**
 * @typedef {object} Measurement
 * @property {MeasureMode} mode What is measured.
 * @property {number|null} value Metres (distance, height) or m² (area);
 *   null until enough points are picked.
 * @property {string} unit "m" or "m²".
 * @property {string} text Readable result, e.g. "Distance: 12.34 m".
 */

/** Modes with their label, unit and the points they need. */
export const MODES = Object.freeze({
  distance: { label: "Distance", unit: "m", minPoints: 2, maxPoints: Infinity },
  height: { label: "Height difference", unit: "m", minPoints: 2, maxPoints: 2 },
  area: { label: "Area", unit: "m²", minPoints: 3, maxPoints: Infinity },
});

/**
 * Length of the path through the points, in metres.
 *
 * @param {Cesium.Cartesian3[]} points ECEF points.
 * @returns {number} The summed straight-line segment lengths.
 */
export function pathLength(points) {
  let total = 0;
  for (let i = 1; i < points.length; i += 1) {
    total += Cesium.Cartesian3.distance(points[i - 1], points[i]);
  }
  return total;
}

/**
 * Height of `b` above `a` (ellipsoidal heights), in metres.
 *
 * @param {Cesium.Cartesian3} a First point.
 * @param {Cesium.Cartesian3} b Second point.
 * @returns {number} Signed difference, positive when b is higher.
 */
export function heightDifference(a, b) {
  const from = Cesium.Cartographic.fromCartesian(a);
  const to = Cesium.Cartographic.fromCartesian(b);
  return to.height - from.height;
}

/**
 * Area of the polygon the points outline, projected onto the horizontal
 * plane at their centroid (shoelace formula), in square metres.
 *
 * @param {Cesium.Cartesian3[]} points ECEF vertices, in order.
 * @returns {number} The area (0 for fewer than three points).
 */
export function polygonArea(points) {
  if (points.length < 3) {
    return 0;
  }
  const centre = Cesium.BoundingSphere.fromPoints(points).center;
  const toLocal = Cesium.Matrix4.inverseTransformation(
    Cesium.Transforms.eastNorthUpToFixedFrame(centre),
    new Cesium.Matrix4(),
  );
  const local = points.map((point) =>
    Cesium.Matrix4.multiplyByPoint(toLocal, point, new Cesium.Cartesian3()),
  );
  let twice = 0;
  for (let i = 0; i < local.length; i += 1) {
    const p = local[i];
    const q = local[(i + 1) % local.length];
    twice += p.x * q.y - q.x * p.y;
  }
  return Math.abs(twice) / 2;
}

/**
 * Format a number of metres or square metres with two decimals.
 *
 * @param {number} value The value.
 * @param {string} unit "m" or "m²".
 * @returns {string} E.g. "12.34 m".
 */
export function formatMeasure(value, unit) {
  return `${value.toLocaleString("en", {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  })} ${unit}`;
}

/**
 * The measurement for a mode and its picked points.
 *
 * @param {MeasureMode} mode What to measure.
 * @param {Cesium.Cartesian3[]} points The picked points.
 * @returns {Measurement} The result.
 */
export function measure(mode, points) {
  const spec = MODES[mode] ?? MODES.distance;
  const chosen = MODES[mode] ? mode : "distance";
  if (points.length < spec.minPoints) {
    const missing = spec.minPoints - points.length;
    return {
      mode: chosen,
      value: null,
      unit: spec.unit,
      text: `${spec.label}: click ${missing} more point${missing === 1 ? "" : "s"}`,
    };
  }
  let value;
  if (chosen === "height") {
    value = heightDifference(points[0], points[1]);
  } else if (chosen === "area") {
    value = polygonArea(points);
  } else {
    value = pathLength(points);
  }
  return {
    mode: chosen,
    value,
    unit: spec.unit,
    text: `${spec.label}: ${formatMeasure(value, spec.unit)}`,
  };
}

/**
 * Points after adding one: a mode with a point limit starts over once full.
 *
 * @param {MeasureMode} mode The mode.
 * @param {Cesium.Cartesian3[]} points Points so far.
 * @param {Cesium.Cartesian3} point The new point.
 * @returns {Cesium.Cartesian3[]} The new list.
 */
export function addPoint(mode, points, point) {
  const spec = MODES[mode] ?? MODES.distance;
  const start = points.length >= spec.maxPoints ? [] : points;
  return [...start, Cesium.Cartesian3.clone(point)];
}
