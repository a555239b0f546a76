import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { StartupError } from '../errors.ts';
import { UsageError } from './flags.ts';
import { closest } from './parse-flags.ts';
import { roleEnv } from './role-flags.ts';

const USAGE = `loupe — image classification service

Usage:
  loupe serve                    all-in-one: API + ONNX Runtime + job worker + embedded PGlite
  loupe gateway                  public API; inference on model servers (LOUPE_MODEL_SERVER_URL), Postgres
  loupe model-server             the model store over OIP v2, with dynamic batching
    [--port P] [--grpc-port P|off] [--model-store DIR] [--model-name N]
                                 flags win over PORT, LOUPE_GRPC_PORT, LOUPE_MODEL_STORE, LOUPE_MODEL_NAME (KServe)
  loupe worker                   async jobs from the Postgres queue; results and webhooks
  loupe migrate                  database migrations, then exit
  loupe migrate --write-seed F   write a new, migrated PGlite database to F (LOUPE_PGLITE_SEED)
  loupe models list [--url URL]  the models in the store (or served by a running server): versions, input, labels
  loupe models validate <dir>    check a model store, a model or one version
  loupe models pull <source> [--name N] [--version V] [--preset imagenet] [--sha256 HEX] …
                                 an ONNX model (https://…, hf://org/repo/file.onnx, a path) into the store
  loupe models pull-all          every LOUPE_MODEL_URIS entry not in the store yet
  loupe keys create --name N --scope predict|read|admin [--scope …]
                                 a new API key, printed once
  loupe keys list | revoke <id>  API keys: list them, revoke one
    [--url URL --key ADMIN_KEY]  …through a running server's keys API, without stopping it

Client of a running server (--url, default $LOUPE_URL or http://127.0.0.1:8000; --key or $LOUPE_API_KEY):
  loupe predict <files or dirs…> [--format table|json|csv] [--concurrency N] [--model M] [--top-k K] …
                                 classify images, N at a time, with progress and a summary
  loupe jobs submit <files…> [--webhook URL] [--watch]
                                 async jobs of all the images (split by the server's GET /limits); prints their ids
  loupe jobs watch <id>          a job's progress until it ends, then its results
  loupe --version | --help       and \`loupe <command> --help\` for each command's own

Configuration comes from environment variables (see docs/configuration.md / .env.example).`;

/** The server's modules, loaded only by the commands that run one: `predict` and `jobs` need none of them. */
const serverModules = async () => ({
  ...(await import('../config/index.ts')),
  ...(await import('../lifecycle/index.ts')),
  ...(await import('../observability/index.ts')),
  ...(await import('../roles/index.ts')),
});

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const TOP_FLAGS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  'write-seed': { type: 'string' },
} as const;
const COMMANDS = ['serve', 'gateway', 'model-server', 'worker', 'migrate', 'models', 'keys', 'predict', 'jobs'];

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: TOP_FLAGS,
  });
  const [command] = positionals;
  // Its own options (--version V, --name N…) are parsed by the models command, strictly.
  if (command === 'models')
    return (await import('./models/index.ts')).runModels(argv.slice(argv.indexOf('models') + 1));
  // Clients of a running server: their --version, --help are their own, and they load nothing of the server.
  if (command === 'predict' || command === 'jobs')
    return (await import('./client/index.ts')).runClient(command, argv.slice(argv.indexOf(command) + 1));
  // Parsed again, strictly: its options (--name, --scope, --url, --help) are its own.
  if (command === 'keys') return (await import('./keys/index.ts')).runKeys(argv.slice(argv.indexOf('keys') + 1));
  if (values.version) {
    console.log(packageVersion());
    return 0;
  }
  const stray = Object.keys(values).find((k) => !(k in TOP_FLAGS));
  if (!command && stray && !values.help && !values.version) {
    const near = closest(stray, Object.keys(TOP_FLAGS));
    console.error(
      `loupe: unknown flag --${stray}${near ? `; did you mean --${near}?` : ''} (loupe --help shows the usage)`,
    );
    return 2;
  }
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case 'serve':
    case 'gateway':
    case 'model-server':
    case 'worker': {
      let env: NodeJS.ProcessEnv;
      try {
        env = roleEnv(command, argv, process.env);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        console.error(err.message);
        return 2;
      }
      const { loadConfig, configureProcess, createLogger, loadRole, openTracing, runUntilSignal } =
        await serverModules();
      const config = loadConfig(env, {}, { role: command });
      configureProcess(config);
      const logger = createLogger(config.LOUPE_LOG_LEVEL, { format: config.LOUPE_LOG_FORMAT }).child({ role: command });
      const Role = await loadRole(command);
      const version = packageVersion();
      const tracing = await openTracing(config, command, version, logger);
      const role = new Role({ config, logger, version, tracing });
      runUntilSignal(role, logger, config.LOUPE_SHUTDOWN_TIMEOUT_MS, undefined, {
        delayMs: config.LOUPE_SHUTDOWN_DELAY_MS,
      });
      await role.start();
      return -1; // keep running until a signal
    }
    case 'migrate': {
      const { loadConfig, createLogger, runMigrate, writeSeed } = await serverModules();
      const config = loadConfig();
      const logger = createLogger(config.LOUPE_LOG_LEVEL, { format: config.LOUPE_LOG_FORMAT }).child({
        role: 'migrate',
      });
      const seed = values['write-seed'];
      if (seed !== undefined && (typeof seed !== 'string' || !seed)) {
        console.error('usage: loupe migrate --write-seed <file>');
        return 2;
      }
      if (seed) await writeSeed(config, logger, seed);
      else await runMigrate(config, logger);
      return 0;
    }
    default: {
      const near = closest(command, COMMANDS);
      console.error(`unknown command "${command}"${near ? `; did you mean "${near}"?` : ''}\n\n${USAGE}`);
      return 2;
    }
  }
}

/** The CLI proper; main.ts runs it once the process has its runtime settings. */
export function run(argv: string[]): void {
  main(argv).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof StartupError) console.error(err.message);
      else console.error(`loupe: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}
