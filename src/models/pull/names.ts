// Model names from what a source is called; apart from source.ts so the sources import them
// without a cycle through the parser that picks the source.

/** A model name from a file or repository name: store names allow letters, digits, ".", "_", "-". */
export function nameFrom(raw: string): string {
  const n = raw
    .replace(/\.onnx$/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128);
  return n || 'model';
}

/** The last path segment that is not "model.onnx"/"onnx"/"model" (…/resnet50/onnx/model.onnx → resnet50). */
export function nameFromPath(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  const useful = parts.reverse().find((s) => !/^(model(\.onnx)?|onnx|\d+)$/i.test(s));
  return nameFrom(useful ?? 'model');
}
