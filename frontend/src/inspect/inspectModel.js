/**
 * Turn a picked Cesium object into rows for the inspector panel. No DOM:
 * the view (inspect.js) renders what this module returns.
 */
import { className } from "../layers/classes.js";
import {
  CLASS_PROPERTY_NAMES,
  INTENSITY_PROPERTY,
} from "../layers/pointStyle.js";

/**
 * @typedef {object} InspectRow
 * @property {string} name Source property name (e.g. "height_m").
 * @property {string} label Readable label (e.g. "Height").
 * @property {string} value Formatted value, without unit.
 * @property {string} unit Unit suffix ("m", "m²", "floor(s)" or "").
 */

/**
 * @typedef {object} InspectResult
 * @property {"building"|"point"|"feature"|null} kind What was picked.
 * @property {number|string|null} id Building id, ASPRS class code or the
 *   feature's own id (tree_id, road_id, patch_id).
 * @property {string} title Panel heading.
 * @property {InspectRow[]} rows Attributes to list.
 */

/** Known building properties: label, unit and decimals, in display order. */
export const BUILDING_FIELDS = Object.freeze({
  id: { label: "Building ID", unit: "", digits: 0 },
  building_type: { label: "Type", unit: "" },
  roof_type: { label: "Roof", unit: "" },
  height_m: { label: "Height", unit: "m", digits: 1 },
  eave_m: { label: "Eave height", unit: "m", digits: 1 },
  ridge_m: { label: "Ridge height", unit: "m", digits: 1 },
  floors: { label: "Floors", unit: "floors", digits: 0 },
  area_m2: { label: "Footprint area", unit: "m²", digits: 0 },
  ground_m: { label: "Ground elevation", unit: "m", digits: 1 },
});

const ORDER = Object.keys(BUILDING_FIELDS);

/** The result for "nothing inspectable was picked". */
export const EMPTY = Object.freeze({
  kind: null,
  id: null,
  title: "",
  rows: [],
});

/**
 * Readable label for a property name without a known label:
 * "wall_area_m2" → "Wall area".
 *
 * @param {string} name Property name.
 * @returns {string} The label.
 */
export function labelFor(name) {
  const words = name
    .replace(/_(m2|m|pct)$/, "")
    .split(/[_\s]+/)
    .filter(Boolean)
    .join(" ");
  return words ? words[0].toUpperCase() + words.slice(1) : name;
}

function unitFor(name) {
  if (name.endsWith("_m2")) {
    return "m²";
  }
  return name.endsWith("_m") ? "m" : "";
}

/** "1 floor", not "1 floors". */
function singular(unit, value) {
  return unit === "floors" && Number(value) === 1 ? "floor" : unit;
}

/**
 * Format one value: numbers rounded to `digits` (1 by default, integers
 * kept whole), enums turned from "semi_detached" into "Semi detached".
 *
 * @param {*} value The raw property value.
 * @param {number} [digits] Decimals for numbers.
 * @returns {string} The display text.
 */
export function formatValue(value, digits) {
  if (value === undefined || value === null || value === "") {
    return "—";
  }
  if (typeof value === "bigint") {
    return value.toString();
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      return "—";
    }
    const places = digits ?? (Number.isInteger(value) ? 0 : 1);
    return value.toLocaleString("en", {
      minimumFractionDigits: places,
      maximumFractionDigits: places,
      useGrouping: false,
    });
  }
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    return Array.from(value, (item) => formatValue(item, digits)).join(", ");
  }
  const text = String(value).replace(/_/g, " ");
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

function propertyIds(feature) {
  try {
    return feature.getPropertyIds?.() ?? [];
  } catch {
    return [];
  }
}

function sortedNames(names) {
  const rank = (name) => {
    const index = ORDER.indexOf(name);
    return index === -1 ? ORDER.length : index;
  };
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b));
}

/**
 * Rows for a building feature: every property it carries, known ones first.
 *
 * @param {{ getPropertyIds: () => string[], getProperty: (name: string) => * }}
 *   feature A Cesium3DTileFeature from the buildings tileset.
 * @returns {InspectResult} The building result.
 */
