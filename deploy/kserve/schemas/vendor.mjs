// Regenerates the vendored KServe CRD schemas from KServe's CRD YAML files:
//   node deploy/kserve/schemas/vendor.mjs <clusterservingruntimes.yaml> <inferenceservices.yaml>
// (config/crd/full/serving.kserve.io_*.yaml of github.com/kserve/kserve at the tag in SOURCE.md).
// Keeps each served version's openAPIV3Schema without descriptions or status; of the
// InferenceService only spec.predictor (what deploy/kserve uses): the others repeat a whole
// pod spec each (size). A transformer or explainer would count as an unknown field here.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const strip = (v) =>
  Array.isArray(v)
    ? v.map(strip)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([k]) => k !== 'description')
            .map(([k, x]) => [k, strip(x)]),
        )
      : v;

for (const [file, version] of [
  [process.argv[2], 'v1alpha1'],
  [process.argv[3], 'v1beta1'],
]) {
  const crd = parse(readFileSync(file, 'utf8'));
  const v = crd.spec.versions.find((x) => x.name === version);
  const schema = v.schema.openAPIV3Schema;
  delete schema.properties.status;
  if (crd.spec.names.kind === 'InferenceService') {
    const spec = schema.properties.spec;
    spec.properties = { predictor: spec.properties.predictor };
  }
  const out = path.join(import.meta.dirname, `${crd.spec.names.singular}-${version}.json`);
  writeFileSync(out, JSON.stringify(strip(schema)) + '\n');
  console.log(out);
}
