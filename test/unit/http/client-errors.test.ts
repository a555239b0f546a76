import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { classifyClientError, clientErrorHandler, clientErrorResponse } from '../../../src/http/client-errors.ts';

const parserError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('client errors (refused by the HTTP parser, before Fastify)', () => {
  it('maps parser and timeout codes to Loupe codes', () => {
    const cases: Array<[string, string, string]> = [
      ['HPE_HEADER_OVERFLOW', 'Header overflow', 'HEADERS_TOO_LARGE'],
      ['ERR_HTTP_REQUEST_TIMEOUT', 'Request timeout', 'REQUEST_TIMEOUT'],
      ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 'Chunk extensions overflow', 'PAYLOAD_TOO_LARGE'],
      ['HPE_INVALID_METHOD', 'Parse Error: Invalid method encountered', 'BAD_REQUEST'],
      ['SOMETHING_ELSE', 'secret detail', 'BAD_REQUEST'],
    ];
    for (const [code, message, expected] of cases)
      assert.equal(classifyClientError(parserError(code, message)).code, expected);
    assert.equal(
      classifyClientError(parserError('HPE_INVALID_METHOD', 'Parse Error: Invalid method encountered')).message,
      'malformed HTTP request: Invalid method encountered',
    );
    // Only llhttp's fixed reasons are passed on.
    assert.equal(classifyClientError(parserError('SOMETHING_ELSE', 'secret detail')).message, 'malformed HTTP request');
  });

  it('writes a complete HTTP/1.1 response: status, JSON body of the right length, request id, connection: close', () => {
    const text = clientErrorResponse(parserError('HPE_HEADER_OVERFLOW', 'Header overflow'), 'req-1');
    const [head, body] = text.split('\r\n\r\n') as [string, string];
    const lines = head.split('\r\n');
    assert.equal(lines[0], 'HTTP/1.1 431 Request Header Fields Too Large');
    assert.ok(lines.includes(`content-length: ${Buffer.byteLength(body)}`));
    assert.ok(lines.includes('x-request-id: req-1'));
    assert.ok(lines.includes('connection: close'));
    assert.ok(lines.includes('content-type: application/json; charset=utf-8'));
    const parsed = JSON.parse(body);
    assert.equal(parsed.error.code, 'HEADERS_TOO_LARGE');
    assert.equal(parsed.error.request_id, 'req-1');
  });

  describe('on a Node HTTP server', () => {
    let server: http.Server;
    let port = 0;
    before(async () => {
      // Short timeouts (checked every 50 ms) make a slow client time out within the test.
      server = http.createServer(
        { headersTimeout: 300, requestTimeout: 400, connectionsCheckingInterval: 50 },
        (_req, res) => res.end('ok'),
      );
      server.on('clientError', clientErrorHandler.bind({ log: pino({ level: 'silent' }) }));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    const exchange = (send: (s: net.Socket) => void) =>
      new Promise<string>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        let got = '';
        s.on('data', (d) => (got += d));
        s.on('error', reject);
        s.on('end', () => s.end());
        s.on('close', () => resolve(got));
        send(s);
      });

    it('a request that does not arrive in time → 408 REQUEST_TIMEOUT', async () => {
      const got = await exchange((s) => s.write('GET / HTTP/1.1\r\nHost: x\r\n')); // headers never end
      assert.match(got, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.equal(JSON.parse(got.split('\r\n\r\n')[1]!).error.code, 'REQUEST_TIMEOUT');
    });

    it('a client that keeps sending after the refusal still reads the answer, and is cut off', async () => {
      const started = Date.now();
      const got = await exchange((s) => {
        s.write('NOT HTTP\r\n\r\n');
        const more = setInterval(() => (s.writable ? s.write('x'.repeat(1024)) : clearInterval(more)), 20);
        s.on('close', () => clearInterval(more));
      });
      assert.match(got, /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.equal(JSON.parse(got.split('\r\n\r\n')[1]!).error.code, 'BAD_REQUEST');
      assert.ok(Date.now() - started < 5000);
    });

    it('the server keeps answering', async () => {
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'ok');
    });
  });
});
