/**
 * Filter and colour the LoD1 buildings by attribute: a condition builder
 * (property from the tiles' metadata schema, operator, value) that colours
 * the matches or hides the others, colour presets with their legend, and
 * the matching database buildings as a list that flies to each one.
 */
import { formatValue } from "../inspect/inspectModel.js";
import {
  createButton,
  createDisclosure,
  createLegendRow,
  createNumberInput,
  createSelect,
  setSelectOptions,
} from "../ui/controls.js";
import { Cesium } from "../viewer/cesium.js";
import {
  DEFAULT_FIELDS,
  describeCondition,
  fieldsFromSchema,
  legendFor,
  matches,
  operatorsFor,
  styleJson,
  validCondition,
} from "./filterModel.js";

const ACTIONS = [
  { value: "colour", label: "Colour the matches" },
  { value: "hide", label: "Hide the others" },
];

const COLOURINGS = [
  { value: "none", label: "Original (by type)" },
  { value: "height", label: "By height" },
  { value: "type", label: "By type (vivid)" },
  { value: "confidence", label: "By class confidence" },
  { value: "filter", label: "Filter matches" },
];

/** Most results listed; the count always covers every match. */
const MAX_RESULTS = 200;

const FLY_PITCH = Cesium.Math.toRadians(-40);

/**
 * Every tile content of a tileset that is loaded now.
 *
 * @param {Cesium.Cesium3DTileset} tileset The tileset.
 * @returns {Cesium.Cesium3DTileContent[]} The loaded contents.
 */
export function loadedContents(tileset) {
  const contents = [];
  const stack = tileset.root ? [tileset.root] : [];
  while (stack.length > 0) {
    const tile = stack.pop();
    if (tile.contentReady && tile.content) {
      const inner = tile.content.innerContents;
      contents.push(...(inner?.length ? inner : [tile.content]));
    }
    stack.push(...(tile.children ?? []));
  }
  return contents;
}

function schemaOf(content) {
  return content?._model?.structuralMetadata?.schema;
}

function featureLabel(properties) {
  const parts = [`Building ${properties.building_id ?? "?"}`];
  if (properties.building_type) {
    parts.push(formatValue(properties.building_type).toLowerCase());
  }
  if (Number.isFinite(properties.height_m)) {
    parts.push(`${formatValue(properties.height_m, 1)} m`);
  }
  return parts.join(" · ");
}

function ringsOf(geometry) {
  if (geometry?.type === "Polygon") {
    return geometry.coordinates;
  }
  if (geometry?.type === "MultiPolygon") {
    return geometry.coordinates.flat();
  }
  return [];
}

/**
 * Bounding sphere of a database building as drawn (lowered by the area's
 * height offset like the tiles).
 *
 * @param {object} feature GeoJSON building with ground_m and height_m.
 * @param {number} heightOffset Metres added to every height.
 * @returns {Cesium.BoundingSphere|undefined} The sphere.
 */
export function featureSphere(feature, heightOffset) {
  const { ground_m: ground = 0, height_m: height = 0 } =
    feature.properties ?? {};
  const base = Number(ground) + heightOffset;
  const points = [];
  for (const ring of ringsOf(feature.geometry)) {
    for (const [lon, lat] of ring) {
      points.push(Cesium.Cartesian3.fromDegrees(lon, lat, base));
      points.push(
        Cesium.Cartesian3.fromDegrees(lon, lat, base + Number(height)),
      );
    }
  }
  return points.length > 0
    ? Cesium.BoundingSphere.fromPoints(points)
    : undefined;
}

/**
 * Mount the filter tool.
 *
 * @param {object} options
 * @param {Cesium.Viewer} options.viewer The viewer.
 * @param {HTMLElement} options.container Element the section is added to.
 * @param {Cesium.Cesium3DTileset} options.tileset The buildings tileset.
 * @param {() => Promise<object[]>} [options.loadBuildings] Resolves to the
 *   area's database buildings (GeoJSON features), for the result list.
 * @param {number} [options.heightOffset=0] The tiles' height offset, m.
 * @param {() => void} [options.onChange] Called when the filter changes.
 * @returns {{ getState: () => object, setState: (state: object) => void,
 *   buildingStates: () => { id: number, show: boolean, colour: string|null }[],
 *   destroy: () => void }} The tool.
 */
