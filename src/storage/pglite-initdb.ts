// Run by pglite.ts as a child process: `node pglite-initdb.js DIR [postgresql.conf setting…]`
// makes a new PGlite data directory in DIR (PostgreSQL's initdb) and exits, so the server's
// own process never holds initdb's WebAssembly memory.
import { PGlite } from '@electric-sql/pglite';

const [dir, ...conf] = process.argv.slice(2);
if (!dir) {
  console.error('usage: pglite-initdb DIR [setting…]');
  process.exit(2);
}
const pg = await PGlite.create({ dataDir: dir, postgresqlconf: conf });
await pg.close();
