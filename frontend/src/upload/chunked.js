/**
 * Send one file to `/api/uploads/` in chunks, resuming after a broken
 * connection where the server says it stopped (protocol in
 * backend/areas/staging.py).
 */

/** Bytes per PUT; the server accepts up to 64 MB. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
/** Tries per chunk before giving up (waits 1, 2, 4 ... s between them). */
const MAX_TRIES = 6;

/** The server's words for a refused request, or its status line. */
async function reason(response) {
  try {
    const body = await response.json();
    return body.detail ?? JSON.stringify(body);
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

/**
 * Upload `file` in chunks.
 *
 * @param {File} file The file.
 * @param {object} options
 * @param {string} options.api The uploads endpoint (`/api/uploads/`).
 * @param {string} options.csrf Django's CSRF token (the form's hidden
 *   `csrfmiddlewaretoken`): session-authenticated writes need it.
 * @param {number} [options.chunkBytes] Bytes per chunk.
 * @param {(sent: number, total: number) => void} [options.onProgress]
 *   Called as bytes leave (per chunk, and within a chunk).
 * @param {(message: string) => void} [options.onRetry] Called when a
 *   chunk failed and is being sent again.
 * @param {(ms: number) => Promise<void>} [options.wait] Pause between
 *   tries (tests shorten it).
 * @returns {Promise<string>} The id to hand to the area upload.
 * @throws {Error} When the server refuses the file or a chunk keeps failing.
 */
export async function uploadInChunks(file, options) {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const onProgress = options.onProgress ?? (() => {});
  const onRetry = options.onRetry ?? (() => {});
  const wait = options.wait ?? ((ms) => new Promise((done) => setTimeout(done, ms)));
  const headers = { "X-CSRFToken": options.csrf };
  const started = await fetch(options.api, {
    method: "POST",
    credentials: "same-origin",
    headers: { ...headers, "Content-Type": "application/json" },
    body: JSON.stringify({ filename: file.name, size: file.size }),
  });
  if (!started.ok) {
    throw new Error(await reason(started));
  }
  const { id } = await started.json();
  const url = `${options.api}${id}/`;
  let received = 0;
  let tries = 0;
  onProgress(0, file.size);
  while (received < file.size) {
    const last = Math.min(received + chunkBytes, file.size) - 1;
    try {
      const answer = await putChunk(url, file.slice(received, last + 1), {
        ...headers,
        "Content-Range": `bytes ${received}-${last}/${file.size}`,
      }, (sent) => onProgress(received + sent, file.size));
      if (answer.ok || answer.status === 409) {
        // 409: the server holds a different amount; continue from there.
        received = answer.body.received ?? (await status(url)).received;
        tries = answer.ok ? 0 : tries + 1;
        onProgress(received, file.size);
      } else if (answer.status >= 500) {
        throw new Error(answer.body.detail ?? `server error ${answer.status}`);
      } else {
        throw Object.assign(new Error(answer.body.detail ?? `refused (${answer.status})`), { final: true });
      }
    } catch (err) {
      tries += 1;
      if (err.final || tries >= MAX_TRIES) {
        throw err;
      }
      onRetry(`${file.name}: ${err.message}; trying again`);
      await wait(1000 * 2 ** (tries - 1));
      received = (await status(url).catch(() => ({ received }))).received;
    }
  }
  return id;
}

async function status(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) {
    throw new Error(await reason(response));
  }
  return response.json();
}

/** PUT one chunk with upload progress (fetch reports none), as {ok, status, body}. */
function putChunk(url, blob, headers, onSent) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("PUT", url);
    request.withCredentials = true;
    for (const [name, value] of Object.entries(headers)) {
      request.setRequestHeader(name, value);
    }
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.upload.onprogress = (event) => onSent(event.loaded);
    request.onload = () => {
      let body = {};
      try {
        body = JSON.parse(request.responseText);
      } catch {
        body = {};
      }
      resolve({ ok: request.status >= 200 && request.status < 300, status: request.status, body });
    };
    request.onerror = () => reject(new Error("the connection broke"));
    request.send(blob);
  });
}
