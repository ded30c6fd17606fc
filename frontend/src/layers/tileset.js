/**
 * Generic 3D Tiles loading shared by every 3D layer kind.
 */
import { Cesium } from "../viewer/cesium.js";
import { hideValuesStyle } from "./subclasses.js";

/**
 * Translation that moves a tileset `heightOffset` metres along the ellipsoid
 * normal at the area centre (so the ground meets the draped imagery).
 *
 * @param {number[]|null} bbox [west, south, east, north] in degrees.
 * @param {number} heightOffset Metres to add to every height.
 * @param {Cesium.Cartesian3} [fallbackCentre] Used when bbox is missing.
 * @returns {Cesium.Matrix4} The model matrix.
 */
export function heightOffsetMatrix(bbox, heightOffset, fallbackCentre) {
  if (!heightOffset) {
    return Cesium.Matrix4.clone(Cesium.Matrix4.IDENTITY);
  }
  let carto;
  if (bbox) {
    const [west, south, east, north] = bbox;
    carto = Cesium.Cartographic.fromDegrees(
      (west + east) / 2,
      (south + north) / 2,
    );
  } else {
    carto = Cesium.Cartographic.fromCartesian(fallbackCentre);
  }
  const { longitude, latitude } = carto;
  const surface = Cesium.Cartesian3.fromRadians(longitude, latitude, 0);
  const shifted = Cesium.Cartesian3.fromRadians(
    longitude,
    latitude,
    heightOffset,
  );
  return Cesium.Matrix4.fromTranslation(
    Cesium.Cartesian3.subtract(shifted, surface, new Cesium.Cartesian3()),
  );
}

/**
 * Load a 3D Tiles tileset, shift it by the area's height offset and add it
 * to the scene.
 *
 * @param {object} options
 * @param {Cesium.CesiumWidget} options.viewer The viewer.
 * @param {string} options.url The tileset.json URL.
 * @param {number} [options.heightOffset=0] Metres to add to every height.
 * @param {number[]} [options.bbox] Area bbox, for the offset's normal.
 * @returns {Promise<Cesium.Cesium3DTileset>} The tileset, already added.
 */
export async function loadTileset({ viewer, url, heightOffset = 0, bbox }) {
  const tileset = await Cesium.Cesium3DTileset.fromUrl(url, {
    maximumScreenSpaceError: 8,
  });
  tileset.modelMatrix = heightOffsetMatrix(
    bbox,
    heightOffset,
    tileset.boundingSphere.center,
  );
  viewer.scene.primitives.add(tileset);
  return tileset;
}

/**
 * Make a mesh tileset see-through: a custom shader scales every fragment's
 * alpha, after the style's colour (so it works with any filter or colouring).
 *
 * @param {Cesium.Cesium3DTileset} tileset A glb tileset.
 * @param {number} alpha 0 (invisible) to 1 (opaque).
 */
export function setTilesetOpacity(tileset, alpha) {
  const value = Math.min(1, Math.max(0, Number(alpha)));
  if (value >= 1) {
    tileset.customShader = undefined; // opaque again: back to the opaque pass and its depth writes
    return;
  }
  if (!tileset.customShader) {
    tileset.customShader = new Cesium.CustomShader({
      uniforms: { u_opacity: { type: Cesium.UniformType.FLOAT, value } },
      translucencyMode: Cesium.CustomShaderTranslucencyMode.TRANSLUCENT,
      fragmentShaderText: `
        void fragmentMain(FragmentInput fsInput, inout czm_modelMaterial material) {
          material.alpha *= u_opacity;
        }`,
    });
  }
  tileset.customShader.setUniform("u_opacity", value);
}

/**
 * Layers that start hidden: the terrain mesh lies on the ground the
 * orthophoto is draped on, and would hide it.
 */
export const HIDDEN_AT_START = Object.freeze(new Set(["terrain"]));

/**
 * Add any 3D Tiles layer (meshes, buildings…) with no special styling.
 *
 * @param {{ viewer: Cesium.CesiumWidget, layer: object, heightOffset?: number,
 *   bbox?: number[] }} options The viewer and the API layer description.
 * @returns {Promise<{ tileset: Cesium.Cesium3DTileset,
 *   setVisible: (visible: boolean) => void, destroy: () => void }>}
 *   The tileset, a visibility toggle and a function removing it.
 */
export async function addTilesetLayer({ viewer, layer, heightOffset, bbox }) {
  const tileset = await loadTileset({
    viewer,
    url: layer.tileset_url,
    heightOffset,
    bbox,
  });
  tileset.show = !HIDDEN_AT_START.has(layer.name);
  return {
    tileset,
    setVisible(visible) {
      tileset.show = Boolean(visible);
      viewer.scene.requestRender();
    },
    /** @param {number} alpha 0 (invisible) to 1 (opaque). */
    setOpacity(alpha) {
      setTilesetOpacity(tileset, alpha);
      viewer.scene.requestRender();
    },
    /**
     * Hide the features whose `property` is one of `values` (sub-class toggles).
     *
     * @param {string} property A metadata property, e.g. "grade".
     * @param {string[]} values The values to hide.
     */
    setHidden(property, values) {
      const json = hideValuesStyle(property, values);
      tileset.style = json ? new Cesium.Cesium3DTileStyle(json) : undefined;
      viewer.scene.requestRender();
    },
    destroy() {
      viewer.scene.primitives.remove(tileset);
    },
  };
}
