/**
 * Small DOM helpers shared by every panel. Each control returns its element
 * and a `destroy` that removes its listeners and the element.
 */

let nextId = 0;

function uniqueId(prefix) {
  nextId += 1;
  return `rs3d-${prefix}-${nextId}`;
}

function control(element, target, type, handler, parts) {
  target.addEventListener(type, handler);
  return {
    element,
    ...parts,
    destroy() {
      target.removeEventListener(type, handler);
      element.remove();
    },
  };
}

function labelFor(input, text) {
  const caption = document.createElement("label");
  caption.htmlFor = input.id;
  caption.textContent = text;
  return caption;
}

/**
 * A titled panel section.
 *
 * @param {string} title Heading text.
 * @returns {{ element: HTMLElement, body: HTMLElement, destroy: () => void }}
 *   The section, the element to append content to, and its remover.
 */
export function createSection(title) {
  const element = document.createElement("section");
  element.className = "rs3d-section";
  const heading = document.createElement("h2");
  heading.textContent = title;
  const body = document.createElement("div");
  body.className = "rs3d-section-body";
  element.append(heading, body);
  return { element, body, destroy: () => element.remove() };
}

/**
 * A titled sub-tool inside a tool's section (class `rs3d-subtool`): its
 * element, a hint line for the caller to place and fill, and `add`, which
 * mounts a control (into the sub-tool or `parent`) and keeps it in `parts`
 * for the caller's destroy.
 *
 * @param {HTMLElement} container Element the sub-tool goes into.
 * @param {{ title: string, part: string }} options Heading and `data-part`.
 * @returns {{ element: HTMLDivElement, hint: HTMLParagraphElement,
 *   add: <T extends { element: HTMLElement }>(item: T, parent?: HTMLElement) => T,
 *   parts: { element: HTMLElement, destroy?: () => void }[] }} The parts.
 */
export function createSubtool(container, { title, part }) {
  const element = document.createElement("div");
  element.className = "rs3d-subtool";
  element.dataset.part = part;
  const heading = document.createElement("h3");
  heading.textContent = title;
  const hint = document.createElement("p");
  hint.className = "rs3d-hint";
  element.append(heading);
  container.append(element);
  const parts = [];
  const add = (item, parent = element) => {
    parts.push(item);
    parent.append(item.element);
    return item;
  };
  return { element, hint, add, parts };
}

/**
 * One legend row: a colour chip and its label.
 *
 * @param {string} label The text.
 * @param {string} colour A CSS colour.
 * @returns {HTMLDivElement} The row (class `rs3d-legend-row`).
 */
export function createLegendRow(label, colour) {
  const row = document.createElement("div");
  row.className = "rs3d-legend-row";
  const chip = document.createElement("span");
  chip.className = "rs3d-swatch";
  chip.style.backgroundColor = colour;
  row.append(chip, document.createTextNode(label));
  return row;
}

/**
 * A labelled checkbox.
 *
 * @param {{ label: string, checked?: boolean, swatch?: string,
 *   onChange: (checked: boolean) => void }} options Label text, initial
 *   state, optional colour swatch shown before the label, and callback.
 * @returns {{ element: HTMLLabelElement, input: HTMLInputElement,
 *   destroy: () => void }} The control.
 */
export function createCheckbox({ label, checked = true, swatch, onChange }) {
  const element = document.createElement("label");
  element.className = "rs3d-checkbox";
  const input = document.createElement("input");
  input.type = "checkbox";
  input.checked = checked;
  element.append(input);
  if (swatch) {
    const chip = document.createElement("span");
    chip.className = "rs3d-swatch";
    chip.style.backgroundColor = swatch;
    element.append(chip);
  }
  element.append(document.createTextNode(label));
  const handler = () => onChange(input.checked);
  return control(element, input, "change", handler, { input });
}

/**
 * A labelled drop-down.
 *
 * @param {{ label: string, options: { value: string, label: string }[],
 *   value?: string, onChange: (value: string) => void }} options Choices.
 * @returns {{ element: HTMLElement, select: HTMLSelectElement,
 *   destroy: () => void }} The control.
 */
export function createSelect({ label, options, value, onChange }) {
  const element = document.createElement("div");
  element.className = "rs3d-field";
  const select = document.createElement("select");
  select.id = uniqueId("select");
  for (const option of options) {
    select.append(new Option(option.label, option.value));
  }
  if (value !== undefined) {
    select.value = value;
  }
  element.append(labelFor(select, label), select);
  const handler = () => onChange(select.value);
  return control(element, select, "change", handler, { select });
}

