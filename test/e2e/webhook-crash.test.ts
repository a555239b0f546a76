import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { json, tempDir } from '../helpers/server.ts';

const MAIN = path.resolve(import.meta.dirname, '../../src/cli/main.ts');

/** `loupe serve` in a child process (so it can be killed with SIGKILL); resolves with its URL. */
async function serve(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; logs: () => string }> {
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: { ...process.env, PORT: '0', LOUPE_GRPC_PORT: '0', HOST: '127.0.0.1', LOUPE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      logs += d.toString();
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(logs);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`server exited early:\n${logs}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, logs: () => logs };
}

describe('webhooks are at-least-once across a kill', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('a worker killed (SIGKILL) mid-delivery: the next process delivers the webhook', async () => {
    const store = tempDir('loupe-hook-kill-');
    writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4 });
    const env = {
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'colors',
      LOUPE_DATA_DIR: tempDir('loupe-hook-kill-data-'),
      LOUPE_WEBHOOK_SECRET: 'kill-test-secret',
      LOUPE_WEBHOOK_ALLOW: '127.0.0.1/32',
      LOUPE_WEBHOOK_TIMEOUT_MS: '2000',
    };
    // The first delivery is held unanswered while its process is killed; later ones get 204.
    let first!: () => void;
    const firstArrived = new Promise<void>((r) => (first = r));
    const got: number[] = [];
    const receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        got.push(Date.now());
        if (got.length === 1) first();
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    try {
      const a = await serve(env);
      children.push(a.child);
      const f = new FormData();
      f.append('webhook_url', hookUrl);
      f.append('file', new Blob([fixture('dog-160x120.png')]), 'dog.png');
      const accepted = await json(await fetch(`${a.url}/jobs`, { method: 'POST', body: f }));
      assert.ok(accepted.id, JSON.stringify(accepted));
      await Promise.race([firstArrived, sleep(20_000)]);
      assert.equal(got.length, 1, 'the first delivery never arrived');
      a.child.kill('SIGKILL');
      await once(a.child, 'exit');

      // The queue entry is still active under the dead process; it expires (timeout + 10 s)
      // and the next process's supervision hands it out again.
      const b = await serve(env);
      children.push(b.child);
      const deadline = Date.now() + 60_000;
      let view = await json(await fetch(`${b.url}/jobs/${accepted.id}`));
      while (view.webhook.state === 'pending' && Date.now() < deadline) {
        await sleep(250);
        view = await json(await fetch(`${b.url}/jobs/${accepted.id}`));
      }
      assert.equal(view.status, 'completed');
      assert.equal(view.webhook.state, 'delivered', JSON.stringify(view.webhook));
      assert.equal(view.webhook.status, 'delivered (204)');
      assert.equal(view.webhook.attempts, 2, 'the killed attempt counts, and one more delivered');
      assert.equal(got.length, 2);
      b.child.kill('SIGTERM');
      await once(b.child, 'exit');
    } finally {
      receiver.closeAllConnections();
      receiver.close();
    }
  });
});
