/**
 * Build step for the static files (run by scripts/setup.sh before collectstatic; `npm run build`).
 *
 * Cesium's Web Workers: Cesium's own build splits the code its workers share into ~60 small
 * `Workers/chunk-*.js` modules, so each worker type the viewer starts (createGeometry,
 * createPolygonGeometry, createVerticesFromHeightmap, ...) imports dozens of them: about 90
 * requests on the first view. This bundles each worker entry of that build into ONE
 * self-contained ES module, written to build/cesium/Workers/<name>.js; Django's
 * STATICFILES_DIRS lists build/cesium before Cesium's own folder, so
 * /static/cesium/Workers/<name>.js is the bundled one (the first match wins).
 *
 * Dynamic imports stay dynamic: createGeometry loads `./createXxxGeometry.js` by name at run
 * time, which resolves to the bundled createXxxGeometry.js next to it (itself self-contained).
 *
 * Idempotent and offline: a file is written only when its bytes change (collectstatic and
 * its compression then skip it), and files no entry makes any more are removed.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const HERE = dirname(fileURLToPath(import.meta.url));
const CESIUM_WORKERS = join(HERE, "node_modules", "cesium", "Build", "Cesium", "Workers");
export const WORKERS_OUT = join(HERE, "build", "cesium", "Workers");

/** Every dynamic `import()` stays a run-time import of the file next to the worker. */
const keepDynamicImports = {
  name: "keep-dynamic-imports",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      args.kind === "dynamic-import"
        ? { path: args.path, external: true }
        : undefined,
    );
  },
};

/**
 * Write `files` (name -> bytes) into `folder`, each only if its bytes changed; remove the
 * folder's other .js files.
 *
 * @returns {number} How many files were written.
 */
function sync(folder, files) {
  mkdirSync(folder, { recursive: true });
  let written = 0;
  for (const [name, bytes] of files) {
    const path = join(folder, name);
    let old = null;
    try {
      old = readFileSync(path);
    } catch {
      // new file
    }
    if (old === null || !old.equals(bytes)) {
      writeFileSync(path, bytes);
      written += 1;
    }
  }
  for (const name of readdirSync(folder)) {
    if (!files.has(name)) rmSync(join(folder, name), { force: true });
  }
  return written;
}

/** Bundle each of Cesium's worker entries into one file; returns how many changed. */
export async function buildCesiumWorkers() {
  const entries = readdirSync(CESIUM_WORKERS)
    .filter((name) => name.endsWith(".js") && !name.startsWith("chunk-"))
    .sort();
  const result = await esbuild.build({
    entryPoints: entries.map((name) => join(CESIUM_WORKERS, name)),
    outdir: WORKERS_OUT,
    bundle: true,
    splitting: false,
    format: "esm",
    platform: "browser",
    minify: true,
    legalComments: "eof",
    logLevel: "warning",
    plugins: [keepDynamicImports],
    write: false,
  });
  const files = new Map(
    result.outputFiles.map((file) => [
      file.path.slice(WORKERS_OUT.length + 1),
      Buffer.from(file.contents),
    ]),
  );
  const written = sync(WORKERS_OUT, files);
  return { entries: files.size, written };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { entries, written } = await buildCesiumWorkers();
  console.log(
    `Cesium workers: ${entries} bundled into ${WORKERS_OUT} (${written} changed)`,
  );
}
