/**
 * Vertical section and polygon clip state and math, without DOM: the
 * clipping planes of a section line in the area's ground frame (east,
 * north, up; metres) and the checks on shared section and polygon states.
 */
import { Cesium } from "../viewer/cesium.js";

/**
 * @typedef {object} SectionState
 * @property {number[][]} points The line's two ends, [[lon, lat], [lon, lat]]
 *   in degrees.
 * @property {boolean} flip Keep the right side of the line (seen from the
 *   first point towards the second) instead of the left.
 * @property {number} width Slab width in metres; 0 cuts one side only.
 */

/**
 * @typedef {object} PolygonState
 * @property {number[][]} points Vertices [[lon, lat], ...] in degrees.
 * @property {"inside"|"outside"} keep Which part of the layers stays.
 */

/**
 * @typedef {object} PlaneSpec
 * @property {number[]} normal Unit normal [east, north, up] in the ground
 *   frame; the kept side is where normal · p + distance ≥ 0.
 * @property {number} distance Metres.
 */

/**
 * A plane that keeps everything in the area (up to 100 km above ground):
 * fills an unused slot of a collection whose planes all apply together.
 */
export const NEUTRAL_PLANE = Object.freeze({
  normal: Object.freeze([0, 0, -1]),
  distance: 100_000,
});

/** Longest slab width accepted, metres. */
export const MAX_WIDTH = 10_000;

/**
 * Longitude/latitude in degrees → east/north metres in a ground frame.
 *
 * @param {Cesium.Matrix4} frame The east-north-up frame (see groundFrame).
 * @param {number[]} lonLat [lon, lat] in degrees.
 * @returns {number[]} [east, north] in metres.
 */
export function toGround(frame, [lon, lat]) {
  const inverse = Cesium.Matrix4.inverseTransformation(
    frame,
    new Cesium.Matrix4(),
  );
  const local = Cesium.Matrix4.multiplyByPoint(
    inverse,
    Cesium.Cartesian3.fromDegrees(lon, lat, 0),
    new Cesium.Cartesian3(),
  );
  return [local.x, local.y];
}

/** Drawn marks sit this far above the area's ground, so the globe does not hide them. */
export const MARK_LIFT_M = 0.2;

/**
 * World position of a drawn vertex: its ground-frame east/north, lifted a
 * little above the area's ground.
 *
 * @param {Cesium.Matrix4} frame The area's ground frame.
 * @param {number[]} lonLat [lon, lat] in degrees.
 * @returns {Cesium.Cartesian3} The position.
 */
export function liftedPoint(frame, lonLat) {
  const [east, north] = toGround(frame, lonLat);
  return Cesium.Matrix4.multiplyByPoint(
    frame,
    new Cesium.Cartesian3(east, north, MARK_LIFT_M),
    new Cesium.Cartesian3(),
  );
}

/**
 * An ECEF position → [lon, lat] in degrees.
 *
 * @param {Cesium.Cartesian3} position The position.
 * @returns {number[]} [lon, lat].
 */
export function toLonLat(position) {
  const carto = Cesium.Cartographic.fromCartesian(position);
  return [
    Cesium.Math.toDegrees(carto.longitude),
    Cesium.Math.toDegrees(carto.latitude),
  ];
}

/**
 * The clipping planes of a section line in the ground frame: one plane
 * through the line that keeps its left side (the right with `flip`), or,
 * with a width, two planes that keep a slab of that width centred on it.
 *
 * @param {number[]} a First end [east, north], metres.
 * @param {number[]} b Second end [east, north], metres.
 * @param {{ flip?: boolean, width?: number }} [options] Side and slab.
 * @returns {PlaneSpec[]} Two planes (the second NEUTRAL_PLANE for a
 *   one-sided cut); [] when the ends coincide.
 */
export function sectionPlanes(a, b, { flip = false, width = 0 } = {}) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length = Math.hypot(dx, dy);
  if (!(length > 1e-6)) {
    return [];
  }
  const sign = flip ? -1 : 1;
  const normal = [(-dy / length) * sign, (dx / length) * sign, 0];
  const offset = -(normal[0] * a[0] + normal[1] * a[1]);
  if (width > 0) {
    const half = width / 2;
    return [
      { normal, distance: offset + half },
      { normal: normal.map((v) => -v || 0), distance: -offset + half },
    ];
  }
  return [{ normal, distance: offset }, NEUTRAL_PLANE];
}

/**
 * Which side of the section a ground point is on.
 *
 * @param {PlaneSpec[]} planes The section's planes.
 * @param {number[]} point [east, north], metres.
 * @returns {boolean} Whether every plane keeps the point.
 */
export function keeps(planes, point) {
  return planes.every(
    ({ normal, distance }) =>
      normal[0] * point[0] + normal[1] * point[1] + distance >= 0,
  );
}

function lonLat(value) {
  if (!Array.isArray(value) || value.length !== 2) {
    return undefined;
  }
  const [lon, lat] = value.map(Number);
  return Number.isFinite(lon) &&
    Number.isFinite(lat) &&
    Math.abs(lon) <= 180 &&
    Math.abs(lat) <= 90
    ? [lon, lat]
    : undefined;
}

/**
 * A section state with checked values, or null when it is not usable.
 *
 * @param {object|null|undefined} value A candidate state.
 * @returns {SectionState|null} The state.
 */
export function normaliseSection(value) {
  const points = (value?.points ?? []).map(lonLat);
  if (points.length !== 2 || points.some((p) => p === undefined)) {
    return null;
  }
  const width = Number(value.width);
  return {
    points,
    flip: Boolean(value.flip),
    width:
      Number.isFinite(width) && width > 0 ? Math.min(width, MAX_WIDTH) : 0,
  };
}

/**
 * A polygon state with checked values, or null when it is not usable.
 *
 * @param {object|null|undefined} value A candidate state.
 * @returns {PolygonState|null} The state (at least three vertices).
 */
export function normalisePolygon(value) {
  const points = (value?.points ?? []).map(lonLat);
  if (points.length < 3 || points.some((p) => p === undefined)) {
    return null;
  }
  return { points, keep: value.keep === "outside" ? "outside" : "inside" };
}
