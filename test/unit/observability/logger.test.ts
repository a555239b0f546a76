import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

const LOGGER = path.resolve(import.meta.dirname, '../../../src/observability/logger.ts');

/** What a process logging two entries and Fastify's listening line writes to stdout (a pipe, not a TTY). */
function logsOf(format: string): string {
  const script = `
    import { createLogger } from ${JSON.stringify(LOGGER)};
    const log = createLogger('info', { format: ${JSON.stringify(format)} });
    log.info({ route: '/predict', status: 200, model: 'digits' }, 'POST /predict 200');
    log.info('Server listening at http://127.0.0.1:1234');
    log.warn({ code: 'OVERLOADED' }, 'POST /predict 503');
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('log format (LOUPE_LOG_FORMAT)', () => {
  it('json (and auto when stdout is not a terminal): one JSON object per line', () => {
    for (const format of ['json', 'auto']) {
      const lines = logsOf(format).trim().split('\n');
      assert.equal(lines.length, 2, format);
      const first = JSON.parse(lines[0]!);
      assert.deepEqual([first.level, first.msg, first.model], [30, 'POST /predict 200', 'digits']);
    }
  });

  it("pretty: one readable line per entry (pino-pretty), and Fastify's listening line dropped", () => {
    const out = logsOf('pretty');
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 2, out);
    assert.match(lines[0]!, /INFO.*POST \/predict 200.*"model":"digits"/);
    assert.match(lines[1]!, /WARN.*POST \/predict 503.*OVERLOADED/);
    assert.doesNotMatch(out, /^\{"level"/m);
    assert.doesNotMatch(out, /Server listening/);
  });
});
