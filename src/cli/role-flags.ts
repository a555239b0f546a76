import { UsageError } from './flags.ts';
import { parseFlags } from './parse-flags.ts';

/**
 * `loupe model-server` flags, the way KServe's ServingRuntimes start a server: settings as
 * container args. PORT cannot come from the runtime's env (Knative reserves that variable),
 * and `{{.Name}}` (the InferenceService's name) is substituted into args. Each flag stands
 * for an environment variable and wins over it; config validation then checks it as usual.
 */
const MODEL_SERVER_FLAGS = {
  port: 'PORT',
  'grpc-port': 'LOUPE_GRPC_PORT',
  'model-store': 'LOUPE_MODEL_STORE',
  'model-name': 'LOUPE_MODEL_NAME',
} as const;

/** The environment a role runs with: `env` plus what its flags set (model-server; unknown flags are a usage error). */
export function roleEnv(role: string, args: readonly string[], env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const rest = args.slice(args.indexOf(role) + 1);
  if (role !== 'model-server') {
    if (rest.length)
      throw new UsageError(
        `loupe ${role} takes no flags or arguments (got ${rest[0]}): its settings are environment variables (PORT, LOUPE_…; see docs/configuration.md)`,
      );
    return env;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.keys(MODEL_SERVER_FLAGS).map((f) => [f, { type: 'string' as const }]));
    ({ values } = parseFlags(rest, options, false));
  } catch (err) {
    throw new UsageError(`loupe model-server: ${(err as Error).message}`);
  }
  const out: NodeJS.ProcessEnv = { ...env };
  for (const [flag, variable] of Object.entries(MODEL_SERVER_FLAGS)) {
    const v = values[flag];
    if (typeof v === 'string') out[variable] = v;
  }
  // The one model a single-model store serves is the one readiness waits for.
  if (typeof values['model-name'] === 'string') out.LOUPE_DEFAULT_MODEL = values['model-name'];
  return out;
}
