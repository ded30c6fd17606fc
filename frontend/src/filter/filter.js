/**
 * Filter and colour the LoD1 buildings by attribute: a condition builder
 * (property from the tiles' metadata schema, operator, value) that colours
 * the matches or hides the others, colour presets with their legend, and
 * the matching database buildings as a list that flies to each one.
 *
 * The state and its rules are in filterState.js and filterModel.js (no
 * DOM), the form in filterForm.js, what is read from the tiles in
 * filterTiles.js; this module mounts them and draws the legend and results.
 */
import { createDisclosure, createLegendRow } from "../ui/controls.js";
import { Cesium } from "../viewer/cesium.js";
import { createFilterForm } from "./filterForm.js";
import {
  DEFAULT_FIELDS,
  describeCondition,
  fieldsFromSchema,
  legendFor,
  styleJson,
} from "./filterModel.js";
import {
  INITIAL_STATE,
  MAX_RESULTS,
  appliedState,
  buildingLabel,
  matchingBuildings,
  nextState,
} from "./filterState.js";
import {
  buildingStates,
  featureSphere,
  loadedContents,
  schemaOf,
} from "./filterTiles.js";

const FLY_PITCH = Cesium.Math.toRadians(-40);

/**
 * The matching database buildings: a live summary line and a list whose
 * entries fly the camera to their building.
 *
 * @param {HTMLElement} body Element the summary and list go into.
 * @param {{ viewer: Cesium.CesiumWidget, heightOffset: number,
 *   loadBuildings: () => Promise<object[]> }} options Where to fly, and
 *   where the buildings come from.
 * @returns {{ show: (state: object, fields: object[]) => Promise<void>,
 *   invalid: () => void, cancel: () => void }} List the matches of a state
 *   (a later call wins over one still loading); say the form is
 *   incomplete; drop a listing still loading.
 */
function createResults(body, { viewer, heightOffset, loadBuildings }) {
  const summary = document.createElement("p");
  summary.className = "rs3d-results-summary";
  summary.setAttribute("aria-live", "polite");
  const results = document.createElement("ul");
  results.className = "rs3d-results";
  body.append(summary, results);

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
  return {
    async show(state, fields) {
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
          summary.textContent =
            "Could not load the buildings from the database.";
          console.warn("rs3d: could not load building features", error);
        }
        return;
      }
      if (count !== listCount) {
        return;
      }
      const found = matchingBuildings(all, state);
      summary.dataset.state = "ready";
      summary.dataset.count = String(found.length);
      summary.textContent = `${found.length} of ${all.length} buildings match “${describeCondition(condition, fields)}”.`;
      for (const feature of found.slice(0, MAX_RESULTS)) {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.buildingId = String(feature.properties.building_id);
        button.textContent = buildingLabel(feature.properties);
        button.title = "Fly to this building";
        button.addEventListener("click", () => flyTo(feature, button));
        li.append(button);
        results.append(li);
      }
    },
    invalid() {
      summary.textContent = "Choose a property, an operator and a value.";
      summary.dataset.state = "invalid";
    },
    cancel() {
      listCount += 1;
    },
  };
}

/**
 * The legend of the active colouring (hidden when the tiles keep theirs).
 *
 * @param {HTMLElement} legend The legend element.
 * @param {object} state The filter state.
 * @param {object[]} fields The known fields.
 */
function renderLegend(legend, state, fields) {
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

/**
 * Mount the filter tool.
 *
 * @param {object} options
 * @param {Cesium.CesiumWidget} options.viewer The viewer.
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
  const onChange = options.onChange ?? (() => {});
  const parts = [];
  let fields = [...DEFAULT_FIELDS];
  let fieldsFromTiles = false;
  let state = { ...INITIAL_STATE, hiddenTypes: [] };

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
  const form = createFilterForm(section.body, add, {
    fields,
    onApply: () => {
      const { condition, action } = form.read();
      if (condition) {
        update(appliedState(condition, action, state));
      } else {
        results.invalid();
      }
    },
    onClear: () => update({ ...state, condition: null }),
    onColouring: (colouring) => update({ ...state, colouring }),
  });
  const legend = document.createElement("div");
  legend.className = "rs3d-legend rs3d-filter-legend";
  section.body.append(legend);
  const results = createResults(section.body, {
    viewer,
    heightOffset: options.heightOffset ?? 0,
    loadBuildings: options.loadBuildings ?? (() => Promise.resolve([])),
  });

  function update(next, { notify = true } = {}) {
    state = nextState(next, state, fields);
    form.write(state);
    const json = styleJson(state, fields);
    tileset.style = json ? new Cesium.Cesium3DTileStyle(json) : undefined;
    viewer.scene.requestRender();
    renderLegend(legend, state, fields);
    results.show(state, fields);
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
    form.setFields(fields);
    section.element.dataset.schema = "tiles";
  };
  loadedContents(tileset).forEach(useSchema);
  const removeTileLoad = tileset.tileLoad.addEventListener((tile) =>
    useSchema(tile.content),
  );
  renderLegend(legend, state, fields);

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
    buildingStates: () => buildingStates(tileset),
    destroy() {
      results.cancel();
      removeTileLoad();
      tileset.style = undefined;
      for (const part of parts.reverse()) {
        part.destroy();
      }
      viewer.scene.requestRender();
    },
  };
}
