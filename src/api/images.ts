// The image verbs (import, ls, inspect, rm), loaded on first use: they bring
// node-tar and the store, which the other verbs never need.
export async function imageVerbs() {
  const [api, imports, remove, reference, format] = await Promise.all([
    import('../image/api.js'),
    import('../image/import.js'),
    import('../image/remove.js'),
    import('../image/reference.js'),
    import('../image/format.js'),
  ]);
  return {
    listImages: api.listImages,
    inspectImage: api.inspectImage,
    importImages: imports.importImages,
    removeImage: remove.removeImage,
    splitImageName: reference.splitImageName,
    formatSize: format.formatSize,
  };
}
