/**
 * The upload page, enhanced: drop files anywhere on the form and each goes
 * to its field by what it is; every file is checked in the browser (kind,
 * size, georeferencing) before anything is sent; the EPSG question appears
 * only when a file carries no CRS; files travel in resumable chunks with a
 * progress bar, and a refused upload keeps what was already sent.
 *
 * Without JavaScript the plain Django form still works.
 */
import { DEFAULT_CHUNK_BYTES, uploadInChunks } from "./chunked.js";
import { inspectFile } from "./sniff.js";

/** What each file field accepts, in the words the page shows. */
const ACCEPTS = {
  ortho: { kinds: ["geotiff", "jp2"], label: "a GeoTIFF image" },
  dsm: { kinds: ["geotiff"], label: "a GeoTIFF of heights" },
  lidar: { kinds: ["las", "laz"], label: "a LAS/LAZ point cloud" },
  footprints: { kinds: ["gpkg", "geojson", "zip", "fgb"], label: "a vector file of polygons" },
  second_image: { kinds: ["geotiff", "jp2"], label: "a GeoTIFF image" },
  stereo_1: { kinds: ["geotiff", "nitf"], label: "a satellite image with RPCs" },
  stereo_2: { kinds: ["geotiff", "nitf"], label: "a satellite image with RPCs" },
  stereo_3: { kinds: ["geotiff", "nitf"], label: "a satellite image with RPCs" },
};
const KIND_NAMES = {
  geotiff: "GeoTIFF",
  jp2: "JPEG 2000",
  las: "LAS point cloud",
  laz: "LAZ point cloud",
  nitf: "NITF image",
  gpkg: "GeoPackage",
  geojson: "GeoJSON",
  zip: "zip archive",
  fgb: "FlatGeobuf",
  unknown: "file of unknown type",
};

/** The field a dropped file belongs in, given the fields already filled. */
export function fieldFor(facts, filled) {
  const free = (name) => !filled.has(name);
  if (facts.kind === "las" || facts.kind === "laz") {
    return "lidar";
  }
  if (ACCEPTS.footprints.kinds.includes(facts.kind)) {
    return "footprints";
  }
  if (facts.kind === "nitf" || facts.rpc) {
    return ["stereo_1", "stereo_2", "stereo_3"].find(free) ?? "stereo_3";
  }
  if (facts.kind === "geotiff" && (facts.floating || facts.bands === 1) && free("dsm")) {
    return "dsm";
  }
  if (facts.kind === "geotiff" || facts.kind === "jp2") {
    return free("ortho") ? "ortho" : "second_image";
  }
  return null;
}

/**
 * Problems (refusals) and notes (hints) for one file in one field.
 *
 * @returns {{ problems: string[], notes: string[], needsEpsg: boolean }}
 */
export function checkFile(field, file, facts, maxBytes) {
  const problems = [];
  const notes = [];
  const accepts = ACCEPTS[field];
  if (file.size === 0) {
    problems.push(`${file.name} is empty.`);
  }
  if (maxBytes && file.size > maxBytes) {
    problems.push(
      `${file.name} is ${(file.size / 1e9).toFixed(1)} GB; the limit is ${(maxBytes / 1e9).toFixed(1)} GB per file.`,
    );
  }
  if (accepts && !accepts.kinds.includes(facts.kind)) {
    problems.push(
      `${file.name} is a ${KIND_NAMES[facts.kind]}, not ${accepts.label}.`,
    );
  }
  if (facts.kind === "geotiff" && facts.georeferenced === false && !facts.rpc) {
    problems.push(
      `${file.name} is not georeferenced (no position on the ground): export it as a GeoTIFF with its geotransform.`,
    );
  }
  const needsEpsg = facts.crs === false && !facts.rpc;
  if (needsEpsg) {
    notes.push(`${file.name} carries no coordinate reference system: give its EPSG code below.`);
  }
  if (facts.kind === "geotiff" && facts.bands) {
    notes.push(`${facts.bands} band${facts.bands > 1 ? "s" : ""}${facts.floating ? ", float" : ""}`);
  }
  return { problems, notes, needsEpsg };
}

