/**
 * The area's orthophoto, draped on the globe: Web Mercator XYZ tiles where
 * the version has them, else one image.
 */
import { Cesium } from "../viewer/cesium.js";

/**
 * Add the orthophoto above the base imagery.
 *
 * @param {Cesium.CesiumWidget} viewer The viewer.
 * @param {{ url: string, rectangle: number[], tiles_url?: string,
 *   tile_size?: number, minzoom?: number, maxzoom?: number,
 *   tiles_rectangle?: number[] }} imagery
 *   The API's imagery object; rectangles are [west, south, east, north] in
 *   degrees. With `tiles_url` (a `{z}/{x}/{y}` template of `tile_size` px
 *   tiles from `minzoom` to `maxzoom`), tiles are streamed; else `url` is
 *   one image.
 * @returns {Promise<{ layer: Cesium.ImageryLayer, source: string,
 *   setVisible: (visible: boolean) => void,
 *   setAlpha: (alpha: number) => void, destroy: () => void }>} The handle;
 *   `source` is what the image is (the API's `imagery.source`).
 */
export async function addOrthophoto(viewer, imagery) {
  const provider = imagery.tiles_url
    ? tiledProvider(imagery)
    : await Cesium.SingleTileImageryProvider.fromUrl(imagery.url, {
        rectangle: Cesium.Rectangle.fromDegrees(...imagery.rectangle),
      });
  const layer = viewer.imageryLayers.addImageryProvider(provider);
  const render = () => viewer.scene.requestRender();
  render();
  return {
    layer,
    source: imagery.source ?? "orthophoto",
    setVisible(visible) {
      layer.show = Boolean(visible);
      render();
    },
    setAlpha(alpha) {
      layer.alpha = Math.min(1, Math.max(0, Number(alpha)));
      render();
    },
    destroy() {
      viewer.imageryLayers.remove(layer, true);
      render();
    },
  };
}

/** What the imagery panel says of an image that is not an uploaded orthophoto. */
export const SOURCE_NOTES = Object.freeze({
  "lidar colours": "Made from the LiDAR points' colours.",
  "class colours":
    "The LiDAR has no colour: its classes in map colours over the relief.",
  hillshade: "The LiDAR has no colour or classes: its shaded relief.",
});

/**
 * The XYZ tile pyramid as an imagery provider, limited to its levels and
 * rectangle so that Cesium never asks for a tile that was not written. The
 * tile size sets the level Cesium asks for (it matches texels to screen
 * pixels): with 512 px tiles, one level shallower than with 256 px ones.
 *
 * @param {{ tiles_url: string, tile_size?: number, minzoom: number, maxzoom: number,
 *   tiles_rectangle?: number[], rectangle: number[] }} imagery The API's
 *   imagery object.
 * @returns {Cesium.UrlTemplateImageryProvider} The provider.
 */
function tiledProvider(imagery) {
  return new Cesium.UrlTemplateImageryProvider({
    url: imagery.tiles_url,
    tilingScheme: new Cesium.WebMercatorTilingScheme(),
    tileWidth: imagery.tile_size ?? 256, // versions before 512 px tiles do not say
    tileHeight: imagery.tile_size ?? 256,
    minimumLevel: imagery.minzoom,
    maximumLevel: imagery.maxzoom,
    rectangle: Cesium.Rectangle.fromDegrees(
      ...(imagery.tiles_rectangle ?? imagery.rectangle),
    ),
    hasAlphaChannel: true,
  });
}
