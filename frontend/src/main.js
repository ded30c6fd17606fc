/**
 * Viewer page entry point (`/areas/<id>/view/`): load the area, show its
 * orthophoto and 3D layers, frame the camera, build the panel and report
 * progress in the `#status` badge.
 */
import { getArea, getFeatures } from "./api.js";
import { createFilterTool } from "./filter/filter.js";
import { createInspector } from "./inspect/inspect.js";
import { formatValue } from "./inspect/inspectModel.js";
import { legendClasses } from "./layers/classes.js";
import { SOURCE_NOTES, addOrthophoto } from "./layers/imagery.js";
import { addMapLayers } from "./layers/mapFeatures.js";
import { DEFAULT_POINT_SIZE, addPointCloud } from "./layers/pointcloud.js";
import { BUILDING_TYPES, ROAD_GRADES } from "./layers/subclasses.js";
import { addTilesetLayer } from "./layers/tileset.js";
import { createMeasureTool } from "./measure/measure.js";
import { createShareTool } from "./share/share.js";
import { createSliceTool } from "./slice/slice.js";
import { createLayerPanel } from "./ui/layerPanel.js";
import { createStatusBadge } from "./ui/status.js";
import { frameArea } from "./viewer/camera.js";
import { createViewer } from "./viewer/createViewer.js";
import { whenViewLoaded } from "./viewer/loading.js";
import { exposePageApi } from "./viewer/pageApi.js";
import { applyRenderScale, createDisplayTool } from "./viewer/renderScale.js";

/** Layer modules by API layer kind; other kinds load as plain tilesets. */
const LAYER_KINDS = { pointcloud: addPointCloud };

/**
 * Read the page's JSON configuration (`#rs3d-config`).
 *
 * @returns {{ areaUrl: string, area?: object }} The configuration: the
 *   area API's URL and, embedded by the page, its answer.
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

/**
 * The area's database buildings, fetched once on first use (again after a
 * failure).
 *
 * @param {string} [featuresUrl] The area's features URL.
 * @returns {() => Promise<object[]>} Resolves to GeoJSON features.
 */
function buildingLoader(featuresUrl) {
  let pending;
  return () => {
    if (!featuresUrl) {
      return Promise.resolve([]);
    }
    if (!pending) {
      pending = getFeatures(featuresUrl, { class: "building" }).then(
        (collection) => collection.features ?? [],
      );
      pending.catch(() => {
        pending = undefined;
      });
    }
    return pending;
  };
}

function fileNameFor(area) {
  const slug = String(area.name ?? "area")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
  return `rs3d-${slug || "area"}.png`;
}

/** Layer-panel rows of sub-class toggles: value, readable label and swatch. */
function subclassEntries(list) {
  return list.map(({ name, colour }) => ({
    value: name,
    label: formatValue(name),
    colour,
  }));
}

/**
 * Mount the planner's tools (filter, slice, measure, share) below the
 * layers, restore the state a shared URL carries and define `window.rs3d`.
 *
 * @param {object} options
 * @param {Cesium.CesiumWidget} options.viewer The viewer.
 * @param {object} options.area The area JSON.
 * @param {{ layer: object, handle: object }[]} options.layers Loaded layers.
 * @param {object} [options.layerPanel] The layer panel (visibility).
 * @param {{ setEnabled: (enabled: boolean) => void }} options.inspector
 *   Click-to-inspect, paused while measuring.
 * @param {HTMLElement} options.panel The `#panel` element.
 * @param {object} [options.mapLayers] Roads, water and land use (see
 *   layers/mapFeatures.js).
 * @returns {{ update: () => void }} The share tool (rewrites the URL hash).
 */
