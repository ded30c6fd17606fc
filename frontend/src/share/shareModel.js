/**
 * The viewer state in the URL hash, without DOM: camera, layer toggles,
 * filter, slice height, section line and clip polygon, e.g.
 * `#view=3.87651,43.61102,250,0,-45,0&layers=orthophoto:1,pointcloud:0
 * &filter=height_m:ge:20&action=hide&colour=height&slice=12.5
 * &section=3.87601,43.61090,3.87702,43.61110&flip=1&slab=20
 * &polygon=3.876,43.611,3.877,43.611,3.877,43.612&keep=outside`.
 * Every key is optional, so older links still decode.
 */
import { normalisePolygon, normaliseSection } from "../slice/sectionModel.js";

/**
 * @typedef {object} SharedCamera
 * @property {number} lon Longitude, degrees.
 * @property {number} lat Latitude, degrees.
 * @property {number} height Height above the ellipsoid, metres.
 * @property {number} heading Heading, degrees.
 * @property {number} pitch Pitch, degrees.
 * @property {number} roll Roll, degrees.
 */

/**
 * @typedef {object} SharedState
 * @property {SharedCamera} [camera] Camera position and orientation.
 * @property {Record<string, boolean>} [layers] Visibility by layer name.
 * @property {{ property: string, operator: string, value: string }|null}
 *   [condition] The filter condition (value as text).
 * @property {"colour"|"hide"} [action] What the filter does.
 * @property {string} [colouring] The active building colouring.
 * @property {number|null} [slice] Slice height in metres, null when off.
 * @property {import("../slice/sectionModel.js").SectionState|null} [section]
 *   The vertical section, null when off.
 * @property {import("../slice/sectionModel.js").PolygonState|null} [polygon]
 *   The clip polygon, null when off.
 */

const CAMERA_KEYS = ["lon", "lat", "height", "heading", "pitch", "roll"];
const CAMERA_DIGITS = [7, 7, 2, 3, 3, 3];
const WRAPPED = new Set(["heading", "roll"]);
const LON_LAT_DIGITS = 7;

/** Characters left readable in the hash (URLSearchParams reads them back). */
function encodeValue(text) {
  return encodeURIComponent(text)
    .replace(/%2C/g, ",")
    .replace(/%3A/g, ":")
    .replace(/%2F/g, "/");
}

/**
 * An angle in degrees within [0, 360), rounded to `digits`.
 *
 * @param {number} degrees The angle.
 * @param {number} digits Decimals to keep.
 * @returns {string} The formatted angle.
 */
function angle(degrees, digits) {
  const text = (((Number(degrees) % 360) + 360) % 360).toFixed(digits);
  return Number(text) === 360 ? (0).toFixed(digits) : text;
}

function finite(text) {
  const value = Number(text);
  return text !== "" && Number.isFinite(value) ? value : undefined;
}

/** [[lon, lat], ...] → "lon,lat,lon,lat,..." (degrees, 7 decimals). */
function encodePoints(points) {
  return points
    .flat()
    .map((v) => Number(Number(v).toFixed(LON_LAT_DIGITS)))
    .join(",");
}

/** "lon,lat,lon,lat,..." → [[lon, lat], ...], or undefined if malformed. */
function decodePoints(text) {
  const values = String(text ?? "")
    .split(",")
    .map(finite);
  if (values.length < 4 || values.length % 2 || values.includes(undefined)) {
    return undefined;
  }
  const points = [];
  for (let i = 0; i < values.length; i += 2) {
    points.push([values[i], values[i + 1]]);
  }
  return points;
}

/**
 * Encode a state as a URL hash (without the leading "#").
 *
 * @param {SharedState} state The state.
 * @returns {string} The hash.
 */
export function encodeState(state) {
  const params = new Map();
  if (state.camera) {
    const values = CAMERA_KEYS.map((key, i) =>
      WRAPPED.has(key)
        ? angle(state.camera[key], CAMERA_DIGITS[i])
        : Number(state.camera[key]).toFixed(CAMERA_DIGITS[i]),
    );
    params.set("view", values.join(","));
  }
  if (state.layers && Object.keys(state.layers).length > 0) {
    const entries = Object.entries(state.layers).map(
      ([name, visible]) => `${name}:${visible ? 1 : 0}`,
    );
    params.set("layers", entries.join(","));
  }
  if (state.condition) {
    const { property, operator, value } = state.condition;
    params.set("filter", `${property}:${operator}:${value}`);
    params.set("action", state.action === "hide" ? "hide" : "colour");
  }
  if (state.colouring && state.colouring !== "none") {
    params.set("colour", state.colouring);
  }
  if (state.slice !== null && state.slice !== undefined) {
    params.set("slice", String(state.slice));
  }
  const section = normaliseSection(state.section);
  if (section) {
    params.set("section", encodePoints(section.points));
    if (section.flip) {
      params.set("flip", "1");
    }
    if (section.width > 0) {
      params.set("slab", String(section.width));
    }
  }
  const polygon = normalisePolygon(state.polygon);
  if (polygon) {
    params.set("polygon", encodePoints(polygon.points));
    params.set("keep", polygon.keep);
  }
  return [...params]
    .map(([key, value]) => `${key}=${encodeValue(value)}`)
    .join("&");
}

/**
 * Decode a URL hash; anything missing or malformed is left out.
 *
 * @param {string} hash The hash, with or without "#".
 * @returns {SharedState} The state found.
 */
export function decodeState(hash) {
  const params = new URLSearchParams(String(hash ?? "").replace(/^#/, ""));
  const state = {};
  const view = params.get("view")?.split(",").map(finite);
  if (
    view?.length === CAMERA_KEYS.length &&
    view.every((v) => v !== undefined)
  ) {
    state.camera = Object.fromEntries(
      CAMERA_KEYS.map((key, i) => [key, view[i]]),
    );
  }
  const layers = params.get("layers");
  if (layers) {
    state.layers = {};
    for (const entry of layers.split(",")) {
      const match = /^(.+):([01])$/.exec(entry);
      if (match) {
        state.layers[match[1]] = match[2] === "1";
      }
    }
  }
  const filter = /^([^:]+):([^:]+):(.*)$/.exec(params.get("filter") ?? "");
  if (filter) {
    state.condition = {
      property: filter[1],
      operator: filter[2],
      value: filter[3],
    };
    state.action = params.get("action") === "hide" ? "hide" : "colour";
  }
  if (params.has("colour")) {
    state.colouring = params.get("colour");
  }
  const slice = finite(params.get("slice") ?? "");
  if (slice !== undefined) {
    state.slice = slice;
  }
  const section = normaliseSection({
    points: decodePoints(params.get("section")),
    flip: params.get("flip") === "1",
    width: finite(params.get("slab") ?? "") ?? 0,
  });
  if (section) {
    state.section = section;
  }
  const polygon = normalisePolygon({
    points: decodePoints(params.get("polygon")),
    keep: params.get("keep"),
  });
  if (polygon) {
    state.polygon = polygon;
  }
  return state;
}
