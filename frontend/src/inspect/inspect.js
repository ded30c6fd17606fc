/**
 * Click-to-inspect: the 3D feature under the mouse lights up (hover); a
 * left click picks a building, another 3D feature or a
 * single point of the point cloud (each point is a feature of its glb
 * tile's property table), highlights buildings and points and lists the
 * attributes in a panel with a "Zoom to" button (for points: class, LiDAR
 * intensity when there is one, elevation); a building, tree or road wins
 * over a point drawn on it; for buildings the panel links the matching
 * database feature as a GeoJSON download.
 */
import { getFeatures } from "../api.js";
import { createSection } from "../ui/controls.js";
import { Cesium } from "../viewer/cesium.js";
import { pickPositionExact } from "../viewer/renderScale.js";
import { describePick } from "./inspectModel.js";

/** Colour given to the picked building or point. */
const HIGHLIGHT = Cesium.Color.fromCssColorString("#ffd54f");
/** Colour of the 3D feature under the mouse (not points: one point is too small to show it). */
const HOVER = Cesium.Color.fromCssColorString("#90caf9");

/**
 * Where a click hit a tileset, in the data's own frame: the depth-buffer
 * position with the layer's display shift (its model matrix: the viewer
 * lowers 3D layers to the draped orthophoto) taken off again.
 *
 * @param {Cesium.Cartesian3} [world] The depth-buffer position clicked
 *   (pickPositionExact).
 * @param {Cesium.Cesium3DTileset} [tileset] The picked feature's tileset.
 * @returns {{ lon: number, lat: number, height: number }|undefined}
 *   Degrees and metres (ellipsoidal, i.e. the data's heights), if known.
 */
function dataPosition(world, tileset) {
  if (!tileset || !Cesium.defined(world)) {
    return undefined;
  }
  const inverse = Cesium.Matrix4.inverse(
    tileset.modelMatrix,
    new Cesium.Matrix4(),
  );
  const local = Cesium.Matrix4.multiplyByPoint(
    inverse,
    world,
    new Cesium.Cartesian3(),
  );
  const where = Cesium.Cartographic.fromCartesian(local);
  if (!where) {
    return undefined;
  }
  return {
    lon: Cesium.Math.toDegrees(where.longitude),
    lat: Cesium.Math.toDegrees(where.latitude),
    height: where.height,
  };
}

/** Id properties of the 3D features a click means rather than a LiDAR point on them. */
const OVER_POINTS = ["tree_id", "road_id"];

/**
 * The building, tree or road under a picked point of the cloud, if any: a
 * click on a roof means the building, not one return on it. The point cloud
 * is hidden for one more pick; a point over the bare ground stays the answer.
 * Read positions from the depth buffer before calling it: the second pick
 * leaves the depth of the scene without the points.
 *
 * @param {Cesium.Scene} scene The scene.
 * @param {Cesium.Cartesian2} position The window position clicked.
 * @param {*} top What `scene.pick` returned there.
 * @returns {Cesium.Cesium3DTileFeature|undefined} The feature meant.
 */
function featureUnderPoint(scene, position, top) {
  if (
    !(top instanceof Cesium.Cesium3DTileFeature) ||
    describePick(top).kind !== "point"
  ) {
    return undefined;
  }
  const cloud = top.tileset;
  cloud.show = false;
  try {
    const under = scene.pick(position);
    const kind = describePick(under).kind;
    const ids = kind ? (under.getPropertyIds?.() ?? []) : [];
    const meant =
      kind === "building" ||
      (kind === "feature" && OVER_POINTS.some((name) => ids.includes(name)));
    return meant ? under : undefined;
  } finally {
    cloud.show = true;
  }
}

function table(rows) {
  const element = document.createElement("table");
  element.className = "rs3d-attributes";
  const body = element.createTBody();
  for (const { name, label, value, unit } of rows) {
    const row = body.insertRow();
    row.dataset.name = name;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = label;
    const td = row.insertCell();
    td.textContent = unit && value !== "—" ? `${value} ${unit}` : value;
    row.prepend(th);
  }
  return element;
}

