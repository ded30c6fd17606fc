/**
 * The side panel: orthophoto toggle, one section per 3D layer with its
 * toggles, and for point clouds the colour mode, point size and the class
 * legend (each legend entry doubles as a visibility checkbox). Its whole
 * state (visibility, opacity, hidden sub-classes and point classes, point
 * colours and size) can be read and set, for the share link.
 */
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

/**
 * @typedef {object} Setting A control the panel can read and set for the
 *   share link; `write(undefined)` puts it back as it started, a value it
 *   does not know is ignored, and the layer's callback runs only when the
 *   control changes (the panel's `onChange` reports only the user's own
 *   changes).
 * @property {() => *} read The control's value.
 * @property {(value?: *) => void} write Set the control and the layer.
 */

/**
 * @typedef {object} PointOptions What the point-cloud controls show.
 * @property {(counts?: Record<string, number>) => Array<{ code: number,
 *   name: string, colour: string, count?: number }>} legendClasses The
 *   legend rows for a layer's point counts by class code.
 * @property {number} defaultPointSize Point size in pixels at the start.
 */

/**
 * A control's callback: apply its value to the layer, then report it.
 *
 * @param {(...args: *[]) => void} apply What the control changes.
 * @param {() => void} onChange The panel's change callback.
 * @returns {(...args: *[]) => void} The callback.
 */
function reporting(apply, onChange) {
  return (...args) => {
    apply(...args);
    onChange();
  };
}

function toggle(toggles, name, setVisible, onChange, checked = true) {
  const checkbox = createCheckbox({
    label: name === ORTHOPHOTO ? "Orthophoto" : "Visible",
    checked,
    onChange: reporting(setVisible, onChange),
  });
  toggles.set(name, { input: checkbox.input, setVisible });
  return checkbox;
}

/**
 * A slider made by createRange as a {@link Setting}.
 *
 * @param {{ input: HTMLInputElement, setValue: (value: number) => number }}
 *   range The slider.
 * @param {number} initial Its starting value.
 * @param {(value: number) => void} apply What its `onInput` applies.
 * @returns {Setting} The setting (a number).
 */
function rangeSetting(range, initial, apply) {
  const read = () => Number(range.input.value);
  return {
    read,
    write(value = initial) {
      const before = read();
      if (Number.isFinite(value) && range.setValue(value) !== before) {
        apply(read());
      }
    },
  };
}

/**
 * A drop-down made by createSelect as a {@link Setting}.
 *
 * @param {HTMLSelectElement} select The drop-down.
 * @param {string} initial Its starting value.
 * @param {(value: string) => void} apply What its `onChange` applies.
 * @returns {Setting} The setting (one of the options' values).
 */
function selectSetting(select, initial, apply) {
  return {
    read: () => select.value,
    write(value = initial) {
      const offered = [...select.options].some((o) => o.value === value);
      if (offered && value !== select.value) {
        select.value = value;
        apply(value);
      }
    },
  };
}

/**
 * Checkboxes that each show one value of a layer (a sub-class, a point
 * class), all ticked at first; as a {@link Setting}, the unticked values.
 *
 * @param {(value: *, visible: boolean, hidden: *[]) => void} onToggle
 *   Called when a value is ticked or unticked, with the unticked values.
 * @param {() => void} onChange The panel's change callback.
 * @returns {Setting & { add: (value: *, options: { label: string,
 *   swatch: string }) => ReturnType<typeof createCheckbox> }} The group;
 *   `add` makes the checkbox of one value.
 */
function checkboxGroup(onToggle, onChange) {
  const inputs = new Map();
  const read = () =>
    [...inputs].filter(([, input]) => !input.checked).map(([value]) => value);
  const toggleValue = (value, visible) => onToggle(value, visible, read());
  return {
    read,
    write(hidden = []) {
      if (!Array.isArray(hidden)) {
        return;
      }
      for (const [value, input] of inputs) {
        const visible = !hidden.includes(value);
        if (input.checked !== visible) {
          input.checked = visible;
          toggleValue(value, visible);
        }
      }
    },
    add(value, { label, swatch }) {
      const checkbox = createCheckbox({
        label,
        swatch,
        onChange: reporting((visible) => toggleValue(value, visible), onChange),
      });
      inputs.set(value, checkbox.input);
      return checkbox;
    },
  };
}

/**
 * Sub-class values to hide, kept until addSubclasses lists the layer's
 * sub-classes (a shared link may be restored first).
 *
 * @returns {Setting} The setting (the values).
 */
function pendingSubclasses() {
  let hidden = [];
  return {
    read: () => hidden,
    write(values = []) {
      if (Array.isArray(values)) {
        hidden = values;
      }
    },
  };
}

