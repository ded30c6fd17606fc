/**
 * Section along a line: the user clicks two points on the scene; a vertical
 * plane through them cuts away one side of every 3D layer, or two parallel
 * planes keep a slab around the line. The line is drawn on the ground.
 */
import {
  createButton,
  createCheckbox,
  createNumberInput,
  createSubtool,
} from "../ui/controls.js";
import { Cesium } from "../viewer/cesium.js";
import {
  liftedPoint,
  normaliseSection,
  sectionPlanes,
  toGround,
  toLonLat,
} from "./sectionModel.js";
import { createDrawing } from "./pickPoints.js";

const LINE_COLOUR = Cesium.Color.fromCssColorString("#ff4081");

/**
 * Mount the section controls.
 *
 * @param {object} options
 * @param {Cesium.CesiumWidget} options.viewer The viewer.
 * @param {HTMLElement} options.container Element the controls go into.
 * @param {Cesium.Matrix4} options.frame The area's ground frame.
 * @param {ReturnType<import("./pickPoints.js").createPointPicker>}
 *   options.picker The shared point picker.
 * @param {(planes: import("./sectionModel.js").PlaneSpec[]) => void}
 *   options.onPlanes Called with the section's planes ([] when off).
 * @param {() => void} [options.onChange] Called when the section changes.
 * @returns {{ getState: () => import("./sectionModel.js").SectionState|null,
 *   setState: (state: object|null) => void, destroy: () => void }} The part.
 */
export function createSectionControls(options) {
  const { viewer, container, frame, picker, onPlanes } = options;
  const onChange = options.onChange ?? (() => {});
  const scene = viewer.scene;
  let state = null;
  let drawn = [];
  const drawing = createDrawing({
    picker,
    toPoint: toLonLat,
    isComplete: (points) => points.length === 2,
    finishesItself: true,
    onComplete: (points) => {
      setSection({
        points,
        flip: flip.input.checked,
        width: Number(width.input.value) || 0,
      });
      onChange();
    },
    onUpdate: () => {
      describe();
      draw();
    },
  });

  const { element, hint, add, parts } = createSubtool(container, {
    title: "Section along a line",
    part: "section",
  });
  const buttons = document.createElement("div");
  buttons.className = "rs3d-buttons";
  element.append(buttons);
  add(
    createButton({
      label: "Draw line",
      name: "section-draw",
      title: "Click two points on the scene",
      onClick: () => drawing.start(),
    }),
    buttons,
  );
  add(
    createButton({
      label: "Clear",
      name: "section-clear",
      onClick: () => {
        setSection(null);
        onChange();
      },
    }),
    buttons,
  );
  const flip = add(
    createCheckbox({
      label: "Flip side",
      checked: false,
      onChange: (checked) => {
        if (state) {
          setSection({ ...state, flip: checked });
          onChange();
        }
      },
    }),
  );
  flip.element.dataset.field = "section-flip";
  const width = add(
    createNumberInput({
      label: "Keep a slab of",
      step: 1,
      unit: "m",
      onChange: (value) => {
        if (state) {
          setSection({ ...state, width: Number.isFinite(value) ? value : 0 });
          onChange();
        }
      },
    }),
  );
  width.element.dataset.field = "section-width";
  width.input.min = "0";
  width.input.placeholder = "whole side";
  element.append(hint);

  const ground = (lonLat) => liftedPoint(frame, lonLat);

  const removeDrawn = () => {
    for (const entity of drawn) {
      viewer.entities.remove(entity);
    }
    drawn = [];
  };

  const draw = () => {
    removeDrawn();
    const ends = drawing.active() ? drawing.points() : (state?.points ?? []);
    for (const end of ends) {
      drawn.push(
        viewer.entities.add({
          position: ground(end),
          point: {
            pixelSize: 8,
            color: LINE_COLOUR,
            outlineColor: Cesium.Color.BLACK,
            outlineWidth: 1,
            disableDepthTestDistance: Number.POSITIVE_INFINITY,
          },
        }),
      );
    }
    if (ends.length === 2) {
      drawn.push(
        viewer.entities.add({
          polyline: {
            positions: ends.map(ground),
            width: 3,
            material: LINE_COLOUR,
            depthFailMaterial: LINE_COLOUR.withAlpha(0.5),
          },
        }),
      );
    }
    scene.requestRender();
  };

  const describe = () => {
    if (drawing.active()) {
      const left = 2 - drawing.points().length;
      element.dataset.state = "drawing";
      hint.textContent = `Click ${left} point${left === 1 ? "" : "s"} on the scene.`;
    } else if (state) {
      element.dataset.state = "on";
      hint.textContent = state.width
        ? `Keeps a ${state.width} m slab around the line.`
        : "Cuts away one side of the line; cut edges in yellow.";
    } else {
      element.dataset.state = "off";
      hint.textContent = "Draw a line to cut the layers vertically along it.";
    }
  };

  function setSection(next) {
    state = normaliseSection(next);
    flip.input.checked = Boolean(state?.flip);
    width.input.value = state?.width ? String(state.width) : "";
    const planes = state
      ? sectionPlanes(
          toGround(frame, state.points[0]),
          toGround(frame, state.points[1]),
          state,
        )
      : [];
    if (state && planes.length === 0) {
      state = null;
    }
    element.dataset.section = state ? JSON.stringify(state) : "";
    describe();
    draw();
    onPlanes(planes);
  }

  describe();

  return {
    getState: () => (state ? structuredClone(state) : null),
    setState: (next) => setSection(next),
    destroy() {
      removeDrawn();
      for (const part of parts.reverse()) {
        part.destroy();
      }
      element.remove();
    },
  };
}
