/**
 * The viewer state in the URL hash, without DOM: camera, layer toggles,
 * filter, slice height, section line and clip polygon, e.g.
 * `#view=3.87651,43.61102,250,0,-45,0&layers=orthophoto:1,pointcloud:0
 * &filter=height_m:ge:20&action=hide&colour=height&slice=12.5
 * &section=3.87601,43.61090,3.87702,43.61110&flip=1&slab=20
 * &polygon=3.876,43.611,3.877,43.611,3.877,43.612&keep=outside`.
 * The layer panel adds, per layer name: `opacity=orthophoto:40,buildings:0`
 * (percent; layers at 100 are left out),
 * `hide=buildings:house|apartment%20block` (unticked sub-class values),
 * `classes=pointcloud:2|5` (hidden ASPRS classes) and
 * `points=pointcloud:class:4` (colour mode and point size). In
 * these four keys each name and value is percent-encoded on its own (all but
 * "/"), so values may hold spaces, ",", ":" or "|" and decode back exactly.
 * Every key is optional, so older links still decode; malformed entries are
 * left out.
 */
import { normalisePolygon, normaliseSection } from "../slice/sectionModel.js";

/** @typedef {import("../viewer/camera.js").CameraView} SharedCamera */

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
 * @property {Record<string, number>} [opacity] Opacity in percent (0-100) by
 *   layer name.
 * @property {Record<string, string[]>} [hidden] Unticked sub-class values by
 *   layer name.
 * @property {Record<string, number[]>} [classes] Hidden ASPRS class codes by
 *   point-cloud layer name.
 * @property {Record<string, { mode?: string, size?: number }>} [points]
 *   Colour mode and point size (pixels) by point-cloud layer name.
 */

const CAMERA_KEYS = ["lon", "lat", "height", "heading", "pitch", "roll"];
const CAMERA_DIGITS = [7, 7, 2, 3, 3, 3];
const WRAPPED = new Set(["heading", "roll"]);
const LON_LAT_DIGITS = 7;

const READABLE = { "%2C": ",", "%3A": ":", "%2F": "/" };

/**
 * Percent-encode a value for the hash, leaving some characters readable
 * (URLSearchParams reads them back).
 *
 * @param {string} text The value.
 * @param {string} [keep=",:/"] Characters of ",:/" to leave as they are.
 * @returns {string} The encoded value.
 */
function encodeValue(text, keep = ",:/") {
  return encodeURIComponent(text).replace(/%2C|%3A|%2F/g, (code) =>
    keep.includes(READABLE[code]) ? READABLE[code] : code,
  );
}

/** One name or value of a per-layer key: only "/" stays readable. */
function encodePart(text) {
  return encodeValue(String(text), "/");
}

