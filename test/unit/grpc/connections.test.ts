import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { describe, it } from 'node:test';
import { FirstCallDeadline } from '../../../src/grpc/connections.ts';

/** A socket as FirstCallDeadline sees it: its peer, `destroy` and 'close'. */
function socket(port: number) {
  const s = new EventEmitter() as EventEmitter & { destroyed: boolean };
  s.destroyed = false;
  Object.assign(s, {
    remoteAddress: '127.0.0.1',
    remotePort: port,
    destroy: () => {
      s.destroyed = true;
      s.emit('close');
    },
  });
  return s;
}
const info = (port: number) => ({ remoteAddress: '127.0.0.1', remotePort: port, localAddress: '', localPort: 0 });

describe('the first-call deadline of gRPC connections', () => {
  it('closes a connection that starts no call in time; one that does is left to the keep-alive rules', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const d = new FirstCallDeadline(1000);
    const silent = socket(5001);
    const busy = socket(5002);
    d.accept(silent as unknown as net.Socket);
    d.accept(busy as unknown as net.Socket);
    assert.equal(d.pending, 2);
    t.mock.timers.tick(500);
    d.called(info(5002));
    d.called(info(5002));
    t.mock.timers.tick(500);
    assert.equal(silent.destroyed, true);
    assert.equal(busy.destroyed, false);
    assert.equal(d.pending, 0);
    t.mock.timers.tick(60_000);
    assert.equal(busy.destroyed, false, 'calls ended long ago: not this rule’s business');
  });

  it('forgets a connection that closes by itself; 0 turns it off', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const d = new FirstCallDeadline(1000);
    const gone = socket(5003);
    d.accept(gone as unknown as net.Socket);
    gone.emit('close');
    assert.equal(d.pending, 0);
    const off = new FirstCallDeadline(0);
    const s = socket(5004);
    off.accept(s as unknown as net.Socket);
    t.mock.timers.tick(60_000);
    assert.equal(s.destroyed, false);
  });
});
