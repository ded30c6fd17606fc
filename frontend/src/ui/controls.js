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
 *   destroy: () => void }} The control.
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
  return control(element, input, "input", handler, { input });
}
