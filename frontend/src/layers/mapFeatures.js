/**
 * Roads, water and land-use blocks from the features API, draped on the
 * globe, with a panel section that toggles each and keys its colours. Roads
 * are coloured by grade, blocks by land use.
 *
 * The shown classes come in one request (`class=road,water`); land use, off
 * at the start, loads when first ticked (its count comes from the area's
 * `feature_classes`). Each polygon is a thin volume around the ellipsoid that
 * colours the globe under it (a ClassificationPrimitive on TERRAIN, as the
 * GeoJSON data source's clamped polygons were), built synchronously: no
 * GroundPrimitive, so no terrain-heights table and no geometry workers.
 */
import { getFeatures } from "../api.js";
import {
  createCheckbox,
  createLegendRow,
  createSection,
} from "../ui/controls.js";
import { Cesium } from "../viewer/cesium.js";

/** Fill colours (CSS) of each value of the styling attribute, per class. */
export const MAP_STYLES = {
  road: {
    title: "Roads",
    attribute: "grade",
    alpha: 0.85,
    colours: { primary: "#d62728", secondary: "#ff7f0e", local: "#f2c94c" },
  },
  water: {
    title: "Water",
    attribute: null,
    alpha: 0.8,
    colours: { water: "#2b7bba" },
  },
  land_use: {
    title: "Land use",
    attribute: "land_use",
    alpha: 0.35,
    colours: {
      "dense urban": "#8c564b",
      residential: "#e377c2",
      "green space": "#2ca02c",
      water: "#17becf",
      "open / paved": "#7f7f7f",
    },
  },
};

/** Classes in drawing order (later ones on top). */
const ORDER = ["land_use", "water", "road"];
/** Classes that start hidden (context the planner turns on). */
const HIDDEN_AT_START = new Set(["land_use"]);
/**
 * Half the thickness of a drape's volume, metres around the ellipsoid: the
 * globe has no terrain, so its surface lies within it.
 */
const DRAPE_HALF_THICKNESS_M = 10;

function cssOf(style, properties) {
  const key = style.attribute ? properties?.[style.attribute] : "water";
  return style.colours[key] ?? "#999999";
}

/** The rings of each polygon of a GeoJSON geometry (other types: none). */
function polygonsOf(geometry) {
  if (geometry?.type === "Polygon") {
    return [geometry.coordinates];
  }
  if (geometry?.type === "MultiPolygon") {
    return geometry.coordinates;
  }
  return [];
}

function hierarchyOf(rings) {
  const [outer, ...holes] = rings.map((ring) =>
    Cesium.Cartesian3.fromDegreesArray(ring.flatMap(([lon, lat]) => [lon, lat])),
  );
  return new Cesium.PolygonHierarchy(
    outer,
    holes.map((hole) => new Cesium.PolygonHierarchy(hole)),
  );
}

/**
 * One class's features draped on the globe: one classification primitive
 * per colour (they take a single colour each), built on the main thread.
 *
 * @param {object[]} features GeoJSON features of the class.
 * @param {object} style Its entry in MAP_STYLES.
 * @returns {Cesium.PrimitiveCollection} The primitives.
 */
function drape(features, style) {
  const byColour = new Map();
  for (const feature of features) {
    const css = cssOf(style, feature.properties);
    const instances = byColour.get(css) ?? [];
    byColour.set(css, instances);
    for (const rings of polygonsOf(feature.geometry)) {
      instances.push(
        new Cesium.GeometryInstance({
          geometry: new Cesium.PolygonGeometry({
            polygonHierarchy: hierarchyOf(rings),
            height: -DRAPE_HALF_THICKNESS_M,
            extrudedHeight: DRAPE_HALF_THICKNESS_M,
            vertexFormat: Cesium.PerInstanceColorAppearance.FLAT_VERTEX_FORMAT,
          }),
          attributes: {
            color: Cesium.ColorGeometryInstanceAttribute.fromColor(
              Cesium.Color.fromCssColorString(css).withAlpha(style.alpha),
            ),
          },
        }),
      );
    }
  }
  const collection = new Cesium.PrimitiveCollection();
  for (const instances of byColour.values()) {
    if (instances.length > 0) {
      collection.add(
        new Cesium.ClassificationPrimitive({
          geometryInstances: instances,
          classificationType: Cesium.ClassificationType.TERRAIN,
          asynchronous: false, // on the main thread: no geometry workers to load
          allowPicking: false,
        }),
      );
    }
  }
  return collection;
}

