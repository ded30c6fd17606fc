/**
 * Attribute filters and colourings for the LoD1 buildings, without DOM:
 * fields from the tiles' EXT_structural_metadata schema, conditions as
 * 3D Tiles style expressions (and the same test in plain JS for database
 * rows), the Cesium3DTileStyle JSON and its legend.
 */
import {
  BUILDING_FIELDS,
  formatValue,
  labelFor,
} from "../inspect/inspectModel.js";

/**
 * @typedef {object} FilterField
 * @property {string} name Property name in the tiles and the database.
 * @property {string} label Readable label.
 * @property {string} unit Unit suffix ("m", "m²", "floors" or "").
 * @property {"number"|"enum"} kind Numbers compare, enums match names.
 * @property {string[]} [values] Enum value names, in schema order.
 */

/**
 * @typedef {object} FilterCondition
 * @property {string} property Field name, e.g. "height_m".
 * @property {string} operator Operator code (see OPERATORS).
 * @property {number|string} value Threshold (number) or enum name.
 */

/**
 * @typedef {object} FilterState
 * @property {FilterCondition|null} condition The active condition.
 * @property {"colour"|"hide"} action Colour the matches, or hide the rest.
 * @property {"none"|"height"|"type"|"filter"} colouring Active colouring.
 */

/** Operators by code: label, kinds they apply to, and the expression. */
export const OPERATORS = Object.freeze({
  ge: { label: "≥", kinds: ["number"] },
  gt: { label: ">", kinds: ["number"] },
  le: { label: "≤", kinds: ["number"] },
  lt: { label: "<", kinds: ["number"] },
  eq: { label: "=", kinds: ["number"] },
  ne: { label: "≠", kinds: ["number"] },
  is: { label: "is", kinds: ["enum"] },
  not: { label: "is not", kinds: ["enum"] },
});

/** Tolerance of "=" and "≠" on numbers (tiles hold float32 values). */
export const EQUAL_TOLERANCE = 0.005;

/** Colour of buildings that match the filter, and of those that do not. */
export const MATCH_COLOUR = "#ff7043";
export const OTHER_COLOUR = "#c9ced6";

/** Height classes of the "colour by height" preset, upper bounds in metres. */
export const HEIGHT_CLASSES = Object.freeze([
  { below: 5, colour: "#ffffb2", label: "< 5 m" },
  { below: 10, colour: "#fecc5c", label: "5–10 m" },
  { below: 20, colour: "#fd8d3c", label: "10–20 m" },
  { below: 35, colour: "#f03b20", label: "20–35 m" },
  { below: Infinity, colour: "#bd0026", label: "≥ 35 m" },
]);

/**
 * Classes of the "colour by confidence" preset: the model's mean class
 * confidence over each building (tile property `class_confidence`, -1 or
 * absent where the classes came from measured heights and rules).
 */
export const CONFIDENCE_CLASSES = Object.freeze([
  { below: 0.5, colour: "#d7191c", label: "< 50 %" },
  { below: 0.7, colour: "#fdae61", label: "50–70 %" },
  { below: 0.85, colour: "#a6d96a", label: "70–85 %" },
  { below: Infinity, colour: "#1a9641", label: "≥ 85 %" },
]);
export const NO_CONFIDENCE = Object.freeze({
  colour: "#bdbdbd",
  label: "Not predicted (measured heights)",
});

/** Colours of the "colour by type" preset, by building type name. */
export const TYPE_COLOURS = Object.freeze({
  house: "#f6c85f",
  "apartment block": "#e15759",
  "commercial/industrial hall": "#4e79a7",
  "high-rise": "#b07aa1",
  annex: "#9c9c9c",
});

const EXTRA_TYPE_COLOURS = ["#59a14f", "#76b7b2", "#edc948", "#ff9da7"];

/** Fields known without a schema (tiles not loaded yet, or no schema). */
export const DEFAULT_FIELDS = Object.freeze([
  field("height_m", "number"),
  field("eave_m", "number"),
  field("ridge_m", "number"),
  field("floors", "number"),
  field("area_m2", "number"),
  field("ground_m", "number"),
  field("building_type", "enum", Object.keys(TYPE_COLOURS)),
  field("roof_type", "enum", ["flat", "pitched"]),
]);

/** Properties never offered as filters. */
const SKIPPED = new Set(["id"]);

function field(name, kind, values) {
  const known = BUILDING_FIELDS[name];
  const unit =
    known?.unit ??
    (name.endsWith("_m2") ? "m²" : name.endsWith("_m") ? "m" : "");
  const result = { name, label: known?.label ?? labelFor(name), unit, kind };
  if (values) {
    result.values = [...values];
  }
  return result;
}

