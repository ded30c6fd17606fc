/**
 * The side panel: orthophoto toggle, one section per 3D layer with its
 * toggles, and for point clouds the colour mode, point size and the class
 * legend (each legend entry doubles as a visibility checkbox).
 */
import {
  OTHER_CLASS_COLOUR,
  POINT_CLASSES,
  classByCode,
} from "../layers/classes.js";
import { DEFAULT_POINT_SIZE } from "../layers/pointcloud.js";
import {
  createCheckbox,
  createRange,
  createSection,
  createSelect,
} from "./controls.js";

const COLOUR_MODES = [
  { value: "photo", label: "Photo colours" },
  { value: "class", label: "By class" },
  { value: "intensity", label: "By intensity (LiDAR)" },
];

/** Name of the orthophoto toggle in visibility maps. */
export const ORTHOPHOTO = "orthophoto";

function toggle(toggles, name, setVisible, onChange, checked = true) {
  const checkbox = createCheckbox({
    label: name === ORTHOPHOTO ? "Orthophoto" : "Visible",
    checked,
    onChange: (checked) => {
      setVisible(checked);
      onChange();
    },
  });
  toggles.set(name, { input: checkbox.input, setVisible });
  return checkbox;
}

/** An "Opacity" slider in percent that reports 0-1. */
function opacityRange(onOpacity) {
  const range = createRange({
    label: "Opacity",
    min: 0,
    max: 100,
    step: 5,
    value: 100,
    unit: " %",
    onInput: (value) => onOpacity(value / 100),
  });
  range.element.dataset.field = "opacity";
  return range;
}

function imagerySection(orthophoto, parts, toggles, onChange) {
  const section = createSection("Imagery");
  parts.push(section);
  const add = (item) => {
    parts.push(item);
    section.body.append(item.element);
  };
  add(
    toggle(
      toggles,
      ORTHOPHOTO,
      (checked) => orthophoto.setVisible(checked),
      onChange,
    ),
  );
  add(opacityRange((alpha) => orthophoto.setAlpha(alpha)));
  return section;
}

/**
 * The classes to list: those the layer reports (with point counts), else every known class.
 *
 * @param {object} layer The API layer; `classes` maps ASPRS code to point count.
 * @returns {Array<{ code: number, name: string, colour: string, count?: number }>} Legend rows.
 */
function legendClasses(layer) {
  if (!layer.classes) {
    return [...POINT_CLASSES];
  }
  return Object.entries(layer.classes)
    .map(([code, count]) => [Number(code), count])
    .sort(([a], [b]) => a - b)
    .map(([code, count]) => ({
      ...(classByCode(code) ?? {
        code,
        name: `Class ${code}`,
        colour: OTHER_CLASS_COLOUR,
      }),
      count,
    }));
}

function pointCloudControls(layer, handle, add) {
  const legend = document.createElement("div");
  legend.className = "rs3d-legend";
  legend.dataset.mode = "photo";
  const mode = createSelect({
    label: "Colours",
    options: COLOUR_MODES,
    value: "photo",
    onChange: (value) => {
      legend.dataset.mode = value;
      handle.setColourMode(value);
    },
  });
  add(mode);
  add(
    createRange({
      label: "Point size",
      min: 1,
      max: 10,
      value: DEFAULT_POINT_SIZE,
      unit: " px",
      onInput: (value) => handle.setPointSize(value),
    }),
  );
  const heading = document.createElement("h3");
  heading.textContent = "Classes";
  add({ element: heading, destroy: () => heading.remove() });
  for (const { code, name, colour, count } of legendClasses(layer)) {
    const checkbox = createCheckbox({
      label:
        count === undefined ? name : `${name} (${count.toLocaleString("en")})`,
      swatch: colour,
      onChange: (checked) => handle.setClassVisible(code, checked),
    });
    checkbox.element.dataset.classCode = String(code);
    add(checkbox, legend);
  }
  add({ element: legend, destroy: () => legend.remove() });
}

function layerSection(layer, handle, parts, toggles, onChange) {
  const section = createSection(layer.title || layer.name);
  section.element.dataset.layer = layer.name;
  parts.push(section);
  const add = (item, parent = section.body) => {
    parts.push(item);
    parent.append(item.element);
  };
  add(
    toggle(
      toggles,
      layer.name,
      (checked) => handle.setVisible(checked),
      onChange,
      handle.tileset?.show ?? true,
    ),
  );
  if (layer.kind === "pointcloud") {
    pointCloudControls(layer, handle, add);
  } else if (handle.setOpacity) {
    add(opacityRange((alpha) => handle.setOpacity(alpha)));
  }
  return section;
}

/**
 * Fill the panel with the legend and layer toggles.
 *
 * @param {HTMLElement} container The `#panel` element.
 * @param {{ orthophoto?: object, layers: { layer: object,
 *   handle: object }[], onChange?: () => void }} model The orthophoto
 *   handle (if any), each API layer description paired with the handle its
 *   module returned, and a callback for visibility changes.
 * @returns {{ getVisibility: () => Record<string, boolean>,
 *   setVisibility: (visible: Record<string, boolean>) => void,
 *   destroy: () => void }} Read or set which layers show (by layer name,
 *   ORTHOPHOTO for the imagery); remove the controls and listeners.
 */
export function createLayerPanel(
  container,
  { orthophoto, layers, onChange = () => {} },
) {
  const parts = [];
  const toggles = new Map();
  const sections = new Map();
  if (orthophoto) {
    container.append(
      imagerySection(orthophoto, parts, toggles, onChange).element,
    );
  }
  for (const { layer, handle } of layers) {
    const section = layerSection(layer, handle, parts, toggles, onChange);
    sections.set(layer.name, section);
    container.append(section.element);
  }
  return {
    /**
     * Sub-class toggles under a layer's own (e.g. building types under
     * Buildings): one checkbox per value with its colour swatch.
     *
     * @param {string} layerName The layer's name.
     * @param {{ title: string, entries: { value: string, label: string,
     *   colour: string }[], onChange: (hidden: string[]) => void }} model
     *   What to list, and what to call with the unticked values.
     */
    addSubclasses(layerName, { title, entries, onChange: onHidden }) {
      const section = sections.get(layerName);
      if (!section || entries.length === 0) {
        return;
      }
      const group = document.createElement("fieldset");
      group.className = "rs3d-subclasses";
      group.dataset.subclasses = layerName;
      const legend = document.createElement("legend");
      legend.textContent = title;
      group.append(legend);
      const hidden = new Set();
      for (const { value, label, colour } of entries) {
        const checkbox = createCheckbox({
          label,
          swatch: colour,
          checked: true,
          onChange: (checked) => {
            hidden[checked ? "delete" : "add"](value);
            onHidden([...hidden]);
          },
        });
        checkbox.element.dataset.subclass = value;
        parts.push(checkbox);
        group.append(checkbox.element);
      }
      section.body.append(group);
      parts.push({ element: group, destroy: () => group.remove() });
    },
    getVisibility() {
      return Object.fromEntries(
        [...toggles].map(([name, { input }]) => [name, input.checked]),
      );
    },
    setVisibility(visible) {
      for (const [name, value] of Object.entries(visible ?? {})) {
        const found = toggles.get(name);
        if (found && typeof value === "boolean") {
          found.input.checked = value;
          found.setVisible(value);
        }
      }
    },
    destroy() {
      for (const part of parts.reverse()) {
        part.destroy();
      }
      parts.length = 0;
    },
  };
}