/**
 * One class of the panel: its count from the area, its features loaded
 * once (with the first request, or when first shown).
 */
function createMapLayer({ viewer, kind, count, slot }) {
  let shown = !HIDDEN_AT_START.has(kind);
  let drawn;
  let pending;
  const layer = {
    kind,
    count,
    get shown() {
      return shown;
    },
    get loaded() {
      return drawn !== undefined;
    },
    /** Draw `features` (this class's) once; later calls change nothing. */
    draw(features) {
      if (!drawn) {
        drawn = slot.add(drape(features, MAP_STYLES[kind]));
        drawn.show = shown;
        viewer.scene.requestRender();
      }
    },
    /** Resolves once the features are drawn (fetched by `fetch` if need be). */
    ensure(fetch) {
      if (drawn) {
        return Promise.resolve();
      }
      if (!pending) {
        pending = fetch([kind]).then((features) => layer.draw(features));
        pending.catch(() => {
          pending = undefined; // ask again on the next tick
        });
      }
      return pending;
    },
    setShown(on) {
      shown = Boolean(on);
      if (drawn) {
        drawn.show = shown;
        viewer.scene.requestRender();
      }
    },
  };
  return layer;
}

/**
 * Drape the area's roads, water and land-use blocks and add their section to
 * the panel.
 *
 * @param {object} options
 * @param {Cesium.CesiumWidget} options.viewer The viewer.
 * @param {string} [options.featuresUrl] The area's features API URL.
 * @param {Record<string, { count: number }>} [options.featureClasses] The
 *   area's `feature_classes` (classes without features get no toggle).
 * @param {HTMLElement} [options.panel] The side panel (no section without it).
 * @param {(error: Error) => void} [options.onError] Told when a class shown
 *   later fails to load.
 * @returns {Promise<{ layers: object[], setVisible: (kind: string, on: boolean) => Promise<void> }>}
 *   The layers (kind, feature count, `shown`, `loaded`), once the classes
 *   shown at the start are drawn.
 */
export async function addMapLayers({
  viewer,
  featuresUrl,
  featureClasses = {},
  panel,
  onError = () => {},
}) {
  const kinds = ORDER.filter((kind) => featureClasses[kind]?.count > 0);
  if (!featuresUrl || kinds.length === 0) {
    return { layers: [], setVisible: async () => {} };
  }
  const fetchClasses = async (names) => {
    const collection = await getFeatures(featuresUrl, {
      class: names.join(","),
    });
    return collection.features ?? [];
  };
  // One collection per class in drawing order, so a class loaded later still draws under the ones above it.
  const root = viewer.scene.primitives.add(new Cesium.PrimitiveCollection());
  const layers = kinds.map((kind) =>
    createMapLayer({
      viewer,
      kind,
      count: featureClasses[kind].count,
      slot: root.add(new Cesium.PrimitiveCollection()),
    }),
  );
  const byKind = new Map(layers.map((layer) => [layer.kind, layer]));
  const setVisible = async (kind, on) => {
    const layer = byKind.get(kind);
    if (!layer) {
      return;
    }
    layer.setShown(on);
    if (on) {
      await layer.ensure(fetchClasses).catch(onError);
    }
  };
  const first = layers.filter((layer) => layer.shown);
  if (first.length > 0) {
    const features = await fetchClasses(first.map((layer) => layer.kind));
    for (const layer of first) {
      layer.draw(
        features.filter((feature) => feature.properties?.class === layer.kind),
      );
    }
  }
  if (panel) {
    panel.append(createSectionFor(layers, setVisible));
  }
  return { layers, setVisible };
}

function createSectionFor(layers, setVisible) {
  const section = createSection("Map layers");
  section.element.dataset.layer = "map";
  for (const layer of [...layers].reverse()) {
    const style = MAP_STYLES[layer.kind];
    const toggle = createCheckbox({
      label: `${style.title} (${layer.count})`,
      checked: layer.shown,
      onChange: (checked) => setVisible(layer.kind, checked),
    });
    toggle.element.dataset.mapLayer = layer.kind;
    section.body.append(toggle.element);
    if (style.attribute) {
      const legend = document.createElement("div");
      legend.className = "rs3d-map-legend";
      for (const [value, css] of Object.entries(style.colours)) {
        legend.append(createLegendRow(value, css));
      }
      section.body.append(legend);
    }
  }
  return section.element;
}
