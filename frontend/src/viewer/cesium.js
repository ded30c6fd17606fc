/**
 * The single place that imports CesiumJS.
 *
 * Cesium is served by Django from a folder named after its version and
 * build (/static/cesium/<version>-<digest>/, so browsers may cache it for
 * good), which the page names (viewer/cesiumBaseUrl.js); Cesium finds its
 * Workers, Assets and ThirdParty folders there.
 *
 * The viewer's bundle (frontend/build.mjs) replaces this module by one that
 * imports only the symbols the app uses, as `Cesium.Name`, from the `cesium`
 * package, and exports them as the same `Cesium` object. This module itself
 * runs with RS3D_DEBUG (the page loads the modules of frontend/src), and
 * imports Cesium's whole ES module build from that folder; the page
 * preloads it (`<link rel="modulepreload">`).
 */
import { cesiumBaseUrl } from "./cesiumBaseUrl.js";

if (globalThis.document && !cesiumBaseUrl) {
  console.warn(
    "rs3d: the page names no Cesium folder (meta rs3d-cesium-base-url); Cesium assets may fail to load.",
  );
}

/** The CesiumJS namespace (ES module build). */
export const Cesium = await import(`${cesiumBaseUrl ?? "/static/cesium/"}index.js`);
