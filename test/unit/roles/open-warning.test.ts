import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../../src/observability/index.ts';
import { warnIfOpen } from '../../../src/roles/common.ts';

function capture() {
  const lines: Array<{ level: number; msg: string; host?: string }> = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logger: createLogger('info', { destination: dest }) };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('a role that answers other machines without keys says so loudly', () => {
  it('HOST=0.0.0.0 with LOUPE_AUTH=off: one warn line naming the host and the fix', async () => {
    const { lines, logger } = capture();
    warnIfOpen(logger, { host: '0.0.0.0', authRequired: false, role: 'api' });
    await flush();
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 40);
    assert.equal(lines[0]!.host, '0.0.0.0');
    assert.match(lines[0]!.msg, /^SECURITY: HOST=0\.0\.0\.0 is not loopback and API keys are off/);
    assert.match(lines[0]!.msg, /Set LOUPE_AUTH=required/);
  });

  it('a model server (no keys at all) on a non-loopback address warns too', async () => {
    const { lines, logger } = capture();
    warnIfOpen(logger, { host: '::', authRequired: false, role: 'model-server' });
    await flush();
    assert.equal(lines.length, 1);
    assert.match(lines[0]!.msg, /a model server takes no API keys.*only the gateway/);
    assert.doesNotMatch(lines[0]!.msg, /unload/);
  });

  it('a model server in explicit mode says that anyone who reaches it can also load and unload models', async () => {
    const { lines, logger } = capture();
    warnIfOpen(logger, { host: '0.0.0.0', authRequired: false, role: 'model-server', modelControl: 'explicit' });
    warnIfOpen(logger, { host: '0.0.0.0', authRequired: false, role: 'model-server', modelControl: 'poll' });
    await flush();
    assert.equal(lines.length, 2);
    assert.match(lines[0]!.msg, /may run inference and load and unload models \(LOUPE_MODEL_CONTROL=explicit\)/);
    assert.doesNotMatch(lines[1]!.msg, /unload/);
  });

  it('silent on loopback, or when keys are required', async () => {
    const { lines, logger } = capture();
    for (const host of ['127.0.0.1', 'localhost', '::1', '[::1]'])
      warnIfOpen(logger, { host, authRequired: false, role: 'api' });
    warnIfOpen(logger, { host: '0.0.0.0', authRequired: true, role: 'api' });
    await flush();
    assert.deepEqual(lines, []);
  });
});
