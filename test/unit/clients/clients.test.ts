import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAddress, requestIdFrom } from '../../../src/clients/index.ts';

describe('client addresses and request ids', () => {
  it('X-Forwarded-For counts only as far as LOUPE_TRUST_PROXY trusts', () => {
    assert.equal(clientAddress('')('10.0.0.9', '1.2.3.4'), '10.0.0.9');
    assert.equal(clientAddress('1')('10.0.0.9', '1.2.3.4'), '1.2.3.4');
    assert.equal(clientAddress('1')('10.0.0.9', '6.6.6.6, 1.2.3.4'), '1.2.3.4', 'one hop: the proxy’s own entry');
    assert.equal(clientAddress('true')('10.0.0.9', '6.6.6.6, 1.2.3.4'), '6.6.6.6');
    assert.equal(clientAddress('10.0.0.0/8')('10.0.0.9', '1.2.3.4'), '1.2.3.4');
    assert.equal(clientAddress('10.0.0.0/8')('192.168.1.1', '1.2.3.4'), '192.168.1.1', 'an untrusted peer');
    assert.equal(clientAddress('1')('10.0.0.9', undefined), '10.0.0.9');
  });

  it("keeps a client's sane request id, replaces anything else", () => {
    assert.equal(requestIdFrom('abc-123:x.y_z'), 'abc-123:x.y_z');
    assert.equal(requestIdFrom(['first', 'second']), 'first');
    for (const bad of [undefined, '', 'has space', 'x'.repeat(129), 'semi;colon', 42])
      assert.match(requestIdFrom(bad), /^[0-9a-f-]{36}$/);
  });
});
