/**
 * Build step for the static files (run by scripts/setup.sh before collectstatic; `npm run build`).
 *
 * 1. The app's own JavaScript: each page's entry module (src/main.js for the 3D viewer,
 * src/upload/main.js, src/progress/main.js) and everything it imports, ~40 small modules from src/,
 * bundled into ONE minified ES module with a linked source map, written to
 * build/rs3d-bundle/<digest>/<entry> and served at /static/rs3d-bundle/<digest>/<entry>: one
 * request on the first view instead of one per module. <digest> is appBundleDigest(): a digest of
 * the files the bundles are made from (src/**.js and .css, this script, package-lock.json),
 * computed the same way by backend.serving.static_files.app_bundle_folder, which names the folder
 * the pages load. Bundles built from other sources are thus never served under the current name (a
 * page whose sources changed since the last build asks for a folder that does not exist), and
 * browsers may keep each file for good (Cache-Control: immutable). With RS3D_DEBUG the pages load
 * the modules of src/ themselves (/static/rs3d/...), no build needed.
 *
 * CesiumJS is in the viewer's bundle, tree-shaken: in the bundle only, src/viewer/cesium.js (which
 * with RS3D_DEBUG imports Cesium's whole ES module build, index.js, at run time) is replaced by a
 * module that imports from the `cesium` package exactly the symbols the sources use, as
 * `Cesium.Name` (cesiumSymbols() finds them, and stops the build if a module uses `Cesium` in a
 * way it cannot see), and exports them as the same `Cesium` object: about 1.0 MB less on the
 * wire than index.js (brotli), one request instead of two. Two parts of Cesium the viewer never
 * runs are left out (bundledCesium): the Gaussian-splat SPZ decoder, and meshoptimizer's encoder,
 * simplifier and clusterizer (Cesium imports only its decoder). Cesium still loads its Workers and
 * Assets at run time from CESIUM_BASE_URL, its own versioned folder (src/viewer/cesiumBaseUrl.js).
 * The viewer page's style sheets are bundled too: src/viewer/page.css imports site.css, Cesium's
 * CesiumWidget.css and viewer.css into one file.
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
 * time, which resolves to the bundled createXxxGeometry.js next to it (itself self-contained).
 * The app bundles have none (src/viewer/cesium.js's import of index.js is not in them).
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
/** Style sheets bundled with the files they @import, relative to src/ (the viewer page's). */
const APP_STYLES = ["viewer/page.css"];
/** The one module of src/ that imports CesiumJS, exporting its namespace as `Cesium`. */
const CESIUM_MODULE = join(APP_SRC, "viewer", "cesium.js");
/** Sets `globalThis.CESIUM_BASE_URL` from the page; the bundled Cesium module imports it first. */
const CESIUM_BASE_URL_MODULE = join(APP_SRC, "viewer", "cesiumBaseUrl.js");

/**
 * Every dynamic `import()` of a literal path stays a run-time import (for a worker, of the file
 * next to it). The app bundles have none: their Cesium is bundled.
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

/** A module's code as esbuild prints it: no comments, `Cesium["X"]` written `Cesium.X`. */
async function plainCode(path) {
  const { code } = await esbuild.transform(readFileSync(path, "utf8"), {
    loader: "js",
    format: "esm",
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "none",
  });
  return code;
}

/**
 * The names the modules of `src` (frontend/src) use of CesiumJS, sorted: every `X` of
 * `Cesium.X`, where `Cesium` is what they import from src/viewer/cesium.js
 * (`import { Cesium } from "./cesium.js"`).
 *
 * Throws, naming the module, where a module imports cesium.js any other way (another name, a
 * namespace, a re-export) or uses `Cesium` other than as `Cesium.X` (destructuring, `Cesium[name]`,
 * passing it on): the bundle's Cesium would then lack what that code reads.
 */
export async function cesiumSymbols(src = APP_SRC) {
  const cesiumModule = join(src, relative(APP_SRC, CESIUM_MODULE));
  const names = new Set();
  const modules = readdirSync(src, { recursive: true })
    .filter((name) => name.endsWith(".js"))
    .map((name) => join(src, name))
    .filter((path) => path !== cesiumModule && statSync(path).isFile());
  for (const path of modules) {
    let code = await plainCode(path);
    const where = relative(dirname(src), path);
    for (const [quoted, spec] of code.matchAll(/["'`]([^"'`]*cesium\.js)["'`]/g)) {
      if (join(dirname(path), spec) !== cesiumModule) continue;
      // esbuild prints an import whose names are only read in comments as `import"spec";`.
      const statement = `import{Cesium}from${quoted};`;
      code = code.replaceAll(`import${quoted};`, "");
      if (code.includes(quoted) && !code.includes(statement)) {
        throw new Error(
          `${where} imports ${spec} other than as \`import { Cesium } from "${spec}"\`: the build cannot see what it uses of Cesium`,
        );
      }
      code = code.replaceAll(statement, "");
    }
    for (const use of code.matchAll(/\bCesium\b(?:\.([A-Za-z_$][\w$]*))?/g)) {
      if (use[1] === undefined) {
        const at = code.slice(Math.max(0, use.index - 40), use.index + 40);
        throw new Error(
          `${where} uses Cesium other than as Cesium.Name (…${at}…): the build cannot see what it reads; write Cesium.Name`,
        );
      }
      names.add(use[1]);
    }
  }
  return [...names].sort();
}

