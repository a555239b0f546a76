import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What a Collector is to a traced server, on loopback: takes OTLP/HTTP JSON exports at
 * /v1/traces, counts their spans and answers 200, so the bench measures exporting for real.
 */
export async function startSpanSink() {
  let spans = 0;
  let requests = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      // Each span has one start time (links and events have none); counting them needs no parse.
      spans += Buffer.concat(chunks).toString('utf8').split('"startTimeUnixNano"').length - 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans: () => spans,
    requests: () => requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
