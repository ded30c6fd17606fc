/**
 * Point-cloud layer (glb point tiles, one feature per point): photo, per-class or
 * intensity colours and per-class visibility through one Cesium3DTileStyle,
 * point size through a custom shader.
 *
 * Every point is a feature (implicit EXT_mesh_features ids into an
 * EXT_structural_metadata property table holding `classification` and, for
 * LiDAR, `intensity`) so that a click picks it. CesiumJS then evaluates the
 * style per point on the CPU, and ignores its `pointSize` (points with a
 * property table are not styled on the GPU),
 * so the size is a uniform of a custom vertex shader instead.
 */
import { Cesium } from "../viewer/cesium.js";
import {
  buildStyle,
  detectClassProperty,
  intensityScale,
} from "./pointStyle.js";
import { loadTileset } from "./tileset.js";

/** Default point size in pixels. */
export const DEFAULT_POINT_SIZE = 3;

/**
 * Largest screen-space error, in CSS pixels, at which a point tile is drawn
 * without its children. The tiler's geometric errors mean what they say: a
 * tile and its ancestors have a drawn point within that many metres of every
 * point their children add (refine ADD). So this is the farthest, on
 * screen, a point left out is from a drawn one. At 16 (Cesium's default)
 * the framed demo city needs the root and its four children, not the leaves
 * (bench_first_view: 6 requests and 0.45 MB instead of 89 and 8.9 MB), and
 * the orthophoto shows between the dots; coming closer loads finer tiles.
 */
export const POINT_SCREEN_SPACE_ERROR = 16;

/**
 * A custom shader that draws every point `size` CSS pixels wide.
 *
 * @param {number} size Point size in CSS pixels.
 * @returns {Cesium.CustomShader} The shader; set `u_rs3dPointSize` to resize.
 */
function pointSizeShader(size) {
  return new Cesium.CustomShader({
    uniforms: {
      u_rs3dPointSize: { type: Cesium.UniformType.FLOAT, value: size },
    },
    vertexShaderText: `
      void vertexMain(VertexInput vsInput, inout czm_modelVertexOutput vsOutput) {
        vsOutput.pointSize = u_rs3dPointSize * czm_pixelRatio;
      }`,
  });
}

/** Colour modes of {@link addPointCloud}, in menu order. */
export const COLOUR_MODES = Object.freeze(["photo", "class", "intensity"]);

/**
 * Load a point-cloud layer and return its display controls.
 *
 * @param {{ viewer: Cesium.CesiumWidget, layer: object, heightOffset?: number,
 *   bbox?: number[] }} options The viewer and the API layer description.
 * @returns {Promise<{ tileset: Cesium.Cesium3DTileset,
 *   setColourMode: (mode: "photo"|"class"|"intensity") => void,
 *   setClassVisible: (code: number, visible: boolean) => void,
 *   setPointSize: (pixels: number) => void,
 *   setVisible: (visible: boolean) => void,
 *   classProperty: () => string|undefined,
 *   hasIntensity: () => boolean,
 *   destroy: () => void }>} The layer handle.
 */
export async function addPointCloud({ viewer, layer, heightOffset, bbox }) {
  const tileset = await loadTileset({
    viewer,
    url: layer.tileset_url,
    heightOffset,
    bbox,
  });
  tileset.maximumScreenSpaceError = POINT_SCREEN_SPACE_ERROR;
  const settings = {
    mode: "photo",
    hidden: new Set(),
    pointSize: DEFAULT_POINT_SIZE,
    property: undefined,
    intensityScale: undefined,
  };
  const sizeShader = pointSizeShader(settings.pointSize);
  tileset.customShader = sizeShader;
  // Style colours replace the photo colours (the default multiplies them);
  // a white style colour still means "photo colour".
  tileset.colorBlendMode = Cesium.Cesium3DTileColorBlendMode.REPLACE;
  const restyle = () => {
    tileset.style = buildStyle(settings);
    viewer.scene.requestRender();
  };
  let removeTileLoad = tileset.tileLoad.addEventListener((tile) => {
    const property = detectClassProperty(tile.content);
    if (!property) {
      return;
    }
    console.debug(`rs3d: ${layer.name} classes are in "${property}"`);
    settings.property = property;
    // The first tile is the root: a subsample of the whole cloud.
    settings.intensityScale = intensityScale(tile.content);
    removeTileLoad();
    removeTileLoad = () => {};
    restyle();
  });
  restyle();

  return {
    tileset,
    setColourMode(mode) {
      settings.mode = COLOUR_MODES.includes(mode) ? mode : "photo";
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
      sizeShader.setUniform("u_rs3dPointSize", settings.pointSize);
      restyle();
    },
    setVisible(visible) {
      tileset.show = Boolean(visible);
      viewer.scene.requestRender();
    },
    classProperty: () => settings.property,
    hasIntensity: () => settings.intensityScale !== undefined,
    destroy() {
      removeTileLoad();
      viewer.scene.primitives.remove(tileset);
    },
  };
}
