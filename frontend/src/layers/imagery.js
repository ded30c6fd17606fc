/**
 * The area's orthophoto, draped on the globe as a single-image layer.
 */
import { Cesium } from "../viewer/cesium.js";

/**
 * Download the orthophoto and add it above the base imagery.
 *
 * @param {Cesium.Viewer} viewer The viewer.
 * @param {{ url: string, rectangle: number[] }} imagery The API's imagery
 *   object; rectangle is [west, south, east, north] in degrees.
 * @returns {Promise<{ layer: Cesium.ImageryLayer,
 *   setVisible: (visible: boolean) => void,
 *   setAlpha: (alpha: number) => void, destroy: () => void }>} The handle.
 */
export async function addOrthophoto(viewer, imagery) {
  const provider = await Cesium.SingleTileImageryProvider.fromUrl(imagery.url, {
    rectangle: Cesium.Rectangle.fromDegrees(...imagery.rectangle),
  });
  const layer = viewer.imageryLayers.addImageryProvider(provider);
  const render = () => viewer.scene.requestRender();
  render();
  return {
    layer,
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
