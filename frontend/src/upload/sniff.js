/**
 * What a chosen file is, from its first bytes (never its extension), and
 * whether it says where it lies on Earth, so the upload page can put it in
 * the right field and ask for an EPSG code only when a file lacks a CRS.
 *
 * Hand-written on purpose: only a few header fields are needed (TIFF tags
 * and GeoKeys, the LAS header and its projection VLRs); geotiff.js and
 * laz-perf would need a bundler this ES-module client does not have. The
 * server checks every file again, fully: these are hints, not the gate.
 */

const HEAD_BYTES = 64 * 1024;

/** TIFF tags and GeoKeys read here. */
const TAG = {
  samplesPerPixel: 277,
  sampleFormat: 339,
  modelPixelScale: 33550,
  modelTiepoint: 33922,
  modelTransformation: 34264,
  geoKeyDirectory: 34735,
  rpcCoefficients: 50844,
};
const GEOKEY_CRS = [2048, 3072]; // GeographicType, ProjectedCSType
const TYPE_BYTES = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 11: 4, 12: 8, 16: 8 };

/**
 * @typedef {object} FileFacts
 * @property {string} kind "geotiff" | "las" | "laz" | "nitf" | "gpkg" |
 *   "geojson" | "zip" | "fgb" | "jp2" | "jpeg" | "png" | "sidecar" |
 *   "unknown".
 * @property {boolean | null} crs Whether the file names its CRS (null:
 *   cannot tell from the header).
 * @property {boolean | null} georeferenced Whether pixels are placed on the
 *   ground (GeoTIFF only; null elsewhere).
 * @property {number | null} bands Samples per pixel (TIFF).
 * @property {boolean} floating Float samples (TIFF: a DSM, not a photo).
 * @property {boolean} rpc RPC camera model inside (TIFF tag or NITF).
 * @property {string[]} [members] The file names inside a zip.
 * @property {{how: string, key: string}} [image] For a sidecar: the image
 *   it georeferences, by whole name or by stem (see {@link sidecarOf}).
 */

/**
 * The image a sidecar file georeferences, judged from its name as the
 * server judges it (reconstruction/config/file_names.py), or null.
 *
 * @param {string} name The file's name.
 * @param {string[]} suffixes Sidecar endings (the form's
 *   data-sidecar-suffixes, written by the server from the same list).
 * @returns {{how: "name" | "stem", key: string} | null} "name": the sidecar
 *   names the image's whole file name (`a.jpg.aux.xml`); "stem": its name
 *   without the ending (`a.jgw`, `a.prj`). `key` is lower case.
 */
export function sidecarOf(name, suffixes) {
  const lowered = name.toLowerCase();
  if (lowered.endsWith(".aux.xml")) {
    const key = lowered.slice(0, -".aux.xml".length);
    return key ? { how: "name", key } : null;
  }
  const suffix = suffixes.find((s) => lowered.endsWith(s));
  if (!suffix || lowered.length === suffix.length) {
    return null;
  }
  return { how: "stem", key: lowered.slice(0, -suffix.length) };
}

/**
 * Read a file's header and say what it is.
 *
 * @param {Blob} file The chosen or dropped file.
 * @param {string[]} [sidecarSuffixes] Endings of sidecar files, which are
 *   told by name (they are text).
 * @returns {Promise<FileFacts>} What the header says.
 */