export function createFilterTool(options) {
  const { viewer, container, tileset } = options;
  if (!viewer || !container || !tileset) {
    throw new Error(
      "createFilterTool needs a viewer, a container and a tileset.",
    );
  }
  const heightOffset = options.heightOffset ?? 0;
  const onChange = options.onChange ?? (() => {});
  const loadBuildings = options.loadBuildings ?? (() => Promise.resolve([]));
  const parts = [];
  let fields = [...DEFAULT_FIELDS];
  let fieldsFromTiles = false;
  let state = {
    condition: null,
    action: "colour",
    colouring: "none",
    hiddenTypes: [],
  };

  const section = createDisclosure("Filter and colour buildings", {
    name: "filter",
  });
  parts.push(section);
  container.append(section.element);
  const add = (item, parent = section.body) => {
    parts.push(item);
    parent.append(item.element);
    return item;
  };

  const fieldOf = (name) => fields.find((item) => item.name === name);

  const property = add(
    createSelect({
      label: "Property",
      options: fields.map(({ name, label, unit }) => ({
        value: name,
        label: unit ? `${label} (${unit})` : label,
      })),
      value: "height_m",
      onChange: () => syncValueControls(),
    }),
  );
  property.element.dataset.field = "property";
  const operator = add(
    createSelect({ label: "Operator", options: [], onChange: () => {} }),
  );
  operator.element.dataset.field = "operator";
  const numberValue = add(
    createNumberInput({ label: "Value", unit: "m", onChange: () => {} }),
  );
  numberValue.element.dataset.field = "value";
  const enumValue = add(
    createSelect({ label: "Value", options: [], onChange: () => {} }),
  );
  enumValue.element.dataset.field = "enum-value";
  const action = add(
    createSelect({
      label: "Show",
      options: ACTIONS,
      value: "colour",
      onChange: () => {},
    }),
  );
  action.element.dataset.field = "action";

  const buttons = document.createElement("div");
  buttons.className = "rs3d-buttons";
  section.body.append(buttons);
  add(
    createButton({ label: "Apply", name: "apply", onClick: () => applyForm() }),
    buttons,
  );
  add(
    createButton({
      label: "Clear",
      name: "clear",
      title: "Remove the filter",
      onClick: () => update({ ...state, condition: null }),
    }),
    buttons,
  );

  const colouring = add(
    createSelect({
      label: "Colours",
      options: COLOURINGS,
      value: "none",
      onChange: (value) => update({ ...state, colouring: value }),
    }),
  );
  colouring.element.dataset.field = "colouring";
  const presets = document.createElement("div");
  presets.className = "rs3d-buttons";
  section.body.append(presets);
  add(
    createButton({
      label: "Colour by height",
      name: "preset-height",
      onClick: () => update({ ...state, colouring: "height" }),
    }),
    presets,
  );
  add(
    createButton({
      label: "Colour by type",
      name: "preset-type",
      onClick: () => update({ ...state, colouring: "type" }),
    }),
    presets,
  );
  add(
    createButton({
      label: "Colour by confidence",
      name: "preset-confidence",
      title: "The model's confidence in each building's class (areas it predicted)",
      onClick: () => update({ ...state, colouring: "confidence" }),
    }),
    presets,
  );

  const legend = document.createElement("div");
  legend.className = "rs3d-legend rs3d-filter-legend";
  const summary = document.createElement("p");
  summary.className = "rs3d-results-summary";
  summary.setAttribute("aria-live", "polite");
  const results = document.createElement("ul");
  results.className = "rs3d-results";
  section.body.append(legend, summary, results);

  function syncValueControls() {
    const chosen = fieldOf(property.select.value) ?? fields[0];
    setSelectOptions(operator.select, operatorsFor(chosen));
    const isEnum = chosen.kind === "enum";
    numberValue.element.hidden = isEnum;
    enumValue.element.hidden = !isEnum;
    numberValue.element.querySelector(".rs3d-unit").textContent = chosen.unit;
    if (isEnum) {
      setSelectOptions(
        enumValue.select,
        (chosen.values ?? []).map((value) => ({
          value,
          label: formatValue(value),
        })),
      );
    }
  }
  syncValueControls();

  function readForm() {
    const chosen = fieldOf(property.select.value);
    const value =
      chosen?.kind === "enum"
        ? enumValue.select.value
        : numberValue.input.value;
    return validCondition(
      {
        property: property.select.value,
        operator: operator.select.value,
        value,
      },
      fields,
    );
  }

  function writeForm() {
    const { condition } = state;
    if (condition) {
      property.select.value = condition.property;
      syncValueControls();
      operator.select.value = condition.operator;
      if (fieldOf(condition.property)?.kind === "enum") {
        enumValue.select.value = String(condition.value);
      } else {
        numberValue.input.value = String(condition.value);
      }
    }
    action.select.value = state.action;
    colouring.select.value = state.colouring;
  }

  function applyForm() {
    const condition = readForm();
    if (!condition) {
      summary.textContent = "Choose a property, an operator and a value.";
      summary.dataset.state = "invalid";
      return;
    }
    const chosenAction = action.select.value === "hide" ? "hide" : "colour";
    update({
      condition,
      action: chosenAction,
      colouring: chosenAction === "colour" ? "filter" : state.colouring,
    });
  }

  const flyTo = (feature, item) => {
    const sphere = featureSphere(feature, heightOffset);
    if (!sphere) {
      return;
    }
    for (const other of results.querySelectorAll("[aria-current]")) {
      other.removeAttribute("aria-current");
    }
    item.setAttribute("aria-current", "true");
    const range = Math.max(sphere.radius * 3.5, 40);
    viewer.camera.flyToBoundingSphere(sphere, {
      offset: new Cesium.HeadingPitchRange(0, FLY_PITCH, range),
      duration: 1,
    });
    viewer.scene.requestRender();
  };

  let listCount = 0;
  async function listResults() {
    listCount += 1;
    const count = listCount;
    results.replaceChildren();
    const { condition } = state;
    if (!condition) {
      summary.textContent = "";
      delete summary.dataset.state;
      return;
    }
    summary.dataset.state = "loading";
    summary.textContent = "Finding matching buildings…";
    let all;
    try {
      all = await loadBuildings();
    } catch (error) {
      if (count === listCount) {
        summary.dataset.state = "error";
        summary.textContent = "Could not load the buildings from the database.";
        console.warn("rs3d: could not load building features", error);
      }
      return;
    }
    if (count !== listCount) {
      return;
    }
    const hidden = new Set(state.hiddenTypes);
    const found = all.filter(
      (feature) =>
        matches(condition, feature.properties) &&
        !hidden.has(feature.properties?.building_type),
    );
    found.sort(
      (a, b) =>
        Number(a.properties.building_id) - Number(b.properties.building_id),
    );
    summary.dataset.state = "ready";
    summary.dataset.count = String(found.length);
    summary.textContent = `${found.length} of ${all.length} buildings match “${describeCondition(condition, fields)}”.`;
    for (const feature of found.slice(0, MAX_RESULTS)) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.buildingId = String(feature.properties.building_id);
      button.textContent = featureLabel(feature.properties);
      button.title = "Fly to this building";
      button.addEventListener("click", () => flyTo(feature, button));
      li.append(button);
      results.append(li);
    }
  }

  function renderLegend() {
    const content = legendFor(state, fields);
    legend.replaceChildren();
    legend.hidden = !content;
    if (!content) {
      return;
    }
    const title = document.createElement("h3");
    title.textContent = content.title;
    legend.append(title);
    for (const { label, colour } of content.entries) {
      legend.append(createLegendRow(label, colour));
    }
  }

  function restyle() {
    const json = styleJson(state, fields);
    tileset.style = json ? new Cesium.Cesium3DTileStyle(json) : undefined;
    viewer.scene.requestRender();
  }

  function update(next, { notify = true } = {}) {
    const condition = validCondition(next.condition, fields);
    const chosenColouring = COLOURINGS.some(
      (item) => item.value === next.colouring,
    )
      ? next.colouring
      : "none";
    state = {
      condition,
      action: next.action === "hide" ? "hide" : "colour",
      colouring:
        chosenColouring === "filter" && !condition ? "none" : chosenColouring,
      // The form's own changes carry no types: keep those the layer panel hid.
      hiddenTypes: Array.isArray(next.hiddenTypes)
        ? [...new Set(next.hiddenTypes.map(String))].sort()
        : (state?.hiddenTypes ?? []),
    };
    writeForm();
    restyle();
    renderLegend();
    listResults();
    if (notify) {
      onChange();
    }
  }

  const useSchema = (content) => {
    const schema = schemaOf(content);
    if (fieldsFromTiles || !schema) {
      return;
    }
    fieldsFromTiles = true;
    fields = fieldsFromSchema(schema);
    const current = property.select.value;
    setSelectOptions(
      property.select,
      fields.map(({ name, label, unit }) => ({
        value: name,
        label: unit ? `${label} (${unit})` : label,
      })),
    );
    if (current !== property.select.value || !fieldOf(current)) {
      syncValueControls();
    }
    section.element.dataset.schema = "tiles";
  };
  loadedContents(tileset).forEach(useSchema);
  const removeTileLoad = tileset.tileLoad.addEventListener((tile) =>
    useSchema(tile.content),
  );
  renderLegend();

  return {
    /** @returns {object} The filter state (condition, action, colouring). */
    getState: () => structuredClone(state),
    /**
     * Hide or show buildings of some types (the layer panel's sub-class
     * toggles); the filter's own condition still applies to the rest.
     *
     * @param {string[]} types The building types to hide.
     */
    setHiddenTypes(types) {
      update({ ...state, hiddenTypes: types });
    },
    /** @param {object} next A state from getState (or a shared URL). */
    setState(next) {
      update({ ...state, ...next }, { notify: false });
      if (state.condition || state.colouring !== "none") {
        section.element.open = true;
      }
    },
    buildingStates() {
      const style = tileset.style;
      const states = [];
      for (const content of loadedContents(tileset)) {
        for (let i = 0; i < content.featuresLength; i += 1) {
          const feature = content.getFeature(i);
          const id = Number(feature.getProperty("id"));
          const show =
            tileset.show &&
            (style?.show ? Boolean(style.show.evaluate(feature)) : true);
          const colour = style?.color
            ? style.color
                .evaluateColor(feature, new Cesium.Color())
                .toCssHexString()
            : null;
          states.push({ id, show, colour });
        }
      }
      return states.sort((a, b) => a.id - b.id);
    },
    destroy() {
      listCount += 1;
      removeTileLoad();
      tileset.style = undefined;
      for (const part of parts.reverse()) {
        part.destroy();
      }
      viewer.scene.requestRender();
    },
  };
}
