/**
 * Fetch wrappers for the rs3d JSON API.
 *
 * This is the only module that knows API paths beyond the URLs that pages
 * hand over in their configuration.
 */

/**
 * URL of the JSON description of one job.
 *
 * @param {number|string} jobId The job's primary key.
 * @returns {string} The API path, e.g. "/api/jobs/12/".
 */
export function jobApiUrl(jobId) {
  return `/api/jobs/${encodeURIComponent(jobId)}/`;
}

/**
 * GET a JSON document; reject with the server's message on non-2xx answers.
 *
 * @param {string} url Absolute path or URL of the resource.
 * @param {{ signal?: AbortSignal }} [options] Optional abort signal.
 * @returns {Promise<any>} The parsed JSON body.
 */
export async function getJson(url, { signal } = {}) {
  const response = await fetch(url, {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
    signal,
  });
  if (!response.ok) {
    throw new Error(await errorMessage(response));
  }
  return response.json();
}

/**
 * Load an area description (bbox, imagery, 3D layers, latest job).
 *
 * @param {string} url The area's API URL, e.g. "/api/areas/7/".
 * @param {{ signal?: AbortSignal }} [options] Optional abort signal.
 * @returns {Promise<object>} The area JSON.
 */
export function getArea(url, options) {
  return getJson(url, options);
}

/**
 * Load a job description (status, stage, progress, message, error).
 *
 * @param {string} url The job's API URL, e.g. "/api/jobs/12/".
 * @param {{ signal?: AbortSignal }} [options] Optional abort signal.
 * @returns {Promise<object>} The job JSON.
 */
export function getJob(url, options) {
  return getJson(url, options);
}

/**
 * Load GeoJSON features, optionally filtered (e.g. `{ class: "building" }`).
 *
 * @param {string} url The area's features URL, e.g. "/api/areas/7/features/".
 * @param {Record<string, string>} [params] Query parameters to add.
 * @param {{ signal?: AbortSignal }} [options] Optional abort signal.
 * @returns {Promise<object>} The GeoJSON FeatureCollection.
 */
export function getFeatures(url, params = {}, options) {
  const query = new URLSearchParams(params).toString();
  const full = query ? `${url}${url.includes("?") ? "&" : "?"}${query}` : url;
  return getJson(full, options);
}

async function errorMessage(response) {
  const prefix = `${response.status} ${response.statusText}`.trim();
  let text = "";
  try {
    text = await response.text();
  } catch {
    return prefix;
  }
  try {
    const body = JSON.parse(text);
    const message = body.detail || body.error || body.message;
    if (typeof message === "string" && message) {
      return `${message} (${prefix})`;
    }
  } catch {
    // Not JSON: fall through to the plain text (if it is short enough).
  }
  const plain = text.trim();
  if (plain && plain.length < 300 && !plain.startsWith("<")) {
    return `${plain} (${prefix})`;
  }
  return `Request failed: ${prefix}`;
}
