/**
 * Horizontal slice: one clipping plane per 3D layer at a chosen height
 * above the area's ground; everything above it is cut away and the cut
 * edges of the buildings are outlined.
 */
import {
  createCheckbox,
  createDisclosure,
  createRange,
} from "../ui/controls.js";
import { Cesium } from "../viewer/cesium.js";

/** Outline drawn where the plane cuts a building. */
const EDGE_COLOUR = Cesium.Color.fromCssColorString("#ffd54f");
const EDGE_WIDTH = 2;

/** Default slider range and start, metres above the area's ground. */
export const DEFAULT_MAX_HEIGHT = 60;
const DEFAULT_HEIGHT = 10;

/**
 * East-north-up frame at the area centre on the ellipsoid: the tilesets
 * are lowered so that the area's ground lies at height 0 there.
 *
 * @param {number[]} bbox [west, south, east, north] in degrees.
 * @returns {Cesium.Matrix4} The frame.
 */
export function groundFrame(bbox) {
  const [west, south, east, north] = bbox;
  const centre = Cesium.Cartesian3.fromDegrees(
    (west + east) / 2,
    (south + north) / 2,
    0,
  );
  return Cesium.Transforms.eastNorthUpToFixedFrame(centre);
}

/**
 * Clipping-plane model matrix that puts the planes in `frame` for a
 * tileset (Cesium places a tileset's planes relative to its own origin).
 *
 * @param {Cesium.Cesium3DTileset} tileset The clipped tileset.
 * @param {Cesium.Matrix4} frame Where the planes should live.
 * @param {Cesium.Matrix4} [result] Matrix to write to.
 * @returns {Cesium.Matrix4} inverse(tileset origin) × frame.
 */
export function planeMatrix(tileset, frame, result = new Cesium.Matrix4()) {
  // clippingPlanesOriginMatrix is @private in Cesium but the only way to
  // know the frame the tileset's planes are given in.
  const origin = tileset.clippingPlanesOriginMatrix ?? Cesium.Matrix4.IDENTITY;
  const inverse = Cesium.Matrix4.inverseTransformation(
    origin,
    new Cesium.Matrix4(),
  );
  return Cesium.Matrix4.multiply(inverse, frame, result);
}

/**
 * Mount the slice tool.
 *
 * @param {object} options
 * @param {Cesium.Viewer} options.viewer The viewer.
 * @param {HTMLElement} options.container Element the section is added to.
 * @param {Cesium.Cesium3DTileset[]} options.tilesets The layers to cut.
 * @param {number[]} options.bbox The area's [west, south, east, north].
 * @param {number} [options.maxHeight] Slider maximum, metres.
 * @param {() => void} [options.onChange] Called when the slice changes.
 * @returns {{ getState: () => { enabled: boolean, height: number },
 *   setState: (state: { enabled?: boolean, height?: number }) => void,
 *   setMaxHeight: (metres: number) => void,
 *   planes: () => object[], destroy: () => void }} The tool.
 */
export function createSliceTool(options) {
  const { viewer, container, tilesets, bbox } = options;
  if (!viewer || !container || !tilesets || !bbox) {
    throw new Error(
      "createSliceTool needs a viewer, a container, tilesets and a bbox.",
    );
  }
  const onChange = options.onChange ?? (() => {});
  const frame = groundFrame(bbox);
  const scene = viewer.scene;
  const state = { enabled: false, height: DEFAULT_HEIGHT };
  const parts = [];
  let removeExtraFrame;

  const collections = tilesets.map((tileset) => {
    const collection = new Cesium.ClippingPlaneCollection({
      planes: [
        new Cesium.ClippingPlane(new Cesium.Cartesian3(0, 0, -1), state.height),
      ],
      edgeColor: EDGE_COLOUR,
      edgeWidth: EDGE_WIDTH,
      enabled: false,
    });
    tileset.clippingPlanes = collection;
    return { tileset, collection };
  });

  // The tilesets' origin can change (model matrix, first frame): keep the
  // planes in the ground frame before every render.
  const removePreRender = scene.preRender.addEventListener(() => {
    if (!state.enabled) {
      return;
    }
    for (const { tileset, collection } of collections) {
      collection.modelMatrix = planeMatrix(
        tileset,
        frame,
        collection.modelMatrix,
      );
    }
  });

  const apply = () => {
    for (const { collection } of collections) {
      collection.enabled = state.enabled;
      collection.get(0).distance = state.height;
    }
    section.element.dataset.enabled = String(state.enabled);
    section.element.dataset.height = String(state.height);
    // Turning planes on or off rebuilds the models' shaders during a frame
    // that may still draw the old ones: with requestRenderMode, ask for one
    // more frame after it.
    removeExtraFrame ??= scene.postRender.addEventListener(() => {
      removeExtraFrame();
      removeExtraFrame = undefined;
      scene.requestRender();
    });
    scene.requestRender();
  };

  const section = createDisclosure("Slice", { name: "slice" });
  parts.push(section);
  container.append(section.element);
  const add = (item) => {
    parts.push(item);
    section.body.append(item.element);
    return item;
  };
  const toggle = add(
    createCheckbox({
      label: "Cut everything above",
      checked: false,
      onChange: (checked) => {
        state.enabled = checked;
        apply();
        onChange();
      },
    }),
  );
  toggle.element.dataset.field = "slice-enabled";
  const range = add(
    createRange({
      label: "Height",
      min: 0,
      max: options.maxHeight ?? DEFAULT_MAX_HEIGHT,
      step: 0.5,
      value: state.height,
      unit: " m",
      onInput: (value) => {
        state.height = value;
        apply();
        onChange();
      },
    }),
  );
  range.element.dataset.field = "slice-height";
  const hint = document.createElement("p");
  hint.className = "rs3d-hint";
  hint.textContent =
    "Metres above the area's ground. Cut edges are outlined in yellow.";
  section.body.append(hint);
  apply();

  return {
    getState: () => ({ ...state }),
    setState(next) {
      if (next.height !== undefined && Number.isFinite(Number(next.height))) {
        const height = Math.max(0, Number(next.height));
        if (height > Number(range.input.max)) {
          range.input.max = String(Math.ceil(height));
        }
        range.input.value = String(height);
        state.height = Number(range.input.value);
      }
      if (next.enabled !== undefined) {
        state.enabled = Boolean(next.enabled);
        toggle.input.checked = state.enabled;
      }
      range.element.querySelector("output").textContent =
        `${range.input.value} m`;
      if (state.enabled) {
        section.element.open = true;
      }
      apply();
    },
    setMaxHeight(metres) {
      if (Number.isFinite(metres) && metres > 0) {
        range.input.max = String(Math.ceil(Math.max(metres, state.height)));
      }
    },
    planes: () =>
      collections.map(({ collection }) => ({
        enabled: collection.enabled,
        distance: collection.get(0).distance,
        normal: Cesium.Cartesian3.pack(collection.get(0).normal, []),
        edgeWidth: collection.edgeWidth,
      })),
    destroy() {
      removePreRender();
      removeExtraFrame?.();
      for (const { tileset } of collections) {
        tileset.clippingPlanes = undefined;
      }
      for (const part of parts.reverse()) {
        part.destroy();
      }
      scene.requestRender();
    },
  };
}
