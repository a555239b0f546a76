import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
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
  gpu: ['-f', path.join(CHART, 'ci/gpu-values.yaml')],
  // What the kind job on GitHub installs (ci.yml), with the key it adds.
  kind: [
    '-f',
    path.join(CHART, 'ci/kind-values.yaml'),
    '--set-json',
    `apiKeys.keys=["kind predict,read lp_0123abcd_${'k'.repeat(43)}"]`,
  ],
} as const;
type Variant = keyof typeof VALUES;
// CRDs kubernetes-models does not carry; checked by field below.
const CRDS = new Set(['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule']);

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
  o.kind === 'Pod'
    ? o.spec
    : o.kind === 'Job' || o.kind === 'Deployment' || o.kind === 'StatefulSet'
      ? o.spec.template.spec
      : undefined;
const envOf = (c: { env: { name: string; value?: string }[] }, name: string) =>
  c.env.find((e) => e.name === name)?.value;

describe('Helm chart deploy/helm/loupe', () => {
  const rendered = {} as Record<Variant, K8sObject[]>;
  before(() => {
    for (const v of Object.keys(VALUES) as Variant[]) rendered[v] = render(VALUES[v]);
  });

  it('helm lint --strict passes for the default, production-like, minimal, GPU and kind values', () => {
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
      'spread without topologyKey': [
        '--set-json',
        'modelServer.topologySpreadConstraints=[{"maxSkew":1,"whenUnsatisfiable":"DoNotSchedule"}]',
      ],
      'extraEnv without a name': ['--set-json', 'worker.extraEnv=[{"value":"x"}]'],
      'role image digest': ['--set', 'modelServer.image.digest=latest'],
      'mount without path': ['--set-json', 'gateway.extraVolumeMounts=[{"name":"x"}]'],
      'alert ratio above 1': ['--set', 'prometheusRule.errorRatio=5'],
    };
    for (const [what, args] of Object.entries(bad)) {
      const r = helm(['lint', '--strict', CHART, ...args]);
      assert.notEqual(r.status, 0, `${what} must fail: ${r.stdout}`);
      assert.match(r.stdout + r.stderr, /values don't meet the specifications of the schema|schema/, what);
    }
  });

  it('security settings a cluster refuses are refused by the schema AND by the templates', () => {
    const bad: Record<string, string[]> = {
      'pod uid 0': ['--set', 'podSecurityContext.runAsUser=0'],
      'container uid 0': ['--set', 'securityContext.runAsUser=0'],
      privileged: ['--set', 'securityContext.privileged=true'],
      'added capability': ['--set', 'securityContext.capabilities.add={SYS_ADMIN}'],
      'capabilities null': ['--set', 'securityContext.capabilities=null'],
      'drop without ALL': ['--set', 'securityContext.capabilities.drop={NET_RAW}'],
      'runAsNonRoot false': ['--set', 'podSecurityContext.runAsNonRoot=false'],
    };
    for (const [what, args] of Object.entries(bad)) {
      const schema = helm(['lint', '--strict', CHART, ...args]);
      assert.notEqual(schema.status, 0, `${what}: the schema must refuse it`);
      assert.match(schema.stdout + schema.stderr, /at '\/(podSecurityContext|securityContext)/, what);
      // --skip-schema-validation (or a parent chart) bypasses the schema: the templates' fail.
      const tpl = helm(['template', 'rel', CHART, '--skip-schema-validation', ...args]);
      assert.notEqual(tpl.status, 0, `${what}: the templates must refuse it`);
      assert.match(tpl.stderr, /validate\.yaml.*(runAsUser|privileged|capabilities|runAsNonRoot)/, what);
    }
    // The same switch with sane values renders: the fails are not always on.
    assert.equal(helm(['template', 'rel', CHART, '--skip-schema-validation']).status, 0);
  });

  it('a 53-character release name (Helm maximum) gives names within 63, unique, still pointing at each other', () => {
    const release = 'r'.repeat(53);
    for (const args of [VALUES.default, VALUES.minimal, VALUES.production]) {
      const r = helm(['template', release, CHART, '--namespace', 'loupe', ...args]);
      assert.equal(r.status, 0, r.stderr);
      const objs = parseAllDocuments(r.stdout)
        .map((d) => d.toJSON() as K8sObject | null)
        .filter((o): o is K8sObject => o !== null);
      const seen = new Set<string>();
      for (const o of objs) {
        const { name } = o.metadata;
        // StatefulSet pods carry controller-revision-hash "<name>-<10 chars>", a label value (<= 63).
        const max = o.kind === 'StatefulSet' ? 52 : 63;
        assert.ok(name.length <= max, `${o.kind}/${name}: ${name.length} > ${max}`);
        assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${o.kind}/${name}`);
        assert.ok(!seen.has(`${o.kind}/${name}`), `${o.kind}/${name} twice`);
        seen.add(`${o.kind}/${name}`);
      }
      const services = new Set(objs.filter((o) => o.kind === 'Service').map((o) => o.metadata.name));
      const cm = objs.find((o) => o.kind === 'ConfigMap' && o.data?.LOUPE_MODEL_SERVER_URL);
      const host = new URL(cm!.data.LOUPE_MODEL_SERVER_URL).hostname;
      assert.ok(services.has(host), `LOUPE_MODEL_SERVER_URL names the Service ${host}`);
      for (const o of objs.filter((x) => x.kind === 'HorizontalPodAutoscaler'))
        assert.ok(seen.has(`Deployment/${o.spec.scaleTargetRef.name}`), o.metadata.name);
    }
  });

  it("the model servers' port is one value: pods listen on it, the Service and the gateway's URL use it", () => {
    const objs = render(['--set', 'modelServer.httpPort=9000']);
    const c = podSpec(find(objs, 'Deployment', 'rel-loupe-model-server')).containers[0];
    assert.equal(envOf(c, 'PORT'), '9000');
    assert.equal(c.ports.find((p: { name: string }) => p.name === 'http').containerPort, 9000);
    const svc = find(objs, 'Service', 'rel-loupe-model-server');
    assert.equal(svc.spec.ports[0].port, 9000);
    assert.equal(
      find(objs, 'ConfigMap', 'rel-loupe').data.LOUPE_MODEL_SERVER_URL,
      'http://rel-loupe-model-server:9000',
    );
    // The old second value is gone, so it cannot disagree again.
    assert.notEqual(helm(['lint', '--strict', CHART, '--set', 'modelServer.service.httpPort=9000']).status, 0);
  });

  it('NOTES warn when the ServiceMonitor is on but the NetworkPolicy lets no scraper in', () => {
    const notes = (args: string[]) => {
      const r = helm(['install', 'rel', CHART, '--dry-run=client', '--namespace', 'loupe', ...args]);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.slice(r.stdout.indexOf('NOTES:'));
    };
    assert.match(notes(['--set', 'serviceMonitor.enabled=true']), /WARNING: serviceMonitor is enabled/);
    assert.doesNotMatch(notes(VALUES.production.slice()), /WARNING: serviceMonitor/);
    assert.doesNotMatch(notes([]), /WARNING: serviceMonitor/);
  });

  it('helm test: a hook pod runs files/smoke.mjs against the gateway Service, with a predict key', () => {
    const pod = find(rendered.minimal, 'Pod', 'rel-loupe-smoke');
    assert.equal(pod.metadata.annotations?.['helm.sh/hook'], 'test');
    const c = pod.spec.containers[0];
    assert.equal(envOf(c, 'LOUPE_URL'), 'http://rel-loupe-gateway:8000');
    assert.equal(envOf(c, 'LOUPE_GRPC'), 'rel-loupe-gateway:8001');
    assert.equal(envOf(c, 'LOUPE_API_KEYS_FILE'), '/run/secrets/loupe/api_keys');
    const keys = pod.spec.volumes.find((v: { name: string }) => v.name === 'api-keys');
    assert.equal(keys.secret.secretName, 'rel-loupe-api-keys');
    const cm = find(rendered.minimal, 'ConfigMap', 'rel-loupe-smoke');
    assert.equal(cm.metadata.annotations?.['helm.sh/hook'], 'test');
    assert.equal(cm.data['smoke.mjs'], readFileSync(path.join(CHART, 'files/smoke.mjs'), 'utf8'));
    // A gateway policy limited to the ingress controller still lets the test pod in.
    const np = find(rendered.production, 'NetworkPolicy', 'rel-loupe-gateway');
    const peers = np.spec.ingress[0].from.map(
      (p: { podSelector?: { matchLabels: Record<string, string> } }) =>
        p.podSelector?.matchLabels['app.kubernetes.io/component'],
    );
    assert.ok(peers.includes('helm-test'), JSON.stringify(np.spec.ingress[0]));
    assert.equal(render(['--set', 'tests.enabled=false']).filter((o) => o.kind === 'Pod').length, 0);
  });

  it('GPU values: per-role image, nvidia.com/gpu, RuntimeClass, tolerations, zone spread, extension points', () => {
    const ms = podSpec(find(rendered.gpu, 'Deployment', 'rel-loupe-model-server'));
    const c = ms.containers[0];
    assert.equal(c.image, 'ghcr.io/loupe-project/loupe-gpu:0.1.0', 'the GPU image for model servers only');
    const gw = podSpec(find(rendered.gpu, 'Deployment', 'rel-loupe-gateway'));
    assert.equal(gw.containers[0].image, 'ghcr.io/loupe-project/loupe:0.1.0');
    assert.equal(c.resources.limits['nvidia.com/gpu'], '1');
    assert.equal(ms.runtimeClassName, 'nvidia');
    assert.equal(ms.priorityClassName, 'loupe-critical');
    assert.deepEqual(ms.tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    assert.equal(ms.nodeSelector['nvidia.com/gpu.present'], 'true');
    // A constraint without labelSelector counts this role's pods (not every pod of the release).
    assert.deepEqual(
      ms.topologySpreadConstraints.map((t: { topologyKey: string }) => t.topologyKey),
      ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'],
    );
    for (const t of ms.topologySpreadConstraints)
      assert.equal(t.labelSelector.matchLabels['app.kubernetes.io/component'], 'model-server');
    assert.equal(envOf(c, 'NVIDIA_VISIBLE_DEVICES'), 'all');
    assert.deepEqual(c.env.find((e: { name: string }) => e.name === 'NODE_NAME').valueFrom, {
      fieldRef: { fieldPath: 'spec.nodeName' },
    });
    assert.equal(envOf(c, 'LOUPE_EXECUTION_PROVIDERS'), 'cuda,cpu');
    assert.ok(ms.volumes.some((v: { name: string }) => v.name === 'dshm'));
    assert.ok(c.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/dev/shm'));
    assert.ok(
      c.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/tmp'),
      'the chart mounts stay',
    );
    const tpl = find(rendered.gpu, 'Deployment', 'rel-loupe-model-server').spec.template.metadata.annotations;
    assert.equal(tpl['prometheus.io/scrape'], 'true');
    assert.match(tpl['checksum/config'], /^[0-9a-f]{64}$/, 'podAnnotations add to the checksums');
    // Defaults: none of it.
    const plain = podSpec(find(rendered.default, 'Deployment', 'rel-loupe-model-server'));
    for (const k of ['runtimeClassName', 'priorityClassName', 'topologySpreadConstraints', 'tolerations'])
      assert.equal(plain[k], undefined, k);
    // A role image by digest; the chart's digest does not leak onto another repository.
    const digest = `sha256:${'c'.repeat(64)}`;
    const pinned = render([
      '--set',
      'modelServer.image.repository=reg/gpu',
      '--set',
      `modelServer.image.digest=${digest}`,
    ]);
    assert.equal(
      podSpec(find(pinned, 'Deployment', 'rel-loupe-model-server')).containers[0].image,
      `reg/gpu@${digest}`,
    );
    const other = render([...VALUES.production, '--set', 'modelServer.image.repository=reg/gpu']);
    assert.equal(podSpec(find(other, 'Deployment', 'rel-loupe-model-server')).containers[0].image, 'reg/gpu:0.1.0');
  });

  it('the PrometheusRule (a CRD) uses only monitoring.coreos.com/v1 rule fields', () => {
    const rule = find(rendered.production, 'PrometheusRule', 'rel-loupe');
    assert.deepEqual(Object.keys(rule.spec), ['groups']);
    for (const g of rule.spec.groups) {
      assert.deepEqual(Object.keys(g).sort(), ['name', 'rules']);
      for (const r of g.rules)
        for (const k of Object.keys(r)) assert.ok(['alert', 'expr', 'for', 'labels', 'annotations'].includes(k), k);
    }
    assert.equal(rendered.default.filter((o) => o.kind === 'PrometheusRule').length, 0, 'off by default');
  });
});
