import autocannon from 'autocannon';

export interface LoadResult {
  readonly concurrency: number;
  readonly seconds: number;
  readonly requests: number;
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  readonly ok: number;
  readonly status503: number;
  readonly otherErrors: number;
  /** CPU seconds the load generator itself used (it shares the machine with the server). */
  readonly clientCpuS: number;
}

/** A multipart/form-data body with the image as field `file`, built once and replayed. */
export function multipartBody(bytes: Uint8Array, filename: string): { body: Buffer; contentType: string } {
  const boundary = `----loupe-bench-${Date.now()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { body: Buffer.concat([head, bytes, tail]), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Bounded load over loopback: `seconds` long and at most `maxRequests` requests. */
export async function load(
  url: string,
  body: { body: Buffer; contentType: string; headers?: Record<string, string> },
  concurrency: number,
  seconds: number,
  maxRequests = 200_000,
): Promise<LoadResult> {
  const cpu0 = process.cpuUsage();
  const r = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': body.contentType, ...body.headers },
    body: body.body,
    connections: concurrency,
    duration: seconds,
    maxOverallRequests: maxRequests,
    timeout: 60,
  });
  const cpu = process.cpuUsage(cpu0);
  const codes = (r as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {};
  const ok = codes['200']?.count ?? 0;
  const s503 = codes['503']?.count ?? 0;
  const total = Object.values(codes).reduce((a, c) => a + c.count, 0);
  return {
    concurrency,
    seconds: r.duration,
    requests: total,
    throughput: ok / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    ok,
    status503: s503,
    otherErrors: total - ok - s503 + r.errors + r.timeouts,
    clientCpuS: (cpu.user + cpu.system) / 1e6,
  };
}
