import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../../src/config/index.ts';
import { CHART, helm } from '../../helpers/helm.ts';
import { validateWithModels, type K8sObject } from '../../helpers/k8s-validate.ts';

// The chart's wiring of tracing (the OTEL_* variables, the model servers' egress to the Collector)
// and of model control (LOUPE_MODEL_CONTROL on model servers). helm.test.ts checks the rest of the chart.
type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };

function render(args: readonly string[]): K8sObject[] {
  const r = helm(['template', 'rel', CHART, '--namespace', 'loupe', ...args]);
  assert.equal(r.status, 0, r.stderr);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}
const find = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is rendered`);
  return o;
};
const ROLES = ['gateway', 'model-server', 'worker'] as const;
const envOf = (objs: K8sObject[], kind: string, name: string): EnvVar[] =>
  find(objs, kind, name).spec.template.spec.containers[0].env;
const otel = (env: EnvVar[]) => env.filter((e) => e.name.startsWith('OTEL_'));
const byName = (env: EnvVar[]) => new Map(env.map((e) => [e.name, e]));

const COLLECTOR = 'http://otel-collector.observability:4318';
const PEERS = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } } }];
const ON = [
  '--set',
  'tracing.enabled=true',
  '--set',
  `tracing.endpoint=${COLLECTOR}`,
  '--set',
  'tracing.sampler=parentbased_traceidratio',
  '--set-json',
  'tracing.samplerArg=0.25',
  '--set',
  'tracing.headersSecret.name=otlp-auth',
  '--set',
  'tracing.headersSecret.key=token-headers',
  '--set-json',
  'tracing.resourceAttributes={"deployment.environment.name":"prod"}',
  '--set-json',
  `tracing.to=${JSON.stringify(PEERS)}`,
  '--set',
  'tracing.port=4319',
];

describe('Helm chart: tracing and model control', () => {
  it('tracing off (default): no OTEL_* anywhere, model servers reach DNS only', () => {
    const objs = render([]);
    for (const role of ROLES) assert.deepEqual(otel(envOf(objs, 'Deployment', `rel-loupe-${role}`)), [], role);
    const cm = find(objs, 'ConfigMap', 'rel-loupe');
    assert.deepEqual(
      Object.keys(cm.data).filter((k) => k.startsWith('OTEL_')),
      [],
    );
    const egress = find(objs, 'NetworkPolicy', 'rel-loupe-model-server-egress');
    assert.equal(egress.spec.egress.length, 1);
    assert.deepEqual(
      egress.spec.egress[0].ports.map((p: { port: number }) => p.port),
      [53, 53],
    );
  });

  it('tracing on: the OTEL_* variables on gateway, model-server and worker (not the migration), headers from the Secret', async () => {
    const objs = render(ON);
    for (const role of ROLES) {
      const env = byName(envOf(objs, 'Deployment', `rel-loupe-${role}`));
      assert.equal(env.get('OTEL_TRACES_EXPORTER')?.value, 'otlp', role);
      assert.equal(env.get('OTEL_EXPORTER_OTLP_ENDPOINT')?.value, COLLECTOR, role);
      assert.equal(env.get('OTEL_TRACES_SAMPLER')?.value, 'parentbased_traceidratio', role);
      assert.equal(env.get('OTEL_TRACES_SAMPLER_ARG')?.value, '0.25', role);
      const headers = env.get('OTEL_EXPORTER_OTLP_HEADERS');
      assert.equal(headers?.value, undefined, `${role}: the token is not inline`);
      assert.deepEqual(headers?.valueFrom?.secretKeyRef, { name: 'otlp-auth', key: 'token-headers' }, role);
      assert.equal(
        env.get('OTEL_RESOURCE_ATTRIBUTES')?.value,
        'k8s.namespace.name=loupe,k8s.pod.name=$(K8S_POD_NAME),deployment.environment.name=prod',
        role,
      );
      // $(K8S_POD_NAME) expands only when the variable comes earlier in the list.
      const names = [...env.keys()];
      assert.ok(names.indexOf('K8S_POD_NAME') < names.indexOf('OTEL_RESOURCE_ATTRIBUTES'), role);
    }
    const migration = objs.find((o) => o.kind === 'Job' && o.metadata.name.includes('migrat'));
    assert.ok(migration, 'the migration Job is rendered');
    assert.deepEqual(otel(migration.spec.template.spec.containers[0].env ?? []), []);
    // The token never lands in the ConfigMap, and every object is still a valid Kubernetes object.
    assert.doesNotMatch(JSON.stringify(find(objs, 'ConfigMap', 'rel-loupe').data), /OTEL/);
    for (const o of objs) await validateWithModels(o);
  });

  it("tracing on: what Loupe's config makes of a pod's variables (the Secret's headers, $(K8S_POD_NAME) expanded)", () => {
    const objs = render(ON);
    for (const role of ROLES) {
      // As the kubelet would: the Secret's value and the pod's name in, then $(VAR) expanded.
      const given: Record<string, string> = {
        K8S_POD_NAME: `rel-loupe-${role}-7d9f-x2k4q`,
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20t0ken',
      };
      const env: Record<string, string> = {};
      for (const e of envOf(objs, 'Deployment', `rel-loupe-${role}`)) {
        const raw = e.value ?? given[e.name];
        if (raw !== undefined) env[e.name] = raw.replace(/\$\(([A-Z0-9_]+)\)/g, (_, v: string) => env[v] ?? '');
      }
      const tracing = loadConfig(env).tracing;
      assert.ok(tracing, role);
      assert.equal(tracing.url, `${COLLECTOR}/v1/traces`, role);
      assert.equal(tracing.sampler, 'parentbased_traceidratio', role);
      assert.equal(tracing.ratio, 0.25, role);
      assert.deepEqual(tracing.headers, { authorization: 'Bearer t0ken' }, role);
      assert.deepEqual(
        tracing.resourceAttributes,
        {
          'k8s.namespace.name': 'loupe',
          'k8s.pod.name': `rel-loupe-${role}-7d9f-x2k4q`,
          'deployment.environment.name': 'prod',
        },
        role,
      );
      assert.equal(tracing.serviceName, undefined, `${role}: service.name stays loupe-<role>`);
    }
  });

  it('tracing on: model servers may reach the Collector peers on its port only; gateways and workers keep open egress', () => {
    const objs = render(ON);
    const egress = find(objs, 'NetworkPolicy', 'rel-loupe-model-server-egress');
    assert.deepEqual(egress.spec.egress[1], { to: PEERS, ports: [{ port: 4319, protocol: 'TCP' }] });
    // No other policy restricts egress: the gateways' and workers' spans (and database, webhooks) leave.
    const egressPolicies = objs
      .filter((o) => o.kind === 'NetworkPolicy' && o.spec.policyTypes.includes('Egress'))
      .map((o) => o.metadata.name);
    assert.deepEqual(egressPolicies, ['rel-loupe-model-server-egress']);
    // No peers named: the rule still opens only the port.
    const anyPeer = render([...ON, '--set-json', 'tracing.to=[]']);
    const rule = find(anyPeer, 'NetworkPolicy', 'rel-loupe-model-server-egress').spec.egress[1];
    assert.deepEqual(rule, { ports: [{ port: 4319, protocol: 'TCP' }] });
    // NetworkPolicies off: nothing to open.
    const noNp = render([...ON, '--set', 'networkPolicy.enabled=false']);
    assert.equal(noNp.filter((o) => o.kind === 'NetworkPolicy').length, 0);
  });

  it('the production-like values send traces to a Collector, its token from a Secret', () => {
    const objs = render(['-f', path.join(CHART, 'ci/production-values.yaml')]);
    const env = byName(envOf(objs, 'Deployment', 'rel-loupe-model-server'));
    assert.equal(env.get('OTEL_TRACES_EXPORTER')?.value, 'otlp');
    assert.equal(env.get('OTEL_EXPORTER_OTLP_HEADERS')?.valueFrom?.secretKeyRef?.name, 'loupe-otlp-headers');
    const egress = find(objs, 'NetworkPolicy', 'rel-loupe-model-server-egress');
    assert.equal(egress.spec.egress[1].ports[0].port, 4318);
  });

  it('tracing values that must fail do fail, by the schema and (no schema) by the templates', () => {
    const bad: Record<string, string[]> = {
      'bad sampler': ['--set', 'tracing.sampler=sometimes'],
      'sampler ratio above 1': ['--set-json', 'tracing.samplerArg=1.5'],
      'sampler ratio not a number': ['--set', 'tracing.samplerArg=half'],
      'on without endpoint': ['--set', 'tracing.enabled=true'],
      'endpoint without scheme': ['--set', 'tracing.endpoint=collector:4318'],
      'port range': ['--set', 'tracing.port=70000'],
      'comma in a resource attribute': ['--set-json', 'tracing.resourceAttributes={"a":"x,b=y"}'],
      'unknown key': ['--set', 'tracing.insecure=true'],
      'headers in the ConfigMap': ['--set', 'config.env.OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20x'],
      'model control in the ConfigMap': ['--set', 'config.env.LOUPE_MODEL_CONTROL=explicit'],
      'bad model control mode': ['--set', 'modelControl.mode=manual'],
      'bad startup model name': ['--set', 'modelControl.startupModels=../etc'],
    };
    for (const [what, args] of Object.entries(bad)) {
      const r = helm(['lint', '--strict', CHART, ...args]);
      assert.notEqual(r.status, 0, `${what} must fail: ${r.stdout}`);
      assert.match(r.stdout + r.stderr, /at '\/(tracing|config\/env|modelControl)/, what);
    }
    const tpl = helm(['template', 'rel', CHART, '--skip-schema-validation', '--set', 'tracing.enabled=true']);
    assert.notEqual(tpl.status, 0);
    assert.match(tpl.stderr, /tracing\.endpoint is required/);
  });

  it('modelControl: LOUPE_MODEL_CONTROL (and, explicit, LOUPE_STARTUP_MODELS) on model servers only', () => {
    const poll = render([]);
    const pollEnv = byName(envOf(poll, 'Deployment', 'rel-loupe-model-server'));
    assert.equal(pollEnv.get('LOUPE_MODEL_CONTROL')?.value, 'poll');
    assert.equal(pollEnv.has('LOUPE_STARTUP_MODELS'), false);
    const explicit = render([
      '--set',
      'modelControl.mode=explicit',
      '--set-string',
      'modelControl.startupModels=fashion-mnist\\,colors',
    ]);
    const env = byName(envOf(explicit, 'Deployment', 'rel-loupe-model-server'));
    assert.equal(env.get('LOUPE_MODEL_CONTROL')?.value, 'explicit');
    assert.equal(env.get('LOUPE_STARTUP_MODELS')?.value, 'fashion-mnist,colors');
    // The gateway fans calls out and reads neither; the ConfigMap does not carry them to every role.
    for (const role of ['gateway', 'worker']) {
      const names = envOf(explicit, 'Deployment', `rel-loupe-${role}`).map((e) => e.name);
      assert.ok(!names.includes('LOUPE_MODEL_CONTROL') && !names.includes('LOUPE_STARTUP_MODELS'), role);
    }
    assert.equal(find(explicit, 'ConfigMap', 'rel-loupe').data.LOUPE_MODEL_CONTROL, undefined);
  });

  it('NOTES: explicit mode says how to load/unload through the gateway and what a new pod loads; tracing names the Collector', () => {
    const notes = (args: string[]) => {
      const r = helm(['install', 'rel', CHART, '--dry-run=client', '--namespace', 'loupe', ...args]);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.slice(r.stdout.indexOf('NOTES:'));
    };
    const explicit = notes(['--set', 'modelControl.mode=explicit', '--set', 'modelControl.startupModels=colors']);
    assert.match(explicit, /Model control is explicit: model servers loaded colors at start/);
    assert.match(explicit, /POST .*\/v2\/repository\/models\/<model>\/unload/);
    assert.match(explicit, /pod started later .* loads modelControl\.startupModels/);
    const plain = notes([]);
    assert.doesNotMatch(plain, /Model control is explicit|Tracing:/);
    const traced = notes(ON.slice(0, 4));
    assert.match(traced, new RegExp(`Tracing: .* to ${COLLECTOR}`));
    assert.match(traced, /reach any address on port 4318/);
    assert.doesNotMatch(notes(ON), /reach any address/);
  });
});