/**
 * An "Opacity" slider in percent that reports 0-1, kept in `opacities`.
 *
 * @param {Map<string, Setting>} opacities Opacity settings by layer name.
 * @param {string} name The layer's name.
 * @param {(alpha: number) => void} onOpacity The layer's callback.
 * @param {() => void} onChange The panel's change callback.
 * @returns {ReturnType<typeof createRange>} The slider.
 */
function opacityRange(opacities, name, onOpacity, onChange) {
  const apply = (percent) => onOpacity(percent / 100);
  const range = createRange({
    label: "Opacity",
    min: 0,
    max: 100,
    step: 5,
    value: 100,
    unit: " %",
    onInput: reporting(apply, onChange),
  });
  range.element.dataset.field = "opacity";
  opacities.set(name, rangeSetting(range, 100, apply));
  return range;
}

function imagerySection(
  orthophoto,
  { parts, toggles, settings, onChange, sourceNotes = {} },
) {
  const section = createSection("Imagery");
  section.element.dataset.layer = ORTHOPHOTO;
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
  add(
    opacityRange(
      settings.opacity,
      ORTHOPHOTO,
      (alpha) => orthophoto.setAlpha(alpha),
      onChange,
    ),
  );
  const note = sourceNotes[orthophoto.source];
  if (note) {
    const hint = document.createElement("p");
    hint.className = "rs3d-hint";
    hint.dataset.imagerySource = orthophoto.source;
    hint.textContent = note;
    section.body.append(hint);
  }
  return section;
}

/**
 * A point cloud's colour mode, point size and class legend.
 *
 * @param {object} layer The API layer.
 * @param {object} handle Its handle (see layers/pointcloud.js).
 * @param {(item: { element: HTMLElement }, parent?: HTMLElement) => void}
 *   add Mounts a control in the layer's section.
 * @param {() => void} onChange The panel's change callback.
 * @param {PointOptions} points The class legend and the default point size.
 * @returns {{ classes: Setting, points: Setting }} The hidden class codes,
 *   and `{ mode, size }` (colour mode and point size in pixels).
 */
function pointCloudControls(layer, handle, add, onChange, points) {
  const legend = document.createElement("div");
  legend.className = "rs3d-legend";
  legend.dataset.mode = "photo";
  const setMode = (value) => {
    legend.dataset.mode = value;
    handle.setColourMode(value);
  };
  const setSize = (value) => handle.setPointSize(value);
  const mode = createSelect({
    label: "Colours",
    options: COLOUR_MODES,
    value: "photo",
    onChange: reporting(setMode, onChange),
  });
  add(mode);
  const size = createRange({
    label: "Point size",
    min: 1,
    max: 10,
    value: points.defaultPointSize,
    unit: " px",
    onInput: reporting(setSize, onChange),
  });
  size.element.dataset.field = "point-size";
  add(size);
  const heading = document.createElement("h3");
  heading.textContent = "Classes";
  add({ element: heading, destroy: () => heading.remove() });
  const classes = checkboxGroup(
    (code, visible) => handle.setClassVisible(code, visible),
    onChange,
  );
  for (const { code, name, colour, count } of points.legendClasses(
    layer.classes,
  )) {
    const checkbox = classes.add(code, {
      label:
        count === undefined ? name : `${name} (${count.toLocaleString("en")})`,
      swatch: colour,
    });
    checkbox.element.dataset.classCode = String(code);
    add(checkbox, legend);
  }
  add({ element: legend, destroy: () => legend.remove() });
  const modeSetting = selectSetting(mode.select, "photo", setMode);
  const sizeSetting = rangeSetting(size, points.defaultPointSize, setSize);
  const pointsSetting = {
    read: () => ({ mode: modeSetting.read(), size: sizeSetting.read() }),
    write(value) {
      if (value === undefined || (value && typeof value === "object")) {
        modeSetting.write(value?.mode);
        sizeSetting.write(value?.size);
      }
    },
  };
  return { classes, points: pointsSetting };
}

/**
 * One 3D layer's section: its toggle, and the point-cloud controls or the
 * opacity slider.
 *
 * @param {object} layer The API layer.
 * @param {object} handle Its handle.
 * @param {{ parts: object[], toggles: Map<string, object>,
 *   settings: Record<string, Map<string, Setting>>, onChange: () => void,
 *   points: PointOptions }} panel What the panel keeps, and its options.
 * @returns {{ element: HTMLElement, body: HTMLElement }} The section.
 */
