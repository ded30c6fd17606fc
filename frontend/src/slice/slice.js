/**
 * Slice: one clipping plane collection per 3D layer, in the area's ground
 * frame. A horizontal plane at a chosen height cuts away everything above
 * it, a vertical section along a drawn line cuts away one side (or keeps a
 * slab), and all of them apply together; the cut edges are outlined. A
 * drawn polygon keeps only its inside or outside (see polygonClip.js).
 */
import {
  createCheckbox,
  createDisclosure,
  createRange,
} from "../ui/controls.js";
import { Cesium } from "../viewer/cesium.js";
import { createPointPicker } from "./pickPoints.js";
import { createPolygonControls } from "./polygonClip.js";
import { createSectionControls } from "./section.js";
import { NEUTRAL_PLANE } from "./sectionModel.js";

/** Outline drawn where the plane cuts a building. */
const EDGE_COLOUR = Cesium.Color.fromCssColorString("#ffd54f");
const EDGE_WIDTH = 2;

/** Default slider range and start, metres above the area's ground. */
export const DEFAULT_MAX_HEIGHT = 60;
const DEFAULT_HEIGHT = 10;
/** Planes per collection: the horizontal slice, then the section's two. */
const PLANE_COUNT = 3;

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
 * @param {Cesium.CesiumWidget} options.viewer The viewer.
 * @param {HTMLElement} options.container Element the section is added to.
 * @param {Cesium.Cesium3DTileset[]} options.tilesets The layers to cut.
 * @param {number[]} options.bbox The area's [west, south, east, north].
 * @param {number} [options.maxHeight] Slider maximum, metres.
 * @param {() => void} [options.onChange] Called when the slice changes.
 * @param {(active: boolean) => void} [options.onActiveChange] Called when
 *   drawing a section line or polygon starts or stops (the page pauses
 *   click-to-inspect).
 * @returns {{ getState: () => { enabled: boolean, height: number,
 *   section: object|null, polygon: object|null },
 *   setState: (state: { enabled?: boolean, height?: number,
 *   section?: object|null, polygon?: object|null }) => void,
 *   setMaxHeight: (metres: number) => void,
 *   planes: () => object[], polygons: () => object[],
 *   destroy: () => void }} The tool; section and polygon are
 *   sectionModel.js's SectionState and PolygonState.
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
  let sectionPlanes = [];
  let removeExtraFrame;

  // A fixed number of planes (unused ones neutral) keeps the shaders as
  // they are when the section changes. unionClippingRegions: a point is cut
  // when it is outside ANY plane, so the slice and the section both apply.
  const collections = tilesets.map((tileset) => {
    const planes = Array.from(
      { length: PLANE_COUNT },
      () =>
        new Cesium.ClippingPlane(
          Cesium.Cartesian3.fromArray(NEUTRAL_PLANE.normal),
          NEUTRAL_PLANE.distance,
        ),
    );
    const collection = new Cesium.ClippingPlaneCollection({
      planes,
      unionClippingRegions: true,
      edgeColor: EDGE_COLOUR,
      edgeWidth: EDGE_WIDTH,
      enabled: false,
    });
    tileset.clippingPlanes = collection;
    return { tileset, collection };
  });
  const active = () => state.enabled || sectionPlanes.length > 0;

  // The tilesets' origin can change (model matrix, first frame): keep the
  // planes in the ground frame before every render.
  const removePreRender = scene.preRender.addEventListener(() => {
    if (!active()) {
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

  const setPlane = (plane, { normal, distance }) => {
    Cesium.Cartesian3.fromArray(normal, 0, plane.normal);
    plane.distance = distance;
  };

  const apply = () => {
    const horizontal = state.enabled
      ? { normal: [0, 0, -1], distance: state.height }
      : NEUTRAL_PLANE;
    for (const { collection } of collections) {
      collection.enabled = active();
      setPlane(collection.get(0), horizontal);
      for (let i = 1; i < PLANE_COUNT; i += 1) {
        setPlane(collection.get(i), sectionPlanes[i - 1] ?? NEUTRAL_PLANE);
      }
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
  const picker = createPointPicker({
    viewer,
    onActiveChange: options.onActiveChange,
  });
  const lineCut = createSectionControls({
    viewer,
    container: section.body,
    frame,
    picker,
    onPlanes: (planes) => {
      sectionPlanes = planes;
      apply();
    },
    onChange,
  });
  const polygonClip = createPolygonControls({
    viewer,
    container: section.body,
    tilesets,
    frame,
    picker,
    onChange,
  });
  apply();

  return {
    getState: () => ({
      ...state,
      section: lineCut.getState(),
      polygon: polygonClip.getState(),
    }),
    setState(next) {
      if (next.section !== undefined) {
        lineCut.setState(next.section);
      }
      if (next.polygon !== undefined) {
        polygonClip.setState(next.polygon);
      }
      if (next.section || next.polygon) {
        section.element.open = true;
      }
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
        enabled: collection.enabled && state.enabled,
        distance: collection.get(0).distance,
        normal: Cesium.Cartesian3.pack(collection.get(0).normal, []),
        edgeWidth: collection.edgeWidth,
        union: collection.unionClippingRegions,
        section: collection.enabled
          ? sectionPlanes.map((_, i) => ({
              normal: Cesium.Cartesian3.pack(collection.get(i + 1).normal, []),
              distance: collection.get(i + 1).distance,
            }))
          : [],
      })),
    polygons: () => polygonClip.polygons(),
    destroy() {
      picker.destroy();
      lineCut.destroy();
      polygonClip.destroy();
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
