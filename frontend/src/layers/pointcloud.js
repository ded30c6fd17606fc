/**
 * Point-cloud layer (py3dtiles pnts): photo or per-class colours, per-class
 * visibility and point size, all through one Cesium3DTileStyle.
 */
import { buildStyle, detectClassProperty } from "./pointStyle.js";
import { loadTileset } from "./tileset.js";

/** Default point size in pixels. */
export const DEFAULT_POINT_SIZE = 3;

/**
 * Load a point-cloud layer and return its display controls.
 *
 * @param {{ viewer: Cesium.Viewer, layer: object, heightOffset?: number,
 *   bbox?: number[] }} options The viewer and the API layer description.
 * @returns {Promise<{ tileset: Cesium.Cesium3DTileset,
 *   setColourMode: (mode: "photo"|"class") => void,
 *   setClassVisible: (code: number, visible: boolean) => void,
 *   setPointSize: (pixels: number) => void,
 *   setVisible: (visible: boolean) => void,
 *   classProperty: () => string|undefined,
 *   destroy: () => void }>} The layer handle.
 */
export async function addPointCloud({ viewer, layer, heightOffset, bbox }) {
  const tileset = await loadTileset({
    viewer,
    url: layer.tileset_url,
    heightOffset,
    bbox,
  });
  const settings = {
    mode: "photo",
    hidden: new Set(),
    pointSize: DEFAULT_POINT_SIZE,
    property: undefined,
  };
  const restyle = () => {
    tileset.style = buildStyle(settings);
    viewer.scene.requestRender();
  };
  let removeTileLoad = tileset.tileLoad.addEventListener((tile) => {
    const property = detectClassProperty(tile.content);
    if (property) {
      console.debug(`rs3d: ${layer.name} classes are in "${property}"`);
      settings.property = property;
      removeTileLoad();
      removeTileLoad = () => {};
      restyle();
    }
  });
  restyle();

  return {
    tileset,
    setColourMode(mode) {
      settings.mode = mode === "class" ? "class" : "photo";
      restyle();
    },
    setClassVisible(code, visible) {
      if (visible) {
        settings.hidden.delete(code);
      } else {
        settings.hidden.add(code);
      }
      restyle();
    },
    setPointSize(pixels) {
      settings.pointSize = Math.max(1, Number(pixels) || DEFAULT_POINT_SIZE);
      restyle();
    },
    setVisible(visible) {
      tileset.show = Boolean(visible);
      viewer.scene.requestRender();
    },
    classProperty: () => settings.property,
    destroy() {
      removeTileLoad();
      viewer.scene.primitives.remove(tileset);
    },
  };
}
