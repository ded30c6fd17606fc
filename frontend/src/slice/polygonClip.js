/**
 * Polygon clip: the user clicks the vertices of a polygon on the scene
 * (double-click or Finish closes it); a ClippingPolygonCollection on every
 * 3D layer keeps only the inside or only the outside of it.
 */
import {
  createButton,
  createSelect,
  createSubtool,
} from "../ui/controls.js";
import { Cesium } from "../viewer/cesium.js";
import { createDrawing } from "./pickPoints.js";
import { liftedPoint, normalisePolygon, toLonLat } from "./sectionModel.js";

const OUTLINE = Cesium.Color.fromCssColorString("#7c4dff");
/** Frames rendered after a change: tiles rebuild their shaders, then draw. */
const SETTLE_FRAMES = 3;

/**
 * Mount the polygon clip controls.
 *
 * @param {object} options
 * @param {Cesium.CesiumWidget} options.viewer The viewer.
 * @param {HTMLElement} options.container Element the controls go into.
 * @param {Cesium.Cesium3DTileset[]} options.tilesets The layers to clip.
 * @param {Cesium.Matrix4} options.frame The area's ground frame.
 * @param {ReturnType<import("./pickPoints.js").createPointPicker>}
 *   options.picker The shared point picker.
 * @param {() => void} [options.onChange] Called when the clip changes.
 * @returns {{ getState: () => import("./sectionModel.js").PolygonState|null,
 *   setState: (state: object|null) => void,
 *   polygons: () => object[], destroy: () => void }} The part.
 */
