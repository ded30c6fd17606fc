/**
 * Measure on the scene: while the section is open, clicks pick points on
 * the buildings, the point cloud or the ground (scene.pickPosition) and the
 * panel shows the distance, height difference or area in metres / m².
 */
import {
  createButton,
  createDisclosure,
  createSelect,
} from "../ui/controls.js";
import { Cesium } from "../viewer/cesium.js";
import { pickPositionExact } from "../viewer/renderScale.js";
import { MODES, addPoint, measure } from "./measureModel.js";

const COLOUR = Cesium.Color.fromCssColorString("#00e5ff");
const FILL = COLOUR.withAlpha(0.25);

/**
 * The scene position under a window position: the depth buffer first (3D
 * tiles and globe), else the globe along the pick ray.
 *
 * @param {Cesium.Scene} scene The scene.
 * @param {Cesium.Cartesian2} position Window position, pixels.
 * @returns {Cesium.Cartesian3|undefined} The ECEF position, if any.
 */
export function scenePosition(scene, position) {
  const picked = pickPositionExact(scene, position);
  if (picked) {
    return picked;
  }
  const ray = scene.camera.getPickRay(position);
  return ray ? scene.globe.pick(ray, scene) : undefined;
}

/**
 * Mount the measure tool.
 *
 * @param {object} options
 * @param {Cesium.CesiumWidget} options.viewer The viewer.
 * @param {HTMLElement} options.container Element the section is added to.
 * @param {(active: boolean) => void} [options.onActiveChange] Called when
 *   measuring starts or stops (the page pauses click-to-inspect).
 * @returns {{ addPoint: (point: Cesium.Cartesian3) => void,
 *   clear: () => void, result: () => object, destroy: () => void }} The tool.
 */
export function createMeasureTool({ viewer, container, onActiveChange }) {
  if (!viewer || !container) {
    throw new Error("createMeasureTool needs a viewer and a container.");
  }
  const scene = viewer.scene;
  const entities = viewer.entities;
  const handler = new Cesium.ScreenSpaceEventHandler(scene.canvas);
  const parts = [];
  let mode = "distance";
  let points = [];
  let drawn = [];

  const section = createDisclosure("Measure", { name: "measure" });
  parts.push(section);
  container.append(section.element);
  const add = (item, parent = section.body) => {
    parts.push(item);
    parent.append(item.element);
    return item;
  };
  const modeSelect = add(
    createSelect({
      label: "Measure",
      options: Object.entries(MODES).map(([value, spec]) => ({
        value,
        label: `${spec.label} (${spec.unit})`,
      })),
      value: mode,
      onChange: (value) => {
        mode = value;
        clear();
      },
    }),
  );
  modeSelect.element.dataset.field = "measure-mode";
  const hint = document.createElement("p");
  hint.className = "rs3d-hint";
  hint.textContent =
    "While this section is open, click the scene to add points.";
  const output = document.createElement("output");
  output.className = "rs3d-measure-result";
  section.body.append(hint, output);
  const buttons = document.createElement("div");
  buttons.className = "rs3d-buttons";
  section.body.append(buttons);
  add(
    createButton({
      label: "Clear",
      name: "measure-clear",
      onClick: () => clear(),
    }),
    buttons,
  );

  const removeDrawn = () => {
    for (const entity of drawn) {
      entities.remove(entity);
    }
    drawn = [];
  };

  const draw = (result) => {
    removeDrawn();
    for (const position of points) {
      drawn.push(
        entities.add({
          position,
          point: {
            pixelSize: 8,
            color: COLOUR,
            outlineColor: Cesium.Color.BLACK,
            outlineWidth: 1,
            disableDepthTestDistance: Number.POSITIVE_INFINITY,
          },
        }),
      );
    }
    if (points.length >= 2) {
      const closed = mode === "area" && points.length >= 3;
      drawn.push(
        entities.add({
          polyline: {
            positions: closed ? [...points, points[0]] : [...points],
            width: 2,
            material: COLOUR,
            depthFailMaterial: COLOUR,
          },
        }),
      );
      if (closed) {
        drawn.push(
          entities.add({
            polygon: {
              hierarchy: [...points],
              perPositionHeight: true,
              material: FILL,
            },
          }),
        );
      }
    }
    if (result.value !== null) {
      drawn.push(
        entities.add({
          position: points[points.length - 1],
          label: {
            text: result.text,
            font: "13px system-ui, sans-serif",
            fillColor: Cesium.Color.WHITE,
            showBackground: true,
            backgroundColor: Cesium.Color.fromCssColorString(
              "rgba(24, 30, 38, 0.85)",
            ),
            pixelOffset: new Cesium.Cartesian2(0, -18),
            disableDepthTestDistance: Number.POSITIVE_INFINITY,
          },
        }),
      );
    }
  };

  const update = () => {
    const result = measure(mode, points);
    output.textContent = points.length === 0 ? "" : result.text;
    output.dataset.value = result.value === null ? "" : String(result.value);
    output.dataset.points = String(points.length);
    draw(result);
    scene.requestRender();
  };

  function clear() {
    points = [];
    update();
  }

  const pick = (point) => {
    points = addPoint(mode, points, point);
    update();
  };

  handler.setInputAction(({ position }) => {
    if (!section.element.open) {
      return;
    }
    const point = scenePosition(scene, position);
    if (point) {
      pick(point);
    }
  }, Cesium.ScreenSpaceEventType.LEFT_CLICK);

  const onToggle = () => {
    onActiveChange?.(section.element.open);
  };
  section.element.addEventListener("toggle", onToggle);

  return {
    addPoint: pick,
    clear,
    result() {
      return {
        ...measure(mode, points),
        points: points.map((point) => Cesium.Cartesian3.pack(point, [])),
      };
    },
    destroy() {
      handler.destroy();
      section.element.removeEventListener("toggle", onToggle);
      removeDrawn();
      for (const part of parts.reverse()) {
        part.destroy();
      }
      scene.requestRender();
    },
  };
}
