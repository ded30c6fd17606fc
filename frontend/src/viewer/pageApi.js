/**
 * `window.rs3d`: a small read-only view of the page's state for scripts
 * and the browser tests (which buildings the active style shows, the
 * camera, the slice planes, the measurement, whether the scene has
 * finished loading). It changes nothing.
 */
import { cameraState } from "./camera.js";
import { Cesium } from "./cesium.js";

/**
 * Define `window.rs3d`.
 *
 * @param {object} options
 * @param {Cesium.CesiumWidget} options.viewer The viewer.
 * @param {object} [options.filter] The filter tool.
 * @param {object} [options.slice] The slice tool.
 * @param {object} [options.measure] The measure tool.
 * @param {object} [options.share] The share tool.
 * @param {object} [options.mapLayers] Roads, water and land-use layers.
 * @returns {{ destroy: () => void }} Removes `window.rs3d`.
 */
export function exposePageApi({
  viewer,
  filter,
  slice,
  measure,
  share,
  mapLayers,
}) {
  const states = () => filter?.buildingStates() ?? [];
  const api = Object.freeze({
    /** @returns {number[]} Ids of loaded buildings the style shows. */
    visibleBuildingIds: () =>
      states()
        .filter((s) => s.show)
        .map((s) => s.id),
    /** @returns {number[]} Ids of every loaded building. */
    loadedBuildingIds: () => states().map((s) => s.id),
    /** @returns {object[]} { id, show, colour } per loaded building. */
    buildingStates: states,
    /**
     * @returns {object} Per map layer (road, water, land_use): { count,
     *   shown, loaded } (a hidden class loads when first shown).
     */
    mapLayers: () =>
      Object.fromEntries(
        (mapLayers?.layers ?? []).map((l) => [
          l.kind,
          { count: l.count, shown: l.shown, loaded: l.loaded },
        ]),
      ),
    /** @returns {object} Camera longitude, latitude (°), height (m), angles (°). */
    camera: () => cameraState(viewer.camera),
    /** @returns {number} The share of the canvas's size it draws (see renderScale.js). */
    renderScale: () => viewer.resolutionScale,
    /**
     * @param {number} lon Longitude, degrees.
     * @param {number} lat Latitude, degrees.
     * @param {number} height Height above the ellipsoid, metres.
     * @returns {number[]|null} [x, y] CSS pixels in the canvas, if visible.
     */
    toWindow(lon, lat, height) {
      const point = Cesium.SceneTransforms.worldToWindowCoordinates(
        viewer.scene,
        Cesium.Cartesian3.fromDegrees(lon, lat, height),
      );
      return point ? [point.x, point.y] : null;
    },
    /** @returns {object[]} Each clipped layer's plane (enabled, distance). */
    slicePlanes: () => slice?.planes() ?? [],
    /** @returns {object|null} Mode, value, unit, text and picked points. */
    measurement: () => measure?.result() ?? null,
    /** @returns {string|null} The shareable link of the current view. */
    shareLink: () => share?.link() ?? null,
    /**
     * @returns {boolean} Whether the globe's imagery and every shown 3D
     *   Tiles layer have loaded what the current view needs (a picture taken
     *   now will not still refine).
     */
    /**
     * @returns {Promise<void>} Resolves once the scene has drawn a frame
     *   asked for now (the viewer renders on request only), so that a picture
     *   taken then shows every change made before the call.
     */
    rendered: () =>
      new Promise((resolve) => {
        const remove = viewer.scene.postRender.addEventListener(() => {
          remove();
          resolve();
        });
        viewer.scene.requestRender();
      }),
    settled: () => {
      const { primitives, globe } = viewer.scene;
      const tilesets = Array.from({ length: primitives.length }, (_, i) =>
        primitives.get(i),
      ).filter((p) => p instanceof Cesium.Cesium3DTileset && p.show);
      return globe.tilesLoaded && tilesets.every((t) => t.tilesLoaded);
    },
  });
  Object.defineProperty(window, "rs3d", { value: api, configurable: true });
  return {
    destroy() {
      delete window.rs3d;
    },
  };
}
