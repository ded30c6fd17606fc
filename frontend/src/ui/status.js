/**
 * The loading / ready / error badge (`#status`). Browser tests wait for
 * `data-state="ready"`; an error is sticky and never turns back to ready.
 */

/**
 * Wrap the status element.
 *
 * @param {HTMLElement} element The `#status` element.
 * @returns {{ loading: (text?: string) => void, ready: () => void,
 *   error: (message: string) => void, state: () => string,
 *   destroy: () => void }} The badge.
 */
export function createStatusBadge(element) {
  element.setAttribute("role", "status");
  element.setAttribute("aria-live", "polite");
  const set = (state, text) => {
    if (element.dataset.state === "error") {
      return;
    }
    element.dataset.state = state;
    element.textContent = text;
    element.title = text;
  };
  return {
    loading: (text = "Loading…") => set("loading", text),
    ready: () => set("ready", "Ready"),
    error: (message) => set("error", message || "Something went wrong."),
    state: () => element.dataset.state,
    destroy() {
      element.removeAttribute("aria-live");
    },
  };
}
