/**
 * Create a Cesium viewer that works fully offline (no Cesium ion).
 */
import { Cesium } from "./cesium.js";

/**
 * Build the base imagery layer from Cesium's bundled Natural Earth II tiles.
 *
 * @returns {Cesium.ImageryLayer} An imagery layer that loads asynchronously.
 */
export function naturalEarthLayer() {
  return Cesium.ImageryLayer.fromProviderAsync(
    Cesium.TileMapServiceImageryProvider.fromUrl(
      Cesium.buildModuleUrl("Assets/Textures/NaturalEarthII"),
    ),
  );
}

/**
 * Create the viewer: a CesiumWidget (Cesium's globe, camera, imagery,
 * entities and data sources, without the Viewer's widgets: the page has its
 * own panel and tools, and the widgets' code and style sheets were about
 * 70 kB of the first page), ellipsoid globe, offline base imagery, no ion
 * services.
 *
 * No star SkyBox, Sun or Moon (`skyBox: false` drops all three): a planner
 * looks at a city from a few hundred metres up, where the sky atmosphere
 * (kept) fills the sky, and the six star images and the Moon's texture were
 * about 0.9 MB of the first page.
 *
 * @param {{ container: HTMLElement|string }} options Where to mount it.
 * @returns {Cesium.CesiumWidget} The viewer.
 */
export function createViewer({ container }) {
  Cesium.Ion.defaultAccessToken = undefined;
  const viewer = new Cesium.CesiumWidget(container, {
    baseLayer: naturalEarthLayer(),
    scene3DOnly: true,
    skyBox: false,
    requestRenderMode: true,
    maximumRenderTimeChange: Infinity,
  });
  const scene = viewer.scene;
  scene.globe.depthTestAgainstTerrain = false;
  scene.globe.baseColor = Cesium.Color.fromCssColorString("#1d2733");
  scene.screenSpaceCameraController.minimumZoomDistance = 2;
  return viewer;
}
