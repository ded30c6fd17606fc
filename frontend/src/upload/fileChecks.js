/**
 * What the upload page knows about files before sending them: which field
 * each belongs in, and what is wrong with it, alone and beside the other
 * files of its field (tiles, and the sidecars that georeference them). The
 * server checks every file again, fully: these are hints, not the gate.
 */

/**
 * What each file field accepts, in the words the page shows. `several`:
 * the field takes several files (tiles, and sidecars beside their images).
 */
export const ACCEPTS = {
  ortho: {
    kinds: ["geotiff", "jp2", "jpeg", "png", "zip", "sidecar"],
    label: "an image (GeoTIFF, JPEG 2000, or JPEG/PNG with its world file)",
    several: true,
  },
  dsm: { kinds: ["geotiff", "jp2", "zip", "sidecar"], label: "a GeoTIFF of heights", several: true },
  lidar: { kinds: ["las", "laz"], label: "a LAS/LAZ point cloud", several: true },
  footprints: { kinds: ["gpkg", "geojson", "zip", "fgb"], label: "a vector file of polygons" },
  second_image: { kinds: ["geotiff", "jp2"], label: "a GeoTIFF image" },
  stereo_1: { kinds: ["geotiff", "nitf"], label: "a satellite image with RPCs" },
  stereo_2: { kinds: ["geotiff", "nitf"], label: "a satellite image with RPCs" },
  stereo_3: { kinds: ["geotiff", "nitf"], label: "a satellite image with RPCs" },
};
export const KIND_NAMES = {
  geotiff: "GeoTIFF",
  jp2: "JPEG 2000",
  jpeg: "JPEG image",
  png: "PNG image",
  sidecar: "georeferencing sidecar",
  las: "LAS point cloud",
  laz: "LAZ point cloud",
  nitf: "NITF image",
  gpkg: "GeoPackage",
  geojson: "GeoJSON",
  zip: "zip archive",
  fgb: "FlatGeobuf",
  unknown: "file of unknown type",
};
/** Endings of the images a zip of tiles holds (the server's list in backend/areas/bundles.py). */
const IMAGE_ENDINGS = [".tif", ".tiff", ".jp2", ".j2k", ".jpg", ".jpeg", ".png"];

/** The field a dropped file (not a sidecar: those follow their image) belongs in. */
export function fieldFor(facts) {
  if (facts.kind === "las" || facts.kind === "laz") {
    return "lidar";
  }
  if (facts.kind === "zip") {
    const names = (facts.members ?? []).map((n) => n.toLowerCase());
    const images = names.some((n) => IMAGE_ENDINGS.some((e) => n.endsWith(e)));
    return images && !names.some((n) => n.endsWith(".shp")) ? "ortho" : "footprints";
  }
  if (ACCEPTS.footprints.kinds.includes(facts.kind)) {
    return "footprints";
  }
  if (facts.kind === "nitf" || facts.rpc) {
    return null; // the caller picks the next free stereo field
  }
  if (facts.kind === "geotiff" && (facts.floating || facts.bands === 1)) {
    return "dsm";
  }
  if (["geotiff", "jp2", "jpeg", "png"].includes(facts.kind)) {
    return "ortho"; // several are the tiles of one orthophoto; a second image is chosen in its own field
  }
  return null;
}

/** Whether a sidecar's `image` ({how, key}) names the file called `name`. */
export function names(image, name) {
  const lowered = name.toLowerCase();
  return image.how === "name" ? lowered === image.key : lowered.replace(/\.[^.]*$/, "") === image.key;
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

/**
 * The checks of a field's files taken together: each sidecar needs its
 * image beside it, a JPEG or PNG needs a world file or `.aux.xml` (it holds
 * no position itself), and a world file alone gives no CRS.
 *
 * @param {{file: File, facts: object}[]} entries The field's files.
 * @returns {{ problems: string[], notes: string[], needsEpsg: boolean }[]}
 *   One check per entry, to add to its `checkFile`.
 */
export function checkTogether(entries) {
  const sidecars = entries.filter((e) => e.facts.kind === "sidecar");
  return entries.map(({ file, facts }) => {
    const check = { problems: [], notes: [], needsEpsg: false };
    if (facts.kind === "sidecar") {
      if (!entries.some((e) => e.facts.kind !== "sidecar" && names(facts.image, e.file.name))) {
        const image = facts.image.how === "name" ? facts.image.key : `${facts.image.key}.*`;
        check.problems.push(`${file.name} georeferences ${image}, which is not among these files: add it, or remove ${file.name}.`);
      }
    } else if (facts.kind === "jpeg" || facts.kind === "png") {
      const own = sidecars.filter((e) => names(e.facts.image, file.name)).map((e) => e.file.name.toLowerCase());
      const placed = own.some((n) => !n.endsWith(".prj"));
      if (!placed) {
        check.problems.push(
          `${file.name} holds no position: add its world file (${file.name.replace(/\.[^.]*$/, "")}.${facts.kind === "png" ? "pgw" : "jgw"} or .wld) or ${file.name}.aux.xml beside it.`,
        );
      } else {
        check.notes.push(`placed by ${own.join(", ")}`);
        if (!own.some((n) => n.endsWith(".prj") || n.endsWith(".aux.xml"))) {
          check.needsEpsg = true;
          check.notes.push(`${file.name}'s world file gives its position but no CRS: give its EPSG code below, or add its .prj.`);
        }
      }
    }
    return check;
  });
}
