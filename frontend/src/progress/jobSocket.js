/**
 * WebSocket connection to a job's live feed, with reconnection and
 * exponential backoff. No DOM access: callers receive parsed messages.
 */

/** Job statuses after which the feed is closed for good. */
export const FINAL_STATUSES = Object.freeze([
  "succeeded",
  "failed",
  "cancelled",
]);

/**
 * Close codes after which reconnecting is pointless: the job is not visible to
 * this user (4404), or no longer is because its owner stopped sharing it (4403).
 */
export const DENIED_CODES = Object.freeze([4403, 4404]);

/**
 * Turn a path such as "/ws/jobs/12/" into a ws:// or wss:// URL on the
 * page's host, matching the page's protocol.
 *
 * @param {string} path Path (or absolute URL) of the socket.
 * @param {Location|URL} [base=window.location] The page location.
 * @returns {string} The absolute WebSocket URL.
 */
export function socketUrl(path, base = window.location) {
  const url = new URL(path, base.href);
  if (url.protocol === "http:" || url.protocol === "https:") {
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  }
  return url.href;
}

/**
 * Delay before reconnection attempt `attempt` (0-based): 1 s, 2 s, 4 s…
 * capped at `max`, with ±20 % jitter.
 *
 * @param {number} attempt Number of failed attempts so far.
 * @param {{ base?: number, max?: number }} [limits] Milliseconds.
 * @returns {number} Milliseconds to wait.
 */
export function backoffDelay(attempt, { base = 1000, max = 30000 } = {}) {
  const delay = Math.min(max, base * 2 ** attempt);
  return Math.round(delay * (0.8 + Math.random() * 0.4));
}

/**
 * Open the job feed and keep it open while the job is still running.
 *
 * @param {object} options
 * @param {string} options.url Socket path, e.g. "/ws/jobs/12/".
 * @param {(message: object) => void} options.onMessage Each parsed frame.
 * @param {(state: "connecting"|"open"|"waiting"|"closed"|"denied") => void}
 *   [options.onConnection] Connection state changes ("denied": see DENIED_CODES).
 * @param {typeof WebSocket} [options.WebSocketImpl] For tests.
 * @returns {{ destroy: () => void }} Closes the socket, stops reconnecting.
 */
export function connectJobSocket({
  url,
  onMessage,
  onConnection = () => {},
  WebSocketImpl = WebSocket,
}) {
  const address = socketUrl(url);
  let socket;
  let timer;
  let attempt = 0;
  let finished = false;

  const open = () => {
    onConnection("connecting");
    socket = new WebSocketImpl(address);
    socket.onopen = () => {
      attempt = 0;
      onConnection("open");
    };
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        console.warn("rs3d: ignoring a non-JSON job message", event.data);
        return;
      }
      if (message.type === "job" && FINAL_STATUSES.includes(message.status)) {
        finished = true;
      }
      onMessage(message);
    };
    socket.onclose = (event) => {
      socket = undefined;
      if (DENIED_CODES.includes(event?.code)) {
        finished = true;
        onConnection("denied");
        return;
      }
      if (finished) {
        onConnection("closed");
        return;
      }
      onConnection("waiting");
      timer = setTimeout(open, backoffDelay(attempt));
      attempt += 1;
    };
  };

  open();
  return {
    destroy() {
      finished = true;
      clearTimeout(timer);
      socket?.close();
    },
  };
}
