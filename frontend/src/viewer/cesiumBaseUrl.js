/**
 * Tell Cesium where its Workers, Assets and ThirdParty folders are:
 * `globalThis.CESIUM_BASE_URL`, which Cesium reads the first time it builds
 * such a URL (buildModuleUrl), from the page's
 * `<meta name="rs3d-cesium-base-url">` (the Content-Security-Policy forbids
 * inline script). The module that provides Cesium imports this one first: in
 * the bundle (frontend/build.mjs) it runs before any of Cesium's code; with
 * RS3D_DEBUG, viewer/cesium.js imports Cesium's index.js from that folder.
 */
// No document in Node, where tests run the models (tests/integration/test_filter_expressions.py).
const meta = globalThis.document?.querySelector(
  'meta[name="rs3d-cesium-base-url"]',
);
globalThis.CESIUM_BASE_URL ??= meta?.content;

/** Cesium's folder, ending in "/" (undefined outside a page that names it). */
export const cesiumBaseUrl = globalThis.CESIUM_BASE_URL;
