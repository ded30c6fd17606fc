/**
 * Camera helpers: frame an area's bounding box; the camera as degrees and
 * metres, and back (the share link and `window.rs3d` read it).
 */
import { Cesium } from "./cesium.js";

const PITCH = Cesium.Math.toRadians(-45);

/**
 * Bounding sphere around a [west, south, east, north] box (degrees).
 *
 * @param {number[]} bbox [west, south, east, north] in degrees.
 * @param {number} [minRadius=25] Smallest radius to return, in metres.
 * @returns {Cesium.BoundingSphere} The sphere enclosing the four corners.
 */
export function bboxSphere(bbox, minRadius = 25) {
  const [west, south, east, north] = bbox;
  const corners = [
    [west, south],
    [east, south],
    [east, north],
    [west, north],
  ].map(([lon, lat]) => Cesium.Cartesian3.fromDegrees(lon, lat));
  const sphere = Cesium.BoundingSphere.fromPoints(corners);
  sphere.radius = Math.max(sphere.radius, minRadius);
  return sphere;
}

/**
 * Point the camera at the centre of an area from the south, pitched 45°
 * down, far enough to see the whole box.
 *
 * @param {Cesium.CesiumWidget} viewer The viewer.
 * @param {number[]} bbox [west, south, east, north] in degrees.
 * @param {{ duration?: number, minRadius?: number }} [options] duration 0
 *   (default) jumps, > 0 flies; minRadius widens the view of small boxes.
 * @returns {Promise<void>} Resolves once the camera is in place.
 */
export function frameArea(viewer, bbox, { duration = 0, minRadius } = {}) {
  const sphere = bboxSphere(bbox, minRadius);
  const offset = new Cesium.HeadingPitchRange(0, PITCH, sphere.radius * 2.6);
  const camera = viewer.camera;
  return new Promise((resolve) => {
    if (duration > 0) {
      camera.flyToBoundingSphere(sphere, {
        offset,
        duration,
        complete: resolve,
        cancel: resolve,
      });
    } else {
      camera.viewBoundingSphere(sphere, offset);
      camera.lookAtTransform(Cesium.Matrix4.IDENTITY);
      resolve();
    }
    viewer.scene.requestRender();
  });
}

/**
 * @typedef {object} CameraView Where the camera is and where it looks.
 * @property {number} lon Longitude, degrees.
 * @property {number} lat Latitude, degrees.
 * @property {number} height Height above the ellipsoid, metres.
 * @property {number} heading Heading, degrees.
 * @property {number} pitch Pitch, degrees.
 * @property {number} roll Roll, degrees.
 */

/**
 * The camera as degrees and metres.
 *
 * @param {Cesium.Camera} camera The camera.
 * @returns {CameraView} Its position and angles.
 */
export function cameraState(camera) {
  const carto = camera.positionCartographic;
  const degrees = Cesium.Math.toDegrees;
  return {
    lon: degrees(carto.longitude),
    lat: degrees(carto.latitude),
    height: carto.height,
    heading: degrees(camera.heading),
    pitch: degrees(camera.pitch),
    roll: degrees(camera.roll),
  };
}

/**
 * Put the camera where a view (a shared link's) says.
 *
 * @param {Cesium.Camera} camera The camera.
 * @param {CameraView} view Position and angles.
 * @returns {void}
 */
export function setCamera(camera, view) {
  const radians = Cesium.Math.toRadians;
  camera.setView({
    destination: Cesium.Cartesian3.fromDegrees(view.lon, view.lat, view.height),
    orientation: {
      heading: radians(view.heading),
      pitch: radians(view.pitch),
      roll: radians(view.roll),
    },
  });
}
