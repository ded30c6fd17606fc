/**
 * The single place that imports CesiumJS.
 *
 * Cesium is served by Django from a folder named after its version and
 * build (/static/cesium/<version>-<digest>/, so browsers may cache it for
 * good); the page template sets `window.CESIUM_BASE_URL` to that folder
 * before this module loads (viewer/cesiumBaseUrl.js), and Cesium finds its
 * Workers, Assets and ThirdParty folders there. This module imports Cesium's
 * ES module build from the same folder; the template preloads it
 * (`<link rel="modulepreload">`), so its download starts with the page's.
 */
const base = globalThis.CESIUM_BASE_URL;
if (typeof window !== "undefined" && !base) {
  console.warn(
    "rs3d: window.CESIUM_BASE_URL is not set; Cesium assets may fail to load.",
  );
}

/** The CesiumJS namespace (ES module build). */
export const Cesium = await import(`${base ?? "/static/cesium/"}index.js`);