/**
 * A labelled slider showing its current value.
 *
 * @param {{ label: string, min: number, max: number, step?: number,
 *   value: number, unit?: string, onInput: (value: number) => void }}
 *   options Range, initial value, unit suffix, and callback.
 * @returns {{ element: HTMLElement, input: HTMLInputElement,
 *   setValue: (value: number) => number, destroy: () => void }} The
 *   control; `setValue` moves the slider (clamped and stepped like a drag)
 *   without calling `onInput`, and returns the value it shows.
 */
export function createRange(options) {
  const { label, min, max, step = 1, value, unit = "", onInput } = options;
  const element = document.createElement("div");
  element.className = "rs3d-field";
  const input = document.createElement("input");
  input.type = "range";
  input.id = uniqueId("range");
  Object.assign(input, { min, max, step, value: String(value) });
  const output = document.createElement("output");
  output.htmlFor.add(input.id);
  const show = () => {
    output.textContent = `${input.value}${unit}`;
  };
  show();
  element.append(labelFor(input, label), input, output);
  const handler = () => {
    show();
    onInput(Number(input.value));
  };
  const setValue = (next) => {
    input.value = String(next);
    show();
    return Number(input.value);
  };
  return control(element, input, "input", handler, { input, setValue });
}

/**
 * A collapsible panel section (`<details>`), closed by default.
 *
 * @param {string} title Summary text.
 * @param {{ open?: boolean, name?: string }} [options] Initial state and a
 *   `data-tool` name for styling and tests.
 * @returns {{ element: HTMLDetailsElement, body: HTMLElement,
 *   destroy: () => void }} The section and the element to fill.
 */
export function createDisclosure(title, { open = false, name } = {}) {
  const element = document.createElement("details");
  element.className = "rs3d-section rs3d-tool";
  element.open = open;
  if (name) {
    element.dataset.tool = name;
  }
  const summary = document.createElement("summary");
  summary.textContent = title;
  const body = document.createElement("div");
  body.className = "rs3d-section-body";
  element.append(summary, body);
  return { element, body, destroy: () => element.remove() };
}

/**
 * A push button.
 *
 * @param {{ label: string, title?: string, name?: string,
 *   onClick: () => void }} options Caption, tooltip, `data-action` name
 *   and callback.
 * @returns {{ element: HTMLButtonElement, destroy: () => void }} The control.
 */
export function createButton({ label, title, name, onClick }) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "rs3d-button";
  element.textContent = label;
  if (title) {
    element.title = title;
  }
  if (name) {
    element.dataset.action = name;
  }
  const handler = () => onClick();
  return control(element, element, "click", handler, {});
}

/**
 * A labelled number input with a unit suffix.
 *
 * @param {{ label: string, value?: number, step?: number, unit?: string,
 *   onChange: (value: number) => void }} options Caption, initial value,
 *   step, unit and callback (called with NaN when the box is empty).
 * @returns {{ element: HTMLElement, input: HTMLInputElement,
 *   destroy: () => void }} The control.
 */
export function createNumberInput({
  label,
  value,
  step = "any",
  unit = "",
  onChange,
}) {
  const element = document.createElement("div");
  element.className = "rs3d-field";
  const input = document.createElement("input");
  input.type = "number";
  input.id = uniqueId("number");
  input.step = String(step);
  if (value !== undefined && Number.isFinite(value)) {
    input.value = String(value);
  }
  const suffix = document.createElement("span");
  suffix.className = "rs3d-unit";
  suffix.textContent = unit;
  element.append(labelFor(input, label), input, suffix);
  const handler = () =>
    onChange(input.value === "" ? NaN : Number(input.value));
  return control(element, input, "input", handler, { input });
}

/**
 * Replace a select's options, keeping the current value when still offered.
 *
 * @param {HTMLSelectElement} select The drop-down.
 * @param {{ value: string, label: string }[]} options The new choices.
 * @returns {void}
 */
export function setSelectOptions(select, options) {
  const previous = select.value;
  select.replaceChildren(
    ...options.map((option) => new Option(option.label, option.value)),
  );
  if (options.some((option) => option.value === previous)) {
    select.value = previous;
  }
}