/** The reverse of encodePart ("+" reads as a space); undefined if malformed. */
function decodePart(text) {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
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
 * `{ name: [value, ...] }` → "name:value|value,name:value" (parts encoded,
 * empty lists left out).
 *
 * @param {Record<string, Array<string|number>>} [lists] Values by layer.
 * @returns {string} The key's text ("" when there is nothing to keep).
 */
function encodeLists(lists) {
  return Object.entries(lists ?? {})
    .filter(([, values]) => Array.isArray(values) && values.length > 0)
    .map(
      ([name, values]) =>
        `${encodePart(name)}:${values.map(encodePart).join("|")}`,
    )
    .join(",");
}

/**
 * The raw (still encoded) value of each key in a hash; the first one wins,
 * like URLSearchParams.get.
 *
 * @param {string} hash The hash without "#".
 * @returns {Map<string, string>} Raw value by key.
 */
function rawParams(hash) {
  const raw = new Map();
  for (const entry of hash.split("&")) {
    const at = entry.indexOf("=");
    const key = decodePart(at < 0 ? entry : entry.slice(0, at));
    if (key && at >= 0 && !raw.has(key)) {
      raw.set(key, entry.slice(at + 1));
    }
  }
  return raw;
}

/**
 * Per-layer entries of a raw "name:field:field,name:field" value: the name
 * decoded, each field split on "|" and decoded. Entries with an empty or
 * malformed name, or without fields, are left out; so are malformed items.
 *
 * @param {string|undefined} text The raw value.
 * @returns {Array<[string, string[][]]>} [name, [items of each field]].
 */
function layerEntries(text) {
  const entries = [];
  for (const entry of (text ?? "").split(",")) {
    const [name, ...fields] = entry.split(":");
    const decoded = decodePart(name);
    if (decoded && fields.length > 0) {
      const items = fields.map((field) =>
        field
          .split("|")
          .map(decodePart)
          .filter((item) => item !== undefined && item !== ""),
      );
      entries.push([decoded, items]);
    }
  }
  return entries;
}

/**
 * Collect `{ name: value }` from per-layer entries, keeping what `read`
 * accepts (it returns undefined to leave an entry out).
 *
 * @param {string|undefined} text The raw value.
 * @param {(fields: string[][]) => *} read Field items → value.
 * @returns {object|undefined} The map, undefined when empty.
 */
function readLayerEntries(text, read) {
  const found = {};
  for (const [name, fields] of layerEntries(text)) {
    const value = read(fields);
    if (value !== undefined) {
      found[name] = value;
    }
  }
  return Object.keys(found).length > 0 ? found : undefined;
}

const WHOLE = /^\d+$/;
const PERCENT = /^\d+(\.\d+)?$/;
const MODE = /^[a-z]+$/;

/** The distinct values, or undefined when there are none. */
function distinct(values) {
  return values.length > 0 ? [...new Set(values)] : undefined;
}

/**
 * The hash text of the layer panel's keys.
 *
 * @param {SharedState} state The state.
 * @returns {Array<[string, string]>} [hash key, text] ("" to leave it out).
 */
function encodePanel(state) {
  const opacity = Object.entries(state.opacity ?? {})
    .filter(([, percent]) => Number.isFinite(percent) && percent !== 100)
    .map(([name, percent]) => {
      const value = Math.round(Math.min(100, Math.max(0, percent)));
      return `${encodePart(name)}:${value}`;
    });
  const points = Object.entries(state.points ?? {})
    .filter(([, point]) => MODE.test(point?.mode ?? ""))
    .map(([name, { mode, size }]) => {
      const fields = [encodePart(name), mode];
      if (Number.isFinite(size) && size > 0) {
        fields.push(String(size));
      }
      return fields.join(":");
    });
  return [
    ["opacity", opacity.join(",")],
    ["hide", encodeLists(state.hidden)],
    ["classes", encodeLists(state.classes)],
    ["points", points.join(",")],
  ];
}

/**
 * The layer panel's part of a state.
 *
 * @param {Map<string, string>} raw The hash's raw values (see rawParams).
 * @returns {SharedState} `opacity`, `hidden`, `classes` and `points`, each
 *   undefined when missing or wholly malformed.
 */
function decodePanel(raw) {
  // Entries with one field ("name:a|b"), and one item in it ("name:a").
  const one = (fields) => (fields.length === 1 ? fields[0] : []);
  const single = (fields) => (one(fields).length === 1 ? one(fields)[0] : "");
  return {
    opacity: readLayerEntries(raw.get("opacity"), (fields) => {
      const text = single(fields);
      return PERCENT.test(text) && Number(text) <= 100
        ? Number(text)
        : undefined;
    }),
    hidden: readLayerEntries(raw.get("hide"), (fields) =>
      distinct(one(fields)),
    ),
    classes: readLayerEntries(raw.get("classes"), (fields) =>
      distinct(one(fields).filter((code) => WHOLE.test(code)).map(Number)),
    ),
    points: readLayerEntries(raw.get("points"), ([mode, size = []]) => {
      if (mode?.length !== 1 || !MODE.test(mode[0]) || size.length > 1) {
        return undefined;
      }
      const pixels = finite(size[0] ?? "");
      return pixels > 0 ? { mode: mode[0], size: pixels } : { mode: mode[0] };
    }),
  };
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
  const encoded = [...params].map(([key, value]) => [key, encodeValue(value)]);
  for (const [key, text] of encodePanel(state)) {
    if (text) {
      encoded.push([key, text]);
    }
  }
  return encoded.map(([key, value]) => `${key}=${value}`).join("&");
}

/**
 * Decode a URL hash; anything missing or malformed is left out.
 *
 * @param {string} hash The hash, with or without "#".
 * @returns {SharedState} The state found.
 */
export function decodeState(hash) {
  const text = String(hash ?? "").replace(/^#/, "");
  const params = new URLSearchParams(text);
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
  for (const [key, value] of Object.entries(decodePanel(rawParams(text)))) {
    if (value) {
      state[key] = value;
    }
  }
  return state;
}
