// Runs a command with a Node.js that can run Loupe's TypeScript directly (>= 22.18, type
// stripping). On a machine whose default Node is older (Debian 12 ships Node 20), it fetches
// Node 24 LTS from the npm registry once (scripts/ensure-node.sh) and puts it first in PATH,
// so `npm test` and `npm run loupe` work there as the README promises. Plain JavaScript: it
// must run on old Node.
// Usage: node scripts/node24.mjs <command> [args...]
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** What the command is for, in the words of the line that says this Node cannot do it. */
export function purposeOf(argv) {
  const words = argv.join(' ');
  if (/(^|\s)--test(\s|=|$)|(^|\s)(test|check|test:\S+)(\s|$)/.test(words)) return 'run the tests';
  if (/(^|[\s/])src\/cli\/main\.ts(\s|$)/.test(words)) return 'run loupe from its TypeScript sources';
  const script = argv.find((a) => /\.(ts|mts)$/.test(a));
  return script ? `run ${script}` : `run ${argv.join(' ') || 'this command'}`;
}

function main() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  const env = { ...process.env };
  const [cmd, ...args] = process.argv.slice(2);
  if (!cmd) {
    console.error('usage: node scripts/node24.mjs <command> [args...]');
    process.exit(2);
  }
  if (major < 22 || (major === 22 && minor < 18)) {
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ensure-node.sh');
    console.error(
      `loupe: Node ${process.versions.node} cannot ${purposeOf([cmd, ...args])} (Loupe's TypeScript needs Node >= 22.18); using Node 24 from the npm registry (cached in ~/.cache/loupe/node24)`,
    );
    const bin = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    env.PATH = `${bin}${path.delimiter}${env.PATH ?? ''}`;
  }
  const child = spawn(cmd, args, { stdio: 'inherit', env });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  // Ctrl-C reaches the child from the terminal itself; passing SIGINT on would make it a second
  // one (Loupe takes a second signal as "exit now"). SIGTERM comes only to us: pass it on.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
}

// Imported (by its test), it only lends purposeOf.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
