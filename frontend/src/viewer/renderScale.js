/**
 * The render resolution: how many pixels the 3D canvas draws, as a share of
 * its size on screen (Cesium's `resolutionScale`).
 *
 * Without a graphics card the browser draws WebGL on the CPU (SwiftShader,
 * llvmpipe), where every frame costs in proportion to its pixels: there the
 * viewer starts at half resolution (a quarter of the pixels; measured here a
 * quarter less time per frame-heavy task), elsewhere at full. The planner can
 * change it in the Display tool; the choice is this device's, kept in
 * localStorage, and never travels in a shared link (the recipient's machine
 * is not the sender's).
 */
import { createDisclosure, createSelect } from "../ui/controls.js";

export const RENDER_SCALES = Object.freeze([
  { value: "1", label: "Full" },
  { value: "0.75", label: "Three quarters" },
  { value: "0.5", label: "Half" },
]);

const STORAGE_KEY = "rs3d.renderScale";
const SOFTWARE = /swiftshader|llvmpipe|softpipe|software|basic render/i;

/**
 * The WebGL renderer's name as the browser reports it ("" if it will not say).
 *
 * @param {Document} doc The page's document (a throwaway canvas is made in it).
 * @returns {string} The renderer string.
 */
export function rendererName(doc = document) {
  const gl = doc.createElement("canvas").getContext("webgl");
  if (!gl) {
    return "";
  }
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const name = String(
    gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? "",
  );
  gl.getExtension("WEBGL_lose_context")?.loseContext();
  return name;
}

/**
 * Whether a renderer name is a software rasteriser.
 *
 * @param {string} name See rendererName.
 * @returns {boolean} True for SwiftShader, llvmpipe and their kin.
 */
export function isSoftwareRenderer(name) {
  return SOFTWARE.test(name);
}

/**
 * The scale to start with: the stored choice if it is one of RENDER_SCALES,
 * else half on a software renderer and full elsewhere.
 *
 * @param {string|null} stored What localStorage holds (null if nothing).
 * @param {boolean} software See isSoftwareRenderer.
 * @returns {number} The scale.
 */
export function initialScale(stored, software) {
  if (RENDER_SCALES.some(({ value }) => value === stored)) {
    return Number(stored);
  }
  return software ? 0.5 : 1;
}

function storage() {
  try {
    return window.localStorage;
  } catch {
    return undefined; // storage disabled (private mode, sandboxed frame)
  }
}

/** The viewer of each scene whose resolution this module set (for pickPositionExact). */
const viewers = new WeakMap();

/**
 * `scene.pickPosition` as at full resolution. Below it, Cesium's depth
 * picking misplaces what 3D tiles draw (measured here: a clicked LiDAR point
 * came back 27.7 m away, on the ground behind it, at half resolution, and
 * 1.2 m away at full), so the scene draws one frame at full resolution for
 * the pick and then goes back: a click costs one more frame, the position is
 * right.
 *
 * @param {Cesium.Scene} scene The scene.
 * @param {Cesium.Cartesian2} position Window position, CSS pixels.
 * @returns {Cesium.Cartesian3|undefined} The picked position, if any.
 */
export function pickPositionExact(scene, position) {
  if (!scene.pickPositionSupported) {
    return undefined;
  }
  const viewer = viewers.get(scene);
  const scale = viewer?.resolutionScale ?? 1;
  if (scale === 1) {
    return scene.pickPosition(position);
  }
  viewer.resolutionScale = 1;
  viewer.resize();
  viewer.render();
  const picked = scene.pickPosition(position);
  viewer.resolutionScale = scale;
  viewer.resize();
  scene.requestRender();
  return picked;
}

/**
 * Set the viewer's starting resolution (call before the first frame).
 *
 * @param {Cesium.CesiumWidget} viewer The viewer.
 * @returns {{ scale: number, software: boolean }} What was chosen and why.
 */
export function applyRenderScale(viewer) {
  const software = isSoftwareRenderer(rendererName());
  const scale = initialScale(storage()?.getItem(STORAGE_KEY) ?? null, software);
  viewer.resolutionScale = scale;
  viewers.set(viewer.scene, viewer);
  return { scale, software };
}

/**
 * The Display tool: a resolution select that applies at once and is kept for
 * this device.
 *
 * @param {{ viewer: Cesium.CesiumWidget, container: HTMLElement,
 *   software: boolean }} options The viewer, the panel, and whether
 *   rendering runs in software (said under the select).
 * @returns {{ destroy: () => void }} Its remover.
 */
export function createDisplayTool({ viewer, container, software }) {
  const section = createDisclosure("Display", { name: "display" });
  container.append(section.element);
  const select = createSelect({
    label: "Resolution",
    options: RENDER_SCALES,
    value: String(viewer.resolutionScale),
    onChange: (value) => {
      viewer.resolutionScale = Number(value);
      viewer.scene.requestRender();
      try {
        storage()?.setItem(STORAGE_KEY, value);
      } catch {
        // full or disabled storage: the choice holds for this page only
      }
    },
  });
  select.element.dataset.field = "render-scale";
  section.body.append(select.element);
  const hint = document.createElement("p");
  hint.className = "rs3d-hint";
  hint.textContent = software
    ? "This browser draws 3D without a graphics card, so the viewer starts at half resolution: raise it for sharper pictures, at the cost of speed."
    : "Lower it if the view is slow on this device.";
  section.body.append(hint);
  return {
    destroy() {
      select.destroy();
      section.destroy();
    },
  };
}
