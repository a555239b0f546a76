import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { checkSession, readEntry, scanStore, type ModelEntry, type StoreProblem } from '../../models/index.ts';
import { createSession } from './session.ts';

export interface ValidateReport {
  readonly ok: boolean;
  readonly lines: string[];
}

/**
 * `loupe models validate <dir>`: <dir> is a model store, a model (<store>/<name>) or one
 * version (<store>/<name>/<version>). Every version is loaded with ONNX Runtime and its
 * graph checked against model.json and labels.txt.
 */
export async function validateModels(dir: string): Promise<ValidateReport> {
  const target = path.resolve(dir);
  const { entries, problems } = collect(target);
  const lines: string[] = [];
  let ok = problems.length === 0 && entries.length > 0;
  for (const p of problems) lines.push(`✗ ${p.name}${p.version ? `/${p.version}` : ''}: ${p.error} (${p.path})`);
  for (const entry of entries) {
    const label = `${entry.name}/${entry.version}`;
    try {
      const s = await createSession(entry.onnxPath, {
        intraOpThreads: 1,
        interOpThreads: 1,
        executionProviders: ['cpu'],
      });
      const errors = checkSession(entry, s);
      await s.session.release();
      const inp = s.inputs.find((i) => i.name === entry.config.input.name);
      const out = s.outputs.find((o) => o.name === (entry.config.output.name ?? s.outputs[0]?.name));
      if (errors.length) {
        ok = false;
        lines.push(`✗ ${label}`);
        for (const e of errors) lines.push(`    - ${e}`);
      } else {
        lines.push(
          `✓ ${label}: input ${inp?.name} [${inp?.shape?.join(', ')}] ${entry.config.input.color}, output ${out?.name} [${out?.shape?.join(', ')}] ${entry.config.output.kind}, ${entry.labels.length} labels`,
        );
      }
    } catch (err) {
      ok = false;
      lines.push(`✗ ${label}: ONNX Runtime cannot load ${entry.onnxPath}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (entries.length === 0 && problems.length === 0) lines.push(`✗ no model versions found under ${target}`);
  const failed = lines.filter((l) => l.startsWith('✗')).length;
  lines.push(ok ? `OK: ${entries.length} model version(s) valid` : `FAILED: ${failed} problem(s)`);
  return { ok, lines };
}

function collect(target: string): { entries: ModelEntry[]; problems: StoreProblem[] } {
  const base = path.basename(target);
  if (/^\d+$/.test(base)) {
    const nameDir = path.dirname(target);
    const r = readEntry(nameDir, path.basename(nameDir), String(Number(base)), target);
    return 'error' in r ? { entries: [], problems: [r] } : { entries: [r], problems: [] };
  }
  const isModelDir =
    existsSync(path.join(target, 'model.json')) ||
    (existsSync(target) && readdirSync(target).some((f) => /^\d+$/.test(f)));
  if (!isModelDir) return scanStore(target);
  const scan = scanStore(path.dirname(target));
  return {
    entries: scan.entries.filter((e) => e.name === base),
    problems: scan.problems.filter((p) => p.name === base),
  };
}
