/**
 * Draw on the scene: while a drawing runs, clicks pick points on the
 * buildings, the point cloud or the ground (as the measure tool does) and a
 * double-click finishes it.
 */
import { scenePosition } from "../measure/measure.js";
import { Cesium } from "../viewer/cesium.js";

/** Clicks closer than this to the previous point (metres) add nothing. */
const SAME_POINT_M = 0.25;

/**
 * Create a point picker. One drawing runs at a time; starting another stops
 * the running one.
 *
 * @param {object} options
 * @param {Cesium.CesiumWidget} options.viewer The viewer.
 * @param {(active: boolean) => void} [options.onActiveChange] Called when a
 *   drawing starts or stops (the page pauses click-to-inspect).
 * @returns {{ start: (handlers: { onPoint: (p: Cesium.Cartesian3) => void,
 *   onFinish?: () => void, onStop?: () => void }) => void,
 *   stop: () => void, active: () => boolean, destroy: () => void }}
 *   The picker.
 */
export function createPointPicker({ viewer, onActiveChange }) {
  if (!viewer) {
    throw new Error("createPointPicker needs a viewer.");
  }
  const scene = viewer.scene;
  const handler = new Cesium.ScreenSpaceEventHandler(scene.canvas);
  const widgetHandler = viewer.screenSpaceEventHandler;
  const DOUBLE = Cesium.ScreenSpaceEventType.LEFT_DOUBLE_CLICK;
  let current;
  let last;
  let savedDouble;

  const stop = () => {
    if (!current) {
      return;
    }
    const { onStop } = current;
    current = undefined;
    last = undefined;
    if (savedDouble) {
      widgetHandler.setInputAction(savedDouble, DOUBLE);
      savedDouble = undefined;
    }
    onStop?.();
    onActiveChange?.(false);
  };

  handler.setInputAction(({ position }) => {
    if (!current) {
      return;
    }
    const point = scenePosition(scene, position);
    if (!point) {
      return;
    }
    if (last && Cesium.Cartesian3.distance(last, point) < SAME_POINT_M) {
      return;
    }
    last = Cesium.Cartesian3.clone(point);
    current.onPoint(point);
  }, Cesium.ScreenSpaceEventType.LEFT_CLICK);

  handler.setInputAction(() => {
    // The double-click's own clicks have added its point already.
    current?.onFinish?.();
  }, DOUBLE);

  return {
    start(handlers) {
      stop();
      current = handlers;
      // The viewer's double-click tracks the entity under the pointer (a
      // drawn vertex): off while drawing.
      savedDouble = widgetHandler.getInputAction(DOUBLE);
      if (savedDouble) {
        widgetHandler.removeInputAction(DOUBLE);
      }
      onActiveChange?.(true);
    },
    stop,
    active: () => current !== undefined,
    destroy() {
      stop();
      handler.destroy();
    },
  };
}

/**
 * One tool's drawing: the lon/lat points clicked so far, kept while the
 * picker runs for this tool and dropped when it stops. The section and the
 * polygon tools share it; each says when its drawing is complete.
 *
 * @param {object} options
 * @param {ReturnType<typeof createPointPicker>} options.picker The shared
 *   point picker.
 * @param {(point: Cesium.Cartesian3) => number[]} options.toPoint What a
 *   picked position is kept as (lon/lat).
 * @param {(points: number[][]) => boolean} options.isComplete Whether the
 *   points make a whole drawing (asked after each point and on finish).
 * @param {boolean} [options.finishesItself] Complete as soon as
 *   `isComplete` holds (a line's two ends), rather than on a double-click or
 *   `finish()` (a polygon).
 * @param {(points: number[][]) => void} options.onComplete Called with the
 *   drawn points once the drawing has stopped.
 * @param {() => void} options.onUpdate Called after every change, to redraw
 *   and describe the tool.
 * @returns {{ start: () => void, finish: () => void,
 *   active: () => boolean, points: () => number[][] }} The drawing.
 */
export function createDrawing(options) {
  const { picker, toPoint, isComplete, onComplete, onUpdate } = options;
  let pending = [];
  let active = false;

  const finish = () => {
    if (!active || !isComplete(pending)) {
      return;
    }
    const points = pending;
    picker.stop(); // onStop below ends the drawing
    onComplete(points);
  };

  return {
    start() {
      picker.start({
        onPoint: (point) => {
          pending.push(toPoint(point));
          if (options.finishesItself && isComplete(pending)) {
            finish();
          } else {
            onUpdate();
          }
        },
        onFinish: finish,
        onStop: () => {
          active = false;
          pending = [];
          onUpdate();
        },
      });
      active = true;
      pending = [];
      onUpdate();
    },
    finish,
    active: () => active,
    points: () => pending,
  };
}
