/** Execution providers Loupe knows how to ask onnxruntime-node for, in Loupe's spelling. */
export const KNOWN_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'webgpu', 'dml', 'coreml'] as const;

/** Parses LOUPE_EXECUTION_PROVIDERS ("cuda,webgpu,cpu") into the ordered list to try. */
export function resolveProviders(list: string): string[] {
  const out: string[] = [];
  for (const p of list
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)) {
    if (!(KNOWN_PROVIDERS as readonly string[]).includes(p))
      throw new Error(`unknown execution provider "${p}" (known: ${KNOWN_PROVIDERS.join(', ')})`);
    if (!out.includes(p)) out.push(p);
  }
  return out.length ? out : ['cpu'];
}
