import { statSync } from 'node:fs';
import { StartupError } from '../../errors.ts';
import { scanStore, type ModelEntry } from '../../models/index.ts';
import type { LocalBackendDeps } from './backend.ts';
import type { Catalog } from './catalog.ts';
import { loadModel, unloadModel } from './load.ts';

export interface StoreWatchHost {
  readonly deps: LocalBackendDeps;
  readonly catalog: Catalog;
  started(): boolean;
  closed(): boolean;
  /** After versions were added or failed: the gauges. */
  changed(): void;
}

/**
 * Versions loaded one by one as the store has them: at start, and in poll mode every
 * LOUPE_MODEL_POLL_S for the versions it gains (a trainer's output, a copied directory). A
 * version is loaded completely before it becomes the latest, so requests never see a
 * half-loaded one; a broken one is a problem, retried only once its model.onnx changes.
 */
export class StoreWatch {
  private readonly host: StoreWatchHost;
  private timer: NodeJS.Timeout | undefined;
  private refreshing = false;
  /** Versions that failed to load, keyed with model.onnx's mtime so a fixed file is retried. */
  private readonly failedKeys = new Set<string>();

  constructor(host: StoreWatchHost) {
    this.host = host;
  }

  /** Loads one version into the catalog; a failure is recorded as the version's problem. */
  async tryLoad(entry: ModelEntry): Promise<void> {
    const { deps, catalog } = this.host;
    const labels = { model: entry.name, version: entry.version };
    try {
      const model = await loadModel(entry, deps);
      if (this.host.closed()) return unloadModel(model); // closed while a watch-triggered load was under way
      catalog.add(model);
      deps.metrics.modelEvents.inc({ ...labels, event: 'loaded' });
    } catch (err) {
      deps.metrics.modelEvents.inc({ ...labels, event: 'load_failed' });
      // At start, a model that must run on a GPU and cannot stops the process; later, a new
      // version that cannot is skipped like any other broken one.
      if (err instanceof StartupError && !this.host.started()) throw err;
      this.failedKeys.add(entryKey(entry));
      const problem = { name: entry.name, version: entry.version, path: entry.dir, error: (err as Error).message };
      catalog.setProblem(problem);
      deps.logger.error(problem, `model store: skipped ${entry.name}/${entry.version}: ${problem.error}`);
    }
  }

  watch(seconds: number): void {
    if (seconds <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.refresh(), seconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async refresh(): Promise<void> {
    if (this.refreshing || !this.host.started() || this.host.closed()) return;
    const { deps, catalog } = this.host;
    this.refreshing = true;
    try {
      const scan = scanStore(deps.options.modelStore, deps.options.onlyModel);
      for (const entry of scan.entries) {
        if (catalog.has(entry.name, entry.version) || this.failedKeys.has(entryKey(entry))) continue;
        await this.tryLoad(entry);
        if (catalog.has(entry.name, entry.version)) {
          catalog.clearProblem(entry.name, entry.version);
          deps.logger.info(
            { model: entry.name, version: entry.version },
            `new version ${entry.name}/${entry.version} is serving`,
          );
        }
      }
      this.host.changed();
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'model store scan failed');
    } finally {
      this.refreshing = false;
    }
  }
}

function entryKey(e: ModelEntry): string {
  try {
    return `${e.name}/${e.version}@${statSync(e.onnxPath).mtimeMs}:${statSync(e.onnxPath).size}`;
  } catch {
    return `${e.name}/${e.version}@gone`;
  }
}