function megabytes(bytes) {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Enhance the upload form.
 *
 * @param {HTMLFormElement} form `form.upload` with data-uploads-api and
 *   data-max-bytes (and optionally data-chunk-bytes).
 * @returns {{ destroy: () => void }} Removes the listeners.
 */
export function createUploadForm(form) {
  const api = form.dataset.uploadsApi;
  const maxBytes = Number(form.dataset.maxBytes) || 0;
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
  const button = form.querySelector("button[type=submit]");
  const inputs = Object.fromEntries(
    Object.keys(ACCEPTS)
      .map((name) => [name, form.querySelector(`input[type=file][name=${name}]`)])
      .filter(([, input]) => input),
  );
  /** field -> { file, facts, check, staged?: { file, id } } */
  const chosen = new Map();
  const staged = new Map(); // field -> { file, id }: sent already, kept after a refusal
  const epsgInput = form.querySelector("[name=epsg]");
  const epsgField = epsgInput?.closest(".field");
  const epsgGiven = () => Boolean(epsgInput?.value);
  const epsgWanted = () =>
    [...chosen.values()].some((c) => c.check.needsEpsg) ||
    epsgGiven() ||
    Boolean(epsgField?.classList.contains("has-error"));

  const zone = document.createElement("div");
  zone.className = "drop-zone";
  zone.tabIndex = 0;
  zone.innerHTML =
    "<strong>Drop your files here</strong><span>orthophoto, DSM, LiDAR, footprints, stereo images: " +
    "each goes to its field by what it is. Or choose them field by field below.</span>";
  form.prepend(zone);
  const overall = document.createElement("div");
  overall.className = "upload-progress";
  overall.hidden = true;
  overall.innerHTML = '<progress max="1" value="0"></progress> <span class="upload-percent">0 %</span> <span class="upload-note"></span>';
  button.before(overall);
  form.dataset.progressEvents = "0";

  const statusOf = (name) => {
    const field = inputs[name].closest(".field");
    let status = field.querySelector(".upload-status");
    if (!status) {
      status = document.createElement("div");
      status.className = "upload-status";
      status.setAttribute("aria-live", "polite");
      field.append(status);
    }
    return status;
  };

  const showFile = (name) => {
    const status = statusOf(name);
    const entry = chosen.get(name);
    status.replaceChildren();
    if (!entry) {
      return;
    }
    const line = document.createElement("p");
    line.className = "upload-file";
    line.textContent = `${entry.file.name} · ${megabytes(entry.file.size)} · ${KIND_NAMES[entry.facts.kind]}`;
    const details = entry.check.notes.filter((n) => !n.includes("EPSG"));
    if (details.length) {
      line.textContent += ` (${details.join("; ")})`;
    }
    status.append(line);
    const epsgHints = epsgGiven() ? [] : entry.check.notes.filter((n) => n.includes("EPSG")); // answered once typed
    for (const text of [...entry.check.problems, ...epsgHints]) {
      const p = document.createElement("p");
      p.className = entry.check.problems.includes(text) ? "upload-problem" : "upload-hint";
      if (p.className === "upload-problem") {
        p.setAttribute("role", "alert");
      }
      p.textContent = text;
      status.append(p);
    }
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = staged.get(name)?.file === entry.file ? 1 : 0;
    status.append(bar);
    entry.bar = bar;
  };

  const refresh = () => {
    if (epsgField) {
      epsgField.hidden = !epsgWanted();
    }
    const problems = [...chosen.values()].flatMap((c) => c.check.problems);
    button.disabled = problems.length > 0;
    form.dataset.problems = String(problems.length);
  };

  const choose = async (name, file) => {
    const facts = await inspectFile(file);
    chosen.set(name, { file, facts, check: checkFile(name, file, facts, maxBytes) });
    showFile(name);
    refresh();
  };

  const onInputChange = (event) => {
    const input = event.target;
    const file = input.files?.[0];
    if (file) {
      choose(input.name, file);
    } else {
      chosen.delete(input.name);
      showFile(input.name);
      refresh();
    }
  };
  for (const input of Object.values(inputs)) {
    input.addEventListener("change", onInputChange);
  }

  const dropFiles = async (files) => {
    for (const file of files) {
      const facts = await inspectFile(file);
      const filled = new Set(chosen.keys());
      const name = fieldFor(facts, filled) ?? "ortho";
      // Keep the file in its input too, so the page looks as if it had been chosen there.
      const transfer = new DataTransfer();
      transfer.items.add(file);
      inputs[name].files = transfer.files;
      chosen.set(name, { file, facts, check: checkFile(name, file, facts, maxBytes) });
      showFile(name);
    }
    refresh();
  };
  const onDragOver = (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  };
  const onDragLeave = () => zone.classList.remove("dragging");
  const onDrop = (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    dropFiles([...(event.dataTransfer?.files ?? [])]);
  };
  form.addEventListener("dragover", onDragOver);
  form.addEventListener("dragleave", onDragLeave);
  form.addEventListener("drop", onDrop);
  epsgInput?.addEventListener("input", () => {
    for (const name of chosen.keys()) {
      showFile(name); // the "give an EPSG code" hint goes once one is typed
    }
    refresh();
  });

  const setProgress = (sent, total, note = "") => {
    const value = total ? sent / total : 0;
    overall.querySelector("progress").value = value;
    overall.querySelector(".upload-percent").textContent = `${Math.floor(value * 100)} %`;
    if (note) {
      overall.querySelector(".upload-note").textContent = note;
    }
    form.dataset.progressEvents = String(Number(form.dataset.progressEvents) + 1);
    form.dataset.progress = value.toFixed(3);
  };

  const showServerErrors = (html) => {
    const page = new DOMParser().parseFromString(html, "text/html");
    const fresh = page.querySelector("form.upload");
    for (const old of form.querySelectorAll(".errors")) {
      old.remove();
    }
    if (!fresh) {
      throw new Error("The server answered with an unexpected page.");
    }
    const general = fresh.querySelector(":scope > .errors");
    if (general) {
      zone.after(general);
    }
    for (const field of fresh.querySelectorAll(".field.has-error")) {
      const target = form.querySelector(`label[for="${field.querySelector("label")?.htmlFor}"]`)?.closest(".field");
      target?.classList.add("has-error");
      target?.append(field.querySelector(".errors"));
      if (target === epsgField && epsgField) {
        epsgField.hidden = false;
      }
    }
  };

  const onSubmit = async (event) => {
    event.preventDefault();
    if (button.disabled) {
      return;
    }
    button.disabled = true;
    overall.hidden = false;
    const pending = [...chosen.entries()].filter(([name, c]) => staged.get(name)?.file !== c.file);
    const total = pending.reduce((sum, [, c]) => sum + c.file.size, 0);
    let done = 0;
    try {
      for (const [name, entry] of pending) {
        const id = await uploadInChunks(entry.file, {
          api,
          csrf,
          chunkBytes: Number(form.dataset.chunkBytes) || DEFAULT_CHUNK_BYTES,
          onProgress: (sent, size) => {
            entry.bar.value = size ? sent / size : 1;
            setProgress(done + sent, total, `Sending ${entry.file.name}`);
          },
          onRetry: (message) => setProgress(done, total, message),
        });
        staged.set(name, { file: entry.file, id });
        done += entry.file.size;
      }
      setProgress(
        total,
        total,
        "Checking the files on the server (it checks a few uploads at a time: yours may wait for its turn)",
      );
      const data = new FormData(form);
      for (const name of Object.keys(inputs)) {
        data.delete(name);
        if (chosen.has(name)) {
          data.set(`${name}_upload`, staged.get(name).id);
        }
      }
      let response;
      for (;;) {
        response = await fetch(form.action || window.location.href, {
          method: "POST",
          body: data,
          credentials: "same-origin",
        });
        if (response.status !== 503) {
          break;
        }
        // The server was checking other uploads all along: say so, then send the form again.
        const seconds = Number(response.headers.get("Retry-After")) || 30;
        for (let left = seconds; left > 0; left -= 1) {
          setProgress(total, total, `The server is busy checking other uploads; trying again in ${left} s`);
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        setProgress(total, total, "Checking the files on the server (waiting for its turn)");
      }
      if (response.redirected) {
        window.location.assign(response.url);
        return;
      }
      showServerErrors(await response.text());
      overall.querySelector(".upload-note").textContent =
        "The server refused the upload (see the messages); the files already sent are kept.";
    } catch (err) {
      overall.querySelector(".upload-note").textContent = `The upload stopped: ${err.message}`;
      form.dataset.uploadError = err.message;
    }
    button.disabled = false;
    refresh();
  };
  form.addEventListener("submit", onSubmit);
  refresh();

  return {
    destroy() {
      form.removeEventListener("submit", onSubmit);
      form.removeEventListener("dragover", onDragOver);
      form.removeEventListener("dragleave", onDragLeave);
      form.removeEventListener("drop", onDrop);
      for (const input of Object.values(inputs)) {
        input.removeEventListener("change", onInputChange);
      }
      zone.remove();
      overall.remove();
    },
  };
}