export function describeBuilding(feature) {
  const names = sortedNames(propertyIds(feature));
  const rows = names.map((name) => {
    const known = BUILDING_FIELDS[name];
    const value = feature.getProperty(name);
    return {
      name,
      label: known?.label ?? labelFor(name),
      value: formatValue(value, known?.digits),
      unit: singular(known?.unit ?? unitFor(name), value),
    };
  });
  const raw = feature.getProperty("id");
  const id = raw === undefined || raw === null ? null : Number(raw);
  return {
    kind: "building",
    id,
    title: id === null ? "Building" : `Building ${id}`,
    rows,
  };
}

/**
 * Result for a point with ASPRS class `code`, and what else is known of it.
 *
 * @param {number} code ASPRS classification code.
 * @param {{ intensity?: number, height?: number }} [details] The LiDAR
 *   intensity (only LiDAR points have one) and the height in the data's
 *   vertical datum, metres, when known.
 * @returns {InspectResult} The point result.
 */
export function describePoint(code, { intensity, height } = {}) {
  const name = className(code);
  const rows = [
    { name: "class", label: "Class", value: name, unit: "" },
    { name: "code", label: "ASPRS code", value: String(code), unit: "" },
  ];
  if (Number.isFinite(intensity)) {
    rows.push({
      name: INTENSITY_PROPERTY,
      label: "Intensity",
      value: formatValue(intensity, 0),
      unit: "",
    });
  }
  if (Number.isFinite(height)) {
    rows.push({
      name: "height_m",
      label: "Elevation", // in the data's vertical datum, not above the ground
      value: formatValue(height, 2),
      unit: "m",
    });
  }
  return { kind: "point", id: code, title: `Point: ${name}`, rows };
}

/**
 * Rows for any other 3D Tiles feature (trees, roads, terrain patches): every
 * metadata property it carries, titled from its `<kind>_id` property
 * ("tree_id" 12 → "Tree 12").
 *
 * @param {{ getPropertyIds: () => string[], getProperty: (name: string) => * }}
 *   feature A Cesium3DTileFeature.
 * @returns {InspectResult} The feature result.
 */
export function describeFeature(feature) {
  const names = propertyIds(feature);
  const idName = names.find((name) => name.endsWith("_id"));
  const raw = idName ? feature.getProperty(idName) : undefined;
  const id = raw === undefined || raw === null ? null : Number(raw);
  const kind = idName ? labelFor(idName.slice(0, -3)) : "Feature";
  return {
    kind: "feature",
    id,
    title: id === null ? kind : `${kind} ${id}`,
    rows: names.map((name) => ({
      name,
      label: labelFor(name),
      value: formatValue(feature.getProperty(name)),
      unit: unitFor(name),
    })),
  };
}

function classOf(feature) {
  const names = propertyIds(feature);
  const name = CLASS_PROPERTY_NAMES.find((candidate) =>
    names.includes(candidate),
  );
  if (!name) {
    return undefined;
  }
  const code = Number(feature.getProperty(name));
  return Number.isFinite(code) ? code : undefined;
}

function intensityOf(feature) {
  if (!propertyIds(feature).includes(INTENSITY_PROPERTY)) {
    return undefined;
  }
  const value = Number(feature.getProperty(INTENSITY_PROPERTY));
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Describe whatever `scene.pick` returned.
 *
 * @param {*} picked The picked object (a Cesium3DTileFeature or undefined).
 * @param {{ height?: number }} [where] For points: the picked height in the
 *   data's vertical datum, metres.
 * @returns {InspectResult} `kind` is null when nothing inspectable was hit.
 */
export function describePick(picked, { height } = {}) {
  if (!picked || typeof picked.getProperty !== "function") {
    return EMPTY;
  }
  const code = classOf(picked);
  if (code !== undefined) {
    return describePoint(code, { intensity: intensityOf(picked), height });
  }
  const names = propertyIds(picked);
  if (names.includes("id") || names.includes("building_type")) {
    return describeBuilding(picked);
  }
  return names.length > 0 ? describeFeature(picked) : EMPTY;
}
