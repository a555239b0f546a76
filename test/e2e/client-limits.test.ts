import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

describe('limits the clients know (GET /limits, one answer for too many images)', () => {
  let srv: TestServer;
  before(async () => {
    const store = tempDir('loupe-limits-');
    writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4 });
    srv = await startServe({
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'colors',
      LOUPE_MAX_JOB_IMAGES: '3',
      LOUPE_MAX_UPLOAD_BYTES: '2000000',
      LOUPE_MAX_JOB_BYTES: '9000000',
      LOUPE_RATE_LIMIT_PER_MINUTE: '5000',
      LOUPE_MAX_INFLIGHT_PER_CLIENT: '7',
    });
  });
  after(() => srv.stop());

  const submit = (n: number) => {
    const f = new FormData();
    const png = fixture('gray-40x30.png');
    for (let i = 0; i < n; i++) f.append('file', new Blob([png]), `img-${i}.png`);
    return fetch(`${srv.url}/jobs`, { method: 'POST', body: f });
  };

  it('GET /limits publishes the configured limits and the variable each comes from', async () => {
    const res = await fetch(`${srv.url}/limits`);
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), {
      max_job_images: 3,
      max_upload_bytes: 2000000,
      max_job_bytes: 9000000,
      rate_limit_per_minute: 5000,
      max_inflight_per_client: 7,
      variables: {
        max_job_images: 'LOUPE_MAX_JOB_IMAGES',
        max_upload_bytes: 'LOUPE_MAX_UPLOAD_BYTES',
        max_job_bytes: 'LOUPE_MAX_JOB_BYTES',
        rate_limit_per_minute: 'LOUPE_RATE_LIMIT_PER_MINUTE',
        max_inflight_per_client: 'LOUPE_MAX_INFLIGHT_PER_CLIENT',
      },
    });
    const doc = await json(await fetch(`${srv.url}/openapi.json`));
    const op = doc.paths['/limits'].get;
    assert.ok(op.responses['200'].content['application/json'].schema.properties.max_job_images);
  });

  it('one code and one message naming LOUPE_MAX_JOB_IMAGES, one image over or hundreds over', async () => {
    const answers = [];
    // 4: the route's own count refuses; 300: the multipart parser's file limit, reading ahead, does.
    for (const n of [4, 5, 300]) {
      const res = await submit(n);
      const body = await json(res);
      answers.push([res.status, body.error.code, body.error.message]);
    }
    const expected = [
      413,
      'TOO_MANY_IMAGES',
      'a job takes at most 3 images (LOUPE_MAX_JOB_IMAGES on the server): split them into several jobs (GET /limits tells the limits)',
    ];
    assert.deepEqual(answers, [expected, expected, expected]);
    const ok = await submit(3);
    assert.equal(ok.status, 202, await ok.text());
  });

  it('with keys off, the keys API refuses: nobody could be told apart', async () => {
    const res = await fetch(`${srv.url}/keys`);
    const body = await json(res);
    assert.equal(res.status, 403);
    assert.equal(body.error.code, 'FORBIDDEN');
    assert.match(body.error.message, /LOUPE_AUTH=required/);
  });
});
