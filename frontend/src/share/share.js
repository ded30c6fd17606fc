/**
 * Share and export: keep the camera, the layer panel (toggles, opacity,
 * sub-classes, point classes, point colours and size), filter, slice,
 * section line and clip polygon in the URL hash (opening that URL restores
 * them), copy the link, and save the current view as a PNG.
 */
import { createButton, createDisclosure } from "../ui/controls.js";
import { cameraState, setCamera } from "../viewer/camera.js";
import { Cesium } from "../viewer/cesium.js";
import { decodeState, encodeState } from "./shareModel.js";

const WRITE_DELAY_MS = 250;

/**
 * Render the scene and save the canvas as a PNG download, at full
 * resolution whatever the Display tool's setting (the picture is drawn once
 * at full size, then the viewer goes back to its resolution).
 *
 * @param {Cesium.CesiumWidget} viewer The viewer.
 * @param {string} fileName Download name.
 * @returns {Promise<Blob>} The PNG.
 */
export function saveScreenshot(viewer, fileName) {
  const scene = viewer.scene;
  const scale = viewer.resolutionScale;
  if (scale !== 1) {
    viewer.resolutionScale = 1;
    viewer.resize();
  }
  return new Promise((resolve, reject) => {
    // The drawing buffer only holds the picture until the frame is shown:
    // copy it synchronously right after a fresh render (toBlob may read it
    // too late and get a blank image).
    const remove = scene.postRender.addEventListener(() => {
      remove();
      let dataUrl;
      try {
        dataUrl = scene.canvas.toDataURL("image/png");
      } catch (error) {
        reject(error);
        return;
      } finally {
        if (scale !== 1) {
          viewer.resolutionScale = scale;
          viewer.resize();
          scene.requestRender();
        }
      }
      fetch(dataUrl)
        .then((response) => response.blob())
        .then((blob) => {
          const url = URL.createObjectURL(blob);
          const link = document.createElement("a");
          link.href = url;
          link.download = fileName;
          document.body.append(link);
          link.click();
          link.remove();
          setTimeout(() => URL.revokeObjectURL(url), 10_000);
          resolve(blob);
        }, reject);
    });
    scene.requestRender();
  });
}

/**
 * Mount the share tool and restore the state in the page's URL hash.
 *
 * @param {object} options
 * @param {Cesium.CesiumWidget} options.viewer The viewer.
 * @param {HTMLElement} options.container Element the section is added to.
 * @param {{ getState: () => object, setState: (s: object) => void }}
 *   [options.layers] The layer panel (see ui/layerPanel.js PanelState).
 * @param {{ getState: () => object, setState: (s: object) => void }}
 *   [options.filter] The filter tool.
 * @param {{ getState: () => object, setState: (s: object) => void }}
 *   [options.slice] The slice tool.
 * @param {string} [options.fileName="rs3d-view.png"] Screenshot file name.
 * @returns {{ restore: () => boolean, update: () => void, link: () => string,
 *   destroy: () => void }} Restore from the hash (true when it held a
 *   camera), rewrite the hash now, the current link, and the remover.
 */
export function createShareTool(options) {
  const { viewer, container, layers, filter, slice } = options;
  if (!viewer || !container) {
    throw new Error("createShareTool needs a viewer and a container.");
  }
  const fileName = options.fileName ?? "rs3d-view.png";
  const parts = [];
  let timer;
  let written = "";

  const section = createDisclosure("Share and export", { name: "share" });
  parts.push(section);
  container.append(section.element);
  const field = document.createElement("input");
  field.type = "text";
  field.readOnly = true;
  field.className = "rs3d-link";
  field.setAttribute("aria-label", "Link to this view");
  const note = document.createElement("p");
  note.className = "rs3d-hint";
  note.textContent =
    "The link keeps the camera, layers (opacity, sub-classes, point " +
    "classes and colours too), filter, slice, section and polygon.";
  const buttons = document.createElement("div");
  buttons.className = "rs3d-buttons";
  section.body.append(field, note, buttons);
  const add = (item) => {
    parts.push(item);
    buttons.append(item.element);
  };

  const collect = () => {
    const filterState = filter?.getState();
    const sliceState = slice?.getState();
    return {
      camera: cameraState(viewer.camera),
      ...layers?.getState(),
      condition: filterState?.condition ?? null,
      action: filterState?.action,
      colouring: filterState?.colouring,
      slice: sliceState?.enabled ? sliceState.height : null,
      section: sliceState?.section ?? null,
      polygon: sliceState?.polygon ?? null,
    };
  };

  const link = () => {
    const url = new URL(window.location.href);
    url.hash = written;
    return url.href;
  };

  const update = () => {
    clearTimeout(timer);
    written = encodeState(collect());
    window.history.replaceState(window.history.state, "", `#${written}`);
    field.value = link();
  };
  const scheduleUpdate = () => {
    clearTimeout(timer);
    timer = setTimeout(update, WRITE_DELAY_MS);
  };

  const restore = () => {
    const hash = window.location.hash.replace(/^#/, "");
    const state = decodeState(hash);
    // Like the section and polygon, panel settings the link leaves out go
    // back to how they started (visibility is only set where given).
    layers?.setState({
      layers: state.layers,
      opacity: state.opacity ?? {},
      hidden: state.hidden ?? {},
      classes: state.classes ?? {},
      points: state.points ?? {},
    });
    if (filter && (state.condition || state.colouring)) {
      filter.setState({
        condition: state.condition ?? null,
        action: state.action ?? "colour",
        colouring: state.colouring ?? "none",
      });
    }
    if (slice && state.slice !== undefined) {
      slice.setState({ enabled: true, height: state.slice });
    }
    if (slice) {
      slice.setState({
        section: state.section ?? null,
        polygon: state.polygon ?? null,
      });
    }
    if (state.camera) {
      setCamera(viewer.camera, state.camera);
    }
    viewer.scene.requestRender();
    written = hash;
    field.value = link();
    return Boolean(state.camera);
  };

  const onHashChange = () => {
    if (window.location.hash.replace(/^#/, "") !== written) {
      restore();
    }
  };
  window.addEventListener("hashchange", onHashChange);
  const removeMoveEnd = viewer.camera.moveEnd.addEventListener(scheduleUpdate);

  add(
    createButton({
      label: "Copy link",
      name: "copy-link",
      onClick: async () => {
        update();
        field.select();
        try {
          await navigator.clipboard.writeText(field.value);
          note.textContent = "Link copied.";
        } catch {
          note.textContent = "Select the link above and copy it.";
        }
      },
    }),
  );
  add(
    createButton({
      label: "Save screenshot (PNG)",
      name: "screenshot",
      onClick: () => {
        saveScreenshot(viewer, fileName).catch((error) => {
          note.textContent = error.message;
        });
      },
    }),
  );

  return {
    restore,
    update: scheduleUpdate,
    link,
    destroy() {
      clearTimeout(timer);
      removeMoveEnd();
      window.removeEventListener("hashchange", onHashChange);
      for (const part of parts.reverse()) {
        part.destroy();
      }
    },
  };
}
