/**
 * Cesium3DTileStyle construction for point clouds: class colours, class
 * visibility and point size, whatever the classification property's name.
 */
import { Cesium } from "../viewer/cesium.js";
import { OTHER_CLASS_COLOUR, POINT_CLASSES } from "./classes.js";

/** Batch-table names the ASPRS class may have (LAS writers disagree). */
export const CLASS_PROPERTY_NAMES = Object.freeze([
  "Classification",
  "classification",
]);

/**
 * Find which classification property a loaded tile carries.
 *
 * @param {Cesium.Cesium3DTileContent} content A loaded tile's content.
 * @returns {string|undefined} The property name, if one was found.
 */
export function detectClassProperty(content) {
  for (const name of CLASS_PROPERTY_NAMES) {
    if (content.featuresLength > 0 && content.hasProperty(0, name)) {
      return name;
    }
  }
  // pnts without BATCH_ID: Cesium turns per-point batch-table columns into
  // property attributes, only reachable through the (private) model.
  const attributes =
    content._model?.structuralMetadata?.propertyAttributes ?? [];
  for (const attribute of attributes) {
    const found = CLASS_PROPERTY_NAMES.find(
      (name) => attribute.properties?.[name] !== undefined,
    );
    if (found) {
      return found;
    }
  }
  return undefined;
}

/**
 * Style expression "the point's class is `code`".
 *
 * @param {string|undefined} property Detected property name; both known
 *   spellings are tested while it is still unknown.
 * @param {number} code ASPRS code.
 * @returns {string} A 3D Tiles styling expression.
 */
export function classIs(property, code) {
  const names = property ? [property] : CLASS_PROPERTY_NAMES;
  return names.map((name) => `\${${name}} === ${code}`).join(" || ");
}

/**
 * Build the tileset style from the current display settings.
 *
 * @param {{ mode: "photo"|"class", hidden: Set<number>, pointSize: number,
 *   property?: string }} settings Display settings.
 * @returns {Cesium.Cesium3DTileStyle} The style.
 */
export function buildStyle({ mode, hidden, pointSize, property }) {
  const style = { pointSize: String(pointSize) };
  if (mode === "class") {
    const conditions = POINT_CLASSES.map(({ code, colour }) => [
      classIs(property, code),
      `color('${colour}')`,
    ]);
    conditions.push(["true", `color('${OTHER_CLASS_COLOUR}')`]);
    style.color = { conditions };
  }
  if (hidden.size > 0) {
    const tests = [...hidden].map((code) => `(${classIs(property, code)})`);
    style.show = `!(${tests.join(" || ")})`;
  }
  return new Cesium.Cesium3DTileStyle(style);
}
