import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Role } from '../../../src/lifecycle/index.ts';

/** A role that records its calls; `fail` makes onStart throw after acquiring a resource. */
class Probe extends Role {
  calls: string[] = [];
  open = 0;
  private readonly fail: boolean;
  constructor(fail: boolean) {
    super();
    this.fail = fail;
  }
  protected async onStart(): Promise<void> {
    this.calls.push('start');
    this.open++;
    if (this.fail) throw new Error('database unreachable');
  }
  protected async onStop(): Promise<void> {
    this.calls.push('stop');
    this.open = 0;
  }
}

describe('Role lifecycle', () => {
  it('start and stop are idempotent and name their states', async () => {
    const r = new Probe(false);
    assert.equal(r.state, 'created');
    await Promise.all([r.start(), r.start()]);
    assert.equal(r.state, 'running');
    await Promise.all([r.stop(), r.stop()]);
    assert.equal(r.state, 'stopped');
    assert.deepEqual(r.calls, ['start', 'stop']);
  });

  it('a failed start releases what it opened, rejects, and a later stop does not release twice', async () => {
    const r = new Probe(true);
    await assert.rejects(r.start(), /database unreachable/);
    assert.equal(r.state, 'failed');
    assert.equal(r.open, 0);
    await r.stop();
    assert.equal(r.state, 'stopped');
    assert.deepEqual(r.calls, ['start', 'stop']);
  });

  it('stop during a start waits for it, then stops', async () => {
    const r = new Probe(false);
    const started = r.start();
    const stopped = r.stop();
    assert.equal(r.state, 'stopping');
    await started;
    await stopped;
    assert.equal(r.state, 'stopped');
    assert.deepEqual(r.calls, ['start', 'stop']);
  });
});
