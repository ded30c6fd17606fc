/**
 * Create a Cesium viewer that works fully offline (no Cesium ion).
 */
import { Cesium } from "./cesium.js";

/**
 * Build the base imagery layer from Cesium's bundled Natural Earth II tiles.
 *
 * The tiles are a TMS tile set (Assets/Textures/NaturalEarthII/
 * tilemapresource.xml): geographic, two 256-pixel tiles across at level 0,
 * levels 0 to 2, rows counted from the south, JPEG. Named here as a URL
 * template, so the first view does not wait for, nor ask for, that XML
 * file before its first tiles.
 *
 * @returns {Cesium.ImageryLayer} The layer.
 */
export function naturalEarthLayer() {
  const folder = Cesium.buildModuleUrl("Assets/Textures/NaturalEarthII");
  return new Cesium.ImageryLayer(
    new Cesium.UrlTemplateImageryProvider({
      url: `${folder}/{z}/{x}/{reverseY}.jpg`,
      tilingScheme: new Cesium.GeographicTilingScheme(),
      maximumLevel: 2,
    }),
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
  // The Sun's direction (sky atmosphere, lighting) from Cesium's TEME
  // pseudo-fixed frame, which Cesium itself uses until the IAU 2006 XYS
  // table arrives, instead of that table (Assets/IAU2006_XYS, 22 kB and one
  // request of the first view): off by about 0.4° (the Earth's axis
  // precession since 2000), which no shading of a city view shows. Cesium
  // documents this function as the one to replace.
  Cesium.Transforms.computeIcrfToCentralBodyFixedMatrix =
    Cesium.Transforms.computeTemeToPseudoFixedMatrix;
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