function mountTools({
  viewer,
  area,
  layers,
  layerPanel,
  inspector,
  panel,
  mapLayers,
}) {
  const loadBuildings = buildingLoader(area.features_url);
  const buildings = layers.find(
    ({ layer }) => layer.name === "buildings" || layer.kind === "buildings",
  );
  let share;
  const changed = () => share?.update();
  // Click-to-inspect pauses while any tool takes the clicks (measure, drawing).
  const busy = new Set();
  const pauseInspector = (tool) => (active) => {
    busy[active ? "add" : "delete"](tool);
    inspector.setEnabled(busy.size === 0);
  };
  const filter = buildings
    ? createFilterTool({
        viewer,
        container: panel,
        tileset: buildings.handle.tileset,
        loadBuildings,
        heightOffset: area.height_offset_m ?? 0,
        onChange: changed,
      })
    : undefined;
  if (filter && layerPanel) {
    // Hierarchical toggles: building types under the Buildings layer.
    layerPanel.addSubclasses(buildings.layer.name, {
      title: "Building types",
      entries: subclassEntries(BUILDING_TYPES),
      onChange: (hidden) => filter.setHiddenTypes(hidden),
    });
  }
  const roads = layers.find(({ layer }) => layer.name === "roads");
  if (roads?.handle.setHidden && layerPanel) {
    layerPanel.addSubclasses(roads.layer.name, {
      title: "Road grades",
      entries: subclassEntries(ROAD_GRADES),
      onChange: (hidden) => roads.handle.setHidden("grade", hidden),
    });
  }
  const slice =
    area.bbox_wgs84 && layers.length > 0
      ? createSliceTool({
          viewer,
          container: panel,
          tilesets: layers.map(({ handle }) => handle.tileset),
          bbox: area.bbox_wgs84,
          onChange: changed,
          onActiveChange: pauseInspector("slice"),
        })
      : undefined;
  const measure = createMeasureTool({
    viewer,
    container: panel,
    onActiveChange: pauseInspector("measure"),
  });
  share = createShareTool({
    viewer,
    container: panel,
    layers: layerPanel,
    filter,
    slice,
    fileName: fileNameFor(area),
  });
  if (slice) {
    // The tallest building from the area's summary: the buildings themselves load when a tool needs them.
    const tallest = Number(area.feature_classes?.building?.max_height_m) || 0;
    slice.setMaxHeight(tallest + 5);
  }
  share.restore();
  exposePageApi({ viewer, filter, slice, measure, share, mapLayers });
  return share;
}

function showLocationOnly(area) {
  try {
    const viewer = createViewer({ container: "viewer" });
    applyRenderScale(viewer);
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
    // The page embeds the area's JSON (the API's answer, for the same user); the API is the fallback.
    const config = readConfig();
    const area = config.area ?? (await getArea(config.areaUrl));
    if (area.version === null || area.version === undefined) {
      status.error(`This area has no 3D result yet (status: ${area.status}).`);
      showLocationOnly(area);
      return;
    }
    const viewer = createViewer({ container: "viewer" });
    const rendering = applyRenderScale(viewer);
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
    let share;
    const layerPanel = panel
      ? createLayerPanel(panel, {
          orthophoto,
          layers,
          onChange: () => share?.update(),
          legendClasses,
          defaultPointSize: DEFAULT_POINT_SIZE,
          imageryNotes: SOURCE_NOTES,
        })
      : undefined;
    // Roads, water and land use load beside the 3D layers (they never hold the view back); their
    // section goes right below the layer toggles, in a slot kept for it.
    const mapLayers = { layers: [] };
    const mapSlot = document.createElement("div");
    panel?.append(mapSlot);
    const mapLoading = addMapLayers({
      viewer,
      featuresUrl: area.features_url,
      featureClasses: area.feature_classes,
      panel: panel ? mapSlot : undefined,
      onError: (error) =>
        status.error(`Could not load the map layer: ${describe(error)}`),
    })
      .then((loaded) => {
        mapLayers.layers = loaded.layers;
      })
      .catch((error) => {
        status.error(`Could not load the map layers: ${describe(error)}`);
      });
    const inspector = createInspector({
      viewer,
      container: inspectorHost(),
      featuresUrl: area.features_url,
    });
    if (panel) {
      share = mountTools({
        viewer,
        area,
        layers,
        layerPanel,
        inspector,
        panel,
        mapLayers,
      });
      createDisplayTool({
        viewer,
        container: panel,
        software: rendering.software,
      });
    }
    status.loading("Loading tiles…");
    await whenViewLoaded(
      viewer,
      layers.map(({ handle }) => handle.tileset),
    ).promise;
    await mapLoading;
    status.ready();
  } catch (error) {
    console.error(error);
    status.error(describe(error));
  }
}

boot();