function layerSection(layer, handle, panel) {
  const { parts, toggles, settings, onChange } = panel;
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
    const { classes, points } = pointCloudControls(
      layer,
      handle,
      add,
      onChange,
      panel.points,
    );
    settings.classes.set(layer.name, classes);
    settings.points.set(layer.name, points);
  } else if (handle.setOpacity) {
    add(
      opacityRange(
        settings.opacity,
        layer.name,
        (alpha) => handle.setOpacity(alpha),
        onChange,
      ),
    );
  }
  settings.hidden.set(layer.name, pendingSubclasses());
  return section;
}

/**
 * @typedef {object} PanelState The panel's controls, by layer name
 *   (ORTHOPHOTO for the imagery); the same keys as the share link's state.
 * @property {Record<string, boolean>} [layers] Visibility.
 * @property {Record<string, number>} [opacity] Opacity in percent.
 * @property {Record<string, string[]>} [hidden] Unticked sub-class values.
 * @property {Record<string, number[]>} [classes] Unticked point classes.
 * @property {Record<string, { mode?: string, size?: number }>} [points]
 *   Point-cloud colour mode and point size in pixels.
 */

/**
 * Fill the panel with the legend and layer toggles.
 *
 * @param {HTMLElement} container The `#panel` element.
 * @param {{ orthophoto?: object, layers: { layer: object,
 *   handle: object }[], onChange?: () => void } & PointOptions} model The
 *   orthophoto handle (if any), each API layer description paired with the
 *   handle its module returned, a callback for changes the user makes, and
 *   for point clouds their class legend and default point size, and what to
 *   say of imagery by its `source` (`imageryNotes`; the layers' own: the
 *   panel knows no layer module).
 * @returns {{ addSubclasses: (layerName: string, model: object) => void,
 *   getState: () => PanelState, setState: (state: PanelState) => void,
 *   destroy: () => void }} Add sub-class toggles; read or set every control
 *   (setState: each key given sets the controls and layers, unknown layers
 *   and values are ignored; in every key but `layers`, a known layer left
 *   out goes back to how it started); remove the controls and listeners.
 */
export function createLayerPanel(
  container,
  {
    orthophoto,
    layers,
    onChange = () => {},
    legendClasses,
    defaultPointSize,
    imageryNotes = {},
  },
) {
  const parts = [];
  const toggles = new Map();
  const sections = new Map();
  /** @type {Record<string, Map<string, Setting>>} By state key, layer name. */
  const settings = {
    opacity: new Map(),
    hidden: new Map(),
    classes: new Map(),
    points: new Map(),
  };
  const points = { legendClasses, defaultPointSize };
  const panel = {
    parts,
    toggles,
    settings,
    onChange,
    points,
    sourceNotes: imageryNotes,
  };
  if (orthophoto) {
    container.append(imagerySection(orthophoto, panel).element);
  }
  for (const { layer, handle } of layers) {
    const section = layerSection(layer, handle, panel);
    sections.set(layer.name, section);
    container.append(section.element);
  }
  const getVisibility = () =>
    Object.fromEntries(
      [...toggles].map(([name, { input }]) => [name, input.checked]),
    );
  const setVisibility = (visible) => {
    for (const [name, value] of Object.entries(visible ?? {})) {
      const found = toggles.get(name);
      if (found && typeof value === "boolean") {
        found.input.checked = value;
        found.setVisible(value);
      }
    }
  };
  return {
    /**
     * Sub-class toggles under a layer's own (e.g. building types under
     * Buildings): one checkbox per value with its colour swatch.
     *
     * Values hidden by setState before this call are unticked now.
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
      const values = checkboxGroup(
        (_value, _visible, hidden) => onHidden(hidden),
        onChange,
      );
      for (const { value, label, colour } of entries) {
        const checkbox = values.add(value, { label, swatch: colour });
        checkbox.element.dataset.subclass = value;
        parts.push(checkbox);
        group.append(checkbox.element);
      }
      section.body.append(group);
      parts.push({ element: group, destroy: () => group.remove() });
      const pending = settings.hidden.get(layerName)?.read() ?? [];
      settings.hidden.set(layerName, values);
      values.write(pending);
    },
    getState() {
      const state = { layers: getVisibility() };
      for (const [key, byLayer] of Object.entries(settings)) {
        state[key] = Object.fromEntries(
          [...byLayer].map(([name, setting]) => [name, setting.read()]),
        );
      }
      return state;
    },
    setState(state) {
      setVisibility(state?.layers);
      for (const [key, byLayer] of Object.entries(settings)) {
        const values = state?.[key];
        if (values && typeof values === "object") {
          for (const [name, setting] of byLayer) {
            setting.write(
              Object.hasOwn(values, name) ? values[name] : undefined,
            );
          }
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