/** The bundle's src/viewer/cesium.js: `Cesium`, of the named symbols only, after the base URL is set. */
function bundledCesiumModule(names) {
  const list = names.join(", ");
  return [
    `import ${JSON.stringify(CESIUM_BASE_URL_MODULE)};`,
    `import { ${list} } from "cesium";`,
    `export const Cesium = Object.freeze({ ${list} });`,
  ].join("\n");
}

/**
 * In the app bundles: src/viewer/cesium.js is bundledCesiumModule(names); two packages Cesium
 * imports but the viewer never runs are left out. `@spz-loader/core` decodes Gaussian splats
 * (SPZ, in glTF), which rs3d never writes: a module whose loadSpz fails with a clear message.
 * `meshoptimizer`'s index re-exports its encoder, simplifier, clusterizer and tangent generator
 * besides MeshoptDecoder, all Cesium imports: its own `meshoptimizer/decoder` entry instead.
 */
function bundledCesium(names) {
  return {
    name: "bundled-cesium",
    setup(build) {
      build.onResolve({ filter: /cesium\.js$/ }, (args) =>
        args.kind !== "dynamic-import" &&
        join(args.resolveDir, args.path) === CESIUM_MODULE
          ? { path: CESIUM_MODULE, namespace: "rs3d-cesium" }
          : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: "rs3d-cesium" }, () => ({
        contents: bundledCesiumModule(names),
        resolveDir: APP_SRC,
        loader: "js",
      }));
      build.onResolve({ filter: /^@spz-loader\/core$/ }, () => ({
        path: "spz",
        namespace: "rs3d-no-splats",
      }));
      build.onLoad({ filter: /.*/, namespace: "rs3d-no-splats" }, () => ({
        contents: `export async function loadSpz() {
  throw new Error("Gaussian splats are not supported by rs3d's viewer build");
}`,
        loader: "js",
      }));
      build.onResolve({ filter: /^meshoptimizer$/ }, (args) =>
        build.resolve("meshoptimizer/decoder", {
          kind: args.kind,
          resolveDir: args.resolveDir,
        }),
      );
    },
  };
}

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
 * The digest of what the app bundles are made from: every .js and .css file under src/, this
 * script and package-lock.json (esbuild's and Cesium's versions), by path relative to
 * frontend/. It must equal backend.serving.static_files.app_bundle_folder's
 * (tests/backend/test_app_bundle.py checks).
 *
 * @returns {string} 10 hex digits.
 */
export function appBundleDigest() {
  const sources = readdirSync(APP_SRC, { recursive: true })
    .filter((name) => name.endsWith(".js") || name.endsWith(".css"))
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
async function bundleInto(folder, { plugins = [], ...options }) {
  const result = await esbuild.build({
    bundle: true,
    splitting: false,
    format: "esm",
    platform: "browser",
    minify: true,
    legalComments: "eof",
    logLevel: "warning",
    plugins: [...plugins, keepDynamicImports],
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
  const cesium = await cesiumSymbols();
  const { written } = await bundleInto(APP_OUT, {
    entryPoints: [...APP_ENTRIES, ...APP_STYLES].map((name) => join(APP_SRC, name)),
    outbase: APP_SRC,
    outdir: join(APP_OUT, digest),
    sourcemap: "linked",
    plugins: [bundledCesium(cesium)],
  });
  return {
    folder: join(APP_OUT, digest),
    entries: APP_ENTRIES.length,
    styles: APP_STYLES.length,
    cesium: cesium.length,
    written,
  };
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
    `App pages: ${app.entries} bundled into ${app.folder} (${app.written} changed), with ${app.cesium} symbols of Cesium and ${app.styles} style sheet`,
  );
  const { entries, written } = await buildCesiumWorkers();
  console.log(
    `Cesium workers: ${entries} bundled into ${WORKERS_OUT} (${written} changed)`,
  );
}
