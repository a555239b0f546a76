import type { ModelEntry } from './store.ts';

/** What ONNX Runtime reports about a loaded graph, reduced to what the config must agree with. */
export interface SessionShape {
  readonly inputs: ReadonlyArray<{
    name: string;
    shape: ReadonlyArray<number | string> | undefined;
    type: string | undefined;
  }>;
  readonly outputs: ReadonlyArray<{
    name: string;
    shape: ReadonlyArray<number | string> | undefined;
    type: string | undefined;
  }>;
}

/** Returns the mismatches between model.json/labels.txt and the ONNX graph (empty: consistent). */
export function checkSession(entry: ModelEntry, shape: SessionShape): string[] {
  const errors: string[] = [];
  const { input, output } = entry.config;
  const inp = shape.inputs.find((i) => i.name === input.name);
  if (!inp) {
    errors.push(`input "${input.name}" is not in the graph (inputs: ${shape.inputs.map((i) => i.name).join(', ')})`);
  } else {
    if (inp.type && inp.type !== 'float32') errors.push(`input "${input.name}" is ${inp.type}; Loupe feeds float32`);
    const want = [input.color === 'rgb' ? 3 : 1, input.height, input.width];
    const dims = inp.shape;
    if (dims && dims.length !== 4) errors.push(`input "${input.name}" has rank ${dims.length}; expected NCHW (rank 4)`);
    else if (dims) {
      want.forEach((w, i) => {
        const d = dims[i + 1];
        if (typeof d === 'number' && d !== w)
          errors.push(`input "${input.name}" dim ${i + 1} is ${d}; model.json says ${w}`);
      });
    }
  }
  const outName = output.name ?? shape.outputs[0]?.name;
  const out = shape.outputs.find((o) => o.name === outName);
  if (!out) {
    errors.push(`output "${outName}" is not in the graph (outputs: ${shape.outputs.map((o) => o.name).join(', ')})`);
  } else {
    const last = out.shape?.[out.shape.length - 1];
    if (out.shape && out.shape.length !== 2)
      errors.push(`output "${out.name}" has rank ${out.shape.length}; expected [batch, classes]`);
    if (typeof last === 'number' && last !== entry.labels.length) {
      errors.push(`output "${out.name}" has ${last} classes but labels.txt has ${entry.labels.length} lines`);
    }
  }
  return errors;
}
