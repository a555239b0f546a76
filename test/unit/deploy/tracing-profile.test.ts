import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../../../src/config/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
interface Service {
  image: string;
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string>;
  networks?: string[];
  ports?: string[];
  depends_on?: Record<string, unknown>;
}
const compose = parse(readFileSync(path.join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean }>;
};
/** ${VAR:-default} as Compose reads it with VAR unset. */
const unset = (v: string) => v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
const ROLES = ['gateway', 'model', 'worker'];

describe('compose.yaml: the optional tracing profile', () => {
  it('runs Jaeger only with --profile tracing, pinned, reachable by every role, its UI on LOUPE_BIND', () => {
    const jaeger = compose.services.jaeger!;
    assert.deepEqual(jaeger.profiles, ['tracing'], 'a plain `docker-compose up` stays as it was');
    assert.match(unset(jaeger.image), /^jaegertracing\/jaeger:\d+\.\d+\.\d+$/);
    assert.ok(jaeger.command!.join(' ').includes('receivers.otlp.protocols.http.endpoint=0.0.0.0:4318'));
    for (const role of ROLES) {
      const shared = compose.services[role]!.networks!.filter((n) => jaeger.networks!.includes(n));
      assert.ok(shared.length > 0, `${role} reaches jaeger`);
      assert.equal(compose.services[role]!.depends_on?.jaeger, undefined, `${role} starts without it`);
    }
    assert.deepEqual(jaeger.ports, ['${LOUPE_BIND:-127.0.0.1}:${JAEGER_UI_PORT:-16686}:16686']);
  });

  it('wires OTEL_* into the roles: off by default, to Jaeger when OTEL_TRACES_EXPORTER=otlp', () => {
    for (const role of ROLES) {
      const env = Object.fromEntries(
        Object.entries(compose.services[role]!.environment!)
          .filter(([k]) => k.startsWith('OTEL_'))
          .map(([k, v]) => [k, unset(String(v))]),
      );
      assert.equal(env.OTEL_TRACES_EXPORTER, '');
      assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://jaeger:4318');
      // What the role makes of it: off as it stands, and Jaeger's traces URL once switched on.
      assert.equal(loadConfig(env).tracing, undefined);
      const on = loadConfig({ ...env, OTEL_TRACES_EXPORTER: 'otlp' }).tracing;
      assert.equal(on?.url, 'http://jaeger:4318/v1/traces');
    }
  });
});