export async function inspectFile(file, sidecarSuffixes = []) {
  const image = file.name ? sidecarOf(file.name, sidecarSuffixes) : null;
  if (image) {
    // World files, .prj and .aux.xml are text: only their name says what they are.
    return { kind: "sidecar", crs: null, georeferenced: null, bands: null, floating: false, rpc: false, image };
  }
  const head = new DataView(await file.slice(0, HEAD_BYTES).arrayBuffer());
  const facts = {
    kind: "unknown",
    crs: null,
    georeferenced: null,
    bands: null,
    floating: false,
    rpc: false,
  };
  const text = (offset, length) =>
    String.fromCharCode(
      ...new Uint8Array(head.buffer, offset, Math.min(length, head.byteLength - offset)),
    );
  if (head.byteLength < 4) {
    return facts;
  }
  const magic = text(0, 4);
  if (magic === "II*\u0000" || magic === "MM\u0000*") {
    return { ...facts, ...(await readTiff(file, head)) };
  }
  if (magic === "LASF") {
    return { ...facts, ...(await readLas(file, head)) };
  }
  if (magic === "NITF" || magic === "NSIF") {
    return { ...facts, kind: "nitf", rpc: text(0, head.byteLength).includes("RPC00B") };
  }
  if (text(0, 16) === "SQLite format 3\u0000") {
    return { ...facts, kind: "gpkg" };
  }
  if (magic === "PK\u0003\u0004") {
    return { ...facts, kind: "zip", members: await zipNames(file) };
  }
  if (head.getUint8(0) === 0xff && head.getUint8(1) === 0xd8 && head.getUint8(2) === 0xff) {
    return { ...facts, kind: "jpeg" };
  }
  if (magic === "\u0089PNG") {
    return { ...facts, kind: "png" };
  }
  if (text(0, 3) === "fgb") {
    return { ...facts, kind: "fgb" };
  }
  if (head.getUint32(0) === 12 && text(4, 4) === "jP  ") {
    return { ...facts, kind: "jp2" };
  }
  if (text(0, 200).trimStart().startsWith("{")) {
    return { ...facts, kind: "geojson" };
  }
  return facts;
}

/** Bytes [offset, offset + length) of the file, from the head when there. */
async function bytesAt(file, head, offset, length) {
  if (offset + length <= head.byteLength) {
    return new DataView(head.buffer, offset, length);
  }
  return new DataView(await file.slice(offset, offset + length).arrayBuffer());
}

async function readTiff(file, head) {
  const little = head.getUint8(0) === 0x49;
  if (head.getUint16(2, little) !== 42) {
    return { kind: "geotiff" }; // BigTIFF: leave the details to the server
  }
  const ifd = head.getUint32(4, little);
  const count = (await bytesAt(file, head, ifd, 2)).getUint16(0, little);
  const entries = await bytesAt(file, head, ifd + 2, count * 12);
  const tags = new Map();
  for (let i = 0; i < count; i += 1) {
    const at = i * 12;
    tags.set(entries.getUint16(at, little), {
      type: entries.getUint16(at + 2, little),
      count: entries.getUint32(at + 4, little),
      at,
    });
  }
  // Values of up to 4 bytes sit in the entry itself, longer ones elsewhere.
  const shorts = async (tag) => {
    const entry = tags.get(tag);
    if (!entry) {
      return [];
    }
    const size = (TYPE_BYTES[entry.type] ?? 1) * entry.count;
    const view =
      size <= 4
        ? new DataView(entries.buffer, entries.byteOffset + entry.at + 8, 4)
        : await bytesAt(file, head, entries.getUint32(entry.at + 8, little), size);
    const step = entry.type === 3 ? 2 : 4;
    const read = (k) =>
      step === 2 ? view.getUint16(k * 2, little) : view.getUint32(k * 4, little);
    return Array.from({ length: entry.count }, (_, k) => read(k));
  };
  const keys = await shorts(TAG.geoKeyDirectory);
  const crs = hasCrsKey(keys);
  const [bands] = await shorts(TAG.samplesPerPixel);
  const [format] = await shorts(TAG.sampleFormat);
  return {
    kind: "geotiff",
    crs,
    georeferenced:
      tags.has(TAG.modelTransformation) ||
      (tags.has(TAG.modelTiepoint) && tags.has(TAG.modelPixelScale)),
    bands: bands ?? 1,
    floating: format === 3,
    rpc: tags.has(TAG.rpcCoefficients),
  };
}

