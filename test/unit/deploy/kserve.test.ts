import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { loadConfig } from '../../../src/config/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const KSERVE = path.join(ROOT, 'deploy/kserve');
const load = (file: string) => parse(readFileSync(path.join(KSERVE, file), 'utf8'));
const schema = (file: string) => JSON.parse(readFileSync(path.join(KSERVE, 'schemas', file), 'utf8')) as object;

/**
 * The API server prunes fields a CRD does not declare, silently. Here they are errors: every
 * object schema with properties and no additionalProperties / preserve-unknown-fields gets
 * additionalProperties: false (as kubeconform's --strict does).
 */
function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (!node || typeof node !== 'object') return node;
  const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, strict(v)])) as Record<string, unknown>;
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields'])
    out.additionalProperties = false;
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validateRuntime = ajv.compile(strict(schema('clusterservingruntime-v1alpha1.json')) as object);
const validateIsvc = ajv.compile(strict(schema('inferenceservice-v1beta1.json')) as object);
const errors = (v: typeof validateRuntime) => ajv.errorsText(v.errors);

// Checked against KServe's own CRD schemas (vendored from kserve v0.20.0, see schemas/SOURCE.md).
describe('KServe manifests deploy/kserve', () => {
  const runtime = load('cluster-serving-runtime.yaml');
  const isvc = load('inference-service.yaml');

  it('the ClusterServingRuntime matches serving.kserve.io/v1alpha1, unknown fields included', () => {
    assert.equal(runtime.apiVersion, 'serving.kserve.io/v1alpha1');
    assert.equal(runtime.kind, 'ClusterServingRuntime');
    assert.ok(validateRuntime(runtime), errors(validateRuntime));
  });

  it('the InferenceService matches serving.kserve.io/v1beta1, unknown fields included', () => {
    assert.equal(isvc.apiVersion, 'serving.kserve.io/v1beta1');
    assert.equal(isvc.kind, 'InferenceService');
    assert.ok(validateIsvc(isvc), errors(validateIsvc));
  });

  it('the validation can fail: a misplaced field, a wrong type', () => {
    const typo = structuredClone(runtime);
    typo.spec.containers[0].readinesProbe = {};
    assert.equal(validateRuntime(typo), false);
    assert.match(errors(validateRuntime), /additional properties/);
    const wrong = structuredClone(isvc);
    wrong.spec.predictor.minReplicas = 'one';
    assert.equal(validateIsvc(wrong), false);
    const misplaced = structuredClone(isvc);
    misplaced.spec.predictor.storageUri = misplaced.spec.predictor.model.storageUri;
    misplaced.spec.predictor.model.protocol = 'v2';
    assert.equal(validateIsvc(misplaced), false);
  });

  it("follows KServe's conventions: kserve-container, 8080/9000, /mnt/models, protocol v2, onnx", () => {
    const [c] = runtime.spec.containers;
    assert.equal(runtime.spec.containers.length, 1);
    assert.equal(c.name, 'kserve-container');
    assert.deepEqual(
      c.ports.map((p: { containerPort: number }) => p.containerPort),
      [8080],
    );
    for (const arg of [
      'model-server',
      '--port=8080',
      '--grpc-port=9000',
      '--model-store=/mnt/models',
      '--model-name={{.Name}}',
    ])
      assert.ok(c.args.includes(arg), arg);
    assert.ok(!(c.env ?? []).some((e: { name: string }) => e.name === 'PORT'), 'Knative reserves PORT');
    assert.equal(c.readinessProbe.httpGet.path, '/v2/health/ready');
    assert.ok(runtime.spec.protocolVersions.includes('v2'));
    assert.deepEqual(
      runtime.spec.supportedModelFormats.map((f: { name: string }) => f.name),
      ['onnx'],
    );
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(c.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }]);
    assert.deepEqual(runtime.spec.volumes, [{ name: 'tmp', emptyDir: {} }]);
  });

  it('the InferenceService selects this runtime with a format and protocol it supports', () => {
    const m = isvc.spec.predictor.model;
    assert.equal(m.runtime, runtime.metadata.name);
    assert.ok(runtime.spec.supportedModelFormats.some((f: { name: string }) => f.name === m.modelFormat.name));
    assert.ok(runtime.spec.protocolVersions.includes(m.protocolVersion));
    assert.match(m.storageUri, /^(gs|s3|https?|pvc|hf|oci):\/\//);
  });

  it('the commented tracing example, uncommented, is a valid runtime that Loupe reads as OTLP to the Collector', () => {
    const text = readFileSync(path.join(KSERVE, 'cluster-serving-runtime.yaml'), 'utf8');
    const uncommented = text.replace(/^(\s*)# ((- name| {2}value): .*)$/gm, '$1$2');
    assert.notEqual(uncommented, text, 'the example is there');
    type Env = { name: string; value: string }[];
    const traced = parse(uncommented) as { spec: { containers: { env: Env }[] } };
    assert.ok(validateRuntime(traced), errors(validateRuntime));
    const env = Object.fromEntries(traced.spec.containers[0]!.env.map((e) => [e.name, e.value]));
    const tracing = loadConfig(env).tracing;
    assert.equal(tracing?.url, 'http://otel-collector.observability:4318/v1/traces');
    assert.equal(tracing?.ratio, 0.1);
    // As shipped (commented out): tracing off.
    const shipped = Object.fromEntries((runtime.spec.containers[0].env as Env).map((e) => [e.name, e.value]));
    assert.equal(loadConfig(shipped).tracing, undefined);
  });
});
