import { ErrorCode, LoupeError, quoted } from '../../errors.ts';
import { scanStore, type ModelEntry, type StoreProblem } from '../../models/index.ts';
import {
  checkControlTarget,
  checkUnloadParameters,
  parseLoadParameters,
  type ControlParameters,
  type ControlResult,
  type LoadOptions,
  type ModelControlMode,
} from '../control.ts';
import type { LocalBackendDeps } from './backend.ts';
import type { Catalog } from './catalog.ts';
import { loadModel, unloadModel, type LoadedModel } from './load.ts';

export interface ControlHost {
  readonly deps: LocalBackendDeps;
  readonly catalog: Catalog;
  readonly mode: ModelControlMode;
  closed(): boolean;
  /** After every change: the gauges; with `model`, whether that model is now wanted (readiness). */
  changed(model?: { name: string; wanted: boolean }): void;
}

/**
 * Triton's explicit model control over the local backend. Calls for one model run one after
 * another (no two loads make two sessions); a load builds every new session before it swaps
 * them in at once and drains the old ones; an unload stops new requests at once and lets the
 * admitted ones finish before the session threads end.
 */
export class ModelControl {
  private readonly host: ControlHost;
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(host: ControlHost) {
    this.host = host;
  }

  /** The mode first, then the name and parameters: a poll server refuses any load as disabled (Triton's order). */
  load(name: string, parameters: ControlParameters): Promise<ControlResult> {
    this.allowed('load');
    checkControlTarget(name);
    const opts = parseLoadParameters(name, parameters);
    return this.serialized(name, () => this.reload(name, opts));
  }

  unload(name: string, parameters: ControlParameters): Promise<ControlResult> {
    this.allowed('unload');
    checkControlTarget(name);
    checkUnloadParameters(parameters);
    return this.serialized(name, () => this.drain(name));
  }

  /** Resolves when every call under way has ended (close waits for it). */
  async settled(): Promise<void> {
    await Promise.all([...this.queues.values()].map((p) => p.catch(() => undefined)));
  }

  private allowed(what: 'load' | 'unload'): void {
    const { mode } = this.host;
    if (mode === 'explicit') return;
    const why =
      mode === 'poll'
        ? 'the server loads what the model store holds and watches it'
        : 'models never change after start';
    throw new LoupeError(
      ErrorCode.ModelControlDisabled,
      `explicit model ${what} is not allowed: LOUPE_MODEL_CONTROL is ${mode} (${why}); set LOUPE_MODEL_CONTROL=explicit`,
    );
  }

  private serialized<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const before = this.queues.get(name) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(fn);
    const tail = run.catch(() => undefined);
    this.queues.set(name, tail);
    void tail.then(() => {
      if (this.queues.get(name) === tail) this.queues.delete(name);
    });
    return run;
  }

  private async reload(name: string, opts: LoadOptions): Promise<ControlResult> {
    const { deps, catalog } = this.host;
    const { entries, problems } = this.scan(name);
    for (const e of entries) if (!catalog.has(name, e.version)) catalog.setState(name, e.version, 'LOADING', 'loading');
    const fresh = new Map<string, LoadedModel>();
    for (const e of entries) {
      try {
        fresh.set(e.version, await loadModel(e, deps, opts.batching));
      } catch (err) {
        await Promise.all([...fresh.values()].map(unloadModel));
        this.failed(entries, e, err as Error);
        throw new LoupeError(
          ErrorCode.BadRequest,
          `failed to load ${quoted(name)} version ${e.version}: ${(err as Error).message}`,
        );
      }
    }
    if (this.host.closed()) {
      await Promise.all([...fresh.values()].map(unloadModel));
      throw new LoupeError(ErrorCode.NotReady, 'the server is shutting down');
    }
    const old = catalog.put(name, fresh);
    catalog.clearProblem(name);
    for (const p of problems) catalog.setProblem(p); // the store's broken versions stay listed (drain too)
    for (const e of entries) deps.metrics.modelEvents.inc({ model: name, version: e.version, event: 'loaded' });
    this.host.changed({ name, wanted: true });
    deps.logger.info({ model: name, versions: [...fresh.keys()] }, `model ${name} loaded (model control)`);
    // The new sessions serve already; the replaced ones finish what they admitted.
    await this.release(old);
    return {};
  }

  private async drain(name: string): Promise<ControlResult> {
    const { deps, catalog } = this.host;
    const known = catalog.versions(name) ?? catalog.stateOf(name) ?? catalog.problems.find((p) => p.name === name);
    if (!known && this.scan(name, false).entries.length === 0)
      throw new LoupeError(
        ErrorCode.ModelNotFound,
        `failed to unload ${quoted(name)}: no such model is loaded or in the store`,
      );
    const taken = catalog.take(name);
    for (const m of taken) catalog.setState(name, m.entry.version, 'UNLOADING', 'unloading');
    this.host.changed({ name, wanted: false });
    await this.release(taken);
    for (const m of taken) catalog.setState(name, m.entry.version, 'UNAVAILABLE', 'unloaded');
    // A failed load is forgotten; the store's broken versions stay listed, as after start, a
    // poll or a reload (Triton's index lists what the repository holds, loaded or not).
    catalog.clearProblem(name);
    for (const p of this.scan(name, false).problems) catalog.setProblem(p);
    deps.logger.info(
      { model: name, versions: taken.map((m) => m.entry.version) },
      `model ${name} unloaded (model control)`,
    );
    return {};
  }

  private async release(models: LoadedModel[]): Promise<void> {
    await Promise.all(models.map(unloadModel));
    for (const m of models)
      this.host.deps.metrics.modelEvents.inc({ model: m.entry.name, version: m.entry.version, event: 'unloaded' });
    this.host.changed();
  }

  /** The store's versions of `name` and its broken ones, read now; none is a 404 (or the store's reason it is broken). */
  private scan(name: string, strict = true): { entries: ModelEntry[]; problems: StoreProblem[] } {
    const { modelStore, onlyModel } = this.host.deps.options;
    const scan = scanStore(modelStore, onlyModel);
    const entries = scan.entries.filter((e) => e.name === name);
    const problems = scan.problems.filter((p) => p.name === name);
    if (entries.length || !strict) return { entries, problems };
    const problem = scan.problems.find((p) => p.name === name || p.name === '*');
    if (problem) throw new LoupeError(ErrorCode.BadRequest, `failed to load ${quoted(name)}: ${problem.error}`);
    throw new LoupeError(
      ErrorCode.ModelNotFound,
      `failed to load ${quoted(name)}: no such model in the model store (failed to poll from model repository)`,
    );
  }

  /** A load failed: the failing version is a problem, the others go back to what they were. */
  private failed(entries: readonly ModelEntry[], bad: ModelEntry, err: Error): void {
    const { deps, catalog } = this.host;
    deps.metrics.modelEvents.inc({ model: bad.name, version: bad.version, event: 'load_failed' });
    for (const e of entries)
      if (!catalog.has(e.name, e.version) && e !== bad)
        catalog.setState(e.name, e.version, 'UNAVAILABLE', 'not loaded');
    catalog.setProblem({ name: bad.name, version: bad.version, path: bad.dir, error: err.message });
    this.host.changed();
    deps.logger.error(
      { model: bad.name, version: bad.version, err: err.message },
      `load of ${bad.name}/${bad.version} failed`,
    );
  }
}