/**
 * Whether a GeoKey directory (header of 4 shorts, then entries of KeyID,
 * location, count, value) names a geographic or projected CRS; a file that
 * only has a citation such as "unnamed" does not.
 */
function hasCrsKey(keys) {
  for (let k = 4; k + 3 < keys.length; k += 4) {
    if (GEOKEY_CRS.includes(keys[k]) && (keys[k + 1] !== 0 || keys[k + 3] !== 0)) {
      return true;
    }
  }
  return false;
}

function geoKeysNameCrs(view, little) {
  const keys = Array.from({ length: Math.floor(view.byteLength / 2) }, (_, i) => view.getUint16(i * 2, little));
  return hasCrsKey(keys);
}

async function readLas(file, head) {
  const little = true;
  const globalEncoding = head.getUint16(6, little);
  const headerSize = head.getUint16(94, little);
  const vlrCount = head.getUint32(100, little);
  const compressed = (head.getUint8(104) & 0x80) !== 0;
  let offset = headerSize;
  let crs = false;
  for (let i = 0; i < vlrCount && i < 1000; i += 1) {
    const vlr = await bytesAt(file, head, offset, 54);
    const user = String.fromCharCode(...new Uint8Array(vlr.buffer, vlr.byteOffset + 2, 16));
    const record = vlr.getUint16(18, little);
    const length = vlr.getUint16(20, little);
    if (user.startsWith("LASF_Projection") && (record === 2112 || record === 34735)) {
      const data = await bytesAt(file, head, offset + 54, length);
      crs ||= record === 2112 ? length > 1 : geoKeysNameCrs(data, little);
    }
    offset += 54 + length;
  }
  // LAS 1.4 may keep its WKT in an extended VLR at the end of the file.
  if (!crs && (globalEncoding & 0x10) !== 0 && head.getUint8(25) >= 4) {
    const start = Number(head.getBigUint64(235, little));
    const count = head.getUint32(243, little);
    let at = start;
    for (let i = 0; i < count && i < 100 && at + 60 <= file.size; i += 1) {
      const evlr = await bytesAt(file, head, at, 60);
      const user = String.fromCharCode(...new Uint8Array(evlr.buffer, evlr.byteOffset + 2, 16));
      if (user.startsWith("LASF_Projection") && evlr.getUint16(18, little) === 2112) {
        crs = true;
      }
      at += 60 + Number(evlr.getBigUint64(20, little));
    }
  }
  return { kind: compressed ? "laz" : "las", crs };
}

/**
 * The names of a zip's members, from its central directory at the end of
 * the file (read without unpacking anything); [] when it cannot be read
 * (e.g. a ZIP64 archive: the server still checks it).
 */
async function zipNames(file) {
  const tailLength = Math.min(file.size, 22 + 65535);
  const tail = new DataView(await file.slice(file.size - tailLength).arrayBuffer());
  let end = -1;
  for (let at = tail.byteLength - 22; at >= 0; at -= 1) {
    if (tail.getUint32(at, true) === 0x06054b50) {
      end = at;
      break;
    }
  }
  if (end < 0) {
    return [];
  }
  const count = tail.getUint16(end + 10, true);
  const size = tail.getUint32(end + 12, true);
  const offset = tail.getUint32(end + 16, true);
  if (offset + size > file.size) {
    return [];
  }
  const directory = new DataView(await file.slice(offset, offset + size).arrayBuffer());
  const names = [];
  const decoder = new TextDecoder();
  for (let at = 0, k = 0; k < count && at + 46 <= directory.byteLength; k += 1) {
    if (directory.getUint32(at, true) !== 0x02014b50) {
      break;
    }
    const nameLength = directory.getUint16(at + 28, true);
    const skip = directory.getUint16(at + 30, true) + directory.getUint16(at + 32, true);
    names.push(decoder.decode(new Uint8Array(directory.buffer, directory.byteOffset + at + 46, nameLength)));
    at += 46 + nameLength + skip;
  }
  return names;
}
