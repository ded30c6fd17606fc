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
import { ACCEPTS, KIND_NAMES, checkFile, checkTogether, fieldFor, names } from "./fileChecks.js";
import { inspectFile } from "./sniff.js";

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
  const sidecarSuffixes = (form.dataset.sidecarSuffixes ?? "").split(",").filter(Boolean);
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
  const button = form.querySelector("button[type=submit]");
  const inputs = Object.fromEntries(
    Object.keys(ACCEPTS)
      .map((name) => [name, form.querySelector(`input[type=file][name=${name}]`)])
      .filter(([, input]) => input),
  );
  /** field -> [{ file, facts, check, bar }]: a field of several files holds tiles and sidecars. */
  const chosen = new Map();
  const staged = new Map(); // File -> staged upload id: sent already, kept after a refusal
  const epsgInput = form.querySelector("[name=epsg]");
  const epsgField = epsgInput?.closest(".field");
  const epsgGiven = () => Boolean(epsgInput?.value);
  const allEntries = () => [...chosen.values()].flat();
  const epsgWanted = () =>
    allEntries().some((c) => c.check.needsEpsg) ||
    epsgGiven() ||
    Boolean(epsgField?.classList.contains("has-error"));

  const zone = document.createElement("div");
  zone.className = "drop-zone";
  zone.tabIndex = 0;
  zone.innerHTML =
    "<strong>Drop your files here</strong><span>orthophoto tiles with their world files, DSM, LiDAR tiles, " +
    "footprints, stereo images: each goes to its field by what it is. Or choose them field by field below.</span>";
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

  const showFiles = (name) => {
    const status = statusOf(name);
    status.replaceChildren();
    for (const entry of chosen.get(name) ?? []) {
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
      bar.value = staged.has(entry.file) ? 1 : 0;
      status.append(bar);
      entry.bar = bar;
    }
  };

  const refresh = () => {
    if (epsgField) {
      epsgField.hidden = !epsgWanted();
    }
    const problems = allEntries().flatMap((c) => c.check.problems);
    button.disabled = problems.length > 0;
    form.dataset.problems = String(problems.length);
  };

  /** Set a field's files, check them alone and together, and show them. */
  const setField = (name, entries) => {
    if (!entries.length) {
      chosen.delete(name);
    } else {
      const together = checkTogether(entries);
      chosen.set(
        name,
        entries.map(({ file, facts }, k) => {
          const alone = checkFile(name, file, facts, maxBytes);
          return {
            file,
            facts,
            check: {
              problems: [...alone.problems, ...together[k].problems],
              notes: [...alone.notes, ...together[k].notes],
              needsEpsg: alone.needsEpsg || together[k].needsEpsg,
            },
          };
        }),
      );
    }
    showFiles(name);
  };

  const inspectAll = (files) => Promise.all(files.map(async (file) => ({ file, facts: await inspectFile(file, sidecarSuffixes) })));

  const onInputChange = async (event) => {
    const input = event.target;
    setField(input.name, await inspectAll([...(input.files ?? [])]));
    refresh();
  };
  for (const input of Object.values(inputs)) {
    input.addEventListener("change", onInputChange);
  }

  /** Route dropped files: each to its field by content, then each sidecar to the field of its image. */
  const dropFiles = async (files) => {
    const found = await inspectAll(files);
    const fields = new Map([...chosen.entries()].map(([name, entries]) => [name, [...entries]]));
    const put = (name, entry) => {
      const kept = ACCEPTS[name].several ? (fields.get(name) ?? []).filter((e) => e.file.name !== entry.file.name) : [];
      fields.set(name, [...kept, entry]);
    };
    for (const entry of found.filter((e) => e.facts.kind !== "sidecar")) {
      const stereo = ["stereo_1", "stereo_2", "stereo_3"];
      const name =
        fieldFor(entry.facts) ??
        (entry.facts.kind === "nitf" || entry.facts.rpc ? stereo.find((n) => !fields.has(n)) ?? "stereo_3" : "ortho");
      put(name, entry);
    }
    for (const entry of found.filter((e) => e.facts.kind === "sidecar")) {
      const home = ["ortho", "dsm"].find((name) =>
        (fields.get(name) ?? []).some((e) => e.facts.kind !== "sidecar" && names(entry.facts.image, e.file.name)),
      );
      put(home ?? "ortho", entry);
    }
    for (const [name, entries] of fields) {
      // Keep the files in their input too, so the page looks as if they had been chosen there.
      const transfer = new DataTransfer();
      for (const { file } of entries) {
        transfer.items.add(file);
      }
      inputs[name].files = transfer.files;
      setField(name, entries);
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
      showFiles(name); // the "give an EPSG code" hint goes once one is typed
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
    const pending = allEntries().filter((entry) => !staged.has(entry.file));
    const total = pending.reduce((sum, c) => sum + c.file.size, 0);
    let done = 0;
    try {
      for (const entry of pending) {
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
        staged.set(entry.file, id);
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
        for (const entry of chosen.get(name) ?? []) {
          data.append(`${name}_upload`, staged.get(entry.file));
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
