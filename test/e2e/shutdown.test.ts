import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { tempDir } from '../helpers/server.ts';

const MAIN = path.resolve(import.meta.dirname, '../../src/cli/main.ts');
const HELPERS = path.resolve(import.meta.dirname, '../helpers/server.ts');

describe('graceful shutdown of `loupe serve`', () => {
  it('SIGTERM with an upload in flight: the request completes, new ones are refused, exit 0', async () => {
    const store = tempDir('loupe-stop-');
    writeStoreModel(store, { name: 'fashion-mnist', channels: 1, height: 28, width: 28, classes: 10 });
    const child = spawn(process.execPath, [MAIN, 'serve'], {
      env: {
        ...process.env,
        PORT: '0',
        LOUPE_GRPC_PORT: '0',
        LOUPE_MODEL_STORE: store,
        LOUPE_DATA_DIR: tempDir('loupe-stop-data-'),
        LOUPE_LOG_LEVEL: 'info',
        LOUPE_SHUTDOWN_TIMEOUT_MS: '10000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    child.stderr.on('data', (d: Buffer) => {
      logs += d.toString();
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        logs += d.toString();
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(logs);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => reject(new Error(`server exited early:\n${logs}`)));
    });

    // Start a multipart upload and send only half of it.
    const boundary = 'loupe-boundary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="dog.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    );
    const img = fixture('dog-160x120.jpg');
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: '/predict',
      method: 'POST',
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': head.length + img.length + tail.length,
      },
    });
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });
    req.write(head);
    req.write(img.subarray(0, img.length >> 1));
    await sleep(200);

    child.kill('SIGTERM');
    await sleep(300);
    // The listener is closed: a new connection is refused.
    await assert.rejects(fetch(`http://127.0.0.1:${port}/livez`));
    req.end(Buffer.concat([img.subarray(img.length >> 1), tail]));
    const res = await response;
    assert.equal(res.status, 200, res.body);
    assert.equal(JSON.parse(res.body).predictions.length, 5);
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, logs);
    assert.match(logs, /SIGTERM: draining/);
  });

  it('a start that fails (database unreachable) rejects and leaves nothing running: the process ends by itself', async () => {
    const store = tempDir('loupe-fail-');
    writeStoreModel(store, { name: 'fashion-mnist', channels: 1, height: 28, width: 28, classes: 10 });
    // No process.exit() here: if a model thread, pool or socket were left open, the child would
    // never exit and the timeout below would fail the test. LOUPE_DATABASE_WAIT_S=0: fail at
    // once instead of waiting for PostgreSQL to come up.
    const script = `
      import { startServe } from ${JSON.stringify(HELPERS)};
      try {
        await startServe({ LOUPE_MODEL_STORE: ${JSON.stringify(store)}, LOUPE_DATABASE_URL: 'postgres://loupe:x@127.0.0.1:9/none', LOUPE_DATABASE_WAIT_S: '0' });
        console.log('started');
      } catch (err) {
        console.log('rejected: ' + err.message);
      }`;
    const file = path.join(tempDir('loupe-fail-script-'), 'start.mjs');
    writeFileSync(file, script);
    const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    clearTimeout(timer);
    assert.equal(signal, null, `the process did not end by itself:\n${out}`);
    assert.equal(code, 0, out);
    assert.match(out, /rejected: .*ECONNREFUSED|rejected: connect/);
  });
});
