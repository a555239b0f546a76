import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { httpStatusOf, type ErrorCode } from '../../src/errors.ts';
import { INFER_EXAMPLE } from '../../src/http/routes/v2/examples.ts';
import { fixture } from '../helpers/fixtures.ts';
import { form, json, startServe, type TestServer } from '../helpers/server.ts';

const predict = async (url: string, bytes: Uint8Array, name = 'image.bin', fields: Record<string, string> = {}) => {
  const res = await fetch(`${url}/predict`, { method: 'POST', body: form(bytes, name, fields) });
  return { status: res.status, body: await json(res) };
};

/**
 * /docs as loaded, without a browser: what Swagger UI pre-fills (the OpenAPI examples) is
 * valid, each error status shows its own example, and the empty optional fields a form sends
 * mean "not given". test/e2e/web/docs.test.ts drives the same through Swagger UI itself.
 */
describe('/docs examples and empty form fields (serve, bundled model)', { timeout: 120_000 }, () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServe();
  });
  after(() => srv?.stop());

  it('empty optional multipart fields mean "not given" (/predict metadata=, /jobs every optional field)', async () => {
    const p = await predict(srv.url, fixture('gray-40x30.png'), 'g.png', { metadata: '' });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    const rec = await json(await fetch(`${srv.url}/predictions/${p.body.id}`));
    assert.deepEqual(rec.metadata, {});
    const fields = { model: '', version: '', top_k: '', webhook_url: '', metadata: ' ' };
    const res = await fetch(`${srv.url}/jobs`, {
      method: 'POST',
      body: form(fixture('gray-40x30.png'), 'g.png', fields),
    });
    const accepted = await json(res);
    assert.equal(res.status, 202, JSON.stringify(accepted));
    const job = await json(await fetch(`${srv.url}${accepted.status_url}`));
    assert.deepEqual([job.model, job.version, job.top_k, job.webhook, job.metadata], [null, null, null, null, {}]);
    // Not given is not "anything goes": a value that is there is still checked.
    const bad = await fetch(`${srv.url}/jobs`, {
      method: 'POST',
      body: form(fixture('gray-40x30.png'), 'g.png', { top_k: '0' }),
    });
    assert.equal(bad.status, 400);
  });

  /* eslint-disable @typescript-eslint/no-explicit-any -- walking a whole OpenAPI document */
  it('OpenAPI: every error example is of its own status; form examples are real values', async () => {
    const spec = await json(await fetch(`${srv.url}/openapi.json`));
    let checked = 0;
    for (const [p, ops] of Object.entries(spec.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, res] of Object.entries(op.responses as Record<string, any>)) {
          if (Number(status) < 400) continue;
          const media = res.content?.['application/json'];
          if (!media?.schema?.properties?.error) continue; // not an error body (/v2/health/ready's 400)
          const example = media.example;
          assert.ok(example, `${method} ${p} ${status} has an example`);
          if (typeof example.error === 'object') {
            assert.equal(httpStatusOf[example.error.code as ErrorCode], Number(status), `${method} ${p} ${status}`);
            checked++;
          }
        }
        const formSchema = op.requestBody?.content?.['multipart/form-data']?.schema;
        for (const [name, field] of Object.entries((formSchema?.properties ?? {}) as Record<string, any>)) {
          if (field.format === 'binary' || field.type === 'array') continue;
          assert.ok('example' in field, `${method} ${p}: form field ${name} has an example`);
          assert.notEqual(field.example, 'string');
          assert.notEqual(field.example, 0);
        }
      }
    }
    assert.ok(checked > 20, `${checked} error examples checked`);
    const infer = spec.paths['/v2/models/{model}/infer'].post;
    assert.deepEqual(infer.requestBody.content['application/json'].example, INFER_EXAMPLE);
  });
  /* eslint-enable @typescript-eslint/no-explicit-any */

  it('every operation, with only what its examples give, answers 2xx (but those that need an id or admin)', async () => {
    const spec = await json(await fetch(`${srv.url}/openapi.json`));
    const ran: string[] = [];
    const skipped: string[] = [];
    /* eslint-disable @typescript-eslint/no-explicit-any -- walking a whole OpenAPI document */
    for (const [p, ops] of Object.entries(spec.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const name = `${method.toUpperCase()} ${p}`;
        const content = op.requestBody?.content ?? {};
        // Multipart uploads need a file chosen: test/e2e/web/docs.test.ts runs them in Swagger UI.
        if (content['multipart/form-data']) {
          skipped.push(name);
          continue;
        }
        let url = p;
        for (const prm of (op.parameters ?? []) as any[]) {
          const example = prm.example ?? (prm.examples ? (Object.values(prm.examples)[0] as any).value : undefined);
          if (prm.in === 'path' && example !== undefined) url = url.replace(`{${prm.name}}`, String(example));
        }
        if (/\{\w+\}/.test(url)) {
          skipped.push(name); // an id only the user has (a job, a prediction, a key)
          continue;
        }
        const example = content['application/json']?.example;
        assert.ok(!op.requestBody?.required || example !== undefined, `${name}: a required body has an example`);
        const res = await fetch(`${srv.url}${url}`, {
          method: method.toUpperCase(),
          ...(example !== undefined ? { body: JSON.stringify(example) } : {}),
        });
        await res.arrayBuffer();
        // The keys API is admin-only and off without keys: its 403 says so (docs/api.md).
        if (p.startsWith('/keys')) assert.equal(res.status, 403, name);
        // Model control needs LOUPE_MODEL_CONTROL=explicit; this server polls its store (docs/api.md).
        else if (p.startsWith('/v2/repository/models/')) assert.equal(res.status, 400, name);
        else assert.ok(res.status >= 200 && res.status < 300, `${name} → ${res.status}`);
        ran.push(name);
      }
    }
    /* eslint-enable @typescript-eslint/no-explicit-any */
    assert.deepEqual(skipped.sort(), [
      'DELETE /keys/{id}',
      'GET /jobs/{id}',
      'GET /predictions/{id}',
      'POST /jobs',
      'POST /predict',
    ]);
    assert.ok(ran.length >= 25, `${ran.length} operations run`);
  });

  it('the OIP example body /docs offers first answers 200 with the top 3 labels', async () => {
    const res = await fetch(`${srv.url}/v2/models/fashion-mnist/infer`, {
      method: 'POST',
      body: JSON.stringify(INFER_EXAMPLE),
    });
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.outputs[0].data.length, 3);
    assert.match(body.outputs[0].data[0], /:9:Ankle boot$/);
  });
});