function enumNames(schema, property) {
  const type = property.enumType;
  const values =
    typeof type === "string" ? schema.enums?.[type]?.values : type?.values;
  return (values ?? []).map((value) => value.name);
}

/**
 * Filterable fields from an EXT_structural_metadata schema: either
 * Cesium's MetadataSchema or the schema JSON. Uses the class "building",
 * else the first class.
 *
 * @param {object|undefined} schema The schema.
 * @returns {FilterField[]} The fields (DEFAULT_FIELDS without a schema).
 */
export function fieldsFromSchema(schema) {
  const classes = schema?.classes ?? {};
  const metadataClass = classes.building ?? Object.values(classes)[0];
  if (!metadataClass?.properties) {
    return [...DEFAULT_FIELDS];
  }
  const fields = [];
  for (const [name, property] of Object.entries(metadataClass.properties)) {
    if (SKIPPED.has(name)) {
      continue;
    }
    if (property.type === "ENUM") {
      fields.push(field(name, "enum", enumNames(schema, property)));
    } else if (property.type === "SCALAR") {
      fields.push(field(name, "number"));
    }
  }
  return fields.length > 0 ? fields : [...DEFAULT_FIELDS];
}

/**
 * Operators that apply to a field, for a drop-down.
 *
 * @param {FilterField} filterField The field.
 * @returns {{ value: string, label: string }[]} Operator choices.
 */
export function operatorsFor(filterField) {
  return Object.entries(OPERATORS)
    .filter(([, operator]) => operator.kinds.includes(filterField.kind))
    .map(([value, operator]) => ({ value, label: operator.label }));
}

/**
 * Check a condition against the fields; returns it normalised (numbers as
 * numbers) or null when incomplete or invalid.
 *
 * @param {Partial<FilterCondition>|null|undefined} condition The condition.
 * @param {FilterField[]} fields The known fields.
 * @returns {FilterCondition|null} The valid condition, or null.
 */
export function validCondition(condition, fields) {
  const found = fields.find((item) => item.name === condition?.property);
  const operator = OPERATORS[condition?.operator];
  if (!found || !operator || !operator.kinds.includes(found.kind)) {
    return null;
  }
  if (found.kind === "number") {
    const value = Number(condition.value);
    const given = condition.value !== "" && condition.value !== null;
    return given && Number.isFinite(value)
      ? { property: found.name, operator: condition.operator, value }
      : null;
  }
  const value = String(condition.value ?? "");
  return found.values?.length && !found.values.includes(value)
    ? null
    : { property: found.name, operator: condition.operator, value };
}

