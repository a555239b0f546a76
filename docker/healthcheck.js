// Docker HEALTHCHECK without curl: healthy when /readyz answers 200.
const port = process.env.PORT || '8000';
const path = process.argv[2] || '/readyz';
fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2500) })
  .then((res) => process.exit(res.status === 200 ? 0 : 1))
  .catch(() => process.exit(1));