export function createPolygonControls(options) {
  const { viewer, container, tilesets, frame, picker } = options;
  const onChange = options.onChange ?? (() => {});
  const scene = viewer.scene;
  const supported = Cesium.ClippingPolygonCollection.isSupported(scene);
  let state = null;
  let keep = "inside";
  let drawn = [];
  const drawing = createDrawing({
    picker,
    toPoint: toLonLat,
    isComplete: (points) => points.length >= 3,
    onComplete: (points) => {
      setPolygon({ points, keep });
      onChange();
    },
    onUpdate: () => {
      describe();
      draw();
    },
  });
  let removeSettle;
  let collections; // one per tileset, made on first use

  const { element, hint, add, parts } = createSubtool(container, {
    title: "Clip to a polygon",
    part: "polygon",
  });
  const keepSelect = add(
    createSelect({
      label: "Show",
      options: [
        { value: "inside", label: "Inside the polygon" },
        { value: "outside", label: "Outside the polygon" },
      ],
      value: keep,
      onChange: (value) => {
        keep = value;
        if (state) {
          setPolygon({ ...state, keep });
          onChange();
        }
      },
    }),
  );
  keepSelect.element.dataset.field = "polygon-keep";
  const buttons = document.createElement("div");
  buttons.className = "rs3d-buttons";
  element.append(buttons);
  const drawButton = add(
    createButton({
      label: "Draw polygon",
      name: "polygon-draw",
      title: "Click the vertices; double-click or Finish closes it",
      onClick: () => drawing.start(),
    }),
    buttons,
  );
  const finishButton = add(
    createButton({
      label: "Finish",
      name: "polygon-finish",
      onClick: () => drawing.finish(),
    }),
    buttons,
  );
  add(
    createButton({
      label: "Clear",
      name: "polygon-clear",
      onClick: () => {
        picker.stop();
        setPolygon(null);
        onChange();
      },
    }),
    buttons,
  );
  element.append(hint);
  if (!supported) {
    drawButton.element.disabled = true;
    keepSelect.select.disabled = true;
  }

  const lifted = (lonLat) => liftedPoint(frame, lonLat);

  const removeDrawn = () => {
    for (const entity of drawn) {
      viewer.entities.remove(entity);
    }
    drawn = [];
  };

  const draw = () => {
    removeDrawn();
    const vertices = drawing.active() ? drawing.points() : (state?.points ?? []);
    if (drawing.active()) {
      for (const vertex of vertices) {
        drawn.push(
          viewer.entities.add({
            position: lifted(vertex),
            point: {
              pixelSize: 7,
              color: OUTLINE,
              outlineColor: Cesium.Color.WHITE,
              outlineWidth: 1,
              disableDepthTestDistance: Number.POSITIVE_INFINITY,
            },
          }),
        );
      }
    }
    if (vertices.length >= 2) {
      const ring = drawing.active() ? vertices : [...vertices, vertices[0]];
      drawn.push(
        viewer.entities.add({
          polyline: {
            positions: ring.map(lifted),
            width: 2,
            material: OUTLINE,
            depthFailMaterial: OUTLINE.withAlpha(0.5),
          },
        }),
      );
    }
    scene.requestRender();
  };

  const describe = () => {
    finishButton.element.disabled = !drawing.active() || drawing.points().length < 3;
    if (!supported) {
      element.dataset.state = "unsupported";
      hint.textContent = "Polygon clipping needs WebGL 2.";
    } else if (drawing.active()) {
      element.dataset.state = "drawing";
      hint.textContent =
        `${drawing.points().length} vertices: click to add more; ` +
        "double-click or Finish closes the polygon.";
    } else if (state) {
      element.dataset.state = "on";
      hint.textContent =
        `Shows only what lies ${state.keep} the polygon ` +
        `(${state.points.length} vertices).`;
    } else {
      element.dataset.state = "off";
      hint.textContent = "Draw a polygon to show only its inside or outside.";
    }
  };

  const apply = () => {
    if (!state && !collections) {
      return;
    }
    // Each tileset keeps its collection: a tile model goes on clipping with
    // a collection the tileset no longer has (Cesium 1.145), so clearing
    // disables it instead of removing it.
    collections ??= tilesets.map((tileset) => {
      const collection = new Cesium.ClippingPolygonCollection({
        enabled: false,
      });
      tileset.clippingPolygons = collection;
      return collection;
    });
    const positions = state?.points.map(([lon, lat]) =>
      Cesium.Cartesian3.fromDegrees(lon, lat),
    );
    for (const collection of collections) {
      collection.removeAll();
      if (state) {
        collection.add(new Cesium.ClippingPolygon({ positions }));
        collection.inverse = state.keep === "inside";
      }
      collection.enabled = Boolean(state);
    }
    // Adding or removing polygons rebuilds the tiles' shaders during a frame
    // that still draws the old ones (or none): with requestRenderMode, ask
    // for a few more frames.
    let left = SETTLE_FRAMES;
    removeSettle?.();
    removeSettle = scene.postRender.addEventListener(() => {
      left -= 1;
      if (left <= 0) {
        removeSettle();
        removeSettle = undefined;
      }
      scene.requestRender();
    });
    scene.requestRender();
  };

  function setPolygon(next) {
    state = supported ? normalisePolygon(next) : null;
    if (state) {
      keep = state.keep;
      keepSelect.select.value = keep;
    }
    element.dataset.polygon = state ? JSON.stringify(state) : "";
    apply();
    describe();
    draw();
  }

  describe();

  return {
    getState: () => (state ? structuredClone(state) : null),
    setState: (next) => setPolygon(next),
    polygons: () =>
      tilesets.map((tileset) => {
        const collection = tileset.clippingPolygons;
        return collection?.enabled && collection.length > 0
          ? {
              enabled: true,
              inverse: collection.inverse,
              vertices: collection.get(0).length,
            }
          : { enabled: false };
      }),
    destroy() {
      removeSettle?.();
      removeDrawn();
      for (const collection of collections ?? []) {
        collection.enabled = false;
      }
      for (const part of parts.reverse()) {
        part.destroy();
      }
      element.remove();
      scene.requestRender();
    },
  };
}