function literal(text) {
  return `'${String(text).replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/**
 * The condition as a 3D Tiles styling expression.
 *
 * @param {FilterCondition} condition A valid condition.
 * @returns {string} E.g. "${height_m} >= 20".
 */
export function conditionExpression({ property, operator, value }) {
  const ref = `\${${property}}`;
  // A feature without the value (Cesium reads a property's noData as undefined) matches no number test,
  // as in `matches`; Cesium's && stops there, where a bare comparison would throw on undefined.
  const known = `${ref} !== undefined && `;
  switch (operator) {
    case "ge":
      return `${known}${ref} >= ${Number(value)}`;
    case "gt":
      return `${known}${ref} > ${Number(value)}`;
    case "le":
      return `${known}${ref} <= ${Number(value)}`;
    case "lt":
      return `${known}${ref} < ${Number(value)}`;
    case "eq":
      return `${known}abs(${ref} - ${Number(value)}) < ${EQUAL_TOLERANCE}`;
    case "ne":
      return `${known}abs(${ref} - ${Number(value)}) >= ${EQUAL_TOLERANCE}`;
    case "is":
      return `${ref} === ${literal(value)}`;
    case "not":
      return `${ref} !== ${literal(value)}`;
    default:
      throw new Error(`Unknown filter operator “${operator}”.`);
  }
}

/**
 * The same test as conditionExpression, on a plain attribute object (a
 * database feature's properties).
 *
 * @param {FilterCondition} condition A valid condition.
 * @param {Record<string, *>} properties The feature's attributes.
 * @returns {boolean} Whether the feature matches.
 */
export function matches({ property, operator, value }, properties) {
  const actual = properties?.[property];
  if (actual === undefined || actual === null) {
    return false;
  }
  const number = Number(actual);
  switch (operator) {
    case "ge":
      return number >= value;
    case "gt":
      return number > value;
    case "le":
      return number <= value;
    case "lt":
      return number < value;
    case "eq":
      return Math.abs(number - value) < EQUAL_TOLERANCE;
    case "ne":
      return Math.abs(number - value) >= EQUAL_TOLERANCE;
    case "is":
      return String(actual) === value;
    case "not":
      return String(actual) !== value;
    default:
      return false;
  }
}

/**
 * Readable text of a condition, e.g. "Height ≥ 20 m".
 *
 * @param {FilterCondition} condition A valid condition.
 * @param {FilterField[]} fields The known fields.
 * @returns {string} The description.
 */
export function describeCondition(condition, fields) {
  const found = fields.find((item) => item.name === condition.property);
  const label = found?.label ?? labelFor(condition.property);
  const operator = OPERATORS[condition.operator]?.label ?? condition.operator;
  if (found?.kind === "enum") {
    return `${label} ${operator} ${formatValue(condition.value).toLowerCase()}`;
  }
  const unit = found?.unit ? ` ${found.unit}` : "";
  return `${label} ${operator} ${condition.value}${unit}`;
}

/**
 * Colour of each building type (known types first, then a fallback cycle).
 *
 * @param {FilterField[]} fields The known fields.
 * @returns {{ name: string, colour: string }[]} One entry per type.
 */
export function typeColours(fields) {
  const types =
    fields.find((item) => item.name === "building_type")?.values ??
    Object.keys(TYPE_COLOURS);
  let extra = 0;
  return types.map((name) => {
    const colour =
      TYPE_COLOURS[name] ??
      EXTRA_TYPE_COLOURS[extra++ % EXTRA_TYPE_COLOURS.length];
    return { name, colour };
  });
}

/**
 * The Cesium3DTileStyle JSON for a filter state.
 *
 * @param {FilterState} state The filter state (condition already valid),
 *   with `hiddenTypes`: building types the layer panel hides.
 * @param {FilterField[]} fields The known fields.
 * @returns {{ show?: string, color?: object }|undefined} The style JSON,
 *   or undefined for "no style" (the tiles' own colours).
 */
export function styleJson(
  { condition, action, colouring, hiddenTypes = [] },
  fields,
) {
  const style = {};
  const expression = condition ? conditionExpression(condition) : undefined;
  // The layer panel's building-type toggles and "hide the others" both decide what shows.
  const shown = hiddenTypes.map(
    (name) => `\${building_type} !== ${literal(name)}`,
  );
  if (expression && action === "hide") {
    shown.unshift(`(${expression})`);
  }
  if (shown.length > 0) {
    style.show = shown.join(" && ");
  }
  if (colouring === "height") {
    style.color = {
      conditions: HEIGHT_CLASSES.map(({ below, colour }) => [
        Number.isFinite(below) ? `\${height_m} < ${below}` : "true",
        `color('${colour}')`,
      ]),
    };
  } else if (colouring === "type") {
    style.color = {
      conditions: [
        ...typeColours(fields).map(({ name, colour }) => [
          `\${building_type} === ${literal(name)}`,
          `color('${colour}')`,
        ]),
        ["true", `color('${OTHER_COLOUR}')`],
      ],
    };
  } else if (colouring === "confidence") {
    style.color = {
      conditions: [
        [
          "${class_confidence} === undefined || ${class_confidence} < 0",
          `color('${NO_CONFIDENCE.colour}')`,
        ],
        ...CONFIDENCE_CLASSES.map(({ below, colour }) => [
          Number.isFinite(below) ? `\${class_confidence} < ${below}` : "true",
          `color('${colour}')`,
        ]),
      ],
    };
  } else if (colouring === "filter" && expression) {
    style.color = {
      conditions: [
        [expression, `color('${MATCH_COLOUR}')`],
        ["true", `color('${OTHER_COLOUR}')`],
      ],
    };
  }
  return Object.keys(style).length > 0 ? style : undefined;
}

/**
 * Legend of the active colouring.
 *
 * @param {FilterState} state The filter state.
 * @param {FilterField[]} fields The known fields.
 * @returns {{ title: string, entries: { label: string, colour: string }[] }|null}
 *   The legend, or null when the tiles keep their own colours.
 */
export function legendFor({ condition, colouring }, fields) {
  if (colouring === "height") {
    return {
      title: "Height above ground",
      entries: HEIGHT_CLASSES.map(({ label, colour }) => ({ label, colour })),
    };
  }
  if (colouring === "confidence") {
    return {
      title: "Class confidence (model)",
      entries: [
        ...CONFIDENCE_CLASSES.map(({ label, colour }) => ({ label, colour })),
        NO_CONFIDENCE,
      ],
    };
  }
  if (colouring === "type") {
    return {
      title: "Building type",
      entries: typeColours(fields).map(({ name, colour }) => ({
        label: formatValue(name),
        colour,
      })),
    };
  }
  if (colouring === "filter" && condition) {
    return {
      title: "Filter",
      entries: [
        { label: describeCondition(condition, fields), colour: MATCH_COLOUR },
        { label: "Other buildings", colour: OTHER_COLOUR },
      ],
    };
  }
  return null;
}
