import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { CHART, helm } from '../../helpers/helm.ts';
import { unknownFieldErrors, validateWithModels, type K8sObject } from '../../helpers/k8s-validate.ts';

// Offline: helm lint/template from the helm binary in an npm package, every rendered object
// checked against the Kubernetes API schemas (kubernetes-models) and its field names
// (kubernetes-types + tsc). No cluster is involved (see docs/kubernetes.md, "What was validated offline").
const VALUES = {
  default: [],
  production: ['-f', path.join(CHART, 'ci/production-values.yaml')],
  minimal: ['-f', path.join(CHART, 'ci/minimal-values.yaml')],
} as const;
type Variant = keyof typeof VALUES;
// CRDs kubernetes-models does not carry; checked by field below.
const CRDS = new Set(['monitoring.coreos.com/v1/ServiceMonitor']);

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
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const podSpec = (o: K8sObject): any =>
  o.kind === 'Job' || o.kind === 'Deployment' || o.kind === 'StatefulSet' ? o.spec.template.spec : undefined;

describe('Helm chart deploy/helm/loupe', () => {
  const rendered = {} as Record<Variant, K8sObject[]>;
  before(() => {
    for (const v of Object.keys(VALUES) as Variant[]) rendered[v] = render(VALUES[v]);
  });

  it('helm lint --strict passes for the default, production-like and minimal values', () => {
    for (const [v, args] of Object.entries(VALUES)) {
      const r = helm(['lint', '--strict', CHART, ...args]);
      assert.equal(r.status, 0, `${v}: ${r.stdout}${r.stderr}`);
    }
  });

  it('every rendered object passes the Kubernetes API schemas (types, required fields)', async () => {
    for (const v of Object.keys(VALUES) as Variant[]) {
      for (const o of rendered[v]) {
        if (CRDS.has(`${o.apiVersion}/${o.kind}`)) continue;
        await validateWithModels(o);
      }
    }
  });

  it('no rendered object has a field the Kubernetes API does not know', () => {
    const all = (Object.keys(VALUES) as Variant[]).flatMap((v) =>
      rendered[v].filter((o) => !CRDS.has(`${o.apiVersion}/${o.kind}`)),
    );
    assert.equal(unknownFieldErrors(all, 'chart'), '');
  });

  it('the checks can fail: a typo and a wrong type are caught', async () => {
    const dep = structuredClone(find(rendered.default, 'Deployment', 'rel-loupe-gateway'));
    dep.spec.template.spec.containers[0].readinesProbe = dep.spec.template.spec.containers[0].readinessProbe;
    assert.match(unknownFieldErrors([dep], 'typo'), /readinesProbe/);
    const svc = structuredClone(find(rendered.default, 'Service', 'rel-loupe-gateway'));
    svc.spec.ports[0].port = 'eight thousand';
    await assert.rejects(validateWithModels(svc), /port/);
  });

  it('the ServiceMonitor (a CRD) uses only monitoring.coreos.com/v1 fields', () => {
    const sm = find(rendered.production, 'ServiceMonitor', 'rel-loupe');
    assert.deepEqual(Object.keys(sm.spec).sort(), ['endpoints', 'selector']);
    for (const e of sm.spec.endpoints) assert.deepEqual(Object.keys(e).sort(), ['interval', 'path', 'port']);
  });

  it('every pod runs non-root, read-only, no capabilities, seccomp RuntimeDefault, with resources', () => {
    for (const v of Object.keys(VALUES) as Variant[]) {
      for (const o of rendered[v]) {
        const spec = podSpec(o);
        if (!spec) continue;
        const where = `${v}: ${o.kind}/${o.metadata.name}`;
        assert.equal(spec.securityContext.runAsNonRoot, true, where);
        assert.equal(spec.securityContext.seccompProfile.type, 'RuntimeDefault', where);
        assert.equal(spec.automountServiceAccountToken, false, where);
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
          assert.equal(c.securityContext.readOnlyRootFilesystem, true, `${where} ${c.name}`);
          assert.equal(c.securityContext.allowPrivilegeEscalation, false, `${where} ${c.name}`);
          assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], `${where} ${c.name}`);
          assert.ok(c.resources?.limits?.memory, `${where} ${c.name} has a memory limit`);
          const tmp = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
          assert.ok(tmp, `${where} ${c.name} has a writable /tmp`);
        }
      }
    }
  });

  it('the gateway publishes gRPC 8001 next to HTTP 8000: container, Service, Ingress', () => {
    for (const v of Object.keys(VALUES) as Variant[]) {
      const dep = find(rendered[v], 'Deployment', 'rel-loupe-gateway');
      const c = dep.spec.template.spec.containers[0];
      assert.deepEqual(
        c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
        [
          ['http', 8000],
          ['grpc', 8001],
        ],
      );
      assert.equal(c.env.find((e: { name: string }) => e.name === 'LOUPE_GRPC_PORT').value, '8001');
      const svc = find(rendered[v], 'Service', 'rel-loupe-gateway');
      assert.deepEqual(
        svc.spec.ports.map((p: { name: string; port: number }) => [p.name, p.port]),
        [
          ['http', 8000],
          ['grpc', 8001],
        ],
      );
    }
    const grpcIngress = find(rendered.production, 'Ingress', 'rel-loupe-grpc');
    assert.equal(grpcIngress.spec.rules[0].http.paths[0].backend.service.port.name, 'grpc');
  });

  it('the Ingress publishes the API and the web page, never /metrics (unless paths say so)', () => {
    // Kubernetes' matching: Exact is the whole path; Prefix matches whole path elements.
    const routes = (ing: K8sObject, url: string) =>
      ing.spec.rules.some((r: { http: { paths: { path: string; pathType: string }[] } }) =>
        r.http.paths.some(({ path: p, pathType }) => {
          if (pathType === 'Exact') return url === p;
          const base = p.replace(/\/+$/, '');
          return base === '' || url === base || url.startsWith(`${base}/`);
        }),
      );
    const ing = find(rendered.production, 'Ingress', 'rel-loupe');
    for (const url of ['/', '/assets/index.js', '/docs', '/openapi.json', '/predict', '/jobs/1', '/models'])
      assert.ok(routes(ing, url), url);
    for (const url of ['/v2/models/fashion-mnist/infer', '/predictions/1', '/readyz']) assert.ok(routes(ing, url), url);
    assert.equal(routes(ing, '/metrics'), false, 'the gateway serves /metrics unauthenticated, for scrapers');
    const own = render([
      '--set',
      'ingress.enabled=true',
      '--set-json',
      'ingress.hosts=[{"host":"a.example","paths":[{"path":"/","pathType":"Prefix"}]}]',
    ]);
    assert.equal(routes(find(own, 'Ingress', 'rel-loupe'), '/metrics'), true, "a host's own paths win");
  });

  it('the gateway waits a few seconds in preStop, inside its grace period', () => {
    const spec = podSpec(find(rendered.default, 'Deployment', 'rel-loupe-gateway'));
    const [seconds] = spec.containers[0].lifecycle.preStop.exec.command.slice(1).map(Number);
    assert.ok(seconds > 0 && seconds + 10 < spec.terminationGracePeriodSeconds, String(seconds));
  });

  it('model servers: headless Service the gateway resolves, OIP probes, store from values', () => {
    const svc = find(rendered.default, 'Service', 'rel-loupe-model-server');
    assert.equal(svc.spec.clusterIP, 'None');
    const cm = find(rendered.default, 'ConfigMap', 'rel-loupe');
    assert.equal(cm.data.LOUPE_MODEL_SERVER_URL, 'http://rel-loupe-model-server:8000');
    const spec = podSpec(find(rendered.default, 'Deployment', 'rel-loupe-model-server'));
    const c = spec.containers[0];
    assert.equal(c.startupProbe.httpGet.path, '/v2/health/ready');
    assert.ok(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold >= 600, 'minutes to load models');
    assert.equal(c.livenessProbe.httpGet.path, '/v2/health/live');
    assert.equal(c.readinessProbe.httpGet.path, '/v2/health/ready');
    assert.equal(spec.initContainers, undefined, 'default: the bundled models');
    const prod = podSpec(find(rendered.production, 'Deployment', 'rel-loupe-model-server'));
    assert.equal(
      prod.volumes.find((v: { name: string }) => v.name === 'model-store').persistentVolumeClaim.readOnly,
      true,
    );
    find(rendered.production, 'PersistentVolumeClaim', 'rel-loupe-model-store');
    const min = podSpec(find(rendered.minimal, 'Deployment', 'rel-loupe-model-server'));
    assert.equal(min.initContainers[0].env[0].name, 'LOUPE_MODEL_URIS');
    assert.match(min.initContainers[0].command.join(' '), /models pull-all --store \/store --validate/);
  });

  it('autoscaling/v2 on CPU, and on loupe_queue_depth when asked', () => {
    const hpa = find(rendered.default, 'HorizontalPodAutoscaler', 'rel-loupe-gateway');
    assert.deepEqual(
      hpa.spec.metrics.map((m: { type: string }) => m.type),
      ['Resource'],
    );
    const prod = find(rendered.production, 'HorizontalPodAutoscaler', 'rel-loupe-model-server');
    assert.equal(prod.spec.metrics[1].pods.metric.name, 'loupe_queue_depth');
    assert.equal(prod.spec.metrics[1].pods.target.averageValue, '8');
    assert.equal(rendered.minimal.filter((o) => o.kind === 'HorizontalPodAutoscaler').length, 0);
  });

  it('migrations run before install/upgrade (a hook; with the in-chart db a plain Job at install); the database URL comes from a Secret', () => {
    const job = find(rendered.default, 'Job', 'rel-loupe-migrate');
    assert.equal(job.metadata.annotations?.['helm.sh/hook'], 'pre-install,pre-upgrade');
    const env = podSpec(job).containers[0].env.find((e: { name: string }) => e.name === 'LOUPE_DATABASE_URL');
    assert.deepEqual(env.valueFrom.secretKeyRef, { name: 'loupe-database', key: 'url' });
    // In-chart database: created with the release, so the install's migration is a plain Job
    // (a post-install hook would deadlock `helm install --wait`); upgrades use the hook.
    const install = find(rendered.minimal, 'Job', 'rel-loupe-migrate-install');
    assert.equal(install.metadata.annotations?.['helm.sh/hook'], undefined);
    const min = find(rendered.minimal, 'Job', 'rel-loupe-migrate');
    assert.equal(min.metadata.annotations?.['helm.sh/hook'], 'pre-upgrade');
    const upgrade = render(['--is-upgrade', ...VALUES.minimal]);
    assert.deepEqual(
      upgrade.filter((o) => o.kind === 'Job').map((o) => o.metadata.name),
      ['rel-loupe-migrate'],
      'an upgrade renders only the pre-upgrade hook',
    );
    find(rendered.minimal, 'StatefulSet', 'rel-loupe-postgresql');
  });

  it("pods roll when the chart's Secrets change (keys and the webhook secret are read at start)", () => {
    const sum = (objs: K8sObject[], name: string) =>
      find(objs, 'Deployment', name).spec.template.metadata.annotations['checksum/secrets'] as string;
    const changed = render(['--set', 'webhook.secret=another-secret']);
    for (const name of ['rel-loupe-gateway', 'rel-loupe-worker', 'rel-loupe-model-server']) {
      assert.match(sum(rendered.default, name), /^[0-9a-f]{64}$/);
      assert.notEqual(sum(changed, name), sum(rendered.default, name), name);
    }
  });

  it('NetworkPolicies: model servers only from gateway/worker; the in-chart database only from gateway/worker/migration', () => {
    const ms = find(rendered.default, 'NetworkPolicy', 'rel-loupe-model-server');
    const from = ms.spec.ingress[0].from.map(
      (p: { podSelector: { matchLabels: Record<string, string> } }) =>
        p.podSelector.matchLabels['app.kubernetes.io/component'],
    );
    assert.deepEqual(from, ['gateway', 'worker']);
    const egress = find(rendered.default, 'NetworkPolicy', 'rel-loupe-model-server-egress');
    assert.deepEqual(
      egress.spec.egress[0].ports.map((p: { port: number }) => p.port),
      [53, 53],
    );
    const pg = render(['--set', 'postgresql.enabled=true']);
    const db = find(pg, 'NetworkPolicy', 'rel-loupe-postgresql');
    assert.deepEqual(db.spec.ingress[0].from[0].podSelector.matchExpressions[1].values, [
      'gateway',
      'worker',
      'migration',
    ]);
  });

  it('values that must fail do fail (values.schema.json)', () => {
    const bad: Record<string, string[]> = {
      'unknown key': ['--set', 'gateway.replicas=3'],
      'root user': ['--set', 'podSecurityContext.runAsNonRoot=false'],
      'writable root': ['--set', 'securityContext.readOnlyRootFilesystem=false'],
      'store source': ['--set', 'modelServer.modelStore.source=s3'],
      'pull without uris': ['--set', 'modelServer.modelStore.source=pull'],
      'no database': ['--set', 'database.existingSecret='],
      'bad database url': ['--set', 'database.url=mysql://x'],
      'port range': ['--set', 'gateway.grpcPort=70000'],
      'bad digest': ['--set', 'image.digest=latest'],
      'bad api key line': ['--set-json', 'apiKeys.keys=["just-a-key"]'],
      'bad model name': ['--set', 'config.defaultModel=../etc'],
      'env name': ['--set-json', 'gateway.env={"bad-name":"x"}'],
      // Only model servers have a batch queue: a gateway HPA on it would never see the metric.
      'gateway queue depth': ['--set', 'gateway.autoscaling.queueDepthTarget=4'],
    };
    for (const [what, args] of Object.entries(bad)) {
      const r = helm(['lint', '--strict', CHART, ...args]);
      assert.notEqual(r.status, 0, `${what} must fail: ${r.stdout}`);
      assert.match(r.stdout + r.stderr, /values don't meet the specifications of the schema|schema/, what);
    }
  });
});
