/**
 * Roads, water and land-use blocks from the features API, draped on the
 * ground as GeoJSON, with a panel section that toggles each and keys its
 * colours. Roads are coloured by grade, blocks by land use.
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

function colourOf(style, properties) {
  const key = style.attribute ? properties?.[style.attribute] : "water";
  const css = style.colours[key] ?? "#999999";
  return Cesium.Color.fromCssColorString(css).withAlpha(style.alpha);
}

async function loadClass(viewer, featuresUrl, kind) {
  const collection = await getFeatures(featuresUrl, { class: kind });
  const features = collection.features ?? [];
  if (features.length === 0) {
    return undefined;
  }
  const source = await Cesium.GeoJsonDataSource.load(collection, {
    clampToGround: true,
  });
  const style = MAP_STYLES[kind];
  for (const entity of source.entities.values) {
    if (entity.polygon) {
      const properties = entity.properties?.getValue(Cesium.JulianDate.now());
      entity.polygon.material = new Cesium.ColorMaterialProperty(
        colourOf(style, properties),
      );
      entity.polygon.outline = false;
      entity.polygon.classificationType = Cesium.ClassificationType.TERRAIN;
    }
  }
  source.show = kind !== "land_use"; // blocks are context: off until asked for
  await viewer.dataSources.add(source);
  return { kind, source, count: features.length };
}

/**
 * Drape the area's roads, water and land-use blocks and add their section to
 * the panel.
 *
 * @param {object} options
 * @param {Cesium.CesiumWidget} options.viewer The viewer.
 * @param {string} [options.featuresUrl] The area's features API URL.
 * @param {HTMLElement} [options.panel] The side panel (no section without it).
 * @returns {Promise<{ layers: object[], setVisible: (kind: string, on: boolean) => void }>}
 *   The loaded layers (kind, data source, feature count).
 */
export async function addMapLayers({ viewer, featuresUrl, panel }) {
  if (!featuresUrl) {
    return { layers: [], setVisible: () => {} };
  }
  const loaded = await Promise.all(
    ORDER.map((kind) => loadClass(viewer, featuresUrl, kind)),
  );
  const layers = loaded.filter(Boolean);
  const byKind = new Map(layers.map((layer) => [layer.kind, layer]));
  const setVisible = (kind, on) => {
    const layer = byKind.get(kind);
    if (layer) {
      layer.source.show = on;
      viewer.scene.requestRender();
    }
  };
  if (panel && layers.length > 0) {
    const section = createSection("Map layers");
    section.element.dataset.layer = "map";
    for (const kind of [...ORDER].reverse()) {
      const layer = byKind.get(kind);
      if (!layer) {
        continue;
      }
      const style = MAP_STYLES[kind];
      const toggle = createCheckbox({
        label: `${style.title} (${layer.count})`,
        checked: layer.source.show,
        onChange: (checked) => setVisible(kind, checked),
      });
      toggle.element.dataset.mapLayer = kind;
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
    panel.append(section.element);
  }
  return { layers, setVisible };
}
