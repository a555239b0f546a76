import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, it } from 'node:test';
import { startRegistry } from '../helpers/swarm.ts';

// GitHub's runners: installing Debian's docker-registry starts its service (htpasswd auth) on
// :5000, and a registry helper fixed on 5000 saw 401 there and threw. Here something answers
// 401 on 5000 (unless something already does), and the helper must still start its own.
describe('startRegistry next to a registry that wants a password on :5000', () => {
  let squatter: http.Server | undefined;
  after(() => new Promise<void>((r) => (squatter ? squatter.close(() => r()) : r())));

  it('starts on a free port and answers /v2/ without auth', async () => {
    const answersOn5000 = await fetch('http://127.0.0.1:5000/v2/').then(
      () => true,
      () => false,
    );
    if (!answersOn5000) {
      squatter = http.createServer((_req, res) => {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="Registry Realm"' }).end();
      });
      await new Promise<void>((r) => squatter!.listen(5000, '127.0.0.1', r));
    }
    assert.equal((await fetch('http://127.0.0.1:5000/v2/')).status === 200, false, ':5000 is not ours to use');
    const registry = await startRegistry();
    try {
      assert.notEqual(registry.address, '127.0.0.1:5000');
      const res = await fetch(`http://${registry.address}/v2/`);
      assert.equal(res.status, 200);
      const catalog = await fetch(`http://${registry.address}/v2/_catalog`);
      assert.deepEqual(await catalog.json(), { repositories: [] });
    } finally {
      await registry.stop();
    }
    // Asked for the taken port explicitly, it still refuses rather than push elsewhere.
    await assert.rejects(startRegistry(5000), /already answers/);
  });
});
