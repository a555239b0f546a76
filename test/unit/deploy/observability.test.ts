import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { parse, parseAllDocuments } from 'yaml';
import { registerTritonMetrics } from '../../../src/observability/index.ts';
import { CHART, helm } from '../../helpers/helm.ts';
import type { K8sObject } from '../../helpers/k8s-validate.ts';

// The chart's Grafana dashboard, PrometheusRule alerts and prometheus-adapter rule query only
// metrics the code exports: prom-client's `name:` fields anywhere under src/ (histograms with
// their _bucket/_sum/_count series), prom-client's default process/Node.js metrics, and the
// Triton-named counters registerTritonMetrics makes from a table (registered here for real).
const ROOT = path.resolve(import.meta.dirname, '../../..');
const DASHBOARD = JSON.parse(readFileSync(path.join(CHART, 'dashboards/loupe.json'), 'utf8'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    if (!text.includes("from 'prom-client'")) continue;
    for (const m of text.matchAll(
      /new (Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{\s*name:\s*'([a-z_:][a-z0-9_:]*)'/g,
    )) {
      names.add(m[2]!);
      if (m[1] === 'Histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m[2]! + s);
      if (m[1] === 'Summary') for (const s of ['_sum', '_count']) names.add(m[2]! + s);
    }
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerTritonMetrics(registry, async () => []);
  for (const m of registry.getMetricsAsArray()) {
    const { name, type } = m as unknown as { name: string; type: string };
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
  }
  return names;
}
const EXPORTED = exportedMetrics();

const PROMQL_WORDS = new Set(
  'sum avg min max count rate irate increase histogram_quantile clamp_min clamp_max abs by without on ignoring group_left group_right and or unless bool offset topk bottomk vector scalar time label_values avg_over_time max_over_time'.split(
    ' ',
  ),
);
/** Metric names in a PromQL expression (labels, strings, ranges, grouping, Grafana variables removed). */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^{}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\$\{?\w+\}?|<<\.\w+>>/g, '')
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, '');
  return [...bare.matchAll(/[A-Za-z_:][\w:]*/g)].map((m) => m[0]).filter((w) => !PROMQL_WORDS.has(w));
}
function unknownIn(exprs: string[]): string[] {
  const bad: string[] = [];
  for (const e of exprs) {
    const names = metricNames(e);
    if (names.length === 0) bad.push(`names no metric: ${e}`);
    for (const n of names) if (!EXPORTED.has(n)) bad.push(`${n} (in ${e})`);
  }
  return bad;
}

function render(args: string[]): K8sObject[] {
  const r = helm(['template', 'rel', CHART, '--namespace', 'loupe', ...args]);
  assert.equal(r.status, 0, r.stderr);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}
const production = () => render(['-f', path.join(CHART, 'ci/production-values.yaml')]);

describe('dashboard, alerts and adapter rule query what Loupe exports', () => {
  it('finds the exported metrics (the code, not a list kept by hand)', () => {
    for (const n of ['loupe_http_requests_total', 'loupe_queue_depth', 'loupe_http_request_duration_seconds_bucket'])
      assert.ok(EXPORTED.has(n), n);
    assert.ok(EXPORTED.has('process_resident_memory_bytes'), 'prom-client default metrics');
  });

  it('the check can fail: a misspelt metric, a query naming none', () => {
    assert.deepEqual(unknownIn(['sum(rate(loupe_http_request_total{status="503"}[5m]))']), [
      'loupe_http_request_total (in sum(rate(loupe_http_request_total{status="503"}[5m])))',
    ]);
    assert.equal(unknownIn(['vector(1)']).length, 1);
    assert.deepEqual(
      metricNames('histogram_quantile(0.99, sum by (le, model) (rate(x_bucket{a="b"}[$__rate_interval])))'),
      ['x_bucket'],
    );
  });

  it('every Grafana panel query and variable names only exported metrics', () => {
    type Panel = { id: number; title: string; targets: { expr: string }[] };
    const panels = DASHBOARD.panels as Panel[];
    assert.ok(panels.length >= 10);
    assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'unique panel ids');
    const exprs = panels.flatMap((p) => p.targets.map((t) => t.expr));
    const variables = (DASHBOARD.templating.list as { query: { query?: string } | string }[])
      .map((v) => (typeof v.query === 'string' ? '' : (v.query.query ?? '')))
      .filter(Boolean)
      .map((q) => /^label_values\((.+), \w+\)$/.exec(q)![1]!);
    assert.deepEqual(unknownIn([...exprs, ...variables]), []);
    // What the alerts watch is on the dashboard too, and so are build info and Triton's names.
    for (const m of [
      'loupe_http_requests_total',
      'loupe_queue_depth',
      'loupe_http_request_duration_seconds_bucket',
      'loupe_auth_failures_total',
      'loupe_admission_refusals_total',
      'loupe_jobs_oldest_queued_age_seconds',
      'loupe_webhook_deliveries_total',
      'loupe_model_events_total',
      'loupe_build_info',
      'nv_inference_request_success',
    ])
      assert.ok(
        exprs.some((e) => e.includes(m)),
        m,
      );
  });

  it('the chart ships the dashboard as a ConfigMap Grafana’s sidecar loads', () => {
    const cm = production().find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'rel-loupe-dashboard')!;
    assert.ok(cm);
    const meta = cm.metadata as unknown as { labels: Record<string, string>; namespace: string };
    assert.equal(meta.labels.grafana_dashboard, '1');
    assert.equal(meta.namespace, 'monitoring');
    assert.deepEqual(JSON.parse(cm.data['loupe.json']), DASHBOARD);
    assert.ok(!render([]).some((o) => o.metadata.name === 'rel-loupe-dashboard'), 'off by default');
  });

  it('PrometheusRule: the alerts on exported metrics (docs/metrics.md#alerts), thresholds from values', () => {
    const rule = production().find((o) => o.kind === 'PrometheusRule')!;
    const rules = rule.spec.groups.flatMap((g: { rules: { alert: string; expr: string }[] }) => g.rules);
    assert.deepEqual(
      rules.map((r: { alert: string }) => r.alert),
      [
        'LoupeHighErrorRate',
        'LoupeHigh503Rate',
        'LoupeQueueDepthHigh',
        'LoupeP99LatencyHigh',
        'LoupeAuthFailureSpike',
        'LoupeAdmissionRefusals',
        'LoupeJobBacklogOld',
        'LoupeWebhookFailureRatio',
        'LoupeModelLoadFailed',
        'LoupeMixedVersions',
      ],
    );
    assert.deepEqual(unknownIn(rules.map((r: { expr: string }) => r.expr)), []);
    for (const r of rules)
      assert.match(r.expr, /namespace="loupe", job=~?"rel-loupe-(gateway|model-server|worker)[|"]/, r.alert);
    // Every alert is documented in the alert list.
    const doc = readFileSync(path.join(ROOT, 'docs/metrics.md'), 'utf8');
    for (const r of rules) assert.match(doc, new RegExp(`\\| \`${r.alert}\` \\|`), `${r.alert} in docs/metrics.md`);
    const tuned = render([
      '-f',
      path.join(CHART, 'ci/production-values.yaml'),
      '--set-json',
      'prometheusRule.p99Seconds=0.5',
      '--set',
      'prometheusRule.queueDepth=4',
      '--set-json',
      'prometheusRule.authFailuresPerSecond=3',
      '--set-json',
      'prometheusRule.refusalRatio=0.25',
      '--set',
      'prometheusRule.jobBacklogAgeSeconds=90',
      '--set-json',
      'prometheusRule.webhookFailureRatio=0.5',
    ]).find((o) => o.kind === 'PrometheusRule')!;
    const exprs = tuned.spec.groups[0].rules.map((r: { expr: string }) => r.expr.trim());
    assert.match(exprs[2], /> 4$/);
    assert.match(exprs[3], /> 0\.5$/);
    assert.match(exprs[4], /> 3$/);
    assert.match(exprs[5], /> 0\.25$/);
    assert.match(exprs[6], /> 90$/);
    assert.match(exprs[7], /> 0\.5$/);
  });

  it('the ServiceMonitor scrapes the workers too (webhook metrics), through a headless Service made for it', () => {
    const objs = production();
    const sm = objs.find((o) => o.kind === 'ServiceMonitor')!;
    const components = sm.spec.selector.matchExpressions.find(
      (e: { key: string }) => e.key === 'app.kubernetes.io/component',
    ).values;
    assert.deepEqual(components, ['gateway', 'model-server', 'worker']);
    const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'rel-loupe-worker')!;
    assert.equal(svc.spec.clusterIP, 'None');
    assert.deepEqual(svc.spec.ports[0], {
      name: 'http',
      port: 8000,
      targetPort: 'http',
      protocol: 'TCP',
      appProtocol: 'http',
    });
    assert.ok(
      !render([]).some((o) => o.kind === 'Service' && o.metadata.name === 'rel-loupe-worker'),
      'no scraper: none',
    );
  });

  it('prometheus-adapter rule serves the HPA’s Pods metric from an exported gauge, only when the HPA uses it', () => {
    const objs = production();
    const hpa = objs.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'rel-loupe-model-server')!;
    const wanted = hpa.spec.metrics.find((m: { type: string }) => m.type === 'Pods').pods.metric.name;
    const cm = objs.find((o) => o.metadata.name === 'rel-loupe-prometheus-adapter')!;
    const [rule] = parse(cm.data['values.yaml']).rules.custom;
    assert.equal(rule.name.as, wanted);
    assert.match(rule.name.matches, new RegExp(`\\^?${wanted}\\$?`));
    assert.deepEqual(rule.resources.overrides, { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } });
    assert.deepEqual(unknownIn([rule.seriesQuery, rule.metricsQuery.replace('<<.Series>>', wanted)]), []);
    assert.ok(!render([]).some((o) => o.metadata.name === 'rel-loupe-prometheus-adapter'), 'CPU-only HPA: no rule');
  });
});
