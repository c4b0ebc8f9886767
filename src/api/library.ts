// What the library offers beside the verbs the CLI uses: the image store's
// functions and the check report's text. Imported by index.ts only (these
// load the image and check code at once, which the CLI loads lazily).
export { formatCheckReport } from '../check/check.js';
export { importImage, importImages, type ImportOptions, type ImportProgress, type ImportResult } from '../image/import.js';
export { listImages, inspectImage, type ImageInspection, type ImageRootOption } from '../image/api.js';
export { findImage, layerDirs, materializeRootfs, type ImageRecord, type ImageConfig } from '../image/store.js';
