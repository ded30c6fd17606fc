/**
 * The single place that imports CesiumJS.
 *
 * Cesium is served by Django at /static/cesium/; the page template must set
 * `window.CESIUM_BASE_URL = "/static/cesium/"` before this module loads so
 * that Cesium finds its Workers, Assets and ThirdParty folders (the viewer
 * page does it with viewer/cesiumBaseUrl.js).
 */
import * as Cesium from "/static/cesium/index.js";

if (typeof window !== "undefined" && !window.CESIUM_BASE_URL) {
  console.warn(
    "rs3d: window.CESIUM_BASE_URL is not set; Cesium assets may fail to load.",
  );
}

/** The CesiumJS namespace (ES module build). */
export { Cesium };
