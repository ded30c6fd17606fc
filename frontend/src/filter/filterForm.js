/**
 * The filter tool's form: the condition builder (property, operator,
 * value), the action, Apply and Clear, the colouring and its presets. It
 * shows a state and reports what the user asks for; the tool decides.
 */
import { formatValue } from "../inspect/inspectModel.js";
import {
  createButton,
  createNumberInput,
  createSelect,
  setSelectOptions,
} from "../ui/controls.js";
import { operatorsFor, validCondition } from "./filterModel.js";
import { ACTIONS, COLOURINGS, fieldOptions } from "./filterState.js";

const PRESETS = [
  { label: "Colour by height", name: "preset-height", colouring: "height" },
  { label: "Colour by type", name: "preset-type", colouring: "type" },
  {
    label: "Colour by confidence",
    name: "preset-confidence",
    title: "The model's confidence in each building's class (areas it predicted)",
    colouring: "confidence",
  },
];

/**
 * Mount the form's controls.
 *
 * @param {HTMLElement} body Element the controls go into.
 * @param {<T extends { element: HTMLElement }>(item: T, parent?: HTMLElement) => T} add
 *   Mounts a control (into `body` or `parent`) and keeps it for the tool's destroy.
 * @param {object} options
 * @param {import("./filterModel.js").FilterField[]} options.fields The fields offered first.
 * @param {() => void} options.onApply Apply was pressed.
 * @param {() => void} options.onClear Clear was pressed.
 * @param {(colouring: string) => void} options.onColouring A colouring was chosen.
 * @returns {{ read: () => { condition: object|null, action: string },
 *   write: (state: object) => void, setFields: (fields: object[]) => void }}
 *   The form's condition (null when incomplete) and action; show a state;
 *   offer other fields (the tiles' schema).
 */
export function createFilterForm(
  body,
  add,
  { fields: initialFields, onApply, onClear, onColouring },
) {
  let fields = initialFields;
  const fieldOf = (name) => fields.find((item) => item.name === name);

  const property = add(
    createSelect({
      label: "Property",
      options: fieldOptions(fields),
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
  body.append(buttons);
  add(
    createButton({ label: "Apply", name: "apply", onClick: onApply }),
    buttons,
  );
  add(
    createButton({
      label: "Clear",
      name: "clear",
      title: "Remove the filter",
      onClick: onClear,
    }),
    buttons,
  );

  const colouring = add(
    createSelect({
      label: "Colours",
      options: COLOURINGS,
      value: "none",
      onChange: onColouring,
    }),
  );
  colouring.element.dataset.field = "colouring";
  const presets = document.createElement("div");
  presets.className = "rs3d-buttons";
  body.append(presets);
  for (const { colouring: value, ...button } of PRESETS) {
    add(
      createButton({ ...button, onClick: () => onColouring(value) }),
      presets,
    );
  }

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

  return {
    read() {
      const chosen = fieldOf(property.select.value);
      const value =
        chosen?.kind === "enum"
          ? enumValue.select.value
          : numberValue.input.value;
      const condition = validCondition(
        {
          property: property.select.value,
          operator: operator.select.value,
          value,
        },
        fields,
      );
      return { condition, action: action.select.value };
    },
    write(state) {
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
    },
    setFields(next) {
      fields = next;
      const current = property.select.value;
      setSelectOptions(property.select, fieldOptions(fields));
      if (current !== property.select.value || !fieldOf(current)) {
        syncValueControls();
      }
    },
  };
}
