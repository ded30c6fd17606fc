/**
 * Tell Cesium where its Workers, Assets and ThirdParty folders are, before
 * the viewer's modules load. A classic script, so it runs before any module;
 * it reads the folder from its own `data-cesium-base-url` attribute, which
 * keeps the page free of inline script (the Content-Security-Policy forbids it).
 */
window.CESIUM_BASE_URL = document.currentScript.dataset.cesiumBaseUrl;
