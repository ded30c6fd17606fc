/**
 * What the filter tool reads from the buildings tileset and the scene,
 * without DOM: loaded tile contents, their metadata schema, each loaded
 * building as the active style shows it, and where a database building is.
 */
import { Cesium } from "../viewer/cesium.js";

/**
 * Every tile content of a tileset that is loaded now.
 *
 * @param {Cesium.Cesium3DTileset} tileset The tileset.
 * @returns {Cesium.Cesium3DTileContent[]} The loaded contents.
 */
export function loadedContents(tileset) {
  const contents = [];
  const stack = tileset.root ? [tileset.root] : [];
  while (stack.length > 0) {
    const tile = stack.pop();
    if (tile.contentReady && tile.content) {
      const inner = tile.content.innerContents;
      contents.push(...(inner?.length ? inner : [tile.content]));
    }
    stack.push(...(tile.children ?? []));
  }
  return contents;
}

/**
 * The EXT_structural_metadata schema of a tile content, if it has one.
 *
 * @param {Cesium.Cesium3DTileContent|undefined} content The content.
 * @returns {object|undefined} Cesium's MetadataSchema.
 */
export function schemaOf(content) {
  return content?._model?.structuralMetadata?.schema;
}

/**
 * Each loaded building as the tileset's style shows it, by id.
 *
 * @param {Cesium.Cesium3DTileset} tileset The buildings tileset.
 * @returns {{ id: number, show: boolean, colour: string|null }[]} The states.
 */
export function buildingStates(tileset) {
  const style = tileset.style;
  const states = [];
  for (const content of loadedContents(tileset)) {
    for (let i = 0; i < content.featuresLength; i += 1) {
      const feature = content.getFeature(i);
      const id = Number(feature.getProperty("id"));
      const show =
        tileset.show &&
        (style?.show ? Boolean(style.show.evaluate(feature)) : true);
      const colour = style?.color
        ? style.color
            .evaluateColor(feature, new Cesium.Color())
            .toCssHexString()
        : null;
      states.push({ id, show, colour });
    }
  }
  return states.sort((a, b) => a.id - b.id);
}

function ringsOf(geometry) {
  if (geometry?.type === "Polygon") {
    return geometry.coordinates;
  }
  if (geometry?.type === "MultiPolygon") {
    return geometry.coordinates.flat();
  }
  return [];
}

/**
 * Bounding sphere of a database building as drawn (lowered by the area's
 * height offset like the tiles).
 *
 * @param {object} feature GeoJSON building with ground_m and height_m.
 * @param {number} heightOffset Metres added to every height.
 * @returns {Cesium.BoundingSphere|undefined} The sphere.
 */
export function featureSphere(feature, heightOffset) {
  const { ground_m: ground = 0, height_m: height = 0 } =
    feature.properties ?? {};
  const base = Number(ground) + heightOffset;
  const points = [];
  for (const ring of ringsOf(feature.geometry)) {
    for (const [lon, lat] of ring) {
      points.push(Cesium.Cartesian3.fromDegrees(lon, lat, base));
      points.push(
        Cesium.Cartesian3.fromDegrees(lon, lat, base + Number(height)),
      );
    }
  }
  return points.length > 0
    ? Cesium.BoundingSphere.fromPoints(points)
    : undefined;
}
