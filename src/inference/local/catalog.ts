import type { StoreProblem } from '../../models/index.ts';
import type { ModelInfo, VersionStatus } from '../types.ts';
import type { LoadedModel } from './load.ts';

/**
 * What the local backend knows of each version: the ones serving (sessions and batchers),
 * the store entries that could not be loaded (problems), and the ones that are neither —
 * loading, unloading, unloaded or not loaded in explicit mode — with why, for the index.
 */
export class Catalog {
  /** name → version → model; versions kept sorted ascending. */
  private readonly models = new Map<string, Map<string, LoadedModel>>();
  private problemList: StoreProblem[] = [];
  private readonly states = new Map<string, VersionStatus>();

  get problems(): readonly StoreProblem[] {
    return this.problemList;
  }

  set problems(list: readonly StoreProblem[]) {
    this.problemList = [...list];
  }

  names(): IterableIterator<string> {
    return this.models.keys();
  }

  versions(name: string): ReadonlyMap<string, LoadedModel> | undefined {
    return this.models.get(name);
  }

  has(name: string, version: string): boolean {
    return this.models.get(name)?.has(version) ?? false;
  }

  list(): LoadedModel[] {
    return [...this.models.values()].flatMap((v) => [...v.values()]);
  }

  infos(): ModelInfo[] {
    return this.list().map((m) => m.info);
  }

  /** Adds one version (the store watch); the model's other versions keep serving. */
  add(m: LoadedModel): void {
    const versions = new Map(this.models.get(m.entry.name));
    versions.set(m.entry.version, m);
    this.put(m.entry.name, versions);
  }

  /** Every version of `name` at once (a load): returns the ones it replaced. */
  put(name: string, versions: ReadonlyMap<string, LoadedModel>): LoadedModel[] {
    const old = [...(this.models.get(name)?.values() ?? [])].filter((m) => versions.get(m.entry.version) !== m);
    if (versions.size === 0) this.models.delete(name);
    else this.models.set(name, new Map([...versions].sort(([a], [b]) => Number(a) - Number(b))));
    for (const v of versions.keys()) this.states.delete(key(name, v));
    return old;
  }

  /** Stops serving every version of `name` (new requests are refused from now on); returns them. */
  take(name: string): LoadedModel[] {
    const all = [...(this.models.get(name)?.values() ?? [])];
    this.models.delete(name);
    return all;
  }

  clear(): LoadedModel[] {
    const all = this.list();
    this.models.clear();
    return all;
  }

  setState(name: string, version: string, state: VersionStatus['state'], reason: string): void {
    this.states.set(key(name, version), { name, version, state, reason });
  }

  clearState(name: string, version: string): void {
    this.states.delete(key(name, version));
  }

  /** Why `name` serves nothing, when the catalog knows it (unloaded, loading…). */
  stateOf(name: string): VersionStatus | undefined {
    return [...this.states.values()].find((s) => s.name === name);
  }

  /** The versions that are neither serving nor failed, for the repository index. */
  statuses(): VersionStatus[] {
    return [...this.states.values()];
  }

  setProblem(p: StoreProblem): void {
    this.clearState(p.name, p.version ?? '');
    this.problemList = [...this.problemList.filter((x) => !(x.name === p.name && x.version === p.version)), p];
  }

  clearProblem(name: string, version?: string): void {
    this.problemList = this.problemList.filter(
      (p) => !(p.name === name && (version === undefined || p.version === version)),
    );
  }
}

const key = (name: string, version: string) => `${name}/${version}`;
