import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

// The Swarm stack is its own file (docs/swarm.md: why not one source); this
// keeps it and compose.yaml telling the same story.
const ROOT = path.resolve(import.meta.dirname, '../../..');
interface Service {
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  networks?: string[];
  secrets?: string[];
  ports?: Array<Record<string, unknown>>;
  deploy?: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  depends_on?: unknown;
}
const load = (file: string) =>
  parse(readFileSync(path.join(ROOT, file), 'utf8'), { merge: true }) as {
    version?: string;
    services: Record<string, Service>;
    networks: Record<string, { internal?: boolean }>;
    secrets: Record<string, { file: string }>;
    configs?: Record<string, { file: string }>;
  };
const compose = load('compose.yaml');
const stack = load('deploy/swarm/stack.yaml');

describe('deploy/swarm/stack.yaml against compose.yaml', () => {
  it('has the same services, commands, environment, networks and secrets', () => {
    // The tracing profile's Jaeger is a Compose convenience; on Swarm the operator names a collector.
    const composeOnly = (name: string) => name !== 'jaeger';
    assert.deepEqual(Object.keys(stack.services).sort(), Object.keys(compose.services).filter(composeOnly).sort());
    for (const [name, c] of Object.entries(compose.services).filter(([n]) => composeOnly(n))) {
      const s = stack.services[name]!;
      assert.deepEqual(s.command, c.command, `${name}: command`);
      // Swarm-only: a stopping task keeps serving while callers' DNS caches forget it.
      const swarmOnly = (k: string) => k !== 'LOUPE_SHUTDOWN_DELAY_MS';
      assert.deepEqual(
        Object.keys(s.environment ?? {})
          .filter(swarmOnly)
          .sort(),
        Object.keys(c.environment ?? {}).sort(),
        `${name}: env`,
      );
      // Swarm has no network_mode: none; the trainer gets the internal network instead.
      if (name !== 'train') assert.deepEqual(s.networks, c.networks, `${name}: networks`);
      assert.deepEqual(s.secrets, c.secrets, `${name}: secrets`);
      assert.equal(s.depends_on, undefined, `${name}: Swarm rejects depends_on conditions`);
    }
    assert.deepEqual(stack.networks.backend!.internal, true);
    assert.deepEqual(Object.keys(stack.networks).sort(), Object.keys(compose.networks).sort());
    for (const [k, v] of Object.entries(compose.secrets))
      assert.equal(path.resolve(ROOT, 'deploy/swarm', stack.secrets[k]!.file), path.resolve(ROOT, v.file), k);
    assert.equal(
      path.resolve(ROOT, 'deploy/swarm', stack.configs!.nginx_conf!.file),
      path.resolve(ROOT, 'deploy/nginx/loupe.conf'),
    );
  });

  it('pulls Loupe from the registry, rolls start-first with rollback, and restarts one-shots on failure only', () => {
    assert.ok(stack.version, 'Docker 20.10 stack deploy needs the version key');
    for (const name of ['gateway', 'model', 'worker']) {
      const s = stack.services[name]!;
      assert.equal(s.image, '${LOUPE_REGISTRY:-127.0.0.1:5000}/loupe:${LOUPE_VERSION:-latest}');
      assert.equal(s.deploy!.endpoint_mode, 'dnsrr');
      assert.equal(s.deploy!.update_config.order, 'start-first');
      assert.equal(s.deploy!.update_config.failure_action, 'rollback');
      assert.ok(s.deploy!.rollback_config);
      assert.ok(s.deploy!.resources.limits.memory);
    }
    assert.equal(stack.services.db!.deploy!.update_config.order, 'stop-first');
    assert.equal(stack.services.migrate!.deploy!.restart_policy.condition, 'on-failure');
    assert.equal(stack.services['models-init']!.deploy!.mode, 'global');
    // HTTP and gRPC published next to each other, as compose does.
    assert.deepEqual(
      stack.services.proxy!.ports!.map((p) => p.target),
      [8080, 8081],
    );
  });

  it("model control reaches the model servers in both (the gateway's own setting is not used)", () => {
    for (const [file, services] of [
      ['compose.yaml', compose.services],
      ['deploy/swarm/stack.yaml', stack.services],
    ] as const) {
      const env = services.model!.environment!;
      assert.equal(env.LOUPE_MODEL_CONTROL, '${LOUPE_MODEL_CONTROL:-poll}', file);
      assert.equal(env.LOUPE_STARTUP_MODELS, '${LOUPE_STARTUP_MODELS:-}', file);
      for (const role of ['gateway', 'worker'])
        assert.equal(services[role]!.environment!.LOUPE_MODEL_CONTROL, undefined, `${file} ${role}`);
    }
  });
});
