/**
 * Build step for the static files (run by scripts/setup.sh before collectstatic; `npm run build`).
 *
 * 1. The app's own JavaScript: each page's entry module (src/main.js for the 3D viewer,
 * src/upload/main.js, src/progress/main.js) and everything it imports, ~40 small modules from
 * src/, bundled into ONE minified ES module with a linked source map, written to
 * build/rs3d-bundle/<digest>/<entry> and served at /static/rs3d-bundle/<digest>/<entry>: one
 * request on the first view instead of one per module. <digest> is appBundleDigest(): a digest of
 * the files the bundles are made from (src/**.js, this script, package-lock.json), computed the
 * same way by backend.serving.static_files.app_bundle_folder, which names the folder the pages
 * load. Bundles built from other sources are thus never served under the current name (a page
 * whose sources changed since the last build asks for a folder that does not exist), and browsers
 * may keep each file for good (Cache-Control: immutable). With RS3D_DEBUG the pages load the
 * modules of src/ themselves (/static/rs3d/...), no build needed. CesiumJS is not bundled:
 * src/viewer/cesium.js imports it at run time, from its own versioned folder.
 *
 * 2. Cesium's Web Workers: Cesium's own build splits the code its workers share into ~60 small
 * `Workers/chunk-*.js` modules, so each worker type the viewer starts (createGeometry,
 * createPolygonGeometry, createVerticesFromHeightmap, ...) imports dozens of them: about 90
 * requests on the first view. This bundles each worker entry of that build into ONE
 * self-contained ES module, written to build/cesium/Workers/<name>.js; Django's
 * STATICFILES_DIRS lists build/cesium before Cesium's own folder, so
 * /static/cesium/Workers/<name>.js is the bundled one (the first match wins).
 *
 * Dynamic imports stay dynamic: createGeometry loads `./createXxxGeometry.js` by name at run
 * time, which resolves to the bundled createXxxGeometry.js next to it (itself self-contained);
 * the app's one dynamic import is Cesium's index.js.
 *
 * Idempotent and offline: a file is written only when its bytes change (collectstatic and
 * its compression then skip it), and files no entry makes any more are removed.
 */
import { createHash } from "node:crypto";
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const HERE = dirname(fileURLToPath(import.meta.url));
const CESIUM_WORKERS = join(HERE, "node_modules", "cesium", "Build", "Cesium", "Workers");
export const WORKERS_OUT = join(HERE, "build", "cesium", "Workers");
const APP_SRC = join(HERE, "src");
export const APP_OUT = join(HERE, "build", "rs3d-bundle");
/** The pages' entry modules, relative to src/: each becomes one bundle. */
const APP_ENTRIES = ["main.js", "upload/main.js", "progress/main.js"];

/**
 * Every dynamic `import()` of a literal path stays a run-time import (for a worker, of the file
 * next to it). The app's one, Cesium's index.js, has a computed path, which esbuild leaves as it is.
 */
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
 * Write `files` (path relative to `folder` -> bytes) into `folder`, each only if its bytes
 * changed; remove the folder's other files, and the folders left empty.
 *
 * @returns {number} How many files were written.
 */
function sync(folder, files) {
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
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
      written += 1;
    }
  }
  mkdirSync(folder, { recursive: true });
  // Deepest first, so a folder is looked at once its files are gone.
  const names = readdirSync(folder, { recursive: true }).sort().reverse();
  for (const name of names) {
    const path = join(folder, name);
    if (!statSync(path).isDirectory()) {
      if (!files.has(name)) rmSync(path, { force: true });
    } else if (readdirSync(path).length === 0) {
      rmSync(path, { recursive: true });
    }
  }
  return written;
}

/**
 * The digest of what the app bundles are made from: every .js file under src/, this script
 * and package-lock.json (esbuild's version), by path relative to frontend/. It must equal
 * backend.serving.static_files.app_bundle_folder's (tests/backend/test_app_bundle.py checks).
 *
 * @returns {string} 10 hex digits.
 */
export function appBundleDigest() {
  const sources = readdirSync(APP_SRC, { recursive: true })
    .filter((name) => name.endsWith(".js"))
    .filter((name) => statSync(join(APP_SRC, name)).isFile())
    .map((name) => `src/${name.split(sep).join("/")}`);
  const hash = createHash("sha256");
  for (const name of [...sources, "build.mjs", "package-lock.json"].sort()) {
    hash.update(`${name}\0`);
    hash.update(readFileSync(join(HERE, name)));
    hash.update("\0");
  }
  return hash.digest("hex").slice(0, 10);
}

/**
 * Bundle `options.entryPoints` with esbuild, each into one minified, self-contained ES module
 * whose dynamic imports stay run-time imports, and sync the output into `folder`.
 *
 * @returns {{files: number, written: number}} How many files the build made, and changed.
 */
async function bundleInto(folder, options) {
  const result = await esbuild.build({
    bundle: true,
    splitting: false,
    format: "esm",
    platform: "browser",
    minify: true,
    legalComments: "eof",
    logLevel: "warning",
    plugins: [keepDynamicImports],
    write: false,
    ...options,
  });
  const files = new Map(
    result.outputFiles.map((file) => [
      relative(folder, file.path),
      Buffer.from(file.contents),
    ]),
  );
  return { files: files.size, written: sync(folder, files) };
}

/** Bundle each page's entry module into one file; returns its folder and how many changed. */
export async function buildAppBundles() {
  const digest = appBundleDigest();
  const { written } = await bundleInto(APP_OUT, {
    entryPoints: APP_ENTRIES.map((name) => join(APP_SRC, name)),
    outbase: APP_SRC,
    outdir: join(APP_OUT, digest),
    sourcemap: "linked",
  });
  return { folder: join(APP_OUT, digest), entries: APP_ENTRIES.length, written };
}

/** Bundle each of Cesium's worker entries into one file; returns how many changed. */
export async function buildCesiumWorkers() {
  const entries = readdirSync(CESIUM_WORKERS)
    .filter((name) => name.endsWith(".js") && !name.startsWith("chunk-"))
    .sort();
  const { files, written } = await bundleInto(WORKERS_OUT, {
    entryPoints: entries.map((name) => join(CESIUM_WORKERS, name)),
    outdir: WORKERS_OUT,
  });
  return { entries: files, written };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const app = await buildAppBundles();
  console.log(
    `App pages: ${app.entries} bundled into ${app.folder} (${app.written} changed)`,
  );
  const { entries, written } = await buildCesiumWorkers();
  console.log(
    `Cesium workers: ${entries} bundled into ${WORKERS_OUT} (${written} changed)`,
  );
}
