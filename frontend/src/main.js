/**
 * Viewer page entry point (`/areas/<id>/view/`): load the area, show its
 * orthophoto and 3D layers, frame the camera, build the panel and report
 * progress in the `#status` badge.
 */
import { getArea } from "./api.js";
import { createInspector } from "./inspect/inspect.js";
import { addOrthophoto } from "./layers/imagery.js";
import { addPointCloud } from "./layers/pointcloud.js";
import { addTilesetLayer } from "./layers/tileset.js";
import { createLayerPanel } from "./ui/layerPanel.js";
import { createStatusBadge } from "./ui/status.js";
import { frameArea } from "./viewer/camera.js";
import { createViewer } from "./viewer/createViewer.js";
import { whenViewLoaded } from "./viewer/loading.js";

/** Layer modules by API layer kind; other kinds load as plain tilesets. */
const LAYER_KINDS = { pointcloud: addPointCloud };

/**
 * Read the page's JSON configuration (`#rs3d-config`).
 *
 * @returns {{ areaUrl: string }} The configuration.
 */
export function readConfig() {
  const script = document.getElementById("rs3d-config");
  if (!script) {
    throw new Error("The page has no #rs3d-config element.");
  }
  return JSON.parse(script.textContent);
}

function describe(error) {
  if (error instanceof Error && error.message) {
    return error.message;
  }
  const text = String(error ?? "Unknown error");
  return text === "[object Object]" ? "Unknown error" : text;
}

async function addLayer(viewer, area, layer, status) {
  const add = LAYER_KINDS[layer.kind] ?? addTilesetLayer;
  const title = layer.title || layer.name;
  let handle;
  try {
    handle = await add({
      viewer,
      layer,
      heightOffset: area.height_offset_m ?? 0,
      bbox: area.bbox_wgs84,
    });
  } catch (error) {
    throw new Error(`Could not load the layer “${title}”: ${describe(error)}`);
  }
  handle.tileset.tileFailed.addEventListener(({ url, message }) => {
    console.error(`rs3d: tile failed in ${title}: ${url}`, message);
    status.error(`Part of the layer “${title}” failed to load: ${message}`);
  });
  return { layer, handle };
}

/** The floating aside (left, below `#status`) that holds the inspector. */
function inspectorHost() {
  let host = document.getElementById("inspect-panel");
  if (!host) {
    host = document.createElement("aside");
    host.id = "inspect-panel";
    host.setAttribute("aria-live", "polite");
    document.body.append(host);
  }
  return host;
}

function showLocationOnly(area) {
  try {
    const viewer = createViewer({ container: "viewer" });
    if (area.bbox_wgs84) {
      frameArea(viewer, area.bbox_wgs84, { minRadius: 50000 });
    }
  } catch (error) {
    console.warn("rs3d: could not show the globe", error);
  }
}

/**
 * Boot the viewer page. Never rejects: failures end up in `#status`.
 *
 * @returns {Promise<void>} Resolves when loading finished or failed.
 */
export async function boot() {
  const status = createStatusBadge(document.getElementById("status"));
  try {
    status.loading("Loading area…");
    const area = await getArea(readConfig().areaUrl);
    if (area.version === null || area.version === undefined) {
      status.error(`This area has no 3D result yet (status: ${area.status}).`);
      showLocationOnly(area);
      return;
    }
    const viewer = createViewer({ container: "viewer" });
    viewer.scene.renderError.addEventListener((scene, error) => {
      status.error(`3D rendering failed: ${error?.message ?? error}`);
    });
    status.loading("Loading imagery…");
    const orthophoto = area.imagery
      ? await addOrthophoto(viewer, area.imagery).catch((error) => {
          throw new Error(`Could not load the orthophoto: ${describe(error)}`);
        })
      : undefined;
    status.loading("Loading 3D layers…");
    const layers = await Promise.all(
      (area.layers ?? []).map((layer) => addLayer(viewer, area, layer, status)),
    );
    if (area.bbox_wgs84) {
      await frameArea(viewer, area.bbox_wgs84);
    } else if (layers.length > 0) {
      await viewer.zoomTo(layers[0].handle.tileset);
    }
    const panel = document.getElementById("panel");
    if (panel) {
      createLayerPanel(panel, { orthophoto, layers });
    }
    createInspector({
      viewer,
      container: inspectorHost(),
      featuresUrl: area.features_url,
    });
    status.loading("Loading tiles…");
    await whenViewLoaded(
      viewer,
      layers.map(({ handle }) => handle.tileset),
    ).promise;
    status.ready();
  } catch (error) {
    console.error(error);
    status.error(describe(error));
  }
}

boot();
