/**
 * The filter tool's state, without DOM: the choices it offers, a state
 * made whole and valid, the state the form's Apply makes, and the database
 * buildings that match (see filterModel.js for conditions and styles).
 */
import { formatValue } from "../inspect/inspectModel.js";
import { matches, validCondition } from "./filterModel.js";

/** What a condition does: colour the matches, or hide the others. */
export const ACTIONS = Object.freeze([
  { value: "colour", label: "Colour the matches" },
  { value: "hide", label: "Hide the others" },
]);

/** Colourings of the buildings, in menu order. */
export const COLOURINGS = Object.freeze([
  { value: "none", label: "Original (by type)" },
  { value: "height", label: "By height" },
  { value: "type", label: "By type (vivid)" },
  { value: "confidence", label: "By class confidence" },
  { value: "filter", label: "Filter matches" },
]);

/** Most results listed; the count always covers every match. */
export const MAX_RESULTS = 200;

/** @type {Readonly<import("./filterModel.js").FilterState>} No filter. */
export const INITIAL_STATE = Object.freeze({
  condition: null,
  action: "colour",
  colouring: "none",
  hiddenTypes: Object.freeze([]),
});

/**
 * The fields as drop-down choices, with their unit.
 *
 * @param {import("./filterModel.js").FilterField[]} fields The fields.
 * @returns {{ value: string, label: string }[]} The choices.
 */
export function fieldOptions(fields) {
  return fields.map(({ name, label, unit }) => ({
    value: name,
    label: unit ? `${label} (${unit})` : label,
  }));
}

/**
 * A whole, valid state from a requested one: an invalid condition is
 * dropped, an unknown action or colouring falls back, "filter matches"
 * needs a condition, and building types come sorted and unique (a request
 * without them keeps the previous state's: the form's own changes carry
 * none, and those the layer panel hid stay hidden).
 *
 * @param {object} next The requested state (any part may be missing).
 * @param {object} previous The current state.
 * @param {import("./filterModel.js").FilterField[]} fields The known fields.
 * @returns {import("./filterModel.js").FilterState} The new state.
 */
export function nextState(next, previous, fields) {
  const condition = validCondition(next.condition, fields);
  const colouring = COLOURINGS.some((item) => item.value === next.colouring)
    ? next.colouring
    : "none";
  return {
    condition,
    action: next.action === "hide" ? "hide" : "colour",
    colouring: colouring === "filter" && !condition ? "none" : colouring,
    hiddenTypes: Array.isArray(next.hiddenTypes)
      ? [...new Set(next.hiddenTypes.map(String))].sort()
      : (previous?.hiddenTypes ?? []),
  };
}

/**
 * The state the form's Apply asks for: its condition and action; colouring
 * the matches shows the filter colours, hiding the others keeps the current
 * colouring.
 *
 * @param {import("./filterModel.js").FilterCondition} condition A valid condition.
 * @param {string} action The action chosen in the form.
 * @param {object} previous The current state.
 * @returns {object} The requested state (for nextState).
 */
export function appliedState(condition, action, previous) {
  const chosen = action === "hide" ? "hide" : "colour";
  return {
    condition,
    action: chosen,
    colouring: chosen === "colour" ? "filter" : previous.colouring,
  };
}

/**
 * The database buildings that match the state's condition and are of no
 * hidden type, by building id.
 *
 * @param {object[]} features GeoJSON buildings.
 * @param {import("./filterModel.js").FilterState} state A state with a condition.
 * @returns {object[]} The matching features.
 */
export function matchingBuildings(features, { condition, hiddenTypes }) {
  const hidden = new Set(hiddenTypes);
  return features
    .filter(
      (feature) =>
        matches(condition, feature.properties) &&
        !hidden.has(feature.properties?.building_type),
    )
    .sort(
      (a, b) =>
        Number(a.properties.building_id) - Number(b.properties.building_id),
    );
}

/**
 * A result's text, e.g. "Building 12 · house · 7.5 m".
 *
 * @param {Record<string, *>} properties The building's attributes.
 * @returns {string} The label.
 */
export function buildingLabel(properties) {
  const parts = [`Building ${properties.building_id ?? "?"}`];
  if (properties.building_type) {
    parts.push(formatValue(properties.building_type).toLowerCase());
  }
  if (Number.isFinite(properties.height_m)) {
    parts.push(`${formatValue(properties.height_m, 1)} m`);
  }
  return parts.join(" · ");
}
