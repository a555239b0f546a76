import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.ts';
import { createLogger, type Metrics } from '../../../src/observability/index.ts';
import { roleAdmission } from '../../../src/roles/options.ts';
import { ServingRole, type ServingRoleDeps } from '../../../src/roles/serving.ts';
import { StubBackend } from '../../helpers/stub-backend.ts';

const deps = (env: Record<string, string> = {}): ServingRoleDeps => {
  const config = loadConfig({ PORT: '0', LOUPE_GRPC_PORT: '0', HOST: '127.0.0.1', ...env });
  return { config, logger: createLogger('silent', { pretty: false }), version: '0.0.0-test' };
};

/** The smallest role of the common shape: a stub backend, its surfaces, nothing else. */
class Probe extends ServingRole<StubBackend> {
  private readonly counts: { closed: number };
  private readonly surface: 'api' | 'ops';
  constructor(d: ServingRoleDeps, surface: 'api' | 'ops' = 'api') {
    const counts = { closed: 0 };
    super(d, (_metrics: Metrics) => {
      const backend = new StubBackend();
      backend.close = async () => void counts.closed++;
      return backend;
    });
    this.counts = counts;
    this.surface = surface;
  }
  get closed(): number {
    return this.counts.closed;
  }
  protected async onStart(): Promise<void> {
    await this.surfaces.open({
      surface: this.surface,
      admission: roleAdmission(this.deps.config, { clientLimits: false }),
    });
  }
}

describe('a role of the common shape (ServingRole, Surfaces)', () => {
  it('listens on HTTP and gRPC, answers on both addresses, and releases everything once on stop', async () => {
    const role = new Probe(deps());
    await Promise.all([role.start(), role.start()]);
    assert.equal(role.state, 'running');
    assert.match(role.address, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(role.grpcAddress, /^127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${role.address}/livez`)).status, 200);
    await Promise.all([role.stop(), role.stop()]);
    assert.equal(role.state, 'stopped');
    assert.equal(role.closed, 1);
    assert.equal(role.address, '');
  });

  it('has no gRPC when LOUPE_GRPC_PORT is off, nor on the ops surface (the worker)', async () => {
    for (const role of [new Probe(deps({ LOUPE_GRPC_PORT: 'off' })), new Probe(deps(), 'ops')]) {
      await role.start();
      assert.match(role.address, /^http:/);
      assert.equal(role.grpcAddress, '');
      await role.stop();
    }
  });

  it('a start that fails (gRPC port taken) releases the HTTP listener it had opened', async () => {
    const first = new Probe(deps());
    await first.start();
    const port = first.grpcAddress.split(':').pop()!;
    const second = new Probe(deps({ LOUPE_GRPC_PORT: port }));
    await assert.rejects(second.start(), /gRPC cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
    assert.equal(second.state, 'failed');
    assert.equal(second.address, '');
    assert.equal(second.closed, 1);
    await first.stop();
  });
});