/**
 * Mount the inspector.
 *
 * @param {object} options
 * @param {Cesium.CesiumWidget} options.viewer The viewer whose scene is picked.
 * @param {HTMLElement} options.container Element the panel is appended to.
 * @param {string} [options.featuresUrl] The area's `features_url`; without
 *   it buildings get no download link.
 * @returns {{ setEnabled: (enabled: boolean) => void, destroy: () => void }}
 *   Pause or resume picking (pausing closes the panel); remove the handler,
 *   highlight and DOM.
 */
export function createInspector({ viewer, container, featuresUrl }) {
  if (!viewer || !container) {
    throw new Error("createInspector needs a viewer and a container.");
  }
  const handler = new Cesium.ScreenSpaceEventHandler(viewer.scene.canvas);
  const aborter = new AbortController();
  let buildings; // Promise<Map<id, Feature>>, fetched on the first building.
  let section;
  let highlighted; // { feature, colour }
  let hovered; // { feature, colour }
  let moveAt; // the latest mouse position, picked once per frame
  let downloadUrl;
  let clickCount = 0;
  let enabled = true;

  const buildingIndex = () => {
    if (!buildings && featuresUrl) {
      buildings = getFeatures(
        featuresUrl,
        { class: "building" },
        { signal: aborter.signal },
      ).then((collection) => {
        const byId = new Map();
        for (const feature of collection.features ?? []) {
          const id = feature.properties?.building_id;
          if (id !== undefined && id !== null) {
            byId.set(Number(id), feature);
          }
        }
        return byId;
      });
      buildings.catch(() => {
        buildings = undefined; // Retry on the next pick.
      });
    }
    return buildings;
  };

  const unhighlight = () => {
    if (highlighted) {
      try {
        highlighted.feature.color = highlighted.colour;
      } catch {
        // The tile was unloaded meanwhile: nothing left to restore.
      }
      highlighted = undefined;
    }
  };

  const unhover = () => {
    if (hovered) {
      try {
        // Only undo our own colour: a click may have made it the selection meanwhile.
        if (Cesium.Color.equals(hovered.feature.color, HOVER)) {
          hovered.feature.color = hovered.colour;
        }
      } catch {
        // The tile was unloaded meanwhile: nothing left to restore.
      }
      hovered = undefined;
    }
    delete viewer.container.dataset.hover;
    viewer.canvas.style.cursor = "";
  };

  const hover = (position) => {
    const picked = viewer.scene.pick(position);
    const result =
      picked instanceof Cesium.Cesium3DTileFeature
        ? describePick(picked)
        : { kind: null };
    const feature = result.kind && result.kind !== "point" ? picked : undefined;
    if (feature === hovered?.feature) {
      return;
    }
    unhover();
    if (feature) {
      viewer.canvas.style.cursor = "pointer";
      viewer.container.dataset.hover = `${result.kind}:${result.id ?? ""}`;
      if (feature !== highlighted?.feature) {
        hovered = { feature, colour: Cesium.Color.clone(feature.color) };
        feature.color = HOVER;
      }
    }
    viewer.scene.requestRender();
  };

  const clearPanel = () => {
    section?.destroy();
    section = undefined;
    if (downloadUrl) {
      URL.revokeObjectURL(downloadUrl);
      downloadUrl = undefined;
    }
  };

  const clear = () => {
    unhighlight();
    clearPanel();
    viewer.scene.requestRender();
  };

  const addDownload = async (body, id, click) => {
    const note = document.createElement("p");
    note.className = "rs3d-download";
    note.textContent = "Looking up the database feature…";
    body.append(note);
    let feature;
    try {
      feature = (await buildingIndex())?.get(id);
    } catch (error) {
      if (click === clickCount) {
        note.textContent = "Could not load the database features.";
        console.warn("rs3d: could not load building features", error);
      }
      return;
    }
    if (click !== clickCount) {
      return;
    }
    if (!feature) {
      note.textContent = "No database feature for this building.";
      return;
    }
    const blob = new Blob([JSON.stringify(feature, null, 2)], {
      type: "application/geo+json",
    });
    downloadUrl = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = downloadUrl;
    link.download = `building-${id}.geojson`;
    link.textContent = "Download as GeoJSON";
    note.replaceChildren(link);
  };

  /**
   * Fly to a clicked feature: a sphere around the clicked spot, sized by the
   * feature (its footprint area when it has one), seen from above at 35°.
   */
  const zoomTo = (world, size) => {
    const radius = Math.max(8, size);
    viewer.camera.flyToBoundingSphere(new Cesium.BoundingSphere(world, radius), {
      offset: new Cesium.HeadingPitchRange(
        viewer.camera.heading,
        Cesium.Math.toRadians(-35),
        radius * 4,
      ),
      duration: 1.2,
    });
  };

  const show = (result, where, zoom) => {
    clearPanel();
    section = createSection(result.title);
    const { element, body } = section;
    element.id = "inspector";
    element.dataset.kind = result.kind;
    element.dataset.featureId = String(result.id ?? "");
    if (where) {
      element.dataset.lon = where.lon.toFixed(8);
      element.dataset.lat = where.lat.toFixed(8);
      element.dataset.height = where.height.toFixed(3);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "rs3d-close";
    close.title = "Close";
    close.setAttribute("aria-label", "Close the inspector");
    close.textContent = "×";
    close.addEventListener("click", clear);
    element.prepend(close);
    body.append(table(result.rows));
    if (zoom) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.action = "zoom-to";
      button.textContent = "Zoom to";
      button.addEventListener("click", zoom);
      body.append(button);
    }
    container.append(element);
    if (result.kind === "building" && result.id !== null) {
      addDownload(body, result.id, clickCount);
    }
  };

  handler.setInputAction(({ endPosition }) => {
    if (!enabled) {
      return;
    }
    const first = moveAt === undefined;
    moveAt = Cesium.Cartesian2.clone(endPosition, moveAt);
    if (first) {
      requestAnimationFrame(() => {
        const at = moveAt;
        moveAt = undefined;
        if (enabled && at) {
          hover(at);
        }
      });
    }
  }, Cesium.ScreenSpaceEventType.MOUSE_MOVE);

  handler.setInputAction(({ position }) => {
    if (!enabled) {
      return;
    }
    unhover(); // the selection must keep the feature's own colour, not the hover colour
    clickCount += 1;
    const top = viewer.scene.pick(position);
    const world = pickPositionExact(viewer.scene, position);
    const where =
      top instanceof Cesium.Cesium3DTileFeature
        ? dataPosition(world, top.tileset)
        : undefined;
    const picked = featureUnderPoint(viewer.scene, position, top) ?? top;
    const result = describePick(picked, { height: where?.height });
    unhighlight();
    if (result.kind === null) {
      clear();
      return;
    }
    if (result.kind === "building" || result.kind === "point") {
      highlighted = {
        feature: picked,
        colour: Cesium.Color.clone(picked.color),
      };
      picked.color = HIGHLIGHT;
    }
    const area = Number(picked?.getProperty?.("area_m2"));
    const zoom = Cesium.defined(world)
      ? () => zoomTo(world, Number.isFinite(area) && area > 0 ? Math.sqrt(area) : 15)
      : undefined;
    show(result, result.kind === "point" ? where : undefined, zoom);
    viewer.scene.requestRender();
  }, Cesium.ScreenSpaceEventType.LEFT_CLICK);

  return {
    setEnabled(value) {
      enabled = Boolean(value);
      if (!enabled) {
        clickCount += 1;
        unhover();
        clear();
      }
    },
    destroy() {
      aborter.abort();
      handler.destroy();
      unhover();
      clear();
    },
  };
}
