/**
 * Cesium3DTileStyle construction for point clouds: photo, class or
 * intensity colours, class visibility and point size, whatever the
 * classification property's name.
 */
import { Cesium } from "../viewer/cesium.js";
import { OTHER_CLASS_COLOUR, POINT_CLASSES } from "./classes.js";

/** Batch-table names the ASPRS class may have (LAS writers disagree). */
export const CLASS_PROPERTY_NAMES = Object.freeze([
  "Classification",
  "classification",
]);

/** Batch-table name of the LiDAR intensity (DSM or predicted points have none). */
export const INTENSITY_PROPERTY = "intensity";

/** Colour of every point in "intensity" mode for clouds without intensity. */
export const NO_INTENSITY_COLOUR = "#9e9e9e";

/**
 * The intensity that maps to white: the 99th percentile of the intensities
 * of up to `limit` points of a loaded tile (sensors record 8, 12 or 16 bit
 * values, so the scale comes from the data).
 *
 * @param {Cesium.Cesium3DTileContent} content A loaded tile's content.
 * @param {number} [limit=5000] Most points read.
 * @returns {number|undefined} The scale, if the tile has intensities.
 */
export function intensityScale(content, limit = 5000) {
  const count = content.featuresLength;
  if (!(count > 0) || !content.hasProperty(0, INTENSITY_PROPERTY)) {
    return undefined;
  }
  const step = Math.max(1, Math.floor(count / limit));
  const values = [];
  for (let i = 0; i < count; i += step) {
    const feature = content.getFeature(i);
    values.push(Number(feature.getProperty(INTENSITY_PROPERTY)));
  }
  values.sort((a, b) => a - b);
  const rank = Math.min(values.length - 1, Math.floor(values.length * 0.99));
  const high = values[rank];
  return Math.max(1, high);
}

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
  // Older tiles (pnts without BATCH_ID): Cesium turns per-point batch-table
  // columns into property attributes, only reachable through the (private)
  // model.
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
 * Style expression of a grey level from the point's intensity: black at 0,
 * (almost) white at `scale` and above.
 *
 * @param {number|undefined} scale See {@link intensityScale}; without it
 *   (no intensity in the cloud) every point is plain grey.
 * @returns {string} A 3D Tiles styling colour expression.
 */
export function intensityColour(scale) {
  if (!(scale > 0)) {
    return `color('${NO_INTENSITY_COLOUR}')`;
  }
  const value = `\${${INTENSITY_PROPERTY}}`;
  // At most 0.99: Cesium draws a white feature colour as the photo colour.
  const level = `clamp(${value} / ${scale.toFixed(1)}, 0.0, 0.99)`;
  return `hsl(0.0, 0.0, ${level})`;
}

/**
 * Build the tileset style from the current display settings.
 *
 * @param {{ mode: "photo"|"class"|"intensity", hidden: Set<number>,
 *   pointSize: number, property?: string, intensityScale?: number }}
 *   settings Display settings.
 * @returns {Cesium.Cesium3DTileStyle} The style.
 */
export function buildStyle({
  mode,
  hidden,
  pointSize,
  property,
  intensityScale: scale,
}) {
  const style = { pointSize: String(pointSize) };
  if (mode === "intensity") {
    style.color = intensityColour(scale);
  }
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
